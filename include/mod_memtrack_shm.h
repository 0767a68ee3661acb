/* mod_memtrack_shm: the shared per-process state, in httpd's slotmem. */
#ifndef MOD_MEMTRACK_SHM_H
#define MOD_MEMTRACK_SHM_H

#include "httpd.h"
#include "mt_state.h"

#define MT_SHM_PROC_SLOTS 512

/* The state shared by all children, or NULL when mod_slotmem_shm is not
 * loaded (the module then works without cross-child state). */
mt_state_t *mt_shm_state(void);

void mt_shm_register_hooks(apr_pool_t *p);

#endif
