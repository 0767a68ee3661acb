/* mt_report_svg: memtrack-report's own charts, inline SVG (the process
 * cards' charts are the status page's, mt_status_svg.c):
 *
 *   a server's memory: every process's resident size over time, one line
 *       each, on one time axis;
 *   growth per endpoint: what its requests grew the processes by (passive)
 *       beside what the probes say they kept (kept per request x requests);
 *   kept per request: each endpoint's estimate and 95% interval against
 *       the leak floor, coloured by verdict.
 *
 * httpd-free; every figure is ours and finite, names are escaped. */
#include <math.h>
#include <string.h>

#include "mt_report_svg.h"
#include "mt_status_html.h"

static const char *const palette[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939"
};
#define PALETTE (sizeof(palette) / sizeof(palette[0]))

/* x, y with one decimal, and a space. */
static void xy(mt_buf_t *b, double x, double y)
{
    mt_buf_num(b, mt_html_finite(x), 1);
    mt_buf_putc(b, ',');
    mt_buf_num(b, mt_html_finite(y), 1);
    mt_buf_putc(b, ' ');
}

/* ---- a server's memory ---- */

#define SM_W 560.0
#define SM_H 220.0
#define SM_L 60.0
#define SM_R 12.0
#define SM_T 10.0
#define SM_B 24.0

typedef struct span_t {
    apr_time_t t0, t1;
    double     y0, y1;
} span_t;

static void span_of(span_t *s, const mt_an_report_t *rep, unsigned int n)
{
    unsigned int i, k;
    int first = 1;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < n; i++) {
        const mt_an_process_t *p = &rep->procs[i];
        for (k = 0; k < p->hist_n && k < MT_HIST_POINTS; k++) {
            const mt_hist_point_t *h = &p->hist[k];
            if (first || h->at < s->t0) s->t0 = h->at;
            if (first || h->at > s->t1) s->t1 = h->at;
            if (first || h->rss_bytes < s->y0) s->y0 = (double)h->rss_bytes;
            if (first || h->rss_bytes > s->y1) s->y1 = (double)h->rss_bytes;
            first = 0;
        }
        if (p->last_seen > s->t1) s->t1 = p->last_seen;
        if ((double)p->rss_bytes > s->y1) s->y1 = (double)p->rss_bytes;
    }
    if (s->t1 <= s->t0) s->t1 = s->t0 + apr_time_from_sec(1);
    if (s->y1 - s->y0 < MIB) s->y1 = s->y0 + MIB;
    s->y0 = s->y0 * 0.97;
    s->y1 = s->y1 * 1.02;
}

static double sx(const span_t *s, apr_time_t t)
{
    return SM_L + (double)(t - s->t0) / (double)(s->t1 - s->t0)
                  * (SM_W - SM_L - SM_R);
}

static double sy(const span_t *s, double v)
{
    return SM_H - SM_B - (v - s->y0) / (s->y1 - s->y0) * (SM_H - SM_T - SM_B);
}

static void server_axes(mt_buf_t *b, const span_t *s)
{
    int i, decimals = s->y1 - s->y0 < 20 * MIB ? 1 : 0;

    for (i = 0; i <= 3; i++) {
        double v = s->y0 + (s->y1 - s->y0) * i / 3;
        mt_buf_printf(b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\""
                      " stroke=\"#e6e9ef\"/><text x=\"%.0f\" y=\"%.1f\" "
                      "text-anchor=\"end\">%.*f MiB</text>", SM_L, sy(s, v),
                      SM_W - SM_R, sy(s, v), SM_L - 4, sy(s, v) + 3, decimals,
                      v / MIB);
    }
    mt_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\">", SM_L, SM_H - 6);
    mt_html_time(b, s->t0);
    mt_buf_printf(b, "</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">",
                  SM_W - SM_R, SM_H - 6);
    mt_html_time(b, s->t1);
    mt_buf_puts(b, "</text>");
}

static void server_line(mt_buf_t *b, const span_t *s, const mt_an_process_t *p,
                        const char *colour)
{
    unsigned int k;

    mt_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\""
                  " points=\"", colour);
    for (k = 0; k < p->hist_n && k < MT_HIST_POINTS; k++) {
        xy(b, sx(s, p->hist[k].at), sy(s, (double)p->hist[k].rss_bytes));
    }
    if (p->last_seen > (p->hist_n ? p->hist[p->hist_n - 1].at : 0)) {
        xy(b, sx(s, p->last_seen), sy(s, (double)p->rss_bytes));
    }
    mt_buf_printf(b, "\"><title>%s pid %d</title></polyline>",
                  mt_status_kind(p->kind), p->pid);
}

void mt_report_svg_server(mt_buf_t *b, const mt_an_report_t *rep,
                          const char *name)
{
    unsigned int n = rep->n_procs < PALETTE ? rep->n_procs : PALETTE, i;
    span_t s;

    mt_buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" "
                  "width=\"100%%\" role=\"img\" aria-label=\"memory of the "
                  "processes of ", SM_W, SM_H);
    mt_buf_html(b, name);
    mt_buf_puts(b, " over time\">");
    if (n == 0) {
        mt_buf_puts(b, "<text x=\"280\" y=\"110\" text-anchor=\"middle\">no "
                    "process</text></svg>");
        return;
    }
    span_of(&s, rep, n);
    server_axes(b, &s);
    for (i = 0; i < n; i++) {
        server_line(b, &s, &rep->procs[i], palette[i]);
    }
    mt_buf_puts(b, "</svg><div class=\"legend\">");
    for (i = 0; i < n; i++) {
        mt_buf_printf(b, "<span><i style=\"background:%s\"></i>%s %d</span>",
                      palette[i], mt_status_kind(rep->procs[i].kind),
                      rep->procs[i].pid);
    }
    if (rep->n_procs > n) {
        mt_buf_printf(b, "<span class=\"grey\">and %u more</span>",
                      rep->n_procs - n);
    }
    mt_buf_puts(b, "</div>");
}

/* ---- growth per endpoint ---- */

#define GB_W     760.0
#define GB_ROW   26.0
#define GB_LABEL 300.0
#define GB_TOP   22.0

static double kept_total(const mt_an_endpoint_t *e)
{
    return e->retained.ok && e->retained.value > 0
           ? e->retained.value * (double)e->requests : 0;
}

static double biggest(const mt_an_endpoint_t *e)
{
    double g = (double)e->growth_pos_sum_bytes, k = kept_total(e);

    return g > k ? g : k;
}

/* The endpoints to draw, largest first: indexes into rep->eps (a
 * selection: max is small). */
static unsigned int top_endpoints(unsigned int *out, unsigned int max,
                                  const mt_an_report_t *rep)
{
    unsigned int n = 0, i, j;

    while (n < max) {
        int best = -1;
        for (i = 0; i < rep->n_eps; i++) {
            int taken = 0;
            if (biggest(&rep->eps[i]) <= 0) continue;
            for (j = 0; j < n && !taken; j++) taken = out[j] == i;
            if (!taken && (best < 0
                           || biggest(&rep->eps[i]) > biggest(&rep->eps[best]))) {
                best = (int)i;
            }
        }
        if (best < 0) break;
        out[n++] = (unsigned int)best;
    }
    return n;
}

static void bar(mt_buf_t *b, double x0, double y, double w, double h,
                const char *colour, double v)
{
    mt_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
                  " fill=\"%s\" rx=\"2\"/><text x=\"%.1f\" y=\"%.1f\">", x0, y,
                  w > 0.5 ? w : 0.5, h, colour, x0 + w + 4, y + h - 2);
    mt_html_bytes(b, v, 0);
    mt_buf_puts(b, "</text>");
}

void mt_report_svg_growth(mt_buf_t *b, const mt_an_report_t *rep,
                          unsigned int max)
{
    unsigned int idx[64], n, i;
    double top = 1, k, h;

    if (max > 64) max = 64;
    n = top_endpoints(idx, max, rep);
    for (i = 0; i < n; i++) {
        if (biggest(&rep->eps[idx[i]]) > top) top = biggest(&rep->eps[idx[i]]);
    }
    k = (GB_W - GB_LABEL - 90) / top;
    h = GB_TOP + GB_ROW * (n ? n : 1) + 6;
    mt_buf_printf(b, "<svg class=\"chart wide\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\""
                  " role=\"img\" aria-label=\"growth per endpoint\">", GB_W, h);
    mt_buf_printf(b, "<rect x=\"%.0f\" y=\"4\" width=\"10\" height=\"10\" "
                  "fill=\"#9aa5b8\"/><text x=\"%.0f\" y=\"13\">resident growth "
                  "its requests showed (passive)</text><rect x=\"%.0f\" y=\"4\" "
                  "width=\"10\" height=\"10\" fill=\"#c62828\"/><text x=\"%.0f\" "
                  "y=\"13\">what the probes say its requests kept</text>",
                  GB_LABEL, GB_LABEL + 14, GB_LABEL + 250, GB_LABEL + 264);
    for (i = 0; i < n; i++) {
        const mt_an_endpoint_t *e = &rep->eps[idx[i]];
        double y = GB_TOP + GB_ROW * i;
        mt_buf_printf(b, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" "
                      "class=\"lbl\">", GB_LABEL - 8, y + 15);
        mt_buf_html(b, e->name);
        mt_buf_puts(b, "</text>");
        bar(b, GB_LABEL, y + 3, (double)e->growth_pos_sum_bytes * k, 9,
            "#9aa5b8", (double)e->growth_pos_sum_bytes);
        bar(b, GB_LABEL, y + 13, kept_total(e) * k, 9,
            mt_html_colour(e->verdict), kept_total(e));
    }
    if (n == 0) {
        mt_buf_printf(b, "<text x=\"%.0f\" y=\"40\">no growth recorded</text>",
                      GB_LABEL);
    }
    mt_buf_puts(b, "</svg>");
}

/* ---- kept per request, with intervals ---- */

#define KI_ROW 22.0

void mt_report_svg_intervals(mt_buf_t *b, const mt_an_report_t *rep,
                             unsigned int max)
{
    double lo = 0, hi = (double)rep->params.leak_min_bytes * 1.5, k, h, x0;
    unsigned int i, n = 0;

    for (i = 0; i < rep->n_eps && n < max; i++) {
        const mt_an_endpoint_t *e = &rep->eps[i];
        if (!e->retained.ok) continue;
        if (e->retained.low < lo) lo = e->retained.low;
        if (e->retained.high > hi) hi = e->retained.high;
        n++;
    }
    hi *= 1.08;
    k = (GB_W - GB_LABEL - 20) / (hi - lo > 1 ? hi - lo : 1);
    x0 = GB_LABEL - lo * k;
    h = GB_TOP + KI_ROW * (n ? n : 1) + 8;
    mt_buf_printf(b, "<svg class=\"chart wide\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\""
                  " role=\"img\" aria-label=\"kept per request with 95%% "
                  "intervals\"><line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" "
                  "y2=\"%.1f\" stroke=\"#76829a\" stroke-dasharray=\"4 3\"/>"
                  "<text x=\"%.1f\" y=\"12\">leak floor ", GB_W, h,
                  x0 + (double)rep->params.leak_min_bytes * k, GB_TOP - 4,
                  x0 + (double)rep->params.leak_min_bytes * k, h - 4,
                  x0 + (double)rep->params.leak_min_bytes * k + 4);
    mt_html_bytes(b, (double)rep->params.leak_min_bytes, 0);
    mt_buf_printf(b, "</text><line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" "
                  "y2=\"%.1f\" stroke=\"#ccd1da\"/><text x=\"%.1f\" y=\"12\" "
                  "text-anchor=\"middle\">0</text>", x0, GB_TOP - 4, x0, h - 4,
                  x0);
    for (i = 0, n = 0; i < rep->n_eps && n < max; i++) {
        const mt_an_endpoint_t *e = &rep->eps[i];
        double y = GB_TOP + KI_ROW * n + 11;
        if (!e->retained.ok) continue;
        n++;
        mt_buf_printf(b, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" "
                      "class=\"lbl\">", GB_LABEL - 8, y + 4);
        mt_buf_html(b, e->name);
        mt_buf_printf(b, "</text><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                      "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/><circle "
                      "cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\"><title>",
                      x0 + mt_html_finite(e->retained.low) * k, y,
                      x0 + mt_html_finite(e->retained.high) * k, y,
                      mt_html_colour(e->verdict),
                      x0 + mt_html_finite(e->retained.value) * k, y,
                      mt_html_colour(e->verdict));
        mt_html_bytes(b, e->retained.value, 0);
        mt_buf_printf(b, " per request (%s)</title></circle>",
                      mt_verdict_name(e->verdict));
    }
    if (n == 0) {
        mt_buf_printf(b, "<text x=\"%.0f\" y=\"40\">no endpoint has enough "
                      "probes yet</text>", GB_LABEL);
    }
    mt_buf_puts(b, "</svg>");
}
