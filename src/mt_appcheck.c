/* mt_appcheck: the app's own memory figures against the module's readings
 * (see include/mt_appcheck.h for the why). */
#include "mt_appcheck.h"

static int above(apr_int64_t v, apr_int64_t rss_now)
{
    return v != MT_UNKNOWN && v > rss_now;
}

int mt_appcheck_needs_peak(const mt_app_report_t *rep, apr_int64_t rss_now)
{
    return rep && (above(rep->rss_before, rss_now)
                   || above(rep->rss_after, rss_now));
}

/* One value: NULL when it can be true. */
static const char *check_one(apr_int64_t v, apr_int64_t rss_now,
                             apr_int64_t peak_rss)
{
    if (v == MT_UNKNOWN) {
        return NULL;
    }
    if (v <= 0) {
        return "zero resident bytes";
    }
    if (v <= rss_now) {
        return NULL;                 /* rss_now <= peak, always */
    }
    if (peak_rss == MT_UNKNOWN) {
        return "above the current size, peak unknown";
    }
    return v > peak_rss ? "above the process's peak" : NULL;
}

const char *mt_appcheck_rss(const mt_app_report_t *rep, apr_int64_t rss_now,
                            apr_int64_t peak_rss)
{
    const char *why;

    if (!rep) {
        return NULL;
    }
    if (rss_now == MT_UNKNOWN || rss_now <= 0) {
        return "process not read";
    }
    if ((why = check_one(rep->rss_before, rss_now, peak_rss)) != NULL) {
        return why;
    }
    return check_one(rep->rss_after, rss_now, peak_rss);
}
