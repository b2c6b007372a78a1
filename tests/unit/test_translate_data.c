/* The shared test data (OTELPROFD_TESTDATA): real OTLP requests decode, validate and
 * normalize to exactly what `go tool pprof` computes: cpu.pb, cpu.json and mem.pb ingested
 * into a store equal expected/NAME.top.txt function for function, for both resources
 * (flate, json) and every sample type; ebpf_style carries exactly pprof's totals (one
 * timestamp per counted sample; per function it cannot match, as ~15% of its locations are
 * unsymbolized on purpose: the integration tests hold it to an independent decoder of the
 * bytes). The OTLP/JSON twins give the very same batches as their protobuf originals. */
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

/* ---- value for value against go tool pprof, through a real store -------------------- */

typedef struct top_row {
    char fn[512];
    int64_t flat, cum;
    bool seen;
} top_row;

/* Rows of expected/NAME.top.txt ("flat flat% sum% cum cum%  function"), rows whose flat
 * and cum are both 0 left out (pprof lists them, a store has nothing to say about them). */
static top_row *parse_expected(const char *name, size_t *n_rows, int64_t *total)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "expected/%s.top.txt", name);
    char *txt = load(rel, &len);
    const char *p = strstr(txt, "% of ");
    assert_non_null(p);
    *total = strtoll(p + 5, NULL, 10);
    top_row *rows = calloc(len / 20 + 1, sizeof *rows);
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
        if (flat == 0 && cum == 0)
            continue;
        snprintf(rows[n].fn, sizeof rows[n].fn, "%s", line + used);
        char *mark = strstr(rows[n].fn, " (partial-inline)");
        if (!mark)
            mark = strstr(rows[n].fn, " (inline)");
        if (mark)
            *mark = '\0';
        rows[n].flat = flat;
        rows[n].cum = cum;
        n++;
    }
    free(txt);
    assert_true(n > 0);
    *n_rows = n;
    return rows;
}

/* The store's pprof top for `selector` and `type` equals expected/NAME.top.txt x `scale`:
 * the same functions, the same flat and cum for each, the same total. */
static void assert_top_equals(win_store *store, const char *selector, const char *type,
                              const char *name, int64_t scale)
{
    char err[512] = "";
    win_selector *sel = win_selector_parse(selector, NULL, err, sizeof err);
    if (!sel)
        fail_msg("%s: %s", selector, err);
    win_query q = {
        .profile_type = type, .selector = sel, .start_ns = INT64_MIN, .end_ns = INT64_MAX};
    win_merged *m = win_merge(store, &q, NULL);
    if (!m)
        fail_msg("%s %s: %s", selector, type, err);
    size_t n_exp;
    int64_t total;
    top_row *exp = parse_expected(name, &n_exp, &total);
    if (m->total != total * scale)
        fail_msg("%s %s: total %lld, %s says %lld", selector, type, (long long)m->total, name,
                 (long long)(total * scale));
    win_top_row *rows = NULL;
    int64_t n = win_top(m, &rows);
    assert_true(n >= 0);
    size_t matched = 0;
    for (int64_t i = 0; i < n; i++) {
        if (rows[i].flat == 0 && rows[i].cum == 0)
            continue;
        top_row *hit = NULL;
        for (size_t k = 0; k < n_exp && !hit; k++)
            if (!exp[k].seen && strcmp(exp[k].fn, rows[i].function) == 0)
                hit = &exp[k];
        if (!hit)
            fail_msg("%s %s: function %s (flat %lld cum %lld) is not in %s", selector, type,
                     rows[i].function, (long long)rows[i].flat, (long long)rows[i].cum, name);
        hit->seen = true;
        matched++;
        if (hit->flat * scale != rows[i].flat || hit->cum * scale != rows[i].cum)
            fail_msg("%s %s: %s flat %lld cum %lld, %s says %lld %lld", selector, type,
                     rows[i].function, (long long)rows[i].flat, (long long)rows[i].cum, name,
                     (long long)(hit->flat * scale), (long long)(hit->cum * scale));
    }
    for (size_t k = 0; k < n_exp; k++)
        if (!exp[k].seen)
            fail_msg("%s %s: %s lists %s (flat %lld cum %lld), the store does not", selector, type,
                     name, exp[k].fn, (long long)exp[k].flat, (long long)exp[k].cum);
    assert_int_equal(matched, n_exp);
    free(rows);
    free(exp);
    win_merged_free(m);
    win_selector_free(sel);
}

/* Decodes testdata `rel` (.pb or .json) and ingests it into `store` at T0 + 30 min. */
static void ingest_into(win_store *store, const char *rel, size_t want_profiles)
{
    size_t len;
    char *buf = load(rel, &len);
    tr_request *req = NULL;
    char err[1024] = "";
    bool json = strstr(rel, ".json") != NULL;
    base_err rc = json ? tr_decode_json(buf, len, &A, &req, err, sizeof err)
                       : tr_decode_protobuf((const uint8_t *)buf, len, &A, &req, err, sizeof err);
    if (rc)
        fail_msg("%s: %s", rel, err);
    tr_result r;
    assert_int_equal(tr_ingest(store, req, json ? NULL : (const uint8_t *)buf, json ? 0 : len,
                               1700000000000000000 + 1800000000000, &A, &r),
                     BASE_OK);
    assert_string_equal(r.error_message, "");
    assert_int_equal(r.profiles_accepted, want_profiles);
    assert_int_equal(r.profiles_rejected, 0);
    assert_int_equal(r.samples_too_old + r.samples_too_new, 0);
    free(buf);
}

static win_store *new_store(void)
{
    win_config wc;
    win_config_defaults(&wc);
    win_store *s = win_store_new(&wc);
    assert_non_null(s);
    return s;
}

static const char *const BENCH[][2] = {{"flate", "compress_flate"}, {"json", "encoding_json"}};

/* cpu.pb and cpu.json: both resources, samples:count and cpu:nanoseconds. */
static void test_cpu_top_exact(void **state)
{
    (void)state;
    static const char *const files[] = {"otlp/cpu.pb", "otlp/cpu.json"};
    for (size_t f = 0; f < 2; f++) {
        win_store *s = new_store();
        ingest_into(s, files[f], 4);
        for (size_t b = 0; b < 2; b++) {
            char sel[128], name[128];
            snprintf(sel, sizeof sel, "{service.name=\"%s\", host.name=\"node-a\"}", BENCH[b][0]);
            snprintf(name, sizeof name, "%s.cpu.cpu", BENCH[b][1]);
            assert_top_equals(s, sel, "cpu:nanoseconds", name, 1);
            snprintf(name, sizeof name, "%s.cpu.samples", BENCH[b][1]);
            assert_top_equals(s, sel, "samples:count", name, 1);
        }
        win_store_free(s);
    }
}

/* mem.pb: both resources, the four heap sample types. */
static void test_mem_top_exact(void **state)
{
    (void)state;
    static const char *const types[][2] = {{"alloc_space:bytes", "alloc_space"},
                                           {"alloc_objects:count", "alloc_objects"},
                                           {"inuse_space:bytes", "inuse_space"},
                                           {"inuse_objects:count", "inuse_objects"}};
    win_store *s = new_store();
    ingest_into(s, "otlp/mem.pb", 8);
    for (size_t b = 0; b < 2; b++) {
        char sel[128], name[128];
        snprintf(sel, sizeof sel, "{service.name=\"%s\", host.name=\"node-b\"}", BENCH[b][0]);
        for (size_t t = 0; t < 4; t++) {
            snprintf(name, sizeof name, "%s.mem.%s", BENCH[b][1], types[t][1]);
            assert_top_equals(s, sel, types[t][0], name, 1);
        }
    }
    win_store_free(s);
}

/* ebpf_style through a store: the totals are pprof's, for both encodings and resources
 * (per function the integration tests compare with an independent decoder of the bytes). */
static void test_ebpf_style_store_totals(void **state)
{
    (void)state;
    static const char *const files[] = {"otlp/ebpf_style.pb", "otlp/ebpf_style.json"};
    for (size_t f = 0; f < 2; f++) {
        win_store *s = new_store();
        ingest_into(s, files[f], 2);
        for (size_t b = 0; b < 2; b++) {
            char sel_text[128], name[128], err[256] = "";
            snprintf(sel_text, sizeof sel_text, "{service.name=\"%s\", host.name=\"node-c\"}",
                     BENCH[b][0]);
            snprintf(name, sizeof name, "%s.cpu.samples", BENCH[b][1]);
            win_selector *sel = win_selector_parse(sel_text, NULL, err, sizeof err);
            assert_non_null(sel);
            static const struct {
                const char *type;
                int64_t scale;
            } t[] = {{"samples:count", 1}, {"cpu:nanoseconds", 10000000}};
            for (size_t k = 0; k < 2; k++) {
                win_query q = {.profile_type = t[k].type,
                               .selector = sel,
                               .start_ns = INT64_MIN,
                               .end_ns = INT64_MAX};
                win_merged *m = win_merge(s, &q, NULL);
                assert_non_null(m);
                if (m->total != expected_total(name) * t[k].scale)
                    fail_msg("%s %s %s: total %lld, %s says %lld x %lld", files[f], sel_text,
                             t[k].type, (long long)m->total, name, (long long)expected_total(name),
                             (long long)t[k].scale);
                win_merged_free(m);
            }
            win_selector_free(sel);
        }
        win_store_free(s);
    }
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
    int seen_flate = 0, seen_json = 0;
    for (size_t i = 0; i < r.n; i += 2) {
        const rec_batch *count = &r.b[i], *cpu = &r.b[i + 1];
        assert_string_equal(count->type, "samples:count");
        assert_string_equal(cpu->type, "cpu:nanoseconds");
        assert_string_equal(count->resource, cpu->resource);
        assert_true(strstr(count->resource, "host.name=node-c") != NULL);
        assert_int_equal(count->n, cpu->n);
        /* one timestamp per counted sample: the totals are pprof's sample counts exactly
         * (flate 1,677, json 29,865), and cpu is that x the 10 ms period */
        char name[128];
        const char *bench = bench_of(count);
        seen_flate += strcmp(bench, "compress_flate") == 0;
        seen_json += strcmp(bench, "encoding_json") == 0;
        snprintf(name, sizeof name, "%s.cpu.samples", bench);
        assert_int_equal(count->total, expected_total(name));
        assert_int_equal(count->n, count->total); /* timestamps only: 1 each */
        assert_int_equal(cpu->total, expected_total(name) * 10000000);
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
    assert_int_equal(seen_flate, 1);
    assert_int_equal(seen_json, 1);
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
        cmocka_unit_test_setup_teardown(test_cpu_top_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_top_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ebpf_style_store_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ebpf_style_pb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_twins, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
