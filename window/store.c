/* window/store.c — interning tables, series and buckets, ingest, expiry, eviction,
 * mark-and-sweep reclamation and stats (see window.h and window_internal.h). */
#include "base/base.h"
#include "window/window_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers -------------------------------------------------------------- */

int64_t win__floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* The store's tables keep 32-bit hashes of base_hash_bytes under the per-store seed. */
static uint32_t hash_bytes(uint64_t seed, const void *p, size_t n)
{
    return (uint32_t)base_hash_bytes(seed, p, n);
}

/* ---- accounted memory ------------------------------------------------------------ */

/* realloc that keeps st->mem equal to the bytes the store holds (by capacity). On
 * failure returns NULL and leaves `p` and the accounting untouched. */
static void *mem_realloc(win_store *st, void *p, size_t old_bytes, size_t new_bytes)
{
    if (new_bytes == 0) {
        if (p) {
            free(p);
            st->mem -= old_bytes + WIN__ALLOC_OVERHEAD;
        }
        return NULL;
    }
    void *q = realloc(p, new_bytes);
    if (!q)
        return NULL;
    if (p)
        st->mem -= old_bytes;
    else
        st->mem += WIN__ALLOC_OVERHEAD;
    st->mem += new_bytes;
    return q;
}

static void mem_free(win_store *st, void *p, size_t bytes)
{
    if (p)
        mem_realloc(st, p, bytes, 0);
}

/* Past this size an array grows by 1/8 instead of doubling: the node and frame tables are
 * most of a store's interned bytes, and doubling left them half empty on average (accounted
 * by capacity). Blocks this large are mmapped, where glibc's realloc is an mremap, not a
 * copy; where it does copy, 1/8 steps still amortize to a few copies per item. */
#define GROW_SLOW_BYTES ((size_t)1 << 20)

/* Grows *arr (elem bytes each) to hold at least `need` items, never past max. */
static bool grow_array(win_store *st, void **arr, uint32_t *cap, uint64_t need, size_t elem,
                       uint32_t max)
{
    if (need <= *cap)
        return true;
    if (need > max)
        return false;
    uint64_t nc = *cap ? (uint64_t)*cap * 2 : 8;
    if ((uint64_t)*cap * elem >= GROW_SLOW_BYTES)
        nc = (uint64_t)*cap + *cap / 8;
    while (nc < need)
        nc *= 2;
    if (nc > max)
        nc = max;
    void *q = mem_realloc(st, *arr, (size_t)*cap * elem, (size_t)nc * elem);
    if (!q)
        return false;
    *arr = q;
    *cap = (uint32_t)nc;
    return true;
}

/* ---- interning tables ------------------------------------------------------------ */

static void table_init(win__table *t, uint32_t item_size, uint32_t max, win__hash_of_fn hash_of,
                       win__live_fn indexed)
{
    memset(t, 0, sizeof *t);
    t->item_size = item_size;
    t->max = max;
    t->hash_of = hash_of;
    t->indexed = indexed;
}

static void table_free(win_store *st, win__table *t)
{
    mem_free(st, t->items, (size_t)t->cap * t->item_size);
    mem_free(st, t->free_ids, (size_t)t->free_cap * 4);
    mem_free(st, t->slots, (size_t)t->slot_cap * 4);
    t->items = NULL;
    t->free_ids = NULL;
    t->slots = NULL;
}

static uint32_t table_alloc_id(win_store *st, win__table *t)
{
    if (t->n_free)
        return t->free_ids[--t->n_free];
    if (t->n >= t->max)
        return WIN__NONE;
    if (t->n == t->cap) {
        void *items = t->items;
        if (!grow_array(st, &items, &t->cap, (uint64_t)t->n + 1, t->item_size, t->max))
            return WIN__NONE;
        t->items = items;
    }
    return t->n++;
}

/* Table hash indexes are sized to their content rather than to powers of two (up to ~2x
 * the bytes at the same load): a slot is found by scaling the hash into [0, cap), and the
 * index is rebuilt at INDEX_MAX_PCT load with room for 1.45x the items. Linear probing at
 * 80% load still averages a few probes per hit, and hashes are fully mixed. */
#define INDEX_MAX_PCT  80u
#define INDEX_FILL_PCT 55u

static inline uint32_t index_start(uint32_t h, uint32_t cap)
{
    return (uint32_t)(((uint64_t)h * cap) >> 32);
}
static inline uint32_t index_next(uint32_t i, uint32_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

/* Returns the slot holding a live id equal to `key`, or the empty slot where it would go. */
static uint32_t *index_probe(const win_store *st, const win__table *t, uint32_t h, win__eq_fn eq,
                             const void *key)
{
    if (!t->slot_cap)
        return NULL;
    for (uint32_t i = index_start(h, t->slot_cap);; i = index_next(i, t->slot_cap)) {
        uint32_t id = t->slots[i];
        if (id == WIN__NONE || eq(st, id, key))
            return &t->slots[i];
    }
}

/* Re-creates the hash index holding `min_items` at INDEX_FILL_PCT load. */
static bool index_resize(win_store *st, win__table *t, uint32_t min_items)
{
    uint64_t want = (uint64_t)min_items * 100 / INDEX_FILL_PCT + 1;
    if (want < 16)
        want = 16;
    if (want > ((uint64_t)1 << 31))
        return false;
    uint32_t cap = (uint32_t)want;
    uint32_t *slots = mem_realloc(st, NULL, 0, (size_t)cap * 4);
    if (!slots)
        return false;
    memset(slots, 0xff, (size_t)cap * 4);
    uint32_t used = 0;
    for (uint32_t id = 0; id < t->n; id++) {
        if (!t->indexed(st, id))
            continue;
        uint32_t i = index_start(t->hash_of(st, id), cap);
        while (slots[i] != WIN__NONE)
            i = index_next(i, cap);
        slots[i] = id;
        used++;
    }
    mem_free(st, t->slots, (size_t)t->slot_cap * 4);
    t->slots = slots;
    t->slot_cap = cap;
    t->slot_used = used;
    return true;
}

typedef bool (*create_fn)(win_store *st, uint32_t id, const void *key);

/* Finds `key` or adds it under a new id. WIN__NONE when a cap or memory runs out. */
static uint32_t table_intern(win_store *st, win__table *t, uint32_t h, win__eq_fn eq,
                             const void *key, create_fn create)
{
    uint32_t *slot = index_probe(st, t, h, eq, key);
    if (slot && *slot != WIN__NONE)
        return *slot;
    if ((uint64_t)(t->slot_used + 1) * 100 > (uint64_t)t->slot_cap * INDEX_MAX_PCT) {
        if (!index_resize(st, t, t->slot_used + 1))
            return WIN__NONE;
        slot = index_probe(st, t, h, eq, key);
    }
    bool fresh = t->n_free == 0; /* table_alloc_id takes from the free list first */
    uint32_t id = table_alloc_id(st, t);
    if (id == WIN__NONE)
        return WIN__NONE;
    if (!create(st, id, key)) {
        /* Give the id back. A fresh one (n++) is undone, so the uninitialised item past n is
         * never read as live (a sweep would free its garbage pointer); a reused one goes back
         * to the list it was just popped from, its item still marked dead. */
        if (fresh)
            t->n--;
        else
            t->free_ids[t->n_free++] = id;
        return WIN__NONE;
    }
    *slot = id;
    t->slot_used++;
    t->live++;
    return id;
}

/* table_alloc_id may hand out id == n-1 without a free-list slot to return it to; keep one
 * free-list slot spare per table so a failed create can always give its id back. */
static bool table_reserve_free(win_store *st, win__table *t, uint64_t extra)
{
    void *f = t->free_ids;
    bool ok = grow_array(st, &f, &t->free_cap, (uint64_t)t->n_free + extra, 4, UINT32_MAX);
    t->free_ids = f;
    return ok;
}

/* strings */
typedef struct strkey {
    const char *s;
    uint32_t len;
} strkey;

static uint32_t str_hash_of(const win_store *st, uint32_t id)
{
    return win__strs(st)[id].hash;
}
static bool str_live(const win_store *st, uint32_t id)
{
    return win__strs(st)[id].s != NULL;
}
static bool str_eq(const win_store *st, uint32_t id, const void *key)
{
    const strkey *k = key;
    const win__str *s = &win__strs(st)[id];
    return s->len == k->len && memcmp(s->s, k->s, k->len) == 0;
}
static bool str_create(win_store *st, uint32_t id, const void *key)
{
    const strkey *k = key;
    char *p = mem_realloc(st, NULL, 0, (size_t)k->len + 1);
    if (!p)
        return false;
    memcpy(p, k->s, k->len);
    p[k->len] = '\0';
    win__str *s = &((win__str *)(void *)st->strings.items)[id];
    s->s = p;
    s->len = k->len;
    s->hash = hash_bytes(st->seed, k->s, k->len);
    return true;
}

static strkey make_strkey(const char *s)
{
    strkey k = {"", 0};
    if (s) {
        k.s = s;
        k.len = (uint32_t)strnlen(s, WIN__MAX_STRING_LEN);
    }
    return k;
}

static uint32_t intern_str(win_store *st, const char *s)
{
    strkey k = make_strkey(s);
    return table_intern(st, &st->strings, hash_bytes(st->seed, k.s, k.len), str_eq, &k, str_create);
}

uint32_t win__find_str(const win_store *st, const char *s)
{
    strkey k = make_strkey(s);
    const uint32_t *slot =
        index_probe(st, &st->strings, hash_bytes(st->seed, k.s, k.len), str_eq, &k);
    return slot ? *slot : WIN__NONE;
}

/* frames */
_Static_assert(sizeof(win__frame) == 40, "win__frame is hashed as bytes: no padding");
static uint32_t frame_hash(const win_store *st, const win__frame *f)
{
    return hash_bytes(st->seed, f, sizeof *f);
}
static uint32_t frame_hash_of(const win_store *st, uint32_t id)
{
    return frame_hash(st, &win__frames(st)[id]);
}
static bool frame_live(const win_store *st, uint32_t id)
{
    return win__frames(st)[id].function != WIN__NONE;
}
static bool frame_eq(const win_store *st, uint32_t id, const void *key)
{
    return memcmp(&win__frames(st)[id], key, sizeof(win__frame)) == 0;
}
static bool frame_create(win_store *st, uint32_t id, const void *key)
{
    ((win__frame *)(void *)st->frames.items)[id] = *(const win__frame *)key;
    return true;
}

/* nodes */
static uint32_t node_hash(const win_store *st, uint32_t parent, uint32_t frame)
{
    return (uint32_t)base_mix64((((uint64_t)parent << 32) | frame) ^ st->seed);
}
static uint32_t node_hash_of(const win_store *st, uint32_t id)
{
    const win__node *n = &win__nodes(st)[id];
    return node_hash(st, n->parent, n->frame);
}
static bool node_live(const win_store *st, uint32_t id)
{
    return id != 0 && win__nodes(st)[id].frame != WIN__NONE;
}
static bool node_eq(const win_store *st, uint32_t id, const void *key)
{
    const win__node *a = &win__nodes(st)[id], *b = key;
    return a->parent == b->parent && a->frame == b->frame;
}
static bool node_create(win_store *st, uint32_t id, const void *key)
{
    ((win__node *)(void *)st->nodes.items)[id] = *(const win__node *)key;
    return true;
}

/* attribute sets (label sets and resource sets share the code) */
typedef struct setkey {
    uint32_t hash;
    uint32_t n;
    uint8_t has_trace, has_span;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    const uint32_t *kv;
} setkey;

static win__set *set_at(const win__table *t, uint32_t id)
{
    return ((win__set *const *)(const void *)t->items)[id];
}
static uint32_t label_hash_of(const win_store *st, uint32_t id)
{
    return set_at(&st->labels, id)->hash;
}
static uint32_t rattr_hash_of(const win_store *st, uint32_t id)
{
    return set_at(&st->rattrs, id)->hash;
}
static bool label_live(const win_store *st, uint32_t id)
{
    return set_at(&st->labels, id) != NULL;
}
static bool rattr_live(const win_store *st, uint32_t id)
{
    return set_at(&st->rattrs, id) != NULL;
}
static bool set_eq(const win__set *s, const setkey *k)
{
    return s->hash == k->hash && s->n == k->n && s->has_trace == k->has_trace &&
           s->has_span == k->has_span && memcmp(s->trace_id, k->trace_id, 16) == 0 &&
           memcmp(s->span_id, k->span_id, 8) == 0 &&
           (k->n == 0 || memcmp(s->kv, k->kv, (size_t)k->n * 8) == 0);
}
static bool label_eq(const win_store *st, uint32_t id, const void *key)
{
    return set_eq(set_at(&st->labels, id), key);
}
static bool rattr_eq(const win_store *st, uint32_t id, const void *key)
{
    return set_eq(set_at(&st->rattrs, id), key);
}
static size_t set_bytes(uint32_t n)
{
    return sizeof(win__set) + (size_t)n * 8;
}
static bool set_create_in(win_store *st, win__table *t, uint32_t id, const setkey *k)
{
    win__set *s = mem_realloc(st, NULL, 0, set_bytes(k->n));
    if (!s)
        return false;
    s->hash = k->hash;
    s->n = k->n;
    s->has_trace = k->has_trace;
    s->has_span = k->has_span;
    memcpy(s->trace_id, k->trace_id, 16);
    memcpy(s->span_id, k->span_id, 8);
    if (k->n)
        memcpy(s->kv, k->kv, (size_t)k->n * 8);
    ((win__set **)(void *)t->items)[id] = s;
    return true;
}
static bool label_create(win_store *st, uint32_t id, const void *key)
{
    return set_create_in(st, &st->labels, id, key);
}
static bool rattr_create(win_store *st, uint32_t id, const void *key)
{
    return set_create_in(st, &st->rattrs, id, key);
}

static int attr_cmp(const void *a, const void *b)
{
    const win_attr *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

/* Interns `p` through the request's pointer cache `c` when there is one: a request names
 * the same few thousand strings (frames, attribute keys and values) by the same pointers
 * over and over, and a pointer compare is far cheaper than hashing the text. */
static uint32_t intern_str_via(win_store *st, win_intern_cache *c, const char *p)
{
    /* "" is id 0 for the store's life (seeded, kept by every sweep); unsymbolized frames
     * have no function or file, and hashing "" each time was a third of the lookups */
    if (!p || !*p)
        return 0;
    if (!c)
        return intern_str(st, p);
    uint32_t slot = (uint32_t)(((uintptr_t)p >> 3) * 0x9e3779b1u) >> (32u - WIN__STR_CACHE_BITS);
    if (c->str_ptr[slot] == p)
        return c->str_id[slot];
    uint32_t id = intern_str(st, p);
    if (id != WIN__NONE) {
        c->str_ptr[slot] = p;
        c->str_id[slot] = id;
    }
    return id;
}

/* Interns an attribute set: sorted by key, one value per key (the smallest, so the
 * result does not depend on the order the sender listed duplicates in). `cache` (may be
 * NULL) is the request's string cache. */
static uint32_t intern_set(win_store *st, win_intern_cache *cache, bool labels,
                           const win_attr *attrs, uint32_t n, const uint8_t *trace_id,
                           const uint8_t *span_id)
{
    win_attr sorted[WIN__MAX_ATTRS];
    uint32_t kv[2 * WIN__MAX_ATTRS];
    if (n > WIN__MAX_ATTRS)
        return WIN__NONE;
    /* insertion sort: sets are a handful of attributes, where qsort's setup dominates */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i;
        while (j > 0 && attr_cmp(&sorted[j - 1], &attrs[i]) > 0) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = attrs[i];
    }
    setkey k;
    memset(&k, 0, sizeof k);
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i && strcmp(sorted[i].key, sorted[i - 1].key) == 0)
            continue;
        uint32_t kid = intern_str_via(st, cache, sorted[i].key);
        uint32_t vid = intern_str_via(st, cache, sorted[i].value);
        if (kid == WIN__NONE || vid == WIN__NONE)
            return WIN__NONE;
        kv[2 * m] = kid;
        kv[2 * m + 1] = vid;
        m++;
    }
    k.n = m;
    k.kv = kv;
    if (trace_id) {
        k.has_trace = 1;
        memcpy(k.trace_id, trace_id, 16);
    }
    if (span_id) {
        k.has_span = 1;
        memcpy(k.span_id, span_id, 8);
    }
    uint64_t h = hash_bytes(st->seed, kv, (size_t)m * 8);
    h = base_mix64(h ^ ((uint64_t)hash_bytes(st->seed, k.trace_id, 16) << 1) ^
                   ((uint64_t)hash_bytes(st->seed, k.span_id, 8) << 17) ^
                   ((uint64_t)k.has_trace << 40) ^ ((uint64_t)k.has_span << 41));
    k.hash = (uint32_t)h;
    win__table *t = labels ? &st->labels : &st->rattrs;
    return table_intern(st, t, k.hash, labels ? label_eq : rattr_eq, &k,
                        labels ? label_create : rattr_create);
}

/* ---- store lifecycle ------------------------------------------------------------- */

void win_config_defaults(win_config *cfg)
{
    cfg->retention_ns = 3600LL * 1000000000LL;
    cfg->resolution_ns = 10LL * 1000000000LL;
    cfg->memory_limit = (uint64_t)512 << 20;
}

static bool store_seed_tables(win_store *st)
{
    for (win__table *t = &st->strings; t <= &st->rattrs; t++)
        if (!table_reserve_free(st, t, 1))
            return false;
    if (intern_str(st, "") != 0)
        return false;
    uint32_t root = table_alloc_id(st, &st->nodes);
    if (root != 0)
        return false;
    ((win__node *)(void *)st->nodes.items)[0] = (win__node){WIN__NONE, WIN__NONE};
    st->nodes.live = 1;
    if (intern_set(st, NULL, true, NULL, 0, NULL, NULL) != 0)
        return false;
    if (intern_set(st, NULL, false, NULL, 0, NULL, NULL) != 0)
        return false;
    return true;
}

win_store *win_store_new(const win_config *cfg)
{
    if (!cfg || cfg->resolution_ns <= 0 || cfg->retention_ns < cfg->resolution_ns)
        return NULL;
    int64_t ring =
        cfg->retention_ns / cfg->resolution_ns + (cfg->retention_ns % cfg->resolution_ns ? 1 : 0);
    if (ring > (int64_t)WIN__MAX_RING)
        return NULL;
    win_store *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->cfg = *cfg;
    st->limit = cfg->memory_limit ? cfg->memory_limit : UINT64_MAX;
    st->max_buckets = (uint32_t)(2 * ring + 3);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* a per-store seed so crafted strings cannot aim at one hash chain */
    st->seed = base_mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uintptr_t)st);
    st->mem = sizeof *st + WIN__ALLOC_OVERHEAD;
    st->now_ns = INT64_MIN;
    table_init(&st->strings, sizeof(win__str), 1u << 26, str_hash_of, str_live);
    table_init(&st->frames, sizeof(win__frame), 1u << 26, frame_hash_of, frame_live);
    table_init(&st->nodes, sizeof(win__node), 1u << 28, node_hash_of, node_live);
    table_init(&st->labels, sizeof(win__set *), 1u << 24, label_hash_of, label_live);
    table_init(&st->rattrs, sizeof(win__set *), 1u << 20, rattr_hash_of, rattr_live);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* queries arrive continuously; without writer preference ingest could starve */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&st->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc) {
        free(st);
        return NULL;
    }
    if (!store_seed_tables(st)) {
        win_store_free(st);
        return NULL;
    }
    return st;
}

static void bucket_free(win_store *st, win__bucket *b)
{
    mem_free(st, b->e, (size_t)b->cap * sizeof(win__entry));
    mem_free(st, b->idx, (size_t)b->idx_cap * 4);
    st->n_entries -= b->n;
    b->e = NULL;
    b->idx = NULL;
    b->n = b->cap = b->idx_cap = 0;
}

static void series_free(win_store *st, win__series *s)
{
    for (uint32_t i = 0; i < s->nb; i++)
        bucket_free(st, &s->b[i]);
    st->n_buckets -= s->nb;
    mem_free(st, s->b, (size_t)s->bcap * sizeof(win__bucket));
    mem_free(st, s, sizeof *s);
}

void win_store_free(win_store *st)
{
    if (!st)
        return;
    for (uint32_t i = 0; i < st->n_series; i++)
        series_free(st, st->series[i]);
    mem_free(st, st->series, (size_t)st->series_cap * sizeof(win__series *));
    mem_free(st, st->series_slots, (size_t)st->series_slot_cap * 4);
    mem_free(st, st->stack_slots, (size_t)st->stack_slot_cap * 4);
    for (uint32_t id = 0; id < st->strings.n; id++) {
        win__str *s = &((win__str *)(void *)st->strings.items)[id];
        mem_free(st, s->s, (size_t)s->len + 1);
    }
    for (uint32_t id = 0; id < st->labels.n; id++) {
        win__set *s = set_at(&st->labels, id);
        if (s)
            mem_free(st, s, set_bytes(s->n));
    }
    for (uint32_t id = 0; id < st->rattrs.n; id++) {
        win__set *s = set_at(&st->rattrs, id);
        if (s)
            mem_free(st, s, set_bytes(s->n));
    }
    for (win__table *t = &st->strings; t <= &st->rattrs; t++)
        table_free(st, t);
    pthread_rwlock_destroy(&st->lock);
    free(st);
}

/* ---- series ---------------------------------------------------------------------- */

static uint32_t series_hash(const win_store *st, uint32_t ptype, uint32_t rattr)
{
    return (uint32_t)base_mix64((((uint64_t)ptype << 32) | rattr) ^ (st->seed >> 1));
}

static bool series_index_rebuild(win_store *st)
{
    uint32_t cap = 16;
    while (cap < st->n_series * 2)
        cap *= 2;
    uint32_t *slots = mem_realloc(st, NULL, 0, (size_t)cap * 4);
    if (!slots)
        return false;
    memset(slots, 0xff, (size_t)cap * 4);
    for (uint32_t i = 0; i < st->n_series; i++) {
        uint32_t j = st->series[i]->hash & (cap - 1);
        while (slots[j] != WIN__NONE)
            j = (j + 1) & (cap - 1);
        slots[j] = i;
    }
    mem_free(st, st->series_slots, (size_t)st->series_slot_cap * 4);
    st->series_slots = slots;
    st->series_slot_cap = cap;
    return true;
}

static win__series *series_get(win_store *st, uint32_t ptype, uint32_t rattr)
{
    uint32_t h = series_hash(st, ptype, rattr);
    if (st->series_slot_cap) {
        uint32_t mask = st->series_slot_cap - 1;
        for (uint32_t j = h & mask; st->series_slots[j] != WIN__NONE; j = (j + 1) & mask) {
            win__series *s = st->series[st->series_slots[j]];
            if (s->ptype == ptype && s->rattr == rattr)
                return s;
        }
    }
    if (st->n_series >= WIN__MAX_SERIES)
        return NULL;
    void *arr = st->series;
    if (!grow_array(st, &arr, &st->series_cap, (uint64_t)st->n_series + 1, sizeof(win__series *),
                    WIN__MAX_SERIES))
        return NULL;
    st->series = arr;
    win__series *s = mem_realloc(st, NULL, 0, sizeof *s);
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->ptype = ptype;
    s->rattr = rattr;
    s->hash = h;
    st->series[st->n_series++] = s;
    if ((uint64_t)st->n_series * 2 > st->series_slot_cap) {
        /* the rebuild indexes the new series too */
        if (!series_index_rebuild(st)) {
            st->n_series--;
            mem_free(st, s, sizeof *s);
            return NULL;
        }
    } else {
        uint32_t mask = st->series_slot_cap - 1;
        uint32_t j = h & mask;
        while (st->series_slots[j] != WIN__NONE)
            j = (j + 1) & mask;
        st->series_slots[j] = st->n_series - 1;
    }
    return s;
}

/* Drops series without buckets; their interned keys go at the next sweep. */
static void series_remove_empty(win_store *st)
{
    uint32_t w = 0;
    bool removed = false;
    for (uint32_t i = 0; i < st->n_series; i++) {
        win__series *s = st->series[i];
        if (s->nb == 0) {
            series_free(st, s);
            removed = true;
        } else {
            st->series[w++] = s;
        }
    }
    st->n_series = w;
    if (removed && !series_index_rebuild(st)) {
        /* keep lookups correct even without memory for a new index: clear it in place */
        memset(st->series_slots, 0xff, (size_t)st->series_slot_cap * 4);
        for (uint32_t i = 0; i < st->n_series && st->series_slot_cap; i++) {
            uint32_t mask = st->series_slot_cap - 1;
            uint32_t j = st->series[i]->hash & mask;
            while (st->series_slots[j] != WIN__NONE)
                j = (j + 1) & mask;
            st->series_slots[j] = i;
        }
    }
}

/* ---- buckets --------------------------------------------------------------------- */

static uint32_t entry_hash(const win_store *st, uint32_t node, uint32_t labels)
{
    return (uint32_t)base_mix64((((uint64_t)node << 32) | labels) ^ (st->seed >> 3));
}

static bool bucket_index_build(win_store *st, win__bucket *b, uint32_t min_items)
{
    uint64_t want = 16;
    while (want < (uint64_t)min_items * 2)
        want *= 2;
    if (want > ((uint64_t)1 << 31))
        return false;
    uint32_t cap = (uint32_t)want;
    uint32_t *idx = mem_realloc(st, NULL, 0, (size_t)cap * 4);
    if (!idx)
        return false;
    memset(idx, 0xff, (size_t)cap * 4);
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t j = entry_hash(st, b->e[i].node, b->e[i].labels) & (cap - 1);
        while (idx[j] != WIN__NONE)
            j = (j + 1) & (cap - 1);
        idx[j] = i;
    }
    mem_free(st, b->idx, (size_t)b->idx_cap * 4);
    b->idx = idx;
    b->idx_cap = cap;
    return true;
}

/* Adds value to the (node, labels) entry of the bucket, creating it if needed. */
/* Adds `value` to the entry (node, labels) of `b`. Returns 1, 0 when memory ran out, or
 * BUCKET_LINKS_FULL (nothing stored) when it would be a new linked entry and the bucket
 * already holds WIN__MAX_BUCKET_LINKS of them: the caller stores it without its link. */
#define BUCKET_LINKS_FULL 2
static int bucket_add(win_store *st, win__bucket *b, uint32_t node, uint32_t labels, int64_t value)
{
    if ((uint64_t)(b->n + 1) * 2 > b->idx_cap && !bucket_index_build(st, b, b->n + 1))
        return false;
    uint32_t mask = b->idx_cap - 1;
    uint32_t j = entry_hash(st, node, labels) & mask;
    for (; b->idx[j] != WIN__NONE; j = (j + 1) & mask) {
        win__entry *e = &b->e[b->idx[j]];
        if (e->node == node && e->labels == labels) {
            e->value = base_sat_add(e->value, value);
            return 1;
        }
    }
    const win__set *ls = win__label_set(st, labels);
    bool linked = ls->has_trace || ls->has_span;
    if (linked && b->n_linked >= WIN__MAX_BUCKET_LINKS)
        return BUCKET_LINKS_FULL;
    if (b->n == b->cap) {
        void *arr = b->e;
        uint32_t cap = b->cap;
        if (!grow_array(st, &arr, &cap, (uint64_t)b->n + 1, sizeof(win__entry),
                        WIN__MAX_BUCKET_ENT))
            return 0;
        b->e = arr;
        b->cap = cap;
    }
    b->e[b->n] = (win__entry){node, labels, value};
    b->idx[j] = b->n;
    b->n++;
    b->n_linked += linked;
    st->n_entries++;
    return 1;
}

/* An aged bucket rarely receives data: drop its merge index and move its entries to an
 * array of exactly their size, so retained history costs 16 bytes per entry. A fresh
 * block rather than an in-place shrink: shrinking splits the old block and leaves a small
 * free tail beside every retained array, which measured as ~20% of the heap free but
 * unusable after an hour of traffic; a whole freed block is reused by the next bucket. */
static void bucket_compact(win_store *st, win__bucket *b)
{
    mem_free(st, b->idx, (size_t)b->idx_cap * 4);
    b->idx = NULL;
    b->idx_cap = 0;
    if (b->n == 0) {
        mem_free(st, b->e, (size_t)b->cap * sizeof(win__entry));
        b->e = NULL;
        b->cap = 0;
    } else if (b->cap > b->n) {
        win__entry *q = mem_realloc(st, NULL, 0, (size_t)b->n * sizeof(win__entry));
        if (q) {
            memcpy(q, b->e, (size_t)b->n * sizeof(win__entry));
            mem_free(st, b->e, (size_t)b->cap * sizeof(win__entry));
            b->e = q;
            b->cap = b->n;
        }
    }
}

/* A series' consecutive buckets hold similar numbers of entries: a new bucket starts with
 * room for its predecessor's count plus 1/8, rather than climbing a ladder of doubling
 * reallocs (entries and merge index) whose freed rungs fragmented the heap. Best effort:
 * without memory the bucket just grows as it fills. */
static void bucket_presize(win_store *st, win__bucket *b, uint32_t prev_n)
{
    if (prev_n < 64 || b->e)
        return;
    uint64_t want = (uint64_t)prev_n + prev_n / 8;
    if (want > WIN__MAX_BUCKET_ENT)
        want = WIN__MAX_BUCKET_ENT;
    win__entry *e = mem_realloc(st, NULL, 0, (size_t)want * sizeof(win__entry));
    if (!e)
        return;
    b->e = e;
    b->cap = (uint32_t)want;
    bucket_index_build(st, b, (uint32_t)want);
}

static win__bucket *series_bucket(win_store *st, win__series *s, int64_t slot)
{
    if (s->nb && s->b[s->nb - 1].slot == slot)
        return &s->b[s->nb - 1];
    uint32_t lo = 0, hi = s->nb;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->b[mid].slot < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->nb && s->b[lo].slot == slot)
        return &s->b[lo];
    if (s->nb >= st->max_buckets)
        return NULL;
    void *arr = s->b;
    if (!grow_array(st, &arr, &s->bcap, (uint64_t)s->nb + 1, sizeof(win__bucket), st->max_buckets))
        return NULL;
    s->b = arr;
    memmove(&s->b[lo + 1], &s->b[lo], (size_t)(s->nb - lo) * sizeof(win__bucket));
    memset(&s->b[lo], 0, sizeof(win__bucket));
    s->b[lo].slot = slot;
    s->nb++;
    st->n_buckets++;
    if (lo > 0)
        bucket_presize(st, &s->b[lo], s->b[lo - 1].n);
    return &s->b[lo];
}

/* Drops the first k buckets of a series. */
static void series_drop_front(win_store *st, win__series *s, uint32_t k)
{
    for (uint32_t i = 0; i < k; i++) {
        st->dropped_since_sweep += s->b[i].n;
        bucket_free(st, &s->b[i]);
    }
    memmove(&s->b[0], &s->b[k], (size_t)(s->nb - k) * sizeof(win__bucket));
    s->nb -= k;
    st->n_buckets -= k;
}

/* ---- mark and sweep -------------------------------------------------------------- */

static void mark_set_strings(const win__set *s, uint8_t *sm)
{
    for (uint32_t i = 0; i < 2 * s->n; i++)
        sm[s->kv[i]] = 1;
}

static void table_trim(win_store *st, win__table *t);

void win__sweep(win_store *st)
{
    st->sweep_gen++;
    /* leaves may be freed below; the stack index refills itself as stacks recur */
    if (st->stack_slots)
        memset(st->stack_slots, 0xff, (size_t)st->stack_slot_cap * 4);
    st->stack_slot_used = 0;
    uint8_t *sm = calloc(st->strings.n, 1), *fm = calloc(st->frames.n ? st->frames.n : 1, 1);
    uint8_t *nm = calloc(st->nodes.n, 1), *lm = calloc(st->labels.n, 1);
    uint8_t *rm = calloc(st->rattrs.n, 1);
    if (!sm || !fm || !nm || !lm || !rm)
        goto out; /* no memory to sweep with: try again next time */
    const win__node *nodes = win__nodes(st);
    sm[0] = nm[0] = lm[0] = rm[0] = 1;
    for (uint32_t i = 0; i < st->n_series; i++) {
        const win__series *s = st->series[i];
        sm[s->ptype] = 1;
        rm[s->rattr] = 1;
        for (uint32_t b = 0; b < s->nb; b++) {
            for (uint32_t j = 0; j < s->b[b].n; j++) {
                const win__entry *e = &s->b[b].e[j];
                lm[e->labels] = 1;
                for (uint32_t n = e->node; n != 0 && !nm[n]; n = nodes[n].parent)
                    nm[n] = 1;
            }
        }
    }
    for (uint32_t id = 1; id < st->nodes.n; id++)
        if (nm[id])
            fm[nodes[id].frame] = 1;
    const win__frame *frames = win__frames(st);
    for (uint32_t id = 0; id < st->frames.n; id++) {
        if (fm[id]) {
            sm[frames[id].function] = sm[frames[id].file] = 1;
            sm[frames[id].mapping] = sm[frames[id].build_id] = 1;
            sm[frames[id].frame_type] = 1;
        }
    }
    for (uint32_t id = 0; id < st->labels.n; id++)
        if (lm[id])
            mark_set_strings(set_at(&st->labels, id), sm);
    for (uint32_t id = 0; id < st->rattrs.n; id++)
        if (rm[id])
            mark_set_strings(set_at(&st->rattrs, id), sm);

    /* free lists must take every freed id, so reserve before freeing anything */
    win__table *tabs[5] = {&st->strings, &st->frames, &st->nodes, &st->labels, &st->rattrs};
    uint8_t *marks[5] = {sm, fm, nm, lm, rm};
    for (int t = 0; t < 5; t++) {
        uint64_t dead = 0;
        for (uint32_t id = 0; id < tabs[t]->n; id++)
            if (!marks[t][id] && tabs[t]->indexed(st, id))
                dead++;
        if (!table_reserve_free(st, tabs[t], dead + 1))
            goto out;
    }
    win__node *wn = (win__node *)(void *)st->nodes.items;
    for (uint32_t id = 1; id < st->nodes.n; id++) {
        if (!nm[id] && wn[id].frame != WIN__NONE) {
            wn[id].frame = WIN__NONE;
            st->nodes.free_ids[st->nodes.n_free++] = id;
            st->nodes.live--;
            st->reclaimed_nodes++;
        }
    }
    win__frame *wf = (win__frame *)(void *)st->frames.items;
    for (uint32_t id = 0; id < st->frames.n; id++) {
        if (!fm[id] && wf[id].function != WIN__NONE) {
            wf[id].function = WIN__NONE;
            st->frames.free_ids[st->frames.n_free++] = id;
            st->frames.live--;
        }
    }
    win__str *ws = (win__str *)(void *)st->strings.items;
    for (uint32_t id = 1; id < st->strings.n; id++) {
        if (!sm[id] && ws[id].s) {
            mem_free(st, ws[id].s, (size_t)ws[id].len + 1);
            ws[id].s = NULL;
            st->strings.free_ids[st->strings.n_free++] = id;
            st->strings.live--;
        }
    }
    for (int t = 3; t < 5; t++) {
        win__set **sets = (win__set **)(void *)tabs[t]->items;
        for (uint32_t id = 1; id < tabs[t]->n; id++) {
            if (!marks[t][id] && sets[id]) {
                mem_free(st, sets[id], set_bytes(sets[id]->n));
                sets[id] = NULL;
                tabs[t]->free_ids[tabs[t]->n_free++] = id;
                tabs[t]->live--;
            }
        }
    }
    for (int t = 0; t < 5; t++)
        table_trim(st, tabs[t]);
    /* ids just freed are still in the hash indexes: rebuild them from live ids. If a
     * rebuild cannot get memory, clear the stale index in place instead. */
    for (int t = 0; t < 5; t++) {
        if (!index_resize(st, tabs[t], tabs[t]->live)) {
            win__table *tb = tabs[t];
            memset(tb->slots, 0xff, (size_t)tb->slot_cap * 4);
            tb->slot_used = 0;
            for (uint32_t id = 0; id < tb->n; id++) {
                if (!tb->indexed(st, id))
                    continue;
                uint32_t i = index_start(tb->hash_of(st, id), tb->slot_cap);
                while (tb->slots[i] != WIN__NONE)
                    i = index_next(i, tb->slot_cap);
                tb->slots[i] = id;
                tb->slot_used++;
            }
        }
    }
    st->dropped_since_sweep = 0;
    st->sweeps++;
out:
    free(sm);
    free(fm);
    free(nm);
    free(lm);
    free(rm);
}

static int u32_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x < y) - (x > y);
}

/* After a sweep: hand out the lowest free ids first (the free list is a stack), drop free
 * ids at the top of the id range and give back array space, so a store that shrank in
 * content shrinks in memory too. Id 0 is pinned in every table. */
static void table_trim(win_store *st, win__table *t)
{
    qsort(t->free_ids, t->n_free, 4, u32_desc);
    uint32_t n = t->n;
    while (n > 1 && !t->indexed(st, n - 1))
        n--;
    if (n == t->n)
        return;
    uint32_t k = 0;
    while (k < t->n_free && t->free_ids[k] >= n)
        k++;
    memmove(t->free_ids, t->free_ids + k, (size_t)(t->n_free - k) * 4);
    t->n_free -= k;
    t->n = n;
    if ((uint64_t)n * 4 <= t->cap && t->cap > 16) {
        uint32_t nc = 16;
        while (nc < n * 2u)
            nc *= 2;
        void *q =
            mem_realloc(st, t->items, (size_t)t->cap * t->item_size, (size_t)nc * t->item_size);
        if (q) {
            t->items = q;
            t->cap = nc;
        }
    }
    if ((uint64_t)(t->n_free + 1) * 4 <= t->free_cap && t->free_cap > 16) {
        uint32_t nc = 16;
        while (nc < (t->n_free + 1) * 2u)
            nc *= 2;
        void *q = mem_realloc(st, t->free_ids, (size_t)t->free_cap * 4, (size_t)nc * 4);
        if (q) {
            t->free_ids = q;
            t->free_cap = nc;
        }
    }
}

static void maybe_sweep(win_store *st)
{
    /* amortized: only when a good share of what was stored has gone since the last sweep */
    if (st->dropped_since_sweep > 0 && st->dropped_since_sweep * 4 > st->n_entries)
        win__sweep(st);
}

/* ---- expiry and eviction ----------------------------------------------------------- */

static void expire_locked(win_store *st)
{
    int64_t res = st->cfg.resolution_ns;
    int64_t now_slot = win__floor_div(st->now_ns, res);
    int64_t cutoff = base_sat_add(st->now_ns, -st->cfg.retention_ns);
    int64_t cut_slot = win__floor_div(cutoff, res);
    /* expiry and ageing change only when one of these slots does */
    if (st->have_slot && now_slot == st->last_slot && cut_slot == st->last_cut_slot)
        return;
    st->have_slot = true;
    st->last_slot = now_slot;
    st->last_cut_slot = cut_slot;
    bool emptied = false;
    for (uint32_t i = 0; i < st->n_series; i++) {
        win__series *s = st->series[i];
        uint32_t k = 0;
        while (k < s->nb && base_sat_add(s->b[k].slot * res, res) <= cutoff)
            k++;
        if (k) {
            series_drop_front(st, s, k);
            st->expired_buckets += k;
        }
        for (uint32_t b = 0; b < s->nb; b++)
            if (s->b[b].idx && s->b[b].slot < now_slot - 1)
                bucket_compact(st, &s->b[b]);
        emptied |= s->nb == 0;
    }
    if (emptied)
        series_remove_empty(st);
    maybe_sweep(st);
}

/* The runs are an open-addressing hash table keyed by (slot, series): an add and an
 * eviction's look-up cost O(1) however many buckets a request wrote (a sorted array was
 * re-sorted by every eviction: quadratic in the profiles of a request at the limit). A slot
 * whose series is NULL is empty; a run whose bucket was evicted keeps its key with n 0. */
static uint32_t kept_slot_of(const win__kept *k, int64_t slot, const void *series)
{
    uint64_t h = base_mix64((uint64_t)slot * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)series);
    uint32_t mask = k->cap - 1, i = (uint32_t)h & mask;
    while (k->runs[i].series && (k->runs[i].slot != slot || k->runs[i].series != series))
        i = (i + 1) & mask;
    return i;
}

/* Doubles the table (cap is 0 or a power of two), within WIN__KEPT_MAX_RUNS. */
static bool kept_grow(win__kept *k)
{
    uint32_t cap = k->cap ? k->cap * 2 : 64;
    if (cap > WIN__KEPT_MAX_RUNS)
        return false;
    win__kept grown = {calloc(cap, sizeof *grown.runs), k->n, cap, k->min_slot};
    if (!grown.runs)
        return false;
    for (uint32_t i = 0; i < k->cap; i++)
        if (k->runs[i].series)
            grown.runs[kept_slot_of(&grown, k->runs[i].slot, k->runs[i].series)] = k->runs[i];
    free(k->runs);
    *k = grown;
    return true;
}

/* Records n observations stored in the bucket (slot, series). Best effort: without
 * memory, or past WIN__KEPT_MAX_RUNS distinct buckets, the run is not recorded, and an
 * eviction of it would go uncounted (the data is stored either way). */
static void kept_add(win__kept *k, int64_t slot, const win__series *series, uint64_t n)
{
    if (!n)
        return;
    if ((uint64_t)(k->n + 1) * 4 > (uint64_t)k->cap * 3)
        (void)kept_grow(k);
    if (!k->cap)
        return;
    uint32_t i = kept_slot_of(k, slot, series);
    if (!k->runs[i].series) {
        if ((uint64_t)(k->n + 1) * 4 > (uint64_t)k->cap * 3)
            return; /* could not grow: at most 3/4 full, so every look-up ends */
        k->runs[i] = (win__slot_obs){slot, series, 0};
        k->n++;
    }
    k->runs[i].n += n;
    if (slot < k->min_slot)
        k->min_slot = slot;
}

/* The evicted bucket (slot, series): the observations this request stored there, which
 * are forgotten so a later eviction does not count them again. */
static uint64_t kept_take(win__kept *k, int64_t slot, const win__series *series)
{
    if (!k || !k->cap || slot < k->min_slot)
        return 0;
    uint32_t i = kept_slot_of(k, slot, series);
    uint64_t gone = k->runs[i].n;
    k->runs[i].n = 0;
    return gone;
}

typedef struct bucket_age {
    int64_t slot;
    uint64_t written;
    uint32_t n;
} bucket_age;

/* Oldest first: by slot, then least recently written. */
static int bucket_age_cmp(const void *a, const void *b)
{
    const bucket_age *x = a, *y = b;
    if (x->slot != y->slot)
        return (x->slot > y->slot) - (x->slot < y->slot);
    return (x->written > y->written) - (x->written < y->written);
}

static bool bucket_older(const win__bucket *b, int64_t cut_slot, uint64_t cut_written)
{
    return b->slot < cut_slot || (b->slot == cut_slot && b->written <= cut_written);
}

/* Over the limit: drop the globally oldest buckets until under ~90% of it, sweeping so
 * interned data they alone used is freed as well. "Oldest" is by time slot, and within a
 * slot by last write: when the current slot alone holds most of the limit (a flood of
 * requests within one resolution step), its least recently written series go first and
 * the request being stored goes last. Returns the observations of `kept` (the request
 * being stored; may be NULL) that were evicted. */
static uint64_t evict_locked(win_store *st, win__kept *kept)
{
    uint64_t gone = 0;
    if (st->mem <= st->limit)
        return gone;
    uint64_t target = st->limit / 10 * 9;
    for (int round = 0; round < 64 && st->mem > target && st->n_buckets > 0; round++) {
        /* every entry "owns" an equal share of all memory, interned data included */
        uint64_t per_entry = st->mem / (st->n_entries ? st->n_entries : 1);
        uint64_t want = (st->mem - target) / (per_entry ? per_entry : 1) + 1;
        int64_t cut_slot = INT64_MIN;
        uint64_t cut_written = UINT64_MAX; /* without memory to sort: whole oldest slot */
        bucket_age *all = malloc((size_t)st->n_buckets * sizeof *all);
        if (all) {
            size_t k = 0;
            for (uint32_t i = 0; i < st->n_series; i++)
                for (uint32_t b = 0; b < st->series[i]->nb; b++) {
                    const win__bucket *bk = &st->series[i]->b[b];
                    all[k++] = (bucket_age){bk->slot, bk->written, bk->n};
                }
            qsort(all, k, sizeof *all, bucket_age_cmp);
            uint64_t got = 0;
            for (size_t i = 0; i < k && got < want; i++) {
                got += all[i].n + 1u;
                cut_slot = all[i].slot;
                cut_written = all[i].written;
            }
            free(all);
        } else {
            for (uint32_t i = 0; i < st->n_series; i++)
                if (st->series[i]->nb &&
                    (cut_slot == INT64_MIN || st->series[i]->b[0].slot < cut_slot))
                    cut_slot = st->series[i]->b[0].slot;
        }
        /* the dropped buckets are a prefix of the order above, so a prefix of each series */
        for (uint32_t i = 0; i < st->n_series; i++) {
            win__series *s = st->series[i];
            uint32_t k = 0;
            while (k < s->nb && bucket_older(&s->b[k], cut_slot, cut_written)) {
                gone += kept_take(kept, s->b[k].slot, s);
                k++;
            }
            if (k) {
                series_drop_front(st, s, k);
                st->evicted_buckets += k;
            }
        }
        series_remove_empty(st);
        win__sweep(st);
    }
    return gone;
}

void win_store_expire(win_store *st, int64_t now_ns)
{
    if (!st)
        return;
    pthread_rwlock_wrlock(&st->lock);
    if (now_ns > st->now_ns)
        st->now_ns = now_ns;
    expire_locked(st);
    (void)evict_locked(st, NULL);
    pthread_rwlock_unlock(&st->lock);
}

/* ---- ingest ---------------------------------------------------------------------- */

static bool check_attrs(const win_attr *attrs, uint32_t n, const char *what, uint32_t at, char *err,
                        size_t err_len)
{
    if (n > WIN__MAX_ATTRS) {
        base_set_err(err, err_len, "window: %s[%u] has %u attributes (limit %u)", what, at, n,
                     WIN__MAX_ATTRS);
        return false;
    }
    if (n && !attrs) {
        base_set_err(err, err_len, "window: %s[%u] has %u attributes but no array", what, at, n);
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!attrs[i].key) {
            base_set_err(err, err_len, "window: %s[%u].attrs[%u] has no key", what, at, i);
            return false;
        }
    }
    return true;
}

static bool validate(const win_batch *b, char *err, size_t err_len)
{
    if (!b) {
        base_set_err(err, err_len, "window: no batch");
        return false;
    }
    if (!b->profile_type || !*b->profile_type) {
        base_set_err(err, err_len, "window: batch has no profile type");
        return false;
    }
    if (b->n_resource > WIN__MAX_ATTRS) {
        base_set_err(err, err_len, "window: resource has %u attributes (limit %u)", b->n_resource,
                     WIN__MAX_ATTRS);
        return false;
    }
    if (!check_attrs(b->resource, b->n_resource, "resource", 0, err, err_len))
        return false;
    if ((b->n_frames && !b->frames) || (b->n_stacks && !b->stacks) ||
        (b->n_samples && !b->samples)) {
        base_set_err(err, err_len, "window: batch counts frames/stacks/samples it does not carry");
        return false;
    }
    /* a stack checked against n frames stays valid while the tables only grow */
    uint32_t first_unchecked = 0;
    if (b->cache && b->cache->stacks_checked <= b->n_stacks &&
        b->cache->frames_when_checked <= b->n_frames)
        first_unchecked = b->cache->stacks_checked;
    for (uint32_t i = first_unchecked; i < b->n_stacks; i++) {
        const win_stack_in *s = &b->stacks[i];
        if (s->depth > WIN__MAX_DEPTH) {
            base_set_err(err, err_len, "window: stacks[%u] depth %u exceeds the limit of %u", i,
                         s->depth, WIN__MAX_DEPTH);
            return false;
        }
        if (s->depth && !s->frames) {
            base_set_err(err, err_len, "window: stacks[%u] has depth %u but no frames", i,
                         s->depth);
            return false;
        }
        for (uint32_t j = 0; j < s->depth; j++) {
            if (s->frames[j] >= b->n_frames) {
                base_set_err(err, err_len,
                             "window: stacks[%u].frames[%u] %u out of range: batch has %u frames",
                             i, j, s->frames[j], b->n_frames);
                return false;
            }
        }
    }
    /* samples share a few attribute arrays (translate/ gives equal lists one array): an
     * array that passed is not checked again (direct-mapped, by address and length) */
    struct {
        const win_attr *attrs;
        uint32_t n;
    } passed[16];
    memset(passed, 0, sizeof passed);
    for (uint32_t i = 0; i < b->n_samples; i++) {
        const win_sample_in *s = &b->samples[i];
        if (s->stack >= b->n_stacks) {
            base_set_err(err, err_len,
                         "window: samples[%u].stack %u out of range: batch has %u stacks", i,
                         s->stack, b->n_stacks);
            return false;
        }
        if (!s->n_attrs)
            continue;
        uint32_t slot = (uint32_t)(((uintptr_t)s->attrs >> 4) & 15u);
        if (passed[slot].attrs == s->attrs && passed[slot].n == s->n_attrs && s->attrs)
            continue;
        if (!check_attrs(s->attrs, s->n_attrs, "samples", i, err, err_len))
            return false;
        passed[slot].attrs = s->attrs;
        passed[slot].n = s->n_attrs;
    }
    if (b->cache) {
        b->cache->stacks_checked = b->n_stacks;
        b->cache->frames_when_checked = b->n_frames;
    }
    return true;
}

typedef struct ingest_tmp {
    win_intern_cache *cache; /* NULL when the batch came without one */
    uint32_t *frame_ids;     /* batch frame index -> frame id, WIN__NONE = not yet interned */
    uint32_t *stack_nodes;   /* batch stack index -> leaf node id */
    uint32_t *sample_node;
    uint32_t *sample_labels;
} ingest_tmp;

win_intern_cache *win_intern_cache_new(void)
{
    win_intern_cache *c = calloc(1, sizeof(win_intern_cache));
    if (c)
        c->kept.min_slot = INT64_MAX;
    return c;
}

void win_intern_cache_free(win_intern_cache *c)
{
    if (!c)
        return;
    free(c->frame_ids);
    free(c->stack_nodes);
    free(c->kept.runs);
    free(c);
}

/* ---- what a request stored, for counting evictions of it --------------------------- */

/* Grows `*ids` from `*n` to `want` entries, the new ones WIN__NONE. */
static bool cache_grow(uint32_t **ids, uint32_t *n, uint32_t want)
{
    if (want <= *n)
        return true;
    uint32_t *grown = realloc(*ids, ((size_t)want + 1) * sizeof **ids);
    if (!grown)
        return false;
    memset(grown + *n, 0xff, (size_t)(want - *n) * sizeof *grown);
    *ids = grown;
    *n = want;
    return true;
}

/* Points t->frame_ids / t->stack_nodes at the request cache, reset when the ids it holds
 * may be stale (another store, or a sweep since). Called with the write lock held. */
static bool cache_attach(win_store *st, const win_batch *b, ingest_tmp *t)
{
    win_intern_cache *c = b->cache;
    if (c->store != st || c->sweep_gen != st->sweep_gen) {
        if (c->frame_ids)
            memset(c->frame_ids, 0xff, (size_t)c->n_frames * sizeof *c->frame_ids);
        if (c->stack_nodes)
            memset(c->stack_nodes, 0xff, (size_t)c->n_stacks * sizeof *c->stack_nodes);
        memset(c->str_ptr, 0, sizeof c->str_ptr);
        for (uint32_t i = 0; i < WIN__LABEL_CACHE_SLOTS; i++)
            c->label[i].id = WIN__NONE;
        c->store = st;
        c->sweep_gen = st->sweep_gen;
    }
    if (!cache_grow(&c->frame_ids, &c->n_frames, b->n_frames) ||
        !cache_grow(&c->stack_nodes, &c->n_stacks, b->n_stacks))
        return false;
    t->frame_ids = c->frame_ids;
    t->stack_nodes = c->stack_nodes;
    return true;
}

static uint32_t intern_str_cached(win_store *st, ingest_tmp *t, const char *p)
{
    return intern_str_via(st, t->cache, p);
}

/* The label set of a sample, through the request cache when there is one. */
static uint32_t intern_labels_cached(win_store *st, ingest_tmp *t, const win_sample_in *s)
{
    if (!t->cache)
        return intern_set(st, NULL, true, s->attrs, s->n_attrs, s->trace_id, s->span_id);
    uint64_t k = (uint64_t)(uintptr_t)s->attrs ^ ((uint64_t)(uintptr_t)s->trace_id * 31u) ^
                 ((uint64_t)(uintptr_t)s->span_id * 17u) ^ s->n_attrs;
    uint32_t slot = (uint32_t)(base_mix64(k) & (WIN__LABEL_CACHE_SLOTS - 1));
    win_intern_cache *c = t->cache;
    if (c->label[slot].id != WIN__NONE && c->label[slot].attrs == s->attrs &&
        c->label[slot].n_attrs == s->n_attrs && c->label[slot].trace_id == s->trace_id &&
        c->label[slot].span_id == s->span_id)
        return c->label[slot].id;
    uint32_t id = intern_set(st, c, true, s->attrs, s->n_attrs, s->trace_id, s->span_id);
    if (id != WIN__NONE) {
        c->label[slot].attrs = s->attrs;
        c->label[slot].trace_id = s->trace_id;
        c->label[slot].span_id = s->span_id;
        c->label[slot].n_attrs = s->n_attrs;
        c->label[slot].id = id;
    }
    return id;
}

static uint32_t intern_frame(win_store *st, const win_batch *b, ingest_tmp *t, uint32_t fi)
{
    if (t->frame_ids[fi] != WIN__NONE)
        return t->frame_ids[fi];
    const win_frame_in *in = &b->frames[fi];
    win__frame f;
    memset(&f, 0, sizeof f);
    f.function = intern_str_cached(st, t, in->function);
    f.file = intern_str_cached(st, t, in->file);
    f.mapping = intern_str_cached(st, t, in->mapping);
    f.build_id = intern_str_cached(st, t, in->build_id);
    f.frame_type = intern_str_cached(st, t, in->frame_type);
    if (f.function == WIN__NONE || f.file == WIN__NONE || f.mapping == WIN__NONE ||
        f.build_id == WIN__NONE || f.frame_type == WIN__NONE)
        return WIN__NONE;
    /* start lines beyond int32 are no real source file's: kept as unknown */
    f.start_line = in->start_line > 0 && in->start_line <= INT32_MAX ? (int32_t)in->start_line : 0;
    f.line = in->line;
    f.address = in->address;
    uint32_t id = table_intern(st, &st->frames, frame_hash(st, &f), frame_eq, &f, frame_create);
    t->frame_ids[fi] = id;
    return id;
}

/* A stack's hash is over its frame ids, leaf first (ids, not contents: frames are
 * interned); folded in one id at a time as the frames are interned. */
static uint64_t stack_hash_step(uint64_t h, uint32_t frame_id)
{
    h ^= frame_id;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

static uint64_t stack_hash_seed(uint32_t depth)
{
    return 0x9e3779b97f4a7c15ull ^ depth;
}

/* Does leaf node `leaf` spell exactly this stack (leaf first, ending at the root)? */
static bool stack_matches(const win_store *st, uint32_t leaf, const win_stack_in *s,
                          const ingest_tmp *t)
{
    const win__node *nodes = (const win__node *)st->nodes.items;
    uint32_t n = leaf;
    for (uint32_t j = 0; j < s->depth; j++) {
        if (n == 0 || n == WIN__NONE || nodes[n].frame != t->frame_ids[s->frames[j]])
            return false;
        n = nodes[n].parent;
    }
    return n == 0;
}

/* Keeps the stack index at most 3/4 full (at half, it cost ~8 B per retained stack); it is
 * a cache, so failing to grow is harmless (lookups then just miss more often). Sized to
 * the live nodes at most. */
static void stack_index_reserve(win_store *st)
{
    if ((uint64_t)(st->stack_slot_used + 1) * 4 <= (uint64_t)st->stack_slot_cap * 3)
        return;
    uint32_t nc = st->stack_slot_cap ? st->stack_slot_cap * 2 : 1024;
    if (nc > (1u << 26))
        return;
    uint32_t *slots = mem_realloc(st, NULL, 0, (size_t)nc * 4);
    if (!slots)
        return;
    memset(slots, 0xff, (size_t)nc * 4);
    /* Re-hash from the tree (a leaf's parent chain spells its frame ids): starting empty
     * instead made the next request re-intern every stack node by node. */
    const win__node *nodes = (const win__node *)st->nodes.items;
    uint32_t used = 0;
    for (uint32_t i = 0; i < st->stack_slot_cap; i++) {
        uint32_t leaf = st->stack_slots[i];
        if (leaf == WIN__NONE)
            continue;
        uint32_t depth = 0, n = leaf;
        for (; n != 0 && n != WIN__NONE; n = nodes[n].parent)
            depth++;
        if (n != 0)
            continue; /* not a stack of the tree: drop it, the index is only a cache */
        uint64_t hash = stack_hash_seed(depth);
        for (n = leaf; n != 0; n = nodes[n].parent)
            hash = stack_hash_step(hash, nodes[n].frame);
        for (uint32_t j = (uint32_t)hash & (nc - 1);; j = (j + 1) & (nc - 1))
            if (slots[j] == WIN__NONE) {
                slots[j] = leaf;
                break;
            }
        used++;
    }
    mem_free(st, st->stack_slots, (size_t)st->stack_slot_cap * 4);
    st->stack_slots = slots;
    st->stack_slot_cap = nc;
    st->stack_slot_used = used;
}

static uint32_t intern_stack(win_store *st, const win_batch *b, ingest_tmp *t, uint32_t si)
{
    if (t->stack_nodes[si] != WIN__NONE)
        return t->stack_nodes[si];
    const win_stack_in *s = &b->stacks[si];
    /* frames first: the whole-stack index is keyed by frame ids */
    uint64_t hash = stack_hash_seed(s->depth);
    for (uint32_t j = 0; j < s->depth; j++) {
        uint32_t f = intern_frame(st, b, t, s->frames[j]);
        if (f == WIN__NONE)
            return WIN__NONE;
        hash = stack_hash_step(hash, f);
    }
    uint32_t h = (uint32_t)hash, slot = WIN__NONE;
    if (st->stack_slot_cap) {
        uint32_t mask = st->stack_slot_cap - 1;
        for (uint32_t i = h & mask;; i = (i + 1) & mask) {
            uint32_t leaf = st->stack_slots[i];
            if (leaf == WIN__NONE) {
                slot = i;
                break;
            }
            if (stack_matches(st, leaf, s, t)) {
                t->stack_nodes[si] = leaf;
                return leaf;
            }
        }
    }
    uint32_t node = 0;
    /* leaf first in the input; the tree grows from the root */
    for (uint32_t j = s->depth; j-- > 0;) {
        uint32_t f = t->frame_ids[s->frames[j]];
        win__node key = {node, f};
        node = table_intern(st, &st->nodes, node_hash(st, node, f), node_eq, &key, node_create);
        if (node == WIN__NONE)
            return WIN__NONE;
    }
    t->stack_nodes[si] = node;
    if (s->depth) {
        uint32_t cap_before = st->stack_slot_cap;
        stack_index_reserve(st);
        if (st->stack_slot_cap != cap_before || slot == WIN__NONE) {
            slot = WIN__NONE;
            if (st->stack_slot_cap) {
                uint32_t mask = st->stack_slot_cap - 1;
                for (uint32_t i = h & mask;; i = (i + 1) & mask)
                    if (st->stack_slots[i] == WIN__NONE) {
                        slot = i;
                        break;
                    }
            }
        }
        if (slot != WIN__NONE &&
            (uint64_t)(st->stack_slot_used + 1) * 4 <= (uint64_t)st->stack_slot_cap * 3) {
            st->stack_slots[slot] = node;
            st->stack_slot_used++;
        }
    }
    return node;
}

/* Phase 1: intern everything the stored samples need. Interned data that ends up unused
 * (a later failure) is unreferenced and goes at the next sweep, so the store's visible
 * content is unchanged on failure. */
static bool intern_batch(win_store *st, const win_batch *b, ingest_tmp *t, int64_t lo, int64_t hi,
                         uint32_t *ptype, uint32_t *rattr)
{
    t->cache = b->cache;
    if (b->cache) {
        if (!cache_attach(st, b, t))
            return false;
    } else {
        memset(t->frame_ids, 0xff, (size_t)b->n_frames * 4);
        memset(t->stack_nodes, 0xff, (size_t)b->n_stacks * 4);
    }
    *ptype = intern_str(st, b->profile_type);
    *rattr = intern_set(st, t->cache, false, b->resource, b->n_resource, NULL, NULL);
    if (*ptype == WIN__NONE || *rattr == WIN__NONE)
        return false;
    uint32_t prev = WIN__NONE;
    for (uint32_t i = 0; i < b->n_samples; i++) {
        const win_sample_in *s = &b->samples[i];
        t->sample_node[i] = WIN__NONE;
        if (s->time_ns < lo || s->time_ns > hi)
            continue;
        uint32_t node = intern_stack(st, b, t, s->stack);
        if (node == WIN__NONE)
            return false;
        uint32_t labels;
        /* translate/ typically repeats one attribute array across samples */
        const win_sample_in *p = prev != WIN__NONE ? &b->samples[prev] : NULL;
        if (p && p->attrs == s->attrs && p->n_attrs == s->n_attrs && p->trace_id == s->trace_id &&
            p->span_id == s->span_id)
            labels = t->sample_labels[prev];
        else
            labels = intern_labels_cached(st, t, s);
        if (labels == WIN__NONE)
            return false;
        t->sample_node[i] = node;
        t->sample_labels[i] = labels;
        prev = i;
    }
    return true;
}

base_err win_store_add(win_store *st, const win_batch *batch, int64_t now_ns,
                       win_add_result *result, char *err, size_t err_len)
{
    win_add_result local;
    if (!result)
        result = &local;
    memset(result, 0, sizeof *result);
    if (err && err_len)
        err[0] = '\0';
    if (!st) {
        base_set_err(err, err_len, "window: no store");
        return BASE_ERR_BAD_ARGUMENT;
    }
    if (!validate(batch, err, err_len))
        return BASE_ERR_INVALID;
    ingest_tmp t;
    /* with a request cache, the frame/stack maps live in the cache (attached under lock) */
    uint32_t *own_frames = batch->cache ? NULL : malloc(((size_t)batch->n_frames + 1) * 4);
    uint32_t *own_stacks = batch->cache ? NULL : malloc(((size_t)batch->n_stacks + 1) * 4);
    t.frame_ids = own_frames;
    t.stack_nodes = own_stacks;
    t.sample_node = malloc(((size_t)batch->n_samples + 1) * 4);
    t.sample_labels = malloc(((size_t)batch->n_samples + 1) * 4);
    base_err rc = BASE_ERR_NOMEM; /* every failure past validation: memory or a cap */
    if ((!batch->cache && (!own_frames || !own_stacks)) || !t.sample_node || !t.sample_labels) {
        base_set_err(err, err_len, "window: out of memory for a batch of %u samples",
                     batch->n_samples);
        goto out_free;
    }

    pthread_rwlock_wrlock(&st->lock);
    if (now_ns > st->now_ns)
        st->now_ns = now_ns;
    expire_locked(st);
    int64_t lo = base_sat_add(st->now_ns, -st->cfg.retention_ns);
    int64_t hi = base_sat_add(st->now_ns, st->cfg.retention_ns);
    uint32_t ptype = 0, rattr = 0;
    bool ok = intern_batch(st, batch, &t, lo, hi, &ptype, &rattr);
    if (!ok) {
        /* a cap may be full of garbage nothing references any more */
        win__sweep(st);
        ok = intern_batch(st, batch, &t, lo, hi, &ptype, &rattr);
    }
    if (!ok) {
        base_set_err(err, err_len,
                     "window: interning limit or memory reached (strings %u, frames %u, nodes %u, "
                     "label sets %u); batch of %u samples not stored",
                     st->strings.live, st->frames.live, st->nodes.live, st->labels.live,
                     batch->n_samples);
        goto out_unlock;
    }

    /* Phase 2: place the observations. */
    uint64_t stored = 0, too_old = 0, too_new = 0;
    win__series *series = NULL;
    int64_t last_time = 0, last_slot = 0; /* time 0 -> slot 0, for any resolution */
    /* what this batch stores, per slot, joins what the request stored before */
    win__kept own = {NULL, 0, 0, INT64_MAX};
    win__kept *kept = batch->cache ? &batch->cache->kept : &own;
    uint64_t write_seq = ++st->write_seq;
    int64_t run_slot = 0;
    uint64_t run_n = 0;
    for (uint32_t i = 0; i < batch->n_samples; i++) {
        const win_sample_in *s = &batch->samples[i];
        if (s->time_ns < lo) {
            too_old++;
            continue;
        }
        if (s->time_ns > hi) {
            too_new++;
            continue;
        }
        if (!series && !(series = series_get(st, ptype, rattr)))
            break;
        /* a 64-bit division per sample shows in profiles; samples often share a time */
        if (s->time_ns != last_time) {
            last_time = s->time_ns;
            last_slot = win__floor_div(s->time_ns, st->cfg.resolution_ns);
        }
        win__bucket *b = series_bucket(st, series, last_slot);
        if (!b)
            break;
        b->written = write_seq;
        int added = bucket_add(st, b, t.sample_node[i], t.sample_labels[i], s->value);
        if (added == BUCKET_LINKS_FULL) {
            /* the same sample attributes without the link: the value stays exact, only
             * trace_id / span_id filters miss it */
            uint32_t bare = intern_set(st, NULL, true, s->attrs, s->n_attrs, NULL, NULL);
            added = bare == WIN__NONE ? 0 : bucket_add(st, b, t.sample_node[i], bare, s->value);
            st->samples_unlinked += added == 1;
        }
        if (added != 1)
            break;
        stored++;
        if (batch->restated)
            continue;
        if (run_n && run_slot != last_slot) {
            kept_add(kept, run_slot, series, run_n);
            run_n = 0;
        }
        run_slot = last_slot;
        run_n++;
    }
    kept_add(kept, run_slot, series, run_n);
    uint64_t placed = stored + too_old + too_new;
    st->samples_stored += stored;
    st->samples_too_old += too_old;
    st->samples_too_new += too_new;
    result->samples_stored = stored;
    result->samples_too_old = too_old;
    result->samples_too_new = too_new;
    bool partial = placed < batch->n_samples;
    if (partial) {
        /* memory ran out mid-batch: what landed stays (it is consistent), the rest is lost */
        base_set_err(err, err_len,
                     "window: out of memory after storing %llu of %u samples (series %u, limit "
                     "%llu bytes)",
                     (unsigned long long)stored, batch->n_samples, st->n_series,
                     (unsigned long long)st->limit);
        if (series && series->nb == 0)
            series_remove_empty(st);
    }
    /* What eviction took of the buckets this request wrote is gone, and its sender must
     * hear that part of what it was told "stored" already is. */
    result->samples_evicted = evict_locked(st, kept);
    free(own.runs);
    if (partial)
        goto out_unlock;
    rc = BASE_OK;
out_unlock:
    pthread_rwlock_unlock(&st->lock);
out_free:
    free(own_frames);
    free(own_stacks);
    free(t.sample_node);
    free(t.sample_labels);
    return rc;
}

/* ---- status ---------------------------------------------------------------------- */

void win_store_stats(win_store *st, win_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!st)
        return;
    pthread_rwlock_rdlock(&st->lock);
    out->series = st->n_series;
    out->buckets = st->n_buckets;
    out->entries = st->n_entries;
    out->nodes = st->nodes.live - 1; /* the root is not a stack */
    out->frames = st->frames.live;
    out->strings = st->strings.live;
    out->label_sets = st->labels.live;
    out->memory_used = st->mem;
    out->memory_limit = st->cfg.memory_limit;
    out->evicted_buckets = st->evicted_buckets;
    out->expired_buckets = st->expired_buckets;
    out->reclaimed_nodes = st->reclaimed_nodes;
    out->samples_stored = st->samples_stored;
    out->samples_too_old = st->samples_too_old;
    out->samples_too_new = st->samples_too_new;
    out->samples_unlinked = st->samples_unlinked;
    int64_t res = st->cfg.resolution_ns;
    bool any = false;
    for (uint32_t i = 0; i < st->n_series; i++) {
        const win__series *s = st->series[i];
        if (!s->nb)
            continue;
        int64_t a = s->b[0].slot * res, z = base_sat_add(s->b[s->nb - 1].slot * res, res);
        if (!any || a < out->oldest_ns)
            out->oldest_ns = a;
        if (!any || z > out->newest_ns)
            out->newest_ns = z;
        any = true;
    }
    pthread_rwlock_unlock(&st->lock);
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int win_store_each_profile_type(win_store *st, void (*fn)(const char *type, void *ctx), void *ctx)
{
    if (!st || !fn)
        return 0;
    pthread_rwlock_rdlock(&st->lock);
    uint32_t *ids = malloc(((size_t)st->n_series + 1) * 4);
    if (!ids) {
        pthread_rwlock_unlock(&st->lock);
        base_alloc_failed_note();
        return -1;
    }
    for (uint32_t i = 0; i < st->n_series; i++)
        ids[i] = st->series[i]->ptype;
    qsort(ids, st->n_series, 4, u32_cmp);
    for (uint32_t i = 0; i < st->n_series; i++)
        if (i == 0 || ids[i] != ids[i - 1])
            fn(win__str_get(st, ids[i]), ctx);
    free(ids);
    pthread_rwlock_unlock(&st->lock);
    return 0;
}

/* ---- accounting self-check (tests) ------------------------------------------------- */

static uint64_t alloc_bytes(const void *p, uint64_t bytes)
{
    return p ? bytes + WIN__ALLOC_OVERHEAD : 0;
}

uint64_t win__recount(win_store *st)
{
    pthread_rwlock_rdlock(&st->lock);
    uint64_t m = sizeof *st + WIN__ALLOC_OVERHEAD;
    for (const win__table *t = &st->strings; t <= &st->rattrs; t++) {
        m += alloc_bytes(t->items, (uint64_t)t->cap * t->item_size);
        m += alloc_bytes(t->free_ids, (uint64_t)t->free_cap * 4);
        m += alloc_bytes(t->slots, (uint64_t)t->slot_cap * 4);
    }
    for (uint32_t id = 0; id < st->strings.n; id++) {
        const win__str *s = &win__strs(st)[id];
        m += alloc_bytes(s->s, (uint64_t)s->len + 1);
    }
    for (uint32_t id = 0; id < st->labels.n; id++) {
        const win__set *s = set_at(&st->labels, id);
        m += s ? alloc_bytes(s, set_bytes(s->n)) : 0;
    }
    for (uint32_t id = 0; id < st->rattrs.n; id++) {
        const win__set *s = set_at(&st->rattrs, id);
        m += s ? alloc_bytes(s, set_bytes(s->n)) : 0;
    }
    m += alloc_bytes(st->series, (uint64_t)st->series_cap * sizeof(win__series *));
    m += alloc_bytes(st->series_slots, (uint64_t)st->series_slot_cap * 4);
    m += alloc_bytes(st->stack_slots, (uint64_t)st->stack_slot_cap * 4);
    for (uint32_t i = 0; i < st->n_series; i++) {
        const win__series *s = st->series[i];
        m += alloc_bytes(s, sizeof *s);
        m += alloc_bytes(s->b, (uint64_t)s->bcap * sizeof(win__bucket));
        for (uint32_t b = 0; b < s->nb; b++) {
            m += alloc_bytes(s->b[b].e, (uint64_t)s->b[b].cap * sizeof(win__entry));
            m += alloc_bytes(s->b[b].idx, (uint64_t)s->b[b].idx_cap * 4);
        }
    }
    pthread_rwlock_unlock(&st->lock);
    return m;
}
