/* mt_log: how httpd-free core code reports trouble. The glue passes a
 * callback that writes to httpd's error log; the tools pass one that writes
 * to stderr. Levels are syslog's (APLOG_* have the same values). */
#ifndef MT_LOG_H
#define MT_LOG_H

#include <apr_errno.h>

#define MT_LOG_ERR     3
#define MT_LOG_WARNING 4
#define MT_LOG_NOTICE  5
#define MT_LOG_INFO    6
#define MT_LOG_DEBUG   7

typedef void mt_log_fn(void *baton, int level, apr_status_t rv,
                       const char *msg);

#endif
