/* Concurrent ingest + query, the test the ThreadSanitizer stage of scripts/test.sh runs.
 *
 * Ingest threads decode testdata/otlp/cpu.pb (one of them cpu.json, the same profiles) and
 * hand it to tr_ingest, some with the services as they are (every thread adds to the same
 * series and buckets) and some renamed per request (new series); query threads meanwhile call every
 * query tool in process (status, listings, table, flame graph, sandwich, diff, timeseries, pprof
 * export) and read the store's stats. Two rounds:
 *   - a roomy store: afterwards the totals are exact (N x what one ingest gives);
 *   - a 1 MiB store with every request in a bucket of its own: buckets are evicted while
 *     queries run; the accounted memory stays under the limit, the ingest counters are exact
 *     and the newest request is answered whole.
 * Under TSan any data race fails the run (halt_on_error); without it this is a smoke test
 * whose exact totals still catch lost updates. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "tools/tools_internal.h"
#include "translate/translate.h"

#define SEC       1000000000LL
#define T0        (1700000000LL * SEC) /* every time in the testdata is in [T0, T0 + 1 h) */
#define NOW       (T0 + 3600 * SEC)
#define INGESTERS 3
#define QUERIERS  2
#define ITERS     8

static uint8_t *pb, *json; /* cpu.pb and cpu.json: the same profiles */
static size_t pb_len, json_len;

static uint8_t *read_testdata(const char *name, size_t *len)
{
    const char *td = getenv("OTELPROFD_TESTDATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/otlp/%s", td && *td ? td : "../shared/testdata", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (set OTELPROFD_TESTDATA)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_true(n > 0);
    uint8_t *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void load_testdata(void)
{
    if (!pb)
        pb = read_testdata("cpu.pb", &pb_len);
    if (!json)
        json = read_testdata("cpu.json", &json_len);
}

typedef struct round {
    win_store *store;
    tools *t;
    bool rename;        /* every ingest gets services of its own */
    bool own_bucket;    /* every request lands in its own time bucket */
    const char *hot_fn; /* for sandwich */
    atomic_bool stop;
    _Atomic uint64_t samples_stored, profiles_rejected, ingest_failures;
    _Atomic uint64_t queries, query_errors, over_limit;
    char first_error[512];
    pthread_mutex_t mu;
} round_t;

typedef struct ingester {
    round_t *r;
    int id;
} ingester;

/* Renames service.name (flate, json) to "<prefix>-flate" ... and, when `at` is not 0, puts
 * every profile at that time: the decoded request is ours to edit, it lives in our arena. */
static void edit_request(tr_request *req, const char *prefix, int64_t at, base_arena *arena)
{
    int renamed = 0;
    for (size_t i = 0; i < req->n_resource_profiles; i++) {
        Opentelemetry__Proto__Profiles__V1development__ResourceProfiles *rp =
            req->resource_profiles[i];
        for (size_t a = 0; prefix && rp->resource && a < rp->resource->n_attributes; a++) {
            Opentelemetry__Proto__Common__V1__KeyValue *kv = rp->resource->attributes[a];
            if (strcmp(kv->key, "service.name") == 0 && kv->value &&
                kv->value->value_case ==
                    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE) {
                kv->value->string_value =
                    base_arena_printf(arena, "%s-%s", prefix, kv->value->string_value);
                assert_non_null(kv->value->string_value);
                renamed++;
            }
        }
        for (size_t s = 0; s < rp->n_scope_profiles; s++)
            for (size_t p = 0; at && p < rp->scope_profiles[s]->n_profiles; p++)
                rp->scope_profiles[s]->profiles[p]->time_unix_nano = (uint64_t)at;
    }
    if (prefix)
        assert_int_equal(renamed, 2);
}

/* Decodes cpu.pb (or cpu.json: the JSON decoder runs concurrently too), edits it and
 * ingests it; returns the result. */
static tr_result ingest_once(win_store *store, base_arena *arena, bool use_json, const char *prefix,
                             int64_t at)
{
    base_arena_reset(arena);
    tr_request *req = NULL;
    char err[512] = "";
    base_err rc = use_json
                      ? tr_decode_json((const char *)json, json_len, arena, &req, err, sizeof err)
                      : tr_decode_protobuf(pb, pb_len, arena, &req, err, sizeof err);
    if (rc != BASE_OK)
        fail_msg("decode: %s", err);
    edit_request(req, prefix, at, arena);
    tr_result res;
    assert_int_equal(tr_ingest(store, req, NULL, 0, NOW, arena, &res), BASE_OK);
    return res;
}

static void *ingest_main(void *arg)
{
    ingester *in = arg;
    round_t *r = in->r;
    base_arena arena;
    base_arena_init(&arena, (size_t)1 << 20, 0);
    for (int it = 0; it < ITERS; it++) {
        char prefix[64];
        bool rename = r->rename || in->id == INGESTERS - 1;
        snprintf(prefix, sizeof prefix, "t%d-i%d", in->id, it);
        /* own buckets: later requests later in time, so eviction has an order to follow */
        int64_t at = r->own_bucket ? T0 + 1800 * SEC + (it * INGESTERS + in->id) * 10 * SEC : 0;
        tr_result res = ingest_once(r->store, &arena, in->id == 1, rename ? prefix : NULL, at);
        atomic_fetch_add(&r->samples_stored, res.samples_stored);
        atomic_fetch_add(&r->profiles_rejected, res.profiles_rejected);
    }
    base_arena_free(&arena);
    return NULL;
}

static void note_error(round_t *r, const char *what, const char *text)
{
    atomic_fetch_add(&r->query_errors, 1);
    pthread_mutex_lock(&r->mu);
    if (!r->first_error[0])
        snprintf(r->first_error, sizeof r->first_error, "%s: %.400s", what, text ? text : "");
    pthread_mutex_unlock(&r->mu);
}

static void *query_main(void *arg)
{
    round_t *r = arg;
    char calls[10][2][512];
    const char *range = "\"start\":1699999990,\"end\":1700007200";
    const char *type = "\"profile_type\":\"cpu:nanoseconds\"";
    int n = 0;
#define CALL(name, ...)                                                                            \
    do {                                                                                           \
        snprintf(calls[n][0], sizeof calls[n][0], "%s", name);                                     \
        snprintf(calls[n][1], sizeof calls[n][1], __VA_ARGS__);                                    \
        n++;                                                                                       \
    } while (0)
    CALL("get_status", "{}");
    CALL("list_profile_types", "{%s}", range);
    CALL("list_label_values", "{%s,\"name\":\"service.name\"}", range);
    CALL("list_labels", "{%s,%s}", range, type);
    CALL("query_profile_table", "{%s,%s,\"limit\":20}", range, type);
    CALL("query_profile_flamegraph", "{%s,%s,\"max_nodes\":200}", range, type);
    CALL("query_profile_sandwich", "{%s,%s,\"function\":\"%s\"}", range, type, r->hot_fn);
    CALL("query_profile_timeseries", "{%s,%s,\"group_by\":\"service.name\"}", range, type);
    CALL("export_pprof", "{%s,%s}", range, type);
    CALL("query_profile_diff",
         "{%s,%s,\"baseline\":{\"selector\":\"{service.name=\\\"flate\\\"}\"},"
         "\"comparison\":{\"selector\":\"{service.name=\\\"json\\\"}\"}}",
         range, type);
#undef CALL
    for (int k = 0; !atomic_load(&r->stop); k++) {
        const char *name = calls[k % n][0], *args = calls[k % n][1];
        bool is_error = false;
        char err[256] = "";
        char *text = tools_call_text(r->t, name, args, &is_error, err, sizeof err);
        atomic_fetch_add(&r->queries, 1);
        /* an empty store (the first moments) answers "no data" as an error: fine */
        if (!text)
            note_error(r, name, err);
        else if (is_error && !strstr(text, "no data") && !strstr(text, "No data") &&
                 !strstr(text, "not found"))
            note_error(r, name, text);
        free(text);
        win_stats ws;
        win_store_stats(r->store, &ws);
        if (ws.memory_used > ws.memory_limit)
            atomic_fetch_add(&r->over_limit, 1);
    }
    return NULL;
}

static void run_round(round_t *r)
{
    pthread_t ti[INGESTERS], tq[QUERIERS];
    ingester in[INGESTERS];
    pthread_mutex_init(&r->mu, NULL);
    for (int q = 0; q < QUERIERS; q++)
        assert_int_equal(pthread_create(&tq[q], NULL, query_main, r), 0);
    for (int i = 0; i < INGESTERS; i++) {
        in[i] = (ingester){r, i};
        assert_int_equal(pthread_create(&ti[i], NULL, ingest_main, &in[i]), 0);
    }
    for (int i = 0; i < INGESTERS; i++)
        pthread_join(ti[i], NULL);
    atomic_store(&r->stop, true);
    for (int q = 0; q < QUERIERS; q++)
        pthread_join(tq[q], NULL);
    pthread_mutex_destroy(&r->mu);
    win_stats ws;
    win_store_stats(r->store, &ws);
    print_message("%d requests ingested, %llu tool calls, %llu buckets evicted\n",
                  INGESTERS * ITERS, (unsigned long long)atomic_load(&r->queries),
                  (unsigned long long)ws.evicted_buckets);
}

/* total of cpu:nanoseconds for one service over the whole data, through the table tool */
static int64_t total_of(tools *t, const char *service)
{
    char args[512];
    snprintf(args, sizeof args,
             "{\"profile_type\":\"cpu:nanoseconds\",\"service_name\":\"%s\","
             "\"start\":1699999990,\"end\":1700007200,\"limit\":1}",
             service);
    cJSON *a = cJSON_Parse(args);
    assert_non_null(a);
    mcp_tool_result out = {0};
    assert_int_equal(tools__call(t, "query_profile_table", a, &out), 0);
    cJSON_Delete(a);
    int64_t total = -1;
    if (!out.is_error && out.structured) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(out.structured, "total");
        if (cJSON_IsNumber(v))
            total = (int64_t)v->valuedouble;
    }
    free(out.text);
    cJSON_Delete(out.structured);
    cJSON_Delete(out.extra_content);
    return total;
}

/* What one ingest of cpu.pb gives, from a store of its own. */
typedef struct reference {
    uint64_t samples_stored;
    int64_t flate, json;
    char hot_fn[256];
} reference;

static reference ref;

static void make_reference(void)
{
    load_testdata();
    win_config wc;
    win_config_defaults(&wc);
    win_store *store = win_store_new(&wc);
    assert_non_null(store);
    tools_config tc = {.store = store, .version = "test"};
    tools *t = tools_new(&tc);
    assert_non_null(t);
    base_arena arena;
    base_arena_init(&arena, (size_t)1 << 20, 0);
    tr_result res = ingest_once(store, &arena, false, NULL, 0);
    base_arena_free(&arena);
    assert_int_equal(res.profiles_rejected, 0);
    assert_true(res.samples_stored > 0);
    ref.samples_stored = res.samples_stored;
    ref.flate = total_of(t, "flate");
    ref.json = total_of(t, "json");
    assert_true(ref.flate > 0);
    assert_true(ref.json > 0);

    /* the hottest function of flate, for the sandwich calls */
    cJSON *a = cJSON_Parse("{\"profile_type\":\"cpu:nanoseconds\",\"service_name\":\"flate\","
                           "\"start\":1699999990,\"end\":1700007200,\"limit\":1}");
    mcp_tool_result out = {0};
    assert_int_equal(tools__call(t, "query_profile_table", a, &out), 0);
    cJSON_Delete(a);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(out.structured, "rows");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, 0), "function");
    assert_true(cJSON_IsString(fn));
    snprintf(ref.hot_fn, sizeof ref.hot_fn, "%s", fn->valuestring);
    free(out.text);
    cJSON_Delete(out.structured);
    cJSON_Delete(out.extra_content);
    tools_free(t);
    win_store_free(store);
}

static void test_roomy_store_exact_totals(void **state)
{
    (void)state;
    make_reference();
    win_config wc;
    win_config_defaults(&wc);
    round_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->store = win_store_new(&wc);
    assert_non_null(r->store);
    tools_config tc = {.store = r->store, .version = "test"};
    r->t = tools_new(&tc);
    r->hot_fn = ref.hot_fn;
    run_round(r);

    if (atomic_load(&r->query_errors))
        fail_msg("%llu query errors, first: %s", (unsigned long long)atomic_load(&r->query_errors),
                 r->first_error);
    assert_true(atomic_load(&r->queries) > 0);
    assert_int_equal(atomic_load(&r->profiles_rejected), 0);
    assert_int_equal(atomic_load(&r->samples_stored),
                     ref.samples_stored * (uint64_t)(INGESTERS * ITERS));
    /* ingesters 0 .. n-2 all added to flate/json; the last one renamed every request */
    assert_int_equal(total_of(r->t, "flate"), ref.flate * (INGESTERS - 1) * ITERS);
    assert_int_equal(total_of(r->t, "json"), ref.json * (INGESTERS - 1) * ITERS);
    char name[64];
    for (int it = 0; it < ITERS; it++) {
        snprintf(name, sizeof name, "t%d-i%d-flate", INGESTERS - 1, it);
        assert_int_equal(total_of(r->t, name), ref.flate);
    }
    win_stats ws;
    win_store_stats(r->store, &ws);
    assert_int_equal(ws.evicted_buckets, 0);
    assert_int_equal(ws.series, 2 * 2 + 2 * 2 * ITERS); /* 2 types x 2 services, renamed too */
    tools_free(r->t);
    win_store_free(r->store);
    free(r);
}

static void test_evicting_store(void **state)
{
    (void)state;
    make_reference();
    win_config wc;
    win_config_defaults(&wc);
    wc.memory_limit = (uint64_t)1 << 20;
    round_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->store = win_store_new(&wc);
    assert_non_null(r->store);
    tools_config tc = {.store = r->store, .version = "test"};
    r->t = tools_new(&tc);
    r->rename = true;
    r->own_bucket = true;
    r->hot_fn = ref.hot_fn;
    run_round(r);

    if (atomic_load(&r->query_errors))
        fail_msg("%llu query errors, first: %s", (unsigned long long)atomic_load(&r->query_errors),
                 r->first_error);
    assert_true(atomic_load(&r->queries) > 0);
    assert_int_equal(atomic_load(&r->over_limit), 0);
    assert_int_equal(atomic_load(&r->samples_stored),
                     ref.samples_stored * (uint64_t)(INGESTERS * ITERS));
    win_stats ws;
    win_store_stats(r->store, &ws);
    assert_true(ws.evicted_buckets > 0);
    assert_true(ws.memory_used <= ws.memory_limit);
    /* the newest request (last iteration of the last ingester: the latest bucket) is whole,
     * the oldest is gone */
    char name[64];
    snprintf(name, sizeof name, "t%d-i%d-flate", INGESTERS - 1, ITERS - 1);
    assert_int_equal(total_of(r->t, name), ref.flate);
    assert_true(total_of(r->t, "t0-i0-flate") <= 0);
    tools_free(r->t);
    win_store_free(r->store);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roomy_store_exact_totals),
        cmocka_unit_test(test_evicting_store),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(pb);
    free(json);
    return rc;
}
