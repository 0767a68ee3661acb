/* Unit tests: /proc parsing and sampling of this very process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include "mt_tap.h"
#include "mt_sample.h"

static void test_parse(void)
{
    mt_sample_t s;
    const char *status =
        "Name:\ttest\nVmPeak:\t  10000 kB\nVmHWM:\t    2048 kB\n"
        "VmRSS:\t    1024 kB\nRssAnon:\t     512 kB\nVmSwap:\t       4 kB\n";

    mt_sample_clear(&s);
    ok(mt_sample_parse_statm(&s, "100 50 20 1 0 30 0\n", 4096) == APR_SUCCESS,
       "statm parses");
    is_int(s.vsize_bytes, 100 * 4096, "vsize");
    is_int(s.rss_bytes, 50 * 4096, "rss");
    is_int(s.shared_bytes, 20 * 4096, "shared");
    is_int(s.rss_anon_bytes, 30 * 4096, "anon = rss - shared");
    ok(mt_sample_parse_statm(&s, "garbage", 4096) == APR_EINVAL, "bad statm refused");
    ok(mt_sample_parse_statm(&s, "1 -2 3", 4096) == APR_EINVAL, "negative statm refused");
    ok(mt_sample_parse_statm(&s, "0 0 0 0 0 0 0\n", 4096) == APR_ENOENT,
       "a zombie's all-zero statm: gone, not zero bytes");
    ok(mt_sample_parse_status(&s, status) == APR_SUCCESS, "status parses");
    is_int(s.peak_rss_bytes, 2048 * 1024, "VmHWM");
    is_int(s.rss_anon_bytes, 512 * 1024, "RssAnon");
    is_int(s.swap_bytes, 4 * 1024, "VmSwap");
    mt_sample_clear(&s);
    ok(mt_sample_parse_status(&s, "Name: x\n") == APR_EINVAL, "status without VmHWM");
    is_int(s.swap_bytes, MT_UNKNOWN, "missing stays unknown");
}

static void test_self(apr_pool_t *p)
{
    mt_proc_t *proc;
    mt_sample_t a, b;
    char *block;
    int nfds = -1;
    const size_t grow = 16 * 1024 * 1024;

    ok(mt_proc_open(&proc, 0, p) == APR_SUCCESS, "open /proc/self");
    is_int(mt_proc_pid(proc), getpid(), "pid of self");
    mt_sample_clear(&a);
    mt_sample_clear(&b);
    ok(mt_sample_statm(&a, proc) == APR_SUCCESS && a.rss_bytes > 0, "statm of self");
    block = malloc(grow);
    for (size_t i = 0; i < grow; i += 4096) block[i] = (char)i;
    ok(mt_sample_statm(&b, proc) == APR_SUCCESS, "statm again (kept-open fd)");
    ok(b.rss_bytes - a.rss_bytes >= (apr_int64_t)(grow * 9 / 10),
       "16 MiB touched shows as growth (%lld)", (long long)(b.rss_bytes - a.rss_bytes));
    ok(mt_sample_status(&b, proc) == APR_SUCCESS && b.peak_rss_bytes >= b.rss_bytes / 2,
       "status of self");
    ok(mt_sample_fd_count(&nfds) == APR_SUCCESS && nfds >= 3, "fd count (%d)", nfds);
    free(block);
    ok(mt_proc_open(&proc, 999999999, p) != APR_SUCCESS, "no such process");
}

/* Start times: field 22 of stat, after a process name that may hold
 * spaces and parentheses. */
static void test_started(apr_pool_t *p)
{
    static const char tail[] = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 "
                               "987654321 20 21\n";
    apr_uint64_t t = 0, self = 0, again = 0;
    mt_proc_t *proc;
    char buf[256];

    snprintf(buf, sizeof(buf), "4242 (ruby)%s", tail);
    ok(mt_sample_parse_started(buf, &t) == APR_SUCCESS && t == 987654321ULL,
       "plain name");
    snprintf(buf, sizeof(buf), "4242 (a) b (c) 7 8)%s", tail);
    ok(mt_sample_parse_started(buf, &t) == APR_SUCCESS && t == 987654321ULL,
       "name with spaces and parentheses");
    ok(mt_sample_parse_started("4242 (ruby) S 1 2 3", &t) == APR_EINVAL,
       "cut short");
    ok(mt_sample_parse_started("4242 ruby S 1 2 3", &t) == APR_EINVAL, "no name");
    snprintf(buf, sizeof(buf), "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 -5 1");
    ok(mt_sample_parse_started(buf, &t) == APR_EINVAL, "negative start refused");
    snprintf(buf, sizeof(buf), "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 12x 1");
    ok(mt_sample_parse_started(buf, &t) == APR_EINVAL, "junk in the number refused");

    ok(mt_sample_started(0, &self) == APR_SUCCESS && self > 0, "own start time");
    ok(mt_sample_started((int)getpid(), &again) == APR_SUCCESS && again == self,
       "by pid: the same");
    ok(mt_sample_started(999999999, &t) != APR_SUCCESS, "no such process");
    ok(mt_sample_started(-1, &t) == APR_EINVAL, "negative pid");
    ok(mt_proc_open(&proc, 0, p) == APR_SUCCESS && mt_proc_started(proc) == self,
       "a handle knows its process's start time");
    ok(mt_sample_started(1, &t) == APR_SUCCESS && t <= self, "init started first");
}

static void test_parent(void)
{
    int ppid = 0;

    ok(mt_sample_parent(0, &ppid) == APR_SUCCESS && ppid == (int)getppid(),
       "own parent");
    ok(mt_sample_parent((int)getpid(), &ppid) == APR_SUCCESS
       && ppid == (int)getppid(), "by pid: the same");
    ok(mt_sample_parent(1, &ppid) == APR_SUCCESS && ppid == 0, "init: parent 0");
    ok(mt_sample_parent(999999999, &ppid) != APR_SUCCESS && ppid == -1,
       "no such process: -1");
}

/* One statm text both ways: the padded (quick) parse must say exactly
 * what the plain one says. The padded copy is a block of just its bytes,
 * its NUL and MT_STATM_PAD bytes of noise, so that ASan sees a read beyond
 * and the noise cannot count. */
static int same_both_ways(const char *text, apr_int64_t page, unsigned int *seed)
{
    size_t n = strlen(text) + 1, i;
    char *buf = malloc(n + MT_STATM_PAD);
    mt_sample_t a, b;
    apr_status_t ra, rb;
    int same;

    memcpy(buf, text, n);
    for (i = 0; i < MT_STATM_PAD; i++) buf[n + i] = (char)rand_r(seed);
    mt_sample_clear(&a);
    mt_sample_clear(&b);
    ra = mt_sample_parse_statm(&a, text, page);
    rb = mt_sample_parse_statm_padded(&b, buf, page);
    free(buf);
    same = ra == rb && a.vsize_bytes == b.vsize_bytes
           && a.rss_bytes == b.rss_bytes && a.shared_bytes == b.shared_bytes
           && a.rss_anon_bytes == b.rss_anon_bytes;
    return same;
}

/* A count of n digits (n <= 20), random, the first possibly 0. */
static void digits(char *out, int n, unsigned int *seed)
{
    int i;

    for (i = 0; i < n; i++) out[i] = (char)('0' + rand_r(seed) % 10);
    out[n] = '\0';
}

static void test_padded(void)
{
    static const char *const odd[] = {
        "", " ", "garbage", "1 -2 3", "0 0 0 0 0 0 0\n", "1  2 3\n",
        "1\t2 3", " 1 2 3", "1 2", "1 2 x", "12345678 1 1", "1234567 1 1",
        "9999999 9999999 9999999 0 0 0 0\n", "1 2 3\n", "07 08 09",
        "2251799813685247 1 1", "2251799813685248 1 1",
        "99999999999999999999 1 1", "1:2 3", "1 2/3", "1 2 3@"
    };
    static const apr_int64_t pages[] = { 4096, 65536, 1 };
    unsigned int seed = 4711, i, bad = 0, tried = 0;
    size_t k, pg;

    for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
        for (pg = 0; pg < 3; pg++) {
            if (!same_both_ways(odd[k], pages[pg], &seed)) {
                bad++;
                printf("# differs: \"%s\" (page %lld)\n", odd[k], (long long)pages[pg]);
            }
            tried++;
        }
    }
    /* every length of each of the three counts, 1 to 20 digits, with
     * odd separators and ends now and then (bytes from 0xFA up are the
     * ones whose + 6 carries) */
    for (i = 0; i < 20000; i++) {
        static const char *const sep[] = { " ", " ", " ", " ", "  ", "\t", "" };
        static const char ends[] = ":;<=>?*+,-./@\xfa\xff\xb0\n\n\n\n";
        char a[24], b[24], c[24], text[96];

        digits(a, 1 + (int)(rand_r(&seed) % 20), &seed);
        digits(b, 1 + (int)(rand_r(&seed) % 20), &seed);
        digits(c, 1 + (int)(rand_r(&seed) % 20), &seed);
        snprintf(text, sizeof(text), "%s%s%s%s%s%c1 0 2 0\n", a,
                 sep[rand_r(&seed) % 7], b, sep[rand_r(&seed) % 7], c,
                 ends[rand_r(&seed) % (sizeof(ends) - 1)]);
        if (!same_both_ways(text, pages[i % 3], &seed)) {
            if (bad++ < 5) printf("# differs: %s", text);
        }
        tried++;
    }
    ok(bad == 0, "the quick statm parse says what the careful one says "
       "(%u of %u texts differ)", bad, tried);
    {
        char buf[64 + MT_STATM_PAD] = "1234567 7654321 42 1 0 2 0\n";
        mt_sample_t s;

        mt_sample_clear(&s);
        ok(mt_sample_parse_statm_padded(&s, buf, 4096) == APR_SUCCESS
           && s.vsize_bytes == 1234567LL * 4096 && s.rss_bytes == 7654321LL * 4096
           && s.shared_bytes == 42 * 4096, "the quick parse's values, by hand");
    }
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_parse();
    test_padded();
    test_self(p);
    test_started(p);
    test_parent();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
