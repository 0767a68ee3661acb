/* mt_limits: every directive's default and range, the module's and the
 * core's hard limits, the analysis's thresholds and memtrack-report's
 * limits, in one place (as mod_h2's commented defconf).
 *
 * Each constant says its unit first in its comment (bytes, ms, seconds,
 * µs: an apr time, records, requests, count, characters, flag, ratio: a
 * fraction or a factor), then why the value.
 * httpd-free: the core includes it (it is compiled without httpd's include
 * path), the config layer and the glue use it instead of literals.
 *
 * README's directive table is held to the defaults here by t/05-tables.t
 * (its %DEFAULTS table maps each directive to its constant): change a
 * default here and README's Default column, or the test fails.
 *
 * Names: MT_DEFAULT_* / MT_MAX_* / MT_MIN_* for what was new here; names
 * other files and tests used before (MT_REDIS_DEFAULT_*, MT_URL_MAX, ...)
 * are kept as they were, only defined here.
 *
 * Not here, each where it is used:
 *  - not moved yet: the heap diff result's sizes and the diff's defaults
 *    (MT_HEAPDIFF_* in mt_heapdiff.h), MT_ENDPOINT_SEGMENTS (mt_endpoint.h);
 *  - limits private to one file under a name with no area prefix, or a
 *    bare number, which would need a name of their own here: RAW_BYTES
 *    (mt_report_input.c), HD_DEPTH (mt_report_hdparse.c), HD_KEY_MAX
 *    (mt_report_hdredis.c), RESP_OVERHEAD (mt_redis.c), MT_CHUNK
 *    (mt_state.c: the analysis's chunks of three probes), HEAP_PATHS_MAX
 *    and --servers' 255 (tools/memtrack-report.c), and in mt_analysis.c a
 *    confidence's 16 probes and half-widths (25%, 50%), drift's 10 gaps;
 *  - what a page shows, not a limit: the outputs' row counts (TX_*, RH_*,
 *    HD_TEXT_ROWS, MT_HTML_*);
 *  - what is no limit: layout magics and versions (MT_STATE_MAGIC_BASE,
 *    MT_STATE_LAYOUT, MT_HC_MAGIC, MT_PROTO_VERSION, the *_SCHEMA),
 *    sentinels (MT_REPORT_FLEET_ONLY, MT_UNKNOWN), the request id's format
 *    (MT_REQID_*).
 */
#ifndef MT_LIMITS_H
#define MT_LIMITS_H

#include <apr_time.h>   /* apr_time_from_sec: the µs constants */

/* ---- Directives: defaults and ranges ---- */

/* MemTrack On|Off */
#define MT_DEFAULT_ENABLED          0        /* flag: a server tracks nothing
                                              * until it says so */
/* MemTrackThreshold SIZE */
#define MT_DEFAULT_THRESHOLD_BYTES  0        /* bytes: 0 = no threshold;
                                              * what is "too much" is the
                                              * app's to say */
/* MemTrackDropReportInterval SECONDS */
#define MT_DEFAULT_DROP_REPORT_SECS 60       /* seconds: a line a minute per
                                              * sink and child at most */
#define MT_MIN_DROP_REPORT_SECS     1        /* seconds */
#define MT_MAX_DROP_REPORT_SECS     3600     /* seconds: an hour; longer
                                              * hides an outage */
/* MemTrackSampleRate N */
#define MT_DEFAULT_SAMPLE_RATE      1        /* count: every request */
#define MT_MIN_SAMPLE_RATE          1        /* count */
#define MT_MAX_SAMPLE_RATE          1000000  /* count: 1 in a million is as
                                              * good as off */
/* MemTrackTrustRequestId On|Off, MemTrackRequestIdHeader NAME */
#define MT_DEFAULT_TRUST_REQUEST_ID 0        /* flag: a client's id is
                                              * replaced unless said */
#define MT_DEFAULT_REQUEST_ID_HEADER "X-Request-Id" /* header name: what
                                              * Rails and most balancers use */
#define MT_MAX_REQUEST_ID_HEADER    64       /* characters of a header name */
#define MT_MAX_TRUSTED_ID           128      /* characters of a trusted id
                                              * (= MT_ID_MAX, the record's
                                              * cap) */
/* MemTrackAppRoot PATH */
#define MT_MAX_APP_ROOT             500      /* bytes of the path: a root the
                                              * process finder compares */
/* MemTrackEndpoint NAME */
#define MT_ENDPOINT_MAX             160      /* bytes of a name, without the
                                              * NUL: a label, a key, a line of
                                              * the status page */
/* MemTrackEndpoints N */
#define MT_DEFAULT_ENDPOINTS        256      /* count: distinct endpoints of
                                              * a large Rails app, in ~2 MB */
#define MT_MIN_ENDPOINTS            1        /* count */
#define MT_EP_LIMIT                 1024     /* count: the most
                                              * MemTrackEndpoints allows (the
                                              * state's bitmaps) */
/* MemTrackProbeRate N|Off */
#define MT_DEFAULT_PROBE_RATE       100      /* count: 1 request in 100 at
                                              * most; a probe costs two full
                                              * GCs */
#define MT_MIN_PROBE_RATE           0        /* count: 0 = never */
#define MT_MAX_PROBE_RATE           1000000  /* count */
/* MemTrackProbeMax N */
#define MT_DEFAULT_PROBE_MAX        2        /* count: probes per app process
                                              * and second */
#define MT_MIN_PROBE_MAX            1        /* count */
#define MT_MAX_PROBE_MAX            1000     /* count */
/* MemTrackLeakMin SIZE */
#define MT_DEFAULT_LEAK_MIN_BYTES   (4 * 1024) /* bytes: below a page per
                                              * request is noise */
#define MT_MIN_LEAK_MIN_BYTES       1        /* bytes */
#define MT_MAX_LEAK_MIN_BYTES       (1024LL * 1024 * 1024) /* bytes: 1G */
/* MemTrackServerName NAME */
#define MT_MAX_SERVER_NAME          64       /* characters, like a host
                                              * label; shown and a key */
/* MemTrackAnalysis On|Off */
#define MT_DEFAULT_ANALYSIS         1        /* flag: the verdicts are the
                                              * point */

/* MemTrackRedis*: the writer's defaults (mt_redis_opts_default) */
#define MT_REDIS_DEFAULT_TTL_SEC        86400  /* seconds: a day to look a
                                                * request up */
#define MT_MIN_REDIS_TTL_SEC            1      /* seconds */
#define MT_MAX_REDIS_TTL_SEC            (10 * 365 * 86400) /* seconds: ten
                                                * years */
#define MT_REDIS_DEFAULT_STREAM_MAXLEN  100000 /* records: about a day of a
                                                * busy server, ~50 MB */
#define MT_MIN_REDIS_STREAM_MAXLEN      0      /* records: 0 = no stream */
#define MT_MAX_REDIS_STREAM_MAXLEN      1000000000 /* records */
#define MT_REDIS_DEFAULT_QUEUE_MAX      10000  /* records per child: ~10 s of
                                                * load while Redis is away */
#define MT_MIN_REDIS_QUEUE              1      /* records */
#define MT_MAX_REDIS_QUEUE              1000000 /* records */
#define MT_REDIS_DEFAULT_CONNECT_MS     500    /* ms: loopback or LAN */
#define MT_REDIS_DEFAULT_COMMAND_MS     1000   /* ms: one batch */
#define MT_MIN_REDIS_TIMEOUT_MS         1      /* ms */
#define MT_MAX_REDIS_TIMEOUT_MS         60000  /* ms: a minute */
#define MT_REDIS_DEFAULT_BATCH_MAX      256    /* records per pipelined
                                                * batch */
#define MT_REDIS_DEFAULT_BATCH_BYTES    (64 * 1024) /* bytes of keys and
                                 * records per batch, at most: hiredis
                                 * formats a whole pipeline in one buffer,
                                 * this bounds what a busy child's writer
                                 * holds */
#define MT_REDIS_DEFAULT_LINGER_MS      10     /* ms: how long the writer,
                                 * woken by a first record, waits for more
                                 * before it sends (at once when BATCH_MAX
                                 * are there); without it a child serving
                                 * one request after another sent a round
                                 * trip per record, some 60 us of CPU per
                                 * request in the writer and redis-server */
#define MT_REDIS_DEFAULT_BACKOFF_MIN_MS 50     /* ms: first reconnect delay */
#define MT_REDIS_DEFAULT_BACKOFF_MAX_MS 2000   /* ms: longest reconnect
                                                * delay */

/* MemTrackHeapDiff* (mt_heapctl_params_default) */
#define MT_DEFAULT_HEAPDIFF             0      /* flag: snapshots pause the
                                                * app: only when asked */
#define MT_HEAPCTL_DIR_MAX              200    /* bytes of
                                                * MemTrackHeapDiffDir: it goes
                                                * into a request header */
#define MT_HEAPCTL_DEFAULT_REQUESTS     200    /* requests between two
                                                * snapshots */
#define MT_MIN_HEAPDIFF_REQUESTS        1      /* requests */
#define MT_MAX_HEAPDIFF_REQUESTS        1000000 /* requests */
#define MT_HEAPCTL_DEFAULT_INTERVAL     3600   /* seconds between two diffs
                                                * of one app (automatic or on
                                                * demand, unless forced): an
                                                * hour */
#define MT_HEAPCTL_DEFAULT_TIMEOUT      900    /* seconds a step may take */
#define MT_DEFAULT_HEAPDIFF_REDIS_TTL_SEC 0    /* seconds: 0 = not kept */
#define MT_MIN_HEAPDIFF_SECS            0      /* seconds (interval, timeout,
                                                * Redis TTL) */
#define MT_MAX_HEAPDIFF_SECS            (30LL * 86400) /* seconds: 30 days */
#define MT_HEAPCTL_DEFAULT_MAX_BYTES    (1024LL * 1024 * 1024) /* bytes: 1G,
                                                * a large Rails heap */
#define MT_MIN_HEAPDIFF_MAX_BYTES       (1024LL * 1024) /* bytes: 1M, less
                                                * holds no Rails heap */

/* ---- The record (mt_record.c) ---- */

/* Caps on strings (bytes of cleaned UTF-8, marker included), before any
 * cutting to fit the line. */
#define MT_URL_MAX        2048   /* bytes: what browsers and proxies send */
#define MT_NAME_MAX       255    /* bytes: controller, action, host, ... */
#define MT_ID_MAX         128    /* bytes: request_id */
#define MT_WORD_MAX       32     /* bytes: method, target, before_source */
#define MT_CUT_MIN        32     /* bytes: a string cut to fit the line keeps
                                  * at least this many (escaped, marker
                                  * included) before the next one is cut */

/* ---- The app's X-MemTrack header (mt_proto.c) ---- */

#define MT_PROTO_MAX_LEN  2048      /* bytes of the header: a few dozen keys */
#define MT_PROTO_MAX_NAME 128       /* bytes of controller and action */
#define MT_PROTO_MAX_NUM  ((apr_int64_t)1 << 50) /* bytes or count: 1 PiB or
                                                  * 10^15 objects */
#define MT_PROTO_PID_MIN  2         /* pid: never init */
#define MT_PROTO_PID_MAX  4194304   /* pid: PID_MAX_LIMIT on 64-bit Linux */

/* ---- Sinks ---- */

#define MT_PIPE_MAX        16       /* count: piped loggers kept by the
                                     * parent across restarts */
#define MT_PIPE_BYTES      (1024 * 1024) /* bytes: the log pipe's depth,
                                     * about 800 records */
#define MT_PIPE_DRAIN      apr_time_from_sec(3) /* µs: at exit, how long a
                                     * logger may take to read its pipe */
#define MT_RECOVER_QUIET_SECS 2     /* seconds: a sink writes again when it
                                     * has written since its last drop and
                                     * dropped nothing for this long, so a
                                     * sink on the edge cannot make a line
                                     * per record */
#define MT_TICK            apr_time_from_sec(1) /* µs: how often the timer
                                     * looks for drops not told yet */

/* The log sink's writer thread (mt_linewriter.c, mt_spool.c) */
#define MT_LINEWRITER_DELAY       apr_time_from_msec(50) /* µs: a record
                                     * waits at most this long to be written */
#define MT_LINEWRITER_WAKE_BYTES  (32 * 1024) /* bytes: waiting records that
                                     * wake the writer before the delay */
#define MT_LINEWRITER_MAX_BYTES   (256 * 1024) /* bytes waiting at most per
                                     * child; beyond, the request thread
                                     * writes its record itself (with 1 MiB
                                     * a busy child of t/28 grew 1.4 MiB) */
#define MT_LINEWRITER_FILE_BATCH  (64 * 1024) /* bytes: one write() to a file
                                     * (a pipe's is PIPE_BUF, atomic) */
#define MT_LINEWRITER_IDLE_WAIT   apr_time_from_sec(1) /* µs: an idle writer
                                     * looks whether it is told to stop */
#define MT_SPOOL_CHUNK            (64 * 1024) /* bytes of records per chunk */
#define MT_SPOOL_KEEP             2 /* count: chunks a half keeps for reuse; more
                                     * are given back after a burst */

/* Redis (mt_redis.c, mt_redis_addr.c, mt_redis_blob.c, mt_redis_reply.c) */
#define MT_REDIS_QUICK_STR    64     /* bytes: a reply string shorter than
                                      * this (a status, a stream id) is read
                                      * without an allocation */
#define MT_REDIS_LINE_MAX     65536  /* bytes: longest record accepted */
#define MT_REDIS_LOG_EVERY    apr_time_from_sec(60) /* µs: a writer's
                                      * trouble is logged once a minute */
#define MT_REDIS_IDLE_WAIT    apr_time_from_sec(1)  /* µs: the writer's sleep
                                      * with nothing queued */
/* The writers (mt_redis.c, mt_redis_blob.c) need status replies only (+OK,
 * nil, an integer, an error, a stream id): a reply longer than this, or an
 * array of more elements, is no answer to what they sent, and the
 * connection goes. hiredis alone would buffer any
 * reply whole (a 1 GiB one made a child grow to 425 MB) and allocate an
 * array of any announced size. */
#define MT_REDIS_REPLY_MAX    (64 * 1024) /* bytes */
#define MT_REDIS_REPLY_ITEMS  16     /* count: elements of a reply array */
/* ... and one reply in all (mt_redis_reply.c): nested arrays (hiredis
 * allows 7 deep) would be millions of objects under the caps above. */
#define MT_REDIS_REPLY_OBJECTS 64    /* count: objects of one reply */
#define MT_REDIS_REPLY_BYTES  (128 * 1024) /* bytes: of one reply's objects
                                      * (strings, element arrays, the
                                      * objects themselves) */
#define MT_REDIS_ID_MAX       128    /* characters: longest request id used
                                      * in a key (and ACL user name) */
#define MT_REDIS_DEFAULT_PORT 6379   /* port: Redis's own */
#define MT_REDIS_DB_MAX       1000000 /* count: highest SELECT db accepted */
#define MT_REDIS_BLOB_CHUNK   (1024 * 1024) /* bytes: a heap snapshot goes
                                      * to Redis in pieces of this size */

/* ---- Requests (glue) ---- */

#define MT_MAX_WARN_URL       256    /* bytes of the url in a threshold
                                      * warning: the record has it whole */
#define MT_MAX_HEADER_WAIT    apr_time_from_sec(600) /* µs: longer than any
                                      * header read httpd allows
                                      * (mod_reqtimeout): more is a clock
                                      * step */
/* Threshold warnings: at most this many a window per process and all told,
 * per child, so that no app can flood the error log. */
#define MT_MAX_WARN_PER_PROC  5      /* count */
#define MT_MAX_WARN_TOTAL     20     /* count */
#define MT_WARN_WINDOW        apr_time_from_sec(60) /* µs: a minute */
#define MT_DETAIL_GROWTH      (64 * 1024) /* bytes: growth of the httpd
                                      * child from which swap, peak and fds
                                      * are read too (a status read costs
                                      * ~7 µs) */
#define MT_SINGLE_TTL         apr_time_from_msec(250) /* µs: how long a child
                                      * trusts its answer to "the one app
                                      * process" */

/* ---- The status page and the heap diff's POST (glue) ---- */

#define MT_STATUS_SINKS_MAX   8      /* count: sinks of a server shown */
#define MT_STATUS_BUF         (64 * 1024) /* bytes: the page's first
                                      * buffer (it grows) */
#define MT_STATUS_REFRESH_MAX 3600   /* seconds: ?refresh=N is clamped to
                                      * 1..this */
#define MT_HD_FORM_MAX        4096   /* bytes of a POSTed form: a few short
                                      * fields */
#define MT_HD_REFUSAL_LOG     apr_time_from_sec(600) /* µs: a refused
                                      * automatic start is logged once per
                                      * this */

/* ---- The shared state (mt_state.c) ---- */

#define MT_DEFAULT_PROCS      512    /* count: processes kept */
#define MT_DEFAULT_WARMUP_REQUESTS 20 /* requests: a process's first ones,
                                      * whose probes are warm-up (boot,
                                      * caches filling) */
#define MT_HIST_POINTS        64     /* count: resident-size history per
                                      * process */
#define MT_BLAME_MAX          8      /* count: peak-raising requests kept
                                      * per process */
#define MT_BLAME_ID_MAX       47     /* bytes of a request id kept in blame */
#define MT_FIRST_RECENT       8      /* count: a process's latest first calls
                                      * kept, to set their order right when
                                      * their notes come out of order */
#define MT_EP_NAME_MAX        MT_ENDPOINT_MAX /* bytes */
#define MT_EP_PROBES          64     /* count: probe results kept per
                                      * endpoint */
#define MT_STATE_HINTS        1024   /* count: route hints, path form ->
                                      * endpoint */
#define MT_BLAME_MIN_BYTES    (64 * 1024)   /* bytes: a raise worth blaming */
#define MT_STEP_BYTES         (1024 * 1024) /* bytes: a "large step" growth */
#define MT_PROBE_MAX_AGE      apr_time_from_sec(120) /* µs: a probe result
                                      * older than this is not counted */
/* A slot's lock word: bounded tries, so that no request ever waits */
#define MT_STATE_LOCK_TRIES   64     /* count: compare-and-swaps before
                                      * yielding: the holder needs a few
                                      * stores */
#define MT_STATE_LOCK_YIELDS  4      /* count: sched_yield()s after them (a
                                      * preempted holder), then a writer
                                      * skips (counted), a reader says busy */
#define MT_STATE_LOCK_STALE   5      /* seconds: a lock held longer is a
                                      * dead child's, and is broken */

/* ---- The heap diff's shared attempt (mt_heapctl.c) ---- */

#define MT_HEAPCTL_RESULTS    8      /* count: results kept */
#define MT_HEAPCTL_APPS       32     /* count: apps with an interval kept */
#define MT_HEAPCTL_ROOT_MAX   255    /* bytes of an app root */
#define MT_HEAPCTL_EP_MAX     MT_ENDPOINT_MAX /* bytes */
#define MT_HEAPCTL_MSG_MAX    511    /* bytes of a message */
#define MT_HEAPCTL_WANT_MAX   512    /* bytes of the X-MemTrack-Want items */
#define MT_HEAPCTL_STOP_SECS  60     /* seconds: STOP, how long to ask */
#define MT_HEAPCTL_DIFF_TRIES 2      /* count: children that may start a
                                      * diff */
#define MT_HEAPCTL_RESULT_FILES 64   /* count: result documents
                                      * (memtrack-heapdiff-<token>.json)
                                      * kept in MemTrackHeapDiffDir, the
                                      * newest by time; the child that
                                      * writes one removes the older ones.
                                      * As many as memtrack-report shows
                                      * (MT_REPORT_HD_KEEP); one of 20 rows
                                      * is under 20 KB, so all under 1.3 MB */
#define MT_HC_LOCK_TRIES      64     /* count: as MT_STATE_LOCK_TRIES */
#define MT_HC_LOCK_YIELDS     4      /* count: as MT_STATE_LOCK_YIELDS; then
                                      * the caller gives up (busy) */
#define MT_HC_LOCK_STALE      5      /* seconds: as MT_STATE_LOCK_STALE */

/* ---- A child's own tables (mt_ratelimit.c, mt_pidcache.c,
 * mt_procfind.c): fixed size, the oldest entry giving way ---- */

#define MT_RATELIMIT_SLOTS    64     /* count: keys (processes) the warning
                                      * limiter tells apart;
                                      * MT_MAX_WARN_TOTAL bounds them all */
#define MT_PIDCACHE_SLOTS     64     /* count: app processes kept verified,
                                      * each with its statm (and status)
                                      * open: 128 descriptors at most */
#define MT_CACHE_SLOTS        16     /* count: app roots whose one app
                                      * process is remembered */
#define MT_CACHE_ROOT         512    /* bytes of an app root kept, NUL
                                      * included: MT_MAX_APP_ROOT fits; a
                                      * longer root is never cached */


/* ---- The analysis's thresholds (mt_analysis.c) ----
 * The method's, each explained in docs/analysis.md; tuned on the simulator
 * (t/unit/mt_sim.h) that t/unit/test_analysis.c runs: no false leak, every
 * leak named within 3,000 of its requests. A change here changes verdicts.
 */

/* Endpoints, judged on their probes */
#define MT_AN_MIN_PROBES        8        /* count: probes before a probe
                                          * verdict, and the fewest in the
                                          * recent window */
#define MT_AN_RECENT_MAX        32       /* count: probes in the recent
                                          * window at most: the newer half
                                          * of the MT_EP_PROBES kept */
#define MT_AN_TRIM              0.2      /* ratio: trimmed from each end of
                                          * the probes, so that one which
                                          * caught a one-time load cannot
                                          * drag the mean */
#define MT_AN_RESOLUTION        0.01     /* ratio of the estimate: a probe's
                                          * own accuracy (within 1%): no
                                          * interval is narrower */
#define MT_AN_DECAY             0.5      /* ratio: the newer half's mean
                                          * below this times the older's is
                                          * falling; a cache that fills
                                          * slows down, a leak does not */
#define MT_AN_GROUP_MIN         3        /* count: probes of one process
                                          * from which it must agree, by its
                                          * own trimmed mean */
#define MT_AN_BLOAT_MIN_BYTES   (1024 * 1024) /* bytes: one-time growth
                                          * from which an endpoint is bloat
                                          * (1 MiB) */
#define MT_AN_CHURN_OBJECTS     20000    /* count: objects allocated per
                                          * request (the app's
                                          * total_allocated_objects) from
                                          * which it churns */
#define MT_AN_CHURN_GROWTH      (64 * 1024) /* bytes per request: mean
                                          * positive resident growth, first
                                          * calls aside, from which it
                                          * churns */
#define MT_AN_SERVING_SECS      600      /* seconds: a process still serves
                                          * an endpoint it served this
                                          * recently (10 minutes) */

/* Processes, judged on their resident-size history */
#define MT_AN_PROC_MIN_REQUESTS 200      /* requests: before a process's
                                          * verdict; unknown until then */
#define MT_AN_PROC_MIN_POINTS   6        /* count: history points of its
                                          * second half before a slope */
#define MT_AN_PROC_SLOPE_MIN    256      /* bytes per request: a leak's
                                          * interval lies above this */
#define MT_AN_PROC_GROWTH_MIN   (4 * 1024 * 1024) /* bytes: growth over the
                                          * second half for a leak, since
                                          * the first request for bloat
                                          * (4 MiB) */
#define MT_AN_PROC_SATURATED    0.3      /* ratio: the last quarter's slope
                                          * to the second half's, at least,
                                          * for a leak: a growth that
                                          * saturates is not one */

/* Probes rarer while calm (mt_analysis_probe_rate) */
#define MT_AN_CALM_FACTOR       10       /* ratio: how many times rarer
                                          * probes go while every process
                                          * seen lately is flat or bloat */
#define MT_AN_CALM_SECS         10       /* seconds: how often calm is
                                          * judged again: one walk of the
                                          * process slots per 10 s, not per
                                          * request */


/* ---- memtrack-report (mt_report*.c, tools/memtrack-report.c) ---- */

/* The analysis (mt_report.c): memory is bounded by these, not by records */
#define MT_REPORT_SERVERS_DEFAULT 64     /* count: servers reported each on
                                          * its own (--servers): a state of
                                          * ~2 MB each; later ones count for
                                          * the fleet only */
#define MT_REPORT_WINDOW_DEFAULT  65536  /* records in the reorder window
                                          * (--window): 380 bytes each,
                                          * 25 MB */
#define MT_REPORT_WINDOW_MAX      (1 << 22) /* records: the most --window
                                          * takes, ~1.5 GiB */
#define MT_REPORT_FLEET_PROCS     1024   /* count: process slots of the
                                          * fleet's state (3.3 MB), for the
                                          * processes of all servers */

/* Reading (mt_report_read.c, mt_report_input.c, mt_report_parse.c) */
#define MT_REPORT_SOURCES_MAX 1000       /* count: inputs open at once: each
                                          * a descriptor (the usual limit is
                                          * 1024) and 1.3 MB of buffers */
#define MT_REPORT_LINE_MAX  65536        /* bytes: longest line read as a
                                          * record; the module writes at most
                                          * PIPE_BUF (4096), its Redis
                                          * writer MT_REDIS_LINE_MAX */
#define MT_REPORT_BUF_BYTES (1024 * 1024) /* bytes: text buffer per input,
                                          * whatever the file: 16 lines of
                                          * MT_REPORT_LINE_MAX */
#define MT_REPORT_DEPTH_MAX   16         /* count: nesting of objects and
                                          * arrays in a line (a record's is
                                          * 2: gc_stats_*); bounds the
                                          * parser's recursion */
#define MT_REPORT_SERVER_MAX  255        /* bytes of a record's server name
                                          * kept: the record's own cap
                                          * (MT_NAME_MAX) */

/* The Redis stream (mt_report_redis.c) */
#define MT_REPORT_REDIS_BATCH 2000       /* records: stream entries per
                                          * XRANGE; one batch is in memory
                                          * at a time, a few MB */
#define MT_REPORT_REDIS_LAG   apr_time_from_sec(600) /* µs: read past
                                          * --until by this, the longest a
                                          * record waits in a child's
                                          * queue */

/* Heap diff results (mt_report_hd*.c) */
#define MT_REPORT_HD_DOC_MAX  (256 * 1024) /* bytes of one document: a
                                          * result of MT_HEAPDIFF_ROWS rows
                                          * is far less; more is not one */
#define MT_REPORT_HD_KEEP     64         /* count: results kept, the newest;
                                          * the others are counted */
#define MT_REPORT_HD_FILES    4096       /* count: entries read of a
                                          * directory, keys taken of Redis */
#define MT_REPORT_HD_SCAN     1000       /* count: SCAN calls at most, so a
                                          * large Redis ends the search */
#define MT_REPORT_HD_SERVER_MAX MT_MAX_SERVER_NAME /* bytes of the
                                          * server named in a result's
                                          * Redis key: any name
                                          * MemTrackServerName takes; a
                                          * longer one is unknown ("") */


/* ---- The heap dump reader and the diff (mt_heapdump.c, mt_heapdiff.c) --- */

/* The reader: its memory is the parser struct, whatever the dump */
#define MT_HEAPDUMP_STR_MAX  255         /* bytes kept of a wanted string (a
                                          * file name keeps its end): more
                                          * than a result keeps of a file or
                                          * class (MT_HEAPDIFF_FILE_MAX,
                                          * MT_HEAPDIFF_CLASS_MAX) */
#define MT_HEAPDUMP_TYPE_MAX 15          /* bytes of an object's "type":
                                          * Ruby's are short words (STRING,
                                          * IMEMO); a longer one is none */
#define MT_HD_READ_CHUNK     (64 * 1024) /* bytes: one read() of a dump; a
                                          * cancelled diff stops within
                                          * one */
#define MT_HD_KEY_MAX        15          /* bytes of a key kept: the longest
                                          * wanted is "generation" (10); a
                                          * longer key is skipped */
#define MT_HD_NUM_DIGITS     18          /* count: digits of a number kept
                                          * (line, generation, memsize): 18
                                          * never overflow an apr_int64_t */

/* The diff: memory in proportion to what was kept, and capped */
#define MT_HD_SET_MIN        1024        /* count: slots an address set
                                          * starts with (8 KiB; a power of
                                          * two, grown at half load) */
#define MT_HD_GEN_BITS       256         /* count: GC generations a group
                                          * tells apart (README: exact up to
                                          * 256), 32 bytes of bitmap each */
#define MT_HD_NAMES_MAX      (1u << 20)  /* count: class names kept, one per
                                          * class address */
#define MT_HD_FILES_MAX      (64u << 10) /* count: distinct file names kept;
                                          * a later one is no file */
#define MT_HD_TYPES_MAX      64          /* count: distinct object types
                                          * kept: Ruby's are fewer */

#endif
