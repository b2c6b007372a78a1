/* tools/tools.h — otelprofd's MCP tools, resources and prompts, and its HTTP API routes.
 *
 * Purpose: registers on an mcp_server the tools of DESIGN.md ("Queries and MCP tools"):
 * get_status, list_profile_types, list_labels, list_label_values, query_profile_table,
 * query_profile_flamegraph, query_profile_sandwich, query_profile_diff,
 * query_profile_timeseries, export_pprof; the `profiling-guide` resource; the prompts
 * investigate_cpu_hotspots and find_regression (with label-value completion). Each tool
 * parses and checks its arguments (isError results that say how to fix the call; a
 * profile type the store does not hold is one, a held type without samples in the range is
 * an empty answer saying "No samples in range"), runs window/ + query/, and answers with
 * structuredContent (raw integers in the profile's unit) plus a compact text rendering (header
 * lines, then `[N]{col,...}:` and CSV rows, under ~4,000 tokens by default, saying what was cut,
 * "other" rows carrying cut value). Also the HTTP API served beside /mcp: GET /healthz, /metrics
 * (Prometheus text), /api/pprof?profile_type=&selector=&start=&end= (gzipped pprof) and the interim
 * /debug/top used by the ingest tests.
 *
 * Thread-safety: after tools_new, every entry point may run concurrently (the store does
 * its own locking; the context is read-only).
 *
 * Ownership: the context borrows the store and the receiver (both must outlive it) and
 * copies the config strings.
 */
#ifndef OTELPROFD_TOOLS_H
#define OTELPROFD_TOOLS_H

#include <stdbool.h>
#include <stdint.h>

#include "mcp/mcp.h"
#include "receiver/receiver.h"
#include "window/window.h"

typedef struct tools tools;

/* What `serve --demo` stored before the listeners started: get_status and /metrics count it
 * as received (and say how much was preloaded), so the ingest counters agree with the data
 * the store holds. */
typedef struct tools_preloaded {
    uint64_t profiles; /* OTLP profiles stored */
    uint64_t samples;  /* observations stored */
} tools_preloaded;

typedef struct tools_config {
    win_store *store;
    const otlp_receiver *receiver; /* for ingest counters; may be NULL (e.g. --connect) */
    tools_preloaded preloaded;     /* zero unless --demo */
    const char *http_base_url;     /* "http://127.0.0.1:4319" when the HTTP API listens, else
                                      NULL: export_pprof then embeds the profile only */
    const char *version;           /* for get_status */
    log_store *log;                /* the log (replay figures, forwarders); may be NULL; borrowed */
    /* --nats: this node's role ("all", "ingest", "query") and the stream; NULL otherwise.
     * Copied. get_status and /metrics then report them, the windows consumer's lag behind
     * the stream head and the replay's progress. */
    const char *cluster_role;
    const char *cluster_stream;
} tools_config;

tools *tools_new(const tools_config *cfg);
void tools_free(tools *t);
/* The base URL may only be known after the listener bound (port 0): set it then. */
void tools_set_http_base_url(tools *t, const char *url);

/* Registers everything above. Returns 0 or -1. */
int tools_register(tools *t, mcp_server *srv);

/* mcp_http_route_fn for the HTTP API; `user` is the tools context. */
bool tools_http_route(void *user, const char *method, const char *path, mcp_http_arg_fn arg,
                      void *conn, mcp_http_response *out);

/* Runs one tool by name with JSON arguments text, in process, and returns its text
 * rendering (malloc'd); *is_error set for isError results. For `otelprofd query` against
 * an embedded store and for tests. NULL with `err` for an unknown tool / bad JSON. */
char *tools_call_text(tools *t, const char *name, const char *args_json, bool *is_error, char *err,
                      size_t err_len);

#endif
