/* mt_redis_addr: a MemTrackRedis address, parsed, shown and redacted;
 * httpd-free, and free of hiredis and threads too (src/mt_redis_addr.c), so
 * the directive checks it at config time and a fuzzer can run it alone.
 *
 * Passwords: the parsed address keeps the password for AUTH only; its
 * display and mt_redis_redact() replace it by "***", so every message can
 * show either, whatever the text was.
 */
#ifndef MT_REDIS_ADDR_H
#define MT_REDIS_ADDR_H

#include <apr_pools.h>

/* MT_REDIS_ID_MAX, MT_REDIS_DEFAULT_PORT, MT_REDIS_DB_MAX: */
#include "mt_limits.h"

/* A parsed MemTrackRedis address. */
typedef struct mt_redis_addr_t {
    int         is_unix;    /* 1: unix socket at path; 0: TCP host:port */
    const char *host;       /* TCP host name or address (no brackets) */
    int         port;       /* TCP port, 1..65535 */
    const char *path;       /* unix socket path */
    const char *username;   /* ACL user for AUTH, NULL for plain AUTH */
    const char *password;   /* NULL when none; used for AUTH, never shown */
    int         db;         /* SELECT db, 0 when not given */
    const char *display;    /* the address for messages, password "***" */
} mt_redis_addr_t;

/* Parse "redis://[[user]:password@]host[:port][/db]" or
 * "unix:/path/to/socket[?db=N][&password=P]". On APR_EINVAL *err says what
 * is wrong in words that never include the password. */
apr_status_t mt_redis_addr_parse(mt_redis_addr_t **paddr, const char **err,
                                 const char *text, apr_pool_t *p);

/* text with any password replaced by "***": safe to show whatever it is. */
const char *mt_redis_redact(const char *text, apr_pool_t *p);

#endif
