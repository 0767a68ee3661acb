/* mt_analysis: verdicts from copies of mt_state's slots. httpd-free; see
 * include/mt_analysis.h and docs/analysis.md. Runs on the status page, on
 * each accepted probe result (1 request in MemTrackProbeRate at most) and
 * in memtrack-report, never on the plain per-request path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include "mt_analysis.h"

const char *mt_verdict_name(mt_verdict_e v)
{
    switch (v) {
    case MT_VERDICT_LEAK:  return "leak";
    case MT_VERDICT_BLOAT: return "bloat";
    case MT_VERDICT_CHURN: return "churn";
    case MT_VERDICT_FLAT:  return "flat";
    default:               return "unknown";
    }
}

/* ---- endpoints ---- */

/* The ring's results, oldest first. */
static unsigned int ring_ordered(const mt_ep_slot_t *e, mt_probe_t *out)
{
    unsigned int i, n = e->ring_n;
    unsigned int start = (e->ring_next + MT_EP_PROBES - n) % MT_EP_PROBES;

    for (i = 0; i < n; i++) {
        out[i] = e->ring[(start + i) % MT_EP_PROBES];
    }
    return n;
}

static void tmean_of(mt_estimate_t *est, const mt_probe_t *p, unsigned int n)
{
    double x[MT_EP_PROBES], s[MT_EP_PROBES];
    unsigned int i;

    for (i = 0; i < n; i++) x[i] = (double)p[i].bytes;
    mt_stats_trimmed_mean(est, x, n, MT_AN_TRIM, s);
}

/* A probe measures bytes in use to within malloc's chunk headers and the
 * interpreter's heap-page accounting (measured: 0.1% to 1%), so no
 * interval claims more than MT_AN_RESOLUTION of the estimate. */
static void resolution(mt_estimate_t *est)
{
    double min_half = fabs(est->value) * MT_AN_RESOLUTION;

    if (!est->ok) return;
    if (est->value - est->low < min_half) est->low = est->value - min_half;
    if (est->high - est->value < min_half) est->high = est->value + min_half;
}

/* Do the processes among the probes agree that the endpoint keeps memory?
 * Each process with MT_AN_GROUP_MIN probes or more must keep, by its own
 * trimmed mean, more than half the floor. *groups: how many processes had
 * enough probes; *procs: how many had any. */
static int processes_agree(const mt_probe_t *p, unsigned int n,
                           double floor_bytes, unsigned int *groups,
                           unsigned int *procs)
{
    unsigned int i, j, k, g = 0, seen = 0, agree = 1;
    double x[MT_EP_PROBES], s[MT_EP_PROBES];
    mt_estimate_t est;

    for (i = 0; i < n; i++) {
        int first = 1;
        for (j = 0; j < i; j++) {
            if (p[j].proc == p[i].proc && p[j].proc_gen == p[i].proc_gen) {
                first = 0;
                break;
            }
        }
        if (!first) continue;
        seen++;
        for (k = 0, j = i; j < n; j++) {
            if (p[j].proc == p[i].proc && p[j].proc_gen == p[i].proc_gen) {
                x[k++] = (double)p[j].bytes;
            }
        }
        if (k < MT_AN_GROUP_MIN) continue;
        g++;
        mt_stats_trimmed_mean(&est, x, k, MT_AN_TRIM, s);
        if (est.value <= floor_bytes / 2) {
            agree = 0;
        }
    }
    *groups = g;
    *procs = seen;
    return agree;
}

/* What the steady probes kept beyond the recent rate, over the requests
 * they spanned (mt_state's chunk sums; the last chunk spans up to now).
 * A cache that filled and stopped leaves its fill here; a steady rate
 * leaves nothing. */
static double probe_excess(const mt_ep_slot_t *e, double rate,
                           double floor_bytes)
{
    double sum = e->excess_sum, span = (double)e->excess_span;

    if (e->chunk_done && e->chunk_median > floor_bytes / 2) {
        sum += e->chunk_median * (double)(e->requests - e->chunk_start);
        span += (double)(e->requests - e->chunk_start);
    }
    sum -= (rate > 0 ? rate : 0) * span;
    return sum > 0 ? sum : 0;
}

/* One-time growth: what the first calls kept (measured by warm-up probes;
 * or, by the first calls' resident growth when that is 1 MiB or more per
 * first call: below, it is the page-touch lag of other requests' memory,
 * not this endpoint's load; never for churn, whose first calls grow by
 * their garbage), and what probes saw kept beyond the recent rate. Large
 * resident steps of later requests are not counted: which request pays
 * for fresh pages is chance (docs/analysis.md). */
static apr_int64_t bloat_of(const mt_ep_slot_t *e, double recent_rate,
                            int churn, double floor_bytes)
{
    apr_int64_t first = 0;
    double excess = probe_excess(e, recent_rate, floor_bytes);

    if (e->probes_warmup > 0) {
        /* warm-up probes: first calls, or a process's first requests */
        apr_int64_t per = e->warmup_bytes / e->probes_warmup;
        first = per > floor_bytes ? per * e->first_calls : 0;
    }
    if (!churn && e->first_calls > 0 && e->first_growth_bytes > first
        && e->first_growth_bytes / e->first_calls >= MT_STEP_BYTES) {
        first = e->first_growth_bytes;
    }
    return first + (apr_int64_t)excess;
}

static const char *confidence_of(const mt_estimate_t *r, unsigned int recent,
                                 unsigned int groups, unsigned int serving)
{
    double rel = r->value > 0 ? (r->high - r->low) / 2 / r->value : 1e9;
    unsigned int want = serving < 2 ? serving : 2;

    if (recent >= 16 && groups >= want && rel <= 0.25) return "high";
    if (recent >= MT_AN_MIN_PROBES && rel <= 0.5) return "medium";
    return "low";
}

/* Why a verdict is not possible yet, in words. */
static void needs_of(mt_an_endpoint_t *o, const mt_ep_slot_t *e,
                     unsigned int recent, unsigned int groups,
                     unsigned int serving, int straddles)
{
    if (e->probeable == 0) {
        apr_cpystrn(o->needs, e->app_reports == 0
            ? "probes: the companion (memtrack-rack) in the app, or an httpd "
              "child that serves one request at a time"
            : "probes: MemTrackProbeRate is 0", sizeof(o->needs));
    }
    else if (recent < MT_AN_MIN_PROBES) {
        snprintf(o->needs, sizeof(o->needs), "%u more probes",
                 MT_AN_MIN_PROBES - recent);
    }
    else if (serving >= 2 && groups < 2) {
        apr_cpystrn(o->needs, "probes from a second process",
                    sizeof(o->needs));
    }
    else if (straddles) {
        apr_cpystrn(o->needs, "more probes: the interval straddles the leak "
                    "floor", sizeof(o->needs));
    }
}

static void passive(mt_an_endpoint_t *o, const mt_ep_slot_t *e)
{
    o->alloc_objects_per_request = e->alloc_n
        ? (double)e->alloc_objects / (double)e->alloc_n : -1;
    /* first calls grow by their warm-up: left out of the churn figure */
    apr_int64_t later = e->growth_n - e->first_calls;
    apr_int64_t pos = e->growth_pos_sum_bytes
                      - (e->first_growth_bytes > 0 ? e->first_growth_bytes : 0);

    o->growth_pos_per_request = later > 0 && pos > 0
        ? (double)pos / (double)later : 0;
    o->requests = e->requests;
    o->growth_sum_bytes = e->growth_sum_bytes;
    o->growth_pos_sum_bytes = e->growth_pos_sum_bytes;
    o->threshold_hits = e->threshold_hits;
    o->blames = e->blames;
    o->blame_bytes = e->blame_bytes;
    o->probes = e->probes;
    o->probes_warmup = e->probes_warmup;
    o->probe_us = e->probe_us;
    o->last_seen = e->last_seen;
}

static int is_churn(const mt_an_endpoint_t *o)
{
    return o->alloc_objects_per_request >= MT_AN_CHURN_OBJECTS
           || o->growth_pos_per_request >= MT_AN_CHURN_GROWTH;
}

/* Not a leak: bloat, churn, flat or unknown, in that order. */
static void not_leak(mt_an_endpoint_t *o, int enough, int decaying)
{
    if (o->bloat_bytes >= MT_AN_BLOAT_MIN_BYTES || decaying) {
        o->verdict = MT_VERDICT_BLOAT;
    }
    else if (is_churn(o)) {
        o->verdict = MT_VERDICT_CHURN;
    }
    else {
        o->verdict = enough ? MT_VERDICT_FLAT : MT_VERDICT_UNKNOWN;
    }
}

static void evidence(mt_an_endpoint_t *o, unsigned int recent, int decaying)
{
    const mt_estimate_t *r = &o->retained;

    if (!r->ok) {
        char alloc[64] = "";
        if (o->alloc_objects_per_request >= 0) {
            snprintf(alloc, sizeof(alloc), "; %.0f objects allocated per "
                     "request", o->alloc_objects_per_request);
        }
        snprintf(o->evidence, sizeof(o->evidence), "%" APR_INT64_T_FMT
                 " requests, %" APR_INT64_T_FMT " probes; one-time growth %"
                 APR_INT64_T_FMT " B%s", o->requests, o->probes,
                 o->bloat_bytes, alloc);
        return;
    }
    snprintf(o->evidence, sizeof(o->evidence), "last %u of %" APR_INT64_T_FMT
             " probes keep %.0f B per request (95%% %.0f to %.0f) in %u "
             "processes%s; one-time growth %" APR_INT64_T_FMT " B",
             recent, o->probes, r->value, r->low, r->high, o->probe_processes,
             decaying ? ", falling" : "", o->bloat_bytes);
}

void mt_analysis_endpoint(mt_an_endpoint_t *o, const mt_ep_slot_t *e,
                          unsigned int index, unsigned int serving,
                          const mt_state_params_t *params)
{
    mt_probe_t p[MT_EP_PROBES];
    unsigned int n = ring_ordered(e, p), recent = 0, groups = 0;
    double floor_bytes = (double)params->leak_min_bytes;
    int decaying = 0, agree = 0, straddles = 0, keeps;

    memset(o, 0, sizeof(*o));
    o->index = index;
    apr_cpystrn(o->name, e->name, sizeof(o->name));
    o->since = e->leak_since;
    o->serving = serving;
    passive(o, e);
    if (n >= MT_AN_MIN_PROBES) {
        const mt_probe_t *r;
        mt_estimate_t older, newer;
        unsigned int half;

        recent = n / 2 > MT_AN_MIN_PROBES ? n / 2 : MT_AN_MIN_PROBES;
        if (recent > MT_AN_RECENT_MAX) recent = MT_AN_RECENT_MAX;
        if (recent > n) recent = n;
        r = p + (n - recent);
        tmean_of(&o->retained, r, recent);
        if (n >= recent + MT_AN_MIN_PROBES) {
            /* steady: the probes before the recent ones tell the same, so
             * all of them make the estimate (more precise, same rate) */
            mt_estimate_t before, all;
            tmean_of(&before, p, n - recent);
            if (before.ok && before.low <= o->retained.high
                && before.high >= o->retained.low) {
                tmean_of(&all, p, n);
                o->retained = all;
            }
        }
        resolution(&o->retained);
        half = recent / 2;
        tmean_of(&older, r, half);
        tmean_of(&newer, r + half, recent - half);
        /* falling: the older half clearly kept, the newer clearly less
         * (its interval below the older's) and much less */
        decaying = older.ok && newer.ok && older.low > floor_bytes
                   && newer.high < older.low
                   && newer.value < MT_AN_DECAY * older.value;
        agree = processes_agree(p, n, floor_bytes, &groups,
                                &o->probe_processes);
        straddles = o->retained.low <= floor_bytes
                    && o->retained.value >= floor_bytes;
    }
    o->bloat_bytes = bloat_of(e, o->retained.value, is_churn(o), floor_bytes);
    keeps = o->retained.ok && o->retained.low > floor_bytes && !decaying;
    if (keeps && agree && (serving < 2 || groups >= 2)) {
        o->verdict = MT_VERDICT_LEAK;
        o->leak_bytes_per_request = o->retained.value;
        o->leak_low = o->retained.low;
        o->leak_high = o->retained.high;
        o->confidence = confidence_of(&o->retained, recent, groups, serving);
    }
    else if (keeps) {
        /* it keeps memory, but not yet shown in every process */
        o->verdict = MT_VERDICT_UNKNOWN;
        apr_cpystrn(o->needs, agree ? "probes from a second process"
                    : "processes to agree: one process keeps nothing",
                    sizeof(o->needs));
    }
    else if (!o->retained.ok && e->probes_warmup == 0) {
        /* no probe has measured it: passive figures cannot say whether it
         * keeps what it grows by, so no bloat or churn either */
        o->verdict = MT_VERDICT_UNKNOWN;
        needs_of(o, e, recent, groups, serving, straddles);
    }
    else {
        not_leak(o, o->retained.ok && !straddles, decaying);
        if (o->verdict == MT_VERDICT_UNKNOWN) {
            needs_of(o, e, recent, groups, serving, straddles);
        }
    }
    evidence(o, recent, decaying);
}

/* ---- processes ---- */

static void drift_of(mt_estimate_t *d, const mt_proc_slot_t *s)
{
    double span = (double)(s->gap_last - s->gap_first) / 1e6;
    double n = (double)s->gap_n, mean, var, se;

    memset(d, 0, sizeof(*d));
    if (s->gap_n < 10 || span < 1) {
        return;
    }
    mean = s->gap_sum_bytes / n;
    var = (s->gap_sumsq - n * mean * mean) / (n - 1);
    se = sqrt(var > 0 ? var : 0) * sqrt(n) / span;
    d->value = s->gap_sum_bytes / span;
    d->low = d->value - 1.959964 * se;
    d->high = d->value + 1.959964 * se;
    d->n = (size_t)s->gap_n;
    d->ok = 1;
}

/* Theil-Sen over the history points from request `from` on. */
static void slope_from(mt_estimate_t *est, const mt_proc_slot_t *s,
                       apr_int64_t from)
{
    double x[MT_HIST_POINTS], y[MT_HIST_POINTS];
    double scratch[MT_HIST_POINTS * (MT_HIST_POINTS - 1) / 2];
    unsigned int i, n = 0;

    for (i = 0; i < s->hist_n; i++) {
        if (s->hist[i].requests >= from) {
            x[n] = (double)s->hist[i].requests;
            y[n] = (double)s->hist[i].rss_bytes;
            n++;
        }
    }
    mt_stats_theil_sen(est, x, y, n, scratch);
}

static void proc_verdict(mt_an_process_t *o, const mt_proc_slot_t *s,
                         const mt_state_params_t *params)
{
    apr_int64_t half = s->requests / 2, quarter = s->requests * 3 / 4;
    mt_estimate_t last;
    double window_growth;

    if (half < params->warmup_requests) half = params->warmup_requests;
    slope_from(&o->growth, s, half);
    if (s->requests < MT_AN_PROC_MIN_REQUESTS || !o->growth.ok
        || o->growth.n < MT_AN_PROC_MIN_POINTS) {
        o->verdict = MT_VERDICT_UNKNOWN;
        snprintf(o->evidence, sizeof(o->evidence), "%" APR_INT64_T_FMT
                 " requests: at least %d needed", s->requests,
                 MT_AN_PROC_MIN_REQUESTS);
        return;
    }
    slope_from(&last, s, quarter);
    window_growth = o->growth.value * (double)(s->requests - half);
    if (o->growth.low > MT_AN_PROC_SLOPE_MIN
        && window_growth >= MT_AN_PROC_GROWTH_MIN
        && (!last.ok || last.value >= MT_AN_PROC_SATURATED * o->growth.value)) {
        o->verdict = MT_VERDICT_LEAK;
    }
    else if (s->peak_rss_bytes - s->first_rss_bytes >= MT_AN_PROC_GROWTH_MIN) {
        o->verdict = MT_VERDICT_BLOAT;
    }
    else {
        o->verdict = MT_VERDICT_FLAT;
    }
    snprintf(o->evidence, sizeof(o->evidence), "grows %.0f B per request "
             "(95%% %.0f to %.0f) over its last %" APR_INT64_T_FMT
             " requests, %.0f in the last quarter; %+.1f MiB since its first",
             o->growth.value, o->growth.low, o->growth.high,
             s->requests - half, last.ok ? last.value : 0.0,
             (double)(s->rss_bytes - s->first_rss_bytes) / 1048576.0);
}

void mt_analysis_process(mt_an_process_t *o, const mt_proc_slot_t *s,
                         unsigned int slot, const mt_state_params_t *params)
{
    unsigned int i, n;

    memset(o, 0, sizeof(*o));
    o->slot = slot;
    o->pid = s->pid;
    o->kind = s->kind;
    o->start_ticks = s->start_ticks;
    o->rss_bytes = s->rss_bytes;
    o->peak_rss_bytes = s->peak_rss_bytes;
    o->first_rss_bytes = s->first_rss_bytes;
    o->requests = s->requests;
    o->first_seen = s->first_seen;
    o->last_seen = s->last_seen;
    o->hist_n = s->hist_n;
    memcpy(o->hist, s->hist, sizeof(o->hist));
    n = s->blame_n < MT_BLAME_MAX ? s->blame_n : MT_BLAME_MAX;
    for (i = 0; i < n; i++) {
        o->blame[i] = s->blame[(s->blame_next + MT_BLAME_MAX - 1 - i)
                               % MT_BLAME_MAX];
    }
    o->blame_n = n;
    if (s->exclusive) {
        drift_of(&o->drift, s);
    }
    proc_verdict(o, s, params);
}

/* ---- reports ---- */

unsigned int mt_state_serving(mt_state_t *st, int endpoint, apr_time_t now)
{
    unsigned int i, n = 0;
    apr_uint64_t m;

    if (endpoint < 0 || endpoint > MT_EP_LIMIT) {
        return 0;
    }
    m = (apr_uint64_t)1 << (endpoint % 64);
    for (i = 0; i < st->n; i++) {
        const mt_proc_slot_t *s = &st->slots[i];
        /* unlocked reads of two words: a stale answer is harmless here */
        if (s->pid != 0 && (s->ep_seen[endpoint / 64] & m)
            && now - s->last_seen < apr_time_from_sec(MT_AN_SERVING_SECS)) {
            n++;
        }
    }
    return n;
}

static int ep_rank(const mt_an_endpoint_t *e)
{
    switch (e->verdict) {
    case MT_VERDICT_LEAK:    return 0;
    case MT_VERDICT_UNKNOWN: return 1;
    case MT_VERDICT_BLOAT:   return 2;
    case MT_VERDICT_CHURN:   return 3;
    default:                 return 4;
    }
}

static int ep_cmp(const void *a, const void *b)
{
    const mt_an_endpoint_t *x = a, *y = b;
    double kx, ky;

    if (ep_rank(x) != ep_rank(y)) return ep_rank(x) - ep_rank(y);
    kx = x->verdict == MT_VERDICT_LEAK
         ? x->leak_bytes_per_request * (double)x->requests
         : (double)x->growth_sum_bytes;
    ky = y->verdict == MT_VERDICT_LEAK
         ? y->leak_bytes_per_request * (double)y->requests
         : (double)y->growth_sum_bytes;
    if (kx != ky) return kx > ky ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int proc_cmp(const void *a, const void *b)
{
    const mt_an_process_t *x = a, *y = b;

    if (x->kind != y->kind) return y->kind - x->kind;   /* apps first */
    return (int)x->slot - (int)y->slot;
}

apr_status_t mt_analysis_report(mt_an_report_t **prep, mt_state_t *st,
                                apr_time_t now, apr_pool_t *p)
{
    mt_an_report_t *rep = apr_pcalloc(p, sizeof(*rep));
    mt_ep_slot_t *eps = apr_palloc(p, st->n_eps * sizeof(*eps));
    mt_proc_slot_t *procs = apr_palloc(p, st->n * sizeof(*procs));
    unsigned int *ei = apr_palloc(p, st->n_eps * sizeof(*ei));
    unsigned int *pi = apr_palloc(p, st->n * sizeof(*pi));
    unsigned int i, busy_e = 0, busy_p = 0;

    rep->now = now;
    rep->started = st->hdr->started;
    rep->params = st->hdr->params;
    rep->n_eps = mt_state_copy_endpoints(st, eps, ei, st->n_eps, &busy_e);
    rep->n_procs = mt_state_copy_procs(st, procs, pi, st->n, &busy_p);
    rep->busy = busy_e + busy_p;
    rep->eps = apr_palloc(p, (rep->n_eps ? rep->n_eps : 1) * sizeof(*rep->eps));
    rep->procs = apr_palloc(p, (rep->n_procs ? rep->n_procs : 1)
                               * sizeof(*rep->procs));
    for (i = 0; i < rep->n_eps; i++) {
        mt_analysis_endpoint(&rep->eps[i], &eps[i], ei[i],
                             mt_state_serving(st, (int)ei[i], now),
                             &rep->params);
    }
    for (i = 0; i < rep->n_procs; i++) {
        mt_analysis_process(&rep->procs[i], &procs[i], pi[i], &rep->params);
    }
    qsort(rep->eps, rep->n_eps, sizeof(*rep->eps), ep_cmp);
    qsort(rep->procs, rep->n_procs, sizeof(*rep->procs), proc_cmp);
    rep->skipped = apr_atomic_read32(&st->hdr->skipped);
    rep->ep_overflow = apr_atomic_read32(&st->hdr->ep_overflow);
    rep->probes_asked = apr_atomic_read32(&st->hdr->probes_asked);
    rep->probes_started = apr_atomic_read32(&st->hdr->probes_started);
    rep->probes_done = apr_atomic_read32(&st->hdr->probes_done);
    rep->probes_refused = apr_atomic_read32(&st->hdr->probes_refused);
    *prep = rep;
    return APR_SUCCESS;
}

const char *mt_analysis_ep_name(const mt_an_report_t *rep, int index)
{
    unsigned int i;

    for (i = 0; i < rep->n_eps; i++) {
        if ((int)rep->eps[i].index == index) return rep->eps[i].name;
    }
    return "?";
}

/* The probe weight that follows from a verdict: what is least known gets
 * the probes. */
static unsigned int weight_of(const mt_an_endpoint_t *o)
{
    switch (o->verdict) {
    case MT_VERDICT_LEAK:
        return o->confidence && !strcmp(o->confidence, "high") ? 64 : 256;
    case MT_VERDICT_UNKNOWN:
        return 256;
    case MT_VERDICT_BLOAT:
        return 128;
    default:
        return o->retained.ok && o->probes >= 2 * MT_AN_MIN_PROBES ? 32 : 128;
    }
}

static void refresh(mt_state_t *st, int ep, apr_time_t now)
{
    mt_ep_slot_t copy;
    mt_an_endpoint_t o;

    if (mt_state_copy_endpoint(st, ep, &copy) != APR_SUCCESS) {
        return;                 /* busy: the next result refreshes it */
    }
    mt_analysis_endpoint(&o, &copy, (unsigned int)ep,
                         mt_state_serving(st, ep, now), &st->hdr->params);
    mt_state_cache_verdict(st, ep, weight_of(&o),
                           o.verdict == MT_VERDICT_LEAK, now);
}

apr_status_t mt_analysis_note(mt_state_t *st, const mt_note_t *in,
                              mt_note_out_t *out)
{
    mt_note_out_t local = { 0 };
    mt_note_out_t *o = out ? out : &local;
    apr_status_t rv = mt_state_note(st, in, o);
    int ep;

    if (o->probe_accepted
        && (ep = mt_state_endpoint(st, o->probe_endpoint, 0, in->now)) >= 0) {
        refresh(st, ep, in->now);
    }
    return rv;
}

/* Is every process seen lately flat or bloat, and is there one at all? */
static int all_calm(mt_state_t *st, apr_time_t now)
{
    mt_proc_slot_t copy;
    mt_an_process_t o;
    unsigned int i, n = 0;

    for (i = 0; i < st->n; i++) {
        if (st->slots[i].pid == 0
            || now - st->slots[i].last_seen
               > apr_time_from_sec(MT_AN_SERVING_SECS)
            || mt_state_copy_proc(st, i, &copy) != APR_SUCCESS) {
            continue;
        }
        mt_analysis_process(&o, &copy, i, &st->hdr->params);
        if (o.verdict == MT_VERDICT_LEAK || o.verdict == MT_VERDICT_UNKNOWN) {
            return 0;
        }
        n++;
    }
    return n > 0;
}

unsigned int mt_analysis_probe_rate(mt_state_t *st, unsigned int rate,
                                    apr_time_t now)
{
    apr_uint32_t sec = (apr_uint32_t)apr_time_sec(now);
    apr_uint32_t last = apr_atomic_read32(&st->hdr->calm_sec);

    if (sec - last >= MT_AN_CALM_SECS
        && apr_atomic_cas32(&st->hdr->calm_sec, sec, last) == last) {
        apr_atomic_set32(&st->hdr->calm, (apr_uint32_t)all_calm(st, now));
    }
    return apr_atomic_read32(&st->hdr->calm) ? rate * MT_AN_CALM_FACTOR : rate;
}
