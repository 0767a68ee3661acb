/* mod_memtrack_sink: what every sink shares: counting dropped records and
 * telling the error log about them, at most once a minute per sink and
 * child, so that a logger that stopped reading or a Redis that went away is
 * visible without a line per lost record. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_atomic.h"

#include "mod_memtrack_config.h"
#include "mod_memtrack_sink.h"
#include "mt_util.h"

APLOG_USE_MODULE(memtrack);

#define MT_DROP_REPORT_SECS 60

void mt_sink_count_drop(mt_sink_t *sink, server_rec *s, apr_status_t rv)
{
    apr_uint32_t dropped = apr_atomic_inc32(&sink->dropped) + 1;
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(mt_mono_now());
    apr_uint32_t last = apr_atomic_read32(&sink->report_sec);

    /* One thread per minute wins the compare-and-swap and reports. */
    if ((last != 0 && now - last < MT_DROP_REPORT_SECS)
        || apr_atomic_cas32(&sink->report_sec, now, last) != last) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                 "memtrack: %s: dropped %u records (%u since the last report) "
                 "in this child", sink->name, dropped,
                 dropped - apr_atomic_xchg32(&sink->reported, dropped));
}

static void list_one(mt_status_sink_t *out, const mt_sink_t *sink,
                     const char *kind)
{
    out->name = sink->name;
    out->kind = kind;
    out->written = apr_atomic_read32((volatile apr_uint32_t *)&sink->written);
    out->dropped = apr_atomic_read32((volatile apr_uint32_t *)&sink->dropped);
}

unsigned int mt_sink_list(mt_status_sink_t *out, unsigned int max,
                          server_rec *s)
{
    const mt_srv_conf_t *sc = mt_config_srv(s);
    const mt_sink_t *log = sc ? mt_config_log_sink(sc) : NULL;
    const mt_sink_t *redis = sc ? mt_config_redis_sink(sc) : NULL;
    unsigned int n = 0;

    if (log && n < max) list_one(&out[n++], log, "log");
    if (redis && n < max) list_one(&out[n++], redis, "redis");
    return n;
}
