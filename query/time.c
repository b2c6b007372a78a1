/* query/time.c — time expressions (RFC 3339, unix numbers, now±duration) and durations.
 * Own parser: the result must not depend on TZ or the C locale. */
#include <stdio.h>
#include <string.h>

#include "query/query_internal.h"

#define NS_PER_S 1000000000LL

static const char TIME_FORMS[] =
    "use RFC 3339 (2026-11-21T10:00:00Z, 2026-11-21T12:00:00.5+02:00), unix seconds "
    "(1763719200), \"now\", or now-15m / now+1h (units ms, s, m, h, d)";

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly `n` digits. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int bad(char *err, size_t err_len, const char *text, const char *why)
{
    base_set_err(err, err_len, "bad time \"%.64s\": %s; %s", text, why, TIME_FORMS);
    return -1;
}

static const char TOO_EARLY[] = "before 1970-01-01T00:00:00Z, the earliest time accepted (profile "
                                "times are unix times)";
static const char TOO_LATE[] = "not before 2262-01-01T00:00:00Z, the first time refused "
                               "(nanosecond times end in April 2262)";

/* The one range check every form goes through (see QUERY_TIME_MIN_NS in query.h). */
static int in_range(const char *text, int64_t ns, int64_t *out, char *err, size_t err_len)
{
    if (ns < QUERY_TIME_MIN_NS)
        return bad(err, err_len, text, TOO_EARLY);
    if (ns >= QUERY_TIME_MAX_NS)
        return bad(err, err_len, text, TOO_LATE);
    *out = ns;
    return 0;
}

static int parse_rfc3339(const char *text, int64_t *out, char *err, size_t err_len)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = text;
    int y, mo, d, h, mi, s;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return bad(err, err_len, text, "expected a date YYYY-MM-DD");
    if (mo < 1 || mo > 12)
        return bad(err, err_len, text, "month out of range 01..12");
    int dim = mdays[mo - 1] + (mo == 2 && is_leap(y));
    if (d < 1 || d > dim)
        return bad(err, err_len, text, "day out of range for the month");
    if (*p != 'T' && *p != 't' && *p != ' ')
        return bad(err, err_len, text, "expected 'T' and a time of day after the date");
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &s))
        return bad(err, err_len, text, "expected a time of day hh:mm:ss");
    if (h > 23 || mi > 59 || s > 60)
        return bad(err, err_len, text, "time of day out of range");
    int64_t frac = 0;
    if (*p == '.' || *p == ',') {
        p++;
        if (!is_digit(*p))
            return bad(err, err_len, text, "expected digits after the decimal point");
        int n = 0;
        for (; is_digit(*p); p++, n++)
            if (n < 9)
                frac = frac * 10 + (*p - '0');
        for (; n < 9; n++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
            return bad(err, err_len, text, "expected a zone offset +hh:mm or -hh:mm");
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return bad(err, err_len, text, "missing zone: end with Z or an offset such as +02:00");
    }
    if (*p)
        return bad(err, err_len, text, "unexpected text after the time");
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
    /* checked in seconds first: secs * NS_PER_S overflows for years far out (0000, 9999) */
    if (secs < 0)
        return bad(err, err_len, text, TOO_EARLY);
    if (secs >= QUERY_TIME_MAX_NS / NS_PER_S)
        return bad(err, err_len, text, TOO_LATE);
    return in_range(text, secs * NS_PER_S + frac, out, err, err_len);
}

/* Unix seconds, or milliseconds / nanoseconds when too large to be seconds. */
static int parse_unix(const char *text, int64_t *out, char *err, size_t err_len)
{
    const char *p = text;
    uint64_t ip = 0;
    for (; is_digit(*p); p++) {
        if (ip > (UINT64_MAX - 9) / 10)
            return bad(err, err_len, text, "number too large");
        ip = ip * 10 + (uint64_t)(*p - '0');
    }
    uint64_t frac = 0; /* nanoseconds of fraction scaled below */
    int nfrac = 0;
    if (*p == '.') {
        p++;
        if (!is_digit(*p))
            return bad(err, err_len, text, "expected digits after the decimal point");
        for (; is_digit(*p); p++, nfrac++)
            if (nfrac < 9)
                frac = frac * 10 + (uint64_t)(*p - '0');
        for (int k = nfrac; k < 9; k++)
            frac *= 10;
    }
    if (*p)
        return bad(err, err_len, text, "not a number");
    uint64_t ns;
    if (ip >= 100000000000000ULL) { /* nanoseconds */
        ns = ip;
    } else if (ip >= 100000000000ULL) { /* milliseconds */
        if (ip > (uint64_t)INT64_MAX / 1000000ULL)
            return bad(err, err_len, text, "number too large (milliseconds past 2262)");
        ns = ip * 1000000ULL + frac / 1000ULL;
    } else {
        if (ip > (uint64_t)INT64_MAX / NS_PER_S)
            return bad(err, err_len, text, "number too large (seconds past the year 2262)");
        ns = ip * (uint64_t)NS_PER_S + frac;
    }
    if (ns > (uint64_t)INT64_MAX)
        return bad(err, err_len, text, "number too large");
    return in_range(text, (int64_t)ns, out, err, err_len);
}

/* Parses one duration; zero allowed when `allow_zero`. */
static int parse_duration(const char *text, int64_t *out, bool allow_zero, const char **why)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {{"ns", 1},
                 {"us", 1000},
                 {"ms", 1000000},
                 {"s", NS_PER_S},
                 {"m", 60 * NS_PER_S},
                 {"h", 3600 * NS_PER_S},
                 {"d", 86400 * NS_PER_S}};
    const char *p = text;
    if (!*p) {
        *why = "empty duration";
        return -1;
    }
    double total = 0;
    while (*p) {
        if (!is_digit(*p) && *p != '.') {
            *why = "expected a number";
            return -1;
        }
        double v = 0, scale = 1;
        bool any = false, dot = false;
        for (; is_digit(*p) || (*p == '.' && !dot); p++) {
            if (*p == '.') {
                dot = true;
                continue;
            }
            any = true;
            if (dot)
                v += (scale /= 10) * (*p - '0');
            else
                v = v * 10 + (*p - '0');
            if (v > 1e18) {
                *why = "duration too large";
                return -1;
            }
        }
        if (!any) {
            *why = "expected a number";
            return -1;
        }
        int64_t unit = 0;
        size_t ulen = 0;
        for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
            size_t l = strlen(units[u].name);
            /* "m" must not take the "m" of "ms" */
            if (strncmp(p, units[u].name, l) == 0 && l > ulen) {
                unit = units[u].ns;
                ulen = l;
            }
        }
        if (!unit) {
            *why = *p ? "unknown unit (use ms, s, m, h or d)" : "missing unit, e.g. 10s or 5m";
            return -1;
        }
        p += ulen;
        total += v * (double)unit;
        if (total > 9.2e18) {
            *why = "duration too large";
            return -1;
        }
    }
    if (total < 1 && !allow_zero) {
        *why = "must be positive";
        return -1;
    }
    *out = (int64_t)(total + 0.5);
    return 0;
}

int query_parse_step(const char *text, int64_t *out_ns, char *err, size_t err_len)
{
    const char *why = NULL;
    if (!text || !out_ns) {
        base_set_err(err, err_len, "bad duration: none given; use e.g. 10s, 1m, 1h30m, 250ms");
        return -1;
    }
    if (parse_duration(text, out_ns, false, &why)) {
        base_set_err(err, err_len, "bad duration \"%.64s\": %s; use e.g. 10s, 1m, 1h30m, 250ms",
                     text, why);
        return -1;
    }
    return 0;
}

int query_parse_time(const char *text, int64_t now_ns, int64_t *out_ns, char *err, size_t err_len)
{
    if (!text || !out_ns)
        return bad(err, err_len, "", "no time given");
    char buf[80];
    size_t len = strlen(text);
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    while (len && (*text == ' ' || *text == '\t'))
        text++, len--;
    if (len == 0)
        return bad(err, err_len, "", "empty");
    if (len >= sizeof buf)
        return bad(err, err_len, text, "too long");
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (strncmp(buf, "now", 3) == 0) {
        if (!buf[3])
            return in_range(buf, now_ns, out_ns, err, err_len);
        if (buf[3] != '-' && buf[3] != '+')
            return bad(err, err_len, buf, "expected now, now-DURATION or now+DURATION");
        int64_t d;
        const char *why = NULL;
        if (parse_duration(buf + 4, &d, true, &why))
            return bad(err, err_len, buf, why);
        int64_t r;
        if (buf[3] == '-' ? __builtin_sub_overflow(now_ns, d, &r)
                          : __builtin_add_overflow(now_ns, d, &r))
            return bad(err, err_len, buf, buf[3] == '-' ? TOO_EARLY : TOO_LATE);
        return in_range(buf, r, out_ns, err, err_len);
    }
    /* a date has its '-' at offset 4; a plain number has none */
    if (len >= 10 && is_digit(buf[0]) && buf[4] == '-')
        return parse_rfc3339(buf, out_ns, err, err_len);
    if (is_digit(buf[0]) || buf[0] == '.')
        return parse_unix(buf, out_ns, err, err_len);
    return bad(err, err_len, buf, "not a time");
}
