/* mt_util: sizes, clean strings, request ids and timestamps. httpd-free. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_general.h>
#include <apr_base64.h>

#include "mt_util.h"

/* The digits at s, up to the first other byte; v * 10 + d is checked
 * against max before it is taken. */
static const char *dec_digits(apr_int64_t *v, const char *s, apr_int64_t max)
{
    apr_int64_t x = 0, tens = max / 10;
    int last = (int)(max % 10);
    const char *c = s;

    for (; *c >= '0' && *c <= '9'; c++) {
        int d = *c - '0';

        if (x > tens || (x == tens && d > last)) {
            return NULL;
        }
        x = x * 10 + d;
    }
    if (c == s) {
        return NULL;
    }
    *v = x;
    return c;
}

const char *mt_dec_scan(apr_int64_t *v, const char *s, apr_int64_t max)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return max < 0 ? NULL : dec_digits(v, s, max);
}

apr_status_t mt_dec_parse(apr_int64_t *v, const char *s, apr_size_t len,
                          apr_int64_t lo, apr_int64_t hi)
{
    apr_int64_t x = 0, tens = hi / 10;
    int last = (int)(hi % 10);
    apr_size_t i;

    if (!s || len == 0 || lo < 0 || hi < lo) {
        return APR_EINVAL;
    }
    for (i = 0; i < len; i++) {
        int d = s[i] - '0';

        if (d < 0 || d > 9 || x > tens || (x == tens && d > last)) {
            return APR_EINVAL;
        }
        x = x * 10 + d;
    }
    if (x < lo) {
        return APR_EINVAL;
    }
    *v = x;
    return APR_SUCCESS;
}

apr_size_t mt_dec_format(char *out, apr_int64_t v)
{
    char tmp[MT_DEC_MAX];
    apr_uint64_t u = v < 0 ? 0 - (apr_uint64_t)v : (apr_uint64_t)v;
    apr_size_t n = 0, len = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        out[len++] = '-';
    }
    while (n) {
        out[len++] = tmp[--n];
    }
    out[len] = '\0';
    return len;
}

apr_status_t mt_size_parse(apr_int64_t *bytes, const char *text)
{
    apr_int64_t value = 0, unit = 1;
    const char *c;

    if (!text || (c = dec_digits(&value, text, APR_INT64_MAX)) == NULL) {
        return APR_EINVAL;
    }
    switch (apr_tolower(*c)) {
    case 'k': unit = 1024; c++; break;
    case 'm': unit = 1024 * 1024; c++; break;
    case 'g': unit = 1024 * 1024 * 1024; c++; break;
    default: break;
    }
    if (apr_tolower(*c) == 'b') {
        c++;
    }
    if (*c != '\0' || value > APR_INT64_MAX / unit) {
        return APR_EINVAL;
    }
    *bytes = value * unit;
    return APR_SUCCESS;
}

apr_size_t mt_utf8_seq_len(const unsigned char *s, apr_size_t avail)
{
    apr_size_t n, i;
    unsigned int cp;

    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) { n = 2; cp = s[0] & 0x1F; }
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) { n = 3; cp = s[0] & 0x0F; }
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) { n = 4; cp = s[0] & 0x07; }
    else return 0;
    if (n > avail) return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        return 0;
    }
    return n;
}

#define MT_REPLACEMENT "\xEF\xBF\xBD"   /* U+FFFD */

const char *mt_str_clean(apr_pool_t *p, const char *text, apr_size_t max_bytes,
                         int *cut)
{
    const unsigned char *in = (const unsigned char *)text;
    apr_size_t len, i = 0, o = 0, keep = 0;
    apr_size_t marker = sizeof(MT_CUT_MARKER) - 1;
    char *out;

    if (cut) *cut = 0;
    if (!text) return NULL;
    if (max_bytes <= marker) max_bytes = marker + 1;
    len = strlen(text);
    /* Each input byte gives at most 3 output bytes (U+FFFD). */
    out = apr_palloc(p, (len * 3 < max_bytes ? len * 3 : max_bytes) + 1);
    while (i < len) {
        apr_size_t n = mt_utf8_seq_len(in + i, len - i);
        apr_size_t w = n ? n : sizeof(MT_REPLACEMENT) - 1;

        if (o + w > max_bytes) {
            /* Too long: go back to the last boundary leaving marker room. */
            memcpy(out + keep, MT_CUT_MARKER, marker);
            o = keep + marker;
            if (cut) *cut = 1;
            break;
        }
        memcpy(out + o, n ? (const char *)in + i : MT_REPLACEMENT, w);
        o += w;
        i += n ? n : 1;
        if (o + marker <= max_bytes) {
            keep = o;
        }
    }
    out[o] = '\0';
    return out;
}

int mt_reqid_is_safe(const char *id, apr_size_t max_len)
{
    apr_size_t n = 0;

    if (!id || !*id) return 0;
    for (; *id; id++, n++) {
        if (n >= max_len) return 0;
        if (!apr_isalnum(*id) && !strchr("@_.:+/=-", *id)) return 0;
    }
    return 1;
}

const char *mt_reqid_make(apr_pool_t *p)
{
    unsigned char raw[16];
    char *id = apr_palloc(p, apr_base64_encode_len(sizeof(raw)));
    apr_size_t i;

    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) {
        /* Never fail a request for want of entropy: time and address. */
        apr_time_t now = apr_time_now();
        memcpy(raw, &now, sizeof(now));
        memcpy(raw + 8, &id, sizeof(id) < 8 ? sizeof(id) : 8);
    }
    apr_base64_encode(id, (const char *)raw, sizeof(raw));
    /* URL-safe alphabet and no padding: the id travels in headers and keys. */
    for (i = 0; id[i]; i++) {
        if (id[i] == '+') id[i] = '-';
        else if (id[i] == '/') id[i] = '_';
        else if (id[i] == '=') { id[i] = '\0'; break; }
    }
    return id;
}

apr_time_t mt_mono_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return apr_time_now();    /* not on Linux; never a zero */
    }
    return (apr_time_t)ts.tv_sec * APR_USEC_PER_SEC + ts.tv_nsec / 1000;
}

const char *mt_time_iso8601(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                        x.tm_year + 1900, x.tm_mon + 1, x.tm_mday,
                        x.tm_hour, x.tm_min, x.tm_sec, x.tm_usec);
}
