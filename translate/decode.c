/* translate/decode.c — protobuf decoding of ExportProfilesServiceRequest, and the small
 * wire-format walker that explains failures and recognises opentelemetry-proto v1.9
 * payloads (see translate.h, DESIGN.md "OTLP ingest"). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "translate/translate_internal.h"

/* protobuf-c recurses once per nested message and has no limit of its own; AnyValue
 * nests without bound, so a hostile request could otherwise exhaust the stack. */
#define TR_MAX_MSG_DEPTH 64

typedef struct wire_field {
    uint32_t num;
    uint32_t wt;
    size_t tag_at;   /* offset of the tag, for messages */
    size_t val_at;   /* offset of the payload (LEN) */
    size_t val_len;  /* payload length (LEN) */
    uint64_t varint; /* value (VARINT) */
} wire_field;

static inline int read_varint(const uint8_t *buf, size_t end, size_t *pos, uint64_t *out)
{
    /* tags and most lengths are one byte: the walks below read tens of thousands */
    if (*pos < end && buf[*pos] < 0x80u) {
        *out = buf[(*pos)++];
        return 0;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= end)
            return -1;
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7fu) << shift;
        if (!(b & 0x80u)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Reads one field starting at *pos (< end). Returns 0, or -1 when the framing is broken
 * (then *pos is left at the tag). */
static inline int read_field(const uint8_t *buf, size_t end, size_t *pos, wire_field *f)
{
    size_t p = *pos;
    uint64_t tag;
    f->tag_at = p;
    if (read_varint(buf, end, &p, &tag) || tag > UINT32_MAX)
        return -1;
    f->num = (uint32_t)(tag >> 3);
    f->wt = (uint32_t)(tag & 7u);
    if (f->num == 0)
        return -1;
    f->val_at = 0; /* only LEN fields set it; gcc -O3 cannot see callers check wt first */
    f->val_len = 0;
    f->varint = 0;
    switch (f->wt) {
    case 0:
        if (read_varint(buf, end, &p, &f->varint))
            return -1;
        break;
    case 1:
        if (end - p < 8)
            return -1;
        p += 8;
        break;
    case 2: {
        uint64_t n;
        if (read_varint(buf, end, &p, &n) || n > end - p)
            return -1;
        f->val_at = p;
        f->val_len = (size_t)n;
        p += (size_t)n;
        break;
    }
    case 5:
        if (end - p < 4)
            return -1;
        p += 4;
        break;
    default: /* groups (3, 4) are not supported by protobuf-c; 6, 7 do not exist */
        return -1;
    }
    *pos = p;
    return 0;
}

/* ---- framing walk ---------------------------------------------------------------- */

static uint32_t wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    default:
        return 0;
    }
}

static bool packed_payload_ok(const uint8_t *buf, size_t at, size_t len, uint32_t elem_wt)
{
    if (elem_wt == 1)
        return len % 8 == 0;
    if (elem_wt == 5)
        return len % 4 == 0;
    size_t p = at, end = at + len;
    while (p < end) {
        uint64_t v;
        if (read_varint(buf, end, &p, &v))
            return false;
    }
    return true;
}

/* Messages that can never contain an AnyValue: the nesting pre-check skips their bytes,
 * which keeps it cheap (profiles, samples and most of the dictionary are skipped). */
static bool cannot_nest(const ProtobufCMessageDescriptor *d)
{
    return d == &opentelemetry__proto__profiles__v1development__profile__descriptor ||
           d == &opentelemetry__proto__profiles__v1development__stack__descriptor ||
           d == &opentelemetry__proto__profiles__v1development__location__descriptor ||
           d == &opentelemetry__proto__profiles__v1development__function__descriptor ||
           d == &opentelemetry__proto__profiles__v1development__mapping__descriptor ||
           d == &opentelemetry__proto__profiles__v1development__link__descriptor ||
           d == &opentelemetry__proto__common__v1__entity_ref__descriptor;
}

typedef struct walk_problem {
    size_t at;
    bool too_deep;
} walk_problem;

/* Walks the fields of one message in [start, end). `full` also checks wire types against
 * the schema and descends into every message; otherwise only nesting depth is checked.
 * Returns 0 or -1 with *bad filled. */
static int walk_msg(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t start,
                    size_t end, int depth, bool full, walk_problem *bad)
{
    if (depth > TR_MAX_MSG_DEPTH) {
        bad->at = start;
        bad->too_deep = true;
        return -1;
    }
    size_t pos = start;
    /* Repeated fields come in runs (a dictionary table is thousands of one field number):
     * in the nesting-only walk a field whose number and wire type equal the previous
     * one's, when that one needed no descent, gets the same verdict without a lookup. */
    uint32_t same_num = 0, same_wt = 0;
    while (pos < end) {
        wire_field f;
        if (read_field(buf, end, &pos, &f)) {
            bad->at = pos;
            return -1;
        }
        if (f.num == same_num && f.wt == same_wt)
            continue;
        same_num = 0;
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(desc, f.num);
        if (!fd)
            continue; /* unknown fields are kept by protobuf-c, not an error */
        uint32_t want = wire_type_of(fd->type);
        if (f.wt != want) {
            bool packed = fd->label == PROTOBUF_C_LABEL_REPEATED && f.wt == 2 && want != 2;
            if (!packed || (full && !packed_payload_ok(buf, f.val_at, f.val_len, want))) {
                bad->at = f.tag_at;
                return -1;
            }
        } else if (fd->type == PROTOBUF_C_TYPE_MESSAGE && (full || !cannot_nest(fd->descriptor))) {
            if (walk_msg(fd->descriptor, buf, f.val_at, f.val_at + f.val_len, depth + 1, full, bad))
                return -1;
            continue;
        }
        if (!full) {
            same_num = f.num;
            same_wt = f.wt;
        }
    }
    return 0;
}

/* ---- v1.9 recognition ------------------------------------------------------------- */

enum sample_shape { SHAPE_UNKNOWN, SHAPE_V19, SHAPE_V110 };

static enum sample_shape classify_sample(const uint8_t *buf, size_t start, size_t end)
{
    bool has2 = false, has4 = false, has4_varint = false, has4_len = false, has5 = false;
    bool f3_len = false;
    size_t pos = start;
    while (pos < end) {
        wire_field f;
        if (read_field(buf, end, &pos, &f))
            return SHAPE_UNKNOWN;
        switch (f.num) {
        case 2:
            has2 = true;
            break;
        case 3:
            if (f.wt == 2)
                f3_len = true; /* v1.10 link_index is a varint; v1.9 attribute list is packed */
            break;
        case 4:
            has4 = true;
            has4_varint |= f.wt == 0;
            has4_len |= f.wt == 2;
            break;
        case 5:
            has5 = true;
            break;
        default:
            break;
        }
    }
    if (f3_len || (has4_varint && has2) || (has2 && !has4 && !has5))
        return SHAPE_V19;
    /* v1.9 field 4 is the varint link_index: a packed field 4 can only be v1.10 values */
    if (has4_len)
        return SHAPE_V110;
    return SHAPE_UNKNOWN;
}

typedef struct v19_scan {
    base_arena *arena;
    tr__v19_hit *hits;
    size_t n, cap;
    bool nomem;
} v19_scan;

static void add_hit(v19_scan *s, uint32_t r, uint32_t sc, uint32_t p, uint32_t sample)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        tr__v19_hit *h = base_arena_alloc(s->arena, cap * sizeof *h);
        if (!h) {
            s->nomem = true;
            return;
        }
        if (s->n)
            memcpy(h, s->hits, s->n * sizeof *h);
        s->hits = h;
        s->cap = cap;
    }
    s->hits[s->n++] = (tr__v19_hit){r, sc, p, sample};
}

static void scan_profile(v19_scan *s, const uint8_t *buf, size_t start, size_t end, uint32_t r,
                         uint32_t sc, uint32_t p)
{
    size_t pos = start;
    uint32_t sample = 0;
    while (pos < end) {
        wire_field f;
        if (read_field(buf, end, &pos, &f))
            return;
        if (f.num != 2 || f.wt != 2)
            continue;
        enum sample_shape shape = classify_sample(buf, f.val_at, f.val_at + f.val_len);
        if (shape == SHAPE_V19) {
            add_hit(s, r, sc, p, sample);
            return;
        }
        if (shape == SHAPE_V110)
            return; /* a sender does not mix numberings within one profile */
        sample++;
    }
}

static void scan_scope(v19_scan *s, const uint8_t *buf, size_t start, size_t end, uint32_t r,
                       uint32_t sc)
{
    size_t pos = start;
    uint32_t p = 0;
    wire_field f;
    while (pos < end && read_field(buf, end, &pos, &f) == 0) {
        if (f.num == 2 && f.wt == 2)
            scan_profile(s, buf, f.val_at, f.val_at + f.val_len, r, sc, p++);
    }
}

static void scan_resource(v19_scan *s, const uint8_t *buf, size_t start, size_t end, uint32_t r)
{
    size_t pos = start;
    uint32_t sc = 0;
    wire_field f;
    while (pos < end && read_field(buf, end, &pos, &f) == 0) {
        if (f.num == 2 && f.wt == 2)
            scan_scope(s, buf, f.val_at, f.val_at + f.val_len, r, sc++);
    }
}

base_err tr__scan_v19(const uint8_t *buf, size_t len, base_arena *arena, tr__v19_hit **hits,
                      size_t *n_hits)
{
    v19_scan s = {.arena = arena};
    *hits = NULL;
    *n_hits = 0;
    if (!buf)
        return BASE_OK;
    size_t pos = 0;
    uint32_t r = 0;
    wire_field f;
    while (pos < len && read_field(buf, len, &pos, &f) == 0) {
        if (f.num == 1 && f.wt == 2)
            scan_resource(&s, buf, f.val_at, f.val_at + f.val_len, r++);
    }
    if (s.nomem)
        return BASE_ERR_NOMEM;
    *hits = s.hits;
    *n_hits = s.n;
    return BASE_OK;
}

void tr__v19_message(const tr__v19_hit *hit, const char *why, char *buf, size_t len)
{
    snprintf(buf, len,
             "resource_profiles[%u].scope_profiles[%u].profiles[%u].samples[%u]: Sample fields "
             "look like opentelemetry-proto v1.9 (values=2, attribute_indices=3, link_index=4)"
             "%s%s; this receiver speaks v1.10+ (attribute_indices=2, link_index=3, values=4): "
             "upgrade the sender",
             hit->resource, hit->scope, hit->profile, hit->sample, why ? ": " : "", why ? why : "");
}

/* ---- decode ------------------------------------------------------------------------ */

static void *pb_alloc(void *data, size_t size)
{
    tr_pb_allocator *a = data;
    void *p = base_arena_alloc(a->arena, size);
    if (!p)
        a->failed = true;
    return p;
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

ProtobufCAllocator *tr_pb_allocator_init(tr_pb_allocator *a, base_arena *arena)
{
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
    a->arena = arena;
    a->failed = false;
    return &a->pb;
}

static void set_err(char *err, size_t err_len, const char *msg)
{
    if (err && err_len)
        snprintf(err, err_len, "%s", msg);
}

base_err tr_decode_protobuf(const uint8_t *buf, size_t len, base_arena *arena, tr_request **out,
                            char *err, size_t err_len)
{
    static const char what[] = "request does not decode as ExportProfilesServiceRequest (protobuf)";
    const ProtobufCMessageDescriptor *root =
        &opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor;
    char msg[512];
    *out = NULL;
    if (!buf && len) {
        set_err(err, err_len, what);
        return BASE_ERR_DECODE;
    }
    if (!buf)
        buf = (const uint8_t *)"";

    walk_problem bad = {0, false};
    if (walk_msg(root, buf, 0, len, 1, false, &bad)) {
        if (bad.too_deep)
            snprintf(msg, sizeof msg, "%s: messages nested deeper than %d at byte %zu", what,
                     TR_MAX_MSG_DEPTH, bad.at);
        else
            snprintf(msg, sizeof msg, "%s: truncated or malformed at byte %zu", what, bad.at);
        set_err(err, err_len, msg);
        return BASE_ERR_DECODE;
    }

    /* a failed unpack cannot tell "out of memory" from "bad bytes": the allocator can */
    tr_pb_allocator alloc;
    tr_request *req =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__unpack(
            tr_pb_allocator_init(&alloc, arena), len, buf);
    if (req) {
        *out = req;
        return BASE_OK;
    }
    if (alloc.failed) {
        set_err(err, err_len, "out of memory decoding the request (per-request arena cap)");
        return BASE_ERR_NOMEM;
    }

    tr__v19_hit *hits = NULL;
    size_t n_hits = 0;
    if (tr__scan_v19(buf, len, arena, &hits, &n_hits) == BASE_OK && n_hits) {
        tr__v19_message(&hits[0], NULL, msg, sizeof msg);
        set_err(err, err_len, msg);
        return BASE_ERR_DECODE;
    }
    bad = (walk_problem){0, false};
    if (walk_msg(root, buf, 0, len, 1, true, &bad))
        snprintf(msg, sizeof msg, "%s: truncated or malformed at byte %zu", what, bad.at);
    else
        snprintf(msg, sizeof msg, "%s", what);
    set_err(err, err_len, msg);
    return BASE_ERR_DECODE;
}
