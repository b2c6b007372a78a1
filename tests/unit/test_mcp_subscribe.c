/* resources/subscribe and resources/unsubscribe (mcp_server_info.resources_subscribe): the
 * capability is advertised only when enabled, subscribing needs an existing resource
 * (exact or template), unsubscribing is idempotent, and a session's list is capped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp.h"

static int r_text(void *u, mcp_call *c, const char *uri, mcp_resource_content *out)
{
    (void)u, (void)c, (void)uri;
    out->text = strdup("x");
    return 0;
}

static mcp_server *server(bool subscribe)
{
    mcp_server_info info = {.name = "t", .version = "1", .resources_subscribe = subscribe};
    mcp_server *srv = mcp_server_new(&info);
    assert_non_null(srv);
    mcp_resource_def a = {.uri = "test://a", .name = "a", .fn = r_text};
    mcp_resource_def t = {.uri = "test://t/{id}", .is_template = true, .name = "t", .fn = r_text};
    assert_int_equal(mcp_server_add_resource(srv, &a), 0);
    assert_int_equal(mcp_server_add_resource(srv, &t), 0);
    return srv;
}

static cJSON *rpc(mcp_server *srv, mcp_session *s, const char *text)
{
    char *out = mcp_handle_message(srv, s, text, strlen(text), NULL);
    assert_non_null(out);
    cJSON *v = cJSON_Parse(out);
    free(out);
    assert_non_null(v);
    return v;
}

/* The error code of the answer, or 0 when it is a result equal to {}. */
static int call(mcp_server *srv, mcp_session *s, const char *method, const char *uri)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\",\"params\":{\"uri\":\"%s\"}}", method,
             uri);
    cJSON *v = rpc(srv, s, buf);
    const cJSON *e = cJSON_GetObjectItem(v, "error");
    int code = e ? cJSON_GetObjectItem(e, "code")->valueint : 0;
    if (!e) {
        const cJSON *r = cJSON_GetObjectItem(v, "result");
        assert_true(cJSON_IsObject(r));
        assert_null(r->child);
    }
    cJSON_Delete(v);
    return code;
}

static bool advertised(mcp_server *srv, mcp_session *s)
{
    cJSON *v = rpc(srv, s,
                   "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                   "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
                   "\"name\":\"c\",\"version\":\"1\"}}}");
    const cJSON *res = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(v, "result"), "capabilities"), "resources");
    bool on = cJSON_IsTrue(cJSON_GetObjectItem(res, "subscribe"));
    cJSON_Delete(v);
    return on;
}

static void test_off_by_default(void **state)
{
    (void)state;
    mcp_server *srv = server(false);
    mcp_session *s = mcp_session_new(srv);
    assert_false(advertised(srv, s));
    assert_int_equal(call(srv, s, "resources/subscribe", "test://a"), -32601);
    assert_int_equal(call(srv, s, "resources/unsubscribe", "test://a"), -32601);
    mcp_session_free(s);
    mcp_server_free(srv);
}

static void test_subscribe_unsubscribe(void **state)
{
    (void)state;
    mcp_server *srv = server(true);
    mcp_session *s = mcp_session_new(srv);
    assert_true(advertised(srv, s));
    assert_int_equal(call(srv, s, "resources/subscribe", "test://a"), 0);
    assert_int_equal(call(srv, s, "resources/subscribe", "test://a"), 0); /* again: no-op */
    assert_int_equal(call(srv, s, "resources/subscribe", "test://t/42"), 0);
    assert_int_equal(call(srv, s, "resources/subscribe", "test://nope"), -32002);
    assert_int_equal(call(srv, s, "resources/unsubscribe", "test://a"), 0);
    assert_int_equal(call(srv, s, "resources/unsubscribe", "test://a"), 0);
    assert_int_equal(call(srv, s, "resources/unsubscribe", "test://never"), 0);
    cJSON *v = rpc(srv, s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/subscribe\"}");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "error"), "code")->valueint,
                     -32602);
    cJSON_Delete(v);
    mcp_session_free(s);
    mcp_server_free(srv);
}

static void test_cap(void **state)
{
    (void)state;
    mcp_server *srv = server(true);
    mcp_session *s = mcp_session_new(srv);
    advertised(srv, s);
    char uri[64];
    int i;
    for (i = 0; i < 64; i++) {
        snprintf(uri, sizeof uri, "test://t/%d", i);
        assert_int_equal(call(srv, s, "resources/subscribe", uri), 0);
    }
    assert_int_equal(call(srv, s, "resources/subscribe", "test://t/64"), -32602);
    /* a freed slot is usable again */
    assert_int_equal(call(srv, s, "resources/unsubscribe", "test://t/5"), 0);
    assert_int_equal(call(srv, s, "resources/subscribe", "test://t/64"), 0);
    mcp_session_free(s);
    mcp_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_by_default),
        cmocka_unit_test(test_subscribe_unsubscribe),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
