/* cli/remote.c — commands that talk to a running otelprofd over Streamable HTTP:
 * `otelprofd mcp --connect URL` (stdio <-> HTTP bridge for MCP clients that only spawn
 * processes) and `otelprofd query TOOL [JSON]` (one tool call from a shell). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/base.h"
#include "cli/cli.h"
#include "mcp/mcp.h"

#define MAX_LINE ((size_t)16 << 20)

/* ---- the stdio bridge ------------------------------------------------------------------ */

static void print_line(void *u, const char *json)
{
    (void)u;
    fputs(json, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* A transport failure becomes a JSON-RPC error for the request that suffered it, so the
 * client on stdin is not left waiting. Notifications get nothing (they expect nothing). */
static void relay_failure(const char *line, const char *why)
{
    cJSON *msg = cJSON_Parse(line);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    if (id && method) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "jsonrpc", "2.0");
        cJSON_AddItemToObject(e, "id", cJSON_Duplicate(id, true));
        cJSON *err = cJSON_AddObjectToObject(e, "error");
        cJSON_AddNumberToObject(err, "code", -32603);
        cJSON_AddStringToObject(err, "message", why);
        char *text = cJSON_PrintUnformatted(e);
        if (text)
            print_line(NULL, text);
        free(text);
        cJSON_Delete(e);
    }
    cJSON_Delete(msg);
}

int cli_bridge(const char *url, const char *token, const char *tls_ca, const char *tls_cert,
               const char *tls_key)
{
    char err[BASE_ERR_LEN] = "";
    mcp_client_tls tls = {.ca_file = tls_ca, .cert_file = tls_cert, .key_file = tls_key};
    mcp_client *c = mcp_client_connect_tls(url, token, false, &tls, err, sizeof err);
    if (!c) {
        fprintf(stderr,
                "otelprofd: %s\n  start the daemon first (otelprofd serve), or run the MCP "
                "server in this process instead: otelprofd mcp\n",
                err);
        return CLI_EXIT_UNREACHABLE;
    }
    base_log(BASE_LOG_INFO, "bridging stdio to %s", url);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if ((size_t)n > MAX_LINE) {
            relay_failure(line, "message longer than 16 MiB");
            continue;
        }
        char e[512] = "";
        char *resp = mcp_client_send(c, line, print_line, NULL, e, sizeof e);
        if (resp) {
            print_line(NULL, resp);
            free(resp);
        } else if (e[0]) {
            base_log(BASE_LOG_WARN, "%s", e);
            relay_failure(line, e);
        }
    }
    free(line);
    mcp_client_close(c);
    return 0;
}

/* ---- query ----------------------------------------------------------------------------- */

void cli_query_usage(FILE *out)
{
    fprintf(out,
            "usage: otelprofd query [TOOL ['{json arguments}']] [--connect URL] [--mcp-token T] "
            "[--json] [--image FILE]\n\n"
            "Calls one tool on a running otelprofd (its MCP endpoint) and prints the answer.\n"
            "Without TOOL, lists the tools.\n\n"
            "  --connect URL     MCP endpoint, default %s\n"
            "  --mcp-token T     bearer token (default: $OTELPROFD_MCP_TOKEN)\n"
            "  --tls-ca FILE     for an https:// URL: trust this PEM CA (default: the system's)\n"
            "  --tls-cert FILE --tls-key FILE\n"
            "                    PEM client certificate, for a daemon with --tls-client-ca\n"
            "  --json            print the structured content instead of the text\n"
            "  --image FILE      write the answer's image content (the PNG of\n"
            "                    query_profile_flamegraph with \"format\": \"image\") to FILE\n\n"
            "examples:\n"
            "  otelprofd query get_status\n"
            "  otelprofd query query_profile_table '{\"profile_type\":\"cpu:nanoseconds\","
            "\"service_name\":\"checkout\",\"start\":\"now-15m\"}'\n"
            "  otelprofd query query_profile_flamegraph '{\"profile_type\":\"cpu:nanoseconds\","
            "\"format\":\"image\"}' --image flame.png\n\n"
            "exit codes: 0 ok, 1 the tool answered an error, 2 usage, 3 the daemon cannot be "
            "reached\n",
            CLI_DEFAULT_MCP_URL);
}

static int unreachable(const char *err)
{
    fprintf(stderr,
            "otelprofd: %s\n  is the daemon running? Start it with: otelprofd serve (MCP on "
            "%s by default), or pass --connect URL\n",
            err, CLI_DEFAULT_MCP_URL);
    return CLI_EXIT_UNREACHABLE;
}

/* Sends one request and returns the parsed response (NULL after printing the failure;
 * *code is the exit code then). */
static cJSON *request(mcp_client *c, const char *url, const char *json, int *code)
{
    char err[BASE_ERR_LEN] = "";
    char *resp = mcp_client_send(c, json, NULL, NULL, err, sizeof err);
    if (!resp) {
        *code = unreachable(err[0] ? err : "no answer");
        return NULL;
    }
    cJSON *r = cJSON_Parse(resp);
    free(resp);
    if (!r) {
        fprintf(stderr, "otelprofd: %s answered something that is not JSON-RPC\n", url);
        *code = 1;
        return NULL;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
    if (e) {
        const cJSON *ec = cJSON_GetObjectItemCaseSensitive(e, "code");
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
        fprintf(stderr, "otelprofd: %s\n", msg ? msg : "error");
        *code = cJSON_IsNumber(ec) && ec->valueint == -32602 ? CLI_EXIT_USAGE : 1;
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

static int list_tools(mcp_client *c, const char *url)
{
    int code = 0;
    cJSON *r = request(c, url, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", &code);
    if (!r)
        return code;
    const cJSON *tools =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "result"), "tools");
    const cJSON *t;
    printf("tools of %s (otelprofd query TOOL '{json arguments}'):\n", url);
    cJSON_ArrayForEach(t, tools)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
        const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "title"));
        printf("  %-26s %s\n", name ? name : "?", title ? title : "");
    }
    cJSON_Delete(r);
    return 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decodes base64 `in` (padding optional, no other characters) into a malloc'd buffer. */
static uint8_t *unbase64(const char *in, size_t *out_len)
{
    size_t n = strlen(in);
    uint8_t *out = malloc(n / 4 * 3 + 3);
    if (!out)
        return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n && in[i] != '='; i++) {
        const char *p = strchr(B64, in[i]);
        if (!p) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)(p - B64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = o;
    return out;
}

/* Writes an image content item to `file`, or says how to (stderr) when no file was given. */
static int save_image(const char *file, const char *data, const char *mime)
{
    size_t len = 0;
    uint8_t *bytes = unbase64(data, &len);
    if (!bytes) {
        fprintf(stderr, "otelprofd: query: the answer's %s content is not valid base64\n", mime);
        return -1;
    }
    if (!file) {
        fprintf(stderr, "(the answer carries %s content, %zu bytes: add --image FILE to save it)\n",
                mime, len);
        free(bytes);
        return 0;
    }
    FILE *f = fopen(file, "wb");
    bool ok = f && fwrite(bytes, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    free(bytes);
    if (!ok) {
        fprintf(stderr, "otelprofd: query: cannot write %s: %s\n", file, strerror(errno));
        return -1;
    }
    fprintf(stderr, "wrote %s (%zu bytes) to %s\n", mime, len, file);
    return 0;
}

int cli_query(int argc, char **argv, int first)
{
    const char *url = CLI_DEFAULT_MCP_URL, *token = getenv("OTELPROFD_MCP_TOKEN");
    const char *tool = NULL, *args = NULL, *image_file = NULL;
    mcp_client_tls tls = {0};
    bool json = false;
    for (int a = first; a < argc; a++) {
        const char *s = argv[a];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            cli_query_usage(stdout);
            return 0;
        } else if (strcmp(s, "--json") == 0) {
            json = true;
        } else if (strcmp(s, "--connect") == 0 || strcmp(s, "--mcp-token") == 0 ||
                   strcmp(s, "--tls-ca") == 0 || strcmp(s, "--tls-cert") == 0 ||
                   strcmp(s, "--tls-key") == 0 || strcmp(s, "--image") == 0) {
            if (a + 1 >= argc) {
                fprintf(stderr, "otelprofd: %s needs a value\n", s);
                return CLI_EXIT_USAGE;
            }
            const char *v = argv[++a];
            if (strcmp(s, "--connect") == 0)
                url = v;
            else if (strcmp(s, "--mcp-token") == 0)
                token = v;
            else if (strcmp(s, "--tls-ca") == 0)
                tls.ca_file = v;
            else if (strcmp(s, "--tls-cert") == 0)
                tls.cert_file = v;
            else if (strcmp(s, "--image") == 0)
                image_file = v;
            else
                tls.key_file = v;
        } else if (strncmp(s, "--connect=", 10) == 0) {
            url = s + 10;
        } else if (strncmp(s, "--mcp-token=", 12) == 0) {
            token = s + 12;
        } else if (s[0] == '-' && s[1] == '-') {
            fprintf(stderr,
                    "otelprofd: query: unknown option \"%s\" (try otelprofd query --help)\n", s);
            return CLI_EXIT_USAGE;
        } else if (!tool) {
            tool = s;
        } else if (!args) {
            args = s;
        } else {
            fprintf(stderr, "otelprofd: query: unexpected argument \"%s\"\n", s);
            return CLI_EXIT_USAGE;
        }
    }
    cJSON *parsed = NULL;
    if (args) {
        parsed = cJSON_Parse(args);
        if (!parsed || !cJSON_IsObject(parsed)) {
            fprintf(stderr, "otelprofd: query: the arguments must be one JSON object, e.g. "
                            "'{\"profile_type\":\"cpu:nanoseconds\"}' (quote it for the shell)\n");
            cJSON_Delete(parsed);
            return CLI_EXIT_USAGE;
        }
    }
    char err[BASE_ERR_LEN] = "";
    if (!tls.cert_file != !tls.key_file) {
        cJSON_Delete(parsed);
        fprintf(stderr, "otelprofd: query: a client certificate needs both --tls-cert and "
                        "--tls-key\n");
        return CLI_EXIT_USAGE;
    }
    mcp_client *c = mcp_client_connect_tls(url, token, true, &tls, err, sizeof err);
    if (!c) {
        cJSON_Delete(parsed);
        if (strncmp(err, "cannot reach", 12) == 0)
            return unreachable(err);
        fprintf(stderr, "otelprofd: %s\n", err);
        return 1;
    }
    if (!tool) {
        int code = list_tools(c, url);
        mcp_client_close(c);
        return code;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "jsonrpc", "2.0");
    cJSON_AddNumberToObject(req, "id", 1);
    cJSON_AddStringToObject(req, "method", "tools/call");
    cJSON *params = cJSON_AddObjectToObject(req, "params");
    cJSON_AddStringToObject(params, "name", tool);
    cJSON_AddItemToObject(params, "arguments", parsed ? parsed : cJSON_CreateObject());
    char *text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    int code = 0;
    cJSON *r = text ? request(c, url, text, &code) : NULL;
    free(text);
    mcp_client_close(c);
    if (!r)
        return code ? code : 1;
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(r, "result");
    bool is_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "isError"));
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(result, "structuredContent");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(result, "content");
    FILE *out = is_error ? stderr : stdout;
    if (json && sc && !is_error) {
        char *p = cJSON_Print(sc);
        if (p)
            fprintf(out, "%s\n", p);
        free(p);
    } else {
        const cJSON *item;
        cJSON_ArrayForEach(item, content)
        {
            const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "type"));
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "text"));
            if (type && strcmp(type, "text") == 0 && t) {
                size_t n = strlen(t);
                fprintf(out, "%s%s", t, n && t[n - 1] == '\n' ? "" : "\n");
            }
        }
    }
    int rc = is_error ? 1 : 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, content)
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "type"));
        const char *data = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "data"));
        const char *mime = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "mimeType"));
        if (!type || strcmp(type, "image") != 0 || !data)
            continue;
        if (save_image(image_file, data, mime ? mime : "image") != 0)
            rc = 1;
        break; /* one picture per answer */
    }
    cJSON_Delete(r);
    return rc;
}
