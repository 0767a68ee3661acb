/* Unit tests: heap diffs as JSON and HTML (src/mt_heapview.c). A view with
 * a running attempt and two results, whose names (endpoint, app root,
 * class, file, message) are hostile: quotes, backslashes, newlines,
 * control bytes, invalid UTF-8 and markup. The JSON is read back with
 * json-c in strict mode with UTF-8 validation; the HTML holds no markup of
 * theirs. */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <json.h>

#include "mt_tap.h"
#include "mt_heapview.h"

static apr_pool_t *pool;

#define HOSTILE "</script><b onclick=\"x\">'q'\\\n\x01\xff\xfe"

static json_object *parse(const char *s, apr_size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, s, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        printf("# json error: %s in %s\n",
               json_tokener_error_desc(json_tokener_get_error(tok)), s);
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static json_object *path(json_object *o, const char *p)
{
    char *copy = apr_pstrdup(pool, p), *last, *k;

    for (k = apr_strtok(copy, ".", &last); k && o;
         k = apr_strtok(NULL, ".", &last)) {
        if (k[0] >= '0' && k[0] <= '9') o = json_object_array_get_idx(o, atoi(k));
        else if (!json_object_object_get_ex(o, k, &o)) o = NULL;
    }
    return o;
}

static const char *str_at(json_object *o, const char *p)
{
    json_object *x = path(o, p);

    return x && json_object_is_type(x, json_type_string)
           ? json_object_get_string(x) : NULL;
}

static long long int_at(json_object *o, const char *p)
{
    json_object *x = path(o, p);

    return x ? json_object_get_int64(x) : -99;
}

static int has(const char *s, const char *needle)
{
    return s && strstr(s, needle) != NULL;
}

static mt_heapctl_view_t *view(void)
{
    mt_heapctl_view_t *v = apr_pcalloc(pool, sizeof(*v));
    mt_heapctl_result_t *r = &v->results[0];
    mt_heapdiff_row_t *row = &r->diff.rows[0];

    apr_cpystrn(v->params.dir, "/var/lib/memtrack/heap", sizeof(v->params.dir));
    v->params.auto_on = 1;
    v->params.requests = 200;
    v->params.interval_sec = 3600;
    v->confirm = 0xabcdef0123456789ULL;
    v->cur.state = MT_HEAPCTL_WAIT;
    v->cur.step = 1;
    v->cur.pid = 99;
    v->cur.needed = 200;
    v->cur.count = 17;
    apr_cpystrn(v->cur.endpoint_name, "Other#x", sizeof(v->cur.endpoint_name));
    v->n_results = 2;
    r->a.token = 77;
    r->a.outcome = MT_HEAPCTL_DONE;
    r->a.pid = 4242;
    r->a.between[0] = 200;
    r->a.between[1] = 201;
    r->a.snap[0].at = r->a.snap[1].at = r->a.snap[2].at = 1000000;
    r->a.snap[0].bytes = 58804096;
    r->a.snap[0].pause_us = 543000;
    r->a.snap[0].gc = 191;
    apr_cpystrn(r->a.endpoint_name, HOSTILE, sizeof(r->a.endpoint_name));
    apr_cpystrn(r->a.app_root, HOSTILE, sizeof(r->a.app_root));
    apr_cpystrn(r->a.message, "kept " HOSTILE, sizeof(r->a.message));
    r->diff.mode = MT_HEAPDIFF_GENERATIONS;
    r->diff.n_rows = 2;
    r->diff.kept_objects = 201;
    apr_cpystrn(row->type, "STRING", sizeof(row->type));
    apr_cpystrn(row->class_name, HOSTILE, sizeof(row->class_name));
    apr_cpystrn(row->file, "app/" HOSTILE ".rb", sizeof(row->file));
    row->file_cut = 1;
    row->line = 15;
    row->count = 200;
    row->bytes = 4008200;
    row->generations = 35;
    row->gen_first = 191;
    row->gen_last = 246;
    apr_cpystrn(r->diff.rows[1].type, "IMEMO", sizeof(row->type));
    r->diff.rows[1].line = -1;
    r->diff.rows[1].gen_first = r->diff.rows[1].gen_last = -1;
    v->results[1].a.token = 76;
    v->results[1].a.outcome = MT_HEAPCTL_FAILED;
    apr_cpystrn(v->results[1].a.endpoint_name, HOSTILE,
                sizeof(v->results[1].a.endpoint_name));
    apr_cpystrn(v->results[1].a.message, "process 1 ended",
                sizeof(v->results[1].a.message));
    return v;
}

static void test_json(void)
{
    mt_heapctl_view_t *v = view();
    json_object *o;
    mt_buf_t b;

    mt_buf_init(&b, 256, pool);
    mt_buf_putc(&b, '{');
    mt_heapview_json(&b, v);
    mt_buf_putc(&b, '}');
    o = parse(b.data, b.len);
    if (!ok(o != NULL, "the top-level object is strict JSON with valid UTF-8")) {
        printf("# %s\n", b.data);
    }
    ok(json_object_get_boolean(path(o, "heap_diff.enabled")), "enabled");
    is_str(str_at(o, "heap_diff.confirm"), "abcdef0123456789", "confirm as hex");
    is_str(str_at(o, "heap_diff.current.state"), "waiting", "the current state");
    is_int(int_at(o, "heap_diff.current.requests_since_snapshot"), 17, "count");
    is_int(int_at(o, "heap_diff.results.0.token"), 77, "the newest result first");
    is_str(str_at(o, "heap_diff.results.0.outcome"), "done", "its outcome");
    ok(has(str_at(o, "heap_diff.results.0.endpoint"), "</script>"),
       "a hostile endpoint name survives, as data");
    ok(has(str_at(o, "heap_diff.results.0.endpoint"), "\xef\xbf\xbd"),
       "invalid bytes as U+FFFD");
    is_str(str_at(o, "heap_diff.results.0.diff.mode"), "generations", "mode");
    is_int(int_at(o, "heap_diff.results.0.diff.top.0.count"), 200, "a row");
    is_int(int_at(o, "heap_diff.results.0.diff.top.0.rank"), 1, "its rank");
    ok(has(str_at(o, "heap_diff.results.0.diff.top.0.site"), "...app/"),
       "a cut file's site starts with ...");
    {
        json_object *row = path(o, "heap_diff.results.0.diff.top.1"), *line;
        ok(row && json_object_object_get_ex(row, "line", &line) && !line,
           "an untraced row: line null");
    }
    is_int(int_at(o, "heap_diff.results.0.snapshots.0.bytes"), 58804096,
           "snapshot figures");
    is_str(str_at(o, "heap_diff.results.1.outcome"), "failed", "the older");
    ok(json_object_is_type(path(o, "heap_diff.results.1.diff"), json_type_null),
       "a failed attempt has no diff");
    json_object_put(o);
    mt_buf_init(&b, 256, pool);
    mt_buf_putc(&b, '{');
    mt_heapview_json_endpoint(&b, v, "Nobody#here");
    mt_buf_putc(&b, '}');
    is_str(b.data, "{\"heap_diff\":null}", "an endpoint without a result: null");

    mt_buf_init(&b, 256, pool);
    mt_buf_putc(&b, '{');
    mt_heapview_json_endpoint(&b, v, v->results[0].a.endpoint_name);
    mt_buf_putc(&b, '}');
    o = parse(b.data, b.len);
    is_int(int_at(o, "heap_diff.token"), 77, "per endpoint: its latest result");
    json_object_put(o);
    mt_buf_init(&b, 256, pool);
    mt_buf_putc(&b, '{');
    mt_heapview_json(&b, NULL);
    mt_buf_putc(&b, '}');
    is_str(b.data, "{\"heap_diff\":null}", "not configured: null");
    mt_buf_init(&b, 256, pool);
    mt_heapview_diff_json(&b, &v->results[1].diff);
    is_str(b.data, "null", "no diff: null");
}

static void test_html(void)
{
    mt_heapctl_view_t *v = view();
    mt_buf_t b;

    mt_buf_init(&b, 256, pool);
    mt_heapview_html(&b, v);
    ok(strstr(b.data, "<h2 id=\"heapdiffs\">Heap diffs</h2>") != NULL, "a section");
    ok(!strstr(b.data, "</script>") && !strstr(b.data, "<b onclick"),
       "no markup of theirs");
    ok(strstr(b.data, "&lt;/script&gt;") != NULL, "escaped");
    ok(strstr(b.data, "name=\"confirm\" value=\"abcdef0123456789\"") != NULL,
       "the forms quote the confirmation token");
    ok(strstr(b.data, "cancel the running attempt") != NULL, "and can cancel");
    ok(strstr(b.data, "4,008,200") || strstr(b.data, "3.8 MiB"),
       "the row's bytes");
    mt_buf_init(&b, 256, pool);
    mt_heapview_html_brief(&b, v, v->results[0].a.endpoint_name);
    ok(strstr(b.data, "heap diff</a> (done): kept most:") != NULL,
       "beside the verdict: %s", b.data);
    ok(strstr(b.data, "href=\"#heap77\"") != NULL, "linking to the result");
    mt_buf_init(&b, 256, pool);
    mt_heapview_html_brief(&b, v, "Nobody#here");
    is_int(b.len, 0, "nothing for an endpoint without a result");
    v->params.dir[0] = '\0';
    mt_buf_init(&b, 256, pool);
    mt_heapview_html(&b, v);
    is_int(b.len, 0, "no section when the heap diff is off");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_json();
    test_html();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
