/* mt_heapview: heap diffs as JSON and HTML.
 *
 * httpd-free. One result (mt_heapctl_result_t: the attempt, its snapshots
 * and the diff's ranked rows) is one small JSON document: the module
 * writes it to MemTrackHeapDiffDir/memtrack-heapdiff-TOKEN.json, the
 * status page's ?json carries it per endpoint ("heap_diff"), and
 * build/memtrack-heapdiff prints the same "diff" object. README's "Heap
 * diffs" section lists every field. The status page's parts (a top-level
 * "heap_diff" object in ?json, the HTML section with its forms, the line
 * beside an endpoint's verdict) are here too, so that the status renderers
 * only call in.
 */
#ifndef MT_HEAPVIEW_H
#define MT_HEAPVIEW_H

#include "mt_buf.h"
#include "mt_heapctl.h"

#define MT_HEAPVIEW_SCHEMA 1

/* {"mode":..., "top":[...]} of a diff; null when d->mode is 0. */
void mt_heapview_diff_json(mt_buf_t *b, const mt_heapdiff_result_t *d);

/* One result document (with its "diff"). */
void mt_heapview_result_json(mt_buf_t *b, const mt_heapctl_result_t *r);

/* ,"heap_diff":{...} for the status page's top level; v NULL: null. */
void mt_heapview_json(mt_buf_t *b, const mt_heapctl_view_t *v);

/* ,"heap_diff":{...} for one endpoint: its latest result, or null. */
void mt_heapview_json_endpoint(mt_buf_t *b, const mt_heapctl_view_t *v,
                               const char *endpoint);

/* The latest result of endpoint as one line of HTML beside its verdict
 * (nothing when there is none), linking to the section below. */
void mt_heapview_html_brief(mt_buf_t *b, const mt_heapctl_view_t *v,
                            const char *endpoint);

/* The "Heap diffs" section: the running attempt, the forms that start
 * and cancel one (a POST to this page quoting the confirmation token),
 * and every result with its ranked rows. Nothing when v is NULL or the
 * feature is off (no directory). */
void mt_heapview_html(mt_buf_t *b, const mt_heapctl_view_t *v);

/* The newest result of an endpoint in v, or NULL. */
const mt_heapctl_result_t *mt_heapview_latest(const mt_heapctl_view_t *v,
                                              const char *endpoint);

#endif
