/* mt_appcheck: can what an app says of its own memory be true?
 *
 * httpd-free core. The app reports its resident size at the start and the
 * end of the request (X-MemTrack rss_before, rss_after), and the module
 * uses the first as the request's "before". mt_proto only bounds them to
 * [0, 2^50]; an app that says rss_before=0 makes every request look like it
 * grew by the whole process (a threshold warning each), and 2^50 makes
 * growths near -1.1e15 bytes that poison any sum. So they are checked
 * against what the module itself reads of that process, after the request:
 *
 *   - resident memory is never 0 for a live process;
 *   - no value can be above the process's peak resident size (VmHWM), the
 *     most it was ever resident since it started, read through the status
 *     descriptor kept with its verified pid (mt_pidcache). A value at or
 *     below the module's own current reading is below the peak for sure, so
 *     the peak (status, ~7 us) is read only for a value above that reading.
 *
 * These are limits of what can be true, not a plausibility guess: an app
 * that lies within them (rss_before=4096 of a 70 MB process) still moves
 * its growth, but never beyond the process's peak either way, so a record's
 * growth is bounded by what the process really had resident. When a value
 * cannot be true, the module's own last sample of that process (the same
 * pid and start time, from shared state) is the before instead, and the
 * record's before_source says so.
 */
#ifndef MT_APPCHECK_H
#define MT_APPCHECK_H

#include "mt_proto.h"

/* Does checking rep against a process read as rss_now resident bytes need
 * its peak? 1 when rss_before or rss_after is above rss_now. */
int mt_appcheck_needs_peak(const mt_app_report_t *rep, apr_int64_t rss_now);

/* NULL when the app's rss_before and rss_after (each when reported) can be
 * true of a process the module reads as rss_now resident bytes, whose peak
 * is peak_rss (MT_UNKNOWN: not read); else a short static reason. A value
 * above rss_now with the peak unknown cannot be checked and is refused. */
const char *mt_appcheck_rss(const mt_app_report_t *rep, apr_int64_t rss_now,
                            apr_int64_t peak_rss);

#endif
