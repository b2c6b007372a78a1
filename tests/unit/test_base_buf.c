/* base_buf: grows, keeps a NUL after the content, fails with a kind at its cap and stays
 * failed (appends after a failure are no-ops), hands its content over with take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static void test_grows_and_takes(void **state)
{
    (void)state;
    base_buf b = {0};
    for (int i = 0; i < 1000; i++)
        assert_true(base_buf_printf(&b, "%04d,", i));
    assert_int_equal(b.len, 5000);
    assert_int_equal(b.p[b.len], '\0');
    assert_true(base_buf_append(&b, "x", 1));
    assert_int_equal(b.err, BASE_OK);
    char *p = base_buf_take(&b);
    assert_non_null(p);
    assert_int_equal(strlen(p), 5001);
    assert_memory_equal(p, "0000,0001,", 10);
    free(p);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_null(base_buf_take(&b)); /* nothing added */
}

static void test_cap_fails_with_kind(void **state)
{
    (void)state;
    base_buf b = {.max = 16}; /* 15 bytes of content + NUL */
    assert_true(base_buf_append(&b, "0123456789", 10));
    assert_true(base_buf_printf(&b, "%s", "abcde"));
    assert_int_equal(b.len, 15);
    assert_false(base_buf_append(&b, "!", 1));
    assert_int_equal(b.err, BASE_ERR_TOO_LARGE);
    assert_false(base_buf_append(&b, "", 0)); /* the first failure sticks */
    assert_false(base_buf_printf(&b, "x"));
    assert_int_equal(b.err, BASE_ERR_TOO_LARGE);
    assert_null(base_buf_take(&b)); /* a failed buffer hands nothing over */
    assert_int_equal(b.max, 16);    /* and keeps its cap */
    base_buf huge = {0};            /* the default cap applies to a zero max */
    assert_false(base_buf_append(&huge, "", (size_t)BASE_BUF_DEFAULT_MAX));
    assert_int_equal(huge.err, BASE_ERR_TOO_LARGE);
    base_buf_free(&huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_and_takes),
        cmocka_unit_test(test_cap_fails_with_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
