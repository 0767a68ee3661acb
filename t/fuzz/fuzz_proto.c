/* libFuzzer harness for mt_proto_parse (the X-MemTrack header parser).
 *
 * Build and run (clang and Debian's libclang-rt-14-dev):
 *   make fuzz                  # builds build/fuzz/fuzz_proto
 *   build/fuzz/fuzz_proto -dict=t/fuzz/proto.dict -max_total_time=300 \
 *       build/fuzz/corpus t/fuzz/corpus_proto
 *
 * Checks, beyond "no crash" under ASan and UBSan: the invariants of a parsed
 * report (ranges, name charset and length, status agrees with pid), and a
 * round trip: the report written back as a canonical header parses to the
 * same report with no bad items.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "mt_proto.h"

static apr_pool_t *pool;

#define CHECK(c) do { if (!(c)) { \
        fprintf(stderr, "invariant failed: %s\n", #c); abort(); } } while (0)

static int name_ok(const char *s)
{
    size_t n;
    if (s == NULL)
        return 1;
    n = strlen(s);
    return n >= 1 && n <= MT_PROTO_MAX_NAME
        && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_:/.#-") == n;
}

static int num_ok(apr_int64_t v)
{
    return v == MT_UNKNOWN || (v >= 0 && v <= MT_PROTO_MAX_NUM);
}

#define N_NUMS 25

static const apr_int64_t *nums(const mt_app_report_t *r, int i)
{
    const apr_int64_t *all[N_NUMS] = {
        &r->rss_before, &r->rss_after, &r->uss_bytes, &r->pss_bytes,
        &r->qc_before, &r->qc_after,
        &r->gc_before.count, &r->gc_before.minor, &r->gc_before.major,
        &r->gc_before.live_slots, &r->gc_before.old_objects,
        &r->gc_before.allocated, &r->gc_before.freed,
        &r->gc_after.count, &r->gc_after.minor, &r->gc_after.major,
        &r->gc_after.live_slots, &r->gc_after.old_objects,
        &r->gc_after.allocated, &r->gc_after.freed, &r->probe_us,
        &r->probe_token, &r->probe_done, &r->probe_bytes, &r->probe_objects,
    };
    return i < N_NUMS ? all[i] : NULL;
}

/* Index 21, 22: probe tokens (0 absent); 23, 24: signed values. */
static apr_int64_t absent(int i)
{
    return i < 21 ? MT_UNKNOWN : i < 23 ? 0 : MT_PROTO_NO_SIGNED;
}

static int value_ok(int i, apr_int64_t v)
{
    if (v == absent(i))
        return 1;
    if (i < 21)
        return num_ok(v);
    if (i < 23)
        return v >= 1 && v <= MT_PROTO_MAX_NUM;
    return v >= -MT_PROTO_MAX_NUM && v <= MT_PROTO_MAX_NUM;
}

static const char *const num_names[] = {
    "rss_before", "rss_after", "uss", "pss", "qc_before", "qc_after",
    "gc_before", "minor_before", "major_before", "live_before", "old_before",
    "alloc_before", "freed_before", "gc_after", "minor_after", "major_after",
    "live_after", "old_after", "alloc_after", "freed_after", "probe_us",
    "probe", "probe_done", "probe_bytes", "probe_objects",
};

/* The report as a canonical header, or NULL when it would be too long. */
static const char *canonical(const mt_app_report_t *r, apr_pool_t *p)
{
    const char *h = apr_psprintf(p, "pid=%d", r->pid);
    int i;
    if (r->version)
        h = apr_psprintf(p, "%s; v=%d", h, r->version);
    for (i = 0; i < N_NUMS; i++) {
        if (*nums(r, i) != absent(i))
            h = apr_psprintf(p, "%s; %s=%" APR_INT64_T_FMT, h, num_names[i],
                             *nums(r, i));
    }
    if (r->controller)
        h = apr_pstrcat(p, h, "; controller=", r->controller, NULL);
    if (r->action)
        h = apr_pstrcat(p, h, "; action=", r->action, NULL);
    return strlen(h) <= MT_PROTO_MAX_LEN ? h : NULL;
}

static int count_semis(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == ';';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mt_app_report_t rep, again;
    apr_pool_t *p;
    apr_status_t rv;
    const char *h;
    char *value;
    int i;

    if (pool == NULL) {
        apr_initialize();
        apr_pool_create(&pool, NULL);
    }
    apr_pool_create(&p, pool);
    value = apr_palloc(p, size + 1);
    memcpy(value, data, size);
    value[size] = '\0';

    rv = mt_proto_parse(&rep, value, p);
    CHECK(rv == APR_SUCCESS || rv == APR_EINVAL);
    CHECK((rv == APR_SUCCESS) == (rep.pid != 0));
    CHECK((rv == APR_SUCCESS) == (rep.refused == NULL));
    CHECK(rep.pid == 0 || (rep.pid >= 2 && rep.pid <= 4194304));
    CHECK(rep.version == 0 || rep.version == 1);
    CHECK(rep.bad_items >= 0 && rep.bad_items <= count_semis(value) + 1);
    CHECK(name_ok(rep.controller) && name_ok(rep.action));
    for (i = 0; i < N_NUMS; i++)
        CHECK(value_ok(i, *nums(&rep, i)));
    if (rv == APR_SUCCESS && (h = canonical(&rep, p)) != NULL) {
        CHECK(mt_proto_parse(&again, h, p) == APR_SUCCESS);
        CHECK(again.bad_items == 0 && again.pid == rep.pid
              && again.version == rep.version);
        for (i = 0; i < N_NUMS; i++)
            CHECK(*nums(&again, i) == *nums(&rep, i));
        CHECK((!rep.controller && !again.controller)
              || (rep.controller && again.controller
                  && !strcmp(rep.controller, again.controller)));
        CHECK((!rep.action && !again.action)
              || (rep.action && again.action
                  && !strcmp(rep.action, again.action)));
    }
    apr_pool_destroy(p);
    return 0;
}
