/* mt_linefile: whole lines only (see include/mt_linefile.h for the why). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_atomic.h>

#include "mt_linefile.h"

struct mt_linefile_t {
    int                   fd;
    volatile apr_uint32_t dirty;   /* a partial line may end the output */
};

apr_status_t mt_linefile_create(mt_linefile_t **plf, int fd, apr_pool_t *p)
{
    mt_linefile_t *lf = apr_pcalloc(p, sizeof(*lf));

    if (fd < 0) {
        return APR_EBADF;
    }
    lf->fd = fd;
    *plf = lf;
    return APR_SUCCESS;
}

int mt_linefile_dirty(mt_linefile_t *lf)
{
    return (int)apr_atomic_read32(&lf->dirty);
}

static ssize_t write_once(int fd, const char *buf, apr_size_t len)
{
    ssize_t n;

    do {
        n = write(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n;
}

/* Are the file's last len bytes those of tail? Read back in pieces. */
static int ends_with(int fd, apr_off_t size, const char *tail, apr_size_t len)
{
    char buf[4096];
    apr_size_t done = 0;

    while (done < len) {
        apr_size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)(size - (apr_off_t)len
                                                 + (apr_off_t)done));
        if (n <= 0 || memcmp(buf, tail + done, (size_t)n) != 0) {
            return 0;
        }
        done += (apr_size_t)n;
    }
    return 1;
}

/* Take the last len bytes (tail, a part of a line) off the file, when they
 * are still its last bytes. 1 when done. */
static int take_back(int fd, const char *tail, apr_size_t len)
{
    struct stat st;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
        || st.st_size < (off_t)len
        || !ends_with(fd, st.st_size, tail, len)) {
        return 0;
    }
    return ftruncate(fd, st.st_size - (off_t)len) == 0;
}

/* A short write of n bytes of buf: keep its whole lines, take the rest
 * back, or mark the output when that cannot be done. */
static apr_size_t repair(mt_linefile_t *lf, const char *buf, apr_size_t n)
{
    apr_size_t whole = n;

    while (whole > 0 && buf[whole - 1] != '\n') {
        whole--;
    }
    if (whole < n && !take_back(lf->fd, buf + whole, n - whole)) {
        apr_atomic_set32(&lf->dirty, 1);
    }
    return whole;
}

apr_status_t mt_linefile_write(mt_linefile_t *lf, const char *buf,
                               apr_size_t len, apr_size_t *kept)
{
    apr_size_t dummy = 0;
    ssize_t n;

    kept = kept ? kept : &dummy;
    *kept = 0;
    if (apr_atomic_read32(&lf->dirty)) {
        /* End the partial line first; nothing else goes until it is. */
        n = write_once(lf->fd, "\n", 1);
        if (n != 1) {
            return n < 0 ? APR_FROM_OS_ERROR(errno) : APR_INCOMPLETE;
        }
        apr_atomic_set32(&lf->dirty, 0);
    }
    n = write_once(lf->fd, buf, len);
    if (n < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if ((apr_size_t)n == len) {
        *kept = len;
        return APR_SUCCESS;
    }
    *kept = repair(lf, buf, (apr_size_t)n);
    return APR_INCOMPLETE;
}
