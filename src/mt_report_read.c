/* mt_report_read: every input's lines, parsed and merged by time into the
 * report. httpd-free; see include/mt_report.h.
 *
 * Each source holds its next good record (its head); the source whose head
 * is oldest gives the next record. Inputs that are each roughly in time
 * order (log files, rotated pieces of one, the Redis stream) so come out in
 * one time order whatever order they were named in, with one record per
 * input in memory; the report's window sorts what is left.
 */
#include <string.h>
#include <apr_strings.h>

#include "mt_report.h"

static void bad_line(mt_report_source_t *s, const char *why)
{
    if (s->bad++ == 0) {
        s->first_bad_line = s->in->lines;
        apr_cpystrn(s->first_bad, why, sizeof(s->first_bad));
    }
}

/* The source's next good record into its head; 0 at its end. */
static int advance(mt_report_t *r, mt_report_source_t *s)
{
    char server[MT_REPORT_SERVER_MAX + 1], why[160];
    mt_report_err_t err;
    const char *line;
    apr_size_t len;
    apr_status_t rv;

    for (;;) {
        rv = mt_report_input_next(s->in, &line, &len);
        if (rv == APR_EOF) {
            s->has_head = 0;
            return 0;
        }
        if (rv == APR_ENOSPC) {
            apr_snprintf(why, sizeof(why), "longer than %d bytes",
                         MT_REPORT_LINE_MAX);
            bad_line(s, why);
            continue;
        }
        if (mt_report_parse(&s->head, server, sizeof(server), &err, line, len)
            != APR_SUCCESS) {
            bad_line(s, mt_report_err_text(why, sizeof(why), &err));
            continue;
        }
        s->head.server = mt_report_server(r, server);
        s->records++;
        s->has_head = 1;
        return 1;
    }
}

static int older(const mt_report_source_t *a, const mt_report_source_t *b)
{
    return a->head.key < b->head.key;
}

/* A heap of source indexes on their heads' keys. */
static void sift_down(unsigned int *h, unsigned int n, unsigned int i,
                      const mt_report_source_t *src)
{
    unsigned int x = h[i];

    for (;;) {
        unsigned int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && older(&src[h[c + 1]], &src[h[c]])) c++;
        if (!older(&src[h[c]], &src[x])) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

void mt_report_read(mt_report_t *r, mt_report_source_t *src, unsigned int n,
                    mt_report_progress_fn progress, void *ctx)
{
    unsigned int heap[MT_REPORT_SOURCES_MAX], k = 0, i;
    apr_int64_t since = 0;

    if (n > MT_REPORT_SOURCES_MAX) n = MT_REPORT_SOURCES_MAX;
    for (i = 0; i < n; i++) {
        if (advance(r, &src[i])) heap[k++] = i;
    }
    for (i = k / 2 + 1; i-- > 0;) {
        if (i < k) sift_down(heap, k, i, src);
    }
    while (k > 0) {
        mt_report_source_t *s = &src[heap[0]];
        mt_report_add(r, &s->head);
        if (!advance(r, s)) heap[0] = heap[--k];
        if (k > 0) sift_down(heap, k, 0, src);
        if (progress && ++since == 65536) {
            since = 0;
            progress(ctx, r, src, n);
        }
    }
    mt_report_finish(r);
    if (progress) progress(ctx, r, src, n);
}
