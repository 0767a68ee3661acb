/* mt_report: servers, the fleet and the reorder window of memtrack-report.
 * httpd-free; see include/mt_report.h. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "mt_endpoint.h"
#include "mt_report.h"

void mt_report_opts_default(mt_report_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    mt_state_params_default(&o->params);
    o->fleet_procs = MT_REPORT_FLEET_PROCS;
    o->servers_max = MT_REPORT_SERVERS_DEFAULT;
    o->window = MT_REPORT_WINDOW_DEFAULT;
}

static apr_status_t report_free(void *data)
{
    mt_report_t *r = data;
    unsigned int i;

    for (i = 0; i < r->n_servers; i++) {
        free(r->servers[i].mem);
        r->servers[i].mem = NULL;
    }
    free(r->fleet.mem);
    free(r->map);
    free(r->keys);
    r->fleet.mem = NULL;
    r->map = NULL;
    r->keys = NULL;
    return APR_SUCCESS;
}

apr_status_t mt_report_create(mt_report_t **pr, const mt_report_opts_t *o,
                              apr_pool_t *p)
{
    mt_report_t *r = apr_pcalloc(p, sizeof(*r));
    unsigned int i;

    r->opts = *o;
    if (r->opts.window < 1) r->opts.window = 1;
    if (r->opts.window > MT_REPORT_WINDOW_MAX) r->opts.window = MT_REPORT_WINDOW_MAX;
    if (r->opts.servers_max < 1) r->opts.servers_max = 1;
    if (r->opts.servers_max > 255) r->opts.servers_max = 255;
    r->pool = p;
    r->servers = apr_pcalloc(p, r->opts.servers_max * sizeof(*r->servers));
    apr_cpystrn(r->fleet.name, "fleet", sizeof(r->fleet.name));
    /* one slot more than the window: a record goes in before the oldest
     * leaves, so that it can be the one that leaves */
    r->slab = apr_palloc(p, (r->opts.window + 1) * sizeof(*r->slab));
    r->heap = apr_palloc(p, (r->opts.window + 1) * sizeof(*r->heap));
    r->free_slots = apr_palloc(p, (r->opts.window + 1) * sizeof(*r->free_slots));
    for (i = 0; i <= r->opts.window; i++) {
        r->free_slots[i] = r->opts.window - i;
    }
    r->n_free = r->opts.window + 1;
    r->out_key = APR_INT64_MIN;
    apr_pool_cleanup_register(p, r, report_free, apr_pool_cleanup_null);
    *pr = r;
    return APR_SUCCESS;
}

/* ---- servers ---- */

unsigned int mt_report_server(mt_report_t *r, const char *name)
{
    unsigned int h, b, i;
    mt_report_server_t *s;

    if (!name || !*name) name = MT_REPORT_UNKNOWN_SERVER;
    h = mt_endpoint_hash(name);
    for (b = h & 255, i = 0; i < 256; i++, b = (b + 1) & 255) {
        unsigned int v = r->srv_index[b];
        if (v == 0) break;
        if (r->servers[v - 1].hash == h && !strcmp(r->servers[v - 1].name, name)) {
            return v - 1;
        }
    }
    if (r->n_servers >= r->opts.servers_max || i == 256) {
        return MT_REPORT_FLEET_ONLY;
    }
    s = &r->servers[r->n_servers];
    apr_cpystrn(s->name, name, sizeof(s->name));
    s->hash = h;
    r->srv_index[b] = ++r->n_servers;
    return r->n_servers - 1;
}

/* A server's state, laid out on its first record. */
static int state_ready(mt_report_server_t *s, const mt_state_params_t *params,
                       apr_time_t now)
{
    if (s->mem) return 1;
    s->mem = calloc(1, mt_state_bytes(params));
    if (!s->mem) return 0;
    mt_state_init(&s->state, s->mem, params, now, NULL);
    return 1;
}

/* ---- the fleet's processes ---- */

static unsigned int key_hash(const mt_report_proc_key_t *k)
{
    apr_uint64_t x = ((apr_uint64_t)k->server << 32) ^ (apr_uint32_t)k->pid;

    x ^= k->start * 0x9E3779B97F4A7C15ULL;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    return (unsigned int)(x ^ (x >> 32));
}

static int grow_map(mt_report_t *r)
{
    unsigned int size = r->map ? (r->map_mask + 1) * 2 : 1024, i;
    unsigned int *map = calloc(size, sizeof(*map));
    mt_report_proc_key_t *keys = realloc(r->keys, size / 2 * sizeof(*keys));

    if (!map || !keys) {
        free(map);
        if (keys) r->keys = keys;
        return 0;
    }
    r->keys = keys;
    r->cap_keys = size / 2;
    free(r->map);
    r->map = map;
    r->map_mask = size - 1;
    for (i = 0; i < r->n_keys; i++) {
        unsigned int b = key_hash(&keys[i]) & r->map_mask;
        while (map[b]) b = (b + 1) & r->map_mask;
        map[b] = i + 1;
    }
    return 1;
}

/* The fleet's number for server + pid + start; 0 when out of memory. */
static int fleet_pid(mt_report_t *r, unsigned int server, int pid,
                     apr_uint64_t start)
{
    mt_report_proc_key_t k = { start, pid, server };
    unsigned int b;

    if ((r->n_keys >= r->cap_keys || !r->map) && !grow_map(r)) {
        return 0;
    }
    for (b = key_hash(&k) & r->map_mask; r->map[b]; b = (b + 1) & r->map_mask) {
        const mt_report_proc_key_t *o = &r->keys[r->map[b] - 1];
        if (o->pid == pid && o->start == start && o->server == server) {
            return (int)r->map[b];
        }
    }
    if (r->n_keys >= APR_INT32_MAX - 1) return 0;
    r->keys[r->n_keys++] = k;
    r->map[b] = r->n_keys;
    return (int)r->n_keys;
}

/* ---- analysing one record ---- */

static void note_into(mt_report_server_t *s, const mt_state_params_t *params,
                      const mt_report_rec_t *rec, int pid)
{
    mt_note_t in;

    mt_report_rec_note(&in, rec, pid);
    if (!state_ready(s, params, in.now)) return;
    mt_analysis_note(&s->state, &in, NULL);
    if (s->records == 0 || in.now < s->first) s->first = in.now;
    if (s->records == 0 || in.now > s->last) s->last = in.now;
    s->records++;
}

static void analyse(mt_report_t *r, const mt_report_rec_t *rec)
{
    mt_state_params_t fleet = r->opts.params;
    mt_report_server_t *s = rec->server < r->n_servers
                            ? &r->servers[rec->server] : NULL;
    int id;

    if (!mt_report_rec_usable(rec)) {
        r->unusable++;
        if (s) s->unusable++;
        return;
    }
    r->analysed++;
    if (s) note_into(s, &r->opts.params, rec, rec->pid);
    else r->fleet_only++;
    fleet.procs = r->opts.fleet_procs;
    if ((id = fleet_pid(r, rec->server, rec->pid, rec->pid_start)) > 0) {
        note_into(&r->fleet, &fleet, rec, id);
    }
}

/* ---- the window: a min-heap on (key, seq) ---- */

static int heap_less(const mt_report_heap_t *a, const mt_report_heap_t *b)
{
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void heap_push(mt_report_t *r, mt_report_heap_t e)
{
    unsigned int i = r->n_heap++;

    while (i > 0) {
        unsigned int up = (i - 1) / 2;
        if (!heap_less(&e, &r->heap[up])) break;
        r->heap[i] = r->heap[up];
        i = up;
    }
    r->heap[i] = e;
}

/* The top out, by Floyd's way: the hole goes down to a leaf by the
 * smaller child (one compare a level), then the last entry goes up from
 * there. It is among the newest in a log read in order, so it seldom
 * climbs: about half the compares of sifting it down from the top. The
 * order is the same, (key, seq) being unique. */
static mt_report_heap_t heap_pop(mt_report_t *r)
{
    mt_report_heap_t top = r->heap[0], last;
    unsigned int i = 0, n;

    if (--r->n_heap == 0) return top;
    last = r->heap[r->n_heap];
    n = r->n_heap;
    for (;;) {
        unsigned int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_less(&r->heap[c + 1], &r->heap[c])) c++;
        r->heap[i] = r->heap[c];
        i = c;
    }
    while (i > 0) {
        unsigned int up = (i - 1) / 2;
        if (!heap_less(&last, &r->heap[up])) break;
        r->heap[i] = r->heap[up];
        i = up;
    }
    r->heap[i] = last;
    return top;
}

static void release_oldest(mt_report_t *r)
{
    mt_report_heap_t e = heap_pop(r);

    if (e.key < r->out_key) r->late++;
    else r->out_key = e.key;
    analyse(r, &r->slab[e.slot]);
    r->free_slots[r->n_free++] = e.slot;
}

void mt_report_add(mt_report_t *r, const mt_report_rec_t *rec)
{
    mt_report_heap_t e;

    if ((r->opts.since && rec->time < r->opts.since)
        || (r->opts.until && rec->time > r->opts.until)) {
        r->outside++;
        return;
    }
    r->records++;
    e.slot = r->free_slots[--r->n_free];
    e.key = rec->key;
    e.seq = r->seq++;
    r->slab[e.slot] = *rec;
    heap_push(r, e);
    if (r->n_heap > r->opts.window) release_oldest(r);
}

void mt_report_finish(mt_report_t *r)
{
    while (r->n_heap > 0) release_oldest(r);
}

/* ---- reports ---- */

/* The fleet's processes by their real pid and server. */
static void real_pids(mt_an_report_t *rep, const char *const **names,
                      const mt_report_t *r, apr_pool_t *p)
{
    const char **out = apr_pcalloc(p, (rep->n_procs + 1) * sizeof(*out));
    unsigned int i;

    for (i = 0; i < rep->n_procs; i++) {
        int id = rep->procs[i].pid;
        const mt_report_proc_key_t *k;
        if (id < 1 || (unsigned int)id > r->n_keys) continue;
        k = &r->keys[id - 1];
        rep->procs[i].pid = k->pid;
        out[i] = k->server < r->n_servers ? r->servers[k->server].name
                                          : "(beyond --servers)";
    }
    if (names) *names = out;
}

apr_status_t mt_report_analysis(mt_an_report_t **rep,
                                const char *const **proc_servers,
                                mt_report_t *r, int server, apr_pool_t *p)
{
    mt_report_server_t *s = server < 0 ? &r->fleet
                          : (unsigned int)server < r->n_servers
                          ? &r->servers[server] : NULL;
    mt_state_params_t params = r->opts.params;
    apr_status_t rv;

    if (proc_servers) *proc_servers = NULL;
    if (!s) return APR_NOTFOUND;
    if (server < 0) params.procs = r->opts.fleet_procs;
    if (!state_ready(s, &params, 0)) return APR_ENOMEM;
    if (APR_SUCCESS != (rv = mt_analysis_report(rep, &s->state, s->last, p))) {
        return rv;
    }
    if (server < 0) real_pids(*rep, proc_servers, r, p);
    return APR_SUCCESS;
}

apr_size_t mt_report_memory(const mt_report_t *r)
{
    mt_state_params_t fleet = r->opts.params;
    apr_size_t n = sizeof(*r), one = mt_state_bytes(&r->opts.params);
    unsigned int i;

    for (i = 0; i < r->n_servers; i++) {
        if (r->servers[i].mem) n += one;
    }
    fleet.procs = r->opts.fleet_procs;
    if (r->fleet.mem) n += mt_state_bytes(&fleet);
    n += (apr_size_t)(r->opts.window + 1) * (sizeof(*r->slab) + sizeof(*r->heap)
                                             + sizeof(*r->free_slots));
    n += (apr_size_t)r->cap_keys * sizeof(*r->keys)
         + (r->map ? (apr_size_t)(r->map_mask + 1) * sizeof(*r->map) : 0);
    n += r->opts.servers_max * sizeof(*r->servers);
    return n;
}
