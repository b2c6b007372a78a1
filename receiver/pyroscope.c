/* receiver/pyroscope.c — Pyroscope's push API, POST /ingest, read the way Grafana Pyroscope's
 * server reads it (pkg/ingester/pyroscope/ingest_handler.go, pkg/og/convert/pprof,
 * api/model/labelset, pkg/og/util/attime), for the pprof format its SDKs send. The parsed
 * pprof goes through translate/'s pprof converter and then the very path an OTLP request
 * takes (otlp__handle), so limits, validation, counters and partial rejection are OTLP's.
 */
#include "receiver/receiver_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 2046 5.1.1: a boundary is 1 to 70 characters */
#define BOUNDARY_MAX 70
/* bytes of one part's header block ("Content-Disposition: ...", "Content-Type: ...") */
#define PART_HEADERS_MAX ((size_t)8 << 10)

/* ---- name{labels} ----------------------------------------------------------------- */

/* The profile types Pyroscope's ingest adapter reads from an application name's last
 * dot-separated part (convertMetadata): "app.cpu" is the service "app". */
static const char *const type_suffixes[] = {
    "cpu",
    "wall",
    "itimer",
    "inuse_objects",
    "inuse_space",
    "alloc_objects",
    "alloc_space",
    "goroutines",
    "mutex_count",
    "mutex_duration",
    "block_count",
    "block_duration",
    "alloc_in_new_tlab_objects",
    "alloc_in_new_tlab_bytes",
    "alloc_outside_tlab_objects",
    "alloc_outside_tlab_bytes",
    "lock_count",
    "lock_duration",
    "live",
    "exceptions",
};

static bool label_name_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '.';
}

static bool service_name_char(unsigned char c)
{
    return label_name_char(c) || c == '-' || c == '/';
}

/* [p, p+n) with spaces trimmed on both sides (Pyroscope's strings.TrimSpace) */
static void trim(const char **p, size_t *n)
{
    while (*n && isspace((unsigned char)**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*p)[*n - 1]))
        (*n)--;
}

/* the first character that breaks the rule, or -1 */
static int bad_char(const char *s, size_t n, bool (*ok)(unsigned char))
{
    for (size_t i = 0; i < n; i++)
        if (!ok((unsigned char)s[i]))
            return (unsigned char)s[i];
    return -1;
}

static base_err add_label(base_arena *arena, const char *k, size_t kn, const char *v, size_t vn,
                          const char **keys, const char **values, size_t *n, char *err,
                          size_t err_len)
{
    trim(&k, &kn);
    trim(&v, &vn);
    if (kn == 0) {
        base_set_err(err, err_len, "name: a label has no name (labels are {key=value,...})");
        return BASE_ERR_BAD_ARGUMENT;
    }
    int c = bad_char(k, kn, label_name_char);
    if (c >= 0) {
        base_set_err(err, err_len,
                     "name: label name \"%.*s\" has the character 0x%02x; label names are "
                     "letters, digits, '_' and '.'",
                     (int)(kn > 64 ? 64 : kn), k, (unsigned)c);
        return BASE_ERR_BAD_ARGUMENT;
    }
    if (kn == 8 && memcmp(k, "__name__", 8) == 0) {
        base_set_err(err, err_len, "name: the label name __name__ is reserved");
        return BASE_ERR_BAD_ARGUMENT;
    }
    for (size_t i = 0; i < *n; i++) {
        if (strlen(keys[i]) == kn && memcmp(keys[i], k, kn) == 0) {
            /* a repeated key: the last value wins, as in Pyroscope's map */
            const char *val = base_arena_strndup(arena, v, vn);
            if (!val)
                return BASE_ERR_NOMEM;
            values[i] = val;
            return BASE_OK;
        }
    }
    if (*n >= OTLP__PYRO_MAX_LABELS) {
        base_set_err(err, err_len, "name: more than %d labels", OTLP__PYRO_MAX_LABELS);
        return BASE_ERR_BAD_ARGUMENT;
    }
    keys[*n] = base_arena_strndup(arena, k, kn);
    values[*n] = base_arena_strndup(arena, v, vn);
    if (!keys[*n] || !values[*n])
        return BASE_ERR_NOMEM;
    (*n)++;
    return BASE_OK;
}

base_err otlp__pyro_parse_name(const char *name, base_arena *arena, const char **service,
                               const char **keys, const char **values, size_t *n_labels, char *err,
                               size_t err_len)
{
    *n_labels = 0;
    *service = NULL;
    size_t len = name ? strlen(name) : 0;
    if (len > OTLP__PYRO_MAX_NAME) {
        base_set_err(err, err_len, "name: %zu bytes, more than %d", len, OTLP__PYRO_MAX_NAME);
        return BASE_ERR_BAD_ARGUMENT;
    }
    const char *brace = name ? memchr(name, '{', len) : NULL;
    const char *app = name ? name : "";
    size_t app_len = brace ? (size_t)(brace - name) : len;
    trim(&app, &app_len);
    if (app_len == 0) {
        base_set_err(err, err_len,
                     "missing name: /ingest needs name=APPLICATION (optionally "
                     "APPLICATION{label=value,...})");
        return BASE_ERR_BAD_ARGUMENT;
    }
    int c = bad_char(app, app_len, service_name_char);
    if (c >= 0) {
        base_set_err(err, err_len,
                     "name: application name \"%.*s\" has the character 0x%02x; names are "
                     "letters, digits and '_', '.', '-', '/'",
                     (int)(app_len > 64 ? 64 : app_len), app, (unsigned)c);
        return BASE_ERR_BAD_ARGUMENT;
    }
    /* "app.cpu" -> "app": Pyroscope reads the last part as the profile type */
    const char *dot = NULL;
    for (size_t i = app_len; i > 0; i--)
        if (app[i - 1] == '.') {
            dot = app + i - 1;
            break;
        }
    if (dot && dot > app) {
        size_t sn = app_len - (size_t)(dot + 1 - app);
        for (size_t i = 0; i < sizeof type_suffixes / sizeof type_suffixes[0]; i++)
            if (strlen(type_suffixes[i]) == sn && memcmp(type_suffixes[i], dot + 1, sn) == 0) {
                app_len = (size_t)(dot - app);
                break;
            }
    }
    *service = base_arena_strndup(arena, app, app_len);
    if (!*service)
        return BASE_ERR_NOMEM;
    if (!brace)
        return BASE_OK;
    /* Pyroscope's label-set state machine: key until '=', value until ',' or '}'; a key
     * without '=' before '}' is dropped, and whatever follows the '}' is ignored */
    const char *p = brace + 1, *end = name + len;
    while (p < end && *p != '}') {
        const char *k = p;
        while (p < end && *p != '=' && *p != '}')
            p++;
        if (p >= end || *p == '}')
            break;
        size_t kn = (size_t)(p - k);
        const char *v = ++p;
        while (p < end && *p != ',' && *p != '}')
            p++;
        if (p >= end) /* Pyroscope stores the last value only when ',' or '}' ends it */
            break;
        size_t vn = (size_t)(p - v);
        const char *vt = v;
        size_t vtn = vn;
        trim(&vt, &vtn);
        if (vtn > 0) { /* an empty value is no label (Pyroscope's LabelSet.Add) */
            base_err rc = add_label(arena, k, kn, v, vn, keys, values, n_labels, err, err_len);
            if (rc != BASE_OK)
                return rc;
        }
        if (*p == ',')
            p++;
    }
    return BASE_OK;
}

/* ---- from / until ----------------------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

base_err otlp__pyro_parse_time(const char *text, int64_t now_ns, int64_t *out_ns)
{
    /* attime.Parse drops spaces, '_' and ',' first */
    char s[64];
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (*p == ' ' || *p == '_' || *p == ',' || *p == '\t')
            continue;
        if (n + 1 >= sizeof s)
            return BASE_ERR_BAD_ARGUMENT;
        s[n++] = *p;
    }
    s[n] = '\0';
    if (all_digits(s, n)) {
        if (n > 19)
            return BASE_ERR_BAD_ARGUMENT;
        errno = 0;
        unsigned long long v = strtoull(s, NULL, 10);
        if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
            return BASE_ERR_BAD_ARGUMENT;
        if (n == 8) {
            unsigned y = (unsigned)(v / 10000), m = (unsigned)(v / 100 % 100),
                     d = (unsigned)(v % 100);
            if (y > 1900 && m >= 1 && m <= 12 && d >= 1 && d <= 31) {
                int64_t secs = days_from_civil(y, m, d) * 86400;
                if (secs > INT64_MAX / 1000000000) /* past 2262 */
                    return BASE_ERR_BAD_ARGUMENT;
                *out_ns = secs * 1000000000;
                return BASE_OK;
            }
        }
        int64_t unit = n == 19 ? 1 : n == 16 ? 1000 : n == 13 ? 1000000 : 1000000000;
        if ((int64_t)v > INT64_MAX / unit)
            return BASE_ERR_BAD_ARGUMENT;
        *out_ns = (int64_t)v * unit;
        return BASE_OK;
    }
    /* relative: "now", "now-1h", "-30m" (the reference is always now, as upstream) */
    const char *off = strpbrk(s, "+-");
    if (!off) {
        if (n == 0 || strcmp(s, "now") == 0) {
            *out_ns = now_ns;
            return BASE_OK;
        }
        return BASE_ERR_BAD_ARGUMENT;
    }
    int64_t d;
    if (base_parse_duration(off + 1, &d) != 0)
        return BASE_ERR_BAD_ARGUMENT;
    *out_ns = *off == '-' ? base_sat_sub(now_ns, d) : base_sat_add(now_ns, d);
    return BASE_OK;
}

/* ---- multipart/form-data ------------------------------------------------------------ */

/* The boundary parameter of a multipart/form-data Content-Type, into `out`. */
static bool multipart_boundary(const char *ct, char *out, size_t out_len)
{
    const char *p = ct;
    while (*p) {
        const char *semi = strchr(p, ';');
        if (!semi)
            return false;
        p = semi + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        size_t n = 0;
        if (*p == '"') {
            p++;
            while (p[n] && p[n] != '"')
                n++;
            if (p[n] != '"')
                return false;
        } else {
            while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
                n++;
        }
        if (n == 0 || n > BOUNDARY_MAX || n >= out_len)
            return false;
        memcpy(out, p, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

static bool is_multipart(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return strncasecmp(ct, "multipart/form-data", 19) == 0 &&
           (ct[19] == '\0' || ct[19] == ';' || ct[19] == ' ' || ct[19] == '\t');
}

static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle, size_t m)
{
    return m <= n ? memmem(hay, n, needle, m) : NULL;
}

/* The name parameter of a part's Content-Disposition header line [h, h+n), or false. The
 * parameters are split on ';' so that filename="x" is not read as name. */
static bool disposition_name(const char *h, size_t n, const char **name, size_t *name_len)
{
    static const char key[] = "content-disposition:";
    if (n < sizeof key - 1 || strncasecmp(h, key, sizeof key - 1) != 0)
        return false;
    const char *p = h + sizeof key - 1, *end = h + n;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *pe = semi ? semi : end;
        const char *q = p;
        while (q < pe && (*q == ' ' || *q == '\t'))
            q++;
        if (pe - q > 5 && strncasecmp(q, "name=", 5) == 0) {
            q += 5;
            const char *ve = pe;
            while (ve > q && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (ve - q >= 2 && *q == '"' && ve[-1] == '"') {
                q++;
                ve--;
            }
            *name = q;
            *name_len = (size_t)(ve - q);
            return true;
        }
        p = semi ? semi + 1 : end;
    }
    return false;
}

base_err otlp__pyro_multipart_part(const char *content_type, const uint8_t *body, size_t len,
                                   const char *part, const uint8_t **out, size_t *out_len,
                                   bool *found, char *err, size_t err_len)
{
    *found = false;
    *out = NULL;
    *out_len = 0;
    char boundary[BOUNDARY_MAX + 1];
    if (!content_type || !multipart_boundary(content_type, boundary, sizeof boundary)) {
        base_set_err(err, err_len,
                     "multipart/form-data without a usable boundary parameter (1 to %d "
                     "characters)",
                     BOUNDARY_MAX);
        return BASE_ERR_DECODE;
    }
    /* delimiter "\r\n--BOUNDARY"; the first may open the body without the CRLF */
    char delim[BOUNDARY_MAX + 5];
    int dn = snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    const uint8_t *p;
    if (len >= (size_t)dn - 2 && memcmp(body, delim + 2, (size_t)dn - 2) == 0)
        p = body + dn - 2;
    else {
        p = find(body, len, delim, (size_t)dn); /* after a preamble */
        if (!p) {
            base_set_err(err, err_len, "multipart body has no boundary line \"--%s\"", boundary);
            return BASE_ERR_DECODE;
        }
        p += dn;
    }
    const uint8_t *end = body + len;
    for (int parts = 0;; parts++) {
        /* after a delimiter: "--" closes the body, else transport padding and CRLF */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return BASE_OK;
        if (parts >= OTLP__PYRO_MAX_PARTS) {
            base_set_err(err, err_len, "multipart body has more than %d parts",
                         OTLP__PYRO_MAX_PARTS);
            return BASE_ERR_DECODE;
        }
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            p += 2;
        else {
            base_set_err(err, err_len, "multipart body is truncated or malformed after a boundary");
            return BASE_ERR_DECODE;
        }
        size_t window = (size_t)(end - p) < PART_HEADERS_MAX ? (size_t)(end - p) : PART_HEADERS_MAX;
        const uint8_t *hend = find(p, window, "\r\n\r\n", 4);
        const uint8_t *content;
        if (window >= 2 && p[0] == '\r' && p[1] == '\n') { /* a part without headers */
            hend = p;
            content = p + 2;
        } else if (!hend) {
            base_set_err(err, err_len,
                         "multipart part headers are truncated or longer than %zu bytes",
                         PART_HEADERS_MAX);
            return BASE_ERR_DECODE;
        } else
            content = hend + 4;
        const char *name = NULL;
        size_t name_len = 0;
        for (const uint8_t *h = p; h < hend;) {
            const uint8_t *eol = find(h, (size_t)(hend - h), "\r\n", 2);
            const uint8_t *le = eol ? eol : hend;
            if (!name)
                disposition_name((const char *)h, (size_t)(le - h), &name, &name_len);
            h = eol ? eol + 2 : hend;
        }
        const uint8_t *next = find(content, (size_t)(end - content), delim, (size_t)dn);
        if (!next) {
            base_set_err(err, err_len, "multipart body is truncated: no closing boundary");
            return BASE_ERR_DECODE;
        }
        if (!*found && name && name_len == strlen(part) && memcmp(name, part, name_len) == 0) {
            *found = true;
            *out = content;
            *out_len = (size_t)(next - content);
        }
        p = next + dn;
    }
}

/* ---- the push ------------------------------------------------------------------------- */

/* Pyroscope keeps no "__"-prefixed label but the Go SDK's __session_id__
 * (IsLabelAllowedForIngestion) */
static bool label_ingested(const char *key)
{
    return strncmp(key, "__", 2) != 0 || strcmp(key, "__session_id__") == 0;
}

static base_err unsupported_format(const char *format, char *err, size_t err_len)
{
    base_set_err(err, err_len,
                 "format \"%.32s\" is not supported: /ingest takes format=pprof (a pprof body, "
                 "gzipped or not, raw or as the multipart/form-data part \"profile\"); JFR from "
                 "the Java SDK: set PYROSCOPE_FORMAT=otlp, which sends OTLP to "
                 "/v1development/profiles",
                 format);
    return BASE_ERR_UNSUPPORTED;
}

base_err otlp__pyro_prepare(const otlp__pyro_query *q, const char *content_type, const char *tenant,
                            const uint8_t *body, size_t len, int64_t now_ns, base_arena *arena,
                            otlp__pyro_push *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    /* Pyroscope's choice (readInputRawDataFromRequest): format= first, then a multipart
     * Content-Type means pprof; a raw body with neither is its "groups" text format */
    bool multipart = is_multipart(content_type);
    const char *format = q->format && *q->format ? q->format : NULL;
    if (format && strcmp(format, "pprof") != 0)
        return unsupported_format(format, err, err_len);
    if (!format && !multipart) {
        const char *ct = content_type ? content_type : "";
        if (strstr(ct, "+trie"))
            return unsupported_format("trie", err, err_len);
        if (strstr(ct, "+tree"))
            return unsupported_format("tree", err, err_len);
        base_set_err(err, err_len,
                     "no format= and the body is not multipart/form-data: Pyroscope reads that "
                     "as its \"groups\" text format, which otelprofd does not take; send "
                     "format=pprof with a pprof body, or a multipart/form-data body with the "
                     "part \"profile\"");
        return BASE_ERR_UNSUPPORTED;
    }

    const char *service;
    const char *keys[OTLP__PYRO_MAX_LABELS], *values[OTLP__PYRO_MAX_LABELS];
    size_t n_labels;
    base_err rc =
        otlp__pyro_parse_name(q->name, arena, &service, keys, values, &n_labels, err, err_len);
    if (rc != BASE_OK)
        return rc;

    out->from_ns = out->until_ns = now_ns;
    if (q->from && *q->from && otlp__pyro_parse_time(q->from, now_ns, &out->from_ns) != BASE_OK) {
        base_set_err(err, err_len,
                     "from \"%.40s\" is not a time: unix seconds (or ms, us, ns), YYYYMMDD or "
                     "now-DURATION",
                     q->from);
        return BASE_ERR_BAD_ARGUMENT;
    }
    if (q->until && *q->until &&
        otlp__pyro_parse_time(q->until, now_ns, &out->until_ns) != BASE_OK) {
        base_set_err(err, err_len,
                     "until \"%.40s\" is not a time: unix seconds (or ms, us, ns), YYYYMMDD or "
                     "now-DURATION",
                     q->until);
        return BASE_ERR_BAD_ARGUMENT;
    }

    /* resource: service.name (a service_name label wins over the application name, which
     * then stays as app_name, as in Pyroscope), the other labels, tenant, spy */
    win_attr *r = out->resource;
    size_t n = 0;
    const char *service_label = NULL;
    for (size_t i = 0; i < n_labels; i++)
        if (strcmp(keys[i], "service_name") == 0)
            service_label = values[i];
    r[n++] = (win_attr){"service.name", service_label ? service_label : service};
    if (service_label)
        r[n++] = (win_attr){"app_name", service};
    for (size_t i = 0; i < n_labels && n < OTLP__PYRO_MAX_LABELS + 2; i++)
        if (strcmp(keys[i], "service_name") != 0 && strcmp(keys[i], "service.name") != 0 &&
            !(strcmp(keys[i], "tenant") == 0 && tenant && *tenant) && label_ingested(keys[i]))
            r[n++] = (win_attr){keys[i], values[i]};
    if (tenant && *tenant) {
        r[n++] = (win_attr){"tenant", base_arena_strndup(arena, tenant, strnlen(tenant, 256))};
        if (!r[n - 1].value)
            return BASE_ERR_NOMEM;
    }
    if (q->spy_name && *q->spy_name) {
        r[n++] = (win_attr){"pyroscope_spy",
                            base_arena_strndup(arena, q->spy_name, strnlen(q->spy_name, 64))};
        if (!r[n - 1].value)
            return BASE_ERR_NOMEM;
    }
    out->n_resource = n;

    if (!multipart) {
        out->pprof = body;
        out->pprof_len = len;
        return BASE_OK;
    }
    bool found;
    const uint8_t *part;
    size_t part_len;
    rc = otlp__pyro_multipart_part(content_type, body, len, "prev_profile", &part, &part_len,
                                   &found, err, err_len);
    if (rc != BASE_OK)
        return rc;
    if (found && part_len > 0) {
        /* Pyroscope refuses it too: the server no longer subtracts profiles */
        base_set_err(err, err_len,
                     "multipart part \"prev_profile\" is not supported (Pyroscope refuses it "
                     "too): update the SDK, e.g. github.com/grafana/pyroscope-go, to a version "
                     "that sends delta profiles");
        return BASE_ERR_BAD_ARGUMENT;
    }
    rc = otlp__pyro_multipart_part(content_type, body, len, "profile", &part, &part_len, &found,
                                   err, err_len);
    if (rc != BASE_OK)
        return rc;
    if (!found) {
        base_set_err(err, err_len, "multipart body has no part named \"profile\"");
        return BASE_ERR_BAD_ARGUMENT;
    }
    /* sample_type_config (display names, units, aggregation per sample type) is not read:
     * the pprof names its sample types, and each becomes a profile type as it is */
    out->pprof = part;
    out->pprof_len = part_len;
    return BASE_OK;
}

base_err otlp__pyro_ingest(otlp_receiver *rcv, const otlp__pyro_query *q, const char *content_type,
                           const char *tenant, const uint8_t *body, size_t len, base_arena *arena,
                           tr_result *res, char *err, size_t err_len)
{
    memset(res, 0, sizeof *res);
    otlp__pyro_push push;
    base_err rc = otlp__pyro_prepare(q, content_type, tenant, body, len, base_now_unix_ns(), arena,
                                     &push, err, err_len);
    if (rc != BASE_OK)
        return rc;
    if (push.pprof_len == 0) /* Pyroscope answers an empty profile with success */
        return BASE_OK;
    const uint8_t *pprof = push.pprof;
    size_t pprof_len = push.pprof_len;
    uint8_t *inflated = NULL;
    if (pprof_len >= 2 && pprof[0] == 0x1f && pprof[1] == 0x8b) {
        /* inflated here, within --max-message-size, not by the converter's larger cap */
        rc = otlp__gunzip(pprof, pprof_len, (size_t)rcv->cfg.max_message_size, &inflated,
                          &pprof_len, err, err_len);
        if (rc == BASE_ERR_TOO_LARGE)
            base_set_err(err, err_len, "pprof inflates to more than --max-message-size (%llu)",
                         (unsigned long long)rcv->cfg.max_message_size);
        else if (rc == BASE_ERR_NOMEM)
            base_set_err(err, err_len, "out of memory while decompressing the pprof");
        else if (rc != BASE_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            base_set_err(err, err_len, "pprof: bad gzip: %s", why);
        }
        if (rc != BASE_OK)
            return rc;
        pprof = inflated;
    }
    uint8_t *otlp = NULL;
    size_t otlp_len = 0;
    rc = tr_pprof_to_otlp(pprof, pprof_len, push.resource, push.n_resource, push.from_ns, arena,
                          &otlp, &otlp_len, err, err_len);
    free(inflated);
    if (rc == BASE_ERR_NOMEM) {
        /* the arena cap, not the machine: the profile is too large to convert */
        base_set_err(err, err_len, "pprof needs more than %zu bytes to convert", rcv->arena_cap);
        return BASE_ERR_TOO_LARGE;
    }
    if (rc != BASE_OK) {
        char why[900];
        snprintf(why, sizeof why, "%s", err);
        base_set_err(err, err_len, "pprof: %s", why);
        return rc == BASE_ERR_INVALID ? BASE_ERR_INVALID : BASE_ERR_DECODE;
    }
    return otlp__handle(rcv, "pyroscope", otlp, otlp_len, false, arena, res, err, err_len);
}
