/* mt_heapview: heap diffs as JSON and HTML (see include/mt_heapview.h).
 * Every string an app controls (file names, class names, endpoint names,
 * the app root, messages that quote them) goes through mt_buf's escapers. */
#include <string.h>
#include <apr_strings.h>

#include "mt_heapview.h"
#include "mt_status.h"
#include "mt_status_html.h"

/* ---- JSON ---- */

static void sep(mt_buf_t *b)
{
    char c = mt_buf_last(b);

    if (c != '{' && c != '[' && c != ':' && c != '\0') {
        mt_buf_putc(b, ',');
    }
}

static void key(mt_buf_t *b, const char *k)
{
    sep(b);
    mt_buf_putc(b, '"');
    mt_buf_puts(b, k);
    mt_buf_add(b, "\":", 2);
}

static void j_int(mt_buf_t *b, const char *k, apr_int64_t v)
{
    key(b, k);
    mt_buf_int(b, v);
}

/* an integer, null when negative (unknown) */
static void j_known(mt_buf_t *b, const char *k, apr_int64_t v)
{
    key(b, k);
    if (v >= 0) mt_buf_int(b, v);
    else mt_buf_add(b, "null", 4);
}

static void j_str(mt_buf_t *b, const char *k, const char *v)
{
    key(b, k);
    mt_buf_json_str(b, v && *v ? v : NULL);
}

static void j_bool(mt_buf_t *b, const char *k, int v)
{
    key(b, k);
    mt_buf_puts(b, v ? "true" : "false");
}

static void j_secs(mt_buf_t *b, const char *k, double v, int ok)
{
    key(b, k);
    if (ok) mt_buf_num(b, v, 6);
    else mt_buf_add(b, "null", 4);
}

static void j_time(mt_buf_t *b, const char *k, apr_time_t t)
{
    char iso[32];

    j_str(b, k, t ? mt_status_iso(iso, t) : NULL);
}

static void j_ints(mt_buf_t *b, const char *k, const apr_int64_t *v, int n)
{
    int i;

    key(b, k);
    mt_buf_putc(b, '[');
    for (i = 0; i < n; i++) {
        if (i) mt_buf_putc(b, ',');
        mt_buf_int(b, v[i]);
    }
    mt_buf_putc(b, ']');
}

static void json_row(mt_buf_t *b, const mt_heapdiff_row_t *r, int rank)
{
    char site[MT_HEAPDIFF_FILE_MAX + 32];

    sep(b);
    mt_buf_putc(b, '{');
    j_int(b, "rank", rank);
    j_str(b, "class", r->class_name);
    j_str(b, "type", r->type);
    j_str(b, "file", r->file);
    j_known(b, "line", r->file[0] ? r->line : -1);
    if (r->file[0]) {
        apr_snprintf(site, sizeof(site), "%s%s:%" APR_INT64_T_FMT,
                     r->file_cut ? "..." : "", r->file, r->line);
    }
    j_str(b, "site", r->file[0] ? site : NULL);
    j_int(b, "count", r->count);
    j_int(b, "bytes", r->bytes);
    j_int(b, "generations", r->generations);
    j_known(b, "generation_first", r->gen_first);
    j_known(b, "generation_last", r->gen_last);
    mt_buf_putc(b, '}');
}

void mt_heapview_diff_json(mt_buf_t *b, const mt_heapdiff_result_t *d)
{
    int i;

    if (!d || !d->mode) {
        mt_buf_add(b, "null", 4);
        return;
    }
    mt_buf_putc(b, '{');
    j_str(b, "mode", d->mode == MT_HEAPDIFF_GENERATIONS ? "generations"
                                                        : "addresses");
    j_ints(b, "objects_read", d->objects, 3);
    j_ints(b, "bytes_read", d->file_bytes, 3);
    j_int(b, "bad_lines", d->bad_lines);
    j_int(b, "kept_objects", d->kept_objects);
    j_int(b, "kept_bytes", d->kept_bytes);
    j_int(b, "untraced_objects", d->untraced_objects);
    j_int(b, "groups", d->groups);
    j_int(b, "other_objects", d->other_objects);
    j_int(b, "other_bytes", d->other_bytes);
    j_secs(b, "seconds", d->seconds, 1);
    j_str(b, "note", d->message);
    key(b, "top");
    mt_buf_putc(b, '[');
    for (i = 0; i < d->n_rows && i < MT_HEAPDIFF_ROWS; i++) {
        json_row(b, &d->rows[i], i + 1);
    }
    mt_buf_add(b, "]}", 2);
}

static void json_snapshots(mt_buf_t *b, const mt_heapctl_attempt_t *a)
{
    int i;

    key(b, "snapshots");
    mt_buf_putc(b, '[');
    for (i = 0; i < 3; i++) {
        const mt_heapctl_snap_t *s = &a->snap[i];
        if (!s->at) continue;
        sep(b);
        mt_buf_putc(b, '{');
        j_int(b, "snapshot", i + 1);
        j_known(b, "bytes", s->bytes);
        j_secs(b, "pause_seconds", (double)s->pause_us / 1e6, s->pause_us >= 0);
        j_known(b, "gc_count", s->gc);
        j_time(b, "time", s->at);
        mt_buf_putc(b, '}');
    }
    mt_buf_putc(b, ']');
}

/* The attempt's own fields (a running one and a result share them). */
static void json_attempt(mt_buf_t *b, const mt_heapctl_attempt_t *a)
{
    j_int(b, "token", (apr_int64_t)a->token);
    j_str(b, "endpoint", a->endpoint_name);
    j_known(b, "pid", a->pid > 0 ? a->pid : -1);
    j_str(b, "app_root", a->app_root);
    j_str(b, "trigger", mt_heapctl_trigger_name(a->trigger));
    j_bool(b, "forced", a->forced);
    j_time(b, "started", a->started);
    j_int(b, "requests_between_snapshots", a->needed);
    j_ints(b, "requests_counted", a->between, 2);
    json_snapshots(b, a);
}

void mt_heapview_result_json(mt_buf_t *b, const mt_heapctl_result_t *r)
{
    mt_buf_putc(b, '{');
    j_int(b, "schema", MT_HEAPVIEW_SCHEMA);
    json_attempt(b, &r->a);
    j_str(b, "outcome", mt_heapctl_outcome_name(r->a.outcome));
    j_str(b, "message", r->a.message);
    j_time(b, "finished", r->a.finished);
    key(b, "diff");
    mt_heapview_diff_json(b, &r->diff);
    mt_buf_putc(b, '}');
}

static void json_current(mt_buf_t *b, const mt_heapctl_attempt_t *a)
{
    key(b, "current");
    if (a->state == MT_HEAPCTL_IDLE) {
        mt_buf_add(b, "null", 4);
        return;
    }
    mt_buf_putc(b, '{');
    j_str(b, "state", mt_heapctl_state_name(a->state));
    json_attempt(b, a);
    j_int(b, "step", a->step);
    j_int(b, "requests_needed", a->needed);
    j_int(b, "requests_since_snapshot", a->count);
    mt_buf_putc(b, '}');
}

void mt_heapview_json(mt_buf_t *b, const mt_heapctl_view_t *v)
{
    char confirm[32];
    unsigned int i;

    key(b, "heap_diff");
    if (!v) {
        mt_buf_add(b, "null", 4);
        return;
    }
    mt_buf_putc(b, '{');
    j_bool(b, "enabled", v->params.dir[0] != '\0');
    j_bool(b, "automatic", v->params.dir[0] && v->params.auto_on);
    j_str(b, "directory", v->params.dir);
    j_int(b, "requests_between_snapshots", v->params.requests);
    j_int(b, "interval_seconds", v->params.interval_sec);
    apr_snprintf(confirm, sizeof(confirm), "%016" APR_UINT64_T_HEX_FMT,
                 v->confirm);
    j_str(b, "confirm", v->params.dir[0] ? confirm : NULL);
    j_int(b, "attempts_started", v->started);
    j_int(b, "attempts_done", v->done);
    j_int(b, "attempts_failed", v->failed);
    j_int(b, "attempts_cancelled", v->cancelled);
    json_current(b, &v->cur);
    key(b, "results");
    mt_buf_putc(b, '[');
    for (i = 0; i < v->n_results; i++) {
        sep(b);
        mt_heapview_result_json(b, &v->results[i]);
    }
    mt_buf_add(b, "]}", 2);
}

const mt_heapctl_result_t *mt_heapview_latest(const mt_heapctl_view_t *v,
                                              const char *endpoint)
{
    unsigned int i;

    for (i = 0; v && endpoint && i < v->n_results; i++) {
        if (!strcmp(v->results[i].a.endpoint_name, endpoint)) {
            return &v->results[i];
        }
    }
    return NULL;
}

void mt_heapview_json_endpoint(mt_buf_t *b, const mt_heapctl_view_t *v,
                               const char *endpoint)
{
    const mt_heapctl_result_t *r = mt_heapview_latest(v, endpoint);

    key(b, "heap_diff");
    if (r) mt_heapview_result_json(b, r);
    else mt_buf_add(b, "null", 4);
}

/* ---- HTML ---- */

static void html_site(mt_buf_t *b, const mt_heapdiff_row_t *r)
{
    mt_buf_puts(b, "<span class=\"name\">");
    if (r->file[0]) {
        if (r->file_cut) mt_buf_puts(b, "&hellip;");
        mt_buf_html(b, r->file);
        mt_buf_printf(b, ":%" APR_INT64_T_FMT, r->line);
    }
    else {
        mt_buf_puts(b, "<span class=\"grey\">(allocated before tracing, or "
                    "untraced)</span>");
    }
    mt_buf_puts(b, "</span>");
}

static void html_class(mt_buf_t *b, const mt_heapdiff_row_t *r)
{
    mt_buf_puts(b, "<span class=\"name\">");
    mt_buf_html(b, r->class_name[0] ? r->class_name : r->type);
    mt_buf_puts(b, "</span>");
    if (r->class_name[0] && strcmp(r->type, "OBJECT") != 0) {
        mt_buf_puts(b, " <span class=\"grey\">");
        mt_buf_html(b, r->type);
        mt_buf_puts(b, "</span>");
    }
}

void mt_heapview_html_brief(mt_buf_t *b, const mt_heapctl_view_t *v,
                            const char *endpoint)
{
    const mt_heapctl_result_t *r = mt_heapview_latest(v, endpoint);
    const mt_heapdiff_row_t *top;

    if (!r) {
        return;
    }
    mt_buf_printf(b, "<div class=\"ev\"><a href=\"#heap%" APR_UINT64_T_FMT
                  "\">heap diff</a> (%s): ", r->a.token,
                  mt_heapctl_outcome_name(r->a.outcome));
    if (r->a.outcome == MT_HEAPCTL_DONE && r->diff.n_rows > 0) {
        top = &r->diff.rows[0];
        mt_buf_puts(b, "kept most: ");
        html_class(b, top);
        mt_buf_puts(b, " at ");
        html_site(b, top);
        mt_buf_puts(b, ", ");
        mt_html_count(b, top->count);
        mt_buf_puts(b, " objects, ");
        mt_html_bytes(b, (double)top->bytes, 0);
    }
    else {
        mt_buf_html(b, r->a.message);
    }
    mt_buf_puts(b, "</div>");
}

static void html_rows(mt_buf_t *b, const mt_heapdiff_result_t *d)
{
    int i;

    mt_buf_puts(b, "<table><thead><tr><th class=\"n\">#</th><th>class</th>"
                "<th>allocated at</th><th class=\"n\">objects</th>"
                "<th class=\"n\">bytes</th><th class=\"n\">GC generations"
                "</th></tr></thead><tbody>");
    for (i = 0; i < d->n_rows && i < MT_HEAPDIFF_ROWS; i++) {
        const mt_heapdiff_row_t *r = &d->rows[i];
        mt_buf_printf(b, "<tr><td class=\"n\">%d</td><td>", i + 1);
        html_class(b, r);
        mt_buf_puts(b, "</td><td>");
        html_site(b, r);
        mt_buf_puts(b, "</td><td class=\"n\">");
        mt_html_count(b, r->count);
        mt_buf_puts(b, "</td><td class=\"n\">");
        mt_html_bytes(b, (double)r->bytes, 0);
        mt_buf_puts(b, "</td><td class=\"n\">");
        mt_html_count(b, r->generations);
        mt_buf_puts(b, "</td></tr>");
    }
    mt_buf_puts(b, "</tbody></table>");
}

static void html_snapshots(mt_buf_t *b, const mt_heapctl_attempt_t *a)
{
    int i;

    for (i = 0; i < 3; i++) {
        if (!a->snap[i].at) continue;
        mt_buf_printf(b, "%ssnapshot %d: ", i ? " &middot; " : "", i + 1);
        mt_html_bytes(b, (double)a->snap[i].bytes, 0);
        mt_buf_puts(b, ", paused ");
        mt_html_dur(b, (double)a->snap[i].pause_us / 1e6);
    }
}

void mt_heapview_html_result(mt_buf_t *b, const mt_heapctl_result_t *r)
{
    const mt_heapctl_attempt_t *a = &r->a;

    mt_buf_printf(b, "<div class=\"card\" id=\"heap%" APR_UINT64_T_FMT
                  "\" style=\"margin-bottom:10px\"><div><b>%s</b> &middot; "
                  "<span class=\"name\">", a->token,
                  mt_heapctl_outcome_name(a->outcome));
    mt_buf_html(b, a->endpoint_name);
    mt_buf_printf(b, "</span> &middot; process %d &middot; %s &middot; ",
                  a->pid, a->trigger == MT_HEAPCTL_DEMAND ? "on demand"
                                                          : "after its leak verdict");
    mt_html_time(b, a->finished ? a->finished : a->started);
    mt_buf_printf(b, "</div><div class=\"ev\">%" APR_INT64_T_FMT " and %"
                  APR_INT64_T_FMT " requests of the endpoint between the "
                  "snapshots; ", a->between[0], a->between[1]);
    html_snapshots(b, a);
    mt_buf_puts(b, "</div><div>");
    mt_buf_html(b, a->message);
    mt_buf_puts(b, "</div>");
    if (r->diff.mode && r->diff.n_rows) {
        mt_buf_puts(b, "<div class=\"ev\">Objects born between snapshot 1 "
                    "and 2 that were still alive at 3, by class and where "
                    "they were allocated; most bytes first.</div>");
        html_rows(b, &r->diff);
    }
    mt_buf_puts(b, "</div>\n");
}

static void html_forms(mt_buf_t *b, const mt_heapctl_view_t *v)
{
    char confirm[32];

    apr_snprintf(confirm, sizeof(confirm), "%016" APR_UINT64_T_HEX_FMT,
                 v->confirm);
    mt_buf_puts(b, "<form method=\"post\" class=\"card\" style=\"margin:10px "
                "0\"><b>Diff on demand</b>: endpoint <input name=\"endpoint\" "
                "size=\"40\" required> process id (empty: the next that "
                "serves it) <input name=\"pid\" size=\"8\"> <label><input "
                "type=\"checkbox\" name=\"force\" value=\"1\"> force: even "
                "if it is the only process of its app, or its app had a diff "
                "within MemTrackHeapDiffInterval</label> <input "
                "type=\"hidden\" "
                "name=\"action\" value=\"start\"><input type=\"hidden\" "
                "name=\"confirm\" value=\"");
    mt_buf_puts(b, confirm);
    mt_buf_puts(b, "\"> <button>start</button></form>");
    if (v->cur.state != MT_HEAPCTL_IDLE && v->cur.state != MT_HEAPCTL_STOP) {
        mt_buf_puts(b, "<form method=\"post\"><input type=\"hidden\" "
                    "name=\"action\" value=\"cancel\"><input type=\"hidden\" "
                    "name=\"confirm\" value=\"");
        mt_buf_puts(b, confirm);
        mt_buf_puts(b, "\"><button>cancel the running attempt</button></form>");
    }
}

static void html_current(mt_buf_t *b, const mt_heapctl_attempt_t *a)
{
    if (a->state == MT_HEAPCTL_IDLE) {
        mt_buf_puts(b, "<div class=\"card\">No attempt is running.</div>");
        return;
    }
    mt_buf_printf(b, "<div class=\"card warn\"><b>%s</b> &middot; <span "
                  "class=\"name\">", mt_heapctl_state_name(a->state));
    mt_buf_html(b, a->endpoint_name);
    mt_buf_printf(b, "</span> &middot; process %d &middot; snapshot %d of 3"
                  " &middot; %" APR_INT64_T_FMT " of %" APR_INT64_T_FMT
                  " requests since the last</div>", a->pid, a->step, a->count,
                  a->needed);
}

void mt_heapview_html(mt_buf_t *b, const mt_heapctl_view_t *v)
{
    unsigned int i;

    if (!v || !v->params.dir[0]) {
        return;
    }
    mt_buf_puts(b, "<h2 id=\"heapdiffs\">Heap diffs</h2>\n");
    html_current(b, &v->cur);
    html_forms(b, v);
    for (i = 0; i < v->n_results; i++) {
        mt_heapview_html_result(b, &v->results[i]);
    }
}
