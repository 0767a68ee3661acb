/* mod_memtrack_status: the `SetHandler memtrack-status` handler. */
#ifndef MOD_MEMTRACK_STATUS_H
#define MOD_MEMTRACK_STATUS_H

#include "httpd.h"

#define MT_STATUS_HANDLER "memtrack-status"

void mt_status_register_hooks(apr_pool_t *p);

#endif
