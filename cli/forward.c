/* cli/forward.c — --forward: every accepted request sent on as OTLP to another receiver
 * (Grafana Pyroscope, an OTel Collector, another otelprofd).
 *
 * Each destination is a consumer of the log with its own cursor and its own thread: it
 * reads the next record, sends it (cli_export: gRPC or OTLP/HTTP, gzip), and commits the
 * record once the destination answered. Retryable failures (UNAVAILABLE, RESOURCE_EXHAUSTED,
 * DEADLINE_EXCEEDED, ABORTED, HTTP 429/502/503/504, connection failures) are retried with
 * exponential backoff from 100 ms to 30 s, or after the answer's Retry-After; a permanent
 * rejection (INVALID_ARGUMENT, 400, ...) is logged, counted as failed and skipped; a partial
 * success is logged and counts as sent. With --data-dir the cursor is on disk and a
 * restarted daemon resumes after the last record the destination acknowledged: at least
 * once (a record sent just before a crash, not yet committed, is sent again). Without it
 * the memory log keeps up to --forward-queue bytes for the slowest destination, oldest
 * dropped first (counted). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <grpc/grpc.h>

#include "base/base.h"
#include "cli/cli.h"

#define FORWARD_DEFAULT_PATH "/v1development/profiles"

struct cli_forwarder {
    char *url;         /* as given */
    char *target;      /* gRPC: HOST:PORT; HTTP: the full URL with the default path */
    char *tls_ca_file; /* HTTP */
    char *tls_ca_pem;  /* gRPC */
    char **headers;    /* "K: V", NULL-terminated */
    cli_export_config xc;
    log_consumer *consumer;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic bool stop;
};

typedef enum scheme { S_BAD, S_GRPC, S_GRPCS, S_HTTP, S_HTTPS } scheme;

static scheme scheme_of(const char *url, const char **rest)
{
    static const struct {
        const char *prefix;
        scheme s;
    } t[] = {
        {"grpc://", S_GRPC}, {"grpcs://", S_GRPCS}, {"http://", S_HTTP}, {"https://", S_HTTPS}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (strncmp(url, t[i].prefix, strlen(t[i].prefix)) == 0) {
            *rest = url + strlen(t[i].prefix);
            return t[i].s;
        }
    return S_BAD;
}

int cli_forward_check_url(const char *url, char *err, size_t err_len)
{
    const char *rest = NULL;
    scheme s = scheme_of(url, &rest);
    if (s == S_BAD || !rest[0] || strlen(url) > 1000) {
        base_set_err(err, err_len,
                     "--forward \"%.200s\": use grpc://HOST:PORT, grpcs://HOST:PORT, "
                     "http://HOST:PORT[/PATH] or https://HOST:PORT[/PATH]",
                     url);
        return -1;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            base_set_err(err, err_len, "--forward \"%.200s\": no spaces or control characters",
                         url);
            return -1;
        }
    if (s == S_GRPC || s == S_GRPCS) {
        char host[256];
        int port;
        if (strchr(rest, '/') || base_split_host_port(rest, host, sizeof host, &port) != 0 ||
            !host[0] || port == 0) {
            base_set_err(err, err_len, "--forward \"%.200s\": a gRPC destination is HOST:PORT",
                         url);
            return -1;
        }
    }
    return 0;
}

/* A PEM file (capped at 1 MiB) as a string, or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(((size_t)1 << 20) + 1);
    size_t n = buf ? fread(buf, 1, (size_t)1 << 20, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* The consumer's name: the destination, made of the characters a name may hold, so that a
 * restarted daemon finds the same cursor for the same URL whatever the order of --forward. */
static void consumer_name(char *out, size_t n, const char *url)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = url; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    char clean[40];
    size_t k = 0;
    for (const char *p = strstr(url, "://") ? strstr(url, "://") + 3 : url; *p && k < 39; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
        clean[k++] = ok ? ch : '_';
    }
    clean[k] = '\0';
    snprintf(out, n, "forward-%s-%08llx", clean, (unsigned long long)(h & 0xffffffffu));
}

static bool retryable(const cli_export_result *r)
{
    if (r->outcome == CLI_EXPORT_RETRYABLE)
        return true;
    if (r->outcome != CLI_EXPORT_REJECTED)
        return false;
    switch (r->grpc_status) {
    case 1:  /* CANCELLED */
    case 4:  /* DEADLINE_EXCEEDED */
    case 8:  /* RESOURCE_EXHAUSTED */
    case 10: /* ABORTED */
    case 11: /* OUT_OF_RANGE */
    case 14: /* UNAVAILABLE */
    case 15: /* DATA_LOSS */
        return true;
    default:
        break;
    }
    if (r->http_status == 429 || r->http_status == 502 || r->http_status == 503 ||
        r->http_status == 504)
        return true;
    /* no answer at all (the call failed before a status): the destination is away */
    return r->grpc_status == -1 && r->http_status == 0;
}

/* Sleeps up to `ns`, or less when stopped. */
static void nap(cli_forwarder *f, int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t t = ts.tv_nsec + ns % 1000000000;
    ts.tv_sec += (time_t)(ns / 1000000000 + t / 1000000000);
    ts.tv_nsec = (long)(t % 1000000000);
    pthread_mutex_lock(&f->mu);
    if (!atomic_load(&f->stop))
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    pthread_mutex_unlock(&f->mu);
}

static void *forward_main(void *arg)
{
    cli_forwarder *f = arg;
    cli_exporter *x = cli_exporter_new(&f->xc);
    if (!x) {
        base_log(BASE_LOG_ERROR, "forward %s: out of memory; not forwarding", f->url);
        return NULL;
    }
    cli_export_result *res = malloc(sizeof *res);
    int64_t last_warn = 0;
    while (res && !atomic_load(&f->stop)) {
        log_record rec;
        char err[512] = "";
        base_err rc = log_consumer_next(f->consumer, 1000000000, &rec, err, sizeof err);
        if (rc == BASE_ERR_NOT_FOUND)
            continue;
        if (rc != BASE_OK) {
            base_log(BASE_LOG_WARN, "forward %s: cannot read the log: %s", f->url, err);
            nap(f, 1000000000);
            continue;
        }
        int64_t backoff = CLI_FORWARD_BACKOFF_MIN_NS;
        for (;;) {
            cli_export(x, rec.data, rec.len, res);
            if (!retryable(res))
                break;
            log_consumer_count(f->consumer, 0, 1, 0);
            int64_t now = base_now_mono_ns();
            if (now - last_warn > 10000000000LL) { /* one line per 10 s while it is away */
                last_warn = now;
                base_log(BASE_LOG_WARN, "forward %s: %s; retrying (backlog kept)", f->url,
                         res->why);
            }
            if (atomic_load(&f->stop))
                goto out; /* not committed: sent again after a restart (with --data-dir) */
            nap(f, res->retry_after_ns > backoff ? res->retry_after_ns : backoff);
            if (atomic_load(&f->stop))
                goto out;
            backoff =
                backoff * 2 > CLI_FORWARD_BACKOFF_MAX_NS ? CLI_FORWARD_BACKOFF_MAX_NS : backoff * 2;
        }
        switch (res->outcome) {
        case CLI_EXPORT_ACCEPTED:
        case CLI_EXPORT_WARNED:
        case CLI_EXPORT_NONE_STORED:
            log_consumer_count(f->consumer, 1, 0, 0);
            break;
        case CLI_EXPORT_PARTIAL:
            base_log(BASE_LOG_WARN, "forward %s: request %llu: %s", f->url,
                     (unsigned long long)rec.seq, res->why);
            log_consumer_count(f->consumer, 1, 0, 0);
            break;
        default:
            base_log(BASE_LOG_WARN, "forward %s: request %llu rejected, dropped: %s", f->url,
                     (unsigned long long)rec.seq, res->why);
            log_consumer_count(f->consumer, 0, 0, 1);
            break;
        }
        if (log_consumer_commit(f->consumer, rec.seq, err, sizeof err) != BASE_OK)
            base_log(BASE_LOG_WARN, "forward %s: cannot store the cursor: %s", f->url, err);
    }
out:
    free(res);
    cli_exporter_free(x);
    return NULL;
}

static void forwarder_free(cli_forwarder *f)
{
    if (!f)
        return;
    log_consumer_close(f->consumer);
    for (size_t i = 0; f->headers && f->headers[i]; i++)
        free(f->headers[i]);
    free(f->headers);
    free(f->url);
    free(f->target);
    free(f->tls_ca_file);
    free(f->tls_ca_pem);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}

cli_forwarder *cli_forward_start(log_store *log, const cli_forward_config *cfg, char *err,
                                 size_t err_len)
{
    if (cli_forward_check_url(cfg->url, err, err_len) != 0)
        return NULL;
    cli_forwarder *f = calloc(1, sizeof *f);
    if (!f) {
        base_set_err(err, err_len, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    const char *rest = NULL;
    scheme s = scheme_of(cfg->url, &rest);
    size_t n_headers = 0;
    while (cfg->headers && cfg->headers[n_headers])
        n_headers++;
    f->url = strdup(cfg->url);
    f->headers = calloc(n_headers + 1, sizeof *f->headers);
    if (!f->url || !f->headers)
        goto nomem;
    for (size_t i = 0; i < n_headers; i++) {
        const char *eq = strchr(cfg->headers[i], '=');
        if (!eq || eq == cfg->headers[i]) {
            base_set_err(err, err_len, "--forward-header \"%.200s\": use NAME=VALUE",
                         cfg->headers[i]);
            forwarder_free(f);
            return NULL;
        }
        size_t kl = (size_t)(eq - cfg->headers[i]);
        for (size_t k = 0; k < kl; k++) {
            char ch = cfg->headers[i][k];
            bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
            if (!ok) {
                base_set_err(err, err_len, "--forward-header \"%.200s\": a bad header name",
                             cfg->headers[i]);
                forwarder_free(f);
                return NULL;
            }
        }
        for (const char *p = eq + 1; *p; p++)
            if (*p == '\r' || *p == '\n') {
                base_set_err(err, err_len, "--forward-header: no line breaks in a value");
                forwarder_free(f);
                return NULL;
            }
        size_t n = strlen(cfg->headers[i]) + 2;
        if (!(f->headers[i] = malloc(n)))
            goto nomem;
        snprintf(f->headers[i], n, "%.*s: %s", (int)kl, cfg->headers[i], eq + 1);
    }
    if (s == S_GRPC || s == S_GRPCS) {
        f->target = strdup(rest);
    } else {
        bool has_path = strchr(rest, '/') != NULL;
        size_t n = strlen(cfg->url) + sizeof FORWARD_DEFAULT_PATH;
        if ((f->target = malloc(n)))
            snprintf(f->target, n, "%s%s", cfg->url, has_path ? "" : FORWARD_DEFAULT_PATH);
    }
    if (!f->target)
        goto nomem;
    if (cfg->tls_ca_file) {
        if (!(f->tls_ca_file = strdup(cfg->tls_ca_file)))
            goto nomem;
        if (s == S_GRPCS && !(f->tls_ca_pem = read_text(cfg->tls_ca_file))) {
            base_set_err(err, err_len, "--forward-tls-ca %s: cannot read it", cfg->tls_ca_file);
            forwarder_free(f);
            return NULL;
        }
    }
    f->xc = (cli_export_config){.http = s == S_HTTP || s == S_HTTPS,
                                .target = f->target,
                                .tls = s == S_GRPCS,
                                .tls_ca_file = f->tls_ca_file,
                                .tls_ca_pem = f->tls_ca_pem,
                                .headers = (const char *const *)f->headers,
                                .timeout_ns = CLI_FORWARD_TIMEOUT_NS,
                                .cancel = &f->stop};
    char name[LOG_CONSUMER_NAME_MAX];
    consumer_name(name, sizeof name, cfg->url);
    /* a destination seen for the first time gets what arrives from now on; a known one
     * resumes at its cursor (--data-dir) */
    log_position pos = {.from = LOG_FROM_CURSOR, .time_unix_ns = base_now_unix_ns()};
    f->consumer = log_consumer_open(log, name, &pos, err, err_len);
    if (!f->consumer) {
        forwarder_free(f);
        return NULL;
    }
    log_consumer_set_target(f->consumer, cfg->url);
    if (pthread_create(&f->thread, NULL, forward_main, f) != 0) {
        base_set_err(err, err_len, "cannot start a thread");
        forwarder_free(f);
        return NULL;
    }
    return f;
nomem:
    base_set_err(err, err_len, "out of memory");
    forwarder_free(f);
    return NULL;
}

void cli_forward_stop(cli_forwarder *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, true);
    pthread_mutex_lock(&f->mu);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    log_consumer_wake(f->consumer);
    pthread_join(f->thread, NULL);
    forwarder_free(f);
}

void cli_forward_init(void)
{
    grpc_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void cli_forward_cleanup(void)
{
    curl_global_cleanup();
    grpc_shutdown();
}
