/* mt_stats: the few robust estimators the analysis rests on.
 *
 * httpd-free, no allocation (callers pass scratch arrays), no state. Every
 * estimate comes with a 95% interval. The samples are small (at most a few
 * dozen probe results or history points), so exact methods that sort are
 * cheap here.
 *
 *   trimmed mean   a mean that a few wild values (a one-time load caught by
 *                  a probe) cannot drag; Yuen's interval from the
 *                  winsorized variance and Student's t.
 *   Theil-Sen      the median of all pairwise slopes of a series: a trend
 *                  that a step or an outlier does not tip; the interval
 *                  from Kendall's tau (Sen 1968).
 */
#ifndef MT_STATS_H
#define MT_STATS_H

#include <stddef.h>

/* A location or slope estimate with its 95% interval. n is the number of
 * values it rests on; when n is too small for an interval, low and high are
 * the estimate itself and ok is 0. */
typedef struct mt_estimate_t {
    double value;
    double low;
    double high;
    size_t n;
    int    ok;
} mt_estimate_t;

/* The two-sided 97.5% quantile of Student's t with df degrees of freedom
 * (df >= 1). */
double mt_stats_t975(size_t df);

/* Trimmed mean of x[0..n) with trim fraction (0 <= trim < 0.5) cut from
 * each end, and Yuen's 95% interval. scratch holds n doubles; x is not
 * changed. ok needs at least 3 values left after trimming. */
void mt_stats_trimmed_mean(mt_estimate_t *est, const double *x, size_t n,
                           double trim, double *scratch);

/* Theil-Sen slope of y over x (points with equal x are skipped) and its
 * 95% interval from Kendall's tau. scratch holds n * (n - 1) / 2 doubles.
 * ok needs at least 4 points. */
void mt_stats_theil_sen(mt_estimate_t *est, const double *x, const double *y,
                        size_t n, double *scratch);

/* Sort x[0..n) ascending (insertion sort when small, else qsort). */
void mt_stats_sort(double *x, size_t n);

#endif
