/* cli/cli.h — what the files of the otelprofd binary share (not a library contract).
 *
 * Thread-safety: cli_api_start/stop from the main thread only; the API listener runs its
 * own threads and only reads the store and the receiver's counters.
 * Ownership: the API borrows the store and the receiver; both must outlive it.
 */
#ifndef OTELPROFD_CLI_H
#define OTELPROFD_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "receiver/receiver.h"
#include "window/window.h"

/* The HTTP API listener (--mcp-http): /healthz, /metrics, /debug/top. */
typedef struct cli_api cli_api;

/* `rcv` may be NULL (its counters then read 0). Returns NULL with `err` filled. */
cli_api *cli_api_start(const char *addr, win_store *store, const otlp_receiver *rcv, char *err,
                       size_t err_len);
int cli_api_port(const cli_api *api);
/* Stops accepting, lets requests in progress finish, frees everything. */
void cli_api_stop(cli_api *api);

#endif
