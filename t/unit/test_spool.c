/* Unit tests of the spool (src/mt_spool.c): records come out whole, in
 * order, once; the bounds refuse what does not fit and give the room back;
 * a batch is due at its wake mark; close hands over what is left; four
 * request threads and a writer lose and duplicate nothing; and a close from
 * a signal handler that interrupted a put on the same thread (prefork's
 * SIGTERM) neither hangs nor hands over a half-copied record. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_thread_proc.h>

#include "mt_tap.h"
#include "mt_spool.h"
#include "mt_util.h"

static apr_pool_t *pool;

static mt_spool_t *make(apr_uint32_t max_records, apr_size_t max_bytes,
                        apr_uint32_t wake, apr_interval_time_t delay)
{
    mt_spool_opts_t o = { max_records, max_bytes, wake, 1 << 30, delay };
    mt_spool_t *s = NULL;

    return mt_spool_create(&s, &o, pool) == APR_SUCCESS ? s : NULL;
}

/* Record i: "<i>:" then (i * 7) % 300 bytes of a pattern of i. */
static apr_size_t rec_of(char *buf, unsigned long i)
{
    int n = snprintf(buf, 32, "%lu:", i);
    apr_size_t len = (apr_size_t)n + (i * 7) % 300, k;

    for (k = (apr_size_t)n; k < len; k++) {
        buf[k] = (char)('a' + (i + k) % 26);
    }
    return len;
}

static int rec_ok(const mt_spool_rec_t *r, unsigned long *id)
{
    char want[400];
    unsigned long i = strtoul(r->data, NULL, 10);

    *id = i;
    return r->len == rec_of(want, i) && memcmp(r->data, want, r->len) == 0;
}

static void test_create(void)
{
    mt_spool_t *s = NULL;
    mt_spool_opts_t o = { 0, 1, 1, 1, 0 };

    ok(mt_spool_create(&s, &o, pool) == APR_EINVAL && !s,
       "create refuses a bound of 0");
    ok(mt_spool_create(&s, NULL, pool) == APR_EINVAL, "and no options");
}

static void test_order_and_tags(void)
{
    mt_spool_t *s = make(100000, 1 << 30, 1, 0);
    mt_spool_batch_t *b;
    mt_spool_rec_t r;
    char buf[400], big[100000], tag[16];
    unsigned long i, id, bad = 0, n = 0;

    for (i = 0; i < 2000; i++) {        /* ~300 KB: several chunks */
        snprintf(tag, sizeof(tag), "t%lu", i);
        mt_spool_put(s, tag, strlen(tag), buf, rec_of(buf, i));
    }
    memset(big, 'B', sizeof(big));      /* a record larger than a chunk */
    ok(mt_spool_put(s, "big", 3, big, sizeof(big)) == APR_SUCCESS,
       "a 100 KB record is taken");
    is_int(mt_spool_pending(s), 2001, "2001 pending");
    b = mt_spool_take(s, 0);
    ok(b != NULL, "a batch");
    is_int(mt_spool_left(b), 2001, "with every record");
    for (i = 0; i < 2000 && mt_spool_next(b, &r); i++, n++) {
        snprintf(tag, sizeof(tag), "t%lu", i);
        bad += !rec_ok(&r, &id) || id != i || r.tag_len != strlen(tag)
               || memcmp(r.tag, tag, r.tag_len) != 0;
    }
    is_int(n, 2000, "2000 records come out");
    is_int(bad, 0, "whole, in order, with their tags");
    ok(mt_spool_next(b, &r) && r.len == sizeof(big) && r.data[99999] == 'B'
       && r.tag_len == 3, "then the big one");
    ok(!mt_spool_next(b, &r), "then the end");
    mt_spool_done(s, 2001);
    mt_spool_release(s, b);
    is_int(mt_spool_pending(s), 0, "nothing pending");
    ok(mt_spool_take(s, 0) == NULL, "nothing to take");
    /* the chunks kept are reused */
    mt_spool_put(s, NULL, 0, "x", 1);
    b = mt_spool_take(s, 0);
    ok(b && mt_spool_next(b, &r) && r.len == 1 && r.tag_len == 0
       && *r.data == 'x', "an untagged record after reuse");
    mt_spool_done(s, 1);
    mt_spool_release(s, b);
}

static void test_bounds(void)
{
    mt_spool_t *s = make(5, 1 << 20, 1, 0);
    mt_spool_t *sb = make(1000, 100, 1, 0);
    mt_spool_batch_t *b;
    mt_spool_rec_t r;
    int i, taken = 0;

    for (i = 0; i < 8; i++) {
        taken += mt_spool_put(s, NULL, 0, "r", 1) == APR_SUCCESS;
    }
    is_int(taken, 5, "max_records records are taken");
    is_int(mt_spool_put(s, NULL, 0, "r", 1), APR_EAGAIN, "then EAGAIN");
    b = mt_spool_take(s, 0);
    is_int(mt_spool_put(s, NULL, 0, "r", 1), APR_EAGAIN,
           "records being written still count");
    mt_spool_next(b, &r);
    mt_spool_done(s, 1);
    is_int(mt_spool_put(s, NULL, 0, "r", 1), APR_SUCCESS,
           "a record done makes room for one");
    is_int(mt_spool_put(sb, NULL, 0, "0123456789012345678901234567890123456789"
                        "01234567890123456789", 60), APR_SUCCESS, "60 bytes fit");
    is_int(mt_spool_put(sb, NULL, 0, "0123456789012345678901234567890123456789",
                        40), APR_EAGAIN, "then 40 more do not fit in 100");
    is_int(mt_spool_discard(s), 5, "discard counts what was not done");
    is_int(mt_spool_pending(s), 0, "and empties the spool");
    ok(mt_spool_take(s, 0) == NULL, "nothing left to take");
}

typedef struct {
    mt_spool_t  *s;
    unsigned int n;
} feed_t;

static void *APR_THREAD_FUNC feed(apr_thread_t *t, void *data)
{
    feed_t *f = data;
    unsigned int i;

    usleep(20000);
    for (i = 0; i < f->n; i++) {
        mt_spool_put(f->s, NULL, 0, "r", 1);
    }
    (void)t;
    return NULL;
}

/* A batch is due at its wake mark, long before its delay. */
static void test_wake(void)
{
    mt_spool_t *s = make(1000, 1 << 20, 3, apr_time_from_sec(60));
    feed_t f = { s, 3 };
    apr_thread_t *t;
    apr_status_t trv;
    mt_spool_batch_t *b;
    apr_time_t t0 = mt_mono_now();

    apr_thread_create(&t, NULL, feed, &f, pool);
    b = mt_spool_take(s, apr_time_from_sec(60));
    ok(b && mt_spool_left(b) == 3, "three records wake the writer");
    ok(mt_mono_now() - t0 < apr_time_from_sec(30),
       "without waiting for the 60 s delay");
    apr_thread_join(&trv, t);
    mt_spool_done(s, 3);
    mt_spool_release(s, b);
    ok(mt_spool_take(s, 0) == NULL, "idle: nothing");
}

static void test_close(void)
{
    mt_spool_t *s = make(1000, 1 << 20, 1000, apr_time_from_sec(60));
    mt_spool_batch_t *b;

    mt_spool_put(s, NULL, 0, "a", 1);
    mt_spool_put(s, NULL, 0, "b", 1);
    mt_spool_close(s);
    mt_spool_close(s);
    ok(mt_spool_closed(s), "closed (twice is fine)");
    is_int(mt_spool_put(s, NULL, 0, "c", 1), APR_EOF, "puts refused");
    b = mt_spool_take(s, apr_time_from_sec(60));
    ok(b && mt_spool_left(b) == 2, "take hands over what is left at once");
    mt_spool_done(s, 2);
    mt_spool_release(s, b);
    ok(mt_spool_take(s, apr_time_from_sec(60)) == NULL, "then nothing");
    ok(mt_spool_sleep(s, apr_time_from_sec(60)), "sleep ends at once");
}

/* ---- four request threads, one writer ----------------------------------- */

#define PRODUCERS 4
#define PER_THREAD 50000

typedef struct {
    mt_spool_t   *s;
    int           who;
    unsigned long refused;
} prod_t;

static void *APR_THREAD_FUNC produce(apr_thread_t *t, void *data)
{
    prod_t *p = data;
    char buf[400];
    unsigned long i;

    for (i = 0; i < PER_THREAD; i++) {
        unsigned long id = (unsigned long)p->who * PER_THREAD + i;
        while (mt_spool_put(p->s, (const char *)&p->who, sizeof(p->who), buf,
                            rec_of(buf, id)) == APR_EAGAIN) {
            p->refused++;
            usleep(50);
        }
    }
    (void)t;
    return NULL;
}

static void test_threads(void)
{
    mt_spool_t *s = make(2000, 64 * 1024, 200, apr_time_from_msec(5));
    static unsigned char seen[PRODUCERS * PER_THREAD];
    unsigned long next[PRODUCERS] = { 0 }, got = 0, bad = 0, order = 0, id;
    apr_thread_t *t[PRODUCERS];
    prod_t p[PRODUCERS];
    mt_spool_batch_t *b;
    mt_spool_rec_t r;
    apr_status_t trv;
    int i;

    for (i = 0; i < PRODUCERS; i++) {
        p[i] = (prod_t){ s, i, 0 };
        apr_thread_create(&t[i], NULL, produce, &p[i], pool);
    }
    while (got < PRODUCERS * PER_THREAD
           && (b = mt_spool_take(s, apr_time_from_sec(10))) != NULL) {
        apr_uint32_t n = 0;
        while (mt_spool_next(b, &r)) {
            int who;
            n++;
            memcpy(&who, r.tag, sizeof(who));
            if (!rec_ok(&r, &id) || id >= PRODUCERS * PER_THREAD
                || seen[id]++) {
                bad++;
                continue;
            }
            order += id != (unsigned long)who * PER_THREAD + next[who]++;
            got++;
        }
        mt_spool_done(s, n);
        mt_spool_release(s, b);
    }
    for (i = 0; i < PRODUCERS; i++) {
        apr_thread_join(&trv, t[i]);
    }
    is_int(got, PRODUCERS * PER_THREAD, "every record of 4 threads arrives");
    is_int(bad, 0, "whole and once");
    is_int(order, 0, "each thread's records in its order");
    is_int(mt_spool_pending(s), 0, "nothing pending");
    printf("# the bound refused a put %lu times\n",
           p[0].refused + p[1].refused + p[2].refused + p[3].refused);
}

/* ---- close from a signal handler in the middle of a put ----------------- */

static mt_spool_t *sig_spool;
static apr_thread_t *sig_writer;
static int sig_pipe[2];
static volatile unsigned long sig_bad, sig_got;

static void *APR_THREAD_FUNC consume(apr_thread_t *t, void *data)
{
    mt_spool_batch_t *b;
    mt_spool_rec_t r;
    unsigned long id;

    (void)data;
    for (;;) {
        apr_uint32_t n = 0;
        if ((b = mt_spool_take(sig_spool, apr_time_from_msec(100))) == NULL) {
            if (mt_spool_closed(sig_spool)) {
                break;
            }
            continue;
        }
        while (mt_spool_next(b, &r)) {
            n++;
            sig_got++;
            sig_bad += !rec_ok(&r, &id);
        }
        mt_spool_done(sig_spool, n);
        mt_spool_release(sig_spool, b);
    }
    (void)t;
    return NULL;
}

/* What prefork's just_die does: the child pool's cleanups, then exit. */
static void on_alarm(int sig)
{
    char out[64];
    apr_status_t trv;
    int n;

    (void)sig;
    mt_spool_close(sig_spool);
    apr_thread_join(&trv, sig_writer);
    n = snprintf(out, sizeof(out), "%lu %lu\n", sig_got, sig_bad);
    if (write(sig_pipe[1], out, (size_t)n) < 0) {
        _exit(3);
    }
    _exit(0);
}

/* One child: a writer, puts back to back, SIGALRM after 0.2 s; its
 * handler closes the spool and joins the writer. 1 when it ended by itself
 * (within 10 s), with what the writer saw in *got and *bad. */
static int signal_round(unsigned long *got, unsigned long *bad)
{
    char buf[400], out[64] = "";
    pid_t pid;
    int st = 0, i;

    *got = 0;
    *bad = 1;
    if (pipe(sig_pipe) != 0) {
        return 0;
    }
    fflush(stdout);
    if ((pid = fork()) == 0) {
        struct itimerval it = { { 0, 0 }, { 0, 200000 } };
        apr_size_t len;
        sigset_t all;
        sigfillset(&all);
        /* 100 KB a half: two chunks, malloc'd once and kept, so the
         * handler never waits on a malloc lock the put holds. */
        sig_spool = make(1u << 30, 100 * 1024, 200, apr_time_from_msec(1));
        pthread_sigmask(SIG_BLOCK, &all, NULL);
        apr_thread_create(&sig_writer, NULL, consume, NULL, pool);
        pthread_sigmask(SIG_UNBLOCK, &all, NULL);
        signal(SIGALRM, on_alarm);
        setitimer(ITIMER_REAL, &it, NULL);
        len = rec_of(buf, 12345);
        for (;;) {                        /* nearly always inside a put */
            mt_spool_put(sig_spool, NULL, 0, buf, len);
        }
    }
    close(sig_pipe[1]);
    for (i = 0; i < 100 && waitpid(pid, &st, WNOHANG) == 0; i++) {
        usleep(100000);
    }
    if (i == 100) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    if (read(sig_pipe[0], out, sizeof(out) - 1) > 0) {
        sscanf(out, "%lu %lu", got, bad);
    }
    close(sig_pipe[0]);
    return i < 100 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A normal mutex hangs here in about one round in four (the handler
 * relocks the mutex its own thread holds); eight rounds. */
static void test_signal_close(void)
{
    unsigned long got, bad, all = 0, bad_all = 0;
    int round, ended = 0;

    for (round = 0; round < 8; round++) {
        ended += signal_round(&got, &bad);
        all += got;
        bad_all += bad;
    }
    is_int(ended, 8, "a close from the signal handler never hangs (8 rounds)");
    ok(all > 0 && bad_all == 0, "the writer took %lu records, every one "
       "whole", all);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_create();
    test_order_and_tags();
    test_bounds();
    test_wake();
    test_close();
    test_threads();
    test_signal_close();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
