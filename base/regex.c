/* Complexity guard for user-supplied POSIX extended regexes (see base.h). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"

/* expanded nodes allowed: far above any real selector, far below what hurts regcomp */
#define MAX_NODES 4000
#define MAX_DEPTH 32

typedef struct level {
    uint64_t total; /* nodes of this group so far, all alternatives summed */
    uint64_t last;  /* nodes of the atom a following repeat would copy; 0: none */
} level;

/* Skips a bracket expression starting at p[i] == '['; returns the index after it, or the
 * length when it is unterminated (regcomp then rejects the pattern itself). */
static size_t skip_bracket(const char *p, size_t i, size_t len)
{
    i++;
    if (i < len && p[i] == '^')
        i++;
    if (i < len && p[i] == ']')
        i++; /* a leading ']' is a literal */
    while (i < len && p[i] != ']') {
        if (p[i] == '[' && i + 1 < len && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            char close = p[i + 1];
            size_t j = i + 2;
            while (j + 1 < len && !(p[j] == close && p[j + 1] == ']'))
                j++;
            i = j + 2;
            continue;
        }
        i++;
    }
    return i < len ? i + 1 : len;
}

/* Parses "{m}", "{m,}" or "{m,n}" at p[i] == '{'; returns the index after it and sets
 * *copies to how many times regcomp copies the atom, or returns i when it is not a valid
 * bound (then it is a literal '{' to regcomp, or an error it reports). */
static size_t parse_bound(const char *p, size_t i, size_t len, uint64_t *copies)
{
    size_t j = i + 1;
    uint64_t m = 0, n = 0;
    bool have_m = false, have_n = false, comma = false;
    while (j < len && p[j] >= '0' && p[j] <= '9') {
        m = m < 100000 ? m * 10 + (uint64_t)(p[j] - '0') : m;
        have_m = true;
        j++;
    }
    if (j < len && p[j] == ',') {
        comma = true;
        j++;
        while (j < len && p[j] >= '0' && p[j] <= '9') {
            n = n < 100000 ? n * 10 + (uint64_t)(p[j] - '0') : n;
            have_n = true;
            j++;
        }
    }
    if (j >= len || p[j] != '}' || (!have_m && !have_n))
        return i;
    uint64_t c = have_n ? n : comma ? m + 1 : m;
    if (c < m)
        c = m;
    *copies = c ? c : 1;
    return j + 1;
}

int base_regex_check(const char *pattern, char *err, size_t err_len)
{
    size_t len = strlen(pattern);
    if (len > BASE_REGEX_MAX_LEN) {
        base_set_err(err, err_len, "regex longer than %d bytes", BASE_REGEX_MAX_LEN);
        return -1;
    }
    level st[MAX_DEPTH + 1];
    size_t depth = 0;
    st[0] = (level){0, 0};
    size_t i = 0;
    bool prev_repeat = false;
    while (i < len) {
        char c = pattern[i];
        uint64_t atom = 0;   /* a new atom of this many nodes, or */
        uint64_t copies = 0; /* a repeat of the last atom this many times */
        switch (c) {
        case '\\':
            atom = 1;
            i += i + 1 < len ? 2 : 1;
            break;
        case '[':
            atom = 1;
            i = skip_bracket(pattern, i, len);
            break;
        case '(':
            if (depth == MAX_DEPTH) {
                base_set_err(err, err_len, "regex nests more than %d groups", MAX_DEPTH);
                return -1;
            }
            st[++depth] = (level){0, 0};
            prev_repeat = false;
            i++;
            continue;
        case ')':
            if (depth == 0) {
                atom = 1; /* unmatched: a literal, or regcomp's error */
                i++;
                break;
            }
            atom = st[depth].total + 1;
            depth--;
            i++;
            break;
        case '|':
            st[depth].last = 0;
            prev_repeat = false;
            i++;
            continue;
        case '*':
        case '?':
            copies = 2; /* the star node itself, and no copy: count it as a doubling
                         * anyway so stacked stars stay bounded too */
            i++;
            break;
        case '+':
            copies = 2;
            i++;
            break;
        case '{': {
            size_t j = parse_bound(pattern, i, len, &copies);
            if (j == i) {
                atom = 1;
                i++;
            } else {
                i = j;
            }
            break;
        }
        default:
            atom = 1;
            i++;
            break;
        }
        level *l = &st[depth];
        if (copies && prev_repeat) {
            /* meaningless in ERE, and glibc's epsilon closure over them takes
             * exponential time once the pattern is grouped ("^(a**++)$") */
            base_set_err(err, err_len, "regex repeats a repeat (\"a*+\", \"a+{2}\")");
            return -1;
        }
        prev_repeat = copies != 0;
        if (copies) {
            /* the repeated atom's nodes are already counted once */
            uint64_t base = l->last ? l->last : 1;
            uint64_t grown = base * copies;
            if (copies > MAX_NODES || grown > MAX_NODES) {
                base_set_err(err, err_len, "regex too complex (repeats expand beyond %d nodes)",
                             MAX_NODES);
                return -1;
            }
            l->total += grown - base;
            l->last = grown;
        } else {
            l->total += atom;
            l->last = atom;
        }
        if (l->total > MAX_NODES) {
            base_set_err(err, err_len, "regex too complex (repeats expand beyond %d nodes)",
                         MAX_NODES);
            return -1;
        }
    }
    return 0;
}
