/* mcp/client.c — a minimal Streamable HTTP client on libcurl (see mcp.h).
 *
 * One easy handle per client, reused so the connection stays open between messages. The
 * session id and the negotiated protocol version are captured from the initialize
 * exchange, whether this client ran it or relayed a stdio client's own.
 */
#include "mcp/mcp_internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RESPONSE    ((size_t)256 << 20)
#define CONNECT_TIMEOUT 10L
#define REQUEST_TIMEOUT 600L /* a tool over a large window may take a while */

struct mcp_client {
    CURL *curl;
    char *url;
    char *auth_header; /* "Authorization: Bearer ..." or NULL */
    char session_id[256];
    char version[16];
    cJSON *init_result;
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct reply {
    char *body;
    size_t len, cap;
    bool too_large;
    char session_id[256];
    char content_type[128];
} reply;

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    reply *r = user;
    size_t n = size * nmemb;
    if (r->too_large || n > MAX_RESPONSE - r->len) {
        r->too_large = true;
        return n; /* read and dropped; reported after the transfer */
    }
    if (r->len + n + 1 > r->cap) {
        size_t ncap = r->cap ? r->cap : 4096;
        while (ncap < r->len + n + 1)
            ncap *= 2;
        char *nb = realloc(r->body, ncap);
        if (!nb) {
            r->too_large = true;
            return n;
        }
        r->body = nb;
        r->cap = ncap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* Copies the value of header line `line` into `out` when its name is `name`. */
static void header_value(const char *line, size_t n, const char *name, char *out, size_t out_len)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1, *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    size_t len = (size_t)(e - v);
    if (len >= out_len)
        return; /* longer than any value we use: ignored rather than cut */
    memcpy(out, v, len);
    out[len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    reply *r = user;
    size_t n = size * nmemb;
    header_value(data, n, "Mcp-Session-Id", r->session_id, sizeof r->session_id);
    header_value(data, n, "Content-Type", r->content_type, sizeof r->content_type);
    return n;
}

/* One HTTP exchange. Returns the status (0 with `err` when the server was not reached). */
static long exchange(mcp_client *c, const char *method, const char *body, reply *r, char *err,
                     size_t err_len)
{
    struct curl_slist *hdrs = NULL;
    char line[320];
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: application/json, text/event-stream");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (c->session_id[0]) {
        snprintf(line, sizeof line, "Mcp-Session-Id: %s", c->session_id);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (c->version[0]) {
        snprintf(line, sizeof line, "MCP-Protocol-Version: %s", c->version);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (c->auth_header)
        hdrs = curl_slist_append(hdrs, c->auth_header);
    CURL *k = c->curl;
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") == 0 ? NULL : method);
    if (body) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, r);
    c->errbuf[0] = '\0';
    CURLcode rc = curl_easy_perform(k);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        base_set_err(err, err_len, "cannot reach %s: %s", c->url,
                     c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* Splits an SSE body into events; each "message" event's data is either the response to
 * `req_id` (returned, malloc'd) or handed to on_notification. */
static char *parse_sse(const char *body, size_t len, const cJSON *req_id,
                       void (*on_notification)(void *u, const char *json), void *u)
{
    char *response = NULL;
    char *data = NULL;
    size_t dlen = 0;
    char event[64] = "";
    const char *p = body, *end = body + len;
    while (p <= end) {
        const char *eol = p;
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        size_t n = (size_t)(eol - p);
        if (n == 0) {
            /* blank line: dispatch the event gathered so far */
            if (data && (event[0] == '\0' || strcmp(event, "message") == 0)) {
                cJSON *m = mcp__parse(data, dlen);
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
                bool is_resp =
                    cJSON_IsArray(m) || (id && !cJSON_GetObjectItemCaseSensitive(m, "method") &&
                                         (!req_id || cJSON_Compare(id, req_id, true)));
                if (is_resp && !response) {
                    response = data;
                    data = NULL;
                } else if (on_notification && m) {
                    on_notification(u, data);
                }
                cJSON_Delete(m);
            }
            free(data);
            data = NULL;
            dlen = 0;
            event[0] = '\0';
        } else if (n >= 5 && strncmp(p, "data:", 5) == 0) {
            const char *v = p + 5;
            if (v < eol && *v == ' ')
                v++;
            size_t vl = (size_t)(eol - v);
            char *nd = realloc(data, dlen + vl + 2);
            if (nd) {
                data = nd;
                if (dlen)
                    data[dlen++] = '\n';
                memcpy(data + dlen, v, vl);
                dlen += vl;
                data[dlen] = '\0';
            }
        } else if (n >= 6 && strncmp(p, "event:", 6) == 0) {
            const char *v = p + 6;
            while (v < eol && *v == ' ')
                v++;
            size_t vl = (size_t)(eol - v);
            if (vl < sizeof event) {
                memcpy(event, v, vl);
                event[vl] = '\0';
            }
        }
        if (eol >= end)
            break;
        p = eol + (eol[0] == '\r' && eol + 1 < end && eol[1] == '\n' ? 2 : 1);
    }
    if (data && !response) {
        /* a stream cut without its final blank line still carries its last event */
        cJSON *m = mcp__parse(data, dlen);
        if (m && cJSON_GetObjectItemCaseSensitive(m, "id") &&
            !cJSON_GetObjectItemCaseSensitive(m, "method")) {
            response = data;
            data = NULL;
        }
        cJSON_Delete(m);
    }
    free(data);
    return response;
}

char *mcp_client_send(mcp_client *c, const char *json,
                      void (*on_notification)(void *u, const char *json), void *u, char *err,
                      size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    if (!c || !json) {
        base_set_err(err, err_len, "mcp client: nothing to send");
        return NULL;
    }
    cJSON *req = mcp__parse(json, strlen(json));
    const cJSON *req_id = cJSON_GetObjectItemCaseSensitive(req, "id");
    const char *method = NULL;
    const cJSON *mj = cJSON_GetObjectItemCaseSensitive(req, "method");
    if (cJSON_IsString(mj))
        method = mj->valuestring;
    bool is_init = method && strcmp(method, "initialize") == 0;
    reply r = {0};
    long status = exchange(c, "POST", json, &r, err, err_len);
    char *out = NULL;
    if (status == 0)
        goto done;
    if (r.too_large) {
        base_set_err(err, err_len, "%s answered more than %zu bytes", c->url, MAX_RESPONSE);
        goto done;
    }
    if (r.session_id[0])
        snprintf(c->session_id, sizeof c->session_id, "%s", r.session_id);
    if (status == 202)
        goto done;
    if (status == 401) {
        base_set_err(err, err_len,
                     "%s answered 401: set the token with --mcp-token or OTELPROFD_MCP_TOKEN",
                     c->url);
        goto done;
    }
    if (status == 200 && strncasecmp(r.content_type, "text/event-stream", 17) == 0) {
        out = parse_sse(r.body ? r.body : "", r.len, req_id, on_notification, u);
        if (!out)
            base_set_err(err, err_len, "%s ended the event stream without a response", c->url);
        goto done;
    }
    cJSON *resp = r.body ? mcp__parse(r.body, r.len) : NULL;
    if (status == 200 && resp) {
        out = r.body;
        r.body = NULL;
    } else if (cJSON_IsObject(resp) && cJSON_GetObjectItemCaseSensitive(resp, "error")) {
        /* a transport refusal carries a JSON-RPC error without our id: give it the request's
         * so the caller can match it like any other answer */
        if (req_id) {
            cJSON_DeleteItemFromObjectCaseSensitive(resp, "id");
            mcp_json_add(resp, "id", cJSON_Duplicate(req_id, true));
            out = cJSON_PrintUnformatted(resp);
        }
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
        if (!out)
            base_set_err(err, err_len, "%s answered %ld: %.300s", c->url, status,
                         msg ? msg : "error");
    } else if (status == 404) {
        base_set_err(err, err_len, "%s answered 404: %s", c->url,
                     c->session_id[0] ? "the session expired or the server restarted; reconnect"
                                      : "is this the /mcp endpoint of the server?");
    } else {
        base_set_err(err, err_len, "%s answered %ld: %.200s", c->url, status,
                     r.body ? r.body : "(no body)");
    }
    cJSON_Delete(resp);
done:
    if (out && is_init) {
        cJSON *m = mcp__parse(out, strlen(out));
        cJSON *result = cJSON_DetachItemFromObjectCaseSensitive(m, "result");
        const char *v =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "protocolVersion"));
        if (result && v && mcp__version_supported(v)) {
            snprintf(c->version, sizeof c->version, "%s", v);
            cJSON_Delete(c->init_result);
            c->init_result = result;
            result = NULL;
        }
        cJSON_Delete(result);
        cJSON_Delete(m);
    }
    free(r.body);
    cJSON_Delete(req);
    return out;
}

static void client_free(mcp_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->url);
    free(c->auth_header);
    cJSON_Delete(c->init_result);
    free(c);
}

static void set_tls(CURL *k, const mcp_client_tls *tls)
{
    if (!tls)
        return;
    if (tls->ca_file)
        curl_easy_setopt(k, CURLOPT_CAINFO, tls->ca_file);
    if (tls->cert_file)
        curl_easy_setopt(k, CURLOPT_SSLCERT, tls->cert_file);
    if (tls->key_file)
        curl_easy_setopt(k, CURLOPT_SSLKEY, tls->key_file);
}

/* Reachability without a request: the bridge relays its client's initialize later, but a
 * wrong URL (or a TLS mismatch: CONNECT_ONLY still handshakes) should be reported at start. */
static int probe(const char *url, const mcp_client_tls *tls, char *err, size_t err_len)
{
    CURL *k = curl_easy_init();
    if (!k) {
        base_set_err(err, err_len, "mcp client: curl_easy_init failed");
        return -1;
    }
    char eb[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, eb);
    curl_easy_setopt(k, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    set_tls(k, tls);
    CURLcode rc = curl_easy_perform(k);
    curl_easy_cleanup(k);
    if (rc != CURLE_OK) {
        base_set_err(err, err_len, "cannot reach %s: %s", url, eb[0] ? eb : curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

mcp_client *mcp_client_connect(const char *url, const char *token, bool initialize, char *err,
                               size_t err_len)
{
    return mcp_client_connect_tls(url, token, initialize, NULL, err, err_len);
}

mcp_client *mcp_client_connect_tls(const char *url, const char *token, bool initialize,
                                   const mcp_client_tls *tls, char *err, size_t err_len)
{
    if (!url || strncasecmp(url, "http", 4) != 0) {
        base_set_err(err, err_len, "cannot reach \"%s\": not an http:// or https:// URL",
                     url ? url : "");
        return NULL;
    }
    pthread_once(&g_curl_once, curl_init_once);
    mcp_client *c = calloc(1, sizeof *c);
    if (!c || !(c->url = strdup(url)) || !(c->curl = curl_easy_init())) {
        client_free(c);
        base_set_err(err, err_len, "mcp client: out of memory");
        return NULL;
    }
    if (token && *token && asprintf(&c->auth_header, "Authorization: Bearer %s", token) < 0) {
        c->auth_header = NULL;
        client_free(c);
        base_set_err(err, err_len, "mcp client: out of memory");
        return NULL;
    }
    CURL *k = c->curl;
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
    curl_easy_setopt(k, CURLOPT_TIMEOUT, REQUEST_TIMEOUT);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(k, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    set_tls(k, tls);
    if (!initialize) {
        if (probe(url, tls, err, err_len) != 0) {
            client_free(c);
            return NULL;
        }
        return c;
    }
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"" MCP__VERSION_LATEST "\",\"capabilities\":{},"
                       "\"clientInfo\":{\"name\":\"otelprofd\",\"version\":\"client\"}}}";
    char *resp = mcp_client_send(c, init, NULL, NULL, err, err_len);
    if (!resp) {
        client_free(c);
        return NULL;
    }
    if (!c->init_result) {
        cJSON *m = mcp__parse(resp, strlen(resp));
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(m, "error");
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
        base_set_err(err, err_len, "%s refused initialize: %.300s", url,
                     msg ? msg : "unexpected answer");
        cJSON_Delete(m);
        free(resp);
        client_free(c);
        return NULL;
    }
    free(resp);
    char e2[256] = "";
    char *none =
        mcp_client_send(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", NULL,
                        NULL, e2, sizeof e2);
    free(none);
    if (e2[0]) {
        base_set_err(err, err_len, "%s", e2);
        client_free(c);
        return NULL;
    }
    return c;
}

const cJSON *mcp_client_server_info(const mcp_client *c)
{
    return c ? c->init_result : NULL;
}

void mcp_client_close(mcp_client *c)
{
    if (!c)
        return;
    if (c->session_id[0]) {
        /* best effort: the server forgets the session now instead of at its idle timeout */
        reply r = {0};
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 2L);
        (void)exchange(c, "DELETE", NULL, &r, NULL, 0);
        free(r.body);
    }
    client_free(c);
}
