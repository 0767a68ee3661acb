/* Unit tests: the shared per-process state, also under threads. */
#include <stdlib.h>
#include <apr_general.h>
#include <apr_thread_proc.h>
#include "mt_tap.h"
#include "mt_state.h"
#include "mt_util.h"

#define SLOTS 8

/* A zeroed state of SLOTS slots; free() the returned memory. */
static void *fresh_state(mt_state_t *st)
{
    void *mem = calloc(1, mt_state_bytes(SLOTS));

    mt_state_init(st, mem, SLOTS);
    return mem;
}

static void test_basic(void)
{
    mt_state_t st;
    void *mem = fresh_state(&st);
    apr_int64_t rss = 0;
    mt_proc_slot_t snap[SLOTS];
    apr_time_t now = apr_time_now();

    ok(mt_state_last_rss(&st, 100, 0, &rss) == APR_NOTFOUND, "unknown pid");
    ok(mt_state_record(&st, 100, 0, MT_STATE_KIND_BACKEND, 5000, 0, 0, now) == APR_SUCCESS, "record");
    ok(mt_state_last_rss(&st, 100, 0, &rss) == APR_SUCCESS && rss == 5000, "last rss");
    mt_state_record(&st, 100, 0, MT_STATE_KIND_BACKEND, 9000, 4000, 1, now + 1);
    mt_state_record(&st, 100, 0, MT_STATE_KIND_BACKEND, 7000, -2000, 1, now + 2);
    is_int(mt_state_snapshot(&st, snap, SLOTS), 1, "one slot in use");
    is_int(snap[0].requests, 3, "requests counted");
    is_int(snap[0].peak_rss_bytes, 9000, "peak");
    is_int(snap[0].first_rss_bytes, 5000, "first");
    is_int(snap[0].growth_sum_bytes, 2000, "growth sum (unknown not added)");
    ok(mt_state_record(&st, 0, 0, 1, 1, 0, 0, now) == APR_EINVAL, "pid 0 refused");
    for (int pid = 1; pid <= SLOTS; pid++) {
        mt_state_record(&st, 1000 + pid, 0, MT_STATE_KIND_SELF, pid, 0, 0, now + 10 + pid);
    }
    ok(mt_state_last_rss(&st, 100, 0, &rss) == APR_NOTFOUND, "least recently seen evicted");
    ok(mt_state_last_rss(&st, 1000 + SLOTS, 0, &rss) == APR_SUCCESS && rss == SLOTS, "newest kept");
    /* A lock left by a dead holder long ago is broken, not waited on. */
    st.slots[0].lock = (apr_uint32_t)apr_time_sec(mt_mono_now()) - 100;
    ok(mt_state_record(&st, st.slots[0].pid, 0, 1, 1, 0, 0, now + 20) == APR_SUCCESS,
       "stale lock broken");
    st.slots[0].lock = (apr_uint32_t)apr_time_sec(mt_mono_now()) + 1;
    ok(mt_state_record(&st, st.slots[0].pid, 0, 1, 1, 0, 0, now) == APR_EAGAIN,
       "fresh lock: skipped, not waited on");
    is_int(st.skipped, 1, "skip counted");
    free(mem);
}

/* A pid reused by a newer process: the slot starts over for it, and the
 * dead process's last sample is never the new one's "previous". */
static void test_reuse(void)
{
    mt_state_t st;
    void *mem = fresh_state(&st);
    apr_int64_t rss = 0;
    mt_proc_slot_t snap[SLOTS];
    apr_time_t now = apr_time_now();

    mt_state_record(&st, 300, 1000, MT_STATE_KIND_BACKEND, 900000, 0, 0, now);
    mt_state_record(&st, 300, 1000, MT_STATE_KIND_BACKEND, 950000, 50000, 1, now + 1);
    ok(mt_state_last_rss(&st, 300, 1000, &rss) == APR_SUCCESS && rss == 950000,
       "same process: previous sample");
    ok(mt_state_last_rss(&st, 300, 0, &rss) == APR_SUCCESS && rss == 950000,
       "start time unknown to the asker: matches");
    ok(mt_state_last_rss(&st, 300, 2000, &rss) == APR_NOTFOUND,
       "same pid, later start: not that process");
    mt_state_record(&st, 300, 2000, MT_STATE_KIND_BACKEND, 100000, 0, 0, now + 2);
    is_int(mt_state_snapshot(&st, snap, SLOTS), 1, "still one slot for the pid");
    is_int(snap[0].requests, 1, "the new process's requests only");
    is_int(snap[0].first_rss_bytes, 100000, "its first sample");
    is_int(snap[0].peak_rss_bytes, 100000, "its peak, not the dead one's");
    is_int(snap[0].growth_sum_bytes, 0, "its growth only");
    is_int(snap[0].start_ticks, 2000, "its start time");
    ok(mt_state_last_rss(&st, 300, 1000, &rss) == APR_NOTFOUND, "the dead process is gone");
    mt_state_record(&st, 300, 0, MT_STATE_KIND_BACKEND, 120000, 20000, 1, now + 3);
    mt_state_snapshot(&st, snap, SLOTS);
    ok(snap[0].requests == 2 && snap[0].start_ticks == 2000,
       "a record without a start time counts for the process in the slot");
    free(mem);
}

typedef struct { mt_state_t *st; int base; } job_t;

static void *APR_THREAD_FUNC hammer(apr_thread_t *t, void *data)
{
    job_t *job = data;

    for (int i = 0; i < 20000; i++) {
        mt_state_record(job->st, job->base + i % 4, 0, MT_STATE_KIND_BACKEND,
                        i, 1, 1, apr_time_now());
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_threads(apr_pool_t *p)
{
    mt_state_t st;
    void *mem = fresh_state(&st);
    apr_thread_t *th[4];
    job_t jobs[4];
    mt_proc_slot_t snap[SLOTS];
    apr_int64_t total = 0;
    unsigned int n;
    apr_status_t trv;

    for (int i = 0; i < 4; i++) {
        jobs[i].st = &st;
        jobs[i].base = 10;           /* all threads share pids 10..13 */
        apr_thread_create(&th[i], NULL, hammer, &jobs[i], p);
    }
    for (int i = 0; i < 4; i++) apr_thread_join(&trv, th[i]);
    n = mt_state_snapshot(&st, snap, SLOTS);
    is_int(n, 4, "four pids, one slot each (no duplicate claims)");
    for (unsigned int i = 0; i < n; i++) total += snap[i].requests;
    is_int(total + st.skipped, 80000, "every update applied or counted as skipped");
    printf("# %u of 80000 updates skipped for a busy lock\n", st.skipped);
    free(mem);
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_basic();
    test_reuse();
    test_threads(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
