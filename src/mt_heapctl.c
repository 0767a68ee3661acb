/* mt_heapctl: the heap diff's attempts across httpd children (see
 * include/mt_heapctl.h). httpd-free. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "mt_heapctl.h"
#include "mt_limits.h"   /* MT_HC_LOCK_*, MT_HEAPCTL_* */
#include "mt_sample.h"
#include "mt_util.h"

#define MT_HC_MAGIC      0x6d74686300000002ULL     /* "mthc", layout 2 */
#define MT_HC_SEC        APR_USEC_PER_SEC

apr_size_t mt_heapctl_bytes(void)
{
    return sizeof(mt_heapctl_shm_t);
}

void mt_heapctl_params_default(mt_heapctl_params_t *p)
{
    memset(p, 0, sizeof(*p));
    p->auto_on = MT_DEFAULT_HEAPDIFF;
    p->redis_ttl_sec = MT_DEFAULT_HEAPDIFF_REDIS_TTL_SEC;
    p->requests = MT_HEAPCTL_DEFAULT_REQUESTS;
    p->interval_sec = MT_HEAPCTL_DEFAULT_INTERVAL;
    p->timeout_sec = MT_HEAPCTL_DEFAULT_TIMEOUT;
    p->max_bytes = MT_HEAPCTL_DEFAULT_MAX_BYTES;
}

void mt_heapctl_init(mt_heapctl_t *hc, void *mem,
                     const mt_heapctl_params_t *params, apr_uint64_t random)
{
    mt_heapctl_shm_t *s = mem;

    if (s->magic != MT_HC_MAGIC) {
        memset(s, 0, sizeof(*s));
        s->confirm = random ? random : 1;
        s->magic = MT_HC_MAGIC;
    }
    s->params = *params;
    hc->shm = s;
}

/* ---- lock (as mt_state's: bounded tries, a dead holder broken) ---- */

static int lock_take(volatile apr_uint32_t *word)
{
    apr_uint32_t stamp = (apr_uint32_t)apr_time_sec(mt_mono_now()) + 1;
    int i;

    for (i = 0; i < MT_HC_LOCK_TRIES + MT_HC_LOCK_YIELDS; i++) {
        apr_uint32_t held = apr_atomic_cas32(word, stamp, 0);
        if (held == 0) {
            return 1;
        }
        if (stamp - held > MT_HC_LOCK_STALE
            && apr_atomic_cas32(word, stamp, held) == held) {
            return 1;
        }
        if (i >= MT_HC_LOCK_TRIES) {
            sched_yield();
        }
    }
    return 0;
}

static void lock_give(volatile apr_uint32_t *word)
{
    apr_atomic_set32(word, 0);
}

/* ---- names ---- */

const char *mt_heapctl_state_name(int state)
{
    static const char *const names[] = {
        "idle", "armed", "asking", "waiting", "diff_pending", "diffing",
        "stopping"
    };

    return state >= 0 && state <= MT_HEAPCTL_STOP ? names[state] : "?";
}

const char *mt_heapctl_outcome_name(int outcome)
{
    switch (outcome) {
    case MT_HEAPCTL_DONE:      return "done";
    case MT_HEAPCTL_FAILED:    return "failed";
    case MT_HEAPCTL_CANCELLED: return "cancelled";
    default:                   return "running";
    }
}

const char *mt_heapctl_trigger_name(int trigger)
{
    return trigger == MT_HEAPCTL_DEMAND ? "demand" : "verdict";
}

const char *mt_heapctl_path(char *buf, apr_size_t len, const char *dir,
                            int pid, apr_uint64_t token, int step)
{
    apr_snprintf(buf, len, "%s/memtrack-heap-%d-%" APR_UINT64_T_FMT "-%d.json",
                 dir, pid, token, step);
    return buf;
}

/* ---- state changes (all under the lock) ---- */

static void build_want(mt_heapctl_shm_t *s)
{
    const mt_heapctl_attempt_t *a = &s->cur;

    s->want[0] = '\0';
    if (a->state == MT_HEAPCTL_ASK || a->state == MT_HEAPCTL_STOP) {
        apr_snprintf(s->want, sizeof(s->want), "heap=%" APR_UINT64_T_FMT
                     "; heap_pid=%d; heap_step=%d; heap_dir=%s; heap_max=%"
                     APR_INT64_T_FMT, a->token, a->pid,
                     a->state == MT_HEAPCTL_STOP ? 0 : a->step,
                     s->params.dir, s->params.max_bytes);
    }
}

static void set_state(mt_heapctl_shm_t *s, int state, apr_time_t now_mono)
{
    s->cur.state = state;
    s->cur.stage_since = now_mono;
    build_want(s);
    apr_atomic_set32(&s->state, (apr_uint32_t)state);
}

static void archive(mt_heapctl_shm_t *s, const mt_heapdiff_result_t *diff)
{
    mt_heapctl_result_t *r = &s->results[s->next_result];

    r->a = s->cur;
    r->a.state = MT_HEAPCTL_IDLE;
    if (diff) r->diff = *diff;
    else memset(&r->diff, 0, sizeof(r->diff));
    s->next_result = (s->next_result + 1) % MT_HEAPCTL_RESULTS;
    if (s->n_results < MT_HEAPCTL_RESULTS) s->n_results++;
}

/* End the attempt without a diff: archived with its message; the process
 * is asked to stop tracing and remove its snapshots when stop is set. */
static void end_attempt(mt_heapctl_shm_t *s, int outcome, const char *why,
                        int stop, apr_time_t now, apr_time_t now_mono)
{
    s->cur.outcome = outcome;
    s->cur.finished = now;
    apr_cpystrn(s->cur.message, why, sizeof(s->cur.message));
    archive(s, NULL);
    if (outcome == MT_HEAPCTL_CANCELLED) s->cancelled++;
    else s->failed++;
    set_state(s, stop && s->cur.pid ? MT_HEAPCTL_STOP : MT_HEAPCTL_IDLE,
              now_mono);
}

static mt_heapctl_app_t *app_of(mt_heapctl_shm_t *s, const char *root,
                                int create)
{
    mt_heapctl_app_t *oldest = NULL;
    unsigned int i;

    for (i = 0; i < MT_HEAPCTL_APPS; i++) {
        mt_heapctl_app_t *a = &s->apps[i];
        if (a->last_start && !strcmp(a->root, root)) return a;
        if (!oldest || a->last_start < oldest->last_start) oldest = a;
    }
    if (!create) return NULL;
    apr_cpystrn(oldest->root, root, sizeof(oldest->root));
    oldest->last_start = 0;
    return oldest;
}

/* May this process of this app be dumped now? NULL, or why not. Forced
 * (on demand, force=1) overrides both refusals: the only process of its
 * app, and the app's MemTrackHeapDiffInterval, which every other attempt,
 * automatic or on demand, keeps. */
static const char *refuse_target(mt_heapctl_shm_t *s, int pid, int forced,
                                 int trigger, const char *root,
                                 int app_processes, apr_time_t now_mono,
                                 char *why, apr_size_t whylen)
{
    const mt_heapctl_app_t *app = app_of(s, root ? root : "", 0);
    apr_int64_t ago, interval = s->params.interval_sec;

    if (app_processes <= 1 && !forced) {
        apr_snprintf(why, whylen, "process %d is the only process of its app "
                     "(%s): a snapshot would stop the whole app; force=1 on "
                     "demand does it anyway", pid,
                     root && *root ? root : "app root unknown");
        return why;
    }
    if (!forced && app && interval > 0
        && (ago = apr_time_sec(now_mono - app->last_start)) < interval) {
        apr_snprintf(why, whylen, "app %s had a heap diff %" APR_INT64_T_FMT
                     " s ago; MemTrackHeapDiffInterval is %" APR_INT64_T_FMT
                     " s%s", root && *root ? root : "(unknown)", ago, interval,
                     trigger == MT_HEAPCTL_DEMAND ? " (force=1 starts one "
                     "anyway)" : "");
        return why;
    }
    return NULL;
}

static void aim(mt_heapctl_shm_t *s, int pid, apr_uint64_t start_ticks,
                const char *root, apr_time_t now_mono)
{
    s->cur.pid = pid;
    s->cur.start_ticks = start_ticks;
    apr_cpystrn(s->cur.app_root, root ? root : "", sizeof(s->cur.app_root));
    app_of(s, s->cur.app_root, 1)->last_start = now_mono;
    s->cur.step = 1;
    set_state(s, MT_HEAPCTL_ASK, now_mono);
}

static apr_status_t begin_checks(mt_heapctl_shm_t *s,
                                 const mt_heapctl_begin_t *b, apr_time_t now_mono,
                                 char *why, apr_size_t whylen)
{
    if (!s->params.dir[0]) {
        apr_cpystrn(why, "MemTrackHeapDiffDir is not set", whylen);
        return APR_EINVAL;
    }
    if (s->cur.state != MT_HEAPCTL_IDLE) {
        apr_snprintf(why, whylen, "an attempt runs already (%s, process %d, "
                     "%s)", s->cur.endpoint_name, s->cur.pid,
                     mt_heapctl_state_name(s->cur.state));
        return APR_EBUSY;
    }
    if (b->pid > 0 && refuse_target(s, b->pid, b->forced, b->trigger,
                                    b->app_root, b->app_processes, now_mono,
                                    why, whylen)) {
        return b->app_processes <= 1 ? APR_EINVAL : APR_EAGAIN;
    }
    return APR_SUCCESS;
}

int mt_heapctl_may_start(mt_heapctl_t *hc, const char *app_root,
                         apr_time_t now_mono)
{
    mt_heapctl_shm_t *s = hc->shm;
    const mt_heapctl_app_t *app;
    int may;

    if (apr_atomic_read32(&s->state) != MT_HEAPCTL_IDLE || !s->params.dir[0]) {
        return 0;
    }
    if (!lock_take(&s->lock)) {
        return 0;
    }
    app = app_of(s, app_root ? app_root : "", 0);
    may = !app || s->params.interval_sec <= 0
          || apr_time_sec(now_mono - app->last_start) >= s->params.interval_sec;
    lock_give(&s->lock);
    return may;
}

apr_status_t mt_heapctl_app_root(int pid, char *buf, apr_size_t len)
{
    static const char title[] = "Passenger RubyApp: ";
    char path[64], text[MT_HEAPCTL_ROOT_MAX + 64];
    ssize_t n;
    char *end;
    int fd;

    buf[0] = '\0';
    apr_snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0) {
        return APR_ENOENT;
    }
    text[n] = '\0';                 /* the title ends at the first NUL */
    if (strncmp(text, title, sizeof(title) - 1) != 0) {
        return APR_EINVAL;
    }
    /* "<root> (<environment>)": the root is up to the last " (" */
    if ((end = strrchr(text, '(')) != NULL && end > text + sizeof(title)
        && end[-1] == ' ') {
        end[-1] = '\0';
    }
    apr_cpystrn(buf, text + sizeof(title) - 1, len);
    return APR_SUCCESS;
}

apr_status_t mt_heapctl_begin(mt_heapctl_t *hc, const mt_heapctl_begin_t *b,
                              apr_time_t now, apr_time_t now_mono,
                              char *why, apr_size_t whylen)
{
    mt_heapctl_shm_t *s = hc->shm;
    mt_heapctl_attempt_t *a = &s->cur;
    apr_status_t rv;

    why[0] = '\0';
    if (!lock_take(&s->lock)) {
        apr_cpystrn(why, "the heap diff state is busy; try again", whylen);
        return APR_EBUSY;
    }
    if ((rv = begin_checks(s, b, now_mono, why, whylen)) == APR_SUCCESS) {
        memset(a, 0, sizeof(*a));
        a->token = b->token ? b->token : 1;
        a->trigger = b->trigger;
        a->forced = b->forced;
        a->endpoint = b->endpoint;
        apr_cpystrn(a->endpoint_name, b->endpoint_name ? b->endpoint_name : "",
                    sizeof(a->endpoint_name));
        a->needed = s->params.requests > 0 ? s->params.requests : 1;
        a->started = now;
        s->started++;
        if (b->pid > 0) aim(s, b->pid, b->start_ticks, b->app_root, now_mono);
        else set_state(s, MT_HEAPCTL_ARMED, now_mono);
    }
    lock_give(&s->lock);
    return rv;
}

apr_status_t mt_heapctl_target(mt_heapctl_t *hc, int pid,
                               apr_uint64_t start_ticks, const char *app_root,
                               int app_processes, apr_time_t now_mono,
                               char *why, apr_size_t whylen)
{
    mt_heapctl_shm_t *s = hc->shm;
    apr_status_t rv = APR_SUCCESS;

    why[0] = '\0';
    if (!lock_take(&s->lock)) {
        return APR_EBUSY;
    }
    if (s->cur.state != MT_HEAPCTL_ARMED) {
        rv = APR_NOTFOUND;
    }
    else if (refuse_target(s, pid, s->cur.forced, s->cur.trigger, app_root,
                           app_processes, now_mono, why, whylen)) {
        end_attempt(s, MT_HEAPCTL_FAILED, why, 0, apr_time_now(), now_mono);
        rv = APR_EINVAL;
    }
    else {
        aim(s, pid, start_ticks, app_root, now_mono);
    }
    lock_give(&s->lock);
    return rv;
}

int mt_heapctl_want(mt_heapctl_t *hc, char *buf, apr_size_t len)
{
    mt_heapctl_shm_t *s = hc->shm;
    apr_uint32_t st = apr_atomic_read32(&s->state);
    int got = 0;

    if ((st != MT_HEAPCTL_ASK && st != MT_HEAPCTL_STOP) || !lock_take(&s->lock)) {
        return 0;
    }
    if (s->want[0]) {
        apr_cpystrn(buf, s->want, len);
        got = 1;
    }
    lock_give(&s->lock);
    return got;
}

/* ---- records ---- */

static int same_process(const mt_heapctl_attempt_t *a, const mt_heapctl_obs_t *o)
{
    return o->pid == a->pid && (!a->start_ticks || !o->start_ticks
                                || a->start_ticks == o->start_ticks);
}

static const char *mb(char *buf, apr_size_t len, apr_int64_t bytes)
{
    apr_snprintf(buf, len, "%.1f MB", (double)bytes / 1e6);
    return buf;
}

/* The snapshot asked for was taken. */
static int snapshot_taken(mt_heapctl_shm_t *s, const mt_heapctl_obs_t *o,
                          apr_time_t now, apr_time_t now_mono, char *msg,
                          apr_size_t msglen)
{
    mt_heapctl_attempt_t *a = &s->cur;
    mt_heapctl_snap_t *sn = &a->snap[a->step - 1];
    int flags = MT_HEAPCTL_OBS_SNAP | MT_HEAPCTL_OBS_MSG;
    char size[32];

    sn->gc = o->heap_gc;
    sn->bytes = o->heap_bytes;
    sn->pause_us = o->heap_us;
    sn->at = now;
    if (a->step >= 2) a->between[a->step - 2] = a->count;
    a->count = o->endpoint == a->endpoint;   /* this request ran after it */
    apr_snprintf(msg, msglen, "heap diff of %s: snapshot %d taken in process "
                 "%d (%s, the process paused %.3f s)", a->endpoint_name,
                 a->step, a->pid, mb(size, sizeof(size), o->heap_bytes),
                 o->heap_us >= 0 ? (double)o->heap_us / 1e6 : 0.0);
    if (a->step == 3) {
        set_state(s, MT_HEAPCTL_DIFF_PENDING, now_mono);
        return flags | MT_HEAPCTL_OBS_DIFF;
    }
    set_state(s, MT_HEAPCTL_WAIT, now_mono);
    return flags;
}

const char *mt_heapctl_error_words(const char *code)
{
    static const struct { const char *code, *words; } table[] = {
        { "disabled", "its companion takes no heap snapshots (MEMTRACK_HEAP=0)" },
        { "rate", "its companion took one less than MEMTRACK_HEAP_INTERVAL "
                  "seconds ago" },
        { "dir", "MemTrackHeapDiffDir is no directory the companion may use "
                 "(a symbolic link, not a directory, or a path it refuses)" },
        { "dir_missing", "MemTrackHeapDiffDir does not exist and the app's user "
                         "cannot create it" },
        { "dir_owner", "MemTrackHeapDiffDir is not owned by the app's user" },
        { "dir_mode", "MemTrackHeapDiffDir is open to other users (the "
                      "snapshots hold every string of the app: chmod 0700)" },
        { "denied", "the app's user may not write in MemTrackHeapDiffDir" },
        { "nospace", "no space left in MemTrackHeapDiffDir (its disk or quota "
                     "is full); the cut snapshot was removed" },
        { "too_big", "the snapshot grew past MemTrackHeapDiffMaxSize and was "
                     "removed" },
        { "exists", "a snapshot file of that name exists already" },
        { "sequence", "its companion has no such attempt (a step out of order)" },
        { "io", "an error in the companion (its X-MemTrack header says no more)" },
    };
    unsigned int i;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (!strcmp(table[i].code, code)) return table[i].words;
    }
    return "an error the module does not know";
}

/* A request of the attempt's process, without news of the attempt. */
static void count_request(mt_heapctl_shm_t *s, const mt_heapctl_obs_t *o,
                          apr_time_t now_mono)
{
    mt_heapctl_attempt_t *a = &s->cur;

    if (o->endpoint != a->endpoint
        || (a->state != MT_HEAPCTL_WAIT && a->state != MT_HEAPCTL_ASK)) {
        return;
    }
    a->count++;
    if (a->state == MT_HEAPCTL_WAIT && a->count >= a->needed) {
        a->step++;
        set_state(s, MT_HEAPCTL_ASK, now_mono);
    }
}

/* What the companion said about this attempt. */
static int heap_items(mt_heapctl_shm_t *s, const mt_heapctl_obs_t *o,
                      apr_time_t now, apr_time_t now_mono, char *msg,
                      apr_size_t msglen)
{
    mt_heapctl_attempt_t *a = &s->cur;

    if (a->state == MT_HEAPCTL_STOP && o->heap_step == 0) {
        set_state(s, MT_HEAPCTL_IDLE, now_mono);
        return 0;
    }
    if (a->state != MT_HEAPCTL_ASK || o->heap_step != a->step) {
        /* A repeat: the request carried an ask the process had answered
         * already (every request carries the ask until the answer is
         * logged), so it ran after that snapshot and counts like any. */
        if (o->heap_step > 0 && o->heap_step <= a->step) {
            count_request(s, o, now_mono);
        }
        return 0;
    }
    if (o->heap_error) {
        apr_snprintf(msg, msglen, "process %d could not take snapshot %d: %s "
                     "(heap_error=%s)", a->pid, a->step,
                     mt_heapctl_error_words(o->heap_error), o->heap_error);
        end_attempt(s, MT_HEAPCTL_FAILED, msg, 0, now, now_mono);
        return MT_HEAPCTL_OBS_MSG;
    }
    return snapshot_taken(s, o, now, now_mono, msg, msglen);
}

static int observe_locked(mt_heapctl_shm_t *s, const mt_heapctl_obs_t *o,
                          apr_time_t now, apr_time_t now_mono, char *msg,
                          apr_size_t msglen)
{
    mt_heapctl_attempt_t *a = &s->cur;

    if (a->state == MT_HEAPCTL_ARMED) {
        return o->endpoint == a->endpoint ? MT_HEAPCTL_OBS_ARMED : 0;
    }
    if (a->state == MT_HEAPCTL_DIFF_PENDING) {
        return MT_HEAPCTL_OBS_DIFF;
    }
    if (o->pid != a->pid || a->state == MT_HEAPCTL_IDLE) {
        return 0;
    }
    if (!same_process(a, o)) {
        apr_snprintf(msg, msglen, "process %d was replaced (a new process has "
                     "its pid) before snapshot %d: no diff", a->pid,
                     a->state == MT_HEAPCTL_ASK ? a->step : a->step + 1);
        end_attempt(s, MT_HEAPCTL_FAILED, msg, 0, now, now_mono);
        return MT_HEAPCTL_OBS_MSG;
    }
    if (o->heap_token == a->token && o->heap_step >= 0) {
        return heap_items(s, o, now, now_mono, msg, msglen);
    }
    count_request(s, o, now_mono);
    return 0;
}

int mt_heapctl_observe(mt_heapctl_t *hc, const mt_heapctl_obs_t *o,
                       apr_time_t now, apr_time_t now_mono, char *msg,
                       apr_size_t msglen)
{
    mt_heapctl_shm_t *s = hc->shm;
    apr_uint32_t st = apr_atomic_read32(&s->state);
    int flags;

    msg[0] = '\0';
    if (st == MT_HEAPCTL_IDLE || st == MT_HEAPCTL_DIFFING
        || (st != MT_HEAPCTL_ARMED && st != MT_HEAPCTL_DIFF_PENDING
            && o->pid != s->cur.pid)) {
        return 0;                 /* the usual case: nothing to do */
    }
    if (!lock_take(&s->lock)) {
        return 0;
    }
    flags = observe_locked(s, o, now, now_mono, msg, msglen);
    lock_give(&s->lock);
    return flags;
}

/* ---- time ---- */

int mt_heapctl_alive(int pid, apr_uint64_t start_ticks)
{
    apr_uint64_t t = 0;

    if (pid <= 0) {
        return 0;
    }
    if (mt_sample_started(pid, &t) != APR_SUCCESS) {
        return kill(pid, 0) == 0 || errno == EPERM;
    }
    return !start_ticks || t == start_ticks;
}

static int tick_attempt(mt_heapctl_shm_t *s, apr_time_t now,
                        apr_time_t now_mono, mt_heapctl_alive_fn *alive,
                        char *msg, apr_size_t msglen)
{
    mt_heapctl_attempt_t *a = &s->cur;
    apr_int64_t age = apr_time_sec(now_mono - a->stage_since);
    apr_int64_t limit = s->params.timeout_sec;
    int next = a->state == MT_HEAPCTL_ASK ? a->step : a->step + 1;

    if (a->pid && !alive(a->pid, a->start_ticks)) {
        apr_snprintf(msg, msglen, "process %d ended before snapshot %d (did "
                     "Passenger replace it?): no diff", a->pid, next);
        end_attempt(s, MT_HEAPCTL_FAILED, msg, 0, now, now_mono);
        return MT_HEAPCTL_OBS_MSG;
    }
    if (limit <= 0 || age < limit) {
        return 0;
    }
    if (a->state == MT_HEAPCTL_ARMED) {
        apr_snprintf(msg, msglen, "no request of %s was recorded in %"
                     APR_INT64_T_FMT " s", a->endpoint_name, age);
    }
    else if (a->state == MT_HEAPCTL_ASK) {
        apr_snprintf(msg, msglen, "process %d did not take snapshot %d in %"
                     APR_INT64_T_FMT " s (no request reached it, or its "
                     "companion does not take heap snapshots: MEMTRACK_HEAP=0 "
                     "or an older memtrack-rack)", a->pid, a->step, age);
    }
    else {
        apr_snprintf(msg, msglen, "only %" APR_INT64_T_FMT " of %"
                     APR_INT64_T_FMT " requests of %s reached process %d in %"
                     APR_INT64_T_FMT " s", a->count, a->needed,
                     a->endpoint_name, a->pid, age);
    }
    end_attempt(s, MT_HEAPCTL_FAILED, msg, 1, now, now_mono);
    return MT_HEAPCTL_OBS_MSG;
}

static int tick_diff(mt_heapctl_shm_t *s, apr_time_t now, apr_time_t now_mono,
                     mt_heapctl_alive_fn *alive, char *msg, apr_size_t msglen)
{
    mt_heapctl_attempt_t *a = &s->cur;

    if (a->state != MT_HEAPCTL_DIFFING || alive(a->diff_owner, 0)) {
        return 0;
    }
    if (a->diff_tries < MT_HEAPCTL_DIFF_TRIES) {
        a->diff_owner = 0;
        set_state(s, MT_HEAPCTL_DIFF_PENDING, now_mono);
        return MT_HEAPCTL_OBS_DIFF;
    }
    apr_snprintf(msg, msglen, "the httpd children that ran the diff ended "
                 "before it did; the snapshots are in %s (build/"
                 "memtrack-heapdiff diffs them)", s->params.dir);
    end_attempt(s, MT_HEAPCTL_FAILED, msg, 1, now, now_mono);
    return MT_HEAPCTL_OBS_MSG;
}

int mt_heapctl_tick(mt_heapctl_t *hc, apr_time_t now, apr_time_t now_mono,
                    mt_heapctl_alive_fn *alive, char *msg, apr_size_t msglen)
{
    mt_heapctl_shm_t *s = hc->shm;
    apr_uint32_t st = apr_atomic_read32(&s->state);
    int flags = 0;

    msg[0] = '\0';
    if (st == MT_HEAPCTL_IDLE || now_mono - s->last_tick < MT_HC_SEC
        || !lock_take(&s->lock)) {
        return 0;
    }
    s->last_tick = now_mono;
    alive = alive ? alive : mt_heapctl_alive;
    switch (s->cur.state) {
    case MT_HEAPCTL_ARMED: case MT_HEAPCTL_ASK: case MT_HEAPCTL_WAIT:
        flags = tick_attempt(s, now, now_mono, alive, msg, msglen);
        break;
    case MT_HEAPCTL_DIFFING:
        flags = tick_diff(s, now, now_mono, alive, msg, msglen);
        break;
    case MT_HEAPCTL_STOP:
        if (now_mono - s->cur.stage_since > MT_HEAPCTL_STOP_SECS * MT_HC_SEC
            || !alive(s->cur.pid, s->cur.start_ticks)) {
            set_state(s, MT_HEAPCTL_IDLE, now_mono);
        }
        break;
    default:
        break;
    }
    lock_give(&s->lock);
    return flags;
}

/* ---- the diff ---- */

int mt_heapctl_claim(mt_heapctl_t *hc, int owner, apr_time_t now_mono,
                     mt_heapctl_attempt_t *out)
{
    mt_heapctl_shm_t *s = hc->shm;
    int got = 0;

    if (apr_atomic_read32(&s->state) != MT_HEAPCTL_DIFF_PENDING
        || !lock_take(&s->lock)) {
        return 0;
    }
    if (s->cur.state == MT_HEAPCTL_DIFF_PENDING) {
        s->cur.diff_owner = owner;
        s->cur.diff_tries++;
        apr_atomic_set32(&s->diff_abort, 0);
        set_state(s, MT_HEAPCTL_DIFFING, now_mono);
        *out = s->cur;
        got = 1;
    }
    lock_give(&s->lock);
    return got;
}

static void finish_message(mt_heapctl_attempt_t *a, apr_status_t rv,
                           const mt_heapdiff_result_t *d, const char *note)
{
    const mt_heapdiff_row_t *top = d && d->n_rows ? &d->rows[0] : NULL;
    char first[400] = "";

    if (rv != APR_SUCCESS || !d) {
        apr_snprintf(a->message, sizeof(a->message), "the diff failed: %s%s%s",
                     d && d->message[0] ? d->message : "error",
                     note ? "; " : "", note ? note : "");
        return;
    }
    if (top) {
        apr_snprintf(first, sizeof(first), "; first %s at %s:%"
                     APR_INT64_T_FMT ", %" APR_INT64_T_FMT " objects",
                     top->class_name[0] ? top->class_name : top->type,
                     top->file[0] ? top->file : "(untraced)", top->line,
                     top->count);
    }
    apr_snprintf(a->message, sizeof(a->message), "kept %" APR_INT64_T_FMT
                 " objects, %" APR_INT64_T_FMT " bytes%s%s%s", d->kept_objects,
                 d->kept_bytes, first, note ? "; " : "", note ? note : "");
}

void mt_heapctl_finish(mt_heapctl_t *hc, apr_uint64_t token, apr_status_t rv,
                       const mt_heapdiff_result_t *diff, const char *note,
                       int removed, apr_time_t now, apr_time_t now_mono)
{
    mt_heapctl_shm_t *s = hc->shm;

    if (!lock_take(&s->lock)) {
        /* never lose the end of an attempt: the lock is short-lived */
        sched_yield();
        if (!lock_take(&s->lock)) return;
    }
    if (s->cur.token == token && s->cur.state == MT_HEAPCTL_DIFFING) {
        s->cur.outcome = rv == APR_SUCCESS ? MT_HEAPCTL_DONE : MT_HEAPCTL_FAILED;
        s->cur.finished = now;
        finish_message(&s->cur, rv, diff, note);
        archive(s, diff);
        if (rv == APR_SUCCESS) s->done++;
        else s->failed++;
        /* tracing stopped at snapshot 3; the process removes what the
         * module could not */
        set_state(s, removed ? MT_HEAPCTL_IDLE : MT_HEAPCTL_STOP, now_mono);
    }
    lock_give(&s->lock);
}

void mt_heapctl_release(mt_heapctl_t *hc, apr_uint64_t token)
{
    mt_heapctl_shm_t *s = hc->shm;

    if (!lock_take(&s->lock)) {
        return;           /* the tick finds the owner gone and releases */
    }
    if (s->cur.token == token && s->cur.state == MT_HEAPCTL_DIFFING) {
        s->cur.diff_owner = 0;
        set_state(s, MT_HEAPCTL_DIFF_PENDING, mt_mono_now());
    }
    lock_give(&s->lock);
}

apr_status_t mt_heapctl_cancel(mt_heapctl_t *hc, const char *why,
                               apr_time_t now, apr_time_t now_mono)
{
    mt_heapctl_shm_t *s = hc->shm;
    apr_status_t rv = APR_SUCCESS;
    int st;

    if (!lock_take(&s->lock)) {
        return APR_EBUSY;
    }
    st = s->cur.state;
    if (st == MT_HEAPCTL_IDLE || st == MT_HEAPCTL_STOP) {
        rv = APR_NOTFOUND;
    }
    else {
        if (st == MT_HEAPCTL_DIFFING) apr_atomic_set32(&s->diff_abort, 1);
        end_attempt(s, MT_HEAPCTL_CANCELLED, why, st != MT_HEAPCTL_ARMED, now,
                    now_mono);
    }
    lock_give(&s->lock);
    return rv;
}

/* ---- the page ---- */

apr_status_t mt_heapctl_copy(mt_heapctl_t *hc, mt_heapctl_view_t *out)
{
    mt_heapctl_shm_t *s = hc->shm;
    unsigned int i;

    if (!lock_take(&s->lock)) {
        return APR_EAGAIN;
    }
    out->params = s->params;
    out->confirm = s->confirm;
    out->cur = s->cur;
    out->n_results = s->n_results;
    for (i = 0; i < s->n_results; i++) {
        unsigned int k = (s->next_result + MT_HEAPCTL_RESULTS - 1 - i)
                         % MT_HEAPCTL_RESULTS;
        out->results[i] = s->results[k];
    }
    out->started = s->started;
    out->done = s->done;
    out->failed = s->failed;
    out->cancelled = s->cancelled;
    lock_give(&s->lock);
    return APR_SUCCESS;
}

volatile apr_uint32_t *mt_heapctl_abort_flag(mt_heapctl_t *hc)
{
    return &hc->shm->diff_abort;
}

apr_uint64_t mt_heapctl_confirm(mt_heapctl_t *hc)
{
    return hc->shm->confirm;
}

int mt_heapctl_confirm_use(mt_heapctl_t *hc, apr_uint64_t quoted,
                           apr_uint64_t next)
{
    mt_heapctl_shm_t *s = hc->shm;
    int ok;

    if (!lock_take(&s->lock)) {
        return 0;
    }
    ok = quoted != 0 && quoted == s->confirm;
    if (ok) s->confirm = next ? next : s->confirm + 1;
    lock_give(&s->lock);
    return ok;
}
