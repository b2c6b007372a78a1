/* Unit tests for query/ time expressions: query_parse_time and query_parse_step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/query.h"

#define SEC 1000000000LL
#define NOW (1763719200LL * SEC) /* 2025-11-21T10:00:00Z */

static int64_t ok_time(const char *text)
{
    char err[256] = "unchanged";
    int64_t v = -1;
    int rc = query_parse_time(text, NOW, &v, err, sizeof err);
    if (rc != 0)
        print_message("unexpected error for \"%s\": %s\n", text, err);
    assert_int_equal(rc, 0);
    return v;
}

static void bad_time(const char *text, const char *want_in_err)
{
    char err[512] = "";
    int64_t v = 42;
    assert_int_equal(query_parse_time(text, NOW, &v, err, sizeof err), -1);
    assert_int_equal(v, 42);
    if (!strstr(err, want_in_err))
        print_message("error for \"%s\" was: %s\n", text, err);
    assert_non_null(strstr(err, want_in_err));
    /* every message says what is accepted */
    assert_non_null(strstr(err, "RFC 3339"));
}

static void test_rfc3339(void **state)
{
    (void)state;
    assert_int_equal(ok_time("2025-11-21T10:00:00Z"), NOW);
    assert_int_equal(ok_time("2025-11-21t10:00:00z"), NOW);
    assert_int_equal(ok_time("2025-11-21 10:00:00Z"), NOW);
    assert_int_equal(ok_time("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ok_time("2025-11-21T12:00:00+02:00"), NOW);
    assert_int_equal(ok_time("2025-11-21T05:30:00-04:30"), NOW);
    assert_int_equal(ok_time("2025-11-21T10:00:00.5Z"), NOW + SEC / 2);
    assert_int_equal(ok_time("2025-11-21T10:00:00.123456789Z"), NOW + 123456789);
    /* digits past nanoseconds are accepted and dropped */
    assert_int_equal(ok_time("2025-11-21T10:00:00.1234567891Z"), NOW + 123456789);
    assert_int_equal(ok_time("  2025-11-21T10:00:00Z "), NOW);
    /* leap years, including the century rules */
    assert_int_equal(ok_time("2024-02-29T00:00:00Z"), 1709164800LL * SEC);
    assert_int_equal(ok_time("2000-02-29T00:00:00Z"), 951782400LL * SEC);
    assert_int_equal(ok_time("2025-12-31T23:59:59Z"), 1767225599LL * SEC);
}

static void test_unix_and_now(void **state)
{
    (void)state;
    assert_int_equal(ok_time("1763719200"), NOW);
    assert_int_equal(ok_time("1763719200.25"), NOW + SEC / 4);
    assert_int_equal(ok_time("0"), 0);
    /* too large for seconds: milliseconds, then nanoseconds */
    assert_int_equal(ok_time("1763719200123"), NOW + 123000000);
    assert_int_equal(ok_time("1763719200123456789"), NOW + 123456789);
    assert_int_equal(ok_time("4102444800"), 4102444800LL * SEC); /* 2100-01-01 */
    bad_time("99999999999", "too large");                        /* seconds past 2262 */
    bad_time("99999999999999", "too large");                     /* milliseconds past 2262 */
    assert_int_equal(ok_time("now"), NOW);
    assert_int_equal(ok_time("now-15m"), NOW - 900 * SEC);
    assert_int_equal(ok_time("now+1h"), NOW + 3600 * SEC);
    assert_int_equal(ok_time("now-2d"), NOW - 2 * 86400 * SEC);
    assert_int_equal(ok_time("now-250ms"), NOW - 250000000);
    assert_int_equal(ok_time("now-30s"), NOW - 30 * SEC);
    assert_int_equal(ok_time("now-1h30m"), NOW - 5400 * SEC);
    assert_int_equal(ok_time("now-0s"), NOW);
}

static void test_bad_times(void **state)
{
    (void)state;
    bad_time("", "empty");
    bad_time("   ", "empty");
    bad_time("yesterday", "not a time");
    bad_time("2025-13-01T00:00:00Z", "month out of range");
    bad_time("2025-00-01T00:00:00Z", "month out of range");
    bad_time("2025-02-29T00:00:00Z", "day out of range");
    bad_time("2100-02-29T00:00:00Z", "day out of range");
    bad_time("2025-04-31T00:00:00Z", "day out of range");
    bad_time("2025-11-21", "expected 'T'");
    bad_time("2025-11-21T25:00:00Z", "time of day out of range");
    bad_time("2025-11-21T10:60:00Z", "time of day out of range");
    bad_time("2025-11-21T10:00Z", "hh:mm:ss");
    bad_time("2025-11-21T10:00:00", "missing zone");
    bad_time("2025-11-21T10:00:00+0200", "zone offset");
    bad_time("2025-11-21T10:00:00.Z", "digits after the decimal point");
    bad_time("2025-11-21T10:00:00Zjunk", "unexpected text");
    bad_time("2025-1-21T10:00:00Z", "YYYY-MM-DD");
    bad_time("3000-01-01T00:00:00Z", "not before 2262-01-01T00:00:00Z");
    bad_time("1600-01-01T00:00:00Z", "before 1970-01-01T00:00:00Z");
    bad_time("17637192OO", "not a number");
    bad_time("-5", "not a time");
    bad_time("99999999999999999999999", "too large");
    bad_time("now-", "empty duration");
    bad_time("now-15", "missing unit");
    bad_time("now-15x", "unknown unit");
    bad_time("now*2", "expected now");
    bad_time("nowadays", "expected now");
    bad_time("now-99999999999d", "too large");
    bad_time("now+100000d", "not before 2262"); /* fits a duration, not the clock */
    char err[64];
    int64_t v;
    assert_int_equal(query_parse_time(NULL, NOW, &v, err, sizeof err), -1);
    /* a tiny or absent error buffer is fine */
    assert_int_equal(query_parse_time("bad", NOW, &v, NULL, 0), -1);
    assert_int_equal(query_parse_time("bad", NOW, &v, err, 1), -1);
    assert_string_equal(err, "");
}

/* Times outside [1970-01-01, 2262-01-01) are refused in every form, so the tools can
 * subtract and add them (end - start, end + a step) without overflowing int64. */
static void test_time_range(void **state)
{
    (void)state;
    /* near INT64_MIN nanoseconds: the start that made "to - from" overflow in the tools */
    bad_time("1677-09-21T00:12:44Z", "before 1970-01-01T00:00:00Z");
    bad_time("1969-12-31T23:59:59Z", "before 1970");
    bad_time("1970-01-01T00:00:00+00:01", "before 1970");
    bad_time("1969-12-31T23:59:59.999999999Z", "before 1970");
    bad_time("0000-01-01T00:00:00Z", "before 1970");
    bad_time("now-30000d", "before 1970");
    bad_time("now-99999d", "before 1970");
    assert_int_equal(ok_time("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ok_time("0"), 0);
    assert_int_equal(ok_time("1970-01-01T01:00:00+01:00"), 0);
    /* the upper end */
    assert_int_equal(ok_time("2261-12-31T23:59:59.999999999Z"), QUERY_TIME_MAX_NS - 1);
    bad_time("2262-01-01T00:00:00Z", "not before 2262-01-01T00:00:00Z");
    bad_time("2262-04-11T23:47:16Z", "not before 2262"); /* INT64_MAX ns is 23:47:16.85 */
    bad_time("9999-12-31T23:59:59Z", "not before 2262");
    assert_int_equal(ok_time("9214646399"), QUERY_TIME_MAX_NS - SEC);
    bad_time("9214646400", "not before 2262");
    bad_time("9214646400000", "not before 2262");       /* milliseconds */
    bad_time("9214646400000000000", "not before 2262"); /* nanoseconds */
    bad_time("9223372036854775807", "not before 2262");
    /* "now" itself is checked: a clock past the range cannot produce a time the tools
     * would then overflow on */
    char err[512] = "";
    int64_t v = 42;
    assert_int_equal(query_parse_time("now", INT64_MAX, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "not before 2262"));
    assert_int_equal(query_parse_time("now-1h", INT64_MIN, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "before 1970"));
    assert_int_equal(v, 42);
}

static void test_steps(void **state)
{
    (void)state;
    struct {
        const char *text;
        int64_t ns;
    } good[] = {{"10s", 10 * SEC},    {"1m", 60 * SEC},    {"1h30m", 5400 * SEC},
                {"250ms", 250000000}, {"1d", 86400 * SEC}, {"1.5h", 5400 * SEC},
                {"500us", 500000},    {"7ns", 7},          {"2m30s", 150 * SEC},
                {"0.5s", SEC / 2}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char err[256] = "";
        int64_t v = 0;
        assert_int_equal(query_parse_step(good[i].text, &v, err, sizeof err), 0);
        assert_int_equal(v, good[i].ns);
    }
    struct {
        const char *text, *why;
    } badv[] = {{"", "empty"},
                {"10", "missing unit"},
                {"s", "expected a number"},
                {"10q", "unknown unit"},
                {"0s", "positive"},
                {"-5s", "expected a number"},
                {"1h-5m", "expected a number"},
                {"99999999999999999999s", "too large"},
                {".s", "expected a number"}};
    for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++) {
        char err[256] = "";
        int64_t v = 99;
        assert_int_equal(query_parse_step(badv[i].text, &v, err, sizeof err), -1);
        if (!strstr(err, badv[i].why))
            print_message("\"%s\": %s\n", badv[i].text, err);
        assert_non_null(strstr(err, badv[i].why));
        assert_non_null(strstr(err, "e.g. 10s"));
        assert_int_equal(v, 99);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),   cmocka_unit_test(test_unix_and_now),
        cmocka_unit_test(test_bad_times), cmocka_unit_test(test_time_range),
        cmocka_unit_test(test_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
