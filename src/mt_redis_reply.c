/* mt_redis_reply: bounded Redis replies (see include/mt_redis_reply.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <hiredis.h>
#include <read.h>

#include "mt_redis_reply.h"

/* hiredis's own reply constructors, wrapped with the limits. Filled once
 * from a reader's defaults; the same for every context. */
static redisReplyObjectFunctions mt_reply_default;
static redisReplyObjectFunctions mt_reply_capped;
static pthread_once_t mt_reply_once = PTHREAD_ONCE_INIT;

/* Refuse the object being built: NULL, and why in its reply's budget. */
static void *refuse(const redisReadTask *task, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void *refuse(const redisReadTask *task, const char *fmt, ...)
{
    mt_redis_budget_t *b = task->privdata;
    va_list ap;

    if (b) {
        va_start(ap, fmt);
        vsnprintf(b->why, sizeof(b->why), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
        va_end(ap);
    }
    return NULL;
}

/* Count one object and its bytes (beside the object itself) against its
 * reply's budget; 0 when over it (refused). A reply's first object (no
 * parent) starts the count over. */
static int budget_take(const redisReadTask *task, size_t bytes)
{
    mt_redis_budget_t *b = task->privdata;

    if (!b) {
        return 1;
    }
    if (!task->parent) {
        b->objects = 0;
        b->bytes = 0;
        b->why[0] = '\0';
    }
    b->objects++;
    b->bytes += sizeof(redisReply) + bytes;
    if (b->objects <= MT_REDIS_REPLY_OBJECTS
        && b->bytes <= MT_REDIS_REPLY_BYTES) {
        return 1;
    }
    refuse(task, "reply too large for a status reply (over %d objects or "
           "%d bytes in all)", MT_REDIS_REPLY_OBJECTS, MT_REDIS_REPLY_BYTES);
    return 0;
}

/* The mark of a short reply (mt_redis_budget_t's quick): its element
 * pointer, which a reply that is not an array never has. */
static char mt_quick_mark;
#define QUICK_MARK ((redisReply **)(void *)&mt_quick_mark)

static int is_quick(const redisReply *r)
{
    return r && r->element == QUICK_MARK;
}

/* A whole reply that is no array and no error, as the budget's one short
 * reply; NULL when it is not one (a part of an array, or too long). type
 * is the reply's: a nil comes as a bulk string's task ($-1). */
static void *quick(const redisReadTask *task, int type, const char *str,
                   size_t len, long long integer)
{
    mt_redis_budget_t *b = task->privdata;
    redisReply *r;

    if (!b || task->parent || len >= sizeof(b->quick_str)
        || (type != REDIS_REPLY_STATUS && type != REDIS_REPLY_STRING
            && type != REDIS_REPLY_INTEGER && type != REDIS_REPLY_NIL)) {
        return NULL;
    }
    r = &b->quick;
    memset(r, 0, sizeof(*r));
    r->type = type;
    r->integer = integer;
    r->element = QUICK_MARK;
    if (len) {
        memcpy(b->quick_str, str, len);
    }
    b->quick_str[len] = '\0';
    r->str = b->quick_str;
    r->len = len;
    return r;
}

static void capped_free(void *obj)
{
    if (!is_quick(obj)) {
        mt_reply_default.freeObject(obj);
    }
}

void mt_redis_reply_free(redisReply *rep)
{
    if (rep && !is_quick(rep)) {
        freeReplyObject(rep);
    }
}

static void *capped_string(const redisReadTask *task, char *str, size_t len)
{
    void *q;

    if (len > MT_REDIS_REPLY_MAX) {
        return refuse(task, "reply too long for a status reply (a string "
                      "of %zu bytes)", len);
    }
    if (!budget_take(task, len + 1)) {
        return NULL;
    }
    if ((q = quick(task, task->type, str, len, 0)) != NULL) {
        return q;
    }
    return mt_reply_default.createString(task, str, len);
}

static void *capped_array(const redisReadTask *task, int elements)
{
    if (elements < 0 || elements > MT_REDIS_REPLY_ITEMS) {
        return refuse(task, "reply too long for a status reply (an array "
                      "of %d elements)", elements);
    }
    if (!budget_take(task, (size_t)elements * sizeof(redisReply *))) {
        return NULL;
    }
    return mt_reply_default.createArray(task, elements);
}

static void *capped_integer(const redisReadTask *task, long long v)
{
    void *q;

    if (!budget_take(task, 0)) {
        return NULL;
    }
    if ((q = quick(task, REDIS_REPLY_INTEGER, NULL, 0, v)) != NULL) {
        return q;
    }
    return mt_reply_default.createInteger(task, v);
}

static void *capped_nil(const redisReadTask *task)
{
    void *q;

    if (!budget_take(task, 0)) {
        return NULL;
    }
    if ((q = quick(task, REDIS_REPLY_NIL, NULL, 0, 0)) != NULL) {
        return q;
    }
    return mt_reply_default.createNil(task);
}

static void reply_fns_init(void)
{
    redisReader *rd = redisReaderCreate();

    if (rd) {
        mt_reply_default = *rd->fn;
        redisReaderFree(rd);
    }
    mt_reply_capped = mt_reply_default;
    mt_reply_capped.createString = capped_string;
    mt_reply_capped.createArray = capped_array;
    mt_reply_capped.createInteger = capped_integer;
    mt_reply_capped.createNil = capped_nil;
    mt_reply_capped.freeObject = capped_free;
}

void mt_redis_reply_limit_reader(redisReader *rd, mt_redis_budget_t *b)
{
    pthread_once(&mt_reply_once, reply_fns_init);
    if (!rd || !mt_reply_default.createString || !mt_reply_default.createArray
        || !mt_reply_default.createInteger || !mt_reply_default.createNil
        || !mt_reply_default.freeObject) {
        return;
    }
    memset(b, 0, sizeof(*b));
    rd->fn = &mt_reply_capped;
    rd->privdata = b;
}

void mt_redis_reply_limit(redisContext *c, mt_redis_budget_t *b)
{
    mt_redis_reply_limit_reader(c->reader, b);
}

/* Fail the read: c is out of step with its server now. */
static int reply_error(redisContext *c, const char *why)
{
    const mt_redis_budget_t *b = c->reader->fn == &mt_reply_capped
                                 ? c->reader->privdata : NULL;

    if (b && b->why[0]) {
        why = b->why;
    }
    c->err = REDIS_ERR_PROTOCOL;
    snprintf(c->errstr, sizeof(c->errstr), "%s",
             why && *why ? why : "reply refused");
    return REDIS_ERR;
}

int mt_redis_reply_get(redisContext *c, redisReply **rep)
{
    void *aux = NULL;
    int done = 0;

    *rep = NULL;
    while (!done) {
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            return REDIS_ERR;
        }
    }
    if (redisReaderGetReply(c->reader, &aux) != REDIS_OK) {
        return reply_error(c, c->reader->errstr);
    }
    while (aux == NULL) {
        if (c->reader->len - c->reader->pos > MT_REDIS_REPLY_MAX) {
            return reply_error(c, "reply too long for a status reply");
        }
        if (redisBufferRead(c) != REDIS_OK) {
            return REDIS_ERR;
        }
        if (redisReaderGetReply(c->reader, &aux) != REDIS_OK) {
            return reply_error(c, c->reader->errstr);
        }
    }
    *rep = aux;
    return REDIS_OK;
}
