/* mod_memtrack_sink: where records go, and what became of them.
 *
 * A sink is one implementation of a small interface (an emit function and
 * its context); the log_transaction hook hands every record line to every
 * sink of the server through mt_sink_emit(), which must never block the
 * request thread: a sink that cannot take a record now refuses it, and the
 * refusal is counted as a drop.
 *
 * The counters are private to this file: records written and dropped per
 * sink and child, read by mt_sink_counts() / mt_sink_snapshot() (the status
 * page). Every drop is told in the error log, at most one line per
 * MemTrackDropReportInterval (60 s) per sink and child while records are
 * being dropped, and the drops not told yet are told
 *   - by a timer thread of the child (once a second it looks):
 *     when the sink writes again (it wrote since its last drop, and has
 *     dropped nothing for 2 s), and once the interval has passed,
 *   - when the child exits (after the Redis writer has counted what it
 *     could not send),
 * so that the numbers in the lines "dropped N records since the last
 * report" add up to every record the child lost.
 *
 * A sink whose work happens on a thread of its own (Redis: emit only
 * queues) says so at creation (MT_SINK_QUEUED) and reports from that
 * thread what it wrote and what it lost later (mt_sink_written,
 * mt_sink_lost). The log sink does the same once its writer thread runs
 * in the child (mt_sink_set_queued).
 */
#ifndef MOD_MEMTRACK_SINK_H
#define MOD_MEMTRACK_SINK_H

#include "httpd.h"
#include <apr_pools.h>
#include <apr_tables.h>

#include "mt_status.h"

typedef struct mt_sink_t mt_sink_t;

/* Take one record line (ends in "\n"); APR_SUCCESS when taken.
 * id_server_made: 1 when the server made request_id (mod_unique_id's or
 * the module's own), 0 when a trusted client header named it. A sink that
 * keys records by id (Redis) lets a record of a server-made id replace
 * what is under it, and one of a client's id never. */
typedef apr_status_t mt_sink_emit_fn(void *ctx, const char *request_id,
                                     int id_server_made, const char *line,
                                     apr_size_t len);

#define MT_SINK_DIRECT 0   /* emit's APR_SUCCESS means written */
#define MT_SINK_QUEUED 1   /* emit's APR_SUCCESS means queued: the sink's own
                            * thread calls mt_sink_written / mt_sink_lost */

/* A sink named name (for messages; never holds a password), in p. */
mt_sink_t *mt_sink_create(apr_pool_t *p, const char *name,
                          mt_sink_emit_fn *emit, void *ctx, int mode);

const char *mt_sink_name(const mt_sink_t *sink);

/* From now on (in this child), emit's APR_SUCCESS means queued: a sink
 * created MT_SINK_DIRECT whose writer thread started in child_init. */
void mt_sink_set_queued(mt_sink_t *sink);

/* Hand one record to the sink, from a request thread; counts the result.
 * s is the server for messages. sink NULL: nothing. */
void mt_sink_emit(mt_sink_t *sink, server_rec *s, const char *request_id,
                  int id_server_made, const char *line, apr_size_t len);

/* From a MT_SINK_QUEUED sink's own thread: n queued records were written,
 * or lost (rv: why, APR_SUCCESS when there is no status to tell). */
void mt_sink_written(mt_sink_t *sink, server_rec *s, apr_uint32_t n);
void mt_sink_lost(mt_sink_t *sink, server_rec *s, apr_uint32_t n,
                  apr_status_t rv);

/* A sink's counters in this child. */
typedef struct mt_sink_counts_t {
    const char  *name;
    apr_uint64_t written;     /* records written (Redis: acknowledged) */
    apr_uint64_t dropped;     /* records refused or lost */
    apr_uint64_t reported;    /* of those, told in the error log so far */
} mt_sink_counts_t;

void mt_sink_counts(mt_sink_t *sink, mt_sink_counts_t *c);

/* The counters of every distinct sink of this child, as an array of
 * mt_sink_counts_t in p (empty before child_init or without sinks). */
apr_array_header_t *mt_sink_snapshot(apr_pool_t *p);

/* child_init: the list of this child's sinks, the report timer, and the
 * report at child exit. */
void mt_sink_register_hooks(apr_pool_t *p);

/* The sinks of server s with their counters, for the status page: at most
 * max into out; returns how many. The one place that reads the counters
 * for it. */
unsigned int mt_sink_list(mt_status_sink_t *out, unsigned int max,
                          server_rec *s);

#endif
