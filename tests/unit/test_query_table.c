/* Unit tests for query/ tables: query_table (filter, sort, limit, other) and query_diff
 * (per-second and share normalization, ranking). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "base/base.h"
#include "test_query_fixture.h"

/* cmocka 1.1's assert_float_equal works in float */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (double)(eps))

static query_table *table(const win_merged *m, query_sort sort, uint32_t limit, const char *filter)
{
    query_table_opts o = {sort, limit, filter};
    char err[256] = "";
    query_table *t = query_table_compute(m, &o, err, sizeof err);
    if (!t)
        print_message("query_table_compute: %s\n", err);
    assert_non_null(t);
    return t;
}

static void assert_names(const query_table *t, const char *const *names, uint32_t n)
{
    assert_int_equal(t->n_rows, n);
    for (uint32_t i = 0; i < n; i++)
        assert_string_equal(t->rows[i].function, names[i]);
}

static void test_table(void **state)
{
    (void)state;
    win_store *st = fx_hand_store();
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);

    query_table *t = table(m, QUERY_SORT_FLAT, 0, NULL);
    static const char *const by_flat[] = {"b", "e", "F", "d", "c", "main", "a", "g"};
    static const int64_t flat[] = {13, 7, 5, 4, 2, 0, 0, 0};
    static const int64_t cum[] = {13, 7, 29, 11, 9, 31, 19, 4};
    assert_names(t, by_flat, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(t->rows[i].flat, flat[i]);
        assert_int_equal(t->rows[i].cum, cum[i]);
    }
    assert_string_equal(t->rows[2].file, "f.go");
    assert_int_equal(t->total, 31);
    assert_int_equal(t->n_functions, 8);
    assert_int_equal(t->shown_flat, 31);
    assert_int_equal(t->other_flat, 0);
    query_table_free(t);

    /* the limit moves value into "other" */
    t = table(m, QUERY_SORT_FLAT, 3, NULL);
    assert_names(t, by_flat, 3);
    assert_int_equal(t->n_functions, 8);
    assert_int_equal(t->shown_flat, 25);
    assert_int_equal(t->other_flat, 6);
    query_table_free(t);

    t = table(m, QUERY_SORT_CUM, 4, NULL);
    static const char *const by_cum[] = {"main", "F", "a", "b"};
    assert_names(t, by_cum, 4);
    assert_int_equal(t->shown_flat, 18);
    assert_int_equal(t->other_flat, 13);
    query_table_free(t);

    /* unanchored extended regex on the function key */
    t = table(m, QUERY_SORT_FLAT, 1, "^[a-c]$");
    static const char *const abc[] = {"b"};
    assert_names(t, abc, 1);
    assert_int_equal(t->n_functions, 3);
    assert_int_equal(t->other_flat, 2); /* c; a has no flat */
    assert_int_equal(t->total, 31);     /* percentages stay of the whole merge */
    query_table_free(t);
    t = table(m, QUERY_SORT_FLAT, 0, "ai");
    static const char *const ai[] = {"main"};
    assert_names(t, ai, 1);
    query_table_free(t);
    t = table(m, QUERY_SORT_FLAT, 0, "nomatch");
    assert_int_equal(t->n_rows, 0);
    assert_int_equal(t->n_functions, 0);
    query_table_free(t);

    query_table_opts bad = {QUERY_SORT_FLAT, 0, "(unclosed"};
    char err[512] = "";
    assert_null(query_table_compute(m, &bad, err, sizeof err));
    assert_non_null(strstr(err, "bad filter regex \"(unclosed\": missing closing parenthesis"));

    /* RE2/Go syntax, still a search anywhere in the name */
    t = table(m, QUERY_SORT_FLAT, 0, "(?i)^MAI");
    assert_names(t, ai, 1);
    query_table_free(t);
    t = table(m, QUERY_SORT_FLAT, 0, "^\\w$");
    assert_int_equal(t->n_functions, 7); /* the seven one-letter names */
    query_table_free(t);
    t = table(m, QUERY_SORT_FLAT, 0, "m.+?n");
    assert_names(t, ai, 1);
    query_table_free(t);
    /* the crash reproducer of issue 10 (glibc regexec recursed until SIGSEGV): refused */
    bad.filter = "(|)(\\1\\1)*";
    err[0] = '\0';
    assert_null(query_table_compute(m, &bad, err, sizeof err));
    assert_non_null(strstr(err, "bad filter regex \"(|)(\\1\\1)*\": back-references"));

    /* rows own their strings: they outlive the merge */
    t = table(m, QUERY_SORT_FLAT, 2, NULL);
    win_merged_free(m);
    assert_string_equal(t->rows[0].function, "b");
    assert_string_equal(t->rows[1].file, "e.go");
    query_table_free(t);

    /* unsymbolized functions by address */
    m = fx_merge(st, "alloc:bytes", false);
    t = table(m, QUERY_SORT_CUM, 0, "^0x");
    static const char *const hex[] = {"0x4f5a1b", "0x10"};
    assert_names(t, hex, 2);
    assert_int_equal(t->rows[0].cum, 8);
    assert_int_equal(t->rows[0].flat, 2);
    query_table_free(t);
    win_merged_free(m);
    win_store_free(st);
}

/* The table equals a brute-force pprof -top computed from the random input. */
static void test_table_random(void **state)
{
    (void)state;
    rx_profile *p = malloc(sizeof *p);
    char sk[RX_MAX_DEPTH][24];
    for (uint64_t seed = 1; seed <= 200; seed++) {
        rx_generate(p, seed);
        win_store *st = rx_store(p);
        win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
        query_table *t = table(m, rx_next(2) ? QUERY_SORT_CUM : QUERY_SORT_FLAT, 100000, NULL);
        int64_t flat_sum = 0;
        for (uint32_t r = 0; r < t->n_rows; r++) {
            int64_t flat = 0, cum = 0;
            for (uint32_t i = 0; i < p->n_samples; i++) {
                uint32_t d = rx_path(p, i, sk);
                bool in = false;
                for (uint32_t k = 0; k < d; k++)
                    in |= strcmp(sk[k], t->rows[r].function) == 0;
                if (in)
                    cum += p->samples[i].value;
                if (d && strcmp(sk[d - 1], t->rows[r].function) == 0)
                    flat += p->samples[i].value;
            }
            assert_int_equal(t->rows[r].flat, flat);
            assert_int_equal(t->rows[r].cum, cum);
            flat_sum += flat;
        }
        /* empty stacks count in the total only */
        int64_t root_self = 0;
        for (uint32_t i = 0; i < p->n_samples; i++)
            if (p->stacks[p->samples[i].stack].depth == 0)
                root_self += p->samples[i].value;
        assert_int_equal(flat_sum + root_self, t->total);
        query_table_free(t);
        win_merged_free(m);
        win_store_free(st);
    }
    free(p);
}

static win_merged *merge_range(win_store *st, int64_t start, int64_t end)
{
    win_query q = {"cpu:nanoseconds", NULL, start, end, false};
    win_merged *m = win_merge(st, &q, NULL);
    assert_non_null(m);
    return m;
}

static void test_diff(void **state)
{
    (void)state;
    win_store *st = fx_hand_store();
    /* baseline: the first 10 s bucket (27); comparison: the bucket at +20 s (b: 4) */
    win_merged *base = merge_range(st, FX_T0, FX_T0 + 10 * FX_SEC);
    win_merged *cmp = merge_range(st, FX_T0 + 20 * FX_SEC, FX_T0 + 30 * FX_SEC);
    assert_int_equal(base->total, 27);
    assert_int_equal(cmp->total, 4);
    query_diff_opts o = {10, 2, 2, QUERY_SORT_FLAT, false};
    char err[256];
    query_diff *d = query_diff_compute(base, cmp, &o, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(d->base_total, 27);
    assert_int_equal(d->cmp_total, 4);
    assert_near(d->base_total_per_s, 2.7, 1e-9);
    assert_near(d->cmp_total_per_s, 2.0, 1e-9);
    assert_int_equal(d->n_functions, 8);
    assert_int_equal(d->n_rows, 2);
    const query_diff_row *b = &d->rows[0];
    assert_string_equal(b->function, "b");
    assert_int_equal(b->base_flat, 9);
    assert_int_equal(b->cmp_flat, 4);
    assert_int_equal(b->base_cum, 9);
    assert_int_equal(b->cmp_cum, 4);
    assert_near(b->base_per_s, 0.9, 1e-9);
    assert_near(b->cmp_per_s, 2.0, 1e-9);
    assert_near(b->delta_per_s, 1.1, 1e-9);
    assert_near(b->base_share, 100.0 * 9 / 27, 1e-9);
    assert_near(b->cmp_share, 100.0, 1e-9);
    assert_near(b->delta_share, 100.0 - 100.0 * 9 / 27, 1e-9);
    const query_diff_row *e = &d->rows[1];
    assert_string_equal(e->function, "e");
    assert_int_equal(e->cmp_flat, 0);
    assert_near(e->delta_per_s, -0.7, 1e-9);
    /* F .5 + d .4 + c .2 not shown; main, a, g did not change */
    assert_near(d->other_abs_delta_per_s, 1.1, 1e-9);
    query_diff_free(d);

    /* ranked by cum; durations of 0 fall back to the merges' covered range (10 s) */
    o = (query_diff_opts){0, 0, 0, QUERY_SORT_CUM, false};
    d = query_diff_compute(base, cmp, &o, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(d->n_rows, 8);
    /* main: 27/10 -> 4/10 is the largest |change| (-2.3); F 25 -> 4 (-2.1) */
    assert_string_equal(d->rows[0].function, "main");
    assert_near(d->rows[0].delta_per_s, -2.3, 1e-9);
    assert_string_equal(d->rows[1].function, "F");
    assert_near(d->rows[1].base_per_s, 2.5, 1e-9);
    assert_near(d->rows[1].cmp_per_s, 0.4, 1e-9);
    assert_near(d->rows[1].cmp_share, 100.0, 1e-9);
    assert_near(d->other_abs_delta_per_s, 0, 0);
    for (uint32_t i = 1; i < d->n_rows; i++)
        assert_true(fabs(d->rows[i].delta_per_s) <= fabs(d->rows[i - 1].delta_per_s));
    query_diff_free(d);

    /* an empty side: shares are 0, not NaN; the function list is the other side's */
    win_query q = {"nothing:here", NULL, INT64_MIN, INT64_MAX, false};
    win_merged *empty = win_merge(st, &q, NULL);
    assert_non_null(empty);
    d = query_diff_compute(empty, cmp, NULL, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(d->n_functions, 4);
    for (uint32_t i = 0; i < d->n_rows; i++) {
        assert_near(d->rows[i].base_share, 0, 0);
        assert_false(isnan(d->rows[i].delta_share));
        assert_near(d->rows[i].base_per_s, 0, 0);
    }
    query_diff_free(d);
    win_merged_free(empty);
    win_merged_free(base);
    win_merged_free(cmp);
    win_store_free(st);
}

/* A filter that backtracks past the match limit on some function name fails the table
 * with a reason; it is never taken as "this function does not match". */
static void test_table_filter_too_expensive(void **state)
{
    (void)state;
    static char name[4001];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 2] = 'b';
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    const win_frame_in frames[] = {{"main", "main.go", 1, 0, NULL, NULL, NULL, 0},
                                   {name, "x.go", 2, 0, NULL, NULL, NULL, 0}};
    const uint32_t stack[] = {1, 0};
    const win_stack_in stacks[] = {{stack, 2}};
    const win_attr res[] = {{"service.name", "svc"}};
    const win_sample_in samples[] = {{.stack = 0, .value = 3, .time_ns = FX_T0}};
    win_batch b = {"cpu:nanoseconds", res, 1, frames, 2, stacks, 1, samples, 1, NULL, false};
    char err[512] = "";
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, FX_T0, &r, err, sizeof err), 0);
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);
    query_table_opts o = {QUERY_SORT_FLAT, 0, "(a+)+$"};
    assert_null(query_table_compute(m, &o, err, sizeof err));
    assert_string_equal(err, "filter \"(a+)+$\": " BASE_REGEX_TOO_EXPENSIVE);
    /* bounded filters on the same names answer */
    query_table *t = table(m, QUERY_SORT_FLAT, 0, "a+b$");
    assert_int_equal(t->n_functions, 1);
    assert_int_equal(t->rows[0].flat, 3);
    query_table_free(t);
    t = table(m, QUERY_SORT_FLAT, 0, "^ma");
    assert_int_equal(t->n_functions, 1);
    query_table_free(t);
    win_merged_free(m);
    win_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_filter_too_expensive),
        cmocka_unit_test(test_table_random),
        cmocka_unit_test(test_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
