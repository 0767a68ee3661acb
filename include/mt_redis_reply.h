/* mt_redis_reply: reading Redis replies in bounded memory.
 *
 * httpd-free core (hiredis only; src/mt_redis_reply.c). The record writer
 * (mt_redis.c) and the heap snapshot copy (mt_redis_blob.c) send commands
 * whose answers are status replies (+OK, nil, an integer, an error, a
 * stream id), so anything bigger is no answer to what they sent. hiredis
 * alone would buffer any reply whole and build every object a server
 * announces: a 1 GiB string grew a child to 425 MB, and arrays nested 7
 * deep (hiredis allows it) are millions of objects in a few megabytes.
 *
 * mt_redis_reply_limit() gives a context's reader constructors that refuse
 *   - a string over MT_REDIS_REPLY_MAX bytes, an array over
 *     MT_REDIS_REPLY_ITEMS elements,
 *   - and past a budget per reply: MT_REDIS_REPLY_OBJECTS objects, or
 *     MT_REDIS_REPLY_BYTES bytes of them (their strings, their element
 *     arrays and the objects themselves), counted from each reply's first
 *     object;
 * a refusal fails the read (as an out-of-memory would), and
 * mt_redis_reply_get() says why in c->errstr. The caller then frees the
 * context: it is out of step with the server.
 *
 * Thread safety: a budget belongs to one context, used by one thread.
 */
#ifndef MT_REDIS_REPLY_H
#define MT_REDIS_REPLY_H

#include <stddef.h>
#include <hiredis.h>

#include "mt_limits.h"   /* MT_REDIS_REPLY_* */

/* What the reply being read has taken so far; and the one reply object
 * that needs no allocation: a whole reply that is a short status, string,
 * integer or nil (every +OK, stream id and nil the writers read) is built
 * here, not malloc'ed and freed (some 500 instructions a reply). Free
 * replies with mt_redis_reply_free, which knows it. */
typedef struct mt_redis_budget_t {
    unsigned int objects;
    size_t       bytes;
    char         why[96];     /* why a reply was refused, "" while none */
    redisReply   quick;       /* the last short reply, if it was one */
    char         quick_str[MT_REDIS_QUICK_STR];
} mt_redis_budget_t;

/* Make c's reader build replies within the limits, counting in b, which
 * must live as long as c. Without memory for hiredis's defaults (never in
 * practice), the reader is left as it was. */
void mt_redis_reply_limit(redisContext *c, mt_redis_budget_t *b);

/* The same for a bare reader (the unit test feeds one). */
void mt_redis_reply_limit_reader(redisReader *rd, mt_redis_budget_t *b);

/* redisGetReply() within the limits: what was appended is sent, then
 * replies are read until one is whole, with never more than
 * MT_REDIS_REPLY_MAX bytes of unread reply buffered. REDIS_OK with *rep;
 * else REDIS_ERR, *rep NULL, c->err and c->errstr set ("reply too long
 * for a status reply", "reply too large for a status reply: ..."). */
int mt_redis_reply_get(redisContext *c, redisReply **rep);

/* Free a reply read within the limits (freeReplyObject would free a short
 * one that was never allocated). NULL is fine. The short reply is good
 * until the next reply is read. */
void mt_redis_reply_free(redisReply *rep);

#endif
