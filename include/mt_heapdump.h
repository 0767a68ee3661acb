/* mt_heapdump: a streaming reader of Ruby's ObjectSpace.dump_all output.
 *
 * httpd-free core. A dump is JSON Lines: one object per line,
 *
 *   {"address":"0x7f4e72ec3408", "type":"STRING", "class":"0x7f4e7639e420",
 *    "bytesize":21, "value":"...", "file":"app/x.rb", "line":12,
 *    "generation":9, "memsize":40, "flags":{"wb_protected":true}}
 *
 * of hundreds of MB for a large process, with lines of any length (a
 * string's "value" is dumped whole). The reader is a push parser: bytes go
 * in in chunks of any size (a file's 64 KiB reads, or one byte at a time in
 * the unit tests) and each complete line comes out as an mt_heapobj_t with
 * the fields the heap diff needs; everything else (values, references,
 * flags) is skipped without being kept. Memory is the parser struct and
 * nothing else: the kept strings are capped (MT_HEAPDUMP_STR_MAX), a value
 * longer than that is cut (a file name keeps its last bytes: the part
 * that tells files apart). Bad lines (not one JSON object, cut short by a
 * full disk) are skipped and counted, never fatal.
 *
 * The JSON is Ruby's own (objspace_dump.c): keys are plain words, strings
 * escape '"', '\\' and control bytes, other bytes come raw (possibly
 * invalid UTF-8: the renderers clean them). The parser accepts any JSON
 * object on a line all the same: nested objects and arrays, escapes,
 * numbers, true/false/null, whitespace.
 */
#ifndef MT_HEAPDUMP_H
#define MT_HEAPDUMP_H

#include <apr_pools.h>

#include "mt_limits.h"   /* MT_HEAPDUMP_STR_MAX, MT_HEAPDUMP_TYPE_MAX */

/* One object of a dump, valid during the callback only. Numbers are -1
 * when absent (memsize 0), addresses 0. */
typedef struct mt_heapobj_t {
    apr_uint64_t address;            /* "address" */
    apr_uint64_t class_addr;         /* "class" */
    char         type[MT_HEAPDUMP_TYPE_MAX + 1];   /* "type", "" absent */
    const char  *file;               /* "file", NULL absent */
    apr_size_t   file_len;
    int          file_cut;           /* the file name was longer: its end */
    apr_int64_t  line;               /* "line" */
    apr_int64_t  generation;         /* "generation" (allocation tracing) */
    apr_int64_t  memsize;            /* "memsize" */
    const char  *name;               /* "name" (classes and modules) */
    apr_size_t   name_len;
} mt_heapobj_t;

/* Called for each complete line that is one JSON object; non-zero stops
 * the reading (mt_heapdump_read returns APR_EINTR then). */
typedef int mt_heapdump_cb(void *baton, const mt_heapobj_t *obj);

typedef struct mt_heapdump_stats_t {
    apr_int64_t bytes;               /* read */
    apr_int64_t lines;               /* non-empty lines */
    apr_int64_t objects;             /* lines handed to the callback */
    apr_int64_t bad_lines;           /* skipped: not one JSON object */
} mt_heapdump_stats_t;

typedef struct mt_heapdump_t mt_heapdump_t;

/* A parser in p (a few KiB). */
mt_heapdump_t *mt_heapdump_create(mt_heapdump_cb *cb, void *baton,
                                  apr_pool_t *p);

/* Feed bytes; APR_EINTR once the callback asked to stop. */
apr_status_t mt_heapdump_push(mt_heapdump_t *d, const char *buf,
                              apr_size_t len);

/* The end of the input: a last line without its newline still counts. */
apr_status_t mt_heapdump_finish(mt_heapdump_t *d);

const mt_heapdump_stats_t *mt_heapdump_stats(const mt_heapdump_t *d);

/* Read a whole file through a parser. cancel (may be NULL) is looked at
 * between reads: non-zero stops with APR_ECONNABORTED. max_bytes > 0: a
 * file larger than that is refused (APR_EGENERAL, nothing read). Errors
 * of open and read come back as their status; err (errlen bytes) says
 * what happened in words. stats may be NULL. */
apr_status_t mt_heapdump_read(const char *path, mt_heapdump_cb *cb,
                              void *baton, const volatile apr_uint32_t *cancel,
                              apr_int64_t max_bytes, mt_heapdump_stats_t *stats,
                              char *err, apr_size_t errlen, apr_pool_t *p);

#endif
