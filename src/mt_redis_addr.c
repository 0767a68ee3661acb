/* mt_redis_addr: MemTrackRedis addresses, parsed, shown and redacted.
 * See include/mt_redis_addr.h. No hiredis, no threads, no network: it runs
 * when a directive is read (apachectl -t) and under the fuzzer
 * (t/fuzz/fuzz_redis_addr.c).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <apr_strings.h>
#include <apr_lib.h>

#include "mt_redis_addr.h"
#include "mt_util.h"

/* Decode %XX escapes; NULL when an escape is malformed or decodes to NUL. */
static char *pct_decode(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *out = apr_palloc(p, len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        if (i + 2 >= len || !apr_isxdigit(s[i + 1]) || !apr_isxdigit(s[i + 2]))
            return NULL;
        {
            char hex[3] = { s[i + 1], s[i + 2], 0 };
            long v = strtol(hex, NULL, 16);
            if (v == 0)
                return NULL;
            *o++ = (char)v;
        }
        i += 2;
    }
    *o = 0;
    return out;
}

/* A decimal in [lo, hi] spanning exactly s[0..len), at most 10 digits. */
static int parse_num(int *out, const char *s, apr_size_t len, long lo, long hi)
{
    apr_int64_t v = 0;

    if (len > 10 || mt_dec_parse(&v, s, len, lo, hi) != APR_SUCCESS)
        return 0;
    *out = (int)v;
    return 1;
}

static int host_is_sane(const char *h)
{
    if (!*h)
        return 0;
    for (; *h; h++)
        if (!apr_isalnum(*h) && !strchr(".-_:%", *h))
            return 0;
    return 1;
}

static const char *addr_display(const mt_redis_addr_t *a, apr_pool_t *p)
{
    const char *auth = "";

    if (a->password)
        auth = apr_pstrcat(p, a->username ? a->username : "", ":***@", NULL);
    if (a->is_unix)
        return apr_psprintf(p, "unix:%s?db=%d%s%s%s", a->path, a->db,
                            a->username ? "&user=" : "",
                            a->username ? a->username : "",
                            a->password ? "&password=***" : "");
    if (strchr(a->host, ':'))
        return apr_psprintf(p, "redis://%s[%s]:%d/%d", auth, a->host, a->port,
                            a->db);
    return apr_psprintf(p, "redis://%s%s:%d/%d", auth, a->host, a->port, a->db);
}

/* "[[user]:password@]" of a redis:// URL, given as s[0..len). */
static const char *parse_userinfo(mt_redis_addr_t *a, const char *s,
                                  apr_size_t len, apr_pool_t *p)
{
    const char *colon = memchr(s, ':', len);

    if (!colon)
        return "the part before '@' must be [user]:password";
    if (colon > s) {
        a->username = pct_decode(p, s, (apr_size_t)(colon - s));
        if (!a->username || !mt_reqid_is_safe(a->username, MT_REDIS_ID_MAX))
            return "bad user name before '@'";
    }
    a->password = pct_decode(p, colon + 1, len - (apr_size_t)(colon - s) - 1);
    if (!a->password || !*a->password)
        return "empty or badly escaped password";
    return NULL;
}

/* "host[:port][/db]" of a redis:// URL. */
static const char *parse_hostpart(mt_redis_addr_t *a, const char *s,
                                  apr_pool_t *p)
{
    const char *end, *rest;

    if (*s == '[') {
        end = strchr(s, ']');
        if (!end)
            return "missing ']' after IPv6 address";
        a->host = apr_pstrmemdup(p, s + 1, (apr_size_t)(end - s - 1));
        rest = end + 1;
    }
    else {
        end = s + strcspn(s, ":/");
        a->host = apr_pstrmemdup(p, s, (apr_size_t)(end - s));
        rest = end;
    }
    if (!host_is_sane(a->host))
        return apr_psprintf(p, "bad or missing host '%s'", a->host);
    if (*rest == ':') {
        apr_size_t n = strcspn(rest + 1, "/");
        if (!parse_num(&a->port, rest + 1, n, 1, 65535))
            return apr_psprintf(p, "bad port '%.*s' (1-65535)", (int)n,
                                rest + 1);
        rest += 1 + n;
    }
    if (*rest == '/' && rest[1]
        && !parse_num(&a->db, rest + 1, strlen(rest + 1), 0, MT_REDIS_DB_MAX))
        return apr_psprintf(p, "bad database '%s' (0-%d)", rest + 1,
                            MT_REDIS_DB_MAX);
    if (*rest && *rest != '/')
        return apr_psprintf(p, "unexpected '%s' after the host", rest);
    return NULL;
}

static const char *parse_tcp(mt_redis_addr_t *a, const char *s, apr_pool_t *p)
{
    const char *at = strrchr(s, '@');
    const char *err;

    a->port = MT_REDIS_DEFAULT_PORT;
    if (at) {
        if ((err = parse_userinfo(a, s, (apr_size_t)(at - s), p)) != NULL)
            return err;
        s = at + 1;
    }
    return parse_hostpart(a, s, p);
}

/* One "key=value" of a unix: address query. */
static const char *parse_unix_param(mt_redis_addr_t *a, const char *s,
                                    apr_size_t len, apr_pool_t *p)
{
    const char *eq = memchr(s, '=', len);
    apr_size_t klen = eq ? (apr_size_t)(eq - s) : len;
    apr_size_t vlen = eq ? len - klen - 1 : 0;

    if (klen == 2 && !strncmp(s, "db", 2)) {
        if (!eq || !parse_num(&a->db, eq + 1, vlen, 0, MT_REDIS_DB_MAX))
            return apr_psprintf(p, "bad database '%.*s' (0-%d)", (int)vlen,
                                eq ? eq + 1 : "", MT_REDIS_DB_MAX);
        return NULL;
    }
    if (klen == 8 && !strncmp(s, "password", 8)) {
        a->password = eq ? pct_decode(p, eq + 1, vlen) : NULL;
        return (a->password && *a->password)
            ? NULL : "empty or badly escaped password";
    }
    if (klen == 4 && !strncmp(s, "user", 4)) {
        a->username = eq ? pct_decode(p, eq + 1, vlen) : NULL;
        return (a->username && mt_reqid_is_safe(a->username, MT_REDIS_ID_MAX))
            ? NULL : "bad user name";
    }
    return apr_psprintf(p, "unknown parameter '%.*s' (db, user, password)",
                        (int)klen, s);
}

static const char *parse_unix(mt_redis_addr_t *a, const char *s, apr_pool_t *p)
{
    const char *q = strchr(s, '?');
    apr_size_t plen = q ? (apr_size_t)(q - s) : strlen(s);
    const char *err;

    a->is_unix = 1;
    if (!strncmp(s, "//", 2) && s[2] == '/') {   /* unix:///path */
        s += 2;
        plen -= 2;
    }
    if (plen < 2 || *s != '/')
        return "the socket path must be absolute (unix:/path/to/socket)";
    if (plen >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return "the socket path is too long";
    a->path = apr_pstrmemdup(p, s, plen);
    while (q) {
        const char *item = q + 1;
        apr_size_t n = strcspn(item, "&");
        if ((err = parse_unix_param(a, item, n, p)) != NULL)
            return err;
        q = item[n] ? item + n : NULL;
    }
    if (a->username && !a->password)
        return "a user needs a password";
    return NULL;
}

apr_status_t mt_redis_addr_parse(mt_redis_addr_t **paddr, const char **err,
                                 const char *text, apr_pool_t *p)
{
    mt_redis_addr_t *a = apr_pcalloc(p, sizeof(*a));
    const char *e;

    *paddr = NULL;
    *err = NULL;
    if (!text || !*text)
        e = "empty address";
    else if (!strncasecmp(text, "redis://", 8))
        e = parse_tcp(a, text + 8, p);
    else if (!strncasecmp(text, "unix:", 5))
        e = parse_unix(a, text + 5, p);
    else
        e = "expected redis://[[user]:password@]host[:port][/db] "
            "or unix:/path[?db=N][&password=P]";
    if (e) {
        *err = e;
        return APR_EINVAL;
    }
    a->display = addr_display(a, p);
    *paddr = a;
    return APR_SUCCESS;
}

/* Query part "?k=v&k=v" with every value but db's replaced by "***": a
 * misspelt "pass=" must not show either. */
static const char *redact_query(const char *q, apr_pool_t *p)
{
    const char *out = "";

    while (*q) {
        apr_size_t n = strcspn(q + 1, "&");
        const char *item = apr_pstrmemdup(p, q + 1, n);
        const char *eq = strchr(item, '=');

        if (eq && strncmp(item, "db=", 3) != 0)
            item = apr_pstrcat(p, apr_pstrmemdup(p, item,
                               (apr_size_t)(eq - item)), "=***", NULL);
        out = apr_pstrcat(p, out, q[0] == '?' ? "?" : "&", item, NULL);
        q += 1 + n;
    }
    return out;
}

const char *mt_redis_redact(const char *text, apr_pool_t *p)
{
    const char *scheme, *at, *q;
    char *out;

    if (!text)
        return "(none)";
    out = apr_pstrdup(p, text);
    scheme = strstr(out, "://");
    at = strrchr(out, '@');
    if (scheme && at && at > scheme)
        out = apr_pstrcat(p, apr_pstrmemdup(p, out, (apr_size_t)(scheme - out)),
                          "://***", at, NULL);
    if ((q = strchr(out, '?')) != NULL)
        out = apr_pstrcat(p, apr_pstrmemdup(p, out, (apr_size_t)(q - out)),
                          redact_query(q, p), NULL);
    return out;
}
