/* query/query.h — the operations behind the query tools, over merged window results.
 *
 * Purpose: turn a win_merged (window/'s merge of a slice of the store) into the answers
 * an agent asks for — top table, call tree (flame graph) with focus path and pruning,
 * sandwich (callers and callees of one function), diff of two merges, pprof export — and
 * parse the time expressions the tools accept. Everything here is pure computation on
 * its inputs: no store access, no JSON, no MCP (mcp/ and tools/ render the results).
 *
 * Aggregation is pprof's (DESIGN.md "Queries"): a frame is one line of a location; a
 * function key is the function name, or "0x<hex address>" for an unsymbolized frame
 * (win_top's keys); flat = value of samples whose leaf is the function, cum = value of
 * samples in whose stack it appears at least once.
 *
 * Thread-safety: every function is reentrant; inputs are only read, so any number of
 * threads may query the same win_merged at once.
 *
 * Ownership: results are allocated by the callee and released with their *_free; they
 * copy or own every string they expose (they stay valid after the win_merged is freed)
 * unless a comment says "borrows".
 */
#ifndef OTELPROFD_QUERY_H
#define OTELPROFD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "window/window.h"

/* ---- time expressions ---------------------------------------------------------- */

/* Parses a time: RFC 3339 ("2026-11-21T10:00:00Z", fractional seconds and +hh:mm offsets
 * accepted), unix seconds ("1763719200", fractional allowed), unix milliseconds or
 * nanoseconds when the number is too large to be seconds (>= 1e11 -> ms, >= 1e14 -> ns),
 * "now", or "now-15m" / "now+1h" (units ms, s, m, h, d). Returns 0, or -1 with `err`
 * saying what is accepted. Times outside [QUERY_TIME_MIN_NS, QUERY_TIME_MAX_NS) are refused: no
 * profile is older than the unix epoch, and int64 nanoseconds end in April 2262; stopping
 * ~100 days short of that leaves room for range arithmetic (end + a step) to stay exact. */
#define QUERY_TIME_MIN_NS ((int64_t)0)                   /* 1970-01-01T00:00:00Z */
#define QUERY_TIME_MAX_NS ((int64_t)9214646400000000000) /* 2262-01-01T00:00:00Z, excluded */
int query_parse_time(const char *text, int64_t now_ns, int64_t *out_ns, char *err, size_t err_len);

/* Parses a duration for steps and ranges: "10s", "1m", "1h30m", "250ms". */
int query_parse_step(const char *text, int64_t *out_ns, char *err, size_t err_len);

/* ---- top table ----------------------------------------------------------------- */

typedef enum query_sort { QUERY_SORT_FLAT, QUERY_SORT_CUM } query_sort;

typedef struct query_table_opts {
    query_sort sort;
    uint32_t limit;     /* rows shown; 0 = default 25 */
    const char *filter; /* RE2/Go regex searched for anywhere in the function key (not
                           anchored; base_regex_compile's limits), or NULL */
} query_table_opts;

typedef struct query_table_row {
    const char *function;
    const char *file;
    int64_t flat, cum;
    const char *frame_type; /* `profile.frame.type` of the function's first frame, "" if none */
} query_table_row;

typedef struct query_table {
    int64_t total;        /* of the whole merge (percentages are of this) */
    uint32_t n_functions; /* functions matching the filter, before the limit */
    uint32_t n_rows;      /* rows shown */
    query_table_row *rows;
    int64_t shown_flat; /* sum of flat over rows shown */
    int64_t other_flat; /* flat of matching functions not shown (the "other" row) */
    struct query_priv *priv;
} query_table;

/* NULL with `err` on a bad filter regex (refused by base_regex_compile, or hitting a match
 * limit on some function name: never taken as "no match"), or on allocation failure. */
query_table *query_table_compute(const win_merged *m, const query_table_opts *o, char *err,
                                 size_t err_len);
void query_table_free(query_table *t);

/* ---- call tree (flame graph) --------------------------------------------------- */

typedef struct query_flame_opts {
    const char *const *focus_path; /* frames from the root: function keys (names or 0x
                                      addresses); the tree is rooted at the end of it */
    uint32_t n_focus;
    uint32_t max_depth; /* levels below the (focus) root; 0 = default 16 */
    double min_percent; /* children with cum < this % of the (focus) root are folded; <0 =
                           default 0.5 */
    uint32_t max_nodes; /* rows, "other" rows included; 0 = default 120 */
} query_flame_opts;

/* Rows in breadth-first order. Row 0 is the root ("root", or the last focus frame).
 * Children of one parent are sorted by cum descending. A parent whose children were cut
 * by min_percent or max_nodes gets one row named "(other)" carrying their summed cum
 * (flat = cum), so at every level parent.cum == parent.flat + sum(children.cum) for each
 * row that has children; children cut by max_depth are not shown (the row's cum still
 * includes them). Hence sum(leaf.cum) + sum(inner.flat) == root.cum. */
typedef struct query_flame_row {
    int32_t id;     /* == index */
    int32_t parent; /* -1 for the root */
    uint32_t depth; /* 0 for the root */
    int64_t cum, flat;
    const char *name; /* function key, "root" or "(other)" */
    bool is_other;
    bool truncated;         /* children exist but were cut by max_depth */
    const char *frame_type; /* `profile.frame.type` of the function, "" if none or a pseudo row */
} query_flame_row;

typedef struct query_flame {
    int64_t total;    /* whole merge */
    int64_t root_cum; /* cum of row 0 (the focus root) */
    uint32_t n_rows;
    query_flame_row *rows;
    uint32_t n_pruned; /* tree nodes folded into "(other)" rows or cut by depth */
    bool focus_found;  /* false when focus_path matched nothing (then n_rows == 0) */
    struct query_priv *priv;
} query_flame;

/* The function-level call tree: frames along a stack are merged by function key (a
 * stack main->a->b and main->a->c share main and a). With a focus path, only stacks that
 * begin with it count, and the tree starts at its last frame. */
query_flame *query_flame_compute(const win_merged *m, const query_flame_opts *o, char *err,
                                 size_t err_len);
void query_flame_free(query_flame *f);

/* ---- sandwich ------------------------------------------------------------------ */

/* Nodes one sandwich tree may hold below level 1 before new paths are cut (about 100
 * bytes each while it is built and emitted), whatever the depth or number of stacks. */
#define QUERY_SANDWICH_TREE_NODES (1u << 17)

typedef struct query_sandwich_opts {
    const char *function;    /* function key */
    uint32_t max_depth;      /* levels each way; 0 = default 8 */
    uint32_t max_nodes;      /* rows per tree; 0 = default 60 */
    double min_percent;      /* as for the flame graph, of the function's cum; <0 = default 0.5 */
    uint32_t max_tree_nodes; /* node budget per tree (see below); 0 = QUERY_SANDWICH_TREE_NODES */
} query_sandwich_opts;

/* Callers: row 0 is the function (cum = its cum, flat = its flat); its children are its
 * direct callers, their children the callers' callers, up to the roots. Callees: row 0 is
 * the function, children are the functions it calls, down to the leaves. "(other)" rows
 * as in query_flame.
 *
 * Level 1 of each equals `go tool pprof -peek` for the function: an edge caller->function
 * (function->callee) carries the value of the samples in which that edge appears, each
 * distinct edge counted once per sample; a run of the function calling itself directly is
 * one occurrence (pprof has no self edges). Each edge continues from its outermost
 * occurrence in the stack. Which paths go on below level 1, per stack:
 *   - callers: the edge of the innermost such occurrence continues up to the root (through
 *     every outer occurrence of the function, so the recursion shows), callees: the edge of
 *     the outermost occurrence down to the leaf (through every inner one). This is the one
 *     path per stack that pprof's flame-graph pivot draws (each stack counted once per row).
 *   - every other edge's path stops where it reaches the function again: that row (the
 *     function's name) has one child "(recursion)" that carries the value (flat = cum);
 *     what lies beyond is the function's own callers / callees, i.e. row 0's children.
 * For stacks in which the function occurs at most twice (two runs) this is exactly the
 * full path of every edge. With more occurrences a full path per occurrence would cost
 * depth x occurrences per stack (a 16,384-frame stack alternating the function with other
 * functions: ~8 GB), so the work is one walk of the merged tree plus, per kept edge, a
 * path of at most max_depth + 1 levels.
 *
 * Bounds: each tree holds max_depth + 1 levels (frames deeper than what can be shown add to
 * the last level, so every row shown keeps its exact cum, and rows at max_depth still
 * report `truncated`). Below level 1 a tree holds at most max_tree_nodes nodes (plus one
 * pseudo row per node); past that, a path that needs a new node ends in a "(cut)" row
 * under the deepest node it reached, carrying its value, and `cut` is set.
 *
 * Row 0 of the callers tree has cum = the function's cum and flat = the value of stacks in
 * which the function has no caller (it is the root), so row 0 == flat + children; the
 * function's own flat/cum are in query_sandwich.flat/.cum. With recursion through other
 * functions, level-1 edges follow pprof (each distinct edge once per sample), so row 0's
 * children may sum to more than its cum; every deeper row keeps the query_flame invariants. */
typedef struct query_sandwich {
    int64_t total;
    int64_t flat, cum; /* of the function */
    bool found;
    bool cut;            /* a tree reached max_tree_nodes: "(cut)" rows carry the rest */
    bool recursion;      /* some path stopped at a repeated occurrence: "(recursion)" rows */
    uint32_t tree_nodes; /* nodes built in both trees (roots and pseudo rows included) */
    uint64_t work;       /* merged nodes visited + tree steps taken (for tests of the bound) */
    query_flame callers; /* rows with the same invariants as query_flame */
    query_flame callees;
    struct query_priv *priv;
} query_sandwich;

query_sandwich *query_sandwich_compute(const win_merged *m, const query_sandwich_opts *o, char *err,
                                       size_t err_len);
void query_sandwich_free(query_sandwich *s);

/* ---- diff ---------------------------------------------------------------------- */

typedef struct query_diff_opts {
    double base_seconds, cmp_seconds; /* durations the merges cover, for per-second rates */
    uint32_t limit;                   /* rows; 0 = default 25 */
    query_sort by;                    /* rank by |change| of flat or of cum */
    /* rank by |change of share| (percentage points) rather than per second: for sides of
     * different profile types (cpu vs off-cpu), whose units do not compare */
    bool by_share;
} query_diff_opts;

typedef struct query_diff_row {
    const char *function;
    int64_t base_flat, base_cum, cmp_flat, cmp_cum;
    double base_per_s, cmp_per_s; /* of the ranked measure, per second */
    double base_share, cmp_share; /* of the ranked measure, as % of each total */
    double delta_per_s;           /* cmp_per_s - base_per_s */
    double delta_share;           /* cmp_share - base_share (percentage points) */
} query_diff_row;

typedef struct query_diff {
    int64_t base_total, cmp_total;
    double base_total_per_s, cmp_total_per_s;
    uint32_t n_functions; /* in either merge */
    uint32_t n_rows;
    query_diff_row *rows;         /* ranked by |delta_per_s| (by_share: |delta_share|) descending */
    double other_abs_delta_per_s; /* sum of |delta| of the rows not shown */
    double other_abs_delta_share; /* sum of |delta_share| of the rows not shown */
    struct query_priv *priv;
} query_diff;

query_diff *query_diff_compute(const win_merged *base, const win_merged *cmp,
                               const query_diff_opts *o, char *err, size_t err_len);
void query_diff_free(query_diff *d);

/* ---- source lines ------------------------------------------------------------------ */

/* Functions the header of a source answer describes at most; more matching functions are
 * counted (n_functions) and their lines still ranked. */
#define QUERY_SOURCE_MAX_FUNCTIONS 20u

typedef struct query_source_opts {
    const char *function;       /* exact function key (name, or "0x..." address), or NULL */
    const char *function_regex; /* else: RE2/Go regex searched for in function keys */
    query_sort sort;            /* rank lines by flat (default) or cum */
    uint32_t limit;             /* rows shown; 0 = default 40 */
} query_source_opts;

/* One source line at pprof's `-lines` granularity: a frame is one line of a location, so a
 * line is (function, file, line); an unsymbolized frame is its address (line 0, file ""). */
typedef struct query_source_row {
    const char *function; /* function key */
    const char *file;
    int64_t line;
    uint64_t address; /* unsymbolized rows only, else 0 */
    bool unsymbolized;
    int64_t flat, cum;
} query_source_row;

/* A function the answer covers: where to open it. */
typedef struct query_source_fn {
    const char *function;
    const char *file;       /* file of its first frame in the merge */
    int64_t start_line;     /* the sender's Function.start_line, else the lowest line seen */
    bool start_line_known;  /* false when start_line is only the lowest line sampled */
    const char *frame_type; /* `profile.frame.type` of its first frame, "" when not given */
    int64_t flat, cum;      /* of the whole function (cum: recursion counted once) */
    uint32_t n_lines;
} query_source_fn;

typedef struct query_source {
    int64_t total;        /* of the whole merge */
    uint32_t n_functions; /* functions matched */
    query_source_fn *fns; /* the first QUERY_SOURCE_MAX_FUNCTIONS of them, by cum */
    uint32_t n_fns;
    uint32_t n_lines; /* lines of the matched functions, before the limit */
    uint32_t n_rows;
    query_source_row *rows; /* ranked by the sort, then the other measure, then file:line */
    int64_t other_flat;     /* flat of the lines not shown */
    struct query_priv *priv;
} query_source;

/* Per source line of one function (or of every function a regex matches): flat = value of
 * samples whose leaf frame is that line, cum = value of samples in whose stack the line
 * appears at least once; equals `go tool pprof -top -lines` restricted to the function's
 * rows. n_functions == 0 when nothing matched. NULL with `err` on a bad regex, a regex
 * that hit its match limit, or allocation failure. */
query_source *query_source_compute(const win_merged *m, const query_source_opts *o, char *err,
                                   size_t err_len);
void query_source_free(query_source *s);

/* ---- pprof export -------------------------------------------------------------- */

/* Export limits, in profile.proto bytes before gzip and in samples. The stacks alone may
 * fill MAX_BYTES (as large as the default largest OTLP request); sample labels, which
 * multiply the samples of a stack, are kept only within LABEL_BYTES: 16 MiB of location
 * ids is ~8 M frames over all samples, which `go tool pprof -top` already needs about half
 * a minute to read (its cost follows samples x depth). */
#define QUERY_PPROF_MAX_BYTES   ((uint64_t)64 << 20)
#define QUERY_PPROF_LABEL_BYTES ((uint64_t)16 << 20)
#define QUERY_PPROF_MAX_SAMPLES 1000000u

typedef struct query_pprof_opts {
    uint64_t max_bytes;   /* 0 = QUERY_PPROF_MAX_BYTES */
    uint64_t label_bytes; /* 0 = QUERY_PPROF_LABEL_BYTES (at most max_bytes) */
    uint64_t max_samples; /* 0 = QUERY_PPROF_MAX_SAMPLES */
} query_pprof_opts;

typedef struct query_pprof_info {
    uint64_t samples;       /* samples written */
    uint64_t encoded_bytes; /* profile.proto bytes before gzip */
    uint64_t folded;        /* (stack, label set) pairs whose labels were dropped at the limits */
    int64_t folded_value;   /* their value, kept in unlabelled samples of the same stacks */
} query_pprof_info;

/* Encodes the merge as a gzipped pprof profile.proto: sample_type and period_type from
 * the profile type ("cpu:nanoseconds" -> type "cpu", unit "nanoseconds"), one Function
 * per (name, file), one Location per frame (an unsymbolized one keeps its address and
 * mapping and gets a Function named "0x<address>", so pprof lists it by address as the
 * table does instead of lumping a mapping's frames together),
 * Mappings by (file, build id), one Sample per (leaf, label set) with string labels from
 * the sample attributes (with keep_labels merges; otherwise one per leaf) and
 * "trace_id"/"span_id" labels in hex, time_nanos/duration_nanos from the covered range.
 * `go tool pprof -top` of the output equals query_table of `m`.
 *
 * Limits (`o`, NULL for the defaults): every stack that carries value is written whole,
 * once, without labels if need be, within max_bytes and max_samples; a profile whose
 * stacks alone exceed them is refused (-1, `err` gives the sizes) rather than cut.
 * Labeled samples are then kept, heaviest first, while the profile stays within
 * label_bytes and max_samples, and the value of the label sets past them goes to that one
 * unlabelled sample of the same stack. So stacks, totals and `-top` stay exact and only
 * labels are lost, which `info` reports (folded > 0; NULL when not wanted). Memory: the
 * output and per-node/per-label-set tables; samples are encoded straight into the gzip
 * stream.
 * Returns 0 and a malloc'd buffer in *out (caller frees), or -1 with `err`. */
int query_export_pprof(const win_merged *m, const query_pprof_opts *o, query_pprof_info *info,
                       uint8_t **out, size_t *out_len, char *err, size_t err_len);

#endif
