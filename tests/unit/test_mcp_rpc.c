/* The transport-independent MCP server: JSON-RPC framing and every error code, lifecycle
 * and version negotiation, tools (schema failures as isError results), resources, prompts,
 * completion, progress/log notifications, and the stdio transport through real FILE
 * streams. `test_mcp_rpc --serve-stdio` runs the fixture server on stdin/stdout instead
 * (for checks with SDK clients). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp_internal.h"
#include "test_mcp_fixture.h"

typedef struct fx {
    mcp_server *srv;
    mcp_session *s;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->srv = fx_server();
    f->s = mcp_session_new(f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    mcp_session_free(f->s);
    mcp_server_free(f->srv);
    free(f);
    return 0;
}

/* Sends `text`, returns the parsed answer (NULL when none). */
static cJSON *rpc_em(fx *f, const char *text, const mcp_call *tc)
{
    char *out = mcp_handle_message(f->srv, f->s, text, strlen(text), tc);
    if (!out)
        return NULL;
    assert_null(strchr(out, '\n')); /* one line per message on stdio */
    cJSON *v = cJSON_Parse(out);
    assert_non_null(v);
    free(out);
    return v;
}

static cJSON *rpc(fx *f, const char *text)
{
    return rpc_em(f, text, NULL);
}

static int err_code(const cJSON *resp)
{
    const cJSON *e = cJSON_GetObjectItem(resp, "error");
    assert_non_null(e);
    assert_null(cJSON_GetObjectItem(resp, "result"));
    return cJSON_GetObjectItem(e, "code")->valueint;
}

static const char *err_msg(const cJSON *resp)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "error"), "message")->valuestring;
}

static const cJSON *result(const cJSON *resp)
{
    assert_null(cJSON_GetObjectItem(resp, "error"));
    const cJSON *r = cJSON_GetObjectItem(resp, "result");
    assert_non_null(r);
    return r;
}

static void init_version(fx *f, const char *version)
{
    /* a second initialize on one session is refused: each negotiation gets a fresh one */
    mcp_session_free(f->s);
    f->s = mcp_session_new(f->srv);
    char msg[256];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
             "\"version\":\"0\"}}}",
             version);
    cJSON *r = rpc(f, msg);
    assert_string_equal(cJSON_GetObjectItem(result(r), "protocolVersion")->valuestring,
                        mcp__version_supported(version) ? version : "2025-11-25");
    cJSON_Delete(r);
    assert_null(rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
}

static void init(fx *f)
{
    init_version(f, "2025-11-25");
}

/* ---- framing ----------------------------------------------------------------------------- */

static void test_parse_errors(void **state)
{
    fx *f = *state;
    const char *bad[] = {"{", "{\"jsonrpc\":\"2.0\"", "{} x", "nul", "", "\"unterminated"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *r = rpc(f, bad[i]);
        assert_int_equal(err_code(r), -32700);
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "id")));
        assert_string_equal(cJSON_GetObjectItem(r, "jsonrpc")->valuestring, "2.0");
        cJSON_Delete(r);
    }
    /* an embedded NUL ends the JSON early: the rest is garbage */
    char withnul[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\0xx";
    char *out = mcp_handle_message(f->srv, f->s, withnul, sizeof withnul - 1, NULL);
    cJSON *r = cJSON_Parse(out);
    assert_int_equal(err_code(r), -32700);
    cJSON_Delete(r);
    free(out);
    /* not NUL-terminated: the length is respected */
    const char *text = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}GARBAGE";
    out = mcp_handle_message(f->srv, f->s, text, strlen(text) - 7, NULL);
    r = cJSON_Parse(out);
    assert_int_equal(cJSON_GetObjectItem(r, "id")->valueint, 7);
    result(r);
    cJSON_Delete(r);
    free(out);
}

static void test_invalid_requests(void **state)
{
    fx *f = *state;
    init(f);
    struct {
        const char *msg;
        bool id_echoed;
    } cases[] = {
        {"42", false},
        {"\"text\"", false},
        {"{\"id\":3,\"method\":\"ping\"}", true},                     /* no jsonrpc */
        {"{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"ping\"}", true}, /* wrong version */
        {"{\"jsonrpc\":2,\"id\":3,\"method\":\"ping\"}", true},       /* not a string */
        {"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", false},
        {"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}", false},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", false},
        {"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}", false},
        {"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":5}", true},
        {"{\"jsonrpc\":\"2.0\",\"id\":3}", true},
        {"{\"jsonrpc\":\"2.0\"}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *r = rpc(f, cases[i].msg);
        assert_non_null(r);
        assert_int_equal(err_code(r), -32600);
        const cJSON *id = cJSON_GetObjectItem(r, "id");
        if (cases[i].id_echoed)
            assert_int_equal(id->valueint, 3);
        else
            assert_true(cJSON_IsNull(id));
        cJSON_Delete(r);
    }
}

static void test_ids_and_notifications(void **state)
{
    fx *f = *state;
    init(f);
    cJSON *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"ping\"}");
    assert_string_equal(cJSON_GetObjectItem(r, "id")->valuestring, "abc");
    assert_int_equal(cJSON_GetArraySize(result(r)), 0);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":-12,\"method\":\"ping\"}");
    assert_int_equal(cJSON_GetObjectItem(r, "id")->valueint, -12);
    cJSON_Delete(r);
    /* notifications never get an answer, known or not, even with bad params */
    assert_null(rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                       "\"params\":{\"requestId\":5,\"reason\":\"user\"}}"));
    assert_null(rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"no/such/notification\"}"));
    assert_null(rpc(f, "{\"jsonrpc\":\"2.0\",\"method\":\"tools/list\",\"params\":[1]}"));
    /* responses from the client: nothing is waiting for them */
    assert_null(rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}"));
    assert_null(rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":1,\"message\":\"x\"}}"));
}

static void test_method_and_params_errors(void **state)
{
    fx *f = *state;
    init(f);
    cJSON *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/frobnicate\"}");
    assert_int_equal(err_code(r), -32601);
    assert_non_null(strstr(err_msg(r), "tools/frobnicate"));
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/subscribe\",\"params\":{"
               "\"uri\":\"guide://readme\"}}");
    assert_int_equal(err_code(r), -32601); /* not offered: subscribe is false */
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\",\"params\":[1,2]}");
    assert_int_equal(err_code(r), -32602);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\",\"params\":{\"cursor\":"
               "\"bogus\"}}");
    assert_int_equal(err_code(r), -32602);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"logging/setLevel\",\"params\":{"
               "\"level\":\"loud\"}}");
    assert_int_equal(err_code(r), -32602);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"logging/setLevel\",\"params\":{"
               "\"level\":\"notice\"}}");
    result(r);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
               "\"fails\"}}");
    assert_int_equal(err_code(r), -32603);
    assert_int_equal(cJSON_GetObjectItem(r, "id")->valueint, 5);
    cJSON_Delete(r);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void test_requires_initialize(void **state)
{
    fx *f = *state;
    cJSON *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    assert_int_equal(err_code(r), -32600);
    assert_non_null(strstr(err_msg(r), "initialize"));
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
    result(r);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":{}}");
    assert_int_equal(err_code(r), -32602);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\"}");
    assert_int_equal(err_code(r), -32602);
    cJSON_Delete(r);
    /* still not initialized after failed attempts */
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"prompts/list\"}");
    assert_int_equal(err_code(r), -32600);
    cJSON_Delete(r);
    /* initialized notification skipped: requests are accepted after initialize anyway */
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"initialize\",\"params\":{"
               "\"protocolVersion\":\"2025-06-18\"}}");
    result(r);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\"}");
    result(r);
    cJSON_Delete(r);
}

static void test_negotiation(void **state)
{
    fx *f = *state;
    const char *asked[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "1999-01-01"};
    const char *want[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2025-11-25", "2025-11-25"};
    for (size_t i = 0; i < 5; i++) {
        mcp_session *s = mcp_session_new(f->srv);
        char msg[256];
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                 "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
                 "\"version\":\"0\"}}}",
                 asked[i]);
        char *out = mcp_handle_message(f->srv, s, msg, strlen(msg), NULL);
        cJSON *r = cJSON_Parse(out);
        free(out);
        const cJSON *res = result(r);
        assert_string_equal(cJSON_GetObjectItem(res, "protocolVersion")->valuestring, want[i]);
        char buf[16];
        assert_string_equal(mcp__session_version(s, buf, sizeof buf), want[i]);
        const cJSON *caps = cJSON_GetObjectItem(res, "capabilities");
        assert_true(
            cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(caps, "tools"), "listChanged")));
        assert_true(cJSON_IsFalse(
            cJSON_GetObjectItem(cJSON_GetObjectItem(caps, "prompts"), "listChanged")));
        assert_true(cJSON_IsObject(cJSON_GetObjectItem(caps, "resources")));
        assert_true(cJSON_IsObject(cJSON_GetObjectItem(caps, "logging")));
        assert_true(cJSON_IsObject(cJSON_GetObjectItem(caps, "completions")));
        const cJSON *si = cJSON_GetObjectItem(res, "serverInfo");
        assert_string_equal(cJSON_GetObjectItem(si, "name")->valuestring, "fixture");
        assert_string_equal(cJSON_GetObjectItem(si, "title")->valuestring, "Fixture server");
        assert_string_equal(cJSON_GetObjectItem(si, "version")->valuestring, "1.2.3");
        assert_string_equal(cJSON_GetObjectItem(res, "instructions")->valuestring,
                            "Call echo first.");
        cJSON_Delete(r);
        mcp_session_free(s);
    }
}

static void test_batches(void **state)
{
    fx *f = *state;
    init_version(f, "2025-11-25");
    const char *batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
                        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}, 17]";
    cJSON *r = rpc(f, batch);
    assert_true(cJSON_IsObject(r));
    assert_int_equal(err_code(r), -32600);
    assert_non_null(strstr(err_msg(r), "2025-03-26"));
    cJSON_Delete(r);

    init_version(f, "2025-03-26");
    r = rpc(f, batch);
    assert_true(cJSON_IsArray(r));
    assert_int_equal(cJSON_GetArraySize(r), 3); /* the notification gets none */
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "id")->valueint, 1);
    result(cJSON_GetArrayItem(r, 0));
    assert_int_equal(err_code(cJSON_GetArrayItem(r, 1)), -32601);
    assert_int_equal(err_code(cJSON_GetArrayItem(r, 2)), -32600);
    cJSON_Delete(r);
    assert_null(rpc(f, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]"));
    r = rpc(f, "[]");
    assert_int_equal(err_code(r), -32600);
    cJSON_Delete(r);
    r = rpc(f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
               "\"protocolVersion\":\"2025-03-26\"}}]");
    assert_int_equal(err_code(cJSON_GetArrayItem(r, 0)), -32600);
    cJSON_Delete(r);
}

/* ---- tools ---------------------------------------------------------------------------------- */

static void test_tools_list(void **state)
{
    fx *f = *state;
    init(f);
    cJSON *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{}}");
    const cJSON *tools = cJSON_GetObjectItem(result(r), "tools");
    assert_int_equal(cJSON_GetArraySize(tools), 5);
    const cJSON *echo = cJSON_GetArrayItem(tools, 0);
    assert_string_equal(cJSON_GetObjectItem(echo, "name")->valuestring, "echo");
    assert_string_equal(cJSON_GetObjectItem(echo, "title")->valuestring, "Echo");
    assert_string_equal(cJSON_GetObjectItem(echo, "description")->valuestring, "Echoes text");
    cJSON *want = cJSON_Parse(FX_ECHO_SCHEMA);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(echo, "inputSchema"), want, true));
    cJSON_Delete(want);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(echo, "outputSchema")));
    const cJSON *an = cJSON_GetObjectItem(echo, "annotations");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(an, "readOnlyHint")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(an, "idempotentHint")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(an, "destructiveHint")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(an, "openWorldHint")));
    assert_string_equal(cJSON_GetObjectItem(an, "title")->valuestring, "Echo");
    const cJSON *prog = cJSON_GetArrayItem(tools, 1);
    assert_null(cJSON_GetObjectItem(prog, "outputSchema"));
    assert_true(cJSON_IsFalse(
        cJSON_GetObjectItem(cJSON_GetObjectItem(prog, "annotations"), "readOnlyHint")));
    cJSON_Delete(r);
}

static cJSON *call_tool(fx *f, const char *name, const char *args)
{
    char msg[4096];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"%s\"%s%s}}",
             name, args ? ",\"arguments\":" : "", args ? args : "");
    return rpc(f, msg);
}

static const char *tool_text(const cJSON *resp, bool want_error)
{
    const cJSON *res = result(resp);
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")), want_error);
    assert_true(cJSON_IsBool(cJSON_GetObjectItem(res, "isError")));
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "content"), 0);
    assert_string_equal(cJSON_GetObjectItem(c0, "type")->valuestring, "text");
    return cJSON_GetObjectItem(c0, "text")->valuestring;
}

static void test_tools_call_ok(void **state)
{
    fx *f = *state;
    init(f);
    cJSON *r = call_tool(f, "echo",
                         "{\"text\":\"ab\",\"repeat\":3,\"mode\":\"upper\",\"ratio\":0.5,"
                         "\"tags\":[\"x\"],\"flag\":null}");
    assert_string_equal(tool_text(r, false), "ABABAB");
    const cJSON *sc = cJSON_GetObjectItem(result(r), "structuredContent");
    assert_string_equal(cJSON_GetObjectItem(sc, "text")->valuestring, "ABABAB");
    cJSON_Delete(r);
    /* 2.0 is an integer in JSON Schema */
    r = call_tool(f, "echo", "{\"text\":\"a\",\"repeat\":2.0}");
    assert_string_equal(tool_text(r, false), "aa");
    cJSON_Delete(r);
    /* structured only: the text is its serialization, extra content follows */
    r = call_tool(f, "structured_only", NULL);
    const cJSON *res = result(r);
    const cJSON *content = cJSON_GetObjectItem(res, "content");
    assert_int_equal(cJSON_GetArraySize(content), 2);
    cJSON *parsed = cJSON_Parse(tool_text(r, false));
    assert_true(cJSON_Compare(parsed, cJSON_GetObjectItem(res, "structuredContent"), true));
    cJSON_Delete(parsed);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(content, 1), "text")->valuestring,
                        "extra");
    cJSON_Delete(r);
    r = call_tool(f, "tool_error", "{}");
    assert_string_equal(tool_text(r, true), "selector {x is bad: use {k=\"v\"}");
    cJSON_Delete(r);
    /* arguments: null counts as none */
    r = call_tool(f, "slow_progress", "null");
    assert_string_equal(tool_text(r, false), "done 3");
    cJSON_Delete(r);
}

static void test_tools_call_protocol_errors(void **state)
{
    fx *f = *state;
    init(f);
    cJSON *r = call_tool(f, "no_such_tool", "{}");
    assert_int_equal(err_code(r), -32602);
    assert_non_null(strstr(err_msg(r), "no_such_tool"));
    cJSON_Delete(r);
    r = call_tool(f, "echo", "[1]");
    assert_int_equal(err_code(r), -32602);
    cJSON_Delete(r);
    r = call_tool(f, "echo", "\"text\"");
    assert_int_equal(err_code(r), -32602);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}");
    assert_int_equal(err_code(r), -32602);
    cJSON_Delete(r);
}

/* Bad arguments are tool results: isError, naming the argument and the fix. */
static void test_tools_call_schema_failures(void **state)
{
    fx *f = *state;
    init(f);
    struct {
        const char *args;
        const char *must[3];
    } cases[] = {
        {"{}", {"\"text\"", "missing", "what to echo"}},
        {"{\"text\":5}", {"\"text\"", "wrong type", "a string"}},
        {"{\"text\":\"\"}", {"\"text\"", "too short", NULL}},
        {"{\"text\":\"a\",\"repeat\":2.5}", {"\"repeat\"", "an integer", "from 1 to 5"}},
        {"{\"text\":\"a\",\"repeat\":\"2\"}", {"\"repeat\"", "the string \"2\"", "an integer"}},
        {"{\"text\":\"a\",\"repeat\":0}", {"\"repeat\"", "too small", "minimum 1"}},
        {"{\"text\":\"a\",\"repeat\":6}", {"\"repeat\"", "too large", "maximum 5"}},
        {"{\"text\":\"a\",\"ratio\":0}", {"\"ratio\"", "above 0", NULL}},
        {"{\"text\":\"a\",\"mode\":\"lower\"}", {"\"mode\"", "\"plain\", \"upper\"", "lower"}},
        {"{\"text\":\"a\",\"colour\":\"red\"}",
         {"unknown argument \"colour\"", "text, repeat", NULL}},
        {"{\"text\":\"a\",\"tags\":[\"x\",2]}", {"\"tags\"", "item [1]", "a string"}},
        {"{\"text\":\"a\",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", {"\"tags\"", "too many", NULL}},
        {"{\"text\":\"a\",\"flag\":1}", {"\"flag\"", "a boolean", "or null"}},
        {"{\"text\":\"a\",\"repeat\":1e300}", {"\"repeat\"", "too large", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *r = call_tool(f, "echo", cases[i].args);
        const char *text = tool_text(r, true);
        assert_non_null(strstr(text, "tool \"echo\""));
        for (int j = 0; j < 3 && cases[i].must[j]; j++) {
            if (!strstr(text, cases[i].must[j]))
                fail_msg("case %zu: \"%s\" not in: %s", i, cases[i].must[j], text);
        }
        assert_null(cJSON_GetObjectItem(result(r), "structuredContent"));
        cJSON_Delete(r);
    }
    /* steps has a schema but slow_progress allows other properties */
    cJSON *r = call_tool(f, "slow_progress", "{\"steps\":2,\"whatever\":1}");
    assert_string_equal(tool_text(r, false), "done 2");
    cJSON_Delete(r);
}

static void test_registration(void **state)
{
    fx *f = *state;
    mcp_tool_def d = {.name = "echo", .input_schema = "{\"type\":\"object\"}", .fn = fx_echo};
    assert_int_equal(mcp_server_add_tool(f->srv, &d), -1); /* duplicate */
    d.name = "new_tool";
    d.input_schema = "{\"type\":\"object\"";
    assert_int_equal(mcp_server_add_tool(f->srv, &d), -1); /* bad JSON */
    d.input_schema = "{\"type\":\"string\"}";
    assert_int_equal(mcp_server_add_tool(f->srv, &d), -1); /* not an object schema */
    d.input_schema = "{\"type\":\"object\",\"required\":\"x\"}";
    assert_int_equal(mcp_server_add_tool(f->srv, &d), -1);
    d.input_schema = "{\"type\":\"object\"}";
    d.output_schema = "[]";
    assert_int_equal(mcp_server_add_tool(f->srv, &d), -1);
    d.output_schema = NULL;
    d.name = "bad name";
    assert_int_equal(mcp_server_add_tool(f->srv, &d), -1);
    d.name = "new_tool";
    assert_int_equal(mcp_server_add_tool(f->srv, &d), 0);
    mcp_resource_def rd = {.uri = "guide://readme", .name = "x", .fn = fx_guide};
    assert_int_equal(mcp_server_add_resource(f->srv, &rd), -1);
    mcp_prompt_def pd = {.name = "investigate", .fn = fx_prompt};
    assert_int_equal(mcp_server_add_prompt(f->srv, &pd), -1);
}

/* ---- resources, prompts, completion ---------------------------------------------------------- */

static void test_resources(void **state)
{
    fx *f = *state;
    init(f);
    cJSON *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}");
    const cJSON *list = cJSON_GetObjectItem(result(r), "resources");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    const cJSON *g = cJSON_GetArrayItem(list, 0);
    assert_string_equal(cJSON_GetObjectItem(g, "uri")->valuestring, "guide://readme");
    assert_string_equal(cJSON_GetObjectItem(g, "name")->valuestring, "readme");
    assert_string_equal(cJSON_GetObjectItem(g, "mimeType")->valuestring, "text/markdown");
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/templates/list\"}");
    list = cJSON_GetObjectItem(result(r), "resourceTemplates");
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "uriTemplate")->valuestring,
        "file:///{name}");
    cJSON_Delete(r);

    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
               "\"guide://readme\"}}");
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(result(r), "contents"), 0);
    assert_string_equal(cJSON_GetObjectItem(c0, "uri")->valuestring, "guide://readme");
    assert_string_equal(cJSON_GetObjectItem(c0, "mimeType")->valuestring, "text/markdown");
    assert_string_equal(cJSON_GetObjectItem(c0, "text")->valuestring,
                        "# Guide\nstatus, then table.");
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
               "\"file:///notes.txt\"}}");
    c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(result(r), "contents"), 0);
    assert_string_equal(cJSON_GetObjectItem(c0, "text")->valuestring, "file notes.txt");
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
               "\"blob://bytes\"}}");
    c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(result(r), "contents"), 0);
    assert_string_equal(cJSON_GetObjectItem(c0, "blob")->valuestring, "AAH+/w==");
    assert_null(cJSON_GetObjectItem(c0, "text"));
    cJSON_Delete(r);

    const char *missing[] = {"nope://x", "file:///missing", "file:///a/b", "file:///"};
    for (size_t i = 0; i < 4; i++) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{"
                 "\"uri\":\"%s\"}}",
                 missing[i]);
        r = rpc(f, msg);
        assert_int_equal(err_code(r), -32002);
        const cJSON *data = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "error"), "data");
        assert_string_equal(cJSON_GetObjectItem(data, "uri")->valuestring, missing[i]);
        cJSON_Delete(r);
    }
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{}}");
    assert_int_equal(err_code(r), -32602);
    cJSON_Delete(r);
}

static void test_prompts(void **state)
{
    fx *f = *state;
    init(f);
    cJSON *r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\"}");
    const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(result(r), "prompts"), 0);
    assert_string_equal(cJSON_GetObjectItem(p, "name")->valuestring, "investigate");
    const cJSON *args = cJSON_GetObjectItem(p, "arguments");
    assert_int_equal(cJSON_GetArraySize(args), 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(args, 0), "required")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(args, 1), "required")));
    cJSON_Delete(r);

    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":{\"name\":"
               "\"investigate\",\"arguments\":{\"service\":\"checkout\"}}}");
    const cJSON *res = result(r);
    assert_string_equal(cJSON_GetObjectItem(res, "description")->valuestring,
                        "hot spots of one service");
    const cJSON *m0 = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "messages"), 0);
    assert_string_equal(cJSON_GetObjectItem(m0, "role")->valuestring, "user");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(m0, "content"), "text")->valuestring,
        "Investigate CPU hot spots of checkout.");
    cJSON_Delete(r);

    const char *bad[] = {
        "{\"name\":\"investigate\"}",
        "{\"name\":\"investigate\",\"arguments\":{\"window\":\"1h\"}}",
        "{\"name\":\"investigate\",\"arguments\":{\"service\":5}}",
        "{\"name\":\"investigate\",\"arguments\":[]}",
        "{\"name\":\"nope\",\"arguments\":{\"service\":\"x\"}}",
        "{\"name\":\"investigate\",\"arguments\":{\"service\":\"forbidden\"}}",
    };
    const char *must[] = {"service", "service", "string", "object", "nope", "list_label_values"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":%s}", bad[i]);
        r = rpc(f, msg);
        assert_int_equal(err_code(r), -32602);
        if (!strstr(err_msg(r), must[i]))
            fail_msg("case %zu: %s", i, err_msg(r));
        cJSON_Delete(r);
    }
}

static const cJSON *completion(const cJSON *resp)
{
    return cJSON_GetObjectItem(result(resp), "completion");
}

static void test_completion(void **state)
{
    fx *f = *state;
    init(f);
    cJSON *r =
        rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{"
               "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"investigate\"},\"argument\":{"
               "\"name\":\"service\",\"value\":\"che\"}}}");
    const cJSON *c = completion(r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "values")), 1);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "values"), 0)->valuestring,
                        "checkout");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "hasMore")));
    assert_int_equal(cJSON_GetObjectItem(c, "total")->valueint, 1);
    cJSON_Delete(r);
    /* 150 matches: 100 sent, the rest announced */
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{"
               "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"investigate\"},\"argument\":{"
               "\"name\":\"service\",\"value\":\"svc\"},\"context\":{\"arguments\":{\"window\":"
               "\"1h\"}}}}");
    c = completion(r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "values")), 100);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "hasMore")));
    assert_int_equal(cJSON_GetObjectItem(c, "total")->valueint, 150);
    cJSON_Delete(r);
    /* an argument without completions: empty */
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{"
               "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"investigate\"},\"argument\":{"
               "\"name\":\"window\",\"value\":\"\"}}}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(completion(r), "values")), 0);
    cJSON_Delete(r);
    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{"
               "\"ref\":{\"type\":\"ref/resource\",\"uri\":\"file:///{name}\"},\"argument\":{"
               "\"name\":\"name\",\"value\":\"a\"}}}");
    c = completion(r);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "values"), 0)->valuestring,
                        "a.txt");
    cJSON_Delete(r);
    const char *bad[] = {
        "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"nope\"},\"argument\":{\"name\":\"service\","
        "\"value\":\"\"}}",
        "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"investigate\"},\"argument\":{\"name\":"
        "\"colour\",\"value\":\"\"}}",
        "{\"ref\":{\"type\":\"ref/tool\",\"name\":\"echo\"},\"argument\":{\"name\":\"x\","
        "\"value\":\"\"}}",
        "{\"ref\":{\"type\":\"ref/resource\",\"uri\":\"x://y\"},\"argument\":{\"name\":\"x\","
        "\"value\":\"\"}}",
        "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"investigate\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":%s}",
                 bad[i]);
        r = rpc(f, msg);
        assert_int_equal(err_code(r), -32602);
        cJSON_Delete(r);
    }
}

/* ---- notifications from handlers ---------------------------------------------------------------
 */

typedef struct captured {
    char *lines[32];
    int n;
} captured;

static void capture(void *user, const char *json, size_t len)
{
    captured *c = user;
    assert_true(c->n < 32);
    c->lines[c->n++] = strndup(json, len);
}

static void captured_free(captured *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->lines[i]);
    c->n = 0;
}

static void test_progress_and_log(void **state)
{
    fx *f = *state;
    init(f);
    captured cap = {0};
    mcp__emitter em = {capture, &cap, NULL, NULL, NULL};
    mcp_call tc = {0};
    tc.transport = &em;
    /* no token: no progress; log default threshold (warning) lets only "error" through */
    cJSON *r = rpc_em(f,
                      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                      "\"name\":\"slow_progress\",\"arguments\":{\"steps\":2}}}",
                      &tc);
    cJSON_Delete(r);
    assert_int_equal(cap.n, 1);
    cJSON *n = cJSON_Parse(cap.lines[0]);
    assert_string_equal(cJSON_GetObjectItem(n, "method")->valuestring, "notifications/message");
    const cJSON *p = cJSON_GetObjectItem(n, "params");
    assert_string_equal(cJSON_GetObjectItem(p, "level")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItem(p, "data")->valuestring, "an error line");
    assert_string_equal(cJSON_GetObjectItem(p, "logger")->valuestring, "fixture");
    assert_null(cJSON_GetObjectItem(n, "id"));
    cJSON_Delete(n);
    captured_free(&cap);

    r = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"logging/setLevel\",\"params\":{"
               "\"level\":\"debug\"}}");
    cJSON_Delete(r);
    r = rpc_em(f,
               "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"_meta\":{"
               "\"progressToken\":\"tok-1\"},\"name\":\"slow_progress\",\"arguments\":{"
               "\"steps\":3}}}",
               &tc);
    assert_string_equal(tool_text(r, false), "done 3");
    cJSON_Delete(r);
    assert_int_equal(cap.n, 5);
    for (int i = 0; i < 3; i++) {
        n = cJSON_Parse(cap.lines[i]);
        assert_string_equal(cJSON_GetObjectItem(n, "method")->valuestring,
                            "notifications/progress");
        p = cJSON_GetObjectItem(n, "params");
        assert_string_equal(cJSON_GetObjectItem(p, "progressToken")->valuestring, "tok-1");
        assert_int_equal(cJSON_GetObjectItem(p, "progress")->valueint, i + 1);
        assert_int_equal(cJSON_GetObjectItem(p, "total")->valueint, 3);
        assert_non_null(strstr(cJSON_GetObjectItem(p, "message")->valuestring, "step"));
        cJSON_Delete(n);
    }
    n = cJSON_Parse(cap.lines[3]);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(n, "params"), "level")->valuestring,
                        "debug");
    cJSON_Delete(n);
    captured_free(&cap);
    /* numeric tokens are echoed as numbers */
    r = rpc_em(f,
               "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"_meta\":{"
               "\"progressToken\":77},\"name\":\"slow_progress\",\"arguments\":{\"steps\":1}}}",
               &tc);
    cJSON_Delete(r);
    n = cJSON_Parse(cap.lines[0]);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(n, "params"), "progressToken")->valueint, 77);
    cJSON_Delete(n);
    captured_free(&cap);
}

/* ---- stdio -------------------------------------------------------------------------------------
 */

static char **read_lines(FILE *fp, int *n)
{
    rewind(fp);
    char **lines = calloc(64, sizeof *lines);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &cap, fp)) > 0 && *n < 64) {
        assert_int_equal(line[len - 1], '\n');
        line[len - 1] = '\0';
        lines[(*n)++] = strdup(line);
    }
    free(line);
    return lines;
}

static void test_stdio(void **state)
{
    fx *f = *state;
    FILE *in = tmpfile(), *out = tmpfile();
    fputs("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
          "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
          "\"version\":\"0\"}}}\r\n",
          in);
    fputs("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n", in);
    fputs("\n   \n", in); /* blank lines: skipped */
    fputs("not json\n", in);
    fputs("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"_meta\":{"
          "\"progressToken\":5},\"name\":\"slow_progress\",\"arguments\":{\"steps\":2}}}\n",
          in);
    /* one line past the 16 MiB cap, then serving goes on */
    fputs("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"params\":{\"pad\":\"", in);
    for (int i = 0; i < 17; i++) {
        static char chunk[1 << 20];
        memset(chunk, 'x', sizeof chunk);
        fwrite(chunk, 1, sizeof chunk, in);
    }
    fputs("\"}}\n", in);
    fputs("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}", in); /* no final newline */
    rewind(in);
    assert_int_equal(mcp_stdio_serve(f->srv, in, out, NULL), 0);
    int n;
    char **lines = read_lines(out, &n);
    assert_int_equal(n, 8);
    cJSON *v[8];
    for (int i = 0; i < n; i++) {
        v[i] = cJSON_Parse(lines[i]);
        assert_non_null(v[i]);
    }
    assert_string_equal(cJSON_GetObjectItem(result(v[0]), "protocolVersion")->valuestring,
                        "2025-06-18");
    assert_int_equal(err_code(v[1]), -32700);
    /* progress notifications precede the response; the error log (default level) too */
    assert_string_equal(cJSON_GetObjectItem(v[2], "method")->valuestring, "notifications/progress");
    assert_string_equal(cJSON_GetObjectItem(v[3], "method")->valuestring, "notifications/progress");
    assert_string_equal(cJSON_GetObjectItem(v[4], "method")->valuestring, "notifications/message");
    assert_int_equal(cJSON_GetObjectItem(v[5], "id")->valueint, 2);
    assert_string_equal(tool_text(v[5], false), "done 2");
    assert_int_equal(err_code(v[6]), -32700);
    assert_non_null(strstr(err_msg(v[6]), "16 MiB"));
    assert_int_equal(cJSON_GetObjectItem(v[7], "id")->valueint, 4);
    result(v[7]);
    for (int i = 0; i < n; i++) {
        cJSON_Delete(v[i]);
        free(lines[i]);
    }
    free(lines);
    fclose(in);
    fclose(out);
}

static void test_stdio_last_line_and_stop(void **state)
{
    fx *f = *state;
    FILE *in = tmpfile(), *out = tmpfile();
    fputs("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}", in); /* no final newline */
    rewind(in);
    assert_int_equal(mcp_stdio_serve(f->srv, in, out, NULL), 0);
    int n;
    char **lines = read_lines(out, &n);
    assert_int_equal(n, 1);
    cJSON *v = cJSON_Parse(lines[0]);
    assert_int_equal(cJSON_GetObjectItem(v, "id")->valueint, 4);
    cJSON_Delete(v);
    free(lines[0]);
    free(lines);
    fclose(out);
    /* a raised stop flag ends serving before anything is read */
    out = tmpfile();
    rewind(in);
    volatile int stop = 1;
    assert_int_equal(mcp_stdio_serve(f->srv, in, out, &stop), 0);
    assert_int_equal(ftell(out), 0);
    fclose(in);
    fclose(out);
}

/* ---- helpers ------------------------------------------------------------------------------------
 */

static void test_helpers(void **state)
{
    (void)state;
    assert_true(mcp__secure_equal("abc", "abc"));
    assert_false(mcp__secure_equal("abd", "abc"));
    assert_false(mcp__secure_equal("ab", "abc"));
    assert_false(mcp__secure_equal("abcd", "abc"));
    assert_false(mcp__secure_equal("", "abc"));
    assert_true(mcp__secure_equal("", ""));
    assert_true(mcp__accepts("application/json, text/event-stream", "text/event-stream"));
    assert_true(mcp__accepts("text/event-stream;q=0.9, Application/JSON", "application/json"));
    assert_true(mcp__accepts("*/*", "application/json"));
    assert_true(mcp__accepts("application/*", "application/json"));
    assert_false(mcp__accepts("text/html", "application/json"));
    assert_false(mcp__accepts("application/jsonx", "application/json"));
    assert_false(mcp__accepts("", "application/json"));
    const char *good[] = {"http://localhost",  "http://localhost:6274", "http://127.0.0.1:8080",
                          "https://localhost", "http://[::1]:3000",     "HTTP://LOCALHOST"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(base_origin_is_loopback(good[i]));
    const char *bad[] = {
        "http://localhost.evil.com", "http://127.0.0.1.nip.io", "http://evil.com", "null",
        "http://localhost:",         "http://localhost:123456", "ftp://localhost", "http://[::2]",
        "http://localhost/path",     "http://127.0.0.2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (base_origin_is_loopback(bad[i]))
            fail_msg("accepted %s", bad[i]);
    uint8_t a[16] = {0}, b[16] = {0};
    assert_int_equal(mcp__random(a, sizeof a), 0);
    assert_int_equal(mcp__random(b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
}

/* The Host header parser behind the DNS-rebinding check: name without port, brackets or a
 * trailing dot; IP literals told apart from names; malformed values refused. */
static void test_host_parse(void **state)
{
    (void)state;
    const struct {
        const char *in, *name;
        bool ip;
    } good[] = {
        {"localhost", "localhost", false},
        {"localhost:4319", "localhost", false},
        {"LocalHost.:80", "LocalHost", false},
        {"127.0.0.1", "127.0.0.1", true},
        {"127.0.0.1:4319", "127.0.0.1", true},
        {"10.1.2.3:", "10.1.2.3", true}, /* RFC 3986: an empty port */
        {"[::1]:4319", "::1", true},
        {"[::1]", "::1", true},
        {"[2001:db8::7]:65535", "2001:db8::7", true},
        {"rebind.attacker.example:4319", "rebind.attacker.example", false},
        {"127.0.0.1.nip.io", "127.0.0.1.nip.io", false}, /* a name, not the address */
        {"0x7f000001", "0x7f000001", false},             /* not a dotted quad */
        {"2130706433", "2130706433", false},
        {"my_host-1.internal", "my_host-1.internal", false},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char name[256] = "";
        bool ip = !good[i].ip;
        if (!mcp__host_parse(good[i].in, name, sizeof name, &ip))
            fail_msg("refused Host %s", good[i].in);
        assert_string_equal(name, good[i].name);
        assert_int_equal(ip, good[i].ip);
    }
    const char *bad[] = {"",
                         ":4319",
                         "localhost:99999",
                         "localhost:123456",
                         "localhost:80x",
                         "localhost:-1",
                         "[::1",
                         "[::1]x",
                         "[::1]:x",
                         "[]",
                         "[localhost]",
                         "[::g]",
                         "::1",
                         "a b",
                         "evil.example/x",
                         "evil.example@localhost",
                         "user@localhost",
                         "localhost\t",
                         "ex%41mple"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[256];
        bool ip;
        if (mcp__host_parse(bad[i], name, sizeof name, &ip))
            fail_msg("accepted Host \"%s\" as \"%s\"", bad[i], name);
    }
    /* too long for the buffer */
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char name[256];
    bool ip;
    assert_false(mcp__host_parse(longname, name, sizeof name, &ip));
    assert_false(mcp__host_parse(NULL, name, sizeof name, &ip));
    /* allowed_hosts entries: names or literals, no port or scheme; "*" */
    char err[256];
    assert_int_equal(mcp_http_check_host_name("prof.example.com", err, sizeof err), 0);
    assert_int_equal(mcp_http_check_host_name("[::1]", err, sizeof err), 0);
    assert_int_equal(mcp_http_check_host_name("*", err, sizeof err), 0);
    const char *bad_names[] = {
        "prof.example.com:4319", "http://prof.example.com", "", "::1", "[::1]:80", "a b",
        "*.example.com"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        err[0] = '\0';
        if (mcp_http_check_host_name(bad_names[i], err, sizeof err) == 0)
            fail_msg("accepted allowed host \"%s\"", bad_names[i]);
        assert_non_null(strstr(err, "no port"));
    }
    assert_int_equal(mcp_http_check_host_name(NULL, err, sizeof err), -1);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--serve-stdio") == 0) {
        mcp_server *srv = fx_server();
        int rc = mcp_stdio_serve(srv, stdin, stdout, NULL);
        mcp_server_free(srv);
        return rc == 0 ? 0 : 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_and_notifications, setup, teardown),
        cmocka_unit_test_setup_teardown(test_method_and_params_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requires_initialize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_call_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_call_protocol_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_call_schema_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_and_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdio_last_line_and_stop, setup, teardown),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_host_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
