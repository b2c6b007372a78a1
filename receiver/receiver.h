/* receiver/receiver.h — the OTLP profiles listeners: gRPC (4317) and HTTP (4318).
 *
 * Purpose: accept ExportProfilesServiceRequest over
 *   - gRPC, on the gRPC core C API: /opentelemetry.proto.collector.profiles.v1development.
 *     ProfilesService/Export, gzip handled by the core, several completion-queue threads;
 *   - HTTP/1.1, on libmicrohttpd: POST /v1development/profiles with
 *     Content-Type application/x-protobuf or application/json (parameters ignored) and
 *     Content-Encoding gzip or none; the response uses the request's content type;
 *   - on the same HTTP listener, Grafana Pyroscope's push API: POST /ingest with a pprof
 *     (raw with format=pprof, or the multipart/form-data part "profile"), name=APP{labels},
 *     from/until, X-Scope-OrgID; converted by translate/ and then handled exactly as an
 *     OTLP request (same limits, budget and counters), answered as Pyroscope answers.
 * Both decode with a per-request arena, check --max-message-size after decompression
 * (413 / RESOURCE_EXHAUSTED), answer 400 / INVALID_ARGUMENT when a request does not
 * decode, 415 for other content types, 405 for other methods, and hand decoded requests
 * to translate/ (partial success carries rejected_profiles and error_message).
 *
 * Thread-safety: otlp_receiver_start/stop are called from one (the main) thread. The
 * listeners run their own threads; counters are atomics and otlp_receiver_stats may be
 * called from any thread at any time.
 *
 * Ownership: the receiver borrows the store and the log (which must outlive it) and copies
 * the config. otlp_receiver_stop waits for in-flight requests and frees everything.
 */
#ifndef OTELPROFD_RECEIVER_H
#define OTELPROFD_RECEIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "log/log.h"
#include "window/window.h"

typedef struct otlp_receiver otlp_receiver;

typedef struct otlp_receiver_config {
    const char *grpc_addr;     /* "127.0.0.1:4317", "0.0.0.0:4317", or NULL/"off" */
    const char *http_addr;     /* "127.0.0.1:4318", or NULL/"off" */
    uint64_t max_message_size; /* bytes, after decompression; default 64 MiB */
    int grpc_threads;          /* completion-queue threads; default 2 */
    /* request bytes held at once over both transports (HTTP bodies as they arrive, gRPC
     * messages the core has read); 0 = 4 x max_message_size; raised to max_message_size */
    uint64_t max_inflight_bytes;
    /* TLS for both listeners: PEM text (not file names), borrowed and read during
     * otlp_receiver_start only. Cert and key together, or neither (plaintext). With
     * tls_client_ca_pem set, clients must present a certificate that CA signed (mTLS):
     * gRPC refuses others in the handshake, HTTP closes their connection unanswered. */
    const char *tls_cert_pem;      /* server certificate chain, leaf first */
    const char *tls_key_pem;       /* its private key */
    const char *tls_client_ca_pem; /* NULL: no client certificates asked for */
    /* The log accepted requests are appended to before they are acknowledged (borrowed;
     * must outlive the receiver). NULL: none (requests go to the store only). A request the
     * log cannot keep (BASE_ERR_UNAVAILABLE: disk full, unwritable) is answered 503 /
     * UNAVAILABLE and not applied to the store; one it kept is then applied to the store in
     * the request thread, so the partial-success answer says what the windows did. */
    log_store *log;
    /* The windows are fed from the log by another path (--nats: every node's records come
     * back through the stream): a request is validated, appended when any profile of it is
     * valid, and not applied to the store here. The answer's partial success then names
     * the rejected profiles; what the windows drop later cannot be said. */
    bool log_only;
} otlp_receiver_config;

typedef struct otlp_stats {
    uint64_t requests_grpc, requests_http;
    uint64_t requests_failed; /* did not decode, too large, wrong type ... */
    uint64_t bytes_received;  /* uncompressed OTLP bytes */
    uint64_t profiles_accepted, profiles_rejected;
    uint64_t samples_stored, samples_rejected, samples_too_old, samples_too_new;
    uint64_t inflight_bytes, inflight_limit; /* the shared request byte budget, now */
    uint64_t requests_throttled;             /* refused (503 / UNAVAILABLE): budget spent */
    uint64_t connections_refused;            /* OTLP/HTTP: closed at once, over the limit */
    uint64_t requests_unavailable; /* refused (503 / UNAVAILABLE): the log could not keep them */
} otlp_stats;

/* Starts the configured listeners. Returns NULL and fills `err` (e.g. "cannot listen on
 * 127.0.0.1:4317: address in use") when one cannot start. */
otlp_receiver *otlp_receiver_start(const otlp_receiver_config *cfg, win_store *store, char *err,
                                   size_t err_len);
/* Stops accepting, lets in-flight requests finish (or fail cleanly), frees everything. */
void otlp_receiver_stop(otlp_receiver *rcv);
void otlp_receiver_stats(const otlp_receiver *rcv, otlp_stats *out);

/* The actual port a listener bound (useful with ":0"); 0 if off. */
int otlp_receiver_grpc_port(const otlp_receiver *rcv);
int otlp_receiver_http_port(const otlp_receiver *rcv);

#endif
