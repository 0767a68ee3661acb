/* mod_memtrack_heapdiff_conf: the MemTrackHeapDiff* directives (see
 * src/mod_memtrack_heapdiff_conf.c). The config layer splices
 * MT_HEAPDIFF_CMDS into its command table; the heap diff's glue
 * (mod_memtrack_heapdiff.c) resets and reads the values. */
#ifndef MOD_MEMTRACK_HEAPDIFF_CONF_H
#define MOD_MEMTRACK_HEAPDIFF_CONF_H

#include "httpd.h"
#include "http_config.h"

#include "mt_heapctl.h"

/* Directive table entries, spliced into mt_config_cmds. Main server only. */
#define MT_HEAPDIFF_CMDS \
    AP_INIT_TAKE1("MemTrackHeapDiff", mt_heapdiff_cmd_on, NULL, RSRC_CONF, \
        "On: when an endpoint becomes a leak (medium or high confidence), " \
        "diff three heap snapshots of one app process (default Off)"), \
    AP_INIT_TAKE1("MemTrackHeapDiffDir", mt_heapdiff_cmd_dir, NULL, \
        RSRC_CONF, "Directory the app processes write heap snapshots to " \
        "(owned by the app user, mode 0700); also enables diffs on demand"), \
    AP_INIT_TAKE1("MemTrackHeapDiffRequests", mt_heapdiff_cmd_num, \
        (void *)"requests", RSRC_CONF, "Requests of the endpoint in the " \
        "process between two snapshots (default 200)"), \
    AP_INIT_TAKE1("MemTrackHeapDiffInterval", mt_heapdiff_cmd_num, \
        (void *)"interval", RSRC_CONF, "Seconds between two diffs of " \
        "one app, automatic or on demand (default 3600; 0: no limit; " \
        "force=1 on demand overrides it)"), \
    AP_INIT_TAKE1("MemTrackHeapDiffTimeout", mt_heapdiff_cmd_num, \
        (void *)"timeout", RSRC_CONF, "Seconds a snapshot or the requests " \
        "between two may take before the attempt is given up (default 900)"), \
    AP_INIT_TAKE1("MemTrackHeapDiffMaxSize", mt_heapdiff_cmd_size, NULL, \
        RSRC_CONF, "Largest snapshot file (default 1G)"), \
    AP_INIT_TAKE1("MemTrackHeapDiffRedisTTL", mt_heapdiff_cmd_num, \
        (void *)"redis_ttl", RSRC_CONF, "Keep the snapshots and the result " \
        "in MemTrackRedis for this many seconds (default 0: not kept)")

const char *mt_heapdiff_cmd_on(cmd_parms *cmd, void *dc, const char *arg);
const char *mt_heapdiff_cmd_dir(cmd_parms *cmd, void *dc, const char *arg);
const char *mt_heapdiff_cmd_num(cmd_parms *cmd, void *dc, const char *arg);
const char *mt_heapdiff_cmd_size(cmd_parms *cmd, void *dc, const char *arg);

/* The values read so far (the defaults before any directive). */
const mt_heapctl_params_t *mt_heapdiff_conf_params(void);

/* Back to the defaults; called before each config read. */
void mt_heapdiff_conf_reset(void);

#endif
