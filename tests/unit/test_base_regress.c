/* Regression tests for inputs found by fuzzing base/ users (fuzz/run.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

/* Subjects each hostile pattern is matched against: empty, short, and the longest string
 * the store keeps (8 KiB) in a few shapes that make backtracking work hard. */
#define LONG 8192
static char *subjects[5];

static int setup(void **state)
{
    (void)state;
    subjects[0] = strdup("");
    subjects[1] = strdup("x`aaaa+");
    for (int i = 2; i < 5; i++) {
        subjects[i] = malloc(LONG + 1);
        if (!subjects[i])
            return -1;
    }
    memset(subjects[2], 'a', LONG);
    memset(subjects[3], 'x', LONG);
    subjects[3][LONG - 1] = '!';
    for (int i = 0; i < LONG; i++)
        subjects[4][i] = "`+ a"[i % 4];
    for (int i = 2; i < 5; i++)
        subjects[i][LONG] = '\0';
    return subjects[0] && subjects[1] ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++)
        free(subjects[i]);
    return 0;
}

/* The pattern is answered quickly: refused with a reason, or compiled (both ways) and
 * matched against every subject with a result or a limit error, all within a bound far
 * below what glibc took (minutes, gigabytes) and far above what PCRE2 needs. */
static void answered_quickly(const char *pattern)
{
    int64_t t0 = base_now_mono_ns();
    for (unsigned flags = 0; flags <= BASE_REGEX_ANCHORED; flags += BASE_REGEX_ANCHORED) {
        char err[256] = "";
        base_regex *re = base_regex_compile(pattern, flags, err, sizeof err);
        if (!re) {
            if (!err[0])
                fail_msg("\"%.60s\" refused without a reason", pattern);
            continue;
        }
        for (int i = 0; i < 5; i++) {
            int r = base_regex_match(re, subjects[i], strlen(subjects[i]));
            assert_true(r >= -1 && r <= 1);
        }
        base_regex_free(re);
    }
    int64_t ms = (base_now_mono_ns() - t0) / 1000000;
    if (ms > 3000)
        fail_msg("\"%.60s\" took %lld ms", pattern, (long long)ms);
}

/* fuzz_selector (glibc regcomp era): > 2 GB on " " followed by ~60 '+', minutes on
 * "^(`*****++++...)$", and nested or huge bounded repeats. The POSIX-era guard refused
 * them; on PCRE2 they are compiled into a bounded program or refused by PCRE2 itself. */
static void test_old_hostile_patterns_answered_quickly(void **state)
{
    (void)state;
    char plus[80] = "x";
    memset(plus + 1, '+', 60);
    answered_quickly(plus);
    answered_quickly("a**************************************************************");
    answered_quickly("`*****++++");
    answered_quickly("^(`*****++++)$");
    answered_quickly("(a+?)");
    answered_quickly("a{2}*");
    answered_quickly("(((a{50}){50}){50})");
    answered_quickly("(a{1,32767})");
    answered_quickly("(a{1,65535}){1,65535}");
    answered_quickly("x{4001}");
    answered_quickly("(x{70}){70}");
    answered_quickly("(a*)*b|(c+)?");
    answered_quickly("(a|aa)*$");
    answered_quickly("((a*)*)*b");
    char deep[80] = "";
    for (int i = 0; i < 33; i++)
        strcat(deep, "(");
    answered_quickly(deep);
    char longp[BASE_REGEX_MAX_LEN + 2];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    answered_quickly(longp);
}

static void test_ordinary_patterns_accepted(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "x.*",
        "json|flate",
        "^runtime\\.",
        "encoding/json\\.\\(\\*decodeState\\)\\..*",
        "[[:alpha:]]+[]a-z]{2,5}(foo|bar)?",
        "a{3}b{0,10}c{2,}",
        "{", /* a literal brace */
        "",
        "(a*)*b|(c+)?",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char err[256] = "";
        base_regex *re = base_regex_compile(ok[i], BASE_REGEX_ANCHORED, err, sizeof err);
        if (!re)
            fail_msg("\"%s\" refused: %s", ok[i], err);
        base_regex_free(re);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_hostile_patterns_answered_quickly),
        cmocka_unit_test(test_ordinary_patterns_accepted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
