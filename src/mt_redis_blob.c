/* mt_redis_blob: a file into one Redis key (see include/mt_redis_blob.h).
 * One context, made and freed here, used by one thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <apr_strings.h>
#include <hiredis.h>

#include "mt_redis_blob.h"
#include "mt_redis_reply.h"

typedef struct {
    redisContext *ctx;
    mt_redis_budget_t budget;          /* ctx's replies */
    const mt_redis_addr_t *addr;
    char *err;
    apr_size_t errlen;
} mt_blob_t;

static struct timeval ms_tv(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

static apr_status_t fail(mt_blob_t *b, const char *what, const char *why)
{
    apr_snprintf(b->err, b->errlen, "Redis at %s: %s: %s", b->addr->display,
                 what, why && *why ? why : "no reply");
    return APR_EGENERAL;
}

/* One command; APR_SUCCESS when it did not answer an error. Its reply is
 * read within the limits of mt_redis_reply.h: the answers are statuses
 * and integers. */
static apr_status_t cmd(mt_blob_t *b, const char *what, int argc,
                        const char **argv, const size_t *lens)
{
    redisReply *rep = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (redisAppendCommandArgv(b->ctx, argc, argv, lens) != REDIS_OK
        || mt_redis_reply_get(b->ctx, &rep) != REDIS_OK) {
        rep = NULL;
    }
    if (!rep) {
        rv = fail(b, what, b->ctx->errstr);
    }
    else if (rep->type == REDIS_REPLY_ERROR) {
        rv = fail(b, what, rep->str);      /* Redis's words, not the password */
    }
    mt_redis_reply_free(rep);
    return rv;
}

static apr_status_t connect_to(mt_blob_t *b, int connect_ms, int command_ms)
{
    const mt_redis_addr_t *a = b->addr;
    char db[16];

    b->ctx = a->is_unix ? redisConnectUnixWithTimeout(a->path, ms_tv(connect_ms))
                        : redisConnectWithTimeout(a->host, a->port,
                                                  ms_tv(connect_ms));
    if (!b->ctx || b->ctx->err) {
        return fail(b, "connect", b->ctx ? b->ctx->errstr : "out of memory");
    }
    if (redisSetTimeout(b->ctx, ms_tv(command_ms)) != REDIS_OK) {
        return fail(b, "connect", "cannot set the command timeout");
    }
    mt_redis_reply_limit(b->ctx, &b->budget);
    if (a->password) {
        const char *argv[3] = { "AUTH", a->username ? a->username : a->password,
                                a->password };
        if (cmd(b, "AUTH refused", a->username ? 3 : 2, argv, NULL)
            != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    if (a->db) {
        const char *argv[2] = { "SELECT", db };
        snprintf(db, sizeof(db), "%d", a->db);
        return cmd(b, "SELECT refused", 2, argv, NULL);
    }
    return APR_SUCCESS;
}

/* The pieces: SET partial EX ttl, then APPEND. */
static apr_status_t send_file(mt_blob_t *b, int fd, const char *partial,
                              int ttl_sec, const volatile apr_uint32_t *cancel)
{
    char *buf = malloc(MT_REDIS_BLOB_CHUNK), ttl[24];
    apr_status_t rv = APR_SUCCESS;
    int first = 1;
    ssize_t got;

    if (!buf) return fail(b, "send", "out of memory");
    snprintf(ttl, sizeof(ttl), "%d", ttl_sec);
    while (rv == APR_SUCCESS
           && (got = read(fd, buf, MT_REDIS_BLOB_CHUNK)) > 0) {
        const char *set[5] = { "SET", partial, buf, "EX", ttl };
        size_t set_len[5] = { 3, strlen(partial), (size_t)got, 2, strlen(ttl) };
        const char *app[3] = { "APPEND", partial, buf };
        size_t app_len[3] = { 6, strlen(partial), (size_t)got };

        if (cancel && *cancel) {
            rv = fail(b, "send", "cancelled");
            break;
        }
        rv = first ? cmd(b, "SET", 5, set, set_len)
                   : cmd(b, "APPEND", 3, app, app_len);
        first = 0;
    }
    free(buf);
    if (rv == APR_SUCCESS && first) {
        rv = fail(b, "send", "the file is empty or unreadable");
    }
    return rv;
}

apr_status_t mt_redis_blob_put(const mt_redis_addr_t *addr, int connect_ms,
                               int command_ms, const char *key,
                               const char *path, int ttl_sec,
                               const volatile apr_uint32_t *cancel,
                               char *err, apr_size_t errlen)
{
    mt_blob_t b = { NULL, { 0 }, addr, err, errlen };
    char partial[512];
    apr_status_t rv;
    int fd;

    err[0] = '\0';
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        apr_snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return APR_FROM_OS_ERROR(errno);
    }
    apr_snprintf(partial, sizeof(partial), "%s.partial", key);
    rv = connect_to(&b, connect_ms, command_ms);
    if (rv == APR_SUCCESS) {
        rv = send_file(&b, fd, partial, ttl_sec, cancel);
    }
    if (rv == APR_SUCCESS) {
        const char *argv[3] = { "RENAME", partial, key };
        rv = cmd(&b, "RENAME", 3, argv, NULL);
    }
    close(fd);
    if (b.ctx) redisFree(b.ctx);
    return rv;
}
