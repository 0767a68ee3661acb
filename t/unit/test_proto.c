/* Unit tests of mt_proto: the X-MemTrack header parser.
 *
 * Three layers: every key and every boundary by hand; a list of hostile
 * inputs; a mutational loop that checks the parser against a second,
 * deliberately naive implementation of the same rules (ref_parse below)
 * and asserts the invariants on every result. Built with ASan and UBSan, so
 * an out-of-bounds read or an overflow fails the run too.
 */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "mt_proto.h"
#include "mt_tap.h"

static apr_pool_t *pool;

/* ---- fields by key name, written out independently of mt_proto.c ---- */

/* How a numeric key's value is read, and what "absent" looks like. */
typedef enum {
    NUM,        /* 0..MT_PROTO_MAX_NUM, absent MT_UNKNOWN */
    TOKEN,      /* 1..MT_PROTO_MAX_NUM, absent 0 */
    SIGNED      /* -MT_PROTO_MAX_NUM..MT_PROTO_MAX_NUM, absent MT_PROTO_NO_SIGNED */
} num_kind_t;

typedef struct {
    const char *key;
    apr_int64_t *(*field)(mt_app_report_t *r);
    num_kind_t kind;
} num_key_t;

#define F(name, expr) \
    static apr_int64_t *f_##name(mt_app_report_t *r) { return &r->expr; }
F(rss_before, rss_before)
F(rss_after, rss_after)
F(gc_before, gc_before.count)
F(gc_after, gc_after.count)
F(minor_before, gc_before.minor)
F(minor_after, gc_after.minor)
F(major_before, gc_before.major)
F(major_after, gc_after.major)
F(live_before, gc_before.live_slots)
F(live_after, gc_after.live_slots)
F(old_before, gc_before.old_objects)
F(old_after, gc_after.old_objects)
F(alloc_before, gc_before.allocated)
F(alloc_after, gc_after.allocated)
F(freed_before, gc_before.freed)
F(freed_after, gc_after.freed)
F(uss, uss_bytes)
F(pss, pss_bytes)
F(qc_before, qc_before)
F(qc_after, qc_after)
F(probe, probe_token)
F(probe_done, probe_done)
F(probe_bytes, probe_bytes)
F(probe_objects, probe_objects)
F(probe_us, probe_us)
F(heap, heap_token)
F(heap_step, heap_step)
F(heap_gc, heap_gc)
F(heap_bytes, heap_bytes)
F(heap_us, heap_us)
#undef F

#define NK(name) { #name, f_##name, NUM }
#define TK(name) { #name, f_##name, TOKEN }
#define SK(name) { #name, f_##name, SIGNED }
static const num_key_t num_keys[] = {
    NK(rss_before), NK(rss_after), NK(gc_before), NK(gc_after),
    NK(minor_before), NK(minor_after), NK(major_before), NK(major_after),
    NK(live_before), NK(live_after), NK(old_before), NK(old_after),
    NK(alloc_before), NK(alloc_after), NK(freed_before), NK(freed_after),
    NK(uss), NK(pss), NK(qc_before), NK(qc_after),
    TK(probe), TK(probe_done), SK(probe_bytes), SK(probe_objects),
    NK(probe_us), TK(heap), NK(heap_step), NK(heap_gc), NK(heap_bytes),
    NK(heap_us),
};
#undef NK
#undef TK
#undef SK
#define N_NUM_KEYS (sizeof(num_keys) / sizeof(num_keys[0]))

static apr_int64_t absent_of(num_kind_t kind)
{
    return kind == TOKEN ? 0 : kind == SIGNED ? MT_PROTO_NO_SIGNED : MT_UNKNOWN;
}

static apr_int64_t min_of(num_kind_t kind)
{
    return kind == TOKEN ? 1 : kind == SIGNED ? -MT_PROTO_MAX_NUM : 0;
}

static apr_status_t parse(mt_app_report_t *r, const char *v)
{
    return mt_proto_parse(r, v, pool);
}

/* All numeric fields but the one named (NULL: all) are unknown. */
static int others_unknown(mt_app_report_t *r, const char *except)
{
    size_t i;
    for (i = 0; i < N_NUM_KEYS; i++) {
        if (except && strcmp(num_keys[i].key, except) == 0)
            continue;
        if (*num_keys[i].field(r) != absent_of(num_keys[i].kind))
            return 0;
    }
    return 1;
}

static void test_clear(void)
{
    mt_app_report_t r;
    memset(&r, 0x5a, sizeof(r));
    mt_proto_clear(&r);
    ok(r.version == 0 && r.pid == 0 && r.bad_items == 0, "clear: ints zero");
    ok(r.controller == NULL && r.action == NULL && r.refused == NULL,
       "clear: strings NULL");
    ok(others_unknown(&r, NULL), "clear: every number unknown");
    ok(r.probe_token == 0 && r.probe_done == 0, "clear: no probe tokens");
    ok(r.probe_bytes == MT_PROTO_NO_SIGNED && r.probe_objects
       == MT_PROTO_NO_SIGNED && r.probe_us == MT_UNKNOWN,
       "clear: probe values absent");
}

static void test_every_key(void)
{
    mt_app_report_t r;
    size_t i;
    apr_status_t rv;

    rv = parse(&r, "pid=4242");
    is_int(rv, APR_SUCCESS, "pid alone is enough");
    is_int(r.pid, 4242, "pid");
    is_int(r.version, 0, "no v => version 0");
    ok(others_unknown(&r, NULL) && !r.controller && !r.action,
       "nothing else invented");
    is_int(r.bad_items, 0, "no bad items");
    ok(r.refused == NULL, "not refused");

    for (i = 0; i < N_NUM_KEYS; i++) {
        char *h = apr_psprintf(pool, "pid=77; %s=%d", num_keys[i].key,
                               (int)i + 1000);
        rv = parse(&r, h);
        ok(rv == APR_SUCCESS && *num_keys[i].field(&r) == (apr_int64_t)i + 1000
           && others_unknown(&r, num_keys[i].key) && r.bad_items == 0,
           "key %s lands in its own field", num_keys[i].key);
    }

    rv = parse(&r, "v=1;pid=9;controller=Admin::UsersController;action=show");
    is_int(rv, APR_SUCCESS, "names parse");
    is_int(r.version, 1, "v=1");
    is_str(r.controller, "Admin::UsersController", "controller");
    is_str(r.action, "show", "action");

    rv = parse(&r, "v=1; pid=12345; rss_before=100; rss_after=200; "
               "gc_before=1; gc_after=2; minor_before=3; minor_after=4; "
               "major_before=5; major_after=6; live_before=7; live_after=8; "
               "old_before=9; old_after=10; alloc_before=11; alloc_after=12; "
               "freed_before=13; freed_after=14; uss=15; pss=16; "
               "qc_before=17; qc_after=18; controller=api/v1/things#x; "
               "action=create-1.json");
    is_int(rv, APR_SUCCESS, "full header");
    is_int(r.bad_items, 0, "full header: nothing bad");
    ok(r.rss_before == 100 && r.rss_after == 200 && r.gc_before.count == 1
       && r.gc_after.count == 2 && r.gc_before.minor == 3
       && r.gc_after.minor == 4 && r.gc_before.major == 5
       && r.gc_after.major == 6 && r.gc_before.live_slots == 7
       && r.gc_after.live_slots == 8 && r.gc_before.old_objects == 9
       && r.gc_after.old_objects == 10 && r.gc_before.allocated == 11
       && r.gc_after.allocated == 12 && r.gc_before.freed == 13
       && r.gc_after.freed == 14 && r.uss_bytes == 15 && r.pss_bytes == 16
       && r.qc_before == 17 && r.qc_after == 18, "full header: every number");
    is_str(r.controller, "api/v1/things#x", "controller charset / . #");
    is_str(r.action, "create-1.json", "action charset - .");
}

/* The lookup starts where the last key was found (the companion's order):
 * any other order, and a repeat that comes after the search went round,
 * give the same report. */
static void test_key_order(void)
{
    mt_app_report_t fwd, rev;
    apr_status_t rv1, rv2;

    rv1 = parse(&fwd, "v=1; pid=321; rss_before=10; rss_after=20; gc_before=1; "
                "gc_after=2; old_after=9; qc_after=4; action=a; controller=C");
    rv2 = parse(&rev, "controller=C; action=a; qc_after=4; old_after=9; "
                "gc_after=2; gc_before=1; rss_after=20; rss_before=10; "
                "pid=321; v=1");
    ok(rv1 == APR_SUCCESS && rv2 == APR_SUCCESS && fwd.pid == rev.pid
       && fwd.version == 1 && rev.version == 1
       && fwd.rss_before == rev.rss_before && fwd.rss_after == rev.rss_after
       && fwd.gc_before.count == rev.gc_before.count
       && fwd.gc_after.count == rev.gc_after.count
       && fwd.gc_after.old_objects == rev.gc_after.old_objects
       && fwd.qc_after == rev.qc_after && fwd.bad_items == 0
       && rev.bad_items == 0, "keys in reverse order: the same report");
    is_str(rev.controller, "C", "reverse order: controller");
    is_str(rev.action, "a", "reverse order: action");
    rv1 = parse(&fwd, "pid=5; heap_error=x; rss_before=1; pid=6; "
                "heap_error=y; rss_before=2");
    ok(rv1 == APR_SUCCESS && fwd.pid == 5 && fwd.rss_before == 1
       && fwd.bad_items == 3, "repeats after the search went round: the "
       "first stands, each repeat bad");
    is_str(fwd.heap_error, "x", "repeated name: the first stands");
}

static void test_boundaries(void)
{
    mt_app_report_t r;
    char *h, *name;
    apr_status_t rv;

    is_int(parse(&r, "pid=2"), APR_SUCCESS, "pid 2 is the lowest");
    is_int(parse(&r, "pid=1"), APR_EINVAL, "pid 1 (init) refused");
    is_int(r.bad_items, 1, "pid 1 counted bad");
    is_str(r.refused, "no valid pid", "refusal reason");
    is_int(parse(&r, "pid=0"), APR_EINVAL, "pid 0 refused");
    is_int(parse(&r, "pid=4194304"), APR_SUCCESS, "pid 4194304 accepted");
    is_int(r.pid, 4194304, "pid max value");
    is_int(parse(&r, "pid=4194305"), APR_EINVAL, "pid 4194305 refused");
    is_int(parse(&r, "pid=2147483648"), APR_EINVAL, "pid INT_MAX+1 refused");
    is_int(parse(&r, "pid=002"), APR_SUCCESS, "leading zeros allowed");
    is_int(r.pid, 2, "leading zeros value");

    h = apr_psprintf(pool, "pid=5; uss=%" APR_INT64_T_FMT, MT_PROTO_MAX_NUM);
    rv = parse(&r, h);
    ok(rv == APR_SUCCESS && r.uss_bytes == MT_PROTO_MAX_NUM && !r.bad_items,
       "MT_PROTO_MAX_NUM accepted");
    h = apr_psprintf(pool, "pid=5; uss=%" APR_INT64_T_FMT,
                     MT_PROTO_MAX_NUM + 1);
    rv = parse(&r, h);
    ok(rv == APR_SUCCESS && r.uss_bytes == MT_UNKNOWN && r.bad_items == 1,
       "MT_PROTO_MAX_NUM + 1 ignored and counted");
    rv = parse(&r, "pid=5; uss=0");
    ok(rv == APR_SUCCESS && r.uss_bytes == 0, "zero accepted");

    is_int(parse(&r, "v=1;pid=3"), APR_SUCCESS, "v=1");
    is_int(r.version, 1, "v=1 value");
    rv = parse(&r, "v=2;pid=3");
    ok(rv == APR_EINVAL && r.pid == 0 && r.bad_items == 1
       && r.refused && !strcmp(r.refused, "unsupported version"),
       "v=2: another protocol, refused whole");
    rv = parse(&r, "v=0;pid=3");
    ok(rv == APR_EINVAL && r.pid == 0 && r.bad_items == 1, "v=0 refused");
    rv = parse(&r, "pid=3;v=1;v=2");
    ok(rv == APR_SUCCESS && r.version == 1 && r.bad_items == 1,
       "a repeated v after v=1: the first stands");

    name = apr_palloc(pool, MT_PROTO_MAX_NAME + 2);
    memset(name, 'a', MT_PROTO_MAX_NAME);
    name[MT_PROTO_MAX_NAME] = '\0';
    rv = parse(&r, apr_pstrcat(pool, "pid=3;action=", name, NULL));
    ok(rv == APR_SUCCESS && r.action && strlen(r.action) == MT_PROTO_MAX_NAME,
       "name of %d chars accepted", MT_PROTO_MAX_NAME);
    name[MT_PROTO_MAX_NAME] = 'a';
    name[MT_PROTO_MAX_NAME + 1] = '\0';
    rv = parse(&r, apr_pstrcat(pool, "pid=3;action=", name, NULL));
    ok(rv == APR_SUCCESS && !r.action && r.bad_items == 1,
       "name of %d chars ignored", MT_PROTO_MAX_NAME + 1);
    rv = parse(&r, "pid=3;action=");
    ok(rv == APR_SUCCESS && !r.action && r.bad_items == 1, "empty name bad");

    /* The whole length limit: exactly MT_PROTO_MAX_LEN is fine. */
    h = apr_palloc(pool, MT_PROTO_MAX_LEN + 2);
    memset(h, ' ', MT_PROTO_MAX_LEN + 1);
    memcpy(h, "pid=3;", 6);
    h[MT_PROTO_MAX_LEN] = '\0';
    rv = parse(&r, h);
    ok(rv == APR_SUCCESS && r.pid == 3, "exactly MT_PROTO_MAX_LEN accepted");
    h[MT_PROTO_MAX_LEN] = ' ';
    h[MT_PROTO_MAX_LEN + 1] = '\0';
    rv = parse(&r, h);
    ok(rv == APR_EINVAL && r.pid == 0, "MT_PROTO_MAX_LEN + 1 refused whole");
    is_str(r.refused, "header too long", "too long: reason");
}

/* One value for one key alone: 1 when taken as want, else 0. */
static int takes(const char *key, const char *val, apr_int64_t want)
{
    mt_app_report_t r;
    size_t i;
    char *h = apr_psprintf(pool, "pid=5; %s=%s", key, val);

    if (parse(&r, h) != APR_SUCCESS)
        return 0;
    for (i = 0; i < N_NUM_KEYS; i++) {
        if (strcmp(num_keys[i].key, key) == 0)
            return r.bad_items == 0 && *num_keys[i].field(&r) == want
                   && others_unknown(&r, key);
    }
    return 0;
}

/* The value is bad: ignored, counted, the field stays absent. */
static int refuses(const char *key, const char *val)
{
    mt_app_report_t r;
    char *h = apr_psprintf(pool, "pid=5; %s=%s", key, val);

    return parse(&r, h) == APR_SUCCESS && r.bad_items == 1
           && others_unknown(&r, NULL);
}

static void test_probe_keys(void)
{
    static const char *const tokens[] = { "probe", "probe_done" };
    static const char *const signs[] = { "probe_bytes", "probe_objects" };
    const char *max = apr_psprintf(pool, "%" APR_INT64_T_FMT, MT_PROTO_MAX_NUM);
    const char *over = apr_psprintf(pool, "%" APR_INT64_T_FMT,
                                    MT_PROTO_MAX_NUM + 1);
    const char *bad[] = { "", "abc", "+1", "-", "--5", "- 5", "5-", "1e3",
                          "0x10", "1.5", "99999999999999999999", over };
    mt_app_report_t r;
    size_t i, k;

    for (k = 0; k < 2; k++) {
        const char *key = tokens[k];
        ok(takes(key, "1", 1), "%s=1: the lowest token", key);
        ok(takes(key, max, MT_PROTO_MAX_NUM), "%s=2^50: the highest", key);
        ok(takes(key, "007", 7), "%s: leading zeros", key);
        ok(refuses(key, "0"), "%s=0 is bad (0 means absent)", key);
        ok(refuses(key, "-1"), "%s=-1 is bad", key);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            ok(refuses(key, bad[i]), "%s='%s' is bad", key, bad[i]);
    }
    for (k = 0; k < 2; k++) {
        const char *key = signs[k];
        ok(takes(key, "0", 0), "%s=0", key);
        ok(takes(key, "51200", 51200), "%s positive", key);
        ok(takes(key, "-51200", -51200), "%s negative", key);
        ok(takes(key, "-007", -7), "%s: leading zeros after '-'", key);
        ok(takes(key, max, MT_PROTO_MAX_NUM), "%s=2^50", key);
        ok(takes(key, apr_pstrcat(pool, "-", max, NULL), -MT_PROTO_MAX_NUM),
           "%s=-2^50", key);
        ok(refuses(key, apr_pstrcat(pool, "-", over, NULL)),
           "%s=-(2^50+1) is bad", key);
        ok(refuses(key, "-0"), "%s=-0 is bad: zero is spelt 0", key);
        ok(refuses(key, "-00"), "%s=-00 is bad", key);
        ok(refuses(key, "-9223372036854775808"), "%s=INT64_MIN is bad", key);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            ok(refuses(key, bad[i]), "%s='%s' is bad", key, bad[i]);
    }
    ok(takes("probe_us", "0", 0) && takes("probe_us", max, MT_PROTO_MAX_NUM),
       "probe_us 0 and 2^50");
    ok(refuses("probe_us", "-1") && refuses("probe_us", over),
       "probe_us -1 and 2^50+1 are bad");

    is_int(parse(&r, "v=1; pid=42; probe=12; probe_done=11; "
                 "probe_bytes=-51200; probe_objects=10001; probe_us=4321"),
           APR_SUCCESS, "a companion's probe header");
    ok(r.bad_items == 0 && r.probe_token == 12 && r.probe_done == 11
       && r.probe_bytes == -51200 && r.probe_objects == 10001
       && r.probe_us == 4321, "every probe value in its field");
    is_int(parse(&r, "pid=42; probe_bytes=5; probe_bytes=-6; probe_done=3; "
                 "probe_done=4"), APR_SUCCESS, "repeated probe keys");
    ok(r.bad_items == 2 && r.probe_bytes == 5 && r.probe_done == 3,
       "repeated probe keys: the first stands");
    is_int(parse(&r, "pid=42; probe_bytes=-0; probe_bytes=7"), APR_SUCCESS,
           "a bad first signed value");
    ok(r.bad_items == 2 && r.probe_bytes == MT_PROTO_NO_SIGNED,
       "a bad first signed value is not replaced by a later one");
    ok(parse(&r, "probe=5; probe_done=5; probe_bytes=-1") == APR_EINVAL
       && r.probe_token == 0 && r.probe_done == 0
       && r.probe_bytes == MT_PROTO_NO_SIGNED, "no pid: probe values cleared");
}

/* The heap diff's acknowledgement (ruby/lib/memtrack/heap.rb). */
static void test_heap_keys(void)
{
    mt_app_report_t r;
    int i;

    is_int(parse(&r, "v=1; pid=42; heap=77; heap_step=2; heap_gc=31; "
                 "heap_bytes=123456789; heap_us=250000"), APR_SUCCESS,
           "a companion's snapshot acknowledgement");
    ok(r.bad_items == 0 && r.heap_token == 77 && r.heap_step == 2
       && r.heap_gc == 31 && r.heap_bytes == 123456789 && r.heap_us == 250000
       && r.heap_error == NULL, "every heap value in its field");
    is_int(parse(&r, "v=1; pid=42; heap=77; heap_step=1; heap_error=nospace"),
           APR_SUCCESS, "an error");
    is_str(r.heap_error, "nospace", "its name");
    is_int(parse(&r, "v=1; pid=42; heap=0; heap_error=a b; heap_step=-1"),
           APR_SUCCESS, "bad heap items");
    ok(r.bad_items == 3 && r.heap_token == 0 && r.heap_error == NULL
       && r.heap_step == MT_UNKNOWN, "are ignored and counted");
    /* every key at once, the probe's and the heap's: the seen set is wider
     * than 32 bits now */
    is_int(parse(&r, "v=1; pid=12345; rss_before=1; rss_after=2; gc_before=1; "
                 "gc_after=2; minor_before=3; minor_after=4; major_before=5; "
                 "major_after=6; live_before=7; live_after=8; old_before=9; "
                 "old_after=10; alloc_before=11; alloc_after=12; "
                 "freed_before=13; freed_after=14; uss=15; pss=16; "
                 "qc_before=17; qc_after=18; controller=C; action=a; probe=1; "
                 "probe_done=2; probe_bytes=-3; probe_objects=4; probe_us=5; "
                 "heap=6; heap_step=3; heap_gc=7; heap_bytes=8; heap_us=9; "
                 "heap_error=io; heap_us=10; heap=11"), APR_SUCCESS,
           "all 35 keys");
    ok(r.bad_items == 2 && r.heap_us == 9 && r.heap_token == 6,
       "each once: the repeats of the last keys are refused too");
    for (i = 0; i < 2; i++) {
        ok(parse(&r, i ? "heap=5; heap_step=1" : "heap_error=io") == APR_EINVAL
           && r.heap_token == 0 && r.heap_error == NULL,
           "no pid: heap values cleared (%d)", i);
    }
}

static void test_separators_and_space(void)
{
    mt_app_report_t r;
    apr_status_t rv;

    rv = parse(&r, "  pid = 42 ;\tuss\t=\t7\t; ");
    ok(rv == APR_SUCCESS && r.pid == 42 && r.uss_bytes == 7 && !r.bad_items,
       "spaces and tabs around items and '='");
    rv = parse(&r, ";;;pid=42;;;;uss=1;;;");
    ok(rv == APR_SUCCESS && r.pid == 42 && r.uss_bytes == 1 && !r.bad_items,
       "repeated separators are empty items, not bad");
    rv = parse(&r, "; ; \t ;pid=8; ;");
    ok(rv == APR_SUCCESS && !r.bad_items, "blank items");
    rv = parse(&r, "");
    ok(rv == APR_EINVAL && r.bad_items == 0 && r.pid == 0, "empty header");
    rv = parse(&r, NULL);
    ok(rv == APR_EINVAL && r.pid == 0, "NULL header refused");
    rv = parse(&r, "pid=4 2");
    ok(rv == APR_EINVAL && r.bad_items == 1, "space inside a number");
    rv = parse(&r, "pid=42, uss=5");
    ok(rv == APR_EINVAL && r.bad_items == 1,
       "comma is not a separator (merged headers refused)");
    rv = parse(&r, "pid=42\r\n; uss=5");
    ok(rv == APR_EINVAL && r.pid == 0 && r.bad_items == 1,
       "CR LF is not whitespace");
    rv = parse(&r, "pid=42;\vuss=5");
    ok(rv == APR_SUCCESS && r.uss_bytes == MT_UNKNOWN && r.bad_items == 1,
       "vertical tab makes the item bad");
}

static void test_hostile(void)
{
    mt_app_report_t r;
    apr_status_t rv;
    char buf[64];
    char *big;
    int i;

    rv = parse(&r, "pid");
    ok(rv == APR_EINVAL && r.bad_items == 1, "missing '='");
    rv = parse(&r, "=");
    ok(rv == APR_EINVAL && r.bad_items == 1, "'=' only");
    rv = parse(&r, "==;=;pid==5");
    ok(rv == APR_EINVAL && r.bad_items == 3, "'==' and friends");
    rv = parse(&r, "=5;pid=6");
    ok(rv == APR_SUCCESS && r.bad_items == 1, "empty key");
    rv = parse(&r, "pid=");
    ok(rv == APR_EINVAL && r.bad_items == 1, "empty value");
    rv = parse(&r, "pid=99999999999999999999");
    ok(rv == APR_EINVAL && r.bad_items == 1, "20-digit pid");
    rv = parse(&r, "pid=3;uss=99999999999999999999");
    ok(rv == APR_SUCCESS && r.uss_bytes == MT_UNKNOWN && r.bad_items == 1,
       "20-digit number");
    rv = parse(&r, "pid=3;uss=18446744073709551616");
    ok(rv == APR_SUCCESS && r.uss_bytes == MT_UNKNOWN, "2^64");
    rv = parse(&r, "pid=3;uss=9223372036854775807");
    ok(rv == APR_SUCCESS && r.uss_bytes == MT_UNKNOWN, "INT64_MAX");
    rv = parse(&r, "pid=3;uss=9223372036854775808");
    ok(rv == APR_SUCCESS && r.uss_bytes == MT_UNKNOWN, "INT64_MAX + 1");
    rv = parse(&r, "pid=3;uss=1125899906842625");
    ok(rv == APR_SUCCESS && r.uss_bytes == MT_UNKNOWN, "2^50 + 1");
    rv = parse(&r, "pid=-5");
    ok(rv == APR_EINVAL && r.bad_items == 1, "negative pid");
    rv = parse(&r, "pid=3;uss=-1");
    ok(rv == APR_SUCCESS && r.uss_bytes == MT_UNKNOWN && r.bad_items == 1,
       "negative number");
    rv = parse(&r, "pid=+5");
    ok(rv == APR_EINVAL, "plus sign");
    rv = parse(&r, "pid=0x10");
    ok(rv == APR_EINVAL, "hex");
    rv = parse(&r, "pid=1e3");
    ok(rv == APR_EINVAL, "exponent");
    rv = parse(&r, "pid=5.0");
    ok(rv == APR_EINVAL, "decimal point");
    rv = parse(&r, "pid=x5");
    ok(rv == APR_EINVAL, "leading junk");
    rv = parse(&r, "pid=5x");
    ok(rv == APR_EINVAL, "trailing junk");
    rv = parse(&r, "pid=\xd9\xa5");
    ok(rv == APR_EINVAL, "Arabic-Indic digit five");
    rv = parse(&r, "PID=5");
    ok(rv == APR_EINVAL && r.bad_items == 1, "keys are case-sensitive");
    rv = parse(&r, "pid=5;evil=1;pidx=3;pi=4;rss=7");
    ok(rv == APR_SUCCESS && r.bad_items == 4 && others_unknown(&r, NULL),
       "unknown keys counted, near-misses too");

    /* Embedded NUL: the C string ends there, what follows is never seen. */
    memcpy(buf, "pid=42;uss=1\0uss=2;pid=99", 26);
    rv = parse(&r, buf);
    ok(rv == APR_SUCCESS && r.pid == 42 && r.uss_bytes == 1 && !r.bad_items,
       "embedded NUL ends the value");
    memcpy(buf, "pid=4\0" "2", 7);
    rv = parse(&r, buf);
    ok(rv == APR_SUCCESS && r.pid == 4, "NUL inside a number cuts it");

    rv = parse(&r, "pid=5;controller=Caf\xc3\xa9");
    ok(rv == APR_SUCCESS && !r.controller && r.bad_items == 1,
       "non-ASCII name refused");
    rv = parse(&r, "pid=5;action=\xff\xfe");
    ok(rv == APR_SUCCESS && !r.action && r.bad_items == 1, "invalid UTF-8");
    rv = parse(&r, "pid=5;action=a\x01" "b");
    ok(rv == APR_SUCCESS && !r.action, "control char in name");
    rv = parse(&r, "pid=5;action=a\x1b[31mred");
    ok(rv == APR_SUCCESS && !r.action, "terminal escape in name");
    rv = parse(&r, "pid=5;controller=\"Users\"");
    ok(rv == APR_SUCCESS && !r.controller, "double quotes in name");
    rv = parse(&r, "pid=5;controller='Users'");
    ok(rv == APR_SUCCESS && !r.controller, "single quotes in name");
    rv = parse(&r, "pid=5;controller=a\\\"b");
    ok(rv == APR_SUCCESS && !r.controller, "backslash in name");
    rv = parse(&r, "pid=5;controller=<script>");
    ok(rv == APR_SUCCESS && !r.controller, "markup in name");
    rv = parse(&r, "pid=5;controller=a b");
    ok(rv == APR_SUCCESS && !r.controller, "inner space in name");
    rv = parse(&r, "pid=5;controller=a=b");
    ok(rv == APR_SUCCESS && !r.controller, "'=' in name");
    rv = parse(&r, "pid=5;action=123");
    ok(rv == APR_SUCCESS && r.action && strcmp(r.action, "123") == 0,
       "digits-only name is a name");

    /* Duplicates: first wins, even when the first one was bad. */
    rv = parse(&r, "pid=10;pid=20;pid=30");
    ok(rv == APR_SUCCESS && r.pid == 10 && r.bad_items == 2,
       "duplicate pid: first kept, rest counted");
    rv = parse(&r, "pid=1;pid=20");
    ok(rv == APR_EINVAL && r.pid == 0 && r.bad_items == 2,
       "a bad first pid is not replaced by a later one");
    rv = parse(&r, "pid=3;action=a;action=b");
    ok(rv == APR_SUCCESS && strcmp(r.action, "a") == 0 && r.bad_items == 1,
       "duplicate name: first kept");

    /* A refused header leaves nothing usable behind. */
    rv = parse(&r, "uss=5;controller=X;action=y;v=1");
    ok(rv == APR_EINVAL && r.uss_bytes == MT_UNKNOWN && !r.controller
       && !r.action && r.version == 0 && r.bad_items == 0,
       "no pid: every field cleared");

    /* 10 KB: refused before it is read. */
    big = apr_palloc(pool, 10241);
    memset(big, 'a', 10240);
    memcpy(big, "pid=5;", 6);
    big[10240] = '\0';
    rv = parse(&r, big);
    ok(rv == APR_EINVAL && r.pid == 0 && r.bad_items == 0,
       "10 KB refused whole");

    /* 1000 items: over the limit with 4-byte items, fits with 2-byte ones. */
    big = apr_palloc(pool, 5000);
    big[0] = '\0';
    strcpy(big, "pid=6");
    for (i = 0; i < 1000; i++)
        strcat(big, ";x=");
    rv = parse(&r, big);
    ok(rv == APR_EINVAL && r.refused && strcmp(r.refused, "header too long")
       == 0, "1000 items of 3 bytes: too long");
    strcpy(big, "pid=6");
    for (i = 0; i < 1000; i++)
        strcat(big, ";x");
    rv = parse(&r, big);
    ok(rv == APR_SUCCESS && r.pid == 6 && r.bad_items == 1000,
       "1000 bad items: each counted, pid kept");
    strcpy(big, "pid=6");
    for (i = 0; i < 1000; i++)
        strcat(big, ";");
    rv = parse(&r, big);
    ok(rv == APR_SUCCESS && r.bad_items == 0, "1000 empty items");
    strcpy(big, "");
    for (i = 0; i < 400; i++)
        strcat(big, "pid=");
    rv = parse(&r, big);
    ok(rv == APR_EINVAL && r.bad_items == 1, "pid=pid=pid=... is one bad item");
}

/* ---- a second, naive implementation of the rules, for comparison ---- */

static int ref_num(const char *v, apr_int64_t max, apr_int64_t *out);

/* A num_keys value by its kind. */
static int ref_kind(const char *v, num_kind_t kind, apr_int64_t *out)
{
    if (kind == SIGNED && v[0] == '-') {
        if (!ref_num(v + 1, MT_PROTO_MAX_NUM, out) || *out == 0)
            return 0;
        *out = -*out;
        return 1;
    }
    return ref_num(v, MT_PROTO_MAX_NUM, out) && *out >= min_of(kind);
}

static int ref_num(const char *v, apr_int64_t max, apr_int64_t *out)
{
    size_t n = strlen(v);
    const char *d = v;
    if (n == 0 || strspn(v, "0123456789") != n)
        return 0;
    while (d[0] == '0' && d[1])     /* leading zeros */
        d++;
    if (strlen(d) > 18)
        return 0;
    *out = strtoll(d, NULL, 10);
    return *out <= max;
}

static char *ref_trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

/* Returns the expected status and fills *exp like the parser should. */
static apr_status_t ref_parse(mt_app_report_t *exp, const char *value)
{
    static const char *const names[] = { "v", "pid", "controller", "action" };
    char seen[64][16];
    int nseen = 0, i;
    char *copy, *item, *next;

    mt_proto_clear(exp);
    if (strlen(value) > MT_PROTO_MAX_LEN)
        return APR_EINVAL;
    copy = apr_pstrdup(pool, value);
    for (item = copy; item; item = next) {
        char *eq, *key, *val;
        int dup = 0, known = 0;
        size_t k;
        apr_int64_t n;

        next = strchr(item, ';');
        if (next)
            *next++ = '\0';
        item = ref_trim(item);
        if (!*item)
            continue;
        eq = strchr(item, '=');
        if (!eq) { exp->bad_items++; continue; }
        *eq = '\0';
        key = ref_trim(item);
        val = ref_trim(eq + 1);
        for (k = 0; k < N_NUM_KEYS; k++)
            known |= strcmp(key, num_keys[k].key) == 0;
        for (k = 0; k < 4; k++)
            known |= strcmp(key, names[k]) == 0;
        if (!known) { exp->bad_items++; continue; }
        for (i = 0; i < nseen; i++)
            dup |= strcmp(seen[i], key) == 0;
        if (dup) { exp->bad_items++; continue; }
        strcpy(seen[nseen++], key);
        if (!strcmp(key, "v")) {
            if (ref_num(val, 1, &n) && n == 1) exp->version = 1;
            else exp->bad_items++;
        } else if (!strcmp(key, "pid")) {
            if (ref_num(val, 4194304, &n) && n >= 2) exp->pid = (int)n;
            else exp->bad_items++;
        } else if (!strcmp(key, "controller") || !strcmp(key, "action")) {
            size_t len = strlen(val);
            const char *cs = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                             "WXYZ0123456789_:/.#-";
            if (len >= 1 && len <= 128 && strspn(val, cs) == len)
                *(key[0] == 'c' ? &exp->controller : &exp->action) = val;
            else
                exp->bad_items++;
        } else {
            for (k = 0; k < N_NUM_KEYS; k++)
                if (!strcmp(key, num_keys[k].key))
                    break;
            if (ref_kind(val, num_keys[k].kind, &n)) *num_keys[k].field(exp) = n;
            else exp->bad_items++;
        }
    }
    for (i = 0; i < nseen; i++)
        if (!strcmp(seen[i], "v") && exp->version != 1)
            return APR_EINVAL;      /* a v other than 1 refuses */
    return exp->pid ? APR_SUCCESS : APR_EINVAL;
}

static int same_str(const char *a, const char *b)
{
    return (a && b) ? strcmp(a, b) == 0 : a == b;
}

/* Compare everything; return a description of the first difference. */
static const char *diff(mt_app_report_t *got, apr_status_t rv_got,
                        mt_app_report_t *exp, apr_status_t rv_exp)
{
    size_t i;
    if (rv_got != rv_exp) return "status";
    if (got->bad_items != exp->bad_items) return "bad_items";
    if (rv_exp != APR_SUCCESS)          /* refused: all cleared */
        return (got->pid || got->version || !others_unknown(got, NULL)
                || got->controller || got->action || !got->refused)
               ? "refused but not cleared" : NULL;
    if (got->refused) return "refused set on success";
    if (got->pid != exp->pid) return "pid";
    if (got->version != exp->version) return "version";
    for (i = 0; i < N_NUM_KEYS; i++)
        if (*num_keys[i].field(got) != *num_keys[i].field(exp))
            return num_keys[i].key;
    if (!same_str(got->controller, exp->controller)) return "controller";
    if (!same_str(got->action, exp->action)) return "action";
    return NULL;
}

/* Invariants that hold whatever the input. */
static const char *invariants(mt_app_report_t *r, apr_status_t rv,
                              const char *input)
{
    size_t i, semis = 0;
    const char *c;
    for (c = input; *c; c++)
        semis += *c == ';';
    if (rv != APR_SUCCESS && rv != APR_EINVAL) return "status";
    if ((rv == APR_SUCCESS) != (r->pid != 0)) return "pid vs status";
    if (r->pid && (r->pid < 2 || r->pid > 4194304)) return "pid range";
    if (r->version != 0 && r->version != 1) return "version";
    if (r->bad_items < 0 || (size_t)r->bad_items > semis + 1) return "bad count";
    for (i = 0; i < N_NUM_KEYS; i++) {
        apr_int64_t n = *num_keys[i].field(r);
        num_kind_t kind = num_keys[i].kind;
        if (n != absent_of(kind) && (n < min_of(kind) || n > MT_PROTO_MAX_NUM))
            return "range";
    }
    if (r->controller && (strlen(r->controller) < 1
                          || strlen(r->controller) > MT_PROTO_MAX_NAME))
        return "controller length";
    if (r->action && (strlen(r->action) < 1
                      || strlen(r->action) > MT_PROTO_MAX_NAME))
        return "action length";
    return NULL;
}

/* ---- mutational loop ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static const char *const seeds[] = {
    "v=1; pid=4242; rss_before=123; rss_after=456",
    "pid=77;gc_before=1;gc_after=2;minor_before=3;minor_after=4",
    "pid=9; controller=UsersController; action=index; qc_before=0; qc_after=3",
    "pid=2;uss=1125899906842624;pss=999;live_before=5;live_after=6",
    "old_before=1;old_after=2;alloc_before=3;alloc_after=4;freed_before=5;"
        "freed_after=6;major_before=7;major_after=8;pid=4194304",
    " ; pid = 31 ;; action = a/b#c ; v = 1 ",
    "v=1; pid=77; probe=12; probe_done=11; probe_bytes=-51200; "
        "probe_objects=10001; probe_us=4321",
};

static const char *const tokens[] = {
    ";", "=", " ", "\t", "pid", "v", "uss", "controller", "action", "0", "1",
    "9", "4194304", "4194305", "1125899906842624", "1125899906842625",
    "99999999999999999999", "-", "+", "0x", "\xc3\xa9", "\xff", "\x01", "\"",
    "#", "/", ":", "rss_after", "qc_after", "==", ";;", "\r\n", "\v",
    "probe", "probe_done", "probe_bytes", "probe_objects", "probe_us", "-0",
    "-1125899906842624", "-1125899906842625", "--",
};

/* One random edit of buf (NUL-terminated, capacity cap). */
static void mutate(char *buf, size_t cap)
{
    size_t len = strlen(buf), pos = len ? rnd() % (len + 1) : 0, n;
    const char *tok;
    char byte[2];

    switch (rnd() % 6) {
    case 0:                                      /* delete a run */
        if (len) {
            n = 1 + rnd() % 8;
            if (pos + n > len) n = len - pos;
            memmove(buf + pos, buf + pos + n, len - pos - n + 1);
        }
        return;
    case 1:                                      /* overwrite a byte */
        if (pos < len && (buf[pos] = (char)(rnd() % 255 + 1)) != 0)
            return;
        return;
    case 2: case 3:                              /* insert a token */
        tok = tokens[rnd() % (sizeof(tokens) / sizeof(tokens[0]))];
        break;
    case 4:                                      /* insert a random byte */
        byte[0] = (char)(rnd() % 255 + 1);
        byte[1] = '\0';
        tok = byte;
        break;
    default:                                     /* duplicate a chunk */
        if (!len) return;
        n = 1 + rnd() % (len < 64 ? len : 64);
        if (pos + n > len) pos = len - n;
        if (len + n + 1 > cap) return;
        memmove(buf + len, buf + pos, n);        /* append the copy */
        buf[len + n] = '\0';
        return;
    }
    n = strlen(tok);
    if (len + n + 1 > cap)
        return;
    memmove(buf + pos + n, buf + pos, len - pos + 1);
    memcpy(buf + pos, tok, n);
}

static void test_mutations(long iterations)
{
    /* Room beyond the length limit, so refusals happen too. */
    enum { CAP = MT_PROTO_MAX_LEN + 512 };
    static char buf[CAP];
    apr_pool_t *sub;
    long i, failures = 0, accepted = 0, refused = 0;
    const char *why = NULL;

    rng_state = 0x9e3779b97f4a7c15ULL;
    apr_pool_create(&sub, pool);
    for (i = 0; i < iterations && failures < 5; i++) {
        mt_app_report_t got, exp;
        apr_status_t rv_got, rv_exp;
        int edits, e;

        if (i % 64 == 0 || rnd() % 4 == 0)
            strcpy(buf, seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))]);
        edits = 1 + (int)(rnd() % 4);
        for (e = 0; e < edits; e++)
            mutate(buf, CAP);
        rv_got = mt_proto_parse(&got, buf, sub);
        why = invariants(&got, rv_got, buf);
        if (!why) {
            apr_pool_t *saved = pool;
            pool = sub;
            rv_exp = ref_parse(&exp, buf);
            pool = saved;
            why = diff(&got, rv_got, &exp, rv_exp);
        }
        if (why) {
            failures++;
            printf("# iteration %ld: %s on input '%s'\n", i, why, buf);
        }
        if (rv_got == APR_SUCCESS) accepted++; else refused++;
        apr_pool_clear(sub);
    }
    ok(failures == 0, "%ld mutated inputs: invariants hold and the reference "
       "parser agrees (%ld accepted, %ld refused)", i, accepted, refused);
    ok(accepted > iterations / 20 && refused > iterations / 20,
       "the mutations reach both outcomes");
    apr_pool_destroy(sub);
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 300000;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_clear();
    test_every_key();
    test_key_order();
    test_boundaries();
    test_probe_keys();
    test_heap_keys();
    test_separators_and_space();
    test_hostile();
    test_mutations(iterations);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
