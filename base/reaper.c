/* base/reaper.c — a deadline for HTTP request heads under connection pressure (see
 * base.h, base_reaper).
 *
 * libmicrohttpd's connection timeout is an idle timeout: a client that sends one byte of
 * its request head every few seconds keeps its connection forever, and CONNECTION_LIMIT
 * such clients lock everyone else out. The reaper keeps the time each connection started
 * waiting for a request head (at accept, or when its previous request completed) and,
 * once a second while at least `min_conns` connections are open, shuts down the sockets
 * whose head is overdue; libmicrohttpd then sees the connection fail and closes it. Below
 * that many connections nothing changes, so idle keep-alive connections keep the idle
 * timeout. A dropped client that reconnects queues behind the clients already waiting in
 * the listen backlog, so a good client waits about one deadline, not forever. An entry
 * leaves the list (under the lock) before libmicrohttpd closes its socket, so shutdown()
 * never reaches a reused descriptor.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "base/base.h"

struct base_reaper_conn {
    struct base_reaper_conn *prev, *next;
    int fd;
    int64_t head_since_ns; /* 0 while a request's head has arrived and is being served */
};

struct base_reaper {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stop;
    int64_t deadline_ns;
    size_t min_conns, n_conns;
    base_reaper_conn *conns;
    _Atomic uint64_t reaped;
};

static void *reap_loop(void *arg)
{
    base_reaper *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        int64_t now = base_now_mono_ns();
        for (base_reaper_conn *c = r->n_conns >= r->min_conns ? r->conns : NULL; c; c = c->next) {
            if (c->head_since_ns && now - c->head_since_ns > r->deadline_ns && c->fd >= 0) {
                atomic_fetch_add(&r->reaped, 1); /* counted first: the peer sees EOF next */
                shutdown(c->fd, SHUT_RDWR);
                c->fd = -1; /* once: the connection is on its way out */
            }
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

base_reaper *base_reaper_start(int64_t head_deadline_ns, size_t min_conns)
{
    base_reaper *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->deadline_ns = head_deadline_ns;
    r->min_conns = min_conns;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, reap_loop, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    return r;
}

void base_reaper_stop(base_reaper *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    /* connections still listed belong to a daemon that is stopped by now */
    base_reaper_conn *c = r->conns;
    while (c) {
        base_reaper_conn *next = c->next;
        free(c);
        c = next;
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

base_reaper_conn *base_reaper_add(base_reaper *r, int fd)
{
    if (!r)
        return NULL;
    base_reaper_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->head_since_ns = base_now_mono_ns();
    pthread_mutex_lock(&r->mu);
    c->next = r->conns;
    if (r->conns)
        r->conns->prev = c;
    r->conns = c;
    r->n_conns++;
    pthread_mutex_unlock(&r->mu);
    return c;
}

void base_reaper_head_done(base_reaper *r, base_reaper_conn *c)
{
    if (!r || !c)
        return;
    pthread_mutex_lock(&r->mu);
    c->head_since_ns = 0;
    pthread_mutex_unlock(&r->mu);
}

void base_reaper_request_done(base_reaper *r, base_reaper_conn *c)
{
    if (!r || !c)
        return;
    pthread_mutex_lock(&r->mu);
    c->head_since_ns = base_now_mono_ns();
    pthread_mutex_unlock(&r->mu);
}

void base_reaper_remove(base_reaper *r, base_reaper_conn *c)
{
    if (!r || !c)
        return;
    pthread_mutex_lock(&r->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        r->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    r->n_conns--;
    pthread_mutex_unlock(&r->mu);
    free(c);
}

uint64_t base_reaper_count(base_reaper *r)
{
    return r ? atomic_load(&r->reaped) : 0;
}

unsigned base_conn_timeout_s(unsigned default_s)
{
    const char *v = getenv("OTELPROFD_TEST_CONN_TIMEOUT");
    char *end = NULL;
    unsigned long s = v ? strtoul(v, &end, 10) : 0;
    return v && end != v && !*end && s >= 1 && s <= 3600 ? (unsigned)s : default_s;
}
