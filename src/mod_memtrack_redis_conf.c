/* mod_memtrack_redis_conf: the Redis directives' values per server.
 *
 * The config layer (mod_memtrack_config.c) owns the per-server struct and
 * the command table; its handlers for MemTrackRedis* pass the server's
 * mt_redis_conf_t here. The address is parsed and checked when the
 * directive is read, so `apachectl -t` catches a bad one; nothing connects
 * here (the writers start in mod_memtrack_redis.c's child_init).
 */
#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"

#include "mod_memtrack_redis_conf.h"
#include "mt_limits.h"
#include "mt_util.h"

#define RC_UNSET             (-1)                /* = MT_UNSET */

/* One server's Redis settings; numbers are RC_UNSET until a directive sets
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

static mt_redis_conf_t *conf_make(apr_pool_t *p)
{
    mt_redis_conf_t *rc = apr_pcalloc(p, sizeof(*rc));

    rc->ttl_sec = RC_UNSET;
    rc->maxlen = RC_UNSET;
    rc->queue_max = RC_UNSET;
    rc->connect_ms = RC_UNSET;
    rc->command_ms = RC_UNSET;
    return rc;
}

static mt_redis_conf_t *conf_get(mt_redis_conf_t **ref, cmd_parms *cmd)
{
    if (!*ref) {
        *ref = conf_make(cmd->pool);
    }
    return *ref;
}

/* A decimal integer in [lo, hi], or an error naming directive and value. */
static const char *parse_int(cmd_parms *cmd, const char *arg, apr_int64_t lo,
                             apr_int64_t hi, const char *unit, apr_int64_t *out)
{
    apr_int64_t v = 0;

    if (mt_dec_parse(&v, arg, strlen(arg), lo, hi) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of %s "
                            "from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, unit, lo, hi);
    }
    *out = v;
    return NULL;
}

const char *mt_redis_conf_url(mt_redis_conf_t **ref, cmd_parms *cmd,
                              const char *arg)
{
    mt_redis_conf_t *rc = conf_get(ref, cmd);
    mt_redis_addr_t *addr;
    const char *err;

    if (!strcasecmp(arg, "off")) {
        rc->off = 1;
        rc->url = "off";
        rc->addr = NULL;
        return NULL;
    }
    if (mt_redis_addr_parse(&addr, &err, arg, cmd->pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: %s in '%s'", cmd->cmd->name, err,
                            mt_redis_redact(arg, cmd->pool));
    }
    rc->off = 0;
    rc->url = apr_pstrdup(cmd->pool, arg);
    rc->addr = addr;
    return NULL;
}

const char *mt_redis_conf_ttl(mt_redis_conf_t **ref, cmd_parms *cmd,
                              const char *arg)
{
    apr_int64_t v = 0;
    const char *err = parse_int(cmd, arg, MT_MIN_REDIS_TTL_SEC,
                                MT_MAX_REDIS_TTL_SEC, "seconds", &v);

    if (!err) {
        conf_get(ref, cmd)->ttl_sec = (int)v;
    }
    return err;
}

const char *mt_redis_conf_maxlen(mt_redis_conf_t **ref, cmd_parms *cmd,
                                 const char *arg)
{
    apr_int64_t v = 0;
    const char *err = parse_int(cmd, arg, MT_MIN_REDIS_STREAM_MAXLEN,
                                MT_MAX_REDIS_STREAM_MAXLEN, "entries", &v);

    if (!err) {
        conf_get(ref, cmd)->maxlen = v;
    }
    return err;
}

const char *mt_redis_conf_queue(mt_redis_conf_t **ref, cmd_parms *cmd,
                                const char *arg)
{
    apr_int64_t v = 0;
    const char *err = parse_int(cmd, arg, MT_MIN_REDIS_QUEUE,
                                MT_MAX_REDIS_QUEUE, "records", &v);

    if (!err) {
        conf_get(ref, cmd)->queue_max = (int)v;
    }
    return err;
}

const char *mt_redis_conf_timeout(mt_redis_conf_t **ref, cmd_parms *cmd,
                                  const char *conn, const char *command)
{
    mt_redis_conf_t *rc = conf_get(ref, cmd);
    apr_int64_t c = 0, m = 0;
    const char *err;

    if ((err = parse_int(cmd, conn, MT_MIN_REDIS_TIMEOUT_MS,
                         MT_MAX_REDIS_TIMEOUT_MS, "milliseconds", &c))
        != NULL) {
        return err;
    }
    if (command && (err = parse_int(cmd, command,
                                    MT_MIN_REDIS_TIMEOUT_MS,
                                    MT_MAX_REDIS_TIMEOUT_MS,
                                    "milliseconds", &m)) != NULL) {
        return err;
    }
    rc->connect_ms = (int)c;
    rc->command_ms = command ? (int)m : (int)c;
    return NULL;
}

#define PICK(f) (add->f != RC_UNSET ? add->f : base->f)

mt_redis_conf_t *mt_redis_conf_merge(apr_pool_t *p, mt_redis_conf_t *base,
                                     mt_redis_conf_t *add)
{
    mt_redis_conf_t *rc;

    if (!add || !base) {
        return add ? add : base;
    }
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

int mt_redis_conf_opts(mt_redis_opts_t *o, const char **url,
                       const mt_redis_conf_t *rc)
{
    mt_redis_opts_default(o);
    if (!rc || rc->off || !rc->addr) {
        return 0;
    }
    o->addr = rc->addr;
    if (rc->ttl_sec != RC_UNSET) {
        o->ttl_sec = rc->ttl_sec;
    }
    if (rc->maxlen != RC_UNSET) {
        o->stream_maxlen = rc->maxlen;
    }
    if (rc->queue_max != RC_UNSET) {
        o->queue_max = (apr_size_t)rc->queue_max;
    }
    if (rc->connect_ms != RC_UNSET) {
        o->connect_timeout_ms = rc->connect_ms;
    }
    if (rc->command_ms != RC_UNSET) {
        o->command_timeout_ms = rc->command_ms;
    }
    *url = rc->url;
    return 1;
}

const mt_redis_addr_t *mt_redis_conf_addr(const mt_redis_conf_t *rc,
                                          int *connect_ms, int *command_ms)
{
    mt_redis_opts_t o;
    const char *url;

    if (!mt_redis_conf_opts(&o, &url, rc)) {
        return NULL;
    }
    *connect_ms = o.connect_timeout_ms;
    *command_ms = o.command_timeout_ms;
    return rc->addr;
}
