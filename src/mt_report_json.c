/* mt_report_json: the report for programs. httpd-free; see
 * include/mt_report_out.h.
 *
 * {"schema":1, "tool":"memtrack-report", "version", "generated",
 *  "input": {counts, "sources":[...]},
 *  "fleet": <the status page's ?json object, its processes with "server",
 *            its endpoints with "leak_servers">,
 *  "servers": [<the status page's ?json object of each server>],
 *  <one key per extra section>}
 */
#include <string.h>
#include <apr_strings.h>

#include "mt_report_out.h"
#include "mt_status.h"

#define MT_REPORT_SCHEMA 1

static void kv_int(mt_buf_t *b, const char *k, apr_int64_t v, int comma)
{
    mt_buf_printf(b, "%s\"%s\":", comma ? "," : "", k);
    mt_buf_int(b, v);
}

static void kv_str(mt_buf_t *b, const char *k, const char *v)
{
    mt_buf_printf(b, ",\"%s\":", k);
    mt_buf_json_str(b, v);
}

static void source(mt_buf_t *b, const mt_report_source_t *s)
{
    mt_buf_puts(b, "{\"name\":");
    mt_buf_json_str(b, s->in->name);
    mt_buf_printf(b, ",\"gzip\":%s,\"failed\":%s", s->in->gzip ? "true" : "false",
                  s->in->failed ? "true" : "false");
    kv_int(b, "lines", s->in->lines, 1);
    kv_int(b, "bytes", (apr_int64_t)s->in->bytes, 1);
    kv_int(b, "records", s->records, 1);
    kv_int(b, "bad_lines", s->bad, 1);
    if (s->bad) kv_int(b, "first_bad_line", s->first_bad_line, 1);
    else mt_buf_puts(b, ",\"first_bad_line\":null");
    kv_str(b, "first_bad", s->bad ? s->first_bad : NULL);
    kv_str(b, "problem", s->in->problem);
    mt_buf_putc(b, '}');
}

static void input(mt_buf_t *b, const mt_report_view_t *v)
{
    const mt_report_t *r = v->r;
    apr_int64_t bad = 0;
    unsigned int i;

    for (i = 0; i < v->n_src; i++) bad += v->src[i].bad;
    mt_buf_puts(b, "\"input\":{");
    kv_int(b, "records", r->records, 0);
    kv_int(b, "analysed", r->analysed, 1);
    kv_int(b, "bad_lines", bad, 1);
    kv_int(b, "without_process", r->unusable, 1);
    kv_int(b, "late", r->late, 1);
    kv_int(b, "outside_range", r->outside, 1);
    kv_int(b, "fleet_only", r->fleet_only, 1);
    kv_int(b, "window", r->opts.window, 1);
    kv_int(b, "memory_bytes", (apr_int64_t)mt_report_memory(r), 1);
    mt_buf_puts(b, ",\"sources\":[");
    for (i = 0; i < v->n_src; i++) {
        if (i) mt_buf_putc(b, ',');
        source(b, &v->src[i]);
    }
    mt_buf_puts(b, "]}");
}

static void info_of(mt_status_info_t *info, const mt_report_view_t *v,
                    const char *name, apr_time_t as_of)
{
    memset(info, 0, sizeof(*info));
    info->version = v->version;
    info->server = name;
    info->generated = as_of;
}

void mt_report_json(mt_buf_t *b, const mt_report_view_t *v)
{
    const mt_report_section_t *x;
    mt_status_info_t info;
    unsigned int i;
    char iso[32];

    mt_buf_printf(b, "{\"schema\":%d,\"tool\":\"memtrack-report\",\"version\":",
                  MT_REPORT_SCHEMA);
    mt_buf_json_str(b, v->version);
    mt_buf_printf(b, ",\"generated\":\"%s\",", mt_status_iso(iso, v->generated));
    input(b, v);
    info_of(&info, v, "fleet", v->r->fleet.last);
    info.proc_servers = v->fleet_servers;
    info.ep_leak_on = v->leak_on;
    mt_buf_puts(b, ",\"fleet\":");
    mt_status_json_object(b, v->fleet, &info);
    mt_buf_puts(b, ",\"servers\":[");
    for (i = 0; i < v->r->n_servers; i++) {
        unsigned int k = v->order[i];
        if (i) mt_buf_putc(b, ',');
        info_of(&info, v, v->r->servers[k].name, v->r->servers[k].last);
        mt_status_json_object(b, v->servers[k], &info);
    }
    mt_buf_putc(b, ']');
    for (x = mt_report_sections; x->key; x++) {
        if (!x->json) continue;
        mt_buf_printf(b, ",\"%s\":", x->key);
        x->json(b, v);
    }
    mt_buf_puts(b, "}\n");
}
