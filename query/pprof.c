/* query/pprof.c — a merge as a gzipped pprof profile.proto.
 *
 * The tables (strings, functions, mappings, one location per merged frame) are protobuf-c
 * messages, packed once. Samples are not: a sample's location list is as long as its stack,
 * and one stack shared by many label sets (20,000 thread ids on a 4,096-frame stack) would
 * need a location list each, hundreds of megabytes of protobuf-c structs for a 2.8 MB
 * request. Samples are encoded by hand straight into the gzip stream, walking the merged
 * tree for their locations, so memory holds the compressed output, not the profile. Field
 * order does not matter to a protobuf parser (pprof's included): the samples come first,
 * the packed tables after them. */
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
        if (!base_grow(&arr, &e->strs_cap, e->n_strs + 1, sizeof(char *)))
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
        if (!f || !base_grow(&arr, &e->fns_cap, e->n_fns + 1, sizeof(pb_function *)))
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
        if (!mp || !base_grow(&arr, &e->maps_cap, e->n_maps + 1, sizeof(pb_mapping *)))
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

/* ---- hand encoding of samples ---- */

static uint32_t varint_len(uint64_t v)
{
    uint32_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Length of a length-delimited field (tag byte + length + payload). */
static uint64_t field_len(uint64_t payload)
{
    return 1 + varint_len(payload) + payload;
}

/* Sample{location_id=1 packed, value=2 packed, label=3}: `loc_bytes` is the packed
 * location list's payload, `label_bytes` the labels' records. */
static uint64_t sample_body_len(uint64_t loc_bytes, int64_t value, uint64_t label_bytes)
{
    return (loc_bytes ? field_len(loc_bytes) : 0) + field_len(varint_len((uint64_t)value)) +
           label_bytes;
}

/* Label{key=1, str=2} (string ids; zeros are left out, as protobuf-c does). */
static uint64_t label_body_len(int64_t key, int64_t str)
{
    return (key ? 1 + varint_len((uint64_t)key) : 0) + (str ? 1 + varint_len((uint64_t)str) : 0);
}

/* The same as a Profile.sample (field 2) record. */
static uint64_t sample_len(uint64_t loc_bytes, int64_t value, uint64_t label_bytes)
{
    return field_len(sample_body_len(loc_bytes, value, label_bytes));
}

/* A gzip stream into a growing buffer; uncompressed bytes are staged in `in`. */
typedef struct zout {
    z_stream zs;
    bool open;
    uint8_t *out;
    size_t out_len, out_cap;
    uint8_t *in;
    size_t in_len, in_cap;
    uint64_t written; /* uncompressed bytes */
} zout;

#define ZOUT_CHUNK ((size_t)64 << 10)

static int zout_open(zout *z)
{
    memset(z, 0, sizeof *z);
    if (deflateInit2(&z->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    z->open = true;
    return 0;
}

static void zout_close(zout *z)
{
    if (z->open)
        deflateEnd(&z->zs);
    free(z->out);
    free(z->in);
    memset(z, 0, sizeof *z);
}

/* Compresses `len` bytes at `in` (and ends the stream with Z_FINISH). */
static int zout_deflate(zout *z, const uint8_t *in, size_t len, int mode)
{
    if (len > UINT32_MAX / 2)
        return -1;
    z->zs.next_in = (Bytef *)(uintptr_t)in;
    z->zs.avail_in = (uInt)len;
    for (;;) {
        if (z->out_cap - z->out_len < 4096) {
            size_t nc = z->out_cap ? z->out_cap * 2 : ZOUT_CHUNK;
            uint8_t *o = realloc(z->out, nc);
            if (!o)
                return -1;
            z->out = o;
            z->out_cap = nc;
        }
        size_t room = z->out_cap - z->out_len;
        if (room > UINT32_MAX / 2)
            room = UINT32_MAX / 2;
        z->zs.next_out = z->out + z->out_len;
        z->zs.avail_out = (uInt)room;
        uInt avail_in = z->zs.avail_in;
        int rc = deflate(&z->zs, mode);
        size_t produced = room - z->zs.avail_out;
        z->out_len += produced;
        if (rc == Z_STREAM_END)
            break;
        if (mode == Z_NO_FLUSH && z->zs.avail_in == 0 && z->zs.avail_out != 0)
            break; /* all of it taken in, and deflate had room to spare */
        if ((rc != Z_OK && rc != Z_BUF_ERROR) ||
            (produced == 0 && z->zs.avail_in == avail_in && z->zs.avail_out != 0))
            return -1; /* no progress with room to spare: would loop forever */
    }
    return 0;
}

/* Compresses what is staged. */
static int zout_flush(zout *z)
{
    if (zout_deflate(z, z->in, z->in_len, Z_NO_FLUSH))
        return -1;
    z->in_len = 0;
    return 0;
}

/* Room for `n` more staged bytes (flushing first when the chunk is full); NULL on
 * failure. The caller writes at most n bytes and then adds them to in_len. */
static uint8_t *zout_reserve(zout *z, uint64_t n)
{
    if (z->in_len > 0 && z->in_len + n > ZOUT_CHUNK && zout_flush(z))
        return NULL;
    if (z->in_len + n > z->in_cap) {
        if (n > (uint64_t)SIZE_MAX / 4)
            return NULL;
        size_t nc = z->in_cap ? z->in_cap : ZOUT_CHUNK;
        while (nc < z->in_len + n)
            nc *= 2;
        uint8_t *b = realloc(z->in, nc);
        if (!b)
            return NULL;
        z->in = b;
        z->in_cap = nc;
    }
    return z->in + z->in_len;
}

/* Ends the stream with `tail` (compressed from where it is, not staged). */
static int zout_finish(zout *z, const uint8_t *tail, size_t n)
{
    if (zout_flush(z) || zout_deflate(z, tail, n, Z_FINISH))
        return -1;
    z->written += n;
    return 0;
}

/* The string ids of one label set's labels (key, value) and their encoded size. */
typedef struct lset {
    uint32_t first, n; /* pairs in enc_ids */
    uint64_t bytes;    /* Sample.label records */
} lset;

typedef struct exporter {
    const win_merged *m;
    uint64_t *loc_bytes; /* per node: payload of its packed location list */
    lset *sets;
    int64_t *pairs; /* key, str, key, str, ... */
    zout z;
    uint64_t samples;
} exporter;

/* Writes one Sample record: the node's stack (leaf first, as pprof wants; location id =
 * frame index + 1), its value, and the labels of set `ls` (UINT32_MAX: none). */
static int write_sample(exporter *x, uint32_t node, int64_t value, uint32_t ls)
{
    uint64_t lb = ls == UINT32_MAX ? 0 : x->sets[ls].bytes;
    uint64_t loc = x->loc_bytes[node];
    uint64_t body = sample_body_len(loc, value, lb), rec = field_len(body);
    uint8_t *w = zout_reserve(&x->z, rec), *start = w;
    if (!w)
        return -1;
    w = put_varint(w, (2 << 3) | 2); /* Profile.sample */
    w = put_varint(w, body);
    if (loc) {
        w = put_varint(w, (1 << 3) | 2); /* Sample.location_id, packed */
        w = put_varint(w, loc);
        for (uint32_t j = node; j != 0; j = (uint32_t)x->m->nodes[j].parent)
            w = put_varint(w, (uint64_t)x->m->nodes[j].frame + 1);
    }
    w = put_varint(w, (2 << 3) | 2); /* Sample.value, packed */
    w = put_varint(w, varint_len((uint64_t)value));
    w = put_varint(w, (uint64_t)value);
    if (ls != UINT32_MAX) {
        const lset *s = &x->sets[ls];
        for (uint32_t i = 0; i < s->n; i++) {
            int64_t key = x->pairs[2 * (size_t)(s->first + i)];
            int64_t str = x->pairs[2 * (size_t)(s->first + i) + 1];
            w = put_varint(w, (3 << 3) | 2); /* Sample.label */
            w = put_varint(w, label_body_len(key, str));
            if (key) {
                w = put_varint(w, (1 << 3) | 0); /* Label.key */
                w = put_varint(w, (uint64_t)key);
            }
            if (str) {
                w = put_varint(w, (2 << 3) | 0); /* Label.str */
                w = put_varint(w, (uint64_t)str);
            }
        }
    }
    if ((uint64_t)(w - start) != rec)
        return -1; /* the size computation and the writer disagree: a bug, not data */
    x->z.in_len += rec;
    x->z.written += rec;
    x->samples++;
    return 0;
}

/* String ids for every label set's labels (trace/span ids as hex), so that the table is
 * complete, and its size known, before any sample is written. */
static int label_ids(enc *e, exporter *x)
{
    const win_merged *m = x->m;
    size_t n_pairs = 0;
    for (uint32_t i = 0; i < m->n_label_sets; i++) {
        const win_label_set *ls = &m->label_sets[i];
        n_pairs += (size_t)ls->n_attrs + (ls->trace_id ? 1 : 0) + (ls->span_id ? 1 : 0);
    }
    if (n_pairs >= UINT32_MAX)
        return -1;
    x->sets = calloc((size_t)m->n_label_sets + 1, sizeof *x->sets);
    x->pairs = malloc((2 * n_pairs + 2) * sizeof *x->pairs);
    if (!x->sets || !x->pairs)
        return -1;
    uint32_t k = 0;
    for (uint32_t i = 0; i < m->n_label_sets; i++) {
        const win_label_set *ls = &m->label_sets[i];
        lset *s = &x->sets[i];
        s->first = k;
        for (uint32_t a = 0; a < ls->n_attrs; a++) {
            if ((x->pairs[2 * (size_t)k] = str_id(e, ls->attrs[a].key)) < 0 ||
                (x->pairs[2 * (size_t)k + 1] = str_id(e, ls->attrs[a].value)) < 0)
                return -1;
            k++;
        }
        const char *keys[2] = {"trace_id", "span_id"};
        const uint8_t *ids[2] = {ls->trace_id, ls->span_id};
        size_t lens[2] = {16, 8};
        for (int t = 0; t < 2; t++) {
            if (!ids[t])
                continue;
            char *h = hex(&e->arena, ids[t], lens[t]);
            if (!h || (x->pairs[2 * (size_t)k] = str_id(e, keys[t])) < 0 ||
                (x->pairs[2 * (size_t)k + 1] = str_id(e, h)) < 0)
                return -1;
            k++;
        }
        s->n = k - s->first;
        for (uint32_t p = s->first; p < k; p++) {
            int64_t key = x->pairs[2 * (size_t)p], str = x->pairs[2 * (size_t)p + 1];
            s->bytes += field_len(label_body_len(key, str));
        }
    }
    return 0;
}

/* A labeled entry by weight (|value|), to keep the labels of the heaviest first. */
typedef struct weighed {
    uint64_t weight;
    uint32_t entry;
} weighed;

static int by_weight(const void *a, const void *b)
{
    const weighed *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

int query_export_pprof(const win_merged *m, const query_pprof_opts *o, query_pprof_info *info,
                       uint8_t **out, size_t *out_len, char *err, size_t err_len)
{
    base_set_err(err, err_len, "%s", "");
    if (info)
        memset(info, 0, sizeof *info);
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
    bool labeled = m->labeled && m->n_labeled > 0;
    for (uint32_t i = 0; labeled && i < m->n_labeled; i++) {
        if (m->labeled[i].node >= m->n_nodes || m->labeled[i].labels >= m->n_label_sets) {
            base_set_err(err, err_len, "query: pprof export: malformed labeled merge result");
            return -1;
        }
    }
    uint64_t max_bytes = o && o->max_bytes ? o->max_bytes : QUERY_PPROF_MAX_BYTES;
    uint64_t label_bytes = o && o->label_bytes ? o->label_bytes : QUERY_PPROF_LABEL_BYTES;
    if (label_bytes > max_bytes)
        label_bytes = max_bytes;
    uint64_t max_samples = o && o->max_samples ? o->max_samples : QUERY_PPROF_MAX_SAMPLES;
    enc e;
    memset(&e, 0, sizeof e);
    base_arena_init(&e.arena, 65536, 0);
    exporter x;
    memset(&x, 0, sizeof x);
    x.m = m;
    uint8_t *packed = NULL, *keep = NULL, *folded = NULL;
    weighed *order = NULL;
    int64_t *fold = NULL;
    pb_location **locs = NULL;
    const char *what = "out of memory";
    bool oom = true; /* the kind of a failure that `what` describes */
    bool too_large = false, ok = false;
    uint64_t need_bytes = 0, need_samples = 0;
    x.loc_bytes = malloc((size_t)m->n_nodes * sizeof *x.loc_bytes);
    if (!x.loc_bytes || str_id(&e, "") != 0 || zout_open(&x.z))
        goto fail;
    x.loc_bytes[0] = 0;
    for (uint32_t i = 1; i < m->n_nodes; i++)
        x.loc_bytes[i] =
            x.loc_bytes[m->nodes[i].parent] + varint_len((uint64_t)m->nodes[i].frame + 1);

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
    if (labeled && label_ids(&e, &x))
        goto fail;

    /* everything but the samples, now that the string table is complete */
    pb_profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
    pb_value_type *sts[1] = {st};
    p.sample_type = sts;
    p.n_sample_type = 1;
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

    /* The floor: one unlabelled sample per stack that carries value, within max_bytes.
     * Label sets are then kept, heaviest first, while the profile stays within
     * label_bytes; the rest of a stack's value goes to its unlabelled sample, so stacks
     * and totals stay exact and only labels are lost. */
    need_bytes = plen;
    if (labeled) {
        folded = calloc(m->n_nodes, sizeof *folded);
        fold = calloc(m->n_nodes, sizeof *fold);
        keep = calloc(m->n_labeled, sizeof *keep);
        order = malloc((size_t)m->n_labeled * sizeof *order);
        if (!folded || !fold || !keep || !order)
            goto fail;
        uint32_t n_order = 0;
        for (uint32_t i = 0; i < m->n_labeled; i++) {
            const win_labeled *lb = &m->labeled[i];
            if (lb->value == 0)
                continue;
            uint64_t v = (uint64_t)lb->value;
            order[n_order++] = (weighed){lb->value < 0 ? 0 - v : v, i};
            if (!folded[lb->node]) { /* reserve this stack's unlabelled sample */
                folded[lb->node] = 1;
                need_bytes += sample_len(x.loc_bytes[lb->node], -1, 0); /* -1: 10 bytes */
                need_samples++;
            }
        }
        if (need_bytes > max_bytes || need_samples > max_samples) {
            too_large = true;
            goto fail;
        }
        uint64_t room_bytes = need_bytes < label_bytes ? label_bytes - need_bytes : 0;
        uint64_t room_samples = max_samples - need_samples;
        qsort(order, n_order, sizeof *order, by_weight);
        for (uint32_t k = 0; k < n_order && room_samples > 0; k++) {
            const win_labeled *lb = &m->labeled[order[k].entry];
            uint64_t cost = sample_len(x.loc_bytes[lb->node], lb->value, x.sets[lb->labels].bytes);
            if (cost > room_bytes)
                continue; /* a shallower stack or a smaller label set may still fit */
            keep[order[k].entry] = 1;
            room_bytes -= cost;
            room_samples--;
        }
        memset(folded, 0, m->n_nodes);
        for (uint32_t i = 0; i < m->n_labeled; i++) {
            const win_labeled *lb = &m->labeled[i];
            if (lb->value == 0)
                continue;
            if (keep[i]) {
                if (write_sample(&x, lb->node, lb->value, lb->labels))
                    goto fail;
            } else {
                fold[lb->node] = base_sat_add(fold[lb->node], lb->value);
                folded[lb->node] = 1;
                if (info) {
                    info->folded++;
                    info->folded_value = base_sat_add(info->folded_value, lb->value);
                }
            }
        }
        for (uint32_t i = 0; i < m->n_nodes; i++)
            if (folded[i] && fold[i] != 0 && write_sample(&x, i, fold[i], UINT32_MAX))
                goto fail;
    } else {
        for (uint32_t i = 0; i < m->n_nodes; i++) {
            if (m->nodes[i].self == 0)
                continue;
            need_bytes += sample_len(x.loc_bytes[i], m->nodes[i].self, 0);
            need_samples++;
        }
        if (need_bytes > max_bytes || need_samples > max_samples) {
            too_large = true;
            goto fail;
        }
        for (uint32_t i = 0; i < m->n_nodes; i++)
            if (m->nodes[i].self != 0 && write_sample(&x, i, m->nodes[i].self, UINT32_MAX))
                goto fail;
    }
    if (!(packed = malloc(plen + 1)))
        goto fail;
    if (perftools__profiles__profile__pack(&p, packed) != plen) {
        what = "protobuf encoding failed";
        oom = false;
        goto fail;
    }
    if (zout_finish(&x.z, packed, plen)) {
        what = "gzip failed";
        oom = false;
        goto fail;
    }
    if (info) {
        info->samples = x.samples;
        info->encoded_bytes = x.z.written;
    }
    *out = x.z.out;
    *out_len = x.z.out_len;
    x.z.out = NULL;
    ok = true;
fail: /* and the way out of a success: the scratch goes either way */
    zout_close(&x.z);
    free(packed);
    free(keep);
    free(folded);
    free(order);
    free(fold);
    free(locs);
    free(x.loc_bytes);
    free(x.sets);
    free(x.pairs);
    enc_free(&e);
    if (ok)
        return 0;
    if (info)
        memset(info, 0, sizeof *info);
    if (too_large)
        base_set_err(err, err_len,
                     "query: pprof export: the profile needs %llu bytes and %llu samples even "
                     "without sample labels, over the export limits (%llu bytes, %llu samples): "
                     "narrow the selector or the time range",
                     (unsigned long long)need_bytes, (unsigned long long)need_samples,
                     (unsigned long long)max_bytes, (unsigned long long)max_samples);
    else
        base_set_err(err, err_len, "query: pprof export: %s", what);
    if (!too_large && oom)
        base_alloc_failed_note(); /* the kind, for callers that answer for a whole request */
    return -1;
}
