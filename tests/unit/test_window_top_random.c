/* Unit tests for win_top against an independent oracle: random stacks full of recursion
 * (direct and through other functions), functions spread over several frames (lines),
 * unsymbolized frames, several series and label sets; flat and cum per function computed
 * straight from the input samples (cum counts a function once per sample) must equal
 * win_top's rows exactly. Guards the one-pass (outermost occurrence) cum computation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "window/window.h"

#define SEC       1000000000LL
#define T0        (1700000000LL * SEC)
#define N_FN      6
#define N_FRAMES  14
#define N_STACKS  300
#define N_SAMPLES 900
#define MAX_DEPTH 24

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t next_rand(uint32_t below)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % below);
}

static const char *FN_NAMES[N_FN] = {"main", "a", "b", "c", "d", "e"};

/* frame i: function FN_NAMES[i % N_FN] at line i, except the last two: unsymbolized */
static win_frame_in frames[N_FRAMES];
static char fn_key[N_FRAMES][32];

static void make_frames(void)
{
    for (uint32_t i = 0; i < N_FRAMES; i++) {
        bool unsym = i >= N_FRAMES - 2;
        frames[i] = (win_frame_in){unsym ? "" : FN_NAMES[i % N_FN],
                                   "f.go",
                                   (int64_t)i,
                                   0x1000u + i * 0x10u,
                                   "app",
                                   "id",
                                   NULL,
                                   0};
        if (unsym)
            snprintf(fn_key[i], sizeof fn_key[i], "0x%llx", (unsigned long long)frames[i].address);
        else
            snprintf(fn_key[i], sizeof fn_key[i], "%s", FN_NAMES[i % N_FN]);
    }
}

/* function index of a key: the N_FN names, then the unsymbolized frames' keys */
static int key_index(const char *key)
{
    for (int i = 0; i < N_FN; i++)
        if (strcmp(FN_NAMES[i], key) == 0)
            return i;
    for (int i = N_FRAMES - 2; i < N_FRAMES; i++)
        if (strcmp(fn_key[i], key) == 0)
            return N_FN + (i - (N_FRAMES - 2));
    return -1;
}

static int frame_fn(uint32_t f)
{
    return key_index(fn_key[f]);
}

static void check_round(uint64_t seed)
{
    rng = seed;
    make_frames();
    static uint32_t stack_frames[N_STACKS][MAX_DEPTH];
    static win_stack_in stacks[N_STACKS];
    for (uint32_t s = 0; s < N_STACKS; s++) {
        uint32_t depth = 1 + next_rand(MAX_DEPTH);
        /* few distinct frames per stack, so recursion and shared prefixes are common */
        for (uint32_t d = 0; d < depth; d++)
            stack_frames[s][d] =
                next_rand(4) == 0 ? stack_frames[s][next_rand(d + 1)] : next_rand(N_FRAMES);
        stacks[s] = (win_stack_in){stack_frames[s], depth};
    }
    static const win_attr threads[3] = {
        {"thread.name", "x"}, {"thread.name", "y"}, {"thread.name", "z"}};
    static win_sample_in samples[N_SAMPLES];
    int64_t want_flat[N_FN + 2] = {0}, want_cum[N_FN + 2] = {0};
    for (uint32_t i = 0; i < N_SAMPLES; i++) {
        uint32_t s = next_rand(N_STACKS);
        int64_t v = (int64_t)next_rand(1000) + 1;
        samples[i] = (win_sample_in){.stack = s,
                                     .n_attrs = 1,
                                     .attrs = &threads[next_rand(3)],
                                     .value = v,
                                     .time_ns = T0 + (int64_t)next_rand(30) * SEC};
        /* stacks are leaf first */
        want_flat[frame_fn(stack_frames[s][0])] += v;
        bool on[N_FN + 2] = {false};
        for (uint32_t d = 0; d < stacks[s].depth; d++)
            on[frame_fn(stack_frames[s][d])] = true;
        for (int f = 0; f < N_FN + 2; f++)
            if (on[f])
                want_cum[f] += v;
    }
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    /* four series (four services), a quarter of the samples each */
    static const win_attr svc[4][1] = {{{"service.name", "one"}},
                                       {{"service.name", "two"}},
                                       {{"service.name", "three"}},
                                       {{"service.name", "four"}}};
    for (int k = 0; k < 4; k++) {
        win_batch b = {"cpu:nanoseconds", svc[k], 1,        frames,
                       N_FRAMES,          stacks, N_STACKS, samples + k * (N_SAMPLES / 4),
                       N_SAMPLES / 4,     NULL,   false};
        char err[256];
        win_add_result r;
        assert_int_equal(win_store_add(st, &b, T0 + 60 * SEC, &r, err, sizeof err), 0);
        assert_int_equal(r.samples_stored, N_SAMPLES / 4);
    }
    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, false};
    win_merged *m = win_merge(st, &q, NULL);
    assert_non_null(m);
    win_top_row *rows = NULL;
    int64_t n = win_top(m, &rows);
    assert_true(n > 0);
    bool seen[N_FN + 2] = {false};
    for (int64_t i = 0; i < n; i++) {
        int f = key_index(rows[i].function);
        assert_true(f >= 0);
        assert_false(seen[f]);
        seen[f] = true;
        assert_int_equal(rows[i].flat, want_flat[f]);
        assert_int_equal(rows[i].cum, want_cum[f]);
    }
    for (int f = 0; f < N_FN + 2; f++)
        if (!seen[f]) {
            assert_int_equal(want_flat[f], 0);
            assert_int_equal(want_cum[f], 0);
        }
    free(rows);

    win_merged_free(m);
    win_store_free(st);
}

static void test_top_matches_oracle(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++)
        check_round(seed * 0x2545f4914f6cdd1dULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_matches_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
