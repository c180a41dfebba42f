/* Fuzz target: single-file indexes (vi_index_save's format) from bytes (input form:
 * fuzz_frame.h). What decodes is encoded again. */
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"
#include "fuzz/fuzz_frame.h"
#include "index/index_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vi__store *store = NULL;
    struct vi__refs refs = {0};
    int32_t kind = 0;
    size_t n = 0;
    uint8_t *file = fuzz_frame(data, size, VI__MAGIC_INDEX, &n);
    if (file && vi__index_file_decode(file, n, &store, &refs, &kind) == VI_OK) {
        uint8_t *again = NULL;
        size_t m = 0;
        if (vi__index_file_encode(&refs, store->base, kind, &again, &m) == VI_OK) vi__free(again);
        store->ops->close(store);
    }
    vi__refs_clear(&refs);
    free(file);
    return 0;
}
