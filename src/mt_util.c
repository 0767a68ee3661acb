/* mt_util: sizes, clean strings, request ids and timestamps. httpd-free. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <pthread.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_general.h>
#include <apr_thread_mutex.h>

#include "mt_util.h"

/* The digits at s, up to the first other byte, when at most max. Up to 18
 * digits cannot pass APR_INT64_MAX, so those go unchecked; only a longer
 * run checks each step against max before it is taken. */
static const char *dec_digits(apr_int64_t *v, const char *s, apr_int64_t max)
{
    const char *c = s, *unchecked = s + 18;
    apr_int64_t x = 0;
    unsigned int d;

    while (c < unchecked && (d = (unsigned char)*c - (unsigned int)'0') <= 9) {
        x = x * 10 + d;
        c++;
    }
    if (c == s) {
        return NULL;
    }
    if (*c >= '0' && *c <= '9') {
        apr_int64_t tens = max / 10;
        int last = (int)(max % 10);

        for (; *c >= '0' && *c <= '9'; c++) {
            int dd = *c - '0';

            if (x > tens || (x == tens && dd > last)) {
                return NULL;
            }
            x = x * 10 + dd;
        }
    }
    if (x > max) {
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
    apr_int64_t x = 0, tens;
    int last;
    apr_size_t i;

    if (!s || len == 0 || lo < 0 || hi < lo) {
        return APR_EINVAL;
    }
    if (len <= 18) {
        return mt_dec_parse_short(v, s, len, lo, hi);
    }
    tens = hi / 10;
    last = (int)(hi % 10);
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

void mt_reqid_encode(char *out, const unsigned char *raw)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789-_";
    int i, o = 0;

    for (i = 0; i + 3 <= MT_REQID_RAW; i += 3) {
        unsigned int v = (unsigned int)raw[i] << 16
                         | (unsigned int)raw[i + 1] << 8 | raw[i + 2];

        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    /* 16 = 5 * 3 + 1: the last byte in two characters. */
    out[o++] = b64[raw[i] >> 2];
    out[o++] = b64[(raw[i] & 3) << 4];
    out[o] = '\0';
}

/* Random bytes; never fail a request for want of entropy: time and an
 * address then. */
static void random_bytes(unsigned char *raw, apr_size_t n, const void *addr)
{
    if (apr_generate_random_bytes(raw, n) != APR_SUCCESS) {
        apr_time_t now = apr_time_now();
        apr_size_t i;

        for (i = 0; i < n; i++) {
            raw[i] = (unsigned char)(((const unsigned char *)&now)[i % 8]
                     ^ ((apr_uintptr_t)addr >> (8 * (i % 8))) ^ i);
        }
    }
}

const char *mt_reqid_make(apr_pool_t *p)
{
    unsigned char raw[MT_REQID_RAW];
    char *id = apr_palloc(p, MT_REQID_LEN + 1);

    random_bytes(raw, sizeof(raw), id);
    mt_reqid_encode(id, raw);
    return id;
}

struct mt_reqid_gen_t {
    apr_thread_mutex_t *mu;          /* NULL: one thread only */
    apr_size_t          used;        /* bytes of buf handed out */
    unsigned char       buf[MT_REQID_RAW * MT_REQID_BATCH];
};

apr_status_t mt_reqid_gen_create(mt_reqid_gen_t **gen, int locked,
                                 apr_pool_t *p)
{
    mt_reqid_gen_t *g = apr_palloc(p, sizeof(*g));
    apr_status_t rv;

    g->mu = NULL;
    if (locked && (rv = apr_thread_mutex_create(&g->mu,
                        APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    g->used = sizeof(g->buf);       /* empty: filled at the first id */
    *gen = g;
    return APR_SUCCESS;
}

const char *mt_reqid_next(mt_reqid_gen_t *gen, apr_pool_t *p)
{
    unsigned char raw[MT_REQID_RAW];
    char *id;

    if (!gen || (gen->mu && apr_thread_mutex_lock(gen->mu) != APR_SUCCESS)) {
        return mt_reqid_make(p);
    }
    if (gen->used == sizeof(gen->buf)) {
        random_bytes(gen->buf, sizeof(gen->buf), gen);
        gen->used = 0;
    }
    memcpy(raw, gen->buf + gen->used, sizeof(raw));
    /* Handed out once: the copy in buf goes. */
    memset(gen->buf + gen->used, 0, sizeof(raw));
    gen->used += sizeof(raw);
    if (gen->mu) {
        apr_thread_mutex_unlock(gen->mu);
    }
    id = apr_palloc(p, MT_REQID_LEN + 1);
    mt_reqid_encode(id, raw);
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

apr_status_t mt_thread_create(apr_thread_t **t, apr_thread_start_t fn,
                              void *data, apr_pool_t *p)
{
    sigset_t all, old;
    apr_status_t rv;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = apr_thread_create(t, NULL, fn, data, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv != APR_SUCCESS) {
        *t = NULL;
    }
    return rv;
}
