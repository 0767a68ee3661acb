/* Unit tests: the three-snapshot diff (src/mt_heapdiff.c) on dumps written
 * here, shaped like the companion's: a full snapshot 1 (class names), and
 * snapshots 2 and 3 of the objects born since 1. A leak of 200 strings at
 * one site comes first, with its count and bytes; objects that died
 * before 3 (churn), that were born after 2, or whose slot was reused by a
 * younger object do not count; class names come from any snapshot; files
 * are shown relative to the app root. The addresses mode on full dumps;
 * the bounds (groups, objects), cancel and a missing file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "mt_tap.h"
#include "mt_heapdiff.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/mt-test-heapdiff-XXXXXX";
static char paths[3][256];

#define CLS_STRING 0x1000
#define CLS_HASH   0x1100
#define CLS_THING  0x1200
#define CLS_ANON   0x1300

static FILE *open_snap(int n)
{
    FILE *f;

    apr_snprintf(paths[n - 1], sizeof(paths[0]), "%s/snap-%d.json", dir, n);
    f = fopen(paths[n - 1], "w");
    ok(f != NULL, "snapshot %d opened", n);
    return f;
}

static void obj(FILE *f, unsigned long addr, const char *type,
                unsigned long cls, const char *file, int line, int gen,
                int memsize)
{
    fprintf(f, "{\"address\":\"0x%lx\", \"type\":\"%s\", \"class\":\"0x%lx\", "
            "\"value\":\"x\", \"file\":\"%s\", \"line\":%d, \"method\":\"m\", "
            "\"generation\":%d, \"memsize\":%d, \"flags\":{\"wb_protected\""
            ":true}}\n", addr, type, cls, file, line, gen, memsize);
}

static void cls(FILE *f, unsigned long addr, const char *name)
{
    fprintf(f, "{\"address\":\"0x%lx\", \"type\":\"CLASS\", \"class\":\"0x99\", "
            "\"name\":\"%s\", \"references\":[\"0x1\"], \"memsize\":500}\n",
            addr, name);
}

#define LEAK   "/srv/app/app/controllers/leak_controller.rb"
#define CACHE  "/srv/app/app/models/cache.rb"
#define CHURN  "/srv/app/app/churn.rb"

/* The objects both snapshot 2 and 3 hold (born between 1 and 2, alive). */
static void kept(FILE *f)
{
    int i;

    for (i = 0; i < 200; i++) {
        obj(f, 0x100000 + 40 * i, "STRING", CLS_STRING, LEAK, 7, 10 + i % 10,
            20041);
    }
    for (i = 0; i < 50; i++) {
        obj(f, 0x200000 + 40 * i, "HASH", CLS_HASH, CACHE, 3, 12, 160);
    }
    obj(f, 0x300000, "IMEMO", CLS_THING, "/srv/app/lib/x.rb", 2, 13, 40);
    obj(f, 0x300040, "OBJECT", CLS_ANON, "/srv/app/lib/anon.rb", 5, 14, 40);
}

static void write_gen_snapshots(void)
{
    FILE *f = open_snap(1);
    int i;

    fprintf(f, "{\"type\":\"ROOT\", \"root\":\"vm\", \"references\":[\"0x5\"]}\n");
    cls(f, CLS_STRING, "String");
    cls(f, CLS_HASH, "Hash");
    cls(f, CLS_THING, "Leaky::Thing");
    for (i = 0; i < 100; i++) {
        fprintf(f, "{\"address\":\"0x%x\", \"type\":\"STRING\", \"class\":"
                "\"0x1000\", \"memsize\":40}\n", 0x50000 + 40 * i);
    }
    fclose(f);
    f = open_snap(2);
    kept(f);
    for (i = 0; i < 100; i++) {              /* churn: dead by 3 */
        obj(f, 0x400000 + 40 * i, "STRING", CLS_STRING, CHURN, 9, 15, 100000);
    }
    obj(f, 0x500000, "STRING", CLS_STRING, CHURN, 11, 20, 5000);  /* at 2 */
    obj(f, 0x600000, "STRING", CLS_STRING, CHURN, 12, 11, 5000);  /* reused */
    cls(f, CLS_ANON, "Anon");
    fclose(f);
    f = open_snap(3);
    kept(f);
    obj(f, 0x500000, "STRING", CLS_STRING, CHURN, 11, 20, 5000);
    obj(f, 0x600000, "STRING", CLS_STRING, CHURN, 13, 25, 5000);
    for (i = 0; i < 300; i++) {              /* born after 2 */
        obj(f, 0x700000 + 40 * i, "STRING", CLS_STRING, LEAK, 7, 22, 20041);
    }
    fclose(f);
}

static const char *const *snaps(void)
{
    static const char *p[3];

    p[0] = paths[0];
    p[1] = paths[1];
    p[2] = paths[2];
    return p;
}

static void gen_opts(mt_heapdiff_opts_t *o)
{
    mt_heapdiff_opts_default(o);
    o->gen1 = 10;
    o->gen2 = 20;
    o->strip_prefix = "/srv/app/";
}

static void test_generations(void)
{
    mt_heapdiff_result_t *r = apr_pcalloc(pool, sizeof(*r));
    mt_heapdiff_opts_t o;

    write_gen_snapshots();
    gen_opts(&o);
    is_int(mt_heapdiff_run(r, snaps(), &o, pool), APR_SUCCESS, "the diff runs");
    is_int(r->mode, MT_HEAPDIFF_GENERATIONS, "by generations");
    is_int(r->objects[0], 104, "snapshot 1 read (class names)");
    is_int(r->objects[2], 554, "snapshot 3 read");
    is_int(r->kept_objects, 252, "kept: 200 + 50 + 2, nothing else");
    is_int(r->kept_bytes, 200LL * 20041 + 50 * 160 + 80, "their bytes");
    is_int(r->groups, 4, "in four groups");
    is_int(r->n_rows, 4, "all ranked");
    is_str(r->rows[0].class_name, "String", "first: String");
    is_str(r->rows[0].file, "app/controllers/leak_controller.rb",
           "at the leak's file, relative to the app root");
    is_int(r->rows[0].line, 7, "and line");
    is_int(r->rows[0].count, 200, "200 objects: born between 1 and 2 only");
    is_int(r->rows[0].bytes, 200LL * 20041, "their memsize");
    is_int(r->rows[0].generations, 10, "born over 10 GC generations");
    is_int(r->rows[0].gen_first, 10, "from 10");
    is_int(r->rows[0].gen_last, 19, "to 19");
    is_str(r->rows[1].class_name, "Hash", "then the cache");
    is_int(r->rows[1].count, 50, "its 50 hashes");
    is_int(r->rows[1].generations, 1, "born in one generation");
    is_str(r->rows[2].type, "IMEMO", "an IMEMO");
    is_str(r->rows[2].class_name, "", "has no class");
    is_str(r->rows[3].class_name, "Anon", "a class born after 1 is named");
    is_str(r->message, "", "no note");
}

static void test_bounds(void)
{
    mt_heapdiff_result_t *r = apr_pcalloc(pool, sizeof(*r));
    mt_heapdiff_opts_t o;
    volatile apr_uint32_t cancel = 1;
    const char *missing[3];

    gen_opts(&o);
    o.max_groups = 2;
    is_int(mt_heapdiff_run(r, snaps(), &o, pool), APR_SUCCESS, "two groups");
    is_int(r->groups, 2, "at most");
    is_int(r->other_objects, 2, "the rest in other");
    is_int(r->other_bytes, 80, "with its bytes");
    is_int(r->kept_objects, 252, "still all counted");
    gen_opts(&o);
    o.max_objects = 100;
    is_int(mt_heapdiff_run(r, snaps(), &o, pool), APR_ENOSPC,
           "more kept objects than max_objects");
    ok(strstr(r->message, "snapshot 3") && strstr(r->message, "100 objects"),
       "says so: %s", r->message);
    is_int(r->mode, 0, "no mode");
    is_int(r->n_rows, 0, "no rows");
    gen_opts(&o);
    o.cancel = &cancel;
    is_int(mt_heapdiff_run(r, snaps(), &o, pool), APR_ECONNABORTED,
           "cancelled");
    missing[0] = paths[0];
    missing[1] = paths[1];
    missing[2] = "/nonexistent/snap-3.json";
    gen_opts(&o);
    ok(mt_heapdiff_run(r, missing, &o, pool) != APR_SUCCESS, "a missing file");
    ok(strstr(r->message, "snapshot 3 (/nonexistent/snap-3.json): cannot open"),
       "named: %s", r->message);
}

static void test_addresses(void)
{
    mt_heapdiff_result_t *r = apr_pcalloc(pool, sizeof(*r));
    mt_heapdiff_opts_t o;
    FILE *f;
    int i, n;

    for (n = 1; n <= 3; n++) {
        f = open_snap(n);
        cls(f, CLS_STRING, "String");
        for (i = 0; i < 5; i++) {                   /* old, everywhere */
            obj(f, 0x1000000 + 40 * i, "STRING", CLS_STRING, "old.rb", 1, 1, 40);
        }
        if (n >= 2) {                               /* new, kept */
            for (i = 0; i < 3; i++) {
                obj(f, 0x2000000 + 40 * i, "STRING", CLS_STRING, "b.rb", 4, 5,
                    1000);
            }
        }
        if (n == 2) obj(f, 0x3000000, "STRING", CLS_STRING, "c.rb", 1, 5, 9);
        if (n == 3) obj(f, 0x4000000, "STRING", CLS_STRING, "d.rb", 1, 9, 9);
        fprintf(f, "garbage line\n");
        fclose(f);
    }
    mt_heapdiff_opts_default(&o);
    is_int(mt_heapdiff_run(r, snaps(), &o, pool), APR_SUCCESS, "addresses");
    is_int(r->mode, MT_HEAPDIFF_ADDRESSES, "mode");
    is_int(r->kept_objects, 3, "in 2, not in 1, in 3");
    is_str(r->rows[0].file, "b.rb", "their site");
    is_int(r->rows[0].count, 3, "count");
    is_int(r->bad_lines, 3, "a bad line per snapshot, skipped");
    ok(strstr(r->message, "3 lines") != NULL, "and noted: %s", r->message);
}

static void test_long_path(void)
{
    mt_heapdiff_result_t *r = apr_pcalloc(pool, sizeof(*r));
    mt_heapdiff_opts_t o;
    char longf[400];
    FILE *f;
    int n;

    memset(longf, 'p', sizeof(longf));
    memcpy(longf, "/deep/", 6);
    memcpy(longf + sizeof(longf) - 9, "/tail.rb", 9);
    for (n = 1; n <= 3; n++) {
        f = open_snap(n);
        if (n > 1) obj(f, 0x10, "STRING", CLS_STRING, longf, 9, 10, 40);
        fclose(f);
    }
    gen_opts(&o);
    is_int(mt_heapdiff_run(r, snaps(), &o, pool), APR_SUCCESS, "a long path");
    ok(r->rows[0].file_cut, "is cut");
    is_int(strlen(r->rows[0].file), MT_HEAPDIFF_FILE_MAX, "to the limit");
    ok(!strcmp(r->rows[0].file + MT_HEAPDIFF_FILE_MAX - 8, "/tail.rb"),
       "keeping its end");
    is_str(r->rows[0].class_name, "", "an unknown class is empty");
}

int main(void)
{
    int i;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    test_generations();
    test_bounds();
    test_addresses();
    test_long_path();
    for (i = 0; i < 3; i++) unlink(paths[i]);
    rmdir(dir);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
