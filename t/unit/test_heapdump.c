/* Unit tests: the streaming reader of ObjectSpace.dump_all JSON Lines
 * (src/mt_heapdump.c). The same text fed whole, byte by byte and in
 * random chunks gives the same objects; Ruby's own lines (ROOT lines,
 * nested flags and references, escapes, a 100 KB string value) come out
 * with the fields the diff needs; bad lines are skipped and counted; a
 * long file name keeps its end; a file is read with limits, errors and a
 * cancel flag. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "mt_tap.h"
#include "mt_heapdump.h"

static apr_pool_t *pool;

#define MAX_SEEN 32

typedef struct {
    int          n;
    mt_heapobj_t o[MAX_SEEN];
    char         file[MAX_SEEN][600];
    char         name[MAX_SEEN][300];
    int          stop_after;     /* 0: never */
} seen_t;

static int collect(void *baton, const mt_heapobj_t *obj)
{
    seen_t *s = baton;

    if (s->n < MAX_SEEN) {
        s->o[s->n] = *obj;
        s->file[s->n][0] = s->name[s->n][0] = '\0';
        if (obj->file) memcpy(s->file[s->n], obj->file, obj->file_len + 1);
        if (obj->name) memcpy(s->name[s->n], obj->name, obj->name_len + 1);
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

/* Feed text in chunks of `chunk` bytes (0: random sizes 1..97). */
static mt_heapdump_stats_t feed(seen_t *s, const char *text, apr_size_t chunk)
{
    mt_heapdump_t *d = mt_heapdump_create(collect, s, pool);
    apr_size_t len = strlen(text), i = 0;

    memset(s, 0, sizeof(*s));
    srand(7);
    while (i < len) {
        apr_size_t n = chunk ? chunk : (apr_size_t)(rand() % 97 + 1);
        if (n > len - i) n = len - i;
        mt_heapdump_push(d, text + i, n);
        i += n;
    }
    mt_heapdump_finish(d);
    return *mt_heapdump_stats(d);
}

static const char *ruby_lines =
    "{\"type\":\"ROOT\", \"root\":\"vm\", \"references\":[\"0x7f4e763c7ca8\", "
    "\"0x7f4e7639bfb8\"]}\n"
    "{\"address\":\"0x7f4e76bd8168\", \"type\":\"CLASS\", \"class\":"
    "\"0x7f4e76bd8140\", \"superclass\":\"0x7f4e76bd84b0\", \"name\":"
    "\"Gem::UnknownCommandError\", \"references\":[\"0x7f4e76bd84b0\"], "
    "\"memsize\":544, \"flags\":{\"wb_protected\":true, \"old\":true}}\n"
    "{\"address\":\"0x7f4e72ec3408\", \"type\":\"STRING\", \"class\":"
    "\"0x7f4e7639e420\", \"embedded\":true, \"bytesize\":21, \"value\":"
    "\"a\\\"b\\\\c{[}]\\u00e9\", \"encoding\":\"UTF-8\", \"file\":"
    "\"/srv/app/app/x.rb\", \"line\":12, \"method\":\"*\", \"generation\":9, "
    "\"memsize\":40, \"flags\":{\"wb_protected\":true}}\n"
    "  {\"address\" : \"0x10\" , \"type\":\"HASH\",\"file\":\"q\\\"u\\\\o\\u00e9\","
    "\"line\":-3,\"generation\":1.5,\"memsize\":1e3,\"x\":null,\"y\":false}  \r\n"
    "\n";

static void test_ruby_lines(void)
{
    static const apr_size_t chunks[] = { 100000, 1, 2, 3, 7, 0 };
    seen_t s;
    mt_heapdump_stats_t st;
    unsigned int i;

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        st = feed(&s, ruby_lines, chunks[i]);
        if (!ok(s.n == 4 && st.bad_lines == 0 && st.lines == 4,
                "chunks of %u: 4 objects, no bad line", (unsigned)chunks[i])) {
            printf("#   got %d objects, %lld bad\n", s.n, (long long)st.bad_lines);
            continue;
        }
        is_int(s.o[0].address, 0, "a ROOT line has no address");
        is_str(s.o[0].type, "ROOT", "its type");
        is_int(s.o[1].address, 0x7f4e76bd8168ULL, "the class's address");
        is_str(s.name[1], "Gem::UnknownCommandError", "its name");
        is_int(s.o[1].memsize, 544, "its memsize, after a nested array");
        is_int(s.o[1].generation, -1, "untraced: no generation");
        ok(s.o[1].file == NULL, "and no file");
        is_int(s.o[2].class_addr, 0x7f4e7639e420ULL, "a string's class");
        is_str(s.file[2], "/srv/app/app/x.rb", "its file");
        is_int(s.o[2].line, 12, "line");
        is_int(s.o[2].generation, 9, "generation");
        is_int(s.o[2].memsize, 40, "memsize after an escaped value");
        is_str(s.o[2].type, "STRING", "type");
        is_int(s.o[3].address, 0x10, "spaces around keys and colons");
        is_str(s.file[3], "q\"u\\o\xc3\xa9", "escapes in a kept string decoded");
        is_int(s.o[3].line, -3, "a negative number");
        is_int(s.o[3].generation, -1, "a fraction is not an integer: absent");
        is_int(s.o[3].memsize, 0, "nor an exponent");
    }
}

static void test_long_values(void)
{
    apr_size_t n = 100000, i;
    char *big = apr_palloc(pool, n + 4096);
    char *file = apr_palloc(pool, 1200);
    seen_t s;
    mt_heapdump_stats_t st;

    for (i = 0; i < 1000; i++) file[i] = (char)('a' + i % 26);
    memcpy(file + 1000, "/tail.rb", 9);
    i = (apr_size_t)apr_snprintf(big, 200, "{\"address\":\"0x8\", \"value\":\"");
    memset(big + i, 'v', n);
    i += n;
    apr_snprintf(big + i, 4096 - 8, "\", \"file\":\"%s\", \"line\":3, "
                 "\"memsize\":100041}\n", file);
    st = feed(&s, big, 65536);
    is_int(s.n, 1, "a line with a 100 KB string value");
    is_int(st.bad_lines, 0, "is no bad line");
    is_int(s.o[0].memsize, 100041, "its memsize");
    is_int(s.o[0].file_len, MT_HEAPDUMP_STR_MAX, "a long file name is cut");
    ok(s.o[0].file_cut, "and says so");
    ok(strlen(s.file[0]) == MT_HEAPDUMP_STR_MAX
       && !strcmp(s.file[0] + MT_HEAPDUMP_STR_MAX - 8, "/tail.rb"),
       "keeping its end");
}

static void test_bad_lines(void)
{
    seen_t s;
    mt_heapdump_stats_t st;
    const char *text =
        "not json\n"
        "{\"address\":\"0x1\"}\n"
        "[1,2]\n"
        "{\"address\":\"0x2\", \"line\":\n"
        "{\"address\":\"0x3\" \"line\":1}\n"
        "{\"address\":\"0x4\", \"flag\":trux}\n"
        "{\"address\":\"0x5\", \"value\":\"\\q\"}\n"
        "{\"address\":\"0x6\"} trailing\n"
        "{\"address\":\"0x7\", \"v\":\"unterminated\n"
        "{\"address\":\"0x8\", \"a\":{\"b\":[1,{\"c\":\"}\"}]}}\n"
        "{\"address\":\"0xzz\", \"class\":\"7f\"}\n"
        "{\"address\":\"0x9\", \"line\":12345678901234567890}\n"
        "{\"address\":\"0xa\", \"line\":";   /* cut short by a full disk */

    st = feed(&s, text, 5);
    is_int(s.n, 4, "four good objects among the bad lines");
    is_int(st.bad_lines, 9, "nine bad lines counted, the cut last one too");
    is_int(s.o[0].address, 1, "the first good one");
    is_int(s.o[1].address, 8, "a nested value with braces in a string");
    is_int(s.o[2].address, 0, "a bad address is 0");
    is_int(s.o[2].class_addr, 0, "so is a class without 0x");
    is_int(s.o[3].address, 9, "a number too long");
    is_int(s.o[3].line, -1, "is absent");
    st = feed(&s, "{\"address\":\"0xb\"}", 3);
    is_int(s.n, 1, "a last line without its newline counts");
}

static void test_stop(void)
{
    seen_t s;
    mt_heapdump_t *d;
    const char *text = "{\"address\":\"0x1\"}\n{\"address\":\"0x2\"}\n"
                       "{\"address\":\"0x3\"}\n";

    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    d = mt_heapdump_create(collect, &s, pool);
    is_int(mt_heapdump_push(d, text, strlen(text)), APR_EINTR,
           "the callback stops the reading");
    is_int(s.n, 2, "after its second object");
    is_int(mt_heapdump_finish(d), APR_EINTR, "and it stays stopped");
}

static void test_files(void)
{
    char path[] = "/tmp/mt-test-heapdump-XXXXXX";
    char err[200];
    mt_heapdump_stats_t st;
    volatile apr_uint32_t cancel = 1;
    seen_t s;
    int fd = mkstemp(path);

    ok(fd >= 0, "a temp file");
    if (write(fd, ruby_lines, strlen(ruby_lines)) < 0) {
        ok(0, "write");
    }
    close(fd);
    memset(&s, 0, sizeof(s));
    is_int(mt_heapdump_read(path, collect, &s, NULL, 0, &st, err, sizeof(err),
                            pool), APR_SUCCESS, "a file is read");
    is_int(s.n, 4, "its objects");
    is_int(st.bytes, (apr_int64_t)strlen(ruby_lines), "its bytes counted");
    ok(mt_heapdump_read(path, collect, &s, NULL, 10, &st, err, sizeof(err),
                        pool) != APR_SUCCESS, "a file over max_bytes is refused");
    ok(strstr(err, "more than the limit") != NULL, "saying so: %s", err);
    is_int(mt_heapdump_read(path, collect, &s, &cancel, 0, &st, err,
                            sizeof(err), pool), APR_ECONNABORTED,
           "a set cancel flag stops it");
    unlink(path);
    ok(mt_heapdump_read(path, collect, &s, NULL, 0, &st, err, sizeof(err),
                        pool) != APR_SUCCESS, "a missing file is an error");
    ok(strstr(err, "cannot open") != NULL, "named: %s", err);
    ok(mt_heapdump_read("/tmp", collect, &s, NULL, 0, &st, err, sizeof(err),
                        pool) != APR_SUCCESS, "so is a directory");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_ruby_lines();
    test_long_values();
    test_bad_lines();
    test_stop();
    test_files();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
