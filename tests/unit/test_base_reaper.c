/* base_reaper: overdue request heads are shut down only under connection pressure, a
 * connection whose head arrived is left alone until its request completes. Socket pairs
 * stand in for client connections: a reaped one reads EOF on the peer. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"

#define MS ((int64_t)1000000)

/* true once the peer of a reaped socket sees EOF, within wait_ms */
static bool peer_eof(int peer, int wait_ms)
{
    struct pollfd p = {.fd = peer, .events = POLLIN};
    if (poll(&p, 1, wait_ms) <= 0)
        return false;
    char c;
    return recv(peer, &c, 1, MSG_DONTWAIT) == 0;
}

static void test_reaps_overdue_head(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    base_reaper *r = base_reaper_start(100 * MS, 1);
    assert_non_null(r);
    base_reaper_conn *c = base_reaper_add(r, sv[0]);
    assert_non_null(c);
    assert_true(peer_eof(sv[1], 10000)); /* checked once a second: well within 10 s */
    assert_int_equal(base_reaper_count(r), 1);
    base_reaper_remove(r, c);
    base_reaper_stop(r);
    close(sv[0]);
    close(sv[1]);
}

static void test_pressure_and_head_done(void **state)
{
    (void)state;
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    base_reaper *r = base_reaper_start(100 * MS, 2);
    assert_non_null(r);
    base_reaper_conn *ca = base_reaper_add(r, a[0]);
    /* one connection, under the pressure mark of two: overdue but left alone */
    assert_false(peer_eof(a[1], 2500));
    assert_int_equal(base_reaper_count(r), 0);
    base_reaper_conn *cb = base_reaper_add(r, b[0]);
    base_reaper_head_done(r, cb); /* b is being served */
    assert_true(peer_eof(a[1], 10000));
    assert_false(peer_eof(b[1], 2500));
    assert_int_equal(base_reaper_count(r), 1);
    base_reaper_request_done(r, cb); /* b now waits for its next head, and overstays */
    assert_true(peer_eof(b[1], 10000));
    assert_int_equal(base_reaper_count(r), 2);
    base_reaper_remove(r, ca);
    base_reaper_remove(r, cb);
    base_reaper_stop(r);
    /* NULLs are no-ops (a reaper that could not start, an untracked connection) */
    assert_null(base_reaper_add(NULL, 0));
    base_reaper_head_done(NULL, NULL);
    base_reaper_request_done(NULL, NULL);
    base_reaper_remove(NULL, NULL);
    base_reaper_stop(NULL);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reaps_overdue_head),
        cmocka_unit_test(test_pressure_and_head_done),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
