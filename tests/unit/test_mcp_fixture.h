/* A small MCP server built on mcp/ alone, shared by the mcp unit tests (and runnable as a
 * fixture for SDK clients: see main() of test_mcp_rpc.c and test_mcp_http.c). */
#ifndef TEST_MCP_FIXTURE_H
#define TEST_MCP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp.h"

static int fx_echo(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)user;
    (void)call;
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(args, "text"));
    const cJSON *rep = cJSON_GetObjectItem(args, "repeat");
    const char *mode = cJSON_GetStringValue(cJSON_GetObjectItem(args, "mode"));
    int n = cJSON_IsNumber(rep) ? rep->valueint : 1;
    size_t len = strlen(text);
    char *buf = malloc(len * (size_t)n + 1);
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        strcat(buf, text);
    if (mode && strcmp(mode, "upper") == 0)
        for (char *p = buf; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
    out->structured = cJSON_CreateObject();
    cJSON_AddStringToObject(out->structured, "text", buf);
    out->text = buf;
    return 0;
}

static int fx_progress(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)user;
    const cJSON *steps = cJSON_GetObjectItem(args, "steps");
    int n = cJSON_IsNumber(steps) ? steps->valueint : 3;
    for (int i = 1; i <= n; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "step %d", i);
        call->progress(call, i, n, msg);
    }
    call->log(call, "debug", "a debug line");
    call->log(call, "error", "an error line");
    char text[64];
    snprintf(text, sizeof text, "done %d", n);
    out->text = strdup(text);
    return 0;
}

static int fx_structured_only(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)user;
    (void)call;
    (void)args;
    out->structured = cJSON_Parse("{\"total\":42,\"rows\":[1,2]}");
    out->extra_content = cJSON_Parse("[{\"type\":\"text\",\"text\":\"extra\"}]");
    return 0;
}

static int fx_fails(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)user;
    (void)call;
    (void)args;
    out->text = strdup("partial result that must not leak");
    return -1;
}

static int fx_tool_error(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)user;
    (void)call;
    (void)args;
    mcp_tool_error(out, "selector %s is bad: use {k=\"v\"}", "{x");
    return 0;
}

static int fx_guide(void *user, mcp_call *call, const char *uri, mcp_resource_content *out)
{
    (void)user;
    (void)call;
    (void)uri;
    out->text = strdup("# Guide\nstatus, then table.");
    return 0;
}

static int fx_file(void *user, mcp_call *call, const char *uri, mcp_resource_content *out)
{
    (void)user;
    (void)call;
    if (strcmp(uri, "file:///missing") == 0)
        return -1;
    char buf[256];
    snprintf(buf, sizeof buf, "file %s", uri + strlen("file:///"));
    out->text = strdup(buf);
    out->mime_type = "text/plain";
    return 0;
}

static int fx_blob(void *user, mcp_call *call, const char *uri, mcp_resource_content *out)
{
    (void)user;
    (void)call;
    (void)uri;
    out->blob = malloc(4);
    memcpy(out->blob, "\x00\x01\xfe\xff", 4);
    out->blob_len = 4;
    return 0;
}

static int fx_prompt(void *user, mcp_call *call, const cJSON *args, cJSON *messages,
                     char **description, char *err, size_t err_len)
{
    (void)user;
    (void)call;
    const char *service = cJSON_GetStringValue(cJSON_GetObjectItem(args, "service"));
    if (strcmp(service, "forbidden") == 0) {
        snprintf(err, err_len, "service \"forbidden\" does not exist: see list_label_values");
        return -1;
    }
    char text[256];
    snprintf(text, sizeof text, "Investigate CPU hot spots of %s.", service);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON *content = cJSON_AddObjectToObject(m, "content");
    cJSON_AddStringToObject(content, "type", "text");
    cJSON_AddStringToObject(content, "text", text);
    cJSON_AddItemToArray(messages, m);
    *description = strdup("hot spots of one service");
    return 0;
}

/* 150 services "svc-000".."svc-149", plus "checkout"; prefix-filtered */
static int fx_complete(void *user, const char *argument, const char *prefix,
                       const cJSON *context_args, cJSON *values, bool *has_more, int *total)
{
    (void)user;
    (void)context_args;
    (void)has_more;
    (void)total;
    if (strcmp(argument, "service") != 0)
        return 0;
    if (strncmp("checkout", prefix, strlen(prefix)) == 0)
        cJSON_AddItemToArray(values, cJSON_CreateString("checkout"));
    for (int i = 0; i < 150; i++) {
        char v[16];
        snprintf(v, sizeof v, "svc-%03d", i);
        if (strncmp(v, prefix, strlen(prefix)) == 0)
            cJSON_AddItemToArray(values, cJSON_CreateString(v));
    }
    return 0;
}

static int fx_complete_file(void *user, const char *argument, const char *prefix,
                            const cJSON *context_args, cJSON *values, bool *has_more, int *total)
{
    (void)user;
    (void)argument;
    (void)context_args;
    (void)prefix;
    cJSON_AddItemToArray(values, cJSON_CreateString("a.txt"));
    *has_more = false;
    *total = 1;
    return 0;
}

#define FX_ECHO_SCHEMA                                                                             \
    "{\"type\":\"object\",\"properties\":{"                                                        \
    "\"text\":{\"type\":\"string\",\"description\":\"what to echo\",\"minLength\":1},"             \
    "\"repeat\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5},"                               \
    "\"ratio\":{\"type\":\"number\",\"exclusiveMinimum\":0},"                                      \
    "\"mode\":{\"type\":\"string\",\"enum\":[\"plain\",\"upper\"]},"                               \
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":3},"                \
    "\"flag\":{\"type\":[\"boolean\",\"null\"]}},"                                                 \
    "\"required\":[\"text\"],\"additionalProperties\":false}"

static mcp_server *fx_server(void)
{
    mcp_server_info info = {.name = "fixture",
                            .title = "Fixture server",
                            .version = "1.2.3",
                            .instructions = "Call echo first."};
    mcp_server *srv = mcp_server_new(&info);
    mcp_tool_def echo = {.name = "echo",
                         .title = "Echo",
                         .description = "Echoes text",
                         .input_schema = FX_ECHO_SCHEMA,
                         .output_schema = "{\"type\":\"object\",\"properties\":{\"text\":{"
                                          "\"type\":\"string\"}},\"required\":[\"text\"]}",
                         .read_only = true,
                         .idempotent = true,
                         .fn = fx_echo};
    mcp_tool_def progress = {.name = "slow_progress",
                             .description = "Reports progress",
                             .input_schema = "{\"type\":\"object\",\"properties\":{\"steps\":{"
                                             "\"type\":\"integer\",\"minimum\":1,\"maximum\":10}}}",
                             .fn = fx_progress};
    mcp_tool_def structured = {.name = "structured_only",
                               .input_schema = "{\"type\":\"object\"}",
                               .output_schema = "{\"type\":\"object\"}",
                               .fn = fx_structured_only};
    mcp_tool_def fails = {.name = "fails", .input_schema = "{\"type\":\"object\"}", .fn = fx_fails};
    mcp_tool_def terr = {
        .name = "tool_error", .input_schema = "{\"type\":\"object\"}", .fn = fx_tool_error};
    if (mcp_server_add_tool(srv, &echo) || mcp_server_add_tool(srv, &progress) ||
        mcp_server_add_tool(srv, &structured) || mcp_server_add_tool(srv, &fails) ||
        mcp_server_add_tool(srv, &terr))
        abort();
    mcp_resource_def guide = {.uri = "guide://readme",
                              .name = "readme",
                              .title = "Read me",
                              .description = "How to use",
                              .mime_type = "text/markdown",
                              .fn = fx_guide};
    mcp_resource_def file = {.uri = "file:///{name}",
                             .is_template = true,
                             .name = "files",
                             .mime_type = "text/plain",
                             .fn = fx_file};
    mcp_resource_def blob = {.uri = "blob://bytes",
                             .name = "bytes",
                             .mime_type = "application/octet-stream",
                             .fn = fx_blob};
    if (mcp_server_add_resource(srv, &guide) || mcp_server_add_resource(srv, &file) ||
        mcp_server_add_resource(srv, &blob) ||
        mcp_server_set_resource_completion(srv, "file:///{name}", fx_complete_file, NULL))
        abort();
    static const mcp_prompt_arg args[] = {
        {.name = "service", .description = "service.name to look at", .required = true},
        {.name = "window", .description = "time range", .required = false}};
    mcp_prompt_def review = {.name = "investigate",
                             .title = "Investigate",
                             .description = "Investigate hot spots",
                             .args = args,
                             .n_args = 2,
                             .fn = fx_prompt,
                             .complete = fx_complete};
    if (mcp_server_add_prompt(srv, &review))
        abort();
    return srv;
}

#endif
