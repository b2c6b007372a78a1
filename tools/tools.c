/* tools/tools.c — the tool registry: names, descriptions, JSON Schemas, registration on
 * an mcp_server, in-process calls (tools_call_text) and the context's lifetime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "tools/tools_internal.h"

/* ---- schemas -------------------------------------------------------------------- */

#define Q(s) "\"" s "\""
#define P_TYPE                                                                                     \
    Q("profile_type")                                                                              \
    ":{\"type\":\"string\",\"description\":\"Profile type as type:unit, e.g. "                     \
    "cpu:nanoseconds, alloc_space:bytes, inuse_space:bytes (list_profile_types "                   \
    "shows those present)\"}"
#define P_SEL                                                                                      \
    Q("selector")                                                                                  \
    ":{\"type\":\"string\",\"default\":\"{}\",\"description\":\"Prometheus-style "                 \
    "matchers over resource and sample attributes (dots allowed), e.g. "                           \
    "{service.name=\\\"checkout\\\", thread.name!=\\\"gc\\\"}; operators = != =~ "                 \
    "!~ (RE2/Go regexes, fully anchored)\"}"
#define P_SVC                                                                                      \
    Q("service_name")                                                                              \
    ":{\"type\":\"string\",\"description\":\"Shorthand that adds "                                 \
    "service.name=\\\"...\\\" to the selector\"}"
#define P_START                                                                                    \
    Q("start")                                                                                     \
    ":{\"type\":[\"string\",\"number\"],\"description\":\"Range start: RFC 3339 "                  \
    "(2026-11-21T10:00:00Z), unix seconds, or relative (now-15m). Default: the oldest "            \
    "retained data\"}"
#define P_END                                                                                      \
    Q("end")                                                                                       \
    ":{\"type\":[\"string\",\"number\"],\"description\":\"Range end (exclusive), same "            \
    "forms as start. Default: the newest data\"}"
#define P_LINKS                                                                                    \
    Q("trace_id")                                                                                  \
    ":{\"type\":\"string\",\"pattern\":\"^[0-9a-fA-F]{32}$\",\"description\":\"Only "              \
    "samples linked to this trace (32 hex digits; list_label_values name=trace_id ranks the "      \
    "traces by weight)\"}," Q("span_id") ":{\"type\":\"string\",\"pattern\":\"^[0-9a-fA-F]{16}$"   \
                                         "\",\"description\":\"Only "                              \
                                         "samples linked to this span (16 hex digits)\"}"
#define P_FRAME_TYPE                                                                               \
    Q("frame_type")                                                                                \
    ":{\"type\":\"string\",\"description\":\"Keep only frames of these kinds "                     \
    "(profile.frame.type: kernel, native, go, jvm, cpython, v8js, ...), comma-separated, or "      \
    "all but them after !: kernel, !kernel, go,native. A dropped frame's callees attach to its "   \
    "caller (as pprof -show/-hide); totals stay the same\"}"
#define COMMON P_TYPE "," P_SEL "," P_SVC "," P_START "," P_END "," P_LINKS
/* profile_type is required by these tools but left out of "required": the tool's own
 * check answers with the profile types present, which the generic schema error cannot */
#define P_TYPE_REQ                                                                                 \
    Q("profile_type")                                                                              \
    ":{\"type\":\"string\",\"description\":\"Required. Profile type as "                           \
    "type:unit, e.g. cpu:nanoseconds, alloc_space:bytes (list_profile_types "                      \
    "shows those present)\"}"
#define COMMON_REQ P_TYPE_REQ "," P_SEL "," P_SVC "," P_START "," P_END "," P_LINKS

#define NUM  "{\"type\":\"number\"}"
#define INT  "{\"type\":\"integer\"}"
#define STR  "{\"type\":\"string\"}"
#define BOOL "{\"type\":\"boolean\"}"
#define TIME "{\"type\":[\"string\",\"null\"]}"
#define FLAME_ROWS                                                                                 \
    "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"id\":" INT               \
    ",\"parent\":" INT ",\"depth\":" INT ",\"cum\":" NUM ",\"flat\":" NUM ",\"name\":" STR         \
    ",\"other\":" BOOL ",\"truncated\":" BOOL ",\"frame_type\":" STR                               \
    "},\"required\":[\"id\",\"parent\",\"depth\","                                                 \
    "\"cum\",\"flat\",\"name\"]}}"

static const char IN_STATUS[] = "{\"type\":\"object\",\"properties\":{}}";
static const char OUT_STATUS[] =
    "{\"type\":\"object\",\"properties\":{\"version\":" STR ",\"uptime_seconds\":" NUM
    ",\"retention_seconds\":" NUM ",\"resolution_seconds\":" NUM ",\"oldest\":" TIME
    ",\"newest\":" TIME ",\"series\":" NUM ",\"profile_types\":{\"type\":\"array\",\"items\":{"
    "\"type\":\"object\",\"properties\":{\"profile_type\":" STR ",\"total\":" NUM ",\"series\":" NUM
    "}}},\"memory_used_bytes\":" NUM ",\"memory_limit_bytes\":" NUM ",\"memory_used_percent\":" NUM
    ",\"received_profiles\":" NUM ",\"rejected_profiles\":" NUM ",\"preloaded_profiles\":" NUM
    ",\"preloaded_samples\":" NUM ",\"received_samples\":" NUM ",\"stored_samples\":" NUM
    ",\"rejected_samples\":" NUM ",\"samples_too_old\":" NUM ",\"samples_too_new\":" NUM
    ",\"samples_unlinked\":" NUM ",\"evicted_buckets\":" NUM ",\"expired_buckets\":" NUM
    ",\"log\":{\"type\":\"object\"}"
    ",\"forwarders\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}"
    "},\"required\":[\"version\",\"series\",\"profile_types\"]}";

static const char IN_TYPES[] =
    "{\"type\":\"object\",\"properties\":{" P_SEL "," P_SVC "," P_START "," P_END "}}";
static const char OUT_TYPES[] =
    "{\"type\":\"object\",\"properties\":{\"selector\":" STR ",\"profile_types\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"profile_type\":" STR
    ",\"unit\":" STR ",\"total\":" NUM ",\"total_human\":" STR ",\"series\":" NUM ",\"start\":" TIME
    ",\"end\":" TIME "}}}},\"required\":[\"profile_types\"]}";

static const char IN_LABELS[] = "{\"type\":\"object\",\"properties\":{" COMMON "}}";
static const char OUT_LABELS[] =
    "{\"type\":\"object\",\"properties\":{\"selector\":" STR ",\"profile_type\":" STR
    ",\"labels\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"name\":" STR
    ",\"values\":" NUM ",\"level\":{\"type\":\"string\",\"enum\":[\"resource\",\"sample\"]}}}}},"
    "\"required\":[\"labels\"]}";

static const char IN_VALUES[] =
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"description\":\"The "
    "attribute, e.g. service.name, host.name, thread.name (list_labels shows the names); "
    "trace_id or span_id rank the samples' trace links\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"default\":50,"
    "\"description\":\"Values shown\"}," COMMON "},\"required\":[\"name\"]}";
static const char OUT_VALUES[] =
    "{\"type\":\"object\",\"properties\":{\"name\":" STR ",\"selector\":" STR
    ",\"profile_type\":" STR ",\"measure\":" STR ",\"total\":" NUM ",\"n_values\":" NUM
    ",\"values\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"value\":" STR
    ",\"total\":" NUM ",\"share_percent\":" NUM "}}},\"other_total\":" NUM
    "},\"required\":[\"name\",\"values\"]}";

static const char IN_TABLE[] =
    "{\"type\":\"object\",\"properties\":{" COMMON_REQ
    ",\"sort\":{\"type\":\"string\",\"enum\":[\"flat\",\"cum\"],\"default\":\"flat\","
    "\"description\":\"flat: time in the function itself; cum: including its callees\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000,\"default\":25,"
    "\"description\":\"Rows to show. Left unset, the answer is kept under ~4,000 tokens; "
    "an explicit value is honoured (10000 returns every function, as go tool pprof -top).\"},"
    "\"filter\":{\"type\":\"string\",\"description\":\"RE2/Go regex on the function "
    "name (matched anywhere), e.g. json|flate or (?i)^runtime\\\\.\"}," P_FRAME_TYPE "}"
    "}";
static const char OUT_TABLE[] =
    "{\"type\":\"object\",\"properties\":{\"profile_type\":" STR ",\"unit\":" STR
    ",\"selector\":" STR ",\"total\":" NUM ",\"start\":" TIME ",\"end\":" TIME ",\"series\":" NUM
    ",\"functions\":" NUM ",\"rows\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"function\":" STR ",\"file\":" STR ",\"frame_type\":" STR ",\"flat\":" NUM
    ",\"cum\":" NUM ",\"flat_percent\":" NUM ",\"cum_percent\":" NUM
    "},\"required\":[\"function\",\"flat\","
    "\"cum\"]}},\"other_flat\":" NUM "},\"required\":[\"profile_type\",\"unit\",\"total\","
    "\"rows\"]}";

static const char IN_FLAME[] =
    "{\"type\":\"object\",\"properties\":{" COMMON_REQ
    ",\"focus_path\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":64,"
    "\"description\":\"Frames from the root (outermost caller first), function names or 0x "
    "addresses as shown in the rows; the tree is rooted at the last one\"},"
    "\"max_depth\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":256,\"default\":16},"
    "\"min_percent\":{\"type\":\"number\",\"minimum\":0,\"maximum\":100,\"default\":0.5,"
    "\"description\":\"children under this % of the root are folded into (other)\"},"
    "\"max_nodes\":{\"type\":\"integer\",\"minimum\":2,\"maximum\":2000,\"default\":120,"
    "\"description\":\"rows (default 300 with format image)\"},"
    "\"format\":{\"type\":\"string\",\"enum\":[\"text\",\"image\"],\"default\":\"text\","
    "\"description\":\"image: the tree drawn as a PNG flame graph (MCP image content) after "
    "the header text, for a model that can look at pictures\"},"
    "\"width\":{\"type\":\"integer\",\"minimum\":1200,\"maximum\":2400,\"default\":1200,"
    "\"description\":\"px, with format image\"}," P_FRAME_TYPE "}"
    "}";
static const char OUT_FLAME[] =
    "{\"type\":\"object\",\"properties\":{\"profile_type\":" STR ",\"unit\":" STR
    ",\"selector\":" STR ",\"total\":" NUM ",\"start\":" TIME ",\"end\":" TIME ",\"series\":" NUM
    ",\"root_cum\":" NUM ",\"pruned\":" NUM ",\"rows\":" FLAME_ROWS
    ",\"image\":{\"type\":\"object\",\"description\":\"with format image: the picture's "
    "mime_type, width, height, bytes, frames drawn and not_drawn\"}"
    "},\"required\":[\"profile_type\",\"total\",\"rows\"]}";

static const char IN_SANDWICH[] =
    "{\"type\":\"object\",\"properties\":{" COMMON_REQ
    ",\"function\":{\"type\":\"string\",\"description\":\"Exact function name as shown by "
    "query_profile_table (or a 0x address)\"},"
    "\"max_depth\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":64,\"default\":8},"
    "\"max_nodes\":{\"type\":\"integer\",\"minimum\":2,\"maximum\":1000,\"default\":60,"
    "\"description\":\"rows per tree\"},"
    "\"min_percent\":{\"type\":\"number\",\"minimum\":0,\"maximum\":100,\"default\":0.5}"
    "," P_FRAME_TYPE "},"
    "\"required\":[\"function\"]}";
static const char OUT_SANDWICH[] =
    "{\"type\":\"object\",\"properties\":{\"profile_type\":" STR ",\"unit\":" STR
    ",\"selector\":" STR ",\"function\":" STR ",\"total\":" NUM ",\"flat\":" NUM ",\"cum\":" NUM
    ",\"cut\":" BOOL ",\"callers\":" FLAME_ROWS ",\"callees\":" FLAME_ROWS
    "},\"required\":[\"function\",\"callers\",\"callees\"]}";

#define P_SIDE_TYPE                                                                                \
    "{\"type\":\"string\",\"description\":\"This side's profile type, e.g. cpu:nanoseconds vs "    \
    "off_cpu:nanoseconds side by side; rows are then ranked by change of share\"}"
#define SIDE_IN                                                                                    \
    "{\"type\":\"object\",\"properties\":{\"start\":{\"type\":[\"string\",\"number\"]},\"end\":"   \
    "{\"type\":[\"string\",\"number\"]},\"selector\":{\"type\":\"string\"},\"profile_"             \
    "type\":" P_SIDE_TYPE "},\"description\":"                                                     \
    "\"Fields default to the top-level start, end, selector and profile_type\"}"
#define SIDE_OUT                                                                                   \
    "{\"type\":\"object\",\"properties\":{\"profile_type\":" STR ",\"unit\":" STR                  \
    ",\"selector\":" STR ",\"start\":" TIME ",\"end\":" TIME ",\"total\":" NUM ",\"seconds\":" NUM \
    ",\"per_second\":" NUM "}}"
static const char IN_DIFF[] =
    "{\"type\":\"object\",\"properties\":{" COMMON_REQ ",\"baseline\":" SIDE_IN
    ",\"comparison\":" SIDE_IN
    ",\"by\":{\"type\":\"string\",\"enum\":[\"flat\",\"cum\"],\"default\":\"flat\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200,\"default\":25}}"
    "}";
static const char OUT_DIFF[] =
    "{\"type\":\"object\",\"properties\":{\"profile_type\":" STR ",\"unit\":" STR ",\"by\":" STR
    ",\"baseline\":" SIDE_OUT ",\"comparison\":" SIDE_OUT ",\"functions\":" NUM
    ",\"rows\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"function\":" STR
    ",\"base_flat\":" NUM ",\"base_cum\":" NUM ",\"cmp_flat\":" NUM ",\"cmp_cum\":" NUM
    ",\"base_per_s\":" NUM ",\"cmp_per_s\":" NUM ",\"delta_per_s\":" NUM ",\"base_percent\":" NUM
    ",\"cmp_percent\":" NUM ",\"delta_pp\":" NUM "}}},\"other_abs_delta_per_s\":" NUM
    ",\"other_abs_delta_pp\":" NUM "},\"required\":[\"baseline\",\"comparison\",\"rows\"]}";

static const char IN_TS[] =
    "{\"type\":\"object\",\"properties\":{" COMMON_REQ
    ",\"step\":{\"type\":[\"string\",\"number\"],\"description\":\"Step as a duration (10s, "
    "1m, 1h) or seconds; default: the range / 60, rounded up to the store's resolution\"},"
    "\"function\":{\"type\":\"string\",\"description\":\"Only samples whose stack contains "
    "this function (cum)\"},"
    "\"group_by\":{\"type\":\"string\",\"description\":\"One series per value of this "
    "attribute, e.g. host.name, thread.name\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"default\":10,"
    "\"description\":\"groups shown; the rest are summed into (other)\"}}"
    "}";
static const char OUT_TS[] =
    "{\"type\":\"object\",\"properties\":{\"profile_type\":" STR ",\"unit\":" STR
    ",\"selector\":" STR ",\"start\":" TIME ",\"step\":" NUM ",\"n_steps\":" NUM
    ",\"function\":" STR ",\"group_by\":" STR ",\"peak\":{\"type\":\"object\",\"properties\":{"
    "\"time\":" TIME ",\"index\":" NUM ",\"value\":" NUM "}},\"groups\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"properties\":{\"name\":" STR ",\"total\":" NUM
    ",\"values\":{\"type\":\"array\",\"items\":" NUM "}}}}},\"required\":[\"step\",\"groups\"]}";

static const char IN_SOURCE[] =
    "{\"type\":\"object\",\"properties\":{" COMMON_REQ
    ",\"function\":{\"type\":\"string\",\"description\":\"Exact function name as shown by "
    "query_profile_table (or a 0x address)\"},"
    "\"function_regex\":{\"type\":\"string\",\"description\":\"Instead of function: an "
    "RE2/Go regex searched for in function names; the lines of every match are ranked "
    "together\"},"
    "\"sort\":{\"type\":\"string\",\"enum\":[\"flat\",\"cum\"],\"default\":\"flat\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10000,\"default\":40,"
    "\"description\":\"Lines shown. Left unset, the answer is kept under ~4,000 "
    "tokens\"}," P_FRAME_TYPE "}"
    "}";
static const char OUT_SOURCE[] =
    "{\"type\":\"object\",\"properties\":{\"profile_type\":" STR ",\"unit\":" STR
    ",\"selector\":" STR ",\"function\":" STR ",\"function_regex\":" STR ",\"total\":" NUM
    ",\"n_functions\":" NUM ",\"n_lines\":" NUM ",\"functions\":{\"type\":\"array\",\"items\":{"
    "\"type\":\"object\",\"properties\":{\"function\":" STR ",\"file\":" STR ",\"start_line\":" NUM
    ",\"start_line_known\":" BOOL ",\"frame_type\":" STR ",\"flat\":" NUM ",\"cum\":" NUM
    ",\"lines\":" NUM "}}},\"rows\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"object\",\"properties\":{\"function\":" STR ",\"file\":" STR ",\"line\":" NUM
    ",\"address\":" STR ",\"flat\":" NUM ",\"cum\":" NUM ",\"flat_percent\":" NUM
    ",\"cum_percent\":" NUM "},\"required\":[\"function\",\"file\",\"line\",\"flat\",\"cum\"]}},"
    "\"other_flat\":" NUM "},\"required\":[\"profile_type\",\"total\",\"rows\"]}";

static const char IN_EXPORT[] = "{\"type\":\"object\",\"properties\":{" COMMON_REQ "}"
                                "}";
static const char OUT_EXPORT[] =
    "{\"type\":\"object\",\"properties\":{\"profile_type\":" STR ",\"unit\":" STR
    ",\"selector\":" STR ",\"total\":" NUM ",\"start\":" TIME ",\"end\":" TIME ",\"bytes\":" NUM
    ",\"cut\":" BOOL ",\"labels_folded\":" NUM ",\"url\":" TIME ",\"command\":" STR
    ",\"resource_uri\":" STR ",\"embedded\":" BOOL
    "},\"required\":[\"profile_type\",\"bytes\",\"resource_uri\"]}";

/* ---- the registry ---------------------------------------------------------------------- */

typedef struct tool_entry {
    const char *name, *title, *description, *in, *out;
    mcp_tool_fn fn;
} tool_entry;

static const tool_entry TOOLS[] = {
    {"get_status", "Status of the profile store",
     "Start here: what otelprofd holds. Version, uptime, retention and resolution, time "
     "coverage (oldest..newest), series, profile types with totals, memory used/limit, "
     "received/rejected profiles and samples, evictions. Next: list_profile_types, "
     "list_label_values name=service.name, then query_profile_table.",
     IN_STATUS, OUT_STATUS, tools__get_status},
    {"list_profile_types", "Profile types present",
     "Profile types (e.g. cpu:nanoseconds, alloc_space:bytes) present for a selector and time "
     "range, with totals, series counts and time coverage. Use it to pick the profile_type "
     "every query tool needs.",
     IN_TYPES, OUT_TYPES, tools__list_profile_types},
    {"list_labels", "Attribute names present",
     "Attribute names (resource level such as service.name, host.name, k8s.*; sample level "
     "such as thread.name) present for a selector/range, with the number of distinct values. "
     "profile_type is optional. Next: list_label_values to see the values, then use them in "
     "selectors.",
     IN_LABELS, OUT_LABELS, tools__list_labels},
    {"list_label_values", "Values of one attribute",
     "Values of one attribute (name, e.g. service.name) for a selector/range, ranked by total "
     "of the profile_type (or by observation count without one), with their share. Use it to "
     "find which services, hosts or threads matter, then narrow selectors with them; "
     "name=trace_id ranks requests (trace links) by weight, for trace_id=... on the query "
     "tools.",
     IN_VALUES, OUT_VALUES, tools__list_label_values},
    {"query_profile_table", "Top functions",
     "The hottest functions (pprof -top): flat (in the function itself), cum (including "
     "callees), shares of the total, source file. sort flat|cum, limit, filter (regex). Values "
     "equal go tool pprof -top. Use it first to find hotspots; next call "
     "query_profile_sandwich on a hot function, or query_profile_flamegraph for the paths.",
     IN_TABLE, OUT_TABLE, tools__table},
    {"query_profile_flamegraph", "Call tree (flame graph)",
     "The call tree as breadth-first rows id,parent,depth,cum,flat,name: which call paths the "
     "time goes through. Small children are folded into (other) rows so every level sums to "
     "its parent. Zoom with focus_path (frames from the root down to a subtree, copied from "
     "the rows); tune max_depth, min_percent, max_nodes. With \"format\": \"image\" the same "
     "tree comes as a PNG flame graph to look at.",
     IN_FLAME, OUT_FLAME, tools__flamegraph},
    {"query_profile_sandwich", "Callers and callees of a function",
     "For one function (exact name from query_profile_table): its callers tree walking up to "
     "the roots and its callees tree down to the leaves, with cum/flat (level 1 equals go "
     "tool pprof -peek). Use it to learn why a hot function runs and where its time goes.",
     IN_SANDWICH, OUT_SANDWICH, tools__sandwich},
    {"query_profile_source", "Hot source lines of a function",
     "For one function (exact name from query_profile_table, or function_regex): flat and cum "
     "per source line (file:line), ranked, with the function's file and start line so you can "
     "open it at the right place; unsymbolized frames by address. Values equal go tool pprof "
     "-top -lines for that function's lines. Use it after query_profile_table to see which "
     "lines of a hot function cost.",
     IN_SOURCE, OUT_SOURCE, tools__source},
    {"query_profile_diff", "Compare two ranges or selectors",
     "Baseline vs comparison (two time ranges and/or two selectors, each object's fields "
     "defaulting to the top-level start/end/selector): per-function change normalized per "
     "second and as share of each total, ranked by absolute change. Use it for regressions "
     "(before/after a deploy, version A vs B); next, query_profile_sandwich on what grew.",
     IN_DIFF, OUT_DIFF, tools__diff},
    {"query_profile_timeseries", "Totals over time",
     "Totals per time step for a selector, optionally only samples containing one function, "
     "or one series per value of an attribute (group_by). Names the peak step. Use it to see "
     "when something spiked, then query_profile_diff around that time.",
     IN_TS, OUT_TS, tools__timeseries},
    {"export_pprof", "Export as pprof",
     "The merged profile as a gzipped pprof (profile.proto with sample labels): a download URL "
     "on otelprofd's HTTP API for go tool pprof, plus the profile as an embedded resource "
     "(up to 8 MiB). Use it to hand the data to pprof or another tool.",
     IN_EXPORT, OUT_EXPORT, tools__export_pprof},
};
#define N_TOOLS (sizeof TOOLS / sizeof TOOLS[0])

/* ---- lifetime ------------------------------------------------------------------------ */

tools *tools_new(const tools_config *cfg)
{
    if (!cfg || !cfg->store)
        return NULL;
    tools *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->store = cfg->store;
    t->receiver = cfg->receiver;
    t->log = cfg->log;
    if (cfg->cluster_role) {
        snprintf(t->cluster_role, sizeof t->cluster_role, "%s", cfg->cluster_role);
        snprintf(t->cluster_stream, sizeof t->cluster_stream, "%s",
                 cfg->cluster_stream ? cfg->cluster_stream : "");
    }
    t->preloaded = cfg->preloaded;
    t->version = strdup(cfg->version ? cfg->version : "unknown");
    t->http_base_url = cfg->http_base_url ? strdup(cfg->http_base_url) : NULL;
    t->started_mono_ns = base_now_mono_ns();
    if (!t->version || (cfg->http_base_url && !t->http_base_url) ||
        pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t->version);
        free(t->http_base_url);
        free(t);
        return NULL;
    }
    return t;
}

void tools_free(tools *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->version);
    free(t->http_base_url);
    free(t);
}

void tools_set_http_base_url(tools *t, const char *url)
{
    char *copy = url ? strdup(url) : NULL;
    pthread_mutex_lock(&t->mu);
    free(t->http_base_url);
    t->http_base_url = copy;
    pthread_mutex_unlock(&t->mu);
}

int tools_register(tools *t, mcp_server *srv)
{
    for (size_t i = 0; i < N_TOOLS; i++) {
        mcp_tool_def d = {
            .name = TOOLS[i].name,
            .title = TOOLS[i].title,
            .description = TOOLS[i].description,
            .input_schema = TOOLS[i].in,
            .output_schema = TOOLS[i].out,
            .read_only = true,
            .idempotent = true,
            .open_world = false,
            .fn = TOOLS[i].fn,
            .user = t,
        };
        if (mcp_server_add_tool(srv, &d) != 0) {
            base_log(BASE_LOG_ERROR, "cannot register tool %s", TOOLS[i].name);
            return -1;
        }
    }
    return tools__register_guide(t, srv);
}

int tools__call(tools *t, const char *name, const cJSON *args, mcp_tool_result *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < N_TOOLS; i++) {
        if (strcmp(TOOLS[i].name, name) == 0) {
            mcp_call call = {0};
            return TOOLS[i].fn(t, &call, args, out);
        }
    }
    return -1;
}

char *tools_call_text(tools *t, const char *name, const char *args_json, bool *is_error, char *err,
                      size_t err_len)
{
    if (is_error)
        *is_error = false;
    const tool_entry *e = NULL;
    for (size_t i = 0; i < N_TOOLS && name; i++)
        if (strcmp(TOOLS[i].name, name) == 0)
            e = &TOOLS[i];
    if (!e) {
        tools__buf b = {0};
        for (size_t i = 0; i < N_TOOLS; i++)
            tools__printf(&b, "%s%s", i ? ", " : "", TOOLS[i].name);
        base_set_err(err, err_len, "unknown tool \"%s\": the tools are %s", name ? name : "",
                     b.p ? b.p : "");
        tools__buf_free(&b);
        return NULL;
    }
    cJSON *args = NULL;
    if (args_json && *args_json) {
        args = cJSON_Parse(args_json);
        if (!args || !cJSON_IsObject(args)) {
            cJSON_Delete(args);
            base_set_err(err, err_len, "arguments are not a JSON object: %.80s", args_json);
            return NULL;
        }
    }
    mcp_tool_result r = {0};
    mcp_call call = {0};
    int rc = e->fn(t, &call, args, &r);
    cJSON_Delete(args);
    cJSON_Delete(r.extra_content);
    if (rc != 0) {
        base_set_err(err, err_len, "%s failed: %s", name, r.text ? r.text : "internal error");
        free(r.text);
        cJSON_Delete(r.structured);
        return NULL;
    }
    if (!r.text && r.structured)
        r.text = cJSON_PrintUnformatted(r.structured);
    cJSON_Delete(r.structured);
    if (is_error)
        *is_error = r.is_error;
    return r.text ? r.text : strdup("");
}
