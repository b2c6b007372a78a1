/* Unit tests for window/ queries: win_merge and win_top on a hand-built profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "window/window.h"

#define SEC 1000000000LL
#define T0  (1700000000LL * SEC)

/* Frames; "inl" and "c" are the two lines of one location (inl inlined into c). */
enum { F_MAIN, F_A, F_B, F_C, F_INL, N_FRAMES };
static const win_frame_in FRAMES[N_FRAMES] = {
    [F_MAIN] = {"main", "main.go", 5, 0x1000, "app", "id1"},
    [F_A] = {"a", "a.go", 10, 0x2000, "app", "id1"},
    [F_B] = {"b", "b.go", 20, 0x3000, "app", "id1"},
    [F_C] = {"c", "c.go", 30, 0x4000, "app", "id1"},
    [F_INL] = {"inl", "inl.go", 40, 0x4000, "app", "id1"},
};
/* Stacks, leaf first. */
static const uint32_t S1[] = {F_B, F_A, F_MAIN};      /* main -> a -> b          10 */
static const uint32_t S2[] = {F_A, F_B, F_A, F_MAIN}; /* main -> a -> b -> a      5 */
static const uint32_t S3[] = {F_INL, F_C, F_MAIN};    /* main -> c -> inl         7 */
static const uint32_t S4[] = {F_C, F_MAIN};           /* main -> c                3 */
static const uint32_t S5[] = {F_MAIN};                /* main                     2 */
static const win_stack_in STACKS[] = {{S1, 3}, {S2, 4}, {S3, 3}, {S4, 2}, {S5, 1}};

static const win_attr TX = {"thread.name", "x"};
static const win_attr TY = {"thread.name", "y"};

static win_store *store;

static void add_profile(const char *ptype, const win_attr *res, uint32_t n_res, int64_t scale)
{
    /* S1 on thread x; the rest on thread y; S5 ten minutes earlier */
    win_sample_in samples[] = {
        {.stack = 0, .value = 10 * scale, .time_ns = T0, .n_attrs = 1, .attrs = &TX},
        {.stack = 1, .value = 5 * scale, .time_ns = T0, .n_attrs = 1, .attrs = &TY},
        {.stack = 2, .value = 7 * scale, .time_ns = T0 + 1 * SEC, .n_attrs = 1, .attrs = &TY},
        {.stack = 3, .value = 3 * scale, .time_ns = T0 + 2 * SEC, .n_attrs = 1, .attrs = &TY},
        {.stack = 4, .value = 2 * scale, .time_ns = T0 - 600 * SEC, .n_attrs = 1, .attrs = &TY},
    };
    win_batch b = {ptype, res, n_res, FRAMES, N_FRAMES, STACKS, 5, samples, 5, NULL, false};
    char err[256];
    win_add_result r;
    assert_int_equal(win_store_add(store, &b, T0 + 5 * SEC, &r, err, sizeof err), 0);
    assert_int_equal(r.samples_stored, 5);
}

static int setup(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    store = win_store_new(&cfg);
    static const win_attr checkout[] = {{"service.name", "checkout"}, {"host.name", "h1"}};
    static const win_attr cart[] = {{"service.name", "cart"}, {"host.name", "h1"}};
    add_profile("cpu:nanoseconds", checkout, 2, 1);
    add_profile("cpu:nanoseconds", cart, 2, 100);
    add_profile("alloc_space:bytes", checkout, 2, 1000);
    return store ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    win_store_free(store);
    return 0;
}

static win_merged *query(const char *ptype, const char *selector, int64_t start, int64_t end)
{
    char err[256];
    win_selector *sel = win_selector_parse(selector, NULL, err, sizeof err);
    assert_non_null(sel);
    win_query q = {ptype, sel, start, end, false};
    win_merged *m = win_merge(store, &q, NULL);
    win_selector_free(sel); /* the result must not depend on it */
    assert_non_null(m);
    return m;
}

typedef struct expect_row {
    const char *function, *file;
    int64_t flat, cum;
} expect_row;

static void assert_top(const win_merged *m, const expect_row *want, int64_t n)
{
    win_top_row *rows;
    int64_t got = win_top(m, &rows);
    for (int64_t i = 0; i < got; i++)
        print_message("  %s %s flat=%lld cum=%lld\n", rows[i].function, rows[i].file,
                      (long long)rows[i].flat, (long long)rows[i].cum);
    assert_int_equal(got, n);
    for (int64_t i = 0; i < n; i++) {
        assert_string_equal(rows[i].function, want[i].function);
        assert_string_equal(rows[i].file, want[i].file);
        assert_int_equal(rows[i].flat, want[i].flat);
        assert_int_equal(rows[i].cum, want[i].cum);
    }
    free(rows);
}

/* Tree invariants: root first, parents precede children, every node's subtree != 0. */
static void assert_tree(const win_merged *m)
{
    assert_true(m->n_nodes >= 1);
    assert_int_equal(m->nodes[0].parent, -1);
    assert_int_equal(m->nodes[0].frame, UINT32_MAX);
    int64_t *cum = calloc(m->n_nodes, sizeof *cum);
    int64_t total = 0;
    for (uint32_t i = 0; i < m->n_nodes; i++) {
        cum[i] = m->nodes[i].self;
        total += m->nodes[i].self;
        if (i) {
            assert_true(m->nodes[i].parent >= 0 && (uint32_t)m->nodes[i].parent < i);
            assert_true(m->nodes[i].frame < m->n_frames);
        }
    }
    for (uint32_t i = m->n_nodes; i-- > 1;)
        cum[m->nodes[i].parent] += cum[i];
    for (uint32_t i = 1; i < m->n_nodes; i++)
        assert_true(cum[i] != 0);
    assert_int_equal(total, m->total);
    free(cum);
}

static void test_merge_and_top(void **state)
{
    (void)state;
    win_merged *m = query("cpu:nanoseconds", "{service.name=\"checkout\"}", INT64_MIN, INT64_MAX);
    assert_tree(m);
    assert_string_equal(m->profile_type, "cpu:nanoseconds");
    assert_int_equal(m->total, 27);
    assert_int_equal(m->n_series, 1);
    assert_int_equal(m->n_entries, 5);
    assert_int_equal(m->n_nodes, 7); /* root, main, a, a/b, a/b/a, c, c/inl */
    assert_int_equal(m->n_frames, 5);
    assert_int_equal(m->start_ns, T0 - 600 * SEC);
    assert_int_equal(m->end_ns, T0 + 10 * SEC);
    static const expect_row want[] = {
        {"b", "b.go", 10, 15}, {"inl", "inl.go", 7, 7},    {"a", "a.go", 5, 15},
        {"c", "c.go", 3, 10},  {"main", "main.go", 2, 27},
    };
    assert_top(m, want, 5);
    win_merged_free(m);
}

static void test_all_series_and_alias(void **state)
{
    (void)state;
    win_merged *m = query("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX);
    assert_tree(m);
    assert_int_equal(m->total, 27 * 101);
    assert_int_equal(m->n_series, 2);
    assert_int_equal(m->n_nodes, 7); /* both services share the stacks */
    win_merged_free(m);
    m = query("cpu:nanoseconds", "{service_name=~\"car.\", host.name=\"h1\"}", INT64_MIN,
              INT64_MAX);
    assert_int_equal(m->total, 2700);
    assert_int_equal(m->n_series, 1);
    win_merged_free(m);
    m = query("cpu:nanoseconds", "{service.name=\"nope\"}", INT64_MIN, INT64_MAX);
    assert_int_equal(m->total, 0);
    assert_int_equal(m->n_nodes, 1);
    assert_int_equal(m->n_series, 0);
    assert_int_equal(m->start_ns, 0);
    assert_int_equal(m->end_ns, 0);
    win_merged_free(m);
}

static void test_sample_attribute_filter(void **state)
{
    (void)state;
    win_merged *m = query("cpu:nanoseconds", "{service.name=\"checkout\", thread.name=\"x\"}",
                          INT64_MIN, INT64_MAX);
    assert_tree(m);
    assert_int_equal(m->total, 10);
    assert_int_equal(m->n_nodes, 4); /* root, main, a, b */
    assert_int_equal(m->start_ns, T0);
    assert_int_equal(m->end_ns, T0 + 10 * SEC);
    static const expect_row want_x[] = {
        {"b", "b.go", 10, 10}, {"a", "a.go", 0, 10}, {"main", "main.go", 0, 10}};
    assert_top(m, want_x, 3);
    win_merged_free(m);

    m = query("cpu:nanoseconds", "{thread.name!=\"x\"}", INT64_MIN, INT64_MAX);
    assert_tree(m);
    assert_int_equal(m->total, 17 * 101);
    win_merged_free(m);
    /* a matcher on an attribute nobody has compares against "" */
    m = query("cpu:nanoseconds", "{span.kind=\"\"}", INT64_MIN, INT64_MAX);
    assert_int_equal(m->total, 27 * 101);
    win_merged_free(m);
}

static void test_time_range(void **state)
{
    (void)state;
    /* only the bucket ten minutes back: main alone */
    win_merged *m =
        query("cpu:nanoseconds", "{service.name=\"checkout\"}", T0 - 600 * SEC, T0 - 590 * SEC);
    assert_tree(m);
    assert_int_equal(m->total, 2);
    assert_int_equal(m->n_nodes, 2);
    assert_int_equal(m->start_ns, T0 - 600 * SEC);
    assert_int_equal(m->end_ns, T0 - 590 * SEC);
    win_merged_free(m);
    /* [T0, end): everything but S5 */
    m = query("cpu:nanoseconds", "{service.name=\"checkout\"}", T0, INT64_MAX);
    assert_int_equal(m->total, 25);
    win_merged_free(m);
    /* end is exclusive, start inclusive, in bucket steps: [T0-590s, T0) touches nothing */
    m = query("cpu:nanoseconds", "{}", T0 - 590 * SEC, T0);
    assert_int_equal(m->total, 0);
    assert_int_equal(m->n_entries, 0);
    win_merged_free(m);
}

static void test_profile_types_apart(void **state)
{
    (void)state;
    win_merged *m = query("alloc_space:bytes", "{}", INT64_MIN, INT64_MAX);
    assert_int_equal(m->total, 27000);
    assert_int_equal(m->n_series, 1);
    win_merged_free(m);
    m = query("samples:count", "{}", INT64_MIN, INT64_MAX);
    assert_int_equal(m->total, 0);
    assert_int_equal(m->n_nodes, 1);
    win_merged_free(m);
}

static void collect(const char *type, void *ctx)
{
    char *buf = ctx;
    strcat(buf, type);
    strcat(buf, ";");
}

static void test_each_profile_type_and_stats(void **state)
{
    (void)state;
    char buf[256] = "";
    win_store_each_profile_type(store, collect, buf);
    /* order is unspecified: check both are there exactly once */
    assert_int_equal(strlen(buf), strlen("cpu:nanoseconds;alloc_space:bytes;"));
    assert_non_null(strstr(buf, "cpu:nanoseconds;"));
    assert_non_null(strstr(buf, "alloc_space:bytes;"));
    win_stats s;
    win_store_stats(store, &s);
    assert_int_equal(s.series, 3);
    assert_int_equal(s.label_sets, 3); /* {}, {thread.name=x}, {thread.name=y} */
    assert_int_equal(s.nodes, 6);
    assert_int_equal(s.frames, 5);
    assert_int_equal(s.samples_stored, 15);
}

static void test_negative_values_cancel(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    win_sample_in samples[] = {
        {.stack = 0, .value = 4, .time_ns = T0},
        {.stack = 0, .value = -4, .time_ns = T0},
        {.stack = 1, .value = 6, .time_ns = T0},
        {.stack = 3, .value = 1, .time_ns = T0},
        {.stack = 3, .value = -1, .time_ns = T0 + 20 * SEC},
    };
    win_batch b = {"delta:count", NULL, 0, FRAMES, N_FRAMES, STACKS, 5, samples, 5, NULL, false};
    assert_int_equal(win_store_add(st, &b, T0, NULL, NULL, 0), 0);
    win_query q = {"delta:count", NULL, INT64_MIN, INT64_MAX, false};
    win_merged *m = win_merge(st, &q, NULL);
    assert_non_null(m);
    assert_tree(m);
    assert_int_equal(m->total, 6);
    assert_int_equal(m->n_nodes, 5); /* only S2's path: main, a, b, a */
    win_merged_free(m);
    win_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_and_top),
        cmocka_unit_test(test_all_series_and_alias),
        cmocka_unit_test(test_sample_attribute_filter),
        cmocka_unit_test(test_time_range),
        cmocka_unit_test(test_profile_types_apart),
        cmocka_unit_test(test_each_profile_type_and_stats),
        cmocka_unit_test(test_negative_values_cancel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
