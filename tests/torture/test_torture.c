/* Allocation-failure ("torture") test, after curl's: every allocation our code makes goes
 * through a shim (linked with -Wl,--wrap=malloc,...; cJSON's through its hooks), and for
 * N = 1, 2, ... the Nth allocation fails while one operation runs. Each iteration must end
 * with the operation either succeeding or reporting an error, and then with the accounting
 * checks: no crash (ASan/UBSan abort), no leak (LeakSanitizer's recoverable check after
 * every iteration, in the sanitized build), no lie (what the operation says it did is what
 * the store holds). Operations: store add, merge + top, OTLP ingest (decode + validate +
 * store), pprof export, and a tools/call through the JSON-RPC handler.
 *
 * Runs in the ASan stage of scripts/test.sh (it also runs, without the leak check, in the
 * release build). Every allocation index up to the operation's count is failed once, so
 * the count printed per operation says how many out-of-memory branches were walked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <execinfo.h>

#include "mcp/mcp.h"
#include "query/query.h"
#include "render/render.h"
#include "tools/tools.h"
#include "translate/translate.h"
#include "window/window.h"

#if defined(__SANITIZE_ADDRESS__)
#define TORTURE_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TORTURE_LEAK_CHECK 1
#endif
#endif
#ifdef TORTURE_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif

/* ---- the shim ---------------------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static uint64_t alloc_count; /* allocations seen since the countdown was armed */
static uint64_t fail_at;     /* 0 = never fail; else fail allocation number fail_at */
static bool failed;          /* the armed failure happened */

static bool should_fail(void)
{
    if (fail_at == 0)
        return false;
    if (++alloc_count != fail_at)
        return false;
    failed = true;
    if (getenv("TORTURE_BACKTRACE")) { /* where the failing allocation was made */
        void *frames[12];
        backtrace_symbols_fd(frames, backtrace(frames, 12), 2);
    }
    return true;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n)
{
    /* realloc(p, 0) frees in glibc; failing it would leak p for no real-world reason */
    if (n != 0 && should_fail())
        return NULL;
    return __real_realloc(p, n);
}
char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}
char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : __real_strndup(s, n);
}

/* hold()/release(): set up an operation's inputs without failing (or counting) them */
static uint64_t held;
static void hold(void)
{
    held = fail_at;
    fail_at = 0;
}
static void release(void)
{
    fail_at = held;
}

static uint64_t fail_at_last;
static void arm(uint64_t n)
{
    fail_at_last = n;
    alloc_count = 0;
    failed = false;
    fail_at = n;
}
static void disarm(void)
{
    fail_at = 0;
}

static void leak_check(const char *op, uint64_t n)
{
#ifdef TORTURE_LEAK_CHECK
    if (__lsan_do_recoverable_leak_check() != 0)
        fail_msg("%s: memory leaked when allocation %llu failed", op, (unsigned long long)n);
#else
    (void)op;
    (void)n;
#endif
}

/* torture(op, ctx): runs op with allocation N failing for N = 1.. until a run sees fewer
 * than N allocations (every failure point visited). op returns 0 when its checks passed
 * for that run (success or a reported failure), and must never crash. */
typedef void (*torture_op)(void *ctx, bool *op_failed);
static void torture(const char *name, torture_op op, void *ctx)
{
    uint64_t n = 1, failures_reported = 0;
    for (;; n++) {
        bool op_failed = false;
        if (getenv("TORTURE_VERBOSE"))
            fprintf(stderr, "%s: failing allocation %llu\n", name, (unsigned long long)n);
        arm(n);
        op(ctx, &op_failed);
        bool hit = failed;
        disarm();
        leak_check(name, n);
        if (!hit) {
            assert_false(op_failed); /* nothing failed: the operation must have succeeded */
            break;
        }
        if (op_failed)
            failures_reported++;
        if (n > 2000000)
            fail_msg("%s: more than 2,000,000 allocations", name);
    }
    printf("torture %s: %llu allocations, each failed once (%llu reported as errors, the "
           "rest absorbed)\n",
           name, (unsigned long long)(n - 1), (unsigned long long)failures_reported);
    assert_true(n > 1); /* an operation that allocates nothing tests nothing here */
}

/* ---- fixtures ---------------------------------------------------------------------- */

#define SEC 1000000000LL
#define MS  1000000LL
#define T0  (1700000000LL * SEC)

enum { F_MAIN, F_A, F_B, F_C, N_FRAMES };
static const win_frame_in FRAMES[N_FRAMES] = {
    [F_MAIN] = {"main", "main.go", 5, 0x1000, "app", "id1"},
    [F_A] = {"a", "a.go", 10, 0x2000, "app", "id1"},
    [F_B] = {"b", "b.go", 20, 0x3000, "app", "id1"},
    [F_C] = {NULL, NULL, 0, 0x4000, "app", "id1"}, /* unsymbolized */
};
static const uint32_t S1[] = {F_B, F_A, F_MAIN};
static const uint32_t S2[] = {F_A, F_MAIN};
static const uint32_t S3[] = {F_C, F_A, F_MAIN};
static const win_stack_in STACKS[] = {{S1, 3}, {S2, 2}, {S3, 3}};
static const win_attr TX = {"thread.name", "x"};
static const win_attr TY = {"thread.name", "y"};
static const uint8_t TRACE[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SPAN[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const win_attr RES_CHECKOUT[] = {{"host.name", "h1"}, {"service.name", "checkout"}};
static const win_sample_in SAMPLES[] = {
    {.stack = 0, .value = 10 * MS, .time_ns = T0, .n_attrs = 1, .attrs = &TX},
    {.stack = 1, .value = 5 * MS, .time_ns = T0 + 10 * SEC, .n_attrs = 1, .attrs = &TY},
    {.stack = 2, .value = 3 * MS, .time_ns = T0 + 20 * SEC, .trace_id = TRACE, .span_id = SPAN},
    {.stack = 0, .value = 7 * MS, .time_ns = T0 - 7200 * SEC}, /* too old */
};
#define N_SAMPLES  4u
#define STORED_SUM (18 * MS)
#define NOW        (T0 + 30 * SEC)

static win_store *new_store(void)
{
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *s = win_store_new(&cfg);
    assert_non_null(s);
    return s;
}

static int64_t merged_total(win_store *s, const char *type)
{
    win_query q = {type, NULL, INT64_MIN, INT64_MAX, false};
    win_merged *m = win_merge(s, &q, NULL);
    assert_non_null(m);
    int64_t total = m->total;
    win_merged_free(m);
    return total;
}

/* ---- store add -------------------------------------------------------------------- */

/* win_store_add: on success all three in-range samples are stored and counted; on failure
 * the store holds what its statistics say (stored count = merged value), never more. */
static void op_store_add(void *ctx, bool *op_failed)
{
    (void)ctx;
    hold();
    win_store *s = new_store();
    release();
    win_batch b = {"cpu:nanoseconds", RES_CHECKOUT, 2,    FRAMES, N_FRAMES, STACKS, 3,
                   SAMPLES,           N_SAMPLES,    NULL, false};
    win_add_result r;
    memset(&r, 0, sizeof r);
    char err[256] = "";
    base_err rc = win_store_add(s, &b, NOW, &r, err, sizeof err);
    bool was_armed = fail_at != 0;
    disarm(); /* the checks below must not fail on their own */
    win_stats st;
    win_store_stats(s, &st);
    int64_t total = merged_total(s, "cpu:nanoseconds");
    if (rc == BASE_OK) {
        assert_int_equal(r.samples_stored, 3);
        assert_int_equal(r.samples_too_old, 1);
        assert_int_equal(st.samples_stored, 3);
        assert_int_equal(total, STORED_SUM);
    } else {
        *op_failed = true;
        assert_true(was_armed);
        assert_int_equal(rc, BASE_ERR_NOMEM); /* an allocation failed: the kind says so */
        assert_true(err[0] != '\0');          /* and the reason says why */
        /* the statistics never claim what the buckets do not hold */
        assert_int_equal(st.samples_stored == 0, total == 0);
    }
    win_store_free(s);
}

static void test_store_add(void **state)
{
    (void)state;
    torture("win_store_add", op_store_add, NULL);
}

/* ---- merge + top -------------------------------------------------------------------- */

static win_store *filled_store(void)
{
    win_store *s = new_store();
    win_batch b = {"cpu:nanoseconds", RES_CHECKOUT, 2,    FRAMES, N_FRAMES, STACKS, 3,
                   SAMPLES,           N_SAMPLES,    NULL, false};
    win_add_result r;
    char err[256];
    assert_int_equal(win_store_add(s, &b, NOW, &r, err, sizeof err), 0);
    return s;
}

static void op_merge(void *ctx, bool *op_failed)
{
    win_store *s = ctx;
    win_selector *sel = win_selector_parse("{service.name=\"checkout\"}", NULL, NULL, 0);
    base_errbuf eb = {0};
    if (!sel) {
        *op_failed = true;
        return;
    }
    win_query q = {"cpu:nanoseconds", sel, INT64_MIN, INT64_MAX, true};
    win_merged *m = win_merge(s, &q, &eb);
    win_top_row *rows = NULL;
    int64_t n = m ? win_top(m, &rows) : -1;
    disarm();
    if (!m) {
        *op_failed = true;
        assert_int_equal(eb.kind, BASE_ERR_NOMEM); /* the kind travels with the reason */
        assert_true(eb.text[0] != '\0');
    } else if (n < 0) {
        *op_failed = true;
    } else {
        assert_int_equal(m->total, STORED_SUM);
        int64_t flat = 0;
        for (int64_t i = 0; i < n; i++)
            flat += rows[i].flat;
        assert_int_equal(flat, STORED_SUM); /* every value is somebody's flat */
        int64_t labeled = 0;
        for (uint32_t i = 0; i < m->n_labeled; i++)
            labeled += m->labeled[i].value;
        assert_int_equal(labeled, STORED_SUM);
    }
    free(rows);
    win_merged_free(m);
    win_selector_free(sel);
}

static void test_merge(void **state)
{
    (void)state;
    win_store *s = filled_store();
    torture("win_merge+win_top", op_merge, s);
    win_store_free(s);
}

/* ---- pprof export ------------------------------------------------------------------ */

static void op_export(void *ctx, bool *op_failed)
{
    const win_merged *m = ctx;
    uint8_t *out = NULL;
    size_t len = 0;
    char err[256] = "";
    int rc = query_export_pprof(m, NULL, NULL, &out, &len, err, sizeof err);
    disarm();
    if (rc != 0) {
        *op_failed = true;
        assert_true(err[0] != '\0');
        assert_null(out);
    } else {
        assert_non_null(out);
        assert_true(len > 20);
        assert_int_equal(out[0], 0x1f); /* gzip */
        assert_int_equal(out[1], 0x8b);
    }
    free(out);
}

static void test_export(void **state)
{
    (void)state;
    win_store *s = filled_store();
    win_query q = {"cpu:nanoseconds", NULL, INT64_MIN, INT64_MAX, true};
    win_merged *m = win_merge(s, &q, NULL);
    assert_non_null(m);
    torture("query_export_pprof", op_export, m);
    win_merged_free(m);
    win_store_free(s);
}

/* ---- OTLP ingest (decode + validate + store) --------------------------------------- */

/* fuzz/seeds/otlp_json/small.json's shape, with times around NOW and a second resource
 * whose profile breaks a rule (stack index out of range): one accepted, one rejected. */
static const char OTLP_JSON[] =
    "{\"resourceProfiles\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"checkout\"}}]},\"scopeProfiles\":[{\"scope\":{\"name\":\"s\"},"
    "\"profiles\":[{\"sampleType\":{\"typeStrindex\":1,\"unitStrindex\":2},\"periodType\":{"
    "\"typeStrindex\":1,\"unitStrindex\":2},\"period\":\"10000000\",\"timeUnixNano\":"
    "\"1700000010000000000\",\"durationNano\":\"1000000000\",\"samples\":[{\"stackIndex\":1,"
    "\"values\":[\"10000000\"],\"attributeIndices\":[1]},{\"stackIndex\":2,\"values\":[5],"
    "\"timestampsUnixNano\":[\"1700000011000000000\"],\"linkIndex\":1}]}]}]},"
    "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
    "\"broken\"}}]},\"scopeProfiles\":[{\"profiles\":[{\"sampleType\":{\"typeStrindex\":1,"
    "\"unitStrindex\":2},\"timeUnixNano\":\"1700000010000000000\",\"samples\":[{\"stackIndex\":"
    "9,\"values\":[1]}]}]}]}],"
    "\"dictionary\":{\"stringTable\":[\"\",\"cpu\",\"nanoseconds\",\"main\",\"a\","
    "\"thread.name\",\"main.go\",\"/bin/app\",\"abcd\"],\"mappingTable\":[{},{\"memoryStart\":"
    "\"4096\",\"memoryLimit\":\"65536\",\"filenameStrindex\":7}],\"functionTable\":[{},{"
    "\"nameStrindex\":3,\"filenameStrindex\":6},{\"nameStrindex\":4,\"filenameStrindex\":6,"
    "\"startLine\":\"3\"}],\"locationTable\":[{},{\"mappingIndex\":1,\"address\":\"4660\","
    "\"lines\":[{\"functionIndex\":1,\"line\":\"12\"}]},{\"mappingIndex\":1,\"lines\":[{"
    "\"functionIndex\":2,\"line\":\"20\"},{\"functionIndex\":1,\"line\":\"13\"}]}],"
    "\"stackTable\":[{},{\"locationIndices\":[1]},{\"locationIndices\":[2,1]}],"
    "\"attributeTable\":[{},{\"keyStrindex\":5,\"value\":{\"stringValue\":\"gc\"}}],"
    "\"linkTable\":[{},{\"traceId\":\"0102030405060708090a0b0c0d0e0fab\",\"spanId\":"
    "\"1112131415161718\"}]}}";

static void op_ingest(void *ctx, bool *op_failed)
{
    (void)ctx;
    hold();
    win_store *s = new_store();
    release();
    base_arena arena;
    base_arena_init(&arena, 4096, 0);
    tr_request *req = NULL;
    char err[256] = "";
    base_err rc = tr_decode_json(OTLP_JSON, sizeof OTLP_JSON - 1, &arena, &req, err, sizeof err);
    tr_result res;
    memset(&res, 0, sizeof res);
    if (rc == BASE_OK)
        rc = tr_ingest(s, req, NULL, 0, NOW, &arena, &res);
    disarm();
    win_stats st;
    win_store_stats(s, &st);
    int64_t total = merged_total(s, "cpu:nanoseconds");
    if (rc != BASE_OK) {
        *op_failed = true;
        assert_int_equal(rc, BASE_ERR_NOMEM); /* the kind survives: not a decode error */
    } else if (res.profiles_accepted == 1) {
        assert_int_equal(res.profiles_rejected, 1);
        assert_int_equal(res.samples_stored, 2);
        assert_int_equal(total, 10 * MS + 5);
    } else {
        /* out of memory inside one profile: it was left out and said to be */
        *op_failed = true;
        assert_true(res.error_message[0] != '\0');
    }
    /* no lie: what the result says was stored is what the store holds */
    assert_int_equal(st.samples_stored, res.samples_stored);
    assert_int_equal(res.samples_stored == 0, total == 0);
    base_arena_free(&arena);
    win_store_free(s);
}

static void test_ingest(void **state)
{
    (void)state;
    torture("tr_decode_json+tr_ingest", op_ingest, NULL);
}

/* The same over a real payload: mem.pb (both Go heap profiles, four sample types each)
 * through the protobuf decoder. What the result says was stored is what the store holds. */
typedef struct pb_input {
    uint8_t *buf;
    size_t len;
    int64_t now;
} pb_input;

static void op_ingest_pb(void *ctx, bool *op_failed)
{
    const pb_input *in = ctx;
    hold();
    win_store *s = new_store();
    release();
    base_arena arena;
    base_arena_init(&arena, 4096, 0);
    tr_request *req = NULL;
    char err[256] = "";
    base_err rc = tr_decode_protobuf(in->buf, in->len, &arena, &req, err, sizeof err);
    tr_result res;
    memset(&res, 0, sizeof res);
    if (rc == BASE_OK)
        rc = tr_ingest(s, req, in->buf, in->len, in->now, &arena, &res);
    disarm();
    win_stats st;
    win_store_stats(s, &st);
    if (rc != BASE_OK) {
        *op_failed = true;
        assert_int_equal(rc, BASE_ERR_NOMEM);
    } else if (res.profiles_rejected > 0) {
        *op_failed = true;
        assert_true(res.error_message[0] != '\0');
    } else {
        assert_int_equal(res.profiles_accepted, 8);
    }
    assert_int_equal(st.samples_stored, res.samples_stored);
    base_arena_free(&arena);
    win_store_free(s);
}

static void test_ingest_pb(void **state)
{
    (void)state;
    const char *dir = getenv("OTELPROFD_TESTDATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/otlp/mem.pb", dir ? dir : "../shared/testdata");
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (set OTELPROFD_TESTDATA)", path);
    pb_input in = {malloc(1 << 20), 0, (1700000000LL + 1800) * SEC};
    assert_non_null(in.buf);
    in.len = fread(in.buf, 1, 1 << 20, f);
    fclose(f);
    assert_true(in.len > 0 && in.len < (1 << 20));
    torture("tr_decode_protobuf+tr_ingest(mem.pb)", op_ingest_pb, &in);
    free(in.buf);
}

/* ---- JSON-RPC handler: tools/call ------------------------------------------------- */

typedef struct rpc_ctx {
    mcp_server *srv;
    mcp_session *session;
} rpc_ctx;

static const char CALL[] =
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
    "\"query_profile_table\",\"arguments\":{\"profile_type\":\"cpu:nanoseconds\","
    "\"selector\":\"{service.name=\\\"checkout\\\"}\"}}}";

/* the flame graph as a picture (tools/picture.c, render/): the same rules, and a success
 * carries the PNG */
static const char CALL_IMAGE[] =
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
    "\"query_profile_flamegraph\",\"arguments\":{\"profile_type\":\"cpu:nanoseconds\","
    "\"selector\":\"{service.name=\\\"checkout\\\"}\",\"format\":\"image\"}}}";

static void rpc_check(const char *call, size_t call_len, bool image, void *ctx, bool *op_failed);

static void op_rpc(void *ctx, bool *op_failed)
{
    rpc_check(CALL, sizeof CALL - 1, false, ctx, op_failed);
}

static void op_rpc_image(void *ctx, bool *op_failed)
{
    rpc_check(CALL_IMAGE, sizeof CALL_IMAGE - 1, true, ctx, op_failed);
    /* fontconfig keeps what it loads on first use where LeakSanitizer cannot see a pointer
     * to it; freed here so the leak check after each run sees only the product's memory
     * (and render_shutdown is shown to leave cairo usable again) */
    render_shutdown();
}

static void rpc_check(const char *call, size_t call_len, bool image, void *ctx, bool *op_failed)
{
    rpc_ctx *c = ctx;
    char *out = mcp_handle_message(c->srv, c->session, call, call_len, NULL);
    disarm();
    if (!out) {
        *op_failed = true; /* no answer at all: the transport answers 500 */
        return;
    }
    cJSON *resp = cJSON_Parse(out);
    if (getenv("TORTURE_VERBOSE"))
        fprintf(stderr, "allocation %llu failed: %s\n", (unsigned long long)fail_at_last, out);
    assert_non_null(resp); /* whatever came back is valid JSON-RPC */
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(resp, "id");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(resp, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(resp, "error");
    assert_true((result != NULL) != (error != NULL)); /* exactly one of them */
    if (error) {
        *op_failed = true;
        /* out of memory is an internal error, never blamed on the request */
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        assert_true(cJSON_IsNumber(code) && code->valueint == -32603);
        /* the id is echoed unless the message could not even be read */
        assert_true(cJSON_IsNull(id) || (cJSON_IsNumber(id) && id->valuedouble == 7));
    } else {
        assert_true(cJSON_IsNumber(id) && id->valuedouble == 7);
    }
    const cJSON *content = result ? cJSON_GetObjectItemCaseSensitive(result, "content") : NULL;
    const cJSON *first = cJSON_GetArrayItem(content, 0);
    const cJSON *text = first ? cJSON_GetObjectItemCaseSensitive(first, "text") : NULL;
    if (error) {
    } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "isError"))) {
        *op_failed = true;
        /* the only thing wrong was memory: an error that says anything else ("no data",
         * "selector is invalid", a hint to fix the filter) is a lie */
        assert_true(cJSON_IsString(text));
        if (!strstr(text->valuestring, "out of memory") || strstr(text->valuestring, "Fix:") ||
            strstr(text->valuestring, "Use an"))
            fail_msg("allocation %llu failed and the tool said: %s",
                     (unsigned long long)fail_at_last, text->valuestring);
    } else {
        /* a successful answer carries the right numbers, in its text too */
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(result, "structuredContent");
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(sc, "total");
        assert_true(cJSON_IsNumber(total));
        assert_true(total->valuedouble == (double)STORED_SUM);
        assert_true(cJSON_IsString(text));
        if (image) {
            const cJSON *img = cJSON_GetArrayItem(content, 1);
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(img, "type");
            const cJSON *data = cJSON_GetObjectItemCaseSensitive(img, "data");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "image") != 0 ||
                !cJSON_IsString(data) || strncmp(data->valuestring, "iVBORw0KGgo", 11) != 0)
                fail_msg("allocation %llu failed and the answer has no PNG",
                         (unsigned long long)fail_at_last);
        }
        if (!strstr(text->valuestring, "Total 18ms"))
            fail_msg("allocation %llu failed and the text says: \"%s\"",
                     (unsigned long long)fail_at_last, text->valuestring);
    }
    cJSON_Delete(resp);
    free(out);
}

static void test_rpc(void **state)
{
    (void)state;
    win_store *s = filled_store();
    tools_config tc = {.store = s, .version = "0.0.0"};
    tools *t = tools_new(&tc);
    assert_non_null(t);
    mcp_server_info info = {.name = "torture", .version = "0"};
    rpc_ctx c = {mcp_server_new(&info), NULL};
    assert_non_null(c.srv);
    assert_int_equal(tools_register(t, c.srv), 0);
    c.session = mcp_session_new(c.srv);
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
    free(mcp_handle_message(c.srv, c.session, init, sizeof init - 1, NULL));
    static const char inited[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    free(mcp_handle_message(c.srv, c.session, inited, sizeof inited - 1, NULL));
    torture("mcp_handle_message(tools/call)", op_rpc, &c);
    torture("mcp_handle_message(tools/call flamegraph format image)", op_rpc_image, &c);
    mcp_session_free(c.session);
    mcp_server_free(c.srv);
    tools_free(t);
    win_store_free(s);
}

int main(void)
{
    /* cJSON's hooks are the product's (base_hook_malloc, installed by translate/ and mcp/
     * before main); its malloc call is wrapped like every other of our libraries' */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_add), cmocka_unit_test(test_merge),
        cmocka_unit_test(test_export),    cmocka_unit_test(test_ingest),
        cmocka_unit_test(test_ingest_pb), cmocka_unit_test(test_rpc),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    render_shutdown(); /* cairo's and fontconfig's font caches, filled by the picture call */
    return rc;
}
