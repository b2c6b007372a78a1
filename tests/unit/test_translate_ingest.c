/* Validation and normalization of decoded requests (translate/ingest.c), through the
 * tr__ingest_with_sink seam with a recording sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_translate_recorder.h"

typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary Dict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles RProf;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles SProf;
typedef Opentelemetry__Proto__Profiles__V1development__Profile Prof;
typedef Opentelemetry__Proto__Profiles__V1development__Sample Sample;
typedef Opentelemetry__Proto__Profiles__V1development__Stack Stack;
typedef Opentelemetry__Proto__Profiles__V1development__Location Loc;
typedef Opentelemetry__Proto__Profiles__V1development__Line Line;
typedef Opentelemetry__Proto__Profiles__V1development__Function Fn;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping Map;
typedef Opentelemetry__Proto__Profiles__V1development__Link Link;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit KVU;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType VT;
typedef Opentelemetry__Proto__Common__V1__AnyValue Any;
typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Resource__V1__Resource Res;

#define T0   1700000000000000000ull
#define P(x) "resource_profiles[0].scope_profiles[0].profiles[" #x "]"

static base_arena A;

static void *mk(size_t size)
{
    void *p = base_arena_calloc(&A, 1, size);
    assert_non_null(p);
    return p;
}

#define NEW(T, INIT)                                                                               \
    ({                                                                                             \
        T *p_ = mk(sizeof(T));                                                                     \
        T init_ = INIT;                                                                            \
        *p_ = init_;                                                                               \
        p_;                                                                                        \
    })
#define NEW_SAMPLE() NEW(Sample, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__SAMPLE__INIT)
#define NEW_ANY()    NEW(Any, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT)

static int32_t *i32s(size_t n, ...)
{
    int32_t *a = mk(n * sizeof *a);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        a[i] = va_arg(ap, int32_t);
    va_end(ap);
    return a;
}

static int64_t *i64s(size_t n, ...)
{
    int64_t *a = mk(n * sizeof *a);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        a[i] = va_arg(ap, int64_t);
    va_end(ap);
    return a;
}

static uint64_t *u64s(size_t n, ...)
{
    uint64_t *a = mk(n * sizeof *a);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        a[i] = va_arg(ap, uint64_t);
    va_end(ap);
    return a;
}

static const char *const STRINGS[] = {
    "",       "cpu",     "nanoseconds", "main",     "main.go",
    "foo",    "foo.go",  "thread.name", "t1",       "host.name",
    "node-a", "samples", "count",       "/bin/app", "process.executable.build_id.gnu",
    "abc123"};
#define N_STRINGS 16

/* Appends to a pointer table of the dictionary (tables are arena arrays; grow by copy). */
#define PUSH(tbl, n, item)                                                                         \
    do {                                                                                           \
        void **nt_ = mk(((n) + 1) * sizeof(void *));                                               \
        if (n)                                                                                     \
            memcpy(nt_, (tbl), (n) * sizeof(void *));                                              \
        nt_[(n)] = (item);                                                                         \
        (tbl) = (void *)nt_;                                                                       \
        (n)++;                                                                                     \
    } while (0)

static Dict *D;

static Line *line(int32_t fn, int64_t ln)
{
    Line *l = NEW(Line, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT);
    l->function_index = fn;
    l->line = ln;
    return l;
}

static Loc *add_loc(int32_t mapping, uint64_t addr, size_t n_lines, Line *l0, Line *l1)
{
    Loc *l = NEW(Loc, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT);
    l->mapping_index = mapping;
    l->address = addr;
    l->n_lines = n_lines;
    if (n_lines) {
        l->lines = mk(n_lines * sizeof *l->lines);
        l->lines[0] = l0;
        if (n_lines > 1)
            l->lines[1] = l1;
    }
    PUSH(D->location_table, D->n_location_table, l);
    return l;
}

static Stack *add_stack(size_t n, int32_t *locs)
{
    Stack *s = NEW(Stack, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__STACK__INIT);
    s->n_location_indices = n;
    s->location_indices = locs;
    PUSH(D->stack_table, D->n_stack_table, s);
    return s;
}

static Fn *add_fn(int32_t name, int32_t file)
{
    Fn *f = NEW(Fn, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__FUNCTION__INIT);
    f->name_strindex = name;
    f->filename_strindex = file;
    PUSH(D->function_table, D->n_function_table, f);
    return f;
}

static KVU *add_attr(int32_t key, Any *v)
{
    KVU *a = NEW(KVU, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT);
    a->key_strindex = key;
    a->value = v;
    PUSH(D->attribute_table, D->n_attribute_table, a);
    return a;
}

static int32_t add_string(const char *s)
{
    char *c = base_arena_strndup(&A, s, strlen(s));
    PUSH(D->string_table, D->n_string_table, c);
    return (int32_t)(D->n_string_table - 1);
}

static Any *str_any(const char *s)
{
    Any *v = NEW_ANY();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)s;
    return v;
}

static Prof *new_profile(int32_t type, int32_t unit)
{
    Prof *p = NEW(Prof, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILE__INIT);
    p->sample_type = NEW(VT, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__VALUE_TYPE__INIT);
    p->sample_type->type_strindex = type;
    p->sample_type->unit_strindex = unit;
    p->time_unix_nano = T0;
    return p;
}

static void add_sample(Prof *p, Sample *s)
{
    PUSH(p->samples, p->n_samples, s);
}

static RProf *new_resource(tr_request *req)
{
    RProf *rp = NEW(RProf, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__RESOURCE_PROFILES__INIT);
    rp->resource = NEW(Res, OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT);
    SProf *sp = NEW(SProf, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__SCOPE_PROFILES__INIT);
    PUSH(rp->scope_profiles, rp->n_scope_profiles, sp);
    PUSH(req->resource_profiles, req->n_resource_profiles, rp);
    return rp;
}

static void add_profile(RProf *rp, Prof *p)
{
    SProf *sp = rp->scope_profiles[0];
    PUSH(sp->profiles, sp->n_profiles, p);
}

static KV *res_attr(RProf *rp, const char *key, int32_t key_strindex, Any *v)
{
    KV *kv = NEW(KV, OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT);
    if (key)
        kv->key = (char *)key;
    kv->key_strindex = key_strindex;
    kv->value = v;
    PUSH(rp->resource->attributes, rp->resource->n_attributes, kv);
    return kv;
}

static uint8_t TRACE[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static uint8_t SPAN[8] = {21, 22, 23, 24, 25, 26, 27, 28};

/* The base request: one resource, two cpu:nanoseconds profiles (see the comments). */
static tr_request *base_request(void)
{
    tr_request *req = NEW(
        tr_request,
        OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_SERVICE_REQUEST__INIT);
    D = NEW(Dict, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT);
    req->dictionary = D;
    for (int i = 0; i < N_STRINGS; i++)
        add_string(STRINGS[i]);
    add_attr(0, NULL);
    add_attr(7, str_any("t1")); /* 1: thread.name=t1 */
    Any *bid = NEW_ANY();
    bid->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX;
    bid->string_value_strindex = 15;
    add_attr(14, bid); /* 2: build id abc123, strindex form */
    add_fn(0, 0);
    add_fn(3, 4); /* 1: main main.go */
    add_fn(5, 6); /* 2: foo foo.go */
    Map *m0 = NEW(Map, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT);
    PUSH(D->mapping_table, D->n_mapping_table, m0);
    Map *m1 = NEW(Map, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT);
    m1->filename_strindex = 13;
    m1->n_attribute_indices = 1;
    m1->attribute_indices = i32s(1, 2);
    PUSH(D->mapping_table, D->n_mapping_table, m1);
    add_loc(0, 0, 0, NULL, NULL);
    add_loc(1, 0x10, 1, line(1, 10), NULL);        /* 1: main:10 */
    add_loc(1, 0x20, 2, line(2, 20), line(1, 11)); /* 2: foo:20 inlined into main:11 */
    add_loc(1, 0x30, 0, NULL, NULL);               /* 3: unsymbolized */
    add_stack(0, NULL);
    add_stack(1, i32s(1, 1));    /* 1: main */
    add_stack(2, i32s(2, 2, 3)); /* 2: foo;main;0x30 */
    Link *l0 = NEW(Link, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINK__INIT);
    PUSH(D->link_table, D->n_link_table, l0);
    Link *l1 = NEW(Link, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINK__INIT);
    l1->trace_id = (ProtobufCBinaryData){16, TRACE};
    l1->span_id = (ProtobufCBinaryData){8, SPAN};
    PUSH(D->link_table, D->n_link_table, l1);

    RProf *rp = new_resource(req);
    res_attr(rp, "service.name", 0, str_any("svc"));
    Any *node = NEW_ANY();
    node->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX;
    node->string_value_strindex = 10;
    res_attr(rp, NULL, 9, node); /* host.name=node-a, both strindex forms */
    Any *pid = NEW_ANY();
    pid->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    pid->int_value = 42;
    res_attr(rp, "process.pid", 0, pid);

    Prof *p0 = new_profile(1, 2);
    Sample *s = NEW_SAMPLE(); /* values only: lands at time_unix_nano */
    s->stack_index = 1;
    s->n_values = 1;
    s->values = i64s(1, (int64_t)100);
    s->n_attribute_indices = 1;
    s->attribute_indices = i32s(1, 1);
    add_sample(p0, s);
    s = NEW_SAMPLE(); /* values + timestamps, with a link */
    s->stack_index = 2;
    s->n_values = 2;
    s->values = i64s(2, (int64_t)5, (int64_t)7);
    s->n_timestamps_unix_nano = 2;
    s->timestamps_unix_nano = u64s(2, T0 + 1, T0 + 2);
    s->link_index = 1;
    add_sample(p0, s);
    add_profile(rp, p0);

    Prof *p1 = new_profile(1, 2);
    s = NEW_SAMPLE(); /* timestamps only: 1 per timestamp */
    s->stack_index = 1;
    s->n_timestamps_unix_nano = 1;
    s->timestamps_unix_nano = u64s(1, T0 + 3);
    add_sample(p1, s);
    add_profile(rp, p1);
    return req;
}

static Prof *profile_at(tr_request *req, size_t r, size_t p)
{
    return req->resource_profiles[r]->scope_profiles[0]->profiles[p];
}

static recorder R;
static tr_result RES;

static void run(tr_request *req)
{
    rec_free(&R);
    assert_int_equal(tr__ingest_with_sink(req, NULL, 0, (int64_t)T0, &A, rec_sink, &R, &RES),
                     BASE_OK);
    assert_int_equal(R.bad_index, 0);
}

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

#define MAIN_STACK "main(main.go:10)"
#define DEEP_STACK "foo(foo.go:20);main(main.go:11);0x30(/bin/app#abc123)"

/* P1 of the base request was emitted untouched: the neighbour survives. */
static void assert_p1_batch(const rec_batch *b)
{
    assert_string_equal(b->type, "cpu:nanoseconds");
    assert_int_equal(b->n, 1);
    assert_string_equal(b->obs[0].stack, MAIN_STACK);
    assert_int_equal(b->obs[0].value, 1);
    assert_int_equal(b->obs[0].time_ns, (int64_t)(T0 + 3));
}

static void assert_p0_batch(const rec_batch *b)
{
    assert_string_equal(b->type, "cpu:nanoseconds");
    assert_int_equal(b->n, 3);
    assert_string_equal(b->obs[0].stack, MAIN_STACK);
    assert_int_equal(b->obs[0].value, 100);
    assert_int_equal(b->obs[0].time_ns, (int64_t)T0);
    assert_int_equal(b->obs[0].has_link, 0);
}

static void test_valid_request(void **state)
{
    (void)state;
    run(base_request());
    assert_int_equal(RES.profiles_accepted, 2);
    assert_int_equal(RES.profiles_rejected, 0);
    assert_int_equal(RES.samples_stored, 4);
    assert_string_equal(RES.error_message, "");
    assert_int_equal(R.n, 2);
    const rec_batch *b = &R.b[0];
    assert_p0_batch(b);
    assert_string_equal(b->resource, "service.name=svc,host.name=node-a,process.pid=42");
    assert_string_equal(b->obs[0].attrs, "thread.name=t1");
    /* timestamps: one observation each, value[i] at timestamp[i]; inlined foo is the leaf,
     * the unsymbolized caller keeps address, mapping and build id */
    for (int k = 0; k < 2; k++) {
        const rec_obs *o = &b->obs[1 + k];
        assert_string_equal(o->stack, DEEP_STACK);
        assert_int_equal(o->value, k ? 7 : 5);
        assert_int_equal(o->time_ns, (int64_t)(T0 + 1 + (uint64_t)k));
        assert_int_equal(o->has_link, 1);
        assert_memory_equal(o->trace, TRACE, 16);
        assert_memory_equal(o->span, SPAN, 8);
        assert_string_equal(o->attrs, "");
    }
    assert_p1_batch(&R.b[1]);
    assert_string_equal(R.b[1].resource, "service.name=svc,host.name=node-a,process.pid=42");
}

static void test_empty_request(void **state)
{
    (void)state;
    tr_request *req = NEW(
        tr_request,
        OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_SERVICE_REQUEST__INIT);
    run(req);
    assert_int_equal(RES.profiles_accepted, 0);
    assert_int_equal(RES.profiles_rejected, 0);
    assert_int_equal(R.n, 0);
    assert_string_equal(RES.error_message, "");
}

/* Runs a request whose profile `bad` breaks a rule: the message is exact and the other
 * base profile is still emitted. */
static void expect_rejected(tr_request *req, int bad, const char *message)
{
    run(req);
    assert_string_equal(RES.error_message, message);
    assert_int_equal(RES.profiles_rejected, 1);
    assert_int_equal(RES.profiles_accepted, 1);
    assert_int_equal(R.n, 1);
    if (bad == 1)
        assert_p0_batch(&R.b[0]);
    else
        assert_p1_batch(&R.b[0]);
}

static void test_stack_index_out_of_range(void **state)
{
    (void)state;
    tr_request *req = base_request();
    profile_at(req, 0, 1)->samples[0]->stack_index = 912;
    expect_rejected(req, 1,
                    P(1) ".samples[0].stack_index 912 out of range: stack_table has 3 entries");
    assert_int_equal(RES.samples_rejected, 1);

    req = base_request();
    profile_at(req, 0, 1)->samples[0]->stack_index = -1;
    expect_rejected(req, 1,
                    P(1) ".samples[0].stack_index -1 out of range: stack_table has 3 entries");
}

static void test_location_index_out_of_range(void **state)
{
    (void)state;
    tr_request *req = base_request();
    add_stack(2, i32s(2, 1, 7));
    profile_at(req, 0, 1)->samples[0]->stack_index = 3;
    expect_rejected(req, 1,
                    P(1) ".samples[0]: stack_table[3].location_indices[1] 7 out of range: "
                         "location_table has 4 entries");
}

/* The window refuses a whole batch with a stack over WIN_MAX_STACK_DEPTH frames, and a
 * batch carries every stack built so far for the request: the depth is checked per profile
 * here, counting inlined lines as frames, so only the deep profile is rejected. */
static void test_stack_depth_cap(void **state)
{
    (void)state;
    size_t n = WIN_MAX_STACK_DEPTH / 2; /* location 2 has two lines: two frames */
    tr_request *req = base_request();
    int32_t *locs = mk((n + 1) * sizeof *locs);
    for (size_t i = 0; i < n; i++)
        locs[i] = 2;
    locs[n] = 1;
    add_stack(n + 1, locs); /* 3: 16385 frames */
    add_stack(n, locs);     /* 4: 16384 frames, at the cap */
    profile_at(req, 0, 1)->samples[0]->stack_index = 3;
    expect_rejected(req, 1,
                    P(1) ".samples[0]: stack_table[3] has 16385 frames, over the limit of 16384");

    req = base_request();
    add_stack(n + 1, locs);
    add_stack(n, locs);
    profile_at(req, 0, 1)->samples[0]->stack_index = 4;
    run(req);
    assert_int_equal(RES.profiles_rejected, 0);
    assert_int_equal(RES.profiles_accepted, 2);
    assert_int_equal(R.n, 2);
}

static void test_function_and_string_index(void **state)
{
    (void)state;
    tr_request *req = base_request();
    add_loc(1, 0x40, 1, line(9, 1), NULL);
    add_stack(1, i32s(1, 4));
    profile_at(req, 0, 1)->samples[0]->stack_index = 3;
    expect_rejected(req, 1,
                    P(1) ".samples[0]: location_table[4].lines[0].function_index 9 out of range: "
                         "function_table has 3 entries");

    req = base_request();
    add_fn(99, 0);
    add_loc(1, 0x40, 1, line(3, 1), NULL);
    add_stack(1, i32s(1, 4));
    profile_at(req, 0, 0)->samples[0]->stack_index = 3;
    expect_rejected(req, 0,
                    P(0) ".samples[0]: function_table[3].name_strindex 99 out of range: "
                         "string_table has 16 entries");

    req = base_request();
    profile_at(req, 0, 1)->sample_type->unit_strindex = -3;
    expect_rejected(req, 1,
                    P(1) ".sample_type.unit_strindex -3 out of range: string_table has 16 entries");
}

static void test_mapping_index_out_of_range(void **state)
{
    (void)state;
    tr_request *req = base_request();
    add_loc(5, 0x40, 0, NULL, NULL);
    add_stack(1, i32s(1, 4));
    profile_at(req, 0, 1)->samples[0]->stack_index = 3;
    expect_rejected(req, 1,
                    P(1) ".samples[0]: location_table[4].mapping_index 5 out of range: "
                         "mapping_table has 2 entries");
}

static void test_attribute_indices(void **state)
{
    (void)state;
    tr_request *req = base_request();
    Sample *s = profile_at(req, 0, 1)->samples[0];
    s->n_attribute_indices = 2;
    s->attribute_indices = i32s(2, 1, 5);
    expect_rejected(req, 1,
                    P(1) ".samples[0].attribute_indices[1] 5 out of range: attribute_table has 3 "
                         "entries");

    req = base_request();
    add_attr(50, str_any("x"));
    s = profile_at(req, 0, 1)->samples[0];
    s->n_attribute_indices = 1;
    s->attribute_indices = i32s(1, 3);
    expect_rejected(req, 1,
                    P(1) ".samples[0]: attribute_table[3].key_strindex 50 out of range: "
                         "string_table has 16 entries");

    req = base_request();
    Prof *p = profile_at(req, 0, 1);
    p->n_attribute_indices = 1;
    p->attribute_indices = i32s(1, -2);
    expect_rejected(req, 1,
                    P(1) ".attribute_indices[0] -2 out of range: attribute_table has 3 entries");

    /* location attributes are checked too (only for locations actually used) */
    req = base_request();
    Loc *l = D->location_table[1];
    l->n_attribute_indices = 1;
    l->attribute_indices = i32s(1, 8);
    run(req);
    assert_int_equal(RES.profiles_rejected, 2);
    assert_string_equal(RES.error_message,
                        P(0) ".samples[0]: location_table[1].attribute_indices[0] 8 out of range: "
                             "attribute_table has 3 entries");
    assert_int_equal(R.n, 0);
}

/* Records, per observation, the attribute array's address and text. */
typedef struct ptr_rec {
    const win_attr *attrs[8];
    char text[8][128];
    size_t n;
} ptr_rec;

static int ptr_sink(void *ctx, const win_batch *b, win_add_result *added, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    ptr_rec *r = ctx;
    for (uint32_t i = 0; i < b->n_samples && r->n < 8; i++, r->n++) {
        const win_sample_in *o = &b->samples[i];
        r->attrs[r->n] = o->attrs;
        r->text[r->n][0] = '\0';
        for (uint32_t k = 0; k < o->n_attrs; k++) {
            size_t used = strlen(r->text[r->n]);
            snprintf(r->text[r->n] + used, sizeof r->text[0] - used, "%s%s=%s", k ? "," : "",
                     o->attrs[k].key, o->attrs[k].value);
        }
    }
    added->samples_stored = b->n_samples;
    return 0;
}

/* Equal attribute lists share one array across the request (the store's label cache is
 * keyed by its address), but only with the same profile attributes appended. */
static void test_equal_attribute_lists_shared(void **state)
{
    (void)state;
    tr_request *req = base_request();
    Prof *p1 = profile_at(req, 0, 1);
    Sample *s = p1->samples[0]; /* equal to p0 samples[0]'s list, another array */
    s->n_attribute_indices = 1;
    s->attribute_indices = i32s(1, 1);
    Prof *p2 = new_profile(1, 2); /* the same list, with a profile attribute */
    p2->n_attribute_indices = 1;
    p2->attribute_indices = i32s(1, 2);
    s = NEW_SAMPLE();
    s->stack_index = 1;
    s->n_timestamps_unix_nano = 1;
    s->timestamps_unix_nano = u64s(1, T0 + 4);
    s->n_attribute_indices = 1;
    s->attribute_indices = i32s(1, 1);
    add_sample(p2, s);
    s = NEW_SAMPLE(); /* another list in p2 */
    s->stack_index = 1;
    s->n_timestamps_unix_nano = 1;
    s->timestamps_unix_nano = u64s(1, T0 + 5);
    s->n_attribute_indices = 2;
    s->attribute_indices = i32s(2, 1, 1);
    add_sample(p2, s);
    add_profile(req->resource_profiles[0], p2);

    ptr_rec pr;
    memset(&pr, 0, sizeof pr);
    assert_int_equal(tr__ingest_with_sink(req, NULL, 0, (int64_t)T0, &A, ptr_sink, &pr, &RES),
                     BASE_OK);
    assert_int_equal(RES.profiles_accepted, 3);
    /* p0: samples[0] at T0 (thread.name), samples[1] twice (none); p1: one; p2: two */
    assert_int_equal(pr.n, 6);
    assert_string_equal(pr.text[0], "thread.name=t1");
    assert_null(pr.attrs[1]);
    assert_string_equal(pr.text[3], "thread.name=t1");
    assert_ptr_equal(pr.attrs[3], pr.attrs[0]);
    assert_string_equal(pr.text[4], "thread.name=t1,process.executable.build_id.gnu=abc123");
    assert_ptr_not_equal(pr.attrs[4], pr.attrs[0]);
    assert_string_equal(pr.text[5], "thread.name=t1,thread.name=t1,"
                                    "process.executable.build_id.gnu=abc123");
    assert_ptr_not_equal(pr.attrs[5], pr.attrs[4]);
}

static void test_link_rules(void **state)
{
    (void)state;
    tr_request *req = base_request();
    profile_at(req, 0, 1)->samples[0]->link_index = 4;
    expect_rejected(req, 1, P(1) ".samples[0].link_index 4 out of range: link_table has 2 entries");

    req = base_request();
    D->link_table[1]->trace_id.len = 15;
    expect_rejected(req, 0, P(0) ".samples[1]: link_table[1].trace_id has 15 bytes, want 16");

    req = base_request();
    D->link_table[1]->span_id.len = 9;
    expect_rejected(req, 0, P(0) ".samples[1]: link_table[1].span_id has 9 bytes, want 8");

    /* an all-zero link is no link */
    req = base_request();
    static uint8_t zeros[16];
    D->link_table[1]->trace_id.data = zeros;
    D->link_table[1]->span_id.data = zeros;
    run(req);
    assert_int_equal(RES.profiles_accepted, 2);
    assert_int_equal(R.b[0].obs[1].has_link, 0);
}

static void test_values_timestamps_rules(void **state)
{
    (void)state;
    tr_request *req = base_request();
    Sample *s = profile_at(req, 0, 1)->samples[0];
    s->n_values = 2;
    s->values = i64s(2, (int64_t)1, (int64_t)2);
    expect_rejected(req, 1,
                    P(1) ".samples[0]: values has 2 entries but timestamps_unix_nano has 1");

    req = base_request();
    s = profile_at(req, 0, 1)->samples[0];
    s->n_timestamps_unix_nano = 0;
    expect_rejected(req, 1, P(1) ".samples[0]: sample has neither values nor timestamps_unix_nano");
}

static void test_first_problem_by_path_and_cache(void **state)
{
    (void)state;
    /* both profiles use the same broken location: both are rejected (the cached verdict
     * must not let the second one through) and the message names the first */
    tr_request *req = base_request();
    D->location_table[1]->mapping_index = 9;
    run(req);
    assert_int_equal(RES.profiles_rejected, 2);
    assert_int_equal(RES.profiles_accepted, 0);
    assert_int_equal(RES.samples_rejected, 4);
    assert_string_equal(RES.error_message,
                        P(0) ".samples[0]: location_table[1].mapping_index 9 out of range: "
                             "mapping_table has 2 entries");
    assert_int_equal(R.n, 0);
}

static void test_lenient_zero_with_empty_tables(void **state)
{
    (void)state;
    for (int with_dict = 0; with_dict < 2; with_dict++) {
        tr_request *req = NEW(
            tr_request,
            OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_SERVICE_REQUEST__INIT);
        if (with_dict)
            req->dictionary =
                NEW(Dict, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT);
        RProf *rp = new_resource(req);
        Prof *p = new_profile(0, 0);
        p->n_attribute_indices = 1;
        p->attribute_indices = i32s(1, 0);
        Sample *s = NEW_SAMPLE();
        s->n_timestamps_unix_nano = 1;
        s->timestamps_unix_nano = u64s(1, T0 + 5);
        s->n_attribute_indices = 1;
        s->attribute_indices = i32s(1, 0);
        add_sample(p, s);
        add_profile(rp, p);
        run(req);
        assert_string_equal(RES.error_message, "");
        assert_int_equal(RES.profiles_accepted, 1);
        assert_int_equal(R.n, 1);
        assert_string_equal(R.b[0].type, ":");
        assert_int_equal(R.b[0].n, 1);
        assert_string_equal(R.b[0].obs[0].stack, "");
        assert_string_equal(R.b[0].obs[0].attrs, "");
        assert_int_equal(R.b[0].obs[0].value, 1);
        assert_int_equal(R.b[0].obs[0].time_ns, (int64_t)(T0 + 5));

        /* but index 1 into an empty table is out of range */
        s->stack_index = 1;
        run(req);
        assert_string_equal(RES.error_message,
                            P(0) ".samples[0].stack_index 1 out of range: stack_table has 0 "
                                 "entries");
    }
}

static void test_resource_attribute_invalid(void **state)
{
    (void)state;
    tr_request *req = base_request();
    req->resource_profiles[0]->resource->attributes[1]->key_strindex = 99;
    RProf *rp2 = new_resource(req); /* a healthy neighbour resource */
    res_attr(rp2, "service.name", 0, str_any("other"));
    Prof *p = new_profile(1, 2);
    add_sample(p, profile_at(req, 0, 1)->samples[0]);
    add_profile(rp2, p);
    run(req);
    assert_int_equal(RES.profiles_rejected, 2);
    assert_int_equal(RES.profiles_accepted, 1);
    assert_string_equal(RES.error_message,
                        "resource_profiles[0].resource.attributes[1].key_strindex 99 out of "
                        "range: string_table has 16 entries");
    assert_int_equal(R.n, 1);
    assert_string_equal(R.b[0].resource, "service.name=other");
}

static Prof *count_profile(int64_t period)
{
    Prof *p = new_profile(11, 12); /* samples:count */
    p->period_type = NEW(VT, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__VALUE_TYPE__INIT);
    p->period_type->type_strindex = 1;
    p->period_type->unit_strindex = 2;
    p->period = period;
    Sample *s = NEW_SAMPLE();
    s->stack_index = 2;
    s->n_timestamps_unix_nano = 2;
    s->timestamps_unix_nano = u64s(2, T0 + 10, T0 + 20);
    add_sample(p, s);
    s = NEW_SAMPLE();
    s->stack_index = 1;
    s->n_values = 1;
    s->values = i64s(1, (int64_t)3);
    add_sample(p, s);
    return p;
}

static tr_request *count_request(int64_t period, bool with_native)
{
    tr_request *req = base_request();
    RProf *rp = req->resource_profiles[0];
    if (!with_native)
        rp->scope_profiles[0]->n_profiles = 0;
    add_profile(rp, count_profile(period));
    return req;
}

static void test_cpu_derivation(void **state)
{
    (void)state;
    run(count_request(10000000, false));
    assert_int_equal(RES.profiles_accepted, 1);
    assert_int_equal(RES.samples_stored, 3); /* the derived batch restates, not adds */
    assert_int_equal(R.n, 2);
    assert_string_equal(R.b[0].type, "samples:count");
    assert_string_equal(R.b[1].type, "cpu:nanoseconds");
    assert_int_equal(R.b[0].n, 3);
    assert_int_equal(R.b[1].n, 3);
    int64_t want_count[] = {1, 1, 3};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(R.b[0].obs[k].value, want_count[k]);
        assert_int_equal(R.b[1].obs[k].value, want_count[k] * 10000000);
        assert_string_equal(R.b[1].obs[k].stack, R.b[0].obs[k].stack);
        assert_int_equal(R.b[1].obs[k].time_ns, R.b[0].obs[k].time_ns);
    }
    assert_int_equal(R.b[1].obs[1].time_ns, (int64_t)(T0 + 20));
    assert_string_equal(R.b[1].resource, R.b[0].resource);

    /* the exception: a native cpu:nanoseconds profile of the same resource */
    run(count_request(10000000, true));
    assert_int_equal(RES.profiles_accepted, 3);
    assert_int_equal(R.n, 3);
    for (size_t i = 0; i < R.n; i++)
        if (strcmp(R.b[i].type, "cpu:nanoseconds") == 0)
            assert_int_not_equal(R.b[i].obs[0].value, 10000000);

    /* ... also when the same resource comes in another resource_profiles entry */
    tr_request *req = count_request(10000000, false);
    RProf *twin = new_resource(req);
    RProf *rp0 = req->resource_profiles[0];
    twin->resource = rp0->resource;
    add_profile(twin, base_request()->resource_profiles[0]->scope_profiles[0]->profiles[1]);
    run(req);
    assert_int_equal(R.n, 2);
    assert_string_equal(R.b[0].type, "samples:count");
    assert_string_equal(R.b[1].type, "cpu:nanoseconds");
    assert_int_equal(R.b[1].n, 1);

    /* no period: nothing to derive */
    run(count_request(0, false));
    assert_int_equal(R.n, 1);
    assert_string_equal(R.b[0].type, "samples:count");
}

static void test_cpu_derivation_overflow(void **state)
{
    (void)state;
    tr_request *req = count_request(10000000, false);
    Sample *s = profile_at(req, 0, 0)->samples[1];
    s->values[0] = INT64_MAX / 1000;
    run(req);
    assert_int_equal(RES.profiles_rejected, 1);
    assert_int_equal(R.n, 0);
    assert_string_equal(RES.error_message,
                        P(0) ".samples[1]: values sum 9223372036854775 overflows int64 when "
                             "multiplied by period");

    req = base_request();
    s = profile_at(req, 0, 0)->samples[0];
    s->n_values = 2;
    s->values = i64s(2, INT64_MAX, (int64_t)1);
    expect_rejected(req, 0, P(0) ".samples[0].values[1] 1 overflows int64 when summed");
}

static void test_attribute_value_rendering(void **state)
{
    (void)state;
    tr_request *req = base_request();
    Any *i = NEW_ANY();
    i->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    i->int_value = -7;
    add_attr(add_string("i"), i); /* 3 */
    Any *b = NEW_ANY();
    b->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    b->bool_value = 1;
    add_attr(add_string("b"), b); /* 4 */
    Any *d = NEW_ANY();
    d->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    d->double_value = 1.5;
    add_attr(add_string("d"), d); /* 5 */
    static uint8_t raw[] = {1, 2, 3, 4};
    Any *by = NEW_ANY();
    by->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    by->bytes_value = (ProtobufCBinaryData){4, raw};
    add_attr(add_string("by"), by); /* 6 */
    Any *arr = NEW_ANY();
    arr->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    arr->array_value = NEW(Opentelemetry__Proto__Common__V1__ArrayValue,
                           OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT);
    PUSH(arr->array_value->values, arr->array_value->n_values, str_any("a\"q"));
    PUSH(arr->array_value->values, arr->array_value->n_values, i);
    Any *kvl = NEW_ANY();
    kvl->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    kvl->kvlist_value = NEW(Opentelemetry__Proto__Common__V1__KeyValueList,
                            OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT);
    KV *inner = NEW(KV, OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT);
    inner->key_strindex = 7;
    inner->value = b;
    PUSH(kvl->kvlist_value->values, kvl->kvlist_value->n_values, inner);
    PUSH(arr->array_value->values, arr->array_value->n_values, kvl);
    add_attr(add_string("arr"), arr); /* 7 */
    Sample *s = profile_at(req, 0, 1)->samples[0];
    s->n_attribute_indices = 5;
    s->attribute_indices = i32s(5, 3, 4, 5, 6, 7);
    Prof *p = profile_at(req, 0, 1);
    p->n_attribute_indices = 1;
    p->attribute_indices = i32s(1, 1); /* profile attributes apply to every sample */
    run(req);
    assert_string_equal(RES.error_message, "");
    assert_string_equal(R.b[1].obs[0].attrs,
                        "i=-7,b=true,d=1.5,by=AQIDBA==,arr=[\"a\\\"q\",-7,{\"thread.name\":true}],"
                        "thread.name=t1");
}

static void test_store_failure_counts(void **state)
{
    (void)state;
    tr_request *req = base_request();
    rec_free(&R);
    R.fail_calls = 1;
    assert_int_equal(tr__ingest_with_sink(req, NULL, 0, (int64_t)T0, &A, rec_sink, &R, &RES),
                     BASE_OK);
    assert_int_equal(RES.profiles_accepted, 1);
    assert_int_equal(RES.profiles_rejected, 1);
    assert_int_equal(RES.samples_stored, 1);
    assert_string_equal(RES.error_message, P(0) ": not stored: store says no");
    assert_int_equal(R.n, 1);
    assert_p1_batch(&R.b[0]);
}

static void test_frames_shared_across_batches(void **state)
{
    (void)state;
    /* both profiles use stack 1; the frame/stack arrays are built once per request */
    tr_request *req = base_request();
    run(req);
    assert_string_equal(R.b[0].obs[0].stack, R.b[1].obs[0].stack);
}

/* Frames are built as stacks are validated, into room for 1.5 frames per location that
 * grows when inlining gives more: a stack over many two-line locations (added after the
 * base ones, so the growth happens mid-request) comes out whole and in order, and a stack
 * built for a profile rejected later does not disturb its valid neighbour. */
static void test_frames_grow_with_inlining(void **state)
{
    (void)state;
    tr_request *req = base_request();
    enum { N = 12 };
    int32_t *locs = mk(N * sizeof *locs);
    for (int i = 0; i < N; i++) {
        add_loc(1, 0x100 + (uint64_t)i, 2, line(2, 100 + i), line(1, 200 + i));
        locs[i] = 4 + i;
    }
    add_stack(N, locs); /* 3: 24 frames */
    profile_at(req, 0, 1)->samples[0]->stack_index = 3;
    run(req);
    assert_int_equal(RES.profiles_rejected, 0);
    assert_int_equal(R.n, 2);
    char want[2048] = "";
    for (int i = 0; i < N; i++) {
        char part[96];
        snprintf(part, sizeof part, "%sfoo(foo.go:%d);main(main.go:%d)", i ? ";" : "", 100 + i,
                 200 + i);
        strncat(want, part, sizeof want - strlen(want) - 1);
    }
    assert_string_equal(R.b[1].obs[0].stack, want);

    /* profile 0 is rejected by its last sample, after its first sample's stack (the long
     * one) was built; profile 1 still gets its own stack */
    req = base_request();
    locs = mk(N * sizeof *locs);
    for (int i = 0; i < N; i++) {
        add_loc(1, 0x100 + (uint64_t)i, 2, line(2, 100 + i), line(1, 200 + i));
        locs[i] = 4 + i;
    }
    add_stack(N, locs);
    profile_at(req, 0, 0)->samples[0]->stack_index = 3;
    profile_at(req, 0, 0)->samples[1]->stack_index = 99;
    run(req);
    assert_int_equal(RES.profiles_rejected, 1);
    assert_int_equal(R.n, 1);
    assert_p1_batch(&R.b[0]);
}

static void test_nomem_is_reported(void **state)
{
    (void)state;
    tr_request *req = base_request();
    base_arena small;
    base_arena_init(&small, 256, 512);
    recorder r2;
    memset(&r2, 0, sizeof r2);
    tr_result res;
    assert_int_equal(tr__ingest_with_sink(req, NULL, 0, (int64_t)T0, &small, rec_sink, &r2, &res),
                     BASE_ERR_NOMEM);
    rec_free(&r2);
    base_arena_free(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stack_index_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_location_index_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stack_depth_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_and_string_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapping_index_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attribute_indices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_timestamps_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_problem_by_path_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lenient_zero_with_empty_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_attribute_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_derivation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_derivation_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attribute_value_rendering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_failure_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_shared_across_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_grow_with_inlining, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nomem_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_equal_attribute_lists_shared, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
