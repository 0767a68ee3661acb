/* Unit tests: the Redis address alone (src/mt_redis_addr.c), linked and
 * run without hiredis or a thread: displays, the password never shown,
 * every byte value in each part of an address, and a display that parses
 * back to the same place. (The address cases the writer's tests use stay in
 * test_redis.c.) */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "mt_tap.h"
#include "mt_redis_addr.h"

static apr_pool_t *pool;

static mt_redis_addr_t *parse(const char *text, const char **err)
{
    mt_redis_addr_t *a = NULL;

    return mt_redis_addr_parse(&a, err, text, pool) == APR_SUCCESS ? a : NULL;
}

static void test_display(void)
{
    const char *err = NULL;
    mt_redis_addr_t *a;

    a = parse("redis://h", &err);
    is_str(a ? a->display : NULL, "redis://h:6379/0", "defaults shown");
    a = parse("redis://app:S3cr3t-pw@h:7000/5", &err);
    is_str(a ? a->display : NULL, "redis://app:***@h:7000/5", "user, password hidden");
    a = parse("redis://[fe80::1%25eth0]:6380", &err);
    ok(a == NULL || strchr(a->display, '[') != NULL, "IPv6 in brackets: %s",
       a ? a->display : err);
    a = parse("unix:/run/r.sock?user=u&password=S3cr3t-pw&db=3", &err);
    is_str(a ? a->display : NULL, "unix:/run/r.sock?db=3&user=u&password=***",
           "unix: user, password hidden");
}

/* A password never comes out: not in the display, the error or the
 * redacted text, whether the address is accepted or refused. */
static void test_password_hidden(void)
{
    static const char *const texts[] = {
        "redis://:S3cr3t-pw@h:1/2", "redis://u:S3cr3t-pw@h",
        "redis://:S3cr3t-pw@h:99999", "redis://:S3cr3t-pw@h/x",
        "redis://:S3cr3t-pw@", "redis://u:S3cr3t-pw@@h",
        "unix:/s?password=S3cr3t-pw", "unix:/s?password=S3cr3t-pw&db=x",
        "unix:relative?password=S3cr3t-pw", "unix:/s?pass=S3cr3t-pw",
        "unix:/s?user=bad%20name&password=S3cr3t-pw",
    };
    int bad = 0;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        const char *err = NULL, *red = mt_redis_redact(texts[i], pool);
        mt_redis_addr_t *a = parse(texts[i], &err);

        if (strstr(red, "S3cr3t") || (err && strstr(err, "S3cr3t"))
            || (a && strstr(a->display, "S3cr3t"))) {
            bad++;
            printf("# shown: %s\n", texts[i]);
        }
    }
    is_int(bad, 0, "no password in a display, an error or a redaction");
}

/* Every byte value (but NUL) in the host, the port, the db and a unix
 * query: refused with a reason or accepted in range, and then shown in a
 * form that parses to the same place. */
static void test_every_byte(void)
{
    static const char *const forms[] = {
        "redis://h%cst:1/2", "redis://h:6%c/2", "redis://h:1/%c",
        "redis://u%c:pw@h", "unix:/s?db=%c", "unix:/s%c?db=1",
    };
    int bad = 0, seen = 0;

    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        for (int c = 1; c < 256; c++) {
            const char *text = apr_psprintf(pool, forms[f], c);
            const char *err = NULL, *err2 = NULL;
            mt_redis_addr_t *a = parse(text, &err), *b;

            seen++;
            if (!a) {
                bad += err == NULL || *err == '\0';
                continue;
            }
            b = parse(a->display, &err2);
            if (!b || b->is_unix != a->is_unix || b->db != a->db
                || a->db < 0 || a->db > MT_REDIS_DB_MAX
                || (!a->is_unix && (strcmp(a->host, b->host) != 0
                                    || a->port != b->port
                                    || a->port < 1 || a->port > 65535))
                || (a->is_unix && strcmp(a->path, b->path) != 0)) {
                bad++;
                printf("# %s -> %s: %s\n", text, a->display,
                       err2 ? err2 : "differs");
            }
        }
    }
    ok(seen == 6 * 255 && bad == 0, "%d addresses with every byte: a reason "
       "or a display that parses back (%d wrong)", seen, bad);
}

static void test_limits(void)
{
    const char *err = NULL;
    char path[200];

    ok(parse(apr_psprintf(pool, "redis://h/%d", MT_REDIS_DB_MAX), &err) != NULL,
       "db %d accepted", MT_REDIS_DB_MAX);
    ok(parse(apr_psprintf(pool, "redis://h/%d", MT_REDIS_DB_MAX + 1), &err) == NULL,
       "db %d refused: %s", MT_REDIS_DB_MAX + 1, err);
    ok(parse("redis://h:0000000000080", &err) == NULL, "a port of 13 digits refused");
    ok(parse("redis://h:65535", &err) != NULL, "port 65535 accepted");
    ok(parse("redis://h:65536", &err) == NULL, "port 65536 refused");
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    ok(parse(apr_pstrcat(pool, "unix:", path, NULL), &err) == NULL,
       "a socket path longer than sun_path refused: %s", err);
    ok(parse("", &err) == NULL && err && *err, "empty refused: %s", err);
    ok(parse("http://h", &err) == NULL && err && *err, "other scheme refused");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_display();
    test_password_hidden();
    test_every_byte();
    test_limits();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
