/* mod_memtrack_pipe: reliable piped loggers that outlive a configuration.
 *
 * "|program" in MemTrackLog runs the program with a pipe to its stdin, and
 * starts it again when it dies, like CustomLog "|...": the program is run
 * directly, "|$command" through /bin/sh, in ServerRoot. Unlike
 * ap_open_piped_log(), whose pipe and logger belong to the configuration's
 * pool, so that every graceful restart SIGTERMs the logger while the old
 * generation's children are still writing (their records then fail with
 * EPIPE) and throws away what it had not read yet, the pipe and its logger
 * here belong to the httpd parent for its whole life: while the spec stays
 * the same, the old generation's children and the new one write into the
 * same pipe and the same logger reads it, across any number of restarts.
 * See the file for the details of what httpd allows and why this shape.
 */
#ifndef MOD_MEMTRACK_PIPE_H
#define MOD_MEMTRACK_PIPE_H

#include "httpd.h"

/* In the parent's open_logs: the write end (non-blocking, 1 MiB deep) of
 * the pipe of spec ("|program args" or "|$command"), kept from the last
 * generation or started now; pconf is the new configuration's pool. */
apr_status_t mt_pipe_open(int *fd, const char *spec, server_rec *s,
                          apr_pool_t *pconf);

/* At the end of open_logs: pipes whose spec is no longer configured are
 * let go (their logger reads what the old children still write, and exits
 * at end of file). */
void mt_pipe_retire_unused(server_rec *s);

/* child_init closes the children's copies of the read ends. */
void mt_pipe_register_hooks(apr_pool_t *p);

#endif
