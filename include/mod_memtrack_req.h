/* mod_memtrack_req: the per-request state, mt_req_t, and how to reach it.
 * Its own header so that every glue file that reads or fills it (request,
 * target, analysis, heap diff) depends on this one alone and not on the
 * others' hooks: no include cycle between them. */
#ifndef MOD_MEMTRACK_REQ_H
#define MOD_MEMTRACK_REQ_H

#include "httpd.h"
#include "http_config.h"
#include "mt_sample.h"
#include "mt_proto.h"

extern module AP_MODULE_DECLARE_DATA memtrack_module;

/* What the module knows about one request, from post_read_request to
 * log_transaction. Lives in r->pool, reached through r->request_config (never
 * thread-local: log_transaction may run on another thread). An internal
 * redirect shares its original's state, so the first sample survives. */
typedef struct mt_req_t {
    apr_time_t       start;        /* r->request_time of the original */
    apr_time_t       mono_start;   /* the same instant on mt_mono_now():
                                    * durations never see a clock step */
    mt_sample_t      before;       /* the httpd child, post_read_request */
    const char      *request_id;
    const char      *id_source;    /* "client", "unique_id", "module" */
    int              id_server_made;/* not "client": the Redis record may
                                    * replace one a client put under it */
    apr_int64_t      overhead_us;  /* time spent in the module's hooks */
    mt_app_report_t *app;          /* what the app said, NULL when nothing */
    const char      *app_refused;  /* why an X-MemTrack header was refused */
    int              passenger;    /* Passenger's pool note was seen: it is
                                    * never taken away, so asked once */
    /* Probes (mod_memtrack_analysis.c). */
    int              probe_decided;/* the fixups hook has looked */
    apr_uint64_t     probe_token;  /* asked of the app and the child, 0 none */
    unsigned int     path_hash;    /* of the path form, when path_hashed */
    int              path_hashed;
    int              self_probe;   /* the child's heap was read at fixups */
    apr_int64_t      self_before;  /* its bytes in use then */
    apr_uint64_t     self_done;    /* the child's previous probe, finished at
                                    * this request's start: its token */
    apr_int64_t      self_done_bytes;
} mt_req_t;

/* The state of r (or of the request it was redirected from), or NULL. */
static inline mt_req_t *mt_request_get(request_rec *r)
{
    return ap_get_module_config(r->request_config, &memtrack_module);
}

#endif
