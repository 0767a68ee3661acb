/* mod_memtrack_redis_conf: the Redis directives' values per server (see
 * src/mod_memtrack_redis_conf.c). The config layer owns the per-server
 * struct and the command table and hands each directive's value here; the
 * sink's glue (mod_memtrack_redis.c) and the heap diff read the result.
 * Nothing here reads another glue file's state, so no include cycle. */
#ifndef MOD_MEMTRACK_REDIS_CONF_H
#define MOD_MEMTRACK_REDIS_CONF_H

#include "httpd.h"
#include "http_config.h"
#include "mt_redis.h"

/* One server's Redis settings (private to the .c file). */
typedef struct mt_redis_conf_t mt_redis_conf_t;

/* The directives: each sets a field of *rc (made in cmd->pool on first
 * use) and returns an error naming the directive and the value, or NULL. */
const char *mt_redis_conf_url(mt_redis_conf_t **rc, cmd_parms *cmd,
                              const char *arg);
const char *mt_redis_conf_ttl(mt_redis_conf_t **rc, cmd_parms *cmd,
                              const char *arg);
const char *mt_redis_conf_maxlen(mt_redis_conf_t **rc, cmd_parms *cmd,
                                 const char *arg);
const char *mt_redis_conf_queue(mt_redis_conf_t **rc, cmd_parms *cmd,
                                const char *arg);
const char *mt_redis_conf_timeout(mt_redis_conf_t **rc, cmd_parms *cmd,
                                  const char *conn, const char *command);

/* Merge a vhost's Redis config over the main server's (a new struct when
 * both are set; base is never changed). */
mt_redis_conf_t *mt_redis_conf_merge(apr_pool_t *p, mt_redis_conf_t *base,
                                     mt_redis_conf_t *add);

/* The writer's options of rc, defaults applied; NULL address when it has
 * none (or MemTrackRedis Off). *url: MemTrackRedis as written (holds the
 * password: compared, never shown). Returns 0 when rc sends nothing. */
int mt_redis_conf_opts(mt_redis_opts_t *o, const char **url,
                       const mt_redis_conf_t *rc);

/* The Redis address of a server's config and its timeouts, NULL when it
 * has none (or MemTrackRedis Off): for other clients than the sink (the
 * heap diff's copy of its snapshots). */
const mt_redis_addr_t *mt_redis_conf_addr(const mt_redis_conf_t *rc,
                                          int *connect_ms, int *command_ms);

#endif
