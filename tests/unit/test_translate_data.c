/* The shared test data (OTELPROFD_TESTDATA): real OTLP requests decode, validate and
 * normalize to exactly the totals `go tool pprof` computes, and the OTLP/JSON twins give
 * the very same batches as their protobuf originals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_translate_recorder.h"

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

static char *load(const char *rel, size_t *len)
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
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* "Showing nodes accounting for X, 100% of TOTAL total" */
static int64_t expected_total(const char *name)
{
    size_t len;
    char rel[256];
    snprintf(rel, sizeof rel, "expected/%s.top.txt", name);
    char *txt = load(rel, &len);
    const char *p = strstr(txt, "% of ");
    assert_non_null(p);
    int64_t total = strtoll(p + 5, NULL, 10);
    free(txt);
    return total;
}

static void ingest_pb(const char *rel, recorder *r, tr_result *res)
{
    size_t len;
    char *buf = load(rel, &len);
    tr_request *req = NULL;
    char err[1024] = "";
    assert_int_equal(tr_decode_protobuf((const uint8_t *)buf, len, &A, &req, err, sizeof err),
                     BASE_OK);
    assert_int_equal(tr__ingest_with_sink(req, (const uint8_t *)buf, len, 1700000000000000000, &A,
                                          rec_sink, r, res),
                     BASE_OK);
    assert_int_equal(r->bad_index, 0);
    free(buf);
}

static void ingest_json(const char *rel, recorder *r, tr_result *res)
{
    size_t len;
    char *buf = load(rel, &len);
    tr_request *req = NULL;
    char err[1024] = "";
    base_err rc = tr_decode_json(buf, len, &A, &req, err, sizeof err);
    if (rc)
        fail_msg("%s: %s", rel, err);
    assert_int_equal(tr__ingest_with_sink(req, NULL, 0, 1700000000000000000, &A, rec_sink, r, res),
                     BASE_OK);
    assert_int_equal(r->bad_index, 0);
    free(buf);
}

/* service.name=flate -> compress_flate, json -> encoding_json */
static const char *bench_of(const rec_batch *b)
{
    if (strstr(b->resource, "service.name=flate"))
        return "compress_flate";
    if (strstr(b->resource, "service.name=json"))
        return "encoding_json";
    fail_msg("unexpected resource %s", b->resource);
    return NULL;
}

static void test_cpu_pb(void **state)
{
    (void)state;
    recorder r = {0};
    tr_result res;
    ingest_pb("otlp/cpu.pb", &r, &res);
    assert_string_equal(res.error_message, "");
    assert_int_equal(res.profiles_accepted, 4);
    assert_int_equal(res.profiles_rejected, 0);
    /* both native types per resource: no derived batch */
    assert_int_equal(r.n, 4);
    int cpu = 0, samples = 0;
    for (size_t i = 0; i < r.n; i++) {
        char name[128];
        const char *kind = strcmp(r.b[i].type, "cpu:nanoseconds") == 0 ? "cpu" : "samples";
        cpu += kind[0] == 'c';
        samples += strcmp(r.b[i].type, "samples:count") == 0;
        snprintf(name, sizeof name, "%s.cpu.%s", bench_of(&r.b[i]), kind);
        assert_int_equal(r.b[i].total, expected_total(name));
        assert_true(strstr(r.b[i].resource, "host.name=node-a") != NULL);
    }
    assert_int_equal(cpu, 2);
    assert_int_equal(samples, 2);
    rec_free(&r);
}

static void test_mem_pb(void **state)
{
    (void)state;
    recorder r = {0};
    tr_result res;
    ingest_pb("otlp/mem.pb", &r, &res);
    assert_string_equal(res.error_message, "");
    assert_int_equal(res.profiles_accepted, 8);
    assert_int_equal(r.n, 8);
    for (size_t i = 0; i < r.n; i++) {
        char type[64], name[128];
        snprintf(type, sizeof type, "%s", r.b[i].type);
        char *colon = strchr(type, ':');
        assert_non_null(colon);
        *colon = '\0';
        snprintf(name, sizeof name, "%s.mem.%s", bench_of(&r.b[i]), type);
        assert_int_equal(r.b[i].total, expected_total(name));
    }
    rec_free(&r);
}

static void test_ebpf_style_pb(void **state)
{
    (void)state;
    recorder r = {0};
    tr_result res;
    ingest_pb("otlp/ebpf_style.pb", &r, &res);
    assert_string_equal(res.error_message, "");
    assert_int_equal(res.profiles_rejected, 0);
    assert_true(res.profiles_accepted >= 1);
    assert_int_equal(r.n, 2 * res.profiles_accepted); /* each samples:count gets its cpu twin */
    uint64_t links = 0, unsymbolized = 0;
    for (size_t i = 0; i < r.n; i += 2) {
        const rec_batch *count = &r.b[i], *cpu = &r.b[i + 1];
        assert_string_equal(count->type, "samples:count");
        assert_string_equal(cpu->type, "cpu:nanoseconds");
        assert_string_equal(count->resource, cpu->resource);
        assert_true(strstr(count->resource, "host.name=node-c") != NULL);
        assert_int_equal(count->n, cpu->n);
        /* ebpf_style.pb carries one timestamp per pprof sample (789 for flate, whose pprof
         * counts sum to 1677), so its totals are observation counts, not the expected
         * .cpu.samples totals the README promises */
        assert_non_null(bench_of(count));
        assert_int_equal(count->total, count->n);
        assert_int_equal(cpu->total, count->total * 10000000);
        for (uint32_t k = 0; k < count->n; k++) {
            assert_int_equal(count->obs[k].value, 1); /* timestamps only: 1 each */
            assert_int_equal(cpu->obs[k].value, 10000000);
            assert_int_equal(cpu->obs[k].time_ns, count->obs[k].time_ns);
            links += count->obs[k].has_link;
            /* unsymbolized frames render as 0xADDR(mapping#buildid) */
            if (strstr(count->obs[k].stack, ";0x") || strncmp(count->obs[k].stack, "0x", 2) == 0)
                unsymbolized++;
        }
    }
    assert_true(links > 0);
    assert_true(unsymbolized > 0);
    /* location 4 of the dictionary: address 5193821 in mapping 1, no lines */
    bool found = false;
    for (uint32_t k = 0; k < r.b[0].n && !found; k++)
        found = strstr(r.b[0].obs[k].stack, "0x4f405d(/tmp/go-build2351767964/b001/flate.test#)");
    assert_true(found);
    rec_free(&r);
}

/* Every observation of the JSON twin equals the protobuf one. */
static void assert_same_batches(const recorder *a, const recorder *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const rec_batch *x = &a->b[i], *y = &b->b[i];
        assert_string_equal(x->type, y->type);
        assert_string_equal(x->resource, y->resource);
        assert_int_equal(x->n, y->n);
        assert_int_equal(x->total, y->total);
        for (uint32_t k = 0; k < x->n; k++) {
            assert_string_equal(x->obs[k].stack, y->obs[k].stack);
            assert_string_equal(x->obs[k].attrs, y->obs[k].attrs);
            assert_int_equal(x->obs[k].value, y->obs[k].value);
            assert_int_equal(x->obs[k].time_ns, y->obs[k].time_ns);
            assert_int_equal(x->obs[k].has_link, y->obs[k].has_link);
            assert_memory_equal(x->obs[k].trace, y->obs[k].trace, 16);
            assert_memory_equal(x->obs[k].span, y->obs[k].span, 8);
        }
    }
}

static void test_json_twins(void **state)
{
    (void)state;
    static const char *const names[][2] = {{"otlp/cpu.pb", "otlp/cpu.json"},
                                           {"otlp/ebpf_style.pb", "otlp/ebpf_style.json"}};
    for (size_t i = 0; i < 2; i++) {
        recorder pb = {0}, js = {0};
        tr_result rp, rj;
        ingest_pb(names[i][0], &pb, &rp);
        ingest_json(names[i][1], &js, &rj);
        assert_string_equal(rj.error_message, "");
        assert_int_equal(rp.profiles_accepted, rj.profiles_accepted);
        assert_int_equal(rp.samples_stored, rj.samples_stored);
        assert_true(pb.n > 0);
        assert_same_batches(&pb, &js);
        rec_free(&pb);
        rec_free(&js);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cpu_pb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_pb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ebpf_style_pb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_twins, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
