/* mod_mt_grow: a test-only module that makes the httpd child grow on demand.
 *
 * Never installed; built by `make` into build/mod_mt_grow.so and loaded by
 * t/lib/MTTest.pm. With
 *
 *   <Location /grow>
 *     SetHandler memtrack-test-grow
 *   </Location>
 *
 * `GET /grow?mb=N` allocates N MiB (0 <= N <= MT_GROW_MAX_MB), writes to
 * every page so the memory is really resident, and keeps it for the life of
 * the child (so the child's RSS grows by N MiB and stays there). The answer
 * is "pid=<child pid> mb=<N>\n". `&status=404` (any 4xx/5xx) makes the
 * handler return that status after growing, so that an ErrorDocument causes
 * an internal redirect after the memory grew (tests of "first sample kept").
 * `kb=N` keeps N KiB more (a leak of N KiB a request), `garbage_kb=N`
 * allocates N KiB in 1 KiB pieces and frees them all (churn).
 *
 * Blocks are kept on a lock-free list, so the memory stays reachable (no
 * leak report under ASan) and threaded MPMs are safe.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_log.h"
#include "apr_atomic.h"
#include "apr_strings.h"

#define MT_GROW_MAX_MB 256
#define MT_GROW_MIB    ((apr_size_t)1024 * 1024)

/* One kept allocation; the block's own first bytes hold the list link. */
typedef struct mt_grow_block_t {
    struct mt_grow_block_t *next;
} mt_grow_block_t;

static volatile void *mt_grow_head;   /* mt_grow_block_t *, never freed */

/* Value of "name=<digits>" in the query string, or dflt. */
static long mt_grow_arg(const char *args, const char *name, long dflt)
{
    apr_size_t nlen = strlen(name);
    const char *p = args;

    while (p && *p) {
        if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            char *end;
            long v = strtol(p + nlen + 1, &end, 10);
            if (end != p + nlen + 1 && (*end == '\0' || *end == '&')) {
                return v;
            }
            return -1;
        }
        p = strchr(p, '&');
        if (p) {
            p++;
        }
    }
    return dflt;
}

/* Allocate kb KiB, touch every page, keep the block. */
static int mt_grow_alloc_kb(long kb)
{
    apr_size_t bytes = (apr_size_t)kb * 1024;
    long page = sysconf(_SC_PAGESIZE);
    mt_grow_block_t *b;
    apr_size_t off;

    if (kb == 0) {
        return 0;
    }
    b = malloc(bytes < sizeof(*b) ? sizeof(*b) : bytes);
    if (!b) {
        return -1;
    }
    for (off = 0; off < bytes; off += (apr_size_t)(page > 0 ? page : 4096)) {
        ((volatile char *)b)[off] = 1;
    }
    do {
        b->next = (mt_grow_block_t *)mt_grow_head;
    } while (apr_atomic_casptr(&mt_grow_head, b, b->next) != b->next);
    return 0;
}

/* Allocate kb KiB in pieces of 1 KiB, touch them and free them all:
 * garbage, the churn of a request that keeps nothing. */
static int mt_grow_garbage_kb(long kb)
{
    void **pieces;
    long i;

    if (kb == 0) {
        return 0;
    }
    if ((pieces = malloc((size_t)kb * sizeof(*pieces))) == NULL) {
        return -1;
    }
    for (i = 0; i < kb; i++) {
        if ((pieces[i] = malloc(1024)) != NULL) {
            memset(pieces[i], 1, 1024);
        }
    }
    for (i = 0; i < kb; i++) {
        free(pieces[i]);
    }
    free(pieces);
    return 0;
}

static int mt_grow_handler(request_rec *r)
{
    long mb, kb, garbage, status;

    if (!r->handler || strcmp(r->handler, "memtrack-test-grow") != 0) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    mb = mt_grow_arg(r->args, "mb", 0);
    kb = mt_grow_arg(r->args, "kb", 0);
    garbage = mt_grow_arg(r->args, "garbage_kb", 0);
    status = mt_grow_arg(r->args, "status", 200);
    if (mb < 0 || mb > MT_GROW_MAX_MB || kb < 0 || kb > MT_GROW_MAX_MB * 1024
        || garbage < 0 || garbage > MT_GROW_MAX_MB * 1024
        || status < 200 || status > 599) {
        return HTTP_BAD_REQUEST;
    }
    if (mt_grow_alloc_kb(mb * 1024 + kb) != 0
        || mt_grow_garbage_kb(garbage) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "mt_grow: cannot allocate %ld MiB %ld KiB", mb, kb);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (status >= 400) {
        return (int)status;
    }
    ap_set_content_type(r, "text/plain");
    ap_rprintf(r, "pid=%ld mb=%ld\n", (long)getpid(), mb);
    return OK;
}

static void mt_grow_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(mt_grow_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(mt_grow) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    mt_grow_register_hooks,
    AP_MODULE_FLAG_NONE
};
