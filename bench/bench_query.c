/* bench/bench_query.c — query latency over a full store, against `go tool pprof`.
 *
 * The store: one hour of CPU samples for 50 services at 100 samples/s each (18 M
 * observations, 10 ms each). Each service runs the stacks of the compress/flate CPU
 * profile (testdata cpu.pb, the real call tree, deep and shared within the service) with
 * its own function-name prefix, drawn at random in proportion to their real weight, so a
 * 10 s bucket holds ~1,000 observations over a few hundred distinct stacks, as a profiler
 * at 100 Hz would send. Built in process through the window API (win_store_add, one batch
 * per service-minute, one intern cache per service: what translate/ does per request).
 *
 * Measured, after one warm-up, median and p90 of REPS runs (pprof: PEER_REPS):
 *   cells: tool (table, flame graph, sandwich on the top flat function, diff of the first
 *   vs the second half of the range) x range (the newest 1 min, 15 min, 1 h) x scope (one
 *   service, all services);
 *   ours: (a) in process, tools_call_text (argument parsing, win_merge, the query, text
 *   rendering); (b) table and flame graph also over MCP Streamable HTTP on loopback
 *   (mcp_client -> mcp_http in this process: JSON-RPC, HTTP, structuredContent); (c) the
 *   `otelprofd query` command as a process against that listener, table over the hour;
 *   the peer: the same data exported for the same range as one gzipped pprof per service
 *   (query_export_pprof), then `pprof REPORT FILE` for one service and `pprof REPORT F1 ... FN`
 *   for all, as processes (the pprof binary of `go env GOTOOLDIR`; `go tool pprof -top`
 *   with the go launcher too, over the hour). REPORT is the nearest pprof report: -top,
 *   -traces (flame graph), -peek '^fn$' (sandwich), -top -diff_base (diff);
 *   scaling: table, flame graph and win_merge over the whole store (all services) for
 *   5/25/50/100 services and 15/60 minutes filled.
 *
 * Usage: bench_query [CPU.pb] [OTELPROFD_BINARY]   (defaults: $OTELPROFD_TESTDATA/otlp/cpu.pb;
 *        (c) is skipped without the binary). Env: BENCH_SERVICES (50), BENCH_REPS (15),
 *        BENCH_PEER_REPS (9), BENCH_SKIP_SCALING=1, BENCH_QUICK=1 (10 services, 5 runs),
 *        BENCH_PROFILE_CELL="TOOL RANGE SCOPE" (indices: time one cell only, for perf).
 * Prints progress on stderr and one JSON object on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "mcp/mcp.h"
#include "query/query.h"
#include "tools/tools.h"
#include "translate/translate.h"
#include "util.h"
#include "window/window.h"

extern char **environ;

#define T0_NS        1700000000000000000LL
#define SEC          1000000000LL
#define HOUR_S       3600
#define RATE_HZ      100
#define PERIOD_NS    (SEC / RATE_HZ)
#define MAX_SERVICES 1000
#define MAX_DEPTH    512
#define ARENA_BLOCK  (1u << 20)
#define ARENA_CAP    (1024u << 20)
#define DEFAULT_REPS 15
#define MIN_REPS     11

/* ---- small helpers ------------------------------------------------------------- */

static void die(const char *what)
{
    fprintf(stderr, "bench_query: %s\n", what);
    exit(1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    /* xorshift64*: deterministic, so every run builds the same store */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct stat_ns {
    double median_ms, p90_ms, min_ms;
    int runs;
} stat_ns;

/* Nearest-rank percentiles of `n` samples (sorted in place). */
static stat_ns summarize(int64_t *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_i64);
    stat_ns s;
    s.runs = n;
    s.min_ms = (double)t[0] / 1e6;
    s.median_ms = (n % 2) ? (double)t[n / 2] / 1e6 : (double)(t[n / 2 - 1] + t[n / 2]) / 2e6;
    int i90 = (int)((9 * n + 9) / 10) - 1; /* ceil(0.9 n) - 1 */
    s.p90_ms = (double)t[i90 < n ? i90 : n - 1] / 1e6;
    return s;
}

/* ---- the template: flate's CPU stacks with their weights ------------------------- */

typedef struct tmpl {
    uint32_t n_frames;
    char **functions; /* unprefixed */
    char **files;
    int64_t *lines;
    uint32_t n_stacks;
    uint32_t **stacks; /* frame indices, leaf first */
    uint32_t *depths;
    int64_t *cumw; /* cumulative weights for drawing */
} tmpl;

static void load_template(const char *cpu_pb, tmpl *tp)
{
    size_t len = 0;
    uint8_t *buf = bench_read_file(cpu_pb, &len);
    if (!buf) {
        die("cannot read the cpu.pb template");
    }
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    base_arena arena;
    base_arena_init(&arena, ARENA_BLOCK, ARENA_CAP);
    tr_request *req = NULL;
    char err[512];
    if (!st || tr_decode_protobuf(buf, len, &arena, &req, err, sizeof err) != BASE_OK) {
        die("cannot decode the template");
    }
    tr_result res;
    memset(&res, 0, sizeof res);
    if (tr_ingest(st, req, buf, len, T0_NS + 30 * 60 * SEC, &arena, &res) != BASE_OK ||
        res.samples_stored == 0) {
        die("cannot ingest the template");
    }
    win_selector *sel = win_selector_parse("{service.name=\"flate\"}", NULL, err, sizeof err);
    win_query q = {.profile_type = "cpu:nanoseconds",
                   .selector = sel,
                   .start_ns = INT64_MIN,
                   .end_ns = INT64_MAX};
    win_merged *m = win_merge(st, &q, NULL);
    if (!m || m->n_nodes < 2) {
        die("the template merge is empty");
    }
    tp->n_frames = m->n_frames;
    tp->functions = calloc(m->n_frames, sizeof *tp->functions);
    tp->files = calloc(m->n_frames, sizeof *tp->files);
    tp->lines = calloc(m->n_frames, sizeof *tp->lines);
    tp->stacks = calloc(m->n_nodes, sizeof *tp->stacks);
    tp->depths = calloc(m->n_nodes, sizeof *tp->depths);
    tp->cumw = calloc(m->n_nodes, sizeof *tp->cumw);
    if (!tp->functions || !tp->files || !tp->lines || !tp->stacks || !tp->depths || !tp->cumw) {
        die("out of memory");
    }
    for (uint32_t i = 0; i < m->n_frames; i++) {
        const win_frame *f = &m->frames[i];
        char addr[32];
        snprintf(addr, sizeof addr, "0x%" PRIx64, f->address);
        tp->functions[i] = strdup(f->function[0] ? f->function : addr);
        tp->files[i] = strdup(f->file);
        tp->lines[i] = f->line;
    }
    int64_t acc = 0;
    uint32_t frames[MAX_DEPTH];
    for (uint32_t i = 1; i < m->n_nodes; i++) {
        if (m->nodes[i].self <= 0) {
            continue;
        }
        uint32_t d = 0;
        for (int32_t n = (int32_t)i; n > 0 && d < MAX_DEPTH; n = m->nodes[n].parent) {
            frames[d++] = m->nodes[n].frame;
        }
        uint32_t k = tp->n_stacks++;
        tp->stacks[k] = malloc(d * sizeof(uint32_t));
        if (!tp->stacks[k]) {
            die("out of memory");
        }
        memcpy(tp->stacks[k], frames, d * sizeof(uint32_t));
        tp->depths[k] = d;
        acc += m->nodes[i].self;
        tp->cumw[k] = acc;
    }
    win_merged_free(m);
    win_selector_free(sel);
    base_arena_free(&arena);
    win_store_free(st);
    free(buf);
}

static uint32_t draw(const tmpl *tp)
{
    int64_t x = (int64_t)(rng() % (uint64_t)tp->cumw[tp->n_stacks - 1]);
    uint32_t lo = 0, hi = tp->n_stacks - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (tp->cumw[mid] > x) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

/* ---- the store ------------------------------------------------------------------- */

static win_store *build_store(const tmpl *tp, int services, int minutes, int64_t now_ns,
                              double *build_s)
{
    win_config cfg;
    win_config_defaults(&cfg);
    cfg.retention_ns = (HOUR_S + 60) * SEC; /* the whole hour stays, whatever the bucket edges */
    cfg.memory_limit = 16ULL << 30;
    win_store *st = win_store_new(&cfg);
    if (!st) {
        die("win_store_new failed");
    }
    win_frame_in *frames = calloc(tp->n_frames, sizeof *frames);
    char **names = calloc(tp->n_frames, sizeof *names);
    win_stack_in *stacks = calloc(tp->n_stacks, sizeof *stacks);
    win_sample_in *samples = calloc(60 * RATE_HZ, sizeof *samples);
    if (!frames || !names || !stacks || !samples) {
        die("out of memory");
    }
    for (uint32_t k = 0; k < tp->n_stacks; k++) {
        stacks[k].frames = tp->stacks[k];
        stacks[k].depth = tp->depths[k];
    }
    int64_t t_start = now_ns - (int64_t)minutes * 60 * SEC;
    int64_t t0 = base_now_mono_ns();
    for (int s = 0; s < services; s++) {
        char svc[32], host[32], pid[32], mapping[64];
        snprintf(svc, sizeof svc, "svc%02d", s);
        snprintf(host, sizeof host, "node-%d", s % 5);
        snprintf(pid, sizeof pid, "%d", 1000 + s);
        snprintf(mapping, sizeof mapping, "/usr/bin/%s", svc);
        for (uint32_t i = 0; i < tp->n_frames; i++) {
            size_t n = strlen(svc) + 1 + strlen(tp->functions[i]) + 1;
            names[i] = malloc(n);
            if (!names[i]) {
                die("out of memory");
            }
            snprintf(names[i], n, "%s/%s", svc, tp->functions[i]);
            frames[i] = (win_frame_in){.function = names[i],
                                       .file = tp->files[i],
                                       .line = tp->lines[i],
                                       .mapping = mapping};
        }
        win_attr res[] = {{"service.name", svc}, {"host.name", host}, {"process.pid", pid}};
        win_intern_cache *cache = win_intern_cache_new();
        for (int minute = 0; minute < minutes; minute++) {
            int64_t m0 = t_start + (int64_t)minute * 60 * SEC;
            uint32_t n = 0;
            for (int i = 0; i < 60 * RATE_HZ; i++) {
                samples[n++] = (win_sample_in){.stack = draw(tp),
                                               .value = PERIOD_NS,
                                               .time_ns = m0 + (int64_t)i * PERIOD_NS +
                                                          (int64_t)(rng() % PERIOD_NS)};
            }
            win_batch b = {.profile_type = "cpu:nanoseconds",
                           .resource = res,
                           .n_resource = 3,
                           .frames = frames,
                           .n_frames = tp->n_frames,
                           .stacks = stacks,
                           .n_stacks = tp->n_stacks,
                           .samples = samples,
                           .n_samples = n,
                           .cache = cache};
            win_add_result ar;
            char err[256];
            if (win_store_add(st, &b, now_ns, &ar, err, sizeof err) != 0) {
                fprintf(stderr, "win_store_add: %s\n", err);
                die("cannot fill the store");
            }
            if (ar.samples_stored != n) {
                die("samples were not stored (clock/retention)");
            }
        }
        win_intern_cache_free(cache);
        for (uint32_t i = 0; i < tp->n_frames; i++) {
            free(names[i]);
        }
    }
    *build_s = (double)(base_now_mono_ns() - t0) / 1e9;
    free(frames);
    free(names);
    free(stacks);
    free(samples);
    return st;
}

/* ---- timing ------------------------------------------------------------------------- */

static stat_ns time_call_text(tools *t, const char *tool, const char *args, int reps,
                              size_t *text_len, const char *must_contain)
{
    int64_t *ts = calloc((size_t)reps, sizeof *ts);
    if (!ts) {
        die("out of memory");
    }
    for (int i = -1; i < reps; i++) {
        bool is_error = false;
        char err[256];
        int64_t a = base_now_mono_ns();
        char *text = tools_call_text(t, tool, args, &is_error, err, sizeof err);
        int64_t b = base_now_mono_ns();
        if (!text || is_error) {
            fprintf(stderr, "%s %s: %s\n", tool, args, text ? text : err);
            die("a query failed");
        }
        if (must_contain && !strstr(text, must_contain)) {
            fprintf(stderr, "%s %s answered without %s:\n%.600s\n", tool, args, must_contain, text);
            die("a query answered without the data it was asked about");
        }
        *text_len = strlen(text);
        free(text);
        if (i >= 0) {
            ts[i] = b - a;
        }
    }
    stat_ns s = summarize(ts, reps);
    free(ts);
    return s;
}

/* JSON-RPC tools/call over the Streamable HTTP listener; the result must not be an error. */
static stat_ns time_mcp_http(mcp_client *c, const char *tool, const char *args, int reps)
{
    int64_t *ts = calloc((size_t)reps, sizeof *ts);
    size_t n = strlen(tool) + strlen(args) + 128;
    char *msg = malloc(n);
    if (!ts || !msg) {
        die("out of memory");
    }
    for (int i = -1; i < reps; i++) {
        snprintf(msg, n,
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/"
                 "call\",\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
                 i + 10, tool, args);
        char err[256];
        int64_t a = base_now_mono_ns();
        char *resp = mcp_client_send(c, msg, NULL, NULL, err, sizeof err);
        int64_t b = base_now_mono_ns();
        if (!resp || strstr(resp, "\"isError\":true") || strstr(resp, "\"error\"")) {
            fprintf(stderr, "MCP %s: %s\n", tool, resp ? resp : err);
            die("an MCP call failed");
        }
        free(resp);
        if (i >= 0) {
            ts[i] = b - a;
        }
    }
    stat_ns s = summarize(ts, reps);
    free(ts);
    free(msg);
    return s;
}

/* Wall time of a process with stdout to /dev/null; it must exit 0. */
static stat_ns time_process(char *const argv[], int reps)
{
    int64_t *ts = calloc((size_t)reps, sizeof *ts);
    if (!ts) {
        die("out of memory");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    for (int i = -1; i < reps; i++) {
        pid_t pid;
        int64_t a = base_now_mono_ns();
        if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
            fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
            die("spawn failed");
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        int64_t b = base_now_mono_ns();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "%s exited with status %d\n", argv[0], status);
            die("a peer command failed");
        }
        if (i >= 0) {
            ts[i] = b - a;
        }
    }
    posix_spawn_file_actions_destroy(&fa);
    stat_ns s = summarize(ts, reps);
    free(ts);
    return s;
}

/* Exports the merge of `selector` over [start, end) as a gzipped pprof file. */
static void export_range(win_store *st, const char *selector, int64_t start_ns, int64_t end_ns,
                         const char *path, size_t *bytes)
{
    char err[256];
    win_selector *sel = win_selector_parse(selector, NULL, err, sizeof err);
    win_query q = {.profile_type = "cpu:nanoseconds",
                   .selector = sel,
                   .start_ns = start_ns,
                   .end_ns = end_ns,
                   .keep_labels = true};
    win_merged *m = sel ? win_merge(st, &q, NULL) : NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = -1;
    if (m && query_export_pprof(m, NULL, NULL, &out, &len, err, sizeof err) == 0) {
        FILE *f = fopen(path, "wb");
        if (f && fwrite(out, 1, len, f) == len)
            rc = 0;
        if (f && fclose(f) != 0)
            rc = -1;
        *bytes += len;
    }
    free(out);
    win_merged_free(m);
    win_selector_free(sel);
    if (rc != 0) {
        fprintf(stderr, "export %s: %s\n", selector, err);
        die("pprof export failed");
    }
}

/* The function with the largest flat value for `selector` over the whole store. */
static char *top_flat_function(win_store *st, const char *selector)
{
    char err[256];
    win_selector *sel = win_selector_parse(selector, NULL, err, sizeof err);
    win_query q = {.profile_type = "cpu:nanoseconds",
                   .selector = sel,
                   .start_ns = INT64_MIN,
                   .end_ns = INT64_MAX};
    win_merged *m = sel ? win_merge(st, &q, NULL) : NULL;
    win_top_row *rows = NULL;
    if (!m || win_top(m, &rows) < 1)
        die("no top function");
    char *name = strdup(rows[0].function);
    free(rows);
    win_merged_free(m);
    win_selector_free(sel);
    if (!name)
        die("out of memory");
    return name;
}

/* "^name$" with RE2 metacharacters escaped, for pprof -peek. */
static char *anchored_regex(const char *name)
{
    size_t n = strlen(name);
    char *out = malloc(2 * n + 3);
    if (!out)
        die("out of memory");
    char *p = out;
    *p++ = '^';
    for (const char *c = name; *c; c++) {
        if (strchr("\\.+*?()|[]{}^$", *c))
            *p++ = '\\';
        *p++ = *c;
    }
    *p++ = '$';
    *p = 0;
    return out;
}

/* A JSON string literal of `s` (only '"' and '\\' need escaping in our names). */
static void json_str(char *out, size_t len, const char *s)
{
    size_t j = 0;
    if (len < 3)
        die("buffer too small");
    out[j++] = '"';
    for (; *s && j + 3 < len; s++) {
        if (*s == '"' || *s == '\\')
            out[j++] = '\\';
        out[j++] = *s;
    }
    out[j++] = '"';
    out[j] = 0;
}

/* ---- the cells: tool x range x scope ---------------------------------------------- */

enum { TOOL_TABLE, TOOL_FLAME, TOOL_SANDWICH, TOOL_DIFF, N_TOOLS };
enum { N_RANGES = 3 };
static const char *const tool_key[N_TOOLS] = {"table", "flamegraph", "sandwich", "diff"};
static const char *const tool_name[N_TOOLS] = {"query_profile_table", "query_profile_flamegraph",
                                               "query_profile_sandwich", "query_profile_diff"};
/* the pprof report nearest to each tool (see bench/README.md) */
static const char *const peer_report[N_TOOLS] = {"-top", "-traces", "-peek", "-top -diff_base"};
static const int range_min[N_RANGES] = {1, 15, 60};
static const char *const range_key[N_RANGES] = {"1m", "15m", "1h"};

typedef struct cell {
    stat_ns ours, mcp, peer;
    bool have_mcp, have_peer;
} cell;

/* pprof argv: tool report flags, then (diff) one -diff_base per baseline file, then the
 * profile files; strings borrowed. */
static int pprof_argv(char **av, int cap, const char *pprof, int tool, const char *peek_re,
                      char **files, char **base_files, int n_files)
{
    int n = 0;
    av[n++] = (char *)pprof;
    switch (tool) {
    case TOOL_TABLE:
        av[n++] = "-top";
        break;
    case TOOL_FLAME:
        av[n++] = "-traces";
        break;
    case TOOL_SANDWICH:
        av[n++] = "-peek";
        av[n++] = (char *)peek_re;
        break;
    default:
        av[n++] = "-top";
        for (int i = 0; i < n_files && n + 2 < cap; i++) {
            av[n++] = "-diff_base";
            av[n++] = base_files[i];
        }
        break;
    }
    for (int i = 0; i < n_files && n + 1 < cap; i++)
        av[n++] = files[i];
    av[n] = NULL;
    return n;
}

static stat_ns time_merge_all(win_store *st, int reps, uint64_t *entries)
{
    int64_t *mt = calloc((size_t)reps, sizeof *mt);
    if (!mt)
        die("out of memory");
    for (int i = -1; i < reps; i++) {
        win_query q = {
            .profile_type = "cpu:nanoseconds", .start_ns = INT64_MIN, .end_ns = INT64_MAX};
        int64_t a = base_now_mono_ns();
        win_merged *m = win_merge(st, &q, NULL);
        int64_t b = base_now_mono_ns();
        if (!m)
            die("win_merge failed");
        *entries = m->n_entries;
        win_merged_free(m);
        if (i >= 0)
            mt[i] = b - a;
    }
    stat_ns s = summarize(mt, reps);
    free(mt);
    return s;
}

static void print_cell_stat(const char *key, stat_ns s, bool have)
{
    if (!have) {
        printf("\"%s\": null", key);
        return;
    }
    printf("\"%s\": {\"median_ms\": %.3f, \"p90_ms\": %.3f, \"min_ms\": %.3f, \"runs\": %d}", key,
           s.median_ms, s.p90_ms, s.min_ms, s.runs);
}

/* ---- scaling: table and flame graph (whole store, all services) vs series and fill ---- */

static void scaling(const tmpl *tp, int reps, bool quick)
{
    static const int svc_full[] = {5, 25, 50, 100}, svc_quick[] = {5, 25};
    static const int fill_full[] = {15, 60}, fill_quick[] = {15};
    const int *svcs = quick ? svc_quick : svc_full, *fills = quick ? fill_quick : fill_full;
    int n_svc = quick ? 2 : 4, n_fill = quick ? 1 : 2;
    printf("  \"scaling\": [\n");
    for (int f = 0; f < n_fill; f++) {
        for (int i = 0; i < n_svc; i++) {
            int64_t now_ns = base_now_unix_ns() / (60 * SEC) * (60 * SEC);
            double build_s = 0;
            win_store *st = build_store(tp, svcs[i], fills[f], now_ns, &build_s);
            win_stats ws;
            win_store_stats(st, &ws);
            tools_config tc = {.store = st, .version = "bench"};
            tools *t = tools_new(&tc);
            if (!t)
                die("tools_new failed");
            size_t len = 0;
            const char *args = "{\"profile_type\":\"cpu:nanoseconds\"}";
            stat_ns tb = time_call_text(t, "query_profile_table", args, reps, &len, "svc");
            stat_ns fg = time_call_text(t, "query_profile_flamegraph", args, reps, &len, "svc");
            uint64_t ent = 0;
            stat_ns mg = time_merge_all(st, reps, &ent);
            fprintf(stderr,
                    "scaling: %3d svc x %2d min: %8" PRIu64 " entries, %6" PRIu64
                    " nodes: merge %.1f ms, table %.1f ms, flame graph %.1f ms\n",
                    svcs[i], fills[f], ws.entries, ws.nodes, mg.median_ms, tb.median_ms,
                    fg.median_ms);
            printf("    {\"services\": %d, \"minutes\": %d, \"entries\": %" PRIu64
                   ", \"nodes\": %" PRIu64 ", \"memory_used\": %" PRIu64 ", ",
                   svcs[i], fills[f], ws.entries, ws.nodes, ws.memory_used);
            print_cell_stat("merge", mg, true);
            printf(", ");
            print_cell_stat("table", tb, true);
            printf(", ");
            print_cell_stat("flamegraph", fg, true);
            printf(", \"ns_per_entry_table\": %.2f}%s\n", tb.median_ms * 1e6 / (double)ent,
                   f + 1 < n_fill || i + 1 < n_svc ? "," : "");
            tools_free(t);
            win_store_free(st);
        }
    }
    printf("  ],\n");
}

int main(int argc, char **argv)
{
    const char *td = getenv("OTELPROFD_TESTDATA");
    char def[4096];
    snprintf(def, sizeof def, "%s/otlp/cpu.pb", td ? td : "../shared/testdata");
    const char *cpu_pb = argc > 1 ? argv[1] : def;
    const char *otelprofd_bin = argc > 2 ? argv[2] : NULL;
    bool quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "1") == 0;
    int services = getenv("BENCH_SERVICES") ? atoi(getenv("BENCH_SERVICES")) : quick ? 10 : 50;
    int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : quick ? 5 : DEFAULT_REPS;
    int peer_reps = getenv("BENCH_PEER_REPS") ? atoi(getenv("BENCH_PEER_REPS")) : quick ? 3 : 9;
    int min_reps = quick ? 3 : MIN_REPS;
    if (services < 2 || services > MAX_SERVICES || reps < min_reps || reps > 1000 ||
        peer_reps < 3 || peer_reps > 1000)
        die("BENCH_SERVICES must be 2..1000, BENCH_REPS 11..1000 (3.. with BENCH_QUICK=1), "
            "BENCH_PEER_REPS 3..1000");

    tmpl tp;
    memset(&tp, 0, sizeof tp);
    load_template(cpu_pb, &tp);
    fprintf(stderr, "template: %u frames, %u distinct stacks (compress/flate cpu)\n", tp.n_frames,
            tp.n_stacks);

    /* minute-aligned, so every range below covers whole buckets */
    int64_t now_ns = base_now_unix_ns() / (60 * SEC) * (60 * SEC);
    double build_s = 0;
    win_store *st = build_store(&tp, services, 60, now_ns, &build_s);
    win_stats ws;
    win_store_stats(st, &ws);
    fprintf(stderr,
            "store: %d services x 1 h x %d Hz: %" PRIu64 " series, %" PRIu64 " buckets, %" PRIu64
            " entries, %" PRIu64 " nodes, %.1f MiB, built in %.1f s\n",
            services, RATE_HZ, ws.series, ws.buckets, ws.entries, ws.nodes,
            (double)ws.memory_used / (1 << 20), build_s);
    if (ws.evicted_buckets || ws.expired_buckets)
        die("buckets were evicted or expired: the store does not hold the whole hour");

    tools_config tc = {.store = st, .receiver = NULL, .http_base_url = NULL, .version = "bench"};
    tools *t = tools_new(&tc);
    if (!t)
        die("tools_new failed");

    int one = services / 2;
    char one_svc[32], one_sel[64];
    snprintf(one_svc, sizeof one_svc, "svc%02d", one);
    snprintf(one_sel, sizeof one_sel, "{service.name=\"%s\"}", one_svc);
    char *hot_one = top_flat_function(st, one_sel);
    char *hot_all = top_flat_function(st, "{}");
    char hot_one_json[512], hot_all_json[512];
    json_str(hot_one_json, sizeof hot_one_json, hot_one);
    json_str(hot_all_json, sizeof hot_all_json, hot_all);
    fprintf(stderr, "sandwich on the top flat function: %s (one), %s (all)\n", hot_one, hot_all);

    /* ours: every tool x range x scope, in process and (table, flame graph) over MCP HTTP */
    mcp_server_info info = {.name = "otelprofd", .version = "bench"};
    mcp_server *srv = mcp_server_new(&info);
    mcp_http *http = NULL;
    mcp_client *cl = NULL;
    char url[128] = "";
    if (srv && tools_register(t, srv) == 0) {
        mcp_http_config hc = {.addr = "127.0.0.1:0", .route = tools_http_route, .route_user = t};
        char err[256];
        http = mcp_http_start(srv, &hc, err, sizeof err);
        if (http) {
            snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", mcp_http_port(http));
            cl = mcp_client_connect(url, NULL, true, err, sizeof err);
        }
        if (!cl)
            fprintf(stderr, "MCP over HTTP not measured: %s\n", err);
    }

    cell cells[N_TOOLS][N_RANGES][2];
    memset(cells, 0, sizeof cells);
    char args[N_TOOLS][N_RANGES][2][1024];
    for (int r = 0; r < N_RANGES; r++) {
        long long end_s = now_ns / SEC, start_s = end_s - range_min[r] * 60,
                  mid_s = start_s + range_min[r] * 30;
        for (int sc = 0; sc < 2; sc++) {
            char svc_arg[64] = "";
            if (sc == 0)
                snprintf(svc_arg, sizeof svc_arg, ",\"service_name\":\"%s\"", one_svc);
            const char *pt = "\"profile_type\":\"cpu:nanoseconds\"";
            snprintf(args[TOOL_TABLE][r][sc], sizeof args[0][0][0],
                     "{%s%s,\"start\":%lld,\"end\":%lld}", pt, svc_arg, start_s, end_s);
            snprintf(args[TOOL_FLAME][r][sc], sizeof args[0][0][0], "%s", args[TOOL_TABLE][r][sc]);
            snprintf(args[TOOL_SANDWICH][r][sc], sizeof args[0][0][0],
                     "{%s%s,\"start\":%lld,\"end\":%lld,\"function\":%s}", pt, svc_arg, start_s,
                     end_s, sc == 0 ? hot_one_json : hot_all_json);
            snprintf(args[TOOL_DIFF][r][sc], sizeof args[0][0][0],
                     "{%s%s,\"baseline\":{\"start\":%lld,\"end\":%lld},"
                     "\"comparison\":{\"start\":%lld,\"end\":%lld}}",
                     pt, svc_arg, start_s, mid_s, mid_s, end_s);
        }
    }
    char one_prefix[48];
    snprintf(one_prefix, sizeof one_prefix, "%s/", one_svc);
    /* BENCH_PROFILE_CELL="tool range scope" (e.g. "0 0 1": table, 1 min, all services):
     * time that one cell REPS times and stop, to run under perf */
    const char *pc = getenv("BENCH_PROFILE_CELL");
    int pk, pr, ps;
    if (pc && sscanf(pc, "%d %d %d", &pk, &pr, &ps) == 3 && pk >= 0 && pk < N_TOOLS && pr >= 0 &&
        pr < N_RANGES && ps >= 0 && ps < 2) {
        size_t len = 0;
        stat_ns x = time_call_text(t, tool_name[pk], args[pk][pr][ps], reps, &len, NULL);
        fprintf(stderr, "%s %s %s: median %.3f ms, p90 %.3f ms (%zu bytes of text)\n", tool_key[pk],
                range_key[pr], ps ? "all" : "one", x.median_ms, x.p90_ms, len);
        return 0;
    }
    for (int k = 0; k < N_TOOLS; k++) {
        for (int r = 0; r < N_RANGES; r++) {
            for (int sc = 0; sc < 2; sc++) {
                size_t len = 0;
                cell *c = &cells[k][r][sc];
                c->ours = time_call_text(t, tool_name[k], args[k][r][sc], reps, &len,
                                         sc == 0 ? one_prefix : "svc");
                if (cl && (k == TOOL_TABLE || k == TOOL_FLAME)) {
                    c->mcp = time_mcp_http(cl, tool_name[k], args[k][r][sc], reps);
                    c->have_mcp = true;
                }
            }
            fprintf(stderr, "ours: %-10s %3s: one %.2f ms, all %.2f ms\n", tool_key[k],
                    range_key[r], cells[k][r][0].ours.median_ms, cells[k][r][1].ours.median_ms);
        }
    }
    /* diff of one service against another over the hour (selectors instead of ranges) */
    int other = one > 0 ? one - 1 : one + 1;
    char svc_diff_args[512];
    snprintf(svc_diff_args, sizeof svc_diff_args,
             "{\"profile_type\":\"cpu:nanoseconds\",\"baseline\":{\"selector\":"
             "\"{service.name=\\\"svc%02d\\\"}\"},\"comparison\":{\"selector\":"
             "\"{service.name=\\\"svc%02d\\\"}\"}}",
             other, one);
    size_t sd_len = 0;
    stat_ns svc_diff = time_call_text(t, "query_profile_diff", svc_diff_args, reps, &sd_len, "svc");
    stat_ns svc_diff_peer = {0};
    fprintf(stderr, "ours: diff svc%02d vs svc%02d, 1h: %.2f ms\n", other, one, svc_diff.median_ms);
    uint64_t entries_all = 0;
    stat_ns merge_all = time_merge_all(st, reps, &entries_all);

    /* (c) the otelprofd query command, table over the hour */
    bool have_c = !quick && cl && otelprofd_bin && access(otelprofd_bin, X_OK) == 0;
    stat_ns c_t1 = {0}, c_ta = {0};
    if (have_c) {
        char *q1[] = {(char *)otelprofd_bin,
                      "query",
                      "query_profile_table",
                      args[TOOL_TABLE][2][0],
                      "--connect",
                      url,
                      NULL};
        char *qa[] = {(char *)otelprofd_bin,
                      "query",
                      "query_profile_table",
                      args[TOOL_TABLE][2][1],
                      "--connect",
                      url,
                      NULL};
        c_t1 = time_process(q1, peer_reps);
        c_ta = time_process(qa, peer_reps);
        fprintf(stderr, "otelprofd query (process): table 1 svc %.2f ms, all %.2f ms\n",
                c_t1.median_ms, c_ta.median_ms);
    }

    /* the peer: per range, one pprof per service for the range and for each half */
    char tooldir[4096] = "";
    FILE *p = popen("go env GOTOOLDIR 2>/dev/null", "r");
    if (p) {
        if (fgets(tooldir, sizeof tooldir, p))
            tooldir[strcspn(tooldir, "\n")] = 0;
        pclose(p);
    }
    char pprof_bin[4200];
    snprintf(pprof_bin, sizeof pprof_bin, "%s/pprof", tooldir);
    bool have_pprof = tooldir[0] && access(pprof_bin, X_OK) == 0;
    char dir[] = "/tmp/otelprofd-bench-pprof.XXXXXX";
    size_t pprof_bytes = 0;
    stat_ns g_1 = {0}, g_all = {0};
    char **files[N_RANGES][3]; /* [range][whole, first half, second half][service] */
    memset(files, 0, sizeof files);
    if (have_pprof) {
        if (!mkdtemp(dir))
            die("mkdtemp failed");
        char *re_one = anchored_regex(hot_one), *re_all = anchored_regex(hot_all);
        char **av = calloc((size_t)services * 4 + 16, sizeof *av);
        if (!av)
            die("out of memory");
        int cap = services * 4 + 16;
        for (int r = 0; r < N_RANGES; r++) {
            int64_t end = now_ns, start = end - (int64_t)range_min[r] * 60 * SEC,
                    mid = start + (int64_t)range_min[r] * 30 * SEC;
            int64_t bounds[3][2] = {{start, end}, {start, mid}, {mid, end}};
            for (int h = 0; h < 3; h++) {
                files[r][h] = calloc((size_t)services, sizeof(char *));
                if (!files[r][h])
                    die("out of memory");
                for (int s = 0; s < services; s++) {
                    char sel[64];
                    snprintf(sel, sizeof sel, "{service.name=\"svc%02d\"}", s);
                    files[r][h][s] = malloc(strlen(dir) + 48);
                    if (!files[r][h][s])
                        die("out of memory");
                    sprintf(files[r][h][s], "%s/%s.%d.svc%02d.pb.gz", dir, range_key[r], h, s);
                    export_range(st, sel, bounds[h][0], bounds[h][1], files[r][h][s], &pprof_bytes);
                }
            }
            for (int k = 0; k < N_TOOLS; k++) {
                for (int sc = 0; sc < 2; sc++) {
                    int h = k == TOOL_DIFF ? 2 : 0;
                    char **f = sc == 0 ? &files[r][h][one] : files[r][h];
                    char **bf = sc == 0 ? &files[r][1][one] : files[r][1];
                    pprof_argv(av, cap, pprof_bin, k, sc == 0 ? re_one : re_all, f, bf,
                               sc == 0 ? 1 : services);
                    cells[k][r][sc].peer = time_process(av, peer_reps);
                    cells[k][r][sc].have_peer = true;
                }
                fprintf(stderr, "pprof %-15s %3s: one %.1f ms, all %.1f ms\n", peer_report[k],
                        range_key[r], cells[k][r][0].peer.median_ms, cells[k][r][1].peer.median_ms);
            }
        }
        char *dv[] = {pprof_bin, "-top", "-diff_base", files[2][0][other], files[2][0][one], NULL};
        svc_diff_peer = time_process(dv, peer_reps);
        fprintf(stderr, "pprof -top -diff_base svc%02d svc%02d, 1h: %.1f ms\n", other, one,
                svc_diff_peer.median_ms);
        if (!quick) {
            /* what a user types, with the go launcher: table over the hour */
            char **gv = calloc((size_t)services + 8, sizeof *gv);
            if (!gv)
                die("out of memory");
            gv[0] = "go";
            gv[1] = "tool";
            gv[2] = "pprof";
            gv[3] = "-top";
            gv[4] = files[2][0][one];
            gv[5] = NULL;
            g_1 = time_process(gv, peer_reps);
            for (int s = 0; s < services; s++)
                gv[4 + s] = files[2][0][s];
            gv[4 + services] = NULL;
            g_all = time_process(gv, peer_reps);
            free(gv);
        }
        free(av);
        free(re_one);
        free(re_all);
    } else {
        fprintf(stderr, "go tool pprof not found: the peer is not measured\n");
    }

    printf("{\n  \"quick\": %s,\n", quick ? "true" : "false");
    printf("  \"store\": {\"services\": %d, \"hours\": 1, \"rate_hz\": %d, \"observations\": %lld,"
           " \"series\": %" PRIu64 ", \"buckets\": %" PRIu64 ", \"entries\": %" PRIu64
           ", \"nodes\": %" PRIu64 ", \"frames\": %" PRIu64 ", \"memory_used\": %" PRIu64
           ", \"build_s\": %.2f, \"template_stacks\": %u, \"entries_merged_all\": %" PRIu64
           ", \"pprof_files\": %d, \"pprof_bytes\": %zu},\n",
           services, RATE_HZ, (long long)services * HOUR_S * RATE_HZ, ws.series, ws.buckets,
           ws.entries, ws.nodes, ws.frames, ws.memory_used, build_s, tp.n_stacks, entries_all,
           have_pprof ? services * N_RANGES * 3 : 0, pprof_bytes);
    printf("  \"sandwich_function\": {\"one\": %s, \"all\": %s},\n", hot_one_json, hot_all_json);
    printf("  \"peer_reports\": {\"table\": \"pprof -top\", \"flamegraph\": \"pprof -traces\", "
           "\"sandwich\": \"pprof -peek '^fn$'\", \"diff\": \"pprof -top -diff_base "
           "(first half) (second half)\"},\n");
    printf("  \"cells\": {\n");
    for (int k = 0; k < N_TOOLS; k++) {
        printf("    \"%s\": {\n", tool_key[k]);
        for (int r = 0; r < N_RANGES; r++) {
            printf("      \"%s\": {", range_key[r]);
            for (int sc = 0; sc < 2; sc++) {
                const cell *c = &cells[k][r][sc];
                printf("\"%s\": {", sc == 0 ? "one" : "all");
                print_cell_stat("ours", c->ours, true);
                printf(", ");
                print_cell_stat("mcp_http", c->mcp, c->have_mcp);
                printf(", ");
                print_cell_stat("pprof", c->peer, c->have_peer);
                if (c->have_peer)
                    printf(", \"ratio\": %.1f", c->peer.median_ms / c->ours.median_ms);
                if (c->have_peer && c->have_mcp)
                    printf(", \"ratio_mcp_http\": %.1f", c->peer.median_ms / c->mcp.median_ms);
                printf("}%s", sc == 0 ? ", " : "");
            }
            printf("}%s\n", r + 1 < N_RANGES ? "," : "");
        }
        printf("    }%s\n", k + 1 < N_TOOLS ? "," : "");
    }
    printf("  },\n  \"diff_service_vs_service_1h\": {");
    print_cell_stat("ours", svc_diff, true);
    printf(", ");
    print_cell_stat("pprof", svc_diff_peer, have_pprof);
    if (have_pprof)
        printf(", \"ratio\": %.1f", svc_diff_peer.median_ms / svc_diff.median_ms);
    printf("},\n  ");
    print_cell_stat("merge_all_services_1h", merge_all, true);
    printf(",\n  \"otelprofd_query_process\": ");
    if (have_c) {
        printf("{");
        print_cell_stat("table_one_service_1h", c_t1, true);
        printf(", ");
        print_cell_stat("table_all_services_1h", c_ta, true);
        printf("}");
    } else {
        printf("null");
    }
    printf(",\n  \"go_tool_pprof\": ");
    if (have_pprof && !quick) {
        printf("{");
        print_cell_stat("top_one_service_1h", g_1, true);
        printf(", ");
        print_cell_stat("top_all_services_1h", g_all, true);
        printf("}");
    } else {
        printf("null");
    }
    printf(",\n");
    fflush(stdout);

    for (int r = 0; r < N_RANGES; r++) {
        for (int h = 0; h < 3; h++) {
            for (int s = 0; files[r][h] && s < services; s++) {
                unlink(files[r][h][s]);
                free(files[r][h][s]);
            }
            free(files[r][h]);
        }
    }
    if (have_pprof)
        rmdir(dir);
    if (cl)
        mcp_client_close(cl);
    if (http)
        mcp_http_stop(http);
    mcp_server_free(srv);
    tools_free(t);
    win_store_free(st);
    free(hot_one);
    free(hot_all);

    if (getenv("BENCH_SKIP_SCALING") && strcmp(getenv("BENCH_SKIP_SCALING"), "1") == 0)
        printf("  \"scaling\": null,\n");
    else
        scaling(&tp, quick ? 3 : 7, quick);
    printf("  \"flamegraph_all_services_1h_ms\": %.3f\n}\n",
           cells[TOOL_FLAME][2][1].ours.median_ms);

    for (uint32_t i = 0; i < tp.n_frames; i++) {
        free(tp.functions[i]);
        free(tp.files[i]);
    }
    for (uint32_t k = 0; k < tp.n_stacks; k++)
        free(tp.stacks[k]);
    free(tp.functions);
    free(tp.files);
    free(tp.lines);
    free(tp.stacks);
    free(tp.depths);
    free(tp.cumw);
    return 0;
}
