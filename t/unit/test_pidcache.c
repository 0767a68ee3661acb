/* Unit tests: the per-child cache of verified pids. */
#include <apr_general.h>
#include "mt_tap.h"
#include "mt_pidcache.h"

int main(void)
{
    apr_pool_t *p;
    mt_pidcache_t *pc;
    apr_time_t t0 = apr_time_from_sec(1000);

    apr_initialize();
    apr_pool_create(&p, NULL);
    ok(mt_pidcache_create(&pc, apr_time_from_sec(1), p) == APR_SUCCESS, "create");
    ok(!mt_pidcache_fresh(pc, 42, t0), "unknown pid not fresh");
    mt_pidcache_add(pc, 42, t0);
    ok(mt_pidcache_fresh(pc, 42, t0 + 500000), "fresh within ttl");
    ok(!mt_pidcache_fresh(pc, 42, t0 + 1000000), "stale after ttl");
    ok(!mt_pidcache_fresh(pc, 42, t0 - 1), "clock going back: not fresh");
    ok(!mt_pidcache_fresh(pc, 0, t0), "pid 0 never fresh");
    ok(!mt_pidcache_fresh(NULL, 42, t0), "no cache: never fresh");
    for (int i = 0; i < MT_PIDCACHE_SLOTS; i++) {
        mt_pidcache_add(pc, 1000 + i, t0 + 1 + i);
    }
    ok(!mt_pidcache_fresh(pc, 42, t0 + 100), "oldest evicted when full");
    ok(mt_pidcache_fresh(pc, 1000 + MT_PIDCACHE_SLOTS - 1, t0 + 100), "newest kept");
    mt_pidcache_add(pc, 1000, t0 + 900000);
    ok(mt_pidcache_fresh(pc, 1000, t0 + 1500000), "re-adding refreshes, no duplicate");
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
