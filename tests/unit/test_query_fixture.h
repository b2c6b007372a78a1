/* Shared fixtures for the query/ unit tests: a hand-made profile with known pprof answers
 * and random profiles, each fed through a real window store and merged. */
#ifndef TEST_QUERY_FIXTURE_H
#define TEST_QUERY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"

#define FX_SEC 1000000000LL
#define FX_T0  (1700000000LL * FX_SEC)

/* The hand-made profile "cpu:nanoseconds", service "svc" (root first):
 *   main a F b      10        main c F d e   7      main a F g F d  4
 *   main a F         5        main F F b     3      main c          2
 * and "alloc:bytes" with unsymbolized frames:
 *   main 0x4f5a1b 0x10  6     main 0x4f5a1b  2
 * go tool pprof -peek 'F$' on it: callers a 19, c 7, g 4, main 3; F flat 5 cum 29;
 * callees b 13, d 11, g 4. */
enum { FX_MAIN, FX_A, FX_B, FX_C, FX_D, FX_E, FX_F, FX_G, FX_F2, FX_U1, FX_U2, FX_NF };
static const win_frame_in FX_FRAMES[FX_NF] = {
    [FX_MAIN] = {"main", "main.go", 5, 0x1000, "app", "id1"},
    [FX_A] = {"a", "a.go", 10, 0x2000, "app", "id1"},
    [FX_B] = {"b", "b.go", 20, 0x3000, "app", "id1"},
    [FX_C] = {"c", "c.go", 30, 0x4000, "app", "id1"},
    [FX_D] = {"d", "d.go", 40, 0x5000, "app", "id1"},
    [FX_E] = {"e", "e.go", 50, 0x6000, "app", "id1"},
    [FX_F] = {"F", "f.go", 60, 0x7000, "app", "id1"},
    [FX_G] = {"g", "g.go", 70, 0x8000, "app", "id1"},
    [FX_F2] = {"F", "f.go", 61, 0x7010, "app", "id1"}, /* another line of F */
    [FX_U1] = {NULL, NULL, 0, 0x4f5a1b, "libx.so", "bid"},
    [FX_U2] = {"", NULL, 0, 0x10, "libx.so", "bid"},
};
/* leaf first */
static const uint32_t FX_S1[] = {FX_B, FX_F, FX_A, FX_MAIN};
static const uint32_t FX_S2[] = {FX_F, FX_A, FX_MAIN};
static const uint32_t FX_S3[] = {FX_E, FX_D, FX_F, FX_C, FX_MAIN};
static const uint32_t FX_S4[] = {FX_B, FX_F2, FX_F, FX_MAIN};
static const uint32_t FX_S5[] = {FX_D, FX_F2, FX_G, FX_F, FX_A, FX_MAIN};
static const uint32_t FX_S6[] = {FX_C, FX_MAIN};
static const uint32_t FX_S7[] = {FX_U2, FX_U1, FX_MAIN};
static const uint32_t FX_S8[] = {FX_U1, FX_MAIN};
static const win_stack_in FX_STACKS[] = {{FX_S1, 4}, {FX_S2, 3}, {FX_S3, 5}, {FX_S4, 4},
                                         {FX_S5, 6}, {FX_S6, 2}, {FX_S7, 3}, {FX_S8, 2}};

static inline win_store *fx_hand_store(void)
{
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    if (!st)
        return NULL;
    static const win_attr res[] = {{"service.name", "svc"}};
    static const win_attr tx = {"thread.name", "x"}, ty = {"thread.name", "y"};
    static const uint8_t trace[16] = {0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xcd};
    static const uint8_t span[8] = {0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3};
    win_sample_in cpu[] = {
        {.stack = 0, .value = 6, .time_ns = FX_T0, .n_attrs = 1, .attrs = &tx},
        {.stack = 0, .value = 4, .time_ns = FX_T0 + 20 * FX_SEC, .n_attrs = 1, .attrs = &ty},
        {.stack = 1, .value = 5, .time_ns = FX_T0, .n_attrs = 1, .attrs = &tx},
        {.stack = 2, .value = 7, .time_ns = FX_T0, .trace_id = trace, .span_id = span},
        {.stack = 3, .value = 3, .time_ns = FX_T0 + 1 * FX_SEC},
        {.stack = 4, .value = 4, .time_ns = FX_T0 + 2 * FX_SEC, .n_attrs = 1, .attrs = &ty},
        {.stack = 5, .value = 2, .time_ns = FX_T0 + 3 * FX_SEC},
    };
    win_sample_in mem[] = {
        {.stack = 6, .value = 6, .time_ns = FX_T0},
        {.stack = 7, .value = 2, .time_ns = FX_T0},
    };
    win_batch b1 = {"cpu:nanoseconds", res, 1, FX_FRAMES, FX_NF, FX_STACKS, 8, cpu, 7, NULL, false};
    win_batch b2 = {"alloc:bytes", res, 1, FX_FRAMES, FX_NF, FX_STACKS, 8, mem, 2, NULL, false};
    char err[256];
    win_add_result r;
    if (win_store_add(st, &b1, FX_T0 + 60 * FX_SEC, &r, err, sizeof err) ||
        win_store_add(st, &b2, FX_T0 + 60 * FX_SEC, &r, err, sizeof err)) {
        win_store_free(st);
        return NULL;
    }
    return st;
}

static inline win_merged *fx_merge(win_store *st, const char *ptype, bool keep_labels)
{
    win_query q = {ptype, NULL, INT64_MIN, INT64_MAX, keep_labels};
    return win_merge(st, &q, NULL);
}

/* ---- random profiles ---- */

#define RX_MAX_FRAMES  16
#define RX_MAX_STACKS  40
#define RX_MAX_DEPTH   12
#define RX_MAX_SAMPLES 80

typedef struct rx_profile {
    win_frame_in frames[RX_MAX_FRAMES];
    char names[RX_MAX_FRAMES][8];
    uint32_t n_frames;
    uint32_t stack_frames[RX_MAX_STACKS][RX_MAX_DEPTH]; /* leaf first */
    win_stack_in stacks[RX_MAX_STACKS];
    uint32_t n_stacks;
    win_sample_in samples[RX_MAX_SAMPLES];
    uint32_t n_samples;
} rx_profile;

static uint64_t rx_state;
static inline uint32_t rx_next(uint32_t n)
{
    rx_state = rx_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rx_state >> 33) % n);
}

static const win_attr RX_THREADS[3] = {
    {"thread.name", "t0"}, {"thread.name", "t1"}, {"thread.name", "t2"}};

/* Few function names over many frames, so stacks recurse and frames share functions;
 * some frames unsymbolized, two of them at one address. */
static inline void rx_generate(rx_profile *p, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    rx_state = seed * 2654435761ULL + 1;
    uint32_t n_names = 2 + rx_next(6);
    p->n_frames = 3 + rx_next(RX_MAX_FRAMES - 2);
    for (uint32_t i = 0; i < p->n_frames; i++) {
        win_frame_in *f = &p->frames[i];
        uint32_t kind = rx_next(8);
        f->line = (int64_t)i + 1;
        f->mapping = rx_next(2) ? "bin" : NULL;
        f->build_id = f->mapping ? "b1" : NULL;
        if (kind == 0) {
            f->function = NULL;
            f->address = 0x400000 + rx_next(3) * 0x10; /* may repeat: same function key */
        } else {
            snprintf(p->names[i], sizeof p->names[i], "f%u", rx_next(n_names));
            f->function = p->names[i];
            f->file = rx_next(2) ? "x.go" : "y.go";
            f->address = 0x1000 + i;
        }
    }
    p->n_stacks = 1 + rx_next(RX_MAX_STACKS);
    for (uint32_t s = 0; s < p->n_stacks; s++) {
        uint32_t depth = rx_next(10) == 0 ? 0 : 1 + rx_next(RX_MAX_DEPTH);
        for (uint32_t d = 0; d < depth; d++)
            p->stack_frames[s][d] = rx_next(p->n_frames);
        p->stacks[s] = (win_stack_in){p->stack_frames[s], depth};
    }
    p->n_samples = 1 + rx_next(RX_MAX_SAMPLES);
    for (uint32_t i = 0; i < p->n_samples; i++) {
        win_sample_in *s = &p->samples[i];
        s->stack = rx_next(p->n_stacks);
        s->value = 1 + rx_next(rx_next(4) == 0 ? 100000 : 1000);
        s->time_ns = FX_T0 + (int64_t)rx_next(120) * FX_SEC;
        uint32_t t = rx_next(4);
        if (t < 3) {
            s->attrs = &RX_THREADS[t];
            s->n_attrs = 1;
        }
    }
}

static inline win_store *rx_store(const rx_profile *p)
{
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    static const win_attr res[] = {{"service.name", "rnd"}};
    win_batch b = {"cpu:nanoseconds", res,       1,           p->frames,
                   p->n_frames,       p->stacks, p->n_stacks, p->samples,
                   p->n_samples,      NULL,      false};
    char err[256];
    win_add_result r;
    if (!st || win_store_add(st, &b, FX_T0 + 200 * FX_SEC, &r, err, sizeof err)) {
        win_store_free(st);
        return NULL;
    }
    return st;
}

/* The function key of a frame, as the contract defines it. */
static inline void rx_key(const win_frame_in *f, char *buf, size_t len)
{
    if (f->function && f->function[0])
        snprintf(buf, len, "%s", f->function);
    else
        snprintf(buf, len, "0x%llx", (unsigned long long)f->address);
}

/* Function keys of sample i's stack, root first; returns the depth. */
static inline uint32_t rx_path(const rx_profile *p, uint32_t i, char keys[][24])
{
    const win_stack_in *s = &p->stacks[p->samples[i].stack];
    for (uint32_t d = 0; d < s->depth; d++)
        rx_key(&p->frames[s->frames[s->depth - 1 - d]], keys[d], 24);
    return s->depth;
}

#endif
