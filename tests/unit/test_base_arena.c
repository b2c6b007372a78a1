/* base_arena: alignment, the cap, and the blocks reset keeps for the next request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static void test_alignment_and_strings(void **state)
{
    (void)state;
    base_arena a;
    base_arena_init(&a, 1024, 0);
    for (size_t n = 1; n < 100; n += 7) {
        void *p = base_arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
    }
    assert_string_equal(base_arena_strndup(&a, "hello world", 5), "hello");
    assert_string_equal(base_arena_printf(&a, "%d-%s", 42, "x"), "42-x");
    assert_null(base_arena_calloc(&a, SIZE_MAX / 2, 4)); /* n*size overflows */
    base_arena_free(&a);
}

static void test_cap_refuses_past_budget(void **state)
{
    (void)state;
    base_arena a;
    base_arena_init(&a, 4096, 64 << 10);
    size_t got = 0;
    while (base_arena_alloc(&a, 1000))
        got += 1000;
    assert_true(got > 32 << 10);
    assert_true(got <= 64 << 10);
    assert_true(a.used_total <= 64u << 10);
    base_arena_free(&a);
}

/* Without a retain budget reset keeps only the first block (the old contract); with one,
 * the big blocks of a large request are reused, not malloc'ed again. */
static void test_reset_keeps_blocks_up_to_retain(void **state)
{
    (void)state;
    base_arena plain, kept;
    base_arena_init(&plain, 4096, 0);
    base_arena_init(&kept, 4096, 0);
    base_arena_set_retain(&kept, 8u << 20);
    for (int i = 0; i < 2000; i++) { /* ~4 MiB in blocks 4 KiB, 8 KiB, ... */
        assert_non_null(base_arena_alloc(&plain, 2000));
        assert_non_null(base_arena_alloc(&kept, 2000));
    }
    base_arena_reset(&plain);
    base_arena_reset(&kept);
    assert_int_equal(plain.used_total, 0);
    assert_int_equal(kept.used_total, 0);
    size_t plain_spare = 0, kept_spare = 0;
    assert_int_equal(base_arena_spare_bytes(&plain, &plain_spare), 4096);
    assert_int_equal(plain_spare, 1);
    size_t kept_bytes = base_arena_spare_bytes(&kept, &kept_spare);
    assert_true(kept_spare > 5);
    assert_true(kept_bytes >= 3u << 20 && kept_bytes <= 8u << 20);
    /* a 1 MiB allocation after reset lands in a kept block: nothing new is allocated */
    void *big = base_arena_alloc(&kept, 1u << 20);
    assert_non_null(big);
    size_t after = 0;
    base_arena_spare_bytes(&kept, &after);
    assert_int_equal(after, kept_spare - 1);
    size_t in_use = kept_bytes - base_arena_spare_bytes(&kept, NULL);
    assert_true(in_use >= 1u << 20);
    assert_true(kept.used_total >= in_use && kept.used_total < in_use + 64); /* + header */
    memset(big, 0xab, 1u << 20); /* the whole block is usable (ASan checks the bounds) */
    base_arena_free(&plain);
    base_arena_free(&kept);
    assert_null(kept.spare);
    assert_null(kept.head);
}

/* A kept block never lets a request pass its cap. */
static void test_kept_blocks_respect_cap(void **state)
{
    (void)state;
    base_arena a;
    base_arena_init(&a, 4096, 1u << 20);
    base_arena_set_retain(&a, 4u << 20);
    while (base_arena_alloc(&a, 8000)) {
    }
    base_arena_reset(&a);
    size_t total = 0;
    while (base_arena_alloc(&a, 8000))
        total += 8000;
    assert_true(total > 256u << 10);
    assert_true(a.used_total <= 1u << 20);
    base_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_strings),
        cmocka_unit_test(test_cap_refuses_past_budget),
        cmocka_unit_test(test_reset_keeps_blocks_up_to_retain),
        cmocka_unit_test(test_kept_blocks_respect_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
