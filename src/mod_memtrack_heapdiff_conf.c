/* mod_memtrack_heapdiff_conf: the MemTrackHeapDiff* directives' values.
 *
 * Main server only, one set per server process tree: read into one struct
 * while the config is read (reset before every read by the heap diff's
 * pre_config), laid into the shared memory by its post_config
 * (mod_memtrack_heapdiff.c). The handlers check their argument and return
 * a message naming the directive and the value; the defaults and ranges are
 * in mt_limits.h. Nothing here reads another glue file, so the config
 * layer's command table can splice MT_HEAPDIFF_CMDS in without an include
 * cycle (as mod_memtrack_redis_conf.c for the Redis directives).
 */
#include "httpd.h"
#include "http_config.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "mod_memtrack_heapdiff_conf.h"
#include "mt_limits.h"
#include "mt_util.h"

static mt_heapctl_params_t mt_hd_params;

void mt_heapdiff_conf_reset(void)
{
    mt_heapctl_params_default(&mt_hd_params);
}

const mt_heapctl_params_t *mt_heapdiff_conf_params(void)
{
    return &mt_hd_params;
}

static const char *global_only(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

const char *mt_heapdiff_cmd_on(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (err) return err;
    if (!strcasecmp(arg, "on")) mt_hd_params.auto_on = 1;
    else if (!strcasecmp(arg, "off")) mt_hd_params.auto_on = 0;
    else return apr_psprintf(cmd->pool, "%s: '%s' is neither On nor Off",
                             cmd->cmd->name, arg);
    return NULL;
}

/* An absolute path of [A-Za-z0-9_./-] without "..": it goes into a request
 * header and the companion checks it the same way. */
const char *mt_heapdiff_cmd_dir(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd), *c;
    apr_size_t n = strlen(arg);

    (void)dc;
    if (err) return err;
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '.' && *c != '/'
            && *c != '-') break;
    }
    if (arg[0] != '/' || *c || n > MT_HEAPCTL_DIR_MAX || strstr(arg, "/../")
        || (n >= 3 && !strcmp(arg + n - 3, "/.."))) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an absolute path of at "
                            "most %d characters of A-Z a-z 0-9 _ . / - "
                            "(without ..)", cmd->cmd->name, arg,
                            MT_HEAPCTL_DIR_MAX);
    }
    while (n > 1 && arg[n - 1] == '/') n--;
    apr_cpystrn(mt_hd_params.dir, arg, n + 1);
    return NULL;
}

const char *mt_heapdiff_cmd_num(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *what = cmd->info, *err = global_only(cmd);
    int requests = !strcmp(what, "requests");
    apr_int64_t lo = requests ? MT_MIN_HEAPDIFF_REQUESTS : MT_MIN_HEAPDIFF_SECS;
    apr_int64_t hi = requests ? MT_MAX_HEAPDIFF_REQUESTS : MT_MAX_HEAPDIFF_SECS;
    apr_int64_t v = 0;

    (void)dc;
    if (err) return err;
    if (mt_dec_parse(&v, arg, strlen(arg), lo, hi) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number from %"
                            APR_INT64_T_FMT " to %" APR_INT64_T_FMT " (%s)",
                            cmd->cmd->name, arg, lo, hi,
                            requests ? "requests" : "seconds");
    }
    if (requests) mt_hd_params.requests = v;
    else if (!strcmp(what, "interval")) mt_hd_params.interval_sec = v;
    else if (!strcmp(what, "redis_ttl")) mt_hd_params.redis_ttl_sec = v;
    else mt_hd_params.timeout_sec = v;
    return NULL;
}

const char *mt_heapdiff_cmd_size(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = global_only(cmd);
    apr_int64_t v;

    (void)dc;
    if (err) return err;
    if (mt_size_parse(&v, arg) != APR_SUCCESS
        || v < MT_MIN_HEAPDIFF_MAX_BYTES) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size of 1M or more "
                            "(e.g. 1G)", cmd->cmd->name, arg);
    }
    mt_hd_params.max_bytes = v;
    return NULL;
}
