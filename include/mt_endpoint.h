/* mt_endpoint: the name of a request's endpoint, the unit of every
 * statistic, label and verdict.
 *
 * httpd-free. In order of precedence (DESIGN.md, Endpoints):
 *   1. MemTrackEndpoint NAME of the request's <Location>, as configured;
 *   2. "Controller#action" when the app reported both
 *      (ItemsController#index);
 *   3. "METHOD /path": the query dropped, and every path segment that is an
 *      id replaced by ":id" (GET /users/:id/orders).
 *
 * A segment is an id when it is all digits (optionally followed by a file
 * extension: "123.json" -> ":id.json"), a UUID (8-4-4-4-12 hex digits),
 * a hex string of 16 or more digits, or a token of 16 or more characters of
 * [A-Za-z0-9_=-] with at least two digits and at least one letter (base64 or
 * base64url ids, session tokens); plain words ("administration_settings")
 * stay. Names are valid UTF-8 (invalid bytes become U+FFFD), hold no control
 * bytes (they become '?'), and are at most MT_ENDPOINT_MAX bytes, cut at a
 * character boundary with "..." at the end. A path of more than
 * MT_ENDPOINT_SEGMENTS segments keeps the first ones and ends in "/...".
 */
#ifndef MT_ENDPOINT_H
#define MT_ENDPOINT_H

#include <apr_pools.h>

#include "mt_limits.h"   /* MT_ENDPOINT_MAX: bytes of a name, without the NUL */

#define MT_ENDPOINT_SEGMENTS 12
#define MT_ENDPOINT_OTHER    "other"

/* Write the endpoint name into out (MT_ENDPOINT_MAX + 1 bytes). configured:
 * MemTrackEndpoint or NULL; controller, action: as the app reported them or
 * NULL; method and path: the request's (path may hold a query, which is
 * dropped). Returns out. */
const char *mt_endpoint_name(char *out, const char *configured,
                             const char *controller, const char *action,
                             const char *method, const char *path);

/* The "METHOD /path" form only (rule 3), for the probe decision before the
 * app has answered. */
const char *mt_endpoint_from_path(char *out, const char *method,
                                  const char *path);

/* The hash of a name the endpoint table and the route hints use (a word at
 * a time). Never written to a file or sent; the shared state holds it
 * across graceful restarts, so a change to it is a new MT_STATE_LAYOUT. */
unsigned int mt_endpoint_hash(const char *name);

/* Is segment [s, s+len) an id by the rules above? Exposed for the tests. */
int mt_endpoint_is_id(const char *s, size_t len);

#endif
