/* Unit tests for receiver/budget.c (the in-flight byte budget both OTLP listeners share)
 * and for how otlp_receiver_start sizes it from the configuration. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "receiver/receiver_internal.h"

#define MiB ((uint64_t)1 << 20)

static void test_reserve_release(void **state)
{
    (void)state;
    otlp__budget b;
    otlp__budget_init(&b, 100);
    assert_true(otlp__budget_reserve(&b, 60));
    assert_int_equal(otlp__budget_used(&b), 60);
    assert_true(otlp__budget_reserve(&b, 40)); /* exactly the limit fits */
    assert_int_equal(otlp__budget_used(&b), 100);
    assert_false(otlp__budget_reserve(&b, 1));
    assert_int_equal(atomic_load(&b.refused), 1);
    otlp__budget_release(&b, 40);
    assert_int_equal(otlp__budget_used(&b), 60);
    otlp__budget_release(&b, 0);
    assert_int_equal(otlp__budget_used(&b), 60);
    otlp__budget_release(&b, 60);
    assert_int_equal(otlp__budget_used(&b), 0);
    assert_true(otlp__budget_reserve(&b, 0));
    assert_int_equal(otlp__budget_used(&b), 0);
}

/* A refused reservation takes nothing: a big request that does not fit must not starve the
 * small ones behind it. */
static void test_refusal_takes_nothing(void **state)
{
    (void)state;
    otlp__budget b;
    otlp__budget_init(&b, 100);
    assert_true(otlp__budget_reserve(&b, 30));
    assert_false(otlp__budget_reserve(&b, 71));
    assert_int_equal(otlp__budget_used(&b), 30);
    assert_true(otlp__budget_reserve(&b, 70));
    assert_int_equal(atomic_load(&b.refused), 1);
}

/* A Content-Length of 2^64-1 must be refused, not wrap the sum past the limit. */
static void test_huge_reservation_does_not_wrap(void **state)
{
    (void)state;
    otlp__budget b;
    otlp__budget_init(&b, 100);
    assert_true(otlp__budget_reserve(&b, 50));
    assert_false(otlp__budget_reserve(&b, UINT64_MAX));
    assert_false(otlp__budget_reserve(&b, UINT64_MAX - 49));
    assert_false(otlp__budget_reserve(&b, UINT64_MAX - 50));
    assert_int_equal(otlp__budget_used(&b), 50);
    assert_int_equal(atomic_load(&b.refused), 3);
}

/* Many threads taking and giving back: the limit is never passed and everything comes back. */
#define THREADS 4
#define ROUNDS  20000
static otlp__budget shared;
static _Atomic uint64_t over_limit, granted;

static void *churn(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg * 2654435761u + 1;
    for (int i = 0; i < ROUNDS; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        uint64_t n = 1 + (seed >> 33) % 400;
        if (!otlp__budget_reserve(&shared, n))
            continue;
        atomic_fetch_add(&granted, 1);
        if (otlp__budget_used(&shared) > shared.limit)
            atomic_fetch_add(&over_limit, 1);
        otlp__budget_release(&shared, n);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    otlp__budget_init(&shared, 1000);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&over_limit), 0);
    assert_int_equal(otlp__budget_used(&shared), 0);
    assert_int_equal(atomic_load(&granted) + atomic_load(&shared.refused),
                     (uint64_t)THREADS * ROUNDS);
    assert_true(atomic_load(&granted) > 0);
}

/* ---- sizing by otlp_receiver_start ------------------------------------------------ */

static uint64_t started_limit(uint64_t max_message_size, uint64_t max_inflight_bytes)
{
    win_config wc;
    win_config_defaults(&wc);
    win_store *store = win_store_new(&wc);
    assert_non_null(store);
    otlp_receiver_config cfg = {.grpc_addr = "off",
                                .http_addr = "off",
                                .max_message_size = max_message_size,
                                .max_inflight_bytes = max_inflight_bytes};
    char err[256] = "";
    otlp_receiver *rcv = otlp_receiver_start(&cfg, store, err, sizeof err);
    assert_non_null(rcv);
    otlp_stats st;
    otlp_receiver_stats(rcv, &st);
    assert_int_equal(st.inflight_bytes, 0);
    assert_int_equal(st.requests_throttled, 0);
    otlp_receiver_stop(rcv);
    win_store_free(store);
    return st.inflight_limit;
}

static void test_receiver_sizing(void **state)
{
    (void)state;
    /* defaults: 4 x 64 MiB */
    assert_int_equal(started_limit(0, 0), 256 * MiB);
    assert_int_equal(started_limit(4 * MiB, 0), 16 * MiB);
    assert_int_equal(started_limit(4 * MiB, 100 * MiB), 100 * MiB);
    /* never below one largest message, or that message could never be served */
    assert_int_equal(started_limit(8 * MiB, 1 * MiB), 8 * MiB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_release),
        cmocka_unit_test(test_refusal_takes_nothing),
        cmocka_unit_test(test_huge_reservation_does_not_wrap),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_receiver_sizing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
