/* bench/bench_ingest_classes.c — in-process ingest by request size, plain and gzip, on
 * eBPF-profiler-like requests made by gen_ingest.c; and the request files the wire runs
 * of bench/ingest.sh send.
 *
 *   bench_ingest_classes gen BYTES PREFIX [--base-ns NS] [--template F]
 *       writes PREFIX.pb, PREFIX.pb.gz and the same framed as one gRPC message
 *       (PREFIX.grpc: flag 0; PREFIX.gz.grpc: flag 1, gzip); prints the request's shape
 *       as JSON on stdout.
 *   bench_ingest_classes measure SIZE[,SIZE...] [--gzip] [--reps N] [--min-rep-ms MS]
 *                        [--arena-retain BYTES]   (default: as the receiver; 0 = first block)
 *       [--template F]
 *       per size (k/m suffixes): floor vs end to end, medians of N repetitions of at
 *       least MS each; one JSON object on stdout, a table on stderr.
 *
 * The floor is what the receiver must do in any case: protobuf-c unpacking the bytes into
 * a per-request arena, preceded for gzip by inflating them with zlib into a buffer of the
 * right size (a lower bound: the receiver does not know the size in advance). End to end
 * is the receiver's own work on the request: otlp__gunzip (receiver/codec.c, with the
 * default 64 MiB limit) for gzip, then tr_decode_protobuf + tr_ingest into a win_store.
 * Steady state: each repetition uses a new store into which one untimed request has
 * already interned the stacks (a profiler sends the same stacks again and again); the
 * first request into the empty store is reported separately as "cold".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/base.h"
#include "gen_ingest.h"
#include "receiver/receiver_internal.h"
#include "translate/translate.h"
#include "util.h"
#include "window/window.h"

#define MAX_REPS        101
#define MAX_SIZES       32
#define T0_NS           1700000000000000000LL
#define NOW_NS          (T0_NS + 30LL * 60 * 1000000000LL)
#define BASE_NS         ((uint64_t)(NOW_NS - 60LL * 1000000000LL))
#define BENCH_MAX_INPUT BENCH_MAX_FILE
#define MAX_MESSAGE     ((size_t)64 << 20) /* the receiver's default --max-message-size */
#define ARENA_BLOCK     (1u << 20)
#define ARENA_CAP       ((size_t)2 << 30)
#define SEED            20261122u

static int write_file(const char *path, const uint8_t *head, size_t head_len, const uint8_t *buf,
                      size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "bench_ingest_classes: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ok = (head_len == 0 || fwrite(head, 1, head_len, f) == head_len) &&
             fwrite(buf, 1, len, f) == len;
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, "bench_ingest_classes: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* gzip at zlib's default level, as Go's and the collector's exporters do. */
static uint8_t *gzip_buf(const uint8_t *in, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (len > UINT32_MAX / 2 || deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                                             Z_DEFAULT_STRATEGY) != Z_OK) {
        return NULL;
    }
    uLong cap = deflateBound(&zs, (uLong)len) + 32;
    uint8_t *out = malloc(cap);
    if (!out) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        free(out);
        deflateEnd(&zs);
        return NULL;
    }
    *out_len = (size_t)zs.total_out;
    deflateEnd(&zs);
    return out;
}

typedef struct input {
    const uint8_t *buf; /* what arrives: plain or gzip */
    size_t len;
    size_t plain_len; /* after inflating */
    int gzip;
    uint8_t *scratch; /* the floor's inflate target, plain_len bytes */
} input;

enum { FLOOR, E2E };

static int floor_once(const input *in, base_arena *arena)
{
    const uint8_t *pb = in->buf;
    size_t len = in->len;
    if (in->gzip) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (inflateInit2(&zs, 15 + 16) != Z_OK) {
            return -1;
        }
        zs.next_in = (Bytef *)(uintptr_t)in->buf;
        zs.avail_in = (uInt)in->len;
        zs.next_out = in->scratch;
        zs.avail_out = (uInt)in->plain_len;
        int r = inflate(&zs, Z_FINISH);
        inflateEnd(&zs);
        if (r != Z_STREAM_END) {
            return -1;
        }
        pb = in->scratch;
        len = in->plain_len;
    }
    base_arena_reset(arena);
    tr_pb_allocator alloc;
    tr_request *req =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__unpack(
            tr_pb_allocator_init(&alloc, arena), len, pb);
    return req && req->n_resource_profiles > 0 ? 0 : -1;
}

static int e2e_once(const input *in, base_arena *arena, win_store *store, tr_result *res)
{
    char err[256];
    uint8_t *plain = NULL;
    const uint8_t *pb = in->buf;
    size_t len = in->len;
    if (in->gzip) {
        if (otlp__gunzip(in->buf, in->len, MAX_MESSAGE, &plain, &len, err, sizeof err) != BASE_OK) {
            fprintf(stderr, "bench_ingest_classes: gunzip: %s\n", err);
            return -1;
        }
        pb = plain;
    }
    tr_request *req = NULL;
    base_arena_reset(arena);
    int rc = 0;
    if (tr_decode_protobuf(pb, len, arena, &req, err, sizeof err) != BASE_OK) {
        fprintf(stderr, "bench_ingest_classes: decode failed: %s\n", err);
        rc = -1;
    } else if (tr_ingest(store, req, pb, len, NOW_NS, arena, res) != BASE_OK) {
        fprintf(stderr, "bench_ingest_classes: ingest ran out of memory\n");
        rc = -1;
    }
    free(plain);
    return rc;
}

/* Arena bytes kept between requests: as the receiver's gRPC workers unless --arena-retain
 * says otherwise (0 shows what the retained blocks buy). */
static size_t arena_retain = OTLP__ARENA_RETAIN;

typedef struct figures {
    double sec;      /* median seconds per request */
    double cold_sec; /* median first request into an empty store (E2E only) */
    uint64_t samples;
} figures;

static int measure(int kind, const input *in, int reps, int64_t min_rep_ns, figures *out)
{
    double per[MAX_REPS], cold[MAX_REPS];
    base_arena arena;
    base_arena_init(&arena, ARENA_BLOCK, ARENA_CAP);
    base_arena_set_retain(&arena, arena_retain);
    int rc = 0;
    for (int r = 0; r < reps && rc == 0; r++) {
        win_store *store = NULL;
        if (kind == E2E) {
            win_config cfg;
            win_config_defaults(&cfg);
            store = win_store_new(&cfg);
            if (!store) {
                rc = -1;
                break;
            }
            tr_result warm;
            int64_t c0 = base_now_mono_ns();
            rc = e2e_once(in, &arena, store, &warm);
            cold[r] = (double)(base_now_mono_ns() - c0) / 1e9;
        }
        int64_t start = base_now_mono_ns(), now = start;
        uint64_t iters = 0;
        while (rc == 0 && (iters == 0 || now - start < min_rep_ns)) {
            tr_result res;
            rc = kind == FLOOR ? floor_once(in, &arena) : e2e_once(in, &arena, store, &res);
            if (rc == 0 && kind == E2E && r == 0 && iters == 0) {
                out->samples = res.samples_stored;
                if (res.profiles_rejected || res.samples_too_old || res.samples_too_new) {
                    fprintf(stderr,
                            "bench_ingest_classes: input not fully stored (%" PRIu64
                            " rejected, %" PRIu64 " too old, %" PRIu64 " too new): %s\n",
                            res.profiles_rejected, res.samples_too_old, res.samples_too_new,
                            res.error_message);
                    rc = -1;
                }
            }
            iters++;
            now = base_now_mono_ns();
        }
        per[r] = (double)(now - start) / 1e9 / (double)iters;
        win_store_free(store);
    }
    base_arena_free(&arena);
    if (rc == 0) {
        out->sec = bench_median(per, reps);
        out->cold_sec = kind == E2E ? bench_median(cold, reps) : 0;
    }
    return rc;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) {
        return -1;
    }
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K') {
        mul = 1000, end++;
    } else if (*end == 'm' || *end == 'M') {
        mul = 1000000, end++;
    }
    if (*end || v == 0 || v > BENCH_MAX_INPUT / mul) {
        return -1;
    }
    *out = (size_t)(v * mul);
    return 0;
}

static void print_shape(FILE *f, const gen_stats *g)
{
    fprintf(f,
            "\"bytes\":%zu,\"resources\":%" PRIu64 ",\"services\":%" PRIu64 ",\"samples\":%" PRIu64
            ",\"observations\":%" PRIu64 ",\"stacks\":%" PRIu64 ",\"locations\":%" PRIu64
            ",\"functions\":%" PRIu64 ",\"strings\":%" PRIu64,
            g->bytes, g->resources, g->services, g->samples, g->observations, g->stacks,
            g->locations, g->functions, g->strings);
}

static int cmd_gen(const uint8_t *tmpl, size_t tmpl_len, size_t target, const char *prefix,
                   uint64_t base_ns)
{
    uint8_t *pb = NULL, *gz = NULL;
    size_t len = 0, gz_len = 0;
    gen_stats st;
    char err[256];
    if (gen_ingest(tmpl, tmpl_len, target, base_ns, SEED, &pb, &len, &st, err, sizeof err) != 0) {
        fprintf(stderr, "bench_ingest_classes: %s\n", err);
        return 1;
    }
    gz = gzip_buf(pb, len, &gz_len);
    if (!gz || len > UINT32_MAX || gz_len > UINT32_MAX) {
        free(pb);
        free(gz);
        return 1;
    }
    char path[4096];
    uint8_t frame[5] = {0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                        (uint8_t)len};
    uint8_t gz_frame[5] = {1, (uint8_t)(gz_len >> 24), (uint8_t)(gz_len >> 16),
                           (uint8_t)(gz_len >> 8), (uint8_t)gz_len};
    int rc = 0;
    snprintf(path, sizeof path, "%s.pb", prefix);
    rc |= write_file(path, NULL, 0, pb, len);
    snprintf(path, sizeof path, "%s.pb.gz", prefix);
    rc |= write_file(path, NULL, 0, gz, gz_len);
    snprintf(path, sizeof path, "%s.grpc", prefix);
    rc |= write_file(path, frame, sizeof frame, pb, len);
    snprintf(path, sizeof path, "%s.gz.grpc", prefix);
    rc |= write_file(path, gz_frame, sizeof gz_frame, gz, gz_len);
    printf("{");
    print_shape(stdout, &st);
    printf(",\"gzip_bytes\":%zu}\n", gz_len);
    free(pb);
    free(gz);
    return rc ? 1 : 0;
}

static void print_figures(const char *name, const figures *f, const input *in)
{
    double mb = (double)in->plain_len / 1e6;
    printf("\"%s\":{\"mb_per_s\":%.2f,\"samples_per_s\":%.0f,\"us_per_request\":%.2f", name,
           mb / f->sec, (double)f->samples / f->sec, f->sec * 1e6);
    if (f->cold_sec > 0) {
        printf(",\"cold_us_per_request\":%.2f", f->cold_sec * 1e6);
    }
    printf("}");
}

static int cmd_measure(const uint8_t *tmpl, size_t tmpl_len, const size_t *sizes, int n_sizes,
                       int gzip, int reps, int64_t min_rep_ns)
{
    printf("{\"repetitions\":%d,\"min_rep_seconds\":%.3f,\"records\":[", reps,
           (double)min_rep_ns / 1e9);
    fprintf(stderr, "%-10s %-5s %9s %6s | %9s %9s | %9s %11s %10s %10s | %6s\n", "target", "enc",
            "bytes", "samp", "floor MB/s", "floor us", "e2e MB/s", "e2e samp/s", "e2e us",
            "cold us", "ratio");
    for (int i = 0; i < n_sizes; i++) {
        uint8_t *pb = NULL;
        size_t len = 0;
        gen_stats st;
        char err[256];
        if (gen_ingest(tmpl, tmpl_len, sizes[i], BASE_NS, SEED, &pb, &len, &st, err, sizeof err) !=
            0) {
            fprintf(stderr, "bench_ingest_classes: %s\n", err);
            return 1;
        }
        size_t gz_len = 0;
        uint8_t *gz = gzip ? gzip_buf(pb, len, &gz_len) : NULL;
        if (gzip && !gz) {
            free(pb);
            return 1;
        }
        for (int enc = 0; enc <= gzip; enc++) {
            input in = {.buf = enc ? gz : pb,
                        .len = enc ? gz_len : len,
                        .plain_len = len,
                        .gzip = enc,
                        .scratch = enc ? malloc(len) : NULL};
            figures fl = {0}, ee = {0};
            if ((enc && !in.scratch) || measure(E2E, &in, reps, min_rep_ns, &ee) != 0 ||
                measure(FLOOR, &in, reps, min_rep_ns, &fl) != 0) {
                free(in.scratch);
                free(pb);
                free(gz);
                return 1;
            }
            fl.samples = ee.samples;
            free(in.scratch);
            printf("%s{\"target_bytes\":%zu,\"encoding\":\"%s\",\"wire_bytes\":%zu,",
                   i || enc ? "," : "", sizes[i], enc ? "gzip" : "plain", in.len);
            print_shape(stdout, &st);
            printf(",\"observations_stored\":%" PRIu64 ",", ee.samples);
            print_figures("floor", &fl, &in);
            printf(",");
            print_figures("end_to_end", &ee, &in);
            printf(",\"ratio_e2e_over_floor\":%.4f}", fl.sec / ee.sec);
            double mb = (double)len / 1e6;
            fprintf(stderr,
                    "%-10zu %-5s %9zu %6" PRIu64 " | %9.1f %9.1f | %9.1f %11.0f %10.1f %10.1f | "
                    "%6.3f\n",
                    sizes[i], enc ? "gzip" : "plain", in.len, ee.samples, mb / fl.sec, fl.sec * 1e6,
                    mb / ee.sec, (double)ee.samples / ee.sec, ee.sec * 1e6, ee.cold_sec * 1e6,
                    fl.sec / ee.sec);
            fflush(stdout);
        }
        free(pb);
        free(gz);
    }
    printf("]}\n");
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_ingest_classes gen BYTES PREFIX [--base-ns NS] [--template F]\n"
                    "       bench_ingest_classes measure SIZE[,SIZE...] [--gzip] [--reps N] "
                    "[--min-rep-ms MS] [--template F] [--arena-retain BYTES]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        return usage();
    }
    const char *cmd = argv[1];
    const char *pos[2] = {NULL, NULL};
    int n_pos = 0, gzip = 0, reps = 7;
    int64_t min_rep_ns = 100000000LL;
    uint64_t base_ns = BASE_NS;
    char def[4096];
    const char *tmpl_path = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--gzip") == 0) {
            gzip = 1;
        } else if (strcmp(a, "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (strcmp(a, "--arena-retain") == 0 && i + 1 < argc) {
            arena_retain = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (strcmp(a, "--min-rep-ms") == 0 && i + 1 < argc) {
            min_rep_ns = (int64_t)atoi(argv[++i]) * 1000000LL;
        } else if (strcmp(a, "--base-ns") == 0 && i + 1 < argc) {
            base_ns = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(a, "--template") == 0 && i + 1 < argc) {
            tmpl_path = argv[++i];
        } else if (a[0] != '-' && n_pos < 2) {
            pos[n_pos++] = a;
        } else {
            return usage();
        }
    }
    if (reps < 1 || reps > MAX_REPS || min_rep_ns < 0 || base_ns == 0) {
        return usage();
    }
    if (!tmpl_path) {
        const char *td = getenv("OTELPROFD_TESTDATA");
        snprintf(def, sizeof def, "%s/otlp/ebpf_style.pb", td ? td : "../shared/testdata");
        tmpl_path = def;
    }
    size_t tmpl_len = 0;
    uint8_t *tmpl = bench_read_file(tmpl_path, &tmpl_len);
    if (!tmpl) {
        fprintf(stderr, "bench_ingest_classes: cannot read %s\n", tmpl_path);
        return 1;
    }
    int rc;
    if (strcmp(cmd, "gen") == 0 && n_pos == 2) {
        size_t target;
        rc = parse_size(pos[0], &target) == 0 ? cmd_gen(tmpl, tmpl_len, target, pos[1], base_ns)
                                              : usage();
    } else if (strcmp(cmd, "measure") == 0 && n_pos == 1) {
        size_t sizes[MAX_SIZES];
        int n = 0;
        char list[1024];
        snprintf(list, sizeof list, "%s", pos[0]);
        rc = 0;
        for (char *tok = list; tok && rc == 0;) {
            char *comma = strchr(tok, ',');
            if (comma) {
                *comma = '\0';
            }
            if (n == MAX_SIZES || parse_size(tok, &sizes[n++]) != 0) {
                rc = usage();
            }
            tok = comma ? comma + 1 : NULL;
        }
        if (rc == 0) {
            rc = cmd_measure(tmpl, tmpl_len, sizes, n, gzip, reps, min_rep_ns);
        }
    } else {
        rc = usage();
    }
    free(tmpl);
    return rc;
}
