/* mt_heapdiff: what a process kept, from three heap snapshots.
 *
 * httpd-free core (the module's diff thread and build/memtrack-heapdiff
 * run it). The three-dump technique: objects born between snapshot 1 and
 * snapshot 2 that are still alive at snapshot 3 are what the requests
 * between 1 and 2 kept; grouped by class and allocation site (file:line,
 * from ObjectSpace.trace_object_allocations) they name the leak. Counts
 * and bytes (dump_all's memsize) per group, ranked by bytes.
 *
 * Two modes, by what the snapshots carry:
 *
 *   generations  (the companion's snapshots) Allocation tracing tags each
 *                object with the GC count at its birth. The companion
 *                starts tracing at snapshot 1 and reports for each snapshot
 *                the GC count after its full GC (heap_gc): born between 1
 *                and 2 is gen1 <= generation < gen2, whatever the address. Set 3 keeps only those
 *                objects' addresses (with 20 bits of their generation,
 *                so a freed object's slot reused by a newer one never
 *                counts); set 2 is streamed. Set 1 is read for class names
 *                only. Memory is proportional to what was kept, not to
 *                the heap: 16 bytes per kept object at most.
 *   addresses    (any three dump_all files, gen1 < 0) Sets 1 and 3 keep
 *                every address (16 bytes per object at most, each), set 2
 *                is streamed: in 2, not in 1, in 3. A slot freed and reused
 *                between the snapshots can miscount; tracing is still
 *                needed for file:line.
 *
 * Bounded: at most max_objects addresses per set and max_groups groups
 * (the rest is summed in "other"); file names and class names are kept
 * once each. Cancellable: *cancel non-zero stops it within one 64 KiB read.
 */
#ifndef MT_HEAPDIFF_H
#define MT_HEAPDIFF_H

#include <apr_pools.h>
#include <apr_time.h>

#define MT_HEAPDIFF_ROWS       20       /* rows kept in a result */
#define MT_HEAPDIFF_TYPE_MAX   15
#define MT_HEAPDIFF_CLASS_MAX  127
#define MT_HEAPDIFF_FILE_MAX   191      /* longer paths keep their end */
#define MT_HEAPDIFF_MSG_MAX    255
#define MT_HEAPDIFF_MAX_OBJECTS (4u << 20)  /* default addresses per set */
#define MT_HEAPDIFF_MAX_GROUPS  (256u << 10)

typedef enum {
    MT_HEAPDIFF_GENERATIONS = 1,
    MT_HEAPDIFF_ADDRESSES = 2
} mt_heapdiff_mode_e;

typedef struct mt_heapdiff_opts_t {
    apr_int64_t  gen1;           /* snapshot 1's heap_gc: born after it is
                                  * generation >= gen1; < 0: addresses mode */
    apr_int64_t  gen2;           /* snapshot 2's heap_gc: born before it is
                                  * generation < gen2 */
    apr_size_t   max_objects;    /* 0: MT_HEAPDIFF_MAX_OBJECTS */
    apr_size_t   max_groups;     /* 0: MT_HEAPDIFF_MAX_GROUPS */
    apr_int64_t  max_file_bytes; /* a bigger dump is refused; 0: no limit */
    const char  *strip_prefix;   /* shown file names are relative to this
                                  * directory (the app root), may be NULL */
    const volatile apr_uint32_t *cancel;   /* may be NULL */
} mt_heapdiff_opts_t;

/* One group of kept objects. */
typedef struct mt_heapdiff_row_t {
    char         type[MT_HEAPDIFF_TYPE_MAX + 1];    /* STRING, ARRAY, ... */
    char         class_name[MT_HEAPDIFF_CLASS_MAX + 1]; /* "" when unknown */
    char         file[MT_HEAPDIFF_FILE_MAX + 1];    /* "" when untraced */
    apr_int32_t  file_cut;       /* file is the end of a longer path */
    apr_int32_t  reserved;
    apr_int64_t  line;           /* -1 when untraced */
    apr_int64_t  count;          /* objects */
    apr_int64_t  bytes;          /* their memsize */
    apr_int64_t  gen_first, gen_last;   /* -1 when untraced */
    apr_int64_t  generations;    /* distinct GC generations they were born
                                  * in (exact up to 256) */
} mt_heapdiff_row_t;

/* A diff's result: fixed size, so it can be copied into shared memory. */
typedef struct mt_heapdiff_result_t {
    apr_int32_t  mode;           /* mt_heapdiff_mode_e, 0 when it failed */
    apr_int32_t  n_rows;
    apr_int64_t  objects[3];     /* objects read from each snapshot */
    apr_int64_t  file_bytes[3];  /* bytes read from each */
    apr_int64_t  bad_lines;      /* skipped, all three */
    apr_int64_t  kept_objects;   /* born between 1 and 2, alive at 3 */
    apr_int64_t  kept_bytes;
    apr_int64_t  untraced_objects;   /* of those, without a site */
    apr_int64_t  groups;         /* distinct groups */
    apr_int64_t  other_objects;  /* beyond max_groups */
    apr_int64_t  other_bytes;
    double       seconds;        /* the diff's wall time */
    char         message[MT_HEAPDIFF_MSG_MAX + 1];  /* why it failed, or a
                                  * note; "" when neither */
    mt_heapdiff_row_t rows[MT_HEAPDIFF_ROWS];  /* by bytes, then count */
} mt_heapdiff_result_t;

void mt_heapdiff_opts_default(mt_heapdiff_opts_t *o);

/* Diff the three snapshots at paths[0..2]. APR_SUCCESS with res filled;
 * otherwise res->message says why (the snapshot, the cause) and res->mode
 * is 0. Everything is allocated in a subpool of p, gone on return. */
apr_status_t mt_heapdiff_run(mt_heapdiff_result_t *res,
                             const char *const paths[3],
                             const mt_heapdiff_opts_t *o, apr_pool_t *p);

#endif
