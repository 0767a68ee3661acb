/* mod_memtrack_heapdiff: what a leaking endpoint keeps, by class and
 * allocation site, from three heap snapshots of one app process (the
 * method: README, "Heap diffs"; the state machine: include/mt_heapctl.h;
 * the diff: include/mt_heapdiff.h; the companion's side:
 * ruby/lib/memtrack/heap.rb).
 *
 * This file is the glue, in the order a request meets it:
 *
 *   fixups      while an attempt asks for a snapshot, every request that
 *               Passenger handles carries the ask in X-MemTrack-Want (the
 *               module cannot choose the process: the ask names it by pid
 *               and the others ignore it). A client's X-MemTrack-Want was
 *               removed in post_read_request, so only the module asks.
 *               Registered after the analysis's fixups, which set the
 *               header: the ask is appended to what is there.
 *   the record  mt_heapdiff_record, called by the analysis once the
 *               request is counted: the companion's acknowledgement, the
 *               endpoint's requests in the process, timeouts, and the
 *               automatic start when a probe result makes its endpoint a
 *               leak with medium or high confidence.
 *   the diff    the child that records the third acknowledgement (or any
 *               later one, when that child could not) runs the diff on a
 *               thread of its own, never on a request thread: reading
 *               hundreds of MB takes seconds. The thread removes the
 *               snapshots, writes the result to MemTrackHeapDiffDir/
 *               memtrack-heapdiff-TOKEN.json (removing all but the newest
 *               MT_HEAPCTL_RESULT_FILES there) and into the shared results.
 *               A child that exits meanwhile stops its thread, and another
 *               child takes the diff over.
 *   the page    a POST to the status handler starts (action=start,
 *               endpoint=NAME, pid=, force=1) or cancels (action=cancel) an
 *               attempt, quoting the confirmation token the page shows
 *               (confirm=); mt_heapdiff_view gives the page its copy.
 *
 * The snapshots never leave MemTrackHeapDiffDir and no client ever sees one:
 * nothing here serves a file, and check_config refuses a MemTrackHeapDiffDir
 * inside any server's DocumentRoot. File names are made of numbers the
 * module chose (pid, token, step).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "apr_atomic.h"
#include "apr_lib.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"

#include "mod_memtrack_config.h"
#include "mod_memtrack_heapdiff.h"
#include "mod_memtrack_heapdiff_conf.h"
#include "mod_memtrack_redis_conf.h"
#include "mod_memtrack_shm.h"
#include "mod_memtrack_target.h"
#include "mt_analysis.h"
#include "mt_buf.h"
#include "mt_heapfiles.h"
#include "mt_heapview.h"
#include "mt_status.h"          /* MT_STATUS_HANDLER */
#include "mt_limits.h"
#include "mt_procfind.h"
#include "mt_redis_blob.h"
#include "mt_util.h"

APLOG_USE_MODULE(memtrack);

#define MT_HD_WANT_HEADER "X-MemTrack-Want"
#define MT_HD_SHM_KEY     "memtrack-heapdiff-shm"

static mt_heapctl_t mt_hc;
static mt_heapctl_t *mt_hc_ptr;          /* NULL: no heap diff */

/* This child's diff thread. */
static apr_thread_t *mt_hd_thread;
static apr_pool_t *mt_hd_thread_pool;
static volatile apr_uint32_t mt_hd_running;
static volatile apr_uint32_t mt_hd_exiting;
static server_rec *mt_hd_server;
static apr_time_t mt_hd_refusal_logged;

/* Where the snapshots are also kept (MemTrackHeapDiffRedisTTL > 0 and the
 * main server's MemTrackRedis), set in child_init. */
static const mt_redis_addr_t *mt_hd_redis;
static int mt_hd_redis_connect_ms, mt_hd_redis_command_ms;
static const char *mt_hd_host;          /* for the keys: [A-Za-z0-9.-] */

/* ---- start-up ---- */

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf; (void)plog; (void)ptemp;
    mt_heapdiff_conf_reset();
    return OK;
}

/* A snapshot holds every string of the app: MemTrackHeapDiffDir at or
 * under the DocumentRoot of any server (the main one or a virtual host,
 * each merged with the main's by now) would let clients fetch them. */
static int dir_served(const char *dir, server_rec *s, apr_pool_t *ptemp)
{
    server_rec *v;

    for (v = s; v; v = v->next) {
        const core_server_config *core = ap_get_core_module_config(v->module_config);
        const char *root = core ? core->ap_document_root : NULL;

        if (root && mt_heapfiles_inside(dir, root, ptemp)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_ERR, 0, s,
                         "memtrack: MemTrackHeapDiffDir %s is inside the "
                         "DocumentRoot %s of %s: heap snapshots hold every "
                         "string of the app and must never be served; choose "
                         "a directory outside every DocumentRoot", dir, root,
                         v->is_virtual && v->defn_name
                         ? apr_psprintf(ptemp, "the virtual host %s (%s:%d)",
                                        v->server_hostname ? v->server_hostname
                                                           : "?",
                                        v->defn_name, v->defn_line_number)
                         : "the main server");
            return 1;
        }
    }
    return 0;
}

/* Runs in `apachectl configtest` too. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    const mt_heapctl_params_t *params = mt_heapdiff_conf_params();

    (void)pconf; (void)plog;
    if (params->auto_on && !params->dir[0]) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_ERR, 0, s,
                     "memtrack: MemTrackHeapDiff On needs MemTrackHeapDiffDir "
                     "(where the app processes write their heap snapshots)");
        return !OK;
    }
    if (params->dir[0] && dir_served(params->dir, s, ptemp)) {
        return !OK;
    }
    return OK;
}

/* The segment of the running parent (kept across graceful restarts). */
static void *segment(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_shm_t *shm = NULL;

    apr_pool_userdata_get((void **)&shm, MT_HD_SHM_KEY, pp);
    if (!shm) {
        if (apr_shm_create(&shm, mt_heapctl_bytes(), NULL, pp) != APR_SUCCESS) {
            return NULL;
        }
        memset(apr_shm_baseaddr_get(shm), 0, mt_heapctl_bytes());
        apr_pool_userdata_set(shm, MT_HD_SHM_KEY, apr_pool_cleanup_null, pp);
    }
    return apr_shm_baseaddr_get(shm);
}

static void warn_dir(server_rec *s)
{
    const mt_heapctl_params_t *params = mt_heapdiff_conf_params();
    struct stat st;

    if (stat(params->dir, &st) != 0) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "memtrack: "
                     "MemTrackHeapDiffDir %s does not exist yet: the first app "
                     "process asked for a snapshot creates it (mode 0700)",
                     params->dir);
    }
    else if (st.st_mode & 0007) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "memtrack: "
                     "MemTrackHeapDiffDir %s is open to other users: snapshots "
                     "hold every string of the app (sessions, passwords), so "
                     "the companion refuses it; chmod 0700 (or 2750 with "
                     "httpd's group)", params->dir);
    }
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    const mt_heapctl_params_t *params = mt_heapdiff_conf_params();
    apr_uint64_t seed = 0;
    void *mem;

    (void)pconf; (void)plog; (void)ptemp;
    mt_hc_ptr = NULL;
    if (!params->dir[0] || !mt_config_any_enabled()
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (!(mem = segment(s))) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "memtrack: no shared memory "
                     "for the heap diff; it is off");
        return OK;
    }
    apr_generate_random_bytes((unsigned char *)&seed, sizeof(seed));
    mt_heapctl_init(&mt_hc, mem, params, seed);
    mt_hc_ptr = &mt_hc;
    warn_dir(s);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "memtrack: heap diff: snapshots "
                 "in %s, %" APR_INT64_T_FMT " requests apart, %s",
                 params->dir, params->requests,
                 params->auto_on ? "on a leak verdict and on demand"
                                 : "on demand only");
    return OK;
}

/* ---- the diff thread ---- */

typedef struct {
    mt_heapctl_attempt_t a;
    mt_heapctl_params_t  params;
} mt_hd_job_t;

/* Remove the snapshots where this child may; the words for the result,
 * *all 1 when none is left. */
static const char *remove_snapshots(const mt_hd_job_t *job, int *all,
                                    apr_pool_t *p)
{
    char path[MT_HEAPCTL_DIR_MAX + 96];
    int step, failed = 0, err = 0;

    for (step = 1; step <= 3; step++) {
        mt_heapctl_path(path, sizeof(path), job->params.dir, job->a.pid,
                        job->a.token, step);
        if (unlink(path) != 0 && errno != ENOENT) {
            failed++;
            err = errno;
        }
    }
    *all = !failed;
    return failed ? apr_psprintf(p, "the module could not remove the snapshots "
                                 "(%s): the app process removes them",
                                 strerror(err))
                  : "snapshots removed";
}

/* memtrack:heap:<server>-<pid>-<start ticks>:<what> (the record's server,
 * pid and pid_start: one process for good). */
static const char *redis_key(const mt_hd_job_t *job, const char *what,
                             apr_pool_t *p)
{
    return apr_psprintf(p, "memtrack:heap:%s-%d-%" APR_UINT64_T_FMT ":%s",
                        mt_hd_host, job->a.pid, job->a.start_ticks, what);
}

/* The snapshots into Redis; the words for the result, NULL when not asked. */
static const char *store_redis(const mt_hd_job_t *job, apr_pool_t *p)
{
    char path[MT_HEAPCTL_DIR_MAX + 96], err[300];
    int step;

    if (!mt_hd_redis || job->params.redis_ttl_sec <= 0) {
        return NULL;
    }
    for (step = 1; step <= 3; step++) {
        mt_heapctl_path(path, sizeof(path), job->params.dir, job->a.pid,
                        job->a.token, step);
        if (mt_redis_blob_put(mt_hd_redis, mt_hd_redis_connect_ms,
                              mt_hd_redis_command_ms,
                              redis_key(job, apr_itoa(p, step), p), path,
                              (int)job->params.redis_ttl_sec,
                              mt_heapctl_abort_flag(mt_hc_ptr), err,
                              sizeof(err)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, mt_hd_server, "memtrack: "
                         "heap diff %" APR_UINT64_T_FMT ": snapshot %d not kept "
                         "in Redis: %s", job->a.token, step, err);
            return apr_psprintf(p, "not kept in Redis: %s", err);
        }
    }
    return apr_psprintf(p, "snapshots kept in Redis as %s for %" APR_INT64_T_FMT
                        " s", redis_key(job, "1..3", p),
                        job->params.redis_ttl_sec);
}

/* Only the newest MT_HEAPCTL_RESULT_FILES result files stay: this child
 * just made one in the directory, so it may remove the others (mode 0700
 * or 2770 without the sticky bit: whoever may create there may remove). */
static void prune_results(const mt_hd_job_t *job, const char *written)
{
    mt_heapfiles_prune_t out;
    apr_status_t rv;

    rv = mt_heapfiles_prune_results(job->params.dir, MT_HEAPCTL_RESULT_FILES,
                                    written, &out);
    if (rv != APR_SUCCESS || out.failed) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv != APR_SUCCESS ? rv
                     : APR_FROM_OS_ERROR(out.err), mt_hd_server, "memtrack: "
                     "heap diff %" APR_UINT64_T_FMT ": cannot remove %d of the "
                     "older result files in %s (%d are kept)", job->a.token,
                     out.failed, job->params.dir, MT_HEAPCTL_RESULT_FILES);
    }
    else if (out.removed) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, mt_hd_server, "memtrack: heap "
                     "diff %" APR_UINT64_T_FMT ": removed %d older result "
                     "files (%d are kept)", job->a.token, out.removed,
                     MT_HEAPCTL_RESULT_FILES);
    }
}

/* The result document, beside the snapshots (best effort: logged). */
static void write_result(const mt_hd_job_t *job, apr_pool_t *p)
{
    mt_heapctl_view_t *v = apr_palloc(p, sizeof(*v));
    char path[MT_HEAPCTL_DIR_MAX + 64];
    unsigned int i;
    mt_buf_t b;
    int fd;

    if (mt_heapctl_copy(mt_hc_ptr, v) != APR_SUCCESS) return;
    for (i = 0; i < v->n_results && v->results[i].a.token != job->a.token; i++);
    if (i == v->n_results) return;
    mt_buf_init(&b, 16384, p);
    mt_heapview_result_json(&b, &v->results[i]);
    mt_buf_putc(&b, '\n');
    mt_heapfiles_result_path(path, sizeof(path), job->params.dir, job->a.token);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, errno, mt_hd_server, "memtrack: "
                     "heap diff %" APR_UINT64_T_FMT ": cannot write %s (the "
                     "result is on the status page)", job->a.token, path);
    }
    if (fd >= 0) {
        close(fd);
        prune_results(job, strrchr(path, '/') + 1);
    }
    if (fd >= 0 && mt_hd_redis && job->params.redis_ttl_sec > 0) {
        char err[300];
        if (mt_redis_blob_put(mt_hd_redis, mt_hd_redis_connect_ms,
                              mt_hd_redis_command_ms,
                              redis_key(job, "result", p), path,
                              (int)job->params.redis_ttl_sec, NULL, err,
                              sizeof(err)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, mt_hd_server, "memtrack: "
                         "heap diff %" APR_UINT64_T_FMT ": result not kept in "
                         "Redis: %s", job->a.token, err);
        }
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, mt_hd_server, "memtrack: heap "
                 "diff of %s in process %d: %s", job->a.endpoint_name,
                 job->a.pid, v->results[i].a.message);
}

static void run_diff(const mt_hd_job_t *job, apr_pool_t *p)
{
    char path[3][MT_HEAPCTL_DIR_MAX + 96];
    const char *paths[3];
    mt_heapdiff_result_t *res = apr_pcalloc(p, sizeof(*res));
    mt_heapdiff_opts_t o;
    const char *kept, *removed;
    apr_status_t rv;
    int i, all = 0;

    for (i = 0; i < 3; i++) {
        paths[i] = mt_heapctl_path(path[i], sizeof(path[i]), job->params.dir,
                                   job->a.pid, job->a.token, i + 1);
    }
    mt_heapdiff_opts_default(&o);
    o.gen1 = job->a.snap[0].gc;
    o.gen2 = job->a.snap[1].gc;
    o.max_file_bytes = job->params.max_bytes;
    o.strip_prefix = job->a.app_root[0] ? job->a.app_root : NULL;
    o.cancel = mt_heapctl_abort_flag(mt_hc_ptr);
    rv = mt_heapdiff_run(res, paths, &o, p);
    if (rv == APR_ECONNABORTED && apr_atomic_read32(&mt_hd_exiting)) {
        mt_heapctl_release(mt_hc_ptr, job->a.token);  /* another child goes on */
        return;
    }
    kept = rv == APR_SUCCESS ? store_redis(job, p) : NULL;
    removed = remove_snapshots(job, &all, p);
    mt_heapctl_finish(mt_hc_ptr, job->a.token, rv, res,
                      kept ? apr_pstrcat(p, kept, "; ", removed, NULL) : removed,
                      all, apr_time_now(), mt_mono_now());
    write_result(job, p);
}

static void *APR_THREAD_FUNC diff_thread(apr_thread_t *t, void *data)
{
    mt_hd_job_t *job = data;
    apr_pool_t *p;
    sigset_t all;

    sigfillset(&all);       /* the MPM's signals stay on its own threads */
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    if (apr_pool_create(&p, mt_hd_thread_pool) == APR_SUCCESS) {
        run_diff(job, p);
        apr_pool_destroy(p);
    }
    apr_atomic_set32(&mt_hd_running, 0);
    /* returned from, not apr_thread_exit(): pthread_exit's forced unwind
     * skips the sanitizers' unpoisoning of this stack, which ASan then
     * reports at the thread's end; the thread's pool goes with reap() */
    (void)t;
    return NULL;
}

/* Join a finished thread and free its pool. */
static void reap(void)
{
    apr_status_t trv;

    if (mt_hd_thread) {
        apr_thread_join(&trv, mt_hd_thread);
        mt_hd_thread = NULL;
    }
    if (mt_hd_thread_pool) {
        apr_pool_destroy(mt_hd_thread_pool);
        mt_hd_thread_pool = NULL;
    }
}

static void start_diff(server_rec *s)
{
    mt_hd_job_t *job;
    apr_status_t rv;

    if (apr_atomic_cas32(&mt_hd_running, 1, 0) != 0) {
        return;                          /* this child runs one already */
    }
    reap();
    if (apr_pool_create_unmanaged_ex(&mt_hd_thread_pool, NULL, NULL)
        != APR_SUCCESS) {
        mt_hd_thread_pool = NULL;
        apr_atomic_set32(&mt_hd_running, 0);
        return;
    }
    job = apr_pcalloc(mt_hd_thread_pool, sizeof(*job));
    if (!mt_heapctl_claim(mt_hc_ptr, (int)getpid(), mt_mono_now(), &job->a)) {
        apr_atomic_set32(&mt_hd_running, 0);
        return;
    }
    job->params = mt_hc_ptr->shm->params;
    rv = apr_thread_create(&mt_hd_thread, NULL, diff_thread, job,
                           mt_hd_thread_pool);
    if (rv != APR_SUCCESS) {
        mt_hd_thread = NULL;
        mt_heapctl_release(mt_hc_ptr, job->a.token);
        apr_atomic_set32(&mt_hd_running, 0);
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "memtrack: cannot start the "
                     "heap diff's thread");
    }
}

static apr_status_t child_exit(void *data)
{
    (void)data;
    if (mt_hd_thread && apr_atomic_read32(&mt_hd_running)) {
        apr_atomic_set32(&mt_hd_exiting, 1);
        apr_atomic_set32(mt_heapctl_abort_flag(mt_hc_ptr), 1);
    }
    reap();
    return APR_SUCCESS;
}

static const char *host_for_keys(apr_pool_t *p)
{
    char host[APRMAXHOSTLEN + 1], *c;

    if (apr_gethostname(host, sizeof(host), p) != APR_SUCCESS) {
        return "localhost";
    }
    for (c = host; *c; c++) {
        if (!apr_isalnum(*c) && *c != '.' && *c != '-') *c = '_';
    }
    return apr_pstrdup(p, host);
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    mt_hd_server = s;
    mt_hd_redis = mt_redis_conf_addr(*mt_config_redis_ref(mt_config_srv(s)),
                                     &mt_hd_redis_connect_ms,
                                     &mt_hd_redis_command_ms);
    mt_hd_host = host_for_keys(pchild);
    mt_hd_thread = NULL;
    mt_hd_thread_pool = NULL;
    mt_hd_running = mt_hd_exiting = 0;
    if (mt_hc_ptr) {
        apr_pool_cleanup_register(pchild, NULL, child_exit,
                                  apr_pool_cleanup_null);
    }
}

/* ---- each request ---- */

static int fixups(request_rec *r)
{
    char items[MT_HEAPCTL_WANT_MAX];
    const char *have;

    if (!mt_hc_ptr || !mt_request_get(r) || !mt_target_is_passenger(r)
        || !mt_config_enabled(mt_config_dir(r))
        || !mt_heapctl_want(mt_hc_ptr, items, sizeof(items))) {
        return DECLINED;
    }
    have = apr_table_get(r->headers_in, MT_HD_WANT_HEADER);
    if (have && strstr(have, "heap=")) {
        return DECLINED;                 /* an internal redirect: asked */
    }
    apr_table_setn(r->headers_in, MT_HD_WANT_HEADER, have
                   ? apr_pstrcat(r->pool, have, "; ", items, NULL)
                   : apr_pstrdup(r->pool, items));
    return DECLINED;
}

/* How many processes its app has: 2 means "more than one". */
static int app_processes(request_rec *r, const char *root)
{
    mt_procfind_policy_t pol;
    int pid = 0;
    apr_status_t rv;

    memset(&pol, 0, sizeof(pol));
    pol.httpd_parent_pid = (int)getppid();
    pol.require_title = MT_PROCFIND_TITLE_RUBY;
    pol.ancestor_pid = pol.httpd_parent_pid;
    rv = mt_procfind_single(&pid, root[0] ? root : NULL, &pol, r->pool);
    return rv == APR_EEXIST ? 2 : rv == APR_SUCCESS ? 1 : 0;
}

static void log_refusal(request_rec *r, const char *what, const char *why)
{
    apr_time_t now = mt_mono_now();

    if (now - mt_hd_refusal_logged < MT_HD_REFUSAL_LOG) return;
    mt_hd_refusal_logged = now;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "memtrack: no heap diff of %s: "
                  "%s", what, why);
}

/* ARMED: this request of the endpoint names the process. */
static void aim(request_rec *r, const mt_record_t *rec)
{
    char root[MT_HEAPCTL_ROOT_MAX + 1], why[MT_HEAPCTL_MSG_MAX + 1];

    if (strcmp(rec->target, MT_TARGET_BACKEND) != 0 || !rec->exclusive) {
        return;                          /* not an app process: wait on */
    }
    mt_heapctl_app_root(rec->pid, root, sizeof(root));
    if (mt_heapctl_target(mt_hc_ptr, rec->pid, rec->start_ticks, root,
                          app_processes(r, root), mt_mono_now(), why,
                          sizeof(why)) == APR_EINVAL) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "memtrack: heap diff of "
                      "%s not started: %s", rec->endpoint, why);
    }
}

/* Is endpoint ep a leak with medium or high confidence now? */
static int leak_enough(int ep, apr_time_t now)
{
    mt_state_t *state = mt_shm_state();
    mt_ep_slot_t *copy = malloc(sizeof(*copy));
    mt_an_endpoint_t o;
    int yes = 0;

    if (copy && state && mt_state_copy_endpoint(state, ep, copy) == APR_SUCCESS) {
        mt_analysis_endpoint(&o, copy, (unsigned int)ep,
                             mt_state_serving(state, ep, now),
                             &state->hdr->params);
        yes = o.verdict == MT_VERDICT_LEAK && o.confidence
              && (!strcmp(o.confidence, "medium") || !strcmp(o.confidence, "high"));
    }
    free(copy);
    return yes;
}

/* A probe result was counted for an endpoint: start when it is a leak. */
static void maybe_start(request_rec *r, const mt_req_t *st,
                        const mt_record_t *rec, const mt_note_out_t *out)
{
    char root[MT_HEAPCTL_ROOT_MAX + 1], why[MT_HEAPCTL_MSG_MAX + 1];
    mt_heapctl_begin_t b;
    apr_time_t now = apr_time_now();
    int ep;

    if (!mt_hc_ptr->shm->params.auto_on || !out->probe_accepted || !st->app
        || strcmp(rec->target, MT_TARGET_BACKEND) != 0 || !rec->exclusive
        || (ep = mt_state_endpoint(mt_shm_state(), out->probe_endpoint, 0,
                                   now)) <= 0
        || mt_heapctl_app_root(rec->pid, root, sizeof(root)) != APR_SUCCESS
        || !mt_heapctl_may_start(mt_hc_ptr, root, mt_mono_now())
        || !leak_enough(ep, now)) {
        return;
    }
    memset(&b, 0, sizeof(b));
    b.trigger = MT_HEAPCTL_VERDICT;
    b.token = ((apr_uint64_t)apr_time_now() ^ ((apr_uint64_t)getpid() << 32))
              & (((apr_uint64_t)1 << 50) - 1);
    b.endpoint = ep;
    b.endpoint_name = out->probe_endpoint;
    b.pid = rec->pid;
    b.start_ticks = rec->start_ticks;
    b.app_root = root;
    b.app_processes = app_processes(r, root);
    if (mt_heapctl_begin(mt_hc_ptr, &b, now, mt_mono_now(), why, sizeof(why))
        == APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "memtrack: heap diff of "
                      "%s started in process %d (its leak verdict)",
                      out->probe_endpoint, rec->pid);
    }
    else {
        log_refusal(r, out->probe_endpoint, why);
    }
}

void mt_heapdiff_record(request_rec *r, const mt_req_t *st, mt_record_t *rec,
                        const mt_note_out_t *out)
{
    const mt_app_report_t *app = st->app;
    char msg[MT_HEAPCTL_MSG_MAX + 1];
    mt_heapctl_obs_t o;
    int flags;

    if (!mt_hc_ptr || strcmp(rec->target, MT_TARGET_BACKEND) != 0 || rec->pid <= 0) {
        return;
    }
    memset(&o, 0, sizeof(o));
    o.pid = rec->pid;
    o.start_ticks = rec->start_ticks;
    o.endpoint = out->endpoint;
    o.heap_step = -1;
    if (app && app->pid == rec->pid && app->heap_token > 0) {
        o.heap_token = (apr_uint64_t)app->heap_token;
        o.heap_step = (int)app->heap_step;
        o.heap_gc = app->heap_gc;
        o.heap_bytes = app->heap_bytes;
        o.heap_us = app->heap_us;
        o.heap_error = app->heap_error;
    }
    flags = mt_heapctl_observe(mt_hc_ptr, &o, apr_time_now(), mt_mono_now(),
                               msg, sizeof(msg));
    flags |= mt_heapctl_tick(mt_hc_ptr, apr_time_now(), mt_mono_now(), NULL,
                             msg[0] ? msg + strlen(msg) : msg,
                             sizeof(msg) - strlen(msg));
    if (flags & MT_HEAPCTL_OBS_SNAP) rec->heap_snapshot = o.heap_step;
    if (msg[0]) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "memtrack: %s", msg);
    }
    if (flags & MT_HEAPCTL_OBS_ARMED) aim(r, rec);
    if (flags & MT_HEAPCTL_OBS_DIFF) start_diff(r->server);
    maybe_start(r, st, rec, out);
}

/* ---- the status page ---- */

const mt_heapctl_view_t *mt_heapdiff_view(apr_pool_t *p)
{
    mt_heapctl_view_t *v;

    if (!mt_hc_ptr) {
        return NULL;
    }
    v = apr_palloc(p, sizeof(*v));
    if (mt_heapctl_copy(mt_hc_ptr, v) != APR_SUCCESS
        && mt_heapctl_copy(mt_hc_ptr, v) != APR_SUCCESS) {
        return NULL;
    }
    return v;
}

typedef struct {
    const char *action, *confirm, *endpoint, *pid, *force;
} mt_hd_form_t;

static apr_status_t read_form(request_rec *r, mt_hd_form_t *f)
{
    apr_array_header_t *pairs = NULL;
    int i;

    memset(f, 0, sizeof(*f));
    if (ap_parse_form_data(r, NULL, &pairs, 8, MT_HD_FORM_MAX) != OK || !pairs) {
        return APR_EINVAL;
    }
    for (i = 0; i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len = 0;
        apr_size_t size;
        char *v;

        apr_brigade_length(pair->value, 1, &len);
        if (len < 0 || len > 512) continue;
        size = (apr_size_t)len;
        v = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(pair->value, v, &size);
        v[size] = '\0';
        if (!strcmp(pair->name, "action")) f->action = v;
        else if (!strcmp(pair->name, "confirm")) f->confirm = v;
        else if (!strcmp(pair->name, "endpoint")) f->endpoint = v;
        else if (!strcmp(pair->name, "pid")) f->pid = v;
        else if (!strcmp(pair->name, "force")) f->force = v;
    }
    return APR_SUCCESS;
}

static int answer(request_rec *r, int status, const char *message,
                  apr_uint64_t token)
{
    mt_buf_t b;

    mt_buf_init(&b, 512, r->pool);
    mt_buf_printf(&b, "{\"ok\":%s,\"message\":", status < 300 ? "true" : "false");
    mt_buf_json_str(&b, message);
    if (token) mt_buf_printf(&b, ",\"token\":%" APR_UINT64_T_FMT, token);
    mt_buf_puts(&b, "}\n");
    r->status = status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)b.len);
    ap_rwrite(b.data, (int)b.len, r);
    return OK;
}

/* The process a POST names: a Passenger app process of this server. */
static int named_process(request_rec *r, const char *text, mt_heapctl_begin_t *b,
                         char *root, const char **why)
{
    mt_procfind_policy_t pol;
    apr_int64_t pid = 0;

    memset(&pol, 0, sizeof(pol));
    pol.httpd_parent_pid = (int)getppid();
    pol.require_title = MT_PROCFIND_TITLE_RUBY;
    if (mt_dec_parse(&pid, text, strlen(text), 2, 4194304) != APR_SUCCESS
        || mt_procfind_check((int)pid, &pol, why, r->pool) != APR_SUCCESS) {
        if (!*why) *why = "not a number";
        return 0;
    }
    b->pid = (int)pid;
    mt_sample_started(b->pid, &b->start_ticks);
    mt_heapctl_app_root(b->pid, root, MT_HEAPCTL_ROOT_MAX + 1);
    b->app_root = root;
    b->app_processes = app_processes(r, root);
    return 1;
}

static int post_start(request_rec *r, const mt_hd_form_t *f)
{
    char root[MT_HEAPCTL_ROOT_MAX + 1] = "", why[MT_HEAPCTL_MSG_MAX + 1];
    const char *bad = "";
    mt_heapctl_begin_t b;
    apr_status_t rv;
    mt_state_t *state = mt_shm_state();

    memset(&b, 0, sizeof(b));
    b.trigger = MT_HEAPCTL_DEMAND;
    b.forced = f->force && !strcmp(f->force, "1");
    b.endpoint_name = f->endpoint;
    if (!f->endpoint || !state
        || (b.endpoint = mt_state_endpoint(state, f->endpoint, 0,
                                           apr_time_now())) <= 0) {
        return answer(r, HTTP_BAD_REQUEST, "endpoint: not one the module has "
                      "seen (its name as on this page)", 0);
    }
    if (f->pid && *f->pid && !named_process(r, f->pid, &b, root, &bad)) {
        return answer(r, HTTP_BAD_REQUEST, apr_pstrcat(r->pool, "pid: not an "
                      "app process of this server: ", bad, NULL), 0);
    }
    b.token = ((apr_uint64_t)apr_time_now() ^ ((apr_uint64_t)getpid() << 32))
              & (((apr_uint64_t)1 << 50) - 1);
    rv = mt_heapctl_begin(mt_hc_ptr, &b, apr_time_now(), mt_mono_now(), why,
                          sizeof(why));
    if (rv != APR_SUCCESS) {
        return answer(r, HTTP_CONFLICT, why, 0);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "memtrack: heap diff of %s "
                  "asked for on the status page (%s)", f->endpoint,
                  b.pid ? apr_psprintf(r->pool, "process %d", b.pid)
                        : "the next process that serves it");
    return answer(r, HTTP_ACCEPTED, b.pid ? "started" : "started: the next "
                  "request of the endpoint names the process", b.token);
}

static int confirmed(const mt_hd_form_t *f)
{
    char *end;
    apr_uint64_t quoted;

    if (!f->confirm || strlen(f->confirm) != 16) {
        return 0;
    }
    errno = 0;
    quoted = (apr_uint64_t)strtoull(f->confirm, &end, 16);
    if (*end || errno) {
        return 0;
    }
    /* a fresh token for the next form: the page shown before is stale */
    return mt_heapctl_confirm_use(mt_hc_ptr, quoted,
                                  mt_heapctl_confirm(mt_hc_ptr) * 6364136223846793005ULL
                                  + (apr_uint64_t)apr_time_now());
}

static int post_handler(request_rec *r)
{
    mt_hd_form_t f;
    request_rec *x;

    if (!r->handler || strcmp(r->handler, MT_STATUS_HANDLER) != 0
        || r->method_number != M_POST || !mt_hc_ptr) {
        return DECLINED;                 /* the status handler answers */
    }
    for (x = r; x; x = x->prev) {       /* not recorded, as the page */
        ap_set_module_config(x->request_config, &memtrack_module, NULL);
    }
    if (read_form(r, &f) != APR_SUCCESS || !f.action) {
        return answer(r, HTTP_BAD_REQUEST, "expected a form: action=start "
                      "(endpoint=, pid=, force=1) or action=cancel, and "
                      "confirm=", 0);
    }
    if (!confirmed(&f)) {
        return answer(r, HTTP_FORBIDDEN, "confirm: missing or stale; quote the "
                      "token the status page shows now (?json: heap_diff."
                      "confirm)", 0);
    }
    if (!strcmp(f.action, "start")) {
        return post_start(r, &f);
    }
    if (!strcmp(f.action, "cancel")) {
        return mt_heapctl_cancel(mt_hc_ptr, "cancelled on the status page",
                                 apr_time_now(), mt_mono_now()) == APR_SUCCESS
               ? answer(r, HTTP_OK, "cancelled", 0)
               : answer(r, HTTP_CONFLICT, "no attempt is running", 0);
    }
    return answer(r, HTTP_BAD_REQUEST, "action: start or cancel", 0);
}

void mt_heapdiff_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* After the analysis's fixups (APR_HOOK_LAST), which set the header. */
    ap_hook_fixups(fixups, NULL, NULL, APR_HOOK_LAST + 5);
    /* Before the status handler (MIDDLE), which answers 405 to a POST. */
    ap_hook_handler(post_handler, NULL, NULL, APR_HOOK_FIRST);
}
