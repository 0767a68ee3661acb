/* mod_memtrack_shm: the shared state's memory.
 *
 * One anonymous APR shared memory segment, created by the httpd parent in
 * its process pool and inherited by every child through fork. The process
 * pool lives as long as the parent: across graceful restarts the new
 * generation's children use the very memory the old generation's children
 * are still writing, so nothing half seen is forgotten and nothing is
 * copied; a full stop ends the parent and the memory with it, so the next
 * start begins fresh. A config that changes the layout (MemTrackEndpoints)
 * gets a new segment (the old children keep their own mapping of the old
 * one until they exit).
 *
 * Why not mod_slotmem_shm, which the per-process state used before: it
 * gives every generation a segment of its own, and carries content over
 * only through a file written when the old generation's pool is cleared
 * (AP_SLOTMEM_TYPE_PERSIST): what draining children write after that is
 * lost, and the file also outlives a full stop, which must start fresh.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "apr_shm.h"

#include "mod_memtrack_config.h"
#include "mod_memtrack_shm.h"

APLOG_USE_MODULE(memtrack);

#define MT_SHM_KEY "memtrack-state-shm"

/* Kept in the process pool across generations. */
typedef struct {
    apr_shm_t *shm;
    apr_size_t bytes;
} mt_shm_holder_t;

static mt_state_t mt_state;
static mt_state_t *mt_state_ptr;

mt_state_t *mt_shm_state(void)
{
    return mt_state_ptr;
}

/* The segment of the running parent, reused when its size still fits. */
static apr_status_t segment(void **mem, apr_size_t bytes, server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    mt_shm_holder_t *h = NULL;
    apr_status_t rv;

    apr_pool_userdata_get((void **)&h, MT_SHM_KEY, pp);
    if (h && h->shm && h->bytes == bytes) {
        *mem = apr_shm_baseaddr_get(h->shm);
        return APR_SUCCESS;
    }
    if (!h) {
        h = apr_pcalloc(pp, sizeof(*h));
        apr_pool_userdata_set(h, MT_SHM_KEY, apr_pool_cleanup_null, pp);
    }
    if (h->shm) {
        apr_shm_destroy(h->shm);       /* this parent's mapping only */
        h->shm = NULL;
    }
    if (APR_SUCCESS != (rv = apr_shm_create(&h->shm, bytes, NULL, pp))) {
        return rv;
    }
    h->bytes = bytes;
    *mem = apr_shm_baseaddr_get(h->shm);
    return APR_SUCCESS;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    mt_srv_conf_t *sc = mt_config_srv(s);
    mt_state_params_t params;
    void *mem = NULL;
    apr_status_t rv;
    int kept = 0;

    (void)pconf; (void)plog; (void)ptemp;
    mt_state_ptr = NULL;
    if (!mt_config_any_enabled() || !mt_config_analysis(sc)
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    mt_state_params_default(&params);
    params.endpoints = (unsigned int)mt_config_endpoints(sc);
    params.leak_min_bytes = mt_config_leak_min(sc);
    rv = segment(&mem, mt_state_bytes(&params), s);
    if (rv != APR_SUCCESS || !mem) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "memtrack: cannot create "
                     "the shared state (%" APR_SIZE_T_FMT " bytes); records "
                     "are written, but there is no analysis",
                     mt_state_bytes(&params));
        return OK;
    }
    mt_state_init(&mt_state, mem, &params, apr_time_now(), &kept);
    mt_state_ptr = &mt_state;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "memtrack: shared state %s "
                 "(%u processes, %u endpoints, %" APR_SIZE_T_FMT " bytes)",
                 kept ? "kept from the previous generation" : "started",
                 params.procs, params.endpoints, mt_state_bytes(&params));
    return OK;
}

void mt_shm_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
}
