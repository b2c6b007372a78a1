/* translate/drops.c — the partial-success wording for accepted samples the store did not
 * keep (too old, too far in the future, evicted at once for the memory limit), and its
 * reader for senders (translate.h tr_parse_drops; DESIGN.md "The log": anything the
 * windows drop is said in the partial success message). Writer and reader live together
 * so the wording cannot drift from what `otelprofd send` looks for. */
#include <stdio.h>
#include <string.h>

#include "translate/translate_internal.h"

/* The clause texts after "N of M samples ". The two %s are the retention (too old, too
 * new) and the memory limit (evicted). */
#define TOO_OLD_FMT "older than the retention (%s) were not stored"
#define TOO_NEW_FMT "more than %s in the future were not stored"
#define EVICTED_FMT "were evicted at once by the memory limit (%s): they were the oldest data"

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Appends "[; ]N of M samples <clause>" to buf[*used..cap). */
static void clause(char *buf, size_t cap, size_t *used, uint64_t n, uint64_t of, const char *fmt,
                   const char *arg)
{
    if (*used >= cap)
        return;
    char text[160];
    snprintf(text, sizeof text, fmt, arg);
    int w = snprintf(buf + *used, cap - *used, "%s%llu of %llu samples %s", *used ? "; " : "",
                     (unsigned long long)n, (unsigned long long)of, text);
    if (w > 0)
        *used += (size_t)w < cap - *used ? (size_t)w : cap - *used - 1;
}

void tr__note_drops(tr_result *res, int64_t retention_ns, uint64_t memory_limit)
{
    if (!res->samples_too_old && !res->samples_too_new && !res->samples_evicted)
        return;
    /* M: every sample of the accepted profiles the store looked at */
    uint64_t of = sat_add(sat_add(res->samples_stored, res->samples_too_old), res->samples_too_new);
    char ret[48], lim[48];
    base_format_duration(ret, sizeof ret, retention_ns);
    base_format_size(lim, sizeof lim, memory_limit);
    /* three clauses of at most ~150 bytes each: always room for all of them */
    char drops[512];
    size_t used = 0;
    drops[0] = '\0';
    if (res->samples_too_old)
        clause(drops, sizeof drops, &used, res->samples_too_old, of, TOO_OLD_FMT, ret);
    if (res->samples_too_new)
        clause(drops, sizeof drops, &used, res->samples_too_new, of, TOO_NEW_FMT, ret);
    if (res->samples_evicted)
        clause(drops, sizeof drops, &used, res->samples_evicted, of, EVICTED_FMT, lim);

    char *msg = res->error_message;
    size_t cap = sizeof res->error_message;
    size_t have = strnlen(msg, cap - 1); /* never trust the array to be terminated */
    msg[have] = '\0';
    if (!have) {
        snprintf(msg, cap, "%s", drops);
        return;
    }
    /* Keep the invalid profile's reason first, cut (at a UTF-8 boundary, marked "...") so
     * the drop counts always fit: a sender must see both. */
    static const char sep[] = "; ", cut[] = "...";
    size_t room = cap - 1 - (sizeof sep - 1) - used;
    if (have > room) {
        size_t keep = room - (sizeof cut - 1);
        while (keep > 0 && ((unsigned char)msg[keep] & 0xc0) == 0x80)
            keep--;
        memcpy(msg + keep, cut, sizeof cut - 1);
        have = keep + sizeof cut - 1;
    }
    memcpy(msg + have, sep, sizeof sep - 1);
    memcpy(msg + have + sizeof sep - 1, drops, used + 1);
}

/* Reads an unsigned decimal at *p; false on no digits or overflow. */
static bool read_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return true;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool tr_parse_drops(const char *message, uint64_t *dropped, uint64_t *of)
{
    *dropped = 0;
    *of = 0;
    if (!message)
        return false;
    bool found = false;
    /* a clause starts the message or follows "; " */
    for (const char *p = message; *p; p++) {
        if (p != message && !(p - message >= 2 && p[-2] == ';' && p[-1] == ' '))
            continue;
        const char *q = p;
        uint64_t n, m;
        if (!read_u64(&q, &n) || !starts_with(q, " of "))
            continue;
        q += 4;
        if (!read_u64(&q, &m) || !starts_with(q, " samples "))
            continue;
        q += 9;
        /* the clause ends at the next ';': looking no further keeps a hostile answer of
         * many clauses linear (send reads up to 1 MiB from any receiver) */
        const char *end = strchr(q, ';');
        size_t clause_len = end ? (size_t)(end - q) : strlen(q);
        static const char future[] = " in the future were not stored";
        bool known = starts_with(q, "older than the retention (") ||
                     (starts_with(q, "more than ") &&
                      memmem(q, clause_len, future, sizeof future - 1) != NULL) ||
                     starts_with(q, "were evicted at once by the memory limit (");
        if (!known)
            continue;
        *dropped = sat_add(*dropped, n);
        *of = m;
        found = true;
    }
    return found;
}
