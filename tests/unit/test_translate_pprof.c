/* tr_pprof_to_otlp: real Go pprof files convert to OTLP that, decoded and ingested into a
 * store, gives exactly `go tool pprof -top` (expected/NAME.top.txt) for every sample type;
 * broken pprof is refused with the path of the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "pprof/profile.pb-c.h"
#include "translate/translate.h"

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

static uint8_t *load(const char *rel, size_t *len)
{
    const char *dir = getenv("OTELPROFD_TESTDATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/work/shared/testdata", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

typedef struct row {
    char fn[512];
    int64_t flat, cum;
    bool seen;
} row;

/* Rows of an expected/NAME.top.txt: "flat flat% sum% cum cum%  function". */
static row *parse_top(const char *name, size_t *n_rows, int64_t *total)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "expected/%s.top.txt", name);
    char *txt = (char *)load(rel, &len);
    const char *p = strstr(txt, "% of ");
    assert_non_null(p);
    *total = strtoll(p + 5, NULL, 10);
    row *rows = calloc(len / 20 + 1, sizeof *rows);
    assert_non_null(rows);
    size_t n = 0;
    char *save = NULL;
    bool body = false;
    for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!body) {
            body = strstr(line, "flat%") != NULL;
            continue;
        }
        char pf[32], ps[32], pc[32];
        int used = 0;
        long long flat, cum;
        if (sscanf(line, "%lld %31s %31s %lld %31s %n", &flat, pf, ps, &cum, pc, &used) != 5)
            fail_msg("bad line in %s: %s", rel, line);
        snprintf(rows[n].fn, sizeof rows[n].fn, "%s", line + used);
        /* pprof marks functions inlined at some call sites only */
        char *partial = strstr(rows[n].fn, " (partial-inline)");
        if (partial)
            *partial = '\0';
        rows[n].flat = flat;
        rows[n].cum = cum;
        n++;
    }
    free(txt);
    *n_rows = n;
    return rows;
}

/* Converts testdata pprof `file` with service.name=svc and ingests it into `store`. */
static void convert_ingest(win_store *store, const char *file, const char *svc,
                           size_t want_profiles, int64_t *time_ns)
{
    size_t len;
    char rel[256];
    snprintf(rel, sizeof rel, "pprof/%s", file);
    uint8_t *pp = load(rel, &len);
    win_attr res[] = {{"service.name", svc}, {"host.name", "h1"}};
    uint8_t *otlp = NULL;
    size_t otlp_len = 0;
    char err[1024] = "";
    base_err rc = tr_pprof_to_otlp(pp, len, res, 2, 1, &A, &otlp, &otlp_len, err, sizeof err);
    if (rc != BASE_OK)
        fail_msg("%s: %s", file, err);
    free(pp);
    tr_request *req = NULL;
    assert_int_equal(tr_decode_protobuf(otlp, otlp_len, &A, &req, err, sizeof err), BASE_OK);
    assert_int_equal(req->n_resource_profiles, 1);
    assert_int_equal(req->resource_profiles[0]->scope_profiles[0]->n_profiles, want_profiles);
    /* the Go runtime wrote time_nanos: it is kept, not replaced by the fallback (1) */
    *time_ns = (int64_t)req->resource_profiles[0]->scope_profiles[0]->profiles[0]->time_unix_nano;
    assert_true(*time_ns > 1600000000000000000);
    tr_result r;
    assert_int_equal(tr_ingest(store, req, otlp, otlp_len, *time_ns + 1000000000, &A, &r), BASE_OK);
    assert_string_equal(r.error_message, "");
    assert_int_equal(r.profiles_accepted, want_profiles);
    assert_int_equal(r.profiles_rejected, 0);
    assert_int_equal(r.samples_too_old + r.samples_too_new, 0);
}

static void check_top(win_store *store, const char *svc, const char *type, const char *expected)
{
    char sel_text[128], err[512] = "";
    snprintf(sel_text, sizeof sel_text, "{service.name=\"%s\"}", svc);
    win_selector *sel = win_selector_parse(sel_text, NULL, err, sizeof err);
    assert_non_null(sel);
    win_query q = {
        .profile_type = type, .selector = sel, .start_ns = INT64_MIN, .end_ns = INT64_MAX};
    win_merged *m = win_merge(store, &q, NULL);
    assert_non_null(m);
    size_t n_exp;
    int64_t total;
    row *exp = parse_top(expected, &n_exp, &total);
    assert_int_equal(m->total, total);
    win_top_row *rows = NULL;
    int64_t n = win_top(m, &rows);
    assert_true(n >= 0);
    assert_int_equal((size_t)n, n_exp);
    for (int64_t i = 0; i < n; i++) {
        row *hit = NULL;
        for (size_t k = 0; k < n_exp && !hit; k++)
            if (!exp[k].seen && strcmp(exp[k].fn, rows[i].function) == 0)
                hit = &exp[k];
        if (!hit)
            fail_msg("%s %s: function %s not in go tool pprof -top", svc, type, rows[i].function);
        hit->seen = true;
        if (hit->flat != rows[i].flat || hit->cum != rows[i].cum)
            fail_msg("%s %s: %s flat %lld cum %lld, pprof says %lld %lld", svc, type,
                     rows[i].function, (long long)rows[i].flat, (long long)rows[i].cum,
                     (long long)hit->flat, (long long)hit->cum);
    }
    free(rows);
    free(exp);
    win_merged_free(m);
    win_selector_free(sel);
}

static win_store *new_store(void)
{
    win_config wc;
    win_config_defaults(&wc);
    win_store *s = win_store_new(&wc);
    assert_non_null(s);
    return s;
}

static void test_cpu_roundtrip(void **state)
{
    (void)state;
    win_store *s = new_store();
    int64_t t;
    convert_ingest(s, "compress_flate.cpu.pb.gz", "compress_flate", 2, &t);
    check_top(s, "compress_flate", "cpu:nanoseconds", "compress_flate.cpu.cpu");
    check_top(s, "compress_flate", "samples:count", "compress_flate.cpu.samples");
    win_store_free(s);
}

static void test_mem_roundtrip(void **state)
{
    (void)state;
    win_store *s = new_store();
    int64_t t;
    convert_ingest(s, "encoding_json.mem.pb.gz", "encoding_json", 4, &t);
    check_top(s, "encoding_json", "alloc_space:bytes", "encoding_json.mem.alloc_space");
    check_top(s, "encoding_json", "alloc_objects:count", "encoding_json.mem.alloc_objects");
    check_top(s, "encoding_json", "inuse_space:bytes", "encoding_json.mem.inuse_space");
    check_top(s, "encoding_json", "inuse_objects:count", "encoding_json.mem.inuse_objects");
    win_store_free(s);
}

/* The same pprof, not gzipped, converts to the very same bytes. */
static void test_plain_equals_gzipped(void **state)
{
    (void)state;
    size_t len;
    uint8_t *gz = load("pprof/compress_flate.cpu.pb.gz", &len);
    uint8_t *plain = malloc(8 << 20);
    assert_non_null(plain);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = gz;
    zs.avail_in = (uInt)len;
    zs.next_out = plain;
    zs.avail_out = 8 << 20;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t plain_len = zs.total_out;
    inflateEnd(&zs);
    win_attr res[] = {{"service.name", "x"}};
    uint8_t *o1, *o2;
    size_t l1, l2;
    char err[512];
    assert_int_equal(tr_pprof_to_otlp(gz, len, res, 1, 0, &A, &o1, &l1, err, sizeof err), BASE_OK);
    assert_int_equal(tr_pprof_to_otlp(plain, plain_len, res, 1, 0, &A, &o2, &l2, err, sizeof err),
                     BASE_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(o1, o2, l1);
    /* a truncated gzip stream is refused, not half-converted */
    assert_int_equal(tr_pprof_to_otlp(gz, len / 2, res, 1, 0, &A, &o1, &l1, err, sizeof err),
                     BASE_ERR_DECODE);
    assert_non_null(strstr(err, "gzip"));
    free(plain);
    free(gz);
}

/* A hand-made pprof: one function, one location, one sample; `mutate` breaks it. */
static base_err convert_small(int mutate, int64_t time_nanos, char *err, size_t err_len,
                              tr_request **req_out)
{
    char *strings[] = {"", "cpu", "nanoseconds", "main", "main.go", "k", "v"};
    Perftools__Profiles__ValueType st = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    st.type = 1;
    st.unit = 2;
    Perftools__Profiles__ValueType *sts[] = {&st};
    Perftools__Profiles__Function fn = PERFTOOLS__PROFILES__FUNCTION__INIT;
    fn.id = 7;
    fn.name = mutate == 1 ? 99 : 3;
    fn.filename = 4;
    Perftools__Profiles__Function *fns[] = {&fn};
    Perftools__Profiles__Line ln = PERFTOOLS__PROFILES__LINE__INIT;
    ln.function_id = mutate == 2 ? 8 : 7;
    ln.line = 12;
    Perftools__Profiles__Line *lns[] = {&ln};
    Perftools__Profiles__Location loc = PERFTOOLS__PROFILES__LOCATION__INIT;
    loc.id = 5;
    loc.n_line = 1;
    loc.line = lns;
    Perftools__Profiles__Location *locs[] = {&loc};
    uint64_t loc_ids[] = {mutate == 3 ? 6 : 5};
    int64_t vals[] = {42, 43};
    Perftools__Profiles__Label lb = PERFTOOLS__PROFILES__LABEL__INIT;
    lb.key = 5;
    lb.str = 6;
    Perftools__Profiles__Label *lbs[] = {&lb};
    Perftools__Profiles__Sample smp = PERFTOOLS__PROFILES__SAMPLE__INIT;
    smp.n_location_id = 1;
    smp.location_id = loc_ids;
    smp.n_value = mutate == 4 ? 2 : 1;
    smp.value = vals;
    smp.n_label = 1;
    smp.label = lbs;
    Perftools__Profiles__Sample *smps[] = {&smp};
    Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
    p.n_sample_type = 1;
    p.sample_type = sts;
    p.n_sample = 1;
    p.sample = smps;
    p.n_location = 1;
    p.location = locs;
    p.n_function = 1;
    p.function = fns;
    p.n_string_table = 7;
    p.string_table = strings;
    p.time_nanos = time_nanos;
    uint8_t buf[1024];
    size_t n = perftools__profiles__profile__pack(&p, buf);
    assert_true(n < sizeof buf);
    uint8_t *otlp;
    size_t otlp_len;
    base_err rc = tr_pprof_to_otlp(buf, n, NULL, 0, 1234567, &A, &otlp, &otlp_len, err, err_len);
    if (rc == BASE_OK && req_out)
        assert_int_equal(tr_decode_protobuf(otlp, otlp_len, &A, req_out, err, err_len), BASE_OK);
    return rc;
}

static void test_small_and_broken(void **state)
{
    (void)state;
    char err[512] = "";
    tr_request *req = NULL;
    assert_int_equal(convert_small(0, 0, err, sizeof err, &req), BASE_OK);
    const Opentelemetry__Proto__Profiles__V1development__Profile *op =
        req->resource_profiles[0]->scope_profiles[0]->profiles[0];
    /* no time_nanos: the fallback is used */
    assert_int_equal(op->time_unix_nano, 1234567);
    assert_int_equal(op->n_samples, 1);
    assert_int_equal(op->samples[0]->values[0], 42);
    const Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary *d = req->dictionary;
    /* zero entries at index 0, the pprof entry at 1 */
    assert_int_equal(d->n_function_table, 2);
    assert_int_equal(d->function_table[0]->name_strindex, 0);
    assert_string_equal(d->string_table[d->function_table[1]->name_strindex], "main");
    const Opentelemetry__Proto__Profiles__V1development__Stack *stk =
        d->stack_table[op->samples[0]->stack_index];
    assert_int_equal(stk->n_location_indices, 1);
    const Opentelemetry__Proto__Profiles__V1development__Location *l =
        d->location_table[stk->location_indices[0]];
    assert_int_equal(l->lines[0]->function_index, 1);
    assert_int_equal(l->lines[0]->line, 12);
    /* the label is a sample attribute */
    assert_int_equal(op->samples[0]->n_attribute_indices, 1);
    const Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit *kv =
        d->attribute_table[op->samples[0]->attribute_indices[0]];
    assert_string_equal(d->string_table[kv->key_strindex], "k");
    assert_string_equal(d->string_table[kv->value->string_value_strindex], "v");

    assert_int_equal(convert_small(0, 1700000000123456789, err, sizeof err, &req), BASE_OK);
    assert_int_equal(req->resource_profiles[0]->scope_profiles[0]->profiles[0]->time_unix_nano,
                     1700000000123456789);
    /* a time within 1970 (old SDKs wrote microseconds) is missing: the fallback is used */
    assert_int_equal(convert_small(0, 99, err, sizeof err, &req), BASE_OK);
    assert_int_equal(req->resource_profiles[0]->scope_profiles[0]->profiles[0]->time_unix_nano,
                     1234567);

    assert_int_equal(convert_small(1, 0, err, sizeof err, NULL), BASE_ERR_INVALID);
    assert_string_equal(err, "function[0].name 99 out of range: string_table has 7 entries");
    assert_int_equal(convert_small(2, 0, err, sizeof err, NULL), BASE_ERR_INVALID);
    assert_string_equal(err, "location[0].line[0].function_id 8: no such function");
    assert_int_equal(convert_small(3, 0, err, sizeof err, NULL), BASE_ERR_INVALID);
    assert_string_equal(err, "sample[0].location_id 6: no such location");
    assert_int_equal(convert_small(4, 0, err, sizeof err, NULL), BASE_ERR_INVALID);
    assert_string_equal(err, "sample[0] has 2 values, sample_type has 1");

    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    uint8_t *o;
    size_t ol;
    assert_int_equal(tr_pprof_to_otlp(junk, sizeof junk, NULL, 0, 0, &A, &o, &ol, err, sizeof err),
                     BASE_ERR_DECODE);
}

/* Truncated and bit-flipped pprof never crashes (ASan build) and whatever converts packs
 * to OTLP that decodes again. */
static void test_mutations(void **state)
{
    (void)state;
    size_t len;
    uint8_t *gz = load("pprof/compress_flate.mem.pb.gz", &len);
    win_attr res[] = {{"service.name", "m"}};
    uint8_t *plain;
    size_t plain_len;
    char err[512];
    /* the converter's own gunzip gives the plain bytes: convert once, then mutate */
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = gz;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = 1 << 20;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    plain_len = zs.total_out;
    inflateEnd(&zs);
    plain = malloc(plain_len);
    assert_non_null(plain);
    uint32_t seed = 12345;
    int ok = 0, bad = 0;
    for (int it = 0; it < 400; it++) {
        memcpy(plain, buf, plain_len);
        size_t n = plain_len;
        seed = seed * 1103515245u + 12345u;
        if (it % 2)
            n = seed % plain_len;
        else
            for (int k = 0; k < 4; k++) {
                seed = seed * 1103515245u + 12345u;
                plain[seed % plain_len] ^= (uint8_t)(1u << (seed >> 16) % 8);
            }
        uint8_t *o;
        size_t ol;
        base_arena_reset(&A);
        if (tr_pprof_to_otlp(plain, n, res, 1, 0, &A, &o, &ol, err, sizeof err) == BASE_OK) {
            tr_request *req;
            assert_int_equal(tr_decode_protobuf(o, ol, &A, &req, err, sizeof err), BASE_OK);
            ok++;
        } else {
            bad++;
        }
    }
    assert_true(bad > 0);
    assert_true(ok > 0);
    free(plain);
    free(buf);
    free(gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cpu_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_equals_gzipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_and_broken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
