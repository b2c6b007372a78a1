/* receiver/http.c — OTLP/HTTP on libmicrohttpd: POST /v1development/profiles.
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
#define CONNECTION_LIMIT   256u
#define POOL_THREADS       2u
#define BODY_FIRST_CHUNK   ((size_t)64 << 10)
#define STOP_GRACE_NS      (5 * (int64_t)1000000000)

struct otlp__http {
    struct MHD_Daemon *daemon;
    int port;
    _Atomic int in_flight; /* requests between their first callback and completion */
};

typedef struct http_req {
    otlp__content_type ct;
    otlp__encoding enc;
    bool responded; /* an answer is queued: ignore whatever else arrives */
    bool too_large; /* the body passed the cap: the rest is read and dropped */
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

/* ---- the request ------------------------------------------------------------------ */

static enum MHD_Result begin(otlp_receiver *rcv, struct MHD_Connection *conn, const char *url,
                             const char *method, http_req *r)
{
    const char *ct_header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    r->ct = otlp__parse_content_type(ct_header);
    if (strcmp(url, OTLP_PATH) != 0) {
        r->ct = OTLP__CT_NONE;
        return respond_error(rcv, conn, r, MHD_HTTP_NOT_FOUND, OTLP__GRPC_NOT_FOUND,
                             "not found: OTLP profiles are accepted at POST " OTLP_PATH);
    }
    if (strcmp(method, "POST") != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "method %.32s not allowed: use POST " OTLP_PATH, method);
        return respond_error(rcv, conn, r, MHD_HTTP_METHOD_NOT_ALLOWED, OTLP__GRPC_UNIMPLEMENTED,
                             msg);
    }
    if (r->ct != OTLP__CT_PROTOBUF && r->ct != OTLP__CT_JSON) {
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
    }
    return MHD_YES;
}

static void append(otlp_receiver *rcv, http_req *r, const char *data, size_t n)
{
    size_t max = (size_t)rcv->cfg.max_message_size;
    if (r->too_large)
        return;
    if (n > max - r->len) {
        r->too_large = true;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        return;
    }
    if (r->len + n > r->cap) {
        size_t ncap = r->cap ? r->cap : BODY_FIRST_CHUNK;
        while (ncap < r->len + n)
            ncap = ncap > max / 2 ? max : ncap * 2;
        if (ncap > max)
            ncap = max;
        uint8_t *nb = realloc(r->body, ncap ? ncap : 1);
        if (!nb) {
            /* treated like too large: the answer is the same 413 */
            r->too_large = true;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return;
        }
        r->body = nb;
        r->cap = ncap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

static enum MHD_Result finish(otlp_receiver *rcv, struct MHD_Connection *conn, http_req *r)
{
    char msg[1200] = "";
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
        if (rc == BASE_ERR_TOO_LARGE)
            return respond_error(rcv, conn, r, MHD_HTTP_CONTENT_TOO_LARGE,
                                 OTLP__GRPC_RESOURCE_EXHAUSTED, msg);
        if (rc == BASE_ERR_DECODE)
            return respond_error(rcv, conn, r, MHD_HTTP_BAD_REQUEST, OTLP__GRPC_INVALID_ARGUMENT,
                                 msg);
        if (rc != BASE_OK)
            return respond_error(rcv, conn, r, MHD_HTTP_INTERNAL_SERVER_ERROR, OTLP__GRPC_INTERNAL,
                                 "out of memory while decompressing");
        /* the compressed body is no longer needed: give its memory back before decoding */
        free(r->body);
        r->body = NULL;
        data = inflated;
        len = ilen;
    }
    base_arena arena;
    base_arena_init(&arena, (size_t)64 << 10, rcv->arena_cap);
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
    } else if (rc == BASE_ERR_DECODE) {
        ret = respond_error(rcv, conn, r, MHD_HTTP_BAD_REQUEST, OTLP__GRPC_INVALID_ARGUMENT, msg);
    } else if (rc == BASE_ERR_TOO_LARGE) {
        ret = respond_error(rcv, conn, r, MHD_HTTP_CONTENT_TOO_LARGE, OTLP__GRPC_RESOURCE_EXHAUSTED,
                            msg);
    } else {
        ret =
            respond_error(rcv, conn, r, MHD_HTTP_SERVICE_UNAVAILABLE, OTLP__GRPC_UNAVAILABLE, msg);
    }
    base_arena_free(&arena);
    return ret;
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
    return finish(rcv, conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    otlp_receiver *rcv = cls;
    http_req *r = *con_cls;
    if (!r)
        return;
    free(r->body);
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
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    if (is_ipv6)
        flags |= MHD_USE_IPv6;
    h->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, rcv, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_THREAD_POOL_SIZE, POOL_THREADS, MHD_OPTION_CONNECTION_TIMEOUT,
                         CONNECTION_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, rcv, MHD_OPTION_END);
    if (!h->daemon) {
        close(fd);
        h->port = 0;
        snprintf(err, err_len, "cannot listen on %s: libmicrohttpd did not start", rcv->http_addr);
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
    free(h);
    rcv->http = NULL;
}

int otlp__http_port(const otlp_receiver *rcv)
{
    return rcv->http ? rcv->http->port : 0;
}
