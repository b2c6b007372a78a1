/* log/nats.c — the NATS JetStream backend of the log (--nats).
 *
 * A record is published to the stream (file storage, MaxAge = retention, R replicas) on the
 * subject PREFIX.<key> (PREFIX default "otelprofd.profiles", the key made a subject token:
 * '.', '*', '>', spaces and non-printable bytes become '_', "" becomes "_"), with a
 * Nats-Msg-Id derived from a 128-bit hash of the request's bytes, so that a sender's retry
 * of the same request inside the stream's duplicate window is stored once; log_append
 * returns only after JetStream's publish acknowledgement (the record is on a quorum of the
 * stream's replicas). A request larger than what one message may carry (the server's
 * max_payload less room for headers) is split along resource / scope / profile
 * boundaries: every part is a complete ExportProfilesServiceRequest with the shared
 * dictionary and some of the resource profiles, and carries its own message id
 * ("<hash>-<i>.<n>"), so a retry after a partly published request stores only the rest.
 *
 * Consumers: LOG_FROM_CURSOR is a durable pull consumer named after the log consumer (its
 * cursor lives in the cluster, acknowledged with AckAll on log_consumer_commit); every other
 * position is an ordered push consumer (ephemeral; the client library recreates it from the
 * last sequence seen after a gap or a server loss), which is what the windows use.
 */
#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/log_internal.h"

/* Room left in each message for the headers (Nats-Msg-Id, Otelprofd-Recv-Ns, NATS/1.0). */
#define LOG__NATS_HEADER_RESERVE 512
/* How long log_append waits for the publish acknowledgement before it answers 503. */
#define LOG__NATS_ACK_WAIT_MS 5000
/* Duplicate window of a stream created by otelprofd (sender retries are de-duplicated
 * within it). */
#define LOG__NATS_DUPLICATE_WINDOW_NS (120LL * 1000000000LL)
/* Messages fetched per pull request of a durable consumer, and the unacknowledged ones it
 * may hold (MaxAckPending), so a consumer's memory is bounded. */
#define LOG__NATS_FETCH_BATCH     64
#define LOG__NATS_MAX_ACK_PENDING 1024
/* Longest subject (prefix + '.' + key token). */
#define LOG__NATS_SUBJECT_MAX (LOG_KEY_MAX + 128)
/* Slice of a blocking wait, so that log_consumer_wake is seen within it. */
#define LOG__NATS_WAIT_SLICE_MS 100
/* How long an ordered consumer may be quiet before the watchdog asks the server about it. */
#define LOG__NATS_WATCHDOG_MS 2000
/* Messages and bytes a push consumer's client-side buffer may hold. */
#define LOG__NATS_PENDING_MSGS  65536
#define LOG__NATS_PENDING_BYTES (256 << 20)
/* Pieces (resource, scope or profile) one request may be cut into before packing. */
#define LOG__NATS_MAX_UNITS (1 << 20)
/* Parts one request may be split into (a 2 GiB request at a 1 MiB max_payload is 2048). */
#define LOG__NATS_MAX_PARTS 65536
/* Records an ordered consumer remembers (stream sequence and message id hash, 16 bytes
 * each), so that a diverged replica can be repaired from the stream leader (see
 * check_replica): the divergence must be found within this many records. */
#define LOG__NATS_ID_RING 65536u
/* How far a diverged replica's numbering may lag the leader's for a durable's repair. */
#define LOG__NATS_MAX_SHIFT 64
/* How often a busy consumer compares its last record with the stream leader's. */
#define LOG__NATS_REPLICA_CHECK_MS 5000

typedef struct nats_be {
    natsConnection *nc;
    jsCtx *js;
    char stream[64];
    char prefix[128];
    char filter[LOG__NATS_SUBJECT_MAX];
    int64_t max_payload;
    _Atomic uint64_t last_seq;
} nats_be;

typedef struct nats_cons {
    natsSubscription *sub;
    bool durable;
    _Atomic bool woken;
    /* durable: fetched, not yet returned */
    natsMsgList batch;
    int batch_next;
    /* returned, not yet acknowledged (durable), oldest first; the last one is the current
     * record, whose bytes the caller may still be reading */
    natsMsg *held[LOG__NATS_MAX_ACK_PENDING];
    uint64_t held_seq[LOG__NATS_MAX_ACK_PENDING]; /* their stream sequences */
    size_t held_n;
    natsMsg *current; /* ordered: the record returned last */
    char key[LOG_KEY_MAX + 1];
    char name[LOG_CONSUMER_NAME_MAX + 16]; /* durable: its name in the cluster */
    uint64_t pending_hint; /* messages the server said were left after the last one */
    uint64_t committed_seq;
    int64_t last_recv_ns;
    /* ordered: where it started, the last sequence returned, and the watchdog's clock */
    jsSubOptions start;
    uint64_t last_seq;
    int64_t quiet_since_mono_ns, checked_mono_ns;
    uint64_t resubscribes;
    /* ordered: the message id of the record returned last, and the last sequence compared
     * with the stream leader's (see check_replica) */
    char last_id[80];
    uint64_t compared_seq;
    int64_t replica_checked_mono_ns;
    bool diverged;
    /* ordered: the last LOG__NATS_ID_RING records returned (sequence, message id hash) */
    uint64_t *ring_seq, *ring_id;
    uint32_t ring_n, ring_pos;
    /* ordered, once its replica diverged: records are read one by one from the stream
     * leader (STREAM.MSG.GET), from leader_next on; those whose id is in skip (sorted) were
     * applied already from the replica and are passed over up to skip_until */
    _Atomic bool leader_mode; /* read by nats_consumer_stats from another thread */
    uint64_t leader_next, skip_until, leader_head;
    uint64_t *skip;
    uint32_t skip_n;
    _Atomic uint64_t recovered; /* records the replica lacked, read from the leader */
    uint64_t max_seq;           /* the highest sequence returned */
    /* durable, after a repair: its replica's sequence + seq_offset = the leader's */
    uint64_t seq_offset;
    bool repaired_once;
    bool last_late; /* the record returned last was read from the leader by a repair */
    uint64_t late_seq;
    /* test fault (OTELPROFD_TEST_NATS_DIVERGE=N): behave as a replica that missed stream
     * sequence N and holds every later record one sequence lower (nats-server 2.9.10) */
    uint64_t fault_drop;
} nats_cons;

static nats_be *be_of(log_store *log)
{
    return (nats_be *)log->be;
}

static const char *nats_why(natsStatus s, jsErrCode jerr)
{
    static _Thread_local char buf[160];
    const char *last = nats_GetLastError(NULL);
    snprintf(buf, sizeof buf, "%s%s%s", natsStatus_GetText(s), last && last[0] ? ": " : "",
             last ? last : "");
    if (jerr) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, " (JetStream error %d)", (int)jerr);
    }
    return buf;
}

/* ---- subjects ------------------------------------------------------------------- */

/* PREFIX.<token of key> into out (LOG__NATS_SUBJECT_MAX). */
static void subject_of(const nats_be *b, const char *key, char *out)
{
    size_t n = (size_t)snprintf(out, LOG__NATS_SUBJECT_MAX, "%s.", b->prefix);
    if (!key || !key[0])
        key = "_";
    for (size_t i = 0; key[i] && i < LOG_KEY_MAX && n + 1 < LOG__NATS_SUBJECT_MAX; i++) {
        unsigned char c = (unsigned char)key[i];
        out[n++] = (c <= ' ' || c >= 0x7f || c == '.' || c == '*' || c == '>') ? '_' : (char)c;
    }
    out[n] = 0;
}

/* The key a subject was published with (its token after the prefix; "_" is ""). */
static void key_of(const nats_be *b, const char *subject, char *out)
{
    size_t pl = strlen(b->prefix);
    const char *t = subject;
    if (strncmp(subject, b->prefix, pl) == 0 && subject[pl] == '.')
        t = subject + pl + 1;
    if (strcmp(t, "_") == 0)
        t = "";
    snprintf(out, LOG_KEY_MAX + 1, "%s", t);
}

/* ---- message ids ------------------------------------------------------------------ */

static uint64_t hash64(const uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t h = base_mix64(seed ^ (n * 0x9e3779b97f4a7c15ULL));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = base_mix64(h ^ w) + 0x632be59bd9b4e019ULL;
    }
    uint64_t tail = 0;
    for (size_t k = 0; i < n; i++, k++)
        tail |= (uint64_t)p[i] << (8 * k);
    return base_mix64(h ^ tail ^ 0xff51afd7ed558ccdULL);
}

/* ---- splitting along resource / scope / profile boundaries ------------------------ */

typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t c = *(*p)++;
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80)
        v >>= 7, n++;
    return n;
}

static uint8_t *put_varint(uint8_t *o, uint64_t v)
{
    while (v >= 0x80)
        *o++ = (uint8_t)(v | 0x80), v >>= 7;
    *o++ = (uint8_t)v;
    return o;
}

/* One field of a message: its whole encoding (tag .. end) and, for length-delimited
 * fields, the payload. */
typedef struct field {
    uint32_t number;
    span whole, body;
} field;

/* Next field of [*p, end); false at the end or on malformed bytes (*bad set). */
static bool next_field(const uint8_t **p, const uint8_t *end, field *f, bool *bad)
{
    if (*p >= end)
        return false;
    const uint8_t *start = *p;
    uint64_t tag, v;
    if (!read_varint(p, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
        goto bad;
    f->number = (uint32_t)(tag >> 3);
    f->body = (span){NULL, 0};
    switch (tag & 7) {
    case 0:
        if (!read_varint(p, end, &v))
            goto bad;
        break;
    case 1:
        if (end - *p < 8)
            goto bad;
        *p += 8;
        break;
    case 5:
        if (end - *p < 4)
            goto bad;
        *p += 4;
        break;
    case 2:
        if (!read_varint(p, end, &v) || v > (uint64_t)(end - *p))
            goto bad;
        f->body = (span){*p, (size_t)v};
        *p += v;
        break;
    default:
        goto bad;
    }
    f->whole = (span){start, (size_t)(*p - start)};
    return true;
bad:
    *bad = true;
    return false;
}

/* A growable byte buffer with a hard cap. */
typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static bool buf_put(buf *b, const void *d, size_t n)
{
    if (n > b->cap - b->n) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc - b->n < n) {
            if (nc > SIZE_MAX / 2)
                return false;
            nc *= 2;
        }
        uint8_t *np = realloc(b->p, nc);
        if (!np)
            return false;
        b->p = np, b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
    return true;
}

static bool buf_put_header(buf *b, uint32_t number, size_t len)
{
    uint8_t h[24], *e = put_varint(h, ((uint64_t)number << 3) | 2);
    e = put_varint(e, len);
    return buf_put(b, h, (size_t)(e - h));
}

/* The units a request is cut into: encoded top-level resource_profiles fields (1), each
 * small enough to travel with the shared fields. */
typedef struct units {
    buf *u;
    size_t n, cap;
    size_t bytes, max_bytes; /* their total, and its cap (see nats_append) */
    bool over;               /* a cap was hit: the request cannot be split sensibly */
} units;

static bool units_add(units *us, buf *b)
{
    if (b->n > us->max_bytes - us->bytes) {
        us->over = true;
        return false;
    }
    if (us->n == us->cap) {
        size_t nc = us->cap ? us->cap * 2 : 16;
        if (nc > LOG__NATS_MAX_UNITS) {
            us->over = true;
            return false;
        }
        buf *nu = realloc(us->u, nc * sizeof *nu);
        if (!nu)
            return false;
        us->u = nu, us->cap = nc;
    }
    us->bytes += b->n;
    us->u[us->n++] = *b;
    *b = (buf){0};
    return true;
}

static void units_free(units *us)
{
    for (size_t i = 0; i < us->n; i++)
        free(us->u[i].p);
    free(us->u);
}

/* Splits one ResourceProfiles (body `rp`) into units of at most `budget` bytes each: the
 * resource's own fields (resource, schema_url) are repeated in every unit; its
 * scope_profiles (2) are divided, and a scope too large alone is divided by its profiles (2),
 * the scope's own fields repeated. */
static base_err split_resource(span rp, size_t budget, units *us, char *err, size_t err_len)
{
    buf common = {0};
    const uint8_t *p = rp.p, *end = rp.p + rp.n;
    field f;
    bool bad = false;
    base_err rc = BASE_ERR_NOMEM;
    while (next_field(&p, end, &f, &bad))
        if (f.number != 2 && !buf_put(&common, f.whole.p, f.whole.n))
            goto out;
    if (bad) {
        rc = BASE_ERR_DECODE;
        base_set_err(err, err_len, "resource_profiles does not decode");
        goto out;
    }
    p = rp.p;
    while (next_field(&p, end, &f, &bad)) {
        if (f.number != 2)
            continue;
        /* scope pieces: the whole scope, or per profile when it does not fit */
        size_t whole_len = common.n + f.whole.n;
        if (1 + varint_len(whole_len) + whole_len <= budget) {
            buf u = {0};
            if (!buf_put_header(&u, 1, whole_len) || !buf_put(&u, common.p, common.n) ||
                !buf_put(&u, f.whole.p, f.whole.n) || !units_add(us, &u)) {
                free(u.p);
                goto out;
            }
            continue;
        }
        buf scommon = {0};
        const uint8_t *q = f.body.p, *qend = f.body.p + f.body.n;
        field g;
        while (next_field(&q, qend, &g, &bad))
            if (g.number != 2 && !buf_put(&scommon, g.whole.p, g.whole.n)) {
                free(scommon.p);
                goto out;
            }
        q = f.body.p;
        while (!bad && next_field(&q, qend, &g, &bad)) {
            if (g.number != 2)
                continue;
            size_t slen = scommon.n + g.whole.n;
            size_t rlen = common.n + 1 + varint_len(slen) + slen;
            if (1 + varint_len(rlen) + rlen > budget) {
                free(scommon.p);
                rc = BASE_ERR_TOO_LARGE;
                base_set_err(
                    err, err_len,
                    "one profile is %zu bytes with its resource and scope, over what one "
                    "NATS message can carry here (%zu bytes with the dictionary): raise the "
                    "server's max_payload",
                    rlen, budget);
                goto out;
            }
            buf u = {0};
            if (!buf_put_header(&u, 1, rlen) || !buf_put(&u, common.p, common.n) ||
                !buf_put_header(&u, 2, slen) || !buf_put(&u, scommon.p, scommon.n) ||
                !buf_put(&u, g.whole.p, g.whole.n) || !units_add(us, &u)) {
                free(u.p);
                free(scommon.p);
                goto out;
            }
        }
        free(scommon.p);
        if (bad)
            break;
    }
    if (bad) {
        rc = BASE_ERR_DECODE;
        base_set_err(err, err_len, "scope_profiles does not decode");
        goto out;
    }
    rc = BASE_OK;
out:
    if (rc == BASE_ERR_NOMEM && err && !err[0] && !us->over)
        base_set_err(err, err_len, "out of memory splitting");
    free(common.p);
    return rc;
}

/* ---- open / close ----------------------------------------------------------------- */

static void nats_be_free(nats_be *b)
{
    if (!b)
        return;
    if (b->js)
        jsCtx_Destroy(b->js);
    if (b->nc) {
        natsConnection_Close(b->nc);
        natsConnection_Destroy(b->nc);
    }
    free(b);
}

static const char *storage_name(jsStorageType s)
{
    return s == js_FileStorage ? "file" : "memory";
}

/* Creates the stream, or checks that the one present has our settings. */
static base_err ensure_stream(nats_be *b, const log_config *cfg, char *err, size_t err_len)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    char subj[LOG__NATS_SUBJECT_MAX + 2];
    snprintf(subj, sizeof subj, "%s.>", b->prefix);
    int replicas = cfg->nats_replicas > 0 ? cfg->nats_replicas : 1;
    natsStatus s = js_GetStreamInfo(&si, b->js, b->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND || (s != NATS_OK && jerr == JSStreamNotFoundErr)) {
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        const char *subjects[1] = {subj};
        sc.Name = b->stream;
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.Storage = js_FileStorage;
        sc.MaxAge = cfg->retention_ns;
        sc.Replicas = replicas;
        sc.Duplicates = LOG__NATS_DUPLICATE_WINDOW_NS;
        sc.Retention = js_LimitsPolicy;
        sc.Discard = js_DiscardOld;
        jerr = 0;
        s = js_AddStream(&si, b->js, &sc, NULL, &jerr);
        if (s != NATS_OK) {
            base_set_err(err, err_len,
                         "cannot create JetStream stream %s (%d replicas, file storage): %s",
                         b->stream, replicas, nats_why(s, jerr));
            return BASE_ERR_UNAVAILABLE;
        }
        base_log(BASE_LOG_INFO,
                 "created JetStream stream %s: subjects %s, file storage, %d "
                 "replica(s), max age %" PRId64 " s",
                 b->stream, subj, replicas, cfg->retention_ns / 1000000000);
        jsStreamInfo_Destroy(si);
        return BASE_OK;
    }
    if (s != NATS_OK) {
        base_set_err(err, err_len, "cannot read JetStream stream %s: %s", b->stream,
                     nats_why(s, jerr));
        return BASE_ERR_UNAVAILABLE;
    }
    /* Present: report every disagreement, change nothing (another fleet member or an
     * operator owns its settings). */
    const jsStreamConfig *c = si->Config;
    char why[512] = "";
    size_t n = 0;
    bool has_subject = false;
    for (int i = 0; c && i < c->SubjectsLen; i++)
        if (c->Subjects[i] &&
            (strcmp(c->Subjects[i], subj) == 0 || strcmp(c->Subjects[i], ">") == 0))
            has_subject = true;
    if (!c)
        n += (size_t)snprintf(why, sizeof why, "; no configuration");
    else {
        if (!has_subject && n < sizeof why)
            n +=
                (size_t)snprintf(why + n, sizeof why - n, "; its subjects do not include %s", subj);
        if (c->Storage != js_FileStorage && n < sizeof why)
            n += (size_t)snprintf(why + n, sizeof why - n, "; storage is %s, not file",
                                  storage_name(c->Storage));
        if (c->MaxAge != cfg->retention_ns && n < sizeof why)
            n += (size_t)snprintf(why + n, sizeof why - n,
                                  "; max age is %" PRId64 " s, --retention is %" PRId64 " s",
                                  c->MaxAge / 1000000000, cfg->retention_ns / 1000000000);
        if (c->Replicas != replicas && n < sizeof why)
            n += (size_t)snprintf(why + n, sizeof why - n,
                                  "; replicas are %" PRId64 ", --nats-replicas is %d", c->Replicas,
                                  replicas);
        if (c->Duplicates <= 0 && n < sizeof why)
            n += (size_t)snprintf(why + n, sizeof why - n,
                                  "; no duplicate window (sender retries would be stored twice)");
    }
    jsStreamInfo_Destroy(si);
    if (n) {
        base_set_err(err, err_len,
                     "JetStream stream %s exists with other settings%s. otelprofd does not change "
                     "a stream: edit it (nats stream edit %s) or match the options, or name "
                     "another stream with --nats-stream",
                     b->stream, why, b->stream);
        return BASE_ERR_BAD_ARGUMENT;
    }
    return BASE_OK;
}

/* What a failed natsConnection_Connect most likely means, for the start-up error: nats.c's
 * own text is not enough. A server that requires a client certificate (tls { verify: true })
 * and gets none (or one it does not trust) completes the TLS 1.3 handshake and then closes
 * the connection: nats.c reports "Protocol Error: Expected 'PONG', got ''". An untrusted
 * server certificate is an "SSL Error"; refused credentials an "Authentication Violation". */
static const char *connect_hint(const log_config *cfg, natsStatus s)
{
    static _Thread_local char hint[200];
    bool ca = cfg->nats_tls_ca && cfg->nats_tls_ca[0];
    bool cert = cfg->nats_tls_cert && cfg->nats_tls_cert[0];
    bool creds = cfg->nats_creds_file && cfg->nats_creds_file[0];
    bool tls = ca || cert || strstr(cfg->nats_url, "tls://") != NULL;
    hint[0] = 0;
    if (s == NATS_SSL_ERROR)
        snprintf(hint, sizeof hint,
                 ca ? "TLS: the server's certificate is not trusted: --nats-tls-ca must be the CA "
                      "that signed it, for the host name or IP address in the URL"
                    : "TLS: the server's certificate is not trusted by the system: give its CA "
                      "with --nats-tls-ca");
    else if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED)
        snprintf(hint, sizeof hint,
                 creds ? "the server refused the credentials of --nats-creds (a user of an "
                         "account it does not know, expired or revoked?)"
                       : "the server requires credentials: --nats-creds FILE");
    else if (tls && (s == NATS_PROTOCOL_ERROR || s == NATS_IO_ERROR || s == NATS_CONNECTION_CLOSED))
        snprintf(hint, sizeof hint,
                 cert ? "TLS: the server closed the connection after the handshake: it does not "
                        "accept the client certificate of --nats-tls-cert (not signed by a CA it "
                        "trusts?)"
                      : "TLS: the server closed the connection after the handshake: it requires "
                        "a client certificate (--nats-tls-cert and --nats-tls-key)");
    return hint;
}

static base_err nats_open(log_store *log, char *err, size_t err_len)
{
    const log_config *cfg = &log->cfg;
    nats_be *b = calloc(1, sizeof *b);
    natsOptions *o = NULL;
    char *urls = NULL;
    base_err rc = BASE_ERR_NOMEM;
    if (!b)
        goto fail;
    if (!cfg->nats_url || !cfg->nats_url[0]) {
        rc = BASE_ERR_BAD_ARGUMENT;
        base_set_err(err, err_len, "--nats needs at least one server URL");
        goto fail;
    }
    const char *stream = cfg->nats_stream && cfg->nats_stream[0] ? cfg->nats_stream : "OTELPROFD";
    const char *prefix =
        cfg->nats_subject && cfg->nats_subject[0] ? cfg->nats_subject : "otelprofd.profiles";
    if (strlen(stream) >= sizeof b->stream || strspn(stream, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "abcdefghijklmnopqrstuvwxyz"
                                                             "0123456789_-") != strlen(stream)) {
        rc = BASE_ERR_BAD_ARGUMENT;
        base_set_err(err, err_len, "--nats-stream %.80s: up to 63 letters, digits, '_' or '-'",
                     stream);
        goto fail;
    }
    if (strlen(prefix) >= sizeof b->prefix || strpbrk(prefix, " \t*>") || prefix[0] == '.' ||
        prefix[strlen(prefix) - 1] == '.') {
        rc = BASE_ERR_BAD_ARGUMENT;
        base_set_err(err, err_len,
                     "NATS subject prefix %.80s: up to 127 bytes, no spaces or wildcards", prefix);
        goto fail;
    }
    snprintf(b->stream, sizeof b->stream, "%s", stream);
    snprintf(b->prefix, sizeof b->prefix, "%s", prefix);
    if (cfg->nats_filter && cfg->nats_filter[0]) {
        if (strlen(cfg->nats_filter) >= sizeof b->filter || strpbrk(cfg->nats_filter, " \t")) {
            rc = BASE_ERR_BAD_ARGUMENT;
            base_set_err(err, err_len,
                         "--nats-subjects %.80s: one NATS subject (wildcards * and > "
                         "allowed), no spaces",
                         cfg->nats_filter);
            goto fail;
        }
        snprintf(b->filter, sizeof b->filter, "%s", cfg->nats_filter);
    } else {
        snprintf(b->filter, sizeof b->filter, "%s.>", b->prefix);
    }

    /* servers: "nats://a:4222,nats://b:4222" */
    urls = strdup(cfg->nats_url);
    if (!urls)
        goto fail;
    const char *list[64];
    int nurl = 0;
    for (char *save = NULL, *t = strtok_r(urls, ",", &save); t && nurl < 64;
         t = strtok_r(NULL, ",", &save))
        if (*t)
            list[nurl++] = t;
    if (!nurl) {
        rc = BASE_ERR_BAD_ARGUMENT;
        base_set_err(err, err_len, "--nats needs at least one server URL");
        goto fail;
    }
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetServers(o, list, nurl);
    if (s == NATS_OK)
        s = natsOptions_SetName(o, "otelprofd");
    /* Keep reconnecting forever: the windows must follow the stream again when the cluster
     * returns. While disconnected, log_append answers 503 at once (see nats_append). */
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(o, 250);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetFailRequestsOnDisconnect(o, true);
    if (s == NATS_OK && cfg->nats_creds_file && cfg->nats_creds_file[0])
        s = natsOptions_SetUserCredentialsFromFiles(o, cfg->nats_creds_file, NULL);
    if (s == NATS_OK && cfg->nats_tls_ca && cfg->nats_tls_ca[0]) {
        s = natsOptions_SetSecure(o, true);
        if (s == NATS_OK)
            s = natsOptions_LoadCATrustedCertificates(o, cfg->nats_tls_ca);
    }
    if (s == NATS_OK && cfg->nats_tls_cert && cfg->nats_tls_cert[0])
        s = natsOptions_LoadCertificatesChain(o, cfg->nats_tls_cert, cfg->nats_tls_key);
    if (s != NATS_OK) {
        rc = BASE_ERR_BAD_ARGUMENT;
        base_set_err(err, err_len, "NATS options: %s", nats_why(s, 0));
        goto fail;
    }
    s = natsConnection_Connect(&b->nc, o);
    if (s != NATS_OK) {
        rc = BASE_ERR_UNAVAILABLE;
        const char *hint = connect_hint(cfg, s);
        base_set_err(err, err_len, "cannot connect to NATS at %s: %s%s%s", cfg->nats_url,
                     nats_why(s, 0), hint[0] ? " -- " : "", hint);
        goto fail;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = LOG__NATS_ACK_WAIT_MS;
    s = natsConnection_JetStream(&b->js, b->nc, &jo);
    if (s != NATS_OK) {
        rc = BASE_ERR_UNAVAILABLE;
        base_set_err(err, err_len, "NATS JetStream context: %s", nats_why(s, 0));
        goto fail;
    }
    b->max_payload = natsConnection_GetMaxPayload(b->nc);
    if (b->max_payload <= LOG__NATS_HEADER_RESERVE + 1024) {
        rc = BASE_ERR_BAD_ARGUMENT;
        base_set_err(err, err_len, "NATS server max_payload %" PRId64 " is too small",
                     b->max_payload);
        goto fail;
    }
    rc = ensure_stream(b, cfg, err, err_len);
    if (rc != BASE_OK)
        goto fail;
    natsOptions_Destroy(o);
    free(urls);
    log->be = b;
    return BASE_OK;
fail:
    if (rc == BASE_ERR_NOMEM && err && !err[0])
        base_set_err(err, err_len, "out of memory");
    natsOptions_Destroy(o);
    free(urls);
    nats_be_free(b);
    return rc;
}

static void nats_close(log_store *log)
{
    nats_be_free(be_of(log));
    log->be = NULL;
}

/* ---- append ----------------------------------------------------------------------- */

static base_err publish_one(nats_be *b, const char *subject, const uint8_t *data, size_t len,
                            const char *msg_id, int64_t recv_ns, uint64_t *seq, char *err,
                            size_t err_len)
{
    natsMsg *m = NULL;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    char recv[32];
    snprintf(recv, sizeof recv, "%" PRId64, recv_ns);
    natsStatus s = natsMsg_Create(&m, subject, NULL, (const char *)data, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Otelprofd-Recv-Ns", recv);
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        base_set_err(err, err_len, "NATS message: %s", nats_why(s, 0));
        return BASE_ERR_NOMEM;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.ExpectStream = b->stream;
    po.MaxWait = LOG__NATS_ACK_WAIT_MS;
    s = js_PublishMsg(&ack, b->js, m, &po, &jerr);
    natsMsg_Destroy(m);
    if (s != NATS_OK) {
        base_set_err(err, err_len, "JetStream did not acknowledge the record (stream %s): %s",
                     b->stream, nats_why(s, jerr));
        return BASE_ERR_UNAVAILABLE;
    }
    if (seq)
        *seq = ack->Sequence;
    jsPubAck_Destroy(ack);
    return BASE_OK;
}

static base_err nats_append(log_store *log, const log_entry *e, uint64_t *seq, char *err,
                            size_t err_len)
{
    nats_be *b = be_of(log);
    char subject[LOG__NATS_SUBJECT_MAX], id[80];
    /* Publishing into the reconnect buffer would wait the whole ack timeout for nothing. */
    if (natsConnection_Status(b->nc) != NATS_CONN_STATUS_CONNECTED) {
        base_set_err(err, err_len, "not connected to NATS (reconnecting)");
        return BASE_ERR_UNAVAILABLE;
    }
    subject_of(b, e->key, subject);
    uint64_t h1 = hash64(e->data, e->len, 0x6f74656c70726f66ULL);
    uint64_t h2 = hash64(e->data, e->len, 0x6a657473747265ULL);
    size_t budget = (size_t)b->max_payload - LOG__NATS_HEADER_RESERVE;
    uint64_t last = 0;
    if (e->len <= budget) {
        snprintf(id, sizeof id, "%016" PRIx64 "%016" PRIx64, h1, h2);
        base_err rc =
            publish_one(b, subject, e->data, e->len, id, e->recv_unix_ns, &last, err, err_len);
        if (rc != BASE_OK)
            return rc;
    } else {
        /* Shared fields (dictionary, unknown fields) go into every part. */
        buf shared = {0}, part = {0};
        /* Every piece repeats its resource's (and scope's) own fields: a request made of a
         * huge resource with countless tiny scopes would multiply. The pieces may hold at
         * most twice the request plus one message. */
        units us = {.max_bytes = 2 * e->len + budget};
        base_err rc = BASE_ERR_NOMEM;
        const uint8_t *p = e->data, *end = e->data + e->len;
        field f;
        bool bad = false;
        while (next_field(&p, end, &f, &bad))
            if (f.number != 1 && !buf_put(&shared, f.whole.p, f.whole.n))
                goto split_out;
        if (bad) {
            rc = BASE_ERR_DECODE;
            base_set_err(err, err_len, "request does not decode");
            goto split_out;
        }
        if (shared.n >= budget) {
            rc = BASE_ERR_TOO_LARGE;
            base_set_err(err, err_len,
                         "the request's dictionary alone is %zu bytes, over what one NATS message "
                         "can carry (max_payload %" PRId64 "): raise the server's max_payload",
                         shared.n, b->max_payload);
            goto split_out;
        }
        size_t room = budget - shared.n;
        p = e->data;
        while (next_field(&p, end, &f, &bad)) {
            if (f.number != 1)
                continue;
            if (f.whole.n <= room) {
                buf u = {0};
                if (!buf_put(&u, f.whole.p, f.whole.n) || !units_add(&us, &u)) {
                    free(u.p);
                    goto split_out;
                }
            } else if ((rc = split_resource(f.body, room, &us, err, err_len)) != BASE_OK) {
                goto split_out;
            } else {
                rc = BASE_ERR_NOMEM;
            }
        }
        /* Greedy packing: consecutive units share a part while they fit. */
        size_t nparts = 0;
        for (size_t i = 0, used = 0; i < us.n; i++) {
            if (i == 0 || used + us.u[i].n > room)
                nparts++, used = 0;
            used += us.u[i].n;
        }
        if (nparts > LOG__NATS_MAX_PARTS) {
            rc = BASE_ERR_TOO_LARGE;
            base_set_err(err, err_len, "request would need %zu NATS messages", nparts);
            goto split_out;
        }
        size_t i = 0;
        for (size_t k = 1; k <= nparts; k++) {
            part.n = 0;
            if (!buf_put(&part, shared.p, shared.n))
                goto split_out;
            size_t used = 0;
            while (i < us.n && (used == 0 || used + us.u[i].n <= room)) {
                if (!buf_put(&part, us.u[i].p, us.u[i].n))
                    goto split_out;
                used += us.u[i].n;
                i++;
            }
            snprintf(id, sizeof id, "%016" PRIx64 "%016" PRIx64 "-%zu.%zu", h1, h2, k, nparts);
            rc = publish_one(b, subject, part.p, part.n, id, e->recv_unix_ns, &last, err, err_len);
            if (rc != BASE_OK)
                goto split_out;
            rc = BASE_ERR_NOMEM;
        }
        rc = BASE_OK;
    split_out:
        if (us.over) {
            rc = BASE_ERR_TOO_LARGE;
            base_set_err(err, err_len,
                         "request of %zu bytes cannot be split into NATS messages of %" PRId64
                         " bytes (too many pieces, or resource fields repeated too often): raise "
                         "the server's max_payload",
                         e->len, b->max_payload);
        }
        if (rc == BASE_ERR_NOMEM && err && !err[0])
            base_set_err(err, err_len, "out of memory");
        free(shared.p);
        free(part.p);
        units_free(&us);
        if (rc != BASE_OK)
            return rc;
    }
    uint64_t prev = atomic_load(&b->last_seq);
    while (last > prev && !atomic_compare_exchange_weak(&b->last_seq, &prev, last)) {
    }
    if (seq)
        *seq = last;
    return BASE_OK;
}

/* ---- consumers -------------------------------------------------------------------- */

/* What the client library may buffer for a push consumer before this process reads it. The
 * server's flow control keeps it far below; past it messages are dropped as for a slow
 * consumer, the ordered consumer sees the gap and restarts after the last one returned. */
static void cap_pending(natsSubscription *sub)
{
    natsSubscription_SetPendingLimits(sub, LOG__NATS_PENDING_MSGS, LOG__NATS_PENDING_BYTES);
}

static void durable_name_of(const char *name, char *out, size_t n)
{
    size_t k = (size_t)snprintf(out, n, "otelprofd-%s", name);
    for (size_t i = 0; i < k && i < n; i++)
        if (out[i] == '.')
            out[i] = '_';
}

static base_err nats_consumer_open(log_consumer *c, const log_position *pos, char *err,
                                   size_t err_len)
{
    nats_be *b = be_of(c->log);
    nats_cons *nc = calloc(1, sizeof *nc);
    if (!nc) {
        base_set_err(err, err_len, "out of memory");
        return BASE_ERR_NOMEM;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = b->stream;
    int64_t start = pos->time_unix_ns;
    if (start <= 0)
        start = base_now_unix_ns() - c->log->cfg.retention_ns;
    switch (pos->from) {
    case LOG_FROM_SEQ:
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = pos->seq ? pos->seq : 1;
        break;
    case LOG_FROM_END:
        so.Config.DeliverPolicy = js_DeliverNew;
        break;
    default:
        so.Config.DeliverPolicy = js_DeliverByStartTime;
        so.Config.OptStartTime = start;
        break;
    }
    jsErrCode jerr = 0;
    natsStatus s;
    char durable[LOG_CONSUMER_NAME_MAX + 16] = "";
    nc->ring_seq = malloc(LOG__NATS_ID_RING * sizeof *nc->ring_seq);
    nc->ring_id = malloc(LOG__NATS_ID_RING * sizeof *nc->ring_id);
    if (!nc->ring_seq || !nc->ring_id) {
        free(nc->ring_seq);
        free(nc->ring_id);
        free(nc);
        base_set_err(err, err_len, "out of memory");
        return BASE_ERR_NOMEM;
    }
    const char *fault = getenv("OTELPROFD_TEST_NATS_DIVERGE");
    if (fault && *fault)
        nc->fault_drop = strtoull(fault, NULL, 10);
    if (pos->from == LOG_FROM_CURSOR) {
        /* Durable: the cursor is the consumer's ack floor in the cluster; the start policy
         * only applies when it is created. */
        durable_name_of(c->name, durable, sizeof durable);
        nc->durable = true;
        snprintf(nc->name, sizeof nc->name, "%s", durable);
        /* Created here when missing, then bound to: a consumer the client library created
         * itself would be deleted with the subscription, cursor and all. When present (this
         * node before a restart, or another node of the fleet, which then shares the cursor
         * and splits the work) it is used as it is. */
        jsConsumerInfo *have = NULL;
        if (js_GetConsumerInfo(&have, b->js, b->stream, durable, NULL, NULL) != NATS_OK || !have) {
            jsConsumerConfig cc = so.Config;
            cc.Durable = durable;
            cc.AckPolicy = js_AckAll;
            cc.MaxAckPending = LOG__NATS_MAX_ACK_PENDING;
            cc.FilterSubject = b->filter;
            s = js_AddConsumer(&have, b->js, b->stream, &cc, NULL, &jerr);
            if (s != NATS_OK) {
                base_set_err(err, err_len, "JetStream durable consumer %s on %s: %s", durable,
                             b->stream, nats_why(s, jerr));
                free(nc->ring_seq);
                free(nc->ring_id);
                free(nc);
                return BASE_ERR_UNAVAILABLE;
            }
        }
        jsConsumerInfo_Destroy(have);
        jsSubOptions_Init(&so);
        so.Stream = b->stream;
        so.Consumer = durable;
        so.ManualAck = true;
        s = js_PullSubscribe(&nc->sub, b->js, b->filter, durable, NULL, &so, &jerr);
    } else {
        so.Ordered = true;
        nc->start = so;
        s = js_SubscribeSync(&nc->sub, b->js, b->filter, NULL, &so, &jerr);
        if (s == NATS_OK)
            cap_pending(nc->sub);
        nc->quiet_since_mono_ns = nc->checked_mono_ns = base_now_mono_ns();
    }
    if (s != NATS_OK) {
        base_set_err(err, err_len, "JetStream consumer %s on %s: %s", c->name, b->filter,
                     nats_why(s, jerr));
        free(nc->ring_seq);
        free(nc->ring_id);
        free(nc);
        return BASE_ERR_UNAVAILABLE;
    }
    /* Where it starts: the messages left (so a replay knows it has more to wait for) and,
     * for a durable, its committed cursor. A durable is asked by name (a subscription bound
     * to an existing consumer does not answer natsSubscription_GetConsumerInfo). */
    jsConsumerInfo *ci = NULL;
    natsStatus cis = nc->durable ? js_GetConsumerInfo(&ci, b->js, b->stream, durable, NULL, NULL)
                                 : natsSubscription_GetConsumerInfo(&ci, nc->sub, NULL, NULL);
    if (cis == NATS_OK && ci) {
        nc->pending_hint = ci->NumPending;
        if (nc->durable)
            nc->committed_seq = ci->AckFloor.Stream;
        jsConsumerInfo_Destroy(ci);
    }
    c->be = nc;
    return BASE_OK;
}

static void release_current(nats_cons *nc)
{
    if (nc->current) {
        natsMsg_Destroy(nc->current);
        nc->current = NULL;
    }
}

static natsStatus leader_fetch(nats_be *b, nats_cons *nc, int64_t wait_ms, natsMsg **out);

/* The next message of the subscription, waiting up to wait_ms (> 0). */
static natsStatus fetch_sub(nats_cons *nc, int64_t wait_ms, natsMsg **m);

static natsStatus fetch_next(nats_be *b, nats_cons *nc, int64_t wait_ms, natsMsg **m)
{
    if (nc->leader_mode)
        return leader_fetch(b, nc, wait_ms, m);
    natsStatus s = fetch_sub(nc, wait_ms, m);
    if (s == NATS_OK && *m && nc->fault_drop) {
        /* the test fault: this replica never had the record at fault_drop (a durable
         * acknowledges it, so its cursor moves past it as the replica's would) */
        jsMsgMetaData *md = NULL;
        bool drop =
            natsMsg_GetMetaData(&md, *m) == NATS_OK && md && md->Sequence.Stream == nc->fault_drop;
        jsMsgMetaData_Destroy(md);
        if (drop) {
            if (nc->durable)
                natsMsg_Ack(*m, NULL);
            natsMsg_Destroy(*m);
            *m = NULL;
            return NATS_TIMEOUT;
        }
    }
    return s;
}

/* The next message of the subscription itself. */
static natsStatus fetch_sub(nats_cons *nc, int64_t wait_ms, natsMsg **m)
{
    if (!nc->durable)
        return natsSubscription_NextMsg(m, nc->sub, wait_ms);
    if (nc->batch_next < nc->batch.Count) {
        *m = nc->batch.Msgs[nc->batch_next];
        nc->batch.Msgs[nc->batch_next++] = NULL;
        return NATS_OK;
    }
    natsMsgList_Destroy(&nc->batch);
    nc->batch = (natsMsgList){0};
    nc->batch_next = 0;
    if (nc->held_n >= LOG__NATS_MAX_ACK_PENDING)
        return NATS_TIMEOUT; /* commit first */
    int room = (int)(LOG__NATS_MAX_ACK_PENDING - nc->held_n);
    natsStatus s = natsSubscription_Fetch(
        &nc->batch, nc->sub, room < LOG__NATS_FETCH_BATCH ? room : LOG__NATS_FETCH_BATCH, wait_ms,
        NULL);
    if (s != NATS_OK)
        return s;
    if (nc->batch.Count == 0)
        return NATS_TIMEOUT;
    *m = nc->batch.Msgs[0];
    nc->batch.Msgs[0] = NULL;
    nc->batch_next = 1;
    return NATS_OK;
}

/* Whether a NATS subject matches a filter ('*' one token, '>' the rest, at least one). */
static bool subject_matches(const char *filter, const char *subject)
{
    const char *f = filter, *t = subject;
    for (;;) {
        const char *fe = strchr(f, '.'), *te = strchr(t, '.');
        size_t fl = fe ? (size_t)(fe - f) : strlen(f), tl = te ? (size_t)(te - t) : strlen(t);
        if (fl == 1 && f[0] == '>')
            return tl > 0;
        if (!(fl == 1 && f[0] == '*') && (fl != tl || memcmp(f, t, fl) != 0))
            return false;
        if (!fe || !te)
            return !fe && !te;
        f = fe + 1;
        t = te + 1;
    }
}

static uint64_t id_hash(const char *id)
{
    return hash64((const uint8_t *)id, strlen(id), 0x6f74656c70726f66ULL);
}

static void ring_push(nats_cons *nc, uint64_t seq, uint64_t idh)
{
    if (!nc->ring_seq)
        return;
    nc->ring_seq[nc->ring_pos] = seq;
    nc->ring_id[nc->ring_pos] = idh;
    nc->ring_pos = (nc->ring_pos + 1) % LOG__NATS_ID_RING;
    if (nc->ring_n < LOG__NATS_ID_RING)
        nc->ring_n++;
}

/* Position in the ring of the i-th oldest record remembered. */
static uint32_t ring_at(const nats_cons *nc, uint32_t i)
{
    return (nc->ring_pos + LOG__NATS_ID_RING - nc->ring_n + i) % LOG__NATS_ID_RING;
}

/* The stream leader's message id at seq (STREAM.MSG.GET is answered by the leader): 1 with
 * its hash in *idh (and text in id), 0 when the leader holds no message there, -1 when it
 * could not be asked. */
static int leader_id_at(nats_be *b, uint64_t seq, uint64_t *idh, char *id, size_t id_len)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 1000;
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetMsg(&m, b->js, b->stream, seq, &jo, &jerr);
    if (s != NATS_OK || !m) {
        natsMsg_Destroy(m);
        return jerr == JSNoMessageFoundErr || s == NATS_NOT_FOUND ? 0 : -1;
    }
    const char *v = NULL;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &v) != NATS_OK || !v)
        v = "";
    *idh = id_hash(v);
    if (id)
        snprintf(id, id_len, "%s", v);
    natsMsg_Destroy(m);
    return 1;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Whether the i-th oldest remembered record differs from the leader's at its sequence;
 * -1 when the leader could not be asked. */
static int ring_differs(nats_be *b, const nats_cons *nc, uint32_t i)
{
    uint32_t p = ring_at(nc, i);
    uint64_t idh = 0;
    int r = leader_id_at(b, nc->ring_seq[p], &idh, NULL, 0);
    /* no message there at the leader: expired by MaxAge (old, so before any divergence) */
    return r < 0 ? -1 : r == 1 && idh != nc->ring_id[p];
}

/* The replica this ordered consumer reads diverged from the stream leader. Find the first
 * remembered record that differs (a binary search: before the divergence the replica and
 * the leader agree, after it they do not), then read on from the leader from that
 * sequence, passing over the records already applied (by message id) up to the leader's
 * head of now: what the replica lacked is applied, nothing twice. */
static void repair_from_leader(nats_be *b, nats_cons *nc, const char *leader_id)
{
    if (!nc->ring_n)
        return;
    /* A durable goes on with its own subscription afterwards: the repair reads only up to
     * the leader's sequence of its last record, found by message id just above its own
     * sequence (the replica numbers lower); what comes after arrives through the durable. */
    uint64_t offset = 0;
    if (nc->durable) {
        uint64_t want = id_hash(nc->last_id), idh = 0;
        for (offset = 1; offset <= LOG__NATS_MAX_SHIFT; offset++) {
            int r = leader_id_at(b, nc->last_seq + offset, &idh, NULL, 0);
            if (r < 0) {
                nc->compared_seq = 0; /* the leader went away: try again at the next check */
                return;
            }
            if (r == 1 && idh == want)
                break;
        }
        if (offset > LOG__NATS_MAX_SHIFT) {
            nc->diverged = true;
            base_log(BASE_LOG_ERROR,
                     "log: durable consumer %s reads a stream replica that differs from the "
                     "stream leader at sequence %llu (message %s there, %s at the leader), and "
                     "its last record is not within %d sequences above it at the leader: "
                     "records may be missing downstream; repair the replica (remove the peer "
                     "so it is copied again)",
                     nc->name, (unsigned long long)nc->last_seq, nc->last_id,
                     leader_id[0] ? leader_id : "none", LOG__NATS_MAX_SHIFT);
            return;
        }
    }
    uint32_t lo = 0, hi = nc->ring_n - 1; /* hi differs (the record just compared) */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int d = ring_differs(b, nc, mid);
        if (d < 0) {
            nc->compared_seq = 0; /* the leader went away: try again at the next check */
            return;
        }
        if (d)
            hi = mid;
        else
            lo = mid + 1;
    }
    jsStreamInfo *si = NULL;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 1000;
    if (js_GetStreamInfo(&si, b->js, b->stream, &jo, NULL) != NATS_OK || !si) {
        nc->compared_seq = 0;
        return;
    }
    uint64_t head = nc->durable ? nc->last_seq + offset : si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    uint32_t n = nc->ring_n - lo;
    uint64_t *skip = malloc((size_t)n * sizeof *skip);
    if (!skip) {
        nc->compared_seq = 0;
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        skip[i] = nc->ring_id[ring_at(nc, lo + i)];
    qsort(skip, n, sizeof *skip, u64_cmp);
    uint64_t from = nc->ring_seq[ring_at(nc, lo)];
    /* the first record remembered differs already: the divergence may be older */
    bool whole = lo > 0;
    base_log(whole ? BASE_LOG_WARN : BASE_LOG_ERROR,
             "log: the stream replica %s reads differs from the stream leader from "
             "sequence %llu on (message %s here at %llu, %s at the leader): a NATS server's "
             "replica of %s diverged; %s%s",
             nc->durable ? nc->name : "this node", (unsigned long long)from, nc->last_id,
             (unsigned long long)nc->last_seq, leader_id[0] ? leader_id : "none", b->stream,
             nc->durable ? "the records the replica lacked are read from the leader, then the "
                           "consumer goes on"
                         : "reading from the stream leader from now on, the records the "
                           "replica lacked are applied from it",
             whole ? ""
                   : " (the divergence may be older than the records this consumer returned: "
                     "older records may be missing; repair the replica and restart)");
    if (!nc->durable) {
        /* an ordered consumer reads from the leader from now on */
        natsSubscription_Unsubscribe(nc->sub);
        natsSubscription_Destroy(nc->sub);
        nc->sub = NULL;
    }
    free(nc->skip);
    nc->skip = skip;
    nc->skip_n = n;
    nc->skip_until = head;
    nc->leader_head = head;
    nc->leader_next = from;
    nc->seq_offset = offset;
    nc->leader_mode = true;
}

/* The record an ordered consumer returned last, compared with the stream leader's record
 * at that sequence (when quiet, and every LOG__NATS_REPLICA_CHECK_MS while busy). The
 * consumer reads the replica of the server it lives on; nats-server 2.9.10 can leave a
 * replica that missed the first message stored after a whole-cluster restart and holds
 * every later one a sequence lower: the sequences look whole, a record is missing. Then
 * the consumer is repaired from the leader (repair_from_leader). */
static void check_replica(nats_be *b, nats_cons *nc)
{
    nc->replica_checked_mono_ns = base_now_mono_ns();
    if (nc->leader_mode || nc->diverged || !nc->last_seq || !nc->last_id[0] ||
        nc->compared_seq == nc->last_seq)
        return;
    nc->compared_seq = nc->last_seq;
    uint64_t idh = 0;
    char id[80] = "";
    int r = leader_id_at(b, nc->last_seq + nc->seq_offset, &idh, id, sizeof id);
    /* r == 0: the leader holds nothing there any more (expired by MaxAge while this
     * consumer read it, near the retention's edge): nothing to compare */
    if (r <= 0 || idh == id_hash(nc->last_id))
        return;
    if (nc->durable && nc->repaired_once) {
        /* a second divergence of a durable's replica: its numbering is not known any more */
        nc->diverged = true;
        base_log(BASE_LOG_ERROR,
                 "log: durable consumer %s reads a stream replica that differs from the stream "
                 "leader again at sequence %llu (message %s there, %s at the leader): records "
                 "may be missing downstream; repair the replica (remove the peer so it is "
                 "copied again)",
                 nc->name, (unsigned long long)nc->last_seq, nc->last_id, id[0] ? id : "none");
        return;
    }
    repair_from_leader(b, nc, id);
}

/* A durable's repair is done: it goes back to its own subscription; seq_offset (found by
 * repair_from_leader) lets the next checks compare like with like. */
static void durable_resume(nats_cons *nc)
{
    nc->leader_mode = false;
    nc->repaired_once = true;
}

/* Leader mode: the next record of the subject filter from the stream leader, one request
 * each. NATS_TIMEOUT when the leader has nothing after leader_next yet (or the call ran out
 * of its time, or was woken). */
static natsStatus leader_fetch(nats_be *b, nats_cons *nc, int64_t wait_ms, natsMsg **out)
{
    int64_t t0 = base_now_mono_ns();
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 1000;
    bool refreshed = false; /* the stream's state was read during this call */
    for (;;) {
        if (nc->skip && nc->leader_next > nc->skip_until) {
            free(nc->skip);
            nc->skip = NULL;
            nc->skip_n = 0;
            base_log(BASE_LOG_WARN,
                     "log: replica repaired: %llu records it lacked were %s from the stream "
                     "leader (up to sequence %llu); %s",
                     (unsigned long long)nc->recovered, nc->durable ? "read" : "applied",
                     (unsigned long long)nc->skip_until,
                     nc->durable ? "the durable consumer goes on" : "reading on from the leader");
            if (nc->durable) {
                durable_resume(nc);
                return NATS_TIMEOUT;
            }
        }
        if (atomic_load(&nc->woken) ||
            (base_now_mono_ns() - t0) / 1000000 > (wait_ms > 100 ? wait_ms : 100))
            return NATS_TIMEOUT;
        natsMsg *m = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetMsg(&m, b->js, b->stream, nc->leader_next, &jo, &jerr);
        if (s == NATS_OK && m) {
            uint64_t seq = nc->leader_next++;
            const char *subj = natsMsg_GetSubject(m), *id = NULL;
            if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK || !id)
                id = "";
            uint64_t idh = id_hash(id);
            bool applied =
                nc->skip && bsearch(&idh, nc->skip, nc->skip_n, sizeof idh, u64_cmp) != NULL;
            if (!subj || !subject_matches(b->filter, subj) || applied) {
                natsMsg_Destroy(m);
                continue;
            }
            if (!applied && nc->skip)
                nc->recovered++;
            nc->pending_hint = nc->leader_head > seq ? nc->leader_head - seq : 0;
            *out = m;
            return NATS_OK;
        }
        natsMsg_Destroy(m);
        if (!(jerr == JSNoMessageFoundErr || s == NATS_NOT_FOUND))
            return s == NATS_OK ? NATS_TIMEOUT : s;
        /* A sequence that holds no message: expired (then every one up to the stream's
         * first is, and one look at the stream's state jumps them all), deleted or a publish
         * that lost its quorum (skipped one by one), or the head (wait). */
        if (!refreshed || nc->leader_next > nc->leader_head) {
            jsStreamInfo *si = NULL;
            if (js_GetStreamInfo(&si, b->js, b->stream, &jo, NULL) != NATS_OK || !si)
                return NATS_TIMEOUT;
            refreshed = true;
            nc->leader_head = si->State.LastSeq;
            if (nc->leader_next < si->State.FirstSeq)
                nc->leader_next = si->State.FirstSeq;
            jsStreamInfo_Destroy(si);
            if (nc->leader_next > nc->leader_head) {
                nc->pending_hint = 0;
                return NATS_TIMEOUT;
            }
            continue; /* ask again at the (perhaps moved) sequence */
        }
        nc->leader_next++;
    }
}

/* An ordered consumer is an ephemeral, unreplicated consumer on one server. The client
 * library recreates it after a gap or missed heartbeats, but not in every case (its server
 * killed while the stream's leadership moves; the whole cluster restarted): a quiet
 * consumer is therefore asked about every LOG__NATS_WATCHDOG_MS, and when it is gone, the
 * server says messages are pending that do not come, or it delivered past the last one that
 * arrived, it is subscribed again after the last sequence returned. */
static void ordered_watchdog(nats_be *b, nats_cons *nc)
{
    int64_t now = base_now_mono_ns();
    if (now - nc->quiet_since_mono_ns < LOG__NATS_WATCHDOG_MS * 1000000LL ||
        now - nc->checked_mono_ns < LOG__NATS_WATCHDOG_MS * 1000000LL)
        return;
    nc->checked_mono_ns = now;
    if (natsConnection_Status(b->nc) != NATS_CONN_STATUS_CONNECTED)
        return;
    jsConsumerInfo *ci = NULL;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 1000;
    natsStatus s = natsSubscription_GetConsumerInfo(&ci, nc->sub, &jo, NULL);
    /* stalled: gone, messages pending that do not come, or the server delivered past what
     * arrived here (a message lost in flight while the connection dropped, with nothing
     * after it to reveal the gap) */
    uint64_t delivered = ci ? ci->Delivered.Stream : 0;
    if (nc->fault_drop && delivered > nc->fault_drop)
        delivered--; /* the test fault's numbering */
    bool stalled =
        s != NATS_OK || !ci || ci->NumPending > 0 || (nc->last_seq && delivered > nc->last_seq);
    if (s == NATS_OK && ci)
        nc->pending_hint = ci->NumPending; /* the truth for get_status while it is quiet */
    if (ci)
        jsConsumerInfo_Destroy(ci);
    if (!stalled) {
        check_replica(b, nc);
        return;
    }
    jsSubOptions so = nc->start;
    if (nc->last_seq) {
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = nc->last_seq + 1;
        if (nc->fault_drop && so.Config.OptStartSeq >= nc->fault_drop)
            so.Config.OptStartSeq++; /* the test fault's numbering */
        so.Config.OptStartTime = 0;
    }
    natsSubscription *sub = NULL;
    if (js_SubscribeSync(&sub, b->js, b->filter, NULL, &so, NULL) != NATS_OK)
        return; /* the next check tries again */
    cap_pending(sub);
    natsSubscription_Unsubscribe(nc->sub);
    natsSubscription_Destroy(nc->sub);
    nc->sub = sub;
    nc->resubscribes++;
    base_log(BASE_LOG_WARN, "log: stream consumer was lost (%s); resubscribed after sequence %llu",
             s != NATS_OK ? natsStatus_GetText(s) : "messages pending, none arriving",
             (unsigned long long)nc->last_seq);
}

static base_err nats_consumer_next(log_consumer *c, int64_t timeout_ns, log_record *rec, char *err,
                                   size_t err_len)
{
    nats_cons *nc = c->be;
    nats_be *b = be_of(c->log);
    release_current(nc);
    if (!nc->leader_mode &&
        base_now_mono_ns() - nc->replica_checked_mono_ns > LOG__NATS_REPLICA_CHECK_MS * 1000000LL)
        check_replica(b, nc);
    /* timeout 0 means "what is there now": while the server says messages are pending, wait
     * for them to arrive; otherwise one short look. */
    int64_t deadline_ms;
    if (timeout_ns < 0)
        deadline_ms = -1;
    else if (timeout_ns == 0)
        deadline_ms = nc->pending_hint ? 5000 : 1;
    else
        deadline_ms = timeout_ns / 1000000 > 0 ? timeout_ns / 1000000 : 1;
    int64_t waited = 0;
    natsMsg *m = NULL;
    for (;;) {
        if (atomic_exchange(&nc->woken, false))
            return BASE_ERR_NOT_FOUND;
        int64_t slice = LOG__NATS_WAIT_SLICE_MS;
        if (deadline_ms >= 0 && deadline_ms - waited < slice)
            slice = deadline_ms - waited;
        if (slice < 1)
            slice = 1;
        int64_t t0 = base_now_mono_ns();
        natsStatus s = fetch_next(b, nc, slice, &m);
        if (s == NATS_OK && m)
            break;
        if (!nc->durable && !nc->leader_mode)
            ordered_watchdog(b, nc);
        /* A slice never takes less than asked (an error, or a durable consumer holding its
         * maximum of uncommitted messages, returns at once): nothing can spin. */
        int64_t spent = (base_now_mono_ns() - t0) / 1000000;
        if (spent < slice) {
            struct timespec ts = {0, (long)(slice - spent) * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (s == NATS_CONNECTION_CLOSED || s == NATS_INVALID_SUBSCRIPTION) {
            base_set_err(err, err_len, "JetStream consumer %s: %s", c->name, nats_why(s, 0));
            return BASE_ERR_IO;
        }
        waited += (base_now_mono_ns() - t0) / 1000000 + 1;
        if (deadline_ms >= 0 && waited >= deadline_ms) {
            nc->pending_hint = 0;
            return BASE_ERR_NOT_FOUND;
        }
    }
    jsMsgMetaData *md = NULL;
    uint64_t seq = 0; /* natsMsg_GetSequence is 0 for consumed messages: the metadata has it */
    int64_t recv = 0;
    if (nc->leader_mode) {
        seq = natsMsg_GetSequence(m); /* a message read with STREAM.MSG.GET */
        recv = natsMsg_GetTime(m);
    } else if (natsMsg_GetMetaData(&md, m) == NATS_OK && md) {
        nc->pending_hint = md->NumPending;
        if (!seq)
            seq = md->Sequence.Stream;
        recv = md->Timestamp;
        jsMsgMetaData_Destroy(md);
        if (nc->fault_drop && seq > nc->fault_drop)
            seq--; /* the test fault: every later record one sequence lower */
    }
    const char *hv = NULL;
    if (natsMsgHeader_Get(m, "Otelprofd-Recv-Ns", &hv) == NATS_OK && hv) {
        char *endp = NULL;
        errno = 0;
        long long v = strtoll(hv, &endp, 10);
        if (!errno && endp && !*endp && v > 0)
            recv = v;
    }
    /* A durable's repair hands out records read from the leader: they are not the
     * durable's (nothing to acknowledge, not its numbering), so its own position stays. */
    bool repair_record = nc->leader_mode && nc->durable;
    const char *msg_id = NULL;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id) != NATS_OK || !msg_id)
        msg_id = "";
    if (!repair_record) {
        nc->last_seq = seq;
        snprintf(nc->last_id, sizeof nc->last_id, "%s", msg_id);
    }
    if (!nc->leader_mode)
        ring_push(nc, seq, id_hash(msg_id));
    nc->quiet_since_mono_ns = base_now_mono_ns();
    if (nc->durable && !repair_record) {
        nc->held_seq[nc->held_n] = seq;
        nc->held[nc->held_n++] = m;
    } else {
        nc->current = m;
    }
    nc->last_recv_ns = recv;
    key_of(b, natsMsg_GetSubject(m), nc->key);
    rec->seq = seq;
    rec->recv_unix_ns = recv;
    rec->data = (const uint8_t *)natsMsg_GetData(m);
    rec->len = (size_t)natsMsg_GetDataLength(m);
    rec->key = nc->key;
    rec->late = nc->leader_mode && (nc->durable || seq <= nc->max_seq);
    nc->last_late = rec->late;
    nc->late_seq = seq;
    if (seq > nc->max_seq && !(nc->leader_mode && nc->durable))
        nc->max_seq = seq;
    return BASE_OK;
}

static base_err nats_consumer_commit(log_consumer *c, uint64_t seq, char *err, size_t err_len)
{
    nats_cons *nc = c->be;
    if (!nc->durable) {
        if (seq > nc->committed_seq)
            nc->committed_seq = seq;
        return BASE_OK;
    }
    if (nc->last_late && seq == nc->late_seq)
        return BASE_OK; /* a repair's record: not the durable's to acknowledge */
    /* AckAll: acknowledging the newest held message at or below seq acknowledges all before
     * it. The current (last returned) message stays readable until the next call. */
    size_t k = 0;
    natsMsg *pick = NULL;
    for (size_t i = 0; i < nc->held_n; i++)
        if (nc->held_seq[i] <= seq)
            pick = nc->held[i], k = i + 1;
    if (!pick)
        return BASE_OK;
    jsErrCode jerr = 0;
    natsStatus s = natsMsg_AckSync(pick, NULL, &jerr);
    if (s != NATS_OK) {
        base_set_err(err, err_len, "JetStream consumer %s: acknowledging %" PRIu64 ": %s", c->name,
                     nc->held_seq[k - 1], nats_why(s, jerr));
        return BASE_ERR_UNAVAILABLE;
    }
    nc->committed_seq = nc->held_seq[k - 1];
    /* Free what is acknowledged, except the last returned message: its bytes may still be in
     * use until the next log_consumer_next (acknowledging it again later is a no-op). */
    size_t drop = k == nc->held_n ? k - 1 : k;
    for (size_t i = 0; i < drop; i++)
        natsMsg_Destroy(nc->held[i]);
    memmove(nc->held, nc->held + drop, (nc->held_n - drop) * sizeof *nc->held);
    memmove(nc->held_seq, nc->held_seq + drop, (nc->held_n - drop) * sizeof *nc->held_seq);
    nc->held_n -= drop;
    return BASE_OK;
}

static void nats_consumer_wake(log_consumer *c)
{
    nats_cons *nc = c->be;
    if (nc)
        atomic_store(&nc->woken, true);
}

static void nats_consumer_close(log_consumer *c)
{
    nats_cons *nc = c->be;
    if (!nc)
        return;
    release_current(nc);
    /* What this consumer took but did not commit goes back at once (negative
     * acknowledgement), instead of after the server's ack wait: a restarted forwarder, or
     * another node sharing the durable, reads it again without a pause. */
    for (size_t i = 0; i < nc->held_n; i++) {
        if (nc->durable && nc->held_seq[i] > nc->committed_seq)
            natsMsg_Nak(nc->held[i], NULL);
        natsMsg_Destroy(nc->held[i]);
    }
    for (int i = nc->batch_next; i < nc->batch.Count; i++)
        if (nc->batch.Msgs[i])
            natsMsg_Nak(nc->batch.Msgs[i], NULL);
    natsMsgList_Destroy(&nc->batch);
    /* Ordered/ephemeral consumers go away with the subscription; a durable one stays in the
     * cluster with its cursor (that is what makes it durable). */
    if (!nc->durable && nc->sub)
        natsSubscription_Unsubscribe(nc->sub);
    natsSubscription_Destroy(nc->sub);
    free(nc->ring_seq);
    free(nc->ring_id);
    free(nc->skip);
    free(nc);
    c->be = NULL;
}

static void nats_consumer_stats(log_consumer *c, log_consumer_stats *out)
{
    nats_cons *nc = c->be;
    out->committed_seq = nc->committed_seq;
    out->lost = 0;
    out->backlog_records = nc->pending_hint;
    out->backlog_bytes = 0;
    out->lag_ns = nc->pending_hint && nc->last_recv_ns ? base_now_unix_ns() - nc->last_recv_ns : 0;
    out->replica_repaired = atomic_load(&nc->recovered);
    out->reading_from_leader = atomic_load(&nc->leader_mode) && !nc->durable;
}

static void nats_stats(log_store *log, log_stats *out)
{
    nats_be *b = be_of(log);
    out->last_seq = atomic_load(&b->last_seq);
    jsStreamInfo *si = NULL;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 1000; /* /metrics must answer while the cluster is away */
    if (natsConnection_Status(b->nc) == NATS_CONN_STATUS_CONNECTED &&
        js_GetStreamInfo(&si, b->js, b->stream, &jo, NULL) == NATS_OK && si) {
        out->last_seq = si->State.LastSeq;
        out->records_held = si->State.Msgs;
        out->bytes_held = si->State.Bytes;
        out->oldest_unix_ns = si->State.Msgs ? si->State.FirstTime : 0;
        jsStreamInfo_Destroy(si);
    }
}

const log__ops log__nats_ops = {
    .name = "nats",
    .open = nats_open,
    .close = nats_close,
    .append = nats_append,
    .consumer_open = nats_consumer_open,
    .consumer_next = nats_consumer_next,
    .consumer_commit = nats_consumer_commit,
    .consumer_wake = nats_consumer_wake,
    .consumer_close = nats_consumer_close,
    .consumer_stats = nats_consumer_stats,
    .stats = nats_stats,
};
