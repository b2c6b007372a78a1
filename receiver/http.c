/* receiver/http.c — OTLP/HTTP on libmicrohttpd: POST /v1development/profiles, and
 * Pyroscope's POST /ingest (parsed in pyroscope.c) under the same limits.
 *
 * The body is accumulated with a cap (max_message_size on the wire; a Content-Length that
 * announces more is refused before anything is read), then gunzipped with the same cap on
 * the output, decoded with a per-request arena and ingested. Error answers follow the
 * request's encoding: google.rpc.Status as protobuf or JSON, text otherwise.
 */
#include "receiver/receiver_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OTLP_PATH          "/v1development/profiles"
#define CONNECTION_TIMEOUT 30u /* seconds without progress before a connection is dropped */
/* Connections served at once. Past it a new connection is closed as soon as it is
 * accepted (a clean refusal the exporter retries) rather than left in the kernel's backlog,
 * where a client would wait, connected as far as it can tell, for an answer that only comes
 * when someone else's connection times out. Bodies are bounded by the in-flight budget, so
 * a connection costs little more than libmicrohttpd's 32 KiB pool. libmicrohttpd's own
 * limit (which stops accepting: the backlog case) sits above ours for accepts that race. */
#define CONNECTION_LIMIT   1024u
#define MHD_CONNECTION_CAP (CONNECTION_LIMIT + 64u)
#define POOL_THREADS       2u
#define BODY_FIRST_CHUNK   ((size_t)64 << 10)
#define STOP_GRACE_NS      (5 * (int64_t)1000000000)
/* With 3/4 of CONNECTION_LIMIT open, a connection whose request (head and body) has not
 * arrived HEAD_DEADLINE_S after it started waiting for one is shut down (base_reaper). */
#define HEAD_DEADLINE_S 10u
#define HEAD_PRESSURE   (CONNECTION_LIMIT / 4u * 3u)

/* 503s (budget spent, out of memory) are retryable: the OTLP spec has the exporter honour
 * Retry-After, which keeps a throttled sender from retrying at once */
#define RETRY_AFTER_SECONDS "1"

struct otlp__http {
    struct MHD_Daemon *daemon;
    int port;
    _Atomic int in_flight; /* requests between their first callback and completion */
    _Atomic unsigned open_connections;
    bool verify_client;  /* mTLS: every request checks the peer's certificate */
    base_reaper *reaper; /* request-head deadline under connection pressure (slowloris) */
};

typedef struct http_req {
    bool pyroscope; /* POST /ingest: errors as text, the body parsed by pyroscope.c */
    otlp__content_type ct;
    otlp__encoding enc;
    bool responded;    /* an answer is queued: ignore whatever else arrives */
    bool too_large;    /* the body passed the cap: the rest is read and dropped */
    bool throttled;    /* the in-flight budget is spent: the rest is dropped, 503 */
    uint64_t reserved; /* bytes of rcv->budget this request holds */
    uint8_t *body;
    size_t len, cap;
} http_req;

/* ---- responses ------------------------------------------------------------------- */

static enum MHD_Result respond(struct MHD_Connection *conn, http_req *r, unsigned status,
                               const char *ctype, const void *body, size_t len, bool allow)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER_SECONDS);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}

static enum MHD_Result respond_error(otlp_receiver *rcv, struct MHD_Connection *conn, http_req *r,
                                     unsigned status, int grpc_code, const char *message)
{
    otlp__count_failed(rcv, "http", message);
    base_arena arena;
    base_arena_init(&arena, 4096, 0);
    enum MHD_Result ret = MHD_NO;
    if (r->ct == OTLP__CT_PROTOBUF) {
        uint8_t *out;
        size_t n;
        if (otlp__encode_status_pb(grpc_code, message, &arena, &out, &n) == BASE_OK)
            ret = respond(conn, r, status, "application/x-protobuf", out, n, status == 405);
    } else if (r->ct == OTLP__CT_JSON) {
        char *out;
        size_t n;
        if (otlp__encode_status_json(grpc_code, message, &arena, &out, &n) == BASE_OK)
            ret = respond(conn, r, status, "application/json", out, n, status == 405);
    } else {
        char *text = base_arena_printf(&arena, "%s\n", message);
        if (text)
            ret = respond(conn, r, status, "text/plain; charset=utf-8", text, strlen(text),
                          status == 405);
    }
    base_arena_free(&arena);
    return ret;
}

/* ---- mTLS ------------------------------------------------------------------------- */

/* The check MHD_OPTION_HTTPS_MEM_TRUST alone does not make (base_tls_verify_peer). */
static bool client_cert_ok(struct MHD_Connection *conn, char *why, size_t why_len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return base_tls_verify_peer(ci ? ci->tls_session : NULL, why, why_len);
}

/* ---- the request ------------------------------------------------------------------ */

static enum MHD_Result respond_throttled(otlp_receiver *rcv, struct MHD_Connection *conn,
                                         http_req *r)
{
    char msg[200];
    snprintf(msg, sizeof msg,
             "server busy: requests in flight hold --max-inflight-bytes (%llu bytes); retry later",
             (unsigned long long)rcv->budget.limit);
    return respond_error(rcv, conn, r, MHD_HTTP_SERVICE_UNAVAILABLE, OTLP__GRPC_UNAVAILABLE, msg);
}

static void drop_body(otlp_receiver *rcv, http_req *r)
{
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    otlp__budget_release(&rcv->budget, r->reserved);
    r->reserved = 0;
}

static enum MHD_Result begin(otlp_receiver *rcv, struct MHD_Connection *conn, const char *url,
                             const char *method, http_req *r)
{
    const char *ct_header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    r->ct = otlp__parse_content_type(ct_header);
    r->pyroscope = strcmp(url, OTLP__PYRO_PATH) == 0;
    if (r->pyroscope)
        r->ct = OTLP__CT_NONE; /* Pyroscope's SDKs read errors as text */
    else if (strcmp(url, OTLP_PATH) != 0) {
        r->ct = OTLP__CT_NONE;
        return respond_error(rcv, conn, r, MHD_HTTP_NOT_FOUND, OTLP__GRPC_NOT_FOUND,
                             "not found: OTLP profiles are accepted at POST " OTLP_PATH
                             ", Pyroscope pushes at POST " OTLP__PYRO_PATH);
    }
    /* A web page's request is refused. Browsers send Origin on every cross-origin POST
     * (and on a DNS-rebound one); no OTLP or Pyroscope sender is a browser; and /ingest
     * takes multipart/form-data, which any page may POST to any address without asking
     * first (no CORS preflight), so a page the user merely visits could plant profiles,
     * and text in their function names, that an agent later reads. Pages served from this
     * machine (loopback origins) are let through. */
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (origin && !base_origin_is_loopback(origin)) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "forbidden: a request from the web page at Origin \"%.128s\" is refused: "
                 "profiles come from SDKs and collectors, not browsers",
                 origin);
        return respond_error(rcv, conn, r, MHD_HTTP_FORBIDDEN, OTLP__GRPC_PERMISSION_DENIED, msg);
    }
    if (strcmp(method, "POST") != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "method %.32s not allowed: use POST %s", method,
                 r->pyroscope ? OTLP__PYRO_PATH : OTLP_PATH);
        return respond_error(rcv, conn, r, MHD_HTTP_METHOD_NOT_ALLOWED, OTLP__GRPC_UNIMPLEMENTED,
                             msg);
    }
    /* /ingest takes any Content-Type: multipart or a raw pprof (pyroscope.c decides) */
    if (!r->pyroscope && r->ct != OTLP__CT_PROTOBUF && r->ct != OTLP__CT_JSON) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "unsupported content type \"%.64s\": use application/x-protobuf or "
                 "application/json",
                 ct_header ? ct_header : "");
        r->ct = OTLP__CT_NONE;
        return respond_error(rcv, conn, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                             OTLP__GRPC_INVALID_ARGUMENT, msg);
    }
    const char *enc_header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Encoding");
    r->enc = otlp__parse_content_encoding(enc_header);
    if (r->enc == OTLP__ENC_OTHER) {
        char msg[200];
        snprintf(msg, sizeof msg, "unsupported content encoding \"%.64s\": use gzip or none",
                 enc_header);
        return respond_error(rcv, conn, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                             OTLP__GRPC_INVALID_ARGUMENT, msg);
    }
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno == ERANGE || v > rcv->cfg.max_message_size) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "body of %.24s bytes is larger than --max-message-size (%llu)", cl,
                     (unsigned long long)rcv->cfg.max_message_size);
            return respond_error(rcv, conn, r, MHD_HTTP_CONTENT_TOO_LARGE,
                                 OTLP__GRPC_RESOURCE_EXHAUSTED, msg);
        }
        if (v > 0 && !otlp__budget_reserve(&rcv->budget, v))
            return respond_throttled(rcv, conn, r);
        r->reserved = v;
    }
    return MHD_YES;
}

static void append(otlp_receiver *rcv, http_req *r, const char *data, size_t n)
{
    size_t max = (size_t)rcv->cfg.max_message_size;
    if (r->too_large || r->throttled)
        return;
    if (n > max - r->len) {
        r->too_large = true;
        drop_body(rcv, r);
        return;
    }
    if (r->len + n > r->cap) {
        /* a Content-Length was reserved whole: one buffer of exactly that size */
        size_t ncap = r->cap ? r->cap : r->reserved ? (size_t)r->reserved : BODY_FIRST_CHUNK;
        while (ncap < r->len + n)
            ncap = ncap > max / 2 ? max : ncap * 2;
        if (ncap > max)
            ncap = max;
        /* without a Content-Length (chunked) the budget is taken as the buffer grows */
        if (ncap > r->reserved) {
            if (!otlp__budget_reserve(&rcv->budget, ncap - r->reserved)) {
                r->throttled = true;
                drop_body(rcv, r);
                return;
            }
            r->reserved = ncap;
        }
        uint8_t *nb = realloc(r->body, ncap ? ncap : 1);
        if (!nb) {
            /* treated like too large: the answer is the same 413 */
            r->too_large = true;
            drop_body(rcv, r);
            return;
        }
        r->body = nb;
        r->cap = ncap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

/* POST /ingest: pyroscope.c parses and ingests through otlp__handle; the answer is
 * Pyroscope's (200 and an empty body, errors as text), with what OTLP would put in
 * partial_success as text on a 200, and a 400 when every profile was rejected (an SDK
 * logs only non-2xx answers). */
static enum MHD_Result finish_pyroscope(otlp_receiver *rcv, struct MHD_Connection *conn,
                                        http_req *r, const uint8_t *data, size_t len,
                                        base_arena *arena, char *msg, size_t msg_len)
{
#define QUERY_ARG(key) MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key)
    otlp__pyro_query q = {
        .name = QUERY_ARG("name"),
        .from = QUERY_ARG("from"),
        .until = QUERY_ARG("until"),
        .format = QUERY_ARG("format"),
        .spy_name = QUERY_ARG("spyName"),
        .sample_rate = QUERY_ARG("sampleRate"),
        .units = QUERY_ARG("units"),
        .aggregation_type = QUERY_ARG("aggregationType"),
    };
#undef QUERY_ARG
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const char *tenant = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Scope-OrgID");
    tr_result res;
    base_err rc = otlp__pyro_ingest(rcv, &q, ct, tenant, data, len, arena, &res, msg, msg_len);
    if (rc != BASE_OK) {
        otlp__status st = otlp__status_of(rc);
        return respond_error(rcv, conn, r, st.http, st.grpc, msg);
    }
    if (res.profiles_rejected && !res.profiles_accepted)
        return respond_error(rcv, conn, r, MHD_HTTP_BAD_REQUEST, OTLP__GRPC_INVALID_ARGUMENT,
                             res.error_message);
    const char *text =
        res.error_message[0] ? base_arena_printf(arena, "%s\n", res.error_message) : "";
    return respond(conn, r, MHD_HTTP_OK, "text/plain; charset=utf-8", text ? text : "",
                   text ? strlen(text) : 0, false);
}

static enum MHD_Result finish(otlp_receiver *rcv, struct MHD_Connection *conn, http_req *r)
{
    char msg[1200] = "";
    if (r->throttled)
        return respond_throttled(rcv, conn, r);
    if (r->too_large) {
        snprintf(msg, sizeof msg, "body is larger than --max-message-size (%llu bytes)",
                 (unsigned long long)rcv->cfg.max_message_size);
        return respond_error(rcv, conn, r, MHD_HTTP_CONTENT_TOO_LARGE,
                             OTLP__GRPC_RESOURCE_EXHAUSTED, msg);
    }
    const uint8_t *data = r->body ? r->body : (const uint8_t *)"";
    size_t len = r->len;
    uint8_t *inflated = NULL;
    if (r->enc == OTLP__ENC_GZIP) {
        size_t ilen = 0;
        base_err rc = otlp__gunzip(data, len, (size_t)rcv->cfg.max_message_size, &inflated, &ilen,
                                   msg, sizeof msg);
        if (rc != BASE_OK) {
            otlp__status st = otlp__status_of(rc);
            return respond_error(rcv, conn, r, st.http, st.grpc,
                                 rc == BASE_ERR_NOMEM ? "out of memory while decompressing" : msg);
        }
        /* the compressed body is no longer needed: give its memory back before decoding */
        drop_body(rcv, r);
        data = inflated;
        len = ilen;
    }
    base_arena arena;
    base_arena_init(&arena, (size_t)64 << 10, rcv->arena_cap);
    if (r->pyroscope) {
        enum MHD_Result pret = finish_pyroscope(rcv, conn, r, data, len, &arena, msg, sizeof msg);
        free(inflated);
        base_arena_free(&arena);
        return pret;
    }
    tr_result res;
    base_err rc =
        otlp__handle(rcv, "http", data, len, r->ct == OTLP__CT_JSON, &arena, &res, msg, sizeof msg);
    free(inflated);
    enum MHD_Result ret;
    if (rc == BASE_OK) {
        base_err erc;
        if (r->ct == OTLP__CT_JSON) {
            char *out;
            size_t n;
            erc = otlp__encode_response_json(&res, &arena, &out, &n);
            ret = erc == BASE_OK ? respond(conn, r, MHD_HTTP_OK, "application/json", out, n, false)
                                 : MHD_NO;
        } else {
            uint8_t *out;
            size_t n;
            erc = otlp__encode_response_pb(&res, &arena, &out, &n);
            ret = erc == BASE_OK
                      ? respond(conn, r, MHD_HTTP_OK, "application/x-protobuf", out, n, false)
                      : MHD_NO;
        }
        if (erc != BASE_OK) { /* as gRPC answers it: the same table */
            otlp__status st = otlp__status_of(erc);
            ret = respond_error(rcv, conn, r, st.http, st.grpc,
                                "out of memory encoding the response");
        }
    } else {
        otlp__status st = otlp__status_of(rc); /* the table both transports share */
        ret = respond_error(rcv, conn, r, st.http, st.grpc, msg);
    }
    base_arena_free(&arena);
    return ret;
}

static base_reaper_conn *reaper_entry(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    otlp_receiver *rcv = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        atomic_fetch_add(&rcv->http->in_flight, 1);
        atomic_fetch_add(&rcv->requests_http, 1);
        if (rcv->http->verify_client) {
            char why[BASE_ERR_LEN];
            if (!client_cert_ok(conn, why, sizeof why)) {
                /* no answer at all: an unauthenticated peer learns nothing, not even
                 * that this is an OTLP endpoint */
                otlp__count_failed(rcv, "http", why);
                return MHD_NO;
            }
        }
        return begin(rcv, conn, url, method, r);
    }
    if (r->responded) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        append(rcv, r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* the deadline covers the body too: an OTLP body that drips in holds a connection as
     * well as a dripping head does */
    base_reaper_head_done(rcv->http->reaper, reaper_entry(conn));
    return finish(rcv, conn, r);
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addr_len)
{
    (void)addr;
    (void)addr_len;
    otlp_receiver *rcv = cls;
    if (atomic_load(&rcv->http->open_connections) < CONNECTION_LIMIT)
        return MHD_YES;
    atomic_fetch_add(&rcv->connections_refused, 1);
    return MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    otlp_receiver *rcv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&rcv->http->open_connections, 1);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
            *socket_context = base_reaper_add(rcv->http->reaper, ci->connect_fd);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        atomic_fetch_sub(&rcv->http->open_connections, 1);
        base_reaper_remove(rcv->http->reaper, *socket_context);
        *socket_context = NULL;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    otlp_receiver *rcv = cls;
    http_req *r = *con_cls;
    if (!r)
        return;
    base_reaper_request_done(rcv->http->reaper, reaper_entry(conn)); /* the next head's wait */
    /* a client that went away before its answer (mid-body, or at shutdown) is a failed
     * request too, or /metrics would show requests that neither succeeded nor failed */
    if (!r->responded && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        otlp__count_failed(rcv, "http",
                           toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN
                               ? "request cut off by shutdown"
                               : "the client closed the connection before the request was "
                                 "complete");
    drop_body(rcv, r);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&rcv->http->in_flight, 1);
}

base_err otlp__http_start(otlp_receiver *rcv, char *err, size_t err_len)
{
    struct otlp__http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, err_len, "otlp/http: out of memory");
        return BASE_ERR_NOMEM;
    }
    rcv->http = h;
    int is_ipv6 = 0;
    int fd = base_listen_tcp(rcv->http_addr, &h->port, &is_ipv6, err, err_len);
    if (fd < 0)
        return BASE_ERR_IO;
    /* poll, not epoll: libmicrohttpd 0.9.75 in epoll mode does not notice a client that
     * closes half-way through a large body (seen with 5 MiB of a 10 MiB Content-Length)
     * until the connection timeout, holding the body and its budget for 30 s; with poll
     * the close is seen at once (tests/integration/test_faults.sh) */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC;
    if (is_ipv6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls_opts[4] = {{MHD_OPTION_END, 0, NULL}};
    if (rcv->cfg.tls_cert_pem || rcv->cfg.tls_key_pem) {
        if (!rcv->cfg.tls_cert_pem || !rcv->cfg.tls_key_pem) {
            close(fd);
            h->port = 0;
            snprintf(err, err_len, "otlp/http: TLS needs both a certificate and its key");
            return BASE_ERR_BAD_ARGUMENT;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            close(fd);
            h->port = 0;
            snprintf(err, err_len, "otlp/http: this libmicrohttpd was built without TLS");
            return BASE_ERR_UNSUPPORTED;
        }
        flags |= MHD_USE_TLS;
        size_t n = 0;
        tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                                (void *)(uintptr_t)rcv->cfg.tls_key_pem};
        tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                                (void *)(uintptr_t)rcv->cfg.tls_cert_pem};
        if (rcv->cfg.tls_client_ca_pem) {
            tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                                    (void *)(uintptr_t)rcv->cfg.tls_client_ca_pem};
            h->verify_client = true;
        }
        tls_opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    unsigned head_s = base_conn_timeout_s(CONNECTION_TIMEOUT) < HEAD_DEADLINE_S
                          ? base_conn_timeout_s(CONNECTION_TIMEOUT)
                          : HEAD_DEADLINE_S;
    h->reaper = base_reaper_start((int64_t)head_s * 1000000000, HEAD_PRESSURE);
    h->daemon = MHD_start_daemon(
        flags, 0, on_accept, rcv, on_request, rcv, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, POOL_THREADS, MHD_OPTION_CONNECTION_TIMEOUT,
        base_conn_timeout_s(CONNECTION_TIMEOUT), MHD_OPTION_CONNECTION_LIMIT, MHD_CONNECTION_CAP,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, rcv, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        rcv, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!h->daemon) {
        close(fd);
        h->port = 0;
        snprintf(err, err_len, "cannot listen on %s: libmicrohttpd did not start%s", rcv->http_addr,
                 h->verify_client || rcv->cfg.tls_cert_pem
                     ? " (it refused the TLS certificate, key or client CA)"
                     : "");
        return BASE_ERR_IO;
    }
    return BASE_OK;
}

void otlp__http_stop(otlp_receiver *rcv)
{
    struct otlp__http *h = rcv->http;
    if (!h)
        return;
    if (h->daemon) {
        /* stop accepting, give requests already in the handler time to be answered */
        MHD_socket lfd = MHD_quiesce_daemon(h->daemon);
        int64_t until = base_now_mono_ns() + STOP_GRACE_NS;
        while (atomic_load(&h->in_flight) > 0 && base_now_mono_ns() < until) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        MHD_stop_daemon(h->daemon);
        if (lfd != MHD_INVALID_SOCKET)
            close(lfd);
    }
    base_reaper_stop(h->reaper);
    free(h);
    rcv->http = NULL;
}

int otlp__http_port(const otlp_receiver *rcv)
{
    return rcv->http ? rcv->http->port : 0;
}
