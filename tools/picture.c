/* tools/picture.c — flame graphs to look at: query_profile_flamegraph "format": "image"
 * (PNG as MCP image content), GET /flamegraph.svg (interactive SVG) and GET / (a small
 * offline page: pick profile type, service and range, see the flame graph and the top
 * table). The drawing is render/'s; this file runs the query and says what was cut. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "tools/tools_internal.h"

bool tools__flame_format_is_image(const cJSON *args)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(args, "format");
    return cJSON_IsString(f) && f->valuestring && strcmp(f->valuestring, "image") == 0;
}

void tools__picture_free(tools__picture *pic)
{
    free(pic->data);
    free(pic->text);
    cJSON_Delete(pic->structured);
    memset(pic, 0, sizeof *pic);
}

/* What the picture left out, as one clause ("" when nothing). */
static void not_drawn(tools__buf *b, const render_info *ri)
{
    if (ri->narrow)
        tools__printf(b, "; %u frames narrower than a pixel not drawn", ri->narrow);
    if (ri->deep)
        tools__printf(b, "; %u frames deeper than %u levels not drawn", ri->deep, RENDER_MAX_DEPTH);
    if (ri->over)
        tools__printf(b, "; %u frames past %u boxes not drawn", ri->over, RENDER_MAX_FRAMES);
}

int tools__flame_picture(tools *t, const cJSON *args, tools__picture_kind kind, tools__picture *pic,
                         mcp_tool_result *out)
{
    memset(pic, 0, sizeof *pic);
    const char *path[TOOLS__MAX_FOCUS];
    query_flame_opts o = {0};
    double min_pct;
    uint32_t width;
    /* a picture has no token cost per row, so it shows more of the tree by default */
    if (tools__focus_arg(args, path, &o.n_focus, out) != 0 ||
        tools__uint_arg(args, "max_depth", 16, 1, 256, &o.max_depth, out) != 0 ||
        tools__double_arg(args, "min_percent", 0.5, 0, 100, &min_pct, out) != 0 ||
        tools__uint_arg(args, "max_nodes", 300, 2, 2000, &o.max_nodes, out) != 0 ||
        tools__uint_arg(args, "width", RENDER_DEFAULT_WIDTH, RENDER_MIN_WIDTH, RENDER_MAX_WIDTH,
                        &width, out) != 0)
        return -1;
    o.focus_path = path;
    o.min_percent = min_pct;
    tools__args a;
    /* frame_type keeps or drops frames by kind, as on the text flame graph */
    win_merged *m = tools__parse_and_merge_frames(t, args, false, &a, out);
    if (!m)
        return -1;
    const char *unit = tools__unit_of(a.profile_type);
    char err[512] = "";
    query_flame *f = query_flame_compute(m, &o, err, sizeof err);
    int rc = -1;
    tools__buf b = {0};
    render_node *nodes = NULL;
    if (!f) {
        tools__error(out, "cannot build the call tree: %s", err[0] ? err : "out of memory");
        goto done;
    }
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "profile_type", a.profile_type);
    cJSON_AddStringToObject(s, "unit", unit);
    cJSON_AddStringToObject(s, "selector", a.selector_text);
    if (tools__merged_empty(m)) {
        tools__header(&b, "Flame graph", &a, m);
        tools__no_samples(&b, &a);
        cJSON_AddNumberToObject(s, "total", 0);
        cJSON_AddNumberToObject(s, "root_cum", 0);
        mcp_json_add(s, "rows", cJSON_CreateArray());
        pic->structured = s;
        pic->text = tools__take(&b);
        rc = 0;
        goto done;
    }
    if (!f->focus_found) {
        cJSON_Delete(s);
        tools__focus_not_found(m, path, o.n_focus, out);
        goto done;
    }
    /* title: the header line; subtitle: the total and what the query pruned */
    tools__header(&b, "Flame graph", &a, m);
    size_t title_len = b.len ? b.len - 1 : 0;
    tools__flame_total(&b, m, f, path, o.n_focus, unit);
    tools__printf(&b,
                  "; %u rows, %u nodes pruned (children under %g%% of the root folded into "
                  "\"(other)\", max_nodes %u, max_depth %u).",
                  f->n_rows, f->n_pruned, o.min_percent, o.max_nodes, o.max_depth);
    if (b.err != BASE_OK) {
        cJSON_Delete(s);
        tools__error(out, TOOLS__OOM_TEXT);
        goto done;
    }
    size_t sub_end = b.len;
    nodes = calloc(f->n_rows ? f->n_rows : 1, sizeof *nodes);
    char *title = strndup(b.p, title_len);
    char *subtitle = strndup(b.p + title_len + 1, sub_end - title_len - 1);
    if (!nodes || !title || !subtitle) {
        free(title);
        free(subtitle);
        cJSON_Delete(s);
        tools__error(out, TOOLS__OOM_TEXT);
        goto done;
    }
    for (uint32_t i = 0; i < f->n_rows; i++) {
        const query_flame_row *r = &f->rows[i];
        nodes[i] = (render_node){.parent = r->parent,
                                 .cum = r->cum,
                                 .flat = r->flat,
                                 .name = r->name,
                                 .kind = r->frame_type, /* NULL or "" when not sent */
                                 .is_other = r->is_other,
                                 .truncated = r->truncated};
    }
    render_flame_input in = {.nodes = nodes,
                             .n_nodes = f->n_rows,
                             .title = title,
                             .subtitle = subtitle,
                             .unit = unit,
                             .human = tools__human,
                             .total = m->total,
                             .width = width};
    render_info ri;
    memset(&ri, 0, sizeof ri);
    char *svg = NULL;
    base_err re;
    if (kind == TOOLS__PICTURE_PNG) {
        re = render_flame_png(&in, &pic->data, &pic->len, &ri, err, sizeof err);
    } else {
        re = render_flame_svg(&in, kind == TOOLS__PICTURE_SVG_EMBEDDED, &svg, &pic->len, &ri, err,
                              sizeof err);
        pic->data = (uint8_t *)svg;
    }
    free(title);
    free(subtitle);
    if (re != BASE_OK) {
        cJSON_Delete(s);
        tools__error(out, "cannot draw the flame graph: %s", err[0] ? err : base_err_str(re));
        goto done;
    }
    pic->width = ri.width;
    pic->height = ri.height;
    tools__printf(&b, "\n%s: %ux%u px, %zu bytes; %u frames drawn",
                  kind == TOOLS__PICTURE_PNG ? "Image (PNG)" : "SVG", ri.width, ri.height, pic->len,
                  ri.drawn);
    not_drawn(&b, &ri);
    bool kinds = false;
    for (uint32_t i = 0; i < f->n_rows && !kinds; i++)
        kinds = nodes[i].kind && nodes[i].kind[0];
    tools__printf(&b, ". Root at the top, width = cum, colour by %s, grey = (other).\n",
                  kinds ? "frame kind (shaded by package)" : "package");
    tools__printf(&b, "Next: the same call with \"format\": \"text\" gives the rows (id, "
                      "parent, cum, flat, name); zoom with focus_path = names from the root.\n");
    tools__add_time(s, "start", m->start_ns, m->start_ns < m->end_ns);
    tools__add_time(s, "end", m->end_ns, m->start_ns < m->end_ns);
    cJSON_AddNumberToObject(s, "total", (double)m->total);
    cJSON_AddNumberToObject(s, "series", m->n_series);
    cJSON_AddNumberToObject(s, "root_cum", (double)f->root_cum);
    cJSON_AddNumberToObject(s, "pruned", f->n_pruned);
    mcp_json_add(s, "rows", tools__flame_rows_json(f)); /* the same rows as format text */
    cJSON *img = cJSON_CreateObject();
    cJSON_AddStringToObject(img, "mime_type",
                            kind == TOOLS__PICTURE_PNG ? "image/png" : "image/svg+xml");
    cJSON_AddNumberToObject(img, "width", ri.width);
    cJSON_AddNumberToObject(img, "height", ri.height);
    cJSON_AddNumberToObject(img, "bytes", (double)pic->len);
    cJSON_AddNumberToObject(img, "drawn", ri.drawn);
    cJSON_AddNumberToObject(img, "not_drawn", (double)ri.narrow + ri.deep + ri.over);
    mcp_json_add(s, "image", img);
    if (b.err != BASE_OK) {
        cJSON_Delete(s);
        free(pic->data);
        pic->data = NULL;
        tools__error(out, TOOLS__OOM_TEXT);
        goto done;
    }
    pic->structured = s;
    pic->text = tools__take(&b);
    rc = 0;
done:
    free(nodes);
    tools__buf_free(&b);
    query_flame_free(f);
    win_merged_free(m);
    tools__args_free(&a);
    return rc;
}

int tools__flamegraph_image(tools *t, const cJSON *args, mcp_tool_result *out)
{
    tools__picture pic;
    if (tools__flame_picture(t, args, TOOLS__PICTURE_PNG, &pic, out) != 0)
        return 0;
    out->text = pic.text;
    pic.text = NULL;
    out->structured = pic.structured;
    pic.structured = NULL;
    if (pic.data) {
        char *b64 = tools__base64(pic.data, pic.len);
        if (!b64) {
            free(out->text);
            out->text = NULL;
            cJSON_Delete(out->structured);
            out->structured = NULL;
            tools__picture_free(&pic);
            tools__error(out, TOOLS__OOM_TEXT);
            return 0;
        }
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "type", "image");
        cJSON_AddStringToObject(item, "data", b64);
        cJSON_AddStringToObject(item, "mimeType", "image/png");
        free(b64);
        out->extra_content = cJSON_CreateArray();
        mcp_json_push(out->extra_content, item);
    }
    tools__picture_free(&pic);
    return 0;
}

/* ---- HTTP: /flamegraph.svg and the page ------------------------------------------------ */

/* Nothing on these answers may load anything from elsewhere; the SVG's own script and the
 * page's inline script and style are all they run. */
static const char CSP[] = "default-src 'none'; script-src 'unsafe-inline'; style-src "
                          "'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; "
                          "form-action 'self'";

static const char *const QUERY_ARGS[] = {"profile_type", "selector",   "service_name", "start",
                                         "end",          "max_depth",  "min_percent",  "max_nodes",
                                         "width",        "frame_type", "trace_id",     "span_id"};

/* The query string as tool arguments (strings; the argument readers parse numbers).
 * focus_path is a JSON array ("[\"main\",\"f\"]") or one frame name. */
static cJSON *args_from_query(mcp_http_arg_fn arg, void *conn)
{
    cJSON *args = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof QUERY_ARGS / sizeof QUERY_ARGS[0]; i++) {
        const char *v = arg(conn, QUERY_ARGS[i]);
        if (v && *v)
            cJSON_AddStringToObject(args, QUERY_ARGS[i], v);
    }
    const char *fp = arg(conn, "focus_path");
    if (fp && *fp) {
        cJSON *list = fp[0] == '[' ? cJSON_Parse(fp) : NULL;
        mcp_json_add(args, "focus_path", list ? list : cJSON_CreateString(fp));
    }
    return args;
}

static bool respond_text(mcp_http_response *out, int status, const char *text)
{
    out->status = status;
    out->content_type = "text/plain; charset=utf-8";
    size_t n = strlen(text);
    out->body = malloc(n + 1);
    if (out->body)
        memcpy(out->body, text, n + 1);
    out->len = out->body ? n : 0;
    return true;
}

bool tools__serve_flame_svg(tools *t, mcp_http_arg_fn arg, void *conn, mcp_http_response *out)
{
    if (!arg(conn, "profile_type") || !*arg(conn, "profile_type")) {
        char *types = tools__types_present(t);
        tools__buf b = {0};
        tools__printf(&b,
                      "missing profile_type: e.g. /flamegraph.svg?profile_type=cpu:nanoseconds"
                      "&selector={service.name=\"checkout\"}&start=now-15m. Profile types "
                      "present: %s\n",
                      types ? types : "?");
        free(types);
        char *text = tools__take(&b);
        respond_text(out, 400, text ? text : "missing profile_type\n");
        free(text);
        return true;
    }
    cJSON *args = args_from_query(arg, conn);
    tools__picture pic;
    mcp_tool_result res = {0};
    if (!args || tools__flame_picture(t, args, TOOLS__PICTURE_SVG, &pic, &res) != 0) {
        respond_text(out, args ? 400 : 500, res.text ? res.text : "out of memory");
        free(res.text);
        cJSON_Delete(args);
        return true;
    }
    cJSON_Delete(args);
    if (!pic.data) { /* no samples: the header says so */
        respond_text(out, 404, pic.text ? pic.text : "no samples in range\n");
        tools__picture_free(&pic);
        return true;
    }
    out->status = 200;
    out->content_type = "image/svg+xml; charset=utf-8";
    out->body = pic.data;
    out->len = pic.len;
    pic.data = NULL;
    out->extra_header_name = "Content-Security-Policy";
    out->extra_header_value = CSP;
    out->extra_header2_name = "X-Content-Type-Options";
    out->extra_header2_value = "nosniff";
    tools__picture_free(&pic);
    return true;
}

/* HTML-escaped text (& < > " ') onto `b`. */
static void html(tools__buf *b, const char *s)
{
    for (const char *c = s ? s : ""; *c; c++) {
        switch (*c) {
        case '&':
            tools__printf(b, "&amp;");
            break;
        case '<':
            tools__printf(b, "&lt;");
            break;
        case '>':
            tools__printf(b, "&gt;");
            break;
        case '"':
            tools__printf(b, "&quot;");
            break;
        case '\'':
            tools__printf(b, "&#39;");
            break;
        default:
            tools__append(b, c, 1);
            break;
        }
    }
}

#define PAGE_MAX_OPTIONS 200 /* services offered in the page's list */

static const char PAGE_STYLE[] =
    "body{font:14px/1.4 'DejaVu Sans',Verdana,sans-serif;margin:16px;color:#222;"
    "background:#fff}h1{font-size:18px;margin:0 0 8px}form{margin:0 0 10px}"
    "label{margin-right:10px}input,select,button{font:inherit}input[type=text]{width:14em}"
    ".msg{padding:8px;background:#fff4d6;border:1px solid #e0c060;margin:8px 0}"
    "#flame{overflow-x:auto;margin:8px 0}"
    "table{border-collapse:collapse;margin-top:8px}td,th{padding:2px 8px;text-align:right;"
    "border-bottom:1px solid #eee}td.fn,th.fn{text-align:left;font-family:'DejaVu Sans Mono',"
    "monospace}caption{text-align:left;font-weight:bold;padding:4px 0}.hint{color:#666}";

static void page_option(tools__buf *b, const char *value, const char *label, const char *current)
{
    tools__printf(b, "<option value=\"");
    html(b, value);
    tools__printf(b, "\"%s>", current && strcmp(current, value) == 0 ? " selected" : "");
    html(b, label);
    tools__printf(b, "</option>");
}

static void page_input(tools__buf *b, const char *name, const char *label, const char *value,
                       const char *placeholder)
{
    tools__printf(b, "<label>%s <input type=\"text\" name=\"%s\" id=\"in-%s\" value=\"", label,
                  name, name);
    html(b, value ? value : "");
    tools__printf(b, "\" placeholder=\"");
    html(b, placeholder);
    tools__printf(b, "\"></label>");
}

/* The top table (query_profile_table's structuredContent) as HTML rows. */
static void page_table(tools *t, tools__buf *b, const cJSON *args, const char *unit)
{
    cJSON *targs = cJSON_Duplicate(args, true);
    if (!targs)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(targs, "max_depth");
    cJSON_DeleteItemFromObjectCaseSensitive(targs, "min_percent");
    cJSON_DeleteItemFromObjectCaseSensitive(targs, "max_nodes");
    cJSON_DeleteItemFromObjectCaseSensitive(targs, "width");
    cJSON_DeleteItemFromObjectCaseSensitive(targs, "focus_path");
    cJSON_AddNumberToObject(targs, "limit", 25);
    mcp_tool_result res = {0};
    tools__table(t, NULL, targs, &res);
    cJSON_Delete(targs);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(res.structured, "rows");
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(res.structured, "total");
    if (!res.is_error && cJSON_IsArray(rows) && cJSON_IsNumber(total)) {
        double tot = total->valuedouble;
        tools__printf(b, "<table id=\"top\"><caption>Top functions by flat</caption><tr><th>flat"
                         "</th><th>flat%%</th><th>cum</th><th>cum%%</th><th class=\"fn\">"
                         "function</th><th class=\"fn\">file</th></tr>\n");
        const cJSON *r;
        cJSON_ArrayForEach(r, rows)
        {
            const cJSON *fl = cJSON_GetObjectItemCaseSensitive(r, "flat");
            const cJSON *cu = cJSON_GetObjectItemCaseSensitive(r, "cum");
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(r, "function");
            const cJSON *fi = cJSON_GetObjectItemCaseSensitive(r, "file");
            double flat = cJSON_IsNumber(fl) ? fl->valuedouble : 0;
            double cum = cJSON_IsNumber(cu) ? cu->valuedouble : 0;
            char hf[32], hc[32];
            tools__human(hf, sizeof hf, flat, unit);
            tools__human(hc, sizeof hc, cum, unit);
            tools__printf(b,
                          "<tr data-flat=\"%.0f\" data-cum=\"%.0f\"><td>%s</td><td>%.2f</td>"
                          "<td>%s</td><td>%.2f</td><td class=\"fn\">",
                          flat, cum, hf, tot != 0 ? 100 * flat / tot : 0, hc,
                          tot != 0 ? 100 * cum / tot : 0);
            html(b, cJSON_IsString(fn) ? fn->valuestring : "");
            tools__printf(b, "</td><td class=\"fn\">");
            html(b, cJSON_IsString(fi) ? fi->valuestring : "");
            tools__printf(b, "</td></tr>\n");
        }
        tools__printf(b, "</table>\n");
    }
    free(res.text);
    cJSON_Delete(res.structured);
    cJSON_Delete(res.extra_content);
}

bool tools__serve_page(tools *t, mcp_http_arg_fn arg, void *conn, mcp_http_response *out)
{
    /* a listing that fails (out of memory) leaves the page's menus empty */
    win_listing *types = win_list_profile_types(t->store, NULL, INT64_MIN, INT64_MAX, NULL);
    const char *type = arg(conn, "profile_type");
    const win_type_info *ti = types ? types->rows : NULL;
    size_t n_types = types ? types->n_rows : 0;
    if ((!type || !*type) && n_types) { /* default: CPU when present, else the first */
        type = ti[0].profile_type;
        for (size_t i = 0; i < n_types; i++)
            if (strcmp(ti[i].profile_type, "cpu:nanoseconds") == 0)
                type = ti[i].profile_type;
    }
    const char *service = arg(conn, "service_name");
    tools__buf b = {0};
    tools__printf(&b,
                  "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<title>otelprofd flame graph</title><style>%s</style></head><body>\n"
                  "<h1>otelprofd</h1>\n<form method=\"get\" action=\"/\">",
                  PAGE_STYLE);
    tools__printf(&b, "<label>Profile type <select name=\"profile_type\" id=\"in-profile_type\">");
    for (size_t i = 0; i < n_types; i++)
        page_option(&b, ti[i].profile_type, ti[i].profile_type, type);
    tools__printf(&b, "</select></label>");
    tools__printf(&b, "<label>Service <select name=\"service_name\" id=\"in-service_name\">");
    page_option(&b, "", "(all)", service ? service : "");
    if (type && *type) {
        win_query q = {
            .profile_type = type, .selector = NULL, .start_ns = INT64_MIN, .end_ns = INT64_MAX};
        win_listing *sv = win_list_label_values(t->store, &q, "service.name", NULL);
        const win_label_value *lv = sv ? sv->rows : NULL;
        for (size_t i = 0; sv && i < sv->n_rows && i < PAGE_MAX_OPTIONS; i++)
            if (lv[i].value && *lv[i].value)
                page_option(&b, lv[i].value, lv[i].value, service);
        win_listing_free(sv);
    }
    tools__printf(&b, "</select></label>");
    page_input(&b, "selector", "Selector", arg(conn, "selector"), "{k8s.namespace.name=\"prod\"}");
    page_input(&b, "start", "From", arg(conn, "start"), "now-15m (empty: all)");
    page_input(&b, "end", "To", arg(conn, "end"), "now");
    tools__printf(&b, "<button type=\"submit\">Show</button></form>\n");
    if (!n_types) {
        tools__printf(&b, "<p class=\"msg\" id=\"msg\">No profiles yet: send OTLP profiles to "
                          "otelprofd (gRPC 4317, HTTP 4318), or start it with --demo.</p>\n");
    } else {
        cJSON *args = args_from_query(arg, conn);
        if (args && !cJSON_GetObjectItemCaseSensitive(args, "profile_type"))
            cJSON_AddStringToObject(args, "profile_type", type);
        tools__picture pic;
        mcp_tool_result res = {0};
        if (!args || tools__flame_picture(t, args, TOOLS__PICTURE_SVG_EMBEDDED, &pic, &res) != 0) {
            tools__printf(&b, "<p class=\"msg\" id=\"msg\">");
            html(&b, res.text ? res.text : "out of memory");
            tools__printf(&b, "</p>\n");
            free(res.text);
        } else {
            if (!pic.data) {
                tools__printf(&b, "<p class=\"msg\" id=\"msg\">");
                html(&b, pic.text ? pic.text : "no samples in range");
                tools__printf(&b, "</p>\n");
            } else {
                tools__printf(&b, "<p class=\"hint\">Hover a frame for its numbers, click to "
                                  "zoom; <label>search <input type=\"text\" id=\"search\" "
                                  "placeholder=\"regex\" oninput=\"window.otelprofdFlame && "
                                  "window.otelprofdFlame.search(this.value)\"></label> "
                                  "<a href=\"/flamegraph.svg?");
                /* the same query as a standalone SVG */
                for (size_t i = 0; i < sizeof QUERY_ARGS / sizeof QUERY_ARGS[0]; i++) {
                    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, QUERY_ARGS[i]);
                    if (!cJSON_IsString(v))
                        continue;
                    tools__buf enc = {0};
                    tools__urlencode(&enc, v->valuestring);
                    tools__printf(&b, "%s%s=", i ? "&amp;" : "", QUERY_ARGS[i]);
                    html(&b, enc.p ? enc.p : "");
                    tools__buf_free(&enc);
                }
                tools__printf(&b, "\">SVG</a></p>\n<div id=\"flame\">");
                tools__append(&b, (const char *)pic.data, pic.len);
                tools__printf(&b, "</div>\n<script>%s</script>\n", render_flame_script());
            }
            page_table(t, &b, args, tools__unit_of(type));
            tools__picture_free(&pic);
        }
        cJSON_Delete(args);
    }
    tools__printf(&b, "</body></html>\n");
    win_listing_free(types);
    if (b.err != BASE_OK) {
        tools__buf_free(&b);
        return respond_text(out, 500, "answer too large or out of memory\n");
    }
    out->status = 200;
    out->content_type = "text/html; charset=utf-8";
    out->len = b.len;
    out->body = (uint8_t *)tools__take(&b);
    if (!out->body)
        out->len = 0;
    out->extra_header_name = "Content-Security-Policy";
    out->extra_header_value = CSP;
    out->extra_header2_name = "X-Content-Type-Options";
    out->extra_header2_value = "nosniff";
    return true;
}
