/* Fuzz target: an on-disk index's manifest and data file, from bytes: the first 4 bytes
 * (little-endian) give the manifest's length, the manifest follows, the data file is the rest.
 * Both are read as vi_index_open reads them (lib/index/index_disk.c), entries and records
 * CRC-checked; every reference found is then decoded. */
#include <stddef.h>
#include <stdint.h>

#include "index/index_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    const size_t m = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 |
                     (size_t)data[3] << 24;
    if (m > size - 4) return 0;
    struct vi__refs refs = {0};
    if (vi__disk_store_check(data + 4, m, data + 4 + m, size - 4 - m, &refs) == VI_OK) {
        for (int32_t i = 0; i < refs.n; i++) {
            struct vi_embedding *e = NULL;
            if (vi__record_embedding(&refs, data + 4 + m, i, &e) == VI_OK) vi_embedding_free(e);
        }
    }
    vi__refs_clear(&refs);
    return 0;
}
