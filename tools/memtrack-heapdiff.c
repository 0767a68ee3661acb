/* memtrack-heapdiff: the module's heap diff, from the command line.
 *
 *   build/memtrack-heapdiff [--gen1 G1 --gen2 G2] [--root DIR]
 *                           [--max-objects N] [--text] SNAP1 SNAP2 SNAP3
 *
 * Diffs three ObjectSpace.dump_all files with the same core as the
 * module (src/mt_heapdiff.c): the objects born between snapshot 1 and 2
 * that are still alive at 3, grouped by class and allocation site, most
 * bytes first. With --gen1/--gen2 (the gc_count of snapshots 1 and 2 in
 * a result, as the companion reported them) it uses the objects'
 * generations, as the module does; without, their addresses (any three
 * dumps, e.g. rack-objectspace's). --root shows files relative to the
 * app root. Prints the result's "diff" object as JSON (README, "Heap
 * diffs"), or with --text a table. Run it as the user that may read the
 * snapshots (the app user): it is what to do when the httpd user may not.
 * Exit status 0, 1 when the diff failed (the message on stderr), 2 on bad
 * arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "mt_buf.h"
#include "mt_heapdiff.h"
#include "mt_heapview.h"

static int usage(void)
{
    fprintf(stderr, "usage: memtrack-heapdiff [--gen1 G1 --gen2 G2] "
            "[--root DIR] [--max-objects N] [--text] SNAP1 SNAP2 SNAP3\n");
    return 2;
}

static int number(const char *s, apr_int64_t *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(s, &end, 10);

    if (!*s || *end || v < 0) {
        return 0;
    }
    *out = v;
    return 1;
}

static void text(const mt_heapdiff_result_t *d)
{
    int i;

    printf("kept %" APR_INT64_T_FMT " objects, %" APR_INT64_T_FMT " bytes, in "
           "%" APR_INT64_T_FMT " groups (%.2f s)\n", d->kept_objects,
           d->kept_bytes, d->groups, d->seconds);
    printf("%4s %10s %12s  %-24s %s\n", "#", "objects", "bytes", "class",
           "allocated at");
    for (i = 0; i < d->n_rows; i++) {
        const mt_heapdiff_row_t *r = &d->rows[i];
        printf("%4d %10" APR_INT64_T_FMT " %12" APR_INT64_T_FMT "  %-24s "
               "%s%s:%" APR_INT64_T_FMT "\n", i + 1, r->count, r->bytes,
               r->class_name[0] ? r->class_name : r->type,
               r->file_cut ? "..." : "", r->file[0] ? r->file : "(untraced)",
               r->line);
    }
    if (d->message[0]) {
        printf("note: %s\n", d->message);
    }
}

static int parse_args(int argc, const char *const *argv, mt_heapdiff_opts_t *o,
                      int *as_text, const char **paths)
{
    int i, n = 0;
    apr_int64_t v;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--text")) *as_text = 1;
        else if (!strcmp(a, "--gen1") && i + 1 < argc && number(argv[++i], &v))
            o->gen1 = v;
        else if (!strcmp(a, "--gen2") && i + 1 < argc && number(argv[++i], &v))
            o->gen2 = v;
        else if (!strcmp(a, "--max-objects") && i + 1 < argc
                 && number(argv[++i], &v) && v > 0)
            o->max_objects = (apr_size_t)v;
        else if (!strcmp(a, "--root") && i + 1 < argc) o->strip_prefix = argv[++i];
        else if (a[0] == '-' && a[1]) return 0;
        else if (n < 3) paths[n++] = a;
        else return 0;
    }
    return n == 3 && ((o->gen1 < 0) == (o->gen2 < 0));
}

int main(int argc, const char *const *argv)
{
    mt_heapdiff_opts_t o;
    mt_heapdiff_result_t *res;
    const char *paths[3] = { NULL, NULL, NULL };
    apr_pool_t *p;
    apr_status_t rv;
    mt_buf_t out;
    int as_text = 0;

    mt_heapdiff_opts_default(&o);
    if (!parse_args(argc, argv, &o, &as_text, paths)) {
        return usage();
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    res = apr_palloc(p, sizeof(*res));
    rv = mt_heapdiff_run(res, paths, &o, p);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "memtrack-heapdiff: %s\n", res->message);
        apr_terminate();
        return 1;
    }
    if (as_text) {
        text(res);
    }
    else {
        mt_buf_init(&out, 8192, p);
        mt_heapview_diff_json(&out, res);
        printf("%s\n", out.data);
    }
    apr_terminate();
    return 0;
}
