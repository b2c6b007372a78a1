/* Protobuf decoding (translate/decode.c): hand-encoded bytes for opentelemetry-proto v1.9
 * skew, truncation, malformed framing and nesting bombs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_translate_recorder.h"

#define T0 1700000000000000000ull

/* ---- a tiny protobuf encoder ---------------------------------------------------------- */

typedef struct enc {
    uint8_t *p;
    size_t n, cap;
} enc;

static void put(enc *e, const void *data, size_t len)
{
    if (!len)
        return;
    if (e->n + len > e->cap) {
        e->cap = (e->n + len) * 2 + 64;
        e->p = realloc(e->p, e->cap);
        assert_non_null(e->p);
    }
    memcpy(e->p + e->n, data, len);
    e->n += len;
}

static void varint(enc *e, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    put(e, b, n);
}

static void f_varint(enc *e, uint32_t num, uint64_t v)
{
    varint(e, (uint64_t)num << 3);
    varint(e, v);
}

/* Moves `sub` into `e` as a length-delimited field and frees it. */
static void f_msg(enc *e, uint32_t num, enc *sub)
{
    varint(e, (uint64_t)num << 3 | 2);
    varint(e, sub->n);
    put(e, sub->p, sub->n);
    free(sub->p);
    memset(sub, 0, sizeof *sub);
}

static void f_bytes(enc *e, uint32_t num, const void *data, size_t len)
{
    varint(e, (uint64_t)num << 3 | 2);
    varint(e, len);
    put(e, data, len);
}

static void f_packed(enc *e, uint32_t num, size_t n, const uint64_t *v)
{
    enc sub = {0};
    for (size_t i = 0; i < n; i++)
        varint(&sub, v[i]);
    f_msg(e, num, &sub);
}

static void f_packed_fixed64(enc *e, uint32_t num, size_t n, const uint64_t *v)
{
    enc sub = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t b[8];
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(v[i] >> (8 * k));
        put(&sub, b, 8);
    }
    f_msg(e, num, &sub);
}

/* A dictionary: strings "", cpu, nanoseconds, main; function 1 = main; location 1 = main;
 * stack 1 = [1]; link 1 with proper ids. */
static void dictionary(enc *req)
{
    enc d = {0}, m = {0}, sub = {0};
    const char *strs[] = {"", "cpu", "nanoseconds", "main"};
    for (int i = 0; i < 4; i++)
        f_bytes(&d, 5, strs[i], strlen(strs[i]));
    f_msg(&d, 3, &m); /* function 0 */
    f_varint(&m, 1, 3);
    f_msg(&d, 3, &m); /* function 1: main */
    f_msg(&d, 2, &m); /* location 0 */
    f_varint(&sub, 1, 1);
    f_msg(&m, 3, &sub); /* line -> function 1 */
    f_msg(&d, 2, &m);   /* location 1 */
    f_msg(&d, 7, &m);   /* stack 0 */
    uint64_t one = 1;
    f_packed(&m, 1, 1, &one);
    f_msg(&d, 7, &m); /* stack 1 */
    f_msg(&d, 4, &m); /* link 0 */
    f_bytes(&m, 1, "0123456789abcdef", 16);
    f_bytes(&m, 2, "01234567", 8);
    f_msg(&d, 4, &m); /* link 1 */
    f_msg(req, 2, &d);
}

static void profile_header(enc *p)
{
    enc st = {0};
    f_varint(&st, 1, 1);
    f_varint(&st, 2, 2);
    f_msg(p, 1, &st); /* sample_type cpu:nanoseconds */
    uint8_t t[8];
    for (int k = 0; k < 8; k++)
        t[k] = (uint8_t)(T0 >> (8 * k));
    varint(p, 3 << 3 | 1);
    put(p, t, 8); /* time_unix_nano */
}

/* v1.10 sample: stack 1, one timestamp */
static void sample_v110(enc *p)
{
    enc s = {0};
    f_varint(&s, 1, 1);
    uint64_t ts = T0 + 1;
    f_packed_fixed64(&s, 5, 1, &ts);
    f_msg(p, 2, &s);
}

/* Wraps profiles into request -> resource_profiles[0] -> scope_profiles[0]. */
static enc request_of(enc *profiles, size_t n)
{
    enc req = {0}, rp = {0}, sp = {0};
    for (size_t i = 0; i < n; i++)
        f_msg(&sp, 2, &profiles[i]);
    f_msg(&rp, 2, &sp);
    f_msg(&req, 1, &rp);
    dictionary(&req);
    return req;
}

static base_arena A;
static recorder R;

static int setup(void **state)
{
    (void)state;
    base_arena_init(&A, 0, 0);
    memset(&R, 0, sizeof R);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rec_free(&R);
    base_arena_free(&A);
    return 0;
}

static const char V19_MSG_TAIL[] =
    ": Sample fields look like opentelemetry-proto v1.9 (values=2, attribute_indices=3, "
    "link_index=4); this receiver speaks v1.10+ (attribute_indices=2, link_index=3, values=4): "
    "upgrade the sender";

static void test_v110_roundtrip(void **state)
{
    (void)state;
    enc profs[1] = {{0}};
    profile_header(&profs[0]);
    sample_v110(&profs[0]);
    enc req = request_of(profs, 1);
    tr_request *r = NULL;
    char err[512] = "";
    assert_int_equal(tr_decode_protobuf(req.p, req.n, &A, &r, err, sizeof err), BASE_OK);
    tr_result res;
    assert_int_equal(tr__ingest_with_sink(r, req.p, req.n, (int64_t)T0, &A, rec_sink, &R, &res),
                     BASE_OK);
    assert_string_equal(res.error_message, "");
    assert_int_equal(res.profiles_accepted, 1);
    assert_int_equal(R.n, 1);
    assert_string_equal(R.b[0].type, "cpu:nanoseconds");
    assert_string_equal(R.b[0].obs[0].stack, "main(:0)");
    assert_int_equal(R.b[0].obs[0].time_ns, (int64_t)(T0 + 1));
    free(req.p);
}

/* v1.9 numbering that still decodes (packed values in field 2, link in field 4 as a
 * varint): caught in tr_ingest from the raw bytes, only that profile is rejected. */
static void test_v19_decodes_but_is_rejected(void **state)
{
    (void)state;
    enc profs[3] = {{0}, {0}, {0}};
    profile_header(&profs[0]);
    sample_v110(&profs[0]);
    profile_header(&profs[1]);
    sample_v110(&profs[1]); /* ambiguous sample first: the v1.9 one comes second */
    enc s = {0};
    f_varint(&s, 1, 1);
    uint64_t vals[] = {0}; /* value 0 reads as the lenient attribute index 0 */
    f_packed(&s, 2, 1, vals);
    f_varint(&s, 4, 1); /* the link index reads as one value of 1 */
    f_msg(&profs[1], 2, &s);
    profile_header(&profs[2]); /* values only, v1.9: field 2 and neither 4 nor 5 */
    f_varint(&s, 1, 1);
    f_packed(&s, 2, 1, vals);
    f_msg(&profs[2], 2, &s);
    enc req = request_of(profs, 3);

    tr_request *r = NULL;
    char err[512] = "";
    assert_int_equal(tr_decode_protobuf(req.p, req.n, &A, &r, err, sizeof err), BASE_OK);
    /* without the raw bytes profile 1 is garbage that passes for data */
    tr_result res;
    assert_int_equal(tr__ingest_with_sink(r, NULL, 0, (int64_t)T0, &A, rec_sink, &R, &res),
                     BASE_OK);
    assert_int_equal(res.profiles_rejected, 1);
    assert_int_equal(res.profiles_accepted, 2);
    assert_null(strstr(res.error_message, "v1.9"));
    rec_free(&R);

    assert_int_equal(tr__ingest_with_sink(r, req.p, req.n, (int64_t)T0, &A, rec_sink, &R, &res),
                     BASE_OK);
    char want[512];
    snprintf(want, sizeof want, "resource_profiles[0].scope_profiles[0].profiles[1].samples[1]%s",
             V19_MSG_TAIL);
    assert_string_equal(res.error_message, want);
    assert_int_equal(res.profiles_rejected, 2);
    assert_int_equal(res.profiles_accepted, 1);
    assert_int_equal(R.n, 1);
    assert_int_equal(R.b[0].obs[0].time_ns, (int64_t)(T0 + 1));
    free(req.p);
}

/* v1.9 attribute_indices (field 3) arrive packed where v1.10 has a varint: protobuf-c
 * refuses the request, and the error says why. */
static void test_v19_fails_decode_with_message(void **state)
{
    (void)state;
    enc profs[1] = {{0}};
    profile_header(&profs[0]);
    sample_v110(&profs[0]);
    enc s = {0};
    f_varint(&s, 1, 1);
    uint64_t vals[] = {5, 6}, attrs[] = {1};
    f_packed(&s, 2, 2, vals);
    f_packed(&s, 3, 1, attrs);
    f_msg(&profs[0], 2, &s);
    enc req = request_of(profs, 1);
    tr_request *r = (tr_request *)1;
    char err[512] = "";
    assert_int_equal(tr_decode_protobuf(req.p, req.n, &A, &r, err, sizeof err), BASE_ERR_DECODE);
    assert_null(r);
    char want[512];
    snprintf(want, sizeof want, "resource_profiles[0].scope_profiles[0].profiles[0].samples[1]%s",
             V19_MSG_TAIL);
    assert_string_equal(err, want);
    free(req.p);
}

static void test_truncated_and_malformed(void **state)
{
    (void)state;
    enc profs[1] = {{0}};
    profile_header(&profs[0]);
    sample_v110(&profs[0]);
    enc req = request_of(profs, 1);
    tr_request *r = NULL;
    char err[512] = "";
    /* cut inside the dictionary: its length prefix points past the end */
    assert_int_equal(tr_decode_protobuf(req.p, req.n - 3, &A, &r, err, sizeof err),
                     BASE_ERR_DECODE);
    assert_non_null(strstr(err, "request does not decode as ExportProfilesServiceRequest "
                                "(protobuf): truncated or malformed at byte "));
    size_t at = strtoul(strrchr(err, ' ') + 1, NULL, 10);
    assert_true(at < req.n - 3);

    static const uint8_t junk[] = {0x0a, 0x05, 0x01};
    assert_int_equal(tr_decode_protobuf(junk, sizeof junk, &A, &r, err, sizeof err),
                     BASE_ERR_DECODE);
    assert_string_equal(err, "request does not decode as ExportProfilesServiceRequest (protobuf): "
                             "truncated or malformed at byte 0");
    static const uint8_t bad_wt[] = {0x0f}; /* field 1, wire type 7 */
    assert_int_equal(tr_decode_protobuf(bad_wt, sizeof bad_wt, &A, &r, err, sizeof err),
                     BASE_ERR_DECODE);

    /* an empty request is fine */
    assert_int_equal(tr_decode_protobuf(NULL, 0, &A, &r, err, sizeof err), BASE_OK);
    assert_int_equal(r->n_resource_profiles, 0);
    free(req.p);
}

/* AnyValue nests without bound; protobuf-c would recurse until the stack runs out. */
static void test_nesting_bomb(void **state)
{
    (void)state;
    for (int depth = 10; depth <= 1000; depth += 990) {
        enc any = {0};
        f_bytes(&any, 1, "x", 1); /* innermost AnyValue: string */
        for (int i = 0; i < depth; i++) {
            enc arr = {0}, outer = {0};
            f_msg(&arr, 1, &any);   /* ArrayValue.values */
            f_msg(&outer, 5, &arr); /* AnyValue.array_value */
            any = outer;
        }
        enc kv = {0}, res = {0}, rp = {0}, req = {0};
        f_bytes(&kv, 1, "k", 1);
        f_msg(&kv, 2, &any);
        f_msg(&res, 1, &kv);
        f_msg(&rp, 1, &res);
        f_msg(&req, 1, &rp);
        tr_request *r = NULL;
        char err[512] = "";
        base_err rc = tr_decode_protobuf(req.p, req.n, &A, &r, err, sizeof err);
        if (depth == 10) {
            assert_int_equal(rc, BASE_OK);
        } else {
            assert_int_equal(rc, BASE_ERR_DECODE);
            assert_non_null(strstr(err, "nested deeper than 64"));
        }
        free(req.p);
    }
}

static void test_arena_cap_is_nomem(void **state)
{
    (void)state;
    enc profs[1] = {{0}};
    profile_header(&profs[0]);
    sample_v110(&profs[0]);
    enc req = request_of(profs, 1);
    base_arena small;
    base_arena_init(&small, 64, 200);
    tr_request *r = NULL;
    char err[512] = "";
    assert_int_equal(tr_decode_protobuf(req.p, req.n, &small, &r, err, sizeof err), BASE_ERR_NOMEM);
    base_arena_free(&small);
    free(req.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_v110_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v19_decodes_but_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v19_fails_decode_with_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nesting_bomb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_cap_is_nomem, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
