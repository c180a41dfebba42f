/* How the fuzz targets of checksummed formats read their input. Every file the library parses
 * carries CRC-32s, which random mutations almost never keep right: a fuzzer fed whole files only
 * explores the checks a file meets first. So the first byte of the input chooses:
 *   even: the rest is the whole file, as on disk (header, zlib stream, checksums);
 *   odd:  the rest is the container's uncompressed payload (the list of entries), framed here
 *         with a valid header and checksums (docs/file-formats.md), so that mutations reach the
 *         entries and what the parsers make of them.
 * Both forms replay the same way without libFuzzer: nothing depends on the build. */
#ifndef VI_FUZZ_FRAME_H
#define VI_FUZZ_FRAME_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The file to parse, in a new malloc'ed buffer of `*n` bytes (NULL when the input is empty). */
static inline uint8_t *fuzz_frame(const uint8_t *data, size_t size, const char magic[8],
                                  size_t *n) {
    *n = 0;
    if (size < 1) return NULL;
    const uint8_t *body = data + 1;
    const size_t len = size - 1;
    if (!(data[0] & 1)) {
        uint8_t *copy = malloc(len ? len : 1);
        if (copy && len) memcpy(copy, body, len);
        *n = len;
        return copy;
    }
    /* a zlib stream of stored blocks: no deflate state set up on every run (it took half of
     * fuzz_embedding's time), and the parser inflates it like any other */
    const size_t blocks = len / 65535 + 1, clen = 2 + 5 * blocks + len + 4;
    uint8_t *file = malloc(40 + clen);
    if (!file) return NULL;
    uint8_t *z = file + 40;
    *z++ = 0x78;
    *z++ = 0x01;
    for (size_t b = 0, at = 0; b < blocks; b++) {
        const size_t part = len - at < 65535 ? len - at : 65535;
        *z++ = b + 1 == blocks; /* BFINAL, BTYPE 00 (stored) */
        z[0] = (uint8_t)part;
        z[1] = (uint8_t)(part >> 8);
        z[2] = (uint8_t)~part;
        z[3] = (uint8_t)(~part >> 8);
        if (part) memcpy(z + 4, body + at, part);
        z += 4 + part;
        at += part;
    }
    const uint32_t adler = (uint32_t)adler32(1, body, (uInt)len);
    for (int i = 0; i < 4; i++) *z++ = (uint8_t)(adler >> (24 - 8 * i));
    const uint64_t fields[2] = {len, clen};
    memcpy(file, magic, 8);
    for (int i = 0; i < 4; i++) file[8 + i] = (uint8_t)(1u >> (8 * i)); /* format version 1 */
    memset(file + 12, 0, 4);
    for (int f = 0; f < 2; f++)
        for (int i = 0; i < 8; i++) file[16 + 8 * f + i] = (uint8_t)(fields[f] >> (8 * i));
    const uint32_t pcrc = (uint32_t)crc32(0, body, (uInt)len);
    for (int i = 0; i < 4; i++) file[32 + i] = (uint8_t)(pcrc >> (8 * i));
    const uint32_t hcrc = (uint32_t)crc32(0, file, 36);
    for (int i = 0; i < 4; i++) file[36 + i] = (uint8_t)(hcrc >> (8 * i));
    *n = 40 + clen;
    return file;
}

#endif
