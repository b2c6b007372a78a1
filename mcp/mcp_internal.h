/* mcp/mcp_internal.h — what the mcp/ files share with each other (not public).
 *
 * server.c owns the registries, sessions and JSON-RPC dispatch; stdio.c, http.c and
 * client.c are the transports. A transport hands dispatch an mcp__emitter through
 * mcp_call.transport so the notifications a handler sends (progress, log) reach the same
 * stream as the response.
 */
#ifndef OTELPROFD_MCP_INTERNAL_H
#define OTELPROFD_MCP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/base.h"
#include "mcp/mcp.h"

/* JSON-RPC and MCP error codes */
enum {
    MCP__PARSE_ERROR = -32700,
    MCP__INVALID_REQUEST = -32600,
    MCP__METHOD_NOT_FOUND = -32601,
    MCP__INVALID_PARAMS = -32602,
    MCP__INTERNAL_ERROR = -32603,
    MCP__RESOURCE_NOT_FOUND = -32002,
};

#define MCP__VERSION_LATEST "2025-11-25"
#define MCP__VERSION_BATCH  "2025-03-26" /* the only negotiated version with JSON-RPC batches */
#define MCP__MAX_BATCH      256          /* messages in one batch */

/* Receives each notification text (one JSON object, no newline) a handler emits while a
 * request is being handled. Called on the handling thread. */
typedef struct mcp__emitter {
    void (*emit)(void *user, const char *json, size_t len);
    void *user;
    /* Optional: makes what is emitted from now on reach the client at once (the HTTP
     * transport switches the response to a live SSE stream). False when it cannot, so no
     * request to the client could get its answer. NULL: never. */
    bool (*go_live)(void *user);
    /* HTTP only (NULL elsewhere): looks up a request header (case-insensitive name), for
     * the 2026-07-28 header/body consistency checks (MCP-Protocol-Version, Mcp-Method,
     * Mcp-Name, Mcp-Param-*). With it, a NULL session means a 2026-07-28 request. */
    const char *(*header)(void *header_user, const char *name);
    void *header_user;
} mcp__emitter;

/* Wakes every request to the client this session waits for, which then fail ("server
 * stopping"); later ones fail at once. For transports shutting down. */
void mcp__session_cancel(mcp_session *s);

/* Whether `v` is a protocol version this library speaks. */
bool mcp__version_supported(const char *v);

/* What a parsed message turned out to be, for transports that answer per kind (HTTP: 202
 * for notifications and responses, 400 for invalid ones). */
typedef struct mcp__outcome {
    bool had_request; /* at least one well-formed request (with an id) was handled */
    bool initialized; /* an initialize request succeeded on this session */
    bool had_invalid; /* at least one message was malformed */
    /* 2026-07-28: the HTTP status the answer needs (400 for _meta, version, header and
     * capability errors, 404 for an unknown method), 0 for the transport's default */
    unsigned http_status;
} mcp__outcome;

/* MCP 2026-07-28 (stateless), served beside the 2025-xx lifecycle. */
#define MCP__VERSION_MODERN "2026-07-28"
enum {
    MCP__HEADER_MISMATCH = -32020,
    MCP__MISSING_CAPABILITY = -32021,
    MCP__UNSUPPORTED_VERSION = -32022,
};
/* Whether `v` is a 2025-xx version (served only after initialize). */
bool mcp__version_legacy(const char *v);
/* The value of params._meta["io.modelcontextprotocol/protocolVersion"] of a message (any
 * JSON type), or NULL. */
const cJSON *mcp__meta_version(const cJSON *msg);

/* Handles a parsed message or batch (borrowed). Returns the response JSON (owned by the
 * caller: object, array for batches) or NULL when nothing is to be answered. */
cJSON *mcp__handle_json(mcp_server *srv, mcp_session *s, const cJSON *root,
                        const mcp_call *transport_call, mcp__outcome *outcome);

/* Parses `len` bytes of JSON text (need not be NUL-terminated); trailing whitespace only.
 * NULL when the text is not one JSON value. */
cJSON *mcp__parse(const char *text, size_t len);

/* A JSON-RPC error response object with the given id (borrowed; NULL gives "id": null). */
cJSON *mcp__error_response(const cJSON *id, int code, const char *message, cJSON *data);

/* Session accessors for transports. */
const char *mcp__session_version(mcp_session *s, char *buf, size_t buf_len);
bool mcp__session_initialized(mcp_session *s);

/* Fills `out` with `n` random bytes (getrandom, /dev/urandom as a fallback). 0 or -1. */
int mcp__random(uint8_t *out, size_t n);

/* Constant-time equality of two NUL-terminated strings (time depends on the lengths only). */
bool mcp__secure_equal(const char *a, const char *b);

/* Whether an Accept header (comma-separated media ranges, parameters ignored,
 * case-insensitive) admits `type` ("application/json"), counting * / * and application/ *. */
bool mcp__accepts(const char *accept, const char *type);

/* Parses a Host header value ("name", "name:port", "1.2.3.4:port", "[v6]:port") into its
 * name, without the port, without the brackets of an IPv6 literal and without one trailing
 * dot ("localhost." is "localhost"). *is_ip tells an IPv4 or IPv6 literal from a DNS name.
 * false when the value is malformed: empty, a name character outside [A-Za-z0-9._-], a
 * bad IPv6 literal, a port that is not 0..65535, or longer than `name_len` - 1. */
bool mcp__host_parse(const char *host, char *name, size_t name_len, bool *is_ip);

#endif
