/* mod_memtrack_config: directives, per-server and per-directory config. */
#ifndef MOD_MEMTRACK_CONFIG_H
#define MOD_MEMTRACK_CONFIG_H

#include "httpd.h"
#include "http_config.h"

extern module AP_MODULE_DECLARE_DATA memtrack_module;

#define MT_UNSET (-1)

typedef enum {
    MT_TARGET_UNSET = -1,
    MT_TARGET_IS_SELF = 0,   /* always the httpd child */
    MT_TARGET_IS_BACKEND,    /* the app process; no record when none answered */
    MT_TARGET_IS_AUTO        /* the app process when one answered, else self */
} mt_target_mode_e;

/* The config structs are private to mod_memtrack_config.c; other files
 * read them through the functions below. */
typedef struct mt_dir_conf_t mt_dir_conf_t;
typedef struct mt_srv_conf_t mt_srv_conf_t;
typedef struct mt_redis_conf_t mt_redis_conf_t;  /* mod_memtrack_redis_conf.c */
/* The config only keeps each server's sinks (mod_memtrack_sink.h): no
 * include, so the sinks can read the config without a cycle. */
typedef struct mt_sink_t mt_sink_t;

mt_srv_conf_t *mt_config_srv(server_rec *s);
mt_dir_conf_t *mt_config_dir(request_rec *r);

/* Effective per-directory values, defaults applied. */
int         mt_config_enabled(const mt_dir_conf_t *d);
apr_int64_t mt_config_threshold(const mt_dir_conf_t *d);
int         mt_config_target(const mt_dir_conf_t *d);
int         mt_config_sample_rate(const mt_dir_conf_t *d);
const char *mt_config_app_root(const mt_dir_conf_t *d);   /* NULL: not set */
const char *mt_config_endpoint(const mt_dir_conf_t *d);   /* NULL: not set */

/* Per-server values. */
int         mt_config_probe_rate(const mt_srv_conf_t *sc);  /* 0: never */
int         mt_config_probe_max(const mt_srv_conf_t *sc);
/* Of the main server: whether there is an analysis at all, the shared
 * state's size and leak floor. */
int         mt_config_analysis(const mt_srv_conf_t *sc);
int         mt_config_endpoints(const mt_srv_conf_t *sc);
apr_int64_t mt_config_leak_min(const mt_srv_conf_t *sc);
const char *mt_config_log_spec(const mt_srv_conf_t *sc);  /* NULL: none */
/* The header to take a client's request id from, NULL when not trusted. */
const char *mt_config_trusted_id_header(const mt_srv_conf_t *sc);
/* The Redis config of a server, created on first use by its directives. */
mt_redis_conf_t **mt_config_redis_ref(mt_srv_conf_t *sc);

/* The sinks of a server: set once per child (log: in the parent). */
mt_sink_t *mt_config_log_sink(const mt_srv_conf_t *sc);
mt_sink_t *mt_config_redis_sink(const mt_srv_conf_t *sc);
void       mt_config_set_log_sink(mt_srv_conf_t *sc, mt_sink_t *sink);
void       mt_config_set_redis_sink(mt_srv_conf_t *sc, mt_sink_t *sink);

/* MemTrackDropReportInterval: seconds between drop reports (default 60). */
int mt_config_drop_report_secs(void);
/* MemTrackServerName, NULL when unset (then the host name is used). */
const char *mt_config_server_name(void);

/* True once any "MemTrack On" was read in the running config. */
int mt_config_any_enabled(void);

/* Forget what the last config said; called before each config read. */
void mt_config_reset(void);

extern const command_rec mt_config_cmds[];
void mt_config_register_hooks(apr_pool_t *p);
void *mt_config_create_dir(apr_pool_t *p, char *dir);
void *mt_config_merge_dir(apr_pool_t *p, void *basev, void *addv);
void *mt_config_create_srv(apr_pool_t *p, server_rec *s);
void *mt_config_merge_srv(apr_pool_t *p, void *basev, void *addv);

#endif
