/* mcp/client.c — a minimal Streamable HTTP client on libcurl (see mcp.h).
 *
 * One easy handle per client, reused so the connection stays open between messages. The
 * session id and the negotiated protocol version are captured from the initialize
 * exchange, whether this client ran it or relayed a stdio client's own.
 *
 * Dual era (versioning page of 2026-07-28): before the old handshake, the client probes
 * with server/discover at 2026-07-28. A DiscoverResult naming 2026-07-28 makes the rest
 * stateless: every request gets the per-request _meta (protocol version, capabilities,
 * client info) and the MCP-Protocol-Version / Mcp-Method / Mcp-Name headers. Anything
 * else that is not a recognized 2026-07-28 error falls back to initialize. The stdio
 * bridge relays a 2026-07-28 client's own messages (adding the headers); for a 2025-xx
 * client in front of a 2026-07-28-only server it translates: initialize, ping and
 * logging/setLevel are answered here, and the _meta is added to what it relays.
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
    /* 2026-07-28 */
    bool modern;        /* the server speaks 2026-07-28: requests go stateless */
    bool probed;        /* the bridge has decided the era */
    cJSON *client_caps; /* what a translated 2025-xx client declared at initialize */
    char log_level[16]; /* a translated logging/setLevel, sent as _meta logLevel */
    /* x-mcp-header parameters per tool, learnt from tools/list: {tool: {param: header}} */
    cJSON *param_headers;
    bool param_headers_loaded;
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
                     size_t err_len, struct curl_slist *extra)
{
    struct curl_slist *hdrs = extra;
    char line[320];
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: application/json, text/event-stream");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (c->session_id[0]) {
        snprintf(line, sizeof line, "Mcp-Session-Id: %s", c->session_id);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (c->version[0] && !extra) {
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

static char *send_raw(mcp_client *c, const char *json,
                      void (*on_notification)(void *u, const char *json), void *u, char *err,
                      size_t err_len, struct curl_slist *extra)
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
    long status = exchange(c, "POST", json, &r, err, err_len, extra);
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

/* ---- 2026-07-28 ------------------------------------------------------------------------- */

#define MODERN "2026-07-28"
#define K_PV   "io.modelcontextprotocol/protocolVersion"
#define K_CAPS "io.modelcontextprotocol/clientCapabilities"
#define K_INFO "io.modelcontextprotocol/clientInfo"
#define K_LOG  "io.modelcontextprotocol/logLevel"

static char *b64_std(const char *s)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *out = malloc(n / 3 * 4 + 5);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[o++] = t[v >> 18 & 63], out[o++] = t[v >> 12 & 63];
        out[o++] = t[v >> 6 & 63], out[o++] = t[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        out[o++] = t[v >> 18 & 63], out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

/* "Name: value" with the value as SEP-2243 wants it: plain when it is visible ASCII with
 * no surrounding blanks and not the sentinel itself, else "=?base64?...?=". */
static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *v)
{
    size_t n = strlen(v);
    bool plain = n > 0 && v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t' &&
                 !(strncmp(v, "=?base64?", 9) == 0 && n >= 11 && strcmp(v + n - 2, "?=") == 0);
    for (const unsigned char *p = (const unsigned char *)v; plain && *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            plain = false;
    char *enc = plain ? NULL : b64_std(v);
    char *line = NULL;
    if (asprintf(&line, "%s: %s%s%s", name, plain ? "" : "=?base64?", plain ? v : (enc ? enc : ""),
                 plain ? "" : "?=") < 0)
        line = NULL;
    if (line)
        h = curl_slist_append(h, line);
    free(line);
    free(enc);
    return h;
}

/* The headers a 2026-07-28 POST mirrors from its body (NULL when it has no _meta version). */
static struct curl_slist *modern_headers(const cJSON *msg)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    const char *method = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "method"));
    const char *pv = cJSON_GetStringValue(mcp__meta_version(msg));
    if (!method || !pv)
        return NULL;
    struct curl_slist *h = add_header(NULL, "MCP-Protocol-Version", pv);
    h = add_header(h, "Mcp-Method", method);
    const char *key = strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0
                          ? "name"
                      : strcmp(method, "resources/read") == 0 ? "uri"
                                                              : NULL;
    const char *name =
        key ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, key)) : NULL;
    if (name)
        h = add_header(h, "Mcp-Name", name);
    return h;
}

#define MAX_PARAM_HEADERS 4096 /* remembered x-mcp-header parameters, all tools together */

/* Remembers the x-mcp-header parameters (top-level properties) of a tools/list result. */
static void learn_param_headers(mcp_client *c, const cJSON *result)
{
    if (!c->param_headers && !(c->param_headers = cJSON_CreateObject()))
        return;
    int n = 0;
    const cJSON *t, *k;
    cJSON_ArrayForEach(k, c->param_headers) n += cJSON_GetArraySize(k);
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(result, "tools"))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(t, "inputSchema"), "properties");
        if (!name)
            continue;
        cJSON *map = cJSON_CreateObject();
        const cJSON *p;
        cJSON_ArrayForEach(p, props)
        {
            const char *hn =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "x-mcp-header"));
            bool token = hn && *hn && strlen(hn) <= 64;
            for (const char *q = hn; token && *q; q++)
                token = (*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z') ||
                        (*q >= 'a' && *q <= 'z') || strchr("!#$%&'*+-.^_`|~", *q);
            if (token && p->string && n < MAX_PARAM_HEADERS) {
                cJSON_AddStringToObject(map, p->string, hn);
                n++;
            }
        }
        cJSON_DeleteItemFromObjectCaseSensitive(c->param_headers, name);
        if (cJSON_GetArraySize(map) > 0)
            mcp_json_add(c->param_headers, name, map);
        else
            cJSON_Delete(map);
    }
}

/* Mcp-Param-{Name} for each x-mcp-header parameter of the tool that the call gives a
 * string, boolean or integer value (SEP-2243); others have no header form. */
static struct curl_slist *add_param_headers(const mcp_client *c, const cJSON *msg,
                                            struct curl_slist *h)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    const char *tool = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, "name"));
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    const cJSON *map = tool ? cJSON_GetObjectItemCaseSensitive(c->param_headers, tool) : NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, map)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, m->string);
        char name[96], val[64];
        snprintf(name, sizeof name, "Mcp-Param-%s", m->valuestring);
        if (cJSON_IsString(v))
            h = add_header(h, name, v->valuestring);
        else if (cJSON_IsBool(v))
            h = add_header(h, name, cJSON_IsTrue(v) ? "true" : "false");
        else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble &&
                 v->valuedouble <= 9007199254740991.0 && v->valuedouble >= -9007199254740991.0) {
            snprintf(val, sizeof val, "%lld", (long long)v->valuedouble);
            h = add_header(h, name, val);
        }
    }
    return h;
}

/* Adds the per-request _meta a 2026-07-28 request carries (keys the sender set stay). */
static void add_meta(mcp_client *c, cJSON *msg)
{
    cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    if (!cJSON_IsObject(params)) {
        cJSON_DeleteItemFromObjectCaseSensitive(msg, "params");
        params = cJSON_AddObjectToObject(msg, "params");
    }
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");
    if (!cJSON_IsObject(meta)) {
        cJSON_DeleteItemFromObjectCaseSensitive(params, "_meta");
        meta = cJSON_AddObjectToObject(params, "_meta");
    }
    if (!cJSON_HasObjectItem(meta, K_PV))
        cJSON_AddStringToObject(meta, K_PV, MODERN);
    if (!cJSON_HasObjectItem(meta, K_CAPS))
        mcp_json_add(meta, K_CAPS,
                     c->client_caps ? cJSON_Duplicate(c->client_caps, true) : cJSON_CreateObject());
    if (!cJSON_HasObjectItem(meta, K_INFO)) {
        cJSON *info = cJSON_AddObjectToObject(meta, K_INFO);
        cJSON_AddStringToObject(info, "name", "otelprofd");
        cJSON_AddStringToObject(info, "version", "client");
    }
    if (c->log_level[0] && !cJSON_HasObjectItem(meta, K_LOG))
        cJSON_AddStringToObject(meta, K_LOG, c->log_level);
}

static bool has_string(const cJSON *arr, const char *s)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) if (cJSON_IsString(v) && strcmp(v->valuestring, s) == 0) return true;
    return false;
}

/* server/discover at 2026-07-28: 1 the server speaks it (c->init_result = the
 * DiscoverResult), 0 it does not (fall back to initialize), -1 failure with `err`. */
static int probe_modern(mcp_client *c, char *err, size_t err_len)
{
    cJSON *msg = cJSON_Parse("{\"jsonrpc\":\"2.0\",\"id\":\"otelprofd-discover\","
                             "\"method\":\"server/discover\",\"params\":{}}");
    if (!msg) {
        base_set_err(err, err_len, "mcp client: out of memory");
        return -1;
    }
    add_meta(c, msg);
    char *text = cJSON_PrintUnformatted(msg);
    struct curl_slist *h = modern_headers(msg);
    cJSON_Delete(msg);
    char e[512] = "";
    char *resp = text && h ? send_raw(c, text, NULL, NULL, e, sizeof e, h) : NULL;
    if (!text)
        curl_slist_free_all(h);
    free(text);
    if (!resp) {
        /* unreachable or 401: no fallback helps; any other refusal means "not modern" */
        if (strncmp(e, "cannot reach", 12) == 0 || strstr(e, "answered 401")) {
            base_set_err(err, err_len, "%s", e);
            return -1;
        }
        return 0;
    }
    cJSON *m = mcp__parse(resp, strlen(resp));
    free(resp);
    cJSON *result = cJSON_DetachItemFromObjectCaseSensitive(m, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(m, "error");
    int code = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(error, "code"))
                   ? cJSON_GetObjectItemCaseSensitive(error, "code")->valueint
                   : 0;
    int verdict = 0;
    if (has_string(cJSON_GetObjectItemCaseSensitive(result, "supportedVersions"), MODERN)) {
        /* kept in the shape of an InitializeResult (mcp_client_server_info's contract) */
        cJSON *ir = cJSON_CreateObject();
        cJSON_AddStringToObject(ir, "protocolVersion", MODERN);
        cJSON *caps = cJSON_DetachItemFromObjectCaseSensitive(result, "capabilities");
        mcp_json_add(ir, "capabilities", cJSON_IsObject(caps) ? caps : cJSON_CreateObject());
        if (!cJSON_IsObject(caps))
            cJSON_Delete(caps);
        cJSON *info = cJSON_DetachItemFromObjectCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(result, "_meta"),
            "io.modelcontextprotocol/serverInfo");
        if (!cJSON_IsObject(info)) {
            cJSON_Delete(info);
            info = cJSON_CreateObject();
            cJSON_AddStringToObject(info, "name", "unknown");
            cJSON_AddStringToObject(info, "version", "unknown");
        }
        mcp_json_add(ir, "serverInfo", info);
        cJSON *ins = cJSON_DetachItemFromObjectCaseSensitive(result, "instructions");
        if (cJSON_IsString(ins))
            mcp_json_add(ir, "instructions", ins);
        else
            cJSON_Delete(ins);
        mcp_json_add(ir, "supportedVersions",
                     cJSON_DetachItemFromObjectCaseSensitive(result, "supportedVersions"));
        cJSON_Delete(c->init_result);
        c->init_result = ir;
        verdict = 1;
    } else if (code == -32022) {
        /* a 2026-era server without our revision: initialize only helps if it lists a
         * 2025-xx one */
        const cJSON *sup = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(error, "data"), "supported");
        bool legacy = false;
        const cJSON *v;
        cJSON_ArrayForEach(v, sup) if (mcp__version_supported(cJSON_GetStringValue(v))) legacy =
            true;
        if (!legacy) {
            char *list = cJSON_PrintUnformatted(sup);
            base_set_err(err, err_len,
                         "%s speaks none of our protocol versions (it supports %.200s)", c->url,
                         list ? list : "?");
            free(list);
            verdict = -1;
        }
    }
    cJSON_Delete(result);
    cJSON_Delete(m);
    if (verdict == 1)
        c->modern = true;
    return verdict;
}

/* Before the first 2026-07-28 tools/call: a tools/list of our own (every page, at most 64)
 * so the call can carry the Mcp-Param-* headers its tool's schema asks for. `like` lends
 * its _meta. Failures leave the map empty: the server then says HeaderMismatch. */
static void load_param_headers(mcp_client *c, const cJSON *like)
{
    c->param_headers_loaded = true;
    char cursor[1024] = "";
    for (int page = 0; page < 64; page++) {
        cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "jsonrpc", "2.0");
        cJSON_AddStringToObject(req, "id", "otelprofd-tools");
        cJSON_AddStringToObject(req, "method", "tools/list");
        cJSON *params = cJSON_AddObjectToObject(req, "params");
        if (cursor[0])
            cJSON_AddStringToObject(params, "cursor", cursor);
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(like, "params"), "_meta");
        mcp_json_add(params, "_meta", cJSON_Duplicate(meta, true));
        char *text = cJSON_PrintUnformatted(req);
        struct curl_slist *h = modern_headers(req);
        cJSON_Delete(req);
        char e[256];
        char *out = text && h ? send_raw(c, text, NULL, NULL, e, sizeof e, h) : NULL;
        if (!text)
            curl_slist_free_all(h);
        free(text);
        cJSON *m = out ? mcp__parse(out, strlen(out)) : NULL;
        free(out);
        const cJSON *result = cJSON_GetObjectItemCaseSensitive(m, "result");
        learn_param_headers(c, result);
        const char *next =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "nextCursor"));
        bool more = next && *next && strlen(next) < sizeof cursor;
        if (more)
            snprintf(cursor, sizeof cursor, "%s", next);
        cJSON_Delete(m);
        if (!more)
            break;
    }
}

/* An answer made here for a translated 2025-xx client: {"jsonrpc","id",result}. */
static char *local_result(const cJSON *id, cJSON *result)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    mcp_json_add(r, "id", id ? cJSON_Duplicate(id, true) : cJSON_CreateNull());
    mcp_json_add(r, "result", result);
    char *text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return text;
}

/* initialize of a 2025-xx client, answered from the DiscoverResult. */
static char *translated_initialize(mcp_client *c, const cJSON *msg)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    const char *asked =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, "protocolVersion"));
    cJSON_Delete(c->client_caps);
    c->client_caps =
        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(params, "capabilities"), true);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "protocolVersion",
                            mcp__version_supported(asked) ? asked : MCP__VERSION_LATEST);
    const cJSON *d = c->init_result;
    cJSON *caps = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "capabilities"), true);
    mcp_json_add(r, "capabilities", caps ? caps : cJSON_CreateObject());
    mcp_json_add(r, "serverInfo",
                 cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "serverInfo"), true));
    const char *ins = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "instructions"));
    if (ins)
        cJSON_AddStringToObject(r, "instructions", ins);
    return local_result(cJSON_GetObjectItemCaseSensitive(msg, "id"), r);
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
    cJSON *msg = mcp__parse(json, strlen(json));
    const char *method = cJSON_IsObject(msg)
                             ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "method"))
                             : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    bool own_meta = method && mcp__meta_version(msg) != NULL;
    /* a 2025-xx client's initialize decides the era once: probe before relaying it */
    if (method && !own_meta && !c->modern && !c->probed && strcmp(method, "initialize") == 0) {
        c->probed = true;
        if (probe_modern(c, err, err_len) < 0) {
            cJSON_Delete(msg);
            return NULL;
        }
    }
    if (!method || (!own_meta && !c->modern)) {
        cJSON_Delete(msg);
        return send_raw(c, json, on_notification, u, err, err_len, NULL);
    }
    char *out = NULL;
    if (!own_meta) {
        /* translated: what 2026-07-28 no longer has is answered here */
        if (strcmp(method, "initialize") == 0) {
            out = translated_initialize(c, msg);
            goto done;
        }
        if (!id) /* notifications/initialized, cancelled, ...: nothing to relay */
            goto done;
        if (strcmp(method, "ping") == 0) {
            out = local_result(id, cJSON_CreateObject());
            goto done;
        }
        if (strcmp(method, "logging/setLevel") == 0) {
            const char *lv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(msg, "params"), "level"));
            snprintf(c->log_level, sizeof c->log_level, "%s", lv && strlen(lv) < 16 ? lv : "");
            out = local_result(id, cJSON_CreateObject());
            goto done;
        }
        add_meta(c, msg);
    }
    bool is_call = strcmp(method, "tools/call") == 0;
    if (is_call && !c->param_headers_loaded)
        load_param_headers(c, msg);
    char *text = cJSON_PrintUnformatted(msg);
    struct curl_slist *h = modern_headers(msg);
    if (h && is_call)
        h = add_param_headers(c, msg, h);
    if (text && h)
        out = send_raw(c, text, on_notification, u, err, err_len, h);
    else {
        curl_slist_free_all(h);
        base_set_err(err, err_len, "mcp client: out of memory");
    }
    free(text);
    if (out && strcmp(method, "tools/list") == 0) {
        cJSON *m = mcp__parse(out, strlen(out));
        learn_param_headers(c, cJSON_GetObjectItemCaseSensitive(m, "result"));
        cJSON_Delete(m);
    }
done:
    cJSON_Delete(msg);
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
    cJSON_Delete(c->client_caps);
    cJSON_Delete(c->param_headers);
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
    int era = probe_modern(c, err, err_len);
    if (era < 0) {
        client_free(c);
        return NULL;
    }
    c->probed = true;
    if (era == 1)
        return c; /* stateless from here on: no handshake */
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
        (void)exchange(c, "DELETE", NULL, &r, NULL, 0, NULL);
        free(r.body);
    }
    client_free(c);
}
