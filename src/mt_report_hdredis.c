/* mt_report_hdredis: the heap diff results kept in Redis
 * (memtrack:heap:<server>-<pid>-<pid_start>:result, written by the module
 * with MemTrackHeapDiffRedisTTL) for memtrack-report --redis. SCAN with
 * MATCH, never KEYS, for at most MT_REPORT_HD_SCAN calls and
 * MT_REPORT_HD_FILES keys; each value by GETRANGE of at most
 * MT_REPORT_HD_DOC_MAX + 1 bytes, so a huge value is refused unread. */
#include <string.h>
#include <hiredis/hiredis.h>
#include <apr_strings.h>

#include "mt_report_hd.h"
#include "mt_report_input.h"

#define HD_MATCH  "memtrack:heap:*:result"
#define HD_PREFIX "memtrack:heap:"
#define HD_KEY_MAX 256

/* The server of "memtrack:heap:<server>-<pid>-<start>:result" into buf. */
static void server_of(const char *key, char *buf, apr_size_t size)
{
    const char *p = key + strlen(HD_PREFIX), *end = strrchr(key, ':');
    const char *dash2 = NULL, *dash1 = NULL, *q;

    buf[0] = '\0';
    for (q = p; end && q < end; q++) {
        if (*q == '-') {
            dash1 = dash2;
            dash2 = q;
        }
    }
    if (dash1 && dash1 > p && (apr_size_t)(dash1 - p) < size) {
        memcpy(buf, p, (apr_size_t)(dash1 - p));
        buf[dash1 - p] = '\0';
    }
}

static void one_key(mt_report_hds_t *s, redisContext *c, const char *key,
                    const char *where)
{
    const char *argv[4] = { "GETRANGE", key, "0", NULL };
    char end[24], server[MT_REPORT_HD_SERVER_MAX + 1];
    const char *name = apr_psprintf(s->pool, "%s key %s", where, key);
    redisReply *rep;

    apr_snprintf(end, sizeof(end), "%d", MT_REPORT_HD_DOC_MAX);
    argv[3] = end;
    rep = redisCommandArgv(c, 4, argv, NULL);
    if (!rep || rep->type != REDIS_REPLY_STRING) {
        s->bad++;
        if (s->say) {
            s->say(s->say_ctx, name, !rep ? c->errstr
                   : rep->type == REDIS_REPLY_ERROR ? rep->str
                   : "not a string");
        }
        if (rep) freeReplyObject(rep);
        return;
    }
    server_of(key, server, sizeof(server));
    mt_report_hds_take(s, name, server, rep->str, rep->len);
    freeReplyObject(rep);
}

/* One SCAN call's keys; the next cursor into cursor ("0": done). */
static int scan_once(mt_report_hds_t *s, redisContext *c, char *cursor,
                     apr_size_t size, const char *where, unsigned int *keys)
{
    const char *argv[6] = { "SCAN", cursor, "MATCH", HD_MATCH, "COUNT",
                            "500" };
    redisReply *rep = redisCommandArgv(c, 6, argv, NULL);
    size_t i;

    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
        || rep->element[0]->type != REDIS_REPLY_STRING
        || rep->element[1]->type != REDIS_REPLY_ARRAY) {
        s->failed = 1;
        if (s->say) s->say(s->say_ctx, where, rep && rep->type ==
                           REDIS_REPLY_ERROR ? rep->str : "SCAN failed");
        if (rep) freeReplyObject(rep);
        return 0;
    }
    apr_cpystrn(cursor, rep->element[0]->str, size);
    for (i = 0; i < rep->element[1]->elements; i++) {
        const redisReply *k = rep->element[1]->element[i];
        if (k->type != REDIS_REPLY_STRING || k->len > HD_KEY_MAX
            || memchr(k->str, '\0', k->len)) {
            continue;
        }
        if (++*keys > MT_REPORT_HD_FILES) break;
        one_key(s, c, k->str, where);
    }
    freeReplyObject(rep);
    return *keys <= MT_REPORT_HD_FILES;
}

void mt_report_hds_redis(mt_report_hds_t *s, const char *url)
{
    const char *name = NULL, *problem = NULL;
    redisContext *c = mt_report_redis_connect(url, &name, &problem, s->pool);
    char cursor[32] = "0";
    unsigned int calls = 0, keys = 0;

    if (!c) {
        s->failed = 1;
        if (s->say) s->say(s->say_ctx, name, problem);
        return;
    }
    do {
        if (!scan_once(s, c, cursor, sizeof(cursor), name, &keys)) break;
    } while (strcmp(cursor, "0") != 0 && ++calls < MT_REPORT_HD_SCAN);
    if (keys > MT_REPORT_HD_FILES && s->say) {
        s->say(s->say_ctx, name, "more than 4096 heap diff results: the rest "
               "not read");
    }
    redisFree(c);
}
