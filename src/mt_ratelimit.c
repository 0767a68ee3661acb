/* mt_ratelimit: per-key message limits (see include/mt_ratelimit.h). */
#include <string.h>
#include <apr_thread_mutex.h>

#include "mt_ratelimit.h"

/* One key's window: keys are told apart by a 64-bit hash (FNV-1a); two keys
 * that collide share a limit, which only ever means fewer messages. */
typedef struct {
    apr_uint64_t hash;       /* 0: free */
    apr_time_t   start;      /* the key's window began */
    apr_time_t   seen;       /* last event, for eviction */
    unsigned     count;      /* events passed in the window */
    apr_uint32_t held_back;  /* events not passed since the last passed */
} slot_t;

struct mt_ratelimit_t {
    apr_thread_mutex_t *mutex;
    unsigned            burst;
    unsigned            total;
    apr_interval_time_t window;
    apr_time_t          total_start;
    unsigned            total_count;
    slot_t              slots[MT_RATELIMIT_SLOTS];
};

apr_status_t mt_ratelimit_create(mt_ratelimit_t **prl, unsigned burst,
                                 unsigned total, apr_interval_time_t window,
                                 apr_pool_t *p)
{
    mt_ratelimit_t *rl = apr_pcalloc(p, sizeof(*rl));
    apr_status_t rv;

    *prl = NULL;
    if (burst < 1 || total < burst || window <= 0) {
        return APR_EINVAL;
    }
    rl->burst = burst;
    rl->total = total;
    rl->window = window;
    rv = apr_thread_mutex_create(&rl->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        *prl = rl;
    }
    return rv;
}

static apr_uint64_t hash_of(const char *key)
{
    apr_uint64_t h = 14695981039346656037ULL;

    for (; key && *key; key++) {
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    }
    return h ? h : 1;
}

/* Under the mutex: the key's slot, or the least recently seen one made
 * over for it. */
static slot_t *slot_for(mt_ratelimit_t *rl, apr_uint64_t h, apr_time_t now)
{
    slot_t *oldest = &rl->slots[0];
    int i;

    for (i = 0; i < MT_RATELIMIT_SLOTS; i++) {
        slot_t *s = &rl->slots[i];
        if (s->hash == h) {
            return s;
        }
        if (s->hash == 0 || (oldest->hash != 0 && s->seen < oldest->seen)) {
            oldest = s;
        }
    }
    memset(oldest, 0, sizeof(*oldest));
    oldest->hash = h;
    oldest->start = now;
    return oldest;
}

/* A window that is over (or in the future: a clock that went back) starts
 * again. */
static int expired(const mt_ratelimit_t *rl, apr_time_t start, apr_time_t now)
{
    return now < start || now - start >= rl->window;
}

void mt_ratelimit_take(mt_ratelimit_t *rl, const char *key, apr_time_t now,
                       mt_ratelimit_verdict_t *v)
{
    slot_t *s;

    memset(v, 0, sizeof(*v));
    if (!rl || apr_thread_mutex_lock(rl->mutex) != APR_SUCCESS) {
        v->pass = 1;
        return;
    }
    s = slot_for(rl, hash_of(key), now);
    if (expired(rl, s->start, now)) {
        s->start = now;
        s->count = 0;
    }
    if (expired(rl, rl->total_start, now)) {
        rl->total_start = now;
        rl->total_count = 0;
    }
    s->seen = now;
    if (s->count < rl->burst && rl->total_count < rl->total) {
        v->pass = 1;
        s->count++;
        rl->total_count++;
        v->last = s->count == rl->burst || rl->total_count == rl->total;
        v->held_back = s->held_back;
        s->held_back = 0;
    }
    else {
        s->held_back++;
    }
    apr_thread_mutex_unlock(rl->mutex);
}
