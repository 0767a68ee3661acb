/* mt_report_html: memtrack-report's HTML, one self-contained file.
 *
 * httpd-free; see include/mt_report_out.h. The status page's style and
 * sections (mt_status_html.c: suspects, endpoint table, process cards)
 * for the fleet and for each server, with the report's own charts
 * (mt_report_svg.c) and its input. No script, nothing fetched: it opens
 * offline, from a mail attachment as well as from a web server. Every name
 * from the records (servers, endpoints, request ids, file names) is
 * escaped. */
#include <string.h>
#include <apr_strings.h>

#include "mt_report_out.h"
#include "mt_report_svg.h"
#include "mt_status.h"
#include "mt_status_html.h"

#define RH_CARDS    24   /* process cards per server */
#define RH_BARS     16   /* endpoints in the growth chart */
#define RH_INTERVAL 20   /* endpoints in the interval chart */
#define RH_BLAMES   12   /* endpoints in the peak blame table */

static const char *const report_css =
    "nav{display:flex;flex-wrap:wrap;gap:6px 14px;margin:12px 0}"
    "nav a{color:#2b5fab}.servers{display:grid;grid-template-columns:"
    "repeat(auto-fill,minmax(520px,1fr));gap:12px}"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:12px;"
    "color:var(--muted)}.legend i{display:inline-block;width:10px;"
    "height:10px;margin-right:4px;border-radius:2px}"
    "svg text.lbl{font-family:'DejaVu Sans Mono',monospace;fill:#1c2230}"
    "section.server{border-top:3px solid #1c2230;margin-top:30px}"
    "svg.wide{max-width:980px}.barcell{width:40%}.barcell i{display:block;height:10px;"
    "background:#d17d00;border-radius:2px}";

static void head(mt_buf_t *b)
{
    mt_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset="
                "\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,"
                "initial-scale=1\"><title>memtrack-report</title><style>");
    mt_buf_puts(b, mt_status_html_css);
    mt_buf_puts(b, report_css);
    mt_buf_puts(b, "</style></head>\n<body>\n");
}

static void banner(mt_buf_t *b, const mt_report_view_t *v)
{
    mt_buf_puts(b, "<header><h1>memtrack-report</h1><span class=\"meta\">");
    mt_html_count(b, v->r->records);
    mt_buf_printf(b, " records &middot; %u server%s &middot; %u processes",
                  v->r->n_servers, v->r->n_servers == 1 ? "" : "s",
                  v->fleet->n_procs);
    if (v->r->fleet.records) {
        mt_buf_puts(b, " &middot; ");
        mt_html_time(b, mt_report_first(v));
        mt_buf_puts(b, " to ");
        mt_html_time(b, mt_report_last(v));
    }
    mt_buf_puts(b, "</span><span class=\"meta\">made ");
    mt_html_time(b, v->generated);
    mt_buf_puts(b, " by version ");
    mt_buf_html(b, v->version);
    mt_buf_puts(b, "</span></header>\n<main>\n<nav><a href=\"#fleet\">the "
                "fleet</a>");
    for (unsigned int i = 0; i < v->r->n_servers; i++) {
        mt_buf_printf(b, "<a href=\"#s%u-\">", v->order[i]);
        mt_buf_html(b, v->r->servers[v->order[i]].name);
        mt_buf_puts(b, "</a>");
    }
    mt_buf_puts(b, "<a href=\"#input\">input</a><a href=\"#howto\">how to "
                "read this</a></nav>\n");
}

static void input_row(mt_buf_t *b, const mt_report_source_t *s)
{
    mt_buf_puts(b, "<tr><td class=\"name\">");
    mt_buf_html(b, s->in->name);
    mt_buf_printf(b, "%s</td><td class=\"n\">", s->in->gzip ? " (gzip)" : "");
    mt_html_count(b, s->in->lines);
    mt_buf_puts(b, "</td><td class=\"n\">");
    mt_html_count(b, s->records);
    mt_buf_puts(b, "</td><td class=\"n\">");
    mt_html_count(b, s->bad);
    mt_buf_puts(b, "</td><td class=\"ev\">");
    if (s->bad) {
        mt_buf_printf(b, "first at line %" APR_INT64_T_FMT ": ", s->first_bad_line);
        mt_buf_html(b, s->first_bad);
        if (s->in->problem) mt_buf_puts(b, "<br>");
    }
    mt_buf_html(b, s->in->problem);
    mt_buf_puts(b, "</td></tr>");
}

static void input(mt_buf_t *b, const mt_report_view_t *v)
{
    const mt_report_t *r = v->r;
    unsigned int i;

    mt_buf_puts(b, "<h2 id=\"input\">Input</h2>\n<table><thead><tr><th>source"
                "</th><th class=\"n\">lines</th><th class=\"n\">records</th>"
                "<th class=\"n\">bad lines</th><th>what was wrong</th></tr>"
                "</thead><tbody>");
    for (i = 0; i < v->n_src; i++) input_row(b, &v->src[i]);
    mt_buf_puts(b, "</tbody></table><div class=\"ev\">");
    mt_html_count(b, r->analysed);
    mt_buf_puts(b, " records analysed; ");
    mt_html_count(b, r->unusable);
    mt_buf_puts(b, " without a process or an after-sample (the module does "
                "not analyse those either); ");
    mt_html_count(b, r->late);
    mt_buf_printf(b, " came later than the reorder window (%u records) "
                  "allowed; ", r->opts.window);
    mt_html_count(b, r->outside);
    mt_buf_puts(b, " outside --since/--until.</div>\n");
}

/* Endpoints by peak blames: who paid for the processes' new peaks. */
static void blames(mt_buf_t *b, const mt_an_report_t *rep)
{
    apr_int64_t top = 1;
    unsigned int i, n = 0;

    for (i = 0; i < rep->n_eps; i++) {
        if (rep->eps[i].blames > top) top = rep->eps[i].blames;
    }
    mt_buf_puts(b, "<h2>Peak blame</h2>\n<table><thead><tr><th>endpoint</th>"
                "<th>verdict</th><th class=\"n\">peak blames</th><th class=\"n\">"
                "bytes raised</th><th></th></tr></thead><tbody>");
    for (i = 0; i < rep->n_eps && n < RH_BLAMES; i++) {
        const mt_an_endpoint_t *e = &rep->eps[i];
        if (e->blames == 0) continue;
        n++;
        mt_buf_puts(b, "<tr><td class=\"name\">");
        mt_buf_html(b, e->name);
        mt_buf_puts(b, "</td><td>");
        mt_html_badge(b, e->verdict);
        mt_buf_puts(b, "</td><td class=\"n\">");
        mt_html_count(b, e->blames);
        mt_buf_puts(b, "</td><td class=\"n\">");
        mt_html_bytes(b, (double)e->blame_bytes, 1);
        mt_buf_printf(b, "</td><td class=\"barcell\"><i style=\"width:%.1f%%\">"
                      "</i></td></tr>", 100.0 * (double)e->blames / (double)top);
    }
    if (n == 0) {
        mt_buf_puts(b, "<tr><td colspan=\"5\" class=\"grey\">no request raised "
                    "a process's peak by 64 KiB or more</td></tr>");
    }
    mt_buf_puts(b, "</tbody></table><div class=\"ev\">A blame says which "
                "request paid for a new peak, not which kept the memory: a "
                "lead, not a verdict.</div>\n");
}

/* Endpoints some servers call a leak while the fleet's verdict differs
 * (the other servers' processes keep nothing). */
static void partial_leaks(mt_buf_t *b, const mt_report_view_t *v)
{
    unsigned int i;
    int j, n = 0;

    for (i = 0; i < v->fleet->n_eps; i++) {
        const apr_array_header_t *on = v->leak_on[i];
        if (!on || on->nelts == 0 || v->fleet->eps[i].verdict == MT_VERDICT_LEAK) {
            continue;
        }
        if (n++ == 0) {
            mt_buf_puts(b, "<div class=\"card warn\"><b>Leaking on some "
                        "servers only</b><table class=\"blame\">");
        }
        mt_buf_puts(b, "<tr><td class=\"name\">");
        mt_buf_html(b, v->fleet->eps[i].name);
        mt_buf_puts(b, "</td><td>on ");
        for (j = 0; j < on->nelts; j++) {
            mt_buf_puts(b, j ? ", " : "");
            mt_buf_html(b, APR_ARRAY_IDX(on, j, const char *));
        }
        mt_buf_printf(b, "</td><td class=\"grey\">the fleet's verdict: %s</td>"
                      "</tr>", mt_verdict_name(v->fleet->eps[i].verdict));
    }
    if (n) mt_buf_puts(b, "</table></div>\n");
}

static void fleet(mt_buf_t *b, const mt_report_view_t *v)
{
    mt_status_info_t info;
    unsigned int i;

    memset(&info, 0, sizeof(info));
    info.anchor = "f-";
    info.proc_servers = v->fleet_servers;
    info.ep_leak_on = v->leak_on;
    mt_buf_printf(b, "<h2 id=\"fleet\">The fleet: %u server%s</h2>\n",
                  v->r->n_servers, v->r->n_servers == 1 ? "" : "s");
    mt_status_html_summary(b, v->fleet);
    mt_status_html_suspects(b, v->fleet, &info);
    partial_leaks(b, v);
    mt_buf_puts(b, "<h2>Memory over time, per server and process</h2>\n"
                "<div class=\"servers\">");
    for (i = 0; i < v->r->n_servers; i++) {
        unsigned int k = v->order[i];
        mt_buf_printf(b, "<div class=\"card\"><h3><a href=\"#s%u-\">", k);
        mt_buf_html(b, v->r->servers[k].name);
        mt_buf_puts(b, "</a></h3>");
        mt_report_svg_server(b, v->servers[k], v->r->servers[k].name);
        mt_buf_puts(b, "</div>");
    }
    mt_buf_puts(b, "</div>\n<h2>Growth per endpoint</h2>\n<div class=\"card\">");
    mt_report_svg_growth(b, v->fleet, RH_BARS);
    mt_buf_puts(b, "</div>\n<h2>Kept per request, with 95% intervals</h2>\n"
                "<div class=\"card\">");
    mt_report_svg_intervals(b, v->fleet, RH_INTERVAL);
    mt_buf_puts(b, "</div>\n");
    blames(b, v->fleet);
    mt_status_html_endpoints(b, v->fleet, &info);
}

static void server(mt_buf_t *b, const mt_report_view_t *v, unsigned int i)
{
    const mt_an_report_t *rep = v->servers[i];
    char anchor[24];
    mt_status_info_t info;
    unsigned int k;

    memset(&info, 0, sizeof(info));
    apr_snprintf(anchor, sizeof(anchor), "s%u-", i);
    info.anchor = anchor;
    mt_buf_printf(b, "<section class=\"server\"><h2 id=\"%s\">Server ", anchor);
    mt_buf_html(b, v->r->servers[i].name);
    mt_buf_puts(b, "</h2>\n");
    mt_status_html_summary(b, rep);
    mt_status_html_suspects(b, rep, &info);
    mt_status_html_endpoints(b, rep, &info);
    mt_buf_printf(b, "<h2>Processes (%u)</h2>\n<div class=\"procs\">",
                  rep->n_procs);
    for (k = 0; k < rep->n_procs && k < RH_CARDS; k++) {
        mt_status_html_process(b, rep, &rep->procs[k], NULL, &info);
    }
    mt_buf_puts(b, "</div>");
    if (rep->n_procs > RH_CARDS) {
        mt_buf_printf(b, "<div class=\"ev\">and %u more processes in "
                      "--json</div>", rep->n_procs - RH_CARDS);
    }
    mt_buf_puts(b, "</section>\n");
}

static const char *const howto =
    "<h2 id=\"howto\">How to read this</h2>\n<div class=\"card howto\"><ul>"
    "<li>This is the module's own analysis, run again over the records: a "
    "verdict per endpoint for the whole fleet and for each server, from "
    "<b>probes</b> (a sample of requests whose kept memory the app measured "
    "with a full GC before and after). A <span class=\"b v-leak\">leak</span> "
    "keeps memory on every request in every process that serves it; its "
    "figure is what one request keeps, with a 95% interval.</li>"
    "<li><span class=\"b v-bloat\">bloat</span> came once and stopped (a "
    "warm-up, a cache that filled); <span class=\"b v-churn\">churn</span> "
    "allocates a lot and keeps nothing; <span class=\"b v-flat\">flat</span> "
    "neither; <span class=\"b v-unknown\">unknown</span> not enough probes "
    "yet (<i>needs</i> says what is missing).</li>"
    "<li><i>Memory over time</i>: each line is one process's resident memory "
    "over its life (from its records). A line that climbs and never falls is "
    "a process that keeps memory; whose requests keep it is the endpoints' "
    "verdict, not the line's.</li>"
    "<li><i>Growth per endpoint</i>: grey is the resident growth the "
    "endpoint's requests showed, which memory kept by one request often "
    "shows in a later one; coloured is what the probes say its requests kept "
    "(per request, times its requests). Trust the coloured bar.</li>"
    "<li><i>Kept per request</i>: the dot is the estimate, the bar its 95% "
    "interval; an endpoint is a leak only when the whole interval lies right "
    "of the dashed leak floor (and its newer probes have not fallen "
    "off).</li>"
    "<li><i>Peak blame</i> names the requests that raised a process's peak: "
    "who paid, not who kept.</li>"
    "<li>An endpoint that leaks on some servers only is named there, and in "
    "the fleet with the servers it leaks on.</li></ul></div>\n";

void mt_report_html(mt_buf_t *b, const mt_report_view_t *v)
{
    const mt_report_section_t *x;
    unsigned int i;

    head(b);
    banner(b, v);
    fleet(b, v);
    for (i = 0; i < v->r->n_servers; i++) {
        server(b, v, v->order[i]);
    }
    for (x = mt_report_sections; x->key; x++) {
        if (x->html) x->html(b, v);
    }
    input(b, v);
    mt_buf_puts(b, howto);
    mt_buf_puts(b, "</main></body></html>\n");
}
