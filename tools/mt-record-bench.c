/* mt-record-bench: what one record costs to write (src/mt_record.c), and
 * the record's fields as the writer knows them.
 *
 *   build/mt-record-bench [RECORDS]   write RECORDS typical records (default
 *                                     100000), print the wall time per record
 *   build/mt-record-bench --fields    the record's fields in record order,
 *                                     "name<TAB>json type<TAB>cap", then the
 *                                     keys of gc_stats_* as "gc<TAB>key"
 *
 * Instructions per record (deterministic, unlike the wall time) come from
 * callgrind counting only mt_record_to_json: `make record-cost`
 * (tools/record-cost.sh). The records cycle through four typical requests:
 * a static file (target self), a Rack request answered by the companion, a
 * Rails request with controller, action and endpoint, and a 404 with a
 * query string. Each record is written into a pool cleared after it, as a
 * request pool is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "mt_record.h"

static mt_app_report_t rack_app, rails_app;

static void typical_app(mt_app_report_t *app, int rails)
{
    mt_proto_clear(app);
    app->version = 1;
    app->pid = 31337;
    app->rss_before = 71303168;
    app->rss_after = rails ? 71827456 : 71303168;
    app->gc_before.count = rails ? 412 : 39;
    app->gc_before.minor = rails ? 398 : 35;
    app->gc_before.major = rails ? 14 : 4;
    app->gc_before.live_slots = rails ? 612873 : 48211;
    app->gc_before.old_objects = rails ? 540112 : 39870;
    app->gc_before.allocated = rails ? 93811234 : 1204533;
    app->gc_before.freed = rails ? 93198361 : 1156322;
    app->gc_after = app->gc_before;
    app->gc_after.live_slots += rails ? 1873 : 12;
    app->gc_after.allocated += rails ? 21544 : 61;
    app->gc_after.freed += rails ? 19671 : 49;
    if (rails) {
        app->qc_before = 0;
        app->qc_after = 3;
        app->controller = "ItemsController";
        app->action = "index";
    }
}

static void typical(mt_record_t *rec, unsigned i)
{
    static const char *const urls[4] = {
        "/static.txt", "/hello", "/items?page=2",
        "/search?q=caf%C3%A9&page=3&sort=desc",
    };
    unsigned kind = i % 4;

    memset(rec, 0, sizeof(*rec));
    mt_sample_clear(&rec->before);
    mt_sample_clear(&rec->after);
    rec->request_id = "Xq3kV9aQq0C2Wm1bT8s4rA";
    rec->time = (apr_time_t)1795320523123456LL + (apr_time_t)i * 731;
    rec->host = "app.example.com";
    rec->method = "GET";
    rec->url = urls[kind];
    rec->status = kind == 3 ? 404 : 200;
    rec->target = kind == 1 || kind == 2 ? MT_TARGET_BACKEND : MT_TARGET_SELF;
    rec->pid = kind == 1 || kind == 2 ? 31337 : 8503;
    rec->before_source = kind == 1 || kind == 2 ? MT_BEFORE_APP
                                                : MT_BEFORE_MODULE;
    rec->before.rss_bytes = kind == 2 ? 71303168 : 10485760;
    rec->after.rss_bytes = rec->before.rss_bytes + (kind == 2 ? 524288 : 0);
    rec->after.rss_anon_bytes = rec->after.rss_bytes - 6291456;
    rec->after.shared_bytes = 6291456;
    rec->app = kind == 1 ? &rack_app : kind == 2 ? &rails_app : NULL;
    rec->endpoint = kind == 2 ? "ItemsController#index" : NULL;
    rec->attribution = kind == 1 || kind == 2 ? "header" : "self";
    rec->fds = -1;
    rec->request_time = (double)(kind == 2 ? 3187 : 112 + i % 7) / 1e6;
    rec->threshold_bytes = 20 * 1024 * 1024;
    rec->overhead_us = 3 + i % 5;
    rec->server = "web-01.example.com";
    rec->httpd_pid = 8503;
}

static int print_fields(void)
{
    int i;

    for (i = 0; i < mt_record_field_count; i++) {
        printf("%s\t%s\t%lu\n", mt_record_fields[i].name,
               mt_record_fields[i].json_type,
               (unsigned long)mt_record_fields[i].cap);
    }
    for (i = 0; i < mt_record_gc_key_count; i++) {
        printf("gc\t%s\n", mt_record_gc_keys[i]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    long n = 100000, i;
    apr_pool_t *p;
    struct timespec t0, t1;
    size_t bytes = 0;

    if (argc > 1 && strcmp(argv[1], "--fields") == 0) {
        return print_fields();
    }
    if (argc > 1 && (n = strtol(argv[1], NULL, 10)) <= 0) {
        fprintf(stderr, "usage: %s [RECORDS] | --fields\n", argv[0]);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    typical_app(&rack_app, 0);
    typical_app(&rails_app, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        mt_record_t rec;
        char *line;
        apr_size_t len;

        typical(&rec, (unsigned)i);
        if (mt_record_to_json(&line, &len, &rec, 4096, p) != APR_SUCCESS) {
            fprintf(stderr, "record %ld not written\n", i);
            return 1;
        }
        bytes += len;
        apr_pool_clear(p);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%ld records, %.0f bytes each, %.0f ns per record (wall clock)\n",
           n, (double)bytes / (double)n,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9
            + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n);
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
