/* MCP 2026-07-28 in the transport-independent dispatcher: the era chosen per request, _meta
 * validation, server/discover, resultType/caching/serverInfo on results, removed methods,
 * UnsupportedProtocolVersion, the HTTP header/body checks (through an emitter's header
 * lookup, as the HTTP transport passes it), multi round-trip requests with the signed
 * request state (tampered, foreign tool, another method), the missing-capability error, and
 * the 2025-xx lifecycle beside it (a second initialize refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mcp/mcp_internal.h"

#define META                                                                                       \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":{\"elicitation\":{}}}"

static int t_ask(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    const cJSON *r = cJSON_GetObjectItem(c->input_responses, "name");
    if (r && c->request_state && strcmp(c->request_state, "s1") == 0) {
        out->text = strdup("done");
        return 0;
    }
    cJSON *reqs = cJSON_Parse("{\"name\":{\"method\":\"elicitation/create\",\"params\":{"
                              "\"message\":\"name?\",\"requestedSchema\":{\"type\":\"object\"}}}}");
    if (mcp_input_required(c, reqs, "s1") != 0)
        mcp_missing_capability(c, "elicitation");
    return 0;
}

static int t_sample(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a, (void)out;
    cJSON *reqs = cJSON_Parse("{\"q\":{\"method\":\"sampling/createMessage\",\"params\":{}}}");
    if (mcp_input_required(c, reqs, NULL) != 0)
        mcp_missing_capability(c, "sampling");
    return 0;
}

static int t_named(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)c;
    const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(a, "region"));
    out->text = strdup(r ? r : "-");
    return 0;
}

typedef struct fx {
    mcp_server *srv;
    mcp_session *s;
    const char *hdr[8][2]; /* header name/value pairs the fake HTTP request carries */
    mcp__emitter em;
    mcp_call tc;
} fx;

static const char *fake_header(void *user, const char *name)
{
    fx *f = user;
    for (size_t i = 0; i < 8 && f->hdr[i][0]; i++)
        if (strcasecmp(f->hdr[i][0], name) == 0)
            return f->hdr[i][1];
    return NULL;
}

static void noop_emit(void *user, const char *json, size_t len)
{
    (void)user, (void)json, (void)len;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    mcp_server_info info = {.name = "modern-test", .version = "1"};
    f->srv = mcp_server_new(&info);
    const char *desc = "A long shared description of a region parameter, long enough to share.";
    char schema[512];
    snprintf(schema, sizeof schema,
             "{\"type\":\"object\",\"properties\":{\"region\":{\"type\":\"string\","
             "\"description\":\"%s\",\"x-mcp-header\":\"Region\"}}}",
             desc);
    mcp_tool_def tools[] = {
        {.name = "ask", .input_schema = "{\"type\":\"object\"}", .fn = t_ask},
        {.name = "ask2", .input_schema = "{\"type\":\"object\"}", .fn = t_ask},
        {.name = "sample", .input_schema = "{\"type\":\"object\"}", .fn = t_sample},
        {.name = "named", .input_schema = schema, .fn = t_named},
        {.name = "named2", .input_schema = schema, .fn = t_named},
    };
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        assert_int_equal(mcp_server_add_tool(f->srv, &tools[i]), 0);
    f->s = mcp_session_new(f->srv);
    f->em = (mcp__emitter){noop_emit, NULL, NULL, fake_header, f};
    f->tc.transport = &f->em;
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

/* stdio-like: the session is there, no header lookup */
static cJSON *rpc(fx *f, const char *text)
{
    char *out = mcp_handle_message(f->srv, f->s, text, strlen(text), NULL);
    cJSON *v = out ? cJSON_Parse(out) : NULL;
    free(out);
    return v;
}

/* HTTP-like: no session, headers from f->hdr */
static cJSON *rpc_http(fx *f, const char *text, unsigned *status)
{
    cJSON *root = mcp__parse(text, strlen(text));
    assert_non_null(root);
    mcp__outcome oc;
    cJSON *v = mcp__handle_json(f->srv, NULL, root, &f->tc, &oc);
    cJSON_Delete(root);
    *status = oc.http_status;
    return v;
}

static int code(const cJSON *v)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(v, "error"), "code")->valueint;
}

static const cJSON *res(const cJSON *v)
{
    const cJSON *r = cJSON_GetObjectItem(v, "result");
    assert_non_null(r);
    return r;
}

static void test_era_and_meta(void **state)
{
    fx *f = *state;
    /* stdio: no initialize, the _meta makes it stateless */
    cJSON *v =
        rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META "}}");
    assert_string_equal(cJSON_GetObjectItem(res(v), "resultType")->valuestring, "complete");
    assert_int_equal(cJSON_GetObjectItem(res(v), "ttlMs")->valueint, 300000);
    assert_string_equal(cJSON_GetObjectItem(res(v), "cacheScope")->valuestring, "public");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(res(v), "_meta"),
                                                "io.modelcontextprotocol/serverInfo"),
                            "name")
            ->valuestring,
        "modern-test");
    /* the shared description: named2 refers to named */
    const cJSON *tools = cJSON_GetObjectItem(res(v), "tools");
    const cJSON *n2 = cJSON_GetArrayItem(tools, 4);
    assert_string_equal(cJSON_GetObjectItem(n2, "name")->valuestring, "named2");
    const char *d2 =
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(n2, "inputSchema"), "properties"),
                "region"),
            "description")
            ->valuestring;
    assert_non_null(strstr(d2, "As in named."));
    cJSON_Delete(v);
    /* a legacy request before initialize is still refused the old way */
    v = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    assert_int_equal(code(v), -32600);
    cJSON_Delete(v);
    /* server/discover without _meta: the missing fields */
    v = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"server/discover\",\"params\":{}}");
    assert_int_equal(code(v), -32602);
    cJSON_Delete(v);
    v = rpc(f,
            "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"server/discover\",\"params\":{" META "}}");
    const cJSON *sv = cJSON_GetObjectItem(res(v), "supportedVersions");
    assert_string_equal(cJSON_GetArrayItem(sv, 0)->valuestring, "2026-07-28");
    assert_int_equal(cJSON_GetArraySize(sv), 4);
    cJSON_Delete(v);
    /* removed methods */
    v = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":{" META "}}");
    assert_int_equal(code(v), -32601);
    cJSON_Delete(v);
    /* a version we do not serve statelessly */
    v = rpc(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\",\"params\":{\"_meta\":{"
               "\"io.modelcontextprotocol/protocolVersion\":\"1999-01-01\","
               "\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    assert_int_equal(code(v), -32022);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "error"), "data"),
                            "requested")
            ->valuestring,
        "1999-01-01");
    cJSON_Delete(v);
    /* the old lifecycle beside it; a second initialize is refused */
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}";
    v = rpc(f, init);
    assert_string_equal(cJSON_GetObjectItem(res(v), "protocolVersion")->valuestring, "2025-11-25");
    cJSON_Delete(v);
    v = rpc(f, init);
    assert_int_equal(code(v), -32600);
    cJSON_Delete(v);
}

static void test_headers(void **state)
{
    fx *f = *state;
    unsigned st;
    const char *call =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"named\",\"arguments\":{\"region\":\"eu west\"}," META "}}";
    f->hdr[0][0] = "MCP-Protocol-Version", f->hdr[0][1] = "2026-07-28";
    f->hdr[1][0] = "Mcp-Method", f->hdr[1][1] = "tools/call";
    f->hdr[2][0] = "Mcp-Name", f->hdr[2][1] = "named";
    f->hdr[3][0] = "Mcp-Param-Region", f->hdr[3][1] = "eu west";
    cJSON *v = rpc_http(f, call, &st);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res(v), "content"), 0), "text")
            ->valuestring,
        "eu west");
    cJSON_Delete(v);
    f->hdr[3][1] = "=?base64?ZXUgd2VzdA==?="; /* "eu west" */
    v = rpc_http(f, call, &st);
    assert_non_null(cJSON_GetObjectItem(v, "result"));
    cJSON_Delete(v);
    f->hdr[3][1] = "=?base64?ZXUgd2VzdA?="; /* bad padding */
    v = rpc_http(f, call, &st);
    assert_int_equal(code(v), -32020);
    assert_int_equal(st, 400);
    cJSON_Delete(v);
    f->hdr[3][0] = NULL; /* the value is in the body but the header is missing */
    v = rpc_http(f, call, &st);
    assert_int_equal(code(v), -32020);
    cJSON_Delete(v);
    f->hdr[3][0] = "Mcp-Param-Region", f->hdr[3][1] = "eu west";
    f->hdr[2][1] = "named2"; /* Mcp-Name differs from the body */
    v = rpc_http(f, call, &st);
    assert_int_equal(code(v), -32020);
    cJSON_Delete(v);
    f->hdr[2][1] = "named";
    f->hdr[1][1] = "Tools/Call"; /* values are case-sensitive */
    v = rpc_http(f, call, &st);
    assert_int_equal(code(v), -32020);
    cJSON_Delete(v);
    f->hdr[1][1] = "tools/call";
    f->hdr[0][1] = "2025-11-25"; /* header and _meta disagree */
    v = rpc_http(f, call, &st);
    assert_int_equal(code(v), -32020);
    assert_int_equal(st, 400);
    cJSON_Delete(v);
    f->hdr[0][1] = "2026-07-28";
    f->hdr[1][1] = "no/such";
    v = rpc_http(f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"no/such\",\"params\":{" META "}}",
                 &st);
    assert_int_equal(code(v), -32601);
    assert_int_equal(st, 404);
    assert_int_equal(cJSON_GetObjectItem(v, "id")->valueint, 9);
    cJSON_Delete(v);
}

/* tools/call `tool` at 2026-07-28 over stdio with extra params text; returns the answer */
static cJSON *call_tool(fx *f, const char *tool, const char *extra, const char *caps)
{
    char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":{}%s,\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
             "\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":%s}}}",
             tool, extra, caps);
    return rpc(f, buf);
}

static void test_input_required(void **state)
{
    fx *f = *state;
    cJSON *v = call_tool(f, "ask", "", "{\"elicitation\":{}}");
    const cJSON *r = res(v);
    assert_string_equal(cJSON_GetObjectItem(r, "resultType")->valuestring, "input_required");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "inputRequests"), "name"));
    char state_tok[2048];
    snprintf(state_tok, sizeof state_tok, "%s",
             cJSON_GetObjectItem(r, "requestState")->valuestring);
    assert_null(strstr(state_tok, "s1")); /* opaque: the plain state is encoded */
    cJSON_Delete(v);
    char extra[4096];
    /* the right retry */
    snprintf(extra, sizeof extra,
             ",\"inputResponses\":{\"name\":{\"action\":\"accept\",\"content\":{}}},"
             "\"requestState\":\"%s\"",
             state_tok);
    v = call_tool(f, "ask", extra, "{\"elicitation\":{}}");
    assert_string_equal(cJSON_GetObjectItem(res(v), "resultType")->valuestring, "complete");
    cJSON_Delete(v);
    /* the same state on another tool: refused */
    v = call_tool(f, "ask2", extra, "{\"elicitation\":{}}");
    assert_int_equal(code(v), -32602);
    assert_non_null(
        strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "error"), "message")->valuestring,
               "another request"));
    cJSON_Delete(v);
    /* one character changed in the payload: refused */
    state_tok[2] = state_tok[2] == 'A' ? 'B' : 'A';
    snprintf(extra, sizeof extra,
             ",\"inputResponses\":{\"name\":{\"action\":\"accept\"}},\"requestState\":\"%s\"",
             state_tok);
    v = call_tool(f, "ask", extra, "{\"elicitation\":{}}");
    assert_int_equal(code(v), -32602);
    cJSON_Delete(v);
    /* garbage and oversized states, inputResponses of the wrong shape */
    v = call_tool(f, "ask", ",\"requestState\":\"...\"", "{}");
    assert_int_equal(code(v), -32602);
    cJSON_Delete(v);
    v = call_tool(f, "ask", ",\"inputResponses\":[1]", "{}");
    assert_int_equal(code(v), -32602);
    cJSON_Delete(v);
    v = call_tool(f, "ask", ",\"inputResponses\":{\"name\":7}", "{}");
    assert_int_equal(code(v), -32602);
    cJSON_Delete(v);
    /* a capability the client did not declare: -32021 naming it */
    v = call_tool(f, "sample", "", "{\"elicitation\":{}}");
    assert_int_equal(code(v), -32021);
    assert_non_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "error"), "data"),
                            "requiredCapabilities"),
        "sampling"));
    cJSON_Delete(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_era_and_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_required, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
