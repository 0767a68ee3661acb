/* mod_memtrack_redis: the Redis sink's glue (directives, child start). */
#ifndef MOD_MEMTRACK_REDIS_H
#define MOD_MEMTRACK_REDIS_H

#include "httpd.h"
#include "http_config.h"

/* Directive table entries, spliced into mt_config_cmds. */
#define MT_REDIS_CMDS \
    AP_INIT_TAKE1("MemTrackRedis", mt_redis_cmd_url, NULL, RSRC_CONF, \
        "Redis sink: redis://[:password@]host:port[/db], unix:/path[?db=N] " \
        "or Off"), \
    AP_INIT_TAKE1("MemTrackRedisTTL", mt_redis_cmd_ttl, NULL, RSRC_CONF, \
        "Expiry of memtrack:req:<id> keys in seconds (default 86400)"), \
    AP_INIT_TAKE1("MemTrackRedisStreamMaxLen", mt_redis_cmd_maxlen, NULL, \
        RSRC_CONF, "Approximate cap of memtrack:stream entries; 0 = no " \
        "stream (default 100000)"), \
    AP_INIT_TAKE1("MemTrackRedisQueue", mt_redis_cmd_queue, NULL, RSRC_CONF, \
        "Records waiting for Redis per child before new ones are dropped " \
        "(default 10000)"), \
    AP_INIT_TAKE12("MemTrackRedisTimeout", mt_redis_cmd_timeout, NULL, \
        RSRC_CONF, "Connect and command timeouts in milliseconds " \
        "(default 500 1000)")

const char *mt_redis_cmd_url(cmd_parms *cmd, void *dc, const char *arg);
const char *mt_redis_cmd_ttl(cmd_parms *cmd, void *dc, const char *arg);
const char *mt_redis_cmd_maxlen(cmd_parms *cmd, void *dc, const char *arg);
const char *mt_redis_cmd_queue(cmd_parms *cmd, void *dc, const char *arg);
const char *mt_redis_cmd_timeout(cmd_parms *cmd, void *dc, const char *conn,
                                 const char *command);

/* Merge a vhost's Redis config over the main server's. */
struct mt_redis_conf_t *mt_redis_conf_merge(apr_pool_t *p,
                                            struct mt_redis_conf_t *base,
                                            struct mt_redis_conf_t *add);

/* The Redis address of a server's config and its timeouts, NULL when it
 * has none (or MemTrackRedis Off): for other clients than the sink (the
 * heap diff's copy of its snapshots). */
struct mt_redis_addr_t;
const struct mt_redis_addr_t *mt_redis_conf_addr(
    const struct mt_redis_conf_t *rc, int *connect_ms, int *command_ms);

/* Register the Redis hooks (child_init starts the writer per server). */
void mt_redis_register_hooks(apr_pool_t *p);

#endif
