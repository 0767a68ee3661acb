/* Unit tests: per-key message limits with a total over all keys. */
#include <stdio.h>
#include <apr_general.h>
#include "mt_tap.h"
#include "mt_ratelimit.h"

#define SEC APR_USEC_PER_SEC

static int passes(mt_ratelimit_t *rl, const char *key, apr_time_t now, int n,
                  mt_ratelimit_verdict_t *last)
{
    mt_ratelimit_verdict_t v;
    int i, passed = 0;

    for (i = 0; i < n; i++) {
        mt_ratelimit_take(rl, key, now, &v);
        if (v.pass) {
            passed++;
            if (last) *last = v;
        }
    }
    return passed;
}

int main(void)
{
    apr_pool_t *p;
    mt_ratelimit_t *rl;
    mt_ratelimit_verdict_t v;
    apr_time_t t0 = 1000 * SEC;
    char key[32];
    int i, passed;

    apr_initialize();
    apr_pool_create(&p, NULL);
    ok(mt_ratelimit_create(&rl, 0, 10, 60 * SEC, p) == APR_EINVAL, "burst 0 refused");
    ok(mt_ratelimit_create(&rl, 5, 4, 60 * SEC, p) == APR_EINVAL, "total below burst refused");
    ok(mt_ratelimit_create(&rl, 5, 20, 60 * SEC, p) == APR_SUCCESS, "create");

    is_int(passes(rl, "a", t0, 300, &v), 5, "one key: 5 of 300 pass in a window");
    ok(v.last, "the fifth says it is the last");
    mt_ratelimit_take(rl, "a", t0 + 59 * SEC, &v);
    ok(!v.pass, "still held back just before the window ends");
    mt_ratelimit_take(rl, "a", t0 + 60 * SEC, &v);
    ok(v.pass && !v.last, "a new window: passes again");
    is_int(v.held_back, 296, "and says how many were held back");
    mt_ratelimit_take(rl, "a", t0 + 61 * SEC, &v);
    is_int(v.held_back, 0, "the count starts over");

    is_int(passes(rl, "b", t0 + 61 * SEC, 10, NULL), 5, "another key has its own limit");
    mt_ratelimit_take(rl, "c", t0 + 10 * SEC, &v);
    ok(v.pass, "a clock that went back starts the window over");

    /* Many keys cannot get round the total. */
    apr_pool_clear(p);
    mt_ratelimit_create(&rl, 5, 20, 60 * SEC, p);
    passed = 0;
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        passed += passes(rl, key, t0, 3, NULL);
    }
    is_int(passed, 20, "1000 keys x 3 events: the total, 20, passes");
    snprintf(key, sizeof(key), "key%d", 2000);
    mt_ratelimit_take(rl, key, t0 + 60 * SEC, &v);
    ok(v.pass, "the total starts over with the next window");

    mt_ratelimit_take(NULL, "x", t0, &v);
    ok(v.pass, "no limiter: everything passes");
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
