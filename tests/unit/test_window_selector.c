/* Unit tests for window/ selectors: parsing, operators, anchoring and error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "window/window.h"

static const win_attr ATTRS[] = {
    {"service.name", "checkout"},
    {"k8s.namespace.name", "prod-eu"},
    {"thread.name", "flate"},
    {"empty", ""},
};
#define N_ATTRS (sizeof ATTRS / sizeof ATTRS[0])

static bool matches(const char *text)
{
    char err[256];
    win_selector *sel = win_selector_parse(text, err, sizeof err);
    if (!sel)
        fail_msg("parse of %s failed: %s", text, err);
    bool r = win_selector_matches(sel, ATTRS, N_ATTRS);
    win_selector_free(sel);
    return r;
}

static void test_empty_selectors(void **state)
{
    (void)state;
    assert_true(matches(""));
    assert_true(matches("{}"));
    assert_true(matches("  { }  "));
    assert_true(win_selector_matches(NULL, ATTRS, N_ATTRS));
}

static void test_operators(void **state)
{
    (void)state;
    assert_true(matches("{service.name=\"checkout\"}"));
    assert_false(matches("{service.name=\"cart\"}"));
    assert_true(matches("{service.name!=\"cart\"}"));
    assert_false(matches("{service.name!=\"checkout\"}"));
    assert_true(matches("{k8s.namespace.name=~\"prod-.*\"}"));
    assert_false(matches("{k8s.namespace.name=~\"dev-.*\"}"));
    assert_true(matches("{k8s.namespace.name!~\"dev-.*\"}"));
    assert_false(matches("{k8s.namespace.name!~\"prod-.*\"}"));
    /* all matchers must hold */
    assert_true(matches("{service.name=\"checkout\", k8s.namespace.name=~\"prod-.*\"}"));
    assert_false(matches("{service.name=\"checkout\", thread.name=\"gc\"}"));
}

static void test_regex_anchoring(void **state)
{
    (void)state;
    assert_false(matches("{thread.name=~\"fla\"}"));
    assert_false(matches("{thread.name=~\"late\"}"));
    assert_true(matches("{thread.name=~\"fla.*\"}"));
    assert_true(matches("{thread.name=~\"flate|gc\"}")); /* alternation stays inside anchors */
    assert_false(matches("{thread.name=~\"fl|gc\"}"));
    assert_true(matches("{thread.name!~\"fla\"}"));
}

static void test_alias_quotes_whitespace(void **state)
{
    (void)state;
    assert_true(matches("{service_name=\"checkout\"}"));
    assert_false(matches("{service_name=\"cart\"}"));
    assert_true(matches("{ service.name = 'checkout' , }"));
    assert_true(matches("service.name=\"checkout\"")); /* braces optional */
    assert_true(matches("{\n\tservice.name =~ \"check.*\",\n}"));

    win_attr a[] = {{"path", "a\"b\\c"}, {"re", "x.y"}};
    char err[256];
    win_selector *sel = win_selector_parse("{path=\"a\\\"b\\\\c\", re=~'x\\.y'}", err, sizeof err);
    assert_non_null(sel);
    assert_true(win_selector_matches(sel, a, 2));
    a[1].value = "xzy"; /* \. is kept for the regex: a literal dot */
    assert_false(win_selector_matches(sel, a, 2));
    win_selector_free(sel);
}

static void test_absent_attribute(void **state)
{
    (void)state;
    assert_true(matches("{missing!=\"a\"}"));
    assert_true(matches("{missing=\"\"}"));
    assert_false(matches("{missing=\"a\"}"));
    assert_true(matches("{missing=~\"a|\"}"));
    assert_false(matches("{missing=~\".+\"}"));
    assert_true(matches("{empty=\"\"}"));
    assert_false(matches("{empty!=\"\"}"));
}

static void test_first_occurrence_wins(void **state)
{
    (void)state;
    win_attr a[] = {{"thread.name", "main"}, {"thread.name", "gc"}};
    char err[256];
    win_selector *sel = win_selector_parse("{thread.name=\"main\"}", err, sizeof err);
    assert_non_null(sel);
    assert_true(win_selector_matches(sel, a, 2));
    assert_false(win_selector_matches(sel, a + 1, 1));
    win_selector_free(sel);
}

static void expect_error(const char *text, const char *message)
{
    char err[256];
    win_selector *sel = win_selector_parse(text, err, sizeof err);
    if (sel) {
        win_selector_free(sel);
        fail_msg("%s parsed, expected: %s", text, message);
    }
    assert_string_equal(err, message);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("{service.name ~\"x\"}",
                 "selector: expected '=', '!=', '=~' or '!~' after \"service.name\" at offset 14");
    expect_error("{service.name=\"x\", k8s.namespace.name=~\"(\"}",
                 "selector: bad regex \"(\" for k8s.namespace.name: Unmatched ( or \\(");
    expect_error("{a=\"x}", "selector: unterminated string starting at offset 3");
    expect_error("{a='x\\'}", "selector: unterminated string starting at offset 3");
    expect_error("{a=\"x\"", "selector: missing '}' at offset 6");
    expect_error("{a=\"x\",", "selector: missing '}' at offset 7");
    expect_error("{=\"x\"}", "selector: expected an attribute name at offset 1");
    expect_error("{,}", "selector: expected an attribute name at offset 1");
    expect_error("{a=x}", "selector: expected a quoted value after \"a\" at offset 3");
    expect_error("{a=\"x\" b=\"y\"}", "selector: expected ',' or '}' after matcher at offset 7");
    expect_error("{a=\"x\"} junk", "selector: unexpected text after '}' at offset 8");
    expect_error("{a!~\"*x\"}",
                 "selector: bad regex \"*x\" for a: Invalid preceding regular expression");
    /* a pattern that would escape the anchors is refused on its own */
    expect_error("{a=~\"x)|(y\"}", "selector: bad regex \"x)|(y\" for a: Unmatched ( or \\(");
}

static void test_matcher_cap(void **state)
{
    (void)state;
    char text[64 * 8 + 16] = "{";
    for (int i = 0; i < 65; i++)
        strcat(text, "a=\"x\",");
    strcat(text, "}");
    expect_error(text, "selector: more than 64 matchers");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_selectors),  cmocka_unit_test(test_operators),
        cmocka_unit_test(test_regex_anchoring),  cmocka_unit_test(test_alias_quotes_whitespace),
        cmocka_unit_test(test_absent_attribute), cmocka_unit_test(test_first_occurrence_wins),
        cmocka_unit_test(test_errors),           cmocka_unit_test(test_matcher_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
