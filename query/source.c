/* query/source.c — per source line of one function (pprof -top -lines, restricted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query_internal.h"

#define SOURCE_DEFAULT_LIMIT 40

void query_source_free(query_source *s)
{
    if (!s)
        return;
    query__priv_free(s->priv);
    free(s);
}

/* A line of the matched functions while it is counted. */
typedef struct line_acc {
    uint32_t fn; /* query__fns index */
    const char *file;
    int64_t line;
    int64_t flat, cum;
} line_acc;

static const char *dup_str(base_arena *a, const char *s)
{
    return base_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

static int row_cmp_by(const void *a, const void *b, bool by_cum)
{
    const query_source_row *x = a, *y = b;
    int64_t x1 = by_cum ? x->cum : x->flat, y1 = by_cum ? y->cum : y->flat;
    int64_t x2 = by_cum ? x->flat : x->cum, y2 = by_cum ? y->flat : y->cum;
    if (x1 != y1)
        return x1 > y1 ? -1 : 1;
    if (x2 != y2)
        return x2 > y2 ? -1 : 1;
    int c = strcmp(x->function, y->function);
    if (c)
        return c;
    c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return (x->address > y->address) - (x->address < y->address);
}
static int row_cmp_flat(const void *a, const void *b)
{
    return row_cmp_by(a, b, false);
}
static int row_cmp_cum(const void *a, const void *b)
{
    return row_cmp_by(a, b, true);
}

static int fn_cmp(const void *a, const void *b)
{
    const query_source_fn *x = a, *y = b;
    if (x->cum != y->cum)
        return x->cum > y->cum ? -1 : 1;
    if (x->flat != y->flat)
        return x->flat > y->flat ? -1 : 1;
    return strcmp(x->function, y->function);
}

/* The line index of frame `fr` of function `fn`, added when new; QUERY__NONE on failure.
 * Lines are keyed by a hash of (function, file, line) and verified (files of one merge
 * are one pointer per distinct text, but a caller-built merge need not share them). */
static uint32_t line_of(query__map *idx, line_acc **lines, uint32_t *n, uint32_t *cap, uint32_t fn,
                        const char *file, int64_t line)
{
    uint64_t h = base_mix64(query__hash_str(file) ^ ((uint64_t)fn * 0x9e3779b97f4a7c15ULL) ^
                            base_mix64((uint64_t)line));
    for (;;) {
        bool ins;
        uint32_t *slot = query__map_get(idx, h, *n, &ins);
        if (!slot)
            return QUERY__NONE;
        if (ins) {
            void *arr = *lines;
            if (!base_grow(&arr, cap, *n + 1, sizeof(line_acc)))
                return QUERY__NONE;
            *lines = arr;
            (*lines)[*n] = (line_acc){fn, file, line, 0, 0};
            return (*n)++;
        }
        const line_acc *l = &(*lines)[*slot];
        if (l->fn == fn && l->line == line && strcmp(l->file, file) == 0)
            return *slot;
        h = base_mix64(h + 1);
    }
}

query_source *query_source_compute(const win_merged *m, const query_source_opts *o, char *err,
                                   size_t err_len)
{
    base_set_err(err, err_len, "%s", "");
    if (!m || !o || (!o->function && !o->function_regex)) {
        base_set_err(err, err_len, "query: source needs a merge and a function or regex");
        return NULL;
    }
    base_regex *re = NULL;
    base_regex_budget budget;
    base_regex_budget_init(&budget, BASE_REGEX_QUERY_BUDGET_NS);
    if (!o->function && o->function_regex) {
        char why[256];
        if (!(re = base_regex_compile(o->function_regex, 0, why, sizeof why))) {
            base_set_err(err, err_len, "bad function_regex \"%.200s\": %s", o->function_regex, why);
            return NULL;
        }
        base_regex_set_budget(re, &budget);
    }
    query__fns fns;
    bool have_fns = false;
    uint8_t *fn_match = NULL;
    uint32_t *line_of_frame = NULL, *fn_active = NULL, *line_active = NULL;
    int64_t *cum = NULL, *fn_flat = NULL, *fn_cum = NULL;
    uint32_t *kid_first = NULL, *kids = NULL, *stack = NULL;
    uint8_t *entered = NULL;
    line_acc *lines = NULL;
    uint32_t n_lines = 0, lines_cap = 0;
    query__map idx = {0};
    query_source *s = calloc(1, sizeof *s);
    if (!s || !(s->priv = query__priv_new()) || query__fns_build(m, &fns) != 0)
        goto oom;
    have_fns = true;
    s->total = m->total;
    fn_match = calloc((size_t)fns.n + 1, 1);
    if (!fn_match)
        goto oom;
    for (uint32_t f = 0; f < fns.n; f++) {
        if (o->function) {
            fn_match[f] = query__fn_matches(&fns, f, o->function);
        } else {
            int r = base_regex_match(re, fns.name[f], strlen(fns.name[f]));
            if (r < 0) {
                base_set_err(err, err_len, "function_regex \"%.200s\": %s", o->function_regex,
                             BASE_REGEX_TOO_EXPENSIVE);
                goto fail;
            }
            fn_match[f] = r > 0;
        }
        if (fn_match[f])
            s->n_functions++;
    }
    line_of_frame = malloc(((size_t)m->n_frames + 1) * sizeof *line_of_frame);
    if (!line_of_frame)
        goto oom;
    for (uint32_t i = 0; i < m->n_frames; i++) {
        uint32_t fn = fns.fn_of_frame[i];
        line_of_frame[i] = QUERY__NONE;
        if (!fn_match[fn])
            continue;
        const win_frame *fr = &m->frames[i];
        /* an unsymbolized frame is its address (pprof lists it so at any granularity) */
        bool unsym = fns.unsymbolized[fn];
        line_of_frame[i] = line_of(&idx, &lines, &n_lines, &lines_cap, fn,
                                   unsym ? "" : (fr->file ? fr->file : ""), unsym ? 0 : fr->line);
        if (line_of_frame[i] == QUERY__NONE)
            goto oom;
    }
    s->n_lines = n_lines;
    /* cum per node bottom-up (parents precede children), then a depth-first walk that
     * counts a node's subtree for its line (and its function) only at the outermost
     * occurrence on the path: recursion counted once, as pprof does per sample */
    uint32_t nn = m->n_nodes;
    cum = malloc(((size_t)nn + 1) * sizeof *cum);
    kid_first = calloc((size_t)nn + 2, sizeof *kid_first);
    kids = malloc(((size_t)nn + 1) * sizeof *kids);
    stack = malloc(((size_t)nn + 1) * sizeof *stack);
    entered = calloc((size_t)nn + 1, 1);
    line_active = calloc((size_t)n_lines + 1, sizeof *line_active);
    fn_active = calloc((size_t)fns.n + 1, sizeof *fn_active);
    fn_flat = calloc((size_t)fns.n + 1, sizeof *fn_flat);
    fn_cum = calloc((size_t)fns.n + 1, sizeof *fn_cum);
    if (!cum || !kid_first || !kids || !stack || !entered || !line_active || !fn_active ||
        !fn_flat || !fn_cum)
        goto oom;
    for (uint32_t i = 0; i < nn; i++)
        cum[i] = m->nodes[i].self;
    for (uint32_t i = nn; i-- > 1;) {
        int32_t p = m->nodes[i].parent;
        if (p < 0 || (uint32_t)p >= i) { /* parents precede children in every merge */
            base_set_err(err, err_len, "query: malformed merge (node %u)", i);
            goto fail;
        }
        cum[p] = base_sat_add(cum[p], cum[i]);
        kid_first[p + 1]++;
    }
    for (uint32_t i = 0; i < nn; i++)
        kid_first[i + 1] += kid_first[i];
    {
        uint32_t *fill = stack; /* borrowed as the fill cursor before the walk */
        memcpy(fill, kid_first, (size_t)nn * sizeof *fill);
        for (uint32_t i = 1; i < nn; i++)
            kids[fill[m->nodes[i].parent]++] = i;
    }
    uint32_t sp = 0;
    if (nn)
        stack[sp++] = 0;
    while (sp) {
        uint32_t v = stack[sp - 1];
        uint32_t fr = m->nodes[v].frame;
        uint32_t L = v && fr < m->n_frames ? line_of_frame[fr] : QUERY__NONE;
        uint32_t F = L != QUERY__NONE ? lines[L].fn : QUERY__NONE;
        if (!entered[v]) {
            entered[v] = 1;
            if (L != QUERY__NONE) {
                if (line_active[L]++ == 0)
                    lines[L].cum = base_sat_add(lines[L].cum, cum[v]);
                if (fn_active[F]++ == 0)
                    fn_cum[F] = base_sat_add(fn_cum[F], cum[v]);
                lines[L].flat = base_sat_add(lines[L].flat, m->nodes[v].self);
                fn_flat[F] = base_sat_add(fn_flat[F], m->nodes[v].self);
            }
            /* children pushed in one go: the stack holds each node once */
            for (uint32_t k = kid_first[v]; k < kid_first[v + 1]; k++)
                stack[sp++] = kids[k];
            continue;
        }
        sp--;
        if (L != QUERY__NONE) {
            line_active[L]--;
            fn_active[F]--;
        }
    }

    /* rows: every line ranked, the first `limit` shown */
    base_arena *a = &s->priv->arena;
    uint32_t limit = o->limit ? o->limit : SOURCE_DEFAULT_LIMIT;
    query_source_row *all = malloc(((size_t)n_lines + 1) * sizeof *all);
    if (!all)
        goto oom;
    for (uint32_t i = 0; i < n_lines; i++) {
        uint32_t fn = lines[i].fn;
        all[i] =
            (query_source_row){fns.name[fn],         lines[i].file,
                               lines[i].line,        fns.unsymbolized[fn] ? fns.address[fn] : 0,
                               fns.unsymbolized[fn], lines[i].flat,
                               lines[i].cum};
    }
    qsort(all, n_lines, sizeof *all, o->sort == QUERY_SORT_CUM ? row_cmp_cum : row_cmp_flat);
    s->n_rows = n_lines < limit ? n_lines : limit;
    s->rows = base_arena_calloc(a, (size_t)s->n_rows + 1, sizeof *s->rows);
    if (!s->rows) {
        free(all);
        goto oom;
    }
    for (uint32_t i = 0; i < n_lines; i++) {
        if (i >= s->n_rows) {
            s->other_flat = base_sat_add(s->other_flat, all[i].flat);
            continue;
        }
        s->rows[i] = all[i];
        s->rows[i].function = dup_str(a, all[i].function);
        s->rows[i].file = dup_str(a, all[i].file);
        if (!s->rows[i].function || !s->rows[i].file) {
            free(all);
            goto oom;
        }
    }
    free(all);

    /* the functions: where each one starts, by cum */
    query_source_fn *fl = calloc((size_t)s->n_functions + 1, sizeof *fl);
    if (!fl)
        goto oom;
    uint32_t nf = 0;
    for (uint32_t f = 0; f < fns.n; f++) {
        if (!fn_match[f])
            continue;
        fl[nf] = (query_source_fn){fns.name[f], "", 0, false, "", fn_flat[f], fn_cum[f], 0};
        nf++;
    }
    /* file, frame type and start line from the function's frames (first frame wins for
     * the file and type, as the table's file column does) */
    uint32_t *slot_of_fn = malloc(((size_t)fns.n + 1) * sizeof *slot_of_fn);
    if (!slot_of_fn) {
        free(fl);
        goto oom;
    }
    for (uint32_t f = 0, k = 0; f < fns.n; f++)
        slot_of_fn[f] = fn_match[f] ? k++ : QUERY__NONE;
    uint8_t *file_set = calloc((size_t)nf + 1, 1);
    if (!file_set) {
        free(fl);
        free(slot_of_fn);
        goto oom;
    }
    for (uint32_t i = 0; i < m->n_frames; i++) {
        uint32_t k = slot_of_fn[fns.fn_of_frame[i]];
        if (k == QUERY__NONE)
            continue;
        const win_frame *fr = &m->frames[i];
        if (!file_set[k]) {
            file_set[k] = 1;
            fl[k].file = fr->file ? fr->file : "";
            fl[k].frame_type = fr->frame_type ? fr->frame_type : "";
        }
        if (fr->start_line > 0 && !fl[k].start_line_known) {
            fl[k].start_line = fr->start_line;
            fl[k].start_line_known = true;
        } else if (!fl[k].start_line_known && fr->line > 0 &&
                   (fl[k].start_line == 0 || fr->line < fl[k].start_line)) {
            fl[k].start_line = fr->line;
        }
    }
    for (uint32_t i = 0; i < n_lines; i++)
        fl[slot_of_fn[lines[i].fn]].n_lines++;
    free(slot_of_fn);
    free(file_set);
    qsort(fl, nf, sizeof *fl, fn_cmp);
    s->n_fns = nf < QUERY_SOURCE_MAX_FUNCTIONS ? nf : QUERY_SOURCE_MAX_FUNCTIONS;
    s->fns = base_arena_calloc(a, (size_t)s->n_fns + 1, sizeof *s->fns);
    bool ok = s->fns != NULL;
    for (uint32_t i = 0; ok && i < s->n_fns; i++) {
        s->fns[i] = fl[i];
        s->fns[i].function = dup_str(a, fl[i].function);
        s->fns[i].file = dup_str(a, fl[i].file);
        s->fns[i].frame_type = dup_str(a, fl[i].frame_type);
        ok = s->fns[i].function && s->fns[i].file && s->fns[i].frame_type;
    }
    free(fl);
    if (!ok)
        goto oom;
    goto done;
oom:
    base_set_err(err, err_len, "query: out of memory computing source lines");
    base_alloc_failed_note();
fail:
    query_source_free(s);
    s = NULL;
done:
    free(fn_match);
    free(line_of_frame);
    free(cum);
    free(kid_first);
    free(kids);
    free(stack);
    free(entered);
    free(line_active);
    free(fn_active);
    free(fn_flat);
    free(fn_cum);
    free(lines);
    query__map_free(&idx);
    if (have_fns)
        query__fns_free(&fns);
    base_regex_free(re);
    return s;
}
