/* mt_spool: records from request threads to one writer, in batches (see
 * include/mt_spool.h for the design).
 *
 * The two halves are mt_spool_batch_t: chunks of records, each record a
 * header (tag and data lengths, two 32-bit numbers) then the tag then the
 * data. Fields "guarded" are read and written with mu held; the half that
 * is not active belongs to the writer alone, which is why the writer can
 * read its records without the mutex while request threads fill the other.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <apr_atomic.h>

#include "mt_limits.h"
#include "mt_spool.h"
#include "mt_util.h"

#define MT_SPOOL_HDR   (2 * sizeof(apr_uint32_t))

/* What the writer is doing, for put to know whether to wake it. */
#define MT_WRITER_BUSY   0          /* writing, or sleeping (backoff) */
#define MT_WRITER_IDLE   1          /* waiting for a first record */
#define MT_WRITER_LINGER 2          /* records wait: waiting for more */

typedef struct mt_chunk_t {
    struct mt_chunk_t *next;
    apr_size_t         cap;
    apr_size_t         used;
    char               data[];
} mt_chunk_t;

struct mt_spool_batch_t {
    mt_chunk_t  *first;       /* in order; emptied chunks kept after cur */
    mt_chunk_t  *cur;         /* where records go */
    apr_uint32_t records;
    apr_size_t   bytes;
    mt_chunk_t  *it;          /* the writer's position */
    apr_size_t   it_off;
    apr_uint32_t left;
};

struct mt_spool_t {
    pthread_mutex_t   mu;         /* error-checking, priority-inheriting:
                                   * see sync_init */
    int               efd;        /* an eventfd: put and close wake the
                                   * writer through it */
    mt_spool_opts_t   o;
    mt_spool_batch_t  half[2];
    mt_spool_batch_t *active;     /* guarded: where put appends */
    mt_spool_batch_t *taken;      /* guarded: the writer's, NULL if none */
    apr_time_t        first_at;   /* guarded: the active half's first put */
    int               waiting;    /* guarded: MT_WRITER_* */
    int               due;        /* guarded: a wake mark was reached */
    int               closed;     /* guarded */
    volatile apr_uint32_t pending;/* put and not done */
};

/* Chunks are mapped, not malloc'ed: one given back after a burst returns
 * its pages to the system at once, where a freed malloc chunk of this size
 * would stay in the heap and keep the child's resident size up. */
static mt_chunk_t *chunk_new(apr_size_t cap)
{
    mt_chunk_t *c = mmap(NULL, sizeof(*c) + cap, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (c == MAP_FAILED) {
        return NULL;
    }
    c->cap = cap;
    c->used = 0;
    c->next = NULL;
    return c;
}

static void chunk_free(mt_chunk_t *c)
{
    munmap(c, sizeof(*c) + c->cap);
}

static void chunks_free(mt_chunk_t *c)
{
    while (c) {
        mt_chunk_t *next = c->next;
        chunk_free(c);
        c = next;
    }
}

/* Empty a half, keeping a few ordinary chunks for the next records. */
static void half_reset(mt_spool_batch_t *h)
{
    mt_chunk_t *c = h->first, *next, **link = &h->first;
    int kept = 0;

    for (; c; c = next) {
        next = c->next;
        if (kept < MT_SPOOL_KEEP && c->cap == MT_SPOOL_CHUNK) {
            c->used = 0;
            *link = c;
            link = &c->next;
            kept++;
        }
        else {
            chunk_free(c);
        }
    }
    *link = NULL;
    h->cur = h->first;
    h->records = 0;
    h->bytes = 0;
    h->it = NULL;
    h->it_off = 0;
    h->left = 0;
}

static apr_status_t spool_cleanup(void *data)
{
    mt_spool_t *s = data;

    chunks_free(s->half[0].first);
    chunks_free(s->half[1].first);
    s->half[0].first = s->half[1].first = NULL;
    close(s->efd);
    pthread_mutex_destroy(&s->mu);
    return APR_SUCCESS;
}

/* The mutex: error-checking, so that a close from a signal handler that
 * interrupted a put on its own thread learns it holds the lock already
 * (EDEADLK) rather than waiting for itself; and priority-inheriting,
 * because glibc keeps the owner of such a mutex in the lock word itself,
 * taken with one compare-and-swap: an ordinary mutex notes its owner a
 * few instructions after taking the lock, and a signal landing between
 * the two would make the handler wait for itself after all. Uncontended,
 * both cost what an ordinary mutex costs (no system call). The wake-ups
 * go through an eventfd, not a condition variable, for the same reason:
 * write() may be called from a signal handler, pthread_cond_signal not. */
static int sync_init(mt_spool_t *s)
{
    pthread_mutexattr_t ma;
    int rc;

    if ((s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        return errno;
    }
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
    rc = pthread_mutex_init(&s->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    if (rc != 0) {
        close(s->efd);
    }
    return rc;
}

static void wake(mt_spool_t *s)
{
    apr_uint64_t one = 1;

    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is full of wake-ups already */
    }
}

apr_status_t mt_spool_create(mt_spool_t **ps, const mt_spool_opts_t *o,
                             apr_pool_t *p)
{
    mt_spool_t *s;
    int rc;

    *ps = NULL;
    if (!o || o->max_records < 1 || o->max_bytes < 1 || o->wake_records < 1
        || o->wake_bytes < 1 || o->delay < 0) {
        return APR_EINVAL;
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->o = *o;
    s->active = &s->half[0];
    if ((rc = sync_init(s)) != 0) {
        return APR_FROM_OS_ERROR(rc);
    }
    apr_pool_cleanup_register(p, s, spool_cleanup, apr_pool_cleanup_null);
    *ps = s;
    return APR_SUCCESS;
}

/* A chunk of h with need bytes free: the current one, the next kept one,
 * or a new one after the current (an oversized one for a big record). */
static mt_chunk_t *room(mt_spool_batch_t *h, apr_size_t need)
{
    mt_chunk_t *c = h->cur, *n;
    apr_size_t cap = need > MT_SPOOL_CHUNK ? need : MT_SPOOL_CHUNK;

    if (c && c->cap - c->used >= need) {
        return c;
    }
    if (c && c->next && c->next->cap >= need) {
        return h->cur = c->next;
    }
    if ((n = chunk_new(cap)) == NULL) {
        return NULL;
    }
    n->next = c ? c->next : NULL;
    if (c) {
        c->next = n;
    }
    else {
        h->first = n;
    }
    return h->cur = n;
}

/* The record is whole in c: count it, and wake the writer if need be. */
static void publish(mt_spool_t *s, mt_chunk_t *c, apr_size_t need)
{
    mt_spool_batch_t *h = s->active;
    int want = 0;

    /* A signal handler on this thread (mt_spool_close) may see the spool
     * between any two statements: the copy is whole before it counts. */
    atomic_signal_fence(memory_order_seq_cst);
    c->used += need;
    h->records++;
    h->bytes += need;
    apr_atomic_inc32(&s->pending);
    if (h->records == 1) {
        s->first_at = mt_mono_now();
        want = s->waiting == MT_WRITER_IDLE;
    }
    if (!s->due && (h->records >= s->o.wake_records
                    || h->bytes >= s->o.wake_bytes)) {
        s->due = 1;
        want = s->waiting != MT_WRITER_BUSY;
    }
    if (want) {
        s->waiting = MT_WRITER_BUSY;   /* one wake-up is enough */
        wake(s);
    }
}

apr_status_t mt_spool_put(mt_spool_t *s, const char *tag, apr_size_t tag_len,
                          const char *data, apr_size_t len)
{
    apr_uint32_t hdr[2] = { (apr_uint32_t)tag_len, (apr_uint32_t)len };
    apr_size_t need = MT_SPOOL_HDR + tag_len + len;
    apr_status_t rv = APR_SUCCESS;
    mt_chunk_t *c;

    if (tag_len > UINT32_MAX || len > UINT32_MAX) {
        return APR_EINVAL;
    }
    if (pthread_mutex_lock(&s->mu) != 0) {
        return APR_EAGAIN;
    }
    if (s->closed) {
        rv = APR_EOF;
    }
    else if (apr_atomic_read32(&s->pending) >= s->o.max_records
             || s->active->bytes + need > s->o.max_bytes) {
        rv = APR_EAGAIN;
    }
    else if ((c = room(s->active, need)) == NULL) {
        rv = APR_ENOMEM;
    }
    else {
        char *at = c->data + c->used;
        memcpy(at, hdr, MT_SPOOL_HDR);
        if (tag_len) {
            memcpy(at + MT_SPOOL_HDR, tag, tag_len);
        }
        memcpy(at + MT_SPOOL_HDR + tag_len, data, len);
        publish(s, c, need);
    }
    pthread_mutex_unlock(&s->mu);
    return rv;
}

/* Wait (mu held, released meanwhile) for a wake-up, for d at most, or
 * without end when d < 0, telling put what the writer waits for.
 * ETIMEDOUT when d passed without one. A wake-up written between the
 * unlock and the poll stays in the eventfd: none is lost. */
static int timed_wait(mt_spool_t *s, int state, apr_interval_time_t d)
{
    struct pollfd pfd = { .fd = s->efd, .events = POLLIN };
    apr_uint64_t n;
    int ms = d < 0 ? -1 : (int)((d + 999) / 1000), rc;

    s->waiting = state;
    pthread_mutex_unlock(&s->mu);
    do {
        rc = poll(&pfd, 1, ms);
    } while (rc < 0 && errno == EINTR);
    if (rc > 0 && read(s->efd, &n, sizeof(n)) < 0) {
        rc = 0;
    }
    pthread_mutex_lock(&s->mu);
    s->waiting = MT_WRITER_BUSY;
    return rc > 0 ? 0 : ETIMEDOUT;
}

/* mu held: is a batch due, or must the writer wait (how long: *wait)? */
static int batch_due(mt_spool_t *s, apr_interval_time_t *wait)
{
    apr_interval_time_t age;

    if (s->closed || s->due) {
        return 1;
    }
    age = mt_mono_now() - s->first_at;
    if (age >= s->o.delay) {
        return 1;
    }
    *wait = s->o.delay - age;
    return 0;
}

mt_spool_batch_t *mt_spool_take(mt_spool_t *s, apr_interval_time_t idle_wait)
{
    mt_spool_batch_t *b = NULL;
    apr_interval_time_t wait = 0;

    pthread_mutex_lock(&s->mu);
    if (s->taken) {
        b = s->taken;             /* not released: go on with it */
        goto leave;
    }
    while (!s->closed) {
        if (s->active->records == 0) {
            if (timed_wait(s, MT_WRITER_IDLE, idle_wait) == ETIMEDOUT
                && s->active->records == 0) {
                break;
            }
        }
        else if (batch_due(s, &wait)) {
            break;
        }
        else {
            timed_wait(s, MT_WRITER_LINGER, wait);
        }
    }
    if (s->active->records) {
        b = s->active;
        s->active = b == &s->half[0] ? &s->half[1] : &s->half[0];
        s->first_at = 0;
        s->due = 0;
        b->it = b->first;
        b->it_off = 0;
        b->left = b->records;
        s->taken = b;
    }
leave:
    pthread_mutex_unlock(&s->mu);
    return b;
}

int mt_spool_next(mt_spool_batch_t *b, mt_spool_rec_t *rec)
{
    apr_uint32_t hdr[2];
    const char *at;

    if (!b || !b->left) {
        return 0;
    }
    while (b->it && b->it_off >= b->it->used) {
        b->it = b->it->next;
        b->it_off = 0;
    }
    if (!b->it) {
        b->left = 0;              /* cannot be: the count says more */
        return 0;
    }
    at = b->it->data + b->it_off;
    memcpy(hdr, at, MT_SPOOL_HDR);
    rec->tag = at + MT_SPOOL_HDR;
    rec->tag_len = hdr[0];
    rec->data = rec->tag + hdr[0];
    rec->len = hdr[1];
    b->it_off += MT_SPOOL_HDR + hdr[0] + hdr[1];
    b->left--;
    return 1;
}

apr_uint32_t mt_spool_left(const mt_spool_batch_t *b)
{
    return b ? b->left : 0;
}

void mt_spool_done(mt_spool_t *s, apr_uint32_t n)
{
    if (n) {
        apr_atomic_sub32(&s->pending, n);
    }
}

void mt_spool_release(mt_spool_t *s, mt_spool_batch_t *b)
{
    if (!b) {
        return;
    }
    half_reset(b);                /* the writer's own half: no lock */
    pthread_mutex_lock(&s->mu);
    if (s->taken == b) {
        s->taken = NULL;
    }
    pthread_mutex_unlock(&s->mu);
}

int mt_spool_sleep(mt_spool_t *s, apr_interval_time_t d)
{
    apr_time_t until = mt_mono_now() + d, now;
    int closed;

    pthread_mutex_lock(&s->mu);
    while (!s->closed && (now = mt_mono_now()) < until) {
        timed_wait(s, MT_WRITER_BUSY, until - now);
    }
    closed = s->closed;
    pthread_mutex_unlock(&s->mu);
    return closed;
}

void mt_spool_close(mt_spool_t *s)
{
    int rc;

    if (!s) {
        return;
    }
    /* EDEADLK: this thread holds the mutex already: a signal handler runs
     * this in the middle of a put that will never go on. The spool is
     * whole up to its last counted record, so go on as its owner. */
    rc = pthread_mutex_lock(&s->mu);
    if (rc != 0 && rc != EDEADLK) {
        return;
    }
    s->closed = 1;
    pthread_mutex_unlock(&s->mu);
    wake(s);
}

int mt_spool_closed(mt_spool_t *s)
{
    int closed;

    pthread_mutex_lock(&s->mu);
    closed = s->closed;
    pthread_mutex_unlock(&s->mu);
    return closed;
}

apr_uint32_t mt_spool_discard(mt_spool_t *s)
{
    apr_uint32_t n;

    pthread_mutex_lock(&s->mu);
    half_reset(&s->half[0]);
    half_reset(&s->half[1]);
    s->taken = NULL;
    s->first_at = 0;
    s->due = 0;
    n = apr_atomic_xchg32(&s->pending, 0);
    pthread_mutex_unlock(&s->mu);
    return n;
}

apr_uint32_t mt_spool_pending(mt_spool_t *s)
{
    return apr_atomic_read32(&s->pending);
}
