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

    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS, "builds");
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
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS
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
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS, "builds with app");
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
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS, "builds hostile");
    ok(len <= 4096, "fits PIPE_BUF (%zu)", len);
    o = parse_line(line, len);
    ok(o != NULL, "still one valid JSON line");
    json_object_object_get_ex(o, "url", &v);
    ok(v && strstr(json_object_get_string(v), MT_CUT_MARKER), "url cut with marker");
    json_object_object_get_ex(o, "request_id", &v);
    is_str(json_object_get_string(v), "abc123", "other fields intact");
    json_object_put(o);
    for (int i = 0; i < 20000; i++) url[i] = 'x';
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS && len <= 4096
       && len > 2000, "plain long url keeps as much as fits (%zu)", len);
    ok(mt_record_to_json(&line, &len, &rec, 64, p) == APR_ENOSPC, "impossible limit refused");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_fields(p);
    test_app(p);
    test_hostile(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
