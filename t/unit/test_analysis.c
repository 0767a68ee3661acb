/* Unit tests: the analysis on a simulator with known truth (mt_sim.h).
 * Every scenario is checked at a checkpoint every 250 requests: a true
 * leak must be named, with an interval that holds the true value, and
 * nothing else may ever be called a leak. */
#include <apr_general.h>
#include "mt_tap.h"
#include "mt_sim.h"
#include "mt_stats.h"

typedef struct {
    long   named_at[SIM_EPS];     /* endpoint requests when first named */
    int    false_leaks;
    char   false_name[MT_EP_NAME_MAX + 1];
    long   false_at;
    int    checks;
} watch_t;

static void checkpoint(sim_t *s, watch_t *w, apr_pool_t *p)
{
    mt_an_report_t *r;
    int i;

    mt_analysis_report(&r, &s->st, (apr_time_t)(s->now * 1e6) + 1, p);
    w->checks++;
    for (i = 0; i < s->n_ep; i++) {
        const mt_an_endpoint_t *a = sim_find(r, s->ep[i].name);
        if (!a || a->verdict != MT_VERDICT_LEAK) continue;
        if (sim_true_leak(&s->ep[i]) > 0) {
            if (!w->named_at[i]) w->named_at[i] = s->ep_requests[i];
        }
        else if (!w->false_leaks++) {
            apr_cpystrn(w->false_name, a->name, sizeof(w->false_name));
            w->false_at = s->done;
            printf("# false leak %s at %ld: %s\n", a->name, s->done, a->evidence);
        }
    }
    apr_pool_clear(p);
}

static mt_an_report_t *run(sim_t *s, watch_t *w, apr_pool_t *p, apr_pool_t *keep)
{
    mt_an_report_t *r;

    memset(w, 0, sizeof(*w));
    sim_start(s);
    while (s->done < s->total) {
        sim_step(s);
        if (s->done % 250 == 0) checkpoint(s, w, p);
    }
    mt_analysis_report(&r, &s->st, (apr_time_t)(s->now * 1e6) + 1, keep);
    return r;
}

static void show(const mt_an_report_t *r)
{
    unsigned int i;
    for (i = 0; i < r->n_eps; i++) {
        const mt_an_endpoint_t *e = &r->eps[i];
        printf("#   %-16s %-7s %s%s%s\n", e->name, mt_verdict_name(e->verdict),
               e->evidence, e->needs[0] ? "; needs " : "", e->needs);
    }
}

/* The usual background: bloat, a cache filling then full, churn, flat. */
static void background(sim_t *s, double scale)
{
    sim_ep_t *e;

    e = sim_add(s, "Bloat#once", 0.08 * scale);
    e->bloat_once = 30e6;
    /* a fill below the leak floor (4 KiB), as t/apps' /cache_fill: at the
     * floor itself, a fill is a leak for as long as it lasts */
    e = sim_add(s, "Cache#fill", 0.12 * scale);
    e->fill_bytes = 3072;
    e->fill_calls = 400;
    e = sim_add(s, "Cache#lru", 0.10 * scale);
    e->fill_bytes = 3072;
    e->cache_keys = 500;
    e = sim_add(s, "Churn#garbage", 0.25 * scale);
    e->garbage_bytes = 5e6;
    e->alloc_objects = 200000;
    sim_add(s, "Flat#a", 0.25 * scale);
    sim_add(s, "Flat#b", 0.20 * scale);
}

static void expect_background(const mt_an_report_t *r, const char *tag)
{
    static const struct { const char *name; mt_verdict_e v; } want[] = {
        { "Bloat#once", MT_VERDICT_BLOAT }, { "Cache#fill", MT_VERDICT_BLOAT },
        { "Churn#garbage", MT_VERDICT_CHURN }, { "Flat#a", MT_VERDICT_FLAT },
        { "Flat#b", MT_VERDICT_FLAT },
    };
    unsigned int i;

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const mt_an_endpoint_t *e = sim_find(r, want[i].name);
        ok(e && e->verdict == want[i].v, "%s: %s is %s (got %s)", tag,
           want[i].name, mt_verdict_name(want[i].v),
           e ? mt_verdict_name(e->verdict) : "missing");
    }
    /* Cache#lru fills more and more slowly: bloat or flat, never leak */
    {
        const mt_an_endpoint_t *e = sim_find(r, "Cache#lru");
        ok(e && (e->verdict == MT_VERDICT_BLOAT || e->verdict == MT_VERDICT_FLAT),
           "%s: Cache#lru is bloat or flat (got %s)", tag,
           e ? mt_verdict_name(e->verdict) : "missing");
    }
}

static void leak_case(double bytes, double share, apr_uint64_t seed,
                      apr_pool_t *p, apr_pool_t *keep)
{
    sim_t s;
    watch_t w;
    mt_an_report_t *r;
    const mt_an_endpoint_t *e;
    char tag[64];
    sim_ep_t *l;
    double truth;

    sim_defaults(&s, seed);
    l = sim_add(&s, "Leak#x", share);
    l->leak_bytes = bytes;
    background(&s, (1 - share) / 1.0);
    s.total = (long)(4000 / share);
    if (s.total < 20000) s.total = 20000;
    r = run(&s, &w, p, keep);
    snprintf(tag, sizeof(tag), "%.0f KB at %.0f%%", bytes / 1024, share * 100);
    truth = sim_true_leak(l);
    e = sim_find(r, "Leak#x");
    ok(e && e->verdict == MT_VERDICT_LEAK, "%s: named a leak", tag);
    if (e && e->verdict == MT_VERDICT_LEAK) {
        ok(e->leak_low <= truth && truth <= e->leak_high,
           "%s: interval %.0f..%.0f holds %.0f", tag, e->leak_low,
           e->leak_high, truth);
        ok(fabs(e->leak_bytes_per_request - truth) <= 0.25 * truth,
           "%s: estimate %.0f within 25%%", tag, e->leak_bytes_per_request);
    }
    ok(w.named_at[0] > 0 && w.named_at[0] <= 3000,
       "%s: named within 3000 of its requests (%ld)", tag, w.named_at[0]);
    is_int(w.false_leaks, 0, "nothing else called a leak, ever");
    expect_background(r, tag);
    if (!e || e->verdict != MT_VERDICT_LEAK || w.false_leaks || getenv("SIM_DEBUG")) show(r);
    sim_free(&s);
    apr_pool_clear(keep);
}

static void test_leaks(apr_pool_t *p, apr_pool_t *keep)
{
    static const double sizes[] = { 16384, 51200, 204800, 1048576 };
    static const double shares[] = { 0.05, 0.10, 0.25, 0.50 };
    unsigned int i;

    for (i = 0; i < 4; i++) {
        leak_case(sizes[i], shares[i], 11 + i, p, keep);
        leak_case(sizes[i], shares[3 - i], 23 + i, p, keep);
    }
}

/* 100,000 requests without a leak: no endpoint is ever called one. */
static void test_no_leak(apr_pool_t *p, apr_pool_t *keep)
{
    sim_t s;
    watch_t w;
    mt_an_report_t *r;

    sim_defaults(&s, 7);
    background(&s, 1);
    s.total = 100000;
    r = run(&s, &w, p, keep);
    is_int(w.false_leaks, 0, "no leak in 100,000 requests of bloat, churn, flat");
    ok(w.checks == 400, "checked every 250 requests");
    expect_background(r, "no leak");
    if (w.false_leaks) show(r);
    sim_free(&s);
    apr_pool_clear(keep);
}

/* The same over many seeds, shorter: a false leak anywhere fails. */
static void test_no_leak_seeds(apr_pool_t *p, apr_pool_t *keep)
{
    int seed, falses = 0, runs = 24;

    for (seed = 0; seed < runs; seed++) {
        sim_t s;
        watch_t w;
        sim_defaults(&s, 300 + (apr_uint64_t)seed);
        s.n_proc = 2 + seed % 3;
        background(&s, 1);
        s.total = 20000;
        run(&s, &w, p, keep);
        falses += w.false_leaks > 0;
        sim_free(&s);
        apr_pool_clear(keep);
    }
    is_int(falses, 0, "no false leak in 24 more runs without a leak");
}

/* A leak on half of an endpoint's requests is still a leak, at half the
 * rate. */
static void test_intermittent(apr_pool_t *p, apr_pool_t *keep)
{
    sim_t s;
    watch_t w;
    mt_an_report_t *r;
    const mt_an_endpoint_t *e;
    sim_ep_t *l;

    sim_defaults(&s, 4242);
    l = sim_add(&s, "Leak#half", 0.15);
    l->leak_bytes = 102400;
    l->leak_every = 0.5;
    background(&s, 0.85);
    s.total = 40000;
    r = run(&s, &w, p, keep);
    e = sim_find(r, "Leak#half");
    ok(e && e->verdict == MT_VERDICT_LEAK, "intermittent leak named (%s)",
       e ? e->evidence : "");
    ok(e && e->leak_low <= 51200 && 51200 <= e->leak_high * 1.25,
       "its estimate is about half the bytes of a leaking request");
    is_int(w.false_leaks, 0, "intermittent: no false leak");
    sim_free(&s);
    apr_pool_clear(keep);
}

/* Calm: while every process is flat or bloat, probes go ten times rarer;
 * a leak that starts after that is still named, and calm ends. */
static void test_calm(apr_pool_t *p, apr_pool_t *keep)
{
    sim_t s;
    watch_t w;
    sim_ep_t *l;
    apr_uint32_t asked_calm = 0;
    long start;
    int was_calm;

    sim_defaults(&s, 515);
    l = sim_add(&s, "Leak#late", 0.10);
    background(&s, 0.9);
    memset(&w, 0, sizeof(w));
    sim_start(&s);
    while (s.done < 40000) {
        sim_step(&s);
        if (s.done % 250 == 0) checkpoint(&s, &w, p);
        if (s.done == 30000) asked_calm = apr_atomic_read32(&s.st.hdr->probes_asked);
    }
    was_calm = (int)apr_atomic_read32(&s.st.hdr->calm);
    asked_calm = apr_atomic_read32(&s.st.hdr->probes_asked) - asked_calm;
    ok(was_calm, "no leak for 40,000 requests: calm");
    ok(asked_calm <= 10000 / 100 / 5,
       "and probes rarer: %u in the last 10,000 requests (100 without calm)",
       asked_calm);
    l->leak_bytes = 51200;
    start = s.ep_requests[0];
    while (s.done < 80000) {
        sim_step(&s);
        if (s.done % 250 == 0) checkpoint(&s, &w, p);
    }
    ok(!apr_atomic_read32(&s.st.hdr->calm), "a leak begins: calm ends");
    ok(w.named_at[0] > 0 && w.named_at[0] - start <= 3000,
       "the late leak named within 3000 of its requests (%ld)",
       w.named_at[0] ? w.named_at[0] - start : -1);
    is_int(w.false_leaks, 0, "calm: no false leak");
    sim_free(&s);
    apr_pool_clear(keep);
}

/* A mix that changes four times, and processes replaced now and then. */
static void test_varying_and_restarts(apr_pool_t *p, apr_pool_t *keep)
{
    sim_t s;
    watch_t w;
    mt_an_report_t *r;
    const mt_an_endpoint_t *e;
    sim_ep_t *l;

    sim_defaults(&s, 99);
    s.n_proc = 3;
    l = sim_add(&s, "Leak#x", 0.10);
    l->leak_bytes = 51200;
    l->phase_share[0] = 0.02; l->phase_share[1] = 0.2;
    l->phase_share[2] = 0.05; l->phase_share[3] = 0.15;
    background(&s, 0.9);
    s.ep[4].phase_share[1] = 0.6;         /* churn surges in phase 2 */
    s.phases = 1;
    s.restart_every = 7000;
    s.total = 60000;
    r = run(&s, &w, p, keep);
    e = sim_find(r, "Leak#x");
    ok(e && e->verdict == MT_VERDICT_LEAK, "varying mix, restarts: leak named");
    ok(e && e->leak_low <= 51200 && 51200 <= e->leak_high,
       "varying mix, restarts: interval holds the truth");
    is_int(w.false_leaks, 0, "varying mix, restarts: no false leak");
    expect_background(r, "varying mix, restarts");
    if (w.false_leaks || !e || e->verdict != MT_VERDICT_LEAK) show(r);
    sim_free(&s);
    apr_pool_clear(keep);
}

/* Notes that come late (slow clients) over short runs with processes
 * replaced, as t/61 runs on a real server: a one-time load whose first
 * call is logged after later calls is still a first call's load (the
 * notes' order says so), so the load is bloat, never churn; the leak is
 * named and nothing else. */
static void test_late_notes(apr_pool_t *p, apr_pool_t *keep)
{
    int seed, runs = 12, bloat = 0, named = 0, falses = 0, churn = 0;

    for (seed = 0; seed < runs; seed++) {
        sim_t s;
        watch_t w;
        mt_an_report_t *r;
        const mt_an_endpoint_t *b, *l;

        sim_defaults(&s, 700 + (apr_uint64_t)seed);
        sim_add(&s, "Leak#x", 0.10)->leak_bytes = 51200;
        background(&s, 0.9);
        s.late_p = 0.2;
        s.late_max = 60;
        s.probe_rate = 10;          /* t/61's rate and companion budget */
        s.probe_ps = 10;
        s.restart_every = 2500;
        s.total = 5000;
        r = run(&s, &w, p, keep);
        b = sim_find(r, "Bloat#once");
        l = sim_find(r, "Leak#x");
        bloat += b && b->verdict == MT_VERDICT_BLOAT;
        churn += b && b->verdict == MT_VERDICT_CHURN;
        named += l && l->verdict == MT_VERDICT_LEAK;
        falses += w.false_leaks > 0;
        if (getenv("SIM_DEBUG")) show(r);
        sim_free(&s);
        apr_pool_clear(keep);
    }
    ok(bloat == runs, "late notes: the one-time load is bloat in all %d "
       "runs (%d; churn in %d)", runs, bloat, churn);
    is_int(named, runs, "late notes: the leak named in every run");
    is_int(falses, 0, "late notes: no false leak");
}

/* An httpd child of a threaded MPM cannot be probed, and without the
 * companion nothing can: no endpoint is blamed, the process is. */
static void test_passive_only(apr_pool_t *p, apr_pool_t *keep, int threaded)
{
    sim_t s;
    watch_t w;
    mt_an_report_t *r;
    const mt_an_endpoint_t *e;
    unsigned int i, leaking = 0;
    sim_ep_t *l;
    const char *tag = threaded ? "threaded child" : "no companion";

    sim_defaults(&s, threaded ? 5 : 6);
    l = sim_add(&s, "Leak#x", 0.10);
    l->leak_bytes = 51200;
    background(&s, 0.9);
    if (threaded) s.exclusive = 0;
    else s.companion = 0;
    s.total = 30000;
    r = run(&s, &w, p, keep);
    is_int(w.false_leaks, 0, "no endpoint called a leak");
    e = sim_find(r, "Leak#x");
    ok(e && e->verdict != MT_VERDICT_LEAK, "%s: the leak is not blamed "
       "on an endpoint without probes (%s)", tag,
       e ? mt_verdict_name(e->verdict) : "missing");
    ok(e && e->verdict == MT_VERDICT_UNKNOWN && strstr(e->needs, "probes"),
       "%s: it is unknown, and says it needs probes (%s)", tag,
       e ? e->needs : "");
    for (i = 0; i < r->n_procs; i++) {
        leaking += r->procs[i].verdict == MT_VERDICT_LEAK;
    }
    is_int(leaking, 2, "both processes' own verdict: leak");
    sim_free(&s);
    apr_pool_clear(keep);
    /* the same without the leak: the processes are not leaking */
    sim_defaults(&s, threaded ? 15 : 16);
    background(&s, 1);
    if (threaded) s.exclusive = 0;
    else s.companion = 0;
    s.total = 30000;
    r = run(&s, &w, p, keep);
    for (leaking = 0, i = 0; i < r->n_procs; i++) {
        leaking += r->procs[i].verdict == MT_VERDICT_LEAK;
        if (r->procs[i].verdict == MT_VERDICT_LEAK)
            printf("#   %d: %s\n", r->procs[i].pid, r->procs[i].evidence);
    }
    is_int(leaking, 0, "no leak: neither process is called leaking");
    sim_free(&s);
    apr_pool_clear(keep);
}

/* Calibration: over many random leak sizes, shares and seeds the 95%
 * interval holds the truth in (about) 95% of the runs. */
static void test_coverage(apr_pool_t *p, apr_pool_t *keep)
{
    int runs = 60, named = 0, covered = 0, i;

    for (i = 0; i < runs; i++) {
        sim_t s;
        watch_t w;
        mt_an_report_t *r;
        const mt_an_endpoint_t *e;
        sim_ep_t *l;

        sim_defaults(&s, 1000 + (apr_uint64_t)i);
        l = sim_add(&s, "Leak#x", 0.05 + 0.45 * sim_unif(&s));
        l->leak_bytes = exp(log(16384) + sim_unif(&s) * log(64.0));
        background(&s, 1 - l->share);
        s.total = (long)(3000 / l->share);
        r = run(&s, &w, p, keep);
        e = sim_find(r, "Leak#x");
        if (e && e->verdict == MT_VERDICT_LEAK) {
            named++;
            covered += e->leak_low <= l->leak_bytes && l->leak_bytes <= e->leak_high;
        }
        if (getenv("SIM_DEBUG") && (!e || e->verdict != MT_VERDICT_LEAK
            || e->leak_low > l->leak_bytes || l->leak_bytes > e->leak_high))
            printf("#  run %d: %.0f B at %.2f: %s %s %s\n", i, l->leak_bytes,
                   l->share, e ? mt_verdict_name(e->verdict) : "-",
                   e ? e->evidence : "", e ? e->needs : "");
        sim_free(&s);
        apr_pool_clear(keep);
    }
    ok(named == runs, "calibration: every leak named (%d of %d)", named, runs);
    ok(covered >= runs * 88 / 100, "calibration: the interval held the truth "
       "in %d of %d runs (95%% nominal)", covered, named);
}

/* Caches that fill above the leak floor: 8 KB and 32 KB on each of the
 * first CACHE_CALLS calls per process, then nothing. While they fill, no
 * one can tell them from a leak (docs/analysis.md); once every process's
 * cache is full, they must stop being called leaks within CACHE_AFTER of
 * the endpoint's calls, end as bloat, and the true leak beside them stays
 * a leak with an interval that holds its rate. */
#define CACHE_CALLS 600
#define CACHE_AFTER 1000

typedef struct {
    long full_at;          /* endpoint requests when every process was full */
    long leak_after;       /* latest leak verdict after that, in its calls
                            * (-1: none) */
    int  filling_leak;     /* called a leak while it filled */
    long probes_full;      /* its steady probes when full ... */
    long probes_after;     /* ... and after it at its last leak verdict */
} cache_watch_t;

static void cache_check(sim_t *s, cache_watch_t *cw, int *falses, apr_pool_t *p)
{
    mt_an_report_t *r;
    int i, j;

    mt_analysis_report(&r, &s->st, (apr_time_t)(s->now * 1e6) + 1, p);
    for (i = 0; i < s->n_ep; i++) {
        const mt_an_endpoint_t *a = sim_find(r, s->ep[i].name);
        int full = 1;
        if (s->ep[i].fill_calls == 0 || s->ep[i].fill_bytes <= 4096) {
            if (a && a->verdict == MT_VERDICT_LEAK
                && sim_true_leak(&s->ep[i]) <= 0 && !(*falses)++) {
                printf("# false leak %s at %ld: %s\n", a->name, s->done,
                       a->evidence);
            }
            continue;
        }
        for (j = 0; j < s->n_proc; j++) {
            full &= s->proc[j].calls[i] >= s->ep[i].fill_calls;
        }
        if (full && !cw[i].full_at) {
            cw[i].full_at = s->ep_requests[i];
            cw[i].probes_full = a ? a->probes : 0;
        }
        if (a && a->verdict == MT_VERDICT_LEAK) {
            if (cw[i].full_at) {
                cw[i].leak_after = s->ep_requests[i] - cw[i].full_at;
                cw[i].probes_after = a->probes - cw[i].probes_full;
            }
            else {
                cw[i].filling_leak = 1;
            }
        }
    }
    apr_pool_clear(p);
}

static void test_cache_fill(apr_pool_t *p, apr_pool_t *keep)
{
    int seed, runs = 16, late = 0, bloat = 0, named = 0, covered = 0;
    int falses = 0, unfull = 0, filling = 0, settled = 0;
    long worst = -1;

    for (seed = 0; seed < runs; seed++) {
        sim_t s;
        cache_watch_t cw[SIM_EPS];
        mt_an_report_t *r;
        const mt_an_endpoint_t *l;
        int i;

        memset(cw, 0, sizeof(cw));
        for (i = 0; i < SIM_EPS; i++) cw[i].leak_after = -1;
        sim_defaults(&s, 900 + (apr_uint64_t)seed);
        s.n_proc = 2 + seed % 2;
        sim_add(&s, "Leak#x", 0.10)->leak_bytes = 51200;
        sim_add(&s, "Cache#8k", 0.15)->fill_bytes = 8192;
        s.ep[1].fill_calls = CACHE_CALLS;
        sim_add(&s, "Cache#32k", 0.15)->fill_bytes = 32768;
        s.ep[2].fill_calls = CACHE_CALLS;
        background(&s, 0.6);
        s.total = 40000;
        sim_start(&s);
        while (s.done < s.total) {
            sim_step(&s);
            if (s.done % 250 == 0) cache_check(&s, cw, &falses, p);
        }
        mt_analysis_report(&r, &s.st, (apr_time_t)(s.now * 1e6) + 1, keep);
        for (i = 1; i <= 2; i++) {
            const mt_an_endpoint_t *c = sim_find(r, s.ep[i].name);
            unfull += cw[i].full_at == 0;
            filling += cw[i].filling_leak;
            if (cw[i].leak_after > CACHE_AFTER) late++;
            if (cw[i].leak_after > worst) worst = cw[i].leak_after;
            bloat += c && c->verdict == MT_VERDICT_BLOAT;
            settled += c && (c->verdict == MT_VERDICT_BLOAT
                             || c->verdict == MT_VERDICT_FLAT);
            if (getenv("SIM_DEBUG")) {
                printf("#  seed %d %s: full at %ld, leak %s, until +%ld "
                       "(+%ld probes); %s %s\n", seed, s.ep[i].name,
                       cw[i].full_at,
                       cw[i].filling_leak ? "while filling" : "never filling",
                       cw[i].leak_after, cw[i].probes_after,
                       c ? mt_verdict_name(c->verdict) : "-",
                       c ? c->evidence : "");
            }
        }
        l = sim_find(r, "Leak#x");
        if (l && l->verdict == MT_VERDICT_LEAK) {
            named++;
            covered += l->leak_low <= 51200 && 51200 <= l->leak_high;
        }
        sim_free(&s);
        apr_pool_clear(keep);
    }
    is_int(unfull, 0, "filling caches: every process's cache filled");
    ok(late == 0, "filling caches: no leak verdict later than %d calls "
       "after the caches are full (the latest: %ld)", CACHE_AFTER, worst);
    ok(filling >= runs, "filling caches: called a leak while filling in %d "
       "of %d (the case to tell apart)", filling, 2 * runs);
    ok(settled == 2 * runs, "filling caches: 8 KB and 32 KB fills end as "
       "bloat or flat in all %d runs (bloat in %d of %d)", runs, bloat,
       2 * runs);
    is_int(named, runs, "filling caches: the true leak named in every run");
    is_int(covered, runs, "filling caches: its interval holds 51200 B");
    is_int(falses, 0, "filling caches: nothing else called a leak");
}

/* Drift: a process whose memory grows between its requests (a background
 * thread allocating 20 KB a second on average, in random amounts), beside
 * one that does not. The first's drift must be within 10% of 20 KB/s with
 * an interval that holds it; the second's within 1 KB/s of zero (a page
 * now and then is the simulator's only noise there). The leak and the rest
 * of the traffic are as usual; drift is no request's, so it is no
 * endpoint's either. */
#define DRIFT_BPS 20480.0

static void test_drift(apr_pool_t *p, apr_pool_t *keep)
{
    int seed, runs = 4, close = 0, held = 0, zero = 0, seen = 0;

    for (seed = 0; seed < runs; seed++) {
        sim_t s;
        watch_t w;
        mt_an_report_t *r;
        unsigned int i;

        sim_defaults(&s, 1300 + (apr_uint64_t)seed);
        sim_add(&s, "Leak#x", 0.10)->leak_bytes = 51200;
        background(&s, 0.9);
        s.drift_bps[0] = DRIFT_BPS;
        s.total = 20000;
        r = run(&s, &w, p, keep);
        for (i = 0; i < r->n_procs; i++) {
            const mt_an_process_t *a = &r->procs[i];
            const mt_estimate_t *d = &a->drift;
            if (!d->ok) continue;
            seen++;
            if (a->pid == s.proc[0].pid) {
                close += fabs(d->value - DRIFT_BPS) <= 0.10 * DRIFT_BPS;
                held += d->low <= DRIFT_BPS && DRIFT_BPS <= d->high;
            }
            else {
                zero += fabs(d->value) <= 1024;
            }
            if (getenv("SIM_DEBUG")) {
                printf("#  seed %d pid %d: drift %.0f B/s (95%% %.0f to %.0f)"
                       " over %lu gaps\n", seed, a->pid, d->value, d->low,
                       d->high, (unsigned long)d->n);
            }
        }
        sim_free(&s);
        apr_pool_clear(keep);
    }
    is_int(seen, 2 * runs, "drift: measured for every process");
    is_int(close, runs, "drift: 20 KB/s between requests read within 10%");
    is_int(held, runs, "drift: and its interval holds 20 KB/s");
    is_int(zero, runs, "drift: none where there is none (within 1 KB/s)");
}

static void test_stats(void)
{
    double x[20], s[200], y[20];
    mt_estimate_t e;
    int i;

    for (i = 0; i < 20; i++) x[i] = 100 + (i % 5);
    x[19] = 1e9;                           /* one wild value */
    mt_stats_trimmed_mean(&e, x, 20, 0.1, s);
    ok(e.ok && e.value > 100 && e.value < 105, "trimmed mean ignores one wild value");
    ok(e.low <= 102 && e.high >= 102, "and its interval holds the centre");
    for (i = 0; i < 20; i++) { x[i] = i; y[i] = 3 * i + (i == 7 ? 500 : 0); }
    mt_stats_theil_sen(&e, x, y, 20, s);
    ok(e.ok && fabs(e.value - 3) < 1e-9, "Theil-Sen: slope 3 despite a step");
    ok(e.low <= 3 && e.high >= 3, "and its interval holds it");
    ok(fabs(mt_stats_t975(10) - 2.228) < 1e-3 && fabs(mt_stats_t975(1000) - 1.962) < 2e-3,
       "t quantiles");
}

int main(void)
{
    apr_pool_t *root, *p, *keep;

    apr_initialize();
    apr_pool_create(&root, NULL);
    apr_pool_create(&p, root);
    apr_pool_create(&keep, root);
    test_stats();
    test_leaks(p, keep);
    test_no_leak(p, keep);
    test_no_leak_seeds(p, keep);
    test_intermittent(p, keep);
    test_calm(p, keep);
    test_varying_and_restarts(p, keep);
    test_late_notes(p, keep);
    test_passive_only(p, keep, 1);
    test_passive_only(p, keep, 0);
    test_coverage(p, keep);
    test_cache_fill(p, keep);
    test_drift(p, keep);
    apr_pool_destroy(root);
    apr_terminate();
    return done_testing();
}
