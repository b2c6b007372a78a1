/* Unit tests for query_export_pprof: decode the gzipped profile.proto back with protobuf-c and
 * recompute pprof's flat/cum from its samples; they must equal win_top of the merge.
 * With QUERY_PPROF_OUT=DIR set, the hand-made profiles are also written there, for a
 * check with `go tool pprof -top` / `-peek`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <zlib.h>

#include "pprof/profile.pb-c.h"
#include "test_query_fixture.h"

typedef Perftools__Profiles__Profile pb_profile;

static pb_profile *decode(const uint8_t *gz, size_t len)
{
    assert_true(len > 18);
    assert_int_equal(gz[0], 0x1f); /* gzip magic */
    assert_int_equal(gz[1], 0x8b);
    size_t cap = 1 << 20;
    uint8_t *raw = malloc(cap);
    assert_non_null(raw);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)gz;
    zs.avail_in = (uInt)len;
    int rc;
    do {
        if (zs.total_out == cap) {
            cap *= 2;
            raw = realloc(raw, cap);
            assert_non_null(raw);
        }
        zs.next_out = raw + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        rc = inflate(&zs, Z_NO_FLUSH);
    } while (rc == Z_OK);
    assert_int_equal(rc, Z_STREAM_END);
    size_t n = zs.total_out;
    inflateEnd(&zs);
    pb_profile *p = perftools__profiles__profile__unpack(NULL, n, raw);
    free(raw);
    assert_non_null(p);
    return p;
}

static pb_profile *export_and_decode(const win_merged *m, const char *save_as)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    int rc = query_export_pprof(m, NULL, NULL, &buf, &len, err, sizeof err);
    if (rc)
        print_message("query_export_pprof: %s\n", err);
    assert_int_equal(rc, 0);
    const char *dir = getenv("QUERY_PPROF_OUT");
    if (dir && save_as) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, save_as);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, len, f), len);
        fclose(f);
    }
    pb_profile *p = decode(buf, len);
    free(buf);
    return p;
}

static pb_profile *export_opts(const win_merged *m, const query_pprof_opts *o,
                               query_pprof_info *info)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    int rc = query_export_pprof(m, o, info, &buf, &len, err, sizeof err);
    if (rc)
        print_message("query_export_pprof: %s\n", err);
    assert_int_equal(rc, 0);
    pb_profile *p = decode(buf, len);
    free(buf);
    return p;
}

/* Bytes the gzip stream inflates to, without keeping them. */
static uint64_t inflated_size(const uint8_t *gz, size_t len)
{
    static uint8_t chunk[1 << 16];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)gz;
    zs.avail_in = (uInt)len;
    int rc;
    do {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
    } while (rc == Z_OK);
    assert_int_equal(rc, Z_STREAM_END);
    uint64_t n = zs.total_out;
    inflateEnd(&zs);
    return n;
}

static const char *pstr(const pb_profile *p, int64_t i)
{
    assert_true(i >= 0 && (size_t)i < p->n_string_table);
    return p->string_table[i];
}

/* Structural rules pprof enforces (ids >= 1 and unique, references resolve, string
 * table starts with "" and has no duplicates). */
static void check_structure(const pb_profile *p)
{
    assert_true(p->n_string_table >= 1);
    assert_string_equal(p->string_table[0], "");
    for (size_t i = 0; i < p->n_string_table; i++)
        for (size_t j = i + 1; j < p->n_string_table; j++)
            assert_true(strcmp(p->string_table[i], p->string_table[j]) != 0);
    for (size_t i = 0; i < p->n_function; i++) {
        assert_int_equal(p->function[i]->id, i + 1);
        pstr(p, p->function[i]->name);
        pstr(p, p->function[i]->filename);
    }
    for (size_t i = 0; i < p->n_mapping; i++) {
        assert_int_equal(p->mapping[i]->id, i + 1);
        assert_true(p->mapping[i]->has_functions);
    }
    for (size_t i = 0; i < p->n_location; i++) {
        const Perftools__Profiles__Location *l = p->location[i];
        assert_int_equal(l->id, i + 1);
        assert_true(l->mapping_id <= p->n_mapping);
        assert_int_equal(l->n_line, 1);
        assert_true(l->line[0]->function_id >= 1 && l->line[0]->function_id <= p->n_function);
    }
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        assert_int_equal(s->n_value, 1);
        for (size_t k = 0; k < s->n_location_id; k++)
            assert_true(s->location_id[k] >= 1 && s->location_id[k] <= p->n_location);
    }
}

static const char *loc_fn(const pb_profile *p, uint64_t loc_id)
{
    const Perftools__Profiles__Location *l = p->location[loc_id - 1];
    return pstr(p, p->function[l->line[0]->function_id - 1]->name);
}

/* pprof -top from the decoded samples, compared with win_top of the merge. */
static void check_top(const pb_profile *p, const win_merged *m)
{
    win_top_row *rows;
    int64_t n = win_top(m, &rows);
    assert_true(n >= 0);
    int64_t total = 0;
    for (size_t i = 0; i < p->n_sample; i++)
        total += p->sample[i]->value[0];
    assert_int_equal(total, m->total);
    for (int64_t r = 0; r < n; r++) {
        int64_t flat = 0, cum = 0;
        for (size_t i = 0; i < p->n_sample; i++) {
            const Perftools__Profiles__Sample *s = p->sample[i];
            bool in = false;
            for (size_t k = 0; k < s->n_location_id; k++)
                in |= strcmp(loc_fn(p, s->location_id[k]), rows[r].function) == 0;
            if (in)
                cum += s->value[0];
            if (s->n_location_id && strcmp(loc_fn(p, s->location_id[0]), rows[r].function) == 0)
                flat += s->value[0];
        }
        assert_int_equal(flat, rows[r].flat);
        assert_int_equal(cum, rows[r].cum);
    }
    /* and no function of the profile is missing from the table */
    for (size_t f = 0; f < p->n_function; f++) {
        bool seen = false;
        for (int64_t r = 0; r < n && !seen; r++)
            seen = strcmp(rows[r].function, pstr(p, p->function[f]->name)) == 0;
        assert_true(seen);
    }
    free(rows);
}

static void test_export_hand(void **state)
{
    (void)state;
    win_store *st = fx_hand_store();
    win_merged *m = fx_merge(st, "cpu:nanoseconds", false);
    assert_non_null(m);
    assert_null(m->labeled);
    pb_profile *p = export_and_decode(m, "hand_cpu.pb.gz");
    check_structure(p);
    check_top(p, m);
    assert_int_equal(p->n_sample_type, 1);
    assert_string_equal(pstr(p, p->sample_type[0]->type), "cpu");
    assert_string_equal(pstr(p, p->sample_type[0]->unit), "nanoseconds");
    assert_non_null(p->period_type);
    assert_string_equal(pstr(p, p->period_type->type), "cpu");
    assert_int_equal(p->time_nanos, m->start_ns);
    assert_int_equal(p->duration_nanos, m->end_ns - m->start_ns);
    assert_true(p->duration_nanos > 0);
    /* without kept labels: one sample per leaf, no labels */
    assert_int_equal(p->n_sample, 6);
    for (size_t i = 0; i < p->n_sample; i++)
        assert_int_equal(p->sample[i]->n_label, 0);
    /* F's two lines are two locations of one function */
    int f_funcs = 0;
    for (size_t i = 0; i < p->n_function; i++)
        f_funcs += strcmp(pstr(p, p->function[i]->name), "F") == 0;
    assert_int_equal(f_funcs, 1);
    perftools__profiles__profile__free_unpacked(p, NULL);
    win_merged_free(m);

    /* unsymbolized frames keep address and mapping, and are named by address */
    m = fx_merge(st, "alloc:bytes", false);
    p = export_and_decode(m, "hand_alloc.pb.gz");
    check_structure(p);
    check_top(p, m);
    assert_string_equal(pstr(p, p->sample_type[0]->unit), "bytes");
    bool found = false;
    for (size_t i = 0; i < p->n_location; i++) {
        const Perftools__Profiles__Location *l = p->location[i];
        if (l->address != 0x4f5a1b)
            continue;
        found = true;
        assert_string_equal(loc_fn(p, l->id), "0x4f5a1b");
        assert_true(l->mapping_id >= 1);
        assert_string_equal(pstr(p, p->mapping[l->mapping_id - 1]->filename), "libx.so");
        assert_string_equal(pstr(p, p->mapping[l->mapping_id - 1]->build_id), "bid");
    }
    assert_true(found);
    perftools__profiles__profile__free_unpacked(p, NULL);
    win_merged_free(m);

    /* an empty merge is still a valid profile */
    m = fx_merge(st, "none:count", false);
    p = export_and_decode(m, NULL);
    check_structure(p);
    assert_int_equal(p->n_sample, 0);
    assert_string_equal(pstr(p, p->sample_type[0]->type), "none");
    perftools__profiles__profile__free_unpacked(p, NULL);
    win_merged_free(m);

    char err[128] = "";
    uint8_t *buf;
    size_t len;
    assert_int_equal(query_export_pprof(NULL, NULL, NULL, &buf, &len, err, sizeof err), -1);
    assert_true(err[0] != '\0');
    win_store_free(st);
}

static const char *label_of(const pb_profile *p, const Perftools__Profiles__Sample *s,
                            const char *key)
{
    for (size_t i = 0; i < s->n_label; i++)
        if (strcmp(pstr(p, s->label[i]->key), key) == 0)
            return pstr(p, s->label[i]->str);
    return NULL;
}

static void test_export_labels(void **state)
{
    (void)state;
    win_store *st = fx_hand_store();
    win_merged *m = fx_merge(st, "cpu:nanoseconds", true);
    assert_non_null(m);
    if (!m->labeled) {
        /* window/ does not keep labels yet: the export must still be right without */
        print_message("keep_labels not implemented by window/: label checks skipped\n");
        skip();
    }
    pb_profile *p = export_and_decode(m, "hand_cpu_labels.pb.gz");
    check_structure(p);
    check_top(p, m);
    int64_t x = 0, y = 0, traced = 0;
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        const char *t = label_of(p, s, "thread.name");
        if (t && strcmp(t, "x") == 0)
            x += s->value[0];
        if (t && strcmp(t, "y") == 0)
            y += s->value[0];
        const char *tr = label_of(p, s, "trace_id");
        if (tr) {
            assert_string_equal(tr, "ab0102030405060708090a0b0c0d0ecd");
            assert_string_equal(label_of(p, s, "span_id"), "deadbeef00010203");
            traced += s->value[0];
        }
    }
    assert_int_equal(x, 11);
    assert_int_equal(y, 8);
    assert_int_equal(traced, 7);
    perftools__profiles__profile__free_unpacked(p, NULL);
    win_merged_free(m);
    win_store_free(st);
}

static void test_export_random(void **state)
{
    (void)state;
    rx_profile *rp = malloc(sizeof *rp);
    for (uint64_t seed = 1; seed <= 150; seed++) {
        rx_generate(rp, seed);
        win_store *st = rx_store(rp);
        for (int keep = 0; keep < 2; keep++) {
            win_merged *m = fx_merge(st, "cpu:nanoseconds", keep == 1);
            assert_non_null(m);
            pb_profile *p = export_and_decode(m, NULL);
            check_structure(p);
            check_top(p, m);
            perftools__profiles__profile__free_unpacked(p, NULL);
            if (keep && m->labeled) {
                /* a sample limit that leaves room for the stacks and `extra` label sets:
                 * the rest are folded, and the table stays exact */
                uint32_t stacks = 0, entries = 0;
                uint8_t *seen = calloc(m->n_nodes, 1);
                for (uint32_t i = 0; i < m->n_labeled; i++) {
                    if (m->labeled[i].value == 0)
                        continue;
                    entries++;
                    stacks += !seen[m->labeled[i].node];
                    seen[m->labeled[i].node] = 1;
                }
                free(seen);
                for (uint32_t extra = 0; extra <= 3; extra++) {
                    query_pprof_opts o = {0, 0, (uint64_t)stacks + extra};
                    query_pprof_info info;
                    p = export_opts(m, &o, &info);
                    check_structure(p);
                    check_top(p, m);
                    assert_true(p->n_sample <= o.max_samples);
                    uint32_t labeled = entries - (uint32_t)info.folded;
                    assert_true(labeled <= extra);
                    perftools__profiles__profile__free_unpacked(p, NULL);
                }
            }
            win_merged_free(m);
        }
        win_store_free(st);
    }
    free(rp);
}

/* Issue 10: one 4,096-frame stack shared by 20,000 samples with distinct thread.id (a
 * 2.8 MB request) took the daemon from 48 MB to 807 MB in export_pprof: a location list
 * per sample in protobuf-c structs. Samples are now encoded into the gzip stream, within
 * byte and sample limits; label sets past them fold into one unlabelled sample of the
 * stack, the heaviest keep their labels, and the totals stay exact. */
static void test_export_many_labels_on_a_deep_stack(void **state)
{
    (void)state;
    enum { DEPTH = 4096, N = 20000 };
    static char names[DEPTH][12];
    static win_frame_in frames[DEPTH];
    static uint32_t idx[DEPTH];
    static char tids[N][12];
    static win_attr attrs[N];
    static win_sample_in smp[N];
    for (uint32_t i = 0; i < DEPTH; i++) {
        snprintf(names[i], sizeof names[i], "f%u", i);
        frames[i] =
            (win_frame_in){names[i], "d.go", (int64_t)i + 1, 0x1000u + i, NULL, NULL, NULL, 0};
        idx[i] = i; /* leaf first: f0 */
    }
    for (uint32_t i = 0; i < N; i++) {
        snprintf(tids[i], sizeof tids[i], "%u", i + 1);
        attrs[i] = (win_attr){"thread.id", tids[i]};
        /* distinct values, so "heaviest first" is checkable: sample i weighs i + 1 */
        smp[i] = (win_sample_in){.stack = 0,
                                 .n_attrs = 1,
                                 .attrs = &attrs[i],
                                 .value = (int64_t)i + 1,
                                 .time_ns = FX_T0};
    }
    win_config cfg;
    win_config_defaults(&cfg);
    win_store *st = win_store_new(&cfg);
    assert_non_null(st);
    static const win_attr res[] = {{"service.name", "deep-labels"}};
    win_stack_in stack = {idx, DEPTH};
    win_batch b = {"cpu:nanoseconds", res, 1, frames, DEPTH, &stack, 1, smp, N, NULL, false};
    char err[256] = "";
    win_add_result r;
    assert_int_equal(win_store_add(st, &b, FX_T0 + 60 * FX_SEC, &r, err, sizeof err), 0);
    win_merged *m = fx_merge(st, "cpu:nanoseconds", true);
    assert_non_null(m);
    assert_int_equal(m->total, (int64_t)N * (N + 1) / 2);
    if (!m->labeled)
        skip();

    /* the default limits: labels kept within QUERY_PPROF_LABEL_BYTES encoded (the full
     * profile would be ~170 MB), and the gzip stream inflates to exactly what was counted */
    uint8_t *gz = NULL;
    size_t gz_len = 0;
    query_pprof_info info;
    assert_int_equal(query_export_pprof(m, NULL, &info, &gz, &gz_len, err, sizeof err), 0);
    print_message("defaults: %llu samples, %llu bytes encoded, %zu gzipped, %llu folded\n",
                  (unsigned long long)info.samples, (unsigned long long)info.encoded_bytes, gz_len,
                  (unsigned long long)info.folded);
    assert_true(info.encoded_bytes <= QUERY_PPROF_LABEL_BYTES);
    assert_true(info.folded > 0 && info.folded < N);
    assert_int_equal(info.samples, N - info.folded + 1);
    assert_true(gz_len < info.encoded_bytes / 8); /* one stack repeated: compresses well */
    assert_int_equal(inflated_size(gz, gz_len), info.encoded_bytes);
    free(gz);

    /* a 2 MiB limit, decoded: every sample is the whole stack, the labeled ones are the
     * heaviest, and one unlabelled sample carries the rest exactly */
    query_pprof_opts o = {(uint64_t)2 << 20, 0, 0};
    pb_profile *p = export_opts(m, &o, &info);
    check_structure(p);
    assert_true(info.encoded_bytes <= o.max_bytes);
    assert_int_equal(p->n_sample, info.samples);
    uint64_t kept = N - info.folded;
    assert_int_equal(p->n_sample, kept + 1);
    assert_true(kept > 100);
    int64_t total = 0, unlabelled = 0, min_labeled = INT64_MAX;
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *smpl = p->sample[i];
        assert_int_equal(smpl->n_location_id, DEPTH);
        for (size_t k = 0; k < DEPTH; k++)
            assert_int_equal(smpl->location_id[k], p->sample[0]->location_id[k]);
        assert_string_equal(loc_fn(p, smpl->location_id[0]), "f0");
        assert_string_equal(loc_fn(p, smpl->location_id[DEPTH - 1]), "f4095");
        total += smpl->value[0];
        if (label_of(p, smpl, "thread.id")) {
            if (smpl->value[0] < min_labeled)
                min_labeled = smpl->value[0];
        } else {
            assert_int_equal(smpl->n_label, 0);
            unlabelled += smpl->value[0];
        }
    }
    assert_int_equal(total, m->total);
    int64_t folded = (int64_t)info.folded;
    assert_int_equal(unlabelled, folded * (folded + 1) / 2); /* the lightest N - kept */
    assert_int_equal(info.folded_value, unlabelled);
    assert_int_equal(min_labeled, folded + 1);
    perftools__profiles__profile__free_unpacked(p, NULL);

    /* a label budget smaller than the stack itself: every label folds, the export stands */
    o = (query_pprof_opts){0, 4096, 0};
    p = export_opts(m, &o, &info);
    assert_int_equal(p->n_sample, 1);
    assert_int_equal(p->sample[0]->n_label, 0);
    assert_int_equal(p->sample[0]->value[0], m->total);
    assert_int_equal(info.folded, N);
    perftools__profiles__profile__free_unpacked(p, NULL);

    /* too little room even for the stack itself: refused, saying why */
    o = (query_pprof_opts){4096, 0, 0};
    gz = NULL;
    assert_int_equal(query_export_pprof(m, &o, &info, &gz, &gz_len, err, sizeof err), -1);
    assert_null(gz);
    assert_non_null(strstr(err, "even without sample labels"));
    win_merged_free(m);

    /* and unlabelled: one sample, nothing folded */
    m = fx_merge(st, "cpu:nanoseconds", false);
    assert_int_equal(query_export_pprof(m, NULL, &info, &gz, &gz_len, err, sizeof err), 0);
    assert_int_equal(info.samples, 1);
    assert_int_equal(info.folded, 0);
    free(gz);
    win_merged_free(m);
    win_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_hand),
        cmocka_unit_test(test_export_labels),
        cmocka_unit_test(test_export_random),
        cmocka_unit_test(test_export_many_labels_on_a_deep_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
