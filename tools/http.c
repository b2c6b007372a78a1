/* tools/http.c — the HTTP API served beside /mcp: /healthz, Prometheus /metrics,
 * /api/pprof (the export as a download), /flamegraph.svg and / (picture.c) and /debug/top (pprof
 * -top over a merge, used by the ingest integration tests). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "tools/tools_internal.h"

static const char TEXT[] = "text/plain; charset=utf-8";

static bool respond(mcp_http_response *out, int status, const char *ctype, tools__buf *b)
{
    out->status = status;
    out->content_type = ctype;
    if (b->err != BASE_OK) {
        tools__buf_free(b);
        static const char msg[] = "answer too large or out of memory\n";
        out->status = 500;
        out->content_type = TEXT;
        out->body = (uint8_t *)strdup(msg);
        out->len = out->body ? sizeof msg - 1 : 0;
        return true;
    }
    out->len = b->len;
    out->body = (uint8_t *)tools__take(b);
    if (!out->body)
        out->len = 0;
    return true;
}

static bool respond_msg(mcp_http_response *out, int status, const char *msg)
{
    tools__buf b = {0};
    tools__printf(&b, "%s\n", msg);
    return respond(out, status, TEXT, &b);
}

/* ---- /metrics ------------------------------------------------------------------------ */

static void metric(tools__buf *b, const char *name, const char *type, const char *help,
                   const char *labels, uint64_t value)
{
    if (help)
        tools__printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    tools__printf(b, "%s%s %llu\n", name, labels ? labels : "", (unsigned long long)value);
}

/* The log's and the forwarders' figures. A label value is escaped as Prometheus wants. */
static void log_metrics(tools *t, tools__buf *b)
{
    log_stats ls;
    log_stats_get(t->log, &ls);
    char lb[64];
    snprintf(lb, sizeof lb, "{backend=\"%s\"}", log_backend_name(ls.backend));
    metric(b, "otelprofd_log_appended_requests_total", "counter",
           "Requests appended to the log (kept before they were acknowledged).", lb, ls.appends);
    metric(b, "otelprofd_log_appended_bytes_total", "counter", "Bytes appended to the log.", lb,
           ls.append_bytes);
    metric(b, "otelprofd_log_append_failures_total", "counter",
           "Appends the log could not keep (disk full, unwritable): answered 503 / UNAVAILABLE.",
           lb, ls.append_failures);
    metric(b, "otelprofd_log_bytes", "gauge", "Bytes the log holds now (disk or memory).", lb,
           ls.bytes_held);
    metric(b, "otelprofd_log_segments", "gauge", "Segment files of the write-ahead log.", lb,
           ls.segments);
    metric(b, "otelprofd_log_syncs_total", "counter", "fdatasync calls of the write-ahead log.", lb,
           ls.syncs);
    metric(b, "otelprofd_log_corrupt_records_total", "counter",
           "Damaged records (torn tail, bad checksum) skipped.", lb, ls.corrupt_records);
    metric(b, "otelprofd_log_replayed_requests", "gauge",
           "Requests replayed into the windows at start.", lb, ls.replay.records);
    metric(b, "otelprofd_log_replayed_samples", "gauge", "Samples stored by the replay at start.",
           lb, ls.replay.samples);
    metric(b, "otelprofd_log_replay_duration_milliseconds", "gauge",
           "Wall time of the replay at start.", lb, (uint64_t)(ls.replay.duration_ns / 1000000));
    log_consumer_stats fw[LOG_CONSUMERS_MAX];
    size_t n = log_consumer_stats_all(t->log, fw, LOG_CONSUMERS_MAX);
    if (t->cluster_role[0]) {
        log_consumer_stats win = {0};
        for (size_t i = 0; i < n && i < LOG_CONSUMERS_MAX; i++)
            if (strcmp(fw[i].name, "windows") == 0)
                win = fw[i];
        char cl[160];
        snprintf(cl, sizeof cl, "{role=\"%s\",stream=\"%s\"}", t->cluster_role, t->cluster_stream);
        metric(b, "otelprofd_cluster_info", "gauge",
               "This node's role and JetStream stream (--nats); always 1.", cl, 1);
        metric(b, "otelprofd_stream_last_sequence", "gauge",
               "Sequence of the newest record in the stream (its head).", cl, ls.last_seq);
        metric(b, "otelprofd_stream_applied_records_total", "counter",
               "Stream records applied to this node's windows (replay and live).", cl,
               win.delivered);
        metric(b, "otelprofd_stream_records", "gauge",
               "Records the stream holds (every subject, within its retention).", cl,
               ls.records_held);
        metric(b, "otelprofd_stream_applied_sequence", "gauge",
               "Sequence of the last stream record applied to this node's windows.", cl,
               win.committed_seq);
        metric(b, "otelprofd_stream_pending_records", "gauge",
               "Records behind the stream head not yet applied to the windows.", cl,
               win.backlog_records);
        metric(b, "otelprofd_stream_lag_seconds", "gauge",
               "Age of the last record applied while more are pending (0 when caught up).", cl,
               (uint64_t)(win.lag_ns / 1000000000));
        metric(b, "otelprofd_stream_replay_done", "gauge",
               "1 once the replay from now - retention has caught up.", cl, ls.replay.done);
        metric(b, "otelprofd_stream_replica_repaired_records_total", "counter",
               "Records the stream replica this node read lacked, applied from the stream "
               "leader (a diverged replica, see docs/cluster.md).",
               cl, win.replica_repaired);
        metric(b, "otelprofd_stream_reading_from_leader", "gauge",
               "1 when the windows read the stream leader record by record since a repair.", cl,
               win.reading_from_leader);
    }
    static const char *const names[] = {"otelprofd_forward_sent_requests_total",
                                        "otelprofd_forward_retried_requests_total",
                                        "otelprofd_forward_failed_requests_total",
                                        "otelprofd_forward_dropped_requests_total",
                                        "otelprofd_forward_backlog_bytes",
                                        "otelprofd_forward_backlog_requests",
                                        "otelprofd_forward_lag_seconds"};
    static const char *const helps[] = {
        "Requests the destination accepted.",
        "Attempts that failed and were retried (UNAVAILABLE, 429, 5xx, connection errors).",
        "Requests the destination rejected permanently (INVALID_ARGUMENT, 400): dropped.",
        "Requests dropped before they were sent (full --forward-queue, log retention).",
        "Bytes accepted but not yet forwarded.",
        "Requests accepted but not yet forwarded.",
        "Age of the oldest request not yet forwarded."};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        bool first = true;
        for (size_t i = 0; i < n && i < LOG_CONSUMERS_MAX; i++) {
            if (!fw[i].target[0])
                continue;
            char dest[600], *d = dest;
            d += snprintf(d, 32, "{destination=\"");
            for (const char *p = fw[i].target; *p && d < dest + sizeof dest - 8; p++) {
                if (*p == '\\' || *p == '"')
                    *d++ = '\\';
                *d++ = *p;
            }
            snprintf(d, 8, "\"}");
            uint64_t v[] = {fw[i].sent,
                            fw[i].retried,
                            fw[i].failed,
                            fw[i].lost,
                            fw[i].backlog_bytes,
                            fw[i].backlog_records,
                            (uint64_t)(fw[i].lag_ns / 1000000000)};
            metric(b, names[k], k >= 4 ? "gauge" : "counter", first ? helps[k] : NULL, dest, v[k]);
            first = false;
        }
    }
}

static bool serve_metrics(tools *t, mcp_http_response *out)
{
    otlp_stats rs;
    tools__ingest_stats(t, &rs);
    win_stats ws;
    memset(&ws, 0, sizeof ws);
    win_store_stats(t->store, &ws);
    tools__buf b = {0};
    metric(&b, "otelprofd_received_requests_total", "counter",
           "OTLP export requests received, by transport.", "{transport=\"grpc\"}",
           rs.requests_grpc);
    metric(&b, "otelprofd_received_requests_total", "counter", NULL, "{transport=\"http\"}",
           rs.requests_http);
    metric(&b, "otelprofd_failed_requests_total", "counter",
           "OTLP requests answered with an error (did not decode, too large, wrong type...).", NULL,
           rs.requests_failed);
    metric(&b, "otelprofd_received_bytes_total", "counter", "Uncompressed OTLP bytes received.",
           NULL, rs.bytes_received);
    metric(&b, "otelprofd_received_profiles_total", "counter",
           "OTLP profiles received, accepted or rejected (preloaded ones included).", NULL,
           rs.profiles_accepted + rs.profiles_rejected);
    metric(&b, "otelprofd_preloaded_profiles_total", "counter",
           "OTLP profiles --demo stored at start (part of received_profiles_total).", NULL,
           t->preloaded.profiles);
    metric(&b, "otelprofd_preloaded_samples_total", "counter",
           "Observations --demo stored at start (part of received_samples_total).", NULL,
           t->preloaded.samples);
    metric(&b, "otelprofd_rejected_profiles_total", "counter",
           "OTLP profiles rejected whole because they break a rule of the spec.", NULL,
           rs.profiles_rejected);
    metric(&b, "otelprofd_received_samples_total", "counter",
           "Observations (sample x timestamp) received, stored or not.", NULL,
           rs.samples_stored + rs.samples_rejected + rs.samples_too_old + rs.samples_too_new);
    metric(&b, "otelprofd_rejected_samples_total", "counter", "Observations not stored, by reason.",
           "{reason=\"invalid\"}", rs.samples_rejected);
    metric(&b, "otelprofd_rejected_samples_total", "counter", NULL, "{reason=\"too_old\"}",
           rs.samples_too_old);
    metric(&b, "otelprofd_rejected_samples_total", "counter", NULL, "{reason=\"too_new\"}",
           rs.samples_too_new);
    metric(&b, "otelprofd_unlinked_samples_total", "counter",
           "Observations stored without their trace link: their bucket already held 16,384 "
           "linked entries (trace_id/span_id filters miss them; totals stay exact).",
           NULL, ws.samples_unlinked);
    metric(&b, "otelprofd_inflight_bytes", "gauge",
           "OTLP request bytes held now (HTTP bodies, gRPC messages being decoded).", NULL,
           rs.inflight_bytes);
    metric(&b, "otelprofd_inflight_limit_bytes", "gauge", "The receiver's --max-inflight-bytes.",
           NULL, rs.inflight_limit);
    metric(&b, "otelprofd_throttled_requests_total", "counter",
           "OTLP requests refused with 503 / UNAVAILABLE because --max-inflight-bytes was held.",
           NULL, rs.requests_throttled);
    metric(&b, "otelprofd_refused_connections_total", "counter",
           "OTLP/HTTP connections closed on accept: the connection limit (1024) was reached.", NULL,
           rs.connections_refused);
    metric(&b, "otelprofd_series", "gauge", "Series (profile type + resource) retained.", NULL,
           ws.series);
    metric(&b, "otelprofd_stack_nodes", "gauge", "Interned stack prefix-tree nodes.", NULL,
           ws.nodes);
    metric(&b, "otelprofd_frames", "gauge", "Interned frames.", NULL, ws.frames);
    metric(&b, "otelprofd_bucket_entries", "gauge", "Entries in retained time buckets.", NULL,
           ws.entries);
    metric(&b, "otelprofd_memory_used_bytes", "gauge", "Accounted memory of the store.", NULL,
           ws.memory_used);
    metric(&b, "otelprofd_memory_limit_bytes", "gauge", "The store's --memory-limit.", NULL,
           ws.memory_limit);
    metric(&b, "otelprofd_evicted_buckets_total", "counter",
           "Buckets dropped early because the memory limit was reached.", NULL, ws.evicted_buckets);
    metric(&b, "otelprofd_expired_buckets_total", "counter",
           "Buckets dropped because they passed the retention.", NULL, ws.expired_buckets);
    metric(&b, "otelprofd_unavailable_requests_total", "counter",
           "OTLP requests refused with 503 / UNAVAILABLE because the log could not keep them.",
           NULL, rs.requests_unavailable);
    if (t->log)
        log_metrics(t, &b);
    return respond(out, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}

/* ---- /debug/top -------------------------------------------------------------------- */

static bool parse_ns(const char *text, int64_t *out)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end)
        return false;
    *out = (int64_t)v;
    return true;
}

static bool serve_top(tools *t, mcp_http_arg_fn arg, void *conn, mcp_http_response *out)
{
    const char *type = arg(conn, "profile_type");
    const char *sel_text = arg(conn, "selector");
    const char *start = arg(conn, "start");
    const char *end = arg(conn, "end");
    if (!type || !*type)
        return respond_msg(out, 400, "missing profile_type: e.g. ?profile_type=cpu:nanoseconds");
    win_query q = {
        .profile_type = type, .selector = NULL, .start_ns = INT64_MIN, .end_ns = INT64_MAX};
    if (start && !parse_ns(start, &q.start_ns))
        return respond_msg(out, 400, "start: use unix nanoseconds");
    if (end && !parse_ns(end, &q.end_ns))
        return respond_msg(out, 400, "end: use unix nanoseconds");
    char err[BASE_ERR_LEN] = "";
    win_selector *sel = NULL;
    if (sel_text && *sel_text) {
        sel = win_selector_parse(sel_text, NULL, err, sizeof err);
        if (!sel)
            return respond_msg(out, 400, err[0] ? err : "selector: cannot parse");
        q.selector = sel;
    }
    base_errbuf eb = {0};
    win_merged *m = win_merge(t->store, &q, &eb);
    win_selector_free(sel);
    if (!m) /* BAD_ARGUMENT: a regex over its match limit, the request's fault */
        return respond_msg(out, eb.kind == BASE_ERR_BAD_ARGUMENT ? 400 : 500,
                           eb.text[0] ? eb.text : "merge failed");
    win_top_row *rows = NULL;
    int64_t n = win_top(m, &rows);
    if (n < 0) {
        win_merged_free(m);
        return respond_msg(out, 500, "out of memory");
    }
    tools__buf b = {0};
    tools__printf(&b, "total %lld\n", (long long)m->total);
    for (int64_t i = 0; i < n; i++)
        tools__printf(&b, "%lld %lld %s\n", (long long)rows[i].flat, (long long)rows[i].cum,
                      rows[i].function ? rows[i].function : "");
    free(rows);
    win_merged_free(m);
    return respond(out, 200, TEXT, &b);
}

/* ---- /api/pprof ------------------------------------------------------------------------ */

static bool serve_pprof(tools *t, mcp_http_arg_fn arg, void *conn, mcp_http_response *out)
{
    const char *type = arg(conn, "profile_type");
    if (!type || !*type) {
        char *types = tools__types_present(t);
        tools__buf b = {0};
        tools__printf(&b,
                      "missing profile_type: e.g. /api/pprof?profile_type=cpu:nanoseconds. "
                      "Profile types present: %s",
                      types ? types : "?");
        free(types);
        tools__append(&b, "\n", 1);
        return respond(out, 400, TEXT, &b);
    }
    uint8_t *pb = NULL;
    size_t len = 0;
    char err[BASE_ERR_LEN] = "";
    query_pprof_info info;
    if (tools__pprof_bytes(t, type, arg(conn, "selector"), arg(conn, "service_name"),
                           arg(conn, "start"), arg(conn, "end"), &pb, &len, &info, err,
                           sizeof err) != 0)
        return respond_msg(out, 400, err[0] ? err : "cannot export the profile");
    out->status = 200;
    out->content_type = "application/octet-stream";
    out->body = pb;
    out->len = len;
    out->extra_header_name = "Content-Disposition";
    out->extra_header_value = "attachment; filename=\"profile.pb.gz\"";
    /* the body is the profile, so a cut can only be said in a header */
    if (info.folded) {
        out->extra_header2_name = "X-Otelprofd-Export-Cut";
        out->extra_header2_value = "labels: the export limits were reached, some samples lost "
                                   "their labels; their value is in unlabelled samples of the "
                                   "same stacks, totals and stacks are exact";
    }
    return true;
}

bool tools_http_route(void *user, const char *method, const char *path, mcp_http_arg_fn arg,
                      void *conn, mcp_http_response *out)
{
    tools *t = user;
    bool known = strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0 ||
                 strcmp(path, "/debug/top") == 0 || strcmp(path, "/api/pprof") == 0 ||
                 strcmp(path, "/flamegraph.svg") == 0 || strcmp(path, "/") == 0;
    if (!known)
        return false;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        out->extra_header_name = "Allow";
        out->extra_header_value = "GET, HEAD";
        return respond_msg(out, 405, "method not allowed: use GET");
    }
    if (strcmp(path, "/healthz") == 0)
        return respond_msg(out, 200, "ok");
    if (strcmp(path, "/metrics") == 0)
        return serve_metrics(t, out);
    if (strcmp(path, "/debug/top") == 0)
        return serve_top(t, arg, conn, out);
    if (strcmp(path, "/flamegraph.svg") == 0)
        return tools__serve_flame_svg(t, arg, conn, out);
    if (strcmp(path, "/") == 0)
        return tools__serve_page(t, arg, conn, out);
    return serve_pprof(t, arg, conn, out);
}
