/* mt-status-bench: how long the status page takes to make, without httpd.
 *
 *   build/mt-status-bench [ROUNDS [OUTDIR]]
 *
 * Fills a real mt_state (the module's shared-state layout, in this
 * process's memory) through mt_analysis_note with a synthetic traffic of
 * 256 endpoints on 64 app processes, long enough for every process to have
 * a full history and peak blames and for the endpoints to have probe
 * results (four leak, some fill once, the rest keep nothing). Then, ROUNDS
 * times (default 50), builds the analysis report (mt_analysis_report, the
 * handler's first step) and renders it as HTML, JSON and Prometheus text,
 * and prints the median and the slowest time of each, and the sizes. With
 * OUTDIR it also writes status.html, status.json and status.prom there, to
 * look at. Not a throughput benchmark: one thread, a few hundred ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "mt_analysis.h"
#include "mt_status.h"
#include "mt_util.h"
#include "mt_version.h"

#define N_EPS      256
#define N_PROCS    64
#define PER_PROC   600       /* requests per process */
#define PROBE_EVERY 5        /* a process's every 5th request is probed */
#define MAX_ROUNDS 1000

/* What an endpoint keeps: a leak per request, or once per process. */
static double kept_by(int ep, int first_call)
{
    if (ep < 4) return 24576.0 * (ep + 1);            /* 24 to 96 KiB */
    if (ep < 24) return first_call ? 2.0 * 1048576 : 0; /* a fill */
    return 0;
}

static void ep_name(char *out, size_t n, int ep)
{
    static const char *const verbs[] = { "GET", "POST", "PUT", "DELETE" };

    if (ep % 3 == 0) {
        snprintf(out, n, "Api::V2::Resource%03dController#index", ep);
    }
    else {
        snprintf(out, n, "%s /api/v2/accounts/:id/resources-%03d/:id/items",
                 verbs[ep % 4], ep);
    }
}

typedef struct proc_t {
    double       rss;
    apr_uint64_t token;          /* probe running */
    double       probe_kept;
    unsigned char seen[N_EPS];
} proc_t;

static void one_request(mt_state_t *st, proc_t *pr, int p, long r,
                        apr_time_t now)
{
    /* in the first 16 processes, one request in ten goes to a leaking
     * endpoint (and is probed) */
    int ep = r % 10 == 0 && p < 16 ? p % 4
                                   : (int)((r * 7919 + p * 104729) % N_EPS);
    char name[MT_EP_NAME_MAX + 1], id[40];
    double kept = kept_by(ep, !pr->seen[ep]);
    mt_note_t in;

    ep_name(name, sizeof(name), ep);
    snprintf(id, sizeof(id), "req-%02d-%06ld", p, r);
    mt_note_clear(&in);
    in.endpoint = name;
    in.request_id = id;
    in.pid = 20000 + p;
    in.start_ticks = 1000 + (apr_uint64_t)p;
    in.kind = MT_STATE_KIND_BACKEND;
    in.exclusive = in.before_own = in.app_reported = in.probeable = 1;
    in.rss_before = (apr_int64_t)pr->rss;
    pr->rss += kept + (double)((r * 31 + p) % 7) * 4096.0;
    in.rss_after = (apr_int64_t)pr->rss;
    in.alloc_objects = 2000 + ep * 10;
    in.duration_us = 5000;
    in.now = now;
    if (pr->token) {
        in.probe_done = pr->token;
        in.probe_bytes = (apr_int64_t)pr->probe_kept + (r % 5) * 64;
        in.probe_objects = 10;
        in.probe_us = 20000;
        pr->token = 0;
    }
    else if (r % PROBE_EVERY == 0) {
        in.probe_started = pr->token = (apr_uint64_t)(p + 1) * 1000000 + (apr_uint64_t)r;
        pr->probe_kept = kept;
    }
    pr->seen[ep] = 1;
    mt_analysis_note(st, &in, NULL);
}

static apr_time_t fill(mt_state_t *st, apr_pool_t *pool)
{
    proc_t *procs = apr_pcalloc(pool, N_PROCS * sizeof(*procs));
    apr_time_t now = apr_time_now() - apr_time_from_sec(3 * 3600);
    long r;
    int p;

    for (p = 0; p < N_PROCS; p++) {
        procs[p].rss = 80.0 * 1048576 + p * 1048576.0;
    }
    for (r = 0; r < PER_PROC; r++) {
        for (p = 0; p < N_PROCS; p++) {
            now += 250000;      /* 4 requests a second over the pool */
            one_request(st, &procs[p], p, r, now);
        }
    }
    return now;
}

static int cmp_time(const void *a, const void *b)
{
    apr_time_t x = *(const apr_time_t *)a, y = *(const apr_time_t *)b;

    return x < y ? -1 : x > y;
}

static void print_times(const char *what, apr_time_t *t, int n, size_t bytes)
{
    qsort(t, (size_t)n, sizeof(*t), cmp_time);
    printf("%-12s median %7.3f ms  slowest %7.3f ms  %8zu bytes\n", what,
           (double)t[n / 2] / 1000.0, (double)t[n - 1] / 1000.0, bytes);
}

static void write_file(const char *dir, const char *name, const mt_buf_t *b)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "w")) == NULL) {
        perror(path);
        return;
    }
    fwrite(b->data, 1, b->len, f);
    fclose(f);
}

static void info_of(mt_status_info_t *info, apr_time_t now)
{
    static const mt_status_sink_t sinks[] = {
        { "MemTrackLog /var/log/apache2/memtrack.jsonl", "log", 153600, 0 },
        { "redis 127.0.0.1:6379", "redis", 153210, 390 },
    };

    memset(info, 0, sizeof(*info));
    info->version = MEMTRACK_VERSION;
    info->server = "bench.example.com";
    info->generated = now;
    info->sinks = sinks;
    info->n_sinks = 2;
}

int main(int argc, char **argv)
{
    static const char *const files[] = { "status.html", "status.json",
                                         "status.prom" };
    static const char *const names[] = { "html", "json", "prometheus" };
    static apr_time_t times[4][MAX_ROUNDS];
    int rounds = argc > 1 ? atoi(argv[1]) : 50, i, f;
    size_t sizes[4] = { 0 };
    apr_pool_t *pool, *scratch;
    mt_state_params_t params;
    mt_status_info_t info;
    mt_state_t st;
    apr_time_t now;
    void *mem;

    if (rounds < 1 || rounds > MAX_ROUNDS) rounds = 50;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    apr_pool_create(&scratch, pool);
    mt_state_params_default(&params);
    mem = apr_pcalloc(pool, mt_state_bytes(&params));
    mt_state_init(&st, mem, &params, apr_time_now() - apr_time_from_sec(4 * 3600),
                  NULL);
    now = fill(&st, pool);
    info_of(&info, now);
    for (i = 0; i < rounds; i++) {
        mt_an_report_t *rep;
        apr_time_t t0 = mt_mono_now();
        mt_buf_t b;

        mt_analysis_report(&rep, &st, now, scratch);
        times[0][i] = mt_mono_now() - t0;
        for (f = 0; f < 3; f++) {
            mt_buf_init(&b, 64 * 1024, scratch);
            t0 = mt_mono_now();
            mt_status_render(&b, (mt_status_form_e)f, rep, &info);
            times[f + 1][i] = mt_mono_now() - t0;
            sizes[f + 1] = b.len;
            if (argc > 2 && i == 0) write_file(argv[2], files[f], &b);
        }
        if (i == 0) {
            printf("report: %u endpoints, %u processes, %u history points in "
                   "the first\n", rep->n_eps, rep->n_procs,
                   rep->n_procs ? rep->procs[0].hist_n : 0);
        }
        apr_pool_clear(scratch);
    }
    printf("%d rounds\n", rounds);
    print_times("report", times[0], rounds, 0);
    for (f = 0; f < 3; f++) {
        print_times(names[f], times[f + 1], rounds, sizes[f + 1]);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
