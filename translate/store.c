/* translate/store.c — tr_ingest: the ingest seam bound to a window store. Kept apart from
 * ingest.c so code that only needs the seam (unit tests) does not link the store. */
#include <string.h>

#include "translate/translate_internal.h"

typedef struct store_sink {
    win_store *store;
    int64_t now_ns;
    win_intern_cache *cache; /* shared by every batch of the request: ingest.c gives them
                                all the same, prefix-stable frame and stack tables */
} store_sink;

static int store_sink_fn(void *ctx, const win_batch *batch, win_add_result *added, char *err,
                         size_t err_len)
{
    store_sink *s = ctx;
    win_batch b = *batch;
    b.cache = s->cache;
    return win_store_add(s->store, &b, s->now_ns, added, err, err_len);
}

base_err tr_ingest(win_store *store, const tr_request *req, const uint8_t *raw, size_t raw_len,
                   int64_t now_ns, base_arena *arena, tr_result *res)
{
    /* without a cache (allocation failed) the store interns per batch: slower, same result */
    store_sink s = {store, now_ns, win_intern_cache_new()};
    base_err rc = tr__ingest_with_sink(req, raw, raw_len, now_ns, arena, store_sink_fn, &s, res);
    win_intern_cache_free(s.cache);
    tr__note_drops(res, win_store_retention(store), win_store_memory_limit(store));
    return rc;
}

/* Validation only: every batch is "stored" nowhere; counts stay 0. */
static int validate_sink_fn(void *ctx, const win_batch *batch, win_add_result *added, char *err,
                            size_t err_len)
{
    (void)ctx, (void)batch, (void)err, (void)err_len;
    memset(added, 0, sizeof *added);
    return 0;
}

base_err tr_validate(const tr_request *req, const uint8_t *raw, size_t raw_len, int64_t now_ns,
                     base_arena *arena, tr_result *res)
{
    return tr__ingest_with_sink(req, raw, raw_len, now_ns, arena, validate_sink_fn, NULL, res);
}
