/* mod_memtrack_analysis: endpoints, probes and the shared state's updates
 * for each request (see src/mod_memtrack_analysis.c). */
#ifndef MOD_MEMTRACK_ANALYSIS_H
#define MOD_MEMTRACK_ANALYSIS_H

#include "httpd.h"
#include "mod_memtrack_config.h"
#include "mod_memtrack_req.h"
#include "mt_record.h"

/* At the start of a request (post_read_request): finish this child's own
 * probe of its previous request. */
void mt_analysis_request_start(mt_req_t *st);

/* At log_transaction, with rec's target and samples filled: name the
 * endpoint, fill the probe fields and count the request in the state. */
void mt_analysis_record(request_rec *r, mt_req_t *st, mt_record_t *rec,
                        const mt_dir_conf_t *dc);

/* This child serves one request at a time (prefork). */
int mt_analysis_exclusive_child(void);

void mt_analysis_register_hooks(apr_pool_t *p);

#endif
