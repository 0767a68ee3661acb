/* mt_linewriter: the log sink's writer thread. httpd-free core.
 *
 * Request threads hand their record lines to mt_linewriter_put(), which
 * copies them into a spool (mt_spool.h) and returns: no system call, no
 * wait for the pipe or the disk. One thread per httpd child and log takes
 * what waits and writes it through an mt_linefile (whole lines only, also
 * after a short write) in as few write()s as it can:
 *   - on a pipe, writes of at most PIPE_BUF bytes of whole lines, which
 *     POSIX makes atomic: the lines of many children never interleave;
 *   - on a file, writes of up to MT_LINEWRITER_FILE_BATCH bytes, each
 *     under mt_linefile's lock across children.
 * It writes when MT_LINEWRITER_WAKE_BYTES wait, or MT_LINEWRITER_DELAY
 * after the first record of a batch was put, whichever comes first; and
 * at stop (the child's exit, a graceful restart), before the pool goes.
 *
 * A full pipe (the logger stopped reading) loses the lines of that write
 * at once, counted, as a record written on the request thread was lost
 * before: nothing piles up behind a stopped logger. A slow disk makes the
 * writer wait in write(), never a request thread: records then wait in the
 * spool, up to MT_LINEWRITER_MAX_BYTES, and beyond that put() refuses them
 * (APR_EAGAIN): the caller writes them itself or counts them dropped. At stop the writer
 * writes what waits, then ends; a crash loses what waits (at most
 * max_bytes, and what MT_LINEWRITER_DELAY collects).
 *
 * What was written and what was lost after put() took it is told through
 * on_written and on_lost, from the writer thread (from the stopping thread
 * at stop).
 */
#ifndef MT_LINEWRITER_H
#define MT_LINEWRITER_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mt_linefile.h"
#include "mt_limits.h"   /* MT_LINEWRITER_*: delay and bounds */


typedef struct mt_linewriter_t mt_linewriter_t;

typedef struct mt_linewriter_opts_t {
    int                 fd;           /* what lf writes to (a file gets
                                       * bigger writes than a pipe) */
    mt_linefile_t      *lf;
    apr_size_t          max_bytes;    /* defaults above when 0 */
    apr_size_t          wake_bytes;
    apr_interval_time_t delay;        /* < 0: the default */
    void (*on_written)(void *baton, apr_uint32_t n);
    void (*on_lost)(void *baton, apr_uint32_t n, apr_status_t rv);
    void               *baton;
} mt_linewriter_opts_t;

/* Defaults: everything above but fd and lf (fd -1, lf NULL). */
void mt_linewriter_opts_default(mt_linewriter_opts_t *o);

/* A writer in p; no thread runs yet. A pre-cleanup of p stops it. */
apr_status_t mt_linewriter_create(mt_linewriter_t **pw,
                                  const mt_linewriter_opts_t *o,
                                  apr_pool_t *p);

/* Start the thread (every signal blocked in it). */
apr_status_t mt_linewriter_start(mt_linewriter_t *w);

/* Hand over one line (ends in "\n", at most PIPE_BUF bytes on a pipe).
 * APR_SUCCESS when taken; APR_EAGAIN when full; APR_EOF once stopping;
 * APR_EINVAL for an empty line or one without its newline. */
apr_status_t mt_linewriter_put(mt_linewriter_t *w, const char *line,
                               apr_size_t len);

/* Write what waits, stop the thread; what is left (a writer never
 * started) is counted lost. Safe twice. */
void mt_linewriter_stop(mt_linewriter_t *w);

/* Records taken by put and not yet written or lost. */
apr_uint32_t mt_linewriter_pending(mt_linewriter_t *w);

#endif
