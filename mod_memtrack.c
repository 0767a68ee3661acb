/* mod_memtrack: per-request memory tracking for httpd and the application
 * processes behind it.
 *
 * For every tracked request the module samples the process that served it
 * before and after (the httpd child, or the Passenger app process), writes
 * one JSON record to a piped logger, a file or Redis, and flags requests whose
 * growth crosses MemTrackThreshold. This file holds the module record and hook
 * registration only; each concern lives in its own file under src/:
 *
 *   mod_memtrack_config.c   directives and merging
 *   mod_memtrack_request.c  post_read_request / log_transaction
 *   mod_memtrack_target.c   which process a request is attributed to
 *   mod_memtrack_analysis.c endpoints, probes, the shared state's updates
 *   mod_memtrack_heapdiff.c heap snapshots of a leaking process, diffed
 *   mod_memtrack_heapdiff_conf.c  the MemTrackHeapDiff* directives
 *   mod_memtrack_shm.c      per-process state shared by all children
 *   mod_memtrack_sink.c     what every sink shares: counters, drop reports
 *   mod_memtrack_log.c      the JSON Lines sink (piped logger or file)
 *   mod_memtrack_pipe.c     piped loggers that outlive a configuration
 *   mod_memtrack_redis.c    the Redis sink
 *   mod_memtrack_status.c   the status page (SetHandler memtrack-status)
 *   mt_*.c                  the httpd-free core: sampling, records, protocol
 *   include/mt_limits.h     every default and limit, with its unit
 */
#include "httpd.h"
#include "http_config.h"

#include "mod_memtrack_analysis.h"
#include "mod_memtrack_config.h"
#include "mod_memtrack_heapdiff.h"
#include "mod_memtrack_log.h"
#include "mod_memtrack_pipe.h"
#include "mod_memtrack_redis.h"
#include "mod_memtrack_request.h"
#include "mod_memtrack_shm.h"
#include "mod_memtrack_status.h"
#include "mod_memtrack_sink.h"
#include "mod_memtrack_target.h"

static void register_hooks(apr_pool_t *p)
{
    mt_config_register_hooks(p);
    mt_request_register_hooks(p);
    mt_target_register_hooks(p);
    mt_analysis_register_hooks(p);
    mt_heapdiff_register_hooks(p);
    mt_shm_register_hooks(p);
    mt_log_register_hooks(p);
    mt_pipe_register_hooks(p);
    mt_redis_register_hooks(p);
    mt_status_register_hooks(p);
    mt_sink_register_hooks(p);
}

AP_DECLARE_MODULE(memtrack) = {
    STANDARD20_MODULE_STUFF,
    mt_config_create_dir,
    mt_config_merge_dir,
    mt_config_create_srv,
    mt_config_merge_srv,
    mt_config_cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
