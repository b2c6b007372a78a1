/* win_tree_index_build / win_merged_bad_node: the children-and-subtree index that win_top
 * and query/'s sandwich walk share. A hand-built tree checks the contract: children in
 * index order per parent, saturating subtree sums, and INVALID (nothing allocated) for a
 * tree that breaks win_merge's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "window/window.h"

/*        0 (root, self 1)
 *       / \
 *      1   2 (self 5)
 *     / \    \
 *    3   4    5 (self INT64_MAX: the sums saturate)
 * self: 1=2, 3=3, 4=4 */
static win_frame frames[1];
static win_node nodes[] = {
    {-1, UINT32_MAX, 1}, {0, 0, 2}, {0, 0, 5}, {1, 0, 3}, {1, 0, 4}, {2, 0, INT64_MAX},
};

static win_merged tree(void)
{
    win_merged m;
    memset(&m, 0, sizeof m);
    m.frames = frames;
    m.n_frames = 1;
    m.nodes = nodes;
    m.n_nodes = sizeof nodes / sizeof nodes[0];
    return m;
}

static void test_children_and_sums(void **state)
{
    (void)state;
    win_merged m = tree();
    assert_int_equal(win_merged_bad_node(&m), 0);
    win_tree_index ti;
    assert_int_equal(win_tree_index_build(&m, &ti), BASE_OK);
    assert_int_equal(ti.n, 6);
    static const uint32_t first[] = {0, 2, 4, 5, 5, 5, 5}; /* 0:{1,2} 1:{3,4} 2:{5} */
    static const uint32_t kids[] = {1, 2, 3, 4, 5};
    assert_memory_equal(ti.first, first, sizeof first);
    assert_memory_equal(ti.kids, kids, sizeof kids);
    assert_int_equal(ti.sub[3], 3);
    assert_int_equal(ti.sub[1], 2 + 3 + 4);
    assert_int_equal(ti.sub[2], INT64_MAX); /* 5 + INT64_MAX, saturated */
    assert_int_equal(ti.sub[0], INT64_MAX);
    win_tree_index_free(&ti);
    assert_null(ti.sub);
}

static void test_bad_shapes(void **state)
{
    (void)state;
    win_node bad[] = {{-1, UINT32_MAX, 0}, {0, 0, 1}, {3, 0, 1}, {1, 0, 1}}; /* 2's parent later */
    win_merged m = tree();
    m.nodes = bad;
    m.n_nodes = 4;
    assert_int_equal(win_merged_bad_node(&m), 2);
    win_tree_index ti;
    assert_int_equal(win_tree_index_build(&m, &ti), BASE_ERR_INVALID);
    assert_null(ti.sub);
    bad[2].parent = 1;
    bad[3].frame = 7; /* frame out of range */
    assert_int_equal(win_merged_bad_node(&m), 3);
    assert_int_equal(win_tree_index_build(&m, &ti), BASE_ERR_INVALID);
    bad[3].frame = 0;
    bad[1].parent = -5; /* a second root */
    assert_int_equal(win_merged_bad_node(&m), 1);
    m.n_nodes = 0;
    assert_int_equal(win_tree_index_build(&m, &ti), BASE_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_children_and_sums),
        cmocka_unit_test(test_bad_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
