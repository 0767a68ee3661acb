/* Unit tests: the per-child cache of verified pids and their open statm. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <apr_general.h>
#include "mt_tap.h"
#include "mt_pidcache.h"

static int spawn_sleeper(void)
{
    int pid = fork();

    if (pid == 0) {
        execl("/bin/sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    return pid;
}

int main(void)
{
    apr_pool_t *p;
    mt_pidcache_t *pc;
    mt_sample_t s;
    apr_time_t t0 = apr_time_now();
    apr_uint64_t start_ticks = 0;
    apr_status_t rv;
    int me = (int)getpid(), kid;

    apr_initialize();
    apr_pool_create(&p, NULL);
    ok(mt_pidcache_create(&pc, apr_time_from_sec(1), p) == APR_SUCCESS, "create");
    mt_sample_clear(&s);
    ok(mt_pidcache_sample(pc, me, t0, &s, &start_ticks) == APR_NOTFOUND, "unknown pid: not cached");
    mt_pidcache_put(pc, me, 77, mt_sample_open_statm(me), -1, t0);
    ok(mt_pidcache_sample(pc, me, t0 + 500000, &s, &start_ticks) == APR_SUCCESS && s.rss_bytes > 0,
       "cached and fresh: sampled through the kept descriptor");
    is_int(start_ticks, 77, "with the start time it was put with");
    ok(mt_pidcache_sample(pc, me, t0 + 1000000, &s, &start_ticks) == APR_NOTFOUND, "stale after ttl");
    ok(mt_pidcache_sample(pc, me, t0 - 1, &s, &start_ticks) == APR_NOTFOUND, "clock going back: stale");
    ok(mt_pidcache_sample(pc, 0, t0, &s, &start_ticks) == APR_NOTFOUND, "pid 0 never cached");
    ok(mt_pidcache_sample(NULL, me, t0, &s, &start_ticks) == APR_NOTFOUND, "no cache: never");
    mt_pidcache_put(pc, me, 77, mt_sample_open_statm(me), -1, t0 + 900000);
    ok(mt_pidcache_sample(pc, me, t0 + 1500000, &s, &start_ticks) == APR_SUCCESS, "put again refreshes");
    ok(mt_pidcache_status(pc, me, &s) == APR_NOTFOUND, "no status descriptor: no status");
    mt_pidcache_put(pc, me, 77, mt_sample_open_statm(me), mt_sample_open_status(me), t0);
    mt_sample_clear(&s);
    rv = mt_pidcache_status(pc, me, &s);
    ok(rv == APR_SUCCESS && s.peak_rss_bytes > 0 && s.swap_bytes >= 0,
       "status through the kept descriptor (peak %lld)", (long long)s.peak_rss_bytes);
    ok(mt_pidcache_status(pc, me + 1, &s) == APR_NOTFOUND, "status of an unknown pid");

    /* The descriptor is bound to the process: once it exits, reading fails
     * and the entry goes, whatever process gets the pid next. */
    kid = spawn_sleeper();
    mt_pidcache_put(pc, kid, 77, mt_sample_open_statm(kid), mt_sample_open_status(kid), t0);
    ok(mt_pidcache_sample(pc, kid, t0 + 1, &s, &start_ticks) == APR_SUCCESS, "live child sampled");
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    ok(mt_pidcache_status(pc, kid, &s) != APR_SUCCESS, "dead child: no status either");

    /* Exited but not reaped: a zombie's statm reads all zeros, which is
     * "gone", never a sample of 0 bytes. */
    kid = spawn_sleeper();
    mt_pidcache_put(pc, kid, 77, mt_sample_open_statm(kid), -1, t0);
    kill(kid, SIGKILL);
    ok(mt_tap_wait_zombie(kid), "child %d is a zombie", kid);
    mt_sample_clear(&s);
    ok(mt_pidcache_sample(pc, kid, t0 + 4, &s, &start_ticks) != APR_SUCCESS
       && s.rss_bytes == MT_UNKNOWN, "zombie: no sample");
    waitpid(kid, NULL, 0);
    ok(mt_pidcache_sample(pc, kid, t0 + 2, &s, &start_ticks) != APR_SUCCESS, "dead child: read fails");
    ok(mt_pidcache_sample(pc, kid, t0 + 3, &s, &start_ticks) == APR_NOTFOUND, "and its entry is gone");

    for (int i = 0; i < MT_PIDCACHE_SLOTS + 5; i++) {
        mt_pidcache_put(pc, 100000 + i, 77, mt_sample_open_statm(me), -1, t0 + 10 + i);
    }
    ok(mt_pidcache_sample(pc, me, t0 + 100, &s, &start_ticks) == APR_NOTFOUND, "oldest evicted when full");
    ok(mt_pidcache_sample(pc, 100000 + MT_PIDCACHE_SLOTS + 4, t0 + 100, &s, &start_ticks) == APR_SUCCESS,
       "newest kept");
    mt_pidcache_put(pc, 5, 77, -1, -1, t0);
    ok(mt_pidcache_sample(pc, 5, t0 + 1, &s, &start_ticks) != APR_SUCCESS, "no descriptor: no sample");
    apr_pool_destroy(p);   /* closes every kept descriptor (ASan/valgrind clean) */
    apr_terminate();
    return done_testing();
}
