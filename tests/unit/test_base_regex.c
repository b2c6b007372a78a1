/* Unit tests for base/ regexes (PCRE2 with limits): RE2/Go syntax, anchoring, refused
 * back-references, and patterns that would backtrack for ever answering with an error. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

/* 1 / 0 / -1 of matching `subject` against `pattern` compiled with `flags`; fails the test
 * when the pattern is refused. */
static int match(const char *pattern, unsigned flags, const char *subject)
{
    char err[256] = "";
    base_regex *re = base_regex_compile(pattern, flags, err, sizeof err);
    if (!re)
        fail_msg("\"%s\" refused: %s", pattern, err);
    int r = base_regex_match(re, subject, strlen(subject));
    base_regex_free(re);
    return r;
}

static int full(const char *pattern, const char *subject)
{
    return match(pattern, BASE_REGEX_ANCHORED, subject);
}

static int search(const char *pattern, const char *subject)
{
    return match(pattern, 0, subject);
}

/* Asserts `pattern` is refused with a reason containing `why`. */
static void refused(const char *pattern, const char *why)
{
    char err[256] = "";
    base_regex *re = base_regex_compile(pattern, BASE_REGEX_ANCHORED, err, sizeof err);
    if (re) {
        base_regex_free(re);
        fail_msg("\"%s\" compiled, expected a refusal (%s)", pattern, why);
    }
    if (!strstr(err, why))
        fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", pattern, err, why);
}

static void test_back_references_refused(void **state)
{
    (void)state;
    /* the crash reproducers of issue 10 (glibc regexec recursed until SIGSEGV) */
    refused("(|)(\\1\\1)*", "back-references");
    refused("()()(\\2\\2)*.*", "back-references");
    /* every spelling PCRE2 knows */
    refused("(a)\\1", "back-references");
    refused("(a)\\g1", "back-references");
    refused("(a)\\g{1}", "back-references");
    refused("(a)\\g{-1}", "back-references");
    refused("(?<n>a)\\k<n>", "back-references");
    refused("(?<n>a)\\k'n'", "back-references");
    refused("(?<n>a)\\k{n}", "back-references");
    refused("(?P<n>a)(?P=n)", "back-references");
    refused("(?<n>a)\\g{n}", "back-references");
    refused("(a)(?(1)b|c)", "back-references");
    /* not back-references: an octal escape, a class member, quoted text */
    assert_int_equal(full("(a)\\10", "a\b"), 1);
    assert_int_equal(full("[\\1]", "\x01"), 1);
    assert_int_equal(full("\\Q\\1\\E", "\\1"), 1);
    /* a reference to a group that does not exist is PCRE2's own error */
    refused("\\8", "non-existent");
}

static void test_re2_syntax_accepted(void **state)
{
    (void)state;
    assert_int_equal(full("(?i)checkout", "CheckOut"), 1);
    assert_int_equal(full("(?i:prod)-eu", "PROD-eu"), 1);
    assert_int_equal(full("(?i:prod)-eu", "PROD-EU"), 0);
    assert_int_equal(full("pid-\\d+", "pid-4711"), 1);
    assert_int_equal(full("pid-\\d+", "pid-47a1"), 0);
    assert_int_equal(full("a.+?b", "axxb"), 1); /* non-greedy */
    assert_int_equal(full("a.*?", "abc"), 1);
    assert_int_equal(full("(?U)a+b", "aaab"), 1);
    assert_int_equal(full("(?P<svc>check)out", "checkout"), 1);
    assert_int_equal(full("(?:x|y){2,3}", "xyx"), 1);
    assert_int_equal(full("[[:alpha:]]+[[:digit:]]", "abc1"), 1);
    assert_int_equal(full("\\pL+", "Grüße"), 1); /* UTF-8 */
    assert_int_equal(full("Gr.ße", "Grüße"), 1); /* "." is one character, not one byte */
    assert_int_equal(full("\\x{e9}t\\x{e9}", "été"), 1);
    assert_int_equal(full("a\\z", "a"), 1);
    assert_int_equal(search("\\bjson\\b", "encoding/json.Unmarshal"), 1);
    assert_int_equal(full("\\Qa.b\\E", "a.b"), 1);
    assert_int_equal(full("\\Qa.b\\E", "axb"), 0);
    assert_int_equal(full("", ""), 1);
    assert_int_equal(search("", "anything"), 1);
}

static void test_re2_semantics(void **state)
{
    (void)state;
    /* \d, \w are ASCII as in RE2: an Arabic-Indic digit is not \d */
    assert_int_equal(full("\\d", "\xd9\xa3"), 0);
    assert_int_equal(full("\\w+", "abc_1"), 1);
    /* Prometheus matchers use DotNL: "." matches a newline */
    assert_int_equal(full("a.b", "a\nb"), 1);
    /* "$" is the end of the text, not also before a final newline */
    assert_int_equal(search("a$", "a\n"), 0);
    assert_int_equal(search("a$", "xa"), 1);
    /* (?i) folds beyond ASCII */
    assert_int_equal(full("(?i)ÉTÉ", "été"), 1);
    /* invalid UTF-8 in a subject (a value cut mid-character): each byte that does not
     * start a valid sequence reads as U+FFFD, as in Go, and anchoring still holds */
    assert_int_equal(full(".*", "ab\xc3"), 1);
    assert_int_equal(full("ab", "ab\xc3"), 0);
    assert_int_equal(search("ab", "ab\xc3"), 1);
    assert_int_equal(full("ab.", "ab\xff"), 1);
    assert_int_equal(full("ab\\x{fffd}", "ab\xff"), 1);
    assert_int_equal(full("a..b", "a\xe2\x82"
                                  "b"),
                     1); /* a cut 3-byte sequence: 2 x U+FFFD */
    assert_int_equal(full("a.b", "a\xed\xa0\x80"
                                 "b"),
                     0); /* a surrogate: 3 x U+FFFD */
    assert_int_equal(full("a...b", "a\xed\xa0\x80"
                                   "b"),
                     1);
    assert_int_equal(full("a.b", "a\xc0\xaf"
                                 "b"),
                     0); /* an overlong "/" is not "/" */
    assert_int_equal(full("x.*é", "x\xffé"), 1);
    /* NULL subject = "" */
    char err[128];
    base_regex *re = base_regex_compile("x?", BASE_REGEX_ANCHORED, err, sizeof err);
    assert_non_null(re);
    assert_int_equal(base_regex_match(re, NULL, 0), 1);
    base_regex_free(re);
    base_regex_free(NULL);
}

static void test_anchoring(void **state)
{
    (void)state;
    assert_int_equal(full("fla", "flate"), 0);
    assert_int_equal(full("late", "flate"), 0);
    assert_int_equal(full("fla.*", "flate"), 1);
    assert_int_equal(full("flate|gc", "flate"), 1);
    assert_int_equal(full("fl|gc", "flate"), 0); /* alternation stays inside the anchors */
    assert_int_equal(full("gc|fl", "flate"), 0);
    assert_int_equal(full("(?x) f l a t e  # comment", "flate"), 1);
    assert_int_equal(full("(?x)fla # a comment cannot eat the anchor", "flate"), 0);
    assert_int_equal(full("a|", ""), 1);
    assert_int_equal(full(".+", ""), 0);
    /* unanchored: a search anywhere */
    assert_int_equal(search("late", "flate"), 1);
    assert_int_equal(search("^fl", "flate"), 1);
    assert_int_equal(search("^late", "flate"), 0);
    /* a pattern that would escape anchors written around it is refused on its own */
    refused("x)|(y", "unmatched closing parenthesis");
}

static void test_compile_limits(void **state)
{
    (void)state;
    char longp[BASE_REGEX_MAX_LEN + 2];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    refused(longp, "longer than 1024 bytes");
    longp[BASE_REGEX_MAX_LEN] = '\0';
    assert_int_equal(full(longp, longp), 1); /* exactly the cap is fine */

    char deep[2 * (BASE_REGEX_MAX_NEST + 1) + 1];
    for (int n = BASE_REGEX_MAX_NEST; n <= BASE_REGEX_MAX_NEST + 1; n++) {
        memset(deep, '(', (size_t)n);
        memset(deep + n, ')', (size_t)n);
        deep[2 * n] = '\0';
        if (n == BASE_REGEX_MAX_NEST)
            assert_int_equal(full(deep, ""), 1);
        else
            refused(deep, "parentheses are too deeply nested");
    }
    refused("a\\Cb", "\\C");
    refused("(*UCP)\\d", "UCP");
    refused("(", "missing closing parenthesis at offset 1");
    refused("*x", "quantifier does not follow a repeatable item at offset 0");
    refused("ab\xff", "UTF-8 error");
    /* repeats of repeats compile to a bounded program, or are refused as too large */
    refused("(((a{100}){100}){100})", "too large");
    assert_int_equal(full("(((a{20}){20}){20})", "a"), 0);
}

/* A subject of `n` 'a's and a final 'b' (malloc'd). */
static char *a_then_b(size_t n)
{
    char *s = malloc(n + 3); /* room for one more character */
    assert_non_null(s);
    memset(s, 'a', n);
    s[n] = 'b';
    s[n + 1] = '\0';
    return s;
}

static void expect_too_expensive(const char *pattern, unsigned flags, const char *subject)
{
    char err[256] = "";
    base_regex *re = base_regex_compile(pattern, flags, err, sizeof err);
    if (!re)
        fail_msg("\"%s\" refused: %s", pattern, err);
    int64_t t0 = base_now_mono_ns();
    int r = base_regex_match(re, subject, strlen(subject));
    int64_t ms = (base_now_mono_ns() - t0) / 1000000;
    base_regex_free(re);
    if (r != -1)
        fail_msg("\"%s\" on %zu bytes: %d, expected -1 (limit hit)", pattern, strlen(subject), r);
    /* ~1 ms optimised, a few ms under sanitizers: 2 s only catches a missing limit */
    if (ms > 2000)
        fail_msg("\"%s\": the limit took %lld ms to hit", pattern, (long long)ms);
}

static void test_catastrophic_patterns_hit_the_limit(void **state)
{
    (void)state;
    char *s = a_then_b(10000);
    /* exponential backtracking: an error, never a silent "no match" */
    expect_too_expensive("(a+)+$", 0, s);
    expect_too_expensive("(a+)+", BASE_REGEX_ANCHORED, s);
    expect_too_expensive("(a|aa)+$", 0, s);
    expect_too_expensive("(.*a){20}", BASE_REGEX_ANCHORED, s);
    /* (PCRE2 sees at once that a "c" is required and absent: no work) */
    assert_int_equal(search("(a|a)*c", s), 0);
    strcat(s, "c"); /* ...aaabc */
    expect_too_expensive("(a|a)*c", 0, s);
    expect_too_expensive("(?:a*)*c", BASE_REGEX_ANCHORED, s);
    free(s);
    /* depth and heap: one backtracking frame per repetition of a group, 200,000 deep */
    s = a_then_b(200000);
    expect_too_expensive("(?:(a)|b)*c", BASE_REGEX_ANCHORED, s);
    free(s);
    /* the same patterns on short subjects still answer */
    assert_int_equal(search("(a+)+$", "aaab"), 0);
    assert_int_equal(search("(a+)+$", "baaa"), 1);
    /* a legitimate pattern over the longest string the store keeps (8 KiB) is fine */
    s = a_then_b(8191);
    assert_int_equal(full("(?:a|b)*", s), 1);
    assert_int_equal(full("a.*b", s), 1);
    assert_int_equal(search("a+b$", s), 1);
    free(s);
}

typedef struct worker {
    const base_regex *re;
    int matches;
} worker;

/* A per-query budget: every match draws on it; once spent, matches answer -1 (too
 * expensive) whatever the pattern, so one query cannot match a costly pattern against
 * 100,000 values while it holds the store's read lock. */
static void test_budget_bounds_a_query(void **state)
{
    (void)state;
    char err[256];
    base_regex *re = base_regex_compile("(a|aa)+b", BASE_REGEX_ANCHORED, err, sizeof err);
    assert_non_null(re);
    char subject[64];
    memset(subject, 'a', sizeof subject - 1);
    subject[sizeof subject - 1] = '\0';
    base_regex_budget plenty, spent;
    base_regex_budget_init(&plenty, BASE_REGEX_QUERY_BUDGET_NS);
    base_regex_set_budget(re, &plenty);
    assert_int_equal(base_regex_match(re, "aab", 3), 1);
    assert_int_equal(base_regex_match(re, "aac", 3), 0);
    assert_true(atomic_load(&plenty.left_ns) < BASE_REGEX_QUERY_BUDGET_NS); /* time was taken */
    /* a budget of 1 ns is spent by the first match: it and every later one fail */
    base_regex_budget_init(&spent, 1);
    base_regex_set_budget(re, &spent);
    assert_int_equal(base_regex_match(re, subject, strlen(subject)), -1);
    assert_int_equal(base_regex_match(re, "aab", 3), -1); /* even a cheap one now */
    /* detached: no budget, the answer is the pattern's again */
    base_regex_set_budget(re, NULL);
    assert_int_equal(base_regex_match(re, "aab", 3), 1);
    base_regex_free(re);
}

static void *work(void *arg)
{
    worker *w = arg;
    char subject[64];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(subject, sizeof subject, "prod-%d", i);
        w->matches += base_regex_match(w->re, subject, (size_t)n) == 1;
    }
    return NULL;
}

/* one compiled regex matched from several threads at once (TSan/ASan find misuse) */
static void test_shared_between_threads(void **state)
{
    (void)state;
    char err[128];
    base_regex *re = base_regex_compile("prod-\\d*7", BASE_REGEX_ANCHORED, err, sizeof err);
    assert_non_null(re);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){re, 0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].matches, 200);
    }
    base_regex_free(re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_back_references_refused),
        cmocka_unit_test(test_re2_syntax_accepted),
        cmocka_unit_test(test_re2_semantics),
        cmocka_unit_test(test_anchoring),
        cmocka_unit_test(test_compile_limits),
        cmocka_unit_test(test_catastrophic_patterns_hit_the_limit),
        cmocka_unit_test(test_shared_between_threads),
        cmocka_unit_test(test_budget_bounds_a_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
