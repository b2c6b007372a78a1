/* translate/translate_internal.h — seams shared by the files of translate/ and its tests.
 *
 * Not a public contract: only the .c files of translate/ and its unit tests include it.
 */
#ifndef OTELPROFD_TRANSLATE_INTERNAL_H
#define OTELPROFD_TRANSLATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "translate/translate.h"

/* Receives each normalized batch. Returns 0 and fills `added` (the store's counts), or -1
 * with `err` filled when the batch was left out. The batch and everything it points at
 * are only valid for the call. */
typedef int (*tr__sink_fn)(void *ctx, const win_batch *batch, win_add_result *added, char *err,
                           size_t err_len);

/* tr_ingest with the store replaced by `sink`: validation, normalization and counting are
 * identical. Only the batch of a profile's own type feeds samples_stored/too_old/too_new;
 * a derived "cpu:nanoseconds" batch restates the same observations. */
base_err tr__ingest_with_sink(const tr_request *req, const uint8_t *raw, size_t raw_len,
                              int64_t now_ns, base_arena *arena, tr__sink_fn sink, void *ctx,
                              tr_result *res);

/* Appends to res->error_message (after the first invalid profile's reason, if any, which
 * is cut to make room) one clause per kind of drop the store reported: too old, too new
 * (both measured with `retention_ns`), evicted at once for `memory_limit`. The whole
 * message stays within the array. tr_ingest calls it; tests of the seam may too. */
void tr__note_drops(tr_result *res, int64_t retention_ns, uint64_t memory_limit);

/* A profile whose Sample fields carry opentelemetry-proto v1.9 numbering. */
typedef struct tr__v19_hit {
    uint32_t resource, scope, profile, sample;
} tr__v19_hit;

/* Walks the protobuf bytes of a request down to its samples and lists every v1.9-shaped
 * profile (one hit each, in order of appearance) in arena memory. Stops quietly where the
 * framing breaks. Returns BASE_OK or BASE_ERR_NOMEM. */
base_err tr__scan_v19(const uint8_t *buf, size_t len, base_arena *arena, tr__v19_hit **hits,
                      size_t *n_hits);

/* Writes the user-facing message for a v1.9 hit; `why`, when not NULL, says what gave the
 * numbering away (for shapes that only the whole profile tells apart). */
void tr__v19_message(const tr__v19_hit *hit, const char *why, char *buf, size_t len);

#endif
