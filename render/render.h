/* render/render.h — flame graphs to look at: a PNG (cairo) for models, an interactive SVG
 * and the colours both use.
 *
 * Purpose: draw a call tree that query/ computed (rows with a parent index, cum and flat)
 * as a picture. The layout is an icicle: the root spans the whole width at the top, each
 * child sits below its parent, children left to right in the order given (query_flame
 * sorts them by cum), a child's width is its cum over the root's cum, and the space to the
 * right of a parent's children is its flat (self) value. The PNG goes to a multimodal model
 * as MCP image content; the SVG carries a small script (hover shows name/cum/flat/%, click
 * zooms, search highlights), in the spirit of flamegraph.pl, and no external resource.
 *
 * Everything is bounded: at most RENDER_MAX_FRAMES boxes, RENDER_MAX_DEPTH levels, labels
 * of RENDER_MAX_LABEL bytes, RENDER_MAX_PNG_BYTES / RENDER_MAX_SVG_BYTES of output; boxes
 * narrower than a pixel are not drawn, and `render_info` counts what was left out so the
 * caller can say so. Names are hostile input: invalid UTF-8 and control characters become
 * '?', XML is escaped.
 *
 * Colour: by frame kind when one is given (profile.frame.type: kernel, native, go, jvm,
 * cpython, v8js, ...: a hue per kind, shaded by package), else by package (the name up to
 * its last '/' and then the first '.', or the first "::"): a stable hash of the package
 * picks a warm colour, so one package keeps one colour across pictures and runs.
 *
 * Thread-safety: every function is reentrant (cairo keeps its own locked font caches).
 * Ownership: inputs are borrowed for the call; outputs are malloc'd and belong to the
 * caller (free()).
 */
#ifndef OTELPROFD_RENDER_H
#define OTELPROFD_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define RENDER_DEFAULT_WIDTH 1200u /* px */
#define RENDER_MIN_WIDTH     1200u
#define RENDER_MAX_WIDTH     2400u
#define RENDER_MAX_FRAMES    5000u /* boxes drawn */
#define RENDER_MAX_DEPTH     128u  /* levels below the root drawn */
#define RENDER_MAX_LABEL     256u  /* bytes of a name kept (cut at a character boundary) */
#define RENDER_MAX_PNG_BYTES ((size_t)16 << 20)
#define RENDER_MAX_SVG_BYTES ((size_t)16 << 20)
#define RENDER_MAX_NODES     100000u /* input rows accepted */
/* PNGs drawn at once: each holds a surface of up to ~22 MB (2400 x ~2300 px x 4 bytes) */
#define RENDER_MAX_CONCURRENT 4

/* One node of the call tree. Rows come parents first: parent < own index, -1 only at
 * index 0 (the root); siblings are drawn in the order they appear. */
typedef struct render_node {
    int32_t parent;
    int64_t cum, flat;
    const char *name; /* borrowed; NULL draws as "" */
    const char *kind; /* profile.frame.type, or NULL / "": colour by package */
    bool is_other;    /* an "(other)" row of folded children: drawn grey */
    bool truncated;   /* children exist below but were cut by the query's depth */
} render_node;

/* pprof-style human text of a value in `unit` (e.g. tools/'s): "1.25s", "12MB". */
typedef void (*render_human_fn)(char *out, size_t out_len, double v, const char *unit);

typedef struct render_flame_input {
    const render_node *nodes;
    uint32_t n_nodes;
    const char *title;     /* first line (what, profile type, selector, range); borrowed */
    const char *subtitle;  /* second line (total, what was cut) or NULL */
    const char *unit;      /* of the values, for human text */
    render_human_fn human; /* NULL: plain integers */
    int64_t total;         /* percentages are of this (the whole merge); <= 0: of the root */
    uint32_t width;        /* px; 0 = RENDER_DEFAULT_WIDTH; clamped to [MIN, MAX] */
} render_flame_input;

typedef struct render_info {
    uint32_t width, height; /* of the picture, px */
    uint32_t drawn;         /* boxes drawn */
    uint32_t narrow;        /* nodes not drawn: narrower than a pixel (their subtrees too) */
    uint32_t deep;          /* nodes not drawn: deeper than RENDER_MAX_DEPTH */
    uint32_t over;          /* nodes not drawn: past RENDER_MAX_FRAMES */
    size_t bytes;           /* output size */
} render_info;

/* A PNG of the flame graph. BASE_OK with *png (malloc'd) and *len; otherwise the kind
 * (BASE_ERR_BAD_ARGUMENT: rows not parents-first or too many; BASE_ERR_NOMEM; BASE_ERR_
 * TOO_LARGE: over RENDER_MAX_PNG_BYTES; BASE_ERR_UNAVAILABLE: RENDER_MAX_CONCURRENT PNGs
 * are being drawn, retry) with the reason in `err`. */
base_err render_flame_png(const render_flame_input *in, uint8_t **png, size_t *len,
                          render_info *info, char *err, size_t err_len);

/* An SVG document (standalone: XML declaration and script included) or, with `embedded`,
 * an <svg> element for an HTML page that includes render_flame_script() once itself. The
 * element has id "otelprofd-flame"; each drawn node is a <g class="f"> with data-id,
 * data-parent, data-depth, data-name, data-cum, data-flat, a <title> and a <rect> whose
 * width is cum / root cum of the plot width. Same errors as render_flame_png
 * (RENDER_MAX_SVG_BYTES). */
base_err render_flame_svg(const render_flame_input *in, bool embedded, char **svg, size_t *len,
                          render_info *info, char *err, size_t err_len);

/* The script of the interactive SVG (static text, no "]]>" and no "</script"). Hooks: the
 * fragment "#zoom=<data-id>&search=<regex>" is applied on load; window.otelprofdFlame
 * offers zoom(id), reset(), search(regex) for a page. */
const char *render_flame_script(void);

/* Colour of a box: by `kind` when non-empty, else by package of `name`. */
void render_color(const char *name, const char *kind, uint8_t rgb[3]);

/* Length of the package prefix of `name` (see above; 0 when it has none). */
size_t render_package_len(const char *name);

/* Copies `in` as valid UTF-8 without control characters (others become '?'), XML-safe
 * code points only, at most `cap - 1` bytes cut at a character boundary. Returns the
 * length written. `cap` >= 1. */
size_t render_clean_text(const char *in, char *out, size_t cap);

/* Frees the font caches cairo and fontconfig keep for the process (they would otherwise
 * stay reachable until exit, and leak checkers report them). Call once, at exit, when no
 * render_* call runs or will run; harmless when nothing was drawn. */
void render_shutdown(void);

#endif
