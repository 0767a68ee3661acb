/* mt_stats: robust estimators with intervals. httpd-free. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mt_stats.h"

/* t(0.975, df) for df 1..30; beyond, the Cornish-Fisher expansion around
 * the normal quantile is good to 1e-3. */
static const double t975[30] = {
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
};

double mt_stats_t975(size_t df)
{
    const double z = 1.959964;
    double d;

    if (df < 1) {
        df = 1;
    }
    if (df <= 30) {
        return t975[df - 1];
    }
    d = (double)df;
    return z + (z * z * z + z) / (4 * d)
           + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * d * d);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

void mt_stats_sort(double *x, size_t n)
{
    size_t i, j;

    if (n > 32) {
        qsort(x, n, sizeof(*x), cmp_double);   /* Theil-Sen's pair slopes */
        return;
    }
    for (i = 1; i < n; i++) {
        double v = x[i];
        for (j = i; j > 0 && x[j - 1] > v; j--) {
            x[j] = x[j - 1];
        }
        x[j] = v;
    }
}

static void degenerate(mt_estimate_t *est, double value, size_t n)
{
    est->value = est->low = est->high = value;
    est->n = n;
    est->ok = 0;
}

void mt_stats_trimmed_mean(mt_estimate_t *est, const double *x, size_t n,
                           double trim, double *s)
{
    size_t g, h, i;
    double sum = 0, wsum = 0, wss = 0, wmean, se, half;

    if (n == 0) {
        degenerate(est, 0, 0);
        return;
    }
    memcpy(s, x, n * sizeof(*s));
    mt_stats_sort(s, n);
    g = (size_t)floor(trim * (double)n);
    h = n - 2 * g;
    for (i = g; i < n - g; i++) {
        sum += s[i];
    }
    if (h < 3) {
        degenerate(est, sum / (double)h, n);
        return;
    }
    /* Winsorize: the g lowest become s[g], the g highest s[n-g-1]. */
    for (i = 0; i < n; i++) {
        double w = i < g ? s[g] : i >= n - g ? s[n - g - 1] : s[i];
        wsum += w;
    }
    wmean = wsum / (double)n;
    for (i = 0; i < n; i++) {
        double w = i < g ? s[g] : i >= n - g ? s[n - g - 1] : s[i];
        wss += (w - wmean) * (w - wmean);
    }
    /* Yuen (1974): se = sqrt(SSw) / sqrt(h (h - 1)). */
    se = sqrt(wss) / sqrt((double)h * (double)(h - 1));
    half = mt_stats_t975(h - 1) * se;
    est->value = sum / (double)h;
    est->low = est->value - half;
    est->high = est->value + half;
    est->n = n;
    est->ok = 1;
}

void mt_stats_theil_sen(mt_estimate_t *est, const double *x, const double *y,
                        size_t n, double *s)
{
    size_t i, j, m = 0;
    double var, c;
    long lo, hi;

    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            if (x[j] != x[i]) {
                s[m++] = (y[j] - y[i]) / (x[j] - x[i]);
            }
        }
    }
    if (n < 4 || m < 3) {
        degenerate(est, m ? s[0] : 0, n);
        return;
    }
    mt_stats_sort(s, m);
    est->value = m % 2 ? s[m / 2] : (s[m / 2 - 1] + s[m / 2]) / 2;
    /* Kendall's S has variance n(n-1)(2n+5)/18 without ties; the interval
     * is the slopes ranked (m - C)/2 and (m + C)/2 + 1 (1-based). */
    var = (double)n * (double)(n - 1) * (double)(2 * n + 5) / 18.0;
    c = 1.959964 * sqrt(var);
    lo = (long)floor(((double)m - c) / 2.0);
    hi = (long)ceil(((double)m + c) / 2.0);
    if (lo < 0) lo = 0;
    if (hi > (long)m - 1) hi = (long)m - 1;
    est->low = s[lo];
    est->high = s[hi];
    est->n = n;
    est->ok = 1;
}
