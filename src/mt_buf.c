/* mt_buf: a growing text buffer and the escapers of the status page.
 * httpd-free; see include/mt_buf.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

#include "mt_buf.h"
#include "mt_util.h"

#define MT_REPLACEMENT "\xEF\xBF\xBD"   /* U+FFFD */

void mt_buf_init(mt_buf_t *b, apr_size_t cap, apr_pool_t *p)
{
    b->pool = p;
    b->cap = cap < 64 ? 64 : cap;
    b->data = apr_palloc(p, b->cap);
    b->data[0] = '\0';
    b->len = 0;
}

/* Room for n more bytes and the NUL. */
static void reserve(mt_buf_t *b, apr_size_t n)
{
    apr_size_t cap = b->cap;
    char *data;

    if (b->len + n < b->cap) {
        return;
    }
    while (b->len + n >= cap) {
        cap *= 2;
    }
    data = apr_palloc(b->pool, cap);
    memcpy(data, b->data, b->len + 1);
    b->data = data;
    b->cap = cap;
}

void mt_buf_add(mt_buf_t *b, const char *s, apr_size_t n)
{
    reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void mt_buf_puts(mt_buf_t *b, const char *s)
{
    mt_buf_add(b, s, strlen(s));
}

void mt_buf_putc(mt_buf_t *b, char c)
{
    reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void mt_buf_printf(mt_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    /* measure, make room, write (not on a hot path) */
    va_start(ap, fmt);
    /* clang-analyzer 14 reports the va_list started just above as
     * uninitialised (a known false positive of valist.Uninitialized) */
    n = vsnprintf(NULL, 0, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (n <= 0) {
        return;
    }
    reserve(b, (apr_size_t)n);
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (n > 0) {
        b->len += (apr_size_t)n;
    }
    b->data[b->len] = '\0';
}

char mt_buf_last(const mt_buf_t *b)
{
    return b->len ? b->data[b->len - 1] : '\0';
}

void mt_buf_int(mt_buf_t *b, apr_int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    apr_uint64_t u = v < 0 ? (apr_uint64_t)0 - (apr_uint64_t)v
                           : (apr_uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *--p = '-';
    }
    mt_buf_add(b, p, (apr_size_t)(tmp + sizeof(tmp) - p));
}

/* v with `decimals` decimals, the trailing zeros cut when strip. */
static void fixed(mt_buf_t *b, double v, int decimals, int strip)
{
    static const double scale[] = { 1, 10, 100, 1000, 10000, 100000, 1e6 };
    char tmp[64];
    apr_int64_t whole, frac;
    double a;
    int n, d;

    if (!isfinite(v)) {
        v = 0;
    }
    decimals = decimals < 0 ? 0 : decimals > 6 ? 6 : decimals;
    a = fabs(v) * scale[decimals] + 0.5;
    if (a >= 9e15) {                    /* beyond exact integers */
        n = snprintf(tmp, sizeof(tmp), "%.6e", v);
        mt_buf_add(b, tmp, (apr_size_t)n);
        return;
    }
    /* integer arithmetic: printf's float formatting is most of a page */
    whole = (apr_int64_t)a / (apr_int64_t)scale[decimals];
    frac = (apr_int64_t)a % (apr_int64_t)scale[decimals];
    if (v < 0 && (whole || frac)) {
        mt_buf_putc(b, '-');
    }
    mt_buf_int(b, whole);
    for (d = decimals; strip && d > 0 && frac % 10 == 0; d--) {
        frac /= 10;                     /* no trailing zeros */
    }
    if (d > 0) {
        for (n = d - 1; n >= 0; n--) {
            tmp[n] = (char)('0' + frac % 10);
            frac /= 10;
        }
        tmp[d] = '\0';
        mt_buf_putc(b, '.');
        mt_buf_add(b, tmp, (apr_size_t)d);
    }
}

void mt_buf_num(mt_buf_t *b, double v, int decimals)
{
    fixed(b, v, decimals, 1);
}

void mt_buf_fixed(mt_buf_t *b, double v, int decimals)
{
    fixed(b, v, decimals, 0);
}

/* ---- escaping ---- */

/* What to write for one character of s: NULL when it is written as it is. */
typedef const char *(*esc_fn)(const unsigned char *c, apr_size_t n);

/* Printable ASCII that none of the three forms escapes: the fast path. */
static int plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '&' && c != '<' && c != '>'
           && c != '"' && c != '\'' && c != '\\';
}

/* Walk s as UTF-8: runs of characters that esc leaves alone are copied in
 * one go, the others replaced, invalid bytes become U+FFFD. */
static void escape(mt_buf_t *b, const char *s, esc_fn esc)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t len = strlen(s), i = 0, run = 0;

    while (i < len) {
        apr_size_t n;
        const char *rep;

        if (plain(u[i])) {
            i++;
            continue;
        }
        n = mt_utf8_seq_len(u + i, len - i);
        rep = n ? esc(u + i, n) : MT_REPLACEMENT;

        if (!rep) {
            i += n;
            continue;
        }
        mt_buf_add(b, s + run, i - run);
        mt_buf_puts(b, rep);
        i += n ? n : 1;
        run = i;
    }
    mt_buf_add(b, s + run, i - run);
}

/* C0 controls and DEL (one byte), C1 controls (U+0080..U+009F). */
static int is_control(const unsigned char *c, apr_size_t n)
{
    return (n == 1 && (c[0] < 0x20 || c[0] == 0x7f))
           || (n == 2 && c[0] == 0xC2 && c[1] < 0xA0);
}

static const char *esc_html(const unsigned char *c, apr_size_t n)
{
    if (n == 1) {
        switch (c[0]) {
        case '&':  return "&amp;";
        case '<':  return "&lt;";
        case '>':  return "&gt;";
        case '"':  return "&quot;";
        case '\'': return "&#39;";
        default:   break;
        }
    }
    return is_control(c, n) ? "?" : NULL;
}

void mt_buf_html(mt_buf_t *b, const char *s)
{
    if (s) {
        escape(b, s, esc_html);
    }
}

static const char *esc_json(const unsigned char *c, apr_size_t n)
{
    static const char *const ctl[32] = {
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
        "\\u0006", "\\u0007", "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r",
        "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013",
        "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"
    };

    if (n == 1) {
        if (c[0] < 0x20) return ctl[c[0]];
        switch (c[0]) {
        case '"':  return "\\\"";
        case '\\': return "\\\\";
        case '<':  return "\\u003c";       /* no "</script" in any case */
        case '>':  return "\\u003e";
        case 0x7f: return "\\u007f";
        default:   return NULL;
        }
    }
    if (n == 3 && c[0] == 0xE2 && c[1] == 0x80 && (c[2] == 0xA8 || c[2] == 0xA9)) {
        return c[2] == 0xA8 ? "\\u2028" : "\\u2029";
    }
    return NULL;
}

void mt_buf_json_str(mt_buf_t *b, const char *s)
{
    if (!s) {
        mt_buf_add(b, "null", 4);
        return;
    }
    mt_buf_putc(b, '"');
    escape(b, s, esc_json);
    mt_buf_putc(b, '"');
}

static const char *esc_label(const unsigned char *c, apr_size_t n)
{
    if (n == 1) {
        switch (c[0]) {
        case '"':  return "\\\"";
        case '\\': return "\\\\";
        case '\n': return "\\n";
        default:   break;
        }
    }
    return is_control(c, n) ? "?" : NULL;
}

void mt_buf_label(mt_buf_t *b, const char *s)
{
    if (s) {
        escape(b, s, esc_label);
    }
}
