/* User-supplied regular expressions on PCRE2, bounded at compile and at match time
 * (see base.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

struct base_regex {
    pcre2_code *code;
    /* read-only during pcre2_match, so shared by every thread matching this regex */
    pcre2_match_context *mctx;
    base_regex_budget *budget; /* borrowed; NULL = no per-query budget */
};

void base_regex_budget_init(base_regex_budget *b, int64_t ns)
{
    atomic_init(&b->left_ns, ns);
}

void base_regex_set_budget(base_regex *re, base_regex_budget *b)
{
    if (re)
        re->budget = b;
}

/* Why RE2 semantics need these options:
 *   UTF: patterns and subjects are UTF-8, "." is a character (invalid subjects: see
 *     base_regex_match). Not PCRE2_MATCH_INVALID_UTF: it makes each invalid sequence the
 *     end of the subject for PCRE2_ENDANCHORED, so "ab" would fully match "ab\xff".
 *   NEVER_UCP: \d, \w, \s and \b stay ASCII, as in RE2 ("(*UCP)" is refused).
 *   DOTALL: Prometheus compiles matchers with RE2's DotNL, so "." matches "\n" too (and the
 *     POSIX regexes this replaced did the same).
 *   DOLLAR_ENDONLY: "$" is the end of the text, not also before a final "\n", as in RE2.
 *   NEVER_BACKSLASH_C: "\C" matches one byte of a UTF-8 character and can leave the
 *     matcher inside one; PCRE2's own documentation says to lock it out for patterns from
 *     outside. */
#define COMPILE_OPTIONS                                                                            \
    (PCRE2_UTF | PCRE2_NEVER_UCP | PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C)

void base_regex_free(base_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    pcre2_match_context_free(re->mctx);
    free(re);
}

base_regex *base_regex_compile(const char *pattern, unsigned flags, char *err, size_t err_len)
{
    base_set_err(err, err_len, "%s", "");
    if (!pattern)
        pattern = "";
    size_t len = strnlen(pattern, BASE_REGEX_MAX_LEN + 1);
    if (len > BASE_REGEX_MAX_LEN) {
        base_set_err(err, err_len, "regex longer than %d bytes", BASE_REGEX_MAX_LEN);
        return NULL;
    }
    base_regex *re = calloc(1, sizeof *re);
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (!re || !cctx)
        goto oom;
    /* PCRE2's compiler recurses per nesting level (default limit 250); real selectors nest
     * a few groups */
    pcre2_set_parens_nest_limit(cctx, BASE_REGEX_MAX_NEST);
    pcre2_set_max_pattern_length(cctx, BASE_REGEX_MAX_LEN);
    uint32_t options = COMPILE_OPTIONS;
    if (flags & BASE_REGEX_ANCHORED)
        /* options rather than wrapping the text in "^(?:...)$": a pattern such as "a)|(b"
         * or "(?x)a#" would otherwise escape or swallow the wrapper */
        options |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    int code;
    PCRE2_SIZE offset;
    re->code = pcre2_compile((PCRE2_SPTR)pattern, len, options, &code, &offset, cctx);
    pcre2_compile_context_free(cctx);
    cctx = NULL;
    if (!re->code) {
        PCRE2_UCHAR why[160];
        if (pcre2_get_error_message(code, why, sizeof why) < 0)
            strcpy((char *)why, "cannot compile");
        base_set_err(err, err_len, "%s at offset %zu", (const char *)why, (size_t)offset);
        free(re);
        return NULL;
    }
    /* Back-references make matching NP-hard; they are what drove glibc's regexec into
     * unbounded recursion (CVE-2018-20796, CVE-2019-9192), and RE2 has none. PCRE2 resolves
     * every form (\1, \g{-1}, \k<n>, (?P=n), a condition on a group) to a group number, so
     * the highest one referenced finds them all without parsing the pattern ourselves. */
    uint32_t backref_max = 0;
    if (pcre2_pattern_info(re->code, PCRE2_INFO_BACKREFMAX, &backref_max) != 0 || backref_max) {
        base_set_err(err, err_len,
                     "back-references (\\1, \\g{1}, \\k<name>, (?P=name), (?(1)...)) are not "
                     "supported: use RE2/Go syntax");
        pcre2_code_free(re->code);
        free(re);
        return NULL;
    }
    if (!(re->mctx = pcre2_match_context_create(NULL)))
        goto oom;
    pcre2_set_match_limit(re->mctx, BASE_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(re->mctx, BASE_REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(re->mctx, BASE_REGEX_HEAP_LIMIT_KIB);
    return re;
oom:
    pcre2_compile_context_free(cctx);
    base_regex_free(re);
    base_set_err(err, err_len, "out of memory compiling the regex");
    base_alloc_failed_note();
    return NULL;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when there is none (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF, exactly what PCRE2 refuses). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    uint32_t c = s[0], cp, min;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* A copy of `s` with every byte that does not start a valid sequence replaced by U+FFFD,
 * as Go's regexp reads such bytes (utf8.DecodeRune: RuneError, width 1); NULL when out of
 * memory. */
static char *replace_invalid_utf8(const char *s, size_t len, size_t *out_len)
{
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(3 * len + 1);
    if (!out)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(u + i, len - i);
        if (n) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static int match_unbudgeted(const base_regex *re, const char *subject, size_t len);

int base_regex_match(const base_regex *re, const char *subject, size_t len)
{
    if (!re->budget)
        return match_unbudgeted(re, subject, len);
    if (atomic_load_explicit(&re->budget->left_ns, memory_order_relaxed) <= 0)
        return -1;
    /* two vDSO clock reads (~40 ns) beside a match that costs at least as much; callers
     * match once per distinct value, not once per sample */
    int64_t t0 = base_now_mono_ns();
    int rc = match_unbudgeted(re, subject, len);
    int64_t spent = base_now_mono_ns() - t0;
    if (atomic_fetch_sub_explicit(&re->budget->left_ns, spent, memory_order_relaxed) - spent <= 0)
        return -1;
    return rc;
}

static int match_unbudgeted(const base_regex *re, const char *subject, size_t len)
{
    /* Match data is per call: pcre2_match writes into it (and keeps its backtracking
     * frames there), so it cannot be shared, and a per-thread cache would keep up to the
     * heap limit per thread for good. Making it costs ~0.1 us (measured), paid once per
     * distinct value: the store's callers evaluate a matcher once per series or label set. */
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md)
        return -1;
    if (!subject) {
        subject = "";
        len = 0;
    }
    int rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, md, re->mctx);
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) {
        /* Values come from senders and the store cuts long ones at a byte count, so invalid
         * UTF-8 happens; PCRE2 refuses it (after checking, in O(len), what is valid). Only
         * then is a repaired copy made and matched. */
        size_t fixed_len;
        char *fixed = replace_invalid_utf8(subject, len, &fixed_len);
        rc = fixed ? pcre2_match(re->code, (PCRE2_SPTR)fixed, fixed_len, 0, 0, md, re->mctx)
                   : PCRE2_ERROR_NOMEMORY;
        free(fixed);
    }
    pcre2_match_data_free(md);
    /* rc 0: matched, but the one-pair ovector was too small for the groups: still a match */
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    /* PCRE2_ERROR_MATCHLIMIT, _DEPTHLIMIT, _HEAPLIMIT, _NOMEMORY: never a silent no-match */
    return -1;
}
