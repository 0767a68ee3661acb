/* mt_endpoint: endpoint names. httpd-free; see include/mt_endpoint.h.
 *
 * Runs on every recorded request, so it works in one pass into a fixed
 * buffer with no allocation: a Rails name is two short copies, a path is
 * one walk over its bytes.
 */
#include <string.h>

#include "mt_endpoint.h"
#include "mt_util.h"

/* Writes into a bounded buffer; full stops all further writes. */
typedef struct {
    char  *buf;
    size_t len;
    int    full;
} out_t;

/* Append len bytes as clean text: controls become '?', invalid UTF-8 U+FFFD.
 * A sequence that does not fit ends the name with "...". Runs of plain
 * printable ASCII (every byte of most names) are copied whole. */
static
void put(out_t *o, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;

    while (i < len && !o->full) {
        size_t lim = len - i < MT_ENDPOINT_MAX - 3 - o->len
                     ? len : i + (MT_ENDPOINT_MAX - 3 - o->len);
        size_t n, wl;
        const char *w;

        /* copied while scanned: a name is short, a memcpy call is not
         * (locals: stores through o->buf could alias o->len) */
        size_t start = i;
        char *dst = o->buf + o->len;

        while (i < lim && (unsigned char)(s[i] - 0x20) < 0x5F) {
            *dst++ = (char)s[i++];
        }
        o->len += i - start;
        if (i == len) {
            break;
        }
        n = mt_utf8_seq_len(s + i, len - i);
        w = n ? text + i : "\xEF\xBF\xBD";
        wl = n ? n : 3;
        if (n == 1 && (s[i] < 0x20 || s[i] == 0x7F)) {
            w = "?";
        }
        if (o->len + wl > MT_ENDPOINT_MAX - 3) {
            /* keep room for "..." so that a cut is always visible */
            memcpy(o->buf + o->len, "...", 3);
            o->len += 3;
            o->full = 1;
            break;
        }
        memcpy(o->buf + o->len, w, wl);     /* the rare path */
        o->len += wl;
        i += n ? n : 1;
    }
    o->buf[o->len] = '\0';
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

const char *mt_endpoint_from_path(char *out, const char *method,
                                  const char *path)
{
    out_t o = { out, 0, 0 };
    const char *p = path ? path : "";
    const char *end = p + strcspn(p, "?#");
    int segments = 0;

    const char *m = method && *method ? method : "-";

    out[0] = '\0';
    put(&o, m, strnlen(m, 32));
    put(&o, " ", 1);
    if (p == end) {
        put(&o, "/", 1);
    }
    while (p < end && !o.full) {
        const char *slash = memchr(p + 1, '/', (size_t)(end - p - 1));
        const char *segend = slash ? slash : end;

        if (*p != '/') {            /* "*" (OPTIONS *) or a proxy URL */
            put(&o, p, (size_t)(end - p));
            break;
        }
        if (++segments > MT_ENDPOINT_SEGMENTS) {
            put(&o, "/...", 4);
            break;
        }
        put(&o, "/", 1);
        put_segment(&o, p + 1, (size_t)(segend - p - 1));
        p = segend;
    }
    return out;
}

const char *mt_endpoint_name(char *out, const char *configured,
                             const char *controller, const char *action,
                             const char *method, const char *path)
{
    out_t o = { out, 0, 0 };

    out[0] = '\0';
    if (configured && *configured) {
        put(&o, configured, strlen(configured));
        return out;
    }
    if (controller && *controller && action && *action) {
        put(&o, controller, strlen(controller));
        put(&o, "#", 1);
        put(&o, action, strlen(action));
        return out;
    }
    return mt_endpoint_from_path(out, method, path);
}

unsigned int mt_endpoint_hash(const char *name)
{
    unsigned int h = 2166136261u;

    for (; *name; name++) {
        h ^= (unsigned char)*name;
        h *= 16777619u;
    }
    return h;
}
