/* tools/profile.c — the query_profile_* tools and export_pprof: run window/ + query/ and
 * render compact text (header lines, `[N]{cols}:`, CSV rows) plus structuredContent.
 * Answers over the text budget are recomputed with a smaller row limit, so "(other)" rows
 * keep carrying the value that was cut instead of rows silently disappearing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "tools/tools_internal.h"

static double pct(int64_t v, int64_t total)
{
    return total ? 100.0 * (double)v / (double)total : 0.0;
}

void tools__flame_total(tools__buf *b, const win_merged *m, const query_flame *f,
                        const char *const *path, uint32_t n_focus, const char *unit)
{
    char total[96], root[32];
    tools__human_total(total, sizeof total, m->total, unit);
    tools__human(root, sizeof root, (double)f->root_cum, unit);
    tools__printf(b, "Total %s over %u series", total, m->n_series);
    if (n_focus) {
        tools__printf(b, "; focus ");
        tools__focus_json_list(b, path, n_focus, NULL);
        tools__printf(b, " has cum %s (%.2f%% of total)", root, pct(f->root_cum, m->total));
    }
}

void tools__add_time(cJSON *obj, const char *key, int64_t ns, bool valid)
{
    char t[48];
    if (!valid || ns == INT64_MIN || ns == INT64_MAX) {
        cJSON_AddNullToObject(obj, key);
        return;
    }
    tools__time(t, sizeof t, ns);
    cJSON_AddStringToObject(obj, key, t);
}

/* The structured result every profile tool starts from: what was asked. */
static cJSON *structured_new(const tools__args *a, const char *unit)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "profile_type", a->profile_type);
    cJSON_AddStringToObject(s, "unit", unit);
    cJSON_AddStringToObject(s, "selector", a->selector_text);
    return s;
}

/* The merged total and the time it covers (null ends when nothing was covered). */
static void add_total_and_range(cJSON *s, const win_merged *m)
{
    cJSON_AddNumberToObject(s, "total", (double)m->total);
    tools__add_time(s, "start", m->start_ns, m->start_ns < m->end_ns);
    tools__add_time(s, "end", m->end_ns, m->start_ns < m->end_ns);
}

/* Whether a text answer is over the token budget and may be redone smaller: it can lose
 * rows and the caller did not set the knob (`knob`) that sizes it. */
static bool over_budget(const char *text, bool can_shrink, const cJSON *args, const char *knob)
{
    return text && strlen(text) > TOOLS__TEXT_BUDGET && can_shrink && !tools__given(args, knob);
}

/* A smaller limit that should fit the budget, given what `len` bytes held `rows` rows. */
uint32_t tools__shrink(uint32_t rows, size_t len, uint32_t min)
{
    double f = (double)(TOOLS__TEXT_BUDGET * 9 / 10) / (double)(len ? len : 1);
    double n = floor((double)rows * f);
    if (n >= (double)rows)
        n = (double)rows - 1;
    if (n < (double)min)
        n = (double)min;
    return (uint32_t)n;
}

int tools__sort_arg(const cJSON *args, const char *name, const char *flat_is, const char *cum_is,
                    query_sort *s, mcp_tool_result *out)
{
    const char *v = NULL;
    *s = QUERY_SORT_FLAT;
    if (tools__str_arg(args, name, &v, out) != 0)
        return -1;
    if (!v || strcmp(v, "flat") == 0)
        return 0;
    if (strcmp(v, "cum") == 0) {
        *s = QUERY_SORT_CUM;
        return 0;
    }
    tools__error(out, "%s must be \"flat\" (%s) or \"cum\" (%s), not \"%s\"", name, flat_is, cum_is,
                 v);
    return -1;
}

/* ---- query_profile_table -------------------------------------------------------- */

static char *render_table(const tools__args *a, const win_merged *m, const query_table *tb,
                          query_sort sort, const char *filter, bool cut)
{
    const char *unit = tools__unit_of(a->profile_type);
    tools__buf b = {0};
    tools__header(&b, sort == QUERY_SORT_CUM ? "Top functions by cum" : "Top functions by flat", a,
                  m);
    if (tools__merged_empty(m)) {
        tools__no_samples(&b, a);
        return tools__take(&b);
    }
    char total[96];
    tools__human_total(total, sizeof total, m->total, unit);
    tools__printf(&b,
                  "Total %s over %u series; %u of %u functions%s%s%s shown, covering %.1f%% of "
                  "flat.%s\n",
                  total, m->n_series, tb->n_rows, tb->n_functions, filter ? " matching \"" : "",
                  filter ? filter : "", filter ? "\"" : "", pct(tb->shown_flat, m->total),
                  cut ? " (limit lowered to stay under ~4,000 tokens)" : "");
    bool other = tb->n_functions > tb->n_rows;
    bool kinds = false; /* the kind column only when the sender gave profile.frame.type */
    for (uint32_t i = 0; i < tb->n_rows && !kinds; i++)
        kinds = tb->rows[i].frame_type && tb->rows[i].frame_type[0];
    tools__printf(&b, "[%u]{flat,flat%%,cum,cum%%,function,file%s}:\n",
                  tb->n_rows + (other ? 1u : 0u), kinds ? ",kind" : "");
    for (uint32_t i = 0; i < tb->n_rows; i++) {
        const query_table_row *r = &tb->rows[i];
        char f[32], c[32];
        tools__human(f, sizeof f, (double)r->flat, unit);
        tools__human(c, sizeof c, (double)r->cum, unit);
        tools__printf(&b, "  %s,%.2f,%s,%.2f,", f, pct(r->flat, m->total), c,
                      pct(r->cum, m->total));
        tools__csv(&b, r->function);
        tools__append(&b, ",", 1);
        tools__csv(&b, r->file);
        if (kinds) {
            tools__append(&b, ",", 1);
            tools__csv(&b, r->frame_type ? r->frame_type : "");
        }
        tools__append(&b, "\n", 1);
    }
    if (other) {
        char f[32];
        tools__human(f, sizeof f, (double)tb->other_flat, unit);
        tools__printf(&b, "  %s,%.2f,,,(other),%s\n", f, pct(tb->other_flat, m->total),
                      kinds ? "," : "");
    }
    if (tb->n_rows)
        tools__printf(&b, "Next: query_profile_sandwich function=<name> for callers and callees; "
                          "query_profile_flamegraph for the call tree.\n");
    return tools__take(&b);
}

static cJSON *table_json(const tools__args *a, const win_merged *m, const query_table *tb)
{
    cJSON *s = structured_new(a, tools__unit_of(a->profile_type));
    add_total_and_range(s, m);
    cJSON_AddNumberToObject(s, "series", m->n_series);
    cJSON_AddNumberToObject(s, "functions", tb->n_functions);
    cJSON *rows = cJSON_AddArrayToObject(s, "rows");
    for (uint32_t i = 0; i < tb->n_rows; i++) {
        const query_table_row *r = &tb->rows[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "function", r->function ? r->function : "");
        cJSON_AddStringToObject(o, "file", r->file ? r->file : "");
        if (r->frame_type && r->frame_type[0])
            cJSON_AddStringToObject(o, "frame_type", r->frame_type);
        cJSON_AddNumberToObject(o, "flat", (double)r->flat);
        cJSON_AddNumberToObject(o, "cum", (double)r->cum);
        cJSON_AddNumberToObject(o, "flat_percent", pct(r->flat, m->total));
        cJSON_AddNumberToObject(o, "cum_percent", pct(r->cum, m->total));
        mcp_json_push(rows, o);
    }
    cJSON_AddNumberToObject(s, "other_flat", (double)tb->other_flat);
    return s;
}

int tools__table(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    query_table_opts o = {0};
    uint32_t limit;
    if (tools__sort_arg(args, "sort", TOOLS__FLAT_IS, TOOLS__CUM_IS, &o.sort, out) != 0 ||
        tools__uint_arg(args, "limit", 25, 1, 10000, &limit, out) != 0 ||
        tools__str_arg(args, "filter", &o.filter, out) != 0)
        return 0;
    if (o.filter && !*o.filter)
        o.filter = NULL;
    tools__args a;
    win_merged *m = tools__parse_and_merge_frames(t, args, false, &a, out);
    if (!m)
        return 0;
    bool cut = false;
    for (;;) {
        o.limit = limit;
        char err[BASE_ERR_LEN] = "";
        query_table *tb = query_table_compute(m, &o, err, sizeof err);
        if (!tb) {
            tools__error(out,
                         "filter: %s. Use an RE2/Go regex, searched for anywhere in the "
                         "function name, e.g. \"^runtime\\\\.\" or \"(?i)json|flate\" "
                         "(no back-references).",
                         err[0] ? err : "cannot compute the table");
            break;
        }
        char *text = render_table(&a, m, tb, o.sort, o.filter, cut);
        if (over_budget(text, tb->n_rows > 1, args, "limit")) {
            limit = tools__shrink(tb->n_rows, strlen(text), 1);
            cut = true;
            free(text);
            query_table_free(tb);
            continue;
        }
        out->text = text;
        out->structured = table_json(&a, m, tb);
        query_table_free(tb);
        break;
    }
    win_merged_free(m);
    tools__args_free(&a);
    return 0;
}

/* ---- flame graph rows (shared with the sandwich) -------------------------------------- */

static void render_flame_rows(tools__buf *b, const query_flame *f, int64_t total, const char *unit)
{
    /* the frame kind column only when the sender gave kinds (profile.frame.type) */
    bool kinds = false;
    for (uint32_t i = 0; i < f->n_rows && !kinds; i++)
        kinds = f->rows[i].frame_type && f->rows[i].frame_type[0];
    tools__printf(b, "[%u]{id,parent,depth,cum,cum%%,flat,name%s}:\n", f->n_rows,
                  kinds ? ",kind" : "");
    for (uint32_t i = 0; i < f->n_rows; i++) {
        const query_flame_row *r = &f->rows[i];
        char c[32], fl[32];
        tools__human(c, sizeof c, (double)r->cum, unit);
        tools__human(fl, sizeof fl, (double)r->flat, unit);
        tools__printf(b, "  %d,%d,%u,%s,%.2f,%s,", r->id, r->parent, r->depth, c,
                      pct(r->cum, total), fl);
        tools__csv(b, r->name);
        if (kinds) {
            tools__append(b, ",", 1);
            tools__csv(b, r->frame_type ? r->frame_type : "");
        }
        tools__append(b, "\n", 1);
    }
}

cJSON *tools__flame_rows_json(const query_flame *f)
{
    cJSON *rows = cJSON_CreateArray();
    for (uint32_t i = 0; i < f->n_rows; i++) {
        const query_flame_row *r = &f->rows[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", r->id);
        cJSON_AddNumberToObject(o, "parent", r->parent);
        cJSON_AddNumberToObject(o, "depth", r->depth);
        cJSON_AddNumberToObject(o, "cum", (double)r->cum);
        cJSON_AddNumberToObject(o, "flat", (double)r->flat);
        cJSON_AddStringToObject(o, "name", r->name ? r->name : "");
        if (r->frame_type && r->frame_type[0])
            cJSON_AddStringToObject(o, "frame_type", r->frame_type);
        if (r->is_other)
            cJSON_AddTrueToObject(o, "other");
        if (r->truncated)
            cJSON_AddTrueToObject(o, "truncated");
        mcp_json_push(rows, o);
    }
    return rows;
}

static uint32_t count_truncated(const query_flame *f)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->n_rows; i++)
        n += f->rows[i].truncated ? 1u : 0u;
    return n;
}

/* A child of row 0 that is not "(other)", for the zoom hint; NULL when none. */
static const char *first_child(const query_flame *f)
{
    for (uint32_t i = 1; i < f->n_rows; i++)
        if (f->rows[i].parent == 0 && !f->rows[i].is_other)
            return f->rows[i].name;
    return NULL;
}

/* ---- query_profile_flamegraph ------------------------------------------------------ */

void tools__focus_json_list(tools__buf *b, const char *const *path, uint32_t n, const char *more)
{
    tools__append(b, "[", 1);
    for (uint32_t i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateString(path[i]);
        char *j = s ? cJSON_PrintUnformatted(s) : NULL;
        tools__printf(b, "%s%s", i ? "," : "", j ? j : "\"\"");
        free(j);
        cJSON_Delete(s);
    }
    if (more) {
        cJSON *s = cJSON_CreateString(more);
        char *j = s ? cJSON_PrintUnformatted(s) : NULL;
        tools__printf(b, "%s%s", n ? "," : "", j ? j : "\"\"");
        free(j);
        cJSON_Delete(s);
    }
    tools__append(b, "]", 1);
}

/* focus_path matched nothing: find its longest prefix that matches, and name the frames
 * that may follow it, so the model can correct the path. */
void tools__focus_not_found(const win_merged *m, const char *const *path, uint32_t n,
                            mcp_tool_result *out)
{
    tools__buf b = {0};
    uint32_t k = n;
    query_flame *f = NULL;
    while (k-- > 0) {
        query_flame_opts o = {
            .focus_path = path, .n_focus = k, .max_depth = 1, .min_percent = 0, .max_nodes = 12};
        char err[BASE_ERR_LEN];
        f = query_flame_compute(m, &o, err, sizeof err);
        if (f && f->focus_found)
            break;
        query_flame_free(f);
        f = NULL;
    }
    tools__printf(&b, "focus_path matches no stack: ");
    tools__focus_json_list(&b, path, n, NULL);
    if (f) {
        tools__printf(&b,
                      " stops matching at element %u (\"%s\"). focus_path lists frames "
                      "from the root (outermost caller first, as in the rows of an "
                      "unfocused query_profile_flamegraph). Frames that follow ",
                      k, path[k]);
        tools__focus_json_list(&b, path, k, NULL);
        tools__printf(&b, " are: ");
        bool any = false;
        for (uint32_t i = 1; i < f->n_rows; i++) {
            if (f->rows[i].parent != 0 || f->rows[i].is_other)
                continue;
            tools__printf(&b, "%s\"%s\"", any ? ", " : "", f->rows[i].name);
            any = true;
        }
        if (!any)
            tools__printf(&b, "none (the path ends at a leaf)");
        tools__printf(&b, ".");
        query_flame_free(f);
    }
    tools__error(out, "%s", b.p && b.err == BASE_OK ? b.p : "focus_path matches no stack");
    tools__buf_free(&b);
}

int tools__focus_arg(const cJSON *args, const char **path, uint32_t *n, mcp_tool_result *out)
{
    *n = 0;
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(args, "focus_path");
    if (!fp || cJSON_IsNull(fp))
        return 0;
    if (cJSON_IsString(fp) && fp->valuestring) {
        if (*fp->valuestring)
            path[(*n)++] = fp->valuestring;
        return 0;
    }
    if (!cJSON_IsArray(fp) || cJSON_GetArraySize(fp) > TOOLS__MAX_FOCUS) {
        tools__error(out,
                     "focus_path must be an array of at most %d function names (or 0x "
                     "addresses) from the root, e.g. [\"main\", \"handleRequest\"]",
                     TOOLS__MAX_FOCUS);
        return -1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, fp)
    {
        if (!cJSON_IsString(it) || !it->valuestring || !*it->valuestring) {
            tools__error(out, "focus_path elements must be non-empty strings (function names "
                              "or 0x addresses as shown in the rows)");
            return -1;
        }
        path[(*n)++] = it->valuestring;
    }
    return 0;
}

int tools__flamegraph(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    const char *path[TOOLS__MAX_FOCUS];
    query_flame_opts o = {0};
    double min_pct;
    uint32_t max_nodes;
    if (tools__flame_format_is_image(args))
        return tools__flamegraph_image(t, args, out);
    if (tools__focus_arg(args, path, &o.n_focus, out) != 0 ||
        tools__uint_arg(args, "max_depth", 16, 1, 256, &o.max_depth, out) != 0 ||
        tools__double_arg(args, "min_percent", 0.5, 0, 100, &min_pct, out) != 0 ||
        tools__uint_arg(args, "max_nodes", 120, 2, 2000, &max_nodes, out) != 0)
        return 0;
    o.focus_path = path;
    o.min_percent = min_pct;
    tools__args a;
    win_merged *m = tools__parse_and_merge_frames(t, args, false, &a, out);
    if (!m)
        return 0;
    const char *unit = tools__unit_of(a.profile_type);
    bool cut = false;
    for (;;) {
        o.max_nodes = max_nodes;
        char err[BASE_ERR_LEN] = "";
        query_flame *f = query_flame_compute(m, &o, err, sizeof err);
        if (!f) {
            tools__error(out, "cannot build the call tree: %s", err[0] ? err : "out of memory");
            break;
        }
        if (tools__merged_empty(m)) {
            tools__buf b = {0};
            tools__header(&b, "Call tree", &a, m);
            tools__no_samples(&b, &a);
            out->text = tools__take(&b);
            out->structured = cJSON_CreateObject();
            cJSON_AddStringToObject(out->structured, "profile_type", a.profile_type);
            cJSON_AddStringToObject(out->structured, "unit", unit);
            cJSON_AddStringToObject(out->structured, "selector", a.selector_text);
            cJSON_AddNumberToObject(out->structured, "total", 0);
            cJSON_AddNumberToObject(out->structured, "root_cum", 0);
            mcp_json_add(out->structured, "rows", cJSON_CreateArray());
            query_flame_free(f);
            break;
        }
        if (!f->focus_found) {
            query_flame_free(f);
            tools__focus_not_found(m, path, o.n_focus, out);
            break;
        }
        tools__buf b = {0};
        tools__header(&b, "Call tree", &a, m);
        tools__flame_total(&b, m, f, path, o.n_focus, unit);
        uint32_t trunc = count_truncated(f);
        tools__printf(&b,
                      ".\n%u rows, breadth-first, children by cum; %u nodes pruned (children "
                      "under %g%% of the root folded into \"(other)\" rows, max_nodes %u%s, "
                      "max_depth %u: %u rows have deeper children not shown).\n",
                      f->n_rows, f->n_pruned, o.min_percent, o.max_nodes,
                      cut ? " lowered to stay under ~4,000 tokens" : "", o.max_depth, trunc);
        const char *child = first_child(f);
        if (child) {
            tools__printf(&b, "To zoom into a subtree call again with focus_path = the names "
                              "from the root down to it, e.g. ");
            tools__focus_json_list(&b, path, o.n_focus, child);
            tools__printf(&b, ".\n");
        }
        render_flame_rows(&b, f, m->total, unit);
        char *text = tools__take(&b);
        if (over_budget(text, o.max_nodes > 2, args, "max_nodes")) {
            max_nodes = tools__shrink(f->n_rows, strlen(text), 2);
            cut = true;
            free(text);
            query_flame_free(f);
            continue;
        }
        cJSON *s = structured_new(&a, unit);
        add_total_and_range(s, m);
        cJSON_AddNumberToObject(s, "series", m->n_series);
        cJSON_AddNumberToObject(s, "root_cum", (double)f->root_cum);
        cJSON_AddNumberToObject(s, "pruned", f->n_pruned);
        mcp_json_add(s, "rows", tools__flame_rows_json(f));
        out->text = text;
        out->structured = s;
        query_flame_free(f);
        break;
    }
    win_merged_free(m);
    tools__args_free(&a);
    return 0;
}

/* ---- query_profile_sandwich ------------------------------------------------------- */

void tools__function_not_found(const win_merged *m, const char *fn, const char *regex,
                               bool regex_ok, mcp_tool_result *out)
{
    win_top_row *rows = NULL;
    int64_t n = win_top(m, &rows);
    tools__buf b = {0};
    if (regex)
        tools__printf(&b, "function_regex \"%s\" matches no function in this profile. ", regex);
    else
        tools__printf(&b, "function \"%s\" is not in this profile. ", fn);
    unsigned shown = 0;
    for (int64_t i = 0; fn && i < n && shown < 10; i++) {
        if (!rows[i].function || !strcasestr(rows[i].function, fn))
            continue;
        tools__printf(&b, "%s\"%s\"", shown ? ", " : "Similar names: ", rows[i].function);
        shown++;
    }
    if (shown) {
        tools__printf(&b, ". Give the exact name as shown by query_profile_table%s.",
                      regex_ok ? ", or use function_regex" : "");
    } else {
        for (int64_t i = 0; i < n && shown < 5; i++, shown++)
            tools__printf(&b, "%s\"%s\"", shown ? ", " : "No name contains it; the hottest are ",
                          rows[i].function ? rows[i].function : "");
        tools__printf(&b,
                      "%sUse query_profile_table (with filter=\"regex\") to find the exact "
                      "name.",
                      shown ? ". " : "");
    }
    free(rows);
    tools__error(out, "%s", b.p && b.err == BASE_OK ? b.p : "function not found");
    tools__buf_free(&b);
}

int tools__sandwich(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    query_sandwich_opts o = {0};
    uint32_t max_nodes;
    double min_pct;
    if (tools__str_arg(args, "function", &o.function, out) != 0 ||
        tools__uint_arg(args, "max_depth", 8, 1, 64, &o.max_depth, out) != 0 ||
        tools__uint_arg(args, "max_nodes", 60, 2, 1000, &max_nodes, out) != 0 ||
        tools__double_arg(args, "min_percent", 0.5, 0, 100, &min_pct, out) != 0)
        return 0;
    o.min_percent = min_pct;
    if (!o.function || !*o.function) {
        tools__error(out, "function is required: a function name as shown by "
                          "query_profile_table (or a 0x address of an unsymbolized frame)");
        return 0;
    }
    tools__args a;
    win_merged *m = tools__parse_and_merge_frames(t, args, false, &a, out);
    if (!m)
        return 0;
    const char *unit = tools__unit_of(a.profile_type);
    char what[160];
    snprintf(what, sizeof what, "Callers and callees of %.120s", o.function);
    if (tools__merged_empty(m)) {
        /* nothing to look the function up in: an empty answer, not "function not found" */
        tools__buf b = {0};
        tools__header(&b, what, &a, m);
        tools__no_samples(&b, &a);
        cJSON *s = structured_new(&a, unit);
        cJSON_AddStringToObject(s, "function", o.function);
        cJSON_AddNumberToObject(s, "total", 0);
        cJSON_AddNumberToObject(s, "flat", 0);
        cJSON_AddNumberToObject(s, "cum", 0);
        mcp_json_add(s, "callers", cJSON_CreateArray());
        mcp_json_add(s, "callees", cJSON_CreateArray());
        tools__answer(out, &b, s);
        win_merged_free(m);
        tools__args_free(&a);
        return 0;
    }
    bool cut = false;
    for (;;) {
        o.max_nodes = max_nodes;
        char err[BASE_ERR_LEN] = "";
        query_sandwich *sw = query_sandwich_compute(m, &o, err, sizeof err);
        if (!sw) {
            tools__error(out, "cannot compute the sandwich: %s", err[0] ? err : "out of memory");
            break;
        }
        if (!sw->found) {
            query_sandwich_free(sw);
            tools__function_not_found(m, o.function, NULL, false, out);
            break;
        }
        tools__buf b = {0};
        tools__header(&b, what, &a, m);
        char total[96], fl[32], cu[32];
        tools__human_total(total, sizeof total, m->total, unit);
        tools__human(fl, sizeof fl, (double)sw->flat, unit);
        tools__human(cu, sizeof cu, (double)sw->cum, unit);
        tools__printf(&b,
                      "%s: flat %s (%.2f%%), cum %s (%.2f%%) of total %s. Trees keep at most %u "
                      "rows each%s and %u levels; \"(other)\" rows carry what was folded.\n",
                      o.function, fl, pct(sw->flat, m->total), cu, pct(sw->cum, m->total), total,
                      o.max_nodes, cut ? " (lowered to stay under ~4,000 tokens)" : "",
                      o.max_depth);
        if (sw->recursion)
            tools__printf(&b,
                          "A \"(recursion)\" row: that path reaches %s again and stops; what "
                          "lies beyond is %s's own callers/callees (row 0's children).\n",
                          o.function, o.function);
        if (sw->cut)
            tools__printf(&b,
                          "Cut: a tree reached its budget of %u nodes; \"(cut)\" rows carry the "
                          "value of the paths not expanded (narrow the selector or the range, or "
                          "lower max_depth).\n",
                          QUERY_SANDWICH_TREE_NODES);
        tools__printf(&b, "Callers (row 0 is the function; children are who calls it, up to "
                          "the roots):\n");
        render_flame_rows(&b, &sw->callers, m->total, unit);
        tools__printf(&b, "Callees (row 0 is the function; children are what it calls, down "
                          "to the leaves):\n");
        render_flame_rows(&b, &sw->callees, m->total, unit);
        tools__printf(&b, "Next: query_profile_flamegraph with focus_path ending in this "
                          "function, or query_profile_timeseries function=<name>.\n");
        char *text = tools__take(&b);
        uint32_t rows =
            sw->callers.n_rows > sw->callees.n_rows ? sw->callers.n_rows : sw->callees.n_rows;
        if (over_budget(text, o.max_nodes > 2, args, "max_nodes")) {
            max_nodes = tools__shrink(rows, strlen(text), 2);
            cut = true;
            free(text);
            query_sandwich_free(sw);
            continue;
        }
        cJSON *s = structured_new(&a, unit);
        cJSON_AddStringToObject(s, "function", o.function);
        cJSON_AddNumberToObject(s, "total", (double)m->total);
        cJSON_AddNumberToObject(s, "flat", (double)sw->flat);
        cJSON_AddNumberToObject(s, "cum", (double)sw->cum);
        cJSON_AddBoolToObject(s, "cut", sw->cut);
        mcp_json_add(s, "callers", tools__flame_rows_json(&sw->callers));
        mcp_json_add(s, "callees", tools__flame_rows_json(&sw->callees));
        out->text = text;
        out->structured = s;
        query_sandwich_free(sw);
        break;
    }
    win_merged_free(m);
    tools__args_free(&a);
    return 0;
}

/* ---- query_profile_diff ----------------------------------------------------------- */

static double covered_seconds(const win_merged *m, const tools__args *a, int64_t resolution)
{
    if (m->end_ns > m->start_ns)
        return (double)base_sat_sub(m->end_ns, m->start_ns) / 1e9;
    if (a->has_start && a->has_end)
        return (double)base_sat_sub(a->end_ns, a->start_ns) / 1e9;
    return (double)resolution / 1e9;
}

static void signed_human(char *out, size_t len, double v, const char *unit)
{
    char h[32];
    tools__human(h, sizeof h, v, unit);
    snprintf(out, len, "%s%s", v > 0 && strcmp(h, "0") != 0 ? "+" : "", h);
}

static void side_json(cJSON *s, const char *key, const tools__args *a, const win_merged *m,
                      double seconds)
{
    cJSON *o = cJSON_AddObjectToObject(s, key);
    cJSON_AddStringToObject(o, "profile_type", a->profile_type);
    cJSON_AddStringToObject(o, "unit", tools__unit_of(a->profile_type));
    cJSON_AddStringToObject(o, "selector", a->selector_text);
    tools__add_time(o, "start", m->start_ns, m->start_ns < m->end_ns);
    tools__add_time(o, "end", m->end_ns, m->start_ns < m->end_ns);
    cJSON_AddNumberToObject(o, "total", (double)m->total);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddNumberToObject(o, "per_second", seconds > 0 ? (double)m->total / seconds : 0);
}

int tools__diff(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    query_diff_opts o = {0};
    uint32_t limit;
    if (tools__sort_arg(args, "by", TOOLS__FLAT_IS, TOOLS__CUM_IS, &o.by, out) != 0 ||
        tools__uint_arg(args, "limit", 25, 1, 200, &limit, out) != 0)
        return 0;
    const cJSON *bo = args ? cJSON_GetObjectItemCaseSensitive(args, "baseline") : NULL;
    const cJSON *co = args ? cJSON_GetObjectItemCaseSensitive(args, "comparison") : NULL;
    const char *svc = NULL;
    if (tools__str_arg(args, "service_name", &svc, out) != 0)
        return 0;
    tools__args a, ba, ca;
    if (tools__parse_common(t, args, TOOLS__PTYPE_REQUIRED, &a, out) != 0)
        return 0;
    if (tools__parse_range_sel(t, bo, &a, svc, "baseline", &ba, out) != 0) {
        tools__args_free(&a);
        return 0;
    }
    if (tools__parse_range_sel(t, co, &a, svc, "comparison", &ca, out) != 0) {
        tools__args_free(&ba);
        tools__args_free(&a);
        return 0;
    }
    if (ba.start_ns == ca.start_ns && ba.end_ns == ca.end_ns &&
        strcmp(ba.selector_text, ca.selector_text) == 0 &&
        strcmp(ba.profile_type, ca.profile_type) == 0) {
        tools__error(out,
                     "baseline and comparison select the same data: give them different "
                     "ranges and/or selectors, e.g. baseline {\"start\":\"now-2h\",\"end\":"
                     "\"now-1h\"}, comparison {\"start\":\"now-1h\"}, or baseline {\"selector\":"
                     "\"{service.version=\\\"1.2\\\"}\"}, comparison {\"selector\":"
                     "\"{service.version=\\\"1.3\\\"}\"}, or two profile types, baseline "
                     "{\"profile_type\":\"cpu:nanoseconds\"}, comparison {\"profile_type\":"
                     "\"off_cpu:nanoseconds\"}");
        goto done;
    }
    win_merged *bm = tools__merge(t, &ba, false, out);
    win_merged *cm = bm ? tools__merge(t, &ca, false, out) : NULL;
    if (!bm || !cm) {
        win_merged_free(bm);
        goto done;
    }
    /* sides of two profile types (cpu vs off-cpu): values stay in each side's unit, and
     * the ranking is by change of share, since per-second changes do not compare */
    const char *unit = tools__unit_of(ba.profile_type), *cunit = tools__unit_of(ca.profile_type);
    bool two_types = strcmp(ba.profile_type, ca.profile_type) != 0;
    bool same_unit = strcmp(unit, cunit) == 0;
    o.by_share = two_types;
    int64_t res = win_store_resolution(t->store);
    o.base_seconds = covered_seconds(bm, &ba, res);
    o.cmp_seconds = covered_seconds(cm, &ca, res);
    bool cut = false;
    for (;;) {
        o.limit = limit;
        char err[BASE_ERR_LEN] = "";
        query_diff *d = query_diff_compute(bm, cm, &o, err, sizeof err);
        if (!d) {
            tools__error(out, "cannot compute the diff: %s", err[0] ? err : "out of memory");
            break;
        }
        tools__buf b = {0};
        char bt[96], bps[32], ct[96], cps[32], brange[160], crange[160];
        tools__human_total(bt, sizeof bt, d->base_total, unit);
        tools__human(bps, sizeof bps, d->base_total_per_s, unit);
        tools__human_total(ct, sizeof ct, d->cmp_total, cunit);
        tools__human(cps, sizeof cps, d->cmp_total_per_s, cunit);
        tools__range_of(brange, sizeof brange, &ba, bm);
        tools__range_of(crange, sizeof crange, &ca, cm);
        if (two_types)
            tools__printf(&b, "Diff by %s, baseline %s vs comparison %s\n",
                          o.by == QUERY_SORT_CUM ? "cum" : "flat", ba.profile_type,
                          ca.profile_type);
        else
            tools__printf(&b, "Diff by %s, %s\n", o.by == QUERY_SORT_CUM ? "cum" : "flat",
                          a.profile_type);
        tools__printf(&b, "Baseline %s%s%s, %s: total %s = %s/s over %.0fs\n",
                      two_types ? ba.profile_type : "", two_types ? " " : "", ba.selector_text,
                      brange, bt, bps, o.base_seconds);
        double change =
            d->base_total_per_s > 0
                ? 100.0 * (d->cmp_total_per_s - d->base_total_per_s) / d->base_total_per_s
                : 0;
        if (same_unit)
            tools__printf(&b, "Comparison %s%s%s, %s: total %s = %s/s over %.0fs (%+.1f%%/s)\n",
                          two_types ? ca.profile_type : "", two_types ? " " : "", ca.selector_text,
                          crange, ct, cps, o.cmp_seconds, change);
        else
            tools__printf(&b, "Comparison %s %s, %s: total %s = %s/s over %.0fs\n", ca.profile_type,
                          ca.selector_text, crange, ct, cps, o.cmp_seconds);
        bool b_empty = tools__merged_empty(bm), c_empty = tools__merged_empty(cm);
        if (b_empty && c_empty)
            tools__printf(&b,
                          "No samples in range: neither side has a sample of %s. Widen start/end "
                          "or loosen the selectors: list_profile_types shows each type's "
                          "coverage, list_label_values the values present.\n",
                          a.profile_type);
        else if (b_empty || c_empty)
            tools__printf(&b,
                          "Note: no samples in range for the %s, so every function there counts "
                          "as 0; check its range and selector with list_profile_types.\n",
                          b_empty ? "baseline" : "comparison");
        char other[32];
        tools__human(other, sizeof other, d->other_abs_delta_per_s, unit);
        if (two_types)
            tools__printf(&b,
                          "%u of %u functions shown, ranked by |delta_pp| (change of share of "
                          "each side's total) of %s: the sides are different profile types%s; "
                          "the rest change by %.2f pp in absolute total. base/s is in %s, cmp/s "
                          "in %s%s.\n",
                          d->n_rows, d->n_functions, o.by == QUERY_SORT_CUM ? "cum" : "flat",
                          cut ? " (limit lowered to stay under ~4,000 tokens)" : "",
                          d->other_abs_delta_share, unit, cunit,
                          same_unit ? "" : " (delta/s left empty: the units differ)");
        else
            tools__printf(&b,
                          "%u of %u functions shown, ranked by |delta/s| of %s%s; the rest "
                          "change by %s/s in absolute total. base%%/cmp%% are shares of each "
                          "total.\n",
                          d->n_rows, d->n_functions, o.by == QUERY_SORT_CUM ? "cum" : "flat",
                          cut ? " (limit lowered to stay under ~4,000 tokens)" : "", other);
        tools__printf(&b, "[%u]{function,base/s,cmp/s,delta/s,base%%,cmp%%,delta_pp}:\n",
                      d->n_rows);
        for (uint32_t i = 0; i < d->n_rows; i++) {
            const query_diff_row *r = &d->rows[i];
            char b1[32], c1[32], d1[40];
            tools__human(b1, sizeof b1, r->base_per_s, unit);
            tools__human(c1, sizeof c1, r->cmp_per_s, cunit);
            if (same_unit)
                signed_human(d1, sizeof d1, r->delta_per_s, unit);
            else
                d1[0] = '\0';
            tools__printf(&b, "  ");
            tools__csv(&b, r->function);
            tools__printf(&b, ",%s,%s,%s,%.2f,%.2f,%+.2f\n", b1, c1, d1, r->base_share,
                          r->cmp_share, r->delta_share);
        }
        if (d->n_rows)
            tools__printf(&b, "Next: query_profile_sandwich on a function that grew, within "
                              "the comparison range.\n");
        char *text = tools__take(&b);
        if (over_budget(text, d->n_rows > 1, args, "limit")) {
            limit = tools__shrink(d->n_rows, strlen(text), 1);
            cut = true;
            free(text);
            query_diff_free(d);
            continue;
        }
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "profile_type", a.profile_type);
        cJSON_AddStringToObject(s, "unit", unit);
        cJSON_AddStringToObject(s, "by", o.by == QUERY_SORT_CUM ? "cum" : "flat");
        side_json(s, "baseline", &ba, bm, o.base_seconds);
        side_json(s, "comparison", &ca, cm, o.cmp_seconds);
        cJSON_AddNumberToObject(s, "functions", d->n_functions);
        cJSON *rows = cJSON_AddArrayToObject(s, "rows");
        for (uint32_t i = 0; i < d->n_rows; i++) {
            const query_diff_row *r = &d->rows[i];
            cJSON *ro = cJSON_CreateObject();
            cJSON_AddStringToObject(ro, "function", r->function ? r->function : "");
            cJSON_AddNumberToObject(ro, "base_flat", (double)r->base_flat);
            cJSON_AddNumberToObject(ro, "base_cum", (double)r->base_cum);
            cJSON_AddNumberToObject(ro, "cmp_flat", (double)r->cmp_flat);
            cJSON_AddNumberToObject(ro, "cmp_cum", (double)r->cmp_cum);
            cJSON_AddNumberToObject(ro, "base_per_s", r->base_per_s);
            cJSON_AddNumberToObject(ro, "cmp_per_s", r->cmp_per_s);
            cJSON_AddNumberToObject(ro, "delta_per_s", r->delta_per_s);
            cJSON_AddNumberToObject(ro, "base_percent", r->base_share);
            cJSON_AddNumberToObject(ro, "cmp_percent", r->cmp_share);
            cJSON_AddNumberToObject(ro, "delta_pp", r->delta_share);
            mcp_json_push(rows, ro);
        }
        cJSON_AddNumberToObject(s, "other_abs_delta_per_s", d->other_abs_delta_per_s);
        cJSON_AddNumberToObject(s, "other_abs_delta_pp", d->other_abs_delta_share);
        out->text = text;
        out->structured = s;
        query_diff_free(d);
        break;
    }
    win_merged_free(bm);
    win_merged_free(cm);
done:
    tools__args_free(&ca);
    tools__args_free(&ba);
    tools__args_free(&a);
    return 0;
}

/* ---- query_profile_timeseries ----------------------------------------------------- */

#define MAX_STEPS 2000u

/* `x` rounded up to a multiple of `res` (> 0), at least `res`, saturating. */
static int64_t round_up_to(int64_t x, int64_t res)
{
    if (x <= res)
        return res;
    int64_t q = x / res + (x % res != 0);
    return q > INT64_MAX / res ? INT64_MAX / res * res : q * res;
}

/* The start of step `i` (saturating: i * step may pass INT64_MAX on the last step). */
static int64_t step_time(const win_timeseries *ts, uint32_t i)
{
    int64_t off;
    if (__builtin_mul_overflow((int64_t)i, ts->step_ns, &off))
        return INT64_MAX;
    return base_sat_add(ts->start_ns, off);
}

/* |v| without overflow at INT64_MIN. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

int tools__timeseries(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    const char *function = NULL, *group_by = NULL;
    uint32_t limit;
    if (tools__str_arg(args, "function", &function, out) != 0 ||
        tools__str_arg(args, "group_by", &group_by, out) != 0 ||
        tools__uint_arg(args, "limit", 10, 1, 50, &limit, out) != 0)
        return 0;
    if (function && !*function)
        function = NULL;
    if (group_by && !*group_by)
        group_by = NULL;
    if (group_by && strcmp(group_by, "service_name") == 0)
        group_by = "service.name";
    int64_t res = win_store_resolution(t->store);
    int64_t step = 0;
    const cJSON *st = args ? cJSON_GetObjectItemCaseSensitive(args, "step") : NULL;
    if (st && !cJSON_IsNull(st)) {
        char err[BASE_ERR_LEN] = "";
        if (cJSON_IsNumber(st) && st->valuedouble > 0 && st->valuedouble < 1e9) {
            step = (int64_t)(st->valuedouble * 1e9);
        } else if (!cJSON_IsString(st) || !st->valuestring ||
                   query_parse_step(st->valuestring, &step, err, sizeof err) != 0 || step <= 0) {
            tools__error(out,
                         "step: %s. Use a duration such as \"10s\", \"1m\", \"1h\" (or "
                         "seconds as a number); omit it for about 60 steps.",
                         err[0] ? err : "not a duration");
            return 0;
        }
    }
    tools__args a;
    if (tools__parse_common(t, args, TOOLS__PTYPE_REQUIRED, &a, out) != 0)
        return 0;
    const char *unit = tools__unit_of(a.profile_type);
    win_stats ws;
    memset(&ws, 0, sizeof ws);
    win_store_stats(t->store, &ws);
    int64_t from = a.has_start ? a.start_ns : ws.oldest_ns;
    int64_t to = a.has_end ? a.end_ns : ws.newest_ns;
    if (a.has_end && !a.has_start && ws.oldest_ns < to)
        from = ws.oldest_ns;
    if (to <= from)
        to = base_sat_add(from, res);
    int64_t span = base_sat_sub(to, from);
    /* a multiple of the resolution, never 0: a range shorter than 60 ns (start/end given
     * to the nanosecond) rounded the default step down to 0, and span / step divided by it */
    step = round_up_to(step ? step : span / 60, res);
    if (span / step > (int64_t)MAX_STEPS) {
        char need[48];
        tools__duration(need, sizeof need, round_up_to(span / MAX_STEPS, res));
        tools__error(out,
                     "step too small: the range needs more than %u steps. Use step >= %s "
                     "or a narrower start/end.",
                     MAX_STEPS, need);
        tools__args_free(&a);
        return 0;
    }
    win_query q = tools__query_of(&a, false);
    base_errbuf eb = {0};
    win_timeseries *ts = win_query_timeseries(t->store, &q, step, function, group_by, limit, &eb);
    if (!ts) {
        tools__error(out, "cannot compute the time series: %s",
                     eb.text[0] ? eb.text : "out of memory");
        tools__args_free(&a);
        return 0;
    }
    /* The peak is the step whose total (all groups together) is largest in magnitude: the
     * largest step for the usual non-negative profiles, the most negative one for a
     * profile of negative values (a diff). Steps without samples hold 0 and so never win
     * against one with data; when every step sums to 0 there is no peak. Sums saturate as
     * window/'s do. */
    int64_t peak = 0, total = 0;
    uint32_t peak_i = 0;
    bool has_peak = false, any_value = false;
    for (uint32_t g = 0; g < ts->n_groups; g++)
        total = base_sat_add(total, ts->totals[g]);
    for (uint32_t i = 0; i < ts->n_steps; i++) {
        int64_t v = 0;
        for (uint32_t g = 0; g < ts->n_groups; g++) {
            int64_t x = ts->values[(size_t)g * ts->n_steps + i];
            any_value |= x != 0;
            v = base_sat_add(v, x);
        }
        if (v != 0 && (!has_peak || magnitude(v) > magnitude(peak))) {
            peak = v;
            peak_i = i;
            has_peak = true;
        }
    }
    tools__buf b = {0};
    char stepn[48], th[96];
    tools__duration(stepn, sizeof stepn, ts->step_ns);
    tools__human_total(th, sizeof th, total, unit);
    char range[160];
    if (ts->n_steps)
        tools__range(range, sizeof range, ts->start_ns, step_time(ts, ts->n_steps));
    else
        tools__range_of(range, sizeof range, &a, NULL);
    tools__printf(&b, "Time series, %s, %s, %s; step %s", a.profile_type, a.selector_text, range,
                  stepn);
    if (function)
        tools__printf(&b, "; samples containing %s (cum)", function);
    if (group_by)
        tools__printf(&b, "; grouped by %s (top %u by total, rest in \"(other)\")", group_by,
                      limit);
    tools__printf(&b, "\n");
    if (!any_value) {
        if (function)
            tools__printf(&b,
                          "No samples in range contain %s (is the function name exact? see "
                          "query_profile_table).\n",
                          function);
        else
            tools__no_samples(&b, &a);
    } else {
        if (has_peak) {
            char pt[48], ph[32];
            tools__time(pt, sizeof pt, step_time(ts, peak_i));
            tools__human(ph, sizeof ph, (double)peak, unit);
            tools__printf(&b, "Total %s; peak step %s with %s (%.1f%% of the total).\n", th, pt, ph,
                          pct(peak, total));
        } else {
            tools__printf(&b, "Total %s; every step sums to 0 (the groups cancel out).\n", th);
        }
        tools__buf rows = {0};
        uint32_t shown = 0;
        for (uint32_t i = 0; i < ts->n_steps; i++) {
            if (rows.len > TOOLS__TEXT_BUDGET - 2000)
                break;
            char tm[48];
            tools__time(tm, sizeof tm, step_time(ts, i));
            tools__printf(&rows, "  %s", tm);
            for (uint32_t g = 0; g < ts->n_groups; g++) {
                char v[32];
                tools__human(v, sizeof v, (double)ts->values[(size_t)g * ts->n_steps + i], unit);
                tools__printf(&rows, ",%s", v);
            }
            tools__append(&rows, "\n", 1);
            shown++;
        }
        tools__cut_note(&b, shown, ts->n_steps, "steps (the first)",
                        "use a larger step or a narrower range");
        tools__printf(&b, "[%u]{time", shown);
        for (uint32_t g = 0; g < ts->n_groups; g++) {
            tools__append(&b, ",", 1);
            tools__csv(&b, ts->group_names[g][0] ? ts->group_names[g] : "(none)");
        }
        tools__printf(&b, "}:\n");
        tools__append(&b, rows.p ? rows.p : "", rows.len);
        tools__buf_free(&rows);
        tools__printf(&b, "Next: query_profile_diff with the peak as comparison and an earlier "
                          "range as baseline.\n");
    }
    cJSON *s = structured_new(&a, unit);
    tools__add_time(s, "start", ts->start_ns, ts->n_steps > 0);
    cJSON_AddNumberToObject(s, "step", (double)ts->step_ns / 1e9);
    cJSON_AddNumberToObject(s, "n_steps", ts->n_steps);
    if (function)
        cJSON_AddStringToObject(s, "function", function);
    if (group_by)
        cJSON_AddStringToObject(s, "group_by", group_by);
    if (has_peak) {
        cJSON *p = cJSON_AddObjectToObject(s, "peak");
        tools__add_time(p, "time", step_time(ts, peak_i), true);
        cJSON_AddNumberToObject(p, "index", peak_i);
        cJSON_AddNumberToObject(p, "value", (double)peak);
    }
    cJSON *groups = cJSON_AddArrayToObject(s, "groups");
    for (uint32_t g = 0; g < ts->n_groups; g++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", ts->group_names[g]);
        cJSON_AddNumberToObject(o, "total", (double)ts->totals[g]);
        cJSON *vals = cJSON_AddArrayToObject(o, "values");
        for (uint32_t i = 0; i < ts->n_steps; i++)
            mcp_json_push(vals,
                          cJSON_CreateNumber((double)ts->values[(size_t)g * ts->n_steps + i]));
        mcp_json_push(groups, o);
    }
    win_timeseries_free(ts);
    tools__args_free(&a);
    return tools__answer(out, &b, s);
}

/* ---- export_pprof ------------------------------------------------------------------ */

/* profile_type=..&selector=..[&start=..][&end=..] with resolved absolute times, so the
 * URL names the same data later as now. */
static void export_query(tools__buf *b, const tools__args *a, bool with_type)
{
    if (with_type) {
        tools__printf(b, "profile_type=");
        tools__urlencode(b, a->profile_type);
        tools__printf(b, "&");
    }
    tools__printf(b, "selector=");
    tools__urlencode(b, a->selector_text);
    char tm[48];
    if (a->has_start) {
        tools__time(tm, sizeof tm, a->start_ns);
        tools__printf(b, "&start=");
        tools__urlencode(b, tm);
    }
    if (a->has_end) {
        tools__time(tm, sizeof tm, a->end_ns);
        tools__printf(b, "&end=");
        tools__urlencode(b, tm);
    }
}

int tools__export_pprof(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    tools__args a;
    win_merged *m = tools__parse_and_merge(t, args, true, &a, out);
    if (!m)
        return 0;
    const char *unit = tools__unit_of(a.profile_type);
    if (tools__merged_empty(m)) {
        /* an empty answer like the other query tools': no profile, no URL to fetch one */
        tools__buf b = {0};
        tools__header(&b, "pprof export", &a, m);
        tools__no_samples(&b, &a);
        tools__printf(&b, "Nothing exported.\n");
        cJSON *s = structured_new(&a, unit);
        cJSON_AddNumberToObject(s, "total", 0);
        tools__add_time(s, "start", 0, false);
        tools__add_time(s, "end", 0, false);
        cJSON_AddNumberToObject(s, "bytes", 0);
        cJSON_AddNullToObject(s, "url");
        cJSON_AddStringToObject(s, "command", "");
        cJSON_AddStringToObject(s, "resource_uri", "");
        cJSON_AddBoolToObject(s, "embedded", false);
        tools__answer(out, &b, s);
        win_merged_free(m);
        tools__args_free(&a);
        return 0;
    }
    uint8_t *pb = NULL;
    size_t pb_len = 0;
    char err[BASE_ERR_LEN] = "";
    query_pprof_info info;
    if (query_export_pprof(m, NULL, &info, &pb, &pb_len, err, sizeof err) != 0) {
        tools__error(out, "cannot export: %s", err[0] ? err : "out of memory");
        win_merged_free(m);
        tools__args_free(&a);
        return 0;
    }
    char *base = tools__base_url(t);
    tools__buf url = {0}, uri = {0}, b = {0};
    if (base) {
        tools__printf(&url, "%s/api/pprof?", base);
        export_query(&url, &a, true);
    }
    tools__printf(&uri, "otelprofd://pprof/%s?", a.profile_type);
    export_query(&uri, &a, false);
    bool embed = pb_len <= TOOLS__MAX_EMBED;
    char total[96];
    tools__human_total(total, sizeof total, m->total, unit);
    tools__header(&b, "pprof export", &a, m);
    tools__printf(&b,
                  "Total %s over %u series; %zu bytes of gzipped profile.proto with sample "
                  "labels.\n",
                  total, m->n_series, pb_len);
    if (info.folded) {
        char fv[32];
        tools__human(fv, sizeof fv, (double)info.folded_value, unit);
        tools__printf(
            &b,
            "Cut: the export limits for labels (%llu MiB, %u samples) were reached: %llu labeled "
            "samples (%s) lost their labels; their value is in one unlabelled sample "
            "per stack, so stacks, totals and go tool pprof -top stay exact. Narrow "
            "the selector or the range to keep every label.\n",
            (unsigned long long)(QUERY_PPROF_LABEL_BYTES >> 20), QUERY_PPROF_MAX_SAMPLES,
            (unsigned long long)info.folded, fv);
    }
    if (base)
        tools__printf(&b,
                      "Download: %s\nRun: go tool pprof -top '%s'  (or -http=: for the web "
                      "UI)\n",
                      url.p, url.p);
    else
        tools__printf(&b, "The HTTP API is off (--mcp-http off), so there is no download URL.\n");
    if (embed)
        tools__printf(&b,
                      "Embedded below as resource %s (base64 blob): decode it to "
                      "profile.pb.gz and run go tool pprof -top profile.pb.gz\n",
                      uri.p);
    else
        tools__printf(&b, "Not embedded: %zu bytes is over the 8 MiB embedding limit; %s\n", pb_len,
                      base ? "use the URL" : "narrow the selector or range, or enable --mcp-http");
    cJSON *s = structured_new(&a, unit);
    add_total_and_range(s, m);
    cJSON_AddNumberToObject(s, "bytes", (double)pb_len);
    cJSON_AddBoolToObject(s, "cut", info.folded > 0);
    cJSON_AddNumberToObject(s, "labels_folded", (double)info.folded);
    if (base) {
        cJSON_AddStringToObject(s, "url", url.p);
        tools__buf cmd = {0};
        tools__printf(&cmd, "go tool pprof -top '%s'", url.p);
        cJSON_AddStringToObject(s, "command", cmd.p ? cmd.p : "");
        tools__buf_free(&cmd);
    } else {
        cJSON_AddNullToObject(s, "url");
        cJSON_AddStringToObject(s, "command", "go tool pprof -top profile.pb.gz");
    }
    cJSON_AddStringToObject(s, "resource_uri", uri.p ? uri.p : "");
    cJSON_AddBoolToObject(s, "embedded", embed);
    if (embed) {
        char *b64 = tools__base64(pb, pb_len);
        if (b64) {
            cJSON *items = cJSON_CreateArray();
            cJSON *item = cJSON_CreateObject();
            cJSON_AddStringToObject(item, "type", "resource");
            cJSON *r = cJSON_AddObjectToObject(item, "resource");
            cJSON_AddStringToObject(r, "uri", uri.p ? uri.p : "");
            cJSON_AddStringToObject(r, "mimeType", "application/vnd.google.protobuf+gzip");
            cJSON_AddStringToObject(r, "blob", b64);
            mcp_json_push(items, item);
            out->extra_content = items;
            free(b64);
        }
    }
    tools__answer(out, &b, s);
    tools__buf_free(&url);
    tools__buf_free(&uri);
    free(base);
    free(pb);
    win_merged_free(m);
    tools__args_free(&a);
    return 0;
}

int tools__pprof_bytes(tools *t, const char *profile_type, const char *selector,
                       const char *service_name, const char *start, const char *end, uint8_t **out,
                       size_t *out_len, query_pprof_info *info, char *err, size_t err_len)
{
    cJSON *args = cJSON_CreateObject();
    if (!args) {
        base_set_err(err, err_len, "out of memory");
        return -1;
    }
    if (profile_type)
        cJSON_AddStringToObject(args, "profile_type", profile_type);
    if (selector)
        cJSON_AddStringToObject(args, "selector", selector);
    if (service_name)
        cJSON_AddStringToObject(args, "service_name", service_name);
    if (start)
        cJSON_AddStringToObject(args, "start", start);
    if (end)
        cJSON_AddStringToObject(args, "end", end);
    mcp_tool_result r = {0};
    tools__args a;
    int rc = -1;
    if (tools__parse_common(t, args, TOOLS__PTYPE_REQUIRED, &a, &r) != 0) {
        base_set_err(err, err_len, "%s", r.text ? r.text : "bad arguments");
        goto out;
    }
    win_merged *m = tools__merge(t, &a, true, &r);
    if (!m) {
        base_set_err(err, err_len, "%s", r.text ? r.text : "merge failed");
        tools__args_free(&a);
        goto out;
    }
    rc = query_export_pprof(m, NULL, info, out, out_len, err, err_len);
    win_merged_free(m);
    tools__args_free(&a);
out:
    free(r.text);
    cJSON_Delete(r.structured);
    cJSON_Delete(args);
    return rc;
}
