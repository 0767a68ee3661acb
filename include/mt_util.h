/* mt_util: small httpd-free helpers shared by the glue and the tools. */
#ifndef MT_UTIL_H
#define MT_UTIL_H

#include <stdint.h>
#include <string.h>
#include <apr_pools.h>
#include <apr_time.h>
#include <apr_thread_proc.h>

/* Sixteen bytes as the lanes of a GCC and Clang vector (SSE2 on x86-64,
 * NEON on arm64), for the scans of text on the request's path: the record
 * writer's strings, endpoint names. */
typedef signed char mt_v16 __attribute__((vector_size(16)));

/* Whether a lane of the mask m (all ones or all zeros each) is set: among
 * the first 8 only (all16 0), or among all 16. */
static inline int mt_v16_any(mt_v16 m, int all16)
{
    uint64_t h[2];

    memcpy(h, &m, sizeof(h));
    return (h[0] | (all16 ? h[1] : 0)) != 0;
}

/* apr_thread_create with every signal blocked while the thread is made,
 * so that it inherits that mask: signals meant for the MPM (graceful stop,
 * SIGTERM) go to the MPM's threads, never to the module's. The caller's
 * mask is as it was on return; *t is NULL when no thread was made. */
apr_status_t mt_thread_create(apr_thread_t **t, apr_thread_start_t fn,
                              void *data, apr_pool_t *p);

/* The marker that ends a string cut to fit a record. */
#define MT_CUT_MARKER "...[cut]"

/* Decimal numbers: the one parser of the module and its core (directives,
 * the X-MemTrack header, /proc files, sizes, the status page's query).
 * Digits only: no sign, no base prefix, no blanks inside; a value past the
 * bound is refused, never wrapped or clamped. One division per call, none
 * per digit: /proc numbers are parsed on every request. */

/* The digits at s, after any spaces and tabs, as *v when at most max (max
 * >= 0): returns the first byte after them. NULL (and *v untouched) when
 * there is no digit there or the value would pass max. */
const char *mt_dec_scan(apr_int64_t *v, const char *s, apr_int64_t max);

/* s[0..len) is one decimal number from lo to hi (0 <= lo <= hi), nothing
 * else: APR_SUCCESS and *v set; APR_EINVAL (and *v untouched) otherwise. */
apr_status_t mt_dec_parse(apr_int64_t *v, const char *s, apr_size_t len,
                          apr_int64_t lo, apr_int64_t hi);

/* The part of mt_dec_parse for up to 18 characters, inline for hot parsers
 * (the X-MemTrack header has some twenty numbers): no string this short
 * can overflow, so one range check at the end does for the per-digit
 * bound. Same contract as mt_dec_parse, which it serves too. */
static inline apr_status_t mt_dec_parse_short(apr_int64_t *v, const char *s,
                                              apr_size_t len, apr_int64_t lo,
                                              apr_int64_t hi)
{
    apr_int64_t x = 0;
    apr_size_t i;

    if (!s || len == 0 || len > 18 || lo < 0 || hi < lo) {
        return mt_dec_parse(v, s, len, lo, hi);
    }
    for (i = 0; i < len; i++) {
        unsigned int d = (unsigned char)s[i] - (unsigned int)'0';

        if (d > 9) {
            return APR_EINVAL;
        }
        x = x * 10 + (apr_int64_t)d;
    }
    if (x < lo || x > hi) {
        return APR_EINVAL;
    }
    *v = x;
    return APR_SUCCESS;
}

/* The longest decimal mt_dec_format writes, and the buffer it needs. */
#define MT_DEC_MAX 20            /* -9223372036854775808 */
#define MT_DEC_BUF (MT_DEC_MAX + 1)

/* v in decimal (a '-' before a negative value) and a NUL into out
 * (MT_DEC_BUF bytes): its length, the NUL not counted. */
apr_size_t mt_dec_format(char *out, apr_int64_t v);

/* Parse "20M", "512K", "1G", "4096" (case-insensitive suffix, optional "B")
 * into bytes. APR_EINVAL on anything else, negative values or overflow. */
apr_status_t mt_size_parse(apr_int64_t *bytes, const char *text);

/* Length of the valid UTF-8 sequence at s (at most avail bytes; it stops
 * at a NUL), or 0 when it is not one. Overlong forms, surrogates and values
 * above U+10FFFF are invalid. */
apr_size_t mt_utf8_seq_len(const unsigned char *s, apr_size_t avail);

/* Copy text as valid UTF-8 of at most max_bytes bytes: invalid sequences
 * become U+FFFD and an over-long result is cut at a character boundary and
 * ends in MT_CUT_MARKER. *cut tells whether it was cut (may be NULL). */
const char *mt_str_clean(apr_pool_t *p, const char *text, apr_size_t max_bytes,
                         int *cut);

/* True when id is 1..max_len characters of [A-Za-z0-9@_.:+/=-]: safe to use
 * in a Redis key, a header and a log line. */
int mt_reqid_is_safe(const char *id, apr_size_t max_len);
/* (The one validator for ids: Redis keys and user names use it with
 * MT_REDIS_ID_MAX.) */

/* A fresh random request id: 16 bytes of the system's random source
 * (getrandom), 22 characters of URL-safe base64 without padding. */
const char *mt_reqid_make(apr_pool_t *p);

/* The same ids with one getrandom() call per MT_REQID_BATCH ids instead of
 * one per id: a per-child generator (create it after fork, in child_init:
 * a generator copied into two processes would hand both the same ids).
 * locked: the threads of a process share it (a threaded MPM), so a mutex
 * guards it; 0 when one thread asks for ids (prefork). mt_reqid_next(NULL,
 * p) is mt_reqid_make(p). */
#define MT_REQID_RAW   16                      /* random bytes per id */
#define MT_REQID_LEN   22                      /* characters per id */
#define MT_REQID_BATCH 32                      /* ids per getrandom() */
typedef struct mt_reqid_gen_t mt_reqid_gen_t;
apr_status_t mt_reqid_gen_create(mt_reqid_gen_t **gen, int locked,
                                 apr_pool_t *p);
const char *mt_reqid_next(mt_reqid_gen_t *gen, apr_pool_t *p);

/* raw as an id: URL-safe base64 ('-' and '_' for '+' and '/'), no padding;
 * out holds MT_REQID_LEN + 1 bytes. Exposed for the tests. */
void mt_reqid_encode(char *out, const unsigned char *raw);

/* Microseconds on the system's monotonic clock (CLOCK_MONOTONIC: the same
 * in every process, never stepped by NTP or a restored VM). For durations,
 * timeouts and lock ages; apr_time_now() only for times that are shown. */
apr_time_t mt_mono_now(void);

/* ISO 8601 UTC with microseconds: 2026-11-22T04:08:43.123456Z */
const char *mt_time_iso8601(apr_pool_t *p, apr_time_t t);

#endif
