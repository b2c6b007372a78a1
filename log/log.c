/* log/log.c — the generic layer of the log (see log.h): argument checks, the counters all
 * backends share, the table of open consumers, and dispatch to the backend's ops. */
#include "log/log_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const log__ops *ops_of(log_backend b)
{
    switch (b) {
    case LOG_BACKEND_MEMORY:
        return &log__memory_ops;
    case LOG_BACKEND_WAL:
        return &log__wal_ops;
    case LOG_BACKEND_NATS:
        return &log__nats_ops;
    default:
        return NULL;
    }
}

const char *log_backend_name(log_backend b)
{
    switch (b) {
    case LOG_BACKEND_MEMORY:
        return "memory";
    case LOG_BACKEND_WAL:
        return "wal";
    case LOG_BACKEND_NATS:
        return "nats";
    }
    return "unknown";
}

static bool dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return true;
    *out = strdup(s);
    return *out != NULL;
}

/* The handle and the option strings it copied. */
static void free_store(log_store *log)
{
    free(log->data_dir);
    free(log->nats_url);
    free(log->nats_stream);
    free(log->nats_subject);
    free(log->nats_creds_file);
    free(log);
}

log_store *log_open(const log_config *cfg, char *err, size_t err_len)
{
    if (!cfg || cfg->retention_ns <= 0) {
        base_set_err(err, err_len, "log: missing configuration or retention");
        return NULL;
    }
    const log__ops *ops = ops_of(cfg->backend);
    if (!ops) {
        base_set_err(err, err_len, "log: the %s backend is not built into this otelprofd",
                     log_backend_name(cfg->backend));
        return NULL;
    }
    if (cfg->backend == LOG_BACKEND_WAL && (!cfg->data_dir || !cfg->data_dir[0])) {
        base_set_err(err, err_len, "log: the wal backend needs a data directory");
        return NULL;
    }
    log_store *log = calloc(1, sizeof *log);
    if (!log) {
        base_set_err(err, err_len, "log: out of memory");
        return NULL;
    }
    log->cfg = *cfg;
    if (!dup_opt(cfg->data_dir, &log->data_dir) || !dup_opt(cfg->nats_url, &log->nats_url) ||
        !dup_opt(cfg->nats_stream, &log->nats_stream) ||
        !dup_opt(cfg->nats_subject, &log->nats_subject) ||
        !dup_opt(cfg->nats_creds_file, &log->nats_creds_file)) {
        base_set_err(err, err_len, "log: out of memory");
        goto fail;
    }
    log->cfg.data_dir = log->data_dir;
    log->cfg.nats_url = log->nats_url;
    log->cfg.nats_stream = log->nats_stream;
    log->cfg.nats_subject = log->nats_subject;
    log->cfg.nats_creds_file = log->nats_creds_file;
    if (log->cfg.memory_backlog_bytes == 0)
        log->cfg.memory_backlog_bytes = (uint64_t)256 << 20;
    if (log->cfg.sync_interval_ns <= 0)
        log->cfg.sync_interval_ns = 1000000000;
    if (log->cfg.segment_bytes == 0)
        log->cfg.segment_bytes = (uint64_t)64 << 20;
    pthread_mutex_init(&log->mu, NULL);
    log->ops = ops;
    if (ops->open(log, err, err_len) != BASE_OK) {
        pthread_mutex_destroy(&log->mu);
        goto fail;
    }
    return log;
fail:
    free_store(log);
    return NULL;
}

void log_close(log_store *log)
{
    if (!log)
        return;
    log->ops->close(log);
    pthread_mutex_destroy(&log->mu);
    free_store(log);
}

log_backend log_backend_of(const log_store *log)
{
    return log->cfg.backend;
}

bool log_keeps_records(log_store *log)
{
    if (log->cfg.backend != LOG_BACKEND_MEMORY)
        return true;
    pthread_mutex_lock(&log->mu);
    bool any = false;
    for (size_t i = 0; i < LOG__MAX_CONSUMERS && !any; i++)
        any = log->consumers[i] != NULL;
    pthread_mutex_unlock(&log->mu);
    return any;
}

struct timespec log__deadline(int64_t timeout_ns)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ns > 0) {
        int64_t ns = deadline.tv_nsec + timeout_ns % 1000000000;
        deadline.tv_sec += (time_t)(timeout_ns / 1000000000 + ns / 1000000000);
        deadline.tv_nsec = (long)(ns % 1000000000);
    }
    return deadline;
}

/* What every backend may assume of an entry: present, and no larger than a record. */
static base_err check_entry(log_store *log, const log_entry *e, char *err, size_t err_len)
{
    base_err rc = BASE_OK;
    if (!e || (!e->data && e->len)) {
        base_set_err(err, err_len, "log: missing record");
        rc = BASE_ERR_BAD_ARGUMENT;
    } else if ((uint64_t)e->len > LOG_RECORD_MAX_BYTES) {
        base_set_err(err, err_len, "log: a record of %zu bytes is larger than the log takes",
                     e->len);
        rc = BASE_ERR_TOO_LARGE;
    }
    if (rc != BASE_OK)
        atomic_fetch_add(&log->append_failures, 1);
    return rc;
}

base_err log_append(log_store *log, const log_entry *e, uint64_t *seq, char *err, size_t err_len)
{
    if (seq)
        *seq = 0;
    base_err rc0 = check_entry(log, e, err, err_len);
    if (rc0 != BASE_OK)
        return rc0;
    uint64_t s = 0;
    base_err rc = log->ops->append(log, e, &s, err, err_len);
    if (rc != BASE_OK) {
        atomic_fetch_add(&log->append_failures, 1);
        return rc;
    }
    atomic_fetch_add(&log->appends, 1);
    atomic_fetch_add(&log->append_bytes, e->len);
    if (seq)
        *seq = s;
    return BASE_OK;
}

base_err log_append_begin(log_store *log, const log_entry *e, log_ticket *t, char *err,
                          size_t err_len)
{
    t->seq = 0;
    t->len = 0;
    if (!log->ops->append_begin)
        return log_append(log, e, &t->seq, err, err_len);
    base_err rc0 = check_entry(log, e, err, err_len);
    if (rc0 != BASE_OK)
        return rc0;
    base_err rc = log->ops->append_begin(log, e, &t->seq, err, err_len);
    if (rc != BASE_OK) {
        atomic_fetch_add(&log->append_failures, 1);
        return rc;
    }
    t->len = e->len;
    return BASE_OK;
}

base_err log_append_end(log_store *log, const log_ticket *t, char *err, size_t err_len)
{
    if (!log->ops->append_begin)
        return BASE_OK; /* log_append did it all (and counted it) in begin */
    base_err rc = log->ops->append_end(log, t->seq, err, err_len);
    if (rc != BASE_OK) {
        atomic_fetch_add(&log->append_failures, 1);
        return rc;
    }
    atomic_fetch_add(&log->appends, 1);
    atomic_fetch_add(&log->append_bytes, t->len);
    return BASE_OK;
}

static bool name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= LOG_CONSUMER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return name[0] != '.';
}

log_consumer *log_consumer_open(log_store *log, const char *name, const log_position *pos,
                                char *err, size_t err_len)
{
    if (!name_ok(name)) {
        base_set_err(err, err_len,
                     "log: a consumer name is 1..%d characters of [A-Za-z0-9._-], not "
                     "starting with '.'",
                     LOG_CONSUMER_NAME_MAX - 1);
        return NULL;
    }
    log_position p = pos ? *pos : (log_position){.from = LOG_FROM_CURSOR};
    if ((p.from == LOG_FROM_TIME || p.from == LOG_FROM_CURSOR) && p.time_unix_ns == 0)
        p.time_unix_ns = base_now_unix_ns() - log->cfg.retention_ns;
    log_consumer *c = calloc(1, sizeof *c);
    if (!c) {
        base_set_err(err, err_len, "log: out of memory");
        return NULL;
    }
    c->log = log;
    snprintf(c->name, sizeof c->name, "%s", name);
    pthread_mutex_lock(&log->mu);
    size_t slot = LOG__MAX_CONSUMERS;
    for (size_t i = 0; i < LOG__MAX_CONSUMERS; i++) {
        if (log->consumers[i] && strcmp(log->consumers[i]->name, name) == 0) {
            pthread_mutex_unlock(&log->mu);
            base_set_err(err, err_len, "log: consumer %s is already open", name);
            free(c);
            return NULL;
        }
        if (!log->consumers[i] && slot == LOG__MAX_CONSUMERS)
            slot = i;
    }
    if (slot == LOG__MAX_CONSUMERS) {
        pthread_mutex_unlock(&log->mu);
        base_set_err(err, err_len, "log: more than %d consumers", LOG__MAX_CONSUMERS);
        free(c);
        return NULL;
    }
    /* the backend positions the consumer while the table is locked, so that an append
     * cannot slip between "no consumer" (memory: nothing kept) and the consumer's start */
    if (log->ops->consumer_open(c, &p, err, err_len) != BASE_OK) {
        pthread_mutex_unlock(&log->mu);
        free(c);
        return NULL;
    }
    log->consumers[slot] = c;
    pthread_mutex_unlock(&log->mu);
    return c;
}

base_err log_consumer_next(log_consumer *c, int64_t timeout_ns, log_record *rec, char *err,
                           size_t err_len)
{
    memset(rec, 0, sizeof *rec);
    base_err rc = c->log->ops->consumer_next(c, timeout_ns, rec, err, err_len);
    if (rc == BASE_OK)
        atomic_fetch_add(&c->delivered, 1);
    return rc;
}

base_err log_consumer_commit(log_consumer *c, uint64_t seq, char *err, size_t err_len)
{
    return c->log->ops->consumer_commit(c, seq, err, err_len);
}

void log_consumer_wake(log_consumer *c)
{
    if (c)
        c->log->ops->consumer_wake(c);
}

void log_consumer_close(log_consumer *c)
{
    if (!c)
        return;
    log_store *log = c->log;
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < LOG__MAX_CONSUMERS; i++)
        if (log->consumers[i] == c)
            log->consumers[i] = NULL;
    log->ops->consumer_close(c);
    pthread_mutex_unlock(&log->mu);
    free(c);
}

void log_stats_get(log_store *log, log_stats *out)
{
    memset(out, 0, sizeof *out);
    log->ops->stats(log, out);
    out->backend = log->cfg.backend;
    out->appends = atomic_load(&log->appends);
    out->append_bytes = atomic_load(&log->append_bytes);
    out->append_failures = atomic_load(&log->append_failures);
    pthread_mutex_lock(&log->mu);
    out->replay = log->replay;
    pthread_mutex_unlock(&log->mu);
}

size_t log_consumer_stats_all(log_store *log, log_consumer_stats *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < LOG__MAX_CONSUMERS; i++) {
        log_consumer *c = log->consumers[i];
        if (!c)
            continue;
        if (n < max) {
            memset(&out[n], 0, sizeof out[n]);
            log->ops->consumer_stats(c, &out[n]);
            snprintf(out[n].name, sizeof out[n].name, "%s", c->name);
            out[n].delivered = atomic_load(&c->delivered);
            snprintf(out[n].target, sizeof out[n].target, "%s", c->target);
            out[n].sent = atomic_load(&c->sent);
            out[n].retried = atomic_load(&c->retried);
            out[n].failed = atomic_load(&c->failed);
        }
        n++;
    }
    pthread_mutex_unlock(&log->mu);
    return n;
}

void log_replay_done(log_store *log, const log_replay_stats *figures)
{
    pthread_mutex_lock(&log->mu);
    log->replay = *figures;
    log->replay.done = true;
    pthread_mutex_unlock(&log->mu);
}

void log_consumer_count(log_consumer *c, uint64_t sent, uint64_t retried, uint64_t failed)
{
    atomic_fetch_add(&c->sent, sent);
    atomic_fetch_add(&c->retried, retried);
    atomic_fetch_add(&c->failed, failed);
}

void log_consumer_set_target(log_consumer *c, const char *target)
{
    pthread_mutex_lock(&c->log->mu);
    snprintf(c->target, sizeof c->target, "%s", target ? target : "");
    pthread_mutex_unlock(&c->log->mu);
}
