/* Unit tests: the heap diff's attempts (src/mt_heapctl.c), driven the way
 * the module's record hook drives them, with a clock of the test's own and
 * a fake "is that process alive". A whole attempt: the ask on every
 * request, the acknowledgements, N requests of the endpoint in the one
 * process between snapshots (a request that took a snapshot ran after
 * it), the diff claimed once, the result, the stop; refusals (one runs,
 * the only process, an app's interval, no directory); the process that
 * ends or is replaced, an ask nobody answers, an error the companion
 * reports, a child that dies while diffing; on demand (ARMED), cancel, the
 * confirmation token, the results ring, the companion's error words. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "mt_tap.h"
#include "mt_heapctl.h"

#define SEC APR_USEC_PER_SEC
#define EP  7            /* the endpoint index */
#define PID 4242
#define TICKS 999

static apr_time_t now_mono = 1000 * SEC;
static int dead_pid;             /* the fake alive() says this one ended */

static int fake_alive(int pid, apr_uint64_t start_ticks)
{
    (void)start_ticks;
    return pid != dead_pid;
}

static mt_heapctl_t *fresh(mt_heapctl_params_t *params)
{
    static char *mem;
    static mt_heapctl_t hc;
    mt_heapctl_params_t p;

    free(mem);
    mem = calloc(1, mt_heapctl_bytes());
    mt_heapctl_params_default(&p);
    apr_cpystrn(p.dir, "/var/lib/memtrack/heap", sizeof(p.dir));
    p.requests = 5;
    p.timeout_sec = 60;
    if (params) p = *params;
    mt_heapctl_init(&hc, mem, &p, 0x1234);
    dead_pid = 0;
    return &hc;
}

static apr_status_t begin_ex(mt_heapctl_t *hc, int trigger, int pid,
                             int procs, const char *root, int forced, char *why)
{
    mt_heapctl_begin_t b;

    memset(&b, 0, sizeof(b));
    b.trigger = trigger;
    b.forced = forced;
    b.token = 77;
    b.endpoint = EP;
    b.endpoint_name = "HeapController#hoard";
    b.pid = pid;
    b.start_ticks = TICKS;
    b.app_root = root;
    b.app_processes = procs;
    return mt_heapctl_begin(hc, &b, apr_time_now(), now_mono, why, 300);
}

static apr_status_t begin(mt_heapctl_t *hc, int trigger, int pid, int procs,
                          const char *root, char *why)
{
    return begin_ex(hc, trigger, pid, procs, root, 0, why);
}

/* One recorded request of process pid and endpoint ep. */
static int rec(mt_heapctl_t *hc, int pid, int ep, char *msg)
{
    mt_heapctl_obs_t o;

    memset(&o, 0, sizeof(o));
    o.pid = pid;
    o.start_ticks = TICKS;
    o.endpoint = ep;
    o.heap_step = -1;
    return mt_heapctl_observe(hc, &o, apr_time_now(), now_mono, msg, 600);
}

/* ... that carries the companion's acknowledgement of step. */
static int ack(mt_heapctl_t *hc, int step, int ep, const char *error,
               char *msg)
{
    mt_heapctl_obs_t o;

    memset(&o, 0, sizeof(o));
    o.pid = PID;
    o.start_ticks = TICKS;
    o.endpoint = ep;
    o.heap_token = 77;
    o.heap_step = step;
    o.heap_gc = 100 + step;
    o.heap_bytes = 1000000 * step;
    o.heap_us = 5000;
    o.heap_error = error;
    return mt_heapctl_observe(hc, &o, apr_time_now(), now_mono, msg, 600);
}

static int state(mt_heapctl_t *hc)
{
    return hc->shm->cur.state;
}

static void test_a_whole_attempt(void)
{
    mt_heapctl_t *hc = fresh(NULL);
    mt_heapctl_attempt_t a;
    mt_heapdiff_result_t d;
    mt_heapctl_view_t *v = calloc(1, sizeof(*v));
    char why[300], msg[600], want[MT_HEAPCTL_WANT_MAX];
    int i, flags;

    ok(!mt_heapctl_want(hc, want, sizeof(want)), "idle: nothing to ask");
    is_int(begin(hc, MT_HEAPCTL_VERDICT, PID, 2, "/srv/app", why), APR_SUCCESS,
           "an attempt starts");
    is_int(state(hc), MT_HEAPCTL_ASK, "asking");
    ok(mt_heapctl_want(hc, want, sizeof(want)), "the ask");
    is_str(want, "heap=77; heap_pid=4242; heap_step=1; "
           "heap_dir=/var/lib/memtrack/heap; heap_max=1073741824",
           "names the process, the step, the directory and the size bound");
    rec(hc, PID + 1, EP, msg);
    is_int(hc->shm->cur.count, 0, "another process's requests do not count");
    flags = ack(hc, 1, EP, NULL, msg);
    ok(flags & MT_HEAPCTL_OBS_SNAP, "snapshot 1 acknowledged");
    ok(strstr(msg, "snapshot 1 taken in process 4242 (1.0 MB") != NULL,
       "and said: %s", msg);
    is_int(state(hc), MT_HEAPCTL_WAIT, "waiting");
    is_int(hc->shm->cur.count, 1, "the request that took it ran after it");
    ok(!mt_heapctl_want(hc, want, sizeof(want)), "no ask while waiting");
    is_int(ack(hc, 1, EP, NULL, msg), 0, "a repeated acknowledgement: no news");
    is_int(hc->shm->cur.count, 2, "but a request of the endpoint that ran after "
           "the snapshot: it counts");
    ack(hc, 1, EP + 1, NULL, msg);
    is_int(hc->shm->cur.count, 2, "a repeat on another endpoint does not");
    for (i = 0; i < 2; i++) rec(hc, PID, EP, msg);
    rec(hc, PID, EP + 1, msg);
    is_int(state(hc), MT_HEAPCTL_WAIT, "4 of 5 requests: still waiting");
    rec(hc, PID, EP, msg);
    is_int(state(hc), MT_HEAPCTL_ASK, "5: ask for snapshot 2");
    is_int(hc->shm->cur.step, 2, "step 2");
    rec(hc, PID, EP, msg);
    is_int(hc->shm->cur.count, 6, "a request before the ask reached it counts");
    ack(hc, 2, EP + 1, NULL, msg);
    is_int(hc->shm->cur.between[0], 6, "6 requests between 1 and 2");
    is_int(hc->shm->cur.count, 0, "the acknowledging request was another "
           "endpoint's");
    for (i = 0; i < 5; i++) rec(hc, PID, EP, msg);
    flags = ack(hc, 3, EP, NULL, msg);
    ok(flags & MT_HEAPCTL_OBS_DIFF, "snapshot 3: a diff to claim");
    is_int(hc->shm->cur.between[1], 5, "5 between 2 and 3");
    is_int(state(hc), MT_HEAPCTL_DIFF_PENDING, "pending");
    ok(rec(hc, 1, 1, msg) & MT_HEAPCTL_OBS_DIFF, "any record offers it");
    ok(mt_heapctl_claim(hc, 555, now_mono, &a), "claimed");
    ok(!mt_heapctl_claim(hc, 556, now_mono, &a), "once");
    is_int(a.snap[0].gc, 101, "with snapshot 1's GC count");
    is_int(a.snap[1].gc, 102, "and 2's");
    memset(&d, 0, sizeof(d));
    d.mode = MT_HEAPDIFF_GENERATIONS;
    d.n_rows = 1;
    d.kept_objects = 6;
    d.kept_bytes = 120246;
    apr_cpystrn(d.rows[0].class_name, "String", sizeof(d.rows[0].class_name));
    apr_cpystrn(d.rows[0].file, "app/x.rb", sizeof(d.rows[0].file));
    d.rows[0].line = 15;
    d.rows[0].count = 6;
    mt_heapctl_finish(hc, 78, APR_SUCCESS, &d, NULL, 0, 1, now_mono);
    is_int(state(hc), MT_HEAPCTL_DIFFING, "a stale token's end is ignored");
    mt_heapctl_finish(hc, 77, APR_SUCCESS, &d, "snapshots removed", 0, 1,
                      now_mono);
    is_int(state(hc), MT_HEAPCTL_STOP, "done, snapshots left: the process is "
           "asked to remove them");
    mt_heapctl_want(hc, want, sizeof(want));
    ok(strstr(want, "heap_step=0") != NULL, "step 0: stop, remove");
    ack(hc, 0, 3, NULL, msg);
    is_int(state(hc), MT_HEAPCTL_IDLE, "idle once it did");
    /* the same app again within its interval: forced (test_interval) */
    is_int(begin_ex(hc, MT_HEAPCTL_DEMAND, PID, 2, "/srv/app", 1, why),
           APR_SUCCESS, "on demand, forced");
    for (i = 1; i <= 3; i++) {
        int k;
        ack(hc, i, EP, NULL, msg);
        for (k = 0; k < 5; k++) rec(hc, PID, EP, msg);
    }
    mt_heapctl_claim(hc, 555, now_mono, &a);
    mt_heapctl_finish(hc, 77, APR_SUCCESS, &d, "snapshots removed", 1, 1,
                      now_mono);
    is_int(state(hc), MT_HEAPCTL_IDLE, "done, snapshots removed: idle at once");
    is_int(mt_heapctl_copy(hc, v), APR_SUCCESS, "a copy for the page");
    is_int(v->n_results, 2, "two results");
    is_int(v->results[0].a.outcome, MT_HEAPCTL_DONE, "done");
    is_str(v->results[0].a.message, "kept 6 objects, 120246 bytes; first String "
           "at app/x.rb:15, 6 objects; snapshots removed", "its message");
    is_int(v->results[0].diff.kept_bytes, 120246, "its diff");
    is_int(v->done, 2, "counted done");
    free(v);
}

static void test_refusals(void)
{
    mt_heapctl_params_t p;
    mt_heapctl_t *hc = fresh(NULL);
    char why[300];

    is_int(begin(hc, MT_HEAPCTL_VERDICT, PID, 1, "/srv/app", why), APR_EINVAL,
           "the only process of its app");
    ok(strstr(why, "only process of its app (/srv/app)") != NULL, "%s", why);
    is_int(begin(hc, MT_HEAPCTL_VERDICT, PID, 2, "/srv/app", why), APR_SUCCESS,
           "two processes: fine");
    is_int(begin(hc, MT_HEAPCTL_DEMAND, PID + 1, 2, "/srv/other", why),
           APR_EBUSY, "one at a time");
    ok(strstr(why, "an attempt runs already (HeapController#hoard, process "
              "4242, asking)") != NULL, "%s", why);
    mt_heapctl_cancel(hc, "test", 1, now_mono);
    ack(hc, 0, 0, NULL, why);
    is_int(state(hc), MT_HEAPCTL_IDLE, "cancelled and stopped");
    ok(!mt_heapctl_may_start(hc, "/srv/app", now_mono), "the app's interval");
    ok(mt_heapctl_may_start(hc, "/srv/other", now_mono), "another app may");
    is_int(begin(hc, MT_HEAPCTL_VERDICT, PID, 2, "/srv/app", why), APR_EAGAIN,
           "a verdict within the interval");
    ok(strstr(why, "MemTrackHeapDiffInterval is 3600 s") != NULL, "%s", why);
    ok(strstr(why, "force=1") == NULL, "no force for an automatic one: %s", why);
    is_int(begin_ex(hc, MT_HEAPCTL_VERDICT, PID, 2, "/srv/app", 0, why),
           APR_EAGAIN, "a verdict within the interval");
    is_int(begin(hc, MT_HEAPCTL_DEMAND, PID, 2, "/srv/app", why), APR_EAGAIN,
           "on demand within the interval too");
    is_str(why, "app /srv/app had a heap diff 0 s ago; MemTrackHeapDiffInterval "
           "is 3600 s (force=1 starts one anyway)", "says so, and how to force");
    is_int(state(hc), MT_HEAPCTL_IDLE, "nothing started");
    is_int(begin_ex(hc, MT_HEAPCTL_DEMAND, PID, 2, "/srv/app", 1, why),
           APR_SUCCESS, "on demand with force: within the interval");
    ok(hc->shm->cur.forced, "forced");
    mt_heapctl_cancel(hc, "test", 1, now_mono);
    ack(hc, 0, 0, NULL, why);
    now_mono += 3601 * SEC;
    ok(mt_heapctl_may_start(hc, "/srv/app", now_mono), "after the interval");
    mt_heapctl_params_default(&p);
    hc = fresh(&p);
    is_int(begin(hc, MT_HEAPCTL_DEMAND, PID, 2, "/srv/app", why), APR_EINVAL,
           "no directory");
    is_str(why, "MemTrackHeapDiffDir is not set", "says so");
    ok(!mt_heapctl_may_start(hc, "/srv/app", now_mono), "and never may");
}

/* The attempt's failure, archived: the newest result's message. */
static const char *last_message(mt_heapctl_t *hc)
{
    static mt_heapctl_view_t v;

    mt_heapctl_copy(hc, &v);
    return v.n_results ? v.results[0].a.message : "";
}

static void test_failures(void)
{
    mt_heapctl_t *hc = fresh(NULL);
    mt_heapctl_obs_t o;
    char why[300], msg[600];

    /* the process ends */
    begin(hc, MT_HEAPCTL_VERDICT, PID, 2, "/a", why);
    ack(hc, 1, EP, NULL, msg);
    dead_pid = PID;
    now_mono += 2 * SEC;
    ok(mt_heapctl_tick(hc, 1, now_mono, fake_alive, msg, sizeof(msg))
       & MT_HEAPCTL_OBS_MSG, "a process that ended");
    is_str(msg, "process 4242 ended before snapshot 2 (did Passenger replace "
           "it?): no diff", "is named");
    is_int(state(hc), MT_HEAPCTL_IDLE, "no stop asked of a dead process");
    /* replaced: the same pid, another start time */
    hc = fresh(NULL);
    begin(hc, MT_HEAPCTL_DEMAND, PID, 2, "/a", why);
    memset(&o, 0, sizeof(o));
    o.pid = PID;
    o.start_ticks = TICKS + 1;
    o.heap_step = -1;
    mt_heapctl_observe(hc, &o, 1, now_mono, msg, sizeof(msg));
    ok(strstr(msg, "process 4242 was replaced") != NULL, "%s", msg);
    /* nobody answers */
    hc = fresh(NULL);
    begin(hc, MT_HEAPCTL_DEMAND, PID, 2, "/a", why);
    now_mono += 30 * SEC;
    is_int(mt_heapctl_tick(hc, 1, now_mono, fake_alive, msg, sizeof(msg)), 0,
           "30 s: still asking");
    now_mono += 31 * SEC;
    mt_heapctl_tick(hc, 1, now_mono, fake_alive, msg, sizeof(msg));
    ok(strstr(msg, "did not take snapshot 1 in 61 s") != NULL, "%s", msg);
    is_int(state(hc), MT_HEAPCTL_STOP, "stop asked (it may be tracing)");
    now_mono += 61 * SEC;
    mt_heapctl_tick(hc, 1, now_mono, fake_alive, msg, sizeof(msg));
    is_int(state(hc), MT_HEAPCTL_IDLE, "a stop nobody answers ends too");
    /* too few requests */
    hc = fresh(NULL);
    begin(hc, MT_HEAPCTL_DEMAND, PID, 2, "/a", why);
    ack(hc, 1, EP, NULL, msg);
    now_mono += 61 * SEC;
    mt_heapctl_tick(hc, 1, now_mono, fake_alive, msg, sizeof(msg));
    ok(strstr(msg, "only 1 of 5 requests of HeapController#hoard reached "
              "process 4242") != NULL, "%s", msg);
    /* the companion's error */
    hc = fresh(NULL);
    begin(hc, MT_HEAPCTL_DEMAND, PID, 2, "/a", why);
    ok(ack(hc, 1, EP, "nospace", msg) & MT_HEAPCTL_OBS_MSG, "an error");
    is_str(last_message(hc), "process 4242 could not take snapshot 1: no "
           "space left in MemTrackHeapDiffDir (its disk or quota is full); "
           "the cut snapshot was removed (heap_error=nospace)", "in words");
    is_int(state(hc), MT_HEAPCTL_IDLE, "the companion cleaned up itself");
    is_str(mt_heapctl_error_words("bogus"), "an error the module does not know",
           "an unknown code");
}

/* On demand without a process named: the interval is checked when a
 * request names it. */
static void test_interval_armed(void)
{
    mt_heapctl_t *hc = fresh(NULL);
    char why[300], msg[600];

    begin(hc, MT_HEAPCTL_VERDICT, PID, 2, "/srv/app", why);
    mt_heapctl_cancel(hc, "test", 1, now_mono);
    ack(hc, 0, 0, NULL, msg);
    now_mono += 600 * SEC;
    is_int(begin(hc, MT_HEAPCTL_DEMAND, 0, 0, NULL, why), APR_SUCCESS,
           "armed: the app is not known yet");
    is_int(mt_heapctl_target(hc, PID, TICKS, "/srv/app", 2, now_mono, why, 300),
           APR_EINVAL, "its process is of an app within its interval");
    is_str(why, "app /srv/app had a heap diff 600 s ago; "
           "MemTrackHeapDiffInterval is 3600 s (force=1 starts one anyway)",
           "says so");
    is_int(state(hc), MT_HEAPCTL_IDLE, "the attempt ends");
    is_str(last_message(hc), why, "failed, with that message");
    is_int(begin_ex(hc, MT_HEAPCTL_DEMAND, 0, 0, NULL, 1, why), APR_SUCCESS,
           "armed, forced");
    is_int(mt_heapctl_target(hc, PID, TICKS, "/srv/app", 2, now_mono, why, 300),
           APR_SUCCESS, "forced: the interval does not apply");
    is_int(state(hc), MT_HEAPCTL_ASK, "asking");
    now_mono += 3599 * SEC;
    mt_heapctl_cancel(hc, "test", 1, now_mono);
    ack(hc, 0, 0, NULL, msg);
    is_int(begin(hc, MT_HEAPCTL_DEMAND, PID, 2, "/srv/app", why), APR_EAGAIN,
           "a forced attempt counts for the interval too");
    now_mono += 1 * SEC;
    is_int(begin(hc, MT_HEAPCTL_DEMAND, PID, 2, "/srv/app", why), APR_SUCCESS,
           "after the interval, on demand: fine");
}

static void test_diff_owner_dies(void)
{
    mt_heapctl_t *hc = fresh(NULL);
    mt_heapctl_attempt_t a;
    char why[300], msg[600];
    int i;

    begin(hc, MT_HEAPCTL_DEMAND, PID, 2, "/a", why);
    ack(hc, 1, EP, NULL, msg);
    for (i = 0; i < 5; i++) rec(hc, PID, EP, msg);
    ack(hc, 2, EP, NULL, msg);
    for (i = 0; i < 5; i++) rec(hc, PID, EP, msg);
    ack(hc, 3, EP, NULL, msg);
    mt_heapctl_claim(hc, 600, now_mono, &a);
    mt_heapctl_release(hc, 77);
    is_int(state(hc), MT_HEAPCTL_DIFF_PENDING, "released by an exiting child");
    mt_heapctl_claim(hc, 601, now_mono, &a);
    dead_pid = 601;
    now_mono += 2 * SEC;
    ok(mt_heapctl_tick(hc, 1, now_mono, fake_alive, msg, sizeof(msg))
       & MT_HEAPCTL_OBS_MSG, "two children died diffing");
    ok(strstr(msg, "the httpd children that ran the diff ended") != NULL,
       "%s", msg);
}

static void test_demand_cancel_confirm(void)
{
    mt_heapctl_t *hc = fresh(NULL);
    apr_uint64_t c = mt_heapctl_confirm(hc);
    char why[300], msg[600];
    int i;

    is_int(begin(hc, MT_HEAPCTL_DEMAND, 0, 0, NULL, why), APR_SUCCESS,
           "on demand, no process named");
    is_int(state(hc), MT_HEAPCTL_ARMED, "armed");
    is_int(rec(hc, PID, EP + 1, msg), 0, "another endpoint: nothing");
    ok(rec(hc, PID, EP, msg) & MT_HEAPCTL_OBS_ARMED, "its endpoint: aim");
    is_int(mt_heapctl_target(hc, PID, TICKS, "/srv/app", 1, now_mono, why, 300),
           APR_EINVAL, "the only process, not forced");
    is_int(state(hc), MT_HEAPCTL_IDLE, "ends the attempt");
    begin(hc, MT_HEAPCTL_DEMAND, 0, 0, NULL, why);
    is_int(mt_heapctl_target(hc, PID, TICKS, "/srv/app", 2, now_mono, why, 300),
           APR_SUCCESS, "two processes");
    is_int(state(hc), MT_HEAPCTL_ASK, "asking that one");
    is_str(hc->shm->cur.app_root, "/srv/app", "its app");
    is_int(mt_heapctl_cancel(hc, "cancelled on the status page", 1, now_mono),
           APR_SUCCESS, "cancel");
    is_int(state(hc), MT_HEAPCTL_STOP, "stop asked");
    is_int(mt_heapctl_cancel(hc, "again", 1, now_mono), APR_NOTFOUND,
           "nothing more to cancel");
    is_str(last_message(hc), "cancelled on the status page", "the message");
    ok(!mt_heapctl_confirm_use(hc, c + 1, 5), "a wrong token");
    ok(mt_heapctl_confirm_use(hc, c, 5), "the token shown");
    ok(!mt_heapctl_confirm_use(hc, c, 6), "is good once");
    is_int(mt_heapctl_confirm(hc), 5, "the next one");
    for (i = 0; i < MT_HEAPCTL_RESULTS + 3; i++) {
        ack(hc, 0, 0, NULL, msg);
        begin(hc, MT_HEAPCTL_DEMAND, 0, 0, NULL, why);
        mt_heapctl_cancel(hc, "c", 1, now_mono);
    }
    {
        mt_heapctl_view_t *v = calloc(1, sizeof(*v));
        mt_heapctl_copy(hc, v);
        is_int(v->n_results, MT_HEAPCTL_RESULTS, "the ring keeps the last 8");
        is_int(v->cancelled, MT_HEAPCTL_RESULTS + 4, "and counts them all");
        free(v);
    }
}

static void test_names_and_paths(void)
{
    char buf[256];

    is_str(mt_heapctl_path(buf, sizeof(buf), "/d", 12, 34, 3),
           "/d/memtrack-heap-12-34-3.json", "a snapshot's file");
    is_str(mt_heapctl_state_name(MT_HEAPCTL_DIFFING), "diffing", "a state");
    is_str(mt_heapctl_outcome_name(MT_HEAPCTL_CANCELLED), "cancelled", "outcome");
    is_str(mt_heapctl_trigger_name(MT_HEAPCTL_DEMAND), "demand", "trigger");
    is_int(mt_heapctl_app_root((int)getpid(), buf, sizeof(buf)), APR_EINVAL,
           "this test is no Passenger app");
}

int main(void)
{
    apr_initialize();
    test_a_whole_attempt();
    test_refusals();
    test_failures();
    test_interval_armed();
    test_diff_owner_dies();
    test_demand_cancel_confirm();
    test_names_and_paths();
    apr_terminate();
    return done_testing();
}
