/* bench/bench_ingest.c — single-threaded, in-process ingest throughput and memory cost.
 *
 * Throughput is reported as a ratio against a floor measured in the same run: the floor
 * is protobuf-c unpacking the same bytes into a per-request arena (what the receiver has
 * to do anyway); end to end is tr_decode_protobuf + tr_ingest into a win_store. Each
 * figure is the median of REPS repetitions of at least MIN_REP_NS each, so a noisy
 * neighbour on a shared machine moves single repetitions, not the answer.
 *
 * Memory: a store is filled with distinct synthetic stacks through the window API, and
 * win_store_stats (accounted bytes) is divided by nodes / stacks / entries.
 *
 * Usage: bench_ingest [CPU.pb]   (default $OTELPROFD_TESTDATA/otlp/cpu.pb)
 * Prints a table on stderr and one JSON object on stdout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "receiver/receiver_internal.h"
#include "translate/translate.h"
#include "util.h"
#include "window/window.h"

#define REPS        15
#define MIN_REP_NS  200000000LL
#define T0_NS       1700000000000000000LL
#define NOW_NS      (T0_NS + 30LL * 60 * 1000000000LL) /* the test data is at T0..T0+1h */
#define ARENA_BLOCK (1u << 20)
#define ARENA_CAP   (1024u << 20)

typedef struct bench_input {
    const uint8_t *buf;
    size_t len;
} bench_input;

/* One floor iteration: unpack into the arena, as the receiver does, and touch the result
 * so the call cannot be dropped. */
static int floor_once(const bench_input *in, base_arena *arena)
{
    base_arena_reset(arena);
    tr_pb_allocator alloc;
    tr_request *req =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__unpack(
            tr_pb_allocator_init(&alloc, arena), in->len, in->buf);
    return req && req->n_resource_profiles > 0 ? 0 : -1;
}

static int e2e_once(const bench_input *in, base_arena *arena, win_store *store, tr_result *res)
{
    char err[256];
    tr_request *req = NULL;
    base_arena_reset(arena);
    if (tr_decode_protobuf(in->buf, in->len, arena, &req, err, sizeof err) != BASE_OK) {
        fprintf(stderr, "bench_ingest: decode failed: %s\n", err);
        return -1;
    }
    if (tr_ingest(store, req, in->buf, in->len, NOW_NS, arena, res) != BASE_OK) {
        fprintf(stderr, "bench_ingest: ingest ran out of memory\n");
        return -1;
    }
    return 0;
}

/* Median seconds per iteration of `kind` (0 floor, 1 end to end) over REPS repetitions. */
static int measure(int kind, const bench_input *in, double *sec_per_iter, uint64_t *samples)
{
    double per[REPS];
    base_arena arena;
    base_arena_init(&arena, ARENA_BLOCK, ARENA_CAP);
    base_arena_set_retain(&arena, OTLP__ARENA_RETAIN); /* as the receiver's gRPC workers */
    for (int r = 0; r < REPS; r++) {
        win_store *store = NULL;
        if (kind == 1) {
            win_config cfg;
            win_config_defaults(&cfg);
            store = win_store_new(&cfg);
            if (!store) {
                base_arena_free(&arena);
                return -1;
            }
        }
        /* Steady state: a service sends the same stacks again and again, so one untimed
         * request first interns them; the timed ones measure the recurring cost. */
        if (kind == 1) {
            tr_result warm;
            if (e2e_once(in, &arena, store, &warm) != 0) {
                win_store_free(store);
                base_arena_free(&arena);
                return -1;
            }
        }
        int64_t start = base_now_mono_ns(), now = start;
        uint64_t iters = 0;
        while (now - start < MIN_REP_NS) {
            tr_result res;
            int rc = kind == 0 ? floor_once(in, &arena) : e2e_once(in, &arena, store, &res);
            if (rc != 0) {
                win_store_free(store);
                base_arena_free(&arena);
                return -1;
            }
            if (kind == 1 && r == 0 && iters == 0) {
                *samples = res.samples_stored;
                if (res.profiles_rejected || res.samples_too_old || res.samples_too_new) {
                    fprintf(stderr,
                            "bench_ingest: input not fully stored (%" PRIu64 " rejected, %" PRIu64
                            " too old, %" PRIu64 " too new): %s\n",
                            res.profiles_rejected, res.samples_too_old, res.samples_too_new,
                            res.error_message);
                }
            }
            iters++;
            now = base_now_mono_ns();
        }
        per[r] = (double)(now - start) / 1e9 / (double)iters;
        win_store_free(store);
    }
    base_arena_free(&arena);
    *sec_per_iter = bench_median(per, REPS);
    return 0;
}

/* ---- memory ------------------------------------------------------------------------- */

#define MEM_STACKS 100000u
#define MEM_DEPTH  16u
#define MEM_FUNCS  4096u
#define MEM_BATCH  1000u

typedef struct mem_result {
    win_stats after_one; /* every stack once, one bucket */
    win_stats after_two; /* the same stacks again, in the next bucket */
    uint64_t stacks;
} mem_result;

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* Adds MEM_STACKS pseudo-random stacks (distinct with overwhelming likelihood: 16 frames
 * of 4096 functions) at `t`, in batches of MEM_BATCH. */
static int fill(win_store *store, int64_t t, char names[][24])
{
    static win_frame_in frames[MEM_FUNCS];
    static uint32_t idx[MEM_BATCH][MEM_DEPTH];
    static win_stack_in stacks[MEM_BATCH];
    static win_sample_in samples[MEM_BATCH];
    for (uint32_t f = 0; f < MEM_FUNCS; f++) {
        frames[f] = (win_frame_in){
            .function = names[f], .file = "bench.go", .line = f, .address = 0x400000u + 16u * f};
    }
    win_attr res[] = {{"service.name", "bench"}, {"host.name", "bench-host"}};
    uint64_t seed = 42;
    for (uint32_t done = 0; done < MEM_STACKS; done += MEM_BATCH) {
        for (uint32_t i = 0; i < MEM_BATCH; i++) {
            for (uint32_t d = 0; d < MEM_DEPTH; d++) {
                idx[i][d] = (uint32_t)(lcg(&seed) % MEM_FUNCS);
            }
            stacks[i] = (win_stack_in){.frames = idx[i], .depth = MEM_DEPTH};
            samples[i] = (win_sample_in){.stack = i, .value = 10000000, .time_ns = t};
        }
        win_batch b = {.profile_type = "cpu:nanoseconds",
                       .resource = res,
                       .n_resource = 2,
                       .frames = frames,
                       .n_frames = MEM_FUNCS,
                       .stacks = stacks,
                       .n_stacks = MEM_BATCH,
                       .samples = samples,
                       .n_samples = MEM_BATCH};
        win_add_result ar;
        char err[256];
        if (win_store_add(store, &b, t, &ar, err, sizeof err) != 0) {
            fprintf(stderr, "bench_ingest: win_store_add: %s\n", err);
            return -1;
        }
    }
    return 0;
}

static int measure_memory(mem_result *out)
{
    static char names[MEM_FUNCS][24];
    for (uint32_t f = 0; f < MEM_FUNCS; f++) {
        snprintf(names[f], sizeof names[f], "bench.fn%04u", f);
    }
    win_config cfg;
    win_config_defaults(&cfg);
    cfg.memory_limit = 4ULL << 30; /* measure the cost, not the eviction */
    win_store *store = win_store_new(&cfg);
    if (!store) {
        return -1;
    }
    int rc = fill(store, NOW_NS, names);
    win_store_stats(store, &out->after_one);
    if (rc == 0) {
        rc = fill(store, NOW_NS + cfg.resolution_ns, names);
    }
    win_store_stats(store, &out->after_two);
    out->stacks = MEM_STACKS;
    win_store_free(store);
    return rc;
}

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

int main(int argc, char **argv)
{
    char def[4096];
    const char *path = argc > 1 ? argv[1] : NULL;
    if (!path) {
        const char *td = getenv("OTELPROFD_TESTDATA");
        snprintf(def, sizeof def, "%s/otlp/cpu.pb", td ? td : "../shared/testdata");
        path = def;
    }
    bench_input in;
    uint8_t *buf = bench_read_file(path, &in.len);
    if (!buf) {
        fprintf(stderr, "bench_ingest: cannot read %s\n", path);
        return 1;
    }
    in.buf = buf;

    double floor_s = 0, e2e_s = 0;
    uint64_t samples = 0;
    if (measure(0, &in, &floor_s, &samples) != 0 || measure(1, &in, &e2e_s, &samples) != 0) {
        free(buf);
        return 1;
    }
    mem_result mem;
    if (measure_memory(&mem) != 0) {
        free(buf);
        return 1;
    }
    free(buf);

    double mb = (double)in.len / 1e6;
    double floor_mbs = mb / floor_s, e2e_mbs = mb / e2e_s;
    const win_stats *a = &mem.after_one, *b = &mem.after_two;
    uint64_t d_mem = b->memory_used - a->memory_used, d_ent = b->entries - a->entries;

    fprintf(stderr, "input: %s, %zu bytes, %" PRIu64 " observations per request\n", path, in.len,
            samples);
    fprintf(stderr, "%-34s %12s %14s %14s\n", "ingest (median of 15 x >=0.2 s)", "MB/s",
            "samples/s", "us/request");
    fprintf(stderr, "%-34s %12.1f %14.0f %14.1f\n", "(a) floor: protobuf-c unpack", floor_mbs,
            (double)samples / floor_s, floor_s * 1e6);
    fprintf(stderr, "%-34s %12.1f %14.0f %14.1f\n", "(b) decode + validate + store", e2e_mbs,
            (double)samples / e2e_s, e2e_s * 1e6);
    fprintf(stderr, "%-34s %12.3f   (b is %.1fx slower than the floor)\n",
            "ratio (b)/(a) throughput", e2e_mbs / floor_mbs, e2e_s / floor_s);
    fprintf(stderr,
            "memory: %u distinct stacks of depth %u: %" PRIu64 " nodes, %" PRIu64
            " frames, %" PRIu64 " entries, %" PRIu64 " bytes accounted\n",
            MEM_STACKS, MEM_DEPTH, a->nodes, a->frames, a->entries, a->memory_used);
    fprintf(stderr, "  %.1f bytes per unique stack, %.1f per node, %.1f per entry (all in)\n",
            ratio(a->memory_used, mem.stacks), ratio(a->memory_used, a->nodes),
            ratio(a->memory_used, a->entries));
    fprintf(stderr, "  same stacks in a 2nd bucket: +%" PRIu64 " entries, %.1f bytes per entry\n",
            d_ent, ratio(d_mem, d_ent));

    printf("{\"input\":\"%s\",\"input_bytes\":%zu,\"observations_per_request\":%" PRIu64 ","
           "\"repetitions\":%d,\"min_rep_seconds\":%.1f,"
           "\"floor_unpack\":{\"mb_per_s\":%.2f,\"samples_per_s\":%.0f,\"us_per_request\":%.2f},"
           "\"end_to_end\":{\"mb_per_s\":%.2f,\"samples_per_s\":%.0f,\"us_per_request\":%.2f},"
           "\"ratio_e2e_over_floor\":%.4f,"
           "\"memory\":{\"stacks\":%" PRIu64 ",\"depth\":%u,\"nodes\":%" PRIu64
           ",\"frames\":%" PRIu64 ",\"entries\":%" PRIu64 ",\"memory_used\":%" PRIu64
           ",\"bytes_per_stack\":%.1f,"
           "\"bytes_per_node\":%.1f,\"bytes_per_entry_all_in\":%.1f,"
           "\"second_bucket_entries\":%" PRIu64 ",\"bytes_per_entry_marginal\":%.1f}}\n",
           path, in.len, samples, REPS, (double)MIN_REP_NS / 1e9, floor_mbs,
           (double)samples / floor_s, floor_s * 1e6, e2e_mbs, (double)samples / e2e_s, e2e_s * 1e6,
           e2e_mbs / floor_mbs, mem.stacks, MEM_DEPTH, a->nodes, a->frames, a->entries,
           a->memory_used, ratio(a->memory_used, mem.stacks), ratio(a->memory_used, a->nodes),
           ratio(a->memory_used, a->entries), d_ent, ratio(d_mem, d_ent));
    return 0;
}
