/* Unit tests of mt_procfind: attribution checks and single-process
 * discovery, against real processes.
 *
 * App processes are faked with sleep(1) exec'd under a Passenger-style
 * argv[0] ("Passenger RubyApp: <root> (production)"), which is exactly what
 * /proc/<pid>/cmdline of a real Passenger app shows. When the test runs as
 * root the fakes drop to nobody, so the "not root" rule lets them through;
 * one fake keeps root to test that rule. App roots carry this test's pid so
 * parallel runs and real Passenger apps on the host never match.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "mt_procfind.h"
#include "mt_tap.h"

#define NOBODY 65534

static apr_pool_t *pool;
static int children[32];
static int nchildren;

static void kill_children(void)
{
    int i;
    for (i = 0; i < nchildren; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

static void stop_child(int pid)
{
    int i;
    for (i = 0; i < nchildren; i++) {
        if (children[i] == pid) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            children[i] = 0;
        }
    }
}

/* Does /proc/<pid>/cmdline start with text yet (after the exec)? */
static int cmdline_starts(int pid, const char *text)
{
    char path[64], buf[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strncmp(buf, text, strlen(text)) == 0;
}

/* Fork a sleep(1) titled `title`; as nobody when drop and we are root.
 * Returns once the title is visible in /proc. */
static int spawn_titled(const char *title, int drop)
{
    int pid, i;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        if (drop && geteuid() == 0) {
            if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
                _exit(126);
        }
        execl("/bin/sleep", title, "30", (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    if (nchildren < 32)
        children[nchildren++] = pid;
    for (i = 0; i < 600 && !cmdline_starts(pid, title); i++)
        usleep(5000);
    return pid;
}

/* A child that exits at once as nobody, left unreaped: a zombie. */
static int spawn_zombie(void)
{
    int pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgroups(0, NULL) || setgid(NOBODY)
                               || setuid(NOBODY)))
            _exit(126);
        _exit(0);
    }
    if (nchildren < 32)
        children[nchildren++] = pid;
    mt_tap_wait_zombie(pid);
    return pid;
}

static void test_refusals(void)
{
    mt_procfind_policy_t pol = { 0, 0, NULL, 0 };
    const char *why = NULL;
    apr_status_t rv;
    int pid;

    rv = mt_procfind_check(0, &pol, &why, pool);
    ok(rv == APR_EINVAL && why && !strcmp(why, "invalid pid"), "pid 0");
    rv = mt_procfind_check(-5, &pol, &why, pool);
    ok(rv == APR_EINVAL, "negative pid");
    rv = mt_procfind_check(4194305, &pol, &why, pool);
    ok(rv == APR_EINVAL, "pid above PID_MAX_LIMIT");

    rv = mt_procfind_check(1, &pol, &why, pool);
    is_int(rv, APR_EACCES, "pid 1 refused");
    is_str(why, "init process", "pid 1: reason");

    rv = mt_procfind_check(getpid(), &pol, &why, pool);
    is_int(rv, APR_EACCES, "own pid refused by default");
    is_str(why, "own process", "own pid: reason");
    pol.allow_self = 1;
    rv = mt_procfind_check(getpid(), &pol, &why, pool);
    if (geteuid() == 0 || getuid() == 0) {
        is_int(rv, APR_EACCES, "own pid allowed, but we are root");
        is_str(why, "root process", "root: reason");
    }
    else {
        is_int(rv, APR_SUCCESS, "own pid allowed, not root");
        ok(why == NULL, "no reason on success");
    }
    pol.allow_self = 1;
    pol.require_title = MT_PROCFIND_TITLE_RUBY;
    rv = mt_procfind_check(getpid(), &pol, &why, pool);
    is_int(rv, APR_EACCES, "own pid is no Passenger app");
    pol.allow_self = 0;
    pol.require_title = NULL;

    /* A pid that existed and was reaped. */
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    rv = mt_procfind_check(pid, &pol, &why, pool);
    is_int(rv, APR_ENOENT, "reaped child: no such process");
    is_str(why, "no such process", "reaped child: reason");
    rv = mt_procfind_check(pid, NULL, NULL, pool);
    is_int(rv, APR_ENOENT, "NULL policy and NULL why are fine");

    pid = spawn_zombie();
    rv = mt_procfind_check(pid, &pol, &why, pool);
    is_int(rv, APR_ENOENT, "zombie: no such process");
    is_str(why, "no such process", "zombie: reason");
    stop_child(pid);
}

static void test_titles(const char *base)
{
    mt_procfind_policy_t pol = { 0, 0, MT_PROCFIND_TITLE_RUBY, 0 };
    const char *root = apr_pstrcat(pool, base, "/app", NULL);
    const char *why = NULL;
    apr_status_t rv;
    int a, b, got = 0;

    a = spawn_titled(apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, root,
                                 " (production)", NULL), 1);
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_SUCCESS, "titled app process (non-root) passes");
    ok(why == NULL, "no reason on success");
    rv = mt_procfind_check(a, NULL, &why, pool);
    is_int(rv, APR_SUCCESS, "passes with no title required too");
    pol.require_title = "Passenger NodeApp: ";
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_EACCES, "other title refused");
    is_str(why, "not a Passenger app process", "title: reason");
    pol.require_title = apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, root,
                                    " (production) and more", NULL);
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_EACCES, "required title longer than the real one");
    pol.require_title = MT_PROCFIND_TITLE_RUBY;
    pol.httpd_parent_pid = a;
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_EACCES, "httpd parent refused");
    is_str(why, "httpd parent", "httpd parent: reason");
    rv = mt_procfind_single(&got, root, &pol, pool);
    ok(rv == APR_NOTFOUND && got == 0, "single skips the httpd parent");
    pol.httpd_parent_pid = 0;

    rv = mt_procfind_single(&got, root, &pol, pool);
    is_int(rv, APR_SUCCESS, "single finds the one app process");
    is_int(got, a, "single: its pid");
    rv = mt_procfind_single(&got, apr_pstrcat(pool, base, "/ap", NULL), &pol,
                            pool);
    ok(rv == APR_NOTFOUND && got == 0, "a prefix of the root does not match");
    rv = mt_procfind_single(&got, apr_pstrcat(pool, root, "/x", NULL), &pol,
                            pool);
    is_int(rv, APR_NOTFOUND, "a longer root does not match");
    rv = mt_procfind_single(&got, apr_pstrcat(pool, base, "/none", NULL),
                            &pol, pool);
    is_int(rv, APR_NOTFOUND, "unknown root: not found");

    b = spawn_titled(apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, root,
                                 " (staging)", NULL), 1);
    rv = mt_procfind_single(&got, root, &pol, pool);
    ok(rv == APR_EEXIST && got == 0, "two processes: ambiguous");
    stop_child(b);
    rv = mt_procfind_single(&got, root, &pol, pool);
    ok(rv == APR_SUCCESS && got == a, "back to one after the other exits");
    stop_child(a);
    rv = mt_procfind_single(&got, root, &pol, pool);
    is_int(rv, APR_NOTFOUND, "none after both exit");
}

/* ancestor_pid: only descendants of the httpd parent count, so another
 * server's app with the same root is not this server's single process. */
static void test_ancestry(const char *base)
{
    mt_procfind_policy_t pol = { 0, 0, MT_PROCFIND_TITLE_RUBY, 0 };
    const char *root = apr_pstrcat(pool, base, "/anc", NULL);
    apr_status_t rv;
    int a, other, got = 0;

    a = spawn_titled(apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, root,
                                 " (production)", NULL), 1);
    other = spawn_titled("not an app", 1);
    pol.ancestor_pid = (int)getpid();
    rv = mt_procfind_single(&got, root, &pol, pool);
    ok(rv == APR_SUCCESS && got == a, "the app under the ancestor is found");
    pol.ancestor_pid = (int)getppid();
    rv = mt_procfind_single(&got, root, &pol, pool);
    ok(rv == APR_SUCCESS && got == a, "found under a grandparent too");
    pol.ancestor_pid = other;
    rv = mt_procfind_single(&got, root, &pol, pool);
    ok(rv == APR_NOTFOUND && got == 0,
       "an app under another parent is not counted");
    rv = mt_procfind_single(&got, NULL, &pol, pool);
    ok(rv == APR_NOTFOUND && got == 0,
       "nor for any root: not this server's app");
    pol.ancestor_pid = 0;
    rv = mt_procfind_single(&got, root, &pol, pool);
    ok(rv == APR_SUCCESS && got == a, "no ancestor set: found");
    stop_child(other);
    stop_child(a);
}

/* The tree rules of the check itself (issue 9): a child of the httpd
 * parent is never attributed to (another httpd child, a piped logger), and
 * with ancestor_pid a named pid must descend from it, as a discovered one
 * must. Here this test plays the httpd parent of its own children. */
static void test_tree_rules(const char *base)
{
    mt_procfind_policy_t pol = { 0, 0, NULL, 0 };
    const char *root = apr_pstrcat(pool, base, "/tree", NULL);
    const char *why = NULL;
    apr_status_t rv;
    int a, stranger;

    a = spawn_titled(apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, root,
                                 " (production)", NULL), 1);
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_SUCCESS, "no httpd parent known: a child passes");
    pol.httpd_parent_pid = (int)getpid();
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_EACCES, "a direct child of the httpd parent is refused");
    is_str(why, "httpd child", "httpd child: reason");
    pol.httpd_parent_pid = (int)getppid();
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_SUCCESS, "a grandchild of the httpd parent passes");

    pol.httpd_parent_pid = 0;
    pol.require_title = MT_PROCFIND_TITLE_RUBY;
    pol.ancestor_pid = (int)getpid();
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_SUCCESS, "a named pid below the ancestor passes");
    pol.ancestor_pid = (int)getppid();
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_SUCCESS, "two levels below passes too");
    stranger = spawn_titled("not an app", 1);
    pol.ancestor_pid = stranger;
    rv = mt_procfind_check(a, &pol, &why, pool);
    is_int(rv, APR_EACCES, "a titled process elsewhere in the tree is refused");
    is_str(why, "not a process of this server", "elsewhere: reason");
    stop_child(stranger);
    stop_child(a);

    is_int(mt_procfind_rules(NULL), MT_PROCFIND_RULE_ALIVE
           | MT_PROCFIND_RULE_NOT_SELF, "rules of no policy");
    pol.httpd_parent_pid = 7;
    pol.allow_self = 1;
    pol.require_title = NULL;
    pol.ancestor_pid = 0;
    is_int(mt_procfind_rules(&pol), MT_PROCFIND_RULE_ALIVE
           | MT_PROCFIND_RULE_NOT_HTTPD, "rules of a plain policy allowing self");
    pol.allow_self = 0;
    pol.require_title = MT_PROCFIND_TITLE_RUBY;
    pol.ancestor_pid = 7;
    is_int(mt_procfind_rules(&pol), MT_PROCFIND_RULE_ALIVE
           | MT_PROCFIND_RULE_NOT_SELF | MT_PROCFIND_RULE_NOT_HTTPD
           | MT_PROCFIND_RULE_TITLE | MT_PROCFIND_RULE_ANCESTRY,
           "rules of a Passenger policy");
}

static void test_title_shapes(const char *base)
{
    mt_procfind_policy_t pol = { 0, 0, MT_PROCFIND_TITLE_RUBY, 0 };
    const char *r1 = apr_pstrcat(pool, base, "/bare", NULL);
    const char *r2 = apr_pstrcat(pool, base, "/pre", NULL);
    const char *r3 = apr_pstrcat(pool, base, "/rootapp", NULL);
    const char *why;
    apr_status_t rv;
    int a, c, got;

    a = spawn_titled(apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, r1, NULL), 1);
    rv = mt_procfind_single(&got, r1, &pol, pool);
    ok(rv == APR_SUCCESS && got == a, "title with no suffix matches");
    stop_child(a);

    a = spawn_titled(apr_pstrcat(pool, "Passenger AppPreloader: ", r2, NULL),
                     1);
    rv = mt_procfind_single(&got, r2, &pol, pool);
    is_int(rv, APR_NOTFOUND, "the preloader is not an app process");
    pol.require_title = NULL;
    rv = mt_procfind_single(&got, r2, &pol, pool);
    is_int(rv, APR_NOTFOUND, "not even with no title required");
    pol.require_title = MT_PROCFIND_TITLE_RUBY;
    stop_child(a);

    if (geteuid() != 0) {
        ok(1, "# skip root-owned app process: not running as root");
        ok(1, "# skip");
        return;
    }
    c = spawn_titled(apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, r3,
                                 " (production)", NULL), 0);
    rv = mt_procfind_check(c, &pol, &why, pool);
    ok(rv == APR_EACCES && !strcmp(why, "root process"),
       "root-owned app process refused: %s", why ? why : "(null)");
    rv = mt_procfind_single(&got, r3, &pol, pool);
    is_int(rv, APR_NOTFOUND, "single never picks a root process");
    stop_child(c);
}

static void test_cache(const char *base)
{
    mt_procfind_policy_t pol = { 0, 0, MT_PROCFIND_TITLE_RUBY, 0 };
    const char *root = apr_pstrcat(pool, base, "/cached", NULL);
    const char *title = apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, root,
                                    " (production)", NULL);
    mt_procfind_cache_t *cache;
    apr_status_t rv;
    int a, got, i;
    char longroot[700];

    rv = mt_procfind_cache_create(&cache, apr_time_from_msec(300), pool);
    is_int(rv, APR_SUCCESS, "cache created");
    a = spawn_titled(title, 1);
    rv = mt_procfind_single_cached(&got, cache, root, &pol, pool);
    ok(rv == APR_SUCCESS && got == a, "cached: miss finds the process");
    rv = mt_procfind_single_cached(&got, cache, root, &pol, pool);
    ok(rv == APR_SUCCESS && got == a, "cached: hit gives the same pid");
    {
        mt_sample_t seen, direct;
        int fd = mt_sample_open_statm(a);

        mt_sample_clear(&direct);
        rv = mt_procfind_single_seen(&got, &seen, cache, root, &pol, pool);
        ok(fd >= 0 && mt_sample_statm_fd(&direct, fd) == APR_SUCCESS
           && rv == APR_SUCCESS && got == a && seen.rss_bytes > 0
           && seen.vsize_bytes == direct.vsize_bytes,
           "cached: a hit hands on the statm read of the process it names");
        if (fd >= 0) close(fd);
        rv = mt_procfind_single_seen(&got, &seen, cache,
                                     apr_pstrcat(pool, root, "-none", NULL),
                                     &pol, pool);
        ok(rv == APR_NOTFOUND && seen.rss_bytes == MT_UNKNOWN,
           "cached: a scan's answer hands on no read");
    }
    kill(a, SIGKILL);                   /* a zombie until reaped */
    ok(mt_tap_wait_zombie(a), "cached: the process is a zombie now");
    rv = mt_procfind_single_cached(&got, cache, root, &pol, pool);
    ok(rv == APR_NOTFOUND && got == 0,
       "cached: a zombie is not the app process");
    stop_child(a);
    rv = mt_procfind_single_cached(&got, cache, root, &pol, pool);
    ok(rv == APR_NOTFOUND && got == 0,
       "cached: a dead pid is re-checked, never returned");
    a = spawn_titled(title, 1);
    rv = mt_procfind_single_cached(&got, cache, root, &pol, pool);
    ok(rv == APR_NOTFOUND, "cached: a negative answer holds for the TTL");
    usleep(350 * 1000);
    rv = mt_procfind_single_cached(&got, cache, root, &pol, pool);
    ok(rv == APR_SUCCESS && got == a, "cached: after the TTL, found again");

    /* More roots than slots: eviction must keep answers right. */
    for (i = 0; i < 40; i++) {
        const char *r = apr_psprintf(pool, "%s/evict%d", base, i);
        rv = mt_procfind_single_cached(&got, cache, r, &pol, pool);
        if (rv != APR_NOTFOUND)
            break;
    }
    ok(i == 40, "40 roots through a 16-slot cache");
    rv = mt_procfind_single_cached(&got, cache, root, &pol, pool);
    ok(rv == APR_SUCCESS && got == a, "evicted root answered afresh");
    rv = mt_procfind_single_cached(&got, cache, NULL, &pol, pool);
    ok(rv == APR_SUCCESS || rv == APR_EEXIST, "app_root NULL: any app");
    memset(longroot, 'x', sizeof(longroot) - 1);
    longroot[0] = '/';
    longroot[sizeof(longroot) - 1] = '\0';
    rv = mt_procfind_single_cached(&got, cache, longroot, &pol, pool);
    is_int(rv, APR_NOTFOUND, "over-long root: not found, not cached");
    stop_child(a);
}

typedef struct {
    mt_procfind_cache_t *cache;
    const char *root;
    int want;
    int wrong;
} hammer_t;

static void *hammer(void *data)
{
    hammer_t *h = data;
    mt_procfind_policy_t pol = { 0, 0, MT_PROCFIND_TITLE_RUBY, 0 };
    apr_pool_t *p;
    int i, got;

    apr_pool_create_unmanaged(&p);
    for (i = 0; i < 2000; i++) {
        if (mt_procfind_single_cached(&got, h->cache, h->root, &pol, p)
            != APR_SUCCESS || got != h->want)
            h->wrong++;
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_threads(const char *base)
{
    const char *root = apr_pstrcat(pool, base, "/threads", NULL);
    mt_procfind_cache_t *cache;
    pthread_t th[4];
    hammer_t h;
    int i, wrong = 0;

    mt_procfind_cache_create(&cache, apr_time_from_msec(2), pool);
    h.cache = cache;
    h.root = root;
    h.want = spawn_titled(apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, root,
                                      " (production)", NULL), 1);
    h.wrong = 0;
    {
        hammer_t hs[4];
        for (i = 0; i < 4; i++) {
            hs[i] = h;
            pthread_create(&th[i], NULL, hammer, &hs[i]);
        }
        for (i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            wrong += hs[i].wrong;
        }
    }
    is_int(wrong, 0, "4 threads x 2000 cached lookups, 2 ms TTL: all right");
    stop_child(h.want);
}

static void test_cost(const char *base)
{
    mt_procfind_policy_t pol = { 0, 0, MT_PROCFIND_TITLE_RUBY, 0 };
    const char *root = apr_pstrcat(pool, base, "/cost", NULL);
    apr_time_t t0;
    double scan_us, check_us;
    int a, got, i, n = 200;

    a = spawn_titled(apr_pstrcat(pool, MT_PROCFIND_TITLE_RUBY, root, NULL), 1);
    t0 = apr_time_now();
    for (i = 0; i < n; i++)
        mt_procfind_single(&got, root, &pol, pool);
    scan_us = (double)(apr_time_now() - t0) / n;
    t0 = apr_time_now();
    for (i = 0; i < n; i++)
        mt_procfind_check(a, &pol, NULL, pool);
    check_us = (double)(apr_time_now() - t0) / n;
    /* Reported, not asserted: speed is make bench's business. */
    printf("# mt_procfind_single: %.1f us per scan; mt_procfind_check: "
           "%.1f us (sanitizer build)\n", scan_us, check_us);
    ok(got == a, "the cost loop found the one process");
    stop_child(a);
}

int main(void)
{
    const char *base;

    apr_initialize();
    atexit(kill_children);
    alarm(120);                 /* never hang prove */
    apr_pool_create(&pool, NULL);
    base = apr_psprintf(pool, "/tmp/mt-procfind-test-%d", (int)getpid());
    test_refusals();
    test_titles(base);
    test_ancestry(base);
    test_tree_rules(base);
    test_title_shapes(base);
    test_cache(base);
    test_threads(base);
    test_cost(base);
    kill_children();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
