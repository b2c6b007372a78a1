/* window/query.c — win_merge (bucket entries -> one call tree) and win_top (pprof -top). */
#include "window/window_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* ---- a small open-addressing map, per query (not store memory) ---- */

void win__qmap_free(win__qmap *m)
{
    free(m->keys);
    free(m->vals);
    free(m->aux);
    free(m->used);
    memset(m, 0, sizeof *m);
}

static bool qmap_alloc(win__qmap *m, size_t cap)
{
    memset(m, 0, sizeof *m);
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    m->aux = malloc(cap * sizeof *m->aux);
    m->used = calloc(cap, 1);
    m->cap = cap;
    if (!m->keys || !m->vals || !m->aux || !m->used) {
        win__qmap_free(m);
        return false;
    }
    return true;
}

static size_t qmap_probe(const win__qmap *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)base_mix64(key) & mask;; i = (i + 1) & mask)
        if (!m->used[i] || m->keys[i] == key)
            return i;
}

/* Returns the slot of `key`, inserting (val 0, aux WIN__NONE) when absent; SIZE_MAX on OOM.
 * Slots move when the map grows: never keep one across another win__qmap_get. */
size_t win__qmap_get(win__qmap *m, uint64_t key, bool *inserted)
{
    if ((m->n + 1) * 2 > m->cap) {
        win__qmap g;
        if (!qmap_alloc(&g, m->cap ? m->cap * 2 : 64))
            return SIZE_MAX;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->used[i])
                continue;
            size_t j = qmap_probe(&g, m->keys[i]);
            g.used[j] = 1;
            g.keys[j] = m->keys[i];
            g.vals[j] = m->vals[i];
            g.aux[j] = m->aux[i];
        }
        g.n = m->n;
        win__qmap_free(m);
        *m = g;
    }
    size_t i = qmap_probe(m, key);
    if (inserted)
        *inserted = !m->used[i];
    if (!m->used[i]) {
        m->used[i] = 1;
        m->keys[i] = key;
        m->vals[i] = 0;
        m->aux[i] = WIN__NONE;
        m->n++;
    }
    return i;
}

size_t win__qmap_find(const win__qmap *m, uint64_t key)
{
    if (!m->cap)
        return SIZE_MAX;
    size_t i = qmap_probe(m, key);
    return m->used[i] ? i : SIZE_MAX;
}

/* ---- result ---- */

void win_merged_free(win_merged *m)
{
    if (!m)
        return;
    if (m->priv) {
        base_arena_free(&m->priv->arena);
        free(m->priv->fn_of_frame);
        free(m->priv->fn_name);
        free(m->priv->fn_file);
        free(m->priv->fn_type);
        free(m->priv);
    }
    free(m->frames);
    free(m->nodes);
    free(m->labeled);
    free(m->label_sets);
    free(m);
}

/* Store ids are dense (bounded by each table's high-water mark), so the store -> result
 * maps are flat arrays indexed by id: one load per lookup instead of a hash probe, which
 * was most of the per-node cost of a merge over many services. */
typedef struct builder {
    const win_store *st;
    win_merged *m;
    uint32_t *node_out;   /* store node -> merged node index, WIN__NONE when not emitted */
    uint32_t *frame_out;  /* store frame -> merged frame index */
    const char **str_out; /* store string -> its copy in the result arena */
    uint32_t *fn_of_str;  /* function name id (symbolized) -> function index */
    uint32_t n_node_ids, n_frame_ids, n_str_ids;
    win__qmap fns_addr; /* address of an unsymbolized frame -> aux: function index */
    uint32_t nodes_cap, frames_cap, fn_cap;
    /* frame filter: per store frame 0 = not decided yet, 1 = kept, 2 = dropped */
    const win_frame_filter *ff;
    uint32_t ff_ids[WIN_FRAME_FILTER_MAX]; /* string ids of the filter's types */
    uint32_t n_ff_ids;
    uint8_t *frame_keep;
} builder;

/* Whether the frame filter keeps store frame `fid` (no filter: always). */
static bool keeps_frame(builder *b, uint32_t fid)
{
    if (!b->ff || fid >= b->n_frame_ids)
        return true;
    if (!b->frame_keep[fid]) {
        uint32_t type = win__frames(b->st)[fid].frame_type;
        bool listed = false;
        for (uint32_t i = 0; i < b->n_ff_ids && !listed; i++)
            listed = b->ff_ids[i] == type;
        b->frame_keep[fid] = listed != b->ff->exclude ? 1 : 2;
    }
    return b->frame_keep[fid] == 1;
}

static const char *copy_str(builder *b, uint32_t id)
{
    if (id >= b->n_str_ids) /* cannot happen: frames and sets hold live string ids */
        return NULL;
    if (b->str_out[id])
        return b->str_out[id];
    const win__str *s = &win__strs(b->st)[id];
    if (!s->s)
        return NULL;
    return b->str_out[id] = base_arena_strndup(&b->m->priv->arena, s->s, s->len);
}

/* Maps a store frame to a merged frame, copying its strings and assigning its function. */
static uint32_t map_frame(builder *b, uint32_t fid)
{
    if (fid >= b->n_frame_ids)
        return WIN__NONE;
    if (b->frame_out[fid] != WIN__NONE)
        return b->frame_out[fid];
    win_merged *m = b->m;
    struct win_merged_priv *pv = m->priv;
    const win__frame *f = &win__frames(b->st)[fid];
    void *fr = m->frames, *ff = pv->fn_of_frame;
    uint32_t c1 = b->frames_cap, c2 = b->frames_cap;
    if (!base_grow(&fr, &c1, m->n_frames + 1, sizeof(win_frame)))
        return WIN__NONE;
    m->frames = fr;
    if (!base_grow(&ff, &c2, m->n_frames + 1, sizeof(uint32_t)))
        return WIN__NONE;
    pv->fn_of_frame = ff;
    if (c1 != c2) /* keep both arrays at one capacity */
        return WIN__NONE;
    b->frames_cap = c1;
    win_frame *out = &m->frames[m->n_frames];
    out->function = copy_str(b, f->function);
    out->file = copy_str(b, f->file);
    out->mapping = copy_str(b, f->mapping);
    out->build_id = copy_str(b, f->build_id);
    out->frame_type = copy_str(b, f->frame_type);
    out->line = f->line;
    out->start_line = f->start_line;
    out->address = f->address;
    if (!out->function || !out->file || !out->mapping || !out->build_id || !out->frame_type)
        return WIN__NONE;
    /* symbolized functions are keyed by name (interned: the id is the name), unsymbolized
     * ones by address */
    bool symbolized = out->function[0] != '\0';
    uint32_t *fn_slot;
    if (symbolized) {
        fn_slot = &b->fn_of_str[f->function]; /* in range: copy_str checked it */
    } else {
        size_t fs = win__qmap_get(&b->fns_addr, f->address, NULL);
        if (fs == SIZE_MAX)
            return WIN__NONE;
        fn_slot = &b->fns_addr.aux[fs];
    }
    if (*fn_slot == WIN__NONE) {
        void *fnn = (void *)pv->fn_name, *fnf = (void *)pv->fn_file, *fnt = (void *)pv->fn_type;
        uint32_t a1 = b->fn_cap, a2 = b->fn_cap, a3 = b->fn_cap;
        if (!base_grow(&fnn, &a1, pv->n_fn + 1, sizeof(char *)))
            return WIN__NONE;
        pv->fn_name = fnn;
        if (!base_grow(&fnf, &a2, pv->n_fn + 1, sizeof(char *)))
            return WIN__NONE;
        pv->fn_file = fnf;
        if (!base_grow(&fnt, &a3, pv->n_fn + 1, sizeof(char *)))
            return WIN__NONE;
        pv->fn_type = fnt;
        if (a1 != a2 || a1 != a3)
            return WIN__NONE;
        b->fn_cap = a1;
        const char *name = out->function;
        if (!symbolized)
            name = base_arena_printf(&pv->arena, "0x%llx", (unsigned long long)f->address);
        if (!name)
            return WIN__NONE;
        pv->fn_name[pv->n_fn] = name;
        pv->fn_file[pv->n_fn] = out->file;
        pv->fn_type[pv->n_fn] = out->frame_type;
        *fn_slot = pv->n_fn++;
    }
    pv->fn_of_frame[m->n_frames] = *fn_slot;
    b->frame_out[fid] = m->n_frames;
    return m->n_frames++;
}

/* Emits store node `leaf` and any ancestors not emitted yet, parents first; `acc` holds
 * each store node's own value. */
static bool emit_path(builder *b, const int64_t *acc, uint32_t leaf, uint32_t **path,
                      uint32_t *path_cap)
{
    const win__node *nodes = win__nodes(b->st);
    uint32_t len = 0, id = leaf;
    uint32_t parent_out = 0;
    while (id != 0) {
        /* ids come from entries and parent links of live nodes; a bad one fails the
         * merge, and the length check below stops a (corrupt) cycle */
        if (id >= b->n_node_ids || len > b->n_node_ids)
            return false;
        if (b->node_out[id] != WIN__NONE) {
            parent_out = b->node_out[id];
            break;
        }
        void *p = *path;
        if (!base_grow(&p, path_cap, len + 1, sizeof(uint32_t)))
            return false;
        *path = p;
        (*path)[len++] = id;
        id = nodes[id].parent;
    }
    win_merged *m = b->m;
    while (len-- > 0) {
        uint32_t nid = (*path)[len];
        if (!keeps_frame(b, nodes[nid].frame)) {
            /* dropped by the frame filter: its callees hang from its caller, its own
             * value is its caller's (as pprof -show/-hide) */
            b->m->nodes[parent_out].self = base_sat_add(b->m->nodes[parent_out].self, acc[nid]);
            b->node_out[nid] = parent_out;
            continue;
        }
        uint32_t f = map_frame(b, nodes[nid].frame);
        if (f == WIN__NONE)
            return false;
        void *arr = m->nodes;
        if (!base_grow(&arr, &b->nodes_cap, m->n_nodes + 1, sizeof(win_node)))
            return false;
        m->nodes = arr;
        m->nodes[m->n_nodes] = (win_node){(int32_t)parent_out, f, acc[nid]};
        b->node_out[nid] = m->n_nodes;
        parent_out = m->n_nodes++;
    }
    return true;
}

/* Marks store node `nid` seen and lists it (the root is not listed: it is always in the
 * result); false on allocation failure. */
static bool touch(uint8_t *seen, uint32_t nid, uint32_t **touched, uint32_t *n, uint32_t *cap)
{
    seen[nid] = 1;
    if (nid == 0)
        return true;
    void *arr = *touched;
    if (!base_grow(&arr, cap, *n + 1, sizeof(uint32_t)))
        return false;
    *touched = arr;
    (*touched)[(*n)++] = nid;
    return true;
}

/* Keeps nodes whose subtree value is not 0 (and their ancestors), renumbering in order.
 * With `map_out`, hands back old index -> new index (WIN__NONE when dropped). */
static bool prune(win_merged *m, uint32_t **map_out)
{
    uint32_t n = m->n_nodes;
    int64_t *cum = malloc((size_t)n * sizeof *cum);
    uint32_t *map = malloc((size_t)n * sizeof *map);
    if (!cum || !map) {
        free(cum);
        free(map);
        return false;
    }
    for (uint32_t i = 0; i < n; i++)
        cum[i] = m->nodes[i].self;
    for (uint32_t i = n; i-- > 1;)
        cum[m->nodes[i].parent] = base_sat_add(cum[m->nodes[i].parent], cum[i]);
    for (uint32_t i = 0; i < n; i++)
        map[i] = (i == 0 || cum[i] != 0) ? 1 : 0;
    for (uint32_t i = n; i-- > 1;)
        if (map[i])
            map[m->nodes[i].parent] = 1;
    uint32_t w = 0;
    int64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!map[i]) {
            map[i] = WIN__NONE;
            continue;
        }
        win_node nd = m->nodes[i];
        if (i)
            nd.parent = (int32_t)map[nd.parent];
        map[i] = w;
        m->nodes[w++] = nd;
        total = base_sat_add(total, nd.self);
    }
    m->n_nodes = w;
    m->total = total;
    free(cum);
    if (map_out)
        *map_out = map;
    else
        free(map);
    return true;
}

bool win__set_find(const win_store *st, const win__set *s, const char *key, const char **value)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (strcmp(win__str_get(st, s->kv[2 * i]), key) == 0) {
            *value = win__str_get(st, s->kv[2 * i + 1]);
            return true;
        }
    }
    return false;
}

/* ---- keep_labels ---- */

/* Copies store label set `id` into the result (strings through the builder's string map). */
static bool copy_label_set(builder *b, uint32_t id, win_label_set *out)
{
    const win__set *s = win__label_set(b->st, id);
    base_arena *a = &b->m->priv->arena;
    memset(out, 0, sizeof *out);
    if (s->n) {
        win_attr *attrs = base_arena_calloc(a, s->n, sizeof *attrs);
        if (!attrs)
            return false;
        for (uint32_t i = 0; i < s->n; i++) {
            attrs[i].key = copy_str(b, s->kv[2 * i]);
            attrs[i].value = copy_str(b, s->kv[2 * i + 1]);
            if (!attrs[i].key || !attrs[i].value)
                return false;
        }
        out->attrs = attrs;
        out->n_attrs = s->n;
    }
    if (s->has_trace) {
        uint8_t *t = base_arena_alloc(a, 16);
        if (!t)
            return false;
        memcpy(t, s->trace_id, 16);
        out->trace_id = t;
    }
    if (s->has_span) {
        uint8_t *t = base_arena_alloc(a, 8);
        if (!t)
            return false;
        memcpy(t, s->span_id, 8);
        out->span_id = t;
    }
    return true;
}

/* Turns the (store node, store label set) sums into result pairs and label sets; runs
 * under the lock, after emit_path, so every node with a value has its result index. */
static bool collect_labeled(builder *b, const win__qmap *pairs)
{
    win_merged *m = b->m;
    win__qmap sets; /* store label set -> aux: result label set */
    memset(&sets, 0, sizeof sets);
    uint32_t cap_l = 0, cap_s = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < pairs->cap; i++) {
        if (!pairs->used[i] || pairs->vals[i] == 0)
            continue;
        uint32_t node = (uint32_t)(pairs->keys[i] >> 32), lid = (uint32_t)pairs->keys[i];
        /* not emitted: the node's sum is 0, so are its pairs' */
        if (node >= b->n_node_ids || b->node_out[node] == WIN__NONE)
            continue;
        size_t ss = win__qmap_get(&sets, lid, NULL);
        if (ss == SIZE_MAX) {
            ok = false;
            break;
        }
        if (sets.aux[ss] == WIN__NONE) {
            void *arr = m->label_sets;
            if (!base_grow(&arr, &cap_s, m->n_label_sets + 1, sizeof(win_label_set))) {
                ok = false;
                break;
            }
            m->label_sets = arr;
            if (!copy_label_set(b, lid, &m->label_sets[m->n_label_sets])) {
                ok = false;
                break;
            }
            sets.aux[ss] = m->n_label_sets++;
        }
        void *arr = m->labeled;
        if (!base_grow(&arr, &cap_l, m->n_labeled + 1, sizeof(win_labeled))) {
            ok = false;
            break;
        }
        m->labeled = arr;
        m->labeled[m->n_labeled++] = (win_labeled){b->node_out[node], sets.aux[ss], pairs->vals[i]};
    }
    win__qmap_free(&sets);
    return ok;
}

static int labeled_cmp(const void *a, const void *b)
{
    const win_labeled *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return (x->labels > y->labels) - (x->labels < y->labels);
}

/* After prune: renumbers pairs to the kept nodes (dropping the pruned ones), sorts them by
 * node and keeps only the label sets still used, numbered in order of first use. */
static bool finish_labeled(win_merged *m, const uint32_t *renum)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i < m->n_labeled; i++) {
        uint32_t nn = renum[m->labeled[i].node];
        if (nn == WIN__NONE)
            continue;
        m->labeled[w] = m->labeled[i];
        m->labeled[w++].node = nn;
    }
    m->n_labeled = w;
    if (w > 1)
        qsort(m->labeled, w, sizeof *m->labeled, labeled_cmp);
    if (!m->n_label_sets)
        return true;
    uint32_t *lmap = malloc((size_t)m->n_label_sets * sizeof *lmap);
    win_label_set *sets = malloc((size_t)m->n_label_sets * sizeof *sets);
    if (!lmap || !sets) {
        free(lmap);
        free(sets);
        return false;
    }
    memset(lmap, 0xff, (size_t)m->n_label_sets * sizeof *lmap);
    uint32_t k = 0;
    for (uint32_t i = 0; i < w; i++) {
        uint32_t l = m->labeled[i].labels;
        if (lmap[l] == WIN__NONE) {
            lmap[l] = k;
            sets[k++] = m->label_sets[l];
        }
        m->labeled[i].labels = lmap[l];
    }
    free(lmap);
    free(m->label_sets);
    m->label_sets = sets;
    m->n_label_sets = k;
    return true;
}

const char *win__label_attr(const win_store *st, const win__set *ls, const char *name, char *buf)
{
    const char *v = "";
    if (win__set_find(st, ls, name, &v))
        return v;
    const uint8_t *id = NULL;
    size_t n = 0;
    if (ls->has_trace && strcmp(name, "trace_id") == 0) {
        id = ls->trace_id;
        n = 16;
    } else if (ls->has_span && strcmp(name, "span_id") == 0) {
        id = ls->span_id;
        n = 8;
    }
    if (!id)
        return "";
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = hex[id[i] >> 4];
        buf[2 * i + 1] = hex[id[i] & 15];
    }
    buf[2 * n] = '\0';
    return buf;
}

/* ---- win_merge, one function per phase ---- */

/* The scan of one merge: per store node sums and the bookkeeping of the series walk. */
typedef struct merge_scan {
    int64_t *acc;      /* store node -> its own value summed over the matching entries */
    uint8_t *seen;     /* store node -> already listed in touched */
    uint32_t n_ids;    /* store nodes when the scan began (acc and seen hold n_ids + 1) */
    uint32_t *touched; /* store nodes with entries, first seen first */
    uint32_t n_touched, touched_cap;
    const win__matcher **pending; /* the current series' matchers left for label sets */
    uint32_t n_pending;
    win__qmap cache;            /* label set -> val: (series stamp << 1) | matched */
    win__qmap pairs;            /* keep_labels: (node << 32 | label set) -> val: sum */
    const win__matcher *failed; /* a regex that hit its match limit */
    int64_t cov_lo, cov_hi;     /* time covered by the buckets that contributed */
} merge_scan;

static void merge_scan_free(merge_scan *sc)
{
    free(sc->touched);
    free(sc->acc);
    free(sc->seen);
    free(sc->pending);
    win__qmap_free(&sc->cache);
    win__qmap_free(&sc->pairs);
}

static void builder_free(builder *b)
{
    free(b->node_out);
    free(b->frame_out);
    free((void *)b->str_out);
    free(b->fn_of_str);
    free(b->frame_keep);
    win__qmap_free(&b->fns_addr);
}

/* The empty result (the root only) and the builder that fills it; NULL when out of memory. */
static win_merged *merge_result_new(const win_query *q, builder *b)
{
    win_merged *m = calloc(1, sizeof *m);
    if (!m || !(m->priv = calloc(1, sizeof *m->priv))) {
        free(m);
        return NULL;
    }
    base_arena_init(&m->priv->arena, 4096, 0);
    m->profile_type = base_arena_strndup(&m->priv->arena, q->profile_type,
                                         strnlen(q->profile_type, WIN__MAX_STRING_LEN));
    if (!m->profile_type || !(m->nodes = malloc(64 * sizeof *m->nodes))) {
        win_merged_free(m);
        return NULL;
    }
    b->nodes_cap = 64;
    b->m = m;
    m->nodes[0] = (win_node){-1, UINT32_MAX, 0};
    m->n_nodes = 1;
    return m;
}

/* Per-entry sums go into a flat array indexed by node id (ids are dense, bounded by the
 * node table): one add per entry instead of a hash probe. Only the nodes touched (and
 * their ancestors) are then emitted into the result tree. calloc of a large array is
 * lazily zeroed pages, so a query over a few series touches little of it. Under the
 * store's lock (the tables' sizes are read). */
static bool merge_tables_alloc(builder *b, merge_scan *sc)
{
    const win_store *st = b->st;
    uint32_t n_ids = st->nodes.n;
    sc->n_ids = n_ids;
    b->n_node_ids = n_ids;
    b->n_frame_ids = st->frames.n;
    b->n_str_ids = st->strings.n;
    sc->acc = calloc((size_t)n_ids + 1, sizeof *sc->acc);
    sc->seen = calloc((size_t)n_ids + 1, 1);
    b->node_out = malloc(((size_t)n_ids + 1) * sizeof *b->node_out);
    b->frame_out = malloc(((size_t)b->n_frame_ids + 1) * sizeof *b->frame_out);
    b->str_out = calloc((size_t)b->n_str_ids + 1, sizeof *b->str_out);
    b->fn_of_str = malloc(((size_t)b->n_str_ids + 1) * sizeof *b->fn_of_str);
    if (b->ff) {
        b->frame_keep = calloc((size_t)b->n_frame_ids + 1, 1);
        for (uint32_t i = 0; i < b->ff->n_types; i++) {
            /* a type no frame has matches nothing */
            const char *type = b->ff->types[i];
            b->ff_ids[b->n_ff_ids++] = type ? win__find_str(st, type) : WIN__NONE;
        }
    }
    if (!sc->acc || !sc->seen || !b->node_out || !b->frame_out || !b->str_out || !b->fn_of_str ||
        (b->ff && !b->frame_keep))
        return false;
    memset(b->node_out, 0xff, ((size_t)n_ids + 1) * sizeof *b->node_out);
    memset(b->frame_out, 0xff, ((size_t)b->n_frame_ids + 1) * sizeof *b->frame_out);
    memset(b->fn_of_str, 0xff, ((size_t)b->n_str_ids + 1) * sizeof *b->fn_of_str);
    return true;
}

/* Matchers on resource attributes decide for the whole series; the rest are left in
 * sc->pending, evaluated once per label set (the resource attribute wins a name clash).
 * 1 = the series may match, 0 = it does not, -1 = a matcher failed (sc->failed). */
static int series_matches(const win_store *st, const win__series *s, const win_selector *sel,
                          merge_scan *sc)
{
    const win__set *rs = win__rattr_set(st, s->rattr);
    sc->n_pending = 0;
    for (uint32_t i = 0; sel && i < sel->n; i++) {
        const char *v;
        if (!win__set_find(st, rs, sel->m[i].name, &v)) {
            sc->pending[sc->n_pending++] = &sel->m[i];
            continue;
        }
        int r = win__matcher_eval(&sel->m[i], v);
        if (r < 0)
            sc->failed = &sel->m[i];
        if (r <= 0)
            return r;
    }
    return 1;
}

/* Buckets are sorted by slot: the first that ends after `start` (short ranges then visit
 * only their own). */
static uint32_t first_bucket_after(const win__series *s, int64_t start, int64_t res)
{
    uint32_t first = 0, last = s->nb;
    while (first < last) {
        uint32_t mid = first + (last - first) / 2;
        if (base_sat_add(s->b[mid].slot * res, res) <= start)
            first = mid + 1;
        else
            last = mid;
    }
    return first;
}

/* The common case: no per-label matchers and no labels kept, so one pass of array adds
 * over the entries. The per-entry loop of a merge: inline, locals for what it reads. */
static inline bool add_bucket_plain(merge_scan *sc, const win__bucket *bk, const win__bucket *next,
                                    bool *any)
{
    const win__entry *ents = bk->e;
    uint32_t n = bk->n, n_ids = sc->n_ids;
    int64_t *acc = sc->acc;
    uint8_t *seen = sc->seen;
    /* Each bucket is its own allocation of a few KB and the hardware prefetcher stops at
     * page ends, so a long range waited on every entry load: fetch the next bucket's
     * start now and this one's entries ahead of use (prefetching past an array's end is
     * harmless). */
    if (next && next->n)
        __builtin_prefetch(next->e);
    for (uint32_t j = 0; j < n; j++) {
        if ((j & 3) == 0)
            __builtin_prefetch(&ents[j + 32]);
        uint32_t nid = ents[j].node;
        if (nid >= n_ids || /* cannot happen: entries hold live node ids */
            (!seen[nid] && !touch(seen, nid, &sc->touched, &sc->n_touched, &sc->touched_cap)))
            return false;
        acc[nid] = base_sat_add(acc[nid], ents[j].value);
    }
    *any = n > 0;
    return true;
}

/* Whether label set `labels` matches the series' pending matchers, cached per (series,
 * label set): 1 / 0, -1 on allocation failure or a failed matcher (sc->failed). */
static int label_set_matches(merge_scan *sc, const win_store *st, uint32_t si, uint32_t labels)
{
    size_t c = win__qmap_get(&sc->cache, labels, NULL);
    if (c == SIZE_MAX)
        return -1;
    uint64_t stamp = (uint64_t)si + 1;
    if ((uint64_t)sc->cache.vals[c] >> 1 != stamp) {
        const win__set *ls = win__label_set(st, labels);
        bool lm = true;
        for (uint32_t k = 0; lm && k < sc->n_pending; k++) {
            char hex[WIN__LINK_HEX];
            const char *v = win__label_attr(st, ls, sc->pending[k]->name, hex);
            int r = win__matcher_eval(sc->pending[k], v);
            if (r < 0) {
                sc->failed = sc->pending[k];
                return -1;
            }
            lm = r > 0;
        }
        sc->cache.vals[c] = (int64_t)((stamp << 1) | (lm ? 1u : 0u));
    }
    return (int)(sc->cache.vals[c] & 1);
}

/* Per-label matchers and/or labels kept: entry by entry, with the label set's verdict
 * cached and the (node, label set) sums kept in sc->pairs. */
static bool add_bucket_labeled(merge_scan *sc, const win_store *st, const win_query *q, uint32_t si,
                               const win__bucket *bk, win_merged *m, bool *any)
{
    for (uint32_t j = 0; j < bk->n; j++) {
        const win__entry *e = &bk->e[j];
        m->n_entries++;
        if (sc->n_pending) {
            int r = label_set_matches(sc, st, si, e->labels);
            if (r < 0)
                return false;
            if (r == 0)
                continue;
        }
        uint32_t nid = e->node;
        if (nid >= sc->n_ids) /* cannot happen: entries hold live node ids */
            return false;
        if (!sc->seen[nid] && !touch(sc->seen, nid, &sc->touched, &sc->n_touched, &sc->touched_cap))
            return false;
        sc->acc[nid] = base_sat_add(sc->acc[nid], e->value);
        *any = true;
        if (q->keep_labels) {
            size_t ps = win__qmap_get(&sc->pairs, (uint64_t)e->node << 32 | e->labels, NULL);
            if (ps == SIZE_MAX)
                return false;
            sc->pairs.vals[ps] = base_sat_add(sc->pairs.vals[ps], e->value);
        }
    }
    return true;
}

/* Adds the entries of series `si` in [q->start_ns, q->end_ns) that match the selector. */
static bool merge_series(builder *b, const win_query *q, merge_scan *sc, uint32_t si)
{
    const win_store *st = b->st;
    const win__series *s = st->series[si];
    int r = series_matches(st, s, q->selector, sc);
    if (r <= 0)
        return r == 0;
    int64_t start = q->start_ns, end = q->end_ns, res = st->cfg.resolution_ns;
    bool plain = !sc->n_pending && !q->keep_labels, contributed = false;
    for (uint32_t bi = first_bucket_after(s, start, res); bi < s->nb; bi++) {
        const win__bucket *bk = &s->b[bi];
        int64_t b_lo = bk->slot * res, b_hi = base_sat_add(b_lo, res);
        if (b_lo >= end)
            break;
        if (b_hi <= start)
            continue;
        bool any = false;
        if (plain) {
            if (!add_bucket_plain(sc, bk, bi + 1 < s->nb ? &s->b[bi + 1] : NULL, &any))
                return false;
            b->m->n_entries += bk->n;
        } else if (!add_bucket_labeled(sc, st, q, si, bk, b->m, &any)) {
            return false;
        }
        if (any) {
            contributed = true;
            if (b_lo < sc->cov_lo)
                sc->cov_lo = b_lo;
            if (b_hi > sc->cov_hi)
                sc->cov_hi = b_hi;
        }
    }
    if (contributed)
        b->m->n_series++;
    return true;
}

/* The result tree: the root's own value (samples with an empty stack), then every touched
 * node with a value and its ancestors, then the labeled values. Under the store's lock. */
static bool merge_emit(builder *b, merge_scan *sc, const win_query *q)
{
    win_merged *m = b->m;
    b->node_out[0] = 0;
    m->nodes[0].self = sc->acc[0];
    /* the result holds the touched nodes and their ancestors: size it once rather than
     * copying a growing array (a hint; emit_path still grows it) */
    uint32_t want = sc->n_touched + sc->n_touched / 4 + 64;
    void *arr = m->nodes;
    if (want > sc->n_ids + 1)
        want = sc->n_ids + 1;
    if (!base_grow(&arr, &b->nodes_cap, want, sizeof(win_node)))
        return false;
    m->nodes = arr;
    uint32_t *path = NULL, path_cap = 0;
    bool ok = true;
    /* emit_path skips nodes already emitted as an ancestor of an earlier one */
    for (uint32_t i = 0; ok && i < sc->n_touched; i++) {
        uint32_t nid = sc->touched[i];
        if (sc->acc[nid] != 0 && b->node_out[nid] == WIN__NONE)
            ok = emit_path(b, sc->acc, nid, &path, &path_cap);
    }
    free(path);
    return ok && (!q->keep_labels || collect_labeled(b, &sc->pairs));
}

win_merged *win_merge(win_store *st, const win_query *q, base_errbuf *eb)
{
    return win_merge_filtered(st, q, NULL, eb);
}

win_merged *win_merge_filtered(win_store *st, const win_query *q, const win_frame_filter *frames,
                               base_errbuf *eb)
{
    if (!st || !q || !q->profile_type) {
        base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT,
                        "window: a query needs a store and a profile type");
        return NULL;
    }
    if (frames && (frames->n_types > WIN_FRAME_FILTER_MAX || (frames->n_types && !frames->types))) {
        base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT, "window: a frame filter lists at most %u types",
                        WIN_FRAME_FILTER_MAX);
        return NULL;
    }
    const win_selector *sel = q->selector;
    builder b = {.st = st, .ff = frames};
    merge_scan sc = {.cov_lo = INT64_MAX, .cov_hi = INT64_MIN};
    win_merged *m = merge_result_new(q, &b);
    sc.pending = malloc((sel ? sel->n : 0) * sizeof *sc.pending + 1);
    if (!m || !sc.pending) {
        free(sc.pending);
        win_merged_free(m);
        base_errbuf_set(eb, BASE_ERR_NOMEM, "window: out of memory while merging");
        return NULL;
    }

    pthread_rwlock_rdlock(&st->lock);
    bool ok = merge_tables_alloc(&b, &sc);
    uint32_t ptype = win__find_str(st, q->profile_type);
    for (uint32_t si = 0; ok && ptype != WIN__NONE && si < st->n_series; si++)
        if (st->series[si]->ptype == ptype)
            ok = merge_series(&b, q, &sc, si);
    ok = ok && merge_emit(&b, &sc, q);
    pthread_rwlock_unlock(&st->lock);

    const win__matcher *failed = sc.failed;
    merge_scan_free(&sc);
    builder_free(&b);
    uint32_t *renum = NULL;
    if (!ok || !prune(m, q->keep_labels ? &renum : NULL) ||
        (q->keep_labels && !finish_labeled(m, renum))) {
        free(renum);
        win_merged_free(m);
        if (failed) {
            char why[BASE_ERR_LEN];
            win__matcher_err(failed, why, sizeof why);
            base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT, "%s", why);
        } else {
            base_errbuf_set(eb, BASE_ERR_NOMEM, "window: out of memory while merging");
        }
        return NULL;
    }
    free(renum);
    if (sc.cov_lo <= sc.cov_hi) {
        m->start_ns = sc.cov_lo;
        m->end_ns = sc.cov_hi;
    }
    return m;
}

/* ---- top ---- */

uint32_t win_merged_bad_node(const win_merged *m)
{
    for (uint32_t i = 1; i < m->n_nodes; i++)
        if (m->nodes[i].parent < 0 || (uint32_t)m->nodes[i].parent >= i ||
            m->nodes[i].frame >= m->n_frames)
            return i;
    return 0;
}

void win_tree_index_free(win_tree_index *ti)
{
    free(ti->sub);
    free(ti->first);
    free(ti->kids);
    memset(ti, 0, sizeof *ti);
}

base_err win_tree_index_build(const win_merged *m, win_tree_index *ti)
{
    memset(ti, 0, sizeof *ti);
    uint32_t n = m->n_nodes;
    if (n == 0 || !m->nodes || win_merged_bad_node(m))
        return BASE_ERR_INVALID;
    ti->n = n;
    ti->sub = malloc((size_t)n * sizeof *ti->sub);
    ti->first = calloc((size_t)n + 2, sizeof *ti->first);
    ti->kids = malloc((size_t)n * sizeof *ti->kids);
    if (!ti->sub || !ti->first || !ti->kids) {
        win_tree_index_free(ti);
        return BASE_ERR_NOMEM;
    }
    int64_t *sub = ti->sub;
    uint32_t *first = ti->first;
    for (uint32_t i = 0; i < n; i++)
        sub[i] = m->nodes[i].self;
    /* children last: each node's subtree is complete before it is added to its parent;
     * first[p + 2] counts p's children so that, after the prefix sum, first[p + 1] is
     * where p's children start and filling advances it to where they end */
    for (uint32_t i = n; i-- > 1;) {
        uint32_t p = (uint32_t)m->nodes[i].parent;
        sub[p] = base_sat_add(sub[p], sub[i]);
        first[p + 2]++;
    }
    for (uint32_t i = 0; i <= n; i++)
        first[i + 1] += first[i];
    for (uint32_t i = 1; i < n; i++)
        ti->kids[first[m->nodes[i].parent + 1]++] = i;
    return BASE_OK;
}

/* flat and cum per function in one pass per node (the per-sample walk up the parent chain
 * costs nodes x depth, most of a table over many services): a function's cum is the sum
 * of the subtree values of its outermost occurrences, found by a depth-first walk that
 * counts each function's occurrences on the current path (`on_path`, zeroed, nf + 1).
 * Returns 0 without touching flat/cum when the tree is not in win_merge's shape, 1 when
 * done, -1 on allocation failure. */
static int top_linear(const win_merged *m, int64_t *flat, int64_t *cum, uint32_t *on_path)
{
    const uint32_t *fn_of = m->priv->fn_of_frame;
    win_tree_index ti;
    base_err kind = win_tree_index_build(m, &ti);
    if (kind != BASE_OK)
        return kind == BASE_ERR_INVALID ? 0 : -1;
    uint32_t n = ti.n;
    uint32_t *stack = malloc((size_t)n * sizeof *stack);
    uint32_t *next = malloc((size_t)n * sizeof *next);
    int rc = -1;
    if (!stack || !next)
        goto out;
    for (uint32_t i = 1; i < n; i++) {
        int64_t self = m->nodes[i].self;
        if (self != 0) {
            uint32_t leaf = fn_of[m->nodes[i].frame];
            flat[leaf] = base_sat_add(flat[leaf], self);
        }
    }
    /* stack holds the current path; next[v] is v's next child to visit */
    memcpy(next, ti.first, (size_t)n * sizeof *next);
    uint32_t depth = 0;
    stack[depth++] = 0;
    while (depth > 0) {
        uint32_t v = stack[depth - 1];
        if (next[v] < ti.first[v + 1]) {
            uint32_t c = ti.kids[next[v]++];
            uint32_t fn = fn_of[m->nodes[c].frame];
            if (on_path[fn]++ == 0)
                cum[fn] = base_sat_add(cum[fn], ti.sub[c]);
            stack[depth++] = c;
        } else {
            if (v != 0)
                on_path[fn_of[m->nodes[v].frame]]--;
            depth--;
        }
    }
    rc = 1;
out:
    win_tree_index_free(&ti);
    free(stack);
    free(next);
    return rc;
}

static int row_cmp(const void *a, const void *b)
{
    const win_top_row *x = a, *y = b;
    if (x->flat != y->flat)
        return x->flat > y->flat ? -1 : 1;
    if (x->cum != y->cum)
        return x->cum > y->cum ? -1 : 1;
    return strcmp(x->function, y->function);
}

/* Sorts by row_cmp. A bottom-up merge sort with the comparison inlined: qsort's calls
 * through a pointer and its 32-byte element copies were half of a table over all
 * services (one row per function, ~10^4 of them). row_cmp is a total order on distinct
 * function keys, so the result is the one qsort gives. */
static void sort_rows(win_top_row *v, uint32_t n)
{
    win_top_row *tmp = n > 1 ? malloc((size_t)n * sizeof *tmp) : NULL;
    if (!tmp) {
        if (n > 1)
            qsort(v, n, sizeof *v, row_cmp);
        return;
    }
    win_top_row *src = v, *dst = tmp;
    for (uint64_t width = 1; width < n; width *= 2) {
        for (uint64_t lo = 0; lo < n; lo += 2 * width) {
            uint64_t mid = lo + width < n ? lo + width : n;
            uint64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            uint64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = row_cmp(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        win_top_row *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, (size_t)n * sizeof *v);
    free(tmp);
}

int64_t win_top(const win_merged *m, win_top_row **rows)
{
    if (rows)
        *rows = NULL;
    if (!m || !rows || !m->priv)
        return -1;
    const struct win_merged_priv *pv = m->priv;
    uint32_t nf = pv->n_fn;
    int64_t *flat = calloc((size_t)nf + 1, sizeof *flat);
    int64_t *cum = calloc((size_t)nf + 1, sizeof *cum);
    uint32_t *stamp = calloc((size_t)nf + 1, sizeof *stamp);
    if (!flat || !cum || !stamp)
        goto fail;
    int lin = top_linear(m, flat, cum, stamp);
    if (lin < 0)
        goto fail;
    for (uint32_t i = 1; lin == 0 && i < m->n_nodes; i++) {
        int64_t self = m->nodes[i].self;
        if (self == 0)
            continue;
        uint32_t leaf = pv->fn_of_frame[m->nodes[i].frame];
        flat[leaf] = base_sat_add(flat[leaf], self);
        /* recursion counts once: the stamp marks functions already seen on this walk */
        for (uint32_t j = i; j != 0; j = (uint32_t)m->nodes[j].parent) {
            uint32_t fn = pv->fn_of_frame[m->nodes[j].frame];
            if (stamp[fn] != i) {
                stamp[fn] = i;
                cum[fn] = base_sat_add(cum[fn], self);
            }
        }
    }
    uint32_t n = 0;
    for (uint32_t f = 0; f < nf; f++)
        if (flat[f] != 0 || cum[f] != 0)
            n++;
    win_top_row *out = malloc(((size_t)n + 1) * sizeof *out);
    if (!out)
        goto fail;
    n = 0;
    for (uint32_t f = 0; f < nf; f++)
        if (flat[f] != 0 || cum[f] != 0)
            out[n++] =
                (win_top_row){pv->fn_name[f], pv->fn_file[f], flat[f], cum[f], pv->fn_type[f]};
    sort_rows(out, n);
    free(flat);
    free(cum);
    free(stamp);
    *rows = out;
    return n;
fail:
    free(flat);
    free(cum);
    free(stamp);
    return -1;
}
