/* mt_heapdump: streaming reader of ObjectSpace.dump_all JSON Lines (see
 * include/mt_heapdump.h).
 *
 * One byte-driven state machine over a line; the states that see most
 * bytes (a string value nobody wants, a nested array of references) scan
 * ahead for the few bytes that can end them, so most of a dump is skipped
 * at memchr-like speed. Wanted strings go into small fixed buffers; a
 * file name that does not fit keeps its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "mt_heapdump.h"
#include "mt_limits.h"   /* MT_HD_READ_CHUNK, _KEY_MAX, _NUM_DIGITS */

typedef enum {
    S_LINE,            /* before the line's '{' */
    S_KEY_OR_CLOSE,    /* after '{': a key or '}' */
    S_KEY_START,       /* after ',': a key */
    S_KEY,             /* in a key */
    S_KEY_ESC,
    S_COLON,
    S_VALUE,
    S_STR,             /* in a string value */
    S_STR_ESC,
    S_STR_U,           /* in the 4 hex digits of \u */
    S_NUM,
    S_LIT,             /* true, false, null */
    S_NEST,            /* in a nested object or array */
    S_NEST_STR,
    S_NEST_ESC,
    S_AFTER_VALUE,     /* ',' or '}' */
    S_AFTER_OBJ,       /* only spaces until the newline */
    S_BAD              /* skipping to the newline */
} mt_hd_state_e;

typedef enum {
    F_NONE = 0, F_ADDRESS, F_TYPE, F_CLASS, F_FILE, F_NAME,
    F_LINE, F_GENERATION, F_MEMSIZE
} mt_hd_field_e;

#define F_STRINGS 6       /* fields below this are strings (but F_NONE) */

/* A kept string: the file name keeps its last MT_HEAPDUMP_STR_MAX bytes. */
typedef struct {
    char       buf[2 * MT_HEAPDUMP_STR_MAX + 8];
    apr_size_t len;
    int        cut;
    int        seen;
} mt_hd_str_t;

struct mt_heapdump_t {
    mt_heapdump_cb     *cb;
    void               *baton;
    mt_heapdump_stats_t stats;
    mt_hd_state_e       state;
    int                 stopped;
    char                key[MT_HD_KEY_MAX + 1];
    apr_size_t          key_len;    /* > MT_HD_KEY_MAX: not one of ours */
    mt_hd_field_e       field;      /* of the value being read */
    mt_hd_str_t         str[F_STRINGS];
    unsigned int        u_digits;   /* \u digits read */
    unsigned int        u_value;
    apr_int64_t         num;        /* the number being read */
    int                 num_neg, num_digits, num_ok;
    apr_int64_t         nums[3];    /* line, generation, memsize */
    char                lit[6];
    apr_size_t          lit_len;
    apr_size_t          depth;      /* of nesting in S_NEST */
};

mt_heapdump_t *mt_heapdump_create(mt_heapdump_cb *cb, void *baton,
                                  apr_pool_t *p)
{
    mt_heapdump_t *d = apr_pcalloc(p, sizeof(*d));

    d->cb = cb;
    d->baton = baton;
    d->state = S_LINE;
    return d;
}

const mt_heapdump_stats_t *mt_heapdump_stats(const mt_heapdump_t *d)
{
    return &d->stats;
}

/* ---- one line's values ---- */

static void line_reset(mt_heapdump_t *d)
{
    int i;

    for (i = 0; i < F_STRINGS; i++) {
        d->str[i].len = 0;
        d->str[i].cut = 0;
        d->str[i].seen = 0;
    }
    d->nums[0] = d->nums[1] = d->nums[2] = -1;
}

static mt_hd_field_e field_of(const char *k, apr_size_t n)
{
    static const struct { const char *k; mt_hd_field_e f; } keys[] = {
        { "address", F_ADDRESS }, { "type", F_TYPE }, { "class", F_CLASS },
        { "file", F_FILE }, { "name", F_NAME }, { "line", F_LINE },
        { "generation", F_GENERATION }, { "memsize", F_MEMSIZE },
    };
    apr_size_t i;

    if (n > MT_HD_KEY_MAX) {
        return F_NONE;
    }
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strlen(keys[i].k) == n && !memcmp(keys[i].k, k, n)) {
            return keys[i].f;
        }
    }
    return F_NONE;
}

/* Append a byte to the kept string of the current field. Only a file name
 * keeps going past the cap (its end is what counts); other strings stop. */
static void str_add(mt_heapdump_t *d, char c)
{
    mt_hd_str_t *s = &d->str[d->field];

    if (s->len >= sizeof(s->buf) - 1) {
        if (d->field != F_FILE) {
            s->cut = 1;
            return;
        }
        memmove(s->buf, s->buf + s->len - MT_HEAPDUMP_STR_MAX,
                MT_HEAPDUMP_STR_MAX);
        s->len = MT_HEAPDUMP_STR_MAX;
        s->cut = 1;
    }
    s->buf[s->len++] = c;
}

/* A \u escape's code point as UTF-8 (a lone surrogate as U+FFFD). */
static void str_add_u(mt_heapdump_t *d, unsigned int u)
{
    if (u >= 0xD800 && u <= 0xDFFF) {
        u = 0xFFFD;
    }
    if (u < 0x80) {
        str_add(d, (char)u);
    }
    else if (u < 0x800) {
        str_add(d, (char)(0xC0 | (u >> 6)));
        str_add(d, (char)(0x80 | (u & 0x3F)));
    }
    else {
        str_add(d, (char)(0xE0 | (u >> 12)));
        str_add(d, (char)(0x80 | ((u >> 6) & 0x3F)));
        str_add(d, (char)(0x80 | (u & 0x3F)));
    }
}

static apr_uint64_t hex_address(const mt_hd_str_t *s)
{
    apr_uint64_t v = 0;
    apr_size_t i;

    if (!s->seen || s->cut || s->len < 3 || s->len > 18 || s->buf[0] != '0'
        || (s->buf[1] != 'x' && s->buf[1] != 'X')) {
        return 0;
    }
    for (i = 2; i < s->len; i++) {
        char c = s->buf[i];
        int h = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (h < 0) {
            return 0;
        }
        v = (v << 4) | (apr_uint64_t)h;
    }
    return v;
}

/* The line was one object: hand it over. */
static void emit(mt_heapdump_t *d)
{
    mt_heapobj_t o;
    mt_hd_str_t *t = &d->str[F_TYPE], *f = &d->str[F_FILE],
                *n = &d->str[F_NAME];

    memset(&o, 0, sizeof(o));
    o.address = hex_address(&d->str[F_ADDRESS]);
    o.class_addr = hex_address(&d->str[F_CLASS]);
    if (t->seen && !t->cut && t->len <= MT_HEAPDUMP_TYPE_MAX) {
        memcpy(o.type, t->buf, t->len);
    }
    if (f->seen) {
        if (f->len > MT_HEAPDUMP_STR_MAX) {      /* its end is what counts */
            memmove(f->buf, f->buf + f->len - MT_HEAPDUMP_STR_MAX,
                    MT_HEAPDUMP_STR_MAX);
            f->len = MT_HEAPDUMP_STR_MAX;
            f->cut = 1;
        }
        f->buf[f->len] = '\0';
        o.file = f->buf;
        o.file_len = f->len;
        o.file_cut = f->cut;
    }
    if (n->seen) {
        if (n->len > MT_HEAPDUMP_STR_MAX) n->len = MT_HEAPDUMP_STR_MAX;
        n->buf[n->len] = '\0';
        o.name = n->buf;
        o.name_len = n->len;
    }
    o.line = d->nums[0];
    o.generation = d->nums[1];
    o.memsize = d->nums[2] < 0 ? 0 : d->nums[2];
    d->stats.objects++;
    if (d->cb && d->cb(d->baton, &o)) {
        d->stopped = 1;
    }
}

static void bad_line(mt_heapdump_t *d)
{
    d->stats.bad_lines++;
    d->state = S_BAD;
}

/* ---- values ---- */

static void num_start(mt_heapdump_t *d, char c)
{
    d->num = 0;
    d->num_neg = c == '-';
    d->num_digits = c == '-' ? 0 : 1;
    d->num_ok = 1;
    if (c != '-') {
        d->num = c - '0';
    }
    d->state = S_NUM;
}

static void num_end(mt_heapdump_t *d)
{
    if (d->num_digits == 0) {
        bad_line(d);
        return;
    }
    if (d->field >= F_LINE && d->num_ok) {
        d->nums[d->field - F_LINE] = d->num_neg ? -d->num : d->num;
    }
    d->state = S_AFTER_VALUE;
}

/* One byte of a number; 0 when the byte ends it (not consumed). */
static int num_byte(mt_heapdump_t *d, char c)
{
    if (c >= '0' && c <= '9') {
        if (++d->num_digits > MT_HD_NUM_DIGITS) d->num_ok = 0;
        else d->num = d->num * 10 + (c - '0');
        return 1;
    }
    if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        d->num_ok = 0;             /* a JSON number, but not an integer */
        return 1;
    }
    num_end(d);
    return 0;
}

static int lit_byte(mt_heapdump_t *d, char c)
{
    if (c >= 'a' && c <= 'z' && d->lit_len < 5) {
        d->lit[d->lit_len++] = c;
        return 1;
    }
    d->lit[d->lit_len] = '\0';
    if (strcmp(d->lit, "true") != 0 && strcmp(d->lit, "false") != 0
        && strcmp(d->lit, "null") != 0) {
        bad_line(d);
        return 1;
    }
    d->state = S_AFTER_VALUE;
    return 0;
}

static void value_start(mt_heapdump_t *d, char c)
{
    if (c == '"') {
        d->state = S_STR;
        if (d->field > F_NONE && d->field < F_STRINGS) {
            d->str[d->field].seen = 1;
            d->str[d->field].len = 0;
        }
    }
    else if (c == '-' || (c >= '0' && c <= '9')) num_start(d, c);
    else if (c == '{' || c == '[') {
        d->depth = 1;
        d->state = S_NEST;
    }
    else if (c >= 'a' && c <= 'z') {
        d->lit_len = 0;
        d->lit[d->lit_len++] = c;
        d->state = S_LIT;
    }
    else bad_line(d);
}

static void str_escape(mt_heapdump_t *d, char c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *at = c ? strchr(from, c) : NULL;

    if (c == 'u') {
        d->u_digits = 0;
        d->u_value = 0;
        d->state = S_STR_U;
        return;
    }
    if (!at) {
        bad_line(d);
        return;
    }
    if (d->field > F_NONE && d->field < F_STRINGS) {
        str_add(d, to[at - from]);
    }
    d->state = S_STR;
}

static void str_u_digit(mt_heapdump_t *d, char c)
{
    int h = c >= '0' && c <= '9' ? c - '0'
          : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

    if (h < 0) {
        bad_line(d);
        return;
    }
    d->u_value = (d->u_value << 4) | (unsigned int)h;
    if (++d->u_digits == 4) {
        if (d->field > F_NONE && d->field < F_STRINGS) {
            str_add_u(d, d->u_value);
        }
        d->state = S_STR;
    }
}

/* ---- the fast states: bytes nobody keeps ---- */

/* In a string: how many bytes before one that matters ('"', '\\', or a
 * newline, which no JSON string holds). */
static apr_size_t plain_run(const char *s, apr_size_t n)
{
    apr_size_t i = 0;

    while (i < n && s[i] != '"' && s[i] != '\\' && s[i] != '\n') i++;
    return i;
}

static apr_size_t nest_run(const char *s, apr_size_t n)
{
    apr_size_t i = 0;

    while (i < n && s[i] != '"' && s[i] != '{' && s[i] != '}' && s[i] != '['
           && s[i] != ']' && s[i] != '\n') {
        i++;
    }
    return i;
}

static void nest_byte(mt_heapdump_t *d, char c)
{
    if (c == '"') d->state = S_NEST_STR;
    else if (c == '{' || c == '[') d->depth++;
    else if (--d->depth == 0) d->state = S_AFTER_VALUE;   /* '}' or ']' */
}

/* Bytes of a string value at s: consumes a run, or one special byte. */
static apr_size_t str_bytes(mt_heapdump_t *d, const char *s, apr_size_t n)
{
    int keep = d->field > F_NONE && d->field < F_STRINGS;
    apr_size_t run = plain_run(s, n), i;

    if (run > 0) {
        if (keep) {
            for (i = 0; i < run; i++) str_add(d, s[i]);
        }
        return run;
    }
    if (s[0] == '"') d->state = S_AFTER_VALUE;
    else d->state = S_STR_ESC;             /* '\\'; '\n' is handled before */
    return 1;
}

/* ---- the structure ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void key_byte(mt_heapdump_t *d, char c)
{
    if (c == '"') {
        d->field = field_of(d->key, d->key_len);
        d->state = S_COLON;
    }
    else if (c == '\\') {
        d->key_len = MT_HD_KEY_MAX + 1;      /* escaped: not one of ours */
        d->state = S_KEY_ESC;
    }
    else if (d->key_len < MT_HD_KEY_MAX) d->key[d->key_len++] = c;
    else d->key_len = MT_HD_KEY_MAX + 1;
}

static void key_start(mt_heapdump_t *d, char c, int may_close)
{
    if (c == '"') {
        d->key_len = 0;
        d->state = S_KEY;
    }
    else if (c == '}' && may_close) d->state = S_AFTER_OBJ;
    else if (!is_space(c)) bad_line(d);
}

/* One structural byte (not a newline) in the current state. */
static void struct_byte(mt_heapdump_t *d, char c)
{
    switch (d->state) {
    case S_LINE:
        if (c == '{') {
            line_reset(d);
            d->stats.lines++;
            d->state = S_KEY_OR_CLOSE;
        }
        else if (!is_space(c)) {
            d->stats.lines++;
            bad_line(d);
        }
        break;
    case S_KEY_OR_CLOSE: key_start(d, c, 1); break;
    case S_KEY_START:    key_start(d, c, 0); break;
    case S_KEY:          key_byte(d, c); break;
    case S_KEY_ESC:      d->state = S_KEY; break;
    case S_COLON:
        if (c == ':') d->state = S_VALUE;
        else if (!is_space(c)) bad_line(d);
        break;
    case S_VALUE:
        if (!is_space(c)) value_start(d, c);
        break;
    case S_STR_ESC:      str_escape(d, c); break;
    case S_STR_U:        str_u_digit(d, c); break;
    case S_NEST_ESC:     d->state = S_NEST_STR; break;
    case S_AFTER_VALUE:
        if (c == ',') d->state = S_KEY_START;
        else if (c == '}') d->state = S_AFTER_OBJ;
        else if (!is_space(c)) bad_line(d);
        break;
    case S_AFTER_OBJ:
        if (!is_space(c)) bad_line(d);
        break;
    default:
        break;
    }
}

/* The end of a line: an object, a bad line, or nothing. */
static void newline(mt_heapdump_t *d)
{
    if (d->state == S_NUM) num_end(d);
    else if (d->state == S_LIT) lit_byte(d, '\n');
    if (d->state == S_AFTER_OBJ) emit(d);
    else if (d->state != S_LINE && d->state != S_BAD) d->stats.bad_lines++;
    d->state = S_LINE;
}

/* Consume bytes at s (n > 0) in the current state; returns how many. */
static apr_size_t step(mt_heapdump_t *d, const char *s, apr_size_t n)
{
    const char *nl;
    apr_size_t run;

    if (s[0] == '\n') {
        newline(d);
        return 1;
    }
    switch (d->state) {
    case S_BAD:
        nl = memchr(s, '\n', n);
        return nl ? (apr_size_t)(nl - s) : n;
    case S_STR:
        return str_bytes(d, s, n);
    case S_NEST:
        if ((run = nest_run(s, n)) > 0) return run;
        nest_byte(d, s[0]);
        return 1;
    case S_NEST_STR:
        if ((run = plain_run(s, n)) > 0) return run;
        d->state = s[0] == '"' ? S_NEST : S_NEST_ESC;
        return 1;
    case S_NUM:
        return num_byte(d, s[0]) ? 1 : 0;
    case S_LIT:
        return lit_byte(d, s[0]) ? 1 : 0;
    default:
        struct_byte(d, s[0]);
        return 1;
    }
}

apr_status_t mt_heapdump_push(mt_heapdump_t *d, const char *buf,
                              apr_size_t len)
{
    apr_size_t i = 0;

    if (d->stopped) {
        return APR_EINTR;
    }
    d->stats.bytes += (apr_int64_t)len;
    while (i < len) {
        i += step(d, buf + i, len - i);
        if (d->stopped) {
            return APR_EINTR;
        }
    }
    return APR_SUCCESS;
}

apr_status_t mt_heapdump_finish(mt_heapdump_t *d)
{
    if (d->stopped) {
        return APR_EINTR;
    }
    if (d->state != S_LINE) {
        newline(d);
    }
    return d->stopped ? APR_EINTR : APR_SUCCESS;
}

/* ---- files ---- */

static apr_status_t read_fd(int fd, mt_heapdump_t *d,
                            const volatile apr_uint32_t *cancel, char *buf,
                            char *err, apr_size_t errlen)
{
    apr_status_t rv = APR_SUCCESS;
    ssize_t got;

    for (;;) {
        if (cancel && *cancel) {
            apr_cpystrn(err, "cancelled", errlen);
            return APR_ECONNABORTED;
        }
        got = read(fd, buf, MT_HD_READ_CHUNK);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            rv = APR_FROM_OS_ERROR(errno);
            apr_snprintf(err, errlen, "read: %s", strerror(errno));
            return rv;
        }
        if (got == 0) {
            return mt_heapdump_finish(d);
        }
        if ((rv = mt_heapdump_push(d, buf, (apr_size_t)got)) != APR_SUCCESS) {
            return rv;
        }
    }
}

apr_status_t mt_heapdump_read(const char *path, mt_heapdump_cb *cb,
                              void *baton, const volatile apr_uint32_t *cancel,
                              apr_int64_t max_bytes, mt_heapdump_stats_t *stats,
                              char *err, apr_size_t errlen, apr_pool_t *p)
{
    mt_heapdump_t *d = mt_heapdump_create(cb, baton, p);
    char *buf = apr_palloc(p, MT_HD_READ_CHUNK);
    struct stat st;
    apr_status_t rv;
    int fd;

    err[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        apr_snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return rv;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        apr_cpystrn(err, "not a regular file", errlen);
        close(fd);
        return APR_EGENERAL;
    }
    if (max_bytes > 0 && (apr_int64_t)st.st_size > max_bytes) {
        apr_snprintf(err, errlen, "%" APR_INT64_T_FMT " bytes, more than the "
                     "limit of %" APR_INT64_T_FMT, (apr_int64_t)st.st_size,
                     max_bytes);
        close(fd);
        return APR_EGENERAL;
    }
    rv = read_fd(fd, d, cancel, buf, err, errlen);
    close(fd);
    if (stats) {
        *stats = d->stats;
    }
    return rv;
}
