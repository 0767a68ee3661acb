/* mod_memtrack_status: the `SetHandler memtrack-status` handler. */
#ifndef MOD_MEMTRACK_STATUS_H
#define MOD_MEMTRACK_STATUS_H

#include "httpd.h"

/* MT_STATUS_HANDLER, the handler's name: mt_status.h (the heap diff's
 * glue answers the page's POST and reads it there, without this header). */

void mt_status_register_hooks(apr_pool_t *p);

#endif
