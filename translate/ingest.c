/* translate/ingest.c — validation of decoded requests and their normalization into
 * win_batch values (translate.h; DESIGN.md "OTLP ingest").
 *
 * Shape of the work: pass 1 validates every profile (dictionary entries lazily, each
 * entry checked once per request), pass 2 builds batches for the valid ones. Frames and
 * stacks are built once per request, as each stack is validated (one walk over its
 * locations does both), and every batch of the request shares those arrays. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translate/translate_internal.h"

typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary pb_dict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles pb_rprof;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles pb_sprof;
typedef Opentelemetry__Proto__Profiles__V1development__Profile pb_profile;
typedef Opentelemetry__Proto__Profiles__V1development__Sample pb_sample;
typedef Opentelemetry__Proto__Profiles__V1development__Stack pb_stack;
typedef Opentelemetry__Proto__Profiles__V1development__Location pb_loc;
typedef Opentelemetry__Proto__Profiles__V1development__Line pb_line;
typedef Opentelemetry__Proto__Profiles__V1development__Function pb_fn;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping pb_map;
typedef Opentelemetry__Proto__Profiles__V1development__Link pb_link;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit pb_kvu;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType pb_vtype;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;

#define ANY(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x

/* Nested AnyValue depth accepted in attributes; decode already bounds it, this keeps the
 * recursion here independent of how the request was built. */
#define TR_MAX_VALUE_DEPTH 32
/* Rendered attribute text is cut beyond this: it is a label, not a payload. */
#define TR_MAX_ATTR_TEXT 65536

static const pb_dict empty_dict =
    OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT;
/* What index 0 means when the sender left a table empty ("unset"). */
static const pb_stack default_stack = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__STACK__INIT;
static const pb_loc default_loc = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
static const pb_fn default_fn = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__FUNCTION__INIT;
static const pb_map default_map = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT;
static const pb_link default_link = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINK__INIT;
static const pb_kvu default_kvu =
    OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT;
static const pb_line default_line = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT;

enum { ST_UNCHECKED = 0, ST_OK = 1, ST_BAD = 2 };

typedef struct ing {
    base_arena *arena;
    const pb_dict *d;
    size_t n_str, n_map, n_loc, n_fn, n_link, n_attr, n_stack;
    /* validation cache, one state per entry (sized max(n, 1) so index 0 always fits) */
    uint8_t *st_stack, *st_loc, *st_fn, *st_map, *st_attr, *st_link;
    /* rendered attribute text, per attribute-table index */
    win_attr *attr_text;
    uint8_t *attr_done;
    /* normalization, shared by all batches of the request */
    bool built;
    win_frame_in *frames;
    uint32_t n_frames, cap_frames;
    uint32_t *loc_first; /* first frame of a location, UINT32_MAX until built */
    uint32_t *loc_nfr;   /* frames of a location (its lines, or 1), once built */
    win_stack_in *stacks;
    uint32_t n_stacks;
    uint32_t *stack_map; /* batch stack of a stack-table entry, UINT32_MAX until built */
    const char **map_build_id;
    uint8_t *map_done;
    /* equal sample attribute lists share one slice (build_samples); sized at first use */
    struct attr_slot *dedup;
    uint32_t dedup_mask, dedup_used;
    uint64_t n_attr_samples; /* samples with attribute_indices, counted by validation */
    bool nomem;
} ing;

/* ---- small helpers ------------------------------------------------------------------ */

static bool idx_bad(int64_t idx, size_t n)
{
    return idx != 0 && (idx < 0 || (uint64_t)idx >= n);
}

static const char *str_at(const ing *g, int32_t i)
{
    if (i < 0 || (size_t)i >= g->n_str)
        return "";
    const char *s = g->d->string_table[i];
    return s ? s : "";
}

#define TABLE_AT(name, type, table, count, dflt)                                                   \
    static const type *name(const ing *g, int32_t i)                                               \
    {                                                                                              \
        if (i < 0 || (size_t)i >= g->count || !g->d->table[i])                                     \
            return &dflt;                                                                          \
        return g->d->table[i];                                                                     \
    }
TABLE_AT(stack_at, pb_stack, stack_table, n_stack, default_stack)
TABLE_AT(loc_at, pb_loc, location_table, n_loc, default_loc)
TABLE_AT(fn_at, pb_fn, function_table, n_fn, default_fn)
TABLE_AT(map_at, pb_map, mapping_table, n_map, default_map)
TABLE_AT(link_at, pb_link, link_table, n_link, default_link)
TABLE_AT(kvu_at, pb_kvu, attribute_table, n_attr, default_kvu)

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

static void note_error(tr_result *res, const char *msg)
{
    if (!res->error_message[0])
        snprintf(res->error_message, sizeof res->error_message, "%s", msg);
}

/* Formats a path prefix into `buf` and returns it: called only on the failure branch, so
 * the success path of validation (once per dictionary entry) formats nothing. */
#define PATH_PREFIX(buf, ...) (snprintf((buf), sizeof(buf), __VA_ARGS__), (buf))

/* Writes "<what> <idx> out of range: <table> has <n> entries" after `prefix`. */
static bool range_err(char *det, size_t dl, const char *prefix, const char *what, int64_t idx,
                      const char *table, size_t n)
{
    snprintf(det, dl, "%s%s %" PRId64 " out of range: %s has %zu entries", prefix, what, idx, table,
             n);
    return false;
}

/* ---- validation ------------------------------------------------------------------- */

static bool check_any(const ing *g, const pb_any *v, int depth, const char *prefix, char *det,
                      size_t dl)
{
    if (!v)
        return true;
    if (depth > TR_MAX_VALUE_DEPTH) {
        snprintf(det, dl, "%s: value nested deeper than %d", prefix, TR_MAX_VALUE_DEPTH);
        return false;
    }
    switch (v->value_case) {
    case ANY(STRING_VALUE_STRINDEX):
        if (idx_bad(v->string_value_strindex, g->n_str))
            return range_err(det, dl, prefix, ".string_value_strindex", v->string_value_strindex,
                             "string_table", g->n_str);
        return true;
    case ANY(ARRAY_VALUE):
        if (v->array_value)
            for (size_t i = 0; i < v->array_value->n_values; i++)
                if (!check_any(g, v->array_value->values[i], depth + 1, prefix, det, dl))
                    return false;
        return true;
    case ANY(KVLIST_VALUE):
        if (v->kvlist_value)
            for (size_t i = 0; i < v->kvlist_value->n_values; i++) {
                const pb_kv *kv = v->kvlist_value->values[i];
                if (!kv)
                    continue;
                if (idx_bad(kv->key_strindex, g->n_str))
                    return range_err(det, dl, prefix, ".key_strindex", kv->key_strindex,
                                     "string_table", g->n_str);
                if (!check_any(g, kv->value, depth + 1, prefix, det, dl))
                    return false;
            }
        return true;
    default:
        return true;
    }
}

static bool check_attr(ing *g, int32_t i, char *det, size_t dl)
{
    if (g->st_attr[i] == ST_OK)
        return true;
    const pb_kvu *a = kvu_at(g, i);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "attribute_table[%d]", i);
    bool ok = true;
    if (idx_bad(a->key_strindex, g->n_str))
        ok = range_err(det, dl, prefix, ".key_strindex", a->key_strindex, "string_table", g->n_str);
    else if (idx_bad(a->unit_strindex, g->n_str))
        ok = range_err(det, dl, prefix, ".unit_strindex", a->unit_strindex, "string_table",
                       g->n_str);
    else {
        strncat(prefix, ".value", sizeof prefix - strlen(prefix) - 1);
        ok = check_any(g, a->value, 0, prefix, det, dl);
    }
    g->st_attr[i] = ok ? ST_OK : ST_BAD;
    return ok;
}

/* Checks a list of attribute indices. The list belongs to `table`[`index`] (table NULL:
 * to the sample or profile whose path the caller prepends); the path is formatted only
 * when something is wrong. */
static bool check_attr_list(ing *g, const int32_t *idx, size_t n, const char *table, int32_t index,
                            char *det, size_t dl)
{
    for (size_t k = 0; k < n; k++) {
        if (idx_bad(idx[k], g->n_attr)) {
            char what[96];
            if (table)
                snprintf(what, sizeof what, "%s[%d].attribute_indices[%zu]", table, index, k);
            else
                snprintf(what, sizeof what, ".attribute_indices[%zu]", k);
            return range_err(det, dl, "", what, idx[k], "attribute_table", g->n_attr);
        }
        if (!check_attr(g, idx[k], det, dl))
            return false;
    }
    return true;
}

static bool check_fn(ing *g, int32_t i, char *det, size_t dl)
{
    if (g->st_fn[i] == ST_OK)
        return true;
    const pb_fn *f = fn_at(g, i);
    char pfx[48];
#define prefix PATH_PREFIX(pfx, "function_table[%d]", i)
    bool ok = true;
    if (idx_bad(f->name_strindex, g->n_str))
        ok = range_err(det, dl, prefix, ".name_strindex", f->name_strindex, "string_table",
                       g->n_str);
    else if (idx_bad(f->system_name_strindex, g->n_str))
        ok = range_err(det, dl, prefix, ".system_name_strindex", f->system_name_strindex,
                       "string_table", g->n_str);
    else if (idx_bad(f->filename_strindex, g->n_str))
        ok = range_err(det, dl, prefix, ".filename_strindex", f->filename_strindex, "string_table",
                       g->n_str);
    g->st_fn[i] = ok ? ST_OK : ST_BAD;
    return ok;
#undef prefix
}

static bool check_map(ing *g, int32_t i, char *det, size_t dl)
{
    if (g->st_map[i] == ST_OK)
        return true;
    const pb_map *m = map_at(g, i);
    char pfx[48];
#define prefix PATH_PREFIX(pfx, "mapping_table[%d]", i)
    bool ok = true;
    if (idx_bad(m->filename_strindex, g->n_str))
        ok = range_err(det, dl, prefix, ".filename_strindex", m->filename_strindex, "string_table",
                       g->n_str);
    else
        ok = check_attr_list(g, m->attribute_indices, m->n_attribute_indices, "mapping_table", i,
                             det, dl);
    g->st_map[i] = ok ? ST_OK : ST_BAD;
    return ok;
#undef prefix
}

static bool check_loc(ing *g, int32_t i, char *det, size_t dl)
{
    if (g->st_loc[i] == ST_OK)
        return true;
    const pb_loc *l = loc_at(g, i);
    char pfx[48];
#define prefix PATH_PREFIX(pfx, "location_table[%d]", i)
    bool ok = true;
    if (idx_bad(l->mapping_index, g->n_map))
        ok = range_err(det, dl, prefix, ".mapping_index", l->mapping_index, "mapping_table",
                       g->n_map);
    else
        ok = check_map(g, l->mapping_index, det, dl);
    for (size_t k = 0; ok && k < l->n_lines; k++) {
        const pb_line *ln = l->lines[k] ? l->lines[k] : &default_line;
        if (idx_bad(ln->function_index, g->n_fn)) {
            char what[64];
            snprintf(what, sizeof what, ".lines[%zu].function_index", k);
            ok = range_err(det, dl, prefix, what, ln->function_index, "function_table", g->n_fn);
        } else {
            ok = check_fn(g, ln->function_index, det, dl);
        }
    }
    if (ok)
        ok = check_attr_list(g, l->attribute_indices, l->n_attribute_indices, "location_table", i,
                             det, dl);
    g->st_loc[i] = ok ? ST_OK : ST_BAD;
    return ok;
#undef prefix
}

static bool build_init(ing *g);
static bool build_loc(ing *g, int32_t li);

/* Validates a stack-table entry and, when it is valid, builds its batch stack right away:
 * one pass over its locations validates and builds each location the first time the
 * request meets it, a second fills the frame indices from flat arrays. A stack built for a
 * profile that is rejected later is never referenced by a stored sample, so it is inert. */
static bool check_stack(ing *g, int32_t i, char *det, size_t dl)
{
    if (g->st_stack[i] == ST_OK)
        return true;
    if (!build_init(g)) {
        g->nomem = true;
        return false;
    }
    const pb_stack *s = stack_at(g, i);
    const int32_t *locs = s->location_indices;
    size_t n_locs = s->n_location_indices;
    size_t frames = 0;
    bool ok = true;
    for (size_t k = 0; k < n_locs; k++) {
        int32_t li = locs[k];
        if (idx_bad(li, g->n_loc)) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "stack_table[%d].location_indices[%zu]", i, k);
            ok = range_err(det, dl, prefix, "", li, "location_table", g->n_loc);
            break;
        }
        if (g->loc_first[li] == UINT32_MAX) {
            if (!check_loc(g, li, det, dl)) {
                ok = false;
                break;
            }
            if (!build_loc(g, li)) {
                g->nomem = true;
                return false;
            }
        }
        frames += g->loc_nfr[li];
    }
    /* refused here, per profile: the window refuses a whole batch, and a batch carries
     * every stack built so far for the request */
    if (ok && frames > WIN_MAX_STACK_DEPTH) {
        snprintf(det, dl, "stack_table[%d] has %zu frames, over the limit of %u", i, frames,
                 WIN_MAX_STACK_DEPTH);
        ok = false;
    }
    if (ok && g->n_stacks >= (g->n_stack ? g->n_stack : 1)) {
        g->nomem = true; /* cannot happen: each entry is built once, and there are n_stack */
        return false;
    }
    if (ok) {
        uint32_t *fr = NULL;
        if (frames && !(fr = base_arena_alloc(g->arena, frames * sizeof *fr))) {
            g->nomem = true;
            return false;
        }
        if (frames == n_locs) { /* every location one frame: the common, inline-free case */
            for (size_t k = 0; k < n_locs; k++)
                fr[k] = g->loc_first[locs[k]];
        } else {
            size_t pos = 0;
            for (size_t k = 0; k < n_locs; k++) {
                uint32_t first = g->loc_first[locs[k]], n = g->loc_nfr[locs[k]];
                for (uint32_t j = 0; j < n; j++)
                    fr[pos++] = first + j;
            }
        }
        g->stacks[g->n_stacks] = (win_stack_in){fr, (uint32_t)frames};
        g->stack_map[i] = g->n_stacks++;
    }
    g->st_stack[i] = ok ? ST_OK : ST_BAD;
    return ok;
}

static bool link_is_zero(const pb_link *l)
{
    for (size_t k = 0; k < l->trace_id.len; k++)
        if (l->trace_id.data[k])
            return false;
    for (size_t k = 0; k < l->span_id.len; k++)
        if (l->span_id.data[k])
            return false;
    return true;
}

static bool check_link(ing *g, int32_t i, char *det, size_t dl)
{
    if (g->st_link[i] == ST_OK)
        return true;
    const pb_link *l = link_at(g, i);
    bool ok = true;
    /* the conventional zero link at index 0 may carry no ids at all */
    if (i == 0 && l->trace_id.len == 0 && l->span_id.len == 0)
        ok = true;
    else if (l->trace_id.len != 16) {
        snprintf(det, dl, "link_table[%d].trace_id has %zu bytes, want 16", i, l->trace_id.len);
        ok = false;
    } else if (l->span_id.len != 8) {
        snprintf(det, dl, "link_table[%d].span_id has %zu bytes, want 8", i, l->span_id.len);
        ok = false;
    }
    g->st_link[i] = ok ? ST_OK : ST_BAD;
    return ok;
}

/* ---- attribute text -------------------------------------------------------------- */

typedef struct sbuf {
    base_arena *arena;
    char *p;
    size_t n, cap;
    bool nomem;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len)
{
    if (b->nomem || b->n >= TR_MAX_ATTR_TEXT)
        return;
    if (len > TR_MAX_ATTR_TEXT - b->n)
        len = TR_MAX_ATTR_TEXT - b->n;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *np = base_arena_alloc(b->arena, cap);
        if (!np) {
            b->nomem = true;
            return;
        }
        if (b->n)
            memcpy(np, b->p, b->n);
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_quoted(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\' || c < 0x20) {
            sb_put(b, run, (size_t)(s - run));
            char esc[8];
            if (c == '"' || c == '\\')
                snprintf(esc, sizeof esc, "\\%c", c);
            else
                snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_str(b, esc);
            run = s + 1;
        }
    }
    sb_put(b, run, (size_t)(s - run));
    sb_put(b, "\"", 1);
}

static void sb_base64(sbuf *b, const uint8_t *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4];
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        out[0] = tbl[(v >> 18) & 63];
        out[1] = tbl[(v >> 12) & 63];
        out[2] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[3] = i + 2 < len ? tbl[v & 63] : '=';
        sb_put(b, out, 4);
    }
}

/* Renders a value: top-level strings as they are, nested ones as JSON-ish text. */
static void render_any(const ing *g, sbuf *b, const pb_any *v, int depth, bool nested)
{
    char num[48];
    if (!v || depth > TR_MAX_VALUE_DEPTH)
        return;
    switch (v->value_case) {
    case ANY(STRING_VALUE):
    case ANY(STRING_VALUE_STRINDEX): {
        const char *s = v->value_case == ANY(STRING_VALUE) ? v->string_value
                                                           : str_at(g, v->string_value_strindex);
        if (!s)
            s = "";
        if (nested)
            sb_quoted(b, s);
        else
            sb_str(b, s);
        break;
    }
    case ANY(BOOL_VALUE):
        sb_str(b, v->bool_value ? "true" : "false");
        break;
    case ANY(INT_VALUE):
        snprintf(num, sizeof num, "%" PRId64, v->int_value);
        sb_str(b, num);
        break;
    case ANY(DOUBLE_VALUE):
        snprintf(num, sizeof num, "%g", v->double_value);
        sb_str(b, num);
        break;
    case ANY(BYTES_VALUE):
        if (nested)
            sb_put(b, "\"", 1);
        sb_base64(b, v->bytes_value.data, v->bytes_value.len);
        if (nested)
            sb_put(b, "\"", 1);
        break;
    case ANY(ARRAY_VALUE):
        sb_put(b, "[", 1);
        if (v->array_value)
            for (size_t i = 0; i < v->array_value->n_values; i++) {
                if (i)
                    sb_put(b, ",", 1);
                render_any(g, b, v->array_value->values[i], depth + 1, true);
            }
        sb_put(b, "]", 1);
        break;
    case ANY(KVLIST_VALUE):
        sb_put(b, "{", 1);
        if (v->kvlist_value)
            for (size_t i = 0; i < v->kvlist_value->n_values; i++) {
                const pb_kv *kv = v->kvlist_value->values[i];
                if (!kv)
                    continue;
                if (i)
                    sb_put(b, ",", 1);
                sb_quoted(b, kv->key && *kv->key ? kv->key : str_at(g, kv->key_strindex));
                sb_put(b, ":", 1);
                render_any(g, b, kv->value, depth + 1, true);
            }
        sb_put(b, "}", 1);
        break;
    default:
        break;
    }
}

/* Text of a value; plain strings are borrowed, not copied. Returns NULL on NOMEM. */
static const char *value_text(ing *g, const pb_any *v)
{
    if (!v)
        return "";
    if (v->value_case == ANY(STRING_VALUE))
        return v->string_value ? v->string_value : "";
    if (v->value_case == ANY(STRING_VALUE_STRINDEX))
        return str_at(g, v->string_value_strindex);
    sbuf b = {.arena = g->arena};
    render_any(g, &b, v, 0, false);
    if (b.nomem) {
        g->nomem = true;
        return NULL;
    }
    return b.p ? b.p : "";
}

/* The cached rendering of a (validated) attribute-table entry. */
static const win_attr *attr_text(ing *g, int32_t i)
{
    if (!g->attr_done[i]) {
        const pb_kvu *a = kvu_at(g, i);
        const char *v = value_text(g, a->value);
        if (!v)
            return NULL;
        g->attr_text[i].key = str_at(g, a->key_strindex);
        g->attr_text[i].value = v;
        g->attr_done[i] = 1;
    }
    return &g->attr_text[i];
}

/* ---- frames and stacks ------------------------------------------------------------ */

static const char *mapping_build_id(ing *g, int32_t mi)
{
    static const char *const keys[] = {"process.executable.build_id.gnu",
                                       "process.executable.build_id.htlhash",
                                       "process.executable.build_id.go", "build_id"};
    if (g->map_done[mi])
        return g->map_build_id[mi];
    const pb_map *m = map_at(g, mi);
    const char *best = NULL;
    size_t best_rank = sizeof keys / sizeof keys[0];
    for (size_t k = 0; k < m->n_attribute_indices; k++) {
        const win_attr *a = attr_text(g, m->attribute_indices[k]);
        if (!a)
            return NULL;
        for (size_t r = 0; r < best_rank; r++)
            if (strcmp(a->key, keys[r]) == 0 && *a->value) {
                best = a->value;
                best_rank = r;
                break;
            }
    }
    g->map_build_id[mi] = best;
    g->map_done[mi] = 1;
    return best;
}

static size_t loc_nframes(const pb_loc *l)
{
    return l->n_lines ? l->n_lines : 1;
}

/* Allocates the request-wide normalization tables on first use. */
static bool build_init(ing *g)
{
    if (g->built)
        return true;
    size_t nl = g->n_loc ? g->n_loc : 1, ns = g->n_stack ? g->n_stack : 1;
    size_t nm = g->n_map ? g->n_map : 1;
    /* room for 1.5 frames per location, grown by build_loc for more inlined lines: sizing
     * it exactly would cost a walk over every location up front */
    size_t total = nl + nl / 2 + 1;
    g->loc_nfr = base_arena_alloc(g->arena, nl * sizeof *g->loc_nfr);
    g->frames = base_arena_alloc(g->arena, total * sizeof *g->frames);
    g->loc_first = base_arena_alloc(g->arena, nl * sizeof *g->loc_first);
    g->stacks = base_arena_alloc(g->arena, ns * sizeof *g->stacks);
    g->stack_map = base_arena_alloc(g->arena, ns * sizeof *g->stack_map);
    g->map_build_id = base_arena_alloc(g->arena, nm * sizeof *g->map_build_id);
    g->map_done = base_arena_calloc(g->arena, nm, 1);
    if (!g->loc_nfr || !g->frames || !g->loc_first || !g->stacks || !g->stack_map ||
        !g->map_build_id || !g->map_done || total > UINT32_MAX)
        return false;
    memset(g->loc_first, 0xff, nl * sizeof *g->loc_first);
    memset(g->stack_map, 0xff, ns * sizeof *g->stack_map);
    g->cap_frames = (uint32_t)total;
    g->built = true;
    return true;
}

/* Builds the frames of a validated location that has none yet. */
static bool build_loc(ing *g, int32_t li)
{
    const pb_loc *l = loc_at(g, li);
    const pb_map *m = map_at(g, l->mapping_index);
    const char *mapping = nonempty(str_at(g, m->filename_strindex));
    const char *build_id = mapping_build_id(g, l->mapping_index);
    if (g->nomem)
        return false;
    size_t n = loc_nframes(l);
    if (n > g->cap_frames - g->n_frames) {
        size_t cap = (size_t)g->cap_frames * 2;
        if (cap < (size_t)g->n_frames + n)
            cap = (size_t)g->n_frames + n;
        if (cap > UINT32_MAX)
            return false; /* the message cannot hold that many lines */
        win_frame_in *grown = base_arena_alloc(g->arena, cap * sizeof *grown);
        if (!grown)
            return false;
        memcpy(grown, g->frames, g->n_frames * sizeof *grown);
        g->frames = grown;
        g->cap_frames = (uint32_t)cap;
    }
    /* `profile.frame.type` (kernel, native, go, jvm, cpython, v8js, ...: semantic
     * conventions) is a location attribute: every line of the location shares it */
    const char *frame_type = NULL;
    for (size_t k = 0; k < l->n_attribute_indices; k++) {
        const win_attr *a = attr_text(g, l->attribute_indices[k]);
        if (!a)
            return false;
        if (a->key && strcmp(a->key, "profile.frame.type") == 0 && *a->value) {
            frame_type = a->value;
            break;
        }
    }
    g->loc_nfr[li] = (uint32_t)n;
    g->loc_first[li] = g->n_frames;
    for (size_t k = 0; k < n; k++) {
        win_frame_in *f = &g->frames[g->n_frames++];
        f->address = l->address;
        f->mapping = mapping;
        f->build_id = build_id;
        f->frame_type = frame_type;
        f->start_line = 0;
        if (!l->n_lines) { /* unsymbolized: address + mapping identify the frame */
            f->function = NULL;
            f->file = NULL;
            f->line = 0;
            continue;
        }
        const pb_line *ln = l->lines[k] ? l->lines[k] : &default_line;
        const pb_fn *fn = fn_at(g, ln->function_index);
        const char *name = nonempty(str_at(g, fn->name_strindex));
        f->function = name ? name : nonempty(str_at(g, fn->system_name_strindex));
        f->file = nonempty(str_at(g, fn->filename_strindex));
        f->line = ln->line;
        f->start_line = fn->start_line;
    }
    return true;
}

/* Batch stack index of a validated stack-table entry (check_stack built it). */
static bool build_stack(const ing *g, int32_t si, uint32_t *out)
{
    *out = g->stack_map[si];
    return *out != UINT32_MAX;
}

/* ---- per profile -------------------------------------------------------------------- */

typedef struct prof_info {
    bool valid;
    bool derivable;  /* samples:count with period type cpu:nanoseconds and period > 0 */
    bool native_cpu; /* its own type is cpu:nanoseconds */
    const char *type;
    uint64_t n_obs;
    uint64_t n_pool; /* attribute slots build_samples needs for samples with attributes */
} prof_info;

static uint64_t sample_obs(const pb_sample *s)
{
    return s->n_timestamps_unix_nano ? s->n_timestamps_unix_nano : 1;
}

static int64_t clamp_time(uint64_t t)
{
    return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

/* A detail either continues the path (".stack_index ...") or names a dictionary entry
 * ("stack_table[3]..."), which reads better after a colon. */
static void join_detail(char *msg, size_t ml, const char *where, const char *det)
{
    snprintf(msg, ml, det[0] == '.' ? "%s%s" : "%s: %s", where, det);
}

#define PROFILE_PATH_FMT "resource_profiles[%zu].scope_profiles[%zu].profiles[%zu]"

/* Validates profile at[2] of scope at[1] of resource at[0]; on failure writes the message
 * (with the profile's path, formatted only then: thousands of profiles per request) to msg. */
static bool validate_profile(ing *g, const pb_profile *p, const size_t at[3], prof_info *pi,
                             char *msg, size_t ml)
{
    char det[512], path_buf[160];
    det[0] = '\0';
#define path PATH_PREFIX(path_buf, PROFILE_PATH_FMT, at[0], at[1], at[2])
    static const pb_vtype no_type = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__VALUE_TYPE__INIT;
    const pb_vtype *st = p->sample_type ? p->sample_type : &no_type;
    const pb_vtype *pt = p->period_type ? p->period_type : &no_type;
    const struct {
        const char *what;
        int32_t idx;
    } strs[] = {{".sample_type.type_strindex", st->type_strindex},
                {".sample_type.unit_strindex", st->unit_strindex},
                {".period_type.type_strindex", pt->type_strindex},
                {".period_type.unit_strindex", pt->unit_strindex}};
    for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++)
        if (idx_bad(strs[k].idx, g->n_str)) {
            range_err(msg, ml, path, strs[k].what, strs[k].idx, "string_table", g->n_str);
            return false;
        }
    if (!check_attr_list(g, p->attribute_indices, p->n_attribute_indices, NULL, 0, det,
                         sizeof det)) {
        join_detail(msg, ml, path, det);
        return false;
    }

    pi->type = base_arena_printf(g->arena, "%s:%s", str_at(g, st->type_strindex),
                                 str_at(g, st->unit_strindex));
    if (!pi->type) {
        g->nomem = true;
        return false;
    }
    pi->native_cpu = strcmp(pi->type, "cpu:nanoseconds") == 0;
    pi->derivable = p->period > 0 && strcmp(pi->type, "samples:count") == 0 &&
                    strcmp(str_at(g, pt->type_strindex), "cpu") == 0 &&
                    strcmp(str_at(g, pt->unit_strindex), "nanoseconds") == 0;

    uint64_t n_obs = 0, n_pool = 0;
    for (size_t i = 0; i < p->n_samples; i++) {
        const pb_sample *s = p->samples[i];
        if (!s)
            continue;
        char where_buf[400];
#define where PATH_PREFIX(where_buf, PROFILE_PATH_FMT ".samples[%zu]", at[0], at[1], at[2], i)
        if (idx_bad(s->stack_index, g->n_stack)) {
            range_err(msg, ml, where, ".stack_index", s->stack_index, "stack_table", g->n_stack);
            return false;
        }
        if (idx_bad(s->link_index, g->n_link)) {
            range_err(msg, ml, where, ".link_index", s->link_index, "link_table", g->n_link);
            return false;
        }
        if (s->n_values && s->n_timestamps_unix_nano && s->n_values != s->n_timestamps_unix_nano) {
            snprintf(msg, ml, "%s: values has %zu entries but timestamps_unix_nano has %zu", where,
                     s->n_values, s->n_timestamps_unix_nano);
            return false;
        }
        if (!s->n_values && !s->n_timestamps_unix_nano) {
            snprintf(msg, ml, "%s: sample has neither values nor timestamps_unix_nano", where);
            return false;
        }
        if ((s->n_attribute_indices &&
             !check_attr_list(g, s->attribute_indices, s->n_attribute_indices, NULL, 0, det,
                              sizeof det)) ||
            !check_stack(g, s->stack_index, det, sizeof det) ||
            !check_link(g, s->link_index, det, sizeof det)) {
            join_detail(msg, ml, where, det);
            return false;
        }
        /* values land as given (timestamps) or summed (values only); either way the
         * stored number, and count * period when derived, must fit in int64 */
        int64_t sum = 0;
        for (size_t k = 0; k < s->n_values; k++) {
            int64_t v = s->values[k], scaled;
            bool over = s->n_timestamps_unix_nano ? false : __builtin_add_overflow(sum, v, &sum);
            if (!over && pi->derivable && s->n_timestamps_unix_nano)
                over = __builtin_mul_overflow(v, p->period, &scaled);
            if (over) {
                snprintf(msg, ml, "%s.values[%zu] %" PRId64 " overflows int64 when %s", where, k, v,
                         s->n_timestamps_unix_nano ? "multiplied by period" : "summed");
                return false;
            }
        }
        int64_t scaled_sum;
        if (!s->n_timestamps_unix_nano && pi->derivable &&
            __builtin_mul_overflow(sum, p->period, &scaled_sum)) {
            snprintf(msg, ml,
                     "%s: values sum %" PRId64 " overflows int64 when multiplied by period", where,
                     sum);
            return false;
        }
        n_obs += sample_obs(s);
        if (s->n_attribute_indices) {
            n_pool += s->n_attribute_indices + p->n_attribute_indices;
            g->n_attr_samples++;
        }
#undef where
    }
    if (n_obs > UINT32_MAX) {
        snprintf(msg, ml, "%s: %" PRIu64 " observations, more than one batch can carry", path,
                 n_obs);
        return false;
    }
    pi->n_obs = n_obs;
    pi->n_pool = n_pool;
    return true;
#undef path
}

static uint64_t profile_obs(const pb_profile *p)
{
    uint64_t n = 0;
    for (size_t i = 0; i < p->n_samples; i++)
        if (p->samples[i])
            n += sample_obs(p->samples[i]);
    return n;
}

/* Samples repeat a few attribute lists (per thread, across the processes of a request:
 * a 16 MB eBPF-like request has 594k samples and 457 distinct label sets): equal index
 * lists (with the same profile attributes) share one slice for the whole request, so the
 * store's label cache, keyed by the slice's address, interns each set about once per
 * request rather than once per sample. The table is a cache: once half full, further
 * lists get their own slice (same result, slower). */
#define TR_ATTR_DEDUP_MAX 16384u /* slots, power of two: 512 KiB at most */
#define TR_ATTR_CHUNK     256u

typedef struct attr_slot {
    const int32_t *idx; /* the first sample's attribute_indices; NULL = empty slot */
    size_t n;
    const win_attr *pattrs; /* the profile attributes appended to the slice */
    const win_attr *attrs;
    uint32_t n_attrs;
} attr_slot;

static uint32_t attr_list_hash(const int32_t *idx, size_t n, const win_attr *pattrs)
{
    uint64_t h = (0x9e3779b97f4a7c15ull ^ n) + (uint64_t)(uintptr_t)pattrs;
    for (size_t k = 0; k < n; k++) {
        h ^= (uint32_t)idx[k];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return (uint32_t)h;
}

/* Fills `out` (one entry per observation) with the profile's observations. */
static bool build_samples(ing *g, const pb_profile *p, int64_t now_ns, win_sample_in *out,
                          const win_attr *pattrs, size_t n_pattrs, uint64_t pool_n)
{
    /* Attribute slices come from chunks of at least TR_ATTR_CHUNK entries: no per-sample
     * allocation, and, as equal lists share a slice, no arena reserved for the slices
     * never made (reserving pool_n up front took ~20 MB per 16 MB request, faulted in
     * elsewhere). pool_n (counted by validate_profile) bounds what the slices take, as
     * n_pattrs <= p->n_attribute_indices. */
    win_attr *pool = NULL;
    size_t pool_left = 0;
    uint64_t needs_left = pool_n; /* what the slices still to make may take at most */
    if (pool_n && !g->dedup) {
        uint32_t cap = 16;
        while (cap < TR_ATTR_DEDUP_MAX && cap < 2 * g->n_attr_samples)
            cap *= 2;
        if (!(g->dedup = base_arena_calloc(g->arena, cap, sizeof *g->dedup)))
            return false;
        g->dedup_mask = cap - 1;
    }
    attr_slot *dedup = g->dedup;
    uint32_t dmask = g->dedup_mask;
    int64_t ptime = p->time_unix_nano ? clamp_time(p->time_unix_nano) : now_ns;
    size_t o = 0;
    for (size_t i = 0; i < p->n_samples; i++) {
        const pb_sample *s = p->samples[i];
        if (!s)
            continue;
        uint32_t stack;
        if (!build_stack(g, s->stack_index, &stack))
            return false;
        const win_attr *attrs = pattrs;
        uint32_t n_attrs = (uint32_t)n_pattrs;
        attr_slot *slot = NULL;
        bool seen = false;
        if (s->n_attribute_indices) {
            uint32_t i_slot =
                attr_list_hash(s->attribute_indices, s->n_attribute_indices, pattrs) & dmask;
            for (;; i_slot = (i_slot + 1) & dmask) {
                attr_slot *d = &dedup[i_slot];
                if (!d->idx) {
                    /* keep half the slots empty: probes stay short and always end */
                    if (g->dedup_used < dmask / 2)
                        slot = d;
                    break;
                }
                if (d->n == s->n_attribute_indices && d->pattrs == pattrs &&
                    memcmp(d->idx, s->attribute_indices, d->n * sizeof *d->idx) == 0) {
                    attrs = d->attrs;
                    n_attrs = d->n_attrs;
                    seen = true;
                    break;
                }
            }
        }
        if (s->n_attribute_indices && !seen) {
            size_t need = s->n_attribute_indices + n_pattrs;
            if (pool_left < need) {
                size_t want = need > TR_ATTR_CHUNK ? need : TR_ATTR_CHUNK;
                if (want > needs_left)
                    want = (size_t)needs_left;
                if (want < need || !(pool = base_arena_alloc(g->arena, want * sizeof *pool)))
                    return false; /* want < need: pool_n was miscounted; cannot happen */
                pool_left = want;
            }
            win_attr *a = pool;
            size_t n = 0;
            for (size_t k = 0; k < s->n_attribute_indices; k++) {
                const win_attr *t = attr_text(g, s->attribute_indices[k]);
                if (!t)
                    return false;
                if (*t->key)
                    a[n++] = *t;
            }
            for (size_t k = 0; k < n_pattrs; k++)
                a[n++] = pattrs[k];
            pool += need;
            pool_left -= need;
            needs_left -= need;
            attrs = a;
            n_attrs = (uint32_t)n;
            if (slot) {
                *slot =
                    (attr_slot){s->attribute_indices, s->n_attribute_indices, pattrs, a, n_attrs};
                g->dedup_used++;
            }
        }
        const uint8_t *trace = NULL, *span = NULL;
        if (s->link_index) {
            const pb_link *l = link_at(g, s->link_index);
            if (!link_is_zero(l)) {
                trace = l->trace_id.data;
                span = l->span_id.data;
            }
        }
        win_sample_in base = {stack, n_attrs, n_attrs ? attrs : NULL, trace, span, 0, ptime};
        if (s->n_timestamps_unix_nano) {
            for (size_t k = 0; k < s->n_timestamps_unix_nano; k++) {
                out[o] = base;
                out[o].value = s->n_values ? s->values[k] : 1;
                out[o].time_ns = clamp_time(s->timestamps_unix_nano[k]);
                o++;
            }
        } else {
            int64_t sum = 0;
            for (size_t k = 0; k < s->n_values; k++)
                sum += s->values[k]; /* validated not to overflow */
            out[o] = base;
            out[o].value = sum;
            o++;
        }
    }
    return true;
}

/* ---- resources ------------------------------------------------------------------ */

typedef struct res_info {
    win_attr *attrs;
    uint32_t n;
    bool valid;
    char *error;     /* first problem when !valid */
    uint64_t hash;   /* of the resolved attribute set */
    bool native_cpu; /* some valid profile of an equal resource is cpu:nanoseconds */
} res_info;

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (h ^ 0xffu) * 1099511628211u;
}

static bool resolve_resource(ing *g, const pb_rprof *rp, size_t ri, res_info *out)
{
    out->valid = true;
    out->hash = 1469598103934665603u;
    const Opentelemetry__Proto__Resource__V1__Resource *r = rp->resource;
    size_t n = r ? r->n_attributes : 0;
    if (!n)
        return true;
    out->attrs = base_arena_alloc(g->arena, n * sizeof *out->attrs);
    if (!out->attrs)
        return false;
    for (size_t k = 0; k < n; k++) {
        const pb_kv *kv = r->attributes[k];
        if (!kv)
            continue;
        /* the path is formatted only for a message: a 16 MB request has ~20k of these */
        char prefix[160], det[512];
#define ATTR_PATH PATH_PREFIX(prefix, "resource_profiles[%zu].resource.attributes[%zu]", ri, k)
        bool ok = true;
        if (idx_bad(kv->key_strindex, g->n_str))
            ok = range_err(det, sizeof det, ATTR_PATH, ".key_strindex", kv->key_strindex,
                           "string_table", g->n_str);
        else if (!check_any(g, kv->value, 0, "", det, sizeof det)) {
            /* check_any is pure: run it again, this time with the path for the message */
            strncat(ATTR_PATH, ".value", sizeof prefix - strlen(prefix) - 1);
            ok = check_any(g, kv->value, 0, prefix, det, sizeof det);
        }
#undef ATTR_PATH
        if (!ok) {
            out->valid = false;
            out->error = base_arena_strndup(g->arena, det, strlen(det));
            return out->error != NULL;
        }
        const char *key = kv->key && *kv->key ? kv->key : str_at(g, kv->key_strindex);
        if (!*key)
            continue;
        const char *val = value_text(g, kv->value);
        if (!val)
            return false;
        out->attrs[out->n++] = (win_attr){key, val};
        out->hash = fnv(fnv(out->hash, key), val);
    }
    return true;
}

typedef struct hash_flag {
    uint64_t hash;
    bool native;
} hash_flag;

static int cmp_hash(const void *a, const void *b)
{
    uint64_t x = ((const hash_flag *)a)->hash, y = ((const hash_flag *)b)->hash;
    return x < y ? -1 : x > y;
}

/* ---- entry points -------------------------------------------------------------- */

static bool ing_init(ing *g, const tr_request *req, base_arena *arena)
{
    memset(g, 0, sizeof *g);
    g->arena = arena;
    g->d = req->dictionary ? req->dictionary : &empty_dict;
    g->n_str = g->d->n_string_table;
    g->n_map = g->d->n_mapping_table;
    g->n_loc = g->d->n_location_table;
    g->n_fn = g->d->n_function_table;
    g->n_link = g->d->n_link_table;
    g->n_attr = g->d->n_attribute_table;
    g->n_stack = g->d->n_stack_table;
#define ALLOC_STATE(field, n) (g->field = base_arena_calloc(arena, (n) ? (n) : 1, 1))
    if (!ALLOC_STATE(st_stack, g->n_stack) || !ALLOC_STATE(st_loc, g->n_loc) ||
        !ALLOC_STATE(st_fn, g->n_fn) || !ALLOC_STATE(st_map, g->n_map) ||
        !ALLOC_STATE(st_attr, g->n_attr) || !ALLOC_STATE(st_link, g->n_link) ||
        !ALLOC_STATE(attr_done, g->n_attr))
        return false;
#undef ALLOC_STATE
    g->attr_text = base_arena_alloc(arena, (g->n_attr ? g->n_attr : 1) * sizeof *g->attr_text);
    return g->attr_text != NULL;
}

/* Could this (decoded) profile be v1.9-numbered? tr__scan_v19 calls a sample v1.9 when
 * it has field 2 and either a varint field 4 (v1.10: values, decoded into n_values) or
 * neither 4 nor 5; a LEN field 3 already failed decoding. Both need attribute_indices
 * (field 2) decoded non-empty, so a request without such a sample is not scanned: the eBPF
 * profiler's samples (attributes and timestamps, no values) are ambiguous one by one, and
 * the scan walked every sample of the request (7% of a 16 MB request). Checked per profile
 * just before validating it, while its samples are in cache; the first profile that may be
 * v1.9 scans the whole request. An empty packed field 2 is the one v1.9 shape this misses;
 * encoders leave empty repeated fields out. */
static bool may_be_v19(const pb_profile *prof)
{
    for (size_t i = 0; prof && i < prof->n_samples; i++) {
        const pb_sample *s = prof->samples[i];
        if (s && s->n_attribute_indices && (s->n_values || !s->n_timestamps_unix_nano))
            return true;
    }
    return false;
}

/* The v1.9 shape no single sample gives away. A v1.9 Sample with values and timestamps
 * but no attributes or link is {stack_index=1, values=2, timestamps_unix_nano=5}: byte
 * for byte a v1.10 Sample {stack_index=1, attribute_indices=2, timestamps_unix_nano=5},
 * whose "attribute indices" are the values, one per timestamp (v1.9 required equal
 * lengths). The raw-byte scan cannot tell them apart; the profile and the dictionary can,
 * when the values betray themselves. A profile is suspect when no sample has values or a
 * link and every sample with attribute_indices has exactly one per timestamp; it is then
 * called v1.9 when some list holds what no v1.10 sender writes into an attribute list:
 *   - an index outside attribute_table (v1.10 would be rejected as out of range anyway;
 *     the message then names the likelier cause), e.g. nanoseconds or bytes as values;
 *   - a (nonzero) index whose entry has no key;
 *   - an index, or an attribute key, repeated within the list (attributes are a set with
 *     unique keys; counts repeat), looked for among the 8 entries before each one, so a
 *     hostile list costs 8 comparisons per entry.
 * Index 0 is not evidence: the lenient "0 = unset" reading lets v1.10 senders write it.
 * What stays ambiguous: a v1.9 profile whose values are all small, distinct-key, nonzero
 * indices of attributes, e.g. single-observation counts of 1..9 against a table of nine
 * thread names, is a valid v1.10 profile and is stored as one. Only called for protobuf
 * input: OTLP/JSON names its fields, so no numbering can skew. Fills `why` and `*sample`
 * when the profile is v1.9. */
#define TR_V19_DUP_WINDOW 8

static bool v19_values_as_attrs(const ing *g, const pb_profile *p, char *why, size_t wl,
                                size_t *sample)
{
    bool any = false;
    for (size_t i = 0; i < p->n_samples; i++) {
        const pb_sample *s = p->samples[i];
        if (!s)
            continue;
        if (s->n_values || s->link_index ||
            (s->n_attribute_indices && s->n_attribute_indices != s->n_timestamps_unix_nano))
            return false;
        any |= s->n_attribute_indices != 0;
    }
    if (!any)
        return false;
    static const char lead[] = "its attribute_indices read as v1.9 values (one per timestamp in "
                               "every sample, no values, no link)";
    for (size_t i = 0; i < p->n_samples; i++) {
        const pb_sample *s = p->samples[i];
        if (!s || !s->n_attribute_indices)
            continue;
        const int32_t *a = s->attribute_indices;
        *sample = i;
        for (size_t k = 0; k < s->n_attribute_indices; k++) {
            if (a[k] == 0)
                continue;
            if (a[k] < 0 || (size_t)a[k] >= g->n_attr) {
                snprintf(
                    why, wl,
                    "%s, and attribute_indices[%zu] %d is outside attribute_table (%zu entries)",
                    lead, k, a[k], g->n_attr);
                return true;
            }
            int32_t key = kvu_at(g, a[k])->key_strindex;
            if (!*str_at(g, key)) {
                snprintf(why, wl, "%s, and attribute_indices[%zu] %d is an attribute without a key",
                         lead, k, a[k]);
                return true;
            }
            for (size_t j = k > TR_V19_DUP_WINDOW ? k - TR_V19_DUP_WINDOW : 0; j < k; j++) {
                if (a[j] <= 0 || (size_t)a[j] >= g->n_attr)
                    continue;
                if (a[j] == a[k] || kvu_at(g, a[j])->key_strindex == key) {
                    snprintf(why, wl,
                             "%s, and attribute_indices[%zu] %d repeats the %s of "
                             "attribute_indices[%zu]",
                             lead, k, a[k], a[j] == a[k] ? "attribute" : "key", j);
                    return true;
                }
            }
        }
    }
    return false;
}

base_err tr__ingest_with_sink(const tr_request *req, const uint8_t *raw, size_t raw_len,
                              int64_t now_ns, base_arena *arena, tr__sink_fn sink, void *ctx,
                              tr_result *res)
{
    memset(res, 0, sizeof *res);
    if (!req || !req->n_resource_profiles)
        return BASE_OK;
    ing g;
    if (!ing_init(&g, req, arena))
        return BASE_ERR_NOMEM;

    tr__v19_hit *hits = NULL;
    size_t n_hits = 0, hit = 0;
    bool scanned = raw == NULL;

    size_t n_res = req->n_resource_profiles, n_prof = 0;
    for (size_t r = 0; r < n_res; r++) {
        const pb_rprof *rp = req->resource_profiles[r];
        for (size_t s = 0; rp && s < rp->n_scope_profiles; s++)
            if (rp->scope_profiles[s])
                n_prof += rp->scope_profiles[s]->n_profiles;
    }
    res_info *ri = base_arena_calloc(arena, n_res, sizeof *ri);
    prof_info *pinfo = base_arena_calloc(arena, n_prof ? n_prof : 1, sizeof *pinfo);
    if (!ri || !pinfo)
        return BASE_ERR_NOMEM;

    /* pass 1: validate */
    char msg[1024], path[160];
    size_t pk = 0;
    for (size_t r = 0; r < n_res; r++) {
        const pb_rprof *rp = req->resource_profiles[r];
        if (!rp)
            continue;
        if (!resolve_resource(&g, rp, r, &ri[r]))
            return BASE_ERR_NOMEM;
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            const pb_sprof *sp = rp->scope_profiles[s];
            for (size_t p = 0; sp && p < sp->n_profiles; p++, pk++) {
                const pb_profile *prof = sp->profiles[p];
                prof_info *pi = &pinfo[pk];
                if (!prof)
                    continue;
                if (!scanned && may_be_v19(prof)) {
                    /* hits are in request order and no earlier profile can have one */
                    if (tr__scan_v19(raw, raw_len, arena, &hits, &n_hits) != BASE_OK)
                        return BASE_ERR_NOMEM;
                    scanned = true;
                }
                while (hit < n_hits &&
                       (hits[hit].resource < r ||
                        (hits[hit].resource == r &&
                         (hits[hit].scope < s || (hits[hit].scope == s && hits[hit].profile < p)))))
                    hit++;
                bool v19 = hit < n_hits && hits[hit].resource == r && hits[hit].scope == s &&
                           hits[hit].profile == p;
                char why[BASE_ERR_LEN];
                size_t at = 0;
                if (v19) {
                    tr__v19_message(&hits[hit], NULL, msg, sizeof msg);
                } else if (raw && ri[r].valid &&
                           v19_values_as_attrs(&g, prof, why, sizeof why, &at)) {
                    tr__v19_hit h = {(uint32_t)r, (uint32_t)s, (uint32_t)p, (uint32_t)at};
                    tr__v19_message(&h, why, msg, sizeof msg);
                    v19 = true;
                } else if (!ri[r].valid)
                    snprintf(msg, sizeof msg, "%s", ri[r].error);
                pi->valid =
                    !v19 && ri[r].valid &&
                    validate_profile(&g, prof, (const size_t[3]){r, s, p}, pi, msg, sizeof msg);
                if (g.nomem)
                    return BASE_ERR_NOMEM;
                if (!pi->valid) {
                    res->profiles_rejected++;
                    res->samples_rejected += profile_obs(prof);
                    note_error(res, msg);
                } else if (pi->native_cpu) {
                    ri[r].native_cpu = true;
                }
            }
        }
    }

    /* Equal resource sets in different resource_profiles entries are the same resource:
     * group them by hash so a native cpu profile anywhere suppresses the derivation. */
    hash_flag *hf = base_arena_alloc(arena, n_res * sizeof *hf);
    if (!hf)
        return BASE_ERR_NOMEM;
    for (size_t r = 0; r < n_res; r++)
        hf[r] = (hash_flag){ri[r].hash, ri[r].native_cpu};
    qsort(hf, n_res, sizeof *hf, cmp_hash);
    for (size_t a = 0; a < n_res;) {
        size_t b = a;
        bool any = false;
        while (b < n_res && hf[b].hash == hf[a].hash)
            any |= hf[b++].native;
        for (size_t k = a; k < b; k++)
            hf[k].native = any;
        a = b;
    }
    for (size_t r = 0; r < n_res; r++) {
        hash_flag key = {ri[r].hash, false};
        const hash_flag *f = bsearch(&key, hf, n_res, sizeof *hf, cmp_hash);
        if (f && f->native)
            ri[r].native_cpu = true;
    }

    /* pass 2: normalize and hand over. A batch's observations are only needed for the
     * sink calls, so one buffer serves every profile (replaced by a larger one when a
     * profile needs more: never more arena than an array per profile): an array per profile took 28
     * MB of fresh arena per 16 MB request, page-faulted in and written cold, where the reused one
     * stays in cache. */
    win_sample_in *obs_buf = NULL;
    uint64_t obs_cap = 0;
    pk = 0;
    for (size_t r = 0; r < n_res; r++) {
        const pb_rprof *rp = req->resource_profiles[r];
        if (!rp)
            continue;
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            const pb_sprof *sp = rp->scope_profiles[s];
            for (size_t p = 0; sp && p < sp->n_profiles; p++, pk++) {
                const pb_profile *prof = sp->profiles[p];
                const prof_info *pi = &pinfo[pk];
                if (!prof || !pi->valid)
                    continue;
                if (!build_init(&g))
                    return BASE_ERR_NOMEM;
                win_attr *pattrs = NULL;
                size_t n_pattrs = 0;
                if (prof->n_attribute_indices) {
                    pattrs = base_arena_alloc(arena, prof->n_attribute_indices * sizeof *pattrs);
                    if (!pattrs)
                        return BASE_ERR_NOMEM;
                    for (size_t k = 0; k < prof->n_attribute_indices; k++) {
                        const win_attr *t = attr_text(&g, prof->attribute_indices[k]);
                        if (!t)
                            return BASE_ERR_NOMEM;
                        if (*t->key)
                            pattrs[n_pattrs++] = *t;
                    }
                }
                if (pi->n_obs > obs_cap) {
                    if (!(obs_buf = base_arena_alloc(arena, pi->n_obs * sizeof *obs_buf)))
                        return BASE_ERR_NOMEM;
                    obs_cap = pi->n_obs;
                }
                win_sample_in *obs = pi->n_obs ? obs_buf : NULL;
                if (!build_samples(&g, prof, now_ns, obs, pattrs, n_pattrs, pi->n_pool))
                    return BASE_ERR_NOMEM;
                res->profiles_accepted++;
                if (!pi->n_obs)
                    continue;
                win_batch batch = {.profile_type = pi->type,
                                   .resource = ri[r].attrs,
                                   .n_resource = ri[r].n,
                                   .frames = g.frames,
                                   .n_frames = g.n_frames,
                                   .stacks = g.stacks,
                                   .n_stacks = g.n_stacks,
                                   .samples = obs,
                                   .n_samples = (uint32_t)pi->n_obs,
                                   .cache = NULL,
                                   .restated = false};
                win_add_result added = {0, 0, 0, 0};
                char err[BASE_ERR_LEN] = "";
                int sunk = sink(ctx, &batch, &added, err, sizeof err);
                /* a store that ran out part-way keeps what landed and counts it: so do we */
                uint64_t placed =
                    added.samples_stored + added.samples_too_old + added.samples_too_new;
                res->samples_stored += added.samples_stored;
                res->samples_too_old += added.samples_too_old;
                res->samples_too_new += added.samples_too_new;
                res->samples_evicted += added.samples_evicted;
                if (sunk != 0) {
                    snprintf(path, sizeof path, PROFILE_PATH_FMT, r, s, p);
                    res->profiles_accepted--;
                    res->profiles_rejected++;
                    res->samples_rejected += pi->n_obs > placed ? pi->n_obs - placed : 0;
                    snprintf(msg, sizeof msg, "%s: not stored: %s", path, err);
                    note_error(res, msg);
                    continue;
                }
                if (!pi->derivable || ri[r].native_cpu)
                    continue;
                /* the eBPF profiler's shape: counts of period-long cpu samples; scaled in
                 * place, as the store is done with the counts (a copy was 28 MB of arena,
                 * page-faulted in afresh, per 16 MB request) */
                for (size_t k = 0; k < pi->n_obs; k++)
                    obs[k].value *= prof->period; /* validated to fit */
                batch.profile_type = "cpu:nanoseconds";
                batch.restated = true;
                err[0] = '\0';
                /* restates the same observations: only the evictions it caused (of what
                 * the request stored before) are new */
                added = (win_add_result){0, 0, 0, 0};
                int derived_rc = sink(ctx, &batch, &added, err, sizeof err);
                res->samples_evicted += added.samples_evicted;
                if (derived_rc != 0) {
                    snprintf(path, sizeof path, PROFILE_PATH_FMT, r, s, p);
                    snprintf(msg, sizeof msg, "%s: derived cpu:nanoseconds not stored: %s", path,
                             err);
                    note_error(res, msg);
                }
            }
        }
    }
    return BASE_OK;
}
