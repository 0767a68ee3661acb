/* mt_sample: reading the memory of one process from /proc.
 *
 * httpd-free core. The fast path is statm through a file descriptor that stays
 * open for the life of the child: one pread() of a few dozen bytes, well under
 * a microsecond. status (anonymous RSS, swap, peak) costs several
 * microseconds and is read once per request at most, on the "after" side.
 * smaps_rollup and mallinfo2() cost milliseconds and are never read here.
 */
#ifndef MT_SAMPLE_H
#define MT_SAMPLE_H

#include <apr_pools.h>
#include <apr_time.h>

/* Marks a number that was not measured; serialised as JSON null. */
#define MT_UNKNOWN ((apr_int64_t)-1)

/* One sample of one process. Every field is MT_UNKNOWN until read. */
typedef struct mt_sample_t {
    apr_int64_t rss_bytes;       /* resident set (statm field 2) */
    apr_int64_t vsize_bytes;     /* virtual size (statm field 1) */
    apr_int64_t shared_bytes;    /* resident file-backed and shmem (statm 3) */
    apr_int64_t rss_anon_bytes;  /* anonymous resident: statm rss - shared */
    apr_int64_t swap_bytes;      /* VmSwap from status */
    apr_int64_t peak_rss_bytes;  /* VmHWM from status */
} mt_sample_t;

/* A process whose /proc files are kept open for repeated sampling. */
typedef struct mt_proc_t mt_proc_t;

/* Open /proc/<pid>/statm and status for reading; pid 0 means this process.
 * The descriptors are closed by a cleanup on p. */
apr_status_t mt_proc_open(mt_proc_t **pproc, int pid, apr_pool_t *p);

/* The pid the handle reads (the real pid, also for pid 0). */
int mt_proc_pid(const mt_proc_t *proc);

/* When that process started (see mt_sample_started), 0 when unknown. */
apr_uint64_t mt_proc_started(const mt_proc_t *proc);

/* Reset every field to MT_UNKNOWN. */
void mt_sample_clear(mt_sample_t *s);

/* Fast path: fill rss, vsize, shared and rss_anon from statm. */
apr_status_t mt_sample_statm(mt_sample_t *s, mt_proc_t *proc);

/* Slower path: fill swap and peak (and the exact RssAnon) from status. */
apr_status_t mt_sample_status(mt_sample_t *s, mt_proc_t *proc);

/* Parse the text of a statm file; exposed for unit tests. APR_ENOENT for
 * the all-zero statm of a zombie. */
apr_status_t mt_sample_parse_statm(mt_sample_t *s, const char *text,
                                   apr_int64_t page_bytes);

/* The same, where MT_STATM_PAD bytes past any byte of buf up to its NUL
 * may be read (its counts of up to 7 digits then go the quick way). */
#define MT_STATM_PAD 8
apr_status_t mt_sample_parse_statm_padded(mt_sample_t *s, const char *buf,
                                          apr_int64_t page_bytes);

/* Parse the text of a status file; exposed for unit tests. */
apr_status_t mt_sample_parse_status(mt_sample_t *s, const char *text);

/* Open /proc/<pid>/statm for repeated reads: a descriptor, or -1 (errno). */
int mt_sample_open_statm(int pid);

/* One statm sample through a descriptor from mt_sample_open_statm. */
apr_status_t mt_sample_statm_fd(mt_sample_t *s, int fd);

/* The same for /proc/<pid>/status (swap, peak, exact anonymous RSS). */
int mt_sample_open_status(int pid);
apr_status_t mt_sample_status_fd(mt_sample_t *s, int fd);

/* When pid started (pid 0: this process), in clock ticks after boot
 * (/proc/<pid>/stat field 22). A pid and its start time name one process
 * for good: pids are reused, within minutes where pid_max is 32768. About
 * 3 us; read once per process, never per request. */
apr_status_t mt_sample_started(int pid, apr_uint64_t *start_ticks);

/* Parse the start time out of the text of a stat file; exposed for unit
 * tests. The process name (field 2) may hold spaces and parentheses. */
apr_status_t mt_sample_parse_started(const char *text, apr_uint64_t *start_ticks);

/* The parent pid of pid (/proc/<pid>/stat field 4, read as for the start
 * time); *ppid -1 on failure. */
apr_status_t mt_sample_parent(int pid, int *ppid);

/* Bytes this process's allocator holds in use (glibc mallinfo2: uordblks
 * plus hblkhd; under AddressSanitizer, its allocator's count). A few
 * microseconds: the arenas are walked. For the httpd child's own probes,
 * never on the plain request path. */
apr_status_t mt_sample_heap_in_use(apr_int64_t *bytes);

/* Number of open file descriptors of this process (reads /proc/self/fd). */
apr_status_t mt_sample_fd_count(int *nfds);

#endif
