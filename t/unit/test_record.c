/* Unit tests: the JSON record, its limits, its escaping, its numbers; and
 * 100,000 random records with hostile strings read back with json-c
 * (mt_record_check.h says what each must be). */
#include <math.h>
#include <stdint.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <json.h>
#include "mt_tap.h"
#include "mt_record.h"
#include "mt_record_check.h"
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

/* Writes rec and checks it; the line, or NULL (a failed test) when the
 * writer or the check failed. */
static char *written(const mt_record_t *rec, apr_size_t max_len,
                     apr_pool_t *p)
{
    char *line;
    apr_size_t len;
    const char *why;

    if (mt_record_to_json(&line, &len, rec, max_len, p) != APR_SUCCESS) {
        ok(0, "record written");
        return NULL;
    }
    if ((why = mt_check_record(rec, line, len, max_len, p)) != NULL) {
        ok(0, "record as it must be: %s\n#   %s", why, line);
        return NULL;
    }
    return line;
}

static void test_fields(apr_pool_t *p)
{
    mt_record_t rec = base_record();
    char *line;
    apr_size_t len;
    json_object *o, *v;
    /* DESIGN.md's fixed list */
    static const char *required[] = {
        "request_id", "time", "host", "method", "url", "status", "controller",
        "action", "target", "pid", "memory_before", "memory_after",
        "memory_growth", "objects_before", "objects_after", "gc_stats_before",
        "gc_stats_after", "query_cache_before", "query_cache_after",
        "request_time", "threshold_exceeded", "endpoint", "server", NULL };

    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS, "builds");
    ok(mt_check_record(&rec, line, len, 4096, p) == NULL, "as it must be");
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
    json_object_object_get_ex(o, "endpoint", &v);
    ok(v == NULL, "endpoint null when not named");
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
    ok((line = written(&rec, 4096, p)) && strstr(line, "\"memory_growth\":-5000,"),
       "negative growth written");
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
    rec.endpoint = "ItemsController#index";
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS, "builds with app");
    ok(mt_check_record(&rec, line, len, 4096, p) == NULL, "as it must be");
    o = parse_line(line, len);
    json_object_object_get_ex(o, "controller", &v);
    is_str(json_object_get_string(v), "ItemsController", "controller");
    json_object_object_get_ex(o, "endpoint", &v);
    is_str(json_object_get_string(v), "ItemsController#index", "endpoint");
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
    ok(strstr(line, "\"gc_stats_after\":{\"count\":12,\"minor_gc_count\":null,")
       != NULL, "gc_stats: an object in its key order");
    mt_proto_clear(&app);
    ok((line = written(&rec, 4096, p))
       && strstr(line, "\"gc_stats_before\":null,\"gc_stats_after\":null,"),
       "gc_stats null when the app gave no GC number");
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
    ok(mt_check_record(&rec, line, len, 4096, p) == NULL, "as it must be");
    o = parse_line(line, len);
    ok(o != NULL, "still one valid JSON line");
    json_object_object_get_ex(o, "url", &v);
    ok(v && strstr(json_object_get_string(v), MT_CUT_MARKER), "url cut with marker");
    json_object_object_get_ex(o, "host", &v);
    is_str(json_object_get_string(v), "h\"o\\st\x7f", "quote, backslash, DEL intact");
    json_object_object_get_ex(o, "request_id", &v);
    is_str(json_object_get_string(v), "abc123", "other fields intact");
    json_object_put(o);
    ok(strstr(line, "\"host\":\"h\\\"o\\\\st\\u007f\"") != NULL,
       "escaped as JSON: %.60s", strstr(line, "\"host\""));
    for (int i = 0; i < 20000; i++) url[i] = 'x';
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS && len <= 4096
       && len > 2000, "plain long url keeps as much as fits (%zu)", len);
    ok(mt_record_to_json(&line, &len, &rec, 64, p) == APR_ENOSPC, "impossible limit refused");
}

/* Every string at its cap, every byte a control byte (6 bytes escaped):
 * the url is cut to MT_CUT_MIN, then the others alike, and the line fits. */
static void test_cut_order(apr_pool_t *p)
{
    mt_record_t rec = base_record();
    mt_app_report_t app;
    char *big = apr_palloc(p, 4001), *line;
    apr_size_t len;
    json_object *o, *v;

    memset(big, '\x01', 4000);
    big[4000] = '\0';
    mt_proto_clear(&app);
    app.controller = app.action = big;
    rec.app = &app;
    rec.url = rec.host = rec.method = rec.endpoint = rec.attribution
        = rec.server = big;
    rec.request_id = rec.target = rec.before_source = big + 4000 - 128;
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS,
       "every string hostile and at its cap: written");
    ok(mt_check_record(&rec, line, len, 4096, p) == NULL,
       "as it must be: %s", mt_check_record(&rec, line, len, 4096, p));
    o = parse_line(line, len);
    json_object_object_get_ex(o, "url", &v);
    ok(v && json_object_get_string_len(v) <= MT_CUT_MIN, "url down to MT_CUT_MIN");
    json_object_object_get_ex(o, "request_id", &v);
    ok(v && json_object_get_string_len(v) == 128, "request_id never cut");
    json_object_put(o);
    rec.request_id = "abc";
    rec.target = MT_TARGET_SELF;
    rec.before_source = MT_BEFORE_MODULE;
    rec.host = rec.method = rec.endpoint = rec.attribution = rec.server
        = "short";
    rec.app = NULL;
    ok((line = written(&rec, 4096, p)) != NULL, "only the url long: cut alone");
}

static void test_layout(apr_pool_t *p)
{
    mt_record_t rec = base_record();
    char *line;
    apr_size_t len;

    rec.server = "vm";
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS,
       "builds");
    ok(strncmp(line, "{\"request_id\":\"abc123\",\"time\":\"", 31) == 0,
       "fields in record order: %.40s", line);
    ok(strstr(line, "\"url\":\"/items?page=2\",\"endpoint\":null,\"status\":")
       != NULL, "endpoint after url");
    ok(strstr(line, "\"request_time\":0.012500,") != NULL,
       "request_time in seconds with microseconds");
    ok(strstr(line, "\"threshold_exceeded\":false,") != NULL, "boolean");
    ok(strstr(line, "\"memory_growth\":20000000,") != NULL, "integer");
    rec.before.rss_bytes = 9223372036854775807LL;
    rec.after.rss_bytes = 0;
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS
       && strstr(line, "\"memory_before\":9223372036854775807,")
       && strstr(line, "\"memory_growth\":-9223372036854775807,"),
       "largest and negative integers");
    ok(strstr(line, ",\"server\":\"vm\",\"pid_start\":") != NULL
       && len > 2 && strcmp(line + len - 2, "}\n") == 0,
       "server, then the analysis fields, one newline: %s",
       line + (len > 40 ? len - 40 : 0));
    for (int i = 0; i < mt_record_field_count; i++) {
        for (int j = 0; j < i; j++) {
            if (!strcmp(mt_record_fields[i].name, mt_record_fields[j].name)) {
                ok(0, "field %s twice in the table", mt_record_fields[i].name);
            }
        }
    }
}

/* Integers at every digit count, both signs, the int64 extremes. */
static void test_integers(apr_pool_t *p)
{
    mt_record_t rec = base_record();
    int good = 0, n = 0;
    char *line, want[48];
    apr_size_t len;
    uint64_t u = 1;

    for (int d = 0; d < 20; d++, u *= 10) {
        const apr_int64_t vals[] = {
            (apr_int64_t)(u - 1), (apr_int64_t)u, (apr_int64_t)(u + 1),
            -(apr_int64_t)(u + 1),
        };
        for (int k = 0; k < 4; k++) {
            if (d == 19 && k != 0) continue;  /* 10^19 > INT64_MAX */
            rec.overhead_us = vals[k];
            snprintf(want, sizeof(want), "\"overhead_us\":%" APR_INT64_T_FMT ",",
                     vals[k]);
            n++;
            good += mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS
                    && (vals[k] == MT_UNKNOWN || strstr(line, want) != NULL);
        }
    }
    ok(good == n, "integers of every length: %d of %d", good, n);
    rec.overhead_us = INT64_MIN;
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS
       && strstr(line, "\"overhead_us\":-9223372036854775808,"), "INT64_MIN");
    rec.overhead_us = INT64_MAX;
    ok(mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS
       && strstr(line, "\"overhead_us\":9223372036854775807,"), "INT64_MAX");
    rec.status = -2147483647 - 1;
    ok(written(&rec, 4096, p) != NULL, "INT_MIN status");
}

/* request_time as "%.6f" would print it, for doubles of every kind. */
static void test_seconds(apr_pool_t *p)
{
    static const double some[] = {
        0.0, -0.0, 1e-300, 4.9e-324, 5e-7, 4.9999999e-7, 5.0000001e-7,
        1.0 / 128, 3.0 / 128, 5.0 / 128, 0.0000005, 0.0000015, 0.0000025,
        1.5e-6, 0.1, 0.0125, 1.0, 123.4567895, 999999.9999995, 4294.967296,
        8589934592.0, 8589934592.0000005, 99999999999.9999, 999999999999.9,
        1e12, 1e13, -1e-9, -1.0, INFINITY, -INFINITY, NAN,
    };
    mt_record_t rec = base_record();
    int good = 0, n = 0;
    unsigned long x = 88172645463325252UL;

    for (size_t i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
        rec.request_time = some[i];
        n++;
        good += written(&rec, 4096, p) != NULL;
    }
    for (int i = 0; i < 50000; i++) {
        double d;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        switch (i % 4) {
        case 0: d = (double)(x % 100000000000ULL) / 1e6; break;   /* us */
        case 1: d = (double)(x % (1ULL << 40)) / (double)(1ULL << (x % 40)); break;
        case 2: memcpy(&d, &x, sizeof(d)); break;                    /* any */
        default: d = (double)(x % 10000000) / 128.0; break;          /* ties */
        }
        rec.request_time = d;
        n++;
        good += written(&rec, 4096, p) != NULL;
        if (i % 1000 == 0) apr_pool_clear(p);
    }
    ok(good == n, "request_time as %%.6f prints it: %d of %d doubles", good, n);
}

/* time as mt_time_iso8601 writes it, across years 0 to 9999 and beyond. */
static void test_times(apr_pool_t *p)
{
    static const apr_time_t some[] = {
        0, 1, 999999, 1000000, 951782400000000LL /* 2000-02-29 */,
        1709164800123456LL /* 2024-02-29 */, 4107542399999999LL,
        253402300799999999LL /* 9999-12-31T23:59:59.999999 */,
        253402300800000000LL /* 10000-01-01: the slow way */,
        -1, -62135596800000000LL /* 0001-01-01 */,
    };
    mt_record_t rec = base_record();
    int good = 0, n = 0;
    unsigned long x = 2463534242UL;

    for (size_t i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
        rec.time = some[i];
        n++;
        good += written(&rec, 4096, p) != NULL;
    }
    for (int i = 0; i < 30000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rec.time = (apr_time_t)(x % 253402300800000000ULL);
        n++;
        good += written(&rec, 4096, p) != NULL;
        if (i % 1000 == 0) apr_pool_clear(p);
    }
    ok(good == n, "time as mt_time_iso8601 writes it: %d of %d", good, n);
}

/* ---- random records, hostile strings ---- */

static unsigned long long rnd_state = 0x9E3779B97F4A7C15ULL;
static unsigned long long rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}
static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }

/* Pieces of hostile text: valid UTF-8 of every length, invalid sequences
 * of every kind, JSON's special bytes, the marker itself. */
static const char *const pieces[] = {
    "a", "/", "?q=1&x=%20", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
    "\xef\xbf\xbd", "\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\x80",
    "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80",
    "\xfe", "\xff", "\xe2\x82", "\xf0\x9f\x98", "\xc3", "\"", "\\", "\\\"",
    "\x01", "\x1f", "\n", "\r", "\t", "\b", "\f", "\x7f", MT_CUT_MARKER,
    "\\u0000",
};

static char *hostile(apr_pool_t *p, apr_size_t cap)
{
    static const char *const usual[] = {
        "GET", "/items?page=2", "app.example.com", "ItemsController",
        "index", "header", "self", "backend", "web-01", "Xq3kV9aQq0C2Wm1bT8s4rA",
    };
    apr_size_t n, i, o = 0;
    char *s;

    switch (cap ? pick(12) : 2) {
    case 0: return NULL;
    case 1: return apr_pstrdup(p, "");
    case 2: return apr_pstrdup(p, usual[pick(10)]);
    case 3:                                    /* every byte value */
        s = apr_palloc(p, 256);
        for (i = 0; i < 255; i++) s[i] = (char)(1 + (i + pick(255)) % 255);
        s[255] = '\0';
        return s;
    case 4: case 5:                            /* random bytes */
        n = pick(16) ? pick((unsigned)cap * 2 + 2) : pick(10000);
        s = apr_palloc(p, n + 1);
        for (i = 0; i < n; i++) s[i] = (char)(1 + pick(255));
        s[n] = '\0';
        return s;
    case 6: case 7:                            /* pieces, around the cap */
        n = cap + 8 - pick(16) + (pick(4) ? 0 : cap * 2);
        s = apr_palloc(p, n + 8);
        while (o < n) {
            const char *piece = pieces[pick(sizeof(pieces) / sizeof(pieces[0]))];
            apr_size_t k = strlen(piece);
            if (o + k > n) break;
            memcpy(s + o, piece, k);
            o += k;
        }
        s[o] = '\0';
        return s;
    case 8:                                    /* plain, cap - 1 .. cap + 1 */
        n = cap - 1 + pick(3);
        s = apr_palloc(p, n + 1);
        memset(s, 'a' + (int)pick(26), n);
        s[n] = '\0';
        return s;
    case 9:                                    /* a long char across the cap */
        s = apr_palloc(p, cap + 8);
        n = cap - 1 - pick(4);
        memset(s, 'b', n);
        strcpy(s + n, pieces[3 + pick(4)]);
        return s;
    case 10:                                   /* all escaped, to the cap */
        n = cap - pick(3);
        s = apr_palloc(p, n + 1);
        for (i = 0; i < n; i++) s[i] = "\x01\"\\\n\x1f"[pick(5)];
        s[n] = '\0';
        return s;
    default:                                   /* a long plain url */
        n = 100 + (pick(8) ? pick(2500) : pick(9000));
        s = apr_palloc(p, n + 1);
        for (i = 0; i < n; i++) s[i] = "abc/?=&%-_.0123"[pick(15)];
        s[n] = '\0';
        return s;
    }
}

/* Mostly short strings (hostile or not), a third of them hostile(): so
 * that a record has one or a few long hostile strings, as it would. */
static char *some_str(apr_pool_t *p, apr_size_t cap)
{
    apr_size_t o = 0, n = pick(24);
    char *s;

    if (pick(3) == 0) return hostile(p, cap);
    if (pick(2)) return pick(8) ? hostile(p, 0) : NULL;
    s = apr_palloc(p, n + 8);
    while (o < n) {
        const char *piece = pieces[pick(sizeof(pieces) / sizeof(pieces[0]))];
        apr_size_t k = strlen(piece);
        if (o + k > n) break;
        memcpy(s + o, piece, k);
        o += k;
    }
    s[o] = '\0';
    return s;
}

static apr_int64_t some_int(void)
{
    switch (pick(8)) {
    case 0: return MT_UNKNOWN;
    case 1: return 0;
    case 2: return (apr_int64_t)pick(1000);
    case 3: return (apr_int64_t)(rnd() >> pick(64));
    case 4: return -(apr_int64_t)(rnd() >> (1 + pick(63)));
    case 5: return pick(2) ? INT64_MAX : INT64_MIN;
    case 6: return -2 - (apr_int64_t)pick(10);
    default: return (apr_int64_t)pick(1u << 30);
    }
}

/* Resident sizes stay within +-2^62, so that their difference is defined. */
static apr_int64_t some_size(void)
{
    apr_int64_t v = some_int();
    return v == MT_UNKNOWN ? v : v / 2;
}

static double some_seconds(void)
{
    unsigned long long x = rnd();
    double d;

    switch (pick(5)) {
    case 0: return (double)pick(10000000) / 1e6;
    case 1: return (double)pick(100000) / 128.0;
    case 2: memcpy(&d, &x, sizeof(d)); return d;
    case 3: return -(double)pick(1000);
    default: return (double)(x % 1000000000000000ULL) / 1e3;
    }
}

static void some_gc(mt_gc_t *gc)
{
    gc->count = some_int();
    gc->minor = some_int();
    gc->major = some_int();
    gc->live_slots = some_int();
    gc->old_objects = some_int();
    gc->allocated = some_int();
    gc->freed = some_int();
    if (pick(3) == 0) {
        gc->count = gc->minor = gc->major = gc->live_slots = gc->old_objects
            = gc->allocated = gc->freed = MT_UNKNOWN;
    }
}

static void random_record(mt_record_t *rec, mt_app_report_t *app,
                          apr_pool_t *p)
{
    memset(rec, 0, sizeof(*rec));
    rec->request_id = some_str(p, MT_ID_MAX);
    rec->time = pick(50) ? (apr_time_t)(rnd() % 4102444800000000ULL)
                         : (apr_time_t)(rnd() % 253402300800000000ULL);
    rec->host = some_str(p, MT_NAME_MAX);
    rec->method = some_str(p, MT_WORD_MAX);
    rec->url = some_str(p, MT_URL_MAX);
    rec->endpoint = some_str(p, MT_NAME_MAX);
    rec->status = (int)some_int();
    rec->target = some_str(p, MT_WORD_MAX);
    rec->pid = (int)some_int();
    rec->before_source = some_str(p, MT_WORD_MAX);
    rec->before.rss_bytes = some_size();
    rec->after.rss_bytes = some_size();
    rec->after.rss_anon_bytes = some_int();
    rec->after.shared_bytes = some_int();
    rec->after.swap_bytes = some_int();
    rec->after.peak_rss_bytes = some_int();
    rec->attribution = some_str(p, MT_NAME_MAX);
    rec->fds = (int)some_int();
    rec->request_time = some_seconds();
    rec->threshold_bytes = some_int();
    rec->overhead_us = some_int();
    rec->server = some_str(p, MT_NAME_MAX);
    rec->httpd_pid = (int)some_int();
    rec->app = NULL;
    if (pick(2)) {
        memset(app, 0, sizeof(*app));
        some_gc(&app->gc_before);
        some_gc(&app->gc_after);
        app->qc_before = some_int();
        app->qc_after = some_int();
        app->uss_bytes = some_int();
        app->pss_bytes = some_int();
        app->controller = some_str(p, MT_NAME_MAX);
        app->action = some_str(p, MT_NAME_MAX);
        rec->app = app;
    }
}

static void test_random(apr_pool_t *p, int n)
{
    int good = 0, cut = 0;
    char *first = NULL;      /* in keep: p is cleared after each record */
    apr_pool_t *keep;

    apr_pool_create(&keep, NULL);
    for (int i = 0; i < n; i++) {
        mt_record_t rec;
        mt_app_report_t app;
        char *line;
        apr_size_t len;
        const char *why = "not written";

        random_record(&rec, &app, p);
        if (mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS
            && (why = mt_check_record(&rec, line, len, 4096, p)) == NULL) {
            good++;
            cut += strstr(line, MT_CUT_MARKER "\"") != NULL;
        }
        else if (!first) {
            first = apr_psprintf(keep, "record %d: %s", i, why);
        }
        apr_pool_clear(p);
    }
    ok(good == n, "%d of %d random records with hostile strings read back "
       "exactly%s%s", good, n, first ? "; first failure, " : "",
       first ? first : "");
    ok(cut > n / 20, "and %d of them needed a cut", cut);
    apr_pool_destroy(keep);
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_fields(p);
    test_app(p);
    test_hostile(p);
    test_cut_order(p);
    test_layout(p);
    test_integers(p);
    test_seconds(p);
    test_times(p);
    test_random(p, 100000);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
