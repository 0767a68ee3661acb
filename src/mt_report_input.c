/* mt_report_input: lines from files and standard input, plain or gzip.
 * httpd-free; see include/mt_report_input.h. The only zlib user. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <apr_strings.h>

#include "mt_report_input.h"

#define RAW_BYTES (256 * 1024)

typedef struct file_t {
    int            fd;
    int            own_fd;           /* close it (not standard input) */
    z_stream       z;
    int            z_on;             /* inflate initialised */
    int            z_done;           /* a member ended; more may follow */
    int            members;          /* members finished */
    int            raw_eof;
    unsigned char *raw;              /* compressed bytes waiting */
    unsigned char *buf;              /* text */
    apr_size_t     start, end;       /* the unread text */
    int            eof;              /* no more text will come */
    int            skipping;         /* inside a line over the limit */
    apr_pool_t    *pool;
} file_t;

static void problem(mt_report_input_t *in, file_t *f, const char *what)
{
    if (!in->problem) in->problem = apr_pstrdup(f->pool, what);
    f->eof = 1;
}

static apr_ssize_t read_some(mt_report_input_t *in, file_t *f, void *to,
                             apr_size_t n)
{
    apr_ssize_t got;

    do {
        got = read(f->fd, to, n);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        problem(in, f, apr_psprintf(f->pool, "read error: %s", strerror(errno)));
        return 0;
    }
    in->bytes += (apr_uint64_t)got;
    return got;
}

/* More compressed input for inflate; 0 at the end of the file. */
static int feed(mt_report_input_t *in, file_t *f)
{
    apr_ssize_t got;

    if (f->z.avail_in > 0) return 1;
    if (f->raw_eof) return 0;
    got = read_some(in, f, f->raw, RAW_BYTES);
    if (got <= 0) {
        f->raw_eof = 1;
        return 0;
    }
    f->z.next_in = f->raw;
    f->z.avail_in = (uInt)got;
    return 1;
}

static void inflate_ended(mt_report_input_t *in, file_t *f, int rc)
{
    if (rc == Z_DATA_ERROR && f->members > 0 && f->z.total_out == 0) {
        problem(in, f, apr_psprintf(f->pool, "bytes that are not gzip after "
                "gzip member %d were ignored", f->members));
    }
    else {
        problem(in, f, apr_psprintf(f->pool, "corrupt gzip data (%s) after "
                "%" APR_UINT64_T_FMT " compressed bytes: the rest of this "
                "file was not read", f->z.msg ? f->z.msg : zError(rc),
                in->bytes));
    }
}

/* Inflate into the text buffer until something came or the input ended. */
static void fill_gzip(mt_report_input_t *in, file_t *f)
{
    apr_size_t cap = MT_REPORT_BUF_BYTES, before = f->end;
    int rc;

    while (f->end == before && !f->eof) {
        if (!feed(in, f)) {
            if (!f->z_done) {
                problem(in, f, apr_psprintf(f->pool, "the gzip stream is cut "
                        "short (a truncated file?): read up to its line %"
                        APR_INT64_T_FMT, in->lines + 1));
            }
            f->eof = 1;
            return;
        }
        if (f->z_done) {              /* another member follows */
            inflateReset(&f->z);
            f->z_done = 0;
        }
        f->z.next_out = f->buf + f->end;
        f->z.avail_out = (uInt)(cap - f->end);
        rc = inflate(&f->z, Z_NO_FLUSH);
        f->end = cap - f->z.avail_out;
        if (rc == Z_STREAM_END) {
            f->z_done = 1;
            f->members++;
        }
        else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            inflate_ended(in, f, rc);
        }
    }
}

static void fill(mt_report_input_t *in, file_t *f)
{
    apr_ssize_t got;

    if (f->eof) return;
    if (f->z_on) {
        fill_gzip(in, f);
        return;
    }
    got = read_some(in, f, f->buf + f->end, MT_REPORT_BUF_BYTES - f->end);
    if (got <= 0) f->eof = 1;
    else f->end += (apr_size_t)got;
}

/* The unread text to the front, so that a line can grow to the limit. */
static void compact(file_t *f)
{
    if (f->start > 0) {
        memmove(f->buf, f->buf + f->start, f->end - f->start);
        f->end -= f->start;
        f->start = 0;
    }
}

static apr_status_t file_next(mt_report_input_t *in, const char **line,
                              apr_size_t *len)
{
    file_t *f = in->ctx;
    unsigned char *nl;

    for (;;) {
        nl = memchr(f->buf + f->start, '\n', f->end - f->start);
        if (nl) {
            apr_size_t at = f->start, n = (apr_size_t)(nl - f->buf) - at;
            f->start = (apr_size_t)(nl - f->buf) + 1;
            if (f->skipping) { f->skipping = 0; continue; }
            in->lines++;
            *line = (const char *)f->buf + at;
            *len = n;
            return n > MT_REPORT_LINE_MAX ? APR_ENOSPC : APR_SUCCESS;
        }
        if (f->skipping || f->end - f->start > MT_REPORT_LINE_MAX) {
            int first = !f->skipping;
            *len = f->end - f->start;
            f->start = f->end = 0;
            f->skipping = 1;
            if (first) {
                in->lines++;
                *line = NULL;
                return APR_ENOSPC;
            }
        }
        compact(f);
        if (f->eof) {
            if (f->end > f->start && !f->skipping) {   /* no newline at the end */
                *line = (const char *)f->buf + f->start;
                *len = f->end - f->start;
                f->start = f->end;
                in->lines++;
                return APR_SUCCESS;
            }
            return APR_EOF;
        }
        fill(in, f);
    }
}

static void file_close(mt_report_input_t *in)
{
    file_t *f = in->ctx;

    if (!f) return;
    if (f->z_on) inflateEnd(&f->z);
    if (f->own_fd && f->fd >= 0) close(f->fd);
    f->fd = -1;
    f->z_on = 0;
    in->ctx = NULL;
}

static const mt_report_input_ops_t file_ops = { file_next, file_close };

/* The first bytes tell gzip from text. */
static void sniff(mt_report_input_t *in, file_t *f)
{
    apr_ssize_t got = read_some(in, f, f->raw, RAW_BYTES);

    if (got >= 2 && f->raw[0] == 0x1f && f->raw[1] == 0x8b) {
        memset(&f->z, 0, sizeof(f->z));
        if (inflateInit2(&f->z, 15 + 16) != Z_OK) {
            problem(in, f, "zlib could not be initialised");
            return;
        }
        f->z_on = in->gzip = 1;
        f->z.next_in = f->raw;
        f->z.avail_in = (uInt)got;
        return;
    }
    if (got > 0) {
        memcpy(f->buf, f->raw, (apr_size_t)got);
        f->end = (apr_size_t)got;
    }
    else {
        f->eof = 1;
    }
}

mt_report_input_t *mt_report_input_file(const char *path, apr_pool_t *p)
{
    mt_report_input_t *in = apr_pcalloc(p, sizeof(*in));
    file_t *f = apr_pcalloc(p, sizeof(*f));
    struct stat st;

    in->name = strcmp(path, "-") != 0 ? apr_pstrdup(p, path) : "standard input";
    in->ops = &file_ops;
    in->ctx = f;
    f->pool = p;
    f->fd = strcmp(path, "-") != 0 ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    f->own_fd = f->fd > 0;
    if (f->fd < 0 || fstat(f->fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        in->failed = 1;
        in->problem = apr_psprintf(p, "cannot read: %s", f->fd >= 0
                                   && S_ISDIR(st.st_mode) ? "a directory"
                                   : strerror(errno));
        file_close(in);
        return in;
    }
    in->size = S_ISREG(st.st_mode) ? (apr_uint64_t)st.st_size : 0;
    f->raw = apr_palloc(p, RAW_BYTES);
    f->buf = apr_palloc(p, MT_REPORT_BUF_BYTES);
    sniff(in, f);
    return in;
}

apr_status_t mt_report_input_next(mt_report_input_t *in, const char **line,
                                  apr_size_t *len)
{
    if (in->failed || !in->ctx) {
        return APR_EOF;
    }
    return in->ops->next(in, line, len);
}

void mt_report_input_close(mt_report_input_t *in)
{
    if (in && in->ops && in->ops->close) {
        in->ops->close(in);
    }
}
