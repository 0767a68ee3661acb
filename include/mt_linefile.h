/* mt_linefile: whole lines onto an append-only descriptor, never a part of
 * one left behind.
 *
 * httpd-free core. A JSON Lines file is only as good as its worst line: a
 * record cut short by a full disk, with the next record glued to it, makes
 * `jq` reject the whole file. On a file, a write() can be short: on a full
 * file system (or at RLIMIT_FSIZE) the kernel writes what fits, up to a
 * block or page boundary, and returns the count; the rest of that record
 * is never written. Many httpd children append to the same file, so the
 * partial line cannot be finished later: the next append, by any child,
 * would land after it.
 *
 * So after a short write the part of a line it left is taken off again at
 * once: the file's last bytes are read back (the descriptor must be open
 * for reading too), and when they are ours the file is truncated to the
 * last whole line. Every write to a regular file, and its repair, hold a
 * POSIX record lock on the file (which excludes the other children: such
 * locks belong to processes) and a mutex (which excludes this child's other
 * threads), so no other record can land between a short write and its
 * repair even when space comes back at that moment: without them, that
 * record would be glued to the partial line and lost uncounted. The lock
 * is held for one write() and, rarely, a read-back and a truncate. When
 * the repair is
 * impossible (a pipe, an append-only attribute, someone else's bytes at the
 * end), the descriptor is marked: the next write first ends the partial
 * line with a newline, and writes nothing else until that newline is in.
 * A broken line then stands alone, never glued to a good one.
 *
 * What was cut is dropped: the caller learns how many leading bytes of its
 * buffer stay in the file, always whole lines, and counts the rest. A
 * buffer may hold many lines (a batch of a writer thread): the whole lines
 * that fit are kept.
 *
 * Thread-safe: any number of threads may write through one mt_linefile_t.
 */
#ifndef MT_LINEFILE_H
#define MT_LINEFILE_H

#include <apr_pools.h>

typedef struct mt_linefile_t mt_linefile_t;

/* Write through fd (opened with O_APPEND, and for reading when it is a
 * file, so that a short write can be repaired). fd stays the caller's. */
apr_status_t mt_linefile_create(mt_linefile_t **lf, int fd, apr_pool_t *p);

/* Write buf, len bytes of one or more whole lines, with one write().
 * APR_SUCCESS when all of it is in. Otherwise an error (the OS error of a
 * failed write; APR_INCOMPLETE for a short one), and *kept (may be NULL)
 * is how many leading bytes of buf stay in the file: whole lines only. */
apr_status_t mt_linefile_write(mt_linefile_t *lf, const char *buf,
                               apr_size_t len, apr_size_t *kept);

/* 1 while a partial line could not be repaired and is not ended yet. */
int mt_linefile_dirty(mt_linefile_t *lf);

#endif
