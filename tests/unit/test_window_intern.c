/* Unit tests for window/ interning shortcuts on the ingest path: the whole-stack index
 * across its growth, the request cache's string and label shortcuts, validation of shared
 * attribute arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "window/window.h"
#include "window/window_internal.h"

#define SEC     1000000000LL
#define T0      (1700000000LL * SEC)
#define NSTACKS 3000u /* grows the stack index 1024 -> 2048 -> 4096 */

typedef struct wide {
    char names[NSTACKS][16];
    win_frame_in frames[NSTACKS + 1];
    uint32_t fr[NSTACKS][2];
    win_stack_in stacks[NSTACKS];
    win_sample_in samples[NSTACKS];
    win_batch batch;
} wide;

/* NSTACKS distinct stacks f<i>;main, one sample each; unsymbolized frames every 7th. */
static wide *wide_batch(void)
{
    wide *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->frames[0] = (win_frame_in){"main", "main.go", 1, 0, "app", NULL, NULL, 0};
    for (uint32_t i = 0; i < NSTACKS; i++) {
        snprintf(w->names[i], sizeof w->names[i], "f%u", i);
        bool unsym = i % 7 == 0;
        w->frames[i + 1] = (win_frame_in){
            unsym ? "" : w->names[i], unsym ? NULL : "f.go", 2, 0x1000u + i, "app", NULL, NULL, 0};
        w->fr[i][0] = i + 1;
        w->fr[i][1] = 0;
        w->stacks[i] = (win_stack_in){w->fr[i], 2};
        w->samples[i] = (win_sample_in){i, 0, NULL, NULL, NULL, 1, T0};
    }
    w->batch = (win_batch){.profile_type = "cpu:nanoseconds",
                           .frames = w->frames,
                           .n_frames = NSTACKS + 1,
                           .stacks = w->stacks,
                           .n_stacks = NSTACKS,
                           .samples = w->samples,
                           .n_samples = NSTACKS};
    return w;
}

static win_store *new_store(void)
{
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    return st;
}

static void add(win_store *st, win_batch *b)
{
    char err[256] = "";
    win_intern_cache *c = win_intern_cache_new();
    assert_non_null(c);
    b->cache = c;
    win_add_result r;
    int rc = win_store_add(st, b, T0, &r, err, sizeof err);
    if (rc)
        print_message("add failed: %s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(r.samples_stored, b->n_samples);
    b->cache = NULL;
    win_intern_cache_free(c);
}

/* Growing the stack index keeps what it held: every stack of the first request is found
 * by the second one (before, each growth emptied the index and the next request
 * re-interned those stacks node by node). */
static void test_stack_index_keeps_stacks_across_growth(void **state)
{
    (void)state;
    win_store *st = new_store();
    wide *w = wide_batch();
    add(st, &w->batch);
    assert_int_equal(st->stack_slot_used, NSTACKS);
    assert_true(st->stack_slot_cap >= 4096);
    uint32_t nodes = st->nodes.live, frames = st->frames.live, strings = st->strings.live;
    assert_int_equal(nodes, 1 + 1 + NSTACKS); /* root, main, one leaf per stack */

    add(st, &w->batch); /* a new request: its own cache */
    assert_int_equal(st->stack_slot_used, NSTACKS);
    assert_int_equal(st->nodes.live, nodes);
    assert_int_equal(st->frames.live, frames);
    assert_int_equal(st->strings.live, strings);
    win_stats s;
    win_store_stats(st, &s);
    assert_int_equal(s.samples_stored, 2 * NSTACKS);
    free(w);
    win_store_free(st);
}

/* Unsymbolized frames ("" or NULL function/file) intern as the empty string, id 0, with or
 * without a request cache; equal text at other addresses is one string. */
static void test_empty_and_equal_strings(void **state)
{
    (void)state;
    win_store *st = new_store();
    char fn_a[] = "work", fn_b[] = "work";
    win_frame_in frames[3] = {{"", NULL, 0, 0x10, "app", NULL, NULL, 0},
                              {NULL, "", 0, 0x10, "app", "", NULL, 0},
                              {fn_a, "w.go", 3, 0, "app", NULL, NULL, 0}};
    win_frame_in frames_b[3] = {{"", NULL, 0, 0x10, "app", NULL, NULL, 0},
                                {NULL, "", 0, 0x10, "app", "", NULL, 0},
                                {fn_b, "w.go", 3, 0, "app", NULL, NULL, 0}};
    uint32_t f0[] = {0}, f1[] = {1}, f2[] = {2, 0};
    win_stack_in stacks[3] = {{f0, 1}, {f1, 1}, {f2, 2}};
    win_sample_in samples[3] = {{0, 0, NULL, NULL, NULL, 1, T0},
                                {1, 0, NULL, NULL, NULL, 2, T0},
                                {2, 0, NULL, NULL, NULL, 4, T0}};
    win_batch b = {.profile_type = "cpu:nanoseconds",
                   .frames = frames,
                   .n_frames = 3,
                   .stacks = stacks,
                   .n_stacks = 3,
                   .samples = samples,
                   .n_samples = 3};
    add(st, &b);
    /* frames 0 and 1 are one frame: same address and mapping, no text */
    assert_int_equal(st->frames.live, 2);
    uint32_t strings = st->strings.live;
    b.frames = frames_b;
    add(st, &b);
    char err[256];
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, T0, &r, err, sizeof err), 0); /* no cache */
    assert_int_equal(st->frames.live, 2);
    assert_int_equal(st->strings.live, strings);
    win_store_free(st);
}

/* Samples sharing a valid attribute array are checked once; a bad array elsewhere in the
 * batch is still found and named, also when it is a valid array's address with a larger
 * length. */
static void test_shared_attrs_validated(void **state)
{
    (void)state;
    win_store *st = new_store();
    win_frame_in frames[1] = {{"main", "main.go", 1, 0, "app", NULL, NULL, 0}};
    uint32_t f0[] = {0};
    win_stack_in stacks[1] = {{f0, 1}};
    win_attr good[1] = {{"thread.name", "t1"}}, bad[2] = {{"thread.name", "t2"}, {NULL, "x"}};
    win_sample_in samples[4] = {{0, 1, good, NULL, NULL, 1, T0},
                                {0, 1, bad, NULL, NULL, 1, T0},
                                {0, 1, good, NULL, NULL, 1, T0},
                                {0, 2, bad, NULL, NULL, 1, T0}};
    win_batch b = {.profile_type = "cpu:nanoseconds",
                   .frames = frames,
                   .n_frames = 1,
                   .stacks = stacks,
                   .n_stacks = 1,
                   .samples = samples,
                   .n_samples = 4};
    char err[256] = "";
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, T0, &r, err, sizeof err), BASE_ERR_INVALID);
    assert_string_equal(err, "window: samples[3].attrs[1] has no key");
    win_stats s;
    win_store_stats(st, &s);
    assert_int_equal(s.samples_stored, 0);

    b.n_samples = 3; /* without the bad one: all land, two label sets */
    assert_int_equal(win_store_add(st, &b, T0, &r, err, sizeof err), 0);
    assert_int_equal(r.samples_stored, 3);
    win_store_stats(st, &s);
    assert_int_equal(s.samples_stored, 3);
    assert_int_equal(s.label_sets, 1 + 2); /* the empty set and t1, t2 */
    win_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_index_keeps_stacks_across_growth),
        cmocka_unit_test(test_empty_and_equal_strings),
        cmocka_unit_test(test_shared_attrs_validated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
