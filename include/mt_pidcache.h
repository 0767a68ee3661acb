/* mt_pidcache: the app processes this child recently verified, with their
 * statm kept open.
 *
 * httpd-free core. Checking that a reported pid may be attributed to
 * (mt_procfind_check) costs ~13 us and opening its statm another ~3 us; a
 * busy app process is checked once per ttl instead, and its statm is read
 * through a descriptor that stays open: one pread(), about a microsecond.
 *
 * A descriptor of /proc/<pid>/statm is bound to the process it was opened
 * for: once that process exits, reading it fails, even if the pid is reused.
 * The glue opens the descriptor *before* checking the pid, so a cached
 * descriptor always reads the process that passed the check, never a
 * later process with the same number.
 *
 * A pid passes or fails the check under a rule: a www-data process without
 * the Passenger title may be attributed to for a plain backend but not for
 * a Passenger request. So an entry carries the rules its check proved (a
 * bit set the caller defines: mt_procfind_rules), and a lookup names the
 * rules its request needs: an entry serves only a lookup whose rules it
 * has every one of. Putting a pid again replaces its entry (a fresh
 * descriptor, the rules of the fresh check).
 *
 * Thread-safe: one mutex guards the table, never held across a read; an
 * entry in use is not closed until its last reader is done.
 */
#ifndef MT_PIDCACHE_H
#define MT_PIDCACHE_H

#include <apr_pools.h>
#include <apr_time.h>
#include "mt_limits.h"   /* MT_PIDCACHE_SLOTS */
#include "mt_sample.h"

typedef struct mt_pidcache_t mt_pidcache_t;

/* A cache whose entries need a new check after ttl; descriptors are closed
 * by a cleanup on p. */
apr_status_t mt_pidcache_create(mt_pidcache_t **pc, apr_interval_time_t ttl,
                                apr_pool_t *p);

/* Sample pid through its cached descriptor when it was verified less than
 * ttl ago under every rule in rules: APR_SUCCESS, and *start_ticks as given
 * to mt_pidcache_put; APR_NOTFOUND when not cached, cached for less than
 * rules, or due for a new check; another error when the process is gone
 * (the entry is dropped). */
apr_status_t mt_pidcache_sample(mt_pidcache_t *pc, int pid, unsigned rules,
                                apr_time_t now, mt_sample_t *s,
                                apr_uint64_t *start_ticks);

/* pid (which started at start_ticks, 0 unknown) just passed the check,
 * which proved rules; statm_fd and status_fd (opened before the check;
 * status_fd may be -1) now belong to the cache, which closes them when the
 * entry goes. */
/* The same question as mt_pidcache_sample without the read, for a caller
 * that has just read the process through another descriptor bound to it:
 * APR_SUCCESS and *start_ticks when pid is verified under rules and not
 * due for a new check; APR_NOTFOUND otherwise. */
apr_status_t mt_pidcache_known(mt_pidcache_t *pc, int pid, unsigned rules,
                               apr_time_t now, apr_uint64_t *start_ticks);

void mt_pidcache_put(mt_pidcache_t *pc, int pid, unsigned rules,
                     apr_uint64_t start_ticks, int statm_fd, int status_fd,
                     apr_time_t now);

/* Read status (swap, peak) of a pid cached under every rule in rules,
 * through its kept descriptor, whatever the entry's age: the descriptor
 * can only read the process that passed the check. APR_NOTFOUND when pid is
 * not cached so, or has no status descriptor. */
apr_status_t mt_pidcache_status(mt_pidcache_t *pc, int pid, unsigned rules,
                                mt_sample_t *s);

#endif
