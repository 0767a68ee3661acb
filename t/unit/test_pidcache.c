/* Unit tests: the per-child cache of verified pids and their open statm. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <apr_general.h>
#include "mt_tap.h"
#include "mt_pidcache.h"
#include "mt_procfind.h"

/* Two rule sets as the glue uses them: a plain backend's, and a Passenger
 * request's, which proves more. */
#define PLAIN (MT_PROCFIND_RULE_ALIVE | MT_PROCFIND_RULE_NOT_SELF \
               | MT_PROCFIND_RULE_NOT_HTTPD)
#define PASSENGER (PLAIN | MT_PROCFIND_RULE_TITLE | MT_PROCFIND_RULE_ANCESTRY)

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
    ok(mt_pidcache_sample(pc, me, PLAIN, t0, &s, &start_ticks) == APR_NOTFOUND, "unknown pid: not cached");
    mt_pidcache_put(pc, me, PLAIN, 77, mt_sample_open_statm(me), -1, t0);
    ok(mt_pidcache_sample(pc, me, PLAIN, t0 + 500000, &s, &start_ticks) == APR_SUCCESS && s.rss_bytes > 0,
       "cached and fresh: sampled through the kept descriptor");
    is_int(start_ticks, 77, "with the start time it was put with");
    ok(mt_pidcache_sample(pc, me, PLAIN, t0 + 1000000, &s, &start_ticks) == APR_NOTFOUND, "stale after ttl");
    ok(mt_pidcache_sample(pc, me, PLAIN, t0 - 1, &s, &start_ticks) == APR_NOTFOUND, "clock going back: stale");
    ok(mt_pidcache_sample(pc, 0, PLAIN, t0, &s, &start_ticks) == APR_NOTFOUND, "pid 0 never cached");
    ok(mt_pidcache_sample(NULL, me, PLAIN, t0, &s, &start_ticks) == APR_NOTFOUND, "no cache: never");
    start_ticks = 0;
    ok(mt_pidcache_known(pc, me, PLAIN, t0 + 500000, &start_ticks) == APR_SUCCESS
       && start_ticks == 77, "known: verified and fresh, with its start time, no read");
    ok(mt_pidcache_known(pc, me, PLAIN, t0 + 1000000, &start_ticks) == APR_NOTFOUND,
       "known: not when due for a new check");
    ok(mt_pidcache_known(pc, me + 1, PLAIN, t0, &start_ticks) == APR_NOTFOUND
       && mt_pidcache_known(NULL, me, PLAIN, t0, &start_ticks) == APR_NOTFOUND,
       "known: not an unknown pid, not without a cache");
    mt_pidcache_put(pc, me, PLAIN, 77, mt_sample_open_statm(me), -1, t0 + 900000);
    ok(mt_pidcache_sample(pc, me, PLAIN, t0 + 1500000, &s, &start_ticks) == APR_SUCCESS, "put again refreshes");
    ok(mt_pidcache_status(pc, me, PLAIN, &s) == APR_NOTFOUND, "no status descriptor: no status");
    mt_pidcache_put(pc, me, PLAIN, 77, mt_sample_open_statm(me), mt_sample_open_status(me), t0);
    mt_sample_clear(&s);
    rv = mt_pidcache_status(pc, me, PLAIN, &s);
    ok(rv == APR_SUCCESS && s.peak_rss_bytes > 0 && s.swap_bytes >= 0,
       "status through the kept descriptor (peak %lld)", (long long)s.peak_rss_bytes);
    ok(mt_pidcache_status(pc, me + 1, PLAIN, &s) == APR_NOTFOUND, "status of an unknown pid");

    /* An entry serves only lookups that need no more than its check
     * proved: a pid checked for a plain backend is not a Passenger app. */
    mt_pidcache_put(pc, me, PLAIN, 77, mt_sample_open_statm(me), mt_sample_open_status(me), t0);
    ok(mt_pidcache_sample(pc, me, PASSENGER, t0 + 1, &s, &start_ticks) == APR_NOTFOUND,
       "checked for less than asked: not served");
    ok(mt_pidcache_status(pc, me, PASSENGER, &s) == APR_NOTFOUND,
       "nor its status");
    ok(mt_pidcache_sample(pc, me, PLAIN, t0 + 1, &s, &start_ticks) == APR_SUCCESS,
       "served for the rules it was checked under");
    mt_pidcache_put(pc, me, PASSENGER, 78, mt_sample_open_statm(me), mt_sample_open_status(me), t0 + 2);
    ok(mt_pidcache_sample(pc, me, PASSENGER, t0 + 3, &s, &start_ticks) == APR_SUCCESS
       && start_ticks == 78, "checked for more: served for more");
    ok(mt_pidcache_sample(pc, me, PLAIN, t0 + 3, &s, &start_ticks) == APR_SUCCESS,
       "and for less");
    mt_pidcache_put(pc, me, PLAIN, 79, mt_sample_open_statm(me), -1, t0 + 4);
    ok(mt_pidcache_sample(pc, me, PASSENGER, t0 + 5, &s, &start_ticks) == APR_NOTFOUND,
       "a later check for less replaces the entry: no longer served for more");
    ok(mt_pidcache_sample(pc, me, 0, t0 + 5, &s, &start_ticks) == APR_SUCCESS,
       "no rules asked: any entry serves");

    /* The descriptor is bound to the process: once it exits, reading fails
     * and the entry goes, whatever process gets the pid next. */
    kid = spawn_sleeper();
    mt_pidcache_put(pc, kid, PLAIN, 77, mt_sample_open_statm(kid), mt_sample_open_status(kid), t0);
    ok(mt_pidcache_sample(pc, kid, PLAIN, t0 + 1, &s, &start_ticks) == APR_SUCCESS, "live child sampled");
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    ok(mt_pidcache_status(pc, kid, PLAIN, &s) != APR_SUCCESS, "dead child: no status either");

    /* Exited but not reaped: a zombie's statm reads all zeros, which is
     * "gone", never a sample of 0 bytes. */
    kid = spawn_sleeper();
    mt_pidcache_put(pc, kid, PLAIN, 77, mt_sample_open_statm(kid), -1, t0);
    kill(kid, SIGKILL);
    ok(mt_tap_wait_zombie(kid), "child %d is a zombie", kid);
    mt_sample_clear(&s);
    ok(mt_pidcache_sample(pc, kid, PLAIN, t0 + 4, &s, &start_ticks) != APR_SUCCESS
       && s.rss_bytes == MT_UNKNOWN, "zombie: no sample");
    waitpid(kid, NULL, 0);
    ok(mt_pidcache_sample(pc, kid, PLAIN, t0 + 2, &s, &start_ticks) != APR_SUCCESS, "dead child: read fails");
    ok(mt_pidcache_sample(pc, kid, PLAIN, t0 + 3, &s, &start_ticks) == APR_NOTFOUND, "and its entry is gone");

    for (int i = 0; i < MT_PIDCACHE_SLOTS + 5; i++) {
        mt_pidcache_put(pc, 100000 + i, PLAIN, 77, mt_sample_open_statm(me), -1, t0 + 10 + i);
    }
    ok(mt_pidcache_sample(pc, me, PLAIN, t0 + 100, &s, &start_ticks) == APR_NOTFOUND, "oldest evicted when full");
    ok(mt_pidcache_sample(pc, 100000 + MT_PIDCACHE_SLOTS + 4, PLAIN, t0 + 100, &s, &start_ticks) == APR_SUCCESS,
       "newest kept");
    mt_pidcache_put(pc, 5, PLAIN, 77, -1, -1, t0);
    ok(mt_pidcache_sample(pc, 5, PLAIN, t0 + 1, &s, &start_ticks) != APR_SUCCESS, "no descriptor: no sample");
    apr_pool_destroy(p);   /* closes every kept descriptor (ASan/valgrind clean) */
    apr_terminate();
    return done_testing();
}
