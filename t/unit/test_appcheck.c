/* Unit tests: can the app's own rss_before / rss_after be true of the
 * process the module read? */
#include <apr_general.h>
#include "mt_tap.h"
#include "mt_appcheck.h"

#define MB ((apr_int64_t)1 << 20)

static mt_app_report_t report(apr_int64_t before, apr_int64_t after)
{
    mt_app_report_t r;

    mt_proto_clear(&r);
    r.pid = 4242;
    r.rss_before = before;
    r.rss_after = after;
    return r;
}

int main(void)
{
    mt_app_report_t r;

    apr_initialize();
    r = report(60 * MB, 70 * MB);
    ok(!mt_appcheck_needs_peak(&r, 70 * MB), "both at or below now: no peak needed");
    ok(mt_appcheck_rss(&r, 70 * MB, MT_UNKNOWN) == NULL, "honest figures pass without the peak");
    r = report(MT_UNKNOWN, MT_UNKNOWN);
    ok(mt_appcheck_rss(&r, 70 * MB, MT_UNKNOWN) == NULL, "nothing reported: nothing refused");
    ok(mt_appcheck_rss(NULL, 70 * MB, MT_UNKNOWN) == NULL, "no report at all");

    r = report(0, 70 * MB);
    is_str(mt_appcheck_rss(&r, 70 * MB, 80 * MB), "zero resident bytes", "rss_before=0 refused");
    r = report(60 * MB, 0);
    is_str(mt_appcheck_rss(&r, 70 * MB, 80 * MB), "zero resident bytes", "rss_after=0 refused");

    /* A request that shrank: before above now, below the peak. */
    r = report(75 * MB, 71 * MB);
    ok(mt_appcheck_needs_peak(&r, 70 * MB), "before above now: the peak is needed");
    ok(mt_appcheck_rss(&r, 70 * MB, 80 * MB) == NULL, "below the peak: can be true");
    is_str(mt_appcheck_rss(&r, 70 * MB, MT_UNKNOWN), "above the current size, peak unknown",
           "above now and no peak: cannot be checked, refused");
    ok(mt_appcheck_rss(&r, 70 * MB, 75 * MB) == NULL, "exactly the peak: can be true");

    r = report((apr_int64_t)1 << 50, 70 * MB);
    is_str(mt_appcheck_rss(&r, 70 * MB, 80 * MB), "above the process's peak", "2^50 refused");
    r = report(60 * MB, 81 * MB);
    is_str(mt_appcheck_rss(&r, 70 * MB, 80 * MB), "above the process's peak",
           "rss_after above the peak refused too");
    r = report(60 * MB, 70 * MB);
    is_str(mt_appcheck_rss(&r, MT_UNKNOWN, 80 * MB), "process not read",
           "no reading of the process: nothing can be checked");
    apr_terminate();
    return done_testing();
}
