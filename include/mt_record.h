/* mt_record: one JSON record per request.
 *
 * httpd-free core. A record is written straight into one buffer, one line,
 * never longer than the limit given (PIPE_BUF for the log), so that one
 * write() from any child never interleaves with another: keys are literals,
 * numbers are formatted without printf, strings are escaped and cleaned to
 * valid UTF-8 in one pass. When the line would be too long, the strings are
 * cut (url first) and end in MT_CUT_MARKER: strings are cut, never the JSON.
 * No json-c here: the tests read what this writes with json-c's parser.
 */
#ifndef MT_RECORD_H
#define MT_RECORD_H

#include <apr_pools.h>
#include <apr_time.h>
#include "mt_sample.h"
#include "mt_proto.h"
#include "mt_limits.h"

#define MT_TARGET_SELF    "self"
#define MT_TARGET_BACKEND "backend"

/* Where the "before" memory of a record came from. */
#define MT_BEFORE_MODULE  "module"   /* the module sampled the process itself */
#define MT_BEFORE_APP     "app"      /* the app's own before-sample */
#define MT_BEFORE_SHARED  "previous" /* the last after-sample of that pid */
#define MT_BEFORE_NONE    "none"     /* no before-sample: growth unknown */

/* Everything a record says. Strings may be NULL (JSON null). What is
 * written, and how, is MT_RECORD_FIELDS below. */
typedef struct mt_record_t {
    const char *request_id;
    apr_time_t  time;            /* request start */
    const char *host;
    const char *method;
    const char *url;             /* path and query as received */
    const char *endpoint;        /* the endpoint it counts under, NULL none */
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
    const char *attribution;     /* how pid was found: "self", "header",
                                  * "single" ... */
    int         fds;             /* open fds of the httpd child, -1 unknown */
    double      request_time;    /* seconds */
    apr_int64_t threshold_bytes; /* 0 when no threshold */
    apr_int64_t overhead_us;     /* the module's own time in its hooks */
    const char *server;          /* the host name of this web server */
    int         httpd_pid;       /* the httpd child that handled the request */
    int         exclusive;       /* pid served only this request meanwhile */
    apr_uint64_t probe_started;  /* a probe started on this request, 0 none */
    apr_uint64_t probe_done;     /* a probe whose result is here, 0 none */
    apr_int64_t probe_bytes;     /* its retained bytes, MT_UNKNOWN_SIGNED */
    apr_int64_t probe_objects;   /* its retained objects, MT_UNKNOWN_SIGNED */
    apr_int64_t probe_us;        /* its GC time, MT_UNKNOWN */
    const char *probe_endpoint;  /* the probed request's endpoint, NULL when
                                  * the result was not counted */
    int         heap_snapshot;   /* the heap snapshot (1..3) the app took at
                                  * this request's start, 0 none */
} mt_record_t;

/* "Unknown" for signed figures that may be -1 (probe results). */
#define MT_UNKNOWN_SIGNED APR_INT64_MIN

/* The caps on strings (MT_URL_MAX, MT_NAME_MAX, MT_ID_MAX, MT_WORD_MAX,
 * MT_CUT_MIN): mt_limits.h. */

/* The record, one field a line, in record order: the writer is generated
 * from this table, the field list of tools and tests is read from it, and
 * t/02-tables.t holds README's record table to it. To add a field: a member
 * in mt_record_t (if it is not derived), a line here, a row in README.
 *
 *   X(name, kind, cap, value)
 *
 * value is an expression of rec (const mt_record_t *) and app (rec->app,
 * NULL when no app answered). Kinds, and what value is:
 *   STR   const char *, NULL: null; cleaned to UTF-8, at most cap bytes, and
 *         cut further when the line needs it (after the url)
 *   URL   the same, but the first to be cut when the line needs it
 *   KEEP  the same, never cut to fit the line (ids, fixed words)
 *   INT   apr_int64_t, MT_UNKNOWN: null
 *   SINT  apr_int64_t that may be any negative number, MT_UNKNOWN_SIGNED:
 *         null
 *   BOOL  int, false or true
 *   SECS  double seconds as "%.6f", negative or huge: null
 *   TIME  apr_time_t, ISO 8601 UTC with microseconds
 *   GC    const mt_gc_t *, NULL or nothing known: null; else an object of
 *         MT_RECORD_GC_KEYS
 * cap only means something to strings (0 for the others). The helpers:
 * MT_APP(member, none) is app->member, or none when no app answered;
 * MT_APP_INT and MT_APP_GC the same with null; MT_POSITIVE and MT_NONNEG
 * make what is not positive (not >= 0) null. */
#define MT_RECORD_FIELDS(X) \
    X(request_id,         KEEP, MT_ID_MAX,   rec->request_id) \
    X(time,               TIME, 0,           rec->time) \
    X(host,               STR,  MT_NAME_MAX, rec->host) \
    X(method,             STR,  MT_WORD_MAX, rec->method) \
    X(url,                URL,  MT_URL_MAX,  rec->url) \
    X(endpoint,           STR,  MT_NAME_MAX, rec->endpoint) \
    X(status,             INT,  0,           rec->status) \
    X(controller,         STR,  MT_NAME_MAX, MT_APP(controller, NULL)) \
    X(action,             STR,  MT_NAME_MAX, MT_APP(action, NULL)) \
    X(target,             KEEP, MT_WORD_MAX, rec->target) \
    X(pid,                INT,  0,           MT_POSITIVE(rec->pid)) \
    X(memory_before,      INT,  0,           rec->before.rss_bytes) \
    X(memory_after,       INT,  0,           rec->after.rss_bytes) \
    X(memory_growth,      INT,  0,           mt_record_growth_or_unknown(rec)) \
    X(objects_before,     INT,  0,           MT_APP_INT(gc_before.live_slots)) \
    X(objects_after,      INT,  0,           MT_APP_INT(gc_after.live_slots)) \
    X(gc_stats_before,    GC,   0,           MT_APP_GC(gc_before)) \
    X(gc_stats_after,     GC,   0,           MT_APP_GC(gc_after)) \
    X(query_cache_before, INT,  0,           MT_APP_INT(qc_before)) \
    X(query_cache_after,  INT,  0,           MT_APP_INT(qc_after)) \
    X(request_time,       SECS, 0,           rec->request_time) \
    X(threshold_exceeded, BOOL, 0,           mt_record_exceeded(rec)) \
    X(threshold,          INT,  0,           MT_POSITIVE(rec->threshold_bytes)) \
    X(before_source,      KEEP, MT_WORD_MAX, rec->before_source) \
    X(attribution,        STR,  MT_NAME_MAX, rec->attribution) \
    X(rss_anon_after,     INT,  0,           rec->after.rss_anon_bytes) \
    X(swap_after,         INT,  0,           rec->after.swap_bytes) \
    X(peak_rss_after,     INT,  0,           rec->after.peak_rss_bytes) \
    X(shared_after,       INT,  0,           rec->after.shared_bytes) \
    X(fds,                INT,  0,           MT_NONNEG(rec->fds)) \
    X(uss,                INT,  0,           MT_APP_INT(uss_bytes)) \
    X(pss,                INT,  0,           MT_APP_INT(pss_bytes)) \
    X(overhead_us,        INT,  0,           rec->overhead_us) \
    X(httpd_pid,          INT,  0,           MT_POSITIVE(rec->httpd_pid)) \
    X(server,             STR,  MT_NAME_MAX, rec->server) \
    X(pid_start,          INT,  0,           MT_POSITIVE(rec->start_ticks)) \
    X(exclusive,          BOOL, 0,           rec->exclusive) \
    X(probe_started,      INT,  0,           MT_POSITIVE(rec->probe_started)) \
    X(probe_done,         INT,  0,           MT_POSITIVE(rec->probe_done)) \
    X(probe_retained_bytes, SINT, 0,         MT_IF_DONE(rec->probe_bytes)) \
    X(probe_retained_objects, SINT, 0,       MT_IF_DONE(rec->probe_objects)) \
    X(probe_gc_us,        INT,  0,           rec->probe_done ? rec->probe_us \
                                                            : MT_UNKNOWN) \
    X(probe_endpoint,     STR,  MT_NAME_MAX, rec->probe_endpoint) \
    X(heap_snapshot,      INT,  0,           MT_POSITIVE(rec->heap_snapshot))

#define MT_APP(member, none) (app ? app->member : (none))
#define MT_APP_INT(member)   MT_APP(member, MT_UNKNOWN)
#define MT_APP_GC(member)    (app ? &app->member : NULL)
#define MT_POSITIVE(v)       ((v) > 0 ? (apr_int64_t)(v) : MT_UNKNOWN)
#define MT_NONNEG(v)         ((v) >= 0 ? (apr_int64_t)(v) : MT_UNKNOWN)
#define MT_IF_DONE(v)        (rec->probe_done ? (v) : MT_UNKNOWN_SIGNED)

/* The keys of gc_stats_before and gc_stats_after, in order:
 * X(key, member of mt_gc_t). */
#define MT_RECORD_GC_KEYS(X) \
    X(count,                   count) \
    X(minor_gc_count,          minor) \
    X(major_gc_count,          major) \
    X(heap_live_slots,         live_slots) \
    X(old_objects,             old_objects) \
    X(total_allocated_objects, allocated) \
    X(total_freed_objects,     freed)

/* The table as data, for tools and tests. */
typedef struct mt_record_field_t {
    const char *name;
    const char *json_type;       /* "string", "integer", "number",
                                  * "boolean" or "object"; any may be null */
    const char *kind;            /* "STR", "URL", "KEEP", "INT", ... */
    apr_size_t  cap;             /* strings: MT_*_MAX; 0 otherwise */
} mt_record_field_t;

extern const mt_record_field_t mt_record_fields[];
extern const int mt_record_field_count;
extern const char *const mt_record_gc_keys[];
extern const int mt_record_gc_key_count;

/* Signed resident growth, MT_UNKNOWN-aware: returns 0 and sets *known = 0
 * when either side is unknown. */
apr_int64_t mt_record_growth(const mt_record_t *rec, int *known);

/* The growth, or MT_UNKNOWN when it is not known. Resident sizes are whole
 * pages, so a real growth is never -1 (MT_UNKNOWN). */
apr_int64_t mt_record_growth_or_unknown(const mt_record_t *rec);

/* True when growth is known and above the threshold (threshold > 0). */
int mt_record_exceeded(const mt_record_t *rec);

/* Serialise rec as one JSON line ending in "\n", at most max_len bytes
 * including the newline, allocated in p (no other state: any thread may
 * call it). APR_ENOSPC only when even the cut record does not fit
 * (max_len far too small). */
apr_status_t mt_record_to_json(char **line, apr_size_t *len,
                               const mt_record_t *rec, apr_size_t max_len,
                               apr_pool_t *p);

#endif
