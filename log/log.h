/* log/log.h — the log between the receivers and the windows (and the forwarders).
 *
 * Purpose: accepted OTLP work is appended to a log before it is acknowledged; the window
 * store and every forwarder are consumers of that log with their own cursor. One interface,
 * three backends behind an ops table (log/log_internal.h):
 *   - memory (default, no --data-dir): nothing is written anywhere; records are kept in a
 *     bounded in-memory backlog only while a consumer (a forwarder) is open, so with no
 *     forwarder an append costs a counter increment (today's behaviour and speed);
 *   - wal (--data-dir DIR): segment files with a per-record checksum; an append returns
 *     once the record is synced per --wal-sync (always: group commit; interval; off);
 *     segments older than the retention are deleted; the directory is flock'ed;
 *   - nats (a later issue): a replicated JetStream stream; an append returns once a quorum
 *     holds the record.
 * A record is the bytes of one OTLP ExportProfilesServiceRequest (protobuf; a JSON request
 * is appended as the protobuf encoding of what it decoded to, so the log holds one format),
 * a routing key (the request's service.name, "" when its resources disagree or have none:
 * backends that route by key, such as NATS subjects, map "" to a catch-all) and the time it
 * was received. Records get increasing sequence numbers (1, 2, ...; 0 means "none").
 *
 * How the daemon uses it: the receiver decodes and validates a request, calls log_append
 * (which returns BASE_ERR_UNAVAILABLE when the record cannot be kept: disk full, directory
 * unwritable, no quorum; the receiver then answers 503 / UNAVAILABLE and acknowledges
 * nothing), and then applies the same request to the windows in the request thread, so the
 * OTLP partial-success answer still says what the windows did. On start, before the
 * listeners open, the windows are rebuilt by a consumer that reads from now - retention up
 * to the end (log_consumer_next with timeout 0 until BASE_ERR_NOT_FOUND), and the figures
 * are handed back with log_replay_done for get_status and /metrics. Forwarders open a named
 * consumer at their committed cursor and follow new records.
 *
 * Thread-safety: every function may be called from any thread once log_open returned,
 * except log_close (once, after every other call has returned and every consumer is
 * closed). log_append is called concurrently by the receiver threads (that is what the
 * WAL's group commit is for). One log_consumer belongs to one thread at a time; different
 * consumers may be used from different threads at once.
 *
 * Ownership: log_open copies the configuration (strings included). log_append borrows the
 * entry for the duration of the call (the backend copies what it keeps). A record returned
 * by log_consumer_next points into the consumer's own buffer and is valid until the next
 * log_consumer_next or log_consumer_close on that consumer. Stats are copied out.
 */
#ifndef OTELPROFD_LOG_H
#define OTELPROFD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* Longest routing key kept; a longer service.name is cut (it is a routing hint only). */
#define LOG_KEY_MAX 256
/* Longest consumer name ("windows", "forward-0", ...). */
#define LOG_CONSUMER_NAME_MAX 64
/* Consumers open at once per log (forwarders, the replay, ...). */
#define LOG_CONSUMERS_MAX 64
/* Largest record a backend accepts (the receiver's --max-message-size is capped below). */
#define LOG_RECORD_MAX_BYTES ((uint64_t)1 << 31)

typedef struct log_store log_store;
typedef struct log_consumer log_consumer;

typedef enum log_backend {
    LOG_BACKEND_MEMORY = 0, /* default */
    LOG_BACKEND_WAL,        /* --data-dir */
    LOG_BACKEND_NATS,       /* --nats (issue 14) */
} log_backend;

/* --wal-sync: when an append is on disk before it returns. */
typedef enum log_sync_mode {
    LOG_SYNC_ALWAYS = 0, /* default: fdatasync before acknowledging; concurrent appends share
                            one fdatasync (group commit) */
    LOG_SYNC_INTERVAL,   /* fdatasync every sync_interval_ns: a machine crash (not a process
                            crash) can lose that much acknowledged work */
    LOG_SYNC_OFF,        /* written to the page cache only; the kernel decides */
} log_sync_mode;

typedef struct log_config {
    log_backend backend;
    int64_t retention_ns; /* records older than now - retention may be deleted; also the
                             default start of a replay; > 0 */
    /* memory: the backlog kept for open consumers (forwarders without --data-dir); the
     * oldest records are dropped (and counted per consumer) past it. 0 = 256 MiB. */
    uint64_t memory_backlog_bytes;
    /* wal */
    const char *data_dir;     /* created if missing; flock'ed (a second process is refused) */
    log_sync_mode sync;       /* --wal-sync */
    int64_t sync_interval_ns; /* LOG_SYNC_INTERVAL; 0 = 1 s */
    uint64_t segment_bytes;   /* a segment is closed past this size; 0 = 64 MiB */
    /* nats (issue 14): borrowed strings, copied by log_open */
    const char *nats_url;     /* "nats://host:4222[,nats://...]" */
    const char *nats_stream;  /* stream name; NULL = "OTELPROFD" */
    const char *nats_subject; /* subject prefix; records go to PREFIX.<key>; NULL = "otelprofd" */
    int nats_replicas;        /* 0 = server default */
    const char *nats_creds_file; /* NULL = none */
    /* (issue 14) also borrowed, and only read during log_open: */
    const char *nats_filter;   /* subject the consumers read (--nats-subjects); NULL = PREFIX.> */
    const char *nats_tls_ca;   /* PEM CA of the servers (TLS); NULL = plain or system CAs */
    const char *nats_tls_cert; /* PEM client certificate and key (mutual TLS); NULL = none */
    const char *nats_tls_key;
} log_config;

/* Opens (or creates) the log. On failure returns NULL with a message fit for the user in
 * `err`, e.g. "data dir /var/lib/otelprofd is in use by another otelprofd (pid 123)" or
 * "data dir /x was written by format version 2; this otelprofd reads version 1". */
log_store *log_open(const log_config *cfg, char *err, size_t err_len);
/* Flushes and syncs what was appended, releases the directory lock, frees everything. */
void log_close(log_store *log);
log_backend log_backend_of(const log_store *log);
const char *log_backend_name(log_backend b); /* "memory", "wal", "nats" */

/* ---- appending ------------------------------------------------------------------- */

typedef struct log_entry {
    const uint8_t *data; /* ExportProfilesServiceRequest, protobuf; borrowed */
    size_t len;          /* <= LOG_RECORD_MAX_BYTES */
    const char *key;     /* routing key, NUL-terminated, NULL = "" ; borrowed */
    int64_t recv_unix_ns;
} log_entry;

/* Appends one record and returns once it is durable per the backend's policy, with its
 * sequence number in *seq (may be NULL). Returns BASE_OK; BASE_ERR_UNAVAILABLE (with the
 * reason in `err`: "no space left on device writing /d/00000001.wal") when it cannot be
 * kept, in which case nothing of it will ever be delivered to a consumer, and the sender
 * must not be told it was accepted; BASE_ERR_TOO_LARGE past LOG_RECORD_MAX_BYTES. */
base_err log_append(log_store *log, const log_entry *e, uint64_t *seq, char *err, size_t err_len);
/* log_append in two halves, for a caller with work to do while the record becomes durable
 * (the receiver applies the request to the windows while the WAL's fdatasync runs, instead
 * of after it). log_append_begin hands the record to the backend (written, published) and
 * returns its ticket; log_append_end waits until it is durable per the policy. Only when
 * both returned BASE_OK may the sender be told "accepted". A failure in begin leaves
 * nothing behind; a failure in end (an fdatasync error, no quorum answer) means the record
 * may or may not be kept: report BASE_ERR_UNAVAILABLE and let the sender retry. Every
 * begin that returned BASE_OK must be followed by exactly one end. Backends without a
 * split do all the work in begin. */
typedef struct log_ticket {
    uint64_t seq;
    size_t len;
} log_ticket;
base_err log_append_begin(log_store *log, const log_entry *e, log_ticket *t, char *err,
                          size_t err_len);
base_err log_append_end(log_store *log, const log_ticket *t, char *err, size_t err_len);
/* False when an append keeps nothing (the memory backend with no consumer open): a caller
 * may then skip building the record's bytes (e.g. encoding a JSON request as protobuf) and
 * append an empty entry, which only counts. True for every durable backend. */
bool log_keeps_records(log_store *log);

/* ---- consuming ------------------------------------------------------------------- */

typedef enum log_from {
    LOG_FROM_CURSOR = 0, /* the consumer's committed cursor (durable for wal/nats); if it has
                            none, as LOG_FROM_TIME with `time_unix_ns` */
    LOG_FROM_TIME,       /* the first record received at or after `time_unix_ns` */
    LOG_FROM_SEQ,        /* the record `seq` (or the first one after it that still exists) */
    LOG_FROM_END,        /* only records appended from now on */
} log_from;

typedef struct log_position {
    log_from from;
    int64_t time_unix_ns; /* LOG_FROM_TIME and LOG_FROM_CURSOR's fallback; 0 = now - retention */
    uint64_t seq;         /* LOG_FROM_SEQ */
} log_position;

typedef struct log_record {
    uint64_t seq;
    int64_t recv_unix_ns;
    const uint8_t *data; /* valid until the next log_consumer_next / close */
    size_t len;
    const char *key; /* NUL-terminated, "" when none */
    /* A record a repair delivers late (nats: one a diverged replica lacked, read from the
     * stream leader): its seq is below records returned before it. Apply it all the same,
     * and do not move an applied position back. Every other record comes in seq order. */
    bool late;
} log_record;

/* Opens the consumer `name` (1..LOG_CONSUMER_NAME_MAX-1 bytes of [A-Za-z0-9._-]) at `pos`.
 * Names are unique per log: opening one that is open fails. Returns NULL with `err`. */
log_consumer *log_consumer_open(log_store *log, const char *name, const log_position *pos,
                                char *err, size_t err_len);
/* The next record. Waits up to `timeout_ns` (0: do not wait; < 0: until one arrives or
 * log_consumer_wake) for one to be appended. Returns BASE_OK with *rec filled;
 * BASE_ERR_NOT_FOUND when there is none (yet): the consumer has caught up; BASE_ERR_IO
 * when reading failed (with `err`). Records lost on the way (corrupted on disk, dropped
 * from a full memory backlog, deleted by retention before they were read) are skipped and
 * counted in the consumer's stats, never returned. */
base_err log_consumer_next(log_consumer *c, int64_t timeout_ns, log_record *rec, char *err,
                           size_t err_len);
/* Records that the consumer is done with every record up to `seq` (inclusive): durable
 * for wal/nats (a restarted consumer opened LOG_FROM_CURSOR resumes after it), and the
 * memory backend may free them. Delivery is at-least-once: what was read but not committed
 * is read again after a restart. */
base_err log_consumer_commit(log_consumer *c, uint64_t seq, char *err, size_t err_len);
/* Makes a log_consumer_next waiting on `c` return BASE_ERR_NOT_FOUND now (for shutdown).
 * Callable from any thread. */
void log_consumer_wake(log_consumer *c);
void log_consumer_close(log_consumer *c);
/* A consumer's own figures, added up and reported in its log_consumer_stats. */
void log_consumer_count(log_consumer *c, uint64_t sent, uint64_t retried, uint64_t failed);
void log_consumer_set_target(log_consumer *c, const char *target); /* copied, cut at 255 */

/* ---- figures --------------------------------------------------------------------- */

typedef struct log_consumer_stats {
    char name[LOG_CONSUMER_NAME_MAX];
    uint64_t committed_seq;   /* 0 = none yet */
    uint64_t delivered;       /* records returned by log_consumer_next */
    uint64_t lost;            /* records skipped: corrupted, dropped from a full backlog, or
                                 deleted by retention before they were read */
    uint64_t backlog_records; /* appended but not yet committed */
    uint64_t backlog_bytes;
    int64_t lag_ns; /* now - receive time of the oldest uncommitted record; 0 if none */
    /* what the consumer reports of itself (log_consumer_count / log_consumer_set_target);
     * forwarders use them so /metrics and get_status need nothing but the log */
    char target[256]; /* e.g. the forwarder's destination URL; "" if not set */
    uint64_t sent;    /* records the destination accepted */
    uint64_t retried; /* attempts that failed and were tried again */
    uint64_t failed;  /* records given up on: rejected permanently by the destination */
    /* nats: records a diverged stream replica lacked, read from the stream leader by a
     * repair, and whether the consumer now reads the leader record by record */
    uint64_t replica_repaired;
    bool reading_from_leader;
} log_consumer_stats;

typedef struct log_replay_stats {
    bool done;           /* log_replay_done was called */
    uint64_t records;    /* records read back */
    uint64_t bytes;      /* their bytes */
    uint64_t samples;    /* samples the windows stored from them */
    uint64_t lost;       /* records skipped (corrupted) on the way */
    int64_t duration_ns; /* wall time of the replay */
} log_replay_stats;

typedef struct log_stats {
    log_backend backend;
    uint64_t appends; /* records appended (acknowledged to the log) */
    uint64_t append_bytes;
    uint64_t append_failures;          /* log_append returned an error: the sender was told 503 */
    uint64_t last_seq;                 /* 0 = nothing appended yet */
    uint64_t records_held, bytes_held; /* what the backend holds now (disk or memory) */
    int64_t oldest_unix_ns;            /* receive time of the oldest record held; 0 if none */
    uint64_t syncs;                    /* fdatasync calls (wal) */
    uint64_t segments;                 /* segment files (wal) */
    uint64_t segments_deleted;         /* by retention (wal) */
    uint64_t corrupt_records;          /* records skipped as corrupted (torn tail, bad CRC) */
    log_replay_stats replay;
} log_stats;

void log_stats_get(log_store *log, log_stats *out);
/* Copies the stats of up to `max` open consumers into `out`; returns how many are open. */
size_t log_consumer_stats_all(log_store *log, log_consumer_stats *out, size_t max);
/* Hands the replay figures (measured by whoever fed the windows) to the log, so that they
 * are reported with its stats. */
void log_replay_done(log_store *log, const log_replay_stats *figures);

#endif
