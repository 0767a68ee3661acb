/* A tiny TAP producer for the C unit tests (run through prove). */
#ifndef MT_TAP_H
#define MT_TAP_H

#include <stdio.h>
#include <string.h>
#include <stdarg.h>
#include <unistd.h>

static int mt_tap_n;
static int mt_tap_failed;

#define ok(cond, ...) mt_tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, name) do { \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        if (!ok(g_ == w_, "%s", name)) \
            printf("#   got %lld, want %lld\n", g_, w_); \
    } while (0)
#define is_str(got, want, name) do { \
        const char *g_ = (got), *w_ = (want); \
        int same_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_; \
        if (!ok(same_, "%s", name)) \
            printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", \
                   w_ ? w_ : "(null)"); \
    } while (0)

__attribute__((format(printf, 4, 5)))
static int mt_tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf("%sok %d - ", pass ? "" : "not ", ++mt_tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        printf("#   failed at %s line %d\n", file, line);
        mt_tap_failed++;
    }
    return pass;
}

/* Wait (up to 3 s) until pid, killed or exited but not reaped, is a
 * zombie; 1 when it is. For tests of what the core makes of zombies. */
static inline int mt_tap_wait_zombie(int pid)
{
    char path[64], buf[512];
    int i;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    for (i = 0; i < 600; i++) {
        FILE *f = fopen(path, "r");
        int z = 0;

        if (f && fgets(buf, sizeof(buf), f)) {
            const char *p = strrchr(buf, ')');
            z = p && p[1] == ' ' && p[2] == 'Z';
        }
        if (f)
            fclose(f);
        if (z)
            return 1;
        usleep(5000);
    }
    return 0;
}

static int done_testing(void)
{
    printf("1..%d\n", mt_tap_n);
    return mt_tap_failed ? 1 : 0;
}

#endif
