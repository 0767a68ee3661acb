/* Unit tests: the status page's buffer, escapers, query and the three
 * renderers (HTML, JSON, Prometheus) on synthetic reports, among them one
 * whose names are hostile (160 bytes of quotes, <script>, newlines,
 * backslashes, control and invalid bytes) and whose figures are NaN and
 * infinite. Each output is checked by an independent reader: json-c in
 * strict mode with UTF-8 validation, a reader of the Prometheus text format
 * written here (and promtool itself when installed), and a tag-balance
 * reader of the HTML. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <json.h>

#include "mt_tap.h"
#include "mt_status.h"
#include "mt_util.h"

static apr_pool_t *pool;

/* ---- independent readers ---- */

static int valid_utf8(const char *s, apr_size_t len)
{
    apr_size_t i = 0, n;

    while (i < len) {
        if ((n = mt_utf8_seq_len((const unsigned char *)s + i, len - i)) == 0) {
            return 0;
        }
        i += n;
    }
    return 1;
}

/* The parsed document, or NULL (strict JSON, valid UTF-8, nothing after). */
static json_object *parse_json(const char *s, apr_size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, s, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success
        || json_tokener_get_parse_end(tok) < len - 1) {   /* the final \n */
        printf("# json error: %s at %zu\n",
               json_tokener_error_desc(json_tokener_get_error(tok)),
               json_tokener_get_parse_end(tok));
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static int is_name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
           || c == ':' || (!first && c >= '0' && c <= '9');
}

/* One label value at *s (after the opening quote), unescaped into out;
 * s ends past the closing quote. NULL when fine, else what is wrong. */
static const char *prom_value(const char **s, char *out, size_t max)
{
    const char *p = *s;
    size_t o = 0;

    for (; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\n') return "raw newline in a label value";
        if (c == '\\') {
            p++;
            if (*p != '\\' && *p != '"' && *p != 'n') return "bad escape";
            c = *p == 'n' ? '\n' : *p;
        }
        if (o + 1 < max) out[o++] = c;
    }
    if (*p != '"') return "unterminated label value";
    out[o] = '\0';
    *s = p + 1;
    return NULL;
}

/* One sample line: name{labels} value. */
static const char *prom_sample(const char *line, const char *family,
                               apr_hash_t *series)
{
    const char *p = line, *err;
    char *end, value[512];
    size_t n;
    double v;

    while (is_name_char(*p, p == line)) p++;
    n = (size_t)(p - line);
    if (!family || strlen(family) != n || strncmp(line, family, n)) {
        return "sample outside its family's HELP and TYPE";
    }
    if (*p == '{') {
        for (p++; *p != '}';) {
            const char *ln = p;
            while (is_name_char(*p, p == ln)) p++;
            if (p == ln || p[0] != '=' || p[1] != '"') return "bad label";
            p += 2;
            if ((err = prom_value(&p, value, sizeof(value)))) return err;
            if (!valid_utf8(value, strlen(value))) return "label not UTF-8";
            if (*p == ',') p++;
            else if (*p != '}') return "bad label list";
        }
        p++;
    }
    if (*p++ != ' ') return "no space before the value";
    v = strtod(p, &end);
    if (end == p || *end != '\0' || !isfinite(v)) return "value not finite";
    n = (size_t)(p - 1 - line);
    if (apr_hash_get(series, line, (apr_ssize_t)n)) return "repeated series";
    apr_hash_set(series, line, (apr_ssize_t)n, "");
    return NULL;
}

/* NULL when text is clean exposition format 0.0.4 as this project writes
 * it; else the problem, and *bad the line. */
static const char *prom_check(char *text, const char **bad)
{
    apr_hash_t *series = apr_hash_make(pool), *help = apr_hash_make(pool);
    char *save = NULL, *line, fam[256] = "";
    const char *err = NULL, *family = NULL;

    for (line = strtok_r(text, "\n", &save); line && !err;
         line = strtok_r(NULL, "\n", &save)) {
        *bad = line;
        if (!strncmp(line, "# HELP ", 7)) {
            sscanf(line + 7, "%255s", fam);
            apr_hash_set(help, apr_pstrdup(pool, fam), APR_HASH_KEY_STRING, "");
        }
        else if (!strncmp(line, "# TYPE ", 7)) {
            char type[32] = "";
            sscanf(line + 7, "%255s %31s", fam, type);
            if (!apr_hash_get(help, fam, APR_HASH_KEY_STRING)) err = "TYPE without HELP";
            if (strcmp(type, "gauge") && strcmp(type, "counter")) err = "bad type";
            if (!strcmp(type, "counter") != (strlen(fam) > 6 &&
                !strcmp(fam + strlen(fam) - 6, "_total"))) err = "counter vs _total";
            family = apr_pstrdup(pool, fam);
        }
        else if (line[0] == '#') err = "unknown comment";
        else err = prom_sample(line, family, series);
    }
    return err;
}

static int is_void(const char *tag)
{
    return !strcmp(tag, "meta") || !strcmp(tag, "br") || !strcmp(tag, "link");
}

/* NULL when every element is closed in order, attribute values are quoted
 * and hold no '<', text holds no raw '<' or '>' and entities are entities;
 * else the problem and its offset. */
static const char *html_check(const char *s, size_t *at)
{
    char stack[64][16];
    int depth = 0;
    const char *p = s;

    while (*p) {
        *at = (size_t)(p - s);
        if (*p == '>') return "raw > in text";
        if (*p == '&') {
            size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789#");
            if (n == 0 || p[1 + n] != ';') return "& that is no entity";
        }
        if (*p != '<') { p++; continue; }
        if (!strncmp(p, "<!DOCTYPE html>", 15)) { p += 15; continue; }
        if (p[1] == '/') {
            size_t n = strcspn(p + 2, ">");
            if (depth == 0 || strlen(stack[depth - 1]) != n
                || strncmp(stack[depth - 1], p + 2, n)) return "mismatched close";
            depth--;
            p += 3 + n;
            continue;
        }
        {
            char tag[16];
            size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789");
            int self = 0;
            if (n == 0 || n >= sizeof(tag)) return "< that starts no tag";
            memcpy(tag, p + 1, n);
            tag[n] = '\0';
            for (p += 1 + n; *p && *p != '>'; p++) {
                if (*p == '<') return "< inside a tag";
                if (*p == '"') {
                    const char *q = strchr(p + 1, '"');
                    if (!q) return "unterminated attribute";
                    if (memchr(p + 1, '<', (size_t)(q - p - 1))) return "< in attribute";
                    p = q;
                }
                self = *p == '/';
            }
            if (!*p) return "unterminated tag";
            p++;
            if (!strcmp(tag, "script")) return "a script element";
            if (!strcmp(tag, "style")) {
                const char *e = strstr(p, "</style>");
                if (!e) return "unterminated style";
                p = e;
            }
            if (self || is_void(tag)) continue;
            if (depth == 64) return "too deep";
            memcpy(stack[depth++], tag, n + 1);
        }
    }
    return depth == 0 ? NULL : "unclosed element";
}

/* "nan" or "inf" as a word of its own (any case). */
static int has_nan_word(const char *s)
{
    const char *words[] = { "nan", "inf", "infinity" };
    size_t i, k;

    for (i = 0; s[i]; i++) {
        for (k = 0; k < 3; k++) {
            size_t n = strlen(words[k]);
            if (!strncasecmp(s + i, words[k], n)
                && (i == 0 || !apr_isalpha(s[i - 1]))
                && !apr_isalpha(s[i + n])) {
                return 1;
            }
        }
    }
    return 0;
}

/* ---- synthetic reports ---- */

#define T0 ((apr_time_t)1764547200 * APR_USEC_PER_SEC)   /* 2025-12-01 */

/* A name of exactly 160 bytes: prefix, then pad repeated. */
static void name160(char *out, const char *prefix, const char *pad)
{
    size_t n = strlen(prefix), k = strlen(pad);

    memcpy(out, prefix, n);
    while (n + k <= MT_EP_NAME_MAX) {
        memcpy(out + n, pad, k);
        n += k;
    }
    while (n < MT_EP_NAME_MAX) out[n++] = 'x';
    out[n] = '\0';
}

static void fake_endpoints(mt_an_report_t *rep, int hostile)
{
    mt_an_endpoint_t *e = rep->eps;

    rep->n_eps = 3;
    e[0].index = 3;
    e[0].verdict = MT_VERDICT_LEAK;
    e[0].confidence = "high";
    e[0].retained.value = e[0].leak_bytes_per_request = 51200.5;
    e[0].retained.low = e[0].leak_low = 48000;
    e[0].retained.high = e[0].leak_high = 54400;
    e[0].retained.n = 24;
    e[0].retained.ok = 1;
    e[0].since = T0 + apr_time_from_sec(600);
    e[0].requests = 3000;
    e[0].growth_sum_bytes = 150000000;
    e[0].growth_pos_sum_bytes = 160000000;
    e[0].threshold_hits = 2;
    e[0].blames = 40;
    e[0].probes = 30;
    e[0].probe_processes = 2;
    e[0].alloc_objects_per_request = 1200;
    strcpy(e[0].evidence, "last 24 of 30 probes keep 51200 B per request");
    e[1].index = 5;
    e[1].verdict = MT_VERDICT_BLOAT;
    e[1].bloat_bytes = 31457280;
    e[1].requests = 900;
    e[1].growth_sum_bytes = -4096;
    e[1].alloc_objects_per_request = -1;
    e[2].index = 0;
    e[2].verdict = MT_VERDICT_UNKNOWN;
    e[2].requests = 7;
    e[2].alloc_objects_per_request = -1;
    strcpy(e[2].needs, "5 more probes");
    strcpy(e[0].name, "GET /leak");
    strcpy(e[1].name, "ItemsController#index");
    strcpy(e[2].name, "other");
    if (hostile) {
        name160(e[0].name, "GET /\"><script>alert(1)</script>\\\n'&amp;\"", "\\\"<");
        name160(e[1].name, "Evil\"Ctl\\#\naction</svg><svg onload=alert(1)>"
                "\xff\xfe\xc3\x28\x01\x1b[31m\x7f\xc2\x85", "\xc3\xa9\n");
        name160(e[2].name, "GET /", "\xe2\x98\x83");
        e[2].name[MT_EP_NAME_MAX - 1] = '\xe2';   /* a cut character */
        e[0].leak_low = NAN;
        e[0].leak_high = INFINITY;
        e[0].retained.value = NAN;
        e[1].alloc_objects_per_request = NAN;
        e[1].growth_pos_per_request = -INFINITY;
        strcpy(e[2].needs, "<b>\"needs\"</b>\n");
        strcpy(e[2].evidence, "</td></tr></table><script>x</script>");
    }
}

static void fake_process(mt_an_process_t *p, unsigned int slot, int kind,
                         unsigned int points)
{
    unsigned int i;

    p->slot = slot;
    p->kind = kind;
    p->pid = 4000 + (int)slot;
    p->first_rss_bytes = 80 << 20;
    p->requests = 2000;
    p->first_seen = T0;
    p->hist_n = points;
    for (i = 0; i < points; i++) {
        p->hist[i].requests = i * 30;
        p->hist[i].rss_bytes = (80 << 20) + (apr_int64_t)i * 51200;
        p->hist[i].at = T0 + apr_time_from_sec(i * 10);
    }
    p->rss_bytes = points ? p->hist[points - 1].rss_bytes + 4096 : 90 << 20;
    p->peak_rss_bytes = p->rss_bytes + 8192;
    p->last_seen = T0 + apr_time_from_sec(points * 10 + 5);
    p->verdict = points > 10 ? MT_VERDICT_LEAK : MT_VERDICT_UNKNOWN;
    p->growth.value = 1706.7;
    p->growth.low = 1500;
    p->growth.high = 1900;
    p->growth.ok = points > 10;
    p->drift.value = 12.5;
    p->drift.low = -3;
    p->drift.high = 28;
    p->drift.ok = kind == MT_STATE_KIND_BACKEND;
    strcpy(p->evidence, "grows 1707 B per request");
}

static void fake_blames(mt_an_process_t *p, int hostile)
{
    unsigned int i;

    p->blame_n = MT_BLAME_MAX;
    for (i = 0; i < MT_BLAME_MAX; i++) {
        mt_blame_t *b = &p->blame[i];
        snprintf(b->request_id, sizeof(b->request_id), "req-%u", i);
        b->endpoint = i % 2 ? 3 : 9;       /* 9: no such endpoint: "?" */
        b->raised_bytes = 65536 * (i + 1);
        b->peak_bytes = p->peak_rss_bytes - 65536 * i;
        b->at = p->last_seen - apr_time_from_sec(i * 7);
    }
    if (hostile) {
        strcpy(p->blame[0].request_id, "\"><img src=x onerror=alert(1)>\n\\");
    }
}

static mt_an_report_t *fake_report(int hostile)
{
    mt_an_report_t *rep = apr_pcalloc(pool, sizeof(*rep));

    rep->now = T0 + apr_time_from_sec(3600);
    rep->started = T0 - apr_time_from_sec(60);
    mt_state_params_default(&rep->params);
    rep->eps = apr_pcalloc(pool, 3 * sizeof(*rep->eps));
    fake_endpoints(rep, hostile);
    rep->n_procs = 3;
    rep->procs = apr_pcalloc(pool, 3 * sizeof(*rep->procs));
    fake_process(&rep->procs[0], 3, MT_STATE_KIND_BACKEND, MT_HIST_POINTS);
    fake_blames(&rep->procs[0], hostile);
    fake_process(&rep->procs[1], 7, MT_STATE_KIND_BACKEND, 1);
    fake_process(&rep->procs[2], 0, MT_STATE_KIND_SELF, 0);
    if (hostile) {
        rep->procs[0].drift.value = INFINITY;
        rep->procs[0].growth.low = -INFINITY;
        rep->procs[0].hist[5].rss_bytes = -1;
    }
    rep->probes_done = 30;
    return rep;
}

static const mt_status_sink_t sinks[] = {
    { "MemTrackLog /var/log/memtrack.jsonl", "log", 1234, 5 },
    { "redis 127.0.0.1:6379", "redis", 1200, 39 },
};

static mt_status_info_t fake_info(int refresh)
{
    mt_status_info_t info;

    memset(&info, 0, sizeof(info));
    info.version = "0.1.0";
    info.server = "web1.example.com";
    info.generated = T0 + apr_time_from_sec(3600);
    info.refresh_seconds = refresh;
    info.sinks = sinks;
    info.n_sinks = 2;
    return info;
}

static const char *render(mt_status_form_e form, const mt_an_report_t *rep,
                          int refresh, apr_size_t *len)
{
    mt_status_info_t info = fake_info(refresh);
    mt_buf_t b;

    mt_buf_init(&b, 64, pool);           /* small: it has to grow */
    mt_status_render(&b, form, rep, &info);
    *len = b.len;
    return b.data;
}

/* ---- the tests ---- */

static const char *esc(void (*fn)(mt_buf_t *, const char *), const char *s)
{
    mt_buf_t b;

    mt_buf_init(&b, 8, pool);
    fn(&b, s);
    return b.data;
}

static const char *num(double v, int decimals)
{
    mt_buf_t b;

    mt_buf_init(&b, 8, pool);
    mt_buf_num(&b, v, decimals);
    return b.data;
}

static void test_buf(void)
{
    mt_buf_t b;
    int i;

    mt_buf_init(&b, 1, pool);
    for (i = 0; i < 10000; i++) mt_buf_puts(&b, "0123456789");
    mt_buf_printf(&b, "%s-%d", "tail", 42);
    is_int(b.len, 100007, "buffer grows from 64 bytes to 100,007");
    ok(!strcmp(b.data + 100000, "tail-42") && b.data[b.len] == '\0',
       "printf past the capacity lands whole, NUL-terminated");
    mt_buf_init(&b, 8, pool);
    mt_buf_int(&b, APR_INT64_MIN);
    mt_buf_putc(&b, ' ');
    mt_buf_int(&b, APR_INT64_MAX);
    is_str(b.data, "-9223372036854775808 9223372036854775807", "int64 limits");
    is_str(num(0.25, 3), "0.25", "0.25");
    is_str(num(51200.0, 3), "51200", "no trailing zeros");
    is_str(num(-3.5, 1), "-3.5", "negative");
    is_str(num(-0.0001, 3), "0", "a negative that rounds to zero is 0");
    is_str(num(2.0 / 3.0, 3), "0.667", "rounded");
    is_str(num(NAN, 3), "0", "NaN is written as 0");
    is_str(num(INFINITY, 3), "0", "inf is written as 0");
    is_str(num(-INFINITY, 1), "0", "-inf is written as 0");
    is_str(num(1e20, 3), "1.000000e+20", "huge values in exponent form");
    mt_buf_init(&b, 8, pool);
    mt_buf_fixed(&b, 48, 1);
    mt_buf_putc(&b, ' ');
    mt_buf_fixed(&b, 2.345, 2);
    mt_buf_putc(&b, ' ');
    mt_buf_fixed(&b, NAN, 2);
    is_str(b.data, "48.0 2.35 0.00", "fixed decimals keep their zeros");
}

static void test_escapers(void)
{
    is_str(esc(mt_buf_html, "a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;", "html: specials");
    is_str(esc(mt_buf_html, "x\ny\x01z\x7f"), "x?y?z?", "html: control bytes");
    is_str(esc(mt_buf_html, "n\xc2\x85" "e"), "n?e", "html: C1 control");
    is_str(esc(mt_buf_html, "caf\xc3\xa9 \xe2\x98\x83"), "caf\xc3\xa9 \xe2\x98\x83",
           "html: UTF-8 kept");
    is_str(esc(mt_buf_html, "a\xff" "b\xc3\x28"), "a\xef\xbf\xbd" "b\xef\xbf\xbd(",
           "html: invalid bytes become U+FFFD");
    is_str(esc(mt_buf_json_str, "q\"b\\n\n\x01</script>"),
           "\"q\\\"b\\\\n\\n\\u0001\\u003c/script\\u003e\"", "json: escapes");
    is_str(esc(mt_buf_json_str, "\xe2\x80\xa8\x7f\xf0\x9f\x98\x80"),
           "\"\\u2028\\u007f\xf0\x9f\x98\x80\"", "json: U+2028, DEL, emoji");
    is_str(esc(mt_buf_json_str, NULL), "null", "json: NULL is null");
    is_str(esc(mt_buf_label, "a\"b\\c\nd\te\xff"), "a\\\"b\\\\c\\nd?e\xef\xbf\xbd",
           "label: escapes");
}

static void query(const char *args, mt_status_form_e want, int refresh,
                  const char *name)
{
    mt_status_form_e form;
    int r;

    mt_status_query(&form, &r, args);
    ok(form == want && r == refresh, "query %s", name);
}

static void test_query(void)
{
    query(NULL, MT_STATUS_HTML, 0, "none: HTML");
    query("", MT_STATUS_HTML, 0, "empty: HTML");
    query("json", MT_STATUS_JSON, 0, "json");
    query("x=1&json=1", MT_STATUS_JSON, 0, "json=1 after another key");
    query("prometheus", MT_STATUS_PROMETHEUS, 0, "prometheus");
    query("prometheus&json", MT_STATUS_PROMETHEUS, 0, "the first form wins");
    query("jsonx&prometheusy", MT_STATUS_HTML, 0, "words must match whole");
    query("refresh=15", MT_STATUS_HTML, 15, "refresh=15");
    query("refresh=0", MT_STATUS_HTML, 1, "refresh=0 is 1");
    query("refresh=99999999", MT_STATUS_HTML, MT_STATUS_REFRESH_MAX, "refresh clamped");
    query("refresh=9999999999999999999999", MT_STATUS_HTML, 0, "refresh: too long");
    query("refresh=-5&refresh=x", MT_STATUS_HTML, 0, "refresh: not a number");
    query("json;refresh=5", MT_STATUS_JSON, 5, "; separates too");
    ok(!strcmp(mt_status_content_type(MT_STATUS_PROMETHEUS),
               "text/plain; version=0.0.4; charset=utf-8")
       && !strcmp(mt_status_content_type(MT_STATUS_JSON), "application/json")
       && !strcmp(mt_status_content_type(MT_STATUS_HTML),
                  "text/html; charset=utf-8"), "content types");
}

static json_object *get(json_object *o, const char *path)
{
    char *copy = apr_pstrdup(pool, path), *save = NULL, *k;

    for (k = strtok_r(copy, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
        if (apr_isdigit(*k)) o = json_object_array_get_idx(o, (size_t)atoi(k));
        else if (!json_object_object_get_ex(o, k, &o)) o = NULL;
    }
    return o;
}

static const char *jstr(json_object *o, const char *path)
{
    json_object *v = get(o, path);

    return v && json_object_is_type(v, json_type_string)
           ? json_object_get_string(v) : NULL;
}

static double jnum(json_object *o, const char *path)
{
    json_object *v = get(o, path);

    return v && (json_object_is_type(v, json_type_int)
                 || json_object_is_type(v, json_type_double))
           ? json_object_get_double(v) : -12345;
}

/* Every number in the document is finite (json-c strict already refuses
 * NaN and Infinity literals; this also catches overflowing ones). */
static int all_finite(json_object *o)
{
    size_t i;

    switch (json_object_get_type(o)) {
    case json_type_double: return isfinite(json_object_get_double(o));
    case json_type_array:
        for (i = 0; i < json_object_array_length(o); i++) {
            if (!all_finite(json_object_array_get_idx(o, i))) return 0;
        }
        return 1;
    case json_type_object: {
        json_object_object_foreach(o, k, v) {
            (void)k;
            if (!all_finite(v)) return 0;
        }
        return 1;
    }
    default: return 1;
    }
}

static void test_json(void)
{
    const mt_an_report_t *rep = fake_report(0);
    apr_size_t len;
    const char *text = render(MT_STATUS_JSON, rep, 0, &len);
    json_object *o = parse_json(text, len);

    ok(o != NULL, "json: parses (strict, UTF-8 checked)");
    if (!o) return;
    is_int(jnum(o, "schema"), MT_STATUS_SCHEMA, "json: schema");
    is_str(jstr(o, "version"), "0.1.0", "json: version");
    is_str(jstr(o, "server"), "web1.example.com", "json: server");
    is_str(jstr(o, "time"), "2025-12-01T01:00:00.000000Z", "json: time, ISO 8601 UTC");
    is_int(json_object_array_length(get(o, "endpoints")), 3, "json: 3 endpoints");
    is_str(jstr(o, "endpoints.0.endpoint"), "GET /leak", "json: leak first");
    is_str(jstr(o, "endpoints.0.verdict"), "leak", "json: verdict");
    ok(jnum(o, "endpoints.0.leak_bytes_per_request") == 51200.5, "json: leak estimate");
    ok(jnum(o, "endpoints.0.leak_bytes_per_request_low") == 48000
       && jnum(o, "endpoints.0.leak_bytes_per_request_high") == 54400,
       "json: its 95%% interval");
    is_str(jstr(o, "endpoints.0.confidence"), "high", "json: confidence");
    is_str(jstr(o, "endpoints.0.since"), "2025-12-01T00:10:00.000000Z", "json: since");
    is_int(jnum(o, "endpoints.0.requests"), 3000, "json: requests");
    is_int(jnum(o, "endpoints.0.memory_growth_bytes"), 150000000, "json: growth");
    is_int(jnum(o, "endpoints.0.threshold_exceeded_requests"), 2, "json: threshold hits");
    is_int(jnum(o, "endpoints.0.peak_blames"), 40, "json: peak blames");
    is_int(jnum(o, "endpoints.1.bloat_bytes"), 31457280, "json: bloat_bytes");
    ok(jnum(o, "endpoints.1.leak_bytes_per_request") == 0
       && get(o, "endpoints.1.leak_bytes_per_request_low") == NULL
       && json_object_object_get_ex(get(o, "endpoints.1"),
                                    "leak_bytes_per_request_low", NULL),
       "json: no leak: 0 and a null interval");
    ok(get(o, "endpoints.1.alloc_objects_per_request") == NULL,
       "json: allocation unknown is null");
    is_str(jstr(o, "endpoints.2.needs"), "5 more probes", "json: what unknown needs");
    is_str(jstr(o, "processes.0.kind"), "app", "json: process kind");
    is_int(jnum(o, "processes.0.slot"), 3, "json: slot");
    is_int(jnum(o, "processes.0.pid"), 4003, "json: pid");
    is_int(jnum(o, "processes.0.memory_after"), rep->procs[0].rss_bytes, "json: memory now");
    is_int(jnum(o, "processes.0.memory_peak_bytes"), rep->procs[0].peak_rss_bytes,
           "json: peak");
    is_int(json_object_array_length(get(o, "processes.0.history")), MT_HIST_POINTS,
           "json: the whole history");
    is_int(jnum(o, "processes.0.history.63.memory_after"), rep->procs[0].hist[63].rss_bytes,
           "json: history point");
    ok(jnum(o, "processes.0.drift_bytes_per_second") == 12.5, "json: drift");
    ok(get(o, "processes.2.drift_bytes_per_second_low") == NULL, "json: no drift: null");
    is_str(jstr(o, "processes.2.kind"), "httpd", "json: httpd child");
    is_str(jstr(o, "processes.0.peak_blame.1.endpoint"), "GET /leak",
           "json: blame names its endpoint");
    is_str(jstr(o, "processes.0.peak_blame.0.endpoint"), "?", "json: unknown index: ?");
    is_int(jnum(o, "processes.0.peak_blame.7.raised_bytes"), 65536 * 8, "json: blame bytes");
    is_int(jnum(o, "sinks.1.records_dropped"), 39, "json: sink counters");
    is_str(jstr(o, "sinks.1.sink"), "redis", "json: sink kind");
    json_object_put(o);
}

/* What a hostile name must read as: invalid bytes as U+FFFD. */
static const char *clean(const char *s)
{
    return mt_str_clean(pool, s, 4096, NULL);
}

/* ... and as a label: control characters but newline as '?'. */
static const char *clean_label(const char *s)
{
    char *c = apr_pstrdup(pool, clean(s));
    size_t i;

    for (i = 0; c[i]; i++) {
        unsigned char u = (unsigned char)c[i];
        if ((u < 0x20 && u != '\n') || u == 0x7f) c[i] = '?';
        if (u == 0xC2 && (unsigned char)c[i + 1] < 0xA0) {
            memmove(c + i + 1, c + i + 2, strlen(c + i + 2) + 1);
            c[i] = '?';
        }
    }
    return c;
}

static void test_hostile_json(void)
{
    const mt_an_report_t *rep = fake_report(1);
    apr_size_t len;
    const char *text = render(MT_STATUS_JSON, rep, 0, &len);
    json_object *o = parse_json(text, len);
    int i;

    ok(o != NULL, "hostile json: parses");
    if (!o) return;
    for (i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof(path), "endpoints.%d.endpoint", i);
        is_str(jstr(o, path), clean(rep->eps[i].name), "hostile json: name round-trips");
    }
    ok(strlen(rep->eps[0].name) == 160, "hostile names are 160 bytes");
    is_str(jstr(o, "processes.0.peak_blame.0.request_id"), rep->procs[0].blame[0].request_id,
           "hostile json: request id round-trips");
    is_str(jstr(o, "endpoints.2.needs"), rep->eps[2].needs, "hostile json: needs round-trips");
    ok(all_finite(o), "hostile json: every number finite");
    ok(get(o, "endpoints.0.leak_bytes_per_request_low") &&
       jnum(o, "endpoints.0.leak_bytes_per_request_low") == 0,
       "hostile json: a NaN figure is written as 0");
    ok(!strstr(text, "<script") && !strstr(text, "</"), "hostile json: no raw < at all");
    json_object_put(o);
}

/* The value of one series, or -12345 when absent. */
static double prom_get(const char *text, const char *series)
{
    const char *p = text;
    size_t n = strlen(series);

    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') return strtod(p + n + 1, NULL);
        p += n;
    }
    return -12345;
}

/* promtool's own verdict, when it is installed (Debian's prometheus). */
static void promtool(const char *text, apr_size_t len, const char *name)
{
    char path[] = "/tmp/mt-status-promXXXXXX", cmd[256];
    int fd;

    if (access("/usr/bin/promtool", X_OK) != 0) {
        ok(1, "%s: promtool not installed (skipped)", name);
        return;
    }
    fd = mkstemp(path);
    ok(fd >= 0 && write(fd, text, len) == (ssize_t)len, "%s: written for promtool", name);
    if (fd >= 0) close(fd);
    snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s >/dev/null 2>&1", path);
    is_int(system(cmd), 0, apr_psprintf(pool, "%s: promtool check metrics passes", name));
    unlink(path);
}

static void prom_common(const char *text, apr_size_t len, const char *name)
{
    const char *bad = "", *err = prom_check(apr_pstrdup(pool, text), &bad);
    static const char *const fixed[] = { "memtrack_build_info",
        "memtrack_requests_total", "memtrack_endpoint_leak_bytes_per_request",
        "memtrack_endpoint_leak_suspected", "memtrack_endpoint_growth_bytes_total",
        "memtrack_threshold_exceeded_total", "memtrack_process_resident_memory_bytes",
        "memtrack_process_peak_resident_memory_bytes", "memtrack_records_written_total",
        "memtrack_records_dropped_total", "memtrack_endpoint_peak_blame_total",
        "memtrack_endpoint_probes_total", "memtrack_endpoint_verdict",
        "memtrack_process_drift_bytes_per_second" };
    size_t i;

    ok(!err, "%s: exposition format clean", name);
    if (err) printf("#   %s: %.200s\n", err, bad);
    ok(valid_utf8(text, len), "%s: valid UTF-8", name);
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        ok(strstr(text, apr_psprintf(pool, "# TYPE %s ", fixed[i])) != NULL,
           "%s: has %s", name, fixed[i]);
    }
    promtool(text, len, name);
}

static void test_prometheus(void)
{
    apr_size_t len;
    const char *text = render(MT_STATUS_PROMETHEUS, fake_report(0), 0, &len);

    prom_common(text, len, "prometheus");
    ok(prom_get(text, "memtrack_build_info{version=\"0.1.0\"}") == 1, "prom: build info");
    ok(prom_get(text, "memtrack_requests_total{endpoint=\"GET /leak\"}") == 3000,
       "prom: requests");
    ok(prom_get(text, "memtrack_endpoint_leak_suspected{endpoint=\"GET /leak\"}") == 1
       && prom_get(text, "memtrack_endpoint_leak_suspected{endpoint=\"other\"}") == 0,
       "prom: leak suspected 1 and 0");
    ok(prom_get(text, "memtrack_endpoint_leak_bytes_per_request{endpoint=\"GET /leak\"}")
       == 51200.5, "prom: leak bytes per request");
    ok(prom_get(text, "memtrack_endpoint_leak_bytes_per_request"
                "{endpoint=\"ItemsController#index\"}") == 0, "prom: 0 when no leak");
    ok(prom_get(text, "memtrack_endpoint_growth_bytes_total{endpoint=\"GET /leak\"}")
       == 160000000, "prom: growth counter (the growths above 0)");
    ok(prom_get(text, "memtrack_threshold_exceeded_total{endpoint=\"GET /leak\"}") == 2,
       "prom: threshold hits");
    ok(prom_get(text, "memtrack_endpoint_verdict{endpoint=\"ItemsController#index\","
                "verdict=\"bloat\"}") == 1
       && prom_get(text, "memtrack_endpoint_verdict{endpoint=\"ItemsController#index\","
                   "verdict=\"leak\"}") == 0, "prom: verdict as a state set");
    ok(prom_get(text, "memtrack_process_resident_memory_bytes{kind=\"app\",slot=\"3\"}")
       == (double)fake_report(0)->procs[0].rss_bytes, "prom: resident memory by kind, slot");
    ok(prom_get(text, "memtrack_process_peak_resident_memory_bytes{kind=\"httpd\","
                "slot=\"0\"}") > 0, "prom: httpd child's peak");
    ok(!strstr(text, "4003"), "prom: no pid anywhere");
    ok(prom_get(text, "memtrack_process_drift_bytes_per_second{kind=\"app\",slot=\"3\"}")
       == 12.5, "prom: drift");
    ok(prom_get(text, "memtrack_records_written_total{sink=\"log\"}") == 1234
       && prom_get(text, "memtrack_records_dropped_total{sink=\"redis\"}") == 39,
       "prom: sink counters");
}

static void test_hostile_prometheus(void)
{
    const mt_an_report_t *rep = fake_report(1);
    apr_size_t len;
    const char *text = render(MT_STATUS_PROMETHEUS, rep, 0, &len);
    char *copy = apr_pstrdup(pool, text), *save = NULL, *line;
    int found[3] = { 0, 0, 0 }, i;

    prom_common(text, len, "hostile prometheus");
    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *p = line + strlen("memtrack_requests_total{endpoint=\"");
        char value[1024];
        if (strncmp(line, "memtrack_requests_total{", 24)) continue;
        if (prom_value(&p, value, sizeof(value))) continue;
        for (i = 0; i < 3; i++) {
            found[i] += !strcmp(value, clean_label(rep->eps[i].name));
        }
    }
    ok(found[0] == 1 && found[1] == 1 && found[2] == 1,
       "hostile prometheus: each name reads back from its label");
}

static void html_common(const char *text, apr_size_t len, const char *name)
{
    size_t at = 0;
    const char *err = html_check(text, &at);

    ok(!err, "%s: well formed, no script", name);
    if (err) printf("#   %s at %zu: %.120s\n", err, at, text + at);
    ok(valid_utf8(text, len), "%s: valid UTF-8", name);
    ok(!has_nan_word(text), "%s: no NaN or inf", name);
}

static int count(const char *text, const char *what)
{
    int n = 0;

    for (; (text = strstr(text, what)) != NULL; text++) n++;
    return n;
}

static void test_html(void)
{
    apr_size_t len;
    const char *text = render(MT_STATUS_HTML, fake_report(0), 0, &len);
    const char *suspects = strstr(text, "id=\"suspects\""), *leak;

    html_common(text, len, "html");
    leak = suspects ? strstr(suspects, "GET /leak") : NULL;
    ok(leak && leak < strstr(text, "id=\"endpoints\""), "html: the leak is among the suspects");
    ok(strstr(text, "50.0 KiB") && strstr(text, "46.9 KiB") && strstr(text, "53.1 KiB"),
       "html: estimate and its interval");
    ok(strstr(text, "5 more probes") != NULL, "html: what unknown needs");
    is_int(count(text, "<svg"), 4, "html: a chart per process and the suspect's interval");
    ok(strstr(text, "<polyline") != NULL, "html: the chart has a line");
    ok(strstr(text, "req-1") && strstr(text, "+128.0 KiB"), "html: peak blame id and bytes");
    ok(strstr(text, "1,234") && strstr(text, ">39<"), "html: sink counters");
    ok(!strstr(text, "http-equiv=\"refresh\""), "html: no refresh unless asked");
    text = render(MT_STATUS_HTML, fake_report(0), 30, &len);
    ok(strstr(text, "<meta http-equiv=\"refresh\" content=\"30\">") != NULL,
       "html: ?refresh=30 reloads");
    text = render(MT_STATUS_HTML, NULL, 0, &len);
    html_common(text, len, "html without a report");
}

static void test_hostile_html(void)
{
    apr_size_t len;
    const char *text = render(MT_STATUS_HTML, fake_report(1), 0, &len);

    html_common(text, len, "hostile html");
    ok(!strstr(text, "<script") && !strstr(text, "<img") && !strstr(text, "onload=alert")
       ? 1 : !strstr(text, "<svg onload"), "hostile html: nothing injected");
    ok(strstr(text, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL,
       "hostile html: the name shown, escaped");
    ok(strstr(text, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;?\\") != NULL,
       "hostile html: the request id shown, escaped");
}

static void test_empty(void)
{
    apr_size_t len;
    const char *text = render(MT_STATUS_JSON, NULL, 0, &len);
    json_object *o = parse_json(text, len);

    ok(o && json_object_array_length(get(o, "endpoints")) == 0, "empty json: parses");
    json_object_put(o);
    text = render(MT_STATUS_PROMETHEUS, NULL, 0, &len);
    prom_common(text, len, "empty prometheus");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_buf();
    test_escapers();
    test_query();
    test_json();
    test_hostile_json();
    test_prometheus();
    test_hostile_prometheus();
    test_html();
    test_hostile_html();
    test_empty();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
