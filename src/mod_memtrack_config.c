/* mod_memtrack_config: directives and config merging.
 *
 * Directive handlers check their argument and return a message naming the
 * directive and the value (NULL when fine); they never log. Merges build a
 * new struct and never change base, so a <Location> can switch tracking off
 * or change the threshold without touching its parent.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mod_memtrack_config.h"
#include "mod_memtrack_heapdiff_conf.h"
#include "mod_memtrack_redis_conf.h"
#include "mt_endpoint.h"
#include "mt_limits.h"
#include "mt_state.h"
#include "mt_util.h"

APLOG_USE_MODULE(memtrack);

/* Per-directory (and server-default) settings; every field MT_UNSET until a
 * directive sets it, so that merging can tell "off" from "not said". */
struct mt_dir_conf_t {
    int         enabled;          /* MemTrack On|Off */
    apr_int64_t threshold_bytes;  /* MemTrackThreshold; 0 = none */
    int         target;           /* mt_target_mode_e */
    int         sample_rate;      /* MemTrackSampleRate: 1 in N */
    const char *app_root;         /* MemTrackAppRoot, NULL: DocumentRoot/.. */
    const char *endpoint;         /* MemTrackEndpoint, NULL: from the request */
};

/* Per-server (vhost) settings. Sinks are opened per server in open_logs /
 * child_init; a vhost without its own sink uses the main server's. */
struct mt_srv_conf_t {
    const char *log_spec;         /* MemTrackLog argument, NULL when unset */
    mt_sink_t  *log_sink;         /* opened in open_logs */
    mt_redis_conf_t *redis;       /* MemTrackRedis*, NULL when unset */
    mt_sink_t  *redis_sink;       /* started in child_init */
    int         trust_request_id; /* MemTrackTrustRequestId On|Off */
    const char *request_id_header;/* header trusted when trust_request_id */
    int         probe_rate;       /* MemTrackProbeRate: 1 in N, 0 off */
    int         probe_max;        /* MemTrackProbeMax: per process and second */
    /* The shared state is one per server process tree: read from the
     * main server only. */
    int         analysis;         /* MemTrackAnalysis On|Off */
    int         endpoints;        /* MemTrackEndpoints */
    apr_int64_t leak_min_bytes;   /* MemTrackLeakMin */
};

/* Set when any "MemTrack On" is read, so that servers that never track pay
 * nothing; the config is re-read on every restart, which resets it. */
static int mt_any_enabled;
/* MemTrackDropReportInterval: one setting for the whole server. */
static int mt_drop_report_secs = MT_DEFAULT_DROP_REPORT_SECS;

/* MemTrackServerName: the record's `server` instead of the host name
 * (main server only: one name per web server); NULL when unset. Re-read
 * with the config on every restart. */
static const char *mt_server_name;

void mt_config_reset(void)
{
    mt_any_enabled = 0;
    mt_drop_report_secs = MT_DEFAULT_DROP_REPORT_SECS;
    mt_server_name = NULL;
}

int mt_config_drop_report_secs(void)
{
    return mt_drop_report_secs;
}

const char *mt_config_server_name(void)
{
    return mt_server_name;
}

int mt_config_any_enabled(void)
{
    return mt_any_enabled;
}

mt_srv_conf_t *mt_config_srv(server_rec *s)
{
    return ap_get_module_config(s->module_config, &memtrack_module);
}

mt_dir_conf_t *mt_config_dir(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &memtrack_module);
}

int mt_config_enabled(const mt_dir_conf_t *d)
{
    return (d && d->enabled != MT_UNSET) ? d->enabled == 1
                                         : MT_DEFAULT_ENABLED;
}

apr_int64_t mt_config_threshold(const mt_dir_conf_t *d)
{
    return (d && d->threshold_bytes > 0) ? d->threshold_bytes
                                         : MT_DEFAULT_THRESHOLD_BYTES;
}

int mt_config_target(const mt_dir_conf_t *d)
{
    return (d && d->target != MT_TARGET_UNSET) ? d->target : MT_TARGET_IS_AUTO;
}

int mt_config_sample_rate(const mt_dir_conf_t *d)
{
    return (d && d->sample_rate > 0) ? d->sample_rate : MT_DEFAULT_SAMPLE_RATE;
}

const char *mt_config_app_root(const mt_dir_conf_t *d)
{
    return d ? d->app_root : NULL;
}

const char *mt_config_endpoint(const mt_dir_conf_t *d)
{
    return d ? d->endpoint : NULL;
}

int mt_config_probe_rate(const mt_srv_conf_t *sc)
{
    return sc->probe_rate != MT_UNSET ? sc->probe_rate : MT_DEFAULT_PROBE_RATE;
}

int mt_config_probe_max(const mt_srv_conf_t *sc)
{
    return sc->probe_max != MT_UNSET ? sc->probe_max : MT_DEFAULT_PROBE_MAX;
}

int mt_config_analysis(const mt_srv_conf_t *sc)
{
    return sc->analysis != MT_UNSET ? sc->analysis != 0 : MT_DEFAULT_ANALYSIS;
}

int mt_config_endpoints(const mt_srv_conf_t *sc)
{
    return sc->endpoints != MT_UNSET ? sc->endpoints : MT_DEFAULT_ENDPOINTS;
}

apr_int64_t mt_config_leak_min(const mt_srv_conf_t *sc)
{
    return sc->leak_min_bytes != MT_UNSET ? sc->leak_min_bytes
                                          : MT_DEFAULT_LEAK_MIN_BYTES;
}

const char *mt_config_log_spec(const mt_srv_conf_t *sc)
{
    return sc->log_spec;
}

const char *mt_config_trusted_id_header(const mt_srv_conf_t *sc)
{
    int trust = sc->trust_request_id != MT_UNSET ? sc->trust_request_id
                                                 : MT_DEFAULT_TRUST_REQUEST_ID;

    if (trust != 1) {
        return NULL;
    }
    return sc->request_id_header ? sc->request_id_header
                                  : MT_DEFAULT_REQUEST_ID_HEADER;
}

mt_redis_conf_t **mt_config_redis_ref(mt_srv_conf_t *sc)
{
    return &sc->redis;
}

mt_sink_t *mt_config_log_sink(const mt_srv_conf_t *sc)
{
    return sc->log_sink;
}

mt_sink_t *mt_config_redis_sink(const mt_srv_conf_t *sc)
{
    return sc->redis_sink;
}

void mt_config_set_log_sink(mt_srv_conf_t *sc, mt_sink_t *sink)
{
    sc->log_sink = sink;
}

void mt_config_set_redis_sink(mt_srv_conf_t *sc, mt_sink_t *sink)
{
    sc->redis_sink = sink;
}

void *mt_config_create_dir(apr_pool_t *p, char *dir)
{
    mt_dir_conf_t *d = apr_palloc(p, sizeof(*d));

    (void)dir;
    d->enabled = MT_UNSET;
    d->threshold_bytes = MT_UNSET;
    d->target = MT_TARGET_UNSET;
    d->sample_rate = MT_UNSET;
    d->app_root = NULL;
    d->endpoint = NULL;
    return d;
}

void *mt_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const mt_dir_conf_t *base = basev, *add = addv;
    mt_dir_conf_t *d = apr_palloc(p, sizeof(*d));

    d->enabled = add->enabled != MT_UNSET ? add->enabled : base->enabled;
    d->threshold_bytes = add->threshold_bytes != MT_UNSET
                         ? add->threshold_bytes : base->threshold_bytes;
    d->target = add->target != MT_TARGET_UNSET ? add->target : base->target;
    d->sample_rate = add->sample_rate != MT_UNSET
                     ? add->sample_rate : base->sample_rate;
    d->app_root = add->app_root ? add->app_root : base->app_root;
    d->endpoint = add->endpoint ? add->endpoint : base->endpoint;
    return d;
}

void *mt_config_create_srv(apr_pool_t *p, server_rec *s)
{
    mt_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    (void)s;
    sc->trust_request_id = MT_UNSET;
    sc->probe_rate = sc->probe_max = sc->endpoints = MT_UNSET;
    sc->analysis = MT_UNSET;
    sc->leak_min_bytes = MT_UNSET;
    return sc;
}

void *mt_config_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    const mt_srv_conf_t *base = basev, *add = addv;
    mt_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->log_spec = add->log_spec ? add->log_spec : base->log_spec;
    sc->redis = mt_redis_conf_merge(p, base->redis, add->redis);
    sc->trust_request_id = add->trust_request_id != MT_UNSET
                           ? add->trust_request_id : base->trust_request_id;
    sc->request_id_header = add->request_id_header ? add->request_id_header
                                                   : base->request_id_header;
    sc->probe_rate = add->probe_rate != MT_UNSET ? add->probe_rate
                                                 : base->probe_rate;
    sc->probe_max = add->probe_max != MT_UNSET ? add->probe_max
                                               : base->probe_max;
    sc->endpoints = base->endpoints;          /* main server only */
    sc->analysis = base->analysis;
    sc->leak_min_bytes = base->leak_min_bytes;
    return sc;
}

/* On|Off, with a message that names the value (AP_INIT_FLAG's does not). */
static const char *parse_on_off(cmd_parms *cmd, const char *arg, int *on)
{
    if (!strcasecmp(arg, "on")) *on = 1;
    else if (!strcasecmp(arg, "off")) *on = 0;
    else {
        return apr_psprintf(cmd->pool, "%s: '%s' is neither On nor Off",
                            cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *cmd_enable(cmd_parms *cmd, void *dc, const char *arg)
{
    mt_dir_conf_t *d = dc;
    const char *err;
    int on = 0;

    if ((err = parse_on_off(cmd, arg, &on)) != NULL) {
        return err;
    }
    d->enabled = on;
    if (on) {
        mt_any_enabled = 1;
    }
    return NULL;
}

static const char *cmd_threshold(cmd_parms *cmd, void *dc, const char *arg)
{
    mt_dir_conf_t *d = dc;
    apr_int64_t bytes;

    if (mt_size_parse(&bytes, arg) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size: use bytes or "
                            "a number with K, M or G, e.g. 20M",
                            cmd->cmd->name, arg);
    }
    d->threshold_bytes = bytes;
    return NULL;
}

static const char *cmd_target(cmd_parms *cmd, void *dc, const char *arg)
{
    mt_dir_conf_t *d = dc;

    if (!strcasecmp(arg, "self")) d->target = MT_TARGET_IS_SELF;
    else if (!strcasecmp(arg, "backend")) d->target = MT_TARGET_IS_BACKEND;
    else if (!strcasecmp(arg, "auto")) d->target = MT_TARGET_IS_AUTO;
    else {
        return apr_psprintf(cmd->pool, "%s: '%s' is not one of self, backend, "
                            "auto", cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *cmd_sample_rate(cmd_parms *cmd, void *dc, const char *arg)
{
    mt_dir_conf_t *d = dc;
    apr_int64_t n;

    if (mt_dec_parse(&n, arg, strlen(arg), MT_MIN_SAMPLE_RATE,
                     MT_MAX_SAMPLE_RATE) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number from %d "
                            "to %d (record 1 request in N)", cmd->cmd->name,
                            arg, MT_MIN_SAMPLE_RATE, MT_MAX_SAMPLE_RATE);
    }
    d->sample_rate = (int)n;
    return NULL;
}

/* A whole number in [lo, hi], or a message naming directive and value. */
static const char *parse_count(cmd_parms *cmd, const char *arg, int lo, int hi,
                               const char *what, int *out)
{
    apr_int64_t n;

    if (mt_dec_parse(&n, arg, strlen(arg), lo, hi) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number from "
                            "%d to %d (%s)", cmd->cmd->name, arg, lo, hi, what);
    }
    *out = (int)n;
    return NULL;
}

static mt_srv_conf_t *srv_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &memtrack_module);
}

static const char *cmd_probe_rate(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (!strcasecmp(arg, "off")) {
        srv_of(cmd)->probe_rate = 0;
        return NULL;
    }
    return parse_count(cmd, arg, MT_MIN_PROBE_RATE, MT_MAX_PROBE_RATE,
                       "probe at most 1 request in N; 0 or Off: never",
                       &srv_of(cmd)->probe_rate);
}

static const char *cmd_probe_max(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return parse_count(cmd, arg, MT_MIN_PROBE_MAX, MT_MAX_PROBE_MAX,
                       "probes per app process and second",
                       &srv_of(cmd)->probe_max);
}

static const char *cmd_analysis(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    int on = 1;

    (void)dc;
    if (err || (err = parse_on_off(cmd, arg, &on)) != NULL) {
        return err;
    }
    srv_of(cmd)->analysis = on;
    return NULL;
}

static const char *cmd_endpoints(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dc;
    if (err) {
        return err;
    }
    return parse_count(cmd, arg, MT_MIN_ENDPOINTS, MT_EP_LIMIT,
                       "distinct endpoints kept",
                       &srv_of(cmd)->endpoints);
}

static const char *cmd_leak_min(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t bytes;

    (void)dc;
    if (err) {
        return err;
    }
    if (mt_size_parse(&bytes, arg) != APR_SUCCESS
        || bytes < MT_MIN_LEAK_MIN_BYTES
        || bytes > MT_MAX_LEAK_MIN_BYTES) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size from 1 byte to "
                            "1G (e.g. 4K)", cmd->cmd->name, arg);
    }
    srv_of(cmd)->leak_min_bytes = bytes;
    return NULL;
}

/* A server name: 1 to 64 characters of [A-Za-z0-9._:-], like a host name
 * (it is shown, and a report keys a web server by it). */
static const char *cmd_server_name(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_size_t n = strlen(arg), i;

    (void)dc;
    if (err) {
        return err;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isalnum(arg[i]) && !strchr("._:-", arg[i])) break;
    }
    if (n == 0 || n > MT_MAX_SERVER_NAME || i < n) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a server name: use 1 "
                            "to %d characters of A-Z a-z 0-9 . _ : - (e.g. "
                            "web-03)", cmd->cmd->name, arg, MT_MAX_SERVER_NAME);
    }
    mt_server_name = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

/* A name of 1 to 160 bytes of visible characters: it becomes a label and a
 * key, and the module shows it on the status page. */
static const char *cmd_endpoint(cmd_parms *cmd, void *dc, const char *arg)
{
    mt_dir_conf_t *d = dc;
    const unsigned char *c;

    for (c = (const unsigned char *)arg; *c; c++) {
        if (*c < 0x21 || *c == 0x7F) break;
    }
    if (!*arg || *c || strlen(arg) > MT_ENDPOINT_MAX) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a name of 1 to %d "
                            "visible characters (no spaces)", cmd->cmd->name,
                            arg, MT_ENDPOINT_MAX);
    }
    d->endpoint = arg;
    return NULL;
}

/* Can the log file be opened for appending, as far as can be known now?
 * NULL, or why not. Checked with access() by the user reading the
 * configuration, which is the user that opens it at start (root, usually);
 * what only the open itself can tell is said loudly at start
 * (mod_memtrack_log.c). */
static const char *log_path_problem(cmd_parms *cmd, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dir;
    apr_finfo_t fi;

    if (slash[1] == '\0'
        || (apr_stat(&fi, path, APR_FINFO_TYPE, cmd->pool) == APR_SUCCESS
            && fi.filetype == APR_DIR)) {
        return "is a directory: name a file in it, e.g. records.jsonl";
    }
    dir = slash == path ? "/" : apr_pstrmemdup(cmd->pool, path, slash - path);
    if (apr_stat(&fi, dir, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
        return "the directory for the file does not exist";
    }
    if (apr_stat(&fi, path, APR_FINFO_TYPE, cmd->pool) == APR_SUCCESS) {
        if (fi.filetype != APR_REG) {
            return "is not a regular file";
        }
        if (access(path, W_OK) != 0) {
            return apr_psprintf(cmd->pool, "cannot be written (%s)",
                                strerror(errno));
        }
    }
    else if (access(dir, W_OK | X_OK) != 0) {
        return apr_psprintf(cmd->pool, "cannot be created in %s (%s)", dir,
                            strerror(errno));
    }
    return NULL;
}

/* "|program args" or a file that can be appended to. The sink itself is
 * opened in open_logs, in the parent, like CustomLog. */
static const char *cmd_log(cmd_parms *cmd, void *dc, const char *arg)
{
    mt_srv_conf_t *sc = ap_get_module_config(cmd->server->module_config,
                                             &memtrack_module);
    const char *path, *why;

    (void)dc;
    if (arg[0] == '|') {
        if (!arg[1 + strspn(arg + 1, "|$ \t")]) {
            return apr_psprintf(cmd->pool, "%s: '%s' names no program",
                                cmd->cmd->name, arg);
        }
        sc->log_spec = arg;
        return NULL;
    }
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path || !*arg || !strchr(path, '/')) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid path",
                            cmd->cmd->name, arg);
    }
    if ((why = log_path_problem(cmd, path)) != NULL) {
        return apr_psprintf(cmd->pool, "%s: '%s': %s", cmd->cmd->name, arg,
                            why);
    }
    sc->log_spec = path;
    return NULL;
}

static const char *cmd_drop_report(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_int64_t n;

    (void)dc;
    if (mt_dec_parse(&n, arg, strlen(arg), MT_MIN_DROP_REPORT_SECS,
                     MT_MAX_DROP_REPORT_SECS) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds "
                            "from %d to %d", cmd->cmd->name, arg,
                            MT_MIN_DROP_REPORT_SECS, MT_MAX_DROP_REPORT_SECS);
    }
    mt_drop_report_secs = (int)n;
    return NULL;
}

static const char *cmd_app_root(cmd_parms *cmd, void *dc, const char *arg)
{
    mt_dir_conf_t *d = dc;

    if (arg[0] != '/' || strlen(arg) > MT_MAX_APP_ROOT) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an absolute path of at "
                            "most %d bytes", cmd->cmd->name, arg,
                            MT_MAX_APP_ROOT);
    }
    d->app_root = arg;
    return NULL;
}

static const char *cmd_trust_id(cmd_parms *cmd, void *dc, const char *arg)
{
    mt_srv_conf_t *sc = ap_get_module_config(cmd->server->module_config,
                                             &memtrack_module);
    const char *err;
    int on = 0;

    (void)dc;
    if ((err = parse_on_off(cmd, arg, &on)) != NULL) {
        return err;
    }
    sc->trust_request_id = on;
    return NULL;
}

static const char *cmd_id_header(cmd_parms *cmd, void *dc, const char *arg)
{
    mt_srv_conf_t *sc = ap_get_module_config(cmd->server->module_config,
                                             &memtrack_module);
    const char *c;

    (void)dc;
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && *c != '-' && *c != '_') break;
    }
    if (!*arg || *c || c - arg > MT_MAX_REQUEST_ID_HEADER) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a header name",
                            cmd->cmd->name, arg);
    }
    sc->request_id_header = arg;
    return NULL;
}

/* The Redis directives: their values are kept in mod_memtrack_redis_conf.c;
 * the config layer only hands it the server's struct. */
static const char *cmd_redis_url(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return mt_redis_conf_url(&srv_of(cmd)->redis, cmd, arg);
}

static const char *cmd_redis_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return mt_redis_conf_ttl(&srv_of(cmd)->redis, cmd, arg);
}

static const char *cmd_redis_maxlen(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return mt_redis_conf_maxlen(&srv_of(cmd)->redis, cmd, arg);
}

static const char *cmd_redis_queue(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return mt_redis_conf_queue(&srv_of(cmd)->redis, cmd, arg);
}

static const char *cmd_redis_timeout(cmd_parms *cmd, void *dc,
                                     const char *conn, const char *command)
{
    (void)dc;
    return mt_redis_conf_timeout(&srv_of(cmd)->redis, cmd, conn, command);
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf; (void)plog; (void)ptemp;
    mt_config_reset();
    return OK;
}

void mt_config_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* Before any config is read: "MemTrack On" anywhere sets the flag. */
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
}

const command_rec mt_config_cmds[] = {
    AP_INIT_TAKE1("MemTrack", cmd_enable, NULL, RSRC_CONF | ACCESS_CONF,
        "On to record the memory of every request here (default Off)"),
    AP_INIT_TAKE1("MemTrackThreshold", cmd_threshold, NULL,
        RSRC_CONF | ACCESS_CONF,
        "Growth above this size (20M, 512K, 1G, bytes) flags the request"),
    AP_INIT_TAKE1("MemTrackLog", cmd_log, NULL, RSRC_CONF,
        "JSON Lines sink: \"|program args\" (piped logger) or a file path"),
    AP_INIT_TAKE1("MemTrackDropReportInterval", cmd_drop_report, NULL,
        RSRC_CONF, "Seconds between reports of dropped records per sink and "
        "child (default 60)"),
    AP_INIT_TAKE1("MemTrackTarget", cmd_target, NULL, RSRC_CONF | ACCESS_CONF,
        "Process to attribute: self, backend or auto (default auto)"),
    AP_INIT_TAKE1("MemTrackSampleRate", cmd_sample_rate, NULL,
        RSRC_CONF | ACCESS_CONF, "Record 1 request in N (default 1)"),
    AP_INIT_TAKE1("MemTrackAppRoot", cmd_app_root, NULL, RSRC_CONF | ACCESS_CONF,
        "Passenger app root, to find a single app process (default: the "
        "parent of DocumentRoot)"),
    AP_INIT_TAKE1("MemTrackTrustRequestId", cmd_trust_id, NULL, RSRC_CONF,
        "On to take the request id from the client's header (default Off)"),
    AP_INIT_TAKE1("MemTrackRequestIdHeader", cmd_id_header, NULL, RSRC_CONF,
        "Header trusted for the request id (default X-Request-Id)"),
    AP_INIT_TAKE1("MemTrackEndpoint", cmd_endpoint, NULL, ACCESS_CONF,
        "The endpoint name of every request here (default: Controller#action "
        "or METHOD /path with ids as :id)"),
    AP_INIT_TAKE1("MemTrackAnalysis", cmd_analysis, NULL, RSRC_CONF,
        "Off: write records only, keep no shared state and probe nothing "
        "(default On)"),
    AP_INIT_TAKE1("MemTrackEndpoints", cmd_endpoints, NULL, RSRC_CONF,
        "Distinct endpoints kept; later ones count as \"other\" (default 256)"),
    AP_INIT_TAKE1("MemTrackProbeRate", cmd_probe_rate, NULL, RSRC_CONF,
        "Probe what a request keeps on at most 1 request in N (default 100; "
        "0 or Off: never)"),
    AP_INIT_TAKE1("MemTrackProbeMax", cmd_probe_max, NULL, RSRC_CONF,
        "Probes per app process and second at most (default 2)"),
    AP_INIT_TAKE1("MemTrackLeakMin", cmd_leak_min, NULL, RSRC_CONF,
        "The smallest leak per request an endpoint is named for (default 4K)"),
    AP_INIT_TAKE1("MemTrackServerName", cmd_server_name, NULL, RSRC_CONF,
        "The record's server name instead of the host name (default: the "
        "host name)"),
    AP_INIT_TAKE1("MemTrackRedis", cmd_redis_url, NULL, RSRC_CONF,
        "Redis sink: redis://[:password@]host:port[/db], unix:/path[?db=N] "
        "or Off"),
    AP_INIT_TAKE1("MemTrackRedisTTL", cmd_redis_ttl, NULL, RSRC_CONF,
        "Expiry of memtrack:req:<id> keys in seconds (default 86400)"),
    AP_INIT_TAKE1("MemTrackRedisStreamMaxLen", cmd_redis_maxlen, NULL,
        RSRC_CONF, "Approximate cap of memtrack:stream entries; 0 = no "
        "stream (default 100000)"),
    AP_INIT_TAKE1("MemTrackRedisQueue", cmd_redis_queue, NULL, RSRC_CONF,
        "Records waiting for Redis per child before new ones are dropped "
        "(default 10000)"),
    AP_INIT_TAKE12("MemTrackRedisTimeout", cmd_redis_timeout, NULL,
        RSRC_CONF, "Connect and command timeouts in milliseconds "
        "(default 500 1000)"),
    MT_HEAPDIFF_CMDS,
    { NULL }
};
