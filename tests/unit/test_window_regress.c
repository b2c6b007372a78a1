/* Regression tests for inputs found by fuzzing window/ (fuzz/run.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "window/window.h"

/* fuzz_selector out-of-memory: a regex matcher whose value holds a run of stacked '+'
 * made glibc regcomp allocate > 2 GB; it must be refused quickly with a reason */
static const char OOM_SELECTOR[] =
    "{a=~\042x.*    \012A\015\015\015\015\015\015\012\012\012\012\012\012\012               \015   "
    "      \017            +++++++++++++++++++++++++++++++++++++++++++++~\042+++++++++++++         "
    "                              \012A\015\015\015\015\015\015\012\012\012\012\012          \012 "
    "\012\012\015\012";

/* fuzz_selector timeout: anchored as "^(...)$", the stacked repeats of this value kept
 * glibc regcomp's epsilon closure busy for minutes */
static const char TIMEOUT_SELECTOR[] =
    "{a=~\042`*****++++\377\377\377\377\377\377\377\377++\077\245\001\241\077\042b}";

static void test_regex_blowup_refused(void **state)
{
    (void)state;
    char err[256] = "";
    win_selector *sel = win_selector_parse(OOM_SELECTOR, err, sizeof err);
    assert_null(sel);
    assert_non_null(strstr(err, "repeats a repeat"));
    err[0] = '\0';
    assert_null(win_selector_parse(TIMEOUT_SELECTOR, err, sizeof err));
    assert_non_null(strstr(err, "repeats a repeat"));
    sel = win_selector_parse("{a=~\"(x{70}){70}\"}", err, sizeof err);
    assert_null(sel);
    assert_non_null(strstr(err, "too complex"));
    /* ordinary regexes still work */
    sel = win_selector_parse("{a=~\"x.*\",b!~\"y+|z{2}\"}", err, sizeof err);
    assert_non_null(sel);
    const win_attr attrs[] = {{"a", "xyz"}, {"b", "w"}};
    assert_true(win_selector_matches(sel, attrs, 2));
    win_selector_free(sel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_blowup_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
