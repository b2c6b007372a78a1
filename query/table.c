/* query/table.c — the top table (pprof -top) and the diff of two merges. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query_internal.h"

#define TABLE_DEFAULT_LIMIT 25
#define DIFF_DEFAULT_LIMIT  25

static int cum_cmp(const void *a, const void *b)
{
    const win_top_row *x = a, *y = b;
    if (x->cum != y->cum)
        return x->cum > y->cum ? -1 : 1;
    if (x->flat != y->flat)
        return x->flat > y->flat ? -1 : 1;
    return strcmp(x->function, y->function);
}

static const char *dup_str(base_arena *a, const char *s)
{
    return base_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

void query_table_free(query_table *t)
{
    if (!t)
        return;
    query__priv_free(t->priv);
    free(t);
}

query_table *query_table_compute(const win_merged *m, const query_table_opts *o, char *err,
                                 size_t err_len)
{
    base_set_err(err, err_len, "%s", "");
    if (!m) {
        base_set_err(err, err_len, "query: no merge result");
        return NULL;
    }
    query_table_opts d = {QUERY_SORT_FLAT, 0, NULL};
    if (!o)
        o = &d;
    base_regex *re = NULL;
    base_regex_budget budget; /* the filter's share of one query's regex time */
    base_regex_budget_init(&budget, BASE_REGEX_QUERY_BUDGET_NS);
    if (o->filter && o->filter[0]) {
        /* a search, not anchored: the filter has always matched anywhere in the name */
        char why[BASE_ERR_LEN];
        if (!(re = base_regex_compile(o->filter, 0, why, sizeof why))) {
            base_set_err(err, err_len, "bad filter regex \"%.200s\": %s", o->filter, why);
            return NULL;
        }
        base_regex_set_budget(re, &budget);
    }
    win_top_row *rows = NULL;
    int64_t n = win_top(m, &rows);
    query_table *t = calloc(1, sizeof *t);
    if (n < 0 || !t || !(t->priv = query__priv_new()))
        goto oom;
    t->total = m->total;
    int64_t w = 0;
    for (int64_t i = 0; i < n; i++) {
        const char *f = rows[i].function ? rows[i].function : "";
        int r = re ? base_regex_match(re, f, strlen(f)) : 1;
        if (r < 0) {
            base_set_err(err, err_len, "filter \"%.200s\": %s", o->filter,
                         BASE_REGEX_TOO_EXPENSIVE);
            goto fail;
        }
        if (r)
            rows[w++] = rows[i];
    }
    if (o->sort == QUERY_SORT_CUM)
        qsort(rows, (size_t)w, sizeof *rows, cum_cmp);
    uint32_t limit = o->limit ? o->limit : TABLE_DEFAULT_LIMIT;
    t->n_functions = (uint32_t)w;
    t->n_rows = (uint64_t)w < limit ? (uint32_t)w : limit;
    t->rows = base_arena_calloc(&t->priv->arena, (size_t)t->n_rows + 1, sizeof *t->rows);
    if (!t->rows)
        goto oom;
    for (int64_t i = 0; i < w; i++) {
        if (i < t->n_rows) {
            query_table_row *r = &t->rows[i];
            r->function = dup_str(&t->priv->arena, rows[i].function);
            r->file = dup_str(&t->priv->arena, rows[i].file);
            r->frame_type = dup_str(&t->priv->arena, rows[i].frame_type);
            if (!r->function || !r->file || !r->frame_type)
                goto oom;
            r->flat = rows[i].flat;
            r->cum = rows[i].cum;
            t->shown_flat = base_sat_add(t->shown_flat, rows[i].flat);
        } else {
            t->other_flat = base_sat_add(t->other_flat, rows[i].flat);
        }
    }
    free(rows);
    base_regex_free(re);
    return t;
oom:
    base_set_err(err, err_len, "query: out of memory computing the table");
    base_alloc_failed_note();
fail:
    free(rows);
    base_regex_free(re);
    query_table_free(t);
    return NULL;
}

/* ---- diff ---- */

void query_diff_free(query_diff *d)
{
    if (!d)
        return;
    query__priv_free(d->priv);
    free(d);
}

/* The duration to divide by: the caller's, else the merge's covered range, else 1 s, so
 * a zero or missing duration still yields rates (equal to the raw values). */
static double seconds_of(double given, const win_merged *m)
{
    if (given > 0 && isfinite(given))
        return given;
    if (m->end_ns > m->start_ns)
        return (double)base_sat_sub(m->end_ns, m->start_ns) / 1e9;
    return 1.0;
}

static double share_of(int64_t v, int64_t total)
{
    return total != 0 ? (double)v * 100.0 / (double)total : 0.0;
}

static int diff_share_cmp(const void *a, const void *b)
{
    const query_diff_row *x = a, *y = b;
    double sx = fabs(x->delta_share), sy = fabs(y->delta_share);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->function, y->function);
}

static int diff_cmp(const void *a, const void *b)
{
    const query_diff_row *x = a, *y = b;
    double dx = fabs(x->delta_per_s), dy = fabs(y->delta_per_s);
    if (dx != dy)
        return dx > dy ? -1 : 1;
    double sx = fabs(x->delta_share), sy = fabs(y->delta_share);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->function, y->function);
}

/* Finds or adds the row of `name`; rows are keyed by the function-name hash, probing on a
 * collision. */
static query_diff_row *diff_row(query__map *idx, query_diff_row *rows, uint32_t *n,
                                const char *name)
{
    uint64_t h = query__hash_str(name);
    for (;;) {
        bool ins;
        uint32_t *slot = query__map_get(idx, h, *n, &ins);
        if (!slot)
            return NULL;
        if (ins) {
            query_diff_row *r = &rows[(*n)++];
            memset(r, 0, sizeof *r);
            r->function = name;
            return r;
        }
        if (strcmp(rows[*slot].function, name) == 0)
            return &rows[*slot];
        h = h * 0x9e3779b97f4a7c15ULL + 1;
    }
}

query_diff *query_diff_compute(const win_merged *base, const win_merged *cmp,
                               const query_diff_opts *o, char *err, size_t err_len)
{
    base_set_err(err, err_len, "%s", "");
    if (!base || !cmp) {
        base_set_err(err, err_len, "query: a diff needs two merge results");
        return NULL;
    }
    query_diff_opts dflt = {0, 0, 0, QUERY_SORT_FLAT, false};
    if (!o)
        o = &dflt;
    win_top_row *br = NULL, *cr = NULL;
    query_diff_row *rows = NULL;
    query__map idx = {0};
    int64_t nb = win_top(base, &br), nc = win_top(cmp, &cr);
    query_diff *d = calloc(1, sizeof *d);
    if (nb < 0 || nc < 0 || !d || !(d->priv = query__priv_new()))
        goto oom;
    if (!(rows = malloc(((size_t)nb + (size_t)nc + 1) * sizeof *rows)))
        goto oom;
    uint32_t n = 0;
    for (int64_t i = 0; i < nb; i++) {
        query_diff_row *r = diff_row(&idx, rows, &n, br[i].function);
        if (!r)
            goto oom;
        r->base_flat = br[i].flat;
        r->base_cum = br[i].cum;
    }
    for (int64_t i = 0; i < nc; i++) {
        query_diff_row *r = diff_row(&idx, rows, &n, cr[i].function);
        if (!r)
            goto oom;
        r->cmp_flat = cr[i].flat;
        r->cmp_cum = cr[i].cum;
    }
    double bs = seconds_of(o->base_seconds, base), cs = seconds_of(o->cmp_seconds, cmp);
    d->base_total = base->total;
    d->cmp_total = cmp->total;
    d->base_total_per_s = (double)base->total / bs;
    d->cmp_total_per_s = (double)cmp->total / cs;
    bool by_cum = o->by == QUERY_SORT_CUM;
    for (uint32_t i = 0; i < n; i++) {
        query_diff_row *r = &rows[i];
        int64_t bv = by_cum ? r->base_cum : r->base_flat;
        int64_t cv = by_cum ? r->cmp_cum : r->cmp_flat;
        r->base_per_s = (double)bv / bs;
        r->cmp_per_s = (double)cv / cs;
        r->base_share = share_of(bv, base->total);
        r->cmp_share = share_of(cv, cmp->total);
        r->delta_per_s = r->cmp_per_s - r->base_per_s;
        r->delta_share = r->cmp_share - r->base_share;
    }
    qsort(rows, n, sizeof *rows, o->by_share ? diff_share_cmp : diff_cmp);
    uint32_t limit = o->limit ? o->limit : DIFF_DEFAULT_LIMIT;
    d->n_functions = n;
    d->n_rows = n < limit ? n : limit;
    d->rows = base_arena_calloc(&d->priv->arena, (size_t)d->n_rows + 1, sizeof *d->rows);
    if (!d->rows)
        goto oom;
    for (uint32_t i = 0; i < n; i++) {
        if (i >= d->n_rows) {
            d->other_abs_delta_per_s += fabs(rows[i].delta_per_s);
            d->other_abs_delta_share += fabs(rows[i].delta_share);
            continue;
        }
        d->rows[i] = rows[i];
        d->rows[i].function = dup_str(&d->priv->arena, rows[i].function);
        if (!d->rows[i].function)
            goto oom;
    }
    free(br);
    free(cr);
    free(rows);
    query__map_free(&idx);
    return d;
oom:
    free(br);
    free(cr);
    free(rows);
    query__map_free(&idx);
    query_diff_free(d);
    base_set_err(err, err_len, "query: out of memory computing the diff");
    base_alloc_failed_note();
    return NULL;
}
