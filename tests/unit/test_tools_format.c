/* Unit tests for tools/ formatting: pprof-style human units, CSV quoting, times, URL and
 * base64 encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/tools_internal.h"

static void expect_human(double v, const char *unit, const char *want)
{
    char out[32];
    tools__human(out, sizeof out, v, unit);
    if (strcmp(out, want) != 0)
        fail_msg("human(%g, %s) = \"%s\", want \"%s\"", v, unit, out, want);
}

static void test_human_units(void **state)
{
    (void)state;
    expect_human(6580000000.0, "nanoseconds", "6.58s");
    expect_human(120000000.0, "nanoseconds", "120ms");
    expect_human(850000.0, "nanoseconds", "850us");
    expect_human(999.0, "nanoseconds", "999ns");
    expect_human(0, "nanoseconds", "0");
    expect_human(1000000000.0, "nanoseconds", "1s");
    expect_human(7200e9, "nanoseconds", "2hrs");
    expect_human(-1.5e9, "nanoseconds", "-1.50s");
    expect_human(60500000.0, "nanoseconds", "60.50ms");
    expect_human(13107200.0, "bytes", "12.50MB");
    expect_human(1024.0, "bytes", "1kB");
    expect_human(512.0, "bytes", "512B");
    expect_human(3.0 * 1024 * 1024 * 1024, "bytes", "3GB");
    expect_human(1234.0, "count", "1234");
    expect_human(1234.0, "objects", "1234");
    expect_human(2.5, "count", "2.50");
    expect_human(1.5, "seconds", "1.50s");
    expect_human(2.0, "milliseconds", "2ms");
}

static void expect_csv(const char *in, const char *want)
{
    tools__buf b = {0};
    tools__csv(&b, in);
    char *got = tools__take(&b);
    if (strcmp(got, want) != 0)
        fail_msg("csv(%s) = [%s], want [%s]", in ? in : "NULL", got, want);
    free(got);
}

static void test_csv_quoting(void **state)
{
    (void)state;
    expect_csv("runtime.mallocgc", "runtime.mallocgc");
    expect_csv("std::map<int, int>::find", "\"std::map<int, int>::find\"");
    expect_csv("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect_csv("\"", "\"\"\"\"");
    expect_csv("a\nb", "\"a\nb\"");
    expect_csv(" lead", "\" lead\"");
    expect_csv("", "");
    expect_csv(NULL, "");
}

static void test_times(void **state)
{
    (void)state;
    char out[128];
    tools__time(out, sizeof out, 1763719200LL * 1000000000LL);
    assert_string_equal(out, "2025-11-21T10:00:00Z");
    tools__time(out, sizeof out, 1763719200LL * 1000000000LL + 250000000);
    assert_string_equal(out, "2025-11-21T10:00:00.250Z");
    tools__range(out, sizeof out, 1763719200LL * 1000000000LL, 1763720100LL * 1000000000LL);
    assert_string_equal(out, "2025-11-21T10:00:00Z..10:15:00Z");
    tools__range(out, sizeof out, 1763719200LL * 1000000000LL, 1763805600LL * 1000000000LL);
    assert_string_equal(out, "2025-11-21T10:00:00Z..2025-11-22T10:00:00Z");
    tools__range(out, sizeof out, 5, 5);
    assert_string_equal(out, "(no data)");
    tools__duration(out, sizeof out, 5400LL * 1000000000LL);
    assert_string_equal(out, "1h30m");
    tools__duration(out, sizeof out, 10LL * 1000000000LL);
    assert_string_equal(out, "10s");
    tools__duration(out, sizeof out, 250000000LL);
    assert_string_equal(out, "250ms");
    assert_string_equal(tools__unit_of("cpu:nanoseconds"), "nanoseconds");
    assert_string_equal(tools__unit_of("weird"), "");
}

static void test_url_and_base64(void **state)
{
    (void)state;
    tools__buf b = {0};
    tools__urlencode(&b, "{service.name=\"a b\"}");
    char *u = tools__take(&b);
    assert_string_equal(u, "%7Bservice.name%3D%22a%20b%22%7D");
    free(u);
    char *s = tools__base64((const uint8_t *)"foobar", 6);
    assert_string_equal(s, "Zm9vYmFy");
    free(s);
    s = tools__base64((const uint8_t *)"fooba", 5);
    assert_string_equal(s, "Zm9vYmE=");
    free(s);
    s = tools__base64((const uint8_t *)"f", 1);
    assert_string_equal(s, "Zg==");
    free(s);
    s = tools__base64((const uint8_t *)"", 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_buffer_cap(void **state)
{
    (void)state;
    tools__buf b = {0};
    tools__printf(&b, "%d-%s", 42, "x");
    assert_int_equal(b.err, BASE_OK);
    assert_string_equal(b.p, "42-x");
    /* a hostile size cannot grow the buffer past its cap */
    tools__append(&b, "y", TOOLS__MAX_TEXT);
    assert_int_equal(b.err, BASE_ERR_TOO_LARGE); /* the kind, not just "failed" */
    char *t = tools__take(&b);
    assert_string_equal(t, "");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_human_units), cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_times),       cmocka_unit_test(test_url_and_base64),
        cmocka_unit_test(test_buffer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
