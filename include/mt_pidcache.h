/* mt_pidcache: remembers, per child, which pids recently passed
 * mt_procfind_check, so that a busy app process is checked once a second
 * rather than on every request (the check opens and reads /proc/<pid>/status
 * and cmdline: ~13 us against ~0.1 us for a hit).
 *
 * httpd-free core. Thread-safe (one mutex, held for a short scan of a small
 * array, never across /proc reads). A pid is only ever cached after it
 * passed the check, and forgotten after ttl: the window in which a pid that
 * died could be reused by a process the check would refuse is ttl long, and
 * the worst it allows is reading that process's statm, which /proc shows to
 * everyone anyway.
 */
#ifndef MT_PIDCACHE_H
#define MT_PIDCACHE_H

#include <apr_pools.h>
#include <apr_time.h>

#define MT_PIDCACHE_SLOTS 64

typedef struct mt_pidcache_t mt_pidcache_t;

apr_status_t mt_pidcache_create(mt_pidcache_t **pc, apr_interval_time_t ttl,
                                apr_pool_t *p);

/* True when pid passed the check less than ttl ago. */
int mt_pidcache_fresh(mt_pidcache_t *pc, int pid, apr_time_t now);

/* Note that pid just passed the check. */
void mt_pidcache_add(mt_pidcache_t *pc, int pid, apr_time_t now);

#endif
