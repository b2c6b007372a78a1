/* Unit tests for window/ listings, time series and win_merge's keep_labels, on a store of
 * three services x up to two profile types with sample attributes and a trace link. */
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
#define T0  (1700000000LL * SEC) /* a multiple of the 10 s resolution */

enum { F_MAIN, F_A, F_B, F_C, F_UNS, N_FRAMES };
static const win_frame_in FRAMES[N_FRAMES] = {
    [F_MAIN] = {"main", "main.go", 5, 0x1000, "app", "id1"},
    [F_A] = {"a", "a.go", 10, 0x2000, "app", "id1"},
    [F_B] = {"b", "b.go", 20, 0x3000, "app", "id1"},
    [F_C] = {"c", "c.go", 30, 0x4000, "app", "id1"},
    [F_UNS] = {NULL, NULL, 0, 0x4f5a1b, "libx.so", "bid"},
};
static const uint32_t S0[] = {F_B, F_A, F_MAIN};   /* main -> a -> b */
static const uint32_t S1[] = {F_C, F_MAIN};        /* main -> c */
static const uint32_t S2[] = {F_UNS, F_C, F_MAIN}; /* main -> c -> 0x4f5a1b */
static const uint32_t S3[] = {F_MAIN};             /* main */
static const win_stack_in STACKS[] = {{S0, 3}, {S1, 2}, {S2, 3}, {S3, 1}};

static const win_attr TX[] = {{"thread.name", "x"}};
static const win_attr TY[] = {{"thread.name", "y"}};
static const win_attr TZ[] = {{"thread.name", "z"}};
static const win_attr TW[] = {{"thread.name", "w"}};
/* given unsorted: the label set must come back sorted by key */
static const win_attr TX_IO[] = {{"thread.name", "x"}, {"pool", "io"}};
static const uint8_t TRACE[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SPAN[8] = {0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, 0x11};

static const win_attr CHECKOUT[] = {{"service.name", "checkout"}, {"host.name", "h1"}};
static const win_attr CART[] = {
    {"service.name", "cart"}, {"host.name", "h2"}, {"k8s.pod.name", "cart-0"}};
static const win_attr BATCH[] = {{"service.name", "batch"}};

static win_store *store;

/* Per series, values times `scale`:
 *   S0 x 10 @T0      S1 y 5 @T0+1s    S2 {x,pool=io}+link 7 @T0+12s
 *   S3 z 3 @T0+25s   S0 y 4 @T0+31s                          total 29 */
static void add_profile(win_store *st, const char *ptype, const win_attr *res, uint32_t n_res,
                        int64_t scale)
{
    win_sample_in samples[] = {
        {.stack = 0, .value = 10 * scale, .time_ns = T0, .n_attrs = 1, .attrs = TX},
        {.stack = 1, .value = 5 * scale, .time_ns = T0 + 1 * SEC, .n_attrs = 1, .attrs = TY},
        {.stack = 2,
         .value = 7 * scale,
         .time_ns = T0 + 12 * SEC,
         .n_attrs = 2,
         .attrs = TX_IO,
         .trace_id = TRACE,
         .span_id = SPAN},
        {.stack = 3, .value = 3 * scale, .time_ns = T0 + 25 * SEC, .n_attrs = 1, .attrs = TZ},
        {.stack = 0, .value = 4 * scale, .time_ns = T0 + 31 * SEC, .n_attrs = 1, .attrs = TY},
    };
    win_batch b = {ptype, res, n_res, FRAMES, N_FRAMES, STACKS, 4, samples, 5, NULL, false};
    char err[256];
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, T0 + 40 * SEC, &r, err, sizeof err), 0);
    assert_int_equal(r.samples_stored, 5);
}

static int setup(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    store = win_store_new(&cfg);
    if (!store)
        return -1;
    add_profile(store, "cpu:nanoseconds", CHECKOUT, 2, 1);
    add_profile(store, "cpu:nanoseconds", CART, 3, 100);
    add_profile(store, "alloc_space:bytes", CHECKOUT, 2, 1000);
    add_profile(store, "alloc_space:bytes", CART, 3, 10000);
    win_sample_in w = {.stack = 3, .value = 50, .time_ns = T0, .n_attrs = 1, .attrs = TW};
    win_batch b = {"wall:nanoseconds", BATCH, 1, FRAMES, N_FRAMES, STACKS, 4, &w, 1, NULL, false};
    return win_store_add(store, &b, T0 + 40 * SEC, NULL, NULL, 0);
}

static int teardown(void **state)
{
    (void)state;
    win_store_free(store);
    return 0;
}

static win_selector *sel_of(const char *text)
{
    char err[256];
    win_selector *sel = win_selector_parse(text, NULL, err, sizeof err);
    assert_non_null(sel);
    return sel;
}

/* ---- profile types ---- */

static win_listing *types(const char *selector, int64_t start, int64_t end)
{
    base_errbuf eb = {0};
    win_selector *sel = sel_of(selector);
    win_listing *l = win_list_profile_types(store, sel, start, end, &eb);
    win_selector_free(sel); /* rows must not borrow from it */
    assert_non_null(l);
    return l;
}

static void assert_type(const win_type_info *t, const char *name, int64_t total, uint64_t entries,
                        uint32_t series, int64_t start, int64_t end)
{
    print_message("  %s total=%lld entries=%llu series=%u\n", t->profile_type, (long long)t->total,
                  (unsigned long long)t->n_entries, t->n_series);
    assert_string_equal(t->profile_type, name);
    assert_int_equal(t->total, total);
    assert_int_equal(t->n_entries, entries);
    assert_int_equal(t->n_series, series);
    assert_int_equal(t->start_ns, start);
    assert_int_equal(t->end_ns, end);
}

static void test_profile_types(void **state)
{
    (void)state;
    win_listing *l = types("{}", INT64_MIN, INT64_MAX);
    assert_int_equal(l->n_rows, 3);
    const win_type_info *t = l->rows;
    assert_type(&t[0], "alloc_space:bytes", 29 * 11000, 10, 2, T0, T0 + 40 * SEC);
    assert_type(&t[1], "cpu:nanoseconds", 29 * 101, 10, 2, T0, T0 + 40 * SEC);
    assert_type(&t[2], "wall:nanoseconds", 50, 1, 1, T0, T0 + 10 * SEC);
    win_listing_free(l);

    /* resource matcher picks series */
    l = types("{service.name=\"cart\"}", INT64_MIN, INT64_MAX);
    assert_int_equal(l->n_rows, 2);
    t = l->rows;
    assert_type(&t[0], "alloc_space:bytes", 290000, 5, 1, T0, T0 + 40 * SEC);
    assert_type(&t[1], "cpu:nanoseconds", 2900, 5, 1, T0, T0 + 40 * SEC);
    win_listing_free(l);

    /* sample matcher filters entries (and the coverage follows them) */
    l = types("{thread.name=\"x\"}", INT64_MIN, INT64_MAX);
    assert_int_equal(l->n_rows, 2);
    t = l->rows;
    assert_type(&t[0], "alloc_space:bytes", 17 * 11000, 4, 2, T0, T0 + 20 * SEC);
    assert_type(&t[1], "cpu:nanoseconds", 17 * 101, 4, 2, T0, T0 + 20 * SEC);
    win_listing_free(l);

    /* time range: buckets T0+10s and T0+20s */
    l = types("{service_name=~\"c.*\"}", T0 + 10 * SEC, T0 + 30 * SEC);
    assert_int_equal(l->n_rows, 2);
    t = l->rows;
    assert_type(&t[1], "cpu:nanoseconds", 10 * 101, 4, 2, T0 + 10 * SEC, T0 + 30 * SEC);
    win_listing_free(l);

    /* nothing: no data in range, or no series matches */
    l = types("{}", T0 + 100 * SEC, T0 + 200 * SEC);
    assert_int_equal(l->n_rows, 0);
    win_listing_free(l);
    l = types("{service.name=\"nope\"}", INT64_MIN, INT64_MAX);
    assert_int_equal(l->n_rows, 0);
    win_listing_free(l);
}

/* ---- labels ---- */

typedef struct expect_label {
    const char *name;
    uint32_t n_values;
    bool resource_level;
} expect_label;

static void assert_labels(const char *ptype, const char *selector, int64_t start, int64_t end,
                          const expect_label *want, size_t n)
{
    base_errbuf eb = {0};
    win_selector *sel = sel_of(selector);
    win_query q = {ptype, sel, start, end, false};
    win_listing *l = win_list_labels(store, &q, &eb);
    win_selector_free(sel);
    assert_non_null(l);
    const win_label_info *r = l->rows;
    for (size_t i = 0; i < l->n_rows; i++)
        print_message("  %s %u %d\n", r[i].name, r[i].n_values, r[i].resource_level);
    assert_int_equal(l->n_rows, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r[i].name, want[i].name);
        assert_int_equal(r[i].n_values, want[i].n_values);
        assert_int_equal(r[i].resource_level, want[i].resource_level);
    }
    win_listing_free(l);
}

static void test_labels(void **state)
{
    (void)state;
    /* the pool=io sample's trace link lists as trace_id and span_id (sample level) */
    static const expect_label cpu_all[] = {
        {"host.name", 2, true},    {"k8s.pod.name", 1, true}, {"pool", 1, false},
        {"service.name", 2, true}, {"span_id", 1, false},     {"thread.name", 3, false},
        {"trace_id", 1, false},
    };
    assert_labels("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, cpu_all, 7);
    /* every type: batch adds a service and a thread */
    static const expect_label any_all[] = {
        {"host.name", 2, true},    {"k8s.pod.name", 1, true}, {"pool", 1, false},
        {"service.name", 3, true}, {"span_id", 1, false},     {"thread.name", 4, false},
        {"trace_id", 1, false},
    };
    assert_labels(NULL, "{}", INT64_MIN, INT64_MAX, any_all, 7);
    static const expect_label checkout[] = {
        {"host.name", 1, true}, {"pool", 1, false},        {"service.name", 1, true},
        {"span_id", 1, false},  {"thread.name", 3, false}, {"trace_id", 1, false},
    };
    assert_labels("cpu:nanoseconds", "{service.name=\"checkout\"}", INT64_MIN, INT64_MAX, checkout,
                  6);
    /* a sample matcher: only entries of thread z count (no pool there) */
    static const expect_label z[] = {
        {"host.name", 2, true},
        {"k8s.pod.name", 1, true},
        {"service.name", 2, true},
        {"thread.name", 1, false},
    };
    assert_labels("cpu:nanoseconds", "{thread.name=\"z\"}", INT64_MIN, INT64_MAX, z, 4);
    /* time range: [T0+10s, T0+20s) holds only the pool=io sample */
    static const expect_label mid[] = {
        {"host.name", 1, true}, {"pool", 1, false},        {"service.name", 1, true},
        {"span_id", 1, false},  {"thread.name", 1, false}, {"trace_id", 1, false},
    };
    assert_labels("alloc_space:bytes", "{service.name=\"checkout\"}", T0 + 10 * SEC, T0 + 20 * SEC,
                  mid, 6);
    assert_labels("cpu:nanoseconds", "{}", T0 + 100 * SEC, INT64_MAX, NULL, 0);
    assert_labels("nope:x", "{}", INT64_MIN, INT64_MAX, NULL, 0);
}

typedef struct expect_value {
    const char *value;
    int64_t total;
} expect_value;

static void assert_values(const char *ptype, const char *selector, int64_t start, int64_t end,
                          const char *name, const expect_value *want, size_t n)
{
    base_errbuf eb = {0};
    win_selector *sel = sel_of(selector);
    win_query q = {ptype, sel, start, end, false};
    win_listing *l = win_list_label_values(store, &q, name, &eb);
    win_selector_free(sel);
    assert_non_null(l);
    const win_label_value *r = l->rows;
    for (size_t i = 0; i < l->n_rows; i++)
        print_message("  %s %lld\n", r[i].value, (long long)r[i].total);
    assert_int_equal(l->n_rows, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r[i].value, want[i].value);
        assert_int_equal(r[i].total, want[i].total);
    }
    win_listing_free(l);
}

static void test_label_values(void **state)
{
    (void)state;
    /* ranked by total of the type */
    static const expect_value threads[] = {{"x", 1717}, {"y", 909}, {"z", 303}};
    assert_values("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, "thread.name", threads, 3);
    static const expect_value services[] = {{"cart", 2900}, {"checkout", 29}};
    assert_values("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, "service_name", services, 2);
    /* selector on a resource attribute, then on a sample attribute */
    static const expect_value ck[] = {{"x", 17000}, {"y", 9000}, {"z", 3000}};
    assert_values("alloc_space:bytes", "{service.name=\"checkout\"}", INT64_MIN, INT64_MAX,
                  "thread.name", ck, 3);
    static const expect_value hosts_y[] = {{"h2", 900}, {"h1", 9}};
    assert_values("cpu:nanoseconds", "{thread.name=\"y\"}", INT64_MIN, INT64_MAX, "host.name",
                  hosts_y, 2);
    /* time range */
    static const expect_value late[] = {{"y", 404}, {"z", 303}};
    assert_values("cpu:nanoseconds", "{}", T0 + 20 * SEC, INT64_MAX, "thread.name", late, 2);
    /* no type: entry counts, ties by value */
    static const expect_value counts[] = {{"x", 8}, {"y", 8}, {"z", 4}, {"w", 1}};
    assert_values(NULL, "{}", INT64_MIN, INT64_MAX, "thread.name", counts, 4);
    static const expect_value svc_counts[] = {{"cart", 10}, {"checkout", 10}, {"batch", 1}};
    assert_values(NULL, "{}", INT64_MIN, INT64_MAX, "service.name", svc_counts, 3);
    /* only entries that have it */
    static const expect_value pool[] = {{"io", 707}};
    assert_values("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, "pool", pool, 1);
    assert_values("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, "never.stored", NULL, 0);
    assert_values("nope:x", "{}", INT64_MIN, INT64_MAX, "thread.name", NULL, 0);

    base_errbuf eb = {0};
    win_query q = {NULL, NULL, INT64_MIN, INT64_MAX, false};
    base_errbuf_clear(&eb);
    assert_null(win_list_label_values(store, &q, "", &eb));
    assert_true(strlen(eb.text) > 0);
    assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT);
}

/* ---- time series ---- */

static void dump(const win_timeseries *ts)
{
    assert_non_null(ts);
    for (uint32_t g = 0; g < ts->n_groups; g++) {
        print_message("  %s total=%lld:", ts->group_names[g], (long long)ts->totals[g]);
        for (uint32_t s = 0; s < ts->n_steps; s++)
            print_message(" %lld", (long long)ts->values[(size_t)g * ts->n_steps + s]);
        print_message("\n");
    }
}

static win_timeseries *series_of(const char *ptype, const char *selector, int64_t start,
                                 int64_t end, int64_t step, const char *fn, const char *group,
                                 uint32_t max_groups)
{
    base_errbuf eb = {0};
    win_selector *sel = sel_of(selector);
    win_query q = {ptype, sel, start, end, false};
    win_timeseries *ts = win_query_timeseries(store, &q, step, fn, group, max_groups, &eb);
    win_selector_free(sel);
    if (!ts)
        print_message("error: %s\n", eb.text);
    dump(ts);
    return ts;
}

static void assert_group(const win_timeseries *ts, uint32_t g, const char *name,
                         const int64_t *want)
{
    assert_true(g < ts->n_groups);
    assert_string_equal(ts->group_names[g], name);
    int64_t sum = 0;
    for (uint32_t s = 0; s < ts->n_steps; s++) {
        assert_int_equal(ts->values[(size_t)g * ts->n_steps + s], want[s]);
        sum += want[s];
    }
    assert_int_equal(ts->totals[g], sum);
}

static int64_t merge_total(const char *ptype, const char *selector, int64_t start, int64_t end)
{
    win_selector *sel = sel_of(selector);
    win_query q = {ptype, sel, start, end, false};
    win_merged *m = win_merge(store, &q, NULL);
    assert_non_null(m);
    int64_t total = m->total;
    win_merged_free(m);
    win_selector_free(sel);
    return total;
}

static int64_t top_cum(const char *ptype, const char *selector, int64_t start, int64_t end,
                       const char *fn)
{
    win_selector *sel = sel_of(selector);
    win_query q = {ptype, sel, start, end, false};
    win_merged *m = win_merge(store, &q, NULL);
    assert_non_null(m);
    win_top_row *rows;
    int64_t n = win_top(m, &rows), cum = -1;
    for (int64_t i = 0; i < n; i++)
        if (strcmp(rows[i].function, fn) == 0)
            cum = rows[i].cum;
    free(rows);
    win_merged_free(m);
    win_selector_free(sel);
    return cum;
}

static void test_timeseries_totals_and_steps(void **state)
{
    (void)state;
    assert_int_equal(win_store_resolution(store), 10 * SEC);
    assert_int_equal(win_store_retention(store), 3600 * SEC);
    /* step 0 = the resolution; open range = the data's extent */
    win_timeseries *ts = series_of("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, 0, NULL, NULL, 0);
    assert_int_equal(ts->start_ns, T0);
    assert_int_equal(ts->step_ns, 10 * SEC);
    assert_int_equal(ts->n_steps, 4);
    assert_int_equal(ts->n_groups, 1);
    static const int64_t all[] = {1515, 707, 303, 404};
    assert_group(ts, 0, "(all)", all);
    assert_int_equal(ts->totals[0], merge_total("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX));
    win_timeseries_free(ts);

    /* 15 s rounds up to 20 s (whole buckets) */
    ts = series_of("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, 15 * SEC, NULL, NULL, 0);
    assert_int_equal(ts->step_ns, 20 * SEC);
    assert_int_equal(ts->n_steps, 2);
    static const int64_t by20[] = {2222, 707};
    assert_group(ts, 0, "(all)", by20);
    win_timeseries_free(ts);

    /* 1 s rounds up to the resolution; start aligns down; end is exclusive */
    ts = series_of("cpu:nanoseconds", "{service.name=\"cart\"}", T0 + 5 * SEC, T0 + 25 * SEC, SEC,
                   NULL, NULL, 0);
    assert_int_equal(ts->start_ns, T0);
    assert_int_equal(ts->step_ns, 10 * SEC);
    assert_int_equal(ts->n_steps, 3);
    static const int64_t cart[] = {1500, 700, 300};
    assert_group(ts, 0, "(all)", cart);
    assert_int_equal(ts->totals[0], merge_total("cpu:nanoseconds", "{service.name=\"cart\"}",
                                                T0 + 5 * SEC, T0 + 25 * SEC));
    win_timeseries_free(ts);

    /* an explicit range wider than the data: zero steps around it */
    ts = series_of("alloc_space:bytes", "{thread.name=\"y\"}", T0 - 20 * SEC, T0 + 60 * SEC,
                   20 * SEC, NULL, NULL, 0);
    assert_int_equal(ts->start_ns, T0 - 20 * SEC);
    assert_int_equal(ts->n_steps, 4);
    static const int64_t ys[] = {0, 55000, 44000, 0};
    assert_group(ts, 0, "(all)", ys);
    win_timeseries_free(ts);
}

static void test_timeseries_grouped(void **state)
{
    (void)state;
    win_timeseries *ts =
        series_of("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, 0, NULL, "service.name", 10);
    assert_int_equal(ts->n_groups, 2);
    static const int64_t cart[] = {1500, 700, 300, 400}, checkout[] = {15, 7, 3, 4};
    assert_group(ts, 0, "cart", cart);
    assert_group(ts, 1, "checkout", checkout);
    win_timeseries_free(ts);

    /* sample attribute, all groups kept */
    ts = series_of("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, 0, NULL, "thread.name", 0);
    assert_int_equal(ts->n_groups, 3);
    static const int64_t x[] = {1010, 707, 0, 0}, y[] = {505, 0, 0, 404}, z[] = {0, 0, 303, 0};
    assert_group(ts, 0, "x", x);
    assert_group(ts, 1, "y", y);
    assert_group(ts, 2, "z", z);
    win_timeseries_free(ts);

    /* one group kept, the rest folded into "(other)" */
    ts = series_of("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, 0, NULL, "thread.name", 1);
    assert_int_equal(ts->n_groups, 2);
    static const int64_t other[] = {505, 0, 303, 404};
    assert_group(ts, 0, "x", x);
    assert_group(ts, 1, "(other)", other);
    win_timeseries_free(ts);

    /* from T0+10s x ties with the rest: a named group goes before "(other)" */
    ts = series_of("cpu:nanoseconds", "{}", T0 + 10 * SEC, INT64_MAX, 0, NULL, "thread.name", 1);
    assert_int_equal(ts->n_groups, 2);
    assert_int_equal(ts->start_ns, T0 + 10 * SEC);
    static const int64_t late_x[] = {707, 0, 0}, late_other[] = {0, 303, 404};
    assert_group(ts, 0, "x", late_x);
    assert_group(ts, 1, "(other)", late_other);
    win_timeseries_free(ts);
    ts = series_of("alloc_space:bytes", "{service.name=\"cart\"}", INT64_MIN, INT64_MAX, 40 * SEC,
                   NULL, "thread.name", 1);
    assert_int_equal(ts->n_groups, 2);
    static const int64_t big_x[] = {170000}, big_other[] = {120000};
    assert_group(ts, 0, "x", big_x);
    assert_group(ts, 1, "(other)", big_other);
    win_timeseries_free(ts);

    /* entries without the attribute form the "" group; resource attributes win */
    ts = series_of("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, 40 * SEC, NULL, "pool", 0);
    assert_int_equal(ts->n_groups, 2);
    static const int64_t none[] = {2222}, io[] = {707};
    assert_group(ts, 0, "", none);
    assert_group(ts, 1, "io", io);
    win_timeseries_free(ts);
    ts =
        series_of("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, 40 * SEC, NULL, "never.stored", 0);
    assert_int_equal(ts->n_groups, 1);
    static const int64_t every[] = {2929};
    assert_group(ts, 0, "", every);
    win_timeseries_free(ts);
}

static void test_timeseries_function(void **state)
{
    (void)state;
    static const struct {
        const char *fn;
        int64_t steps[4];
    } cases[] = {
        {"a", {1010, 0, 0, 404}},     /* via S0 only */
        {"c", {505, 707, 0, 0}},      /* S1, and S2 as the caller of the unsymbolized leaf */
        {"0x4f5a1b", {0, 707, 0, 0}}, /* the unsymbolized frame, keyed as win_top keys it */
        {"main", {1515, 707, 303, 404}}, {"0x4F5A1B", {0, 0, 0, 0}}, /* not how win_top spells it */
        {"nope", {0, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("function %s\n", cases[i].fn);
        win_timeseries *ts =
            series_of("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, 0, cases[i].fn, NULL, 0);
        assert_int_equal(ts->n_steps, 4);
        assert_group(ts, 0, "(all)", cases[i].steps);
        int64_t cum = top_cum("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, cases[i].fn);
        if (cum >= 0)
            assert_int_equal(ts->totals[0], cum);
        else
            assert_int_equal(ts->totals[0], 0);
        win_timeseries_free(ts);
    }
    /* over a narrower range and a sample filter, still the cum of win_top */
    win_timeseries *ts = series_of("alloc_space:bytes", "{thread.name=~\"x|z\"}", T0 + 10 * SEC,
                                   INT64_MAX, 0, "c", NULL, 0);
    assert_int_equal(ts->totals[0], top_cum("alloc_space:bytes", "{thread.name=~\"x|z\"}",
                                            T0 + 10 * SEC, INT64_MAX, "c"));
    assert_int_equal(ts->totals[0], 77000);
    win_timeseries_free(ts);
    /* function and grouping together */
    ts = series_of("cpu:nanoseconds", "{}", INT64_MIN, INT64_MAX, 0, "a", "thread.name", 5);
    assert_int_equal(ts->n_groups, 2);
    static const int64_t ax[] = {1010, 0, 0, 0}, ay[] = {0, 0, 0, 404};
    assert_group(ts, 0, "x", ax);
    assert_group(ts, 1, "y", ay);
    win_timeseries_free(ts);
}

static void test_timeseries_empty_and_errors(void **state)
{
    (void)state;
    /* unknown type: no data to anchor the open range */
    win_timeseries *ts = series_of("nope:x", "{}", INT64_MIN, INT64_MAX, 0, NULL, NULL, 0);
    assert_int_equal(ts->n_steps, 0);
    assert_int_equal(ts->n_groups, 1);
    assert_string_equal(ts->group_names[0], "(all)");
    assert_int_equal(ts->totals[0], 0);
    win_timeseries_free(ts);
    ts = series_of("cpu:nanoseconds", "{service.name=\"nope\"}", INT64_MIN, INT64_MAX, 0, NULL,
                   "thread.name", 0);
    assert_int_equal(ts->n_steps, 0);
    assert_int_equal(ts->n_groups, 0);
    win_timeseries_free(ts);
    /* an explicit range with nothing in it: zeros */
    ts = series_of("cpu:nanoseconds", "{service.name=\"nope\"}", T0, T0 + 20 * SEC, 0, NULL, NULL,
                   0);
    assert_int_equal(ts->n_steps, 2);
    static const int64_t zeros[] = {0, 0};
    assert_group(ts, 0, "(all)", zeros);
    win_timeseries_free(ts);

    base_errbuf eb = {0};
    win_query q = {"cpu:nanoseconds", NULL, 0, T0, false};
    base_errbuf_clear(&eb);
    assert_null(win_query_timeseries(store, &q, 10 * SEC, NULL, NULL, 0, &eb));
    print_message("%s\n", eb.text);
    assert_non_null(strstr(eb.text, "larger step"));
    assert_int_equal(eb.kind, BASE_ERR_BAD_ARGUMENT); /* the request's fault, not memory */
    q = (win_query){"cpu:nanoseconds", NULL, T0, T0, false};
    base_errbuf_clear(&eb);
    assert_null(win_query_timeseries(store, &q, 10 * SEC, NULL, NULL, 0, &eb));
    assert_true(strlen(eb.text) > 0);
    q = (win_query){NULL, NULL, INT64_MIN, INT64_MAX, false};
    base_errbuf_clear(&eb);
    assert_null(win_query_timeseries(store, &q, 10 * SEC, NULL, NULL, 0, &eb));
    assert_true(strlen(eb.text) > 0);
}

/* ---- keep_labels ---- */

/* Every node's pairs sum to its self; every pair points at a node and a label set. */
static void assert_labeled_sums(const win_merged *m)
{
    int64_t *sum = calloc(m->n_nodes, sizeof *sum);
    for (uint32_t i = 0; i < m->n_labeled; i++) {
        assert_true(m->labeled[i].node < m->n_nodes);
        assert_true(m->labeled[i].labels < m->n_label_sets);
        sum[m->labeled[i].node] += m->labeled[i].value;
    }
    for (uint32_t i = 0; i < m->n_nodes; i++)
        assert_int_equal(sum[i], m->nodes[i].self);
    free(sum);
}

static const char *frame_fn(const win_merged *m, uint32_t node)
{
    return m->frames[m->nodes[node].frame].function;
}

static void test_keep_labels(void **state)
{
    (void)state;
    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, false};
    win_merged *m = win_merge(store, &q, NULL);
    assert_non_null(m);
    assert_null(m->labeled);
    assert_int_equal(m->n_labeled, 0);
    assert_int_equal(m->n_label_sets, 0);
    win_merged_free(m);

    q.keep_labels = true;
    m = win_merge(store, &q, NULL);
    assert_non_null(m);
    assert_int_equal(m->total, 2929);
    assert_labeled_sums(m);
    /* (b, x), (b, y), (c, y), (0x4f5a1b, x+pool+link), (main, z): the services merge */
    assert_int_equal(m->n_labeled, 5);
    assert_int_equal(m->n_label_sets, 4);
    bool seen_link = false;
    for (uint32_t i = 0; i < m->n_labeled; i++) {
        const win_labeled *p = &m->labeled[i];
        const win_label_set *ls = &m->label_sets[p->labels];
        if (i)
            assert_true(m->labeled[i - 1].node <= p->node);
        if (ls->trace_id) {
            seen_link = true;
            assert_int_equal(p->value, 707);
            assert_string_equal(frame_fn(m, p->node), "");
            assert_int_equal(m->frames[m->nodes[p->node].frame].address, 0x4f5a1b);
            assert_memory_equal(ls->trace_id, TRACE, 16);
            assert_non_null(ls->span_id);
            assert_memory_equal(ls->span_id, SPAN, 8);
            assert_int_equal(ls->n_attrs, 2);
            assert_string_equal(ls->attrs[0].key, "pool");
            assert_string_equal(ls->attrs[0].value, "io");
            assert_string_equal(ls->attrs[1].key, "thread.name");
            assert_string_equal(ls->attrs[1].value, "x");
            continue;
        }
        assert_null(ls->span_id);
        assert_int_equal(ls->n_attrs, 1);
        assert_string_equal(ls->attrs[0].key, "thread.name");
        const char *fn = frame_fn(m, p->node), *t = ls->attrs[0].value;
        if (strcmp(fn, "b") == 0 && strcmp(t, "x") == 0)
            assert_int_equal(p->value, 1010);
        else if (strcmp(fn, "b") == 0 && strcmp(t, "y") == 0)
            assert_int_equal(p->value, 404);
        else if (strcmp(fn, "c") == 0 && strcmp(t, "y") == 0)
            assert_int_equal(p->value, 505);
        else if (strcmp(fn, "main") == 0 && strcmp(t, "z") == 0)
            assert_int_equal(p->value, 303);
        else
            fail_msg("unexpected pair %s/%s", fn, t);
    }
    assert_true(seen_link);
    win_merged_free(m);

    /* a sample filter and a range narrow the pairs and the label sets with them */
    win_selector *sel = sel_of("{thread.name=\"y\"}");
    q = (win_query){"alloc_space:bytes", sel, T0 + 10 * SEC, INT64_MAX, true};
    m = win_merge(store, &q, NULL);
    win_selector_free(sel);
    assert_non_null(m);
    assert_labeled_sums(m);
    assert_int_equal(m->n_labeled, 1);
    assert_int_equal(m->n_label_sets, 1);
    assert_int_equal(m->labeled[0].value, 44000);
    assert_string_equal(m->label_sets[0].attrs[0].value, "y");
    win_merged_free(m);
}

static void test_keep_labels_cancelling(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    /* S0's leaf b nets to 0 over two threads but stays as the parent of S4's leaf; S1's leaf
     * nets to 0 and goes */
    static const uint32_t s4[] = {F_A, F_B, F_A, F_MAIN};
    const win_stack_in stacks[] = {{S0, 3}, {S1, 2}, {s4, 4}};
    win_sample_in samples[] = {
        {.stack = 0, .value = 4, .time_ns = T0, .n_attrs = 1, .attrs = TX},
        {.stack = 0, .value = -4, .time_ns = T0, .n_attrs = 1, .attrs = TY},
        {.stack = 1, .value = 2, .time_ns = T0, .n_attrs = 1, .attrs = TZ},
        {.stack = 1, .value = -2, .time_ns = T0, .n_attrs = 1, .attrs = TZ},
        {.stack = 2, .value = 6, .time_ns = T0, .n_attrs = 1, .attrs = TW},
    };
    win_batch b = {"delta:count", NULL, 0, FRAMES, N_FRAMES, stacks, 3, samples, 5, NULL, false};
    assert_int_equal(win_store_add(st, &b, T0, NULL, NULL, 0), 0);
    win_query q = {"delta:count", NULL, INT64_MIN, INT64_MAX, true};
    win_merged *m = win_merge(st, &q, NULL);
    assert_non_null(m);
    assert_int_equal(m->total, 6);
    assert_int_equal(m->n_nodes, 5); /* root, main, a, b, a */
    assert_labeled_sums(m);
    assert_int_equal(m->n_labeled, 3); /* (b, x) 4, (b, y) -4, (a, w) 6; z cancelled */
    assert_int_equal(m->n_label_sets, 3);
    for (uint32_t i = 0; i < m->n_label_sets; i++)
        assert_string_not_equal(m->label_sets[i].attrs[0].value, "z");
    win_merged_free(m);
    win_store_free(st);
}

/* "(other)" outweighing the groups kept comes first: groups are ordered by total. */
static void test_timeseries_other_first(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    win_sample_in samples[] = {
        {.stack = 0, .value = 5, .time_ns = T0, .n_attrs = 1, .attrs = TX},
        {.stack = 0, .value = 4, .time_ns = T0, .n_attrs = 1, .attrs = TY},
        {.stack = 0, .value = 4, .time_ns = T0 + 10 * SEC, .n_attrs = 1, .attrs = TZ},
        {.stack = 1, .value = 1, .time_ns = T0 + 10 * SEC}, /* no thread: the "" group */
    };
    win_batch b = {"cpu:nanoseconds", CART, 3,    FRAMES, N_FRAMES, STACKS, 4,
                   samples,           4,    NULL, false};
    assert_int_equal(win_store_add(st, &b, T0, NULL, NULL, 0), 0);
    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, false};
    base_errbuf eb = {0};
    win_timeseries *ts = win_query_timeseries(st, &q, 0, NULL, "thread.name", 1, &eb);
    dump(ts);
    assert_int_equal(ts->n_steps, 2);
    assert_int_equal(ts->n_groups, 2);
    static const int64_t other[] = {4, 5}, x[] = {5, 0};
    assert_group(ts, 0, "(other)", other);
    assert_group(ts, 1, "x", x);
    win_timeseries_free(ts);
    ts = win_query_timeseries(st, &q, 0, NULL, "thread.name", 2, &eb);
    dump(ts);
    /* x 5, then y and z tie at 4: y is kept by name; "(other)" (z + "") ties with x at 5
     * and goes after it */
    assert_int_equal(ts->n_groups, 3);
    static const int64_t y[] = {4, 0}, rest[] = {0, 5};
    assert_group(ts, 0, "x", x);
    assert_group(ts, 1, "(other)", rest);
    assert_group(ts, 2, "y", y);
    win_timeseries_free(ts);
    win_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_types),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_label_values),
        cmocka_unit_test(test_timeseries_totals_and_steps),
        cmocka_unit_test(test_timeseries_grouped),
        cmocka_unit_test(test_timeseries_function),
        cmocka_unit_test(test_timeseries_empty_and_errors),
        cmocka_unit_test(test_timeseries_other_first),
        cmocka_unit_test(test_keep_labels),
        cmocka_unit_test(test_keep_labels_cancelling),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
