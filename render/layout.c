/* render/layout.c — validation of the rows, box geometry, colours and text cleaning shared
 * by the PNG and the SVG. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"

double render__pct(int64_t v, int64_t base)
{
    return base > 0 ? 100.0 * (double)v / (double)base : 0.0;
}

void render__value(const render_flame_input *in, char *out, size_t out_len, int64_t v)
{
    if (in->human)
        in->human(out, out_len, (double)v, in->unit ? in->unit : "");
    else
        snprintf(out, out_len, "%lld", (long long)v);
}

void render__cut_note(const render_info *info, char *out, size_t out_len)
{
    out[0] = '\0';
    size_t n = 0;
    if (info->narrow)
        n +=
            (size_t)snprintf(out + n, out_len - n, "%u frames narrower than a pixel", info->narrow);
    if (info->deep && n < out_len)
        n += (size_t)snprintf(out + n, out_len - n, "%s%u frames deeper than %u levels",
                              n ? ", " : "", info->deep, RENDER_MAX_DEPTH);
    if (info->over && n < out_len)
        n += (size_t)snprintf(out + n, out_len - n, "%s%u frames past %u boxes", n ? ", " : "",
                              info->over, RENDER_MAX_FRAMES);
    if (n && n < out_len)
        snprintf(out + n, out_len - n, " not drawn");
}

/* Why a node is not drawn. */
enum { WHY_DRAWN, WHY_NARROW, WHY_DEEP, WHY_OVER };

static void count_why(render_info *info, uint8_t why)
{
    if (why == WHY_NARROW)
        info->narrow++;
    else if (why == WHY_DEEP)
        info->deep++;
    else if (why == WHY_OVER)
        info->over++;
}

base_err render__layout_compute(const render_flame_input *in, render__layout *l, char *err,
                                size_t err_len)
{
    memset(l, 0, sizeof *l);
    if (!in || (in->n_nodes && !in->nodes)) {
        snprintf(err, err_len, "no rows to draw");
        return BASE_ERR_BAD_ARGUMENT;
    }
    if (in->n_nodes > RENDER_MAX_NODES) {
        snprintf(err, err_len, "%u rows to draw, at most %u", in->n_nodes, RENDER_MAX_NODES);
        return BASE_ERR_BAD_ARGUMENT;
    }
    for (uint32_t i = 0; i < in->n_nodes; i++) {
        int32_t p = in->nodes[i].parent;
        if (i == 0 ? p != -1 : (p < 0 || (uint32_t)p >= i)) {
            snprintf(err, err_len, "row %u: parent %d is not an earlier row", i, p);
            return BASE_ERR_BAD_ARGUMENT;
        }
    }
    uint32_t w = in->width ? in->width : RENDER_DEFAULT_WIDTH;
    if (w < RENDER_MIN_WIDTH)
        w = RENDER_MIN_WIDTH;
    if (w > RENDER_MAX_WIDTH)
        w = RENDER_MAX_WIDTH;
    l->width = w;
    l->plot_w = (double)w - 2 * RENDER__PAD;
    l->root_cum = in->n_nodes ? in->nodes[0].cum : 0;
    l->pct_base = in->total > 0 ? in->total : l->root_cum;
    size_t n = in->n_nodes;
    /* per node: x offset in px (-1 = not drawn), next child's x, depth */
    double *x = malloc((n ? n : 1) * sizeof *x);
    double *next = malloc((n ? n : 1) * sizeof *next);
    uint32_t *depth = malloc((n ? n : 1) * sizeof *depth);
    uint8_t *why = malloc(n ? n : 1);
    l->boxes = malloc((n < RENDER_MAX_FRAMES ? (n ? n : 1) : RENDER_MAX_FRAMES) * sizeof *l->boxes);
    if (!x || !next || !depth || !why || !l->boxes) {
        free(why);
        free(x);
        free(next);
        free(depth);
        render__layout_free(l);
        snprintf(err, err_len, "out of memory");
        return BASE_ERR_NOMEM;
    }
    double scale = l->root_cum > 0 ? l->plot_w / (double)l->root_cum : 0.0;
    for (uint32_t i = 0; i < n; i++) {
        const render_node *r = &in->nodes[i];
        int32_t p = r->parent;
        depth[i] = p < 0 ? 0 : depth[p] + 1;
        double bw = r->cum > 0 ? (double)r->cum * scale : 0.0;
        x[i] = -1;
        next[i] = 0;
        if (p >= 0 && x[p] < 0) { /* the parent was not drawn: neither is its subtree,
                                     counted under the parent's reason */
            why[i] = depth[i] > RENDER_MAX_DEPTH ? WHY_DEEP : why[p];
            count_why(&l->info, why[i]);
            continue;
        }
        double bx = p < 0 ? RENDER__PAD : next[p];
        if (p >= 0 && r->cum > 0)
            next[p] += bw;
        why[i] = depth[i] > RENDER_MAX_DEPTH       ? WHY_DEEP
                 : bw < 1.0                        ? WHY_NARROW
                 : l->n_boxes >= RENDER_MAX_FRAMES ? WHY_OVER
                                                   : WHY_DRAWN;
        if (why[i] != WHY_DRAWN) {
            count_why(&l->info, why[i]);
            continue;
        }
        x[i] = bx;
        next[i] = bx;
        l->boxes[l->n_boxes++] = (render__box){.node = i, .depth = depth[i], .x = bx, .w = bw};
        if (depth[i] > l->max_depth)
            l->max_depth = depth[i];
    }
    free(why);
    free(x);
    free(next);
    free(depth);
    double h = RENDER__HEADER_H + (double)(l->max_depth + 1) * RENDER__ROW_H + RENDER__FOOTER_H;
    l->height = (uint32_t)h;
    l->info.width = l->width;
    l->info.height = l->height;
    l->info.drawn = l->n_boxes;
    return BASE_OK;
}

void render__layout_free(render__layout *l)
{
    free(l->boxes);
    l->boxes = NULL;
    l->n_boxes = 0;
}

/* ---- colours ------------------------------------------------------------------------ */

size_t render_package_len(const char *name)
{
    if (!name)
        return 0;
    const char *cc = strstr(name, "::");
    const char *paren = strchr(name, '(');
    if (cc && (!paren || cc < paren))
        return (size_t)(cc - name);
    /* Go: the import path up to its last '/', then up to the first '.' after it
     * ("net/http.(*conn).serve" -> "net/http"); Java-like names keep their first part. */
    size_t end = paren ? (size_t)(paren - name) : strlen(name);
    size_t slash = 0;
    for (size_t i = 0; i < end; i++)
        if (name[i] == '/')
            slash = i + 1;
    for (size_t i = slash; i < end; i++)
        if (name[i] == '.')
            return i;
    return slash ? slash - 1 : 0;
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Hue ranges per frame kind (degrees), chosen as flamegraph.pl's palettes do: warm for
 * native code, orange for the kernel, green for the JVM, aqua for Go, yellow for Python. */
static bool kind_hue(const char *kind, double *lo, double *hi)
{
    static const struct {
        const char *kind;
        double lo, hi;
    } K[] = {
        {"kernel", 25, 40},  {"native", 0, 18},    {"go", 175, 195},   {"jvm", 95, 125},
        {"cpython", 50, 62}, {"v8js", 265, 290},   {"php", 230, 250},  {"ruby", 340, 355},
        {"perl", 300, 320},  {"dotnet", 205, 225}, {"beam", 140, 160},
    };
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++)
        if (strcmp(kind, K[i].kind) == 0) {
            *lo = K[i].lo;
            *hi = K[i].hi;
            return true;
        }
    return false;
}

static void hsl(double hdeg, double s, double li, uint8_t rgb[3])
{
    double c = (1 - (2 * li - 1 < 0 ? -(2 * li - 1) : 2 * li - 1)) * s;
    double hp = hdeg / 60.0;
    double m2 = hp - 2 * (double)(int)(hp / 2);
    double xx = c * (1 - (m2 - 1 < 0 ? -(m2 - 1) : m2 - 1));
    double r = 0, g = 0, b = 0;
    int seg = (int)hp % 6;
    switch (seg) {
    case 0:
        r = c, g = xx;
        break;
    case 1:
        r = xx, g = c;
        break;
    case 2:
        g = c, b = xx;
        break;
    case 3:
        g = xx, b = c;
        break;
    case 4:
        r = xx, b = c;
        break;
    default:
        r = c, b = xx;
        break;
    }
    double m = li - c / 2;
    rgb[0] = (uint8_t)((r + m) * 255.0 + 0.5);
    rgb[1] = (uint8_t)((g + m) * 255.0 + 0.5);
    rgb[2] = (uint8_t)((b + m) * 255.0 + 0.5);
}

void render_color(const char *name, const char *kind, uint8_t rgb[3])
{
    const char *nm = name ? name : "";
    size_t pl = render_package_len(nm);
    uint64_t h = fnv1a(nm, pl ? pl : strlen(nm));
    double v1 = (double)(h & 0xffff) / 65535.0, v2 = (double)((h >> 16) & 0xffff) / 65535.0;
    double lo, hi;
    if (kind && *kind && kind_hue(kind, &lo, &hi)) {
        hsl(lo + (hi - lo) * v1, 0.55 + 0.2 * v2, 0.55 + 0.1 * v1, rgb);
        return;
    }
    if (kind && *kind) { /* a kind without its own hue: a grey-blue by kind */
        uint64_t k = fnv1a(kind, strlen(kind));
        hsl((double)(k % 360), 0.25, 0.62 + 0.08 * v2, rgb);
        return;
    }
    /* flamegraph.pl's "hot" palette: red to yellow */
    rgb[0] = (uint8_t)(205 + (int)(50 * v2));
    rgb[1] = (uint8_t)(230 * v1);
    rgb[2] = (uint8_t)(55 * v2);
}

/* ---- text ------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (XML-allowed code point), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return (c >= 0x20 && c != 0x7f) ? 1 : 0;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0; /* overlong or past Unicode */
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff || (cp >= 0x80 && cp < 0xa0))
        return 0; /* surrogates, non-characters XML refuses, C1 controls */
    return n;
}

size_t render_clean_text(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    while (*s) {
        size_t n = utf8_seq(s);
        size_t take = n ? n : 1;
        if (o + (n ? n : 1) >= cap)
            break;
        if (n)
            memcpy(out + o, s, n);
        else
            out[o] = '?';
        o += n ? n : 1;
        s += take;
    }
    out[o] = '\0';
    return o;
}
