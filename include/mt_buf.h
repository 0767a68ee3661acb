/* mt_buf: a growing text buffer on an APR pool, and the escaping of
 * untrusted strings into it for the three forms the status page speaks:
 * HTML, JSON and Prometheus label values.
 *
 * httpd-free. The buffer doubles when full; the old block stays in the pool
 * (at most as much again as the final size), which lives as long as the
 * request. Every escaper also turns invalid UTF-8 into U+FFFD, so whatever
 * bytes a client or an app managed to put into a name, the output stays
 * valid UTF-8 and valid in its language. Numbers never come out as NaN or
 * inf: a value that is not finite is written as 0 (or JSON null).
 */
#ifndef MT_BUF_H
#define MT_BUF_H

#include <apr_pools.h>

typedef struct mt_buf_t {
    apr_pool_t *pool;
    char       *data;            /* always NUL-terminated */
    apr_size_t  len;
    apr_size_t  cap;             /* bytes in data, the NUL included */
} mt_buf_t;

/* An empty buffer of at least cap bytes from p. */
void mt_buf_init(mt_buf_t *b, apr_size_t cap, apr_pool_t *p);

void mt_buf_add(mt_buf_t *b, const char *s, apr_size_t n);
void mt_buf_puts(mt_buf_t *b, const char *s);
void mt_buf_putc(mt_buf_t *b, char c);
void mt_buf_printf(mt_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last byte written, '\0' when empty. */
char mt_buf_last(const mt_buf_t *b);

/* Integers, and doubles with at most `decimals` decimals and no trailing
 * zeros ("51200", "0.25"); a non-finite double is written as 0. */
void mt_buf_int(mt_buf_t *b, apr_int64_t v);
void mt_buf_num(mt_buf_t *b, double v, int decimals);
/* The same with exactly `decimals` decimals ("48.0"). */
void mt_buf_fixed(mt_buf_t *b, double v, int decimals);

/* s as HTML text, safe inside a double-quoted attribute too: & < > " '
 * as entities, control characters (C0, DEL, C1) as '?'. NULL: nothing. */
void mt_buf_html(mt_buf_t *b, const char *s);

/* s as a JSON string, with its quotes: " \ and control characters escaped
 * (\n, \u001b), also < > U+2028 U+2029 (safe inside a script element and
 * for JavaScript). NULL: null. */
void mt_buf_json_str(mt_buf_t *b, const char *s);

/* s as a Prometheus label value, without the quotes (text format 0.0.4):
 * \ " and newline escaped, other control characters as '?'. */
void mt_buf_label(mt_buf_t *b, const char *s);

#endif
