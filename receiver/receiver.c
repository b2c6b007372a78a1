/* receiver/receiver.c — lifecycle, counters and the decode+ingest path shared by the gRPC
 * and HTTP listeners (see receiver.h). */
#include "receiver/receiver_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decoded protobuf-c structs take a few times the wire size (pointers, arrays, strings
 * copied); this budget bounds what one hostile request can make us allocate. */
#define ARENA_FACTOR 4
#define ARENA_SLACK  ((size_t)1 << 20)

/* default in-flight budget: a few maximal requests at once, 256 MiB at the defaults */
#define INFLIGHT_FACTOR 4

/* gRPC takes the receive limit as an int; beyond that no sane request goes anyway. */
#define MAX_MESSAGE_SIZE_CAP ((uint64_t)INT_MAX)

static bool listener_on(const char *addr)
{
    return addr && *addr && strcmp(addr, "off") != 0;
}

otlp_receiver *otlp_receiver_start(const otlp_receiver_config *cfg, win_store *store, char *err,
                                   size_t err_len)
{
    if (!cfg || !store) {
        snprintf(err, err_len, "receiver: missing configuration or store");
        return NULL;
    }
    otlp_receiver *rcv = calloc(1, sizeof *rcv);
    if (!rcv) {
        snprintf(err, err_len, "receiver: out of memory");
        return NULL;
    }
    rcv->cfg = *cfg;
    rcv->store = store;
    if (rcv->cfg.max_message_size == 0)
        rcv->cfg.max_message_size = (uint64_t)64 << 20;
    if (rcv->cfg.max_message_size > MAX_MESSAGE_SIZE_CAP)
        rcv->cfg.max_message_size = MAX_MESSAGE_SIZE_CAP;
    if (rcv->cfg.grpc_threads <= 0)
        rcv->cfg.grpc_threads = 2;
    if (rcv->cfg.grpc_threads > 64)
        rcv->cfg.grpc_threads = 64;
    rcv->arena_cap = (size_t)rcv->cfg.max_message_size * ARENA_FACTOR + ARENA_SLACK;
    /* below one largest message, a lone maximal request could never be served */
    if (rcv->cfg.max_inflight_bytes == 0)
        rcv->cfg.max_inflight_bytes = rcv->cfg.max_message_size * INFLIGHT_FACTOR;
    if (rcv->cfg.max_inflight_bytes < rcv->cfg.max_message_size)
        rcv->cfg.max_inflight_bytes = rcv->cfg.max_message_size;
    otlp__budget_init(&rcv->budget, rcv->cfg.max_inflight_bytes);

    if (listener_on(cfg->grpc_addr) && !(rcv->grpc_addr = strdup(cfg->grpc_addr)))
        goto nomem;
    if (listener_on(cfg->http_addr) && !(rcv->http_addr = strdup(cfg->http_addr)))
        goto nomem;
    rcv->cfg.grpc_addr = rcv->grpc_addr;
    rcv->cfg.http_addr = rcv->http_addr;

    if (rcv->grpc_addr && otlp__grpc_start(rcv, err, err_len) != BASE_OK) {
        otlp_receiver_stop(rcv);
        return NULL;
    }
    if (rcv->http_addr && otlp__http_start(rcv, err, err_len) != BASE_OK) {
        otlp_receiver_stop(rcv);
        return NULL;
    }
    return rcv;
nomem:
    snprintf(err, err_len, "receiver: out of memory");
    otlp_receiver_stop(rcv);
    return NULL;
}

void otlp_receiver_stop(otlp_receiver *rcv)
{
    if (!rcv)
        return;
    /* both listeners' grace periods (5 s each) run at once: a shutdown waits for the
     * slower of the two, not their sum */
    otlp__grpc_begin_stop(rcv);
    otlp__http_stop(rcv);
    otlp__grpc_stop(rcv);
    free(rcv->grpc_addr);
    free(rcv->http_addr);
    free(rcv);
}

void otlp_receiver_stats(const otlp_receiver *rcv, otlp_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!rcv)
        return;
    out->requests_grpc = atomic_load(&rcv->requests_grpc);
    out->requests_http = atomic_load(&rcv->requests_http);
    out->requests_failed = atomic_load(&rcv->requests_failed);
    out->bytes_received = atomic_load(&rcv->bytes_received);
    out->profiles_accepted = atomic_load(&rcv->profiles_accepted);
    out->profiles_rejected = atomic_load(&rcv->profiles_rejected);
    out->samples_stored = atomic_load(&rcv->samples_stored);
    out->samples_rejected = atomic_load(&rcv->samples_rejected);
    out->samples_too_old = atomic_load(&rcv->samples_too_old);
    out->samples_too_new = atomic_load(&rcv->samples_too_new);
    out->inflight_bytes = otlp__budget_used(&rcv->budget);
    out->inflight_limit = rcv->budget.limit;
    out->requests_throttled = atomic_load(&rcv->budget.refused);
    out->connections_refused = atomic_load(&rcv->connections_refused);
    out->requests_unavailable = atomic_load(&rcv->requests_unavailable);
}

int otlp_receiver_grpc_port(const otlp_receiver *rcv)
{
    return rcv ? otlp__grpc_port(rcv) : 0;
}

int otlp_receiver_http_port(const otlp_receiver *rcv)
{
    return rcv ? otlp__http_port(rcv) : 0;
}

/* ---- rate-limited warnings -------------------------------------------------------- */

/* A sender that keeps sending bad profiles must not flood stderr: one line per second,
 * and the next line says how many were left out. */
static _Atomic int64_t last_warn_ns = INT64_MIN / 2;
static _Atomic uint64_t suppressed_warnings;

static void warn_limited(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn_limited(const char *fmt, ...)
{
    int64_t now = base_now_mono_ns();
    int64_t last = atomic_load(&last_warn_ns);
    if (now - last < 1000000000 || !atomic_compare_exchange_strong(&last_warn_ns, &last, now)) {
        atomic_fetch_add(&suppressed_warnings, 1);
        return;
    }
    uint64_t skipped = atomic_exchange(&suppressed_warnings, 0);
    char line[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (skipped)
        base_log(BASE_LOG_WARN, "%s (%llu similar warnings suppressed)", line,
                 (unsigned long long)skipped);
    else
        base_log(BASE_LOG_WARN, "%s", line);
}

void otlp__count_failed(otlp_receiver *rcv, const char *transport, const char *why)
{
    atomic_fetch_add(&rcv->requests_failed, 1);
    warn_limited("otlp/%s: request failed: %s", transport, why ? why : "");
}

/* The routing key of a request for the log: the service.name all its resources share, ""
 * when they disagree or name none. Both attribute forms count (key / key_strindex, string
 * value / string_value_strindex into the request's dictionary); indices are checked. */
static const char *dict_string(const tr_request *req, int32_t idx)
{
    const Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary *d = req->dictionary;
    if (!d || idx <= 0 || (size_t)idx >= d->n_string_table)
        return NULL;
    return d->string_table[idx];
}

static const char *service_key(const tr_request *req)
{
    const char *found = NULL;
    for (size_t r = 0; r < req->n_resource_profiles; r++) {
        const Opentelemetry__Proto__Resource__V1__Resource *res =
            req->resource_profiles[r] ? req->resource_profiles[r]->resource : NULL;
        const char *name = NULL;
        for (size_t a = 0; res && a < res->n_attributes && !name; a++) {
            const Opentelemetry__Proto__Common__V1__KeyValue *kv = res->attributes[a];
            if (!kv || !kv->value)
                continue;
            const char *k = kv->key && kv->key[0] ? kv->key : dict_string(req, kv->key_strindex);
            if (!k || strcmp(k, "service.name") != 0)
                continue;
            if (kv->value->value_case ==
                OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
                name = kv->value->string_value;
            else if (kv->value->value_case ==
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX)
                name = dict_string(req, kv->value->string_value_strindex);
        }
        if (!name || (found && strcmp(found, name) != 0))
            return "";
        found = name;
    }
    return found ? found : "";
}

/* Appends the decoded request to the log (see otlp_receiver_config.log): the received
 * protobuf bytes as they are, a JSON request as the protobuf encoding of what it decoded
 * to, so the log holds one format. */
static base_err append_to_log(otlp_receiver *rcv, const tr_request *req, const uint8_t *buf,
                              size_t len, bool json, int64_t now, base_arena *arena,
                              log_ticket *ticket, char *err, size_t err_len)
{
    log_entry e = {.recv_unix_ns = now, .key = ""};
    if (log_keeps_records(rcv->cfg.log)) {
        e.key = service_key(req);
        if (json) {
            size_t n = protobuf_c_message_get_packed_size(&req->base);
            uint8_t *pb = base_arena_alloc(arena, n ? n : 1);
            if (!pb) {
                snprintf(err, err_len, "message needs more than %zu bytes to decode",
                         rcv->arena_cap);
                return BASE_ERR_TOO_LARGE;
            }
            e.data = pb;
            e.len = protobuf_c_message_pack(&req->base, pb);
        } else {
            e.data = buf;
            e.len = len;
        }
    }
    char why[512] = "";
    base_err rc = log_append_begin(rcv->cfg.log, &e, ticket, why, sizeof why);
    if (rc != BASE_OK) {
        atomic_fetch_add(&rcv->requests_unavailable, 1);
        snprintf(err, err_len, "the request could not be kept, retry later: %s", why);
        warn_limited("otlp: %s", err);
        return BASE_ERR_UNAVAILABLE;
    }
    return BASE_OK;
}

base_err otlp__handle(otlp_receiver *rcv, const char *transport, const uint8_t *buf, size_t len,
                      bool json, base_arena *arena, tr_result *res, char *err, size_t err_len)
{
    memset(res, 0, sizeof *res);
    if (len > rcv->cfg.max_message_size) {
        snprintf(err, err_len, "message of %zu bytes is larger than --max-message-size (%llu)", len,
                 (unsigned long long)rcv->cfg.max_message_size);
        return BASE_ERR_TOO_LARGE;
    }
    atomic_fetch_add(&rcv->bytes_received, len);
    tr_request *req = NULL;
    base_err rc = json ? tr_decode_json((const char *)buf, len, arena, &req, err, err_len)
                       : tr_decode_protobuf(buf, len, arena, &req, err, err_len);
    if (rc == BASE_ERR_NOMEM) {
        /* the arena cap is hit long before the machine runs out: it is the request */
        snprintf(err, err_len, "message needs more than %zu bytes to decode", rcv->arena_cap);
        return BASE_ERR_TOO_LARGE;
    }
    if (rc != BASE_OK || !req) {
        if (!err[0])
            snprintf(err, err_len, "%s", base_err_str(BASE_ERR_DECODE));
        return BASE_ERR_DECODE;
    }
    int64_t now = base_now_unix_ns();
    log_ticket ticket;
    if (rcv->cfg.log && rcv->cfg.log_only) {
        /* ingest role: validated, made durable by the log, answered; the windows are
         * elsewhere (query nodes read the log) */
        rc = tr_validate(req, json ? NULL : buf, json ? 0 : len, now, arena, res);
        if (rc != BASE_OK) {
            snprintf(err, err_len, "out of memory while validating profiles");
            return BASE_ERR_NOMEM;
        }
        if (res->profiles_accepted) {
            rc = append_to_log(rcv, req, buf, len, json, now, arena, &ticket, err, err_len);
            if (rc != BASE_OK)
                return rc;
            char why[BASE_ERR_LEN] = "";
            if (log_append_end(rcv->cfg.log, &ticket, why, sizeof why) != BASE_OK) {
                atomic_fetch_add(&rcv->requests_unavailable, 1);
                snprintf(err, err_len, "the request could not be kept, retry later: %s", why);
                warn_limited("otlp: %s", err);
                return BASE_ERR_UNAVAILABLE;
            }
        }
        atomic_fetch_add(&rcv->profiles_accepted, res->profiles_accepted);
        atomic_fetch_add(&rcv->profiles_rejected, res->profiles_rejected);
        atomic_fetch_add(&rcv->samples_rejected, res->samples_rejected);
        res->error_message[sizeof res->error_message - 1] = '\0';
        if (res->profiles_rejected)
            warn_limited("otlp/%s: rejected %llu profile(s): %s", transport,
                         (unsigned long long)res->profiles_rejected, res->error_message);
        return BASE_OK;
    }
    /* the record is written first; the windows take the request while the log makes it
     * durable (the WAL's fdatasync), and only then is the answer sent */
    bool logged = rcv->cfg.log && req->n_resource_profiles;
    if (logged && (rc = append_to_log(rcv, req, buf, len, json, now, arena, &ticket, err,
                                      err_len)) != BASE_OK)
        return rc;
    rc = tr_ingest(rcv->store, req, json ? NULL : buf, json ? 0 : len, now, arena, res);
    char why[512] = "";
    base_err kept = logged ? log_append_end(rcv->cfg.log, &ticket, why, sizeof why) : BASE_OK;
    atomic_fetch_add(&rcv->profiles_accepted, res->profiles_accepted);
    atomic_fetch_add(&rcv->profiles_rejected, res->profiles_rejected);
    atomic_fetch_add(&rcv->samples_stored, res->samples_stored);
    atomic_fetch_add(&rcv->samples_rejected, res->samples_rejected);
    atomic_fetch_add(&rcv->samples_too_old, res->samples_too_old);
    atomic_fetch_add(&rcv->samples_too_new, res->samples_too_new);
    if (kept != BASE_OK) {
        /* the windows have it, but the sender is not told "accepted": its retry counts
         * again in them (an fdatasync failure: the disk is failing) */
        atomic_fetch_add(&rcv->requests_unavailable, 1);
        snprintf(err, err_len, "the request could not be kept, retry later: %s", why);
        warn_limited("otlp: %s", err);
        return BASE_ERR_UNAVAILABLE;
    }
    if (rc != BASE_OK) {
        snprintf(err, err_len, "out of memory while storing profiles");
        return BASE_ERR_NOMEM;
    }
    res->error_message[sizeof res->error_message - 1] = '\0';
    if (res->profiles_rejected)
        warn_limited("otlp/%s: rejected %llu profile(s): %s", transport,
                     (unsigned long long)res->profiles_rejected, res->error_message);
    else if (res->error_message[0]) /* accepted, but the store dropped some samples */
        warn_limited("otlp/%s: %s", transport, res->error_message);
    return BASE_OK;
}
