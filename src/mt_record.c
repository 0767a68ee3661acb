/* mt_record: the JSON record. httpd-free; the only file that uses json-c. */
#include <stdio.h>
#include <string.h>
#include <json.h>
#include <apr_strings.h>

#include "mt_record.h"
#include "mt_util.h"

/* First caps on strings, before any cutting to fit the line. */
#define MT_URL_MAX        2048
#define MT_HOST_MAX       255
#define MT_NAME_MAX       128
#define MT_MIN_CUT        32

apr_int64_t mt_record_growth(const mt_record_t *rec, int *known)
{
    *known = rec->before.rss_bytes != MT_UNKNOWN
             && rec->after.rss_bytes != MT_UNKNOWN;
    return *known ? rec->after.rss_bytes - rec->before.rss_bytes : 0;
}

int mt_record_exceeded(const mt_record_t *rec)
{
    int known;
    apr_int64_t growth = mt_record_growth(rec, &known);

    return known && rec->threshold_bytes > 0 && growth > rec->threshold_bytes;
}

/* Every key is a string literal, added once: json-c neither copies it nor
 * looks for an earlier one (half of the allocations of a record). */
static void add(json_object *o, const char *key, json_object *val)
{
    json_object_object_add_ex(o, key, val, JSON_C_OBJECT_ADD_KEY_IS_NEW
                                           | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static json_object *j_int(apr_int64_t v)
{
    return v == MT_UNKNOWN ? NULL : json_object_new_int64(v);
}

static json_object *j_str(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *j_gc(const mt_gc_t *gc)
{
    json_object *o;

    if (gc->count == MT_UNKNOWN && gc->minor == MT_UNKNOWN
        && gc->major == MT_UNKNOWN && gc->live_slots == MT_UNKNOWN
        && gc->old_objects == MT_UNKNOWN && gc->allocated == MT_UNKNOWN
        && gc->freed == MT_UNKNOWN) {
        return NULL;
    }
    o = json_object_new_object();
    add(o, "count", j_int(gc->count));
    add(o, "minor_gc_count", j_int(gc->minor));
    add(o, "major_gc_count", j_int(gc->major));
    add(o, "heap_live_slots", j_int(gc->live_slots));
    add(o, "old_objects", j_int(gc->old_objects));
    add(o, "total_allocated_objects", j_int(gc->allocated));
    add(o, "total_freed_objects", j_int(gc->freed));
    return o;
}

/* The strings of a record after cleaning, at the current caps. */
typedef struct {
    const char *url, *host, *controller, *action, *method, *server;
} clean_strings_t;

static void clean_strings(clean_strings_t *cs, const mt_record_t *rec,
                          apr_size_t url_max, apr_size_t other_max,
                          apr_pool_t *p)
{
    cs->url = mt_str_clean(p, rec->url, url_max, NULL);
    cs->host = mt_str_clean(p, rec->host, other_max, NULL);
    cs->server = mt_str_clean(p, rec->server, other_max, NULL);
    cs->method = mt_str_clean(p, rec->method, 32, NULL);
    cs->controller = rec->app ? mt_str_clean(p, rec->app->controller,
                                             other_max, NULL) : NULL;
    cs->action = rec->app ? mt_str_clean(p, rec->app->action,
                                         other_max, NULL) : NULL;
}

static void add_app_fields(json_object *o, const mt_record_t *rec)
{
    const mt_app_report_t *app = rec->app;

    add(o, "objects_before",
        app ? j_int(app->gc_before.live_slots) : NULL);
    add(o, "objects_after",
        app ? j_int(app->gc_after.live_slots) : NULL);
    add(o, "gc_stats_before", app ? j_gc(&app->gc_before) : NULL);
    add(o, "gc_stats_after", app ? j_gc(&app->gc_after) : NULL);
    add(o, "query_cache_before", app ? j_int(app->qc_before) : NULL);
    add(o, "query_cache_after", app ? j_int(app->qc_after) : NULL);
}

static json_object *build(const mt_record_t *rec, const clean_strings_t *cs,
                          apr_pool_t *p)
{
    json_object *o = json_object_new_object();
    int known;
    apr_int64_t growth = mt_record_growth(rec, &known);
    char secs[32];

    add(o, "request_id", j_str(rec->request_id));
    add(o, "time", j_str(mt_time_iso8601(p, rec->time)));
    add(o, "host", j_str(cs->host));
    add(o, "method", j_str(cs->method));
    add(o, "url", j_str(cs->url));
    add(o, "status", json_object_new_int(rec->status));
    add(o, "controller", j_str(cs->controller));
    add(o, "action", j_str(cs->action));
    add(o, "target", j_str(rec->target));
    add(o, "pid", rec->pid > 0 ? json_object_new_int(rec->pid) : NULL);
    add(o, "memory_before", j_int(rec->before.rss_bytes));
    add(o, "memory_after", j_int(rec->after.rss_bytes));
    add(o, "memory_growth",
        known ? json_object_new_int64(growth) : NULL);
    add_app_fields(o, rec);
    snprintf(secs, sizeof(secs), "%.6f", rec->request_time);
    add(o, "request_time",
        json_object_new_double_s(rec->request_time, secs));
    add(o, "threshold_exceeded",
        json_object_new_boolean(mt_record_exceeded(rec)));
    add(o, "threshold",
        rec->threshold_bytes > 0 ? j_int(rec->threshold_bytes) : NULL);
    add(o, "before_source", j_str(rec->before_source));
    add(o, "attribution", j_str(rec->attribution));
    add(o, "rss_anon_after", j_int(rec->after.rss_anon_bytes));
    add(o, "swap_after", j_int(rec->after.swap_bytes));
    add(o, "peak_rss_after", j_int(rec->after.peak_rss_bytes));
    add(o, "shared_after", j_int(rec->after.shared_bytes));
    add(o, "fds", rec->fds >= 0 ? json_object_new_int(rec->fds) : NULL);
    add(o, "uss", rec->app ? j_int(rec->app->uss_bytes) : NULL);
    add(o, "pss", rec->app ? j_int(rec->app->pss_bytes) : NULL);
    add(o, "overhead_us", j_int(rec->overhead_us));
    add(o, "httpd_pid",
        rec->httpd_pid > 0 ? json_object_new_int(rec->httpd_pid) : NULL);
    add(o, "server", j_str(cs->server));
    return o;
}

apr_status_t mt_record_to_json(char **line, apr_size_t *len,
                               const mt_record_t *rec, apr_size_t max_len,
                               apr_pool_t *p)
{
    apr_size_t url_max = MT_URL_MAX, other_max = MT_HOST_MAX;
    int attempt;

    for (attempt = 0; attempt < 8; attempt++) {
        clean_strings_t cs;
        json_object *o;
        const char *json;
        apr_size_t n;

        clean_strings(&cs, rec, url_max, other_max, p);
        o = build(rec, &cs, p);
        json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN
                                                 | JSON_C_TO_STRING_NOSLASHESCAPE);
        n = strlen(json);
        if (n + 1 <= max_len) {
            *line = apr_palloc(p, n + 2);
            memcpy(*line, json, n);
            (*line)[n] = '\n';
            (*line)[n + 1] = '\0';
            *len = n + 1;
            json_object_put(o);
            return APR_SUCCESS;
        }
        json_object_put(o);
        /* Escaping only grows a string, so cutting the excess from the raw
         * url shrinks the line by at least as much. */
        if (url_max > MT_MIN_CUT) {
            apr_size_t excess = n + 1 - max_len + 16;
            url_max = excess < url_max / 2 ? url_max - excess : url_max / 2;
            if (url_max < MT_MIN_CUT) url_max = MT_MIN_CUT;
        }
        else {
            other_max = other_max > MT_MIN_CUT * 2 ? other_max / 2 : MT_MIN_CUT;
        }
    }
    return APR_ENOSPC;
}
