/* query/common.c — result memory, maps, function keys, function trees and their pruned
 * breadth-first emission (shared by the flame graph and the sandwich). */
#include "query/query_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct query_priv *query__priv_new(void)
{
    struct query_priv *p = calloc(1, sizeof *p);
    if (p)
        base_arena_init(&p->arena, 4096, 0);
    return p;
}

void query__priv_free(struct query_priv *p)
{
    if (!p)
        return;
    base_arena_free(&p->arena);
    free(p);
}

/* Function names are long (package paths): base_hash_bytes takes eight bytes a step. */
uint64_t query__hash_str(const char *s)
{
    return base_hash_bytes(0, s, strlen(s));
}

/* ---- map ---- */

void query__map_free(query__map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t map_probe(const query__map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)base_mix64(key) & mask;; i = (i + 1) & mask)
        if (m->vals[i] == QUERY__NONE || m->keys[i] == key)
            return i;
}

static bool map_grow(query__map *m)
{
    size_t nc = m->cap ? m->cap * 2 : 64;
    if (nc > ((size_t)1 << 40))
        return false;
    query__map g = {malloc(nc * sizeof(uint64_t)), malloc(nc * sizeof(uint32_t)), nc, m->n};
    if (!g.keys || !g.vals) {
        free(g.keys);
        free(g.vals);
        return false;
    }
    memset(g.vals, 0xff, nc * sizeof(uint32_t));
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == QUERY__NONE)
            continue;
        size_t j = map_probe(&g, m->keys[i]);
        g.keys[j] = m->keys[i];
        g.vals[j] = m->vals[i];
    }
    query__map_free(m);
    *m = g;
    return true;
}

/* Grows `m` so that `n` keys fit without rehashing on the way. */
static bool map_reserve(query__map *m, size_t n)
{
    while ((n + 1) * 2 > m->cap)
        if (!map_grow(m))
            return false;
    return true;
}

uint32_t *query__map_get(query__map *m, uint64_t key, uint32_t val_if_new, bool *inserted)
{
    if ((m->n + 1) * 2 > m->cap && !map_grow(m))
        return NULL;
    size_t i = map_probe(m, key);
    bool ins = m->vals[i] == QUERY__NONE;
    if (ins) {
        m->keys[i] = key;
        m->vals[i] = val_if_new;
        m->n++;
    }
    if (inserted)
        *inserted = ins;
    return &m->vals[i];
}

uint32_t query__map_find(const query__map *m, uint64_t key)
{
    if (!m->cap)
        return QUERY__NONE;
    return m->vals[map_probe(m, key)];
}

/* ---- function keys ---- */

void query__fns_free(query__fns *f)
{
    free(f->fn_of_frame);
    free((void *)f->name);
    free(f->address);
    free(f->unsymbolized);
    free((void *)f->frame_type);
    base_arena_free(&f->arena);
    memset(f, 0, sizeof *f);
}

int query__fns_build(const win_merged *m, query__fns *f)
{
    memset(f, 0, sizeof *f);
    base_arena_init(&f->arena, 4096, 0);
    size_t nf = m->n_frames;
    f->fn_of_frame = malloc((nf + 1) * sizeof *f->fn_of_frame);
    f->name = malloc((nf + 1) * sizeof *f->name);
    f->address = malloc((nf + 1) * sizeof *f->address);
    f->unsymbolized = malloc((nf + 1) * sizeof *f->unsymbolized);
    f->frame_type = malloc((nf + 1) * sizeof *f->frame_type);
    /* by_ptr: a merge from window/ copies each distinct string once, so frames of one
     * function share its name pointer; the pointer finds the function without hashing the
     * text. Equal pointers are equal names, so this is exact for any merge; a miss falls
     * back to the name. */
    query__map by_name = {0}, by_addr = {0}, by_ptr = {0};
    if (!f->fn_of_frame || !f->name || !f->address || !f->unsymbolized || !f->frame_type ||
        !map_reserve(&by_ptr, nf) || !map_reserve(&by_name, nf))
        goto fail;
    for (uint32_t i = 0; i < m->n_frames; i++) {
        const win_frame *fr = &m->frames[i];
        bool unsym = !fr->function || !fr->function[0];
        uint32_t *slot;
        bool ins;
        uint32_t *pslot = NULL;
        if (!unsym) {
            pslot =
                query__map_get(&by_ptr, (uint64_t)(uintptr_t)fr->function, QUERY__NONE - 1, &ins);
            if (!pslot)
                goto fail;
            if (!ins) {
                f->fn_of_frame[i] = *pslot;
                continue;
            }
        }
        if (unsym) {
            slot = query__map_get(&by_addr, fr->address, f->n, &ins);
        } else {
            /* keys are hashes: on a collision with another name, probe the next key */
            uint64_t h = query__hash_str(fr->function);
            for (;;) {
                slot = query__map_get(&by_name, h, f->n, &ins);
                if (!slot || ins || strcmp(f->name[*slot], fr->function) == 0)
                    break;
                h = base_mix64(h + 1);
            }
        }
        if (!slot)
            goto fail;
        if (ins) {
            uint32_t fn = f->n++;
            f->unsymbolized[fn] = unsym;
            f->address[fn] = fr->address;
            f->frame_type[fn] = fr->frame_type ? fr->frame_type : "";
            f->name[fn] =
                unsym ? base_arena_printf(&f->arena, "0x%llx", (unsigned long long)fr->address)
                      : fr->function;
            if (!f->name[fn])
                goto fail;
        }
        f->fn_of_frame[i] = *slot;
        if (pslot) /* no insertion since pslot was taken: it is still valid */
            *pslot = *slot;
    }
    query__map_free(&by_name);
    query__map_free(&by_addr);
    query__map_free(&by_ptr);
    return 0;
fail:
    query__map_free(&by_name);
    query__map_free(&by_addr);
    query__map_free(&by_ptr);
    query__fns_free(f);
    return -1;
}

/* Parses "0x<hex>" (1..16 digits after any leading zeros). */
static bool parse_hex(const char *s, uint64_t *out)
{
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2])
        return false;
    uint64_t v = 0;
    for (s += 2; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return false;
        if (v >> 60)
            return false;
        v = (v << 4) | (uint64_t)d;
    }
    *out = v;
    return true;
}

bool query__fn_matches(const query__fns *f, uint32_t fn, const char *text)
{
    if (fn >= f->n || !text)
        return false;
    if (f->unsymbolized[fn]) {
        uint64_t a;
        return parse_hex(text, &a) && a == f->address[fn];
    }
    return strcmp(f->name[fn], text) == 0;
}

/* ---- trees ---- */

int query__tree_init(query__tree *t)
{
    memset(t, 0, sizeof *t);
    t->cap = 64;
    t->parent = malloc(t->cap * sizeof *t->parent);
    t->fn = malloc(t->cap * sizeof *t->fn);
    t->flat = malloc(t->cap * sizeof *t->flat);
    if (!t->parent || !t->fn || !t->flat) {
        query__tree_free(t);
        return -1;
    }
    t->parent[0] = QUERY__NONE;
    t->fn[0] = QUERY__NONE;
    t->flat[0] = 0;
    t->n = 1;
    return 0;
}

void query__tree_free(query__tree *t)
{
    free(t->parent);
    free(t->fn);
    free(t->flat);
    free(t->cum);
    free(t->first_child);
    free(t->n_children);
    free(t->kids);
    free(t->subtree);
    query__map_free(&t->index);
    memset(t, 0, sizeof *t);
}

int query__tree_reserve(query__tree *t, uint32_t n)
{
    if (n > (1u << 30))
        n = 1u << 30; /* a hint: the tree still grows past it */
    if (!map_reserve(&t->index, n))
        return -1;
    if (t->cap < n) {
        uint32_t *p = realloc(t->parent, (size_t)n * sizeof *p);
        if (p)
            t->parent = p;
        uint32_t *fp = realloc(t->fn, (size_t)n * sizeof *fp);
        if (fp)
            t->fn = fp;
        int64_t *fl = realloc(t->flat, (size_t)n * sizeof *fl);
        if (fl)
            t->flat = fl;
        if (!p || !fp || !fl)
            return -1;
        t->cap = n;
    }
    return 0;
}

uint32_t query__tree_child(query__tree *t, uint32_t parent, uint32_t fn)
{
    bool ins;
    uint32_t *slot = query__map_get(&t->index, ((uint64_t)parent << 32) | fn, t->n, &ins);
    if (!slot)
        return QUERY__NONE;
    if (!ins)
        return *slot;
    if (t->n == t->cap) {
        /* a failure here abandons the whole tree, so the index entry may dangle */
        if (t->cap >= UINT32_MAX / 4)
            return QUERY__NONE;
        uint32_t nc = t->cap * 2;
        uint32_t *p = realloc(t->parent, nc * sizeof *p);
        if (p)
            t->parent = p;
        uint32_t *fp = realloc(t->fn, nc * sizeof *fp);
        if (fp)
            t->fn = fp;
        int64_t *fl = realloc(t->flat, nc * sizeof *fl);
        if (fl)
            t->flat = fl;
        if (!p || !fp || !fl)
            return QUERY__NONE;
        t->cap = nc;
    }
    uint32_t id = t->n++;
    t->parent[id] = parent;
    t->fn[id] = fn;
    t->flat[id] = 0;
    return id;
}

int query__tree_finish(query__tree *t)
{
    uint32_t n = t->n;
    t->cum = malloc(n * sizeof *t->cum);
    t->first_child = calloc(n, sizeof *t->first_child);
    t->n_children = calloc(n, sizeof *t->n_children);
    t->kids = malloc(n * sizeof *t->kids);
    t->subtree = malloc(n * sizeof *t->subtree);
    if (!t->cum || !t->first_child || !t->n_children || !t->kids || !t->subtree)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        t->cum[i] = t->flat[i];
        t->subtree[i] = 1;
    }
    /* children have larger ids than their parents, so one backward pass sums subtrees */
    for (uint32_t i = n; i-- > 1;) {
        t->cum[t->parent[i]] = base_sat_add(t->cum[t->parent[i]], t->cum[i]);
        t->subtree[t->parent[i]] += t->subtree[i];
        t->n_children[t->parent[i]]++;
    }
    uint32_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        t->first_child[i] = pos;
        pos += t->n_children[i];
        t->n_children[i] = 0;
    }
    for (uint32_t i = 1; i < n; i++) {
        uint32_t p = t->parent[i];
        t->kids[t->first_child[p] + t->n_children[p]++] = i;
    }
    return 0;
}

/* ---- emission ---- */

typedef struct kid {
    int64_t cum;
    const char *name;
    uint32_t node;
} kid;

static int kid_cmp(const void *a, const void *b)
{
    const kid *x = a, *y = b;
    if (x->cum != y->cum)
        return x->cum > y->cum ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->node < y->node ? -1 : x->node > y->node;
}

typedef struct emitter {
    query_flame_row *rows;
    uint32_t *node_of_row; /* tree node behind each row (QUERY__NONE for "(other)") */
    uint32_t n, cap;
    const char **copied; /* per function: its name in the result arena */
    base_arena *arena;
    const query__fns *fns;
} emitter;

/* The frame type of function `fn` copied into the result ("" for none or a pseudo row);
 * NULL when memory ran out. */
static const char *type_name(base_arena *arena, const query__fns *fns, uint32_t fn)
{
    if (fn >= fns->n || !fns->frame_type || !fns->frame_type[fn][0])
        return "";
    return base_arena_strndup(arena, fns->frame_type[fn], strlen(fns->frame_type[fn]));
}

static int push_row(emitter *e, query_flame_row r, uint32_t node)
{
    if (e->n == e->cap) {
        uint32_t nc = e->cap ? e->cap * 2 : 64;
        query_flame_row *rr = realloc(e->rows, nc * sizeof *rr);
        if (rr)
            e->rows = rr;
        uint32_t *nr = realloc(e->node_of_row, nc * sizeof *nr);
        if (nr)
            e->node_of_row = nr;
        if (!rr || !nr)
            return -1;
        e->cap = nc;
    }
    r.id = (int32_t)e->n;
    e->rows[e->n] = r;
    e->node_of_row[e->n++] = node;
    return 0;
}

static const char *fn_name(emitter *e, uint32_t fn)
{
    if (!e->copied[fn])
        e->copied[fn] = base_arena_strndup(e->arena, e->fns->name[fn], strlen(e->fns->name[fn]));
    return e->copied[fn];
}

/* Max-heap of candidate nodes by cum (ties: lower node id, i.e. created first). */
typedef struct cand_heap {
    kid *v;
    uint32_t n, cap;
} cand_heap;

static bool cand_before(const kid *a, const kid *b)
{
    return a->cum != b->cum ? a->cum > b->cum : a->node < b->node;
}

static int heap_push(cand_heap *h, kid k)
{
    void *arr = h->v;
    if (!base_grow(&arr, &h->cap, h->n + 1, sizeof *h->v))
        return -1;
    h->v = arr;
    uint32_t i = h->n++;
    h->v[i] = k;
    while (i > 0 && cand_before(&h->v[i], &h->v[(i - 1) / 2])) {
        kid tmp = h->v[i];
        h->v[i] = h->v[(i - 1) / 2];
        h->v[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
    return 0;
}

static kid heap_pop(cand_heap *h)
{
    kid top = h->v[0];
    h->v[0] = h->v[--h->n];
    for (uint32_t i = 0;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && cand_before(&h->v[l], &h->v[m]))
            m = l;
        if (r < h->n && cand_before(&h->v[r], &h->v[m]))
            m = r;
        if (m == i)
            break;
        kid tmp = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = tmp;
        i = m;
    }
    return top;
}

/* Why two phases: a breadth-first budget spends rows on every small sibling near the root
 * and folds the hot path deeper down into "(other)". Selecting best-first by cum keeps the
 * largest nodes of the whole tree (a child's cum never exceeds its parent's, so the kept
 * set is always connected to the root), and only then are rows laid out breadth-first. */
int query__emit(const query__tree *t, uint32_t root, const char *root_name, const query__fns *fns,
                uint32_t max_depth, double min_percent, uint32_t max_nodes, base_arena *arena,
                query_flame *out)
{
    /* the root and one row for its children (shown or folded) must fit */
    if (max_nodes < 2)
        max_nodes = 2;
    emitter e = {0};
    e.arena = arena;
    e.fns = fns;
    e.copied = calloc((size_t)fns->n + 1, sizeof *e.copied);
    bool *keep = calloc((size_t)t->n + 1, sizeof *keep);
    uint32_t *depth_of = calloc((size_t)t->n + 1, sizeof *depth_of);
    uint32_t *kept_kids = calloc((size_t)t->n + 1, sizeof *kept_kids);
    cand_heap heap = {0};
    kid *kids = NULL;
    uint32_t kids_cap = 0;
    int rc = -1;
    if (!e.copied || !keep || !depth_of || !kept_kids)
        goto done;
    int64_t root_cum = t->cum[root];
    double threshold = min_percent / 100.0 * (double)root_cum;

    /* ---- phase 1: choose the nodes to show ---- */
    keep[root] = true;
    uint64_t rows = 1;
    /* a shown node with children (above the depth cut) needs an "(other)" row while some
     * child is not shown */
#define EXPANDS(node) (t->n_children[node] > 0 && depth_of[node] < max_depth)
    if (EXPANDS(root))
        rows++;
    if (EXPANDS(root))
        for (uint32_t i = 0; i < t->n_children[root]; i++) {
            uint32_t c = t->kids[t->first_child[root] + i];
            if ((double)t->cum[c] >= threshold && heap_push(&heap, (kid){t->cum[c], NULL, c}))
                goto done;
        }
    while (heap.n > 0) {
        kid k = heap_pop(&heap);
        uint32_t c = k.node, p = t->parent[c];
        depth_of[c] = depth_of[p] + 1;
        bool last_of_parent = kept_kids[p] + 1 == t->n_children[p];
        uint64_t cost = 1 + (EXPANDS(c) ? 1 : 0) - (last_of_parent ? 1 : 0);
        if (rows + cost > max_nodes)
            continue; /* a smaller candidate may still fit (a leaf costs less) */
        keep[c] = true;
        kept_kids[p]++;
        rows += cost;
        if (EXPANDS(c))
            for (uint32_t i = 0; i < t->n_children[c]; i++) {
                uint32_t g = t->kids[t->first_child[c] + i];
                if ((double)t->cum[g] >= threshold && heap_push(&heap, (kid){t->cum[g], NULL, g}))
                    goto done;
            }
    }

    /* ---- phase 2: lay the chosen nodes out breadth-first ---- */
    const char *rn = base_arena_strndup(arena, root_name, strlen(root_name));
    if (!rn)
        goto done;
    if (push_row(&e,
                 (query_flame_row){0, -1, 0, root_cum, t->flat[root], rn, false, false,
                                   type_name(arena, fns, t->fn[root])},
                 root))
        goto done;
    for (uint32_t r = 0; r < e.n; r++) {
        uint32_t node = e.node_of_row[r];
        if (node == QUERY__NONE)
            continue;
        uint32_t k = t->n_children[node];
        if (k == 0)
            continue;
        if (!EXPANDS(node)) {
            e.rows[r].truncated = true;
            out->n_pruned += t->subtree[node] - 1;
            continue;
        }
        uint32_t depth = e.rows[r].depth + 1;
        if (k > kids_cap) {
            kid *kk = realloc(kids, k * sizeof *kk);
            if (!kk)
                goto done;
            kids = kk;
            kids_cap = k;
        }
        uint32_t shown = 0;
        int64_t folded = 0;
        for (uint32_t i = 0; i < k; i++) {
            uint32_t c = t->kids[t->first_child[node] + i];
            if (keep[c]) {
                kids[shown++] = (kid){t->cum[c], fns->name[t->fn[c]], c};
            } else {
                folded = base_sat_add(folded, t->cum[c]);
                out->n_pruned += t->subtree[c];
            }
        }
        qsort(kids, shown, sizeof *kids, kid_cmp);
        for (uint32_t i = 0; i < shown; i++) {
            uint32_t c = kids[i].node;
            const char *name = fn_name(&e, t->fn[c]);
            if (!name)
                goto done;
            const char *type = type_name(arena, fns, t->fn[c]);
            if (!type)
                goto done;
            query_flame_row row = {0,    (int32_t)r, depth, t->cum[c], t->flat[c],
                                   name, false,      false, type};
            if (push_row(&e, row, c))
                goto done;
        }
        if (shown < k) {
            query_flame_row row = {0,         (int32_t)r, depth, folded, folded,
                                   "(other)", true,       false, ""};
            if (push_row(&e, row, QUERY__NONE))
                goto done;
        }
    }
#undef EXPANDS
    out->rows = base_arena_calloc(arena, (size_t)e.n + 1, sizeof *out->rows);
    if (!out->rows)
        goto done;
    memcpy(out->rows, e.rows, (size_t)e.n * sizeof *out->rows);
    out->n_rows = e.n;
    out->root_cum = root_cum;
    rc = 0;
done:
    free(e.rows);
    free(e.node_of_row);
    free(e.copied);
    free(keep);
    free(depth_of);
    free(kept_kids);
    free(heap.v);
    free(kids);
    return rc;
}
