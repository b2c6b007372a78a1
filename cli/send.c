/* cli/send.c — `otelprofd send`: pprof files to any OTLP profiles receiver (gRPC through
 * the gRPC core C API, or OTLP/HTTP through libcurl), and the --demo preload of the bundled
 * example profiles into a store. */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/compression.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <zlib.h>

#include "base/base.h"
#include "cli/cli.h"
#include "translate/translate.h"

#define MAX_RESOURCE     64
#define MAX_FILE_BYTES   ((size_t)256 << 20)
#define MAX_RESPONSE     ((size_t)1 << 20)
#define EXPORT_METHOD    "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
#define HTTP_EXPORT_PATH "/v1development/profiles"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
    export_response;

typedef struct send_opts {
    const char *endpoint;
    bool http;
    bool time_now; /* --time-now: stamp the profiles with the send time */
    int64_t timeout_ns;
    int retries;
    win_attr resource[MAX_RESOURCE + 1];
    size_t n_resource;
    bool has_service_name;
    /* TLS: --tls-ca switches both transports to TLS; --tls-cert/--tls-key add a client
     * certificate. Paths for libcurl, PEM text for gRPC (which takes no file names). */
    const char *tls_ca, *tls_cert, *tls_key;
    char *tls_ca_pem, *tls_cert_pem, *tls_key_pem;
} send_opts;

void cli_send_usage(FILE *out)
{
    fprintf(
        out,
        "usage: otelprofd send [--endpoint HOST:PORT] [--http] [--resource KEY=VALUE]...\n"
        "                      [--timeout 10s] [--retries 3] [--time-now]\n"
        "                      [--tls-ca FILE [--tls-cert FILE --tls-key FILE]] FILE.pprof...\n\n"
        "Converts pprof files (gzipped or not) to OTLP profiles, one OTLP profile per\n"
        "sample type, and exports each file as one request to an OTLP profiles receiver:\n"
        "gRPC (default endpoint 127.0.0.1:4317, gzip) or, with --http, OTLP/HTTP\n"
        "protobuf (POST http://HOST:PORT%s, default endpoint 127.0.0.1:4318).\n"
        "--resource adds a resource attribute (repeatable); service.name defaults to the\n"
        "file name up to its first dot (compress_flate.cpu.pb.gz -> compress_flate).\n"
        "Times come from the pprof (time_nanos), else now; --time-now stamps every profile\n"
        "with the send time (a receiver with a short retention drops old profiles).\n"
        "--tls-ca FILE (PEM) sends over TLS (gRPC with TLS, or https://) and trusts only\n"
        "that CA; --tls-cert FILE --tls-key FILE (PEM) present a client certificate, for a\n"
        "receiver started with --tls-client-ca.\n"
        "UNAVAILABLE, connection refused, failed TLS handshakes\n"
        "and HTTP 503/429 are retried with backoff (--retries times, 0.2 s doubling).\n"
        "Prints per file \"sent FILE: N profiles, M samples; accepted\", or \"accepted\n"
        "with a warning: ...\" when the receiver kept some samples but not all (e.g. too\n"
        "old for its retention), or \"nothing stored: ...\" / the partial success.\n"
        "Exit status (the highest over the files):\n"
        "  0  accepted (also with a warning: some samples stored, some dropped)\n"
        "  1  a profile rejected, nothing of a file stored (every sample dropped, e.g.\n"
        "     older than the receiver's retention: try --time-now), or a file that\n"
        "     cannot be read or converted\n"
        "  2  usage\n"
        "  3  receiver unreachable after the retries\n",
        HTTP_EXPORT_PATH);
}

/* "dir/compress_flate.cpu.pb.gz" -> "compress_flate" (into the arena). */
static const char *service_from_path(base_arena *arena, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    if (n == 0)
        n = strlen(base);
    return base_arena_strndup(arena, base, n);
}

static uint8_t *read_file(const char *path, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        base_set_err(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, used = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        if (used == cap) {
            if (cap >= MAX_FILE_BYTES) {
                base_set_err(err, err_len, "%s is larger than %zu MiB", path, MAX_FILE_BYTES >> 20);
                free(buf);
                buf = NULL;
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + used, 1, cap - used, f);
        used += got;
        if (got == 0) {
            if (ferror(f)) {
                base_set_err(err, err_len, "cannot read %s: %s", path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    if (!buf && err && !err[0])
        base_set_err(err, err_len, "out of memory reading %s", path);
    fclose(f);
    *len = used;
    return buf;
}

/* Profiles and samples of a converted request, for the report. */
static void count_request(const tr_request *req, size_t *profiles, size_t *samples)
{
    *profiles = *samples = 0;
    for (size_t r = 0; r < req->n_resource_profiles; r++)
        for (size_t s = 0; s < req->resource_profiles[r]->n_scope_profiles; s++) {
            const Opentelemetry__Proto__Profiles__V1development__ScopeProfiles *sp =
                req->resource_profiles[r]->scope_profiles[s];
            *profiles += sp->n_profiles;
            for (size_t p = 0; p < sp->n_profiles; p++)
                *samples += sp->profiles[p]->n_samples;
        }
}

/* What to do about samples a receiver dropped for their time, or NULL. */
static const char *time_hint(const send_opts *o, const char *why)
{
    if (!strstr(why, "older than the retention") && !strstr(why, " in the future were not stored"))
        return NULL;
    return o->time_now ? "this machine's clock and the receiver's differ by more than its retention"
                       : "the profiles keep the time the pprof was recorded (time_nanos); "
                         "--time-now stamps them with the send time";
}

static void shift_times(tr_request *req, int64_t now);

/* ---- the exporter: one destination, its connection kept between requests --------- */

struct cli_exporter {
    cli_export_config cfg; /* borrowed strings */
    grpc_channel *ch;      /* gRPC: made on first use, kept */
    grpc_metadata *md;     /* gRPC: cfg.headers as metadata (lower-case keys) */
    size_t n_md;
    CURL *curl;             /* HTTP: kept for keep-alive */
    struct curl_slist *hdr; /* HTTP: content type, encoding, cfg.headers */
};

cli_exporter *cli_exporter_new(const cli_export_config *cfg)
{
    cli_exporter *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->cfg = *cfg;
    size_t n = 0;
    while (cfg->headers && cfg->headers[n])
        n++;
    if (cfg->http) {
        x->hdr = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
        struct curl_slist *h2 = x->hdr ? curl_slist_append(x->hdr, "Content-Encoding: gzip") : NULL;
        if (!h2)
            goto fail;
        x->hdr = h2;
        for (size_t i = 0; i < n; i++) {
            struct curl_slist *h = curl_slist_append(x->hdr, cfg->headers[i]);
            if (!h)
                goto fail;
            x->hdr = h;
        }
        return x;
    }
    if (n) {
        x->md = calloc(n, sizeof *x->md);
        if (!x->md)
            goto fail;
        for (size_t i = 0; i < n; i++) {
            const char *colon = strchr(cfg->headers[i], ':');
            if (!colon)
                continue;
            char key[256];
            size_t kl = (size_t)(colon - cfg->headers[i]);
            if (kl == 0 || kl >= sizeof key)
                continue;
            for (size_t k = 0; k < kl; k++) {
                char ch = cfg->headers[i][k];
                key[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
            }
            key[kl] = '\0';
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            x->md[x->n_md].key = grpc_slice_from_copied_string(key);
            x->md[x->n_md].value = grpc_slice_from_copied_string(v);
            x->n_md++;
        }
    }
    return x;
fail:
    cli_exporter_free(x);
    return NULL;
}

void cli_exporter_free(cli_exporter *x)
{
    if (!x)
        return;
    if (x->ch)
        grpc_channel_destroy(x->ch);
    for (size_t i = 0; i < x->n_md; i++) {
        grpc_slice_unref(x->md[i].key);
        grpc_slice_unref(x->md[i].value);
    }
    free(x->md);
    if (x->curl)
        curl_easy_cleanup(x->curl);
    curl_slist_free_all(x->hdr);
    free(x);
}

/* Reads the partial success of a protobuf response body into an outcome, `why` filled
 * unless everything was accepted. OTLP lets a receiver send error_message with
 * rejected_profiles 0 as a warning; otelprofd does so for samples its windows dropped, and
 * when its counts say every sample went, nothing of the file was stored. */
static cli_export_outcome partial_of(const uint8_t *body, size_t len, char *why, size_t why_len)
{
    export_response *resp =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__unpack(
            NULL, len, body);
    if (!resp) {
        snprintf(why, why_len, "the response does not decode as ExportProfilesServiceResponse");
        return CLI_EXPORT_PARTIAL;
    }
    cli_export_outcome out = CLI_EXPORT_ACCEPTED;
    const char *msg = resp->partial_success ? resp->partial_success->error_message : NULL;
    if (resp->partial_success && resp->partial_success->rejected_profiles) {
        snprintf(why, why_len, "partial success: %lld profiles rejected: %s",
                 (long long)resp->partial_success->rejected_profiles,
                 msg && msg[0] ? msg : "(no message)");
        out = CLI_EXPORT_PARTIAL;
    } else if (msg && msg[0]) {
        uint64_t dropped, of;
        bool all = tr_parse_drops(msg, &dropped, &of) && of > 0 && dropped >= of;
        snprintf(why, why_len, "%s: %s", all ? "nothing stored" : "accepted with a warning", msg);
        out = all ? CLI_EXPORT_NONE_STORED : CLI_EXPORT_WARNED;
    }
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__free_unpacked(
        resp, NULL);
    return out;
}

/* ---- gRPC ------------------------------------------------------------------------- */

static void export_grpc(cli_exporter *x, const uint8_t *body, size_t len, cli_export_result *r)
{
    const cli_export_config *o = &x->cfg;
    char *why = r->why;
    size_t why_len = sizeof r->why;
    if (!x->ch) {
        grpc_arg args[2];
        args[0].type = GRPC_ARG_INTEGER;
        args[0].key = (char *)GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM;
        args[0].value.integer = GRPC_COMPRESS_GZIP;
        args[1].type = GRPC_ARG_INTEGER;
        args[1].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
        args[1].value.integer = (int)MAX_RESPONSE;
        grpc_channel_args chargs = {.num_args = 2, .args = args};
        grpc_ssl_pem_key_cert_pair pair = {.private_key = o->tls_key_pem,
                                           .cert_chain = o->tls_cert_pem};
        grpc_channel_credentials *creds =
            o->tls ? grpc_ssl_credentials_create(o->tls_ca_pem, o->tls_cert_pem ? &pair : NULL,
                                                 NULL, NULL)
                   : grpc_insecure_credentials_create();
        x->ch = grpc_channel_create(o->target, creds, &chargs);
        grpc_channel_credentials_release(creds);
    }
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    gpr_timespec deadline = gpr_time_add(
        gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(o->timeout_ns / 1000000, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(x->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               grpc_slice_from_static_string(EXPORT_METHOD), NULL,
                                               deadline, NULL);
    grpc_slice payload = grpc_slice_from_copied_buffer((const char *)body, len);
    grpc_byte_buffer *send_bb = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_slice_unref(payload);
    grpc_metadata_array md_initial, md_trailing;
    grpc_metadata_array_init(&md_initial);
    grpc_metadata_array_init(&md_trailing);
    grpc_byte_buffer *recv_bb = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = x->n_md;
    ops[0].data.send_initial_metadata.metadata = x->md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv_bb;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &md_trailing;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;

    r->outcome = CLI_EXPORT_REJECTED;
    grpc_call_error ce = grpc_call_start_batch(call, ops, 6, (void *)1, NULL);
    if (ce != GRPC_CALL_OK) {
        snprintf(why, why_len, "gRPC call could not start (error %d)", (int)ce);
    } else {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
            snprintf(why, why_len, "gRPC call failed");
        } else if (status == GRPC_STATUS_OK) {
            r->grpc_status = 0;
            uint8_t *resp = NULL;
            size_t resp_len = 0;
            if (recv_bb) {
                grpc_byte_buffer_reader rd;
                if (grpc_byte_buffer_reader_init(&rd, recv_bb)) {
                    grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
                    resp_len = GRPC_SLICE_LENGTH(all);
                    resp = malloc(resp_len ? resp_len : 1);
                    if (resp)
                        memcpy(resp, GRPC_SLICE_START_PTR(all), resp_len);
                    grpc_slice_unref(all);
                    grpc_byte_buffer_reader_destroy(&rd);
                }
            }
            if (!resp && recv_bb)
                snprintf(why, why_len, "out of memory reading the response");
            else
                r->outcome = partial_of(resp, resp_len, why, why_len);
            free(resp);
        } else {
            r->grpc_status = (int)status;
            char *msg = grpc_slice_to_c_string(details);
            snprintf(why, why_len, "gRPC status %d%s%s", (int)status, msg && msg[0] ? ": " : "",
                     msg ? msg : "");
            gpr_free(msg);
            if (status == GRPC_STATUS_UNAVAILABLE)
                r->outcome = CLI_EXPORT_RETRYABLE;
        }
    }
    grpc_byte_buffer_destroy(send_bb);
    if (recv_bb)
        grpc_byte_buffer_destroy(recv_bb);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&md_initial);
    grpc_metadata_array_destroy(&md_trailing);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

/* ---- OTLP/HTTP ---------------------------------------------------------------------- */

typedef struct membuf {
    uint8_t *data;
    size_t len;
    bool too_large;
} membuf;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    membuf *b = user;
    size_t n = size * nmemb;
    if (b->len + n > MAX_RESPONSE) {
        b->too_large = true;
        return 0;
    }
    uint8_t *nd = realloc(b->data, b->len + n + 1);
    if (!nd)
        return 0;
    memcpy(nd + b->len, ptr, n);
    b->data = nd;
    b->len += n;
    b->data[b->len] = 0;
    return n;
}

/* Retry-After: delay-seconds (the HTTP-date form is rare for OTLP receivers and read as
 * absent, which falls back to the exponential backoff). Capped at 5 minutes. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *user)
{
    cli_export_result *r = user;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
        char num[32] = {0};
        size_t i = sizeof name - 1, k = 0;
        while (i < n && ptr[i] == ' ')
            i++;
        while (i < n && k < sizeof num - 1 && ptr[i] >= '0' && ptr[i] <= '9')
            num[k++] = ptr[i++];
        if (k) {
            long long secs = atoll(num);
            if (secs > 300)
                secs = 300;
            r->retry_after_ns = secs * 1000000000LL;
        }
    }
    return n;
}

static int on_progress(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    const _Atomic bool *cancel = user;
    return cancel && atomic_load(cancel) ? 1 : 0;
}

static uint8_t *gzip_bytes(const uint8_t *in, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return NULL;
    size_t cap = deflateBound(&zs, (uLong)len) + 32;
    uint8_t *out = malloc(cap);
    if (!out) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int r = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static void export_http(cli_exporter *x, const uint8_t *body, size_t len, cli_export_result *r)
{
    const cli_export_config *o = &x->cfg;
    char *why = r->why;
    size_t why_len = sizeof r->why;
    r->outcome = CLI_EXPORT_REJECTED;
    size_t gz_len = 0;
    uint8_t *gz = gzip_bytes(body, len, &gz_len);
    if (!gz) {
        snprintf(why, why_len, "cannot gzip the request");
        r->outcome = CLI_EXPORT_RETRYABLE; /* out of memory: ours, not the request's */
        return;
    }
    if (!x->curl)
        x->curl = curl_easy_init();
    CURL *c = x->curl;
    membuf resp = {0};
    if (!c || !x->hdr) {
        snprintf(why, why_len, "cannot set up libcurl");
        r->outcome = CLI_EXPORT_RETRYABLE;
        goto done;
    }
    curl_easy_setopt(c, CURLOPT_URL, o->target);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)gz);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)gz_len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(o->timeout_ns / 1000000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (o->cancel) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)(uintptr_t)o->cancel);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    if (o->tls_ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, o->tls_ca_file);
    if (o->tls_cert_file) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, o->tls_cert_file);
        curl_easy_setopt(c, CURLOPT_SSLKEY, o->tls_key_file);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(why, why_len, "%s: %s", o->target,
                 resp.too_large ? "response too large" : curl_easy_strerror(rc));
        /* a failed TLS handshake counts as unreachable, as gRPC reports it UNAVAILABLE */
        if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
            rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_GOT_NOTHING ||
            rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
            rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_ABORTED_BY_CALLBACK)
            r->outcome = CLI_EXPORT_RETRYABLE;
        goto done;
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    r->http_status = code;
    if (code == 200) {
        r->outcome = partial_of(resp.data, resp.len, why, why_len);
    } else {
        snprintf(why, why_len, "HTTP %ld from %s", code, o->target);
        if (code == 503 || code == 429)
            r->outcome = CLI_EXPORT_RETRYABLE;
    }
done:
    free(resp.data);
    free(gz);
}

void cli_export(cli_exporter *x, const uint8_t *body, size_t len, cli_export_result *out)
{
    memset(out, 0, sizeof *out);
    out->grpc_status = -1;
    if (x->cfg.http)
        export_http(x, body, len, out);
    else
        export_grpc(x, body, len, out);
}

/* ---- the command ------------------------------------------------------------------- */

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Returns 0 accepted, 1 rejected/partial or unreadable, 3 unreachable. */
static int send_file(const send_opts *o, const char *path)
{
    char err[1024] = "";
    size_t len = 0;
    uint8_t *pp = read_file(path, &len, err, sizeof err);
    if (!pp) {
        fprintf(stderr, "otelprofd: send: %s\n", err);
        return 1;
    }
    base_arena arena;
    base_arena_init(&arena, 1 << 20, 0);
    win_attr res[MAX_RESOURCE + 1];
    memcpy(res, o->resource, o->n_resource * sizeof *res);
    size_t n_res = o->n_resource;
    if (!o->has_service_name)
        res[n_res++] = (win_attr){"service.name", service_from_path(&arena, path)};
    uint8_t *otlp = NULL;
    size_t otlp_len = 0;
    tr_request *req = NULL;
    base_err rc = tr_pprof_to_otlp(pp, len, res, n_res, base_now_unix_ns(), &arena, &otlp,
                                   &otlp_len, err, sizeof err);
    free(pp);
    if (rc == BASE_OK)
        rc = tr_decode_protobuf(otlp, otlp_len, &arena, &req, err, sizeof err);
    if (rc != BASE_OK) {
        fprintf(stderr, "otelprofd: send: %s: %s\n", path, err);
        base_arena_free(&arena);
        return 1;
    }
    if (rc == BASE_OK && o->time_now) {
        shift_times(req, base_now_unix_ns());
        otlp_len = protobuf_c_message_get_packed_size(&req->base);
        otlp = base_arena_alloc(&arena, otlp_len ? otlp_len : 1);
        if (!otlp) {
            fprintf(stderr, "otelprofd: send: %s: out of memory\n", path);
            base_arena_free(&arena);
            return 1;
        }
        protobuf_c_message_pack(&req->base, otlp);
    }
    size_t n_profiles, n_samples;
    count_request(req, &n_profiles, &n_samples);

    static cli_export_result answer; /* one at a time: the command is single-threaded */
    char *why = answer.why;
    cli_export_outcome out = CLI_EXPORT_RETRYABLE;
    int64_t backoff_ms = 200;
    char url[600];
    snprintf(url, sizeof url, "%s://%s%s", o->tls_ca ? "https" : "http", o->endpoint,
             HTTP_EXPORT_PATH);
    cli_export_config xc = {.http = o->http,
                            .target = o->http ? url : o->endpoint,
                            .tls = o->tls_ca != NULL,
                            .tls_ca_file = o->tls_ca,
                            .tls_cert_file = o->tls_cert,
                            .tls_key_file = o->tls_key,
                            .tls_ca_pem = o->tls_ca_pem,
                            .tls_cert_pem = o->tls_cert_pem,
                            .tls_key_pem = o->tls_key_pem,
                            .timeout_ns = o->timeout_ns};
    cli_exporter *x = cli_exporter_new(&xc);
    if (!x) {
        fprintf(stderr, "otelprofd: send: %s: out of memory\n", path);
        base_arena_free(&arena);
        return 1;
    }
    for (int attempt = 0; attempt <= o->retries; attempt++) {
        if (attempt > 0) {
            fprintf(stderr, "otelprofd: send: %s: %s; retry %d of %d in %lld ms\n", path, why,
                    attempt, o->retries, (long long)backoff_ms);
            sleep_ms(backoff_ms);
            backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
        }
        cli_export(x, otlp, otlp_len, &answer);
        out = answer.outcome;
        if (out != CLI_EXPORT_RETRYABLE)
            break;
    }
    cli_exporter_free(x);
    base_arena_free(&arena);
    const char *hint = NULL;
    switch (out) {
    case CLI_EXPORT_ACCEPTED:
        printf("sent %s: %zu profiles, %zu samples; accepted\n", path, n_profiles, n_samples);
        return 0;
    case CLI_EXPORT_WARNED:
    case CLI_EXPORT_NONE_STORED:
    case CLI_EXPORT_PARTIAL:
    case CLI_EXPORT_REJECTED:
        printf("sent %s: %zu profiles, %zu samples; %s\n", path, n_profiles, n_samples, why);
        if ((hint = time_hint(o, why)) != NULL)
            fprintf(stderr, "otelprofd: send: %s: hint: %s\n", path, hint);
        return out == CLI_EXPORT_WARNED ? 0 : 1;
    case CLI_EXPORT_RETRYABLE:
        break;
    }
    fprintf(stderr, "otelprofd: send: %s: receiver %s unreachable after %d retries: %s\n", path,
            o->endpoint, o->retries, why);
    return CLI_EXIT_UNREACHABLE;
}

/* A PEM file (capped at 1 MiB) as a NUL-terminated string, or NULL after saying why. */
static char *read_pem(const char *flag, const char *path)
{
    enum { MAX_PEM = 1 << 20 };
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "otelprofd: send: %s %s: cannot open: %s\n", flag, path, strerror(errno));
        return NULL;
    }
    char *buf = malloc((size_t)MAX_PEM + 1);
    size_t n = buf ? fread(buf, 1, (size_t)MAX_PEM + 1, f) : 0;
    int read_errno = errno;
    bool bad = !buf || ferror(f) || n > MAX_PEM;
    fclose(f);
    if (!bad) {
        buf[n] = '\0';
        bad = strlen(buf) != n || !strstr(buf, "-----BEGIN ");
        if (bad)
            read_errno = 0;
    }
    if (bad) {
        fprintf(stderr, "otelprofd: send: %s %s: %s\n", flag, path,
                read_errno ? strerror(read_errno) : "not a PEM file");
        free(buf);
        return NULL;
    }
    return buf;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "otelprofd: send: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try otelprofd send --help)\n");
    return CLI_EXIT_USAGE;
}

int cli_send(int argc, char **argv, int first)
{
    send_opts o = {.timeout_ns = 10 * 1000000000LL, .retries = 3};
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files)
        return 1;
    size_t n_files = 0;
    int rc = CLI_EXIT_USAGE;
    for (int a = first; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_send_usage(stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(arg, "--http") == 0) {
            o.http = true;
            continue;
        }
        if (strcmp(arg, "--time-now") == 0) {
            o.time_now = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            files[n_files++] = arg;
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const char *v = eq ? eq + 1 : (a + 1 < argc ? argv[++a] : NULL);
#define IS(flag) (nl == strlen(flag) && strncmp(name, flag, nl) == 0)
        if (!IS("endpoint") && !IS("resource") && !IS("timeout") && !IS("retries") &&
            !IS("tls-ca") && !IS("tls-cert") && !IS("tls-key")) {
            usage_error("unknown option \"%s\"", arg);
            goto out;
        }
        if (!v) {
            usage_error("%s needs a value", arg);
            goto out;
        }
        if (IS("endpoint")) {
            char host[256];
            int port;
            if (base_split_host_port(v, host, sizeof host, &port) != 0 || !host[0] || port == 0) {
                usage_error("--endpoint \"%s\": use HOST:PORT, e.g. 127.0.0.1:4317", v);
                goto out;
            }
            o.endpoint = v;
        } else if (IS("resource")) {
            const char *e = strchr(v, '=');
            if (!e || e == v) {
                usage_error("--resource \"%s\": use KEY=VALUE", v);
                goto out;
            }
            if (o.n_resource == MAX_RESOURCE) {
                usage_error("%s: at most 64 --resource", v);
                goto out;
            }
            /* argv outlives the command; the key is cut out of a copy */
            char *key = strndup(v, (size_t)(e - v));
            if (!key) {
                rc = 1;
                goto out;
            }
            o.has_service_name |= strcmp(key, "service.name") == 0;
            o.resource[o.n_resource++] = (win_attr){key, e + 1};
        } else if (IS("tls-ca")) {
            o.tls_ca = v;
        } else if (IS("tls-cert")) {
            o.tls_cert = v;
        } else if (IS("tls-key")) {
            o.tls_key = v;
        } else if (IS("timeout")) {
            if (base_parse_duration(v, &o.timeout_ns) != 0 || o.timeout_ns < 1000000) {
                usage_error("--timeout \"%s\": use a duration like 10s or 500ms", v);
                goto out;
            }
        } else {
            char *end;
            errno = 0;
            long r = strtol(v, &end, 10);
            if (errno || end == v || *end || r < 0 || r > 100) {
                usage_error("--retries \"%s\": use a number from 0 to 100", v);
                goto out;
            }
            o.retries = (int)r;
        }
#undef IS
    }
    if (n_files == 0) {
        usage_error("%s", "no pprof file given");
        goto out;
    }
    if (!o.endpoint)
        o.endpoint = o.http ? "127.0.0.1:4318" : "127.0.0.1:4317";
    if (!o.tls_cert != !o.tls_key) {
        usage_error("%s: a client certificate needs both --tls-cert and --tls-key",
                    o.tls_cert ? o.tls_cert : o.tls_key);
        goto out;
    }
    if (o.tls_cert && !o.tls_ca) {
        usage_error("%s: --tls-cert needs --tls-ca (the CA that signed the receiver's certificate)",
                    o.tls_cert);
        goto out;
    }
    if ((o.tls_ca && !(o.tls_ca_pem = read_pem("--tls-ca", o.tls_ca))) ||
        (o.tls_cert && !(o.tls_cert_pem = read_pem("--tls-cert", o.tls_cert))) ||
        (o.tls_key && !(o.tls_key_pem = read_pem("--tls-key", o.tls_key))))
        goto out;
    grpc_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = 0;
    for (size_t i = 0; i < n_files; i++) {
        int r = send_file(&o, files[i]);
        if (r > rc)
            rc = r;
    }
    curl_global_cleanup();
    grpc_shutdown();
out:
    for (size_t i = 0; i < o.n_resource; i++)
        free((char *)o.resource[i].key);
    free(o.tls_ca_pem);
    free(o.tls_cert_pem);
    if (o.tls_key_pem) {
        explicit_bzero(o.tls_key_pem, strlen(o.tls_key_pem));
        free(o.tls_key_pem);
    }
    free(files);
    return rc;
}

/* ---- --demo ----------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Stamps every profile of a converted request (one pprof: one collection time) with `now`. */
static void shift_times(tr_request *req, int64_t now)
{
    for (size_t r = 0; r < req->n_resource_profiles; r++)
        for (size_t s = 0; s < req->resource_profiles[r]->n_scope_profiles; s++) {
            const Opentelemetry__Proto__Profiles__V1development__ScopeProfiles *sp =
                req->resource_profiles[r]->scope_profiles[s];
            for (size_t p = 0; p < sp->n_profiles; p++)
                sp->profiles[p]->time_unix_nano = (uint64_t)now;
        }
}

int cli_demo_load(win_store *store, const char *dir, cli_demo_stats *stored)
{
    DIR *d = opendir(dir);
    if (!d) {
        base_log(BASE_LOG_ERROR, "--demo: cannot open %s: %s (set OTELPROFD_DEMO_DIR)", dir,
                 strerror(errno));
        return -1;
    }
    char *names[64];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 64) {
        size_t l = strlen(de->d_name);
        if (l > 6 && strcmp(de->d_name + l - 6, ".pb.gz") == 0 && (names[n] = strdup(de->d_name)))
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int loaded = 0;
    int64_t now = base_now_unix_ns();
    for (size_t i = 0; i < n; i++) {
        char path[4096], err[1024] = "";
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        uint8_t *pp = read_file(path, &len, err, sizeof err);
        base_arena arena;
        base_arena_init(&arena, 1 << 20, 0);
        win_attr res[] = {{"service.name", service_from_path(&arena, names[i])}};
        uint8_t *otlp = NULL;
        size_t otlp_len = 0;
        tr_request *req = NULL;
        tr_result tres;
        memset(&tres, 0, sizeof tres);
        base_err rc =
            pp ? tr_pprof_to_otlp(pp, len, res, 1, now, &arena, &otlp, &otlp_len, err, sizeof err)
               : BASE_ERR_IO;
        free(pp);
        if (rc == BASE_OK)
            rc = tr_decode_protobuf(otlp, otlp_len, &arena, &req, err, sizeof err);
        if (rc == BASE_OK) {
            /* a second back: the current bucket is then already queryable */
            shift_times(req, now - 1000000000);
            rc = tr_ingest(store, req, otlp, otlp_len, now, &arena, &tres);
            /* valid profiles are stored even when a neighbour was not: count what is held */
            stored->profiles += tres.profiles_accepted;
            stored->samples += tres.samples_stored;
        }
        if (rc != BASE_OK || tres.profiles_rejected) {
            base_log(BASE_LOG_WARN, "--demo: %s not loaded: %s", path,
                     rc != BASE_OK ? err : tres.error_message);
        } else {
            base_log(BASE_LOG_INFO,
                     "--demo: loaded %s as service.name=%s (%llu profiles, %llu samples)", names[i],
                     res[0].value, (unsigned long long)tres.profiles_accepted,
                     (unsigned long long)tres.samples_stored);
            loaded++;
        }
        base_arena_free(&arena);
        free(names[i]);
    }
    if (!loaded)
        base_log(BASE_LOG_WARN, "--demo: no profile loaded from %s", dir);
    return loaded;
}
