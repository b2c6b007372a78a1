/* translate/pprof.c — pprof (perftools.profiles.Profile) to one OTLP
 * ExportProfilesServiceRequest, for `otelprofd send` and the bundled --demo profiles.
 *
 * The pprof string table becomes the dictionary's string table unchanged, so every pprof
 * string index is a valid OTLP string index; pprof ids (mapping, function, location) become
 * dictionary indices shifted by one, because index 0 of every OTLP table is the zero entry. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "pprof/profile.pb-c.h"
#include "translate/translate.h"

typedef Perftools__Profiles__Profile pp_profile;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary o_dict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles o_rp;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles o_sp;
typedef Opentelemetry__Proto__Profiles__V1development__Profile o_profile;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType o_vt;
typedef Opentelemetry__Proto__Profiles__V1development__Sample o_sample;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping o_mapping;
typedef Opentelemetry__Proto__Profiles__V1development__Location o_location;
typedef Opentelemetry__Proto__Profiles__V1development__Line o_line;
typedef Opentelemetry__Proto__Profiles__V1development__Function o_function;
typedef Opentelemetry__Proto__Profiles__V1development__Stack o_stack;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit o_kvu;
typedef Opentelemetry__Proto__Common__V1__KeyValue o_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue o_any;
typedef Opentelemetry__Proto__Resource__V1__Resource o_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope o_scope;

#define CAST_ALLOC(T, n) ((T *)base_arena_calloc(arena, (n), sizeof(T)))
/* 1971-01-01T00:00:00Z: pprof times before it are treated as missing (see below) */
#define PPROF_FIRST_REAL_TIME_NS ((int64_t)365 * 86400 * 1000000000)

/* ---- gzip ----------------------------------------------------------------------- */

static base_err gunzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len, char *err,
                       size_t err_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        base_set_err(err, err_len, "gzip: cannot initialise zlib");
        return BASE_ERR_NOMEM;
    }
    size_t cap = len * 4 < 65536 ? 65536 : len * 4;
    if (cap > TR_PPROF_MAX_BYTES)
        cap = TR_PPROF_MAX_BYTES;
    uint8_t *buf = malloc(cap);
    size_t used = 0;
    base_err rc = BASE_OK;
    zs.next_in = (Bytef *)(uintptr_t)in;
    /* inputs above 4 GiB are far beyond the cap anyway */
    zs.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
    for (;;) {
        if (!buf) {
            base_set_err(err, err_len, "gzip: out of memory");
            rc = BASE_ERR_NOMEM;
            break;
        }
        if (used == cap) {
            if (cap >= TR_PPROF_MAX_BYTES) {
                base_set_err(err, err_len, "pprof larger than %u MiB once decompressed",
                             (unsigned)(TR_PPROF_MAX_BYTES >> 20));
                rc = BASE_ERR_TOO_LARGE;
                break;
            }
            size_t ncap = cap * 2 > TR_PPROF_MAX_BYTES ? TR_PPROF_MAX_BYTES : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                base_set_err(err, err_len, "gzip: out of memory");
                rc = BASE_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        zs.next_out = buf + used;
        size_t room = cap - used;
        zs.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        uInt before = zs.avail_out;
        int r = inflate(&zs, Z_NO_FLUSH);
        used += before - zs.avail_out;
        if (r == Z_STREAM_END)
            break;
        if (r != Z_OK && !(r == Z_BUF_ERROR && zs.avail_out == 0)) {
            base_set_err(err, err_len, "gzip: %s",
                         r == Z_BUF_ERROR ? "stream is truncated"
                                          : (zs.msg ? zs.msg : "corrupt stream"));
            rc = BASE_ERR_DECODE;
            break;
        }
    }
    inflateEnd(&zs);
    if (rc != BASE_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = used;
    return BASE_OK;
}

/* ---- id -> index ---------------------------------------------------------------- */

/* pprof ids are arbitrary non-zero uint64s; Go writes 1..n in order, which is the fast
 * path. Otherwise a sorted copy is binary-searched. */
typedef struct idpair {
    uint64_t id;
    uint32_t index; /* 0-based position in the pprof table */
} idpair;

typedef struct idmap {
    size_t n;
    bool dense;
    idpair *sorted;
} idmap;

static int cmp_idpair(const void *a, const void *b)
{
    uint64_t x = ((const idpair *)a)->id, y = ((const idpair *)b)->id;
    return x < y ? -1 : x > y;
}

/* `get(i)` is the id of entry i. Returns -1 (with err) on a zero or duplicate id. */
static base_err idmap_build(idmap *m, size_t n, const uint64_t *ids, const char *what,
                            base_arena *arena, char *err, size_t err_len)
{
    m->n = n;
    m->dense = true;
    m->sorted = NULL;
    for (size_t i = 0; i < n && m->dense; i++)
        m->dense = ids[i] == i + 1;
    if (m->dense)
        return BASE_OK;
    m->sorted = CAST_ALLOC(idpair, n);
    if (!m->sorted) {
        base_set_err(err, err_len, "out of memory");
        return BASE_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == 0) {
            base_set_err(err, err_len, "%s[%zu].id is 0 (ids must be non-zero)", what, i);
            return BASE_ERR_INVALID;
        }
        m->sorted[i].id = ids[i];
        m->sorted[i].index = (uint32_t)i;
    }
    qsort(m->sorted, n, sizeof *m->sorted, cmp_idpair);
    for (size_t i = 1; i < n; i++) {
        if (m->sorted[i].id == m->sorted[i - 1].id) {
            base_set_err(err, err_len, "%s id %llu appears twice", what,
                         (unsigned long long)m->sorted[i].id);
            return BASE_ERR_INVALID;
        }
    }
    return BASE_OK;
}

/* OTLP index (position + 1) of `id`, or 0 when absent. */
static int32_t idmap_find(const idmap *m, uint64_t id)
{
    if (m->dense)
        return id >= 1 && id <= m->n ? (int32_t)id : 0;
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->sorted[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && m->sorted[lo].id == id ? (int32_t)m->sorted[lo].index + 1 : 0;
}

/* ---- conversion ----------------------------------------------------------------- */

typedef struct conv {
    const pp_profile *p;
    base_arena *arena;
    char *err;
    size_t err_len;
} conv;

static bool str_ok(const conv *c, int64_t idx, const char *path)
{
    if (idx >= 0 && (uint64_t)idx < c->p->n_string_table)
        return true;
    base_set_err(c->err, c->err_len, "%s %lld out of range: string_table has %zu entries", path,
                 (long long)idx, c->p->n_string_table);
    return false;
}

static o_vt *value_type(base_arena *arena, int64_t type, int64_t unit)
{
    o_vt *vt = CAST_ALLOC(o_vt, 1);
    if (!vt)
        return NULL;
    opentelemetry__proto__profiles__v1development__value_type__init(vt);
    vt->type_strindex = (int32_t)type;
    vt->unit_strindex = (int32_t)unit;
    return vt;
}

/* Attribute table with de-duplication: pprof repeats the same label on many samples. */
typedef struct attr_tab {
    o_kvu **entries; /* [0] = zero entry */
    size_t n, cap;
    int32_t *slots; /* open addressing; 0 = empty, else entry index */
    size_t n_slots;
} attr_tab;

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static bool kvu_equal(const o_kvu *a, int64_t key, int64_t str, int64_t num, int64_t unit)
{
    if (a->key_strindex != key || a->unit_strindex != (int32_t)unit)
        return false;
    if (str)
        return a->value->value_case ==
                   OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX &&
               a->value->string_value_strindex == (int32_t)str;
    return a->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE &&
           a->value->int_value == num;
}

static int32_t attr_get(attr_tab *t, base_arena *arena, int64_t key, int64_t str, int64_t num,
                        int64_t unit)
{
    uint64_t h = mix(mix(mix(mix(0, (uint64_t)key), (uint64_t)str), (uint64_t)num), (uint64_t)unit);
    size_t mask = t->n_slots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        int32_t e = t->slots[i];
        if (e == 0) {
            if (t->n == t->cap)
                return -1; /* cannot happen: cap = labels + 1 */
            o_kvu *kv = CAST_ALLOC(o_kvu, 1);
            o_any *v = CAST_ALLOC(o_any, 1);
            if (!kv || !v)
                return -1;
            opentelemetry__proto__profiles__v1development__key_value_and_unit__init(kv);
            opentelemetry__proto__common__v1__any_value__init(v);
            kv->key_strindex = (int32_t)key;
            kv->unit_strindex = (int32_t)unit;
            if (str) {
                v->value_case =
                    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX;
                v->string_value_strindex = (int32_t)str;
            } else {
                v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
                v->int_value = num;
            }
            kv->value = v;
            t->entries[t->n] = kv;
            t->slots[i] = (int32_t)t->n;
            return (int32_t)t->n++;
        }
        if (kvu_equal(t->entries[e], key, str, num, unit))
            return e;
    }
}

/* ---- the dictionary, one phase per table ---------------------------------------- */

/* What the phases of build_dictionary hand one another. Everything lives in c->arena. */
typedef struct dict_build {
    conv *c;
    o_dict *d;
    uint64_t *ids; /* scratch for idmap_build: one table's ids at a time */
    idmap maps, funcs, locs;
    attr_tab at;
    size_t n_labels;    /* sample labels over all samples */
    size_t n_build_ids; /* mappings with a build id */
} dict_build;

static base_err dict_nomem(const conv *c)
{
    base_set_err(c->err, c->err_len, "out of memory converting pprof");
    return BASE_ERR_NOMEM;
}

/* Every table is indexed with int32 on the OTLP side; the string table passes unchanged. */
static base_err dict_strings(dict_build *db)
{
    const pp_profile *p = db->c->p;
    if (p->n_string_table >= INT32_MAX || p->n_mapping >= INT32_MAX || p->n_function >= INT32_MAX ||
        p->n_location >= INT32_MAX || p->n_sample >= INT32_MAX) {
        base_set_err(db->c->err, db->c->err_len, "pprof tables too large");
        return BASE_ERR_INVALID;
    }
    if (p->n_string_table == 0 || p->string_table[0][0] != '\0') {
        base_set_err(db->c->err, db->c->err_len, "string_table[0] must be \"\"");
        return BASE_ERR_INVALID;
    }
    db->d->n_string_table = p->n_string_table;
    db->d->string_table = p->string_table;
    base_arena *arena = db->c->arena;
    db->ids = CAST_ALLOC(uint64_t, p->n_mapping + p->n_function + p->n_location + 1);
    return db->ids ? BASE_OK : dict_nomem(db->c);
}

/* The attribute table holds every distinct sample label and build id; it is sized for
 * all of them (plus the zero entry) up front, so attr_get never grows it. */
static base_err dict_attribute_table(dict_build *db)
{
    const pp_profile *p = db->c->p;
    base_arena *arena = db->c->arena;
    for (size_t i = 0; i < p->n_sample; i++)
        db->n_labels += p->sample[i]->n_label;
    for (size_t i = 0; i < p->n_mapping; i++)
        db->n_build_ids += p->mapping[i]->build_id != 0;
    if (db->n_labels + db->n_build_ids >= INT32_MAX - 1) {
        base_set_err(db->c->err, db->c->err_len, "too many sample labels");
        return BASE_ERR_INVALID;
    }
    attr_tab *at = &db->at;
    at->cap = db->n_labels + db->n_build_ids + 1;
    at->entries = CAST_ALLOC(o_kvu *, at->cap);
    at->n_slots = 16;
    while (at->n_slots < at->cap * 2)
        at->n_slots *= 2;
    at->slots = CAST_ALLOC(int32_t, at->n_slots);
    if (!at->entries || !at->slots || !(at->entries[0] = CAST_ALLOC(o_kvu, 1)))
        return dict_nomem(db->c);
    opentelemetry__proto__profiles__v1development__key_value_and_unit__init(at->entries[0]);
    at->n = 1;
    return BASE_OK;
}

static base_err dict_mappings(dict_build *db)
{
    conv *c = db->c;
    const pp_profile *p = c->p;
    base_arena *arena = c->arena;
    o_dict *d = db->d;
    for (size_t i = 0; i < p->n_mapping; i++)
        db->ids[i] = p->mapping[i]->id;
    base_err kind =
        idmap_build(&db->maps, p->n_mapping, db->ids, "mapping", arena, c->err, c->err_len);
    if (kind != BASE_OK)
        return kind;
    d->n_mapping_table = p->n_mapping + 1;
    d->mapping_table = CAST_ALLOC(o_mapping *, d->n_mapping_table);
    if (!d->mapping_table)
        return dict_nomem(c);
    for (size_t i = 0; i < d->n_mapping_table; i++) {
        o_mapping *m = CAST_ALLOC(o_mapping, 1);
        if (!m)
            return dict_nomem(c);
        opentelemetry__proto__profiles__v1development__mapping__init(m);
        d->mapping_table[i] = m;
        if (i == 0)
            continue;
        const Perftools__Profiles__Mapping *pm = p->mapping[i - 1];
        char path[64];
        snprintf(path, sizeof path, "mapping[%zu].filename", i - 1);
        if (!str_ok(c, pm->filename, path))
            return BASE_ERR_INVALID;
        snprintf(path, sizeof path, "mapping[%zu].build_id", i - 1);
        if (!str_ok(c, pm->build_id, path))
            return BASE_ERR_INVALID;
        m->memory_start = pm->memory_start;
        m->memory_limit = pm->memory_limit;
        m->file_offset = pm->file_offset;
        m->filename_strindex = (int32_t)pm->filename;
        if (pm->build_id) {
            /* the build id key is a string the pprof table does not have: the value goes
             * by index, the key needs one; "build_id" is the generic key ingest accepts */
            m->attribute_indices = CAST_ALLOC(int32_t, 1);
            if (!m->attribute_indices)
                return dict_nomem(c);
            m->n_attribute_indices = 1;
            m->attribute_indices[0] = -2 - (int32_t)pm->build_id; /* dict_build_ids */
        }
    }
    return BASE_OK;
}

static base_err dict_functions(dict_build *db)
{
    conv *c = db->c;
    const pp_profile *p = c->p;
    base_arena *arena = c->arena;
    o_dict *d = db->d;
    for (size_t i = 0; i < p->n_function; i++)
        db->ids[i] = p->function[i]->id;
    base_err kind =
        idmap_build(&db->funcs, p->n_function, db->ids, "function", arena, c->err, c->err_len);
    if (kind != BASE_OK)
        return kind;
    d->n_function_table = p->n_function + 1;
    d->function_table = CAST_ALLOC(o_function *, d->n_function_table);
    if (!d->function_table)
        return dict_nomem(c);
    for (size_t i = 0; i < d->n_function_table; i++) {
        o_function *f = CAST_ALLOC(o_function, 1);
        if (!f)
            return dict_nomem(c);
        opentelemetry__proto__profiles__v1development__function__init(f);
        d->function_table[i] = f;
        if (i == 0)
            continue;
        const Perftools__Profiles__Function *pf = p->function[i - 1];
        char path[64];
        snprintf(path, sizeof path, "function[%zu].name", i - 1);
        if (!str_ok(c, pf->name, path))
            return BASE_ERR_INVALID;
        snprintf(path, sizeof path, "function[%zu].system_name", i - 1);
        if (!str_ok(c, pf->system_name, path))
            return BASE_ERR_INVALID;
        snprintf(path, sizeof path, "function[%zu].filename", i - 1);
        if (!str_ok(c, pf->filename, path))
            return BASE_ERR_INVALID;
        f->name_strindex = (int32_t)pf->name;
        f->system_name_strindex = (int32_t)pf->system_name;
        f->filename_strindex = (int32_t)pf->filename;
        f->start_line = pf->start_line;
    }
    return BASE_OK;
}

/* One location: its mapping and its lines' functions resolved through the id maps. */
static base_err dict_location(dict_build *db, size_t i, o_location *l)
{
    conv *c = db->c;
    base_arena *arena = c->arena;
    const Perftools__Profiles__Location *pl = c->p->location[i];
    if (pl->mapping_id) {
        l->mapping_index = idmap_find(&db->maps, pl->mapping_id);
        if (!l->mapping_index) {
            base_set_err(c->err, c->err_len, "location[%zu].mapping_id %llu: no such mapping", i,
                         (unsigned long long)pl->mapping_id);
            return BASE_ERR_INVALID;
        }
    }
    l->address = pl->address;
    l->n_lines = pl->n_line;
    l->lines = CAST_ALLOC(o_line *, pl->n_line + 1);
    if (!l->lines)
        return dict_nomem(c);
    for (size_t k = 0; k < pl->n_line; k++) {
        o_line *ln = CAST_ALLOC(o_line, 1);
        if (!ln)
            return dict_nomem(c);
        opentelemetry__proto__profiles__v1development__line__init(ln);
        const Perftools__Profiles__Line *pln = pl->line[k];
        if (pln->function_id) {
            ln->function_index = idmap_find(&db->funcs, pln->function_id);
            if (!ln->function_index) {
                base_set_err(c->err, c->err_len,
                             "location[%zu].line[%zu].function_id %llu: no such function", i, k,
                             (unsigned long long)pln->function_id);
                return BASE_ERR_INVALID;
            }
        }
        ln->line = pln->line;
        ln->column = pln->column;
        l->lines[k] = ln;
    }
    return BASE_OK;
}

static base_err dict_locations(dict_build *db)
{
    conv *c = db->c;
    const pp_profile *p = c->p;
    base_arena *arena = c->arena;
    o_dict *d = db->d;
    for (size_t i = 0; i < p->n_location; i++)
        db->ids[i] = p->location[i]->id;
    base_err kind =
        idmap_build(&db->locs, p->n_location, db->ids, "location", arena, c->err, c->err_len);
    if (kind != BASE_OK)
        return kind;
    d->n_location_table = p->n_location + 1;
    d->location_table = CAST_ALLOC(o_location *, d->n_location_table);
    if (!d->location_table)
        return dict_nomem(c);
    for (size_t i = 0; i < d->n_location_table; i++) {
        o_location *l = CAST_ALLOC(o_location, 1);
        if (!l)
            return dict_nomem(c);
        opentelemetry__proto__profiles__v1development__location__init(l);
        d->location_table[i] = l;
        if (i > 0 && (kind = dict_location(db, i - 1, l)) != BASE_OK)
            return kind;
    }
    return BASE_OK;
}

/* One sample's labels into the attribute table; their indices go to attrs[0..n_label). */
static base_err dict_sample_labels(dict_build *db, size_t i, int32_t *attrs)
{
    conv *c = db->c;
    const Perftools__Profiles__Sample *ps = c->p->sample[i];
    for (size_t k = 0; k < ps->n_label; k++) {
        const Perftools__Profiles__Label *lb = ps->label[k];
        char path[80];
        snprintf(path, sizeof path, "sample[%zu].label[%zu].key", i, k);
        if (!str_ok(c, lb->key, path))
            return BASE_ERR_INVALID;
        snprintf(path, sizeof path, "sample[%zu].label[%zu].str", i, k);
        if (!str_ok(c, lb->str, path))
            return BASE_ERR_INVALID;
        snprintf(path, sizeof path, "sample[%zu].label[%zu].num_unit", i, k);
        if (!str_ok(c, lb->num_unit, path))
            return BASE_ERR_INVALID;
        int32_t a = attr_get(&db->at, c->arena, lb->key, lb->str, lb->str ? 0 : lb->num,
                             lb->str ? 0 : lb->num_unit);
        if (a < 0)
            return dict_nomem(c);
        attrs[k] = a;
    }
    return BASE_OK;
}

/* Stacks: one per sample (index 0 = empty), and the sample attributes (sample i's are
 * the next n_sample_attrs[i] entries of sample_attrs). */
static base_err dict_stacks(dict_build *db, int32_t **sample_attrs, size_t **n_sample_attrs)
{
    conv *c = db->c;
    const pp_profile *p = c->p;
    base_arena *arena = c->arena;
    o_dict *d = db->d;
    d->n_stack_table = p->n_sample + 1;
    d->stack_table = CAST_ALLOC(o_stack *, d->n_stack_table);
    *sample_attrs = CAST_ALLOC(int32_t, db->n_labels + 1);
    *n_sample_attrs = CAST_ALLOC(size_t, p->n_sample + 1);
    if (!d->stack_table || !*sample_attrs || !*n_sample_attrs)
        return dict_nomem(c);
    size_t attr_pos = 0;
    for (size_t i = 0; i < d->n_stack_table; i++) {
        o_stack *s = CAST_ALLOC(o_stack, 1);
        if (!s)
            return dict_nomem(c);
        opentelemetry__proto__profiles__v1development__stack__init(s);
        d->stack_table[i] = s;
        if (i == 0)
            continue;
        const Perftools__Profiles__Sample *ps = p->sample[i - 1];
        if (ps->n_value != p->n_sample_type) {
            base_set_err(c->err, c->err_len, "sample[%zu] has %zu values, sample_type has %zu",
                         i - 1, ps->n_value, p->n_sample_type);
            return BASE_ERR_INVALID;
        }
        s->n_location_indices = ps->n_location_id;
        s->location_indices = CAST_ALLOC(int32_t, ps->n_location_id + 1);
        if (!s->location_indices)
            return dict_nomem(c);
        for (size_t k = 0; k < ps->n_location_id; k++) {
            int32_t li = idmap_find(&db->locs, ps->location_id[k]);
            if (!li) {
                base_set_err(c->err, c->err_len, "sample[%zu].location_id %llu: no such location",
                             i - 1, (unsigned long long)ps->location_id[k]);
                return BASE_ERR_INVALID;
            }
            s->location_indices[k] = li;
        }
        (*n_sample_attrs)[i - 1] = ps->n_label;
        base_err kind = dict_sample_labels(db, i - 1, *sample_attrs + attr_pos);
        if (kind != BASE_OK)
            return kind;
        attr_pos += ps->n_label;
    }
    return BASE_OK;
}

/* Build ids: a key string appended to the table, shared by every mapping; each mapping's
 * placeholder index (-2 - value) becomes its attribute's index. */
static base_err dict_build_ids(dict_build *db)
{
    base_arena *arena = db->c->arena;
    o_dict *d = db->d;
    if (!db->n_build_ids)
        return BASE_OK;
    char **st = CAST_ALLOC(char *, d->n_string_table + 1);
    if (!st)
        return dict_nomem(db->c);
    memcpy(st, d->string_table, d->n_string_table * sizeof *st);
    st[d->n_string_table] = "build_id";
    int32_t key = (int32_t)d->n_string_table++;
    d->string_table = st;
    for (size_t i = 1; i < d->n_mapping_table; i++) {
        o_mapping *m = d->mapping_table[i];
        if (!m->n_attribute_indices)
            continue;
        int64_t value = -2 - (int64_t)m->attribute_indices[0];
        int32_t a = attr_get(&db->at, arena, key, value, 0, 0);
        if (a < 0)
            return dict_nomem(db->c);
        m->attribute_indices[0] = a;
    }
    return BASE_OK;
}

/* The OTLP dictionary of one pprof, one phase per table, each phase relying on the ones
 * before it (locations need the mapping and function id maps, stacks the location map,
 * build ids the attribute table the labels filled). */
static base_err build_dictionary(conv *c, o_dict *d, int32_t **sample_attrs,
                                 size_t **n_sample_attrs)
{
    dict_build db = {.c = c, .d = d};
    base_err kind;
    if ((kind = dict_strings(&db)) != BASE_OK || (kind = dict_attribute_table(&db)) != BASE_OK ||
        (kind = dict_mappings(&db)) != BASE_OK || (kind = dict_functions(&db)) != BASE_OK ||
        (kind = dict_locations(&db)) != BASE_OK ||
        (kind = dict_stacks(&db, sample_attrs, n_sample_attrs)) != BASE_OK ||
        (kind = dict_build_ids(&db)) != BASE_OK)
        return kind;
    d->n_attribute_table = db.at.n;
    d->attribute_table = db.at.entries;
    return BASE_OK;
}

base_err tr_pprof_to_otlp(const uint8_t *pprof, size_t len, const win_attr *resource,
                          size_t n_resource, int64_t time_ns_if_missing, base_arena *arena,
                          uint8_t **otlp_out, size_t *otlp_len, char *err, size_t err_len)
{
    *otlp_out = NULL;
    *otlp_len = 0;
    uint8_t *inflated = NULL;
    size_t inflated_len = 0;
    if (len >= 2 && pprof[0] == 0x1f && pprof[1] == 0x8b) {
        base_err rc = gunzip(pprof, len, &inflated, &inflated_len, err, err_len);
        if (rc != BASE_OK)
            return rc;
        pprof = inflated;
        len = inflated_len;
    } else if (len > TR_PPROF_MAX_BYTES) {
        base_set_err(err, err_len, "pprof larger than %u MiB",
                     (unsigned)(TR_PPROF_MAX_BYTES >> 20));
        return BASE_ERR_TOO_LARGE;
    }
    tr_pb_allocator alloc;
    pp_profile *p =
        perftools__profiles__profile__unpack(tr_pb_allocator_init(&alloc, arena), len, pprof);
    free(inflated);
    if (!p && alloc.failed) {
        base_set_err(err, err_len, "out of memory decoding the pprof");
        return BASE_ERR_NOMEM;
    }
    if (!p) {
        base_set_err(err, err_len,
                     "not a pprof profile (perftools.profiles.Profile does not "
                     "decode)");
        return BASE_ERR_DECODE;
    }
    if (p->n_sample_type == 0) {
        base_set_err(err, err_len, "pprof has no sample_type");
        return BASE_ERR_INVALID;
    }
    if (n_resource >= INT32_MAX) {
        base_set_err(err, err_len, "too many resource attributes");
        return BASE_ERR_BAD_ARGUMENT;
    }
    conv c = {.p = p, .arena = arena, .err = err, .err_len = err_len};
    char path[64];
    for (size_t i = 0; i < p->n_sample_type; i++) {
        snprintf(path, sizeof path, "sample_type[%zu].type", i);
        if (!str_ok(&c, p->sample_type[i]->type, path))
            return BASE_ERR_INVALID;
        snprintf(path, sizeof path, "sample_type[%zu].unit", i);
        if (!str_ok(&c, p->sample_type[i]->unit, path))
            return BASE_ERR_INVALID;
    }
    if (p->period_type && (!str_ok(&c, p->period_type->type, "period_type.type") ||
                           !str_ok(&c, p->period_type->unit, "period_type.unit")))
        return BASE_ERR_INVALID;

    o_dict *d = CAST_ALLOC(o_dict, 1);
    if (!d)
        goto nomem;
    opentelemetry__proto__profiles__v1development__profiles_dictionary__init(d);
    int32_t *sample_attrs = NULL;
    size_t *n_sample_attrs = NULL;
    base_err kind = build_dictionary(&c, d, &sample_attrs, &n_sample_attrs);
    if (kind != BASE_OK)
        return kind;

    tr_request *req = CAST_ALLOC(tr_request, 1);
    o_rp *rp = CAST_ALLOC(o_rp, 1);
    o_rp **rps = CAST_ALLOC(o_rp *, 1);
    o_resource *res = CAST_ALLOC(o_resource, 1);
    o_sp *sp = CAST_ALLOC(o_sp, 1);
    o_sp **sps = CAST_ALLOC(o_sp *, 1);
    o_scope *scope = CAST_ALLOC(o_scope, 1);
    o_profile **profs = CAST_ALLOC(o_profile *, p->n_sample_type);
    o_kv **attrs = CAST_ALLOC(o_kv *, n_resource + 1);
    if (!req || !rp || !rps || !res || !sp || !sps || !scope || !profs || !attrs)
        goto nomem;
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__init(
        req);
    opentelemetry__proto__profiles__v1development__resource_profiles__init(rp);
    opentelemetry__proto__resource__v1__resource__init(res);
    opentelemetry__proto__profiles__v1development__scope_profiles__init(sp);
    opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
    scope->name = "otelprofd pprof";
    for (size_t i = 0; i < n_resource; i++) {
        o_kv *kv = CAST_ALLOC(o_kv, 1);
        o_any *v = CAST_ALLOC(o_any, 1);
        if (!kv || !v)
            goto nomem;
        opentelemetry__proto__common__v1__key_value__init(kv);
        opentelemetry__proto__common__v1__any_value__init(v);
        kv->key = (char *)resource[i].key;
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = (char *)resource[i].value;
        kv->value = v;
        attrs[i] = kv;
    }
    res->n_attributes = n_resource;
    res->attributes = attrs;

    /* a time within 1970 is no real profile's: old py-spy, rbspy and pyroscope-rs wrote
     * microseconds there (Pyroscope's fixTime replaces it too) */
    uint64_t when = p->time_nanos >= PPROF_FIRST_REAL_TIME_NS
                        ? (uint64_t)p->time_nanos
                        : (time_ns_if_missing > 0 ? (uint64_t)time_ns_if_missing : 0);
    for (size_t t = 0; t < p->n_sample_type; t++) {
        o_profile *op = CAST_ALLOC(o_profile, 1);
        o_sample **samples = CAST_ALLOC(o_sample *, p->n_sample + 1);
        o_sample *sarr = CAST_ALLOC(o_sample, p->n_sample + 1);
        if (!op || !samples || !sarr)
            goto nomem;
        opentelemetry__proto__profiles__v1development__profile__init(op);
        op->sample_type = value_type(arena, p->sample_type[t]->type, p->sample_type[t]->unit);
        if (!op->sample_type)
            goto nomem;
        if (p->period_type) {
            op->period_type = value_type(arena, p->period_type->type, p->period_type->unit);
            if (!op->period_type)
                goto nomem;
        }
        op->period = p->period;
        op->time_unix_nano = when;
        op->duration_nano = p->duration_nanos > 0 ? (uint64_t)p->duration_nanos : 0;
        op->original_payload_format = "pprof";
        size_t n = 0, attr_pos = 0;
        for (size_t i = 0; i < p->n_sample; i++) {
            size_t na = n_sample_attrs[i];
            int64_t *value = &p->sample[i]->value[t];
            /* a zero value adds nothing to any aggregate; heap profiles have many */
            if (*value != 0) {
                o_sample *s = &sarr[n];
                opentelemetry__proto__profiles__v1development__sample__init(s);
                s->stack_index = (int32_t)(i + 1);
                s->n_values = 1;
                s->values = value;
                s->n_attribute_indices = na;
                s->attribute_indices = na ? &sample_attrs[attr_pos] : NULL;
                samples[n++] = s;
            }
            attr_pos += na;
        }
        op->n_samples = n;
        op->samples = samples;
        profs[t] = op;
    }
    sp->scope = scope;
    sp->n_profiles = p->n_sample_type;
    sp->profiles = profs;
    sps[0] = sp;
    rp->resource = res;
    rp->n_scope_profiles = 1;
    rp->scope_profiles = sps;
    rps[0] = rp;
    req->n_resource_profiles = 1;
    req->resource_profiles = rps;
    req->dictionary = d;

    size_t size = protobuf_c_message_get_packed_size(&req->base);
    uint8_t *out = base_arena_alloc(arena, size ? size : 1);
    if (!out)
        goto nomem;
    if (protobuf_c_message_pack(&req->base, out) != size) {
        base_set_err(err, err_len, "protobuf-c packed a different size than it measured");
        return BASE_ERR_INVALID;
    }
    *otlp_out = out;
    *otlp_len = size;
    return BASE_OK;
nomem:
    base_set_err(err, err_len, "out of memory converting pprof");
    return BASE_ERR_NOMEM;
}
