/* mt_report_input: where memtrack-report's lines come from.
 *
 * httpd-free. An input hands out lines one at a time, whatever it reads:
 *
 *   a file or standard input ("-"), plain or gzip-compressed (told by its
 *       first bytes, not its name; several gzip members one after another,
 *       as `cat a.gz b.gz` makes, are read as one stream), through a 1 MiB
 *       buffer: memory per input is bounded whatever the file;
 *   the Redis stream memtrack:stream (mt_report_redis.c), read in batches.
 *
 * Nothing an input meets stops the report: a line longer than
 * MT_REPORT_LINE_MAX is skipped to its newline and reported as such
 * (APR_ENOSPC, counted as a line); a gzip stream that is cut short, corrupt
 * or followed by garbage, or a read error, ends that input with its lines so
 * far and says why in `problem`. An input that cannot be opened at all has
 * `failed` set and hands out nothing.
 */
#ifndef MT_REPORT_INPUT_H
#define MT_REPORT_INPUT_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mt_limits.h"   /* MT_REPORT_LINE_MAX, MT_REPORT_BUF_BYTES */

typedef struct mt_report_input_t mt_report_input_t;

typedef struct mt_report_input_ops_t {
    apr_status_t (*next)(mt_report_input_t *in, const char **line,
                         apr_size_t *len);
    void         (*close)(mt_report_input_t *in);
} mt_report_input_ops_t;

struct mt_report_input_t {
    const char  *name;               /* for messages: the path, "-", the
                                      * Redis address (no password) */
    const mt_report_input_ops_t *ops;
    void        *ctx;
    apr_int64_t  lines;              /* lines handed out: the line number of
                                      * the last one */
    apr_uint64_t bytes;              /* bytes read (compressed for gzip) */
    apr_uint64_t size;               /* the file's size when known, else 0 */
    int          gzip;
    int          failed;             /* nothing could be read */
    const char  *problem;            /* why it ended early or failed, NULL */
};

/* Open a file ("-": standard input). Always returns an input; on trouble
 * it has failed set and problem saying why. */
mt_report_input_t *mt_report_input_file(const char *path, apr_pool_t *p);

/* The next line (without its newline; valid until the next call):
 * APR_SUCCESS; APR_ENOSPC for a line over MT_REPORT_LINE_MAX, skipped
 * (*len is what was seen of it); APR_EOF at the end (see problem). */
apr_status_t mt_report_input_next(mt_report_input_t *in, const char **line,
                                  apr_size_t *len);

void mt_report_input_close(mt_report_input_t *in);

/* A connection to url (the MemTrackRedis forms), AUTH and SELECT done, 3 s
 * to connect, 30 s per command; NULL with *problem in words. *name is the
 * address without its password. (mt_report_redis.c) */
struct redisContext;
struct redisContext *mt_report_redis_connect(const char *url,
                                             const char **name,
                                             const char **problem,
                                             apr_pool_t *p);

/* The Redis stream (mt_report_redis.c): url as MemTrackRedis takes it;
 * entries from since (0: the first) to until (0: the last one now). */
mt_report_input_t *mt_report_input_redis(const char *url, apr_time_t since,
                                         apr_time_t until, apr_pool_t *p);

#endif
