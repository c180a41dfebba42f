/* Fuzz target: embedding files (.vemb) from bytes: the container, then the embedding's entries.
 * Anything may fail, nothing may crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct vi_embedding *e = NULL;
    if (vi__embedding_decode(data, size, &e) == VI_OK) {
        uint8_t *again = NULL;
        size_t n = 0;
        /* what was accepted is written back */
        if (vi__embedding_encode(e, &again, &n) == VI_OK) vi__free(again);
        vi_embedding_free(e);
    }
    return 0;
}
