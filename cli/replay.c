/* cli/replay.c — the replay of the log into the windows at start (see cli.h).
 *
 * One thread reads the log (a consumer from now - retention) and queues copies of the
 * records; workers decode them and apply them to the store, each with its own arena. The
 * order in which records reach the store does not change what it holds (values add up per
 * bucket), and decoding is most of the cost, so it runs on every core the machine offers
 * (up to CLI_REPLAY_MAX_WORKERS). The queue holds at most CLI_REPLAY_QUEUE_BYTES of record
 * bytes (and always at least one record). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "cli/cli.h"
#include "translate/translate.h"

typedef struct job {
    struct job *next;
    int64_t recv_unix_ns;
    size_t len;
    uint8_t data[];
} job;

typedef struct replay {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    job *head, *tail;
    size_t queued_bytes;
    bool done;
    win_store *store;
    size_t arena_cap;
    _Atomic uint64_t samples, decode_failures;
} replay;

static void *worker_main(void *arg)
{
    replay *r = arg;
    base_arena arena;
    base_arena_init(&arena, (size_t)1 << 20, r->arena_cap);
    base_arena_set_retain(&arena, (size_t)32 << 20);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (!r->head && !r->done)
            pthread_cond_wait(&r->not_empty, &r->mu);
        job *j = r->head;
        if (j) {
            r->head = j->next;
            if (!r->head)
                r->tail = NULL;
            r->queued_bytes -= j->len;
            pthread_cond_signal(&r->not_full);
        }
        pthread_mutex_unlock(&r->mu);
        if (!j)
            break;
        tr_request *req = NULL;
        char why[256] = "";
        tr_result res;
        if (tr_decode_protobuf(j->data, j->len, &arena, &req, why, sizeof why) != BASE_OK || !req)
            atomic_fetch_add(&r->decode_failures, 1);
        else if (tr_ingest(r->store, req, j->data, j->len, j->recv_unix_ns, &arena, &res) ==
                 BASE_OK)
            atomic_fetch_add(&r->samples, res.samples_stored - res.samples_evicted);
        base_arena_reset(&arena);
        free(j);
    }
    base_arena_free(&arena);
    return NULL;
}

bool cli_replay_log(log_store *log, win_store *store, uint64_t max_message_size)
{
    log_replay_stats figures = {0};
    int64_t started = base_now_mono_ns();
    char err[512] = "";
    log_position from = {.from = LOG_FROM_TIME};
    log_consumer *c = log_consumer_open(log, "windows", &from, err, sizeof err);
    if (!c) {
        fprintf(stderr, "otelprofd: cannot read the log: %s\n", err);
        return false;
    }
    replay r = {.store = store, .arena_cap = (size_t)max_message_size * 4 + ((size_t)1 << 20)};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.not_empty, NULL);
    pthread_cond_init(&r.not_full, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cores < 1 ? 1 : cores > CLI_REPLAY_MAX_WORKERS ? CLI_REPLAY_MAX_WORKERS : (int)cores;
    pthread_t workers[CLI_REPLAY_MAX_WORKERS];
    int n_workers = 0;
    while (n_workers < want && pthread_create(&workers[n_workers], NULL, worker_main, &r) == 0)
        n_workers++;
    log_record rec;
    base_err rc = BASE_OK;
    bool nomem = false;
    while (n_workers > 0 && (rc = log_consumer_next(c, 0, &rec, err, sizeof err)) == BASE_OK) {
        figures.records++;
        figures.bytes += rec.len;
        job *j = malloc(sizeof *j + rec.len);
        if (!j) {
            nomem = true;
            break;
        }
        j->next = NULL;
        j->recv_unix_ns = rec.recv_unix_ns;
        j->len = rec.len;
        memcpy(j->data, rec.data, rec.len);
        pthread_mutex_lock(&r.mu);
        while (r.head && r.queued_bytes + j->len > CLI_REPLAY_QUEUE_BYTES)
            pthread_cond_wait(&r.not_full, &r.mu);
        if (r.tail)
            r.tail->next = j;
        else
            r.head = j;
        r.tail = j;
        r.queued_bytes += j->len;
        pthread_cond_signal(&r.not_empty);
        pthread_mutex_unlock(&r.mu);
    }
    pthread_mutex_lock(&r.mu);
    r.done = true;
    pthread_cond_broadcast(&r.not_empty);
    pthread_mutex_unlock(&r.mu);
    for (int i = 0; i < n_workers; i++)
        pthread_join(workers[i], NULL);
    pthread_cond_destroy(&r.not_empty);
    pthread_cond_destroy(&r.not_full);
    pthread_mutex_destroy(&r.mu);

    log_consumer_stats cs[LOG_CONSUMERS_MAX];
    size_t n = log_consumer_stats_all(log, cs, LOG_CONSUMERS_MAX);
    for (size_t i = 0; i < n && i < LOG_CONSUMERS_MAX; i++)
        if (strcmp(cs[i].name, "windows") == 0)
            figures.lost = cs[i].lost;
    log_consumer_close(c);
    if (n_workers == 0 || nomem) {
        fprintf(stderr, "otelprofd: cannot replay the log: out of memory\n");
        return false;
    }
    if (rc != BASE_ERR_NOT_FOUND) {
        fprintf(stderr, "otelprofd: cannot read the log: %s\n", err);
        return false;
    }
    log_stats ls;
    log_stats_get(log, &ls);
    figures.samples = atomic_load(&r.samples);
    figures.lost += atomic_load(&r.decode_failures);
    figures.duration_ns = base_now_mono_ns() - started;
    log_replay_done(log, &figures);
    base_log(BASE_LOG_INFO,
             "log: replayed %llu requests (%llu samples, %llu bytes) in %.3f s with %d threads%s",
             (unsigned long long)figures.records, (unsigned long long)figures.samples,
             (unsigned long long)figures.bytes, (double)figures.duration_ns / 1e9, n_workers,
             ls.corrupt_records ? "; damaged records were skipped (see the warnings above)" : "");
    return true;
}
