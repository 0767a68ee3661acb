/* mt_state: processes and endpoints across requests. httpd-free; see
 * include/mt_state.h. */
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include "mt_endpoint.h"
#include "mt_limits.h"   /* MT_STATE_LOCK_*, the sizes */
#include "mt_sample.h"
#include "mt_state.h"
#include "mt_stats.h"
#include "mt_util.h"

#define MT_STATE_MAGIC_BASE 0x6d74737400000000ULL   /* "mtst" */
/* 5: endpoint hashes a word at a time (mt_endpoint_hash); the tables of a
 * module before it, kept over a graceful restart, hold FNV-1a hashes.
 * 6: each process slot keeps its last first calls (mt_first_t).
 * 7: an index of the process slots by pid after the route hints, and
 * hdr->pid_seq (a process was found by walking every slot). */
#define MT_STATE_LAYOUT     7

typedef char mt_ep_name_fits[MT_EP_NAME_MAX == MT_ENDPOINT_MAX ? 1 : -1];

void mt_state_params_default(mt_state_params_t *p)
{
    p->procs = MT_DEFAULT_PROCS;
    p->endpoints = MT_DEFAULT_ENDPOINTS;
    p->leak_min_bytes = MT_DEFAULT_LEAK_MIN_BYTES;
    p->warmup_requests = MT_DEFAULT_WARMUP_REQUESTS;
}

/* The endpoint index has twice as many buckets as endpoints, rounded up to
 * a power of two, so that probing stays short; the pid index as many for
 * the process slots. */
static unsigned int index_size(unsigned int endpoints)
{
    unsigned int n = 16;

    while (n < 2 * (endpoints + 1)) n <<= 1;
    return n;
}

static apr_size_t align8(apr_size_t n)
{
    return (n + 7) & ~(apr_size_t)7;
}

apr_size_t mt_state_bytes(const mt_state_params_t *p)
{
    return align8(sizeof(mt_state_hdr_t))
           + (apr_size_t)p->procs * sizeof(mt_proc_slot_t)
           + (apr_size_t)(p->endpoints + 1) * sizeof(mt_ep_slot_t)
           + (apr_size_t)index_size(p->endpoints) * sizeof(apr_uint32_t)
           + (apr_size_t)MT_STATE_HINTS * sizeof(apr_uint32_t)
           + (apr_size_t)index_size(p->procs) * sizeof(apr_uint32_t);
}

static apr_uint64_t magic_of(const mt_state_params_t *p)
{
    return MT_STATE_MAGIC_BASE ^ ((apr_uint64_t)MT_STATE_LAYOUT << 48)
           ^ ((apr_uint64_t)p->procs << 24) ^ (apr_uint64_t)p->endpoints;
}

void mt_state_init(mt_state_t *st, void *mem, const mt_state_params_t *params,
                   apr_time_t now, int *kept)
{
    char *p = mem;
    mt_state_hdr_t *hdr = mem;
    int same = hdr->magic == magic_of(params)
               && hdr->params.procs == params->procs
               && hdr->params.endpoints == params->endpoints;

    if (!same) {
        memset(mem, 0, mt_state_bytes(params));
        hdr->params = *params;
        hdr->started = now;
    }
    /* Parameters that do not change the layout may change on a restart. */
    hdr->params.leak_min_bytes = params->leak_min_bytes;
    hdr->params.warmup_requests = params->warmup_requests;
    st->hdr = hdr;
    p += align8(sizeof(*hdr));
    st->slots = (mt_proc_slot_t *)(void *)p;
    st->n = params->procs;
    p += (apr_size_t)params->procs * sizeof(mt_proc_slot_t);
    st->eps = (mt_ep_slot_t *)(void *)p;
    st->n_eps = params->endpoints + 1;
    p += (apr_size_t)st->n_eps * sizeof(mt_ep_slot_t);
    st->index = (volatile apr_uint32_t *)(void *)p;
    st->index_mask = index_size(params->endpoints) - 1;
    p += (apr_size_t)index_size(params->endpoints) * sizeof(apr_uint32_t);
    st->hints = (volatile apr_uint32_t *)(void *)p;
    p += (apr_size_t)MT_STATE_HINTS * sizeof(apr_uint32_t);
    st->pids = (volatile apr_uint32_t *)(void *)p;
    st->pids_mask = index_size(params->procs) - 1;
    if (!same) {
        apr_cpystrn(st->eps[0].name, MT_ENDPOINT_OTHER, MT_EP_NAME_MAX + 1);
        st->eps[0].hash = mt_endpoint_hash(MT_ENDPOINT_OTHER);
        st->eps[0].priority = 256;
        st->eps[0].ready = 1;
        hdr->magic = magic_of(params);   /* last: the layout is complete */
    }
    if (kept) *kept = same;
}

/* ---- locks ---- */

/* Take a lock word in a bounded number of tries. The word holds the time
 * taken (monotonic seconds, the same in every child, so a clock step never
 * makes a held lock look stale), so that a lock left by a dead child is
 * broken after a while. */
static int lock_take(volatile apr_uint32_t *word)
{
    apr_uint32_t stamp = (apr_uint32_t)apr_time_sec(mt_mono_now()) + 1;
    int i;

    for (i = 0; i < MT_STATE_LOCK_TRIES + MT_STATE_LOCK_YIELDS; i++) {
        apr_uint32_t held = apr_atomic_cas32(word, stamp, 0);
        if (held == 0) {
            return 1;
        }
        if (stamp - held > MT_STATE_LOCK_STALE
            && apr_atomic_cas32(word, stamp, held) == held) {
            return 1;
        }
        /* The holder needs a few stores; if spinning did not see them, it
         * was preempted: give it the CPU a few times, then give up. */
        if (i >= MT_STATE_LOCK_TRIES) {
            sched_yield();
        }
    }
    return 0;
}

static void lock_give(volatile apr_uint32_t *word)
{
    apr_atomic_set32(word, 0);
}

/* ---- processes ---- */

/* The pid index: open addressing with linear probing, as the endpoint
 * index, holding slot + 1; an entry counts only when its slot holds the
 * pid. Writers (claim) hold the claim lock; readers take no lock. Unlike
 * endpoints, a slot changes hands, so an entry is deleted, and deletion
 * moves later entries of the run back into the hole (no tombstones: a
 * run never grows past what the live pids need). A reader that passed
 * the hole before an entry moved into it could miss that entry: moves
 * happen between two increments of hdr->pid_seq, and a reader that
 * missed looks again until it misses with the count even and unchanged
 * over its look (a hit needs no count: its slot holds the pid). */
#define MT_PID_LOOKS 4

static unsigned int pid_home(const mt_state_t *st, int pid)
{
    apr_uint32_t h = (apr_uint32_t)pid * 0x9E3779B1u;

    return (h ^ (h >> 16)) & st->pids_mask;
}

/* The slot of pid, or NULL; *at (may be NULL): its bucket, or the empty
 * bucket that ends its run. */
static mt_proc_slot_t *pid_lookup(mt_state_t *st, int pid, unsigned int *at)
{
    unsigned int i = pid_home(st, pid), tries;

    for (tries = 0; tries <= st->pids_mask; tries++) {
        apr_uint32_t v = apr_atomic_read32(&st->pids[i]);
        if (v == 0 || v > st->n) {
            break;
        }
        if (st->slots[v - 1].pid == pid) {
            if (at) *at = i;
            return &st->slots[v - 1];
        }
        i = (i + 1) & st->pids_mask;
    }
    if (at) *at = i;
    return NULL;
}

static mt_proc_slot_t *find(mt_state_t *st, int pid)
{
    mt_proc_slot_t *hit = pid_lookup(st, pid, NULL);
    unsigned int looks;

    if (hit) {
        return hit;             /* a hit is its slot's pid: never false */
    }
    for (looks = 0; looks < MT_PID_LOOKS; looks++) {
        apr_uint32_t seq = apr_atomic_read32(&st->hdr->pid_seq);
        mt_proc_slot_t *slot = pid_lookup(st, pid, NULL);
        if (slot || (!(seq & 1)
                     && apr_atomic_read32(&st->hdr->pid_seq) == seq)) {
            return slot;
        }
    }
    return NULL;            /* the caller's claim looks under the lock */
}

/* Delete pid's entry (under the claim lock): each later entry of the run
 * whose home is not between the hole and itself moves into the hole. */
static void pid_del(mt_state_t *st, int pid)
{
    unsigned int i, j, k, mask = st->pids_mask;

    if (!pid_lookup(st, pid, &i)) {
        return;
    }
    apr_atomic_inc32(&st->hdr->pid_seq);
    for (j = (i + 1) & mask; j != i; j = (j + 1) & mask) {
        apr_uint32_t v = apr_atomic_read32(&st->pids[j]);
        if (v == 0 || v > st->n) {
            break;
        }
        k = pid_home(st, st->slots[v - 1].pid);
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;                   /* reachable where it is */
        }
        apr_atomic_set32(&st->pids[i], v);
        i = j;
    }
    apr_atomic_set32(&st->pids[i], 0);
    apr_atomic_inc32(&st->hdr->pid_seq);
}

/* Is the process in a slot holding pid the one that started at start_ticks? */
static int same_process(const mt_proc_slot_t *slot, apr_uint64_t start_ticks)
{
    return slot->start_ticks == 0 || start_ticks == 0
           || slot->start_ticks == start_ticks;
}

apr_status_t mt_state_last_rss(mt_state_t *st, int pid,
                               apr_uint64_t start_ticks, apr_int64_t *rss_bytes)
{
    mt_proc_slot_t *slot = find(st, pid);
    apr_status_t rv = APR_NOTFOUND;

    if (!slot) {
        return APR_NOTFOUND;
    }
    if (!lock_take(&slot->lock)) {
        return APR_EAGAIN;
    }
    if (slot->pid == pid && same_process(slot, start_ticks)
        && slot->requests > 0) {
        *rss_bytes = slot->rss_bytes;
        rv = APR_SUCCESS;
    }
    lock_give(&slot->lock);
    return rv;
}

/* A new process in slot (under its lock): everything but the lock and the
 * generation starts over. The pid goes from the old one to the new in one
 * store, never through 0: victim(), pid_del()'s re-homing and the lock-free
 * readers look at it without this slot's lock, and a 0 there would read as
 * an empty slot (evicted from under a live process, or an index entry
 * moved where it cannot be found). */
_Static_assert(offsetof(mt_proc_slot_t, pid) == sizeof(apr_uint32_t),
               "slot_reset keeps what precedes the pid: the lock alone");

static void slot_reset(mt_proc_slot_t *slot, int pid)
{
    const apr_size_t rest = offsetof(mt_proc_slot_t, pid) + sizeof(slot->pid);
    apr_uint32_t gen = slot->gen + 1;

    memset((char *)slot + rest, 0, sizeof(*slot) - rest);
    slot->pid = pid;
    slot->gen = gen;
    slot->hist_width = 1;
}

/* An empty slot, else the least recently seen: once per new process. */
static mt_proc_slot_t *victim(mt_state_t *st)
{
    mt_proc_slot_t *oldest = NULL;
    unsigned int i;

    for (i = 0; i < st->n; i++) {
        if (st->slots[i].pid == 0) {
            return &st->slots[i];
        }
        if (!oldest || st->slots[i].last_seen < oldest->last_seen) {
            oldest = &st->slots[i];
        }
    }
    return oldest;
}

/* A slot for a new pid, published in the pid index once it is reset.
 * Under the claim lock, so two children never claim two slots for one
 * pid, and the index has one writer. */
static mt_proc_slot_t *claim(mt_state_t *st, int pid)
{
    mt_proc_slot_t *slot;
    unsigned int at;

    if (!lock_take(&st->hdr->claim)) {
        return NULL;
    }
    if (apr_atomic_read32(&st->hdr->pid_seq) & 1) {
        apr_atomic_inc32(&st->hdr->pid_seq);    /* its mover died */
    }
    if ((slot = pid_lookup(st, pid, NULL)) == NULL
        && (slot = victim(st)) != NULL) {
        if (lock_take(&slot->lock)) {
            if (slot->pid != 0) pid_del(st, slot->pid);
            slot_reset(slot, pid);
            lock_give(&slot->lock);
            pid_lookup(st, pid, &at);
            apr_atomic_set32(&st->pids[at],
                             (apr_uint32_t)(slot - st->slots) + 1);
        }
        else {
            slot = NULL;
        }
    }
    lock_give(&st->hdr->claim);
    return slot;
}

/* Append a history point every hist_width requests; when full, keep every
 * other point (the later of each pair) and double the width. */
static void hist_add(mt_proc_slot_t *s, apr_int64_t rss, apr_time_t now)
{
    mt_hist_point_t *pt;
    unsigned int i;

    if (s->hist_width == 0) s->hist_width = 1;
    if (s->requests % s->hist_width != 0 && s->requests != 1) {
        return;
    }
    if (s->hist_n == MT_HIST_POINTS) {
        for (i = 0; i < MT_HIST_POINTS / 2; i++) {
            s->hist[i] = s->hist[2 * i + 1];
        }
        s->hist_n = MT_HIST_POINTS / 2;
        s->hist_width *= 2;
        if (s->requests % s->hist_width != 0) {
            return;
        }
    }
    pt = &s->hist[s->hist_n++];
    pt->requests = s->requests;
    pt->rss_bytes = rss;
    pt->at = now;
}

/* A raise of the peak by MT_BLAME_MIN_BYTES or more since the last blamed
 * one is blamed on this request. 1 when it was. */
static int blame(mt_proc_slot_t *s, const mt_note_t *in, int ep,
                 apr_int64_t *raised)
{
    mt_blame_t *b;
    apr_int64_t old_peak = s->peak_rss_bytes;

    if (in->rss_after <= old_peak) {
        return 0;
    }
    s->peak_rss_bytes = in->rss_after;
    if (s->requests == 0 || in->rss_after - s->blame_mark_bytes
                            < MT_BLAME_MIN_BYTES) {
        if (s->requests == 0) s->blame_mark_bytes = in->rss_after;
        return 0;
    }
    b = &s->blame[s->blame_next];
    s->blame_next = (s->blame_next + 1) % MT_BLAME_MAX;
    s->blame_n++;
    apr_cpystrn(b->request_id, in->request_id ? in->request_id : "",
                sizeof(b->request_id));
    b->endpoint = ep;
    b->raised_bytes = in->rss_after - old_peak;
    b->peak_bytes = in->rss_after;
    b->at = in->now;
    s->blame_mark_bytes = in->rss_after;
    *raised = b->raised_bytes;
    return 1;
}

/* Growth while no request ran: before minus the previous after. */
static void gap(mt_proc_slot_t *s, const mt_note_t *in)
{
    double g;

    if (!in->exclusive || !in->before_own || s->requests == 0
        || in->rss_before < 0 || s->rss_bytes <= 0) {
        return;
    }
    g = (double)(in->rss_before - s->rss_bytes);
    if (s->gap_n == 0) s->gap_first = s->last_seen;
    s->gap_n++;
    s->gap_sum_bytes += g;
    s->gap_sumsq += g * g;
    s->gap_last = in->now;
}

static int bit_test_set(apr_uint64_t *words, int i)
{
    apr_uint64_t m = (apr_uint64_t)1 << (i % 64);
    int was = (words[i / 64] & m) != 0;

    words[i / 64] |= m;
    return was;
}

/* What the process part of a note hands to the endpoint part. */
typedef struct {
    unsigned int proc;
    apr_uint32_t gen;
    int          first_call;
    int          unfirst;            /* an earlier note was marked first */
    int          unfirst_known;      /* its growth is known: ... */
    apr_int64_t  unfirst_bytes;      /* ... this */
    int          blamed;
    apr_int64_t  raised;
    int          accepted;           /* a probe result matched */
    int          accepted_ep;
    int          accepted_warmup;
    apr_int64_t  bytes, objects, us; /* its figures */
} proc_part_t;

static void take_result(mt_state_t *st, proc_part_t *pp, int ep, int warmup,
                        apr_int64_t bytes, apr_int64_t objects,
                        apr_int64_t us)
{
    pp->accepted = 1;
    pp->accepted_ep = ep;
    pp->accepted_warmup = warmup;
    pp->bytes = bytes;
    pp->objects = objects;
    pp->us = us;
    apr_atomic_inc32(&st->hdr->probes_done);
}

/* A result whose probe this process has not started (yet): kept as early,
 * the one it replaces refused. */
static void keep_early(mt_state_t *st, mt_proc_slot_t *s, const mt_note_t *in)
{
    if (s->early_token) {
        apr_atomic_inc32(&st->hdr->probes_refused);
    }
    s->early_token = in->probe_done;
    s->early_bytes = in->probe_bytes;
    s->early_objects = in->probe_objects;
    s->early_us = in->probe_us;
    s->early_at = in->now;
}

/* Probe bookkeeping of a process (under its lock). */
static void probes_of(mt_state_t *st, mt_proc_slot_t *s, const mt_note_t *in,
                      int ep, proc_part_t *pp)
{
    int warmup = pp->first_call
                 || s->requests <= st->hdr->params.warmup_requests;

    if (s->probe_token && in->now - s->probe_at > MT_PROBE_MAX_AGE) {
        s->probe_token = 0;             /* its result never came */
    }
    if (s->early_token && in->now - s->early_at > MT_PROBE_MAX_AGE) {
        s->early_token = 0;             /* nor did its start */
        apr_atomic_inc32(&st->hdr->probes_refused);
    }
    if (in->probe_done && in->probe_bytes == MT_NOTE_NO_VALUE) {
        apr_atomic_inc32(&st->hdr->probes_refused);
    }
    else if (in->probe_done && in->probe_done == s->probe_token) {
        take_result(st, pp, s->probe_ep, s->probe_warmup, in->probe_bytes,
               in->probe_objects, in->probe_us);
        s->probe_token = 0;
    }
    else if (in->probe_done) {
        keep_early(st, s, in);
    }
    if (in->probe_started && in->probe_started == s->early_token) {
        apr_atomic_inc32(&st->hdr->probes_started);
        take_result(st, pp, ep, warmup, s->early_bytes, s->early_objects,
               s->early_us);
        s->early_token = 0;
    }
    else if (in->probe_started) {
        s->probe_token = in->probe_started;
        s->probe_ep = ep;
        s->probe_warmup = warmup;
        s->probe_at = in->now;
        apr_atomic_inc32(&st->hdr->probes_started);
    }
}

/* A request's growth into *g (0 when not known); whether it is known. */
static int growth_of(const mt_note_t *in, apr_int64_t *g)
{
    int known = in->rss_before >= 0 && in->rss_after >= 0;

    *g = known ? in->rss_after - in->rss_before : 0;
    return known;
}

/* Is this the process's first call of ep? Its first note says so unless a
 * later note of the endpoint stands before it in the process's order: then
 * that one is the first call, and the earlier-marked note an ordinary one
 * (pp->unfirst). */
static void first_of(mt_proc_slot_t *s, const mt_note_t *in, int ep,
                     proc_part_t *pp)
{
    mt_first_t *f;
    unsigned int i;

    pp->first_call = ep >= 0 && !bit_test_set(s->ep_seen, ep);
    if (ep < 0 || in->order < 0) {
        return;
    }
    if (pp->first_call) {
        f = &s->first[s->first_next++ % MT_FIRST_RECENT];
        f->ep = ep;
        f->order = in->order;
        f->known = growth_of(in, &f->growth_bytes);
        return;
    }
    for (i = 0; i < MT_FIRST_RECENT; i++) {
        f = &s->first[i];
        if (f->ep == ep && f->order > in->order) {
            pp->first_call = 1;
            pp->unfirst = 1;
            pp->unfirst_known = f->known;
            pp->unfirst_bytes = f->growth_bytes;
            f->order = in->order;
            f->known = growth_of(in, &f->growth_bytes);
            return;
        }
    }
}

static void proc_update(mt_state_t *st, mt_proc_slot_t *s, const mt_note_t *in,
                        int ep, proc_part_t *pp)
{
    if (s->pid == in->pid && !same_process(s, in->start_ticks)) {
        slot_reset(s, in->pid);         /* the pid was reused */
    }
    if (in->start_ticks != 0) s->start_ticks = in->start_ticks;
    if (s->requests == 0) {
        s->first_seen = in->now;
        s->first_rss_bytes = in->rss_after;
    }
    pp->proc = (unsigned int)(s - st->slots);
    pp->gen = s->gen;
    first_of(s, in, ep, pp);
    gap(s, in);
    pp->blamed = blame(s, in, ep, &pp->raised);
    s->kind = in->kind;
    s->exclusive = in->exclusive;
    s->last_seen = in->now;
    s->rss_bytes = in->rss_after;
    s->requests++;
    if (in->rss_before >= 0) {
        s->growth_sum_bytes += in->rss_after - in->rss_before;
    }
    hist_add(s, in->rss_after, in->now);
    probes_of(st, s, in, ep, pp);
}

/* ---- endpoints ---- */

static int ep_lookup(const mt_state_t *st, const char *name, unsigned int h,
                     unsigned int *bucket)
{
    unsigned int i = h & st->index_mask, tries;

    *bucket = st->index_mask + 1;
    for (tries = 0; tries <= st->index_mask; tries++) {
        apr_uint32_t v = apr_atomic_read32(&st->index[i]);
        if (v == 0) {
            *bucket = i;
            return -1;
        }
        if (st->eps[v - 1].hash == h && strcmp(st->eps[v - 1].name, name) == 0) {
            return (int)v - 1;
        }
        i = (i + 1) & st->index_mask;
    }
    return -1;                          /* full: never, the index is 2x */
}

/* Take the next free endpoint slot for name (under the claim lock). */
static int ep_claim(mt_state_t *st, const char *name, unsigned int h,
                    apr_time_t now)
{
    unsigned int bucket, i;
    int idx = ep_lookup(st, name, h, &bucket);

    if (idx >= 0 || bucket > st->index_mask) {
        return idx >= 0 ? idx : 0;
    }
    for (i = 1; i < st->n_eps; i++) {
        mt_ep_slot_t *e = &st->eps[i];
        if (!e->ready) {
            apr_cpystrn(e->name, name, sizeof(e->name));
            e->hash = h;
            e->priority = 256;
            e->first_seen = now;
            apr_atomic_set32(&e->ready, 1);
            /* published last: a reader that finds it sees a full name */
            apr_atomic_set32(&st->index[bucket], i + 1);
            return (int)i;
        }
    }
    return 0;                           /* full: "other" */
}

int mt_state_endpoint(mt_state_t *st, const char *name, int create,
                      apr_time_t now)
{
    unsigned int h, bucket;
    int idx;

    if (!name || !*name) {
        return create ? 0 : -1;
    }
    h = mt_endpoint_hash(name);
    if ((idx = ep_lookup(st, name, h, &bucket)) >= 0 || !create) {
        return idx;
    }
    if (!lock_take(&st->hdr->ep_claim)) {
        return 0;
    }
    idx = ep_claim(st, name, h, now);
    lock_give(&st->hdr->ep_claim);
    if (idx == 0) {
        apr_atomic_inc32(&st->hdr->ep_overflow);
    }
    return idx;
}

/* A note marked first that turned out a later call: counted as one. */
static void ep_unfirst(mt_ep_slot_t *e, int known, apr_int64_t g)
{
    e->first_calls--;
    if (!known) {
        return;
    }
    e->first_growth_bytes -= g;
    if (g >= MT_STEP_BYTES) {
        e->steps++;
        e->step_growth_bytes += g;
    }
}

static void ep_update(mt_ep_slot_t *e, const mt_note_t *in,
                      const proc_part_t *pp)
{
    apr_int64_t g;
    int known = growth_of(in, &g);

    e->requests++;
    e->last_seen = in->now;
    e->app_reports += in->app_reported != 0;
    e->probeable += in->probeable != 0;
    e->threshold_hits += in->threshold_exceeded != 0;
    if (in->duration_us > 0) e->duration_us += in->duration_us;
    if (in->alloc_objects >= 0) {
        e->alloc_n++;
        e->alloc_objects += in->alloc_objects;
    }
    if (known) {
        e->growth_n++;
        e->growth_sum_bytes += g;
        if (g > 0) e->growth_pos_sum_bytes += g;
        if (pp->first_call) {
            e->first_growth_bytes += g;
        }
        else if (g >= MT_STEP_BYTES) {
            e->steps++;
            e->step_growth_bytes += g;
        }
    }
    e->first_calls += pp->first_call;
    if (pp->unfirst) {
        ep_unfirst(e, pp->unfirst_known, pp->unfirst_bytes);
    }
    if (pp->blamed) {
        e->blames++;
        e->blame_bytes += pp->raised;
    }
}

/* Every third steady result closes a chunk (under the endpoint's lock):
 * the previous chunk's median now has its span. A chunk counts only when
 * all three of its probes clearly kept (above half the leak floor): three
 * wild values in a row are far rarer than a fill. */
#define MT_CHUNK 3

static void chunk_close(mt_ep_slot_t *e, apr_int64_t leak_min)
{
    double x[MT_CHUNK];
    unsigned int i;
    apr_int64_t start;

    if (e->probes % MT_CHUNK != 0) {
        return;
    }
    for (i = 0; i < MT_CHUNK; i++) {
        x[i] = (double)e->ring[(e->ring_next + MT_EP_PROBES - MT_CHUNK + i)
                               % MT_EP_PROBES].bytes;
    }
    start = e->ring[(e->ring_next + MT_EP_PROBES - MT_CHUNK)
                    % MT_EP_PROBES].ep_requests;
    mt_stats_sort(x, MT_CHUNK);
    if (e->chunk_done && e->chunk_median > (double)leak_min / 2) {
        e->excess_sum += e->chunk_median * (double)(start - e->chunk_start);
        e->excess_span += start - e->chunk_start;
    }
    e->chunk_median = x[0] > (double)leak_min / 2 ? x[1] : 0;
    /* the first chunk stands for the requests before it too: what the
     * first probes saw is the best guess of what came before them */
    e->chunk_start = e->chunk_done ? start : 0;
    e->chunk_done = 1;
}

/* A probe result for endpoint ep. */
static apr_status_t probe_add(mt_state_t *st, int ep, const mt_note_t *in,
                              const proc_part_t *pp)
{
    mt_ep_slot_t *e = &st->eps[ep];
    mt_probe_t *r;

    if (!lock_take(&e->lock)) {
        apr_atomic_inc32(&st->hdr->skipped);
        return APR_EAGAIN;
    }
    if (pp->us > 0) e->probe_us += pp->us;
    if (pp->accepted_warmup) {
        e->probes_warmup++;
        e->warmup_bytes += pp->bytes;
    }
    else {
        r = &e->ring[e->ring_next];
        e->ring_next = (e->ring_next + 1) % MT_EP_PROBES;
        if (e->ring_n < MT_EP_PROBES) e->ring_n++;
        e->probes++;
        r->bytes = pp->bytes;
        r->objects = pp->objects == MT_NOTE_NO_VALUE ? MT_UNKNOWN : pp->objects;
        r->ep_requests = e->requests;
        r->at = in->now;
        r->proc = pp->proc;
        r->proc_gen = pp->gen;
        chunk_close(e, st->hdr->params.leak_min_bytes);
    }
    lock_give(&e->lock);
    return APR_SUCCESS;
}

void mt_note_clear(mt_note_t *in)
{
    memset(in, 0, sizeof(*in));
    in->rss_before = in->rss_after = MT_UNKNOWN;
    in->alloc_objects = in->duration_us = in->order = MT_UNKNOWN;
    in->probe_bytes = in->probe_objects = MT_NOTE_NO_VALUE;
    in->probe_us = MT_UNKNOWN;
}

static apr_status_t note_proc(mt_state_t *st, const mt_note_t *in, int ep,
                              proc_part_t *pp)
{
    mt_proc_slot_t *s;

    if (in->pid <= 0 || in->rss_after < 0) {
        return APR_EINVAL;
    }
    if (((s = find(st, in->pid)) == NULL && (s = claim(st, in->pid)) == NULL)
        || !lock_take(&s->lock)) {
        apr_atomic_inc32(&st->hdr->skipped);
        return APR_EAGAIN;
    }
    if (s->pid == in->pid) {
        proc_update(st, s, in, ep, pp);
    }
    lock_give(&s->lock);
    return APR_SUCCESS;
}

apr_status_t mt_state_note(mt_state_t *st, const mt_note_t *in,
                           mt_note_out_t *out)
{
    proc_part_t pp;
    apr_status_t rv, prv = APR_SUCCESS;
    int ep = mt_state_endpoint(st, in->endpoint, 1, in->now);
    mt_ep_slot_t *e = ep >= 0 ? &st->eps[ep] : NULL;

    memset(&pp, 0, sizeof(pp));
    rv = note_proc(st, in, ep, &pp);
    if (e && lock_take(&e->lock)) {
        ep_update(e, in, &pp);
        lock_give(&e->lock);
    }
    else if (e) {
        apr_atomic_inc32(&st->hdr->skipped);
        rv = APR_EAGAIN;
    }
    if (pp.accepted && pp.accepted_ep >= 0
        && (unsigned int)pp.accepted_ep < st->n_eps) {
        prv = probe_add(st, pp.accepted_ep, in, &pp);
    }
    if (out) {
        out->endpoint = ep;
        out->first_call = pp.first_call;
        out->probe_accepted = pp.accepted;
        out->probe_warmup = pp.accepted_warmup;
        out->probe_endpoint[0] = '\0';
        if (pp.accepted && pp.accepted_ep >= 0
            && (unsigned int)pp.accepted_ep < st->n_eps) {
            apr_cpystrn(out->probe_endpoint, st->eps[pp.accepted_ep].name,
                        sizeof(out->probe_endpoint));
        }
    }
    return rv == APR_EINVAL ? APR_EINVAL : rv != APR_SUCCESS ? rv : prv;
}

/* ---- probe selection ---- */

int mt_state_hint_get(const mt_state_t *st, unsigned int h)
{
    apr_uint32_t v = apr_atomic_read32(&st->hints[h % MT_STATE_HINTS]);

    /* the high 20 bits check the hash, the low 12 hold endpoint + 1 */
    if (v == 0 || (v & 0xFFFFF000u) != (h & 0xFFFFF000u)) {
        return -1;
    }
    return (int)(v & 0xFFFu) - 1;
}

void mt_state_hint_set(mt_state_t *st, unsigned int h, int endpoint)
{
    if (endpoint < 0 || endpoint >= 0xFFF) {
        return;
    }
    apr_atomic_set32(&st->hints[h % MT_STATE_HINTS],
                     (h & 0xFFFFF000u) | (apr_uint32_t)(endpoint + 1));
}

unsigned int mt_state_priority(const mt_state_t *st, int endpoint)
{
    if (endpoint < 0 || (unsigned int)endpoint >= st->n_eps) {
        return 256;
    }
    return apr_atomic_read32(&st->eps[endpoint].priority);
}

int mt_state_probe_ready(volatile apr_uint32_t *credit, unsigned int rate)
{
    apr_uint32_t have;

    if (rate == 0) {
        return 0;
    }
    /* Credit beyond a few probes is not kept: a long run of well-known
     * endpoints does not buy a burst of probes later. */
    have = apr_atomic_read32(credit);
    if (have < 4 * rate) {
        have = apr_atomic_add32(credit, 1) + 1;
    }
    return have >= rate;
}

int mt_state_probe_take(volatile apr_uint32_t *credit, unsigned int rate,
                        unsigned int weight, apr_uint32_t rand)
{
    apr_uint32_t have = apr_atomic_read32(credit);

    if (rate == 0 || have < rate || (rand & 0xFFu) >= weight) {
        return 0;
    }
    return apr_atomic_cas32(credit, have - rate, have) == have;
}

int mt_state_probe_pick(volatile apr_uint32_t *credit, unsigned int rate,
                        unsigned int weight, apr_uint32_t rand)
{
    return mt_state_probe_ready(credit, rate)
           && mt_state_probe_take(credit, rate, weight, rand);
}

/* ---- copies ---- */

apr_status_t mt_state_copy_proc(mt_state_t *st, unsigned int i,
                                mt_proc_slot_t *out)
{
    mt_proc_slot_t *slot;

    if (i >= st->n || st->slots[i].pid == 0) {
        return APR_NOTFOUND;
    }
    slot = &st->slots[i];
    if (!lock_take(&slot->lock)) {
        return APR_EAGAIN;
    }
    *out = *slot;
    out->lock = 0;
    lock_give(&slot->lock);
    return out->pid != 0 && out->requests > 0 ? APR_SUCCESS : APR_NOTFOUND;
}

unsigned int mt_state_copy_procs(mt_state_t *st, mt_proc_slot_t *out,
                                 unsigned int *index_out, unsigned int max,
                                 unsigned int *busy)
{
    unsigned int i, n = 0;

    if (busy) *busy = 0;
    for (i = 0; i < st->n && n < max; i++) {
        apr_status_t rv = mt_state_copy_proc(st, i, &out[n]);
        if (rv == APR_EAGAIN) {
            if (busy) (*busy)++;
        }
        else if (rv == APR_SUCCESS) {
            if (index_out) index_out[n] = i;
            n++;
        }
    }
    return n;
}

unsigned int mt_state_copy_endpoints(mt_state_t *st, mt_ep_slot_t *out,
                                     unsigned int *index_out, unsigned int max,
                                     unsigned int *busy)
{
    unsigned int i, n = 0;

    if (busy) *busy = 0;
    for (i = 0; i < st->n_eps && n < max; i++) {
        mt_ep_slot_t *e = &st->eps[i];
        if (!apr_atomic_read32(&e->ready) || e->requests == 0) {
            continue;
        }
        if (!lock_take(&e->lock)) {
            if (busy) (*busy)++;
            continue;
        }
        out[n] = *e;
        out[n].lock = 0;
        if (index_out) index_out[n] = i;
        n++;
        lock_give(&e->lock);
    }
    return n;
}

apr_status_t mt_state_copy_endpoint(mt_state_t *st, int endpoint,
                                    mt_ep_slot_t *out)
{
    mt_ep_slot_t *e;

    if (endpoint < 0 || (unsigned int)endpoint >= st->n_eps
        || !apr_atomic_read32(&st->eps[endpoint].ready)) {
        return APR_NOTFOUND;
    }
    e = &st->eps[endpoint];
    if (!lock_take(&e->lock)) {
        return APR_EAGAIN;
    }
    *out = *e;
    out->lock = 0;
    lock_give(&e->lock);
    return APR_SUCCESS;
}

void mt_state_cache_verdict(mt_state_t *st, int endpoint, unsigned int weight,
                            int is_leak, apr_time_t now)
{
    mt_ep_slot_t *e;

    if (endpoint < 0 || (unsigned int)endpoint >= st->n_eps) {
        return;
    }
    e = &st->eps[endpoint];
    apr_atomic_set32(&e->priority, weight > 256 ? 256 : weight);
    if (!lock_take(&e->lock)) {
        return;             /* the next result sets "since" */
    }
    if (!is_leak) e->leak_since = 0;
    else if (e->leak_since == 0) e->leak_since = now;
    lock_give(&e->lock);
}
