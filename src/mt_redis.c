/* mt_redis: the Redis sink's core. See include/mt_redis.h for the design.
 *
 * Threads: request threads only run mt_redis_push() (lock, link, unlock) and
 * mt_redis_stats() (atomic reads). The writer thread alone touches r->ctx.
 * Fields under "guarded by mu" are read and written with mu held; counters
 * are apr_atomic so that the status page and the tests can read them any
 * time.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <apr_thread_mutex.h>
#include <apr_thread_cond.h>

#include <hiredis.h>

#include "mt_redis.h"
#include "mt_redis_reply.h"
#include "mt_limits.h"
#include "mt_util.h"

/* MT_REDIS_LOG_EVERY, MT_REDIS_IDLE_WAIT: mt_limits.h. Replies are read
 * within the limits of mt_redis_reply.h. */

/* One queued record: key and value side by side in one allocation, so a
 * push costs one malloc and the writer one free. */
typedef struct mt_redis_item_t {
    struct mt_redis_item_t *next;
    apr_size_t key_len;
    apr_size_t val_len;
    int replace;                   /* SET without NX: the server's id */
    char data[];                   /* key_len bytes of key, then the value */
} mt_redis_item_t;

struct mt_redis_t {
    apr_pool_t        *pool;
    mt_redis_opts_t    o;
    /* o.ttl_sec and o.stream_maxlen as RESP bulk strings ("$5\r\n86400\r\n"),
     * made once: every record's commands carry them */
    char               ttl_resp[40];
    char               maxlen_resp[40];
    apr_size_t         ttl_resp_len;
    apr_size_t         maxlen_resp_len;
    apr_thread_t      *thread;           /* NULL until started */

    apr_thread_mutex_t *mu;
    apr_thread_cond_t  *cv;
    mt_redis_item_t   *head;             /* guarded by mu */
    mt_redis_item_t   *tail;             /* guarded by mu */
    int                idle;             /* guarded by mu: writer waits for items */
    int                lingering;        /* guarded by mu: writer waits for a
                                          * batch to fill */
    int                stopping;         /* guarded by mu */
    apr_time_t         stop_deadline;    /* guarded by mu */

    redisContext      *ctx;              /* writer thread only */
    mt_redis_budget_t  budget;           /* writer only: ctx's replies */
    int                down_logged;      /* writer only: outage reported */
    apr_time_t         last_log;         /* writer only: rate limit */
    apr_uint32_t       quiet;            /* writer only: messages held back */
    char               errbuf[256];      /* writer only: the last setup or
                                          * write error's words */
    char              *resp;             /* writer only: a batch's commands */
    apr_size_t         resp_size;        /* writer only: resp's bytes */

    volatile apr_uint32_t pending;       /* set with mu held */
    volatile apr_uint32_t queued;
    volatile apr_uint32_t written;
    volatile apr_uint32_t dropped_full;
    volatile apr_uint32_t dropped_bad;
    volatile apr_uint32_t dropped_lost;
    volatile apr_uint32_t dropped_dup;
    volatile apr_uint32_t errors;
    volatile apr_uint32_t connects;
    volatile apr_uint32_t batches;
    volatile apr_uint32_t connected;
};

/* ---------------------------------------------------------------------- */
/* Messages (writer thread)                                               */

static void say(mt_redis_t *r, int level, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say(mt_redis_t *r, int level, apr_status_t rv, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int n;

    if (!r->o.log)
        return;
    n = snprintf(msg, sizeof(msg), "redis %s: ", r->o.addr->display);
    if (n < 0 || (apr_size_t)n >= sizeof(msg))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (apr_size_t)n, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
    va_end(ap);
    r->o.log(r->o.log_baton, level, rv, msg);
}

/* A trouble message, at most one a minute; the next one says how many were
 * held back. */
static void complain(mt_redis_t *r, const char *what, const char *detail)
{
    apr_time_t now = mt_mono_now();

    if (r->last_log && now - r->last_log < MT_REDIS_LOG_EVERY) {
        r->quiet++;
        return;
    }
    if (r->quiet)
        say(r, MT_LOG_WARNING, APR_SUCCESS, "%s: %s (and %u more problems "
            "in the last minute); records are dropped and counted", what,
            detail ? detail : "no detail", r->quiet);
    else
        say(r, MT_LOG_WARNING, APR_SUCCESS, "%s: %s; records are dropped "
            "and counted until it works again", what,
            detail ? detail : "no detail");
    r->last_log = now;
    r->quiet = 0;
}

/* ---------------------------------------------------------------------- */
/* Connection (writer thread)                                             */

static struct timeval ms_tv(int ms)
{
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

static void conn_close(mt_redis_t *r)
{
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    apr_atomic_set32(&r->connected, 0);
}

/* Run one setup command (AUTH, SELECT); NULL when it answered OK, else
 * "<what>: <reason>" in r->errbuf (the writer must not allocate from the
 * child's pool: that pool belongs to another thread). */
static const char *conn_setup_cmd(mt_redis_t *r, const char *what, int argc,
                                  const char **argv)
{
    redisReply *rep = NULL;
    const char *why = NULL;

    if (redisAppendCommandArgv(r->ctx, argc, argv, NULL) != REDIS_OK
        || mt_redis_reply_get(r->ctx, &rep) != REDIS_OK)
        rep = NULL;
    if (!rep)
        why = r->ctx->errstr[0] ? r->ctx->errstr : "no reply";
    else if (rep->type == REDIS_REPLY_ERROR)
        why = rep->str;
    /* The reply text is Redis's own ("WRONGPASS ..."), never the password. */
    if (why)
        snprintf(r->errbuf, sizeof(r->errbuf), "%s: %s", what, why);
    mt_redis_reply_free(rep);
    return why ? r->errbuf : NULL;
}

static const char *conn_auth_select(mt_redis_t *r)
{
    const mt_redis_addr_t *a = r->o.addr;
    const char *err;
    char db[16];

    if (a->password) {
        const char *argv[3] = { "AUTH", a->username, a->password };
        if (!a->username)
            argv[1] = a->password;
        err = conn_setup_cmd(r, "AUTH refused", a->username ? 3 : 2, argv);
        if (err)
            return err;
    }
    if (a->db) {
        const char *argv[2] = { "SELECT", db };
        snprintf(db, sizeof(db), "%d", a->db);
        if ((err = conn_setup_cmd(r, "SELECT refused", 2, argv)) != NULL)
            return err;
    }
    return NULL;
}

/* A fresh context: bounded replies, the command timeout. */
static const char *conn_prepare(mt_redis_t *r)
{
    mt_redis_reply_limit(r->ctx, &r->budget);
    if (redisSetTimeout(r->ctx, ms_tv(r->o.command_timeout_ms)) != REDIS_OK)
        return "cannot set the command timeout";
    return NULL;
}

static apr_status_t conn_open(mt_redis_t *r)
{
    const mt_redis_addr_t *a = r->o.addr;
    struct timeval ctv = ms_tv(r->o.connect_timeout_ms);
    const char *err = NULL;

    r->ctx = a->is_unix ? redisConnectUnixWithTimeout(a->path, ctv)
                        : redisConnectWithTimeout(a->host, a->port, ctv);
    if (!r->ctx)
        err = "out of memory";
    else if (r->ctx->err)
        err = r->ctx->errstr;
    else if ((err = conn_prepare(r)) == NULL)
        err = conn_auth_select(r);
    if (err) {
        /* err may point into ctx: report before freeing. */
        apr_atomic_inc32(&r->errors);
        complain(r, "cannot connect", err);
        r->down_logged = 1;
        conn_close(r);
        return APR_ECONNREFUSED;
    }
    apr_atomic_inc32(&r->connects);
    apr_atomic_set32(&r->connected, 1);
    if (r->down_logged)
        say(r, MT_LOG_NOTICE, APR_SUCCESS, "connected again, writing records");
    r->down_logged = 0;
    r->last_log = 0;
    r->quiet = 0;
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------------- */
/* Writing (writer thread)                                                */

static void items_free(mt_redis_item_t *it)
{
    while (it) {
        mt_redis_item_t *next = it->next;
        free(it);
        it = next;
    }
}

static void count_lost(mt_redis_t *r, apr_uint32_t n, apr_status_t rv)
{
    if (!n)
        return;
    apr_atomic_add32(&r->dropped_lost, n);
    if (r->o.on_drop)
        r->o.on_drop(r->o.drop_baton, n, rv);
}

/* RESP, written by hand: hiredis's redisAppendCommandArgv formats every
 * argument with sdscatfmt and grows its buffer per command, which was most
 * of the writer's 14,000 instructions per record. A batch's commands are
 * known in advance, so they go into one buffer of the writer's own with
 * their constant parts as literals, and from there straight to the socket
 * (batch_send); hiredis reads the replies, one per command as before. */
static char *resp_bulk(char *p, const char *s, apr_size_t len)
{
    *p++ = '$';
    p += mt_dec_format(p, (apr_int64_t)len);
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, s, len);
    p += len;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* v as a bulk string at out (at least 2 * MT_DEC_BUF bytes): its length. */
static apr_size_t resp_number(char *out, apr_int64_t v)
{
    char num[MT_DEC_BUF];
    apr_size_t n = mt_dec_format(num, v);

    return (apr_size_t)(resp_bulk(out, num, n) - out);
}

#define RESP_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), \
                          (p) + sizeof(lit) - 1)

/* What one record's commands take at most: the bulk headers' digits and
 * the literals, beside its key and its record twice. */
#define RESP_OVERHEAD 320

static apr_size_t resp_need(const mt_redis_t *r, const mt_redis_item_t *it)
{
    return RESP_OVERHEAD + it->key_len + 2 * it->val_len
           + r->ttl_resp_len + r->maxlen_resp_len;
}

static char *resp_record(const mt_redis_t *r, char *p,
                         const mt_redis_item_t *it)
{
    /* NX for an id a client named (MemTrackTrustRequestId): it cannot
     * overwrite any record. An id the server made replaces what is there:
     * only a client that guessed it ahead could have put a record there. */
    p = it->replace ? RESP_LIT(p, "*5\r\n$3\r\nSET\r\n")
                    : RESP_LIT(p, "*6\r\n$3\r\nSET\r\n");
    p = resp_bulk(p, it->data, it->key_len);
    p = resp_bulk(p, it->data + it->key_len, it->val_len);
    p = RESP_LIT(p, "$2\r\nEX\r\n");
    memcpy(p, r->ttl_resp, r->ttl_resp_len);
    p += r->ttl_resp_len;
    if (!it->replace)
        p = RESP_LIT(p, "$2\r\nNX\r\n");
    if (r->o.stream_maxlen <= 0)
        return p;
    p = RESP_LIT(p, "*8\r\n$4\r\nXADD\r\n");
    p = resp_bulk(p, MT_REDIS_STREAM, sizeof(MT_REDIS_STREAM) - 1);
    p = RESP_LIT(p, "$6\r\nMAXLEN\r\n$1\r\n~\r\n");
    memcpy(p, r->maxlen_resp, r->maxlen_resp_len);
    p += r->maxlen_resp_len;
    p = RESP_LIT(p, "$1\r\n*\r\n$6\r\nrecord\r\n");
    return resp_bulk(p, it->data + it->key_len, it->val_len);
}

/* len bytes at buf to the connection's socket, all of them; NULL, or why
 * not. hiredis's output buffer is empty between batches (every reply of the
 * last one was read, which flushed it), so the commands go out in order
 * without being copied there first: redisAppendFormattedCommand copied each
 * batch into it, 2 bytes of copy per byte of record. The socket is blocking
 * with the command timeout (SO_SNDTIMEO, redisSetTimeout); MSG_NOSIGNAL: a
 * closed connection is an error here, not a SIGPIPE. */
static const char *batch_send(mt_redis_t *r, const char *buf, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = send(r->ctx->fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
                return "the write timed out";
            snprintf(r->errbuf, sizeof(r->errbuf), "write: %s",
                     strerror(errno));
            return r->errbuf;
        }
        buf += n;
        len -= (apr_size_t)n;
    }
    return NULL;
}

/* Every command of the batch, written out; NULL, or why not. */
static const char *batch_append(mt_redis_t *r, const mt_redis_item_t *batch)
{
    const mt_redis_item_t *it;
    apr_size_t need = 0;
    char *p;

    for (it = batch; it; it = it->next)
        need += resp_need(r, it);
    if (need > r->resp_size) {
        free(r->resp);
        r->resp_size = 0;
        if ((r->resp = malloc(need)) == NULL)
            return "out of memory for a batch";
        r->resp_size = need;
    }
    p = r->resp;
    for (it = batch; it; it = it->next)
        p = resp_record(r, p, it);
    return batch_send(r, r->resp, (apr_size_t)(p - r->resp));
}

/* Read one reply: 1 fine (SET's +OK, XADD's id), 0 error reply (counted)
 * or, for SET NX, nil (the id has a record already), -1 connection
 * broken. */
static int batch_reply(mt_redis_t *r, const char *cmd)
{
    redisReply *rep = NULL;
    int ok = 1;

    if (mt_redis_reply_get(r->ctx, &rep) != REDIS_OK || !rep)
        return -1;
    if (rep->type == REDIS_REPLY_ERROR) {
        apr_atomic_inc32(&r->errors);
        complain(r, cmd, rep->str);
        ok = 0;
    }
    else if (rep->type == REDIS_REPLY_NIL) {
        apr_atomic_inc32(&r->dropped_dup);
        complain(r, cmd, "the request id has a record already");
        ok = 0;
    }
    mt_redis_reply_free(rep);
    return ok;
}

/* Pipeline the batch: append every command, then read every reply. */
static void batch_write(mt_redis_t *r, mt_redis_item_t *batch, apr_uint32_t n)
{
    mt_redis_item_t *it;
    apr_uint32_t done = 0, ok = 0, lost = 0;
    const char *why = batch_append(r, batch);
    int rc = why ? -1 : 1;

    apr_atomic_inc32(&r->batches);
    for (it = batch; it && rc >= 0; it = it->next, done++) {
        rc = batch_reply(r, "SET refused");
        if (rc < 0)
            break;
        if (rc > 0)
            ok++;
        else
            lost++;
        if (r->o.stream_maxlen > 0 && batch_reply(r, "XADD refused") < 0)
            rc = -1;
    }
    apr_atomic_add32(&r->written, ok);
    if (ok && r->o.on_written)
        r->o.on_written(r->o.drop_baton, ok);
    if (rc < 0) {
        /* The connection broke: the rest of the batch may or may not have
         * reached Redis; it is counted lost, never sent twice. */
        apr_atomic_inc32(&r->errors);
        complain(r, "connection lost", why ? why : r->ctx->errstr);
        r->down_logged = 1;
        lost += n - done;
        conn_close(r);
    }
    count_lost(r, lost, APR_SUCCESS);
}

/* ---------------------------------------------------------------------- */
/* The queue and the writer thread                                        */

/* Take up to batch_max items of at most batch_bytes (one item at least);
 * waits while the queue is empty and the sink runs. NULL when there is
 * nothing (stopping, or an idle wake-up). */
static mt_redis_item_t *queue_take(mt_redis_t *r, apr_uint32_t *n)
{
    mt_redis_item_t *first, *last;
    apr_uint32_t k = 0;
    apr_size_t bytes = 0;

    apr_thread_mutex_lock(r->mu);
    if (!r->head && !r->stopping) {
        r->idle = 1;
        apr_thread_cond_timedwait(r->cv, r->mu, MT_REDIS_IDLE_WAIT);
        r->idle = 0;
    }
    /* A first record: give the batch up to linger_ms to fill, so that one
     * round trip carries the records of many requests. A push that fills
     * the batch ends the wait, and so does stopping. */
    if (r->head && r->o.linger_ms > 0) {
        apr_time_t until = mt_mono_now()
                           + apr_time_from_msec(r->o.linger_ms), now;

        r->lingering = 1;
        while (!r->stopping && apr_atomic_read32(&r->pending) < r->o.batch_max
               && (now = mt_mono_now()) < until)
            apr_thread_cond_timedwait(r->cv, r->mu, until - now);
        r->lingering = 0;
    }
    first = last = r->head;
    if (last)
        bytes = last->key_len + last->val_len;
    while (last && ++k < r->o.batch_max && last->next
           && bytes + last->next->key_len + last->next->val_len
              <= r->o.batch_bytes) {
        last = last->next;
        bytes += last->key_len + last->val_len;
    }
    if (first) {
        r->head = last->next;
        if (!r->head)
            r->tail = NULL;
        last->next = NULL;
        apr_atomic_set32(&r->pending, apr_atomic_read32(&r->pending) - k);
    }
    apr_thread_mutex_unlock(r->mu);
    *n = first ? k : 0;
    return first;
}

/* Drop everything still queued (at stop), counting it lost. */
static void queue_discard(mt_redis_t *r)
{
    mt_redis_item_t *all;
    apr_uint32_t n;

    apr_thread_mutex_lock(r->mu);
    all = r->head;
    r->head = r->tail = NULL;
    n = apr_atomic_read32(&r->pending);
    apr_atomic_set32(&r->pending, 0);
    apr_thread_mutex_unlock(r->mu);
    items_free(all);
    count_lost(r, n, APR_SUCCESS);
}

/* Sleep for d unless the sink is told to stop; 1 when stopping. */
static int writer_pause(mt_redis_t *r, apr_interval_time_t d)
{
    apr_time_t until = mt_mono_now() + d, now;
    int stopping;

    apr_thread_mutex_lock(r->mu);
    while (!r->stopping && (now = mt_mono_now()) < until)
        apr_thread_cond_timedwait(r->cv, r->mu, until - now);
    stopping = r->stopping;
    apr_thread_mutex_unlock(r->mu);
    return stopping;
}

/* 1 when the writer should end now: stopping, and nothing more can be
 * written in the time left. */
static int writer_done(mt_redis_t *r)
{
    int done;

    apr_thread_mutex_lock(r->mu);
    done = r->stopping
        && (!r->ctx || !r->head || mt_mono_now() >= r->stop_deadline);
    apr_thread_mutex_unlock(r->mu);
    return done;
}

static void *APR_THREAD_FUNC writer_main(apr_thread_t *t, void *data)
{
    mt_redis_t *r = data;
    apr_interval_time_t backoff = r->o.backoff_min;

    while (!writer_done(r)) {
        mt_redis_item_t *batch;
        apr_uint32_t n;

        if (!r->ctx) {
            if (conn_open(r) != APR_SUCCESS) {
                if (writer_pause(r, backoff))
                    break;
                backoff = backoff * 2 > r->o.backoff_max ? r->o.backoff_max
                                                         : backoff * 2;
                continue;
            }
            backoff = r->o.backoff_min;
        }
        if ((batch = queue_take(r, &n)) != NULL) {
            batch_write(r, batch, n);
            items_free(batch);
        }
    }
    queue_discard(r);
    conn_close(r);
    free(r->resp);
    r->resp = NULL;
    r->resp_size = 0;
    /* A plain return, not apr_thread_exit(): pthread_exit's forced unwind
     * trips AddressSanitizer, and apr_thread_join ignores the value here. */
    (void)t;
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Life cycle and the request-thread side                                 */

void mt_redis_opts_default(mt_redis_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->ttl_sec = MT_REDIS_DEFAULT_TTL_SEC;
    o->stream_maxlen = MT_REDIS_DEFAULT_STREAM_MAXLEN;
    o->queue_max = MT_REDIS_DEFAULT_QUEUE_MAX;
    o->batch_max = MT_REDIS_DEFAULT_BATCH_MAX;
    o->batch_bytes = MT_REDIS_DEFAULT_BATCH_BYTES;
    o->connect_timeout_ms = MT_REDIS_DEFAULT_CONNECT_MS;
    o->command_timeout_ms = MT_REDIS_DEFAULT_COMMAND_MS;
    o->linger_ms = MT_REDIS_DEFAULT_LINGER_MS;
    o->backoff_min = apr_time_from_msec(MT_REDIS_DEFAULT_BACKOFF_MIN_MS);
    o->backoff_max = apr_time_from_msec(MT_REDIS_DEFAULT_BACKOFF_MAX_MS);
}

static apr_status_t redis_cleanup(void *data)
{
    mt_redis_stop(data);
    return APR_SUCCESS;
}

apr_status_t mt_redis_create(mt_redis_t **pr, const mt_redis_opts_t *o,
                             apr_pool_t *p)
{
    mt_redis_t *r;
    apr_status_t rv;

    *pr = NULL;
    if (!o || !o->addr || o->ttl_sec < 1 || o->queue_max < 1
        || o->batch_max < 1 || o->batch_bytes < 1 || o->linger_ms < 0
        || o->connect_timeout_ms < 1
        || o->command_timeout_ms < 1 || o->stream_maxlen < 0
        || o->backoff_min < 1 || o->backoff_max < o->backoff_min)
        return APR_EINVAL;
    r = apr_pcalloc(p, sizeof(*r));
    r->pool = p;
    r->o = *o;
    r->ttl_resp_len = resp_number(r->ttl_resp, o->ttl_sec);
    r->maxlen_resp_len = resp_number(r->maxlen_resp, o->stream_maxlen);
    if ((rv = apr_thread_mutex_create(&r->mu, APR_THREAD_MUTEX_DEFAULT, p))
        != APR_SUCCESS
        || (rv = apr_thread_cond_create(&r->cv, p)) != APR_SUCCESS)
        return rv;
    /* A pre-cleanup, so that the thread is joined before the pool's
     * subpools (the thread's own among them) and the mutex go away. */
    apr_pool_pre_cleanup_register(p, r, redis_cleanup);
    *pr = r;
    return APR_SUCCESS;
}

apr_status_t mt_redis_start(mt_redis_t *r)
{
    if (r->thread)
        return APR_SUCCESS;
    return mt_thread_create(&r->thread, writer_main, r, r->pool);
}

void mt_redis_stop(mt_redis_t *r)
{
    apr_status_t trv;

    if (!r)
        return;
    if (!r->thread) {
        queue_discard(r);
        return;
    }
    apr_thread_mutex_lock(r->mu);
    r->stopping = 1;
    r->stop_deadline = mt_mono_now()
        + apr_time_from_msec(2 * r->o.command_timeout_ms);
    apr_thread_cond_broadcast(r->cv);
    apr_thread_mutex_unlock(r->mu);
    apr_thread_join(&trv, r->thread);
    r->thread = NULL;
}

apr_status_t mt_redis_push(mt_redis_t *r, const char *request_id,
                           int replace, const char *line, apr_size_t len)
{
    mt_redis_item_t *it;
    apr_size_t key_len;
    int full;

    if (line && len && line[len - 1] == '\n')
        len--;
    if (!line || !len || len > MT_REDIS_LINE_MAX
        || !mt_reqid_is_safe(request_id, MT_REDIS_ID_MAX)) {
        apr_atomic_inc32(&r->dropped_bad);
        return APR_EINVAL;
    }
    /* Cheap early refusal, before any allocation, when clearly full. */
    if (apr_atomic_read32(&r->pending) >= r->o.queue_max) {
        apr_atomic_inc32(&r->dropped_full);
        return APR_EAGAIN;
    }
    key_len = sizeof(MT_REDIS_KEY_PREFIX) - 1 + strlen(request_id);
    it = malloc(sizeof(*it) + key_len + len);
    if (!it) {
        apr_atomic_inc32(&r->dropped_full);
        return APR_ENOMEM;
    }
    it->next = NULL;
    it->key_len = key_len;
    it->val_len = len;
    it->replace = replace != 0;
    memcpy(it->data, MT_REDIS_KEY_PREFIX, sizeof(MT_REDIS_KEY_PREFIX) - 1);
    memcpy(it->data + sizeof(MT_REDIS_KEY_PREFIX) - 1, request_id,
           key_len - (sizeof(MT_REDIS_KEY_PREFIX) - 1));
    memcpy(it->data + key_len, line, len);

    apr_thread_mutex_lock(r->mu);
    full = r->stopping || apr_atomic_read32(&r->pending) >= r->o.queue_max;
    if (!full) {
        if (r->tail)
            r->tail->next = it;
        else
            r->head = it;
        r->tail = it;
        apr_atomic_inc32(&r->pending);
        if (r->idle || (r->lingering && apr_atomic_read32(&r->pending)
                                        >= r->o.batch_max))
            apr_thread_cond_signal(r->cv);
    }
    apr_thread_mutex_unlock(r->mu);
    if (full) {
        free(it);
        apr_atomic_inc32(&r->dropped_full);
        return APR_EAGAIN;
    }
    apr_atomic_inc32(&r->queued);
    /* it is on the queue now; the writer frees it. */
    // cppcheck-suppress memleak
    return APR_SUCCESS;
}

void mt_redis_stats(const mt_redis_t *r, mt_redis_stats_t *st)
{
    mt_redis_t *m = (mt_redis_t *)r;   /* apr_atomic_read32 is not const */

    memset(st, 0, sizeof(*st));
    if (!r)
        return;
    st->queued = apr_atomic_read32(&m->queued);
    st->written = apr_atomic_read32(&m->written);
    st->dropped_full = apr_atomic_read32(&m->dropped_full);
    st->dropped_bad = apr_atomic_read32(&m->dropped_bad);
    st->dropped_lost = apr_atomic_read32(&m->dropped_lost);
    st->dropped_dup = apr_atomic_read32(&m->dropped_dup);
    st->errors = apr_atomic_read32(&m->errors);
    st->connects = apr_atomic_read32(&m->connects);
    st->batches = apr_atomic_read32(&m->batches);
    st->pending = apr_atomic_read32(&m->pending);
    st->connected = (int)apr_atomic_read32(&m->connected);
}

const char *mt_redis_display(const mt_redis_t *r)
{
    return r ? r->o.addr->display : "(none)";
}
