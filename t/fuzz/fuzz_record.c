/* libFuzzer harness for mt_record_to_json (the record writer).
 *
 * Build and run (clang and Debian's libclang-rt-14-dev):
 *   make fuzz                  # builds build/fuzz/fuzz_record
 *   build/fuzz/fuzz_record -dict=t/fuzz/record.dict -max_total_time=300 \
 *       build/fuzz/corpus_record
 *
 * The input is a record: its first 8 * MT_FUZZ_NUMS bytes are the numbers
 * (missing bytes are 0), the first of them also picks the line limit
 * (mostly PIPE_BUF, else 64 to 4095 bytes), and the rest are the strings,
 * separated by NUL bytes (a C string cannot hold one), in the order of
 * strs[] below; a string that is not there is NULL. Checks, beyond "no
 * crash" under ASan and UBSan: with PIPE_BUF every record is written, and
 * every line written is what t/unit/mt_record_check.h says it must be
 * (read back with json-c: every string the clean text or a cut of it, every
 * number exact, the limit, the order of cuts).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "mt_record.h"
#include "mt_record_check.h"

#define MT_FUZZ_NUMS 34
#define MT_FUZZ_STRS 11

static apr_pool_t *pool;

#define CHECK(c, why) do { if (!(c)) { \
        fprintf(stderr, "invariant failed: %s: %s\n", #c, (why)); \
        abort(); } } while (0)

/* Resident sizes within +-2^62, so that their difference is defined. */
static apr_int64_t size_of(apr_int64_t v)
{
    return v == MT_UNKNOWN ? v : v / 2;
}

static void numbers(mt_record_t *rec, mt_app_report_t *app,
                    const apr_int64_t *n)
{
    apr_int64_t *gc[14] = {
        &app->gc_before.count, &app->gc_before.minor, &app->gc_before.major,
        &app->gc_before.live_slots, &app->gc_before.old_objects,
        &app->gc_before.allocated, &app->gc_before.freed,
        &app->gc_after.count, &app->gc_after.minor, &app->gc_after.major,
        &app->gc_after.live_slots, &app->gc_after.old_objects,
        &app->gc_after.allocated, &app->gc_after.freed,
    };
    int i;

    rec->time = n[1];
    memcpy(&rec->request_time, &n[2], sizeof(double));
    rec->status = (int)n[3];
    rec->pid = (int)n[4];
    rec->httpd_pid = (int)n[5];
    rec->fds = (int)n[6];
    rec->before.rss_bytes = size_of(n[7]);
    rec->after.rss_bytes = size_of(n[8]);
    rec->after.rss_anon_bytes = n[9];
    rec->after.shared_bytes = n[10];
    rec->after.swap_bytes = n[11];
    rec->after.peak_rss_bytes = n[12];
    rec->threshold_bytes = n[13];
    rec->overhead_us = n[14];
    for (i = 0; i < 14; i++) *gc[i] = n[15 + i];
    app->qc_before = n[29];
    app->qc_after = n[30];
    app->uss_bytes = n[31];
    app->pss_bytes = n[32];
    rec->app = n[33] & 1 ? app : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_int64_t n[MT_FUZZ_NUMS] = { 0 };
    const char *strs[MT_FUZZ_STRS] = { NULL };
    mt_record_t rec;
    mt_app_report_t app;
    apr_pool_t *p;
    apr_size_t head = sizeof(n) < size ? sizeof(n) : size, max_len, len;
    apr_status_t rv;
    char *text, *line;
    const char *why;
    size_t at, k = 0;

    if (pool == NULL) {
        apr_initialize();
        apr_pool_create(&pool, NULL);
    }
    apr_pool_create(&p, pool);
    memcpy(n, data, head);
    max_len = (n[0] & 0xff) < 192 ? 4096 : 64 + (apr_size_t)(n[0] >> 8) % 4032;
    /* the strings: NUL-separated, each its own allocation (ASan sees
     * every read past one) */
    text = apr_palloc(p, size - head + 1);
    memcpy(text, data + head, size - head);
    text[size - head] = '\0';
    for (at = 0; head < size && k < MT_FUZZ_STRS && at <= size - head; k++) {
        strs[k] = apr_pstrdup(p, text + at);
        at += strlen(text + at) + 1;
    }
    memset(&rec, 0, sizeof(rec));
    mt_proto_clear(&app);
    mt_sample_clear(&rec.before);
    mt_sample_clear(&rec.after);
    numbers(&rec, &app, n);
    rec.request_id = strs[0];
    rec.host = strs[1];
    rec.method = strs[2];
    rec.url = strs[3];
    rec.endpoint = strs[4];
    app.controller = strs[5];
    app.action = strs[6];
    rec.target = strs[7];
    rec.before_source = strs[8];
    rec.attribution = strs[9];
    rec.server = strs[10];

    rv = mt_record_to_json(&line, &len, &rec, max_len, p);
    CHECK(rv == APR_SUCCESS || (rv == APR_ENOSPC && max_len < 4096),
          "not written");
    if (rv == APR_SUCCESS) {
        why = mt_check_record(&rec, line, len, max_len, p);
        CHECK(why == NULL, why);
    }
    apr_pool_destroy(p);
    return 0;
}
