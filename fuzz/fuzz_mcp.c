/* libFuzzer target: JSON-RPC/MCP request handling with otelprofd's tools registered on a
 * small store, so tool argument handling (times, selectors, limits, focus paths) is
 * fuzzed along with the protocol layer. Each input is one message on a fresh session
 * that has been initialized first, so tools/call is reachable without the fuzzer having
 * to find the handshake. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp.h"
#include "tools/tools.h"
#include "window/window.h"

#define SEC 1000000000LL
#define MS  1000000LL
#define T0  (1700000000LL * SEC)

static mcp_server *srv;

static void load(win_store *s)
{
    static const win_frame_in frames[] = {
        {"main", "main.go", 5, 0x1000, "app", "id1", NULL, 0},
        {"a", "a.go", 10, 0x2000, "app", "id1", NULL, 0},
        {"b", "b.go", 20, 0x3000, "app", "id1", NULL, 0},
    };
    static const uint32_t s1[] = {2, 1, 0}, s2[] = {1, 0}, s3[] = {0};
    static const win_stack_in stacks[] = {{s1, 3}, {s2, 2}, {s3, 1}};
    static const win_attr tx = {"thread.name", "x"}, ty = {"thread.name", "y"};
    static const win_attr res[] = {{"service.name", "checkout"}, {"host.name", "h1"}};
    const win_sample_in samples[] = {
        {.stack = 0, .value = 10 * MS, .time_ns = T0, .n_attrs = 1, .attrs = &tx},
        {.stack = 1, .value = 5 * MS, .time_ns = T0 + 20 * SEC, .n_attrs = 1, .attrs = &ty},
        {.stack = 2, .value = 2 * MS, .time_ns = T0, .n_attrs = 0, .attrs = NULL},
    };
    win_batch b = {"cpu:nanoseconds", res, 2, frames, 3, stacks, 3, samples, 3, NULL, false};
    char err[256];
    win_add_result r;
    if (win_store_add(s, &b, T0 + 25 * SEC, &r, err, sizeof err) != 0)
        abort();
}

static void setup(void)
{
    win_config cfg;
    win_config_defaults(&cfg);
    cfg.memory_limit = 64u << 20;
    win_store *store = win_store_new(&cfg);
    if (!store)
        abort();
    load(store);
    tools_config tc = {.store = store, .version = "0.0.0"};
    tools *t = tools_new(&tc);
    mcp_server_info info = {.name = "otelprofd", .version = "0.0.0", .resources_subscribe = true};
    srv = mcp_server_new(&info);
    if (!t || !srv || tools_register(t, srv) != 0)
        abort();
    /* store, tools and server live for the whole run: the process is the fuzzer */
}

static const char INIT[] = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                           "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                           "\"clientInfo\":{\"name\":\"f\",\"version\":\"1\"}}}";
static const char INITED[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        setup();
    mcp_session *s = mcp_session_new(srv);
    if (!s)
        return 0;
    free(mcp_handle_message(srv, s, INIT, sizeof INIT - 1, NULL));
    free(mcp_handle_message(srv, s, INITED, sizeof INITED - 1, NULL));
    /* a copy of exactly `size` bytes, so ASan catches any read past `len` */
    char *text = malloc(size ? size : 1);
    if (text) {
        memcpy(text, data, size);
        free(mcp_handle_message(srv, s, text, size, NULL));
        free(text);
    }
    mcp_session_free(s);
    return 0;
}
