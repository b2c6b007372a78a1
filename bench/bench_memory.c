/* bench/bench_memory.c — resident and accounted memory of the window store after synthetic
 * but realistic traffic, fed through the real ingest path.
 *
 * Traffic: every 10 s each service sends one OTLP ExportProfilesServiceRequest (protobuf
 * bytes packed here, then tr_decode_protobuf + tr_ingest as the receiver does): one
 * resource (service.name, host.name, process.pid), one cpu:nanoseconds profile whose
 * samples carry timestamps (one per observation, 100 Hz) and a thread.name attribute, and a
 * dictionary holding only what the request uses. The stacks of a service:
 *   - leaf end: a real stack of the compress/flate and encoding/json CPU and heap profiles
 *     (testdata cpu.pb, mem.pb; 3,181 distinct), so library code looks like library code;
 *   - root end: one of 48 request handlers, each a fixed walk of 8..79 frames down a
 *     synthetic call graph of 3,000 functions from its thread's entry function (callee 0
 *     taken 3 times in 4, so handlers share their first frames); mean depth ~55;
 *   - each service is its own binary (mapping /usr/bin/svcNN): no frame is shared across
 *     services, the worst case for interning;
 *   - a population of 600 (handler, leaf) stacks at start, handler and leaf drawn with
 *     density ~1/x (a few hot ones, a long tail); each draw is a brand-new stack with
 *     probability 1.2 %, i.e. ~12 new stacks per interval, a few % of the ~350 distinct
 *     stacks an interval holds;
 *   - thread.name: "main", "gc" or one of 4..8 "worker-N" (a handler belongs to one thread
 *     group; a worker stack runs on a random worker), so entries are (stack, thread) pairs.
 * Every service has its own random stream, so a run with N services holds exactly the
 * first N services of a bigger run, and a run with K timestamps per draw holds the same
 * distinct data as K = 1.
 *
 * Measured per run, in a child process that only reads requests from a pipe and ingests
 * them (so its heap holds the store and nothing of the generator): resident bytes = VmRSS
 * with the store minus VmRSS before it, both after malloc_trim(0); accounted bytes
 * (win_store_stats) and where they go, by walking the store's tables (window_internal.h,
 * read only: a benchmark's view, not an API).
 *
 * Usage: bench_memory [TESTDATA_DIR]   (default $OTELPROFD_TESTDATA). Env: BENCH_QUICK=1
 * (10 services, 15 min). Prints progress on stderr and one JSON object on stdout.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "translate/translate.h"
#include "util.h"
#include "window/window.h"
#include "window/window_internal.h"

#define T0_NS        1700000000000000000LL
#define SEC          1000000000LL
#define INTERVAL_S   10
#define RATE_HZ      100
#define PERIOD_NS    (SEC / RATE_HZ)
#define MAX_SERVICES 100
#define MAX_DEPTH    160
#define N_FUNCS      3000
#define INITIAL_POP  600
#define N_HANDLERS   48
#define REAL_SET     (1u << 16)
#define NEW_PER_MIL  12 /* new stacks per 1,000 draws */
#define ARENA_BLOCK  (1u << 20)
#define ARENA_CAP    (256u << 20)

typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary pb_dict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles pb_rp;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles pb_sp;
typedef Opentelemetry__Proto__Profiles__V1development__Profile pb_profile;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType pb_vt;
typedef Opentelemetry__Proto__Profiles__V1development__Sample pb_sample;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping pb_mapping;
typedef Opentelemetry__Proto__Profiles__V1development__Location pb_loc;
typedef Opentelemetry__Proto__Profiles__V1development__Line pb_line;
typedef Opentelemetry__Proto__Profiles__V1development__Function pb_func;
typedef Opentelemetry__Proto__Profiles__V1development__Stack pb_stack;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit pb_kvu;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;

static void die(const char *what)
{
    fprintf(stderr, "bench_memory: %s\n", what);
    exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        die("size overflow");
    size_t bytes = n * size;
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        die("out of memory");
    return q;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t rng_next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL; /* splitmix64: one independent stream per service */
    return mix64(*s);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

static uint64_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (!f || fscanf(f, "%lu %lu", &size, &res) != 2)
        die("cannot read /proc/self/statm");
    fclose(f);
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t trimmed_resident(void)
{
    malloc_trim(0);
    return resident_bytes();
}

/* ---- global string pool and frame table (what the generator knows) ------------------ */

typedef struct pool {
    char **s;
    uint32_t n, cap;
    uint32_t *slots; /* open addressing, string ids + 1 */
    uint32_t slot_cap;
} pool;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static uint32_t pool_intern(pool *p, const char *s)
{
    if ((uint64_t)(p->n + 1) * 2 > p->slot_cap) {
        uint32_t nc = p->slot_cap ? p->slot_cap * 2 : 4096;
        uint32_t *ns = xcalloc(nc, sizeof *ns);
        for (uint32_t i = 0; i < p->n; i++) {
            uint32_t j = (uint32_t)hash_str(p->s[i]) & (nc - 1);
            while (ns[j])
                j = (j + 1) & (nc - 1);
            ns[j] = i + 1;
        }
        free(p->slots);
        p->slots = ns;
        p->slot_cap = nc;
    }
    uint32_t j = (uint32_t)hash_str(s) & (p->slot_cap - 1);
    while (p->slots[j]) {
        if (strcmp(p->s[p->slots[j] - 1], s) == 0)
            return p->slots[j] - 1;
        j = (j + 1) & (p->slot_cap - 1);
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 1024;
        p->s = xrealloc(p->s, p->cap, sizeof *p->s);
    }
    p->s[p->n] = strdup(s);
    if (!p->s[p->n])
        die("out of memory");
    p->slots[j] = p->n + 1;
    return p->n++;
}

typedef struct gframe {
    uint32_t name, file; /* pool ids */
    int64_t line;
} gframe;

typedef struct frames {
    gframe *f;
    uint32_t n, cap;
    uint32_t *slots; /* (name, file, line) -> id + 1 */
    uint32_t slot_cap;
} frames;

static uint64_t hash_frame(const gframe *g)
{
    return mix64(((uint64_t)g->name << 32 | g->file) ^ mix64((uint64_t)g->line));
}

static uint32_t frame_intern(frames *t, uint32_t name, uint32_t file, int64_t line)
{
    gframe g = {name, file, line};
    if ((uint64_t)(t->n + 1) * 2 > t->slot_cap) {
        uint32_t nc = t->slot_cap ? t->slot_cap * 2 : 4096;
        uint32_t *ns = xcalloc(nc, sizeof *ns);
        for (uint32_t i = 0; i < t->n; i++) {
            uint32_t j = (uint32_t)hash_frame(&t->f[i]) & (nc - 1);
            while (ns[j])
                j = (j + 1) & (nc - 1);
            ns[j] = i + 1;
        }
        free(t->slots);
        t->slots = ns;
        t->slot_cap = nc;
    }
    uint32_t j = (uint32_t)hash_frame(&g) & (t->slot_cap - 1);
    while (t->slots[j]) {
        const gframe *o = &t->f[t->slots[j] - 1];
        if (o->name == name && o->file == file && o->line == line)
            return t->slots[j] - 1;
        j = (j + 1) & (t->slot_cap - 1);
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4096;
        t->f = xrealloc(t->f, t->cap, sizeof *t->f);
    }
    t->f[t->n] = g;
    t->slots[j] = t->n + 1;
    return t->n++;
}

typedef struct gstack {
    uint32_t *f; /* frame ids, leaf first */
    uint32_t depth;
} gstack;

typedef struct world {
    pool str;
    frames fr;
    gstack *real; /* real leaf-end stacks from cpu.pb / mem.pb */
    uint32_t n_real, real_cap;
    uint64_t real_set[REAL_SET];                     /* hashes of the real stacks kept */
    uint32_t func_name[N_FUNCS], func_file[N_FUNCS]; /* the synthetic call graph */
    uint32_t roots[3];                               /* thread entry functions */
} world;

/* ---- real stacks from the testdata ------------------------------------------------ */

/* The heap profiles repeat one stack set per sample type: keep each stack once. */
static bool real_first_seen(world *w, const uint32_t *f, uint32_t d)
{
    uint64_t h = 0x243f6a8885a308d3ULL;
    for (uint32_t i = 0; i < d; i++)
        h = mix64(h ^ f[i]);
    h |= 1;
    uint32_t j = (uint32_t)h & (REAL_SET - 1);
    while (w->real_set[j]) {
        if (w->real_set[j] == h)
            return false;
        j = (j + 1) & (REAL_SET - 1);
    }
    if (w->n_real + 1 >= REAL_SET / 2)
        return false;
    w->real_set[j] = h;
    return true;
}

typedef struct types_acc {
    char *t[16];
    int n;
} types_acc;

static void collect_type(const char *type, void *ctx)
{
    types_acc *a = ctx;
    if (a->n < 16)
        a->t[a->n++] = strdup(type);
}

static void load_real(world *w, const char *path)
{
    size_t len = 0;
    uint8_t *buf = bench_read_file(path, &len);
    if (!buf)
        die("cannot read a testdata profile");
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    base_arena arena;
    base_arena_init(&arena, ARENA_BLOCK, ARENA_CAP);
    tr_request *req = NULL;
    char err[512];
    tr_result res;
    memset(&res, 0, sizeof res);
    if (!st || tr_decode_protobuf(buf, len, &arena, &req, err, sizeof err) != BASE_OK ||
        tr_ingest(st, req, buf, len, T0_NS + 30 * 60 * SEC, &arena, &res) != BASE_OK)
        die("cannot ingest a testdata profile");
    types_acc ta = {0};
    win_store_each_profile_type(st, collect_type, &ta);
    for (int k = 0; k < ta.n; k++) {
        win_query q = {.profile_type = ta.t[k], .start_ns = INT64_MIN, .end_ns = INT64_MAX};
        win_merged *m = win_merge(st, &q, NULL);
        if (!m)
            die("cannot merge a testdata profile");
        uint32_t *fid = xcalloc(m->n_frames, sizeof *fid);
        for (uint32_t i = 0; i < m->n_frames; i++) {
            const win_frame *f = &m->frames[i];
            char addr[32];
            snprintf(addr, sizeof addr, "0x%" PRIx64, f->address);
            fid[i] = frame_intern(&w->fr, pool_intern(&w->str, f->function[0] ? f->function : addr),
                                  pool_intern(&w->str, f->file), f->line);
        }
        for (uint32_t i = 1; i < m->n_nodes; i++) {
            if (m->nodes[i].self == 0)
                continue;
            uint32_t d = 0, tmp[MAX_DEPTH];
            for (int32_t n = (int32_t)i; n > 0 && d < MAX_DEPTH; n = m->nodes[n].parent)
                tmp[d++] = fid[m->nodes[n].frame];
            if (d == 0 || d > 100 || !real_first_seen(w, tmp, d))
                continue;
            if (w->n_real == w->real_cap) {
                w->real_cap = w->real_cap ? w->real_cap * 2 : 1024;
                w->real = xrealloc(w->real, w->real_cap, sizeof *w->real);
            }
            gstack *g = &w->real[w->n_real++];
            g->f = xcalloc(d, sizeof *g->f);
            memcpy(g->f, tmp, d * sizeof *tmp);
            g->depth = d;
        }
        free(fid);
        win_merged_free(m);
        free(ta.t[k]);
    }
    base_arena_free(&arena);
    win_store_free(st);
    free(buf);
}

static void build_world(world *w, const char *testdata)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/otlp/cpu.pb", testdata);
    load_real(w, path);
    snprintf(path, sizeof path, "%s/otlp/mem.pb", testdata);
    load_real(w, path);
    if (w->n_real == 0)
        die("no real stacks in the testdata");
    static const char *const verbs[] = {"Handle", "Serve",  "Process", "Get",  "Put",
                                        "Encode", "Decode", "Run",     "Load", "Store"};
    for (uint32_t i = 0; i < N_FUNCS; i++) {
        char name[160], file[128];
        uint32_t pkg = i / 25, type = (i / 5) % 40;
        snprintf(name, sizeof name, "example.com/app/internal/pkg%u.(*Type%u).%s%u", pkg, type,
                 verbs[i % 10], i % 7);
        snprintf(file, sizeof file, "example.com/app/internal/pkg%u/type%u.go", pkg, type);
        w->func_name[i] = pool_intern(&w->str, name);
        w->func_file[i] = pool_intern(&w->str, file);
    }
    w->roots[0] = 0;   /* main */
    w->roots[1] = 100; /* workers */
    w->roots[2] = 200; /* gc */
}

static void world_free(world *w)
{
    for (uint32_t i = 0; i < w->str.n; i++)
        free(w->str.s[i]);
    free(w->str.s);
    free(w->str.slots);
    free(w->fr.f);
    free(w->fr.slots);
    for (uint32_t i = 0; i < w->n_real; i++)
        free(w->real[i].f);
    free(w->real);
    free(w);
}

/* ---- a service: population of stacks, threads, its random stream ------------------ */

typedef struct pstack {
    uint32_t *f;
    uint32_t depth;
    uint8_t group; /* 0 main, 1 worker, 2 gc */
    bool seen;
    uint32_t last; /* last interval drawn + 1; 0 = never */
} pstack;

typedef struct service {
    uint64_t rng;
    pstack *pop;
    uint32_t n_pop, pop_cap;
    uint32_t workers;
    uint64_t seen;
    uint32_t *handler_path[N_HANDLERS]; /* frame ids, root first */
    uint32_t handler_len[N_HANDLERS];
    uint8_t handler_group[N_HANDLERS];
    char name[16], host[16], pid[16], mapping[32];
} service;

/* Function f calls callee k (k = 0 most often): fixed by (f, k), as in a real program. */
static uint32_t callee(uint32_t f, uint32_t k)
{
    return (uint32_t)(mix64((uint64_t)f * 131 + k + 7) % N_FUNCS);
}

static uint32_t zipf(uint64_t *rng, uint32_t n)
{
    /* density ~ 1/x over [0, n): a few hot items, a long tail */
    double x = exp(rng_unit(rng) * log((double)n + 1.0)) - 1.0;
    uint32_t k = (uint32_t)x;
    return k < n ? k : n - 1;
}

static void new_stack(world *w, service *s)
{
    if (s->n_pop == s->pop_cap) {
        s->pop_cap = s->pop_cap ? s->pop_cap * 2 : 1024;
        s->pop = xrealloc(s->pop, s->pop_cap, sizeof *s->pop);
    }
    pstack *p = &s->pop[s->n_pop++];
    uint32_t h = zipf(&s->rng, N_HANDLERS);
    const gstack *leaf = &w->real[zipf(&s->rng, w->n_real)];
    p->group = s->handler_group[h];
    p->seen = false;
    p->last = 0;
    uint32_t walk = s->handler_len[h];
    p->depth = leaf->depth + walk;
    p->f = xcalloc(p->depth, sizeof *p->f);
    memcpy(p->f, leaf->f, leaf->depth * sizeof *p->f);
    for (uint32_t i = 0; i < walk; i++)
        p->f[p->depth - 1 - i] = s->handler_path[h][i];
}

static void service_init(world *w, service *s, int idx)
{
    memset(s, 0, sizeof *s);
    s->rng = mix64(0x5eed0000ULL + (uint64_t)idx);
    s->workers = 4 + (uint32_t)idx % 5;
    snprintf(s->name, sizeof s->name, "svc%02d", idx);
    snprintf(s->host, sizeof s->host, "node-%d", idx % 5);
    snprintf(s->pid, sizeof s->pid, "%d", 1000 + idx);
    snprintf(s->mapping, sizeof s->mapping, "/usr/bin/svc%02d", idx);
    /* handlers: walks down the call graph from a thread's entry function; callee 0 is
     * taken 3 times in 4, so the handlers of a thread share their first frames */
    for (uint32_t h = 0; h < N_HANDLERS; h++) {
        uint8_t group = h % 10 == 0 ? 0 : h % 10 == 1 ? 2 : 1;
        uint32_t len = 8 + (uint32_t)(rng_next(&s->rng) % 72);
        s->handler_group[h] = group;
        s->handler_len[h] = len;
        s->handler_path[h] = xcalloc(len, sizeof(uint32_t));
        uint32_t fn = w->roots[group];
        for (uint32_t i = 0; i < len; i++) {
            uint32_t k = rng_next(&s->rng) % 4 == 0 ? 1 + (uint32_t)(rng_next(&s->rng) % 3) : 0;
            int64_t line = 20 + (int64_t)(mix64(fn) % 400) + 3 * (int64_t)k;
            s->handler_path[h][i] = frame_intern(&w->fr, w->func_name[fn], w->func_file[fn], line);
            fn = callee(fn, k);
        }
    }
    for (int i = 0; i < INITIAL_POP; i++)
        new_stack(w, s);
}

static void service_free(service *s)
{
    for (uint32_t h = 0; h < N_HANDLERS; h++)
        free(s->handler_path[h]);
    for (uint32_t i = 0; i < s->n_pop; i++)
        free(s->pop[i].f);
    free(s->pop);
}

/* ---- one request ------------------------------------------------------------------ */

/* Per-request index maps (global id -> request index + 1), reset by walking what was set. */
typedef struct remap {
    uint32_t *m;
    uint32_t cap;
    uint32_t *used;
    uint32_t n_used, used_cap;
} remap;

static uint32_t remap_get(remap *r, uint32_t id, uint32_t *next, bool *fresh)
{
    if (id >= r->cap) {
        uint32_t nc = r->cap ? r->cap : 4096;
        while (nc <= id)
            nc *= 2;
        r->m = xrealloc(r->m, nc, sizeof *r->m);
        memset(r->m + r->cap, 0, (size_t)(nc - r->cap) * sizeof *r->m);
        r->cap = nc;
    }
    *fresh = r->m[id] == 0;
    if (*fresh) {
        if (r->n_used == r->used_cap) {
            r->used_cap = r->used_cap ? r->used_cap * 2 : 4096;
            r->used = xrealloc(r->used, r->used_cap, sizeof *r->used);
        }
        r->used[r->n_used++] = id;
        r->m[id] = ++*next;
    }
    return r->m[id];
}

static void remap_clear(remap *r)
{
    for (uint32_t i = 0; i < r->n_used; i++)
        r->m[r->used[i]] = 0;
    r->n_used = 0;
}

typedef struct draw {
    uint32_t stack; /* population index */
    uint32_t thread;
    int64_t t;
} draw;

static int cmp_draw(const void *a, const void *b)
{
    const draw *x = a, *y = b;
    if (x->stack != y->stack)
        return x->stack < y->stack ? -1 : 1;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

typedef struct gen {
    remap strs, locs, stacks;
    draw *draws;
    uint32_t draws_cap;
} gen;

/* Packs the request of service `s` for [t0, t0 + 10 s), `copies` timestamps per draw. */
static uint8_t *make_request(world *w, service *s, gen *g, uint32_t interval, int64_t t0,
                             uint32_t copies, base_arena *a, size_t *out_len,
                             uint64_t *observations)
{
    uint32_t n_draws = INTERVAL_S * RATE_HZ;
    if (n_draws * copies > g->draws_cap) {
        g->draws_cap = n_draws * copies;
        g->draws = xrealloc(g->draws, g->draws_cap, sizeof *g->draws);
    }
    uint32_t nd = 0;
    for (uint32_t i = 0; i < n_draws; i++) {
        uint32_t k;
        if (rng_next(&s->rng) % 1000 < NEW_PER_MIL) {
            new_stack(w, s);
            k = s->n_pop - 1;
        } else {
            k = zipf(&s->rng, s->n_pop);
        }
        uint32_t th = s->pop[k].group == 1 ? 2 + (uint32_t)(rng_next(&s->rng) % s->workers)
                                           : (s->pop[k].group == 0 ? 0 : 1);
        int64_t t = t0 + (int64_t)i * PERIOD_NS + (int64_t)(rng_next(&s->rng) % PERIOD_NS);
        if (!s->pop[k].seen) {
            s->pop[k].seen = true;
            s->seen++;
        }
        s->pop[k].last = interval + 1;
        /* copies add timestamps only (same stack, same thread, same interval): they must
         * not add memory, and they must not consume the random stream */
        int64_t slot = t0 + (int64_t)i * PERIOD_NS, off = t - slot;
        for (uint32_t c = 0; c < copies; c++)
            g->draws[nd++] =
                (draw){k, th, slot + (off + (int64_t)c * (PERIOD_NS / copies)) % PERIOD_NS};
    }
    qsort(g->draws, nd, sizeof *g->draws, cmp_draw);
    *observations += nd;

    /* the dictionary: index 0 of every table is the zero entry */
    uint32_t n_str = 0, n_loc = 0, n_stk = 0;
    bool fresh;
    uint32_t cap_str = 64, cap_loc = 1024;
    char **strings = base_arena_calloc(a, cap_str, sizeof *strings);
    pb_loc **locs = base_arena_calloc(a, cap_loc, sizeof *locs);
    pb_func **funcs = base_arena_calloc(a, cap_loc, sizeof *funcs);
    pb_stack **stks = base_arena_calloc(a, nd + 1, sizeof *stks);
    pb_sample **samples = base_arena_calloc(a, nd, sizeof *samples);
    if (!strings || !locs || !funcs || !stks || !samples)
        die("arena full");
#define ADD_STR(text, out)                                                                         \
    do {                                                                                           \
        if (n_str + 1 >= cap_str) {                                                                \
            char **ns_ = base_arena_calloc(a, (size_t)cap_str * 2, sizeof *ns_);                   \
            if (!ns_)                                                                              \
                die("arena full");                                                                 \
            memcpy(ns_, strings, (size_t)cap_str * sizeof *ns_);                                   \
            strings = ns_;                                                                         \
            cap_str *= 2;                                                                          \
        }                                                                                          \
        strings[++n_str] = (char *)(text);                                                         \
        (out) = (int32_t)n_str;                                                                    \
    } while (0)
    strings[0] = "";
    int32_t s_cpu, s_ns, s_thread, s_map, s_svc, s_host, s_pid, s_svcv, s_hostv, s_pidv;
    ADD_STR("cpu", s_cpu);
    ADD_STR("nanoseconds", s_ns);
    ADD_STR("thread.name", s_thread);
    ADD_STR(s->mapping, s_map);
    ADD_STR("service.name", s_svc);
    ADD_STR("host.name", s_host);
    ADD_STR("process.pid", s_pid);
    ADD_STR(s->name, s_svcv);
    ADD_STR(s->host, s_hostv);
    ADD_STR(s->pid, s_pidv);

    /* threads: attribute_table[1 + thread] */
    uint32_t n_threads = 2 + s->workers;
    pb_kvu **attrs = base_arena_calloc(a, n_threads + 1, sizeof *attrs);
    if (!attrs)
        die("arena full");
    attrs[0] = base_arena_calloc(a, 1, sizeof **attrs);
    if (!attrs[0])
        die("arena full");
    *attrs[0] = (pb_kvu)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT;
    for (uint32_t i = 0; i < n_threads; i++) {
        pb_kvu *kv = base_arena_calloc(a, 1, sizeof *kv);
        pb_any *v = base_arena_calloc(a, 1, sizeof *v);
        if (!kv || !v)
            die("arena full");
        *kv = (pb_kvu)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT;
        *v = (pb_any)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = i == 0   ? "main"
                          : i == 1 ? "gc"
                                   : base_arena_printf(a, "worker-%u", i - 1);
        kv->key_strindex = s_thread;
        kv->value = v;
        attrs[1 + i] = kv;
    }

    locs[0] = base_arena_calloc(a, 1, sizeof **locs);
    funcs[0] = base_arena_calloc(a, 1, sizeof **funcs);
    stks[0] = base_arena_calloc(a, 1, sizeof **stks);
    if (!locs[0] || !funcs[0] || !stks[0])
        die("arena full");
    *locs[0] = (pb_loc)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
    *funcs[0] = (pb_func)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__FUNCTION__INIT;
    *stks[0] = (pb_stack)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__STACK__INIT;

    uint32_t n_samples = 0;
    for (uint32_t i = 0; i < nd;) {
        uint32_t j = i;
        while (j < nd && g->draws[j].stack == g->draws[i].stack &&
               g->draws[j].thread == g->draws[i].thread)
            j++;
        const pstack *ps = &s->pop[g->draws[i].stack];
        uint32_t si = remap_get(&g->stacks, g->draws[i].stack, &n_stk, &fresh);
        if (fresh) {
            pb_stack *st = base_arena_calloc(a, 1, sizeof *st);
            int32_t *li = base_arena_calloc(a, ps->depth, sizeof *li);
            if (!st || !li)
                die("arena full");
            *st = (pb_stack)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__STACK__INIT;
            for (uint32_t d = 0; d < ps->depth; d++) {
                uint32_t fid = ps->f[d];
                uint32_t l = remap_get(&g->locs, fid, &n_loc, &fresh);
                if (fresh) {
                    if (l + 1 >= cap_loc) {
                        pb_loc **nl = base_arena_calloc(a, (size_t)cap_loc * 2, sizeof *nl);
                        pb_func **nf = base_arena_calloc(a, (size_t)cap_loc * 2, sizeof *nf);
                        if (!nl || !nf)
                            die("arena full");
                        memcpy(nl, locs, (size_t)cap_loc * sizeof *nl);
                        memcpy(nf, funcs, (size_t)cap_loc * sizeof *nf);
                        locs = nl;
                        funcs = nf;
                        cap_loc *= 2;
                    }
                    const gframe *gf = &w->fr.f[fid];
                    pb_func *fn = base_arena_calloc(a, 1, sizeof *fn);
                    pb_loc *lo = base_arena_calloc(a, 1, sizeof *lo);
                    pb_line *ln = base_arena_calloc(a, 1, sizeof *ln);
                    pb_line **lns = base_arena_calloc(a, 1, sizeof *lns);
                    if (!fn || !lo || !ln || !lns)
                        die("arena full");
                    *fn = (pb_func)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__FUNCTION__INIT;
                    *lo = (pb_loc)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
                    *ln = (pb_line)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT;
                    uint32_t sn = remap_get(&g->strs, gf->name, &n_str, &fresh);
                    if (fresh) {
                        n_str--;
                        int32_t tmp;
                        ADD_STR(w->str.s[gf->name], tmp);
                        (void)tmp;
                    }
                    uint32_t sf = remap_get(&g->strs, gf->file, &n_str, &fresh);
                    if (fresh) {
                        n_str--;
                        int32_t tmp;
                        ADD_STR(w->str.s[gf->file], tmp);
                        (void)tmp;
                    }
                    fn->name_strindex = (int32_t)sn;
                    fn->filename_strindex = (int32_t)sf;
                    funcs[l] = fn;
                    ln->function_index = (int32_t)l;
                    ln->line = gf->line;
                    lns[0] = ln;
                    lo->mapping_index = 1;
                    lo->n_lines = 1;
                    lo->lines = lns;
                    locs[l] = lo;
                }
                li[d] = (int32_t)l;
            }
            st->n_location_indices = ps->depth;
            st->location_indices = li;
            stks[si] = st;
        }
        pb_sample *sm = base_arena_calloc(a, 1, sizeof *sm);
        int32_t *ai = base_arena_calloc(a, 1, sizeof *ai);
        int64_t *vals = base_arena_calloc(a, j - i, sizeof *vals);
        uint64_t *ts = base_arena_calloc(a, j - i, sizeof *ts);
        if (!sm || !ai || !vals || !ts)
            die("arena full");
        *sm = (pb_sample)OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__SAMPLE__INIT;
        for (uint32_t k = i; k < j; k++) {
            vals[k - i] = PERIOD_NS / (int64_t)copies;
            ts[k - i] = (uint64_t)g->draws[k].t;
        }
        ai[0] = (int32_t)(1 + g->draws[i].thread);
        sm->stack_index = (int32_t)si;
        sm->n_attribute_indices = 1;
        sm->attribute_indices = ai;
        sm->n_values = j - i;
        sm->values = vals;
        sm->n_timestamps_unix_nano = j - i;
        sm->timestamps_unix_nano = ts;
        samples[n_samples++] = sm;
        i = j;
    }
#undef ADD_STR
    remap_clear(&g->strs);
    remap_clear(&g->locs);
    remap_clear(&g->stacks);

    pb_mapping mz = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT;
    pb_mapping m1 = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT;
    m1.filename_strindex = s_map;
    m1.memory_limit = 1u << 30;
    pb_mapping *maps[] = {&mz, &m1};
    pb_dict dict = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT;
    dict.n_mapping_table = 2;
    dict.mapping_table = maps;
    dict.n_location_table = n_loc + 1;
    dict.location_table = locs;
    dict.n_function_table = n_loc + 1;
    dict.function_table = funcs;
    dict.n_string_table = n_str + 1;
    dict.string_table = strings;
    dict.n_attribute_table = n_threads + 1;
    dict.attribute_table = attrs;
    dict.n_stack_table = n_stk + 1;
    dict.stack_table = stks;

    pb_vt st_cpu = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__VALUE_TYPE__INIT;
    st_cpu.type_strindex = s_cpu;
    st_cpu.unit_strindex = s_ns;
    pb_vt pt_cpu = st_cpu;
    pb_profile prof = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILE__INIT;
    prof.sample_type = &st_cpu;
    prof.period_type = &pt_cpu;
    prof.period = PERIOD_NS;
    prof.time_unix_nano = (uint64_t)t0;
    prof.duration_nano = INTERVAL_S * SEC;
    prof.n_samples = n_samples;
    prof.samples = samples;
    pb_profile *profs[] = {&prof};
    pb_sp sp = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__SCOPE_PROFILES__INIT;
    sp.n_profiles = 1;
    sp.profiles = profs;
    pb_sp *sps[] = {&sp};
    pb_any av[3];
    pb_kv kv[3];
    pb_kv *kvs[3];
    const char *rv[3] = {s->name, s->host, s->pid};
    const char *rk[3] = {"service.name", "host.name", "process.pid"};
    for (int i = 0; i < 3; i++) {
        av[i] = (pb_any)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        av[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        av[i].string_value = (char *)rv[i];
        kv[i] = (pb_kv)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
        kv[i].key = (char *)rk[i];
        kv[i].value = &av[i];
        kvs[i] = &kv[i];
    }
    (void)s_svc;
    (void)s_host;
    (void)s_pid;
    (void)s_svcv;
    (void)s_hostv;
    (void)s_pidv;
    pb_resource resource = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    resource.n_attributes = 3;
    resource.attributes = kvs;
    pb_rp rp = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__RESOURCE_PROFILES__INIT;
    rp.resource = &resource;
    rp.n_scope_profiles = 1;
    rp.scope_profiles = sps;
    pb_rp *rps[] = {&rp};
    tr_request req =
        OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_SERVICE_REQUEST__INIT;
    req.n_resource_profiles = 1;
    req.resource_profiles = rps;
    req.dictionary = &dict;
    size_t len =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__get_packed_size(
            &req);
    uint8_t *out = base_arena_alloc(a, len ? len : 1);
    if (!out)
        die("arena full");
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__pack(
        &req, out);
    *out_len = len;
    return out;
}

/* ---- where the accounted bytes go (mirrors win__recount, read only) ------------------- */

typedef struct breakdown {
    uint64_t store;       /* the win_store struct */
    uint64_t strings;     /* string table, its index and free list, the string bytes */
    uint64_t frames;      /* frame table + index */
    uint64_t nodes;       /* node table + index + free list */
    uint64_t stack_index; /* whole-stack hash index */
    uint64_t labels;      /* sample-label sets: table + index + the sets */
    uint64_t rattrs;      /* resource-attribute sets */
    uint64_t series;      /* series structs, series vector and index */
    uint64_t bucket_vecs; /* per-series bucket vectors (win__bucket headers, by capacity) */
    uint64_t entries;     /* entry arrays, by capacity */
    uint64_t entry_slack; /* of which capacity beyond the entries held */
    uint64_t merge_index; /* merge indexes of recent buckets */
    uint64_t allocs;      /* live allocations (each costs WIN__ALLOC_OVERHEAD in the above) */
    uint64_t total;
} breakdown;

static uint64_t ab(const void *p, uint64_t bytes)
{
    return p ? bytes + WIN__ALLOC_OVERHEAD : 0;
}

static uint64_t table_bytes(const win__table *t)
{
    return ab(t->items, (uint64_t)t->cap * t->item_size) +
           ab(t->free_ids, (uint64_t)t->free_cap * 4) + ab(t->slots, (uint64_t)t->slot_cap * 4);
}

static uint64_t set_size(const win__set *s)
{
    return sizeof(win__set) + (uint64_t)s->n * 2 * sizeof(uint32_t);
}

/* Single-threaded here: nothing else touches the store while it is walked. */
static void store_breakdown(win_store *st, breakdown *b)
{
    memset(b, 0, sizeof *b);
    b->store = sizeof *st + WIN__ALLOC_OVERHEAD;
    b->strings = table_bytes(&st->strings);
    for (uint32_t id = 0; id < st->strings.n; id++) {
        const win__str *s = &win__strs(st)[id];
        b->strings += ab(s->s, (uint64_t)s->len + 1);
        b->allocs += s->s != NULL;
    }
    b->frames = table_bytes(&st->frames);
    b->nodes = table_bytes(&st->nodes);
    b->stack_index = ab(st->stack_slots, (uint64_t)st->stack_slot_cap * 4);
    b->labels = table_bytes(&st->labels);
    for (uint32_t id = 0; id < st->labels.n; id++) {
        const win__set *s = win__label_set(st, id);
        b->labels += s ? ab(s, set_size(s)) : 0;
        b->allocs += s != NULL;
    }
    b->rattrs = table_bytes(&st->rattrs);
    for (uint32_t id = 0; id < st->rattrs.n; id++) {
        const win__set *s = win__rattr_set(st, id);
        b->rattrs += s ? ab(s, set_size(s)) : 0;
        b->allocs += s != NULL;
    }
    b->series = ab(st->series, (uint64_t)st->series_cap * sizeof(win__series *)) +
                ab(st->series_slots, (uint64_t)st->series_slot_cap * 4);
    for (uint32_t i = 0; i < st->n_series; i++) {
        const win__series *s = st->series[i];
        b->series += ab(s, sizeof *s);
        b->bucket_vecs += ab(s->b, (uint64_t)s->bcap * sizeof(win__bucket));
        for (uint32_t k = 0; k < s->nb; k++) {
            const win__bucket *bk = &s->b[k];
            b->entries += ab(bk->e, (uint64_t)bk->cap * sizeof(win__entry));
            b->entry_slack += (uint64_t)(bk->cap - bk->n) * sizeof(win__entry);
            b->merge_index += ab(bk->idx, (uint64_t)bk->idx_cap * 4);
            b->allocs += (bk->e != NULL) + (bk->idx != NULL);
        }
    }
    b->total = b->store + b->strings + b->frames + b->nodes + b->stack_index + b->labels +
               b->rattrs + b->series + b->bucket_vecs + b->entries + b->merge_index;
}

/* ---- one run ---------------------------------------------------------------------- */

typedef struct run_result {
    int services, minutes, retention_min;
    uint32_t copies;
    uint64_t requests, request_bytes, observations;
    uint64_t stacks_seen, stacks_retained;
    win_stats ws;
    breakdown bd;
    uint64_t resident, resident_after_free;
    uint64_t heap_in_use, heap_free, mmapped;
    double ingest_s, mean_depth;
} run_result;

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0;
}

/* ---- the ingesting process ------------------------------------------------------- */

/* The store lives in a child process that only reads requests from a pipe and ingests
 * them: its heap holds the store and nothing of the generator, so its resident growth is
 * the store's. Large blocks (arena blocks, big tables) are mmapped, so a freed one leaves
 * no resident residue. */
typedef struct frame_hdr {
    uint64_t len; /* 0 = end of traffic */
    int64_t now_ns;
} frame_hdr;

typedef struct child_out {
    win_stats ws;
    breakdown bd;
    uint64_t resident, resident_after_free;
    uint64_t heap_in_use, heap_free, mmapped; /* mallinfo2 with the store */
    double ingest_s;
    int ok;
    char err[512];
} child_out;

#define CHILD_BUF (32u << 20)

static bool read_full(int fd, void *p, size_t n)
{
    unsigned char *b = p;
    while (n) {
        ssize_t k = read(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

static bool write_full(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

static void child_main(int in, int out, int retention_min)
{
    child_out o;
    memset(&o, 0, sizeof o);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    uint8_t *buf = malloc(CHILD_BUF);
    base_arena arena;
    base_arena_init(&arena, ARENA_BLOCK, ARENA_CAP);
    if (!buf || !base_arena_alloc(&arena, 64)) {
        snprintf(o.err, sizeof o.err, "out of memory");
        goto done;
    }
    memset(buf, 0, CHILD_BUF); /* resident before the baseline */
    base_arena_reset(&arena);
    uint64_t rss0 = trimmed_resident();
    win_config cfg;
    win_config_defaults(&cfg);
    cfg.retention_ns = (int64_t)retention_min * 60 * SEC;
    cfg.memory_limit = 16ULL << 30; /* measure the cost, not the eviction */
    win_store *st = win_store_new(&cfg);
    if (!st) {
        snprintf(o.err, sizeof o.err, "win_store_new failed");
        goto done;
    }
    int64_t busy = 0, last_now = 0;
    for (;;) {
        frame_hdr h;
        if (!read_full(in, &h, sizeof h)) {
            snprintf(o.err, sizeof o.err, "the generator went away");
            goto done;
        }
        if (h.len == 0) {
            last_now = h.now_ns;
            break;
        }
        if (h.len > CHILD_BUF || !read_full(in, buf, h.len)) {
            snprintf(o.err, sizeof o.err, "bad request frame (%" PRIu64 " bytes)", h.len);
            goto done;
        }
        int64_t a = base_now_mono_ns();
        tr_request *req = NULL;
        tr_result res;
        memset(&res, 0, sizeof res);
        if (tr_decode_protobuf(buf, h.len, &arena, &req, o.err, sizeof o.err) != BASE_OK)
            goto done;
        if (tr_ingest(st, req, buf, h.len, h.now_ns, &arena, &res) != BASE_OK ||
            res.profiles_rejected || res.samples_too_old || res.samples_too_new) {
            snprintf(o.err, sizeof o.err, "not stored whole: %.400s", res.error_message);
            goto done;
        }
        busy += base_now_mono_ns() - a;
        base_arena_reset(&arena);
    }
    win_store_expire(st, last_now);
    o.ingest_s = (double)busy / 1e9;
    win_store_stats(st, &o.ws);
    store_breakdown(st, &o.bd);
    uint64_t rss1 = trimmed_resident();
    o.resident = rss1 > rss0 ? rss1 - rss0 : 0;
    struct mallinfo2 mi = mallinfo2();
    o.heap_in_use = mi.uordblks;
    o.heap_free = mi.fordblks;
    o.mmapped = mi.hblkhd;
    win_store_free(st);
    uint64_t rss2 = trimmed_resident();
    o.resident_after_free = rss2 > rss0 ? rss2 - rss0 : 0;
    o.ok = 1;
done:
    (void)write_full(out, &o, sizeof o);
    _exit(0);
}

static void run(world *w, int services, int minutes, int retention_min, uint32_t copies,
                run_result *r)
{
    memset(r, 0, sizeof *r);
    r->services = services;
    r->minutes = minutes;
    r->retention_min = retention_min;
    r->copies = copies;
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0)
        die("pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        close(to_child[1]);
        close(from_child[0]);
        child_main(to_child[0], from_child[1], retention_min);
    }
    close(to_child[0]);
    close(from_child[1]);

    service *svc = xcalloc((size_t)services, sizeof *svc);
    for (int s = 0; s < services; s++)
        service_init(w, &svc[s], s);
    gen g;
    memset(&g, 0, sizeof g);
    base_arena gen_arena;
    base_arena_init(&gen_arena, ARENA_BLOCK, ARENA_CAP);
    uint32_t intervals = (uint32_t)minutes * 60 / INTERVAL_S;
    bool alive = true;
    uint64_t depth_sum = 0;
    for (uint32_t iv = 0; iv < intervals && alive; iv++) {
        int64_t t0 = T0_NS + (int64_t)iv * INTERVAL_S * SEC;
        for (int s = 0; s < services && alive; s++) {
            size_t len = 0;
            uint8_t *bytes =
                make_request(w, &svc[s], &g, iv, t0, copies, &gen_arena, &len, &r->observations);
            frame_hdr h = {len, t0 + INTERVAL_S * SEC};
            alive = write_full(to_child[1], &h, sizeof h) && write_full(to_child[1], bytes, len);
            r->requests++;
            r->request_bytes += len;
            base_arena_reset(&gen_arena);
        }
    }
    frame_hdr end = {0, T0_NS + (int64_t)intervals * INTERVAL_S * SEC};
    if (alive)
        (void)write_full(to_child[1], &end, sizeof end);
    close(to_child[1]);
    child_out o;
    memset(&o, 0, sizeof o);
    bool got = read_full(from_child[0], &o, sizeof o);
    close(from_child[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!got || !o.ok) {
        fprintf(stderr, "ingesting process: %s\n", got ? o.err : "no answer");
        die("the ingesting process failed");
    }
    r->ws = o.ws;
    r->bd = o.bd;
    r->resident = o.resident;
    r->resident_after_free = o.resident_after_free;
    r->heap_in_use = o.heap_in_use;
    r->heap_free = o.heap_free;
    r->mmapped = o.mmapped;
    r->ingest_s = o.ingest_s;
    if (r->bd.total != r->ws.memory_used)
        fprintf(stderr, "note: breakdown %" PRIu64 " B != accounted %" PRIu64 " B\n", r->bd.total,
                r->ws.memory_used);
    /* retained: drawn in an interval whose bucket is still held */
    uint32_t keep = (uint32_t)retention_min * 60 / INTERVAL_S;
    for (int s = 0; s < services; s++) {
        r->stacks_seen += svc[s].seen;
        for (uint32_t i = 0; i < svc[s].n_pop; i++) {
            uint32_t last = svc[s].pop[i].last;
            if (last && (keep >= intervals || last > intervals - keep)) {
                r->stacks_retained++;
                depth_sum += svc[s].pop[i].depth;
            }
        }
    }
    r->mean_depth = r->stacks_retained ? (double)depth_sum / (double)r->stacks_retained : 0;
    base_arena_free(&gen_arena);
    for (int s = 0; s < services; s++)
        service_free(&svc[s]);
    free(svc);
    free(g.draws);
    free(g.strs.m);
    free(g.strs.used);
    free(g.locs.m);
    free(g.locs.used);
    free(g.stacks.m);
    free(g.stacks.used);
    fprintf(stderr,
            "  %3d svc x %2d min (retention %2d min, x%u): %8" PRIu64 " stacks, %9" PRIu64
            " nodes, %9" PRIu64 " entries: accounted %7.1f MiB, resident %7.1f MiB; %.1f s\n",
            services, minutes, retention_min, copies, r->stacks_retained, r->ws.nodes,
            r->ws.entries, (double)r->ws.memory_used / 1048576.0, (double)r->resident / 1048576.0,
            r->ingest_s);
}

/* Per stack: the interned side (strings, frames, nodes, stack index, label sets, resource
 * sets) over retained unique stacks. Per entry: the bucket side (entry arrays by capacity,
 * merge indexes, bucket vectors, series) over bucket entries. Resident figures scale the
 * two sides by resident / accounted. */
static uint64_t interned_bytes(const breakdown *b)
{
    return b->store + b->strings + b->frames + b->nodes + b->stack_index + b->labels + b->rattrs;
}

static uint64_t bucket_bytes(const breakdown *b)
{
    return b->series + b->bucket_vecs + b->entries + b->merge_index;
}

static void print_run(const run_result *r, bool comma)
{
    const breakdown *b = &r->bd;
    double res_scale = ratio(r->resident, r->ws.memory_used);
    double per_stack = ratio(interned_bytes(b), r->stacks_retained);
    double per_entry = ratio(bucket_bytes(b), r->ws.entries);
    printf("    {\"services\": %d, \"minutes\": %d, \"retention_min\": %d, \"copies\": %u, "
           "\"requests\": %" PRIu64 ", \"request_bytes\": %" PRIu64 ", \"observations\": %" PRIu64
           ", \"ingest_s\": %.2f,\n",
           r->services, r->minutes, r->retention_min, r->copies, r->requests, r->request_bytes,
           r->observations, r->ingest_s);
    printf("     \"stacks_retained\": %" PRIu64 ", \"stacks_seen\": %" PRIu64
           ", \"series\": %" PRIu64 ", \"buckets\": %" PRIu64 ", \"entries\": %" PRIu64
           ", \"nodes\": %" PRIu64 ", \"frames\": %" PRIu64 ", \"strings\": %" PRIu64
           ", \"label_sets\": %" PRIu64 ", \"reclaimed_nodes\": %" PRIu64
           ", \"expired_buckets\": %" PRIu64 ",\n",
           r->stacks_retained, r->stacks_seen, r->ws.series, r->ws.buckets, r->ws.entries,
           r->ws.nodes, r->ws.frames, r->ws.strings, r->ws.label_sets, r->ws.reclaimed_nodes,
           r->ws.expired_buckets);
    printf("     \"accounted_bytes\": %" PRIu64 ", \"resident_bytes\": %" PRIu64
           ", \"resident_left_after_free\": %" PRIu64 ", \"resident_over_accounted\": %.3f, "
           "\"mean_depth\": %.1f,\n     \"malloc\": {\"heap_in_use\": %" PRIu64
           ", \"heap_free\": %" PRIu64 ", \"mmapped\": %" PRIu64 "},\n",
           r->ws.memory_used, r->resident, r->resident_after_free, res_scale, r->mean_depth,
           r->heap_in_use, r->heap_free, r->mmapped);
    printf("     \"breakdown\": {\"store\": %" PRIu64 ", \"strings\": %" PRIu64
           ", \"frames\": %" PRIu64 ", \"nodes\": %" PRIu64 ", \"stack_index\": %" PRIu64
           ", \"label_sets\": %" PRIu64 ", \"resource_sets\": %" PRIu64 ", \"series\": %" PRIu64
           ", \"bucket_vectors\": %" PRIu64 ", \"entry_arrays\": %" PRIu64
           ", \"entry_slack\": %" PRIu64 ", \"merge_indexes\": %" PRIu64
           ", \"allocations\": %" PRIu64 "},\n",
           b->store, b->strings, b->frames, b->nodes, b->stack_index, b->labels, b->rattrs,
           b->series, b->bucket_vecs, b->entries, b->entry_slack, b->merge_index, b->allocs);
    printf("     \"accounted_per_stack\": %.1f, \"accounted_per_entry\": %.2f, "
           "\"accounted_per_node\": %.2f, \"resident_per_stack\": %.1f, \"resident_per_entry\": "
           "%.2f, \"resident_all_in_per_stack\": %.1f, \"resident_all_in_per_entry\": %.2f, "
           "\"nodes_per_stack\": %.2f, \"entries_per_stack\": %.2f}%s\n",
           per_stack, per_entry, ratio(b->nodes + b->stack_index, r->ws.nodes),
           per_stack * res_scale, per_entry * res_scale, ratio(r->resident, r->stacks_retained),
           ratio(r->resident, r->ws.entries), ratio(r->ws.nodes, r->stacks_retained),
           ratio(r->ws.entries, r->stacks_retained), comma ? "," : "");
}

int main(int argc, char **argv)
{
    const char *td = argc > 1 ? argv[1] : getenv("OTELPROFD_TESTDATA");
    if (!td)
        td = "../shared/testdata";
    bool quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "1") == 0;
    world *w = xcalloc(1, sizeof *w);
    build_world(w, td);
    fprintf(stderr, "world: %u real leaf-end stacks (cpu.pb, mem.pb), %u frames, %u strings\n",
            w->n_real, w->fr.n, w->str.n);

    /* the main point; memory vs retention (steady state after `fill` minutes); vs series;
     * 10x samples per draw (same distinct data) */
    int main_svc = quick ? 10 : 50, fill = quick ? 15 : 60;
    static const int ret_full[] = {5, 15, 30, 60}, ret_quick[] = {5, 15};
    static const int svc_full[] = {5, 10, 25, 50, 100}, svc_quick[] = {5, 10};
    const int *rets = quick ? ret_quick : ret_full, *svcs = quick ? svc_quick : svc_full;
    int n_ret = quick ? 2 : 4, n_svc = quick ? 2 : 5;
    int flat_svc = quick ? 5 : 10;

    run_result *rr = xcalloc(8, sizeof *rr), *rs = xcalloc(8, sizeof *rs), one, ten;
    /* steady state: a retention of R minutes is measured after R + 15 minutes of traffic
     * (the whole hour for R = 60), so expiry and reclamation have run */
    fprintf(stderr, "memory vs retention (%d services):\n", main_svc);
    for (int i = 0; i < n_ret; i++)
        run(w, main_svc, rets[i] + 15 < fill ? rets[i] + 15 : fill, rets[i], 1, &rr[i]);
    fprintf(stderr, "memory vs series (%d min):\n", fill);
    for (int i = 0; i < n_svc; i++) {
        if (svcs[i] == main_svc && rets[n_ret - 1] == fill) {
            rs[i] = rr[n_ret - 1];
            continue;
        }
        run(w, svcs[i], fill, fill, 1, &rs[i]);
    }
    fprintf(stderr, "samples per stack x10, same distinct data (%d services, %d min):\n", flat_svc,
            fill);
    bool have_one = false;
    for (int i = 0; i < n_svc; i++) {
        if (svcs[i] == flat_svc) {
            one = rs[i];
            have_one = true;
        }
    }
    if (!have_one)
        run(w, flat_svc, fill, fill, 1, &one);
    run(w, flat_svc, fill, fill, 10, &ten);

    const run_result *m = &rr[n_ret - 1];
    double scale = ratio(m->resident, m->ws.memory_used);
    double per_stack = ratio(interned_bytes(&m->bd), m->stacks_retained) * scale;
    double per_entry = ratio(bucket_bytes(&m->bd), m->ws.entries) * scale;
    printf("{\n  \"quick\": %s,\n  \"traffic\": {\"interval_s\": %d, \"rate_hz\": %d, "
           "\"functions\": %d, \"initial_stacks_per_service\": %d, \"new_stacks_per_1000_draws\": "
           "%d, \"handlers_per_service\": %d, \"real_leaf_stacks\": %u},\n",
           quick ? "true" : "false", INTERVAL_S, RATE_HZ, N_FUNCS, INITIAL_POP, NEW_PER_MIL,
           N_HANDLERS, w->n_real);
    printf("  \"main\": {\"services\": %d, \"minutes\": %d, \"resident_per_stack\": %.1f, "
           "\"resident_per_entry\": %.2f, \"target_per_stack\": 64, \"target_per_entry\": 16, "
           "\"per_stack_met\": %s, \"per_entry_met\": %s},\n",
           m->services, m->minutes, per_stack, per_entry, per_stack <= 64 ? "true" : "false",
           per_entry <= 16 ? "true" : "false");
    printf("  \"vs_retention\": [\n");
    for (int i = 0; i < n_ret; i++)
        print_run(&rr[i], i + 1 < n_ret);
    printf("  ],\n  \"vs_series\": [\n");
    for (int i = 0; i < n_svc; i++)
        print_run(&rs[i], i + 1 < n_svc);
    printf("  ],\n  \"samples_per_stack\": [\n");
    print_run(&one, true);
    print_run(&ten, false);
    printf("  ],\n  \"x10_over_x1\": {\"observations\": %.2f, \"accounted\": %.4f, \"resident\": "
           "%.4f, \"entries\": %.4f}\n}\n",
           ratio(ten.observations, one.observations), ratio(ten.ws.memory_used, one.ws.memory_used),
           ratio(ten.resident, one.resident), ratio(ten.ws.entries, one.ws.entries));
    free(rr);
    free(rs);
    world_free(w);
    return 0;
}
