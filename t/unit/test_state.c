/* Unit tests: the shared state (processes, endpoints, probes), also under
 * threads. */
#include <sched.h>
#include <stdlib.h>
#include <apr_general.h>
#include <apr_thread_proc.h>
#include "mt_tap.h"
#include "mt_sample.h"
#include "mt_state.h"
#include "mt_util.h"

#define SLOTS 8

/* A zeroed state of SLOTS process slots and eps endpoints; free() it. */
static void *fresh_state(mt_state_t *st, unsigned int eps)
{
    mt_state_params_t prm;
    void *mem;

    mt_state_params_default(&prm);
    prm.procs = SLOTS;
    prm.endpoints = eps;
    mem = calloc(1, mt_state_bytes(&prm));
    mt_state_init(st, mem, &prm, apr_time_now(), NULL);
    return mem;
}

/* The old interface, in notes: one request of pid with after rss, growth. */
static apr_status_t record(mt_state_t *st, int pid, apr_uint64_t start,
                           apr_int64_t rss, apr_int64_t growth, int known,
                           apr_time_t now)
{
    mt_note_t in;

    mt_note_clear(&in);
    in.endpoint = "GET /";
    in.pid = pid;
    in.start_ticks = start;
    in.kind = MT_STATE_KIND_BACKEND;
    in.rss_after = rss;
    in.rss_before = known ? rss - growth : MT_UNKNOWN;
    in.now = now;
    return mt_state_note(st, &in, NULL);
}

static unsigned int snap(mt_state_t *st, mt_proc_slot_t *out)
{
    return mt_state_copy_procs(st, out, NULL, SLOTS, NULL);
}

static void test_basic(void)
{
    mt_state_t st;
    void *mem = fresh_state(&st, 16);
    apr_int64_t rss = 0;
    mt_proc_slot_t s[SLOTS];
    apr_time_t now = apr_time_now();

    ok(mt_state_last_rss(&st, 100, 0, &rss) == APR_NOTFOUND, "unknown pid");
    ok(record(&st, 100, 0, 5000, 0, 0, now) == APR_SUCCESS, "record");
    ok(mt_state_last_rss(&st, 100, 0, &rss) == APR_SUCCESS && rss == 5000, "last rss");
    record(&st, 100, 0, 9000, 4000, 1, now + 1);
    record(&st, 100, 0, 7000, -2000, 1, now + 2);
    is_int(snap(&st, s), 1, "one slot in use");
    is_int(s[0].requests, 3, "requests counted");
    is_int(s[0].peak_rss_bytes, 9000, "peak");
    is_int(s[0].first_rss_bytes, 5000, "first");
    is_int(s[0].growth_sum_bytes, 2000, "growth sum (unknown not added)");
    ok(record(&st, 0, 0, 1, 0, 0, now) == APR_EINVAL, "pid 0 refused");
    for (int pid = 1; pid <= SLOTS; pid++) {
        record(&st, 1000 + pid, 0, pid, 0, 0, now + 10 + pid);
    }
    ok(mt_state_last_rss(&st, 100, 0, &rss) == APR_NOTFOUND, "least recently seen evicted");
    ok(mt_state_last_rss(&st, 1000 + SLOTS, 0, &rss) == APR_SUCCESS && rss == SLOTS,
       "newest kept");
    /* A lock left by a dead holder long ago is broken, not waited on. */
    st.slots[0].lock = (apr_uint32_t)apr_time_sec(mt_mono_now()) - 100;
    ok(record(&st, st.slots[0].pid, 0, 1, 0, 0, now + 20) == APR_SUCCESS,
       "stale lock broken");
    st.slots[0].lock = (apr_uint32_t)apr_time_sec(mt_mono_now()) + 1;
    ok(record(&st, st.slots[0].pid, 0, 1, 0, 0, now) == APR_EAGAIN,
       "fresh lock: skipped, not waited on");
    is_int(st.hdr->skipped, 1, "skip counted");
    free(mem);
}

/* A pid reused by a newer process: the slot starts over for it, and the
 * dead process's last sample is never the new one's "previous". */
static void test_reuse(void)
{
    mt_state_t st;
    void *mem = fresh_state(&st, 16);
    apr_int64_t rss = 0;
    mt_proc_slot_t s[SLOTS];
    apr_time_t now = apr_time_now();
    apr_uint32_t gen;

    record(&st, 300, 1000, 900000, 0, 0, now);
    record(&st, 300, 1000, 950000, 50000, 1, now + 1);
    ok(mt_state_last_rss(&st, 300, 1000, &rss) == APR_SUCCESS && rss == 950000,
       "same process: previous sample");
    ok(mt_state_last_rss(&st, 300, 0, &rss) == APR_SUCCESS && rss == 950000,
       "start time unknown to the asker: matches");
    ok(mt_state_last_rss(&st, 300, 2000, &rss) == APR_NOTFOUND,
       "same pid, later start: not that process");
    snap(&st, s);
    gen = s[0].gen;
    record(&st, 300, 2000, 100000, 0, 0, now + 2);
    is_int(snap(&st, s), 1, "still one slot for the pid");
    is_int(s[0].requests, 1, "the new process's requests only");
    is_int(s[0].first_rss_bytes, 100000, "its first sample");
    is_int(s[0].peak_rss_bytes, 100000, "its peak, not the dead one's");
    is_int(s[0].growth_sum_bytes, 0, "its growth only");
    is_int(s[0].start_ticks, 2000, "its start time");
    ok(s[0].gen == gen + 1, "a new generation of the slot");
    ok(mt_state_last_rss(&st, 300, 1000, &rss) == APR_NOTFOUND, "the dead process is gone");
    record(&st, 300, 0, 120000, 20000, 1, now + 3);
    snap(&st, s);
    ok(s[0].requests == 2 && s[0].start_ticks == 2000,
       "a record without a start time counts for the process in the slot");
    free(mem);
}

/* The history keeps MT_HIST_POINTS points spread over the whole life. */
static void test_history(void)
{
    mt_state_t st;
    void *mem = fresh_state(&st, 16);
    mt_proc_slot_t s[SLOTS];
    apr_time_t now = apr_time_now();
    int i, spaced = 1;

    for (i = 1; i <= 10000; i++) {
        record(&st, 42, 7, 1000000 + i * 100, 100, 1, now + i);
    }
    snap(&st, s);
    ok(s[0].hist_n >= MT_HIST_POINTS / 2 && s[0].hist_n <= MT_HIST_POINTS,
       "between half and all of the points in use");
    for (i = 1; i < (int)s[0].hist_n; i++) {
        spaced &= s[0].hist[i].requests - s[0].hist[i - 1].requests
                  == (apr_int64_t)s[0].hist_width;
    }
    ok(spaced, "evenly spaced, width %u", s[0].hist_width);
    ok(s[0].hist[s[0].hist_n - 1].requests > 10000 - (int)s[0].hist_width,
       "the last point is recent");
    ok(s[0].hist[0].requests <= (apr_int64_t)s[0].hist_width,
       "the first point is from the start of the life");
    is_int(s[0].hist[0].rss_bytes, 1000000 + s[0].hist[0].requests * 100,
           "a point holds the sample of its request");
    free(mem);
}

/* A note of an app process's request, where it stands in its process
 * (order, MT_UNKNOWN when not known). */
static void note_at(mt_state_t *st, const char *ep, int pid, apr_int64_t before,
                    apr_int64_t after, apr_int64_t order, apr_time_t now,
                    mt_note_out_t *out)
{
    mt_note_t in;

    mt_note_clear(&in);
    in.endpoint = ep;
    in.request_id = "req-1";
    in.pid = pid;
    in.start_ticks = 9;
    in.kind = MT_STATE_KIND_BACKEND;
    in.exclusive = 1;
    in.before_own = 1;
    in.rss_before = before;
    in.rss_after = after;
    in.order = order;
    in.now = now;
    mt_state_note(st, &in, out);
}

static void note_ep(mt_state_t *st, const char *ep, int pid, apr_int64_t before,
                    apr_int64_t after, apr_time_t now, mt_note_out_t *out)
{
    note_at(st, ep, pid, before, after, MT_UNKNOWN, now, out);
}

static void test_endpoints(void)
{
    mt_state_t st;
    void *mem = fresh_state(&st, 3);
    mt_ep_slot_t e[8];
    mt_note_out_t out;
    apr_time_t now = apr_time_now();
    unsigned int n, i;

    note_ep(&st, "A#a", 50, 1000, 2000, now, &out);
    ok(out.endpoint == 1 && out.first_call, "first endpoint, first call");
    note_ep(&st, "A#a", 50, 2000, 2000, now, &out);
    ok(out.endpoint == 1 && !out.first_call, "second call: not first");
    note_ep(&st, "A#a", 51, 2000, 2500, now, &out);
    ok(out.first_call, "first call in another process");
    note_ep(&st, "B#b", 50, 2000, 2000, now, NULL);
    note_ep(&st, "C#c", 50, 2000, 2000, now, NULL);
    note_ep(&st, "D#d", 50, 2000, 2000, now, &out);
    is_int(out.endpoint, 0, "beyond the bound: other");
    is_int(mt_state_endpoint(&st, "D#d", 0, now), -1, "and never named");
    is_int(st.hdr->ep_overflow, 1, "overflow counted");
    n = mt_state_copy_endpoints(&st, e, NULL, 8, NULL);
    is_int(n, 4, "other and three named");
    for (i = 0; i < n; i++) {
        if (!strcmp(e[i].name, "A#a")) {
            is_int(e[i].requests, 3, "A#a requests");
            is_int(e[i].first_calls, 2, "A#a first calls (two processes)");
            is_int(e[i].first_growth_bytes, 1500, "their growth");
            is_int(e[i].growth_sum_bytes, 1500, "growth sum");
        }
    }
    mt_state_hint_set(&st, 0xABCDE123u, 2);
    is_int(mt_state_hint_get(&st, 0xABCDE123u), 2, "hint kept");
    is_int(mt_state_hint_get(&st, 0x12345123u), -1, "same bucket, other hash: none");
    is_int(mt_state_priority(&st, -1), 256, "unknown endpoint weighs most");
    free(mem);
}

/* A first call whose note comes after the process's next calls of the
 * endpoint (its client read the answer slowly): the order of the notes
 * gives the first call its mark back, and its one-time load stays a first
 * call's growth, not a later step. */
static void note_ord(mt_state_t *st, const char *ep, int pid, apr_int64_t order,
                     apr_int64_t growth, apr_time_t now, mt_note_out_t *out)
{
    note_at(st, ep, pid, 50000000, 50000000 + growth, order, now, out);
}

static const mt_ep_slot_t *ep_named(const mt_ep_slot_t *e, unsigned int n,
                                    const char *name)
{
    unsigned int i;
    for (i = 0; i < n; i++) {
        if (!strcmp(e[i].name, name)) return &e[i];
    }
    return NULL;
}

static void test_first_out_of_order(void)
{
    mt_state_t st;
    void *mem = fresh_state(&st, 4);
    mt_ep_slot_t e[8];
    const mt_ep_slot_t *a, *b;
    mt_note_out_t out;
    apr_time_t now = apr_time_now();
    unsigned int n;

    /* process 60: B#b's first call (order 100) loads 30 MB; its note comes
     * third, after its second and third calls (orders 200, 300) */
    note_ord(&st, "B#b", 60, 200, 0, now, &out);
    ok(out.first_call, "the first note of B#b is marked first, for now");
    note_ord(&st, "B#b", 60, 300, 4096, now, &out);
    ok(!out.first_call, "the next one is not");
    note_ord(&st, "B#b", 60, 100, 30 << 20, now, &out);
    ok(out.first_call, "the late note that stands first takes the mark");
    note_ord(&st, "B#b", 60, 50, 0, now, &out);
    ok(out.first_call, "and gives it up to one that stands before it");
    note_ord(&st, "B#b", 60, 400, 0, now, &out);
    ok(!out.first_call, "later notes are not first");
    /* a note without an order is never moved */
    note_ord(&st, "A#a", 61, MT_UNKNOWN, 0, now, &out);
    note_ord(&st, "A#a", 61, MT_UNKNOWN, 30 << 20, now, &out);
    ok(!out.first_call, "without an order, the first note stays first");
    /* another process's first call is its own */
    note_ord(&st, "B#b", 62, 900, 1000, now, &out);
    ok(out.first_call, "another process's first call");

    n = mt_state_copy_endpoints(&st, e, NULL, 8, NULL);
    a = ep_named(e, n, "A#a");
    b = ep_named(e, n, "B#b");
    ok(a && b, "both endpoints there");
    if (a && b) {
        is_int(b->requests, 6, "B#b requests");
        is_int(b->first_calls, 2, "B#b: one first call in each of two processes");
        is_int(b->first_growth_bytes, 1000, "their growth: the true first "
               "calls' (0 in 60, 1000 in 62)");
        is_int(b->steps, 1, "the 30 MB call is a later step: its order says "
               "it came after order 50");
        is_int(b->growth_pos_sum_bytes, (30 << 20) + 4096 + 1000,
               "positive growth unchanged");
        is_int(a->first_calls, 1, "A#a: one first call");
        is_int(a->steps, 1, "and one step");
    }
    free(mem);
}

static void test_gaps_and_blame(void)
{
    mt_state_t st;
    void *mem = fresh_state(&st, 16);
    mt_proc_slot_t s[SLOTS];
    mt_ep_slot_t e[4];
    apr_time_t now = apr_time_now();
    apr_int64_t rss = 10 << 20;
    int i;

    for (i = 0; i < 100; i++) {
        /* 4 KiB grow between requests; every 10th request raises 1 MiB */
        apr_int64_t before = rss + 4096;
        rss = before + (i % 10 == 9 ? (1 << 20) : 0);
        note_ep(&st, i % 10 == 9 ? "Big#raise" : "Small#x", 77, before, rss,
                now + (apr_time_t)i * 100000, NULL);
    }
    snap(&st, s);
    is_int(s[0].gap_n, 99, "a gap per request but the first");
    is_int((apr_int64_t)s[0].gap_sum_bytes, 99 * 4096, "gaps summed");
    is_int(s[0].blame_n, 10, "every 1 MiB raise blamed (the 4 KiB ones are not)");
    is_str(s[0].blame[(s[0].blame_next + MT_BLAME_MAX - 1) % MT_BLAME_MAX].request_id,
           "req-1", "the request id is kept");
    mt_state_copy_endpoints(&st, e, NULL, 4, NULL);
    for (i = 0; i < 3; i++) {
        if (!strcmp(e[i].name, "Big#raise")) {
            is_int(e[i].blames, 10, "blames counted for the endpoint");
            ok(e[i].blame_bytes >= 10 << 20, "and the bytes raised");
        }
    }
    free(mem);
}

static void probe_note(mt_state_t *st, const char *ep, int pid,
                       apr_uint64_t started, apr_uint64_t done,
                       apr_int64_t bytes, apr_time_t now, mt_note_out_t *out)
{
    mt_note_t in;

    mt_note_clear(&in);
    in.endpoint = ep;
    in.pid = pid;
    in.kind = MT_STATE_KIND_BACKEND;
    in.rss_before = 1000;
    in.rss_after = 1000;
    in.now = now;
    in.probe_started = started;
    in.probe_done = done;
    in.probe_bytes = bytes;
    in.probe_objects = bytes / 100;
    mt_state_note(st, &in, out);
}

static void test_probes(void)
{
    mt_state_t st;
    void *mem = fresh_state(&st, 16);
    mt_note_out_t out;
    mt_ep_slot_t e;
    apr_time_t now = apr_time_now();
    int i, leak;

    for (i = 0; i < 30; i++) {       /* past the warm-up */
        probe_note(&st, "Warm#up", 60, 0, 0, 0, now, NULL);
    }
    probe_note(&st, "L#leak", 60, 0, 0, 0, now, NULL);  /* not a first call */
    probe_note(&st, "L#leak", 60, 1234, 0, 0, now, &out);
    ok(!out.probe_accepted, "a probe started is not a result");
    probe_note(&st, "F#flat", 60, 0, 1234, 50000, now + 1, &out);
    ok(out.probe_accepted && !out.probe_warmup, "the matching result counts");
    is_str(out.probe_endpoint, "L#leak", "for the endpoint it was started on");
    probe_note(&st, "F#flat", 60, 0, 1234, 50000, now + 2, &out);
    ok(!out.probe_accepted, "the same token twice: not counted");
    probe_note(&st, "F#flat", 60, 0, 999, 50000, now + 3, &out);
    ok(!out.probe_accepted, "a token never given: not counted");
    is_int(st.hdr->probes_refused, 1, "the first refused once the second "
           "replaced it as an early result");
    /* A result logged before the record of the request it measured (a
     * slow client held that record up): counted when the record comes. */
    probe_note(&st, "F#flat", 60, 0, 88, 64000, now + 3, &out);
    ok(!out.probe_accepted, "an early result waits");
    probe_note(&st, "E#early", 60, 0, 0, 0, now + 3, NULL);
    probe_note(&st, "E#early", 60, 88, 0, 0, now + 3, &out);
    ok(out.probe_accepted && !strcmp(out.probe_endpoint, "E#early"),
       "and counts for the request that started it");
    probe_note(&st, "L#leak", 61, 55, 0, 0, now, NULL);   /* process 61 */
    probe_note(&st, "L#leak", 60, 0, 55, 70000, now + 4, &out);
    ok(!out.probe_accepted, "another process's token: refused");
    probe_note(&st, "F#flat", 61, 0, 55, 10, now + 5, &out);
    ok(out.probe_accepted && out.probe_warmup,
       "a probe on a process's first call is a warm-up result");
    probe_note(&st, "L#leak", 60, 77, 0, 0, now, NULL);
    probe_note(&st, "F#flat", 60, 0, 77, 10, now + MT_PROBE_MAX_AGE + 1, &out);
    ok(!out.probe_accepted, "a result older than the limit: dropped");
    leak = mt_state_endpoint(&st, "L#leak", 0, now);
    ok(mt_state_copy_endpoint(&st, leak, &e) == APR_SUCCESS, "copy");
    is_int(e.probes, 1, "one steady result");
    is_int(e.probes_warmup, 1, "one warm-up result");
    is_int(e.ring[0].bytes, 50000, "its bytes");
    is_int(e.ring[0].objects, 500, "its objects");
    leak = mt_state_endpoint(&st, "E#early", 0, now);
    ok(mt_state_copy_endpoint(&st, leak, &e) == APR_SUCCESS
       && e.probes == 1 && e.ring[0].bytes == 64000,
       "the early result's own figures");
    free(mem);
}

static void test_pick(void)
{
    volatile apr_uint32_t credit = 0;
    unsigned int i, picked = 0, low = 0;
    apr_uint32_t r = 12345;

    for (i = 0; i < 100000; i++) {
        r = r * 1103515245u + 12345u;
        picked += mt_state_probe_pick(&credit, 100, 256, r >> 8);
    }
    ok(picked >= 990 && picked <= 1000, "weight 256: 1 in 100 (%u)", picked);
    credit = 0;
    for (i = 0; i < 100000; i++) {
        r = r * 1103515245u + 12345u;
        low += mt_state_probe_pick(&credit, 100, 32, r >> 8);
    }
    ok(low <= 1000 && low > 500, "weight 32: never more, credit kept (%u)", low);
    credit = 0;
    for (picked = 0, i = 0; i < 10000; i++) {
        picked += mt_state_probe_pick(&credit, 0, 256, 0);
    }
    is_int(picked, 0, "rate 0: never");
}

static void test_reinit(void)
{
    mt_state_params_t prm;
    mt_state_t st;
    void *mem;
    int kept = -1;
    apr_int64_t rss;

    mt_state_params_default(&prm);
    prm.procs = SLOTS;
    prm.endpoints = 16;
    mem = calloc(1, mt_state_bytes(&prm));
    mt_state_init(&st, mem, &prm, apr_time_now(), &kept);
    is_int(kept, 0, "fresh memory: laid out");
    record(&st, 5, 0, 4242, 0, 0, apr_time_now());
    mt_state_init(&st, mem, &prm, apr_time_now(), &kept);
    is_int(kept, 1, "same layout (graceful restart): kept");
    ok(mt_state_last_rss(&st, 5, 0, &rss) == APR_SUCCESS && rss == 4242,
       "and what it held");
    prm.endpoints = 8;
    mt_state_init(&st, mem, &prm, apr_time_now(), &kept);
    is_int(kept, 0, "another layout: starts over");
    ok(mt_state_last_rss(&st, 5, 0, &rss) == APR_NOTFOUND, "empty");
    free(mem);
}

typedef struct { mt_state_t *st; int base; } job_t;

static void *APR_THREAD_FUNC hammer(apr_thread_t *t, void *data)
{
    job_t *job = data;
    char ep[32];
    mt_note_t in;

    for (int i = 0; i < 20000; i++) {
        mt_note_clear(&in);
        snprintf(ep, sizeof(ep), "E#%d", i % 7);
        in.endpoint = ep;
        in.pid = job->base + i % 4;
        in.kind = MT_STATE_KIND_BACKEND;
        in.rss_before = i;
        in.rss_after = i + 1;
        in.now = apr_time_now();
        mt_state_note(job->st, &in, NULL);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_threads(apr_pool_t *p)
{
    mt_state_t st;
    void *mem = fresh_state(&st, 16);
    apr_thread_t *th[4];
    job_t jobs[4];
    mt_proc_slot_t s[SLOTS];
    mt_ep_slot_t e[20];
    apr_int64_t total = 0, etotal = 0;
    unsigned int n;
    apr_status_t trv;

    for (int i = 0; i < 4; i++) {
        jobs[i].st = &st;
        jobs[i].base = 10;           /* all threads share pids 10..13 */
        apr_thread_create(&th[i], NULL, hammer, &jobs[i], p);
    }
    for (int i = 0; i < 4; i++) apr_thread_join(&trv, th[i]);
    n = snap(&st, s);
    is_int(n, 4, "four pids, one slot each (no duplicate claims)");
    for (unsigned int i = 0; i < n; i++) total += s[i].requests;
    n = mt_state_copy_endpoints(&st, e, NULL, 20, NULL);
    is_int(n, 7, "seven endpoints, one slot each");
    for (unsigned int i = 0; i < n; i++) etotal += e[i].requests;
    ok(total + etotal + st.hdr->skipped == 160000,
       "every update applied or counted as skipped (%u skipped)", st.hdr->skipped);
    free(mem);
}

/* A state of procs process slots (the pid index's tests). */
static void *sized_state(mt_state_t *st, unsigned int procs)
{
    mt_state_params_t prm;
    void *mem;

    mt_state_params_default(&prm);
    prm.procs = procs;
    prm.endpoints = 16;
    mem = calloc(1, mt_state_bytes(&prm));
    mt_state_init(st, mem, &prm, apr_time_now(), NULL);
    return mem;
}

/* No two slots hold one pid. */
static int duplicates(const mt_state_t *st)
{
    int d = 0;

    for (unsigned int i = 0; i < st->n; i++) {
        for (unsigned int j = i + 1; j < st->n && st->slots[i].pid; j++) {
            d += st->slots[i].pid == st->slots[j].pid;
        }
    }
    return d;
}

static unsigned int rnd(apr_uint64_t *x)
{
    *x ^= *x >> 12; *x ^= *x << 25; *x ^= *x >> 27;
    return (unsigned int)((*x * 2685821657736338717ULL) >> 33);
}

/* The default 512 slots full, then 512 new pids: every one found by the
 * pid index, the least recently seen evicted, a reused pid with a new
 * start time a new process in its old slot. */
static void test_many_procs(void)
{
    mt_state_t st;
    void *mem = sized_state(&st, MT_DEFAULT_PROCS);
    apr_time_t now = apr_time_now();
    apr_int64_t rss;
    apr_uint64_t x = 77;
    int pids[2 * MT_DEFAULT_PROCS], found = 0, gone = 0, kept = 0, i;

    for (i = 0; i < 2 * MT_DEFAULT_PROCS; i++) {
        pids[i] = 1 + (int)(rnd(&x) % 4194303);     /* Linux's pid_max */
        for (int j = 0; j < i; j++) {
            if (pids[j] == pids[i]) { i--; break; }
        }
    }
    for (i = 0; i < MT_DEFAULT_PROCS; i++) {
        record(&st, pids[i], 7, 1000 + i, 0, 0, now + i);
    }
    for (i = 0; i < MT_DEFAULT_PROCS; i++) {
        found += mt_state_last_rss(&st, pids[i], 7, &rss) == APR_SUCCESS
                 && rss == 1000 + i;
    }
    is_int(found, MT_DEFAULT_PROCS,
           "512 processes: every one found, its own sample");
    for (found = 0, i = 0; i < MT_DEFAULT_PROCS; i++) {
        found += st.slots[i].pid != 0;
    }
    is_int(found, MT_DEFAULT_PROCS, "every slot in use");
    /* the first half seen again; then 256 new ones evict the second half */
    for (i = 0; i < MT_DEFAULT_PROCS / 2; i++) {
        record(&st, pids[i], 7, 5000 + i, 0, 0, now + 1000 + i);
    }
    for (i = 0; i < MT_DEFAULT_PROCS / 2; i++) {
        record(&st, pids[MT_DEFAULT_PROCS + i], 7, 9000 + i, 0, 0,
               now + 2000 + i);
    }
    for (found = 0, i = 0; i < MT_DEFAULT_PROCS / 2; i++) {
        kept += mt_state_last_rss(&st, pids[i], 7, &rss) == APR_SUCCESS
                && rss == 5000 + i;
        gone += mt_state_last_rss(&st, pids[MT_DEFAULT_PROCS / 2 + i], 7, &rss)
                == APR_NOTFOUND;
        found += mt_state_last_rss(&st, pids[MT_DEFAULT_PROCS + i], 7, &rss)
                 == APR_SUCCESS && rss == 9000 + i;
    }
    is_int(kept, MT_DEFAULT_PROCS / 2, "slots full: the recently seen kept");
    is_int(gone, MT_DEFAULT_PROCS / 2, "the least recently seen evicted");
    is_int(found, MT_DEFAULT_PROCS / 2, "the new ones found in their slots");
    is_int(duplicates(&st), 0, "no pid in two slots");
    /* pid reused by a newer process: the same slot, started over */
    {
        mt_proc_slot_t *old = NULL;
        for (unsigned int k = 0; k < st.n; k++) {
            if (st.slots[k].pid == pids[3]) old = &st.slots[k];
        }
        record(&st, pids[3], 8, 4242, 0, 0, now + 3000);
        ok(old && old->pid == pids[3] && old->start_ticks == 8
           && old->requests == 1, "pid reused, new start time: its slot "
           "starts over");
        ok(mt_state_last_rss(&st, pids[3], 7, &rss) == APR_NOTFOUND,
           "the old process is gone");
        ok(mt_state_last_rss(&st, pids[3], 8, &rss) == APR_SUCCESS
           && rss == 4242, "the new one found");
        is_int(duplicates(&st), 0, "still no pid in two slots");
    }
    free(mem);
}

/* Many evictions through a small index, checked against a model of the
 * slots (least recently seen out): deletions that move entries back
 * never lose one. */
static void test_pid_churn(void)
{
    enum { N = 16, POOL = 200, OPS = 30000 };
    mt_state_t st;
    void *mem = sized_state(&st, N);
    apr_time_t now = apr_time_now(), seen[POOL];
    apr_int64_t rss, last[POOL];
    apr_uint64_t x = 5;
    int in[POOL], n_in = 0, bad = 0, op;

    memset(in, 0, sizeof(in));
    for (op = 0; op < OPS; op++) {
        int k = (int)(rnd(&x) % POOL), pid = 100 + k * 4099;
        if (!in[k] && n_in == N) {
            int old = -1;
            for (int j = 0; j < POOL; j++) {
                if (in[j] && (old < 0 || seen[j] < seen[old])) old = j;
            }
            in[old] = 0;
            n_in--;
        }
        if (!in[k]) n_in++;
        in[k] = 1;
        seen[k] = now + op;
        last[k] = 4096 + op;
        record(&st, pid, 0, last[k], 0, 0, seen[k]);
        if (op % 97 == 0 || op > OPS - 50) {
            for (int j = 0; j < POOL; j++) {
                apr_status_t rv = mt_state_last_rss(&st, 100 + j * 4099, 0,
                                                    &rss);
                bad += in[j] ? rv != APR_SUCCESS || rss != last[j]
                             : rv != APR_NOTFOUND;
            }
        }
    }
    is_int(bad, 0, "30,000 notes of 200 pids through 16 slots: every "
           "lookup as the model says");
    is_int(duplicates(&st), 0, "no pid in two slots");
    free(mem);
}

typedef struct {
    mt_state_t *st;
    int base, hot;
    int misses;              /* the hot pid not found, though in its slot */
    int evicted;             /* not found: really evicted meanwhile */
} churn_t;

/* The slot holding pid, by walking them (the old way), and its gen. */
static int walk(const mt_state_t *st, int pid, apr_uint32_t *gen)
{
    for (unsigned int i = 0; i < st->n; i++) {
        if (st->slots[i].pid == pid) {
            *gen = st->slots[i].gen;
            return (int)i;
        }
    }
    return -1;
}

/* Threads: new pids evicting each other, and one hot pid looked up all
 * along. It can be evicted for real (its thread preempted while the others
 * claim every slot); it must never be missed while it stays in its slot,
 * as a reader racing a deletion that moves its entry could. */
static void *APR_THREAD_FUNC churner(apr_thread_t *t, void *data)
{
    churn_t *c = data;
    apr_int64_t rss;
    apr_uint32_t g0 = 0, g1 = 0;

    for (int i = 0; i < 20000; i++) {
        if (c->hot) {
            int s0, s1;
            record(c->st, 7, 0, 4096, 0, 0, apr_time_now());
            s0 = walk(c->st, 7, &g0);
            if (mt_state_last_rss(c->st, 7, 0, &rss) == APR_NOTFOUND) {
                /* An eviction of pid 7 may be under way (its index entry
                 * gone, its slot not yet reset): once the claim lock is
                 * free it is done, and the slot's generation tells. */
                while (c->st->hdr->claim != 0) {
                    sched_yield();
                }
                s1 = walk(c->st, 7, &g1);
                if (s0 >= 0 && s0 == s1 && g0 == g1) c->misses++;
                else c->evicted++;
            }
        }
        else {
            record(c->st, c->base + i % 64, 0, 4096, 0, 0, apr_time_now());
        }
    }
    /* a return, not apr_thread_exit(): pthread_exit from this frame leaves
     * record()'s inlined scopes poisoned for ASan's thread teardown */
    (void)t;
    return NULL;
}

static void test_pid_threads(apr_pool_t *p)
{
    mt_state_t st;
    void *mem = sized_state(&st, 8);
    apr_thread_t *th[4];
    churn_t c[4];
    apr_status_t trv;

    for (int i = 0; i < 4; i++) {
        c[i].st = &st;
        c[i].base = 1000 + 1000 * i;
        c[i].hot = i == 0;
        c[i].misses = c[i].evicted = 0;
        apr_thread_create(&th[i], NULL, churner, &c[i], p);
    }
    for (int i = 0; i < 4; i++) apr_thread_join(&trv, th[i]);
    ok(c[0].misses == 0, "threads evicting pids: the hot pid never missed "
       "in its slot (%d misses; %d times evicted for real)", c[0].misses,
       c[0].evicted);
    is_int(duplicates(&st), 0, "threads evicting pids: no pid in two slots");
    free(mem);
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_basic();
    test_reuse();
    test_history();
    test_endpoints();
    test_first_out_of_order();
    test_gaps_and_blame();
    test_probes();
    test_pick();
    test_reinit();
    test_threads(p);
    test_many_procs();
    test_pid_churn();
    test_pid_threads(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
