/* cli/cli.h — what the files of the otelprofd binary share (not a library contract).
 *
 * main.c parses options and runs `serve` and `mcp` (stdio with the receiver embedded);
 * remote.c runs the commands that talk to a running daemon over Streamable HTTP:
 * `mcp --connect URL` (a stdio bridge) and `query TOOL`.
 *
 * Thread-safety: everything here runs on the main thread.
 */
#ifndef OTELPROFD_CLI_H
#define OTELPROFD_CLI_H

#include <stdio.h>

#define CLI_EXIT_USAGE       2
#define CLI_EXIT_UNREACHABLE 3
#define CLI_DEFAULT_MCP_URL  "http://127.0.0.1:4319/mcp"

/* Relays newline-delimited JSON-RPC between stdin/stdout and the daemon at `url`.
 * Returns the process exit code. `token` may be NULL. */
int cli_bridge(const char *url, const char *token);

/* `otelprofd query ...`: argv[first..] are the command's own arguments. Returns the exit
 * code: 0, 1 (the tool answered isError, or an error response), 2 (usage), 3 (the daemon
 * cannot be reached). */
int cli_query(int argc, char **argv, int first);
void cli_query_usage(FILE *out);

#endif
