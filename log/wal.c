/* log/wal.c — the local write-ahead log (--data-dir).
 *
 * Layout of the directory (flock'ed through LOCK, so a second process is refused):
 *   FORMAT                    "otelprofd-wal 1\n": the format version of everything here
 *   LOCK                      the pid of the otelprofd that holds the directory
 *   00000000000000000001.wal  segments, named by the sequence number of their first record
 *   cursors/NAME              a consumer's committed sequence number (text)
 * A segment is a 16-byte header (magic "OTPDWAL\n", u32 version, u32 header size) and
 * records: a 32-byte header (u32 marker, u32 payload length, u32 key length, u32 CRC-32 of
 * everything in the record but the marker and the CRC, u64 seq, i64 receive time; all
 * little-endian), the key, the payload. The marker lets a reader find the next record after
 * a damaged one: a record whose length is intact is skipped by its length, otherwise the
 * reader searches forward for a marker that starts a record with a valid CRC. Damage with
 * no valid record after it (a torn last write, garbage appended) is cut off the last
 * segment when the log opens, with a warning; everything before it is kept.
 *
 * Durability: appends are written under the log's mutex (one pwritev each), then
 *   always:   the appender waits until an fdatasync covers its record; the first waiter
 *             becomes the leader and syncs for everyone written so far (group commit);
 *   interval: a background thread syncs every sync_interval (a power loss can take what
 *             was written since the last sync; a process crash loses nothing: the page cache
 *             keeps it);
 *   off:      the kernel decides (about 30 s on Linux).
 * A failed write (ENOSPC, EFBIG, EIO, EACCES on a new segment) is cut off again with
 * ftruncate and the append returns BASE_ERR_UNAVAILABLE; a later append tries again.
 * Segments whose newest record (their mtime) is older than the retention are deleted by the
 * background thread.
 */
#include "log/log_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define WAL_FORMAT_VERSION 1u
#define WAL_MAGIC          "OTPDWAL\n"
#define WAL_SEG_HDR        16u
#define WAL_REC_HDR        32u
#define WAL_MARKER         0x52574c4fu /* "OLWR" read as little-endian bytes */
#define WAL_MAX_SEGMENTS   100000u     /* segment files a directory may hold */
#define WAL_SCAN_CHUNK     ((size_t)1 << 16)

typedef struct wal_seg {
    uint64_t first_seq;
    int64_t mtime_ns;
} wal_seg;

typedef struct wal {
    char *dir;
    int dir_fd, lock_fd;
    pthread_mutex_t mu;
    pthread_cond_t synced_cv;   /* a sync finished */
    pthread_cond_t appended_cv; /* readable_end moved (consumers wait on it) */
    pthread_cond_t bg_cv;
    wal_seg *segs; /* sorted; the last one is the active segment */
    size_t n_segs, cap_segs;
    int fd; /* the active segment, -1 after a failure (the next append rolls) */
    uint64_t active_first, active_size;
    bool need_roll;
    uint64_t next_seq, written_seq, synced_seq, sync_failed_seq;
    bool syncing;
    uint64_t readable_end; /* bytes of the active segment a consumer may read */
    uint64_t first_seq_held;
    int64_t oldest_ns;
    uint64_t syncs, segments_deleted, corrupt;
    uint64_t bytes_closed; /* bytes of the closed segments */
    pthread_t bg;
    bool bg_started, stop;
} wal;

typedef struct wal_consumer {
    /* the read position; atomic because wal_consumer_stats reads it from other threads */
    _Atomic uint64_t seg_first;
    int fd;
    _Atomic uint64_t off;
    uint64_t next_seq; /* the sequence number expected next, 0 = unknown (time start) */
    uint64_t skip_below_seq;
    int64_t skip_before_ns;
    uint64_t committed, lost;
    int64_t committed_recv_ns, pending_recv_ns;
    bool woken;
    uint8_t *buf;
    size_t cap;
    char key[LOG_KEY_MAX];
} wal_consumer;

/* ---- little helpers ------------------------------------------------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t record_crc(const uint8_t *hdr, const uint8_t *key, size_t key_len,
                           const uint8_t *payload, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, hdr + 4, 8);
    c = crc32(c, hdr + 16, 16);
    if (key_len)
        c = crc32_z(c, key, key_len);
    if (len)
        c = crc32_z(c, payload, len);
    return (uint32_t)c;
}

static void seg_name(char *out, size_t n, uint64_t first_seq)
{
    snprintf(out, n, "%020" PRIu64 ".wal", first_seq);
}

static int64_t mtime_ns_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static bool pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return true;
}

/* ---- reading records ---------------------------------------------------------------- */

typedef struct rec_hdr {
    uint32_t len, key_len, crc;
    uint64_t seq;
    int64_t recv_ns;
} rec_hdr;

typedef enum rd {
    RD_OK,
    RD_BAD, /* damaged */
    RD_END, /* not enough bytes before `end` */
} rd;

/* Reads the record at `off` (bounded by `end`) into *buf (grown as needed): payload first,
 * then key. */
static rd read_record(int fd, uint64_t off, uint64_t end, rec_hdr *h, uint8_t **buf, size_t *cap)
{
    uint8_t hb[WAL_REC_HDR];
    if (off + WAL_REC_HDR > end)
        return RD_END;
    if (!pread_full(fd, hb, sizeof hb, off))
        return RD_END;
    if (get32(hb) != WAL_MARKER)
        return RD_BAD;
    h->len = get32(hb + 4);
    h->key_len = get32(hb + 8);
    h->crc = get32(hb + 12);
    h->seq = get64(hb + 16);
    h->recv_ns = (int64_t)get64(hb + 24);
    if ((uint64_t)h->len > LOG_RECORD_MAX_BYTES || h->key_len >= LOG_KEY_MAX)
        return RD_BAD;
    uint64_t total = WAL_REC_HDR + (uint64_t)h->key_len + h->len;
    if (off + total > end)
        return RD_END;
    size_t need = (size_t)h->len + h->key_len;
    if (need > *cap) {
        uint8_t *b = realloc(*buf, need ? need : 1);
        if (!b)
            return RD_BAD;
        *buf = b;
        *cap = need;
    }
    if (need && !pread_full(fd, *buf, need, off + WAL_REC_HDR))
        return RD_END;
    /* stored order: key then payload; keep payload at the start of buf for the caller */
    uint32_t crc = record_crc(hb, *buf, h->key_len, *buf + h->key_len, h->len);
    if (crc != h->crc)
        return RD_BAD;
    return RD_OK;
}

static uint64_t rec_total(const rec_hdr *h)
{
    return WAL_REC_HDR + (uint64_t)h->key_len + h->len;
}

/* After a damaged record at `off`: where the next valid record starts (before `end`), or
 * `end` when none does. Skips by the damaged record's own length when that lands on a
 * valid record (or exactly at `end`), else searches for the marker byte by byte. */
static uint64_t resync(int fd, uint64_t off, uint64_t end, uint8_t **buf, size_t *cap)
{
    uint8_t hb[WAL_REC_HDR];
    rec_hdr h;
    if (off + WAL_REC_HDR <= end && pread_full(fd, hb, sizeof hb, off) && get32(hb) == WAL_MARKER) {
        uint64_t total = WAL_REC_HDR + (uint64_t)get32(hb + 8) + get32(hb + 4);
        if (get32(hb + 4) <= LOG_RECORD_MAX_BYTES && get32(hb + 8) < LOG_KEY_MAX) {
            if (off + total == end)
                return end;
            if (off + total < end && read_record(fd, off + total, end, &h, buf, cap) == RD_OK)
                return off + total;
        }
    }
    uint8_t *chunk = malloc(WAL_SCAN_CHUNK + 3);
    if (!chunk)
        return end;
    uint8_t m[4];
    put32(m, WAL_MARKER);
    uint64_t pos = off + 1;
    while (pos + WAL_REC_HDR <= end) {
        size_t n = (size_t)(end - pos < WAL_SCAN_CHUNK + 3 ? end - pos : WAL_SCAN_CHUNK + 3);
        if (!pread_full(fd, chunk, n, pos))
            break;
        for (size_t i = 0; i + 4 <= n; i++) {
            if (memcmp(chunk + i, m, 4) != 0)
                continue;
            if (read_record(fd, pos + i, end, &h, buf, cap) == RD_OK) {
                free(chunk);
                return pos + i;
            }
        }
        if (n < 4)
            break;
        pos += n - 3;
    }
    free(chunk);
    return end;
}

/* ---- the directory ------------------------------------------------------------------ */

static int cmp_seg(const void *a, const void *b)
{
    uint64_t x = ((const wal_seg *)a)->first_seq, y = ((const wal_seg *)b)->first_seq;
    return x < y ? -1 : x > y;
}

static bool segs_push(wal *w, uint64_t first_seq, int64_t mtime_ns)
{
    if (w->n_segs == w->cap_segs) {
        size_t cap = w->cap_segs ? w->cap_segs * 2 : 16;
        wal_seg *s = realloc(w->segs, cap * sizeof *s);
        if (!s)
            return false;
        w->segs = s;
        w->cap_segs = cap;
    }
    w->segs[w->n_segs++] = (wal_seg){first_seq, mtime_ns};
    return true;
}

static base_err mkdir_p(const char *dir, char *err, size_t err_len)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        base_set_err(err, err_len, "data dir path too long");
        return BASE_ERR_BAD_ARGUMENT;
    }
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char ch = *p;
            *p = '\0';
            if (mkdir(path, 0750) != 0 && errno != EEXIST) {
                base_set_err(err, err_len, "cannot create data dir %s: %s", path, strerror(errno));
                return BASE_ERR_IO;
            }
            *p = ch;
            if (!ch)
                break;
        }
    }
    return BASE_OK;
}

/* Writes `text` to dir/name through a temporary file and a rename. */
static int write_small_file(int dir_fd, const char *name, const char *text, bool sync)
{
    char tmp[LOG_CONSUMER_NAME_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n && (!sync || fdatasync(fd) == 0);
    int saved = errno;
    close(fd);
    if (!ok || renameat(dir_fd, tmp, dir_fd, name) != 0) {
        saved = ok ? errno : saved;
        unlinkat(dir_fd, tmp, 0);
        errno = saved;
        return -1;
    }
    if (sync)
        fsync(dir_fd);
    return 0;
}

static base_err check_format(wal *w, char *err, size_t err_len)
{
    int fd = openat(w->dir_fd, "FORMAT", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            base_set_err(err, err_len, "cannot read %s/FORMAT: %s", w->dir, strerror(errno));
            return BASE_ERR_IO;
        }
        char text[64];
        snprintf(text, sizeof text, "otelprofd-wal %u\n", WAL_FORMAT_VERSION);
        if (write_small_file(w->dir_fd, "FORMAT", text, true) != 0) {
            base_set_err(err, err_len, "cannot write to data dir %s: %s", w->dir, strerror(errno));
            return BASE_ERR_IO;
        }
        return BASE_OK;
    }
    char text[64] = {0};
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    unsigned version = 0;
    if (n <= 0 || sscanf(text, "otelprofd-wal %u", &version) != 1) {
        base_set_err(err, err_len,
                     "data dir %s has a FORMAT file that otelprofd did not write; refusing "
                     "to use it",
                     w->dir);
        return BASE_ERR_INVALID;
    }
    if (version != WAL_FORMAT_VERSION) {
        base_set_err(err, err_len,
                     "data dir %s was written in log format version %u; this otelprofd "
                     "reads version %u only (run the otelprofd that wrote it, or move the "
                     "directory away to start empty)",
                     w->dir, version, WAL_FORMAT_VERSION);
        return BASE_ERR_INVALID;
    }
    return BASE_OK;
}

static base_err take_lock(wal *w, char *err, size_t err_len)
{
    w->lock_fd = openat(w->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (w->lock_fd < 0) {
        base_set_err(err, err_len, "cannot write to data dir %s: %s", w->dir, strerror(errno));
        return BASE_ERR_IO;
    }
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = {0};
        ssize_t n = pread(w->lock_fd, pid, sizeof pid - 1, 0);
        if (n > 0 && pid[n - 1] == '\n')
            pid[n - 1] = '\0';
        base_set_err(err, err_len,
                     "data dir %s is in use by another otelprofd (pid %s); give each process "
                     "its own --data-dir",
                     w->dir, n > 0 ? pid : "unknown");
        return BASE_ERR_UNAVAILABLE;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(w->lock_fd, 0) != 0 || pwrite(w->lock_fd, pid, (size_t)n, 0) != n) {
        base_set_err(err, err_len, "cannot write to data dir %s: %s", w->dir, strerror(errno));
        return BASE_ERR_IO;
    }
    return BASE_OK;
}

static base_err check_seg_header(wal *w, int fd, const char *name, bool *empty, char *err,
                                 size_t err_len)
{
    uint8_t h[WAL_SEG_HDR];
    *empty = false;
    if (!pread_full(fd, h, sizeof h, 0)) {
        *empty = true; /* created, header never fully written */
        return BASE_OK;
    }
    if (memcmp(h, WAL_MAGIC, 8) != 0) {
        base_set_err(err, err_len, "%s/%s is not an otelprofd log segment (bad magic)", w->dir,
                     name);
        return BASE_ERR_INVALID;
    }
    if (get32(h + 8) != WAL_FORMAT_VERSION) {
        base_set_err(err, err_len,
                     "%s/%s was written in log format version %u; this otelprofd reads "
                     "version %u only (run the otelprofd that wrote it, or move the "
                     "directory away to start empty)",
                     w->dir, name, get32(h + 8), WAL_FORMAT_VERSION);
        return BASE_ERR_INVALID;
    }
    return BASE_OK;
}

static base_err write_seg_header(int fd)
{
    uint8_t h[WAL_SEG_HDR];
    memcpy(h, WAL_MAGIC, 8);
    put32(h + 8, WAL_FORMAT_VERSION);
    put32(h + 12, WAL_SEG_HDR);
    return pwrite(fd, h, sizeof h, 0) == (ssize_t)sizeof h ? BASE_OK : BASE_ERR_IO;
}

/* Opens a new active segment starting at w->next_seq, after syncing and closing the old
 * one. Called with w->mu held and no sync running. */
static base_err roll(wal *w, char *err, size_t err_len)
{
    if (w->fd >= 0) {
        if (fdatasync(w->fd) != 0) {
            base_set_err(err, err_len, "cannot sync %s: %s", w->dir, strerror(errno));
            return BASE_ERR_UNAVAILABLE;
        }
        w->syncs++;
        w->synced_seq = w->written_seq;
        close(w->fd);
        w->fd = -1;
        w->bytes_closed += w->active_size;
        w->segs[w->n_segs - 1].mtime_ns = base_now_unix_ns();
    }
    if (w->n_segs >= WAL_MAX_SEGMENTS) {
        base_set_err(err, err_len, "data dir %s holds %u segments; raise --wal-segment-size",
                     w->dir, WAL_MAX_SEGMENTS);
        return BASE_ERR_UNAVAILABLE;
    }
    char name[64];
    seg_name(name, sizeof name, w->next_seq);
    int fd = openat(w->dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || write_seg_header(fd) != BASE_OK || fdatasync(fd) != 0 || fsync(w->dir_fd) != 0) {
        base_set_err(err, err_len, "cannot write %s/%s: %s", w->dir, name, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlinkat(w->dir_fd, name, 0);
        }
        return BASE_ERR_UNAVAILABLE;
    }
    bool same = w->n_segs && w->segs[w->n_segs - 1].first_seq == w->next_seq;
    if (!same && !segs_push(w, w->next_seq, base_now_unix_ns())) {
        close(fd);
        base_set_err(err, err_len, "log: out of memory");
        return BASE_ERR_UNAVAILABLE;
    }
    w->fd = fd;
    w->active_first = w->next_seq;
    w->active_size = WAL_SEG_HDR;
    w->readable_end = WAL_SEG_HDR;
    w->need_roll = false;
    pthread_cond_broadcast(&w->appended_cv);
    return BASE_OK;
}

/* Reads the last segment through, cuts off a damaged tail, and sets next_seq. */
static base_err open_tail(wal *w, char *err, size_t err_len)
{
    wal_seg *last = &w->segs[w->n_segs - 1];
    char name[64];
    seg_name(name, sizeof name, last->first_seq);
    int fd = openat(w->dir_fd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        base_set_err(err, err_len, "cannot open %s/%s for writing: %s", w->dir, name,
                     strerror(errno));
        return BASE_ERR_IO;
    }
    bool empty = false;
    base_err rc = check_seg_header(w, fd, name, &empty, err, err_len);
    if (rc != BASE_OK) {
        close(fd);
        return rc;
    }
    struct stat st;
    fstat(fd, &st);
    uint64_t end = (uint64_t)st.st_size, off = WAL_SEG_HDR, good_end = WAL_SEG_HDR;
    uint64_t last_seq = 0;
    uint8_t *buf = NULL;
    size_t cap = 0;
    if (empty) {
        if (ftruncate(fd, 0) != 0 || write_seg_header(fd) != BASE_OK) {
            base_set_err(err, err_len, "cannot write %s/%s: %s", w->dir, name, strerror(errno));
            close(fd);
            return BASE_ERR_IO;
        }
        end = WAL_SEG_HDR;
    }
    while (off < end) {
        rec_hdr h;
        rd r = read_record(fd, off, end, &h, &buf, &cap);
        if (r == RD_OK) {
            last_seq = h.seq;
            off += rec_total(&h);
            good_end = off;
            continue;
        }
        uint64_t next = resync(fd, off, end, &buf, &cap);
        if (next >= end)
            break;
        w->corrupt++;
        base_log(BASE_LOG_WARN, "log: %s/%s: damaged record at byte %" PRIu64 " skipped", w->dir,
                 name, off);
        off = next;
    }
    free(buf);
    if (good_end < end) {
        base_log(BASE_LOG_WARN,
                 "log: %s/%s: %" PRIu64 " bytes at the end (a torn last write or garbage) "
                 "skipped; everything before them is kept",
                 w->dir, name, end - good_end);
        w->corrupt++;
        if (ftruncate(fd, (off_t)good_end) != 0 || fdatasync(fd) != 0) {
            base_set_err(err, err_len, "cannot write %s/%s: %s", w->dir, name, strerror(errno));
            close(fd);
            return BASE_ERR_IO;
        }
    }
    w->fd = fd;
    w->active_first = last->first_seq;
    w->active_size = good_end;
    w->readable_end = good_end;
    w->next_seq = last_seq ? last_seq + 1 : last->first_seq;
    if (w->next_seq < last->first_seq)
        w->next_seq = last->first_seq;
    w->written_seq = w->synced_seq = w->next_seq - 1;
    w->bytes_closed = 0;
    for (size_t i = 0; i + 1 < w->n_segs; i++) {
        seg_name(name, sizeof name, w->segs[i].first_seq);
        if (fstatat(w->dir_fd, name, &st, 0) == 0)
            w->bytes_closed += (uint64_t)st.st_size;
    }
    return BASE_OK;
}

static base_err list_segments(wal *w, char *err, size_t err_len)
{
    int fd = dup(w->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        base_set_err(err, err_len, "cannot list data dir %s: %s", w->dir, strerror(errno));
        return BASE_ERR_IO;
    }
    struct dirent *de;
    base_err rc = BASE_OK;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n != 24 || strcmp(de->d_name + 20, ".wal") != 0)
            continue;
        char *endp;
        uint64_t seq = strtoull(de->d_name, &endp, 10);
        if (endp != de->d_name + 20 || seq == 0)
            continue;
        if (w->n_segs >= WAL_MAX_SEGMENTS) {
            base_set_err(err, err_len, "data dir %s holds more than %u segments", w->dir,
                         WAL_MAX_SEGMENTS);
            rc = BASE_ERR_INVALID;
            break;
        }
        struct stat st;
        if (fstatat(w->dir_fd, de->d_name, &st, 0) != 0)
            continue;
        if (!segs_push(w, seq, mtime_ns_of(&st))) {
            base_set_err(err, err_len, "log: out of memory");
            rc = BASE_ERR_NOMEM;
            break;
        }
    }
    closedir(d);
    if (rc == BASE_OK && w->n_segs)
        qsort(w->segs, w->n_segs, sizeof *w->segs, cmp_seg);
    /* every segment's header (the version check must refuse before anything is read) */
    for (size_t i = 0; rc == BASE_OK && i + 1 < w->n_segs; i++) {
        char name[64];
        seg_name(name, sizeof name, w->segs[i].first_seq);
        int sfd = openat(w->dir_fd, name, O_RDONLY | O_CLOEXEC);
        if (sfd < 0)
            continue;
        bool empty;
        rc = check_seg_header(w, sfd, name, &empty, err, err_len);
        close(sfd);
    }
    return rc;
}

/* Deletes closed segments whose newest record is older than the retention. Called with
 * w->mu held. */
static void expire_segments(wal *w, int64_t retention_ns)
{
    int64_t cutoff = base_now_unix_ns() - retention_ns;
    size_t drop = 0;
    while (drop + 1 < w->n_segs && w->segs[drop].mtime_ns < cutoff)
        drop++;
    for (size_t i = 0; i < drop; i++) {
        char name[64];
        struct stat st;
        seg_name(name, sizeof name, w->segs[i].first_seq);
        if (fstatat(w->dir_fd, name, &st, 0) == 0 && w->bytes_closed >= (uint64_t)st.st_size)
            w->bytes_closed -= (uint64_t)st.st_size;
        unlinkat(w->dir_fd, name, 0);
        w->segments_deleted++;
    }
    if (drop) {
        memmove(w->segs, w->segs + drop, (w->n_segs - drop) * sizeof *w->segs);
        w->n_segs -= drop;
    }
}

/* One group-commit round: the caller becomes the leader, syncs everything written so far
 * with the lock released, and wakes the waiters. Called with w->mu held, !w->syncing. */
static void lead_sync(wal *w)
{
    w->syncing = true;
    uint64_t target = w->written_seq, end = w->active_size;
    int fd = w->fd;
    pthread_mutex_unlock(&w->mu);
    int r = fd >= 0 ? fdatasync(fd) : -1;
    pthread_mutex_lock(&w->mu);
    w->syncing = false;
    w->syncs++;
    if (r == 0) {
        if (target > w->synced_seq)
            w->synced_seq = target;
        if (fd == w->fd && end > w->readable_end)
            w->readable_end = end;
        pthread_cond_broadcast(&w->appended_cv);
    } else {
        if (target > w->sync_failed_seq)
            w->sync_failed_seq = target;
        w->need_roll = true; /* what the kernel kept of this file is unknown: start anew */
    }
    pthread_cond_broadcast(&w->synced_cv);
}

static void *bg_main(void *arg)
{
    log_store *log = arg;
    wal *w = log->be;
    int64_t period = log->cfg.sync == LOG_SYNC_INTERVAL ? log->cfg.sync_interval_ns : 1000000000;
    if (period > 1000000000)
        period = 1000000000;
    int64_t last_sync = base_now_mono_ns(), last_expire = 0;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + period;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&w->bg_cv, &w->mu, &ts);
        if (w->stop)
            break;
        int64_t now = base_now_mono_ns();
        if (log->cfg.sync == LOG_SYNC_INTERVAL && now - last_sync >= log->cfg.sync_interval_ns) {
            last_sync = now;
            if (!w->syncing && w->written_seq > w->synced_seq && w->fd >= 0)
                lead_sync(w);
        }
        if (now - last_expire >= 1000000000) {
            last_expire = now;
            expire_segments(w, log->cfg.retention_ns);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void wal_free(wal *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* releases the flock */
    if (w->dir_fd >= 0)
        close(w->dir_fd);
    pthread_cond_destroy(&w->synced_cv);
    pthread_cond_destroy(&w->appended_cv);
    pthread_cond_destroy(&w->bg_cv);
    pthread_mutex_destroy(&w->mu);
    free(w->segs);
    free(w->dir);
    free(w);
}

static base_err wal_open(log_store *log, char *err, size_t err_len)
{
    wal *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(log->cfg.data_dir))) {
        free(w);
        base_set_err(err, err_len, "log: out of memory");
        return BASE_ERR_NOMEM;
    }
    w->fd = w->lock_fd = w->dir_fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->synced_cv, &ca);
    pthread_cond_init(&w->appended_cv, &ca);
    pthread_cond_init(&w->bg_cv, &ca);
    pthread_condattr_destroy(&ca);
    base_err rc = mkdir_p(w->dir, err, err_len);
    if (rc != BASE_OK)
        goto fail;
    w->dir_fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dir_fd < 0) {
        base_set_err(err, err_len, "cannot open data dir %s: %s", w->dir, strerror(errno));
        rc = BASE_ERR_IO;
        goto fail;
    }
    if ((rc = take_lock(w, err, err_len)) != BASE_OK || (rc = check_format(w, err, err_len)) ||
        (rc = list_segments(w, err, err_len)))
        goto fail;
    if (mkdirat(w->dir_fd, "cursors", 0750) != 0 && errno != EEXIST) {
        base_set_err(err, err_len, "cannot write to data dir %s: %s", w->dir, strerror(errno));
        rc = BASE_ERR_IO;
        goto fail;
    }
    if (w->n_segs) {
        if ((rc = open_tail(w, err, err_len)) != BASE_OK)
            goto fail;
    } else {
        w->next_seq = 1;
        if ((rc = roll(w, err, err_len)) != BASE_OK)
            goto fail;
    }
    expire_segments(w, log->cfg.retention_ns);
    log->be = w;
    if (pthread_create(&w->bg, NULL, bg_main, log) != 0) {
        base_set_err(err, err_len, "log: cannot start a thread");
        rc = BASE_ERR_NOMEM;
        log->be = NULL;
        goto fail;
    }
    w->bg_started = true;
    return BASE_OK;
fail:
    wal_free(w);
    return rc ? rc : BASE_ERR_IO;
}

static void wal_close(log_store *log)
{
    wal *w = log->be;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->bg_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->bg_started)
        pthread_join(w->bg, NULL);
    if (w->fd >= 0 && fdatasync(w->fd) != 0)
        base_log(BASE_LOG_WARN, "log: cannot sync %s at exit: %s", w->dir, strerror(errno));
    wal_free(w);
}

static base_err wal_append_begin(log_store *log, const log_entry *e, uint64_t *seq, char *err,
                                 size_t err_len)
{
    wal *w = log->be;
    const char *key = e->key ? e->key : "";
    size_t key_len = strnlen(key, LOG_KEY_MAX - 1);
    uint8_t hb[WAL_REC_HDR];
    uint64_t total = WAL_REC_HDR + key_len + e->len;

    pthread_mutex_lock(&w->mu);
    /* a new segment when there is none (after a failure), when the current one may be
     * damaged, or when this record would pass the size; never while a sync runs on the
     * current one (its descriptor would be closed under it), and the condition is checked
     * again after every wait: another appender may have rolled meanwhile */
    while (w->fd < 0 || w->need_roll ||
           (w->active_size > WAL_SEG_HDR && w->active_size + total > log->cfg.segment_bytes)) {
        if (w->syncing) {
            pthread_cond_wait(&w->synced_cv, &w->mu);
            continue;
        }
        base_err rc = roll(w, err, err_len);
        if (rc != BASE_OK) {
            pthread_mutex_unlock(&w->mu);
            return rc;
        }
        break;
    }
    uint64_t s = w->next_seq;
    put32(hb, WAL_MARKER);
    put32(hb + 4, (uint32_t)e->len);
    put32(hb + 8, (uint32_t)key_len);
    put64(hb + 16, s);
    put64(hb + 24, (uint64_t)e->recv_unix_ns);
    put32(hb + 12, record_crc(hb, (const uint8_t *)key, key_len, e->data, e->len));
    struct iovec iov[3] = {{hb, sizeof hb}, {(void *)key, key_len}, {(void *)e->data, e->len}};
    uint64_t off = w->active_size;
    uint64_t done = 0;
    int idx = 0;
    while (done < total) {
        ssize_t r = pwritev(w->fd, iov + idx, 3 - idx, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int saved = r < 0 ? errno : ENOSPC;
            /* nothing of a half-written record may stay behind the last good one */
            if (ftruncate(w->fd, (off_t)off) != 0)
                w->need_roll = true;
            char name[64];
            seg_name(name, sizeof name, w->active_first);
            base_set_err(err, err_len, "cannot write %s/%s: %s", w->dir, name, strerror(saved));
            pthread_mutex_unlock(&w->mu);
            return BASE_ERR_UNAVAILABLE;
        }
        done += (uint64_t)r;
        size_t left = (size_t)r;
        while (idx < 3 && left >= iov[idx].iov_len) {
            left -= iov[idx].iov_len;
            idx++;
        }
        if (idx < 3) {
            iov[idx].iov_base = (uint8_t *)iov[idx].iov_base + left;
            iov[idx].iov_len -= left;
        }
    }
    w->active_size += total;
    w->next_seq = s + 1;
    w->written_seq = s;
    if (!w->oldest_ns)
        w->oldest_ns = e->recv_unix_ns;
    *seq = s;
    if (log->cfg.sync != LOG_SYNC_ALWAYS) { /* readable now; with always, once synced */
        w->readable_end = w->active_size;
        pthread_cond_broadcast(&w->appended_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return BASE_OK;
}

/* Waits until an fdatasync covers record `s` (--wal-sync always; a no-op otherwise): the
 * first waiter becomes the leader and syncs for everyone written so far (group commit). */
static base_err wal_append_end(log_store *log, uint64_t s, char *err, size_t err_len)
{
    wal *w = log->be;
    if (log->cfg.sync != LOG_SYNC_ALWAYS)
        return BASE_OK;
    pthread_mutex_lock(&w->mu);
    while (w->synced_seq < s) {
        if (w->sync_failed_seq >= s) {
            base_set_err(err, err_len, "cannot sync %s: fdatasync failed", w->dir);
            pthread_mutex_unlock(&w->mu);
            return BASE_ERR_UNAVAILABLE;
        }
        if (!w->syncing)
            lead_sync(w);
        else
            pthread_cond_wait(&w->synced_cv, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return BASE_OK;
}

static base_err wal_append(log_store *log, const log_entry *e, uint64_t *seq, char *err,
                           size_t err_len)
{
    base_err rc = wal_append_begin(log, e, seq, err, err_len);
    return rc == BASE_OK ? wal_append_end(log, *seq, err, err_len) : rc;
}

/* ---- consumers ---------------------------------------------------------------------- */

static void cursor_name(char *out, size_t n, const char *consumer)
{
    snprintf(out, n, "cursors/%s", consumer);
}

static bool read_cursor(wal *w, const char *consumer, uint64_t *seq)
{
    char name[LOG_CONSUMER_NAME_MAX + 16], text[32] = {0};
    cursor_name(name, sizeof name, consumer);
    int fd = openat(w->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    char *end;
    if (n <= 0)
        return false;
    *seq = strtoull(text, &end, 10);
    return end != text;
}

static base_err wal_consumer_open(log_consumer *c, const log_position *pos, char *err,
                                  size_t err_len)
{
    wal *w = c->log->be;
    wal_consumer *wc = calloc(1, sizeof *wc);
    if (!wc) {
        base_set_err(err, err_len, "log: out of memory");
        return BASE_ERR_NOMEM;
    }
    wc->fd = -1;
    log_position p = *pos;
    if (p.from == LOG_FROM_CURSOR) {
        uint64_t s;
        if (read_cursor(w, c->name, &s)) {
            p.from = LOG_FROM_SEQ;
            p.seq = s + 1;
            wc->committed = s;
        } else {
            p.from = LOG_FROM_TIME;
        }
    }
    pthread_mutex_lock(&w->mu);
    size_t i = 0;
    switch (p.from) {
    case LOG_FROM_SEQ:
        while (i + 1 < w->n_segs && w->segs[i + 1].first_seq <= p.seq)
            i++;
        wc->skip_below_seq = p.seq;
        wc->next_seq = p.seq;
        if (!wc->committed && p.seq)
            wc->committed = p.seq - 1;
        break;
    case LOG_FROM_END:
        i = w->n_segs - 1;
        wc->skip_below_seq = w->next_seq;
        wc->next_seq = w->next_seq;
        wc->committed = w->next_seq - 1;
        break;
    default:
        while (i + 1 < w->n_segs && w->segs[i].mtime_ns < p.time_unix_ns)
            i++;
        wc->skip_before_ns = p.time_unix_ns;
        break;
    }
    wc->seg_first = w->segs[i].first_seq;
    wc->off = WAL_SEG_HDR;
    if (p.from == LOG_FROM_END && w->active_first == wc->seg_first)
        wc->off = w->readable_end;
    pthread_mutex_unlock(&w->mu);
    c->be = wc;
    return BASE_OK;
}

static base_err wal_consumer_next(log_consumer *c, int64_t timeout_ns, log_record *rec, char *err,
                                  size_t err_len)
{
    wal *w = c->log->be;
    wal_consumer *wc = c->be;
    struct timespec deadline = log__deadline(timeout_ns);
    for (;;) {
        pthread_mutex_lock(&w->mu);
        bool active = wc->seg_first == w->active_first;
        uint64_t end = active ? w->readable_end : 0, next_seg = 0;
        if (!active) {
            for (size_t i = 0; i < w->n_segs; i++)
                if (w->segs[i].first_seq > wc->seg_first) {
                    next_seg = w->segs[i].first_seq;
                    break;
                }
            if (!next_seg) /* our segment is newer than all (cannot happen) or gone */
                next_seg = w->active_first;
        }
        if (active && wc->off >= end) {
            if (wc->woken || timeout_ns == 0) {
                wc->woken = false;
                pthread_mutex_unlock(&w->mu);
                return BASE_ERR_NOT_FOUND;
            }
            int r = timeout_ns < 0 ? pthread_cond_wait(&w->appended_cv, &w->mu)
                                   : pthread_cond_timedwait(&w->appended_cv, &w->mu, &deadline);
            pthread_mutex_unlock(&w->mu);
            if (r == ETIMEDOUT)
                return BASE_ERR_NOT_FOUND;
            continue;
        }
        pthread_mutex_unlock(&w->mu);

        if (wc->fd < 0) {
            char name[64];
            seg_name(name, sizeof name, wc->seg_first);
            wc->fd = openat(w->dir_fd, name, O_RDONLY | O_CLOEXEC);
            if (wc->fd < 0) {
                if (errno == ENOENT && !active) { /* deleted by retention: the next one */
                    wc->seg_first = next_seg;
                    wc->off = WAL_SEG_HDR;
                    continue;
                }
                base_set_err(err, err_len, "cannot read %s/%s: %s", w->dir, name, strerror(errno));
                return BASE_ERR_IO;
            }
        }
        if (!active) {
            struct stat st;
            if (fstat(wc->fd, &st) != 0) {
                base_set_err(err, err_len, "cannot read %s: %s", w->dir, strerror(errno));
                return BASE_ERR_IO;
            }
            end = (uint64_t)st.st_size;
            if (wc->off >= end) {
                close(wc->fd);
                wc->fd = -1;
                wc->seg_first = next_seg;
                wc->off = WAL_SEG_HDR;
                continue;
            }
        }
        rec_hdr h;
        rd r = read_record(wc->fd, wc->off, end, &h, &wc->buf, &wc->cap);
        if (r != RD_OK) {
            /* damaged (or, in a closed segment, cut short): skip to the next good record */
            uint64_t next = resync(wc->fd, wc->off, end, &wc->buf, &wc->cap);
            base_log(BASE_LOG_WARN,
                     "log: consumer %s: damaged record in %s at byte %" PRIu64 " skipped", c->name,
                     w->dir, wc->off);
            wc->off = next;
            if (r == RD_BAD || next < end) {
                pthread_mutex_lock(&w->mu);
                w->corrupt++;
                pthread_mutex_unlock(&w->mu);
            }
            continue;
        }
        wc->off += rec_total(&h);
        if (h.seq < wc->skip_below_seq || h.recv_ns < wc->skip_before_ns)
            continue;
        /* lost and pending_recv_ns are read by wal_consumer_stats from other threads */
        pthread_mutex_lock(&w->mu);
        if (wc->next_seq && h.seq > wc->next_seq)
            wc->lost += h.seq - wc->next_seq;
        if (!wc->pending_recv_ns)
            wc->pending_recv_ns = h.recv_ns;
        pthread_mutex_unlock(&w->mu);
        wc->next_seq = h.seq + 1;
        /* buf holds key then payload */
        memcpy(wc->key, wc->buf, h.key_len);
        wc->key[h.key_len] = '\0';
        rec->seq = h.seq;
        rec->recv_unix_ns = h.recv_ns;
        rec->data = wc->buf + h.key_len;
        rec->len = h.len;
        rec->key = wc->key;
        return BASE_OK;
    }
}

static base_err wal_consumer_commit(log_consumer *c, uint64_t seq, char *err, size_t err_len)
{
    wal *w = c->log->be;
    wal_consumer *wc = c->be;
    if (seq <= wc->committed)
        return BASE_OK;
    char name[LOG_CONSUMER_NAME_MAX + 16], text[32];
    cursor_name(name, sizeof name, c->name);
    snprintf(text, sizeof text, "%" PRIu64 "\n", seq);
    /* not synced: a cursor lost in a power cut only means records are sent again
     * (at-least-once); syncing it per commit would double the forwarders' fsyncs */
    if (write_small_file(w->dir_fd, name, text, false) != 0) {
        base_set_err(err, err_len, "cannot write %s/%s: %s", w->dir, name, strerror(errno));
        return BASE_ERR_UNAVAILABLE;
    }
    pthread_mutex_lock(&w->mu);
    wc->committed = seq;
    wc->committed_recv_ns = wc->pending_recv_ns;
    wc->pending_recv_ns = 0;
    pthread_mutex_unlock(&w->mu);
    return BASE_OK;
}

static void wal_consumer_wake(log_consumer *c)
{
    wal *w = c->log->be;
    wal_consumer *wc = c->be;
    pthread_mutex_lock(&w->mu);
    wc->woken = true;
    pthread_cond_broadcast(&w->appended_cv);
    pthread_mutex_unlock(&w->mu);
}

static void wal_consumer_close(log_consumer *c)
{
    wal_consumer *wc = c->be;
    if (wc->fd >= 0)
        close(wc->fd);
    free(wc->buf);
    free(wc);
}

static void wal_consumer_stats(log_consumer *c, log_consumer_stats *out)
{
    wal *w = c->log->be;
    wal_consumer *wc = c->be;
    pthread_mutex_lock(&w->mu);
    out->committed_seq = wc->committed;
    out->lost = wc->lost;
    uint64_t last = w->written_seq;
    out->backlog_records = last > wc->committed ? last - wc->committed : 0;
    if (out->backlog_records) {
        /* from the read position on: exact within the active segment, else an upper
         * bound (the closed segments' sizes are summed, not tracked one by one) */
        bool on_active = wc->seg_first == w->active_first && wc->off <= w->active_size;
        out->backlog_bytes =
            on_active ? w->active_size - wc->off : w->bytes_closed + w->active_size;
        int64_t since = wc->pending_recv_ns ? wc->pending_recv_ns : wc->committed_recv_ns;
        out->lag_ns = since ? base_now_unix_ns() - since : 0;
        if (out->lag_ns < 0)
            out->lag_ns = 0;
    }
    pthread_mutex_unlock(&w->mu);
}

static void wal_stats(log_store *log, log_stats *out)
{
    wal *w = log->be;
    pthread_mutex_lock(&w->mu);
    out->last_seq = w->written_seq;
    out->bytes_held = w->bytes_closed + w->active_size;
    out->records_held = w->n_segs ? w->written_seq + 1 - w->segs[0].first_seq : 0;
    out->oldest_unix_ns = w->oldest_ns;
    out->syncs = w->syncs;
    out->segments = w->n_segs;
    out->segments_deleted = w->segments_deleted;
    out->corrupt_records = w->corrupt;
    pthread_mutex_unlock(&w->mu);
}

const log__ops log__wal_ops = {
    .name = "wal",
    .open = wal_open,
    .close = wal_close,
    .append = wal_append,
    .append_begin = wal_append_begin,
    .append_end = wal_append_end,
    .consumer_open = wal_consumer_open,
    .consumer_next = wal_consumer_next,
    .consumer_commit = wal_consumer_commit,
    .consumer_wake = wal_consumer_wake,
    .consumer_close = wal_consumer_close,
    .consumer_stats = wal_consumer_stats,
    .stats = wal_stats,
};
