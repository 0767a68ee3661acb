/* mt_report_hd: heap diff results as an input of memtrack-report.
 *
 * httpd-free. The module writes each heap diff result (README "Heap
 * diffs") as MemTrackHeapDiffDir/memtrack-heapdiff-<token>.json and, with
 * MemTrackHeapDiffRedisTTL, as memtrack:heap:<server>-<pid>-<pid_start>:result.
 * Here they are read back (--heap-diff PATH, --redis): every document is
 * parsed with json-c (strict, UTF-8 checked, at most MT_REPORT_HD_DOC_MAX
 * bytes, nested at most 8 deep) into the module's own fixed-size result
 * (mt_heapctl_result_t), every field checked for its type and bounds, so
 * that the outputs write it with the module's writer (mt_heapview.c):
 * normalized, and never more than the struct holds. A bad document is
 * one message naming its file or key and is skipped.
 *
 * The set keeps the MT_REPORT_HD_KEEP newest (by finished, else started)
 * and counts the rest.
 */
#ifndef MT_REPORT_HD_H
#define MT_REPORT_HD_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "mt_heapctl.h"
#include "mt_limits.h"   /* MT_REPORT_HD_* */

typedef struct mt_report_hd_t {
    mt_heapctl_result_t res;
    char        server[MT_REPORT_HD_SERVER_MAX + 1];  /* "" unknown */
    const char *source;                     /* the file or the key */
} mt_report_hd_t;

/* Called once per bad document or unreadable input: name, why. */
typedef void (*mt_report_hd_say_fn)(void *ctx, const char *name,
                                    const char *why);

typedef struct mt_report_hds_t {
    mt_report_hd_t     *items;       /* MT_REPORT_HD_KEEP slots */
    unsigned int        n;           /* kept */
    apr_int64_t         left_out;    /* good ones beyond the newest kept */
    apr_int64_t         bad;         /* documents skipped */
    int                 failed;      /* an input could not be read at all */
    mt_report_hd_say_fn say;
    void               *say_ctx;
    apr_pool_t         *pool;
} mt_report_hds_t;

void mt_report_hds_init(mt_report_hds_t *s, mt_report_hd_say_fn say,
                        void *ctx, apr_pool_t *p);

/* Parse one document (len bytes, need not end in NUL). APR_SUCCESS with
 * out filled, else APR_EINVAL with why (whylen bytes) in words. */
apr_status_t mt_report_hd_parse(mt_report_hd_t *out, const char *doc,
                                apr_size_t len, char *why, apr_size_t whylen);

/* Add a parsed result (kept if among the newest). */
void mt_report_hds_add(mt_report_hds_t *s, const mt_report_hd_t *hd);

/* Parse one document named name (a file, a key; server "" unknown) and
 * add it, or say why not and count it bad. */
void mt_report_hds_take(mt_report_hds_t *s, const char *name,
                        const char *server, const char *doc, apr_size_t len);

/* A result file, or a directory's memtrack-heapdiff-*.json files. */
void mt_report_hds_path(mt_report_hds_t *s, const char *path);

/* The memtrack:heap:*:result keys of a Redis (the --redis URL forms). */
void mt_report_hds_redis(mt_report_hds_t *s, const char *url);

/* Kept results, newest first. */
void mt_report_hds_sort(mt_report_hds_t *s);

/* When a result happened: finished, else started. */
apr_time_t mt_report_hd_when(const mt_report_hd_t *hd);

#endif
