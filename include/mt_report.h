/* mt_report: the analysis of memtrack-report, over the records of many
 * servers and processes, in the order they happened.
 *
 * httpd-free. The same analysis as the module (mt_state + mt_analysis),
 * one state per server plus one for the fleet, fed the notes the module
 * made (mt_report_rec_note):
 *
 *   servers   a state per `server` name (at most servers_max; records of
 *             later names count for the fleet only), its processes known
 *             by pid and pid_start as in the module;
 *   fleet     one state over all records, its processes renumbered so that
 *             server + pid + pid_start is one process (pids of different
 *             hosts collide); reports give them their real pid and server.
 *
 * Order. The inputs are merged by time (mt_report_read.c), and every record
 * passes a reorder window of `window` records, a heap on its key: for a
 * process that serves one request at a time the request's start (its
 * serving order: a probe's result is never counted before the request that
 * started it, even when a slow client delayed the first request's log line
 * past the second's), else its end (the order the module noted it in). A
 * record older than what already left the window is counted as `late` and
 * analysed as it comes.
 *
 * Memory is bounded by processes and endpoints, not by records: a state is
 * mt_state_bytes() (2.0 MB at the defaults), the window `window`
 * records (380 bytes each), the fleet's process map 32 bytes per
 * process ever seen. mt_report_memory() says the total.
 */
#ifndef MT_REPORT_H
#define MT_REPORT_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mt_analysis.h"
#include "mt_limits.h"
#include "mt_report_input.h"
#include "mt_report_parse.h"
#include "mt_state.h"

/* The limits (MT_REPORT_SERVERS_DEFAULT, MT_REPORT_WINDOW_*,
 * MT_REPORT_FLEET_PROCS, MT_REPORT_SOURCES_MAX, ...): mt_limits.h. */
#define MT_REPORT_UNKNOWN_SERVER  "(unnamed)"
#define MT_REPORT_FLEET_ONLY      0xFFFFFFFFu  /* rec->server: no state */

typedef struct mt_report_opts_t {
    mt_state_params_t params;        /* of every server's state */
    unsigned int fleet_procs;        /* process slots of the fleet's */
    unsigned int servers_max;
    unsigned int window;             /* records in the reorder window */
    apr_time_t   since, until;       /* records outside are skipped; 0 */
} mt_report_opts_t;

typedef struct mt_report_server_t {
    char         name[MT_REPORT_SERVER_MAX + 1];
    unsigned int hash;
    mt_state_t   state;
    void        *mem;                /* NULL until its first record */
    apr_int64_t  records;            /* records analysed */
    apr_int64_t  unusable;           /* records without a process or an
                                      * after-sample: not analysed (as in
                                      * the module) */
    apr_time_t   first, last;        /* its first and last record's end */
} mt_report_server_t;

typedef struct mt_report_proc_key_t {
    apr_uint64_t start;
    int          pid;
    unsigned int server;
} mt_report_proc_key_t;

typedef struct mt_report_heap_t {
    apr_time_t   key;
    apr_uint64_t seq;
    unsigned int slot;
} mt_report_heap_t;

typedef struct mt_report_t {
    mt_report_opts_t    opts;
    apr_pool_t         *pool;
    mt_report_server_t *servers;     /* opts.servers_max */
    unsigned int        n_servers;
    unsigned int        srv_index[256];  /* hash -> server + 1 */
    mt_report_server_t  fleet;
    /* the fleet's processes: id - 1 indexes keys */
    mt_report_proc_key_t *keys;
    unsigned int        n_keys, cap_keys;
    unsigned int       *map;         /* open addressing: id, 0 empty */
    unsigned int        map_mask;
    /* the reorder window */
    mt_report_rec_t    *slab;
    mt_report_heap_t   *heap;
    unsigned int        n_heap;
    unsigned int       *free_slots;
    unsigned int        n_free;
    apr_uint64_t        seq;
    apr_time_t          out_key;     /* the newest key that left */
    /* counters */
    apr_int64_t records;             /* records taken (in the time range) */
    apr_int64_t analysed;            /* of them with a process */
    apr_int64_t unusable;
    apr_int64_t late;                /* older than the window allowed */
    apr_int64_t outside;             /* outside --since / --until */
    apr_int64_t fleet_only;          /* of servers beyond servers_max */
} mt_report_t;

void mt_report_opts_default(mt_report_opts_t *o);

apr_status_t mt_report_create(mt_report_t **r, const mt_report_opts_t *o,
                              apr_pool_t *p);

/* The index of a server name (created when new), MT_REPORT_FLEET_ONLY when
 * servers_max are taken. "" is MT_REPORT_UNKNOWN_SERVER. */
unsigned int mt_report_server(mt_report_t *r, const char *name);

/* A record (rec->server set) into the window; what leaves it is analysed. */
void mt_report_add(mt_report_t *r, const mt_report_rec_t *rec);

/* Everything left in the window, analysed. */
void mt_report_finish(mt_report_t *r);

/* The analysis of one server (index) or of the fleet (-1), as of its last
 * record. proc_servers (may be NULL) gets, for the fleet, the server of each
 * of (*rep)->procs (whose pid is then the real one); NULL for a server. */
apr_status_t mt_report_analysis(mt_an_report_t **rep,
                                const char *const **proc_servers,
                                mt_report_t *r, int server, apr_pool_t *p);

/* Bytes the report holds. */
apr_size_t mt_report_memory(const mt_report_t *r);

/* ---- reading (mt_report_read.c) ---- */

/* One input and what came of it. */
typedef struct mt_report_source_t {
    mt_report_input_t *in;
    apr_int64_t  records;            /* good records */
    apr_int64_t  bad;                /* bad lines (too long included) */
    apr_int64_t  first_bad_line;
    char         first_bad[200];     /* why that line was bad */
    /* the merge */
    int          has_head;
    mt_report_rec_t head;
} mt_report_source_t;

/* Called now and then while reading (every 65536 records). */
typedef void (*mt_report_progress_fn)(void *ctx, const mt_report_t *r,
                                      const mt_report_source_t *src,
                                      unsigned int n);

/* Read every source to its end, merged by time, into r (then
 * mt_report_finish). */
void mt_report_read(mt_report_t *r, mt_report_source_t *src, unsigned int n,
                    mt_report_progress_fn progress, void *ctx);

#endif
