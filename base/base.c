/* base/base.c — arena, error table, logging, time and size parsing (see base.h). */
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const err_messages[BASE_ERR_COUNT] = {
    [BASE_OK] = "ok",
    [BASE_ERR_NOMEM] = "out of memory",
    [BASE_ERR_DECODE] = "message does not decode",
    [BASE_ERR_INVALID] = "message breaks a rule of the OTLP profiles specification",
    [BASE_ERR_TOO_LARGE] = "message is larger than --max-message-size",
    [BASE_ERR_UNSUPPORTED] = "unsupported content type or encoding",
    [BASE_ERR_NOT_FOUND] = "not found",
    [BASE_ERR_BAD_ARGUMENT] = "bad argument",
    [BASE_ERR_IO] = "input/output error",
    [BASE_ERR_UNAVAILABLE] = "cannot be kept now; retry later",
};

const char *base_err_str(base_err err)
{
    if ((unsigned)err >= BASE_ERR_COUNT)
        return "unknown error";
    return err_messages[err];
}

/* ---- arena ---- */

struct base_arena_block {
    struct base_arena_block *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    _Alignas(16) unsigned char data[];
};

void base_arena_init(base_arena *arena, size_t first_block_size, size_t cap)
{
    memset(arena, 0, sizeof *arena);
    arena->first_block_size = first_block_size ? first_block_size : 16384;
    arena->cap = cap;
}

void *base_arena_alloc(base_arena *arena, size_t size)
{
    size_t aligned = (size + 15u) & ~(size_t)15u;
    if (aligned < size)
        return NULL;
    struct base_arena_block *b = arena->head;
    if (!b || b->size - b->used < aligned) {
        size_t want = arena->head ? arena->head->size * 2 : arena->first_block_size;
        if (want > (size_t)64 << 20)
            want = (size_t)64 << 20; /* grow geometrically, but never in >64 MiB steps */
        if (want < aligned)
            want = aligned;
        /* a block kept by reset first: no malloc, and its pages are already mapped */
        struct base_arena_block **sp = &arena->spare;
        while (*sp &&
               ((*sp)->size < aligned ||
                (arena->cap &&
                 arena->used_total + sizeof(struct base_arena_block) + (*sp)->size > arena->cap)))
            sp = &(*sp)->next;
        size_t total;
        if (*sp) {
            b = *sp;
            *sp = b->next;
            total = sizeof(struct base_arena_block) + b->size;
        } else {
            total = sizeof(struct base_arena_block) + want;
            if (arena->cap && arena->used_total + total > arena->cap) {
                /* try an exact-size block before giving up */
                want = aligned;
                total = sizeof(struct base_arena_block) + want;
                if (arena->used_total + total > arena->cap)
                    return NULL;
            }
            b = malloc(total);
            if (!b)
                return NULL;
            b->size = want;
        }
        b->used = 0;
        b->next = arena->head;
        arena->head = b;
        arena->used_total += total;
    }
    void *p = b->data + b->used;
    b->used += aligned;
    return p;
}

void *base_arena_calloc(base_arena *arena, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = base_arena_alloc(arena, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *base_arena_strndup(base_arena *arena, const char *s, size_t len)
{
    char *p = base_arena_alloc(arena, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *base_arena_printf(base_arena *arena, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = base_arena_alloc(arena, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void base_arena_set_retain(base_arena *arena, size_t bytes)
{
    arena->retain = bytes;
}

size_t base_arena_spare_bytes(const base_arena *arena, size_t *blocks)
{
    size_t bytes = 0, n = 0;
    for (const struct base_arena_block *s = arena->spare; s; s = s->next, n++)
        bytes += s->size;
    if (blocks)
        *blocks = n;
    return bytes;
}

void base_arena_reset(base_arena *arena)
{
    /* Blocks were chained newest first and grow geometrically, so walking from the head
     * meets the largest first: keep those while the budget lasts. */
    size_t budget =
        arena->retain > arena->first_block_size ? arena->retain : arena->first_block_size;
    size_t kept = base_arena_spare_bytes(arena, NULL);
    struct base_arena_block *b = arena->head;
    while (b) {
        struct base_arena_block *next = b->next;
        if (kept + b->size <= budget) {
            kept += b->size;
            b->used = 0;
            b->next = arena->spare;
            arena->spare = b;
        } else {
            free(b);
        }
        b = next;
    }
    arena->head = NULL;
    arena->used_total = 0;
}

void base_arena_free(base_arena *arena)
{
    struct base_arena_block *lists[2] = {arena->head, arena->spare};
    for (int i = 0; i < 2; i++) {
        struct base_arena_block *b = lists[i];
        while (b) {
            struct base_arena_block *next = b->next;
            free(b);
            b = next;
        }
    }
    arena->head = NULL;
    arena->spare = NULL;
    arena->used_total = 0;
}

/* ---- logging ---- */

base_log_level base_log_threshold = BASE_LOG_INFO;

void base_log(base_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    if (level < base_log_threshold)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "otelprofd: %s: %s\n", names[level], line);
}

/* ---- time ---- */

int64_t base_now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t base_now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- parsing ---- */

static int parse_number_with_suffix(const char *text, double *num, const char **suffix)
{
    if (!text || !*text)
        return -1;
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || errno || v < 0)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    *num = v;
    *suffix = end;
    return 0;
}

int base_parse_size(const char *text, uint64_t *out_bytes)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"", 1},       {"B", 1},         {"KB", 1e3},         {"MB", 1e6},
        {"GB", 1e9},   {"KiB", 1024.0},  {"MiB", 1048576.0},  {"GiB", 1073741824.0},
        {"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0},
    };
    double v;
    const char *suffix;
    if (parse_number_with_suffix(text, &v, &suffix))
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(suffix, units[i].suffix) == 0) {
            double bytes = v * units[i].mult;
            if (bytes > 9.0e18)
                return -1;
            *out_bytes = (uint64_t)bytes;
            return 0;
        }
    }
    return -1;
}

int base_parse_duration(const char *text, int64_t *out_ns)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"", 1e9},  {"ns", 1},   {"us", 1e3},   {"ms", 1e6},
        {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9},
    };
    double v;
    const char *suffix;
    if (parse_number_with_suffix(text, &v, &suffix))
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(suffix, units[i].suffix) == 0) {
            double ns = v * units[i].mult;
            if (ns > 9.0e18)
                return -1;
            *out_ns = (int64_t)ns;
            return 0;
        }
    }
    return -1;
}

/* ---- allocation failures behind libraries that only say "failed" ---------------- */

static _Thread_local bool alloc_failed;

void *base_hook_malloc(size_t size)
{
    void *p = malloc(size);
    if (!p)
        alloc_failed = true;
    return p;
}

void base_alloc_failed_reset(void)
{
    alloc_failed = false;
}

bool base_alloc_failed(void)
{
    return alloc_failed;
}

void base_alloc_failed_note(void)
{
    alloc_failed = true;
}

void base_format_duration(char *out, size_t out_len, int64_t ns)
{
    if (!out || !out_len)
        return;
    if (ns <= 0) {
        snprintf(out, out_len, "0s");
        return;
    }
    if (ns % 1000000000 != 0) {
        if (ns % 1000000 == 0)
            snprintf(out, out_len, "%lldms", (long long)(ns / 1000000));
        else
            snprintf(out, out_len, "%.3fs", (double)ns / 1e9);
        return;
    }
    int64_t s = ns / 1000000000;
    int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    size_t used = 0;
    out[0] = '\0';
    /* snprintf returns what it would have written: stop once the buffer is full */
    if (d && used < out_len)
        used += (size_t)snprintf(out + used, out_len - used, "%lldd", (long long)d);
    if (h && used < out_len)
        used += (size_t)snprintf(out + used, out_len - used, "%lldh", (long long)h);
    if (m && used < out_len)
        used += (size_t)snprintf(out + used, out_len - used, "%lldm", (long long)m);
    if (sec && used < out_len)
        snprintf(out + used, out_len - used, "%llds", (long long)sec);
}

void base_format_size(char *out, size_t out_len, uint64_t bytes)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}};
    if (!out || !out_len)
        return;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        uint64_t unit = (uint64_t)1 << units[i].shift;
        if (bytes >= unit && bytes % unit == 0) {
            snprintf(out, out_len, "%llu%s", (unsigned long long)(bytes / unit), units[i].suffix);
            return;
        }
    }
    snprintf(out, out_len, "%llu bytes", (unsigned long long)bytes);
}

/* ---- growable arrays -------------------------------------------------------------- */

bool base_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t nc = *cap ? (uint64_t)*cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    if (nc > UINT32_MAX / 2 || elem > SIZE_MAX / nc)
        return false;
    void *q = realloc(*arr, (size_t)nc * elem);
    if (!q)
        return false;
    *arr = q;
    *cap = (uint32_t)nc;
    return true;
}

/* ---- base_buf ----------------------------------------------------------------- */

static bool buf_reserve(base_buf *b, size_t extra)
{
    if (b->err != BASE_OK)
        return false;
    size_t max = b->max ? b->max : BASE_BUF_DEFAULT_MAX;
    if (extra >= max || b->len + extra + 1 > max) {
        b->err = BASE_ERR_TOO_LARGE;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t ncap = b->cap ? b->cap : 1024;
    while (ncap < need)
        ncap *= 2; /* need <= max <= SIZE_MAX / 2 in practice: no overflow */
    if (ncap > max)
        ncap = max;
    char *np = realloc(b->p, ncap);
    if (!np) {
        b->err = BASE_ERR_NOMEM;
        return false;
    }
    b->p = np;
    b->cap = ncap;
    return true;
}

bool base_buf_append(base_buf *b, const void *data, size_t len)
{
    if (!buf_reserve(b, len))
        return false;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return true;
}

bool base_buf_vprintf(base_buf *b, const char *fmt, va_list ap)
{
    if (b->err != BASE_OK)
        return false;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) {
        b->err = BASE_ERR_INVALID; /* an encoding error: nothing to retry */
    } else if (buf_reserve(b, (size_t)n)) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
    return b->err == BASE_OK;
}

bool base_buf_printf(base_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = base_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return ok;
}

char *base_buf_take(base_buf *b)
{
    char *p = b->err == BASE_OK ? b->p : NULL;
    if (!p)
        free(b->p);
    *b = (base_buf){.max = b->max};
    return p;
}

void base_buf_free(base_buf *b)
{
    free(b->p);
    *b = (base_buf){.max = b->max};
}
