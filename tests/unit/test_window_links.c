/* Unit tests for window/'s frame kinds and trace links: win_merge_filtered (frames dropped
 * by profile.frame.type as pprof -show/-hide), selectors on trace_id / span_id, and
 * win_list_label_values ranking link ids by total. */
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

/* main (go) -> sys (kernel) -> k2 (kernel); main -> work (go) -> lib (native) */
enum { F_MAIN, F_SYS, F_K2, F_WORK, F_LIB, N_FRAMES };
static const win_frame_in FRAMES[N_FRAMES] = {
    [F_MAIN] = {"main", "main.go", 5, 0x1000, "app", "id1", "go", 3},
    [F_SYS] = {"sys", "", 0, 0x2000, "vmlinux", "", "kernel", 0},
    [F_K2] = {"k2", "", 0, 0x3000, "vmlinux", "", "kernel", 0},
    [F_WORK] = {"work", "work.go", 20, 0x4000, "app", "id1", "go", 18},
    [F_LIB] = {NULL, NULL, 0, 0x5000, "libc.so", "", "native", 0},
};
static const uint32_t S1[] = {F_K2, F_SYS, F_MAIN};   /* 10, trace A span 1 */
static const uint32_t S2[] = {F_LIB, F_WORK, F_MAIN}; /* 6, trace B */
static const uint32_t S3[] = {F_WORK, F_MAIN};        /* 3, trace A span 2 */
static const uint32_t S4[] = {F_SYS, F_WORK, F_MAIN}; /* 1, no link */
static const win_stack_in STACKS[] = {{S1, 3}, {S2, 3}, {S3, 2}, {S4, 3}};
static const uint8_t TA[16] = {0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t TB[16] = {0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t SP1[8] = {0x51, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t SP2[8] = {0x52, 0, 0, 0, 0, 0, 0, 2};

static win_store *fill(void)
{
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    static const win_attr res[] = {{"service.name", "svc"}};
    win_sample_in s[] = {
        {.stack = 0, .value = 10, .time_ns = T0, .trace_id = TA, .span_id = SP1},
        {.stack = 1, .value = 6, .time_ns = T0, .trace_id = TB},
        {.stack = 2, .value = 3, .time_ns = T0, .trace_id = TA, .span_id = SP2},
        {.stack = 3, .value = 1, .time_ns = T0},
    };
    win_batch b = {"cpu:nanoseconds", res, 1, FRAMES, N_FRAMES, STACKS, 4, s, 4, NULL, false};
    char err[256];
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, T0 + SEC, &r, err, sizeof err), 0);
    return st;
}

/* flat and cum of `fn` in `m` (-1 when absent) */
static void top_of(const win_merged *m, const char *fn, int64_t *flat, int64_t *cum,
                   const char **type)
{
    win_top_row *rows = NULL;
    int64_t n = win_top(m, &rows);
    *flat = *cum = -1;
    for (int64_t i = 0; i < n; i++)
        if (strcmp(rows[i].function, fn) == 0) {
            *flat = rows[i].flat;
            *cum = rows[i].cum;
            if (type)
                *type = rows[i].frame_type;
        }
    free(rows);
}

static win_merged *merge(win_store *st, const char *sel_text, const win_frame_filter *ff)
{
    char err[256];
    base_errbuf eb = {0};
    win_selector *sel = sel_text ? win_selector_parse(sel_text, NULL, err, sizeof err) : NULL;
    win_query q = {"cpu:nanoseconds", sel, INT64_MIN, INT64_MAX, false};
    win_merged *m = win_merge_filtered(st, &q, ff, &eb);
    win_selector_free(sel);
    assert_non_null(m);
    return m;
}

static void test_frame_filter(void **state)
{
    (void)state;
    win_store *st = fill();
    int64_t f, c;
    const char *type = NULL;
    win_merged *m = merge(st, NULL, NULL);
    top_of(m, "sys", &f, &c, &type);
    assert_int_equal(f, 1);
    assert_int_equal(c, 11);
    assert_string_equal(type, "kernel");
    top_of(m, "0x5000", &f, &c, &type);
    assert_string_equal(type, "native");
    assert_int_equal(m->total, 20);
    win_merged_free(m);

    /* only kernel frames: sys gets k2's stack as caller, main/work vanish; total kept */
    const char *kernel[] = {"kernel"};
    win_frame_filter only = {kernel, 1, false};
    m = merge(st, NULL, &only);
    assert_int_equal(m->total, 20);
    top_of(m, "k2", &f, &c, NULL);
    assert_int_equal(f, 10);
    assert_int_equal(c, 10);
    top_of(m, "sys", &f, &c, NULL);
    assert_int_equal(f, 1); /* S4: sys is the leaf */
    assert_int_equal(c, 11);
    top_of(m, "main", &f, &c, NULL);
    assert_int_equal(c, -1);
    assert_int_equal(m->nodes[0].self, 9); /* S2 and S3 keep no frame: the root holds them */
    win_merged_free(m);

    /* all but kernel: S1's value goes to main (its nearest kept frame), S4's to work */
    win_frame_filter but = {kernel, 1, true};
    m = merge(st, NULL, &but);
    assert_int_equal(m->total, 20);
    top_of(m, "main", &f, &c, NULL);
    assert_int_equal(f, 10);
    assert_int_equal(c, 20);
    top_of(m, "work", &f, &c, NULL);
    assert_int_equal(f, 4);
    assert_int_equal(c, 10);
    top_of(m, "sys", &f, &c, NULL);
    assert_int_equal(c, -1);
    win_merged_free(m);

    /* an unknown type keeps nothing; more than 16 types is an error */
    const char *nope[] = {"nope"};
    win_frame_filter none = {nope, 1, false};
    m = merge(st, NULL, &none);
    assert_int_equal(m->total, 20);
    assert_int_equal(m->n_nodes, 1);
    win_merged_free(m);
    const char *many[17];
    for (int i = 0; i < 17; i++)
        many[i] = "go";
    win_frame_filter big = {many, 17, false};
    base_errbuf eb = {0};
    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, false};
    assert_null(win_merge_filtered(st, &q, &big, &eb));
    win_store_free(st);
}

static void test_trace_selectors(void **state)
{
    (void)state;
    win_store *st = fill();
    win_merged *m = merge(st, "{trace_id=\"aa0102030405060708090a0b0c0d0e0f\"}", NULL);
    assert_int_equal(m->total, 13);
    win_merged_free(m);
    m = merge(st, "{span_id=\"5200000000000002\"}", NULL);
    assert_int_equal(m->total, 3);
    win_merged_free(m);
    m = merge(st, "{trace_id=~\"bb.*\"}", NULL);
    assert_int_equal(m->total, 6);
    win_merged_free(m);
    m = merge(st, "{trace_id=\"\"}", NULL); /* unlinked samples */
    assert_int_equal(m->total, 1);
    win_merged_free(m);

    base_errbuf eb = {0};
    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, false};
    win_listing *l = win_list_label_values(st, &q, "trace_id", &eb);
    assert_non_null(l);
    assert_int_equal(l->n_rows, 2);
    const win_label_value *v = l->rows;
    assert_string_equal(v[0].value, "aa0102030405060708090a0b0c0d0e0f");
    assert_int_equal(v[0].total, 13);
    assert_string_equal(v[1].value, "bb0102030405060708090a0b0c0d0e0f");
    assert_int_equal(v[1].total, 6);
    win_listing_free(l);
    /* list_labels names them: sample level, distinct ids */
    l = win_list_labels(st, &q, &eb);
    assert_non_null(l);
    const win_label_info *li = l->rows;
    int seen = 0;
    for (size_t i = 0; i < l->n_rows; i++) {
        if (strcmp(li[i].name, "trace_id") == 0 || strcmp(li[i].name, "span_id") == 0) {
            assert_int_equal(li[i].n_values, 2);
            assert_false(li[i].resource_level);
            seen++;
        }
    }
    assert_int_equal(seen, 2);
    win_listing_free(l);
    l = win_list_label_values(st, &q, "span_id", &eb);
    assert_non_null(l);
    assert_int_equal(l->n_rows, 2);
    v = l->rows;
    assert_string_equal(v[0].value, "5100000000000001");
    assert_int_equal(v[0].total, 10);
    win_listing_free(l);
    win_store_free(st);
}

/* One bucket keeps at most 16,384 linked entries: past that, samples are stored without
 * their link (value exact, counted in samples_unlinked), so a sender that links every
 * sample to its own span cannot multiply a bucket's entries without bound. */
static void test_links_cap(void **state)
{
    (void)state;
    enum { N = 16384 + 100 };
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    static const win_attr res[] = {{"service.name", "svc"}};
    uint8_t(*ids)[16] = calloc(N, 16);
    win_sample_in *s = calloc(N, sizeof *s);
    assert_non_null(ids);
    assert_non_null(s);
    for (uint32_t i = 0; i < N; i++) {
        memcpy(ids[i], &i, sizeof i);
        ids[i][15] = 0x77;
        s[i] = (win_sample_in){.stack = 2, .value = 1, .time_ns = T0, .trace_id = ids[i]};
    }
    win_batch b = {"cpu:nanoseconds", res, 1, FRAMES, N_FRAMES, STACKS, 4, s, N, NULL, false};
    char err[256];
    base_errbuf eb = {0};
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, T0 + SEC, &r, err, sizeof err), 0);
    assert_int_equal(r.samples_stored, N);
    win_stats ws;
    win_store_stats(st, &ws);
    assert_int_equal(ws.samples_unlinked, 100);
    assert_int_equal(ws.entries, 16384 + 1); /* the unlinked ones share one entry */
    win_merged *m = merge(st, NULL, NULL);
    assert_int_equal(m->total, N);
    win_merged_free(m);
    m = merge(st, "{trace_id=\"\"}", NULL);
    assert_int_equal(m->total, 100);
    win_merged_free(m);
    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, false};
    win_listing *l = win_list_label_values(st, &q, "trace_id", &eb);
    assert_non_null(l);
    assert_int_equal(l->n_rows, 16384);
    win_listing_free(l);
    free(ids);
    free(s);
    win_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_filter),
        cmocka_unit_test(test_trace_selectors),
        cmocka_unit_test(test_links_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
