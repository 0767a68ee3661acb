/* mod_memtrack_config: directives, per-server and per-directory config. */
#ifndef MOD_MEMTRACK_CONFIG_H
#define MOD_MEMTRACK_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "mod_memtrack_sink.h"

extern module AP_MODULE_DECLARE_DATA memtrack_module;

#define MT_UNSET (-1)

typedef enum {
    MT_TARGET_UNSET = -1,
    MT_TARGET_IS_SELF = 0,   /* always the httpd child */
    MT_TARGET_IS_BACKEND,    /* the app process; no record when none answered */
    MT_TARGET_IS_AUTO        /* the app process when one answered, else self */
} mt_target_mode_e;

/* Per-directory (and server-default) settings; every field MT_UNSET until a
 * directive sets it, so that merging can tell "off" from "not said". */
typedef struct mt_dir_conf_t {
    int         enabled;          /* MemTrack On|Off */
    apr_int64_t threshold_bytes;  /* MemTrackThreshold; 0 = none */
    int         target;           /* mt_target_mode_e */
    int         sample_rate;      /* MemTrackSampleRate: 1 in N */
    const char *app_root;         /* MemTrackAppRoot, NULL: DocumentRoot/.. */
} mt_dir_conf_t;

struct mt_redis_conf_t;   /* owned by mod_memtrack_redis.c */

/* Per-server (vhost) settings. Sinks are opened per server in open_logs /
 * child_init; a vhost without its own sink uses the main server's. */
typedef struct mt_srv_conf_t {
    const char *log_spec;         /* MemTrackLog argument, NULL when unset */
    mt_sink_t  *log_sink;         /* opened in open_logs */
    struct mt_redis_conf_t *redis;/* MemTrackRedis*, NULL when unset */
    mt_sink_t  *redis_sink;       /* started in child_init */
    int         trust_request_id; /* MemTrackTrustRequestId On|Off */
    const char *request_id_header;/* header trusted when trust_request_id */
} mt_srv_conf_t;

mt_srv_conf_t *mt_config_srv(server_rec *s);
mt_dir_conf_t *mt_config_dir(request_rec *r);

/* Effective values, defaults applied. */
int         mt_config_enabled(const mt_dir_conf_t *d);
apr_int64_t mt_config_threshold(const mt_dir_conf_t *d);
int         mt_config_target(const mt_dir_conf_t *d);
int         mt_config_sample_rate(const mt_dir_conf_t *d);

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
