/* mt_linefile: whole lines only (see include/mt_linefile.h for the why). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_thread_mutex.h>

#include "mt_linefile.h"

struct mt_linefile_t {
    int                   fd;
    int                   is_file;  /* a regular file: lock around writes */
    apr_thread_mutex_t   *mu;       /* this child's threads, files only */
    volatile apr_uint32_t dirty;   /* a partial line may end the output */
};

apr_status_t mt_linefile_create(mt_linefile_t **plf, int fd, apr_pool_t *p)
{
    mt_linefile_t *lf = apr_pcalloc(p, sizeof(*lf));

    struct stat st;
    apr_status_t rv;

    if (fd < 0) {
        return APR_EBADF;
    }
    lf->fd = fd;
    lf->is_file = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (lf->is_file && (rv = apr_thread_mutex_create(&lf->mu,
                             APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    *plf = lf;
    return APR_SUCCESS;
}

/* The whole file, for writing, by this process (F_SETLKW: other children
 * wait their turn; a signal interrupting the wait retries it). */
static int file_lock(int fd, short type)
{
    struct flock fl;
    int rc;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    do {
        rc = fcntl(fd, type == F_UNLCK ? F_SETLK : F_SETLKW, &fl);
    } while (rc < 0 && errno == EINTR);
    return rc;
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

static apr_status_t write_lines(mt_linefile_t *lf, const char *buf,
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

apr_status_t mt_linefile_write(mt_linefile_t *lf, const char *buf,
                               apr_size_t len, apr_size_t *kept)
{
    apr_status_t rv;
    int locked;

    if (!lf->is_file) {
        return write_lines(lf, buf, len, kept);
    }
    apr_thread_mutex_lock(lf->mu);
    /* without the lock (a file system that refuses it) the write still
     * goes, with the old, small gap */
    locked = file_lock(lf->fd, F_WRLCK) == 0;
    rv = write_lines(lf, buf, len, kept);
    if (locked) {
        file_lock(lf->fd, F_UNLCK);
    }
    apr_thread_mutex_unlock(lf->mu);
    return rv;
}
