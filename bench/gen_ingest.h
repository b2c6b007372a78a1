/* bench/gen_ingest.h — eBPF-profiler-like OTLP requests of a chosen size, for the ingest
 * benchmarks.
 *
 * The content is real: stacks, functions, unsymbolized frames (address + mapping),
 * profile.frame.type location attributes and trace links come from a template request
 * (testdata otlp/ebpf_style.pb). The shape is the eBPF profiler's: one resource per
 * process (service.name, host.name, process.pid, process.executable.name in the
 * key_strindex / string_value_strindex form), one samples:count profile with period type
 * cpu:nanoseconds, samples with timestamps only and a thread.name attribute. Processes
 * belong to GEN_SERVICES services; each service is its own binary (its function and file
 * names and mappings are its own, the Go runtime's functions are shared), its processes
 * run on different hosts and draw a skewed number of samples (20..400) from a window of
 * the template's samples. The dictionary holds only what the samples reference, so a
 * small request is mostly dictionary and a large one mostly samples, as with a real
 * exporter. Deterministic for a given seed.
 */
#ifndef OTELPROFD_BENCH_GEN_INGEST_H
#define OTELPROFD_BENCH_GEN_INGEST_H

#include <stddef.h>
#include <stdint.h>

#define GEN_SERVICES    50
#define GEN_DURATION_NS 5000000000ULL /* the eBPF profiler's default report interval */

typedef struct gen_stats {
    size_t bytes;
    uint64_t resources, services, samples, observations;
    uint64_t stacks, locations, functions, strings;
} gen_stats;

/* Builds a request of about `target` bytes (it stops at the first sample that reaches
 * it) from the template `tmpl` (borrowed), times in [base_ns, base_ns + 5 s). On success
 * returns 0 and `*out` (malloc'd, the caller frees) / `*out_len`; -1 with `err` when the
 * template does not decode or is not shaped as expected. */
int gen_ingest(const uint8_t *tmpl, size_t tmpl_len, size_t target, uint64_t base_ns, uint64_t seed,
               uint8_t **out, size_t *out_len, gen_stats *st, char *err, size_t err_len);

#endif
