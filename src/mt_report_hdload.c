/* mt_report_hdload: where heap diff results come from (see
 * include/mt_report_hd.h): a result file, a directory of them, or the
 * memtrack:heap:*:result keys of a Redis. Files are opened with
 * O_NOFOLLOW|O_NONBLOCK and must be regular (a symlink, a FIFO or a device
 * is refused, never waited on); at most MT_REPORT_HD_DOC_MAX bytes are
 * read. Redis is walked with SCAN (never KEYS) for at most
 * MT_REPORT_HD_SCAN calls, each value fetched with GETRANGE so that a
 * huge value is never read whole. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>
#include <apr_strings.h>

#include "mt_redis.h"
#include "mt_report_hd.h"

#define HD_PATTERN "memtrack-heapdiff-*.json"

void mt_report_hds_init(mt_report_hds_t *s, mt_report_hd_say_fn say,
                        void *ctx, apr_pool_t *p)
{
    memset(s, 0, sizeof(*s));
    s->items = apr_pcalloc(p, MT_REPORT_HD_KEEP * sizeof(*s->items));
    s->say = say;
    s->say_ctx = ctx;
    s->pool = p;
}

apr_time_t mt_report_hd_when(const mt_report_hd_t *hd)
{
    return hd->res.a.finished ? hd->res.a.finished : hd->res.a.started;
}

void mt_report_hds_add(mt_report_hds_t *s, const mt_report_hd_t *hd)
{
    unsigned int i, old = 0;

    if (s->n < MT_REPORT_HD_KEEP) {
        s->items[s->n++] = *hd;
        return;
    }
    for (i = 1; i < s->n; i++) {
        if (mt_report_hd_when(&s->items[i])
            < mt_report_hd_when(&s->items[old])) {
            old = i;
        }
    }
    s->left_out++;
    if (mt_report_hd_when(hd) > mt_report_hd_when(&s->items[old])) {
        s->items[old] = *hd;
    }
}

static int newest_first(const void *a, const void *b)
{
    apr_time_t x = mt_report_hd_when(a), y = mt_report_hd_when(b);

    return x < y ? 1 : x > y ? -1 : 0;
}

void mt_report_hds_sort(mt_report_hds_t *s)
{
    qsort(s->items, s->n, sizeof(*s->items), newest_first);
}

static void skip(mt_report_hds_t *s, const char *name, const char *why)
{
    s->bad++;
    if (s->say) s->say(s->say_ctx, name, why);
}

void mt_report_hds_take(mt_report_hds_t *s, const char *name, const char *server,
                 const char *doc, apr_size_t len)
{
    mt_report_hd_t *hd = malloc(sizeof(*hd));
    char why[256];

    if (!hd) {
        skip(s, name, "out of memory");
        return;
    }
    if (mt_report_hd_parse(hd, doc, len, why, sizeof(why)) != APR_SUCCESS) {
        skip(s, name, apr_psprintf(s->pool, "not a heap diff result: %s", why));
    }
    else {
        apr_cpystrn(hd->server, server, sizeof(hd->server));
        hd->source = apr_pstrdup(s->pool, name);
        mt_report_hds_add(s, hd);
    }
    free(hd);
}

/* 0 when the whole file was read into buf (MT_REPORT_HD_DOC_MAX + 1). */
static const char *read_fd(int fd, char *buf, apr_size_t *len)
{
    struct stat st;
    ssize_t got;

    if (fstat(fd, &st) != 0) return strerror(errno);
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    if (st.st_size > MT_REPORT_HD_DOC_MAX) return "over 256 KiB: not a result";
    *len = 0;
    while (*len <= MT_REPORT_HD_DOC_MAX) {
        got = read(fd, buf + *len, MT_REPORT_HD_DOC_MAX + 1 - *len);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return strerror(errno);
        if (got == 0) break;
        *len += (apr_size_t)got;
    }
    return *len > MT_REPORT_HD_DOC_MAX ? "over 256 KiB: not a result" : NULL;
}

static void one_file(mt_report_hds_t *s, const char *path)
{
    char *buf;
    const char *err;
    apr_size_t len = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0) {
        skip(s, path, errno == ELOOP ? "a symbolic link: not read"
                                     : strerror(errno));
        return;
    }
    if ((buf = malloc(MT_REPORT_HD_DOC_MAX + 1)) == NULL) {
        close(fd);
        skip(s, path, "out of memory");
        return;
    }
    if ((err = read_fd(fd, buf, &len)) != NULL) skip(s, path, err);
    else mt_report_hds_take(s, path, "", buf, len);
    free(buf);
    close(fd);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void one_dir(mt_report_hds_t *s, const char *path, DIR *d)
{
    apr_array_header_t *names = apr_array_make(s->pool, 16, sizeof(char *));
    struct dirent *e;
    int i, seen = 0;

    while ((e = readdir(d)) != NULL) {
        if (fnmatch(HD_PATTERN, e->d_name, 0) != 0) continue;
        if (++seen > MT_REPORT_HD_FILES) {
            skip(s, path, "more than 4096 result files: the rest not read");
            break;
        }
        APR_ARRAY_PUSH(names, char *) = apr_pstrdup(s->pool, e->d_name);
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(char *), by_name);
    for (i = 0; i < names->nelts; i++) {
        one_file(s, apr_pstrcat(s->pool, path, "/",
                                APR_ARRAY_IDX(names, i, char *), NULL));
    }
}

void mt_report_hds_path(mt_report_hds_t *s, const char *path)
{
    struct stat st;
    DIR *d;

    if (lstat(path, &st) != 0) {
        s->failed = 1;
        skip(s, path, strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        one_file(s, path);
        return;
    }
    if ((d = opendir(path)) == NULL) {
        s->failed = 1;
        skip(s, path, strerror(errno));
        return;
    }
    one_dir(s, path, d);
    closedir(d);
}
