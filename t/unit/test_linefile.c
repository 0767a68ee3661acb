/* Unit tests: a short write never leaves part of a line in the file.
 *
 * RLIMIT_FSIZE makes short writes without a full disk (and without root):
 * a write that crosses the limit writes up to it and returns the count,
 * the next one fails with EFBIG, exactly as a full file system does with
 * ENOSPC. SIGXFSZ is ignored so that the write fails instead of killing
 * the test. (t/53-full-disk.t does it on a real tmpfs.)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include "mt_tap.h"
#include "mt_linefile.h"

#define LINE 300

static char path[64];

/* Line i: LINE bytes, digits then x's, newline. */
static void line_of(char *buf, int i)
{
    int n = snprintf(buf, LINE, "%06d ", i);

    memset(buf + n, 'x', LINE - 1 - (size_t)n);
    buf[LINE - 1] = '\n';
}

static void set_limit(rlim_t bytes)
{
    struct rlimit rl;

    getrlimit(RLIMIT_FSIZE, &rl);
    rl.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &rl);
}

/* Is the file whole lines of the expected shape, and how many? -1 if not. */
static long whole_lines(void)
{
    struct stat st;
    char buf[LINE];
    FILE *f = fopen(path, "r");
    long n = 0;

    if (!f || stat(path, &st) != 0 || st.st_size % LINE != 0) {
        if (f) fclose(f);
        return -1;
    }
    while (fread(buf, 1, LINE, f) == LINE) {
        if (buf[LINE - 1] != '\n' || buf[6] != ' ' || buf[7] != 'x') {
            fclose(f);
            return -1;
        }
        n++;
    }
    fclose(f);
    return n;
}

static int open_log(void)
{
    return open(path, O_RDWR | O_APPEND | O_CREAT | O_TRUNC, 0600);
}

static void test_short_write(apr_pool_t *p)
{
    mt_linefile_t *lf;
    char buf[5 * LINE];
    apr_size_t kept;
    apr_status_t rv;
    int fd = open_log(), i, ok_n = 0, refused = 0;

    mt_linefile_create(&lf, fd, p);
    set_limit(10000);                   /* 33 lines and 100 bytes */
    for (i = 0; i < 50; i++) {
        line_of(buf, i);
        rv = mt_linefile_write(lf, buf, LINE, &kept);
        if (rv == APR_SUCCESS) ok_n++;
        else refused++;
        if (i == 33) {
            ok(rv == APR_INCOMPLETE && kept == 0,
               "the line that crosses the limit: short, nothing of it kept");
        }
        if (i == 34) {
            /* The 100 bytes taken back are room again: short again. */
            ok(rv == APR_INCOMPLETE && kept == 0, "the next one too");
        }
    }
    is_int(ok_n, 33, "33 lines fit");
    is_int(refused, 17, "the 17 others are refused");
    is_int(whole_lines(), 33, "the file holds 33 whole lines, no part of one");
    ok(!mt_linefile_dirty(lf), "and is clean");

    set_limit(10000 + 3 * LINE + 120);  /* room again: 3 lines and a bit */
    for (i = 0; i < 5; i++) {
        line_of(buf + i * LINE, 100 + i);
    }
    rv = mt_linefile_write(lf, buf, 5 * LINE, &kept);
    ok(rv == APR_INCOMPLETE && kept == 3 * LINE,
       "a batch of 5 lines with room for 3.4: 3 kept (%zu bytes)", (size_t)kept);
    is_int(whole_lines(), 36, "36 whole lines now");
    set_limit(RLIM_INFINITY);
    line_of(buf, 200);
    ok(mt_linefile_write(lf, buf, LINE, &kept) == APR_SUCCESS && kept == LINE,
       "space back: the next line goes in");
    is_int(whole_lines(), 37, "37 whole lines, the file line-clean throughout");
    close(fd);
}

/* Several processes append to one file description, as httpd children
 * do, through a full "disk". */
static void test_many_writers(apr_pool_t *p)
{
    int fd = open_log(), k, status, bad = 0;
    mt_linefile_t *lf;

    mt_linefile_create(&lf, fd, p);
    set_limit(200 * LINE + 77);
    fflush(stdout);
    for (k = 0; k < 4; k++) {
        if (fork() == 0) {
            char buf[LINE];
            int i;
            for (i = 0; i < 100; i++) {
                line_of(buf, k * 1000 + i);
                (void)mt_linefile_write(lf, buf, LINE, NULL);
            }
            _exit(0);
        }
    }
    for (k = 0; k < 4; k++) {
        wait(&status);
        bad += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    set_limit(RLIM_INFINITY);
    is_int(bad, 0, "4 writers done");
    is_int(whole_lines(), 200, "400 lines into room for 200.3: 200 whole lines");
    close(fd);
}

/* A pipe cannot be truncated: the partial line is ended before the next. */
static void test_pipe(apr_pool_t *p)
{
    static char big[300 * LINE];
    char *got = malloc(400 * LINE);
    mt_linefile_t *lf;
    apr_size_t kept = 0, have = 0;
    apr_status_t rv;
    int fds[2], i;
    ssize_t n;

    if (pipe(fds) != 0) {
        ok(0, "pipe");
        return;
    }
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    mt_linefile_create(&lf, fds[1], p);
    for (i = 0; i < 300; i++) {
        line_of(big + i * LINE, i);
    }
    rv = mt_linefile_write(lf, big, sizeof(big), &kept);   /* > 64 KiB */
    ok(rv == APR_INCOMPLETE && kept % LINE == 0 && kept > 0,
       "short write into a pipe: %zu whole lines' bytes kept", (size_t)kept);
    ok(mt_linefile_dirty(lf), "a pipe cannot be repaired: marked");
    while ((n = read(fds[0], got + have, 400 * LINE - have)) > 0) {
        have += (apr_size_t)n;
    }
    rv = mt_linefile_write(lf, big, LINE, &kept);
    ok(rv == APR_SUCCESS && !mt_linefile_dirty(lf), "the next line goes, after a newline");
    close(fds[1]);
    while ((n = read(fds[0], got + have, 400 * LINE - have)) > 0) {
        have += (apr_size_t)n;
    }
    ok(have > LINE + 1 && got[have - LINE - 1] == '\n'
       && memcmp(got + have - LINE, big, LINE) == 0,
       "the partial line ends before the next line begins");
    close(fds[0]);
    free(got);
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    signal(SIGXFSZ, SIG_IGN);
    snprintf(path, sizeof(path), "/tmp/mt-linefile-test-%d", (int)getpid());
    test_short_write(p);
    test_many_writers(p);
    test_pipe(p);
    unlink(path);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
