/* mt_report_svg: memtrack-report's charts (inline SVG), for its HTML
 * (mt_report_html.c). httpd-free. */
#ifndef MT_REPORT_SVG_H
#define MT_REPORT_SVG_H

#include "mt_analysis.h"
#include "mt_buf.h"

/* Every process of one server (up to 12, apps first): resident memory over
 * time, one line each, and a legend. */
void mt_report_svg_server(mt_buf_t *b, const mt_an_report_t *rep,
                          const char *name);

/* The max endpoints that grew most: passive growth beside what the probes
 * say they kept. */
void mt_report_svg_growth(mt_buf_t *b, const mt_an_report_t *rep,
                          unsigned int max);

/* Kept per request with its 95% interval, against the leak floor, for the
 * first max endpoints (in the report's order) that have an estimate. */
void mt_report_svg_intervals(mt_buf_t *b, const mt_an_report_t *rep,
                             unsigned int max);

#endif
