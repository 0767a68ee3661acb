/* mt_proto: the X-MemTrack backend protocol (app process to module).
 *
 * httpd-free core. The app answers with one response header:
 *
 *   X-MemTrack: v=1; pid=4242; rss_before=123; rss_after=456; ...
 *
 * a "key=value" list separated by ";" (spaces around items are allowed).
 * The parser is strict and bounded: the header is at most MT_PROTO_MAX_LEN
 * bytes, keys come from a fixed set, numbers are decimal integers within
 * [0, MT_PROTO_MAX_NUM] (signed ones within +-MT_PROTO_MAX_NUM), names match
 * [A-Za-z0-9_:/.#-]{1,MT_PROTO_MAX_NAME}.
 * A bad item is ignored and counted; a header over the length limit is
 * refused whole. Nothing the app says is trusted further than these limits.
 *
 * Keys (all optional but pid; numbers are bytes or counts):
 *   v                        protocol version, 1
 *   pid                      the app process that served the request
 *   rss_before, rss_after    the app's own resident bytes (statm) at start/end
 *   gc_before, gc_after      GC.count
 *   minor_before, minor_after, major_before, major_after  minor/major GC runs
 *   live_before, live_after  live object slots (GC.stat heap_live_slots)
 *   old_before, old_after    old objects (GC.stat old_objects)
 *   alloc_before, alloc_after  total allocated objects
 *   freed_before, freed_after  total freed objects
 *   uss, pss                 private / proportional bytes (smaps_rollup)
 *   qc_before, qc_after      ActiveRecord query cache entries
 *   controller, action       names, as the app reports them
 *   probe                    token 1..MT_PROTO_MAX_NUM: the app took the
 *                            "before" snapshot of that probe on this request
 *   probe_done               token 1..MT_PROTO_MAX_NUM of the probe whose
 *                            result follows (a probe started on an earlier
 *                            request of the same process)
 *   probe_bytes              signed: bytes in use (malloc and Ruby slots)
 *                            the probed request left behind
 *   probe_objects            signed: live objects it left behind
 *   probe_us                 microseconds of full GC the probe cost in total
 *   heap                     token 1..MT_PROTO_MAX_NUM of the heap-diff
 *                            attempt (X-MemTrack-Want: heap=T) these
 *                            heap_* items answer
 *   heap_step                0 (stopped, snapshots removed) or the snapshot
 *                            1..3 this request took at its start
 *   heap_gc                  GC count after that snapshot's full GC
 *   heap_bytes, heap_us      the snapshot file's size, the pause it cost
 *   heap_error               a name: why the snapshot was not taken
 * The probe_bytes, probe_objects and probe_us values belong to probe_done:
 * use them only when probe_done is not 0 (each item is still judged alone).
 */
#ifndef MT_PROTO_H
#define MT_PROTO_H

#include <apr_pools.h>
#include "mt_sample.h"
#include "mt_limits.h"   /* MT_PROTO_MAX_*, MT_PROTO_PID_* */

#define MT_PROTO_HEADER   "X-MemTrack"        /* app -> module */
#define MT_PROTO_WANT     "X-MemTrack-Want"   /* module -> app (probes) */
#define MT_PROTO_VERSION  1
/* "Not reported" for the signed values (probe_bytes, probe_objects): no
 * valid value is below -MT_PROTO_MAX_NUM, so it cannot be mistaken for one. */
#define MT_PROTO_NO_SIGNED APR_INT64_MIN

/* GC counters of one side of a request; MT_UNKNOWN where not reported. */
typedef struct mt_gc_t {
    apr_int64_t count;          /* GC.count */
    apr_int64_t minor;          /* minor_gc_count */
    apr_int64_t major;          /* major_gc_count */
    apr_int64_t live_slots;     /* heap_live_slots: live objects */
    apr_int64_t old_objects;    /* old_objects */
    apr_int64_t allocated;      /* total_allocated_objects */
    apr_int64_t freed;          /* total_freed_objects */
} mt_gc_t;

/* What one X-MemTrack header said. */
typedef struct mt_app_report_t {
    int         version;        /* 1, or 0 when not given */
    int         pid;            /* 0 when absent or invalid */
    apr_int64_t rss_before;     /* bytes, MT_UNKNOWN when absent */
    apr_int64_t rss_after;
    mt_gc_t     gc_before;
    mt_gc_t     gc_after;
    apr_int64_t uss_bytes;
    apr_int64_t pss_bytes;
    apr_int64_t qc_before;      /* query cache entries */
    apr_int64_t qc_after;
    const char *controller;     /* NULL when absent */
    const char *action;
    apr_int64_t probe_token;    /* "probe": 1..MT_PROTO_MAX_NUM, 0 when absent */
    apr_int64_t probe_done;     /* "probe_done": same range, 0 when absent */
    apr_int64_t probe_bytes;    /* signed, MT_PROTO_NO_SIGNED when absent */
    apr_int64_t probe_objects;  /* signed, MT_PROTO_NO_SIGNED when absent */
    apr_int64_t probe_us;       /* MT_UNKNOWN when absent */
    apr_int64_t heap_token;     /* "heap": 1..MT_PROTO_MAX_NUM, 0 absent */
    apr_int64_t heap_step;      /* MT_UNKNOWN when absent */
    apr_int64_t heap_gc;
    apr_int64_t heap_bytes;
    apr_int64_t heap_us;
    const char *heap_error;     /* NULL when absent */
    int         bad_items;      /* items ignored: unknown key, bad value,
                                 * malformed item, repeated key */
    const char *refused;        /* why mt_proto_parse refused the header
                                 * (static text), NULL when accepted */
} mt_app_report_t;

/* Reset a report to "nothing known". */
void mt_proto_clear(mt_app_report_t *rep);

/* Parse a header value. APR_SUCCESS when a valid pid was found (other items
 * may still have been ignored, see bad_items); APR_EINVAL when the header is
 * refused (NULL, too long, no valid pid): then every field but bad_items and
 * refused is cleared, so nothing from a refused header can be used by mistake.
 *
 * Rules, precisely: items are separated by ';'; spaces and tabs around an item
 * and around its '=' are ignored; empty items are skipped (not counted). An
 * item is bad (ignored, counted) when it has no '=', an empty or unknown key
 * (keys are case-sensitive), a value that is not a plain decimal number in
 * range (no sign, no "0x", no inner space; leading zeros allowed), or a name
 * outside the character set. The signed values (probe_bytes, probe_objects)
 * take one optional leading '-' before a magnitude that is not zero ("-0" is
 * bad, "0" is zero, "+5" is bad) within MT_PROTO_MAX_NUM; the tokens (probe,
 * probe_done) are unsigned numbers from 1. A key given twice keeps its first occurrence
 * (valid or not); every later one is bad. v must be 1, pid 2..4194304
 * (the kernel's PID_MAX_LIMIT). The value ends at the C string's NUL.
 * Runs in O(length) time, never reads beyond the NUL or MT_PROTO_MAX_LEN + 1
 * bytes, and allocates at most three names of MT_PROTO_MAX_NAME + 1 bytes. */
apr_status_t mt_proto_parse(mt_app_report_t *rep, const char *value,
                            apr_pool_t *p);

#endif
