/* Stacks at the depth cap (WIN_MAX_STACK_DEPTH frames) through the store and every query,
 * on a thread with a 256 KiB stack: a walk that recursed once per frame would need more
 * than that (16384 frames x even 32 bytes is 512 KiB) and crash. The MHD and gRPC threads
 * that run queries do not have the main thread's 8 MiB. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/query.h"
#include "window/window.h"

#define SEC    1000000000LL
#define T0     (1700000000LL * SEC)
#define DEPTH  WIN_MAX_STACK_DEPTH
#define THREAD ((size_t)256 << 10)

typedef struct deep_run {
    int failed_at; /* 0 when every step passed, else the failing step */
    char err[256];
    int64_t table_total, flame_root_cum, sandwich_cum, leaf_flat;
    uint32_t n_functions, flame_rows;
    size_t pprof_len;
    int over_cap_refused;
} deep_run;

static char names[DEPTH + 1][16];
static win_frame_in frames[DEPTH + 1];
static uint32_t idx[DEPTH + 1];

static void *run_deep(void *arg)
{
    deep_run *r = arg;
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    if (!st) {
        r->failed_at = 1;
        return NULL;
    }
    static const win_attr res[] = {{"service.name", "deep"}};
    win_stack_in stacks[] = {{idx, DEPTH}, {idx, DEPTH + 1}};
    win_sample_in ok = {.stack = 0, .value = 100, .time_ns = T0};
    win_sample_in over = {.stack = 1, .value = 5, .time_ns = T0};
    win_add_result added;
    /* the over-cap stack alone in its batch: refused whole, with a message */
    win_batch b_over = {
        "cpu:nanoseconds", res, 1, frames, DEPTH + 1, stacks, 2, &over, 1, NULL, false};
    r->over_cap_refused =
        win_store_add(st, &b_over, T0 + SEC, &added, r->err, sizeof r->err) != 0 &&
        strstr(r->err, "exceeds the limit of 16384") != NULL;
    win_batch b = {"cpu:nanoseconds", res, 1, frames, DEPTH + 1, stacks, 1, &ok, 1, NULL, false};
    if (win_store_add(st, &b, T0 + SEC, &added, r->err, sizeof r->err)) {
        r->failed_at = 2;
        goto out;
    }
    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, true};
    win_merged *m = win_merge(st, &q, NULL);
    if (!m) {
        r->failed_at = 3;
        goto out;
    }
    query_table_opts to = {.sort = QUERY_SORT_CUM, .limit = 5};
    query_table *t = query_table_compute(m, &to, r->err, sizeof r->err);
    if (!t) {
        r->failed_at = 4;
    } else {
        r->table_total = t->total;
        r->n_functions = t->n_functions;
        query_table_free(t);
    }
    query_flame_opts fo = {.max_depth = 256, .min_percent = 0, .max_nodes = 1000};
    query_flame *f = r->failed_at ? NULL : query_flame_compute(m, &fo, r->err, sizeof r->err);
    if (!r->failed_at && !f) {
        r->failed_at = 5;
    } else if (f) {
        r->flame_root_cum = f->root_cum;
        r->flame_rows = f->n_rows;
        query_flame_free(f);
    }
    query_sandwich_opts so = {
        .function = "f8000", .max_depth = 64, .max_nodes = 100, .min_percent = 0};
    query_sandwich *s = r->failed_at ? NULL : query_sandwich_compute(m, &so, r->err, sizeof r->err);
    if (!r->failed_at && !s) {
        r->failed_at = 6;
    } else if (s) {
        r->sandwich_cum = s->cum;
        query_sandwich_free(s);
    }
    so.function = "f0";
    s = r->failed_at ? NULL : query_sandwich_compute(m, &so, r->err, sizeof r->err);
    if (!r->failed_at && !s) {
        r->failed_at = 7;
    } else if (s) {
        r->leaf_flat = s->flat;
        query_sandwich_free(s);
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!r->failed_at && query_export_pprof(m, NULL, NULL, &buf, &len, r->err, sizeof r->err))
        r->failed_at = 8;
    r->pprof_len = len;
    free(buf);
    win_merged_free(m);
out:
    win_store_free(st);
    return NULL;
}

static void test_cap_depth_on_a_small_stack(void **state)
{
    (void)state;
    for (uint32_t i = 0; i <= DEPTH; i++) {
        snprintf(names[i], sizeof names[i], "f%u", i);
        frames[i] = (win_frame_in){names[i], "deep.c", (int64_t)i + 1, 0, NULL, NULL, NULL, 0};
        idx[i] = i; /* leaf first: f0 is the leaf, f16383 the root */
    }
    deep_run r = {0};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    assert_int_equal(pthread_attr_setstacksize(&attr, THREAD), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, &attr, run_deep, &r), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&attr);
    if (r.failed_at)
        print_message("step %d: %s\n", r.failed_at, r.err);
    assert_int_equal(r.failed_at, 0);
    assert_true(r.over_cap_refused);
    assert_int_equal(r.table_total, 100);
    assert_int_equal(r.n_functions, DEPTH);
    assert_int_equal(r.flame_root_cum, 100);
    assert_true(r.flame_rows >= 256); /* the chain down to max_depth */
    assert_int_equal(r.sandwich_cum, 100);
    assert_int_equal(r.leaf_flat, 100);
    assert_true(r.pprof_len > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_depth_on_a_small_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
