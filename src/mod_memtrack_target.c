/* mod_memtrack_target: attributing a request to a process. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "mod_memtrack_target.h"
#include "mt_proto.h"

APLOG_USE_MODULE(memtrack);

void mt_target_strip_request(request_rec *r)
{
    apr_table_unset(r->headers_in, MT_PROTO_HEADER);
    apr_table_unset(r->headers_in, "X-MemTrack-Want");
}

static int sample_self(mt_record_t *rec, const mt_req_t *st, mt_proc_t *self,
                       apr_pool_t *p)
{
    rec->target = MT_TARGET_SELF;
    rec->pid = mt_proc_pid(self);
    rec->attribution = "self";
    rec->before = st->before;
    rec->before_source = st->before.rss_bytes != MT_UNKNOWN ? MT_BEFORE_MODULE
                                                            : MT_BEFORE_NONE;
    mt_sample_statm(&rec->after, self);
    /* status and the fd count cost ~7 us each, ten times statm: read them
     * only for requests that moved resident memory, the ones worth a look. */
    if (rec->after.rss_bytes != rec->before.rss_bytes) {
        mt_sample_status(&rec->after, self);
        if (mt_sample_fd_count(&rec->fds, p) != APR_SUCCESS) {
            rec->fds = -1;
        }
    }
    return 1;
}

int mt_target_sample(mt_record_t *rec, request_rec *r, const mt_req_t *st,
                     const mt_dir_conf_t *dc, mt_proc_t *self)
{
    if (mt_config_target(dc) == MT_TARGET_IS_BACKEND) {
        return 0;   /* no backend protocol yet: nothing to attribute to */
    }
    return sample_self(rec, st, self, r->pool);
}

void mt_target_register_hooks(apr_pool_t *p)
{
    (void)p;
}
