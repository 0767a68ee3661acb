/* mt_status_svg: the status page's charts, inline SVG drawn here: a
 * process's resident memory over its life (time on x, bytes on y, the
 * peak and the requests that raised it), and a leak's estimate with its
 * 95% interval against the leak floor. httpd-free; no script, no external
 * file. Every figure is ours and finite (mt_html_finite); the only text
 * that comes from outside (endpoint names and request ids in the dots'
 * tooltips) goes through mt_buf_html. */
#include <string.h>

#include "mt_status.h"
#include "mt_status_html.h"

/* The estimate and its interval on a line, against the leak floor. */
void mt_svg_interval(mt_buf_t *b, const mt_an_endpoint_t *e,
                     double floor_bytes)
{
    double top = mt_html_finite(e->leak_high) > floor_bytes ? e->leak_high : floor_bytes;
    double k = 280.0 / (top * 1.15 > 1 ? top * 1.15 : 1);
    double lo = mt_html_finite(e->leak_low) * k, hi = mt_html_finite(e->leak_high) * k;

    if (lo < 0) lo = 0;
    mt_buf_printf(b, "<svg viewBox=\"0 0 300 30\" width=\"300\" height=\"30\" "
                  "role=\"img\" aria-label=\"95%% interval of the leak\">"
                  "<line x1=\"10\" y1=\"14\" x2=\"290\" y2=\"14\" "
                  "stroke=\"#ccd1da\"/>"
                  "<line x1=\"%.1f\" y1=\"4\" x2=\"%.1f\" y2=\"24\" "
                  "stroke=\"#76829a\" stroke-dasharray=\"3 2\"/>"
                  "<rect x=\"%.1f\" y=\"8\" width=\"%.1f\" height=\"12\" "
                  "rx=\"3\" fill=\"#f3b8b8\"/>"
                  "<line x1=\"%.1f\" y1=\"5\" x2=\"%.1f\" y2=\"23\" "
                  "stroke=\"#c62828\" stroke-width=\"3\"/>"
                  "<text x=\"10\" y=\"29\">0</text>"
                  "<text x=\"%.1f\" y=\"29\">leak floor</text></svg>",
                  10 + floor_bytes * k, 10 + floor_bytes * k, 10 + lo,
                  hi - lo > 1 ? hi - lo : 1,
                  10 + mt_html_finite(e->leak_bytes_per_request) * k,
                  10 + mt_html_finite(e->leak_bytes_per_request) * k,
                  12 + floor_bytes * k);
}

#define CH_W 360.0
#define CH_H 130.0
#define CH_L 52.0
#define CH_R 10.0
#define CH_T 8.0
#define CH_B 20.0

/* The chart's scales: time on x, resident bytes on y. */
typedef struct chart_t {
    apr_time_t t0, t1;
    double y0, y1;
} chart_t;

static double cx(const chart_t *c, apr_time_t t)
{
    double f = (double)(t - c->t0) / (double)(c->t1 - c->t0);

    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return CH_L + f * (CH_W - CH_L - CH_R);
}

static double cy(const chart_t *c, double v)
{
    double f = (mt_html_finite(v) - c->y0) / (c->y1 - c->y0);

    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return CH_H - CH_B - f * (CH_H - CH_T - CH_B);
}

/* History points, then the last sample when it is newer. */
static unsigned int chart_points(mt_hist_point_t *pt, const mt_an_process_t *p)
{
    unsigned int n = p->hist_n < MT_HIST_POINTS ? p->hist_n : MT_HIST_POINTS;

    memcpy(pt, p->hist, n * sizeof(*pt));
    if (p->last_seen && (n == 0 || p->last_seen > pt[n - 1].at)) {
        pt[n].at = p->last_seen;
        pt[n].rss_bytes = p->rss_bytes;
        pt[n].requests = p->requests;
        n++;
    }
    return n;
}

static void chart_scale(chart_t *c, const mt_hist_point_t *pt, unsigned int n,
                        const mt_an_process_t *p)
{
    double lo = (double)pt[0].rss_bytes, hi = lo, pad;
    unsigned int i;

    for (i = 1; i < n; i++) {
        if ((double)pt[i].rss_bytes < lo) lo = (double)pt[i].rss_bytes;
        if ((double)pt[i].rss_bytes > hi) hi = (double)pt[i].rss_bytes;
    }
    if ((double)p->peak_rss_bytes > hi) hi = (double)p->peak_rss_bytes;
    if (hi - lo < MIB) {            /* a flat line looks flat */
        pad = (MIB - (hi - lo)) / 2;
        lo -= pad;
        hi += pad;
    }
    pad = (hi - lo) * 0.08;
    c->y0 = lo - pad < 0 ? 0 : lo - pad;
    c->y1 = hi + pad;
    c->t0 = pt[0].at;
    c->t1 = pt[n - 1].at > pt[0].at ? pt[n - 1].at
                                    : pt[0].at + apr_time_from_sec(1);
}

static void chart_axes(mt_buf_t *b, const chart_t *c, apr_time_t now)
{
    int i;

    for (i = 0; i <= 2; i++) {
        double v = c->y0 + (c->y1 - c->y0) * i / 2, y = cy(c, v);
        mt_buf_printf(b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" "
                      "y2=\"%.1f\" stroke=\"#e6e9ef\"/><text x=\"%.0f\" "
                      "y=\"%.1f\" text-anchor=\"end\">%.1f MiB</text>",
                      CH_L, y, CH_W - CH_R, y, CH_L - 4, y + 3, v / MIB);
    }
    mt_buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\">", CH_L, CH_H - 5);
    mt_html_ago(b, c->t0, now);
    mt_buf_printf(b, "</text><text x=\"%.0f\" y=\"%.0f\" "
                  "text-anchor=\"end\">", CH_W - CH_R, CH_H - 5);
    mt_html_ago(b, c->t1, now);
    mt_buf_puts(b, "</text>");
}

/* "x,y " (printf's float formatting would be most of the page's time) */
static void xy(mt_buf_t *b, double x, double y)
{
    mt_buf_num(b, x, 1);
    mt_buf_putc(b, ',');
    mt_buf_num(b, y, 1);
    mt_buf_putc(b, ' ');
}

static void chart_line(mt_buf_t *b, const chart_t *c, const mt_hist_point_t *pt,
                       unsigned int n, const char *colour)
{
    unsigned int i;

    mt_buf_printf(b, "<polygon fill=\"%s\" fill-opacity=\"0.12\" points=\"",
                  colour);
    for (i = 0; i < n; i++) {
        xy(b, cx(c, pt[i].at), cy(c, (double)pt[i].rss_bytes));
    }
    xy(b, cx(c, pt[n - 1].at), CH_H - CH_B);
    xy(b, cx(c, pt[0].at), CH_H - CH_B);
    mt_buf_printf(b, "\"/><polyline fill=\"none\" stroke=\"%s\" "
                  "stroke-width=\"1.8\" stroke-linejoin=\"round\" points=\"",
                  colour);
    for (i = 0; i < n; i++) {
        xy(b, cx(c, pt[i].at), cy(c, (double)pt[i].rss_bytes));
    }
    mt_buf_puts(b, "\"/>");
    if (n == 1) {
        mt_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                      "fill=\"%s\"/>", cx(c, pt[0].at),
                      cy(c, (double)pt[0].rss_bytes), colour);
    }
}

/* The peak as a dashed line, the requests that raised it as dots (their
 * id, endpoint and size in a tooltip). */
static void chart_peak(mt_buf_t *b, const chart_t *c, const mt_an_report_t *rep,
                       const mt_an_process_t *p)
{
    double y = cy(c, (double)p->peak_rss_bytes);
    unsigned int i;

    mt_buf_printf(b, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
                  "stroke=\"#c62828\" stroke-opacity=\"0.5\" "
                  "stroke-dasharray=\"4 3\"/><text x=\"%.0f\" y=\"%.1f\" "
                  "text-anchor=\"end\">peak</text>", CH_L, y, CH_W - CH_R, y,
                  CH_W - CH_R, y - 3);
    for (i = 0; i < p->blame_n && i < MT_BLAME_MAX; i++) {
        const mt_blame_t *bl = &p->blame[i];
        mt_buf_puts(b, "<circle cx=\"");
        mt_buf_num(b, cx(c, bl->at), 1);
        mt_buf_puts(b, "\" cy=\"");
        mt_buf_num(b, cy(c, (double)bl->peak_bytes), 1);
        mt_buf_puts(b, "\" r=\"3.5\" fill=\"#c62828\"><title>+");
        mt_html_bytes(b, (double)bl->raised_bytes, 0);
        mt_buf_puts(b, " by ");
        mt_buf_html(b, mt_analysis_ep_name(rep, bl->endpoint));
        mt_buf_puts(b, ", request ");
        mt_buf_html(b, bl->request_id);
        mt_buf_puts(b, "</title></circle>");
    }
}

void mt_svg_memory(mt_buf_t *b, const mt_an_report_t *rep,
                   const mt_an_process_t *p)
{
    mt_hist_point_t pt[MT_HIST_POINTS + 1];
    unsigned int n = chart_points(pt, p);
    chart_t c;

    mt_buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" "
                  "width=\"100%%\" role=\"img\" aria-label=\"resident memory "
                  "of %s slot %u over time\">", CH_W, CH_H,
                  mt_status_kind(p->kind), p->slot);
    if (n == 0) {
        mt_buf_puts(b, "<text x=\"180\" y=\"65\" text-anchor=\"middle\">no "
                    "samples yet</text></svg>");
        return;
    }
    chart_scale(&c, pt, n, p);
    chart_axes(b, &c, rep->now ? rep->now : c.t1);
    chart_line(b, &c, pt, n, mt_html_colour(p->verdict));
    chart_peak(b, &c, rep, p);
    mt_buf_puts(b, "</svg>");
}

