/* mt_heapctl: one heap-diff attempt at a time, across httpd children.
 *
 * httpd-free core over one block of memory (the glue puts it in shared
 * memory, mod_memtrack_heapdiff.c). An attempt asks ONE app process,
 * through the companion, for three snapshots spaced by N requests of the
 * suspect endpoint in that process, then has them diffed (mt_heapdiff):
 *
 *   ARMED        (on demand, no process named) the next recorded request
 *                of the endpoint names the process (mt_heapctl_target)
 *   ASK step S   every request Passenger handles carries the ask in
 *                X-MemTrack-Want (mt_heapctl_want): the module cannot
 *                choose which process gets a request, so the ask names
 *                the process by pid and every other process ignores it.
 *                The process acknowledges on its response (heap=T;
 *                heap_step=S; heap_gc=..) once the snapshot is written.
 *   WAIT         counts the endpoint's recorded requests in that process
 *                (the shared records say which process served each);
 *                after N of them, ASK the next snapshot
 *   DIFF_PENDING the third snapshot is written: the next httpd child that
 *                records a request claims the diff (mt_heapctl_claim) and
 *   DIFFING      runs it on a thread of its own
 *   STOP         asks the process to stop tracing and remove its
 *                snapshots (heap_step=0), after a failure or a cancel
 *   IDLE
 *
 * Every outcome (done, failed, cancelled) is kept in a ring of results
 * with its message; the status page shows the latest per endpoint. At most
 * one attempt runs at a time; per app (its Passenger app root) one starts
 * at most once per interval, automatic or on demand, unless forced (on
 * demand with force=1, which also allows the only process of its app;
 * an attempt counts from when its process is named). A process that ends
 * mid-way (Passenger replaced it; the pid and its start time say so), a
 * process that never answers, an error the companion reports (no space,
 * no permission, a snapshot too large) end the attempt with a message.
 *
 * Locking: one lock word, taken with a bounded number of tries and never
 * waited on; a caller that cannot take it skips (an ask or count is
 * repeated by the next request; an acknowledgement is repeated by the
 * companion until it is seen). A holder that died is broken after 5 s.
 */
#ifndef MT_HEAPCTL_H
#define MT_HEAPCTL_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mt_heapdiff.h"
#include "mt_limits.h"

/* The sizes (MT_HEAPCTL_*_MAX, ...) and the directives' defaults
 * (MT_HEAPCTL_DEFAULT_*): mt_limits.h. */

typedef enum {
    MT_HEAPCTL_IDLE = 0,
    MT_HEAPCTL_ARMED,
    MT_HEAPCTL_ASK,
    MT_HEAPCTL_WAIT,
    MT_HEAPCTL_DIFF_PENDING,
    MT_HEAPCTL_DIFFING,
    MT_HEAPCTL_STOP
} mt_heapctl_state_e;

typedef enum {
    MT_HEAPCTL_VERDICT = 1,        /* a leak verdict started it */
    MT_HEAPCTL_DEMAND = 2          /* someone asked (the status page) */
} mt_heapctl_trigger_e;

typedef enum {
    MT_HEAPCTL_RUNNING = 0,
    MT_HEAPCTL_DONE,
    MT_HEAPCTL_FAILED,
    MT_HEAPCTL_CANCELLED
} mt_heapctl_outcome_e;

/* Fixed when the memory is laid out (and on each restart). */
typedef struct mt_heapctl_params_t {
    char        dir[MT_HEAPCTL_DIR_MAX + 1];  /* MemTrackHeapDiffDir; "" off */
    apr_int32_t auto_on;                      /* MemTrackHeapDiff On */
    apr_int32_t reserved;
    apr_int64_t requests;        /* between snapshots */
    apr_int64_t interval_sec;    /* per app; 0: no limit */
    apr_int64_t timeout_sec;     /* per stage */
    apr_int64_t max_bytes;       /* per snapshot */
    apr_int64_t redis_ttl_sec;   /* 0: snapshots not kept in Redis */
} mt_heapctl_params_t;

/* One snapshot as the app reported it. */
typedef struct mt_heapctl_snap_t {
    apr_int64_t gc;              /* GC count: after snapshot 1, at 2 and 3 */
    apr_int64_t bytes;           /* file size */
    apr_int64_t pause_us;        /* how long the process stopped for it */
    apr_time_t  at;              /* when the module saw it */
} mt_heapctl_snap_t;

/* An attempt, running or finished. */
typedef struct mt_heapctl_attempt_t {
    apr_uint64_t token;          /* names the attempt and its files */
    apr_int32_t  state;          /* mt_heapctl_state_e */
    apr_int32_t  step;           /* ASK: the snapshot asked for; WAIT: the
                                  * last one taken */
    apr_int32_t  outcome;        /* mt_heapctl_outcome_e */
    apr_int32_t  trigger;        /* mt_heapctl_trigger_e */
    apr_int32_t  forced;         /* may dump the only process of its app,
                                  * and within the app's interval */
    apr_int32_t  pid;            /* the process, 0 while ARMED */
    apr_uint64_t start_ticks;    /* its start time: pid + this = one process */
    apr_int32_t  endpoint;       /* endpoint index (mt_state) */
    apr_int32_t  diff_owner;     /* httpd child running the diff */
    apr_int32_t  diff_tries;
    apr_int32_t  reserved;
    char         endpoint_name[MT_HEAPCTL_EP_MAX + 1];
    char         app_root[MT_HEAPCTL_ROOT_MAX + 1];
    apr_int64_t  needed;         /* requests between snapshots */
    apr_int64_t  count;          /* of the endpoint in pid since the last */
    apr_int64_t  between[2];     /* counted between 1-2 and 2-3 */
    apr_time_t   started;        /* apr_time_now() */
    apr_time_t   finished;
    apr_time_t   stage_since;    /* mt_mono_now() when the stage began */
    mt_heapctl_snap_t snap[3];
    char         message[MT_HEAPCTL_MSG_MAX + 1];
} mt_heapctl_attempt_t;

typedef struct mt_heapctl_result_t {
    mt_heapctl_attempt_t a;      /* with outcome and message */
    mt_heapdiff_result_t diff;   /* mode 0 when there is no diff */
} mt_heapctl_result_t;

typedef struct mt_heapctl_app_t {
    char        root[MT_HEAPCTL_ROOT_MAX + 1];   /* "" free */
    apr_time_t  last_start;      /* mt_mono_now() */
} mt_heapctl_app_t;

typedef struct mt_heapctl_shm_t {
    apr_uint64_t          magic;
    volatile apr_uint32_t lock;
    volatile apr_uint32_t state;          /* = cur.state, read unlocked */
    volatile apr_uint32_t diff_abort;     /* the running diff should stop */
    apr_uint32_t          reserved;
    apr_uint64_t          confirm;        /* what a POST must quote */
    apr_time_t            last_tick;
    mt_heapctl_params_t   params;
    mt_heapctl_attempt_t  cur;
    char                  want[MT_HEAPCTL_WANT_MAX];  /* ASK/STOP items */
    apr_uint32_t          n_results, next_result;
    apr_uint32_t          started, done, failed, cancelled;
    mt_heapctl_result_t   results[MT_HEAPCTL_RESULTS];
    mt_heapctl_app_t      apps[MT_HEAPCTL_APPS];
} mt_heapctl_shm_t;

typedef struct mt_heapctl_t {
    mt_heapctl_shm_t *shm;
} mt_heapctl_t;

apr_size_t mt_heapctl_bytes(void);

void mt_heapctl_params_default(mt_heapctl_params_t *p);

/* Lay out mem (mt_heapctl_bytes()). Memory that holds a state already (a
 * graceful restart) keeps its attempt and results; the params are
 * replaced. random: seed of the confirmation token. */
void mt_heapctl_init(mt_heapctl_t *hc, void *mem,
                     const mt_heapctl_params_t *params, apr_uint64_t random);

/* What to start. pid 0 (on demand only): ARMED, the next request of the
 * endpoint names the process. */
typedef struct mt_heapctl_begin_t {
    int          trigger;        /* mt_heapctl_trigger_e */
    int          forced;
    apr_uint64_t token;
    int          endpoint;
    const char  *endpoint_name;
    int          pid;
    apr_uint64_t start_ticks;
    const char  *app_root;       /* "" unknown */
    int          app_processes;  /* processes of that app seen now */
} mt_heapctl_begin_t;

/* Start an attempt. APR_SUCCESS, or APR_EBUSY (one runs), APR_EAGAIN
 * (this app's interval, not forced), APR_EINVAL (the only process of its
 * app, not forced; no directory), with why (whylen bytes) in words. With
 * pid 0 the checks of the process wait for mt_heapctl_target. now_mono is
 * mt_mono_now(), now apr_time_now(). */
apr_status_t mt_heapctl_begin(mt_heapctl_t *hc, const mt_heapctl_begin_t *b,
                              apr_time_t now, apr_time_t now_mono,
                              char *why, apr_size_t whylen);

/* Could an automatic attempt start for this app now (none runs, the
 * app's interval is over)? A cheap look before counting its processes. */
int mt_heapctl_may_start(mt_heapctl_t *hc, const char *app_root,
                         apr_time_t now_mono);

/* The app root of a Passenger app process, from its title ("Passenger
 * RubyApp: /srv/app (production)" gives "/srv/app"). APR_EINVAL when the
 * process is not titled so. */
apr_status_t mt_heapctl_app_root(int pid, char *buf, apr_size_t len);

/* ARMED: the process a request of the endpoint came from. APR_EINVAL
 * (the only process of its app, or its app's interval, not forced) ends
 * the attempt, failed, with why. */
apr_status_t mt_heapctl_target(mt_heapctl_t *hc, int pid,
                               apr_uint64_t start_ticks, const char *app_root,
                               int app_processes, apr_time_t now_mono,
                               char *why, apr_size_t whylen);

/* The items a request Passenger handles should carry now (ASK or STOP),
 * copied into buf (len bytes); 0 when none. */
int mt_heapctl_want(mt_heapctl_t *hc, char *buf, apr_size_t len);

/* What one recorded request says. heap_step -1: no heap items. */
typedef struct mt_heapctl_obs_t {
    int          pid;
    apr_uint64_t start_ticks;
    int          endpoint;       /* index, -1 unknown */
    apr_uint64_t heap_token;     /* 0: none */
    int          heap_step;      /* 0 stopped, 1..3 snapshot, -1 none */
    apr_int64_t  heap_gc, heap_bytes, heap_us;   /* -1 unknown */
    const char  *heap_error;     /* NULL none */
} mt_heapctl_obs_t;

#define MT_HEAPCTL_OBS_DIFF  1   /* a diff is pending: claim it */
#define MT_HEAPCTL_OBS_MSG   2   /* msg has news for the error log */
#define MT_HEAPCTL_OBS_SNAP  4   /* this request took snapshot obs->heap_step */
#define MT_HEAPCTL_OBS_ARMED 8   /* ARMED, and this request was of the
                                  * endpoint: check its process, then
                                  * mt_heapctl_target */

/* Feed one record. Returns MT_HEAPCTL_OBS_* flags. */
int mt_heapctl_observe(mt_heapctl_t *hc, const mt_heapctl_obs_t *o,
                       apr_time_t now, apr_time_t now_mono, char *msg,
                       apr_size_t msglen);

/* Timeouts and a process that ended; at most once a second does work.
 * alive(pid, start_ticks) says whether that process still runs (NULL:
 * mt_heapctl_alive). Returns MT_HEAPCTL_OBS_* flags. */
typedef int mt_heapctl_alive_fn(int pid, apr_uint64_t start_ticks);
int mt_heapctl_alive(int pid, apr_uint64_t start_ticks);
int mt_heapctl_tick(mt_heapctl_t *hc, apr_time_t now, apr_time_t now_mono,
                    mt_heapctl_alive_fn *alive, char *msg, apr_size_t msglen);

/* DIFF_PENDING -> DIFFING for httpd child owner; 1 with a copy of the
 * attempt when claimed. */
int mt_heapctl_claim(mt_heapctl_t *hc, int owner, apr_time_t now_mono,
                     mt_heapctl_attempt_t *out);

/* The diff of attempt token ended (rv its status; diff may be NULL when
 * there is none); note: extra words for the message (Redis, cleanup), may
 * be NULL. The attempt ends (done or failed) and goes to the results;
 * when the module could not remove the snapshots (removed 0), the process
 * is asked to (STOP), else the next attempt may start at once. */
void mt_heapctl_finish(mt_heapctl_t *hc, apr_uint64_t token, apr_status_t rv,
                       const mt_heapdiff_result_t *diff, const char *note,
                       int removed, apr_time_t now, apr_time_t now_mono);

/* The flag the running diff watches (mt_heapdiff_opts_t.cancel): set by a
 * cancel, and by the glue when its child exits. */
volatile apr_uint32_t *mt_heapctl_abort_flag(mt_heapctl_t *hc);

/* The diff of token was given up by its child (it exits): another child
 * may claim it again. */
void mt_heapctl_release(mt_heapctl_t *hc, apr_uint64_t token);

/* Cancel the running attempt (APR_NOTFOUND when none). */
apr_status_t mt_heapctl_cancel(mt_heapctl_t *hc, const char *why,
                               apr_time_t now, apr_time_t now_mono);

/* A copy for the status page: the current attempt and the results, newest
 * first. APR_EAGAIN when the lock was busy. */
typedef struct mt_heapctl_view_t {
    mt_heapctl_params_t  params;
    apr_uint64_t         confirm;
    mt_heapctl_attempt_t cur;
    unsigned int         n_results;
    mt_heapctl_result_t  results[MT_HEAPCTL_RESULTS];
    apr_uint32_t         started, done, failed, cancelled;
} mt_heapctl_view_t;
apr_status_t mt_heapctl_copy(mt_heapctl_t *hc, mt_heapctl_view_t *out);

/* The confirmation token a POST must carry; mt_heapctl_confirm_use checks
 * one and, when it matches, replaces it with next (a page shown before is
 * then stale). */
apr_uint64_t mt_heapctl_confirm(mt_heapctl_t *hc);
int mt_heapctl_confirm_use(mt_heapctl_t *hc, apr_uint64_t quoted,
                           apr_uint64_t next);

/* The file of snapshot step of attempt token in process pid:
 * DIR/memtrack-heap-PID-TOKEN-STEP.json (only numbers of ours in it). */
const char *mt_heapctl_path(char *buf, apr_size_t len, const char *dir,
                            int pid, apr_uint64_t token, int step);

/* The companion's heap_error code in words. */
const char *mt_heapctl_error_words(const char *code);

const char *mt_heapctl_state_name(int state);
const char *mt_heapctl_outcome_name(int outcome);
const char *mt_heapctl_trigger_name(int trigger);

#endif
