/* Unit tests: sizes, clean strings, request ids, timestamps. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <apr_general.h>
#include <apr_base64.h>
#include <apr_thread_proc.h>
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
    ok(mt_dec_scan(&v, "1000000000000000000", APR_INT64_MAX)
       && v == 1000000000000000000LL, "scan: 19 digits, checked past the 18th");
    ok(!mt_dec_scan(&v, "123456789012345678", 1000), "scan: 18 digits past a small bound");
    ok(!mt_dec_scan(&v, "1234567890123456789", 1000), "scan: 19 digits past a small bound");

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

/* The encoder writes what APR's base64 writes, in the URL-safe alphabet
 * and without padding. */
static void test_id_encoding(void)
{
    unsigned char raw[MT_REQID_RAW];
    char got[MT_REQID_LEN + 1], want[64];
    int i, j, bad = 0;

    srand(7);
    for (i = 0; i < 5000 && !bad; i++) {
        for (j = 0; j < MT_REQID_RAW; j++) {
            raw[j] = (unsigned char)(i < 256 ? (i + j * 17) & 0xFF : rand() & 0xFF);
        }
        apr_base64_encode(want, (const char *)raw, sizeof(raw));
        for (j = 0; want[j]; j++) {
            if (want[j] == '+') want[j] = '-';
            else if (want[j] == '/') want[j] = '_';
            else if (want[j] == '=') { want[j] = '\0'; break; }
        }
        mt_reqid_encode(got, raw);
        if (strcmp(got, want) != 0) {
            bad = 1;
            printf("# %d: got %s want %s\n", i, got, want);
        }
    }
    ok(!bad, "5000 ids encoded as APR's base64, URL-safe, unpadded");
}

typedef struct {
    mt_reqid_gen_t *gen;
    apr_pool_t     *pool;
    const char    **ids;
    int             n;
} id_job_t;

static void *APR_THREAD_FUNC id_thread(apr_thread_t *t, void *data)
{
    id_job_t *job = data;

    for (int i = 0; i < job->n; i++) {
        job->ids[i] = mt_reqid_next(job->gen, job->pool);
    }
    (void)t;
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The batched generator: ids of the same form, every one different, also
 * from four threads at once and across many refills. */
static void test_id_gen(apr_pool_t *p)
{
    enum { THREADS = 4, EACH = 2500 };
    mt_reqid_gen_t *gen = NULL;
    const char **ids = apr_pcalloc(p, sizeof(*ids) * THREADS * EACH);
    apr_thread_t *th[THREADS];
    apr_pool_t *tps[THREADS];
    id_job_t jobs[THREADS];
    apr_status_t trv;
    int i, form = 1, dup = 0;

    ok(mt_reqid_gen_create(&gen, 1, p) == APR_SUCCESS, "generator made");
    for (i = 0; i < THREADS; i++) {
        /* a pool of its own allocator per thread: pools are not shared */
        apr_pool_create_unmanaged(&tps[i]);
        jobs[i] = (id_job_t){ gen, tps[i], ids + i * EACH, EACH };
        apr_thread_create(&th[i], NULL, id_thread, &jobs[i], p);
    }
    for (i = 0; i < THREADS; i++) {
        apr_thread_join(&trv, th[i]);
    }
    for (i = 0; i < THREADS * EACH; i++) {
        form &= ids[i] && strlen(ids[i]) == MT_REQID_LEN
                && mt_reqid_is_safe(ids[i], 128);
    }
    ok(form, "%d ids from %d threads: 22 safe characters each",
       THREADS * EACH, THREADS);
    qsort(ids, THREADS * EACH, sizeof(*ids), cmp_str);
    for (i = 1; i < THREADS * EACH; i++) {
        dup += strcmp(ids[i - 1], ids[i]) == 0;
    }
    is_int(dup, 0, "no id twice");
    for (i = 0; i < THREADS; i++) {
        apr_pool_destroy(tps[i]);
    }
    ok(strlen(mt_reqid_next(NULL, p)) == MT_REQID_LEN, "no generator: an id all the same");
    ok(mt_reqid_gen_create(&gen, 0, p) == APR_SUCCESS, "unlocked generator made");
    for (i = 0; i < 100; i++) {
        ids[i] = mt_reqid_next(gen, p);
    }
    qsort(ids, 100, sizeof(*ids), cmp_str);
    for (i = 1, dup = 0; i < 100; i++) {
        dup += strcmp(ids[i - 1], ids[i]) == 0;
    }
    ok(dup == 0 && strlen(ids[0]) == MT_REQID_LEN, "unlocked: 100 ids over 4 refills, all different");
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
    test_id_encoding();
    test_id_gen(p);
    test_time(p);
    test_mono();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
