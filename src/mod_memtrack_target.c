/* mod_memtrack_target: attributing a request to a process.
 *
 * The app process that served a request names itself in the X-MemTrack
 * response header (mt_proto.c parses it). An output filter takes the header
 * out of both r->headers_out and r->err_headers_out before the HTTP header
 * filter runs: Passenger puts app headers in err_headers_out, which are
 * merged into the response only when headers are sent, so removing them
 * from headers_out alone (or with "Header unset") would let them through.
 * The filter is also inserted for error responses, so 304s, errors and HEAD
 * are covered; log_transaction looks again in case no brigade ever passed.
 * It is inserted only where a backend can answer: a request Passenger
 * handles, or any request with a handler of its own (a proxy, CGI, asis,
 * any module's). A static file (no handler until the core's own) gets
 * none: that saves a filter name lookup and a pass of the brigade on the
 * commonest request. (Headers another module adds to a static file, say
 * mod_headers, come after this filter and were never stripped either.)
 *
 * A reported pid is only read when mt_procfind_check allows it: not root's,
 * not the httpd parent, not another httpd child (nor anything else the
 * parent started), and, for requests Passenger handled, a "Passenger
 * RubyApp" process below this server's httpd parent. Without a header, a
 * Passenger app group with exactly one process is found by its process
 * title, under the same rules. A pid that passed is cached for a second
 * with the rules it passed (mt_pidcache.h): a plain backend's pass never
 * lets a Passenger request skip the title and ancestry checks.
 */
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "apr_strings.h"

#include "mod_memtrack_shm.h"
#include "mod_memtrack_target.h"
#include "mt_appcheck.h"
#include "mt_limits.h"
#include "mt_pidcache.h"
#include "mt_procfind.h"
#include "mt_proto.h"
#include "mt_util.h"

APLOG_USE_MODULE(memtrack);

#define MT_FILTER_NAME "MEMTRACK_BACKEND"
/* Passenger marks the requests it will handle with this pool userdata. */
#define MT_PASSENGER_NOTE "Phusion Passenger"

static mt_procfind_cache_t *mt_single_cache;   /* per child */
static int mt_httpd_parent;                    /* getppid() in the child */
static mt_pidcache_t *mt_verified;             /* pids that passed the check */
static ap_filter_rec_t *mt_strip_filter;       /* registered once */

/* One look over the request's headers (a handful): both protocol headers
 * start with X-MemTrack, and almost no request has either. */
void mt_target_strip_request(request_rec *r)
{
    const apr_array_header_t *h = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)h->elts;
    int i;

    for (i = 0; i < h->nelts; i++) {
        if ((e[i].key[0] == 'X' || e[i].key[0] == 'x')
            && !strncasecmp(e[i].key, MT_PROTO_HEADER,
                            sizeof(MT_PROTO_HEADER) - 1)) {
            apr_table_unset(r->headers_in, MT_PROTO_HEADER);
            apr_table_unset(r->headers_in, MT_PROTO_WANT);
            return;
        }
    }
}

/* Take X-MemTrack out of the response tables; parse the first one seen. */
static void take_header(request_rec *r, mt_req_t *st)
{
    const char *v = apr_table_get(r->err_headers_out, MT_PROTO_HEADER);

    if (!v) {
        v = apr_table_get(r->headers_out, MT_PROTO_HEADER);
    }
    if (!v) {
        return;
    }
    if (!st->app && !st->app_refused) {
        mt_app_report_t *app = apr_palloc(r->pool, sizeof(*app));
        if (mt_proto_parse(app, v, r->pool) == APR_SUCCESS) {
            st->app = app;
            if (app->bad_items) {
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "memtrack: %s "
                              "header: %d items ignored", MT_PROTO_HEADER,
                              app->bad_items);
            }
        }
        else {
            const char *why = app->refused ? app->refused : "invalid";

            st->app_refused = apr_pstrcat(r->pool, "refused: header ", why,
                                          NULL);
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "memtrack: %s header "
                          "refused: %s", MT_PROTO_HEADER, why);
        }
    }
    apr_table_unset(r->err_headers_out, MT_PROTO_HEADER);
    apr_table_unset(r->headers_out, MT_PROTO_HEADER);
}

static apr_status_t strip_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    mt_req_t *st = mt_request_get(f->r);

    if (st) {
        take_header(f->r, st);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* Can a backend answer r (and so set X-MemTrack)? Asked when filters are
 * inserted, before the core turns a missing handler into the content
 * type's name. */
static int backend_can_answer(request_rec *r)
{
    return r->handler != NULL || mt_target_is_passenger(r);
}

static void insert_filter(request_rec *r)
{
    if (mt_request_get(r) && backend_can_answer(r)) {
        ap_add_output_filter_handle(mt_strip_filter, NULL, r, r->connection);
    }
}

static void set_self(mt_record_t *rec, const mt_req_t *st, mt_proc_t *self,
                     const char *attribution)
{
    apr_int64_t growth;
    int known;

    rec->target = MT_TARGET_SELF;
    rec->pid = mt_proc_pid(self);
    rec->start_ticks = mt_proc_started(self);
    rec->attribution = attribution;
    rec->before = st->before;
    rec->before_source = st->before.rss_bytes != MT_UNKNOWN ? MT_BEFORE_MODULE
                                                            : MT_BEFORE_NONE;
    mt_sample_statm(&rec->after, self);
    /* status and the fd count cost ~7 us each, ten times statm, and under a
     * threaded MPM most requests see a few pages move: read them only for
     * requests that grew the child notably, the ones worth a closer look. */
    growth = mt_record_growth(rec, &known);
    if (known && growth >= MT_DETAIL_GROWTH) {
        mt_sample_status(&rec->after, self);
        if (mt_sample_fd_count(&rec->fds) != APR_SUCCESS) {
            rec->fds = -1;
        }
    }
}

/* An app process sampled: its pid, start time, the rules it passed and
 * its after-sample. */
typedef struct {
    int          pid;
    apr_uint64_t start_ticks;
    unsigned     rules;
    mt_sample_t  after;
} mt_app_sample_t;

/* The app process's status (swap, peak, exact anonymous RSS) into its
 * after-sample, once, through the descriptor kept with its verified pid.
 * On failure the fields stay unknown (null). */
static void read_app_status(mt_app_sample_t *as)
{
    if (as->after.peak_rss_bytes == MT_UNKNOWN) {
        (void)mt_pidcache_status(mt_verified, as->pid, as->rules, &as->after);
    }
}

/* Can the app's own figures be true of the process the module read? NULL
 * when they can (see mt_appcheck.h); the peak is read only when needed. */
static const char *app_rss_refused(request_rec *r, const mt_app_report_t *app,
                                   mt_app_sample_t *as)
{
    const char *why;

    if (mt_appcheck_needs_peak(app, as->after.rss_bytes)) {
        read_app_status(as);
    }
    why = mt_appcheck_rss(app, as->after.rss_bytes, as->after.peak_rss_bytes);
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "memtrack: app process "
                      "%d: its rss_before %" APR_INT64_T_FMT " / rss_after %"
                      APR_INT64_T_FMT " cannot be true (%s; now %"
                      APR_INT64_T_FMT ", peak %" APR_INT64_T_FMT "): not used",
                      as->pid, app->rss_before, app->rss_after, why,
                      as->after.rss_bytes, as->after.peak_rss_bytes);
    }
    return why;
}

/* Fill the backend side from an after-sample already taken: before from
 * the app when it can be true, or from the last record of that process. */
static void set_backend(mt_record_t *rec, request_rec *r, mt_app_sample_t *as,
                        const mt_app_report_t *app, const char *attribution)
{
    mt_state_t *state = mt_shm_state();
    apr_int64_t prev;
    int app_ok = app && app->rss_before != MT_UNKNOWN
                 && app_rss_refused(r, app, as) == NULL;

    rec->after = as->after;
    rec->target = MT_TARGET_BACKEND;
    rec->pid = as->pid;
    rec->start_ticks = as->start_ticks;
    rec->attribution = attribution;
    if (app_ok) {
        rec->before.rss_bytes = app->rss_before;
        rec->before_source = MT_BEFORE_APP;
    }
    else if (state && mt_state_last_rss(state, as->pid, as->start_ticks, &prev)
                      == APR_SUCCESS) {
        rec->before.rss_bytes = prev;
        rec->before_source = MT_BEFORE_SHARED;
    }
    else {
        rec->before_source = MT_BEFORE_NONE;
    }
}

/* Asked four or five times per request (filters, probes, the record): a
 * yes is kept in the request's state, since Passenger never removes its
 * note; a no is asked again, as the note may come in a later hook. */
int mt_target_is_passenger(request_rec *r)
{
    mt_req_t *st = mt_request_get(r);
    void *note = NULL;

    if (st && st->passenger) {
        return 1;
    }
    apr_pool_userdata_get(&note, MT_PASSENGER_NOTE, r->pool);
    if (note && st) {
        st->passenger = 1;
    }
    return note != NULL;
}

/* The app root Passenger uses by default: the parent of DocumentRoot. */
static const char *passenger_app_root(request_rec *r, const mt_dir_conf_t *dc)
{
    const char *set = mt_config_app_root(dc);
    char *copy = apr_pstrdup(r->pool, set ? set : ap_document_root(r)), *slash;

    if (set) {
        return copy;
    }
    while ((slash = strrchr(copy, '/')) != NULL && slash[1] == '\0') {
        *slash = '\0';     /* trailing slashes */
    }
    if ((slash = strrchr(copy, '/')) != NULL && slash != copy) {
        *slash = '\0';
    }
    return copy;
}

/* The rules of a pid for a request: under Passenger only this server's
 * app processes (the title, and below the httpd parent, whether the app
 * named the pid or discovery found it); for any other backend, any process
 * that is not root's nor httpd's own (a proxied backend is not a
 * descendant of httpd). */
static void policy_for(mt_procfind_policy_t *pol, int passenger)
{
    memset(pol, 0, sizeof(*pol));
    pol->httpd_parent_pid = mt_httpd_parent;
    pol->require_title = passenger ? MT_PROCFIND_TITLE_RUBY : NULL;
    pol->ancestor_pid = passenger ? mt_httpd_parent : 0;
}

/* Sample pid if it may be attributed to under the request's rules: NULL,
 * or why not. A pid verified under those rules in the last second is read
 * through its cached descriptor; otherwise its statm is opened first and
 * checked after (see mt_pidcache.h). Its start time is read in between:
 * should the pid have been reused by then, the descriptor reads nothing and
 * the pid is refused. */
static const char *sample_pid(request_rec *r, int pid, int passenger,
                              const mt_sample_t *seen, mt_app_sample_t *as)
{
    mt_procfind_policy_t pol;
    apr_time_t now = mt_mono_now();
    const char *why = NULL;
    int fd, status_fd;

    policy_for(&pol, passenger);
    as->pid = pid;
    as->rules = mt_procfind_rules(&pol);
    mt_sample_clear(&as->after);
    /* Discovery has just read this process's statm (seen): a pid verified
     * under these rules takes that read instead of a second one. */
    if (seen && seen->rss_bytes != MT_UNKNOWN
        && mt_pidcache_known(mt_verified, pid, as->rules, now,
                             &as->start_ticks) == APR_SUCCESS) {
        as->after = *seen;
        return NULL;
    }
    if (mt_pidcache_sample(mt_verified, pid, as->rules, now, &as->after,
                           &as->start_ticks) == APR_SUCCESS) {
        return NULL;
    }
    fd = mt_sample_open_statm(pid);
    status_fd = fd >= 0 ? mt_sample_open_status(pid) : -1;
    if (fd < 0 || mt_sample_started(pid, &as->start_ticks) != APR_SUCCESS) {
        as->start_ticks = 0;
    }
    if (mt_procfind_check(pid, &pol, &why, r->pool) != APR_SUCCESS
        || fd < 0 || mt_sample_statm_fd(&as->after, fd) != APR_SUCCESS) {
        if (fd >= 0) close(fd);
        if (status_fd >= 0) close(status_fd);
        why = why ? why : "no such process";
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "memtrack: app process %d "
                      "refused: %s", pid, why);
        return apr_pstrcat(r->pool, "refused: ", why, NULL);
    }
    /* Without a cache (its mutex failed) the descriptors go now, and
     * status is not read. */
    mt_pidcache_put(mt_verified, pid, as->rules, as->start_ticks, fd,
                    status_fd, now);
    return NULL;
}

/* A backend record whose process grew notably: swap and peak too, read
 * through the status descriptor kept with the verified pid. */
static void add_backend_detail(mt_record_t *rec, mt_app_sample_t *as)
{
    apr_int64_t growth;
    int known;

    growth = mt_record_growth(rec, &known);
    if (known && growth >= MT_DETAIL_GROWTH) {
        read_app_status(as);
        rec->after = as->after;
    }
}

static apr_status_t single(int *pid, mt_sample_t *seen, const char *root,
                           const mt_procfind_policy_t *pol, apr_pool_t *p)
{
    mt_sample_clear(seen);
    return mt_single_cache
           ? mt_procfind_single_seen(pid, seen, mt_single_cache, root, pol, p)
           : mt_procfind_single(pid, root, pol, p);
}

/* No header: a Passenger group with exactly one process is that process;
 * *seen is its statm when the cache's check read it (see
 * mt_procfind_single_seen). */
static const char *find_single(request_rec *r, const mt_dir_conf_t *dc,
                               int *pid, mt_sample_t *seen)
{
    mt_procfind_policy_t pol;
    apr_status_t rv;

    policy_for(&pol, 1);
    rv = single(pid, seen, passenger_app_root(r, dc), &pol, r->pool);
    if (rv == APR_NOTFOUND && !mt_config_app_root(dc)) {
        /* PassengerAppRoot elsewhere: one app process of this server is
         * still unambiguous. */
        rv = single(pid, seen, NULL, &pol, r->pool);
    }
    if (rv == APR_SUCCESS) return NULL;
    return rv == APR_EEXIST ? "unattributed: several app processes"
                            : "unattributed: no app process found";
}

int mt_target_sample(mt_record_t *rec, request_rec *r, mt_req_t *st,
                     const mt_dir_conf_t *dc, mt_proc_t *self)
{
    int mode = mt_config_target(dc);
    int passenger = mt_target_is_passenger(r);
    const char *why = NULL;
    mt_app_sample_t as;
    mt_sample_t seen;
    int pid = 0;

    if (mode != MT_TARGET_IS_SELF) {
        request_rec *last = r;
        while (last->next) last = last->next;
        if (!st->app) take_header(last, st);
        if (st->app) {
            if ((why = sample_pid(r, st->app->pid, passenger, NULL, &as))
                == NULL) {
                set_backend(rec, r, &as, st->app, "header");
                rec->app = st->app;
                add_backend_detail(rec, &as);
                return 1;
            }
        }
        else if (st->app_refused) {
            why = st->app_refused;   /* a broken header is not "no header" */
        }
        else if (passenger
                 && (why = find_single(r, dc, &pid, &seen)) == NULL) {
            if ((why = sample_pid(r, pid, 1, &seen, &as)) == NULL) {
                set_backend(rec, r, &as, NULL, "single");
                add_backend_detail(rec, &as);
                return 1;
            }
        }
        if (mode == MT_TARGET_IS_BACKEND) {
            /* Say that attribution failed rather than guess. */
            rec->target = MT_TARGET_BACKEND;
            rec->attribution = why ? why : "unattributed: no app answered";
            rec->before_source = MT_BEFORE_NONE;
            return 1;
        }
    }
    set_self(rec, st, self, why ? apr_pstrcat(r->pool, "self (backend ",
                                              why, ")", NULL) : "self");
    return 1;
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!mt_config_any_enabled()) {
        return;
    }
    mt_httpd_parent = (int)getppid();
    if (mt_pidcache_create(&mt_verified, apr_time_from_sec(1), pchild)
        != APR_SUCCESS) {
        mt_verified = NULL;    /* every report is then checked in full */
    }
    /* Short: when Passenger adds a second process, a cached "single"
     * answer would name the first for the rest of its life. */
    rv = mt_procfind_cache_create(&mt_single_cache, MT_SINGLE_TTL, pchild);
    if (rv != APR_SUCCESS) {
        mt_single_cache = NULL;
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "memtrack: no cache for "
                     "app process discovery; scanning /proc on each request");
    }
}

void mt_target_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* CONTENT_SET runs before every protocol filter, the header filter
     * among them, so the header is gone before it could be sent. */
    mt_strip_filter = ap_register_output_filter(MT_FILTER_NAME, strip_filter,
                                                NULL, AP_FTYPE_CONTENT_SET);
    ap_hook_insert_filter(insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
