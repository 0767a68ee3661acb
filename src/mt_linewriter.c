/* mt_linewriter: the log sink's writer thread (see include/mt_linewriter.h).
 *
 * The thread alone touches buf; the spool is shared with request threads.
 */
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "mt_limits.h"
#include "mt_linewriter.h"
#include "mt_spool.h"
#include "mt_util.h"


struct mt_linewriter_t {
    apr_pool_t           *pool;
    mt_linewriter_opts_t  o;
    mt_spool_t           *spool;
    apr_size_t            batch;      /* bytes per write(): PIPE_BUF, or
                                       * more on a file */
    char                 *buf;        /* writer only: one write's lines */
    apr_thread_t         *thread;     /* NULL until started */
    int                   full;       /* writer only: the last write found
                                       * the pipe full */
};

void mt_linewriter_opts_default(mt_linewriter_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
    o->max_bytes = MT_LINEWRITER_MAX_BYTES;
    o->wake_bytes = MT_LINEWRITER_WAKE_BYTES;
    o->delay = MT_LINEWRITER_DELAY;
}

static void told_written(mt_linewriter_t *w, apr_uint32_t n)
{
    if (n && w->o.on_written) {
        w->o.on_written(w->o.baton, n);
    }
}

static void told_lost(mt_linewriter_t *w, apr_uint32_t n, apr_status_t rv)
{
    if (n && w->o.on_lost) {
        w->o.on_lost(w->o.baton, n, rv);
    }
}

/* Has the pipe room for a write of PIPE_BUF bytes? (Linux tells POLLOUT
 * when a whole page of the pipe is free.) */
static int writable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };

    return poll(&pfd, 1, 0) > 0;
}

static apr_uint32_t lines_in(const char *buf, apr_size_t len)
{
    apr_uint32_t n = 0;
    const char *nl;

    while (len && (nl = memchr(buf, '\n', len)) != NULL) {
        n++;
        len -= (apr_size_t)(nl + 1 - buf);
        buf = nl + 1;
    }
    return n;
}

/* Write n whole lines in one write(), and tell what became of them. A
 * full pipe (EAGAIN: a write of at most PIPE_BUF bytes goes whole or not
 * at all) loses them, as a record written on the request thread was lost
 * before: the writer never waits for the logger, so records never pile up
 * behind a stopped one. Once full, the pipe is written again only when it
 * has room for a whole write: a short batch squeezed into the last bytes
 * of a full pipe between two refused ones would make a stopped logger
 * look like a sink writing again (mod_memtrack_sink.h). */
static void flush_lines(mt_linewriter_t *w, const char *buf, apr_size_t len,
                        apr_uint32_t n)
{
    apr_size_t kept = 0;
    apr_status_t rv;
    apr_uint32_t ok;

    if (w->full && !writable(w->o.fd)) {
        rv = APR_EAGAIN;
    }
    else {
        rv = mt_linefile_write(w->o.lf, buf, len, &kept);
        w->full = APR_STATUS_IS_EAGAIN(rv);
    }
    ok = rv == APR_SUCCESS ? n : lines_in(buf, kept);
    told_written(w, ok);
    told_lost(w, n - ok, rv);
    mt_spool_done(w->spool, n);
}

/* A batch in writes of up to w->batch bytes of whole lines. */
static void write_batch(mt_linewriter_t *w, mt_spool_batch_t *b)
{
    mt_spool_rec_t rec;
    apr_size_t used = 0;
    apr_uint32_t n = 0;

    while (mt_spool_next(b, &rec)) {
        if (used && used + rec.len > w->batch) {
            flush_lines(w, w->buf, used, n);
            used = n = 0;
        }
        if (rec.len > w->batch) {     /* alone, as it is */
            flush_lines(w, rec.data, rec.len, 1);
            continue;
        }
        memcpy(w->buf + used, rec.data, rec.len);
        used += rec.len;
        n++;
    }
    if (n) {
        flush_lines(w, w->buf, used, n);
    }
}

static void *APR_THREAD_FUNC writer_main(apr_thread_t *t, void *data)
{
    mt_linewriter_t *w = data;
    mt_spool_batch_t *b;

    for (;;) {
        if ((b = mt_spool_take(w->spool, MT_LINEWRITER_IDLE_WAIT)) != NULL) {
            write_batch(w, b);
            mt_spool_release(w->spool, b);
        }
        else if (mt_spool_closed(w->spool)) {
            break;
        }
    }
    (void)t;
    return NULL;     /* not apr_thread_exit(): see mt_redis.c */
}

static apr_status_t writer_cleanup(void *data)
{
    mt_linewriter_stop(data);
    return APR_SUCCESS;
}

apr_status_t mt_linewriter_create(mt_linewriter_t **pw,
                                  const mt_linewriter_opts_t *o,
                                  apr_pool_t *p)
{
    mt_spool_opts_t so;
    mt_linewriter_t *w;
    struct stat st;
    apr_status_t rv;

    *pw = NULL;
    if (!o || !o->lf || o->fd < 0) {
        return APR_EINVAL;
    }
    w = apr_pcalloc(p, sizeof(*w));
    w->pool = p;
    mt_linewriter_opts_default(&w->o);     /* then what o says */
    w->o.fd = o->fd;
    w->o.lf = o->lf;
    w->o.on_written = o->on_written;
    w->o.on_lost = o->on_lost;
    w->o.baton = o->baton;
    if (o->max_bytes) w->o.max_bytes = o->max_bytes;
    if (o->wake_bytes) w->o.wake_bytes = o->wake_bytes;
    if (o->delay >= 0) w->o.delay = o->delay;
    w->batch = fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode)
               ? MT_LINEWRITER_FILE_BATCH : PIPE_BUF;
    w->buf = apr_palloc(p, w->batch);
    so.max_records = UINT32_MAX / 2;       /* bytes are the bound */
    so.max_bytes = w->o.max_bytes;
    so.wake_records = UINT32_MAX / 2;
    so.wake_bytes = w->o.wake_bytes;
    so.delay = w->o.delay;
    if ((rv = mt_spool_create(&w->spool, &so, p)) != APR_SUCCESS) {
        return rv;
    }
    /* A pre-cleanup: the thread is joined before the spool goes. */
    apr_pool_pre_cleanup_register(p, w, writer_cleanup);
    *pw = w;
    return APR_SUCCESS;
}

apr_status_t mt_linewriter_start(mt_linewriter_t *w)
{
    if (w->thread) {
        return APR_SUCCESS;
    }
    return mt_thread_create(&w->thread, writer_main, w, w->pool);
}

apr_status_t mt_linewriter_put(mt_linewriter_t *w, const char *line,
                               apr_size_t len)
{
    if (!len || line[len - 1] != '\n') {
        return APR_EINVAL;
    }
    return mt_spool_put(w->spool, NULL, 0, line, len);
}

void mt_linewriter_stop(mt_linewriter_t *w)
{
    apr_status_t trv;

    if (!w) {
        return;
    }
    if (w->thread) {
        mt_spool_close(w->spool);
        apr_thread_join(&trv, w->thread);
        w->thread = NULL;
    }
    mt_spool_close(w->spool);
    told_lost(w, mt_spool_discard(w->spool), APR_SUCCESS);
}

apr_uint32_t mt_linewriter_pending(mt_linewriter_t *w)
{
    return mt_spool_pending(w->spool);
}
