/* bench/bench_query.c — query latency over a full store, against `go tool pprof -top`.
 *
 * The store: one hour of CPU samples for 50 services at 100 samples/s each (18 M
 * observations, 10 ms each). Each service runs the stacks of the compress/flate CPU
 * profile (testdata cpu.pb, the real call tree, deep and shared within the service) with
 * its own function-name prefix, drawn at random in proportion to their real weight, so a
 * 10 s bucket holds ~1,000 observations over a few hundred distinct stacks, as a profiler
 * at 100 Hz would send. Built in process through the window API (win_store_add, one batch
 * per service-minute, one intern cache per service: what translate/ does per request).
 *
 * Measured, each REPS times after one warm-up, median and p90:
 *   ours, three ways: (a) in process, tools_call_text (argument parsing, win_merge, the
 *   query, text rendering); (b) over MCP Streamable HTTP on loopback (mcp_client ->
 *   mcp_http in this process: JSON-RPC, HTTP, structuredContent); (c) the `otelprofd query`
 *   command as a process against that listener (process wall time, like pprof's).
 *   the peer: the same data exported as one gzipped pprof per service (q_export_pprof of
 *   the hour), then `pprof -top FILE` for one service and `pprof -top F1 ... F50` for all,
 *   as processes: the pprof binary of `go env GOTOOLDIR` directly, and `go tool pprof`
 *   (what a user types, with the go launcher).
 *
 * Usage: bench_query [CPU.pb] [OTELPROFD_BINARY]   (defaults: $OTELPROFD_TESTDATA/otlp/cpu.pb;
 *        (c) is skipped without the binary). Env: BENCH_SERVICES (50), BENCH_REPS (15).
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
#include "window/window.h"

extern char **environ;

#define T0_NS           1700000000000000000LL
#define SEC             1000000000LL
#define HOUR_S          3600
#define RATE_HZ         100
#define PERIOD_NS       (SEC / RATE_HZ)
#define MAX_SERVICES    1000
#define BENCH_MAX_INPUT (256u << 20)
#define MAX_DEPTH       512
#define ARENA_BLOCK     (1u << 20)
#define ARENA_CAP       (1024u << 20)
#define DEFAULT_REPS    15
#define MIN_REPS        11

/* ---- small helpers ------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > BENCH_MAX_INPUT) {
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n);
    if (buf && fread(buf, 1, n, f) != n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

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
    uint8_t *buf = read_file(cpu_pb, &len);
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
    win_selector *sel = win_selector_parse("{service.name=\"flate\"}", err, sizeof err);
    win_query q = {.profile_type = "cpu:nanoseconds",
                   .selector = sel,
                   .start_ns = INT64_MIN,
                   .end_ns = INT64_MAX};
    win_merged *m = win_merge(st, &q, err, sizeof err);
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

static win_store *build_store(const tmpl *tp, int services, int64_t now_ns, double *build_s)
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
    int64_t t_start = now_ns - (int64_t)HOUR_S * SEC;
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
        for (int minute = 0; minute < HOUR_S / 60; minute++) {
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

static void print_stat(const char *key, stat_ns s, bool comma)
{
    printf(
        "    \"%s\": {\"median_ms\": %.3f, \"p90_ms\": %.3f, \"min_ms\": %.3f, \"runs\": %d}%s\n",
        key, s.median_ms, s.p90_ms, s.min_ms, s.runs, comma ? "," : "");
}

static int export_service(win_store *st, const char *selector, const char *path, size_t *bytes)
{
    char err[256];
    win_selector *sel = win_selector_parse(selector, err, sizeof err);
    win_query q = {.profile_type = "cpu:nanoseconds",
                   .selector = sel,
                   .start_ns = INT64_MIN,
                   .end_ns = INT64_MAX,
                   .keep_labels = true};
    win_merged *m = sel ? win_merge(st, &q, err, sizeof err) : NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = -1;
    if (m && q_export_pprof(m, &out, &len, err, sizeof err) == 0) {
        FILE *f = fopen(path, "wb");
        if (f && fwrite(out, 1, len, f) == len) {
            rc = 0;
        }
        if (f && fclose(f) != 0) {
            rc = -1;
        }
        *bytes = len;
    } else {
        fprintf(stderr, "export %s: %s\n", selector, err);
    }
    free(out);
    win_merged_free(m);
    win_selector_free(sel);
    return rc;
}

int main(int argc, char **argv)
{
    const char *td = getenv("OTELPROFD_TESTDATA");
    char def[4096];
    snprintf(def, sizeof def, "%s/otlp/cpu.pb", td ? td : "../shared/testdata");
    const char *cpu_pb = argc > 1 ? argv[1] : def;
    const char *otelprofd_bin = argc > 2 ? argv[2] : NULL;
    int services = getenv("BENCH_SERVICES") ? atoi(getenv("BENCH_SERVICES")) : 50;
    int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : DEFAULT_REPS;
    if (services < 1 || services > MAX_SERVICES || reps < MIN_REPS || reps > 1000) {
        die("BENCH_SERVICES must be 1..1000 and BENCH_REPS 11..1000");
    }

    tmpl tp;
    memset(&tp, 0, sizeof tp);
    load_template(cpu_pb, &tp);
    fprintf(stderr, "template: %u frames, %u distinct stacks (compress/flate cpu)\n", tp.n_frames,
            tp.n_stacks);

    int64_t now_ns = base_now_unix_ns();
    double build_s = 0;
    win_store *st = build_store(&tp, services, now_ns, &build_s);
    win_stats ws;
    win_store_stats(st, &ws);
    fprintf(stderr,
            "store: %d services x 1 h x %d Hz: %" PRIu64 " series, %" PRIu64 " buckets, %" PRIu64
            " entries, %" PRIu64 " nodes, %.1f MiB, built in %.1f s\n",
            services, RATE_HZ, ws.series, ws.buckets, ws.entries, ws.nodes,
            (double)ws.memory_used / (1 << 20), build_s);
    if (ws.evicted_buckets || ws.expired_buckets) {
        die("buckets were evicted or expired: the store does not hold the whole hour");
    }

    tools_config tc = {.store = st, .receiver = NULL, .http_base_url = NULL, .version = "bench"};
    tools *t = tools_new(&tc);
    if (!t) {
        die("tools_new failed");
    }

    /* ours (a): in process */
    int one = services / 2;
    char one_table[128], one_prefix[32];
    snprintf(one_table, sizeof one_table,
             "{\"profile_type\":\"cpu:nanoseconds\",\"service_name\":\"svc%02d\"}", one);
    snprintf(one_prefix, sizeof one_prefix, "svc%02d/compress/flate.", one);
    const char *all_table = "{\"profile_type\":\"cpu:nanoseconds\"}";
    const char *one_flame = one_table;
    const char *all_flame = "{\"profile_type\":\"cpu:nanoseconds\"}";
    size_t tl = 0, fl = 0;
    stat_ns a_t1 = time_call_text(t, "query_profile_table", one_table, reps, &tl, one_prefix);
    stat_ns a_f1 = time_call_text(t, "query_profile_flamegraph", one_flame, reps, &fl, one_prefix);
    stat_ns a_ta = time_call_text(t, "query_profile_table", all_table, reps, &tl, "svc");
    stat_ns a_fa = time_call_text(t, "query_profile_flamegraph", all_flame, reps, &fl, "svc");
    fprintf(
        stderr,
        "in process: table 1 svc %.2f ms, all %.2f ms; flame graph 1 svc %.2f ms, all %.2f ms\n",
        a_t1.median_ms, a_ta.median_ms, a_f1.median_ms, a_fa.median_ms);

    /* the merge alone, for the breakdown */
    int64_t *mt = calloc((size_t)reps, sizeof *mt);
    if (!mt) {
        die("out of memory");
    }
    uint64_t entries_all = 0;
    for (int i = -1; i < reps; i++) {
        char err[256];
        win_query q = {
            .profile_type = "cpu:nanoseconds", .start_ns = INT64_MIN, .end_ns = INT64_MAX};
        int64_t a = base_now_mono_ns();
        win_merged *m = win_merge(st, &q, err, sizeof err);
        int64_t b = base_now_mono_ns();
        if (!m) {
            die("win_merge failed");
        }
        entries_all = m->n_entries;
        win_merged_free(m);
        if (i >= 0) {
            mt[i] = b - a;
        }
    }
    stat_ns merge_all = summarize(mt, reps);
    free(mt);

    /* ours (b): over MCP Streamable HTTP; (c): the otelprofd query command */
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
        if (!cl) {
            fprintf(stderr, "MCP over HTTP not measured: %s\n", err);
        }
    }
    bool have_b = cl != NULL;
    stat_ns b_t1 = {0}, b_f1 = {0}, b_ta = {0}, b_fa = {0};
    if (have_b) {
        b_t1 = time_mcp_http(cl, "query_profile_table", one_table, reps);
        b_f1 = time_mcp_http(cl, "query_profile_flamegraph", one_flame, reps);
        b_ta = time_mcp_http(cl, "query_profile_table", all_table, reps);
        b_fa = time_mcp_http(cl, "query_profile_flamegraph", all_flame, reps);
        fprintf(
            stderr,
            "MCP HTTP: table 1 svc %.2f ms, all %.2f ms; flame graph 1 svc %.2f ms, all %.2f ms\n",
            b_t1.median_ms, b_ta.median_ms, b_f1.median_ms, b_fa.median_ms);
    }
    bool have_c = have_b && otelprofd_bin && access(otelprofd_bin, X_OK) == 0;
    stat_ns c_t1 = {0}, c_ta = {0};
    if (have_c) {
        char *q1[] = {(char *)otelprofd_bin,
                      "query",
                      "query_profile_table",
                      (char *)one_table,
                      "--connect",
                      url,
                      NULL};
        char *qa[] = {(char *)otelprofd_bin,
                      "query",
                      "query_profile_table",
                      (char *)all_table,
                      "--connect",
                      url,
                      NULL};
        c_t1 = time_process(q1, reps);
        c_ta = time_process(qa, reps);
        fprintf(stderr, "otelprofd query (process): table 1 svc %.2f ms, all %.2f ms\n",
                c_t1.median_ms, c_ta.median_ms);
    }

    /* the peer: one pprof per service */
    char dir[] = "/tmp/otelprofd-bench-pprof.XXXXXX";
    if (!mkdtemp(dir)) {
        die("mkdtemp failed");
    }
    char **files = calloc((size_t)services, sizeof *files);
    size_t pprof_bytes = 0;
    for (int s = 0; s < services; s++) {
        char sel[64];
        snprintf(sel, sizeof sel, "{service.name=\"svc%02d\"}", s);
        files[s] = malloc(strlen(dir) + 32);
        if (!files[s]) {
            die("out of memory");
        }
        sprintf(files[s], "%s/svc%02d.pb.gz", dir, s);
        size_t b = 0;
        if (export_service(st, sel, files[s], &b) != 0) {
            die("pprof export failed");
        }
        pprof_bytes += b;
    }
    char tooldir[4096] = "";
    FILE *p = popen("go env GOTOOLDIR 2>/dev/null", "r");
    if (p) {
        if (fgets(tooldir, sizeof tooldir, p)) {
            tooldir[strcspn(tooldir, "\n")] = 0;
        }
        pclose(p);
    }
    char pprof_bin[4200];
    snprintf(pprof_bin, sizeof pprof_bin, "%s/pprof", tooldir);
    bool have_pprof = tooldir[0] && access(pprof_bin, X_OK) == 0;
    stat_ns p_1 = {0}, p_all = {0}, g_1 = {0}, g_all = {0};
    if (have_pprof) {
        char **av = calloc((size_t)services + 8, sizeof *av);
        char **gv = calloc((size_t)services + 8, sizeof *gv);
        if (!av || !gv) {
            die("out of memory");
        }
        av[0] = pprof_bin;
        av[1] = "-top";
        av[2] = files[one];
        av[3] = NULL;
        p_1 = time_process(av, reps);
        for (int s = 0; s < services; s++) {
            av[2 + s] = files[s];
        }
        av[2 + services] = NULL;
        p_all = time_process(av, reps);
        gv[0] = "go";
        gv[1] = "tool";
        gv[2] = "pprof";
        gv[3] = "-top";
        gv[4] = files[one];
        gv[5] = NULL;
        g_1 = time_process(gv, reps);
        for (int s = 0; s < services; s++) {
            gv[4 + s] = files[s];
        }
        gv[4 + services] = NULL;
        g_all = time_process(gv, reps);
        fprintf(stderr,
                "pprof -top: 1 svc %.2f ms, all %.2f ms; go tool pprof -top: 1 svc %.2f ms, all "
                "%.2f ms\n",
                p_1.median_ms, p_all.median_ms, g_1.median_ms, g_all.median_ms);
        free(av);
        free(gv);
    } else {
        fprintf(stderr, "go tool pprof not found: the peer is not measured\n");
    }

    printf(
        "{\n  \"store\": {\"services\": %d, \"hours\": 1, \"rate_hz\": %d, \"observations\": %lld,"
        " \"series\": %" PRIu64 ", \"buckets\": %" PRIu64 ", \"entries\": %" PRIu64
        ", \"nodes\": %" PRIu64 ", \"frames\": %" PRIu64 ", \"memory_used\": %" PRIu64
        ", \"build_s\": %.2f, \"template_stacks\": %u, \"entries_merged_all\": %" PRIu64 "},\n",
        services, RATE_HZ, (long long)services * HOUR_S * RATE_HZ, ws.series, ws.buckets,
        ws.entries, ws.nodes, ws.frames, ws.memory_used, build_s, tp.n_stacks, entries_all);
    printf("  \"in_process\": {\n");
    print_stat("table_one_service", a_t1, true);
    print_stat("table_all_services", a_ta, true);
    print_stat("flamegraph_one_service", a_f1, true);
    print_stat("flamegraph_all_services", a_fa, true);
    print_stat("merge_all_services", merge_all, false);
    printf("  },\n");
    if (have_b) {
        printf("  \"mcp_http\": {\n");
        print_stat("table_one_service", b_t1, true);
        print_stat("table_all_services", b_ta, true);
        print_stat("flamegraph_one_service", b_f1, true);
        print_stat("flamegraph_all_services", b_fa, false);
        printf("  },\n");
    } else {
        printf("  \"mcp_http\": null,\n");
    }
    if (have_c) {
        printf("  \"otelprofd_query_process\": {\n");
        print_stat("table_one_service", c_t1, true);
        print_stat("table_all_services", c_ta, false);
        printf("  },\n");
    } else {
        printf("  \"otelprofd_query_process\": null,\n");
    }
    if (have_pprof) {
        printf("  \"pprof\": {\"files\": %d, \"bytes\": %zu,\n", services, pprof_bytes);
        print_stat("pprof_top_one_service", p_1, true);
        print_stat("pprof_top_all_services", p_all, true);
        print_stat("go_tool_pprof_top_one_service", g_1, true);
        print_stat("go_tool_pprof_top_all_services", g_all, false);
        printf("  },\n");
    } else {
        printf("  \"pprof\": null,\n");
    }
    printf("  \"ratios\": {\n");
    if (have_pprof) {
        printf("    \"pprof_top_one_over_in_process_table_one\": %.1f,\n",
               p_1.median_ms / a_t1.median_ms);
        printf("    \"pprof_top_all_over_in_process_table_all\": %.1f,\n",
               p_all.median_ms / a_ta.median_ms);
        if (have_b) {
            printf("    \"pprof_top_one_over_mcp_http_table_one\": %.1f,\n",
                   p_1.median_ms / b_t1.median_ms);
            printf("    \"pprof_top_all_over_mcp_http_table_all\": %.1f,\n",
                   p_all.median_ms / b_ta.median_ms);
        }
        if (have_c) {
            printf("    \"pprof_top_one_over_otelprofd_query_one\": %.1f,\n",
                   p_1.median_ms / c_t1.median_ms);
            printf("    \"go_tool_pprof_top_one_over_otelprofd_query_one\": %.1f,\n",
                   g_1.median_ms / c_t1.median_ms);
        }
        printf("    \"go_tool_pprof_top_one_over_in_process_table_one\": %.1f,\n",
               g_1.median_ms / a_t1.median_ms);
    }
    printf("    \"flamegraph_all_services_in_process_median_ms\": %.3f\n  }\n}\n", a_fa.median_ms);

    for (int s = 0; s < services; s++) {
        unlink(files[s]);
        free(files[s]);
    }
    free(files);
    rmdir(dir);
    if (cl) {
        mcp_client_close(cl);
    }
    if (http) {
        mcp_http_stop(http);
    }
    mcp_server_free(srv);
    tools_free(t);
    win_store_free(st);
    for (uint32_t i = 0; i < tp.n_frames; i++) {
        free(tp.functions[i]);
        free(tp.files[i]);
    }
    for (uint32_t k = 0; k < tp.n_stacks; k++) {
        free(tp.stacks[k]);
    }
    free(tp.functions);
    free(tp.files);
    free(tp.lines);
    free(tp.stacks);
    free(tp.depths);
    free(tp.cumw);
    return 0;
}
