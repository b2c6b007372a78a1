/* In-process tests of the receiver's listeners: start/stop, bound ports, "cannot listen"
 * errors, and the HTTP answers that need no profile data (405, 404, 415, early 413 from
 * Content-Length, 413 for a gzip bomb, 200 for empty requests). Wire tests with real
 * peers (grpc-js, curl) live in tests/integration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "receiver/receiver.h"
#include "window/window.h"

typedef struct fixture {
    win_store *store;
    otlp_receiver *rcv;
    int port;
} fixture;

static int setup_http(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    win_config wc;
    win_config_defaults(&wc);
    f->store = win_store_new(&wc);
    assert_non_null(f->store);
    otlp_receiver_config cfg = {.grpc_addr = "off",
                                .http_addr = "127.0.0.1:0",
                                .max_message_size = (uint64_t)1 << 20,
                                .grpc_threads = 1};
    char err[256] = "";
    f->rcv = otlp_receiver_start(&cfg, f->store, err, sizeof err);
    assert_non_null(f->rcv);
    f->port = otlp_receiver_http_port(f->rcv);
    assert_true(f->port > 0);
    assert_int_equal(otlp_receiver_grpc_port(f->rcv), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    otlp_receiver_stop(f->rcv);
    win_store_free(f->store);
    free(f);
    return 0;
}

/* Sends `head` then `body`, reads the whole answer (the request says Connection: close).
 * Returns the status code; the answer is left in `out`. */
static int http_exchange(int port, const char *head, const void *body, size_t body_len, char *out,
                         size_t out_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    if (body_len)
        (void)send(fd, body, body_len, MSG_NOSIGNAL); /* may be cut short by an early answer */
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, out + got, out_len - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == out_len - 1)
            break;
    }
    close(fd);
    out[got] = '\0';
    int status = 0;
    if (sscanf(out, "HTTP/1.1 %d", &status) != 1)
        status = -1;
    return status;
}

static int post(int port, const char *path, const char *headers, const void *body, size_t len,
                char *out, size_t out_len)
{
    char head[1024];
    snprintf(head, sizeof head,
             "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
             path, headers, len);
    return http_exchange(port, head, body, len, out, out_len);
}

static const char *body_of(const char *answer)
{
    const char *p = strstr(answer, "\r\n\r\n");
    return p ? p + 4 : "";
}

static void test_http_method_path_type(void **state)
{
    fixture *f = *state;
    char out[8192];
    int st = http_exchange(f->port,
                           "GET /v1development/profiles HTTP/1.1\r\nHost: x\r\n"
                           "Connection: close\r\n\r\n",
                           NULL, 0, out, sizeof out);
    assert_int_equal(st, 405);
    assert_non_null(strstr(out, "Allow: POST"));

    st = post(f->port, "/v1/profiles", "Content-Type: application/x-protobuf\r\n", "", 0, out,
              sizeof out);
    assert_int_equal(st, 404);

    st = post(f->port, "/v1development/profiles", "Content-Type: text/plain\r\n", "x", 1, out,
              sizeof out);
    assert_int_equal(st, 415);
    assert_non_null(strstr(body_of(out), "application/x-protobuf"));

    st = post(f->port, "/v1development/profiles",
              "Content-Type: application/json\r\nContent-Encoding: br\r\n", "{}", 2, out,
              sizeof out);
    assert_int_equal(st, 415);
    /* errors for a JSON request are google.rpc.Status JSON */
    assert_non_null(strstr(body_of(out), "\"code\":3"));

    otlp_stats s;
    otlp_receiver_stats(f->rcv, &s);
    assert_int_equal(s.requests_http, 4);
    assert_int_equal(s.requests_failed, 4);
}

static void test_http_empty_requests_succeed(void **state)
{
    fixture *f = *state;
    char out[8192];
    int st =
        post(f->port, "/v1development/profiles",
             "Content-Type: application/x-protobuf; charset=binary\r\n", "", 0, out, sizeof out);
    assert_int_equal(st, 200);
    assert_non_null(strstr(out, "Content-Type: application/x-protobuf"));
    assert_string_equal(body_of(out), ""); /* no partial_success */

    st = post(f->port, "/v1development/profiles", "Content-Type: Application/JSON\r\n", "{}", 2,
              out, sizeof out);
    assert_int_equal(st, 200);
    assert_string_equal(body_of(out), "{}");

    st = post(f->port, "/v1development/profiles", "Content-Type: application/json\r\n", "{[", 2,
              out, sizeof out);
    assert_int_equal(st, 400);

    otlp_stats s;
    otlp_receiver_stats(f->rcv, &s);
    assert_int_equal(s.requests_http, 3);
    assert_int_equal(s.requests_failed, 1);
}

static void test_http_too_large(void **state)
{
    fixture *f = *state;
    char out[8192];
    /* announced too large: answered before the body is sent */
    int st = http_exchange(f->port,
                           "POST /v1development/profiles HTTP/1.1\r\nHost: x\r\n"
                           "Connection: close\r\nContent-Type: application/x-protobuf\r\n"
                           "Content-Length: 999999999\r\n\r\n",
                           NULL, 0, out, sizeof out);
    assert_int_equal(st, 413);

    /* a gzip bomb: 64 MiB of zeros in ~64 KiB, against a 1 MiB limit */
    static uint8_t zeros[1 << 20];
    size_t cap = compressBound(sizeof zeros) * 64;
    uint8_t *gz = malloc(cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_out = gz;
    zs.avail_out = (uInt)cap;
    for (int i = 0; i < 64; i++) {
        zs.next_in = zeros;
        zs.avail_in = sizeof zeros;
        assert_int_equal(deflate(&zs, i == 63 ? Z_FINISH : Z_NO_FLUSH),
                         i == 63 ? Z_STREAM_END : Z_OK);
    }
    size_t gz_len = zs.total_out;
    deflateEnd(&zs);
    assert_true(gz_len < ((size_t)1 << 20));
    st = post(f->port, "/v1development/profiles",
              "Content-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\n", gz, gz_len, out,
              sizeof out);
    assert_int_equal(st, 413);
    free(gz);

    otlp_stats s;
    otlp_receiver_stats(f->rcv, &s);
    assert_int_equal(s.requests_failed, 2);
    assert_int_equal(s.bytes_received, 0);
}

static void test_listen_errors(void **state)
{
    (void)state;
    win_config wc;
    win_config_defaults(&wc);
    win_store *store = win_store_new(&wc);
    char err[256] = "";
    otlp_receiver_config cfg = {.grpc_addr = "127.0.0.1:0", .http_addr = "127.0.0.1:0"};
    otlp_receiver *a = otlp_receiver_start(&cfg, store, err, sizeof err);
    assert_non_null(a);
    int gport = otlp_receiver_grpc_port(a), hport = otlp_receiver_http_port(a);
    assert_true(gport > 0);
    assert_true(hport > 0);

    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", hport);
    otlp_receiver_config c2 = {.grpc_addr = NULL, .http_addr = addr};
    err[0] = '\0';
    assert_null(otlp_receiver_start(&c2, store, err, sizeof err));
    assert_non_null(strstr(err, "cannot listen on"));
    assert_non_null(strstr(err, addr));

    snprintf(addr, sizeof addr, "127.0.0.1:%d", gport);
    otlp_receiver_config c3 = {.grpc_addr = addr, .http_addr = "off"};
    err[0] = '\0';
    assert_null(otlp_receiver_start(&c3, store, err, sizeof err));
    assert_non_null(strstr(err, "cannot listen on"));

    otlp_receiver_config c4 = {.grpc_addr = "off", .http_addr = "not-an-address"};
    assert_null(otlp_receiver_start(&c4, store, err, sizeof err));

    otlp_receiver_stop(a);
    win_store_free(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_method_path_type, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_http_empty_requests_succeed, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_http_too_large, setup_http, teardown),
        cmocka_unit_test(test_listen_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
