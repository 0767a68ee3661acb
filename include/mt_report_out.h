/* mt_report_out: what memtrack-report prints, from the finished analysis.
 *
 * httpd-free. A view holds the analysis of the fleet and of every server
 * (mt_analysis_report, the module's own verdicts) and what the inputs gave;
 * three renderers write it:
 *
 *   text  (mt_report_text.c) leak suspects and endpoints ranked by growth,
 *         for the fleet and per server, in 80 columns;
 *   JSON  (mt_report_json.c) the status page's ?json schema for the fleet
 *         and for every server (mt_status_json_object), plus the input;
 *   HTML  (mt_report_html.c) one self-contained file: the status page's
 *         sections (mt_status_html.c) per server, charts of memory over
 *         time per process and server, growth per endpoint, verdicts with
 *         their intervals, peak blame, and how to read it.
 *
 * More results (a heap diff, say) join as one entry in mt_report_sections
 * (mt_report_view.c): a key, and a writer for each form; every renderer
 * walks that table after its own sections.
 */
#ifndef MT_REPORT_OUT_H
#define MT_REPORT_OUT_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "mt_analysis.h"
#include "mt_buf.h"
#include "mt_report.h"

typedef struct mt_report_view_t {
    mt_report_t              *r;
    const mt_report_source_t *src;
    unsigned int              n_src;
    const char               *version;
    apr_time_t                generated;   /* when the report was made */
    mt_an_report_t           *fleet;
    const char *const        *fleet_servers;  /* per fleet->procs[i] */
    /* per fleet->eps[i]: the servers whose own verdict is leak */
    const apr_array_header_t **leak_on;
    mt_an_report_t          **servers;     /* r->n_servers */
    unsigned int             *order;       /* the servers by name */
    apr_pool_t               *pool;
} mt_report_view_t;

/* Build the view: every analysis, as of each one's last record. */
apr_status_t mt_report_view(mt_report_view_t *v, mt_report_t *r,
                            const mt_report_source_t *src, unsigned int n,
                            apr_pool_t *p);

void mt_report_text(mt_buf_t *b, const mt_report_view_t *v);
void mt_report_json(mt_buf_t *b, const mt_report_view_t *v);
void mt_report_html(mt_buf_t *b, const mt_report_view_t *v);

/* One section of every output beyond the analysis's own. */
typedef struct mt_report_section_t {
    const char *key;                 /* its JSON key; NULL ends the table */
    void (*text)(mt_buf_t *b, const mt_report_view_t *v);
    void (*json)(mt_buf_t *b, const mt_report_view_t *v);  /* the value */
    void (*html)(mt_buf_t *b, const mt_report_view_t *v);
} mt_report_section_t;

extern const mt_report_section_t mt_report_sections[];

/* Shared by the renderers: the records' time span of a report. */
apr_time_t mt_report_first(const mt_report_view_t *v);
apr_time_t mt_report_last(const mt_report_view_t *v);

#endif
