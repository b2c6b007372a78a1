/* query/flame.c — the function-level call tree (flame graph) and the sandwich view. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query_internal.h"

#define FLAME_DEFAULT_DEPTH    16
#define FLAME_DEFAULT_NODES    120
#define FLAME_DEFAULT_PERCENT  0.5
#define SANDWICH_DEFAULT_DEPTH 8
#define SANDWICH_DEFAULT_NODES 60

/* window/ guarantees this shape; a result built by hand might not, and every index below
 * is used without further checks. */
static bool merge_ok(const win_merged *m, char *err, size_t err_len)
{
    if (!m || !m->nodes || m->n_nodes == 0 || (m->n_frames && !m->frames)) {
        base_set_err(err, err_len, "query: empty or malformed merge result");
        return false;
    }
    uint32_t bad = win_merged_bad_node(m);
    if (bad) {
        base_set_err(err, err_len, "query: malformed merge result (node %u)", bad);
        return false;
    }
    return true;
}

void query_flame_free(query_flame *f)
{
    if (!f)
        return;
    query__priv_free(f->priv);
    free(f);
}

query_flame *query_flame_compute(const win_merged *m, const query_flame_opts *o, char *err,
                                 size_t err_len)
{
    base_set_err(err, err_len, "%s", "");
    if (!merge_ok(m, err, err_len))
        return NULL;
    query_flame_opts d = {NULL, 0, 0, -1, 0};
    if (!o)
        o = &d;
    if (o->n_focus && !o->focus_path) {
        base_set_err(err, err_len, "query: focus_path is missing its frames");
        return NULL;
    }
    for (uint32_t i = 0; i < o->n_focus; i++) {
        if (!o->focus_path[i] || !o->focus_path[i][0]) {
            base_set_err(err, err_len,
                         "focus_path[%u] is empty: give function names (or 0x addresses of "
                         "unsymbolized frames) from the root down",
                         i);
            return NULL;
        }
    }
    query_flame *f = calloc(1, sizeof *f);
    query__fns fns = {0};
    query__tree t = {0};
    uint32_t *tn = NULL;
    bool fns_ok = false, tree_ok = false;
    if (!f || !(f->priv = query__priv_new()))
        goto oom;
    if (query__fns_build(m, &fns))
        goto oom;
    fns_ok = true;
    if (query__tree_init(&t))
        goto oom;
    tree_ok = true;
    /* the function tree has at most one node per merged node */
    if (query__tree_reserve(&t, m->n_nodes) || !(tn = malloc((size_t)m->n_nodes * sizeof *tn)))
        goto oom;
    tn[0] = 0;
    t.flat[0] = m->nodes[0].self;
    for (uint32_t i = 1; i < m->n_nodes; i++) {
        const win_node *nd = &m->nodes[i];
        tn[i] = query__tree_child(&t, tn[nd->parent], fns.fn_of_frame[nd->frame]);
        if (tn[i] == QUERY__NONE)
            goto oom;
        t.flat[tn[i]] = base_sat_add(t.flat[tn[i]], nd->self);
    }
    if (query__tree_finish(&t))
        goto oom;
    f->total = m->total;
    uint32_t root = 0;
    for (uint32_t i = 0; i < o->n_focus; i++) {
        uint32_t next = QUERY__NONE;
        for (uint32_t k = 0; k < t.n_children[root]; k++) {
            uint32_t c = t.kids[t.first_child[root] + k];
            if (query__fn_matches(&fns, t.fn[c], o->focus_path[i]) &&
                (next == QUERY__NONE || t.cum[c] > t.cum[next]))
                next = c;
        }
        if (next == QUERY__NONE) {
            f->focus_found = false;
            goto out;
        }
        root = next;
    }
    f->focus_found = true;
    const char *root_name = root == 0 ? "root" : fns.name[t.fn[root]];
    uint32_t depth = o->max_depth ? o->max_depth : FLAME_DEFAULT_DEPTH;
    uint32_t nodes = o->max_nodes ? o->max_nodes : FLAME_DEFAULT_NODES;
    double pct = o->min_percent < 0 ? FLAME_DEFAULT_PERCENT : o->min_percent;
    if (query__emit(&t, root, root_name, &fns, depth, pct, nodes, &f->priv->arena, f))
        goto oom;
out:
    free(tn);
    query__tree_free(&t);
    query__fns_free(&fns);
    return f;
oom:
    free(tn);
    if (tree_ok)
        query__tree_free(&t);
    if (fns_ok)
        query__fns_free(&fns);
    query_flame_free(f);
    base_set_err(err, err_len, "query: out of memory building the call tree");
    base_alloc_failed_note();
    return NULL;
}

/* ---- sandwich ---- */

void query_sandwich_free(query_sandwich *s)
{
    if (!s)
        return;
    query__priv_free(s->priv);
    free(s);
}

/* What the depth-first walk keeps per level of the current path (index = depth in the
 * merged tree, 0 = its root). */
typedef struct sw_level {
    uint32_t fn;             /* function of the frame */
    uint32_t n_f;            /* frames of F on the path down to here */
    bool past;               /* F's first run has ended on the path (a non-F frame followed it) */
    uint32_t kept_in;        /* caller X of a kept edge X->F whose run of F starts here */
    uint32_t kept_out;       /* callee Y of a kept edge F->Y that starts here */
    uint32_t last_kept;      /* deepest level <= here where a kept X->F run starts */
    int64_t deeper;          /* (at a kept run start) value under deeper kept run starts */
    uint32_t full, full_dep; /* callees: node of the full copy below F's first run */
    uint32_t seg, seg_dep;   /* callees: node of the segment of a kept inner edge */
} sw_level;

typedef struct sandwich_state {
    const win_merged *m;
    query__fns fns;
    bool *is_f;        /* per function */
    uint8_t *seen_in;  /* per function X: a kept edge X->F is on the current path */
    uint8_t *seen_out; /* per function Y: a kept edge F->Y is on the current path */
    uint32_t rec_fn;   /* pseudo-function "(recursion)" */
    uint32_t cut_fn;   /* pseudo-function "(cut)" */
    uint32_t levels;   /* tree levels built below row 0: max_depth + 1 */
    uint32_t budget;   /* tree nodes before new paths are cut */
    query__tree callers, callees;
    int64_t flat, cum, no_caller;
    uint64_t work;
    bool cut, recursion;
    bool failed; /* an allocation failed: the walk stops and the result is dropped */
    uint32_t memo_parent[2], memo_end[2]; /* last callers walk of each kind, by merged parent */
} sandwich_state;

/* The child of `parent` for `fn` within the node budget. Level 1 (parent 0) is always
 * built: it is pprof -peek's answer and holds at most one node per function. Below it,
 * once the tree holds `budget` nodes a missing child is replaced by the parent's one
 * "(cut)" child, and a "(cut)" node is its own child, so a path that ran out of budget
 * ends there and its value stays in the tree. QUERY__NONE on allocation failure. */
static uint32_t sw_child(sandwich_state *s, query__tree *t, uint32_t parent, uint32_t fn)
{
    s->work++;
    if (t->fn[parent] == s->cut_fn)
        return parent;
    if (parent != 0 && t->n >= s->budget) {
        uint32_t c = query__map_find(&t->index, ((uint64_t)parent << 32) | fn);
        if (c != QUERY__NONE)
            return c;
        s->cut = true;
        fn = s->cut_fn;
    }
    uint32_t c = query__tree_child(t, parent, fn);
    s->failed |= c == QUERY__NONE;
    return c;
}

/* A pseudo row under `node` ("(recursion)"), outside the budget: each node has at most
 * one, so they at most double the tree. */
static uint32_t sw_pseudo(sandwich_state *s, query__tree *t, uint32_t node, uint32_t fn)
{
    s->work++;
    if (t->fn[node] == s->cut_fn)
        return node;
    uint32_t c = query__tree_child(t, node, fn);
    s->failed |= c == QUERY__NONE;
    return c;
}

/* Callees: the child of `node` (at tree depth `dep`) for `fn`, unless the tree already
 * holds every level that can be shown: then deeper frames add to `node` itself (its
 * parent is the last row shown, marked truncated, and its cum stays exact). */
static uint32_t sw_down(sandwich_state *s, uint32_t node, uint32_t dep, uint32_t fn,
                        uint32_t *out_dep)
{
    if (dep >= s->levels) {
        *out_dep = dep;
        return node;
    }
    *out_dep = dep + 1;
    return sw_child(s, &s->callees, node, fn);
}

/* Callers: inserts the path from the caller of the run of F at `lv[d]` towards the root
 * (lv[d - 1], lv[d - 2], ..., lv[1]); with `stop_at_f` it ends at the first frame of F it
 * reaches, under which a "(recursion)" row takes the value. Returns the node that takes
 * the value, QUERY__NONE on allocation failure. Only the levels that can be shown are
 * built. `parent` (the merged node of lv[d - 1]) remembers the last walk of each kind:
 * sibling runs of F under one caller frame (F's other lines) share it. */
static uint32_t callers_walk(sandwich_state *s, const sw_level *lv, uint32_t d, uint32_t parent,
                             bool stop_at_f)
{
    int kind = stop_at_f ? 1 : 0;
    if (s->memo_parent[kind] == parent)
        return s->memo_end[kind];
    uint32_t node = 0, dep = 0;
    for (uint32_t q = d; q-- > 1 && dep < s->levels;) {
        node = sw_child(s, &s->callers, node, lv[q].fn);
        if (node == QUERY__NONE)
            return QUERY__NONE;
        dep++;
        if (s->callers.fn[node] == s->cut_fn)
            break;
        if (stop_at_f && s->is_f[lv[q].fn]) {
            node = sw_pseudo(s, &s->callers, node, s->rec_fn);
            s->recursion = true;
            break;
        }
    }
    s->memo_parent[kind] = parent;
    s->memo_end[kind] = node;
    return node;
}

static int sw_add(query__tree *t, uint32_t node, int64_t v)
{
    if (node == QUERY__NONE)
        return -1;
    t->flat[node] = base_sat_add(t->flat[node], v);
    return 0;
}

/* Entering merged node x (value under it `sub`) at depth d: F's flat and cum, the kept
 * edges, and the callees copies. */
static int sw_enter(sandwich_state *s, sw_level *lv, uint32_t d, uint32_t x, int64_t sub)
{
    const win_node *nd = &s->m->nodes[x];
    uint32_t fx = s->fns.fn_of_frame[nd->frame];
    bool f = s->is_f[fx], pf = d >= 2 && s->is_f[lv[d - 1].fn];
    sw_level *l = &lv[d], *p = &lv[d - 1];
    l->fn = fx;
    l->n_f = p->n_f + (f ? 1 : 0);
    l->past = p->past || (p->n_f > 0 && !f);
    l->kept_in = l->kept_out = QUERY__NONE;
    l->last_kept = p->last_kept;
    l->deeper = 0;
    l->full = l->seg = QUERY__NONE;
    l->full_dep = l->seg_dep = 0;
    s->work++;
    if (f) {
        s->flat = base_sat_add(s->flat, nd->self);
        if (p->n_f == 0)
            s->cum = base_sat_add(s->cum, sub); /* the outermost F: once per stack */
    }
    /* callers: a run of F starts here */
    if (f && !pf) {
        if (d == 1) {
            s->no_caller = base_sat_add(s->no_caller, sub);
        } else if (!s->seen_in[p->fn]) {
            s->seen_in[p->fn] = 1;
            l->kept_in = p->fn;
            if (p->last_kept != QUERY__NONE)
                lv[p->last_kept].deeper = base_sat_add(lv[p->last_kept].deeper, sub);
            l->last_kept = d;
        }
    }
    /* callees */
    if (!f && pf) { /* an edge F -> fx */
        if (!p->past) {
            /* the end of F's first run: the full copy starts (no edge is on the path yet) */
            s->seen_out[fx] = 1;
            l->kept_out = fx;
            l->full = sw_child(s, &s->callees, 0, fx);
            l->full_dep = 1;
        } else {
            l->full = sw_down(s, p->full, p->full_dep, fx, &l->full_dep);
            if (!s->seen_out[fx]) {
                s->seen_out[fx] = 1;
                l->kept_out = fx;
                l->seg = sw_child(s, &s->callees, 0, fx);
                l->seg_dep = 1;
            }
        }
    } else {
        if (p->full != QUERY__NONE)
            l->full = sw_down(s, p->full, p->full_dep, fx, &l->full_dep);
        if (p->seg != QUERY__NONE) {
            uint32_t dep;
            uint32_t node = sw_down(s, p->seg, p->seg_dep, fx, &dep);
            if (s->failed)
                return -1;
            if (!f) {
                l->seg = node;
                l->seg_dep = dep;
            } else {
                /* F again: this segment ends; what follows is F's own callees (row 0) */
                if (dep > p->seg_dep && s->callees.fn[node] != s->cut_fn) {
                    node = sw_pseudo(s, &s->callees, node, s->rec_fn);
                    s->recursion = true;
                }
                if (sw_add(&s->callees, node, sub))
                    return -1;
            }
        }
    }
    if (s->failed)
        return -1;
    if (l->full != QUERY__NONE)
        sw_add(&s->callees, l->full, nd->self);
    if (l->seg != QUERY__NONE)
        sw_add(&s->callees, l->seg, nd->self);
    return 0;
}

/* Leaving merged node x at depth d: a kept run start inserts its callers paths, now that
 * the value under deeper kept runs is known. */
static int sw_leave(sandwich_state *s, sw_level *lv, uint32_t d, uint32_t x, int64_t sub)
{
    sw_level *l = &lv[d];
    if (l->kept_out != QUERY__NONE)
        s->seen_out[l->kept_out] = 0;
    if (l->kept_in == QUERY__NONE)
        return 0;
    s->seen_in[l->kept_in] = 0;
    uint32_t parent = (uint32_t)s->m->nodes[x].parent;
    int64_t deeper = l->deeper;
    int64_t innermost; /* value of stacks in which this is the innermost kept run */
    if (__builtin_sub_overflow(sub, deeper, &innermost))
        innermost = sub > 0 ? INT64_MAX : INT64_MIN;
    if (lv[d - 1].n_f == 0) {
        /* no F above: the path to the root is both the full path and the segment */
        if (sub != 0 && sw_add(&s->callers, callers_walk(s, lv, d, parent, false), sub))
            return -1;
        return 0;
    }
    if (innermost != 0 && sw_add(&s->callers, callers_walk(s, lv, d, parent, false), innermost))
        return -1;
    if (deeper != 0 && sw_add(&s->callers, callers_walk(s, lv, d, parent, true), deeper))
        return -1;
    return 0;
}

/* One depth-first walk of the merged tree: every node is entered and left once, and
 * a node's value is the sum of the subtree (like win_top's linear pass), so the work does
 * not grow with the number of samples or their depth beyond the trees' paths. */
static int sandwich_walk(sandwich_state *s)
{
    const win_merged *m = s->m;
    uint32_t n = m->n_nodes;
    win_tree_index ti;
    if (win_tree_index_build(m, &ti) != BASE_OK)
        return -1; /* merge_ok checked the shape: out of memory */
    uint32_t *next = malloc((size_t)n * sizeof *next);
    uint32_t *path = NULL;
    sw_level *lv = NULL;
    int rc = -1;
    if (!next)
        goto out;
    /* depth of every node (in `next`, reused below), for the per-level arrays */
    uint32_t max_depth = 0;
    next[0] = 0;
    for (uint32_t i = 1; i < n; i++) {
        next[i] = next[m->nodes[i].parent] + 1;
        if (next[i] > max_depth)
            max_depth = next[i];
    }
    path = malloc(((size_t)max_depth + 1) * sizeof *path);
    lv = calloc((size_t)max_depth + 1, sizeof *lv);
    if (!path || !lv)
        goto out;
    memcpy(next, ti.first, (size_t)n * sizeof *next);
    lv[0] = (sw_level){.fn = QUERY__NONE,
                       .kept_in = QUERY__NONE,
                       .kept_out = QUERY__NONE,
                       .last_kept = QUERY__NONE,
                       .full = QUERY__NONE,
                       .seg = QUERY__NONE};
    uint32_t depth = 0;
    path[0] = 0;
    for (;;) {
        uint32_t v = path[depth];
        if (next[v] < ti.first[v + 1]) {
            uint32_t c = ti.kids[next[v]++];
            path[++depth] = c;
            if (sw_enter(s, lv, depth, c, ti.sub[c]))
                goto out;
        } else {
            if (depth == 0)
                break;
            if (sw_leave(s, lv, depth, v, ti.sub[v]))
                goto out;
            depth--;
        }
    }
    rc = 0;
out:
    win_tree_index_free(&ti);
    free(next);
    free(path);
    free(lv);
    return rc;
}

/* Appends a pseudo-function (a row name that no frame has) to `f`; its id, or
 * QUERY__NONE on allocation failure. */
static uint32_t add_pseudo(query__fns *f, const char *name)
{
    size_t n = (size_t)f->n + 2;
    const char **nm = realloc((void *)f->name, n * sizeof *nm);
    if (nm)
        f->name = nm;
    uint64_t *ad = realloc(f->address, n * sizeof *ad);
    if (ad)
        f->address = ad;
    bool *un = realloc(f->unsymbolized, n * sizeof *un);
    if (un)
        f->unsymbolized = un;
    const char **ty = realloc((void *)f->frame_type, n * sizeof *ty);
    if (ty)
        f->frame_type = ty;
    if (!nm || !ad || !un || !ty)
        return QUERY__NONE;
    uint32_t id = f->n++;
    f->name[id] = name;
    f->frame_type[id] = "";
    f->address[id] = 0;
    f->unsymbolized[id] = false;
    return id;
}

query_sandwich *query_sandwich_compute(const win_merged *m, const query_sandwich_opts *o, char *err,
                                       size_t err_len)
{
    base_set_err(err, err_len, "%s", "");
    if (!merge_ok(m, err, err_len))
        return NULL;
    if (!o || !o->function || !o->function[0]) {
        base_set_err(err, err_len,
                     "function is required: a function name as query_profile_table shows it "
                     "(or the 0x address of an unsymbolized frame)");
        return NULL;
    }
    query_sandwich *out = calloc(1, sizeof *out);
    sandwich_state s;
    memset(&s, 0, sizeof s);
    s.m = m;
    s.memo_parent[0] = s.memo_parent[1] = QUERY__NONE;
    bool fns_ok = false;
    if (!out || !(out->priv = query__priv_new()))
        goto oom;
    out->total = m->total;
    if (query__fns_build(m, &s.fns))
        goto oom;
    fns_ok = true;
    size_t nfn = (size_t)s.fns.n + 1;
    s.is_f = calloc(nfn, sizeof *s.is_f);
    s.seen_in = calloc(nfn, sizeof *s.seen_in);
    s.seen_out = calloc(nfn, sizeof *s.seen_out);
    if (!s.is_f || !s.seen_in || !s.seen_out)
        goto oom;
    uint32_t first_f = QUERY__NONE;
    for (uint32_t fn = 0; fn < s.fns.n; fn++) {
        if (query__fn_matches(&s.fns, fn, o->function)) {
            s.is_f[fn] = true;
            if (first_f == QUERY__NONE)
                first_f = fn;
        }
    }
    if (first_f == QUERY__NONE)
        goto done; /* found = false, empty trees */
    /* after the matching, so that no user text names them; no frame maps to them, so
     * is_f/seen_* (sized before) are never indexed by them */
    if ((s.rec_fn = add_pseudo(&s.fns, "(recursion)")) == QUERY__NONE ||
        (s.cut_fn = add_pseudo(&s.fns, "(cut)")) == QUERY__NONE)
        goto oom;
    uint32_t depth = o->max_depth ? o->max_depth : SANDWICH_DEFAULT_DEPTH;
    uint32_t nodes = o->max_nodes ? o->max_nodes : SANDWICH_DEFAULT_NODES;
    double pct = o->min_percent < 0 ? FLAME_DEFAULT_PERCENT : o->min_percent;
    s.levels = depth < UINT32_MAX ? depth + 1 : depth;
    s.budget = o->max_tree_nodes ? o->max_tree_nodes : QUERY_SANDWICH_TREE_NODES;
    if (query__tree_init(&s.callers) || query__tree_init(&s.callees))
        goto oom;
    if (sandwich_walk(&s))
        goto oom;
    s.callers.flat[0] = s.no_caller;
    s.callees.flat[0] = s.flat;
    out->tree_nodes = s.callers.n + s.callees.n;
    if (query__tree_finish(&s.callers) || query__tree_finish(&s.callees))
        goto oom;
    /* with indirect recursion the edge rule counts a sample under several callers (as
     * pprof -peek does); row 0 still reports the function's own cum */
    s.callers.cum[0] = s.cum;
    s.callees.cum[0] = s.cum;
    out->found = true;
    out->flat = s.flat;
    out->cum = s.cum;
    out->cut = s.cut;
    out->recursion = s.recursion;
    out->work = s.work;
    const char *name = s.fns.name[first_f];
    out->callers.total = out->callees.total = m->total;
    out->callers.focus_found = out->callees.focus_found = true;
    if (query__emit(&s.callers, 0, name, &s.fns, depth, pct, nodes, &out->priv->arena,
                    &out->callers) ||
        query__emit(&s.callees, 0, name, &s.fns, depth, pct, nodes, &out->priv->arena,
                    &out->callees))
        goto oom;
done:
    query__tree_free(&s.callers);
    query__tree_free(&s.callees);
    free(s.is_f);
    free(s.seen_in);
    free(s.seen_out);
    query__fns_free(&s.fns);
    return out;
oom:
    query__tree_free(&s.callers);
    query__tree_free(&s.callees);
    free(s.is_f);
    free(s.seen_in);
    free(s.seen_out);
    if (fns_ok)
        query__fns_free(&s.fns);
    query_sandwich_free(out);
    base_set_err(err, err_len, "query: out of memory building the sandwich");
    base_alloc_failed_note();
    return NULL;
}
