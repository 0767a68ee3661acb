/* mt_status: the query, the helpers the three forms share, and the JSON
 * form. httpd-free; see include/mt_status.h. The HTML form is in
 * mt_status_html.c, the Prometheus form in mt_status_prom.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "mt_heapview.h"
#include "mt_status.h"
#include "mt_util.h"

/* ---- query and content types ---- */

/* Is [s, s+n) the word w? */
static int word_is(const char *s, apr_size_t n, const char *w)
{
    return strlen(w) == n && !strncmp(s, w, n);
}

static int refresh_of(const char *v, apr_size_t n)
{
    apr_int64_t secs = 0;

    if (n > 12 || mt_dec_parse(&secs, v, n, 0, APR_INT64_MAX) != APR_SUCCESS) {
        return 0;
    }
    if (secs < 1) return 1;
    return secs > MT_STATUS_REFRESH_MAX ? MT_STATUS_REFRESH_MAX : (int)secs;
}

void mt_status_query(mt_status_form_e *form, int *refresh, const char *args)
{
    const char *s = args ? args : "";
    int chosen = 0;

    *form = MT_STATUS_HTML;
    *refresh = 0;
    while (*s) {
        apr_size_t n = strcspn(s, "&;");
        apr_size_t k = strcspn(s, "=");
        if (k > n) k = n;
        if (!chosen && (word_is(s, k, "json") || word_is(s, k, "prometheus"))) {
            *form = s[0] == 'j' ? MT_STATUS_JSON : MT_STATUS_PROMETHEUS;
            chosen = 1;
        }
        else if (word_is(s, k, "refresh") && k < n) {
            *refresh = refresh_of(s + k + 1, n - k - 1);
        }
        s += n;
        if (*s) s++;
    }
}

const char *mt_status_content_type(mt_status_form_e form)
{
    switch (form) {
    case MT_STATUS_JSON:       return "application/json";
    case MT_STATUS_PROMETHEUS: return "text/plain; version=0.0.4; charset=utf-8";
    default:                   return "text/html; charset=utf-8";
    }
}

void mt_status_render(mt_buf_t *out, mt_status_form_e form,
                      const mt_an_report_t *rep, const mt_status_info_t *info)
{
    switch (form) {
    case MT_STATUS_JSON:       mt_status_json(out, rep, info); break;
    case MT_STATUS_PROMETHEUS: mt_status_prometheus(out, rep, info); break;
    default:                   mt_status_html(out, rep, info); break;
    }
}

/* ---- shared ---- */

const mt_an_report_t *mt_status_report_or_empty(const mt_an_report_t *rep)
{
    static const mt_an_report_t empty;

    return rep ? rep : &empty;
}

const char *mt_status_kind(int kind)
{
    return kind == MT_STATE_KIND_SELF ? "httpd" : "app";
}

/* n decimal digits of v at p (no NUL). */
static void digits(char *p, int n, long v)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

const char *mt_status_iso(char *out, apr_time_t t)
{
    apr_time_exp_t x;

    if (t < 0 || apr_time_exp_gmt(&x, t) != APR_SUCCESS) {
        apr_cpystrn(out, "1970-01-01T00:00:00.000000Z", 32);
        return out;
    }
    /* by hand: snprintf was most of the JSON's time (a time per point) */
    memcpy(out, "0000-00-00T00:00:00.000000Z", 28);
    digits(out, 4, (x.tm_year + 1900) % 10000);
    digits(out + 5, 2, x.tm_mon + 1);
    digits(out + 8, 2, x.tm_mday);
    digits(out + 11, 2, x.tm_hour);
    digits(out + 14, 2, x.tm_min);
    digits(out + 17, 2, x.tm_sec);
    digits(out + 20, 6, x.tm_usec);
    return out;
}

/* ---- JSON ---- */

/* A comma unless the value opens its object or array. */
static void sep(mt_buf_t *b)
{
    char c = mt_buf_last(b);

    if (c != '{' && c != '[' && c != ':' && c != '\0') {
        mt_buf_putc(b, ',');
    }
}

/* ,"key": (keys are ours: no escaping needed) */
static void key(mt_buf_t *b, const char *k)
{
    sep(b);
    mt_buf_putc(b, '"');
    mt_buf_puts(b, k);
    mt_buf_add(b, "\":", 2);
}

static void j_int(mt_buf_t *b, const char *k, apr_int64_t v)
{
    key(b, k);
    mt_buf_int(b, v);
}

/* A number, or null when !ok. */
static void j_num(mt_buf_t *b, const char *k, double v, int ok)
{
    key(b, k);
    if (ok) mt_buf_num(b, v, 3);
    else    mt_buf_add(b, "null", 4);
}

/* A string, or null when NULL or empty. */
static void j_str(mt_buf_t *b, const char *k, const char *v)
{
    key(b, k);
    mt_buf_json_str(b, v && *v ? v : NULL);
}

/* A time, or null when 0. */
static void j_time(mt_buf_t *b, const char *k, apr_time_t t)
{
    char iso[32];

    j_str(b, k, t ? mt_status_iso(iso, t) : NULL);
}

/* name, name_low, name_high from an estimate (null when !ok). */
static void j_est(mt_buf_t *b, const char *k, const mt_estimate_t *e)
{
    char lo[80], hi[80];

    snprintf(lo, sizeof(lo), "%s_low", k);
    snprintf(hi, sizeof(hi), "%s_high", k);
    j_num(b, k, e->value, e->ok);
    j_num(b, lo, e->low, e->ok);
    j_num(b, hi, e->high, e->ok);
}

static void json_leak(mt_buf_t *b, const mt_an_endpoint_t *e)
{
    int leak = e->verdict == MT_VERDICT_LEAK;

    j_num(b, "leak_bytes_per_request", leak ? e->leak_bytes_per_request : 0, 1);
    j_num(b, "leak_bytes_per_request_low", e->leak_low, leak);
    j_num(b, "leak_bytes_per_request_high", e->leak_high, leak);
    j_str(b, "confidence", leak ? e->confidence : NULL);
    j_time(b, "since", leak ? e->since : 0);
}

/* The servers that call an endpoint a leak (memtrack-report's fleet). */
static void json_leak_on(mt_buf_t *b, const apr_array_header_t *on)
{
    int i;

    key(b, "leak_servers");
    mt_buf_putc(b, '[');
    for (i = 0; on && i < on->nelts; i++) {
        sep(b);
        mt_buf_json_str(b, APR_ARRAY_IDX(on, i, const char *));
    }
    mt_buf_putc(b, ']');
}

static void json_endpoint(mt_buf_t *b, const mt_an_endpoint_t *e,
                          const mt_status_info_t *info, unsigned int i)
{
    sep(b);
    mt_buf_putc(b, '{');
    j_str(b, "endpoint", e->name);
    j_int(b, "index", e->index);
    j_str(b, "verdict", mt_verdict_name(e->verdict));
    json_leak(b, e);
    j_int(b, "bloat_bytes", e->bloat_bytes);
    j_est(b, "retained_bytes_per_request", &e->retained);
    j_int(b, "retained_probes", (apr_int64_t)e->retained.n);
    j_num(b, "alloc_objects_per_request", e->alloc_objects_per_request,
          e->alloc_objects_per_request >= 0);
    j_num(b, "growth_positive_bytes_per_request", e->growth_pos_per_request, 1);
    j_int(b, "requests", e->requests);
    j_int(b, "memory_growth_bytes", e->growth_sum_bytes);
    j_int(b, "memory_growth_positive_bytes", e->growth_pos_sum_bytes);
    j_int(b, "threshold_exceeded_requests", e->threshold_hits);
    j_int(b, "peak_blames", e->blames);
    j_int(b, "peak_blame_bytes", e->blame_bytes);
    j_int(b, "probes", e->probes);
    j_int(b, "probes_warmup", e->probes_warmup);
    j_num(b, "probe_gc_seconds", (double)e->probe_us / 1e6, 1);
    j_int(b, "probe_processes", e->probe_processes);
    j_int(b, "serving_processes", e->serving);
    j_time(b, "last_seen", e->last_seen);
    j_str(b, "needs", e->needs);
    j_str(b, "evidence", e->evidence);
    if (info->ep_leak_on) json_leak_on(b, info->ep_leak_on[i]);
    mt_heapview_json_endpoint(b, info->heapdiff, e->name);
    mt_buf_putc(b, '}');
}

static void json_history(mt_buf_t *b, const mt_an_process_t *p)
{
    unsigned int i;

    key(b, "history");
    mt_buf_putc(b, '[');
    for (i = 0; i < p->hist_n && i < MT_HIST_POINTS; i++) {
        sep(b);
        mt_buf_putc(b, '{');
        j_int(b, "requests", p->hist[i].requests);
        j_int(b, "memory_after", p->hist[i].rss_bytes);
        j_time(b, "time", p->hist[i].at);
        mt_buf_putc(b, '}');
    }
    mt_buf_putc(b, ']');
}

static void json_blame(mt_buf_t *b, const mt_an_report_t *rep,
                       const mt_an_process_t *p)
{
    unsigned int i;

    key(b, "peak_blame");
    mt_buf_putc(b, '[');
    for (i = 0; i < p->blame_n && i < MT_BLAME_MAX; i++) {
        const mt_blame_t *bl = &p->blame[i];
        sep(b);
        mt_buf_putc(b, '{');
        j_str(b, "request_id", bl->request_id);
        j_str(b, "endpoint", mt_analysis_ep_name(rep, bl->endpoint));
        j_int(b, "raised_bytes", bl->raised_bytes);
        j_int(b, "memory_peak_bytes", bl->peak_bytes);
        j_time(b, "time", bl->at);
        mt_buf_putc(b, '}');
    }
    mt_buf_putc(b, ']');
}

static void json_process(mt_buf_t *b, const mt_an_report_t *rep,
                         const mt_an_process_t *p, const char *server)
{
    sep(b);
    mt_buf_putc(b, '{');
    if (server) j_str(b, "server", server);
    j_str(b, "kind", mt_status_kind(p->kind));
    j_str(b, "target", p->kind == MT_STATE_KIND_SELF ? "self" : "backend");
    j_int(b, "slot", p->slot);
    j_int(b, "pid", p->pid);
    j_str(b, "verdict", mt_verdict_name(p->verdict));
    j_int(b, "memory_after", p->rss_bytes);
    j_int(b, "memory_peak_bytes", p->peak_rss_bytes);
    j_int(b, "memory_first_bytes", p->first_rss_bytes);
    j_int(b, "requests", p->requests);
    j_time(b, "first_seen", p->first_seen);
    j_time(b, "last_seen", p->last_seen);
    j_est(b, "growth_bytes_per_request", &p->growth);
    j_est(b, "drift_bytes_per_second", &p->drift);
    j_str(b, "evidence", p->evidence);
    json_history(b, p);
    json_blame(b, rep, p);
    mt_buf_putc(b, '}');
}

static void json_counters(mt_buf_t *b, const mt_an_report_t *rep)
{
    key(b, "params");
    mt_buf_putc(b, '{');
    j_int(b, "endpoints_max", rep->params.endpoints);
    j_int(b, "processes_max", rep->params.procs);
    j_int(b, "leak_min_bytes", rep->params.leak_min_bytes);
    j_int(b, "warmup_requests", rep->params.warmup_requests);
    mt_buf_putc(b, '}');
    key(b, "counters");
    mt_buf_putc(b, '{');
    j_int(b, "busy_slots", rep->busy);
    j_int(b, "updates_skipped", rep->skipped);
    j_int(b, "other_requests", rep->ep_overflow);
    j_int(b, "probes_asked", rep->probes_asked);
    j_int(b, "probes_started", rep->probes_started);
    j_int(b, "probes_done", rep->probes_done);
    j_int(b, "probes_refused", rep->probes_refused);
    mt_buf_putc(b, '}');
}

static void json_sinks(mt_buf_t *b, const mt_status_info_t *info)
{
    unsigned int i;

    key(b, "sinks");
    mt_buf_putc(b, '[');
    for (i = 0; i < info->n_sinks; i++) {
        sep(b);
        mt_buf_putc(b, '{');
        j_str(b, "sink", info->sinks[i].kind);
        j_str(b, "name", info->sinks[i].name);
        j_int(b, "records_written", (apr_int64_t)info->sinks[i].written);
        j_int(b, "records_dropped", (apr_int64_t)info->sinks[i].dropped);
        mt_buf_putc(b, '}');
    }
    mt_buf_putc(b, ']');
}

static void json_head(mt_buf_t *b, const mt_an_report_t *rep,
                      const mt_status_info_t *info)
{
    j_int(b, "schema", MT_STATUS_SCHEMA);
    j_str(b, "version", info->version);
    j_str(b, "server", info->server);
    j_time(b, "time", info->generated);
    j_time(b, "state_started", rep->started);
    j_num(b, "uptime_seconds", rep->started && info->generated > rep->started
          ? (double)(info->generated - rep->started) / 1e6 : 0, 1);
    j_str(b, "problem", info->problem);
}

void mt_status_json(mt_buf_t *b, const mt_an_report_t *report,
                    const mt_status_info_t *info)
{
    mt_status_json_object(b, report, info);
    mt_buf_putc(b, '\n');
}

void mt_status_json_object(mt_buf_t *b, const mt_an_report_t *report,
                           const mt_status_info_t *info)
{
    const mt_an_report_t *rep = mt_status_report_or_empty(report);
    unsigned int i;

    mt_buf_putc(b, '{');
    json_head(b, rep, info);
    json_counters(b, rep);
    json_sinks(b, info);
    mt_heapview_json(b, info->heapdiff);
    key(b, "endpoints");
    mt_buf_putc(b, '[');
    for (i = 0; i < rep->n_eps; i++) {
        json_endpoint(b, &rep->eps[i], info, i);
    }
    mt_buf_putc(b, ']');
    key(b, "processes");
    mt_buf_putc(b, '[');
    for (i = 0; i < rep->n_procs; i++) {
        json_process(b, rep, &rep->procs[i],
                     info->proc_servers ? info->proc_servers[i] : NULL);
    }
    mt_buf_add(b, "]}", 2);
}
