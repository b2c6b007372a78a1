/* What the store drops of accepted samples reaches the partial-success message
 * (translate/drops.c through tr_ingest with a real store): too old, too far in the
 * future, evicted at once for the memory limit; with and without an invalid profile
 * beside them; bounded in length; and read back by tr_parse_drops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translate/translate_internal.h"

#define SEC 1000000000LL
#define T0  1700000000000000000LL /* every time in the test data lies in [T0, T0 + 1 h) */

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
    *len = (size_t)n;
    return buf;
}

typedef struct loaded {
    uint8_t *raw;
    size_t len;
    tr_request *req;
} loaded;

static loaded decode(const char *rel)
{
    loaded l;
    l.raw = load(rel, &l.len);
    char err[512] = "";
    assert_int_equal(tr_decode_protobuf(l.raw, l.len, &A, &l.req, err, sizeof err), BASE_OK);
    return l;
}

/* Counts the observations (sample x timestamp, or the sample at the profile's time) of a
 * request, and in *n_older those before `older_than`. */
static uint64_t each_obs(const tr_request *req, int64_t older_than, uint64_t *n_older)
{
    uint64_t n = 0;
    *n_older = 0;
    for (size_t r = 0; r < req->n_resource_profiles; r++)
        for (size_t s = 0; s < req->resource_profiles[r]->n_scope_profiles; s++) {
            const Opentelemetry__Proto__Profiles__V1development__ScopeProfiles *sp =
                req->resource_profiles[r]->scope_profiles[s];
            for (size_t p = 0; p < sp->n_profiles; p++) {
                const Opentelemetry__Proto__Profiles__V1development__Profile *pr = sp->profiles[p];
                for (size_t i = 0; i < pr->n_samples; i++) {
                    const Opentelemetry__Proto__Profiles__V1development__Sample *sa =
                        pr->samples[i];
                    if (!sa->n_timestamps_unix_nano) {
                        n++;
                        *n_older += (int64_t)pr->time_unix_nano < older_than;
                        continue;
                    }
                    for (size_t k = 0; k < sa->n_timestamps_unix_nano; k++) {
                        n++;
                        *n_older += (int64_t)sa->timestamps_unix_nano[k] < older_than;
                    }
                }
            }
        }
    return n;
}

static win_store *store_with(int64_t retention_s, uint64_t memory_limit)
{
    win_config wc;
    win_config_defaults(&wc);
    wc.retention_ns = retention_s * SEC;
    wc.resolution_ns = SEC;
    if (memory_limit)
        wc.memory_limit = memory_limit;
    win_store *st = win_store_new(&wc);
    assert_non_null(st);
    return st;
}

static void test_all_too_old(void **state)
{
    (void)state;
    loaded l = decode("otlp/cpu.pb");
    uint64_t older;
    uint64_t total = each_obs(l.req, INT64_MAX, &older);
    win_store *st = store_with(3600, 0);
    tr_result res;
    assert_int_equal(tr_ingest(st, l.req, l.raw, l.len, T0 + 3 * 3600 * SEC, &A, &res), BASE_OK);
    assert_int_equal(res.profiles_accepted, 4);
    assert_int_equal(res.profiles_rejected, 0); /* a warning: nothing was invalid */
    assert_int_equal(res.samples_stored, 0);
    assert_int_equal(res.samples_too_old, total);
    char want[256];
    snprintf(want, sizeof want,
             "%llu of %llu samples older than the retention (1h) were not stored",
             (unsigned long long)total, (unsigned long long)total);
    assert_string_equal(res.error_message, want);
    uint64_t dropped, of;
    assert_true(tr_parse_drops(res.error_message, &dropped, &of));
    assert_int_equal(dropped, total);
    assert_int_equal(of, total);
    win_store_free(st);
    free(l.raw);
}

/* The store refuses samples later than now + retention (a clock far off). */
static void test_all_too_new(void **state)
{
    (void)state;
    loaded l = decode("otlp/cpu.pb");
    uint64_t older;
    uint64_t total = each_obs(l.req, INT64_MAX, &older);
    win_store *st = store_with(90 * 60, 0);
    tr_result res;
    assert_int_equal(tr_ingest(st, l.req, l.raw, l.len, T0 - 3 * 3600 * SEC, &A, &res), BASE_OK);
    assert_int_equal(res.profiles_rejected, 0);
    assert_int_equal(res.samples_too_new, total);
    char want[256];
    snprintf(want, sizeof want,
             "%llu of %llu samples more than 1h30m in the future were not stored",
             (unsigned long long)total, (unsigned long long)total);
    assert_string_equal(res.error_message, want);
    uint64_t dropped, of;
    assert_true(tr_parse_drops(res.error_message, &dropped, &of));
    assert_int_equal(dropped, of);
    win_store_free(st);
    free(l.raw);
}

/* eBPF-style samples carry timestamps over ten seconds: "now" an hour and 5 s after T0
 * leaves the first five seconds too old and stores the rest. */
static void test_some_too_old(void **state)
{
    (void)state;
    loaded l = decode("otlp/ebpf_style.pb");
    const int64_t now = T0 + 3605 * SEC;
    uint64_t older;
    uint64_t total = each_obs(l.req, now - 3600 * SEC, &older);
    assert_true(older > 0 && older < total);
    win_store *st = store_with(3600, 0);
    tr_result res;
    assert_int_equal(tr_ingest(st, l.req, l.raw, l.len, now, &A, &res), BASE_OK);
    assert_int_equal(res.profiles_rejected, 0);
    assert_int_equal(res.samples_too_old, older);
    assert_int_equal(res.samples_stored, total - older);
    char want[256];
    snprintf(want, sizeof want,
             "%llu of %llu samples older than the retention (1h) were not stored",
             (unsigned long long)older, (unsigned long long)total);
    assert_string_equal(res.error_message, want);
    uint64_t dropped, of;
    assert_true(tr_parse_drops(res.error_message, &dropped, &of));
    assert_true(dropped < of); /* some stored: a sender exits 0 with the warning */
    win_store_free(st);
    free(l.raw);
}

/* Nothing dropped, nothing said. */
static void test_all_stored(void **state)
{
    (void)state;
    loaded l = decode("otlp/cpu.pb");
    win_store *st = store_with(3600, 0);
    tr_result res;
    assert_int_equal(tr_ingest(st, l.req, l.raw, l.len, T0 + 20 * 60 * SEC, &A, &res), BASE_OK);
    assert_string_equal(res.error_message, "");
    assert_int_equal(res.samples_too_old + res.samples_too_new + res.samples_evicted, 0);
    uint64_t dropped, of;
    assert_false(tr_parse_drops(res.error_message, &dropped, &of));
    win_store_free(st);
    free(l.raw);
}

/* An invalid profile and too-old samples in one request: the message carries both, the
 * first invalid profile first; the counts cover the accepted profiles only. */
static void test_invalid_and_too_old(void **state)
{
    (void)state;
    loaded l = decode("otlp/cpu.pb");
    Opentelemetry__Proto__Profiles__V1development__Profile *bad =
        l.req->resource_profiles[1]->scope_profiles[0]->profiles[0];
    bad->samples[3]->stack_index = 1000000;
    uint64_t bad_obs = bad->n_samples, older;
    uint64_t total = each_obs(l.req, INT64_MAX, &older);
    win_store *st = store_with(3600, 0);
    tr_result res;
    /* raw NULL: the bytes no longer match the edited request */
    assert_int_equal(tr_ingest(st, l.req, NULL, 0, T0 + 3 * 3600 * SEC, &A, &res), BASE_OK);
    assert_int_equal(res.profiles_rejected, 1);
    assert_int_equal(res.samples_rejected, bad_obs);
    char want[512];
    snprintf(want, sizeof want,
             "resource_profiles[1].scope_profiles[0].profiles[0].samples[3].stack_index 1000000 "
             "out of range: stack_table has %zu entries; %llu of %llu samples older than the "
             "retention (1h) were not stored",
             l.req->dictionary->n_stack_table, (unsigned long long)(total - bad_obs),
             (unsigned long long)(total - bad_obs));
    assert_string_equal(res.error_message, want);
    win_store_free(st);
    free(l.raw);
}

/* A store too small for the request evicts the request's own oldest data at once: the
 * sender hears how much, and that count agrees with what the store still holds. */
static void test_evicted_at_once(void **state)
{
    (void)state;
    loaded l = decode("otlp/ebpf_style.pb");
    const int64_t now = T0 + 30 * 60 * SEC;
    uint64_t older;
    uint64_t total = each_obs(l.req, INT64_MIN, &older);
    /* a limit a little under what the request needs: the oldest seconds go again */
    win_store *st = store_with(3600, 0);
    tr_result res;
    assert_int_equal(tr_ingest(st, l.req, l.raw, l.len, now, &A, &res), BASE_OK);
    win_stats ws;
    win_store_stats(st, &ws);
    win_store_free(st);
    uint64_t limit = ws.memory_used / 1024 * 1000 / 1024 * 1024; /* whole KiB */
    char lim[32];
    base_format_size(lim, sizeof lim, limit);
    st = store_with(3600, limit);
    assert_int_equal(tr_ingest(st, l.req, l.raw, l.len, now, &A, &res), BASE_OK);
    assert_int_equal(res.profiles_rejected, 0);
    assert_int_equal(res.samples_stored, total);
    print_message("evicted %llu of %llu at a limit of %s\n",
                  (unsigned long long)res.samples_evicted, (unsigned long long)total, lim);
    assert_true(res.samples_evicted > 0 && res.samples_evicted < total);
    /* each observation is a count of 1: what is left of samples:count is what was not
     * evicted (the derived cpu:nanoseconds batches restate the same observations) */
    win_query q = {"samples:count", NULL, INT64_MIN, INT64_MAX, false};
    win_merged *m = win_merge(st, &q, NULL);
    assert_non_null(m);
    assert_int_equal((uint64_t)m->total, total - res.samples_evicted);
    win_merged_free(m);
    char want[256];
    snprintf(want, sizeof want,
             "%llu of %llu samples were evicted at once by the memory limit (%s): they "
             "were the oldest data",
             (unsigned long long)res.samples_evicted, (unsigned long long)total, lim);
    assert_string_equal(res.error_message, want);
    uint64_t dropped, of;
    assert_true(tr_parse_drops(res.error_message, &dropped, &of));
    assert_int_equal(dropped, res.samples_evicted);
    win_store_free(st);
    free(l.raw);
}

static bool valid_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        size_t n = *u < 0x80 ? 1 : (*u & 0xe0) == 0xc0 ? 2 : (*u & 0xf0) == 0xe0 ? 3 : 4;
        for (size_t k = 1; k < n; k++)
            if ((u[k] & 0xc0) != 0x80)
                return false;
        u += n;
    }
    return true;
}

/* The message stays inside its array whatever came first: a long reason is cut (at a
 * UTF-8 boundary, marked "...") so every drop count still fits; counts saturate. */
static void test_message_bounded(void **state)
{
    (void)state;
    for (size_t fill = 1000; fill <= sizeof(((tr_result *)0)->error_message); fill += 2) {
        tr_result res;
        memset(&res, 0, sizeof res);
        for (size_t i = 0; i + 1 < fill; i += 2) { /* a reason of 2-byte characters (é) */
            res.error_message[i] = (char)0xc3;
            res.error_message[i + 1] = (char)0xa9;
        }
        if (fill < sizeof res.error_message) /* at 1024: not terminated at all */
            res.error_message[fill] = '\0';
        res.samples_stored = UINT64_MAX - 5;
        res.samples_too_old = UINT64_MAX;
        res.samples_too_new = 7;
        res.samples_evicted = UINT64_MAX;
        tr__note_drops(&res, 7 * 24 * 3600 * SEC + 1, ((uint64_t)1 << 40) + 3);
        size_t len = strnlen(res.error_message, sizeof res.error_message);
        assert_true(len < sizeof res.error_message);
        assert_true(valid_utf8(res.error_message));
        assert_non_null(strstr(res.error_message, "...; 18446744073709551615 of "
                                                  "18446744073709551615 samples older than the "
                                                  "retention (604800.000s) were not stored"));
        assert_non_null(strstr(res.error_message, "; 7 of 18446744073709551615 samples more than"));
        assert_non_null(strstr(res.error_message, "memory limit (1099511627779 bytes)"));
        uint64_t dropped, of;
        assert_true(tr_parse_drops(res.error_message, &dropped, &of));
        assert_int_equal(dropped, UINT64_MAX); /* saturated */
        assert_int_equal(of, UINT64_MAX);
    }
}

/* The reader takes only its own clauses: a store error that reads "storing 5 of 10
 * samples" or another receiver's wording is no drop count. */
static void test_parse_drops_strict(void **state)
{
    (void)state;
    uint64_t d, of;
    assert_false(tr_parse_drops(NULL, &d, &of));
    assert_false(tr_parse_drops("", &d, &of));
    assert_false(tr_parse_drops("resource_profiles[0].scope_profiles[0].profiles[0]: not stored: "
                                "window: out of memory after storing 5 of 10 samples",
                                &d, &of));
    assert_false(tr_parse_drops("10 of 10 samples were dropped", &d, &of));
    assert_false(
        tr_parse_drops("x10 of 10 samples older than the retention (1h) were not stored", &d, &of));
    assert_false(tr_parse_drops("99999999999999999999 of 1 samples older than the retention (1h) "
                                "were not stored",
                                &d, &of));
    /* a clause ends at its ';': the future wording must be inside it */
    assert_false(
        tr_parse_drops("1 of 2 samples more than x; y in the future were not stored", &d, &of));
    assert_true(tr_parse_drops("bad; 3 of 10 samples older than the retention (1h) were not "
                               "stored; 7 of 10 samples more than 1h in the future were not stored",
                               &d, &of));
    assert_int_equal(d, 10);
    assert_int_equal(of, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_too_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_too_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_some_too_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_and_too_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evicted_at_once, setup, teardown),
        cmocka_unit_test(test_message_bounded),
        cmocka_unit_test(test_parse_drops_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
