/* tools/util.c — text buffers, pprof-style units, CSV, times and argument parsing shared
 * by every tool. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "tools/tools_internal.h"

/* ---- text buffer ----------------------------------------------------------------- */

/* A text buffer that could not grow drops the rest of the answer: note it, so the JSON-RPC
 * dispatcher answers an internal error instead of a truncated (or empty) text. The cap is
 * TOOLS__MAX_TEXT: the answers' own limits keep far below it. */
static void buf_cap(tools__buf *b)
{
    if (!b->max)
        b->max = TOOLS__MAX_TEXT;
}

void tools__append(tools__buf *b, const char *s, size_t len)
{
    buf_cap(b);
    if (b->err == BASE_OK && !base_buf_append(b, s, len) && b->err == BASE_ERR_NOMEM)
        base_alloc_failed_note();
}

void tools__printf(tools__buf *b, const char *fmt, ...)
{
    buf_cap(b);
    if (b->err != BASE_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    bool ok = base_buf_vprintf(b, fmt, ap);
    va_end(ap);
    if (!ok)
        base_alloc_failed_note();
}

void tools__csv(tools__buf *b, const char *field)
{
    if (!field)
        field = "";
    size_t len = strlen(field);
    bool quote = len > 0 && (field[0] == ' ' || field[len - 1] == ' ');
    for (size_t i = 0; i < len && !quote; i++)
        quote = field[i] == ',' || field[i] == '"' || field[i] == '\n' || field[i] == '\r';
    if (!quote) {
        tools__append(b, field, len);
        return;
    }
    tools__append(b, "\"", 1);
    const char *p = field;
    const char *q;
    while ((q = strchr(p, '"')) != NULL) {
        tools__append(b, p, (size_t)(q - p) + 1);
        tools__append(b, "\"", 1);
        p = q + 1;
    }
    tools__append(b, p, strlen(p));
    tools__append(b, "\"", 1);
}

void tools__cut_note(tools__buf *b, size_t shown, size_t total, const char *what, const char *hint)
{
    if (shown < total)
        tools__printf(b, "%zu of %zu %s shown (text cut to stay under ~4,000 tokens%s%s).\n", shown,
                      total, what, hint ? "; " : "", hint ? hint : "");
}

int tools__answer(mcp_tool_result *out, tools__buf *b, cJSON *structured)
{
    out->text = tools__take(b);
    out->structured = structured;
    return 0;
}

char *tools__take(tools__buf *b)
{
    char *p = base_buf_take(b);
    *b = (tools__buf){0};
    return p ? p : strdup("");
}

void tools__buf_free(tools__buf *b)
{
    base_buf_free(b);
    *b = (tools__buf){0};
}

/* ---- units ------------------------------------------------------------------------ */

typedef struct unit_step {
    const char *suffix;
    double factor;
} unit_step;

/* pprof's measurement tables: the largest unit not above the value wins */
static const unit_step TIME_UNITS[] = {
    {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"hrs", 3600e9}};
static const unit_step BYTE_UNITS[] = {{"B", 1},
                                       {"kB", 1024.0},
                                       {"MB", 1024.0 * 1024},
                                       {"GB", 1024.0 * 1024 * 1024},
                                       {"TB", 1024.0 * 1024 * 1024 * 1024},
                                       {"PB", 1024.0 * 1024 * 1024 * 1024 * 1024}};

const char *tools__unit_of(const char *profile_type)
{
    const char *c = profile_type ? strrchr(profile_type, ':') : NULL;
    return c ? c + 1 : "";
}

/* "%.2f" with a trailing ".00" dropped, as pprof's ScaledLabel */
static void fmt2(char *out, size_t out_len, double v, const char *suffix)
{
    char num[64];
    snprintf(num, sizeof num, "%.2f", v);
    size_t n = strlen(num);
    if (n > 3 && strcmp(num + n - 3, ".00") == 0)
        num[n - 3] = '\0';
    if (strcmp(num, "0") == 0 || strcmp(num, "-0") == 0)
        snprintf(out, out_len, "0");
    else
        snprintf(out, out_len, "%s%s", num, suffix);
}

void tools__human(char *out, size_t out_len, double v, const char *unit)
{
    const unit_step *table = NULL;
    size_t n = 0;
    double base = 1;
    if (!unit)
        unit = "";
    if (strcmp(unit, "nanoseconds") == 0 || strcmp(unit, "ns") == 0) {
        table = TIME_UNITS, n = sizeof TIME_UNITS / sizeof TIME_UNITS[0];
    } else if (strcmp(unit, "microseconds") == 0 || strcmp(unit, "us") == 0) {
        table = TIME_UNITS, n = sizeof TIME_UNITS / sizeof TIME_UNITS[0], base = 1e3;
    } else if (strcmp(unit, "milliseconds") == 0 || strcmp(unit, "ms") == 0) {
        table = TIME_UNITS, n = sizeof TIME_UNITS / sizeof TIME_UNITS[0], base = 1e6;
    } else if (strcmp(unit, "seconds") == 0 || strcmp(unit, "s") == 0) {
        table = TIME_UNITS, n = sizeof TIME_UNITS / sizeof TIME_UNITS[0], base = 1e9;
    } else if (strcmp(unit, "bytes") == 0 || strcmp(unit, "B") == 0) {
        table = BYTE_UNITS, n = sizeof BYTE_UNITS / sizeof BYTE_UNITS[0];
    }
    if (!isfinite(v)) {
        snprintf(out, out_len, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (!table) {
        if (v == floor(v) && fabs(v) < 9e18)
            snprintf(out, out_len, "%lld", (long long)v);
        else
            fmt2(out, out_len, v, "");
        return;
    }
    double x = v * base, ax = fabs(x);
    size_t pick = 0;
    for (size_t i = 0; i < n; i++)
        if (table[i].factor <= ax)
            pick = i;
    fmt2(out, out_len, x / table[pick].factor, table[pick].suffix);
}

/* ---- times ------------------------------------------------------------------------ */

void tools__time(char *out, size_t out_len, int64_t ns)
{
    int64_t sec = ns / 1000000000;
    int64_t frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        sec -= 1;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(out, out_len, "%lld", (long long)ns);
        return;
    }
    char date[40];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac % 1000000 == 0 && frac)
        snprintf(out, out_len, "%s.%03lldZ", date, (long long)(frac / 1000000));
    else if (frac)
        snprintf(out, out_len, "%s.%09lldZ", date, (long long)frac);
    else
        snprintf(out, out_len, "%sZ", date);
}

void tools__range(char *out, size_t out_len, int64_t start_ns, int64_t end_ns)
{
    if (start_ns >= end_ns || start_ns == INT64_MIN || end_ns == INT64_MAX) {
        snprintf(out, out_len, "(no data)");
        return;
    }
    char a[48], b[48];
    tools__time(a, sizeof a, start_ns);
    tools__time(b, sizeof b, end_ns);
    /* the same day: the end needs only its time of day */
    if (strncmp(a, b, 11) == 0 && strlen(b) > 11)
        snprintf(out, out_len, "%s..%s", a, b + 11);
    else
        snprintf(out, out_len, "%s..%s", a, b);
}

void tools__ingest_stats(const tools *t, otlp_stats *out)
{
    memset(out, 0, sizeof *out);
    if (t->receiver) {
        otlp_receiver_stats(t->receiver, out);
        out->samples_stored += t->preloaded.samples;
    } else {
        /* the store counted every sample it was given, preloaded ones included */
        win_stats ws;
        win_store_stats(t->store, &ws);
        out->samples_stored = ws.samples_stored;
        out->samples_too_old = ws.samples_too_old;
        out->samples_too_new = ws.samples_too_new;
    }
    out->profiles_accepted += t->preloaded.profiles;
}

void tools__duration(char *out, size_t out_len, int64_t ns)
{
    base_format_duration(out, out_len, ns);
}

/* ---- errors ----------------------------------------------------------------------- */

void tools__error(mcp_tool_result *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    free(out->text);
    out->text = NULL;
    if (n >= 0) {
        out->text = malloc((size_t)n + 1);
        if (out->text) {
            va_start(ap, fmt);
            vsnprintf(out->text, (size_t)n + 1, fmt, ap);
            va_end(ap);
        }
    }
    if (out->structured) {
        cJSON_Delete(out->structured);
        out->structured = NULL;
    }
    out->is_error = true;
}

typedef struct types_ctx {
    tools__buf b;
    unsigned n;
    const char *want; /* when set: found is true if it is present */
    bool found;
} types_ctx;

static const char STORE_EMPTY[] = "none yet: the store is empty; send OTLP profiles to "
                                  "otelprofd's OTLP listeners (gRPC :4317, HTTP :4318) first";

static void collect_type(const char *type, void *ctx)
{
    types_ctx *c = ctx;
    if (c->want && strcmp(c->want, type) == 0)
        c->found = true;
    if (c->n++ < 64)
        tools__printf(&c->b, "%s%s", c->n > 1 ? ", " : "", type);
    else if (c->n == 65)
        tools__printf(&c->b, ", ...");
}

/* The list of types and whether `want` is among them, from one pass under the store's read
 * lock: a check and a list taken apart could disagree when data arrives in between ("X has
 * no data. Profile types present: ..., X"). */
static char *types_snapshot(tools *t, const char *want, bool *found)
{
    types_ctx c = {.want = want};
    if (found)
        *found = false;
    if (win_store_each_profile_type(t->store, collect_type, &c) != 0) {
        tools__buf_free(&c.b);
        return NULL; /* out of memory: nothing is known, so nothing may be claimed */
    }
    if (found)
        *found = c.found;
    if (c.n == 0) {
        tools__buf_free(&c.b);
        return strdup(STORE_EMPTY);
    }
    return tools__take(&c.b);
}

char *tools__types_present(tools *t)
{
    return types_snapshot(t, NULL, NULL);
}

/* ---- arguments -------------------------------------------------------------------- */

int tools__str_arg(const cJSON *args, const char *name, const char **v, mcp_tool_result *out)
{
    *v = NULL;
    const cJSON *it = args ? cJSON_GetObjectItemCaseSensitive(args, name) : NULL;
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsString(it) || !it->valuestring) {
        tools__error(out, "%s must be a string", name);
        return -1;
    }
    *v = it->valuestring;
    return 0;
}

/* Argument `name` as a number in [min, max] (whole when `whole`): 0 when absent (or
 * null), 1 with *d set, -1 when given but not such a number. A JSON number or a string
 * that is one number and nothing else (clients that send every argument as a string). */
static int number_in(const cJSON *args, const char *name, double min, double max, bool whole,
                     double *d)
{
    const cJSON *it = args ? cJSON_GetObjectItemCaseSensitive(args, name) : NULL;
    if (!it || cJSON_IsNull(it))
        return 0;
    *d = NAN;
    if (cJSON_IsNumber(it)) {
        *d = it->valuedouble;
    } else if (cJSON_IsString(it) && it->valuestring && *it->valuestring) {
        char *end;
        *d = strtod(it->valuestring, &end);
        if (*end)
            *d = NAN;
    }
    return isfinite(*d) && (!whole || *d == floor(*d)) && *d >= min && *d <= max ? 1 : -1;
}

int tools__uint_arg(const cJSON *args, const char *name, uint32_t dflt, uint32_t min, uint32_t max,
                    uint32_t *v, mcp_tool_result *out)
{
    *v = dflt;
    double d;
    int r = number_in(args, name, (double)min, (double)max, true, &d);
    if (r < 0) {
        tools__error(out, "%s must be a whole number from %u to %u (default %u)", name, min, max,
                     dflt);
        return -1;
    }
    if (r > 0)
        *v = (uint32_t)d;
    return 0;
}

int tools__double_arg(const cJSON *args, const char *name, double dflt, double min, double max,
                      double *v, mcp_tool_result *out)
{
    *v = dflt;
    double d;
    int r = number_in(args, name, min, max, false, &d);
    if (r < 0) {
        tools__error(out, "%s must be a number from %g to %g (default %g)", name, min, max, dflt);
        return -1;
    }
    if (r > 0)
        *v = d;
    return 0;
}

/* start/end: a string for query_parse_time, or a number (unix seconds, ms or ns). */
static int time_arg(const cJSON *obj, const char *name, const char *what, int64_t *ns, bool *given,
                    mcp_tool_result *out)
{
    const cJSON *it = obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    if (!it || cJSON_IsNull(it) || (cJSON_IsString(it) && it->valuestring && !*it->valuestring))
        return 0;
    char text[64];
    const char *src;
    if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;
        if (!isfinite(d) || fabs(d) > 9e18) {
            tools__error(out, "%s%s: %g is not a time; use RFC 3339, unix seconds or now-15m", what,
                         name, d);
            return -1;
        }
        if (d == floor(d))
            snprintf(text, sizeof text, "%.0f", d);
        else
            snprintf(text, sizeof text, "%.6f", d);
        src = text;
    } else if (cJSON_IsString(it) && it->valuestring) {
        src = it->valuestring;
    } else {
        tools__error(out,
                     "%s%s must be a string (RFC 3339, \"now-15m\") or a number (unix "
                     "seconds)",
                     what, name);
        return -1;
    }
    char err[BASE_ERR_LEN] = "";
    if (query_parse_time(src, base_now_unix_ns(), ns, err, sizeof err) != 0) {
        tools__error(out,
                     "%s%s: %s. Use RFC 3339 (2026-11-21T10:00:00Z), unix seconds "
                     "(1763719200) or relative to now (now-15m, now-1h); omit it for all "
                     "retained data.",
                     what, name, err[0] ? err : "cannot parse the time");
        return -1;
    }
    *given = true;
    return 0;
}

static const char SELECTOR_FIX[] =
    "Fix: write Prometheus-style matchers in braces, e.g. {service.name=\"checkout\", "
    "thread.name!=\"gc\"}; operators = != =~ !~; values in double quotes; \"{}\" matches "
    "everything. Call list_labels to see the attribute names.";

static char *fold_attr(const char *sel, const char *key, const char *value);

/* Builds the effective selector text: `sel` with service.name="svc" added. */
static char *fold_service(const char *sel, const char *svc)
{
    return fold_attr(sel, "service.name", svc);
}

/* `sel` with key="value" added (value escaped). */
static char *fold_attr(const char *sel, const char *key, const char *svc)
{
    tools__buf b = {0};
    const char *open = strchr(sel, '{');
    const char *close = strrchr(sel, '}');
    bool empty = true;
    if (open && close && close > open) {
        for (const char *p = open + 1; p < close; p++)
            if (!isspace((unsigned char)*p))
                empty = false;
    } else {
        for (const char *p = sel; *p; p++)
            if (!isspace((unsigned char)*p))
                empty = false;
    }
    if (empty) {
        tools__append(&b, "{", 1);
    } else if (open && close && close > open) {
        tools__append(&b, sel, (size_t)(close - sel));
        tools__append(&b, ", ", 2);
    } else {
        tools__buf_free(&b);
        return NULL;
    }
    tools__printf(&b, "%s=\"", key);
    for (const char *p = svc; *p; p++) {
        if (*p == '"' || *p == '\\')
            tools__append(&b, "\\", 1);
        tools__append(&b, p, 1);
    }
    tools__append(&b, "\"}", 2);
    if (b.err != BASE_OK) {
        tools__buf_free(&b);
        return NULL;
    }
    return tools__take(&b);
}

static int parse_selector(const char *text, const char *svc, const char *what, tools__args *a,
                          mcp_tool_result *out)
{
    char err[BASE_ERR_LEN] = "";
    base_err kind;
    win_selector *s = win_selector_parse(text, &kind, err, sizeof err);
    if (!s && kind == BASE_ERR_NOMEM) {
        tools__error(out, "%s", TOOLS__OOM_TEXT);
        return -1;
    }
    if (!s) {
        /* window/ errors may already start with "selector: " */
        const char *e = err[0] ? err : "cannot parse";
        if (strncmp(e, "selector: ", 10) == 0)
            e += 10;
        tools__error(out, "%sselector %s is invalid: %s. %s", what, text, e, SELECTOR_FIX);
        return -1;
    }
    if (!svc || !*svc) {
        a->selector_text = strdup(text[0] ? text : "{}");
        if (!a->selector_text) {
            win_selector_free(s);
            tools__error(out, "%s", TOOLS__OOM_TEXT);
            return -1;
        }
        a->selector = s;
        return 0;
    }
    win_selector_free(s);
    char *full = fold_service(text, svc);
    if (!full) {
        tools__error(out, "%sselector %s: cannot add service_name to it. %s", what, text,
                     SELECTOR_FIX);
        return -1;
    }
    s = win_selector_parse(full, &kind, err, sizeof err);
    if (!s && kind == BASE_ERR_NOMEM) {
        tools__error(out, "%s", TOOLS__OOM_TEXT);
        free(full);
        return -1;
    }
    if (!s) {
        tools__error(out, "service_name \"%s\" does not make a valid selector with %s: %s", svc,
                     text, err[0] ? err : "cannot parse");
        free(full);
        return -1;
    }
    a->selector = s;
    a->selector_text = full;
    return 0;
}

int tools__parse_range_sel(tools *t, const cJSON *obj, const tools__args *dflt,
                           const char *service_name, const char *what, tools__args *a,
                           mcp_tool_result *out)
{
    memset(a, 0, sizeof *a);
    a->profile_type = dflt ? dflt->profile_type : NULL;
    a->start_ns = dflt ? dflt->start_ns : INT64_MIN;
    a->end_ns = dflt ? dflt->end_ns : INT64_MAX;
    a->has_start = dflt && dflt->has_start;
    a->has_end = dflt && dflt->has_end;
    if (obj && !cJSON_IsObject(obj)) {
        tools__error(out, "%s must be an object {start, end, selector}", what);
        return -1;
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s.", what);
    /* a side may have its own profile type (cpu vs off_cpu side by side) */
    const cJSON *pt = obj ? cJSON_GetObjectItemCaseSensitive(obj, "profile_type") : NULL;
    if (pt && !cJSON_IsNull(pt)) {
        if (!cJSON_IsString(pt) || !pt->valuestring || !pt->valuestring[0]) {
            tools__error(out, "%s.profile_type must be a profile type such as \"cpu:nanoseconds\"",
                         what);
            return -1;
        }
        bool found = false;
        char *types = types_snapshot(t, pt->valuestring, &found);
        if (!types) {
            tools__error(out, "%s", TOOLS__OOM_TEXT);
            return -1;
        }
        if (!found) {
            tools__error(out,
                         "%s.profile_type \"%s\" has no data: no series of it is retained. "
                         "Profile types present: %s.",
                         what, pt->valuestring, types);
            free(types);
            return -1;
        }
        free(types);
        a->profile_type = pt->valuestring;
    }
    const cJSON *s = obj ? cJSON_GetObjectItemCaseSensitive(obj, "selector") : NULL;
    if (s && !cJSON_IsNull(s)) {
        if (!cJSON_IsString(s) || !s->valuestring) {
            tools__error(out, "%s.selector must be a string such as {service.name=\"x\"}", what);
            return -1;
        }
        if (parse_selector(s->valuestring, service_name, prefix, a, out) != 0)
            return -1;
    } else {
        const char *text = dflt && dflt->selector_text ? dflt->selector_text : "{}";
        if (parse_selector(text, NULL, prefix, a, out) != 0)
            return -1;
    }
    if (time_arg(obj, "start", prefix, &a->start_ns, &a->has_start, out) != 0 ||
        time_arg(obj, "end", prefix, &a->end_ns, &a->has_end, out) != 0) {
        tools__args_free(a);
        return -1;
    }
    if (a->start_ns >= a->end_ns) {
        tools__error(out, "%s: start must be before end", what);
        tools__args_free(a);
        return -1;
    }
    return 0;
}

/* trace_id / span_id: `bytes` bytes in hex, folded into the selector as a matcher on the
 * samples' link (window/ answers trace_id and span_id from it), so every tool that takes a
 * selector restricts to the linked samples, and the header shows it. */
static int link_arg(const cJSON *args, const char *name, size_t bytes, tools__args *a,
                    mcp_tool_result *out)
{
    const char *v = NULL;
    if (tools__str_arg(args, name, &v, out) != 0)
        return -1;
    if (!v || !*v)
        return 0;
    char hex[40];
    size_t n = strlen(v);
    bool ok = n == 2 * bytes;
    for (size_t i = 0; ok && i < n; i++) {
        ok = isxdigit((unsigned char)v[i]) != 0;
        hex[i] = (char)tolower((unsigned char)v[i]);
    }
    if (!ok) {
        tools__error(out,
                     "%s must be %zu hex digits (the %zu-byte id as in OTLP/JSON and trace "
                     "UIs), not \"%.80s\"; list_label_values name=%s lists those present",
                     name, 2 * bytes, bytes, v, name);
        return -1;
    }
    hex[n] = '\0';
    char *full = fold_attr(a->selector_text ? a->selector_text : "{}", name, hex);
    base_err kind;
    char err[256];
    win_selector *s = full ? win_selector_parse(full, &kind, err, sizeof err) : NULL;
    if (!s) {
        free(full);
        tools__error(out, "%s", TOOLS__OOM_TEXT); /* the text was valid without it */
        return -1;
    }
    win_selector_free(a->selector);
    free(a->selector_text);
    a->selector = s;
    a->selector_text = full;
    return 0;
}

/* frame_type: "kernel", "kernel,native" (only those) or "!kernel", "!kernel,native" (all but
 * those). Types are names as senders write profile.frame.type: letters, digits, . _ -. */
static int frame_type_arg(const cJSON *args, tools__args *a, mcp_tool_result *out)
{
    const char *v = NULL;
    if (tools__str_arg(args, "frame_type", &v, out) != 0)
        return -1;
    if (!v || !*v)
        return 0;
    static const char how[] =
        "frame_type is one type (\"kernel\"), a comma-separated list (\"kernel,native\") "
        "to keep only those frames, or the same after \"!\" (\"!kernel\") to keep all but them; "
        "types as senders write profile.frame.type (kernel, native, go, jvm, cpython, php, "
        "ruby, perl, v8js, dotnet, beam, luajit), at most 16";
    bool exclude = v[0] == '!';
    const char *p = exclude ? v + 1 : v;
    size_t len = strlen(p);
    if (len == 0 || len > 1024) {
        tools__error(out, "%s; got \"%.80s\"", how, v);
        return -1;
    }
    char *text = strdup(p);
    if (!text) {
        tools__error(out, "%s", TOOLS__OOM_TEXT);
        return -1;
    }
    uint32_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t tl = strlen(tok);
        while (tl && tok[tl - 1] == ' ')
            tok[--tl] = '\0';
        bool ok = tl > 0 && tl <= 64 && n < WIN_FRAME_FILTER_MAX;
        for (size_t i = 0; ok && i < tl; i++)
            ok = isalnum((unsigned char)tok[i]) || tok[i] == '.' || tok[i] == '_' || tok[i] == '-';
        if (!ok) {
            tools__error(out, "%s; got \"%.80s\"", how, v);
            free(text);
            return -1;
        }
        a->frame_types[n++] = tok;
    }
    if (!n) {
        tools__error(out, "%s; got \"%.80s\"", how, v);
        free(text);
        return -1;
    }
    a->frame_type_text = text;
    a->frames = (win_frame_filter){a->frame_types, n, exclude};
    return 0;
}

int tools__parse_common(tools *t, const cJSON *args, tools__ptype_need need, tools__args *a,
                        mcp_tool_result *out)
{
    memset(a, 0, sizeof *a);
    a->start_ns = INT64_MIN;
    a->end_ns = INT64_MAX;
    if (args && !cJSON_IsObject(args)) {
        tools__error(out, "arguments must be a JSON object");
        return -1;
    }
    const char *ptype = NULL, *sel = NULL, *svc = NULL;
    if (tools__str_arg(args, "profile_type", &ptype, out) != 0 ||
        tools__str_arg(args, "selector", &sel, out) != 0 ||
        tools__str_arg(args, "service_name", &svc, out) != 0)
        return -1;
    if (ptype && !*ptype)
        ptype = NULL;
    if (!ptype && need == TOOLS__PTYPE_REQUIRED) {
        char *types = tools__types_present(t);
        tools__error(out,
                     "profile_type is required, e.g. \"cpu:nanoseconds\". Profile types "
                     "present: %s.",
                     types ? types : "?");
        free(types);
        return -1;
    }
    if (ptype) {
        /* A type the store does not hold at all is most likely misspelled, so it is an
         * error that lists what is there; a type it holds that has no samples for the
         * selector or range is an empty answer from the tool itself (tools__no_samples). */
        bool found = false;
        char *types = types_snapshot(t, ptype, &found);
        if (!types) {
            tools__error(out, "%s", TOOLS__OOM_TEXT);
            return -1;
        }
        if (!found) {
            tools__error(out,
                         "profile_type \"%s\" has no data: no series of it is retained "
                         "(misspelled, not sent yet, or expired). Profile types present: %s. "
                         "Use one of them (list_profile_types gives totals per type).",
                         ptype, types ? types : "?");
            free(types);
            return -1;
        }
        free(types);
    }
    a->profile_type = ptype;
    if (parse_selector(sel ? sel : "{}", svc, "", a, out) != 0)
        return -1;
    if (link_arg(args, "trace_id", 16, a, out) != 0 || link_arg(args, "span_id", 8, a, out) != 0) {
        tools__args_free(a);
        return -1;
    }
    if (time_arg(args, "start", "", &a->start_ns, &a->has_start, out) != 0 ||
        time_arg(args, "end", "", &a->end_ns, &a->has_end, out) != 0) {
        tools__args_free(a);
        return -1;
    }
    if (a->start_ns >= a->end_ns) {
        tools__error(out, "start must be before end (or omit both for all retained data)");
        tools__args_free(a);
        return -1;
    }
    return 0;
}

void tools__args_free(tools__args *a)
{
    win_selector_free(a->selector);
    free(a->selector_text);
    free(a->frame_type_text);
    a->selector = NULL;
    a->selector_text = NULL;
    a->frame_type_text = NULL;
    a->frames.n_types = 0;
}

win_merged *tools__parse_and_merge_frames(tools *t, const cJSON *args, bool keep_labels,
                                          tools__args *a, mcp_tool_result *out)
{
    if (tools__parse_common(t, args, TOOLS__PTYPE_REQUIRED, a, out) != 0)
        return NULL;
    if (frame_type_arg(args, a, out) != 0) {
        tools__args_free(a);
        return NULL;
    }
    win_merged *m = tools__merge(t, a, keep_labels, out);
    if (!m)
        tools__args_free(a);
    return m;
}

win_merged *tools__parse_and_merge(tools *t, const cJSON *args, bool keep_labels, tools__args *a,
                                   mcp_tool_result *out)
{
    if (tools__parse_common(t, args, TOOLS__PTYPE_REQUIRED, a, out) != 0)
        return NULL;
    win_merged *m = tools__merge(t, a, keep_labels, out);
    if (!m)
        tools__args_free(a);
    return m;
}

win_query tools__query_of(const tools__args *a, bool keep_labels)
{
    return (win_query){.profile_type = a->profile_type,
                       .selector = a->selector,
                       .start_ns = a->start_ns,
                       .end_ns = a->end_ns,
                       .keep_labels = keep_labels};
}

win_merged *tools__merge(tools *t, const tools__args *a, bool keep_labels, mcp_tool_result *out)
{
    win_query q = tools__query_of(a, keep_labels);
    base_errbuf eb = {0};
    win_merged *m = win_merge_filtered(t->store, &q, a->frames.n_types ? &a->frames : NULL, &eb);
    if (!m)
        tools__error(out, "cannot merge the profiles: %s", eb.text[0] ? eb.text : "out of memory");
    return m;
}

/* The range the caller asked for, open ends included: "A..B", "since A", "before B". */
static void asked_range(char *out, size_t out_len, const tools__args *a)
{
    char t[48];
    if (a->has_start && a->has_end) {
        tools__range(out, out_len, a->start_ns, a->end_ns);
    } else if (a->has_start) {
        tools__time(t, sizeof t, a->start_ns);
        snprintf(out, out_len, "since %s", t);
    } else if (a->has_end) {
        tools__time(t, sizeof t, a->end_ns);
        snprintf(out, out_len, "before %s", t);
    } else {
        snprintf(out, out_len, "all retained data");
    }
}

void tools__range_of(char *out, size_t out_len, const tools__args *a, const win_merged *m)
{
    char asked[128];
    if (m && m->start_ns < m->end_ns) {
        tools__range(out, out_len, m->start_ns, m->end_ns);
    } else if (a->has_start || a->has_end) {
        asked_range(asked, sizeof asked, a);
        snprintf(out, out_len, "%s (no samples in range)", asked);
    } else {
        snprintf(out, out_len, "(no samples in range)");
    }
}

void tools__header(tools__buf *b, const char *what, const tools__args *a, const win_merged *m)
{
    char range[160];
    tools__range_of(range, sizeof range, a, m);
    tools__printf(b, "%s, %s, %s, ", what, a->profile_type ? a->profile_type : "all types",
                  a->selector_text ? a->selector_text : "{}");
    if (a->frames.n_types) {
        tools__printf(b, "frame_type=%s", a->frames.exclude ? "!" : "");
        for (uint32_t i = 0; i < a->frames.n_types; i++)
            tools__printf(b, "%s%s", i ? "," : "", a->frames.types[i]);
        tools__printf(b, ", ");
    }
    tools__printf(b, "%s\n", range);
    if (a->frames.n_types)
        tools__printf(b,
                      "Frames of %s kinds are left out of every stack (their callees attach to "
                      "their callers, as pprof -show/-hide); totals are unchanged, and value of "
                      "samples with no frame left stays at the root.\n",
                      a->frames.exclude ? "the listed" : "other");
}

bool tools__merged_empty(const win_merged *m)
{
    /* n_series counts the series with a matching entry; nodes beyond the root exist only
     * for nonzero values, so zero-valued samples alone also leave nothing to show */
    return m->n_series == 0 || (m->total == 0 && m->n_nodes <= 1);
}

void tools__no_samples(tools__buf *b, const tools__args *a)
{
    char asked[128];
    asked_range(asked, sizeof asked, a);
    /* only what this one merge saw: the type's presence was checked at another instant */
    tools__printf(b,
                  "No samples in range: no sample of %s matches %s in %s. Widen start/end or "
                  "loosen the selector: list_profile_types shows each type's coverage, "
                  "list_label_values the values present.\n",
                  a->profile_type ? a->profile_type : "any type",
                  a->selector_text ? a->selector_text : "{}", asked);
}

void tools__human_total(char *out, size_t out_len, int64_t v, const char *unit)
{
    char h[32];
    tools__human(h, sizeof h, (double)v, unit);
    /* sums saturate (base_sat_add): say so rather than pass the cap off as exact */
    if (v == INT64_MAX || v == INT64_MIN)
        snprintf(out, out_len, "%s (capped: the sum exceeds what int64 holds)", h);
    else
        snprintf(out, out_len, "%s", h);
}

char *tools__base_url(tools *t)
{
    pthread_mutex_lock(&t->mu);
    char *u = t->http_base_url ? strdup(t->http_base_url) : NULL;
    pthread_mutex_unlock(&t->mu);
    return u;
}

void tools__urlencode(tools__buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            tools__append(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            tools__append(b, e, 3);
        }
    }
}

char *tools__base64(const uint8_t *p, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (len > SIZE_MAX / 4 - 3)
        return NULL;
    size_t olen = (len + 2) / 3 * 4;
    char *o = malloc(olen + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        o[j++] = tbl[v >> 18 & 63];
        o[j++] = tbl[v >> 12 & 63];
        o[j++] = i + 1 < len ? tbl[v >> 6 & 63] : '=';
        o[j++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    o[j] = '\0';
    return o;
}
