/* mt_proto: parser of the X-MemTrack header (see include/mt_proto.h).
 *
 * The value comes from an application process, which may be buggy or
 * compromised, so the parser is written like one facing a client: one pass
 * over at most MT_PROTO_MAX_LEN bytes, no recursion, no allocation but the two
 * bounded names, arithmetic checked before it can overflow. Items are taken
 * one at a time between ';' separators and judged alone: a bad item costs the
 * app that item only, counted in bad_items so the glue can log it.
 *
 * Keys live in one table with their kind and the offset of their field, so
 * adding a key is one line and the "each key once" rule is one bit per key.
 */
#include <stddef.h>
#include <string.h>

#include <apr_strings.h>

#include "mt_proto.h"
#include "mt_util.h"

typedef enum {
    MT_KEY_VERSION,     /* int, must be MT_PROTO_VERSION */
    MT_KEY_PID,         /* int, MT_PROTO_PID_MIN..MT_PROTO_PID_MAX */
    MT_KEY_NUM,         /* apr_int64_t, 0..MT_PROTO_MAX_NUM */
    MT_KEY_TOKEN,       /* apr_int64_t, 1..MT_PROTO_MAX_NUM (a probe token) */
    MT_KEY_SIGNED,      /* apr_int64_t, -MT_PROTO_MAX_NUM..MT_PROTO_MAX_NUM */
    MT_KEY_NAME         /* const char *, [A-Za-z0-9_:/.#-]{1,MT_PROTO_MAX_NAME} */
} mt_key_kind_e;

typedef struct {
    const char   *name;
    apr_size_t    len;
    mt_key_kind_e kind;
    size_t        offset;   /* of the field in mt_app_report_t */
} mt_key_t;

#define KEY(n, k, f) { n, sizeof(n) - 1, k, offsetof(mt_app_report_t, f) }

static const mt_key_t mt_keys[] = {
    KEY("v",            MT_KEY_VERSION, version),   /* first: MT_VERSION_BIT */
    KEY("pid",          MT_KEY_PID,     pid),
    KEY("rss_before",   MT_KEY_NUM,     rss_before),
    KEY("rss_after",    MT_KEY_NUM,     rss_after),
    KEY("gc_before",    MT_KEY_NUM,     gc_before.count),
    KEY("gc_after",     MT_KEY_NUM,     gc_after.count),
    KEY("minor_before", MT_KEY_NUM,     gc_before.minor),
    KEY("minor_after",  MT_KEY_NUM,     gc_after.minor),
    KEY("major_before", MT_KEY_NUM,     gc_before.major),
    KEY("major_after",  MT_KEY_NUM,     gc_after.major),
    KEY("live_before",  MT_KEY_NUM,     gc_before.live_slots),
    KEY("live_after",   MT_KEY_NUM,     gc_after.live_slots),
    KEY("old_before",   MT_KEY_NUM,     gc_before.old_objects),
    KEY("old_after",    MT_KEY_NUM,     gc_after.old_objects),
    KEY("alloc_before", MT_KEY_NUM,     gc_before.allocated),
    KEY("alloc_after",  MT_KEY_NUM,     gc_after.allocated),
    KEY("freed_before", MT_KEY_NUM,     gc_before.freed),
    KEY("freed_after",  MT_KEY_NUM,     gc_after.freed),
    KEY("uss",          MT_KEY_NUM,     uss_bytes),
    KEY("pss",          MT_KEY_NUM,     pss_bytes),
    KEY("qc_before",    MT_KEY_NUM,     qc_before),
    KEY("qc_after",     MT_KEY_NUM,     qc_after),
    KEY("controller",   MT_KEY_NAME,    controller),
    KEY("action",       MT_KEY_NAME,    action),
    KEY("probe",        MT_KEY_TOKEN,   probe_token),
    KEY("probe_done",   MT_KEY_TOKEN,   probe_done),
    KEY("probe_bytes",  MT_KEY_SIGNED,  probe_bytes),
    KEY("probe_objects", MT_KEY_SIGNED, probe_objects),
    KEY("probe_us",     MT_KEY_NUM,     probe_us),
    KEY("heap",         MT_KEY_TOKEN,   heap_token),
    KEY("heap_step",    MT_KEY_NUM,     heap_step),
    KEY("heap_gc",      MT_KEY_NUM,     heap_gc),
    KEY("heap_bytes",   MT_KEY_NUM,     heap_bytes),
    KEY("heap_us",      MT_KEY_NUM,     heap_us),
    KEY("heap_error",   MT_KEY_NAME,    heap_error),
};

#undef KEY

#define MT_NKEYS (sizeof(mt_keys) / sizeof(mt_keys[0]))

/* One bit per key in the "seen" set. */
typedef char mt_keys_fit_in_mask[MT_NKEYS <= 64 ? 1 : -1];

static void gc_clear(mt_gc_t *gc)
{
    gc->count = MT_UNKNOWN;
    gc->minor = MT_UNKNOWN;
    gc->major = MT_UNKNOWN;
    gc->live_slots = MT_UNKNOWN;
    gc->old_objects = MT_UNKNOWN;
    gc->allocated = MT_UNKNOWN;
    gc->freed = MT_UNKNOWN;
}

void mt_proto_clear(mt_app_report_t *rep)
{
    rep->version = 0;
    rep->pid = 0;
    rep->rss_before = MT_UNKNOWN;
    rep->rss_after = MT_UNKNOWN;
    gc_clear(&rep->gc_before);
    gc_clear(&rep->gc_after);
    rep->uss_bytes = MT_UNKNOWN;
    rep->pss_bytes = MT_UNKNOWN;
    rep->qc_before = MT_UNKNOWN;
    rep->qc_after = MT_UNKNOWN;
    rep->controller = NULL;
    rep->action = NULL;
    rep->probe_token = 0;
    rep->probe_done = 0;
    rep->probe_bytes = MT_PROTO_NO_SIGNED;
    rep->probe_objects = MT_PROTO_NO_SIGNED;
    rep->probe_us = MT_UNKNOWN;
    rep->heap_token = 0;
    rep->heap_step = MT_UNKNOWN;
    rep->heap_gc = rep->heap_bytes = rep->heap_us = MT_UNKNOWN;
    rep->heap_error = NULL;
    rep->bad_items = 0;
    rep->refused = NULL;
}

/* HTTP's optional whitespace. Nothing else counts as space: a vertical tab
 * or a NUL smuggled in is a bad item, not padding. */
static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '/'
        || c == '.' || c == '#' || c == '-';
}

/* Decimal digits only, at least one, value <= max. */
static int parse_num(apr_int64_t *out, const char *s, apr_size_t len,
                     apr_int64_t max)
{
    return mt_dec_parse_short(out, s, len, 0, max) == APR_SUCCESS;
}

/* An optional '-' before a magnitude that parse_num takes; "-0" is bad, so
 * zero has one spelling. The range is symmetric, so negating cannot overflow. */
static int parse_signed(apr_int64_t *out, const char *s, apr_size_t len,
                        apr_int64_t max)
{
    apr_int64_t v;

    if (len > 0 && s[0] == '-') {
        if (!parse_num(&v, s + 1, len - 1, max) || v == 0)
            return 0;
        *out = -v;
        return 1;
    }
    return parse_num(out, s, len, max);
}

static int valid_name(const char *s, apr_size_t len)
{
    apr_size_t i;

    if (len == 0 || len > MT_PROTO_MAX_NAME)
        return 0;
    for (i = 0; i < len; i++) {
        if (!is_name_char((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* The key [s, s + len), or NULL. The companion sends its keys in table
 * order, so the search starts at hint (the entry after the last key found)
 * and goes round: one comparison per item instead of a scan from the top.
 * The table's order decides nothing else. */
static inline const mt_key_t *find_key(const char *s, apr_size_t len,
                                       int *index, unsigned *hint)
{
    unsigned i = *hint, n;

    for (n = 0; n < MT_NKEYS; n++, i = i + 1 < MT_NKEYS ? i + 1 : 0) {
        if (mt_keys[i].len == len && mt_keys[i].name[0] == s[0]
            && memcmp(mt_keys[i].name, s, len) == 0) {
            *index = (int)i;
            *hint = i + 1 < MT_NKEYS ? i + 1 : 0;
            return &mt_keys[i];
        }
    }
    return NULL;
}

/* "v" is the table's first entry: its bit in the seen mask. */
#define MT_VERSION_BIT ((apr_uint64_t)1 << 0)

/* Store one value into its field. 1 when it was valid. */
static int store_value(mt_app_report_t *rep, const mt_key_t *key,
                       const char *val, apr_size_t len, apr_pool_t *p)
{
    char *field = (char *)rep + key->offset;
    apr_int64_t n;

    switch (key->kind) {
    case MT_KEY_VERSION:
        if (!parse_num(&n, val, len, MT_PROTO_VERSION) || n != MT_PROTO_VERSION)
            return 0;
        *(int *)(void *)field = (int)n;
        return 1;
    case MT_KEY_PID:
        if (!parse_num(&n, val, len, MT_PROTO_PID_MAX) || n < MT_PROTO_PID_MIN)
            return 0;
        *(int *)(void *)field = (int)n;
        return 1;
    case MT_KEY_NUM:
        if (!parse_num(&n, val, len, MT_PROTO_MAX_NUM))
            return 0;
        *(apr_int64_t *)(void *)field = n;
        return 1;
    case MT_KEY_TOKEN:
        if (!parse_num(&n, val, len, MT_PROTO_MAX_NUM) || n == 0)
            return 0;
        *(apr_int64_t *)(void *)field = n;
        return 1;
    case MT_KEY_SIGNED:
        if (!parse_signed(&n, val, len, MT_PROTO_MAX_NUM))
            return 0;
        *(apr_int64_t *)(void *)field = n;
        return 1;
    case MT_KEY_NAME:
        if (!valid_name(val, len))
            return 0;
        *(const char **)(void *)field = apr_pstrmemdup(p, val, len);
        return 1;
    }
    return 0;
}

/* Judge one item, [s, e) without its ';'. 1 when taken or empty. */
static int parse_item(mt_app_report_t *rep, apr_uint64_t *seen,
                      unsigned *hint, const char *s, const char *e,
                      apr_pool_t *p)
{
    const char *eq, *kend, *v;
    const mt_key_t *key;
    int index = 0;

    while (s < e && is_ows(*s))
        s++;
    while (e > s && is_ows(e[-1]))
        e--;
    if (s == e)
        return 1;                       /* empty item: tolerated */
    key = &mt_keys[*hint];
    if ((apr_size_t)(e - s) > key->len && s[key->len] == '='
        && memcmp(key->name, s, key->len) == 0) {
        /* The key expected next, right before its '=' (no name holds a
         * '=' or a blank, so that is the item's first '='): no search. */
        index = (int)*hint;
        *hint = *hint + 1 < MT_NKEYS ? *hint + 1 : 0;
        eq = s + key->len;
    }
    else {
        eq = memchr(s, '=', (size_t)(e - s));
        if (eq == NULL)
            return 0;
        for (kend = eq; kend > s && is_ows(kend[-1]); kend--)
            ;
        if (kend == s)
            return 0;                   /* no key */
        key = find_key(s, (apr_size_t)(kend - s), &index, hint);
        if (key == NULL)
            return 0;
    }
    for (v = eq + 1; v < e && is_ows(*v); v++)
        ;
    if (*seen & ((apr_uint64_t)1 << index))
        return 0;                       /* repeated: the first one stands */
    *seen |= (apr_uint64_t)1 << index;
    return store_value(rep, key, v, (apr_size_t)(e - v), p);
}

static apr_status_t refuse(mt_app_report_t *rep, const char *why)
{
    int bad = rep->bad_items;

    mt_proto_clear(rep);
    rep->bad_items = bad;
    rep->refused = why;
    return APR_EINVAL;
}

apr_status_t mt_proto_parse(mt_app_report_t *rep, const char *value,
                            apr_pool_t *p)
{
    apr_uint64_t seen = 0;
    unsigned hint = 0;
    const char *s, *end;

    mt_proto_clear(rep);
    if (value == NULL)
        return refuse(rep, "no header");
    /* strnlen stops at the bound: a huge value is never read whole. */
    end = value + strnlen(value, MT_PROTO_MAX_LEN + 1);
    if (end - value > MT_PROTO_MAX_LEN)
        return refuse(rep, "header too long");
    for (s = value; s < end; ) {
        const char *semi = memchr(s, ';', (size_t)(end - s));
        const char *e = semi ? semi : end;
        if (!parse_item(rep, &seen, &hint, s, e, p))
            rep->bad_items++;
        s = semi ? semi + 1 : end;
    }
    if (rep->pid == 0)
        return refuse(rep, "no valid pid");
    /* A "v" other than ours may mean the keys mean something else now. */
    if ((seen & MT_VERSION_BIT) && rep->version == 0)
        return refuse(rep, "unsupported version");
    return APR_SUCCESS;
}
