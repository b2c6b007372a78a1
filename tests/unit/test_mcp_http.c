/* The Streamable HTTP transport in process on port 0, driven with libcurl: sessions,
 * status codes (400/401/403/404/405/406/413/415/202), DELETE, SSE with progress, expiry and
 * the session cap, application routes; then mcp_client against it. `test_mcp_http
 * --serve-http ADDR [TOKEN]` runs the fixture server until killed (for SDK clients). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mcp/mcp_internal.h"
#include "test_mcp_fixture.h"

#define INIT_BODY                                                                                  \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"     \
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}"

static bool route(void *user, const char *method, const char *path, mcp_http_arg_fn arg, void *conn,
                  mcp_http_response *out)
{
    (void)user;
    if (strcmp(path, "/api/hello") == 0 && strcmp(method, "GET") == 0) {
        const char *who = arg(conn, "who");
        char *body = NULL;
        if (asprintf(&body, "hello %s", who ? who : "nobody") < 0)
            return false;
        out->status = 200;
        out->content_type = "text/plain";
        out->body = (uint8_t *)body;
        out->len = strlen(body);
        out->extra_header_name = "X-Test";
        out->extra_header_value = "yes";
        return true;
    }
    if (strcmp(path, "/metrics") == 0) {
        out->status = 200;
        out->content_type = "text/plain; version=0.0.4";
        out->body = (uint8_t *)strdup("up 1\n");
        out->len = 5;
        return true;
    }
    return false;
}

typedef struct fx {
    mcp_server *srv;
    mcp_http *h;
    int port;
    char url[64];
} fx;

static fx *start(const mcp_http_config *cfg_in)
{
    fx *f = calloc(1, sizeof *f);
    f->srv = fx_server();
    mcp_http_config cfg = *cfg_in;
    cfg.addr = "127.0.0.1:0";
    cfg.route = route;
    char err[256] = "";
    f->h = mcp_http_start(f->srv, &cfg, err, sizeof err);
    assert_non_null(f->h);
    f->port = mcp_http_port(f->h);
    assert_true(f->port > 0);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/mcp", f->port);
    return f;
}

static int setup(void **state)
{
    mcp_http_config cfg = {.max_body = 4096};
    *state = start(&cfg);
    return 0;
}

static int setup_token(void **state)
{
    static const char *const origins[] = {"https://app.example.com", NULL};
    mcp_http_config cfg = {.token = "s3cret-token", .allowed_origins = origins};
    *state = start(&cfg);
    return 0;
}

static int setup_hosts(void **state)
{
    static const char *const hosts[] = {"prof.example.com", "[::1]", NULL};
    mcp_http_config cfg = {.allowed_hosts = hosts};
    *state = start(&cfg);
    return 0;
}

static int setup_any_host(void **state)
{
    static const char *const hosts[] = {"*", NULL};
    mcp_http_config cfg = {.token = "s3cret-token", .allowed_hosts = hosts};
    *state = start(&cfg);
    return 0;
}

static int setup_small(void **state)
{
    mcp_http_config cfg = {.max_sessions = 2, .session_idle_ns = 300 * 1000000LL};
    *state = start(&cfg);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    mcp_http_stop(f->h);
    mcp_server_free(f->srv);
    free(f);
    return 0;
}

/* ---- a raw HTTP exchange ------------------------------------------------------------------ */

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char sid[128], ctype[128], allow[64], www[64], xtest[16];
} resp;

static size_t on_body(char *d, size_t s, size_t n, void *u)
{
    resp *r = u;
    r->body = realloc(r->body, r->len + s * n + 1);
    memcpy(r->body + r->len, d, s * n);
    r->len += s * n;
    r->body[r->len] = '\0';
    return s * n;
}

static void hv(const char *line, size_t n, const char *name, char *out, size_t out_len)
{
    size_t nl = strlen(name);
    if (n > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
        const char *v = line + nl + 1;
        while (*v == ' ')
            v++;
        size_t len = strcspn(v, "\r\n");
        snprintf(out, out_len, "%.*s", (int)len, v);
    }
}

static size_t on_header(char *d, size_t s, size_t n, void *u)
{
    resp *r = u;
    hv(d, s * n, "Mcp-Session-Id", r->sid, sizeof r->sid);
    hv(d, s * n, "Content-Type", r->ctype, sizeof r->ctype);
    hv(d, s * n, "Allow", r->allow, sizeof r->allow);
    hv(d, s * n, "WWW-Authenticate", r->www, sizeof r->www);
    hv(d, s * n, "X-Test", r->xtest, sizeof r->xtest);
    return s * n;
}

/* `extra` headers replace the defaults of the same name ("Accept:" removes it). */
static resp http(fx *f, const char *method, const char *path, const char *body, const char *sid,
                 const char *const *extra)
{
    resp r = {0};
    CURL *k = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
    struct curl_slist *h = NULL;
    bool own_ct = false, own_accept = false;
    for (int i = 0; extra && extra[i]; i++) {
        own_ct |= strncasecmp(extra[i], "Content-Type:", 13) == 0;
        own_accept |= strncasecmp(extra[i], "Accept:", 7) == 0;
    }
    if (!own_ct)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (!own_accept)
        h = curl_slist_append(h, "Accept: application/json, text/event-stream");
    char line[200];
    if (sid) {
        snprintf(line, sizeof line, "Mcp-Session-Id: %s", sid);
        h = curl_slist_append(h, line);
    }
    for (int i = 0; extra && extra[i]; i++)
        h = curl_slist_append(h, extra[i]);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(k, CURLOPT_NOPROXY, "*");
    assert_int_equal(curl_easy_perform(k), CURLE_OK);
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(k);
    return r;
}

static resp post(fx *f, const char *body, const char *sid)
{
    return http(f, "POST", "/mcp", body, sid, NULL);
}

static cJSON *json(const resp *r)
{
    assert_non_null(r->body);
    cJSON *v = cJSON_Parse(r->body);
    assert_non_null(v);
    return v;
}

static int rpc_code(const resp *r)
{
    cJSON *v = json(r);
    int code = cJSON_GetObjectItem(cJSON_GetObjectItem(v, "error"), "code")->valueint;
    cJSON_Delete(v);
    return code;
}

static void initialize(fx *f, char *sid, size_t sid_len)
{
    resp r = post(f, INIT_BODY, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_int_equal(strlen(r.sid), 32);
    assert_int_equal(strspn(r.sid, "0123456789abcdef"), 32);
    snprintf(sid, sid_len, "%s", r.sid);
    free(r.body);
    r = post(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", sid);
    assert_int_equal(r.status, 202);
    assert_int_equal(r.len, 0);
    free(r.body);
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static void test_session_flow(void **state)
{
    fx *f = *state;
    char sid[64], sid2[64];
    initialize(f, sid, sizeof sid);
    initialize(f, sid2, sizeof sid2);
    assert_string_not_equal(sid, sid2);

    resp r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", sid);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.sid, ""); /* only the initialize answer carries it */
    cJSON *v = json(&r);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "result"), "tools")), 5);
    cJSON_Delete(v);
    free(r.body);

    /* protocol errors of requests are answered 200 with the JSON-RPC error */
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"}", sid);
    assert_int_equal(r.status, 200);
    assert_int_equal(rpc_code(&r), -32601);
    free(r.body);

    /* no session header: 400; unknown session: 404 */
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}", NULL);
    assert_int_equal(r.status, 400);
    assert_int_equal(rpc_code(&r), -32600);
    free(r.body);
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}",
             "0123456789abcdef0123456789abcdef");
    assert_int_equal(r.status, 404);
    free(r.body);

    /* DELETE ends the session; afterwards 404; the other session lives on */
    r = http(f, "DELETE", "/mcp", NULL, sid, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}", sid);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = http(f, "DELETE", "/mcp", NULL, sid, NULL);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = http(f, "DELETE", "/mcp", NULL, NULL, NULL);
    assert_int_equal(r.status, 400);
    free(r.body);
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}", sid2);
    assert_int_equal(r.status, 200);
    free(r.body);

    /* a failed initialize creates no session */
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(rpc_code(&r), -32602);
    assert_string_equal(r.sid, "");
    free(r.body);
}

static void test_http_errors(void **state)
{
    fx *f = *state;
    char sid[64];
    initialize(f, sid, sizeof sid);
    resp r = http(f, "GET", "/mcp", NULL, sid, NULL);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "POST, DELETE");
    free(r.body);
    r = http(f, "PUT", "/mcp", "{}", sid, NULL);
    assert_int_equal(r.status, 405);
    free(r.body);

    const char *text_ct[] = {"Content-Type: text/plain", NULL};
    r = http(f, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", sid, text_ct);
    assert_int_equal(r.status, 415);
    free(r.body);
    const char *json_charset[] = {"Content-Type: Application/JSON; charset=utf-8", NULL};
    r = http(f, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", sid,
             json_charset);
    assert_int_equal(r.status, 200);
    free(r.body);

    const char *html[] = {"Accept: text/html", NULL};
    r = http(f, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", sid, html);
    assert_int_equal(r.status, 406);
    free(r.body);
    const char *no_accept[] = {"Accept:", NULL};
    r = http(f, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", sid,
             no_accept);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    free(r.body);

    const char *bad_version[] = {"MCP-Protocol-Version: 2024-11-05", NULL};
    r = http(f, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", sid,
             bad_version);
    assert_int_equal(r.status, 400);
    free(r.body);
    const char *good_version[] = {"MCP-Protocol-Version: 2025-06-18", NULL};
    r = http(f, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", sid,
             good_version);
    assert_int_equal(r.status, 200);
    free(r.body);

    char big[6000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 40);
    r = post(f, big, sid);
    assert_int_equal(r.status, 413);
    free(r.body);
    /* chunked: no Content-Length, the cap applies while reading */
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    r = http(f, "POST", "/mcp", big, sid, chunked);
    assert_int_equal(r.status, 413);
    free(r.body);

    r = post(f, "{\"jsonrpc\":", sid);
    assert_int_equal(r.status, 400);
    assert_int_equal(rpc_code(&r), -32700);
    free(r.body);
    /* a malformed message that is not a request: 400 with the JSON-RPC error */
    r = post(f, "{\"jsonrpc\":\"1.0\",\"method\":\"x\"}", sid);
    assert_int_equal(r.status, 400);
    assert_int_equal(rpc_code(&r), -32600);
    free(r.body);
    /* a response from the client: 202 */
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"result\":{}}", sid);
    assert_int_equal(r.status, 202);
    free(r.body);

    const char *evil[] = {"Origin: http://evil.example", NULL};
    r = http(f, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", sid, evil);
    assert_int_equal(r.status, 403);
    free(r.body);
    const char *local[] = {"Origin: http://localhost:6274", NULL};
    r = http(f, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", sid, local);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = http(f, "GET", "/api/hello", NULL, NULL, evil);
    assert_int_equal(r.status, 403);
    free(r.body);
}

/* ---- the Host header (DNS rebinding) ------------------------------------------------------ */

/* One raw HTTP exchange (what curl will not send: no Host, two Hosts); returns the status. */
static int raw_status(fx *f, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t)strlen(request));
    char buf[512];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        fail_msg("no status line in %s", buf);
    return status;
}

static long host_status(fx *f, const char *method, const char *path, const char *host)
{
    char line[300];
    snprintf(line, sizeof line, "Host: %s", host);
    const char *hdr[] = {line, NULL};
    resp r = http(f, method, path, strcmp(method, "POST") == 0 ? INIT_BODY : NULL, NULL, hdr);
    long st = r.status;
    free(r.body);
    return st;
}

static void test_host(void **state)
{
    fx *f = *state;
    char h[80];
    /* a rebinding page names itself: refused on every path, /healthz and /metrics too */
    snprintf(h, sizeof h, "rebind.attacker.example:%d", f->port);
    const char *const paths[] = {"/mcp", "/api/hello?who=x", "/healthz", "/metrics", "/nowhere"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const char *m = strcmp(paths[i], "/mcp") == 0 ? "POST" : "GET";
        if (host_status(f, m, paths[i], h) != 403)
            fail_msg("%s %s with Host %s: not 403", m, paths[i], h);
    }
    const char *hdr[] = {"Host: rebind.attacker.example", NULL};
    resp r =
        http(f, "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", NULL, hdr);
    assert_int_equal(r.status, 403);
    assert_int_equal(rpc_code(&r), -32000);
    assert_non_null(strstr(r.body, "Host \\\"rebind.attacker.example\\\" is not a name"));
    free(r.body);
    r = http(f, "GET", "/healthz", NULL, NULL, hdr);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "DNS rebinding"));
    free(r.body);
    /* names that look like loopback but are not */
    const char *const refused[] = {"127.0.0.1.nip.io", "localhost.evil.example",
                                   "0x7f000001",       "2130706433",
                                   "ip6-localhost",    "prof.example.com"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (host_status(f, "GET", "/healthz", refused[i]) != 403)
            fail_msg("Host %s: not 403", refused[i]);
    /* localhost (any case, absolute form, any port) and IP literals pass */
    snprintf(h, sizeof h, "localhost:%d", f->port);
    const char *const allowed[] = {h,           "LOCALHOST",   "localhost.:1", "127.0.0.1",
                                   "[::1]:443", "10.1.2.3:80", "0.0.0.0"};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (host_status(f, "GET", "/healthz", allowed[i]) != 200)
            fail_msg("Host %s: not 200", allowed[i]);
    assert_int_equal(host_status(f, "POST", "/mcp", h), 200);
    assert_int_equal(host_status(f, "GET", "/api/hello?who=x", h), 200);
    /* malformed values */
    const char *const malformed[] = {"localhost:99999", "[::1", "a b", "x/y", ":80"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        if (host_status(f, "GET", "/healthz", malformed[i]) != 400)
            fail_msg("Host %s: not 400", malformed[i]);
    /* no Host (HTTP/1.0 and 1.1), two Hosts */
    assert_int_equal(raw_status(f, "GET /healthz HTTP/1.0\r\n\r\n"), 400);
    assert_int_equal(raw_status(f, "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n"), 200);
    assert_int_equal(raw_status(f, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"), 400);
    assert_int_equal(raw_status(f, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: "
                                   "evil.example\r\nConnection: close\r\n\r\n"),
                     400);
    assert_int_equal(raw_status(f, "GET /healthz HTTP/1.1\r\nhOsT: evil.example\r\nConnection: "
                                   "close\r\n\r\n"),
                     403);
}

static void test_host_allowed(void **state)
{
    fx *f = *state;
    assert_int_equal(host_status(f, "GET", "/healthz", "prof.example.com:4319"), 200);
    assert_int_equal(host_status(f, "GET", "/healthz", "PROF.Example.COM."), 200);
    assert_int_equal(host_status(f, "POST", "/mcp", "prof.example.com"), 200);
    assert_int_equal(host_status(f, "GET", "/healthz", "prof.example.com.evil"), 403);
    assert_int_equal(host_status(f, "GET", "/healthz", "evil.prof.example.com"), 403);
    assert_int_equal(host_status(f, "GET", "/healthz", "localhost"), 200);
}

static void test_host_any(void **state)
{
    fx *f = *state;
    /* "*": the Host check is off; the token still guards everything but /healthz, /metrics */
    assert_int_equal(host_status(f, "GET", "/healthz", "rebind.attacker.example"), 200);
    assert_int_equal(host_status(f, "POST", "/mcp", "rebind.attacker.example"), 401);
    /* still one well-formed Host */
    assert_int_equal(host_status(f, "GET", "/healthz", "a b"), 400);
}

static void test_sse_progress(void **state)
{
    fx *f = *state;
    char sid[64];
    initialize(f, sid, sizeof sid);
    resp r = post(f,
                  "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"_meta\":{"
                  "\"progressToken\":\"p1\"},\"name\":\"slow_progress\",\"arguments\":{\"steps\":"
                  "3}}}",
                  sid);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/event-stream");
    /* events in order: 3 progress, the error log, then the response */
    const char *want[] = {"notifications/progress", "notifications/progress",
                          "notifications/progress", "notifications/message", NULL};
    char *p = r.body;
    for (int i = 0; i < 5; i++) {
        assert_true(strncmp(p, "event: message\ndata: ", 21) == 0);
        p += 21;
        char *end = strstr(p, "\n\n");
        assert_non_null(end);
        *end = '\0';
        cJSON *v = cJSON_Parse(p);
        assert_non_null(v);
        if (want[i]) {
            assert_string_equal(cJSON_GetObjectItem(v, "method")->valuestring, want[i]);
        } else {
            assert_int_equal(cJSON_GetObjectItem(v, "id")->valueint, 9);
            const cJSON *c0 = cJSON_GetArrayItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(v, "result"), "content"), 0);
            assert_string_equal(cJSON_GetObjectItem(c0, "text")->valuestring, "done 3");
        }
        cJSON_Delete(v);
        p = end + 2;
    }
    assert_string_equal(p, "");
    free(r.body);

    /* a client that accepts only JSON gets the response alone */
    const char *json_only[] = {"Accept: application/json", NULL};
    r = http(f, "POST", "/mcp",
             "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":{\"_meta\":{"
             "\"progressToken\":\"p2\"},\"name\":\"slow_progress\"}}",
             sid, json_only);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    cJSON *v = json(&r);
    assert_int_equal(cJSON_GetObjectItem(v, "id")->valueint, 10);
    cJSON_Delete(v);
    free(r.body);

    /* tool argument errors stay tool results over HTTP */
    r = post(f,
             "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"echo\",\"arguments\":{\"text\":\"a\",\"repeat\":9}}}",
             sid);
    assert_int_equal(r.status, 200);
    v = json(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "result"), "isError")));
    cJSON_Delete(v);
    free(r.body);
}

static void test_batch_2025_03_26(void **state)
{
    fx *f = *state;
    resp r = post(f,
                  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                  "\"protocolVersion\":\"2025-03-26\"}}",
                  NULL);
    char sid[128];
    snprintf(sid, sizeof sid, "%s", r.sid);
    free(r.body);
    r = post(f,
             "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":2,"
             "\"method\":\"tools/list\"}]",
             sid);
    assert_int_equal(r.status, 200);
    cJSON *v = json(&r);
    assert_true(cJSON_IsArray(v));
    assert_int_equal(cJSON_GetArraySize(v), 2);
    cJSON_Delete(v);
    free(r.body);
    r = post(f, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]", sid);
    assert_int_equal(r.status, 202);
    free(r.body);
}

static void test_routes(void **state)
{
    fx *f = *state;
    resp r = http(f, "GET", "/api/hello?who=ann", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello ann");
    assert_string_equal(r.xtest, "yes");
    assert_string_equal(r.ctype, "text/plain");
    free(r.body);
    r = http(f, "GET", "/nowhere", NULL, NULL, NULL);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = http(f, "GET", "/healthz", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_token(void **state)
{
    fx *f = *state;
    resp r = post(f, INIT_BODY, NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.www, "Bearer");
    assert_string_equal(r.sid, "");
    free(r.body);
    const char *wrong[] = {"Authorization: Bearer s3cret-tokeN", NULL};
    r = http(f, "POST", "/mcp", INIT_BODY, NULL, wrong);
    assert_int_equal(r.status, 401);
    free(r.body);
    const char *prefix[] = {"Authorization: Bearer s3cret", NULL};
    r = http(f, "POST", "/mcp", INIT_BODY, NULL, prefix);
    assert_int_equal(r.status, 401);
    free(r.body);
    const char *basic[] = {"Authorization: Basic czNjcmV0LXRva2Vu", NULL};
    r = http(f, "POST", "/mcp", INIT_BODY, NULL, basic);
    assert_int_equal(r.status, 401);
    free(r.body);
    const char *right[] = {"Authorization: bearer s3cret-token", NULL};
    r = http(f, "POST", "/mcp", INIT_BODY, NULL, right);
    assert_int_equal(r.status, 200);
    free(r.body);
    /* API routes need it too; /healthz and /metrics do not */
    r = http(f, "GET", "/api/hello", NULL, NULL, NULL);
    assert_int_equal(r.status, 401);
    free(r.body);
    r = http(f, "GET", "/api/hello", NULL, NULL, right);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = http(f, "GET", "/healthz", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = http(f, "GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "up 1\n");
    free(r.body);
    /* a configured extra origin passes, others do not */
    const char *app[] = {"Authorization: Bearer s3cret-token", "Origin: https://app.example.com",
                         NULL};
    r = http(f, "POST", "/mcp", INIT_BODY, NULL, app);
    assert_int_equal(r.status, 200);
    free(r.body);
    const char *other[] = {"Authorization: Bearer s3cret-token", "Origin: https://example.com",
                           NULL};
    r = http(f, "POST", "/mcp", INIT_BODY, NULL, other);
    assert_int_equal(r.status, 403);
    free(r.body);
}

static void test_session_cap_and_expiry(void **state)
{
    fx *f = *state;
    char a[64], b[64], c[64];
    initialize(f, a, sizeof a);
    initialize(f, b, sizeof b);
    /* b was used last: a is the one dropped for c */
    resp r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", b);
    assert_int_equal(r.status, 200);
    free(r.body);
    initialize(f, c, sizeof c);
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", a);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", b);
    assert_int_equal(r.status, 200);
    free(r.body);
    /* idle longer than 300 ms: gone */
    struct timespec ts = {0, 400 * 1000000L};
    nanosleep(&ts, NULL);
    r = post(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", c);
    assert_int_equal(r.status, 404);
    free(r.body);
}

/* Requests on one session from several threads while other sessions come and go: the
 * session table's reference counting under load (run under ASan in CI). */
typedef struct worker {
    fx *f;
    const char *sid;
    int ok;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 25; i++) {
        resp r = post(w->f,
                      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                      "\"name\":\"echo\",\"arguments\":{\"text\":\"ab\",\"repeat\":2}}}",
                      w->sid);
        if (r.status == 200 && r.body && strstr(r.body, "\"abab\""))
            w->ok++;
        free(r.body);
    }
    return NULL;
}

static void test_concurrent_sessions(void **state)
{
    fx *f = *state;
    char sid[64];
    initialize(f, sid, sizeof sid);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){f, sid, 0};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 20; i++) {
        char other[64];
        initialize(f, other, sizeof other);
        resp r = http(f, "DELETE", "/mcp", NULL, other, NULL);
        assert_int_equal(r.status, 200);
        free(r.body);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 25);
    }
}

/* ---- mcp_client against the server --------------------------------------------------------------
 */

typedef struct notes {
    int progress, other;
} notes;

static void on_note(void *u, const char *json_text)
{
    notes *n = u;
    cJSON *v = cJSON_Parse(json_text);
    assert_non_null(v);
    if (strcmp(cJSON_GetObjectItem(v, "method")->valuestring, "notifications/progress") == 0)
        n->progress++;
    else
        n->other++;
    cJSON_Delete(v);
}

static void test_client(void **state)
{
    fx *f = *state;
    char err[512] = "";
    mcp_client *c = mcp_client_connect(f->url, NULL, true, err, sizeof err);
    assert_non_null(c);
    const cJSON *info = mcp_client_server_info(c);
    /* mcp/ is dual era: the client's server/discover probe finds 2026-07-28 */
    assert_string_equal(cJSON_GetObjectItem(info, "protocolVersion")->valuestring, "2026-07-28");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(info, "serverInfo"), "name")->valuestring,
        "fixture");
    notes n = {0};
    char *out = mcp_client_send(c,
                                "{\"jsonrpc\":\"2.0\",\"id\":\"x7\",\"method\":\"tools/call\","
                                "\"params\":{\"_meta\":{\"progressToken\":1},\"name\":"
                                "\"slow_progress\",\"arguments\":{\"steps\":4}}}",
                                on_note, &n, err, sizeof err);
    assert_non_null(out);
    assert_int_equal(n.progress, 4);
    assert_int_equal(n.other, 0); /* 2026-07-28: no log without _meta logLevel */
    cJSON *v = cJSON_Parse(out);
    assert_string_equal(cJSON_GetObjectItem(v, "id")->valuestring, "x7");
    cJSON_Delete(v);
    free(out);
    out = mcp_client_send(c, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"nope\"}", NULL, NULL, err,
                          sizeof err);
    v = cJSON_Parse(out);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "error"), "code")->valueint,
                     -32601);
    cJSON_Delete(v);
    free(out);
    /* a notification: no answer and no error */
    err[0] = 'x';
    out = mcp_client_send(c,
                          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                          "\"params\":{\"requestId\":1}}",
                          NULL, NULL, err, sizeof err);
    assert_null(out);
    assert_string_equal(err, "");
    mcp_client_close(c); /* DELETEs the session */

    /* relay mode: the caller's own initialize; session id and version are captured */
    c = mcp_client_connect(f->url, NULL, false, err, sizeof err);
    assert_non_null(c);
    assert_null(mcp_client_server_info(c));
    out = mcp_client_send(c,
                          "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                          "\"protocolVersion\":\"2025-06-18\"}}",
                          NULL, NULL, err, sizeof err);
    assert_non_null(out);
    /* translated: the caller negotiated 2025-06-18 with us, the server speaks 2026-07-28 */
    v = cJSON_Parse(out);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(v, "result"), "protocolVersion")->valuestring,
        "2025-06-18");
    cJSON_Delete(v);
    free(out);
    assert_string_equal(
        cJSON_GetObjectItem(mcp_client_server_info(c), "protocolVersion")->valuestring,
        "2026-07-28");
    out = mcp_client_send(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", NULL, NULL,
                          err, sizeof err);
    v = cJSON_Parse(out);
    assert_non_null(cJSON_GetObjectItem(v, "result"));
    cJSON_Delete(v);
    free(out);
    mcp_client_close(c);
}

static void test_client_errors(void **state)
{
    fx *f = *state;
    char err[512] = "";
    /* a port nobody listens on */
    assert_null(mcp_client_connect("http://127.0.0.1:1/mcp", NULL, true, err, sizeof err));
    assert_non_null(strstr(err, "cannot reach http://127.0.0.1:1/mcp"));
    err[0] = '\0';
    assert_null(mcp_client_connect("http://127.0.0.1:1/mcp", NULL, false, err, sizeof err));
    assert_non_null(strstr(err, "cannot reach"));
    assert_null(mcp_client_connect("ftp://x", NULL, true, err, sizeof err));
    /* the token server without a token */
    assert_null(mcp_client_connect(f->url, NULL, true, err, sizeof err));
    assert_non_null(strstr(err, "answered 401"));
    assert_non_null(strstr(err, "--mcp-token"));
    mcp_client *c = mcp_client_connect(f->url, "s3cret-token", true, err, sizeof err);
    assert_non_null(c);
    mcp_client_close(c);
    /* a path that is not MCP */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/other", f->port);
    assert_null(mcp_client_connect(url, "s3cret-token", true, err, sizeof err));
    assert_non_null(strstr(err, "404"));
}

static void test_client_session_expired(void **state)
{
    fx *f = *state;
    char err[512] = "";
    mcp_client *c = mcp_client_connect(f->url, NULL, true, err, sizeof err);
    assert_non_null(c);
    struct timespec ts = {0, 400 * 1000000L};
    nanosleep(&ts, NULL);
    /* 2026-07-28 has no session to expire: after the idle time the client still works
     * (the 2025-xx expiry is checked over raw HTTP above) */
    char *out = mcp_client_send(c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}", NULL,
                                NULL, err, sizeof err);
    assert_non_null(out);
    cJSON *v = cJSON_Parse(out);
    assert_int_equal(cJSON_GetObjectItem(v, "id")->valueint, 5);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "result"), "tools"));
    cJSON_Delete(v);
    free(out);
    mcp_client_close(c);
}

static void test_start_errors(void **state)
{
    (void)state;
    mcp_server *srv = fx_server();
    char err[256] = "";
    mcp_http_config cfg = {.addr = "nonsense"};
    assert_null(mcp_http_start(srv, &cfg, err, sizeof err));
    assert_non_null(strstr(err, "cannot listen on"));
    cfg.addr = "127.0.0.1:0";
    mcp_http *h = mcp_http_start(srv, &cfg, err, sizeof err);
    assert_non_null(h);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", mcp_http_port(h));
    cfg.addr = addr;
    err[0] = '\0';
    assert_null(mcp_http_start(srv, &cfg, err, sizeof err));
    assert_non_null(strstr(err, "cannot listen on"));
    mcp_http_stop(h);

    /* allowed hosts: malformed entries and "*" without a token stop the start */
    cfg.addr = "127.0.0.1:0";
    static const char *const with_port[] = {"prof.example.com:4319", NULL};
    cfg.allowed_hosts = with_port;
    err[0] = '\0';
    assert_null(mcp_http_start(srv, &cfg, err, sizeof err));
    assert_non_null(strstr(err, "no port"));
    static const char *const any[] = {"*", NULL};
    cfg.allowed_hosts = any;
    err[0] = '\0';
    assert_null(mcp_http_start(srv, &cfg, err, sizeof err));
    assert_non_null(strstr(err, "token"));
    cfg.token = "t";
    h = mcp_http_start(srv, &cfg, err, sizeof err);
    assert_non_null(h);
    mcp_http_stop(h);
    cfg.token = NULL;
    cfg.allowed_hosts = NULL;

    /* the host name of the listen address is allowed: the machine's own name, when it
     * resolves here (skipped otherwise) */
    char self[200] = "", addr2[300];
    if (gethostname(self, sizeof self) == 0 && self[0] && strcmp(self, "localhost") != 0) {
        snprintf(addr2, sizeof addr2, "%s:0", self);
        cfg.addr = addr2;
        h = mcp_http_start(srv, &cfg, err, sizeof err);
        if (h) {
            char url[400];
            snprintf(url, sizeof url, "http://%s:%d/healthz", self, mcp_http_port(h));
            CURL *k = curl_easy_init();
            resp r = {0};
            curl_easy_setopt(k, CURLOPT_URL, url);
            curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(k, CURLOPT_WRITEDATA, &r);
            curl_easy_setopt(k, CURLOPT_NOPROXY, "*");
            if (curl_easy_perform(k) == CURLE_OK) {
                curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &r.status);
                assert_int_equal(r.status, 200);
            }
            free(r.body);
            curl_easy_cleanup(k);
            mcp_http_stop(h);
        }
    }
    mcp_server_free(srv);
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--serve-http") == 0) {
        mcp_server *srv = fx_server();
        mcp_http_config cfg = {.addr = argv[2], .token = argc > 3 ? argv[3] : NULL, .route = route};
        char err[256] = "";
        mcp_http *h = mcp_http_start(srv, &cfg, err, sizeof err);
        if (!h) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("port %d\n", mcp_http_port(h));
        fflush(stdout);
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        while (!g_stop)
            pause();
        mcp_http_stop(h);
        mcp_server_free(srv);
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sse_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_2025_03_26, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_allowed, setup_hosts, teardown),
        cmocka_unit_test_setup_teardown(test_host_any, setup_any_host, teardown),
        cmocka_unit_test_setup_teardown(test_token, setup_token, teardown),
        cmocka_unit_test_setup_teardown(test_session_cap_and_expiry, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_errors, setup_token, teardown),
        cmocka_unit_test_setup_teardown(test_client_session_expired, setup_small, teardown),
        cmocka_unit_test(test_start_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
