/* Regression tests for inputs found by fuzzing base/ users (fuzz/run.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static void ok(const char *re)
{
    char err[128] = "";
    if (base_regex_check(re, err, sizeof err) != 0)
        fail_msg("\"%s\" refused: %s", re, err);
}

static void refused(const char *re)
{
    char err[128] = "";
    if (base_regex_check(re, err, sizeof err) == 0)
        fail_msg("\"%s\" accepted", re);
    assert_true(strlen(err) > 0);
}

/* fuzz_selector: glibc regcomp took > 2 GB on " " followed by ~60 '+' (each '+' copies
 * the tree before it); the guard must refuse stacked and nested repeats before regcomp */
static void test_stacked_and_nested_repeats_refused(void **state)
{
    (void)state;
    char plus[80] = "x";
    memset(plus + 1, '+', 60);
    refused(plus);
    refused("a**************************************************************");
    /* fuzz_selector timeout: regcomp of "^(`*****++++...)$" ran for minutes */
    refused("`*****++++");
    refused("(a+?)");
    refused("a{2}*");
    refused("(((a{50}){50}){50})");
    refused("(a{1,32767})");
    refused("x{4001}");
    char deep[80] = "";
    for (int i = 0; i < 33; i++)
        strcat(deep, "(");
    refused(deep);
    char longp[BASE_REGEX_MAX_LEN + 2];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    refused(longp);
}

static void test_ordinary_patterns_accepted(void **state)
{
    (void)state;
    ok("x.*");
    ok("json|flate");
    ok("^runtime\\.");
    ok("encoding/json\\.\\(\\*decodeState\\)\\..*");
    ok("[[:alpha:]]+[]a-z]{2,5}(foo|bar)?");
    ok("a{3}b{0,10}c{2,}");
    ok("{");     /* a literal brace */
    ok("a)|(b"); /* regcomp decides; the guard only counts */
    ok("");
    ok("(a*)*b|(c+)?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stacked_and_nested_repeats_refused),
        cmocka_unit_test(test_ordinary_patterns_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
