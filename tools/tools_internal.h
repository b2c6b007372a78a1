/* tools/tools_internal.h — what the files of tools/ share (not a public contract).
 *
 * Layout: util.c (text buffer, human units, CSV, time text, argument parsing into a
 * query), info.c (get_status and the listings), profile.c (table, flame graph, sandwich,
 * diff, time series, export), guide.c (resource, prompts, completion), http.c (the HTTP
 * API routes), tools.c (the registry, schemas, tools_call_text, tools_register).
 *
 * Thread-safety: the tools context is read-only after tools_new except http_base_url,
 * which is guarded by `mu`. Every handler works on its own arguments and buffers.
 */
#ifndef OTELPROFD_TOOLS_INTERNAL_H
#define OTELPROFD_TOOLS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mcp/mcp.h"
#include "query/query.h"
#include "tools/tools.h"

/* ~4,000 tokens at ~4 bytes a token: the default size of a text answer */
#define TOOLS__TEXT_BUDGET ((size_t)16000)

/* Whether the caller set argument `name`. The text budget only shrinks answers whose size
 * argument was left at its default: an explicit limit/max_nodes is honoured (up to the
 * schema maximum), because the caller asked for that much on purpose. */
static inline bool tools__given(const cJSON *args, const char *name)
{
    return args && cJSON_GetObjectItemCaseSensitive(args, name) != NULL;
}
/* a hard cap for any text buffer (the HTTP /debug/top answer included) */
#define TOOLS__MAX_TEXT ((size_t)64 << 20)
/* above this the export's embedded resource carries no blob (the URL still works) */
#define TOOLS__MAX_EMBED ((size_t)8 << 20)
/* What a tool answers (isError) when memory ran out: the request was fine, so no hint to
 * change it beyond narrowing what is asked. */
#define TOOLS__OOM_TEXT                                                                            \
    "internal error: otelprofd ran out of memory answering this; retry, or ask for a narrower "    \
    "range or selector"

struct tools {
    win_store *store;
    const otlp_receiver *receiver;
    log_store *log;          /* may be NULL */
    char cluster_role[16];   /* "" unless --nats */
    char cluster_stream[64]; /* the JetStream stream with --nats */
    tools_preloaded preloaded;
    char *version;
    int64_t started_mono_ns;
    pthread_mutex_t mu;
    char *http_base_url; /* guarded by mu; copy it with tools__base_url() */
};

/* ---- text buffer ----------------------------------------------------------------- */

/* base_buf capped at TOOLS__MAX_TEXT (set on first use when `max` is 0); `err` is set
 * when it ran out of memory or past the cap. */
typedef base_buf tools__buf;

void tools__printf(tools__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tools__append(tools__buf *b, const char *s, size_t len);
/* One CSV field: quoted ("" doubled) when it holds a comma, quote, newline or edge space. */
void tools__csv(tools__buf *b, const char *field);
/* Takes the text (NUL-terminated, malloc'd; "" when empty) and empties the buffer. */
char *tools__take(tools__buf *b);
/* A tool's answer: the text taken from `b`, `structured` (owned by `out` from now on).
 * Returns 0, what a tool handler returns once `out` holds its result. */
int tools__answer(mcp_tool_result *out, tools__buf *b, cJSON *structured);
/* "N of TOTAL <what> shown (text cut to stay under ~4,000 tokens[; hint])." when the text
 * kept fewer rows than there are; nothing otherwise. */
void tools__cut_note(tools__buf *b, size_t shown, size_t total, const char *what, const char *hint);
void tools__buf_free(tools__buf *b);

/* ---- units and times --------------------------------------------------------------- */

/* pprof-style human value of `v` in `unit` ("nanoseconds", "bytes", "count", ...):
 * 6.58s, 120ms, 12.50MB; counts and unknown units plain. `out` >= 32 bytes. */
void tools__human(char *out, size_t out_len, double v, const char *unit);
/* The unit part of a profile type ("cpu:nanoseconds" -> "nanoseconds"). */
const char *tools__unit_of(const char *profile_type);
/* RFC 3339 UTC, seconds precision (milliseconds when not whole). `out` >= 40 bytes. */
void tools__time(char *out, size_t out_len, int64_t ns);
/* "2026-11-21T10:00:00Z..10:15:00Z" (the end shortened on the same day), or
 * "(no data)" when the range is empty. `out` >= 96 bytes. */
void tools__range(char *out, size_t out_len, int64_t start_ns, int64_t end_ns);
/* The ingest counters get_status and /metrics report: the receiver's (without one, the
 * store's sample counts) plus what --demo preloaded, so they agree with the data held. */
void tools__ingest_stats(const tools *t, otlp_stats *out);

/* Duration text: 10s, 1m, 1h30m, 250ms. */
void tools__duration(char *out, size_t out_len, int64_t ns);

/* ---- arguments -------------------------------------------------------------------- */

/* What the common arguments resolve to. Free with tools__args_free. */
typedef struct tools__args {
    const char *profile_type; /* borrowed from the arguments; NULL when not given */
    char *selector_text;      /* effective selector (service_name folded in), malloc'd */
    win_selector *selector;
    int64_t start_ns, end_ns; /* INT64_MIN / INT64_MAX when not given */
    bool has_start, has_end;
    /* frame_type (tools__parse_and_merge_frames only): the frames the merge keeps;
     * frames.n_types == 0 keeps all. The types point into frame_type_text (malloc'd). */
    win_frame_filter frames;
    const char *frame_types[WIN_FRAME_FILTER_MAX];
    char *frame_type_text;
} tools__args;

typedef enum tools__ptype_need {
    TOOLS__PTYPE_OPTIONAL,
    TOOLS__PTYPE_REQUIRED,
} tools__ptype_need;

/* Parses profile_type, selector, service_name, start, end from `args` (an object or
 * NULL). On a problem fills `out` with an isError result and returns -1. A given
 * profile_type must be present in the store. */
int tools__parse_common(tools *t, const cJSON *args, tools__ptype_need need, tools__args *a,
                        mcp_tool_result *out);
/* Parses selector/start/end from `obj` with `dflt` supplying what `obj` lacks (for the
 * diff's baseline/comparison); `what` names the object in errors. */
int tools__parse_range_sel(tools *t, const cJSON *obj, const tools__args *dflt,
                           const char *service_name, const char *what, tools__args *a,
                           mcp_tool_result *out);
void tools__args_free(tools__args *a);
/* The window query the common arguments ask for (borrowing their strings and selector). */
win_query tools__query_of(const tools__args *a, bool keep_labels);

/* Reads an optional non-negative integer argument. Returns 0 (value in *v, `dflt` when
 * absent) or -1 with an isError result naming the accepted range. */
int tools__uint_arg(const cJSON *args, const char *name, uint32_t dflt, uint32_t min, uint32_t max,
                    uint32_t *v, mcp_tool_result *out);
int tools__double_arg(const cJSON *args, const char *name, double dflt, double min, double max,
                      double *v, mcp_tool_result *out);
/* Optional string argument: NULL when absent; -1 with isError when not a string. */
int tools__str_arg(const cJSON *args, const char *name, const char **v, mcp_tool_result *out);

/* isError result with printf text. */
void tools__error(mcp_tool_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "cpu:nanoseconds, samples:count" (or "none yet: ..."), malloc'd. */
char *tools__types_present(tools *t);
/* The merge for `a` (profile_type required), or NULL with isError filled. */
win_merged *tools__merge(tools *t, const tools__args *a, bool keep_labels, mcp_tool_result *out);
/* tools__parse_common (profile_type required) + tools__merge, the opening of every profile
 * tool. Returns the merge with `a` filled (caller frees both), or NULL with isError filled
 * and nothing left to free. */
win_merged *tools__parse_and_merge(tools *t, const cJSON *args, bool keep_labels, tools__args *a,
                                   mcp_tool_result *out);
/* tools__parse_and_merge plus the frame_type argument ("kernel", "kernel,native", "!kernel":
 * only those frame types, or all but them), for the tools that show frames. */
win_merged *tools__parse_and_merge_frames(tools *t, const cJSON *args, bool keep_labels,
                                          tools__args *a, mcp_tool_result *out);
/* The range of an answer: the one the merge covers, or the one asked for followed by
 * "(no samples in range)". `out` >= 160 bytes. */
void tools__range_of(char *out, size_t out_len, const tools__args *a, const win_merged *m);
/* The first line of an answer: "<what>, <type>, <selector>, <range of the merge>". */
void tools__header(tools__buf *b, const char *what, const tools__args *a, const win_merged *m);
/* Whether a merge holds nothing to show: no matching sample (or only zero values). */
bool tools__merged_empty(const win_merged *m);
/* The line every query tool answers with (isError false) when the profile type is in the
 * store but no sample of it matches the selector and range: "No samples in range: ...". */
void tools__no_samples(tools__buf *b, const tools__args *a);
/* tools__human for a total, with a note when it sits at a saturation cap (INT64_MAX or
 * INT64_MIN), which means the real sum is beyond it. `out` >= 96 bytes. */
void tools__human_total(char *out, size_t out_len, int64_t v, const char *unit);
/* Copy of the HTTP base URL or NULL (malloc'd). */
char *tools__base_url(tools *t);
/* Percent-encodes `s` (RFC 3986 unreserved kept) onto `b`. */
void tools__urlencode(tools__buf *b, const char *s);
/* Base64 of `len` bytes, malloc'd, NUL-terminated; NULL on allocation failure. */
char *tools__base64(const uint8_t *p, size_t len);

/* ---- the tools ------------------------------------------------------------------- */

int tools__get_status(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);
int tools__list_profile_types(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);
int tools__list_labels(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);
int tools__list_label_values(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);
int tools__table(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);
int tools__flamegraph(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);

/* ---- flame graph pieces shared by profile.c and picture.c ---------------------------- */

#define TOOLS__MAX_FOCUS 64 /* focus_path elements */
/* Reads focus_path (array of names, or one string) into `path` (TOOLS__MAX_FOCUS slots,
 * borrowing the argument's strings). 0, or -1 with isError. */
int tools__focus_arg(const cJSON *args, const char **path, uint32_t *n, mcp_tool_result *out);
/* The isError answer when focus_path matched nothing: where it stops matching and what
 * may follow. */
void tools__focus_not_found(const win_merged *m, const char *const *path, uint32_t n,
                            mcp_tool_result *out);
/* `path` as a JSON array (plus `more` at the end when non-NULL) onto `b`. */
void tools__focus_json_list(tools__buf *b, const char *const *path, uint32_t n, const char *more);

/* picture.c: query_profile_flamegraph with "format": "image" — the same call tree drawn as
 * a PNG (MCP image content) after the usual header text. */
bool tools__flame_format_is_image(const cJSON *args);
int tools__flamegraph_image(tools *t, const cJSON *args, mcp_tool_result *out);

typedef enum tools__picture_kind {
    TOOLS__PICTURE_PNG,
    TOOLS__PICTURE_SVG,          /* a standalone SVG document */
    TOOLS__PICTURE_SVG_EMBEDDED, /* an <svg> element for the page (script included by it) */
} tools__picture_kind;

/* A smaller row limit that should fit TOOLS__TEXT_BUDGET, given that `len` bytes held `rows`
 * rows (never below `min`, always below `rows`). */
uint32_t tools__shrink(uint32_t rows, size_t len, uint32_t min);

/* args[name] as a sort order: absent or "flat" -> QUERY_SORT_FLAT, "cum" -> QUERY_SORT_CUM;
 * otherwise -1 with an isError that says what each means (flat_is, cum_is). */
#define TOOLS__FLAT_IS "self value"
#define TOOLS__CUM_IS  "value including callees"
int tools__sort_arg(const cJSON *args, const char *name, const char *flat_is, const char *cum_is,
                    query_sort *s, mcp_tool_result *out);

/* isError for a function (or function_regex) that matched nothing in `m`: the names that
 * contain it, else the hottest, and how to find the exact name. */
void tools__function_not_found(const win_merged *m, const char *fn, const char *regex,
                               bool regex_ok, mcp_tool_result *out);

/* "Total X over N series[; focus [...] has cum Y (P% of total)]" of a flame graph's header. */
void tools__flame_total(tools__buf *b, const win_merged *m, const query_flame *f,
                        const char *const *path, uint32_t n_focus, const char *unit);

/* obj[key] = the RFC 3339 time of `ns`, or null when !valid or ns is unbounded. */
void tools__add_time(cJSON *obj, const char *key, int64_t ns, bool valid);

/* The flame graph's rows as structuredContent (id, parent, depth, cum, flat, name, and
 * frame_type / other / truncated when set); the text and image answers share it. */
cJSON *tools__flame_rows_json(const query_flame *f);

/* A drawn flame graph for `args` (query_profile_flamegraph's arguments, "width" too):
 * the picture bytes, the header text and the structuredContent of the answer. */
typedef struct tools__picture {
    uint8_t *data; /* malloc'd; NULL when there was nothing to draw (no samples) */
    size_t len;
    char *text;        /* header lines, malloc'd */
    cJSON *structured; /* owned */
    uint32_t width, height;
} tools__picture;

/* 0 with `pic` filled (tools__picture_free), or -1 with isError in `out` (nothing to free
 * in `pic`). */
int tools__flame_picture(tools *t, const cJSON *args, tools__picture_kind kind, tools__picture *pic,
                         mcp_tool_result *out);
void tools__picture_free(tools__picture *pic);
/* GET /flamegraph.svg?profile_type=&selector=&service_name=&start=&end=&focus_path=&... and
 * GET / (the page): always true (answered). */
bool tools__serve_flame_svg(tools *t, mcp_http_arg_fn arg, void *conn, mcp_http_response *out);
bool tools__serve_page(tools *t, mcp_http_arg_fn arg, void *conn, mcp_http_response *out);
int tools__sandwich(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);
int tools__diff(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);
int tools__timeseries(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);
int tools__export_pprof(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);
/* source.c */
int tools__source(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out);

/* Runs tool `name` in process with parsed arguments (may be NULL); -1 for an unknown
 * name. The caller releases out->text, out->structured and out->extra_content. */
int tools__call(tools *t, const char *name, const cJSON *args, mcp_tool_result *out);

/* guide.c */
extern const char tools__guide_md[];
int tools__register_guide(tools *t, mcp_server *srv);

/* The exported pprof for HTTP: 0 with a malloc'd gzipped body (and what the export limits
 * cut in *info), or -1 with `err`. */
int tools__pprof_bytes(tools *t, const char *profile_type, const char *selector,
                       const char *service_name, const char *start, const char *end, uint8_t **out,
                       size_t *out_len, query_pprof_info *info, char *err, size_t err_len);

#endif
