/* bench/bench_log_nats.c — the JetStream log against the local write-ahead log, same run.
 *
 * usage: bench_log_nats REQUEST.pb WAL_DIR NATS_R1_URL NATS_R3_URLS
 *
 * For each log — wal (--data-dir, --wal-sync always), nats R1 (one server), nats R3 (three
 * servers) — it appends copies of REQUEST (each made unique by an unknown trailing field, so
 * the stream's de-duplication does not drop them) from 4 threads, as the receiver's threads
 * do, for a fixed duration, and reports requests/s, MB/s and the ratio to the wal. Then, on
 * each nats log: the delay from an append's acknowledgement to its arrival at a consumer that
 * follows the stream (p50/p99 over single appends, one at a time), and the replay speed of a
 * consumer reading the whole stream from its start (records/s, MB/s), which is what a query
 * node does at start. Prints one JSON object. Never asserts.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/util.h"
#include "log/log.h"

#define THREADS 4
#define SEC     1000000000LL

static const uint8_t *req;
static size_t req_len;
static double seconds = 3;

typedef struct run {
    log_store *log;
    _Atomic uint64_t next_id, done, bytes, failed;
    int64_t until;
} run;

/* REQUEST + field 15 (varint) = id: unknown to the OTLP decoder, unique per append. */
static size_t unique_copy(uint8_t *out, uint64_t id)
{
    memcpy(out, req, req_len);
    size_t n = req_len;
    out[n++] = (15 << 3) | 0;
    while (id >= 0x80)
        out[n++] = (uint8_t)(id | 0x80), id >>= 7;
    out[n++] = (uint8_t)id;
    return n;
}

static void *appender(void *arg)
{
    run *r = arg;
    uint8_t *buf = malloc(req_len + 16);
    char err[256];
    while (buf && base_now_mono_ns() < r->until) {
        uint64_t id = atomic_fetch_add(&r->next_id, 1);
        log_entry e = {buf, unique_copy(buf, id), "bench", base_now_unix_ns()};
        if (log_append(r->log, &e, NULL, err, sizeof err) == BASE_OK) {
            atomic_fetch_add(&r->done, 1);
            atomic_fetch_add(&r->bytes, e.len);
        } else {
            atomic_fetch_add(&r->failed, 1);
        }
    }
    free(buf);
    return NULL;
}

static uint64_t id_base = 1;

static double throughput(log_store *log, double *mbps, uint64_t *failed)
{
    run r = {.log = log};
    atomic_store(&r.next_id, id_base);
    int64_t t0 = base_now_mono_ns();
    r.until = t0 + (int64_t)(seconds * SEC);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, appender, &r);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    double el = (double)(base_now_mono_ns() - t0) / 1e9;
    id_base = atomic_load(&r.next_id) + 1;
    *mbps = (double)atomic_load(&r.bytes) / el / 1e6;
    *failed = atomic_load(&r.failed);
    return (double)atomic_load(&r.done) / el;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Acknowledgement -> arrival at a following consumer, `n` single appends. */
static void delay(log_store *log, int n, double *p50, double *p99)
{
    char err[256];
    log_position end = {.from = LOG_FROM_END};
    log_consumer *c = log_consumer_open(log, "bench-follow", &end, err, sizeof err);
    double *ms = calloc((size_t)n, sizeof *ms);
    uint8_t *buf = malloc(req_len + 16);
    int got = 0;
    for (int i = 0; c && ms && buf && i < n; i++) {
        log_entry e = {buf, unique_copy(buf, id_base++), "bench", base_now_unix_ns()};
        if (log_append(log, &e, NULL, err, sizeof err) != BASE_OK)
            continue;
        int64_t acked = base_now_mono_ns();
        log_record rec;
        if (log_consumer_next(c, 5 * SEC, &rec, err, sizeof err) == BASE_OK)
            ms[got++] = (double)(base_now_mono_ns() - acked) / 1e6;
    }
    qsort(ms, (size_t)got, sizeof *ms, cmp_double);
    *p50 = got ? ms[got / 2] : -1;
    *p99 = got ? ms[(got * 99) / 100 < got ? (got * 99) / 100 : got - 1] : -1;
    free(ms);
    free(buf);
    log_consumer_close(c);
}

/* A consumer reading the stream from its first record until it has caught up. */
static double replay(log_store *log, double *mbps, uint64_t *records)
{
    char err[256];
    log_position from = {.from = LOG_FROM_SEQ, .seq = 1};
    log_consumer *c = log_consumer_open(log, "bench-replay", &from, err, sizeof err);
    if (!c)
        return -1;
    int64_t t0 = base_now_mono_ns();
    uint64_t n = 0, bytes = 0;
    log_record rec;
    while (log_consumer_next(c, 0, &rec, err, sizeof err) == BASE_OK)
        n++, bytes += rec.len;
    double el = (double)(base_now_mono_ns() - t0) / 1e9;
    log_consumer_close(c);
    *records = n;
    *mbps = (double)bytes / el / 1e6;
    return (double)n / el;
}

static log_store *open_nats(const char *url, int replicas, const char *stream)
{
    char err[512];
    log_config cfg = {.backend = LOG_BACKEND_NATS,
                      .retention_ns = 3600 * SEC,
                      .nats_url = url,
                      .nats_stream = stream,
                      .nats_replicas = replicas};
    log_store *l = log_open(&cfg, err, sizeof err);
    if (!l)
        fprintf(stderr, "bench_log_nats: %s: %s\n", url, err);
    return l;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_log_nats REQUEST.pb WAL_DIR NATS_R1_URL NATS_R3_URLS\n");
        return 2;
    }
    if (getenv("BENCH_QUICK"))
        seconds = 1;
    req = bench_read_file(argv[1], &req_len);
    if (!req)
        return 2;
    char err[512];
    log_config wc = {.backend = LOG_BACKEND_WAL,
                     .retention_ns = 3600 * SEC,
                     .data_dir = argv[2],
                     .sync = LOG_SYNC_ALWAYS};
    log_store *wal = log_open(&wc, err, sizeof err);
    if (!wal) {
        fprintf(stderr, "bench_log_nats: wal: %s\n", err);
        return 1;
    }
    log_store *r1 = open_nats(argv[3], 1, "BENCH_R1");
    log_store *r3 = open_nats(argv[4], 3, "BENCH_R3");
    if (!r1 || !r3)
        return 1;
    double mb_w, mb_1, mb_3;
    uint64_t f_w, f_1, f_3;
    double w = throughput(wal, &mb_w, &f_w);
    double t1 = throughput(r1, &mb_1, &f_1);
    double t3 = throughput(r3, &mb_3, &f_3);
    int n = getenv("BENCH_QUICK") ? 50 : 300;
    double d1_50, d1_99, d3_50, d3_99;
    delay(r1, n, &d1_50, &d1_99);
    delay(r3, n, &d3_50, &d3_99);
    double rm1, rm3;
    uint64_t rn1, rn3;
    double rp1 = replay(r1, &rm1, &rn1), rp3 = replay(r3, &rm3, &rn3);
    printf("{\"request_bytes\":%zu,\"threads\":%d,\"seconds\":%.1f,\n"
           " \"wal\":{\"req_per_s\":%.1f,\"mb_per_s\":%.2f,\"failed\":%llu},\n"
           " \"nats_r1\":{\"req_per_s\":%.1f,\"mb_per_s\":%.2f,\"failed\":%llu,\"of_wal\":%.3f,"
           "\"ack_to_visible_ms_p50\":%.3f,\"ack_to_visible_ms_p99\":%.3f,"
           "\"replay_records\":%llu,\"replay_records_per_s\":%.1f,\"replay_mb_per_s\":%.2f},\n"
           " \"nats_r3\":{\"req_per_s\":%.1f,\"mb_per_s\":%.2f,\"failed\":%llu,\"of_wal\":%.3f,"
           "\"ack_to_visible_ms_p50\":%.3f,\"ack_to_visible_ms_p99\":%.3f,"
           "\"replay_records\":%llu,\"replay_records_per_s\":%.1f,\"replay_mb_per_s\":%.2f}}\n",
           req_len, THREADS, seconds, w, mb_w, (unsigned long long)f_w, t1, mb_1,
           (unsigned long long)f_1, w > 0 ? t1 / w : 0, d1_50, d1_99, (unsigned long long)rn1, rp1,
           rm1, t3, mb_3, (unsigned long long)f_3, w > 0 ? t3 / w : 0, d3_50, d3_99,
           (unsigned long long)rn3, rp3, rm3);
    log_close(wal);
    log_close(r1);
    log_close(r3);
    free((void *)req);
    return 0;
}
