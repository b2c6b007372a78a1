/* receiver/grpc.c — OTLP/gRPC on the gRPC core C API.
 *
 * One registered method (Export), N completion-queue threads; each thread owns its CQ,
 * keeps several request_registered_call()s outstanding and serves the calls it is handed
 * synchronously (decode + ingest are CPU-bound, nothing to overlap), with one arena reset
 * per call. The core reads the whole request message for us
 * (GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER) and enforces GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH
 * on the wire; gzip is inflated here under the same cap (read_compressed).
 */
#include "receiver/receiver_internal.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXPORT_METHOD        "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
#define CALLS_PER_CQ         4
#define UNKNOWN_CALLS_PER_CQ 1
#define MAX_SEND_MESSAGE     (4 << 20) /* responses are tiny; this only bounds mistakes */
#define SHUTDOWN_GRACE_NS    (5 * (int64_t)1000000000)
#define ARENA_FIRST_BLOCK    ((size_t)256 << 10)

/* TAG_UNKNOWN_CALL: a call to a method we did not register. The core leaves such calls
 * waiting for a grpc_server_request_call(); without one outstanding they would hang until
 * their deadline, so each CQ keeps one and answers UNIMPLEMENTED. */
typedef enum tag_kind { TAG_NEW_CALL, TAG_UNKNOWN_CALL, TAG_BATCH, TAG_SHUTDOWN } tag_kind;

struct worker;

typedef struct call_ctx {
    tag_kind kind; /* first: every tag starts with its kind */
    struct worker *w;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details_in; /* unknown calls only */
    bool unknown;
    grpc_byte_buffer *payload;
    grpc_byte_buffer *response;
    grpc_slice details;
    bool has_details;
    int cancelled;
} call_ctx;

struct worker {
    struct otlp__grpc *g;
    grpc_completion_queue *cq;
    pthread_t thread;
    bool thread_started;
    base_arena arena;
};

struct otlp__grpc {
    otlp_receiver *rcv;
    grpc_server *server;
    void *method;
    bool server_started;
    int port;
    int n_workers;
    struct worker *workers;
    tag_kind shutdown_tag;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool shutdown_done;
    _Atomic bool stopping;
    bool shutdown_begun;         /* otlp__grpc_begin_stop ran */
    struct timespec grace_until; /* CLOCK_REALTIME end of the in-flight calls' grace */
};

static void ctx_free(call_ctx *ctx)
{
    if (ctx->call)
        grpc_call_unref(ctx->call);
    if (ctx->payload)
        grpc_byte_buffer_destroy(ctx->payload);
    if (ctx->response)
        grpc_byte_buffer_destroy(ctx->response);
    if (ctx->has_details)
        grpc_slice_unref(ctx->details);
    grpc_metadata_array_destroy(&ctx->md);
    if (ctx->unknown)
        grpc_call_details_destroy(&ctx->details_in);
    free(ctx);
}

static void request_call(struct worker *w)
{
    struct otlp__grpc *g = w->g;
    if (atomic_load(&g->stopping))
        return;
    call_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        base_log(BASE_LOG_ERROR, "otlp/grpc: out of memory, serving one call fewer");
        return;
    }
    ctx->kind = TAG_NEW_CALL;
    ctx->w = w;
    grpc_metadata_array_init(&ctx->md);
    grpc_call_error e =
        grpc_server_request_registered_call(g->server, g->method, &ctx->call, &ctx->deadline,
                                            &ctx->md, &ctx->payload, w->cq, w->cq, ctx);
    if (e != GRPC_CALL_OK) {
        base_log(BASE_LOG_ERROR, "otlp/grpc: cannot request a call (%d)", (int)e);
        ctx_free(ctx);
    }
}

static void request_unknown_call(struct worker *w)
{
    struct otlp__grpc *g = w->g;
    if (atomic_load(&g->stopping))
        return;
    call_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return;
    ctx->kind = TAG_UNKNOWN_CALL;
    ctx->unknown = true;
    ctx->w = w;
    grpc_metadata_array_init(&ctx->md);
    grpc_call_details_init(&ctx->details_in);
    grpc_call_error e = grpc_server_request_call(g->server, &ctx->call, &ctx->details_in, &ctx->md,
                                                 w->cq, w->cq, ctx);
    if (e != GRPC_CALL_OK) {
        base_log(BASE_LOG_ERROR, "otlp/grpc: cannot request a call (%d)", (int)e);
        ctx_free(ctx);
    }
}

/* The core's own decompression (1.51) inflates a whole message before it compares the
 * size with GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, so a 1 MB gzip of zeros costs a GiB; it
 * is switched off (GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION 0) and the message is
 * inflated here with the cap applied while inflating. grpc_byte_buffer_reader_init would
 * inflate without a cap, so the compressed slices are read directly. */
static base_err read_compressed(grpc_byte_buffer *bb, size_t max, uint8_t **out, size_t *out_len,
                                char *err, size_t err_len)
{
    grpc_compression_algorithm alg = bb->data.raw.compression;
    if (alg != GRPC_COMPRESS_GZIP && alg != GRPC_COMPRESS_DEFLATE) {
        snprintf(err, err_len, "unsupported grpc-encoding (algorithm %d): use gzip or identity",
                 (int)alg);
        return BASE_ERR_DECODE;
    }
    const grpc_slice_buffer *sb = &bb->data.raw.slice_buffer;
    if (sb->length > max) {
        snprintf(err, err_len, "message is larger than --max-message-size (%zu bytes)", max);
        return BASE_ERR_TOO_LARGE;
    }
    uint8_t *z = malloc(sb->length ? sb->length : 1);
    if (!z)
        return BASE_ERR_NOMEM;
    size_t len = 0;
    for (size_t i = 0; i < sb->count; i++) {
        size_t n = GRPC_SLICE_LENGTH(sb->slices[i]);
        if (n > sb->length - len) { /* the slices disagree with the buffer's length */
            free(z);
            snprintf(err, err_len, "cannot read the request message");
            return BASE_ERR_DECODE;
        }
        if (n)
            memcpy(z + len, GRPC_SLICE_START_PTR(sb->slices[i]), n);
        len += n;
    }
    base_err rc = otlp__gunzip(z, len, max, out, out_len, err, err_len);
    free(z);
    return rc;
}

/* Copies the message out of `bb` (inflating it when compressed), refusing more than `max`. */
static base_err read_payload(grpc_byte_buffer *bb, size_t max, uint8_t **out, size_t *out_len,
                             char *err, size_t err_len)
{
    *out = NULL;
    *out_len = 0;
    if (bb->type == GRPC_BB_RAW && bb->data.raw.compression != GRPC_COMPRESS_NONE)
        return read_compressed(bb, max, out, out_len, err, err_len);
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb)) {
        snprintf(err, err_len, "cannot read the request message (bad compression?)");
        return BASE_ERR_DECODE;
    }
    size_t hint = grpc_byte_buffer_length(bb);
    size_t cap = hint < max ? hint : max;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) {
        grpc_byte_buffer_reader_destroy(&reader);
        return BASE_ERR_NOMEM;
    }
    size_t len = 0;
    base_err rc = BASE_OK;
    grpc_slice s;
    while (grpc_byte_buffer_reader_next(&reader, &s)) {
        size_t n = GRPC_SLICE_LENGTH(s);
        if (n > max - len) {
            grpc_slice_unref(s);
            snprintf(err, err_len, "message is larger than --max-message-size (%zu bytes)", max);
            rc = BASE_ERR_TOO_LARGE;
            break;
        }
        if (len + n > cap) {
            size_t ncap = cap > max / 2 ? max : cap * 2;
            if (ncap < len + n)
                ncap = len + n;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                grpc_slice_unref(s);
                rc = BASE_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        if (n)
            memcpy(buf + len, GRPC_SLICE_START_PTR(s), n);
        len += n;
        grpc_slice_unref(s);
    }
    grpc_byte_buffer_reader_destroy(&reader);
    if (rc != BASE_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return BASE_OK;
}

static void serve(struct worker *w, call_ctx *ctx)
{
    otlp_receiver *rcv = w->g->rcv;
    atomic_fetch_add(&rcv->requests_grpc, 1);
    base_arena_reset(&w->arena);

    grpc_status_code status = GRPC_STATUS_OK;
    char err[1200] = ""; /* not BASE_ERR_LEN: may carry a tr_result.error_message (1 KiB) */
    tr_result res;
    if (ctx->unknown) {
        status = GRPC_STATUS_UNIMPLEMENTED;
        size_t mlen = GRPC_SLICE_LENGTH(ctx->details_in.method);
        snprintf(err, sizeof err, "unknown method %.*s: this server implements " EXPORT_METHOD,
                 (int)(mlen > 200 ? 200 : mlen),
                 (const char *)GRPC_SLICE_START_PTR(ctx->details_in.method));
    } else if (!ctx->payload) {
        status = GRPC_STATUS_INVALID_ARGUMENT;
        snprintf(err, sizeof err, "the call carries no request message");
    } else {
        uint8_t *buf = NULL;
        size_t len = 0;
        /* The core has read (and inflated) the whole message before the call reaches us,
         * so the in-flight budget can only be checked now, before our copy and the decode:
         * a refusal spares those and tells the exporter to come back (UNAVAILABLE is
         * retryable in OTLP), but the core's buffer was already spent. */
        uint64_t held = grpc_byte_buffer_length(ctx->payload);
        base_err rc = BASE_OK;
        if (!otlp__budget_reserve(&rcv->budget, held)) {
            status = GRPC_STATUS_UNAVAILABLE;
            snprintf(err, sizeof err,
                     "server busy: requests in flight hold --max-inflight-bytes (%llu bytes); "
                     "retry later",
                     (unsigned long long)rcv->budget.limit);
        } else {
            rc = read_payload(ctx->payload, (size_t)rcv->cfg.max_message_size, &buf, &len, err,
                              sizeof err);
            /* our contiguous copy is what gets decoded: the core's can go now */
            grpc_byte_buffer_destroy(ctx->payload);
            ctx->payload = NULL;
            if (rc == BASE_OK) {
                rc = otlp__handle(rcv, "grpc", buf, len, false, &w->arena, &res, err, sizeof err);
                free(buf);
            }
            otlp__budget_release(&rcv->budget, held);
        }
        if (status == GRPC_STATUS_OK && rc != BASE_OK) {
            status = (grpc_status_code)otlp__status_of(rc).grpc; /* the table both share */
            if (!err[0])
                snprintf(err, sizeof err, "%s", base_err_str(rc));
        }
    }

    if (status == GRPC_STATUS_OK) {
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (otlp__encode_response_pb(&res, &w->arena, &out, &out_len) == BASE_OK) {
            grpc_slice slice = grpc_slice_from_copied_buffer((const char *)out, out_len);
            ctx->response = grpc_raw_byte_buffer_create(&slice, 1);
            grpc_slice_unref(slice);
        } else {
            status = (grpc_status_code)otlp__status_of(BASE_ERR_NOMEM).grpc;
            snprintf(err, sizeof err, "out of memory encoding the response");
        }
    }
    if (status != GRPC_STATUS_OK) {
        otlp__count_failed(rcv, "grpc", err);
        ctx->details = grpc_slice_from_copied_string(err);
        ctx->has_details = true;
    }

    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].data.send_initial_metadata.count = 0;
    n++;
    if (ctx->response) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = ctx->response;
        n++;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.trailing_metadata_count = 0;
    ops[n].data.send_status_from_server.status = status;
    ops[n].data.send_status_from_server.status_details = ctx->has_details ? &ctx->details : NULL;
    n++;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n].data.recv_close_on_server.cancelled = &ctx->cancelled;
    n++;
    ctx->kind = TAG_BATCH;
    grpc_call_error e = grpc_call_start_batch(ctx->call, ops, n, ctx, NULL);
    if (e != GRPC_CALL_OK) {
        base_log(BASE_LOG_ERROR, "otlp/grpc: cannot answer a call (%d)", (int)e);
        ctx_free(ctx);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct otlp__grpc *g = w->g;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE || !ev.tag)
            continue;
        tag_kind kind = *(tag_kind *)ev.tag;
        if (kind == TAG_SHUTDOWN) {
            pthread_mutex_lock(&g->mu);
            g->shutdown_done = true;
            pthread_cond_broadcast(&g->cv);
            pthread_mutex_unlock(&g->mu);
            continue;
        }
        call_ctx *ctx = ev.tag;
        if (kind == TAG_BATCH || !ev.success) {
            /* a finished call, or a request the shutting-down server will never fill */
            ctx_free(ctx);
            continue;
        }
        /* keep the number of outstanding requests constant */
        if (kind == TAG_UNKNOWN_CALL)
            request_unknown_call(w);
        else
            request_call(w);
        serve(w, ctx);
    }
    return NULL;
}

/* Why a bind failed, for the error message (the core only logs it). */
static void describe_bind_failure(const char *addr, bool tls, char *err, size_t err_len)
{
    int fd = base_listen_tcp(addr, NULL, NULL, err, err_len);
    if (fd >= 0) {
        close(fd);
        /* the port is free: with TLS it is the credentials the core refused */
        if (tls)
            snprintf(err, err_len,
                     "cannot listen on %s with TLS: the certificate, key or client CA was "
                     "refused (see the grpc log lines above)",
                     addr);
        else
            snprintf(err, err_len, "cannot listen on %s", addr);
    }
}

/* For a CQ no thread polls (start failed half-way): frees what is left on it. */
static void drain_cq(struct otlp__grpc *g, grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE && ev.tag && ev.tag != &g->shutdown_tag)
            ctx_free(ev.tag);
    }
}

/* The core's own log lines go through base_log, so they honour --log-level and look
 * like ours; its errors repeat what we report (e.g. a failed bind) and go out as warnings.
 * Peers can make the core log (one line per failed TLS handshake), so its warnings are
 * limited to one a second, the next one saying how many were left out. */
static _Atomic int64_t grpc_last_warn_ns = INT64_MIN / 2;
static _Atomic uint64_t grpc_suppressed;

static void grpc_log_to_base(gpr_log_func_args *args)
{
    const char *msg = args->message ? args->message : "";
    if (args->severity != GPR_LOG_SEVERITY_ERROR) {
        base_log(BASE_LOG_DEBUG, "grpc: %s", msg);
        return;
    }
    int64_t now = base_now_mono_ns();
    int64_t last = atomic_load(&grpc_last_warn_ns);
    if (now - last < 1000000000 ||
        !atomic_compare_exchange_strong(&grpc_last_warn_ns, &last, now)) {
        atomic_fetch_add(&grpc_suppressed, 1);
        return;
    }
    uint64_t skipped = atomic_exchange(&grpc_suppressed, 0);
    if (skipped)
        base_log(BASE_LOG_WARN, "grpc: %s (%llu similar lines suppressed)", msg,
                 (unsigned long long)skipped);
    else
        base_log(BASE_LOG_WARN, "grpc: %s", msg);
}

base_err otlp__grpc_start(otlp_receiver *rcv, char *err, size_t err_len)
{
    struct otlp__grpc *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, err_len, "otlp/grpc: out of memory");
        return BASE_ERR_NOMEM;
    }
    rcv->grpc = g;
    g->rcv = rcv;
    g->shutdown_tag = TAG_SHUTDOWN;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    gpr_set_log_function(grpc_log_to_base);
    grpc_init();

    grpc_arg args[4];
    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = (int)rcv->cfg.max_message_size;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = MAX_SEND_MESSAGE;
    /* Without this, Linux SO_REUSEPORT lets a second daemon "bind" a port in use. */
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
    args[2].value.integer = 0;
    /* read_compressed() inflates with the size cap; the core would inflate without one */
    args[3].type = GRPC_ARG_INTEGER;
    args[3].key = (char *)GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION;
    args[3].value.integer = 0;
    grpc_channel_args cargs = {.num_args = 4, .args = args};
    g->server = grpc_server_create(&cargs, NULL);
    if (!g->server) {
        snprintf(err, err_len, "otlp/grpc: cannot create the server");
        return BASE_ERR_IO;
    }
    g->method = grpc_server_register_method(g->server, EXPORT_METHOD, NULL,
                                            GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    g->n_workers = rcv->cfg.grpc_threads;
    g->workers = calloc((size_t)g->n_workers, sizeof *g->workers);
    if (!g->method || !g->workers) {
        snprintf(err, err_len, "otlp/grpc: cannot register the Export method");
        return BASE_ERR_NOMEM;
    }
    for (int i = 0; i < g->n_workers; i++) {
        struct worker *w = &g->workers[i];
        w->g = g;
        w->cq = grpc_completion_queue_create_for_next(NULL);
        base_arena_init(&w->arena, ARENA_FIRST_BLOCK, rcv->arena_cap);
        base_arena_set_retain(&w->arena, OTLP__ARENA_RETAIN);
        grpc_server_register_completion_queue(g->server, w->cq, NULL);
    }
    grpc_server_credentials *creds;
    if (rcv->cfg.tls_cert_pem || rcv->cfg.tls_key_pem) {
        if (!rcv->cfg.tls_cert_pem || !rcv->cfg.tls_key_pem) {
            snprintf(err, err_len, "otlp/grpc: TLS needs both a certificate and its key");
            return BASE_ERR_BAD_ARGUMENT;
        }
        grpc_ssl_pem_key_cert_pair pair = {.private_key = rcv->cfg.tls_key_pem,
                                           .cert_chain = rcv->cfg.tls_cert_pem};
        /* With a client CA the handshake itself refuses clients without a certificate
         * that CA signed: such a client never reaches a call. */
        const char *ca = rcv->cfg.tls_client_ca_pem;
        creds = grpc_ssl_server_credentials_create_ex(
            ca, &pair, 1,
            ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
               : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            NULL);
    } else {
        creds = grpc_insecure_server_credentials_create();
    }
    if (!creds) {
        snprintf(err, err_len, "otlp/grpc: cannot create the server credentials");
        return BASE_ERR_BAD_ARGUMENT;
    }
    g->port = grpc_server_add_http2_port(g->server, rcv->grpc_addr, creds);
    grpc_server_credentials_release(creds);
    if (g->port <= 0) {
        g->port = 0;
        describe_bind_failure(rcv->grpc_addr, rcv->cfg.tls_cert_pem != NULL, err, err_len);
        return BASE_ERR_IO;
    }
    grpc_server_start(g->server);
    g->server_started = true;
    for (int i = 0; i < g->n_workers; i++) {
        struct worker *w = &g->workers[i];
        for (int k = 0; k < CALLS_PER_CQ; k++)
            request_call(w);
        for (int k = 0; k < UNKNOWN_CALLS_PER_CQ; k++)
            request_unknown_call(w);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err, err_len, "otlp/grpc: cannot start a thread");
            return BASE_ERR_IO;
        }
        w->thread_started = true;
    }
    return BASE_OK;
}

void otlp__grpc_begin_stop(otlp_receiver *rcv)
{
    struct otlp__grpc *g = rcv->grpc;
    if (!g || g->shutdown_begun || !g->server || !g->server_started ||
        !g->workers[0].thread_started)
        return;
    atomic_store(&g->stopping, true);
    clock_gettime(CLOCK_REALTIME, &g->grace_until);
    g->grace_until.tv_sec += SHUTDOWN_GRACE_NS / 1000000000;
    grpc_server_shutdown_and_notify(g->server, g->workers[0].cq, &g->shutdown_tag);
    g->shutdown_begun = true;
}

void otlp__grpc_stop(otlp_receiver *rcv)
{
    struct otlp__grpc *g = rcv->grpc;
    if (!g)
        return;
    atomic_store(&g->stopping, true);
    if (g->server) {
        if (g->server_started) {
            if (!g->workers[0].thread_started) {
                grpc_server_shutdown_and_notify(g->server, g->workers[0].cq, &g->shutdown_tag);
                /* nobody polls the first CQ: cancel and pluck the tag ourselves */
                grpc_server_cancel_all_calls(g->server);
                for (;;) {
                    grpc_event ev = grpc_completion_queue_next(
                        g->workers[0].cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
                    if (ev.type == GRPC_QUEUE_SHUTDOWN || ev.tag == &g->shutdown_tag)
                        break;
                    if (ev.type == GRPC_OP_COMPLETE && ev.tag)
                        ctx_free(ev.tag);
                }
            } else {
                /* in-flight calls get a grace period to finish, then are cancelled */
                otlp__grpc_begin_stop(rcv);
                pthread_mutex_lock(&g->mu);
                while (!g->shutdown_done) {
                    if (pthread_cond_timedwait(&g->cv, &g->mu, &g->grace_until) != 0)
                        break;
                }
                bool done = g->shutdown_done;
                pthread_mutex_unlock(&g->mu);
                if (!done) {
                    grpc_server_cancel_all_calls(g->server);
                    pthread_mutex_lock(&g->mu);
                    while (!g->shutdown_done)
                        pthread_cond_wait(&g->cv, &g->mu);
                    pthread_mutex_unlock(&g->mu);
                }
            }
        }
        grpc_server_destroy(g->server);
    }
    if (g->workers) {
        for (int i = 0; i < g->n_workers; i++) {
            struct worker *w = &g->workers[i];
            if (!w->cq)
                continue;
            if (w->thread_started) {
                grpc_completion_queue_shutdown(w->cq);
                pthread_join(w->thread, NULL);
            } else {
                drain_cq(g, w->cq);
            }
            grpc_completion_queue_destroy(w->cq);
            base_arena_free(&w->arena);
        }
        free(g->workers);
    }
    grpc_shutdown();
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
    rcv->grpc = NULL;
}

int otlp__grpc_port(const otlp_receiver *rcv)
{
    return rcv->grpc ? rcv->grpc->port : 0;
}
