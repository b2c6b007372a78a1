/* mcp_http_start's TLS configuration errors: half a key pair, or PEM libmicrohttpd
 * refuses, gives NULL and a message. Handshakes with real TLS clients (curl, the SDK) are
 * in tests/integration/test_tls.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mcp/mcp.h"

static const char *const garbage_cert =
    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
static const char *const garbage_key =
    "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";

static void expect_refused(const mcp_http_config *cfg, const char *needle)
{
    mcp_server_info info = {.name = "t", .version = "0"};
    mcp_server *srv = mcp_server_new(&info);
    assert_non_null(srv);
    char err[512] = "";
    mcp_http *h = mcp_http_start(srv, cfg, err, sizeof err);
    if (h)
        mcp_http_stop(h);
    assert_null(h);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not contain \"%s\"", err, needle);
    mcp_server_free(srv);
}

static void test_tls_config_errors(void **state)
{
    (void)state;
    mcp_http_config cert_only = {.addr = "127.0.0.1:0", .tls_cert_pem = garbage_cert};
    expect_refused(&cert_only, "both a certificate and its key");
    mcp_http_config key_only = {.addr = "127.0.0.1:0", .tls_key_pem = garbage_key};
    expect_refused(&key_only, "both a certificate and its key");
    mcp_http_config garbage = {
        .addr = "127.0.0.1:0", .tls_cert_pem = garbage_cert, .tls_key_pem = garbage_key};
    expect_refused(&garbage, "TLS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tls_config_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
