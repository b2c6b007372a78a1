/* cli/api_http.c — the HTTP API listener (--mcp-http): /healthz, Prometheus /metrics and
 * /debug/top (pprof -top over a merged window, for integration tests until the MCP tools
 * exist). A later issue moves this under mcp/. */
#include "cli/cli.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/base.h"

#define CONNECTION_TIMEOUT 30u
#define CONNECTION_LIMIT   64u
#define POOL_THREADS       2u
/* a /debug/top answer for a huge store is still bounded: rows are cut past this */
#define MAX_BODY ((size_t)64 << 20)

struct cli_api {
    struct MHD_Daemon *daemon;
    int port;
    win_store *store;
    const otlp_receiver *rcv;
};

/* ---- a growable text buffer with a cap ---------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool failed; /* out of memory or over MAX_BODY: the answer becomes a 500 */
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t need = b->len + (size_t)n + 1;
        if (need > MAX_BODY) {
            b->failed = true;
            return;
        }
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < need)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* ---- responses ------------------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                 const char *body, size_t len, const char *allow)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_msg(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    char line[1400];
    int n = snprintf(line, sizeof line, "%s\n", msg);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n;
    return send_text(conn, status, "text/plain; charset=utf-8", line, len, NULL);
}

static enum MHD_Result send_sbuf(struct MHD_Connection *conn, sbuf *b, const char *ctype)
{
    enum MHD_Result ret;
    if (b->failed)
        ret = send_msg(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "answer too large or out of memory");
    else
        ret = send_text(conn, MHD_HTTP_OK, ctype, b->p ? b->p : "", b->len, NULL);
    free(b->p);
    return ret;
}

/* ---- /metrics ------------------------------------------------------------------------ */

static void metric(sbuf *b, const char *name, const char *type, const char *help,
                   const char *labels, uint64_t value, bool with_header)
{
    if (with_header)
        sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    sb_printf(b, "%s%s %llu\n", name, labels ? labels : "", (unsigned long long)value);
}

static enum MHD_Result serve_metrics(struct cli_api *api, struct MHD_Connection *conn)
{
    otlp_stats rs;
    otlp_receiver_stats(api->rcv, &rs);
    win_stats ws;
    memset(&ws, 0, sizeof ws);
    win_store_stats(api->store, &ws);
    sbuf b = {0};
    metric(&b, "otelprofd_received_requests_total", "counter",
           "OTLP export requests received, by transport.", "{transport=\"grpc\"}", rs.requests_grpc,
           true);
    metric(&b, "otelprofd_received_requests_total", "counter", NULL, "{transport=\"http\"}",
           rs.requests_http, false);
    metric(&b, "otelprofd_failed_requests_total", "counter",
           "OTLP requests answered with an error (did not decode, too large, wrong type...).", NULL,
           rs.requests_failed, true);
    metric(&b, "otelprofd_received_bytes_total", "counter", "Uncompressed OTLP bytes received.",
           NULL, rs.bytes_received, true);
    metric(&b, "otelprofd_received_profiles_total", "counter",
           "OTLP profiles received, accepted or rejected.", NULL,
           rs.profiles_accepted + rs.profiles_rejected, true);
    metric(&b, "otelprofd_rejected_profiles_total", "counter",
           "OTLP profiles rejected whole because they break a rule of the spec.", NULL,
           rs.profiles_rejected, true);
    metric(&b, "otelprofd_received_samples_total", "counter",
           "Observations (sample x timestamp) received, stored or not.", NULL,
           rs.samples_stored + rs.samples_rejected + rs.samples_too_old + rs.samples_too_new, true);
    metric(&b, "otelprofd_rejected_samples_total", "counter", "Observations not stored, by reason.",
           "{reason=\"invalid\"}", rs.samples_rejected, true);
    metric(&b, "otelprofd_rejected_samples_total", "counter", NULL, "{reason=\"too_old\"}",
           rs.samples_too_old, false);
    metric(&b, "otelprofd_rejected_samples_total", "counter", NULL, "{reason=\"too_new\"}",
           rs.samples_too_new, false);
    metric(&b, "otelprofd_series", "gauge", "Series (profile type + resource) retained.", NULL,
           ws.series, true);
    metric(&b, "otelprofd_stack_nodes", "gauge", "Interned stack prefix-tree nodes.", NULL,
           ws.nodes, true);
    metric(&b, "otelprofd_frames", "gauge", "Interned frames.", NULL, ws.frames, true);
    metric(&b, "otelprofd_bucket_entries", "gauge", "Entries in retained time buckets.", NULL,
           ws.entries, true);
    metric(&b, "otelprofd_memory_used_bytes", "gauge", "Accounted memory of the store.", NULL,
           ws.memory_used, true);
    metric(&b, "otelprofd_memory_limit_bytes", "gauge", "The store's --memory-limit.", NULL,
           ws.memory_limit, true);
    metric(&b, "otelprofd_evicted_buckets_total", "counter",
           "Buckets dropped early because the memory limit was reached.", NULL, ws.evicted_buckets,
           true);
    metric(&b, "otelprofd_expired_buckets_total", "counter",
           "Buckets dropped because they passed the retention.", NULL, ws.expired_buckets, true);
    return send_sbuf(conn, &b, "text/plain; version=0.0.4; charset=utf-8");
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

static enum MHD_Result serve_top(struct cli_api *api, struct MHD_Connection *conn)
{
    const char *type = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "profile_type");
    const char *sel_text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "selector");
    const char *start = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "start");
    const char *end = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "end");
    if (!type || !*type)
        return send_msg(conn, MHD_HTTP_BAD_REQUEST,
                        "missing profile_type: e.g. ?profile_type=cpu:nanoseconds");
    win_query q = {
        .profile_type = type, .selector = NULL, .start_ns = INT64_MIN, .end_ns = INT64_MAX};
    if (start && !parse_ns(start, &q.start_ns))
        return send_msg(conn, MHD_HTTP_BAD_REQUEST, "start: use unix nanoseconds");
    if (end && !parse_ns(end, &q.end_ns))
        return send_msg(conn, MHD_HTTP_BAD_REQUEST, "end: use unix nanoseconds");
    char err[512] = "";
    win_selector *sel = NULL;
    if (sel_text && *sel_text) {
        sel = win_selector_parse(sel_text, err, sizeof err);
        if (!sel) {
            return send_msg(conn, MHD_HTTP_BAD_REQUEST, err[0] ? err : "selector: cannot parse");
        }
        q.selector = sel;
    }
    win_merged *m = win_merge(api->store, &q, err, sizeof err);
    win_selector_free(sel);
    if (!m)
        return send_msg(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, err[0] ? err : "merge failed");
    win_top_row *rows = NULL;
    int64_t n = win_top(m, &rows);
    if (n < 0) {
        win_merged_free(m);
        return send_msg(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    sbuf b = {0};
    sb_printf(&b, "total %lld\n", (long long)m->total);
    for (int64_t i = 0; i < n; i++)
        sb_printf(&b, "%lld %lld %s\n", (long long)rows[i].flat, (long long)rows[i].cum,
                  rows[i].function ? rows[i].function : "");
    free(rows);
    win_merged_free(m);
    return send_sbuf(conn, &b, "text/plain; charset=utf-8");
}

/* ---- routing --------------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    struct cli_api *api = cls;
    if (*con_cls == NULL) {
        /* answer once the request is complete: an answer queued earlier makes
         * libmicrohttpd close the connection instead of keeping it alive */
        *con_cls = api;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* no endpoint here takes a body */
        return MHD_YES;
    }
    bool known = strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0 ||
                 strcmp(url, "/debug/top") == 0;
    if (!known)
        return send_msg(conn, MHD_HTTP_NOT_FOUND, "not found");
    bool head = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "GET") != 0 && !head) {
        static const char msg[] = "method not allowed: use GET\n";
        return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", msg,
                         sizeof msg - 1, "GET, HEAD");
    }
    if (strcmp(url, "/healthz") == 0)
        return send_text(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n", 3, NULL);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(api, conn);
    return serve_top(api, conn);
}

cli_api *cli_api_start(const char *addr, win_store *store, const otlp_receiver *rcv, char *err,
                       size_t err_len)
{
    struct cli_api *api = calloc(1, sizeof *api);
    if (!api) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    api->store = store;
    api->rcv = rcv;
    int is_ipv6 = 0;
    int fd = base_listen_tcp(addr, &api->port, &is_ipv6, err, err_len);
    if (fd < 0) {
        free(api);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    if (is_ipv6)
        flags |= MHD_USE_IPv6;
    api->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, api, MHD_OPTION_LISTEN_SOCKET,
                                   fd, MHD_OPTION_THREAD_POOL_SIZE, POOL_THREADS,
                                   MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT,
                                   MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT, MHD_OPTION_END);
    if (!api->daemon) {
        close(fd);
        snprintf(err, err_len, "cannot listen on %s: libmicrohttpd did not start", addr);
        free(api);
        return NULL;
    }
    return api;
}

int cli_api_port(const cli_api *api)
{
    return api ? api->port : 0;
}

void cli_api_stop(cli_api *api)
{
    if (!api)
        return;
    /* requests here are short; MHD_stop_daemon joins threads that finish the one they serve */
    MHD_socket lfd = MHD_quiesce_daemon(api->daemon);
    MHD_stop_daemon(api->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    free(api);
}
