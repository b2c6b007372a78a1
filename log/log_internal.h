/* log/log_internal.h — what the log/ files share (not public): the backend ops table.
 *
 * log.c is the generic layer: it validates arguments, keeps the counters every backend
 * shares (appends, failures, delivered records), the list of open consumers and the replay
 * figures, and calls the backend through `log__ops`. A backend (memory.c, wal.c, later
 * nats.c) fills one `log__ops` and keeps its state behind `log_store.be` and
 * `log_consumer.be`. A new backend adds a file, an entry in ops_of (log.c), and
 * nothing in receiver/ or window/.
 */
#ifndef OTELPROFD_LOG_INTERNAL_H
#define OTELPROFD_LOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "log/log.h"

/* Open consumers per log (forwarders + the replaying window consumer + slack). */
#define LOG__MAX_CONSUMERS LOG_CONSUMERS_MAX

typedef struct log__ops {
    const char *name;
    /* Sets log->be. The configuration is in log->cfg (strings owned by the log). */
    base_err (*open)(log_store *log, char *err, size_t err_len);
    void (*close)(log_store *log);
    /* Durable per policy before it returns (see log_append). */
    base_err (*append)(log_store *log, const log_entry *e, uint64_t *seq, char *err,
                       size_t err_len);
    /* Optional split of append (see log_append_begin/end): begin writes or publishes and
     * sets *seq, end waits for durability. NULL: log.c uses append for begin, end is a
     * no-op. */
    base_err (*append_begin)(log_store *log, const log_entry *e, uint64_t *seq, char *err,
                             size_t err_len);
    base_err (*append_end)(log_store *log, uint64_t seq, char *err, size_t err_len);
    /* Sets c->be; positions the consumer (pos->from already resolved for LOG_FROM_CURSOR:
     * the backend reads its own stored cursor). */
    base_err (*consumer_open)(log_consumer *c, const log_position *pos, char *err, size_t err_len);
    base_err (*consumer_next)(log_consumer *c, int64_t timeout_ns, log_record *rec, char *err,
                              size_t err_len);
    base_err (*consumer_commit)(log_consumer *c, uint64_t seq, char *err, size_t err_len);
    void (*consumer_wake)(log_consumer *c);
    void (*consumer_close)(log_consumer *c);
    /* Fills committed_seq, lost, backlog_* and lag_ns (name and delivered are filled by
     * log.c). */
    void (*consumer_stats)(log_consumer *c, log_consumer_stats *out);
    /* Fills last_seq, records_held, bytes_held, oldest_unix_ns, syncs, segments,
     * segments_deleted, corrupt_records (the rest is filled by log.c). */
    void (*stats)(log_store *log, log_stats *out);
} log__ops;

extern const log__ops log__memory_ops;
extern const log__ops log__wal_ops;
extern const log__ops log__nats_ops; /* nats.c (issue 14) */

struct log_store {
    log_config cfg; /* copy; the strings point into `strings` below */
    char *data_dir, *nats_url, *nats_stream, *nats_subject, *nats_creds_file;
    const log__ops *ops;
    void *be; /* the backend's state */

    _Atomic uint64_t appends, append_bytes, append_failures;

    pthread_mutex_t mu; /* guards consumers[] and replay */
    log_consumer *consumers[LOG__MAX_CONSUMERS];
    log_replay_stats replay;
};

struct log_consumer {
    log_store *log;
    char name[LOG_CONSUMER_NAME_MAX];
    void *be; /* the backend's state for this consumer */
    _Atomic uint64_t delivered;
    _Atomic uint64_t sent, retried, failed; /* log_consumer_count */
    char target[256];                       /* log_consumer_set_target; guarded by log->mu */
};

/* The CLOCK_MONOTONIC time `timeout_ns` from now (consumers' condition variables use that
 * clock); for timeout_ns <= 0 simply now. */
struct timespec log__deadline(int64_t timeout_ns);

#endif
