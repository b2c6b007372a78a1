/* window/window.h — the in-memory store of recent profiles, and its merge primitive.
 *
 * Purpose: keep the recent past (--retention, default 1 h) of every received profile as
 * pprof-shaped, time-bucketed data, in bounded memory, and merge any slice of it.
 *   - A *series* is one profile type ("cpu:nanoseconds") plus one resource-attribute set.
 *   - Strings, frames (function, file, line, address, mapping, build id) and stacks are
 *     interned once per store. A stack is a node of a prefix tree (parent, frame), so a
 *     60-frame stack seen a million times costs one leaf.
 *   - Each series holds a ring of buckets --resolution wide (default 10 s). A bucket is a
 *     compact array of entries (stack node, sample-label set, value); the sample-label set
 *     interns the sample attributes *and* the trace link together.
 *   - Expired buckets are freed; over --memory-limit the oldest buckets of the whole store
 *     go first; interned strings/frames/nodes/label sets nothing references any more are
 *     reclaimed (mark and sweep after evictions). Memory is accounted from the capacities
 *     of the store's own arrays and tables, not guessed.
 *   window/ knows nothing of OTLP, JSON or MCP: translate/ feeds it win_batch values.
 *
 * Thread-safety: every function taking a win_store is safe to call from any thread,
 * concurrently. Ingest (win_store_add) holds the store's write lock for one batch;
 * queries (win_merge, win_store_stats, ...) hold the read lock while they copy what they
 * return, so each result is a consistent snapshot and stays valid after the lock is gone.
 * win_selector values are immutable after parsing and may be shared between threads.
 *
 * Ownership: the store copies everything it is given (callers keep ownership of batch
 * memory, which only needs to live for the call). Results (win_merged, win_selector,
 * win_top rows) are owned by the caller and released with their *_free function.
 */
#ifndef OTELPROFD_WINDOW_H
#define OTELPROFD_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

typedef struct win_store win_store;

/* ---- configuration ----------------------------------------------------------- */

typedef struct win_config {
    int64_t retention_ns;  /* how far back data is kept; default 1 h */
    int64_t resolution_ns; /* bucket width; default 10 s */
    uint64_t
        memory_limit; /* bytes of accounted memory before the oldest buckets go; default 512 MiB */
} win_config;

/* Fills `cfg` with the documented defaults. */
void win_config_defaults(win_config *cfg);

/* Creates an empty store. Returns NULL on allocation failure or an invalid config
 * (resolution <= 0, retention < resolution). The store copies `cfg`. */
win_store *win_store_new(const win_config *cfg);
void win_store_free(win_store *store);

/* ---- ingest ------------------------------------------------------------------ */

/* One attribute, value already rendered as text (ints as decimal, bools as true/false).
 * Both pointers are borrowed for the duration of the call. */
typedef struct win_attr {
    const char *key;
    const char *value;
} win_attr;

/* One frame = one line of a location (inlined functions are frames of their own).
 * An unsymbolized frame has function == NULL (or "") and keeps address + mapping. */
typedef struct win_frame_in {
    const char *function; /* function name, NULL/"" if unsymbolized */
    const char *file;     /* source file, may be NULL */
    int64_t line;
    uint64_t address;     /* instruction address, 0 if unknown */
    const char *mapping;  /* mapping (binary) file name, may be NULL */
    const char *build_id; /* mapping build id, may be NULL */
    /* the location's `profile.frame.type` ("kernel", "native", "go", "jvm", ...), may be
     * NULL when the sender did not say */
    const char *frame_type;
    int64_t start_line; /* the function's first line, 0 when unknown (kept up to 2^31-1) */
} win_frame_in;

/* A stack: frame indices (into win_batch.frames), leaf first, as in pprof/OTLP. A batch with
 * a stack deeper than WIN_MAX_STACK_DEPTH frames is refused whole. */
#define WIN_MAX_STACK_DEPTH 16384u
typedef struct win_stack_in {
    const uint32_t *frames;
    uint32_t depth;
} win_stack_in;

/* One observation: `value` of the profile type at `time_ns` for the stack `stack`.
 * A sample with N timestamps is given as N win_sample_in (translate/ expands them). */
typedef struct win_sample_in {
    uint32_t stack;   /* index into win_batch.stacks */
    uint32_t n_attrs; /* sample attributes (thread.name, ...) */
    const win_attr *attrs;
    const uint8_t *trace_id; /* 16 bytes or NULL */
    const uint8_t *span_id;  /* 8 bytes or NULL */
    int64_t value;
    int64_t time_ns; /* unix nanoseconds */
} win_sample_in;

/* Optional, per request: lets consecutive batches of one request share the interning of
 * their frames and stacks, so a dictionary of 3,600 stacks is walked once per request
 * rather than once per profile. Every batch given the same cache must index the same
 * frame and stack tables (frame i and stack i mean the same thing in each; the tables may
 * grow between batches), and the strings, attribute arrays and trace/span id bytes the
 * batches point at must not change while the cache is in use (they are recognised by
 * address). The store notices when a sweep or another store invalidated the cache and
 * starts it afresh. Not thread-safe: one request, one thread. */
typedef struct win_intern_cache win_intern_cache;
win_intern_cache *win_intern_cache_new(void);
void win_intern_cache_free(win_intern_cache *cache);

/* Everything one OTLP profile (of one profile type and resource) contributes. All
 * indices must be in range: translate/ validates before building a batch; the store
 * re-checks them and rejects the whole batch (returning -1) if one is not. */
typedef struct win_batch {
    const char *profile_type; /* "type:unit", e.g. "cpu:nanoseconds" */
    const win_attr *resource; /* resource attributes (the series key with profile_type) */
    uint32_t n_resource;
    const win_frame_in *frames;
    uint32_t n_frames;
    const win_stack_in *stacks;
    uint32_t n_stacks;
    const win_sample_in *samples;
    uint32_t n_samples;
    win_intern_cache *cache; /* optional, see win_intern_cache; NULL = none */
    /* the samples restate observations an earlier batch of the same request carried
     * (translate/'s derived cpu:nanoseconds): stored, but not counted again in
     * samples_evicted */
    bool restated;
} win_batch;

typedef struct win_add_result {
    uint64_t samples_stored;  /* observations that landed in a bucket */
    uint64_t samples_too_old; /* older than the retention: counted, not stored */
    uint64_t samples_too_new; /* later than now + retention (a clock far off): counted,
                                 not stored, so a bad clock cannot evict good data */
    uint64_t samples_evicted; /* observations of this request (this batch and, through
                                 the cache, earlier ones not `restated`) that the memory
                                 limit dropped while this batch was added: they were
                                 among the store's oldest data. Without a cache, this
                                 batch's only. */
} win_add_result;

/* Adds a batch at wall-clock `now_ns` (the store's notion of "now" for expiry). Returns
 * BASE_OK, or a kind with `err` filled: BASE_ERR_INVALID for a bad index or attribute (the
 * batch is left out whole, store unchanged), BASE_ERR_BAD_ARGUMENT without a store,
 * BASE_ERR_NOMEM when memory or an interning table's cap ran out (a full table leaves the
 * batch out whole; when memory runs out part-way, what landed stays and `result` counts
 * it, so a caller reports exactly what was kept: tests/torture checks this for every
 * failure point). Evicts for the memory limit before returning; `result->samples_evicted`
 * says how much of this batch that took. */
base_err win_store_add(win_store *store, const win_batch *batch, int64_t now_ns,
                       win_add_result *result, char *err, size_t err_len);

/* Frees buckets older than now - retention and, when over the memory limit, the oldest
 * buckets of the store, then reclaims unreferenced interned data. win_store_add calls this
 * itself; a daemon also calls it periodically so an idle store still expires. */
void win_store_expire(win_store *store, int64_t now_ns);

/* ---- selectors --------------------------------------------------------------- */

/* A Prometheus-style selector over attribute names (dots allowed):
 *   {service.name="checkout", k8s.namespace.name=~"prod-.*", thread.name!="gc"}
 * Operators =, !=, =~, !~ (regexes in RE2/Go syntax, fully anchored, bounded: see
 * base_regex_compile; back-references are refused when parsing). The name
 * `service_name` is accepted for `service.name`. "" and "{}" match everything. A matcher
 * on an attribute that is absent compares against "" (so {x!="a"} matches when x is
 * missing, {x=""} too), as in Prometheus. Resource and sample attributes are both
 * addressable; a sample attribute is matched per entry. */
typedef struct win_selector win_selector;

/* Parses `text`. Returns NULL and writes a message naming the position of the problem to
 * `err` on a syntax error or a bad regex (`*kind` = BASE_ERR_BAD_ARGUMENT), or when memory
 * ran out (`*kind` = BASE_ERR_NOMEM: not the user's fault, not to be reported as a syntax
 * error). `kind` may be NULL. */
win_selector *win_selector_parse(const char *text, base_err *kind, char *err, size_t err_len);
void win_selector_free(win_selector *sel);
/* Matches one attribute set (used by the store; exposed for tests and for callers that
 * filter their own rows). `attrs` may list resource and sample attributes together.
 * Returns 1 on a match, 0 on none, -1 when a regex hit its match limit (an error, never a
 * non-match: report BASE_REGEX_TOO_EXPENSIVE). */
int win_selector_matches(const win_selector *sel, const win_attr *attrs, size_t n_attrs);

/* ---- merge ------------------------------------------------------------------- */

typedef struct win_query {
    const char *profile_type;     /* required, e.g. "cpu:nanoseconds" */
    const win_selector *selector; /* NULL = match everything */
    int64_t start_ns;             /* inclusive; INT64_MIN = from the oldest retained */
    int64_t end_ns;               /* exclusive; INT64_MAX = up to the newest */
    bool keep_labels;             /* win_merge: also return (node, sample-label set) sums */
} win_query;

/* A frame of a merged result. Strings are owned by the win_merged. */
typedef struct win_frame {
    const char *function; /* "" when unsymbolized */
    const char *file;     /* "" when unknown */
    int64_t line;
    uint64_t address;
    const char *mapping;    /* "" when unknown */
    const char *build_id;   /* "" when unknown */
    const char *frame_type; /* `profile.frame.type`, "" when the sender did not say */
    int64_t start_line;     /* the function's first line, 0 when unknown */
} win_frame;

/* A node of the merged call tree. nodes[0] is the synthetic root (frame UINT32_MAX,
 * parent -1). Parents always precede their children. `self` is the value of samples
 * whose leaf is this node (their stack ends here). */
typedef struct win_node {
    int32_t parent;
    uint32_t frame; /* index into win_merged.frames; UINT32_MAX for the root */
    int64_t self;
} win_node;

/* A distinct sample-label set of a merged result (sample attributes + trace link). */
typedef struct win_label_set {
    const win_attr *attrs; /* sorted by key; strings owned by the win_merged */
    uint32_t n_attrs;
    const uint8_t *trace_id; /* 16 bytes or NULL */
    const uint8_t *span_id;  /* 8 bytes or NULL */
} win_label_set;

/* Value of one (leaf node, label set) pair: only with win_query.keep_labels. The sum of
 * `value` over the pairs of a node equals that node's `self`. */
typedef struct win_labeled {
    uint32_t node;   /* index into win_merged.nodes */
    uint32_t labels; /* index into win_merged.label_sets */
    int64_t value;
} win_labeled;

typedef struct win_merged {
    char *profile_type;
    int64_t total;            /* sum of all self values */
    int64_t start_ns, end_ns; /* time actually covered by the buckets merged */
    uint32_t n_series;        /* series that contributed */
    uint64_t n_entries;       /* bucket entries visited */
    win_frame *frames;
    uint32_t n_frames;
    win_node *nodes;
    uint32_t n_nodes;
    win_labeled *labeled; /* keep_labels only, else NULL/0 */
    uint32_t n_labeled;
    win_label_set *label_sets;
    uint32_t n_label_sets;
    struct win_merged_priv *priv; /* memory owner */
} win_merged;

/* Merges every bucket entry of series of `q->profile_type` whose resource+sample
 * attributes match `q->selector` and whose bucket overlaps [start, end). Returns a new
 * result (possibly with total 0) or NULL with `eb` (may be NULL) set: BASE_ERR_BAD_ARGUMENT
 * for the request's fault (no store or profile type; a selector regex that hit its match
 * limit on a stored value, reason starting "selector: "), BASE_ERR_NOMEM when memory ran
 * out. In the listings and time series below, a selector error likewise starts with
 * "selector: " and any other means memory ran out. */
win_merged *win_merge(win_store *store, const win_query *q, base_errbuf *eb);

/* Which frames a merge keeps, by their `profile.frame.type` ("kernel", "native", "go", ...):
 * with `exclude` false only frames of the listed types, with `exclude` true all but them
 * (a frame whose sender gave no type has type ""). A dropped frame is taken out of every
 * stack, as `go tool pprof -show` / `-hide` do: its callees attach to its caller, and the
 * value of samples whose leaf it was goes to the nearest kept frame above it (the root
 * when none is left), so the total stays the same. At most WIN_FRAME_FILTER_MAX types. */
#define WIN_FRAME_FILTER_MAX 16u
typedef struct win_frame_filter {
    const char *const *types;
    uint32_t n_types;
    bool exclude;
} win_frame_filter;

/* win_merge with a frame filter (NULL = keep every frame, which is win_merge). */
win_merged *win_merge_filtered(win_store *store, const win_query *q, const win_frame_filter *frames,
                               base_errbuf *eb);
void win_merged_free(win_merged *m);

/* The first node of `m` that breaks the shape win_merge guarantees (parents precede
 * their children, every frame index is in range), or 0 when every node keeps it. For
 * code handed a result it did not merge itself (built by hand, by a test, by a fuzzer). */
uint32_t win_merged_bad_node(const win_merged *m);

/* Children and subtree values of a merged tree, for walks from the root down: the
 * children of node v are kids[first[v] .. first[v + 1]) in index order; sub[v] is v's
 * self plus that of every descendant (saturating). Arrays owned by the index. */
typedef struct win_tree_index {
    uint32_t n;      /* nodes of the tree */
    int64_t *sub;    /* [n] */
    uint32_t *first; /* [n + 2]: first[0..n] as above, first[n + 1] scratch */
    uint32_t *kids;  /* [n]: the n - 1 non-root nodes grouped by parent */
} win_tree_index;

/* BASE_OK; BASE_ERR_INVALID (nothing allocated) when win_merged_bad_node finds a node;
 * BASE_ERR_NOMEM. Costs three passes over the nodes; free with win_tree_index_free. */
base_err win_tree_index_build(const win_merged *m, win_tree_index *ti);
void win_tree_index_free(win_tree_index *ti);

/* pprof -top semantics over a merged tree: a frame's function key is its function name,
 * or its hex address ("0x4f5a1b") when unsymbolized. flat = value of samples whose leaf
 * frame is the function; cum = value of samples in whose stack the function appears at
 * least once (recursion counted once). */
typedef struct win_top_row {
    const char *function; /* owned by the win_merged the rows were computed from */
    const char *file;
    int64_t flat;
    int64_t cum;
    const char *frame_type; /* `profile.frame.type` of the function's first frame, "" if none */
} win_top_row;

/* Computes one row per function, sorted by flat descending, then cum descending, then
 * name. Returns the row count and sets *rows (free with free()); -1 on allocation failure.
 * The rows borrow strings from `m`: valid until win_merged_free(m). */
int64_t win_top(const win_merged *m, win_top_row **rows);

/* ---- listings and time series (for the query tools) -------------------------- */

/* One profile type present for a selector/time range. */
typedef struct win_type_info {
    const char *profile_type;
    int64_t total;      /* sum of values in the range */
    uint64_t n_entries; /* bucket entries */
    uint32_t n_series;
    int64_t start_ns, end_ns; /* covered bucket range */
} win_type_info;

/* An attribute name present for a selector/time range, resource or sample level. */
typedef struct win_label_info {
    const char *name;
    uint32_t n_values;   /* distinct values */
    bool resource_level; /* true when it comes from resource attributes (series key) */
} win_label_info;

/* One value of an attribute with the total of the profile type under it (or, with no
 * profile type given, the number of stored observations, i.e. bucket entry counts). */
typedef struct win_label_value {
    const char *value;
    int64_t total;
} win_label_value;

/* Common to the listings and the time series: entries are picked exactly as win_merge
 * picks them; when a name is both a resource and a sample attribute the resource value
 * wins (as in selectors); `service_name` works wherever an attribute name is taken. On
 * failure they return NULL with `eb` (may be NULL) set as win_merge sets it:
 * BASE_ERR_BAD_ARGUMENT for the request's fault (a selector regex over its match limit,
 * "selector: ..."; a missing argument; too many steps or cells), BASE_ERR_NOMEM otherwise.
 * Listings return at most 100,000 rows, ranked/sorted before the cut (callers cut further
 * for display). */

/* A listing result: rows plus the memory they live in. Free with win_listing_free. */
typedef struct win_listing {
    void *rows; /* win_type_info *, win_label_info * or win_label_value * */
    size_t n_rows;
    struct win_merged_priv *priv;
} win_listing;

/* Profile types whose series match `sel` (resource attributes; sample-attribute matchers
 * filter entries) with data in [start, end), sorted by name. */
win_listing *win_list_profile_types(win_store *store, const win_selector *sel, int64_t start_ns,
                                    int64_t end_ns, base_errbuf *eb);
/* Attribute names (resource and sample level) present in entries matching `q`
 * (q->profile_type may be NULL = all types), sorted by name. */
win_listing *win_list_labels(win_store *store, const win_query *q, base_errbuf *eb);
/* Values of attribute `name` in entries matching `q`, ranked by total descending (ties by
 * value). With q->profile_type NULL, totals are observation counts. */
win_listing *win_list_label_values(win_store *store, const win_query *q, const char *name,
                                   base_errbuf *eb);
void win_listing_free(win_listing *l);

/* Totals per time step for entries matching `q` (profile_type required).
 *   step_ns: >= the store's resolution (smaller is rounded up to it); steps start at
 *            q->start_ns (or the oldest retained bucket when INT64_MIN) aligned down to
 *            the resolution; a bucket lands in the step containing its start.
 *   function: when non-NULL, count only samples in whose stack this function (name, or
 *            "0x..." address of an unsymbolized frame, as win_top keys) appears (cum).
 *   group_by: when non-NULL, one series per value of that attribute (resource or sample
 *            level; "" for entries without it), at most max_groups by total, the rest
 *            summed into a group named "(other)".
 *   max_groups: 0 = 1,000 (also the cap).
 * Open-ended ranges are anchored to the buckets of the matching series; with no data there
 * are 0 steps. More than 100,000 steps, or start >= end, is an error that says what to
 * change. The function key must match win_top's exactly ("0x4f5a1b", lower case).
 * Result: n_steps values per group, group 0..n_groups-1, sorted by total descending. */
typedef struct win_timeseries {
    int64_t start_ns, step_ns;
    uint32_t n_steps;
    uint32_t n_groups;
    const char **group_names; /* "(all)" when not grouped */
    const int64_t *totals;    /* per group */
    const int64_t *values;    /* n_groups * n_steps, row-major by group */
    struct win_merged_priv *priv;
} win_timeseries;

win_timeseries *win_query_timeseries(win_store *store, const win_query *q, int64_t step_ns,
                                     const char *function, const char *group_by,
                                     uint32_t max_groups, base_errbuf *eb);
void win_timeseries_free(win_timeseries *ts);

/* The store's bucket width and retention (fixed at creation). */
int64_t win_store_resolution(const win_store *store);
int64_t win_store_retention(const win_store *store);
/* The store's memory limit in bytes (fixed at creation; 0 = none). */
uint64_t win_store_memory_limit(const win_store *store);

/* ---- status ------------------------------------------------------------------ */

typedef struct win_stats {
    uint64_t series;
    uint64_t buckets;
    uint64_t entries;
    uint64_t nodes;
    uint64_t frames;
    uint64_t strings;
    uint64_t label_sets;
    uint64_t memory_used; /* accounted bytes */
    uint64_t memory_limit;
    uint64_t evicted_buckets; /* by memory pressure */
    uint64_t expired_buckets; /* by age */
    uint64_t reclaimed_nodes; /* freed by sweeps */
    uint64_t samples_stored;
    uint64_t samples_too_old;
    uint64_t samples_too_new;
    int64_t oldest_ns, newest_ns; /* time coverage of retained buckets; 0 when empty */
    /* observations stored without their trace link: their bucket already held 16,384
     * linked entries (per series and bucket), so trace_id/span_id filters miss them */
    uint64_t samples_unlinked;
} win_stats;

void win_store_stats(win_store *store, win_stats *out);

/* Profile types present, for listing. Calls `fn` once per distinct type under the read
 * lock (do not call back into the store from `fn`). Returns 0, or -1 when memory ran out
 * before any call (noted with base_alloc_failed_note: "no types" would be a lie). */
int win_store_each_profile_type(win_store *store, void (*fn)(const char *type, void *ctx),
                                void *ctx);

#endif
