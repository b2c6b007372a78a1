/* Unit tests for window/ selectors: parsing, operators, anchoring and error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
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
    win_selector *sel = win_selector_parse(text, NULL, err, sizeof err);
    if (!sel)
        fail_msg("parse of %s failed: %s", text, err);
    int r = win_selector_matches(sel, ATTRS, N_ATTRS);
    win_selector_free(sel);
    if (r < 0)
        fail_msg("%s: a regex hit its match limit", text);
    return r == 1;
}

static void test_empty_selectors(void **state)
{
    (void)state;
    assert_true(matches(""));
    assert_true(matches("{}"));
    assert_true(matches("  { }  "));
    assert_int_equal(win_selector_matches(NULL, ATTRS, N_ATTRS), 1);
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
    win_selector *sel =
        win_selector_parse("{path=\"a\\\"b\\\\c\", re=~'x\\.y'}", NULL, err, sizeof err);
    assert_non_null(sel);
    assert_int_equal(win_selector_matches(sel, a, 2), 1);
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
    win_selector *sel = win_selector_parse("{thread.name=\"main\"}", NULL, err, sizeof err);
    assert_non_null(sel);
    assert_true(win_selector_matches(sel, a, 2));
    assert_false(win_selector_matches(sel, a + 1, 1));
    win_selector_free(sel);
}

static void expect_error(const char *text, const char *message)
{
    char err[256];
    win_selector *sel = win_selector_parse(text, NULL, err, sizeof err);
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
                 "selector: bad regex \"(\" for k8s.namespace.name: missing closing parenthesis "
                 "at offset 1");
    expect_error("{a=\"x}", "selector: unterminated string starting at offset 3");
    expect_error("{a='x\\'}", "selector: unterminated string starting at offset 3");
    expect_error("{a=\"x\"", "selector: missing '}' at offset 6");
    expect_error("{a=\"x\",", "selector: missing '}' at offset 7");
    expect_error("{=\"x\"}", "selector: expected an attribute name at offset 1");
    expect_error("{,}", "selector: expected an attribute name at offset 1");
    expect_error("{a=x}", "selector: expected a quoted value after \"a\" at offset 3");
    expect_error("{a=\"x\" b=\"y\"}", "selector: expected ',' or '}' after matcher at offset 7");
    expect_error("{a=\"x\"} junk", "selector: unexpected text after '}' at offset 8");
    expect_error("{a!~\"*x\"}", "selector: bad regex \"*x\" for a: quantifier does not follow a "
                                "repeatable item at offset 0");
    /* a pattern that would escape the anchors is refused on its own */
    expect_error("{a=~\"x)|(y\"}",
                 "selector: bad regex \"x)|(y\" for a: unmatched closing parenthesis at offset 1");
    /* the crash reproducer of issue 10 (glibc regexec recursed until SIGSEGV) and the other
     * spellings of a back-reference are refused with a reason the user sees */
    static const char BACKREF[] = "back-references (\\1, \\g{1}, \\k<name>, (?P=name), (?(1)...)) "
                                  "are not supported: use RE2/Go syntax";
    char want[512];
    static const char *const refs[] = {
        "{service.name=~\"()()(\\2\\2)*.*\"}",
        "{a=~\"(|)(\\1\\1)*\"}",
        "{a!~\"(?P<x>a)(?P=x)\"}",
        "{a=~'(?<x>a)\\k<x>'}",
        "{a=~\"(a)\\g{-1}\"}",
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        char err[512];
        win_selector *sel = win_selector_parse(refs[i], NULL, err, sizeof err);
        assert_null(sel);
        snprintf(want, sizeof want, "for %s: %s", i ? "a" : "service.name", BACKREF);
        if (!strstr(err, want))
            fail_msg("%s: \"%s\" lacks \"%s\"", refs[i], err, want);
    }
    /* a regex longer than the cap */
    char text[BASE_REGEX_MAX_LEN + 32];
    snprintf(text, sizeof text, "{a=~\"%0*d\"}", BASE_REGEX_MAX_LEN + 1, 0);
    char err[256];
    assert_null(win_selector_parse(text, NULL, err, sizeof err));
    assert_non_null(strstr(err, "regex longer than 1024 bytes"));
}

static void test_re2_syntax(void **state)
{
    (void)state;
    /* what Prometheus users write: flags, Perl classes, non-greedy, named groups */
    assert_true(matches("{service.name=~\"(?i)CHECK.*\"}"));
    assert_true(matches("{k8s.namespace.name=~\"prod-\\w{2}\"}"));
    assert_false(matches("{k8s.namespace.name=~\"prod-\\d+\"}"));
    assert_true(matches("{thread.name=~\"f.+?e\"}"));
    assert_true(matches("{thread.name=~\"(?P<t>fl)ate\"}"));
    assert_true(matches("{thread.name!~\"(?i)GC|FINALIZER\"}"));
    assert_true(matches("{service.name=~\"check(?:out|in)\"}"));
}

/* A value long enough that (a+)+ or (a|aa)+ backtracks past the match limit. */
static char long_value[5001];

static void test_match_limit_is_an_error(void **state)
{
    (void)state;
    memset(long_value, 'a', sizeof long_value - 1);
    long_value[sizeof long_value - 2] = 'b';
    const win_attr attrs[] = {{"a", long_value}, {"b", "short"}};
    static const char *const texts[] = {
        "{a=~\"(a+)+\"}",
        "{a!~\"(a+)+\"}", /* never taken as "did not match", so never as "!~ holds" */
        "{b=\"short\", a=~\"(a|aa)+\"}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char err[256];
        win_selector *sel = win_selector_parse(texts[i], NULL, err, sizeof err);
        assert_non_null(sel);
        assert_int_equal(win_selector_matches(sel, attrs, 2), -1);
        win_selector_free(sel);
    }
    /* an earlier matcher that fails decides before the expensive one runs */
    char err[256];
    win_selector *sel = win_selector_parse("{b=\"long\", a=~\"(a+)+\"}", NULL, err, sizeof err);
    assert_int_equal(win_selector_matches(sel, attrs, 2), 0);
    win_selector_free(sel);
}

/* Store queries fail as a whole, with the matcher named, when a regex hits its limit on a
 * resource attribute (decided per series) or a sample attribute (per label set). */
static void test_match_limit_fails_store_queries(void **state)
{
    (void)state;
    memset(long_value, 'a', sizeof long_value - 1);
    long_value[sizeof long_value - 2] = 'b';
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    const int64_t now = 1700000000LL * 1000000000LL;
    const win_frame_in frames[] = {{"main", "main.go", 1, 0, NULL, NULL, NULL, 0}};
    const uint32_t stack[] = {0};
    const win_stack_in stacks[] = {{stack, 1}};
    const win_attr res[] = {{"service.name", "svc"}, {"host.name", long_value}};
    const win_attr labels[] = {{"thread.name", long_value}};
    const win_sample_in samples[] = {
        {.stack = 0, .value = 7, .time_ns = now, .n_attrs = 1, .attrs = labels}};
    win_batch b = {"cpu:nanoseconds", res, 2, frames, 1, stacks, 1, samples, 1, NULL, false};
    char err[512];
    base_errbuf eb = {0};
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, now, &r, err, sizeof err), 0);

    static const struct {
        const char *sel, *want;
    } cases[] = {
        {"{host.name=~\"(a+)+\"}", "selector: host.name=~\"(a+)+\": regex too expensive"},
        {"{thread.name!~\"(a|aa)+\"}", "selector: thread.name!~\"(a|aa)+\": regex too expensive"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        win_selector *sel = win_selector_parse(cases[i].sel, NULL, err, sizeof err);
        assert_non_null(sel);
        win_query q = {"cpu:nanoseconds", sel, INT64_MIN, INT64_MAX, false};
        base_errbuf_clear(&eb);
        assert_null(win_merge(st, &q, &eb));
        assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT); /* the request's fault */
        if (strncmp(eb.text, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("win_merge %s: \"%s\"", cases[i].sel, eb.text);
        q.keep_labels = true;
        base_errbuf_clear(&eb);
        assert_null(win_merge(st, &q, &eb));
        assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT);
        assert_non_null(strstr(eb.text, cases[i].want));
        assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT);
        base_errbuf_clear(&eb);
        assert_null(win_list_profile_types(st, sel, INT64_MIN, INT64_MAX, &eb));
        assert_non_null(strstr(eb.text, cases[i].want));
        assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT);
        base_errbuf_clear(&eb);
        assert_null(win_list_labels(st, &q, &eb));
        assert_non_null(strstr(eb.text, cases[i].want));
        assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT);
        base_errbuf_clear(&eb);
        assert_null(win_list_label_values(st, &q, "service.name", &eb));
        assert_non_null(strstr(eb.text, cases[i].want));
        assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT);
        base_errbuf_clear(&eb);
        assert_null(win_query_timeseries(st, &q, 10000000000LL, NULL, NULL, 0, &eb));
        assert_non_null(strstr(eb.text, cases[i].want));
        assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT);
        win_selector_free(sel);
    }
    /* a bounded regex on the same values answers */
    win_selector *sel =
        win_selector_parse("{host.name=~\"a+b\", thread.name!~\"x.*\"}", NULL, err, sizeof err);
    assert_non_null(sel);
    win_query q = {"cpu:nanoseconds", sel, INT64_MIN, INT64_MAX, false};
    win_merged *m = win_merge(st, &q, NULL);
    assert_non_null(m);
    assert_int_equal(m->total, 7);
    win_merged_free(m);
    win_selector_free(sel);
    win_store_free(st);
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
        cmocka_unit_test(test_empty_selectors),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_regex_anchoring),
        cmocka_unit_test(test_alias_quotes_whitespace),
        cmocka_unit_test(test_absent_attribute),
        cmocka_unit_test(test_first_occurrence_wins),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_matcher_cap),
        cmocka_unit_test(test_re2_syntax),
        cmocka_unit_test(test_match_limit_is_an_error),
        cmocka_unit_test(test_match_limit_fails_store_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
