/* Whole-file reads, CRC-32 and options copying (crash-safe writes: atomic_file.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common.h"

uint32_t vi__crc32(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n > 0) {
        uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

vi_status vi__read_file(const char *path, uint8_t **data, size_t *size, size_t max_size) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return vi__fail(VI_E_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return vi__fail(VI_E_IO, "cannot read %s: not a regular file", path);
    }
    if (max_size && (uint64_t)st.st_size > max_size) {
        fclose(f);
        return vi__fail(VI_E_IO, "cannot read %s: file too large (%lld bytes)", path,
                        (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = vi__malloc(n);
    if (!buf) {
        fclose(f);
        return vi__fail(VI_E_NOMEM, "cannot read %s: out of memory (%zu bytes)", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || got != n) {
        vi__free(buf);
        return vi__fail(VI_E_IO, "cannot read %s: short read", path);
    }
    *data = buf;
    *size = n;
    return VI_OK;
}

vi_status vi__options_init(void *opts, size_t struct_size, const void *defaults,
                           size_t defaults_size, const char *fn) {
    if (!opts) return vi__fail(VI_E_INVALID_ARG, "%s: opts is NULL", fn);
    if (struct_size < sizeof(uint32_t) || struct_size > 65536)
        return vi__fail(VI_E_INVALID_ARG, "%s: bad struct_size %zu", fn, struct_size);
    uint32_t size = (uint32_t)struct_size;
    memset(opts, 0, struct_size);
    memcpy(opts, defaults, struct_size < defaults_size ? struct_size : defaults_size);
    memcpy(opts, &size, sizeof size);
    return VI_OK;
}

vi_status vi__copy_options(void *dst, size_t dst_size, const void *src) {
    uint32_t src_size;
    memcpy(&src_size, src, sizeof src_size);
    if (src_size < sizeof(uint32_t) * 2)
        return vi__fail(VI_E_INVALID_ARG,
                        "options struct_size %u is too small: initialise options with their "
                        "vi_*_options_init function", src_size);
    size_t n = src_size < dst_size ? src_size : dst_size;
    uint32_t own_size = (uint32_t)dst_size;
    memcpy(dst, src, n);
    memcpy(dst, &own_size, sizeof own_size);
    return VI_OK;
}
