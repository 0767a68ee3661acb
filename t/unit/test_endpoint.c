/* Unit tests: endpoint names. */
#include <apr_general.h>
#include "mt_tap.h"
#include "mt_endpoint.h"
#include "mt_util.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const char *from(const char *method, const char *path)
{
    static char buf[MT_ENDPOINT_MAX + 1];
    return mt_endpoint_from_path(buf, method, path);
}

static void test_paths(void)
{
    is_str(from("GET", "/users/42/orders"), "GET /users/:id/orders", "digits");
    is_str(from("GET", "/users/42/orders?page=2&x=1"), "GET /users/:id/orders",
           "query dropped");
    is_str(from("GET", "/"), "GET /", "root");
    is_str(from("GET", ""), "GET /", "empty path");
    is_str(from("POST", "/a/123.json"), "POST /a/:id.json", "id with extension");
    is_str(from("GET", "/o/0b9a1c2e-4f5d-4a3b-9c8d-7e6f5a4b3c2d/x"),
           "GET /o/:id/x", "uuid");
    is_str(from("GET", "/f/deadbeefcafebabe0123"), "GET /f/:id", "long hex");
    is_str(from("GET", "/t/Xq3kZ9aQq0C2Wm1bT8s4rA"), "GET /t/:id", "base64url token");
    is_str(from("GET", "/admin/administration_settings"),
           "GET /admin/administration_settings", "a long word stays");
    is_str(from("GET", "/v2/items"), "GET /v2/items", "v2 stays");
    is_str(from("GET", "/deadbeef"), "GET /deadbeef", "short hex stays");
    is_str(from("OPTIONS", "*"), "OPTIONS *", "asterisk form");
    is_str(from(NULL, "/x"), "- /x", "no method");
    is_str(from("", "/x"), "- /x", "empty method");
    is_str(from("GET", "/a/1/b/2/c/3/d/4/e/5/f/6/g/7"),
           "GET /a/:id/b/:id/c/:id/d/:id/e/:id/f/:id/...", "segments bounded");
    ok(mt_endpoint_is_id("123", 3) && !mt_endpoint_is_id("12a", 3)
       && !mt_endpoint_is_id("", 0), "is_id");
}

static void test_clean(void)
{
    char long_path[2000];
    const char *n;
    size_t i;

    is_str(from("GET", "/a\x01" "b/\xff\xfe"), "GET /a?b/\xEF\xBF\xBD\xEF\xBF\xBD",
           "controls become ?, invalid bytes U+FFFD");
    is_str(from("GET", "/caf\xC3\xA9"), "GET /caf\xC3\xA9", "valid UTF-8 kept");
    memset(long_path, 'z', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    n = from("GET", long_path);
    ok(strlen(n) <= MT_ENDPOINT_MAX, "bounded (%zu bytes)", strlen(n));
    ok(strlen(n) > 3 && !strcmp(n + strlen(n) - 3, "..."), "a cut shows");
    long_path[0] = '/';
    for (i = 1; i + 1 < sizeof(long_path) - 1; i += 2) {
        long_path[i] = (char)0xC3;
        long_path[i + 1] = (char)0xA9;
    }
    n = from("GET", long_path);
    ok(strlen(n) <= MT_ENDPOINT_MAX && !strcmp(n + strlen(n) - 3, "..."),
       "a cut of multibyte text stays within the bound");
    ok(n[strlen(n) - 4] == (char)0xA9, "and falls on a character boundary");
}

static void test_names(void)
{
    char buf[MT_ENDPOINT_MAX + 1];

    is_str(mt_endpoint_name(buf, NULL, "ItemsController", "index", "GET",
                            "/items?x"), "ItemsController#index", "Rails");
    is_str(mt_endpoint_name(buf, "reports", "ItemsController", "index", "GET",
                            "/items"), "reports", "MemTrackEndpoint wins");
    is_str(mt_endpoint_name(buf, NULL, "ItemsController", NULL, "GET",
                            "/items/7"), "GET /items/:id", "controller alone: path");
    is_str(mt_endpoint_name(buf, NULL, "A\"<script>", "b\nc", "GET", "/"),
           "A\"<script>#b?c", "hostile names are cleaned of controls only "
           "(escaping is the writers' job)");
    ok(mt_endpoint_hash("a") != mt_endpoint_hash("b"), "hash");
}

/* The cleaning rules byte by byte, as written before the ASCII runs were
 * copied whole: the reference the writer is held to. */
static void ref_clean(char *out, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, o = 0;

    while (i < len) {
        size_t n = mt_utf8_seq_len(s + i, len - i);
        const char *w = n ? text + i : "\xEF\xBF\xBD";
        size_t wl = n ? n : 3;

        if (n == 1 && (s[i] < 0x20 || s[i] == 0x7F)) w = "?";
        if (o + wl > MT_ENDPOINT_MAX - 3) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, w, wl);
        o += wl;
        i += n ? n : 1;
    }
    out[o] = '\0';
}

/* Random names (printable runs, controls, DEL, valid and broken UTF-8, at
 * and around the length limit) come out as the reference says. */
static void test_clean_random(void)
{
    static const char *const bits[] = { "a", "Z9", "/x_y", " ", "\x01", "\x7F",
        "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xFF", "\xC3", "\xED\xA0\x80",
        "\xE2\x82", "~", "abcdefghijklmnopqrstuvwxyz0123456789" };
    char in[600], got[MT_ENDPOINT_MAX + 1], want[MT_ENDPOINT_MAX + 1];
    int bad = 0, i;

    srand(11);
    for (i = 0; i < 20000 && !bad; i++) {
        size_t len = 0, target = (size_t)(rand() % 400) + 1;
        /* every other name printable ASCII only (the copy at once), most
         * of those around the limit */
        int plain = i % 2, nbits = plain ? 1 : (int)(sizeof(bits) / sizeof(bits[0]));

        if (plain) target = (size_t)(rand() % 40) + (i % 4 == 1 ? 140 : 1);
        while (len < target) {
            const char *b = plain ? "abcdefghijklmnopqrstuvwxyz0123456789~ /" + rand() % 38
                                  : bits[rand() % nbits];
            size_t bl = strlen(b);
            if (len + bl >= sizeof(in)) break;
            memcpy(in + len, b, bl);
            len += bl;
        }
        in[len] = '\0';
        mt_endpoint_name(got, in, NULL, NULL, "GET", "/");
        ref_clean(want, in, len);
        if (strcmp(got, want) != 0) {
            bad = 1;
            printf("# name %d differs: got '%s' want '%s'\n", i, got, want);
        }
    }
    ok(!bad, "20000 random names cleaned and cut as byte by byte");
    memset(in, 'q', MT_ENDPOINT_MAX - 3);
    in[MT_ENDPOINT_MAX - 3] = '\0';
    mt_endpoint_name(got, in, NULL, NULL, "GET", "/");
    is_int((int)strlen(got), MT_ENDPOINT_MAX - 3, "a name that just fits is whole");
    strcat(in, "q");
    mt_endpoint_name(got, in, NULL, NULL, "GET", "/");
    ok(!strcmp(got + MT_ENDPOINT_MAX - 6, "qqq..."), "one byte more: cut");
}

static int cmp_uint(const void *x, const void *y)
{
    unsigned int a = *(const unsigned int *)x, b = *(const unsigned int *)y;

    return (a > b) - (a < b);
}

/* The hash: every byte of a name counts, at any length; few collisions. */
static void test_hash(void)
{
    char a[80], b[80];
    unsigned int *h = malloc(20000 * sizeof(*h));
    int bad = 0, same = 0, i, j;
    size_t n, k;

    for (n = 0; n < 70; n++) {
        memset(a, 'x', n);
        a[n] = '\0';
        for (k = 0; k < n; k++) {
            memcpy(b, a, n + 1);
            b[k] = 'y';
            bad += mt_endpoint_hash(a) == mt_endpoint_hash(b);
        }
        memcpy(b, a, n + 1);
        strcat(b, "x");
        bad += mt_endpoint_hash(a) == mt_endpoint_hash(b);
    }
    is_int(bad, 0, "a byte changed anywhere, or one more: another hash");
    srand(5);
    for (i = 0; i < 20000; i++) {
        snprintf(a, sizeof(a), "GET /%c%x/%d", 'a' + rand() % 26, rand(), i);
        h[i] = mt_endpoint_hash(a);
    }
    /* sorted, a run of k equal hashes is k(k-1)/2 colliding pairs */
    qsort(h, 20000, sizeof(*h), cmp_uint);
    for (i = 0; i < 20000; i = j) {
        for (j = i + 1; j < 20000 && h[j] == h[i]; j++) continue;
        same += (j - i) * (j - i - 1) / 2;
    }
    ok(same <= 2, "20000 names: %d colliding pairs (0.05 expected)", same);
    free(h);
}

int main(void)
{
    apr_initialize();
    test_paths();
    test_clean();
    test_clean_random();
    test_names();
    test_hash();
    apr_terminate();
    return done_testing();
}
