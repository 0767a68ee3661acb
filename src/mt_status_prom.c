/* mt_status_prom: the ?prometheus form, text exposition format 0.0.4.
 *
 * httpd-free; see include/mt_status.h. Every family has its HELP and TYPE
 * lines, counters end in _total, units are in the names. Label values are
 * escaped (mt_buf_label) and made unique: two endpoint names that only
 * differ in invalid bytes would escape to the same label, and a repeated
 * series is an error to Prometheus, so a repeat gets "#<index>" added.
 * Label cardinality is bounded by MemTrackEndpoints (endpoints) and the
 * process slots. The names are fixed by DESIGN.md ("Seeing it") and listed
 * with their units in README.
 */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "mt_status.h"

static void family(mt_buf_t *b, const char *name, const char *type,
                   const char *help)
{
    mt_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The endpoints' label values, escaped and unique. */
static const char **endpoint_labels(const mt_an_report_t *rep, apr_pool_t *p)
{
    const char **out = apr_palloc(p, (rep->n_eps + 1) * sizeof(*out));
    apr_hash_t *seen = apr_hash_make(p);
    unsigned int i;
    mt_buf_t b;

    for (i = 0; i < rep->n_eps; i++) {
        mt_buf_init(&b, 256, p);
        mt_buf_label(&b, rep->eps[i].name);
        while (apr_hash_get(seen, b.data, (apr_ssize_t)b.len)) {
            mt_buf_printf(&b, "#%u", rep->eps[i].index);
        }
        apr_hash_set(seen, b.data, (apr_ssize_t)b.len, "");
        out[i] = b.data;
    }
    return out;
}

/* What one endpoint family shows of an endpoint. */
typedef double (*ep_value_fn)(const mt_an_endpoint_t *e);

static double ep_requests(const mt_an_endpoint_t *e) { return (double)e->requests; }
static double ep_growth(const mt_an_endpoint_t *e) { return (double)e->growth_pos_sum_bytes; }
static double ep_net(const mt_an_endpoint_t *e) { return (double)e->growth_sum_bytes; }
static double ep_hits(const mt_an_endpoint_t *e) { return (double)e->threshold_hits; }
static double ep_blames(const mt_an_endpoint_t *e) { return (double)e->blames; }
static double ep_probes(const mt_an_endpoint_t *e)
{
    return (double)(e->probes + e->probes_warmup);
}
static double ep_bloat(const mt_an_endpoint_t *e) { return (double)e->bloat_bytes; }
static int is_leak(const mt_an_endpoint_t *e) { return e->verdict == MT_VERDICT_LEAK; }
static double ep_suspected(const mt_an_endpoint_t *e) { return is_leak(e); }
static double ep_leak(const mt_an_endpoint_t *e)
{
    return is_leak(e) ? e->leak_bytes_per_request : 0;
}
static double ep_leak_low(const mt_an_endpoint_t *e) { return is_leak(e) ? e->leak_low : 0; }
static double ep_leak_high(const mt_an_endpoint_t *e) { return is_leak(e) ? e->leak_high : 0; }

typedef struct prom_family_t {
    const char *name, *type, *help;
    ep_value_fn value;
} prom_family_t;

/* The per-endpoint families, in output order. */
static const prom_family_t ep_families[] = {
    { "memtrack_requests_total", "counter",
      "Requests recorded, per endpoint.", ep_requests },
    { "memtrack_endpoint_growth_bytes_total", "counter",
      "Resident memory growth of the endpoint's requests, bytes, summed over "
      "the requests that grew their process (passive: often paid by the "
      "wrong endpoint; the verdict is the answer).", ep_growth },
    { "memtrack_endpoint_net_growth_bytes", "gauge",
      "Signed sum of the resident memory growth of the endpoint's requests, "
      "bytes.", ep_net },
    { "memtrack_threshold_exceeded_total", "counter",
      "Requests whose growth crossed MemTrackThreshold.", ep_hits },
    { "memtrack_endpoint_leak_suspected", "gauge",
      "1 when the endpoint's verdict is leak, else 0.", ep_suspected },
    { "memtrack_endpoint_leak_bytes_per_request", "gauge",
      "Bytes each request of a leaking endpoint keeps (0 when no leak).",
      ep_leak },
    { "memtrack_endpoint_leak_bytes_per_request_low", "gauge",
      "Lower end of the 95% interval of the leak, bytes per request (0 when "
      "no leak).", ep_leak_low },
    { "memtrack_endpoint_leak_bytes_per_request_high", "gauge",
      "Upper end of the 95% interval of the leak, bytes per request (0 when "
      "no leak).", ep_leak_high },
    { "memtrack_endpoint_bloat_bytes", "gauge",
      "One-time growth of the endpoint (warm-up, a cache filled), bytes.",
      ep_bloat },
    { "memtrack_endpoint_peak_blame_total", "counter",
      "Requests of the endpoint that raised a process's peak resident "
      "memory.", ep_blames },
    { "memtrack_endpoint_probes_total", "counter",
      "Probe results (what one request retained, measured by the "
      "companion) counted for the endpoint.", ep_probes },
};

static void ep_family(mt_buf_t *b, const mt_an_report_t *rep,
                      const char **labels, const prom_family_t *f)
{
    unsigned int i;

    family(b, f->name, f->type, f->help);
    for (i = 0; i < rep->n_eps; i++) {
        mt_buf_printf(b, "%s{endpoint=\"%s\"} ", f->name, labels[i]);
        mt_buf_num(b, f->value(&rep->eps[i]), 3);
        mt_buf_putc(b, '\n');
    }
}

static void ep_verdicts(mt_buf_t *b, const mt_an_report_t *rep,
                        const char **labels)
{
    static const mt_verdict_e all[] = { MT_VERDICT_LEAK, MT_VERDICT_BLOAT,
        MT_VERDICT_CHURN, MT_VERDICT_FLAT, MT_VERDICT_UNKNOWN };
    unsigned int i, v;

    family(b, "memtrack_endpoint_verdict", "gauge",
           "The endpoint's verdict: 1 for the one it has, 0 for the others "
           "(leak, bloat, churn, flat, unknown).");
    for (i = 0; i < rep->n_eps; i++) {
        for (v = 0; v < sizeof(all) / sizeof(all[0]); v++) {
            mt_buf_printf(b, "memtrack_endpoint_verdict{endpoint=\"%s\","
                          "verdict=\"%s\"} %d\n", labels[i],
                          mt_verdict_name(all[v]),
                          rep->eps[i].verdict == all[v]);
        }
    }
}

/* What one process family shows of a process. */
typedef double (*proc_value_fn)(const mt_an_process_t *p);

static double pr_rss(const mt_an_process_t *p) { return (double)p->rss_bytes; }
static double pr_peak(const mt_an_process_t *p) { return (double)p->peak_rss_bytes; }
static double pr_requests(const mt_an_process_t *p) { return (double)p->requests; }
static double pr_drift(const mt_an_process_t *p) { return p->drift.ok ? p->drift.value : 0; }
static double pr_growth(const mt_an_process_t *p) { return p->growth.ok ? p->growth.value : 0; }
static double pr_leak(const mt_an_process_t *p) { return p->verdict == MT_VERDICT_LEAK; }
static double pr_started(const mt_an_process_t *p) { return (double)p->first_seen / 1e6; }

typedef struct prom_proc_family_t {
    const char *name, *type, *help;
    proc_value_fn value;
} prom_proc_family_t;

static const prom_proc_family_t proc_families[] = {
    { "memtrack_process_resident_memory_bytes", "gauge",
      "Resident memory of the process at its last request, bytes.", pr_rss },
    { "memtrack_process_peak_resident_memory_bytes", "gauge",
      "Highest resident memory seen after one of the process's requests, "
      "bytes.", pr_peak },
    { "memtrack_process_requests_total", "counter",
      "Requests the process served (starts over when a new process takes "
      "the slot).", pr_requests },
    { "memtrack_process_drift_bytes_per_second", "gauge",
      "Growth of the process between its requests, bytes per second: what "
      "no request explains (0 when not measured).", pr_drift },
    { "memtrack_process_growth_bytes_per_request", "gauge",
      "Trend of the process's resident memory over the second half of its "
      "life, bytes per request (0 when not known yet).", pr_growth },
    { "memtrack_process_leak_suspected", "gauge",
      "1 when the process's own memory trend says leak, else 0.", pr_leak },
    { "memtrack_process_first_seen_timestamp_seconds", "gauge",
      "When the process's first request was recorded, Unix time.",
      pr_started },
};

static void proc_family(mt_buf_t *b, const mt_an_report_t *rep,
                        const prom_proc_family_t *f)
{
    unsigned int i;

    family(b, f->name, f->type, f->help);
    for (i = 0; i < rep->n_procs; i++) {
        const mt_an_process_t *p = &rep->procs[i];
        mt_buf_printf(b, "%s{kind=\"%s\",slot=\"%u\"} ", f->name,
                      mt_status_kind(p->kind), p->slot);
        mt_buf_num(b, f->value(p), 3);
        mt_buf_putc(b, '\n');
    }
}

/* The sinks' label: the kind, made unique like the endpoints'. */
static void sink_family(mt_buf_t *b, const mt_status_info_t *info,
                        int dropped)
{
    const char *name = dropped ? "memtrack_records_dropped_total"
                               : "memtrack_records_written_total";
    unsigned int i, j, same;

    family(b, name, "counter", dropped
           ? "Records a sink dropped (full pipe, Redis slow or down), in the "
             "httpd child that served this page."
           : "Records a sink took, in the httpd child that served this page.");
    for (i = 0; i < info->n_sinks; i++) {
        const mt_status_sink_t *s = &info->sinks[i];
        for (j = 0, same = 0; j < i; j++) {
            same += !strcmp(info->sinks[j].kind, s->kind);
        }
        mt_buf_printf(b, "%s{sink=\"", name);
        mt_buf_label(b, s->kind);
        if (same) mt_buf_printf(b, "#%u", same + 1);
        mt_buf_add(b, "\"} ", 3);
        mt_buf_int(b, (apr_int64_t)(dropped ? s->dropped : s->written));
        mt_buf_putc(b, '\n');
    }
}

static void one(mt_buf_t *b, const char *name, const char *type,
                const char *help, apr_int64_t v)
{
    family(b, name, type, help);
    mt_buf_printf(b, "%s ", name);
    mt_buf_int(b, v);
    mt_buf_putc(b, '\n');
}

static void state_families(mt_buf_t *b, const mt_an_report_t *rep)
{
    family(b, "memtrack_probes_total", "counter",
           "Probes by outcome: asked of the app, started by it, results "
           "accepted, results refused.");
    mt_buf_printf(b, "memtrack_probes_total{outcome=\"asked\"} %u\n"
                  "memtrack_probes_total{outcome=\"started\"} %u\n"
                  "memtrack_probes_total{outcome=\"done\"} %u\n"
                  "memtrack_probes_total{outcome=\"refused\"} %u\n",
                  rep->probes_asked, rep->probes_started, rep->probes_done,
                  rep->probes_refused);
    one(b, "memtrack_state_updates_skipped_total", "counter",
        "Updates of the shared state skipped because a slot was busy.",
        rep->skipped);
    one(b, "memtrack_endpoint_overflow_requests_total", "counter",
        "Requests counted as endpoint \"other\" because MemTrackEndpoints "
        "was reached.", rep->ep_overflow);
    one(b, "memtrack_state_busy_slots", "gauge",
        "Slots this page skipped because a writer held them.", rep->busy);
}

void mt_status_prometheus(mt_buf_t *b, const mt_an_report_t *report,
                          const mt_status_info_t *info)
{
    const mt_an_report_t *rep = mt_status_report_or_empty(report);
    const char **labels = endpoint_labels(rep, b->pool);
    unsigned int i;

    family(b, "memtrack_build_info", "gauge",
           "The version of mod_memtrack; always 1.");
    mt_buf_puts(b, "memtrack_build_info{version=\"");
    mt_buf_label(b, info->version);
    mt_buf_add(b, "\"} 1\n", 5);
    for (i = 0; i < sizeof(ep_families) / sizeof(ep_families[0]); i++) {
        ep_family(b, rep, labels, &ep_families[i]);
    }
    ep_verdicts(b, rep, labels);
    for (i = 0; i < sizeof(proc_families) / sizeof(proc_families[0]); i++) {
        proc_family(b, rep, &proc_families[i]);
    }
    sink_family(b, info, 0);
    sink_family(b, info, 1);
    state_families(b, rep);
}
