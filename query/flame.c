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
    for (uint32_t i = 1; i < m->n_nodes; i++) {
        if (m->nodes[i].parent < 0 || (uint32_t)m->nodes[i].parent >= i ||
            m->nodes[i].frame >= m->n_frames) {
            base_set_err(err, err_len, "query: malformed merge result (node %u)", i);
            return false;
        }
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
        t.flat[tn[i]] = query__sat_add(t.flat[tn[i]], nd->self);
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

typedef struct sandwich_state {
    const win_merged *m;
    query__fns fns;
    bool *is_f;
    uint8_t *has_f;      /* per merged node: F occurs on the path from the root */
    uint32_t *stamp_in;  /* per function: last sample whose caller edge X->F was counted */
    uint32_t *stamp_out; /* per function: same for callee edges F->Y */
    uint32_t *path;      /* functions of one stack, root first */
    uint32_t path_cap;
    query__tree callers, callees;
    int64_t flat, cum, no_caller;
} sandwich_state;

/* Adds one sample stack (functions p[0..len), root first, value v) to both trees.
 * Level 1 follows pprof's edge rule: each distinct caller->F and F->callee edge of the
 * stack counts once, and F->F edges do not exist (a run of F is one occurrence). Below
 * level 1 each edge continues from the outermost occurrence that has it. */
static int sandwich_add(sandwich_state *s, uint32_t sample, const uint32_t *p, uint32_t len,
                        int64_t v)
{
    s->cum = query__sat_add(s->cum, v);
    if (s->is_f[p[len - 1]])
        s->flat = query__sat_add(s->flat, v);
    for (uint32_t j = 0; j < len; j++) {
        if (!s->is_f[p[j]])
            continue;
        bool run_start = j == 0 || !s->is_f[p[j - 1]];
        bool run_end = j + 1 == len || !s->is_f[p[j + 1]];
        if (run_start) {
            if (j == 0) {
                s->no_caller = query__sat_add(s->no_caller, v);
            } else if (s->stamp_in[p[j - 1]] != sample) {
                s->stamp_in[p[j - 1]] = sample;
                uint32_t node = 0;
                for (uint32_t q = j; q-- > 0;) {
                    node = query__tree_child(&s->callers, node, p[q]);
                    if (node == QUERY__NONE)
                        return -1;
                }
                s->callers.flat[node] = query__sat_add(s->callers.flat[node], v);
            }
        }
        if (run_end && j + 1 < len && s->stamp_out[p[j + 1]] != sample) {
            s->stamp_out[p[j + 1]] = sample;
            uint32_t node = 0;
            for (uint32_t q = j + 1; q < len; q++) {
                node = query__tree_child(&s->callees, node, p[q]);
                if (node == QUERY__NONE)
                    return -1;
            }
            s->callees.flat[node] = query__sat_add(s->callees.flat[node], v);
        }
    }
    return 0;
}

static int sandwich_walk(sandwich_state *s)
{
    const win_merged *m = s->m;
    for (uint32_t i = 1; i < m->n_nodes; i++) {
        const win_node *nd = &m->nodes[i];
        uint32_t fn = s->fns.fn_of_frame[nd->frame];
        s->has_f[i] = s->has_f[nd->parent] || s->is_f[fn];
        if (!s->has_f[i] || nd->self == 0)
            continue;
        uint32_t len = 0;
        for (uint32_t j = i; j != 0; j = (uint32_t)m->nodes[j].parent)
            len++;
        if (len > s->path_cap) {
            uint32_t *np = realloc(s->path, (size_t)len * sizeof *np);
            if (!np)
                return -1;
            s->path = np;
            s->path_cap = len;
        }
        uint32_t k = len;
        for (uint32_t j = i; j != 0; j = (uint32_t)m->nodes[j].parent)
            s->path[--k] = s->fns.fn_of_frame[m->nodes[j].frame];
        if (sandwich_add(s, i, s->path, len, nd->self))
            return -1;
    }
    return 0;
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
    bool fns_ok = false;
    if (!out || !(out->priv = query__priv_new()))
        goto oom;
    out->total = m->total;
    if (query__fns_build(m, &s.fns))
        goto oom;
    fns_ok = true;
    size_t nfn = (size_t)s.fns.n + 1;
    s.is_f = calloc(nfn, sizeof *s.is_f);
    s.stamp_in = calloc(nfn, sizeof *s.stamp_in);
    s.stamp_out = calloc(nfn, sizeof *s.stamp_out);
    s.has_f = calloc(m->n_nodes, sizeof *s.has_f);
    if (!s.is_f || !s.stamp_in || !s.stamp_out || !s.has_f)
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
    if (query__tree_init(&s.callers) || query__tree_init(&s.callees))
        goto oom;
    if (sandwich_walk(&s))
        goto oom;
    s.callers.flat[0] = s.no_caller;
    s.callees.flat[0] = s.flat;
    if (query__tree_finish(&s.callers) || query__tree_finish(&s.callees))
        goto oom;
    /* with indirect recursion the edge rule counts a sample under several callers (as
     * pprof -peek does); row 0 still reports the function's own cum */
    s.callers.cum[0] = s.cum;
    s.callees.cum[0] = s.cum;
    out->found = true;
    out->flat = s.flat;
    out->cum = s.cum;
    uint32_t depth = o->max_depth ? o->max_depth : SANDWICH_DEFAULT_DEPTH;
    uint32_t nodes = o->max_nodes ? o->max_nodes : SANDWICH_DEFAULT_NODES;
    double pct = o->min_percent < 0 ? FLAME_DEFAULT_PERCENT : o->min_percent;
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
    free(s.stamp_in);
    free(s.stamp_out);
    free(s.has_f);
    free(s.path);
    query__fns_free(&s.fns);
    return out;
oom:
    query__tree_free(&s.callers);
    query__tree_free(&s.callees);
    free(s.is_f);
    free(s.stamp_in);
    free(s.stamp_out);
    free(s.has_f);
    free(s.path);
    if (fns_ok)
        query__fns_free(&s.fns);
    query_sandwich_free(out);
    base_set_err(err, err_len, "query: out of memory building the sandwich");
    return NULL;
}
