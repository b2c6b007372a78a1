/* Requests from a tool to the client (mcp_call.request): the request reaches the
 * transport's emitter only after go_live, the client's response (a separate message on
 * the same session) is handed back to the waiting tool, and each way it can fail says why:
 * capability not declared, transport without go_live, an error answer, no answer in time,
 * a stopping server. A response with an unknown id is dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/mcp_internal.h"

/* what the fake transport saw */
typedef struct sink {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *emitted; /* the last message emitted */
    int went_live;
    bool live_ok;
} sink;

static void sink_emit(void *u, const char *json, size_t len)
{
    sink *k = u;
    pthread_mutex_lock(&k->mu);
    free(k->emitted);
    k->emitted = strndup(json, len);
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

static bool sink_live(void *u)
{
    sink *k = u;
    pthread_mutex_lock(&k->mu);
    k->went_live++;
    pthread_mutex_unlock(&k->mu);
    return k->live_ok;
}

static int timeout_ms = 5000;

static int t_ask(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    char err[256];
    cJSON *p = cJSON_Parse("{\"message\":\"name?\",\"requestedSchema\":{\"type\":\"object\"}}");
    cJSON *r = c->request(c, "elicitation/create", p, timeout_ms, err, sizeof err);
    if (!r) {
        mcp_tool_error(out, "%s", err);
        return 0;
    }
    out->text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return 0;
}

typedef struct fx {
    mcp_server *srv;
    mcp_session *s;
    sink k;
    mcp__emitter em;
    mcp_call tc;
    char *answer; /* the tools/call response, from the handler thread */
} fx;

static void init_session(fx *f, const char *caps)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"2025-11-25\",\"capabilities\":%s,\"clientInfo\":{\"name\":"
             "\"c\",\"version\":\"1\"}}}",
             caps);
    free(mcp_handle_message(f->srv, f->s, buf, strlen(buf), NULL));
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    mcp_server_info info = {.name = "t", .version = "1"};
    f->srv = mcp_server_new(&info);
    mcp_tool_def d = {
        .name = "ask", .description = "asks", .input_schema = "{\"type\":\"object\"}", .fn = t_ask};
    assert_int_equal(mcp_server_add_tool(f->srv, &d), 0);
    f->s = mcp_session_new(f->srv);
    pthread_mutex_init(&f->k.mu, NULL);
    pthread_cond_init(&f->k.cv, NULL);
    f->k.live_ok = true;
    f->em = (mcp__emitter){sink_emit, &f->k, sink_live, NULL, NULL};
    f->tc.transport = &f->em;
    timeout_ms = 5000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    free(f->k.emitted);
    free(f->answer);
    pthread_cond_destroy(&f->k.cv);
    pthread_mutex_destroy(&f->k.mu);
    mcp_session_free(f->s);
    mcp_server_free(f->srv);
    free(f);
    return 0;
}

static const char call_text[] =
    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\"}}";

static void *run_call(void *arg)
{
    fx *f = arg;
    free(f->answer);
    f->answer = mcp_handle_message(f->srv, f->s, call_text, strlen(call_text), &f->tc);
    return NULL;
}

/* Waits for the handler's request to reach the sink; returns it parsed. */
static cJSON *await_request(fx *f)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&f->k.mu);
    while (!f->k.emitted)
        if (pthread_cond_timedwait(&f->k.cv, &f->k.mu, &until) != 0)
            break;
    cJSON *v = f->k.emitted ? cJSON_Parse(f->k.emitted) : NULL;
    pthread_mutex_unlock(&f->k.mu);
    assert_non_null(v);
    return v;
}

static void reply(fx *f, const char *id, const char *body)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",%s}", id, body);
    assert_null(mcp_handle_message(f->srv, f->s, buf, strlen(buf), NULL)); /* nothing to say */
}

/* The tool's result of the finished call: its text; *is_error set. */
static char *result_text(fx *f, bool *is_error)
{
    cJSON *v = cJSON_Parse(f->answer);
    assert_non_null(v);
    const cJSON *r = cJSON_GetObjectItem(v, "result");
    assert_non_null(r);
    *is_error = cJSON_IsTrue(cJSON_GetObjectItem(r, "isError"));
    char *t =
        strdup(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "content"), 0)->child->next->valuestring);
    cJSON_Delete(v);
    return t;
}

static void test_round_trip(void **state)
{
    fx *f = *state;
    init_session(f, "{\"elicitation\":{}}");
    pthread_t t;
    pthread_create(&t, NULL, run_call, f);
    cJSON *req = await_request(f);
    assert_string_equal(cJSON_GetObjectItem(req, "method")->valuestring, "elicitation/create");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(req, "params"), "message")->valuestring, "name?");
    const char *id = cJSON_GetObjectItem(req, "id")->valuestring;
    assert_int_equal(f->k.went_live, 1);
    reply(f, "not-ours", "\"result\":{\"action\":\"decline\"}"); /* dropped */
    reply(f, id, "\"result\":{\"action\":\"accept\",\"content\":{\"name\":\"Ada\"}}");
    pthread_join(t, NULL);
    cJSON_Delete(req);
    bool is_error;
    char *text = result_text(f, &is_error);
    assert_false(is_error);
    assert_string_equal(text, "{\"action\":\"accept\",\"content\":{\"name\":\"Ada\"}}");
    free(text);
}

static void test_error_answer(void **state)
{
    fx *f = *state;
    init_session(f, "{\"elicitation\":{}}");
    pthread_t t;
    pthread_create(&t, NULL, run_call, f);
    cJSON *req = await_request(f);
    reply(f, cJSON_GetObjectItem(req, "id")->valuestring,
          "\"error\":{\"code\":-1,\"message\":\"user closed the dialog\"}");
    pthread_join(t, NULL);
    cJSON_Delete(req);
    bool is_error;
    char *text = result_text(f, &is_error);
    assert_true(is_error);
    assert_non_null(strstr(text, "user closed the dialog"));
    free(text);
}

static void expect_failure(fx *f, const char *why)
{
    run_call(f);
    bool is_error;
    char *text = result_text(f, &is_error);
    assert_true(is_error);
    if (!strstr(text, why))
        fail_msg("expected '%s' in '%s'", why, text);
    free(text);
}

static void test_capability_missing(void **state)
{
    fx *f = *state;
    init_session(f, "{\"sampling\":{}}");
    expect_failure(f, "did not declare the elicitation capability");
    assert_int_equal(f->k.went_live, 0);
    assert_null(f->k.emitted);
}

static void test_transport_cannot(void **state)
{
    fx *f = *state;
    init_session(f, "{\"elicitation\":{}}");
    f->em.go_live = NULL; /* stdio, or a buffered HTTP answer */
    expect_failure(f, "cannot send elicitation/create");
    f->em.go_live = sink_live;
    f->k.live_ok = false; /* an HTTP client that does not accept SSE */
    expect_failure(f, "cannot carry requests");
    assert_null(f->k.emitted);
}

static void test_timeout(void **state)
{
    fx *f = *state;
    init_session(f, "{\"elicitation\":{}}");
    timeout_ms = 100;
    expect_failure(f, "did not answer in time");
    assert_non_null(f->k.emitted); /* it was sent */
}

static void test_cancel(void **state)
{
    fx *f = *state;
    init_session(f, "{\"elicitation\":{}}");
    pthread_t t;
    pthread_create(&t, NULL, run_call, f);
    cJSON_Delete(await_request(f));
    mcp__session_cancel(f->s);
    pthread_join(t, NULL);
    bool is_error;
    char *text = result_text(f, &is_error);
    assert_true(is_error);
    assert_non_null(strstr(text, "server stopping"));
    free(text);
    free(f->answer);
    f->answer = NULL;
    expect_failure(f, "server stopping"); /* later requests fail at once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capability_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_cannot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
