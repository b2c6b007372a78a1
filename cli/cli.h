/* cli/cli.h — what the files of the otelprofd binary share (not a library contract).
 *
 * main.c parses options and runs `serve` and `mcp` (stdio with the receiver embedded);
 * remote.c runs the commands that talk to a running daemon over Streamable HTTP:
 * `mcp --connect URL` (a stdio bridge) and `query TOOL`; send.c runs `send` (pprof files to
 * an OTLP receiver) and loads the --demo profiles; follow.c feeds the windows from a shared
 * log (--nats).
 *
 * Thread-safety: everything here runs on the main thread, except follow.c's own thread.
 */
#ifndef OTELPROFD_CLI_H
#define OTELPROFD_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

#endif
