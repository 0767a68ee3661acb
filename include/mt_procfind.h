/* mt_procfind: which process may a request be attributed to.
 *
 * httpd-free core, reads /proc only. Two questions:
 *
 * 1. mt_procfind_check: the app said "pid=N served this request" (X-MemTrack)
 *    or the discovery below found N. May the module read and report N?
 *    Only a live process that is not root's, not init, not the httpd parent
 *    nor another of its children, not the caller itself (unless allowed),
 *    and, under Passenger, whose process title says it is an app process
 *    and which descends from this server's httpd parent.
 *
 * 2. mt_procfind_single: no app answered, but DESIGN.md asks to attribute to
 *    the app process when its Passenger group has exactly one. Find the
 *    processes titled "Passenger RubyApp: <app root>" and answer only when
 *    there is exactly one; several is "ambiguous", never a guess.
 *
 * Process titles, as Passenger 6.0.17 sets them (loader_shared_helpers.rb,
 * before_handling_requests): $0 = "<process_title>: <app_group_name>", where
 * process_title is "Passenger RubyApp" for Ruby and app_group_name defaults
 * to "<app root> (<environment>)". Ruby rewrites the argv area, so
 * /proc/<pid>/cmdline reads "Passenger RubyApp: /srv/app (production)" then
 * NULs; /proc/<pid>/comm stays "ruby". The preloader is titled
 * "Passenger AppPreloader: <app root>" and serves no requests, so it never
 * matches. With PassengerAppGroupName set, the title carries that name
 * instead of the app root: pass that name as app_root then.
 *
 * Why /proc and not Passenger's instance registry. The registry
 * (PassengerInstanceRegistryDir, default /tmp/passenger.*) holds
 * properties.json and the core's API socket (agents.s/core_api), which
 * `passenger-status` queries over HTTP. It would know exact group
 * membership, but: the API wants a password whose files are mode 0600 root
 * (checked on 6.0.17), so an httpd child running as www-data could query it
 * only with a secret the parent read before forking and kept in memory;
 * every lookup is an HTTP round trip to the Passenger core
 * plus a JSON/XML parse (hundreds of microseconds against tens for a /proc
 * scan of a few hundred processes), the core can be busy or restarting, and
 * the API is Passenger-internal and changes between versions. The process
 * title is stable since Passenger 4, readable by any user, and needs nothing
 * but /proc. Which Passenger instance a process belongs to, /proc tells
 * through the parent pids: mod_passenger starts its watchdog from the httpd
 * parent, the watchdog the core, and the core (or its preloader) the apps,
 * so with policy.ancestor_pid set to the httpd parent, an app of another
 * server on the host (another Apache, Passenger Standalone) is never
 * counted. Without it, two instances with the same app root count as
 * ambiguous (several matches), which is the safe outcome.
 *
 * Cost (measured on the 2-core test VM): mt_procfind_check is one open of
 * /proc/<pid> plus a status and a cmdline read, 12-17 us (generating status
 * is most of it). mt_procfind_single scans /proc: one fstatat per process
 * (root-owned ones stop there; /proc/<pid> belongs to the effective uid)
 * and one cmdline read per other process, about 2.5 us per process, 0.2 ms
 * for 90 processes. Use the cache below so the scan runs at most once per
 * TTL per app root instead of on every request.
 *
 * Races: a pid can exit and be reused between a check and the sampling.
 * The race-free order is: open the sampling handle first (mt_proc_open keeps
 * /proc/<pid>/statm and status open), then mt_procfind_check the pid, then
 * keep sampling through that handle. A descriptor under /proc/<pid> stays
 * bound to the process it was opened for: once that process is gone, reads
 * fail with ESRCH even if the pid is reused (tested on this kernel), so a
 * handle that passed the check can never read another process. Keeping the
 * handle per pid also means the check (status + cmdline, ~15 us here) runs
 * once per app process rather than once per request. Both reads inside
 * mt_procfind_check go through one descriptor of /proc/<pid> for the same
 * reason.
 */
#ifndef MT_PROCFIND_H
#define MT_PROCFIND_H

#include <apr_pools.h>
#include <apr_time.h>

#include "mt_sample.h"

/* Title prefix of a Passenger Ruby app process (note the trailing space). */
#define MT_PROCFIND_TITLE_RUBY "Passenger RubyApp: "

/* Who may be attributed. Zeroed means: no httpd parent known, never this
 * process, any title, anywhere in the process tree. */
typedef struct mt_procfind_policy_t {
    int         httpd_parent_pid;  /* refused, and so is every direct child
                                    * of it (the other httpd children, the
                                    * piped loggers it started); in an httpd
                                    * child getppid(), 0 when unknown */
    int         allow_self;        /* non-zero: this process may be named */
    const char *require_title;     /* cmdline must begin with this (e.g.
                                    * MT_PROCFIND_TITLE_RUBY); NULL or "":
                                    * no title needed */
    int         ancestor_pid;      /* non-zero: only descendants of this pid
                                    * (the httpd parent: Passenger's agents
                                    * and apps are its descendants, another
                                    * server's apps are not), for a pid the
                                    * app named as for one discovered */
} mt_procfind_policy_t;

/* What a pass of mt_procfind_check under a policy proves, as bits: a pid
 * that passed under rules R may be taken without a new check for a request
 * whose policy needs rules N when (R & N) == N. A program uses one title
 * (MT_PROCFIND_TITLE_RUBY) and one httpd parent, so the bits need not name
 * them. */
#define MT_PROCFIND_RULE_ALIVE     0x01u  /* a live process, not init, not
                                           * root's, not the httpd parent */
#define MT_PROCFIND_RULE_NOT_SELF  0x02u  /* not the caller */
#define MT_PROCFIND_RULE_NOT_HTTPD 0x04u  /* not a child of the httpd parent */
#define MT_PROCFIND_RULE_TITLE     0x08u  /* titled require_title */
#define MT_PROCFIND_RULE_ANCESTRY  0x10u  /* a descendant of ancestor_pid */

/* The rules a pass under pol proves (pol NULL: the zeroed policy). */
unsigned mt_procfind_rules(const mt_procfind_policy_t *pol);

/* May pid be attributed under pol? APR_SUCCESS when yes. Otherwise *why
 * (may be NULL) gets a short static reason and the status says which kind:
 *   APR_EINVAL  "invalid pid"                      pid < 1 or absurd
 *   APR_ENOENT  "no such process"                  gone, or a zombie
 *   APR_EACCES  "init process", "own process", "httpd parent",
 *               "root process" (real, effective, saved or filesystem uid 0),
 *               "not a Passenger app process"      title does not match,
 *               "httpd child"                      a child of the httpd parent,
 *               "not a process of this server"     not below ancestor_pid
 *   other       "cannot read /proc"                with the OS error
 * The tree rules cost one /proc/<pid>/stat read per level above the
 * process's parent (three for a Passenger app). p is unused today (nothing
 * is allocated); it is there for the future. */
apr_status_t mt_procfind_check(int pid, const mt_procfind_policy_t *pol,
                               const char **why, apr_pool_t *p);

/* The one process titled MT_PROCFIND_TITLE_RUBY "<app_root>" (followed by the
 * end of the title or by a space and any suffix, like " (production)") that
 * descends from pol->ancestor_pid (when set) and passes mt_procfind_check
 * under pol. app_root NULL matches any app.
 *   APR_SUCCESS   exactly one: *pid is set
 *   APR_NOTFOUND  none
 *   APR_EEXIST    several: ambiguous, record "not attributed"
 *   other         /proc could not be read
 * *pid is 0 unless APR_SUCCESS. */
apr_status_t mt_procfind_single(int *pid, const char *app_root,
                                const mt_procfind_policy_t *pol,
                                apr_pool_t *p);

/* A per-child cache of mt_procfind_single answers, keyed by app root and
 * kept for ttl (1 s is a good value: Passenger spawns and shuts down
 * processes on a scale of seconds). Thread-safe: a mutex guards the slots,
 * never a /proc scan, so two threads may scan at once on a miss rather than
 * one waiting for the other. A cached single pid comes with a descriptor
 * of its statm, opened before the pid was checked and so bound to that
 * process: a hit reads it (about a microsecond, against 15 for
 * mt_procfind_check), and a process that died is never reported but looked
 * for again at once. Holds a fixed number of app roots (16, each up to
 * 511 bytes; longer roots are never cached); more roots evict the oldest.
 * Use one cache per policy: the policy is not part of the key. */
typedef struct mt_procfind_cache_t mt_procfind_cache_t;

/* Create a cache in p (the child pool); its mutex goes with p. */
apr_status_t mt_procfind_cache_create(mt_procfind_cache_t **pcache,
                                      apr_interval_time_t ttl, apr_pool_t *p);

/* mt_procfind_single through the cache; same results. */
apr_status_t mt_procfind_single_cached(int *pid, mt_procfind_cache_t *cache,
                                       const char *app_root,
                                       const mt_procfind_policy_t *pol,
                                       apr_pool_t *p);

/* The same, and on a hit *seen gets the statm read that showed the cached
 * process alive (a sample of the process named, taken now: the caller need
 * not read it again); when the answer came from a scan, or is not a pid,
 * *seen is cleared (rss_bytes MT_UNKNOWN). seen may be NULL. */
apr_status_t mt_procfind_single_seen(int *pid, mt_sample_t *seen,
                                     mt_procfind_cache_t *cache,
                                     const char *app_root,
                                     const mt_procfind_policy_t *pol,
                                     apr_pool_t *p);

#endif
