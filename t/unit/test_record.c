/* Unit tests: the JSON record, its limits and its escaping. */
#include <apr_general.h>
#include <apr_strings.h>
#include <json.h>
#include "mt_tap.h"
#include "mt_record.h"
#include "mt_util.h"

static mt_record_t base_record(void)
{
    mt_record_t rec = { 0 };

    rec.request_id = "abc123";
    rec.time = apr_time_from_sec(1795320523);
    rec.host = "example.test";
    rec.method = "GET";
    rec.url = "/items?page=2";
    rec.status = 200;
    rec.target = MT_TARGET_SELF;
    rec.pid = 4242;
    rec.httpd_pid = 4242;
    rec.fds = -1;
    rec.before_source = MT_BEFORE_MODULE;
    mt_sample_clear(&rec.before);
    mt_sample_clear(&rec.after);
    rec.before.rss_bytes = 10000000;
    rec.after.rss_bytes = 30000000;
    rec.request_time = 0.0125;
    rec.threshold_bytes = 20 * 1024 * 1024;
    rec.overhead_us = MT_UNKNOWN;
    return rec;
}

static json_object *parse_line(const char *line, apr_size_t len)
{
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1)) {
        return NULL;
    }
    return json_tokener_parse(line);
}

static void test_fields(apr_pool_t *p)
{
    mt_record_t rec = base_record();
    char *line;
    apr_size_t len;
    json_object *o, *v;
    static const char *required[] = {
        "request_id", "time", "host", "method", "url", "status", "controller",
        "action", "target", "pid", "memory_before", "memory_after",
        "memory_growth", "objects_before", "objects_after", "gc_stats_before",
        "gc_stats_after", "query_cache_before", "query_cache_after",
        "request_time", "threshold_exceeded", NULL };

    ok(mt_record_to_json(&line, &len, &rec, 4096, NULL, p) == APR_SUCCESS, "builds");
    o = parse_line(line, len);
    ok(o != NULL, "one valid JSON line");
    for (int i = 0; required[i]; i++) {
        ok(json_object_object_get_ex(o, required[i], NULL), "has %s", required[i]);
    }
    json_object_object_get_ex(o, "memory_growth", &v);
    is_int(json_object_get_int64(v), 20000000, "growth signed bytes");
    json_object_object_get_ex(o, "threshold_exceeded", &v);
    ok(!json_object_get_boolean(v), "20000000 < 20M: not exceeded");
    json_object_object_get_ex(o, "controller", &v);
    ok(v == NULL, "controller null without an app");
    json_object_object_get_ex(o, "time", &v);
    is_str(json_object_get_string(v), "2026-11-22T04:08:43.000000Z", "time");
    json_object_object_get_ex(o, "request_time", &v);
    ok(json_object_get_double(v) > 0.0124 && json_object_get_double(v) < 0.0126, "request_time");
    json_object_put(o);

    rec.after.rss_bytes = rec.before.rss_bytes + 21 * 1024 * 1024;
    ok(mt_record_exceeded(&rec), "21M growth over 20M exceeded");
    rec.after.rss_bytes = rec.before.rss_bytes - 5000;
    {
        int known;
        is_int(mt_record_growth(&rec, &known), -5000, "negative growth");
    }
    rec.before.rss_bytes = MT_UNKNOWN;
    ok(!mt_record_exceeded(&rec), "unknown before: never exceeded");
    ok(mt_record_to_json(&line, &len, &rec, 4096, NULL, p) == APR_SUCCESS
       && strstr(line, "\"memory_growth\":null"), "unknown growth is null");
}

static void test_app(apr_pool_t *p)
{
    mt_record_t rec = base_record();
    mt_app_report_t app;
    char *line;
    apr_size_t len;
    json_object *o, *v, *gc;

    mt_proto_clear(&app);
    app.pid = 777;
    app.controller = "ItemsController";
    app.action = "index";
    app.gc_before.count = 10;
    app.gc_after.count = 12;
    app.gc_before.live_slots = 1000;
    app.gc_after.live_slots = 1500;
    app.qc_before = 0;
    app.qc_after = 3;
    rec.app = &app;
    rec.target = MT_TARGET_BACKEND;
    ok(mt_record_to_json(&line, &len, &rec, 4096, NULL, p) == APR_SUCCESS, "builds with app");
    o = parse_line(line, len);
    json_object_object_get_ex(o, "controller", &v);
    is_str(json_object_get_string(v), "ItemsController", "controller");
    json_object_object_get_ex(o, "objects_after", &v);
    is_int(json_object_get_int64(v), 1500, "objects_after = live slots");
    json_object_object_get_ex(o, "gc_stats_after", &gc);
    json_object_object_get_ex(gc, "count", &v);
    is_int(json_object_get_int64(v), 12, "gc count after");
    json_object_object_get_ex(gc, "major_gc_count", &v);
    ok(v == NULL, "unreported GC key is null");
    json_object_object_get_ex(o, "query_cache_after", &v);
    is_int(json_object_get_int64(v), 3, "query cache after");
    json_object_put(o);
}

static void test_hostile(apr_pool_t *p)
{
    mt_record_t rec = base_record();
    char *url = apr_palloc(p, 20001), *line;
    apr_size_t len;
    json_object *o, *v;

    for (int i = 0; i < 20000; i++) {
        url[i] = "\"\\\x01\x1f\xff\xc3/a\n"[i % 9];
    }
    url[20000] = '\0';
    rec.url = url;
    rec.host = "h\"o\\st\x7f";
    ok(mt_record_to_json(&line, &len, &rec, 4096, NULL, p) == APR_SUCCESS, "builds hostile");
    ok(len <= 4096, "fits PIPE_BUF (%zu)", len);
    o = parse_line(line, len);
    ok(o != NULL, "still one valid JSON line");
    json_object_object_get_ex(o, "url", &v);
    ok(v && strstr(json_object_get_string(v), MT_CUT_MARKER), "url cut with marker");
    json_object_object_get_ex(o, "request_id", &v);
    is_str(json_object_get_string(v), "abc123", "other fields intact");
    json_object_put(o);
    for (int i = 0; i < 20000; i++) url[i] = 'x';
    ok(mt_record_to_json(&line, &len, &rec, 4096, NULL, p) == APR_SUCCESS && len <= 4096
       && len > 2000, "plain long url keeps as much as fits (%zu)", len);
    ok(mt_record_to_json(&line, &len, &rec, 64, NULL, p) == APR_ENOSPC, "impossible limit refused");
}

/* A small deterministic generator for varied records. */
static unsigned long lcg_state = 12345;
static unsigned pick(unsigned n)
{
    lcg_state = lcg_state * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned)(lcg_state >> 33) % n;
}

static apr_int64_t maybe(apr_int64_t v)
{
    return pick(4) == 0 ? MT_UNKNOWN : v;
}

static const char *some_string(apr_pool_t *p)
{
    static const char *const pool[] = {
        NULL, "", "x", "/items", "ItemsController", "caf\xc3\xa9 \"q\" \\",
        "\x01\x02\xff", "a much longer string than the ones before it, "
        "so that the writer's string buffers must grow",
    };
    unsigned i = pick(sizeof(pool) / sizeof(pool[0]) + 1);

    if (i < sizeof(pool) / sizeof(pool[0])) return pool[i];
    {   /* sometimes far too long for the line: cut */
        apr_size_t n = 100 + pick(9000);
        char *s = apr_palloc(p, n + 1);
        for (apr_size_t k = 0; k < n; k++) s[k] = "ab\"\\/\n\xc3\xa9"[pick(9)];
        s[n] = '\0';
        return s;
    }
}

static void random_record(mt_record_t *rec, mt_app_report_t *app,
                          apr_pool_t *p)
{
    *rec = base_record();
    rec->request_id = pick(8) ? "id-1" : NULL;
    rec->url = some_string(p);
    rec->host = some_string(p);
    rec->method = pick(2) ? "GET" : some_string(p);
    rec->server = some_string(p);
    rec->status = (int)pick(600);
    rec->pid = pick(5) ? (int)pick(40000) : 0;
    rec->httpd_pid = pick(5) ? (int)pick(40000) : -1;
    rec->fds = pick(3) ? (int)pick(100) : -1;
    rec->before.rss_bytes = maybe(pick(1u << 30));
    rec->after.rss_bytes = maybe(pick(1u << 30));
    rec->after.swap_bytes = maybe(pick(1u << 20));
    rec->after.peak_rss_bytes = maybe(pick(1u << 30));
    rec->after.rss_anon_bytes = maybe(pick(1u << 30));
    rec->after.shared_bytes = maybe(pick(1u << 30));
    rec->threshold_bytes = pick(3) ? (apr_int64_t)pick(1u << 26) : 0;
    rec->overhead_us = maybe(pick(1000));
    rec->request_time = pick(1000) / 997.0;
    rec->attribution = pick(3) ? "header" : NULL;
    rec->app = NULL;
    rec->target = MT_TARGET_SELF;
    if (pick(2)) {
        memset(app, 0, sizeof(*app));
        app->gc_before.count = maybe(pick(100));
        app->gc_before.minor = maybe(pick(100));
        app->gc_before.major = maybe(pick(100));
        app->gc_before.live_slots = maybe(pick(100000));
        app->gc_before.old_objects = maybe(pick(100000));
        app->gc_before.allocated = maybe(pick(1000000));
        app->gc_before.freed = maybe(pick(1000000));
        app->gc_after = app->gc_before;
        if (pick(3) == 0) {     /* the app reported no GC numbers at all */
            app->gc_after.count = app->gc_after.minor = app->gc_after.major
                = app->gc_after.live_slots = app->gc_after.old_objects
                = app->gc_after.allocated = app->gc_after.freed = MT_UNKNOWN;
        }
        app->qc_before = maybe(pick(10));
        app->qc_after = maybe(pick(10));
        app->uss_bytes = maybe(pick(1u << 30));
        app->pss_bytes = maybe(pick(1u << 30));
        app->controller = some_string(p);
        app->action = some_string(p);
        rec->app = app;
        rec->target = MT_TARGET_BACKEND;
    }
}

static int gc_known(const mt_gc_t *gc)
{
    return gc->count != MT_UNKNOWN || gc->minor != MT_UNKNOWN
           || gc->major != MT_UNKNOWN || gc->live_slots != MT_UNKNOWN
           || gc->old_objects != MT_UNKNOWN || gc->allocated != MT_UNKNOWN
           || gc->freed != MT_UNKNOWN;
}

/* One writer reused for many different records writes exactly what a new
 * writer writes for each: no value, null or string length carries over. */
static void test_writer_reuse(apr_pool_t *p)
{
    mt_json_writer_t *w = mt_json_writer_create();
    int same = 0, valid = 0, nulls_ok = 0, n = 3000;
    char *first = NULL;      /* in keep: p is cleared after each record */
    apr_pool_t *keep;

    ok(w != NULL, "writer created");
    apr_pool_create(&keep, NULL);
    for (int i = 0; i < n; i++) {
        mt_record_t rec;
        mt_app_report_t app;
        char *a, *b;
        apr_size_t alen, blen;
        apr_status_t ra, rb;
        json_object *o, *v;

        random_record(&rec, &app, p);
        ra = mt_record_to_json(&a, &alen, &rec, 4096, w, p);
        rb = mt_record_to_json(&b, &blen, &rec, 4096, NULL, p);
        if (ra == rb && (ra != APR_SUCCESS || (alen == blen
                                              && memcmp(a, b, alen) == 0))) {
            same++;
        }
        else if (!first) {
            first = apr_psprintf(keep, "record %d:\n  reused: %.*s\n  fresh:  %.*s",
                                 i, (int)alen, a, (int)blen, b);
        }
        if (ra != APR_SUCCESS || !(o = parse_line(a, alen))) continue;
        valid++;
        json_object_object_get_ex(o, "memory_after", &v);
        if ((rec.after.rss_bytes == MT_UNKNOWN) == (v == NULL)
            && (!v || json_object_get_int64(v) == rec.after.rss_bytes)
            && json_object_object_get_ex(o, "memory_growth", &v)
            && (!v || json_object_get_int64(v)
                      == rec.after.rss_bytes - rec.before.rss_bytes)
            && json_object_object_get_ex(o, "gc_stats_after", &v)
            && (rec.app != NULL && gc_known(&rec.app->gc_after)) == (v != NULL)
            && json_object_object_get_ex(o, "controller", &v)
            && (rec.app && rec.app->controller) == (v != NULL)) {
            nulls_ok++;
        }
        json_object_put(o);
        apr_pool_clear(p);
    }
    ok(same == n, "reused writer = new writer for %d of %d records%s%s",
       same, n, first ? "; first difference, " : "", first ? first : "");
    ok(valid == n, "%d of %d lines valid JSON", valid, n);
    ok(nulls_ok == n, "null exactly where the record has no value: %d of %d",
       nulls_ok, n);
    mt_json_writer_destroy(w);
    apr_pool_destroy(keep);
}

static void test_layout(apr_pool_t *p)
{
    mt_record_t rec = base_record();
    char *line;
    apr_size_t len;

    rec.server = "vm";
    ok(mt_record_to_json(&line, &len, &rec, 4096, NULL, p) == APR_SUCCESS,
       "builds");
    ok(strncmp(line, "{\"request_id\":\"abc123\",\"time\":\"", 31) == 0,
       "fields in record order: %.40s", line);
    ok(strstr(line, "\"request_time\":0.012500,") != NULL,
       "request_time in seconds with microseconds");
    ok(strstr(line, "\"threshold_exceeded\":false,") != NULL, "boolean");
    ok(strstr(line, "\"memory_growth\":20000000,") != NULL, "integer");
    rec.before.rss_bytes = 9223372036854775807LL;
    rec.after.rss_bytes = 0;
    ok(mt_record_to_json(&line, &len, &rec, 4096, NULL, p) == APR_SUCCESS
       && strstr(line, "\"memory_before\":9223372036854775807,")
       && strstr(line, "\"memory_growth\":-9223372036854775807,"),
       "largest and negative integers");
    ok(strstr(line, ",\"server\":\"vm\",\"endpoint\":") != NULL
       && len > 2 && strcmp(line + len - 2, "}\n") == 0,
       "server before the analysis fields, one newline: %s",
       line + (len > 40 ? len - 40 : 0));
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_fields(p);
    test_app(p);
    test_hostile(p);
    test_layout(p);
    test_writer_reuse(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
