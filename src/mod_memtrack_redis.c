/* mod_memtrack_redis: the Redis sink's glue.
 *
 * Directives fill a struct mt_redis_conf_t per server; the address is parsed
 * and checked when the directive is read, so `apachectl -t` catches a bad
 * one. Nothing connects in the parent: child_init starts one writer
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

#include <errno.h>

#include "mod_memtrack_config.h"
#include "mod_memtrack_redis.h"
#include "mod_memtrack_sink.h"
#include "mt_redis.h"

APLOG_USE_MODULE(memtrack);

#define MT_REDIS_TTL_MAX     (10 * 365 * 86400)  /* ten years, in seconds */
#define MT_REDIS_MAXLEN_MAX  1000000000
#define MT_REDIS_QUEUE_MAX   1000000
#define MT_REDIS_TIMEOUT_MAX 60000               /* ms */

/* One server's Redis settings; numbers are MT_UNSET until a directive sets
 * them, so a vhost can change the TTL and keep the main server's address. */
struct mt_redis_conf_t {
    const char      *url;        /* MemTrackRedis as written (may hold a
                                  * password: compared, never shown);
                                  * NULL when unset */
    int              off;        /* MemTrackRedis Off */
    mt_redis_addr_t *addr;       /* parsed url */
    int              ttl_sec;    /* MemTrackRedisTTL */
    apr_int64_t      maxlen;     /* MemTrackRedisStreamMaxLen, 0 = no XADD */
    int              queue_max;  /* MemTrackRedisQueue, records */
    int              connect_ms; /* MemTrackRedisTimeout, first value */
    int              command_ms; /* MemTrackRedisTimeout, second value */
};

/* What the writer callbacks need. */
typedef struct mt_redis_glue_t {
    server_rec *s;               /* the main server, for messages */
    mt_sink_t  *sink;
    mt_redis_t *redis;
} mt_redis_glue_t;

static struct mt_redis_conf_t *conf_make(apr_pool_t *p)
{
    struct mt_redis_conf_t *rc = apr_pcalloc(p, sizeof(*rc));

    rc->ttl_sec = MT_UNSET;
    rc->maxlen = MT_UNSET;
    rc->queue_max = MT_UNSET;
    rc->connect_ms = MT_UNSET;
    rc->command_ms = MT_UNSET;
    return rc;
}

static struct mt_redis_conf_t *conf_get(cmd_parms *cmd)
{
    struct mt_redis_conf_t **ref = mt_config_redis_ref(mt_config_srv(cmd->server));

    if (!*ref)
        *ref = conf_make(cmd->pool);
    return *ref;
}

/* A decimal integer in [lo, hi], or an error naming directive and value. */
static const char *parse_int(cmd_parms *cmd, const char *arg, apr_int64_t lo,
                             apr_int64_t hi, const char *unit, apr_int64_t *out)
{
    char *end;
    apr_int64_t v = 0;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (!*arg || *end || errno || v < lo || v > hi)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of %s "
                            "from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, unit, lo, hi);
    *out = v;
    return NULL;
}

const char *mt_redis_cmd_url(cmd_parms *cmd, void *dc, const char *arg)
{
    struct mt_redis_conf_t *rc = conf_get(cmd);
    mt_redis_addr_t *addr;
    const char *err;

    (void)dc;
    if (!strcasecmp(arg, "off")) {
        rc->off = 1;
        rc->url = "off";
        rc->addr = NULL;
        return NULL;
    }
    if (mt_redis_addr_parse(&addr, &err, arg, cmd->pool) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: %s in '%s'", cmd->cmd->name, err,
                            mt_redis_redact(arg, cmd->pool));
    rc->off = 0;
    rc->url = apr_pstrdup(cmd->pool, arg);
    rc->addr = addr;
    return NULL;
}

const char *mt_redis_cmd_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_int64_t v = 0;
    const char *err = parse_int(cmd, arg, 1, MT_REDIS_TTL_MAX, "seconds", &v);

    (void)dc;
    if (!err)
        conf_get(cmd)->ttl_sec = (int)v;
    return err;
}

const char *mt_redis_cmd_maxlen(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_int64_t v = 0;
    const char *err = parse_int(cmd, arg, 0, MT_REDIS_MAXLEN_MAX, "entries",
                                &v);

    (void)dc;
    if (!err)
        conf_get(cmd)->maxlen = v;
    return err;
}

const char *mt_redis_cmd_queue(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_int64_t v = 0;
    const char *err = parse_int(cmd, arg, 1, MT_REDIS_QUEUE_MAX, "records", &v);

    (void)dc;
    if (!err)
        conf_get(cmd)->queue_max = (int)v;
    return err;
}

const char *mt_redis_cmd_timeout(cmd_parms *cmd, void *dc, const char *conn,
                                 const char *command)
{
    struct mt_redis_conf_t *rc = conf_get(cmd);
    apr_int64_t c = 0, m = 0;
    const char *err;

    (void)dc;
    if ((err = parse_int(cmd, conn, 1, MT_REDIS_TIMEOUT_MAX, "milliseconds",
                         &c)) != NULL)
        return err;
    if (command && (err = parse_int(cmd, command, 1, MT_REDIS_TIMEOUT_MAX,
                                    "milliseconds", &m)) != NULL)
        return err;
    rc->connect_ms = (int)c;
    rc->command_ms = command ? (int)m : (int)c;
    return NULL;
}

#define PICK(f) (add->f != MT_UNSET ? add->f : base->f)

struct mt_redis_conf_t *mt_redis_conf_merge(apr_pool_t *p,
                                            struct mt_redis_conf_t *base,
                                            struct mt_redis_conf_t *add)
{
    struct mt_redis_conf_t *rc;

    if (!add || !base)
        return add ? add : base;
    rc = conf_make(p);
    if (add->url) {
        rc->url = add->url;
        rc->off = add->off;
        rc->addr = add->addr;
    }
    else {
        rc->url = base->url;
        rc->off = base->off;
        rc->addr = base->addr;
    }
    rc->ttl_sec = PICK(ttl_sec);
    rc->maxlen = PICK(maxlen);
    rc->queue_max = PICK(queue_max);
    rc->connect_ms = PICK(connect_ms);
    rc->command_ms = PICK(command_ms);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* The child's writers                                                    */

static void opts_from_conf(mt_redis_opts_t *o, const struct mt_redis_conf_t *rc)
{
    mt_redis_opts_default(o);
    o->addr = rc->addr;
    if (rc->ttl_sec != MT_UNSET)
        o->ttl_sec = rc->ttl_sec;
    if (rc->maxlen != MT_UNSET)
        o->stream_maxlen = rc->maxlen;
    if (rc->queue_max != MT_UNSET)
        o->queue_max = (apr_size_t)rc->queue_max;
    if (rc->connect_ms != MT_UNSET)
        o->connect_timeout_ms = rc->connect_ms;
    if (rc->command_ms != MT_UNSET)
        o->command_timeout_ms = rc->command_ms;
}

const mt_redis_addr_t *mt_redis_conf_addr(const struct mt_redis_conf_t *rc,
                                          int *connect_ms, int *command_ms)
{
    mt_redis_opts_t o;

    if (!rc || rc->off || !rc->addr) {
        return NULL;
    }
    opts_from_conf(&o, rc);
    *connect_ms = o.connect_timeout_ms;
    *command_ms = o.command_timeout_ms;
    return rc->addr;
}

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
                               const char *line, apr_size_t len)
{
    mt_redis_glue_t *g = ctx;

    return mt_redis_push(g->redis, request_id, line, len);
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
        struct mt_redis_conf_t *rc = *mt_config_redis_ref(sc);
        mt_redis_opts_t o;
        const char *key;
        mt_sink_t *sink;

        mt_config_set_redis_sink(sc, NULL);
        if (!rc || rc->off || !rc->addr)
            continue;
        opts_from_conf(&o, rc);
        key = conf_key(&o, rc->url, ptemp);
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
