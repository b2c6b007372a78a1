/* window/window_internal.h — types and helpers shared by the files of window/ only.
 *
 * Layout (see DESIGN.md "Window store"): five interning tables (strings, frames, stack
 * nodes, sample-label sets, resource-attribute sets) each give uint32 ids, keep a free list
 * of reclaimed ids and an open-addressing hash index of live ids. Series hold a vector of
 * buckets sorted by time slot; a bucket is an array of 16-byte entries plus, while it is
 * recent, a hash index that merges entries with the same (node, label set).
 * All store-owned memory goes through win__mem_* so that `mem` is the accounted total.
 * Everything here is guarded by win_store.lock (callers hold it).
 */
#ifndef OTELPROFD_WINDOW_INTERNAL_H
#define OTELPROFD_WINDOW_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "window/window.h"

#define WIN__NONE           UINT32_MAX
#define WIN__ALLOC_OVERHEAD 16u   /* malloc header + rounding, per live allocation */
#define WIN__MAX_STRING_LEN 8192u /* longer strings are truncated, never rejected */
#define WIN__MAX_DEPTH      WIN_MAX_STACK_DEPTH
#define WIN__MAX_ATTRS      256u
#define WIN__MAX_SERIES     65536u
#define WIN__MAX_RING       (1u << 20) /* buckets per retention */
#define WIN__MAX_BUCKET_ENT (1u << 26)
/* Entries of one bucket whose label set carries a trace link: each distinct link keeps its
 * samples apart (no merging with the same stack), so a sender that links every sample to
 * its own span would multiply the entries; past this many, a bucket stores new samples
 * without their link (counted: win_stats.samples_unlinked). 16,384 x 16 bytes = 256 KiB. */
#define WIN__MAX_BUCKET_LINKS 16384u
#define WIN__MAX_MATCHERS     64u
#define WIN__MAX_SEL_LEN      65536u

typedef struct win__str {
    char *s; /* NULL when the id is free */
    uint32_t len;
    uint32_t hash;
} win__str;

typedef struct win__frame {
    uint32_t function; /* string ids; function == WIN__NONE when the id is free */
    uint32_t file;
    uint32_t mapping;
    uint32_t build_id;
    uint32_t frame_type; /* string id, 0 ("") when unknown */
    int32_t start_line;  /* the function's first line, 0 when unknown */
    int64_t line;
    uint64_t address;
} win__frame; /* 40 bytes, no padding: hashed and compared as bytes */

typedef struct win__node {
    uint32_t parent; /* node id; WIN__NONE for the root */
    uint32_t frame;  /* frame id; WIN__NONE for the root and for free ids */
} win__node;

/* An interned attribute set; used for sample-label sets (with the trace link) and for
 * resource-attribute sets (link always empty). kv holds n (key, value) string-id pairs
 * sorted by key text, keys unique. */
typedef struct win__set {
    uint32_t hash;
    uint32_t n;
    uint8_t has_trace, has_span;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint32_t kv[];
} win__set;

struct win_store;
typedef uint32_t (*win__hash_of_fn)(const struct win_store *st, uint32_t id);
typedef bool (*win__live_fn)(const struct win_store *st, uint32_t id);
typedef bool (*win__eq_fn)(const struct win_store *st, uint32_t id, const void *key);

typedef struct win__table {
    unsigned char *items; /* item_size bytes per id */
    uint32_t item_size;
    uint32_t n;    /* ids handed out so far (high-water mark) */
    uint32_t cap;  /* ids allocated in items */
    uint32_t live; /* ids in use */
    uint32_t max;  /* cap on ids; a batch that needs more fails */
    uint32_t *free_ids;
    uint32_t n_free, free_cap;
    uint32_t *slots; /* hash index of live ids, WIN__NONE = empty; power-of-two size */
    uint32_t slot_cap, slot_used;
    win__hash_of_fn hash_of;
    win__live_fn indexed; /* which ids belong in the hash index */
} win__table;

typedef struct win__entry {
    uint32_t node;
    uint32_t labels;
    int64_t value;
} win__entry;

typedef struct win__bucket {
    int64_t slot; /* time slot: covers [slot * resolution, (slot + 1) * resolution) */
    win__entry *e;
    uint32_t n, cap;
    uint32_t *idx; /* merge index (entry position), only while the bucket is recent */
    uint32_t idx_cap;
    uint32_t n_linked; /* entries whose label set carries a trace link (in the padding) */
    /* st->write_seq of the last win_store_add that wrote here: within one slot the memory
     * limit evicts the least recently written buckets first, so a flood of requests in the
     * current slot does not take the newest request with it */
    uint64_t written;
} win__bucket;

typedef struct win__series {
    uint32_t ptype; /* string id */
    uint32_t rattr; /* resource-attribute set id */
    uint32_t hash;
    win__bucket *b; /* sorted by slot, oldest first */
    uint32_t nb, bcap;
} win__series;

struct win_store {
    win_config cfg;
    pthread_rwlock_t lock;
    uint64_t seed;
    uint64_t mem; /* accounted bytes */
    uint64_t limit;
    win__table strings, frames, nodes, labels, rattrs;
    win__series **series;
    uint32_t n_series, series_cap;
    uint32_t *series_slots;
    uint32_t series_slot_cap;
    uint32_t max_buckets; /* per series: covers now - retention .. now + retention */
    int64_t now_ns;       /* max of all "now" seen, so expiry never goes backwards */
    uint64_t sweep_gen;   /* bumped by every sweep: ids may have been reused */
    uint64_t write_seq;   /* bumped by every win_store_add (see win__bucket.written) */
    /* Whole-stack index: hash of a stack's frame ids -> its leaf node, verified by walking
     * the leaf's parent chain. One probe per recurring stack instead of one per frame.
     * Emptied by every sweep (leaves may be freed) and refilled as stacks recur. */
    uint32_t *stack_slots; /* WIN__NONE = empty; power-of-two size */
    uint32_t stack_slot_cap, stack_slot_used;
    int64_t last_slot, last_cut_slot; /* of now and of now - retention, at the last expiry */
    bool have_slot;
    uint64_t n_buckets, n_entries;
    uint64_t dropped_since_sweep;
    uint64_t evicted_buckets, expired_buckets, reclaimed_nodes;
    uint64_t samples_stored, samples_too_old, samples_too_new;
    uint64_t samples_unlinked; /* stored without their link: WIN__MAX_BUCKET_LINKS */
    uint64_t sweeps;
};

/* ---- helpers shared across the files of window/ ---- */

int64_t win__floor_div(int64_t a, int64_t b);

static inline const win__str *win__strs(const struct win_store *st)
{
    return (const win__str *)(const void *)st->strings.items;
}
static inline const win__frame *win__frames(const struct win_store *st)
{
    return (const win__frame *)(const void *)st->frames.items;
}
static inline const win__node *win__nodes(const struct win_store *st)
{
    return (const win__node *)(const void *)st->nodes.items;
}
static inline win__set *win__label_set(const struct win_store *st, uint32_t id)
{
    return ((win__set *const *)(const void *)st->labels.items)[id];
}
static inline win__set *win__rattr_set(const struct win_store *st, uint32_t id)
{
    return ((win__set *const *)(const void *)st->rattrs.items)[id];
}
static inline const char *win__str_get(const struct win_store *st, uint32_t id)
{
    return win__strs(st)[id].s;
}

/* Looks a string up without interning it; WIN__NONE when absent. */
uint32_t win__find_str(const struct win_store *st, const char *s);
/* Recomputes the accounted memory from scratch (takes the read lock); tests compare it
 * with win_store_stats().memory_used to prove the running total never drifts. */
uint64_t win__recount(struct win_store *st);
/* Runs a full mark-and-sweep now (write lock held). */
void win__sweep(struct win_store *st);

#define WIN__STR_CACHE_BITS  11u
#define WIN__STR_CACHE_SLOTS (1u << WIN__STR_CACHE_BITS)
/* 1,024: translate/ gives equal attribute lists one array for the whole request, so the
 * arrays of many profiles (hundreds of thousands of samples) meet in this cache */
#define WIN__LABEL_CACHE_SLOTS 1024u /* power of two */

/* Observations a request stored, per (time slot, series) bucket: the memory limit may
 * evict a request's own data (it was the store's oldest), and the sender must hear how
 * much. A hash table keyed by (slot, series) (store.c, kept_add / kept_take). The series is
 * an identity only (never dereferenced): a series freed and reallocated at the same address
 * mid-request could be miscounted, which needs its buckets to expire while the request is
 * being stored. */
typedef struct win__slot_obs {
    int64_t slot;
    const void *series; /* NULL: an empty slot of the table */
    uint64_t n;
} win__slot_obs;

#define WIN__KEPT_MAX_RUNS                                                                         \
    (1u << 20) /* 24 MiB: a request with more distinct buckets (over a                             \
                 million seconds of data at 1 s) is counted in part */

typedef struct win__kept {
    win__slot_obs *runs;
    uint32_t n, cap;
    int64_t min_slot; /* oldest slot in runs; INT64_MAX when empty */
} win__kept;

struct win_intern_cache {
    const win_store *store; /* the store and sweep generation the ids below belong to */
    uint64_t sweep_gen;
    uint32_t *frame_ids, *stack_nodes;
    uint32_t n_frames, n_stacks; /* entries valid (the rest is WIN__NONE) */
    /* stacks [0, stacks_checked) passed validate(): the tables are prefix-stable across
     * the batches of a request, so each stack is range-checked once per request */
    uint32_t stacks_checked, frames_when_checked;
    /* Direct-mapped pointer -> string id cache: a request's strings come from its string
     * table, so one pointer recurs for every frame of a file, mapping or function. */
    const char *str_ptr[WIN__STR_CACHE_SLOTS];
    uint32_t str_id[WIN__STR_CACHE_SLOTS];
    /* Direct-mapped (attrs, n, trace, span) pointers -> label-set id: translate/ hands
     * every sample of a profile the same attribute array and each link's own id bytes, so
     * a few keys recur for thousands of samples that would each sort and hash the set. */
    struct {
        const win_attr *attrs;
        const uint8_t *trace_id, *span_id;
        uint32_t n_attrs;
        uint32_t id; /* WIN__NONE = empty slot */
    } label[WIN__LABEL_CACHE_SLOTS];
    /* not interning: what the request's batches stored (those not `restated`), kept
     * across its batches so a later batch evicting an earlier one's data is counted */
    win__kept kept;
};

/* ---- selectors ---- */

typedef enum win__op { WIN__OP_EQ, WIN__OP_NE, WIN__OP_RE, WIN__OP_NRE } win__op;

typedef struct win__matcher {
    char *name;
    char *value;
    win__op op;
    base_regex *re; /* =~ and !~ only, compiled fully anchored */
} win__matcher;

struct win_selector {
    win__matcher *m;
    uint32_t n;
    /* every regex of the selector draws on it: a selector is parsed per query, so this
     * bounds the regex time of one query (BASE_REGEX_QUERY_BUDGET_NS) */
    base_regex_budget budget;
};

/* Evaluates one matcher against an attribute value ("" when the attribute is absent): 1 when
 * it holds, 0 when not, -1 when its regex hit a match limit, which fails the whole query
 * (with win__matcher_err) rather than counting as either answer. */
int win__matcher_eval(const win__matcher *m, const char *value);
/* The error of a query whose matcher `m` returned -1; starts with "selector: ". */
void win__matcher_err(const win__matcher *m, char *err, size_t err_len);

/* ---- per-query scratch and results (query.c, listing.c; malloc, not store memory) ---- */

/* Open-addressing map uint64 -> (val, aux); grows by doubling, bounded by what one query
 * visits, which is bounded by the store. */
typedef struct win__qmap {
    uint64_t *keys;
    int64_t *vals;
    uint32_t *aux;
    uint8_t *used;
    size_t cap, n;
} win__qmap;

void win__qmap_free(win__qmap *m);
/* Returns the slot of `key`, inserting (val 0, aux WIN__NONE) when absent; SIZE_MAX on OOM.
 * Slots move when the map grows: never keep one across another win__qmap_get. */
size_t win__qmap_get(win__qmap *m, uint64_t key, bool *inserted);
/* The slot of `key`, or SIZE_MAX when absent. */
size_t win__qmap_find(const win__qmap *m, uint64_t key);

/* Memory owner of a win_merged, win_listing or win_timeseries. */
struct win_merged_priv {
    base_arena arena;
    uint32_t *fn_of_frame; /* merged frame -> function index */
    const char **fn_name;  /* function key: name, or hex address when unsymbolized */
    const char **fn_file;  /* file of the first frame of the function */
    const char **fn_type;  /* frame type of the first frame of the function */
    uint32_t n_fn;
};

/* The value a selector sees for attribute `name` of sample-label set `ls`: the attribute,
 * or for "trace_id" / "span_id" (when no attribute has that name) the link's id in lower-case
 * hex, "" when absent. `buf` >= WIN__LINK_HEX bytes. */
#define WIN__LINK_HEX 33u
const char *win__label_attr(const struct win_store *st, const win__set *ls, const char *name,
                            char *buf);

/* Finds `key` in an interned set; false (value untouched) when absent. */
bool win__set_find(const struct win_store *st, const win__set *s, const char *key,
                   const char **value);

#endif
