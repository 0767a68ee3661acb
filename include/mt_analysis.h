/* mt_analysis: leak, bloat or churn, from what mt_state kept.
 *
 * httpd-free. The module's status handler and memtrack-report both call
 * mt_analysis_report() over their own mt_state; the method is written
 * down in docs/analysis.md. In short:
 *
 * Endpoints are judged on probes: the retained bytes that single requests
 * were measured to keep (mt_state's probe ring). The recent half of an
 * endpoint's probes gives a trimmed mean with Yuen's 95% interval; an
 * endpoint is a leak when the interval lies above the leak floor
 * (MemTrackLeakMin), the newer half of those probes has not fallen below
 * half the older half (a cache filling up slows down; a leak does not), and
 * every process with enough probes agrees. Bloat is memory that came once:
 * first calls and rare large steps of the passive figures, warm-up probes,
 * or probes that fell away to nothing. Churn allocates a lot (the app's
 * allocation counts) and keeps nothing. Flat is neither, with enough
 * probes to say so; unknown says what is missing.
 *
 * Processes are judged passively, on their resident-size history: a
 * Theil-Sen slope over the second half of their life with Kendall's
 * interval, a leak when it is clearly positive, the growth is large and the
 * last quarter still grows; bloat when they grew and stopped. Their drift
 * is the growth between requests, per second.
 */
#ifndef MT_ANALYSIS_H
#define MT_ANALYSIS_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mt_limits.h"
#include "mt_state.h"
#include "mt_stats.h"

typedef enum {
    MT_VERDICT_UNKNOWN = 0,
    MT_VERDICT_FLAT,
    MT_VERDICT_CHURN,
    MT_VERDICT_BLOAT,
    MT_VERDICT_LEAK
} mt_verdict_e;

/* The thresholds of the method (MT_AN_*): mt_limits.h. */

/* "leak", "bloat", "churn", "flat" or "unknown". */
const char *mt_verdict_name(mt_verdict_e v);

typedef struct mt_an_endpoint_t {
    unsigned int index;              /* endpoint slot, 0 "other" */
    char         name[MT_EP_NAME_MAX + 1];
    mt_verdict_e verdict;
    const char  *confidence;         /* "low" "medium" "high"; NULL unless leak */
    mt_estimate_t retained;          /* bytes kept per request, recent probes
                                      * (ok 0 when too few) */
    double       leak_bytes_per_request;  /* = retained when leak, else 0 */
    double       leak_low, leak_high;
    apr_time_t   since;              /* leak first reached, 0 */
    apr_int64_t  bloat_bytes;        /* one-time growth, estimated */
    double       alloc_objects_per_request;  /* -1 when the app never said */
    double       growth_pos_per_request;     /* mean positive RSS growth */
    apr_int64_t  requests;
    apr_int64_t  growth_sum_bytes;   /* RSS growth of its requests (passive) */
    apr_int64_t  growth_pos_sum_bytes;  /* only the growths above 0: never
                                      * falls (a counter for Prometheus) */
    apr_int64_t  threshold_hits;
    apr_int64_t  blames;             /* requests that raised a peak */
    apr_int64_t  blame_bytes;
    apr_int64_t  probes;             /* steady probe results */
    apr_int64_t  probes_warmup;
    apr_int64_t  probe_us;
    unsigned int probe_processes;    /* processes among the recent probes */
    unsigned int serving;            /* processes that served it lately */
    apr_time_t   last_seen;
    char         needs[128];         /* unknown: what more it needs */
    char         evidence[256];      /* the figures the verdict rests on */
} mt_an_endpoint_t;

typedef struct mt_an_process_t {
    unsigned int slot;               /* stable while the process lives */
    int          pid;
    int          kind;               /* MT_STATE_KIND_* */
    apr_uint64_t start_ticks;
    apr_int64_t  rss_bytes, peak_rss_bytes, first_rss_bytes, requests;
    apr_time_t   first_seen, last_seen;
    mt_verdict_e verdict;            /* leak, bloat, flat or unknown */
    mt_estimate_t growth;            /* bytes per request, second half */
    mt_estimate_t drift;             /* bytes per second between requests;
                                      * ok 0 when not measured */
    char         evidence[256];
    unsigned int hist_n;
    mt_hist_point_t hist[MT_HIST_POINTS];
    unsigned int blame_n;            /* in blame[], newest first */
    mt_blame_t   blame[MT_BLAME_MAX];
} mt_an_process_t;

typedef struct mt_an_report_t {
    apr_time_t         now;
    apr_time_t         started;      /* the state's */
    mt_state_params_t  params;
    unsigned int       n_eps;        /* leak suspects first */
    mt_an_endpoint_t  *eps;
    unsigned int       n_procs;      /* by kind, then slot */
    mt_an_process_t   *procs;
    unsigned int       busy;         /* slots skipped: busy */
    apr_uint32_t       skipped, ep_overflow, probes_asked, probes_started,
                       probes_done, probes_refused;
} mt_an_report_t;

/* Judge one endpoint from a copy of its slot. serving: processes that
 * served it lately (mt_state_serving). */
void mt_analysis_endpoint(mt_an_endpoint_t *out, const mt_ep_slot_t *e,
                          unsigned int index, unsigned int serving,
                          const mt_state_params_t *params);

/* Judge one process from a copy of its slot. */
void mt_analysis_process(mt_an_process_t *out, const mt_proc_slot_t *s,
                         unsigned int slot, const mt_state_params_t *params);

/* How many processes seen in the last MT_AN_SERVING_SECS before now served
 * endpoint index. */
unsigned int mt_state_serving(mt_state_t *st, int endpoint, apr_time_t now);

/* Everything, for the status page and the report. */
apr_status_t mt_analysis_report(mt_an_report_t **rep, mt_state_t *st,
                                apr_time_t now, apr_pool_t *p);

/* The name of endpoint index in a report, "?" when absent. */
const char *mt_analysis_ep_name(const mt_an_report_t *rep, int index);

/* The probe rate to use now: rate, or MT_AN_CALM_FACTOR times rarer while
 * every process seen in the last MT_AN_SERVING_SECS is judged flat or
 * bloat (none leaking or unknown). Judged again at most every
 * MT_AN_CALM_SECS, by the one caller that wins the turn (about 0.1 ms per
 * live process); the others read the last answer. */
unsigned int mt_analysis_probe_rate(mt_state_t *st, unsigned int rate,
                                    apr_time_t now);

/* mt_state_note, then, when a probe result was counted, the endpoint's
 * verdict refreshed: its probe weight and leak "since". */
apr_status_t mt_analysis_note(mt_state_t *st, const mt_note_t *in,
                              mt_note_out_t *out);

#endif
