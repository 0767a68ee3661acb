/* mt_report_text: the report in 80 columns. httpd-free; see
 * include/mt_report_out.h.
 *
 * For the fleet, then for each server: the leak suspects with their
 * estimate, interval, confidence and (for the fleet) the servers that leak,
 * then the endpoints ranked as the analysis ranks them (leaks by what they
 * keep, the others by their growth), then the processes, growing ones
 * first. Names longer than their column are cut with an ellipsis; widths
 * count characters, not bytes. */
#include <string.h>
#include <apr_strings.h>

#include "mt_report_out.h"
#include "mt_status.h"
#include "mt_status_html.h"

#define TX_ENDPOINTS 20    /* endpoint rows per section */
#define TX_PROCS     12    /* process rows per section */

/* Characters (not bytes) of UTF-8 text s[0..n). */
static apr_size_t width(const char *s, apr_size_t n)
{
    apr_size_t i, w = 0;

    for (i = 0; i < n; i++) {
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    }
    return w;
}

/* s in a column of w characters: cut with an ellipsis, padded (right:
 * aligned right). */
static void col(mt_buf_t *b, const char *s, apr_size_t w, int right)
{
    apr_size_t n = strlen(s), have = width(s, n), i, keep = 0, seen = 0;

    if (have > w) {
        for (i = 0; i < n; i++) {
            if (((unsigned char)s[i] & 0xC0) != 0x80 && ++seen > w - 1) break;
            keep = i + 1;
        }
        while (keep < n && ((unsigned char)s[keep] & 0xC0) == 0x80) keep++;
        mt_buf_add(b, s, keep);
        mt_buf_puts(b, "\xE2\x80\xA6");
        return;
    }
    if (!right) mt_buf_add(b, s, n);
    for (i = have; i < w; i++) mt_buf_putc(b, ' ');
    if (right) mt_buf_add(b, s, n);
}

/* A figure as text, in a small buffer of its own. */
static const char *bytes(apr_pool_t *p, double v, int sign)
{
    mt_buf_t t;

    mt_buf_init(&t, 32, p);
    mt_html_bytes(&t, v, sign);
    return t.data;
}

static const char *count(apr_pool_t *p, apr_int64_t v)
{
    mt_buf_t t;

    mt_buf_init(&t, 32, p);
    mt_html_count(&t, v);
    return t.data;
}

static void rule(mt_buf_t *b, const char *title)
{
    apr_size_t w = width(title, strlen(title)) + 4, i;

    mt_buf_puts(b, "\n== ");
    mt_buf_puts(b, title);
    mt_buf_putc(b, ' ');
    for (i = w; i < 80; i++) mt_buf_putc(b, '=');
    mt_buf_putc(b, '\n');
}

static void joined(mt_buf_t *b, const apr_array_header_t *a)
{
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        if (i) mt_buf_puts(b, ", ");
        mt_buf_puts(b, APR_ARRAY_IDX(a, i, const char *));
    }
}

static void suspect(mt_buf_t *b, const mt_an_endpoint_t *e,
                    const apr_array_header_t *on, apr_pool_t *p)
{
    mt_buf_puts(b, "  leak  ");
    col(b, e->name, 40, 0);
    col(b, apr_psprintf(p, "%s/request", bytes(p, e->leak_bytes_per_request,
                                               0)), 30, 1);
    mt_buf_printf(b, "\n        95%%: %s to %s, confidence %s;",
                  bytes(p, e->leak_low, 0), bytes(p, e->leak_high, 0),
                  e->confidence ? e->confidence : "low");
    mt_buf_printf(b, " %s requests,\n        %" APR_INT64_T_FMT " probes in "
                  "%u processes", count(p, e->requests), e->probes,
                  e->probe_processes);
    if (e->since) {
        mt_buf_puts(b, "; since ");
        mt_html_time(b, e->since);
    }
    if (on && on->nelts) {
        mt_buf_puts(b, "\n        on ");
        joined(b, on);
    }
    mt_buf_putc(b, '\n');
}

static void suspects(mt_buf_t *b, const mt_an_report_t *rep,
                     const apr_array_header_t *const *on, apr_pool_t *p)
{
    unsigned int i, n = 0;

    mt_buf_puts(b, "Leak suspects\n");
    for (i = 0; i < rep->n_eps; i++) {
        const mt_an_endpoint_t *e = &rep->eps[i];
        if (e->verdict == MT_VERDICT_LEAK) {
            suspect(b, e, on ? on[i] : NULL, p);
            n++;
        }
        else if (on && on[i] && on[i]->nelts) {
            /* a leak on some servers that the others outweigh */
            mt_buf_puts(b, "  leak  ");
            col(b, e->name, 40, 0);
            mt_buf_puts(b, "   on some servers only\n        on ");
            joined(b, on[i]);
            mt_buf_printf(b, " (their sections below); the fleet's verdict: "
                          "%s\n", mt_verdict_name(e->verdict));
            n++;
        }
    }
    if (n == 0) mt_buf_puts(b, "  none: no endpoint is suspected of leaking\n");
}

static void endpoints(mt_buf_t *b, const mt_an_report_t *rep, apr_pool_t *p)
{
    unsigned int i;

    mt_buf_puts(b, "Endpoints, ranked by growth\n  verdict  ");
    col(b, "endpoint", 30, 0);
    mt_buf_puts(b, "  requests      growth  kept/request\n");
    for (i = 0; i < rep->n_eps && i < TX_ENDPOINTS; i++) {
        const mt_an_endpoint_t *e = &rep->eps[i];
        mt_buf_puts(b, "  ");
        col(b, mt_verdict_name(e->verdict), 7, 0);
        mt_buf_puts(b, "  ");
        col(b, e->name, 30, 0);
        col(b, count(p, e->requests), 10, 1);
        col(b, bytes(p, (double)e->growth_sum_bytes, 1), 12, 1);
        col(b, e->retained.ok ? bytes(p, e->retained.value, 0) : "-", 14, 1);
        mt_buf_putc(b, '\n');
    }
    if (rep->n_eps > TX_ENDPOINTS) {
        mt_buf_printf(b, "  ... and %u more (--json, --html)\n",
                      rep->n_eps - TX_ENDPOINTS);
    }
    if (rep->n_eps == 0) mt_buf_puts(b, "  none\n");
}

/* Processes whose trend says leak come first, then the others. */
static void proc_row(mt_buf_t *b, const mt_an_process_t *pr, const char *srv,
                     apr_pool_t *p)
{
    mt_buf_puts(b, "  ");
    if (srv) {
        col(b, srv, 14, 0);
        mt_buf_putc(b, ' ');
    }
    col(b, mt_status_kind(pr->kind), 5, 0);
    col(b, apr_psprintf(p, "%d", pr->pid), 8, 1);
    col(b, count(p, pr->requests), 10, 1);
    col(b, bytes(p, (double)pr->rss_bytes, 0), 12, 1);
    col(b, pr->growth.ok ? bytes(p, pr->growth.value, 1) : "-", 13, 1);
    mt_buf_puts(b, "  ");
    mt_buf_puts(b, mt_verdict_name(pr->verdict));
    mt_buf_putc(b, '\n');
}

static void processes(mt_buf_t *b, const mt_an_report_t *rep,
                      const char *const *servers, apr_pool_t *p)
{
    unsigned int i, pass, shown = 0;

    mt_buf_puts(b, "Processes, growing first\n  ");
    if (servers) col(b, "server", 15, 0);
    mt_buf_puts(b, "kind      pid  requests  memory now  trend/request  "
                "verdict\n");
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < rep->n_procs && shown < TX_PROCS; i++) {
            const mt_an_process_t *pr = &rep->procs[i];
            if ((pr->verdict == MT_VERDICT_LEAK) != (pass == 0)) continue;
            proc_row(b, pr, servers ? (servers[i] ? servers[i] : "?") : NULL, p);
            shown++;
        }
    }
    if (rep->n_procs > shown) {
        mt_buf_printf(b, "  ... and %u more (--json, --html)\n",
                      rep->n_procs - shown);
    }
}

static void header(mt_buf_t *b, const mt_report_view_t *v)
{
    const mt_report_t *r = v->r;
    apr_int64_t bad = 0;
    unsigned int i;

    for (i = 0; i < v->n_src; i++) bad += v->src[i].bad;
    mt_buf_printf(b, "memtrack-report %s: %s records of %u server%s, %u "
                  "processes\n", v->version ? v->version : "",
                  count(v->pool, r->records), r->n_servers,
                  r->n_servers == 1 ? "" : "s", v->fleet->n_procs);
    if (r->fleet.records) {
        mt_buf_puts(b, "  ");
        mt_html_time(b, mt_report_first(v));
        mt_buf_puts(b, " to ");
        mt_html_time(b, mt_report_last(v));
        mt_buf_puts(b, " (");
        mt_html_dur(b, (double)(mt_report_last(v) - mt_report_first(v)) / 1e6);
        mt_buf_puts(b, ")\n");
    }
    if (bad || r->unusable || r->late || r->outside) {
        mt_buf_printf(b, "  skipped: %s bad lines, %s records without a "
                      "process;\n  %s late, %s outside --since/--until\n",
                      count(v->pool, bad), count(v->pool, r->unusable),
                      count(v->pool, r->late), count(v->pool, r->outside));
    }
}

static void section(mt_buf_t *b, const mt_an_report_t *rep,
                    const apr_array_header_t *const *on,
                    const char *const *servers, apr_pool_t *p)
{
    suspects(b, rep, on, p);
    endpoints(b, rep, p);
    processes(b, rep, servers, p);
}

void mt_report_text(mt_buf_t *b, const mt_report_view_t *v)
{
    const mt_report_section_t *x;
    unsigned int i;

    header(b, v);
    rule(b, apr_psprintf(v->pool, "the fleet: %u server%s", v->r->n_servers,
                         v->r->n_servers == 1 ? "" : "s"));
    section(b, v->fleet, v->leak_on, v->fleet_servers, v->pool);
    for (i = 0; i < v->r->n_servers; i++) {
        unsigned int k = v->order[i];
        rule(b, apr_psprintf(v->pool, "server %s", v->r->servers[k].name));
        section(b, v->servers[k], NULL, NULL, v->pool);
    }
    for (x = mt_report_sections; x->key; x++) {
        if (x->text) x->text(b, v);
    }
}
