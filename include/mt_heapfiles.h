/* mt_heapfiles: the heap diff's files on disk, besides the snapshots
 * (their names: mt_heapctl_path; the companion removes its own).
 *
 *  - The result documents, DIR/memtrack-heapdiff-<token>.json, written by
 *    the httpd child that ran the diff: only the newest
 *    MT_HEAPCTL_RESULT_FILES are kept, the writer removes the older ones
 *    after each write (it may: it could create a file in DIR).
 *  - Where DIR may be: never at or under a directory httpd serves (a
 *    DocumentRoot), since a snapshot holds every string of the app; the
 *    glue checks each server's at configuration time.
 *
 * httpd-free (POSIX directory calls and APR pools only).
 */
#ifndef MT_HEAPFILES_H
#define MT_HEAPFILES_H

#include <apr_pools.h>

#include "mt_limits.h"

/* DIR/memtrack-heapdiff-TOKEN.json into buf (len bytes): numbers of ours
 * only. */
const char *mt_heapfiles_result_path(char *buf, apr_size_t len,
                                     const char *dir, apr_uint64_t token);

/* Whether name is a result file's name (memtrack-heapdiff-<digits>.json). */
int mt_heapfiles_is_result(const char *name);

/* What a prune did. */
typedef struct mt_heapfiles_prune_t {
    int found;           /* result files seen (regular files), except aside */
    int removed;         /* of them, removed */
    int failed;          /* could not be removed */
    int err;             /* errno of the last failure, 0 none */
} mt_heapfiles_prune_t;

/* Keep the newest keep (>= 1) result files of dir, by modification time
 * (then name), and remove the others. except (a name in dir, NULL none),
 * the file just written, is always kept and counts as one of keep.
 * Only regular files are counted or removed (lstat: a symbolic link of
 * that name is left alone), nothing else in dir is touched. Memory: keep
 * names, whatever dir holds. APR_SUCCESS, or the error of opening dir
 * (out says what was done either way). */
apr_status_t mt_heapfiles_prune_results(const char *dir, unsigned int keep,
                                        const char *except,
                                        mt_heapfiles_prune_t *out);

/* Whether path is root or lies under it (whole components), compared both
 * as written (duplicate and trailing slashes, "." aside) and as resolved
 * (each resolved as far as it exists: realpath of its longest existing
 * ancestor, the rest appended), so that neither a symbolic link nor a
 * spelling hides one inside the other. Both absolute; 0 otherwise. */
int mt_heapfiles_inside(const char *path, const char *root, apr_pool_t *p);

#endif
