/* mt_record: one JSON record per request.
 *
 * httpd-free core; the only file that includes json-c. A record is built in
 * one buffer, one line, never longer than the limit given (PIPE_BUF for the
 * log), so that one write() from any child never interleaves with another.
 * When the line would be too long, the strings (url first) are cut with
 * MT_CUT_MARKER and the JSON is rebuilt: strings are cut, never the JSON.
 */
#ifndef MT_RECORD_H
#define MT_RECORD_H

#include <apr_pools.h>
#include <apr_time.h>
#include "mt_sample.h"
#include "mt_proto.h"

#define MT_TARGET_SELF    "self"
#define MT_TARGET_BACKEND "backend"

/* Where the "before" memory of a record came from. */
#define MT_BEFORE_MODULE  "module"   /* the module sampled the process itself */
#define MT_BEFORE_APP     "app"      /* the app's own before-sample */
#define MT_BEFORE_SHARED  "previous" /* the last after-sample of that pid */
#define MT_BEFORE_NONE    "none"     /* no before-sample: growth unknown */

/* Everything a record says. Strings may be NULL (JSON null). */
typedef struct mt_record_t {
    const char *request_id;
    apr_time_t  time;            /* request start */
    const char *host;
    const char *method;
    const char *url;             /* path and query as received */
    int         status;
    const char *target;          /* MT_TARGET_SELF or MT_TARGET_BACKEND */
    int         pid;             /* the process sampled */
    apr_uint64_t start_ticks;    /* its start time (mt_sample_started), 0
                                  * unknown; tells a reused pid apart, not
                                  * serialised */
    const char *before_source;   /* MT_BEFORE_* */
    mt_sample_t before;
    mt_sample_t after;
    const mt_app_report_t *app;  /* NULL when no app answered */
    const char *attribution;     /* how pid was found: "self", "header", "single" ... */
    int         fds;             /* open fds of the httpd child, -1 unknown */
    double      request_time;    /* seconds */
    apr_int64_t threshold_bytes; /* 0 when no threshold */
    apr_int64_t overhead_us;     /* the module's own time in its hooks */
    const char *server;          /* the host name of this web server */
    int         httpd_pid;       /* the httpd child that handled the request */
    const char *endpoint;        /* the endpoint name (mt_endpoint_name) */
    int         exclusive;       /* pid served only this request meanwhile */
    apr_uint64_t probe_started;  /* a probe started here, 0 none */
    apr_uint64_t probe_done;     /* a probe whose result is here, 0 none */
    apr_int64_t probe_bytes;     /* its retained bytes, MT_UNKNOWN_SIGNED */
    apr_int64_t probe_objects;   /* its retained objects, MT_UNKNOWN_SIGNED */
    apr_int64_t probe_us;        /* its GC time, MT_UNKNOWN */
    const char *probe_endpoint;  /* the probed request's endpoint, NULL when
                                  * the result was not counted */
} mt_record_t;

/* "Unknown" for signed figures that may be -1 (probe results). */
#define MT_UNKNOWN_SIGNED APR_INT64_MIN

/* Signed resident growth, MT_UNKNOWN-aware: returns 0 and sets *known = 0
 * when either side is unknown. */
apr_int64_t mt_record_growth(const mt_record_t *rec, int *known);

/* True when growth is known and above the threshold (threshold > 0). */
int mt_record_exceeded(const mt_record_t *rec);

/* What serialises records: one per thread, reused for every record that
 * thread writes (no allocation per record once warm). Not thread-safe. */
typedef struct mt_json_writer_t mt_json_writer_t;

/* NULL when out of memory. */
mt_json_writer_t *mt_json_writer_create(void);
void mt_json_writer_destroy(mt_json_writer_t *w);

/* Serialise rec as one JSON line ending in "\n", at most max_len bytes
 * including the newline, in p. writer NULL: a writer just for this record
 * (the same line, slower). APR_ENOSPC only when even the cut record does
 * not fit (max_len far too small). */
apr_status_t mt_record_to_json(char **line, apr_size_t *len,
                               const mt_record_t *rec, apr_size_t max_len,
                               mt_json_writer_t *writer, apr_pool_t *p);

#endif
