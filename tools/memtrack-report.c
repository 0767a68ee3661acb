/* memtrack-report: the module's analysis, offline, over the record logs
 * or the Redis stream of any number of web servers.
 *
 *   memtrack-report [OPTIONS] [FILE...]     (- or no FILE: standard input)
 *
 * It links the module's core: the records become the notes the module made
 * (mt_report_parse.c), one analysis state per server and one for the fleet
 * (mt_report.c), and the same verdicts come out (mt_analysis.c), as text,
 * JSON or a self-contained HTML file (mt_report_*.c). This file is the
 * command line only: options, messages, the progress line, writing out.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "mt_report.h"
#include "mt_report_out.h"
#include "mt_util.h"
#include "mt_version.h"

#define PROGRESS_AFTER apr_time_from_sec(1)

typedef struct cli_t {
    mt_report_opts_t opts;
    const char *redis;
    const char *html;
    int         json;
    int         quiet;
    int         stats;               /* --stats: speed and memory on stderr */
    int         progress;            /* stderr is a terminal */
    apr_time_t  started, shown;
    const char *since_text, *until_text;
} cli_t;

static void usage(FILE *to)
{
    fputs("usage: memtrack-report [OPTIONS] [FILE...]\n"
          "The leak suspects and the endpoints ranked by growth, per server "
          "and for the\nfleet, from mod_memtrack's record logs (JSON Lines, "
          "plain or gzip; - or no\nFILE: standard input) or its Redis stream.\n"
          "\n"
          "  --redis URL     read memtrack:stream (redis://[[user]:password@]"
          "host[:port][/db]\n"
          "                  or unix:/path[?db=N]); FILEs may be given too\n"
          "  --since WHEN    only records from WHEN: 2026-11-22[T04:08[:43]]"
          "[Z] (UTC),\n"
          "                  @UNIXSECONDS, or -N[smhd] (before now)\n"
          "  --until WHEN    only records up to WHEN\n"
          "  --json          JSON on standard output (the status page's "
          "schema per server)\n"
          "  --html FILE     also write the HTML report (one self-contained "
          "file) to FILE\n"
          "  --endpoints N   endpoints kept per server, as MemTrackEndpoints "
          "(default 256)\n"
          "  --leak-min SIZE the leak floor, as MemTrackLeakMin (default 4K)\n"
          "  --servers N     servers reported each on its own (default 64, "
          "at most 255)\n"
          "  --window N      records in the reorder window (default 65536)\n"
          "  --quiet         no progress line and no notes about the inputs\n"
          "  --stats         at the end, records per second, CPU time and peak "
          "memory\n"
          "  --version, --help\n", to);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    fputs("memtrack-report: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int count_arg(const char *opt, const char *v, long lo, long hi,
                     unsigned int *out)
{
    char *end = NULL;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || !end || *end || end == v || n < lo || n > hi) {
        say("%s: '%s' is not a number from %ld to %ld", opt, v, lo, hi);
        return 0;
    }
    *out = (unsigned int)n;
    return 1;
}

enum { O_REDIS = 256, O_SINCE, O_UNTIL, O_JSON, O_HTML, O_ENDPOINTS,
       O_LEAKMIN, O_SERVERS, O_WINDOW, O_QUIET, O_STATS, O_VERSION, O_HELP };

static const struct option longopts[] = {
    { "redis", required_argument, NULL, O_REDIS },
    { "since", required_argument, NULL, O_SINCE },
    { "until", required_argument, NULL, O_UNTIL },
    { "json", no_argument, NULL, O_JSON },
    { "html", required_argument, NULL, O_HTML },
    { "endpoints", required_argument, NULL, O_ENDPOINTS },
    { "leak-min", required_argument, NULL, O_LEAKMIN },
    { "servers", required_argument, NULL, O_SERVERS },
    { "window", required_argument, NULL, O_WINDOW },
    { "quiet", no_argument, NULL, O_QUIET },
    { "stats", no_argument, NULL, O_STATS },
    { "version", no_argument, NULL, O_VERSION },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 }
};

static int when_arg(const char *opt, const char *v, apr_time_t *t)
{
    if (mt_report_parse_when(t, v, apr_time_now()) != APR_SUCCESS) {
        say("%s: '%s' is not a time: use 2026-11-22T04:08:43Z (UTC), "
            "@UNIXSECONDS or -2h", opt, v);
        return 0;
    }
    return 1;
}

/* 1: go on; 0: exit 0 (help, version); -1: usage error. */
static int one_option(cli_t *c, int o, const char *arg)
{
    apr_int64_t bytes;

    switch (o) {
    case O_REDIS: c->redis = arg; return 1;
    case O_SINCE: return when_arg("--since", arg, &c->opts.since) ? 1 : -1;
    case O_UNTIL: return when_arg("--until", arg, &c->opts.until) ? 1 : -1;
    case O_JSON: c->json = 1; return 1;
    case O_HTML: c->html = arg; return 1;
    case O_QUIET: c->quiet = 1; return 1;
    case O_STATS: c->stats = 1; return 1;
    case O_ENDPOINTS:
        return count_arg("--endpoints", arg, 1, MT_EP_LIMIT,
                         &c->opts.params.endpoints) ? 1 : -1;
    case O_SERVERS:
        return count_arg("--servers", arg, 1, 255, &c->opts.servers_max) ? 1 : -1;
    case O_WINDOW:
        return count_arg("--window", arg, 1, MT_REPORT_WINDOW_MAX,
                         &c->opts.window) ? 1 : -1;
    case O_LEAKMIN:
        if (mt_size_parse(&bytes, arg) != APR_SUCCESS || bytes < 1) {
            say("--leak-min: '%s' is not a size: use bytes or 512, 4K, 1M", arg);
            return -1;
        }
        c->opts.params.leak_min_bytes = bytes;
        return 1;
    case O_VERSION: printf("memtrack-report %s\n", MEMTRACK_VERSION); return 0;
    case O_HELP: usage(stdout); return 0;
    default: usage(stderr); return -1;
    }
}

static int options(cli_t *c, int argc, char **argv)
{
    int o, rv;

    while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if ((rv = one_option(c, o == 'h' ? O_HELP : o, optarg)) != 1) {
            return rv;
        }
    }
    if (c->opts.since && c->opts.until && c->opts.until < c->opts.since) {
        say("--until is before --since");
        return -1;
    }
    return 1;
}

/* ---- progress and messages ---- */

static void progress(void *ctx, const mt_report_t *r,
                     const mt_report_source_t *src, unsigned int n)
{
    cli_t *c = ctx;
    apr_time_t now = mt_mono_now();
    apr_uint64_t bytes = 0, size = 0;
    unsigned int i;
    double secs;

    if (!c->progress || now - c->started < PROGRESS_AFTER
        || now - c->shown < apr_time_from_msec(500)) {
        return;
    }
    c->shown = now;
    for (i = 0; i < n; i++) {
        bytes += src[i].in->bytes;
        size += src[i].in->size;
    }
    secs = (double)(now - c->started) / 1e6;
    fprintf(stderr, "\rmemtrack-report: %" APR_INT64_T_FMT " records "
            "(%.0f/s), %u servers, %.0f MB", r->records,
            (double)r->records / secs, r->n_servers, (double)bytes / 1e6);
    if (size) fprintf(stderr, " of %.0f MB", (double)size / 1e6);
    fputs("\033[K", stderr);
}

static void about_source(const mt_report_source_t *s)
{
    const mt_report_input_t *in = s->in;

    if (in->failed) {
        say("%s: %s", in->name, in->problem ? in->problem : "cannot read");
        return;
    }
    if (in->problem) say("%s: %s", in->name, in->problem);
    if (in->lines == 0 && !in->problem) {
        say("%s: empty: no records", in->name);
    }
    if (s->bad) {
        say("%s: %" APR_INT64_T_FMT " bad line%s skipped (the first, line %"
            APR_INT64_T_FMT ": %s)", in->name, s->bad, s->bad == 1 ? "" : "s",
            s->first_bad_line, s->first_bad);
    }
    if (s->records == 0 && s->bad > 0) {
        say("%s: not one record in it: is it a memtrack log?", in->name);
    }
}

static void about(const cli_t *c, const mt_report_t *r,
                  const mt_report_source_t *src, unsigned int n)
{
    unsigned int i;

    if (c->progress && !c->quiet) fputs("\r\033[K", stderr);
    for (i = 0; i < n && !c->quiet; i++) {
        about_source(&src[i]);
    }
    if (c->quiet) return;
    if (r->late) {
        say("%" APR_INT64_T_FMT " records came later than the reorder window "
            "(%u records) allows; they were analysed out of order (--window)",
            r->late, r->opts.window);
    }
    if (r->fleet_only) {
        say("%" APR_INT64_T_FMT " records of servers beyond the first %u are "
            "in the fleet only (--servers)", r->fleet_only, r->opts.servers_max);
    }
}

/* ---- output ---- */

static int write_all(FILE *f, const mt_buf_t *b)
{
    return fwrite(b->data, 1, b->len, f) == b->len && fflush(f) == 0;
}

/* The HTML to FILE.tmp, then renamed: a reader never sees half a report. */
static int write_html(const char *path, const mt_report_view_t *v,
                      apr_pool_t *p)
{
    const char *tmp = apr_pstrcat(p, path, ".tmp", NULL);
    mt_buf_t b;
    FILE *f;
    int ok;

    mt_buf_init(&b, 1 << 20, p);
    mt_report_html(&b, v);
    if ((f = fopen(tmp, "w")) == NULL) {
        say("--html %s: cannot write: %s", path, strerror(errno));
        return 0;
    }
    ok = write_all(f, &b);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        say("--html %s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return 0;
    }
    return 1;
}

static mt_report_source_t *open_sources(const cli_t *c, int argc, char **argv,
                                        unsigned int *n, apr_pool_t *p)
{
    unsigned int want = (unsigned int)(argc - optind) + (c->redis ? 1 : 0), i = 0;
    mt_report_source_t *src;
    int k;

    if (want == 0) want = 1;                 /* standard input */
    if (want > MT_REPORT_SOURCES_MAX) {
        say("%u inputs: at most %d at once (concatenate older logs: "
            "zcat a.gz b.gz | memtrack-report - ...)", want,
            MT_REPORT_SOURCES_MAX);
        return NULL;
    }
    src = apr_pcalloc(p, want * sizeof(*src));
    if (c->redis) {
        src[i++].in = mt_report_input_redis(c->redis, c->opts.since,
                                            c->opts.until, p);
    }
    for (k = optind; k < argc; k++) {
        src[i++].in = mt_report_input_file(argv[k], p);
    }
    if (i == 0) src[i++].in = mt_report_input_file("-", p);
    *n = i;
    return src;
}

/* Records per second (wall clock, from the first read to the analysis
 * done), CPU time and peak resident memory: what make bench reports. */
static void stats(const cli_t *c, const mt_report_t *r, apr_time_t read_done)
{
    struct rusage ru;
    double secs = (double)(read_done - c->started) / 1e6;

    getrusage(RUSAGE_SELF, &ru);
    say("stats: %" APR_INT64_T_FMT " records in %.3f s: %.0f records per "
        "second; CPU %.3f s user, %.3f s system; peak memory %.1f MB; "
        "the report holds %.1f MB", r->records, secs,
        secs > 0 ? (double)r->records / secs : 0,
        (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
        (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
        (double)ru.ru_maxrss / 1024.0, (double)mt_report_memory(r) / 1e6);
}

static int run(cli_t *c, int argc, char **argv, apr_pool_t *p)
{
    mt_report_source_t *src;
    mt_report_view_t view;
    mt_report_t *r;
    unsigned int n = 0, i;
    int failed = 0;
    apr_time_t read_done;
    mt_buf_t out;

    if ((src = open_sources(c, argc, argv, &n, p)) == NULL) return 2;
    mt_report_create(&r, &c->opts, p);
    c->started = mt_mono_now();
    mt_report_read(r, src, n, progress, c);
    read_done = mt_mono_now();
    about(c, r, src, n);
    for (i = 0; i < n; i++) {
        failed |= src[i].in->failed;
        mt_report_input_close(src[i].in);
    }
    if (mt_report_view(&view, r, src, n, p) != APR_SUCCESS) {
        say("out of memory");
        return 1;
    }
    view.version = MEMTRACK_VERSION;
    if (c->html && !write_html(c->html, &view, p)) failed = 1;
    mt_buf_init(&out, 1 << 16, p);
    if (c->json) mt_report_json(&out, &view);
    else mt_report_text(&out, &view);
    if (!write_all(stdout, &out)) {
        say("standard output: %s", strerror(errno));
        return 1;
    }
    if (c->stats) stats(c, r, read_done);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    cli_t c;
    int rv;

    memset(&c, 0, sizeof(c));
    mt_report_opts_default(&c.opts);
    if ((rv = options(&c, argc, argv)) != 1) {
        return rv == 0 ? 0 : 2;
    }
    c.progress = !c.quiet && isatty(2);
    apr_initialize();
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    rv = run(&c, argc, argv, p);
    apr_pool_destroy(p);
    return rv;
}
