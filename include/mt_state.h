/* mt_state: what the module keeps across requests, processes and httpd
 * children, in one block of memory.
 *
 * httpd-free core over plain memory; the glue places the block in shared
 * memory (src/mod_memtrack_shm.c) so that every child sees what the others saw,
 * and the report tool places it in its own memory and feeds it records.
 * Two tables, both of fixed size (so the memory is bounded whatever the
 * traffic):
 *
 *   processes  one slot per process (httpd child or app process, known by
 *              pid and start time): its last after-sample, peak and totals,
 *              a history of its resident size over its life (MT_HIST_POINTS
 *              points; when full, every other point goes and the spacing
 *              doubles, so the history always spans the whole life), the
 *              growth seen between its requests (drift), the requests that
 *              raised its peak (blame), and the probe it is running.
 *   endpoints  one slot per endpoint name, at most the configured number;
 *              later names share the slot "other" (index 0). Per endpoint:
 *              request and growth counters, first calls, large single
 *              steps, allocation, and the last MT_EP_PROBES probe results.
 *
 * Every update is O(1) (an endpoint or a process lookup is a hash probe;
 * history compaction is amortised; a new process's claim of a slot walks
 * the slots once, under a lock, to find a free or the oldest one) and
 * never blocks a request: each slot has a lock word taken with a bounded
 * number of compare-and-swap attempts; a writer that cannot get it skips
 * the update (counted), a reader that cannot get it answers "busy". A
 * lock held by a child that died is broken after MT_STATE_LOCK_STALE
 * seconds. Verdicts are not kept here: mt_analysis computes them from
 * copies of slots (mt_state_copy_*), except two small things cached per
 * endpoint when a probe result arrives: when its leak was first seen
 * (since) and how much the probe selection wants it.
 */
#ifndef MT_STATE_H
#define MT_STATE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mt_limits.h"

#define MT_STATE_KIND_SELF    1     /* an httpd child */
#define MT_STATE_KIND_BACKEND 2     /* an app process */

/* The sizes and defaults (MT_HIST_POINTS, MT_EP_LIMIT, MT_DEFAULT_ENDPOINTS,
 * ...): mt_limits.h. */
#define MT_EP_WORDS      ((MT_EP_LIMIT + 1 + 63) / 64)

/* A process's first call of an endpoint, as its notes have it so far. */
typedef struct mt_first_t {
    apr_int32_t ep;                  /* endpoint index */
    apr_int32_t known;               /* its growth is known */
    apr_int64_t order;               /* its note's order (mt_note_t) */
    apr_int64_t growth_bytes;        /* its growth, when known */
} mt_first_t;

/* One point of a process's resident-size history. */
typedef struct mt_hist_point_t {
    apr_int64_t requests;            /* the process's request count then */
    apr_int64_t rss_bytes;           /* its after-sample then */
    apr_time_t  at;                  /* when */
} mt_hist_point_t;

/* A request that raised its process's peak resident size. */
typedef struct mt_blame_t {
    char        request_id[MT_BLAME_ID_MAX + 1];
    apr_int32_t endpoint;            /* endpoint index */
    apr_int32_t reserved;
    apr_int64_t raised_bytes;        /* new peak minus the old one */
    apr_int64_t peak_bytes;          /* the new peak */
    apr_time_t  at;
} mt_blame_t;

typedef struct mt_proc_slot_t {
    volatile apr_uint32_t lock;      /* 0 free, else mt_mono_now() second
                                      * of the holder + 1 */
    apr_int32_t  pid;                /* 0: empty slot */
    apr_int32_t  kind;               /* MT_STATE_KIND_* */
    apr_uint32_t gen;                /* +1 each time the slot starts over */
    apr_uint64_t start_ticks;        /* start time of pid (clock ticks after
                                      * boot, mt_sample_started), 0 unknown */
    apr_time_t   first_seen;         /* first record of this process */
    apr_time_t   last_seen;          /* last record of this process */
    apr_int64_t  first_rss_bytes;    /* after-sample of the first record */
    apr_int64_t  rss_bytes;          /* last after-sample */
    apr_int64_t  peak_rss_bytes;     /* highest after-sample */
    apr_int64_t  blame_mark_bytes;   /* peak when a raise was last blamed */
    apr_int64_t  requests;           /* records of this process */
    apr_int64_t  growth_sum_bytes;   /* sum of known request growths */
    apr_int32_t  exclusive;          /* serves one request at a time */
    apr_int32_t  reserved;
    /* Growth between requests: a request's own before-sample minus the
     * process's previous after-sample. Memory that grows while no request
     * runs is nobody's request: a timer, a background thread. */
    apr_int64_t  gap_n;
    double       gap_sum_bytes;
    double       gap_sumsq;
    apr_time_t   gap_first;          /* first record a gap was measured at */
    apr_time_t   gap_last;
    /* History, oldest first; a point every hist_width requests. */
    apr_uint32_t hist_n;
    apr_uint32_t hist_width;
    mt_hist_point_t hist[MT_HIST_POINTS];
    apr_uint32_t blame_n;            /* blames ever, this process */
    apr_uint32_t blame_next;         /* ring position */
    mt_blame_t   blame[MT_BLAME_MAX];
    /* The probe this process runs: started on a request of endpoint
     * probe_ep, its result due on a later response. 0: none. */
    apr_uint64_t probe_token;
    apr_int32_t  probe_ep;
    apr_int32_t  probe_warmup;       /* started on a first call or in the
                                      * process's warm-up */
    apr_time_t   probe_at;
    /* A result that came before the record that started its probe (the
     * probed request's log line was held up by a slow client while the
     * process's next request was logged): kept until that record comes. */
    apr_uint64_t early_token;
    apr_int64_t  early_bytes;
    apr_int64_t  early_objects;
    apr_int64_t  early_us;
    apr_time_t   early_at;
    apr_uint64_t ep_seen[MT_EP_WORDS];  /* endpoints this process served */
    /* Its latest first calls. A request's note comes when its response is
     * out, so a slow client can hold a first call's note back until the
     * process's next calls of that endpoint are in: the note that comes
     * first is marked first, and a one-time load lands on a later call.
     * The order of the notes says which came first; the first such note
     * takes the mark back. */
    apr_uint32_t first_next;         /* ring position */
    apr_uint32_t first_reserved;
    mt_first_t   first[MT_FIRST_RECENT];
} mt_proc_slot_t;

/* One probe result: what one request of an endpoint retained. */
typedef struct mt_probe_t {
    apr_int64_t  bytes;              /* retained bytes (signed) */
    apr_int64_t  objects;            /* retained objects, MT_UNKNOWN-style -1
                                      * when not measured (httpd child) */
    apr_int64_t  ep_requests;        /* the endpoint's request count then */
    apr_time_t   at;
    apr_uint32_t proc;               /* process slot index */
    apr_uint32_t proc_gen;           /* and its generation: one process */
} mt_probe_t;

typedef struct mt_ep_slot_t {
    volatile apr_uint32_t lock;
    volatile apr_uint32_t ready;     /* 1 once name is set; never unset */
    apr_uint32_t hash;               /* mt_endpoint_hash(name) */
    apr_uint32_t priority;           /* 0..256: probe selection weight */
    char         name[MT_EP_NAME_MAX + 1];
    apr_time_t   first_seen;
    apr_time_t   last_seen;
    apr_time_t   leak_since;         /* leak verdict first reached, 0 none */
    apr_int64_t  requests;
    apr_int64_t  app_reports;        /* requests an app reported on */
    apr_int64_t  probeable;          /* requests that could have been probed */
    apr_int64_t  growth_n;           /* requests with a known growth */
    apr_int64_t  growth_sum_bytes;
    apr_int64_t  growth_pos_sum_bytes;
    apr_int64_t  threshold_hits;
    apr_int64_t  first_calls;        /* first request in a process */
    apr_int64_t  first_growth_bytes; /* their summed growth */
    apr_int64_t  steps;              /* later requests growing >= STEP */
    apr_int64_t  step_growth_bytes;
    apr_int64_t  alloc_n;            /* requests with allocation figures */
    apr_int64_t  alloc_objects;      /* objects they allocated */
    apr_int64_t  duration_us;
    apr_int64_t  blames;             /* requests that raised a peak */
    apr_int64_t  blame_bytes;
    apr_int64_t  probes;             /* steady probe results ever */
    apr_int64_t  probes_warmup;      /* warm-up probe results ever */
    apr_int64_t  warmup_bytes;       /* their summed retained bytes */
    apr_int64_t  probe_us;           /* GC time the probes cost */
    /* Steady results in chunks of four, for what a fill kept over the
     * whole life (the ring forgets): each finished chunk's median stands
     * for the endpoint's requests until the next chunk starts. Medians
     * above half the leak floor are summed (sum of median * requests, and
     * the requests), the others are noise around nothing. */
    double       chunk_median;       /* the last finished chunk's */
    apr_int64_t  chunk_start;        /* its first probe's ep_requests */
    apr_int32_t  chunk_done;         /* a finished chunk is pending */
    apr_int32_t  reserved;
    double       excess_sum;         /* sum of median * requests spanned */
    apr_int64_t  excess_span;        /* requests those medians spanned */
    apr_uint32_t ring_n;             /* results in ring (<= MT_EP_PROBES) */
    apr_uint32_t ring_next;
    mt_probe_t   ring[MT_EP_PROBES]; /* the last steady results */
} mt_ep_slot_t;

/* Analysis parameters, fixed when the memory is laid out. */
typedef struct mt_state_params_t {
    unsigned int procs;              /* process slots */
    unsigned int endpoints;          /* named endpoints (plus "other") */
    apr_int64_t  leak_min_bytes;     /* smallest leak per request named */
    apr_int64_t  warmup_requests;    /* a process's first requests */
} mt_state_params_t;

/* The header at the start of the memory. */
typedef struct mt_state_hdr_t {
    apr_uint64_t      magic;         /* layout version and sizes */
    mt_state_params_t params;
    apr_time_t        started;       /* when the memory was laid out */
    volatile apr_uint32_t claim;     /* lock word for claiming a process slot */
    volatile apr_uint32_t ep_claim;  /* and an endpoint slot */
    volatile apr_uint32_t skipped;   /* updates skipped for a busy lock */
    volatile apr_uint32_t ep_overflow;   /* requests counted as "other" */
    volatile apr_uint32_t probes_asked;  /* probes the module asked for */
    volatile apr_uint32_t probes_started;/* probes the app took */
    volatile apr_uint32_t probes_done;   /* results accepted */
    volatile apr_uint32_t probes_refused;/* results with a token we never
                                          * gave that process, or stale */
    volatile apr_uint32_t calm;      /* every live process flat or bloat:
                                      * probes at a tenth of the rate */
    volatile apr_uint32_t calm_sec;  /* when calm was last judged (seconds) */
    volatile apr_uint32_t pid_seq;   /* +1 before and after each move in the
                                      * pid index (odd: one is under way) */
    apr_uint32_t          reserved;
} mt_state_hdr_t;

typedef struct mt_state_t {
    mt_state_hdr_t *hdr;
    mt_proc_slot_t *slots;           /* hdr->params.procs slots */
    unsigned int    n;               /* = params.procs */
    mt_ep_slot_t   *eps;             /* params.endpoints + 1; 0 is "other" */
    unsigned int    n_eps;
    volatile apr_uint32_t *index;    /* hash -> endpoint index + 1 */
    unsigned int    index_mask;
    volatile apr_uint32_t *hints;    /* route hints */
    volatile apr_uint32_t *pids;     /* pid hash -> process slot + 1 */
    unsigned int    pids_mask;
} mt_state_t;

/* Bytes needed for these parameters. */
apr_size_t mt_state_bytes(const mt_state_params_t *params);

/* Fill params with the defaults. */
void mt_state_params_default(mt_state_params_t *params);

/* Lay out mem (mt_state_bytes(params) bytes). When the memory already
 * holds a state laid out with the same parameters (a graceful restart
 * reusing the shared memory) it is kept and *kept is 1; otherwise it is
 * zeroed and laid out anew. kept may be NULL. */
void mt_state_init(mt_state_t *st, void *mem, const mt_state_params_t *params,
                   apr_time_t now, int *kept);

/* A process is its pid and its start time (`start_ticks`, 0 when unknown):
 * a slot whose pid was reused by a newer process is that process's only once
 * its numbers are reset, so no "previous" sample or total ever crosses from
 * a dead process to the next one with its pid. An unknown start time on
 * either side matches. */

/* The last after-sample of the process: APR_SUCCESS and *rss_bytes, or
 * APR_NOTFOUND (unknown process) / APR_EAGAIN (busy). */
apr_status_t mt_state_last_rss(mt_state_t *st, int pid,
                               apr_uint64_t start_ticks, apr_int64_t *rss_bytes);

/* "Not reported" for the signed probe figures, which may be -1 or any
 * other negative number: below every valid value. */
#define MT_NOTE_NO_VALUE APR_INT64_MIN

/* One recorded request, as the analysis sees it. Numbers MT_UNKNOWN
 * (-1) when unknown (probe_bytes, probe_objects: MT_NOTE_NO_VALUE), tokens
 * 0 when absent. */
typedef struct mt_note_t {
    const char  *endpoint;           /* its name (mt_endpoint_name) */
    const char  *request_id;
    int          pid;
    apr_uint64_t start_ticks;
    int          kind;               /* MT_STATE_KIND_* */
    int          exclusive;          /* the process ran only this request
                                      * meanwhile (Passenger app, prefork) */
    apr_int64_t  rss_before;
    apr_int64_t  rss_after;
    int          before_own;         /* before sampled at the request's start
                                      * (not the process's previous after) */
    int          threshold_exceeded;
    apr_int64_t  alloc_objects;      /* objects the request allocated */
    apr_int64_t  order;              /* where the request stands in its
                                      * process: a count that only rises,
                                      * request by request (the app's
                                      * total_allocated_objects at its
                                      * start); MT_UNKNOWN when not known */
    int          app_reported;       /* an app sent a report */
    int          probeable;          /* it could have been probed (a
                                      * companion, or an httpd child that
                                      * serves one request at a time) */
    apr_int64_t  duration_us;
    apr_time_t   now;                /* the record's time */
    apr_uint64_t probe_started;      /* the process took probe T here */
    apr_uint64_t probe_done;         /* the result of probe T is here */
    apr_int64_t  probe_bytes;
    apr_int64_t  probe_objects;
    apr_int64_t  probe_us;
} mt_note_t;

/* Clear a note (numbers unknown, tokens absent). */
void mt_note_clear(mt_note_t *in);

/* What mt_state_note made of a request, for its record. */
typedef struct mt_note_out_t {
    int  endpoint;                   /* endpoint index, 0 "other", -1 none */
    int  first_call;                 /* its process's first of the endpoint */
    int  probe_accepted;             /* probe_done matched: counted */
    int  probe_warmup;               /* ... as a warm-up result */
    char probe_endpoint[MT_EP_NAME_MAX + 1];  /* the probed request's
                                      * endpoint, "" when none */
} mt_note_out_t;

/* Count one request: its process, its endpoint, probe bookkeeping. out may
 * be NULL. APR_EAGAIN when a busy lock made it skip part of the update. */
apr_status_t mt_state_note(mt_state_t *st, const mt_note_t *in,
                           mt_note_out_t *out);

/* The index of an endpoint name (0: "other" when the table is full),
 * creating it when create is set; -1 when not found. */
int mt_state_endpoint(mt_state_t *st, const char *name, int create,
                      apr_time_t now);

/* Route hints, for choosing which request to probe before the app has
 * named its endpoint: the last endpoint index seen for a hash of the
 * request's path form (mt_endpoint_from_path), or -1. */
int  mt_state_hint_get(const mt_state_t *st, unsigned int path_hash);
void mt_state_hint_set(mt_state_t *st, unsigned int path_hash, int endpoint);

/* The probe selection weight of an endpoint (0..256; 256 = probe whenever
 * a credit is there). Unknown endpoints (-1) weigh 256. */
unsigned int mt_state_priority(const mt_state_t *st, int endpoint);

/* Should this request be probed? One per-child credit counter: every
 * candidate adds one, a probe costs rate; a request of weight w is taken
 * with probability w/256 once a probe's worth of credit is there, so at
 * most 1 request in rate is ever probed, and mostly the endpoints the
 * analysis knows least about. rand: any 32 random bits. */
int mt_state_probe_pick(volatile apr_uint32_t *credit, unsigned int rate,
                        unsigned int weight, apr_uint32_t rand);

/* The two halves of mt_state_probe_pick, so that the weight is looked up
 * only when a probe's worth of credit is there: ready() counts the
 * candidate and says whether there is; take() decides and spends it. */
int mt_state_probe_ready(volatile apr_uint32_t *credit, unsigned int rate);
int mt_state_probe_take(volatile apr_uint32_t *credit, unsigned int rate,
                        unsigned int weight, apr_uint32_t rand);

/* A copy of process slot i (under its lock): APR_SUCCESS, APR_NOTFOUND
 * (empty) or APR_EAGAIN (busy). */
apr_status_t mt_state_copy_proc(mt_state_t *st, unsigned int i,
                                mt_proc_slot_t *out);

/* A copy of one endpoint slot (under its lock): APR_SUCCESS, APR_NOTFOUND
 * or APR_EAGAIN (busy). */
apr_status_t mt_state_copy_endpoint(mt_state_t *st, int endpoint,
                                    mt_ep_slot_t *out);

/* Cache what a fresh verdict says in the endpoint's slot: its probe weight,
 * and whether it is a leak (its "since" is set on the first such call at
 * now, cleared on a call that says it is not). */
void mt_state_cache_verdict(mt_state_t *st, int endpoint, unsigned int weight,
                            int is_leak, apr_time_t now);

/* Copies for the analysis and the status page (consistent per slot).
 * They return the number of slots copied; a busy slot is skipped and
 * counted in *busy (may be NULL). index_out[i] is the slot index of
 * out[i] (may be NULL). */
unsigned int mt_state_copy_procs(mt_state_t *st, mt_proc_slot_t *out,
                                 unsigned int *index_out, unsigned int max,
                                 unsigned int *busy);
unsigned int mt_state_copy_endpoints(mt_state_t *st, mt_ep_slot_t *out,
                                     unsigned int *index_out, unsigned int max,
                                     unsigned int *busy);

#endif
