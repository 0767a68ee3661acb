/* mod_memtrack_redis: the Redis sink's glue (directives, child start). */
#ifndef MOD_MEMTRACK_REDIS_H
#define MOD_MEMTRACK_REDIS_H

#include "httpd.h"
#include "http_config.h"

/* Directive table entries, spliced into mt_config_cmds. */
#define MT_REDIS_CMDS \
    AP_INIT_TAKE1("MemTrackRedis", mt_redis_cmd_url, NULL, RSRC_CONF, \
        "Redis sink: redis://[:password@]host:port[/db] or unix:/path[?db=N]"), \
    AP_INIT_TAKE1("MemTrackRedisTTL", mt_redis_cmd_ttl, NULL, RSRC_CONF, \
        "Expiry of memtrack:req:<id> keys in seconds (default 86400)")

const char *mt_redis_cmd_url(cmd_parms *cmd, void *dc, const char *arg);
const char *mt_redis_cmd_ttl(cmd_parms *cmd, void *dc, const char *arg);

/* Merge a vhost's Redis config over the main server's. */
struct mt_redis_conf_t *mt_redis_conf_merge(apr_pool_t *p,
                                            struct mt_redis_conf_t *base,
                                            struct mt_redis_conf_t *add);

/* Register the Redis hooks (child_init starts the writer per server). */
void mt_redis_register_hooks(apr_pool_t *p);

#endif
