/* mod_memtrack_request: the request hooks (the state they keep is
 * mt_req_t, in mod_memtrack_req.h). */
#ifndef MOD_MEMTRACK_REQUEST_H
#define MOD_MEMTRACK_REQUEST_H

#include "apr_pools.h"

void mt_request_register_hooks(apr_pool_t *p);

#endif
