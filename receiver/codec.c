/* receiver/codec.c — header parsing, bounded gunzip and response encoding for the OTLP
 * listeners. Pure functions: no translate/, gRPC or MHD symbols, so unit tests link this
 * file alone. */
#include "receiver/receiver_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* ---- headers ----------------------------------------------------------------- */

/* Copies the media type (before any ';' parameter), trimmed, into `out`. Returns its
 * length, or -1 when it does not fit (which no type we accept would). */
static int media_type(const char *header, char *out, size_t out_len)
{
    const char *p = header;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *end = p;
    while (*end && *end != ';')
        end++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - p);
    if (n >= out_len)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return (int)n;
}

otlp__content_type otlp__parse_content_type(const char *header)
{
    if (!header)
        return OTLP__CT_NONE;
    char type[64];
    int n = media_type(header, type, sizeof type);
    if (n == 0)
        return OTLP__CT_NONE;
    if (n < 0)
        return OTLP__CT_OTHER;
    if (strcasecmp(type, "application/x-protobuf") == 0)
        return OTLP__CT_PROTOBUF;
    if (strcasecmp(type, "application/json") == 0)
        return OTLP__CT_JSON;
    return OTLP__CT_OTHER;
}

otlp__encoding otlp__parse_content_encoding(const char *header)
{
    if (!header)
        return OTLP__ENC_IDENTITY;
    char enc[32];
    int n = media_type(header, enc, sizeof enc);
    if (n == 0 || (n > 0 && strcasecmp(enc, "identity") == 0))
        return OTLP__ENC_IDENTITY;
    if (n > 0 && strcasecmp(enc, "gzip") == 0)
        return OTLP__ENC_GZIP;
    return OTLP__ENC_OTHER;
}

/* ---- gunzip ------------------------------------------------------------------ */

/* zlib counts in uInt: feed it at most this much at a time. */
#define ZCHUNK ((size_t)1 << 30)

base_err otlp__gunzip(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len,
                      char *err, size_t err_len)
{
    *out = NULL;
    *out_len = 0;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 15 + 32: gzip or zlib header, detected */
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        snprintf(err, err_len, "cannot initialise zlib");
        return BASE_ERR_NOMEM;
    }
    size_t cap = len > SIZE_MAX / 4 ? SIZE_MAX : len * 4;
    if (cap < 16384)
        cap = 16384;
    if (cap > max_out)
        cap = max_out;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) {
        inflateEnd(&zs);
        return BASE_ERR_NOMEM;
    }
    size_t in_pos = 0, pos = 0;
    uint8_t probe;
    base_err rc = BASE_OK;
    bool members = false; /* saw at least one complete gzip member */
    for (;;) {
        if (zs.avail_in == 0 && in_pos < len) {
            size_t n = len - in_pos < ZCHUNK ? len - in_pos : ZCHUNK;
            zs.next_in = (Bytef *)(uintptr_t)(in + in_pos);
            zs.avail_in = (uInt)n;
            in_pos += n;
        }
        bool probing = false;
        if (pos == cap && cap < max_out) {
            size_t ncap = cap > max_out / 2 ? max_out : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                rc = BASE_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        if (pos == cap) {
            /* Full at the cap: one more byte of output means the message is too large. */
            zs.next_out = &probe;
            zs.avail_out = 1;
            probing = true;
        } else {
            size_t room = cap - pos < ZCHUNK ? cap - pos : ZCHUNK;
            zs.next_out = buf + pos;
            zs.avail_out = (uInt)room;
        }
        uInt before_out = zs.avail_out;
        uInt before_in = zs.avail_in;
        int r = inflate(&zs, Z_NO_FLUSH);
        size_t produced = before_out - zs.avail_out;
        if (probing && produced) {
            rc = BASE_ERR_TOO_LARGE;
            snprintf(err, err_len, "decompressed message is larger than %zu bytes", max_out);
            break;
        }
        if (!probing)
            pos += produced;
        if (r == Z_STREAM_END) {
            members = true;
            if (zs.avail_in == 0 && in_pos == len)
                break;
            /* concatenated gzip members are one stream (RFC 1952 2.2) */
            if (inflateReset(&zs) != Z_OK) {
                rc = BASE_ERR_DECODE;
                snprintf(err, err_len, "gzip: cannot continue after member");
                break;
            }
            continue;
        }
        if (r == Z_OK)
            continue;
        if (r == Z_BUF_ERROR) {
            bool progress = produced || before_in != zs.avail_in;
            if (!progress && zs.avail_in == 0 && in_pos == len) {
                rc = BASE_ERR_DECODE;
                snprintf(err, err_len, "gzip stream is truncated");
                break;
            }
            continue;
        }
        rc = r == Z_MEM_ERROR ? BASE_ERR_NOMEM : BASE_ERR_DECODE;
        snprintf(err, err_len, "gzip: %s", zs.msg ? zs.msg : "corrupt stream");
        break;
    }
    inflateEnd(&zs);
    if (rc == BASE_OK && !members) {
        rc = BASE_ERR_DECODE;
        snprintf(err, err_len, "gzip stream is truncated");
    }
    if (rc != BASE_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = pos;
    return BASE_OK;
}

/* ---- responses ----------------------------------------------------------------- */

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
    export_response;
typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesPartialSuccess
    partial_success;

static bool has_partial_success(const tr_result *res)
{
    return res->profiles_rejected > 0 || res->error_message[0] != '\0';
}

/* error_message is a fixed array that translate/ fills; never trust it to be terminated */
static size_t message_len(const tr_result *res)
{
    return strnlen(res->error_message, sizeof res->error_message);
}

base_err otlp__encode_response_pb(const tr_result *res, base_arena *arena, uint8_t **out,
                                  size_t *out_len)
{
    export_response resp =
        OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_SERVICE_RESPONSE__INIT;
    partial_success ps =
        OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_PARTIAL_SUCCESS__INIT;
    if (has_partial_success(res)) {
        ps.rejected_profiles =
            res->profiles_rejected > INT64_MAX ? INT64_MAX : (int64_t)res->profiles_rejected;
        ps.error_message = base_arena_strndup(arena, res->error_message, message_len(res));
        if (!ps.error_message)
            return BASE_ERR_NOMEM;
        resp.partial_success = &ps;
    }
    size_t n =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__get_packed_size(
            &resp);
    uint8_t *buf = base_arena_alloc(arena, n ? n : 1);
    if (!buf)
        return BASE_ERR_NOMEM;
    *out_len =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__pack(
            &resp, buf);
    *out = buf;
    return BASE_OK;
}

/* Length of a valid UTF-8 sequence at s (at most `left` bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* Writes `s` as a JSON string literal (quotes included) to `out` if non-NULL; returns the
 * length. Invalid UTF-8 becomes U+FFFD: the message may quote hostile bytes. */
static size_t json_quote(const char *s, size_t len, char *out)
{
    size_t n = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (out)                                                                                   \
            out[n] = (char)(ch);                                                                   \
        n++;                                                                                       \
    } while (0)
    PUT('"');
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT(c);
            i++;
        } else if (c < 0x20) {
            char esc[7];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            for (int k = 0; k < 6; k++)
                PUT(esc[k]);
            i++;
        } else {
            size_t sl = utf8_seq(u + i, len - i);
            if (sl == 0) {
                static const char repl[] = "\\ufffd";
                for (int k = 0; k < 6; k++)
                    PUT(repl[k]);
                i++;
            } else {
                for (size_t k = 0; k < sl; k++)
                    PUT(u[i + k]);
                i += sl;
            }
        }
    }
    PUT('"');
#undef PUT
    return n;
}

base_err otlp__encode_response_json(const tr_result *res, base_arena *arena, char **out,
                                    size_t *out_len)
{
    if (!has_partial_success(res)) {
        *out = base_arena_strndup(arena, "{}", 2);
        *out_len = 2;
        return *out ? BASE_OK : BASE_ERR_NOMEM;
    }
    size_t mlen = message_len(res);
    size_t qlen = json_quote(res->error_message, mlen, NULL);
    char head[96];
    /* proto3 JSON renders int64 as a string */
    int hn = snprintf(head, sizeof head, "{\"partialSuccess\":{\"rejectedProfiles\":\"%llu\"",
                      (unsigned long long)res->profiles_rejected);
    static const char key[] = ",\"errorMessage\":";
    size_t total = (size_t)hn + (mlen ? sizeof key - 1 + qlen : 0) + 2;
    char *buf = base_arena_alloc(arena, total + 1);
    if (!buf)
        return BASE_ERR_NOMEM;
    size_t n = 0;
    memcpy(buf, head, (size_t)hn);
    n += (size_t)hn;
    if (mlen) {
        memcpy(buf + n, key, sizeof key - 1);
        n += sizeof key - 1;
        n += json_quote(res->error_message, mlen, buf + n);
    }
    buf[n++] = '}';
    buf[n++] = '}';
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return BASE_OK;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

base_err otlp__encode_status_pb(int code, const char *message, base_arena *arena, uint8_t **out,
                                size_t *out_len)
{
    size_t mlen = message ? strlen(message) : 0;
    uint8_t *buf = base_arena_alloc(arena, 1 + 10 + 1 + 10 + mlen);
    if (!buf)
        return BASE_ERR_NOMEM;
    size_t n = 0;
    if (code != 0) {
        buf[n++] = 0x08; /* field 1 (code), varint; int32 sign-extends like protobuf does */
        n += put_varint(buf + n, (uint64_t)(int64_t)code);
    }
    if (mlen) {
        buf[n++] = 0x12; /* field 2 (message), length-delimited */
        n += put_varint(buf + n, mlen);
        memcpy(buf + n, message, mlen);
        n += mlen;
    }
    *out = buf;
    *out_len = n;
    return BASE_OK;
}

base_err otlp__encode_status_json(int code, const char *message, base_arena *arena, char **out,
                                  size_t *out_len)
{
    const char *msg = message ? message : "";
    size_t mlen = strlen(msg);
    size_t qlen = json_quote(msg, mlen, NULL);
    char head[48];
    int hn = snprintf(head, sizeof head, "{\"code\":%d,\"message\":", code);
    char *buf = base_arena_alloc(arena, (size_t)hn + qlen + 2);
    if (!buf)
        return BASE_ERR_NOMEM;
    memcpy(buf, head, (size_t)hn);
    size_t n = (size_t)hn;
    n += json_quote(msg, mlen, buf + n);
    buf[n++] = '}';
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return BASE_OK;
}

otlp__status otlp__status_of(base_err kind)
{
    switch (kind) {
    case BASE_OK:
        return (otlp__status){200, OTLP__GRPC_OK};
    case BASE_ERR_DECODE:
    case BASE_ERR_INVALID:
    case BASE_ERR_BAD_ARGUMENT:
        return (otlp__status){400, OTLP__GRPC_INVALID_ARGUMENT};
    case BASE_ERR_TOO_LARGE:
        return (otlp__status){413, OTLP__GRPC_RESOURCE_EXHAUSTED};
    case BASE_ERR_UNSUPPORTED:
        return (otlp__status){415, OTLP__GRPC_UNIMPLEMENTED};
    case BASE_ERR_NOT_FOUND:
        return (otlp__status){404, OTLP__GRPC_UNIMPLEMENTED};
    case BASE_ERR_NOMEM:
    case BASE_ERR_IO:
    case BASE_ERR_UNAVAILABLE:
    case BASE_ERR_COUNT:
        break;
    }
    return (otlp__status){503, OTLP__GRPC_UNAVAILABLE};
}
