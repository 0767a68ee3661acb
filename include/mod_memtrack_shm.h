/* mod_memtrack_shm: the shared state's memory, one segment of the httpd
 * parent kept across graceful restarts (see mod_memtrack_shm.c). */
#ifndef MOD_MEMTRACK_SHM_H
#define MOD_MEMTRACK_SHM_H

#include "httpd.h"
#include "mt_state.h"

/* The state shared by all children, or NULL when it could not be created
 * (the module then writes records without cross-child state). */
mt_state_t *mt_shm_state(void);

void mt_shm_register_hooks(apr_pool_t *p);

#endif
