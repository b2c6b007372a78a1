/* log/memory.c — the memory backend (the default): nothing is written anywhere. While no
 * consumer is open an append only takes a sequence number; while one is (a forwarder
 * without --data-dir), records are copied into a bounded in-memory backlog, and the oldest
 * go first past log_config.memory_backlog_bytes (counted as lost by the consumers that had
 * not read them). Records every open consumer has committed are freed. */
#include "log/log_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct mrec {
    uint64_t seq;
    int64_t recv_unix_ns;
    size_t len;
    bool dropped; /* larger than the whole backlog: kept as a placeholder, counted as lost */
    char key[LOG_KEY_MAX];
    uint8_t data[]; /* len bytes */
} mrec;

typedef struct mem_consumer {
    uint64_t next_seq;  /* the next record to hand out */
    uint64_t committed; /* every record <= this is done */
    uint64_t lost;
    bool woken;
    uint8_t *buf; /* the record handed out last (the consumer's copy) */
    size_t buf_cap;
    char key[LOG_KEY_MAX];
} mem_consumer;

typedef struct mem_log {
    pthread_mutex_t mu;
    pthread_cond_t appended;
    uint64_t last_seq; /* sequence numbers handed out so far */
    /* the backlog: records first_seq .. first_seq + n - 1 in a ring */
    mrec **ring;
    size_t ring_cap, ring_head, n;
    uint64_t first_seq;
    uint64_t bytes;
    size_t n_consumers;
    mem_consumer *consumers[LOG__MAX_CONSUMERS];
} mem_log;

static base_err mem_open(log_store *log, char *err, size_t err_len)
{
    mem_log *m = calloc(1, sizeof *m);
    if (!m) {
        base_set_err(err, err_len, "log: out of memory");
        return BASE_ERR_NOMEM;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->appended, &ca);
    pthread_condattr_destroy(&ca);
    m->first_seq = 1;
    log->be = m;
    return BASE_OK;
}

static mrec *ring_at(mem_log *m, size_t i)
{
    return m->ring[(m->ring_head + i) % m->ring_cap];
}

static void drop_oldest(mem_log *m)
{
    mrec *r = ring_at(m, 0);
    m->ring[m->ring_head] = NULL;
    m->ring_head = (m->ring_head + 1) % m->ring_cap;
    m->n--;
    m->first_seq++;
    m->bytes -= r->len;
    free(r);
}

static void mem_close(log_store *log)
{
    mem_log *m = log->be;
    if (!m)
        return;
    while (m->n)
        drop_oldest(m);
    free(m->ring);
    pthread_cond_destroy(&m->appended);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Frees the records every consumer has committed, and (counting them as lost for whoever
 * had not read them) the oldest past the byte budget. Called with m->mu held. */
static void trim(mem_log *m, uint64_t budget)
{
    uint64_t min_committed = m->last_seq;
    for (size_t i = 0; i < LOG__MAX_CONSUMERS; i++)
        if (m->consumers[i] && m->consumers[i]->committed < min_committed)
            min_committed = m->consumers[i]->committed;
    while (m->n && (m->first_seq <= min_committed || m->bytes > budget)) {
        uint64_t seq = m->first_seq;
        for (size_t i = 0; i < LOG__MAX_CONSUMERS; i++) {
            mem_consumer *c = m->consumers[i];
            if (c && c->next_seq <= seq) {
                c->lost++;
                c->next_seq = seq + 1;
            }
        }
        drop_oldest(m);
    }
}

static base_err mem_append(log_store *log, const log_entry *e, uint64_t *seq, char *err,
                           size_t err_len)
{
    mem_log *m = log->be;
    mrec *r = NULL;
    /* copy outside the lock; whether anyone wants it is checked (cheaply) under it */
    pthread_mutex_lock(&m->mu);
    bool keep = m->n_consumers > 0;
    pthread_mutex_unlock(&m->mu);
    if (keep) {
        /* a record larger than the whole backlog could never be kept for the consumers:
         * the windows still get it (the append succeeds), the consumers count it as lost */
        bool too_big = e->len > log->cfg.memory_backlog_bytes;
        r = malloc(sizeof *r + (too_big ? 0 : e->len));
        if (!r) {
            base_set_err(err, err_len, "log: out of memory");
            return BASE_ERR_UNAVAILABLE;
        }
        r->recv_unix_ns = e->recv_unix_ns;
        r->dropped = too_big;
        r->len = too_big ? 0 : e->len;
        size_t kl = e->key ? strnlen(e->key, LOG_KEY_MAX - 1) : 0;
        memcpy(r->key, e->key ? e->key : "", kl);
        r->key[kl] = '\0';
        if (r->len)
            memcpy(r->data, e->data, r->len);
    }
    pthread_mutex_lock(&m->mu);
    if (r && m->n_consumers == 0) { /* the consumer went away meanwhile */
        free(r);
        r = NULL;
    }
    if (!r) {
        *seq = ++m->last_seq;
        m->first_seq = m->last_seq + 1;
        pthread_mutex_unlock(&m->mu);
        return BASE_OK;
    }
    if (m->n == m->ring_cap) {
        size_t cap = m->ring_cap ? m->ring_cap * 2 : 64;
        mrec **ring = malloc(cap * sizeof *ring);
        if (!ring) {
            pthread_mutex_unlock(&m->mu);
            free(r);
            base_set_err(err, err_len, "log: out of memory");
            return BASE_ERR_UNAVAILABLE;
        }
        for (size_t i = 0; i < m->n; i++)
            ring[i] = ring_at(m, i);
        free(m->ring);
        m->ring = ring;
        m->ring_cap = cap;
        m->ring_head = 0;
    }
    r->seq = ++m->last_seq;
    if (m->n == 0)
        m->first_seq = r->seq;
    m->ring[(m->ring_head + m->n) % m->ring_cap] = r;
    m->n++;
    m->bytes += r->len;
    *seq = r->seq;
    trim(m, log->cfg.memory_backlog_bytes);
    pthread_cond_broadcast(&m->appended);
    pthread_mutex_unlock(&m->mu);
    return BASE_OK;
}

static base_err mem_consumer_open(log_consumer *c, const log_position *pos, char *err,
                                  size_t err_len)
{
    mem_log *m = c->log->be;
    mem_consumer *mc = calloc(1, sizeof *mc);
    if (!mc) {
        base_set_err(err, err_len, "log: out of memory");
        return BASE_ERR_NOMEM;
    }
    pthread_mutex_lock(&m->mu);
    switch (pos->from) {
    case LOG_FROM_SEQ:
        mc->next_seq = pos->seq < m->first_seq ? m->first_seq : pos->seq;
        break;
    case LOG_FROM_END:
        mc->next_seq = m->last_seq + 1;
        break;
    default: { /* time (a memory log has no stored cursor) */
        size_t i = 0;
        while (i < m->n && ring_at(m, i)->recv_unix_ns < pos->time_unix_ns)
            i++;
        mc->next_seq = m->first_seq + i;
        break;
    }
    }
    if (mc->next_seq > m->last_seq + 1)
        mc->next_seq = m->last_seq + 1;
    mc->committed = mc->next_seq - 1;
    for (size_t i = 0; i < LOG__MAX_CONSUMERS; i++)
        if (!m->consumers[i]) {
            m->consumers[i] = mc;
            break;
        }
    m->n_consumers++;
    pthread_mutex_unlock(&m->mu);
    c->be = mc;
    return BASE_OK;
}

static base_err mem_consumer_next(log_consumer *c, int64_t timeout_ns, log_record *rec, char *err,
                                  size_t err_len)
{
    mem_log *m = c->log->be;
    mem_consumer *mc = c->be;
    struct timespec deadline = log__deadline(timeout_ns);
    pthread_mutex_lock(&m->mu);
    for (;;) {
        if (mc->next_seq < m->first_seq) { /* dropped before it was read */
            mc->lost += m->first_seq - mc->next_seq;
            mc->next_seq = m->first_seq;
        }
        if (mc->next_seq <= m->last_seq && mc->next_seq >= m->first_seq &&
            mc->next_seq - m->first_seq < m->n)
            break;
        if (mc->woken || timeout_ns == 0) {
            mc->woken = false;
            pthread_mutex_unlock(&m->mu);
            return BASE_ERR_NOT_FOUND;
        }
        int rc = timeout_ns < 0 ? pthread_cond_wait(&m->appended, &m->mu)
                                : pthread_cond_timedwait(&m->appended, &m->mu, &deadline);
        if (rc == ETIMEDOUT) {
            pthread_mutex_unlock(&m->mu);
            return BASE_ERR_NOT_FOUND;
        }
    }
    mrec *r = ring_at(m, (size_t)(mc->next_seq - m->first_seq));
    while (r->dropped) {
        mc->lost++;
        mc->next_seq++;
        if (mc->next_seq > m->last_seq || mc->next_seq - m->first_seq >= m->n) {
            pthread_mutex_unlock(&m->mu);
            return BASE_ERR_NOT_FOUND;
        }
        r = ring_at(m, (size_t)(mc->next_seq - m->first_seq));
    }
    if (r->len > mc->buf_cap) {
        uint8_t *b = realloc(mc->buf, r->len);
        if (!b) {
            pthread_mutex_unlock(&m->mu);
            base_set_err(err, err_len, "log: out of memory");
            return BASE_ERR_NOMEM;
        }
        mc->buf = b;
        mc->buf_cap = r->len;
    }
    if (r->len)
        memcpy(mc->buf, r->data, r->len);
    memcpy(mc->key, r->key, sizeof mc->key);
    rec->seq = r->seq;
    rec->recv_unix_ns = r->recv_unix_ns;
    rec->data = mc->buf;
    rec->len = r->len;
    rec->key = mc->key;
    mc->next_seq++;
    pthread_mutex_unlock(&m->mu);
    return BASE_OK;
}

static base_err mem_consumer_commit(log_consumer *c, uint64_t seq, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    mem_log *m = c->log->be;
    mem_consumer *mc = c->be;
    pthread_mutex_lock(&m->mu);
    if (seq > mc->committed)
        mc->committed = seq > m->last_seq ? m->last_seq : seq;
    trim(m, c->log->cfg.memory_backlog_bytes);
    pthread_mutex_unlock(&m->mu);
    return BASE_OK;
}

static void mem_consumer_wake(log_consumer *c)
{
    mem_log *m = c->log->be;
    mem_consumer *mc = c->be;
    pthread_mutex_lock(&m->mu);
    mc->woken = true;
    pthread_cond_broadcast(&m->appended);
    pthread_mutex_unlock(&m->mu);
}

static void mem_consumer_close(log_consumer *c)
{
    mem_log *m = c->log->be;
    mem_consumer *mc = c->be;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < LOG__MAX_CONSUMERS; i++)
        if (m->consumers[i] == mc)
            m->consumers[i] = NULL;
    m->n_consumers--;
    if (m->n_consumers == 0)
        while (m->n)
            drop_oldest(m);
    else
        trim(m, c->log->cfg.memory_backlog_bytes);
    pthread_mutex_unlock(&m->mu);
    free(mc->buf);
    free(mc);
}

static void mem_consumer_stats(log_consumer *c, log_consumer_stats *out)
{
    mem_log *m = c->log->be;
    mem_consumer *mc = c->be;
    pthread_mutex_lock(&m->mu);
    out->committed_seq = mc->committed;
    out->lost = mc->lost;
    for (size_t i = 0; i < m->n; i++) {
        mrec *r = ring_at(m, i);
        if (r->seq <= mc->committed)
            continue;
        if (!out->backlog_records)
            out->lag_ns = base_now_unix_ns() - r->recv_unix_ns;
        out->backlog_records++;
        out->backlog_bytes += r->len;
    }
    if (out->lag_ns < 0)
        out->lag_ns = 0;
    pthread_mutex_unlock(&m->mu);
}

static void mem_stats(log_store *log, log_stats *out)
{
    mem_log *m = log->be;
    pthread_mutex_lock(&m->mu);
    out->last_seq = m->last_seq;
    out->records_held = m->n;
    out->bytes_held = m->bytes;
    out->oldest_unix_ns = m->n ? ring_at(m, 0)->recv_unix_ns : 0;
    pthread_mutex_unlock(&m->mu);
}

const log__ops log__memory_ops = {
    .name = "memory",
    .open = mem_open,
    .close = mem_close,
    .append = mem_append,
    .consumer_open = mem_consumer_open,
    .consumer_next = mem_consumer_next,
    .consumer_commit = mem_consumer_commit,
    .consumer_wake = mem_consumer_wake,
    .consumer_close = mem_consumer_close,
    .consumer_stats = mem_consumer_stats,
    .stats = mem_stats,
};
