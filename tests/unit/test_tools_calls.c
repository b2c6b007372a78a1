/* Unit tests for tools/: every tool called in process on a store holding a small
 * hand-built profile (exact numbers in the structured output), argument errors, the text
 * size cap on a large synthetic store, the HTTP routes, and registration on an mcp_server
 * (tools/list, prompts, completion, the guide resource). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/tools_internal.h"

#define SEC 1000000000LL
#define MS  1000000LL
#define T0  (1700000000LL * SEC) /* 2023-11-14T22:13:20Z, a multiple of 10 s */

enum { F_MAIN, F_A, F_B, F_C, N_FRAMES };
static const win_frame_in FRAMES[N_FRAMES] = {
    [F_MAIN] = {"main", "main.go", 5, 0x1000, "app", "id1"},
    [F_A] = {"a", "a.go", 10, 0x2000, "app", "id1"},
    [F_B] = {"b", "b.go", 20, 0x3000, "app", "id1"},
    [F_C] = {"c", "c, d.go", 30, 0x4000, "app", "id1"}, /* a file name CSV must quote */
};
/* leaf first */
static const uint32_t S1[] = {F_B, F_A, F_MAIN}; /* main -> a -> b   10 ms, thread x, T0 */
static const uint32_t S2[] = {F_A, F_MAIN};      /* main -> a         5 ms, thread y, T0 */
static const uint32_t S3[] = {F_C, F_MAIN};      /* main -> c         3 ms, thread y, T0+20s */
static const uint32_t S4[] = {F_MAIN};           /* main              2 ms, thread x, T0 */
static const win_stack_in STACKS[] = {{S1, 3}, {S2, 2}, {S3, 2}, {S4, 1}};

static const win_attr TX = {"thread.name", "x"};
static const win_attr TY = {"thread.name", "y"};

typedef struct fixture {
    win_store *store;
    tools *t;
} fixture;

static void add(win_store *s, const win_attr *res, uint32_t n_res, const win_sample_in *samples,
                uint32_t n)
{
    win_batch b = {"cpu:nanoseconds", res, n_res, FRAMES, N_FRAMES, STACKS, 4,
                   samples,           n,   NULL,  false};
    char err[256];
    win_add_result r;
    assert_int_equal(win_store_add(s, &b, T0 + 25 * SEC, &r, err, sizeof err), 0);
    assert_int_equal(r.samples_stored, n);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    win_config cfg;
    win_config_defaults(&cfg);
    f->store = win_store_new(&cfg);
    static const win_attr checkout[] = {{"service.name", "checkout"}, {"host.name", "h1"}};
    static const win_attr cart[] = {{"service.name", "cart"}, {"host.name", "h1"}};
    win_sample_in cs[] = {
        {.stack = 0, .value = 10 * MS, .time_ns = T0, .n_attrs = 1, .attrs = &TX},
        {.stack = 1, .value = 5 * MS, .time_ns = T0, .n_attrs = 1, .attrs = &TY},
        {.stack = 2, .value = 3 * MS, .time_ns = T0 + 20 * SEC, .n_attrs = 1, .attrs = &TY},
        {.stack = 3, .value = 2 * MS, .time_ns = T0, .n_attrs = 1, .attrs = &TX},
    };
    add(f->store, checkout, 2, cs, 4);
    win_sample_in ks[] = {
        {.stack = 0, .value = 100 * MS, .time_ns = T0, .n_attrs = 1, .attrs = &TX},
    };
    add(f->store, cart, 2, ks, 1);
    tools_config tc = {.store = f->store, .version = "9.9.9"};
    f->t = tools_new(&tc);
    assert_non_null(f->t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tools_free(f->t);
    win_store_free(f->store);
    free(f);
    return 0;
}

/* Calls a tool with JSON arguments; the result must not be an internal failure. */
static mcp_tool_result call(fixture *f, const char *name, const char *json)
{
    cJSON *args = json ? cJSON_Parse(json) : NULL;
    if (json && !args)
        fail_msg("bad test JSON: %s", json);
    mcp_tool_result r;
    assert_int_equal(tools__call(f->t, name, args, &r), 0);
    cJSON_Delete(args);
    assert_non_null(r.text);
    return r;
}

static void release(mcp_tool_result *r)
{
    free(r->text);
    cJSON_Delete(r->structured);
    cJSON_Delete(r->extra_content);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(it))
        fail_msg("no number \"%s\"", key);
    return it->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    if (!s)
        fail_msg("no string \"%s\"", key);
    return s;
}

static const cJSON *arr(const cJSON *o, const char *key, int n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a))
        fail_msg("no array \"%s\"", key);
    if (n >= 0 && cJSON_GetArraySize(a) != n)
        fail_msg("\"%s\" has %d items, want %d", key, cJSON_GetArraySize(a), n);
    return a;
}

#define CHECKOUT "\"profile_type\":\"cpu:nanoseconds\",\"service_name\":\"checkout\""

static void expect_error(fixture *f, const char *name, const char *json, const char *needle)
{
    mcp_tool_result r = call(f, name, json);
    if (!r.is_error)
        fail_msg("%s %s: no isError; text: %s", name, json, r.text);
    if (!strstr(r.text, needle))
        fail_msg("%s %s: error text lacks \"%s\": %s", name, json, needle, r.text);
    assert_null(r.structured);
    release(&r);
}

/* ---- the tools on the small profile ---------------------------------------------------- */

static void test_table(void **state)
{
    fixture *f = *state;
    mcp_tool_result r = call(f, "query_profile_table", "{" CHECKOUT "}");
    assert_false(r.is_error);
    const cJSON *s = r.structured;
    assert_int_equal((int64_t)num(s, "total"), 20 * MS);
    assert_int_equal((int)num(s, "series"), 1);
    assert_int_equal((int)num(s, "functions"), 4);
    assert_string_equal(str(s, "unit"), "nanoseconds");
    assert_string_equal(str(s, "start"), "2023-11-14T22:13:20Z");
    const cJSON *rows = arr(s, "rows", 4);
    static const char *const names[] = {"b", "a", "c", "main"};
    static const int64_t flat[] = {10 * MS, 5 * MS, 3 * MS, 2 * MS};
    static const int64_t cum[] = {10 * MS, 15 * MS, 3 * MS, 20 * MS};
    for (int i = 0; i < 4; i++) {
        const cJSON *row = cJSON_GetArrayItem(rows, i);
        assert_string_equal(str(row, "function"), names[i]);
        assert_int_equal((int64_t)num(row, "flat"), flat[i]);
        assert_int_equal((int64_t)num(row, "cum"), cum[i]);
    }
    assert_true(num(cJSON_GetArrayItem(rows, 0), "flat_percent") == 50.0);
    assert_int_equal((int64_t)num(s, "other_flat"), 0);
    assert_non_null(strstr(r.text, "Top functions by flat, cpu:nanoseconds, "
                                   "{service.name=\"checkout\"}, 2023-11-14T22:13:20Z.."));
    assert_non_null(strstr(r.text, "Total 20ms over 1 series; 4 of 4 functions shown, "
                                   "covering 100.0% of flat.\n"
                                   "[4]{flat,flat%,cum,cum%,function,file}:\n"
                                   "  10ms,50.00,10ms,50.00,b,b.go\n"
                                   "  5ms,25.00,15ms,75.00,a,a.go\n"
                                   "  3ms,15.00,3ms,15.00,c,\"c, d.go\"\n"
                                   "  2ms,10.00,20ms,100.00,main,main.go\n"));
    release(&r);

    /* limit 2 by cum: main, a shown; the "(other)" row carries b and c's flat */
    r = call(f, "query_profile_table", "{" CHECKOUT ",\"sort\":\"cum\",\"limit\":2}");
    assert_false(r.is_error);
    rows = arr(r.structured, "rows", 2);
    assert_string_equal(str(cJSON_GetArrayItem(rows, 0), "function"), "main");
    assert_string_equal(str(cJSON_GetArrayItem(rows, 1), "function"), "a");
    assert_int_equal((int64_t)num(r.structured, "other_flat"), 13 * MS);
    assert_non_null(strstr(r.text, "[3]{flat,flat%,cum,cum%,function,file}:"));
    assert_non_null(strstr(r.text, "  13ms,65.00,,,(other),\n"));
    assert_non_null(strstr(r.text, "Top functions by cum"));
    release(&r);

    /* filter, and the all-series total */
    r = call(f, "query_profile_table",
             "{\"profile_type\":\"cpu:nanoseconds\",\"filter\":\"^[ab]$\"}");
    assert_false(r.is_error);
    assert_int_equal((int64_t)num(r.structured, "total"), 120 * MS);
    rows = arr(r.structured, "rows", 2);
    assert_string_equal(str(cJSON_GetArrayItem(rows, 0), "function"), "b");
    assert_int_equal((int64_t)num(cJSON_GetArrayItem(rows, 0), "flat"), 110 * MS);
    release(&r);

    /* a range that holds only the T0+20s bucket */
    r = call(f, "query_profile_table",
             "{" CHECKOUT ",\"start\":1700000020,\"end\":\"2023-11-14T22:13:50Z\"}");
    assert_false(r.is_error);
    assert_int_equal((int64_t)num(r.structured, "total"), 3 * MS);
    release(&r);
}

static void test_flamegraph(void **state)
{
    fixture *f = *state;
    mcp_tool_result r = call(f, "query_profile_flamegraph", "{" CHECKOUT "}");
    assert_false(r.is_error);
    const cJSON *rows = arr(r.structured, "rows", 5);
    static const char *const names[] = {"root", "main", "a", "c", "b"};
    static const int parents[] = {-1, 0, 1, 1, 2};
    static const int64_t cum[] = {20 * MS, 20 * MS, 15 * MS, 3 * MS, 10 * MS};
    static const int64_t flat[] = {0, 2 * MS, 5 * MS, 3 * MS, 10 * MS};
    for (int i = 0; i < 5; i++) {
        const cJSON *row = cJSON_GetArrayItem(rows, i);
        assert_int_equal((int)num(row, "id"), i);
        assert_string_equal(str(row, "name"), names[i]);
        assert_int_equal((int)num(row, "parent"), parents[i]);
        assert_int_equal((int64_t)num(row, "cum"), cum[i]);
        assert_int_equal((int64_t)num(row, "flat"), flat[i]);
    }
    assert_non_null(strstr(r.text, "[5]{id,parent,depth,cum,cum%,flat,name}:\n"
                                   "  0,-1,0,20ms,100.00,0,root\n"
                                   "  1,0,1,20ms,100.00,2ms,main\n"));
    assert_non_null(strstr(r.text, "focus_path"));
    release(&r);

    r = call(f, "query_profile_flamegraph", "{" CHECKOUT ",\"focus_path\":[\"main\",\"a\"]}");
    assert_false(r.is_error);
    rows = arr(r.structured, "rows", 2);
    assert_string_equal(str(cJSON_GetArrayItem(rows, 0), "name"), "a");
    assert_int_equal((int64_t)num(r.structured, "root_cum"), 15 * MS);
    assert_string_equal(str(cJSON_GetArrayItem(rows, 1), "name"), "b");
    release(&r);

    /* a wrong path names where it stops matching and what may follow */
    expect_error(f, "query_profile_flamegraph", "{" CHECKOUT ",\"focus_path\":[\"main\",\"zzz\"]}",
                 "stops matching at element 1 (\"zzz\")");
    expect_error(f, "query_profile_flamegraph", "{" CHECKOUT ",\"focus_path\":[\"main\",\"zzz\"]}",
                 "\"a\", \"c\"");
    expect_error(f, "query_profile_flamegraph", "{" CHECKOUT ",\"focus_path\":[1]}",
                 "non-empty strings");
    expect_error(f, "query_profile_flamegraph", "{" CHECKOUT ",\"max_nodes\":1}", "from 2 to 2000");
}

static void test_sandwich(void **state)
{
    fixture *f = *state;
    mcp_tool_result r = call(f, "query_profile_sandwich", "{" CHECKOUT ",\"function\":\"a\"}");
    assert_false(r.is_error);
    const cJSON *s = r.structured;
    assert_int_equal((int64_t)num(s, "flat"), 5 * MS);
    assert_int_equal((int64_t)num(s, "cum"), 15 * MS);
    const cJSON *callers = arr(s, "callers", 2);
    assert_string_equal(str(cJSON_GetArrayItem(callers, 1), "name"), "main");
    assert_int_equal((int64_t)num(cJSON_GetArrayItem(callers, 1), "cum"), 15 * MS);
    const cJSON *callees = arr(s, "callees", 2);
    assert_string_equal(str(cJSON_GetArrayItem(callees, 0), "name"), "a");
    assert_string_equal(str(cJSON_GetArrayItem(callees, 1), "name"), "b");
    assert_int_equal((int64_t)num(cJSON_GetArrayItem(callees, 1), "cum"), 10 * MS);
    assert_non_null(strstr(r.text, "a: flat 5ms (25.00%), cum 15ms (75.00%) of total 20ms."));
    assert_non_null(strstr(r.text, "Callers"));
    assert_non_null(strstr(r.text, "Callees"));
    release(&r);

    expect_error(f, "query_profile_sandwich", "{" CHECKOUT ",\"function\":\"MAI\"}",
                 "Similar names: \"main\"");
    expect_error(f, "query_profile_sandwich", "{" CHECKOUT ",\"function\":\"qqq\"}",
                 "the hottest are \"b\"");
    expect_error(f, "query_profile_sandwich", "{" CHECKOUT "}", "function is required");
}

static void test_diff(void **state)
{
    fixture *f = *state;
    mcp_tool_result r = call(f, "query_profile_diff",
                             "{\"profile_type\":\"cpu:nanoseconds\","
                             "\"baseline\":{\"selector\":\"{service.name=\\\"checkout\\\"}\"},"
                             "\"comparison\":{\"selector\":\"{service.name=\\\"cart\\\"}\"}}");
    assert_false(r.is_error);
    const cJSON *s = r.structured;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(s, "baseline");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "comparison");
    assert_int_equal((int64_t)num(b, "total"), 20 * MS);
    assert_int_equal((int64_t)num(c, "total"), 100 * MS);
    double bs = num(b, "seconds"), cs = num(c, "seconds");
    assert_true(bs > 0 && cs > 0);
    assert_true(num(b, "per_second") == 20.0 * MS / bs);
    /* b grew most: 100 ms in cart against 10 ms in checkout, per second of each range */
    const cJSON *row = cJSON_GetArrayItem(arr(s, "rows", -1), 0);
    assert_string_equal(str(row, "function"), "b");
    assert_int_equal((int64_t)num(row, "base_flat"), 10 * MS);
    assert_int_equal((int64_t)num(row, "cmp_flat"), 100 * MS);
    double want = 100.0 * MS / cs - 10.0 * MS / bs;
    double got = num(row, "delta_per_s");
    assert_true(got > want * 0.999999 && got < want * 1.000001);
    assert_true(num(row, "cmp_percent") == 100.0);
    assert_true(num(row, "base_percent") == 50.0);
    assert_non_null(strstr(r.text, "[4]{function,base/s,cmp/s,delta/s,base%,cmp%,delta_pp}:"));
    assert_non_null(strstr(r.text, "+50.00\n"));
    release(&r);

    expect_error(f, "query_profile_diff", "{" CHECKOUT "}", "select the same data");
    expect_error(f, "query_profile_diff", "{" CHECKOUT ",\"baseline\":{\"start\":\"x\"}}",
                 "baseline.start");
    expect_error(f, "query_profile_diff", "{" CHECKOUT ",\"baseline\":[]}", "must be an object");
}

static void test_timeseries(void **state)
{
    fixture *f = *state;
    mcp_tool_result r = call(f, "query_profile_timeseries",
                             "{" CHECKOUT ",\"step\":\"10s\",\"group_by\":\"thread.name\","
                             "\"start\":1700000000,\"end\":1700000030}");
    assert_false(r.is_error);
    const cJSON *s = r.structured;
    assert_true(num(s, "step") == 10.0);
    assert_string_equal(str(s, "start"), "2023-11-14T22:13:20Z");
    const cJSON *groups = arr(s, "groups", 2);
    const cJSON *gx = cJSON_GetArrayItem(groups, 0), *gy = cJSON_GetArrayItem(groups, 1);
    assert_string_equal(str(gx, "name"), "x");
    assert_int_equal((int64_t)num(gx, "total"), 12 * MS);
    assert_string_equal(str(gy, "name"), "y");
    const cJSON *vx = arr(gx, "values", 3), *vy = arr(gy, "values", 3);
    assert_int_equal((int64_t)cJSON_GetArrayItem(vx, 0)->valuedouble, 12 * MS);
    assert_int_equal((int64_t)cJSON_GetArrayItem(vx, 2)->valuedouble, 0);
    assert_int_equal((int64_t)cJSON_GetArrayItem(vy, 0)->valuedouble, 5 * MS);
    assert_int_equal((int64_t)cJSON_GetArrayItem(vy, 2)->valuedouble, 3 * MS);
    const cJSON *peak = cJSON_GetObjectItemCaseSensitive(s, "peak");
    assert_int_equal((int)num(peak, "index"), 0);
    assert_int_equal((int64_t)num(peak, "value"), 17 * MS);
    assert_non_null(strstr(r.text, "peak step 2023-11-14T22:13:20Z with 17ms"));
    assert_non_null(strstr(r.text, "[3]{time,x,y}:\n  2023-11-14T22:13:20Z,12ms,5ms\n"));
    release(&r);

    /* one function (cum), default step */
    r = call(f, "query_profile_timeseries", "{" CHECKOUT ",\"function\":\"c\"}");
    assert_false(r.is_error);
    const cJSON *g = cJSON_GetArrayItem(arr(r.structured, "groups", 1), 0);
    assert_int_equal((int64_t)num(g, "total"), 3 * MS);
    assert_true(num(r.structured, "step") >= 10.0);
    release(&r);

    expect_error(f, "query_profile_timeseries", "{" CHECKOUT ",\"step\":\"soon\"}", "step");
    expect_error(f, "query_profile_timeseries",
                 "{" CHECKOUT ",\"step\":\"10s\",\"start\":\"2023-01-01T00:00:00Z\",\"end\":"
                 "\"2023-12-01T00:00:00Z\"}",
                 "step too small");
}

static void test_export(void **state)
{
    fixture *f = *state;
    mcp_tool_result r = call(f, "export_pprof", "{" CHECKOUT "}");
    assert_false(r.is_error);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.structured, "url")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.structured, "embedded")));
    assert_int_equal((int64_t)num(r.structured, "total"), 20 * MS);
    const cJSON *item = cJSON_GetArrayItem(r.extra_content, 0);
    assert_string_equal(str(item, "type"), "resource");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(item, "resource");
    assert_string_equal(str(res, "mimeType"), "application/vnd.google.protobuf+gzip");
    assert_string_equal(
        str(res, "uri"),
        "otelprofd://pprof/cpu:nanoseconds?selector=%7Bservice.name%3D%22checkout%22%7D");
    assert_memory_equal(str(res, "blob"), "H4sI", 4); /* gzip magic, base64 */
    assert_non_null(strstr(r.text, "HTTP API is off"));
    release(&r);

    tools_set_http_base_url(f->t, "http://127.0.0.1:4319");
    r = call(f, "export_pprof", "{" CHECKOUT ",\"start\":1700000000}");
    assert_string_equal(str(r.structured, "url"),
                        "http://127.0.0.1:4319/api/pprof?profile_type=cpu%3Ananoseconds&selector="
                        "%7Bservice.name%3D%22checkout%22%7D&start=2023-11-14T22%3A13%3A20Z");
    assert_non_null(strstr(r.text, "go tool pprof -top 'http://127.0.0.1:4319/api/pprof?"));
    release(&r);
    tools_set_http_base_url(f->t, NULL);
}

static void test_status_and_listings(void **state)
{
    fixture *f = *state;
    mcp_tool_result r = call(f, "get_status", NULL);
    assert_false(r.is_error);
    assert_string_equal(str(r.structured, "version"), "9.9.9");
    assert_int_equal((int)num(r.structured, "series"), 2);
    assert_int_equal((int)num(r.structured, "retention_seconds"), 3600);
    const cJSON *types = arr(r.structured, "profile_types", 1);
    assert_int_equal((int64_t)num(cJSON_GetArrayItem(types, 0), "total"), 120 * MS);
    assert_int_equal((int)num(r.structured, "stored_samples"), 5);
    assert_non_null(strstr(r.text, "  cpu:nanoseconds,120ms,2\n"));
    release(&r);

    r = call(f, "list_profile_types", "{\"service_name\":\"cart\"}");
    types = arr(r.structured, "profile_types", 1);
    assert_int_equal((int64_t)num(cJSON_GetArrayItem(types, 0), "total"), 100 * MS);
    assert_int_equal((int)num(cJSON_GetArrayItem(types, 0), "series"), 1);
    assert_non_null(strstr(r.text, "  cpu:nanoseconds,100ms,100000000,1,"));
    release(&r);

    r = call(f, "list_labels", "{\"profile_type\":\"cpu:nanoseconds\"}");
    const cJSON *labels = arr(r.structured, "labels", 3);
    const cJSON *l0 = cJSON_GetArrayItem(labels, 0), *l1 = cJSON_GetArrayItem(labels, 1),
                *l2 = cJSON_GetArrayItem(labels, 2);
    assert_string_equal(str(l0, "name"), "host.name");
    assert_string_equal(str(l0, "level"), "resource");
    assert_string_equal(str(l1, "name"), "service.name");
    assert_int_equal((int)num(l1, "values"), 2);
    assert_string_equal(str(l2, "name"), "thread.name");
    assert_string_equal(str(l2, "level"), "sample");
    assert_non_null(strstr(r.text, "[3]{name,values,level}:\n  host.name,1,resource\n"));
    release(&r);

    r = call(f, "list_label_values", "{\"name\":\"thread.name\"," CHECKOUT "}");
    const cJSON *vals = arr(r.structured, "values", 2);
    assert_string_equal(str(cJSON_GetArrayItem(vals, 0), "value"), "x");
    assert_int_equal((int64_t)num(cJSON_GetArrayItem(vals, 0), "total"), 12 * MS);
    assert_true(num(cJSON_GetArrayItem(vals, 0), "share_percent") == 60.0);
    assert_non_null(strstr(r.text, "[2]{value,total,share%}:\n  x,12ms,60.00\n  y,8ms,40.00\n"));
    release(&r);

    r = call(f, "list_label_values",
             "{\"name\":\"service_name\",\"limit\":1,"
             "\"profile_type\":\"cpu:nanoseconds\"}");
    vals = arr(r.structured, "values", 1);
    assert_string_equal(str(cJSON_GetArrayItem(vals, 0), "value"), "cart");
    assert_int_equal((int64_t)num(r.structured, "other_total"), 20 * MS);
    assert_non_null(strstr(r.text, "  (other),20ms,16.67\n"));
    release(&r);

    expect_error(f, "list_label_values", "{}", "name is required");
    expect_error(f, "list_label_values", "{\"name\":\"x\",\"limit\":0}", "from 1 to 1000");
}

/* ---- argument errors -------------------------------------------------------------------- */

static void test_argument_errors(void **state)
{
    fixture *f = *state;
    expect_error(f, "query_profile_table", "{}", "profile_type is required");
    expect_error(f, "query_profile_table", "{}", "Profile types present: cpu:nanoseconds");
    expect_error(f, "export_pprof", "{\"profile_type\":\"alloc:bytes\"}",
                 "profile_type \"alloc:bytes\" has no data: no series of it is retained "
                 "(misspelled, not sent yet, or expired). Profile types present: "
                 "cpu:nanoseconds.");
    expect_error(f, "query_profile_table", "{\"profile_type\":7}", "profile_type must be a string");
    expect_error(f, "query_profile_table",
                 "{\"profile_type\":\"cpu:nanoseconds\",\"selector\":\"{service.name=}\"}",
                 "selector {service.name=} is invalid: ");
    expect_error(f, "query_profile_table",
                 "{\"profile_type\":\"cpu:nanoseconds\",\"selector\":\"{service.name=}\"}",
                 "Fix: write Prometheus-style matchers");
    expect_error(f, "query_profile_table", "{" CHECKOUT ",\"start\":\"yesterday\"}", "start: ");
    expect_error(f, "query_profile_table", "{" CHECKOUT ",\"start\":true}",
                 "start must be a string");
    expect_error(f, "query_profile_table", "{" CHECKOUT ",\"start\":1700000030,\"end\":1700000000}",
                 "start must be before end");
    expect_error(f, "query_profile_table", "{" CHECKOUT ",\"limit\":10001}", "from 1 to 10000");
    expect_error(f, "query_profile_table", "{" CHECKOUT ",\"limit\":2.5}", "whole number");
    expect_error(f, "query_profile_table", "{" CHECKOUT ",\"sort\":\"hot\"}", "\"flat\"");
    expect_error(f, "query_profile_table", "{" CHECKOUT ",\"filter\":\"(\"}", "filter: ");

    /* service_name folds into a given selector */
    mcp_tool_result r =
        call(f, "query_profile_table", "{" CHECKOUT ",\"selector\":\"{thread.name=\\\"y\\\"}\"}");
    assert_false(r.is_error);
    assert_string_equal(str(r.structured, "selector"),
                        "{thread.name=\"y\", service.name=\"checkout\"}");
    assert_int_equal((int64_t)num(r.structured, "total"), 8 * MS);
    release(&r);

    /* tools_call_text: the text, is_error, unknown tools and bad JSON */
    bool is_error = true;
    char err[256] = "";
    char *text = tools_call_text(f->t, "query_profile_table", "{" CHECKOUT ",\"limit\":1}",
                                 &is_error, err, sizeof err);
    assert_non_null(text);
    assert_false(is_error);
    assert_non_null(strstr(text, "  10ms,50.00,10ms,50.00,b,b.go\n  10ms,50.00,,,(other),\n"));
    free(text);
    text = tools_call_text(f->t, "query_profile_table", "{}", &is_error, err, sizeof err);
    assert_non_null(text);
    assert_true(is_error);
    free(text);
    assert_null(tools_call_text(f->t, "nope", "{}", &is_error, err, sizeof err));
    assert_non_null(strstr(err, "unknown tool \"nope\""));
    assert_non_null(strstr(err, "query_profile_sandwich"));
    assert_null(tools_call_text(f->t, "get_status", "[1", &is_error, err, sizeof err));
    assert_non_null(strstr(err, "not a JSON object"));
}

/* ---- HTTP routes ------------------------------------------------------------------------ */

typedef struct kv {
    const char *k, *v;
} kv;

static const char *kv_arg(void *conn, const char *key)
{
    for (const kv *p = conn; p->k; p++)
        if (strcmp(p->k, key) == 0)
            return p->v;
    return NULL;
}

static void test_http_routes(void **state)
{
    fixture *f = *state;
    kv none[] = {{NULL, NULL}};
    mcp_http_response out = {0};
    assert_true(tools_http_route(f->t, "GET", "/healthz", kv_arg, none, &out));
    assert_int_equal(out.status, 200);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.body, "ok\n", 3);
    free(out.body);

    memset(&out, 0, sizeof out);
    assert_false(tools_http_route(f->t, "GET", "/nope", kv_arg, none, &out));

    memset(&out, 0, sizeof out);
    assert_true(tools_http_route(f->t, "POST", "/metrics", kv_arg, none, &out));
    assert_int_equal(out.status, 405);
    free(out.body);

    memset(&out, 0, sizeof out);
    assert_true(tools_http_route(f->t, "GET", "/metrics", kv_arg, none, &out));
    assert_int_equal(out.status, 200);
    assert_non_null(strstr((char *)out.body, "otelprofd_series 2\n"));
    free(out.body);

    kv top[] = {{"profile_type", "cpu:nanoseconds"},
                {"selector", "{service.name=\"checkout\"}"},
                {NULL, NULL}};
    memset(&out, 0, sizeof out);
    assert_true(tools_http_route(f->t, "GET", "/debug/top", kv_arg, top, &out));
    assert_int_equal(out.status, 200);
    assert_string_equal((char *)out.body, "total 20000000\n10000000 10000000 b\n5000000 15000000 "
                                          "a\n3000000 3000000 c\n2000000 20000000 main\n");
    free(out.body);

    memset(&out, 0, sizeof out);
    assert_true(tools_http_route(f->t, "GET", "/api/pprof", kv_arg, top, &out));
    assert_int_equal(out.status, 200);
    assert_string_equal(out.content_type, "application/octet-stream");
    assert_string_equal(out.extra_header_name, "Content-Disposition");
    assert_true(out.len > 20);
    assert_int_equal(out.body[0], 0x1f);
    assert_int_equal(out.body[1], 0x8b);
    free(out.body);

    kv bad[] = {{"profile_type", "cpu:nanoseconds"}, {"start", "tomorrow-ish"}, {NULL, NULL}};
    memset(&out, 0, sizeof out);
    assert_true(tools_http_route(f->t, "GET", "/api/pprof", kv_arg, bad, &out));
    assert_int_equal(out.status, 400);
    assert_non_null(strstr((char *)out.body, "start: "));
    free(out.body);

    memset(&out, 0, sizeof out);
    assert_true(tools_http_route(f->t, "GET", "/api/pprof", kv_arg, none, &out));
    assert_int_equal(out.status, 400);
    assert_non_null(strstr((char *)out.body, "Profile types present: cpu:nanoseconds"));
    free(out.body);
}

/* ---- registration on an mcp_server -------------------------------------------------------- */

static cJSON *rpc(mcp_server *srv, mcp_session *s, const char *json)
{
    char *resp = mcp_handle_message(srv, s, json, strlen(json), NULL);
    if (!resp)
        return NULL;
    cJSON *r = cJSON_Parse(resp);
    free(resp);
    return r;
}

static void test_mcp_registration(void **state)
{
    fixture *f = *state;
    mcp_server_info info = {.name = "otelprofd", .version = "9.9.9"};
    mcp_server *srv = mcp_server_new(&info);
    assert_non_null(srv);
    assert_int_equal(tools_register(f->t, srv), 0);
    mcp_session *s = mcp_session_new(srv);
    cJSON *r = rpc(srv, s,
                   "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                   "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{"
                   "\"name\":\"t\",\"version\":\"1\"}}}");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(r, "result"));
    cJSON_Delete(r);
    free(mcp_handle_message(
        srv, s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", 55, NULL));

    r = rpc(srv, s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    const cJSON *tl =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "result"), "tools");
    assert_int_equal(cJSON_GetArraySize(tl), 11);
    static const char *const names[] = {"get_status",
                                        "list_profile_types",
                                        "list_labels",
                                        "list_label_values",
                                        "query_profile_table",
                                        "query_profile_flamegraph",
                                        "query_profile_sandwich",
                                        "query_profile_diff",
                                        "query_profile_timeseries",
                                        "export_pprof",
                                        "query_profile_source"};
    for (int i = 0; i < 11; i++) {
        const cJSON *t = NULL, *it;
        cJSON_ArrayForEach(it, tl)
        {
            if (strcmp(str(it, "name"), names[i]) == 0)
                t = it;
        }
        if (!t)
            fail_msg("tool %s not listed", names[i]);
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(t, "annotations");
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ann, "readOnlyHint")));
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ann, "idempotentHint")));
        assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ann, "openWorldHint")));
        assert_non_null(cJSON_GetObjectItemCaseSensitive(t, "outputSchema"));
        assert_true(strlen(str(t, "description")) > 80);
    }
    cJSON_Delete(r);

    r = rpc(srv, s,
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
            "\"name\":\"query_profile_table\",\"arguments\":{" CHECKOUT "}}}");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "isError")));
    assert_int_equal(
        (int64_t)num(cJSON_GetObjectItemCaseSensitive(res, "structuredContent"), "total"), 20 * MS);
    cJSON_Delete(r);

    r = rpc(srv, s,
            "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"completion/complete\",\"params\":{"
            "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"investigate_cpu_hotspots\"},"
            "\"argument\":{\"name\":\"service_name\",\"value\":\"ch\"}}}");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "result"),
                                         "completion"),
        "values");
    assert_int_equal(cJSON_GetArraySize(values), 1);
    assert_string_equal(cJSON_GetArrayItem(values, 0)->valuestring, "checkout");
    cJSON_Delete(r);

    r = rpc(srv, s,
            "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"prompts/get\",\"params\":{"
            "\"name\":\"find_regression\",\"arguments\":{\"service_name\":\"cart\","
            "\"baseline_start\":\"now-2h\"}}}");
    char *p = cJSON_PrintUnformatted(r);
    assert_non_null(strstr(p, "query_profile_diff"));
    assert_non_null(strstr(p, "now-2h"));
    free(p);
    cJSON_Delete(r);

    r = rpc(srv, s,
            "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/read\",\"params\":{"
            "\"uri\":\"otelprofd://guide/profiling\"}}");
    p = cJSON_PrintUnformatted(r);
    assert_non_null(strstr(p, "focus_path"));
    assert_non_null(strstr(p, "text/markdown"));
    free(p);
    cJSON_Delete(r);

    mcp_session_free(s);
    mcp_server_free(srv);
}

/* ---- the text cap on a large store ------------------------------------------------------ */

#define BIG_FUNCS 3000u

static void test_text_cap(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    fixture big = {0};
    big.store = win_store_new(&cfg);
    /* main -> mid_i -> leaf_i with long names, one sample each, many thread names */
    win_frame_in *frames = calloc(1 + 2 * BIG_FUNCS, sizeof *frames);
    char(*names)[1200] = calloc(2 * BIG_FUNCS, sizeof *names);
    uint32_t(*stk)[3] = calloc(BIG_FUNCS, sizeof *stk);
    win_stack_in *stacks = calloc(BIG_FUNCS, sizeof *stacks);
    win_sample_in *samples = calloc(BIG_FUNCS, sizeof *samples);
    win_attr *attrs = calloc(BIG_FUNCS, sizeof *attrs);
    char(*threads)[32] = calloc(BIG_FUNCS, sizeof *threads);
    frames[0] = (win_frame_in){.function = "main", .file = "main.go"};
    for (uint32_t i = 0; i < BIG_FUNCS; i++) {
        snprintf(
            names[2 * i], sizeof names[0],
            "github.com/example/service/internal/handlers/generated/v2/deeply/nested/"
            "and/then/some/more/vendored/third_party/mirror/of/the/same/module/"
            "again/because/real/generated/code/looks/like/this/sometimes/ok/"
            "one/more/level/of/nesting/for/good/measure/and/a/bit/more/still/"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/"
            "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy/"
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz/"
            "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww/"
            "package/path/that/makes/names/long.(*HandlerWithAVeryLongTypeName)."
            "ServeSomethingWithAnEquallyLongMethodNameSoDefaultsOverflowTheBudget%04u"
            "[go.shape.struct { A int; B string; C map[string]interface {} }]",
            i);
        snprintf(
            names[2 * i + 1], sizeof names[0],
            "github.com/example/service/internal/storage/generated/v2/deeply/nested/"
            "and/then/some/more/vendored/third_party/mirror/of/the/same/module/"
            "again/because/real/generated/code/looks/like/this/sometimes/ok/"
            "one/more/level/of/nesting/for/good/measure/and/a/bit/more/still/"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/"
            "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy/"
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz/"
            "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww/"
            "package/path/that/makes/names/long.(*StoreWithAVeryLongTypeName)."
            "LookupRecordWithAnEquallyLongMethodNameSoDefaultsOverflowTheBudget%04u"
            "[go.shape.struct { A int; B string; C map[string]interface {} }]",
            i);
        frames[1 + 2 * i] = (win_frame_in){.function = names[2 * i], .file = "handlers.go"};
        frames[2 + 2 * i] = (win_frame_in){.function = names[2 * i + 1], .file = "storage.go"};
        stk[i][0] = 2 + 2 * i;
        stk[i][1] = 1 + 2 * i;
        stk[i][2] = 0;
        stacks[i] = (win_stack_in){stk[i], 3};
        snprintf(threads[i], sizeof threads[0], "worker-%u", i);
        attrs[i] = (win_attr){"thread.name", threads[i]};
        samples[i] = (win_sample_in){.stack = i,
                                     .value = (int64_t)(1000 + i) * MS,
                                     .time_ns = T0 + (int64_t)(i % 3) * 10 * SEC,
                                     .n_attrs = 1,
                                     .attrs = &attrs[i]};
    }
    static const win_attr res[] = {{"service.name", "big"}};
    win_batch b = {"cpu:nanoseconds", res,       1,    frames, 1 + 2 * BIG_FUNCS, stacks, BIG_FUNCS,
                   samples,           BIG_FUNCS, NULL, false};
    char err[256];
    win_add_result ar;
    assert_int_equal(win_store_add(big.store, &b, T0 + 25 * SEC, &ar, err, sizeof err), 0);
    tools_config tc = {.store = big.store, .version = "x"};
    big.t = tools_new(&tc);

    static const struct {
        const char *tool, *args, *says;
    } calls[] = {
        /* sizes left at their defaults: the budget shrinks them */
        {"query_profile_table", "{\"profile_type\":\"cpu:nanoseconds\"}", "limit lowered"},
        {"query_profile_flamegraph", "{\"profile_type\":\"cpu:nanoseconds\",\"min_percent\":0}",
         "lowered to stay under"},
        {"query_profile_sandwich",
         "{\"profile_type\":\"cpu:nanoseconds\",\"function\":\"main\",\"min_percent\":0}",
         "lowered to stay under"},
        {"list_label_values",
         "{\"name\":\"thread.name\",\"limit\":1000,\"profile_type\":\"cpu:nanoseconds\"}",
         "text cut"},
        {"query_profile_diff",
         "{\"profile_type\":\"cpu:nanoseconds\",\"baseline\":{\"end\":1700000010},"
         "\"comparison\":{\"start\":1700000010}}",
         "limit lowered"},
        {"query_profile_timeseries",
         "{\"profile_type\":\"cpu:nanoseconds\",\"group_by\":\"thread.name\",\"limit\":50}", NULL},
        {"get_status", "{}", NULL},
        {"list_labels", "{}", NULL},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        mcp_tool_result r = call(&big, calls[i].tool, calls[i].args);
        if (r.is_error)
            fail_msg("%s: %s", calls[i].tool, r.text);
        if (strlen(r.text) > TOOLS__TEXT_BUDGET)
            fail_msg("%s: %zu bytes of text, over the budget", calls[i].tool, strlen(r.text));
        if (calls[i].says && !strstr(r.text, calls[i].says))
            fail_msg("%s: does not say it cut (\"%s\"): %.300s", calls[i].tool, calls[i].says,
                     r.text);
        if (strcmp(calls[i].tool, "query_profile_table") == 0) {
            /* nothing silently dropped: shown flat + other flat == total */
            const cJSON *rows = arr(r.structured, "rows", -1);
            double sum = num(r.structured, "other_flat");
            const cJSON *row;
            cJSON_ArrayForEach(row, rows) sum += num(row, "flat");
            assert_true(sum == num(r.structured, "total"));
            assert_true(cJSON_GetArraySize(rows) >= 1);
        }
        release(&r);
    }
    /* an explicit size is honoured, budget or not: the caller asked for that much */
    mcp_tool_result r =
        call(&big, "query_profile_table", "{\"profile_type\":\"cpu:nanoseconds\",\"limit\":10000}");
    assert_false(r.is_error);
    assert_int_equal(cJSON_GetArraySize(arr(r.structured, "rows", -1)), 2 * BIG_FUNCS + 1);
    assert_int_equal((int64_t)num(r.structured, "other_flat"), 0);
    assert_null(strstr(r.text, "lowered"));
    release(&r);
    tools_free(big.t);
    win_store_free(big.store);
    free(frames);
    free(names);
    free(stk);
    free(stacks);
    free(samples);
    free(attrs);
    free(threads);
}

/* Issue 10: what the tools say when a query hit its bounds. export_pprof over one
 * 4,096-frame stack shared by 5,000 thread ids (~41 MB as a full pprof) folds labels past
 * the 16 MiB limit and says so in its text, its structured output and, over HTTP, a header;
 * a sandwich whose path meets the function again says what "(recursion)" means. */
static void test_bounded_answers_say_so(void **state)
{
    (void)state;
    enum { DEPTH = 4096, N = 5000 };
    win_frame_in *frames = calloc(DEPTH, sizeof *frames);
    char(*names)[12] = calloc(DEPTH, sizeof *names);
    uint32_t *idx = calloc(DEPTH, sizeof *idx);
    win_sample_in *smp = calloc(N, sizeof *smp);
    win_attr *attrs = calloc(N, sizeof *attrs);
    char(*tids)[12] = calloc(N, sizeof *tids);
    assert_true(frames && names && idx && smp && attrs && tids);
    for (uint32_t i = 0; i < DEPTH; i++) {
        snprintf(names[i], sizeof names[i], "f%u", i);
        frames[i] = (win_frame_in){names[i], "d.go", 1, 0x1000u + i, NULL, NULL, NULL, 0};
        idx[i] = i;
    }
    for (uint32_t i = 0; i < N; i++) {
        snprintf(tids[i], sizeof tids[i], "%u", i);
        attrs[i] = (win_attr){"thread.id", tids[i]};
        smp[i] = (win_sample_in){
            .stack = 0, .n_attrs = 1, .attrs = &attrs[i], .value = MS, .time_ns = T0};
    }
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    static const win_attr deep[] = {{"service.name", "deep"}};
    win_stack_in stack = {idx, DEPTH};
    win_batch b = {"cpu:nanoseconds", deep, 1, frames, DEPTH, &stack, 1, smp, N, NULL, false};
    char err[256];
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, T0 + 25 * SEC, &r, err, sizeof err), 0);
    /* and a recursive stack elsewhere: main F x F y F z (root first) */
    static const win_frame_in rf[] = {{"main", "r.go", 1, 0x1, NULL, NULL, NULL, 0},
                                      {"F", "r.go", 2, 0x2, NULL, NULL, NULL, 0},
                                      {"x", "r.go", 3, 0x3, NULL, NULL, NULL, 0},
                                      {"y", "r.go", 4, 0x4, NULL, NULL, NULL, 0},
                                      {"z", "r.go", 5, 0x5, NULL, NULL, NULL, 0}};
    static const uint32_t rs[] = {4, 1, 3, 1, 2, 1, 0};
    static const win_attr rec[] = {{"service.name", "rec"}};
    win_stack_in rstack = {rs, 7};
    win_sample_in rsmp = {.stack = 0, .value = MS, .time_ns = T0};
    win_batch rb = {"cpu:nanoseconds", rec, 1, rf, 5, &rstack, 1, &rsmp, 1, NULL, false};
    assert_int_equal(win_store_add(st, &rb, T0 + 25 * SEC, &r, err, sizeof err), 0);
    tools_config tc = {.store = st, .version = "9.9.9"};
    fixture f = {st, tools_new(&tc)};
    assert_non_null(f.t);

    mcp_tool_result res = call(&f, "export_pprof",
                               "{\"profile_type\":\"cpu:nanoseconds\","
                               "\"selector\":\"{service.name=\\\"deep\\\"}\"}");
    assert_false(res.is_error);
    assert_non_null(strstr(res.text, "Cut: the export limits"));
    assert_non_null(strstr(res.text, "lost their labels"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res.structured, "cut")));
    double folded = num(res.structured, "labels_folded");
    assert_true(folded > 0 && folded < N);
    release(&res);

    kv q[] = {
        {"profile_type", "cpu:nanoseconds"}, {"selector", "{service.name=\"deep\"}"}, {NULL, NULL}};
    mcp_http_response out;
    memset(&out, 0, sizeof out);
    assert_true(tools_http_route(f.t, "GET", "/api/pprof", kv_arg, q, &out));
    assert_int_equal(out.status, 200);
    assert_string_equal(out.extra_header_name, "Content-Disposition");
    assert_string_equal(out.extra_header2_name, "X-Otelprofd-Export-Cut");
    assert_non_null(strstr(out.extra_header2_value, "totals and stacks are exact"));
    free(out.body);
    /* an export within the limits has no such header */
    kv small[] = {
        {"profile_type", "cpu:nanoseconds"}, {"selector", "{service.name=\"rec\"}"}, {NULL, NULL}};
    memset(&out, 0, sizeof out);
    assert_true(tools_http_route(f.t, "GET", "/api/pprof", kv_arg, small, &out));
    assert_int_equal(out.status, 200);
    assert_null(out.extra_header2_name);
    free(out.body);

    res = call(&f, "query_profile_sandwich",
               "{\"profile_type\":\"cpu:nanoseconds\",\"selector\":\"{service.name=\\\"rec\\\"}\","
               "\"function\":\"F\"}");
    assert_false(res.is_error);
    assert_non_null(strstr(res.text, "A \"(recursion)\" row: that path reaches F again"));
    assert_non_null(strstr(res.text, ",(recursion)\n"));
    assert_null(strstr(res.text, "Cut:"));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res.structured, "cut")));
    release(&res);

    tools_free(f.t);
    win_store_free(st);
    free(frames);
    free(names);
    free(idx);
    free(smp);
    free(attrs);
    free(tids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_flamegraph),
        cmocka_unit_test(test_sandwich),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_timeseries),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_status_and_listings),
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_http_routes),
        cmocka_unit_test(test_mcp_registration),
        cmocka_unit_test(test_text_cap),
        cmocka_unit_test(test_bounded_answers_say_so),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
