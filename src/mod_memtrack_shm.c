/* mod_memtrack_shm: shared per-process state through mod_slotmem_shm.
 *
 * httpd's slotmem provider owns the shared memory (created in the parent's
 * post_config, inherited by every child, cleaned up with the config pool),
 * so the module never manages shm segments itself. The state is one slot of
 * mt_state_bytes() bytes; the core (mt_state.c) lays out the array in it.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_provider.h"
#include "ap_slotmem.h"

#include "mod_memtrack_config.h"
#include "mod_memtrack_shm.h"

APLOG_USE_MODULE(memtrack);

static mt_state_t mt_state;
static mt_state_t *mt_state_ptr;

mt_state_t *mt_shm_state(void)
{
    return mt_state_ptr;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    const ap_slotmem_provider_t *shm;
    ap_slotmem_instance_t *inst = NULL;
    void *mem = NULL;
    apr_status_t rv;
    mt_state_params_t params;
    int kept = 0;

    (void)plog; (void)ptemp;
    mt_state_ptr = NULL;
    if (!mt_config_any_enabled()
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    shm = ap_lookup_provider(AP_SLOTMEM_PROVIDER_GROUP, "shm",
                             AP_SLOTMEM_PROVIDER_VERSION);
    if (!shm) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "memtrack: mod_slotmem_shm "
                     "is not loaded: no state shared between children (no "
                     "\"previous\" before-samples, no per-process totals)");
        return OK;
    }
    mt_state_params_default(&params);
    rv = shm->create(&inst, "memtrack-state", mt_state_bytes(&params),
                     1, AP_SLOTMEM_TYPE_PREGRAB, pconf);
    if (rv == APR_SUCCESS) {
        rv = shm->dptr(inst, 0, &mem);
    }
    if (rv != APR_SUCCESS || !mem) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "memtrack: cannot create the "
                     "shared state; working without it");
        return OK;
    }
    mt_state_init(&mt_state, mem, &params, apr_time_now(), &kept);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "memtrack: shared state %s "
                 "(%u processes, %u endpoints, %" APR_SIZE_T_FMT " bytes)",
                 kept ? "kept from the previous generation" : "started",
                 params.procs, params.endpoints, mt_state_bytes(&params));
    mt_state_ptr = &mt_state;
    return OK;
}

void mt_shm_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
}
