/* cli/follow.c — the windows fed from a shared log (--nats, roles query and all).
 *
 * One thread reads the consumer "windows" from now - retention: first the replay (every
 * record still in the stream, until the consumer has caught up; its figures go to
 * log_replay_done for get_status and /metrics), then it follows the stream head for as long
 * as the daemon runs. Each record is decoded and applied to the store as it was when it
 * arrived (its receive time stands for "now", so the too-old / too-new rules hold as for
 * live data). Records from every ingest node arrive here, this node's own included, so the
 * receiver of such a node does not apply what it accepted itself. When the consumer fails
 * for good (the connection closed), it is reopened after the last record applied.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "log/log.h"
#include "translate/translate.h"

struct cli_follower {
    log_store *log;
    win_store *store;
    uint64_t max_message_size;
    pthread_t thread;
    pthread_mutex_t mu; /* guards consumer (open/close vs wake) */
    log_consumer *consumer;
    _Atomic bool stop;
    _Atomic uint64_t applied, decode_failures, last_seq;
    _Atomic bool replayed;
};

static log_consumer *open_consumer(cli_follower *f, const log_position *pos)
{
    char err[512] = "";
    log_consumer *c = log_consumer_open(f->log, "windows", pos, err, sizeof err);
    if (!c)
        base_log(BASE_LOG_WARN, "log: cannot follow the stream (retrying): %s", err);
    pthread_mutex_lock(&f->mu);
    f->consumer = c;
    pthread_mutex_unlock(&f->mu);
    return c;
}

static void close_consumer(cli_follower *f)
{
    pthread_mutex_lock(&f->mu);
    log_consumer *c = f->consumer;
    f->consumer = NULL;
    pthread_mutex_unlock(&f->mu);
    if (c)
        log_consumer_close(c);
}

static void apply(cli_follower *f, const log_record *rec, base_arena *arena,
                  log_replay_stats *figures)
{
    tr_request *req = NULL;
    char why[256] = "";
    tr_result res;
    if (tr_decode_protobuf(rec->data, rec->len, arena, &req, why, sizeof why) != BASE_OK || !req) {
        atomic_fetch_add(&f->decode_failures, 1);
        base_log(BASE_LOG_WARN, "log: record %llu does not decode, skipped: %s",
                 (unsigned long long)rec->seq, why);
    } else if (tr_ingest(f->store, req, rec->data, rec->len, rec->recv_unix_ns, arena, &res) ==
               BASE_OK) {
        if (figures)
            figures->samples += res.samples_stored - res.samples_evicted;
    }
    base_arena_reset(arena);
    atomic_fetch_add(&f->applied, 1);
    if (rec->late)
        return; /* applied, but the position stays where it is */
    atomic_store(&f->last_seq, rec->seq);
    /* the applied position, for get_status and /metrics (the windows are rebuilt from the
     * stream at start, so nothing depends on it surviving a restart) */
    pthread_mutex_lock(&f->mu);
    if (f->consumer)
        log_consumer_commit(f->consumer, rec->seq, NULL, 0);
    pthread_mutex_unlock(&f->mu);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *follow_main(void *arg)
{
    cli_follower *f = arg;
    base_arena arena;
    /* a record is at most --max-message-size; its decoded form a few times that */
    base_arena_init(&arena, (size_t)1 << 20, (size_t)f->max_message_size * 4 + ((size_t)1 << 20));
    base_arena_set_retain(&arena, (size_t)32 << 20);
    char err[512] = "";
    log_record rec;
    base_err rc;

    /* replay: what the stream holds now */
    log_replay_stats figures = {0};
    int64_t started = base_now_mono_ns();
    log_position from = {.from = LOG_FROM_TIME};
    log_consumer *c = NULL;
    while (!atomic_load(&f->stop) && !(c = open_consumer(f, &from)))
        sleep_ms(1000);
    while (c && !atomic_load(&f->stop) &&
           (rc = log_consumer_next(c, 0, &rec, err, sizeof err)) == BASE_OK) {
        figures.records++;
        figures.bytes += rec.len;
        apply(f, &rec, &arena, &figures);
    }
    figures.lost = atomic_load(&f->decode_failures);
    figures.duration_ns = base_now_mono_ns() - started;
    log_replay_done(f->log, &figures);
    atomic_store(&f->replayed, true);
    base_log(BASE_LOG_INFO,
             "log: replayed %llu records (%llu samples, %llu bytes) in %.3f s; "
             "following the stream",
             (unsigned long long)figures.records, (unsigned long long)figures.samples,
             (unsigned long long)figures.bytes, (double)figures.duration_ns / 1e9);

    /* follow */
    while (!atomic_load(&f->stop)) {
        if (!c) {
            uint64_t last = atomic_load(&f->last_seq);
            log_position after = last ? (log_position){.from = LOG_FROM_SEQ, .seq = last + 1}
                                      : (log_position){.from = LOG_FROM_TIME};
            c = open_consumer(f, &after);
            if (!c) {
                sleep_ms(1000);
                continue;
            }
        }
        rc = log_consumer_next(c, -1, &rec, err, sizeof err);
        if (rc == BASE_OK) {
            /* a reopened consumer may start at a record applied already */
            if (rec.seq && rec.seq <= atomic_load(&f->last_seq) && !rec.late)
                continue;
            apply(f, &rec, &arena, NULL);
        } else if (rc != BASE_ERR_NOT_FOUND) {
            base_log(BASE_LOG_WARN, "log: following the stream failed (reopening): %s", err);
            close_consumer(f);
            c = NULL;
            sleep_ms(500);
        }
    }
    close_consumer(f);
    base_arena_free(&arena);
    return NULL;
}

cli_follower *cli_follow_start(log_store *log, win_store *store, uint64_t max_message_size)
{
    cli_follower *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->log = log;
    f->store = store;
    f->max_message_size = max_message_size;
    pthread_mutex_init(&f->mu, NULL);
    if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
        pthread_mutex_destroy(&f->mu);
        free(f);
        return NULL;
    }
    return f;
}

bool cli_follow_replayed(cli_follower *f)
{
    return f && atomic_load(&f->replayed);
}

void cli_follow_stop(cli_follower *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, true);
    /* a wait in log_consumer_next returns within a slice once woken */
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&f->mu);
        if (f->consumer)
            log_consumer_wake(f->consumer);
        pthread_mutex_unlock(&f->mu);
    }
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
