/* Unit tests for log/nats.c against a real nats-server (Debian's; JetStream enabled, one
 * node, its client port bound by the server and read from its ports file). The server runs
 * with max_payload 16 KiB so that the split along resource / scope / profile boundaries is
 * exercised with small requests. Without nats-server on PATH every test is skipped with a
 * message (CI installs it: scripts/install-deps.sh --test). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log/log.h"

#define MAX_PAYLOAD 16384
#define SEC         1000000000LL

static char dir[256];
static char url[128];
static pid_t server = -1;
static bool have_server;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool start_server(void)
{
    char conf[512], ports[300], store[300];
    snprintf(conf, sizeof conf, "%s/server.conf", dir);
    snprintf(ports, sizeof ports, "%s/ports", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    mkdir(ports, 0700);
    FILE *f = fopen(conf, "w");
    if (!f)
        return false;
    fprintf(f, "listen: \"127.0.0.1:-1\"\nmax_payload: %d\njetstream { store_dir: \"%s\" }\n",
            MAX_PAYLOAD, store);
    fclose(f);
    server = fork();
    if (server == 0) {
        char log[320];
        snprintf(log, sizeof log, "%s/server.log", dir);
        execlp("nats-server", "nats-server", "-c", conf, "--ports_file_dir", ports, "-l", log,
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        DIR *d = opendir(ports);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strstr(e->d_name, ".ports"))
                continue;
            char path[600], text[512] = "";
            snprintf(path, sizeof path, "%s/%s", ports, e->d_name);
            FILE *pf = fopen(path, "r");
            if (!pf)
                continue;
            size_t n = fread(text, 1, sizeof text - 1, pf);
            fclose(pf);
            text[n] = 0;
            char *u = strstr(text, "nats://");
            if (u) {
                char *q = strchr(u, '"');
                if (q) {
                    snprintf(url, sizeof url, "%.*s", (int)(q - u), u);
                    closedir(d);
                    return true;
                }
            }
        }
        if (d)
            closedir(d);
        int st;
        if (waitpid(server, &st, WNOHANG) == server) {
            server = -1;
            return false;
        }
        sleep_ms(50);
    }
    return false;
}

static void stop_server(void)
{
    if (server > 0) {
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
        server = -1;
    }
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/otelprofd-lognats.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    have_server = start_server();
    if (!have_server)
        fprintf(stderr, "SKIP: nats-server is not installed or did not start (Debian package "
                        "nats-server; scripts/install-deps.sh --test installs it)\n");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop_server();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 0;
    return 0;
}

static log_store *open_log(const char *stream, int64_t retention_ns, char *err, size_t err_len)
{
    /* one subject space per stream: JetStream refuses two streams over the same subjects */
    char prefix[96];
    snprintf(prefix, sizeof prefix, "test.%s", stream);
    log_config cfg = {.backend = LOG_BACKEND_NATS,
                      .retention_ns = retention_ns,
                      .nats_url = url,
                      .nats_stream = stream,
                      .nats_subject = prefix,
                      .nats_replicas = 1};
    log_store *log = log_open(&cfg, err, err_len);
    if (!log)
        fprintf(stderr, "log_open %s: %s\n", stream, err);
    return log;
}

#define NEED_SERVER()                                                                              \
    do {                                                                                           \
        if (!have_server)                                                                          \
            skip();                                                                                \
    } while (0)

/* ---- a hand-made request: field 1 = ResourceProfiles, 2 = dictionary ------------------ */

typedef struct wbuf {
    uint8_t p[1 << 20];
    size_t n;
} wbuf;

static void w_varint(wbuf *b, uint64_t v)
{
    while (v >= 0x80)
        b->p[b->n++] = (uint8_t)(v | 0x80), v >>= 7;
    b->p[b->n++] = (uint8_t)v;
}

static void w_bytes(wbuf *b, uint32_t field, const void *d, size_t n)
{
    w_varint(b, ((uint64_t)field << 3) | 2);
    w_varint(b, n);
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

/* A profile body of `size` bytes whose content names it (resource r, scope s, profile p). */
static size_t profile_body(uint8_t *out, size_t size, int r, int s, int p)
{
    memset(out, 'a' + (r + s + p) % 26, size);
    snprintf((char *)out, size, "r%d.s%d.p%d", r, s, p);
    return size;
}

/* nres resources x nscope scopes x nprof profiles of psize bytes each, and a dictionary. */
static void make_request(wbuf *req, int nres, int nscope, int nprof, size_t psize)
{
    static wbuf rp, sp;
    static uint8_t body[65536];
    req->n = 0;
    for (int r = 0; r < nres; r++) {
        rp.n = 0;
        char res[32];
        snprintf(res, sizeof res, "resource-%d", r);
        w_bytes(&rp, 1, res, strlen(res));
        for (int s = 0; s < nscope; s++) {
            sp.n = 0;
            char scope[32];
            snprintf(scope, sizeof scope, "scope-%d", s);
            w_bytes(&sp, 1, scope, strlen(scope));
            for (int p = 0; p < nprof; p++)
                w_bytes(&sp, 2, body, profile_body(body, psize, r, s, p));
            w_bytes(&rp, 2, sp.p, sp.n);
        }
        w_bytes(req, 1, rp.p, rp.n);
    }
    w_bytes(req, 2, "dictionary-bytes", 16);
}

/* Walks a request, appending "r.s.p" names of its profiles (each under its own resource
 * and scope names) to `names`, and counts dictionaries. */
typedef struct walk {
    char names[1 << 16];
    int dictionaries;
} walk;

static uint64_t r_varint(const uint8_t **p)
{
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
        uint8_t c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return v;
    }
}

static void walk_request(const uint8_t *d, size_t n, walk *w)
{
    const uint8_t *p = d, *end = d + n;
    while (p < end) {
        uint64_t tag = r_varint(&p), len = r_varint(&p);
        const uint8_t *body = p;
        p += len;
        if ((tag >> 3) == 2) {
            w->dictionaries++;
            continue;
        }
        char res[64] = "";
        const uint8_t *q = body, *qend = body + len;
        while (q < qend) {
            uint64_t t2 = r_varint(&q), l2 = r_varint(&q);
            if ((t2 >> 3) == 1)
                snprintf(res, sizeof res, "%.*s", (int)l2, (const char *)q);
            if ((t2 >> 3) == 2) {
                char scope[64] = "";
                const uint8_t *s = q, *send = q + l2;
                while (s < send) {
                    uint64_t t3 = r_varint(&s), l3 = r_varint(&s);
                    if ((t3 >> 3) == 1)
                        snprintf(scope, sizeof scope, "%.*s", (int)l3, (const char *)s);
                    if ((t3 >> 3) == 2) {
                        size_t k = strlen(w->names);
                        snprintf(w->names + k, sizeof w->names - k, "%s/%s/%s;", res, scope,
                                 (const char *)s);
                    }
                    s += l3;
                }
            }
            q += l2;
        }
    }
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_append_and_read_back(void **state)
{
    (void)state;
    NEED_SERVER();
    char err[512] = "";
    log_store *log = open_log("T_BASIC", 3600 * SEC, err, sizeof err);
    assert_non_null(log);
    const char *payload = "not really protobuf, the log does not care";
    int64_t now = 1700000000123456789LL;
    log_entry e = {(const uint8_t *)payload, strlen(payload), "checkout.api svc", now};
    uint64_t seq = 0;
    assert_int_equal(log_append(log, &e, &seq, err, sizeof err), BASE_OK);
    assert_int_equal(seq, 1);
    /* The same bytes again (a sender's retry): acknowledged, stored once. */
    uint64_t seq2 = 0;
    assert_int_equal(log_append(log, &e, &seq2, err, sizeof err), BASE_OK);
    assert_int_equal(seq2, 1);
    log_entry other = {(const uint8_t *)"x", 1, NULL, now + 1};
    assert_int_equal(log_append(log, &other, &seq, err, sizeof err), BASE_OK);
    assert_int_equal(seq, 2);

    log_stats st;
    log_stats_get(log, &st);
    assert_int_equal(st.records_held, 2);
    assert_int_equal(st.last_seq, 2);

    log_position pos = {.from = LOG_FROM_SEQ, .seq = 1};
    log_consumer *c = log_consumer_open(log, "windows", &pos, err, sizeof err);
    assert_non_null(c);
    log_record rec;
    assert_int_equal(log_consumer_next(c, 0, &rec, err, sizeof err), BASE_OK);
    assert_int_equal(rec.seq, 1);
    assert_int_equal(rec.len, strlen(payload));
    assert_memory_equal(rec.data, payload, rec.len);
    assert_string_equal(rec.key, "checkout_api_svc"); /* a subject token */
    assert_int_equal(rec.recv_unix_ns, now);
    assert_int_equal(log_consumer_next(c, 0, &rec, err, sizeof err), BASE_OK);
    assert_int_equal(rec.seq, 2);
    assert_string_equal(rec.key, ""); /* no key: the catch-all subject */
    assert_int_equal(log_consumer_next(c, 0, &rec, err, sizeof err), BASE_ERR_NOT_FOUND);
    /* and it follows: a record appended now arrives */
    log_entry third = {(const uint8_t *)"y", 1, "k", now + 2};
    assert_int_equal(log_append(log, &third, &seq, err, sizeof err), BASE_OK);
    assert_int_equal(log_consumer_next(c, 5 * SEC, &rec, err, sizeof err), BASE_OK);
    assert_int_equal(rec.seq, 3);
    log_consumer_close(c);
    log_close(log);
}

static void test_split_over_max_payload(void **state)
{
    (void)state;
    NEED_SERVER();
    char err[512] = "";
    log_store *log = open_log("T_SPLIT", 3600 * SEC, err, sizeof err);
    assert_non_null(log);
    static wbuf req;
    static walk want, got;
    /* 3 resources x 4 scopes x 5 profiles of 3000 bytes: ~180 KB, and each resource alone
     * (~60 KB) and each scope (~15 KB) is larger than one 16 KiB message can carry. */
    make_request(&req, 3, 4, 5, 3000);
    memset(&want, 0, sizeof want);
    walk_request(req.p, req.n, &want);
    log_entry e = {req.p, req.n, "svc", 1};
    uint64_t last = 0;
    assert_int_equal(log_append(log, &e, &last, err, sizeof err), BASE_OK);
    assert_true(last > 3);
    /* retried whole: every part is a duplicate */
    uint64_t again = 0;
    assert_int_equal(log_append(log, &e, &again, err, sizeof err), BASE_OK);
    log_stats st;
    log_stats_get(log, &st);
    assert_int_equal(st.records_held, last);

    log_position pos = {.from = LOG_FROM_SEQ, .seq = 1};
    log_consumer *c = log_consumer_open(log, "windows", &pos, err, sizeof err);
    assert_non_null(c);
    memset(&got, 0, sizeof got);
    log_record rec;
    uint64_t parts = 0;
    while (log_consumer_next(c, 0, &rec, err, sizeof err) == BASE_OK) {
        parts++;
        assert_true(rec.len <= MAX_PAYLOAD);
        int before = got.dictionaries;
        walk_request(rec.data, rec.len, &got);
        assert_int_equal(got.dictionaries, before + 1); /* every part is whole */
    }
    assert_int_equal(parts, last);
    assert_string_equal(got.names, want.names); /* every profile once, in order, in place */
    log_consumer_close(c);

    /* One profile that cannot travel in one message even alone: refused, nothing acked. */
    make_request(&req, 1, 1, 1, MAX_PAYLOAD + 100);
    log_entry big = {req.p, req.n, "svc", 2};
    err[0] = 0;
    assert_int_equal(log_append(log, &big, NULL, err, sizeof err), BASE_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "max_payload"));

    /* Hostile shape: a resource with 8 KB of its own fields and 300 tiny scopes. Split per
     * scope, every piece would repeat the 8 KB (2.4 MB from a 40 KB request): refused
     * instead of multiplied. */
    static wbuf rp, sp;
    static uint8_t fat[8000];
    memset(fat, 'r', sizeof fat);
    rp.n = 0;
    w_bytes(&rp, 1, fat, sizeof fat);
    for (int k = 0; k < 300; k++) {
        sp.n = 0;
        char body[100];
        memset(body, 'p', sizeof body);
        snprintf(body, sizeof body, "scope-%d", k);
        w_bytes(&sp, 2, body, sizeof body);
        w_bytes(&rp, 2, sp.p, sp.n);
    }
    req.n = 0;
    w_bytes(&req, 1, rp.p, rp.n);
    w_bytes(&req, 2, "dictionary-bytes", 16);
    log_entry fatreq = {req.p, req.n, "svc", 3};
    err[0] = 0;
    assert_int_equal(log_append(log, &fatreq, NULL, err, sizeof err), BASE_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "cannot be split"));
    log_close(log);
}

static void test_existing_stream_is_checked(void **state)
{
    (void)state;
    NEED_SERVER();
    char err[512] = "";
    log_store *log = open_log("T_CHECK", 3600 * SEC, err, sizeof err);
    assert_non_null(log);
    log_close(log);
    /* same settings: accepted */
    log = open_log("T_CHECK", 3600 * SEC, err, sizeof err);
    assert_non_null(log);
    log_close(log);
    /* another retention: refused with what differs, the stream is left alone */
    err[0] = 0;
    assert_null(open_log("T_CHECK", 7200 * SEC, err, sizeof err));
    assert_non_null(strstr(err, "T_CHECK exists with other settings"));
    assert_non_null(strstr(err, "max age is 3600 s, --retention is 7200 s"));
    log = open_log("T_CHECK", 3600 * SEC, err, sizeof err);
    assert_non_null(log);
    log_close(log);
    /* a bad stream name is refused before connecting */
    assert_null(open_log("no spaces", 3600 * SEC, err, sizeof err));
    assert_non_null(strstr(err, "--nats-stream"));
}

static void test_durable_cursor(void **state)
{
    (void)state;
    NEED_SERVER();
    char err[512] = "";
    log_store *log = open_log("T_DURABLE", 3600 * SEC, err, sizeof err);
    assert_non_null(log);
    for (int i = 0; i < 5; i++) {
        char d[32];
        snprintf(d, sizeof d, "record-%d", i);
        log_entry e = {(const uint8_t *)d, strlen(d), "s", base_now_unix_ns()};
        assert_int_equal(log_append(log, &e, NULL, err, sizeof err), BASE_OK);
    }
    log_position pos = {.from = LOG_FROM_CURSOR};
    log_consumer *c = log_consumer_open(log, "forward-0", &pos, err, sizeof err);
    assert_non_null(c);
    log_record rec;
    assert_int_equal(log_consumer_next(c, 0, &rec, err, sizeof err), BASE_OK);
    assert_int_equal(rec.seq, 1);
    assert_int_equal(log_consumer_next(c, 0, &rec, err, sizeof err), BASE_OK);
    assert_int_equal(rec.seq, 2);
    assert_int_equal(log_consumer_commit(c, 2, err, sizeof err), BASE_OK);
    assert_memory_equal(rec.data, "record-1", 8); /* still readable after the commit */
    assert_int_equal(log_consumer_next(c, 0, &rec, err, sizeof err), BASE_OK);
    assert_int_equal(rec.seq, 3); /* read, not committed */
    log_consumer_close(c);
    /* reopened: resumes after the committed cursor (at-least-once: 3 comes again) */
    c = log_consumer_open(log, "forward-0", &pos, err, sizeof err);
    if (!c)
        fprintf(stderr, "reopen: %s\n", err);
    assert_non_null(c);
    log_consumer_stats cs;
    assert_int_equal(log_consumer_stats_all(log, &cs, 1), 1);
    assert_int_equal(cs.committed_seq, 2);
    uint64_t seen = 0;
    int n = 0;
    while (log_consumer_next(c, 2 * SEC, &rec, err, sizeof err) == BASE_OK && n < 10) {
        if (!seen)
            seen = rec.seq;
        n++;
        if (rec.seq == 5)
            break;
    }
    assert_int_equal(seen, 3);
    assert_int_equal(n, 3);
    log_consumer_close(c);
    log_close(log);
}

static void test_unavailable_without_server(void **state)
{
    (void)state;
    NEED_SERVER();
    char err[512] = "";
    log_store *log = open_log("T_DOWN", 3600 * SEC, err, sizeof err);
    assert_non_null(log);
    log_entry e = {(const uint8_t *)"z", 1, "s", 1};
    assert_int_equal(log_append(log, &e, NULL, err, sizeof err), BASE_OK);
    stop_server();
    log_entry e2 = {(const uint8_t *)"zz", 2, "s", 2};
    err[0] = 0;
    assert_int_equal(log_append(log, &e2, NULL, err, sizeof err), BASE_ERR_UNAVAILABLE);
    assert_true(err[0] != 0);
    log_stats st;
    log_stats_get(log, &st); /* answers while the server is away */
    assert_int_equal(st.append_failures, 1);
    log_close(log);
    /* and opening without a server says so */
    err[0] = 0;
    assert_null(open_log("T_DOWN", 3600 * SEC, err, sizeof err));
    assert_non_null(strstr(err, "cannot connect to NATS"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_read_back),
        cmocka_unit_test(test_split_over_max_payload),
        cmocka_unit_test(test_existing_stream_is_checked),
        cmocka_unit_test(test_durable_cursor),
        cmocka_unit_test(test_unavailable_without_server), /* last: stops the server */
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
