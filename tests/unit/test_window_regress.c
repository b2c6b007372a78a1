/* Regression tests for inputs found by fuzzing window/ (fuzz/run.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "window/window.h"

/* fuzz_selector out-of-memory (glibc regcomp era): a regex matcher whose value holds a run
 * of stacked '+' made regcomp allocate > 2 GB; it must be answered quickly */
static const char OOM_SELECTOR[] =
    "{a=~\042x.*    \012A\015\015\015\015\015\015\012\012\012\012\012\012\012               \015   "
    "      \017            +++++++++++++++++++++++++++++++++++++++++++++~\042+++++++++++++         "
    "                              \012A\015\015\015\015\015\015\012\012\012\012\012          \012 "
    "\012\012\015\012";

/* fuzz_selector timeout: anchored as "^(...)$", the stacked repeats of this value kept
 * glibc regcomp's epsilon closure busy for minutes */
static const char TIMEOUT_SELECTOR[] =
    "{a=~\042`*****++++\377\377\377\377\377\377\377\377++\077\245\001\241\077\042b}";

/* Parses `text`; when it parses, matches it against a long value. Either way the answer
 * (a refusal naming the regex, or 1/0/-1) must come at once. */
static void answered_quickly(const char *text, const char *refusal)
{
    int64_t t0 = base_now_mono_ns();
    char err[256] = "";
    win_selector *sel = win_selector_parse(text, NULL, err, sizeof err);
    if (refusal) {
        assert_null(sel);
        if (!strstr(err, refusal))
            fail_msg("%s: \"%s\" lacks \"%s\"", text, err, refusal);
    } else {
        if (!sel)
            fail_msg("%s refused: %s", text, err);
        static char value[8193];
        memset(value, 'x', sizeof value - 1);
        const win_attr attrs[] = {{"a", value}, {"b", "w"}};
        int r = win_selector_matches(sel, attrs, 2);
        assert_true(r >= -1 && r <= 1);
        win_selector_free(sel);
    }
    assert_true(base_now_mono_ns() - t0 < 3000000000LL);
}

static void test_regex_blowup_answered_quickly(void **state)
{
    (void)state;
    /* " ++" then "+": PCRE2 refuses a quantifier of a possessive quantifier */
    answered_quickly(OOM_SELECTOR, "bad regex");
    /* the \377 bytes are not UTF-8: refused with PCRE2's reason */
    answered_quickly(TIMEOUT_SELECTOR, "UTF-8 error");
    /* and without them, the stacked repeats compile (possessive) and match at once */
    answered_quickly("{a=~\"`*****++++\", b=\"w\"}", "quantifier does not follow");
    answered_quickly("{a=~\"`*+\"}", NULL);
    answered_quickly("{a=~\"(x{70}){70}\"}", NULL);
    answered_quickly("{a=~\"(x+x+)+y\"}", NULL);
    /* ordinary regexes still work */
    char err[256] = "";
    win_selector *sel = win_selector_parse("{a=~\"x.*\",b!~\"y+|z{2}\"}", NULL, err, sizeof err);
    assert_non_null(sel);
    const win_attr attrs[] = {{"a", "xyz"}, {"b", "w"}};
    assert_int_equal(win_selector_matches(sel, attrs, 2), 1);
    win_selector_free(sel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_blowup_answered_quickly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
