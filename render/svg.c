/* render/svg.c — the flame graph as an interactive SVG (written directly, no library):
 * one <g class="f"> per box with its numbers in data-* attributes, and a small script for
 * hover, zoom and search. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"

typedef struct svg_buf {
    char *p;
    size_t len, cap;
    bool nomem, over;
} svg_buf;

static void put(svg_buf *b, const char *s, size_t n)
{
    if (b->nomem || b->over)
        return;
    if (b->len + n + 1 > RENDER_MAX_SVG_BYTES) {
        b->over = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16 * 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->nomem = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* a string literal */
#define PUTS(b, lit) put((b), (lit), sizeof(lit) - 1)

static void putf(svg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(svg_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* XML text or attribute value: cleaned (render_clean_text), & < > " ' escaped, a newline
 * for '\n' in `nl` mode kept as &#10;. */
static void put_xml(svg_buf *b, const char *s, size_t cap)
{
    char clean[1024];
    if (cap > sizeof clean)
        cap = sizeof clean;
    render_clean_text(s ? s : "", clean, cap);
    const char *start = clean;
    for (const char *c = clean; *c; c++) {
        const char *rep = NULL;
        switch (*c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            break;
        }
        if (rep) {
            put(b, start, (size_t)(c - start));
            put(b, rep, strlen(rep));
            start = c + 1;
        }
    }
    put(b, start, strlen(start));
}

/* The label the server draws before any script runs: as many characters as the estimated
 * width allows, an ellipsis when cut (the script recomputes it the same way on zoom). */
static void put_label(svg_buf *b, const char *name, double w)
{
    if (w < RENDER__MIN_LABEL_W)
        return;
    char clean[RENDER_MAX_LABEL + 1];
    render_clean_text(name ? name : "", clean, sizeof clean);
    size_t max = (size_t)((w - 6) / RENDER__CHAR_W);
    /* count characters (UTF-8 lead bytes) */
    size_t chars = 0;
    for (const char *c = clean; *c; c++)
        chars += ((unsigned char)*c & 0xc0) != 0x80;
    if (chars <= max) {
        put_xml(b, clean, sizeof clean);
        return;
    }
    if (max < 2)
        return;
    size_t keep = max - 1, i = 0, seen = 0;
    for (; clean[i]; i++) {
        if (((unsigned char)clean[i] & 0xc0) != 0x80) {
            if (seen == keep)
                break;
            seen++;
        }
    }
    clean[i] = '\0';
    put_xml(b, clean, sizeof clean);
    put(b, "\xe2\x80\xa6", 3);
}

static const char SCRIPT[] =
    "(function () {\n"
    "  var svg = document.getElementById('otelprofd-flame');\n"
    "  if (!svg || svg.otelprofdReady) return;\n"
    "  svg.otelprofdReady = true;\n"
    "  var W = +svg.getAttribute('data-plot-width'), PAD = +svg.getAttribute('data-pad');\n"
    "  var TOTAL = +svg.getAttribute('data-total'), CW = 7;\n"
    "  var frames = [], byId = {};\n"
    "  var gs = svg.querySelectorAll('g.f');\n"
    "  for (var i = 0; i < gs.length; i++) {\n"
    "    var g = gs[i], r = g.querySelector('rect');\n"
    "    var f = { g: g, r: r, t: g.querySelector('text'), id: g.getAttribute('data-id'),\n"
    "      parent: g.getAttribute('data-parent'), name: g.getAttribute('data-name') || '',\n"
    "      x: +r.getAttribute('x'), w: +r.getAttribute('width'), fill: r.getAttribute('fill') };\n"
    "    frames.push(f); byId[f.id] = f;\n"
    "  }\n"
    "  var details = svg.querySelector('.details'), matched = svg.querySelector('.matched');\n"
    "  function label(f, w) {\n"
    "    if (!f.t) return;\n"
    "    var max = Math.floor((w - 6) / CW), n = f.name;\n"
    "    if (w < 21 || (n.length > max && max < 2)) f.t.textContent = '';\n"
    "    else if (n.length <= max) f.t.textContent = n;\n"
    "    else f.t.textContent = n.slice(0, max - 1) + '\\u2026';\n"
    "  }\n"
    "  function under(a, f) { /* a is f or one of its ancestors */\n"
    "    for (var c = f; c; c = byId[c.parent]) if (c === a) return true;\n"
    "    return false;\n"
    "  }\n"
    "  function place(f, x, w) {\n"
    "    f.g.style.display = '';\n"
    "    f.r.setAttribute('x', x.toFixed(2)); f.r.setAttribute('width', w.toFixed(2));\n"
    "    if (f.t) f.t.setAttribute('x', (x + 3).toFixed(2));\n"
    "    label(f, w);\n"
    "  }\n"
    "  function zoom(id) {\n"
    "    var z = byId[String(id)];\n"
    "    if (!z || !(z.w > 0)) return false;\n"
    "    var k = W / z.w;\n"
    "    frames.forEach(function (f) {\n"
    "      if (under(z, f)) { f.g.classList.remove('faded'); place(f, PAD + (f.x - z.x) * k, f.w * "
    "k); }\n"
    "      else if (under(f, z)) { f.g.classList.add('faded'); place(f, PAD, W); }\n"
    "      else f.g.style.display = 'none';\n"
    "    });\n"
    "    svg.setAttribute('data-zoom', z.id);\n"
    "    return true;\n"
    "  }\n"
    "  function reset() {\n"
    "    frames.forEach(function (f) { f.g.classList.remove('faded'); place(f, f.x, f.w); });\n"
    "    svg.removeAttribute('data-zoom');\n"
    "  }\n"
    "  function pct(v) { return TOTAL > 0 ? (100 * v / TOTAL).toFixed(2) : '0'; }\n"
    "  function search(re) {\n"
    "    var rx = null;\n"
    "    if (re) { try { rx = new RegExp(re); } catch (e) { if (matched) matched.textContent = "
    "'Bad regex: ' + e.message; return -1; } }\n"
    "    frames.forEach(function (f) {\n"
    "      var hit = !!rx && rx.test(f.name);\n"
    "      f.r.setAttribute('fill', hit ? 'rgb(230,0,230)' : f.fill);\n"
    "      if (hit) f.g.classList.add('match'); else f.g.classList.remove('match');\n"
    "    });\n"
    "    var sum = 0;\n"
    "    frames.forEach(function (f) {\n"
    "      if (!f.g.classList.contains('match')) return;\n"
    "      for (var a = byId[f.parent]; a; a = byId[a.parent]) if "
    "(a.g.classList.contains('match')) "
    "return;\n"
    "      sum += +f.g.getAttribute('data-cum');\n"
    "    });\n"
    "    if (rx) svg.setAttribute('data-matched', String(sum)); else "
    "svg.removeAttribute('data-matched');\n"
    "    if (matched) matched.textContent = rx ? 'Matched: ' + pct(sum) + '% of total' : '';\n"
    "    return sum;\n"
    "  }\n"
    "  function frameOf(e) { var t = e.target; return t && t.closest ? t.closest('g.f') : null; }\n"
    "  svg.addEventListener('mouseover', function (e) {\n"
    "    var g = frameOf(e); if (g && details) details.textContent = g.getAttribute('data-info');\n"
    "  });\n"
    "  svg.addEventListener('mouseout', function (e) { if (frameOf(e) && details) "
    "details.textContent = ' '; });\n"
    "  svg.addEventListener('click', function (e) {\n"
    "    var g = frameOf(e), t = e.target;\n"
    "    if (g) { zoom(g.getAttribute('data-id')); return; }\n"
    "    if (t && t.classList && t.classList.contains('reset')) { reset(); search(''); }\n"
    "    if (t && t.classList && t.classList.contains('search')) {\n"
    "      var s = window.prompt('Search frames (regular expression)', '');\n"
    "      if (s !== null) search(s);\n"
    "    }\n"
    "  });\n"
    "  (location.hash || '').replace(/^#/, '').split('&').forEach(function (kv) {\n"
    "    var i = kv.indexOf('='); if (i < 0) return;\n"
    "    var v; try { v = decodeURIComponent(kv.slice(i + 1)); } catch (e) { return; }\n"
    "    if (kv.slice(0, i) === 'zoom') zoom(v);\n"
    "    if (kv.slice(0, i) === 'search') search(v);\n"
    "  });\n"
    "  window.otelprofdFlame = { zoom: zoom, reset: reset, search: search };\n"
    "})();\n";

const char *render_flame_script(void)
{
    return SCRIPT;
}

base_err render_flame_svg(const render_flame_input *in, bool embedded, char **svg, size_t *len,
                          render_info *info, char *err, size_t err_len)
{
    *svg = NULL;
    *len = 0;
    render__layout l;
    base_err rc = render__layout_compute(in, &l, err, err_len);
    if (rc != BASE_OK)
        return rc;
    svg_buf b = {0};
    if (!embedded)
        putf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    putf(&b,
         "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"otelprofd-flame\" version=\"1.1\" "
         "width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" data-plot-width=\"%.2f\" "
         "data-pad=\"%.0f\" data-total=\"%lld\" data-root-cum=\"%lld\" data-drawn=\"%u\" "
         "data-narrow=\"%u\" data-deep=\"%u\" data-over=\"%u\" "
         "font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"12\">\n",
         l.width, l.height, l.width, l.height, l.plot_w, RENDER__PAD, (long long)l.pct_base,
         (long long)l.root_cum, l.info.drawn, l.info.narrow, l.info.deep, l.info.over);
    putf(&b, "<style>\n"
             "#otelprofd-flame .f { cursor: pointer; }\n"
             "#otelprofd-flame .f:hover rect { stroke: #000; stroke-width: 0.7; }\n"
             "#otelprofd-flame .f text { pointer-events: none; fill: #000; }\n"
             "#otelprofd-flame .faded rect { opacity: 0.55; }\n"
             "#otelprofd-flame .btn { cursor: pointer; fill: #1a4fa0; }\n"
             "#otelprofd-flame .note { fill: #555; }\n"
             "</style>\n");
    putf(&b, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#f8f8f5\"/>\n", l.width,
         l.height);
    putf(&b, "<text class=\"title\" x=\"%.0f\" y=\"20\" font-size=\"15\" font-weight=\"bold\">",
         RENDER__PAD);
    put_xml(&b, in->title ? in->title : "Flame graph", 512);
    putf(&b, "</text>\n");
    if (in->subtitle) {
        putf(&b, "<text class=\"subtitle\" x=\"%.0f\" y=\"38\">", RENDER__PAD);
        put_xml(&b, in->subtitle, 1024);
        putf(&b, "</text>\n");
    }
    putf(&b,
         "<text class=\"note\" x=\"%.0f\" y=\"53\">Root at the top; width = cum. Hover for "
         "numbers, click a frame to zoom.</text>\n"
         "<text class=\"btn search\" x=\"%.0f\" y=\"53\" text-anchor=\"end\">Search</text>\n"
         "<text class=\"btn reset\" x=\"%.0f\" y=\"53\" text-anchor=\"end\">Reset zoom</text>\n",
         RENDER__PAD, (double)l.width - RENDER__PAD, (double)l.width - RENDER__PAD - 70);
    putf(&b, "<g class=\"frames\">\n");
    for (uint32_t i = 0; i < l.n_boxes && !b.nomem && !b.over; i++) {
        const render__box *bx = &l.boxes[i];
        const render_node *r = &in->nodes[bx->node];
        double y = RENDER__HEADER_H + (double)bx->depth * RENDER__ROW_H;
        uint8_t rgb[3];
        if (r->is_other)
            rgb[0] = rgb[1] = rgb[2] = 190;
        else if (bx->node == 0)
            rgb[0] = 215, rgb[1] = 215, rgb[2] = 225;
        else
            render_color(r->name, r->kind, rgb);
        char cum[48], flat[48];
        render__value(in, cum, sizeof cum, r->cum);
        render__value(in, flat, sizeof flat, r->flat);
        putf(&b, "<g class=\"f\" data-id=\"%u\" data-parent=\"%d\" data-depth=\"%u\" data-name=\"",
             bx->node, r->parent, bx->depth);
        put_xml(&b, r->name, RENDER_MAX_LABEL + 1);
        putf(&b, "\" data-cum=\"%lld\" data-flat=\"%lld\"", (long long)r->cum, (long long)r->flat);
        if (r->kind && r->kind[0]) {
            PUTS(&b, " data-kind=\"");
            put_xml(&b, r->kind, 64);
            PUTS(&b, "\"");
        }
        PUTS(&b, " data-info=\"");
        put_xml(&b, r->name, RENDER_MAX_LABEL + 1);
        putf(&b, " | cum %s (%.2f%%), flat %s (%.2f%%)%s\">", cum, render__pct(r->cum, l.pct_base),
             flat, render__pct(r->flat, l.pct_base),
             r->truncated ? " | deeper frames not shown" : "");
        PUTS(&b, "<title>");
        put_xml(&b, r->name, RENDER_MAX_LABEL + 1);
        putf(&b, "&#10;cum %s (%.2f%%), flat %s (%.2f%%)</title>", cum,
             render__pct(r->cum, l.pct_base), flat, render__pct(r->flat, l.pct_base));
        putf(&b,
             "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%.0f\" "
             "fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>",
             bx->x, y, bx->w, RENDER__ROW_H - 1, rgb[0], rgb[1], rgb[2]);
        putf(&b, "<text x=\"%.2f\" y=\"%.1f\">", bx->x + 3, y + 12.5);
        put_label(&b, r->name, bx->w);
        putf(&b, "</text></g>\n");
    }
    putf(&b, "</g>\n");
    char note[256];
    render__cut_note(&l.info, note, sizeof note);
    double fy = RENDER__HEADER_H + (double)(l.max_depth + 1) * RENDER__ROW_H + 16;
    putf(&b, "<text class=\"details\" x=\"%.0f\" y=\"%.0f\"> </text>\n", RENDER__PAD, fy);
    putf(&b, "<text class=\"matched\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\"></text>\n",
         (double)l.width - RENDER__PAD, fy);
    putf(&b, "<text class=\"note\" x=\"%.0f\" y=\"%.0f\">%u frames drawn%s%s</text>\n", RENDER__PAD,
         fy + 15, l.n_boxes, note[0] ? "; " : "", note);
    if (!embedded) {
        PUTS(&b, "<script type=\"text/ecmascript\"><![CDATA[\n");
        put(&b, SCRIPT, sizeof SCRIPT - 1);
        PUTS(&b, "]]></script>\n");
    }
    putf(&b, "</svg>\n");
    if (info)
        *info = l.info;
    render__layout_free(&l);
    if (b.nomem || b.over) {
        free(b.p);
        if (b.over) {
            snprintf(err, err_len, "the SVG is over %zu bytes", RENDER_MAX_SVG_BYTES);
            return BASE_ERR_TOO_LARGE;
        }
        snprintf(err, err_len, "out of memory");
        return BASE_ERR_NOMEM;
    }
    *svg = b.p;
    *len = b.len;
    if (info)
        info->bytes = b.len;
    return BASE_OK;
}
