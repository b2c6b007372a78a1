/* libFuzzer target: pprof parsing (gzip detection, inflate cap, id and string-index
 * validation) into a packed OTLP request, which is then decoded back, as the demo loader
 * does, so the converter's output is held to the OTLP decoder's rules too. */
#include <stdint.h>
#include <stdlib.h>

#include "base/base.h"
#include "translate/translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    base_arena arena;
    base_arena_init(&arena, 1 << 16, 256u << 20);
    const win_attr res[] = {{"service.name", "fuzz"}};
    uint8_t *otlp = NULL;
    size_t otlp_len = 0;
    char err[512];
    if (tr_pprof_to_otlp(data, size, res, 1, 1700000000000000000, &arena, &otlp, &otlp_len, err,
                         sizeof err) == BASE_OK) {
        tr_request *req = NULL;
        /* output of a successful conversion must always decode */
        if (tr_decode_protobuf(otlp, otlp_len, &arena, &req, err, sizeof err) != BASE_OK)
            abort();
    }
    base_arena_free(&arena);
    return 0;
}
