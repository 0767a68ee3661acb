/* Unit tests of the bounded reply reader (src/mt_redis_reply.c), fed by
 * hand through a bare hiredis reader: the replies the writers expect pass,
 * and so does a small array; one string or array over its cap, a reply
 * over its budget of objects or bytes (arrays of 16 nested 7 deep, the
 * bomb hiredis would build millions of objects for) are refused with a
 * reason; the budget is per reply, so many small replies in a row pass;
 * and a whole short reply (+OK, a stream id, nil) is built without an
 * allocation, an array's parts and an error as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>
#include <read.h>

#include "mt_tap.h"
#include "mt_redis_reply.h"

static redisReader *rd;
static mt_redis_budget_t budget;

static void fresh(void)
{
    if (rd)
        redisReaderFree(rd);
    rd = redisReaderCreate();
    mt_redis_reply_limit_reader(rd, &budget);
}

/* Feed text and read one reply: its type, 0 when incomplete, -1 when the
 * reader refused it. */
static int feed(const char *text, size_t len)
{
    void *rep = NULL;
    int type;

    if (redisReaderFeed(rd, text, len) != REDIS_OK
        || redisReaderGetReply(rd, &rep) != REDIS_OK)
        return -1;
    if (!rep)
        return 0;
    type = ((redisReply *)rep)->type;
    mt_redis_reply_free(rep);
    return type;
}

static int feed_str(const char *text)
{
    return feed(text, strlen(text));
}

/* An array of n elements, each elem, in a malloc'd buffer. */
static char *array_of(int n, const char *elem, size_t *len)
{
    size_t el = strlen(elem);
    char *buf = malloc(32 + (size_t)n * el), *p = buf;
    int i;

    if (!buf)
        abort();
    p += sprintf(p, "*%d\r\n", n);
    for (i = 0; i < n; i++) {
        memcpy(p, elem, el);
        p += el;
    }
    *len = (size_t)(p - buf);
    return buf;
}

static void test_status_replies(void)
{
    char *arr;
    size_t len;

    fresh();
    is_int(feed_str("+OK\r\n"), REDIS_REPLY_STATUS, "+OK passes");
    is_int(feed_str("$-1\r\n"), REDIS_REPLY_NIL, "nil passes");
    is_int(feed_str(":5\r\n"), REDIS_REPLY_INTEGER, "an integer passes");
    is_int(feed_str("-ERR nope\r\n"), REDIS_REPLY_ERROR, "an error passes");
    is_int(feed_str("$15\r\n1700000000000-0\r\n"), REDIS_REPLY_STRING,
           "a stream id passes");
    arr = array_of(16, ":1\r\n", &len);
    is_int(feed(arr, len), REDIS_REPLY_ARRAY, "an array of 16 passes");
    free(arr);
    ok(budget.why[0] == '\0', "nothing refused (%s)", budget.why);
}

/* 100 arrays of 16 in a row are 1,700 objects, each reply 17: the
 * budget starts over with every reply. */
static void test_budget_per_reply(void)
{
    char *arr;
    size_t len;
    int i, passed = 0;

    fresh();
    arr = array_of(16, "$3\r\nabc\r\n", &len);
    for (i = 0; i < 100; i++)
        passed += feed(arr, len) == REDIS_REPLY_ARRAY;
    free(arr);
    is_int(passed, 100, "100 small replies in a row pass");
}

static void test_caps(void)
{
    char *big = malloc(MT_REDIS_REPLY_MAX + 64), *arr;
    size_t len;
    int n;

    if (!big)
        abort();
    fresh();
    n = sprintf(big, "$%d\r\n", MT_REDIS_REPLY_MAX + 1);
    memset(big + n, 'x', MT_REDIS_REPLY_MAX + 1);
    memcpy(big + n + MT_REDIS_REPLY_MAX + 1, "\r\n", 2);
    is_int(feed(big, (size_t)n + MT_REDIS_REPLY_MAX + 3), -1,
           "a string over 64 KiB is refused");
    ok(strstr(budget.why, "reply too long for a status reply (a string")
       != NULL, "why: %s", budget.why);
    free(big);

    fresh();
    arr = array_of(MT_REDIS_REPLY_ITEMS + 1, ":1\r\n", &len);
    is_int(feed(arr, len), -1, "an array of 17 is refused");
    ok(strstr(budget.why, "an array of 17 elements") != NULL, "why: %s",
       budget.why);
    free(arr);
}

/* 16 strings of 10,000 bytes: each under the string cap, 17 objects, but
 * 160 KB in all. */
static void test_bytes_budget(void)
{
    char *elem = malloc(10032), *arr;
    size_t len;
    int n;

    if (!elem)
        abort();
    n = sprintf(elem, "$10000\r\n");

    memset(elem + n, 'y', 10000);
    strcpy(elem + n + 10000, "\r\n");
    fresh();
    arr = array_of(16, elem, &len);
    is_int(feed(arr, len), -1, "16 strings of 10 KB in one reply are refused");
    ok(strstr(budget.why, "reply too large for a status reply") != NULL,
       "why: %s", budget.why);
    free(arr);
    free(elem);
}

/* Arrays of 16 nested 7 deep, then integers: 268 million objects, 1 GiB
 * on the wire, each array within its cap. Refused at the 65th object, in
 * the first few hundred bytes. */
static void test_nested_bomb(void)
{
    char buf[4096], *p = buf;
    int i, rv = 0, fed = 0;

    for (i = 0; i < 7; i++)
        p += sprintf(p, "*16\r\n");
    fresh();
    rv = feed(buf, (size_t)(p - buf));
    is_int(rv, 0, "the bomb's headers are taken (incomplete)");
    for (i = 0; i < 1000 && rv == 0; i++, fed++)
        rv = feed(":1\r\n", 4);
    is_int(rv, -1, "the bomb is refused");
    ok(fed <= MT_REDIS_REPLY_OBJECTS, "within the first %d objects (after "
       "%d integers)", MT_REDIS_REPLY_OBJECTS, fed);
    ok(strstr(budget.why, "reply too large for a status reply (over 64 "
              "objects") != NULL, "why: %s", budget.why);
    ok(budget.objects == MT_REDIS_REPLY_OBJECTS + 1, "counted %u objects",
       budget.objects);
}

/* One whole reply: *out, NULL when the reader refused it or needs more. */
static redisReply *read_one(const char *text)
{
    void *rep = NULL;

    if (redisReaderFeed(rd, text, strlen(text)) != REDIS_OK
        || redisReaderGetReply(rd, &rep) != REDIS_OK)
        return NULL;
    return rep;
}

/* The writers' replies come without an allocation, and read the same. */
static void test_quick_replies(void)
{
    redisReply *a, *b, *arr;
    char id[200];
    int bad = 0, i;

    fresh();
    a = read_one("+OK\r\n");
    ok(a && a->type == REDIS_REPLY_STATUS && a->len == 2
       && strcmp(a->str, "OK") == 0, "+OK is a status OK");
    mt_redis_reply_free(a);
    b = read_one("$15\r\n1764687000123-0\r\n");
    ok(b && b->type == REDIS_REPLY_STRING
       && strcmp(b->str, "1764687000123-0") == 0, "a stream id");
    ok(b == a, "in the same object, not allocated");
    mt_redis_reply_free(b);
    a = read_one("$-1\r\n");
    ok(a && a->type == REDIS_REPLY_NIL, "a nil bulk is nil");
    mt_redis_reply_free(a);
    a = read_one(":42\r\n");
    ok(a && a->type == REDIS_REPLY_INTEGER && a->integer == 42, "an integer");
    mt_redis_reply_free(a);
    a = read_one("-ERR no\r\n");
    ok(a && a->type == REDIS_REPLY_ERROR && strcmp(a->str, "ERR no") == 0
       && a != b, "an error, allocated");
    mt_redis_reply_free(a);
    memset(id, 'x', sizeof(id));
    memcpy(id, "$100\r\n", 6);
    memcpy(id + 106, "\r\n", 3);
    a = read_one(id);
    ok(a && a->type == REDIS_REPLY_STRING && a->len == 100 && a != b,
       "a longer string, allocated");
    mt_redis_reply_free(a);
    arr = read_one("*2\r\n+OK\r\n:7\r\n");
    ok(arr && arr->type == REDIS_REPLY_ARRAY && arr->elements == 2
       && arr->element[0] != b && arr->element[1]->integer == 7,
       "an array's elements are its own");
    mt_redis_reply_free(arr);
    for (i = 0; i < 1000; i++) {
        a = read_one(i % 2 ? "+OK\r\n" : "$-1\r\n");
        bad += !a || a->type != (i % 2 ? REDIS_REPLY_STATUS : REDIS_REPLY_NIL);
        mt_redis_reply_free(a);
    }
    is_int(bad, 0, "1000 in a row, each right");
}

int main(void)
{
    test_status_replies();
    test_budget_per_reply();
    test_caps();
    test_bytes_budget();
    test_nested_bomb();
    test_quick_replies();
    redisReaderFree(rd);
    return done_testing();
}
