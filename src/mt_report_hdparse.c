/* mt_report_hdparse: one heap diff result document, parsed and checked
 * (see include/mt_report_hd.h). The only file of the report's heap diff
 * input that includes json-c: a tree of a few kilobytes, parsed strictly
 * (UTF-8 checked, depth bounded) and freed before return. Every field is
 * checked for its type and bounds; a string longer than the module's own
 * field is refused rather than cut, because a document the module wrote
 * never has one. */
#include <string.h>
#include <apr_strings.h>
#include <json.h>

#include "mt_report_hd.h"
#include "mt_report_parse.h"

#define HD_DEPTH 8

typedef struct hd_ctx_t {
    char       *why;
    apr_size_t  whylen;
} hd_ctx_t;

static int bad(hd_ctx_t *c, const char *field, const char *what)
{
    apr_snprintf(c->why, c->whylen, "field %s: %s", field, what);
    return 0;
}

/* The member k of o; NULL when it is missing or null. */
static json_object *member(json_object *o, const char *k)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, k, &v)) return NULL;
    return v;    /* json null is NULL too */
}

/* An integer from lo to hi; missing or null gives dflt. */
static int get_int(hd_ctx_t *c, json_object *o, const char *k,
                   apr_int64_t lo, apr_int64_t hi, apr_int64_t dflt,
                   apr_int64_t *out)
{
    json_object *v = member(o, k);
    apr_int64_t n;

    *out = dflt;
    if (!v) return 1;
    if (!json_object_is_type(v, json_type_int)) {
        return bad(c, k, "not an integer");
    }
    n = json_object_get_int64(v);
    if (n < lo || n > hi) return bad(c, k, "out of range");
    *out = n;
    return 1;
}

static int get_num(hd_ctx_t *c, json_object *o, const char *k, double hi,
                   double *out, int *known)
{
    json_object *v = member(o, k);
    double d;

    *out = 0;
    *known = 0;
    if (!v) return 1;
    if (!json_object_is_type(v, json_type_int)
        && !json_object_is_type(v, json_type_double)) {
        return bad(c, k, "not a number");
    }
    d = json_object_get_double(v);
    if (!(d >= 0 && d <= hi)) return bad(c, k, "out of range");
    *out = d;
    *known = 1;
    return 1;
}

/* A string into buf (size bytes); missing or null gives "". */
static int get_str(hd_ctx_t *c, json_object *o, const char *k, char *buf,
                   apr_size_t size)
{
    json_object *v = member(o, k);
    const char *s;
    int n;

    buf[0] = '\0';
    if (!v) return 1;
    if (!json_object_is_type(v, json_type_string)) {
        return bad(c, k, "not a string");
    }
    s = json_object_get_string(v);
    n = json_object_get_string_len(v);
    if (n < 0 || (apr_size_t)n >= size) {
        apr_snprintf(c->why, c->whylen, "field %s: a string of %d bytes, "
                     "over %u", k, n, (unsigned)(size - 1));
        return 0;
    }
    if (memchr(s, '\0', (apr_size_t)n)) return bad(c, k, "has a NUL byte");
    memcpy(buf, s, (apr_size_t)n + 1);
    return 1;
}

static int get_time(hd_ctx_t *c, json_object *o, const char *k,
                    apr_time_t *t)
{
    char s[40];

    *t = 0;
    if (!get_str(c, o, k, s, sizeof(s))) return 0;
    if (s[0] && mt_report_parse_time(t, s, strlen(s)) != APR_SUCCESS) {
        return bad(c, k, "not a time");
    }
    return 1;
}

/* An array of n integers from 0 (missing: zeros). */
static int get_ints(hd_ctx_t *c, json_object *o, const char *k,
                    apr_int64_t *out, int n)
{
    json_object *v = member(o, k), *e;
    int i;

    memset(out, 0, (apr_size_t)n * sizeof(*out));
    if (!v) return 1;
    if (!json_object_is_type(v, json_type_array)
        || json_object_array_length(v) != (size_t)n) {
        return bad(c, k, "not an array of the right length");
    }
    for (i = 0; i < n; i++) {
        e = json_object_array_get_idx(v, (size_t)i);
        if (!e || !json_object_is_type(e, json_type_int)
            || (out[i] = json_object_get_int64(e)) < 0) {
            return bad(c, k, "not an array of counts");
        }
    }
    return 1;
}

/* One of names[] (index + base), missing gives dflt. */
static int get_enum(hd_ctx_t *c, json_object *o, const char *k,
                    const char *const *names, int base, int dflt, int *out)
{
    char s[16];
    int i;

    *out = dflt;
    if (!get_str(c, o, k, s, sizeof(s))) return 0;
    if (!s[0]) return 1;
    for (i = 0; names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i + base;
            return 1;
        }
    }
    return bad(c, k, "not one of its names");
}

static const char *const outcomes[] = { "running", "done", "failed",
                                        "cancelled", NULL };
static const char *const triggers[] = { "verdict", "demand", NULL };
static const char *const modes[] = { "generations", "addresses", NULL };

static int parse_row(hd_ctx_t *c, json_object *o, mt_heapdiff_row_t *r)
{
    json_object *site_v;
    apr_int64_t v;

    if (!json_object_is_type(o, json_type_object)) {
        return bad(c, "diff.top[]", "not an object");
    }
    site_v = member(o, "site");
    if (!get_str(c, o, "class", r->class_name, sizeof(r->class_name))
        || !get_str(c, o, "type", r->type, sizeof(r->type))
        || !get_str(c, o, "file", r->file, sizeof(r->file))
        || !get_int(c, o, "line", 0, APR_INT32_MAX, -1, &r->line)
        || !get_int(c, o, "count", 0, APR_INT64_MAX, 0, &r->count)
        || !get_int(c, o, "bytes", 0, APR_INT64_MAX, 0, &r->bytes)
        || !get_int(c, o, "generations", 0, APR_INT64_MAX, 0,
                    &r->generations)
        || !get_int(c, o, "generation_first", 0, APR_INT64_MAX, -1,
                    &r->gen_first)
        || !get_int(c, o, "generation_last", 0, APR_INT64_MAX, -1,
                    &r->gen_last)) {
        return 0;
    }
    /* only whether the site starts with "...": the rest is file:line */
    if (site_v && !json_object_is_type(site_v, json_type_string)) {
        return bad(c, "site", "not a string");
    }
    v = site_v && strncmp(json_object_get_string(site_v), "...", 3) == 0;
    r->file_cut = (apr_int32_t)v;
    if (!r->file[0]) r->line = -1;
    return 1;
}

static int parse_top(hd_ctx_t *c, json_object *d, mt_heapdiff_result_t *res)
{
    json_object *top = member(d, "top");
    size_t i, n;

    if (!top) return 1;
    if (!json_object_is_type(top, json_type_array)) {
        return bad(c, "diff.top", "not an array");
    }
    n = json_object_array_length(top);
    if (n > MT_HEAPDIFF_ROWS) {
        return bad(c, "diff.top", "more than 20 rows");
    }
    for (i = 0; i < n; i++) {
        if (!parse_row(c, json_object_array_get_idx(top, i), &res->rows[i])) {
            return 0;
        }
    }
    res->n_rows = (apr_int32_t)n;
    return 1;
}

static int parse_diff(hd_ctx_t *c, json_object *d, mt_heapdiff_result_t *res)
{
    int mode, known;

    if (!d) return 1;                         /* null: no diff */
    if (!json_object_is_type(d, json_type_object)) {
        return bad(c, "diff", "not an object");
    }
    if (!get_enum(c, d, "mode", modes, 1, 1, &mode)
        || !get_ints(c, d, "objects_read", res->objects, 3)
        || !get_ints(c, d, "bytes_read", res->file_bytes, 3)
        || !get_int(c, d, "bad_lines", 0, APR_INT64_MAX, 0, &res->bad_lines)
        || !get_int(c, d, "kept_objects", 0, APR_INT64_MAX, 0,
                    &res->kept_objects)
        || !get_int(c, d, "kept_bytes", 0, APR_INT64_MAX, 0, &res->kept_bytes)
        || !get_int(c, d, "untraced_objects", 0, APR_INT64_MAX, 0,
                    &res->untraced_objects)
        || !get_int(c, d, "groups", 0, APR_INT64_MAX, 0, &res->groups)
        || !get_int(c, d, "other_objects", 0, APR_INT64_MAX, 0,
                    &res->other_objects)
        || !get_int(c, d, "other_bytes", 0, APR_INT64_MAX, 0,
                    &res->other_bytes)
        || !get_num(c, d, "seconds", 1e9, &res->seconds, &known)
        || !get_str(c, d, "note", res->message, sizeof(res->message))
        || !parse_top(c, d, res)) {
        return 0;
    }
    res->mode = mode;
    return 1;
}

static int parse_snap(hd_ctx_t *c, json_object *o, mt_heapctl_attempt_t *a)
{
    apr_int64_t n, pause_int;
    double pause;
    int known;
    mt_heapctl_snap_t *s;

    if (!json_object_is_type(o, json_type_object)) {
        return bad(c, "snapshots[]", "not an object");
    }
    if (!get_int(c, o, "snapshot", 1, 3, 0, &n)) return 0;
    if (n == 0) return bad(c, "snapshots[].snapshot", "missing");
    s = &a->snap[n - 1];
    if (!get_int(c, o, "bytes", 0, APR_INT64_MAX, -1, &s->bytes)
        || !get_num(c, o, "pause_seconds", 1e6, &pause, &known)
        || !get_int(c, o, "gc_count", 0, APR_INT64_MAX, -1, &s->gc)
        || !get_time(c, o, "time", &s->at)) {
        return 0;
    }
    pause_int = (apr_int64_t)(pause * 1e6 + 0.5);
    s->pause_us = known ? pause_int : -1;
    if (!s->at) s->at = 1;                    /* taken, its time unknown */
    return 1;
}

static int parse_snaps(hd_ctx_t *c, json_object *doc, mt_heapctl_attempt_t *a)
{
    json_object *v = member(doc, "snapshots");
    size_t i, n;

    if (!v) return 1;
    if (!json_object_is_type(v, json_type_array)
        || (n = json_object_array_length(v)) > 3) {
        return bad(c, "snapshots", "not an array of at most 3");
    }
    for (i = 0; i < n; i++) {
        if (!parse_snap(c, json_object_array_get_idx(v, i), a)) return 0;
    }
    return 1;
}

static int parse_attempt(hd_ctx_t *c, json_object *doc,
                         mt_heapctl_attempt_t *a)
{
    apr_int64_t schema, token, pid;
    json_object *forced = member(doc, "forced");

    if (!get_int(c, doc, "schema", 0, APR_INT64_MAX, 0, &schema)) return 0;
    if (schema != 1) return bad(c, "schema", "not 1 (or missing)");
    if (!get_int(c, doc, "token", 0, APR_INT64_MAX, 0, &token)
        || !get_str(c, doc, "endpoint", a->endpoint_name,
                    sizeof(a->endpoint_name))
        || !get_int(c, doc, "pid", 1, APR_INT32_MAX, 0, &pid)
        || !get_str(c, doc, "app_root", a->app_root, sizeof(a->app_root))
        || !get_enum(c, doc, "trigger", triggers, 1, 1, &a->trigger)
        || !get_enum(c, doc, "outcome", outcomes, 0, 0, &a->outcome)
        || !get_str(c, doc, "message", a->message, sizeof(a->message))
        || !get_time(c, doc, "started", &a->started)
        || !get_time(c, doc, "finished", &a->finished)
        || !get_int(c, doc, "requests_between_snapshots", 0, APR_INT64_MAX,
                    0, &a->needed)
        || !get_ints(c, doc, "requests_counted", a->between, 2)
        || !parse_snaps(c, doc, a)) {
        return 0;
    }
    if (forced && !json_object_is_type(forced, json_type_boolean)) {
        return bad(c, "forced", "not a boolean");
    }
    if (!a->endpoint_name[0]) return bad(c, "endpoint", "missing");
    a->forced = forced && json_object_get_boolean(forced);
    a->token = (apr_uint64_t)token;
    a->pid = (apr_int32_t)pid;
    return 1;
}

apr_status_t mt_report_hd_parse(mt_report_hd_t *out, const char *doc,
                                apr_size_t len, char *why, apr_size_t whylen)
{
    hd_ctx_t c = { why, whylen };
    json_tokener *tok;
    json_object *root;
    enum json_tokener_error e;
    int ok = 0;

    memset(out, 0, sizeof(*out));
    why[0] = '\0';
    if (len > MT_REPORT_HD_DOC_MAX) {
        apr_snprintf(why, whylen, "over %d bytes", MT_REPORT_HD_DOC_MAX);
        return APR_EINVAL;
    }
    if ((tok = json_tokener_new_ex(HD_DEPTH)) == NULL) {
        apr_cpystrn(why, "out of memory", whylen);
        return APR_EINVAL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, doc, (int)len);
    e = json_tokener_get_error(tok);
    if (!root || e != json_tokener_success
        || json_tokener_get_parse_end(tok) != len) {
        apr_snprintf(why, whylen, "not JSON: %s at byte %" APR_SIZE_T_FMT,
                     e == json_tokener_continue ? "cut short (a truncated "
                     "file?)" : e != json_tokener_success
                     ? json_tokener_error_desc(e) : "bytes after the document",
                     json_tokener_get_parse_end(tok));
    }
    else if (!json_object_is_type(root, json_type_object)) {
        apr_cpystrn(why, "not a JSON object", whylen);
    }
    else {
        ok = parse_attempt(&c, root, &out->res.a)
             && parse_diff(&c, member(root, "diff"), &out->res.diff);
    }
    json_object_put(root);
    json_tokener_free(tok);
    return ok ? APR_SUCCESS : APR_EINVAL;
}
