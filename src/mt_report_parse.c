/* mt_report_parse: a record line into what the analysis needs. httpd-free;
 * see include/mt_report_parse.h.
 *
 * Why not json-c's tokener: it builds a tree of heap objects per line
 * (some forty allocations for a record) and runs at about a tenth of the
 * speed the report needs. This parser walks the line once, checks all of
 * it, and keeps a score of numbers and three strings. Strings are scanned
 * eight bytes at a time for the bytes that need a look (quote, backslash,
 * control bytes, non-ASCII); everything else is copied or skipped in bulk.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "mt_record.h"
#include "mt_report_parse.h"
#include "mt_sample.h"
#include "mt_util.h"

typedef struct ps_t {
    const unsigned char *p, *start, *end;
    mt_report_err_t     *err;
    int                  depth;
} ps_t;

/* The fields the analysis reads, and how. */
enum {
    K_OTHER = 0, K_TIME, K_TARGET, K_PID, K_MEM_AFTER,      /* required */
    K_REQ_ID, K_ENDPOINT, K_CONTROLLER, K_MEM_BEFORE, K_GC_BEFORE,
    K_GC_AFTER, K_REQ_TIME, K_THRESHOLD, K_BEFORE_SRC, K_SERVER,
    K_PID_START, K_EXCLUSIVE, K_PROBE_STARTED, K_PROBE_DONE, K_PROBE_BYTES,
    K_PROBE_OBJECTS, K_PROBE_US
};
#define K_REQUIRED ((1u << K_TIME) | (1u << K_TARGET) | (1u << K_PID) \
                    | (1u << K_MEM_AFTER))

static const char *const key_names[] = {
    "", "time", "target", "pid", "memory_after", "request_id", "endpoint",
    "controller", "memory_before", "gc_stats_before", "gc_stats_after",
    "request_time", "threshold_exceeded", "before_source", "server",
    "pid_start", "exclusive", "probe_started", "probe_done",
    "probe_retained_bytes", "probe_retained_objects", "probe_gc_us"
};
#define KEYS_N ((int)(sizeof(key_names) / sizeof(key_names[0])))

#define KEY_IS(w) (n == sizeof(w) - 1 && !__builtin_memcmp(k, w, sizeof(w) - 1))

/* By length first: a record has forty-odd keys, each looked up here. */
static int key_of(const unsigned char *k, apr_size_t n)
{
    switch (n) {
    case 3:  return KEY_IS("pid") ? K_PID : K_OTHER;
    case 4:  return KEY_IS("time") ? K_TIME : K_OTHER;
    case 6:  return KEY_IS("target") ? K_TARGET
                  : KEY_IS("server") ? K_SERVER : K_OTHER;
    case 8:  return KEY_IS("endpoint") ? K_ENDPOINT : K_OTHER;
    case 9:  return KEY_IS("pid_start") ? K_PID_START
                  : KEY_IS("exclusive") ? K_EXCLUSIVE : K_OTHER;
    case 10: return KEY_IS("request_id") ? K_REQ_ID
                  : KEY_IS("controller") ? K_CONTROLLER
                  : KEY_IS("probe_done") ? K_PROBE_DONE : K_OTHER;
    case 11: return KEY_IS("probe_gc_us") ? K_PROBE_US : K_OTHER;
    case 12: return KEY_IS("memory_after") ? K_MEM_AFTER
                  : KEY_IS("request_time") ? K_REQ_TIME : K_OTHER;
    case 13: return KEY_IS("memory_before") ? K_MEM_BEFORE
                  : KEY_IS("before_source") ? K_BEFORE_SRC
                  : KEY_IS("probe_started") ? K_PROBE_STARTED : K_OTHER;
    case 14: return KEY_IS("gc_stats_after") ? K_GC_AFTER : K_OTHER;
    case 15: return KEY_IS("gc_stats_before") ? K_GC_BEFORE : K_OTHER;
    case 18: return KEY_IS("threshold_exceeded") ? K_THRESHOLD : K_OTHER;
    case 20: return KEY_IS("probe_retained_bytes") ? K_PROBE_BYTES : K_OTHER;
    case 22: return KEY_IS("probe_retained_objects") ? K_PROBE_OBJECTS
                                                      : K_OTHER;
    default: return K_OTHER;
    }
}

/* The writer's key order (MT_RECORD_FIELDS), each key as it is written
 * with its colon: a record from the module matches them one after another,
 * so each key costs a compare of a few words instead of a scan. A line
 * that does not (another version, another writer) takes the general way. */
typedef struct layout_t {
    const char *text;
    apr_size_t  len;
} layout_t;

#define AS_LAYOUT(name, kind, cap, value) \
    { "\"" #name "\":", sizeof("\"" #name "\":") - 1 },
static const layout_t layout[] = { MT_RECORD_FIELDS(AS_LAYOUT) };
#undef AS_LAYOUT
#define LAYOUT_N (sizeof(layout) / sizeof(layout[0]))

#define AS_GC_LAYOUT(key, member) { "\"" #key "\":", sizeof("\"" #key "\":") - 1 },
static const layout_t gc_layout[] = { MT_RECORD_GC_KEYS(AS_GC_LAYOUT) };
#undef AS_GC_LAYOUT
#define GC_LAYOUT_N (sizeof(gc_layout) / sizeof(gc_layout[0]))

/* Each layout key as the parser compares it, made once when the program
 * starts: its text in 32 bytes (zeros after it) for whole-vector
 * compares, the bits of the bytes that count, and its field. */
#define PAD 32
typedef struct pad_t {
    unsigned char text[PAD];
    unsigned int  want;                 /* bit i: byte i is the key's */
    int           key;                  /* K_... */
} __attribute__((aligned(16))) pad_t;  /* text: aligned vector loads */
static pad_t layout_pad[LAYOUT_N];
static pad_t gc_pad[GC_LAYOUT_N];

static void pad_make(pad_t *out, const layout_t *l, int key)
{
    if (l->len <= PAD) memcpy(out->text, l->text, l->len);
    out->want = l->len >= 32 ? 0xFFFFFFFFu : (1u << l->len) - 1;
    out->key = key;
}

__attribute__((constructor)) static void layout_keys(void)
{
    apr_size_t i;

    for (i = 0; i < LAYOUT_N; i++) {
        pad_make(&layout_pad[i], &layout[i],
                 key_of((const unsigned char *)layout[i].text + 1,
                        layout[i].len - 3));
    }
    for (i = 0; i < GC_LAYOUT_N; i++) {
        pad_make(&gc_pad[i], &gc_layout[i], K_OTHER);
    }
}

/* a[0..n) == b[0..n). Whole words, the last one overlapping the one
 * before it, so a key or a literal (4 to 26 bytes) costs two to four
 * compares and no loop over its tail; the caller has checked that a holds
 * n bytes. */
static inline int same_bytes(const unsigned char *a, const char *b,
                             apr_size_t n)
{
    apr_uint64_t x, y;
    apr_uint32_t u, v;
    apr_size_t i;

    if (n >= 8) {
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y) return 0;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        if (u != v) return 0;
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return u == v;
    }
    for (i = 0; i < n; i++) {
        if (a[i] != (unsigned char)b[i]) return 0;
    }
    return 1;
}

/* Whether the line at p..end goes on with the layout key l (pad: its
 * padded form): the line holds more than the key (its value follows).
 * With 32 bytes to read, one or two vector compares. */
static inline int layout_at(const unsigned char *p, const unsigned char *end,
                            const layout_t *l, const pad_t *pad)
{
#ifdef __SSE2__
    if (end - p > PAD && l->len <= PAD) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned int eq = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(
            a, _mm_load_si128((const __m128i *)(const void *)pad->text)));
        if (l->len > 16) {
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
            eq |= (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(
                b, _mm_load_si128((const __m128i *)(const void *)(pad->text + 16))))
                  << 16;
        }
        return (~eq & pad->want) == 0;
    }
#else
    (void)pad;
#endif
    return (apr_size_t)(end - p) > l->len && same_bytes(p, l->text, l->len);
}

/* ---- errors ---- */

static int fail(ps_t *s, const char *what, int key)
{
    if (!s->err->what) {
        s->err->what = what;
        s->err->got = NULL;
        s->err->byte = -1;
        s->err->offset = (apr_size_t)(s->p - s->start);
        apr_cpystrn(s->err->field,
                    key > 0 && key < KEYS_N ? key_names[key] : "",
                    sizeof(s->err->field));
    }
    return 0;
}

static int fail_byte(ps_t *s, const char *what)
{
    fail(s, what, 0);
    s->err->byte = s->p < s->end ? *s->p : -1;
    return 0;
}

static const char *type_at(const ps_t *s)
{
    switch (s->p < s->end ? *s->p : 0) {
    case '"': return "a string";
    case '{': return "an object";
    case '[': return "an array";
    case 't': case 'f': return "a boolean";
    case 'n': return "null";
    default:  return "a number";
    }
}

/* The field's value at s->p has the wrong type. */
static int fail_type(ps_t *s, int key, const char *want)
{
    const char *got = type_at(s);

    fail(s, want, key);
    s->err->got = got;
    return 0;
}

const char *mt_report_err_text(char *out, apr_size_t size,
                               const mt_report_err_t *e)
{
    char b[16] = "";

    if (e->byte >= 0) {
        apr_snprintf(b, sizeof(b), ": 0x%02x", e->byte);
    }
    if (e->field[0] && e->got) {
        apr_snprintf(out, size, "field %s: %s, not %s (byte %" APR_SIZE_T_FMT
                     ")", e->field, e->got, e->what, e->offset);
    }
    else if (e->field[0]) {
        apr_snprintf(out, size, "field %s: %s (byte %" APR_SIZE_T_FMT ")",
                     e->field, e->what, e->offset);
    }
    else {
        apr_snprintf(out, size, "%s%s at byte %" APR_SIZE_T_FMT,
                     e->what ? e->what : "bad line", b, e->offset);
    }
    return out;
}

/* ---- lexing ---- */

static void ws_skip(ps_t *s)
{
    while (s->p < s->end
           && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n')) {
        s->p++;
    }
}

/* JSON's whitespace; the records have none, so one compare is the rule. */
static inline __attribute__((always_inline)) void ws(ps_t *s)
{
    if (s->p < s->end && *s->p <= ' ') ws_skip(s);
}

static int expect(ps_t *s, unsigned char c, const char *what)
{
    ws(s);
    if (s->p >= s->end || *s->p != c) {
        return s->p >= s->end ? fail(s, "not JSON: the line ends inside "
                                        "the object", 0)
                              : fail_byte(s, what);
    }
    s->p++;
    return 1;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

#ifdef __SSE2__
/* The bytes of the 16 at p that are '"', '\\', below 0x20 or above 0x7f,
 * as a bit mask (bit i: byte i): one signed compare takes both the control
 * bytes and the non-ASCII ones. */
static inline unsigned int special16(const unsigned char *p)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                     _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));

    return (unsigned int)_mm_movemask_epi8(m);
}
#endif

/* Nonzero when one of the 8 bytes is '"', '\\', below 0x20 or above 0x7f. */
static apr_uint64_t special8(const unsigned char *p)
{
    apr_uint64_t x, q, b;

    memcpy(&x, p, 8);
    q = x ^ (ONES * '"');
    b = x ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x)
            | x) & HIGHS;
}


static int hex4(const unsigned char *p, unsigned int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < 4; i++) {
        unsigned char c = p[i];
        unsigned int d = c >= '0' && c <= '9' ? (unsigned int)(c - '0')
                       : c >= 'a' && c <= 'f' ? (unsigned int)(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? (unsigned int)(c - 'A' + 10)
                       : 16u;
        if (d > 15) return 0;
        *v = *v * 16 + d;
    }
    return 1;
}

/* The output side of a string: at most cap - 1 bytes kept, then cut. */
typedef struct sout_t {
    char       *buf;
    apr_size_t  cap, n;
} sout_t;

static void put(sout_t *o, const void *src, apr_size_t k)
{
    if (!o->buf || o->n + 1 >= o->cap) return;
    if (k > o->cap - 1 - o->n) k = o->cap - 1 - o->n;
    memcpy(o->buf + o->n, src, k);
    o->n += k;
}

static void put_code(sout_t *o, unsigned int c)
{
    unsigned char u[4];

    if (c == 0 || c > 0x10FFFF) c = 0xFFFD;
    if (c < 0x80) { u[0] = (unsigned char)c; put(o, u, 1); return; }
    if (c < 0x800) {
        u[0] = (unsigned char)(0xC0 | (c >> 6));
        u[1] = (unsigned char)(0x80 | (c & 0x3F));
        put(o, u, 2);
        return;
    }
    if (c < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (c >> 12));
        u[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (c & 0x3F));
        put(o, u, 3);
        return;
    }
    u[0] = (unsigned char)(0xF0 | (c >> 18));
    u[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    u[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    u[3] = (unsigned char)(0x80 | (c & 0x3F));
    put(o, u, 4);
}

/* \uXXXX (and its low surrogate) at s->p, just after the 'u'. */
static int unicode_escape(ps_t *s, sout_t *o)
{
    unsigned int c, lo;

    if (s->end - s->p < 4 || !hex4(s->p, &c)) {
        return fail(s, "not JSON: a bad \\u escape", 0);
    }
    s->p += 4;
    if (c >= 0xD800 && c <= 0xDBFF && s->end - s->p >= 6 && s->p[0] == '\\'
        && s->p[1] == 'u' && hex4(s->p + 2, &lo) && lo >= 0xDC00
        && lo <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        s->p += 6;
    }
    else if (c >= 0xD800 && c <= 0xDFFF) {
        c = 0xFFFD;                     /* a lone surrogate */
    }
    put_code(o, c);
    return 1;
}

static int escape(ps_t *s, sout_t *o)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *at;

    if (++s->p >= s->end) {
        return fail(s, "not JSON: a string is not closed", 0);
    }
    if (*s->p == 'u') {
        s->p++;
        return unicode_escape(s, o);
    }
    if (*s->p == 0 || (at = strchr(from, *s->p)) == NULL) {
        return fail_byte(s, "not JSON: a bad escape");
    }
    put(o, &to[at - from], 1);
    s->p++;
    return 1;
}

/* The string at s->p (its opening quote), into o (o->buf NULL: only
 * checked). Eight bytes at a time: the lowest flagged byte of a word is
 * always a real one (the borrows of special8 only run upwards). */
static int string(ps_t *s, sout_t *o)
{
    const unsigned char *run;
    apr_uint64_t m;

    s->p++;
    for (;;) {
        run = s->p;
        for (;;) {
#ifdef __SSE2__
            if (s->end - s->p >= 16) {
                unsigned int m16 = special16(s->p);
                if (m16 == 0) {
                    s->p += 16;
                    continue;
                }
                s->p += __builtin_ctz(m16);
                break;
            }
#endif
            if (s->end - s->p >= 8) {
                if ((m = special8(s->p)) == 0) {
                    s->p += 8;
                    continue;
                }
                s->p += __builtin_ctzll(m) >> 3;
                break;
            }
            while (s->p < s->end && *s->p >= 0x20 && *s->p < 0x80
                   && *s->p != '"' && *s->p != '\\') {
                s->p++;
            }
            break;
        }
        if (o->buf) put(o, run, (apr_size_t)(s->p - run));
        if (s->p >= s->end) {
            return fail(s, "not JSON: a string is not closed", 0);
        }
        if (*s->p == '"') {
            s->p++;
            return 1;
        }
        if (*s->p == '\\') {
            if (!escape(s, o)) return 0;
        }
        else if (*s->p < 0x20) {
            return fail_byte(s, "not JSON: a raw control byte in a string");
        }
        else {
            apr_size_t k = mt_utf8_seq_len(s->p, (apr_size_t)(s->end - s->p));
            if (k == 0) return fail_byte(s, "not JSON: invalid UTF-8");
            put(o, s->p, k);
            s->p += k;
        }
    }
}

/* Bytes that a string holds as they are: printable ASCII but '"' and
 * '\\'. */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* A key: short and plain in every record, so a plain loop first; anything
 * else (escapes, UTF-8, errors) goes the long way. */
static int key_string(ps_t *s)
{
    sout_t none = { NULL, 0, 0 };
    const unsigned char *p = s->p + 1;

    while (p < s->end && plain[*p]) p++;
    if (p < s->end && *p == '"') {
        s->p = p + 1;
        return 1;
    }
    return string(s, &none);
}

/* A number by JSON's grammar. *iv is its value when it is an integer that
 * fits (*is_int), *dv its value as a double. */
typedef struct num_t {
    int         is_int;
    apr_int64_t iv;
    double      dv;
} num_t;

/* Where the first byte of the 8 at p that is not a decimal digit is
 * (0 to 7), or 8 when all are. A byte is a digit when its high nibble is
 * 3 and adding 6 leaves it 3; a carry out of a byte only reaches the
 * bytes above it, never the first non-digit's verdict. */
static inline unsigned int digits8(const unsigned char *p)
{
    apr_uint64_t x, m;

    memcpy(&x, p, 8);
    m = ((x & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL)
        | (((x + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL)
           ^ 0x3030303030303030ULL);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return m ? (unsigned int)__builtin_ctzll(m) >> 3 : 8;
#else
    {
        unsigned int i;
        for (i = 0; i < 8 && (unsigned)(p[i] - '0') < 10; i++) {}
        return m ? i : 8;
    }
#endif
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The value of the k digits (1 to 8) at p, the first the highest: moved
 * up to the top of the word behind zeros, then added in pairs, fours and
 * eights (three multiplies instead of eight). */
static inline apr_uint64_t value8(const unsigned char *p, unsigned int k)
{
    apr_uint64_t x;

    memcpy(&x, p, 8);
    x = (x - 0x3030303030303030ULL) << (8 * (8 - k));
    x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFULL;
    x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFULL;
    return (x * 10000 + (x >> 32)) & 0xFFFFFFFFULL;
}
#define MT_VALUE8 1
#endif

/* Decimal digits into *acc; *over when they do not fit 64 bits. Up to 19
 * digits cannot overflow, so only longer runs are checked. */
static int digits(ps_t *s, apr_uint64_t *acc, int *over, int *count)
{
    const unsigned char *from = s->p;
    apr_uint64_t v = *acc;

#ifdef MT_VALUE8
    if (s->end - s->p >= 8) {           /* the first (up to) 8 at once */
        unsigned int k = digits8(s->p);
        if (k > 0) {
            static const apr_uint64_t scale[9] = {
                1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                100000000
            };
            v = v * scale[k] + value8(s->p, k);
            s->p += k;
        }
    }
#endif
    while (s->p < s->end && (unsigned)(*s->p - '0') < 10) {
        v = v * 10 + (unsigned)(*s->p++ - '0');
    }
    if (s->p - from > 19) {
        apr_uint64_t w = 0;
        const unsigned char *q;
        for (q = from; q < s->p; q++) {
            unsigned d = (unsigned)(*q - '0');
            if (w > (APR_UINT64_MAX - d) / 10) { *over = 1; break; }
            w = w * 10 + d;
        }
        v = w;
    }
    *acc = v;
    if (count) *count = (int)(s->p - from);
    return s->p > from;
}

static const double pow10_tab[] = {
    1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
    1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19
};

static int fraction(ps_t *s, num_t *v)
{
    apr_uint64_t f = 0;
    int over = 0, nd = 0;

    if (s->p >= s->end || *s->p != '.') return 1;
    s->p++;
    v->is_int = 0;
    if (!digits(s, &f, &over, &nd)) {
        return fail(s, "not JSON: a bad number", 0);
    }
    if (!over && nd < 20) v->dv += (double)f / pow10_tab[nd];
    return 1;
}

static int exponent(ps_t *s, num_t *v)
{
    apr_uint64_t e = 0;
    int over = 0, neg = 0;

    if (s->p >= s->end || (*s->p != 'e' && *s->p != 'E')) return 1;
    s->p++;
    v->is_int = 0;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) neg = *s->p++ == '-';
    if (!digits(s, &e, &over, NULL)) {
        return fail(s, "not JSON: a bad number", 0);
    }
    v->dv *= pow(10.0, over || e > 400 ? (neg ? -400.0 : 400.0)
                                       : (neg ? -(double)e : (double)e));
    return 1;
}

static int number(ps_t *s, num_t *v)
{
    apr_uint64_t u = 0;
    int over = 0, neg = 0;

    if (*s->p == '-') { neg = 1; s->p++; }
    if (s->p >= s->end || *s->p < '0' || *s->p > '9') {
        return fail(s, "not JSON: a bad number", 0);
    }
    if (*s->p == '0') s->p++;
    else digits(s, &u, &over, NULL);
    v->is_int = !over && u <= (apr_uint64_t)APR_INT64_MAX;
    v->iv = neg ? -(apr_int64_t)u : (apr_int64_t)u;
    v->dv = (double)u;
    if (!fraction(s, v) || !exponent(s, v)) return 0;
    if (neg) v->dv = -v->dv;
    return 1;
}

static inline int literal_n(ps_t *s, const char *w, apr_size_t n)
{
    if ((apr_size_t)(s->end - s->p) < n || !same_bytes(s->p, w, n)) {
        return fail_byte(s, "not JSON: unexpected byte");
    }
    s->p += n;
    return 1;
}

#define literal(s, w) literal_n(s, w, sizeof(w) - 1)

/* Past a run of digits, eight at a time while they last. */
static inline void skip_digits(ps_t *s)
{
    while (s->end - s->p >= 8) {
        unsigned int k = digits8(s->p);
        s->p += k;
        if (k < 8) return;
    }
    while (s->p < s->end && (unsigned)(*s->p - '0') < 10) s->p++;
}

/* A number checked by the grammar, its value not wanted. */
static int skip_number(ps_t *s)
{
    if (*s->p == '-') s->p++;
    if (s->p >= s->end || (unsigned)(*s->p - '0') >= 10) {
        return fail(s, "not JSON: a bad number", 0);
    }
    if (*s->p == '0') s->p++;
    else skip_digits(s);
    if (s->p < s->end && *s->p == '.') {
        const unsigned char *f = ++s->p;
        skip_digits(s);
        if (s->p == f) return fail(s, "not JSON: a bad number", 0);
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        const unsigned char *e;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
        e = s->p;
        while (s->p < s->end && (unsigned)(*s->p - '0') < 10) s->p++;
        if (s->p == e) return fail(s, "not JSON: a bad number", 0);
    }
    return 1;
}

/* ---- values ---- */

static int value(ps_t *s);

static int container(ps_t *s, unsigned char close)
{

    if (++s->depth > MT_REPORT_DEPTH_MAX) {
        return fail(s, "not JSON: nested deeper than 16 levels", 0);
    }
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        ws(s);
        if (close == '}') {
            if (s->p >= s->end || *s->p != '"') {
                return s->p >= s->end ? expect(s, '"', "")
                                      : fail_byte(s, "not JSON: expected a key");
            }
            if (!key_string(s) || !expect(s, ':', "not JSON: expected ':'")) {
                return 0;
            }
        }
        if (!value(s)) return 0;
        ws(s);
        if (s->p < s->end && *s->p == ',') { s->p++; continue; }
        if (!expect(s, close, close == '}' ? "not JSON: expected ',' or '}'"
                                           : "not JSON: expected ',' or ']'")) {
            return 0;
        }
        s->depth--;
        return 1;
    }
}

/* Any value, checked and skipped; value_at: at s->p, the whitespace
 * before it already skipped. */
static int value_at(ps_t *s)
{
    if (s->p >= s->end) return expect(s, '"', "");
    switch (*s->p) {
    case '"': return string(s, &(sout_t){ NULL, 0, 0 });
    case '{': return container(s, '}');
    case '[': return container(s, ']');
    case 't': return literal(s, "true");
    case 'f': return literal(s, "false");
    case 'n': return literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) return skip_number(s);
        return fail_byte(s, "not JSON: unexpected byte");
    }
}

static int value(ps_t *s)
{
    ws(s);
    return value_at(s);
}

static inline int is_null(ps_t *s)
{
    if (s->p < s->end && *s->p == 'n') {
        return literal(s, "null") ? 1 : -1;
    }
    return 0;
}

#ifdef MT_VALUE8
/* The usual integer, 1 to 15 plain digits (no sign, fraction, exponent or
 * leading zero), at once, s->p moved past it; 0 (s->p unmoved) for
 * anything else, which number() then takes by the grammar. */
static inline int plain_int(ps_t *s, apr_int64_t *out)
{
    unsigned int k, k2;
    apr_uint64_t v;
    const unsigned char *e;

    if (s->end - s->p <= 16 || (k = digits8(s->p)) == 0
        || (k > 1 && *s->p == '0')) {
        return 0;
    }
    if (k < 8) {
        v = value8(s->p, k);
        e = s->p + k;
    }
    else {
        static const apr_uint64_t scale[8] = {
            1, 10, 100, 1000, 10000, 100000, 1000000, 10000000
        };
        if ((k2 = digits8(s->p + 8)) == 8) return 0;
        v = value8(s->p, 8);
        if (k2 > 0) v = v * scale[k2] + value8(s->p + 8, k2);
        e = s->p + 8 + k2;
    }
    if (*e == '.' || (*e | 0x20) == 'e') return 0;
    s->p = e;
    *out = (apr_int64_t)v;
    return 1;
}
#endif

/* An integer field: *out stays as it is for null. min: the smallest value
 * allowed. */
static int int_field(ps_t *s, int key, apr_int64_t *out, apr_int64_t min,
                     apr_int64_t max)
{
    num_t v = { 0, 0, 0 };
    int null;

#ifdef MT_VALUE8
    const unsigned char *at = s->p;

    if (plain_int(s, &v.iv)) {
        if (v.iv >= min && v.iv <= max) {
            *out = v.iv;
            return 1;
        }
        s->p = at;                      /* out of range: said below */
    }
#endif
    if ((null = is_null(s)) != 0) return null > 0;
    if (s->p >= s->end || (*s->p != '-' && (*s->p < '0' || *s->p > '9'))) {
        return fail_type(s, key, "an integer");
    }
    if (!number(s, &v)) return 0;
    if (!v.is_int || v.iv < min || v.iv > max) {
        s->p--;
        return fail(s, v.is_int ? "out of range" : "not an integer", key);
    }
    *out = v.iv;
    return 1;
}

static int bool_field(ps_t *s, int key, int *out)
{
    int null = is_null(s);

    if (null) return null > 0;
    if (s->p < s->end && *s->p == 't') { *out = 1; return literal(s, "true"); }
    if (s->p < s->end && *s->p == 'f') { *out = 0; return literal(s, "false"); }
    return fail_type(s, key, "true, false or null");
}

/* A string field into buf (cap bytes); *present set when it was a string. */
static int str_field(ps_t *s, int key, char *buf, apr_size_t cap, int *present)
{
    sout_t o = { buf, cap, 0 };
    int null = is_null(s);

    if (null) return null > 0;
    if (s->p >= s->end || *s->p != '"') return fail_type(s, key, "a string");
    if (!string(s, &o)) return 0;
    if (buf) buf[o.n] = '\0';
    if (present) *present = 1;
    return 1;
}

static int secs_field(ps_t *s, int key, apr_int64_t *us)
{
    num_t v = { 0, 0, 0 };
    int null = is_null(s);

    if (null) return null > 0;
    if (s->p >= s->end || (*s->p != '-' && (*s->p < '0' || *s->p > '9'))) {
        return fail_type(s, key, "a number");
    }
    if (!number(s, &v)) return 0;
    if (!(v.dv >= 0 && v.dv < 1e9)) {
        s->p--;
        return fail(s, "out of range", key);
    }
    *us = (apr_int64_t)(v.dv * 1e6 + 0.5);
    return 1;
}

/* gc_stats_*: an object (or null); its total_allocated_objects kept. */
static int gc_field(ps_t *s, int key, apr_int64_t *allocated, int *present)
{
    const unsigned char *k;
    ptrdiff_t kl;
    apr_size_t pos = 0;
    int null = is_null(s);

    if (null) return null > 0;
    if (s->p >= s->end || *s->p != '{') return fail_type(s, key, "an object");
    *present = 1;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') { s->p++; return 1; }
    for (;;) {
        ws(s);
        if (pos < GC_LAYOUT_N
            && layout_at(s->p, s->end, &gc_layout[pos], &gc_pad[pos])) {
            k = s->p + 1;               /* the writer's next key */
            kl = (ptrdiff_t)gc_layout[pos].len - 2;
            s->p += gc_layout[pos++].len;
        }
        else {
            pos = GC_LAYOUT_N;
            if (s->p >= s->end || *s->p != '"') {
                return fail_byte(s, "not JSON: expected a key");
            }
            k = s->p + 1;
            if (!key_string(s)) return 0;
            kl = s->p - k;
            if (!expect(s, ':', "not JSON: expected ':'")) return 0;
        }
        ws(s);
        if (kl == 24 && !memcmp(k, "total_allocated_objects", 23)) {
            if (!int_field(s, key, allocated, 0, APR_INT64_MAX)) return 0;
        }
        else if (!value_at(s)) {
            return 0;
        }
        if (s->p < s->end && *s->p == ',') { s->p++; continue; }
        ws(s);
        if (s->p < s->end && *s->p == ',') { s->p++; continue; }
        return expect(s, '}', "not JSON: expected ',' or '}'");
    }
}

/* target and before_source: a few words only. */
static int word_field(ps_t *s, int key, mt_report_rec_t *rec)
{
    char w[16] = "";
    int present = 0;

    if (!str_field(s, key, w, sizeof(w), &present)) return 0;
    if (key == K_BEFORE_SRC) {
        /* w is zeroed past the string: fixed-size compares with its NUL */
        rec->before_own = present && (memcmp(w, "app", 4) == 0
                                      || memcmp(w, "module", 7) == 0);
        return 1;
    }
    if (!present || (memcmp(w, "self", 5) != 0 && memcmp(w, "backend", 8) != 0)) {
        s->p--;
        return fail(s, "neither \"self\" nor \"backend\"", key);
    }
    rec->self = w[0] == 's';
    return 1;
}

static int ufield(ps_t *s, int key, apr_uint64_t *out, apr_int64_t max)
{
    apr_int64_t v = 0;

    if (!int_field(s, key, &v, 0, max)) return 0;
    *out = (apr_uint64_t)v;
    return 1;
}

/* The value of one top-level field. */
static int field(ps_t *s, int key, mt_report_rec_t *rec, sout_t *server)
{
    apr_int64_t v = 0;
    int any = 0;

    switch (key) {
    case K_TIME: {
        const unsigned char *q = s->p + 1;
        if (s->p >= s->end || *s->p != '"') return fail_type(s, key, "a string");
        if (!string(s, &(sout_t){ NULL, 0, 0 })) return 0;
        if (mt_report_parse_time(&rec->time, (const char *)q,
                                 (apr_size_t)(s->p - q - 1)) != APR_SUCCESS) {
            s->p = q;
            return fail(s, "not an ISO 8601 UTC time", key);
        }
        return 1;
    }
    case K_TARGET: case K_BEFORE_SRC:
        return word_field(s, key, rec);
    case K_PID:
        if (!int_field(s, key, &v, 1, APR_INT32_MAX)) return 0;
        rec->pid = (int)v;
        return 1;
    case K_MEM_AFTER:
        return int_field(s, key, &rec->memory_after, 0, APR_INT64_MAX);
    case K_MEM_BEFORE:
        return int_field(s, key, &rec->memory_before, 0, APR_INT64_MAX);
    case K_REQ_ID:
        return str_field(s, key, rec->request_id, sizeof(rec->request_id), NULL);
    case K_ENDPOINT:
        return str_field(s, key, rec->endpoint, sizeof(rec->endpoint),
                         &rec->has_endpoint);
    case K_CONTROLLER:
        if (!str_field(s, key, NULL, 0, &any)) return 0;
        rec->app_reported |= any;
        return 1;
    case K_SERVER:
        return str_field(s, key, server->buf, server->cap, NULL);
    case K_GC_BEFORE:
        if (!gc_field(s, key, &rec->alloc_before, &any)) return 0;
        rec->app_reported |= any;
        return 1;
    case K_GC_AFTER:
        if (!gc_field(s, key, &rec->alloc_after, &any)) return 0;
        rec->app_reported |= any;
        return 1;
    case K_REQ_TIME:
        return secs_field(s, key, &rec->duration_us);
    case K_THRESHOLD:
        return bool_field(s, key, &rec->threshold_exceeded);
    case K_EXCLUSIVE:
        return bool_field(s, key, &rec->exclusive);
    case K_PID_START:
        return ufield(s, key, &rec->pid_start, APR_INT64_MAX);
    case K_PROBE_STARTED:
        return ufield(s, key, &rec->probe_started, APR_INT64_MAX);
    case K_PROBE_DONE:
        return ufield(s, key, &rec->probe_done, APR_INT64_MAX);
    case K_PROBE_BYTES:
        return int_field(s, key, &rec->probe_bytes, APR_INT64_MIN + 1,
                         APR_INT64_MAX);
    case K_PROBE_OBJECTS:
        return int_field(s, key, &rec->probe_objects, APR_INT64_MIN + 1,
                         APR_INT64_MAX);
    case K_PROBE_US:
        return int_field(s, key, &rec->probe_us, 0, APR_INT64_MAX);
    default:
        return value_at(s);             /* members skipped the whitespace */
    }
}

static void rec_clear(mt_report_rec_t *rec)
{
    rec->time = rec->key = 0;
    rec->duration_us = MT_UNKNOWN;
    rec->pid = rec->self = rec->exclusive = rec->before_own = 0;
    rec->threshold_exceeded = rec->app_reported = rec->has_endpoint = 0;
    rec->pid_start = rec->probe_started = rec->probe_done = 0;
    rec->memory_before = rec->memory_after = MT_UNKNOWN;
    rec->alloc_before = rec->alloc_after = MT_UNKNOWN;
    rec->probe_bytes = rec->probe_objects = MT_NOTE_NO_VALUE;
    rec->probe_us = MT_UNKNOWN;
    rec->server = 0;
    rec->request_id[0] = rec->endpoint[0] = '\0';
}

/* The next key: the one the writer puts next when it is there (*pos
 * follows the layout), else any key by the grammar. */
static int next_key(ps_t *s, apr_size_t *pos, int *key)
{
    const unsigned char *k;

    ws(s);
    if (*pos < LAYOUT_N
        && layout_at(s->p, s->end, &layout[*pos], &layout_pad[*pos])) {
        s->p += layout[*pos].len;
        *key = layout_pad[(*pos)++].key;
        return 1;
    }
    *pos = LAYOUT_N;                    /* off the layout: the general way */
    if (s->p >= s->end || *s->p != '"') {
        return s->p >= s->end ? expect(s, '"', "")
                              : fail_byte(s, "not JSON: expected a key");
    }
    k = s->p + 1;
    if (!key_string(s)) return 0;
    *key = key_of(k, (apr_size_t)(s->p - k - 1));
    return expect(s, ':', "not JSON: expected ':'");
}

/* The top-level object's members. */
static int members(ps_t *s, mt_report_rec_t *rec, sout_t *server,
                   unsigned int *seen)
{
    apr_size_t pos = 0;
    int key = K_OTHER;

    for (;;) {
        if (!next_key(s, &pos, &key)) return 0;
        ws(s);
        if (!field(s, key, rec, server)) return 0;
        *seen |= 1u << key;
        if (s->p < s->end && *s->p == ',') { s->p++; continue; }
        ws(s);
        if (s->p < s->end && *s->p == ',') { s->p++; continue; }
        return expect(s, '}', "not JSON: expected ',' or '}'");
    }
}

apr_status_t mt_report_parse(mt_report_rec_t *rec, char *server,
                             apr_size_t cap, mt_report_err_t *err,
                             const char *line, apr_size_t len)
{
    ps_t s;
    sout_t srv = { server, cap, 0 };
    unsigned int seen = 0, k;

    s.p = s.start = (const unsigned char *)line;
    s.end = s.p + len;
    s.err = err;
    s.depth = 0;
    err->what = NULL;
    rec_clear(rec);
    if (server && cap) server[0] = '\0';
    ws(&s);
    if (s.p >= s.end || *s.p != '{') {
        fail_byte(&s, s.p >= s.end ? "an empty line" : "not a JSON object");
        return APR_EGENERAL;
    }
    s.p++;
    ws(&s);
    if (s.p < s.end && *s.p == '}') {
        s.p++;
    }
    else if (!members(&s, rec, &srv, &seen)) {
        return APR_EGENERAL;
    }
    ws(&s);
    if (s.p < s.end) {
        fail_byte(&s, "not JSON: text after the object");
        return APR_EGENERAL;
    }
    for (k = 1; k <= K_MEM_AFTER; k++) {
        if ((K_REQUIRED & (1u << k)) && !(seen & (1u << k))) {
            s.p = s.start;
            fail(&s, "missing", (int)k);
            return APR_EGENERAL;
        }
    }
    rec->key = rec->exclusive || rec->duration_us < 0
               ? rec->time : rec->time + rec->duration_us;
    return APR_SUCCESS;
}

int mt_report_rec_usable(const mt_report_rec_t *rec)
{
    return rec->pid > 0 && rec->memory_after >= 0;
}

void mt_report_rec_note(mt_note_t *in, const mt_report_rec_t *rec, int pid)
{
    mt_note_clear(in);
    in->endpoint = rec->has_endpoint ? rec->endpoint : NULL;
    in->request_id = rec->request_id;
    in->pid = pid;
    in->start_ticks = rec->pid_start;
    in->kind = rec->self ? MT_STATE_KIND_SELF : MT_STATE_KIND_BACKEND;
    in->exclusive = rec->exclusive;
    in->rss_before = rec->memory_before;
    in->rss_after = rec->memory_after;
    in->before_own = rec->before_own;
    in->threshold_exceeded = rec->threshold_exceeded;
    if (rec->alloc_before >= 0 && rec->alloc_after >= rec->alloc_before) {
        in->alloc_objects = rec->alloc_after - rec->alloc_before;
    }
    if (rec->alloc_before >= 0) {
        in->order = rec->alloc_before;
    }
    in->app_reported = rec->app_reported;
    in->probeable = rec->exclusive && (rec->self || rec->app_reported);
    in->duration_us = rec->duration_us;
    in->now = rec->time + (rec->duration_us > 0 ? rec->duration_us : 0);
    in->probe_started = rec->probe_started;
    in->probe_done = rec->probe_done;
    if (rec->probe_done) {
        in->probe_bytes = rec->probe_bytes;
        in->probe_objects = rec->probe_objects;
        in->probe_us = rec->probe_us;
    }
}
