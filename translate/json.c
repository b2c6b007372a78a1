/* translate/json.c — OTLP/JSON into the protobuf-c structs of ExportProfilesServiceRequest.
 *
 * Driven by the protobuf-c descriptors, so every message of the schema decodes the same
 * way: lowerCamelCase or snake_case keys (a camel key is mapped to its snake name), 64-bit
 * integers as strings or numbers, trace/span/profile ids as hex, other bytes as base64,
 * unknown keys ignored (OTLP/JSON as specified by opentelemetry-proto). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translate/translate_internal.h"

/* cJSON's allocations go through base_hook_malloc, so a parse that failed for want of
 * memory is told from malformed text (base_alloc_failed). Installed before main: hooks are
 * a global of cJSON, and setting them while another thread parses would race. */
__attribute__((constructor)) static void json_hooks_install(void)
{
    cJSON_Hooks hooks = {base_hook_malloc, free};
    cJSON_InitHooks(&hooks);
}

/* JSON object nesting accepted (AnyValue nests without bound). */
#define TR_MAX_JSON_DEPTH 64
/* A JSON number with more digits than this may not survive a double. */
#define TR_EXACT_DIGITS 15

typedef struct jctx {
    base_arena *arena;
    char path[512];
    size_t plen;
    char *err;
    size_t err_len;
} jctx;

/* Array/object nesting depth at byte `at` of `text` (strings skipped): cJSON stops at
 * CJSON_NESTING_LIMIT and reports that as a plain syntax error, which would mislead. */
static size_t nesting_at(const char *text, size_t at)
{
    size_t depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < at; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\' && i + 1 < at)
                i++;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '[' || ch == '{') {
            depth++;
        } else if ((ch == ']' || ch == '}') && depth) {
            depth--;
        }
    }
    return depth;
}

static size_t path_key(jctx *c, const char *key)
{
    size_t old = c->plen;
    int n = snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s%s", c->plen ? "." : "", key);
    if (n > 0)
        c->plen += (size_t)n < sizeof c->path - c->plen ? (size_t)n : sizeof c->path - c->plen - 1;
    return old;
}

static size_t path_index(jctx *c, size_t i)
{
    size_t old = c->plen;
    int n = snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i);
    if (n > 0)
        c->plen += (size_t)n < sizeof c->path - c->plen ? (size_t)n : sizeof c->path - c->plen - 1;
    return old;
}

static void path_pop(jctx *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static base_err fail(jctx *c, const char *what)
{
    /* a deep path is cut so the reason always fits the message */
    if (c->err && c->err_len) {
        bool cut = c->plen > 300;
        snprintf(c->err, c->err_len, "%.300s%s: %s", c->plen ? c->path : "request",
                 cut ? "..." : "", what);
    }
    return BASE_ERR_DECODE;
}

static base_err nomem(jctx *c)
{
    if (c->err && c->err_len)
        snprintf(c->err, c->err_len, "out of memory decoding the request (per-request arena cap)");
    return BASE_ERR_NOMEM;
}

/* ---- scalars ------------------------------------------------------------------------ */

static bool json_i64(const cJSON *it, int64_t *out)
{
    if (cJSON_IsString(it)) {
        const char *s = it->valuestring;
        char *end;
        if (!*s)
            return false;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || *end)
            return false;
        *out = v;
        return true;
    }
    if (cJSON_IsNumber(it)) {
        double v = it->valuedouble;
        if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
            return false;
        int64_t i = (int64_t)v;
        if ((double)i != v)
            return false;
        *out = i;
        return true;
    }
    return false;
}

static bool json_u64(const cJSON *it, uint64_t *out)
{
    if (cJSON_IsString(it)) {
        const char *s = it->valuestring;
        char *end;
        if (!*s || *s == '-')
            return false;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
            return false;
        *out = v;
        return true;
    }
    if (cJSON_IsNumber(it)) {
        double v = it->valuedouble;
        if (!(v >= 0 && v < 18446744073709551616.0))
            return false;
        uint64_t u = (uint64_t)v;
        if ((double)u != v)
            return false;
        *out = u;
        return true;
    }
    return false;
}

static bool json_double(const cJSON *it, double *out)
{
    if (cJSON_IsNumber(it)) {
        *out = it->valuedouble;
        return true;
    }
    if (cJSON_IsString(it)) {
        const char *s = it->valuestring;
        if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
            *out = strtod(s, NULL);
            return true;
        }
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (!*s || *end || errno)
            return false;
        *out = v;
        return true;
    }
    return false;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int b64val(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

static base_err decode_bytes(jctx *c, const ProtobufCFieldDescriptor *fd, const cJSON *it,
                             ProtobufCBinaryData *out)
{
    if (!cJSON_IsString(it))
        return fail(c, "expected a string");
    const char *s = it->valuestring;
    size_t len = strlen(s);
    bool hex = strcmp(fd->name, "trace_id") == 0 || strcmp(fd->name, "span_id") == 0 ||
               strcmp(fd->name, "profile_id") == 0;
    out->len = 0;
    out->data = NULL;
    if (!len)
        return BASE_OK;
    uint8_t *buf = base_arena_alloc(c->arena, hex ? len / 2 + 1 : len / 4 * 3 + 3);
    if (!buf)
        return nomem(c);
    size_t n = 0;
    if (hex) {
        if (len % 2)
            return fail(c, "expected hex digits");
        for (size_t i = 0; i < len; i += 2) {
            int hi = hexval(s[i]), lo = hexval(s[i + 1]);
            if (hi < 0 || lo < 0)
                return fail(c, "expected hex digits");
            buf[n++] = (uint8_t)(hi << 4 | lo);
        }
    } else {
        while (len && s[len - 1] == '=')
            len--;
        uint32_t acc = 0;
        unsigned bits = 0;
        for (size_t i = 0; i < len; i++) {
            int v = b64val(s[i]);
            if (v < 0)
                return fail(c, "expected base64");
            acc = (acc << 6 | (uint32_t)v) & 0xffffffu;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                buf[n++] = (uint8_t)(acc >> bits);
            }
        }
        if (len % 4 == 1)
            return fail(c, "expected base64");
    }
    out->data = buf;
    out->len = n;
    return BASE_OK;
}

static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default: /* string, message: pointers */
        return sizeof(void *);
    }
}

static base_err decode_msg(jctx *c, const cJSON *obj, ProtobufCMessage *msg, int depth);

/* Decodes one value of field `fd` into `dst` (the field's storage or an array slot). */
static base_err decode_value(jctx *c, const ProtobufCFieldDescriptor *fd, const cJSON *it,
                             void *dst, int depth)
{
    int64_t i;
    uint64_t u;
    double d;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!json_i64(it, &i))
            return fail(c, "expected an integer");
        if (i < INT32_MIN || i > INT32_MAX)
            return fail(c, "integer out of range for int32");
        *(int32_t *)dst = (int32_t)i;
        return BASE_OK;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (!json_i64(it, &i))
            return fail(c, "expected an integer");
        *(int64_t *)dst = i;
        return BASE_OK;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!json_u64(it, &u))
            return fail(c, "expected an unsigned integer");
        if (u > UINT32_MAX)
            return fail(c, "integer out of range for uint32");
        *(uint32_t *)dst = (uint32_t)u;
        return BASE_OK;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (!json_u64(it, &u))
            return fail(c, "expected an unsigned integer");
        *(uint64_t *)dst = u;
        return BASE_OK;
    case PROTOBUF_C_TYPE_BOOL:
        if (!cJSON_IsBool(it))
            return fail(c, "expected true or false");
        *(protobuf_c_boolean *)dst = cJSON_IsTrue(it) ? 1 : 0;
        return BASE_OK;
    case PROTOBUF_C_TYPE_FLOAT:
        if (!json_double(it, &d))
            return fail(c, "expected a number");
        *(float *)dst = (float)d;
        return BASE_OK;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_double(it, &d))
            return fail(c, "expected a number");
        *(double *)dst = d;
        return BASE_OK;
    case PROTOBUF_C_TYPE_ENUM:
        /* no enum of this schema matters to us: numbers kept, names read as 0 */
        *(int32_t *)dst = json_i64(it, &i) && i >= INT32_MIN && i <= INT32_MAX ? (int32_t)i : 0;
        return BASE_OK;
    case PROTOBUF_C_TYPE_STRING: {
        if (!cJSON_IsString(it))
            return fail(c, "expected a string");
        char *s = base_arena_strndup(c->arena, it->valuestring, strlen(it->valuestring));
        if (!s)
            return nomem(c);
        *(char **)dst = s;
        return BASE_OK;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return decode_bytes(c, fd, it, dst);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *sub = fd->descriptor;
        ProtobufCMessage *m = base_arena_alloc(c->arena, sub->sizeof_message);
        if (!m)
            return nomem(c);
        sub->message_init(m);
        *(ProtobufCMessage **)dst = m;
        if (cJSON_IsNull(it))
            return BASE_OK;
        return decode_msg(c, it, m, depth + 1);
    }
    default:
        return fail(c, "unsupported field type");
    }
}

static base_err decode_repeated(jctx *c, const ProtobufCFieldDescriptor *fd, const cJSON *arr,
                                ProtobufCMessage *msg, int depth)
{
    if (!cJSON_IsArray(arr))
        return fail(c, "expected an array");
    size_t n = 0;
    for (const cJSON *e = arr->child; e; e = e->next)
        n++;
    size_t sz = elem_size(fd->type);
    uint8_t *items = NULL;
    if (n) {
        items = base_arena_calloc(c->arena, n, sz);
        if (!items)
            return nomem(c);
    }
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        size_t old = path_index(c, i);
        base_err rc = decode_value(c, fd, e, items + i * sz, depth);
        if (rc)
            return rc;
        path_pop(c, old);
    }
    *(size_t *)((uint8_t *)msg + fd->quantifier_offset) = n;
    *(void **)((uint8_t *)msg + fd->offset) = items;
    return BASE_OK;
}

/* camelCase -> snake_case, so one descriptor lookup serves both spellings. */
static const ProtobufCFieldDescriptor *field_for_key(const ProtobufCMessageDescriptor *d,
                                                     const char *key)
{
    char snake[96];
    size_t n = 0;
    for (const char *k = key; *k; k++) {
        if (n + 3 > sizeof snake)
            return NULL;
        if (*k >= 'A' && *k <= 'Z') {
            snake[n++] = '_';
            snake[n++] = (char)(*k - 'A' + 'a');
        } else {
            snake[n++] = *k;
        }
    }
    snake[n] = '\0';
    return protobuf_c_message_descriptor_get_field_by_name(d, snake);
}

static base_err decode_msg(jctx *c, const cJSON *obj, ProtobufCMessage *msg, int depth)
{
    if (depth > TR_MAX_JSON_DEPTH)
        return fail(c, "objects nested too deeply");
    if (!cJSON_IsObject(obj))
        return fail(c, "expected an object");
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (!it->string)
            continue;
        const ProtobufCFieldDescriptor *fd = field_for_key(d, it->string);
        if (!fd || cJSON_IsNull(it))
            continue; /* unknown fields are ignored; null means default */
        size_t old = path_key(c, it->string);
        base_err rc;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            rc = decode_repeated(c, fd, it, msg, depth);
        } else {
            rc = decode_value(c, fd, it, (uint8_t *)msg + fd->offset, depth);
            if (!rc && (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
                *(uint32_t *)((uint8_t *)msg + fd->quantifier_offset) = fd->id;
            else if (!rc && fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset)
                *(protobuf_c_boolean *)((uint8_t *)msg + fd->quantifier_offset) = 1;
        }
        if (rc)
            return rc;
        path_pop(c, old);
    }
    return BASE_OK;
}

/* ---- big integer literals ------------------------------------------------------------ */

/* cJSON keeps numbers only as doubles, which cannot hold every int64 (a nanosecond
 * timestamp has 19 digits). Integer literals longer than a double holds exactly are
 * quoted before parsing, so they reach the string path and strtoll/strtoull. Returns the
 * number of such literals; with `out` set, also writes the rewritten text there. */
static size_t quote_long_ints(const char *buf, size_t len, char *out)
{
    size_t count = 0, o = 0;
    bool in_str = false;
    for (size_t i = 0; i < len;) {
        char ch = buf[i];
        if (in_str) {
            if (ch == '\\' && i + 1 < len) {
                if (out) {
                    out[o++] = ch;
                    out[o++] = buf[i + 1];
                }
                i += 2;
                continue;
            }
            if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            size_t j = i + (ch == '-'), digits = 0;
            while (j < len && buf[j] >= '0' && buf[j] <= '9')
                j++, digits++;
            bool plain = !(j < len && (buf[j] == '.' || buf[j] == 'e' || buf[j] == 'E'));
            if (!plain) /* fraction/exponent: cJSON's double is what the sender meant */
                while (j < len && strchr("0123456789.eE+-", buf[j]) && buf[j])
                    j++;
            if (plain && digits > TR_EXACT_DIGITS) {
                count++;
                if (out) {
                    out[o++] = '"';
                    memcpy(out + o, buf + i, j - i);
                    o += j - i;
                    out[o++] = '"';
                }
                i = j;
                continue;
            }
            if (out) {
                memcpy(out + o, buf + i, j - i);
                o += j - i;
            }
            i = j;
            continue;
        }
        if (out)
            out[o++] = ch;
        i++;
    }
    return count;
}

base_err tr_decode_json(const char *buf, size_t len, base_arena *arena, tr_request **out, char *err,
                        size_t err_len)
{
    static const char what[] = "request does not decode as ExportProfilesServiceRequest (JSON)";
    jctx c = {.arena = arena, .err = err, .err_len = err_len};
    *out = NULL;
    if (!buf || !len) {
        if (err && err_len)
            snprintf(err, err_len, "%s: empty body", what);
        return BASE_ERR_DECODE;
    }
    const char *text = buf;
    size_t text_len = len;
    size_t n_long = quote_long_ints(buf, len, NULL);
    if (n_long) {
        if (n_long > (SIZE_MAX - len) / 2)
            return nomem(&c);
        char *rw = base_arena_alloc(arena, len + 2 * n_long);
        if (!rw)
            return nomem(&c);
        quote_long_ints(buf, len, rw);
        text = rw;
        text_len = len + 2 * n_long;
    }
    const char *end = NULL;
    base_alloc_failed_reset();
    cJSON *root = cJSON_ParseWithLengthOpts(text, text_len, &end, 0);
    if (!root && base_alloc_failed())
        return nomem(&c);
    if (!root) {
        /* quoting never changes where the syntax breaks: ask again on the original text
         * so the offset is the sender's */
        if (text != buf) {
            end = NULL;
            cJSON *again = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
            cJSON_Delete(again);
            text = buf;
        }
        if (err && err_len) {
            size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
            if (nesting_at(text, at) >= (size_t)CJSON_NESTING_LIMIT)
                snprintf(err, err_len, "%s: arrays/objects nested deeper than %d near byte %zu",
                         what, CJSON_NESTING_LIMIT, at);
            else
                snprintf(err, err_len, "%s: syntax error near byte %zu", what, at);
        }
        return BASE_ERR_DECODE;
    }
    while (end && end < text + text_len && strchr(" \t\r\n", *end) && *end)
        end++;
    if (end && end < text + text_len && *end) {
        if (err && err_len)
            snprintf(err, err_len, "%s: unexpected data after the JSON value", what);
        cJSON_Delete(root);
        return BASE_ERR_DECODE;
    }
    const ProtobufCMessageDescriptor *d =
        &opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor;
    tr_request *req = base_arena_alloc(arena, d->sizeof_message);
    base_err rc;
    if (!req) {
        rc = nomem(&c);
    } else {
        d->message_init(&req->base);
        rc = decode_msg(&c, root, &req->base, 1);
    }
    cJSON_Delete(root);
    if (rc)
        return rc;
    *out = req;
    return BASE_OK;
}
