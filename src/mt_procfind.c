/* mt_procfind: may a request be attributed to a process, and which one
 * (see include/mt_procfind.h for the why).
 *
 * Plain POSIX calls on /proc rather than apr_file_*: every read here is a
 * few hundred bytes into a stack buffer, nothing is allocated, and the
 * descriptor of /proc/<pid> is used with openat() so that status and
 * cmdline are read from the same process even if the pid is reused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "mt_procfind.h"
#include "mt_sample.h"
#include "mt_limits.h"   /* MT_PROTO_PID_MAX: above any real pid_max;
                          * MT_CACHE_SLOTS, MT_CACHE_ROOT */
#include "mt_util.h"

/* Read up to size - 1 bytes of a /proc file below dirfd; NUL-terminates.
 * cmdline needs a loop: the kernel may hand out the argv area in pieces. */
static apr_status_t read_at(int dirfd, const char *name, char *buf,
                            apr_size_t size, apr_size_t *len)
{
    apr_size_t got = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return APR_FROM_OS_ERROR(errno);
    while (got < size - 1) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            apr_status_t rv = APR_FROM_OS_ERROR(errno);
            close(fd);
            return rv;
        }
        if (n == 0)
            break;
        got += (apr_size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return APR_SUCCESS;
}

/* What the check reads of status: is any uid 0, is it a zombie (or
 * dead), and its parent. */
typedef struct {
    int any_root;
    int zombie;
    int ppid;                           /* -1 when not found */
} proc_status_t;

/* From status text; 1 when the Uid line was found and parsed. */
static int parse_status(const char *text, proc_status_t *ps)
{
    const char *uid = strstr(text, "\nUid:");
    const char *state = strstr(text, "\nState:");
    const char *ppid = strstr(text, "\nPPid:");
    apr_int64_t ids[4], v;
    int i;

    if (uid == NULL)
        return 0;
    uid += 5;
    for (i = 0; i < 4; i++) {
        if ((uid = mt_dec_scan(&ids[i], uid, APR_INT64_MAX)) == NULL)
            return 0;
    }
    ps->any_root = ids[0] == 0 || ids[1] == 0 || ids[2] == 0 || ids[3] == 0;
    ps->zombie = 0;
    if (state) {
        state += 7;
        while (*state == ' ' || *state == '\t')
            state++;
        ps->zombie = *state == 'Z' || *state == 'X';
    }
    ps->ppid = -1;
    if (ppid && mt_dec_scan(&v, ppid + 6, MT_PROTO_PID_MAX)) {
        ps->ppid = (int)v;
    }
    return 1;
}

/* Does the cmdline below dirfd begin with title? */
static apr_status_t title_matches(int dirfd, const char *title, int *match)
{
    char buf[512];
    apr_size_t want = strlen(title), len;
    apr_status_t rv;

    *match = 0;
    if (want >= sizeof(buf))
        return APR_SUCCESS;             /* no real title is that long */
    rv = read_at(dirfd, "cmdline", buf, want + 1, &len);
    if (rv == APR_SUCCESS)
        *match = len == want && memcmp(buf, title, want) == 0;
    return rv;
}

/* Is ancestor among pid's parents? The walk is short (an app process is
 * three or four levels below the httpd parent) and bounded. */
static int descends_from(int pid, int ancestor)
{
    int hops;

    for (hops = 0; hops < 32 && pid > 1; hops++) {
        if (mt_sample_parent(pid, &pid) != APR_SUCCESS)
            return 0;
        if (pid == ancestor)
            return 1;
    }
    return 0;
}

/* The rules on the process's place in the tree: never another httpd
 * child (a direct child of the httpd parent: MPM children, and whatever
 * else the parent started, such as piped loggers), and, with ancestor_pid,
 * only a descendant of it. NULL when the process passes. */
static const char *check_tree(int pid, int ppid,
                              const mt_procfind_policy_t *pol)
{
    int self = pol->allow_self && pid == (int)getpid();

    if (pol->httpd_parent_pid > 0 && ppid == pol->httpd_parent_pid && !self)
        return "httpd child";
    if (pol->ancestor_pid > 0 && ppid != pol->ancestor_pid
        && (ppid <= 1 || !descends_from(ppid, pol->ancestor_pid)))
        return "not a process of this server";
    return NULL;
}

/* The /proc part of the check, through one descriptor of /proc/<pid>. */
static apr_status_t check_proc(int pid, const mt_procfind_policy_t *pol,
                               const char **why)
{
    char path[32], status[4096];
    apr_size_t len;
    proc_status_t ps = { 0, 0, -1 };
    int dirfd, match = 1;
    apr_status_t rv;

    apr_snprintf(path, sizeof(path), "/proc/%d", pid);
    dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        *why = rv == APR_ENOENT ? "no such process" : "cannot read /proc";
        return rv;
    }
    rv = read_at(dirfd, "status", status, sizeof(status), &len);
    if (rv == APR_SUCCESS && !parse_status(status, &ps))
        rv = APR_EGENERAL;
    if (rv == APR_SUCCESS && !ps.any_root && !ps.zombie && pol->require_title
        && *pol->require_title)
        rv = title_matches(dirfd, pol->require_title, &match);
    close(dirfd);
    if (rv == APR_FROM_OS_ERROR(ESRCH) || rv == APR_ENOENT || ps.zombie) {
        *why = "no such process";       /* exited while we looked */
        return APR_ENOENT;
    }
    if (rv != APR_SUCCESS)
        *why = "cannot read /proc";
    else if (ps.any_root)
        *why = "root process";
    else if (!match)
        *why = "not a Passenger app process";
    else if ((*why = check_tree(pid, ps.ppid, pol)) == NULL)
        return APR_SUCCESS;
    return rv != APR_SUCCESS ? rv : APR_EACCES;
}

unsigned mt_procfind_rules(const mt_procfind_policy_t *pol)
{
    unsigned rules = MT_PROCFIND_RULE_ALIVE;

    if (pol == NULL)
        return rules | MT_PROCFIND_RULE_NOT_SELF;
    if (!pol->allow_self)
        rules |= MT_PROCFIND_RULE_NOT_SELF;
    if (pol->httpd_parent_pid > 0)
        rules |= MT_PROCFIND_RULE_NOT_HTTPD;
    if (pol->require_title && *pol->require_title)
        rules |= MT_PROCFIND_RULE_TITLE;
    if (pol->ancestor_pid > 0)
        rules |= MT_PROCFIND_RULE_ANCESTRY;
    return rules;
}

apr_status_t mt_procfind_check(int pid, const mt_procfind_policy_t *pol,
                               const char **why, apr_pool_t *p)
{
    static const mt_procfind_policy_t none = { 0, 0, NULL, 0 };
    const char *dummy;

    (void)p;
    if (why == NULL)
        why = &dummy;
    *why = NULL;
    if (pol == NULL)
        pol = &none;
    if (pid < 1 || pid > MT_PROTO_PID_MAX) {
        *why = "invalid pid";
        return APR_EINVAL;
    }
    if (pid == 1) {
        *why = "init process";
        return APR_EACCES;
    }
    if (pid == (int)getpid() && !pol->allow_self) {
        *why = "own process";
        return APR_EACCES;
    }
    if (pid == pol->httpd_parent_pid) {
        *why = "httpd parent";
        return APR_EACCES;
    }
    return check_proc(pid, pol, why);
}

/* Is this cmdline "<MT_PROCFIND_TITLE_RUBY><app_root>" plus end or " ..."? */
static int title_is_app(const char *cmd, apr_size_t len, const char *app_root,
                        apr_size_t root_len)
{
    static const apr_size_t plen = sizeof(MT_PROCFIND_TITLE_RUBY) - 1;

    if (len < plen || memcmp(cmd, MT_PROCFIND_TITLE_RUBY, plen) != 0)
        return 0;
    if (app_root == NULL)
        return 1;
    if (len < plen + root_len
        || memcmp(cmd + plen, app_root, root_len) != 0)
        return 0;
    return len == plen + root_len || cmd[plen + root_len] == '\0'
        || cmd[plen + root_len] == ' ';
}

/* One /proc entry: 1 when it is an app process of app_root. Root-owned
 * entries stop at the fstatat, which spares most of a host's processes the
 * cmdline read (/proc/<pid> belongs to the effective uid). */
static int entry_matches(int procfd, const char *name, const char *app_root,
                         apr_size_t root_len)
{
    char cmd[600];
    struct stat st;
    apr_size_t len = 0;
    int fd;

    if (fstatat(procfd, name, &st, 0) != 0 || st.st_uid == 0)
        return 0;
    fd = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    /* Only the title's start matters: prefix, root and one more byte. */
    if (read_at(fd, "cmdline", cmd, sizeof(cmd), &len) != APR_SUCCESS)
        len = 0;
    close(fd);
    return len > 0 && title_is_app(cmd, len, app_root, root_len);
}

static int pid_of_name(const char *name)
{
    long v = 0;

    if (*name < '1' || *name > '9')
        return 0;
    for (; *name; name++) {
        if (*name < '0' || *name > '9' || v > MT_PROTO_PID_MAX)
            return 0;
        v = v * 10 + (*name - '0');
    }
    return v <= MT_PROTO_PID_MAX ? (int)v : 0;
}

apr_status_t mt_procfind_single(int *pid, const char *app_root,
                                const mt_procfind_policy_t *pol,
                                apr_pool_t *p)
{
    apr_size_t root_len = app_root ? strlen(app_root) : 0;
    struct dirent *de;
    int found = 0, n = 0;
    DIR *dir;

    *pid = 0;
    if (root_len + sizeof(MT_PROCFIND_TITLE_RUBY) >= 600)
        return APR_NOTFOUND;            /* longer than a title we read */
    dir = opendir("/proc");
    if (dir == NULL)
        return APR_FROM_OS_ERROR(errno);
    while (n < 2 && (de = readdir(dir)) != NULL) {
        int cand = pid_of_name(de->d_name);
        if (cand == 0 || !entry_matches(dirfd(dir), de->d_name, app_root,
                                        root_len))
            continue;
        if (mt_procfind_check(cand, pol, NULL, p) != APR_SUCCESS)
            continue;
        found = cand;
        n++;
    }
    closedir(dir);
    if (n == 0)
        return APR_NOTFOUND;
    if (n > 1)
        return APR_EEXIST;
    *pid = found;
    return APR_SUCCESS;
}

/* ---- cache (MT_CACHE_SLOTS, MT_CACHE_ROOT: mt_limits.h) ---- */

typedef struct {
    char         root[MT_CACHE_ROOT];   /* "" when the slot is free */
    int          any;                   /* cached for app_root NULL */
    apr_time_t   at;
    apr_status_t rv;
    int          pid;
    int          statm_fd;              /* of pid, bound to that process;
                                         * -1 when none */
} mt_cache_slot_t;

struct mt_procfind_cache_t {
    apr_thread_mutex_t *mutex;
    apr_interval_time_t ttl;
    mt_cache_slot_t     slots[MT_CACHE_SLOTS];
};

static void slot_close(mt_cache_slot_t *s)
{
    if (s->statm_fd >= 0)
        close(s->statm_fd);
    s->statm_fd = -1;
}

static apr_status_t cache_close(void *data)
{
    mt_procfind_cache_t *c = data;
    int i;

    for (i = 0; i < MT_CACHE_SLOTS; i++)
        slot_close(&c->slots[i]);
    return APR_SUCCESS;
}

apr_status_t mt_procfind_cache_create(mt_procfind_cache_t **pcache,
                                      apr_interval_time_t ttl, apr_pool_t *p)
{
    mt_procfind_cache_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv;
    int i;

    c->ttl = ttl;
    for (i = 0; i < MT_CACHE_SLOTS; i++)
        c->slots[i].statm_fd = -1;
    rv = apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv != APR_SUCCESS)
        return rv;
    apr_pool_cleanup_register(p, c, cache_close, apr_pool_cleanup_null);
    *pcache = c;
    return APR_SUCCESS;
}

static int slot_is(const mt_cache_slot_t *s, const char *app_root)
{
    if (app_root == NULL)
        return s->any;
    return !s->any && s->root[0] && strcmp(s->root, app_root) == 0;
}

/* Under the mutex: the slot for app_root, or NULL. */
static mt_cache_slot_t *slot_find(mt_procfind_cache_t *c, const char *app_root)
{
    int i;

    for (i = 0; i < MT_CACHE_SLOTS; i++) {
        if (slot_is(&c->slots[i], app_root))
            return &c->slots[i];
    }
    return NULL;
}

/* Under the mutex: remember an answer, in its slot or the oldest one; the
 * slot takes statm_fd. */
static void slot_store(mt_procfind_cache_t *c, const char *app_root,
                       apr_status_t rv, int pid, int statm_fd, apr_time_t now)
{
    mt_cache_slot_t *s = slot_find(c, app_root);
    int i;

    if (s == NULL) {
        s = &c->slots[0];
        for (i = 1; i < MT_CACHE_SLOTS; i++) {
            if (c->slots[i].at < s->at)
                s = &c->slots[i];
        }
        s->any = app_root == NULL;
        if (app_root)
            apr_cpystrn(s->root, app_root, sizeof(s->root));
        else
            s->root[0] = '\0';
    }
    slot_close(s);
    s->at = now;
    s->rv = rv;
    s->pid = pid;
    s->statm_fd = statm_fd;
}

/* Is the process a descriptor of its /proc/<pid>/statm was opened for
 * still there? Reading fails once it has been reaped, whatever process has
 * the pid now, and reads all zeros while it is a zombie; about a
 * microsecond against 15 for mt_procfind_check. */
static int still_there(int statm_fd, mt_sample_t *seen)
{
    mt_sample_t s;

    return mt_sample_statm_fd(seen ? seen : &s, statm_fd) == APR_SUCCESS;
}

/* Under the mutex: a fresh cached answer? A single pid counts only while
 * its process lives. */
static int cache_get(mt_procfind_cache_t *c, const char *app_root,
                     apr_time_t now, apr_status_t *rv, int *pid,
                     mt_sample_t *seen)
{
    mt_cache_slot_t *s = slot_find(c, app_root);

    if (s == NULL || now - s->at >= c->ttl || now < s->at)
        return 0;
    if (s->rv == APR_SUCCESS && !still_there(s->statm_fd, seen)) {
        s->at = 0;                      /* gone: look again now */
        slot_close(s);
        return 0;
    }
    *rv = s->rv;
    *pid = s->pid;
    return 1;
}

/* A descriptor of pid's statm, opened first and then checked, so that it
 * is bound to a process that passed the check; -1 when that fails. */
static int open_checked(int pid, const mt_procfind_policy_t *pol,
                        apr_pool_t *p)
{
    int fd = mt_sample_open_statm(pid);

    if (fd >= 0 && mt_procfind_check(pid, pol, NULL, p) != APR_SUCCESS) {
        close(fd);
        fd = -1;
    }
    return fd;
}

apr_status_t mt_procfind_single_cached(int *pid, mt_procfind_cache_t *cache,
                                       const char *app_root,
                                       const mt_procfind_policy_t *pol,
                                       apr_pool_t *p)
{
    return mt_procfind_single_seen(pid, NULL, cache, app_root, pol, p);
}

apr_status_t mt_procfind_single_seen(int *pid, mt_sample_t *seen,
                                     mt_procfind_cache_t *cache,
                                     const char *app_root,
                                     const mt_procfind_policy_t *pol,
                                     apr_pool_t *p)
{
    apr_time_t now = mt_mono_now();
    apr_status_t rv = APR_NOTFOUND;
    int hit, cached_pid = 0, fd = -1;

    *pid = 0;
    if (seen) {
        mt_sample_clear(seen);
    }
    if (app_root && strlen(app_root) >= MT_CACHE_ROOT)
        return mt_procfind_single(pid, app_root, pol, p);
    apr_thread_mutex_lock(cache->mutex);
    hit = cache_get(cache, app_root, now, &rv, &cached_pid, seen);
    apr_thread_mutex_unlock(cache->mutex);
    if (seen && !(hit && rv == APR_SUCCESS)) {
        mt_sample_clear(seen);          /* no read, or not of the answer */
    }
    if (hit) {
        *pid = rv == APR_SUCCESS ? cached_pid : 0;
        return rv;
    }
    rv = mt_procfind_single(&cached_pid, app_root, pol, p);
    if (rv == APR_SUCCESS
        && (fd = open_checked(cached_pid, pol, p)) < 0) {
        rv = APR_NOTFOUND;              /* exited since the scan */
        cached_pid = 0;
    }
    apr_thread_mutex_lock(cache->mutex);
    slot_store(cache, app_root, rv, cached_pid, fd, now);
    apr_thread_mutex_unlock(cache->mutex);
    *pid = cached_pid;
    return rv;
}
