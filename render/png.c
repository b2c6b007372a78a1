/* render/png.c — the flame graph as a PNG with cairo (image surface, toy text API). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "render/render_internal.h"

typedef struct png_sink {
    uint8_t *p;
    size_t len, cap;
    bool over;
} png_sink;

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int length)
{
    png_sink *s = closure;
    if (s->len + length > RENDER_MAX_PNG_BYTES) {
        s->over = true;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    if (s->len + length > s->cap) {
        size_t cap = s->cap ? s->cap : 64 * 1024;
        while (cap < s->len + length)
            cap *= 2;
        uint8_t *np = realloc(s->p, cap);
        if (!np)
            return CAIRO_STATUS_NO_MEMORY;
        s->p = np;
        s->cap = cap;
    }
    memcpy(s->p + s->len, data, length);
    s->len += length;
    return CAIRO_STATUS_SUCCESS;
}

/* Advance of the first `n` bytes of `s`. */
static double advance(cairo_t *cr, const char *s, size_t n)
{
    char tmp[RENDER_MAX_LABEL + 8];
    if (n > RENDER_MAX_LABEL)
        n = RENDER_MAX_LABEL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    cairo_text_extents_t e;
    cairo_text_extents(cr, tmp, &e);
    return e.x_advance;
}

/* Draws `text` (clean UTF-8) left-aligned at (x, y) within `avail` px: whole when it fits,
 * else the longest prefix (at a character boundary) followed by an ellipsis, or nothing. */
static void fit_text(cairo_t *cr, const char *text, double x, double y, double avail)
{
    size_t len = strlen(text);
    if (advance(cr, text, len) <= avail) {
        cairo_move_to(cr, x, y);
        cairo_show_text(cr, text);
        return;
    }
    static const char ELL[] = "\xe2\x80\xa6"; /* … */
    double ew = advance(cr, ELL, 3);
    /* character boundaries: binary search on the count of bytes, snapped back to one */
    size_t lo = 0, hi = len;
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        while (mid > 0 && ((unsigned char)text[mid] & 0xc0) == 0x80)
            mid--;
        if (mid <= lo) {
            break;
        }
        if (advance(cr, text, mid) + ew <= avail)
            lo = mid;
        else
            hi = mid - 1;
    }
    while (lo > 0 && ((unsigned char)text[lo] & 0xc0) == 0x80)
        lo--;
    if (lo < 2)
        return; /* one character and an ellipsis says nothing */
    char buf[RENDER_MAX_LABEL + 8];
    memcpy(buf, text, lo);
    memcpy(buf + lo, ELL, 4);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, buf);
}

static atomic_uint drawing; /* PNGs being drawn now */

static base_err draw_png(const render_flame_input *in, uint8_t **png, size_t *len,
                         render_info *info, char *err, size_t err_len);

base_err render_flame_png(const render_flame_input *in, uint8_t **png, size_t *len,
                          render_info *info, char *err, size_t err_len)
{
    *png = NULL;
    *len = 0;
    if (atomic_fetch_add(&drawing, 1) >= RENDER_MAX_CONCURRENT) {
        atomic_fetch_sub(&drawing, 1);
        snprintf(err, err_len, "%d flame graph pictures are being drawn now; retry in a moment",
                 RENDER_MAX_CONCURRENT);
        return BASE_ERR_UNAVAILABLE;
    }
    base_err rc = draw_png(in, png, len, info, err, err_len);
    atomic_fetch_sub(&drawing, 1);
    return rc;
}

static base_err draw_png(const render_flame_input *in, uint8_t **png, size_t *len,
                         render_info *info, char *err, size_t err_len)
{
    render__layout l;
    base_err rc = render__layout_compute(in, &l, err, err_len);
    if (rc != BASE_OK)
        return rc;
    cairo_surface_t *surf =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)l.width, (int)l.height);
    cairo_t *cr = cairo_create(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, err_len, "cannot draw: %s", cairo_status_to_string(cairo_status(cr)));
        cairo_destroy(cr);
        cairo_surface_destroy(surf);
        render__layout_free(&l);
        return BASE_ERR_NOMEM;
    }
    cairo_set_source_rgb(cr, 0.97, 0.97, 0.96);
    cairo_paint(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 15);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    char text[1024];
    render_clean_text(in->title ? in->title : "Flame graph", text, sizeof text);
    fit_text(cr, text, RENDER__PAD, 20, l.plot_w);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, RENDER__FONT_SIZE);
    if (in->subtitle) {
        render_clean_text(in->subtitle, text, sizeof text);
        fit_text(cr, text, RENDER__PAD, 38, l.plot_w);
    }
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    bool kinds = false;
    for (uint32_t i = 0; i < in->n_nodes && !kinds; i++)
        kinds = in->nodes[i].kind && in->nodes[i].kind[0];
    fit_text(cr,
             kinds ? "Root at the top; width = cum (share of the root), space right of a "
                     "frame's children = its flat; colour by frame kind, shaded by package "
                     "(grey: folded (other) rows)."
                   : "Root at the top; width = cum (share of the root), space right of a "
                     "frame's children = its flat; colour by package (grey: folded (other) "
                     "rows).",
             RENDER__PAD, 53, l.plot_w);
    for (uint32_t i = 0; i < l.n_boxes; i++) {
        const render__box *b = &l.boxes[i];
        const render_node *r = &in->nodes[b->node];
        double y = RENDER__HEADER_H + (double)b->depth * RENDER__ROW_H;
        uint8_t rgb[3];
        if (r->is_other)
            rgb[0] = rgb[1] = rgb[2] = 190;
        else if (b->node == 0)
            rgb[0] = 215, rgb[1] = 215, rgb[2] = 225;
        else
            render_color(r->name, r->kind, rgb);
        cairo_rectangle(cr, b->x, y, b->w > 1.5 ? b->w - 0.5 : b->w, RENDER__ROW_H - 1);
        cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
        cairo_fill(cr);
        if (r->truncated && b->w > 4) { /* deeper children not shown: a dark notch */
            cairo_rectangle(cr, b->x, y + RENDER__ROW_H - 3, b->w - 0.5, 2);
            cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
            cairo_fill(cr);
        }
        if (b->w >= RENDER__MIN_LABEL_W) {
            char name[RENDER_MAX_LABEL + 1];
            render_clean_text(r->name ? r->name : "", name, sizeof name);
            cairo_set_source_rgb(cr, 0, 0, 0);
            cairo_save(cr);
            cairo_rectangle(cr, b->x, y, b->w, RENDER__ROW_H);
            cairo_clip(cr);
            fit_text(cr, name, b->x + 3, y + 12.5, b->w - 6);
            cairo_restore(cr);
        }
    }
    char note[256];
    render__cut_note(&l.info, note, sizeof note);
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    double fy = RENDER__HEADER_H + (double)(l.max_depth + 1) * RENDER__ROW_H + 16;
    snprintf(text, sizeof text, "%u frames drawn%s%s", l.n_boxes, note[0] ? "; " : "", note);
    fit_text(cr, text, RENDER__PAD, fy, l.plot_w);
    cairo_status_t st = cairo_status(cr);
    png_sink sink = {0};
    if (st == CAIRO_STATUS_SUCCESS) {
        cairo_surface_flush(surf);
        st = cairo_surface_write_to_png_stream(surf, sink_write, &sink);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
    if (info)
        *info = l.info;
    render__layout_free(&l);
    if (st != CAIRO_STATUS_SUCCESS) {
        free(sink.p);
        if (sink.over) {
            snprintf(err, err_len, "the PNG is over %zu bytes", RENDER_MAX_PNG_BYTES);
            return BASE_ERR_TOO_LARGE;
        }
        snprintf(err, err_len, "cannot draw: %s", cairo_status_to_string(st));
        return BASE_ERR_NOMEM;
    }
    *png = sink.p;
    *len = sink.len;
    if (info)
        info->bytes = sink.len;
    return BASE_OK;
}

void render_shutdown(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
