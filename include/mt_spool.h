/* mt_spool: records handed from request threads to one writer thread, in
 * batches. httpd-free core (APR atomics, pthreads).
 *
 * A request thread copies its record in (mt_spool_put: a mutex held for
 * one memcpy, never a wait, never a system call but, now and then, the
 * wake-up of the writer) and goes on; the writer takes everything that
 * waits at once (mt_spool_take) and writes it as it likes: the log sink in
 * writes of up to PIPE_BUF bytes, Redis in pipelines. Records wait in one
 * of two halves: request threads fill the active one while the writer
 * works through the other, so neither waits for the other's work.
 *
 * When the writer is woken: take() returns as soon as wake_records or
 * wake_bytes wait, or delay after the first record of a batch was put,
 * whichever comes first, and at once after close. So a record waits at
 * most delay while the writer keeps up, and a busy server wakes its
 * writer once per wake_records records, not once per record.
 *
 * Bounds: at most max_records records are waiting or being written, and
 * at most max_bytes bytes wait in the active half (so at most twice that
 * in memory, with the half being written). A record beyond them is refused
 * (APR_EAGAIN): the caller counts it as dropped. Memory comes in mapped
 * chunks of 64 KiB taken as records need them (two per half are kept for
 * reuse, the others unmapped when their batch is done), so a quiet spool
 * holds little whatever its bounds, and a burst leaves nothing behind.
 *
 * Records are opaque bytes with an optional tag (the Redis sink's request
 * id); a record is at most 4 GiB.
 *
 * Signals: prefork's SIGTERM and SIGHUP handlers run the child pool's
 * cleanups (and so mt_spool_close) on the thread they interrupt, which may
 * be in the middle of mt_spool_put, holding the mutex, and never comes
 * back. The mutex is an error-checking one whose owner is known the
 * instant it is taken (src/mt_spool.c says how): close then finds that it
 * holds it already, and goes on (a put publishes a record only once its
 * copy is whole), so the writer can still take and write what waits; and
 * the writer is woken through an eventfd, which a signal handler may
 * write.
 *
 * Thread safety: put, done and pending from any thread; take, next,
 * release, sleep and discard from the writer only (one writer); close
 * from any thread.
 */
#ifndef MT_SPOOL_H
#define MT_SPOOL_H

#include <apr_pools.h>
#include <apr_time.h>

typedef struct mt_spool_t mt_spool_t;

typedef struct mt_spool_opts_t {
    apr_uint32_t        max_records;  /* waiting or being written, at most */
    apr_size_t          max_bytes;    /* waiting in the active half, at most */
    apr_uint32_t        wake_records; /* take() returns once this many wait */
    apr_size_t          wake_bytes;   /* ... or this many bytes */
    apr_interval_time_t delay;        /* ... or the first waited this long */
} mt_spool_opts_t;

/* One record of a batch; the pointers hold until mt_spool_release. */
typedef struct mt_spool_rec_t {
    const char *tag;
    apr_size_t  tag_len;
    const char *data;
    apr_size_t  len;
} mt_spool_rec_t;

typedef struct mt_spool_batch_t mt_spool_batch_t;

/* A spool in p (its memory is freed by a cleanup of p: stop the writer
 * first, in a pre-cleanup). APR_EINVAL for bounds of 0. */
apr_status_t mt_spool_create(mt_spool_t **ps, const mt_spool_opts_t *o,
                             apr_pool_t *p);

/* Copy one record in. APR_SUCCESS; APR_EAGAIN when full; APR_EOF after
 * close; APR_ENOMEM. Never blocks on the writer. */
apr_status_t mt_spool_put(mt_spool_t *s, const char *tag, apr_size_t tag_len,
                          const char *data, apr_size_t len);

/* The writer: wait until a batch is due (see above), at most idle_wait
 * while nothing waits (then NULL), and take every record waiting. NULL
 * when there is none (closed, or idle_wait passed). The previous batch
 * must have been released. */
mt_spool_batch_t *mt_spool_take(mt_spool_t *s, apr_interval_time_t idle_wait);

/* The batch's next record: 1, or 0 at its end. The position is kept, so
 * a writer may stop in the middle and go on later. */
int mt_spool_next(mt_spool_batch_t *b, mt_spool_rec_t *rec);

/* Records of the batch not returned by mt_spool_next yet. */
apr_uint32_t mt_spool_left(const mt_spool_batch_t *b);

/* n taken records are written or counted as lost: room for n more. */
void mt_spool_done(mt_spool_t *s, apr_uint32_t n);

/* The writer is through with the batch (its records done). */
void mt_spool_release(mt_spool_t *s, mt_spool_batch_t *b);

/* Sleep for d, or until close; 1 when closed. */
int mt_spool_sleep(mt_spool_t *s, apr_interval_time_t d);

/* Refuse records from now on and wake the writer: take() returns what is
 * left at once, then NULL. Safe to call twice, and from a signal handler
 * that interrupted a put on the same thread (see above). */
void mt_spool_close(mt_spool_t *s);

int mt_spool_closed(mt_spool_t *s);

/* At the writer's end: every record not done (waiting, or left in a
 * batch, which is released) is thrown away; how many. */
apr_uint32_t mt_spool_discard(mt_spool_t *s);

/* Records put and not done yet. */
apr_uint32_t mt_spool_pending(mt_spool_t *s);

#endif
