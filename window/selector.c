/* window/selector.c — Prometheus-style selectors over attribute names (see window.h). */
#include "base/base.h"
#include "window/window_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void win_selector_free(win_selector *sel)
{
    if (!sel)
        return;
    for (uint32_t i = 0; i < sel->n; i++) {
        base_regex_free(sel->m[i].re);
        free(sel->m[i].name);
        free(sel->m[i].value);
    }
    free(sel->m);
    free(sel);
}

static size_t skip_ws(const char *t, size_t pos)
{
    while (t[pos] == ' ' || t[pos] == '\t' || t[pos] == '\n' || t[pos] == '\r')
        pos++;
    return pos;
}

static bool name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' || c == '/' || c == ':';
}

/* Every allocation failure of the parser goes through here, so win_selector_parse can say
 * its kind (BASE_ERR_NOMEM, not a syntax error); base_regex_compile notes its own. */
static void selector_oom(char *err, size_t err_len)
{
    base_set_err(err, err_len, "selector: out of memory");
    base_alloc_failed_note();
}

/* Parses a quoted value at t[*pos] (the quote). Escapes: \" \' \\ become the character;
 * any other backslash is kept, so regexes such as "a\.b" need no double escaping. */
static char *parse_string(const char *t, size_t *pos, char *err, size_t err_len)
{
    size_t start = *pos;
    char q = t[start];
    size_t i = start + 1, n = 0;
    char *out = malloc(strlen(t + start) + 1);
    if (!out) {
        selector_oom(err, err_len);
        return NULL;
    }
    for (;;) {
        char c = t[i];
        if (c == '\0') {
            base_set_err(err, err_len, "selector: unterminated string starting at offset %zu",
                         start);
            free(out);
            return NULL;
        }
        if (c == q) {
            i++;
            break;
        }
        if (c == '\\' && (t[i + 1] == '"' || t[i + 1] == '\'' || t[i + 1] == '\\')) {
            out[n++] = t[i + 1];
            i += 2;
            continue;
        }
        out[n++] = c;
        i++;
    }
    out[n] = '\0';
    *pos = i;
    return out;
}

/* How many bytes of `s` to show in a message: at most `max`, not ending inside a UTF-8
 * sequence (the message may go out as JSON). */
static int shown_len(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (s[n])
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    return (int)n;
}

static bool add_matcher(win_selector *sel, char *name, char *value, win__op op, char *err,
                        size_t err_len)
{
    win__matcher m;
    memset(&m, 0, sizeof m);
    m.name = name;
    m.value = value;
    m.op = op;
    if (op == WIN__OP_RE || op == WIN__OP_NRE) {
        char why[BASE_ERR_LEN];
        m.re = base_regex_compile(value, BASE_REGEX_ANCHORED, why, sizeof why);
        base_regex_set_budget(m.re, &sel->budget);
        if (!m.re) {
            /* the reason matters more than all of a long pattern: show its start only */
            int shown = shown_len(value, 100);
            base_set_err(err, err_len, "selector: bad regex \"%.*s%s\" for %.100s: %s", shown,
                         value, value[shown] ? "..." : "", name, why);
            goto fail;
        }
    }
    win__matcher *arr = realloc(sel->m, (sel->n + 1) * sizeof *arr);
    if (!arr) {
        base_regex_free(m.re);
        selector_oom(err, err_len);
        goto fail;
    }
    sel->m = arr;
    sel->m[sel->n++] = m;
    return true;
fail:
    free(name);
    free(value);
    return false;
}

/* Whether the matcher list ends at *pos: 1 at its '}' (consumed) or, unbraced, at the end
 * of the text; -1 (err set) at the end of a braced text; 0 when more follows. */
static int list_end(const char *text, size_t *pos, bool braced, char *err, size_t err_len)
{
    if (braced && text[*pos] == '}') {
        (*pos)++;
        return 1;
    }
    if (text[*pos] != '\0')
        return 0;
    if (braced) {
        base_set_err(err, err_len, "selector: missing '}' at offset %zu", *pos);
        return -1;
    }
    return 1;
}

win_selector *win_selector_parse(const char *text, base_err *kind, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    if (kind)
        *kind = BASE_OK;
    base_alloc_failed_reset();
    win_selector *sel = calloc(1, sizeof *sel);
    if (!sel) {
        selector_oom(err, err_len);
        if (kind)
            *kind = BASE_ERR_NOMEM;
        return NULL;
    }
    base_regex_budget_init(&sel->budget, BASE_REGEX_QUERY_BUDGET_NS);
    if (!text)
        return sel;
    size_t len = strnlen(text, WIN__MAX_SEL_LEN + 1);
    if (len > WIN__MAX_SEL_LEN) {
        base_set_err(err, err_len, "selector: longer than %u bytes", WIN__MAX_SEL_LEN);
        goto fail;
    }
    size_t pos = skip_ws(text, 0);
    if (text[pos] == '\0')
        return sel;
    bool braced = text[pos] == '{';
    if (braced)
        pos++;
    for (;;) {
        pos = skip_ws(text, pos);
        int done = list_end(text, &pos, braced, err, err_len);
        if (done < 0)
            goto fail;
        if (done)
            break;
        if (!name_start(text[pos])) {
            base_set_err(err, err_len, "selector: expected an attribute name at offset %zu", pos);
            goto fail;
        }
        size_t name_start_pos = pos;
        while (name_char(text[pos]))
            pos++;
        size_t name_len = pos - name_start_pos;
        char shown[128];
        snprintf(shown, sizeof shown, "%.*s", (int)(name_len < 100 ? name_len : 100),
                 text + name_start_pos);
        pos = skip_ws(text, pos);
        win__op op;
        if (text[pos] == '=' && text[pos + 1] == '~') {
            op = WIN__OP_RE;
            pos += 2;
        } else if (text[pos] == '!' && text[pos + 1] == '~') {
            op = WIN__OP_NRE;
            pos += 2;
        } else if (text[pos] == '!' && text[pos + 1] == '=') {
            op = WIN__OP_NE;
            pos += 2;
        } else if (text[pos] == '=') {
            op = WIN__OP_EQ;
            pos += 1;
        } else {
            base_set_err(err, err_len,
                         "selector: expected '=', '!=', '=~' or '!~' after \"%s\" at offset %zu",
                         shown, pos);
            goto fail;
        }
        pos = skip_ws(text, pos);
        if (text[pos] != '"' && text[pos] != '\'') {
            base_set_err(err, err_len,
                         "selector: expected a quoted value after \"%s\" at offset %zu", shown,
                         pos);
            goto fail;
        }
        char *value = parse_string(text, &pos, err, err_len);
        if (!value)
            goto fail;
        if (sel->n >= WIN__MAX_MATCHERS) {
            free(value);
            base_set_err(err, err_len, "selector: more than %u matchers", WIN__MAX_MATCHERS);
            goto fail;
        }
        bool alias = name_len == 12 && memcmp(text + name_start_pos, "service_name", 12) == 0;
        char *name = alias ? strdup("service.name") : strndup(text + name_start_pos, name_len);
        if (!name) {
            free(value);
            selector_oom(err, err_len);
            goto fail;
        }
        if (!add_matcher(sel, name, value, op, err, err_len))
            goto fail;
        pos = skip_ws(text, pos);
        if (text[pos] == ',') {
            pos++;
            continue;
        }
        done = list_end(text, &pos, braced, err, err_len);
        if (done < 0)
            goto fail;
        if (done)
            break;
        base_set_err(err, err_len, "selector: expected ',' or '}' after matcher at offset %zu",
                     pos);
        goto fail;
    }
    pos = skip_ws(text, pos);
    if (text[pos] != '\0') {
        base_set_err(err, err_len, "selector: unexpected text after '}' at offset %zu", pos);
        goto fail;
    }
    return sel;
fail:
    win_selector_free(sel);
    if (kind)
        *kind = base_alloc_failed() ? BASE_ERR_NOMEM : BASE_ERR_BAD_ARGUMENT;
    return NULL;
}

int win__matcher_eval(const win__matcher *m, const char *value)
{
    int r;
    switch (m->op) {
    case WIN__OP_EQ:
        return strcmp(value, m->value) == 0;
    case WIN__OP_NE:
        return strcmp(value, m->value) != 0;
    case WIN__OP_RE:
        return base_regex_match(m->re, value, strlen(value));
    case WIN__OP_NRE:
        /* a match that hit a limit is an error for !~ too, never "did not match" */
        r = base_regex_match(m->re, value, strlen(value));
        return r < 0 ? -1 : !r;
    }
    return 0;
}

void win__matcher_err(const win__matcher *m, char *err, size_t err_len)
{
    int shown = shown_len(m->value, 100);
    base_set_err(err, err_len, "selector: %.100s%s\"%.*s%s\": %s", m->name,
                 m->op == WIN__OP_NRE ? "!~" : "=~", shown, m->value, m->value[shown] ? "..." : "",
                 BASE_REGEX_TOO_EXPENSIVE);
}

int win_selector_matches(const win_selector *sel, const win_attr *attrs, size_t n_attrs)
{
    if (!sel)
        return 1;
    for (uint32_t i = 0; i < sel->n; i++) {
        const char *v = "";
        /* first occurrence wins: callers list resource attributes before sample ones */
        for (size_t j = 0; j < n_attrs; j++) {
            if (attrs[j].key && strcmp(attrs[j].key, sel->m[i].name) == 0) {
                v = attrs[j].value ? attrs[j].value : "";
                break;
            }
        }
        int r = win__matcher_eval(&sel->m[i], v);
        if (r <= 0)
            return r;
    }
    return 1;
}
