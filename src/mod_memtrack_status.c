/* mod_memtrack_status: the live status page, `SetHandler memtrack-status`.
 *
 * Thin glue over the core: mt_analysis_report() copies the shared state
 * slot by slot with bounded-try locks (a slot a writer holds is skipped
 * and counted, never waited for), mt_status_*() render it, this file
 * answers. Nothing is served unless a <Location> sets the handler, and
 * other requests pay one string compare in the handler hook. Requests to
 * the page are not recorded: the handler takes the module's per-request
 * state away, so log_transaction writes no record for them and they count
 * for no endpoint and no process (a monitoring scrape every 15 s would
 * otherwise be an endpoint of its own, and its own growth).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_network_io.h"
#include "apr_strings.h"

#include "mod_memtrack_config.h"
#include "mod_memtrack_heapdiff.h"
#include "mod_memtrack_shm.h"
#include "mod_memtrack_sink.h"
#include "mod_memtrack_status.h"
#include "mt_analysis.h"
#include "mt_limits.h"
#include "mt_status.h"
#include "mt_version.h"

APLOG_USE_MODULE(memtrack);


/* No record for this request or the ones it was redirected from. */
static void not_recorded(request_rec *r)
{
    request_rec *x;

    for (x = r; x; x = x->prev) {
        ap_set_module_config(x->request_config, &memtrack_module, NULL);
    }
}

/* The record's server: MemTrackServerName, else the host name. */
static const char *host_name(request_rec *r)
{
    char host[APRMAXHOSTLEN + 1];

    if (mt_config_server_name()) {
        return mt_config_server_name();
    }
    return apr_gethostname(host, sizeof(host), r->pool) == APR_SUCCESS
           ? apr_pstrdup(r->pool, host) : r->server->server_hostname;
}

/* The report, or NULL and info->problem saying why there is none. */
static mt_an_report_t *report_of(request_rec *r, mt_status_info_t *info)
{
    mt_state_t *st = mt_shm_state();
    mt_an_report_t *rep = NULL;
    apr_status_t rv;

    if (!st) {
        info->problem = mt_config_any_enabled()
            ? "No shared state: MemTrackAnalysis is Off, or the state could "
              "not be created (see the error log), so nothing is analysed."
            : "MemTrack is not On anywhere in this configuration: nothing "
              "is tracked.";
        return NULL;
    }
    if (APR_SUCCESS != (rv = mt_analysis_report(&rep, st, info->generated,
                                                r->pool))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "memtrack: status: cannot build the analysis report");
        info->problem = "The analysis report could not be built (see the "
                        "error log).";
        return NULL;
    }
    return rep;
}

static void respond(request_rec *r, mt_status_form_e form, const mt_buf_t *out)
{
    ap_set_content_type(r, mt_status_content_type(form));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (form == MT_STATUS_HTML) {
        /* the page has no script and loads nothing: say so to the browser */
        apr_table_setn(r->headers_out, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; "
                       "frame-ancestors 'none'");
    }
    ap_set_content_length(r, (apr_off_t)out->len);
    if (!r->header_only) {
        ap_rwrite(out->data, (int)out->len, r);
    }
}

static int status_handler(request_rec *r)
{
    mt_status_sink_t sinks[MT_STATUS_SINKS_MAX];
    mt_status_info_t info = { 0 };
    mt_status_form_e form;
    mt_an_report_t *rep;
    mt_buf_t out;

    if (!r->handler || strcmp(r->handler, MT_STATUS_HANDLER) != 0) {
        return DECLINED;
    }
    not_recorded(r);
    /* the 405's Allow header comes from allowed_methods; HEAD goes with GET */
    r->allowed |= (AP_METHOD_BIT << M_GET);
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET) {     /* HEAD is M_GET + header_only */
        return HTTP_METHOD_NOT_ALLOWED;
    }
    mt_status_query(&form, &info.refresh_seconds, r->args);
    info.version = MEMTRACK_VERSION;
    info.server = host_name(r);
    info.generated = apr_time_now();
    info.sinks = sinks;
    info.n_sinks = mt_sink_list(sinks, MT_STATUS_SINKS_MAX, r->server);
    info.heapdiff = mt_heapdiff_view(r->pool);
    rep = report_of(r, &info);
    mt_buf_init(&out, MT_STATUS_BUF, r->pool);
    mt_status_render(&out, form, rep, &info);
    respond(r, form, &out);
    return OK;
}

void mt_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
