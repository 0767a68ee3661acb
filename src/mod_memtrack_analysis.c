/* mod_memtrack_analysis: the analysis's glue. Names each request's
 * endpoint, decides which requests to probe, runs the httpd child's own
 * probes, and hands every recorded request to the shared state
 * (src/mt_state.c, src/mt_analysis.c; the method is docs/analysis.md).
 *
 * Probes. In the fixups hook, once Passenger has said whether it handles
 * the request, a request that someone can measure (a Passenger app
 * process, through the companion; or this httpd child itself, when it
 * serves one request at a time) may be chosen: at most 1 in
 * MemTrackProbeRate per child, mostly of the endpoints the analysis knows
 * least about (mt_state_probe_pick, by the route hint of the request's
 * path form). A chosen request gets `X-MemTrack-Want: probe=T; ps=N`
 * (a client's copy of that header was removed in post_read_request), and
 * the child reads its own heap in use. The app acknowledges with probe=T
 * and reports the result on its next response; the child's own result is
 * read at the start of its next request, when this one's pool is gone.
 * Either result is counted only for the token that process was given.
 */
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "apr_atomic.h"
#include "apr_strings.h"

#include "mod_memtrack_analysis.h"
#include "mod_memtrack_config.h"
#include "mod_memtrack_heapdiff.h"
#include "mod_memtrack_shm.h"
#include "mod_memtrack_target.h"
#include "mt_analysis.h"
#include "mt_endpoint.h"
#include "mt_proto.h"

APLOG_USE_MODULE(memtrack);

static int mt_exclusive;                  /* this child serves one request
                                           * at a time (prefork) */
static volatile apr_uint32_t mt_credit;   /* probe credit of this child */
static volatile apr_uint32_t mt_seq;      /* tokens and random bits */
static apr_uint64_t mt_token_base;

/* The child's own probe in flight (exclusive children only: one request
 * at a time, so no lock). */
static apr_uint64_t mt_self_token;
static apr_int64_t  mt_self_before;

int mt_analysis_exclusive_child(void)
{
    return mt_exclusive;
}

/* 32 bits that differ from request to request (not for secrets). */
static apr_uint32_t some_bits(void)
{
    apr_uint32_t x = apr_atomic_inc32(&mt_seq) * 2654435761u;

    x ^= (apr_uint32_t)apr_time_now();
    x ^= x >> 15;
    x *= 2246822519u;
    return x ^ (x >> 13);
}

static apr_uint64_t next_token(void)
{
    apr_uint64_t t = (mt_token_base + apr_atomic_inc32(&mt_seq))
                     & (((apr_uint64_t)1 << 50) - 1);

    return t ? t : 1;
}

/* The request's path form (or its MemTrackEndpoint) and what the state
 * last saw it named: the endpoint to weigh. */
static int hinted_endpoint(request_rec *r, mt_req_t *st, mt_state_t *state)
{
    const char *configured = mt_config_endpoint(mt_config_dir(r));
    char buf[MT_ENDPOINT_MAX + 1];
    int ep;

    if (configured) {
        return mt_state_endpoint(state, configured, 0, apr_time_now());
    }
    mt_endpoint_from_path(buf, r->method, r->unparsed_uri);
    st->path_hash = mt_endpoint_hash(buf);
    st->path_hashed = 1;
    ep = mt_state_hint_get(state, st->path_hash);
    return ep >= 0 ? ep : mt_state_endpoint(state, buf, 0, apr_time_now());
}

static int fixups(request_rec *r)
{
    mt_req_t *st = mt_request_get(r);
    mt_state_t *state = mt_shm_state();
    mt_srv_conf_t *sc;
    unsigned int rate;
    int passenger;

    if (!st || st->probe_decided || !state) {
        return DECLINED;
    }
    st->probe_decided = 1;
    sc = mt_config_srv(r->server);
    rate = (unsigned int)mt_config_probe_rate(sc);
    passenger = mt_target_is_passenger(r);
    if (rate == 0 || (!passenger && !mt_exclusive)
        || !mt_config_enabled(mt_config_dir(r))) {
        return DECLINED;
    }
    rate = mt_analysis_probe_rate(state, rate, apr_time_now());
    if (!mt_state_probe_ready(&mt_credit, rate)
        || !mt_state_probe_take(&mt_credit, rate,
               mt_state_priority(state, hinted_endpoint(r, st, state)),
               some_bits())) {
        return DECLINED;
    }
    st->probe_token = next_token();
    apr_table_setn(r->headers_in, MT_PROTO_WANT, apr_psprintf(r->pool,
                   "probe=%" APR_UINT64_T_FMT "; ps=%d", st->probe_token,
                   mt_config_probe_max(sc)));
    apr_atomic_inc32(&state->hdr->probes_asked);
    if (mt_exclusive) {
        st->self_probe = mt_sample_heap_in_use(&st->self_before)
                         == APR_SUCCESS;
    }
    return DECLINED;
}

void mt_analysis_request_start(mt_req_t *st)
{
    apr_int64_t now = 0;

    if (!mt_exclusive || !mt_self_token) {
        return;
    }
    if (mt_sample_heap_in_use(&now) == APR_SUCCESS) {
        st->self_done = mt_self_token;
        st->self_done_bytes = now - mt_self_before;
    }
    mt_self_token = 0;
}

/* The probe side of a note, for a request of the httpd child itself. */
static void self_probes(mt_note_t *in, mt_record_t *rec, mt_req_t *st)
{
    if (st->self_probe) {
        in->probe_started = rec->probe_started = st->probe_token;
        mt_self_token = st->probe_token;
        mt_self_before = st->self_before;
    }
    if (st->self_done) {
        in->probe_done = rec->probe_done = st->self_done;
        in->probe_bytes = rec->probe_bytes = st->self_done_bytes;
        rec->probe_objects = MT_UNKNOWN_SIGNED;
        rec->probe_us = 0;
    }
}

/* ... and for a request an app process served: the app's word, the
 * acknowledgement only for the token this request carried. */
static void app_probes(mt_note_t *in, mt_record_t *rec, const mt_req_t *st)
{
    const mt_app_report_t *app = st->app;

    if (!app) {
        return;
    }
    if (app->probe_token && (apr_uint64_t)app->probe_token == st->probe_token) {
        in->probe_started = rec->probe_started = st->probe_token;
    }
    if (app->probe_done) {
        in->probe_done = rec->probe_done = (apr_uint64_t)app->probe_done;
        rec->probe_bytes = app->probe_bytes == MT_PROTO_NO_SIGNED
                           ? MT_UNKNOWN_SIGNED : app->probe_bytes;
        rec->probe_objects = app->probe_objects == MT_PROTO_NO_SIGNED
                             ? MT_UNKNOWN_SIGNED : app->probe_objects;
        rec->probe_us = app->probe_us;
        in->probe_bytes = rec->probe_bytes == MT_UNKNOWN_SIGNED
                          ? MT_NOTE_NO_VALUE : rec->probe_bytes;
        in->probe_objects = rec->probe_objects == MT_UNKNOWN_SIGNED
                            ? MT_NOTE_NO_VALUE : rec->probe_objects;
        in->probe_us = app->probe_us;
    }
}

static apr_int64_t allocated(const mt_app_report_t *app)
{
    if (!app || app->gc_before.allocated == MT_UNKNOWN
        || app->gc_after.allocated == MT_UNKNOWN
        || app->gc_after.allocated < app->gc_before.allocated) {
        return MT_UNKNOWN;
    }
    return app->gc_after.allocated - app->gc_before.allocated;
}

void mt_analysis_record(request_rec *r, mt_req_t *st, mt_record_t *rec,
                        const mt_dir_conf_t *dc)
{
    mt_state_t *state = mt_shm_state();
    const mt_app_report_t *app = st->app;
    char *name = apr_palloc(r->pool, MT_ENDPOINT_MAX + 1);
    mt_note_out_t *out;
    mt_note_t in;
    int self = !strcmp(rec->target, MT_TARGET_SELF);

    rec->endpoint = mt_endpoint_name(name, mt_config_endpoint(dc),
                                     app ? app->controller : NULL,
                                     app ? app->action : NULL, r->method,
                                     r->unparsed_uri);
    rec->exclusive = self ? mt_exclusive : mt_target_is_passenger(r);
    rec->probe_bytes = rec->probe_objects = MT_UNKNOWN_SIGNED;
    rec->probe_us = MT_UNKNOWN;
    if (!state || rec->pid <= 0 || rec->after.rss_bytes == MT_UNKNOWN) {
        return;
    }
    mt_note_clear(&in);
    in.endpoint = rec->endpoint;
    in.request_id = rec->request_id;
    in.pid = rec->pid;
    in.start_ticks = rec->start_ticks;
    in.kind = self ? MT_STATE_KIND_SELF : MT_STATE_KIND_BACKEND;
    in.exclusive = rec->exclusive;
    in.rss_before = rec->before.rss_bytes;
    in.rss_after = rec->after.rss_bytes;
    in.before_own = rec->before_source
                    && (!strcmp(rec->before_source, MT_BEFORE_APP)
                        || !strcmp(rec->before_source, MT_BEFORE_MODULE));
    in.threshold_exceeded = mt_record_exceeded(rec);
    in.alloc_objects = allocated(app);
    if (app && app->gc_before.allocated != MT_UNKNOWN) {
        in.order = app->gc_before.allocated;
    }
    in.app_reported = app != NULL;
    in.probeable = mt_config_probe_rate(mt_config_srv(r->server)) > 0
                   && (self ? mt_exclusive : app != NULL);
    in.duration_us = (apr_int64_t)(rec->request_time * 1e6);
    in.now = apr_time_now();
    if (self) self_probes(&in, rec, st);
    else app_probes(&in, rec, st);
    out = apr_palloc(r->pool, sizeof(*out));
    mt_analysis_note(state, &in, out);
    if (out->probe_accepted && out->probe_endpoint[0]) {
        rec->probe_endpoint = out->probe_endpoint;
    }
    if (st->path_hashed && out->endpoint > 0) {
        mt_state_hint_set(state, st->path_hash, out->endpoint);
    }
    mt_heapdiff_record(r, st, rec, out);
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    int threaded = 0, threads = 1;

    (void)pchild; (void)s;
    ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    mt_exclusive = threaded == AP_MPMQ_NOT_SUPPORTED || threads <= 1;
    mt_token_base = ((apr_uint64_t)getpid() << 24)
                    ^ ((apr_uint64_t)apr_time_now() << 8);
    mt_credit = 0;
    mt_self_token = 0;
}

void mt_analysis_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* LAST: Passenger marks the requests it handles before this. */
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_LAST);
}
