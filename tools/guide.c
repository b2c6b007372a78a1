/* tools/guide.c — the profiling-guide resource, the prompts and argument completion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tools_internal.h"

const char tools__guide_md[] =
    "# Investigating performance with otelprofd\n"
    "\n"
    "otelprofd keeps the last hour (by default) of OpenTelemetry profiles in memory, in "
    "10 s buckets, per series (profile type + resource attributes such as service.name, "
    "host.name, k8s.*). Every tool is read-only and cheap; call as many as you need.\n"
    "\n"
    "## Workflow\n"
    "\n"
    "1. **What is there?** `get_status {}`: time coverage, profile types with totals, "
    "series, memory, ingest counts. Empty? Profiles must be sent to OTLP gRPC :4317 or "
    "HTTP :4318 first.\n"
    "2. **Which profile type?** `list_profile_types {\"selector\": "
    "\"{service.name=\\\"checkout\\\"}\"}`. CPU is `cpu:nanoseconds` (the eBPF profiler's "
    "`samples:count` also answers as `cpu:nanoseconds`), heap allocations "
    "`alloc_space:bytes`, live heap `inuse_space:bytes`.\n"
    "3. **Which service, host, thread?** `list_labels {}` then `list_label_values "
    "{\"name\": \"service.name\"}`. Resource labels select series, sample labels (e.g. "
    "`thread.name`) select samples; both work in selectors.\n"
    "4. **What is hot?** `query_profile_table {\"profile_type\": \"cpu:nanoseconds\", "
    "\"service_name\": \"checkout\", \"start\": \"now-15m\"}`. `flat` is time spent in the "
    "function itself, `cum` includes what it calls. `sort: \"cum\"` finds expensive "
    "subtrees; `filter: \"json|regexp\"` narrows by name. The numbers equal `go tool pprof "
    "-top`.\n"
    "5. **Who calls it, what does it call?** `query_profile_sandwich {\"profile_type\": "
    "\"cpu:nanoseconds\", \"service_name\": \"checkout\", \"function\": "
    "\"encoding/json.Marshal\"}`: callers up to the roots, callees down to the leaves.\n"
    "5b. **Which lines?** `query_profile_source {\"profile_type\": \"cpu:nanoseconds\", "
    "\"service_name\": \"checkout\", \"function\": \"encoding/json.Marshal\"}`: flat and cum "
    "per source line (`file:line`, equal to `go tool pprof -top -lines` for that function), "
    "ranked, with the function's file and start line in the header: open the file there and "
    "read the hottest lines first. `function_regex` covers several functions at once.\n"
    "6. **Where in the call tree?** `query_profile_flamegraph {\"profile_type\": "
    "\"cpu:nanoseconds\", \"service_name\": \"checkout\"}`, then zoom with `focus_path`: the "
    "frames from the root down to a subtree, e.g. `[\"main.main\", \"net/http.(*conn).serve\"]`. "
    "Pruned children are summed into `(other)` rows, so every level still adds up. If you "
    "can look at images, add `\"format\": \"image\"` for the same tree as a PNG flame graph "
    "(root on top, width = cum); a person can open `/` or `/flamegraph.svg` on the MCP "
    "listener in a browser.\n"
    "7. **When, and what changed?** `query_profile_timeseries {\"profile_type\": "
    "\"cpu:nanoseconds\", \"service_name\": \"checkout\", \"group_by\": \"host.name\"}` "
    "names the peak step; `query_profile_diff {\"profile_type\": \"cpu:nanoseconds\", "
    "\"service_name\": \"checkout\", \"baseline\": {\"start\": \"now-2h\", \"end\": "
    "\"now-1h\"}, \"comparison\": {\"start\": \"now-1h\"}}` ranks functions by change per "
    "second (ranges of different lengths compare fairly).\n"
    "8. **Hand it to pprof.** `export_pprof {\"profile_type\": \"cpu:nanoseconds\", "
    "\"service_name\": \"checkout\"}` gives a URL for `go tool pprof -top URL` (or `-http=:`) "
    "and the profile as an embedded resource.\n"
    "\n"
    "## From a slow request to its code, and back\n"
    "\n"
    "Samples of the OTel eBPF profiler and of SDKs carry the trace and span they ran for.\n"
    "\n"
    "- **Which requests are heaviest?** `list_label_values {\"profile_type\": "
    "\"cpu:nanoseconds\", \"name\": \"trace_id\"}` ranks traces by their total (`span_id` "
    "ranks spans).\n"
    "- **What did one request run?** Add `\"trace_id\": \"<32 hex digits>\"` (or `span_id`) "
    "to `query_profile_table`, `_flamegraph`, `_sandwich`, `_source` or `_timeseries`: only "
    "the samples linked to it count. A trace id from your tracing UI works the same way.\n"
    "\n"
    "## Kinds of frames\n"
    "\n"
    "When the sender says what kind each frame is (`profile.frame.type`: kernel, native, go, "
    "jvm, cpython, v8js, ...), table, flame graph and sandwich rows show it in a `kind` "
    "column. `frame_type` keeps only some kinds (`\"kernel\"`, `\"go,native\"`) or all but "
    "them (`\"!kernel\"`): the other frames are taken out of the stacks as `pprof -show` / "
    "`-hide` do, totals unchanged. Off-CPU next to CPU: `query_profile_diff` with "
    "`\"baseline\": {\"profile_type\": \"cpu:nanoseconds\"}, \"comparison\": "
    "{\"profile_type\": \"off_cpu:nanoseconds\"}` ranks functions by change of share.\n"
    "\n"
    "## Arguments every query tool takes\n"
    "\n"
    "- `profile_type`: `type:unit`, e.g. `cpu:nanoseconds`.\n"
    "- `selector`: Prometheus-style, `{service.name=\"checkout\", "
    "k8s.namespace.name=~\"prod-.*\", thread.name!=\"gc\"}`; operators `=`, `!=`, `=~`, "
    "`!~` (RE2/Go regexes, fully anchored); `{}` matches everything.\n"
    "- `service_name`: shorthand that adds `service.name=\"...\"` to the selector.\n"
    "- `start`, `end`: RFC 3339 (`2026-11-21T10:00:00Z`), unix seconds, or `now-15m`; "
    "omitted = all retained data.\n"
    "- `trace_id`, `span_id`: only samples linked to that trace or span (hex).\n"
    "\n"
    "## Reading the answers\n"
    "\n"
    "Text answers are a few header lines and a table `[N]{col,...}:` with one CSV row per "
    "line; values use pprof's units (`6.58s`, `120ms`, `12.50MB`), the structured content "
    "carries raw integers in the profile's unit. Answers stay under ~4,000 tokens: when rows "
    "are cut the header says so and an `(other)` row carries their value. Unsymbolized frames "
    "appear as hex addresses (`0x4f5a1b`) and can be used like names.\n";

static int guide_read(void *user, mcp_call *call, const char *uri, mcp_resource_content *out)
{
    (void)user;
    (void)call;
    (void)uri;
    out->text = strdup(tools__guide_md);
    out->mime_type = "text/markdown";
    return out->text ? 0 : -1;
}

static const char *arg_str(const cJSON *args, const char *name)
{
    const cJSON *it = args ? cJSON_GetObjectItemCaseSensitive(args, name) : NULL;
    return cJSON_IsString(it) && it->valuestring && *it->valuestring ? it->valuestring : NULL;
}

static int add_user_message(cJSON *messages, const char *text)
{
    cJSON *msg = cJSON_CreateObject();
    if (!msg)
        return -1;
    cJSON_AddStringToObject(msg, "role", "user");
    cJSON *c = cJSON_AddObjectToObject(msg, "content");
    cJSON_AddStringToObject(c, "type", "text");
    cJSON_AddStringToObject(c, "text", text);
    mcp_json_push(messages, msg);
    return 0;
}

static int prompt_hotspots(void *user, mcp_call *call, const cJSON *args, cJSON *messages,
                           char **description, char *err, size_t err_len)
{
    (void)user;
    (void)call;
    const char *svc = arg_str(args, "service_name");
    const char *type = arg_str(args, "profile_type");
    const char *window = arg_str(args, "window");
    if (!svc) {
        snprintf(err, err_len, "service_name is required (the service.name to investigate)");
        return -1;
    }
    if (!type)
        type = "cpu:nanoseconds";
    char start[96] = "";
    if (window)
        snprintf(start, sizeof start, ", \"start\": \"%s%.60s\"",
                 strncmp(window, "now", 3) == 0 ? "" : "now-", window);
    tools__buf b = {0};
    tools__printf(&b,
                  "Find the CPU hotspots of the service \"%s\" with the otelprofd tools and "
                  "explain them.\n\n"
                  "1. Call get_status to check that profiles of %s are retained and how far back "
                  "they reach.\n"
                  "2. Call query_profile_table {\"profile_type\": \"%s\", \"service_name\": "
                  "\"%s\"%s} and read the top rows by flat; call it again with \"sort\": \"cum\" "
                  "to see expensive subtrees.\n"
                  "3. For the two or three hottest functions call query_profile_sandwich with "
                  "the same arguments plus \"function\": the exact name, to see who calls them "
                  "and what they call, and query_profile_source with the same \"function\" to "
                  "see which source lines cost (open the file at the line the header names).\n"
                  "4. Call query_profile_flamegraph with the same arguments and zoom with "
                  "focus_path into the heaviest path.\n"
                  "5. If the load varies, call query_profile_timeseries to find when it peaked.\n"
                  "6. Report: the hottest code paths with their share of the total, why they "
                  "are expensive (from the function names and call paths), and concrete "
                  "changes to try. Quote numbers from the tool answers; do not guess.",
                  svc, type, type, svc, start);
    if (b.err != BASE_OK) {
        tools__buf_free(&b);
        return -1;
    }
    int rc = add_user_message(messages, b.p);
    tools__buf_free(&b);
    if (description) {
        tools__buf d = {0};
        tools__printf(&d, "Find the %s hotspots of %s", type, svc);
        *description = tools__take(&d);
    }
    return rc;
}

static int prompt_regression(void *user, mcp_call *call, const cJSON *args, cJSON *messages,
                             char **description, char *err, size_t err_len)
{
    (void)user;
    (void)call;
    const char *svc = arg_str(args, "service_name");
    if (!svc) {
        snprintf(err, err_len, "service_name is required (the service.name to investigate)");
        return -1;
    }
    const char *bs = arg_str(args, "baseline_start"), *be = arg_str(args, "baseline_end");
    const char *cs = arg_str(args, "comparison_start"), *ce = arg_str(args, "comparison_end");
    bool ranges = bs || be || cs || ce;
    tools__buf b = {0};
    tools__printf(&b,
                  "Find out whether the service \"%s\" regressed, and what changed, with the "
                  "otelprofd tools.\n\n",
                  svc);
    if (ranges) {
        tools__printf(&b,
                      "1. Call query_profile_diff {\"profile_type\": \"cpu:nanoseconds\", "
                      "\"service_name\": \"%s\", \"baseline\": {\"start\": \"%s\", \"end\": "
                      "\"%s\"}, \"comparison\": {\"start\": \"%s\", \"end\": \"%s\"}}.\n",
                      svc, bs ? bs : "now-1h", be ? be : "now-30m", cs ? cs : "now-30m",
                      ce ? ce : "now");
    } else {
        tools__printf(&b,
                      "1. Call query_profile_timeseries {\"profile_type\": \"cpu:nanoseconds\", "
                      "\"service_name\": \"%s\"} to see when the load changed, then "
                      "query_profile_diff with a baseline range before the change and a "
                      "comparison range after it (e.g. baseline {\"start\": \"now-1h\", "
                      "\"end\": \"now-30m\"}, comparison {\"start\": \"now-30m\"}).\n",
                      svc);
    }
    tools__printf(&b, "2. Look at the totals per second first: did the service use more overall, "
                      "or did the mix change (delta_pp)?\n"
                      "3. For the functions that grew most, call query_profile_sandwich on the "
                      "comparison range to see which callers drive the growth.\n"
                      "4. Repeat with profile_type \"alloc_space:bytes\" if memory profiles are "
                      "present (list_profile_types).\n"
                      "5. Report what regressed, by how much per second and as a share, the call "
                      "paths responsible and a likely cause. Quote numbers from the tool answers.");
    if (b.err != BASE_OK) {
        tools__buf_free(&b);
        return -1;
    }
    int rc = add_user_message(messages, b.p);
    tools__buf_free(&b);
    if (description) {
        tools__buf d = {0};
        tools__printf(&d, "Find what regressed in %s", svc);
        *description = tools__take(&d);
    }
    return rc;
}

typedef struct complete_ctx {
    const char *prefix;
    cJSON *values;
    int total;
} complete_ctx;

static void complete_type(const char *type, void *ctx)
{
    complete_ctx *c = ctx;
    if (strncmp(type, c->prefix, strlen(c->prefix)) != 0)
        return;
    if (c->total++ < 100)
        mcp_json_push(c->values, cJSON_CreateString(type));
}

static int complete(void *user, const char *argument, const char *prefix, const cJSON *context_args,
                    cJSON *values, bool *has_more, int *total)
{
    (void)context_args;
    tools *t = user;
    if (!prefix)
        prefix = "";
    complete_ctx c = {.prefix = prefix, .values = values};
    if (strcmp(argument, "profile_type") == 0) {
        win_store_each_profile_type(t->store, complete_type, &c);
    } else if (strcmp(argument, "service_name") == 0 || strcmp(argument, "trace_id") == 0) {
        /* trace ids ranked by observations (no profile type here): the busiest first */
        win_query q = {.start_ns = INT64_MIN, .end_ns = INT64_MAX};
        win_listing *l = win_list_label_values(
            t->store, &q, argument[0] == 't' ? "trace_id" : "service.name", NULL);
        if (!l)
            return -1;
        const win_label_value *v = l->rows;
        for (size_t i = 0; i < l->n_rows; i++) {
            if (strncmp(v[i].value, prefix, strlen(prefix)) != 0)
                continue;
            if (c.total++ < 100)
                mcp_json_push(values, cJSON_CreateString(v[i].value));
        }
        win_listing_free(l);
    }
    if (has_more)
        *has_more = c.total > 100;
    if (total)
        *total = c.total;
    return 0;
}

/* From one request (a trace id, e.g. from a tracing UI or list_label_values name=trace_id)
 * to the code it ran. */
static int prompt_trace(void *user, mcp_call *call, const cJSON *args, cJSON *messages,
                        char **description, char *err, size_t err_len)
{
    (void)user;
    (void)call;
    const char *trace = arg_str(args, "trace_id");
    if (!trace) {
        snprintf(err, err_len,
                 "trace_id is required (32 hex digits; list_label_values name=trace_id ranks "
                 "the traces present)");
        return -1;
    }
    const char *type = arg_str(args, "profile_type");
    if (!type)
        type = "cpu:nanoseconds";
    tools__buf b = {0};
    tools__printf(&b,
                  "Find out where the request with trace id %.64s spent its time, with the "
                  "otelprofd tools.\n\n"
                  "1. Call query_profile_table {\"profile_type\": \"%s\", \"trace_id\": "
                  "\"%.64s\"}: only the samples linked to that trace count. If it answers \"No "
                  "samples in range\", call list_label_values {\"profile_type\": \"%s\", "
                  "\"name\": \"trace_id\"} to see which traces have samples.\n"
                  "2. Call query_profile_flamegraph with the same arguments for the call paths "
                  "of that request, and query_profile_source with \"function\": the hottest "
                  "function's exact name for its hot lines.\n"
                  "3. Compare with all requests: query_profile_table without trace_id, same "
                  "profile type and range: is this request's mix unusual?\n"
                  "4. Report the code paths and source lines that made this request slow, with "
                  "their share of its total. Quote numbers from the tool answers.",
                  trace, type, trace, type);
    if (b.err != BASE_OK) {
        tools__buf_free(&b);
        return -1;
    }
    int rc = add_user_message(messages, b.p);
    tools__buf_free(&b);
    if (description) {
        tools__buf d = {0};
        tools__printf(&d, "Where trace %.64s spent its time", trace);
        *description = tools__take(&d);
    }
    return rc;
}

static const mcp_prompt_arg TRACE_ARGS[] = {
    {"trace_id", "the request's trace id (32 hex digits)", true},
    {"profile_type", "profile type, default cpu:nanoseconds", false},
};

static const mcp_prompt_arg HOTSPOT_ARGS[] = {
    {"service_name", "service.name of the service to investigate", true},
    {"profile_type", "profile type, default cpu:nanoseconds", false},
    {"window", "how far back to look, e.g. 15m or 1h (default: all retained data)", false},
};

static const mcp_prompt_arg REGRESSION_ARGS[] = {
    {"service_name", "service.name of the service to investigate", true},
    {"baseline_start", "start of the baseline range (RFC 3339, unix seconds or now-2h)", false},
    {"baseline_end", "end of the baseline range", false},
    {"comparison_start", "start of the comparison range", false},
    {"comparison_end", "end of the comparison range", false},
};

int tools__register_guide(tools *t, mcp_server *srv)
{
    mcp_resource_def r = {
        .uri = "otelprofd://guide/profiling",
        .name = "profiling-guide",
        .title = "How to investigate performance with otelprofd",
        .description = "The investigation workflow (status, profile types, labels, table, "
                       "sandwich, flame graph with focus_path, diff, time series, export) "
                       "with example tool calls.",
        .mime_type = "text/markdown",
        .fn = guide_read,
        .user = t,
    };
    if (mcp_server_add_resource(srv, &r) != 0)
        return -1;
    mcp_prompt_def p1 = {
        .name = "investigate_cpu_hotspots",
        .title = "Investigate CPU hotspots",
        .description = "Walk through finding and explaining the hottest code of one service.",
        .args = HOTSPOT_ARGS,
        .n_args = sizeof HOTSPOT_ARGS / sizeof HOTSPOT_ARGS[0],
        .fn = prompt_hotspots,
        .complete = complete,
        .user = t,
    };
    mcp_prompt_def p2 = {
        .name = "find_regression",
        .title = "Find a performance regression",
        .description = "Compare two time ranges of one service and explain what got slower.",
        .args = REGRESSION_ARGS,
        .n_args = sizeof REGRESSION_ARGS / sizeof REGRESSION_ARGS[0],
        .fn = prompt_regression,
        .complete = complete,
        .user = t,
    };
    mcp_prompt_def p3 = {
        .name = "investigate_trace",
        .title = "From a trace to its code",
        .description = "Find the code paths and source lines one request (trace id) spent its "
                       "time in.",
        .args = TRACE_ARGS,
        .n_args = sizeof TRACE_ARGS / sizeof TRACE_ARGS[0],
        .fn = prompt_trace,
        .complete = complete,
        .user = t,
    };
    if (mcp_server_add_prompt(srv, &p1) != 0 || mcp_server_add_prompt(srv, &p2) != 0 ||
        mcp_server_add_prompt(srv, &p3) != 0)
        return -1;
    return 0;
}
