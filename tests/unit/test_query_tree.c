/* Unit tests for query/ call trees: flame graph (pruning invariants, focus path) and
 * sandwich (pprof -peek edges, recursion), on a hand-made profile and random ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_query_fixture.h"

/* Every invariant query_flame documents; returns the number of rows with children. */
static uint32_t check_flame(const query_flame *f, uint32_t max_nodes, uint32_t max_depth)
{
    assert_true(f->focus_found);
    assert_true(f->n_rows >= 1);
    assert_true(f->n_rows <= (max_nodes < 2 ? 2 : max_nodes));
    uint32_t n = f->n_rows;
    int64_t *sumc = calloc(n, sizeof *sumc);
    uint32_t *nkids = calloc(n, sizeof *nkids);
    assert_non_null(sumc);
    assert_non_null(nkids);
    const query_flame_row *r = f->rows;
    assert_int_equal(r[0].id, 0);
    assert_int_equal(r[0].parent, -1);
    assert_int_equal(r[0].depth, 0);
    assert_false(r[0].is_other);
    assert_int_equal(r[0].cum, f->root_cum);
    for (uint32_t i = 1; i < n; i++) {
        assert_int_equal(r[i].id, (int32_t)i);
        assert_true(r[i].parent >= 0 && (uint32_t)r[i].parent < i);
        const query_flame_row *p = &r[r[i].parent];
        assert_int_equal(r[i].depth, p->depth + 1);
        assert_true(r[i].depth <= max_depth);
        assert_false(p->is_other);
        assert_false(p->truncated);
        /* breadth-first: siblings contiguous, parents in row order */
        assert_true(r[i].parent >= r[i - 1].parent);
        if (r[i].parent == r[i - 1].parent) {
            assert_false(r[i - 1].is_other); /* "(other)" comes last */
            if (!r[i].is_other)
                assert_true(r[i].cum <= r[i - 1].cum);
        }
        assert_non_null(r[i].name);
        if (r[i].is_other) {
            assert_string_equal(r[i].name, "(other)");
            assert_int_equal(r[i].flat, r[i].cum);
            assert_false(r[i].truncated);
        }
        sumc[r[i].parent] += r[i].cum;
        nkids[r[i].parent]++;
    }
    int64_t leaves = 0, inner_flat = 0;
    uint32_t inner = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (nkids[i]) {
            assert_int_equal(r[i].cum, r[i].flat + sumc[i]);
            inner_flat += r[i].flat;
            inner++;
        } else {
            leaves += r[i].cum;
            if (r[i].truncated)
                assert_int_equal(r[i].depth, max_depth);
            else
                assert_int_equal(r[i].cum, r[i].flat);
        }
    }
    assert_int_equal(leaves + inner_flat, f->root_cum);
    free(sumc);
    free(nkids);
    return inner;
}

static query_flame *flame(const win_merged *m, const char *const *focus, uint32_t n_focus,
                          uint32_t depth, double pct, uint32_t nodes)
{
    query_flame_opts o = {focus, n_focus, depth, pct, nodes};
    char err[256] = "";
    query_flame *f = query_flame_compute(m, &o, err, sizeof err);
    if (!f)
        print_message("query_flame_compute: %s\n", err);
    assert_non_null(f);
    return f;
}

typedef struct want_row {
    int32_t parent;
    int64_t cum, flat;
    const char *name;
} want_row;

static void assert_rows(const query_flame *f, const want_row *w, uint32_t n)
{
    for (uint32_t i = 0; i < f->n_rows; i++)
        print_message("  %u p=%d d=%u cum=%lld flat=%lld %s%s\n", i, f->rows[i].parent,
                      f->rows[i].depth, (long long)f->rows[i].cum, (long long)f->rows[i].flat,
                      f->rows[i].name, f->rows[i].truncated ? " [truncated]" : "");
    assert_int_equal(f->n_rows, n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(f->rows[i].parent, w[i].parent);
        assert_int_equal(f->rows[i].cum, w[i].cum);
        assert_int_equal(f->rows[i].flat, w[i].flat);
        assert_string_equal(f->rows[i].name, w[i].name);
    }
}

static void test_flame_hand(void **state)
{
    (void)state;
    win_store *st = fx_hand_store();
    assert_non_null(st);
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);
    assert_int_equal(m->total, 31);

    /* the whole tree: defaults keep everything */
    query_flame *f = flame(m, NULL, 0, 0, -1, 0);
    static const want_row full[] = {
        {-1, 31, 0, "root"}, {0, 31, 0, "main"}, {1, 19, 0, "a"}, {1, 9, 2, "c"},   {1, 3, 0, "F"},
        {2, 19, 5, "F"},     {3, 7, 0, "F"},     {4, 3, 0, "F"},  {5, 10, 10, "b"}, {5, 4, 0, "g"},
        {6, 7, 0, "d"},      {7, 3, 3, "b"},     {9, 4, 0, "F"},  {10, 7, 7, "e"},  {12, 4, 4, "d"},
    };
    assert_rows(f, full, 15);
    assert_int_equal(f->total, 31);
    assert_int_equal(f->n_pruned, 0);
    check_flame(f, 120, 16);
    query_flame_free(f);

    /* max_nodes 6: room is kept for each parent's "(other)" row */
    f = flame(m, NULL, 0, 0, -1, 6);
    static const want_row small[] = {
        {-1, 31, 0, "root"},    {0, 31, 0, "main"}, {1, 19, 0, "a"},
        {1, 12, 12, "(other)"}, {2, 19, 5, "F"},    {4, 14, 14, "(other)"},
    };
    assert_rows(f, small, 6);
    assert_true(f->rows[3].is_other);
    assert_int_equal(f->n_pruned, 11); /* c's 4 nodes, F's 3, b, g's 3 */
    check_flame(f, 6, 16);
    query_flame_free(f);

    /* max_depth 2: depth-2 rows with children are marked */
    f = flame(m, NULL, 0, 2, -1, 0);
    assert_int_equal(f->n_rows, 5);
    for (uint32_t i = 2; i < 5; i++)
        assert_true(f->rows[i].truncated);
    assert_false(f->rows[1].truncated);
    assert_int_equal(f->n_pruned, 10);
    check_flame(f, 120, 2);
    query_flame_free(f);

    /* min_percent 20: c (9/31 = 29%) stays, F (3/31 = 9.7%) is folded */
    f = flame(m, NULL, 0, 1, 20, 0);
    static const want_row pct[] = {{-1, 31, 0, "root"}, {0, 31, 0, "main"}};
    assert_rows(f, pct, 2);
    query_flame_free(f);
    f = flame(m, NULL, 0, 2, 20, 0);
    static const want_row pct2[] = {{-1, 31, 0, "root"},
                                    {0, 31, 0, "main"},
                                    {1, 19, 0, "a"},
                                    {1, 9, 2, "c"},
                                    {1, 3, 3, "(other)"}};
    assert_rows(f, pct2, 5);
    check_flame(f, 120, 2);
    query_flame_free(f);

    /* max_nodes below 2 still leaves the root and one row */
    f = flame(m, NULL, 0, 0, -1, 1);
    static const want_row tiny[] = {{-1, 31, 0, "root"}, {0, 31, 31, "(other)"}};
    assert_rows(f, tiny, 2);
    query_flame_free(f);
    win_merged_free(m);
    win_store_free(st);
}

static void test_focus(void **state)
{
    (void)state;
    win_store *st = fx_hand_store();
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);
    const char *path[] = {"main", "a", "F"};
    query_flame *f = flame(m, path, 3, 0, -1, 0);
    static const want_row w[] = {
        {-1, 19, 5, "F"}, {0, 10, 10, "b"}, {0, 4, 0, "g"}, {2, 4, 0, "F"}, {3, 4, 4, "d"}};
    assert_rows(f, w, 5);
    assert_int_equal(f->total, 31);
    assert_int_equal(f->root_cum, 19);
    check_flame(f, 120, 16);
    query_flame_free(f);

    /* not found: no rows, not an error */
    const char *nf[] = {"main", "zzz"};
    f = flame(m, nf, 2, 0, -1, 0);
    assert_false(f->focus_found);
    assert_int_equal(f->n_rows, 0);
    query_flame_free(f);
    const char *nf2[] = {"a"}; /* a is never a root */
    f = flame(m, nf2, 1, 0, -1, 0);
    assert_false(f->focus_found);
    query_flame_free(f);

    /* an empty frame is a caller error that says how to fix it */
    const char *empty[] = {"main", ""};
    query_flame_opts o = {empty, 2, 0, -1, 0};
    char err[256] = "";
    assert_null(query_flame_compute(m, &o, err, sizeof err));
    assert_non_null(strstr(err, "focus_path[1]"));
    win_merged_free(m);

    /* unsymbolized frames by hex address, any case, leading zeros */
    m = fx_merge(st, "alloc:bytes", false);
    assert_non_null(m);
    const char *hex[][2] = {{"main", "0x4f5a1b"}, {"main", "0X4F5A1B"}, {"main", "0x004f5a1b"}};
    for (int i = 0; i < 3; i++) {
        f = flame(m, hex[i], 2, 0, -1, 0);
        static const want_row u[] = {{-1, 8, 2, "0x4f5a1b"}, {0, 6, 6, "0x10"}};
        assert_rows(f, u, 2);
        query_flame_free(f);
    }
    const char *nothex[] = {"main", "0x4f5a1c"};
    f = flame(m, nothex, 2, 0, -1, 0);
    assert_false(f->focus_found);
    query_flame_free(f);
    const char *badhex[] = {"main", "0x4f5a1bz"};
    f = flame(m, badhex, 2, 0, -1, 0);
    assert_false(f->focus_found);
    query_flame_free(f);
    win_merged_free(m);
    win_store_free(st);
}

/* Brute force over the generated input: cum and flat of the function path `want`
 * (root first) in the function-level tree. */
static void brute_path(const rx_profile *p, char keys[][24], uint32_t depth, int64_t *cum,
                       int64_t *flat)
{
    char sk[RX_MAX_DEPTH][24];
    *cum = *flat = 0;
    for (uint32_t i = 0; i < p->n_samples; i++) {
        uint32_t d = rx_path(p, i, sk);
        if (d < depth)
            continue;
        bool prefix = true;
        for (uint32_t k = 0; prefix && k < depth; k++)
            prefix = strcmp(sk[k], keys[k]) == 0;
        if (!prefix)
            continue;
        *cum += p->samples[i].value;
        if (d == depth)
            *flat += p->samples[i].value;
    }
}

static void test_flame_random(void **state)
{
    (void)state;
    rx_profile *p = malloc(sizeof *p);
    assert_non_null(p);
    uint32_t pruned_cases = 0;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        rx_generate(p, seed);
        win_store *st = rx_store(p);
        assert_non_null(st);
        win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
        assert_non_null(m);
        int64_t total = 0;
        for (uint32_t i = 0; i < p->n_samples; i++)
            total += p->samples[i].value;
        assert_int_equal(m->total, total);

        /* unpruned: every row equals the brute-force value of its path */
        query_flame *f = flame(m, NULL, 0, 100, 0, 100000);
        check_flame(f, 100000, 100);
        assert_int_equal(f->root_cum, total);
        assert_int_equal(f->n_pruned, 0);
        char keys[RX_MAX_DEPTH + 1][24];
        for (uint32_t i = 1; i < f->n_rows; i++) {
            uint32_t d = f->rows[i].depth;
            assert_true(d <= RX_MAX_DEPTH);
            for (int32_t j = (int32_t)i; j > 0; j = f->rows[j].parent)
                snprintf(keys[f->rows[j].depth - 1], 24, "%s", f->rows[j].name);
            int64_t cum, fl;
            brute_path(p, keys, d, &cum, &fl);
            assert_int_equal(f->rows[i].cum, cum);
            assert_int_equal(f->rows[i].flat, fl);
        }
        uint32_t full_nodes = f->n_rows - 1;

        /* random limits: the invariants hold and nothing is lost */
        for (int k = 0; k < 4; k++) {
            uint32_t depth = 1 + rx_next(6), nodes = rx_next(30);
            double pct = rx_next(3) == 0 ? -1 : (double)rx_next(40);
            query_flame *g = flame(m, NULL, 0, depth, pct, nodes);
            check_flame(g, nodes ? nodes : 120, depth);
            assert_int_equal(g->root_cum, total);
            uint32_t shown = 0;
            for (uint32_t i = 1; i < g->n_rows; i++)
                shown += !g->rows[i].is_other;
            assert_int_equal(shown + g->n_pruned, full_nodes);
            pruned_cases += g->n_pruned > 0;
            query_flame_free(g);
        }

        /* focus on the path of a random deep row */
        if (f->n_rows > 1) {
            uint32_t i = 1 + rx_next(f->n_rows - 1);
            const char *path[RX_MAX_DEPTH];
            uint32_t d = f->rows[i].depth;
            for (int32_t j = (int32_t)i; j > 0; j = f->rows[j].parent)
                path[f->rows[j].depth - 1] = f->rows[j].name;
            query_flame *g = flame(m, path, d, 0, 0, 100000);
            check_flame(g, 100000, 16);
            assert_int_equal(g->root_cum, f->rows[i].cum);
            assert_int_equal(g->rows[0].flat, f->rows[i].flat);
            assert_string_equal(g->rows[0].name, f->rows[i].name);
            query_flame_free(g);
        }
        query_flame_free(f);
        win_merged_free(m);
        win_store_free(st);
    }
    assert_true(pruned_cases > 100); /* the limits were exercised */
    free(p);
}

/* ---- sandwich ---- */

static query_sandwich *sandwich(const win_merged *m, const char *fn, uint32_t depth, double pct,
                                uint32_t nodes)
{
    query_sandwich_opts o = {fn, depth, nodes, pct, 0};
    char err[256] = "";
    query_sandwich *s = query_sandwich_compute(m, &o, err, sizeof err);
    if (!s)
        print_message("query_sandwich_compute: %s\n", err);
    assert_non_null(s);
    return s;
}

/* A row budget must go to the largest nodes of the whole tree: a deep hot chain next to
 * many small root children stays visible to its end instead of being folded. */
static void test_flame_keeps_hot_path(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    enum { HOT = 10, SMALL = 20 };
    static char names[HOT + SMALL][16];
    win_frame_in frames[HOT + SMALL];
    for (int i = 0; i < HOT + SMALL; i++) {
        snprintf(names[i], sizeof names[i], i < HOT ? "hot%d" : "small%d", i);
        frames[i] =
            (win_frame_in){names[i], "x.go", i, 0x1000u + (uint64_t)i, "app", NULL, NULL, 0};
    }
    uint32_t hot[HOT], small[SMALL][2];
    for (int i = 0; i < HOT; i++)
        hot[i] = (uint32_t)(HOT - 1 - i); /* leaf first: hot9 ... hot0 (= the root frame) */
    win_stack_in stacks[1 + SMALL];
    stacks[0] = (win_stack_in){hot, HOT};
    win_sample_in samples[1 + SMALL];
    samples[0] = (win_sample_in){.stack = 0, .value = 1000, .time_ns = FX_T0};
    for (int i = 0; i < SMALL; i++) {
        small[i][0] = (uint32_t)(HOT + i);
        small[i][1] = 0; /* hot0 -> small_i */
        stacks[1 + i] = (win_stack_in){small[i], 2};
        samples[1 + i] = (win_sample_in){.stack = (uint32_t)(1 + i), .value = 10, .time_ns = FX_T0};
    }
    win_batch b = {"cpu:nanoseconds", NULL,    0,         frames, HOT + SMALL, stacks,
                   1 + SMALL,         samples, 1 + SMALL, NULL,   false};
    assert_int_equal(win_store_add(st, &b, FX_T0, NULL, NULL, 0), 0);
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);
    query_flame *f = flame(m, NULL, 0, 50, 0, 14);
    check_flame(f, 14, 50);
    bool deepest_shown = false;
    for (uint32_t i = 0; i < f->n_rows; i++)
        deepest_shown |= strcmp(f->rows[i].name, "hot9") == 0;
    assert_true(deepest_shown);
    /* the small siblings beyond the budget are folded into one "(other)" row under hot0 */
    uint32_t others = 0;
    for (uint32_t i = 0; i < f->n_rows; i++)
        others += f->rows[i].is_other;
    assert_int_equal(others, 1);
    query_flame_free(f);
    win_merged_free(m);
    win_store_free(st);
}

static void test_sandwich_hand(void **state)
{
    (void)state;
    win_store *st = fx_hand_store();
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);
    query_sandwich *s = sandwich(m, "F", 0, -1, 0);
    assert_true(s->found);
    assert_int_equal(s->total, 31);
    assert_int_equal(s->flat, 5);
    assert_int_equal(s->cum, 29);
    /* level 1 is pprof -peek: callers a 19, c 7, g 4, main 3 */
    static const want_row callers[] = {
        {-1, 29, 0, "F"},    {0, 19, 0, "a"},   {0, 7, 0, "c"}, {0, 4, 0, "g"}, {0, 3, 3, "main"},
        {1, 19, 19, "main"}, {2, 7, 7, "main"}, {3, 4, 0, "F"}, {7, 4, 0, "a"}, {8, 4, 4, "main"},
    };
    assert_rows(&s->callers, callers, 10);
    /* callees b 13, d 11, g 4; F is the leaf of 5 */
    static const want_row callees[] = {
        {-1, 29, 5, "F"}, {0, 13, 13, "b"}, {0, 11, 4, "d"}, {0, 4, 0, "g"},
        {2, 7, 7, "e"},   {3, 4, 0, "F"},   {5, 4, 4, "d"},
    };
    assert_rows(&s->callees, callees, 7);
    query_sandwich_free(s);

    /* a function that does not recurse: both trees keep every invariant */
    s = sandwich(m, "a", 0, -1, 0);
    assert_int_equal(s->cum, 19);
    assert_int_equal(s->flat, 0);
    check_flame(&s->callers, 60, 8);
    check_flame(&s->callees, 60, 8);
    static const want_row a_callers[] = {{-1, 19, 0, "a"}, {0, 19, 19, "main"}};
    assert_rows(&s->callers, a_callers, 2);
    assert_int_equal(s->callees.n_rows, 6); /* a, F, b, g, F, d */
    query_sandwich_free(s);

    /* a leaf function: callees is just the root, with flat = cum */
    s = sandwich(m, "b", 0, -1, 0);
    assert_int_equal(s->callees.n_rows, 1);
    assert_int_equal(s->callees.rows[0].flat, 13);
    assert_int_equal(s->callees.rows[0].cum, 13);
    static const want_row b_callers[] = {{-1, 13, 0, "b"}, {0, 13, 0, "F"},     {1, 10, 0, "a"},
                                         {1, 3, 0, "F"},   {2, 10, 10, "main"}, {3, 3, 3, "main"}};
    assert_rows(&s->callers, b_callers, 6);
    query_sandwich_free(s);

    /* limits apply per tree */
    s = sandwich(m, "F", 1, -1, 3);
    /* (F recurses through g, so its root row is the documented exception) */
    assert_string_equal(s->callees.rows[1].name, "b");
    assert_int_equal(s->callees.n_rows, 3);
    assert_string_equal(s->callees.rows[2].name, "(other)");
    assert_int_equal(s->callees.rows[2].cum, 15);
    query_sandwich_free(s);

    /* unknown function: found = false, not an error; missing one: error */
    s = sandwich(m, "nope", 0, -1, 0);
    assert_false(s->found);
    assert_int_equal(s->callers.n_rows, 0);
    assert_int_equal(s->callees.n_rows, 0);
    query_sandwich_free(s);
    query_sandwich_opts o = {NULL, 0, 0, -1, 0};
    char err[256] = "";
    assert_null(query_sandwich_compute(m, &o, err, sizeof err));
    assert_non_null(strstr(err, "function is required"));
    win_merged_free(m);

    m = fx_merge(st, "alloc:bytes", false);
    s = sandwich(m, "0X4F5A1B", 0, -1, 0);
    assert_true(s->found);
    assert_int_equal(s->cum, 8);
    assert_int_equal(s->flat, 2);
    assert_string_equal(s->callers.rows[1].name, "main");
    assert_string_equal(s->callees.rows[1].name, "0x10");
    query_sandwich_free(s);
    win_merged_free(m);
    win_store_free(st);
}

/* Random profiles: flat/cum equal win_top's, level 1 equals pprof's edge weights
 * computed from the input, and deeper rows keep the tree invariants. */
static void test_sandwich_random(void **state)
{
    (void)state;
    rx_profile *p = malloc(sizeof *p);
    assert_non_null(p);
    char sk[RX_MAX_DEPTH][24];
    for (uint64_t seed = 1; seed <= 250; seed++) {
        rx_generate(p, seed);
        win_store *st = rx_store(p);
        win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
        assert_non_null(m);
        win_top_row *top;
        int64_t n_top = win_top(m, &top);
        assert_true(n_top >= 0);
        for (int64_t t = 0; t < n_top; t++) {
            const char *fn = top[t].function;
            query_sandwich *s = sandwich(m, fn, 100, 0, 100000);
            assert_true(s->found);
            assert_int_equal(s->flat, top[t].flat);
            assert_int_equal(s->cum, top[t].cum);
            assert_int_equal(s->callees.rows[0].flat, top[t].flat);
            /* pprof edges from the input: consecutive distinct pairs, once per sample */
            for (int side = 0; side < 2; side++) {
                const query_flame *tree = side ? &s->callees : &s->callers;
                bool recursive = false;
                for (uint32_t r = 1; r < tree->n_rows; r++) {
                    if (tree->rows[r].parent != 0)
                        continue;
                    const char *other = tree->rows[r].name;
                    int64_t want = 0;
                    for (uint32_t i = 0; i < p->n_samples; i++) {
                        uint32_t d = rx_path(p, i, sk);
                        uint32_t nf = 0;
                        bool edge = false;
                        for (uint32_t k = 0; k < d; k++)
                            nf += strcmp(sk[k], fn) == 0;
                        for (uint32_t k = 0; k + 1 < d; k++) {
                            bool f_then_o = strcmp(sk[k], fn) == 0 && strcmp(sk[k + 1], other) == 0;
                            bool o_then_f = strcmp(sk[k], other) == 0 && strcmp(sk[k + 1], fn) == 0;
                            if (strcmp(sk[k], sk[k + 1]) != 0 && (side ? f_then_o : o_then_f))
                                edge = true;
                            if (strcmp(sk[k], fn) == 0 && strcmp(sk[k + 1], fn) != 0 && nf > 1)
                                recursive = true;
                        }
                        if (edge)
                            want += p->samples[i].value;
                    }
                    assert_int_equal(tree->rows[r].cum, want);
                }
                /* without recursion through other functions the root keeps the invariant
                 * too; the deeper rows always do */
                int64_t *sumc = calloc(tree->n_rows, sizeof *sumc);
                for (uint32_t r = 1; r < tree->n_rows; r++)
                    sumc[tree->rows[r].parent] += tree->rows[r].cum;
                for (uint32_t r = 1; r < tree->n_rows; r++)
                    if (sumc[r])
                        assert_int_equal(tree->rows[r].cum, tree->rows[r].flat + sumc[r]);
                if (!recursive && tree->n_rows > 1)
                    assert_int_equal(tree->rows[0].cum, tree->rows[0].flat + sumc[0]);
                free(sumc);
            }
            query_sandwich_free(s);

            /* pruned: row limits and depth hold */
            s = sandwich(m, fn, 3, 5, 10);
            assert_true(s->callers.n_rows <= 10 && s->callees.n_rows <= 10);
            for (uint32_t r = 0; r < s->callers.n_rows; r++)
                assert_true(s->callers.rows[r].depth <= 3);
            query_sandwich_free(s);
        }
        free(top);
        win_merged_free(m);
        win_store_free(st);
    }
    free(p);
}

/* ---- sandwich: recursion and the work bound (issue 10) ---- */

/* A store from stacks written root first ("main F x F"), one frame per distinct name. */
static win_store *named_store(const char *const *stacks, const int64_t *values, uint32_t n)
{
    enum { MAXF = 16, MAXD = 16 };
    static char names[MAXF][8];
    static win_frame_in frames[MAXF];
    static uint32_t idx[MAXF][MAXD];
    win_stack_in st_in[MAXF];
    win_sample_in smp[MAXF];
    uint32_t n_frames = 0;
    assert_true(n <= MAXF);
    for (uint32_t i = 0; i < n; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", stacks[i]);
        const char *tok[MAXD];
        uint32_t d = 0;
        for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
            tok[d++] = t;
        for (uint32_t k = 0; k < d; k++) {
            uint32_t f = 0;
            while (f < n_frames && strcmp(names[f], tok[k]) != 0)
                f++;
            if (f == n_frames) {
                assert_true(n_frames < MAXF);
                snprintf(names[f], sizeof names[f], "%s", tok[k]);
                frames[f] = (win_frame_in){names[f], "r.go", 1, 0x100u + f, NULL, NULL, NULL, 0};
                n_frames++;
            }
            idx[i][d - 1 - k] = f; /* leaf first */
        }
        st_in[i] = (win_stack_in){idx[i], d};
        smp[i] = (win_sample_in){.stack = i, .value = values[i], .time_ns = FX_T0};
    }
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    static const win_attr res[] = {{"service.name", "rec"}};
    win_batch b = {"cpu:nanoseconds", res, 1, frames, n_frames, st_in, n, smp, n, NULL, false};
    char err[256] = "";
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, FX_T0 + 60 * FX_SEC, &r, err, sizeof err), 0);
    return st;
}

/* The query_flame invariants below row 0 (row 0 may count a sample under several callers). */
static void check_sandwich_tree(const query_flame *f)
{
    int64_t *sumc = calloc(f->n_rows + 1, sizeof *sumc);
    uint32_t *kids = calloc(f->n_rows + 1, sizeof *kids);
    assert_non_null(sumc);
    assert_non_null(kids);
    for (uint32_t i = 1; i < f->n_rows; i++) {
        assert_true(f->rows[i].parent >= 0 && (uint32_t)f->rows[i].parent < i);
        sumc[f->rows[i].parent] += f->rows[i].cum;
        kids[f->rows[i].parent]++;
    }
    for (uint32_t i = 1; i < f->n_rows; i++) {
        if (kids[i])
            assert_int_equal(f->rows[i].cum, f->rows[i].flat + sumc[i]);
        else if (!f->rows[i].truncated)
            assert_int_equal(f->rows[i].cum, f->rows[i].flat);
    }
    free(sumc);
    free(kids);
}

/* Small recursive stacks, computed by hand from the contract in query.h. */
static void test_sandwich_recursion_hand(void **state)
{
    (void)state;
    /* three runs of F: the innermost caller edge (y) goes on to the root, the middle one
     * (x) stops at the F above it; the outermost callee edge (x) goes on to the leaf, the
     * middle one (y) stops at the next F, the last one (z) reaches the leaf anyway. (A
     * path per occurrence would have given x -> F -> main and y -> F -> z.) */
    static const char *const three[] = {"main F x F y F z"};
    static const int64_t ten[] = {10};
    win_store *st = named_store(three, ten, 1);
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);
    query_sandwich *s = sandwich(m, "F", 0, 0, 0);
    assert_int_equal(s->cum, 10);
    assert_int_equal(s->flat, 0);
    assert_true(s->recursion);
    assert_false(s->cut);
    static const want_row callers3[] = {
        {-1, 10, 0, "F"},
        {0, 10, 10, "main"},
        {0, 10, 0, "x"},
        {0, 10, 0, "y"},
        {2, 10, 0, "F"},
        {3, 10, 0, "F"},
        {4, 10, 10, "(recursion)"},
        {5, 10, 0, "x"},
        {7, 10, 0, "F"},
        {8, 10, 10, "main"},
    };
    assert_rows(&s->callers, callers3, 10);
    static const want_row callees3[] = {
        {-1, 10, 0, "F"}, {0, 10, 0, "x"},  {0, 10, 0, "y"}, {0, 10, 10, "z"},
        {1, 10, 0, "F"},  {2, 10, 0, "F"},  {4, 10, 0, "y"}, {5, 10, 10, "(recursion)"},
        {6, 10, 0, "F"},  {8, 10, 10, "z"},
    };
    assert_rows(&s->callees, callees3, 10);
    check_sandwich_tree(&s->callers);
    check_sandwich_tree(&s->callees);
    query_sandwich_free(s);
    win_merged_free(m);
    win_store_free(st);

    /* F at the root and at the leaf: row 0's flat is both "no caller" and F's flat */
    static const char *const ends[] = {"F x F"};
    static const int64_t five[] = {5};
    st = named_store(ends, five, 1);
    m = fx_merge(st, "cpu:nanoseconds", false);
    s = sandwich(m, "F", 0, 0, 0);
    assert_int_equal(s->cum, 5);
    assert_int_equal(s->flat, 5);
    assert_false(s->recursion);
    static const want_row callers_ends[] = {{-1, 5, 5, "F"}, {0, 5, 0, "x"}, {1, 5, 5, "F"}};
    assert_rows(&s->callers, callers_ends, 3);
    static const want_row callees_ends[] = {{-1, 5, 5, "F"}, {0, 5, 0, "x"}, {1, 5, 5, "F"}};
    assert_rows(&s->callees, callees_ends, 3);
    query_sandwich_free(s);
    win_merged_free(m);
    win_store_free(st);

    /* a repeated edge counts once, from its outermost occurrence (a -> F at the top),
     * while F -> b, seen only lower down, is an edge of its own; two stacks share rows */
    static const char *const rep[] = {"main a F a F b", "main a F c"};
    static const int64_t vals[] = {7, 3};
    st = named_store(rep, vals, 2);
    m = fx_merge(st, "cpu:nanoseconds", false);
    s = sandwich(m, "F", 0, 0, 0);
    assert_int_equal(s->cum, 10);
    static const want_row callers_rep[] = {{-1, 10, 0, "F"}, {0, 10, 0, "a"}, {1, 10, 10, "main"}};
    assert_rows(&s->callers, callers_rep, 3);
    static const want_row callees_rep[] = {
        {-1, 10, 0, "F"}, {0, 7, 0, "a"}, {0, 7, 7, "b"},
        {0, 3, 3, "c"},   {1, 7, 0, "F"}, {4, 7, 7, "b"},
    };
    assert_rows(&s->callees, callees_rep, 6);
    query_sandwich_free(s);
    win_merged_free(m);
    win_store_free(st);
}

/* The stack of issue 10: F alternating with distinct functions, root first
 * F a1 F a2 ... (depth frames, the leaf a_{depth/2}); with `every_level` each prefix is a
 * sample of its own (value 1), else the whole stack is one sample of 100. */
static win_store *alternating_store(uint32_t depth, bool every_level)
{
    uint32_t n_fns = depth / 2 + 1;
    win_frame_in *frames = calloc(n_fns, sizeof *frames);
    char(*names)[16] = calloc(n_fns, sizeof *names);
    uint32_t *idx = calloc(depth, sizeof *idx);
    uint32_t n_stacks = every_level ? depth : 1;
    win_stack_in *stacks = calloc(n_stacks, sizeof *stacks);
    win_sample_in *smp = calloc(n_stacks, sizeof *smp);
    assert_true(frames && names && idx && stacks && smp);
    for (uint32_t i = 0; i < n_fns; i++) {
        snprintf(names[i], sizeof names[i], i ? "a%u" : "F", i);
        frames[i] = (win_frame_in){names[i], "h.c", 1, 0x1000u + i, NULL, NULL, NULL, 0};
    }
    for (uint32_t k = 0; k < depth; k++) /* k = 0 is the root */
        idx[depth - 1 - k] = k % 2 ? (k + 1) / 2 : 0;
    for (uint32_t i = 0; i < n_stacks; i++) {
        /* the prefix of length d (leaf first: the last d entries of idx) */
        uint32_t d = every_level ? i + 1 : depth;
        stacks[i] = (win_stack_in){idx + (depth - d), d};
        smp[i] = (win_sample_in){.stack = i, .value = every_level ? 1 : 100, .time_ns = FX_T0};
    }
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    static const win_attr res[] = {{"service.name", "alt"}};
    win_batch b = {"cpu:nanoseconds", res, 1,        frames, n_fns, stacks,
                   n_stacks,          smp, n_stacks, NULL,   false};
    char err[256] = "";
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, FX_T0 + 60 * FX_SEC, &r, err, sizeof err), 0);
    free(frames);
    free(names);
    free(idx);
    free(stacks);
    free(smp);
    return st;
}

/* Issue 10: one sample of that stack, 4,096 frames deep, took the daemon from 19 MB to
 * 590 MB (8,192: 2.1 GB and 14 s) because every occurrence of F inserted its whole caller
 * and callee paths. The trees and the work now grow linearly with the depth. */
static void test_sandwich_alternating_is_linear(void **state)
{
    (void)state;
    static const uint32_t depths[] = {4096, WIN_MAX_STACK_DEPTH};
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++) {
        uint32_t depth = depths[i];
        win_store *st = alternating_store(depth, false);
        win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
        assert_non_null(m);
        static const uint32_t max_depths[] = {0, 64};
        for (size_t k = 0; k < 2; k++) {
            query_sandwich *s = sandwich(m, "F", max_depths[k], -1, 0);
            print_message("depth %u max_depth %u: %u tree nodes, work %llu\n", depth, max_depths[k],
                          s->tree_nodes, (unsigned long long)s->work);
            assert_int_equal(s->cum, 100);
            assert_int_equal(s->flat, 0);
            assert_false(s->cut);
            assert_true(s->recursion);
            /* a path per occurrence: depth^2 / 4 nodes (4.2 M at 4,096; 67 M at 16,384) */
            assert_true(s->tree_nodes <= 4 * depth);
            assert_true(s->work <= 8 * (uint64_t)depth);
            /* level 1 is still pprof -peek: every a_i calls F (F at the root has no caller) */
            assert_int_equal(s->callers.rows[0].flat, 100);
            int64_t lvl1 = 0;
            for (uint32_t r = 1; r < s->callers.n_rows; r++)
                if (s->callers.rows[r].parent == 0)
                    lvl1 += s->callers.rows[r].cum;
            assert_int_equal(lvl1, (int64_t)(depth / 2 - 1) * 100);
            lvl1 = 0;
            for (uint32_t r = 1; r < s->callees.n_rows; r++)
                if (s->callees.rows[r].parent == 0)
                    lvl1 += s->callees.rows[r].cum;
            assert_int_equal(lvl1, (int64_t)(depth / 2) * 100);
            check_sandwich_tree(&s->callers);
            check_sandwich_tree(&s->callees);
            query_sandwich_free(s);
        }
        win_merged_free(m);
        win_store_free(st);
    }

    /* every prefix a sample: each kept edge's own samples continue to the root, so the
     * trees would hold (depth / 2) x (max_depth + 1) nodes; a small node budget cuts them,
     * the "(cut)" rows keep the values, and level 1 stays whole */
    uint32_t depth = 4096;
    win_store *st = alternating_store(depth, true);
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);
    query_sandwich_opts o = {"F", 64, 1000, 0, 2000};
    char err[256] = "";
    query_sandwich *s = query_sandwich_compute(m, &o, err, sizeof err);
    assert_non_null(s);
    print_message("every level, budget 2000: %u tree nodes, work %llu\n", s->tree_nodes,
                  (unsigned long long)s->work);
    assert_int_equal(s->cum, depth);
    assert_true(s->cut);
    /* per tree: the budget, level 1 (depth / 2 functions) and one pseudo row per node */
    assert_true(s->tree_nodes <= 2 * 2 * (2000 + depth / 2 + 1));
    assert_true(s->work <= (uint64_t)depth * (64 + 2) * 2);
    bool cut_row = false;
    for (uint32_t r = 0; r < s->callers.n_rows; r++)
        cut_row |= strcmp(s->callers.rows[r].name, "(cut)") == 0;
    assert_true(cut_row);
    check_sandwich_tree(&s->callers);
    check_sandwich_tree(&s->callees);
    int64_t lvl1 = 0;
    for (uint32_t r = 1; r < s->callers.n_rows; r++)
        if (s->callers.rows[r].parent == 0)
            lvl1 += s->callers.rows[r].cum;
    /* a_i calls F in the prefixes longer than 2i: depth - 2i of them, value 1 each */
    int64_t want = 0;
    for (uint32_t i = 1; i < depth / 2; i++)
        want += depth - 2 * i;
    assert_int_equal(lvl1, want);
    query_sandwich_free(s);
    win_merged_free(m);
    win_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flame_hand),
        cmocka_unit_test(test_focus),
        cmocka_unit_test(test_flame_random),
        cmocka_unit_test(test_sandwich_hand),
        cmocka_unit_test(test_sandwich_random),
        cmocka_unit_test(test_flame_keeps_hot_path),
        cmocka_unit_test(test_sandwich_recursion_hand),
        cmocka_unit_test(test_sandwich_alternating_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
