/* mod_memtrack_sink: the sink interface, its counters and the drop reports
 * (see include/mod_memtrack_sink.h for what is reported when).
 *
 * Counters are 64-bit atomics: any request thread, a sink's own thread and
 * the report timer update or read them without a lock. A report takes the
 * count not yet told with one exchange (reported := dropped), so two
 * threads reporting at once never tell the same drops twice, and the
 * numbers of all the lines add up to the drops exactly. Who may report when
 * is settled by a compare-and-swap on the second of the last report.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"


#include "mod_memtrack_config.h"
#include "mod_memtrack_sink.h"
#include "mt_limits.h"
#include "mt_util.h"

APLOG_USE_MODULE(memtrack);

/* MT_RECOVER_QUIET_SECS, MT_TICK: mt_limits.h. */

struct mt_sink_t {
    const char      *name;
    mt_sink_emit_fn *emit;
    void            *ctx;
    int              mode;              /* MT_SINK_DIRECT or _QUEUED */
    volatile apr_uint64_t written;
    volatile apr_uint64_t dropped;
    volatile apr_uint64_t reported;     /* dropped count told so far */
    volatile apr_uint32_t report_sec;   /* last report: mono second + 1,
                                         * 0 never */
    volatile apr_uint64_t drop_at;      /* last drop, mt_mono_now() */
    volatile apr_uint64_t write_at;     /* last write while drops were
                                         * untold, mt_mono_now() */
    volatile apr_uint32_t last_rv;      /* why the last drop happened */
};

/* This child's sinks, for the timer, the exit report and the status page. */
static apr_array_header_t *mt_sinks;
static server_rec *mt_sink_server;     /* the main server, for messages */

/* The report timer's thread and what tells it to stop. */
typedef struct {
    apr_thread_t       *thread;
    apr_thread_mutex_t *mu;
    apr_thread_cond_t  *cv;
    int                 stopping;       /* under mu */
} mt_timer_t;

mt_sink_t *mt_sink_create(apr_pool_t *p, const char *name,
                          mt_sink_emit_fn *emit, void *ctx, int mode)
{
    mt_sink_t *sink = apr_pcalloc(p, sizeof(*sink));

    sink->name = apr_pstrdup(p, name);
    sink->emit = emit;
    sink->ctx = ctx;
    sink->mode = mode;
    return sink;
}

void mt_sink_set_queued(mt_sink_t *sink)
{
    sink->mode = MT_SINK_QUEUED;
}

const char *mt_sink_name(const mt_sink_t *sink)
{
    return sink ? sink->name : "(none)";
}

static apr_uint32_t now_sec(void)
{
    return (apr_uint32_t)apr_time_sec(mt_mono_now()) + 1;
}

/* May this thread report now? Exactly one thread wins a given second. */
static int claim(volatile apr_uint32_t *at, apr_uint32_t now, apr_uint32_t secs)
{
    apr_uint32_t last = apr_atomic_read32(at);

    return (last == 0 || now - last >= secs)
           && apr_atomic_cas32(at, now, last) == last;
}

static int pending(mt_sink_t *sink)
{
    return apr_atomic_read64(&sink->dropped)
           != apr_atomic_read64(&sink->reported);
}

/* Tell the drops not told yet, if any; why ends the line. The compare-
 * and-swap makes each drop told once, whichever thread gets there. */
static void report(mt_sink_t *sink, server_rec *s, const char *why)
{
    apr_uint64_t dropped, told;

    do {
        told = apr_atomic_read64(&sink->reported);
        dropped = apr_atomic_read64(&sink->dropped);
        if (dropped <= told) {
            return;
        }
    } while (apr_atomic_cas64(&sink->reported, dropped, told) != told);
    apr_atomic_set32(&sink->report_sec, now_sec());
    ap_log_error(APLOG_MARK, APLOG_WARNING,
                 (apr_status_t)apr_atomic_read32(&sink->last_rv), s,
                 "memtrack: %s: dropped %" APR_UINT64_T_FMT " records since "
                 "the last report (%" APR_UINT64_T_FMT " dropped, %"
                 APR_UINT64_T_FMT " written in this child)%s", sink->name,
                 dropped - told, dropped, apr_atomic_read64(&sink->written),
                 why);
}

static void count_drops(mt_sink_t *sink, server_rec *s, apr_uint32_t n,
                        apr_status_t rv)
{
    apr_uint32_t now = now_sec();

    apr_atomic_set32(&sink->last_rv, (apr_uint32_t)rv);
    apr_atomic_set64(&sink->drop_at, (apr_uint64_t)mt_mono_now());
    apr_atomic_add64(&sink->dropped, n);
    /* The first drop after a quiet interval is told at once: an outage
     * shows when it starts. */
    if (claim(&sink->report_sec, now,
              (apr_uint32_t)mt_config_drop_report_secs())) {
        report(sink, s, "");
    }
}

/* The timer tells a sink's drops once it writes again (see tick()). */
static void count_written(mt_sink_t *sink, apr_uint32_t n)
{
    apr_atomic_add64(&sink->written, n);
    if (pending(sink)) {
        apr_atomic_set64(&sink->write_at, (apr_uint64_t)mt_mono_now());
    }
}

void mt_sink_emit(mt_sink_t *sink, server_rec *s, const char *request_id,
                  int id_server_made, const char *line, apr_size_t len)
{
    apr_status_t rv;

    if (!sink) {
        return;
    }
    rv = sink->emit(sink->ctx, request_id, id_server_made, line, len);
    if (rv != APR_SUCCESS) {
        count_drops(sink, s, 1, rv);
    }
    else if (sink->mode == MT_SINK_DIRECT) {
        count_written(sink, 1);
    }
}

void mt_sink_written(mt_sink_t *sink, server_rec *s, apr_uint32_t n)
{
    (void)s;
    if (sink && n) {
        count_written(sink, n);
    }
}

void mt_sink_lost(mt_sink_t *sink, server_rec *s, apr_uint32_t n,
                  apr_status_t rv)
{
    if (sink && n) {
        count_drops(sink, s, n, rv);
    }
}

void mt_sink_counts(mt_sink_t *sink, mt_sink_counts_t *c)
{
    c->name = sink->name;
    c->written = apr_atomic_read64(&sink->written);
    c->dropped = apr_atomic_read64(&sink->dropped);
    c->reported = apr_atomic_read64(&sink->reported);
}

apr_array_header_t *mt_sink_snapshot(apr_pool_t *p)
{
    int n = mt_sinks ? mt_sinks->nelts : 0, i;
    apr_array_header_t *out = apr_array_make(p, n ? n : 1,
                                             sizeof(mt_sink_counts_t));

    for (i = 0; i < n; i++) {
        mt_sink_counts(APR_ARRAY_IDX(mt_sinks, i, mt_sink_t *),
                       apr_array_push(out));
    }
    return out;
}

/* ---------------------------------------------------------------------- */
/* The child's sinks, the timer and the exit report                       */

static void add_unique(apr_array_header_t *a, mt_sink_t *sink)
{
    int i;

    if (!sink) {
        return;
    }
    for (i = 0; i < a->nelts; i++) {
        if (APR_ARRAY_IDX(a, i, mt_sink_t *) == sink) {
            return;
        }
    }
    APR_ARRAY_PUSH(a, mt_sink_t *) = sink;
}

/* Has the sink written again: since its last drop, which is a while ago? */
static int writing_again(mt_sink_t *sink)
{
    apr_uint64_t dropped_at = apr_atomic_read64(&sink->drop_at);

    return apr_atomic_read64(&sink->write_at) > dropped_at
           && (apr_uint64_t)mt_mono_now() - dropped_at
              >= (apr_uint64_t)apr_time_from_sec(MT_RECOVER_QUIET_SECS);
}

/* Once a second: the drops of a sink that writes again are told now; those
 * not told for a whole interval too. */
static void tick(void)
{
    apr_uint32_t now = now_sec();
    apr_uint32_t secs = (apr_uint32_t)mt_config_drop_report_secs();
    int i;

    for (i = 0; i < mt_sinks->nelts; i++) {
        mt_sink_t *sink = APR_ARRAY_IDX(mt_sinks, i, mt_sink_t *);
        if (!pending(sink)) {
            continue;
        }
        if (writing_again(sink)) {
            report(sink, mt_sink_server, "; writing again");
        }
        else if (claim(&sink->report_sec, now, secs)) {
            report(sink, mt_sink_server, "");
        }
    }
}

static void *APR_THREAD_FUNC timer_main(apr_thread_t *t, void *data)
{
    mt_timer_t *tm = data;
    int stopping = 0;

    while (!stopping) {
        apr_thread_mutex_lock(tm->mu);
        if (!tm->stopping) {
            apr_thread_cond_timedwait(tm->cv, tm->mu, MT_TICK);
        }
        stopping = tm->stopping;
        apr_thread_mutex_unlock(tm->mu);
        if (!stopping) {
            tick();
        }
    }
    (void)t;
    return NULL;     /* not apr_thread_exit(): see mt_redis.c */
}

/* A pre-cleanup of the child pool: the timer stops before anything it
 * reads goes. */
static apr_status_t timer_stop(void *data)
{
    mt_timer_t *tm = data;
    apr_status_t trv;

    apr_thread_mutex_lock(tm->mu);
    tm->stopping = 1;
    apr_thread_cond_signal(tm->cv);
    apr_thread_mutex_unlock(tm->mu);
    apr_thread_join(&trv, tm->thread);
    return APR_SUCCESS;
}

static void timer_start(apr_pool_t *pchild, server_rec *s)
{
    mt_timer_t *tm = apr_pcalloc(pchild, sizeof(*tm));
    apr_status_t rv;

    if ((rv = apr_thread_mutex_create(&tm->mu, APR_THREAD_MUTEX_DEFAULT,
                                      pchild)) == APR_SUCCESS
        && (rv = apr_thread_cond_create(&tm->cv, pchild)) == APR_SUCCESS) {
        rv = mt_thread_create(&tm->thread, timer_main, tm, pchild);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "memtrack: no drop "
                     "report timer; drops are told when they happen, when a "
                     "sink writes again and at child exit");
        return;
    }
    apr_pool_pre_cleanup_register(pchild, tm, timer_stop);
}

/* A plain cleanup of the child pool runs after its subpools are gone: the
 * Redis writers (in subpools) have stopped and counted what they lost. */
static apr_status_t exit_report(void *data)
{
    int i;

    (void)data;
    for (i = 0; mt_sinks && i < mt_sinks->nelts; i++) {
        mt_sink_t *sink = APR_ARRAY_IDX(mt_sinks, i, mt_sink_t *);
        report(sink, mt_sink_server, "; child exiting");
        /* the child's totals, so that a log's lines can be reconciled
         * with what each child sent (t/53) */
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, mt_sink_server,
                     "memtrack: %s: child exiting: %" APR_UINT64_T_FMT
                     " records written, %" APR_UINT64_T_FMT " dropped",
                     sink->name, apr_atomic_read64(&sink->written),
                     apr_atomic_read64(&sink->dropped));
    }
    mt_sinks = NULL;
    return APR_SUCCESS;
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *vs;

    mt_sinks = NULL;
    if (!mt_config_any_enabled()) {
        return;
    }
    mt_sinks = apr_array_make(pchild, 4, sizeof(mt_sink_t *));
    mt_sink_server = s;
    for (vs = s; vs; vs = vs->next) {
        add_unique(mt_sinks, mt_config_log_sink(mt_config_srv(vs)));
        add_unique(mt_sinks, mt_config_redis_sink(mt_config_srv(vs)));
    }
    if (mt_sinks->nelts == 0) {
        return;
    }
    apr_pool_cleanup_register(pchild, NULL, exit_report, apr_pool_cleanup_null);
    timer_start(pchild, s);
}

void mt_sink_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* LAST: after the Redis glue's child_init has started its sinks. */
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_LAST);
}

static void list_one(mt_status_sink_t *out, mt_sink_t *sink, const char *kind)
{
    mt_sink_counts_t c;

    mt_sink_counts(sink, &c);
    out->name = c.name;
    out->kind = kind;
    out->written = c.written;
    out->dropped = c.dropped;
}

unsigned int mt_sink_list(mt_status_sink_t *out, unsigned int max,
                          server_rec *s)
{
    const mt_srv_conf_t *sc = mt_config_srv(s);
    mt_sink_t *log = sc ? mt_config_log_sink(sc) : NULL;
    mt_sink_t *redis = sc ? mt_config_redis_sink(sc) : NULL;
    unsigned int n = 0;

    if (log && n < max) list_one(&out[n++], log, "log");
    if (redis && n < max) list_one(&out[n++], redis, "redis");
    return n;
}
