/* receiver/receiver_internal.h — what the receiver/ files share with each other (not public).
 *
 * codec.c holds the pure helpers (content types, bounded gunzip, response encoding); it
 * references neither translate/ nor gRPC so unit tests link it alone. receiver.c owns the
 * receiver struct, counters and the decode+ingest path both transports share; grpc.c and
 * http.c are the two listeners.
 */
#ifndef OTELPROFD_RECEIVER_INTERNAL_H
#define OTELPROFD_RECEIVER_INTERNAL_H

/* Each gRPC worker keeps up to this much arena between requests (base_arena_set_retain): a
 * 1-16 MB request decodes into tens of MiB, and blocks that large handed back to malloc go
 * back to the kernel, so every such request paid page faults on fresh memory again
 * (bench/ingest.sh, large class). The benchmarks use the same figure. */
#define OTLP__ARENA_RETAIN ((size_t)32 << 20)

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "receiver/receiver.h"
#include "translate/translate.h"

/* gRPC status codes used here (values fixed by the gRPC spec; grpc.h not needed). */
enum {
    OTLP__GRPC_OK = 0,
    OTLP__GRPC_INVALID_ARGUMENT = 3,
    OTLP__GRPC_NOT_FOUND = 5,
    OTLP__GRPC_PERMISSION_DENIED = 7,
    OTLP__GRPC_RESOURCE_EXHAUSTED = 8,
    OTLP__GRPC_UNIMPLEMENTED = 12,
    OTLP__GRPC_INTERNAL = 13,
    OTLP__GRPC_UNAVAILABLE = 14,
};

/* One answer per kind of failure, for both transports, so an exporter retries (or not)
 * the same way whichever it speaks. OTLP's rules: a retryable failure is UNAVAILABLE / 503
 * (with Retry-After); RESOURCE_EXHAUSTED is retried only with RetryInfo, which otelprofd
 * does not send, so it is kept for what is too large to ever succeed (413). Out of memory
 * is the server's momentary state, not the request's fault: retryable. */
typedef struct otlp__status {
    unsigned http; /* HTTP status code */
    int grpc;      /* gRPC status code (also carried in an OTLP/HTTP Status body) */
} otlp__status;
otlp__status otlp__status_of(base_err kind);

/* ---- codec.c ----------------------------------------------------------------- */

typedef enum otlp__content_type {
    OTLP__CT_NONE,     /* header missing or empty */
    OTLP__CT_PROTOBUF, /* application/x-protobuf */
    OTLP__CT_JSON,     /* application/json */
    OTLP__CT_OTHER,
} otlp__content_type;

/* Media type of a Content-Type header, parameters ignored, case-insensitive. */
otlp__content_type otlp__parse_content_type(const char *header);

typedef enum otlp__encoding {
    OTLP__ENC_IDENTITY, /* missing, empty or "identity" */
    OTLP__ENC_GZIP,
    OTLP__ENC_OTHER,
} otlp__encoding;

otlp__encoding otlp__parse_content_encoding(const char *header);

/* Inflates a gzip (or zlib) stream of `len` bytes into a malloc'd buffer of at most
 * `max_out` bytes, stopping as soon as the output would pass it. Returns BASE_OK and
 * takes *out (free with free()), BASE_ERR_TOO_LARGE when the output passes `max_out`,
 * BASE_ERR_DECODE (with `err`) on corrupt or truncated input, BASE_ERR_NOMEM. */
base_err otlp__gunzip(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len,
                      char *err, size_t err_len);

/* ExportProfilesServiceResponse as protobuf: partial_success is present only when a
 * profile was rejected or translate/ left a message. Allocated from `arena`. */
base_err otlp__encode_response_pb(const tr_result *res, base_arena *arena, uint8_t **out,
                                  size_t *out_len);
/* The same as OTLP/JSON: {} or {"partialSuccess":{"rejectedProfiles":"N",...}}. */
base_err otlp__encode_response_json(const tr_result *res, base_arena *arena, char **out,
                                    size_t *out_len);
/* google.rpc.Status{code, message} as protobuf (hand-encoded) or JSON. */
base_err otlp__encode_status_pb(int code, const char *message, base_arena *arena, uint8_t **out,
                                size_t *out_len);
base_err otlp__encode_status_json(int code, const char *message, base_arena *arena, char **out,
                                  size_t *out_len);

/* ---- budget.c ------------------------------------------------------------------ */

/* The in-flight byte budget both listeners share: a request reserves the bytes it holds
 * (an HTTP body by Content-Length, or as it grows; a gRPC message once the core has read
 * it) and releases them when it ends, so 256 slow uploads cannot pin 256 x 64 MiB. A
 * reservation that does not fit is refused whole (nothing is taken), and the caller
 * answers 503 / UNAVAILABLE. Lock-free; safe from any thread. */
typedef struct otlp__budget {
    _Atomic uint64_t used;
    uint64_t limit;
    _Atomic uint64_t refused; /* reservations refused */
} otlp__budget;

void otlp__budget_init(otlp__budget *b, uint64_t limit);
/* Takes `n` bytes if used + n stays within the limit; false (and counts a refusal) if not. */
bool otlp__budget_reserve(otlp__budget *b, uint64_t n);
/* Gives back `n` bytes taken by otlp__budget_reserve (n = 0 is a no-op). */
void otlp__budget_release(otlp__budget *b, uint64_t n);
uint64_t otlp__budget_used(const otlp__budget *b);

/* ---- receiver.c -------------------------------------------------------------- */

struct otlp__grpc;
struct otlp__http;

struct otlp_receiver {
    otlp_receiver_config cfg; /* copy; the strings below own the addresses */
    char *grpc_addr, *http_addr;
    win_store *store;
    size_t arena_cap; /* per-request decode budget, ~4x max_message_size */
    struct otlp__grpc *grpc;
    struct otlp__http *http;

    _Atomic uint64_t requests_grpc, requests_http, requests_failed, bytes_received;
    _Atomic uint64_t profiles_accepted, profiles_rejected;
    _Atomic uint64_t samples_stored, samples_rejected, samples_too_old, samples_too_new;
    otlp__budget budget;                   /* cfg.max_inflight_bytes */
    _Atomic uint64_t connections_refused;  /* OTLP/HTTP connections over the limit */
    _Atomic uint64_t requests_unavailable; /* the log could not keep them */
};

/* Decodes `len` bytes (protobuf, or OTLP/JSON when `json`) with `arena` and ingests them.
 * Counts bytes/profiles/samples and logs rejections (rate-limited). Returns BASE_OK with
 * `res` filled, BASE_ERR_DECODE / BASE_ERR_TOO_LARGE / BASE_ERR_NOMEM with `err` filled.
 * The caller counts the request itself (and a failure with otlp__count_failed). */
base_err otlp__handle(otlp_receiver *rcv, const char *transport, const uint8_t *buf, size_t len,
                      bool json, base_arena *arena, tr_result *res, char *err, size_t err_len);
void otlp__count_failed(otlp_receiver *rcv, const char *transport, const char *why);

/* ---- pyroscope.c --------------------------------------------------------------- */

/* Pyroscope's push API on the OTLP/HTTP listener: POST /ingest?name=APP{k=v,...}&from=..
 * with a pprof body, raw or as the multipart/form-data part "profile" (the Go, Node.js,
 * Python, Ruby, .NET and Rust SDKs). Parsing is here, pure (no MHD); http.c routes. */
#define OTLP__PYRO_PATH "/ingest"
/* labels in one name={...}; a name carrying more is refused whole (400) */
#define OTLP__PYRO_MAX_LABELS 64
/* bytes of the name parameter (application name and labels) */
#define OTLP__PYRO_MAX_NAME 4096
/* multipart parts looked at in one body; a body with more is refused (400) */
#define OTLP__PYRO_MAX_PARTS 16

/* The query parameters /ingest reads (URL-decoded, borrowed; NULL when absent). */
typedef struct otlp__pyro_query {
    const char *name, *from, *until, *format, *spy_name;
    const char *sample_rate, *units, *aggregation_type; /* accepted; pprof carries its own */
} otlp__pyro_query;

/* A parsed push: what tr_pprof_to_otlp needs. Everything lives in the caller's arena or
 * points into the body it was parsed from. */
typedef struct otlp__pyro_push {
    win_attr resource[OTLP__PYRO_MAX_LABELS + 4]; /* service.name, labels, tenant, spy */
    size_t n_resource;
    int64_t from_ns, until_ns; /* from/until, else now */
    const uint8_t *pprof;      /* the pprof bytes (gzipped or not), inside the body */
    size_t pprof_len;
} otlp__pyro_push;

/* Pyroscope's name: "app.cpu{env=prod,region=eu}" -> service "app" (a profile-type suffix
 * such as .cpu, .alloc_objects, .wall stripped) and its labels, with Pyroscope's character
 * rules. Up to OTLP__PYRO_MAX_LABELS labels into keys/values (arena strings); a repeated
 * key keeps its last value; an empty value drops the label. BASE_ERR_BAD_ARGUMENT with
 * `err` when missing, too long or invalid. */
base_err otlp__pyro_parse_name(const char *name, base_arena *arena, const char **service,
                               const char **keys, const char **values, size_t *n_labels, char *err,
                               size_t err_len);
/* Pyroscope's from/until (attime.Parse): digits are unix seconds, or milliseconds (13
 * digits), microseconds (16), nanoseconds (19), or a YYYYMMDD date (8); "now", "now-1h"
 * and other relative forms are relative to now_ns. BASE_ERR_BAD_ARGUMENT when out of
 * range or unreadable. */
base_err otlp__pyro_parse_time(const char *text, int64_t now_ns, int64_t *out_ns);
/* The part named `part` of a multipart/form-data body whose Content-Type header is
 * `content_type` (boundary parameter). *found false when the body has no such part.
 * BASE_ERR_DECODE with `err` when the body is not well-formed multipart. */
base_err otlp__pyro_multipart_part(const char *content_type, const uint8_t *body, size_t len,
                                   const char *part, const uint8_t **out, size_t *out_len,
                                   bool *found, char *err, size_t err_len);
/* Reads a whole push: the query, the Content-Type (multipart or raw), the tenant
 * (X-Scope-OrgID, may be NULL) and the body. BASE_ERR_UNSUPPORTED (415) for a format other
 * than pprof, naming what is taken; BASE_ERR_BAD_ARGUMENT / BASE_ERR_DECODE (400) for a
 * bad name, time or multipart body. An empty profile gives BASE_OK with pprof_len 0. */
base_err otlp__pyro_prepare(const otlp__pyro_query *q, const char *content_type, const char *tenant,
                            const uint8_t *body, size_t len, int64_t now_ns, base_arena *arena,
                            otlp__pyro_push *out, char *err, size_t err_len);
/* prepare, then the pprof (inflated within max_message_size when gzipped) converted by
 * translate/ and ingested through otlp__handle, as an OTLP request would be. BASE_OK with
 * `res` filled (all zero when the profile was empty); otherwise as otlp__handle. */
base_err otlp__pyro_ingest(otlp_receiver *rcv, const otlp__pyro_query *q, const char *content_type,
                           const char *tenant, const uint8_t *body, size_t len, base_arena *arena,
                           tr_result *res, char *err, size_t err_len);

/* ---- grpc.c / http.c ----------------------------------------------------------- */

base_err otlp__grpc_start(otlp_receiver *rcv, char *err, size_t err_len);
/* Stops taking calls and starts the in-flight calls' grace period without waiting. */
void otlp__grpc_begin_stop(otlp_receiver *rcv);
void otlp__grpc_stop(otlp_receiver *rcv);
int otlp__grpc_port(const otlp_receiver *rcv);

base_err otlp__http_start(otlp_receiver *rcv, char *err, size_t err_len);
void otlp__http_stop(otlp_receiver *rcv);
int otlp__http_port(const otlp_receiver *rcv);

#endif
