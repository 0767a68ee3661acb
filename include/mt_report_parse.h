/* mt_report_parse: one record line of the log, as memtrack-report needs it.
 *
 * httpd-free. A fast, validating, bounded parser for the record layout that
 * mt_record.h writes: the whole line must be one JSON object (RFC 8259:
 * strings of valid UTF-8 with no raw control bytes, numbers by the grammar,
 * at most MT_REPORT_DEPTH_MAX levels of nesting), every value is checked,
 * and only the fields the analysis rests on are kept; other keys are
 * validated and skipped. It does not allocate and never reads past
 * line + len. Strings are copied (unescaped) into the record's own buffers
 * and cut at their size, as the module's state cuts them (the endpoint at
 * MT_EP_NAME_MAX bytes, the request id at MT_BLAME_ID_MAX).
 *
 * The mapping from a record to the analysis's note is the module's own
 * (src/mod_memtrack_analysis.c): mt_report_rec_note() builds the note.
 *
 * Fields: `time`, `target`, `pid` and `memory_after` must be present
 * (`pid` and `memory_after` may be null: such a record counts for nothing,
 * as in the module); the others may be missing (null). A known field of the
 * wrong type (a string pid, a fractional memory figure, a negative size) makes
 * the line bad, with a message that names the field.
 */
#ifndef MT_REPORT_PARSE_H
#define MT_REPORT_PARSE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mt_limits.h"   /* MT_REPORT_DEPTH_MAX, MT_REPORT_SERVER_MAX */
#include "mt_state.h"

/* One record as the analysis needs it (see mt_note_t). */
typedef struct mt_report_rec_t {
    apr_time_t   time;               /* request start */
    apr_time_t   key;                /* order within its process: the start
                                      * for a process that serves one request
                                      * at a time, else the end */
    apr_int64_t  duration_us;        /* request_time, MT_UNKNOWN (-1) */
    int          pid;                /* 0: null */
    int          self;               /* target self (the httpd child) */
    apr_uint64_t pid_start;          /* 0: null */
    int          exclusive;
    int          before_own;         /* before_source app or module */
    int          threshold_exceeded;
    int          app_reported;       /* gc_stats or controller present */
    apr_int64_t  memory_before;      /* MT_UNKNOWN: null */
    apr_int64_t  memory_after;
    apr_int64_t  alloc_before;       /* total_allocated_objects, -1 */
    apr_int64_t  alloc_after;
    apr_uint64_t probe_started;      /* 0: null */
    apr_uint64_t probe_done;
    apr_int64_t  probe_bytes;        /* MT_NOTE_NO_VALUE: null */
    apr_int64_t  probe_objects;
    apr_int64_t  probe_us;           /* MT_UNKNOWN: null */
    unsigned int server;             /* set by the caller (an index) */
    int          has_endpoint;       /* endpoint was a string */
    char         request_id[MT_BLAME_ID_MAX + 1];
    char         endpoint[MT_EP_NAME_MAX + 1];
} mt_report_rec_t;

/* Why a line is not a record (the first thing found wrong). */
typedef struct mt_report_err_t {
    const char  *what;               /* "not JSON: a bad escape", or for a
                                      * field what it should be: "an
                                      * integer", "missing" */
    const char  *got;                /* a field's actual type, or NULL */
    char         field[32];          /* the field, "" when none */
    int          byte;               /* the offending byte, -1 none */
    apr_size_t   offset;             /* where, from the line's start */
} mt_report_err_t;

/* Parse line[0..len) (no newline). The server name goes to server (cap
 * bytes with its NUL, cut to fit; "" when null or missing). APR_SUCCESS, or
 * APR_EGENERAL with *err filled in. */
apr_status_t mt_report_parse(mt_report_rec_t *rec, char *server,
                             apr_size_t cap, mt_report_err_t *err,
                             const char *line, apr_size_t len);

/* err as one line of text into out (size bytes), e.g. "field pid: a
 * string, not an integer (byte 212)". */
const char *mt_report_err_text(char *out, apr_size_t size,
                               const mt_report_err_t *err);

/* Can the analysis use it? A process and its after-sample (the module
 * notes no other record). */
int mt_report_rec_usable(const mt_report_rec_t *rec);

/* The note the module made of this record (src/mod_memtrack_analysis.c):
 * in->endpoint and in->request_id point into rec; pid is the caller's
 * (the fleet's processes are renumbered). */
void mt_report_rec_note(mt_note_t *in, const mt_report_rec_t *rec, int pid);

/* "2026-11-22T04:08:43.123456Z" (fraction optional, 1 to 6 digits, and Z)
 * into *t; APR_EINVAL when it is not one. */
apr_status_t mt_report_parse_time(apr_time_t *t, const char *s, apr_size_t n);

/* A --since / --until argument: an ISO 8601 UTC time ("2026-11-22",
 * "2026-11-22T04:08", "2026-11-22 04:08:43Z" ...), "@SECONDS" since the
 * epoch, or "-N[smhd]" before now. APR_EINVAL otherwise. */
apr_status_t mt_report_parse_when(apr_time_t *t, const char *text,
                                  apr_time_t now);

#endif
