/* mod_memtrack_pipe: piped loggers that outlive a configuration.
 *
 * What httpd allows (read in server/log.c, server/main.c and the event and
 * prefork MPMs of 2.4): ap_open_piped_log(p, ...) makes the pipe in p and
 * registers a cleanup on p that SIGTERMs the logger and closes the pipe;
 * mod_log_config passes pconf, so on a graceful restart, when main() clears
 * pconf before reading the configuration again, every piped logger is
 * killed and a new one started, while the old generation's children go on
 * serving their last requests: what they write after that fails with EPIPE
 * (the pipe has no reader left), and what was in the pipe, unread by the
 * killed logger, is gone without a trace. The only pool that survives a
 * restart is the process pool, and there ap_open_piped_log() does not help
 * either: its maintenance callback SIGTERMs the logger on
 * APR_OC_REASON_RESTART (sent on every hard restart and stop), and its
 * piped_log is opaque, so whether the logger still runs cannot be known.
 *
 * So this file keeps its own: per distinct spec, a pipe and a logger made
 * in the process pool, listed in data retained across restarts
 * (ap_retained_data_*: plain data, no function pointers, because the module
 * itself is unloaded and loaded again with every configuration). The
 * logger's "other child" registration, which holds a pointer to this
 * module's maintenance function, is made on pconf in each generation and
 * goes with it. The maintenance starts the logger again when it dies (not
 * while the MPM stops; open_logs then starts one if there is none), and
 * ignores RESTART: the logger stays. An old generation's children, the new
 * one's and the logger all keep the same pipe, so nothing is lost.
 *
 * A spec no longer configured is let go in open_logs, before the new
 * children are forked: the parent closes its ends, the old children keep
 * theirs until they exit, and the logger reads what they write, sees the
 * end of the pipe when the last of them is gone, and exits by itself. When
 * the parent exits (main state EXITING, all children gone), it closes its
 * ends and waits a little for each logger to read the pipe to its end
 * before it SIGTERMs what is left: httpd SIGTERMs its piped loggers at
 * once, losing what was in the pipe.
 *
 * A pipe made by another process (the first reading of the configuration,
 * before httpd detached into the background with a fork) is given up: its
 * ends are closed here, so its orphaned logger sees the end and exits, and
 * this process starts its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "apr_portable.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"

#include "mod_memtrack_pipe.h"
#include "mt_limits.h"

APLOG_USE_MODULE(memtrack);

#define MT_PIPE_RETAIN_KEY "mod_memtrack pipes"

/* One pipe and its logger. Plain data in the process pool. */
typedef struct {
    int            in_use;
    int            used_gen;     /* configuration that last named it */
    int            retired;      /* let go: exits at end of file */
    pid_t          owner;        /* the process that made it */
    apr_pool_t    *pool;         /* subpool of the process pool: its fds */
    const char    *spec;         /* as configured, "|..." */
    const char    *program;      /* spec without "|" or "|$" */
    apr_cmdtype_e  cmdtype;
    apr_file_t    *rd, *wr;
    apr_proc_t     proc;         /* the logger; pid 0 when none */
} mt_pipe_entry_t;

typedef struct {
    mt_pipe_entry_t e[MT_PIPE_MAX];
} mt_pipe_table_t;

static mt_pipe_table_t *table(void)
{
    mt_pipe_table_t *t = ap_retained_data_get(MT_PIPE_RETAIN_KEY);

    if (!t) {
        t = ap_retained_data_create(MT_PIPE_RETAIN_KEY, sizeof(*t));
        memset(t, 0, sizeof(*t));
    }
    return t;
}

static void entry_free(mt_pipe_entry_t *e)
{
    apr_pool_destroy(e->pool);     /* closes what is left of the pipe */
    memset(e, 0, sizeof(*e));
}

/* The parent lets go of its ends of the pipe. */
static void close_ends(mt_pipe_entry_t *e)
{
    if (e->wr) apr_file_close(e->wr);
    if (e->rd) apr_file_close(e->rd);
    e->wr = e->rd = NULL;
}

static void logger_errfn(apr_pool_t *p, apr_status_t err, const char *desc)
{
    (void)p;
    ap_log_error(APLOG_MARK, APLOG_ERR, err, NULL, "memtrack: piped logger: "
                 "%s", desc);
}

static void maintenance(int reason, void *data, apr_wait_t status);

/* Start the logger on the entry's pipe and watch it for this generation. */
static apr_status_t spawn(mt_pipe_entry_t *e, apr_pool_t *pconf)
{
    apr_pool_t *sp;
    apr_procattr_t *attr;
    apr_proc_t proc;
    const char * const *argv;
    char **args;
    apr_status_t rv;

    /* Per start, so that a logger restarted often costs no memory. */
    apr_pool_create(&sp, e->pool);
    apr_tokenize_to_argv(e->program, &args, sp);
    argv = (const char * const *)args;
    if ((rv = apr_procattr_create(&attr, sp)) == APR_SUCCESS
        && (rv = apr_procattr_dir_set(attr, ap_server_root)) == APR_SUCCESS
        && (rv = apr_procattr_cmdtype_set(attr, e->cmdtype)) == APR_SUCCESS
        && (rv = apr_procattr_child_in_set(attr, e->rd, e->wr)) == APR_SUCCESS
        && (rv = apr_procattr_child_errfn_set(attr, logger_errfn))
           == APR_SUCCESS
        && (rv = apr_procattr_error_check_set(attr, 1)) == APR_SUCCESS) {
        memset(&proc, 0, sizeof(proc));
        rv = apr_proc_create(&proc, argv[0], argv, NULL, attr, sp);
    }
    if (rv == APR_SUCCESS) {
        memset(&e->proc, 0, sizeof(e->proc));
        e->proc.pid = proc.pid;
        apr_proc_other_child_register(&e->proc, maintenance, e, NULL, pconf);
    }
    apr_pool_destroy(sp);          /* the parent's copies of the ends */
    return rv;
}

/* The configuration pool of the running generation, for spawns from the
 * maintenance callback. */
static apr_pool_t *mt_pipe_pconf;

static void maintenance(int reason, void *data, apr_wait_t status)
{
    mt_pipe_entry_t *e = data;
    int mpm_state = AP_MPMQ_STOPPING;
    apr_status_t rv;

    (void)status;
    if (reason != APR_OC_REASON_DEATH && reason != APR_OC_REASON_LOST) {
        return;    /* RESTART too: the logger stays with its pipe */
    }
    e->proc.pid = 0;
    apr_proc_other_child_unregister(e);
    if (e->retired) {
        entry_free(e);             /* read to the end and done */
        return;
    }
    ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state);
    if (mpm_state == AP_MPMQ_STOPPING || !mt_pipe_pconf) {
        return;                    /* open_logs starts one if need be */
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, "memtrack: MemTrackLog "
                 "%s: the piped logger exited; starting it again", e->spec);
    if ((rv = spawn(e, mt_pipe_pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, NULL, "memtrack: MemTrackLog "
                     "%s: cannot start the piped logger again; records wait "
                     "in the pipe, then are dropped and counted", e->spec);
    }
}

/* A new pipe for spec in a fresh entry: non-blocking, deep, close-on-exec
 * (forked children keep it; nothing exec'd does, Passenger's agents
 * included). */
static apr_status_t entry_make(mt_pipe_entry_t *e, const char *spec,
                               server_rec *s)
{
    apr_os_file_t rfd, wfd;
    apr_status_t rv;

    apr_pool_create(&e->pool, s->process->pool);
    apr_pool_tag(e->pool, "memtrack_pipe");
    e->spec = apr_pstrdup(e->pool, spec);
    e->program = e->spec + 1;
    e->cmdtype = APR_PROGRAM_ENV;
    if (*e->program == '$') {
        e->cmdtype = APR_SHELLCMD_ENV;
        e->program++;
    }
    e->owner = getpid();
    rv = apr_file_pipe_create_ex(&e->rd, &e->wr, APR_FULL_BLOCK, e->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_os_file_get(&rfd, e->rd);
    apr_os_file_get(&wfd, e->wr);
#ifdef F_SETPIPE_SZ
    /* A deeper pipe absorbs bursts (64 KiB is ~50 records) and restarts
     * of the logger; 1 MiB is what an unprivileged process may ask. */
    (void)fcntl(wfd, F_SETPIPE_SZ, MT_PIPE_BYTES);
#endif
    if (fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK) < 0
        || fcntl(wfd, F_SETFD, FD_CLOEXEC) < 0
        || fcntl(rfd, F_SETFD, FD_CLOEXEC) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    e->in_use = 1;
    return APR_SUCCESS;
}

/* The entry of spec made by this process, or NULL. Entries of another
 * process (before httpd detached) are given up on the way. */
static mt_pipe_entry_t *entry_find(mt_pipe_table_t *t, const char *spec)
{
    mt_pipe_entry_t *found = NULL;
    int i;

    for (i = 0; i < MT_PIPE_MAX; i++) {
        mt_pipe_entry_t *e = &t->e[i];
        if (e->in_use && e->owner != getpid()) {
            close_ends(e);         /* its logger sees the end, and exits */
            entry_free(e);
        }
        else if (e->in_use && !e->retired && !strcmp(e->spec, spec)) {
            found = e;
        }
    }
    return found;
}

/* Is the entry's logger running? Reaps it when it died meanwhile; one
 * reaped by someone else (the MPM) is gone too. */
static int logger_alive(mt_pipe_entry_t *e)
{
    int code;
    apr_exit_why_e why;

    if (e->proc.pid <= 0) {
        return 0;
    }
    if (apr_proc_wait(&e->proc, &code, &why, APR_NOWAIT) != APR_CHILD_NOTDONE) {
        e->proc.pid = 0;
        return 0;
    }
    return 1;
}

static apr_status_t pipes_at_exit(void *data);

apr_status_t mt_pipe_open(int *fd, const char *spec, server_rec *s,
                          apr_pool_t *pconf)
{
    mt_pipe_table_t *t = table();
    mt_pipe_entry_t *e = entry_find(t, spec);
    apr_os_file_t wfd;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (mt_pipe_pconf != pconf) {
        mt_pipe_pconf = pconf;
        apr_pool_cleanup_register(pconf, NULL, pipes_at_exit,
                                  apr_pool_cleanup_null);
    }
    for (i = 0; !e && i < MT_PIPE_MAX; i++) {
        if (!t->e[i].in_use) {
            e = &t->e[i];
            if ((rv = entry_make(e, spec, s)) != APR_SUCCESS) {
                entry_free(e);
                return rv;
            }
        }
    }
    if (!e) {
        return APR_ENOSPC;         /* more distinct pipes than MT_PIPE_MAX */
    }
    e->used_gen = ap_state_query(AP_SQ_CONFIG_GEN);
    if (logger_alive(e)) {
        apr_proc_other_child_register(&e->proc, maintenance, e, NULL, pconf);
    }
    else if ((rv = spawn(e, pconf)) != APR_SUCCESS) {
        return rv;
    }
    apr_os_file_get(&wfd, e->wr);
    *fd = wfd;
    return APR_SUCCESS;
}

void mt_pipe_retire_unused(server_rec *s)
{
    mt_pipe_table_t *t = table();
    int gen = ap_state_query(AP_SQ_CONFIG_GEN), i;

    for (i = 0; i < MT_PIPE_MAX; i++) {
        mt_pipe_entry_t *e = &t->e[i];
        if (!e->in_use || e->retired || e->used_gen == gen
            || e->owner != getpid()) {
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "memtrack: MemTrackLog %s "
                     "is no longer configured: its logger ends when the "
                     "last child writing to it has exited", e->spec);
        close_ends(e);
        e->retired = 1;
        if (logger_alive(e)) {
            /* Watched still, to be reaped and forgotten when it ends. */
            apr_proc_other_child_register(&e->proc, maintenance, e, NULL,
                                          mt_pipe_pconf);
        }
        else {
            entry_free(e);
        }
    }
}

/* Wait up to MT_PIPE_DRAIN for the loggers, then SIGTERM the rest. */
static void drain_loggers(mt_pipe_table_t *t)
{
    apr_time_t until = apr_time_now() + MT_PIPE_DRAIN;
    int i, left;

    do {
        left = 0;
        for (i = 0; i < MT_PIPE_MAX; i++) {
            left += t->e[i].in_use && logger_alive(&t->e[i]);
        }
        if (left) {
            apr_sleep(apr_time_from_msec(10));
        }
    } while (left && apr_time_now() < until);
    for (i = 0; i < MT_PIPE_MAX; i++) {
        if (t->e[i].in_use && logger_alive(&t->e[i])) {
            apr_proc_kill(&t->e[i].proc, SIGTERM);
        }
    }
}

/* A cleanup of each generation's pconf: when the parent exits (not on a
 * restart), the loggers read their pipes to the end before it goes. */
static apr_status_t pipes_at_exit(void *data)
{
    mt_pipe_table_t *t = ap_retained_data_get(MT_PIPE_RETAIN_KEY);
    int i;

    (void)data;
    mt_pipe_pconf = NULL;
    if (!t || ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_EXITING) {
        return APR_SUCCESS;        /* a restart: the pipes stay */
    }
    for (i = 0; i < MT_PIPE_MAX; i++) {
        if (t->e[i].in_use && t->e[i].owner == getpid()) {
            close_ends(&t->e[i]);
        }
    }
    drain_loggers(t);
    return APR_SUCCESS;
}

/* The children write, never read: their copies of the read ends go. */
static void child_init(apr_pool_t *pchild, server_rec *s)
{
    mt_pipe_table_t *t = ap_retained_data_get(MT_PIPE_RETAIN_KEY);
    int i;

    (void)pchild;
    (void)s;
    for (i = 0; t && i < MT_PIPE_MAX; i++) {
        if (t->e[i].in_use && t->e[i].rd) {
            apr_os_file_t rfd;
            apr_os_file_get(&rfd, t->e[i].rd);
            close(rfd);
        }
    }
}

void mt_pipe_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
