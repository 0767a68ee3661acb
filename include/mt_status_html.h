/* mt_status_html: what the HTML form's files share (mt_status_html.c, the
 * page; mt_status_svg.c, its charts; mt_status_human.c, its figures). Internal to the status
 * renderers; the human figures are in mt_status_human.c. */
#ifndef MT_STATUS_HTML_H
#define MT_STATUS_HTML_H

#include "mt_analysis.h"
#include "mt_buf.h"
#include "mt_status.h"

#define KIB 1024.0
#define MIB (1024.0 * 1024.0)

/* v, or 0 when it is not finite. */
double mt_html_finite(double v);
/* "512 B", "48.8 KiB", "1.3 MiB", "2.05 GiB"; sign: "+" before growth. */
void mt_html_bytes(mt_buf_t *b, double v, int sign);
/* "3 min ago", "now" */
void mt_html_ago(mt_buf_t *b, apr_time_t t, apr_time_t now);
/* The colour of a verdict's line. */
const char *mt_html_colour(mt_verdict_e v);
/* 1234567 -> "1,234,567" */
void mt_html_count(mt_buf_t *b, apr_int64_t v);
/* "45 s", "12 min", "4.2 h", "3.1 d" */
void mt_html_dur(mt_buf_t *b, double secs);
/* "2026-11-22 04:08:43 UTC" */
void mt_html_time(mt_buf_t *b, apr_time_t t);
/* The verdict as a coloured badge. */
void mt_html_badge(mt_buf_t *b, mt_verdict_e v);
/* "48.8 KiB (95%: 47.1 KiB to 50.5 KiB)" */
void mt_html_interval(mt_buf_t *b, double v, double lo, double hi);

/* A process's resident memory over its life. */
void mt_svg_memory(mt_buf_t *b, const mt_an_report_t *rep,
                   const mt_an_process_t *p);
/* A leak's estimate and 95% interval against the leak floor. */
void mt_svg_interval(mt_buf_t *b, const mt_an_endpoint_t *e,
                     double floor_bytes);

/* The page's sections, for memtrack-report's page too (info may carry the
 * report's anchor, servers and leak_on; NULL: the status page's). */
extern const char *const mt_status_html_css;
void mt_status_html_summary(mt_buf_t *b, const mt_an_report_t *rep);
void mt_status_html_suspects(mt_buf_t *b, const mt_an_report_t *rep,
                             const mt_status_info_t *info);
void mt_status_html_endpoints(mt_buf_t *b, const mt_an_report_t *rep,
                              const mt_status_info_t *info);
/* One process's card; server: shown after its pid, or NULL. */
void mt_status_html_process(mt_buf_t *b, const mt_an_report_t *rep,
                            const mt_an_process_t *p, const char *server,
                            const mt_status_info_t *info);

#endif
