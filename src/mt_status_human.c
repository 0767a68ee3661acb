/* mt_status_human: figures as people read them on the status page
 * ("48.8 KiB", "1,234,567", "12 min ago", verdict badges). httpd-free;
 * see include/mt_status_html.h. Never prints NaN or inf: a figure that is
 * not finite is shown as 0. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mt_status.h"
#include "mt_status_html.h"

double mt_html_finite(double v)
{
    return isfinite(v) ? v : 0;
}

/* "512 B", "48.8 KiB", "1.3 MiB", "2.05 GiB"; sign: "+" before growth. */
void mt_html_bytes(mt_buf_t *b, double v, int sign)
{
    double a = fabs(mt_html_finite(v));
    const char *neg = v < 0 ? "\xE2\x88\x92" : sign && v > 0 ? "+" : "";

    mt_buf_puts(b, neg);
    if (a < KIB) {
        mt_buf_fixed(b, a, 0);
        mt_buf_puts(b, " B");
    }
    else if (a < MIB) {
        mt_buf_fixed(b, a / KIB, 1);
        mt_buf_puts(b, " KiB");
    }
    else if (a < KIB * MIB) {
        mt_buf_fixed(b, a / MIB, 1);
        mt_buf_puts(b, " MiB");
    }
    else {
        mt_buf_fixed(b, a / MIB / KIB, 2);
        mt_buf_puts(b, " GiB");
    }
}

/* 1234567 -> "1,234,567" */
void mt_html_count(mt_buf_t *b, apr_int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%" APR_INT64_T_FMT, v), i;
    int lead = tmp[0] == '-' ? 1 : 0;

    for (i = 0; i < n; i++) {
        mt_buf_putc(b, tmp[i]);
        if (i >= lead && i < n - 1 && (n - 1 - i) % 3 == 0) {
            mt_buf_putc(b, ',');
        }
    }
}

void mt_html_dur(mt_buf_t *b, double secs)
{
    secs = mt_html_finite(secs);
    if (secs < 0) secs = 0;
    if (secs < 90)             mt_buf_printf(b, "%.0f s", secs);
    else if (secs < 90 * 60)   mt_buf_printf(b, "%.0f min", secs / 60);
    else if (secs < 48 * 3600) mt_buf_printf(b, "%.1f h", secs / 3600);
    else                       mt_buf_printf(b, "%.1f d", secs / 86400);
}

/* "3 min ago", "just now" */
void mt_html_ago(mt_buf_t *b, apr_time_t t, apr_time_t now)
{
    double secs = (double)(now - t) / 1e6;

    if (secs < 5) {
        mt_buf_puts(b, "now");
        return;
    }
    mt_html_dur(b, secs);
    mt_buf_puts(b, " ago");
}

void mt_html_time(mt_buf_t *b, apr_time_t t)
{
    char iso[32];

    mt_status_iso(iso, t);
    iso[10] = ' ';
    iso[19] = '\0';
    mt_buf_printf(b, "%s UTC", iso);
}

void mt_html_badge(mt_buf_t *b, mt_verdict_e v)
{
    const char *n = mt_verdict_name(v);

    mt_buf_printf(b, "<span class=\"b v-%s\">%s</span>", n, n);
}

const char *mt_html_colour(mt_verdict_e v)
{
    switch (v) {
    case MT_VERDICT_LEAK:  return "#c62828";
    case MT_VERDICT_BLOAT: return "#d17d00";
    case MT_VERDICT_FLAT:  return "#2e7d32";
    default:               return "#3d6fb4";
    }
}

/* "48.8 KiB (95% 47.1 to 50.5 KiB)" */
void mt_html_interval(mt_buf_t *b, double v, double lo, double hi)
{
    mt_html_bytes(b, v, 0);
    mt_buf_puts(b, " <span class=\"grey\">(95%: ");
    mt_html_bytes(b, lo, 0);
    mt_buf_puts(b, " to ");
    mt_html_bytes(b, hi, 0);
    mt_buf_puts(b, ")</span>");
}

