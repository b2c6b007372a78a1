/* mcp/http.c — the Streamable HTTP transport on libmicrohttpd (see mcp.h).
 *
 * POST /mcp carries one JSON-RPC message (or a batch under 2025-03-26). initialize opens a
 * session whose id travels in Mcp-Session-Id; every later request must echo it. Requests
 * are answered with application/json, or with text/event-stream when the handler sent
 * notifications (progress, log) or the client asked for progress: the stream is buffered
 * until the handler returns and then sent whole, which keeps the order (notifications
 * first, the response last) without a second thread per request; a client that renders
 * progress live sees it arrive together with the answer. A tools/call from a client that
 * accepts SSE runs on a thread of its own instead, with the connection suspended: if the
 * tool sends a request to the client (sampling, elicitation), the response turns into a
 * live SSE stream so the client can answer it with a POST of its own while the tool waits;
 * otherwise it is answered exactly as above. No standalone GET stream is offered (405), as
 * the server never speaks unprompted.
 */
#include "mcp/mcp_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MCP_PATH             "/mcp"
#define POOL_THREADS         4u
#define CONNECTION_TIMEOUT   120u /* seconds without I/O before a connection is dropped */
#define CONNECTION_LIMIT     256u
#define DEFAULT_MAX_BODY     ((size_t)4 << 20)
#define DEFAULT_MAX_SESSIONS ((size_t)1024)
#define DEFAULT_IDLE_NS      ((int64_t)3600 * 1000000000)
#define MAX_STREAM           ((size_t)64 << 20) /* buffered SSE notifications per request */
#define STOP_GRACE_NS        ((int64_t)5 * 1000000000)
#define MAX_ORIGINS          64
#define MAX_HOSTS            64
#define MAX_HOST_NAME        256 /* a DNS name is at most 253 characters */
/* With 3/4 of CONNECTION_LIMIT open, a connection whose request head has not arrived
 * HEAD_DEADLINE_S after it started waiting for one is shut down (base_reaper). */
#define HEAD_DEADLINE_S 10u
#define HEAD_PRESSURE   (CONNECTION_LIMIT / 4u * 3u)

typedef struct sess_ent {
    char id[33];
    mcp_session *s;
    int64_t last_used; /* monotonic ns */
    int refs;          /* requests using it right now */
    bool dead;         /* removed from the table; freed by the last user */
} sess_ent;

struct mcp_http {
    struct MHD_Daemon *daemon;
    int port;
    mcp_server *srv;
    char *addr;
    char *token;
    char *origins[MAX_ORIGINS];
    size_t n_origins;
    char *hosts[MAX_HOSTS]; /* names the Host header may carry besides the defaults */
    size_t n_hosts;
    bool any_host; /* "*" was allowed: the Host check is off (only with a token) */
    size_t max_body, max_sessions;
    base_reaper *reaper; /* request-head deadline under connection pressure (slowloris) */
    int64_t idle_ns;
    mcp_http_route_fn route;
    void *route_user;
    pthread_mutex_t mu; /* the session table and the live list */
    sess_ent **sessions;
    size_t n_sessions;
    _Atomic int in_flight;
    _Atomic int workers;              /* live threads still running a handler */
    bool verify_client;               /* mTLS: every request checks the peer's certificate */
    _Atomic int64_t last_refusal_log; /* monotonic ns; refusals are logged once a second */
    _Atomic bool stopping;
    struct live *lives; /* every live request not yet freed */
};

typedef struct http_req {
    bool responded; /* an answer is queued: whatever else arrives is dropped */
    bool too_large;
    bool accepts_sse;
    char *body;
    size_t len, cap;
    struct live *live; /* a tools/call running on its own thread, or NULL */
} http_req;

/* The SSE stream of one request, filled by the emitter while the handler runs. */
typedef struct sse_buf {
    char *p;
    size_t len, cap;
    size_t events;
    bool dropped; /* over MAX_STREAM: later notifications are left out */
} sse_buf;

/* A tools/call handled on its own thread while its connection is suspended. Shared by the
 * worker, the connection (http_req) and, once streaming, the MHD response: `refs` counts
 * them; everything below is under `mu`. */
typedef struct live {
    pthread_mutex_t mu;
    int refs;
    mcp_http *h;
    struct MHD_Connection *conn; /* NULL once the connection is gone */
    sess_ent *ent;
    cJSON *root;
    sse_buf buf;
    size_t sent;    /* bytes of buf handed to MHD (streaming) */
    bool streaming; /* the handler asked to go live: the response is an open SSE stream */
    bool done;      /* the handler returned */
    bool suspended; /* the connection waits for us to resume it */
    char *text;     /* the response text when done without streaming */
    mcp__outcome oc;
    bool progress;
    struct live *next;
} live;

/* ---- helpers shared with tests (mcp_internal.h) -------------------------------------------- */

int mcp__random(uint8_t *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    if (got == n)
        return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (got < n) {
        ssize_t r = read(fd, out + got, n - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    return 0;
}

bool mcp__secure_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    /* walk the expected value's length whatever the guess is, so timing says nothing of
     * how many leading bytes matched */
    for (size_t i = 0; i < lb; i++)
        d |= (unsigned char)((i < la ? (unsigned char)a[i] : 0) ^ (unsigned char)b[i]);
    return d == 0;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

bool mcp__accepts(const char *accept, const char *type)
{
    if (!accept)
        return false;
    const char *slash = strchr(type, '/');
    size_t major = slash ? (size_t)(slash - type) : strlen(type);
    const char *p = accept;
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *s = p, *e = semi ? semi : end;
        trim(&s, &e);
        size_t n = (size_t)(e - s);
        if ((n == strlen(type) && strncasecmp(s, type, n) == 0) ||
            (n == 3 && memcmp(s, "*/*", 3) == 0) ||
            (n == major + 2 && strncasecmp(s, type, major) == 0 && s[major] == '/' &&
             s[major + 1] == '*'))
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

bool mcp__host_parse(const char *host, char *name, size_t name_len, bool *is_ip)
{
    if (!host || !name || name_len == 0)
        return false;
    *is_ip = false;
    const char *p = host, *end;
    bool v6 = *p == '[';
    if (v6) {
        end = strchr(p, ']');
        if (!end)
            return false;
        p++;
    } else {
        end = p + strcspn(p, ":");
    }
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= name_len)
        return false;
    memcpy(name, p, n);
    name[n] = '\0';
    const char *port = v6 ? end + 1 : end;
    if (*port == ':') {
        /* RFC 3986: port = *DIGIT, so "host:" is a (useless) valid form */
        size_t digits = strspn(port + 1, "0123456789");
        if (digits > 5 || port[1 + digits] != '\0' || (digits && atol(port + 1) > 65535))
            return false;
    } else if (*port != '\0') {
        return false;
    }
    if (v6) {
        struct in6_addr a6;
        *is_ip = inet_pton(AF_INET6, name, &a6) == 1;
        return *is_ip;
    }
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '-' && name[i] != '_')
            return false;
    if (n > 1 && name[n - 1] == '.')
        name[--n] = '\0'; /* the absolute form of the same name */
    struct in_addr a4;
    *is_ip = inet_pton(AF_INET, name, &a4) == 1;
    return true;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static void ent_free(sess_ent *e)
{
    mcp_session_free(e->s);
    free(e);
}

/* Removes the table slot `i` (lock held); the entry is freed now or by its last user. */
static void table_drop(mcp_http *h, size_t i)
{
    sess_ent *e = h->sessions[i];
    h->sessions[i] = h->sessions[--h->n_sessions];
    e->dead = true;
    if (e->refs == 0)
        ent_free(e);
}

static void sweep_expired(mcp_http *h, int64_t now)
{
    for (size_t i = 0; i < h->n_sessions;) {
        sess_ent *e = h->sessions[i];
        if (e->refs == 0 && now - e->last_used > h->idle_ns)
            table_drop(h, i);
        else
            i++;
    }
}

static sess_ent *session_acquire(mcp_http *h, const char *id)
{
    int64_t now = base_now_mono_ns();
    sess_ent *found = NULL;
    pthread_mutex_lock(&h->mu);
    sweep_expired(h, now);
    for (size_t i = 0; i < h->n_sessions; i++) {
        if (mcp__secure_equal(id, h->sessions[i]->id)) {
            found = h->sessions[i];
            found->refs++;
            found->last_used = now;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return found;
}

static void session_release(mcp_http *h, sess_ent *e)
{
    pthread_mutex_lock(&h->mu);
    e->refs--;
    e->last_used = base_now_mono_ns();
    bool free_it = e->dead && e->refs == 0;
    pthread_mutex_unlock(&h->mu);
    if (free_it)
        ent_free(e);
}

/* Puts a fresh entry into the table, dropping the least recently used idle session when
 * full. false when every slot is busy. */
static bool session_insert(mcp_http *h, sess_ent *e)
{
    int64_t now = base_now_mono_ns();
    bool ok = true;
    pthread_mutex_lock(&h->mu);
    sweep_expired(h, now);
    if (h->n_sessions >= h->max_sessions) {
        size_t oldest = SIZE_MAX;
        for (size_t i = 0; i < h->n_sessions; i++)
            if (h->sessions[i]->refs == 0 &&
                (oldest == SIZE_MAX || h->sessions[i]->last_used < h->sessions[oldest]->last_used))
                oldest = i;
        if (oldest == SIZE_MAX)
            ok = false;
        else
            table_drop(h, oldest);
    }
    if (ok) {
        e->last_used = now;
        h->sessions[h->n_sessions++] = e;
    }
    pthread_mutex_unlock(&h->mu);
    return ok;
}

static bool session_delete(mcp_http *h, const char *id)
{
    bool found = false;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->n_sessions; i++) {
        if (mcp__secure_equal(id, h->sessions[i]->id)) {
            table_drop(h, i);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return found;
}

/* ---- responses ------------------------------------------------------------------------------- */

static enum MHD_Result queue(struct MHD_Connection *conn, http_req *r, unsigned status,
                             const char *ctype, char *body, size_t len, const char *h1,
                             const char *v1, const char *h2, const char *v2)
{
    /* takes ownership of body (malloc'd) */
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (ctype && strcmp(ctype, "text/event-stream") == 0)
        MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* proxies: no buffering */
    if (h1 && v1)
        MHD_add_response_header(resp, h1, v1);
    if (h2 && v2)
        MHD_add_response_header(resp, h2, v2);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}

static enum MHD_Result queue_text(struct MHD_Connection *conn, http_req *r, unsigned status,
                                  const char *text, const char *h1, const char *v1)
{
    char *body = NULL;
    if (asprintf(&body, "%s\n", text) < 0)
        body = NULL;
    return queue(conn, r, status, "text/plain; charset=utf-8", body, body ? strlen(body) : 0, h1,
                 v1, NULL, NULL);
}

/* A transport-level refusal on /mcp: a JSON-RPC error without a request id, as the
 * Streamable HTTP spec allows in the body of an HTTP error. */
static enum MHD_Result queue_rpc_error(struct MHD_Connection *conn, http_req *r, unsigned status,
                                       int code, const char *message, const char *h1,
                                       const char *v1)
{
    cJSON *e = mcp__error_response(NULL, code, message, NULL);
    char *body = e ? cJSON_PrintUnformatted(e) : NULL;
    cJSON_Delete(e);
    return queue(conn, r, status, "application/json", body, body ? strlen(body) : 0, h1, v1, NULL,
                 NULL);
}

/* ---- mTLS ------------------------------------------------------------------------------------ */

/* The check MHD_OPTION_HTTPS_MEM_TRUST alone does not make (base_tls_verify_peer). */
static bool client_cert_ok(struct MHD_Connection *conn, char *why, size_t why_len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return base_tls_verify_peer(ci ? ci->tls_session : NULL, why, why_len);
}

/* ---- the request ----------------------------------------------------------------------------- */

static bool origin_allowed(const mcp_http *h, const char *origin)
{
    if (!origin)
        return true; /* not a browser: DNS rebinding needs one */
    if (base_origin_is_loopback(origin))
        return true;
    for (size_t i = 0; i < h->n_origins; i++)
        if (strcasecmp(origin, h->origins[i]) == 0)
            return true;
    return false;
}

static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    (void)value;
    if (key && strcasecmp(key, "Host") == 0)
        (*(unsigned *)cls)++;
    return MHD_YES;
}

/* DNS rebinding: a page of attacker.example whose name the attacker's DNS then points at
 * 127.0.0.1 talks to this server as its own origin, with no Origin header on GETs and
 * "Host: attacker.example". So the Host name must be one this server answers to:
 * localhost, any IP address literal (a rebinding needs a name the attacker controls; a
 * literal in the URL is an origin of its own that a foreign page cannot read), the host
 * of the listen address, or a configured name. The port is not compared: a page reaches
 * the server on its real port anyway, and a proxy in front may show its own. Returns 0
 * (allowed) or the HTTP status to refuse with, the reason in `msg`. */
static unsigned host_check(const mcp_http *h, struct MHD_Connection *conn, char *msg,
                           size_t msg_len)
{
    unsigned n = 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_host, &n);
    const char *host = NULL;
    size_t host_len = 0;
    if (MHD_lookup_connection_value_n(conn, MHD_HEADER_KIND, "Host", 4, &host, &host_len) !=
        MHD_YES)
        host = NULL;
    if (n == 0 || !host) {
        /* a browser always sends one, but HTTP/1.1 requires it, and refusing HTTP/1.0
         * without one too keeps a single rule: every request names its server */
        snprintf(msg, msg_len,
                 "bad request: no Host header (this server checks it against DNS "
                 "rebinding; HTTP/1.0 requests need one too)");
        return MHD_HTTP_BAD_REQUEST;
    }
    if (n > 1) {
        snprintf(msg, msg_len, "bad request: more than one Host header");
        return MHD_HTTP_BAD_REQUEST;
    }
    char name[MAX_HOST_NAME];
    bool is_ip = false;
    /* an embedded NUL would hide the rest of the value from the C-string checks */
    if (strlen(host) != host_len || !mcp__host_parse(host, name, sizeof name, &is_ip)) {
        snprintf(msg, msg_len, "bad request: malformed Host header");
        return MHD_HTTP_BAD_REQUEST;
    }
    if (h->any_host || is_ip || strcasecmp(name, "localhost") == 0)
        return 0;
    for (size_t i = 0; i < h->n_hosts; i++)
        if (strcasecmp(name, h->hosts[i]) == 0)
            return 0;
    /* `name` passed mcp__host_parse: letters, digits, '.', '-', '_' only */
    snprintf(msg, msg_len,
             "forbidden: Host \"%.128s\" is not a name of this server, which answers to "
             "localhost, IP addresses, the host it listens on and the names it was given "
             "(otelprofd: --mcp-allow-host NAME). This refusal stops web pages that reach a "
             "local server through DNS rebinding.",
             name);
    return MHD_HTTP_FORBIDDEN;
}

static bool token_ok(const mcp_http *h, struct MHD_Connection *conn)
{
    if (!h->token)
        return true;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *t = auth + 7;
    while (*t == ' ')
        t++;
    return mcp__secure_equal(t, h->token);
}

static bool media_type_is(const char *header, const char *type)
{
    if (!header)
        return false;
    const char *s = header, *e = strchr(header, ';');
    if (!e)
        e = header + strlen(header);
    trim(&s, &e);
    return (size_t)(e - s) == strlen(type) && strncasecmp(s, type, strlen(type)) == 0;
}

static const char *arg_lookup(void *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result serve_route(mcp_http *h, struct MHD_Connection *conn, http_req *r,
                                   const char *url, const char *method)
{
    mcp_http_response out = {0};
    if (h->route && h->route(h->route_user, method, url, arg_lookup, conn, &out)) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            out.len, out.body ? (void *)out.body : (void *)"",
            out.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!resp) {
            free(out.body);
            return MHD_NO;
        }
        if (out.content_type)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, out.content_type);
        if (out.content_encoding)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, out.content_encoding);
        if (out.extra_header_name && out.extra_header_value)
            MHD_add_response_header(resp, out.extra_header_name, out.extra_header_value);
        if (out.extra_header2_name && out.extra_header2_value)
            MHD_add_response_header(resp, out.extra_header2_name, out.extra_header2_value);
        enum MHD_Result ret =
            MHD_queue_response(conn, out.status > 0 ? (unsigned)out.status : 200u, resp);
        MHD_destroy_response(resp);
        r->responded = true;
        return ret;
    }
    free(out.body);
    if (strcmp(url, "/healthz") == 0)
        return queue_text(conn, r, MHD_HTTP_OK, "ok", NULL, NULL);
    return queue_text(conn, r, MHD_HTTP_NOT_FOUND, "not found: MCP is served at POST " MCP_PATH,
                      NULL, NULL);
}

static enum MHD_Result begin(mcp_http *h, struct MHD_Connection *conn, const char *url,
                             const char *method, http_req *r)
{
    bool is_mcp = strcmp(url, MCP_PATH) == 0;
    char host_msg[600];
    unsigned host_status = host_check(h, conn, host_msg, sizeof host_msg);
    if (host_status)
        return is_mcp ? queue_rpc_error(conn, r, host_status, -32000, host_msg, NULL, NULL)
                      : queue_text(conn, r, host_status, host_msg, NULL, NULL);
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (!origin_allowed(h, origin)) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "forbidden: Origin \"%.128s\" is not allowed (only loopback origins and those "
                 "configured)",
                 origin);
        return is_mcp ? queue_rpc_error(conn, r, MHD_HTTP_FORBIDDEN, -32000, msg, NULL, NULL)
                      : queue_text(conn, r, MHD_HTTP_FORBIDDEN, msg, NULL, NULL);
    }
    bool exempt = strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0;
    if (!exempt && !token_ok(h, conn)) {
        const char *msg = "unauthorized: send the bearer token as \"Authorization: Bearer "
                          "<token>\"";
        return is_mcp ? queue_rpc_error(conn, r, MHD_HTTP_UNAUTHORIZED, -32000, msg,
                                        MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer")
                      : queue_text(conn, r, MHD_HTTP_UNAUTHORIZED, msg,
                                   MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    }
    if (!is_mcp)
        return serve_route(h, conn, r, url, method);

    if (strcmp(method, "DELETE") == 0) {
        const char *sid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Mcp-Session-Id");
        if (!sid)
            return queue_rpc_error(conn, r, MHD_HTTP_BAD_REQUEST, MCP__INVALID_REQUEST,
                                   "bad request: DELETE needs the Mcp-Session-Id header", NULL,
                                   NULL);
        if (!session_delete(h, sid))
            return queue_rpc_error(conn, r, MHD_HTTP_NOT_FOUND, -32001,
                                   "session not found (expired or ended): initialize again", NULL,
                                   NULL);
        return queue(conn, r, MHD_HTTP_OK, NULL, NULL, 0, NULL, NULL, NULL, NULL);
    }
    if (strcmp(method, "POST") != 0)
        return queue_rpc_error(conn, r, MHD_HTTP_METHOD_NOT_ALLOWED, -32000,
                               "method not allowed: POST JSON-RPC messages to " MCP_PATH
                               " (no standalone SSE stream is offered), DELETE ends a session",
                               MHD_HTTP_HEADER_ALLOW, "POST, DELETE");
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!media_type_is(ct, "application/json"))
        return queue_rpc_error(conn, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, -32000,
                               "unsupported media type: send Content-Type: application/json", NULL,
                               NULL);
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    /* a missing Accept is tolerated (curl one-liners); a present one must admit an answer */
    r->accepts_sse = accept && mcp__accepts(accept, "text/event-stream");
    if (accept && !r->accepts_sse && !mcp__accepts(accept, "application/json"))
        return queue_rpc_error(conn, r, MHD_HTTP_NOT_ACCEPTABLE, -32000,
                               "not acceptable: Accept must include application/json and "
                               "text/event-stream",
                               NULL, NULL);
    /* MCP-Protocol-Version is judged with the body (finish): 2026-07-28 wants it compared
     * with the body's _meta, and an unknown one answered with the supported list */
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno == ERANGE || v > h->max_body) {
            char msg[160];
            snprintf(msg, sizeof msg, "payload too large: the body limit is %zu bytes",
                     h->max_body);
            return queue_rpc_error(conn, r, MHD_HTTP_CONTENT_TOO_LARGE, MCP__INVALID_REQUEST, msg,
                                   NULL, NULL);
        }
    }
    return MHD_YES;
}

static void append_body(mcp_http *h, http_req *r, const char *data, size_t n)
{
    if (r->too_large)
        return;
    if (n > h->max_body - r->len) {
        r->too_large = true;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        return;
    }
    if (r->len + n + 1 > r->cap) {
        size_t ncap = r->cap ? r->cap : 4096;
        while (ncap < r->len + n + 1)
            ncap *= 2;
        if (ncap > h->max_body + 1)
            ncap = h->max_body + 1;
        char *nb = realloc(r->body, ncap);
        if (!nb) {
            r->too_large = true;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return;
        }
        r->body = nb;
        r->cap = ncap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

static void sse_append(sse_buf *b, const char *json, size_t len)
{
    static const char head[] = "event: message\ndata: ";
    size_t need = sizeof head - 1 + len + 2;
    if (b->dropped || need > MAX_STREAM - b->len) {
        b->dropped = true;
        return;
    }
    if (b->len + need + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + need + 1)
            ncap *= 2;
        char *nb = realloc(b->p, ncap);
        if (!nb) {
            b->dropped = true;
            return;
        }
        b->p = nb;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, head, sizeof head - 1);
    b->len += sizeof head - 1;
    memcpy(b->p + b->len, json, len);
    b->len += len;
    memcpy(b->p + b->len, "\n\n", 2);
    b->len += 2;
    b->p[b->len] = '\0';
}

static void sse_emit(void *user, const char *json, size_t len)
{
    sse_buf *b = user;
    sse_append(b, json, len);
    if (!b->dropped)
        b->events++;
}

static bool wants_progress(const cJSON *root)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");
    return cJSON_GetObjectItemCaseSensitive(meta, "progressToken") != NULL;
}

/* Answers a handled message: 202 for nothing to say, 400 when no request was in it, SSE
 * when notifications were sent or progress asked for, JSON otherwise. Takes `text` and
 * sse->p. */
static enum MHD_Result respond(struct MHD_Connection *conn, http_req *r, char *text,
                               const mcp__outcome *oc, sse_buf *sse, bool progress,
                               const char *sid_header)
{
    enum MHD_Result ret;
    if (!text) {
        ret = queue(conn, r, MHD_HTTP_ACCEPTED, NULL, NULL, 0, NULL, NULL, NULL, NULL);
    } else if (!oc->had_request) {
        ret = queue(conn, r, MHD_HTTP_BAD_REQUEST, "application/json", text, strlen(text), NULL,
                    NULL, NULL, NULL);
        text = NULL;
    } else if (r->accepts_sse && (sse->events > 0 || progress)) {
        sse_append(sse, text, strlen(text));
        if (sse->dropped) {
            /* the response itself must get through even when notifications filled the cap */
            free(sse->p);
            *sse = (sse_buf){0};
            sse_append(sse, text, strlen(text));
        }
        ret = sse->p ? queue(conn, r, MHD_HTTP_OK, "text/event-stream", sse->p, sse->len,
                             "Mcp-Session-Id", sid_header, "Cache-Control", "no-cache")
                     : MHD_NO;
        sse->p = NULL;
    } else {
        ret = queue(conn, r, MHD_HTTP_OK, "application/json", text, strlen(text), "Mcp-Session-Id",
                    sid_header, NULL, NULL);
        text = NULL;
    }
    free(text);
    free(sse->p);
    sse->p = NULL;
    return ret;
}

/* ---- live requests ------------------------------------------------------------------- */

/* Resumes the connection if it waits for us. Under lv->mu. */
static void live_wake(live *lv)
{
    if (lv->suspended && lv->conn) {
        lv->suspended = false;
        MHD_resume_connection(lv->conn);
    }
}

static void live_unref(live *lv)
{
    pthread_mutex_lock(&lv->mu);
    bool last = --lv->refs == 0;
    pthread_mutex_unlock(&lv->mu);
    if (!last)
        return;
    mcp_http *h = lv->h;
    pthread_mutex_lock(&h->mu);
    for (live **pp = &h->lives; *pp; pp = &(*pp)->next)
        if (*pp == lv) {
            *pp = lv->next;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    free(lv->buf.p);
    free(lv->text);
    pthread_mutex_destroy(&lv->mu);
    free(lv);
}

static void live_emit(void *user, const char *json, size_t len)
{
    live *lv = user;
    pthread_mutex_lock(&lv->mu);
    if (lv->streaming && lv->sent == lv->buf.len)
        lv->buf.len = lv->sent = 0; /* all sent: reuse the buffer from its start */
    sse_append(&lv->buf, json, len);
    if (!lv->buf.dropped)
        lv->buf.events++;
    if (lv->streaming)
        live_wake(lv);
    pthread_mutex_unlock(&lv->mu);
}

static bool live_go(void *user)
{
    live *lv = user;
    pthread_mutex_lock(&lv->mu);
    bool ok = lv->conn != NULL && !atomic_load(&lv->h->stopping);
    if (ok) {
        lv->streaming = true;
        live_wake(lv);
    }
    pthread_mutex_unlock(&lv->mu);
    return ok;
}

/* The live path serves 2025-xx sessions only: no header is consulted there, but the
 * emitter must say "HTTP" so the era follows the session (see mcp__emitter.header). */
static const char *no_header(void *user, const char *name)
{
    (void)user, (void)name;
    return NULL;
}

static const char *conn_header(void *user, const char *name)
{
    return MHD_lookup_connection_value(user, MHD_HEADER_KIND, name);
}

static void *live_run(void *arg)
{
    live *lv = arg;
    mcp_http *h = lv->h;
    mcp__emitter em = {live_emit, lv, live_go, no_header, NULL};
    mcp_call tc = {0};
    tc.session_id = lv->ent->id;
    tc.transport = &em;
    mcp__outcome oc;
    cJSON *resp = mcp__handle_json(h->srv, lv->ent->s, lv->root, &tc, &oc);
    char *text = resp ? cJSON_PrintUnformatted(resp) : NULL;
    cJSON_Delete(resp);
    cJSON_Delete(lv->root);
    lv->root = NULL;
    pthread_mutex_lock(&lv->mu);
    lv->oc = oc;
    if (lv->streaming && text) {
        if (lv->sent == lv->buf.len)
            lv->buf.len = lv->sent = 0;
        lv->buf.dropped = false; /* the response itself must get through */
        sse_append(&lv->buf, text, strlen(text));
    } else {
        lv->text = text;
        text = NULL;
    }
    lv->done = true;
    live_wake(lv);
    pthread_mutex_unlock(&lv->mu);
    free(text);
    session_release(h, lv->ent);
    live_unref(lv);
    atomic_fetch_sub(&h->workers, 1);
    return NULL;
}

static ssize_t live_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    live *lv = cls;
    pthread_mutex_lock(&lv->mu);
    ssize_t n;
    if (lv->sent < lv->buf.len) {
        size_t k = lv->buf.len - lv->sent;
        if (k > max)
            k = max;
        memcpy(buf, lv->buf.p + lv->sent, k);
        lv->sent += k;
        n = (ssize_t)k;
    } else if (lv->done) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (atomic_load(&lv->h->stopping) || !lv->conn) {
        n = MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
        /* nothing to send yet: sleep until the worker emits (live_wake) */
        lv->suspended = true;
        MHD_suspend_connection(lv->conn);
        n = 0;
    }
    pthread_mutex_unlock(&lv->mu);
    return n;
}

static void live_response_done(void *cls)
{
    live_unref(cls);
}

/* The connection of a live request is called again (resumed): answer whole, open the
 * stream, or wait on. */
static enum MHD_Result live_resume(mcp_http *h, struct MHD_Connection *conn, http_req *r)
{
    live *lv = r->live;
    pthread_mutex_lock(&lv->mu);
    if (lv->streaming) {
        lv->refs++;
        pthread_mutex_unlock(&lv->mu);
        struct MHD_Response *resp = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 4096, live_read, lv, live_response_done);
        if (!resp) {
            live_unref(lv);
            return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        r->responded = true;
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (lv->done) {
        char *text = lv->text;
        lv->text = NULL;
        sse_buf sse = lv->buf;
        lv->buf = (sse_buf){0};
        mcp__outcome oc = lv->oc;
        bool progress = lv->progress;
        pthread_mutex_unlock(&lv->mu);
        return respond(conn, r, text, &oc, &sse, progress, NULL);
    }
    if (atomic_load(&h->stopping)) {
        pthread_mutex_unlock(&lv->mu);
        return queue_rpc_error(conn, r, MHD_HTTP_SERVICE_UNAVAILABLE, -32000,
                               "server stopping: retry later", NULL, NULL);
    }
    lv->suspended = true;
    MHD_suspend_connection(conn);
    pthread_mutex_unlock(&lv->mu);
    return MHD_YES;
}

/* Starts `root` (taken) on a thread of its own with the connection suspended. False when
 * no thread could be started (root not taken): the caller handles it inline. */
static bool live_start(mcp_http *h, struct MHD_Connection *conn, http_req *r, sess_ent *ent,
                       cJSON *root, bool progress)
{
    live *lv = calloc(1, sizeof *lv);
    if (!lv || pthread_mutex_init(&lv->mu, NULL) != 0) {
        free(lv);
        return false;
    }
    lv->refs = 2; /* the worker and the connection */
    lv->h = h;
    lv->conn = conn;
    lv->ent = ent;
    lv->root = root;
    lv->progress = progress;
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    atomic_fetch_add(&h->workers, 1);
    pthread_mutex_lock(&lv->mu); /* the worker cannot wake us before we are suspended */
    if (pthread_create(&t, &attr, live_run, lv) != 0) {
        pthread_mutex_unlock(&lv->mu);
        pthread_attr_destroy(&attr);
        atomic_fetch_sub(&h->workers, 1);
        pthread_mutex_destroy(&lv->mu);
        free(lv);
        return false;
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&h->mu);
    lv->next = h->lives;
    h->lives = lv;
    pthread_mutex_unlock(&h->mu);
    r->live = lv;
    lv->suspended = true;
    MHD_suspend_connection(conn);
    pthread_mutex_unlock(&lv->mu);
    return true;
}

static bool is_tools_call(const cJSON *root)
{
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
    return cJSON_IsObject(root) && cJSON_IsString(method) &&
           strcmp(method->valuestring, "tools/call") == 0 &&
           cJSON_GetObjectItemCaseSensitive(root, "id") != NULL;
}

static enum MHD_Result finish(mcp_http *h, struct MHD_Connection *conn, http_req *r)
{
    if (r->too_large) {
        char msg[160];
        snprintf(msg, sizeof msg, "payload too large: the body limit is %zu bytes", h->max_body);
        return queue_rpc_error(conn, r, MHD_HTTP_CONTENT_TOO_LARGE, MCP__INVALID_REQUEST, msg, NULL,
                               NULL);
    }
    cJSON *root = mcp__parse(r->body ? r->body : "", r->len);
    if (!root && base_alloc_failed())
        return queue_rpc_error(conn, r, MHD_HTTP_SERVICE_UNAVAILABLE, MCP__INTERNAL_ERROR,
                               "internal error: out of memory reading the body", NULL, NULL);
    if (!root)
        return queue_rpc_error(conn, r, MHD_HTTP_BAD_REQUEST, MCP__PARSE_ERROR,
                               "parse error: the body is not one valid JSON value", NULL, NULL);
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
    bool is_init = cJSON_IsObject(root) && cJSON_IsString(method) &&
                   strcmp(method->valuestring, "initialize") == 0 &&
                   cJSON_GetObjectItemCaseSensitive(root, "id") != NULL;
    /* The era, per request (versioning: initialize opens the 2025-xx lifecycle): a
     * 2026-07-28 or unknown MCP-Protocol-Version header, or none with the 2026-07-28 _meta
     * in the body, is served statelessly (no session; Mcp-Session-Id ignored); a 2025-xx
     * header, or none and no such _meta, is the 2025-xx lifecycle. */
    const char *pv = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "MCP-Protocol-Version");
    bool modern = pv ? !mcp__version_legacy(pv) : mcp__meta_version(root) != NULL;
    if (modern)
        is_init = false; /* an initialize in 2026-07-28 clothes: a removed method (404) */
    if (modern) {
        sse_buf msse = {0};
        mcp__emitter mem = {sse_emit, &msse, NULL, conn_header, conn};
        mcp_call mtc = {0};
        mtc.transport = &mem;
        mcp__outcome moc;
        cJSON *mresp = mcp__handle_json(h->srv, NULL, root, &mtc, &moc);
        bool progress = wants_progress(root);
        cJSON_Delete(root);
        char *text = mresp ? cJSON_PrintUnformatted(mresp) : NULL;
        cJSON_Delete(mresp);
        if (text && moc.http_status) {
            free(msse.p);
            enum MHD_Result ret = queue(conn, r, moc.http_status, "application/json", text,
                                        strlen(text), NULL, NULL, NULL, NULL);
            return ret;
        }
        return respond(conn, r, text, &moc, &msse, progress, NULL);
    }
    sess_ent *ent = NULL;
    if (is_init) {
        /* a new session per initialize, whatever Mcp-Session-Id came along */
        uint8_t raw[16];
        ent = calloc(1, sizeof *ent);
        if (!ent || mcp__random(raw, sizeof raw) != 0 || !(ent->s = mcp_session_new(h->srv))) {
            free(ent);
            cJSON_Delete(root);
            return queue_rpc_error(conn, r, MHD_HTTP_INTERNAL_SERVER_ERROR, MCP__INTERNAL_ERROR,
                                   "internal error: cannot create a session", NULL, NULL);
        }
        for (size_t i = 0; i < sizeof raw; i++)
            snprintf(ent->id + 2 * i, 3, "%02x", raw[i]);
    } else {
        const char *sid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Mcp-Session-Id");
        if (!sid) {
            cJSON_Delete(root);
            return queue_rpc_error(conn, r, MHD_HTTP_BAD_REQUEST, MCP__INVALID_REQUEST,
                                   "bad request: Mcp-Session-Id header missing; send initialize "
                                   "first and echo the Mcp-Session-Id it returns",
                                   NULL, NULL);
        }
        ent = session_acquire(h, sid);
        if (!ent) {
            cJSON_Delete(root);
            return queue_rpc_error(conn, r, MHD_HTTP_NOT_FOUND, -32001,
                                   "session not found (expired or ended): initialize again", NULL,
                                   NULL);
        }
    }
    if (!is_init && r->accepts_sse && is_tools_call(root) && !atomic_load(&h->stopping) &&
        live_start(h, conn, r, ent, root, wants_progress(root)))
        return MHD_YES; /* the worker owns root and the session reference now */
    sse_buf sse = {0};
    mcp__emitter em = {sse_emit, &sse, NULL, conn_header, conn};
    mcp_call tc = {0};
    tc.session_id = ent->id;
    tc.transport = &em;
    mcp__outcome oc;
    cJSON *resp = mcp__handle_json(h->srv, ent->s, root, &tc, &oc);
    bool progress = wants_progress(root);
    cJSON_Delete(root);
    const char *sid_header = NULL;
    char sid_copy[sizeof ent->id];
    if (is_init) {
        /* copied before the entry is shared: another request may drop it at once */
        memcpy(sid_copy, ent->id, sizeof sid_copy);
        if (oc.initialized && session_insert(h, ent)) {
            sid_header = sid_copy;
        } else {
            bool full = oc.initialized;
            ent_free(ent);
            ent = NULL;
            if (full) {
                cJSON_Delete(resp);
                free(sse.p);
                return queue_rpc_error(conn, r, MHD_HTTP_SERVICE_UNAVAILABLE, -32000,
                                       "too many sessions in use: retry later", NULL, NULL);
            }
        }
    }
    char *text = resp ? cJSON_PrintUnformatted(resp) : NULL;
    cJSON_Delete(resp);
    enum MHD_Result ret = respond(conn, r, text, &oc, &sse, progress, sid_header);
    if (ent && !is_init)
        session_release(h, ent);
    return ret;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    mcp_http *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
            *socket_context = base_reaper_add(h->reaper, ci->connect_fd);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        base_reaper_remove(h->reaper, *socket_context);
        *socket_context = NULL;
    }
}

static base_reaper_conn *reaper_entry(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    mcp_http *h = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        base_reaper_head_done(h->reaper, reaper_entry(conn));
        atomic_fetch_add(&h->in_flight, 1);
        if (h->verify_client) {
            char why[BASE_ERR_LEN];
            if (!client_cert_ok(conn, why, sizeof why)) {
                int64_t now = base_now_mono_ns(), last = atomic_load(&h->last_refusal_log);
                if (now - last >= 1000000000 &&
                    atomic_compare_exchange_strong(&h->last_refusal_log, &last, now))
                    base_log(BASE_LOG_WARN, "mcp http: connection refused: %s", why);
                /* closed unanswered: an unauthenticated peer learns nothing */
                return MHD_NO;
            }
        }
        return begin(h, conn, url, method, r);
    }
    if (r->responded) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->live)
        return live_resume(h, conn, r);
    if (*upload_data_size) {
        append_body(h, r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return finish(h, conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    mcp_http *h = cls;
    http_req *r = *con_cls;
    if (!r)
        return;
    base_reaper_request_done(h->reaper, reaper_entry(conn)); /* the next head's wait */
    if (r->live) {
        live *lv = r->live;
        pthread_mutex_lock(&lv->mu);
        lv->conn = NULL;
        lv->suspended = false;
        pthread_mutex_unlock(&lv->mu);
        live_unref(lv);
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&h->in_flight, 1);
}

/* ---- start / stop ------------------------------------------------------------------------------
 */

static bool host_is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

static void free_http(mcp_http *h)
{
    base_reaper_stop(h->reaper); /* the daemon is stopped (or never started) */
    for (size_t i = 0; i < h->n_sessions; i++)
        ent_free(h->sessions[i]);
    free(h->sessions);
    for (size_t i = 0; i < h->n_origins; i++)
        free(h->origins[i]);
    for (size_t i = 0; i < h->n_hosts; i++)
        free(h->hosts[i]);
    free(h->token);
    free(h->addr);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int mcp_http_check_host_name(const char *name, char *err, size_t err_len)
{
    char n[MAX_HOST_NAME];
    bool is_ip = false;
    if (name && strcmp(name, "*") == 0)
        return 0;
    /* a port would be ignored silently, so it is refused: "[v6]" is the only ':' form */
    bool bad = !name || !*name ||
               (name[0] == '[' ? name[strlen(name) - 1] != ']' : strchr(name, ':') != NULL);
    if (bad || !mcp__host_parse(name, n, sizeof n, &is_ip)) {
        base_set_err(err, err_len,
                     "allowed host \"%.128s\": give a host name such as profiler.example.com "
                     "(letters, digits, '.', '-', '_'; no scheme, no port: ports are not "
                     "checked), or * for any name",
                     name ? name : "");
        return -1;
    }
    return 0;
}

/* Adds the name of an allowed Host (normalized as mcp__host_parse does); "*" sets any_host. */
static bool add_host(mcp_http *h, const char *name)
{
    char n[MAX_HOST_NAME];
    bool is_ip = false;
    if (strcmp(name, "*") == 0) {
        h->any_host = true;
        return true;
    }
    if (!mcp__host_parse(name, n, sizeof n, &is_ip) || is_ip || h->n_hosts == MAX_HOSTS)
        return true; /* IP literals are always allowed; validated by the caller */
    return (h->hosts[h->n_hosts++] = strdup(n)) != NULL;
}

mcp_http *mcp_http_start(mcp_server *srv, const mcp_http_config *cfg, char *err, size_t err_len)
{
    if (!srv || !cfg || !cfg->addr) {
        base_set_err(err, err_len, "mcp http: no server or address given");
        return NULL;
    }
    mcp_http *h = calloc(1, sizeof *h);
    if (!h || pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h);
        base_set_err(err, err_len, "mcp http: out of memory");
        return NULL;
    }
    h->srv = srv;
    h->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
    h->max_sessions = cfg->max_sessions ? cfg->max_sessions : DEFAULT_MAX_SESSIONS;
    h->idle_ns = cfg->session_idle_ns > 0 ? cfg->session_idle_ns : DEFAULT_IDLE_NS;
    h->route = cfg->route;
    h->route_user = cfg->route_user;
    h->addr = strdup(cfg->addr);
    h->token = cfg->token && *cfg->token ? strdup(cfg->token) : NULL;
    h->sessions = calloc(h->max_sessions, sizeof *h->sessions);
    bool ok = h->addr && h->sessions && (!cfg->token || !*cfg->token || h->token);
    for (size_t i = 0; ok && cfg->allowed_origins && cfg->allowed_origins[i]; i++) {
        if (h->n_origins == MAX_ORIGINS)
            break;
        ok = (h->origins[h->n_origins++] = strdup(cfg->allowed_origins[i])) != NULL;
    }
    for (size_t i = 0; cfg->allowed_hosts && cfg->allowed_hosts[i]; i++) {
        if (mcp_http_check_host_name(cfg->allowed_hosts[i], err, err_len) != 0) {
            free_http(h);
            return NULL;
        }
    }
    for (size_t i = 0; ok && cfg->allowed_hosts && cfg->allowed_hosts[i]; i++)
        ok = add_host(h, cfg->allowed_hosts[i]);
    /* the host part of "name:port" is a name clients use; "", 0.0.0.0 and [::] are not */
    char listen_host[256] = "";
    int listen_port;
    if (ok && base_split_host_port(cfg->addr, listen_host, sizeof listen_host, &listen_port) == 0 &&
        listen_host[0])
        ok = add_host(h, listen_host);
    if (!ok) {
        free_http(h);
        base_set_err(err, err_len, "mcp http: out of memory");
        return NULL;
    }
    if (h->any_host && !h->token) {
        free_http(h);
        base_set_err(err, err_len,
                     "mcp http: allowing any Host (\"*\") turns off the DNS-rebinding check; "
                     "that needs a bearer token too, which a rebinding web page cannot send");
        return NULL;
    }
    int is_ipv6 = 0;
    int fd = base_listen_tcp(cfg->addr, &h->port, &is_ipv6, err, err_len);
    if (fd < 0) {
        free_http(h);
        return NULL;
    }
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    if (is_ipv6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls_opts[4] = {{MHD_OPTION_END, 0, NULL}};
    if (cfg->tls_cert_pem || cfg->tls_key_pem) {
        const char *why = !cfg->tls_cert_pem || !cfg->tls_key_pem
                              ? "mcp http: TLS needs both a certificate and its key"
                          : MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES
                              ? "mcp http: this libmicrohttpd was built without TLS"
                              : NULL;
        if (why) {
            close(fd);
            free_http(h);
            base_set_err(err, err_len, "%s", why);
            return NULL;
        }
        flags |= MHD_USE_TLS;
        size_t n = 0;
        tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                                (void *)(uintptr_t)cfg->tls_key_pem};
        tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                                (void *)(uintptr_t)cfg->tls_cert_pem};
        if (cfg->tls_client_ca_pem) {
            tls_opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                                    (void *)(uintptr_t)cfg->tls_client_ca_pem};
            h->verify_client = true;
        }
        tls_opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    unsigned head_s = base_conn_timeout_s(CONNECTION_TIMEOUT) < HEAD_DEADLINE_S
                          ? base_conn_timeout_s(CONNECTION_TIMEOUT)
                          : HEAD_DEADLINE_S;
    h->reaper = base_reaper_start((int64_t)head_s * 1000000000, HEAD_PRESSURE);
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, POOL_THREADS, MHD_OPTION_CONNECTION_TIMEOUT,
        base_conn_timeout_s(CONNECTION_TIMEOUT), MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        h, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!h->daemon) {
        close(fd);
        free_http(h);
        base_set_err(err, err_len, "cannot listen on %s: libmicrohttpd did not start%s", cfg->addr,
                     cfg->tls_cert_pem ? " (it refused the TLS certificate, key or client CA)"
                                       : "");
        return NULL;
    }
    char host[256] = "";
    int port;
    if (base_split_host_port(cfg->addr, host, sizeof host, &port) == 0 && !host_is_loopback(host) &&
        !h->token)
        base_log(BASE_LOG_WARN,
                 "MCP over HTTP listens on %s, reachable from other machines, WITHOUT a token: "
                 "anyone who can connect can call every tool. Bind 127.0.0.1 or set a bearer "
                 "token.",
                 cfg->addr);
    return h;
}

int mcp_http_port(const mcp_http *h)
{
    return h ? h->port : 0;
}

void mcp_http_stop(mcp_http *h)
{
    if (!h)
        return;
    if (h->daemon) {
        /* stop accepting, give requests already in a handler time to be answered */
        MHD_socket lfd = MHD_quiesce_daemon(h->daemon);
        /* requests to clients give up, suspended connections wake (MHD must not stop with
         * any suspended), and live handlers finish before the daemon goes */
        atomic_store(&h->stopping, true);
        pthread_mutex_lock(&h->mu);
        for (size_t i = 0; i < h->n_sessions; i++)
            mcp__session_cancel(h->sessions[i]->s);
        for (live *lv = h->lives; lv; lv = lv->next) {
            pthread_mutex_lock(&lv->mu);
            live_wake(lv);
            pthread_mutex_unlock(&lv->mu);
        }
        pthread_mutex_unlock(&h->mu);
        while (atomic_load(&h->workers) > 0) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        int64_t until = base_now_mono_ns() + STOP_GRACE_NS;
        while (atomic_load(&h->in_flight) > 0 && base_now_mono_ns() < until) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        MHD_stop_daemon(h->daemon);
        if (lfd != MHD_INVALID_SOCKET)
            close(lfd);
    }
    free_http(h);
}
