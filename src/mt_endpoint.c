/* mt_endpoint: endpoint names. httpd-free; see include/mt_endpoint.h.
 *
 * Runs on every recorded request, so it works in one pass into a fixed
 * buffer with no allocation: a Rails name is two short copies, a path is
 * one walk over its bytes.
 */
#include <stdint.h>
#include <string.h>

#include "mt_endpoint.h"
#include "mt_util.h"

/* Writes into a bounded buffer; full stops all further writes. The text
 * goes at p; room ends 3 bytes before the buffer's end, kept for the
 * "..." of a cut. */
typedef struct {
    char       *p;
    const char *room_end;
    int         full;
} out_t;

static void out_init(out_t *o, char *buf)
{
    o->p = buf;
    o->room_end = buf + MT_ENDPOINT_MAX - 3;
    o->full = 0;
    *buf = '\0';
}

/* The end of the name: its NUL. */
static void out_end(out_t *o)
{
    *o->p = '\0';
}

/* No room for what comes next: "..." ends the name (the room kept for it
 * makes a cut always visible), and nothing more is written. */
static void cut(out_t *o)
{
    memcpy(o->p, "...", 3);
    o->p += 3;
    o->full = 1;
}

/* Byte c, printable ASCII. */
static void put1(out_t *o, char c)
{
    if (o->full) return;
    if (o->p < o->room_end) {
        *o->p++ = c;
        return;
    }
    cut(o);
}

/* The rare bytes: a control byte becomes '?', invalid UTF-8 U+FFFD; a
 * sequence that does not fit ends the name with "...". Returns the bytes
 * of text taken, 0 when the name is full. */
static size_t put_other(out_t *o, const unsigned char *s, size_t avail)
{
    size_t n = mt_utf8_seq_len(s, avail);
    const char *w = n ? (const char *)s : "\xEF\xBF\xBD";
    size_t wl = n ? n : 3;

    if (n == 1 && (s[0] < 0x20 || s[0] == 0x7F)) {
        w = "?";
    }
    if ((size_t)(o->room_end - o->p) < wl) {
        cut(o);
        return 0;
    }
    memcpy(o->p, w, wl);
    o->p += wl;
    return n ? n : 1;
}

/* Whether a lane of x (mt_v16, mt_util.h) holds a byte that is not
 * printable ASCII (below 0x20, DEL, or 0x80 and above: negative as signed
 * char): among the first 8 (all16 0) or all 16. */
static inline int not_plain(mt_v16 x, int all16)
{
    return mt_v16_any((x < 0x20) | (x == 0x7f), all16);
}

/* The usual case of put: len bytes, all printable ASCII, that fit before
 * room_end, copied at once (overlapping halves, as the record writer
 * does). 0: not that case, nothing written. */
static int put_plain(out_t *o, const char *s, size_t len)
{
    const char *e = s + len;
    mt_v16 x = { 0 };

    if (o->full || len > (size_t)(o->room_end - o->p)) {
        return 0;
    }
    if (len >= 16) {
        const char *c;
        for (c = s; e - c >= 16; c += 16) {
            memcpy(&x, c, 16);
            if (not_plain(x, 1)) return 0;
        }
        memcpy(&x, e - 16, 16);
        if (not_plain(x, 1)) return 0;
        memcpy(o->p, s, len);
    }
    else if (len >= 8) {
        memcpy(&x, s, 8);
        memcpy((char *)&x + 8, e - 8, 8);
        if (not_plain(x, 1)) return 0;
        memcpy(o->p, s, 8);
        memcpy(o->p + len - 8, e - 8, 8);
    }
    else if (len >= 4) {
        memcpy(&x, s, 4);
        memcpy((char *)&x + 4, e - 4, 4);
        if (not_plain(x, 0)) return 0;
        memcpy(o->p, s, 4);
        memcpy(o->p + len - 4, e - 4, 4);
    }
    else {
        size_t i;
        for (i = 0; i < len; i++) {
            if ((unsigned char)(s[i] - 0x20) >= 0x5F) return 0;
        }
        for (i = 0; i < len; i++) o->p[i] = s[i];
    }
    o->p += len;
    return 1;
}

/* Append len bytes as clean text, byte by byte: what put_plain does not
 * take (a control byte, UTF-8, the room running out). Runs of printable
 * ASCII are copied while scanned. */
static __attribute__((noinline)) void put_slow(out_t *o, const char *text,
                                               size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    const unsigned char *end = s + len;

    while (s < end && !o->full) {
        size_t room = (size_t)(o->room_end - o->p);
        const unsigned char *lim = (size_t)(end - s) < room ? end : s + room;
        char *dst = o->p;
        size_t took;

        while (s < lim && (unsigned char)(*s - 0x20) < 0x5F) {
            *dst++ = (char)*s++;
        }
        o->p = dst;
        if (s == end) {
            break;
        }
        took = put_other(o, s, (size_t)(end - s));
        s += took;
    }
}

/* Append len bytes as clean text. */
static void put(out_t *o, const char *text, size_t len)
{
    if (!put_plain(o, text, len)) {
        put_slow(o, text, len);
    }
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}

static int is_uuid(const char *s, size_t len)
{
    size_t i;

    if (len != 36) return 0;
    for (i = 0; i < len; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i])) return 0;
    }
    return 1;
}

static int is_token(const char *s, size_t len)
{
    size_t i, digits = 0, letters = 0, hex = 0;

    if (len < 16) return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') digits++;
        else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) letters++;
        else if (c != '_' && c != '-' && c != '=') return 0;
        hex += is_hex(c);
    }
    return hex == len || (digits >= 2 && letters >= 1);
}

int mt_endpoint_is_id(const char *s, size_t len)
{
    size_t d = 0;

    while (d < len && s[d] >= '0' && s[d] <= '9') d++;
    if (d > 0 && (d == len || s[d] == '.')) {
        return 1;       /* 123, 123.json */
    }
    return is_uuid(s, len) || is_token(s, len);
}

/* The digits of an id segment followed by an extension keep the
 * extension: "123.json" -> ":id.json". */
static void put_segment(out_t *o, const char *seg, size_t len)
{
    size_t d = 0;

    while (d < len && seg[d] >= '0' && seg[d] <= '9') d++;
    if (d > 0 && d < len && seg[d] == '.') {
        put(o, ":id", 3);
        put(o, seg + d, len - d);
    }
    else if (mt_endpoint_is_id(seg, len)) {
        put(o, ":id", 3);
    }
    else {
        put(o, seg, len);
    }
}

/* Rule 3 into o. */
static void put_path(out_t *o, const char *method, const char *path)
{
    const char *p = path ? path : "";
    const char *end = p + strcspn(p, "?#");
    const char *m = method && *method ? method : "-";
    int segments = 0;

    put(o, m, strnlen(m, 32));
    put1(o, ' ');
    if (p == end) {
        put1(o, '/');
    }
    while (p < end && !o->full) {
        const char *slash = memchr(p + 1, '/', (size_t)(end - p - 1));
        const char *segend = slash ? slash : end;

        if (*p != '/') {            /* "*" (OPTIONS *) or a proxy URL */
            put(o, p, (size_t)(end - p));
            break;
        }
        if (++segments > MT_ENDPOINT_SEGMENTS) {
            put(o, "/...", 4);
            break;
        }
        put1(o, '/');
        put_segment(o, p + 1, (size_t)(segend - p - 1));
        p = segend;
    }
}

const char *mt_endpoint_from_path(char *out, const char *method,
                                  const char *path)
{
    out_t o;

    out_init(&o, out);
    put_path(&o, method, path);
    out_end(&o);
    return out;
}

const char *mt_endpoint_name(char *out, const char *configured,
                             const char *controller, const char *action,
                             const char *method, const char *path)
{
    out_t o;

    out_init(&o, out);
    if (configured && *configured) {
        put(&o, configured, strlen(configured));
    }
    else if (controller && *controller && action && *action) {
        put(&o, controller, strlen(controller));
        put1(&o, '#');
        put(&o, action, strlen(action));
    }
    else {
        put_path(&o, method, path);
    }
    out_end(&o);
    return out;
}

/* A 64-bit multiply and a fold per word: the bits of every byte reach the
 * high bits, which the route hints check. */
static inline uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

unsigned int mt_endpoint_hash(const char *name)
{
    size_t n = strlen(name);
    const char *s = name, *e = name + n;
    uint64_t h = 0xCBF29CE484222325ull ^ n, w = 0;

    for (; e - s > 8; s += 8) {
        memcpy(&w, s, 8);
        h = mix(h, w);
    }
    if (n >= 8) {
        memcpy(&w, e - 8, 8);             /* the last 8, overlapping */
    }
    else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, e - 4, 4);
        w = a | (uint64_t)b << 32;
    }
    else if (n > 0) {
        w = (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[n / 2] << 8
            | (uint64_t)(unsigned char)s[n - 1] << 16;
    }
    h = mix(h, w) * 0xBF58476D1CE4E5B9ull;
    return (unsigned int)(h >> 32);
}
