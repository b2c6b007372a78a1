/* test_log_wal.c — the log's backends in process: memory (nothing kept without consumers,
 * a bounded backlog with them, drops counted), the write-ahead log (records, keys and times
 * come back after a reopen; cursors persist; a torn tail is cut and appends continue after
 * it; a damaged record in the middle costs that record only; another format version and a
 * second opener are refused), and group commit under concurrent appenders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/log.h"

#define HOUR 3600000000000LL

static char *make_dir(void)
{
    char tmpl[] = "/tmp/test_log_wal.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static log_store *open_wal(const char *dir, uint64_t segment_bytes, char *err, size_t err_len)
{
    log_config c = {.backend = LOG_BACKEND_WAL,
                    .retention_ns = HOUR,
                    .data_dir = dir,
                    .sync = LOG_SYNC_ALWAYS,
                    .segment_bytes = segment_bytes};
    return log_open(&c, err, err_len);
}

static void append_n(log_store *log, int first, int n, const char *key)
{
    for (int i = first; i < first + n; i++) {
        char payload[64];
        int len = snprintf(payload, sizeof payload, "record-%d", i);
        log_entry e = {.data = (const uint8_t *)payload,
                       .len = (size_t)len,
                       .key = key,
                       .recv_unix_ns = base_now_unix_ns()};
        uint64_t seq = 0;
        char err[256] = "";
        assert_int_equal(log_append(log, &e, &seq, err, sizeof err), BASE_OK);
        assert_true(seq > 0);
    }
}

/* Reads everything from the start; returns how many, checks the payloads are in order. */
static int read_all(log_store *log, const char *name, int *first_id, uint64_t *lost)
{
    char err[256] = "";
    log_position p = {.from = LOG_FROM_TIME};
    log_consumer *c = log_consumer_open(log, name, &p, err, sizeof err);
    assert_non_null(c);
    log_record r;
    int n = 0, prev = -1;
    while (log_consumer_next(c, 0, &r, err, sizeof err) == BASE_OK) {
        int id = -1;
        char text[64] = {0};
        memcpy(text, r.data, r.len < 63 ? r.len : 63);
        assert_int_equal(sscanf(text, "record-%d", &id), 1);
        if (n == 0 && first_id)
            *first_id = id;
        assert_true(id > prev);
        prev = id;
        n++;
    }
    log_consumer_stats st[LOG_CONSUMERS_MAX];
    size_t k = log_consumer_stats_all(log, st, LOG_CONSUMERS_MAX);
    for (size_t i = 0; i < k; i++)
        if (strcmp(st[i].name, name) == 0 && lost)
            *lost = st[i].lost;
    log_consumer_close(c);
    return n;
}

static void test_memory_keeps_nothing_without_consumers(void **state)
{
    (void)state;
    char err[256];
    log_config c = {.backend = LOG_BACKEND_MEMORY, .retention_ns = HOUR};
    log_store *log = log_open(&c, err, sizeof err);
    assert_non_null(log);
    assert_false(log_keeps_records(log));
    append_n(log, 0, 10, "svc");
    log_stats s;
    log_stats_get(log, &s);
    assert_int_equal(s.appends, 10);
    assert_int_equal(s.records_held, 0);
    assert_int_equal(s.last_seq, 10);
    log_close(log);
}

static void test_memory_backlog_bounded(void **state)
{
    (void)state;
    char err[256];
    log_config c = {
        .backend = LOG_BACKEND_MEMORY, .retention_ns = HOUR, .memory_backlog_bytes = 100};
    log_store *log = log_open(&c, err, sizeof err);
    assert_non_null(log);
    log_position p = {.from = LOG_FROM_END};
    log_consumer *fw = log_consumer_open(log, "fw", &p, err, sizeof err);
    assert_non_null(fw);
    assert_true(log_keeps_records(log));
    append_n(log, 0, 50, "svc"); /* ~9 bytes each: the oldest go past 100 bytes */
    log_stats s;
    log_stats_get(log, &s);
    assert_true(s.bytes_held <= 100);
    log_record r;
    int n = 0;
    uint64_t last = 0;
    while (log_consumer_next(fw, 0, &r, err, sizeof err) == BASE_OK) {
        assert_string_equal(r.key, "svc");
        last = r.seq;
        n++;
    }
    assert_int_equal(last, 50);
    log_consumer_stats st;
    assert_int_equal(log_consumer_stats_all(log, &st, 1), 1);
    assert_int_equal(st.lost + (uint64_t)n, 50); /* every record delivered or counted lost */
    assert_true(st.lost > 0);
    assert_int_equal(log_consumer_commit(fw, last, err, sizeof err), BASE_OK);
    log_stats_get(log, &s);
    assert_int_equal(s.records_held, 0); /* committed by the only consumer: freed */
    /* names are unique while open */
    assert_null(log_consumer_open(log, "fw", &p, err, sizeof err));
    assert_null(log_consumer_open(log, "bad name", &p, err, sizeof err));
    log_consumer_close(fw);
    log_close(log);
}

static void test_wal_reopen_and_cursor(void **state)
{
    (void)state;
    char *dir = make_dir(), err[512] = "";
    log_store *log = open_wal(dir, 4096, err, sizeof err); /* small: several segments */
    assert_non_null(log);
    append_n(log, 0, 300, "checkout");
    log_stats s;
    log_stats_get(log, &s);
    assert_true(s.segments > 1);
    /* a second opener is refused while the first holds the directory */
    assert_null(open_wal(dir, 4096, err, sizeof err));
    assert_non_null(strstr(err, "in use by another otelprofd"));
    /* a forwarder reads 100 and commits */
    log_position p = {.from = LOG_FROM_CURSOR, .time_unix_ns = 1};
    log_consumer *fw = log_consumer_open(log, "fw", &p, err, sizeof err);
    assert_non_null(fw);
    log_record r;
    for (int i = 0; i < 100; i++)
        assert_int_equal(log_consumer_next(fw, 0, &r, err, sizeof err), BASE_OK);
    assert_int_equal(r.seq, 100);
    assert_string_equal(r.key, "checkout");
    assert_int_equal(log_consumer_commit(fw, r.seq, err, sizeof err), BASE_OK);
    log_consumer_close(fw);
    log_close(log);

    log = open_wal(dir, 4096, err, sizeof err);
    assert_non_null(log);
    int first = -1;
    assert_int_equal(read_all(log, "replay", &first, NULL), 300);
    assert_int_equal(first, 0);
    fw = log_consumer_open(log, "fw", &p, err, sizeof err);
    assert_non_null(fw);
    assert_int_equal(log_consumer_next(fw, 0, &r, err, sizeof err), BASE_OK);
    assert_int_equal(r.seq, 101); /* resumes after its cursor */
    log_consumer_close(fw);
    append_n(log, 300, 5, NULL);
    assert_int_equal(read_all(log, "replay", NULL, NULL), 305);
    log_close(log);
    rm_rf(dir);
    free(dir);
}

static char *last_segment(const char *dir, bool first)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls '%s'/*.wal | %s -n 1", dir, first ? "head" : "tail");
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *line = calloc(1, 512);
    assert_non_null(fgets(line, 512, f));
    pclose(f);
    line[strcspn(line, "\n")] = '\0';
    return line;
}

static void test_wal_torn_tail_and_damage(void **state)
{
    (void)state;
    char *dir = make_dir(), err[512] = "";
    log_store *log = open_wal(dir, 4096, err, sizeof err);
    assert_non_null(log);
    append_n(log, 0, 200, "svc");
    log_close(log);

    /* torn tail: half a header and garbage after the last record */
    char *tail = last_segment(dir, false);
    struct stat st;
    assert_int_equal(stat(tail, &st), 0);
    FILE *f = fopen(tail, "ab");
    fwrite("OLWR\x20\x00\x00\x00partial", 1, 15, f);
    fclose(f);
    log = open_wal(dir, 4096, err, sizeof err);
    assert_non_null(log);
    struct stat st2;
    assert_int_equal(stat(tail, &st2), 0);
    assert_int_equal(st2.st_size, st.st_size); /* cut back */
    assert_int_equal(read_all(log, "r", NULL, NULL), 200);
    append_n(log, 200, 10, "svc");
    assert_int_equal(read_all(log, "r", NULL, NULL), 210);
    log_close(log);

    /* one byte flipped in the middle of the first segment: that record only */
    char *head = last_segment(dir, true);
    assert_int_equal(stat(head, &st), 0);
    int fd = open(head, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, st.st_size / 2), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, st.st_size / 2), 1);
    close(fd);
    log = open_wal(dir, 4096, err, sizeof err);
    assert_non_null(log);
    uint64_t lost = 0;
    assert_int_equal(read_all(log, "r", NULL, &lost), 209);
    assert_int_equal(lost, 1);
    log_stats s;
    log_stats_get(log, &s);
    assert_int_equal(s.corrupt_records, 1);
    log_close(log);

    /* another format version is refused, naming both */
    char path[600];
    snprintf(path, sizeof path, "%s/FORMAT", dir);
    f = fopen(path, "w");
    fputs("otelprofd-wal 7\n", f);
    fclose(f);
    assert_null(open_wal(dir, 4096, err, sizeof err));
    assert_non_null(strstr(err, "format version 7"));
    assert_non_null(strstr(err, "reads version 1"));
    free(tail);
    free(head);
    rm_rf(dir);
    free(dir);
}

typedef struct appender {
    log_store *log;
    int first;
} appender;

static void *append_main(void *arg)
{
    appender *a = arg;
    append_n(a->log, a->first, 200, "svc");
    return NULL;
}

static void test_wal_group_commit(void **state)
{
    (void)state;
    char *dir = make_dir(), err[512] = "";
    log_store *log = open_wal(dir, 0, err, sizeof err);
    assert_non_null(log);
    pthread_t t[8];
    appender a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (appender){log, i * 1000};
        assert_int_equal(pthread_create(&t[i], NULL, append_main, &a[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    log_stats s;
    log_stats_get(log, &s);
    assert_int_equal(s.appends, 1600);
    assert_int_equal(s.last_seq, 1600);
    /* every append waited for a sync, but concurrent ones shared it */
    assert_true(s.syncs >= 1);
    assert_true(s.syncs <= 1600);
    log_close(log);
    log = open_wal(dir, 0, err, sizeof err);
    assert_non_null(log);
    char e2[256];
    log_position p = {.from = LOG_FROM_SEQ, .seq = 1};
    log_consumer *c = log_consumer_open(log, "all", &p, e2, sizeof e2);
    log_record r;
    uint64_t n = 0;
    while (log_consumer_next(c, 0, &r, e2, sizeof e2) == BASE_OK)
        assert_int_equal(r.seq, ++n);
    assert_int_equal(n, 1600);
    log_consumer_close(c);
    log_close(log);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_keeps_nothing_without_consumers),
        cmocka_unit_test(test_memory_backlog_bounded),
        cmocka_unit_test(test_wal_reopen_and_cursor),
        cmocka_unit_test(test_wal_torn_tail_and_damage),
        cmocka_unit_test(test_wal_group_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
