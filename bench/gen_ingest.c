/* bench/gen_ingest.c — see gen_ingest.h. */
#include "gen_ingest.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
    pb_request;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary pb_dict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles pb_rprof;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles pb_sprof;
typedef Opentelemetry__Proto__Profiles__V1development__Profile pb_profile;
typedef Opentelemetry__Proto__Profiles__V1development__Sample pb_sample;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping pb_mapping;
typedef Opentelemetry__Proto__Profiles__V1development__Location pb_location;
typedef Opentelemetry__Proto__Profiles__V1development__Line pb_line;
typedef Opentelemetry__Proto__Profiles__V1development__Function pb_function;
typedef Opentelemetry__Proto__Profiles__V1development__Stack pb_stack;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit pb_kvu;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType pb_vtype;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;

#define GEN_ARENA_CAP      ((size_t)2 << 30)
#define GEN_THREADS        8 /* thread names per process */
#define GEN_MIN_SAMPLES    20u
#define GEN_SAMPLE_SPREAD  380u
#define GEN_MAX_RESOURCES  200000u
#define ENTRY_OVERHEAD(sz) (1 + varint_len(sz)) /* tag + length of a repeated message */

/* A growable array of pointers (malloc'd: the arena cannot grow in place). */
typedef struct vec {
    void **v;
    size_t n, cap;
} vec;

/* String -> index, open addressing; keys live in the arena. */
typedef struct smap {
    const char **k;
    int32_t *v;
    size_t cap, n;
} smap;

typedef struct gen {
    base_arena arena;
    const pb_dict *td; /* the template's dictionary */
    vec mappings, locations, functions, links, strings, attrs, stacks;
    smap str_ix, attr_ix;
    /* template index -> new index per service (0 = not yet added; 0 maps to 0) */
    int32_t *fn_map[GEN_SERVICES], *loc_map[GEN_SERVICES], *stack_map[GEN_SERVICES],
        *mapping_map[GEN_SERVICES];
    int32_t *attr_map, *link_map;
    size_t est; /* running packed-size estimate */
    bool oom;
} gen;

static size_t varint_len(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t msg_cost(const void *msg)
{
    size_t sz = protobuf_c_message_get_packed_size((const ProtobufCMessage *)msg);
    return sz + ENTRY_OVERHEAD(sz);
}

static int32_t vec_push(gen *g, vec *a, void *p)
{
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 256;
        void **nv = realloc(a->v, ncap * sizeof *nv);
        if (!nv) {
            g->oom = true;
            return 0;
        }
        a->v = nv;
        a->cap = ncap;
    }
    a->v[a->n] = p;
    return (int32_t)a->n++;
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    }
    return h;
}

static int32_t smap_get(const smap *m, const char *key)
{
    if (!m->cap) {
        return -1;
    }
    for (size_t i = fnv(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->k[i]) {
            return -1;
        }
        if (strcmp(m->k[i], key) == 0) {
            return m->v[i];
        }
    }
}

static void smap_put(gen *g, smap *m, const char *key, int32_t v)
{
    if (2 * (m->n + 1) > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 1024;
        const char **nk = calloc(ncap, sizeof *nk);
        int32_t *nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            g->oom = true;
            return;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->k[i]) {
                size_t j = fnv(m->k[i]) & (ncap - 1);
                while (nk[j]) {
                    j = (j + 1) & (ncap - 1);
                }
                nk[j] = m->k[i];
                nv[j] = m->v[i];
            }
        }
        free(m->k);
        free(m->v);
        m->k = nk;
        m->v = nv;
        m->cap = ncap;
    }
    size_t i = fnv(key) & (m->cap - 1);
    while (m->k[i]) {
        i = (i + 1) & (m->cap - 1);
    }
    m->k[i] = key;
    m->v[i] = v;
    m->n++;
}

static int32_t str_idx(gen *g, const char *s)
{
    int32_t ix = smap_get(&g->str_ix, s);
    if (ix >= 0) {
        return ix;
    }
    char *copy = base_arena_strndup(&g->arena, s, strlen(s));
    if (!copy) {
        g->oom = true;
        return 0;
    }
    ix = vec_push(g, &g->strings, copy);
    smap_put(g, &g->str_ix, copy, ix);
    size_t len = strlen(s);
    g->est += 1 + varint_len(len) + len;
    return ix;
}

static int32_t str_fmt(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int32_t str_fmt(gen *g, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return str_idx(g, buf);
}

static bool tmpl_str_ok(const gen *g, int32_t i)
{
    return i >= 0 && (size_t)i < g->td->n_string_table;
}

/* A template string as service `svc` spells it: every service is its own binary. */
static int32_t str_variant(gen *g, int32_t i, int svc)
{
    if (!tmpl_str_ok(g, i)) {
        return 0;
    }
    const char *s = g->td->string_table[i];
    if (svc == 0 || !*s) {
        return str_idx(g, s);
    }
    return str_fmt(g, "svc%02d/%s", svc, s);
}

/* The Go runtime is the same code in every service. */
static bool shared_function(const gen *g, int32_t fi)
{
    if (fi <= 0 || (size_t)fi >= g->td->n_function_table) {
        return false;
    }
    int32_t ni = g->td->function_table[fi]->name_strindex;
    return tmpl_str_ok(g, ni) && strncmp(g->td->string_table[ni], "runtime.", 8) == 0;
}

static int32_t *lazy_map(gen *g, int32_t **slot, size_t n)
{
    if (!*slot) {
        *slot = calloc(n ? n : 1, sizeof **slot);
        if (!*slot) {
            g->oom = true;
        }
    }
    return *slot;
}

static int32_t map_attr(gen *g, int32_t i)
{
    if (i <= 0 || (size_t)i >= g->td->n_attribute_table) {
        return 0;
    }
    int32_t *m = lazy_map(g, &g->attr_map, g->td->n_attribute_table);
    if (!m || m[i]) {
        return m ? m[i] : 0;
    }
    const pb_kvu *t = g->td->attribute_table[i];
    pb_kvu *a = base_arena_alloc(&g->arena, sizeof *a);
    if (!a) {
        g->oom = true;
        return 0;
    }
    *a = *t;
    a->key_strindex = str_variant(g, t->key_strindex, 0);
    a->unit_strindex = str_variant(g, t->unit_strindex, 0);
    if (t->value && t->value->value_case ==
                        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX) {
        pb_any *v = base_arena_alloc(&g->arena, sizeof *v);
        if (!v) {
            g->oom = true;
            return 0;
        }
        *v = *t->value;
        v->string_value_strindex = str_variant(g, t->value->string_value_strindex, 0);
        a->value = v;
    }
    m[i] = vec_push(g, &g->attrs, a);
    g->est += msg_cost(a);
    return m[i];
}

static int32_t *map_attrs(gen *g, const int32_t *in, size_t n)
{
    int32_t *out = base_arena_calloc(&g->arena, n ? n : 1, sizeof *out);
    if (!out) {
        g->oom = true;
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        out[k] = map_attr(g, in[k]);
    }
    return out;
}

static int32_t map_link(gen *g, int32_t i)
{
    if (i <= 0 || (size_t)i >= g->td->n_link_table) {
        return 0;
    }
    int32_t *m = lazy_map(g, &g->link_map, g->td->n_link_table);
    if (m && !m[i]) {
        m[i] = vec_push(g, &g->links, g->td->link_table[i]);
        g->est += msg_cost(g->td->link_table[i]);
    }
    return m ? m[i] : 0;
}

static int32_t map_mapping(gen *g, int svc, int32_t i)
{
    if (i <= 0 || (size_t)i >= g->td->n_mapping_table) {
        return 0;
    }
    int32_t *m = lazy_map(g, &g->mapping_map[svc], g->td->n_mapping_table);
    if (!m || m[i]) {
        return m ? m[i] : 0;
    }
    const pb_mapping *t = g->td->mapping_table[i];
    pb_mapping *a = base_arena_alloc(&g->arena, sizeof *a);
    if (!a) {
        g->oom = true;
        return 0;
    }
    *a = *t;
    a->filename_strindex = str_variant(g, t->filename_strindex, svc);
    a->attribute_indices = map_attrs(g, t->attribute_indices, t->n_attribute_indices);
    m[i] = vec_push(g, &g->mappings, a);
    g->est += msg_cost(a);
    return m[i];
}

static int32_t map_function(gen *g, int svc, int32_t i)
{
    if (i <= 0 || (size_t)i >= g->td->n_function_table) {
        return 0;
    }
    if (shared_function(g, i)) {
        svc = 0;
    }
    int32_t *m = lazy_map(g, &g->fn_map[svc], g->td->n_function_table);
    if (!m || m[i]) {
        return m ? m[i] : 0;
    }
    const pb_function *t = g->td->function_table[i];
    pb_function *a = base_arena_alloc(&g->arena, sizeof *a);
    if (!a) {
        g->oom = true;
        return 0;
    }
    *a = *t;
    a->name_strindex = str_variant(g, t->name_strindex, svc);
    a->system_name_strindex = str_variant(g, t->system_name_strindex, svc);
    a->filename_strindex = str_variant(g, t->filename_strindex, svc);
    m[i] = vec_push(g, &g->functions, a);
    g->est += msg_cost(a);
    return m[i];
}

static int32_t map_location(gen *g, int svc, int32_t i)
{
    if (i <= 0 || (size_t)i >= g->td->n_location_table) {
        return 0;
    }
    const pb_location *t = g->td->location_table[i];
    bool shared = t->n_lines > 0;
    for (size_t k = 0; k < t->n_lines && shared; k++) {
        shared = shared_function(g, t->lines[k]->function_index);
    }
    if (shared) {
        svc = 0;
    }
    int32_t *m = lazy_map(g, &g->loc_map[svc], g->td->n_location_table);
    if (!m || m[i]) {
        return m ? m[i] : 0;
    }
    pb_location *a = base_arena_alloc(&g->arena, sizeof *a);
    pb_line **lines = base_arena_calloc(&g->arena, t->n_lines ? t->n_lines : 1, sizeof *lines);
    if (!a || !lines) {
        g->oom = true;
        return 0;
    }
    *a = *t;
    a->mapping_index = map_mapping(g, svc, t->mapping_index);
    for (size_t k = 0; k < t->n_lines; k++) {
        lines[k] = base_arena_alloc(&g->arena, sizeof *lines[k]);
        if (!lines[k]) {
            g->oom = true;
            return 0;
        }
        *lines[k] = *t->lines[k];
        lines[k]->function_index = map_function(g, svc, t->lines[k]->function_index);
    }
    a->lines = lines;
    a->attribute_indices = map_attrs(g, t->attribute_indices, t->n_attribute_indices);
    m[i] = vec_push(g, &g->locations, a);
    g->est += msg_cost(a);
    return m[i];
}

static int32_t map_stack(gen *g, int svc, int32_t i)
{
    if (i <= 0 || (size_t)i >= g->td->n_stack_table) {
        return 0;
    }
    int32_t *m = lazy_map(g, &g->stack_map[svc], g->td->n_stack_table);
    if (!m || m[i]) {
        return m ? m[i] : 0;
    }
    const pb_stack *t = g->td->stack_table[i];
    pb_stack *a = base_arena_alloc(&g->arena, sizeof *a);
    int32_t *locs = base_arena_calloc(&g->arena, t->n_location_indices ? t->n_location_indices : 1,
                                      sizeof *locs);
    if (!a || !locs) {
        g->oom = true;
        return 0;
    }
    *a = *t;
    for (size_t k = 0; k < t->n_location_indices; k++) {
        locs[k] = map_location(g, svc, t->location_indices[k]);
    }
    a->location_indices = locs;
    m[i] = vec_push(g, &g->stacks, a);
    g->est += msg_cost(a);
    return m[i];
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static pb_kv *kv_str(gen *g, const char *key, int32_t value_ix)
{
    pb_kv *kv = base_arena_alloc(&g->arena, sizeof *kv);
    pb_any *v = base_arena_alloc(&g->arena, sizeof *v);
    if (!kv || !v) {
        g->oom = true;
        return NULL;
    }
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    kv->key_strindex = str_idx(g, key);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX;
    v->string_value_strindex = value_ix;
    kv->value = v;
    return kv;
}

static int32_t thread_attr(gen *g, int32_t name_ix)
{
    char key[32];
    snprintf(key, sizeof key, "t%d", name_ix);
    int32_t ix = smap_get(&g->attr_ix, key);
    if (ix >= 0) {
        return ix;
    }
    pb_kvu *a = base_arena_alloc(&g->arena, sizeof *a);
    pb_any *v = base_arena_alloc(&g->arena, sizeof *v);
    char *k = base_arena_strndup(&g->arena, key, strlen(key));
    if (!a || !v || !k) {
        g->oom = true;
        return 0;
    }
    opentelemetry__proto__profiles__v1development__key_value_and_unit__init(a);
    opentelemetry__proto__common__v1__any_value__init(v);
    a->key_strindex = str_idx(g, "thread.name");
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX;
    v->string_value_strindex = name_ix;
    a->value = v;
    ix = vec_push(g, &g->attrs, a);
    smap_put(g, &g->attr_ix, k, ix);
    g->est += msg_cost(a);
    return ix;
}

/* The template's one profile per resource, checked. */
static const pb_profile *tmpl_profile(const pb_request *t, size_t r)
{
    const pb_rprof *rp = t->resource_profiles[r];
    if (!rp || rp->n_scope_profiles < 1 || !rp->scope_profiles[0] ||
        rp->scope_profiles[0]->n_profiles < 1 || !rp->scope_profiles[0]->profiles[0] ||
        rp->scope_profiles[0]->profiles[0]->n_samples < 1) {
        return NULL;
    }
    return rp->scope_profiles[0]->profiles[0];
}

/* thread.name is the thread's comm: the executable's name or what the runtime named it */
static const char *const thread_names[GEN_THREADS] = {
    NULL,
    "GC Thread#0",
    "GC Thread#1",
    "C2 CompilerThre",
    "http-nio-8080-e",
    "grpc-default-ex",
    "pool-1-thread-1",
    "kworker/u8:2",
};

static void gen_free(gen *g)
{
    vec *vs[] = {&g->mappings, &g->locations, &g->functions, &g->links,
                 &g->strings,  &g->attrs,     &g->stacks};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        free(vs[i]->v);
    }
    free(g->str_ix.k);
    free(g->str_ix.v);
    free(g->attr_ix.k);
    free(g->attr_ix.v);
    for (int s = 0; s < GEN_SERVICES; s++) {
        free(g->fn_map[s]);
        free(g->loc_map[s]);
        free(g->stack_map[s]);
        free(g->mapping_map[s]);
    }
    free(g->attr_map);
    free(g->link_map);
    base_arena_free(&g->arena);
}

/* Adds the zero entry every dictionary table starts with. */
static void add_zero_entries(gen *g)
{
    static pb_mapping zm = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT;
    static pb_location zl = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
    static pb_function zf = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__FUNCTION__INIT;
    static Opentelemetry__Proto__Profiles__V1development__Link zk =
        OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINK__INIT;
    static pb_kvu za = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT;
    static pb_stack zs = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__STACK__INIT;
    vec_push(g, &g->mappings, &zm);
    vec_push(g, &g->locations, &zl);
    vec_push(g, &g->functions, &zf);
    vec_push(g, &g->links, &zk);
    vec_push(g, &g->attrs, &za);
    vec_push(g, &g->stacks, &zs);
    str_idx(g, "");
    g->est += 6 * 2;
}

typedef struct proc {
    pb_rprof *rp;
    pb_profile *prof;
    vec samples;
} proc;

/* Starts process `p`: its resource, scope and profile. */
static int start_process(gen *g, const pb_request *t, uint64_t p, uint64_t base_ns, proc *out)
{
    int svc = (int)(p % GEN_SERVICES);
    size_t tr = (size_t)svc % t->n_resource_profiles;
    const pb_rprof *trp = t->resource_profiles[tr];
    const pb_profile *tp = tmpl_profile(t, tr);
    pb_rprof *rp = base_arena_alloc(&g->arena, sizeof *rp);
    pb_sprof *sp = base_arena_alloc(&g->arena, sizeof *sp);
    pb_sprof **sps = base_arena_alloc(&g->arena, sizeof *sps);
    pb_profile *prof = base_arena_alloc(&g->arena, sizeof *prof);
    pb_profile **profs = base_arena_alloc(&g->arena, sizeof *profs);
    pb_resource *res = base_arena_alloc(&g->arena, sizeof *res);
    pb_kv **attrs = base_arena_calloc(&g->arena, 5, sizeof *attrs);
    pb_vtype *st = base_arena_alloc(&g->arena, sizeof *st);
    pb_vtype *pt = base_arena_alloc(&g->arena, sizeof *pt);
    if (!rp || !sp || !sps || !prof || !profs || !res || !attrs || !st || !pt) {
        g->oom = true;
        return -1;
    }
    opentelemetry__proto__profiles__v1development__resource_profiles__init(rp);
    opentelemetry__proto__profiles__v1development__scope_profiles__init(sp);
    opentelemetry__proto__profiles__v1development__profile__init(prof);
    opentelemetry__proto__resource__v1__resource__init(res);
    opentelemetry__proto__profiles__v1development__value_type__init(st);
    opentelemetry__proto__profiles__v1development__value_type__init(pt);
    char svc_name[32];
    snprintf(svc_name, sizeof svc_name, "svc-%02d", svc);
    attrs[0] = kv_str(g, "service.name", str_idx(g, svc_name));
    attrs[1] = kv_str(g, "host.name", str_fmt(g, "node-%03u", (unsigned)(p / GEN_SERVICES)));
    attrs[2] = kv_str(g, "process.pid", str_fmt(g, "%u", (unsigned)(1000 + p)));
    attrs[3] = kv_str(g, "process.executable.name", str_fmt(g, "/usr/local/bin/%s", svc_name));
    attrs[4] = kv_str(g, "deployment.environment.name", str_idx(g, "prod"));
    res->attributes = attrs;
    res->n_attributes = 5;
    rp->resource = res;
    sp->scope = trp->scope_profiles[0]->scope;
    st->type_strindex = tp->sample_type ? str_variant(g, tp->sample_type->type_strindex, 0) : 0;
    st->unit_strindex = tp->sample_type ? str_variant(g, tp->sample_type->unit_strindex, 0) : 0;
    pt->type_strindex = tp->period_type ? str_variant(g, tp->period_type->type_strindex, 0) : 0;
    pt->unit_strindex = tp->period_type ? str_variant(g, tp->period_type->unit_strindex, 0) : 0;
    prof->sample_type = st;
    prof->period_type = pt;
    prof->period = tp->period;
    prof->time_unix_nano = base_ns;
    prof->duration_nano = GEN_DURATION_NS;
    profs[0] = prof;
    sp->profiles = profs;
    sp->n_profiles = 1;
    sps[0] = sp;
    rp->scope_profiles = sps;
    rp->n_scope_profiles = 1;
    out->rp = rp;
    out->prof = prof;
    out->samples = (vec){0};
    g->est += msg_cost(rp);
    return 0;
}

static int finish_process(gen *g, proc *pr, vec *rps)
{
    pb_sample **ss = base_arena_calloc(&g->arena, pr->samples.n ? pr->samples.n : 1, sizeof *ss);
    if (!ss) {
        free(pr->samples.v);
        g->oom = true;
        return -1;
    }
    memcpy(ss, pr->samples.v, pr->samples.n * sizeof *ss);
    pr->prof->samples = ss;
    pr->prof->n_samples = pr->samples.n;
    free(pr->samples.v);
    pr->samples = (vec){0};
    vec_push(g, rps, pr->rp);
    return g->oom ? -1 : 0;
}

/* Lowest timestamp of the template, so its times map onto [base, base + 5 s). */
static uint64_t tmpl_t0(const pb_request *t)
{
    uint64_t lo = UINT64_MAX;
    for (size_t r = 0; r < t->n_resource_profiles; r++) {
        const pb_profile *tp = tmpl_profile(t, r);
        for (size_t i = 0; tp && i < tp->n_samples; i++) {
            for (size_t k = 0; k < tp->samples[i]->n_timestamps_unix_nano; k++) {
                uint64_t ts = tp->samples[i]->timestamps_unix_nano[k];
                lo = ts && ts < lo ? ts : lo;
            }
        }
    }
    return lo == UINT64_MAX ? 0 : lo;
}

int gen_ingest(const uint8_t *tmpl, size_t tmpl_len, size_t target, uint64_t base_ns, uint64_t seed,
               uint8_t **out, size_t *out_len, gen_stats *st, char *err, size_t err_len)
{
    *out = NULL;
    *out_len = 0;
    memset(st, 0, sizeof *st);
    pb_request *t =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__unpack(
            NULL, tmpl_len, tmpl);
    if (!t || !t->dictionary || t->n_resource_profiles < 1) {
        snprintf(err, err_len, "template: not an ExportProfilesServiceRequest with a dictionary");
        if (t) {
            opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__free_unpacked(
                t, NULL);
        }
        return -1;
    }
    for (size_t r = 0; r < t->n_resource_profiles; r++) {
        if (!tmpl_profile(t, r) || !t->resource_profiles[r]->scope_profiles[0]) {
            snprintf(err, err_len, "template: resource_profiles[%zu] has no profile with samples",
                     r);
            opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__free_unpacked(
                t, NULL);
            return -1;
        }
    }
    gen g;
    memset(&g, 0, sizeof g);
    base_arena_init(&g.arena, 1u << 20, GEN_ARENA_CAP);
    g.td = t->dictionary;
    add_zero_entries(&g);
    uint64_t t0 = tmpl_t0(t);
    vec rps = {0};
    bool done = false;
    uint64_t rng = seed ? seed : 1;
    for (uint64_t p = 0; !done && !g.oom && p < GEN_MAX_RESOURCES; p++) {
        int svc = (int)(p % GEN_SERVICES);
        size_t tr = (size_t)svc % t->n_resource_profiles;
        const pb_profile *tp = tmpl_profile(t, tr);
        proc pr;
        if (start_process(&g, t, p, base_ns, &pr) != 0) {
            break;
        }
        /* busy processes are few: a skewed share of the report interval's samples */
        uint64_t r = lcg(&rng) % GEN_SAMPLE_SPREAD;
        size_t want = GEN_MIN_SAMPLES + (size_t)(r * r / GEN_SAMPLE_SPREAD);
        size_t start = (size_t)(lcg(&rng) % tp->n_samples);
        int32_t threads[GEN_THREADS];
        char svc_name[16];
        snprintf(svc_name, sizeof svc_name, "svc-%02d", svc);
        for (int k = 0; k < GEN_THREADS; k++) {
            threads[k] = thread_attr(&g, str_idx(&g, thread_names[k] ? thread_names[k] : svc_name));
        }
        for (size_t k = 0; k < want && !g.oom; k++) {
            const pb_sample *ts = tp->samples[(start + k) % tp->n_samples];
            pb_sample *s = base_arena_alloc(&g.arena, sizeof *s);
            int32_t *ai = base_arena_calloc(&g.arena, ts->n_attribute_indices + 1, sizeof *ai);
            uint64_t *tv = base_arena_calloc(
                &g.arena, ts->n_timestamps_unix_nano ? ts->n_timestamps_unix_nano : 1, sizeof *tv);
            if (!s || !ai || !tv) {
                g.oom = true;
                break;
            }
            *s = *ts;
            s->stack_index = map_stack(&g, svc, ts->stack_index);
            for (size_t a = 0; a < ts->n_attribute_indices; a++) {
                ai[a] = map_attr(&g, ts->attribute_indices[a]);
            }
            /* a thread runs the same code paths: pick the thread by stack */
            ai[ts->n_attribute_indices] = threads[(size_t)ts->stack_index % GEN_THREADS];
            s->attribute_indices = ai;
            s->n_attribute_indices = ts->n_attribute_indices + 1;
            s->link_index = map_link(&g, ts->link_index);
            for (size_t q = 0; q < ts->n_timestamps_unix_nano; q++) {
                uint64_t off = ts->timestamps_unix_nano[q] - t0;
                tv[q] = base_ns + (off + p * 7919u) % GEN_DURATION_NS;
            }
            s->timestamps_unix_nano = tv;
            vec_push(&g, &pr.samples, s);
            g.est += msg_cost(s);
            st->samples++;
            st->observations += ts->n_timestamps_unix_nano ? ts->n_timestamps_unix_nano : 1;
            if (g.est >= target) {
                done = true;
                break;
            }
        }
        if (finish_process(&g, &pr, &rps) != 0) {
            break;
        }
        st->resources++;
    }
    int rc = -1;
    if (g.oom) {
        snprintf(err, err_len, "out of memory");
    } else {
        pb_dict d;
        pb_request req;
        opentelemetry__proto__profiles__v1development__profiles_dictionary__init(&d);
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__init(
            &req);
        d.mapping_table = (pb_mapping **)g.mappings.v;
        d.n_mapping_table = g.mappings.n;
        d.location_table = (pb_location **)g.locations.v;
        d.n_location_table = g.locations.n;
        d.function_table = (pb_function **)g.functions.v;
        d.n_function_table = g.functions.n;
        d.link_table = (Opentelemetry__Proto__Profiles__V1development__Link **)g.links.v;
        d.n_link_table = g.links.n;
        d.string_table = (char **)g.strings.v;
        d.n_string_table = g.strings.n;
        d.attribute_table = (pb_kvu **)g.attrs.v;
        d.n_attribute_table = g.attrs.n;
        d.stack_table = (pb_stack **)g.stacks.v;
        d.n_stack_table = g.stacks.n;
        req.dictionary = &d;
        req.resource_profiles = (pb_rprof **)rps.v;
        req.n_resource_profiles = rps.n;
        size_t len = protobuf_c_message_get_packed_size((const ProtobufCMessage *)&req);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) {
            snprintf(err, err_len, "out of memory");
        } else {
            *out_len = protobuf_c_message_pack((const ProtobufCMessage *)&req, buf);
            *out = buf;
            st->bytes = *out_len;
            st->services = st->resources < GEN_SERVICES ? st->resources : GEN_SERVICES;
            st->stacks = g.stacks.n - 1;
            st->locations = g.locations.n - 1;
            st->functions = g.functions.n - 1;
            st->strings = g.strings.n;
            rc = 0;
        }
    }
    free(rps.v);
    gen_free(&g);
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__free_unpacked(
        t, NULL);
    return rc;
}
