/* tools/source.c — query_profile_source: per source line of one function (pprof -top
 * -lines restricted to it), so the agent opens the file at the hot lines. */
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

/* "file:line" of a row, or its address when unsymbolized. */
static void where(char *out, size_t len, const query_source_row *r)
{
    if (r->unsymbolized)
        snprintf(out, len, "0x%llx", (unsigned long long)r->address);
    else
        snprintf(out, len, "%s:%lld", r->file, (long long)r->line);
}

static char *render(const tools__args *a, const win_merged *m, const query_source *s,
                    const char *what, query_sort sort, bool cut)
{
    const char *unit = tools__unit_of(a->profile_type);
    tools__buf b = {0};
    char head[256];
    snprintf(head, sizeof head, "Source lines of %s by %s", what,
             sort == QUERY_SORT_CUM ? "cum" : "flat");
    tools__header(&b, head, a, m);
    char total[96];
    tools__human_total(total, sizeof total, m->total, unit);
    tools__printf(&b, "Total %s. %u function%s matched", total, s->n_functions,
                  s->n_functions == 1 ? "" : "s");
    if (s->n_fns < s->n_functions)
        tools__printf(&b, " (the %u with the most cum described below)", s->n_fns);
    tools__printf(&b, ":\n");
    for (uint32_t i = 0; i < s->n_fns; i++) {
        const query_source_fn *f = &s->fns[i];
        char fl[32], cu[32];
        tools__human(fl, sizeof fl, (double)f->flat, unit);
        tools__human(cu, sizeof cu, (double)f->cum, unit);
        tools__printf(&b, "  %s", f->function);
        if (f->file[0])
            tools__printf(&b, " in %s:%lld%s", f->file, (long long)f->start_line,
                          f->start_line_known ? " (start line)" : " (first sampled line)");
        if (f->frame_type[0])
            tools__printf(&b, " [%s]", f->frame_type);
        tools__printf(&b, ": flat %s (%.2f%%), cum %s (%.2f%%), %u line%s\n", fl,
                      pct(f->flat, m->total), cu, pct(f->cum, m->total), f->n_lines,
                      f->n_lines == 1 ? "" : "s");
    }
    tools__printf(&b,
                  "%u of %u lines shown%s (pprof -lines: a line is one line of a location; "
                  "unsymbolized frames by address).\n",
                  s->n_rows, s->n_lines, cut ? " (limit lowered to stay under ~4,000 tokens)" : "");
    bool other = s->n_lines > s->n_rows;
    bool many = s->n_functions > 1;
    tools__printf(&b, "[%u]{flat,flat%%,cum,cum%%,file:line%s}:\n", s->n_rows + (other ? 1u : 0u),
                  many ? ",function" : "");
    for (uint32_t i = 0; i < s->n_rows; i++) {
        const query_source_row *r = &s->rows[i];
        char f[32], c[32], w[8300];
        tools__human(f, sizeof f, (double)r->flat, unit);
        tools__human(c, sizeof c, (double)r->cum, unit);
        where(w, sizeof w, r);
        tools__printf(&b, "  %s,%.2f,%s,%.2f,", f, pct(r->flat, m->total), c,
                      pct(r->cum, m->total));
        tools__csv(&b, w);
        if (many) {
            tools__append(&b, ",", 1);
            tools__csv(&b, r->function);
        }
        tools__append(&b, "\n", 1);
    }
    if (other) {
        char f[32];
        tools__human(f, sizeof f, (double)s->other_flat, unit);
        tools__printf(&b, "  %s,%.2f,,,(other %u lines)%s\n", f, pct(s->other_flat, m->total),
                      s->n_lines - s->n_rows, many ? "," : "");
    }
    if (s->n_rows)
        tools__printf(&b, "Next: open the file at the hottest lines; query_profile_sandwich "
                          "function=<name> for who calls it.\n");
    return tools__take(&b);
}

static cJSON *to_json(const tools__args *a, const win_merged *m, const query_source *s,
                      const char *function, const char *regex)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "profile_type", a->profile_type);
    cJSON_AddStringToObject(o, "unit", tools__unit_of(a->profile_type));
    cJSON_AddStringToObject(o, "selector", a->selector_text);
    if (function)
        cJSON_AddStringToObject(o, "function", function);
    if (regex)
        cJSON_AddStringToObject(o, "function_regex", regex);
    cJSON_AddNumberToObject(o, "total", (double)m->total);
    cJSON_AddNumberToObject(o, "n_functions", s ? s->n_functions : 0);
    cJSON_AddNumberToObject(o, "n_lines", s ? s->n_lines : 0);
    cJSON *fns = cJSON_AddArrayToObject(o, "functions");
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    for (uint32_t i = 0; s && i < s->n_fns; i++) {
        const query_source_fn *f = &s->fns[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "function", f->function);
        cJSON_AddStringToObject(x, "file", f->file);
        cJSON_AddNumberToObject(x, "start_line", (double)f->start_line);
        cJSON_AddBoolToObject(x, "start_line_known", f->start_line_known);
        if (f->frame_type[0])
            cJSON_AddStringToObject(x, "frame_type", f->frame_type);
        cJSON_AddNumberToObject(x, "flat", (double)f->flat);
        cJSON_AddNumberToObject(x, "cum", (double)f->cum);
        cJSON_AddNumberToObject(x, "lines", f->n_lines);
        mcp_json_push(fns, x);
    }
    for (uint32_t i = 0; s && i < s->n_rows; i++) {
        const query_source_row *r = &s->rows[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "function", r->function);
        cJSON_AddStringToObject(x, "file", r->file);
        cJSON_AddNumberToObject(x, "line", (double)r->line);
        if (r->unsymbolized) {
            char addr[32];
            snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)r->address);
            cJSON_AddStringToObject(x, "address", addr);
        }
        cJSON_AddNumberToObject(x, "flat", (double)r->flat);
        cJSON_AddNumberToObject(x, "cum", (double)r->cum);
        cJSON_AddNumberToObject(x, "flat_percent", pct(r->flat, m->total));
        cJSON_AddNumberToObject(x, "cum_percent", pct(r->cum, m->total));
        mcp_json_push(rows, x);
    }
    cJSON_AddNumberToObject(o, "other_flat", s ? (double)s->other_flat : 0);
    return o;
}

int tools__source(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    query_source_opts o = {0};
    uint32_t limit;
    if (tools__str_arg(args, "function", &o.function, out) != 0 ||
        tools__str_arg(args, "function_regex", &o.function_regex, out) != 0 ||
        tools__sort_arg(args, "sort", "samples whose leaf is the line",
                        "samples whose stack contains it", &o.sort, out) != 0 ||
        tools__uint_arg(args, "limit", 40, 1, 10000, &limit, out) != 0)
        return 0;
    if (o.function && !*o.function)
        o.function = NULL;
    if (o.function_regex && !*o.function_regex)
        o.function_regex = NULL;
    if (!o.function == !o.function_regex) {
        tools__error(out, "give exactly one of function (the exact name as shown by "
                          "query_profile_table, or a 0x address) and function_regex (an RE2/Go "
                          "regex searched for in function names)");
        return 0;
    }
    tools__args a;
    win_merged *m = tools__parse_and_merge_frames(t, args, false, &a, out);
    if (!m)
        return 0;
    char what[160];
    snprintf(what, sizeof what, "%s%.120s%s", o.function ? "" : "functions matching \"",
             o.function ? o.function : o.function_regex, o.function ? "" : "\"");
    if (tools__merged_empty(m)) {
        tools__buf b = {0};
        char head[256];
        snprintf(head, sizeof head, "Source lines of %s", what);
        tools__header(&b, head, &a, m);
        tools__no_samples(&b, &a);
        out->text = tools__take(&b);
        out->structured = to_json(&a, m, NULL, o.function, o.function_regex);
        win_merged_free(m);
        tools__args_free(&a);
        return 0;
    }
    bool cut = false;
    for (;;) {
        o.limit = limit;
        char err[512] = "";
        query_source *s = query_source_compute(m, &o, err, sizeof err);
        if (!s) {
            tools__error(out, "%s", err[0] ? err : TOOLS__OOM_TEXT);
            break;
        }
        if (!s->n_functions) {
            query_source_free(s);
            tools__function_not_found(m, o.function, o.function_regex, true, out);
            break;
        }
        char *text = render(&a, m, s, what, o.sort, cut);
        if (text && strlen(text) > TOOLS__TEXT_BUDGET && s->n_rows > 1 &&
            !tools__given(args, "limit")) {
            limit = tools__shrink(s->n_rows, strlen(text), 1);
            cut = true;
            free(text);
            query_source_free(s);
            continue;
        }
        out->text = text;
        out->structured = to_json(&a, m, s, o.function, o.function_regex);
        query_source_free(s);
        break;
    }
    win_merged_free(m);
    tools__args_free(&a);
    return 0;
}
