/* libFuzzer target: the time and duration parsers of query/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256];
    int64_t out = 0;
    (void)query_parse_time(text, 1700000000000000000, &out, err, sizeof err);
    (void)query_parse_time(text, INT64_MAX, &out, err, sizeof err);
    (void)query_parse_time(text, 0, &out, err, sizeof err);
    (void)query_parse_step(text, &out, err, sizeof err);
    free(text);
    return 0;
}
