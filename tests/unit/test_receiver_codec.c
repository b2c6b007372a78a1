/* Unit tests for receiver/codec.c: header parsing, bounded gunzip (incl. a gzip bomb),
 * response and status encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <zlib.h>

#include "receiver/receiver_internal.h"

/* ---- helpers ------------------------------------------------------------------- */

typedef struct bytes {
    uint8_t *data;
    size_t len, cap;
} bytes;

static void bytes_put(bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap < b->len + n)
            ncap *= 2;
        b->data = realloc(b->data, ncap);
        assert_non_null(b->data);
        b->cap = ncap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* gzip of `repeat` copies of `chunk`, streamed so a large output costs little memory. */
static bytes gzip_repeat(const uint8_t *chunk, size_t chunk_len, size_t repeat)
{
    bytes out = {0};
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t buf[65536];
    for (size_t i = 0; i <= repeat; i++) {
        int flush = i == repeat ? Z_FINISH : Z_NO_FLUSH;
        zs.next_in = (Bytef *)(uintptr_t)chunk;
        zs.avail_in = i == repeat ? 0 : (uInt)chunk_len;
        int r;
        do {
            zs.next_out = buf;
            zs.avail_out = sizeof buf;
            r = deflate(&zs, flush);
            assert_true(r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR);
            bytes_put(&out, buf, sizeof buf - zs.avail_out);
        } while (zs.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
    }
    deflateEnd(&zs);
    return out;
}

static bytes gzip_of(const void *data, size_t len)
{
    return gzip_repeat(data, len, 1);
}

static uint8_t *pattern(size_t len)
{
    uint8_t *p = malloc(len);
    assert_non_null(p);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)((x >> 16) % 17); /* compressible, but not trivially */
    }
    return p;
}

/* ---- headers -------------------------------------------------------------------- */

static void test_content_type(void **state)
{
    (void)state;
    assert_int_equal(otlp__parse_content_type(NULL), OTLP__CT_NONE);
    assert_int_equal(otlp__parse_content_type(""), OTLP__CT_NONE);
    assert_int_equal(otlp__parse_content_type("  ; charset=utf-8"), OTLP__CT_NONE);
    assert_int_equal(otlp__parse_content_type("application/x-protobuf"), OTLP__CT_PROTOBUF);
    assert_int_equal(otlp__parse_content_type("Application/X-Protobuf"), OTLP__CT_PROTOBUF);
    assert_int_equal(otlp__parse_content_type("application/json"), OTLP__CT_JSON);
    assert_int_equal(otlp__parse_content_type("application/json; charset=utf-8"), OTLP__CT_JSON);
    assert_int_equal(otlp__parse_content_type(" APPLICATION/JSON ;charset=UTF-8"), OTLP__CT_JSON);
    assert_int_equal(otlp__parse_content_type("application/jsonx"), OTLP__CT_OTHER);
    assert_int_equal(otlp__parse_content_type("application/x-protobuf2"), OTLP__CT_OTHER);
    assert_int_equal(otlp__parse_content_type("text/plain"), OTLP__CT_OTHER);
    assert_int_equal(otlp__parse_content_type("application/protobuf"), OTLP__CT_OTHER);
    char longtype[300];
    memset(longtype, 'a', sizeof longtype - 1);
    longtype[sizeof longtype - 1] = '\0';
    assert_int_equal(otlp__parse_content_type(longtype), OTLP__CT_OTHER);
}

static void test_content_encoding(void **state)
{
    (void)state;
    assert_int_equal(otlp__parse_content_encoding(NULL), OTLP__ENC_IDENTITY);
    assert_int_equal(otlp__parse_content_encoding(""), OTLP__ENC_IDENTITY);
    assert_int_equal(otlp__parse_content_encoding("identity"), OTLP__ENC_IDENTITY);
    assert_int_equal(otlp__parse_content_encoding("gzip"), OTLP__ENC_GZIP);
    assert_int_equal(otlp__parse_content_encoding(" GZip "), OTLP__ENC_GZIP);
    assert_int_equal(otlp__parse_content_encoding("br"), OTLP__ENC_OTHER);
    assert_int_equal(otlp__parse_content_encoding("deflate"), OTLP__ENC_OTHER);
    assert_int_equal(otlp__parse_content_encoding("gzip, br"), OTLP__ENC_OTHER);
}

static void test_split_host_port(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(base_split_host_port("127.0.0.1:4317", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 4317);
    assert_int_equal(base_split_host_port("[::1]:0", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(base_split_host_port(":4318", host, sizeof host, &port), 0);
    assert_string_equal(host, "");
    assert_int_equal(port, 4318);
    assert_int_equal(base_split_host_port("localhost:65535", host, sizeof host, &port), 0);
    assert_int_equal(port, 65535);
    assert_int_equal(base_split_host_port("localhost", host, sizeof host, &port), -1);
    assert_int_equal(base_split_host_port("localhost:", host, sizeof host, &port), -1);
    assert_int_equal(base_split_host_port("localhost:65536", host, sizeof host, &port), -1);
    assert_int_equal(base_split_host_port("localhost:12x", host, sizeof host, &port), -1);
    assert_int_equal(base_split_host_port("localhost:-1", host, sizeof host, &port), -1);
    assert_int_equal(base_split_host_port("::1:80", host, sizeof host, &port), -1);
    assert_int_equal(base_split_host_port("[::1]80", host, sizeof host, &port), -1);
    assert_int_equal(base_split_host_port("[::1:80", host, sizeof host, &port), -1);
    char small[4];
    assert_int_equal(base_split_host_port("hostname:80", small, sizeof small, &port), -1);
}

/* ---- gunzip --------------------------------------------------------------------- */

static void test_gunzip_roundtrip_and_exact_cap(void **state)
{
    (void)state;
    size_t n = 300000;
    uint8_t *src = pattern(n);
    bytes gz = gzip_of(src, n);
    uint8_t *out = NULL;
    size_t out_len = 0;
    char err[256] = "";
    /* exactly the cap: accepted */
    assert_int_equal(otlp__gunzip(gz.data, gz.len, n, &out, &out_len, err, sizeof err), BASE_OK);
    assert_int_equal(out_len, n);
    assert_memory_equal(out, src, n);
    free(out);
    /* one byte over the cap: refused */
    out = NULL;
    assert_int_equal(otlp__gunzip(gz.data, gz.len, n - 1, &out, &out_len, err, sizeof err),
                     BASE_ERR_TOO_LARGE);
    assert_null(out);
    assert_non_null(strstr(err, "larger"));
    free(gz.data);
    free(src);
}

static void test_gunzip_bomb_is_stopped(void **state)
{
    (void)state;
    /* 128 MiB of zeros compress to ~128 KiB; the cap is 1 MiB */
    static const uint8_t zeros[1 << 20];
    bytes gz = gzip_repeat(zeros, sizeof zeros, 128);
    assert_true(gz.len < (size_t)1 << 20);
    uint8_t *out = (uint8_t *)1;
    size_t out_len = 7;
    char err[256] = "";
    assert_int_equal(
        otlp__gunzip(gz.data, gz.len, (size_t)1 << 20, &out, &out_len, err, sizeof err),
        BASE_ERR_TOO_LARGE);
    assert_null(out);
    assert_int_equal(out_len, 0);
    free(gz.data);
}

static void test_gunzip_bad_input(void **state)
{
    (void)state;
    const char *text = "hello hello hello hello hello";
    bytes gz = gzip_of(text, strlen(text));
    uint8_t *out = NULL;
    size_t out_len = 0;
    char err[256];

    err[0] = '\0';
    assert_int_equal(otlp__gunzip(gz.data, gz.len - 5, 1000, &out, &out_len, err, sizeof err),
                     BASE_ERR_DECODE);
    assert_null(out);
    assert_non_null(strstr(err, "truncated"));

    err[0] = '\0';
    assert_int_equal(
        otlp__gunzip((const uint8_t *)"not gzip at all", 15, 1000, &out, &out_len, err, sizeof err),
        BASE_ERR_DECODE);
    assert_true(err[0] != '\0');

    assert_int_equal(otlp__gunzip((const uint8_t *)"", 0, 1000, &out, &out_len, err, sizeof err),
                     BASE_ERR_DECODE);

    /* a flipped byte in the deflate data or the CRC is caught */
    bytes bad = {0};
    bytes_put(&bad, gz.data, gz.len);
    bad.data[bad.len - 6] ^= 0xff;
    assert_int_equal(otlp__gunzip(bad.data, bad.len, 1000, &out, &out_len, err, sizeof err),
                     BASE_ERR_DECODE);

    /* trailing garbage after a complete member */
    bytes trail = {0};
    bytes_put(&trail, gz.data, gz.len);
    bytes_put(&trail, "garbage!", 8);
    assert_int_equal(otlp__gunzip(trail.data, trail.len, 1000, &out, &out_len, err, sizeof err),
                     BASE_ERR_DECODE);
    free(bad.data);
    free(trail.data);
    free(gz.data);
}

static void test_gunzip_members_and_empty(void **state)
{
    (void)state;
    bytes a = gzip_of("abc", 3), b = gzip_of("defg", 4), both = {0};
    bytes_put(&both, a.data, a.len);
    bytes_put(&both, b.data, b.len);
    uint8_t *out = NULL;
    size_t out_len = 0;
    char err[256] = "";
    assert_int_equal(otlp__gunzip(both.data, both.len, 100, &out, &out_len, err, sizeof err),
                     BASE_OK);
    assert_int_equal(out_len, 7);
    assert_memory_equal(out, "abcdefg", 7);
    free(out);
    /* the cap spans members */
    assert_int_equal(otlp__gunzip(both.data, both.len, 6, &out, &out_len, err, sizeof err),
                     BASE_ERR_TOO_LARGE);

    bytes empty = gzip_repeat((const uint8_t *)"", 0, 0);
    assert_int_equal(otlp__gunzip(empty.data, empty.len, 0, &out, &out_len, err, sizeof err),
                     BASE_OK);
    assert_int_equal(out_len, 0);
    free(out);
    free(a.data);
    free(b.data);
    free(both.data);
    free(empty.data);
}

/* ---- responses ------------------------------------------------------------------- */

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
    export_response;

static void test_response_pb(void **state)
{
    (void)state;
    base_arena arena;
    base_arena_init(&arena, 0, 0);
    tr_result res;
    memset(&res, 0, sizeof res);
    res.profiles_accepted = 3;
    uint8_t *out = NULL;
    size_t n = 99;
    assert_int_equal(otlp__encode_response_pb(&res, &arena, &out, &n), BASE_OK);
    assert_int_equal(n, 0); /* no partial_success when all was accepted */

    res.profiles_rejected = 2;
    strcpy(res.error_message, "resource_profiles[0].scope_profiles[0].profiles[1] bad");
    assert_int_equal(otlp__encode_response_pb(&res, &arena, &out, &n), BASE_OK);
    export_response *resp =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__unpack(
            NULL, n, out);
    assert_non_null(resp);
    assert_non_null(resp->partial_success);
    assert_int_equal(resp->partial_success->rejected_profiles, 2);
    assert_string_equal(resp->partial_success->error_message, res.error_message);
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__free_unpacked(
        resp, NULL);

    /* an unterminated message array is cut at its size, not read past */
    memset(res.error_message, 'x', sizeof res.error_message);
    assert_int_equal(otlp__encode_response_pb(&res, &arena, &out, &n), BASE_OK);
    resp =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__unpack(
            NULL, n, out);
    assert_non_null(resp);
    assert_int_equal(strlen(resp->partial_success->error_message), sizeof res.error_message);
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__free_unpacked(
        resp, NULL);
    base_arena_free(&arena);
}

static void test_response_json(void **state)
{
    (void)state;
    base_arena arena;
    base_arena_init(&arena, 0, 0);
    tr_result res;
    memset(&res, 0, sizeof res);
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(otlp__encode_response_json(&res, &arena, &out, &n), BASE_OK);
    assert_string_equal(out, "{}");
    assert_int_equal(n, 2);

    res.profiles_rejected = 5;
    /* quotes, a backslash, a newline, a control byte and invalid UTF-8 */
    strcpy(res.error_message, "say \"hi\"\\ now\n\x01 caf\xc3\xa9 bad\xff\xfe end");
    assert_int_equal(otlp__encode_response_json(&res, &arena, &out, &n), BASE_OK);
    assert_int_equal(strlen(out), n);
    cJSON *doc = cJSON_Parse(out);
    assert_non_null(doc);
    cJSON *ps = cJSON_GetObjectItemCaseSensitive(doc, "partialSuccess");
    assert_non_null(ps);
    cJSON *rp = cJSON_GetObjectItemCaseSensitive(ps, "rejectedProfiles");
    assert_true(cJSON_IsString(rp));
    assert_string_equal(rp->valuestring, "5");
    cJSON *em = cJSON_GetObjectItemCaseSensitive(ps, "errorMessage");
    assert_true(cJSON_IsString(em));
    assert_string_equal(em->valuestring,
                        "say \"hi\"\\ now\n\x01 caf\xc3\xa9 bad\xef\xbf\xbd\xef\xbf\xbd end");
    cJSON_Delete(doc);
    base_arena_free(&arena);
}

static void test_status_encoding(void **state)
{
    (void)state;
    base_arena arena;
    base_arena_init(&arena, 0, 0);
    uint8_t *pb = NULL;
    size_t n = 0;
    assert_int_equal(otlp__encode_status_pb(3, "bad", &arena, &pb, &n), BASE_OK);
    static const uint8_t want[] = {0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd'};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(pb, want, sizeof want);

    assert_int_equal(otlp__encode_status_pb(0, "", &arena, &pb, &n), BASE_OK);
    assert_int_equal(n, 0);

    /* a message over 127 bytes needs a two-byte length varint */
    char msg[200];
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    assert_int_equal(otlp__encode_status_pb(8, msg, &arena, &pb, &n), BASE_OK);
    assert_int_equal(n, 2 + 1 + 2 + 199);
    assert_int_equal(pb[3], 0xc7); /* 199 = 0x47 | 0x80 */
    assert_int_equal(pb[4], 0x01);

    char *js = NULL;
    assert_int_equal(otlp__encode_status_json(8, "too \"big\"", &arena, &js, &n), BASE_OK);
    cJSON *doc = cJSON_Parse(js);
    assert_non_null(doc);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "code")->valueint, 8);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "message")->valuestring,
                        "too \"big\"");
    cJSON_Delete(doc);
    base_arena_free(&arena);
}

/* One status table for both transports (issue 16): every kind has an answer, and the
 * retryable ones are retryable on both (UNAVAILABLE / 503), the request's faults are not. */
static void test_status_table(void **state)
{
    (void)state;
    struct {
        base_err kind;
        unsigned http;
        int grpc;
    } want[] = {
        {BASE_OK, 200, OTLP__GRPC_OK},
        {BASE_ERR_DECODE, 400, OTLP__GRPC_INVALID_ARGUMENT},
        {BASE_ERR_INVALID, 400, OTLP__GRPC_INVALID_ARGUMENT},
        {BASE_ERR_BAD_ARGUMENT, 400, OTLP__GRPC_INVALID_ARGUMENT},
        {BASE_ERR_TOO_LARGE, 413, OTLP__GRPC_RESOURCE_EXHAUSTED},
        {BASE_ERR_UNSUPPORTED, 415, OTLP__GRPC_UNIMPLEMENTED},
        {BASE_ERR_NOT_FOUND, 404, OTLP__GRPC_UNIMPLEMENTED},
        /* was RESOURCE_EXHAUSTED on gRPC (not retried without RetryInfo) and 503 on HTTP */
        {BASE_ERR_NOMEM, 503, OTLP__GRPC_UNAVAILABLE},
        {BASE_ERR_IO, 503, OTLP__GRPC_UNAVAILABLE},
        /* the log could not keep the request (disk full, no quorum): the sender retries */
        {BASE_ERR_UNAVAILABLE, 503, OTLP__GRPC_UNAVAILABLE},
    };
    assert_int_equal(sizeof want / sizeof want[0], BASE_ERR_COUNT); /* every kind listed */
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        otlp__status st = otlp__status_of(want[i].kind);
        assert_int_equal(st.http, want[i].http);
        assert_int_equal(st.grpc, want[i].grpc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_content_encoding),
        cmocka_unit_test(test_split_host_port),
        cmocka_unit_test(test_gunzip_roundtrip_and_exact_cap),
        cmocka_unit_test(test_gunzip_bomb_is_stopped),
        cmocka_unit_test(test_gunzip_bad_input),
        cmocka_unit_test(test_gunzip_members_and_empty),
        cmocka_unit_test(test_response_pb),
        cmocka_unit_test(test_response_json),
        cmocka_unit_test(test_status_encoding),
        cmocka_unit_test(test_status_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
