/* translate/translate.h — OTLP profiles in, validated window batches out.
 *
 * Purpose: decode an ExportProfilesServiceRequest (protobuf with an arena allocator, or
 * OTLP/JSON into the very same protobuf-c structs), validate every profile by the rules
 * of DESIGN.md "OTLP ingest", and normalize each valid profile into win_batch values that
 * window/ stores. A profile that breaks a rule is dropped whole and counted; its
 * neighbours are still stored. The first problem is reported by path, e.g.
 *   resource_profiles[0].scope_profiles[0].profiles[1].samples[5].stack_index 912 out of
 *   range: stack_table has 40 entries
 *
 * Normalization rules (summary; the .c files cite each):
 *   - profile type = "<sample_type.type>:<sample_type.unit>" from the string table;
 *   - a sample with timestamps lands once per timestamp (value[i], or 1 when values are
 *     empty); a sample with values only lands at Profile.time_unix_nano (values summed);
 *   - a "samples:count" profile whose period type is "cpu:nanoseconds" and period > 0 is
 *     also stored as "cpu:nanoseconds" with value = count * period, unless the same
 *     resource in the same request already carries a native "cpu:nanoseconds" profile
 *     (a Go SDK sends both; deriving then would count the CPU time twice);
 *   - attributes in either form (key | key_strindex, string_value |
 *     string_value_strindex) resolve to text; frames are location lines (inlined
 *     functions are frames), unsymbolized locations keep address + mapping (+ build id).
 *
 * Thread-safety: stateless; any number of threads may translate concurrently, each with
 * its own arena. The store does its own locking.
 *
 * Ownership: decoded requests live in the caller's arena (valid until it is reset);
 * everything tr_ingest builds is allocated in the arena passed to it.
 */
#ifndef OTELPROFD_TRANSLATE_H
#define OTELPROFD_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"
#include "window/window.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
    tr_request;

typedef struct tr_result {
    uint64_t profiles_accepted;
    uint64_t profiles_rejected; /* -> partial_success.rejected_profiles */
    uint64_t samples_stored;    /* observations (sample x timestamp) that landed */
    uint64_t samples_rejected;  /* observations in rejected profiles */
    uint64_t samples_too_old;   /* older than the retention: counted, not stored */
    uint64_t samples_too_new;   /* later than now + retention: counted, not stored */
    uint64_t samples_evicted;   /* of samples_stored: dropped again at once for the memory
                                   limit (they were the store's oldest data) */
    /* -> partial_success.error_message: the first invalid profile by path, then (tr_ingest)
     * what the store dropped of the accepted samples, e.g.
     *   2436 of 2436 samples older than the retention (1h) were not stored
     * also when no profile was rejected (OTLP: a warning); "" when everything landed. */
    char error_message[1024];
} tr_result;

/* A protobuf-c allocator over an arena (free is a no-op, the arena frees) that remembers
 * whether an allocation failed, so a failed unpack can say "out of memory" rather than
 * "malformed". Returns the allocator to hand to an unpack; valid while `a` and the arena
 * are. One per unpack, on the caller's stack. */
typedef struct tr_pb_allocator {
    ProtobufCAllocator pb;
    base_arena *arena;
    bool failed;
} tr_pb_allocator;
ProtobufCAllocator *tr_pb_allocator_init(tr_pb_allocator *a, base_arena *arena);

/* Decodes protobuf bytes into `*out`, allocated from `arena`. On failure returns
 * BASE_ERR_DECODE (or BASE_ERR_NOMEM) and writes why to `err`; a payload shaped like
 * opentelemetry-proto v1.9 (Sample fields numbered differently) is named as such. */
base_err tr_decode_protobuf(const uint8_t *buf, size_t len, base_arena *arena, tr_request **out,
                            char *err, size_t err_len);

/* Decodes OTLP/JSON (lowerCamelCase or snake_case keys, 64-bit ints as strings or numbers,
 * trace/span/profile ids as hex, other bytes as base64, unknown fields ignored) into the
 * same structs. Returns BASE_ERR_DECODE with a message naming the path on malformed input. */
base_err tr_decode_json(const char *buf, size_t len, base_arena *arena, tr_request **out, char *err,
                        size_t err_len);

/* Validates and normalizes every profile of `req` and adds the valid ones to `store`.
 * `raw`/`raw_len`, when given, are the protobuf bytes `req` was decoded from: they let
 * v1.9-shaped profiles be recognised and rejected with a message that says so. Temporary
 * memory comes from `arena`. Always fills `res`, error_message included (see tr_result);
 * returns BASE_OK unless memory ran out. */
base_err tr_ingest(win_store *store, const tr_request *req, const uint8_t *raw, size_t raw_len,
                   int64_t now_ns, base_arena *arena, tr_result *res);

/* tr_ingest without a store: validates and normalizes every profile and fills `res`
 * (profiles_accepted / profiles_rejected, the first problem in error_message; sample counts
 * stay 0). For a node that only passes requests on to a shared log (--role ingest). */
base_err tr_validate(const tr_request *req, const uint8_t *raw, size_t raw_len, int64_t now_ns,
                     base_arena *arena, tr_result *res);

/* Reads the drop clauses tr_ingest writes into an error_message ("N of M samples older
 * than the retention (...) were not stored", "... more than ... in the future were not
 * stored", "... were evicted at once by the memory limit (...)"): *dropped = the sum of
 * their N, *of = their M (the samples of the accepted profiles). Returns false when the
 * message has none (another receiver's wording, or nothing was dropped). For senders
 * (`otelprofd send`) that must tell "some dropped" from "nothing stored". */
bool tr_parse_drops(const char *message, uint64_t *dropped, uint64_t *of);

/* Largest pprof accepted by tr_pprof_to_otlp, after gzip decompression. */
#define TR_PPROF_MAX_BYTES ((size_t)256 << 20)

/* Converts a pprof profile (perftools.profiles.Profile; gzipped or not, detected by the
 * gzip magic, inflated up to TR_PPROF_MAX_BYTES) into one packed OTLP
 * ExportProfilesServiceRequest: one resource with `resource` (string attributes), one
 * scope, one OTLP Profile per pprof sample_type in values form (zero values left out),
 * period_type/period and duration copied, time_unix_nano = time_nanos or, when the pprof
 * has none, `time_ns_if_missing`. Sample labels become sample attributes (str labels by
 * string index, num labels as int values with their unit); mapping build ids become a
 * "build_id" mapping attribute. The pprof string table is the dictionary's string table;
 * pprof ids become dictionary indices (index 0 of every table is the zero entry). Every id
 * and string index is validated; a broken profile gives BASE_ERR_DECODE/BASE_ERR_INVALID
 * with the path in `err`. Everything, `*otlp_out` included, lives in `arena`. */
base_err tr_pprof_to_otlp(const uint8_t *pprof, size_t len, const win_attr *resource,
                          size_t n_resource, int64_t time_ns_if_missing, base_arena *arena,
                          uint8_t **otlp_out, size_t *otlp_len, char *err, size_t err_len);

#endif
