/* window/listing.c — listings (profile types, label names, label values) and time series
 * over the store, for the query tools. Each walks the same entries win_merge would (series
 * picked by profile type and resource matchers, entries by sample matchers, buckets by
 * overlap with [start, end)) under the read lock and copies its rows out. */
#include "window/window_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* Rows a listing returns at most. Far above what any caller shows (they cut for display);
 * it only bounds the result of a store full of distinct values. Value rows are ranked
 * before the cut, so the largest survive. */
#define LIST_MAX_ROWS 100000u
#define TS_MAX_STEPS  100000u
#define TS_MAX_GROUPS 1000u
#define TS_MAX_CELLS  (4u << 20) /* groups x steps values in one result */

/* ---- the walk --------------------------------------------------------------------- */

/* Per (series, label set) decision, made once: WIN__NONE = skip its entries, anything
 * else is passed to the entry callback. May return SCAN_OOM. */
#define SCAN_OOM (WIN__NONE - 1)
typedef uint32_t (*classify_fn)(void *ctx, uint32_t si, const win__set *rattrs,
                                const win__set *labels);
/* Per entry of an accepted (series, label set); false = out of memory. */
typedef bool (*entry_fn)(void *ctx, uint32_t si, int64_t bucket_lo, const win__entry *e,
                         uint32_t cls);

typedef struct scan {
    win_store *st;
    const char *profile_type; /* NULL = every type */
    const win_selector *sel;
    int64_t start, end;
    classify_fn classify;
    entry_fn entry;
    void *ctx;
    const win__matcher *failed; /* set when a regex hit its match limit: the scan stops */
} scan;

/* Does series `s` pass the type and the resource matchers? Matchers naming attributes the
 * series' resource lacks go to `pending` (evaluated per label set), as in win_merge. False
 * with sc->failed set when a regex hit its match limit. */
static bool series_matches(scan *sc, uint32_t ptype, const win__series *s,
                           const win__matcher **pending, uint32_t *n_pending)
{
    const win_store *st = sc->st;
    *n_pending = 0;
    if (sc->profile_type && s->ptype != ptype)
        return false;
    const win__set *rs = win__rattr_set(st, s->rattr);
    for (uint32_t i = 0; sc->sel && i < sc->sel->n; i++) {
        const char *v;
        if (win__set_find(st, rs, sc->sel->m[i].name, &v)) {
            int r = win__matcher_eval(&sc->sel->m[i], v);
            if (r < 0)
                sc->failed = &sc->sel->m[i];
            if (r <= 0)
                return false;
        } else {
            pending[(*n_pending)++] = &sc->sel->m[i];
        }
    }
    return true;
}

/* The profile type's string id, WIN__NONE when no series can have it (or for "any"). */
static uint32_t scan_ptype(const scan *sc, bool *none)
{
    *none = false;
    if (!sc->profile_type)
        return WIN__NONE;
    uint32_t id = win__find_str(sc->st, sc->profile_type);
    *none = id == WIN__NONE;
    return id;
}

/* Walks every matching entry (lock held by the caller). False on out of memory, or with
 * sc->failed set when a regex hit its match limit. */
static bool scan_run(scan *sc)
{
    const win_store *st = sc->st;
    int64_t res = st->cfg.resolution_ns;
    bool none;
    uint32_t ptype = scan_ptype(sc, &none);
    if (none)
        return true;
    const win__matcher **pending = malloc((sc->sel ? sc->sel->n : 0) * sizeof *pending + 1);
    win__qmap memo; /* (series << 32 | label set) -> val 1 when decided, aux: class */
    memset(&memo, 0, sizeof memo);
    bool ok = pending != NULL;
    for (uint32_t si = 0; ok && si < st->n_series; si++) {
        const win__series *s = st->series[si];
        uint32_t n_pending;
        if (!series_matches(sc, ptype, s, pending, &n_pending)) {
            if (sc->failed)
                ok = false;
            continue;
        }
        const win__set *rs = win__rattr_set(st, s->rattr);
        /* entries of a bucket mostly repeat the previous one's label set */
        uint32_t last_labels = WIN__NONE, last_cls = WIN__NONE;
        for (uint32_t bi = 0; ok && bi < s->nb; bi++) {
            const win__bucket *bk = &s->b[bi];
            int64_t b_lo = bk->slot * res, b_hi = base_sat_add(b_lo, res);
            if (b_hi <= sc->start || b_lo >= sc->end)
                continue;
            for (uint32_t j = 0; j < bk->n; j++) {
                const win__entry *e = &bk->e[j];
                uint32_t cls;
                if (e->labels == last_labels) {
                    cls = last_cls;
                } else {
                    size_t c = win__qmap_get(&memo, (uint64_t)si << 32 | e->labels, NULL);
                    if (c == SIZE_MAX) {
                        ok = false;
                        break;
                    }
                    if (!memo.vals[c]) {
                        const win__set *ls = win__label_set(st, e->labels);
                        bool lm = true;
                        for (uint32_t k = 0; lm && k < n_pending; k++) {
                            char hex[WIN__LINK_HEX];
                            const char *v = win__label_attr(st, ls, pending[k]->name, hex);
                            int r = win__matcher_eval(pending[k], v);
                            if (r < 0) {
                                sc->failed = pending[k];
                                break;
                            }
                            lm = r > 0;
                        }
                        if (sc->failed) {
                            ok = false;
                            break;
                        }
                        cls = lm ? sc->classify(sc->ctx, si, rs, ls) : WIN__NONE;
                        if (cls == SCAN_OOM) {
                            ok = false;
                            break;
                        }
                        memo.vals[c] = 1;
                        memo.aux[c] = cls;
                    }
                    cls = memo.aux[c];
                    last_labels = e->labels;
                    last_cls = cls;
                }
                if (cls == WIN__NONE)
                    continue;
                if (!sc->entry(sc->ctx, si, b_lo, e, cls)) {
                    ok = false;
                    break;
                }
            }
        }
    }
    win__qmap_free(&memo);
    free(pending);
    return ok;
}

static uint32_t accept_all(void *ctx, uint32_t si, const win__set *rattrs, const win__set *labels)
{
    (void)ctx;
    (void)si;
    (void)rattrs;
    (void)labels;
    return 0;
}

/* The string id of attribute `key` in `s`, WIN__NONE when absent. */
static uint32_t set_value_id(const win__set *s, uint32_t key)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->kv[2 * i] == key)
            return s->kv[2 * i + 1];
    return WIN__NONE;
}

/* An entry's value of attribute `key`: the resource's wins a clash, as in selectors. */
static uint32_t attr_value_id(const win__set *rattrs, const win__set *labels, uint32_t key)
{
    uint32_t v = set_value_id(rattrs, key);
    return v != WIN__NONE ? v : set_value_id(labels, key);
}

/* The selector's alias applies to every attribute name a caller gives. */
static const char *canonical_name(const char *name)
{
    return strcmp(name, "service_name") == 0 ? "service.name" : name;
}

/* ---- results ---------------------------------------------------------------------- */

static struct win_merged_priv *priv_new(void)
{
    struct win_merged_priv *pv = calloc(1, sizeof *pv);
    if (pv)
        base_arena_init(&pv->arena, 4096, 0);
    return pv;
}

static void priv_free(struct win_merged_priv *pv)
{
    if (!pv)
        return;
    base_arena_free(&pv->arena);
    free(pv);
}

void win_listing_free(win_listing *l)
{
    if (!l)
        return;
    priv_free(l->priv);
    free(l);
}

static win_listing *listing_new(size_t n_rows, size_t row_size)
{
    win_listing *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    if (!(l->priv = priv_new()) ||
        !(l->rows = base_arena_calloc(&l->priv->arena, n_rows + 1, row_size))) {
        win_listing_free(l);
        return NULL;
    }
    l->n_rows = n_rows;
    return l;
}

static const char *arena_str(struct win_merged_priv *pv, const char *s)
{
    return base_arena_strndup(&pv->arena, s, strlen(s));
}

static bool query_checks(win_store *st, const void *q, base_errbuf *eb)
{
    if (!st || !q) {
        base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT, "window: a listing needs a store and a query");
        return false;
    }
    return true;
}

static void oom_err(base_errbuf *eb, const char *what)
{
    base_errbuf_set(eb, BASE_ERR_NOMEM, "window: out of memory while %s", what);
}

/* A selector regex that hit its match limit: the request's fault. */
static void matcher_err(const win__matcher *failed, base_errbuf *eb)
{
    char why[BASE_ERR_LEN];
    win__matcher_err(failed, why, sizeof why);
    base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT, "%s", why);
}

/* The error of a failed scan: the selector's when a regex hit its limit, else memory. */
static void scan_err(const scan *sc, base_errbuf *eb, const char *what)
{
    if (sc->failed)
        matcher_err(sc->failed, eb);
    else
        oom_err(eb, what);
}

/* ---- profile types ---------------------------------------------------------------- */

typedef struct type_acc {
    uint32_t ptype;
    uint32_t last_series;
    win_type_info info;
} type_acc;

typedef struct types_ctx {
    const win_store *st;
    win__qmap by_type; /* ptype string id -> aux: index into acc */
    type_acc *acc;
    uint32_t n, cap;
} types_ctx;

static bool types_entry(void *ctx, uint32_t si, int64_t bucket_lo, const win__entry *e,
                        uint32_t cls)
{
    (void)cls;
    types_ctx *c = ctx;
    uint32_t ptype = c->st->series[si]->ptype;
    size_t slot = win__qmap_get(&c->by_type, ptype, NULL);
    if (slot == SIZE_MAX)
        return false;
    if (c->by_type.aux[slot] == WIN__NONE) {
        if (c->n == c->cap) {
            uint32_t nc = c->cap ? c->cap * 2 : 8;
            type_acc *a = realloc(c->acc, (size_t)nc * sizeof *a);
            if (!a)
                return false;
            c->acc = a;
            c->cap = nc;
        }
        c->acc[c->n] = (type_acc){ptype, WIN__NONE, {NULL, 0, 0, 0, INT64_MAX, INT64_MIN}};
        c->by_type.aux[slot] = c->n++;
    }
    type_acc *a = &c->acc[c->by_type.aux[slot]];
    int64_t b_hi = base_sat_add(bucket_lo, c->st->cfg.resolution_ns);
    a->info.total = base_sat_add(a->info.total, e->value);
    a->info.n_entries++;
    if (a->last_series != si) {
        a->last_series = si;
        a->info.n_series++;
    }
    if (bucket_lo < a->info.start_ns)
        a->info.start_ns = bucket_lo;
    if (b_hi > a->info.end_ns)
        a->info.end_ns = b_hi;
    return true;
}

static int type_cmp(const void *a, const void *b)
{
    const win_type_info *x = a, *y = b;
    return strcmp(x->profile_type, y->profile_type);
}

win_listing *win_list_profile_types(win_store *st, const win_selector *sel, int64_t start_ns,
                                    int64_t end_ns, base_errbuf *eb)
{
    if (!query_checks(st, st, eb))
        return NULL;
    types_ctx c;
    memset(&c, 0, sizeof c);
    c.st = st;
    scan sc = {st, NULL, sel, start_ns, end_ns, accept_all, types_entry, &c, NULL};
    win_listing *l = NULL;
    pthread_rwlock_rdlock(&st->lock);
    bool ok = scan_run(&sc);
    uint32_t n = c.n < LIST_MAX_ROWS ? c.n : LIST_MAX_ROWS;
    if (ok && (l = listing_new(n, sizeof(win_type_info)))) {
        win_type_info *rows = l->rows;
        for (uint32_t i = 0; i < n && l; i++) {
            rows[i] = c.acc[i].info;
            rows[i].profile_type = arena_str(l->priv, win__str_get(st, c.acc[i].ptype));
            if (!rows[i].profile_type) {
                win_listing_free(l);
                l = NULL;
            }
        }
    }
    pthread_rwlock_unlock(&st->lock);
    win__qmap_free(&c.by_type);
    free(c.acc);
    if (!l) {
        scan_err(&sc, eb, "listing profile types");
        return NULL;
    }
    qsort(l->rows, l->n_rows, sizeof(win_type_info), type_cmp);
    return l;
}

/* ---- label names ------------------------------------------------------------------ */

typedef struct labels_ctx {
    /* (name << 32 | value) -> val: 1 when seen at resource level; aux unused */
    win__qmap pairs;
    uint32_t last_series;
    /* the samples' trace links, listed as sample-level names trace_id / span_id: distinct
     * ids by a 64-bit hash of their bytes (a collision would only undercount) */
    win__qmap trace_ids, span_ids;
} labels_ctx;

static uint64_t id_hash(const uint8_t *id, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ id[i]) * 1099511628211ULL;
    return base_mix64(h);
}

static bool note_pair(labels_ctx *c, uint32_t name, uint32_t value, bool resource)
{
    size_t slot = win__qmap_get(&c->pairs, (uint64_t)name << 32 | value, NULL);
    if (slot == SIZE_MAX)
        return false;
    if (resource)
        c->pairs.vals[slot] = 1;
    return true;
}

static uint32_t labels_classify(void *ctx, uint32_t si, const win__set *rattrs,
                                const win__set *labels)
{
    labels_ctx *c = ctx;
    /* a (series, label set) is classified before its first entry: names come only from
     * entries that match and lie in the range */
    if (c->last_series != si) {
        c->last_series = si;
        for (uint32_t i = 0; i < rattrs->n; i++)
            if (!note_pair(c, rattrs->kv[2 * i], rattrs->kv[2 * i + 1], true))
                return SCAN_OOM;
    }
    for (uint32_t i = 0; i < labels->n; i++) {
        if (set_value_id(rattrs, labels->kv[2 * i]) != WIN__NONE)
            continue; /* shadowed by the resource attribute */
        if (!note_pair(c, labels->kv[2 * i], labels->kv[2 * i + 1], false))
            return SCAN_OOM;
    }
    if ((labels->has_trace &&
         win__qmap_get(&c->trace_ids, id_hash(labels->trace_id, 16), NULL) == SIZE_MAX) ||
        (labels->has_span &&
         win__qmap_get(&c->span_ids, id_hash(labels->span_id, 8), NULL) == SIZE_MAX))
        return SCAN_OOM;
    return WIN__NONE; /* names are all this listing needs: skip the entries */
}

static bool no_entry(void *ctx, uint32_t si, int64_t bucket_lo, const win__entry *e, uint32_t cls)
{
    (void)ctx;
    (void)si;
    (void)bucket_lo;
    (void)e;
    (void)cls;
    return true;
}

static int label_info_cmp(const void *a, const void *b)
{
    const win_label_info *x = a, *y = b;
    return strcmp(x->name, y->name);
}

win_listing *win_list_labels(win_store *st, const win_query *q, base_errbuf *eb)
{
    if (!query_checks(st, q, eb))
        return NULL;
    labels_ctx c;
    memset(&c, 0, sizeof c);
    c.last_series = WIN__NONE;
    win__qmap names; /* name id -> val: distinct values, aux: 1 when resource level */
    memset(&names, 0, sizeof names);
    scan sc = {st,        q->profile_type, q->selector, q->start_ns,
               q->end_ns, labels_classify, no_entry,    &c,
               NULL};
    win_listing *l = NULL;
    pthread_rwlock_rdlock(&st->lock);
    bool ok = scan_run(&sc);
    for (size_t i = 0; ok && i < c.pairs.cap; i++) {
        if (!c.pairs.used[i])
            continue;
        size_t slot = win__qmap_get(&names, c.pairs.keys[i] >> 32, NULL);
        if (slot == SIZE_MAX) {
            ok = false;
            break;
        }
        if (names.aux[slot] == WIN__NONE)
            names.aux[slot] = 0;
        names.vals[slot]++;
        if (c.pairs.vals[i])
            names.aux[slot] = 1;
    }
    win_label_info *all = ok ? malloc((names.n + 3) * sizeof *all) : NULL;
    if (all) {
        /* sort with the store's strings, copy only the rows kept */
        size_t k = 0;
        bool has_trace_attr = false, has_span_attr = false;
        for (size_t i = 0; i < names.cap; i++) {
            if (!names.used[i])
                continue;
            uint64_t nv = (uint64_t)names.vals[i];
            all[k++] =
                (win_label_info){win__str_get(st, (uint32_t)names.keys[i]),
                                 nv > UINT32_MAX ? UINT32_MAX : (uint32_t)nv, names.aux[i] == 1};
            has_trace_attr |= strcmp(all[k - 1].name, "trace_id") == 0;
            has_span_attr |= strcmp(all[k - 1].name, "span_id") == 0;
        }
        /* trace links answer as trace_id / span_id in selectors and value listings (unless
         * an attribute has the name): list them where an agent looks for names */
        if (c.trace_ids.n && !has_trace_attr)
            all[k++] = (win_label_info){
                "trace_id", c.trace_ids.n > UINT32_MAX ? UINT32_MAX : (uint32_t)c.trace_ids.n,
                false};
        if (c.span_ids.n && !has_span_attr)
            all[k++] = (win_label_info){
                "span_id", c.span_ids.n > UINT32_MAX ? UINT32_MAX : (uint32_t)c.span_ids.n, false};
        qsort(all, k, sizeof *all, label_info_cmp);
        size_t n = k < LIST_MAX_ROWS ? k : LIST_MAX_ROWS;
        if ((l = listing_new(n, sizeof(win_label_info)))) {
            win_label_info *rows = l->rows;
            for (size_t i = 0; i < n && l; i++) {
                rows[i] = all[i];
                if (!(rows[i].name = arena_str(l->priv, all[i].name))) {
                    win_listing_free(l);
                    l = NULL;
                }
            }
        }
    }
    pthread_rwlock_unlock(&st->lock);
    free(all);
    win__qmap_free(&c.pairs);
    win__qmap_free(&c.trace_ids);
    win__qmap_free(&c.span_ids);
    win__qmap_free(&names);
    if (!l)
        scan_err(&sc, eb, "listing labels");
    return l;
}

/* ---- label values ----------------------------------------------------------------- */

typedef struct values_ctx {
    uint32_t name;
    bool count;       /* no profile type: totals are entry counts */
    win__qmap totals; /* value id -> val: total */
} values_ctx;

static uint32_t values_classify(void *ctx, uint32_t si, const win__set *rattrs,
                                const win__set *labels)
{
    (void)si;
    const values_ctx *c = ctx;
    return attr_value_id(rattrs, labels, c->name);
}

static bool values_entry(void *ctx, uint32_t si, int64_t bucket_lo, const win__entry *e,
                         uint32_t cls)
{
    (void)si;
    (void)bucket_lo;
    values_ctx *c = ctx;
    size_t slot = win__qmap_get(&c->totals, cls, NULL);
    if (slot == SIZE_MAX)
        return false;
    c->totals.vals[slot] = base_sat_add(c->totals.vals[slot], c->count ? 1 : e->value);
    return true;
}

/* list_label_values name=trace_id|span_id: the values are the samples' link ids (hex). */
typedef struct links_ctx {
    values_ctx v;      /* totals by class = index into ids */
    bool span;         /* span_id (8 bytes) rather than trace_id (16) */
    win__qmap by_hash; /* hash of the id bytes -> aux: index into ids (verified) */
    uint8_t (*ids)[16];
    uint32_t n_ids, ids_cap;
} links_ctx;

static uint32_t links_classify(void *ctx, uint32_t si, const win__set *rattrs,
                               const win__set *labels)
{
    (void)si;
    (void)rattrs;
    links_ctx *c = ctx;
    if (c->span ? !labels->has_span : !labels->has_trace)
        return WIN__NONE;
    uint8_t id[16] = {0};
    memcpy(id, c->span ? labels->span_id : labels->trace_id, c->span ? 8 : 16);
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 16; i++)
        h = (h ^ id[i]) * 1099511628211ULL;
    for (;;) {
        size_t slot = win__qmap_get(&c->by_hash, h, NULL);
        if (slot == SIZE_MAX)
            return SCAN_OOM;
        uint32_t k = c->by_hash.aux[slot];
        if (k == WIN__NONE) {
            void *arr = c->ids;
            if (c->n_ids >= SCAN_OOM - 1 || !base_grow(&arr, &c->ids_cap, c->n_ids + 1, 16))
                return SCAN_OOM;
            c->ids = arr;
            memcpy(c->ids[c->n_ids], id, 16);
            c->by_hash.aux[slot] = c->n_ids;
            return c->n_ids++;
        }
        if (memcmp(c->ids[k], id, 16) == 0)
            return k;
        h = base_mix64(h + 1); /* another id with this hash: probe the next key */
    }
}

static int value_cmp(const void *a, const void *b)
{
    const win_label_value *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return strcmp(x->value, y->value);
}

win_listing *win_list_label_values(win_store *st, const win_query *q, const char *name,
                                   base_errbuf *eb)
{
    if (!query_checks(st, q, eb))
        return NULL;
    if (!name || !*name) {
        base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT,
                        "window: list_label_values needs an attribute name");
        return NULL;
    }
    /* trace_id / span_id name the samples' links (lc.v is where every total goes) */
    bool links = strcmp(name, "trace_id") == 0 || strcmp(name, "span_id") == 0;
    links_ctx lc;
    memset(&lc, 0, sizeof lc);
    lc.span = links && name[0] == 's';
    values_ctx *cp = &lc.v;
    values_ctx c;
    memset(&c, 0, sizeof c);
    c.count = q->profile_type == NULL;
    lc.v.count = c.count;
    if (!links)
        cp = &c;
    scan sc = {st,           q->profile_type,
               q->selector,  q->start_ns,
               q->end_ns,    links ? links_classify : values_classify,
               values_entry, links ? (void *)&lc : (void *)&c,
               NULL};
    win_listing *l = NULL;
    win_label_value *all = NULL;
    char *hex = NULL;
    pthread_rwlock_rdlock(&st->lock);
    c.name = win__find_str(st, canonical_name(name));
    /* a name never stored has no values */
    bool ok = (!links && c.name == WIN__NONE) || scan_run(&sc);
    if (ok && links && !(hex = malloc((size_t)lc.n_ids * WIN__LINK_HEX + 1)))
        ok = false;
    if (ok && (all = malloc((cp->totals.n + 1) * sizeof *all))) {
        /* rank with the store's strings, copy only the rows kept */
        size_t k = 0;
        for (size_t i = 0; i < cp->totals.cap; i++) {
            if (!cp->totals.used[i])
                continue;
            uint32_t id = (uint32_t)cp->totals.keys[i];
            const char *v;
            if (links) {
                char *h = hex + (size_t)id * WIN__LINK_HEX;
                static const char digits[] = "0123456789abcdef";
                uint32_t nb = lc.span ? 8 : 16;
                for (uint32_t j = 0; j < nb; j++) {
                    h[2 * j] = digits[lc.ids[id][j] >> 4];
                    h[2 * j + 1] = digits[lc.ids[id][j] & 15];
                }
                h[2 * nb] = '\0';
                v = h;
            } else {
                v = win__str_get(st, id);
            }
            all[k++] = (win_label_value){v, cp->totals.vals[i]};
        }
        qsort(all, k, sizeof *all, value_cmp);
        size_t n = k < LIST_MAX_ROWS ? k : LIST_MAX_ROWS;
        if ((l = listing_new(n, sizeof(win_label_value)))) {
            win_label_value *rows = l->rows;
            for (size_t i = 0; i < n && l; i++) {
                rows[i] = (win_label_value){arena_str(l->priv, all[i].value), all[i].total};
                if (!rows[i].value) {
                    win_listing_free(l);
                    l = NULL;
                }
            }
        }
    }
    pthread_rwlock_unlock(&st->lock);
    free(all);
    free(hex);
    free(lc.ids);
    win__qmap_free(&lc.by_hash);
    win__qmap_free(&lc.v.totals);
    win__qmap_free(&c.totals);
    if (!l) {
        scan_err(&sc, eb, "listing label values");
        return NULL;
    }
    return l;
}

/* ---- time series ------------------------------------------------------------------ */

typedef struct ts_ctx {
    const win_store *st;
    int64_t lo, step;
    uint32_t n_steps;
    /* function filter: a frame matches by name id, or (unsymbolized) by address */
    bool filter;
    uint32_t fn_name; /* WIN__NONE when no stored frame has that name */
    bool fn_is_addr;
    uint64_t fn_addr;
    win__qmap has_fn; /* store node -> val: 1 when the function is on its stack */
    uint32_t *path;
    uint32_t path_cap;
    /* grouping */
    uint32_t group_key; /* attribute name id; WIN__NONE: ungrouped, or name never stored */
    bool grouped;
    win__qmap group_of;    /* value id -> aux: group index */
    uint32_t *group_value; /* group -> value id */
    int64_t *group_total;
    uint8_t *group_hit; /* some entry was counted in it (the function filter may leave none) */
    uint32_t n_groups, groups_cap;
    win__qmap cells; /* (group << 32 | step) -> val: sum */
} ts_ctx;

static bool frame_is_fn(const ts_ctx *c, uint32_t frame)
{
    const win__frame *f = &win__frames(c->st)[frame];
    if (f->function != 0) /* string id 0 is "": symbolized frames have a name */
        return f->function == c->fn_name;
    return c->fn_is_addr && f->address == c->fn_addr;
}

/* Is the function on node's stack? Memoized per node, so each node is walked once. */
static int node_has_fn(ts_ctx *c, uint32_t node)
{
    const win__node *nodes = win__nodes(c->st);
    uint32_t len = 0, id = node;
    int found = 0;
    while (id != 0) {
        size_t s = win__qmap_find(&c->has_fn, id);
        if (s != SIZE_MAX) {
            found = (int)c->has_fn.vals[s];
            break;
        }
        void *arr = c->path;
        if (!base_grow(&arr, &c->path_cap, len + 1, sizeof *c->path))
            return -1;
        c->path = arr;
        c->path[len++] = id;
        id = nodes[id].parent;
    }
    /* top down: a node has the function if its parent does or its own frame is it */
    while (len-- > 0) {
        uint32_t nid = c->path[len];
        if (!found)
            found = frame_is_fn(c, nodes[nid].frame);
        size_t s = win__qmap_get(&c->has_fn, nid, NULL);
        if (s == SIZE_MAX)
            return -1;
        c->has_fn.vals[s] = found;
    }
    return found;
}

static uint32_t ts_classify(void *ctx, uint32_t si, const win__set *rattrs, const win__set *labels)
{
    (void)si;
    ts_ctx *c = ctx;
    if (!c->grouped)
        return 0;
    uint32_t v =
        c->group_key == WIN__NONE ? WIN__NONE : attr_value_id(rattrs, labels, c->group_key);
    if (v == WIN__NONE)
        v = 0; /* "" (string id 0) for entries without the attribute */
    size_t slot = win__qmap_get(&c->group_of, v, NULL);
    if (slot == SIZE_MAX)
        return SCAN_OOM;
    if (c->group_of.aux[slot] == WIN__NONE) {
        if (c->n_groups == c->groups_cap) {
            uint32_t nc = c->groups_cap ? c->groups_cap * 2 : 16;
            uint32_t *gv = realloc(c->group_value, (size_t)nc * sizeof *gv);
            if (!gv)
                return SCAN_OOM;
            c->group_value = gv;
            int64_t *gt = realloc(c->group_total, (size_t)nc * sizeof *gt);
            if (!gt)
                return SCAN_OOM;
            c->group_total = gt;
            uint8_t *gh = realloc(c->group_hit, nc);
            if (!gh)
                return SCAN_OOM;
            c->group_hit = gh;
            c->groups_cap = nc;
        }
        c->group_value[c->n_groups] = v;
        c->group_total[c->n_groups] = 0;
        c->group_hit[c->n_groups] = 0;
        c->group_of.aux[slot] = c->n_groups++;
    }
    return c->group_of.aux[slot];
}

static bool ts_entry(void *ctx, uint32_t si, int64_t bucket_lo, const win__entry *e, uint32_t cls)
{
    (void)si;
    ts_ctx *c = ctx;
    if (c->filter) {
        int has = node_has_fn(c, e->node);
        if (has < 0)
            return false;
        if (!has)
            return true;
    }
    if (bucket_lo < c->lo)
        return true;
    int64_t step = (bucket_lo - c->lo) / c->step;
    if (step >= c->n_steps)
        return true;
    size_t slot = win__qmap_get(&c->cells, (uint64_t)cls << 32 | (uint64_t)step, NULL);
    if (slot == SIZE_MAX)
        return false;
    c->cells.vals[slot] = base_sat_add(c->cells.vals[slot], e->value);
    if (!c->grouped && c->n_groups == 0) {
        /* the single group is created lazily so its total has a home */
        if (!(c->group_total = calloc(1, sizeof *c->group_total)) || !(c->group_hit = calloc(1, 1)))
            return false;
        c->n_groups = 1;
    }
    c->group_total[cls] = base_sat_add(c->group_total[cls], e->value);
    c->group_hit[cls] = 1;
    return true;
}

void win_timeseries_free(win_timeseries *ts)
{
    if (!ts)
        return;
    priv_free(ts->priv);
    free(ts);
}

/* Oldest bucket start and newest bucket end among series that may match, within the
 * query range (for open ends). False when there is none, or with sc->failed set when a
 * regex hit its match limit. */
static bool ts_extent(scan *sc, int64_t *lo, int64_t *hi)
{
    const win_store *st = sc->st;
    int64_t res = st->cfg.resolution_ns;
    bool none, any = false;
    uint32_t ptype = scan_ptype(sc, &none);
    if (none)
        return false;
    const win__matcher *pending[WIN__MAX_MATCHERS + 1];
    if (sc->sel && sc->sel->n > WIN__MAX_MATCHERS)
        return false;
    for (uint32_t si = 0; si < st->n_series; si++) {
        const win__series *s = st->series[si];
        uint32_t n_pending;
        if (!series_matches(sc, ptype, s, pending, &n_pending)) {
            if (sc->failed)
                return false;
            continue;
        }
        for (uint32_t bi = 0; bi < s->nb; bi++) {
            int64_t b_lo = s->b[bi].slot * res, b_hi = base_sat_add(b_lo, res);
            if (b_hi <= sc->start || b_lo >= sc->end || s->b[bi].n == 0)
                continue;
            if (!any || b_lo < *lo)
                *lo = b_lo;
            if (!any || b_hi > *hi)
                *hi = b_hi;
            any = true;
        }
    }
    return any;
}

typedef struct ts_order {
    uint32_t group; /* index in ts_ctx, or WIN__NONE for "(other)" */
    int64_t total;
    const char *name;
} ts_order;

static int ts_order_cmp(const void *a, const void *b)
{
    const ts_order *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    if ((x->group == WIN__NONE) != (y->group == WIN__NONE))
        return x->group == WIN__NONE ? 1 : -1; /* "(other)" after a named group it ties */
    return strcmp(x->name, y->name);
}

/* Picks the groups kept, orders the result's groups and copies names and values out
 * (lock held: names are store strings until copied). */
#define TS_FOLDED (WIN__NONE - 1) /* final_of: summed into "(other)" */

static win_timeseries *ts_build(ts_ctx *c, uint32_t max_groups, base_errbuf *eb)
{
    uint32_t n_src = c->n_groups;
    ts_order *ord = malloc(((size_t)n_src + 1) * sizeof *ord);
    uint32_t *final_of = malloc(((size_t)n_src + 1) * sizeof *final_of);
    win_timeseries *ts = calloc(1, sizeof *ts);
    if (!ord || !final_of || !ts || !(ts->priv = priv_new())) {
        oom_err(eb, "building a time series");
        goto fail;
    }
    /* rank the groups some entry landed in; the ungrouped "(all)" is always there */
    uint32_t n_hit = 0;
    for (uint32_t g = 0; g < n_src; g++) {
        final_of[g] = WIN__NONE;
        if (!c->grouped || c->group_hit[g])
            ord[n_hit++] =
                (ts_order){g, c->group_total[g],
                           c->grouped ? win__str_get(c->st, c->group_value[g]) : "(all)"};
    }
    qsort(ord, n_hit, sizeof *ord, ts_order_cmp);
    uint32_t kept = n_hit < max_groups ? n_hit : max_groups, n_out = kept;
    if (n_hit > kept) {
        int64_t other = 0;
        for (uint32_t i = kept; i < n_hit; i++) {
            other = base_sat_add(other, ord[i].total);
            final_of[ord[i].group] = TS_FOLDED;
        }
        ord[kept] = (ts_order){WIN__NONE, other, "(other)"};
        n_out = kept + 1;
        /* "(other)" may outweigh a kept group: the result is ordered by total throughout */
        qsort(ord, n_out, sizeof *ord, ts_order_cmp);
    }
    if ((uint64_t)n_out * c->n_steps > TS_MAX_CELLS) {
        base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT,
                        "window: %u groups x %u steps is more than %u values; use a larger step, "
                        "a shorter range or fewer groups",
                        n_out, c->n_steps, TS_MAX_CELLS);
        goto fail;
    }
    uint32_t other_row = WIN__NONE;
    for (uint32_t i = 0; i < n_out; i++) {
        if (ord[i].group == WIN__NONE)
            other_row = i;
        else
            final_of[ord[i].group] = i;
    }
    base_arena *a = &ts->priv->arena;
    const char **names = base_arena_calloc(a, (size_t)n_out + 1, sizeof *names);
    int64_t *totals = base_arena_calloc(a, (size_t)n_out + 1, sizeof *totals);
    int64_t *values = base_arena_calloc(a, (size_t)n_out * c->n_steps + 1, sizeof *values);
    if (!names || !totals || !values) {
        oom_err(eb, "building a time series");
        goto fail;
    }
    for (uint32_t i = 0; i < n_out; i++) {
        totals[i] = ord[i].total;
        if (!(names[i] = arena_str(ts->priv, ord[i].name))) {
            oom_err(eb, "building a time series");
            goto fail;
        }
    }
    for (size_t i = 0; i < c->cells.cap; i++) {
        if (!c->cells.used[i])
            continue;
        uint32_t g = (uint32_t)(c->cells.keys[i] >> 32), step = (uint32_t)c->cells.keys[i];
        uint32_t row = final_of[g] == TS_FOLDED ? other_row : final_of[g];
        if (row == WIN__NONE)
            continue;
        int64_t *v = &values[(size_t)row * c->n_steps + step];
        *v = base_sat_add(*v, c->cells.vals[i]);
    }
    ts->start_ns = c->lo;
    ts->step_ns = c->step;
    ts->n_steps = c->n_steps;
    ts->n_groups = n_out;
    ts->group_names = names;
    ts->totals = totals;
    ts->values = values;
    free(ord);
    free(final_of);
    return ts;
fail:
    free(ord);
    free(final_of);
    win_timeseries_free(ts);
    return NULL;
}

/* "0x4f5a1b" exactly as win_top spells an unsymbolized function (lower case, no zeros). */
static bool parse_fn_addr(const char *fn, uint64_t *addr)
{
    if (strncmp(fn, "0x", 2) != 0 || !fn[2] || strlen(fn) > 18)
        return false;
    char *end;
    unsigned long long v = strtoull(fn + 2, &end, 16);
    if (*end)
        return false;
    char again[32];
    snprintf(again, sizeof again, "0x%llx", v);
    if (strcmp(again, fn) != 0)
        return false;
    *addr = v;
    return true;
}

win_timeseries *win_query_timeseries(win_store *st, const win_query *q, int64_t step_ns,
                                     const char *function, const char *group_by,
                                     uint32_t max_groups, base_errbuf *eb)
{
    if (!st || !q || !q->profile_type) {
        base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT,
                        "window: a time series needs a store and a profile type");
        return NULL;
    }
    if (q->start_ns >= q->end_ns) {
        base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT,
                        "window: the time range is empty (start is not before end)");
        return NULL;
    }
    int64_t res = st->cfg.resolution_ns;
    /* whole buckets per step, so no bucket straddles two steps */
    int64_t step = res;
    if (step_ns > res) {
        int64_t k = step_ns / res + (step_ns % res ? 1 : 0);
        step = k > INT64_MAX / res ? (INT64_MAX / res) * res : k * res;
    }
    if (max_groups == 0 || max_groups > TS_MAX_GROUPS)
        max_groups = TS_MAX_GROUPS;
    ts_ctx c;
    memset(&c, 0, sizeof c);
    c.st = st;
    c.step = step;
    c.filter = function != NULL;
    c.fn_name = WIN__NONE;
    if (function)
        c.fn_is_addr = parse_fn_addr(function, &c.fn_addr);
    c.grouped = group_by != NULL;
    c.group_key = WIN__NONE;
    scan sc = {st,          q->profile_type, q->selector, q->start_ns, q->end_ns,
               ts_classify, ts_entry,        &c,          NULL};
    win_timeseries *ts = NULL;

    pthread_rwlock_rdlock(&st->lock);
    if (function && *function)
        c.fn_name = win__find_str(st, function);
    if (group_by)
        c.group_key = win__find_str(st, canonical_name(group_by));
    int64_t lo = 0, hi = 0;
    bool have = ts_extent(&sc, &lo, &hi);
    if (q->start_ns != INT64_MIN)
        lo = win__floor_div(q->start_ns, res) * res;
    if (q->end_ns != INT64_MAX)
        hi = q->end_ns;
    int64_t span;
    bool ok = true;
    if (sc.failed) {
        matcher_err(sc.failed, eb);
        ok = false;
    } else if ((!have && (q->start_ns == INT64_MIN || q->end_ns == INT64_MAX)) || hi <= lo) {
        c.n_steps = 0; /* nothing stored to anchor an open range */
        if (q->start_ns == INT64_MIN)
            lo = 0;
    } else if (__builtin_sub_overflow(hi, lo, &span) || span / step >= TS_MAX_STEPS) {
        base_errbuf_set(eb, BASE_ERR_BAD_ARGUMENT,
                        "window: more than %u steps of %lld ns; use a larger step or a shorter "
                        "range",
                        TS_MAX_STEPS, (long long)step);
        ok = false;
    } else {
        c.n_steps = (uint32_t)(span / step + (span % step ? 1 : 0));
    }
    c.lo = lo;
    if (ok && c.n_steps && !scan_run(&sc)) {
        scan_err(&sc, eb, "computing a time series");
        ok = false;
    }
    if (ok && !c.grouped && c.n_groups == 0) {
        /* ungrouped: one "(all)" row even when nothing matched */
        if ((c.group_total = calloc(1, sizeof *c.group_total)))
            c.n_groups = 1;
        else
            ok = false;
    }
    if (ok)
        ts = ts_build(&c, max_groups, eb);
    pthread_rwlock_unlock(&st->lock);

    win__qmap_free(&c.has_fn);
    win__qmap_free(&c.group_of);
    win__qmap_free(&c.cells);
    free(c.path);
    free(c.group_value);
    free(c.group_total);
    free(c.group_hit);
    if (!ts) /* the first error wins: this only names a failure nothing set */
        oom_err(eb, "computing a time series");
    return ts;
}

/* ---- configuration ---------------------------------------------------------------- */

int64_t win_store_resolution(const win_store *st)
{
    return st ? st->cfg.resolution_ns : 0;
}

int64_t win_store_retention(const win_store *st)
{
    return st ? st->cfg.retention_ns : 0;
}

uint64_t win_store_memory_limit(const win_store *st)
{
    return st ? st->cfg.memory_limit : 0;
}
