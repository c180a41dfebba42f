/* Fuzz target: embedding files (.vemb) from bytes: the container, then the embedding's entries
 * (input form: fuzz_frame.h). Anything may fail, nothing may crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"
#include "fuzz/fuzz_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n = 0;
    uint8_t *file = fuzz_frame(data, size, VI__MAGIC_EMBEDDING, &n);
    struct vi_embedding *e = NULL;
    if (file && vi__embedding_decode(file, n, &e) == VI_OK) {
        uint8_t *again = NULL;
        size_t m = 0;
        /* what was accepted is written back */
        if (vi__embedding_encode(e, &again, &m) == VI_OK) vi__free(again);
        vi_embedding_free(e);
    }
    free(file);
    return 0;
}
