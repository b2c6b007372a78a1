/* Unit tests for receiver/pyroscope.c: Pyroscope's name{labels} (its labelset parser's
 * rules, profile-type suffixes), from/until in every unit attime.Parse takes, multipart
 * bodies as Go's mime/multipart and Node's FormData write them (and broken ones), and the
 * format choice of Pyroscope's ingest handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "receiver/receiver_internal.h"

#define NOW_NS ((int64_t)1700000000 * 1000000000)

typedef struct parsed {
    base_arena arena;
    const char *service;
    const char *keys[OTLP__PYRO_MAX_LABELS], *values[OTLP__PYRO_MAX_LABELS];
    size_t n;
    char err[512];
} parsed;

static base_err parse(parsed *p, const char *name)
{
    base_arena_init(&p->arena, 4096, 1 << 20);
    p->err[0] = '\0';
    return otlp__pyro_parse_name(name, &p->arena, &p->service, p->keys, p->values, &p->n, p->err,
                                 sizeof p->err);
}

static const char *label(const parsed *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->keys[i], key) == 0)
            return p->values[i];
    return NULL;
}

static void test_name(void **state)
{
    (void)state;
    parsed p;
    /* what @pyroscope/nodejs 0.6.4 sends */
    assert_int_equal(parse(&p, "node-burn{otel.scope.name=com.grafana.pyroscope/nodejs,"
                               "process.runtime.version=20.20.2,region=eu-west}"),
                     BASE_OK);
    assert_string_equal(p.service, "node-burn");
    assert_int_equal(p.n, 3);
    assert_string_equal(label(&p, "otel.scope.name"), "com.grafana.pyroscope/nodejs");
    assert_string_equal(label(&p, "region"), "eu-west");
    base_arena_free(&p.arena);

    /* suffixes Pyroscope reads as the profile type; others stay */
    const char *cases[][2] = {
        {"app.cpu", "app"},
        {"app.alloc_objects{}", "app"},
        {"my.app.inuse_space", "my.app"},
        {"com.example.api", "com.example.api"},
        {"app.wall", "app"},
        {".cpu", ".cpu"},
        {"  spaced  ", "spaced"},
        {"svc/part-1_x", "svc/part-1_x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse(&p, cases[i][0]), BASE_OK);
        assert_string_equal(p.service, cases[i][1]);
        base_arena_free(&p.arena);
    }

    /* spaces trimmed, a repeated key keeps the last value, an empty value is no label, a
     * key without '=' before '}' and anything after '}' are ignored (as upstream) */
    assert_int_equal(parse(&p, "app{ a = 1 , b=2,a=3,c=,d}trailing{x=y}"), BASE_OK);
    assert_int_equal(p.n, 2);
    assert_string_equal(label(&p, "a"), "3");
    assert_string_equal(label(&p, "b"), "2");
    assert_null(label(&p, "c"));
    assert_null(label(&p, "x"));
    base_arena_free(&p.arena);
    /* an unterminated label set keeps what a ',' or '}' closed */
    assert_int_equal(parse(&p, "app{a=1,b=2"), BASE_OK);
    assert_int_equal(p.n, 1);
    base_arena_free(&p.arena);
}

static void test_name_refused(void **state)
{
    (void)state;
    parsed p;
    const char *cases[][2] = {
        {NULL, "missing name"},
        {"", "missing name"},
        {"   {a=b}", "missing name"},
        {"bad name", "character 0x20"},
        {"app{bad key=v}", "label name \"bad key\""},
        {"app{k-1=v}", "0x2d"},
        {"app{__name__=x}", "reserved"},
        {"app{=v}", "has no name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse(&p, cases[i][0]), BASE_ERR_BAD_ARGUMENT);
        if (!strstr(p.err, cases[i][1]))
            fail_msg("%s: \"%s\" does not name %s", cases[i][0] ? cases[i][0] : "(null)", p.err,
                     cases[i][1]);
        base_arena_free(&p.arena);
    }
    /* OTLP__PYRO_MAX_LABELS labels are taken, one more is refused whole */
    char name[2048] = "app{";
    for (int i = 0; i < OTLP__PYRO_MAX_LABELS; i++)
        snprintf(name + strlen(name), sizeof name - strlen(name), "k%d=v,", i);
    strcat(name, "}");
    assert_int_equal(parse(&p, name), BASE_OK);
    assert_int_equal(p.n, OTLP__PYRO_MAX_LABELS);
    base_arena_free(&p.arena);
    name[strlen(name) - 1] = '\0';
    strcat(name, "one=more}");
    assert_int_equal(parse(&p, name), BASE_ERR_BAD_ARGUMENT);
    assert_non_null(strstr(p.err, "more than 64 labels"));
    base_arena_free(&p.arena);
    /* the name's length is capped before anything is parsed */
    char *huge = malloc(OTLP__PYRO_MAX_NAME + 2);
    assert_non_null(huge);
    memset(huge, 'a', OTLP__PYRO_MAX_NAME + 1);
    huge[OTLP__PYRO_MAX_NAME + 1] = '\0';
    assert_int_equal(parse(&p, huge), BASE_ERR_BAD_ARGUMENT);
    huge[OTLP__PYRO_MAX_NAME] = '\0';
    assert_int_equal(parse(&p, huge), BASE_OK);
    base_arena_free(&p.arena);
    free(huge);
}

static void test_time(void **state)
{
    (void)state;
    int64_t t;
    const struct {
        const char *text;
        int64_t ns;
    } ok[] = {
        {"1700000001", (int64_t)1700000001 * 1000000000},       /* seconds (Node, Java) */
        {"1700000001234", (int64_t)1700000001234 * 1000000},    /* ms */
        {"1700000001234567", (int64_t)1700000001234567 * 1000}, /* us */
        {"1700000001234567891", 1700000001234567891},           /* ns (Go SDK) */
        {"20231114", (int64_t)1699920000 * 1000000000},         /* YYYYMMDD, UTC */
        {"1_700_000_001", (int64_t)1700000001 * 1000000000},    /* '_' dropped */
        {"now", NOW_NS},
        {"", NOW_NS},
        {"now-1h", NOW_NS - (int64_t)3600 * 1000000000},
        {"now+30s", NOW_NS + (int64_t)30 * 1000000000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(otlp__pyro_parse_time(ok[i].text, NOW_NS, &t), BASE_OK);
        if (t != ok[i].ns)
            fail_msg("%s: %lld, not %lld", ok[i].text, (long long)t, (long long)ok[i].ns);
    }
    /* unreadable, more than 19 digits, or a value whose nanoseconds overflow */
    const char *bad[] = {"yesterday",
                         "now-banana",
                         "99999999999999999999",
                         "12345678901234567890123",
                         "99999999999",
                         "9999999999999999",
                         "99991231" /* a date past 2262 */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (otlp__pyro_parse_time(bad[i], NOW_NS, &t) != BASE_ERR_BAD_ARGUMENT)
            fail_msg("%s was taken as %lld", bad[i], (long long)t);
}

/* A multipart body as Go's mime/multipart writes it (CreateFormFile). */
static size_t go_multipart(char *out, size_t cap, const char *boundary, const char *profile,
                           size_t profile_len, const char *extra_part)
{
    int n = snprintf(out, cap,
                     "--%s\r\nContent-Disposition: form-data; name=\"profile\"; "
                     "filename=\"profile.pprof\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                     boundary);
    memcpy(out + n, profile, profile_len);
    size_t len = (size_t)n + profile_len;
    if (extra_part)
        len += (size_t)snprintf(out + len, cap - len,
                                "\r\n--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                                "filename=\"x.json\"\r\n\r\n{}",
                                boundary, extra_part);
    len += (size_t)snprintf(out + len, cap - len, "\r\n--%s--\r\n", boundary);
    return len;
}

static void test_multipart(void **state)
{
    (void)state;
    char body[4096], err[256];
    const uint8_t *part;
    size_t part_len;
    bool found;
    /* binary content with CRLFs and a near-boundary inside */
    const char profile[] = "\x1f\x8b\r\n--abc\r\n\0zz";
    size_t len = go_multipart(body, sizeof body, "abcdef", profile, sizeof profile - 1,
                              "sample_type_config");
    const char *ct = "multipart/form-data; boundary=abcdef";
    assert_int_equal(otlp__pyro_multipart_part(ct, (uint8_t *)body, len, "profile", &part,
                                               &part_len, &found, err, sizeof err),
                     BASE_OK);
    assert_true(found);
    assert_int_equal(part_len, sizeof profile - 1);
    assert_memory_equal(part, profile, part_len);
    assert_int_equal(otlp__pyro_multipart_part(ct, (uint8_t *)body, len, "sample_type_config",
                                               &part, &part_len, &found, err, sizeof err),
                     BASE_OK);
    assert_true(found);
    assert_int_equal(part_len, 2);
    /* filename="profile" must not be read as name="profile" */
    assert_int_equal(otlp__pyro_multipart_part(ct, (uint8_t *)body, len, "prev_profile", &part,
                                               &part_len, &found, err, sizeof err),
                     BASE_OK);
    assert_false(found);
    /* quoted boundary, preamble (Node's FormData boundary style) */
    char body2[512];
    int n2 = snprintf(body2, sizeof body2,
                      "preamble\r\n------formdata-undici-0123\r\nContent-Disposition: form-data; "
                      "filename=\"profile\"; name=profile\r\n\r\nPPROF\r\n"
                      "------formdata-undici-0123--");
    assert_int_equal(otlp__pyro_multipart_part(
                         "Multipart/Form-Data; charset=x; boundary=\"----formdata-undici-0123\"",
                         (uint8_t *)body2, (size_t)n2, "profile", &part, &part_len, &found, err,
                         sizeof err),
                     BASE_OK);
    assert_true(found);
    assert_int_equal(part_len, 5);
    assert_memory_equal(part, "PPROF", 5);

    /* broken: no boundary parameter, body cut before the closing boundary, no boundary
     * line at all, headers never ending */
    const char *bad_ct[] = {"multipart/form-data", "multipart/form-data; boundary=",
                            "multipart/form-data; boundary=\"unterminated"};
    for (size_t i = 0; i < sizeof bad_ct / sizeof bad_ct[0]; i++)
        assert_int_equal(otlp__pyro_multipart_part(bad_ct[i], (uint8_t *)body, len, "profile",
                                                   &part, &part_len, &found, err, sizeof err),
                         BASE_ERR_DECODE);
    for (size_t cut = 0; cut < len - 8; cut++) {
        base_err rc = otlp__pyro_multipart_part(ct, (uint8_t *)body, cut, "profile", &part,
                                                &part_len, &found, err, sizeof err);
        if (rc == BASE_OK)
            assert_true(found && part + part_len <= (uint8_t *)body + cut);
    }
    assert_int_equal(otlp__pyro_multipart_part(ct, (uint8_t *)"no boundary here", 16, "profile",
                                               &part, &part_len, &found, err, sizeof err),
                     BASE_ERR_DECODE);
    /* more than OTLP__PYRO_MAX_PARTS parts */
    char many[8192];
    size_t m = 0;
    for (int i = 0; i <= OTLP__PYRO_MAX_PARTS; i++)
        m +=
            (size_t)snprintf(many + m, sizeof many - m,
                             "--b\r\nContent-Disposition: form-data; name=\"p%d\"\r\n\r\nx\r\n", i);
    m += (size_t)snprintf(many + m, sizeof many - m, "--b--\r\n");
    assert_int_equal(otlp__pyro_multipart_part("multipart/form-data; boundary=b", (uint8_t *)many,
                                               m, "profile", &part, &part_len, &found, err,
                                               sizeof err),
                     BASE_ERR_DECODE);
    assert_non_null(strstr(err, "more than 16 parts"));
}

static base_err prepare(const otlp__pyro_query *q, const char *ct, const char *body,
                        otlp__pyro_push *out, char *err, size_t err_len, base_arena *arena)
{
    return otlp__pyro_prepare(q, ct, "team-a", (const uint8_t *)body, strlen(body), NOW_NS, arena,
                              out, err, err_len);
}

static const char *attr(const otlp__pyro_push *p, const char *key)
{
    for (size_t i = 0; i < p->n_resource; i++)
        if (strcmp(p->resource[i].key, key) == 0)
            return p->resource[i].value;
    return NULL;
}

static void test_prepare(void **state)
{
    (void)state;
    base_arena arena;
    base_arena_init(&arena, 4096, 1 << 20);
    otlp__pyro_push push;
    char err[600];
    /* raw, format=pprof: the body is the pprof; labels, tenant, spy become attributes */
    otlp__pyro_query q = {.name = "api.cpu{env=prod,service_name=checkout,__private__=x,"
                                  "__session_id__=8f2c}",
                          .from = "1700000001",
                          .until = "1700000011",
                          .format = "pprof",
                          .spy_name = "gospy"};
    assert_int_equal(
        prepare(&q, "application/octet-stream", "PPROF", &push, err, sizeof err, &arena), BASE_OK);
    assert_int_equal(push.pprof_len, 5);
    assert_int_equal(push.from_ns, (int64_t)1700000001 * 1000000000);
    assert_int_equal(push.until_ns, (int64_t)1700000011 * 1000000000);
    /* a service_name label names the service, the application name stays as app_name */
    assert_string_equal(attr(&push, "service.name"), "checkout");
    assert_string_equal(attr(&push, "app_name"), "api");
    assert_string_equal(attr(&push, "env"), "prod");
    assert_string_equal(attr(&push, "tenant"), "team-a");
    assert_string_equal(attr(&push, "pyroscope_spy"), "gospy");
    assert_null(attr(&push, "service_name"));
    /* "__" labels are dropped, but for the Go SDK's session id (as Pyroscope does) */
    assert_null(attr(&push, "__private__"));
    assert_string_equal(attr(&push, "__session_id__"), "8f2c");

    /* multipart: the profile part, whatever format= says (none here) */
    char body[1024];
    size_t len = go_multipart(body, sizeof body, "xyz", "PP", 2, NULL);
    body[len] = '\0';
    otlp__pyro_query mq = {.name = "app"};
    assert_int_equal(
        prepare(&mq, "multipart/form-data; boundary=xyz", body, &push, err, sizeof err, &arena),
        BASE_OK);
    assert_int_equal(push.pprof_len, 2);
    assert_string_equal(attr(&push, "service.name"), "app");
    assert_int_equal(push.from_ns, NOW_NS); /* no from: now */
    len = go_multipart(body, sizeof body, "xyz", "PP", 2, "prev_profile");
    body[len] = '\0';
    assert_int_equal(
        prepare(&mq, "multipart/form-data; boundary=xyz", body, &push, err, sizeof err, &arena),
        BASE_ERR_BAD_ARGUMENT);
    assert_non_null(strstr(err, "prev_profile"));

    /* formats other than pprof: 415 naming what is taken */
    const char *formats[] = {"jfr", "trie", "tree", "lines", "speedscope", "groups", "otlp"};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        otlp__pyro_query fq = {.name = "app", .format = formats[i]};
        assert_int_equal(
            prepare(&fq, "application/octet-stream", "x", &push, err, sizeof err, &arena),
            BASE_ERR_UNSUPPORTED);
        assert_non_null(strstr(err, "format=pprof"));
    }
    /* no format, raw body: Pyroscope's groups text format, refused */
    assert_int_equal(
        prepare(&mq, "application/octet-stream", "foo;bar 1", &push, err, sizeof err, &arena),
        BASE_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "groups"));
    assert_int_equal(prepare(&mq, "binary/octet-stream+trie", "x", &push, err, sizeof err, &arena),
                     BASE_ERR_UNSUPPORTED);
    /* bad times */
    otlp__pyro_query tq = {.name = "app", .format = "pprof", .until = "soon"};
    assert_int_equal(prepare(&tq, NULL, "x", &push, err, sizeof err, &arena),
                     BASE_ERR_BAD_ARGUMENT);
    assert_non_null(strstr(err, "until"));
    base_arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name),    cmocka_unit_test(test_name_refused),
        cmocka_unit_test(test_time),    cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_prepare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
