/* mt_state: per-process state in shared memory. httpd-free. */
#include <sched.h>
#include <string.h>
#include <apr_atomic.h>

#include "mt_state.h"
#include "mt_util.h"

#define MT_STATE_LOCK_TRIES 64
#define MT_STATE_LOCK_YIELDS 4
#define MT_STATE_LOCK_STALE 5     /* seconds */

apr_size_t mt_state_bytes(unsigned int n)
{
    return sizeof(apr_uint64_t) + (apr_size_t)n * sizeof(mt_proc_slot_t);
}

void mt_state_init(mt_state_t *st, void *mem, unsigned int n)
{
    st->claim = mem;
    st->slots = (mt_proc_slot_t *)((char *)mem + sizeof(apr_uint64_t));
    st->n = n;
    st->skipped = 0;
}

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

static mt_proc_slot_t *find(mt_state_t *st, int pid)
{
    unsigned int i;

    for (i = 0; i < st->n; i++) {
        if (st->slots[i].pid == pid) {
            return &st->slots[i];
        }
    }
    return NULL;
}

/* Is the process in a slot holding pid the one that started at start_ticks? */
static int same_process(const mt_proc_slot_t *slot, apr_uint64_t start_ticks)
{
    return slot->start_ticks == 0 || start_ticks == 0 || slot->start_ticks == start_ticks;
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
    if (slot->pid == pid && same_process(slot, start_ticks)) {
        *rss_bytes = slot->rss_bytes;
        rv = APR_SUCCESS;
    }
    lock_give(&slot->lock);
    return rv;
}

/* A new process in slot (under its lock): everything but the lock and the
 * pid starts over. */
static void slot_reset(mt_proc_slot_t *slot, int pid)
{
    memset((char *)slot + sizeof(slot->lock), 0,
           sizeof(*slot) - sizeof(slot->lock));
    slot->pid = pid;
}

/* A slot for a new pid: an empty one, else the least recently seen. Under
 * the claim lock, so two children never claim two slots for one pid. */
static mt_proc_slot_t *claim(mt_state_t *st, int pid)
{
    mt_proc_slot_t *slot, *oldest = NULL;
    unsigned int i;

    if (!lock_take(st->claim)) {
        return NULL;
    }
    if ((slot = find(st, pid)) == NULL) {
        for (i = 0; i < st->n; i++) {
            if (st->slots[i].pid == 0) { oldest = &st->slots[i]; break; }
            if (!oldest || st->slots[i].last_seen < oldest->last_seen) {
                oldest = &st->slots[i];
            }
        }
        slot = oldest;
        if (slot && lock_take(&slot->lock)) {
            slot_reset(slot, pid);
            lock_give(&slot->lock);
        }
        else {
            slot = NULL;
        }
    }
    lock_give(st->claim);
    return slot;
}

apr_status_t mt_state_record(mt_state_t *st, int pid,
                             apr_uint64_t start_ticks, int kind,
                             apr_int64_t rss_bytes,
                             apr_int64_t growth, int growth_known,
                             apr_time_t now)
{
    mt_proc_slot_t *slot = find(st, pid);

    if (pid <= 0 || rss_bytes < 0) {
        return APR_EINVAL;
    }
    if ((!slot && (slot = claim(st, pid)) == NULL)
        || !lock_take(&slot->lock)) {
        apr_atomic_inc32(&st->skipped);
        return APR_EAGAIN;
    }
    if (slot->pid == pid) {
        if (!same_process(slot, start_ticks)) {
            slot_reset(slot, pid);       /* the pid was reused */
        }
        if (start_ticks != 0) {
            slot->start_ticks = start_ticks;
        }
        if (slot->requests == 0) {
            slot->first_seen = now;
            slot->first_rss_bytes = rss_bytes;
        }
        slot->kind = kind;
        slot->last_seen = now;
        slot->rss_bytes = rss_bytes;
        if (rss_bytes > slot->peak_rss_bytes) slot->peak_rss_bytes = rss_bytes;
        slot->requests++;
        if (growth_known) slot->growth_sum_bytes += growth;
    }
    lock_give(&slot->lock);
    return APR_SUCCESS;
}

unsigned int mt_state_snapshot(mt_state_t *st, mt_proc_slot_t *out,
                               unsigned int max)
{
    unsigned int i, n = 0;

    for (i = 0; i < st->n && n < max; i++) {
        mt_proc_slot_t *slot = &st->slots[i];
        if (slot->pid == 0 || !lock_take(&slot->lock)) {
            continue;
        }
        if (slot->pid != 0) {
            out[n] = *slot;
            out[n++].lock = 0;
        }
        lock_give(&slot->lock);
    }
    return n;
}
