/* mod_memtrack_heapdiff: the heap diff's glue (see
 * src/mod_memtrack_heapdiff.c): the shared attempt, the ask in
 * X-MemTrack-Want, each record's part, the diff thread, the status page's
 * POST. */
#ifndef MOD_MEMTRACK_HEAPDIFF_H
#define MOD_MEMTRACK_HEAPDIFF_H

#include "httpd.h"

#include "mod_memtrack_req.h"
#include "mt_heapctl.h"
#include "mt_record.h"
#include "mt_state.h"

/* At log_transaction, after the request was counted in the state (out:
 * what mt_analysis_note made of it): the attempt's part (acknowledgements,
 * counts, timeouts, the diff) and the automatic start on a leak verdict.
 * May set rec->heap_snapshot. */
void mt_heapdiff_record(request_rec *r, const mt_req_t *st, mt_record_t *rec,
                        const mt_note_out_t *out);

/* A copy of the attempt and results for the status page, or NULL when the
 * heap diff is not configured. */
const mt_heapctl_view_t *mt_heapdiff_view(apr_pool_t *p);

void mt_heapdiff_register_hooks(apr_pool_t *p);

#endif
