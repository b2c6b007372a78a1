/* Unit tests for tools/ at the edges of its arithmetic and of the data (issue 10):
 *   - totals near INT64_MAX: two series at 6e18 ns each saturate (as window/'s sums do)
 *     instead of wrapping to "Total -1790762.24hrs"; shares stay within 0..100;
 *   - times outside 1970..2262 are refused (a start near INT64_MIN overflowed "to - from");
 *     a range shorter than 60 ns no longer divides by a step of 0;
 *   - the time-series peak of an all-negative series is its largest-magnitude step, not a
 *     step without data;
 *   - a present profile type with no samples in the range/selector is an empty answer
 *     ("No samples in range", isError false) from every query tool, and an absent type an
 *     error whose list of present types comes from the same snapshot as the check.
 * Under UBSan (the sanitized build aborts on signed overflow) the old code failed here. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tools/tools_internal.h"

#define SEC 1000000000LL
#define T0  (1700000000LL * SEC)  /* 2023-11-14T22:13:20Z, a multiple of 10 s */
#define BIG 6000000000000000000LL /* 6e18 ns, ~190 years: two of them pass INT64_MAX */

static const win_frame_in FRAMES[] = {{"main", "main.go", 1, 0x1000, "app", "id", NULL, 0},
                                      {"work", "work.go", 2, 0x2000, "app", "id", NULL, 0}};
static const uint32_t S_MAIN[] = {0};
static const uint32_t S_WORK[] = {1, 0}; /* main -> work, leaf first */
static const win_stack_in STACKS[] = {{S_MAIN, 1}, {S_WORK, 2}};

typedef struct fixture {
    win_store *store;
    tools *t;
} fixture;

/* One sample of `type` for service `svc` at `time_ns`. */
static void add1(win_store *s, const char *type, const char *svc, uint32_t stack, int64_t value,
                 int64_t time_ns)
{
    win_attr res[] = {{"service.name", svc}};
    win_sample_in smp = {.stack = stack, .value = value, .time_ns = time_ns};
    win_batch b = {type, res, 1, FRAMES, 2, STACKS, 2, &smp, 1, NULL, false};
    char err[256];
    win_add_result r;
    assert_int_equal(win_store_add(s, &b, T0 + 25 * SEC, &r, err, sizeof err), 0);
    assert_int_equal(r.samples_stored, 1);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    win_config cfg;
    win_config_defaults(&cfg);
    f->store = win_store_new(&cfg);
    /* two services at 6e18 ns each: every total over both passes INT64_MAX */
    add1(f->store, "cpu:nanoseconds", "a", 1, BIG, T0);
    add1(f->store, "cpu:nanoseconds", "b", 1, BIG, T0);
    /* the same below zero */
    add1(f->store, "delta:nanoseconds", "a", 1, -BIG, T0);
    add1(f->store, "delta:nanoseconds", "b", 1, -BIG, T0);
    /* an all-negative series with a gap: -1s, (none), -3s, (none), -2s */
    add1(f->store, "neg:nanoseconds", "n", 1, -1 * SEC, T0);
    add1(f->store, "neg:nanoseconds", "n", 1, -3 * SEC, T0 + 20 * SEC);
    add1(f->store, "neg:nanoseconds", "n", 1, -2 * SEC, T0 + 40 * SEC);
    /* ordinary small data */
    add1(f->store, "samples:count", "s", 1, 5, T0);
    add1(f->store, "samples:count", "s", 0, 3, T0 + 10 * SEC);
    tools_config tc = {.store = f->store, .version = "t"};
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

static mcp_tool_result call(tools *t, const char *name, const char *json)
{
    cJSON *args = json ? cJSON_Parse(json) : NULL;
    if (json && !args)
        fail_msg("bad test JSON: %s", json);
    mcp_tool_result r;
    assert_int_equal(tools__call(t, name, args, &r), 0);
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

static const cJSON *arr(const cJSON *o, const char *key, int n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a))
        fail_msg("no array \"%s\"", key);
    if (n >= 0 && cJSON_GetArraySize(a) != n)
        fail_msg("\"%s\" has %d items, want %d", key, cJSON_GetArraySize(a), n);
    return a;
}

static mcp_tool_result ok_call(tools *t, const char *name, const char *json)
{
    mcp_tool_result r = call(t, name, json);
    if (r.is_error)
        fail_msg("%s %s: isError: %s", name, json, r.text);
    assert_non_null(r.structured);
    return r;
}

static void expect_error(tools *t, const char *name, const char *json, const char *needle)
{
    mcp_tool_result r = call(t, name, json);
    if (!r.is_error)
        fail_msg("%s %s: no isError; text: %s", name, json, r.text);
    if (!strstr(r.text, needle))
        fail_msg("%s %s: error text lacks \"%s\": %s", name, json, needle, r.text);
    release(&r);
}

static void has(const mcp_tool_result *r, const char *needle)
{
    if (!strstr(r->text, needle))
        fail_msg("text lacks \"%s\": %s", needle, r->text);
}

static void lacks(const mcp_tool_result *r, const char *needle)
{
    if (strstr(r->text, needle))
        fail_msg("text has \"%s\": %s", needle, r->text);
}

#define INT64_MAX_D 9223372036854775807.0

/* ---- saturating totals ------------------------------------------------------------------ */

static void test_totals_saturate(void **state)
{
    fixture *f = *state;
    /* list_label_values: was "Total -1790762.24hrs", shares -93.07% */
    mcp_tool_result r = ok_call(f->t, "list_label_values",
                                "{\"name\":\"service.name\",\"profile_type\":\"cpu:nanoseconds\"}");
    assert_true(num(r.structured, "total") == INT64_MAX_D);
    const cJSON *vals = arr(r.structured, "values", 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetArrayItem(vals, i);
        assert_true(num(v, "total") == (double)BIG);
        assert_true(num(v, "share_percent") == 50.0);
    }
    has(&r, "Total 2562047.79hrs (capped: the sum exceeds what int64 holds) over 2 values");
    has(&r, "  a,1666666.67hrs,50.00\n  b,1666666.67hrs,50.00\n");
    lacks(&r, "-");
    release(&r);
    /* the cut row: other_total is the sum of the rows left out, not capped - capped */
    r = ok_call(f->t, "list_label_values",
                "{\"name\":\"service.name\",\"profile_type\":\"cpu:nanoseconds\",\"limit\":1}");
    assert_true(num(r.structured, "other_total") == (double)BIG);
    has(&r, "  (other),1666666.67hrs,50.00\n");
    release(&r);
    /* below zero the cap is INT64_MIN; the shares of two equal negatives are still 50% */
    r = ok_call(f->t, "list_label_values",
                "{\"name\":\"service.name\",\"profile_type\":\"delta:nanoseconds\"}");
    assert_true(num(r.structured, "total") == -INT64_MAX_D - 1);
    vals = arr(r.structured, "values", 2);
    assert_true(num(cJSON_GetArrayItem(vals, 0), "share_percent") == 50.0);
    has(&r, "Total -2562047.79hrs (capped: the sum exceeds what int64 holds)");
    release(&r);

    /* the time series: group totals, the peak step and the overall total */
    r = ok_call(f->t, "query_profile_timeseries",
                "{\"profile_type\":\"cpu:nanoseconds\",\"group_by\":\"service.name\","
                "\"step\":\"10s\",\"start\":1700000000,\"end\":1700000010}");
    const cJSON *groups = arr(r.structured, "groups", 2);
    for (int i = 0; i < 2; i++)
        assert_true(num(cJSON_GetArrayItem(groups, i), "total") == (double)BIG);
    const cJSON *peak = cJSON_GetObjectItemCaseSensitive(r.structured, "peak");
    assert_true(num(peak, "value") == INT64_MAX_D);
    assert_int_equal((int)num(peak, "index"), 0);
    has(&r, "Total 2562047.79hrs (capped: the sum exceeds what int64 holds); peak step "
            "2023-11-14T22:13:20Z with 2562047.79hrs (100.0% of the total).");
    lacks(&r, ",-");
    release(&r);

    /* the merge (window/) saturates; the table says so and keeps shares in 0..100 */
    r = ok_call(f->t, "query_profile_table", "{\"profile_type\":\"cpu:nanoseconds\"}");
    assert_true(num(r.structured, "total") == INT64_MAX_D);
    const cJSON *rows = arr(r.structured, "rows", 2);
    for (int i = 0; i < 2; i++) {
        double fp = num(cJSON_GetArrayItem(rows, i), "flat_percent");
        double cp = num(cJSON_GetArrayItem(rows, i), "cum_percent");
        assert_true(fp >= 0 && fp <= 100 && cp >= 0 && cp <= 100);
    }
    has(&r, "Total 2562047.79hrs (capped: the sum exceeds what int64 holds) over 2 series");
    release(&r);

    /* the other tools that print a total */
    r = ok_call(f->t, "query_profile_flamegraph", "{\"profile_type\":\"cpu:nanoseconds\"}");
    has(&r, "(capped: ");
    release(&r);
    r = ok_call(f->t, "query_profile_sandwich",
                "{\"profile_type\":\"cpu:nanoseconds\",\"function\":\"work\"}");
    has(&r, "(capped: ");
    release(&r);
    r = ok_call(f->t, "query_profile_diff",
                "{\"profile_type\":\"cpu:nanoseconds\",\"baseline\":{\"selector\":"
                "\"{service.name=\\\"a\\\"}\"},\"comparison\":{\"selector\":"
                "\"{service.name=\\\"b\\\"}\"}}");
    assert_true(num(cJSON_GetObjectItemCaseSensitive(r.structured, "baseline"), "total") ==
                (double)BIG);
    release(&r);
    r = ok_call(f->t, "export_pprof", "{\"profile_type\":\"cpu:nanoseconds\"}");
    has(&r, "(capped: ");
    release(&r);
    r = ok_call(f->t, "get_status", NULL);
    lacks(&r, "cpu:nanoseconds,-");
    release(&r);

    char out[96];
    tools__human_total(out, sizeof out, INT64_MIN, "count");
    assert_string_equal(out, "-9223372036854775808 (capped: the sum exceeds what int64 holds)");
    tools__human_total(out, sizeof out, 42, "count");
    assert_string_equal(out, "42");
}

/* ---- times ---------------------------------------------------------------------------------- */

static void test_time_limits(void **state)
{
    fixture *f = *state;
    /* near INT64_MIN ns: accepted by query_parse_time before, then "to - from" overflowed */
    expect_error(f->t, "query_profile_timeseries",
                 "{\"profile_type\":\"cpu:nanoseconds\",\"start\":\"1677-09-21T00:12:44Z\"}",
                 "start: bad time \"1677-09-21T00:12:44Z\": before 1970-01-01T00:00:00Z");
    expect_error(f->t, "query_profile_table",
                 "{\"profile_type\":\"cpu:nanoseconds\",\"start\":\"1677-09-21T00:12:44Z\"}",
                 "before 1970");
    expect_error(f->t, "query_profile_diff",
                 "{\"profile_type\":\"cpu:nanoseconds\",\"baseline\":{\"start\":"
                 "\"1677-09-21T00:12:44Z\"}}",
                 "baseline.start: bad time");
    expect_error(f->t, "query_profile_table",
                 "{\"profile_type\":\"cpu:nanoseconds\",\"end\":\"2262-04-11T23:47:16Z\"}",
                 "not before 2262-01-01T00:00:00Z");
    expect_error(f->t, "query_profile_table",
                 "{\"profile_type\":\"cpu:nanoseconds\",\"end\":9222000000}", "not before 2262");

    /* the widest range accepted: no overflow, answers (step too small, or a default step) */
    expect_error(f->t, "query_profile_timeseries",
                 "{\"profile_type\":\"cpu:nanoseconds\",\"step\":\"10s\",\"start\":0,\"end\":"
                 "\"2261-12-31T23:59:59Z\"}",
                 "step too small");
    mcp_tool_result r = ok_call(f->t, "query_profile_timeseries",
                                "{\"profile_type\":\"samples:count\",\"start\":0,\"end\":"
                                "\"2261-12-31T23:59:59Z\"}");
    const cJSON *g = cJSON_GetArrayItem(arr(r.structured, "groups", 1), 0);
    assert_int_equal((int64_t)num(g, "total"), 8);
    release(&r);
    r = ok_call(f->t, "query_profile_diff",
                "{\"profile_type\":\"samples:count\",\"baseline\":{\"start\":0,\"end\":"
                "1700000010},\"comparison\":{\"start\":1700000010,\"end\":"
                "\"2261-12-31T23:59:59Z\"}}");
    assert_true(num(cJSON_GetObjectItemCaseSensitive(r.structured, "baseline"), "total") == 5);
    release(&r);
    /* a huge step over data */
    r = ok_call(f->t, "query_profile_timeseries",
                "{\"profile_type\":\"samples:count\",\"step\":\"99999d\"}");
    release(&r);

    /* a range shorter than 60 ns made the default step 0, then span / step divided by it */
    r = ok_call(f->t, "query_profile_timeseries",
                "{\"profile_type\":\"samples:count\",\"start\":\"2023-11-14T22:13:20Z\",\"end\":"
                "\"2023-11-14T22:13:20.000000001Z\"}");
    assert_true(num(r.structured, "step") == 10.0);
    release(&r);
    r = ok_call(f->t, "query_profile_timeseries",
                "{\"profile_type\":\"samples:count\",\"start\":\"2023-11-14T22:13:20Z\",\"end\":"
                "\"2023-11-14T22:13:20.000000059Z\"}");
    release(&r);
}

/* ---- the peak of a negative series -------------------------------------------------------- */

static void test_negative_peak(void **state)
{
    fixture *f = *state;
    /* steps: -1s, 0 (no data), -3s, 0 (no data), -2s; the search began at -1 and so named
     * a step without data ("peak ... with 0") or a value no step has */
    mcp_tool_result r = ok_call(f->t, "query_profile_timeseries",
                                "{\"profile_type\":\"neg:nanoseconds\",\"step\":\"10s\","
                                "\"start\":1700000000,\"end\":1700000050}");
    const cJSON *vals = arr(cJSON_GetArrayItem(arr(r.structured, "groups", 1), 0), "values", 5);
    assert_true(cJSON_GetArrayItem(vals, 1)->valuedouble == 0);
    const cJSON *peak = cJSON_GetObjectItemCaseSensitive(r.structured, "peak");
    assert_int_equal((int)num(peak, "index"), 2);
    assert_true(num(peak, "value") == -3.0 * SEC);
    has(&r, "Total -6s; peak step 2023-11-14T22:13:40Z with -3s (50.0% of the total).");
    release(&r);

    /* non-negative data: the largest step, as before */
    r = ok_call(f->t, "query_profile_timeseries",
                "{\"profile_type\":\"samples:count\",\"step\":\"10s\",\"start\":1700000000,"
                "\"end\":1700000030}");
    peak = cJSON_GetObjectItemCaseSensitive(r.structured, "peak");
    assert_int_equal((int)num(peak, "index"), 0);
    assert_true(num(peak, "value") == 5);
    has(&r, "peak step 2023-11-14T22:13:20Z with 5 (62.5% of the total)");
    release(&r);

    /* a range of steps without data: no peak at all */
    r = ok_call(f->t, "query_profile_timeseries",
                "{\"profile_type\":\"neg:nanoseconds\",\"step\":\"10s\",\"start\":1700000010,"
                "\"end\":1700000020}");
    assert_null(cJSON_GetObjectItemCaseSensitive(r.structured, "peak"));
    has(&r, "No samples in range");
    lacks(&r, "peak step");
    release(&r);
}

/* ---- empty answers and the "no data" error ----------------------------------------------- */

/* The type is present, nothing matches: every query tool answers (isError false) with
 * "No samples in range" and a structuredContent that has its schema's required fields. */
static void empty_everywhere(fixture *f, const char *common)
{
    char json[600];
    struct {
        const char *tool, *extra;
        const char *required[4];
    } cases[] = {
        {"query_profile_table", "", {"profile_type", "unit", "total", "rows"}},
        {"query_profile_flamegraph", "", {"profile_type", "total", "rows", NULL}},
        {"query_profile_sandwich",
         ",\"function\":\"work\"",
         {"function", "callers", "callees", NULL}},
        {"query_profile_timeseries", "", {"step", "groups", NULL, NULL}},
        {"export_pprof", "", {"profile_type", "bytes", "resource_uri", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(json, sizeof json, "{%s%s}", common, cases[i].extra);
        mcp_tool_result r = call(f->t, cases[i].tool, json);
        if (r.is_error)
            fail_msg("%s %s: isError: %s", cases[i].tool, json, r.text);
        if (!strstr(r.text, "No samples in range: no sample of samples:count matches"))
            fail_msg("%s %s: text: %s", cases[i].tool, json, r.text);
        assert_non_null(r.structured);
        for (int k = 0; k < 4 && cases[i].required[k]; k++)
            if (!cJSON_GetObjectItemCaseSensitive(r.structured, cases[i].required[k]))
                fail_msg("%s: structuredContent lacks \"%s\"", cases[i].tool, cases[i].required[k]);
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(r.structured, "total");
        if (total)
            assert_true(total->valuedouble == 0);
        assert_null(r.extra_content); /* export: nothing embedded */
        release(&r);
    }
}

static void test_empty_answers(void **state)
{
    fixture *f = *state;
    /* a range before the data */
    empty_everywhere(f, "\"profile_type\":\"samples:count\",\"start\":\"2023-11-14T20:00:00Z\","
                        "\"end\":\"2023-11-14T21:00:00Z\"");
    /* a selector that matches nothing, all retained data */
    empty_everywhere(f, "\"profile_type\":\"samples:count\",\"service_name\":\"nope\"");
    /* an open-ended range after the data */
    empty_everywhere(f, "\"profile_type\":\"samples:count\",\"start\":\"2023-11-14T23:00:00Z\"");

    mcp_tool_result r = ok_call(f->t, "query_profile_table",
                                "{\"profile_type\":\"samples:count\",\"start\":"
                                "\"2023-11-14T20:00:00Z\",\"end\":\"2023-11-14T21:00:00Z\"}");
    has(&r, "Top functions by flat, samples:count, {}, 2023-11-14T20:00:00Z..21:00:00Z (no "
            "samples in range)\nNo samples in range: no sample of samples:count matches {} in "
            "2023-11-14T20:00:00Z..21:00:00Z.");
    assert_int_equal(cJSON_GetArraySize(arr(r.structured, "rows", 0)), 0);
    release(&r);
    r = ok_call(f->t, "query_profile_table",
                "{\"profile_type\":\"samples:count\",\"service_name\":\"nope\"}");
    has(&r, "{service.name=\"nope\"}, (no samples in range)\nNo samples in range: no sample of "
            "samples:count matches {service.name=\"nope\"} in all retained data.");
    release(&r);
    r = ok_call(f->t, "export_pprof",
                "{\"profile_type\":\"samples:count\",\"service_name\":\"nope\"}");
    assert_true(num(r.structured, "bytes") == 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.structured, "url")));
    has(&r, "Nothing exported.");
    release(&r);

    /* the diff: one side empty is a note, both sides empty the same line as the others */
    r = ok_call(
        f->t, "query_profile_diff",
        "{\"profile_type\":\"samples:count\",\"baseline\":{\"end\":\"2023-11-14T21:00:00Z\"},"
        "\"comparison\":{\"selector\":\"{service.name=\\\"s\\\"}\"}}");
    has(&r, "Note: no samples in range for the baseline");
    release(&r);
    r = ok_call(
        f->t, "query_profile_diff",
        "{\"profile_type\":\"samples:count\",\"baseline\":{\"end\":\"2023-11-14T21:00:00Z\"},"
        "\"comparison\":{\"start\":\"2023-11-14T23:00:00Z\"}}");
    has(&r, "No samples in range: neither side has a sample of samples:count.");
    arr(r.structured, "rows", 0);
    release(&r);
    /* the time series of one function that is nowhere */
    r = ok_call(f->t, "query_profile_timeseries",
                "{\"profile_type\":\"samples:count\",\"function\":\"nowhere\"}");
    has(&r, "No samples in range contain nowhere");
    release(&r);

    /* a type the store does not hold: an error listing what is there, consistently */
    mcp_tool_result e =
        call(f->t, "query_profile_flamegraph", "{\"profile_type\":\"wall:seconds\"}");
    assert_true(e.is_error);
    has(&e, "profile_type \"wall:seconds\" has no data: no series of it is retained (misspelled, "
            "not sent yet, or expired). Profile types present: ");
    has(&e, "samples:count");
    const char *list = strstr(e.text, "present: ");
    assert_non_null(list);
    assert_null(strstr(list, "wall:seconds"));
    release(&e);
}

/* An empty store: the listing and the error say so without a second look at the store. */
static void test_empty_store(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *s = win_store_new(&cfg);
    tools_config tc = {.store = s, .version = "t"};
    tools *t = tools_new(&tc);
    mcp_tool_result r = ok_call(t, "list_profile_types", NULL);
    has(&r, "No profiles in the store yet");
    arr(r.structured, "profile_types", 0);
    release(&r);
    expect_error(t, "query_profile_table", "{\"profile_type\":\"cpu:nanoseconds\"}",
                 "Profile types present: none yet: the store is empty");
    tools_free(t);
    win_store_free(s);
}

/* ---- one snapshot for the check and the list ------------------------------------------- */

#define N_RACE 60 /* under the 64 types the error lists */

typedef struct race {
    win_store *store;
    tools *t;
} race;

static void *race_writer(void *arg)
{
    race *rc = arg;
    for (int i = 0; i < N_RACE; i++) {
        char type[32], err[256];
        snprintf(type, sizeof type, "t%02d:count", i);
        /* no cmocka assertions off the test's thread */
        win_attr res[] = {{"service.name", "r"}};
        win_sample_in smp = {.stack = 0, .value = 1, .time_ns = T0};
        win_batch b = {type, res, 1, FRAMES, 2, STACKS, 2, &smp, 1, NULL, false};
        win_add_result ar;
        if (win_store_add(rc->store, &b, T0 + 25 * SEC, &ar, err, sizeof err) != 0)
            abort();
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Data arrives while a query checks its type: an error must never list the type it says
 * has no data (the flaky CI run: "cpu:nanoseconds has no data. Profile types present: ...,
 * cpu:nanoseconds"). */
static void test_no_data_snapshot(void **state)
{
    (void)state;
    win_config cfg;
    win_config_defaults(&cfg);
    race rc = {.store = win_store_new(&cfg)};
    tools_config tc = {.store = rc.store, .version = "t"};
    rc.t = tools_new(&tc);
    pthread_t w;
    assert_int_equal(pthread_create(&w, NULL, race_writer, &rc), 0);
    for (int i = 0; i < N_RACE; i++) {
        char type[32], json[96];
        snprintf(type, sizeof type, "t%02d:count", i);
        snprintf(json, sizeof json, "{\"profile_type\":\"%s\"}", type);
        for (;;) {
            mcp_tool_result r = call(rc.t, "query_profile_table", json);
            bool err = r.is_error;
            if (err) {
                const char *list = strstr(r.text, "Profile types present: ");
                assert_non_null(list);
                if (strstr(list, type))
                    fail_msg("contradiction: %s", r.text);
            }
            release(&r);
            if (!err)
                break;
        }
    }
    pthread_join(w, NULL);
    tools_free(rc.t);
    win_store_free(rc.store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_totals_saturate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negative_peak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_answers, setup, teardown),
        cmocka_unit_test(test_empty_store),
        cmocka_unit_test(test_no_data_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
