/* mod_memtrack_log: the JSON Lines sink, a reliable piped logger or a file. */
#ifndef MOD_MEMTRACK_LOG_H
#define MOD_MEMTRACK_LOG_H

#include "httpd.h"

/* open_logs opens one sink per distinct MemTrackLog, in the parent. */
void mt_log_register_hooks(apr_pool_t *p);

#endif
