/* mt_record: the JSON record, written straight into one buffer. httpd-free.
 *
 * The record's shape is fixed (MT_RECORD_FIELDS in mt_record.h), so the
 * writer is that table expanded: per field a key literal copied with a
 * constant length and the value formatted in place, as nginx's escape=json
 * and HAProxy write their access logs. A json-c tree cost about 34,000
 * instructions a record (its serialiser and printbuf most of it); this
 * about 2,300 (`make record-cost`).
 *
 * A line is written once into a buffer of max_len bytes plus room for every
 * field that is not string content (MT_FIXED_MAX): string content never
 * goes beyond max_len, so nothing can overflow, and a line that does not fit
 * is known by then. Only such a line (a long url, hostile strings) is
 * written twice more: once uncut, to measure each string, and once with the
 * strings cut to budgets that make it fit, the url first.
 */
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <apr_strings.h>

#include "mt_record.h"
#include "mt_util.h"

#define MT_MARKER_LEN (sizeof(MT_CUT_MARKER) - 1)

apr_int64_t mt_record_growth(const mt_record_t *rec, int *known)
{
    *known = rec->before.rss_bytes != MT_UNKNOWN
             && rec->after.rss_bytes != MT_UNKNOWN;
    return *known ? rec->after.rss_bytes - rec->before.rss_bytes : 0;
}

apr_int64_t mt_record_growth_or_unknown(const mt_record_t *rec)
{
    int known;
    apr_int64_t growth = mt_record_growth(rec, &known);

    return known ? growth : MT_UNKNOWN;
}

int mt_record_exceeded(const mt_record_t *rec)
{
    int known;
    apr_int64_t growth = mt_record_growth(rec, &known);

    return known && rec->threshold_bytes > 0 && growth > rec->threshold_bytes;
}

/* ---- the table, as an enum, as data and as sizes ---- */

#define AS_ENUM(name, kind, cap, value) F_##name,
enum { MT_RECORD_FIELDS(AS_ENUM) F_COUNT };
#undef AS_ENUM

#define JSON_STR  "string"
#define JSON_URL  "string"
#define JSON_KEEP "string"
#define JSON_TIME "string"
#define JSON_INT  "integer"
#define JSON_SINT "integer"
#define JSON_SECS "number"
#define JSON_BOOL "boolean"
#define JSON_GC   "object"

#define AS_INFO(name, kind, cap, value) { #name, JSON_##kind, #kind, cap },
const mt_record_field_t mt_record_fields[] = { MT_RECORD_FIELDS(AS_INFO) };
#undef AS_INFO
const int mt_record_field_count = F_COUNT;

#define AS_NAME(key, member) #key,
const char *const mt_record_gc_keys[] = { MT_RECORD_GC_KEYS(AS_NAME) };
#undef AS_NAME
const int mt_record_gc_key_count =
    (int)(sizeof(mt_record_gc_keys) / sizeof(mt_record_gc_keys[0]));

/* Which strings may be cut to fit the line, and in which turn. */
enum { CUT_NEVER, CUT_FIRST, CUT_THEN };
#define CUT_STR  CUT_THEN
#define CUT_URL  CUT_FIRST
#define CUT_KEEP CUT_NEVER
#define CUT_TIME CUT_NEVER
#define CUT_INT  CUT_NEVER
#define CUT_SINT CUT_NEVER
#define CUT_SECS CUT_NEVER
#define CUT_BOOL CUT_NEVER
#define CUT_GC   CUT_NEVER
#define AS_CUT(name, kind, cap, value) CUT_##kind,
static const unsigned char cut_turn[F_COUNT] = { MT_RECORD_FIELDS(AS_CUT) };
#undef AS_CUT

/* ",\"name\":" and its length. */
#define KEY(name) ",\"" #name "\":"
#define KEY_LEN(name) (sizeof(KEY(name)) - 1)

/* The most bytes a value of each kind takes, string content aside, and
 * their sums over the table: the sizes of structs of one char array a
 * field. */
#define GC_SIZE(key, member) char key[KEY_LEN(key) + 20];
struct gc_sizes { MT_RECORD_GC_KEYS(GC_SIZE) };
#undef GC_SIZE
enum {
    MAX_STR = 4, MAX_URL = 4, MAX_KEEP = 4,   /* null, or the quotes */
    MAX_INT = 20, MAX_SINT = 20,              /* -9223372036854775808 */
    MAX_SECS = 20, MAX_BOOL = 5,
    MAX_TIME = 40,                            /* quotes, a 7-digit year */
    MAX_GC = 2 + sizeof(struct gc_sizes)      /* braces and the keys */
};
#define FIXED_SIZE(name, kind, cap, value) char name[KEY_LEN(name) + MAX_##kind];
#define WORST_SIZE(name, kind, cap, value) \
    char name[KEY_LEN(name) + MAX_##kind + 6 * (cap)];
struct fixed_sizes { MT_RECORD_FIELDS(FIXED_SIZE) };
struct worst_sizes { MT_RECORD_FIELDS(WORST_SIZE) };
#undef FIXED_SIZE
#undef WORST_SIZE
enum {
    MT_FIXED_MAX = sizeof(struct fixed_sizes) + 2,  /* and "}\n" */
    MT_WORST = sizeof(struct worst_sizes) + 2       /* all of it uncut */
};

/* ---- writing ---- */

/* How a line is being written. The position itself is a local of
 * write_line, passed along and returned, so that it stays in a register. */
typedef struct {
    char             *end;      /* string content stops here */
    const apr_size_t *budget;   /* per field, the most bytes of escaped
                                 * string content; NULL: no budgets */
    apr_size_t       *slen;     /* per field, the escaped string content
                                 * written; NULL: not wanted */
    int               careful;  /* budget or slen: no shortcut */
    int               over;     /* a string ran into end: no fit */
    apr_pool_t       *p;        /* for the rare slow formats */
} wr_t;

/* The few helpers of the fast path, inlined where they are used. */
#define MT_INLINE static inline __attribute__((always_inline))

#define PUT_LIT(o, lit) \
    (memcpy((o), (lit), sizeof(lit) - 1), (o) += sizeof(lit) - 1)

/* Bytes that go into a JSON string as they are (printable ASCII). */
static const unsigned char plain[128] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* no '"' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,   /* no '\\' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,   /* no DEL */
};

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

/* The escape of an ASCII byte that is not plain: 2 or 6 bytes, at o. */
static char *put_escape(char *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e = 0;

    switch (c) {
    case '"':  e = '"'; break;
    case '\\': e = '\\'; break;
    case '\b': e = 'b'; break;
    case '\f': e = 'f'; break;
    case '\n': e = 'n'; break;
    case '\r': e = 'r'; break;
    case '\t': e = 't'; break;
    default: break;
    }
    o[0] = '\\';
    if (e) {
        o[1] = e;
        return o + 2;
    }
    o[1] = 'u';
    o[2] = o[3] = '0';
    o[4] = hex[c >> 4];
    o[5] = hex[c & 15];
    return o + 6;
}

/* Whether x (mt_v16, mt_util.h) holds a byte that is not plain: below
 * 0x20 or 0x80 and above (negative as signed char), DEL, '"' or '\\';
 * among its first 8 lanes (all16 0) or all 16. */
MT_INLINE int special(mt_v16 x, int all16)
{
    return mt_v16_any((x < 0x20) | (x == 0x7f) | (x == '"') | (x == '\\'),
                      all16);
}

/* One character of s at o, cleaned and escaped, with no limit (the caller
 * made room for 6 bytes). Advances *s. */
static char *put_char(char *o, const unsigned char **s)
{
    const unsigned char *c = *s;
    apr_size_t n;

    if (*c < 0x80) {
        *s = c + 1;
        if (plain[*c]) {
            *o = (char)*c;
            return o + 1;
        }
        return put_escape(o, *c);
    }
    if ((n = mt_utf8_seq_len(c, 4)) == 0) {
        *s = c + 1;
        o[0] = '\xEF';                   /* U+FFFD */
        o[1] = '\xBF';
        o[2] = '\xBD';
        return o + 3;
    }
    memcpy(o, c, n);
    *s = c + n;
    return o + n;
}

/* All of s (n bytes) cleaned and escaped at o: the caller made room for 6n
 * bytes, and 3n bytes of clean text are within the string's cap. Plain
 * text goes 16 bytes at a time, the last 16 overlapping what went before
 * (copied as it was); a shorter one as two overlapping halves. */
MT_INLINE char *put_all(char *o, const unsigned char *s, apr_size_t n)
{
    const unsigned char *e = s + n;
    mt_v16 x;

    if (n >= 16) {
        for (; e - s >= 16; s += 16, o += 16) {
            memcpy(&x, s, 16);
            if (special(x, 1)) goto bytes;
            memcpy(o, &x, 16);
        }
        if (s == e) return o;
        memcpy(&x, e - 16, 16);
        if (special(x, 1)) goto bytes;
        memcpy(o - (s - (e - 16)), &x, 16);
        return o + (e - s);
    }
    if (n >= 8) {
        memcpy(&x, s, 8);
        memcpy((char *)&x + 8, e - 8, 8);
        if (!special(x, 1)) {
            memcpy(o, s, 8);
            memcpy(o + n - 8, e - 8, 8);
            return o + n;
        }
    }
    else if (n >= 4) {
        x = (mt_v16){ 0 };
        memcpy(&x, s, 4);
        memcpy((char *)&x + 4, e - 4, 4);
        if (!special(x, 0)) {
            memcpy(o, s, 4);
            memcpy(o + n - 4, e - 4, 4);
            return o + n;
        }
    }
bytes:
    while (s < e) {
        if (*s < 0x80 && plain[*s]) *o++ = (char)*s++;
        else o = put_char(o, &s);
    }
    return o;
}

/* One character's widths: clean text cw, escaped ew, input in. */
static void char_widths(const unsigned char *c, apr_size_t *in,
                        apr_size_t *cw, apr_size_t *ew)
{
    if (*c < 0x80) {
        *in = *cw = 1;
        *ew = plain[*c] ? 1
              : (*c == '"' || *c == '\\' || *c == '\b' || *c == '\f'
                 || *c == '\n' || *c == '\r' || *c == '\t') ? 2 : 6;
    }
    else if ((*in = mt_utf8_seq_len(c, 4)) != 0) {
        *cw = *ew = *in;
    }
    else {
        *in = 1;
        *cw = *ew = 3;
    }
}

/* Whether the cap alone would cut s where the characters so far (clean
 * bytes of clean text) leave it: s runs over cap before another character
 * could be kept. */
static int cap_cuts_here(const unsigned char *s, apr_size_t clean,
                         apr_size_t cap)
{
    apr_size_t in, cw, ew;

    for (; *s; s += in) {
        char_widths(s, &in, &cw, &ew);
        if (clean + cw > cap) return 1;
        clean += cw;
        if (clean + MT_MARKER_LEN <= cap) return 0;
    }
    return 0;           /* it ends uncut */
}

/* s cleaned and escaped at o, within two limits: cap bytes of clean text
 * (as mt_str_clean cuts) and lim bytes of output. A string over either is
 * cut at a character boundary and ends in MT_CUT_MARKER. *hit: lim changed
 * what was written (what cap alone would cut is not what was kept). */
static char *put_cut(char *o, const unsigned char *s, apr_size_t cap,
                     apr_size_t lim, int *hit)
{
    char *start = o, *keep = o;
    apr_size_t clean = 0, in, cw, ew;
    int blocked = 0;    /* lim kept keep from a place cap allowed */

    if (cap <= MT_MARKER_LEN) cap = MT_MARKER_LEN + 1;
    for (; *s; s += in) {
        char_widths(s, &in, &cw, &ew);
        if (clean + cw > cap || (apr_size_t)(o - start) + ew > lim) {
            *hit = blocked || (clean + cw <= cap
                               && !cap_cuts_here(s, clean, cap));
            if (lim < MT_MARKER_LEN) {      /* not even the marker */
                *hit = 1;
                return start;
            }
            memcpy(keep, MT_CUT_MARKER, MT_MARKER_LEN);
            return keep + MT_MARKER_LEN;
        }
        {
            const unsigned char *c = s;
            o = put_char(o, &c);
        }
        clean += cw;
        if (clean + MT_MARKER_LEN <= cap) {
            if ((apr_size_t)(o - start) + MT_MARKER_LEN <= lim) keep = o;
            else blocked = 1;
        }
    }
    *hit = 0;
    return o;
}

/* The content of string field f (s not NULL, n bytes) at o, within the
 * room left and the field's budget; notes its length when wanted. */
static char *put_str_careful(wr_t *w, char *o, const char *s, apr_size_t n,
                             apr_size_t cap, int f)
{
    apr_size_t room = o < w->end ? (apr_size_t)(w->end - o) : 0, lim;
    char *start = o;
    int hit = 0;

    lim = w->budget && w->budget[f] < room ? w->budget[f] : room;
    if (n * 3 <= cap && n * 6 <= lim) {
        o = put_all(o, (const unsigned char *)s, n);
    }
    else {
        o = put_cut(o, (const unsigned char *)s, cap, lim, &hit);
        if (hit && (!w->budget || w->budget[f] > room)) w->over = 1;
    }
    if (w->slen) w->slen[f] = (apr_size_t)(o - start);
    return o;
}

/* The content of string field f at o. The usual case, a short string with
 * room to spare, is all escaped in place with no limit to watch. */
MT_INLINE char *put_str(wr_t *w, char *o, const char *s, apr_size_t cap,
                        int f)
{
    apr_size_t n = strlen(s);

    if (!w->careful && n * 3 <= cap && o <= w->end
        && n * 6 <= (apr_size_t)(w->end - o)) {
        return put_all(o, (const unsigned char *)s, n);
    }
    return put_str_careful(w, o, s, n, cap, f);
}

/* The decimal digits of u at o: four at a time, each pair from digits2
 * (r * 5243 >> 19 is r / 100 for r < 10000). */
MT_INLINE char *put_u64(char *o, uint64_t u)
{
    static const uint64_t pow10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
        10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
        100000000000ULL, 1000000000000ULL, 10000000000000ULL,
        100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
        100000000000000000ULL, 1000000000000000000ULL,
        10000000000000000000ULL,
    };
    unsigned t, n;
    uint32_t v, hi;
    char *e;

    if (u < 10) {
        *o = (char)('0' + u);
        return o + 1;
    }
    /* log10 from the bit length (1233/4096 ~ log10 2), as in "Bit
     * Twiddling Hacks": t or t - 1 */
    t = (unsigned)(((64 - __builtin_clzll(u)) * 1233) >> 12);
    n = t + 1 - (u < pow10[t]);
    e = o + n;
    for (; u >= 10000; u /= 10000) {
        v = (uint32_t)(u % 10000);
        hi = (v * 5243) >> 19;
        e -= 4;
        memcpy(e, digits2 + 2 * hi, 2);
        memcpy(e + 2, digits2 + 2 * (v - hi * 100), 2);
    }
    v = (uint32_t)u;
    if (v >= 100) {
        hi = (v * 5243) >> 19;
        e -= 2;
        memcpy(e, digits2 + 2 * (v - hi * 100), 2);
        v = hi;
    }
    if (v >= 10) memcpy(e - 2, digits2 + 2 * v, 2);
    else e[-1] = (char)('0' + v);
    return o + n;
}

MT_INLINE char *put_i64(char *o, apr_int64_t v)
{
    if (v < 0) {
        *o++ = '-';
        return put_u64(o, 0 - (uint64_t)v);
    }
    return put_u64(o, (uint64_t)v);
}

/* secs * 10^6 rounded as "%.6f" rounds: the exact binary value, half to
 * even. secs is in [0, 1e12) (or -0.0): value = m / 2^sh, sh >= 13. */
static uint64_t micros_rounded(double secs)
{
    uint64_t bits, m, us;
    unsigned __int128 x, rem, half;
    int sh;

    memcpy(&bits, &secs, sizeof(bits));
    bits &= ~(1ULL << 63);                       /* -0.0 */
    if ((bits >> 52) == 0) return 0;             /* 0 or subnormal */
    m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    sh = 1075 - (int)(bits >> 52);               /* value = m / 2^sh */
    if (sh >= 90) return 0;                      /* < 2^-37 s */
    x = (unsigned __int128)m * 1000000U;         /* < 2^73 */
    us = (uint64_t)(x >> sh);
    rem = x & (((unsigned __int128)1 << sh) - 1);
    half = (unsigned __int128)1 << (sh - 1);
    return us + (rem > half || (rem == half && (us & 1)));
}

static char *put_secs(char *o, double secs)
{
    uint64_t us;

    if (!(secs >= 0 && secs < 1e12)) {
        PUT_LIT(o, "null");
        return o;
    }
    if (signbit(secs)) *o++ = '-';       /* -0.0: printf's -0.000000 */
    us = micros_rounded(secs);
    o = put_u64(o, us / 1000000);
    *o++ = '.';
    us %= 1000000;
    memcpy(o, digits2 + 2 * (us / 10000), 2);
    memcpy(o + 2, digits2 + 2 * (us / 100 % 100), 2);
    memcpy(o + 4, digits2 + 2 * (us % 100), 2);
    return o + 6;
}

/* A time outside years 0..9999 the slow way, as mt_time_iso8601 says. */
static char *put_time_slow(wr_t *w, char *o, apr_time_t t)
{
    const char *s = mt_time_iso8601(w->p, t);
    apr_size_t n = strlen(s);

    if (n > MAX_TIME - 2) n = MAX_TIME - 2;
    *o++ = '"';
    memcpy(o, s, n + 1);        /* its NUL too (within MAX_TIME), */
    o[n] = '"';                 /* made the closing quote */
    return o + n + 1;
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" as mt_time_iso8601 writes it, without
 * gmtime and printf (the civil date from days: H. Hinnant's algorithm). */
static char *put_time(wr_t *w, char *o, apr_time_t t)
{
    uint64_t secs, z, era, doe, yoe, doy, mp, y, m, d, sod, us;

    if (t < 0 || t >= (apr_time_t)253402300800000000LL) {
        return put_time_slow(w, o, t);
    }
    secs = (uint64_t)t / 1000000;
    us = (uint64_t)t % 1000000;
    sod = secs % 86400;
    z = secs / 86400 + 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);
    /* the template and its NUL (within MAX_TIME), then the digits */
    memcpy(o, "\"0000-00-00T00:00:00.000000Z\"", 30);
    memcpy(o + 1, digits2 + 2 * (y / 100), 2);
    memcpy(o + 3, digits2 + 2 * (y % 100), 2);
    memcpy(o + 6, digits2 + 2 * m, 2);
    memcpy(o + 9, digits2 + 2 * d, 2);
    memcpy(o + 12, digits2 + 2 * (sod / 3600), 2);
    memcpy(o + 15, digits2 + 2 * (sod / 60 % 60), 2);
    memcpy(o + 18, digits2 + 2 * (sod % 60), 2);
    memcpy(o + 21, digits2 + 2 * (us / 10000), 2);
    memcpy(o + 23, digits2 + 2 * (us / 100 % 100), 2);
    memcpy(o + 25, digits2 + 2 * (us % 100), 2);
    return o + 29;
}

/* One field of each kind at o: key and value. */
#define PUT_STR(o, w, name, cap, value) do { \
        const char *s_ = (value); \
        if (!s_) { \
            PUT_LIT(o, KEY(name) "null"); \
        } \
        else { \
            PUT_LIT(o, KEY(name) "\""); \
            (o) = put_str((w), (o), s_, (cap), F_##name); \
            *(o)++ = '"'; \
        } \
    } while (0)
#define PUT_URL  PUT_STR
#define PUT_KEEP PUT_STR
#define PUT_INT(o, w, name, cap, value) do { \
        apr_int64_t v_ = (value); \
        if (v_ == MT_UNKNOWN) PUT_LIT(o, KEY(name) "null"); \
        else { PUT_LIT(o, KEY(name)); (o) = put_i64((o), v_); } \
    } while (0)
#define PUT_SINT(o, w, name, cap, value) do { \
        apr_int64_t v_ = (value); \
        if (v_ == MT_UNKNOWN_SIGNED) PUT_LIT(o, KEY(name) "null"); \
        else { PUT_LIT(o, KEY(name)); (o) = put_i64((o), v_); } \
    } while (0)
#define PUT_BOOL(o, w, name, cap, value) do { \
        if (value) PUT_LIT(o, KEY(name) "true"); \
        else PUT_LIT(o, KEY(name) "false"); \
    } while (0)
#define PUT_SECS(o, w, name, cap, value) \
    do { PUT_LIT(o, KEY(name)); (o) = put_secs((o), (value)); } while (0)
#define PUT_TIME(o, w, name, cap, value) \
    do { PUT_LIT(o, KEY(name)); (o) = put_time((w), (o), (value)); } while (0)
#define PUT_GC(o, w, name, cap, value) \
    do { PUT_LIT(o, KEY(name)); (o) = put_gc((o), (value)); } while (0)

#define GC_ANY(key, member) || gc->member != MT_UNKNOWN
#define GC_PUT(key, member) PUT_INT(o, NULL, key, 0, gc->member);

/* A gc_stats object; null when the app said nothing of it. */
static char *put_gc(char *o, const mt_gc_t *gc)
{
    char *first = o;

    if (!gc || !(0 MT_RECORD_GC_KEYS(GC_ANY))) {
        PUT_LIT(o, "null");
        return o;
    }
    MT_RECORD_GC_KEYS(GC_PUT)
    *first = '{';       /* the first key's comma */
    *o++ = '}';
    return o;
}
#undef GC_ANY
#undef GC_PUT

/* The whole line at o: each field with a leading comma, the first comma
 * then made the opening brace. Returns the end of the line. */
static char *write_line(wr_t *w, char *o, const mt_record_t *rec)
{
    const mt_app_report_t *app = rec->app;
    char *first = o;

#define PUT_FIELD(name, kind, cap, value) PUT_##kind(o, w, name, cap, value);
    MT_RECORD_FIELDS(PUT_FIELD)
#undef PUT_FIELD
    *first = '{';
    PUT_LIT(o, "}\n");
    return o;
}

/* ---- cutting to fit ---- */

/* Escaped bytes taken from the strings of one turn when each keeps at most
 * c bytes. */
static apr_size_t cut_gain(const apr_size_t *slen, int turn, apr_size_t c)
{
    apr_size_t gain = 0;
    int f;

    for (f = 0; f < F_COUNT; f++) {
        if (cut_turn[f] == turn && slen[f] > c) gain += slen[f] - c;
    }
    return gain;
}

/* Budgets that take excess bytes out of the strings: the url down to
 * MT_CUT_MIN first, then the other cuttable strings alike, the longest
 * first (the largest common cap that gains enough). */
static void plan_cuts(apr_size_t *budget, const apr_size_t *slen,
                      apr_size_t excess)
{
    apr_size_t lo = MT_CUT_MIN, hi = MT_CUT_MIN, take;
    int f;

    for (f = 0; f < F_COUNT; f++) {
        budget[f] = (apr_size_t)-1;
        if (cut_turn[f] == CUT_THEN && slen[f] > hi) hi = slen[f];
    }
    if (slen[F_url] > MT_CUT_MIN) {
        take = slen[F_url] - MT_CUT_MIN < excess ? slen[F_url] - MT_CUT_MIN
                                                  : excess;
        budget[F_url] = slen[F_url] - take;
        excess -= take;
    }
    if (excess == 0) return;
    /* the largest c in [lo, hi] with cut_gain(c) >= excess, else lo */
    while (lo < hi) {
        apr_size_t mid = lo + (hi - lo + 1) / 2;
        if (cut_gain(slen, CUT_THEN, mid) >= excess) lo = mid;
        else hi = mid - 1;
    }
    for (f = 0; f < F_COUNT; f++) {
        if (cut_turn[f] == CUT_THEN && slen[f] > lo) budget[f] = lo;
    }
}

/* The line did not fit in max_len: measure it uncut, then write it again
 * into buf with the strings cut. */
static apr_status_t write_cut(char *buf, apr_size_t *len,
                              const mt_record_t *rec, apr_size_t max_len,
                              apr_pool_t *p)
{
    apr_size_t slen[F_COUNT] = { 0 }, budget[F_COUNT], total;
    char *big = apr_palloc(p, MT_WORST);
    wr_t m = { big + MT_WORST, NULL, slen, 1, 0, p };
    wr_t w = { buf + max_len, budget, NULL, 1, 0, p };

    total = (apr_size_t)(write_line(&m, big, rec) - big);
    if (total <= max_len) {     /* only a string ran into the end */
        memcpy(buf, big, total);
        *len = total;
        return APR_SUCCESS;
    }
    plan_cuts(budget, slen, total - max_len);
    *len = (apr_size_t)(write_line(&w, buf, rec) - buf);
    return w.over || *len > max_len ? APR_ENOSPC : APR_SUCCESS;
}

apr_status_t mt_record_to_json(char **line, apr_size_t *len,
                               const mt_record_t *rec, apr_size_t max_len,
                               apr_pool_t *p)
{
    char *buf = apr_palloc(p, max_len + MT_FIXED_MAX + 1);
    wr_t w = { buf + max_len, NULL, NULL, 0, 0, p };
    apr_status_t rv = APR_SUCCESS;

    *len = (apr_size_t)(write_line(&w, buf, rec) - buf);
    if (w.over || *len > max_len) {
        rv = write_cut(buf, len, rec, max_len, p);
    }
    if (rv == APR_SUCCESS) {
        buf[*len] = '\0';
        *line = buf;
    }
    return rv;
}
