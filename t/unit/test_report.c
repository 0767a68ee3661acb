/* Unit tests: memtrack-report's core (src/mt_report*.c): the reading of
 * files (plain and gzip, lines over the limit, no final newline, cut and
 * trailing gzip), the reorder window (a probe's result logged before the
 * record that started it is still counted; without the window it is
 * refused, as the module would), the fleet's processes (pids of two hosts
 * told apart, a reused pid a new process, the real pid and server in the
 * report), the servers' limit, the time range, memory that does not grow
 * with records, and the three outputs (the JSON parses with json-c, the
 * text fits 80 columns, the HTML is one document). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <json.h>

#include "mt_tap.h"
#include "mt_report.h"
#include "mt_report_out.h"
#include "mt_sample.h"

static apr_pool_t *pool;
static char dir[64];

static const char *path_of(const char *name)
{
    return apr_psprintf(pool, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *data, apr_size_t n)
{
    FILE *f = fopen(path_of(name), "wb");

    fwrite(data, 1, n, f);
    fclose(f);
}

static void write_gz(const char *name, const char *data, apr_size_t n)
{
    gzFile g = gzopen(path_of(name), "wb9");

    gzwrite(g, data, (unsigned)n);
    gzclose(g);
}

/* Every line of an input: how many, how many too long, the last one. */
static int lines_of(const char *name, int *too_long, char *last, apr_size_t cap,
                    const char **problem)
{
    mt_report_input_t *in = mt_report_input_file(path_of(name), pool);
    const char *line;
    apr_size_t len;
    apr_status_t rv;
    int n = 0;

    *too_long = 0;
    while ((rv = mt_report_input_next(in, &line, &len)) != APR_EOF) {
        n++;
        if (rv == APR_ENOSPC) { (*too_long)++; continue; }
        apr_cpystrn(last, line, len + 1 < cap ? len + 1 : cap);
    }
    *problem = in->problem;
    mt_report_input_close(in);
    return n;
}

static void test_input(void)
{
    char *big = malloc(3 << 20), last[64] = "";
    const char *problem;
    int too_long, n;

    write_file("a.txt", "one\ntwo\r\nthree", 14);
    n = lines_of("a.txt", &too_long, last, sizeof(last), &problem);
    ok(n == 3 && !too_long && !strcmp(last, "three") && !problem,
       "three lines, the last without a newline");
    memset(big, 'x', 3 << 20);
    memcpy(big, "first\n", 6);
    big[(1 << 20) + 6] = '\n';
    big[(2 << 20) + 100] = '\n';
    memcpy(big + (3 << 20) - 6, "\nlast\n", 6);
    write_file("big.txt", big, 3 << 20);
    n = lines_of("big.txt", &too_long, last, sizeof(last), &problem);
    ok(n == 5 && too_long == 3 && !strcmp(last, "last"),
       "lines of 1 MB are skipped and counted (%d lines, %d too long)", n,
       too_long);
    write_gz("a.gz", big, 3 << 20);
    n = lines_of("a.gz", &too_long, last, sizeof(last), &problem);
    ok(n == 5 && too_long == 3 && !strcmp(last, "last") && !problem,
       "the same through gzip");
    write_file("empty.txt", "", 0);
    n = lines_of("empty.txt", &too_long, last, sizeof(last), &problem);
    ok(n == 0 && !problem, "an empty file: no lines");
    free(big);
}

static void test_gzip_cut(void)
{
    char *text = malloc(200000), *gz, last[64];
    const char *problem;
    FILE *f;
    long size;
    int i, n, too_long;

    for (i = 0; i < 20000; i++) memcpy(text + i * 10, "line12345\n", 10);
    write_gz("cut.gz", text, 200000);
    f = fopen(path_of("cut.gz"), "rb");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    gz = malloc((size_t)size);
    ok(fread(gz, 1, (size_t)size, f) == (size_t)size, "read the gzip file");
    fclose(f);
    write_file("cut.gz", gz, (apr_size_t)size / 2);
    n = lines_of("cut.gz", &too_long, last, sizeof(last), &problem);
    ok(problem && strstr(problem, "cut short") && n > 0 && n <= 20000,
       "a cut gzip stream: %d lines, then '%s'", n, problem ? problem : "");
    write_file("trail.gz", gz, (apr_size_t)size);
    f = fopen(path_of("trail.gz"), "ab");
    fputs("trailing garbage", f);
    fclose(f);
    n = lines_of("trail.gz", &too_long, last, sizeof(last), &problem);
    ok(n == 20000 && problem && strstr(problem, "not gzip after gzip member 1"),
       "garbage after the stream: every line, then '%s'", problem ? problem : "");
    free(gz);
    free(text);
}

/* ---- records ---- */

static mt_report_rec_t rec_of(const char *server_name, mt_report_t *r, int pid,
                              apr_uint64_t start, apr_time_t t,
                              const char *endpoint)
{
    mt_report_rec_t rec;

    memset(&rec, 0, sizeof(rec));
    rec.time = rec.key = t;
    rec.duration_us = 1000;
    rec.pid = pid;
    rec.pid_start = start;
    rec.exclusive = 1;
    rec.before_own = 1;
    rec.app_reported = 1;
    rec.memory_before = 50 << 20;
    rec.memory_after = 50 << 20;
    rec.alloc_before = rec.alloc_after = -1;
    rec.probe_bytes = rec.probe_objects = MT_NOTE_NO_VALUE;
    rec.probe_us = -1;
    rec.has_endpoint = 1;
    apr_cpystrn(rec.endpoint, endpoint, sizeof(rec.endpoint));
    apr_cpystrn(rec.request_id, "id", sizeof(rec.request_id));
    rec.server = mt_report_server(r, server_name);
    return rec;
}

static mt_report_t *make(unsigned int window)
{
    mt_report_opts_t o;
    mt_report_t *r;

    mt_report_opts_default(&o);
    o.window = window;
    mt_report_create(&r, &o, pool);
    return r;
}

/* A probe started at t=1000 s, its result on the next request (t=1002 s),
 * but the result's line comes first in the input, and another process's
 * record between them. */
static void probe_pair(mt_report_t *r)
{
    mt_report_rec_t a = rec_of("web-1", r, 100, 7, apr_time_from_sec(1000), "A#x");
    mt_report_rec_t b = rec_of("web-1", r, 100, 7, apr_time_from_sec(1002), "B#y");
    mt_report_rec_t c = rec_of("web-1", r, 200, 8, apr_time_from_sec(1003), "B#y");

    a.probe_started = 5;
    b.probe_done = 5;
    b.probe_bytes = 40000;
    b.probe_objects = 10;
    mt_report_add(r, &b);
    mt_report_add(r, &c);
    mt_report_add(r, &a);
    mt_report_finish(r);
}

static void test_order(void)
{
    mt_report_t *r = make(16);

    probe_pair(r);
    is_int(r->servers[0].state.hdr->probes_done, 1,
           "a result logged before its start is counted (the window)");
    is_int(r->servers[0].state.hdr->probes_refused, 0, "and not refused");
    is_int(r->fleet.state.hdr->probes_done, 1, "in the fleet too");
    r = make(1);
    probe_pair(r);
    is_int(r->late, 1, "with a window too small for it, the start is late");
    is_int(r->servers[0].state.hdr->probes_done, 1,
           "and still matched: the state keeps a result that comes before "
           "its start, as the module does");
    is_int(r->servers[0].state.hdr->probes_refused, 0, "nothing refused");
}

static void test_fleet(void)
{
    mt_report_t *r = make(64);
    mt_report_rec_t x;
    mt_an_report_t *rep;
    const char *const *servers;
    unsigned int i, seen = 0;
    int k;

    for (k = 0; k < 30; k++) {
        x = rec_of("web-1", r, 100, 7, apr_time_from_sec(1000 + k), "A#x");
        mt_report_add(r, &x);
        x = rec_of("web-2", r, 100, 9, apr_time_from_sec(1000 + k), "A#x");
        mt_report_add(r, &x);
        x = rec_of("web-2", r, 100, 11, apr_time_from_sec(2000 + k), "A#x");
        mt_report_add(r, &x);          /* pid 100 reused on web-2 */
    }
    mt_report_finish(r);
    ok(mt_report_analysis(&rep, &servers, r, -1, pool) == APR_SUCCESS,
       "the fleet's analysis");
    is_int(rep->n_procs, 3, "three processes: one pid, two hosts, one reuse");
    for (i = 0; i < rep->n_procs; i++) {
        seen |= (rep->procs[i].pid == 100) << i;
        if (servers[i] && !strcmp(servers[i], "web-2")) seen |= 8;
    }
    is_int(seen, 15, "each with its real pid and its server");
    ok(mt_report_analysis(&rep, &servers, r, 1, pool) == APR_SUCCESS && !servers,
       "a server's analysis");
    is_int(rep->n_procs, 1, "web-2's state: the reused pid is one slot, started over");
    is_int(rep->procs[0].requests, 30, "with the new process's requests only");
}

static void test_limits(void)
{
    mt_report_opts_t o;
    mt_report_t *r;
    mt_report_rec_t x;
    apr_size_t before;
    int k;

    mt_report_opts_default(&o);
    o.servers_max = 2;
    o.since = apr_time_from_sec(1000);
    o.until = apr_time_from_sec(1000000);
    mt_report_create(&r, &o, pool);
    x = rec_of("a", r, 1, 1, apr_time_from_sec(1500), "E");
    mt_report_add(r, &x);
    x = rec_of("b", r, 2, 1, apr_time_from_sec(1500), "E");
    mt_report_add(r, &x);
    x = rec_of("c", r, 3, 1, apr_time_from_sec(1500), "E");
    ok(x.server == MT_REPORT_FLEET_ONLY, "a third server beyond --servers 2");
    mt_report_add(r, &x);
    x = rec_of("a", r, 1, 1, apr_time_from_sec(10), "E");
    mt_report_add(r, &x);
    is_int(r->outside, 1, "a record before --since is left out");
    x = rec_of("", r, 9, 1, apr_time_from_sec(1600), "E");
    x.pid = 0;
    mt_report_add(r, &x);
    mt_report_finish(r);
    is_int(r->fleet_only, 1, "its record counts for the fleet only");
    is_int(r->unusable, 1, "a record without a process is not analysed");
    before = mt_report_memory(r);
    for (k = 0; k < 200000; k++) {
        x = rec_of("a", r, 1 + k % 8, 1, apr_time_from_sec(2000) + k * 1000,
                   k % 2 ? "E" : "F");
        mt_report_add(r, &x);
    }
    mt_report_finish(r);
    is_int(mt_report_memory(r), before, "200,000 more records: no more memory");
}

static json_object *parse_json(const char *s)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, s, (int)strlen(s));
    json_tokener_free(tok);
    return o;
}

static void test_outputs(void)
{
    const char *log =
        "{\"time\":\"2026-11-22T04:00:00Z\",\"target\":\"backend\",\"pid\":5,"
        "\"memory_before\":1000,\"memory_after\":9000,\"server\":\"<b>&\","
        "\"endpoint\":\"a \\\"quoted\\\" <endpoint> with a name longer than "
        "any column of the text report\",\"exclusive\":true}\n"
        "garbage\n";
    mt_report_source_t src[1];
    mt_report_view_t v;
    mt_report_t *r = make(8);
    mt_buf_t b;
    json_object *j, *x;
    char *line, *save = NULL;
    int wide = 0;

    write_file("o.jsonl", log, strlen(log));
    memset(src, 0, sizeof(src));
    src[0].in = mt_report_input_file(path_of("o.jsonl"), pool);
    mt_report_read(r, src, 1, NULL, NULL);
    is_int(src[0].records, 1, "one record");
    is_int(src[0].bad, 1, "one bad line");
    is_int(src[0].first_bad_line, 2, "line 2");
    ok(mt_report_view(&v, r, src, 1, pool) == APR_SUCCESS, "the view");
    v.version = "test";
    mt_buf_init(&b, 1024, pool);
    mt_report_json(&b, &v);
    ok((j = parse_json(b.data)) != NULL, "the JSON parses (strict, UTF-8)");
    ok(j && json_object_object_get_ex(j, "servers", &x)
       && json_object_array_length(x) == 1, "one server in it");
    json_object_put(j);
    mt_buf_init(&b, 1024, pool);
    mt_report_text(&b, &v);
    for (line = apr_strtok(b.data, "\n", &save); line;
         line = apr_strtok(NULL, "\n", &save)) {
        apr_size_t w = 0, i;
        for (i = 0; line[i]; i++) w += ((unsigned char)line[i] & 0xC0) != 0x80;
        if (w > 80) printf("# wide: %s\n", line);
        wide += w > 80;
    }
    is_int(wide, 0, "the text fits 80 columns");
    mt_buf_init(&b, 1024, pool);
    mt_report_html(&b, &v);
    ok(strstr(b.data, "&lt;b&gt;&amp;") && !strstr(b.data, "<b>&<"),
       "the HTML escapes the server name");
    ok(!strncmp(b.data, "<!DOCTYPE html>", 15) && strstr(b.data, "</html>\n"),
       "one HTML document");
    mt_report_input_close(src[0].in);
}

static void remove_files(void)
{
    static const char *const names[] = { "a.txt", "big.txt", "a.gz",
        "empty.txt", "cut.gz", "trail.gz", "o.jsonl" };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        unlink(path_of(names[i]));
    }
    rmdir(dir);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    snprintf(dir, sizeof(dir), "/tmp/mt-unit-report-%d", (int)getpid());
    mkdir(dir, 0700);
    test_input();
    test_gzip_cut();
    test_order();
    test_fleet();
    test_limits();
    test_outputs();
    remove_files();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
