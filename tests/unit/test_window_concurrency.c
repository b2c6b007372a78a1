/* Concurrency smoke test for window/: two ingest threads and one querying thread for about
 * a second; every query must see whole batches only, and the final totals must add up. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "window/window.h"

#define SEC   1000000000LL
#define T0    (1700000000LL * SEC)
#define BATCH 10 /* samples per batch, value 1 each */

static win_store *store;
static atomic_bool stop;
static atomic_ulong batches_done[2];
static atomic_ulong bad_snapshots, queries_done, failures;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static void *ingest(void *arg)
{
    int id = (int)(intptr_t)arg;
    char fn[BATCH][32];
    win_frame_in frames[BATCH + 1];
    uint32_t idx[BATCH][2];
    win_stack_in stacks[BATCH];
    win_sample_in samples[BATCH];
    win_attr attr = {"thread.name", id ? "t1" : "t0"};
    win_attr res = {"service.name", "svc"};
    frames[BATCH] = (win_frame_in){"main", "main.go", 1, 0, NULL, NULL, NULL, 0};
    for (uint64_t n = 0; !atomic_load(&stop); n++) {
        for (int i = 0; i < BATCH; i++) {
            /* fresh names now and then, so interning keeps growing under the readers */
            snprintf(fn[i], sizeof fn[i], "f%d_%d_%llu", id, i, (unsigned long long)(n % 64));
            frames[i] = (win_frame_in){fn[i], "x.go", i, 0, NULL, NULL, NULL, 0};
            idx[i][0] = (uint32_t)i;
            idx[i][1] = BATCH;
            stacks[i] = (win_stack_in){idx[i], 2};
            samples[i] = (win_sample_in){.stack = (uint32_t)i,
                                         .n_attrs = 1,
                                         .attrs = &attr,
                                         .value = 1,
                                         .time_ns = T0 + (int64_t)(n % 50) * SEC};
        }
        win_batch b = {"cpu:nanoseconds", &res,  1,    frames, BATCH + 1, stacks, BATCH,
                       samples,           BATCH, NULL, false};
        win_add_result r;
        if (win_store_add(store, &b, T0 + 50 * SEC, &r, NULL, 0) != 0 || r.samples_stored != BATCH)
            atomic_fetch_add(&failures, 1);
        atomic_fetch_add(&batches_done[id], 1);
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    char err[256];
    base_errbuf eb = {0};
    win_selector *sel =
        win_selector_parse("{service.name=\"svc\", thread.name=~\"t.\"}", NULL, err, sizeof err);
    int64_t last = 0;
    while (!atomic_load(&stop)) {
        /* every other merge keeps labels: its pairs must still sum to the total */
        bool keep = atomic_load(&queries_done) % 2 == 1;
        win_query q = {"cpu:nanoseconds", sel, INT64_MIN, INT64_MAX, keep};
        win_merged *m = win_merge(store, &q, NULL);
        if (!m) {
            atomic_fetch_add(&failures, 1);
            continue;
        }
        win_top_row *rows;
        int64_t n = win_top(m, &rows);
        int64_t main_cum = -1;
        for (int64_t i = 0; i < n; i++)
            if (strcmp(rows[i].function, "main") == 0)
                main_cum = rows[i].cum;
        /* whole batches only, never going backwards, main on every stack */
        if (m->total % BATCH != 0 || m->total < last || (m->total && main_cum != m->total))
            atomic_fetch_add(&bad_snapshots, 1);
        last = m->total;
        int64_t labeled = 0;
        for (uint32_t i = 0; i < m->n_labeled; i++)
            labeled += m->labeled[i].value;
        if (keep && labeled != m->total)
            atomic_fetch_add(&bad_snapshots, 1);
        free(rows);
        win_merged_free(m);
        /* listings and time series see whole batches too */
        win_timeseries *ts = win_query_timeseries(store, &q, 0, "main", "thread.name", 1, &eb);
        win_listing *l = win_list_label_values(store, &q, "thread.name", &eb);
        if (!ts || !l) {
            atomic_fetch_add(&failures, 1);
        } else {
            int64_t ts_total = 0;
            for (uint32_t g = 0; g < ts->n_groups; g++)
                ts_total += ts->totals[g];
            if (ts_total % BATCH != 0 || ts_total < last)
                atomic_fetch_add(&bad_snapshots, 1);
            const win_label_value *v = l->rows;
            for (size_t i = 0; i < l->n_rows; i++)
                if (v[i].total % BATCH != 0)
                    atomic_fetch_add(&bad_snapshots, 1);
        }
        win_timeseries_free(ts);
        win_listing_free(l);
        win_stats s;
        win_store_stats(store, &s);
        if (s.samples_stored % BATCH != 0)
            atomic_fetch_add(&bad_snapshots, 1);
        atomic_fetch_add(&queries_done, 1);
    }
    win_selector_free(sel);
    return NULL;
}

static void test_ingest_and_query_concurrently(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    store = win_store_new(&cfg);
    assert_non_null(store);
    pthread_t t[3];
    assert_int_equal(pthread_create(&t[0], NULL, ingest, (void *)(intptr_t)0), 0);
    assert_int_equal(pthread_create(&t[1], NULL, ingest, (void *)(intptr_t)1), 0);
    assert_int_equal(pthread_create(&t[2], NULL, reader, NULL), 0);
    int64_t until = mono_ns() + SEC;
    while (mono_ns() < until) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);

    uint64_t batches = atomic_load(&batches_done[0]) + atomic_load(&batches_done[1]);
    print_message("batches %llu, queries %llu\n", (unsigned long long)batches,
                  (unsigned long long)atomic_load(&queries_done));
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&bad_snapshots), 0);
    assert_true(atomic_load(&batches_done[0]) > 0 && atomic_load(&batches_done[1]) > 0);
    assert_true(atomic_load(&queries_done) > 0);

    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, false};
    win_merged *m = win_merge(store, &q, NULL);
    assert_non_null(m);
    assert_int_equal(m->total, (int64_t)(batches * BATCH));
    win_merged_free(m);
    win_stats s;
    win_store_stats(store, &s);
    assert_int_equal(s.samples_stored, batches * BATCH);
    assert_int_equal(s.series, 1);
    win_store_free(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_and_query_concurrently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
