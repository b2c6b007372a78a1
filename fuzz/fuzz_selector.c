/* libFuzzer target: the selector parser and matcher. */
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
    win_selector *sel = win_selector_parse(text, err, sizeof err);
    if (sel) {
        const win_attr attrs[] = {{"service.name", "checkout"}, {"thread.name", "gc"}};
        (void)win_selector_matches(sel, attrs, 2);
        win_selector_free(sel);
    }
    free(text);
    return 0;
}
