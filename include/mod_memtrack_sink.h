/* mod_memtrack_sink: where records go. A sink is one implementation of this
 * small interface; the log_transaction hook hands every record line to every
 * sink of the server. emit() must never block the request thread: a sink
 * that cannot take a record now drops it and counts it. */
#ifndef MOD_MEMTRACK_SINK_H
#define MOD_MEMTRACK_SINK_H

#include <apr_pools.h>
#include <apr_atomic.h>
#include <apr_time.h>

#include "mt_status.h"

typedef struct mt_sink_t mt_sink_t;

struct mt_sink_t {
    const char *name;          /* for messages; never holds a password */
    void *ctx;                 /* the implementation's own state */
    /* Take one record line (ends in "\n"); APR_SUCCESS when taken. */
    apr_status_t (*emit)(mt_sink_t *sink, const char *request_id,
                         const char *line, apr_size_t len);
    volatile apr_uint32_t written;   /* records taken, this child */
    volatile apr_uint32_t dropped;   /* records dropped, this child */
    volatile apr_uint32_t reported;  /* dropped count last reported */
    volatile apr_uint32_t report_sec;/* mt_mono_now() second of the last report,
                                      * 0 never */
};

/* Count a dropped record and, at most once a minute per sink and child,
 * report the drops to the error log. */
void mt_sink_count_drop(mt_sink_t *sink, server_rec *s, apr_status_t rv);

/* The sinks of server s with their counters, for the status page: at most
 * max into out; returns how many. The one place that reads the counters
 * for it. */
unsigned int mt_sink_list(mt_status_sink_t *out, unsigned int max,
                          server_rec *s);

#endif
