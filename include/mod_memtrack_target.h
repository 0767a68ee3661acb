/* mod_memtrack_target: which process a request is attributed to, chosen in
 * one place. The httpd child itself ("self"), or the application process
 * that served it ("backend"), as MemTrackTarget says. */
#ifndef MOD_MEMTRACK_TARGET_H
#define MOD_MEMTRACK_TARGET_H

#include "httpd.h"
#include "mod_memtrack_config.h"
#include "mod_memtrack_req.h"
#include "mt_record.h"

/* Remove protocol headers a client sent, so the backend never sees them. */
void mt_target_strip_request(request_rec *r);

/* Choose the target and fill rec's target, pid, before/after samples, their
 * sources and how the pid was found (attribution). Always 1 today: a request
 * that cannot be attributed under MemTrackTarget backend is still recorded,
 * with null memory and the reason in attribution. */
int mt_target_sample(mt_record_t *rec, request_rec *r, mt_req_t *st,
                     const mt_dir_conf_t *dc, mt_proc_t *self);

/* True when Passenger handles r (it marks such requests in r->pool). */
int mt_target_is_passenger(request_rec *r);

void mt_target_register_hooks(apr_pool_t *p);

#endif
