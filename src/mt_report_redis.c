/* mt_report_redis: memtrack:stream as an input of memtrack-report.
 * httpd-free; see include/mt_report_input.h. hiredis for the protocol, the
 * address parser of mt_redis.c for the URL (so both read it alike).
 *
 * The stream is read with XRANGE in batches of MT_REPORT_REDIS_BATCH
 * entries, from --since (or the start) to the last entry there was when
 * the report began (or --until plus the longest a record waits in a
 * child's queue): a stream that the servers keep writing to does not keep
 * the report going. One batch is in memory at a time. Each entry's
 * `record` field is one line.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>
#include <apr_strings.h>

#include "mt_limits.h"   /* MT_REPORT_REDIS_BATCH, MT_REPORT_REDIS_LAG */
#include "mt_redis.h"
#include "mt_report_input.h"

typedef struct rs_t {
    redisContext *c;
    redisReply   *batch;
    size_t        next;              /* entry of batch to hand out */
    char          start[48];         /* XRANGE's next start */
    char          end[48];
    int           done;
    apr_pool_t   *pool;
} rs_t;

static void rs_fail(mt_report_input_t *in, rs_t *rs, const char *what)
{
    if (!in->problem) in->problem = apr_pstrdup(rs->pool, what);
    rs->done = 1;
}

static redisReply *command(mt_report_input_t *in, rs_t *rs, int argc,
                           const char **argv)
{
    redisReply *rep = redisCommandArgv(rs->c, argc, argv, NULL);

    if (!rep) {
        rs_fail(in, rs, apr_psprintf(rs->pool, "redis: %s: %s", argv[0],
                                     rs->c->errstr));
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        rs_fail(in, rs, apr_psprintf(rs->pool, "redis: %s: %s", argv[0],
                                     rep->str));
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

/* The id after "ms-seq", for the next XRANGE. */
static void id_after(char *out, apr_size_t n, const char *id)
{
    unsigned long long ms = 0, seq = 0;

    if (sscanf(id, "%llu-%llu", &ms, &seq) == 2) {
        /* APR's formatter has no %llu (it writes "%lu" itself): its own
         * 64-bit format */
        apr_snprintf(out, n, "%" APR_UINT64_T_FMT "-%" APR_UINT64_T_FMT,
                     (apr_uint64_t)ms, (apr_uint64_t)seq + 1);
    }
}

static void fetch(mt_report_input_t *in, rs_t *rs)
{
    char count[16];
    const char *argv[6] = { "XRANGE", MT_REDIS_STREAM, rs->start, rs->end,
                            "COUNT", count };
    redisReply *rep, *last;

    if (rs->batch) freeReplyObject(rs->batch);
    rs->batch = NULL;
    rs->next = 0;
    apr_snprintf(count, sizeof(count), "%d", MT_REPORT_REDIS_BATCH);
    if (rs->done || (rep = command(in, rs, 6, argv)) == NULL) return;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
        freeReplyObject(rep);
        rs->done = 1;
        return;
    }
    rs->batch = rep;
    last = rep->element[rep->elements - 1];
    if (last->type == REDIS_REPLY_ARRAY && last->elements >= 1
        && last->element[0]->type == REDIS_REPLY_STRING) {
        id_after(rs->start, sizeof(rs->start), last->element[0]->str);
    }
    if (rep->elements < MT_REPORT_REDIS_BATCH) rs->done = 1;
}

/* The record field of one entry, or NULL. */
static const redisReply *record_of(const redisReply *e)
{
    size_t i;

    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2
        || e->element[1]->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }
    for (i = 0; i + 1 < e->element[1]->elements; i += 2) {
        const redisReply *k = e->element[1]->element[i];
        if (k->type == REDIS_REPLY_STRING && !strcmp(k->str, "record")) {
            return e->element[1]->element[i + 1];
        }
    }
    return NULL;
}

static apr_status_t rs_next(mt_report_input_t *in, const char **line,
                            apr_size_t *len)
{
    rs_t *rs = in->ctx;
    const redisReply *v;

    for (;;) {
        if (!rs->batch || rs->next >= rs->batch->elements) {
            if (rs->done && (!rs->batch || rs->next >= rs->batch->elements)) {
                return APR_EOF;
            }
            fetch(in, rs);
            if (!rs->batch) return APR_EOF;
        }
        v = record_of(rs->batch->element[rs->next++]);
        in->lines++;
        *line = v && v->type == REDIS_REPLY_STRING ? v->str : "";
        *len = v && v->type == REDIS_REPLY_STRING ? v->len : 0;
        in->bytes += *len;
        return *len > MT_REPORT_LINE_MAX ? APR_ENOSPC : APR_SUCCESS;
    }
}

static void rs_close(mt_report_input_t *in)
{
    rs_t *rs = in->ctx;

    if (!rs) return;
    if (rs->batch) freeReplyObject(rs->batch);
    if (rs->c) redisFree(rs->c);
    rs->batch = NULL;
    rs->c = NULL;
    in->ctx = NULL;
}

static const mt_report_input_ops_t redis_ops = { rs_next, rs_close };

/* Where the range ends: --until (plus the lag), or the stream's last entry
 * now. */
static void range_end(mt_report_input_t *in, rs_t *rs, apr_time_t until)
{
    const char *xr[5] = { "XREVRANGE", MT_REDIS_STREAM, "+", "-", "COUNT" };
    const char *argv[6];
    redisReply *rep;

    memcpy(argv, xr, sizeof(xr));
    argv[5] = "1";
    apr_cpystrn(rs->end, "+", sizeof(rs->end));
    if (!rs->done && (rep = command(in, rs, 6, argv)) != NULL) {
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1
            && rep->element[0]->type == REDIS_REPLY_ARRAY
            && rep->element[0]->elements >= 1) {
            apr_cpystrn(rs->end, rep->element[0]->element[0]->str,
                        sizeof(rs->end));
        }
        freeReplyObject(rep);
    }
    if (until) {
        unsigned long long ms = 0, cap = (unsigned long long)
                                         ((until + MT_REPORT_REDIS_LAG) / 1000);
        if (strcmp(rs->end, "+") == 0 || (sscanf(rs->end, "%llu", &ms) == 1
                                          && ms > cap)) {
            apr_snprintf(rs->end, sizeof(rs->end), "%" APR_UINT64_T_FMT,
                         (apr_uint64_t)cap);
        }
    }
}

/* AUTH and SELECT as the address says; the problem, or NULL. */
static const char *setup(redisContext *c, const mt_redis_addr_t *a,
                         apr_pool_t *p)
{
    const char *argv[3];
    redisReply *rep;
    char db[16];
    int i;

    for (i = 0; i < 2; i++) {
        int argc = 0;
        if (i == 0 && a->password) {
            argv[argc++] = "AUTH";
            if (a->username) argv[argc++] = a->username;
            argv[argc++] = a->password;
        }
        else if (i == 1 && a->db) {
            apr_snprintf(db, sizeof(db), "%d", a->db);
            argv[argc++] = "SELECT";
            argv[argc++] = db;
        }
        if (!argc) continue;
        rep = redisCommandArgv(c, argc, argv, NULL);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            const char *why = apr_psprintf(p, "redis: %s: %s", argv[0],
                                           rep ? rep->str : c->errstr);
            if (rep) freeReplyObject(rep);
            return why;
        }
        freeReplyObject(rep);
    }
    return NULL;
}

redisContext *mt_report_redis_connect(const char *url, const char **name,
                                      const char **problem, apr_pool_t *p)
{
    mt_redis_addr_t *a = NULL;
    struct timeval ctv = { 3, 0 }, cmd = { 30, 0 };
    const char *err = NULL;
    redisContext *c;

    if (mt_redis_addr_parse(&a, &err, url, p) != APR_SUCCESS) {
        *name = mt_redis_redact(url, p);
        *problem = apr_psprintf(p, "not a Redis address: %s", err);
        return NULL;
    }
    *name = apr_psprintf(p, "redis %s", a->display);
    c = a->is_unix ? redisConnectUnixWithTimeout(a->path, ctv)
                   : redisConnectWithTimeout(a->host, a->port, ctv);
    if (!c || c->err) {
        *problem = apr_psprintf(p, "cannot connect: %s",
                                c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, cmd);
    if ((*problem = setup(c, a, p)) != NULL) {
        redisFree(c);
        return NULL;
    }
    return c;
}

mt_report_input_t *mt_report_input_redis(const char *url, apr_time_t since,
                                         apr_time_t until, apr_pool_t *p)
{
    mt_report_input_t *in = apr_pcalloc(p, sizeof(*in));
    rs_t *rs = apr_pcalloc(p, sizeof(*rs));
    const char *problem = NULL;

    in->ops = &redis_ops;
    in->ctx = rs;
    rs->pool = p;
    rs->c = mt_report_redis_connect(url, &in->name, &problem, p);
    if (!rs->c) {
        in->failed = 1;
        in->problem = problem;
        return in;
    }
    apr_snprintf(rs->start, sizeof(rs->start), "%" APR_INT64_T_FMT "-0",
                 since > 0 ? since / 1000 : 0);
    range_end(in, rs, until);
    return in;
}
