/* mt-report-gen: a realistic record log for memtrack-report's bench and
 * tests, written by the module's own record writer (mt_record_to_json).
 *
 *   build/mt-report-gen [RECORDS [SERVERS [SEED]]] > log.jsonl
 *
 * SERVERS web servers (default 3, named web-1 ...), each with two httpd
 * children of the event MPM (static files, target self, not exclusive)
 * and four Passenger app processes (Rails-like requests with the
 * companion's GC figures, target backend, exclusive), behind one load
 * balancer: requests go round the servers. 40 endpoints, a Zipf-like mix;
 * on web-2 `LeakyController#create` keeps 40 KB a request (its process
 * grows, and its probes say so), elsewhere nothing leaks. About 1 request
 * in 50 of an app process is probed; its result comes with that process's
 * next request, as the companion sends it. App processes are replaced now
 * and then (a new pid and start time), as Passenger does. Times advance by
 * about a millisecond a record from a fixed start, so the output is the
 * same for the same arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "mt_record.h"

#define GEN_HTTPD   2
#define GEN_APPS    4
#define GEN_EPS     40
#define GEN_LEAK    (40 * 1000)
#define GEN_REPLACE 400000          /* records of a server between replacements */

typedef struct gproc_t {
    int          pid;
    apr_uint64_t start;
    apr_int64_t  rss;
    apr_int64_t  gc, live, alloc, freed, old;
    apr_uint64_t probe;             /* a probe in flight */
    int          probe_leaky;
    apr_int64_t  requests;
} gproc_t;

typedef struct gsrv_t {
    char    name[32];
    gproc_t httpd[GEN_HTTPD];
    gproc_t app[GEN_APPS];
    long    records;
} gsrv_t;

static apr_uint64_t rng = 88172645463325252ULL;

static apr_uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static const char *const controllers[8] = {
    "ItemsController", "UsersController", "OrdersController",
    "SearchController", "SessionsController", "ReportsController",
    "Api::V1::ProductsController", "LeakyController"
};
static const char *const actions[5] = { "index", "show", "create", "update",
                                        "destroy" };

static void proc_new(gproc_t *g, int pid, apr_uint64_t start, apr_int64_t rss)
{
    memset(g, 0, sizeof(*g));
    g->pid = pid;
    g->start = start;
    g->rss = rss;
    g->gc = 30;
    g->live = 150000;
    g->alloc = 2000000;
    g->freed = 1850000;
    g->old = 120000;
}

static void servers_init(gsrv_t *s, int n)
{
    int i, k;

    for (i = 0; i < n; i++) {
        snprintf(s[i].name, sizeof(s[i].name), "web-%d", i + 1);
        for (k = 0; k < GEN_HTTPD; k++) {
            proc_new(&s[i].httpd[k], 2000 + k, 1000 + (apr_uint64_t)k,
                     12 << 20);
        }
        for (k = 0; k < GEN_APPS; k++) {
            proc_new(&s[i].app[k], 3000 + k, 5000 + (apr_uint64_t)k, 90 << 20);
        }
        s[i].records = 0;
    }
}

/* An endpoint by a Zipf-like draw: index 0 is the most frequent. */
static int draw_endpoint(void)
{
    double u = unit();

    return (int)(GEN_EPS * u * u * u) % GEN_EPS;
}

/* The GC figures of one request of g, into app. */
static void app_figures(mt_app_report_t *app, gproc_t *g, int heavy)
{
    apr_int64_t made = heavy ? 60000 + (apr_int64_t)(rnd() % 40000)
                             : 2000 + (apr_int64_t)(rnd() % 8000);

    mt_proto_clear(app);
    app->version = 1;
    app->pid = g->pid;
    app->gc_before.count = g->gc;
    app->gc_before.minor = g->gc - g->gc / 10;
    app->gc_before.major = g->gc / 10;
    app->gc_before.live_slots = g->live;
    app->gc_before.old_objects = g->old;
    app->gc_before.allocated = g->alloc;
    app->gc_before.freed = g->freed;
    g->alloc += made;
    g->freed += made - 20;
    g->live += 20;
    if (rnd() % 20 == 0) g->gc++;
    app->gc_after = app->gc_before;
    app->gc_after.count = g->gc;
    app->gc_after.live_slots = g->live;
    app->gc_after.allocated = g->alloc;
    app->gc_after.freed = g->freed;
    app->qc_before = 0;
    app->qc_after = (apr_int64_t)(rnd() % 6);
}

typedef struct gen_t {
    gsrv_t     *srv;
    int         n_srv;
    apr_time_t  now;
    apr_uint64_t token;
    long        i;
    char        url[96], ep[96], id[32];
    mt_app_report_t app;
    char        probed_ep[64][GEN_APPS][96];
} gen_t;

static void base_record(gen_t *g, mt_record_t *rec, const gsrv_t *s)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                              "wxyz0123456789-_";
    apr_uint64_t x = rnd();
    int k;

    for (k = 0; k < 22; k++, x = x >> 3 ^ (x << 61)) g->id[k] = b64[x & 63];
    g->id[22] = '\0';
    memset(rec, 0, sizeof(*rec));
    mt_sample_clear(&rec->before);
    mt_sample_clear(&rec->after);
    rec->request_id = g->id;
    rec->time = g->now;
    rec->host = "shop.example.com";
    rec->method = "GET";
    rec->status = 200;
    rec->fds = -1;
    rec->threshold_bytes = 20 * 1024 * 1024;
    rec->overhead_us = 3 + (apr_int64_t)(rnd() % 9);
    rec->server = s->name;
    rec->probe_bytes = rec->probe_objects = MT_UNKNOWN_SIGNED;
    rec->probe_us = MT_UNKNOWN;
}

static void static_record(gen_t *g, mt_record_t *rec, gsrv_t *s)
{
    gproc_t *h = &s->httpd[rnd() % GEN_HTTPD];

    snprintf(g->url, sizeof(g->url), "/assets/app-%llx.js",
             (unsigned long long)(rnd() & 0xffffffffffULL));
    rec->url = g->url;
    rec->endpoint = "GET /assets/:id";
    rec->target = MT_TARGET_SELF;
    rec->pid = rec->httpd_pid = h->pid;
    rec->start_ticks = h->start;
    rec->before_source = MT_BEFORE_MODULE;
    rec->before.rss_bytes = h->rss;
    if (rnd() % 200 == 0) h->rss += 4096;
    rec->after.rss_bytes = h->rss;
    rec->after.rss_anon_bytes = h->rss - (6 << 20);
    rec->after.shared_bytes = 6 << 20;
    rec->attribution = "self";
    rec->request_time = (double)(80 + rnd() % 200) / 1e6;
}

/* The probe side: the result of the process's last probe, maybe a new one. */
static void probe_side(gen_t *g, mt_record_t *rec, gproc_t *a, int slot,
                       int leaky)
{
    int sidx = (int)(rec->server[4] - '1') % 64;

    if (a->probe) {
        double noise = (unit() - 0.5) * 3000;
        rec->probe_done = a->probe;
        rec->probe_bytes = (apr_int64_t)((a->probe_leaky ? GEN_LEAK : 150) + noise);
        rec->probe_objects = a->probe_leaky ? 100 : (apr_int64_t)(rnd() % 5);
        rec->probe_us = 40000 + (apr_int64_t)(rnd() % 30000);
        rec->probe_endpoint = g->probed_ep[sidx][slot];
        a->probe = 0;
    }
    if (a->requests > 20 && rnd() % 50 == 0) {
        a->probe = rec->probe_started = ++g->token;
        a->probe_leaky = leaky;
        snprintf(g->probed_ep[sidx][slot], sizeof(g->probed_ep[0][0]), "%s",
                 g->ep);
    }
}

static void app_record(gen_t *g, mt_record_t *rec, gsrv_t *s)
{
    int slot = (int)(rnd() % GEN_APPS), e = draw_endpoint();
    gproc_t *a = &s->app[slot];
    int leaky = e == 3 && !strcmp(s->name, "web-2");
    const char *ctl = e == 3 ? "LeakyController" : controllers[e % 7];
    const char *act = e == 3 ? "create" : actions[e % 5];

    snprintf(g->ep, sizeof(g->ep), "%s#%s", ctl, act);
    snprintf(g->url, sizeof(g->url), "/%s/%llu?page=%d", act,
             (unsigned long long)(rnd() % 100000), (int)(rnd() % 9));
    app_figures(&g->app, a, e % 11 == 7);
    g->app.controller = ctl;
    g->app.action = act;
    rec->app = &g->app;
    rec->url = g->url;
    rec->endpoint = g->ep;
    rec->target = MT_TARGET_BACKEND;
    rec->pid = a->pid;
    rec->httpd_pid = s->httpd[rnd() % GEN_HTTPD].pid;
    rec->start_ticks = a->start;
    rec->exclusive = 1;
    rec->before_source = MT_BEFORE_APP;
    rec->before.rss_bytes = a->rss;
    if (leaky) a->rss += GEN_LEAK / 4096 * 4096 + (rnd() % 2) * 4096;
    else if (rnd() % 25 == 0) a->rss += 4096 * (apr_int64_t)(1 + rnd() % 8);
    rec->after.rss_bytes = a->rss;
    rec->after.rss_anon_bytes = a->rss - (9 << 20);
    rec->after.shared_bytes = 9 << 20;
    rec->attribution = "header";
    rec->request_time = (double)(2000 + rnd() % 28000) / 1e6;
    a->requests++;
    probe_side(g, rec, a, slot, leaky);
}

/* Now and then Passenger replaces an app process. */
static void maybe_replace(gsrv_t *s)
{
    gproc_t *a;

    if (++s->records % GEN_REPLACE != 0) return;
    a = &s->app[(s->records / GEN_REPLACE) % GEN_APPS];
    proc_new(a, a->pid + 100, a->start + 100000, 90 << 20);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    int servers = argc > 2 ? atoi(argv[2]) : 3;
    gen_t *g;
    apr_pool_t *p;

    if (n < 1 || servers < 1 || servers > 64) {
        fprintf(stderr, "usage: %s [RECORDS [SERVERS (1..64) [SEED]]]\n",
                argv[0]);
        return 2;
    }
    if (argc > 3) rng ^= (apr_uint64_t)strtoull(argv[3], NULL, 10) * 2654435761u;
    apr_initialize();
    apr_pool_create(&p, NULL);
    g = calloc(1, sizeof(*g));
    g->srv = calloc((size_t)servers, sizeof(*g->srv));
    g->n_srv = servers;
    g->now = (apr_time_t)1795320000 * APR_USEC_PER_SEC;
    servers_init(g->srv, servers);
    for (g->i = 0; g->i < n; g->i++) {
        gsrv_t *s = &g->srv[g->i % servers];
        mt_record_t rec;
        char *line;
        apr_size_t len;

        base_record(g, &rec, s);
        if (rnd() % 10 < 3) static_record(g, &rec, s);
        else app_record(g, &rec, s);
        if (mt_record_to_json(&line, &len, &rec, 4096, p) == APR_SUCCESS) {
            fwrite(line, 1, len, stdout);
        }
        maybe_replace(s);
        g->now += 300 + (apr_time_t)(rnd() % 1400);
        apr_pool_clear(p);
    }
    free(g->srv);
    free(g);
    apr_pool_destroy(p);
    apr_terminate();
    return fflush(stdout) == 0 ? 0 : 1;
}
