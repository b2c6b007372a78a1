/* base_errbuf: the kind travels with the reason, the first error wins, NULL is accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static void test_first_error_wins(void **state)
{
    (void)state;
    base_errbuf eb = {0};
    assert_int_equal(eb.kind, BASE_OK);
    assert_int_equal(base_errbuf_set(&eb, BASE_ERR_NOMEM, "out of memory at %d", 1),
                     BASE_ERR_NOMEM);
    /* a failure on the way out is a consequence: it returns its kind, keeps the cause */
    assert_int_equal(base_errbuf_set(&eb, BASE_ERR_BAD_ARGUMENT, "later"), BASE_ERR_BAD_ARGUMENT);
    assert_int_equal(eb.kind, BASE_ERR_NOMEM);
    assert_string_equal(eb.text, "out of memory at 1");
    base_errbuf_clear(&eb);
    assert_int_equal(eb.kind, BASE_OK);
    assert_string_equal(eb.text, "");
    base_errbuf_set(&eb, BASE_ERR_BAD_ARGUMENT, "selector: %s", "x");
    assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT);
    assert_string_equal(eb.text, "selector: x");
}

static void test_null_and_long(void **state)
{
    (void)state;
    assert_int_equal(base_errbuf_set(NULL, BASE_ERR_IO, "ignored"), BASE_ERR_IO);
    base_errbuf_clear(NULL);
    char big[2 * BASE_ERR_LEN];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    base_errbuf eb = {0};
    base_errbuf_set(&eb, BASE_ERR_INVALID, "%s", big);
    assert_int_equal(strlen(eb.text), BASE_ERR_LEN - 1); /* cut, terminated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_null_and_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
