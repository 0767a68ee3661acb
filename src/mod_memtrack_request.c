/* mod_memtrack_request: the two request hooks.
 *
 * post_read_request takes the "before" sample and settles the request id;
 * log_transaction takes the "after" sample, builds the record and hands it to
 * the sinks. Both run on every request, so both are cheap: the child's statm
 * is read through a descriptor opened once in child_init (well under a
 * microsecond), status (several microseconds) only on the "after" side of
 * requests that are recorded. Nothing here can change a request's outcome:
 * every hook returns DECLINED/OK whatever happens to the module.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_network_io.h"

#include "mod_memtrack_analysis.h"
#include "mod_memtrack_config.h"
#include "mod_memtrack_req.h"
#include "mod_memtrack_request.h"
#include "mod_memtrack_shm.h"
#include "mod_memtrack_sink.h"
#include "mod_memtrack_target.h"
#include "mt_limits.h"
#include "mt_ratelimit.h"
#include "mt_record.h"
#include "mt_util.h"

APLOG_USE_MODULE(memtrack);

static mt_proc_t *mt_self;              /* this child's /proc/self, kept open */
static const char *mt_hostname;         /* this machine, for the record */
static volatile apr_uint32_t mt_seq;    /* requests seen, for the sample rate */
static mt_ratelimit_t *mt_warn_limit;   /* threshold warnings, per child */
static mt_reqid_gen_t *mt_ids;          /* request ids, per child */

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    char host[APRMAXHOSTLEN + 1];
    apr_status_t rv;
    int threaded = 0;

    if (!mt_config_any_enabled()) {
        return;
    }
    if (APR_SUCCESS != (rv = mt_proc_open(&mt_self, 0, pchild))) {
        mt_self = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "memtrack: cannot open /proc/self/statm; requests of "
                     "this child are not tracked");
    }
    mt_hostname = mt_config_server_name();
    if (!mt_hostname) {
        mt_hostname = apr_gethostname(host, sizeof(host), pchild) == APR_SUCCESS
                      ? apr_pstrdup(pchild, host) : NULL;
    }
    if (ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) != APR_SUCCESS) {
        threaded = AP_MPMQ_STATIC;      /* unknown: lock */
    }
    if (mt_reqid_gen_create(&mt_ids, threaded != AP_MPMQ_NOT_SUPPORTED,
                            pchild) != APR_SUCCESS) {
        mt_ids = NULL;            /* one getrandom() per id then */
    }
    if (mt_ratelimit_create(&mt_warn_limit, MT_MAX_WARN_PER_PROC,
                            MT_MAX_WARN_TOTAL, MT_WARN_WINDOW, pchild)
        != APR_SUCCESS) {
        mt_warn_limit = NULL;     /* unlimited rather than silent */
    }
}

/* The request id: a trusted client header, mod_unique_id's, or our own. */
static void settle_request_id(request_rec *r, mt_req_t *st)
{
    const char *hdr = mt_config_trusted_id_header(mt_config_srv(r->server));
    const char *id;

    if (hdr && (id = apr_table_get(r->headers_in, hdr)) != NULL
        && mt_reqid_is_safe(id, MT_MAX_TRUSTED_ID)) {
        st->request_id = id;
        st->id_source = "client";
    }
    else if ((id = apr_table_get(r->subprocess_env, "UNIQUE_ID")) != NULL
             && mt_reqid_is_safe(id, MT_MAX_TRUSTED_ID)) {
        st->request_id = id;
        st->id_source = "unique_id";
        st->id_server_made = 1;
    }
    else {
        st->request_id = mt_reqid_next(mt_ids, r->pool);
        st->id_source = "module";
        st->id_server_made = 1;
    }
    /* The backend logs the same id; an untrusted client value is replaced
     * so that it can never name (and overwrite) another request's record.
     * Not copied: the id lives in r->pool, as the table does. */
    apr_table_setn(r->headers_in, "X-Request-Id", st->request_id);
    /* the note is only ever set here, once per request (an internal
     * redirect keeps the original's state): added, not searched for */
    apr_table_addn(r->notes, "memtrack_request_id", st->request_id);
}

static int post_read_request(request_rec *r)
{
    mt_req_t *st;
    apr_time_t t0;
    apr_interval_time_t waited;

    if (!mt_self) {
        return DECLINED;
    }
    if (r->prev) {
        /* Internal redirect: keep the original's state and first sample. */
        request_rec *orig = r->prev;
        while (orig->prev) orig = orig->prev;
        if ((st = mt_request_get(orig)) != NULL) {
            ap_set_module_config(r->request_config, &memtrack_module, st);
        }
        return DECLINED;
    }
    t0 = mt_mono_now();
    st = apr_pcalloc(r->pool, sizeof(*st));
    st->start = r->request_time;
    /* The request line was read a little before this hook: back-date the
     * monotonic start by that (wall-clock) interval; a clock step inside
     * it counts as nothing. */
    waited = apr_time_now() - r->request_time;
    st->mono_start = t0 - (waited > 0 && waited < MT_MAX_HEADER_WAIT
                           ? waited : 0);
    mt_sample_clear(&st->before);
    mt_sample_statm(&st->before, mt_self);
    settle_request_id(r, st);
    mt_target_strip_request(r);
    mt_analysis_request_start(st);
    ap_set_module_config(r->request_config, &memtrack_module, st);
    st->overhead_us = mt_mono_now() - t0;
    return DECLINED;
}

/* One in N recorded requests, counted per child. */
static int sampled_out(const mt_dir_conf_t *dc)
{
    int rate = mt_config_sample_rate(dc);

    return rate > 1 && apr_atomic_inc32(&mt_seq) % (apr_uint32_t)rate != 0;
}

static void fill_record(mt_record_t *rec, request_rec *r, request_rec *last,
                        const mt_req_t *st, const mt_dir_conf_t *dc)
{
    rec->request_id = st->request_id;
    rec->time = st->start;
    rec->host = r->hostname ? r->hostname : r->server->server_hostname;
    rec->method = r->method;
    rec->url = r->unparsed_uri;
    rec->status = last->status;
    rec->threshold_bytes = mt_config_threshold(dc);
    rec->server = mt_hostname;
    rec->httpd_pid = mt_proc_pid(mt_self);
    rec->fds = -1;
    mt_sample_clear(&rec->before);
    mt_sample_clear(&rec->after);
}

/* What the threshold warnings of a record are counted under: its process
 * (pid and start time). An endpoint name will do as well. */
static const char *warn_key(request_rec *r, const mt_record_t *rec)
{
    return apr_psprintf(r->pool, "%d:%" APR_UINT64_T_FMT, rec->pid,
                        rec->start_ticks);
}

static void warn_threshold(request_rec *r, const mt_record_t *rec)
{
    mt_ratelimit_verdict_t v;
    int known;
    apr_int64_t growth = mt_record_growth(rec, &known);

    mt_ratelimit_take(mt_warn_limit, warn_key(r, rec), mt_mono_now(), &v);
    if (!v.pass) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "memtrack: threshold exceeded: request_id=%s method=%s "
                  "url=%s growth=%" APR_INT64_T_FMT " threshold=%"
                  APR_INT64_T_FMT " pid=%d target=%s%s%s", rec->request_id,
                  rec->method, mt_str_clean(r->pool, rec->url,
                                            MT_MAX_WARN_URL, NULL),
                  growth, rec->threshold_bytes, rec->pid, rec->target,
                  v.held_back ? apr_psprintf(r->pool, " (%u earlier warnings "
                                "of this process not logged)", v.held_back)
                              : "",
                  v.last ? apr_psprintf(r->pool, "; further warnings of this "
                           "process are not logged for up to %d s",
                           (int)apr_time_sec(MT_WARN_WINDOW)) : "");
}

static int log_transaction(request_rec *r)
{
    mt_req_t *st = mt_request_get(r);
    request_rec *last = r;
    mt_dir_conf_t *dc;
    mt_record_t rec = { 0 };
    mt_srv_conf_t *sc;
    apr_time_t t0 = mt_mono_now();
    char *line;
    apr_size_t len;
    apr_status_t rv;
    apr_int64_t growth;
    int known;

    if (!st || !mt_self) {
        return DECLINED;
    }
    while (last->next) last = last->next;
    if (last != r) {
        /* An internal redirect (ErrorDocument): mod_log_config's %{...}n
         * reads the last request's notes, a table of its own. */
        apr_table_setn(last->notes, "memtrack_request_id", st->request_id);
    }
    dc = mt_config_dir(last);
    if (!mt_config_enabled(dc) || sampled_out(dc)) {
        return DECLINED;
    }
    fill_record(&rec, r, last, st, dc);
    mt_target_sample(&rec, r, st, dc, mt_self);
    /* the request ended when this hook began (t0) */
    rec.request_time = (double)(t0 - st->mono_start) / APR_USEC_PER_SEC;
    mt_analysis_record(r, st, &rec, dc);
    growth = mt_record_growth(&rec, &known);
    if (known) {   /* unknown stays unset: LogFormat prints "-" */
        char *note = apr_palloc(r->pool, MT_DEC_BUF);

        mt_dec_format(note, growth);
        /* set only here, once per request (this hook runs once): added,
         * not searched for, as memtrack_request_id */
        apr_table_addn(r->notes, "memtrack_growth", note);
        if (last != r) {
            apr_table_addn(last->notes, "memtrack_growth", note);
        }
    }
    rec.overhead_us = st->overhead_us + (mt_mono_now() - t0);
    rv = mt_record_to_json(&line, &len, &rec, PIPE_BUF, r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "memtrack: cannot build the record of %s", rec.request_id);
        return DECLINED;
    }
    if (mt_record_exceeded(&rec)) {
        warn_threshold(r, &rec);
    }
    sc = mt_config_srv(r->server);
    mt_sink_emit(mt_config_log_sink(sc), r->server, rec.request_id,
                 st->id_server_made, line, len);
    mt_sink_emit(mt_config_redis_sink(sc), r->server, rec.request_id,
                 st->id_server_made, line, len);
    return DECLINED;
}

void mt_request_register_hooks(apr_pool_t *p)
{
    /* After mod_unique_id (MIDDLE) so that its id is there to be used. */
    static const char *const after_unique_id[] = { "mod_unique_id.c", NULL };

    (void)p;
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(post_read_request, after_unique_id, NULL,
                              APR_HOOK_MIDDLE);
    /* FIRST: the notes (memtrack_growth) must be set before mod_log_config
     * (MIDDLE) formats the access log line. */
    ap_hook_log_transaction(log_transaction, NULL, NULL, APR_HOOK_FIRST);
}
