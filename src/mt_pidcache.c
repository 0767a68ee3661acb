/* mt_pidcache: verified app processes and their open statm. httpd-free. */
#include <unistd.h>
#include <apr_thread_mutex.h>

#include "mt_pidcache.h"

typedef struct {
    int        pid;          /* 0: free */
    int        fd;           /* /proc/<pid>/statm, -1 when none */
    int        status_fd;    /* /proc/<pid>/status, -1 when none */
    int        readers;      /* threads reading a descriptor right now */
    int        doomed;       /* close them when the last reader is done */
    apr_time_t verified_at;
    apr_uint64_t start_ticks; /* the process's start time, 0 unknown */
    unsigned   rules;        /* what the check it passed proves */
} entry_t;

struct mt_pidcache_t {
    apr_thread_mutex_t *mutex;
    apr_interval_time_t ttl;
    entry_t             e[MT_PIDCACHE_SLOTS];
};

/* Forget an entry; its descriptor goes now or with its last reader. Under
 * the mutex. */
static void close_fds(entry_t *e)
{
    if (e->fd >= 0) close(e->fd);
    if (e->status_fd >= 0) close(e->status_fd);
    e->fd = e->status_fd = -1;
}

static void drop(entry_t *e)
{
    if (e->readers > 0) {
        e->doomed = 1;
        return;      /* the slot stays taken until the last reader leaves */
    }
    close_fds(e);
    e->pid = 0;
    e->doomed = 0;
}

static apr_status_t close_all(void *data)
{
    mt_pidcache_t *pc = data;
    int i;

    for (i = 0; i < MT_PIDCACHE_SLOTS; i++) {
        close_fds(&pc->e[i]);
    }
    return APR_SUCCESS;
}

apr_status_t mt_pidcache_create(mt_pidcache_t **ppc, apr_interval_time_t ttl,
                                apr_pool_t *p)
{
    mt_pidcache_t *pc = apr_pcalloc(p, sizeof(*pc));
    apr_status_t rv;
    int i;

    pc->ttl = ttl;
    for (i = 0; i < MT_PIDCACHE_SLOTS; i++) {
        pc->e[i].fd = pc->e[i].status_fd = -1;
    }
    rv = apr_thread_mutex_create(&pc->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        apr_pool_cleanup_register(p, pc, close_all, apr_pool_cleanup_null);
        *ppc = pc;
    }
    return rv;
}

static entry_t *find(mt_pidcache_t *pc, int pid)
{
    int i;

    for (i = 0; i < MT_PIDCACHE_SLOTS; i++) {
        if (pc->e[i].pid == pid && !pc->e[i].doomed) return &pc->e[i];
    }
    return NULL;
}

/* A reader's hold on pid's entry, taken and left under the mutex but held
 * without it: the entry's descriptors stay open until release(). An entry
 * that does not prove every rule asked for, or verified max_age or longer
 * ago (or in the future), is not taken; max_age -1 takes any age. NULL
 * when there is no such entry. */
static entry_t *hold(mt_pidcache_t *pc, int pid, unsigned rules,
                     apr_time_t now, apr_interval_time_t max_age)
{
    entry_t *e;

    if (!pc || pid <= 0 || apr_thread_mutex_lock(pc->mutex) != APR_SUCCESS) {
        return NULL;
    }
    e = find(pc, pid);
    if (e && (e->rules & rules) != rules) {
        e = NULL;
    }
    if (e && max_age >= 0
        && (now < e->verified_at || now - e->verified_at >= max_age)) {
        e = NULL;
    }
    if (e) {
        e->readers++;
    }
    apr_thread_mutex_unlock(pc->mutex);
    return e;
}

/* Let go of a hold; gone: a read showed that the process has exited. */
static void release(mt_pidcache_t *pc, entry_t *e, int gone)
{
    apr_thread_mutex_lock(pc->mutex);
    e->readers--;
    if (gone || e->doomed) {
        drop(e);      /* the process is gone, or the entry was replaced */
    }
    apr_thread_mutex_unlock(pc->mutex);
}

apr_status_t mt_pidcache_sample(mt_pidcache_t *pc, int pid, unsigned rules,
                                apr_time_t now, mt_sample_t *s,
                                apr_uint64_t *start_ticks)
{
    entry_t *e = hold(pc, pid, rules, now, pc ? pc->ttl : -1);
    apr_status_t rv;

    if (!e) {
        return APR_NOTFOUND;
    }
    *start_ticks = e->start_ticks;   /* fixed while the entry is held */
    rv = mt_sample_statm_fd(s, e->fd);
    release(pc, e, rv != APR_SUCCESS);
    return rv;
}

apr_status_t mt_pidcache_known(mt_pidcache_t *pc, int pid, unsigned rules,
                               apr_time_t now, apr_uint64_t *start_ticks)
{
    entry_t *e = hold(pc, pid, rules, now, pc ? pc->ttl : -1);

    if (!e) {
        return APR_NOTFOUND;
    }
    *start_ticks = e->start_ticks;
    release(pc, e, 0);
    return APR_SUCCESS;
}

apr_status_t mt_pidcache_status(mt_pidcache_t *pc, int pid, unsigned rules,
                                mt_sample_t *s)
{
    entry_t *e = hold(pc, pid, rules, 0, -1);
    apr_status_t rv = APR_NOTFOUND;

    if (!e) {
        return APR_NOTFOUND;
    }
    if (e->status_fd >= 0) {
        rv = mt_sample_status_fd(s, e->status_fd);
    }
    release(pc, e, 0);
    return rv;
}

void mt_pidcache_put(mt_pidcache_t *pc, int pid, unsigned rules,
                     apr_uint64_t start_ticks, int statm_fd, int status_fd,
                     apr_time_t now)
{
    entry_t *e, *oldest = NULL;
    int i;

    if (!pc || pid <= 0 || apr_thread_mutex_lock(pc->mutex) != APR_SUCCESS) {
        if (statm_fd >= 0) close(statm_fd);
        if (status_fd >= 0) close(status_fd);
        return;
    }
    if ((e = find(pc, pid)) != NULL) {
        drop(e);      /* a fresh descriptor for a fresh check */
    }
    for (i = 0; i < MT_PIDCACHE_SLOTS; i++) {
        entry_t *c = &pc->e[i];
        if (c->pid == 0) { oldest = c; break; }
        if (!c->doomed && (!oldest || c->verified_at < oldest->verified_at)) {
            oldest = c;
        }
    }
    if (oldest && oldest->pid) drop(oldest);
    if (oldest && oldest->pid == 0) {
        oldest->pid = pid;
        oldest->fd = statm_fd;
        oldest->status_fd = status_fd;
        oldest->readers = 0;
        oldest->verified_at = now;
        oldest->start_ticks = start_ticks;
        oldest->rules = rules;
    }
    else {                 /* every slot busy being read: do not cache */
        if (statm_fd >= 0) close(statm_fd);
        if (status_fd >= 0) close(status_fd);
    }
    apr_thread_mutex_unlock(pc->mutex);
}
