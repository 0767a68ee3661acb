/* mt-redis-bench: how many records per second one Redis takes from the
 * module's Redis sink (src/mt_redis.c), without httpd in the way.
 *
 *   build/mt-redis-bench ADDRESS [SECONDS [WRITERS [RECORD_BYTES]]]
 *
 * WRITERS sinks (as WRITERS httpd children would have), each fed by one
 * producer thread pushing records of RECORD_BYTES (default 800, a typical
 * record) as fast as push() takes them. Prints what Redis acknowledged per
 * second, and what was dropped because the queues were full: the producers
 * outrun the writers on purpose, so "written/s" is the ceiling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_thread_proc.h>
#include <apr_atomic.h>

#include "mt_redis.h"

#define MAX_WRITERS 16

static volatile apr_uint32_t stop_now;

typedef struct producer_t {
    mt_redis_t *sink;
    const char *line;
    apr_size_t  len;
    int         n;
} producer_t;

static void *APR_THREAD_FUNC produce(apr_thread_t *t, void *data)
{
    producer_t *pr = data;
    char id[48];
    long i = 0;

    (void)t;
    while (!apr_atomic_read32(&stop_now)) {
        snprintf(id, sizeof(id), "bench-%d-%ld", pr->n, i++);
        if (mt_redis_push(pr->sink, id, 1, pr->line, pr->len) == APR_EAGAIN)
            usleep(100);   /* full: let the writer catch up */
    }
    return NULL;
}

static void say(void *baton, int level, apr_status_t rv, const char *msg)
{
    (void)baton; (void)rv;
    fprintf(stderr, "[%d] %s\n", level, msg);
}

static char *make_line(apr_size_t bytes, apr_pool_t *p)
{
    char *line = apr_palloc(p, bytes + 1);
    apr_size_t n = (apr_size_t)snprintf(line, bytes + 1,
        "{\"request_id\":\"bench\",\"method\":\"GET\",\"url\":\"/x\",\"pad\":\"");

    while (n + 3 < bytes)
        line[n++] = 'x';
    memcpy(line + n, "\"}\n", 3);
    line[bytes] = 0;
    return line;
}

/* What push() costs the request thread: a sink whose writer never runs,
 * a queue big enough for every record. */
static void push_cost(const mt_redis_opts_t *base, const char *line,
                      apr_size_t len, apr_pool_t *parent)
{
    enum { N = 200000 };
    mt_redis_opts_t o = *base;
    mt_redis_t *r;
    apr_pool_t *p;
    apr_time_t t0;
    char id[32];
    int i;

    apr_pool_create(&p, parent);
    o.queue_max = N;
    if (mt_redis_create(&r, &o, p) != APR_SUCCESS)
        return;
    t0 = apr_time_now();
    for (i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "cost-%d", i);
        mt_redis_push(r, id, 1, line, len);
    }
    printf("push() from a request thread: %.2f us per %zu-byte record\n",
           (double)(apr_time_now() - t0) / N, (size_t)len);
    apr_pool_destroy(p);   /* frees the queue, never sent */
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    mt_redis_addr_t *addr;
    mt_redis_opts_t o;
    mt_redis_t *sinks[MAX_WRITERS];
    apr_thread_t *threads[MAX_WRITERS];
    producer_t prod[MAX_WRITERS];
    mt_redis_stats_t st;
    const char *err;
    double secs = argc > 2 ? atof(argv[2]) : 5;
    int writers = argc > 3 ? atoi(argv[3]) : 1;
    apr_size_t bytes = argc > 4 ? (apr_size_t)atol(argv[4]) : 800;
    apr_uint32_t written = 0, dropped = 0, errors = 0;
    apr_time_t t0;
    int i;

    if (argc < 2 || writers < 1 || writers > MAX_WRITERS || bytes < 80
        || bytes > 65536 || secs <= 0) {
        fprintf(stderr, "usage: %s ADDRESS [SECONDS [WRITERS(1-%d) "
                "[RECORD_BYTES(80-65536)]]]\n", argv[0], MAX_WRITERS);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    if (mt_redis_addr_parse(&addr, &err, argv[1], p) != APR_SUCCESS) {
        fprintf(stderr, "%s: %s\n", mt_redis_redact(argv[1], p), err);
        return 2;
    }
    mt_redis_opts_default(&o);
    o.addr = addr;
    o.log = say;
    o.ttl_sec = 600;
    push_cost(&o, make_line(bytes, p), bytes, p);
    for (i = 0; i < writers; i++) {
        if (mt_redis_create(&sinks[i], &o, p) != APR_SUCCESS
            || mt_redis_start(sinks[i]) != APR_SUCCESS) {
            fprintf(stderr, "cannot start writer %d\n", i);
            return 1;
        }
        prod[i] = (producer_t){ sinks[i], make_line(bytes, p), bytes, i };
    }
    t0 = apr_time_now();
    for (i = 0; i < writers; i++)
        apr_thread_create(&threads[i], NULL, produce, &prod[i], p);
    usleep((useconds_t)(secs * 1e6));
    apr_atomic_set32(&stop_now, 1);
    for (i = 0; i < writers; i++) {
        apr_status_t trv;
        apr_thread_join(&trv, threads[i]);
    }
    for (i = 0; i < writers; i++) {
        mt_redis_stats(sinks[i], &st);
        written += st.written;
        dropped += st.dropped_full;
        errors += st.errors;
    }
    secs = (double)(apr_time_now() - t0) / 1e6;
    printf("%s: %d writer(s), %zu-byte records, %.1f s: written %u "
           "(%.0f records/s), refused while full %u, errors %u\n",
           addr->display, writers, (size_t)bytes, secs, written,
           written / secs, dropped, errors);
    for (i = 0; i < writers; i++)
        mt_redis_stop(sinks[i]);
    apr_pool_destroy(p);
    apr_terminate();
    return errors ? 1 : 0;
}
