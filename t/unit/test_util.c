/* Unit tests: sizes, clean strings, request ids, timestamps. */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "mt_tap.h"
#include "mt_util.h"

static void test_sizes(void)
{
    apr_int64_t b = 0;

    ok(mt_size_parse(&b, "20M") == APR_SUCCESS && b == 20 * 1024 * 1024, "20M");
    ok(mt_size_parse(&b, "512k") == APR_SUCCESS && b == 512 * 1024, "512k");
    ok(mt_size_parse(&b, "1G") == APR_SUCCESS && b == 1024LL * 1024 * 1024, "1G");
    ok(mt_size_parse(&b, "1GB") == APR_SUCCESS && b == 1024LL * 1024 * 1024, "1GB");
    ok(mt_size_parse(&b, "4096") == APR_SUCCESS && b == 4096, "plain bytes");
    ok(mt_size_parse(&b, "0") == APR_SUCCESS && b == 0, "zero");
    ok(mt_size_parse(&b, "20X") == APR_EINVAL, "20X refused");
    ok(mt_size_parse(&b, "-1") == APR_EINVAL, "negative refused");
    ok(mt_size_parse(&b, "") == APR_EINVAL, "empty refused");
    ok(mt_size_parse(&b, "M") == APR_EINVAL, "suffix alone refused");
    ok(mt_size_parse(&b, "20 M") == APR_EINVAL, "space refused");
    ok(mt_size_parse(&b, "99999999999999999999") == APR_EINVAL, "overflow refused");
    ok(mt_size_parse(&b, "9999999999999G") == APR_EINVAL, "unit overflow refused");
    ok(mt_size_parse(&b, NULL) == APR_EINVAL, "NULL refused");
}

/* The one decimal parser: digits only, bounds checked before overflow. */
static void test_decimal(void)
{
    apr_int64_t v = -7;
    const char *end;
    char buf[MT_DEC_BUF];
    char num[32];

    end = mt_dec_scan(&v, " \t123 456", 1000);
    ok(end && v == 123 && *end == ' ', "scan: blanks skipped, stops at the next");
    end = mt_dec_scan(&v, end, 1000);
    ok(end && v == 456 && *end == '\0', "scan: the second number");
    v = -7;
    ok(!mt_dec_scan(&v, "-1", 1000) && v == -7, "scan: no sign, value untouched");
    ok(!mt_dec_scan(&v, "", 1000) && !mt_dec_scan(&v, "x1", 1000), "scan: no digit");
    ok(mt_dec_scan(&v, "1000", 1000) && v == 1000, "scan: the bound itself");
    ok(!mt_dec_scan(&v, "1001", 1000), "scan: one past the bound");
    ok(mt_dec_scan(&v, "9223372036854775807", APR_INT64_MAX)
       && v == APR_INT64_MAX, "scan: INT64_MAX");
    ok(!mt_dec_scan(&v, "9223372036854775808", APR_INT64_MAX), "scan: overflow refused");
    ok(!mt_dec_scan(&v, "99999999999999999999999", APR_INT64_MAX), "scan: long overflow refused");
    ok(mt_dec_scan(&v, "0007x", 10) && v == 7, "scan: leading zeros");

    ok(mt_dec_parse(&v, "42", 2, 1, 100) == APR_SUCCESS && v == 42, "parse: in range");
    ok(mt_dec_parse(&v, "420", 2, 1, 100) == APR_SUCCESS && v == 42, "parse: only len bytes");
    ok(mt_dec_parse(&v, "0", 1, 1, 100) == APR_EINVAL, "parse: below lo");
    ok(mt_dec_parse(&v, "101", 3, 1, 100) == APR_EINVAL, "parse: above hi");
    ok(mt_dec_parse(&v, "100", 3, 1, 100) == APR_SUCCESS && v == 100, "parse: hi itself");
    ok(mt_dec_parse(&v, "", 0, 0, 100) == APR_EINVAL, "parse: empty");
    ok(mt_dec_parse(&v, " 1", 2, 0, 100) == APR_EINVAL, "parse: blank refused");
    ok(mt_dec_parse(&v, "1 ", 2, 0, 100) == APR_EINVAL, "parse: trailing blank refused");
    ok(mt_dec_parse(&v, "+1", 2, 0, 100) == APR_EINVAL, "parse: sign refused");
    ok(mt_dec_parse(&v, "1\xB9", 2, 0, 100) == APR_EINVAL, "parse: a high byte refused");
    ok(mt_dec_parse(&v, "18446744073709551617", 20, 0, APR_INT64_MAX) == APR_EINVAL,
       "parse: overflow refused");
    ok(mt_dec_parse(&v, NULL, 0, 0, 1) == APR_EINVAL, "parse: NULL");

    is_int((long long)mt_dec_format(buf, 0), 1, "format: 0 is one digit");
    is_str(buf, "0", "format: 0");
    mt_dec_format(buf, -1234567);
    is_str(buf, "-1234567", "format: negative");
    is_int((long long)mt_dec_format(buf, APR_INT64_MIN), MT_DEC_MAX, "format: INT64_MIN fits");
    is_str(buf, "-9223372036854775808", "format: INT64_MIN");
    mt_dec_format(buf, APR_INT64_MAX);
    is_str(buf, "9223372036854775807", "format: INT64_MAX");
    for (int i = 0; i < 2000; i++) {
        apr_int64_t x = (apr_int64_t)((apr_uint64_t)i * 0x9E3779B97F4A7C15ULL);
        snprintf(num, sizeof(num), "%" APR_INT64_T_FMT, x);
        mt_dec_format(buf, x);
        if (strcmp(num, buf) != 0) {
            ok(0, "format: %s as printf writes it (got %s)", num, buf);
            return;
        }
    }
    ok(1, "format: 2000 spread values as printf writes them");
}

/* True when s is valid UTF-8 (a strict re-check, independent of the code). */
static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2
              : (*s & 0xF0) == 0xE0 ? 3 : (*s & 0xF8) == 0xF0 ? 4 : 0;
        if (!n) return 0;
        for (int i = 1; i < n; i++) {
            if ((s[i] & 0xC0) != 0x80) return 0;
        }
        s += n;
    }
    return 1;
}

static void test_clean(apr_pool_t *p)
{
    int cut = -1;
    const char *out;
    char big[10001];

    is_str(mt_str_clean(p, "/plain?x=1", 100, &cut), "/plain?x=1", "plain kept");
    ok(cut == 0, "plain not cut");
    is_str(mt_str_clean(p, "caf\xC3\xA9", 100, NULL), "caf\xC3\xA9", "valid UTF-8 kept");
    is_str(mt_str_clean(p, "a\xFFz", 100, NULL), "a\xEF\xBF\xBDz", "invalid byte replaced");
    is_str(mt_str_clean(p, "\xC0\xAF", 100, NULL), "\xEF\xBF\xBD\xEF\xBF\xBD", "overlong replaced");
    is_str(mt_str_clean(p, "\xED\xA0\x80", 100, NULL),
           "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", "surrogate replaced");
    is_str(mt_str_clean(p, "\xE2\x82", 100, NULL), "\xEF\xBF\xBD\xEF\xBF\xBD", "truncated sequence replaced");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    out = mt_str_clean(p, big, 100, &cut);
    ok(cut == 1 && strlen(out) <= 100, "long cut to the limit (%zu)", strlen(out));
    ok(strstr(out, MT_CUT_MARKER) && strlen(out) - strlen(MT_CUT_MARKER)
       == (size_t)(strstr(out, MT_CUT_MARKER) - out), "marker at the end");
    for (int i = 0; i < 10000; i++) big[i] = (i % 3) ? (char)0xE2 : (char)0x82;
    out = mt_str_clean(p, big, 64, &cut);
    ok(strlen(out) <= 64 && valid_utf8((const unsigned char *)out), "garbage cut stays valid UTF-8");
    for (int i = 0; i < 9999; i += 3) memcpy(big + i, "\xE2\x82\xAC", 3);
    big[9999] = '\0';
    out = mt_str_clean(p, big, 50, &cut);
    ok(strlen(out) <= 50 && valid_utf8((const unsigned char *)out) && cut,
       "multi-byte characters never split");
    ok(mt_str_clean(p, NULL, 10, NULL) == NULL, "NULL stays NULL");
    is_str(mt_str_clean(p, "abcdefghij", 10, &cut), "abcdefghij", "exact fit not cut");
}

static void test_ids(apr_pool_t *p)
{
    const char *a = mt_reqid_make(p), *b = mt_reqid_make(p);

    ok(strlen(a) == 22 && mt_reqid_is_safe(a, 128), "made id is 22 safe chars");
    ok(strcmp(a, b) != 0, "made ids differ");
    ok(mt_reqid_is_safe("YZ1a@b-c_d.e:f+g/h=", 128), "unique_id alphabet safe");
    ok(!mt_reqid_is_safe("a b", 128), "space unsafe");
    ok(!mt_reqid_is_safe("a\"b", 128), "quote unsafe");
    ok(!mt_reqid_is_safe("a*b", 128), "glob unsafe (Redis keys)");
    ok(!mt_reqid_is_safe("", 128), "empty unsafe");
    ok(!mt_reqid_is_safe("abcdef", 5), "too long unsafe");
    ok(!mt_reqid_is_safe("a\nb", 128), "newline unsafe");
}

static void test_time(apr_pool_t *p)
{
    /* 2026-11-22T04:08:43.123456Z */
    apr_time_t t = apr_time_from_sec(1795320523) + 123456;

    is_str(mt_time_iso8601(p, t), "2026-11-22T04:08:43.123456Z", "ISO 8601 with microseconds");
}

/* The monotonic clock: never goes back, and keeps pace with real time. */
static void test_mono(void)
{
    apr_time_t m0 = mt_mono_now(), m1, last = m0;
    int back = 0;

    for (int i = 0; i < 100000; i++) {
        apr_time_t m = mt_mono_now();
        back += m < last;
        last = m;
    }
    is_int(back, 0, "never goes back over 100000 reads");
    apr_sleep(apr_time_from_msec(50));
    m1 = mt_mono_now();
    /* Microseconds: at least the 50 ms slept, and not nanoseconds. */
    ok(m1 - m0 >= apr_time_from_msec(50) && m1 - m0 < apr_time_from_sec(30),
       "a 50 ms sleep shows as 50 ms or a little more (%lld us)",
       (long long)(m1 - m0));
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_sizes();
    test_decimal();
    test_clean(p);
    test_ids(p);
    test_time(p);
    test_mono();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
