/* mt_heapfiles: the heap diff's result files and where its directory may
 * be (see include/mt_heapfiles.h). httpd-free. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "mt_heapfiles.h"

#define RESULT_PREFIX "memtrack-heapdiff-"
#define RESULT_SUFFIX ".json"
#define RESULT_NAME_MAX 64       /* the prefix, 20 digits, the suffix */

const char *mt_heapfiles_result_path(char *buf, apr_size_t len,
                                     const char *dir, apr_uint64_t token)
{
    apr_snprintf(buf, len, "%s/" RESULT_PREFIX "%" APR_UINT64_T_FMT
                 RESULT_SUFFIX, dir, token);
    return buf;
}

int mt_heapfiles_is_result(const char *name)
{
    const size_t pre = sizeof(RESULT_PREFIX) - 1, suf = sizeof(RESULT_SUFFIX) - 1;
    size_t n = strlen(name), i;

    if (n <= pre + suf || n >= RESULT_NAME_MAX
        || strncmp(name, RESULT_PREFIX, pre) != 0
        || strcmp(name + n - suf, RESULT_SUFFIX) != 0) {
        return 0;
    }
    for (i = pre; i < n - suf; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
    }
    return 1;
}

/* ---- keeping the newest results ---- */

typedef struct {
    struct timespec mtime;
    char name[RESULT_NAME_MAX];
} entry_t;

static int newer(const entry_t *a, const entry_t *b)
{
    if (a->mtime.tv_sec != b->mtime.tv_sec) return a->mtime.tv_sec > b->mtime.tv_sec;
    if (a->mtime.tv_nsec != b->mtime.tv_nsec) return a->mtime.tv_nsec > b->mtime.tv_nsec;
    return strcmp(a->name, b->name) > 0;
}

static void drop(int dfd, const char *name, mt_heapfiles_prune_t *out)
{
    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) {
        out->removed++;
    }
    else {
        out->failed++;
        out->err = errno;
    }
}

/* One result file seen: into kept (n of cap, newest first), and whichever
 * of it and the oldest kept is older removed once kept is full. */
static void consider(int dfd, entry_t *kept, unsigned int *n, unsigned int cap,
                     const entry_t *e, mt_heapfiles_prune_t *out)
{
    unsigned int i;

    if (*n == cap) {
        if (!cap || !newer(e, &kept[cap - 1])) {
            drop(dfd, e->name, out);
            return;
        }
        drop(dfd, kept[cap - 1].name, out);
        (*n)--;
    }
    for (i = *n; i > 0 && newer(e, &kept[i - 1]); i--) {
        kept[i] = kept[i - 1];
    }
    kept[i] = *e;
    (*n)++;
}

apr_status_t mt_heapfiles_prune_results(const char *dir, unsigned int keep,
                                        const char *except,
                                        mt_heapfiles_prune_t *out)
{
    unsigned int cap = keep > 0 ? keep - (except ? 1 : 0) : 0, n = 0;
    entry_t *kept = NULL, e;
    struct dirent *d;
    struct stat st;
    DIR *dh;

    memset(out, 0, sizeof(*out));
    if (!(dh = opendir(dir))) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (cap && !(kept = malloc(cap * sizeof(*kept)))) {
        closedir(dh);
        return APR_ENOMEM;
    }
    while ((d = readdir(dh)) != NULL) {
        if (!mt_heapfiles_is_result(d->d_name)
            || (except && !strcmp(d->d_name, except))
            || fstatat(dirfd(dh), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0
            || !S_ISREG(st.st_mode)) {
            continue;
        }
        out->found++;
        e.mtime = st.st_mtim;
        apr_cpystrn(e.name, d->d_name, sizeof(e.name));
        consider(dirfd(dh), kept, &n, cap, &e, out);
    }
    free(kept);
    closedir(dh);
    return APR_SUCCESS;
}

/* ---- where the directory may be ---- */

/* As written: no duplicate or trailing slash, no "." component. */
static char *normalize(const char *in, apr_pool_t *p)
{
    char *out = apr_palloc(p, strlen(in) + 2), *o = out;
    const char *c = in;

    while (*c) {
        const char *end;
        while (*c == '/') c++;
        end = c + strcspn(c, "/");
        if (end > c && !(end - c == 1 && *c == '.')) {
            *o++ = '/';
            memcpy(o, c, (size_t)(end - c));
            o += end - c;
        }
        c = end;
    }
    if (o == out) *o++ = '/';
    *o = '\0';
    return out;
}

/* path (normalized) with component comp appended; ".." goes up. */
static char *append(char *path, const char *comp, apr_size_t len,
                    apr_pool_t *p)
{
    if (len == 2 && comp[0] == '.' && comp[1] == '.') {
        char *slash = strrchr(path, '/');
        if (slash == path) return apr_pstrdup(p, "/");
        *slash = '\0';
        return path;
    }
    return apr_pstrcat(p, strcmp(path, "/") ? path : "",
                       "/", apr_pstrmemdup(p, comp, len), NULL);
}

/* As resolved: realpath of the longest existing ancestor, the rest of the
 * components after it. */
static char *resolve(const char *in, apr_pool_t *p)
{
    char *head = normalize(in, p), *real, *res, *slash;
    const char *tail = "", *c;

    while (!(real = realpath(head, NULL))) {
        if (!strcmp(head, "/")) return normalize(in, p);
        slash = strrchr(head, '/');
        tail = apr_pstrcat(p, slash + 1, "/", tail, NULL);
        if (slash == head) slash[1] = '\0';
        else *slash = '\0';
    }
    res = apr_pstrdup(p, real);
    free(real);
    for (c = tail; *c; ) {
        apr_size_t len = strcspn(c, "/");
        if (len) res = append(res, c, len, p);
        c += len + (c[len] == '/');
    }
    return res;
}

static int under(const char *path, const char *root)
{
    apr_size_t n = strlen(root);

    return !strcmp(root, "/")
           || (!strncmp(path, root, n) && (path[n] == '\0' || path[n] == '/'));
}

int mt_heapfiles_inside(const char *path, const char *root, apr_pool_t *p)
{
    if (!path || !root || path[0] != '/' || root[0] != '/') {
        return 0;
    }
    return under(normalize(path, p), normalize(root, p))
           || under(resolve(path, p), resolve(root, p));
}
