/* query/pprof.c — a merge as a gzipped pprof profile.proto. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof/profile.pb-c.h"
#include "query/query_internal.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__ValueType pb_value_type;

/* Everything lives in one arena, dropped after encoding. Growable arrays are malloc'd. */
typedef struct enc {
    base_arena arena;
    char **strs;
    uint32_t n_strs, strs_cap;
    query__map str_idx;
    pb_function **fns;
    uint32_t n_fns, fns_cap;
    query__map fn_idx;
    pb_mapping **maps;
    uint32_t n_maps, maps_cap;
    query__map map_idx;
} enc;

static bool grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t nc = *cap ? (uint64_t)*cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    if (nc > UINT32_MAX / 2)
        return false;
    void *q = realloc(*arr, (size_t)nc * elem);
    if (!q)
        return false;
    *arr = q;
    *cap = (uint32_t)nc;
    return true;
}

static uint64_t next_probe(uint64_t h)
{
    return h * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
}

/* Index of `s` in the string table, adding it once; -1 on allocation failure. */
static int64_t str_id(enc *e, const char *s)
{
    if (!s)
        s = "";
    uint64_t h = query__hash_str(s);
    for (;;) {
        bool ins;
        uint32_t *slot = query__map_get(&e->str_idx, h, e->n_strs, &ins);
        if (!slot)
            return -1;
        if (!ins) {
            if (strcmp(e->strs[*slot], s) == 0)
                return *slot;
            h = next_probe(h);
            continue;
        }
        void *arr = e->strs;
        if (!grow(&arr, &e->strs_cap, e->n_strs + 1, sizeof(char *)))
            return -1;
        e->strs = arr;
        /* the string table references strings that outlive the encoding (the merge's) */
        e->strs[e->n_strs] = (char *)s;
        return e->n_strs++;
    }
}

/* Function id (>= 1) for (name, file). */
static uint64_t function_id(enc *e, int64_t name, int64_t file)
{
    uint64_t h = ((uint64_t)name << 32) ^ (uint64_t)file;
    for (;;) {
        bool ins;
        uint32_t *slot = query__map_get(&e->fn_idx, h, e->n_fns, &ins);
        if (!slot)
            return 0;
        if (!ins) {
            pb_function *f = e->fns[*slot];
            if (f->name == name && f->filename == file)
                return f->id;
            h = next_probe(h);
            continue;
        }
        void *arr = e->fns;
        pb_function *f = base_arena_alloc(&e->arena, sizeof *f);
        if (!f || !grow(&arr, &e->fns_cap, e->n_fns + 1, sizeof(pb_function *)))
            return 0;
        e->fns = arr;
        perftools__profiles__function__init(f);
        f->id = e->n_fns + 1;
        f->name = f->system_name = name;
        f->filename = file;
        e->fns[e->n_fns++] = f;
        return f->id;
    }
}

/* Mapping id (>= 1) for (file, build id); 0 for a frame without either. */
static uint64_t mapping_id(enc *e, int64_t file, int64_t build_id)
{
    if (file == 0 && build_id == 0)
        return 0;
    uint64_t h = ((uint64_t)file << 32) ^ (uint64_t)build_id ^ 0x5bd1e995ULL;
    for (;;) {
        bool ins;
        uint32_t *slot = query__map_get(&e->map_idx, h, e->n_maps, &ins);
        if (!slot)
            return UINT64_MAX;
        if (!ins) {
            pb_mapping *mp = e->maps[*slot];
            if (mp->filename == file && mp->build_id == build_id)
                return mp->id;
            h = next_probe(h);
            continue;
        }
        void *arr = e->maps;
        pb_mapping *mp = base_arena_alloc(&e->arena, sizeof *mp);
        if (!mp || !grow(&arr, &e->maps_cap, e->n_maps + 1, sizeof(pb_mapping *)))
            return UINT64_MAX;
        e->maps = arr;
        perftools__profiles__mapping__init(mp);
        mp->id = e->n_maps + 1;
        mp->filename = file;
        mp->build_id = build_id;
        /* every location has a function (unsymbolized ones are named by address), so
         * pprof must not try to symbolize them again from local binaries */
        mp->has_functions = mp->has_filenames = mp->has_line_numbers = true;
        mp->has_inline_frames = true;
        e->maps[e->n_maps++] = mp;
        return mp->id;
    }
}

static void enc_free(enc *e)
{
    base_arena_free(&e->arena);
    free(e->strs);
    free(e->fns);
    free(e->maps);
    query__map_free(&e->str_idx);
    query__map_free(&e->fn_idx);
    query__map_free(&e->map_idx);
}

static char *hex(base_arena *a, const uint8_t *b, size_t n)
{
    char *s = base_arena_alloc(a, 2 * n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    s[2 * n] = '\0';
    return s;
}

/* One sample for merged node `node` with `value` and optional label set. */
static pb_sample *make_sample(enc *e, const win_merged *m, const uint32_t *depth, uint32_t node,
                              int64_t value, const win_label_set *ls)
{
    pb_sample *s = base_arena_alloc(&e->arena, sizeof *s);
    int64_t *v = base_arena_alloc(&e->arena, sizeof *v);
    uint64_t *locs = base_arena_calloc(&e->arena, (size_t)depth[node] + 1, sizeof *locs);
    if (!s || !v || !locs)
        return NULL;
    perftools__profiles__sample__init(s);
    *v = value;
    s->value = v;
    s->n_value = 1;
    size_t k = 0;
    for (uint32_t j = node; j != 0; j = (uint32_t)m->nodes[j].parent)
        locs[k++] = (uint64_t)m->nodes[j].frame + 1; /* leaf first, as pprof wants */
    s->location_id = locs;
    s->n_location_id = k;
    if (!ls)
        return s;
    size_t nl = (size_t)ls->n_attrs + (ls->trace_id ? 1 : 0) + (ls->span_id ? 1 : 0);
    pb_label **labels = base_arena_calloc(&e->arena, nl + 1, sizeof *labels);
    if (!labels)
        return NULL;
    size_t w = 0;
    for (uint32_t i = 0; i < ls->n_attrs; i++) {
        pb_label *l = base_arena_alloc(&e->arena, sizeof *l);
        if (!l)
            return NULL;
        perftools__profiles__label__init(l);
        if ((l->key = str_id(e, ls->attrs[i].key)) < 0 ||
            (l->str = str_id(e, ls->attrs[i].value)) < 0)
            return NULL;
        labels[w++] = l;
    }
    const char *keys[2] = {"trace_id", "span_id"};
    const uint8_t *ids[2] = {ls->trace_id, ls->span_id};
    size_t lens[2] = {16, 8};
    for (int i = 0; i < 2; i++) {
        if (!ids[i])
            continue;
        pb_label *l = base_arena_alloc(&e->arena, sizeof *l);
        char *h = hex(&e->arena, ids[i], lens[i]);
        if (!l || !h)
            return NULL;
        perftools__profiles__label__init(l);
        if ((l->key = str_id(e, keys[i])) < 0 || (l->str = str_id(e, h)) < 0)
            return NULL;
        labels[w++] = l;
    }
    s->label = labels;
    s->n_label = w;
    return s;
}

static int gzip_buf(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (in_len > (size_t)UINT32_MAX / 2)
        return -1;
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong bound = deflateBound(&zs, (uLong)in_len) + 32;
    uint8_t *buf = malloc(bound);
    if (!buf) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    size_t n = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

int query_export_pprof(const win_merged *m, uint8_t **out, size_t *out_len, char *err,
                       size_t err_len)
{
    base_set_err(err, err_len, "%s", "");
    if (!out || !out_len || !m || !m->nodes || m->n_nodes == 0 || !m->profile_type) {
        base_set_err(err, err_len, "query: export needs a merge result and an output buffer");
        return -1;
    }
    *out = NULL;
    *out_len = 0;
    for (uint32_t i = 1; i < m->n_nodes; i++) {
        if (m->nodes[i].parent < 0 || (uint32_t)m->nodes[i].parent >= i ||
            m->nodes[i].frame >= m->n_frames) {
            base_set_err(err, err_len, "query: malformed merge result (node %u)", i);
            return -1;
        }
    }
    enc e;
    memset(&e, 0, sizeof e);
    base_arena_init(&e.arena, 65536, 0);
    uint32_t *depth = malloc((size_t)m->n_nodes * sizeof *depth);
    uint8_t *packed = NULL;
    pb_location **locs = NULL;
    pb_sample **samples = NULL;
    size_t n_samples = 0;
    const char *what = "out of memory";
    if (!depth || str_id(&e, "") != 0)
        goto fail;
    depth[0] = 0;
    for (uint32_t i = 1; i < m->n_nodes; i++)
        depth[i] = depth[m->nodes[i].parent] + 1;

    /* sample and period type from "type:unit" */
    const char *pt = m->profile_type, *colon = strchr(pt, ':');
    char *type = base_arena_strndup(&e.arena, pt, colon ? (size_t)(colon - pt) : strlen(pt));
    const char *unit = colon ? colon + 1 : "count";
    pb_value_type *st = base_arena_alloc(&e.arena, sizeof *st);
    pb_value_type *period = base_arena_alloc(&e.arena, sizeof *period);
    if (!type || !st || !period)
        goto fail;
    perftools__profiles__value_type__init(st);
    perftools__profiles__value_type__init(period);
    if ((st->type = str_id(&e, type)) < 0 || (st->unit = str_id(&e, unit)) < 0)
        goto fail;
    period->type = st->type;
    period->unit = st->unit;

    /* one location per merged frame: location id = frame index + 1 */
    locs = calloc((size_t)m->n_frames + 1, sizeof *locs);
    if (!locs)
        goto fail;
    for (uint32_t i = 0; i < m->n_frames; i++) {
        const win_frame *fr = &m->frames[i];
        pb_location *l = base_arena_alloc(&e.arena, sizeof *l);
        pb_line *ln = base_arena_alloc(&e.arena, sizeof *ln);
        pb_line **lines = base_arena_alloc(&e.arena, sizeof *lines);
        if (!l || !ln || !lines)
            goto fail;
        perftools__profiles__location__init(l);
        perftools__profiles__line__init(ln);
        bool unsym = !fr->function || !fr->function[0];
        const char *name = fr->function;
        if (unsym &&
            !(name = base_arena_printf(&e.arena, "0x%llx", (unsigned long long)fr->address)))
            goto fail;
        int64_t name_id = str_id(&e, name), file_id = str_id(&e, fr->file);
        int64_t map_file = str_id(&e, fr->mapping), build = str_id(&e, fr->build_id);
        if (name_id < 0 || file_id < 0 || map_file < 0 || build < 0)
            goto fail;
        ln->function_id = function_id(&e, name_id, file_id);
        ln->line = fr->line;
        l->mapping_id = mapping_id(&e, map_file, build);
        if (ln->function_id == 0 || l->mapping_id == UINT64_MAX)
            goto fail;
        l->id = (uint64_t)i + 1;
        l->address = fr->address;
        lines[0] = ln;
        l->line = lines;
        l->n_line = 1;
        locs[i] = l;
    }

    bool labeled = m->labeled && m->n_labeled > 0;
    size_t n_max = labeled ? m->n_labeled : m->n_nodes;
    samples = calloc(n_max + 1, sizeof *samples);
    if (!samples)
        goto fail;
    if (labeled) {
        for (uint32_t i = 0; i < m->n_labeled; i++) {
            const win_labeled *lb = &m->labeled[i];
            if (lb->value == 0)
                continue;
            if (lb->node >= m->n_nodes || lb->labels >= m->n_label_sets) {
                what = "malformed labeled merge result";
                goto fail;
            }
            pb_sample *s =
                make_sample(&e, m, depth, lb->node, lb->value, &m->label_sets[lb->labels]);
            if (!s)
                goto fail;
            samples[n_samples++] = s;
        }
    } else {
        for (uint32_t i = 0; i < m->n_nodes; i++) {
            if (m->nodes[i].self == 0)
                continue;
            pb_sample *s = make_sample(&e, m, depth, i, m->nodes[i].self, NULL);
            if (!s)
                goto fail;
            samples[n_samples++] = s;
        }
    }

    pb_profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
    pb_value_type *sts[1] = {st};
    p.sample_type = sts;
    p.n_sample_type = 1;
    p.sample = samples;
    p.n_sample = n_samples;
    p.mapping = e.maps;
    p.n_mapping = e.n_maps;
    p.location = locs;
    p.n_location = m->n_frames;
    p.function = e.fns;
    p.n_function = e.n_fns;
    p.string_table = e.strs;
    p.n_string_table = e.n_strs;
    p.period_type = period;
    p.time_nanos = m->start_ns;
    p.duration_nanos = m->end_ns > m->start_ns ? m->end_ns - m->start_ns : 0;
    size_t plen = perftools__profiles__profile__get_packed_size(&p);
    if (!(packed = malloc(plen + 1)))
        goto fail;
    if (perftools__profiles__profile__pack(&p, packed) != plen) {
        what = "protobuf encoding failed";
        goto fail;
    }
    if (gzip_buf(packed, plen, out, out_len)) {
        what = "gzip failed (or the profile is too large)";
        goto fail;
    }
    free(packed);
    free(samples);
    free(locs);
    free(depth);
    enc_free(&e);
    return 0;
fail:
    free(packed);
    free(samples);
    free(locs);
    free(depth);
    enc_free(&e);
    base_set_err(err, err_len, "query: pprof export: %s", what);
    return -1;
}
