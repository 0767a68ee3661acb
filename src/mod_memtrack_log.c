/* mod_memtrack_log: the JSON Lines sink.
 *
 * Opened in the parent's open_logs hook, like CustomLog, so every child
 * inherits the descriptor. "|program" is a reliable piped logger restarted
 * when it dies, whose pipe also outlives graceful restarts
 * (mod_memtrack_pipe.c); records written while it restarts wait in the
 * pipe.
 *
 * A request thread only copies its record into the child's writer
 * (mt_linewriter.h, started in child_init); the writer's thread combines
 * records into writes of at most PIPE_BUF bytes of whole lines, which
 * POSIX makes atomic on a pipe: lines from many children never interleave.
 * It writes within 50 ms, and what waits when the child exits or restarts
 * gracefully (the subpool's cleanup). A crash loses what waits in it. The
 * pipe is non-blocking: when the logger stops reading and the pipe is
 * full, write() fails with EAGAIN and the lines of that write are dropped
 * and counted, as a record written by the request thread itself was. When
 * the writer falls behind (a slow disk, a writer thread without CPU) and
 * its spool is full, the request thread writes its record itself, as
 * before. Writes go straight to the descriptor, not through
 * apr_file_write(), which would wait on a full pipe. A child whose writer
 * cannot start writes each record on the request thread, as before.
 *
 * On a file a write can be short (a full disk): mt_linefile takes the part
 * of the line back at once, so the file stays whole lines, and the record
 * counts as dropped. The file is opened for reading too, for that.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_portable.h"

#include "mod_memtrack_config.h"
#include "mod_memtrack_log.h"
#include "mod_memtrack_pipe.h"
#include "mod_memtrack_sink.h"
#include "mt_linefile.h"
#include "mt_linewriter.h"

APLOG_USE_MODULE(memtrack);

typedef struct {
    int              fd;
    mt_linefile_t   *lf;        /* writes through fd, whole lines only;
                                 * NULL: the log could not be opened */
    apr_status_t     open_rv;   /* why not */
    mt_sink_t       *sink;      /* the sink this is the context of */
    server_rec      *s;         /* for the writer's counts (main server) */
    mt_linewriter_t *writer;    /* the child's writer thread; NULL in the
                                 * parent, or when it could not start */
} mt_log_sink_t;

/* This generation's log sinks (in pconf), for child_init. */
static apr_array_header_t *mt_log_sinks;

/* A log that could not be opened takes nothing: every record is a drop,
 * counted and told like any other, so the loss never goes unseen. */
static apr_status_t log_emit(void *ctx, const char *request_id,
                             int id_server_made, const char *line,
                             apr_size_t len)
{
    mt_log_sink_t *ls = ctx;
    apr_status_t rv;

    (void)request_id;
    (void)id_server_made;
    if (!ls->lf) {
        return ls->open_rv;
    }
    if (ls->writer) {
        rv = mt_linewriter_put(ls->writer, line, len);
        if (!APR_STATUS_IS_EAGAIN(rv)) {
            return rv;
        }
        /* The writer is behind (256 KiB wait): this record goes the way
         * every record went before the writer, so batching loses none that
         * the old way kept. Counted here: the sink is a queued one now. */
        if ((rv = mt_linefile_write(ls->lf, line, len, NULL)) == APR_SUCCESS) {
            mt_sink_written(ls->sink, ls->s, 1);
        }
        return rv;
    }
    return mt_linefile_write(ls->lf, line, len, NULL);
}

/* For appending, and for reading when allowed (so that a short write can
 * be taken back, mt_linefile.h). */
static apr_status_t open_file(int *fd, const char *path, apr_pool_t *p)
{
    apr_int32_t flags = APR_FOPEN_WRITE | APR_FOPEN_APPEND | APR_FOPEN_CREATE
                        | APR_FOPEN_LARGEFILE;
    apr_fileperms_t perms = APR_FPROT_UREAD | APR_FPROT_UWRITE
                            | APR_FPROT_GREAD | APR_FPROT_WREAD;
    apr_file_t *f;
    apr_os_file_t osfd;
    apr_status_t rv;

    rv = apr_file_open(&f, path, flags | APR_FOPEN_READ, perms, p);
    if (rv != APR_SUCCESS) {
        rv = apr_file_open(&f, path, flags, perms, p);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_os_file_get(&osfd, f);
    *fd = osfd;
    return APR_SUCCESS;
}

static mt_sink_t *sink_open(const char *spec, server_rec *s, apr_pool_t *p)
{
    mt_log_sink_t *ls = apr_pcalloc(p, sizeof(*ls));
    apr_status_t rv;

    rv = spec[0] == '|' ? mt_pipe_open(&ls->fd, spec, s, p)
                        : open_file(&ls->fd, spec, p);
    if (rv == APR_SUCCESS) {
        rv = mt_linefile_create(&ls->lf, ls->fd, p);
    }
    if (rv != APR_SUCCESS) {
        /* Only opening can tell (configtest checked what it could): loud
         * at every start, and every record is then a counted drop. */
        ls->lf = NULL;
        ls->open_rv = rv;
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "memtrack: MemTrackLog "
                     "%s: cannot open: no record of this server is logged "
                     "there; every one is dropped and told as dropped", spec);
    }
    ls->sink = mt_sink_create(p, apr_pstrcat(p, "MemTrackLog ", spec, NULL),
                              log_emit, ls, MT_SINK_DIRECT);
    APR_ARRAY_PUSH(mt_log_sinks, mt_log_sink_t *) = ls;
    return ls->sink;
}

/* One sink per distinct MemTrackLog value, shared by the vhosts naming it. */
static int open_logs(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                     server_rec *s)
{
    apr_hash_t *opened = apr_hash_make(ptemp);
    server_rec *main_s = s;

    (void)plog;
    mt_log_sinks = apr_array_make(pconf, 2, sizeof(mt_log_sink_t *));
    for (; s; s = s->next) {
        mt_srv_conf_t *sc = mt_config_srv(s);
        mt_sink_t *sink;

        const char *spec = mt_config_log_spec(sc);

        if (!spec) {
            continue;
        }
        sink = apr_hash_get(opened, spec, APR_HASH_KEY_STRING);
        if (!sink) {
            sink = sink_open(spec, s, pconf);
            apr_hash_set(opened, spec, APR_HASH_KEY_STRING, sink);
        }
        mt_config_set_log_sink(sc, sink);
    }
    mt_pipe_retire_unused(main_s);
    return OK;
}

static void writer_written(void *baton, apr_uint32_t n)
{
    mt_log_sink_t *ls = baton;

    mt_sink_written(ls->sink, ls->s, n);
}

static void writer_lost(void *baton, apr_uint32_t n, apr_status_t rv)
{
    mt_log_sink_t *ls = baton;

    mt_sink_lost(ls->sink, ls->s, n, rv);
}

/* The sink's writer thread, in a subpool of the child pool: the subpool
 * goes (the writer writes what waits and stops) before the child pool's
 * own cleanups, among them the drop report at exit, which so counts what
 * the writer lost last. */
static void writer_start(mt_log_sink_t *ls, server_rec *s, apr_pool_t *pchild)
{
    mt_linewriter_opts_t o;
    apr_pool_t *p;
    apr_status_t rv;

    apr_pool_create(&p, pchild);
    apr_pool_tag(p, "memtrack_log");
    mt_linewriter_opts_default(&o);
    o.fd = ls->fd;
    o.lf = ls->lf;
    o.on_written = writer_written;
    o.on_lost = writer_lost;
    o.baton = ls;
    ls->s = s;
    if ((rv = mt_linewriter_create(&ls->writer, &o, p)) != APR_SUCCESS
        || (rv = mt_linewriter_start(ls->writer)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "memtrack: %s: no "
                     "writer thread; records are written by the request "
                     "threads", mt_sink_name(ls->sink));
        ls->writer = NULL;
        apr_pool_destroy(p);
        return;
    }
    mt_sink_set_queued(ls->sink);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "memtrack: %s: writer thread "
                 "started (records written in batches)",
                 mt_sink_name(ls->sink));
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    int i;

    if (!mt_log_sinks || !mt_config_any_enabled()) {
        return;
    }
    for (i = 0; i < mt_log_sinks->nelts; i++) {
        mt_log_sink_t *ls = APR_ARRAY_IDX(mt_log_sinks, i, mt_log_sink_t *);
        if (ls->lf) {
            writer_start(ls, s, pchild);
        }
    }
}

void mt_log_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_open_logs(open_logs, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before the sinks' child_init (LAST), which lists them. */
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
