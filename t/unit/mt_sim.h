/* mt_sim: a simulated app server with known truth, for tuning and testing
 * the analysis (t/unit/test_analysis.c). Header-only: the unit test build
 * links one test file with the core.
 *
 * What it models, per process:
 *   live bytes   what the app keeps: leaks, caches, one-time loads;
 *   garbage      what requests allocate and drop; freed only when the
 *                "GC" runs (every 8 to 24 MB of garbage), as Ruby does;
 *   arena        malloc's high-water mark: freed memory stays resident
 *                (glibc rarely gives it back; a trim now and then does);
 *   resident     base + arena, in 4 KiB pages, plus a few random fresh
 *                pages per request (other activity).
 * So memory kept by one request shows in RSS when a later request (often
 * the one that allocates most) needs fresh pages: exactly the trap that
 * makes per-request RSS deltas blame the wrong endpoint.
 *
 * Probes go through the real selection (mt_state_probe_pick with the
 * state's weights), the companion's per-process limit, and come back on
 * the process's next request, measured as the request's true kept bytes
 * plus noise (a Gaussian of sd noise_bytes and, with probability
 * outlier_p, a one-off of up to outlier_bytes: interpreter caches and the
 * like).
 *
 * Notes can come late (late_p): a slow client holds a request's note back
 * until up to late_max later requests' notes are in, as httpd logs a
 * request only when its answer is out. Each note carries the process's
 * order (its objects allocated so far, as the companion's
 * total_allocated_objects).
 */
#ifndef MT_SIM_H
#define MT_SIM_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include "mt_analysis.h"
#include "mt_sample.h"

#define SIM_EPS   12
#define SIM_PROCS 8
#define SIM_PAGE  4096.0
#define SIM_HELD  8

typedef struct {
    const char *name;
    double share;            /* traffic weight */
    double leak_bytes;       /* kept by each leaking request */
    double leak_every;       /* fraction of its requests that leak (0: 1) */
    double bloat_once;       /* kept on the first call in each process */
    double fill_bytes;       /* kept per call for the first fill_calls ... */
    int    fill_calls;       /* ... calls in each process, then nothing */
    int    cache_keys;       /* a cache of this many keys, random key per
                              * call; a miss keeps fill_bytes */
    double garbage_bytes;    /* allocated and dropped per request */
    double alloc_objects;    /* objects allocated per request */
    double phase_share[4];   /* share in phases 1..4 of a varying mix (0: share) */
} sim_ep_t;

typedef struct {
    int    pid;
    int    alive;
    long   requests;
    double live, garbage, gc_at, arena, base;
    double allocated;            /* objects allocated so far (the order) */
    int    calls[SIM_EPS];
    unsigned char *keys[SIM_EPS];
    apr_uint64_t probe_token;    /* the companion's pending probe */
    double probe_kept;           /* what the probed request kept */
    double probe_started_at;
    double last_probe_at;
    double last_at;              /* when its last request ended */
} sim_proc_t;

typedef struct {
    sim_ep_t   ep[SIM_EPS];
    int        n_ep;
    sim_proc_t proc[SIM_PROCS];
    int        n_proc;
    int        exclusive;        /* 0: a threaded server, not probeable */
    int        companion;        /* 0: no app reports, no probes */
    int        probe_rate;       /* MemTrackProbeRate */
    double     probe_ps;         /* companion's probes per second */
    double     noise_bytes, outlier_p, outlier_bytes;
    double     dt;               /* seconds between requests */
    int        phases;           /* varying mix: 4 phases over the run */
    long       total;            /* requests to run */
    long       restart_every;    /* replace a process every N requests */
    double     late_p;           /* a note comes after 1..late_max later */
    int        late_max;
    double     drift_bps[SIM_PROCS]; /* growth outside requests (bytes a
                                  * second, on average: a background thread
                                  * that allocates in random amounts), by
                                  * process position */
    apr_uint64_t rng;
    /* running */
    double     now;
    long       done;
    long       ep_requests[SIM_EPS];
    int        next_pid;
    apr_uint64_t next_token;
    volatile apr_uint32_t credit;
    mt_note_t  held[SIM_HELD];   /* late notes, ... */
    int        held_due[SIM_HELD]; /* ... delivered after this many more */
    int        n_held;
    mt_state_t st;
    void      *mem;
} sim_t;

static apr_uint64_t sim_rand(sim_t *s)
{
    apr_uint64_t x = s->rng;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    s->rng = x;
    return x * 2685821657736338717ULL;
}

static double sim_unif(sim_t *s)
{
    return (double)(sim_rand(s) >> 11) / 9007199254740992.0;
}

static double sim_gauss(sim_t *s)
{
    double u = sim_unif(s), v = sim_unif(s);
    return sqrt(-2 * log(u > 1e-300 ? u : 1e-300)) * cos(6.283185307 * v);
}

static void sim_defaults(sim_t *s, apr_uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->n_proc = 2;
    s->exclusive = 1;
    s->companion = 1;
    s->probe_rate = 100;
    s->probe_ps = 2;
    s->noise_bytes = 600;
    s->outlier_p = 0.02;
    s->outlier_bytes = 256 * 1024;
    s->dt = 0.004;
    s->rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    s->next_pid = 1000;
}

static sim_ep_t *sim_add(sim_t *s, const char *name, double share)
{
    sim_ep_t *e = &s->ep[s->n_ep++];
    memset(e, 0, sizeof(*e));
    e->name = name;
    e->share = share;
    e->alloc_objects = 500;
    e->garbage_bytes = 40 * 1024;
    return e;
}

static void sim_spawn(sim_t *s, sim_proc_t *p)
{
    int i;
    for (i = 0; i < SIM_EPS; i++) free(p->keys[i]);
    memset(p, 0, sizeof(*p));
    p->pid = s->next_pid++;
    p->alive = 1;
    p->base = 60e6 + sim_unif(s) * 5e6;  /* code, libraries: a Ruby app */
    p->live = 20e6;
    p->arena = p->live;
    p->gc_at = 8e6 + sim_unif(s) * 16e6;
    p->last_probe_at = -1e9;
}

static void sim_start(sim_t *s)
{
    mt_state_params_t prm;
    int i;

    mt_state_params_default(&prm);
    prm.procs = 32;
    prm.endpoints = 32;
    s->mem = calloc(1, mt_state_bytes(&prm));
    mt_state_init(&s->st, s->mem, &prm, 1, NULL);
    for (i = 0; i < s->n_proc; i++) sim_spawn(s, &s->proc[i]);
}

static void sim_free(sim_t *s)
{
    int i, j;
    for (i = 0; i < SIM_PROCS; i++)
        for (j = 0; j < SIM_EPS; j++) free(s->proc[i].keys[j]);
    free(s->mem);
}

static double sim_rss(const sim_proc_t *p)
{
    return ceil((p->base + p->arena) / SIM_PAGE) * SIM_PAGE;
}

static int sim_pick_ep(sim_t *s)
{
    double w[SIM_EPS], sum = 0, u;
    int i, phase = s->phases ? (int)(4 * s->done / (s->total ? s->total : 1)) : 0;

    for (i = 0; i < s->n_ep; i++) {
        w[i] = s->phases && s->ep[i].phase_share[phase > 3 ? 3 : phase] > 0
               ? s->ep[i].phase_share[phase > 3 ? 3 : phase] : s->ep[i].share;
        sum += w[i];
    }
    u = sim_unif(s) * sum;
    for (i = 0; i < s->n_ep - 1; i++) {
        if (u < w[i]) return i;
        u -= w[i];
    }
    return s->n_ep - 1;
}

/* What one request of e keeps in p (the truth a probe measures). */
static double sim_kept(sim_t *s, sim_proc_t *p, int ei)
{
    const sim_ep_t *e = &s->ep[ei];
    double kept = 0;
    int call = p->calls[ei]++;

    if (e->leak_bytes > 0 && (e->leak_every <= 0 || sim_unif(s) < e->leak_every))
        kept += e->leak_bytes;
    if (call == 0) kept += e->bloat_once;
    if (e->fill_calls > 0 && call < e->fill_calls) kept += e->fill_bytes;
    if (e->cache_keys > 0) {
        int k = (int)(sim_unif(s) * e->cache_keys);
        if (!p->keys[ei]) p->keys[ei] = calloc((size_t)e->cache_keys, 1);
        if (!p->keys[ei][k]) { p->keys[ei][k] = 1; kept += e->fill_bytes; }
    }
    return kept;
}

/* Run the request's memory effects on p. */
static void sim_memory(sim_t *s, sim_proc_t *p, double kept, const sim_ep_t *e)
{
    double peak;

    p->live += kept;
    p->garbage += e->garbage_bytes;
    peak = p->live + p->garbage;
    if (peak > p->arena) p->arena = peak;
    if (sim_unif(s) < 0.05) p->arena += SIM_PAGE * (1 + (double)(sim_rand(s) % 4));
    if (p->garbage > p->gc_at) {                /* the GC runs */
        p->garbage = 0;
        p->gc_at = 8e6 + sim_unif(s) * 16e6;
        if (sim_unif(s) < 0.01) {               /* malloc_trim, rarely */
            p->arena = p->live + (p->arena - p->live) * 0.5;
        }
    }
}

/* The companion's side of a probe request: may it start one now? */
static int sim_companion_takes(sim_t *s, sim_proc_t *p)
{
    if (!s->companion || !s->exclusive) return 0;
    if (s->now - p->last_probe_at < 1.0 / s->probe_ps) return 0;
    p->last_probe_at = s->now;
    return 1;
}

/* Hand a note to the analysis, or hold it back (late_p); then deliver the
 * held notes that are due. */
static void sim_deliver(sim_t *s, const mt_note_t *in)
{
    int i;

    if (s->late_p > 0 && s->n_held < SIM_HELD && sim_unif(s) < s->late_p) {
        s->held[s->n_held] = *in;
        s->held_due[s->n_held++] = 1 + (int)(sim_rand(s)
            % (apr_uint64_t)(s->late_max > 0 ? s->late_max : 3));
        return;
    }
    mt_analysis_note(&s->st, in, NULL);
    for (i = 0; i < s->n_held; ) {
        if (--s->held_due[i] > 0) {
            i++;
            continue;
        }
        mt_analysis_note(&s->st, &s->held[i], NULL);
        s->held[i] = s->held[--s->n_held];
        s->held_due[i] = s->held_due[s->n_held];
    }
}

/* One request; the truth of what it kept goes to *kept_out. */
static void sim_step(sim_t *s)
{
    int ei = sim_pick_ep(s), pi = (int)(sim_rand(s) % (apr_uint64_t)s->n_proc);
    sim_proc_t *p = &s->proc[pi];
    const sim_ep_t *e = &s->ep[ei];
    mt_note_t in;
    double before, kept, noise;
    int ask = 0, idx;

    if (s->restart_every && s->done > 0 && s->done % s->restart_every == 0) {
        sim_spawn(s, &s->proc[(s->done / s->restart_every) % s->n_proc]);
    }
    s->now += s->dt;
    mt_note_clear(&in);
    in.endpoint = e->name;
    in.pid = p->pid;
    in.start_ticks = (apr_uint64_t)p->pid * 7;
    in.kind = MT_STATE_KIND_BACKEND;
    in.exclusive = s->exclusive;
    in.now = (apr_time_t)(s->now * 1e6) + 1;
    in.request_id = "sim";
    in.app_reported = s->companion;
    in.probeable = s->companion && s->exclusive && s->probe_rate > 0;
    if (in.probeable) {
        idx = mt_state_endpoint(&s->st, e->name, 0, in.now);
        ask = mt_state_probe_pick(&s->credit,
                  mt_analysis_probe_rate(&s->st, (unsigned int)s->probe_rate,
                                         in.now),
                                  mt_state_priority(&s->st, idx),
                                  (apr_uint32_t)sim_rand(s));
    }
    /* the pending probe's result, measured at the start of this request */
    if (p->probe_token) {
        noise = s->noise_bytes * sim_gauss(s);
        if (sim_unif(s) < s->outlier_p) noise += sim_unif(s) * s->outlier_bytes;
        in.probe_done = p->probe_token;
        in.probe_bytes = (apr_int64_t)llround(p->probe_kept + noise);
        in.probe_objects = (apr_int64_t)(p->probe_kept / 50);
        in.probe_us = 30000;
        p->probe_token = 0;
    }
    if (ask && sim_companion_takes(s, p)) {
        apr_atomic_inc32(&s->st.hdr->probes_asked);
        p->probe_token = ++s->next_token;
        in.probe_started = p->probe_token;
    }
    if (s->drift_bps[pi] > 0 && p->last_at > 0) {
        /* between its requests: no request's doing */
        p->base += s->drift_bps[pi] * (s->now - p->last_at) * 2 * sim_unif(s);
    }
    before = sim_rss(p);
    kept = sim_kept(s, p, ei);
    sim_memory(s, p, kept, e);
    if (p->probe_token && in.probe_started) p->probe_kept = kept;
    in.rss_before = (apr_int64_t)before;
    in.before_own = 1;
    in.rss_after = (apr_int64_t)sim_rss(p);
    in.alloc_objects = s->companion ? (apr_int64_t)e->alloc_objects : MT_UNKNOWN;
    in.order = s->companion ? (apr_int64_t)p->allocated : MT_UNKNOWN;
    p->allocated += e->alloc_objects;
    in.duration_us = 2000;
    sim_deliver(s, &in);
    p->last_at = s->now;
    p->requests++;
    s->ep_requests[ei]++;
    s->done++;
}

/* The verdict of an endpoint in a report (NULL when not there). */
static const mt_an_endpoint_t *sim_find(const mt_an_report_t *r, const char *name)
{
    unsigned int i;
    for (i = 0; i < r->n_eps; i++)
        if (!strcmp(r->eps[i].name, name)) return &r->eps[i];
    return NULL;
}

static double sim_true_leak(const sim_ep_t *e)
{
    return e->leak_bytes * (e->leak_every > 0 ? e->leak_every : 1);
}

#endif
