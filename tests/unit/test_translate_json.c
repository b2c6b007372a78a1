/* OTLP/JSON decoding (translate/json.c): key spellings, 64-bit integers, ids, AnyValue
 * oneof, error paths and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_translate_recorder.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue Any;

static base_arena A;

static int setup(void **state)
{
    (void)state;
    base_arena_init(&A, 0, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    base_arena_free(&A);
    return 0;
}

static tr_request *decode_ok(const char *json)
{
    tr_request *req = NULL;
    char err[512] = "";
    base_err rc = tr_decode_json(json, strlen(json), &A, &req, err, sizeof err);
    if (rc)
        fail_msg("decode failed: %s", err);
    assert_non_null(req);
    return req;
}

static void decode_err(const char *json, const char *want)
{
    tr_request *req = (tr_request *)1;
    char err[512] = "";
    assert_int_equal(tr_decode_json(json, strlen(json), &A, &req, err, sizeof err),
                     BASE_ERR_DECODE);
    assert_null(req);
    assert_string_equal(err, want);
}

#define REQ_HEAD                                                                                   \
    "{\"resourceProfiles\":[{\"scopeProfiles\":[{\"profiles\":[{\"sampleType\":{"                  \
    "\"typeStrindex\":1,\"unitStrindex\":2},"
#define REQ_TAIL                                                                                   \
    "}]}]}],\"dictionary\":{\"stringTable\":[\"\",\"cpu\",\"nanoseconds\",\"main\"],"              \
    "\"functionTable\":[{},{\"nameStrindex\":3}],"                                                 \
    "\"locationTable\":[{},{\"lines\":[{\"functionIndex\":1,\"line\":\"12\"}]}],"                  \
    "\"stackTable\":[{},{\"locationIndices\":[1]}],"                                               \
    "\"linkTable\":[{},{\"traceId\":\"0102030405060708090a0b0c0d0e0fAB\","                         \
    "\"spanId\":\"1112131415161718\"}]}}"

static void test_int64_as_string_and_number(void **state)
{
    (void)state;
    /* 19-digit numbers do not fit a double: they must still arrive exactly */
    tr_request *req =
        decode_ok(REQ_HEAD "\"timeUnixNano\":1700000000000000001,\"samples\":["
                           "{\"stackIndex\":1,\"values\":[\"9223372036854775807\",-5],"
                           "\"timestampsUnixNano\":[\"1700000000000000003\",1700000000000000005]},"
                           "{\"stack_index\":1,\"values\":[7],\"link_index\":1}]" REQ_TAIL);
    const Opentelemetry__Proto__Profiles__V1development__Profile *p =
        req->resource_profiles[0]->scope_profiles[0]->profiles[0];
    assert_int_equal(p->time_unix_nano, 1700000000000000001ull);
    assert_int_equal(p->n_samples, 2);
    assert_int_equal(p->samples[0]->n_values, 2);
    assert_true(p->samples[0]->values[0] == INT64_MAX);
    assert_int_equal(p->samples[0]->values[1], -5);
    assert_int_equal(p->samples[0]->timestamps_unix_nano[0], 1700000000000000003ull);
    assert_int_equal(p->samples[0]->timestamps_unix_nano[1], 1700000000000000005ull);
    assert_int_equal(p->samples[1]->link_index, 1); /* snake_case accepted */
    assert_int_equal(req->dictionary->location_table[1]->lines[0]->line, 12);
    const ProtobufCBinaryData *t = &req->dictionary->link_table[1]->trace_id;
    assert_int_equal(t->len, 16);
    assert_int_equal(t->data[0], 1);
    assert_int_equal(t->data[15], 0xab);
    assert_int_equal(req->dictionary->link_table[1]->span_id.len, 8);

    /* and it ingests: values at timestamps, values-only at time_unix_nano, link kept */
    recorder r = {0};
    tr_result res;
    assert_int_equal(tr__ingest_with_sink(req, NULL, 0, 0, &A, rec_sink, &r, &res), BASE_OK);
    assert_string_equal(res.error_message, "");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.b[0].n, 3);
    assert_string_equal(r.b[0].obs[0].stack, "main(:12)");
    assert_int_equal(r.b[0].obs[1].time_ns, 1700000000000000005);
    assert_int_equal(r.b[0].obs[2].value, 7);
    assert_int_equal(r.b[0].obs[2].time_ns, 1700000000000000001);
    assert_int_equal(r.b[0].obs[2].has_link, 1);
    rec_free(&r);
}

static void test_any_value_oneof(void **state)
{
    (void)state;
    tr_request *req =
        decode_ok("{\"resourceProfiles\":[{\"resource\":{\"attributes\":["
                  "{\"key\":\"s\",\"value\":{\"stringValue\":\"x\"}},"
                  "{\"key\":\"b\",\"value\":{\"boolValue\":true}},"
                  "{\"key\":\"i\",\"value\":{\"intValue\":\"-9223372036854775808\"}},"
                  "{\"key\":\"d\",\"value\":{\"doubleValue\":2.5}},"
                  "{\"key\":\"a\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":1}]}}},"
                  "{\"key\":\"k\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"z\"}]}}},"
                  "{\"key\":\"y\",\"value\":{\"bytesValue\":\"AQID\"}},"
                  "{\"keyStrindex\":3,\"value\":{\"stringValueStrindex\":2}},"
                  "{\"key\":\"u\",\"unknownField\":[1,{\"x\":null}],\"value\":{}}]}}]}");
    Opentelemetry__Proto__Resource__V1__Resource *r = req->resource_profiles[0]->resource;
    assert_int_equal(r->n_attributes, 9);
    const struct {
        int value_case;
    } want[] = {{OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE},
                {OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE},
                {OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE},
                {OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE},
                {OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE},
                {OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE},
                {OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE},
                {OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX},
                {OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET}};
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(r->attributes[i]->value->value_case, want[i].value_case);
    assert_string_equal(r->attributes[0]->value->string_value, "x");
    assert_true(r->attributes[1]->value->bool_value);
    assert_true(r->attributes[2]->value->int_value == INT64_MIN);
    assert_true(r->attributes[3]->value->double_value == 2.5);
    assert_int_equal(r->attributes[4]->value->array_value->values[0]->int_value, 1);
    assert_string_equal(r->attributes[5]->value->kvlist_value->values[0]->key, "z");
    assert_int_equal(r->attributes[6]->value->bytes_value.len, 3);
    assert_int_equal(r->attributes[6]->value->bytes_value.data[2], 3);
    assert_int_equal(r->attributes[7]->key_strindex, 3);
    assert_int_equal(r->attributes[7]->value->string_value_strindex, 2);
}

static void test_error_paths(void **state)
{
    (void)state;
    decode_err(REQ_HEAD "\"samples\":[{},{},{},{\"timestampsUnixNano\":[\"12x\"]}]" REQ_TAIL,
               "resourceProfiles[0].scopeProfiles[0].profiles[0].samples[3]."
               "timestampsUnixNano[0]: expected an unsigned integer");
    decode_err(REQ_HEAD "\"samples\":[{\"values\":[1.5]}]" REQ_TAIL,
               "resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0].values[0]: "
               "expected an integer");
    decode_err(REQ_HEAD "\"samples\":[{\"stackIndex\":\"2147483648\"}]" REQ_TAIL,
               "resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0].stackIndex: "
               "integer out of range for int32");
    decode_err(REQ_HEAD "\"samples\":{}" REQ_TAIL,
               "resourceProfiles[0].scopeProfiles[0].profiles[0].samples: expected an array");
    decode_err("{\"dictionary\":{\"linkTable\":[{},{\"traceId\":\"zz\"}]}}",
               "dictionary.linkTable[1].traceId: expected hex digits");
    decode_err("{\"dictionary\":{\"stringTable\":[\"a\",3]}}",
               "dictionary.stringTable[1]: expected a string");
    decode_err("{\"resourceProfiles\":[7]}", "resourceProfiles[0]: expected an object");
    decode_err("[]", "request: expected an object");
    decode_err("{\"resourceProfiles\":[{]}",
               "request does not decode as ExportProfilesServiceRequest (JSON): syntax error near "
               "byte 23");
    decode_err("{} x", "request does not decode as ExportProfilesServiceRequest (JSON): "
                       "unexpected data after the JSON value");
    /* the syntax error offset is the sender's even when long integers were rewritten */
    decode_err("{\"a\":12345678901234567890,]",
               "request does not decode as ExportProfilesServiceRequest (JSON): syntax error near "
               "byte 26");
}

static void test_depth_cap(void **state)
{
    (void)state;
    size_t depth = 200, cap = depth * 40 + 200, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    n += (size_t)sprintf(buf + n, "{\"resourceProfiles\":[{\"resource\":{\"attributes\":[{"
                                  "\"key\":\"k\",\"value\":");
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(buf + n, "{\"arrayValue\":{\"values\":[");
    n += (size_t)sprintf(buf + n, "{}");
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(buf + n, "]}}");
    n += (size_t)sprintf(buf + n, "}]}}]}");
    tr_request *req = NULL;
    char err[512] = "";
    assert_int_equal(tr_decode_json(buf, n, &A, &req, err, sizeof err), BASE_ERR_DECODE);
    assert_non_null(strstr(err, "...: objects nested too deeply"));
    assert_true(strncmp(err, "resourceProfiles[0].resource.attributes[0].value.arrayValue", 59) ==
                0);
    free(buf);
}

/* Past cJSON's own nesting limit the parse fails; the message must say why rather than
 * call it a syntax error. */
static void test_cjson_nesting_limit(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *buf = malloc(2 * depth + 2);
    assert_non_null(buf);
    memset(buf, '[', depth);
    memset(buf + depth, ']', depth);
    tr_request *req = NULL;
    char err[512] = "";
    assert_int_equal(tr_decode_json(buf, 2 * depth, &A, &req, err, sizeof err), BASE_ERR_DECODE);
    assert_non_null(strstr(err, "arrays/objects nested deeper than 1000"));
    /* a plain syntax error stays one, even with brackets inside strings */
    const char *bad = "{\"resourceProfiles\":[{\"schemaUrl\":\"[[[[\"},]}";
    assert_int_equal(tr_decode_json(bad, strlen(bad), &A, &req, err, sizeof err), BASE_ERR_DECODE);
    assert_non_null(strstr(err, "syntax error near byte"));
    free(buf);
}

static void test_empty_and_unknown(void **state)
{
    (void)state;
    tr_request *req = decode_ok("{}");
    assert_int_equal(req->n_resource_profiles, 0);
    assert_null(req->dictionary);
    req = decode_ok("{\"whatever\":{\"deep\":[1,2,{\"x\":\"y\"}]},\"resourceProfiles\":null}");
    assert_int_equal(req->n_resource_profiles, 0);
    tr_request *out = NULL;
    char err[256];
    assert_int_equal(tr_decode_json("", 0, &A, &out, err, sizeof err), BASE_ERR_DECODE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_int64_as_string_and_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_value_oneof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cjson_nesting_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_unknown, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
