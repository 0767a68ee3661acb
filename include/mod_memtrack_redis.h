/* mod_memtrack_redis: the Redis sink's glue (child start). Its directives
 * are in mod_memtrack_redis_conf.h. */
#ifndef MOD_MEMTRACK_REDIS_H
#define MOD_MEMTRACK_REDIS_H

#include "apr_pools.h"

/* Register the Redis hooks (child_init starts the writer per server). */
void mt_redis_register_hooks(apr_pool_t *p);

#endif
