/* Unit tests: memtrack-report's heap diff input and output
 * (src/mt_report_hd*.c). A good result document is read back field by
 * field; every kind of bad one (not JSON, cut short, bytes after it, wrong
 * types, a string over its field, too many rows, bad UTF-8, a wrong
 * schema, a missing endpoint, too big) is refused with its reason and
 * counted, and the good ones beside it are kept; a symbolic link and a
 * FIFO are refused unread; a directory gives only its
 * memtrack-heapdiff-*.json files; 70 results keep the newest 64, newest
 * first; the three outputs: hostile class and file names escaped in the
 * HTML, strict JSON (json-c, strict mode) with every document, text in 80
 * columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <json.h>

#include "mt_tap.h"
#include "mt_report_out.h"

static apr_pool_t *pool;
static char dir[64];
static int said;
static char last_said[512];

static const char *doc(int token, const char *endpoint, const char *cls,
                       const char *file, const char *finished)
{
    return apr_psprintf(pool,
        "{\"schema\":1,\"token\":%d,\"endpoint\":\"%s\",\"pid\":4242,"
        "\"app_root\":\"/srv/app\",\"trigger\":\"demand\",\"forced\":true,"
        "\"started\":\"2026-12-01T10:00:00.000000Z\","
        "\"requests_between_snapshots\":200,\"requests_counted\":[199,201],"
        "\"snapshots\":[{\"snapshot\":1,\"bytes\":1000,\"pause_seconds\":0.5,"
        "\"gc_count\":10,\"time\":\"2026-12-01T10:00:01.000000Z\"}],"
        "\"outcome\":\"done\",\"message\":\"kept\",\"finished\":\"%s\","
        "\"diff\":{\"mode\":\"generations\",\"objects_read\":[1,2,3],"
        "\"bytes_read\":[4,5,6],\"bad_lines\":0,\"kept_objects\":300,"
        "\"kept_bytes\":12000,\"untraced_objects\":0,\"groups\":2,"
        "\"other_objects\":0,\"other_bytes\":0,\"seconds\":0.25,\"note\":null,"
        "\"top\":[{\"rank\":1,\"class\":\"%s\",\"type\":\"STRING\","
        "\"file\":\"%s\",\"line\":15,\"site\":\"x\",\"count\":200,"
        "\"bytes\":10000,\"generations\":190,\"generation_first\":11,"
        "\"generation_last\":200},{\"rank\":2,\"class\":null,\"type\":"
        "\"IMEMO\",\"file\":null,\"line\":null,\"site\":null,\"count\":100,"
        "\"bytes\":2000,\"generations\":1,\"generation_first\":null,"
        "\"generation_last\":null}]}}", token, endpoint, finished, cls, file);
}

static const char *good(int token, const char *finished)
{
    return doc(token, "HeapController#hoard", "String",
               "app/controllers/heap_controller.rb", finished);
}

static void hear(void *ctx, const char *name, const char *why)
{
    (void)ctx;
    said++;
    apr_snprintf(last_said, sizeof(last_said), "%s: %s", name, why);
}

static const char *write_file(const char *name, const char *data)
{
    const char *path = apr_psprintf(pool, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");

    fwrite(data, 1, strlen(data), f);
    fclose(f);
    return path;
}

static void test_good(void)
{
    mt_report_hd_t hd;
    char why[256];
    const char *d = good(77, "2026-12-01T10:05:00.000000Z");

    ok(mt_report_hd_parse(&hd, d, strlen(d), why, sizeof(why))
       == APR_SUCCESS, "a good document parses (%s)", why);
    is_int(hd.res.a.token, 77, "token");
    is_str(hd.res.a.endpoint_name, "HeapController#hoard", "endpoint");
    is_int(hd.res.a.pid, 4242, "pid");
    is_int(hd.res.a.trigger, MT_HEAPCTL_DEMAND, "trigger");
    is_int(hd.res.a.forced, 1, "forced");
    is_int(hd.res.a.outcome, MT_HEAPCTL_DONE, "outcome");
    is_int(hd.res.a.between[1], 201, "requests_counted");
    is_int(hd.res.a.snap[0].pause_us, 500000, "pause_seconds");
    ok(hd.res.a.finished > hd.res.a.started, "times");
    is_int(hd.res.diff.mode, MT_HEAPDIFF_GENERATIONS, "mode");
    is_int(hd.res.diff.kept_bytes, 12000, "kept_bytes");
    is_int(hd.res.diff.n_rows, 2, "rows");
    is_str(hd.res.diff.rows[0].file, "app/controllers/heap_controller.rb",
           "row file");
    is_int(hd.res.diff.rows[0].line, 15, "row line");
    is_int(hd.res.diff.rows[1].line, -1, "untraced row: no line");
    is_int(hd.res.diff.rows[1].gen_first, -1, "untraced row: no generation");
}

static void refused_n(const char *d, apr_size_t len, const char *want,
                      const char *name)
{
    mt_report_hd_t hd;
    char why[256];

    ok(mt_report_hd_parse(&hd, d, len, why, sizeof(why)) == APR_EINVAL,
       "refused: %s", name);
    if (!ok(strstr(why, want) != NULL, "  says '%s'", want)) {
        printf("#   it said '%s'\n", why);
    }
}

static void refused(const char *d, const char *want, const char *name)
{
    refused_n(d, strlen(d), want, name);
}

static void test_bad(void)
{
    const char *g = good(1, "2026-12-01T10:05:00.000000Z");
    char *huge = apr_palloc(pool, 300);
    const char *big;

    memset(huge, 'A', 299);
    huge[299] = '\0';
    refused("hello", "not JSON", "not JSON");
    refused_n(g, strlen(g) - 40, "cut short", "a truncated document");
    refused(apr_pstrcat(pool, g, " {}", NULL), "not JSON",
            "bytes after the document");
    refused("[1,2]", "not a JSON object", "an array");
    refused("{\"schema\":2,\"endpoint\":\"x\"}", "schema", "schema 2");
    refused("{\"schema\":1}", "endpoint: missing", "no endpoint");
    refused("{\"schema\":1,\"endpoint\":5}", "endpoint: not a string",
            "endpoint a number");
    refused("{\"schema\":1,\"endpoint\":\"x\",\"pid\":\"1\"}",
            "pid: not an integer", "pid a string");
    refused("{\"schema\":1,\"endpoint\":\"x\",\"pid\":-3}",
            "pid: out of range", "pid negative");
    refused("{\"schema\":1,\"endpoint\":\"x\",\"outcome\":\"won\"}",
            "outcome: not one of", "an unknown outcome");
    refused("{\"schema\":1,\"endpoint\":\"x\",\"diff\":[]}",
            "diff: not an object", "diff an array");
    refused("{\"schema\":1,\"endpoint\":\"x\",\"started\":\"soon\"}",
            "started: not a time", "a time that is not one");
    big = doc(1, "x", huge, "f.rb", "2026-12-01T10:05:00.000000Z");
    refused(big, "class: a string of 299 bytes", "a huge class");
    big = apr_psprintf(pool, "{\"schema\":1,\"endpoint\":\"x\",\"diff\":"
                       "{\"top\":[%s{}]}}", apr_pstrcat(pool,
                       "{},{},{},{},{},{},{},{},{},{},", "{},{},{},{},{},{},"
                       "{},{},{},{},", NULL));
    refused(big, "more than 20 rows", "21 rows");
    refused("{\"schema\":1,\"endpoint\":\"\xff\xfe\"}", "not JSON",
            "bad UTF-8");
    refused("{\"schema\":1,\"endpoint\":\"x\",\"forced\":1}",
            "forced: not a boolean", "forced a number");
    big = apr_psprintf(pool, "{\"schema\":1,\"endpoint\":\"x\",\"m\":\"%*s\"}",
                       MT_REPORT_HD_DOC_MAX, "");
    refused(big, "over", "over the document limit");
    refused("{\"schema\":1,\"endpoint\":\"x\",\"a\":[[[[[[[[[[1]]]]]]]]]]}", "not JSON", "nested too deep");
}

static void test_files(void)
{
    mt_report_hds_t s;
    char *sub = apr_psprintf(pool, "%s/d", dir);

    mkdir(sub, 0700);
    write_file("d/memtrack-heapdiff-1.json",
               good(1, "2026-12-01T10:05:00.000000Z"));
    write_file("d/memtrack-heapdiff-2.json",
               good(2, "2026-12-01T11:05:00.000000Z"));
    write_file("d/memtrack-heapdiff-3.json", "{\"schema\":1,");
    write_file("d/other.json", "not read");
    symlink("/etc/passwd", apr_psprintf(pool, "%s/memtrack-heapdiff-4.json",
                                        sub));
    mkfifo(apr_psprintf(pool, "%s/memtrack-heapdiff-5.json", sub), 0600);
    said = 0;
    mt_report_hds_init(&s, hear, NULL, pool);
    mt_report_hds_path(&s, sub);
    mt_report_hds_sort(&s);
    is_int(s.n, 2, "the two good results of the directory kept");
    is_int(s.bad, 3, "a truncated file, a link and a FIFO skipped");
    is_int(said, 3, "each said once");
    is_int(s.items[0].res.a.token, 2, "newest first");
    ok(strstr(s.items[0].source, "memtrack-heapdiff-2.json") != NULL,
       "its source is its file");
    is_int(s.failed, 0, "the directory was read");
    mt_report_hds_path(&s, apr_psprintf(pool, "%s/memtrack-heapdiff-4.json",
                                        sub));
    ok(strstr(last_said, "symbolic link") != NULL, "a link named as file "
       "is refused too (%s)", last_said);
    mt_report_hds_path(&s, apr_psprintf(pool, "%s/nothing-here", dir));
    is_int(s.failed, 1, "a missing path fails the input");
    is_int(s.n, 2, "and loses nothing else");
}

static void test_bound(void)
{
    mt_report_hds_t s;
    mt_report_hd_t hd;
    char why[256];
    int i;

    mt_report_hds_init(&s, hear, NULL, pool);
    for (i = 0; i < 70; i++) {
        const char *d = good(i + 1, apr_psprintf(pool,
                             "2026-12-01T10:%02d:00.000000Z", i % 60 == i
                             ? i : 59));
        mt_report_hd_parse(&hd, d, strlen(d), why, sizeof(why));
        hd.res.a.finished += i;     /* strictly increasing */
        mt_report_hds_add(&s, &hd);
    }
    mt_report_hds_sort(&s);
    is_int(s.n, MT_REPORT_HD_KEEP, "64 kept");
    is_int(s.left_out, 6, "6 left out");
    is_int(s.items[0].res.a.token, 70, "the newest first");
    is_int(s.items[63].res.a.token, 7, "the oldest kept is the 7th");
}

/* The outputs over an empty report with these results. */
static void render(mt_buf_t *b, const mt_report_hds_t *s, int form)
{
    mt_report_opts_t o;
    mt_report_t *r;
    mt_report_view_t v;

    mt_report_opts_default(&o);
    mt_report_create(&r, &o, pool);
    mt_report_finish(r);
    mt_report_view(&v, r, NULL, 0, pool);
    v.version = "test";
    v.heap_diffs = s;
    mt_buf_init(b, 1 << 16, pool);
    if (form == 0) mt_report_text(b, &v);
    else if (form == 1) mt_report_json(b, &v);
    else mt_report_html(b, &v);
}

static void test_outputs(void)
{
    mt_report_hds_t s;
    mt_buf_t b;
    json_tokener *tok;
    json_object *root, *arr, *top;
    const char *d = doc(9, "Evil#<img src=x onerror=alert(1)>",
                        "<script>alert(1)</script>",
                        "app/\\\"><svg onload=alert(2)>.rb",
                        "2026-12-01T10:05:00.000000Z");
    const char *line, *nl;
    int wide = 0;

    mt_report_hds_init(&s, hear, NULL, pool);
    mt_report_hds_take(&s, "hostile.json", "web-a", d, strlen(d));
    is_int(s.n, 1, "the hostile document is a valid one");
    render(&b, &s, 2);
    ok(strstr(b.data, "<script>alert") == NULL, "HTML: no raw script tag");
    ok(strstr(b.data, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL,
       "HTML: the class escaped");
    ok(strstr(b.data, "<svg onload") == NULL
       && strstr(b.data, "&lt;svg onload=alert(2)&gt;") != NULL,
       "HTML: the file escaped");
    ok(strstr(b.data, "<img src=x") == NULL, "HTML: the endpoint escaped");
    ok(strstr(b.data, "id=\"heapdiffs\"") != NULL, "HTML: the section");
    render(&b, &s, 1);
    tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, b.data, (int)b.len);
    ok(root && json_tokener_get_error(tok) == json_tokener_success,
       "JSON: strict JSON");
    ok(root && json_object_object_get_ex(root, "heap_diffs", &arr)
       && json_object_array_length(arr) == 1, "JSON: heap_diffs, one");
    top = arr ? json_object_object_get(json_object_object_get(
              json_object_array_get_idx(arr, 0), "diff"), "top") : NULL;
    is_str(top ? json_object_get_string(json_object_object_get(
               json_object_array_get_idx(top, 0), "class")) : NULL,
           "<script>alert(1)</script>", "JSON: the class as it was");
    is_str(json_object_get_string(json_object_object_get(
               json_object_array_get_idx(arr, 0), "server")), "web-a",
           "JSON: its server");
    json_object_put(root);
    json_tokener_free(tok);
    render(&b, &s, 0);
    ok(strstr(b.data, "heap diffs") != NULL, "text: the section");
    for (line = b.data; *line; line = nl + 1) {
        apr_size_t w = 0;
        const char *q;
        nl = strchr(line, '\n');
        if (!nl) break;
        for (q = line; q < nl; q++) w += ((unsigned char)*q & 0xC0) != 0x80;
        if (w > 80 && ++wide) printf("# wide: %.*s\n", (int)(nl - line), line);
    }
    is_int(wide, 0, "text: every line in 80 columns");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    snprintf(dir, sizeof(dir), "/tmp/mt-unit-report-hd-%d", (int)getpid());
    mkdir(dir, 0700);
    test_good();
    test_bad();
    test_files();
    test_bound();
    test_outputs();
    if (system(apr_psprintf(pool, "rm -rf '%s'", dir)) != 0) {
        printf("# could not remove %s\n", dir);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
