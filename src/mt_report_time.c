/* mt_report_time: the times of memtrack-report: a record's `time` and the
 * --since / --until arguments. httpd-free; see include/mt_report_parse.h.
 * By hand (no strptime, no timegm): a record's time is parsed for every
 * record, and the calendar is UTC only. */
#include <stdlib.h>
#include <string.h>

#include "mt_report_parse.h"

static int num_at(const char *s, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static apr_int64_t days_from_civil(int y, int m, int d)
{
    int era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (apr_int64_t)era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* "YYYY-MM-DD" then optionally [T ]HH:MM[:SS[.f+]][Z]; *used: the bytes
 * taken. allow_short: the date alone or without seconds. */
static apr_status_t civil(apr_time_t *t, const char *s, apr_size_t n,
                          int allow_short, apr_size_t *used)
{
    int y, mo, d, h = 0, mi = 0, se = 0, us = 0, i;
    apr_size_t k = 10;

    if (n < 10 || !num_at(s, 4, &y) || s[4] != '-' || !num_at(s + 5, 2, &mo)
        || s[7] != '-' || !num_at(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1
        || y < 1970 || d > month_days(y, mo)) {
        return APR_EINVAL;
    }
    if (n > 10 && (s[10] == 'T' || s[10] == ' ')) {
        if (n < 16 || !num_at(s + 11, 2, &h) || s[13] != ':'
            || !num_at(s + 14, 2, &mi) || h > 23 || mi > 59) {
            return APR_EINVAL;
        }
        k = 16;
        if (n > 16 && s[16] == ':') {
            if (n < 19 || !num_at(s + 17, 2, &se) || se > 60) return APR_EINVAL;
            k = 19;
            if (n > 19 && s[19] == '.') {
                for (i = 0, k = 20; k < n && s[k] >= '0' && s[k] <= '9'; k++, i++) {
                    if (i < 6) us = us * 10 + (s[k] - '0');
                }
                if (i == 0) return APR_EINVAL;
                for (; i < 6; i++) us *= 10;
            }
        }
        else if (!allow_short) {
            return APR_EINVAL;
        }
    }
    else if (!allow_short) {
        return APR_EINVAL;
    }
    *t = apr_time_from_sec(days_from_civil(y, mo, d) * 86400 + h * 3600
                           + mi * 60 + se) + us;
    *used = k;
    return APR_SUCCESS;
}

/* Two digits at s, or -1. */
static int d2(const char *s)
{
    unsigned int a = (unsigned int)(s[0] - '0'), b = (unsigned int)(s[1] - '0');

    return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
}

/* The module's own form, "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (27 bytes), in
 * straight-line code: every record's time is one. APR_EINVAL for any other
 * form (civil then decides), or a bad date or time. */
static apr_status_t module_time(apr_time_t *t, const char *s)
{
    int c = d2(s), y = d2(s + 2), mo = d2(s + 5), d = d2(s + 8), h = d2(s + 11),
        mi = d2(s + 14), se = d2(s + 17), u1 = d2(s + 20), u2 = d2(s + 22),
        u3 = d2(s + 24);

    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':'
        || s[16] != ':' || s[19] != '.' || s[26] != 'Z' || c < 0 || y < 0
        || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59
        || se < 0 || se > 60 || u1 < 0 || u2 < 0 || u3 < 0) {
        return APR_EINVAL;
    }
    y += c * 100;
    if (y < 1970 || d > month_days(y, mo)) return APR_EINVAL;
    *t = apr_time_from_sec(days_from_civil(y, mo, d) * 86400 + h * 3600
                           + mi * 60 + se) + u1 * 10000 + u2 * 100 + u3;
    return APR_SUCCESS;
}

apr_status_t mt_report_parse_time(apr_time_t *t, const char *s, apr_size_t n)
{
    apr_size_t used = 0;

    if (n == 27 && module_time(t, s) == APR_SUCCESS) return APR_SUCCESS;

    if (civil(t, s, n, 0, &used) != APR_SUCCESS || used + 1 != n
        || s[used] != 'Z') {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static apr_status_t relative(apr_time_t *t, const char *text, apr_time_t now)
{
    char *end = NULL;
    double v = strtod(text + 1, &end), unit;

    if (!end || end == text + 1 || !(v >= 0) || v > 1e9) return APR_EINVAL;
    switch (*end) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return APR_EINVAL;
    }
    if (end[1] != '\0') return APR_EINVAL;
    *t = now - (apr_time_t)(v * unit * 1e6);
    return APR_SUCCESS;
}

apr_status_t mt_report_parse_when(apr_time_t *t, const char *text,
                                  apr_time_t now)
{
    apr_size_t n = text ? strlen(text) : 0, used = 0;
    char *end = NULL;
    double secs;

    if (n == 0) return APR_EINVAL;
    if (text[0] == '-') return relative(t, text, now);
    if (text[0] == '@') {
        secs = strtod(text + 1, &end);
        if (!end || end == text + 1 || *end || !(secs >= 0) || secs > 1e11) {
            return APR_EINVAL;
        }
        *t = (apr_time_t)(secs * 1e6);
        return APR_SUCCESS;
    }
    if (civil(t, text, n, 1, &used) != APR_SUCCESS) return APR_EINVAL;
    if (used < n && !strcmp(text + used, "Z")) used++;
    return used == n ? APR_SUCCESS : APR_EINVAL;
}
