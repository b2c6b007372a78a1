/* query/query_internal.h — helpers shared by query/'s files (not part of the contract). */
#ifndef OTELPROFD_QUERY_INTERNAL_H
#define OTELPROFD_QUERY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "query/query.h"

#define QUERY__NONE UINT32_MAX

/* Memory behind every result: one arena, freed with the result. */
struct query_priv {
    base_arena arena;
};

struct query_priv *query__priv_new(void);
void query__priv_free(struct query_priv *p);

/* Open-addressing map uint64 -> uint32, for child lookup and joins. */
typedef struct query__map {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n; /* cap is a power of two; vals[i] == QUERY__NONE marks a free slot */
} query__map;

void query__map_free(query__map *m);
/* Slot value of `key`, inserting `val_if_new` when absent; NULL on allocation failure.
 * The pointer is valid until the next insertion. */
uint32_t *query__map_get(query__map *m, uint64_t key, uint32_t val_if_new, bool *inserted);
uint32_t query__map_find(const query__map *m, uint64_t key);

uint64_t query__hash_str(const char *s);

/* Function keys of a merge, as win_top computes them: a symbolized frame's key is its
 * function name, an unsymbolized frame's "0x<hex address>". */
typedef struct query__fns {
    uint32_t *fn_of_frame; /* merged frame -> function index */
    const char **name;     /* function key; borrows from the merge or from `arena` */
    uint64_t *address;     /* unsymbolized functions: their address */
    bool *unsymbolized;
    const char **frame_type; /* of the function's first frame; borrows from the merge */
    uint32_t n;
    base_arena arena;
} query__fns;

int query__fns_build(const win_merged *m, query__fns *out);
void query__fns_free(query__fns *f);
/* Whether function `fn` answers to the user's key `text` (name exactly; "0x..." as a
 * hex address compared by value, so case and leading zeros do not matter). */
bool query__fn_matches(const query__fns *f, uint32_t fn, const char *text);

/* A function-level tree: node 0 is the root; children are created after their parent,
 * so ids increase from parent to child. */
typedef struct query__tree {
    uint32_t n, cap;
    uint32_t *parent; /* QUERY__NONE for the root */
    uint32_t *fn;     /* QUERY__NONE for the root */
    int64_t *flat, *cum;
    uint32_t *first_child, *n_children, *kids; /* after query__tree_finish */
    uint32_t *subtree;                         /* nodes in each subtree, itself included */
    query__map index;                          /* (parent << 32 | fn) -> child */
} query__tree;

int query__tree_init(query__tree *t);
void query__tree_free(query__tree *t);
/* Sizes the tree and its child index for about `n` nodes up front (a hint, so that
 * building a tree of known size does not rehash as it grows); -1 on allocation failure. */
int query__tree_reserve(query__tree *t, uint32_t n);
/* The child of `parent` for `fn`, created when absent; QUERY__NONE on failure. */
uint32_t query__tree_child(query__tree *t, uint32_t parent, uint32_t fn);
/* Computes cum bottom-up (cum = flat + children's cum) and child lists. */
int query__tree_finish(query__tree *t);

/* Emits the pruned breadth-first rows of the subtree at `root` into `out` (rows,
 * n_rows, root_cum, n_pruned), strings and rows in `arena`. */
int query__emit(const query__tree *t, uint32_t root, const char *root_name, const query__fns *fns,
                uint32_t max_depth, double min_percent, uint32_t max_nodes, base_arena *arena,
                query_flame *out);

#endif
