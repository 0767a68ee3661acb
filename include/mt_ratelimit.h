/* mt_ratelimit: at most a few messages a minute per key, so that no app,
 * process or endpoint can flood the error log.
 *
 * httpd-free core. A key is any short string: today the process a record
 * is about ("pid:start time"), later the endpoint. Each key may pass
 * `burst` events per `window`; a fixed table of MT_RATELIMIT_SLOTS keys
 * is kept, the least recently active key giving way to a new one, and a
 * total over all keys (`total` per window) bounds what many keys can do
 * together, so churning keys cannot get round the limit either. An event
 * that passes says how many of its key's were held back before it.
 *
 * Thread-safe: one mutex, held for a table lookup. Meant for events that
 * are already rare (a threshold crossing), not for every request.
 */
#ifndef MT_RATELIMIT_H
#define MT_RATELIMIT_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mt_limits.h"   /* MT_RATELIMIT_SLOTS */

typedef struct mt_ratelimit_t mt_ratelimit_t;

/* A limiter of burst events per window per key and total per window over
 * all keys, in p (its mutex goes with p). */
apr_status_t mt_ratelimit_create(mt_ratelimit_t **rl, unsigned burst,
                                 unsigned total, apr_interval_time_t window,
                                 apr_pool_t *p);

/* What mt_ratelimit_take says of one event. */
typedef struct mt_ratelimit_verdict_t {
    int          pass;       /* 1: log it */
    int          last;       /* 1: it is the last its key may log in this
                              * window: say that more will be held back */
    apr_uint32_t held_back;  /* its key's events not passed since the last
                              * one that was (pass only) */
} mt_ratelimit_verdict_t;

/* Count one event of key at now (mt_mono_now()). rl NULL passes all. */
void mt_ratelimit_take(mt_ratelimit_t *rl, const char *key, apr_time_t now,
                       mt_ratelimit_verdict_t *v);

#endif
