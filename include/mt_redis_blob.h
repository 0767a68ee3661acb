/* mt_redis_blob: one file into one Redis key, in bounded memory.
 *
 * httpd-free core (APR and hiredis; the record sink's queue and writer are
 * mt_redis.c). For the heap diff's optional copy of its snapshots in Redis
 * (`memtrack:heap:<process>:<n>`, MemTrackHeapDiffRedisTTL): a blocking
 * client for a thread that may wait (never a request thread). The file is
 * sent in 1 MiB pieces, SET key.partial EX ttl, then APPEND, then RENAME to
 * key, so that a reader never sees half a snapshot and a copy cut short by
 * a failure expires by itself. Connect and command timeouts apply to every
 * step, and replies are read within the limits of mt_redis_reply.h;
 * messages name the address with its password hidden.
 */
#ifndef MT_REDIS_BLOB_H
#define MT_REDIS_BLOB_H

#include <apr_pools.h>
#include "mt_redis.h"

#include "mt_limits.h"   /* MT_REDIS_BLOB_CHUNK */

/* Copy the file at path into key with expiry ttl_sec. APR_SUCCESS; else
 * err (errlen bytes) says what failed ("Redis at redis://127.0.0.1:6399/0:
 * connect: Connection refused"). cancel (may be NULL) is looked at between pieces. */
apr_status_t mt_redis_blob_put(const mt_redis_addr_t *addr, int connect_ms,
                               int command_ms, const char *key,
                               const char *path, int ttl_sec,
                               const volatile apr_uint32_t *cancel,
                               char *err, apr_size_t errlen);

#endif
