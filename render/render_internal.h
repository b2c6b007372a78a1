/* render/render_internal.h — what the files of render/ share (not a public contract).
 *
 * Layout: layout.c (validation, box geometry, colours, text cleaning), png.c (cairo),
 * svg.c (the SVG text and its script).
 */
#ifndef OTELPROFD_RENDER_INTERNAL_H
#define OTELPROFD_RENDER_INTERNAL_H

#include "render/render.h"

#define RENDER__PAD       10.0 /* px left/right of the plot */
#define RENDER__ROW_H     17.0 /* px per level */
#define RENDER__HEADER_H  58.0 /* title, subtitle, buttons */
#define RENDER__FOOTER_H  34.0 /* the details line and what was not drawn */
#define RENDER__FONT_SIZE 12.0
#define RENDER__CHAR_W                                                                             \
    7.0 /* estimated px per character of the SVG font (flamegraph.pl: 0.59 em)                     \
         */
#define RENDER__MIN_LABEL_W 21.0 /* a box narrower than this gets no label */

/* One box to draw (index into the input's nodes). */
typedef struct render__box {
    uint32_t node;
    uint32_t depth;
    double x, w; /* px */
} render__box;

typedef struct render__layout {
    uint32_t width, height;
    double plot_w;
    int64_t root_cum, pct_base;
    render__box *boxes;
    uint32_t n_boxes;
    uint32_t max_depth; /* deepest level drawn */
    render_info info;   /* width, height, drawn, narrow, deep, over */
} render__layout;

/* Checks the rows and computes the boxes. BASE_OK, or an error with `err`. */
base_err render__layout_compute(const render_flame_input *in, render__layout *l, char *err,
                                size_t err_len);
void render__layout_free(render__layout *l);

/* "N boxes narrower than a pixel, M deeper than 128 levels not drawn" or "" (out >= 160). */
void render__cut_note(const render_info *info, char *out, size_t out_len);

/* Value text: in->human or plain. */
void render__value(const render_flame_input *in, char *out, size_t out_len, int64_t v);
double render__pct(int64_t v, int64_t base);

#endif
