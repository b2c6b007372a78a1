/* The receiver's TLS configuration errors: half a key pair, or PEM the TLS libraries
 * refuse, stops otlp_receiver_start with a message (the CLI checks the files first; this
 * is the library's own guard). Handshakes with real TLS clients are in
 * tests/integration/test_tls.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/receiver.h"
#include "window/window.h"

static const char *const garbage_cert =
    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
static const char *const garbage_key =
    "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";

static void expect_refused(const otlp_receiver_config *cfg, const char *needle)
{
    win_config wc;
    win_config_defaults(&wc);
    win_store *store = win_store_new(&wc);
    assert_non_null(store);
    char err[512] = "";
    otlp_receiver *rcv = otlp_receiver_start(cfg, store, err, sizeof err);
    if (rcv)
        otlp_receiver_stop(rcv);
    assert_null(rcv);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not contain \"%s\"", err, needle);
    win_store_free(store);
}

static void test_half_pair(void **state)
{
    (void)state;
    otlp_receiver_config http_cert_only = {
        .grpc_addr = "off", .http_addr = "127.0.0.1:0", .tls_cert_pem = garbage_cert};
    expect_refused(&http_cert_only, "both a certificate and its key");
    otlp_receiver_config grpc_key_only = {
        .grpc_addr = "127.0.0.1:0", .http_addr = "off", .tls_key_pem = garbage_key};
    expect_refused(&grpc_key_only, "both a certificate and its key");
}

static void test_garbage_pem(void **state)
{
    (void)state;
    otlp_receiver_config http = {.grpc_addr = "off",
                                 .http_addr = "127.0.0.1:0",
                                 .tls_cert_pem = garbage_cert,
                                 .tls_key_pem = garbage_key};
    expect_refused(&http, "TLS");
    otlp_receiver_config grpc = {.grpc_addr = "127.0.0.1:0",
                                 .http_addr = "off",
                                 .tls_cert_pem = garbage_cert,
                                 .tls_key_pem = garbage_key};
    expect_refused(&grpc, "TLS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_pair),
        cmocka_unit_test(test_garbage_pem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
