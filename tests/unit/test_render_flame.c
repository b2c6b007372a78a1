/* render/: the layout and its bounds, the PNG's header, the SVG's escaping and what is said
 * about frames not drawn; hostile names (invalid UTF-8, markup, "]]>") come out clean. The
 * pictures themselves are checked by an independent decoder and a real browser in
 * tests/integration/test_flame_picture.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "render/render.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* root(100) -> a(60) -> b(50) ; root -> c(30) ; root flat 10 */
static const render_node TREE[] = {
    {.parent = -1, .cum = 100, .flat = 10, .name = "root"},
    {.parent = 0, .cum = 60, .flat = 10, .name = "net/http.(*conn).serve"},
    {.parent = 0, .cum = 30, .flat = 30, .name = "main.work"},
    {.parent = 1, .cum = 50, .flat = 50, .name = "regexp.(*machine).add"},
};

static void test_png_header(void **state)
{
    (void)state;
    render_flame_input in = {.nodes = TREE, .n_nodes = 4, .title = "t", .total = 100};
    uint8_t *png = NULL;
    size_t len = 0;
    render_info ri;
    char err[256] = "";
    assert_int_equal(render_flame_png(&in, &png, &len, &ri, err, sizeof err), BASE_OK);
    assert_true(len > 33);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(png + 12, "IHDR", 4);
    assert_int_equal(be32(png + 16), RENDER_DEFAULT_WIDTH);
    assert_int_equal(be32(png + 20), ri.height);
    assert_int_equal(ri.drawn, 4);
    assert_int_equal(ri.narrow + ri.deep + ri.over, 0);
    assert_int_equal(ri.bytes, len);
    free(png);
    /* width is clamped to [RENDER_MIN_WIDTH, RENDER_MAX_WIDTH] */
    in.width = 100000;
    assert_int_equal(render_flame_png(&in, &png, &len, &ri, err, sizeof err), BASE_OK);
    assert_int_equal(be32(png + 16), RENDER_MAX_WIDTH);
    free(png);
    in.width = 10;
    assert_int_equal(render_flame_png(&in, &png, &len, &ri, err, sizeof err), BASE_OK);
    assert_int_equal(be32(png + 16), RENDER_MIN_WIDTH);
    free(png);
}

static double attr(const char *s, const char *name)
{
    const char *p = strstr(s, name);
    assert_non_null(p);
    return strtod(p + strlen(name), NULL);
}

static void test_svg_geometry(void **state)
{
    (void)state;
    render_flame_input in = {.nodes = TREE, .n_nodes = 4, .title = "t", .total = 100};
    char *svg = NULL;
    size_t len = 0;
    render_info ri;
    char err[256] = "";
    assert_int_equal(render_flame_svg(&in, false, &svg, &len, &ri, err, sizeof err), BASE_OK);
    assert_int_equal(strlen(svg), len);
    assert_non_null(strstr(svg, "<?xml"));
    assert_non_null(strstr(svg, "<![CDATA["));
    double plot = attr(svg, "data-plot-width=\"");
    assert_true(plot > 1000);
    /* each box: width = cum / root cum of the plot; children start at the parent's x */
    const char *g1 = strstr(svg, "data-id=\"1\"");
    const char *g2 = strstr(svg, "data-id=\"2\"");
    const char *g3 = strstr(svg, "data-id=\"3\"");
    assert_non_null(g1);
    assert_non_null(g2);
    assert_non_null(g3);
    double x1 = attr(g1, "<rect x=\""), w1 = attr(g1, "width=\"");
    double x2 = attr(g2, "<rect x=\""), w2 = attr(g2, "width=\"");
    double x3 = attr(g3, "<rect x=\""), w3 = attr(g3, "width=\"");
    assert_true(w1 > plot * 0.6 - 0.01 && w1 < plot * 0.6 + 0.01);
    assert_true(w2 > plot * 0.3 - 0.01 && w2 < plot * 0.3 + 0.01);
    assert_true(w3 > plot * 0.5 - 0.01 && w3 < plot * 0.5 + 0.01);
    assert_true(x1 > 9.99 && x1 < 10.01);
    assert_true(x2 > x1 + w1 - 0.01 && x2 < x1 + w1 + 0.01);
    assert_true(x3 > x1 - 0.01 && x3 < x1 + 0.01);
    free(svg);
    /* embedded: no XML declaration, no script (the page includes it once) */
    assert_int_equal(render_flame_svg(&in, true, &svg, &len, &ri, err, sizeof err), BASE_OK);
    assert_null(strstr(svg, "<?xml"));
    assert_null(strstr(svg, "<script"));
    assert_non_null(strstr(svg, "id=\"otelprofd-flame\""));
    free(svg);
    const char *script = render_flame_script();
    assert_null(strstr(script, "]]>"));
    assert_null(strstr(script, "</script"));
}

static void test_hostile_names(void **state)
{
    (void)state;
    render_node n[] = {
        {.parent = -1, .cum = 10, .name = "root"},
        {.parent = 0, .cum = 5, .name = "<script>alert(1)</script>&\"'"},
        {.parent = 0, .cum = 3, .name = "bad\xff\xfe utf8 \xc0\xaf \xed\xa0\x80 ]]> \x01\x7f"},
        {.parent = 0, .cum = 2, .name = NULL, .kind = "kernel<&>"},
    };
    render_flame_input in = {.nodes = n, .n_nodes = 4, .title = "<t>\xff", .subtitle = "&"};
    char *svg = NULL;
    size_t len = 0;
    char err[256];
    assert_int_equal(render_flame_svg(&in, true, &svg, &len, NULL, err, sizeof err), BASE_OK);
    assert_null(strstr(svg, "<script>"));
    assert_null(strstr(svg, "]]>"));
    assert_null(strstr(svg, "\xff"));
    assert_null(strstr(svg, "\x01"));
    assert_null(strstr(svg, "\xed\xa0\x80"));
    assert_non_null(strstr(svg, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"));
    assert_non_null(strstr(svg, "&lt;t&gt;?"));
    free(svg);
    uint8_t *png = NULL;
    assert_int_equal(render_flame_png(&in, &png, &len, NULL, err, sizeof err), BASE_OK);
    free(png);
    char out[16];
    assert_int_equal(render_clean_text("a\xe2\x80\xa6"
                                       "bcdefghijklmnop",
                                       out, 5),
                     4);
    assert_string_equal(out, "a\xe2\x80\xa6");
    assert_int_equal(render_clean_text("ab\xe2\x80\xa6", out, 5), 2); /* no half character */
}

static void test_bad_rows(void **state)
{
    (void)state;
    render_node n[] = {{.parent = -1, .cum = 1}, {.parent = 1, .cum = 1}};
    render_flame_input in = {.nodes = n, .n_nodes = 2};
    char *svg = NULL;
    size_t len;
    char err[256] = "";
    assert_int_equal(render_flame_svg(&in, false, &svg, &len, NULL, err, sizeof err),
                     BASE_ERR_BAD_ARGUMENT);
    assert_null(svg);
    assert_non_null(strstr(err, "row 1"));
    n[0].parent = 0;
    n[1].parent = 0;
    assert_int_equal(render_flame_svg(&in, false, &svg, &len, NULL, err, sizeof err),
                     BASE_ERR_BAD_ARGUMENT);
    in.n_nodes = RENDER_MAX_NODES + 1;
    assert_int_equal(render_flame_svg(&in, false, &svg, &len, NULL, err, sizeof err),
                     BASE_ERR_BAD_ARGUMENT);
    /* nothing to draw is not an error: a picture with only the title */
    in.n_nodes = 0;
    assert_int_equal(render_flame_svg(&in, false, &svg, &len, NULL, err, sizeof err), BASE_OK);
    free(svg);
}

/* A chain deeper than RENDER_MAX_DEPTH, a fan of boxes narrower than a pixel and more boxes
 * than RENDER_MAX_FRAMES: all counted, none drawn, the picture stays bounded. */
static void test_bounds(void **state)
{
    (void)state;
    /* root 1180e6 over a 1180 px plot: 1e6 per pixel */
    uint32_t n = 1 + 300 + 2000 + 500 * 12;
    render_node *rows = calloc(n, sizeof *rows);
    assert_non_null(rows);
    rows[0] = (render_node){.parent = -1, .cum = 1180000000, .name = "root"};
    uint32_t i = 1;
    for (uint32_t d = 0; d < 300; d++, i++) /* a chain 100 px wide */
        rows[i] = (render_node){.parent = (int32_t)(i - 1), .cum = 100000000, .name = "deep"};
    for (uint32_t k = 0; k < 2000; k++, i++) /* 0.001 px each */
        rows[i] = (render_node){.parent = 0, .cum = 1000, .name = "narrow"};
    for (uint32_t k = 0; k < 500; k++) /* 500 chains of 12 boxes, 2 px wide */
        for (uint32_t d = 0; d < 12; d++, i++)
            rows[i] =
                (render_node){.parent = d ? (int32_t)(i - 1) : 0, .cum = 2000000, .name = "wide"};
    render_flame_input in = {.nodes = rows, .n_nodes = n, .title = "bounds"};
    render_info ri;
    char *svg = NULL;
    size_t len;
    char err[256];
    assert_int_equal(render_flame_svg(&in, false, &svg, &len, &ri, err, sizeof err), BASE_OK);
    assert_int_equal(ri.deep, 300 - RENDER_MAX_DEPTH);
    assert_int_equal(ri.narrow, 2000);
    assert_true(ri.drawn <= RENDER_MAX_FRAMES);
    assert_int_equal(ri.drawn + ri.narrow + ri.deep + ri.over, n);
    assert_true(ri.over > 0);
    assert_non_null(strstr(svg, "narrower than a pixel"));
    free(svg);
    uint8_t *png = NULL;
    assert_int_equal(render_flame_png(&in, &png, &len, &ri, err, sizeof err), BASE_OK);
    assert_int_equal(be32(png + 20), ri.height);
    assert_true(ri.height < 60 + (RENDER_MAX_DEPTH + 1) * 17 + 40);
    free(png);
    free(rows);
}

static void test_colours(void **state)
{
    (void)state;
    assert_int_equal(render_package_len("net/http.(*conn).serve"), strlen("net/http"));
    assert_int_equal(render_package_len("regexp.(*machine).add"), strlen("regexp"));
    assert_int_equal(render_package_len("github.com/a/b.F"), strlen("github.com/a/b"));
    assert_int_equal(render_package_len("std::vector<int>::push_back"), strlen("std"));
    assert_int_equal(render_package_len("main"), 0);
    assert_int_equal(render_package_len(NULL), 0);
    uint8_t a[3], b[3], c[3];
    /* one package, one colour; stable across calls */
    render_color("regexp.(*machine).add", NULL, a);
    render_color("regexp.compile", NULL, b);
    assert_memory_equal(a, b, 3);
    /* warm palette: red high, blue low */
    assert_true(a[0] >= 205 && a[2] <= 55);
    /* a frame kind changes the hue (kernel frames are not the hot red of native code) */
    render_color("regexp.compile", "kernel", c);
    assert_memory_not_equal(b, c, 3);
    render_color("x", "some-new-kind", c); /* unknown kinds still get a colour */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_header),    cmocka_unit_test(test_svg_geometry),
        cmocka_unit_test(test_hostile_names), cmocka_unit_test(test_bad_rows),
        cmocka_unit_test(test_bounds),        cmocka_unit_test(test_colours),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    render_shutdown();
    return failed;
}
