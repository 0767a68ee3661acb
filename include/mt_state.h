/* mt_state: per-process memory state shared by all httpd children.
 *
 * httpd-free core over a plain array of slots; the glue places the array in
 * shared memory (mod_slotmem_shm) so that every child sees what the others
 * saw. One slot per process (httpd child or app process): its last
 * after-sample, peak, and request and growth totals. The status page and the
 * trend analysis read it; the backend path uses it as the "before" of an app
 * process that sent no before-sample of its own.
 *
 * Locking never blocks a request: each slot has a lock word taken with a
 * bounded number of compare-and-swap attempts; a writer that cannot get it
 * skips the update (counted), a reader that cannot get it answers "unknown".
 * A child that dies holding a lock would otherwise wedge every other child;
 * instead a lock held longer than MT_STATE_LOCK_STALE is broken.
 */
#ifndef MT_STATE_H
#define MT_STATE_H

#include <apr_pools.h>
#include <apr_time.h>

#define MT_STATE_KIND_SELF    1
#define MT_STATE_KIND_BACKEND 2

typedef struct mt_proc_slot_t {
    volatile apr_uint32_t lock;      /* 0 free, else mt_mono_now() second
                                      * of the holder + 1 */
    apr_int32_t  pid;                /* 0: empty slot */
    apr_int32_t  kind;               /* MT_STATE_KIND_* */
    apr_int32_t  reserved;
    apr_uint64_t start_ticks;        /* start time of pid (clock ticks after
                                      * boot, mt_sample_started), 0 unknown */
    apr_time_t   first_seen;         /* first record of this pid */
    apr_time_t   last_seen;          /* last record of this pid */
    apr_int64_t  first_rss_bytes;    /* after-sample of the first record */
    apr_int64_t  rss_bytes;          /* last after-sample */
    apr_int64_t  peak_rss_bytes;     /* highest after-sample */
    apr_int64_t  requests;           /* records of this pid */
    apr_int64_t  growth_sum_bytes;   /* sum of known request growths */
} mt_proc_slot_t;

typedef struct mt_state_t {
    mt_proc_slot_t *slots;           /* n slots in shared memory */
    unsigned int    n;
    volatile apr_uint32_t *claim;    /* lock word for claiming a slot */
    volatile apr_uint32_t skipped;   /* updates skipped for a busy lock */
} mt_state_t;

/* Wrap memory of n slots plus one claim word (see mt_state_bytes). The
 * memory must start zeroed. */
void mt_state_init(mt_state_t *st, void *mem, unsigned int n);

/* Bytes needed for n slots. */
apr_size_t mt_state_bytes(unsigned int n);

/* A process is its pid and its start time (`start_ticks`, 0 when unknown): a
 * slot whose pid was reused by a newer process is that process's only once
 * its numbers are reset, so no "previous" sample or total ever crosses from
 * a dead process to the next one with its pid. An unknown start time on
 * either side matches. */

/* The last after-sample of the process: APR_SUCCESS and *rss_bytes, or
 * APR_NOTFOUND (unknown process) / APR_EAGAIN (busy). */
apr_status_t mt_state_last_rss(mt_state_t *st, int pid,
                               apr_uint64_t start_ticks, apr_int64_t *rss_bytes);

/* Record one request of the process: after-sample rss_bytes, growth
 * (growth_known false: not added to the sum). Takes a free slot, or the one
 * least recently seen, for a new pid; starts the slot over for a new
 * process with a known pid. */
apr_status_t mt_state_record(mt_state_t *st, int pid,
                             apr_uint64_t start_ticks, int kind, apr_int64_t rss_bytes,
                             apr_int64_t growth, int growth_known,
                             apr_time_t now);

/* Copy out the slots in use (consistent per slot), at most max; returns the
 * count. */
unsigned int mt_state_snapshot(mt_state_t *st, mt_proc_slot_t *out,
                               unsigned int max);

#endif
