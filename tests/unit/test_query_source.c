/* Unit tests for query_source_compute: per-line flat/cum of one function (pprof -top
 * -lines restricted to it), recursion counted once, unsymbolized frames by address, regex
 * selection, the limit and the "other" value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "test_query_fixture.h"

static query_source *source(const win_merged *m, const char *fn, const char *re, uint32_t limit)
{
    query_source_opts o = {fn, re, QUERY_SORT_FLAT, limit};
    char err[256] = "";
    query_source *s = query_source_compute(m, &o, err, sizeof err);
    if (!s)
        print_message("query_source_compute: %s\n", err);
    assert_non_null(s);
    return s;
}

/* F's lines: f.go:60 is in every stack through F (flat 5, cum 29); f.go:61 only in the two
 * recursive stacks (main F F' b = 3, main a F g F' d = 4): cum 7, flat 0. */
static void test_source_lines(void **state)
{
    (void)state;
    win_store *st = fx_hand_store();
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);
    query_source *s = source(m, "F", NULL, 0);
    assert_int_equal(s->n_functions, 1);
    assert_int_equal(s->n_lines, 2);
    assert_int_equal(s->n_rows, 2);
    assert_string_equal(s->rows[0].file, "f.go");
    assert_int_equal(s->rows[0].line, 60);
    assert_int_equal(s->rows[0].flat, 5);
    assert_int_equal(s->rows[0].cum, 29);
    assert_int_equal(s->rows[1].line, 61);
    assert_int_equal(s->rows[1].flat, 0);
    assert_int_equal(s->rows[1].cum, 7);
    assert_int_equal(s->n_fns, 1);
    assert_string_equal(s->fns[0].function, "F");
    assert_string_equal(s->fns[0].file, "f.go");
    assert_int_equal(s->fns[0].flat, 5);
    assert_int_equal(s->fns[0].cum, 29);        /* recursion counted once */
    assert_int_equal(s->fns[0].start_line, 60); /* no start line given: lowest line seen */
    assert_false(s->fns[0].start_line_known);
    query_source_free(s);

    /* by cum, limit 1: the rest goes to other_flat */
    query_source_opts o = {"F", NULL, QUERY_SORT_CUM, 1};
    char err[256];
    s = query_source_compute(m, &o, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(s->n_rows, 1);
    assert_int_equal(s->rows[0].line, 60);
    assert_int_equal(s->other_flat, 0);
    query_source_free(s);

    /* a regex: a, b and c, ranked by flat */
    s = source(m, NULL, "^[a-c]$", 0);
    assert_int_equal(s->n_functions, 3);
    assert_int_equal(s->n_rows, 3);
    assert_string_equal(s->rows[0].function, "b");
    assert_int_equal(s->rows[0].flat, 13);
    assert_int_equal(s->rows[1].function[0], 'c');
    assert_int_equal(s->rows[1].flat, 2);
    assert_int_equal(s->rows[1].cum, 9);
    assert_int_equal(s->rows[2].cum, 19);
    assert_int_equal(s->fns[0].cum, 19); /* by cum: a, b, c */
    assert_string_equal(s->fns[0].function, "a");
    query_source_free(s);

    /* nothing matches: no functions, no rows, no error */
    s = source(m, "nope", NULL, 0);
    assert_int_equal(s->n_functions, 0);
    assert_int_equal(s->n_rows, 0);
    query_source_free(s);

    /* a bad regex is an error */
    o = (query_source_opts){NULL, "(", QUERY_SORT_FLAT, 0};
    assert_null(query_source_compute(m, &o, err, sizeof err));
    assert_non_null(strstr(err, "function_regex"));
    win_merged_free(m);
    win_store_free(st);
}

static void test_source_unsymbolized(void **state)
{
    (void)state;
    win_store *st = fx_hand_store();
    win_merged *m = fx_merge(st, "alloc:bytes", false);
    assert_non_null(m);
    query_source *s = source(m, "0x4F5A1B", NULL, 0); /* by value: case does not matter */
    assert_int_equal(s->n_rows, 1);
    assert_true(s->rows[0].unsymbolized);
    assert_int_equal(s->rows[0].address, 0x4f5a1b);
    assert_int_equal(s->rows[0].flat, 2);
    assert_int_equal(s->rows[0].cum, 8);
    query_source_free(s);
    win_merged_free(m);
    win_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_lines),
        cmocka_unit_test(test_source_unsymbolized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
