/* Checks one line written by mt_record_to_json against the record it was
 * written from, by reading it back with json-c. Shared by
 * t/unit/test_record.c and t/fuzz/fuzz_record.c.
 *
 * The expected values are worked out here from mt_record_t on their own,
 * not through MT_RECORD_FIELDS' expressions, so a wrong expression in the
 * table is caught. A field this file does not know yet (a new one) is
 * still checked against the type the table gives it.
 *
 * What a line must be: at most max_len bytes, one "\n" at its end and none
 * before, one JSON object in strict JSON and valid UTF-8, the table's keys
 * in the table's order. Every string is exactly mt_str_clean(value, cap),
 * or, when the line needed it, a shorter cut: a prefix of the clean text,
 * at a character boundary, and MT_CUT_MARKER. A string other than the url
 * is cut only once the url is down to MT_CUT_MIN bytes, ids and fixed words
 * (KEEP) never, and a cut line keeps all but a few bytes of max_len.
 */
#ifndef MT_RECORD_CHECK_H
#define MT_RECORD_CHECK_H

#include <stdio.h>
#include <string.h>
#include <json.h>
#include <apr_strings.h>

#include "mt_record.h"
#include "mt_util.h"

/* A cut line is at most this much shorter than max_len. */
#define MT_CHECK_CUT_SLACK 64

/* The raw string the record gives field name (*known = 0: not a string
 * field this file knows). */
static const char *mt_check_raw_str(const mt_record_t *rec, const char *name,
                                    int *known)
{
    const mt_app_report_t *app = rec->app;

    *known = 1;
    if (!strcmp(name, "request_id")) return rec->request_id;
    if (!strcmp(name, "host")) return rec->host;
    if (!strcmp(name, "method")) return rec->method;
    if (!strcmp(name, "url")) return rec->url;
    if (!strcmp(name, "endpoint")) return rec->endpoint;
    if (!strcmp(name, "controller")) return app ? app->controller : NULL;
    if (!strcmp(name, "action")) return app ? app->action : NULL;
    if (!strcmp(name, "target")) return rec->target;
    if (!strcmp(name, "before_source")) return rec->before_source;
    if (!strcmp(name, "attribution")) return rec->attribution;
    if (!strcmp(name, "server")) return rec->server;
    *known = 0;
    return NULL;
}

static apr_int64_t mt_check_pos(apr_int64_t v)
{
    return v > 0 ? v : MT_UNKNOWN;
}

/* The integer (MT_UNKNOWN: null) the record gives field name; 0 when this
 * file does not know it as an integer field. */
static int mt_check_int(const mt_record_t *rec, const char *name,
                        apr_int64_t *v)
{
    const mt_app_report_t *app = rec->app;
    const apr_int64_t u = MT_UNKNOWN;
    apr_int64_t b = rec->before.rss_bytes, a = rec->after.rss_bytes;

    if (!strcmp(name, "status")) *v = rec->status;
    else if (!strcmp(name, "pid")) *v = mt_check_pos(rec->pid);
    else if (!strcmp(name, "memory_before")) *v = b;
    else if (!strcmp(name, "memory_after")) *v = a;
    else if (!strcmp(name, "memory_growth"))
        *v = a == u || b == u ? u : a - b;
    else if (!strcmp(name, "objects_before"))
        *v = app ? app->gc_before.live_slots : u;
    else if (!strcmp(name, "objects_after"))
        *v = app ? app->gc_after.live_slots : u;
    else if (!strcmp(name, "query_cache_before")) *v = app ? app->qc_before : u;
    else if (!strcmp(name, "query_cache_after")) *v = app ? app->qc_after : u;
    else if (!strcmp(name, "threshold")) *v = mt_check_pos(rec->threshold_bytes);
    else if (!strcmp(name, "rss_anon_after")) *v = rec->after.rss_anon_bytes;
    else if (!strcmp(name, "swap_after")) *v = rec->after.swap_bytes;
    else if (!strcmp(name, "peak_rss_after")) *v = rec->after.peak_rss_bytes;
    else if (!strcmp(name, "shared_after")) *v = rec->after.shared_bytes;
    else if (!strcmp(name, "fds")) *v = rec->fds >= 0 ? rec->fds : u;
    else if (!strcmp(name, "uss")) *v = app ? app->uss_bytes : u;
    else if (!strcmp(name, "pss")) *v = app ? app->pss_bytes : u;
    else if (!strcmp(name, "overhead_us")) *v = rec->overhead_us;
    else if (!strcmp(name, "httpd_pid")) *v = mt_check_pos(rec->httpd_pid);
    else return 0;
    return 1;
}

/* The raw text of a top-level number after "key": in line. */
static const char *mt_check_num_text(const char *line, const char *key,
                                     apr_pool_t *p)
{
    const char *k = strstr(line, apr_pstrcat(p, "\"", key, "\":", NULL));
    size_t n;

    if (!k) return NULL;
    k += strlen(key) + 3;
    n = strcspn(k, ",}");
    return apr_pstrndup(p, k, n);
}

/* The cut state of one string: 0 as clean, 1 cut for the line, -1 wrong. */
static int mt_check_string(const char *got, size_t got_len, const char *raw,
                           apr_size_t cap, apr_pool_t *p)
{
    const char *want = mt_str_clean(p, raw, cap, NULL);
    const char *whole = mt_str_clean(p, raw, (apr_size_t)-1 / 4, NULL);
    size_t m = sizeof(MT_CUT_MARKER) - 1, keep;

    if (got_len != strlen(got)) return -1;         /* an embedded NUL */
    if (!strcmp(got, want)) return 0;
    if (got_len < m || strcmp(got + got_len - m, MT_CUT_MARKER)) return -1;
    keep = got_len - m;
    /* (a cut of escaped text may hold more clean bytes than the uncut
     * string: "\u0001" is 6 bytes escaped, 1 clean) */
    if (keep >= strlen(whole) || got_len > cap
        || strncmp(got, whole, keep) != 0) {
        return -1;
    }
    /* a character boundary: the kept part is clean text on its own */
    return strcmp(mt_str_clean(p, apr_pstrndup(p, got, keep), keep + m + 1,
                               NULL), apr_pstrndup(p, got, keep)) ? -1 : 1;
}

static const char *mt_check_gc(json_object *v, const mt_gc_t *gc,
                               const char *name, apr_pool_t *p)
{
    const apr_int64_t want[7] = {
        gc ? gc->count : MT_UNKNOWN, gc ? gc->minor : MT_UNKNOWN,
        gc ? gc->major : MT_UNKNOWN, gc ? gc->live_slots : MT_UNKNOWN,
        gc ? gc->old_objects : MT_UNKNOWN, gc ? gc->allocated : MT_UNKNOWN,
        gc ? gc->freed : MT_UNKNOWN,
    };
    int i = 0, any = 0;

    for (i = 0; i < 7; i++) any |= want[i] != MT_UNKNOWN;
    if (!any) return v ? apr_psprintf(p, "%s not null", name) : NULL;
    if (!json_object_is_type(v, json_type_object)
        || json_object_object_length(v) != mt_record_gc_key_count
        || mt_record_gc_key_count != 7) {
        return apr_psprintf(p, "%s not an object of 7 keys", name);
    }
    i = 0;
    json_object_object_foreach(v, key, val) {
        if (strcmp(key, mt_record_gc_keys[i])) {
            return apr_psprintf(p, "%s key %d is %s", name, i, key);
        }
        if (want[i] == MT_UNKNOWN ? val != NULL
            : !json_object_is_type(val, json_type_int)
              || json_object_get_int64(val) != want[i]) {
            return apr_psprintf(p, "%s.%s wrong", name, key);
        }
        i++;
    }
    return NULL;
}

static int mt_check_type(json_object *v, const char *type)
{
    if (!v) return 1;
    if (!strcmp(type, "string")) return json_object_is_type(v, json_type_string);
    if (!strcmp(type, "integer")) return json_object_is_type(v, json_type_int);
    if (!strcmp(type, "number")) return json_object_is_type(v, json_type_double);
    if (!strcmp(type, "boolean")) return json_object_is_type(v, json_type_boolean);
    if (!strcmp(type, "object")) return json_object_is_type(v, json_type_object);
    return 0;
}

/* Cut state of the strings of the line, for the rules across fields. */
typedef struct {
    int url_cut, other_cut, keep_cut;
    size_t url_len;
} mt_check_cuts_t;

static const char *mt_check_field(const mt_record_field_t *fd, json_object *v,
                                  const mt_record_t *rec, const char *line,
                                  mt_check_cuts_t *cuts, apr_pool_t *p)
{
    const char *name = fd->name, *raw, *text;
    apr_int64_t want;
    int known, cut;

    if (!mt_check_type(v, fd->json_type)) {
        return apr_psprintf(p, "%s is not %s or null", name, fd->json_type);
    }
    raw = mt_check_raw_str(rec, name, &known);
    if (known) {
        if (!raw || !v) return !raw == !v ? NULL
                               : apr_psprintf(p, "%s null or not", name);
        cut = mt_check_string(json_object_get_string(v),
                              (size_t)json_object_get_string_len(v), raw,
                              fd->cap, p);
        if (cut < 0) return apr_psprintf(p, "%s: '%s' is not the clean text",
                                         name, json_object_get_string(v));
        if (!strcmp(name, "url")) {
            cuts->url_cut |= cut;
            cuts->url_len = strlen(json_object_get_string(v));
        }
        else if (!strcmp(fd->kind, "KEEP")) cuts->keep_cut |= cut;
        else cuts->other_cut |= cut;
        return NULL;
    }
    if (mt_check_int(rec, name, &want)) {
        if (want == MT_UNKNOWN) return v ? apr_psprintf(p, "%s not null", name)
                                         : NULL;
        return v && json_object_get_int64(v) == want ? NULL
               : apr_psprintf(p, "%s is not %" APR_INT64_T_FMT, name, want);
    }
    if (!strcmp(name, "time")) {
        const char *t = mt_time_iso8601(p, rec->time);
        return v && !strcmp(json_object_get_string(v), t) ? NULL
               : apr_psprintf(p, "time is not %s", t);
    }
    if (!strcmp(name, "request_time")) {
        double s = rec->request_time;
        char w[64] = "null";    /* glibc's printf, as the json-c writer */

        if (s >= 0 && s < 1e12) snprintf(w, sizeof(w), "%.6f", s);
        text = mt_check_num_text(line, name, p);
        return text && !strcmp(text, w) ? NULL
               : apr_psprintf(p, "request_time %s, not %s", text, w);
    }
    if (!strcmp(name, "threshold_exceeded")) {
        int k = rec->before.rss_bytes != MT_UNKNOWN
                && rec->after.rss_bytes != MT_UNKNOWN;
        int ex = k && rec->threshold_bytes > 0
                 && rec->after.rss_bytes - rec->before.rss_bytes
                    > rec->threshold_bytes;
        return v && json_object_get_boolean(v) == ex ? NULL
               : apr_psprintf(p, "threshold_exceeded is not %d", ex);
    }
    if (!strcmp(name, "gc_stats_before")) {
        return mt_check_gc(v, rec->app ? &rec->app->gc_before : NULL, name, p);
    }
    if (!strcmp(name, "gc_stats_after")) {
        return mt_check_gc(v, rec->app ? &rec->app->gc_after : NULL, name, p);
    }
    return NULL;    /* a field this file does not know: its type was fine */
}

static json_object *mt_check_parse(const char *line, size_t n)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, line, (int)n);
    if (o && (json_tokener_get_error(tok) != json_tokener_success
              || json_tokener_get_parse_end(tok) != n)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* NULL when line (len bytes) is what rec must give, else what is wrong. */
static const char *mt_check_record(const mt_record_t *rec, const char *line,
                                   size_t len, size_t max_len, apr_pool_t *p)
{
    mt_check_cuts_t cuts = { 0, 0, 0, 0 };
    const char *why = NULL;
    json_object *o;
    int i = 0;

    if (len < 3 || len > max_len || line[len - 1] != '\n' || line[len] != '\0'
        || strlen(line) != len || memchr(line, '\n', len - 1)) {
        return apr_psprintf(p, "not one line of at most %" APR_SIZE_T_FMT
                            " bytes (%" APR_SIZE_T_FMT ")", max_len, len);
    }
    if (!(o = mt_check_parse(line, len - 1))
        || !json_object_is_type(o, json_type_object)) {
        if (o) json_object_put(o);
        return "not one strict JSON object in valid UTF-8";
    }
    if (json_object_object_length(o) != mt_record_field_count) {
        why = apr_psprintf(p, "%d keys, not %d",
                           json_object_object_length(o), mt_record_field_count);
    }
    json_object_object_foreach(o, key, val) {
        if (why || i >= mt_record_field_count) break;
        if (strcmp(key, mt_record_fields[i].name)) {
            why = apr_psprintf(p, "key %d is %s, not %s", i, key,
                               mt_record_fields[i].name);
            break;
        }
        why = mt_check_field(&mt_record_fields[i++], val, rec, line, &cuts, p);
    }
    json_object_put(o);
    if (why) return why;
    if (cuts.keep_cut) return "an id or fixed word was cut";
    if (cuts.other_cut && cuts.url_len > MT_CUT_MIN) {
        return "a string was cut before the url was down to MT_CUT_MIN";
    }
    if ((cuts.url_cut || cuts.other_cut)
        && len + MT_CHECK_CUT_SLACK < max_len) {
        return apr_psprintf(p, "cut to %" APR_SIZE_T_FMT " bytes: more would "
                            "fit", len);
    }
    return NULL;
}

#endif
