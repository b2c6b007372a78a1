/* cli/cli.h — what the files of the otelprofd binary share (not a library contract).
 *
 * main.c parses options and runs `serve` and `mcp` (stdio with the receiver embedded);
 * remote.c runs the commands that talk to a running daemon over Streamable HTTP:
 * `mcp --connect URL` (a stdio bridge) and `query TOOL`; send.c runs `send` (pprof files to
 * an OTLP receiver) and loads the --demo profiles, and holds the OTLP export client that
 * forward.c (the --forward destinations) uses too; follow.c feeds the windows from a shared
 * log (--nats).
 *
 * Thread-safety: everything here runs on the main thread, but the forwarders (each runs
 * its own thread with its own cli_exporter) and follow.c's own thread.
 */
#ifndef OTELPROFD_CLI_H
#define OTELPROFD_CLI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log/log.h"

#include "window/window.h"

#define CLI_EXIT_USAGE       2
#define CLI_EXIT_UNREACHABLE 3
#define CLI_DEFAULT_MCP_URL  "http://127.0.0.1:4319/mcp"

/* Relays newline-delimited JSON-RPC between stdin/stdout and the daemon at `url`.
 * Returns the process exit code. `token` and the TLS PEM file names may be NULL. */
int cli_bridge(const char *url, const char *token, const char *tls_ca, const char *tls_cert,
               const char *tls_key);

/* `otelprofd query ...`: argv[first..] are the command's own arguments. Returns the exit
 * code: 0, 1 (the tool answered isError, or an error response), 2 (usage), 3 (the daemon
 * cannot be reached). */
int cli_query(int argc, char **argv, int first);
void cli_query_usage(FILE *out);

/* `otelprofd send ...`: returns 0 (accepted, possibly with a warning that some samples
 * were dropped), 1 (a profile rejected, nothing of a file stored, unreadable file),
 * 2 (usage) or 3 (receiver unreachable after the retries). */
int cli_send(int argc, char **argv, int first);
void cli_send_usage(FILE *out);

/* What cli_demo_load stored: every accepted profile and stored sample, for get_status. */
typedef struct cli_demo_stats {
    uint64_t profiles;
    uint64_t samples;
} cli_demo_stats;

/* Converts every DIR/\*.pb.gz (pprof) with service.name = the file name up to its first
 * dot, times moved to now, and ingests it into `store`, logging each and adding what was
 * stored to `*stored`. Returns how many files were loaded, -1 when `dir` cannot be opened. */
int cli_demo_load(win_store *store, const char *dir, cli_demo_stats *stored);

/* follow.c: a thread that feeds `store` from the shared log (--nats): it replays the stream
 * from now - retention, reports the replay with log_replay_done, then follows the stream
 * head until cli_follow_stop. NULL when the thread cannot be started. */
typedef struct cli_follower cli_follower;
typedef struct log_store log_store;
cli_follower *cli_follow_start(log_store *log, win_store *store, uint64_t max_message_size);
bool cli_follow_replayed(cli_follower *f); /* the replay has finished */
void cli_follow_stop(cli_follower *f);
/* ---- OTLP export client (send.c): `send` and the forwarders share it ------------- */

typedef struct cli_export_config {
    bool http;          /* OTLP/HTTP protobuf + gzip (libcurl); else gRPC + gzip (gRPC core) */
    const char *target; /* gRPC: HOST:PORT; HTTP: the full URL */
    bool tls;           /* gRPC: TLS (HTTP follows its URL's scheme) */
    const char *tls_ca_file, *tls_cert_file, *tls_key_file; /* HTTP (libcurl reads files);
                                                              CA NULL = the system's */
    const char *tls_ca_pem, *tls_cert_pem, *tls_key_pem;    /* gRPC; CA NULL = the system's */
    const char *const *headers; /* "Name: value" each, NULL-terminated; NULL = none. gRPC
                                   sends them as metadata (names lower-cased) */
    int64_t timeout_ns;         /* per attempt */
    const _Atomic bool *cancel; /* HTTP: a transfer aborts (retryable) once it is true */
} cli_export_config;

typedef enum cli_export_outcome {
    CLI_EXPORT_ACCEPTED,
    CLI_EXPORT_WARNED,      /* accepted, with an error_message and no rejected profile */
    CLI_EXPORT_NONE_STORED, /* accepted, but every sample was dropped (the message says why) */
    CLI_EXPORT_PARTIAL,     /* accepted, some profiles rejected (partial success) */
    CLI_EXPORT_REJECTED,    /* an error answer that retrying will not change (400, 413, ...) */
    CLI_EXPORT_RETRYABLE,   /* UNAVAILABLE, 503, 429, connection failures: try again */
} cli_export_outcome;

typedef struct cli_export_result {
    cli_export_outcome outcome;
    int grpc_status;        /* -1 when the call got none */
    long http_status;       /* 0 when none */
    int64_t retry_after_ns; /* the answer's Retry-After (HTTP), 0 if none */
    char why[1200];         /* what went wrong, or the partial success message */
} cli_export_result;

/* One destination; its connection (gRPC channel, libcurl handle) is kept between exports.
 * Borrows the configuration's strings. One thread at a time. grpc_init / curl_global_init
 * must have run. */
typedef struct cli_exporter cli_exporter;
cli_exporter *cli_exporter_new(const cli_export_config *cfg); /* NULL: out of memory */
void cli_exporter_free(cli_exporter *x);
/* Sends one ExportProfilesServiceRequest (protobuf bytes) and classifies the answer. */
void cli_export(cli_exporter *x, const uint8_t *body, size_t len, cli_export_result *out);

/* ---- replay (replay.c) ------------------------------------------------------------ */

/* Workers that decode and apply records during the replay at start (at most; fewer on
 * fewer cores), and the record bytes queued for them at once. */
#define CLI_REPLAY_MAX_WORKERS 4
#define CLI_REPLAY_QUEUE_BYTES ((size_t)64 << 20)

/* Rebuilds the windows from the log before the listeners open: every record received since
 * now - retention, applied with its receive time as "now" (the same time rules as live
 * data; the store's memory limit evicts as it would have), decoded and applied by up to
 * CLI_REPLAY_MAX_WORKERS threads. Logs the count and time and hands the figures to
 * log_replay_done. Returns false (after saying why on stderr) when the log cannot be read. */
bool cli_replay_log(log_store *log, win_store *store, uint64_t max_message_size);

/* ---- forwarding (forward.c) ------------------------------------------------------ */

/* Default and bounds of the forwarders' backoff between attempts. */
#define CLI_FORWARD_BACKOFF_MIN_NS 100000000LL   /* 100 ms */
#define CLI_FORWARD_BACKOFF_MAX_NS 30000000000LL /* 30 s */
#define CLI_FORWARD_TIMEOUT_NS     5000000000LL  /* per attempt */
#define CLI_FORWARD_MAX            16            /* --forward destinations */
#define CLI_FORWARD_MAX_HEADERS    32            /* --forward-header values */

/* One --forward destination: a log consumer with its own cursor and a thread that sends
 * every record on as OTLP, retrying with exponential backoff. */
typedef struct cli_forwarder cli_forwarder;
typedef struct cli_forward_config {
    const char *url;            /* grpc://H:P, grpcs://H:P, http://..., https://... */
    const char *const *headers; /* "K=V" each, NULL-terminated; may be NULL */
    const char *tls_ca_file;    /* PEM; NULL = the system's CAs */
} cli_forward_config;
/* gRPC and libcurl global set-up, before any thread that exports starts (and after the last
 * one stopped). */
void cli_forward_init(void);
void cli_forward_cleanup(void);
/* Checks a --forward URL; returns 0, or -1 with why in `err`. */
int cli_forward_check_url(const char *url, char *err, size_t err_len);
cli_forwarder *cli_forward_start(log_store *log, const cli_forward_config *cfg, char *err,
                                 size_t err_len);
/* Stops the thread (an attempt in flight finishes or is cut off), closes the consumer. */
void cli_forward_stop(cli_forwarder *f);

#endif
