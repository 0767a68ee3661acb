/* mt_status_html: the status page for people.
 *
 * httpd-free; see include/mt_status.h. One self-contained document: the
 * style is inline, the charts are SVG drawn here, there is no script and
 * nothing is fetched, so it works offline, behind any proxy and in a
 * browser with JavaScript off. Order follows the question a person comes
 * with: which endpoint leaks (suspects first), how sure we are, which
 * process grows, what the numbers mean. Every name and id is escaped
 * (mt_buf_html); the charts' figures are ours.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

#include "mt_heapview.h"
#include "mt_status.h"
#include "mt_status_html.h"


const char *const mt_status_html_css =
    ":root{--ink:#1c2230;--muted:#5d6678;--line:#e2e5eb;--bg:#f4f5f8;"
    "--leak:#c62828;--bloat:#d17d00;--churn:#6d4fb8;--flat:#2e7d32;"
    "--unknown:#76829a}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 "
    "system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    "header{background:#1c2230;color:#fff;padding:14px 24px;display:flex;"
    "flex-wrap:wrap;gap:6px 24px;align-items:baseline}"
    "header h1{font-size:20px;margin:0}header a{color:#9ecbff}"
    "header .meta{color:#c5cbd6;font-size:13px}"
    "main{padding:8px 24px 32px;max-width:1500px}"
    "h2{font-size:17px;margin:26px 0 10px}"
    ".chips{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}"
    ".chip{background:#fff;border:1px solid var(--line);border-radius:16px;"
    "padding:3px 12px;font-size:13px}"
    ".b{display:inline-block;min-width:58px;text-align:center;padding:1px 8px;"
    "border-radius:10px;font-size:12px;font-weight:600;color:#fff}"
    ".v-leak{background:var(--leak)}.v-bloat{background:var(--bloat)}"
    ".v-churn{background:var(--churn)}.v-flat{background:var(--flat)}"
    ".v-unknown{background:var(--unknown)}"
    ".card{background:#fff;border:1px solid var(--line);border-radius:8px;"
    "padding:12px 14px}"
    ".suspect{border-left:6px solid var(--leak)}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(560px,1fr));gap:10px;margin-bottom:10px}"
    "td.ep{min-width:340px}"
    ".ok{border-left:6px solid var(--flat)}.warn{border-left:6px solid "
    "var(--bloat);margin:12px 0}"
    ".big{font-size:20px;font-weight:700;color:var(--leak)}"
    ".name{font-family:'DejaVu Sans Mono',ui-monospace,monospace;"
    "overflow-wrap:anywhere}"
    ".ev{color:var(--muted);font-size:12px}"
    ".needs{color:#8a5a00;font-size:12px}"
    "table{border-collapse:collapse;width:100%;background:#fff;"
    "border:1px solid var(--line)}"
    "th,td{padding:6px 8px;border-bottom:1px solid var(--line);"
    "text-align:left;vertical-align:top}"
    "th{background:#eef0f4;font-size:12px;color:var(--muted);"
    "font-weight:600;white-space:nowrap}"
    "td.n,th.n{text-align:right;white-space:nowrap;"
    "font-variant-numeric:tabular-nums}"
    "tr.leak td{background:#fff5f5}"
    ".grey{color:var(--muted)}"
    ".procs{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(380px,1fr));gap:12px}"
    ".procs h3{font-size:15px;margin:0 0 6px;display:flex;gap:8px;"
    "align-items:center}"
    ".figs{display:grid;grid-template-columns:auto 1fr;gap:0 12px;"
    "font-size:13px;margin:6px 0}"
    ".figs dt{color:var(--muted)}.figs dd{margin:0;"
    "font-variant-numeric:tabular-nums}"
    ".blame{font-size:12px;border:0;margin-top:4px;width:auto}.blame td{padding:2px "
    "8px 2px 0;border:0}.fixed{table-layout:fixed;width:100%}"
    ".cut{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}"
    ".w1{width:70px}.w2{width:110px}"
    "svg{display:block}svg text{font:10px 'DejaVu Sans',sans-serif;"
    "fill:#5d6678}"
    ".howto li{margin-bottom:4px}.on{color:var(--leak);font-weight:600}";

/* ---- the page's frame ---- */

static void head(mt_buf_t *b, const mt_status_info_t *info)
{
    mt_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                "<meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width,"
                "initial-scale=1\">");
    if (info->refresh_seconds > 0) {
        mt_buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%d\">",
                      info->refresh_seconds);
    }
    mt_buf_puts(b, "<title>memtrack: ");
    mt_buf_html(b, info->server);
    mt_buf_puts(b, "</title><style>");
    mt_buf_puts(b, mt_status_html_css);
    mt_buf_puts(b, "</style></head>\n<body>\n");
}

static void banner(mt_buf_t *b, const mt_an_report_t *rep,
                   const mt_status_info_t *info)
{
    mt_buf_puts(b, "<header><h1>mod_memtrack</h1><span class=\"meta\">");
    mt_buf_html(b, info->server);
    mt_buf_puts(b, " &middot; version ");
    mt_buf_html(b, info->version);
    mt_buf_puts(b, " &middot; ");
    mt_html_time(b, info->generated);
    if (rep->started) {
        mt_buf_puts(b, " &middot; watching for ");
        mt_html_dur(b, (double)(info->generated - rep->started) / 1e6);
    }
    mt_buf_puts(b, "</span><span class=\"meta\"><a href=\"?json\">JSON</a> "
                "&middot; <a href=\"?prometheus\">Prometheus</a> &middot; ");
    if (info->refresh_seconds > 0) {
        mt_buf_printf(b, "reloads every %d s (<a href=\"?\">stop</a>)",
                      info->refresh_seconds);
    }
    else {
        mt_buf_puts(b, "<a href=\"?refresh=10\">reload every 10 s</a>");
    }
    mt_buf_puts(b, "</span></header>\n<main>\n");
    if (info->problem) {
        mt_buf_puts(b, "<div class=\"card warn\">");
        mt_buf_html(b, info->problem);
        mt_buf_puts(b, "</div>\n");
    }
}

static void chip(mt_buf_t *b, unsigned int n, const char *what)
{
    mt_buf_printf(b, "<span class=\"chip\"><b>%u</b> %s</span>", n, what);
}

void mt_status_html_summary(mt_buf_t *b, const mt_an_report_t *rep)
{
    unsigned int count[MT_VERDICT_LEAK + 1] = { 0 }, i, apps = 0, grow = 0;

    for (i = 0; i < rep->n_eps; i++) {
        count[rep->eps[i].verdict]++;
    }
    for (i = 0; i < rep->n_procs; i++) {
        apps += rep->procs[i].kind != MT_STATE_KIND_SELF;
        grow += rep->procs[i].verdict == MT_VERDICT_LEAK;
    }
    mt_buf_puts(b, "<div class=\"chips\">");
    chip(b, count[MT_VERDICT_LEAK], "leaking endpoints");
    chip(b, count[MT_VERDICT_BLOAT], "bloat");
    chip(b, count[MT_VERDICT_CHURN], "churn");
    chip(b, count[MT_VERDICT_FLAT], "flat");
    chip(b, count[MT_VERDICT_UNKNOWN], "unknown yet");
    chip(b, rep->n_procs, "processes");
    chip(b, apps, "of them app processes");
    chip(b, grow, "processes growing");
    chip(b, rep->probes_done, "probe results");
    if (rep->busy) chip(b, rep->busy, "slots busy (skipped)");
    mt_buf_puts(b, "</div>\n");
}

/* ---- leak suspects ---- */

/* "on web-1, web-2": the servers that call it a leak (the report's fleet). */
static void leak_on(mt_buf_t *b, const apr_array_header_t *on)
{
    int i;

    if (!on || on->nelts == 0) return;
    mt_buf_puts(b, " <span class=\"on\">on ");
    for (i = 0; i < on->nelts; i++) {
        if (i) mt_buf_puts(b, ", ");
        mt_buf_html(b, APR_ARRAY_IDX(on, i, const char *));
    }
    mt_buf_puts(b, "</span>");
}

static void suspect(mt_buf_t *b, const mt_an_report_t *rep,
                    const mt_an_endpoint_t *e, const apr_array_header_t *on,
                    const mt_status_info_t *info)
{
    mt_buf_puts(b, "<div class=\"card suspect\"><div>");
    mt_html_badge(b, e->verdict);
    mt_buf_puts(b, " <span class=\"name\"><b>");
    mt_buf_html(b, e->name);
    mt_buf_puts(b, "</b></span>");
    leak_on(b, on);
    mt_buf_printf(b, " &middot; confidence <b>%s</b></div>"
                  "<div><span class=\"big\">",
                  e->confidence ? e->confidence : "low");
    mt_html_bytes(b, e->leak_bytes_per_request, 0);
    mt_buf_puts(b, "</span> kept per request <span class=\"grey\">(95%: ");
    mt_html_bytes(b, e->leak_low, 0);
    mt_buf_puts(b, " to ");
    mt_html_bytes(b, e->leak_high, 0);
    mt_buf_puts(b, "); ");
    mt_html_bytes(b, e->leak_bytes_per_request * 1000, 0);
    mt_buf_puts(b, " per 1,000 requests</span></div>");
    mt_svg_interval(b, e, (double)rep->params.leak_min_bytes);
    mt_buf_puts(b, "<div>");
    if (e->since) {
        mt_buf_puts(b, "leaking since ");
        mt_html_time(b, e->since);
        mt_buf_puts(b, " (");
        mt_html_ago(b, e->since, rep->now ? rep->now : e->since);
        mt_buf_puts(b, ") &middot; ");
    }
    mt_html_count(b, e->requests);
    mt_buf_printf(b, " requests &middot; %" APR_INT64_T_FMT " probes in %u "
                  "processes</div><div class=\"ev\">", e->probes,
                  e->probe_processes);
    mt_buf_html(b, e->evidence);
    mt_buf_puts(b, "</div>");
    mt_heapview_html_brief(b, info ? info->heapdiff : NULL, e->name);
    mt_buf_puts(b, "</div>\n");
}

#define MT_HTML_GROWING_MAX 8   /* growing processes listed at the top */

static const char *anchor(const mt_status_info_t *info)
{
    return info && info->anchor ? info->anchor : "";
}

/* Processes whose own trend says leak: one line each, the first few. */
static void growing(mt_buf_t *b, const mt_an_report_t *rep,
                    const mt_status_info_t *info)
{
    unsigned int i, n = 0;

    for (i = 0; i < rep->n_procs; i++) {
        const mt_an_process_t *p = &rep->procs[i];
        if (p->verdict != MT_VERDICT_LEAK) continue;
        if (n++ == 0) {
            mt_buf_puts(b, "<div class=\"card warn\"><b>Processes whose "
                        "memory keeps growing</b> (their own trend; which "
                        "endpoint makes them grow is the endpoints' verdict)"
                        "<table class=\"blame\">");
        }
        if (n > MT_HTML_GROWING_MAX) continue;
        if (info && info->proc_servers) {   /* the report's fleet: no cards */
            mt_buf_printf(b, "<tr><td>%s process on ", mt_status_kind(p->kind));
            mt_buf_html(b, info->proc_servers[i]);
            mt_buf_printf(b, "</td><td class=\"grey\">pid %d</td>"
                          "<td class=\"n\">", p->pid);
        }
        else {
            mt_buf_printf(b, "<tr><td><a href=\"#%sp%s%u\">%s process, slot %u"
                          "</a></td><td class=\"grey\">pid %d</td>"
                          "<td class=\"n\">", anchor(info),
                          mt_status_kind(p->kind), p->slot,
                          mt_status_kind(p->kind), p->slot, p->pid);
        }
        mt_html_bytes(b, p->growth.value, 1);
        mt_buf_puts(b, " per request</td><td class=\"n\">now ");
        mt_html_bytes(b, (double)p->rss_bytes, 0);
        mt_buf_puts(b, "</td></tr>");
    }
    if (n > MT_HTML_GROWING_MAX) {
        mt_buf_printf(b, "<tr><td colspan=\"4\" class=\"grey\">and %u more "
                      "below</td></tr>", n - MT_HTML_GROWING_MAX);
    }
    if (n) {
        mt_buf_puts(b, "</table></div>\n");
    }
}

void mt_status_html_suspects(mt_buf_t *b, const mt_an_report_t *rep,
                             const mt_status_info_t *info)
{
    unsigned int i, n = 0, unknown = 0;

    mt_buf_printf(b, "<h2 id=\"%ssuspects\">Leak suspects</h2>\n",
                  anchor(info));
    for (i = 0; i < rep->n_eps; i++) {
        if (rep->eps[i].verdict == MT_VERDICT_LEAK) {
            if (n++ == 0) mt_buf_puts(b, "<div class=\"grid\">");
            suspect(b, rep, &rep->eps[i], info && info->ep_leak_on
                                          ? info->ep_leak_on[i] : NULL, info);
        }
        unknown += rep->eps[i].verdict == MT_VERDICT_UNKNOWN;
    }
    if (n) mt_buf_puts(b, "</div>\n");
    if (n == 0) {
        mt_buf_puts(b, "<div class=\"card ok\">No endpoint is suspected of "
                    "leaking.");
        if (unknown) {
            mt_buf_printf(b, " %u endpoint%s cannot be judged yet: the "
                          "table says what each needs.", unknown,
                          unknown == 1 ? "" : "s");
        }
        mt_buf_puts(b, "</div>\n");
    }
    growing(b, rep, info);
}

/* ---- endpoints ---- */

static void ep_kept(mt_buf_t *b, const mt_an_endpoint_t *e)
{
    if (e->verdict == MT_VERDICT_LEAK) {
        mt_buf_puts(b, "<b>");
        mt_html_bytes(b, e->leak_bytes_per_request, 0);
        mt_buf_puts(b, "</b><br><span class=\"grey\">");
        mt_html_bytes(b, e->leak_low, 0);
        mt_buf_puts(b, " to ");
        mt_html_bytes(b, e->leak_high, 0);
        mt_buf_puts(b, "</span>");
    }
    else if (e->retained.ok) {
        mt_buf_puts(b, "<span class=\"grey\">");
        mt_html_bytes(b, e->retained.value, 0);
        mt_buf_puts(b, "<br>");
        mt_html_bytes(b, e->retained.low, 0);
        mt_buf_puts(b, " to ");
        mt_html_bytes(b, e->retained.high, 0);
        mt_buf_puts(b, "</span>");
    }
    else {
        mt_buf_puts(b, "<span class=\"grey\">&mdash;</span>");
    }
}

static void ep_row(mt_buf_t *b, const mt_an_report_t *rep,
                   const mt_an_endpoint_t *e, const mt_status_info_t *info)
{
    int leak = e->verdict == MT_VERDICT_LEAK;

    mt_buf_printf(b, "<tr%s><td>", leak ? " class=\"leak\"" : "");
    mt_html_badge(b, e->verdict);
    mt_buf_puts(b, "</td><td class=\"ep\"><span class=\"name\">");
    mt_buf_html(b, e->name);
    mt_buf_puts(b, "</span>");
    if (e->needs[0]) {
        mt_buf_puts(b, "<div class=\"needs\">needs: ");
        mt_buf_html(b, e->needs);
        mt_buf_puts(b, "</div>");
    }
    mt_buf_puts(b, "<div class=\"ev\">");
    mt_buf_html(b, e->evidence);
    mt_buf_puts(b, "</div>");
    mt_heapview_html_brief(b, info ? info->heapdiff : NULL, e->name);
    mt_buf_puts(b, "</td><td class=\"n\">");
    ep_kept(b, e);
    mt_buf_printf(b, "</td><td>%s</td><td class=\"n\">",
                  leak && e->confidence ? e->confidence : "");
    if (leak && e->since) mt_html_ago(b, e->since, rep->now);
    mt_buf_puts(b, "</td><td class=\"n\">");
    mt_html_count(b, e->requests);
    mt_buf_puts(b, "</td><td class=\"n\">");
    mt_html_bytes(b, (double)e->growth_sum_bytes, 1);
    mt_buf_puts(b, "</td><td class=\"n\">");
    mt_html_count(b, e->threshold_hits);
    mt_buf_puts(b, "</td><td class=\"n\">");
    if (e->bloat_bytes) mt_html_bytes(b, (double)e->bloat_bytes, 0);
    mt_buf_puts(b, "</td><td class=\"n\">");
    mt_html_count(b, e->blames);
    mt_buf_puts(b, "</td><td class=\"n\">");
    mt_html_count(b, e->probes + e->probes_warmup);
    mt_buf_puts(b, "</td></tr>\n");
}

void mt_status_html_endpoints(mt_buf_t *b, const mt_an_report_t *rep,
                              const mt_status_info_t *info)
{
    unsigned int i;

    mt_buf_printf(b, "<h2 id=\"%sendpoints\">Endpoints (%u)</h2>\n",
                  anchor(info), rep->n_eps);
    if (rep->n_eps == 0) {
        mt_buf_puts(b, "<div class=\"card\">No request recorded yet.</div>\n");
        return;
    }
    mt_buf_puts(b, "<table><thead><tr><th>verdict</th><th>endpoint</th>"
                "<th class=\"n\">kept per request (95%)</th><th>confidence"
                "</th><th class=\"n\">since</th><th class=\"n\">requests</th>"
                "<th class=\"n\">total growth</th><th class=\"n\">over "
                "threshold</th><th class=\"n\">bloat</th><th class=\"n\">"
                "peak blames</th><th class=\"n\">probes</th></tr></thead>"
                "<tbody>\n");
    for (i = 0; i < rep->n_eps; i++) {
        ep_row(b, rep, &rep->eps[i], info);
    }
    mt_buf_puts(b, "</tbody></table>\n");
}

/* ---- processes ---- */

static void proc_figures(mt_buf_t *b, const mt_an_process_t *p)
{
    mt_buf_puts(b, "<dl class=\"figs\"><dt>memory now</dt><dd>");
    mt_html_bytes(b, (double)p->rss_bytes, 0);
    mt_buf_puts(b, "</dd><dt>peak</dt><dd>");
    mt_html_bytes(b, (double)p->peak_rss_bytes, 0);
    mt_buf_puts(b, "</dd><dt>since its first request</dt><dd>");
    mt_html_bytes(b, (double)(p->rss_bytes - p->first_rss_bytes), 1);
    mt_buf_puts(b, "</dd><dt>requests</dt><dd>");
    mt_html_count(b, p->requests);
    mt_buf_puts(b, "</dd><dt>trend per request</dt><dd>");
    if (p->growth.ok) {
        mt_html_interval(b, p->growth.value, p->growth.low, p->growth.high);
    }
    else {
        mt_buf_puts(b, "<span class=\"grey\">not known yet</span>");
    }
    mt_buf_puts(b, "</dd><dt>drift between requests</dt><dd>");
    if (p->drift.ok) {
        mt_html_interval(b, p->drift.value, p->drift.low, p->drift.high);
        mt_buf_puts(b, " per second");
    }
    else {
        mt_buf_puts(b, "<span class=\"grey\">not measured</span>");
    }
    mt_buf_puts(b, "</dd></dl>");
}

#define MT_HTML_BLAMES 5        /* peak blames shown per process */

static void proc_blames(mt_buf_t *b, const mt_an_report_t *rep,
                        const mt_an_process_t *p)
{
    unsigned int i;

    if (p->blame_n == 0) {
        return;
    }
    mt_buf_puts(b, "<div class=\"ev\">peak blame: the requests that raised "
                "the peak, newest first</div><table class=\"blame fixed\">");
    for (i = 0; i < p->blame_n && i < MT_HTML_BLAMES; i++) {
        const mt_blame_t *bl = &p->blame[i];
        const char *ep = mt_analysis_ep_name(rep, bl->endpoint);
        mt_buf_puts(b, "<tr><td class=\"n w1\">");
        mt_html_bytes(b, (double)bl->raised_bytes, 1);
        mt_buf_puts(b, "</td><td class=\"cut name\" title=\"");
        mt_buf_html(b, ep);
        mt_buf_puts(b, "\">");
        mt_buf_html(b, ep);
        mt_buf_puts(b, "</td><td class=\"cut name grey w2\" title=\"");
        mt_buf_html(b, bl->request_id);
        mt_buf_puts(b, "\">");
        mt_buf_html(b, bl->request_id);
        mt_buf_puts(b, "</td></tr>");
    }
    if (p->blame_n > MT_HTML_BLAMES) {
        mt_buf_printf(b, "<tr><td></td><td class=\"grey\" colspan=\"2\">"
                      "and %u more in ?json</td></tr>",
                      p->blame_n - MT_HTML_BLAMES);
    }
    mt_buf_puts(b, "</table>");
}

void mt_status_html_process(mt_buf_t *b, const mt_an_report_t *rep,
                            const mt_an_process_t *p, const char *server,
                            const mt_status_info_t *info)
{
    const char *kind = mt_status_kind(p->kind);

    mt_buf_printf(b, "<div class=\"card\" id=\"%sp%s%u\"><h3>",
                  anchor(info), kind, p->slot);
    mt_html_badge(b, p->verdict);
    mt_buf_printf(b, "<span>%s process, slot %u</span><span class=\"grey\">"
                  "pid %d", kind, p->slot, p->pid);
    if (server) {
        mt_buf_puts(b, " on ");
        mt_buf_html(b, server);
    }
    mt_buf_puts(b, "</span></h3>");
    mt_svg_memory(b, rep, p);
    proc_figures(b, p);
    mt_buf_puts(b, "<div class=\"ev\">");
    mt_buf_html(b, p->evidence);
    mt_buf_puts(b, "</div>");
    proc_blames(b, rep, p);
    mt_buf_puts(b, "</div>\n");
}

static void processes(mt_buf_t *b, const mt_an_report_t *rep)
{
    unsigned int i;

    mt_buf_printf(b, "<h2 id=\"processes\">Processes (%u)</h2>\n",
                  rep->n_procs);
    if (rep->n_procs == 0) {
        mt_buf_puts(b, "<div class=\"card\">No process recorded yet.</div>\n");
        return;
    }
    mt_buf_puts(b, "<div class=\"procs\">\n");
    for (i = 0; i < rep->n_procs; i++) {
        mt_status_html_process(b, rep, &rep->procs[i], NULL, NULL);
    }
    mt_buf_puts(b, "</div>\n");
}

/* ---- sinks and the reading guide ---- */

static void sinks(mt_buf_t *b, const mt_status_info_t *info)
{
    unsigned int i;

    mt_buf_puts(b, "<h2 id=\"sinks\">Sinks</h2>\n");
    if (info->n_sinks == 0) {
        mt_buf_puts(b, "<div class=\"card\">No sink is configured for this "
                    "server (MemTrackLog, MemTrackRedis).</div>\n");
        return;
    }
    mt_buf_puts(b, "<table><thead><tr><th>sink</th><th>kind</th>"
                "<th class=\"n\">records written</th><th class=\"n\">records "
                "dropped</th></tr></thead><tbody>");
    for (i = 0; i < info->n_sinks; i++) {
        const mt_status_sink_t *s = &info->sinks[i];
        mt_buf_puts(b, "<tr><td class=\"name\">");
        mt_buf_html(b, s->name);
        mt_buf_puts(b, "</td><td>");
        mt_buf_html(b, s->kind);
        mt_buf_puts(b, "</td><td class=\"n\">");
        mt_html_count(b, (apr_int64_t)s->written);
        mt_buf_printf(b, "</td><td class=\"n\"%s>", s->dropped
                      ? " style=\"color:#c62828;font-weight:600\"" : "");
        mt_html_count(b, (apr_int64_t)s->dropped);
        mt_buf_puts(b, "</td></tr>");
    }
    mt_buf_puts(b, "</tbody></table><div class=\"ev\">Counted in the httpd "
                "child that served this page.</div>\n");
}

static const char *const howto =
    "<h2 id=\"howto\">How to read this</h2>\n<div class=\"card howto\"><ul>"
    "<li><span class=\"b v-leak\">leak</span> its requests keep memory that "
    "is never given back, in every process that serves it. The figure is "
    "what one request keeps, measured on a sample of requests (probes: a "
    "full GC before and after, in the app) with its 95% interval; "
    "confidence is high with 16 or more recent probes from two processes "
    "and an interval within &plusmn;25%.</li>"
    "<li><span class=\"b v-bloat\">bloat</span> growth that came once or a "
    "few times and stopped (a warm-up, a cache that filled);  "
    "<span class=\"b v-churn\">churn</span> allocates a lot and keeps "
    "nothing; <span class=\"b v-flat\">flat</span> neither; "
    "<span class=\"b v-unknown\">unknown</span> not enough data yet: "
    "<i>needs</i> says what is missing.</li>"
    "<li><i>total growth</i>, <i>over threshold</i> and <i>peak blames</i> "
    "are passive figures from resident memory. Memory one request keeps "
    "shows up when a later request needs fresh pages, so they often point "
    "at the endpoint that allocates most, not the one that leaks: trust "
    "the verdict.</li>"
    "<li>Each chart is a process's resident memory over its life (left: "
    "its first request, right: its last). The dashed line is its peak; "
    "the red dots are the requests that raised the peak (point at one for "
    "its endpoint and request id, which is also in the access and "
    "record logs).</li>"
    "<li><i>Trend</i> is the process's growth per request over the second "
    "half of its life; <i>drift</i> is growth between requests, per "
    "second: a timer or a background thread, not a request.</li>"
    "<li>For programs: <a href=\"?json\">?json</a>; for Prometheus: "
    "<a href=\"?prometheus\">?prometheus</a>; <code>?refresh=N</code> "
    "reloads this page every N seconds.</li></ul></div>\n";

void mt_status_html(mt_buf_t *b, const mt_an_report_t *report,
                    const mt_status_info_t *info)
{
    const mt_an_report_t *rep = mt_status_report_or_empty(report);

    head(b, info);
    banner(b, rep, info);
    mt_status_html_summary(b, rep);
    mt_status_html_suspects(b, rep, info);
    mt_status_html_endpoints(b, rep, info);
    mt_heapview_html(b, info->heapdiff);
    processes(b, rep);
    sinks(b, info);
    mt_buf_puts(b, howto);
    mt_buf_puts(b, "</main></body></html>\n");
}
