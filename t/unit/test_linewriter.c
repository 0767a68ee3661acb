/* Unit tests of the log sink's writer thread (src/mt_linewriter.c).
 *
 * A SOCK_SEQPACKET socket pair stands for the pipe: it is not a regular
 * file (so the writer cuts at PIPE_BUF, as on a pipe) and every write()
 * arrives as one packet, so the test sees where the writer cut. Asserted:
 * lines are combined into writes of at most PIPE_BUF bytes of whole lines;
 * a line longer than that goes alone, whole; what waits is written after
 * the delay and at stop; a full spool refuses and a full pipe loses, and
 * written + lost is what was taken; on a file every line arrives, in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_general.h>

#include "mt_tap.h"
#include "mt_linefile.h"
#include "mt_linewriter.h"

static apr_pool_t *pool;

typedef struct {
    volatile apr_uint32_t written;
    volatile apr_uint32_t lost;
} counts_t;

static void on_written(void *baton, apr_uint32_t n)
{
    apr_atomic_add32(&((counts_t *)baton)->written, n);
}

static void on_lost(void *baton, apr_uint32_t n, apr_status_t rv)
{
    (void)rv;
    apr_atomic_add32(&((counts_t *)baton)->lost, n);
}

/* Line i of len bytes: "<i> " then x's, newline. */
static apr_size_t line_of(char *buf, int i, apr_size_t len)
{
    int n = snprintf(buf, 32, "%d ", i);

    memset(buf + n, 'x', len - 1 - (size_t)n);
    buf[len - 1] = '\n';
    return len;
}

static mt_linewriter_t *make(int fd, counts_t *c, apr_size_t max_bytes,
                             apr_size_t wake_bytes, apr_interval_time_t delay)
{
    mt_linewriter_opts_t o;
    mt_linefile_t *lf = NULL;
    mt_linewriter_t *w = NULL;

    mt_linewriter_opts_default(&o);
    if (mt_linefile_create(&lf, fd, pool) != APR_SUCCESS) {
        return NULL;
    }
    o.fd = fd;
    o.lf = lf;
    o.max_bytes = max_bytes;
    o.wake_bytes = wake_bytes;
    o.delay = delay;
    o.on_written = on_written;
    o.on_lost = on_lost;
    o.baton = c;
    return mt_linewriter_create(&w, &o, pool) == APR_SUCCESS ? w : NULL;
}

static int seqpacket(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        return 0;
    }
    return fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0;
}

/* Packets waiting on fd (not blocking): their sizes into sizes[], and are
 * they whole lines (each ends in "\n", and every line starts with the
 * number that follows the previous one)? *next: the next line number. */
static int packets(int fd, int *sizes, int max, int *next, int *whole)
{
    static char buf[65536];
    int n = 0;
    ssize_t got;

    while (n < max && (got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        char *at = buf, *end = buf + got;
        sizes[n++] = (int)got;
        *whole &= buf[got - 1] == '\n';
        while (at < end) {
            char *nl = memchr(at, '\n', (size_t)(end - at));
            *whole &= nl != NULL && atoi(at) == *next;
            (*next)++;
            at = nl ? nl + 1 : end;
        }
    }
    return n;
}

/* Wait up to 10 s for a packet on fd. */
static int readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, 10000) > 0;
}

static void test_batches(void)
{
    counts_t c = { 0, 0 };
    char line[300];
    int sv[2], sizes[16], next = 0, whole = 1, n, i, taken = 0;
    mt_linewriter_t *w;

    ok(seqpacket(sv), "a socket pair");
    /* No wake-up by bytes, no delay worth the name: only stop writes. */
    w = make(sv[0], &c, 1 << 20, 1 << 20, apr_time_from_sec(600));
    ok(w && mt_linewriter_start(w) == APR_SUCCESS, "writer started");
    for (i = 0; i < 30; i++) {
        taken += mt_linewriter_put(w, line, line_of(line, i, sizeof(line)))
                 == APR_SUCCESS;
    }
    is_int(taken, 30, "30 lines of 300 bytes taken");
    is_int(packets(sv[1], sizes, 16, &next, &whole), 0,
           "nothing written before the delay or a stop");
    is_int(mt_linewriter_pending(w), 30, "30 pending");
    mt_linewriter_stop(w);
    n = packets(sv[1], sizes, 16, &next, &whole);
    /* 13 lines (3,900 bytes) fit in PIPE_BUF (4,096), 14 do not */
    ok(n == 3 && sizes[0] == 13 * 300 && sizes[1] == 13 * 300
       && sizes[2] == 4 * 300, "stop wrote them in 3 writes of whole lines "
       "up to PIPE_BUF (%d: %d, %d, %d)", n, sizes[0], n > 1 ? sizes[1] : 0,
       n > 2 ? sizes[2] : 0);
    ok(whole && next == 30, "every line whole, in order, once");
    is_int(c.written, 30, "30 told written");
    is_int(c.lost, 0, "none lost");
    is_int(mt_linewriter_put(w, line, sizeof(line)), APR_EOF,
           "after stop, put refuses");
    mt_linewriter_stop(w);
    ok(1, "stop twice is fine");
    close(sv[0]);
    close(sv[1]);
}

static void test_oversize(void)
{
    counts_t c = { 0, 0 };
    static char big[PIPE_BUF + 2000];
    char line[100];
    int sv[2], sizes[8], next = 0, whole = 1, n;
    mt_linewriter_t *w;

    ok(seqpacket(sv), "a socket pair");
    w = make(sv[0], &c, 1 << 20, 1 << 20, apr_time_from_sec(600));
    ok(w && mt_linewriter_start(w) == APR_SUCCESS, "writer started");
    mt_linewriter_put(w, line, line_of(line, 0, sizeof(line)));
    mt_linewriter_put(w, big, line_of(big, 1, sizeof(big)));
    mt_linewriter_put(w, line, line_of(line, 2, sizeof(line)));
    is_int(mt_linewriter_put(w, "no newline", 10), APR_EINVAL,
           "a line without its newline is refused");
    mt_linewriter_stop(w);
    n = packets(sv[1], sizes, 8, &next, &whole);
    ok(n == 3 && sizes[0] == 100 && sizes[1] == (int)sizeof(big)
       && sizes[2] == 100, "a line over PIPE_BUF goes alone, whole, "
       "between its neighbours (%d writes)", n);
    ok(whole && next == 3, "all three whole, in order");
    is_int(c.written, 3, "3 told written");
    close(sv[0]);
    close(sv[1]);
}

static void test_delay(void)
{
    counts_t c = { 0, 0 };
    char line[200];
    int sv[2], sizes[8], next = 0, whole = 1, n;
    mt_linewriter_t *w;

    ok(seqpacket(sv), "a socket pair");
    /* far below the wake mark: only the delay (20 ms) writes them */
    w = make(sv[0], &c, 1 << 20, 1 << 20, apr_time_from_msec(20));
    mt_linewriter_put(w, line, line_of(line, 0, sizeof(line)));
    mt_linewriter_put(w, line, line_of(line, 1, sizeof(line)));
    mt_linewriter_put(w, line, line_of(line, 2, sizeof(line)));
    ok(w && mt_linewriter_start(w) == APR_SUCCESS, "writer started");
    ok(readable(sv[1]), "written without a stop, after the delay");
    n = packets(sv[1], sizes, 8, &next, &whole);
    ok(n == 1 && sizes[0] == 600 && whole,
       "three lines in one write (%d writes)", n);
    mt_linewriter_put(w, line, line_of(line, 3, sizeof(line)));
    ok(readable(sv[1]) && packets(sv[1], sizes, 8, &next, &whole) == 1
       && whole && next == 4, "and the next one, later, alone");
    /* told after its write() returned: a reader can see the line first,
     * so the count is read once the stop has joined the writer */
    mt_linewriter_stop(w);
    is_int(c.written, 4, "4 told written");
    close(sv[0]);
    close(sv[1]);
}

/* The spool's bound refuses (the writer behind: not started here). */
static void test_spool_full(void)
{
    counts_t c = { 0, 0 };
    char line[300];
    int sv[2], i, taken = 0, refused = 0, sizes[8], next = 0, whole = 1;
    mt_linewriter_t *w;

    ok(seqpacket(sv), "a socket pair");
    w = make(sv[0], &c, 1000, 1 << 20, apr_time_from_sec(600));
    for (i = 0; w && i < 5; i++) {
        apr_status_t rv = mt_linewriter_put(w, line,
                                            line_of(line, i, sizeof(line)));
        taken += rv == APR_SUCCESS;
        refused += APR_STATUS_IS_EAGAIN(rv);
    }
    ok(taken == 3 && refused == 2, "1000 bytes hold 3 lines of 300 (took "
       "%d), the rest is refused (%d)", taken, refused);
    ok(w && mt_linewriter_start(w) == APR_SUCCESS, "writer started");
    mt_linewriter_stop(w);
    packets(sv[1], sizes, 8, &next, &whole);
    ok(whole && next == 3 && c.written == 3 && c.lost == 0,
       "the 3 taken are written at stop");
    close(sv[0]);
    close(sv[1]);
}

/* A full pipe (nobody reads) loses the lines of a refused write at once,
 * counted; the writer never waits for room, and never breaks a line. */
static void test_pipe_full(void)
{
    counts_t c = { 0, 0 };
    char line[500];
    static char buf[1 << 16];
    int p[2], i, taken = 0, whole = 1, lines = 0;
    mt_linewriter_t *w;
    ssize_t got;
    apr_size_t part = 0;

    ok(pipe2(p, O_CLOEXEC) == 0 && fcntl(p[1], F_SETFL, O_NONBLOCK) == 0,
       "a non-blocking pipe");
    w = make(p[1], &c, 1 << 22, 1, 0);
    ok(w && mt_linewriter_start(w) == APR_SUCCESS, "writer started");
    for (i = 0; i < 2000; i++) {      /* 1 MB into a 64 KiB pipe */
        taken += mt_linewriter_put(w, line, line_of(line, i, sizeof(line)))
                 == APR_SUCCESS;
    }
    mt_linewriter_stop(w);
    ok(c.lost > 0, "lines were lost (%u)", c.lost);
    is_int(c.written + c.lost, taken, "written + lost = taken");
    while ((got = read(p[0], buf + part, sizeof(buf) - part)) > 0) {
        apr_size_t len = part + (apr_size_t)got, at = 0;
        char *nl;
        while ((nl = memchr(buf + at, '\n', len - at)) != NULL) {
            whole &= (apr_size_t)(nl - (buf + at)) + 1 == sizeof(line);
            lines++;
            at = (apr_size_t)(nl - buf) + 1;
        }
        memmove(buf, buf + at, len - at);
        part = len - at;
        if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0) {
            break;
        }
    }
    ok(whole && part == 0, "the pipe holds whole lines only");
    is_int(lines, c.written, "as many as told written");
    close(p[0]);
    close(p[1]);
}

/* On a file: bigger writes, every line there in order. */
static void test_file(void)
{
    counts_t c = { 0, 0 };
    char path[] = "/tmp/mt-linewriter-XXXXXX", line[700];
    static char buf[1 << 20];
    int fd = mkstemp(path), i, next = 0, whole = 1;
    mt_linewriter_t *w;
    ssize_t got;
    char *at, *end;

    ok(fd >= 0, "a file");
    w = make(fd, &c, 1 << 20, 1 << 20, apr_time_from_sec(600));
    ok(w && mt_linewriter_start(w) == APR_SUCCESS, "writer started");
    for (i = 0; i < 1000; i++) {
        mt_linewriter_put(w, line, line_of(line, i, sizeof(line)));
    }
    mt_linewriter_stop(w);
    got = pread(fd, buf, sizeof(buf), 0);
    for (at = buf, end = buf + (got > 0 ? got : 0); at < end; next++) {
        char *nl = memchr(at, '\n', (size_t)(end - at));
        whole &= nl != NULL && atoi(at) == next;
        at = nl ? nl + 1 : end;
    }
    ok(got == 1000 * 700 && whole && next == 1000,
       "1000 lines in the file, whole and in order");
    is_int(c.written, 1000, "1000 told written");
    close(fd);
    unlink(path);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_batches();
    test_oversize();
    test_delay();
    test_spool_full();
    test_pipe_full();
    test_file();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
