/* base/base.h — small foundations every otelprofd module shares.
 *
 * Purpose: the per-request arena (bump allocator; translate/ adapts it for protobuf-c,
 * so base/ links no protobuf code), the project's single error enum with its message table,
 * logging to stderr, saturating int64 sums, bounded user regexes (PCRE2), monotonic/real
 * time helpers and size/duration parsing for the CLI.
 *
 * Thread-safety: an arena belongs to one thread at a time (no locking). A compiled
 * base_regex may be matched from many threads at once (the PCRE2 match data, which must
 * not be shared, is made per call). Everything else here is stateless or uses only
 * thread-safe libc calls; the log level is a plain global set once at start-up before
 * threads exist.
 *
 * Ownership: memory handed out by an arena is valid until base_arena_reset() or
 * base_arena_free() of that arena; it is never freed piecemeal. Strings returned by
 * base_err_str() are static. A base_regex belongs to its caller (base_regex_free).
 */
#ifndef OTELPROFD_BASE_H
#define OTELPROFD_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ------------------------------------------------------------------ */

typedef enum base_err {
    BASE_OK = 0,
    BASE_ERR_NOMEM,        /* an allocation or an arena cap failed */
    BASE_ERR_DECODE,       /* bytes do not decode as the expected message */
    BASE_ERR_INVALID,      /* decoded, but breaks a rule of the spec */
    BASE_ERR_TOO_LARGE,    /* over --max-message-size (after decompression) */
    BASE_ERR_UNSUPPORTED,  /* content type / encoding we do not speak */
    BASE_ERR_NOT_FOUND,    /* no such resource or endpoint */
    BASE_ERR_BAD_ARGUMENT, /* a caller-supplied argument (CLI, query) is malformed */
    BASE_ERR_IO,           /* socket / file failure */
    BASE_ERR_UNAVAILABLE,  /* cannot be kept now (log full or unwritable, cluster without
                              quorum): nothing was acknowledged, the sender should retry */
    BASE_ERR_COUNT
} base_err;

/* Static, human-readable description of an error code. */
const char *base_err_str(base_err err);

/* ---- arena ------------------------------------------------------------------- */

/* A bump allocator made of chained blocks. Allocations are 16-byte aligned. `cap` bounds
 * the total bytes the arena may hold (0 = unbounded); an allocation that would pass it
 * fails with NULL, which is how a hostile length can never grow memory past the request's
 * budget. */
typedef struct base_arena {
    struct base_arena_block *head; /* current block (newest first) */
    size_t used_total;             /* bytes handed out + block headers, for accounting */
    size_t cap;                    /* 0 = no cap */
    size_t first_block_size;
    struct base_arena_block *spare; /* blocks kept by reset for the next request */
    size_t retain;                  /* bytes of blocks reset may keep; see set_retain */
} base_arena;

/* Initialises an empty arena; no memory is taken until the first allocation. */
void base_arena_init(base_arena *arena, size_t first_block_size, size_t cap);
/* Returns `size` bytes (16-byte aligned) or NULL when out of memory or over the cap. */
void *base_arena_alloc(base_arena *arena, size_t size);
/* Like base_arena_alloc, zero-filled; checks n*size for overflow. */
void *base_arena_calloc(base_arena *arena, size_t n, size_t size);
/* Copies `len` bytes of `s` and a terminating NUL into the arena. */
char *base_arena_strndup(base_arena *arena, const char *s, size_t len);
char *base_arena_printf(base_arena *arena, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Forgets every allocation. Blocks are kept for reuse, largest first, up to the arena's
 * retain budget (by default just the first block); the rest are freed. */
void base_arena_reset(base_arena *arena);
/* Lets reset keep up to `bytes` of blocks. A long-lived per-thread arena that decodes
 * megabyte requests would otherwise hand its big blocks back to malloc after every request,
 * and glibc returns blocks that large to the kernel (mmap/munmap), so the next request pays
 * for page faults on fresh memory again (measured: ~15% of a 16 MB request's time). Kept
 * blocks do not count against `cap` until a request uses them. */
void base_arena_set_retain(base_arena *arena, size_t bytes);
/* Bytes (and, if `blocks` is not NULL, the number) of blocks kept by reset, not in use. */
size_t base_arena_spare_bytes(const base_arena *arena, size_t *blocks);
/* Releases all blocks; the arena may be re-initialised afterwards. */
void base_arena_free(base_arena *arena);

/* ---- logging ----------------------------------------------------------------- */

typedef enum base_log_level {
    BASE_LOG_DEBUG,
    BASE_LOG_INFO,
    BASE_LOG_WARN,
    BASE_LOG_ERROR
} base_log_level;
extern base_log_level base_log_threshold;
/* Writes one line "otelprofd: LEVEL: message" to stderr (never stdout: stdout may carry MCP). */
void base_log(base_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- errors as text ----------------------------------------------------------- */

/* The one size of a reason buffer: every `char err[...]` a caller hands a module is
 * BASE_ERR_LEN bytes (a reason quotes at most a selector or a regex, capped well below). */
#define BASE_ERR_LEN 512

/* vsnprintf into `err` when it is non-NULL and non-empty (the usual "reason" out-param). */
void base_set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An error's kind with its reason, for module boundaries whose callers must tell the
 * kinds apart (NOMEM -> retry / 503, BAD_ARGUMENT -> the request's fault) without reading
 * the text. The first error wins, like curl's CURLOPT_ERRORBUFFER: what fails first is the
 * cause, later failures on the way out are its consequences and do not overwrite it. */
typedef struct base_errbuf {
    base_err kind;           /* BASE_OK until an error is set */
    char text[BASE_ERR_LEN]; /* its reason; "" until then */
} base_errbuf;

/* Empties `eb` (NULL is fine): kind BASE_OK, text "". */
void base_errbuf_clear(base_errbuf *eb);
/* Records kind and reason unless `eb` already holds an error (or is NULL). Returns `kind`,
 * so that `return base_errbuf_set(eb, BASE_ERR_NOMEM, "...");` reads as one step. */
base_err base_errbuf_set(base_errbuf *eb, base_err kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- allocation failures behind libraries that only say "failed" ---------------- */

/* cJSON reports a failed allocation exactly as it reports malformed text (NULL), so a
 * server would answer "parse error" when it was out of memory. The modules that parse JSON
 * install base_hook_malloc as cJSON's malloc (cJSON_InitHooks); it records a failure in a
 * thread-local flag: base_alloc_failed_reset() before the call, base_alloc_failed() after
 * tells out-of-memory from bad input. Thread-safe (the flag is per thread). */
void *base_hook_malloc(size_t size);
void base_alloc_failed_reset(void);
bool base_alloc_failed(void);
/* Sets the flag. The contract across modules: code that fails (or degrades an answer) for
 * want of memory behind an interface that only returns NULL and a message notes it here
 * (base_regex_compile, the selector parser, query/, tools/' text buffers); a request
 * handler resets the flag before and checks it after, and answers "out of memory" instead
 * of whatever partial or misleading answer was built (the JSON-RPC dispatcher does). */
void base_alloc_failed_note(void);

/* ---- user-supplied regular expressions --------------------------------------- */

/* Regexes users write (selector matchers =~ and !~, the table filter) in RE2/Go syntax, as
 * in Prometheus, run on PCRE2 with every cost bounded: the pattern's length and nesting at
 * compile time, and each match by PCRE2's match (backtracking steps), depth and heap limits,
 * so no pattern can recurse, allocate or spin without end on any subject. Back-references
 * (\1, \k<name>, (?P=name), ...) are refused: RE2 has none, and they are what sent glibc's
 * regexec into unbounded recursion. "." also matches "\n", "$" is the end of the text,
 * \d \w \s are ASCII, "\C" is refused; in a subject, a byte that does not start valid
 * UTF-8 reads as U+FFFD (as in Go). A pattern must be valid UTF-8.
 * A compiled base_regex is immutable: any number of threads may match it at once (each
 * match makes its own PCRE2 match data, which is what must not be shared). The caller owns
 * it and frees it with base_regex_free. */
typedef struct base_regex base_regex;

#define BASE_REGEX_MAX_LEN        1024    /* bytes of pattern */
#define BASE_REGEX_MAX_NEST       32      /* nested parentheses */
#define BASE_REGEX_MATCH_LIMIT    100000u /* backtracking steps per match (~1 ms) */
#define BASE_REGEX_DEPTH_LIMIT    50000u  /* nested backtracking frames per match */
#define BASE_REGEX_HEAP_LIMIT_KIB 8192u   /* backtracking memory per match */

/* The text a match that hit a limit (base_regex_match() == -1) should report. */
#define BASE_REGEX_TOO_EXPENSIVE                                                                   \
    "regex too expensive: matching it hit the backtracking limit or the query's 2 s regex "        \
    "budget; simplify it (no nested repeats such as (a+)+ or (a|a)*)"

enum {
    /* the whole subject must match, as Prometheus anchors matchers; otherwise the pattern
     * may match anywhere in it (a search) */
    BASE_REGEX_ANCHORED = 1u << 0,
};

/* Compiles `pattern` (borrowed, NUL-terminated) with BASE_REGEX_* `flags`. Returns NULL with
 * why in `err` ("missing closing parenthesis at offset 3", "back-references ... are not
 * supported", "regex longer than 1024 bytes") when it is refused or memory runs out. */
base_regex *base_regex_compile(const char *pattern, unsigned flags, char *err, size_t err_len);
/* Matches `len` bytes of `subject` (borrowed; NULL = ""). Returns 1 on a match, 0 on none,
 * and -1 when the match hit a limit (or memory ran out): an error to report with
 * BASE_REGEX_TOO_EXPENSIVE, never to be taken as "no match". */
int base_regex_match(const base_regex *re, const char *subject, size_t len);
void base_regex_free(base_regex *re); /* NULL is a no-op */

/* The limits above bound one match. A query matches its regexes against every series and
 * label set while it holds the store's read lock (which ingest waits for), so a pattern
 * just under the limits, matched against 100,000 values, could still hold the store for
 * minutes. A budget bounds that: the regexes of one query draw on one budget, each match
 * takes its time from it, and once it is spent every further match answers -1 (reported
 * as BASE_REGEX_TOO_EXPENSIVE). Thread-safe (atomic). */
#define BASE_REGEX_QUERY_BUDGET_NS 2000000000LL /* 2 s of matching per query */
typedef struct base_regex_budget {
    _Atomic int64_t left_ns;
} base_regex_budget;
void base_regex_budget_init(base_regex_budget *b, int64_t ns);
/* Makes `re` draw on `b` from now on (borrowed: `b` must outlive every match of `re`);
 * NULL detaches it. Set before `re` is shared between threads. */
void base_regex_set_budget(base_regex *re, base_regex_budget *b);

/* ---- listening sockets ----------------------------------------------------------- */

/* Splits "HOST:PORT" or "[IPV6]:PORT" (HOST may be empty: all interfaces). Returns 0, or
 * -1 when the text is not of that form or the port is not 0..65535. */
int base_split_host_port(const char *addr, char *host, size_t host_len, int *port);

/* Binds and listens on `addr` (non-blocking, close-on-exec, SO_REUSEADDR) and returns the
 * socket, with the bound port in *bound_port (useful with port 0) and whether it is IPv6.
 * Returns -1 with a message such as "cannot listen on 127.0.0.1:4318: Address already in
 * use" in `err`. The caller owns the socket. */
int base_listen_tcp(const char *addr, int *bound_port, int *is_ipv6, char *err, size_t err_len);

/* Whether an HTTP Origin header value is a loopback origin (http(s)://localhost, 127.0.0.1,
 * [::1], optional port): the page that sent the request runs on this machine. */
bool base_origin_is_loopback(const char *origin);

/* ---- HTTP request-head deadline (slowloris) ------------------------------------ */

/* libmicrohttpd's connection timeout is idle-based, so a client that drips its request
 * head a byte at a time holds a connection forever. A reaper tracks, per connection, when
 * it started waiting for a request head; while at least `min_conns` connections are
 * tracked it shuts down (shutdown(2), the server then closes) those waiting longer than
 * `head_deadline_ns`, checking once a second. Thread-safe: call add/remove from the
 * server's connection-notify callback, head_done when a request's head (or head and body,
 * to bound a dripping body too) has arrived, and request_done when it completed (the next
 * head's wait starts). remove must come before the server closes the socket. */
typedef struct base_reaper base_reaper;
typedef struct base_reaper_conn base_reaper_conn;
base_reaper *base_reaper_start(int64_t head_deadline_ns, size_t min_conns); /* NULL: no memory */
void base_reaper_stop(base_reaper *r); /* after the server has stopped; NULL is a no-op */
base_reaper_conn *base_reaper_add(base_reaper *r, int fd);       /* NULL: no memory (not tracked) */
void base_reaper_head_done(base_reaper *r, base_reaper_conn *c); /* NULLs are no-ops */
void base_reaper_request_done(base_reaper *r, base_reaper_conn *c); /* NULLs are no-ops */
void base_reaper_remove(base_reaper *r, base_reaper_conn *c);       /* NULLs are no-ops */
uint64_t base_reaper_count(base_reaper *r); /* connections shut down so far */

/* The idle timeout (seconds) an HTTP listener should use: `default_s`, unless the test-only
 * environment variable OTELPROFD_TEST_CONN_TIMEOUT (1..3600) says otherwise, so the
 * integration tests can watch silent connections being dropped without waiting. Not a user
 * option and not documented as one. */
unsigned base_conn_timeout_s(unsigned default_s);

/* ---- TLS ------------------------------------------------------------------------ */

/* libmicrohttpd only asks for a client certificate (GNUTLS_CERT_REQUEST) and verifies
 * nothing, so a client without one, or with one from another CA, completes the handshake.
 * Checks the peer of a GnuTLS session (a gnutls_session_t; NULL = no TLS) against the trust
 * list the server loaded; false with the reason in `why` when it must be refused. */
bool base_tls_verify_peer(void *gnutls_session, char *why, size_t why_len);

/* ---- hashing and growable arrays ------------------------------------------------ */

/* The 64-bit finalizer of MurmurHash3: every bit of x affects every bit of the result.
 * The store's and the queries' hash tables scramble their keys with it; inline because it
 * runs once per table probe (out-of-line calls were ~10% of a query's instructions). */
static inline uint64_t base_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Hash of n bytes, eight at a time (FNV-1a byte by byte showed in ingest profiles): each
 * word folded in with a multiply and a shift, the tail byte-wise, the length and `seed`
 * (per store: keys an attacker sends do not collide by design) up front, then base_mix64.
 * Inline: the store interns every string and frame of a request through it. */
static inline uint64_t base_hash_bytes(uint64_t seed, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = (0xcbf29ce484222325ULL ^ seed) + n * 0x9e3779b97f4a7c15ULL;
    for (; n >= 8; b += 8, n -= 8) {
        uint64_t w;
        __builtin_memcpy(&w, b, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < n; i++)
        tail |= (uint64_t)b[i] << (8 * i);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ULL;
    return base_mix64(h);
}

/* Makes room for `need` elements of `elem` bytes in the malloc'd array *arr of *cap
 * elements, doubling from 64 and never past UINT32_MAX / 2 elements. Returns false (the
 * array untouched) when that cap is passed or memory runs out. */
bool base_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem);

/* ---- a capped growable buffer -------------------------------------------------- */

/* Text or bytes built piece by piece (tool answers, HTTP response bodies): grows by
 * doubling from 1 KiB and never past `max` bytes including the NUL that always follows
 * the content (0 = BASE_BUF_DEFAULT_MAX), so every growth path has a cap. The first
 * failure sticks in `err` (BASE_ERR_NOMEM, or BASE_ERR_TOO_LARGE past `max`) and makes
 * every later append a no-op: a caller checks once, at the end. Zero-initialize
 * (`base_buf b = {.max = N}`); one owner, not thread-safe; free with base_buf_free or
 * take the content with base_buf_take. */
#define BASE_BUF_DEFAULT_MAX (64u << 20)
typedef struct base_buf {
    char *p; /* content + NUL once anything was added; NULL before */
    size_t len, cap;
    size_t max;   /* cap on len + 1; 0 = BASE_BUF_DEFAULT_MAX */
    base_err err; /* BASE_OK, or the first failure */
} base_buf;

/* false (and nothing added) once the buffer has failed or on this failure. */
bool base_buf_append(base_buf *b, const void *data, size_t len);
bool base_buf_printf(base_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool base_buf_vprintf(base_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The content, NUL-terminated and malloc'd (the caller frees it), and an empty buffer
 * (its max kept); NULL when the buffer failed or nothing was added. */
char *base_buf_take(base_buf *b);
void base_buf_free(base_buf *b);

/* ---- saturating int64 arithmetic ------------------------------------------------ */

/* Sums and differences of profile values and times that clamp to INT64_MAX / INT64_MIN
 * instead of overflowing (undefined behaviour, and a total that turns negative). Every
 * module that adds values up uses these, so a total is capped the same way wherever it is
 * computed; inline because window/ calls them once per bucket entry. */
static inline int64_t base_sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static inline int64_t base_sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* ---- time and sizes ------------------------------------------------------------ */

int64_t base_now_unix_ns(void); /* CLOCK_REALTIME */
int64_t base_now_mono_ns(void); /* CLOCK_MONOTONIC */

/* Parses "64MiB", "512MB", "1GiB", "4096" (bytes). Returns 0 on success. */
int base_parse_size(const char *text, uint64_t *out_bytes);
/* Parses "10s", "1h", "250ms", "15m", "2d"; a bare number is seconds. Returns 0 on success. */
int base_parse_duration(const char *text, int64_t *out_ns);
/* The inverse, for messages: 3600e9 -> "1h", 90e9 -> "1m30s", 250e6 -> "250ms"; <= 0 -> "0s". */
void base_format_duration(char *out, size_t out_len, int64_t ns);
/* 512 << 20 -> "512MiB", 1 << 30 -> "1GiB", 1000 -> "1000 bytes" (exact units only). */
void base_format_size(char *out, size_t out_len, uint64_t bytes);

#endif
