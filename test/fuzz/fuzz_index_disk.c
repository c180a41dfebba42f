/* Fuzz target: an on-disk index's manifest and data file (lib/index/index_disk.c), read as
 * vi_index_open reads them (vi__disk_store_check: the manifest, format 2 or 3; the data file's
 * header, the base records, every entry and record), then every reference found is decoded.
 *
 * Input: a flags byte, u32 manifest length (little-endian), the manifest, the data file. Flags
 * bit 0 frames the manifest as fuzz_frame.h does (the bytes are its payload); bit 1 rewrites
 * the data file's checksums (the header's, and every entry header's and record's that can be
 * found) so that mutations get past them. */
#include <stddef.h>
#include <stdint.h>

#include "common/byteorder.h"
#include "formats/formats.h"
#include "fuzz/fuzz_frame.h"
#include "index/index_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Correct every checksum of a data file in place (layout: docs/file-formats.md). */
static void fix_checksums(uint8_t *d, size_t n) {
    if (n < 64) return;
    vi__put_le32(d + 60, vi__crc32(0, d, 60));
    for (size_t p = 64; p + 48 <= n; p += 8) {
        if (vi__get_le32(d + p) != 0x31454956u) continue; /* "VIE1" */
        const uint32_t h = vi__get_le32(d + p + 4);
        if (h < 48 || h % 8 || h > n - p) continue;
        const uint64_t rec = vi__get_le64(d + p + 8);
        if (rec <= n - p - h) vi__put_le32(d + p + 32, vi__crc32(0, d + p + h, (size_t)rec));
        vi__put_le32(d + p + h - 4, vi__crc32(0, d + p, h - 4));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 5) return 0;
    const uint8_t flags = data[0];
    const size_t m = vi__get_le32(data + 1);
    if (m > size - 5) return 0;
    /* the manifest: fuzz_frame reads its first byte as the form, so give it the flag's bit 0 */
    uint8_t *framed_in = malloc(m + 1);
    if (!framed_in) return 0;
    framed_in[0] = flags & 1;
    memcpy(framed_in + 1, data + 5, m);
    size_t mn = 0;
    uint8_t *manifest = fuzz_frame(framed_in, m + 1, VI__MAGIC_INDEX, &mn);
    free(framed_in);
    const size_t dn = size - 5 - m;
    uint8_t *file = malloc(dn ? dn : 1);
    if (manifest && file) {
        memcpy(file, data + 5 + m, dn);
        if (flags & 2) fix_checksums(file, dn);
        struct vi__refs refs = {0};
        if (vi__disk_store_check(manifest, mn, file, dn, &refs) == VI_OK) {
            for (int32_t i = 0; i < refs.n; i++) {
                struct vi_embedding *e = NULL;
                if (vi__record_embedding(&refs, file, i, &e) == VI_OK) vi_embedding_free(e);
            }
        }
        vi__refs_clear(&refs);
    }
    free(manifest);
    free(file);
    return 0;
}
