/* mt_status: the status page of `SetHandler memtrack-status`, rendered from
 * an analysis report (mt_analysis_report) in three forms:
 *
 *   HTML        for people: leak suspects first, every endpoint's verdict
 *               with its estimate and 95% interval, every process with an
 *               inline SVG chart of its memory over its life, the sinks'
 *               counters, and how to read it all. No script, no external
 *               file: it works offline and in any browser.
 *   ?json       the same data for programs, with a top-level "schema".
 *   ?prometheus text exposition format 0.0.4, clean under
 *               `promtool check metrics`.
 *
 * httpd-free (the glue is mod_memtrack_status.c), so the renderers are
 * unit-tested on synthetic reports and tools/mt-status-bench.c times them.
 * Every string an app or a client controls (endpoint names, request ids)
 * goes through mt_buf's escapers; no number is ever NaN or inf.
 * README's "Status page" section lists every JSON field and metric.
 */
#ifndef MT_STATUS_H
#define MT_STATUS_H

#include <apr_pools.h>
#include <apr_time.h>
#include <apr_tables.h>

#include "mt_analysis.h"
#include "mt_buf.h"
#include "mt_heapctl.h"
#include "mt_limits.h"

/* SetHandler memtrack-status: the status glue (mod_memtrack_status.c)
 * answers GET, the heap diff's glue (mod_memtrack_heapdiff.c) a POST. */
#define MT_STATUS_HANDLER     "memtrack-status"
#define MT_STATUS_SCHEMA      1     /* of ?json: +1 on any incompatible change */

typedef enum {
    MT_STATUS_HTML = 0,
    MT_STATUS_JSON,
    MT_STATUS_PROMETHEUS
} mt_status_form_e;

/* One sink's counters, as the page shows them. */
typedef struct mt_status_sink_t {
    const char  *name;           /* "MemTrackLog /var/log/..." (no password) */
    const char  *kind;           /* "log" or "redis": the metrics' label */
    apr_uint64_t written;        /* records taken */
    apr_uint64_t dropped;        /* records dropped */
} mt_status_sink_t;

/* What the page says besides the report. */
typedef struct mt_status_info_t {
    const char  *version;        /* the module's */
    const char  *server;         /* this web server's host name */
    apr_time_t   generated;      /* when the page was made */
    int          refresh_seconds;/* HTML: reload after this; 0 never */
    const mt_status_sink_t *sinks;
    unsigned int n_sinks;
    const char  *problem;        /* why there is no analysis (no shared
                                  * state), or NULL */
    /* memtrack-report's (NULL on the status page): */
    const char *const *proc_servers; /* the server of rep->procs[i]: a
                                  * "server" in each ?json process, and on
                                  * its HTML card */
    const apr_array_header_t *const *ep_leak_on;  /* per rep->eps[i]: the
                                  * servers whose own verdict is leak
                                  * ("leak_servers"; "on ..." in HTML) */
    const char  *anchor;         /* prefix of the HTML ids, so that several
                                  * reports share one page; NULL: none */
    const mt_heapctl_view_t *heapdiff;  /* heap diffs (mt_heapview), NULL
                                  * when not configured */
} mt_status_info_t;

/* The form and refresh a query string asks for: "json", "prometheus"
 * (the first of them wins; HTML otherwise), "refresh=N" (N clamped to
 * 1..MT_STATUS_REFRESH_MAX; 0 when absent or not a number). args may be
 * NULL. */
void mt_status_query(mt_status_form_e *form, int *refresh, const char *args);

/* The Content-Type of a form. */
const char *mt_status_content_type(mt_status_form_e form);

/* Append the page in one form to out. rep may be NULL (no analysis: an
 * empty page that says info->problem). */
void mt_status_html(mt_buf_t *out, const mt_an_report_t *rep,
                    const mt_status_info_t *info);
void mt_status_json(mt_buf_t *out, const mt_an_report_t *rep,
                    const mt_status_info_t *info);
/* The same JSON object without the final newline (for documents that hold
 * several: memtrack-report). */
void mt_status_json_object(mt_buf_t *out, const mt_an_report_t *rep,
                           const mt_status_info_t *info);
void mt_status_prometheus(mt_buf_t *out, const mt_an_report_t *rep,
                          const mt_status_info_t *info);
void mt_status_render(mt_buf_t *out, mt_status_form_e form,
                      const mt_an_report_t *rep, const mt_status_info_t *info);

/* Shared by the renderers (mt_status.c). */
const mt_an_report_t *mt_status_report_or_empty(const mt_an_report_t *rep);
/* "httpd" or "app" */
const char *mt_status_kind(int kind);
/* ISO 8601 UTC with microseconds into out (32 bytes). */
const char *mt_status_iso(char *out, apr_time_t t);

#endif
