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
        if (sel->m[i].has_re)
            regfree(&sel->m[i].re);
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

/* Parses a quoted value at t[*pos] (the quote). Escapes: \" \' \\ become the character;
 * any other backslash is kept, so regexes such as "a\.b" need no double escaping. */
static char *parse_string(const char *t, size_t *pos, char *err, size_t err_len)
{
    size_t start = *pos;
    char q = t[start];
    size_t i = start + 1, n = 0;
    char *out = malloc(strlen(t + start) + 1);
    if (!out) {
        base_set_err(err, err_len, "selector: out of memory");
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

static bool add_matcher(win_selector *sel, char *name, char *value, win__op op, char *err,
                        size_t err_len)
{
    win__matcher m;
    memset(&m, 0, sizeof m);
    m.name = name;
    m.value = value;
    m.op = op;
    if (op == WIN__OP_RE || op == WIN__OP_NRE) {
        char why_check[128];
        if (base_regex_check(value, why_check, sizeof why_check) != 0) {
            base_set_err(err, err_len, "selector: bad regex for %s: %s", name, why_check);
            goto fail;
        }
        /* the bare pattern first: "a)|(b" would otherwise slip past the anchors */
        int rc = regcomp(&m.re, value, REG_EXTENDED | REG_NOSUB);
        if (rc == 0) {
            regfree(&m.re);
            size_t len = strlen(value) + 5;
            char *anchored = malloc(len);
            if (!anchored) {
                base_set_err(err, err_len, "selector: out of memory");
                goto fail;
            }
            snprintf(anchored, len, "^(%s)$", value);
            rc = regcomp(&m.re, anchored, REG_EXTENDED | REG_NOSUB);
            free(anchored);
        }
        if (rc != 0) {
            char why[256];
            regerror(rc, &m.re, why, sizeof why);
            base_set_err(err, err_len, "selector: bad regex \"%s\" for %s: %s", value, name, why);
            goto fail;
        }
        m.has_re = true;
    }
    win__matcher *arr = realloc(sel->m, (sel->n + 1) * sizeof *arr);
    if (!arr) {
        if (m.has_re)
            regfree(&m.re);
        base_set_err(err, err_len, "selector: out of memory");
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

win_selector *win_selector_parse(const char *text, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = '\0';
    win_selector *sel = calloc(1, sizeof *sel);
    if (!sel) {
        base_set_err(err, err_len, "selector: out of memory");
        return NULL;
    }
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
        if (braced && text[pos] == '}') {
            pos++;
            break;
        }
        if (text[pos] == '\0') {
            if (!braced)
                break;
            base_set_err(err, err_len, "selector: missing '}' at offset %zu", pos);
            goto fail;
        }
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
            base_set_err(err, err_len, "selector: out of memory");
            goto fail;
        }
        if (!add_matcher(sel, name, value, op, err, err_len))
            goto fail;
        pos = skip_ws(text, pos);
        if (text[pos] == ',') {
            pos++;
            continue;
        }
        if (braced && text[pos] == '}') {
            pos++;
            break;
        }
        if (text[pos] == '\0') {
            if (!braced)
                break;
            base_set_err(err, err_len, "selector: missing '}' at offset %zu", pos);
            goto fail;
        }
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
    return NULL;
}

bool win__matcher_eval(const win__matcher *m, const char *value)
{
    switch (m->op) {
    case WIN__OP_EQ:
        return strcmp(value, m->value) == 0;
    case WIN__OP_NE:
        return strcmp(value, m->value) != 0;
    case WIN__OP_RE:
        return regexec(&m->re, value, 0, NULL, 0) == 0;
    case WIN__OP_NRE:
        return regexec(&m->re, value, 0, NULL, 0) != 0;
    }
    return false;
}

bool win_selector_matches(const win_selector *sel, const win_attr *attrs, size_t n_attrs)
{
    if (!sel)
        return true;
    for (uint32_t i = 0; i < sel->n; i++) {
        const char *v = "";
        /* first occurrence wins: callers list resource attributes before sample ones */
        for (size_t j = 0; j < n_attrs; j++) {
            if (attrs[j].key && strcmp(attrs[j].key, sel->m[i].name) == 0) {
                v = attrs[j].value ? attrs[j].value : "";
                break;
            }
        }
        if (!win__matcher_eval(&sel->m[i], v))
            return false;
    }
    return true;
}
