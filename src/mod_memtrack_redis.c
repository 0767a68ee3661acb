/* mod_memtrack_redis: the Redis sink's glue.
 *
 * The directives fill a mt_redis_conf_t per server (mod_memtrack_redis_conf.c,
 * through the config layer); the address is parsed and checked when the
 * directive is read. Nothing connects in the parent: child_init starts one writer
 * (src/mt_redis.c) per distinct effective config, in a subpool of the child
 * pool, and makes it the Redis sink of every server using it.
 * When the child exits (graceful restart, MaxConnectionsPerChild, stop), the
 * pool's cleanup stops the thread and closes its connection.
 *
 * The sink's emit() only queues: it never waits on the network. What the
 * writer thread writes and what it loses later (Redis went away mid-batch,
 * error replies, left over at stop) it tells the sink (mt_sink_written,
 * mt_sink_lost), whose counters and drop reports are those of every sink.
 * The sink itself lives in the child pool, not in the writer's subpool, so
 * that the report at child exit, after the writer has stopped and counted
 * its last losses, can still read it.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "mod_memtrack_config.h"
#include "mod_memtrack_redis.h"
#include "mod_memtrack_redis_conf.h"
#include "mod_memtrack_sink.h"
#include "mt_redis.h"

APLOG_USE_MODULE(memtrack);

/* What the writer callbacks need. */
typedef struct mt_redis_glue_t {
    server_rec *s;               /* the main server, for messages */
    mt_sink_t  *sink;
    mt_redis_t *redis;
} mt_redis_glue_t;

/* The key telling two servers' effective configs apart. It holds the
 * password (through the url): it is only compared, never shown. */
static const char *conf_key(const mt_redis_opts_t *o, const char *url,
                            apr_pool_t *p)
{
    return apr_psprintf(p, "%d %" APR_INT64_T_FMT " %" APR_SIZE_T_FMT
                        " %d %d %s", o->ttl_sec, o->stream_maxlen,
                        o->queue_max, o->connect_timeout_ms,
                        o->command_timeout_ms, url);
}

static void glue_log(void *baton, int level, apr_status_t rv, const char *msg)
{
    mt_redis_glue_t *g = baton;

    ap_log_error(APLOG_MARK, level, rv, g->s, "memtrack: %s", msg);
}

static void glue_drop(void *baton, apr_uint32_t n, apr_status_t rv)
{
    mt_redis_glue_t *g = baton;

    mt_sink_lost(g->sink, g->s, n, rv);
}

static void glue_written(void *baton, apr_uint32_t n)
{
    mt_redis_glue_t *g = baton;

    mt_sink_written(g->sink, g->s, n);
}

static apr_status_t redis_emit(void *ctx, const char *request_id,
                               int id_server_made, const char *line,
                               apr_size_t len)
{
    mt_redis_glue_t *g = ctx;

    return mt_redis_push(g->redis, request_id, id_server_made, line, len);
}

static mt_sink_t *sink_start(const mt_redis_opts_t *base, server_rec *s,
                             apr_pool_t *pchild)
{
    mt_redis_glue_t *g;
    mt_redis_opts_t o = *base;
    apr_pool_t *p;
    apr_status_t rv;

    apr_pool_create(&p, pchild);
    apr_pool_tag(p, "memtrack_redis");
    g = apr_pcalloc(p, sizeof(*g));
    g->s = s;
    g->sink = mt_sink_create(pchild, apr_pstrcat(p, "redis ", o.addr->display,
                                                 NULL),
                             redis_emit, g, MT_SINK_QUEUED);
    o.log = glue_log;
    o.log_baton = g;
    o.on_drop = glue_drop;
    o.on_written = glue_written;
    o.drop_baton = g;
    if ((rv = mt_redis_create(&g->redis, &o, p)) != APR_SUCCESS
        || (rv = mt_redis_start(g->redis)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "memtrack: %s: cannot "
                     "start the writer; records are not sent to Redis",
                     mt_sink_name(g->sink));
        apr_pool_destroy(p);
        return NULL;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "memtrack: %s: writer started",
                 mt_sink_name(g->sink));
    return g->sink;
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_hash_t *started;
    apr_pool_t *ptemp;
    server_rec *vs;

    if (!mt_config_any_enabled())
        return;
    apr_pool_create(&ptemp, pchild);
    started = apr_hash_make(ptemp);
    for (vs = s; vs; vs = vs->next) {
        mt_srv_conf_t *sc = mt_config_srv(vs);
        mt_redis_opts_t o;
        const char *key, *url = NULL;
        mt_sink_t *sink;

        mt_config_set_redis_sink(sc, NULL);
        if (!mt_redis_conf_opts(&o, &url, *mt_config_redis_ref(sc)))
            continue;
        key = conf_key(&o, url, ptemp);
        sink = apr_hash_get(started, key, APR_HASH_KEY_STRING);
        if (!sink && (sink = sink_start(&o, s, pchild)) != NULL)
            apr_hash_set(started, key, APR_HASH_KEY_STRING, sink);
        mt_config_set_redis_sink(sc, sink);
    }
    apr_pool_destroy(ptemp);
}

void mt_redis_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* Order does not matter: the writers only need the config. */
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
