/* bench/util.h — what every benchmark program needs: read an input file whole, take a median.
 *
 * Thread-safety: none needed (single-threaded programs). Ownership: bench_read_file returns
 * a malloc'ed buffer the caller frees; bench_median sorts the array it is given in place.
 */
#ifndef OTELPROFD_BENCH_UTIL_H
#define OTELPROFD_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Inputs larger than this are refused (a benchmark reads test data, not arbitrary files). */
#define BENCH_MAX_FILE ((size_t)256 << 20)

/* The file's bytes (*len set), or NULL when it cannot be read or is larger than the cap. */
uint8_t *bench_read_file(const char *path, size_t *len);
/* Median of n > 0 values; sorts v. */
double bench_median(double *v, int n);

#endif
