/* libFuzzer target: what the OTLP/HTTP listener parses before anything is authenticated or
 * decoded: the Content-Type and Content-Encoding headers and the bounded gunzip of the body
 * (receiver/codec.c). The first byte picks the output cap (so both sides of the cap are
 * reached with small inputs); the rest is the header text and the compressed body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/receiver_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    otlp__content_type ct = otlp__parse_content_type(text);
    otlp__encoding enc = otlp__parse_content_encoding(text);
    if ((unsigned)ct > OTLP__CT_OTHER || (unsigned)enc > OTLP__ENC_OTHER)
        abort();
    free(text);

    static const size_t caps[] = {0, 1, 64, 4096, (size_t)1 << 20};
    size_t max_out = caps[data[0] % (sizeof caps / sizeof caps[0])];
    uint8_t *out = NULL;
    size_t out_len = 0;
    char err[256];
    base_err rc = otlp__gunzip(data + 1, size - 1, max_out, &out, &out_len, err, sizeof err);
    if (rc == BASE_OK && (out_len > max_out || (!out && out_len)))
        abort(); /* the cap is the whole point */
    if (rc != BASE_OK && out)
        abort(); /* nothing handed out on failure */
    free(out);
    return 0;
}
