/* libFuzzer target: OTLP/JSON decode + validation + normalization into a real store. */
#include <stdint.h>
#include <stdlib.h>

#include "base/base.h"
#include "translate/translate.h"
#include "window/window.h"

static win_store *store;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store) {
        win_config cfg;
        win_config_defaults(&cfg);
        cfg.memory_limit = 64u << 20;
        store = win_store_new(&cfg);
    }
    base_arena arena;
    base_arena_init(&arena, 1 << 16, 256u << 20);
    tr_request *req = NULL;
    char err[512];
    if (tr_decode_json((const char *)data, size, &arena, &req, err, sizeof err) == BASE_OK) {
        tr_result res;
        tr_ingest(store, req, NULL, 0, 1700000000000000000 + 1800000000000, &arena, &res);
    }
    base_arena_free(&arena);
    return 0;
}
