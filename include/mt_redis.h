/* mt_redis: the Redis sink's core, httpd-free (APR and hiredis only).
 *
 * Request threads hand records to mt_redis_push(), which copies them onto a
 * bounded in-memory queue and returns at once: it never touches the network
 * and never waits for anything but a mutex held for a few pointer moves. When
 * the queue is full, or the record's id is not safe in a key, the record is
 * dropped and counted.
 *
 * One writer thread per mt_redis_t (one per child process and distinct
 * config) owns the only hiredis context: a context is never shared between
 * threads. It drains the queue in pipelined batches (at most batch_max
 * records and batch_bytes bytes) of
 *
 *   SET  memtrack:req:<id> <record> EX <ttl> [NX]
 *   XADD memtrack:stream MAXLEN ~ <n> * record <record>
 *
 * NX for a record whose id a client named (MemTrackTrustRequestId): it
 * never replaces a record under that key. Without NX for an id the server
 * made: whatever a client put there first (squatting an id it predicted)
 * is replaced by the id's own record.
 *
 * with connect and command timeouts. When Redis is down, slow or refuses
 * AUTH, the writer frees the context, counts what it lost and reconnects with
 * exponential backoff; records keep queueing up to the bound meanwhile.
 *
 * Passwords: the parsed address (mt_redis_addr.h) keeps the password for
 * AUTH only. Every message this file writes uses mt_redis_addr_t.display,
 * the address with the password replaced by "***".
 *
 * Thread safety: mt_redis_push() and mt_redis_stats() may be called from any
 * thread; create/start/stop from one thread (the child's main thread).
 */
#ifndef MT_REDIS_H
#define MT_REDIS_H

#include <apr_pools.h>
#include <apr_time.h>
#include "mt_log.h"
#include "mt_limits.h"
#include "mt_redis_addr.h"

#define MT_REDIS_KEY_PREFIX   "memtrack:req:"
#define MT_REDIS_STREAM       "memtrack:stream"
/* MT_REDIS_LINE_MAX and the tunables' defaults (MT_REDIS_DEFAULT_*, the
 * directives in mod_memtrack_redis_conf.c): mt_limits.h. */

/* What one sink is told to do. */
typedef struct mt_redis_opts_t {
    const mt_redis_addr_t *addr;
    int          ttl_sec;           /* EX of the per-request keys, >= 1 */
    apr_int64_t  stream_maxlen;     /* MAXLEN ~ n; 0: no XADD at all */
    apr_size_t   queue_max;         /* records waiting at most */
    apr_size_t   batch_max;         /* records per pipelined batch */
    apr_size_t   batch_bytes;       /* ... and their bytes (keys and
                                     * records), at most; a batch holds one
                                     * record whatever its size. hiredis
                                     * formats a whole pipeline in one
                                     * buffer: this bounds it, and so what
                                     * a busy child's writer holds */
    int          connect_timeout_ms;
    int          command_timeout_ms;
    int          linger_ms;         /* a batch waits this long for more
                                     * records, 0: sent at once */
    apr_interval_time_t backoff_min;/* first reconnect delay */
    apr_interval_time_t backoff_max;/* longest reconnect delay */
    mt_log_fn   *log;               /* may be NULL */
    void        *log_baton;
    /* Called from the writer thread with records it had to drop after they
     * were queued (Redis failed mid-batch, error replies); may be NULL. */
    void       (*on_drop)(void *baton, apr_uint32_t n, apr_status_t rv);
    /* Called from the writer thread with records Redis acknowledged; may
     * be NULL. Same baton. */
    void       (*on_written)(void *baton, apr_uint32_t n);
    void        *drop_baton;
} mt_redis_opts_t;

/* Fill opts with the defaults (addr, log and on_drop NULL). */
void mt_redis_opts_default(mt_redis_opts_t *o);

/* Counters, all since create. */
typedef struct mt_redis_stats_t {
    apr_uint32_t queued;        /* records taken by push */
    apr_uint32_t written;       /* records Redis acknowledged (SET OK) */
    apr_uint32_t dropped_full;  /* refused by push: queue full */
    apr_uint32_t dropped_bad;   /* refused by push: unsafe id or size */
    apr_uint32_t dropped_lost;  /* queued, then lost: I/O error, error reply,
                                 * an id that has a record already, left
                                 * over at stop */
    apr_uint32_t dropped_dup;   /* of those, refused by SET NX (a client's
                                 * id): the id had a record (the stream
                                 * still got it) */
    apr_uint32_t errors;        /* failed connects, AUTH, I/O, error replies */
    apr_uint32_t connects;      /* successful connects (AUTH and SELECT done) */
    apr_uint32_t batches;       /* pipelines sent */
    apr_uint32_t pending;       /* records in the queue now */
    int          connected;     /* the writer has a working context now */
} mt_redis_stats_t;

typedef struct mt_redis_t mt_redis_t;

/* Make a sink with its queue; no thread runs yet. Copies what it needs from
 * o (addr must live as long as p). */
apr_status_t mt_redis_create(mt_redis_t **pr, const mt_redis_opts_t *o,
                             apr_pool_t *p);

/* Start the writer thread. A pre-cleanup on the pool of create stops it
 * (mt_redis_stop), so destroying that pool leaks no thread or connection.
 * All signals are blocked in the writer: the MPM's handlers stay on its own
 * threads. */
apr_status_t mt_redis_start(mt_redis_t *r);

/* Queue one record. Never blocks. APR_SUCCESS when queued; APR_EINVAL for an
 * unsafe id or an empty/over-long line; APR_EAGAIN when the queue is full. A
 * trailing "\n" is not sent. replace: 1 when the server made the id, so
 * the record replaces what is under its key (SET EX); 0 when a client
 * named it, so it is written only where there is none (SET EX NX). */
apr_status_t mt_redis_push(mt_redis_t *r, const char *request_id,
                           int replace, const char *line, apr_size_t len);

/* Stop the writer: it writes what is queued while the connection works,
 * bounded by about two command timeouts, then closes it. What is left is
 * counted as lost. Safe to call twice, and on a sink never started. */
void mt_redis_stop(mt_redis_t *r);

/* A snapshot of the counters. */
void mt_redis_stats(const mt_redis_t *r, mt_redis_stats_t *st);

/* The address for messages (password hidden). */
const char *mt_redis_display(const mt_redis_t *r);

#endif
