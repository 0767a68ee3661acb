/* mt_heapdiff: the three-snapshot diff (see include/mt_heapdiff.h).
 *
 * The snapshots are read in the order 1, 3, 2: set 1 (class names; every
 * address in addresses mode) and set 3 (the addresses that are still
 * alive) are held, set 2 is streamed and each of its objects that was born
 * after 1 and is in 3 is added to its group. The address sets are open
 * addressing tables of 64-bit keys, grown at half load up to max_objects;
 * groups, file names and class names live in APR hashes of the diff's
 * subpool, so everything goes with it.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_strings.h>

#include "mt_heapdiff.h"
#include "mt_heapdump.h"
#include "mt_limits.h"   /* MT_HD_SET_MIN, _GEN_BITS, _NAMES_MAX, ... */
#include "mt_util.h"

/* ---- address sets ---- */

typedef struct {
    apr_uint64_t *keys;          /* 0: empty */
    apr_size_t    cap;           /* a power of two */
    apr_size_t    n;
    apr_size_t    max;
} mt_hd_set_t;

static apr_size_t slot_of(apr_uint64_t k, apr_size_t cap)
{
    return (apr_size_t)((k * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

static apr_status_t set_cleanup(void *data)
{
    mt_hd_set_t *s = data;

    free(s->keys);
    s->keys = NULL;
    return APR_SUCCESS;
}

static apr_status_t set_init(mt_hd_set_t *s, apr_size_t max, apr_pool_t *p)
{
    s->cap = MT_HD_SET_MIN;
    s->n = 0;
    s->max = max;
    s->keys = calloc(s->cap, sizeof(*s->keys));
    if (!s->keys) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, s, set_cleanup, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

static void set_put(apr_uint64_t *keys, apr_size_t cap, apr_uint64_t k)
{
    apr_size_t i = slot_of(k, cap);

    while (keys[i] && keys[i] != k) i = (i + 1) & (cap - 1);
    keys[i] = k;
}

static int set_grow(mt_hd_set_t *s)
{
    apr_size_t cap = s->cap * 2, i;
    apr_uint64_t *keys = calloc(cap, sizeof(*keys));

    if (!keys) {
        return 0;
    }
    for (i = 0; i < s->cap; i++) {
        if (s->keys[i]) set_put(keys, cap, s->keys[i]);
    }
    free(s->keys);
    s->keys = keys;
    s->cap = cap;
    return 1;
}

/* 1 when k is in the set now, 0 when the set is full (or memory is). */
static int set_add(mt_hd_set_t *s, apr_uint64_t k)
{
    apr_size_t i;

    if (s->n >= s->max || (2 * (s->n + 1) > s->cap && !set_grow(s))) {
        return 0;
    }
    i = slot_of(k, s->cap);
    while (s->keys[i] && s->keys[i] != k) i = (i + 1) & (s->cap - 1);
    if (!s->keys[i]) {
        s->keys[i] = k;
        s->n++;
    }
    return 1;
}

static int set_has(const mt_hd_set_t *s, apr_uint64_t k)
{
    apr_size_t i = slot_of(k, s->cap);

    while (s->keys[i]) {
        if (s->keys[i] == k) return 1;
        i = (i + 1) & (s->cap - 1);
    }
    return 0;
}

/* An object of set 3 in generations mode: its address and 20 bits of its
 * generation, so that a slot reused by a later object is another key. */
static apr_uint64_t gen_key(apr_uint64_t addr, apr_int64_t gen)
{
    apr_uint64_t k = (addr >> 3) ^ (((apr_uint64_t)gen & 0xFFFFFu) << 44);

    return k ? k : 1;
}

/* ---- the diff's context ---- */

typedef struct {
    apr_uint32_t type;           /* index into types */
    apr_uint32_t file;           /* 0: none, else index + 1 into files */
    apr_uint64_t class_addr;
    apr_int64_t  line;
} mt_hd_gkey_t;

typedef struct {
    mt_hd_gkey_t key;
    apr_int64_t  count, bytes, gen_min, gen_max;
    apr_uint64_t gens[MT_HD_GEN_BITS / 64];
} mt_hd_group_t;

typedef struct {
    apr_pool_t   *p;
    const mt_heapdiff_opts_t *o;
    mt_heapdiff_result_t *res;
    int           gen_mode;
    mt_hd_set_t   set1, set3;
    apr_hash_t   *names;         /* class address (8 bytes) -> name */
    apr_hash_t   *file_ids;      /* file name -> index + 1 */
    apr_array_header_t *files;   /* const char * */
    apr_array_header_t *file_cut;/* int */
    const char   *types[MT_HD_TYPES_MAX];
    unsigned int  n_types;
    apr_hash_t   *groups;        /* mt_hd_gkey_t -> mt_hd_group_t */
    int           full;          /* a set ran full: stop */
} mt_hd_ctx_t;

static void note_name(mt_hd_ctx_t *c, const mt_heapobj_t *obj)
{
    apr_uint64_t *k;

    if (!obj->name || !obj->address || apr_hash_count(c->names) >= MT_HD_NAMES_MAX
        || apr_hash_get(c->names, &obj->address, sizeof(obj->address))) {
        return;
    }
    k = apr_palloc(c->p, sizeof(*k));
    *k = obj->address;
    apr_hash_set(c->names, k, sizeof(*k),
                 apr_pstrmemdup(c->p, obj->name,
                                obj->name_len > MT_HEAPDIFF_CLASS_MAX
                                ? MT_HEAPDIFF_CLASS_MAX : obj->name_len));
}

static int cb_set1(void *baton, const mt_heapobj_t *obj)
{
    mt_hd_ctx_t *c = baton;

    note_name(c, obj);
    c->res->objects[0]++;
    if (!c->gen_mode && obj->address && !set_add(&c->set1, obj->address)) {
        c->full = 1;
        return 1;
    }
    return 0;
}

static int born_between(const mt_hd_ctx_t *c, apr_int64_t gen)
{
    return gen >= c->o->gen1 && gen < c->o->gen2;
}

static int cb_set3(void *baton, const mt_heapobj_t *obj)
{
    mt_hd_ctx_t *c = baton;
    int added = 1;

    note_name(c, obj);
    c->res->objects[2]++;
    if (!obj->address) {
        return 0;
    }
    if (c->gen_mode) {
        if (born_between(c, obj->generation)) {
            added = set_add(&c->set3, gen_key(obj->address, obj->generation));
        }
    }
    else {
        added = set_add(&c->set3, obj->address);
    }
    if (!added) {
        c->full = 1;
    }
    return !added;
}

static apr_uint32_t type_id(mt_hd_ctx_t *c, const char *type)
{
    unsigned int i;

    for (i = 0; i < c->n_types; i++) {
        if (!strcmp(c->types[i], type)) return i;
    }
    if (c->n_types == MT_HD_TYPES_MAX) {
        return 0;
    }
    c->types[c->n_types] = apr_pstrdup(c->p, type);
    return c->n_types++;
}

static apr_uint32_t file_id(mt_hd_ctx_t *c, const mt_heapobj_t *obj)
{
    void *v;
    const char *name;

    if (!obj->file) {
        return 0;
    }
    if ((v = apr_hash_get(c->file_ids, obj->file, (apr_ssize_t)obj->file_len))) {
        return (apr_uint32_t)(apr_uintptr_t)v;
    }
    if ((apr_size_t)c->files->nelts >= MT_HD_FILES_MAX) {
        return 0;
    }
    name = apr_pstrmemdup(c->p, obj->file, obj->file_len);
    APR_ARRAY_PUSH(c->files, const char *) = name;
    APR_ARRAY_PUSH(c->file_cut, int) = obj->file_cut;
    apr_hash_set(c->file_ids, name, (apr_ssize_t)obj->file_len,
                 (void *)(apr_uintptr_t)c->files->nelts);
    return (apr_uint32_t)c->files->nelts;
}

static mt_hd_group_t *group_of(mt_hd_ctx_t *c, const mt_heapobj_t *obj)
{
    mt_hd_gkey_t k;
    mt_hd_group_t *g;

    memset(&k, 0, sizeof(k));
    k.type = type_id(c, obj->type);
    k.file = file_id(c, obj);
    /* an IMEMO's or NODE's "class" is not its class (a call cache names
     * the receiver's): the type says what it is */
    k.class_addr = strcmp(obj->type, "IMEMO") != 0
                   && strcmp(obj->type, "NODE") != 0 ? obj->class_addr : 0;
    k.line = obj->file ? obj->line : -1;
    if ((g = apr_hash_get(c->groups, &k, sizeof(k)))) {
        return g;
    }
    if (apr_hash_count(c->groups) >= c->o->max_groups) {
        return NULL;
    }
    g = apr_pcalloc(c->p, sizeof(*g));
    g->key = k;
    g->gen_min = g->gen_max = -1;
    apr_hash_set(c->groups, &g->key, sizeof(g->key), g);
    return g;
}

static void count_in(mt_hd_ctx_t *c, const mt_heapobj_t *obj)
{
    mt_hd_group_t *g = group_of(c, obj);
    apr_int64_t gen = obj->generation;

    c->res->kept_objects++;
    c->res->kept_bytes += obj->memsize;
    if (!obj->file) {
        c->res->untraced_objects++;
    }
    if (!g) {
        c->res->other_objects++;
        c->res->other_bytes += obj->memsize;
        return;
    }
    g->count++;
    g->bytes += obj->memsize;
    if (gen >= 0) {
        if (g->gen_min < 0 || gen < g->gen_min) g->gen_min = gen;
        if (gen > g->gen_max) g->gen_max = gen;
        g->gens[(gen % MT_HD_GEN_BITS) / 64] |=
            (apr_uint64_t)1 << (gen % MT_HD_GEN_BITS % 64);
    }
}

static int cb_set2(void *baton, const mt_heapobj_t *obj)
{
    mt_hd_ctx_t *c = baton;
    int kept;

    note_name(c, obj);
    c->res->objects[1]++;
    if (!obj->address) {
        return 0;
    }
    if (c->gen_mode) {
        kept = born_between(c, obj->generation)
               && set_has(&c->set3, gen_key(obj->address, obj->generation));
    }
    else {
        kept = !set_has(&c->set1, obj->address)
               && set_has(&c->set3, obj->address);
    }
    if (kept) {
        count_in(c, obj);
    }
    return 0;
}

/* ---- ranking ---- */

static int group_cmp(const void *a, const void *b)
{
    const mt_hd_group_t *x = *(const mt_hd_group_t *const *)a;
    const mt_hd_group_t *y = *(const mt_hd_group_t *const *)b;

    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->key.file != y->key.file) return x->key.file < y->key.file ? -1 : 1;
    if (x->key.line != y->key.line) return x->key.line < y->key.line ? -1 : 1;
    return x->key.type < y->key.type ? -1 : x->key.type > y->key.type;
}

static apr_int64_t popcount(const apr_uint64_t *w, int n)
{
    apr_int64_t k = 0;
    int i;

    for (i = 0; i < n; i++) k += __builtin_popcountll(w[i]);
    return k;
}

/* The file as shown: relative to the app root when under it, and its
 * last MT_HEAPDIFF_FILE_MAX bytes when longer. */
static void row_file(mt_heapdiff_row_t *row, const mt_hd_ctx_t *c,
                     apr_uint32_t id)
{
    const char *f = APR_ARRAY_IDX(c->files, id - 1, const char *);
    const char *pre = c->o->strip_prefix;
    apr_size_t n, plen = pre ? strlen(pre) : 0;

    while (plen > 1 && pre[plen - 1] == '/') plen--;
    if (plen && !strncmp(f, pre, plen) && f[plen] == '/' && f[plen + 1]) {
        f += plen + 1;
    }
    n = strlen(f);
    row->file_cut = APR_ARRAY_IDX(c->file_cut, id - 1, int);
    if (n > MT_HEAPDIFF_FILE_MAX) {
        f += n - MT_HEAPDIFF_FILE_MAX;
        row->file_cut = 1;
    }
    apr_cpystrn(row->file, f, sizeof(row->file));
}

static void fill_row(mt_heapdiff_row_t *row, const mt_hd_ctx_t *c,
                     const mt_hd_group_t *g)
{
    const char *name = apr_hash_get(c->names, &g->key.class_addr,
                                    sizeof(g->key.class_addr));

    memset(row, 0, sizeof(*row));
    apr_cpystrn(row->type, c->types[g->key.type], sizeof(row->type));
    apr_cpystrn(row->class_name, name ? name : "", sizeof(row->class_name));
    if (g->key.file) {
        row_file(row, c, g->key.file);
    }
    row->line = g->key.line;
    row->count = g->count;
    row->bytes = g->bytes;
    row->gen_first = g->gen_min;
    row->gen_last = g->gen_max;
    row->generations = popcount(g->gens, MT_HD_GEN_BITS / 64);
}

static void rank(mt_hd_ctx_t *c)
{
    apr_size_t n = apr_hash_count(c->groups), i = 0;
    mt_hd_group_t **all = apr_palloc(c->p, (n ? n : 1)
                                              * sizeof(mt_hd_group_t *));
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(c->p, c->groups); hi; hi = apr_hash_next(hi)) {
        all[i++] = apr_hash_this_val(hi);
    }
    qsort(all, n, sizeof(mt_hd_group_t *), group_cmp);
    c->res->groups = (apr_int64_t)n;
    for (i = 0; i < n && i < MT_HEAPDIFF_ROWS; i++) {
        fill_row(&c->res->rows[i], c, all[i]);
    }
    c->res->n_rows = (apr_int32_t)i;
}

/* ---- the run ---- */

void mt_heapdiff_opts_default(mt_heapdiff_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->gen1 = o->gen2 = -1;
    o->max_objects = MT_HEAPDIFF_MAX_OBJECTS;
    o->max_groups = MT_HEAPDIFF_MAX_GROUPS;
}

static apr_status_t read_one(mt_hd_ctx_t *c, int n, const char *path,
                             mt_heapdump_cb *cb)
{
    mt_heapdump_stats_t st = { 0 };
    char err[160];
    apr_status_t rv;

    rv = mt_heapdump_read(path, cb, c, c->o->cancel, c->o->max_file_bytes,
                          &st, err, sizeof(err), c->p);
    c->res->file_bytes[n - 1] = st.bytes;
    c->res->bad_lines += st.bad_lines;
    if (rv == APR_EINTR && c->full) {
        apr_snprintf(c->res->message, sizeof(c->res->message), "snapshot %d "
                     "holds more than %" APR_SIZE_T_FMT " objects to keep: "
                     "more than the diff holds (memory bound); nothing "
                     "ranked", n, c->o->max_objects);
        return APR_ENOSPC;
    }
    if (rv != APR_SUCCESS) {
        apr_snprintf(c->res->message, sizeof(c->res->message),
                     "snapshot %d (%s): %s", n, path, err);
    }
    return rv;
}

static void note_bad_lines(mt_heapdiff_result_t *res)
{
    if (res->bad_lines > 0 && !res->message[0]) {
        apr_snprintf(res->message, sizeof(res->message), "%" APR_INT64_T_FMT
                     " lines of the snapshots were not JSON objects and were "
                     "skipped (a snapshot cut short?)", res->bad_lines);
    }
}

static apr_status_t run(mt_hd_ctx_t *c, const char *const paths[3])
{
    apr_status_t rv;
    apr_size_t max = c->o->max_objects ? c->o->max_objects
                                       : MT_HEAPDIFF_MAX_OBJECTS;

    if ((rv = set_init(&c->set1, max, c->p)) != APR_SUCCESS
        || (rv = set_init(&c->set3, max, c->p)) != APR_SUCCESS) {
        apr_cpystrn(c->res->message, "out of memory", sizeof(c->res->message));
        return rv;
    }
    if ((rv = read_one(c, 1, paths[0], cb_set1)) != APR_SUCCESS
        || (rv = read_one(c, 3, paths[2], cb_set3)) != APR_SUCCESS
        || (rv = read_one(c, 2, paths[1], cb_set2)) != APR_SUCCESS) {
        return rv;
    }
    rank(c);
    return APR_SUCCESS;
}

apr_status_t mt_heapdiff_run(mt_heapdiff_result_t *res,
                             const char *const paths[3],
                             const mt_heapdiff_opts_t *opts, apr_pool_t *p)
{
    mt_heapdiff_opts_t o = *opts;
    apr_time_t t0 = mt_mono_now();
    mt_hd_ctx_t c;
    apr_status_t rv;

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    if (!o.max_groups) o.max_groups = MT_HEAPDIFF_MAX_GROUPS;
    if (APR_SUCCESS != (rv = apr_pool_create(&c.p, p))) {
        apr_cpystrn(res->message, "out of memory", sizeof(res->message));
        return rv;
    }
    c.o = &o;
    c.res = res;
    c.gen_mode = o.gen1 >= 0 && o.gen2 > o.gen1;
    c.names = apr_hash_make(c.p);
    c.file_ids = apr_hash_make(c.p);
    c.files = apr_array_make(c.p, 64, sizeof(const char *));
    c.file_cut = apr_array_make(c.p, 64, sizeof(int));
    c.groups = apr_hash_make(c.p);
    type_id(&c, "");
    rv = run(&c, paths);
    if (rv == APR_SUCCESS) {
        res->mode = c.gen_mode ? MT_HEAPDIFF_GENERATIONS : MT_HEAPDIFF_ADDRESSES;
        note_bad_lines(res);
    }
    else {
        res->n_rows = 0;
    }
    apr_pool_destroy(c.p);
    res->seconds = (double)(mt_mono_now() - t0) / 1e6;
    return rv;
}
