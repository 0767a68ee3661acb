/* Unit tests: the heap diff's result files and where its directory may be
 * (src/mt_heapfiles.c), in a directory of the test's own: the newest N
 * result files kept by time, the one just written always, nothing else
 * touched (snapshots, other names, a symbolic link, a directory); a
 * directory inside a DocumentRoot as written and through a symbolic link,
 * and not inside one that only shares its first letters. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "mt_tap.h"
#include "mt_heapfiles.h"

static char dir[] = "/tmp/mt-test-heapfiles-XXXXXX";

static const char *at(const char *name)
{
    static char buf[4][256];
    static int k;

    k = (k + 1) % 4;
    apr_snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
    return buf[k];
}

/* A file named name, its time sec seconds after the epoch's 10^9. */
static void file_at(const char *name, long sec)
{
    struct timeval tv[2];
    int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0640);

    if (fd < 0 || write(fd, "{}\n", 3) != 3) {
        printf("Bail out! %s: %s\n", at(name), strerror(errno));
        exit(1);
    }
    close(fd);
    tv[0].tv_sec = tv[1].tv_sec = 1000000000L + sec;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    utimes(at(name), tv);
}

static int exists(const char *name)
{
    struct stat st;

    return lstat(at(name), &st) == 0;
}

static void test_names(void)
{
    char buf[128];

    is_str(mt_heapfiles_result_path(buf, sizeof(buf), "/d", 1234),
           "/d/memtrack-heapdiff-1234.json", "a result's file");
    ok(mt_heapfiles_is_result("memtrack-heapdiff-1234.json"), "its name");
    ok(!mt_heapfiles_is_result("memtrack-heapdiff-.json"), "no token");
    ok(!mt_heapfiles_is_result("memtrack-heapdiff-12a.json"), "not a number");
    ok(!mt_heapfiles_is_result("memtrack-heapdiff-12.json.tmp"), "another end");
    ok(!mt_heapfiles_is_result("memtrack-heap-1-2-3.json"), "a snapshot");
    ok(!mt_heapfiles_is_result("xmemtrack-heapdiff-12.json"), "another start");
}

static void test_prune(void)
{
    mt_heapfiles_prune_t out;
    char name[64];
    int i, kept = 0;

    /* 10 results, times 1..10 in a shuffled order of tokens */
    for (i = 1; i <= 10; i++) {
        apr_snprintf(name, sizeof(name), "memtrack-heapdiff-%d.json",
                     (i * 7) % 11);
        file_at(name, i);
    }
    file_at("memtrack-heapdiff-999.json", 0);     /* just written, oldest */
    file_at("memtrack-heap-1-2-3.json", -50);     /* a snapshot */
    file_at("memtrack-heapdiff-x.json", -50);     /* not a result's name */
    file_at("notes.txt", -50);
    if (symlink("notes.txt", at("memtrack-heapdiff-500.json")) != 0
        || mkdir(at("memtrack-heapdiff-501.json"), 0700) != 0) {
        printf("Bail out! symlink, mkdir: %s\n", strerror(errno));
        exit(1);
    }
    is_int(mt_heapfiles_prune_results(dir, 4, "memtrack-heapdiff-999.json",
                                      &out), APR_SUCCESS, "pruned");
    is_int(out.found, 10, "ten result files besides the one written");
    is_int(out.removed, 7, "seven removed");
    is_int(out.failed, 0, "none failed");
    ok(exists("memtrack-heapdiff-999.json"), "the one written is kept, "
       "whatever its time");
    for (i = 1; i <= 10; i++) {
        apr_snprintf(name, sizeof(name), "memtrack-heapdiff-%d.json",
                     (i * 7) % 11);
        if (i >= 8) {
            ok(exists(name), "newest kept: %s (time %d)", name, i);
        }
        else {
            ok(!exists(name), "older removed: %s (time %d)", name, i);
        }
        kept += exists(name);
    }
    is_int(kept, 3, "three besides the one written: four in all");
    ok(exists("memtrack-heap-1-2-3.json"), "a snapshot is not touched");
    ok(exists("memtrack-heapdiff-x.json") && exists("notes.txt"),
       "other names are not touched");
    ok(exists("memtrack-heapdiff-500.json"), "a symbolic link is not touched");
    ok(exists("memtrack-heapdiff-501.json"), "a directory is not touched");
    is_int(mt_heapfiles_prune_results(dir, 4, "memtrack-heapdiff-999.json",
                                      &out), APR_SUCCESS, "again");
    is_int(out.removed, 0, "nothing more to remove");
    is_int(mt_heapfiles_prune_results(dir, 1, NULL, &out), APR_SUCCESS,
           "keep 1, nothing written");
    is_int(out.removed, 3, "the newest of four stays");
    ok(exists("memtrack-heapdiff-4.json"), "time 10's: token 70 %% 11 = 4");
    is_int(mt_heapfiles_prune_results(at("none"), 4, NULL, &out),
           APR_ENOENT, "a directory that is not there");
}

static void test_inside(apr_pool_t *p)
{
    char link[300];

    ok(mt_heapfiles_inside("/srv/www/heap", "/srv/www", p), "under it");
    ok(mt_heapfiles_inside("/srv/www", "/srv/www/", p), "the root itself");
    ok(mt_heapfiles_inside("/srv//www/./a/b", "/srv/www", p), "as written");
    ok(!mt_heapfiles_inside("/srv/www-heap", "/srv/www", p),
       "only the first letters in common");
    ok(!mt_heapfiles_inside("/srv/heap", "/srv/www", p), "beside it");
    ok(mt_heapfiles_inside("/var/x", "/", p), "a DocumentRoot of /: all of it");
    ok(mt_heapfiles_inside("/srv/heap", "/srv/www/../heap", p),
       "a root with ..");
    ok(!mt_heapfiles_inside("relative/heap", "/srv", p), "not absolute: no");
    /* through a symbolic link: DIR/htdocs, DIR/link -> htdocs */
    mkdir(at("htdocs"), 0755);
    apr_snprintf(link, sizeof(link), "%s", at("link"));
    if (symlink("htdocs", link) != 0) {
        printf("Bail out! symlink: %s\n", strerror(errno));
        exit(1);
    }
    ok(mt_heapfiles_inside(apr_pstrcat(p, link, "/heap/deeper", NULL),
                           at("htdocs"), p),
       "through a symbolic link, not there yet");
    ok(mt_heapfiles_inside(apr_pstrcat(p, dir, "/htdocs/heap", NULL), link, p),
       "a DocumentRoot that is a symbolic link");
    ok(!mt_heapfiles_inside(apr_pstrcat(p, dir, "/heap", NULL), link, p),
       "beside it");
    unlink(link);
    rmdir(at("htdocs"));
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    test_names();
    test_prune();
    test_inside(p);
    if (system(apr_pstrcat(p, "rm -rf '", dir, "'", NULL)) != 0) {
        printf("# could not remove %s\n", dir);
    }
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
