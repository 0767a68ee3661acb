/* mt_sample: /proc readers. httpd-free.
 *
 * Descriptors stay open: /proc/<pid>/statm re-read with pread() at offset 0
 * returns fresh numbers each time, at a fraction of the cost of
 * open+read+close. pread() keeps no file position, so one handle serves
 * every thread of a child at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <malloc.h>
#include <apr_strings.h>

#include "mt_sample.h"
#include "mt_util.h"

struct mt_proc_t {
    int pid;
    apr_uint64_t start_ticks;
    int statm_fd;
    int status_fd;
    apr_int64_t page_bytes;
};

static apr_status_t proc_close(void *data)
{
    mt_proc_t *proc = data;

    if (proc->statm_fd >= 0) close(proc->statm_fd);
    if (proc->status_fd >= 0) close(proc->status_fd);
    proc->statm_fd = proc->status_fd = -1;
    return APR_SUCCESS;
}

static int open_proc_file(int pid, const char *name)
{
    char path[64];

    if (pid) {
        snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
    }
    else {
        snprintf(path, sizeof(path), "/proc/self/%s", name);
    }
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* statm counts pages. */
static apr_int64_t page_bytes(void)
{
    long page = sysconf(_SC_PAGESIZE);

    return page > 0 ? page : 4096;
}

apr_status_t mt_proc_open(mt_proc_t **pproc, int pid, apr_pool_t *p)
{
    mt_proc_t *proc = apr_pcalloc(p, sizeof(*proc));

    proc->pid = pid ? pid : (int)getpid();
    proc->page_bytes = page_bytes();
    proc->statm_fd = open_proc_file(pid, "statm");
    if (proc->statm_fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    proc->status_fd = open_proc_file(pid, "status");
    if (mt_sample_started(pid, &proc->start_ticks) != APR_SUCCESS) {
        proc->start_ticks = 0;
    }
    apr_pool_cleanup_register(p, proc, proc_close, apr_pool_cleanup_null);
    *pproc = proc;
    return APR_SUCCESS;
}

int mt_proc_pid(const mt_proc_t *proc)
{
    return proc->pid;
}

apr_uint64_t mt_proc_started(const mt_proc_t *proc)
{
    return proc->start_ticks;
}

void mt_sample_clear(mt_sample_t *s)
{
    s->rss_bytes = s->vsize_bytes = s->shared_bytes = MT_UNKNOWN;
    s->rss_anon_bytes = s->swap_bytes = s->peak_rss_bytes = MT_UNKNOWN;
}

/* Read a whole small /proc file into buf through a kept-open descriptor. */
static apr_status_t read_fd(int fd, char *buf, apr_size_t size)
{
    ssize_t n;

    if (fd < 0) return APR_EBADF;
    do {
        n = pread(fd, buf, size - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return n < 0 ? APR_FROM_OS_ERROR(errno) : APR_EOF;
    }
    buf[n] = '\0';
    return APR_SUCCESS;
}

/* A count of at most 7 digits at s, where 8 bytes may be read, in a few
 * multiplications instead of a loop over its digits (the SWAR method of
 * W. Mula and D. Lemire). NULL for an empty run or one of 8 digits or
 * more: the caller then takes the loop. */
static const char *count8(apr_int64_t *v, const char *s)
{
    const uint64_t hi = 0xF0F0F0F0F0F0F0F0ULL, zeros = 0x3030303030303030ULL;
    uint64_t w, other;
    unsigned int n;

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    (void)v; (void)s;
    return NULL;        /* byte 0 is the first character only on little
                         * endian machines: the loop elsewhere */
#endif
    memcpy(&w, s, 8);
    /* a nonzero byte for each byte that is not a digit; a carry out of
     * the + 6 only reaches bytes after the first such byte */
    other = ((w & hi) ^ zeros) | (((w + 0x0606060606060606ULL) & hi) ^ zeros);
    if (other == 0) {
        return NULL;
    }
    n = (unsigned int)__builtin_ctzll(other) / 8;
    if (n == 0) {
        return NULL;
    }
    w <<= 8 * (8 - n);          /* leading zeros in front, as bytes 0 */
    w = ((w & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;
    w = ((w & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
    w = ((w & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
    *v = (apr_int64_t)w;
    return s + n;
}

/* One count of a padded statm: the quick way for up to 7 digits after one
 * space, the careful one for anything else. */
static const char *statm_count(apr_int64_t *v, const char *s, apr_int64_t max)
{
    const char *e = count8(v, s + (*s == ' '));

    return e && *v <= max ? e : mt_dec_scan(v, s, max);
}

/* The counts of statm at text; padded: 8 bytes may be read past any of
 * its bytes (mt_sample_statm's buffer), so the quick way may be taken. */
static apr_status_t parse_statm(mt_sample_t *s, const char *text,
                                apr_int64_t page_bytes, int padded)
{
    /* Pages; a count whose bytes would not fit is refused. */
    apr_int64_t max = APR_INT64_MAX / (page_bytes > 0 ? page_bytes : 1);
    apr_int64_t v[3];
    int i;

    /* By hand rather than sscanf or strtoll: this runs twice per request,
     * and their setup (locale, errno) cost more than the digits. */
    for (i = 0; i < 3; i++) {
        text = padded ? statm_count(&v[i], text, max)
                      : mt_dec_scan(&v[i], text, max);
        if (text == NULL) {
            return APR_EINVAL;
        }
    }
    if (v[0] == 0) {
        /* A zombie (exited, not yet reaped) reads "0 0 0 0 0 0 0": gone,
         * not a process of zero bytes. */
        return APR_ENOENT;
    }
    s->vsize_bytes = v[0] * page_bytes;
    s->rss_bytes = v[1] * page_bytes;
    s->shared_bytes = v[2] * page_bytes;
    /* statm's "shared" is RssFile + RssShmem, so the rest is RssAnon. */
    s->rss_anon_bytes = s->rss_bytes >= s->shared_bytes
                        ? s->rss_bytes - s->shared_bytes : MT_UNKNOWN;
    return APR_SUCCESS;
}

apr_status_t mt_sample_parse_statm(mt_sample_t *s, const char *text,
                                   apr_int64_t page_bytes)
{
    return parse_statm(s, text, page_bytes, 0);
}

apr_status_t mt_sample_parse_statm_padded(mt_sample_t *s, const char *buf,
                                          apr_int64_t page_bytes)
{
    return parse_statm(s, buf, page_bytes, 1);
}

apr_status_t mt_sample_statm(mt_sample_t *s, mt_proc_t *proc)
{
    /* zeroed, so that 8 bytes past the text's NUL may be read */
    char buf[128 + MT_STATM_PAD] = { 0 };
    apr_status_t rv;

    if (APR_SUCCESS != (rv = read_fd(proc->statm_fd, buf, 128))) {
        return rv;
    }
    return parse_statm(s, buf, proc->page_bytes, 1);
}

/* A /proc file of another process, by its real pid (never "self"). */
static int open_pid_file(int pid, const char *name)
{
    if (pid <= 0) {
        errno = EINVAL;
        return -1;
    }
    return open_proc_file(pid, name);
}

int mt_sample_open_statm(int pid)
{
    return open_pid_file(pid, "statm");
}

int mt_sample_open_status(int pid)
{
    return open_pid_file(pid, "status");
}

/* A handle around borrowed descriptors (no cleanup: the caller owns them). */
static void borrow(mt_proc_t *proc, int statm_fd, int status_fd)
{
    proc->pid = 0;
    proc->start_ticks = 0;
    proc->page_bytes = page_bytes();
    proc->statm_fd = statm_fd;
    proc->status_fd = status_fd;
}

apr_status_t mt_sample_statm_fd(mt_sample_t *s, int fd)
{
    mt_proc_t proc;

    borrow(&proc, fd, -1);
    return mt_sample_statm(s, &proc);
}

apr_status_t mt_sample_status_fd(mt_sample_t *s, int fd)
{
    mt_proc_t proc;

    borrow(&proc, -1, fd);
    return mt_sample_status(s, &proc);
}

/* The value in kB of "Key:   123 kB" lines, as bytes. */
static apr_int64_t status_kb(const char *text, const char *key)
{
    const char *line = text;
    apr_size_t klen = strlen(key);

    while (line && *line) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            apr_int64_t kb;
            return mt_dec_scan(&kb, line + klen + 1, APR_INT64_MAX / 1024)
                   ? kb * 1024 : MT_UNKNOWN;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    return MT_UNKNOWN;
}

apr_status_t mt_sample_parse_status(mt_sample_t *s, const char *text)
{
    apr_int64_t anon = status_kb(text, "RssAnon");

    if (anon != MT_UNKNOWN) {
        s->rss_anon_bytes = anon;
    }
    s->swap_bytes = status_kb(text, "VmSwap");
    s->peak_rss_bytes = status_kb(text, "VmHWM");
    return s->peak_rss_bytes == MT_UNKNOWN ? APR_EINVAL : APR_SUCCESS;
}

apr_status_t mt_sample_status(mt_sample_t *s, mt_proc_t *proc)
{
    char buf[4096];
    apr_status_t rv;

    if (APR_SUCCESS != (rv = read_fd(proc->status_fd, buf, sizeof(buf)))) {
        return rv;
    }
    return mt_sample_parse_status(s, buf);
}

/* Field n (3 or later, numbered as in proc(5)) of the text of a stat file,
 * a decimal number. "pid (comm) state ppid ...": comm may hold ") ", so the
 * fields start after the last ')'; field 3 (state) is the first after it. */
static apr_status_t parse_stat_field(const char *text, int n, apr_uint64_t *v)
{
    const char *p = strrchr(text, ')');
    const char *end;
    apr_int64_t x;
    int field;

    if (p == NULL || n < 3) {
        return APR_EINVAL;
    }
    p++;
    for (field = 3; field < n; field++) {
        while (*p == ' ') p++;
        if (*p == '\0') return APR_EINVAL;
        while (*p != ' ' && *p != '\0') p++;
    }
    while (*p == ' ') p++;
    if ((end = mt_dec_scan(&x, p, APR_INT64_MAX)) == NULL
        || (*end != ' ' && *end != '\0' && *end != '\n')) {
        return APR_EINVAL;
    }
    *v = (apr_uint64_t)x;
    return APR_SUCCESS;
}

/* Field n of /proc/<pid>/stat (pid 0: this process). */
static apr_status_t stat_field(int pid, int n, apr_uint64_t *v)
{
    char buf[1024];
    apr_status_t rv;
    int fd = pid >= 0 ? open_proc_file(pid, "stat") : -1;

    if (fd < 0) {
        return pid < 0 ? APR_EINVAL : APR_FROM_OS_ERROR(errno);
    }
    rv = read_fd(fd, buf, sizeof(buf));
    close(fd);
    return rv == APR_SUCCESS ? parse_stat_field(buf, n, v) : rv;
}

apr_status_t mt_sample_parse_started(const char *text, apr_uint64_t *start_ticks)
{
    return parse_stat_field(text, 22, start_ticks);    /* starttime */
}

apr_status_t mt_sample_started(int pid, apr_uint64_t *start_ticks)
{
    return stat_field(pid, 22, start_ticks);
}

apr_status_t mt_sample_parent(int pid, int *ppid)
{
    apr_uint64_t v = 0;
    apr_status_t rv = stat_field(pid, 4, &v);      /* ppid */

    if (rv == APR_SUCCESS && v > INT_MAX) {
        rv = APR_EINVAL;
    }
    *ppid = rv == APR_SUCCESS ? (int)v : -1;
    return rv;
}

apr_status_t mt_sample_fd_count(int *nfds)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (!dir) {
        return APR_FROM_OS_ERROR(errno);
    }
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(dir);
    *nfds = n - 1;   /* the directory's own descriptor */
    return APR_SUCCESS;
}

/* Under AddressSanitizer malloc is its allocator, which glibc's mallinfo2
 * does not see; its own count is there when its runtime is loaded. */
extern size_t __sanitizer_get_current_allocated_bytes(void)
    __attribute__((weak));

apr_status_t mt_sample_heap_in_use(apr_int64_t *bytes)
{
    struct mallinfo2 mi;

    if (__sanitizer_get_current_allocated_bytes) {
        *bytes = (apr_int64_t)__sanitizer_get_current_allocated_bytes();
        return APR_SUCCESS;
    }
    mi = mallinfo2();
    *bytes = (apr_int64_t)(mi.uordblks + mi.hblkhd);
    return APR_SUCCESS;
}
