/* mt_pidcache: recently verified pids. httpd-free. */
#include <apr_thread_mutex.h>

#include "mt_pidcache.h"

typedef struct {
    int        pid;
    apr_time_t verified_at;
} entry_t;

struct mt_pidcache_t {
    apr_thread_mutex_t *mutex;
    apr_interval_time_t ttl;
    entry_t             e[MT_PIDCACHE_SLOTS];
};

apr_status_t mt_pidcache_create(mt_pidcache_t **ppc, apr_interval_time_t ttl,
                                apr_pool_t *p)
{
    mt_pidcache_t *pc = apr_pcalloc(p, sizeof(*pc));
    apr_status_t rv;

    pc->ttl = ttl;
    rv = apr_thread_mutex_create(&pc->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        *ppc = pc;
    }
    return rv;
}

int mt_pidcache_fresh(mt_pidcache_t *pc, int pid, apr_time_t now)
{
    int i, fresh = 0;

    if (!pc || pid <= 0 || apr_thread_mutex_lock(pc->mutex) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < MT_PIDCACHE_SLOTS; i++) {
        if (pc->e[i].pid == pid) {
            fresh = now - pc->e[i].verified_at < pc->ttl
                    && now >= pc->e[i].verified_at;
            break;
        }
    }
    apr_thread_mutex_unlock(pc->mutex);
    return fresh;
}

void mt_pidcache_add(mt_pidcache_t *pc, int pid, apr_time_t now)
{
    int i, slot = 0;

    if (!pc || pid <= 0 || apr_thread_mutex_lock(pc->mutex) != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < MT_PIDCACHE_SLOTS; i++) {
        if (pc->e[i].pid == pid) { slot = i; break; }
        if (pc->e[i].verified_at < pc->e[slot].verified_at) slot = i;
    }
    pc->e[slot].pid = pid;
    pc->e[slot].verified_at = now;
    apr_thread_mutex_unlock(pc->mutex);
}
