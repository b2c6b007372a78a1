/* libFuzzer target: the selector parser and matcher (PCRE2 regexes with match limits). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "window/window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256];
    win_selector *sel = win_selector_parse(text, NULL, err, sizeof err);
    if (sel) {
        /* a long value lets backtracking patterns reach the match limit; an invalid UTF-8
         * one takes the U+FFFD path */
        static char long_value[2001];
        if (!long_value[0]) {
            memset(long_value, 'a', sizeof long_value - 2);
            long_value[sizeof long_value - 2] = 'b';
        }
        const win_attr attrs[] = {{"service.name", "checkout"},
                                  {"thread.name", "gc"},
                                  {"a", long_value},
                                  {"x", "ab\xff\xc3"}};
        int r = win_selector_matches(sel, attrs, 4);
        if (r < -1 || r > 1)
            abort();
        win_selector_free(sel);
    }
    free(text);
    return 0;
}
