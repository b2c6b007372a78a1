/* mcp/mcp.h — a small, generic Model Context Protocol server library.
 *
 * Purpose: JSON-RPC 2.0 framing and errors, the MCP lifecycle (initialize with protocol
 * version negotiation: 2025-11-25 (preferred), 2025-06-18, 2025-03-26; initialized;
 * ping; logging/setLevel), and registries for tools, resources and prompts with
 * completion — served over stdio (newline-delimited JSON) and Streamable HTTP (POST /mcp
 * answered as application/json or as an SSE stream, Mcp-Session-Id sessions,
 * MCP-Protocol-Version checked, DELETE ends a session, GET 405, Host and Origin validation,
 * optional bearer token). It knows nothing of profiles: otelprofd's tools live in tools/,
 * and a conformance fixture server can be built on this library alone.
 *
 * Errors: -32700 parse error, -32600 invalid request, -32601 method not found, -32602
 * invalid params (unknown tool/prompt, tools/call arguments that are not an object, a
 * missing required prompt argument), -32002 resource not found, -32603 internal error.
 * Tool arguments that fail the input schema's top level (required, type with integer vs
 * number, enum, minimum/maximum, string length, array items, additionalProperties:false)
 * are not protocol errors: the tool is not called and the result has isError true and a
 * message naming the argument and how to fix it. A tool whose own checks fail does the
 * same (mcp_tool_error).
 *
 * Thread-safety: register everything before serving; after that the registries are read
 * only. Handlers may be called from several threads at once (the HTTP transport serves
 * requests concurrently); each call gets its own arguments and result. Sessions are
 * internally locked.
 *
 * Ownership: the server copies names, descriptions and schemas at registration; handler
 * user data is borrowed (must outlive the server). cJSON values handed to handlers are
 * borrowed for the call; values handlers put into results are owned by the library.
 */
#ifndef OTELPROFD_MCP_H
#define OTELPROFD_MCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

typedef struct mcp_server mcp_server;

typedef struct mcp_server_info {
    const char *name;         /* serverInfo.name */
    const char *title;        /* serverInfo.title, optional */
    const char *version;      /* serverInfo.version */
    const char *instructions; /* InitializeResult.instructions, optional */
    /* Advertise resources.subscribe and answer resources/subscribe and
     * resources/unsubscribe (each session keeps up to 64 subscribed URIs of existing
     * resources). No notifications/resources/updated is ever sent: use it only for
     * resources that do not change while a session lasts. Off: -32601 for both. */
    bool resources_subscribe;
    /* tools/list shows a parameter description that an earlier tool already has in full
     * (same name, same text, 60 characters or more) as its first sentence plus "As in
     * TOOL." — the list is read whole, and the repeats of a selector or a time range were
     * a fifth of it. true: every tool's inputSchema exactly as registered. */
    bool repeat_param_descriptions;
} mcp_server_info;

mcp_server *mcp_server_new(const mcp_server_info *info);
void mcp_server_free(mcp_server *srv);

/* ---- what a handler sees -------------------------------------------------------- */

typedef struct mcp_call {
    const char *session_id;       /* NULL over stdio */
    const char *protocol_version; /* negotiated */
    /* Sends notifications/progress when the client gave a progressToken (no-op otherwise). */
    void (*progress)(struct mcp_call *call, double progress, double total, const char *message);
    /* Sends notifications/message at `level` if the client's logging/setLevel allows it. */
    void (*log)(struct mcp_call *call, const char *level, const char *message);
    /* Sends a request to the client (sampling/createMessage, elicitation/create, roots/list)
     * and waits up to `timeout_ms` for its answer. Takes ownership of `params` (object or
     * NULL). Returns the client's result object (the caller owns it), or NULL with a reason
     * in `err`: the client did not declare the capability the method needs, the transport
     * cannot carry requests (stdio, or an HTTP client that does not accept SSE), the client
     * answered a JSON-RPC error, the time ran out or the server is stopping. */
    cJSON *(*request)(struct mcp_call *call, const char *method, cJSON *params, int timeout_ms,
                      char *err, size_t err_len);
    void *transport; /* private */
    /* What the client declared it can answer: a 2026-07-28 request's
     * _meta["io.modelcontextprotocol/clientCapabilities"] (borrowed for the call), NULL under
     * the 2025-xx lifecycle (see mcp_client_has). */
    const cJSON *client_capabilities;
    /* 2026-07-28 retries of tools/call, prompts/get, resources/read (NULL otherwise): the
     * client's params.inputResponses (an object whose values are objects), and the state
     * this handler gave mcp_input_required, after the library checked it is ours, unchanged,
     * unexpired and presented on the same method and tool/prompt/URI. */
    const cJSON *input_responses;
    const char *request_state;
} mcp_call;

/* Whether the client declared `capability` ("sampling", "elicitation", "roots"), in either
 * era (2025-xx: at initialize; 2026-07-28: in the request's _meta). */
bool mcp_client_has(const mcp_call *call, const char *capability);

/* 2026-07-28 multi round-trip requests: from a tools/call, prompts/get or resources/read
 * handler, answers an InputRequiredResult instead of the handler's result. Takes
 * `input_requests` (an object of {method, params} requests for the client, or NULL); copies
 * `state` (NULL or text up to 16 KiB), which the library signs (HMAC-SHA256 with a
 * per-process random key, bound to the method, the tool/prompt/URI and a 10-minute expiry)
 * and hands back verified as call->request_state on the retry; at least one of the two.
 * Returns 0, or -1 (nothing taken over but `input_requests` freed) when the request cannot
 * carry one: a 2025-xx request (use call->request there), another method, a request for a
 * capability the client did not declare. */
int mcp_input_required(mcp_call *call, cJSON *input_requests, const char *state);

/* Answers MissingRequiredClientCapabilityError (-32021, HTTP 400) naming `capability`
 * instead of the handler's result (2026-07-28; under 2025-xx an isError tool result). */
void mcp_missing_capability(mcp_call *call, const char *capability);

/* ---- tools ---------------------------------------------------------------------- */

typedef struct mcp_tool_result {
    char *text;           /* malloc'd; becomes content[0] {type: text} (may be NULL) */
    cJSON *structured;    /* structuredContent (object) or NULL; owned by the library after */
    cJSON *extra_content; /* array of further content items (e.g. an embedded resource) or NULL */
    bool is_error;
} mcp_tool_result;

/* Fills `out`. Return 0; return -1 only for internal failures (answered -32603). */
typedef int (*mcp_tool_fn)(void *user, mcp_call *call, const cJSON *arguments,
                           mcp_tool_result *out);

typedef struct mcp_tool_def {
    const char *name;
    const char *title;
    const char *description;
    const char *input_schema;  /* JSON Schema text (object); validated at registration */
    const char *output_schema; /* JSON Schema text or NULL */
    bool read_only, idempotent,
        open_world; /* annotations readOnlyHint/idempotentHint/openWorldHint */
    mcp_tool_fn fn;
    void *user;
} mcp_tool_def;

/* Returns 0, or -1 (bad schema JSON, duplicate name). */
int mcp_server_add_tool(mcp_server *srv, const mcp_tool_def *def);

/* cJSON_AddItemToObject / cJSON_AddItemToArray that always take `item`: when the add fails
 * (a NULL container after an allocation failed) the item is deleted, where cJSON would
 * leave it to the caller, who builds answers without checking every step. Return whether
 * the item was added. */
bool mcp_json_add(cJSON *obj, const char *key, cJSON *item);
bool mcp_json_push(cJSON *array, cJSON *item);

/* Fills `out` with an isError result whose text is printf-formatted. Convenience. */
void mcp_tool_error(mcp_tool_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- resources ------------------------------------------------------------------- */

typedef struct mcp_resource_content {
    char *text;    /* malloc'd text, or NULL */
    uint8_t *blob; /* malloc'd bytes (sent base64), or NULL */
    size_t blob_len;
    const char *mime_type; /* static or owned by the resource definition */
} mcp_resource_content;

/* Returns 0, or -1 (answered -32002 "resource not found" / -32603). */
typedef int (*mcp_resource_fn)(void *user, mcp_call *call, const char *uri,
                               mcp_resource_content *out);

typedef struct mcp_resource_def {
    const char *uri; /* exact URI, or a URI template (RFC 6570 level 1) when
                        is_template */
    bool is_template;
    const char *name, *title, *description, *mime_type;
    mcp_resource_fn fn;
    void *user;
} mcp_resource_def;

int mcp_server_add_resource(mcp_server *srv, const mcp_resource_def *def);

/* ---- prompts and completion ------------------------------------------------------ */

typedef struct mcp_prompt_arg {
    const char *name, *description;
    bool required;
} mcp_prompt_arg;

/* Fills `messages` (a cJSON array of PromptMessage objects, owned by the library after)
 * and optionally `description`. `arguments` maps names to strings. Return 0, or -1 with
 * an error text in `err` (answered -32602). */
typedef int (*mcp_prompt_fn)(void *user, mcp_call *call, const cJSON *arguments, cJSON *messages,
                             char **description, char *err, size_t err_len);

/* Completion of one argument: fill `values` (cJSON array of strings, at most 100 are sent;
 * set *has_more / *total when known). `context_args` are the other arguments already
 * given (may be NULL). */
typedef int (*mcp_complete_fn)(void *user, const char *argument, const char *prefix,
                               const cJSON *context_args, cJSON *values, bool *has_more,
                               int *total);

typedef struct mcp_prompt_def {
    const char *name, *title, *description;
    const mcp_prompt_arg *args;
    size_t n_args;
    mcp_prompt_fn fn;
    mcp_complete_fn complete; /* or NULL: no completions */
    void *user;
} mcp_prompt_def;

int mcp_server_add_prompt(mcp_server *srv, const mcp_prompt_def *def);

/* Completion for arguments of resource templates (ref/resource); optional. */
int mcp_server_set_resource_completion(mcp_server *srv, const char *uri_template,
                                       mcp_complete_fn fn, void *user);

/* ---- dispatch (transport-independent) ---------------------------------------------- */

/* A protocol session: lifecycle state, negotiated version, log level. Over stdio there is
 * one; over HTTP one per Mcp-Session-Id. */
typedef struct mcp_session mcp_session;
mcp_session *mcp_session_new(mcp_server *srv);
void mcp_session_free(mcp_session *s);

/* Handles one JSON-RPC message or batch (text). Returns the response text to send
 * (malloc'd), or NULL when nothing is to be sent (notifications, responses).
 * `transport_call` (may be NULL) gives session_id and the transport's private sink for
 * notifications; the library itself fills progress/log of the mcp_call a handler gets
 * (always non-NULL there; no-ops without a sink, a progressToken or a high enough level). */
char *mcp_handle_message(mcp_server *srv, mcp_session *s, const char *text, size_t len,
                         const mcp_call *transport_call);

/* ---- stdio transport -------------------------------------------------------------- */

/* Reads newline-delimited JSON-RPC from `in`, writes responses and notifications to `out`
 * (one JSON per line, nothing else), until EOF or *stop_flag becomes nonzero.
 * Returns 0 at EOF. Logs go to stderr only. */
int mcp_stdio_serve(mcp_server *srv, FILE *in, FILE *out, volatile int *stop_flag);

/* ---- Streamable HTTP transport ----------------------------------------------------- */

/* A response for routes outside /mcp (the application's HTTP API). */
typedef struct mcp_http_response {
    int status;
    const char *content_type;     /* static string */
    const char *content_encoding; /* static string or NULL */
    uint8_t *body;                /* malloc'd; the library frees it */
    size_t len;
    const char *extra_header_name, *extra_header_value;   /* static, optional */
    const char *extra_header2_name, *extra_header2_value; /* a second one, likewise */
} mcp_http_response;

/* Looks up a query-string argument of the current request (NULL when absent). */
typedef const char *(*mcp_http_arg_fn)(void *conn, const char *key);

/* Handles a non-/mcp path. Return true when handled (out filled), false for 404. */
typedef bool (*mcp_http_route_fn)(void *user, const char *method, const char *path,
                                  mcp_http_arg_fn arg, void *conn, mcp_http_response *out);

typedef struct mcp_http_config {
    const char *addr;                   /* "127.0.0.1:4319" */
    const char *token;                  /* bearer token or NULL: when set, every path except
                                           /healthz and /metrics answers 401 without it */
    const char *const *allowed_origins; /* extra allowed Origin values (NULL-terminated) or
                                  NULL; loopback origins (http://localhost[:port],
                                  http://127.0.0.1[:port], http://[::1][:port]) are always
                                  allowed; any other Origin gets 403 */
    /* DNS rebinding, on every path (/mcp, the routes, /healthz, /metrics): a request needs
     * exactly one Host header (400 otherwise, HTTP/1.0 included) whose name, the port not
     * compared, is localhost, an IP address literal, the host of `addr`, or one of
     * allowed_hosts (NULL-terminated, case-insensitive, at most 64; NULL = none); any other
     * name gets 403. "*" allows every name and is refused without `token`. */
    const char *const *allowed_hosts;
    size_t max_body;         /* POST body cap (default 4 MiB) -> 413 */
    size_t max_sessions;     /* default 1024; the oldest idle session is dropped past it */
    int64_t session_idle_ns; /* sessions idle longer are dropped; default 1 h */
    mcp_http_route_fn route; /* other paths, or NULL */
    void *route_user;
    /* TLS (https://): PEM text, borrowed and read during mcp_http_start only; cert and key
     * together or neither. With tls_client_ca_pem, every request must come over a
     * connection whose client certificate that CA signed (mTLS); others get their
     * connection closed unanswered, /healthz and /metrics included. */
    const char *tls_cert_pem, *tls_key_pem, *tls_client_ca_pem;
} mcp_http_config;

typedef struct mcp_http mcp_http;

/* Whether `name` can be an allowed_hosts entry: a DNS name, an IP literal ("[v6]" in
 * brackets) or "*"; no scheme, no port. 0, or -1 with the reason in `err`. */
int mcp_http_check_host_name(const char *name, char *err, size_t err_len);

/* Starts listening (libmicrohttpd). NULL with `err` ("cannot listen on ...", a bad
 * allowed_hosts entry, "*" without a token) on failure.
 * Logs a loud warning when bound to a non-loopback address without a token. */
mcp_http *mcp_http_start(mcp_server *srv, const mcp_http_config *cfg, char *err, size_t err_len);
int mcp_http_port(const mcp_http *h);
/* Stops accepting, lets in-flight requests finish, frees sessions. */
void mcp_http_stop(mcp_http *h);

/* ---- client side (for `otelprofd mcp --connect` and `otelprofd query`) ----------- */

/* A minimal Streamable HTTP client (libcurl): initialize once, then send requests. */
typedef struct mcp_client mcp_client;

/* Connects to `url` (".../mcp"). With `initialize`, runs initialize +
 * notifications/initialized itself (for `otelprofd query`); without, the caller relays its
 * own client's initialize (the stdio bridge) and the Mcp-Session-Id the server returns is
 * captured and sent from then on. `token` may be NULL. NULL with `err` ("cannot reach
 * http://...: connection refused") on failure. */
mcp_client *mcp_client_connect(const char *url, const char *token, bool initialize, char *err,
                               size_t err_len);
/* TLS for https:// URLs: PEM file names (borrowed for the call; libcurl reads them). A
 * NULL ca_file trusts the system's CA store; cert_file and key_file present a client
 * certificate (both or neither). */
typedef struct mcp_client_tls {
    const char *ca_file, *cert_file, *key_file;
} mcp_client_tls;
/* mcp_client_connect with TLS settings (`tls` may be NULL: the defaults above). */
mcp_client *mcp_client_connect_tls(const char *url, const char *token, bool initialize,
                                   const mcp_client_tls *tls, char *err, size_t err_len);
/* Sends one JSON-RPC message text; returns the response message text (malloc'd; the JSON
 * or the "message" event of an SSE stream whose id matches the request), NULL for
 * notifications (202), or NULL with `err` on transport failure. Notifications the server
 * sends in an SSE stream before the response are passed to `on_notification` (may be
 * NULL). An HTTP refusal whose body is a JSON-RPC error (400/404: session missing or
 * expired) comes back as that error carrying the request's id; 401 and unreachable
 * servers give NULL with `err`. */
char *mcp_client_send(mcp_client *c, const char *json,
                      void (*on_notification)(void *u, const char *json), void *u, char *err,
                      size_t err_len);
/* The server's InitializeResult (borrowed, valid until mcp_client_close). For a server
 * that speaks 2026-07-28 (there is no handshake then) the same shape made from its
 * DiscoverResult: protocolVersion "2026-07-28", capabilities, serverInfo, instructions, and
 * supportedVersions. mcp_client_connect with `initialize` probes with server/discover
 * first and falls back to initialize for a 2025-xx server; without it, the first relayed
 * initialize does the same, and a 2025-xx client is then served by translation. */
const cJSON *mcp_client_server_info(const mcp_client *c);
void mcp_client_close(mcp_client *c);

#endif
