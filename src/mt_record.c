/* mt_record: the JSON record. httpd-free; the only file that uses json-c. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
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

/* The writer keeps one json-c tree with every field of a record, in record
 * order, and only changes values: no object, key or hash table is allocated
 * per record once a thread has written a few. Building a fresh tree cost
 * about forty small mallocs and frees per record, and in a threaded httpd
 * child that churn showed up as malloc_consolidate in other modules'
 * allocations: json-c was half of the module's CPU per request.
 *
 * Every value object lives as long as the writer (it holds a reference).
 * A field is attached when the tree holds it too; a null field is the key
 * with no value, which json-c prints as null. An empty string is one shared
 * object: json-c 0.16 leaks a string's buffer when it is set to "". */
typedef struct {
    json_object *parent;
    const char  *key;
    json_object *val;
    json_object *cur;   /* what the tree holds: NULL (null), val or empty */
} slot_t;

enum {
    F_REQUEST_ID, F_TIME, F_HOST, F_METHOD, F_URL, F_STATUS, F_CONTROLLER,
    F_ACTION, F_TARGET, F_PID, F_MEMORY_BEFORE, F_MEMORY_AFTER,
    F_MEMORY_GROWTH, F_OBJECTS_BEFORE, F_OBJECTS_AFTER, F_GC_BEFORE,
    F_GC_AFTER, F_QC_BEFORE, F_QC_AFTER, F_REQUEST_TIME, F_EXCEEDED,
    F_THRESHOLD, F_BEFORE_SOURCE, F_ATTRIBUTION, F_RSS_ANON, F_SWAP, F_PEAK,
    F_SHARED, F_FDS, F_USS, F_PSS, F_OVERHEAD, F_HTTPD_PID, F_SERVER,
    F_ENDPOINT, F_PID_START, F_EXCLUSIVE, F_PROBE_STARTED, F_PROBE_DONE,
    F_PROBE_BYTES, F_PROBE_OBJECTS, F_PROBE_US, F_PROBE_ENDPOINT,
    F_COUNT
};

static const struct {
    const char    *key;
    enum json_type type;
} fields[F_COUNT] = {
    { "request_id", json_type_string },
    { "time", json_type_string },
    { "host", json_type_string },
    { "method", json_type_string },
    { "url", json_type_string },
    { "status", json_type_int },
    { "controller", json_type_string },
    { "action", json_type_string },
    { "target", json_type_string },
    { "pid", json_type_int },
    { "memory_before", json_type_int },
    { "memory_after", json_type_int },
    { "memory_growth", json_type_int },
    { "objects_before", json_type_int },
    { "objects_after", json_type_int },
    { "gc_stats_before", json_type_object },
    { "gc_stats_after", json_type_object },
    { "query_cache_before", json_type_int },
    { "query_cache_after", json_type_int },
    { "request_time", json_type_double },
    { "threshold_exceeded", json_type_boolean },
    { "threshold", json_type_int },
    { "before_source", json_type_string },
    { "attribution", json_type_string },
    { "rss_anon_after", json_type_int },
    { "swap_after", json_type_int },
    { "peak_rss_after", json_type_int },
    { "shared_after", json_type_int },
    { "fds", json_type_int },
    { "uss", json_type_int },
    { "pss", json_type_int },
    { "overhead_us", json_type_int },
    { "httpd_pid", json_type_int },
    { "server", json_type_string },
    { "endpoint", json_type_string },
    { "pid_start", json_type_int },
    { "exclusive", json_type_boolean },
    { "probe_started", json_type_int },
    { "probe_done", json_type_int },
    { "probe_retained_bytes", json_type_int },
    { "probe_retained_objects", json_type_int },
    { "probe_gc_us", json_type_int },
    { "probe_endpoint", json_type_string },
};

enum { G_COUNT = 7 };
static const char *const gc_keys[G_COUNT] = {
    "count", "minor_gc_count", "major_gc_count", "heap_live_slots",
    "old_objects", "total_allocated_objects", "total_freed_objects",
};

struct mt_json_writer_t {
    json_object *root;
    json_object *empty;            /* "" */
    slot_t       f[F_COUNT];
    slot_t       gc[2][G_COUNT];   /* inside gc_stats_before / _after */
    double       request_time;     /* printed by secs_to_json */
};

/* request_time as seconds with microsecond digits ("0.001234"), not
 * json-c's shortest round-trip form of the double. */
static int secs_to_json(json_object *o, struct printbuf *pb, int level,
                        int flags)
{
    const double *secs = json_object_get_userdata(o);
    char buf[48];
    int n;

    (void)level;
    (void)flags;
    n = (*secs >= 0 && *secs < 1e12)
        ? snprintf(buf, sizeof(buf), "%.6f", *secs)
        : snprintf(buf, sizeof(buf), "null");
    return printbuf_memappend(pb, buf, n);
}

/* Integers without snprintf (json-c formats each with "%" PRId64; a record
 * has over thirty). */
static int int_to_json(json_object *o, struct printbuf *pb, int level,
                       int flags)
{
    int64_t v = json_object_get_int64(o);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char buf[24], *e = buf + sizeof(buf), *d = e;

    (void)level;
    (void)flags;
    do {
        *--d = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--d = '-';
    return printbuf_memappend(pb, d, (int)(e - d));
}

static json_object *new_int(void)
{
    json_object *o = json_object_new_int64(0);

    if (o) json_object_set_serializer(o, int_to_json, NULL, NULL);
    return o;
}

static json_object *new_value(enum json_type type)
{
    switch (type) {
    case json_type_string:  return json_object_new_string("");
    case json_type_int:     return new_int();
    case json_type_boolean: return json_object_new_boolean(0);
    case json_type_double:  return json_object_new_double(0);
    default:                return json_object_new_object();
    }
}

/* A key with a null value fixes the field's place in its object. */
static int slot_init(slot_t *s, json_object *parent, const char *key,
                     enum json_type type)
{
    s->parent = parent;
    s->key = key;
    s->cur = NULL;
    s->val = new_value(type);
    return s->val && json_object_object_add_ex(parent, key, NULL,
                         JSON_C_OBJECT_ADD_KEY_IS_NEW
                         | JSON_C_OBJECT_ADD_CONSTANT_KEY) == 0;
}

/* Hang v (NULL: null) in the tree under the slot's key; the writer's own
 * reference keeps what is taken out. Replacing a value keeps the key's
 * place. */
static void attach(slot_t *s, json_object *v)
{
    if (v == s->cur) return;
    json_object_object_add_ex(s->parent, s->key,
                              v ? json_object_get(v) : NULL,
                              JSON_C_OBJECT_ADD_CONSTANT_KEY);
    s->cur = v;
}

static void put_int(slot_t *s, apr_int64_t v)
{
    attach(s, v != MT_UNKNOWN && json_object_set_int64(s->val, v)
              ? s->val : NULL);
}

/* A signed figure, for which -1 is a value: MT_UNKNOWN_SIGNED is null. */
static void put_signed(slot_t *s, apr_int64_t v)
{
    attach(s, v != MT_UNKNOWN_SIGNED && json_object_set_int64(s->val, v)
              ? s->val : NULL);
}

static void put_str(mt_json_writer_t *w, slot_t *s, const char *v)
{
    if (!v) attach(s, NULL);
    else if (!*v) attach(s, w->empty);
    else attach(s, json_object_set_string(s->val, v) ? s->val : NULL);
}

void mt_json_writer_destroy(mt_json_writer_t *w)
{
    int i, g;

    if (!w) return;
    json_object_put(w->root);   /* drops the tree's references */
    json_object_put(w->empty);
    for (i = 0; i < F_COUNT; i++) json_object_put(w->f[i].val);
    for (g = 0; g < 2; g++) {
        for (i = 0; i < G_COUNT; i++) json_object_put(w->gc[g][i].val);
    }
    free(w);
}

mt_json_writer_t *mt_json_writer_create(void)
{
    mt_json_writer_t *w = calloc(1, sizeof(*w));
    int ok, i, g;

    if (!w) return NULL;
    ok = (w->root = json_object_new_object()) != NULL
         && (w->empty = json_object_new_string("")) != NULL;
    for (i = 0; ok && i < F_COUNT; i++) {
        ok = slot_init(&w->f[i], w->root, fields[i].key, fields[i].type);
    }
    for (g = 0; ok && g < 2; g++) {
        json_object *gc = w->f[g ? F_GC_AFTER : F_GC_BEFORE].val;
        for (i = 0; ok && i < G_COUNT; i++) {
            ok = slot_init(&w->gc[g][i], gc, gc_keys[i], json_type_int);
        }
    }
    if (ok) {
        json_object_set_serializer(w->f[F_REQUEST_TIME].val, secs_to_json,
                                   &w->request_time, NULL);
        attach(&w->f[F_REQUEST_TIME], w->f[F_REQUEST_TIME].val);
        attach(&w->f[F_EXCEEDED], w->f[F_EXCEEDED].val);
        return w;
    }
    mt_json_writer_destroy(w);
    return NULL;
}

static void put_gc(mt_json_writer_t *w, int which, const mt_gc_t *gc)
{
    const apr_int64_t v[G_COUNT] = {
        gc ? gc->count : MT_UNKNOWN, gc ? gc->minor : MT_UNKNOWN,
        gc ? gc->major : MT_UNKNOWN, gc ? gc->live_slots : MT_UNKNOWN,
        gc ? gc->old_objects : MT_UNKNOWN, gc ? gc->allocated : MT_UNKNOWN,
        gc ? gc->freed : MT_UNKNOWN,
    };
    slot_t *slot;
    int i, any = 0;

    for (i = 0; i < G_COUNT; i++) {
        put_int(&w->gc[which][i], v[i]);
        any |= v[i] != MT_UNKNOWN;
    }
    slot = &w->f[which ? F_GC_AFTER : F_GC_BEFORE];
    attach(slot, any ? slot->val : NULL);
}

/* The strings of a record after cleaning, at the current caps. */
typedef struct {
    const char *url, *host, *controller, *action, *method, *server;
    const char *endpoint, *probe_endpoint;
} clean_strings_t;

static void clean_strings(clean_strings_t *cs, const mt_record_t *rec,
                          apr_size_t url_max, apr_size_t other_max,
                          apr_pool_t *p)
{
    cs->url = mt_str_clean(p, rec->url, url_max, NULL);
    cs->host = mt_str_clean(p, rec->host, other_max, NULL);
    cs->server = mt_str_clean(p, rec->server, other_max, NULL);
    cs->method = mt_str_clean(p, rec->method, 32, NULL);
    cs->endpoint = mt_str_clean(p, rec->endpoint, other_max, NULL);
    cs->probe_endpoint = mt_str_clean(p, rec->probe_endpoint, other_max, NULL);
    cs->controller = rec->app ? mt_str_clean(p, rec->app->controller,
                                             other_max, NULL) : NULL;
    cs->action = rec->app ? mt_str_clean(p, rec->app->action,
                                         other_max, NULL) : NULL;
}

/* Everything but the strings that cutting changes. */
static void put_fixed(mt_json_writer_t *w, const mt_record_t *rec,
                      apr_pool_t *p)
{
    const mt_app_report_t *app = rec->app;
    slot_t *f = w->f;
    int known;
    apr_int64_t growth = mt_record_growth(rec, &known);

    put_str(w, &f[F_REQUEST_ID], rec->request_id);
    put_str(w, &f[F_TIME], mt_time_iso8601(p, rec->time));
    put_int(&f[F_STATUS], rec->status);
    put_str(w, &f[F_TARGET], rec->target);
    put_int(&f[F_PID], rec->pid > 0 ? rec->pid : MT_UNKNOWN);
    put_int(&f[F_MEMORY_BEFORE], rec->before.rss_bytes);
    put_int(&f[F_MEMORY_AFTER], rec->after.rss_bytes);
    put_int(&f[F_MEMORY_GROWTH], known ? growth : MT_UNKNOWN);
    put_int(&f[F_OBJECTS_BEFORE], app ? app->gc_before.live_slots : MT_UNKNOWN);
    put_int(&f[F_OBJECTS_AFTER], app ? app->gc_after.live_slots : MT_UNKNOWN);
    put_gc(w, 0, app ? &app->gc_before : NULL);
    put_gc(w, 1, app ? &app->gc_after : NULL);
    put_int(&f[F_QC_BEFORE], app ? app->qc_before : MT_UNKNOWN);
    put_int(&f[F_QC_AFTER], app ? app->qc_after : MT_UNKNOWN);
    w->request_time = rec->request_time;
    json_object_set_boolean(f[F_EXCEEDED].val, mt_record_exceeded(rec));
    put_int(&f[F_THRESHOLD],
            rec->threshold_bytes > 0 ? rec->threshold_bytes : MT_UNKNOWN);
    put_str(w, &f[F_BEFORE_SOURCE], rec->before_source);
    put_str(w, &f[F_ATTRIBUTION], rec->attribution);
    put_int(&f[F_RSS_ANON], rec->after.rss_anon_bytes);
    put_int(&f[F_SWAP], rec->after.swap_bytes);
    put_int(&f[F_PEAK], rec->after.peak_rss_bytes);
    put_int(&f[F_SHARED], rec->after.shared_bytes);
    put_int(&f[F_FDS], rec->fds >= 0 ? rec->fds : MT_UNKNOWN);
    put_int(&f[F_USS], app ? app->uss_bytes : MT_UNKNOWN);
    put_int(&f[F_PSS], app ? app->pss_bytes : MT_UNKNOWN);
    put_int(&f[F_OVERHEAD], rec->overhead_us);
    put_int(&f[F_HTTPD_PID], rec->httpd_pid > 0 ? rec->httpd_pid : MT_UNKNOWN);
    put_int(&f[F_PID_START], rec->start_ticks > 0
            ? (apr_int64_t)rec->start_ticks : MT_UNKNOWN);
    json_object_set_boolean(f[F_EXCLUSIVE].val, rec->exclusive != 0);
    attach(&f[F_EXCLUSIVE], f[F_EXCLUSIVE].val);
    put_int(&f[F_PROBE_STARTED], rec->probe_started
            ? (apr_int64_t)rec->probe_started : MT_UNKNOWN);
    put_int(&f[F_PROBE_DONE], rec->probe_done
            ? (apr_int64_t)rec->probe_done : MT_UNKNOWN);
    put_signed(&f[F_PROBE_BYTES], rec->probe_done ? rec->probe_bytes
                                                  : MT_UNKNOWN_SIGNED);
    put_signed(&f[F_PROBE_OBJECTS], rec->probe_done ? rec->probe_objects
                                                    : MT_UNKNOWN_SIGNED);
    put_int(&f[F_PROBE_US], rec->probe_done ? rec->probe_us : MT_UNKNOWN);
}

static void put_strings(mt_json_writer_t *w, const clean_strings_t *cs)
{
    put_str(w, &w->f[F_HOST], cs->host);
    put_str(w, &w->f[F_METHOD], cs->method);
    put_str(w, &w->f[F_URL], cs->url);
    put_str(w, &w->f[F_CONTROLLER], cs->controller);
    put_str(w, &w->f[F_ACTION], cs->action);
    put_str(w, &w->f[F_SERVER], cs->server);
    put_str(w, &w->f[F_ENDPOINT], cs->endpoint);
    put_str(w, &w->f[F_PROBE_ENDPOINT], cs->probe_endpoint);
}

apr_status_t mt_record_to_json(char **line, apr_size_t *len,
                               const mt_record_t *rec, apr_size_t max_len,
                               mt_json_writer_t *writer, apr_pool_t *p)
{
    mt_json_writer_t *w = writer ? writer : mt_json_writer_create();
    apr_size_t url_max = MT_URL_MAX, other_max = MT_HOST_MAX;
    apr_status_t rv = APR_ENOSPC;
    int attempt;

    if (!w) return APR_ENOMEM;
    put_fixed(w, rec, p);
    for (attempt = 0; attempt < 8; attempt++) {
        clean_strings_t cs;
        const char *json;
        size_t n;

        clean_strings(&cs, rec, url_max, other_max, p);
        put_strings(w, &cs);
        json = json_object_to_json_string_length(w->root,
                   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                   &n);
        if (!json) {
            rv = APR_ENOMEM;
            break;
        }
        if (n + 1 <= max_len) {
            *line = apr_palloc(p, n + 2);
            memcpy(*line, json, n);
            (*line)[n] = '\n';
            (*line)[n + 1] = '\0';
            *len = n + 1;
            rv = APR_SUCCESS;
            break;
        }
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
    if (!writer) mt_json_writer_destroy(w);
    return rv;
}
