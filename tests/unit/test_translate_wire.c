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

/* ---- v1.9 samples with values and timestamps, no attributes, no link ------------------
 * v1.9 {stack_index=1, values=2, timestamps=5} and v1.10 {stack_index=1,
 * attribute_indices=2, timestamps=5} are the same bytes: the values decode as attribute
 * indices, one per timestamp. The requests below have a samples:count profile and an
 * attribute table whose entries 1..9 are thread.name = w1..w9 (w5 at index 5) and entry 10
 * is thread.id = 7. */

static void attr_dictionary(enc *req)
{
    enc d = {0}, m = {0}, sub = {0};
    const char *strs[] = {"", "samples", "count", "main", "thread.name"};
    for (int i = 0; i < 5; i++)
        f_bytes(&d, 5, strs[i], strlen(strs[i]));
    for (int i = 1; i <= 9; i++) { /* strings 5..13: w1..w9 */
        char w[4];
        snprintf(w, sizeof w, "w%d", i);
        f_bytes(&d, 5, w, strlen(w));
    }
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
    f_msg(&d, 6, &m); /* attribute 0: the zero entry */
    for (int i = 1; i <= 9; i++) {
        enc any = {0};
        char w[4];
        snprintf(w, sizeof w, "w%d", i);
        f_bytes(&any, 1, w, strlen(w)); /* AnyValue.string_value */
        f_varint(&m, 1, 4);             /* key_strindex: thread.name */
        f_msg(&m, 2, &any);
        f_msg(&d, 6, &m); /* attribute i: thread.name = w<i> */
    }
    f_bytes(&d, 5, "thread.id", 9); /* string 14 */
    enc any = {0};
    f_varint(&any, 3, 7); /* AnyValue.int_value */
    f_varint(&m, 1, 14);
    f_msg(&m, 2, &any);
    f_msg(&d, 6, &m); /* attribute 10: thread.id = 7 */
    f_msg(req, 2, &d);
}

static void count_header(enc *p)
{
    enc st = {0};
    f_varint(&st, 1, 1);
    f_varint(&st, 2, 2);
    f_msg(p, 1, &st); /* sample_type samples:count */
    uint8_t t[8];
    for (int k = 0; k < 8; k++)
        t[k] = (uint8_t)(T0 >> (8 * k));
    varint(p, 3 << 3 | 1);
    put(p, t, 8); /* time_unix_nano */
}

/* A sample of stack 1 with `n` values, each with a timestamp, numbered as v1.9 does
 * (values = 2): or, read as v1.10, `n` attribute indices. */
static void sample_v19_values_ts(enc *p, size_t n, const uint64_t *values, uint64_t t)
{
    enc s = {0};
    uint64_t ts[8];
    for (size_t i = 0; i < n; i++)
        ts[i] = t + i;
    f_varint(&s, 1, 1);
    f_packed(&s, 2, n, values);
    f_packed_fixed64(&s, 5, n, ts);
    f_msg(p, 2, &s);
}

static enc attr_request_of(enc *profiles, size_t n)
{
    enc req = {0}, rp = {0}, sp = {0};
    for (size_t i = 0; i < n; i++)
        f_msg(&sp, 2, &profiles[i]);
    f_msg(&rp, 2, &sp);
    f_msg(&req, 1, &rp);
    attr_dictionary(&req);
    return req;
}

static void ingest_bytes(const enc *req, tr_result *res)
{
    tr_request *r = NULL;
    char err[512] = "";
    assert_int_equal(tr_decode_protobuf(req->p, req->n, &A, &r, err, sizeof err), BASE_OK);
    assert_int_equal(tr__ingest_with_sink(r, req->p, req->n, (int64_t)T0, &A, rec_sink, &R, res),
                     BASE_OK);
}

/* One profile of samples (stack 1) with the given values (v1.9) / attribute indices
 * (v1.10), one timestamp each; `lens` says how many each sample has (0 ends the list). */
static void one_profile(enc *req, const size_t *lens, const uint64_t *vals)
{
    enc profs[1] = {{0}};
    count_header(&profs[0]);
    for (size_t i = 0, at = 0; lens[i]; at += lens[i], i++)
        sample_v19_values_ts(&profs[0], lens[i], vals + at, T0 + 10 * i);
    *req = attr_request_of(profs, 1);
}

static void expect_v19(const size_t *lens, const uint64_t *vals, const char *sample_and_why)
{
    enc req;
    one_profile(&req, lens, vals);
    tr_result res;
    ingest_bytes(&req, &res);
    assert_int_equal(res.profiles_rejected, 1);
    assert_int_equal(res.profiles_accepted, 0);
    assert_int_equal(R.n, 0);
    char want[1024];
    snprintf(want, sizeof want,
             "resource_profiles[0].scope_profiles[0].profiles[0].samples[%s; this receiver speaks "
             "v1.10+ (attribute_indices=2, link_index=3, values=4): upgrade the sender",
             sample_and_why);
    assert_string_equal(res.error_message, want);
    rec_free(&R);
    free(req.p);
}

#define V19_LEAD                                                                                   \
    "]: Sample fields look like opentelemetry-proto v1.9 (values=2, attribute_indices=3, "         \
    "link_index=4): its attribute_indices read as v1.9 values (one per timestamp in every "        \
    "sample, no values, no link), and "

/* The report was a v1.9 sample {values [5], one timestamp} stored as a count of 1 labelled
 * thread.name="w5". Its profile, with the samples such a sender writes beside it, is now
 * rejected, saying v1.9: counts repeat (an attribute list would not), nanoseconds or bytes
 * lie outside the attribute table. */
static void test_v19_values_with_timestamps_rejected(void **state)
{
    (void)state;
    /* [5] and [3, 2]: w3 and w2 would both be thread.name */
    expect_v19((const size_t[]){1, 2, 0}, (const uint64_t[]){5, 3, 2},
               "1" V19_LEAD "attribute_indices[1] 2 repeats the key of attribute_indices[0]");
    /* [5] and [5, 5]: one attribute twice */
    expect_v19((const size_t[]){1, 2, 0}, (const uint64_t[]){5, 5, 5},
               "1" V19_LEAD "attribute_indices[1] 5 repeats the attribute of attribute_indices[0]");
    /* [5] and [10000000] (10 ms of CPU): no such attribute; said as v1.9, not out of range */
    expect_v19((const size_t[]){1, 1, 0}, (const uint64_t[]){5, 10000000},
               "1" V19_LEAD
               "attribute_indices[0] 10000000 is outside attribute_table (11 entries)");
    /* a count of 12: past the table too */
    expect_v19((const size_t[]){1, 0}, (const uint64_t[]){12},
               "0" V19_LEAD "attribute_indices[0] 12 is outside attribute_table (11 entries)");
}

/* What remains ambiguous, pinned: the report's single sample {values [5], one timestamp}
 * is byte for byte a valid v1.10 sample {attribute_indices [5] (thread.name=w5), one
 * timestamp}, and nothing else in its profile says otherwise: it is stored as v1.10 reads
 * it. docs/internals/translate.md says so. */
static void test_v19_single_small_value_is_ambiguous(void **state)
{
    (void)state;
    enc req;
    one_profile(&req, (const size_t[]){1, 0}, (const uint64_t[]){5});
    tr_result res;
    ingest_bytes(&req, &res);
    assert_int_equal(res.profiles_accepted, 1);
    assert_string_equal(res.error_message, "");
    assert_int_equal(R.n, 1);
    assert_int_equal(R.b[0].obs[0].value, 1);
    assert_string_equal(R.b[0].obs[0].attrs, "thread.name=w5");
    free(req.p);
}

/* No false alarm: v1.10 samples with one attribute per timestamp and distinct keys (the
 * eBPF profiler's shape can look like this) are stored; index 0 (lenient "unset") is no
 * evidence; and OTLP/JSON (no raw bytes: fields are named) is never second-guessed. */
static void test_v110_attributes_per_timestamp_accepted(void **state)
{
    (void)state;
    enc req;
    one_profile(&req, (const size_t[]){2, 1, 1, 0}, (const uint64_t[]){5, 10, 3, 0});
    tr_result res;
    ingest_bytes(&req, &res);
    assert_int_equal(res.profiles_accepted, 1);
    assert_string_equal(res.error_message, "");
    assert_int_equal(R.n, 1);
    assert_int_equal(R.b[0].n, 4);
    assert_string_equal(R.b[0].obs[0].attrs, "thread.name=w5,thread.id=7");
    assert_string_equal(R.b[0].obs[2].attrs, "thread.name=w3");
    assert_string_equal(R.b[0].obs[3].attrs, "");
    rec_free(&R);
    free(req.p);

    one_profile(&req, (const size_t[]){1, 2, 0}, (const uint64_t[]){5, 3, 2});
    tr_request *r = NULL;
    char err[512] = "";
    assert_int_equal(tr_decode_protobuf(req.p, req.n, &A, &r, err, sizeof err), BASE_OK);
    assert_int_equal(tr__ingest_with_sink(r, NULL, 0, (int64_t)T0, &A, rec_sink, &R, &res),
                     BASE_OK);
    assert_int_equal(res.profiles_accepted, 1);
    free(req.p);
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
        cmocka_unit_test_setup_teardown(test_v19_values_with_timestamps_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v19_single_small_value_is_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v110_attributes_per_timestamp_accepted, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
