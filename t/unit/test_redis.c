/* Unit tests of the Redis sink's core (src/mt_redis.c): address parsing and
 * password hiding, key safety, the queue bound, and, against a real
 * redis-server started here on a free loopback port in a temp dir (stopped
 * by its pid), writing, AUTH, SELECT over a unix socket, an outage, an
 * unreachable address, and a hostile server's huge reply (to the writer
 * and to the heap snapshot copy, mt_redis_blob.c). The server parts are skipped when redis-server is
 * not installed. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_atomic.h>
#include <hiredis.h>

#include "mt_tap.h"
#include "mt_redis.h"
#include "mt_redis_blob.h"
#include "mt_util.h"

static apr_pool_t *pool;
static char tmpdir[256];
static const char *secret = "hunter2-Secret";

/* Every message the core logs, to check that none shows a password. */
static char logged[16384];
static volatile apr_uint32_t drops_reported;

static void log_cb(void *baton, int level, apr_status_t rv, const char *msg)
{
    (void)baton; (void)rv;
    if (strlen(logged) + strlen(msg) + 16 < sizeof(logged))
        snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged),
                 "[%d] %s\n", level, msg);
    if (getenv("TEST_VERBOSE"))
        printf("# log %d: %s\n", level, msg);
}

static void drop_cb(void *baton, apr_uint32_t n, apr_status_t rv)
{
    (void)baton; (void)rv;
    apr_atomic_add32(&drops_reported, n);
}

/* ---- address parsing ------------------------------------------------- */

static void test_parse_good(void)
{
    mt_redis_addr_t *a;
    const char *err;

    ok(mt_redis_addr_parse(&a, &err, "redis://127.0.0.1:6380/2", pool)
       == APR_SUCCESS, "tcp address parses");
    is_str(a->host, "127.0.0.1", "host");
    is_int(a->port, 6380, "port");
    is_int(a->db, 2, "db");
    ok(!a->password && !a->is_unix, "no password, tcp");
    is_str(a->display, "redis://127.0.0.1:6380/2", "display");

    mt_redis_addr_parse(&a, &err, "REDIS://localhost", pool);
    ok(a && a->port == 6379 && a->db == 0, "default port 6379, db 0");

    ok(mt_redis_addr_parse(&a, &err, "redis://:hunter2-Secret@h1:7000/1",
                           pool) == APR_SUCCESS, "password address parses");
    is_str(a->password, secret, "password kept for AUTH");
    ok(!a->username, "no user");
    is_str(a->display, "redis://:***@h1:7000/1", "display hides password");

    mt_redis_addr_parse(&a, &err, "redis://app:p%40ss:w@rd@h1", pool);
    ok(a && !strcmp(a->username, "app") && !strcmp(a->password, "p@ss:w@rd"),
       "user, escaped and raw '@' in the password");
    is_str(a ? a->display : NULL, "redis://app:***@h1:6379/0", "user shown");

    mt_redis_addr_parse(&a, &err, "redis://[::1]:6379/3", pool);
    ok(a && !strcmp(a->host, "::1") && a->db == 3, "IPv6 host");

    ok(mt_redis_addr_parse(&a, &err, "unix:/run/redis.sock?db=4", pool)
       == APR_SUCCESS, "unix address parses");
    ok(a && a->is_unix && !strcmp(a->path, "/run/redis.sock") && a->db == 4,
       "unix path and db");
    mt_redis_addr_parse(&a, &err,
                        "unix:///run/r.sock?password=hunter2-Secret&db=1", pool);
    ok(a && !strcmp(a->path, "/run/r.sock") && a->password
       && !strcmp(a->password, secret), "unix:/// with password");
    ok(a && !strstr(a->display, secret) && strstr(a->display, "***"),
       "unix display hides password");
}

static void bad(const char *text, const char *want)
{
    mt_redis_addr_t *a = (void *)1;
    const char *err = NULL;
    apr_status_t rv = mt_redis_addr_parse(&a, &err, text, pool);

    ok(rv == APR_EINVAL && !a && err && strstr(err, want),
       "refused: '%s' (%s)", mt_redis_redact(text, pool), err ? err : "-");
    ok(!err || !strstr(err, "hunter2"), "message hides the password");
}

static void test_parse_bad(void)
{
    bad("", "empty");
    bad("http://127.0.0.1:6379", "expected redis://");
    bad("redis://", "host");
    bad("redis://127.0.0.1:0", "bad port");
    bad("redis://127.0.0.1:99999", "bad port");
    bad("redis://127.0.0.1:6x79", "bad port");
    bad("redis://127.0.0.1:6379/x", "bad database");
    bad("redis://127.0.0.1:6379/2000000", "bad database");
    bad("redis://hunter2@127.0.0.1", "[user]:password");
    bad("redis://:@127.0.0.1", "empty");
    bad("redis://:hunter2%zz@127.0.0.1", "escaped");
    bad("redis://:hunter2@bad host", "host");
    bad("redis://:hunter2@[::1", "']'");
    bad("unix:relative.sock", "absolute");
    bad("unix:/tmp/s?foo=1", "unknown parameter 'foo'");
    bad("unix:/tmp/s?db=x", "bad database");
    bad("unix:/tmp/s?password=", "empty");
    bad("unix:/tmp/s?user=u", "needs a password");
    {
        char longp[200];
        memset(longp, 'a', sizeof(longp) - 1);
        longp[0] = '/';
        longp[sizeof(longp) - 1] = 0;
        bad(apr_pstrcat(pool, "unix:", longp, NULL), "too long");
    }
}

static void test_redact(void)
{
    const char *t;

    t = mt_redis_redact("redis://:hunter2@h:1/2", pool);
    ok(!strstr(t, "hunter2") && strstr(t, "h:1/2"), "redact url: %s", t);
    t = mt_redis_redact("redis://u:hun@ter2@h", pool);
    ok(!strstr(t, "hun") && !strstr(t, "ter2"), "redact url with '@': %s", t);
    t = mt_redis_redact("unix:/s?password=hunter2&db=1&password=hunter2", pool);
    ok(!strstr(t, "hunter2") && strstr(t, "db=1"), "redact unix: %s", t);
    is_str(mt_redis_redact("redis://h:1", pool), "redis://h:1", "no password");
    is_str(mt_redis_redact("unix:/s?db=2&pass=hunter2&x", pool),
           "unix:/s?db=2&pass=***&x", "every query value but db hidden");
}

static void test_ids(void)
{
    char id[200];

    ok(mt_reqid_is_safe("YxK3-9_a@b.c:d+e/f=g", MT_REDIS_ID_MAX), "safe charset");
    ok(!mt_reqid_is_safe("", MT_REDIS_ID_MAX), "empty refused");
    ok(!mt_reqid_is_safe(NULL, MT_REDIS_ID_MAX), "NULL refused");
    ok(!mt_reqid_is_safe("a b", MT_REDIS_ID_MAX), "space refused");
    ok(!mt_reqid_is_safe("a\r\nSET x", MT_REDIS_ID_MAX), "CRLF refused");
    ok(!mt_reqid_is_safe("*", MT_REDIS_ID_MAX), "glob refused");
    ok(!mt_reqid_is_safe("a{b}", MT_REDIS_ID_MAX), "hash tag refused");
    ok(!mt_reqid_is_safe("caf\xc3\xa9", MT_REDIS_ID_MAX), "non-ASCII refused");
    memset(id, 'a', 128);
    id[128] = 0;
    ok(mt_reqid_is_safe(id, MT_REDIS_ID_MAX), "128 characters fine");
    id[128] = 'a';
    id[129] = 0;
    ok(!mt_reqid_is_safe(id, MT_REDIS_ID_MAX), "129 characters refused");
}

/* ---- the queue, no server ---------------------------------------------- */

static mt_redis_t *make_sink(const char *url, apr_size_t queue_max, int ttl)
{
    mt_redis_opts_t o;
    mt_redis_addr_t *a;
    mt_redis_t *r = NULL;
    const char *err;

    if (mt_redis_addr_parse(&a, &err, url, pool) != APR_SUCCESS)
        return NULL;
    mt_redis_opts_default(&o);
    o.addr = a;
    o.queue_max = queue_max;
    o.ttl_sec = ttl;
    o.stream_maxlen = 1000;
    o.connect_timeout_ms = 200;
    o.command_timeout_ms = 500;
    o.log = log_cb;
    o.on_drop = drop_cb;
    if (mt_redis_create(&r, &o, pool) != APR_SUCCESS)
        return NULL;
    return r;
}

static void test_queue(void)
{
    mt_redis_t *r = make_sink("redis://127.0.0.1:1", 5, 60);
    mt_redis_stats_t st;
    int i, taken = 0, full = 0;

    ok(r != NULL, "sink created");
    for (i = 0; i < 8; i++) {
        apr_status_t rv = mt_redis_push(r, "id-1", 1, "{\"a\":1}\n", 8);
        taken += rv == APR_SUCCESS;
        full += rv == APR_EAGAIN;
    }
    is_int(taken, 5, "queue takes queue_max records");
    is_int(full, 3, "then refuses with EAGAIN");
    is_int(mt_redis_push(r, "bad id", 1, "{}", 2), APR_EINVAL, "unsafe id refused");
    is_int(mt_redis_push(r, "x\r\nFLUSHALL", 1, "{}", 2), APR_EINVAL,
           "CRLF id refused");
    is_int(mt_redis_push(r, "ok", 1, "\n", 1), APR_EINVAL, "empty line refused");
    mt_redis_stats(r, &st);
    is_int(st.pending, 5, "5 pending");
    is_int(st.dropped_full, 3, "3 counted as full");
    is_int(st.dropped_bad, 3, "3 counted as bad");
    is_int(st.queued, 5, "5 queued");
    mt_redis_stop(r);
    mt_redis_stats(r, &st);
    is_int(st.pending, 0, "stop empties the queue");
    is_int(st.dropped_lost, 5, "left-overs counted lost at stop");
    mt_redis_stop(r);
    ok(1, "stop twice is fine");
    ok(mt_redis_create(&r, &(mt_redis_opts_t){ 0 }, pool) == APR_EINVAL,
       "create refuses empty options");
}

/* ---- a real redis-server ----------------------------------------------- */

typedef struct server_t {
    pid_t pid;
    int   port;
    char  sock[300];
} server_t;

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0
        && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static redisContext *client(const server_t *s)
{
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);

    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Start redis-server on s->port (a fresh one when 0) with more arguments
 * (NULL-terminated, may be NULL); wait until it answers. */
static int server_start_with(server_t *s, const char *password,
                             const char *const *extra)
{
    char port[16];
    int i;

    if (!s->port)
        s->port = free_port();
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(s->sock, sizeof(s->sock), "%s/redis-%d.sock", tmpdir, s->port);
    fflush(stdout);
    s->pid = fork();
    if (s->pid == 0) {
        const char *argv[32] = { "redis-server", "--port", port, "--bind",
            "127.0.0.1", "--dir", tmpdir, "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning", "--unixsocket",
            s->sock, "--unixsocketperm", "700", NULL };
        int n = 19;
        if (password) {
            argv[n++] = "--requirepass";
            argv[n++] = password;
        }
        while (extra && *extra && n < 31)
            argv[n++] = *extra++;
        argv[n] = NULL;
        /* Dies with the test, and keeps no pipe of prove's open. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (!freopen("/dev/null", "w", stdout)
            || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execvp("redis-server", (char **)argv);
        _exit(127);
    }
    for (i = 0; i < 100; i++) {
        redisContext *c = client(s);
        if (c) {
            redisFree(c);
            return 1;
        }
        usleep(50000);
    }
    return 0;
}

static int server_start(server_t *s, const char *password)
{
    return server_start_with(s, password, NULL);
}

static void server_stop(server_t *s, int sig)
{
    int st;

    if (s->pid > 0) {
        kill(s->pid, sig);
        waitpid(s->pid, &st, 0);
    }
    s->pid = 0;
}

static redisReply *cmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    redisReply *rep;

    va_start(ap, fmt);
    rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    return rep;
}

/* Wait up to ms for the written counter to reach want; the time it took. */
static long wait_written(mt_redis_t *r, apr_uint32_t want, long ms)
{
    mt_redis_stats_t st;
    apr_time_t t0 = apr_time_now();

    do {
        mt_redis_stats(r, &st);
        if (st.written >= want)
            return (long)((apr_time_now() - t0) / 1000);
        usleep(10000);
    } while ((apr_time_now() - t0) / 1000 < ms);
    return -1;
}

static void test_write(server_t *s)
{
    char url[64], line[128], id[32];
    mt_redis_t *r;
    redisContext *c;
    redisReply *rep;
    int i;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", s->port);
    r = make_sink(url, 1000, 100);
    ok(r && mt_redis_start(r) == APR_SUCCESS, "writer started");
    for (i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "w-%d", i);
        snprintf(line, sizeof(line), "{\"request_id\":\"%s\",\"n\":%d}\n", id, i);
        mt_redis_push(r, id, 1, line, strlen(line));
    }
    ok(wait_written(r, 200, 5000) >= 0, "200 records written");
    c = client(s);
    rep = cmd(c, "GET memtrack:req:w-7");
    is_str(rep && rep->type == REDIS_REPLY_STRING ? rep->str : NULL,
           "{\"request_id\":\"w-7\",\"n\":7}", "GET gives the line, no newline");
    freeReplyObject(rep);
    rep = cmd(c, "TTL memtrack:req:w-7");
    ok(rep && rep->integer > 90 && rep->integer <= 100, "TTL %lld",
       rep ? rep->integer : -1);
    freeReplyObject(rep);
    rep = cmd(c, "XLEN memtrack:stream");
    is_int(rep ? rep->integer : -1, 200, "200 stream entries");
    freeReplyObject(rep);
    rep = cmd(c, "XRANGE memtrack:stream - + COUNT 1");
    ok(rep && rep->elements == 1 && rep->element[0]->elements == 2
       && !strcmp(rep->element[0]->element[1]->element[0]->str, "record")
       && !strcmp(rep->element[0]->element[1]->element[1]->str,
                  "{\"request_id\":\"w-0\",\"n\":0}"),
       "stream entry: record field holds the line");
    freeReplyObject(rep);
    rep = cmd(c, "KEYS *");
    is_int(rep ? (long long)rep->elements : -1, 201, "only our keys exist");
    freeReplyObject(rep);
    redisFree(c);
    mt_redis_stop(r);
}

/* Batches are cut by bytes as well as by count: 40 records of 8 KiB
 * queued before the writer starts are 320 KiB, so at least five batches
 * of at most 64 KiB, though 40 records fit one batch by count. */
static void test_batch_bytes(server_t *s)
{
    static char line[8192];
    char url[64], id[32];
    mt_redis_stats_t st;
    mt_redis_t *r;
    int i;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", s->port);
    r = make_sink(url, 1000, 100);
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\n';
    for (i = 0; r && i < 40; i++) {
        snprintf(id, sizeof(id), "bb-%d", i);
        mt_redis_push(r, id, 1, line, sizeof(line));
    }
    ok(r && mt_redis_start(r) == APR_SUCCESS, "writer started");
    ok(wait_written(r, 40, 5000) >= 0, "40 records of 8 KiB written");
    mt_redis_stats(r, &st);
    ok(st.batches >= 40 * sizeof(line) / MT_REDIS_DEFAULT_BATCH_BYTES
       && st.batches <= 40, "in %u batches of at most %d bytes",
       st.batches, MT_REDIS_DEFAULT_BATCH_BYTES);
    mt_redis_stop(r);
}

/* Records that come one at a time, a millisecond apart (a child serving
 * one request after another), go in batches: the writer woken by the
 * first waits up to linger_ms for more. Without that each record was a
 * round trip of its own, 60 records 60 batches. */
static void test_linger(server_t *s)
{
    char url[64], id[32], line[64];
    mt_redis_stats_t st;
    mt_redis_t *r;
    int i;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", s->port);
    r = make_sink(url, 1000, 100);
    ok(r && mt_redis_start(r) == APR_SUCCESS, "writer started");
    for (i = 0; r && i < 60; i++) {
        snprintf(id, sizeof(id), "lg-%d", i);
        snprintf(line, sizeof(line), "{\"n\":%d}\n", i);
        mt_redis_push(r, id, 1, line, strlen(line));
        usleep(1000);
    }
    ok(wait_written(r, 60, 5000) >= 0, "60 records written");
    mt_redis_stats(r, &st);
    /* 60 ms of pushes in windows of 10 ms: about 6 batches; a descheduled
     * writer makes fewer, never more than one per window and a few */
    ok(st.batches >= 1 && st.batches <= 20,
       "60 records a millisecond apart went in %u batches", st.batches);
    mt_redis_stop(r);
}

static void test_outage(server_t *s)
{
    char url[64];
    mt_redis_t *r;
    mt_redis_stats_t st;
    apr_time_t t0;
    int i, slow = 0;
    long ms;
    apr_time_t worst = 0;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", s->port);
    r = make_sink(url, 100, 100);
    mt_redis_start(r);
    mt_redis_push(r, "before", 1, "{}", 2);
    ok(wait_written(r, 1, 3000) >= 0, "written before the outage");
    server_stop(s, SIGKILL);
    for (i = 0; i < 500; i++) {
        apr_time_t p0 = apr_time_now(), d;
        mt_redis_push(r, "during", 1, "{}", 2);
        d = apr_time_now() - p0;
        slow += d > apr_time_from_msec(5);
        if (d > worst)
            worst = d;
        usleep(2000);
    }
    /* A push that waited on the writer's reconnects would wait for its
     * connect timeout (200 ms) again and again; a push descheduled once on
     * a loaded machine (CI runs this beside other builds, under ASan too)
     * is one slow push among 500. So: a few slow ones are preemption, not
     * the design; none may come near the connect timeout. */
    ok(slow <= 5 && worst < apr_time_from_msec(150),
       "no push waited on the writer while Redis was down "
       "(%d of 500 over 5 ms, worst %ld us)", slow, (long)worst);
    mt_redis_stats(r, &st);
    ok(st.dropped_full + st.dropped_lost > 0 && st.errors > 0,
       "drops (%u full, %u lost) and errors (%u) counted", st.dropped_full,
       st.dropped_lost, st.errors);
    ok(!st.connected, "not connected");
    ok(server_start(s, NULL), "redis restarted on the same port");
    t0 = apr_time_now();
    mt_redis_push(r, "after", 1, "{}", 2);
    mt_redis_stats(r, &st);
    ms = wait_written(r, st.written + 1, 5000);
    ok(ms >= 0, "writing resumed %ld ms after the restart",
       (long)((apr_time_now() - t0) / 1000));
    mt_redis_stop(r);
}

static void test_unreachable(void)
{
    char url[64];
    mt_redis_t *r;
    apr_time_t t0, worst = 0;
    int i;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", free_port());
    r = make_sink(url, 50, 100);
    mt_redis_start(r);
    for (i = 0; i < 2000; i++) {
        apr_time_t p0 = apr_time_now();
        mt_redis_push(r, "x", 1, "{}", 2);
        if (apr_time_now() - p0 > worst)
            worst = apr_time_now() - p0;
    }
    ok(worst < apr_time_from_msec(150),
       "closed port: no push waited on the writer (worst %ld us)",
       (long)worst);
    t0 = apr_time_now();
    mt_redis_stop(r);
    ok(apr_time_now() - t0 < apr_time_from_sec(1), "stop is quick (%ld ms)",
       (long)((apr_time_now() - t0) / 1000));
}

static void test_auth(server_t *s)
{
    char url[128];
    mt_redis_t *r;
    mt_redis_stats_t st;

    logged[0] = 0;
    snprintf(url, sizeof(url), "redis://:wrong-%s@127.0.0.1:%d", secret,
             s->port);
    r = make_sink(url, 100, 100);
    mt_redis_start(r);
    mt_redis_push(r, "auth-bad", 1, "{}", 2);
    usleep(300000);
    mt_redis_stats(r, &st);
    ok(st.written == 0 && st.errors > 0 && st.connects == 0,
       "wrong password: nothing written, errors %u", st.errors);
    ok(strstr(logged, "WRONGPASS") || strstr(logged, "invalid password"),
       "the AUTH refusal is logged");
    ok(!strstr(logged, "hunter2"), "no password in any message");
    mt_redis_stop(r);

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", s->port);
    r = make_sink(url, 100, 100);
    mt_redis_start(r);
    mt_redis_push(r, "auth-none", 1, "{}", 2);
    usleep(300000);
    mt_redis_stop(r);
    mt_redis_stats(r, &st);
    ok(st.written == 0 && st.dropped_lost == 1, "no password: NOAUTH, lost 1");
    ok(strstr(logged, "NOAUTH") != NULL, "NOAUTH logged");

    snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d", secret, s->port);
    r = make_sink(url, 100, 100);
    mt_redis_start(r);
    mt_redis_push(r, "auth-good", 1, "{}", 2);
    ok(wait_written(r, 1, 3000) >= 0, "right password: written");
    mt_redis_stop(r);
    ok(!strstr(logged, "hunter2"), "still no password in any message");
}

static void test_unix_db(server_t *s)
{
    char url[400];
    mt_redis_t *r;
    redisContext *c;
    redisReply *rep;

    snprintf(url, sizeof(url), "unix:%s?db=3", s->sock);
    r = make_sink(url, 100, 100);
    mt_redis_start(r);
    mt_redis_push(r, "unix-1", 1, "{\"u\":1}\n", 8);
    ok(wait_written(r, 1, 3000) >= 0, "written over the unix socket");
    mt_redis_stop(r);
    c = client(s);
    rep = cmd(c, "EXISTS memtrack:req:unix-1");
    is_int(rep ? rep->integer : -1, 0, "not in db 0");
    freeReplyObject(rep);
    freeReplyObject(cmd(c, "SELECT 3"));
    rep = cmd(c, "GET memtrack:req:unix-1");
    is_str(rep && rep->type == REDIS_REPLY_STRING ? rep->str : NULL,
           "{\"u\":1}", "in db 3");
    freeReplyObject(rep);
    redisFree(c);
}

/* SET ... NX for a client's id: a record never replaces another with the
 * same id. Without NX for an id the server made: it replaces what a client
 * put there first (a squat), and keeps its expiry. */
static void test_nx(server_t *s)
{
    char url[64];
    const char *first = "{\"n\":1}\n", *second = "{\"n\":2}\n";
    const char *own = "{\"n\":3}\n";
    mt_redis_stats_t st;
    mt_redis_t *r;
    redisContext *c;
    redisReply *rep;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", s->port);
    r = make_sink(url, 100, 100);
    ok(r && mt_redis_start(r) == APR_SUCCESS, "nx: writer started");
    mt_redis_push(r, "same-id", 0, first, strlen(first));
    ok(wait_written(r, 1, 5000) >= 0, "nx: the first record is written");
    mt_redis_push(r, "same-id", 0, second, strlen(second));
    mt_redis_push(r, "other-id", 0, second, strlen(second));
    ok(wait_written(r, 2, 5000) >= 0, "nx: the next id's record is written");
    mt_redis_stats(r, &st);
    ok(st.dropped_dup == 1 && st.dropped_lost == 1,
       "nx: the second record with the same id is refused and counted "
       "(dup %u, lost %u)", st.dropped_dup, st.dropped_lost);
    c = client(s);
    rep = cmd(c, "GET memtrack:req:same-id");
    is_str(rep && rep->type == REDIS_REPLY_STRING ? rep->str : NULL,
           "{\"n\":1}", "nx: the first record stays");
    freeReplyObject(rep);
    mt_redis_push(r, "same-id", 1, own, strlen(own));
    ok(wait_written(r, 3, 5000) >= 0, "squat: a server-made id's record is "
       "written over a client's");
    mt_redis_stats(r, &st);
    ok(st.dropped_dup == 1 && st.dropped_lost == 1 && st.errors == 0,
       "squat: nothing more refused (dup %u, lost %u, errors %u)",
       st.dropped_dup, st.dropped_lost, st.errors);
    rep = cmd(c, "GET memtrack:req:same-id");
    is_str(rep && rep->type == REDIS_REPLY_STRING ? rep->str : NULL,
           "{\"n\":3}", "squat: the key holds the server-made id's record");
    freeReplyObject(rep);
    rep = cmd(c, "TTL memtrack:req:same-id");
    ok(rep && rep->integer > 90 && rep->integer <= 100, "squat: TTL %lld",
       rep ? rep->integer : -1);
    freeReplyObject(rep);
    redisFree(c);
    mt_redis_stop(r);
}

/* The heap snapshot copy (mt_redis_blob.c), through the bounded reader:
 * SET, APPEND (an integer reply) and RENAME; the key holds the file. */
static void test_blob(server_t *s)
{
    char url[64], path[300], err[256];
    mt_redis_addr_t *a;
    const char *perr;
    redisContext *c;
    redisReply *rep;
    FILE *f;
    int i;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", s->port);
    snprintf(path, sizeof(path), "%s/blob-ok.txt", tmpdir);
    if (!ok((f = fopen(path, "w")) != NULL, "blob ok: a file to send"))
        return;
    for (i = 0; i < 300000; i++)          /* 2.1 MB: three pieces */
        fputs("snapshot", f);
    fclose(f);
    if (!ok(mt_redis_addr_parse(&a, &perr, url, pool) == APR_SUCCESS,
            "blob ok: address"))
        return;
    is_int(mt_redis_blob_put(a, 200, 2000, "memtrack:heap:1:ok", path, 60,
                             NULL, err, sizeof(err)), APR_SUCCESS,
           "blob ok: copied");
    c = client(s);
    rep = cmd(c, "STRLEN memtrack:heap:1:ok");
    is_int(rep ? rep->integer : -1, 2400000, "blob ok: the key holds the file");
    freeReplyObject(rep);
    redisFree(c);
}

/* The heap snapshot copy reads its replies within the same limits: its
 * SET gets the 8 MiB array too, and fails saying so (before, it took the
 * array as an answer and failed later at RENAME, having buffered it). */
static void test_blob_big_reply(const server_t *h)
{
    char url[64], path[300], err[256];
    mt_redis_addr_t *a;
    const char *perr;
    FILE *f;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", h->port);
    snprintf(path, sizeof(path), "%s/blob.txt", tmpdir);
    if (!ok((f = fopen(path, "w")) != NULL, "blob: a file to send"))
        return;
    fputs("a heap snapshot\n", f);
    fclose(f);
    if (!ok(mt_redis_addr_parse(&a, &perr, url, pool) == APR_SUCCESS,
            "blob: address"))
        return;
    ok(mt_redis_blob_put(a, 200, 500, "memtrack:heap:1:1", path, 60, NULL,
                         err, sizeof(err)) != APR_SUCCESS,
       "blob: the copy fails");
    ok(strstr(err, "SET: reply too long for a status reply") != NULL,
       "blob: and says why (%s)", err);
}

/* A Redis that answers with far more than a status reply: its MGET is
 * renamed SET, so the writer's SET gets an array holding an 8 MiB value
 * back. The writer reads at most 64 KiB of it and lets the connection go,
 * counting the record lost, instead of buffering the whole reply. */
static void test_big_reply(void)
{
    static const char *const renames[] = { "--rename-command", "SET",
        "REALSET", "--rename-command", "MGET", "SET", NULL };
    server_t h = { 0 };
    char url[64];
    mt_redis_stats_t st;
    mt_redis_t *r;
    redisContext *c;
    redisReply *rep;
    int i;

    if (!ok(server_start_with(&h, NULL, renames), "hostile redis-server")) {
        return;
    }
    c = client(&h);
    rep = cmd(c, "SETRANGE EX 8388607 x");       /* an 8 MiB value */
    ok(rep && rep->type == REDIS_REPLY_INTEGER, "an 8 MiB value under key EX");
    freeReplyObject(rep);
    redisFree(c);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", h.port);
    r = make_sink(url, 100, 100);
    ok(r && mt_redis_start(r) == APR_SUCCESS, "big: writer started");
    logged[0] = '\0';
    mt_redis_push(r, "big-1", 1, "{}\n", 3);
    for (i = 0; i < 300; i++) {
        mt_redis_stats(r, &st);
        if (st.dropped_lost >= 1)
            break;
        usleep(10000);
    }
    ok(st.dropped_lost == 1 && st.written == 0,
       "the record is lost, not written (lost %u)", st.dropped_lost);
    ok(strstr(logged, "reply too long") != NULL,
       "and the log says why (reply too long)");
    mt_redis_stop(r);
    test_blob_big_reply(&h);
    server_stop(&h, SIGTERM);
}

int main(void)
{
    server_t s = { 0 }, sa = { 0 };
    int have_server = system("redis-server --version >/dev/null 2>&1") == 0;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    signal(SIGPIPE, SIG_IGN);
    test_parse_good();
    test_parse_bad();
    test_redact();
    test_ids();
    test_queue();

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mt-redis-unit-XXXXXX");
    if (!have_server || !mkdtemp(tmpdir)) {
        ok(1, "# SKIP no redis-server");
        goto done;
    }
    s.port = free_port();
    if (ok(server_start(&s, NULL), "redis-server started on port %d", s.port)) {
        test_write(&s);
        test_nx(&s);
        test_blob(&s);
        test_batch_bytes(&s);
        test_linger(&s);
        test_unix_db(&s);
        test_outage(&s);
    }
    server_stop(&s, SIGTERM);
    test_unreachable();
    if (ok(server_start(&sa, secret), "redis-server with requirepass"))
        test_auth(&sa);
    server_stop(&sa, SIGTERM);
    test_big_reply();
    {
        char rm[300];
        snprintf(rm, sizeof(rm), "rm -rf '%s'", tmpdir);
        if (system(rm) != 0)
            ok(0, "removing %s", tmpdir);
    }
done:
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
