/* bench/bench_hostile_query.c — one hostile query shape per run, for /usr/bin/time -v.
 *
 * Issue 10: two query-side costs that a small request could blow up. Each mode builds its
 * shape through the window API (what translate/ does with the request), merges it as the
 * tools do and runs the one query, printing what it produced and how long the query took;
 * peak RSS is read from outside (`/usr/bin/time -v bench_hostile_query ...`).
 *
 *   sandwich DEPTH [MAX_DEPTH [every]]
 *                                one sample whose stack alternates F with distinct
 *                                functions (F a1 F a2 ... root first), DEPTH frames;
 *                                query_sandwich_compute on F (max_depth default 8); with
 *                                "every", each prefix of the stack is a sample too;
 *                                with BENCH_PPROF_OUT=FILE the merge is also written
 *                                there as pprof (for `otelprofd send` to a daemon)
 *   pprof DEPTH SAMPLES [OUT]    one DEPTH-frame stack shared by SAMPLES samples, each with
 *                                its own thread.id; the labeled merge exported by
 *                                query_export_pprof (written to OUT when given)
 *
 * Prints one line of key=value figures on stdout. Never asserts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query/query.h"
#include "window/window.h"

#define SEC 1000000000LL
#define T0  (1700000000LL * SEC)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_hostile_query sandwich DEPTH [MAX_DEPTH [every]]\n"
                    "       bench_hostile_query pprof DEPTH SAMPLES [OUT.pb.gz]\n");
    return 2;
}

static uint32_t arg_u32(const char *s, uint32_t lo, uint32_t hi)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v < lo || v > hi) {
        fprintf(stderr, "bench_hostile_query: %s is not in [%u, %u]\n", s, lo, hi);
        exit(2);
    }
    return (uint32_t)v;
}

static win_merged *merge(win_store *st, bool keep_labels)
{
    char err[256] = "";
    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, keep_labels};
    win_merged *m = win_merge(st, &q, NULL);
    if (!m)
        fprintf(stderr, "win_merge: %s\n", err);
    return m;
}

static int add(win_store *st, const win_frame_in *frames, uint32_t n_frames,
               const win_stack_in *stacks, uint32_t n_stacks, const win_sample_in *samples,
               uint32_t n_samples)
{
    static const win_attr res[] = {{"service.name", "hostile"}};
    win_batch b = {"cpu:nanoseconds", res,     1,         frames, n_frames, stacks,
                   n_stacks,          samples, n_samples, NULL,   false};
    char err[256] = "";
    win_add_result r;
    if (win_store_add(st, &b, T0 + SEC, &r, err, sizeof err)) {
        fprintf(stderr, "win_store_add: %s\n", err);
        return -1;
    }
    return 0;
}

static int run_sandwich(uint32_t depth, uint32_t max_depth, bool every)
{
    /* root first: F a1 F a2 ...; frames[0] is F, frames[i] is a_i */
    uint32_t n_fns = depth / 2 + 1;
    win_frame_in *frames = calloc(n_fns, sizeof *frames);
    char(*names)[16] = calloc(n_fns, sizeof *names);
    uint32_t *idx = calloc(depth, sizeof *idx);
    if (!frames || !names || !idx)
        return 1;
    for (uint32_t i = 0; i < n_fns; i++) {
        snprintf(names[i], sizeof names[i], i ? "a%u" : "F", i);
        frames[i] =
            (win_frame_in){names[i], "h.c", (int64_t)i + 1, 0x1000u + i, NULL, NULL, NULL, 0};
    }
    for (uint32_t k = 0; k < depth; k++) /* k = 0 is the root */
        idx[depth - 1 - k] = k % 2 ? (k + 1) / 2 : 0;
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    uint32_t n = every ? depth : 1;
    win_stack_in *stacks = calloc(n, sizeof *stacks);
    win_sample_in *smp = calloc(n, sizeof *smp);
    if (!stacks || !smp)
        return 1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t d = every ? i + 1 : depth; /* a prefix: the last d frames, leaf first */
        stacks[i] = (win_stack_in){idx + (depth - d), d};
        smp[i] = (win_sample_in){.stack = i, .value = 100, .time_ns = T0};
    }
    if (!st || add(st, frames, n_fns, stacks, n, smp, n))
        return 1;
    free(stacks);
    free(smp);
    win_merged *m = merge(st, false);
    if (!m)
        return 1;
    query_sandwich_opts o = {
        .function = "F", .max_depth = max_depth, .max_nodes = 0, .min_percent = -1};
    char err[256] = "";
    double t0 = now_s();
    query_sandwich *sw = query_sandwich_compute(m, &o, err, sizeof err);
    double dt = now_s() - t0;
    if (!sw) {
        fprintf(stderr, "query_sandwich_compute: %s\n", err);
        return 1;
    }
    const char *pprof_out = getenv("BENCH_PPROF_OUT");
    if (pprof_out && *pprof_out) {
        uint8_t *buf = NULL;
        size_t len = 0;
        FILE *f = NULL;
        if (query_export_pprof(m, NULL, NULL, &buf, &len, err, sizeof err) ||
            !(f = fopen(pprof_out, "wb")) || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
            fprintf(stderr, "cannot write %s: %s\n", pprof_out, err);
            return 1;
        }
        free(buf);
    }
    printf("mode=sandwich depth=%u max_depth=%u every=%d seconds=%.3f cum=%" PRId64
           " callers_rows=%u callees_rows=%u\n",
           depth, max_depth, every, dt, sw->cum, sw->callers.n_rows, sw->callees.n_rows);
    query_sandwich_free(sw);
    win_merged_free(m);
    win_store_free(st);
    free(frames);
    free(names);
    free(idx);
    return 0;
}

static int run_pprof(uint32_t depth, uint32_t n_samples, const char *out_path)
{
    win_frame_in *frames = calloc(depth, sizeof *frames);
    char(*names)[16] = calloc(depth, sizeof *names);
    uint32_t *idx = calloc(depth, sizeof *idx);
    win_sample_in *samples = calloc(n_samples, sizeof *samples);
    win_attr *attrs = calloc(n_samples, sizeof *attrs);
    char(*tids)[12] = calloc(n_samples, sizeof *tids);
    if (!frames || !names || !idx || !samples || !attrs || !tids)
        return 1;
    for (uint32_t i = 0; i < depth; i++) {
        snprintf(names[i], sizeof names[i], "f%u", i);
        frames[i] =
            (win_frame_in){names[i], "h.c", (int64_t)i + 1, 0x1000u + i, NULL, NULL, NULL, 0};
        idx[i] = i; /* leaf first: f0 is the leaf */
    }
    for (uint32_t i = 0; i < n_samples; i++) {
        snprintf(tids[i], sizeof tids[i], "%u", i + 1);
        attrs[i] = (win_attr){"thread.id", tids[i]};
        samples[i] = (win_sample_in){
            .stack = 0, .n_attrs = 1, .attrs = &attrs[i], .value = 10, .time_ns = T0};
    }
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    win_stack_in stack = {idx, depth};
    if (!st || add(st, frames, depth, &stack, 1, samples, n_samples))
        return 1;
    win_merged *m = merge(st, true);
    if (!m)
        return 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    double t0 = now_s();
    query_pprof_info info;
    int rc = query_export_pprof(m, NULL, &info, &buf, &len, err, sizeof err);
    double dt = now_s() - t0;
    if (rc) {
        fprintf(stderr, "query_export_pprof: %s\n", err);
        return 1;
    }
    printf("mode=pprof depth=%u samples=%u seconds=%.3f gzip_bytes=%zu total=%" PRId64
           " encoded_bytes=%" PRIu64 " samples_written=%" PRIu64 " folded=%" PRIu64
           " folded_value=%" PRId64 "\n",
           depth, n_samples, dt, len, m->total, info.encoded_bytes, info.samples, info.folded,
           info.folded_value);
    if (out_path) {
        FILE *f = fopen(out_path, "wb");
        if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
            fprintf(stderr, "cannot write %s\n", out_path);
            return 1;
        }
    }
    free(buf);
    win_merged_free(m);
    win_store_free(st);
    free(frames);
    free(names);
    free(idx);
    free(samples);
    free(attrs);
    free(tids);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "sandwich") == 0)
        return run_sandwich(arg_u32(argv[2], 2, WIN_MAX_STACK_DEPTH),
                            argc > 3 ? arg_u32(argv[3], 1, 1u << 20) : 0,
                            argc > 4 && strcmp(argv[4], "every") == 0);
    if (argc >= 4 && strcmp(argv[1], "pprof") == 0)
        return run_pprof(arg_u32(argv[2], 1, WIN_MAX_STACK_DEPTH), arg_u32(argv[3], 1, 10000000),
                         argc > 4 ? argv[4] : NULL);
    return usage();
}
