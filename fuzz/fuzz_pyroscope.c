/* libFuzzer target: Pyroscope's POST /ingest as the OTLP/HTTP listener reads it
 * (receiver/pyroscope.c) and then the pprof converter it hands the profile to. Input: the
 * query string (first line, "name=...&format=...&from=..."; values taken as they are, as
 * after URL decoding), the Content-Type (second line), then the body. A push that prepares
 * is inflated (capped) when gzipped and converted to OTLP, which must decode back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/receiver_internal.h"

#define INFLATE_CAP ((size_t)4 << 20)

/* the value of `key` in "k=v&k=v" (copied into `buf`), or NULL */
static const char *arg(const char *query, const char *key, char *buf, size_t buf_len)
{
    size_t kn = strlen(key);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > kn && p[kn] == '=' && memcmp(p, key, kn) == 0) {
            size_t vn = n - kn - 1 < buf_len - 1 ? n - kn - 1 : buf_len - 1;
            memcpy(buf, p + kn + 1, vn);
            buf[vn] = '\0';
            return buf;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl1 = memchr(data, '\n', size);
    if (!nl1)
        return 0;
    const uint8_t *nl2 = memchr(nl1 + 1, '\n', size - (size_t)(nl1 + 1 - data));
    if (!nl2)
        return 0;
    char *query = strndup((const char *)data, (size_t)(nl1 - data));
    char *ct = strndup((const char *)nl1 + 1, (size_t)(nl2 - nl1 - 1));
    const uint8_t *body = nl2 + 1;
    size_t len = size - (size_t)(body - data);
    /* the body alone, exact size, so ASan sees any read past it */
    uint8_t *exact = malloc(len ? len : 1);
    if (!query || !ct || !exact)
        goto out;
    memcpy(exact, body, len);
    char b[8][OTLP__PYRO_MAX_NAME + 2];
    otlp__pyro_query q = {
        .name = arg(query, "name", b[0], sizeof b[0]),
        .from = arg(query, "from", b[1], sizeof b[1]),
        .until = arg(query, "until", b[2], sizeof b[2]),
        .format = arg(query, "format", b[3], sizeof b[3]),
        .spy_name = arg(query, "spyName", b[4], sizeof b[4]),
    };
    base_arena arena;
    base_arena_init(&arena, 1 << 16, 256u << 20);
    otlp__pyro_push push;
    char err[1024];
    if (otlp__pyro_prepare(&q, ct, "tenant", exact, len, 1700000000000000000, &arena, &push, err,
                           sizeof err) == BASE_OK) {
        if (push.pprof_len && (push.pprof < exact || push.pprof + push.pprof_len > exact + len))
            abort(); /* the profile must lie inside the body */
        if (push.n_resource == 0 || strcmp(push.resource[0].key, "service.name") != 0 ||
            push.n_resource > sizeof push.resource / sizeof push.resource[0])
            abort();
        const uint8_t *pp = push.pprof;
        size_t pp_len = push.pprof_len;
        uint8_t *inflated = NULL;
        if (pp_len >= 2 && pp[0] == 0x1f && pp[1] == 0x8b) {
            if (otlp__gunzip(pp, pp_len, INFLATE_CAP, &inflated, &pp_len, err, sizeof err) !=
                BASE_OK)
                pp_len = 0;
            pp = inflated;
        }
        uint8_t *otlp = NULL;
        size_t otlp_len = 0;
        if (pp_len && tr_pprof_to_otlp(pp, pp_len, push.resource, push.n_resource, push.from_ns,
                                       &arena, &otlp, &otlp_len, err, sizeof err) == BASE_OK) {
            tr_request *req = NULL;
            if (tr_decode_protobuf(otlp, otlp_len, &arena, &req, err, sizeof err) != BASE_OK)
                abort();
        }
        free(inflated);
    }
    base_arena_free(&arena);
out:
    free(exact);
    free(query);
    free(ct);
    return 0;
}
