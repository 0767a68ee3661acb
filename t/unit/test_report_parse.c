/* Unit tests: memtrack-report's record parser (src/mt_report_parse.c).
 * Records written by the module's own writer (mt_record_to_json) parse to
 * the figures they hold, and to the note the module made of them; every
 * kind of bad line (not JSON, bad strings, escapes, numbers, nesting,
 * missing and wrongly typed fields, NUL bytes, truncation at every byte)
 * is refused with a message naming what is wrong, and nothing is read past
 * the line (ASan: each line in a buffer of its exact size). */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "mt_tap.h"
#include "mt_record.h"
#include "mt_report_parse.h"

static apr_pool_t *pool;

/* Parse a copy of line in a buffer of exactly its size. */
static apr_status_t parse(mt_report_rec_t *rec, char *server, const char *line,
                          apr_size_t len, char *why)
{
    char *copy = malloc(len ? len : 1);
    mt_report_err_t err;
    apr_status_t rv;

    memcpy(copy, line, len);
    rv = mt_report_parse(rec, server, MT_REPORT_SERVER_MAX + 1, &err, copy, len);
    if (rv != APR_SUCCESS && why) mt_report_err_text(why, 200, &err);
    free(copy);
    return rv;
}

static mt_app_report_t app;

static void app_record(mt_record_t *rec)
{
    memset(rec, 0, sizeof(*rec));
    mt_sample_clear(&rec->before);
    mt_sample_clear(&rec->after);
    mt_proto_clear(&app);
    app.version = 1;
    app.pid = 4242;
    app.gc_before.allocated = 1000;
    app.gc_after.allocated = 1500;
    app.controller = "ItemsController";
    app.action = "index";
    rec->app = &app;
    rec->request_id = "Xq3kV9aQq0C2Wm1bT8s4rA";
    rec->time = (apr_time_t)1795320523123456LL;
    rec->host = "shop";
    rec->method = "GET";
    rec->url = "/items?\"q\"=\xC3\xA9";
    rec->endpoint = "ItemsController#index";
    rec->status = 200;
    rec->target = MT_TARGET_BACKEND;
    rec->pid = 4242;
    rec->start_ticks = 987654;
    rec->before_source = MT_BEFORE_APP;
    rec->before.rss_bytes = 70000000;
    rec->after.rss_bytes = 70004096;
    rec->request_time = 0.003187;
    rec->threshold_bytes = 1000;
    rec->server = "web-b";
    rec->exclusive = 1;
    rec->probe_started = 77;
    rec->probe_done = 76;
    rec->probe_bytes = -51200;
    rec->probe_objects = 100;
    rec->probe_us = 61000;
    rec->fds = -1;
}

static void test_roundtrip(void)
{
    mt_record_t rec;
    mt_report_rec_t r;
    mt_note_t in;
    char server[MT_REPORT_SERVER_MAX + 1], *line;
    apr_size_t len;

    app_record(&rec);
    mt_record_to_json(&line, &len, &rec, 4096, pool);
    ok(parse(&r, server, line, len - 1, NULL) == APR_SUCCESS,
       "a record of the module's writer parses");
    is_int(r.time, 1795320523123456LL, "time");
    is_int(r.duration_us, 3187, "request_time in microseconds");
    is_int(r.key, r.time, "an exclusive process's order: its start");
    is_int(r.pid, 4242, "pid");
    is_int(r.pid_start, 987654, "pid_start");
    ok(!r.self && r.exclusive && r.before_own && r.app_reported,
       "target backend, exclusive, before from the app, app reported");
    ok(r.threshold_exceeded, "threshold_exceeded");
    is_int(r.memory_after - r.memory_before, 4096, "memory figures");
    is_str(r.endpoint, "ItemsController#index", "endpoint");
    is_str(r.request_id, "Xq3kV9aQq0C2Wm1bT8s4rA", "request id");
    is_str(server, "web-b", "server");
    is_int(r.probe_started, 77, "probe_started");
    is_int(r.probe_done, 76, "probe_done");
    is_int(r.probe_bytes, -51200, "probe_retained_bytes, negative");
    is_int(r.probe_us, 61000, "probe_gc_us");
    mt_report_rec_note(&in, &r, 9);
    is_int(in.pid, 9, "the note takes the caller's pid");
    is_int(in.alloc_objects, 500, "allocation: total_allocated_objects after - before");
    ok(in.probeable && in.kind == MT_STATE_KIND_BACKEND, "probeable app request");
    is_int(in.now, r.time + 3187, "now: the record's time plus request_time");
    is_int(in.probe_bytes, -51200, "the note's probe bytes");
}

static void test_self(void)
{
    mt_record_t rec;
    mt_report_rec_t r;
    char server[MT_REPORT_SERVER_MAX + 1], *line;
    apr_size_t len;

    app_record(&rec);
    rec.app = NULL;
    rec.target = MT_TARGET_SELF;
    rec.exclusive = 0;
    rec.before_source = MT_BEFORE_SHARED;
    rec.probe_started = rec.probe_done = 0;
    rec.server = NULL;
    rec.endpoint = NULL;
    mt_record_to_json(&line, &len, &rec, 4096, pool);
    ok(parse(&r, server, line, len - 1, NULL) == APR_SUCCESS, "a self record");
    ok(r.self && !r.exclusive && !r.before_own && !r.app_reported,
       "self, shared, before from 'previous', no app");
    is_int(r.key, r.time + 3187, "a process serving several at once: its end");
    is_str(server, "", "server null: empty");
    ok(!r.has_endpoint, "endpoint null");
    is_int(r.probe_bytes, MT_NOTE_NO_VALUE, "no probe");
}

typedef struct bad_t {
    const char *line;
    const char *why;
} bad_t;

#define REQ "\"time\":\"2026-11-22T04:00:00.5Z\",\"target\":\"self\",\"pid\":1,\"memory_after\":1"

static const bad_t bad[] = {
    { "", "an empty line" },
    { "   ", "an empty line" },
    { "[1,2]", "not a JSON object" },
    { "hello", "not a JSON object" },
    { "{\"a\":1", "the line ends inside the object" },
    { "{\"a\" 1}", "expected ':'" },
    { "{\"a\":1 \"b\":2}", "expected ',' or '}'" },
    { "{a:1}", "expected a key" },
    { "{\"a\":\"x}", "a string is not closed" },
    { "{\"a\":\"x\ty\"}", "a raw control byte in a string" },
    { "{\"a\":\"\\q\"}", "a bad escape" },
    { "{\"a\":\"\\u12G4\"}", "a bad \\u escape" },
    { "{\"a\":\"\xC3\x28\"}", "invalid UTF-8" },
    { "{\"a\":\"\xED\xA0\x80\"}", "invalid UTF-8" },
    { "{\"a\":01}", "expected ',' or '}'" },
    { "{\"a\":1.}", "a bad number" },
    { "{\"a\":-}", "a bad number" },
    { "{\"a\":1e}", "a bad number" },
    { "{\"a\":tru}", "unexpected byte" },
    { "{\"a\":[1,2}", "expected ',' or ']'" },
    { "{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", "nested deeper" },
    { "{" REQ "} x", "text after the object" },
    { "{" REQ "}{}", "text after the object" },
    { "{\"target\":\"self\",\"pid\":1,\"memory_after\":1}", "field time: missing" },
    { "{\"time\":\"2026-11-22T04:00:00Z\",\"pid\":1,\"memory_after\":1}",
      "field target: missing" },
    { "{" REQ ",\"pid\":\"12\"}", "field pid: a string, not an integer" },
    { "{" REQ ",\"pid\":1.5}", "field pid: not an integer" },
    { "{" REQ ",\"pid\":0}", "field pid: out of range" },
    { "{" REQ ",\"pid\":99999999999}", "field pid: out of range" },
    { "{" REQ ",\"memory_after\":-4096}", "field memory_after: out of range" },
    { "{" REQ ",\"memory_before\":true}", "field memory_before: a boolean, not an integer" },
    { "{" REQ ",\"exclusive\":\"yes\"}", "field exclusive: a string, not true, false or null" },
    { "{" REQ ",\"endpoint\":42}", "field endpoint: a number, not a string" },
    { "{" REQ ",\"gc_stats_after\":[1]}", "field gc_stats_after: an array, not an object" },
    { "{" REQ ",\"gc_stats_after\":{\"total_allocated_objects\":\"x\"}}",
      "field gc_stats_after: a string, not an integer" },
    { "{" REQ ",\"request_time\":\"0.1\"}", "field request_time: a string, not a number" },
    { "{" REQ ",\"request_time\":-1}", "field request_time: out of range" },
    { "{" REQ ",\"target\":\"proxy\"}", "field target: neither" },
    { "{" REQ ",\"time\":\"yesterday\"}", "field time: not an ISO 8601 UTC time" },
    { "{" REQ ",\"time\":\"2026-02-30T00:00:00Z\"}", "not an ISO 8601" },
    { "{" REQ ",\"probe_retained_bytes\":1e3}", "field probe_retained_bytes: not an integer" },
    { "{" REQ ",\"probe_done\":-3}", "field probe_done: out of range" },
};

static void test_bad(void)
{
    mt_report_rec_t r;
    char server[MT_REPORT_SERVER_MAX + 1], why[200];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        ok(parse(&r, server, bad[i].line, strlen(bad[i].line), why)
           == APR_EGENERAL && strstr(why, bad[i].why),
           "refused: %s -> %s", bad[i].line, why);
    }
}

/* The same bad lines with more than 32 bytes after the bad value (before
 * the last '}'): the parser's whole-word paths (keys, digits, literals)
 * read ahead only where a line that long allows it, and must refuse the
 * same things with the same message. */
static void test_bad_long(void)
{
    static const char pad[] = ",\"zz\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"";
    mt_report_rec_t r;
    char server[MT_REPORT_SERVER_MAX + 1], why[200];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *line = bad[i].line, *last = strrchr(line, '}');
        char *longer;
        if (!last || strstr(bad[i].why, "not closed")) continue;   /* the pad would close it */
        longer = apr_pstrcat(pool, apr_pstrndup(pool, line, (apr_size_t)(last - line)),
                             pad, last, NULL);
        why[0] = '\0';
        ok(parse(&r, server, longer, strlen(longer), why) == APR_EGENERAL
           && strstr(why, bad[i].why), "refused: %s -> %s", longer, why);
    }
}

/* Integers of every length, each followed by enough of the line for the
 * eight-at-a-time paths, and one at the line's very end. */
static void test_integers(void)
{
    static const char *const v[] = {
        "0", "7", "42", "4096", "1234567", "12345678", "123456789",
        "123456789012345", "1234567890123456", "9223372036854775807"
    };
    mt_report_rec_t r;
    char server[MT_REPORT_SERVER_MAX + 1], why[200];
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *line = apr_psprintf(pool, "{" REQ ",\"memory_before\":%s,"
                                  "\"host\":\"a-long-enough-host-name\"}", v[i]);
        char *end = apr_psprintf(pool, "{" REQ ",\"memory_before\":%s}", v[i]);
        why[0] = '\0';
        ok(parse(&r, server, line, strlen(line), why) == APR_SUCCESS
           && r.memory_before == apr_atoi64(v[i]), "memory_before %s mid-line %s", v[i], why);
        ok(parse(&r, server, end, strlen(end), why) == APR_SUCCESS
           && r.memory_before == apr_atoi64(v[i]), "memory_before %s at the end", v[i]);
    }
}

static void test_nul_and_cuts(void)
{
    mt_record_t rec;
    mt_report_rec_t r;
    char server[MT_REPORT_SERVER_MAX + 1], why[200], *line, *copy;
    apr_size_t len, i;
    int refused = 0;

    app_record(&rec);
    mt_record_to_json(&line, &len, &rec, 4096, pool);
    len--;
    for (i = 0; i < len; i++) {            /* every truncation */
        refused += parse(&r, server, line, i, why) == APR_EGENERAL;
    }
    is_int(refused, len, "every cut of a record is refused");
    copy = apr_pmemdup(pool, line, len);
    copy[40] = '\0';
    ok(parse(&r, server, copy, len, why) == APR_EGENERAL && strstr(why, "0x00"),
       "a NUL byte in the line is refused and named: %s", why);
    ok(parse(&r, server, "{" REQ ",\"x\":\"\\u0000\"}", strlen("{" REQ ",\"x\":\"\\u0000\"}"),
             why) == APR_SUCCESS, "an escaped NUL is valid JSON");
}

static void test_strings(void)
{
    mt_report_rec_t r;
    char server[MT_REPORT_SERVER_MAX + 1];
    char *line;
    const char *ep;

    line = apr_psprintf(pool, "{" REQ ",\"endpoint\":\"caf\\u00e9 \\ud83d\\ude00 "
                        "\\\"q\\\" \\/x\",\"server\":\"w\\u0041\"}");
    ok(parse(&r, server, line, strlen(line), NULL) == APR_SUCCESS, "escapes");
    is_str(r.endpoint, "caf\xC3\xA9 \xF0\x9F\x98\x80 \"q\" /x", "unescaped to UTF-8");
    is_str(server, "wA", "server unescaped");
    ep = apr_pstrcat(pool, "{" REQ ",\"endpoint\":\"",
                     apr_pstrndup(pool, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                  "yyyyyyyyyy", 170), "\"}", NULL);
    ok(parse(&r, server, ep, strlen(ep), NULL) == APR_SUCCESS, "a long endpoint");
    is_int(strlen(r.endpoint), MT_EP_NAME_MAX, "cut where the module's state cuts it");
    line = "{\"pid\":null,\"memory_after\":null,\"target\":\"backend\","
           "\"time\":\"2026-11-22T04:00:00Z\",\"extra\":{\"a\":[1,{\"b\":null}]}}";
    ok(parse(&r, server, line, strlen(line), NULL) == APR_SUCCESS
       && !mt_report_rec_usable(&r), "null pid and memory: valid, not usable");
}

static void test_times(void)
{
    apr_time_t t = 0, now = apr_time_from_sec(2000000000);

    ok(mt_report_parse_time(&t, "1970-01-01T00:00:01.000001Z", 27) == APR_SUCCESS
       && t == 1000001, "epoch plus a second and a microsecond");
    ok(mt_report_parse_time(&t, "2024-02-29T23:59:59Z", 20) == APR_SUCCESS
       && t == apr_time_from_sec(1709251199), "a leap day");
    ok(mt_report_parse_time(&t, "2023-02-29T00:00:00Z", 20) != APR_SUCCESS,
       "not a leap year");
    ok(mt_report_parse_time(&t, "2026-11-22T04:00:00", 19) != APR_SUCCESS,
       "no Z");
    /* the module's own 27-byte form has a straight-line path of its own:
     * the same answers as the general one */
    ok(mt_report_parse_time(&t, "2024-02-29T23:59:59.999999Z", 27) == APR_SUCCESS
       && t == apr_time_from_sec(1709251199) + 999999, "a leap day, 27 bytes");
    ok(mt_report_parse_time(&t, "2026-11-22T04:00:00.123456Z", 27) == APR_SUCCESS
       && t == apr_time_from_sec(1795305600 + 4 * 3600) + 123456, "a record's time");
    ok(mt_report_parse_time(&t, "2026-11-22 04:00:00.123456Z", 27) == APR_SUCCESS
       && t == apr_time_from_sec(1795305600 + 4 * 3600) + 123456,
       "a space for the T: the general path");
    ok(mt_report_parse_time(&t, "2026-11-22T04:00:00.1234567Z", 28) == APR_SUCCESS
       && t == apr_time_from_sec(1795305600 + 4 * 3600) + 123456,
       "seven decimals: the general path");
    {
        static const char *const no[] = {
            "2023-02-29T00:00:00.000000Z", "2026-13-01T00:00:00.000000Z",
            "2026-00-01T00:00:00.000000Z", "2026-04-31T00:00:00.000000Z",
            "2026-11-22T24:00:00.000000Z", "2026-11-22T04:60:00.000000Z",
            "2026-11-22T04:00:61.000000Z", "1969-12-31T23:59:59.000000Z",
            "2026-11-22T04:00:00.00000xZ", "2026-11-22T04:00:00.000000z",
            "2026-11-22T04:00:00,000000Z", "2026-1a-22T04:00:00.000000Z",
            "-026-11-22T04:00:00.000000Z", "2026-11-22T04:00:00.000000 "
        };
        size_t i;
        for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
            ok(mt_report_parse_time(&t, no[i], 27) != APR_SUCCESS, "refused: %s", no[i]);
        }
    }
    ok(mt_report_parse_when(&t, "2026-11-22", now) == APR_SUCCESS
       && t == apr_time_from_sec(1795305600), "--since a date");
    ok(mt_report_parse_when(&t, "2026-11-22 04:08", now) == APR_SUCCESS
       && t == apr_time_from_sec(1795305600 + 4 * 3600 + 8 * 60), "a time without seconds");
    ok(mt_report_parse_when(&t, "@1700000000", now) == APR_SUCCESS
       && t == apr_time_from_sec(1700000000), "@seconds");
    ok(mt_report_parse_when(&t, "-2h", now) == APR_SUCCESS
       && t == now - apr_time_from_sec(7200), "-2h");
    ok(mt_report_parse_when(&t, "tomorrow", now) != APR_SUCCESS, "a word");
    ok(mt_report_parse_when(&t, "-2x", now) != APR_SUCCESS, "a bad unit");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_roundtrip();
    test_self();
    test_bad();
    test_bad_long();
    test_integers();
    test_nul_and_cuts();
    test_strings();
    test_times();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
