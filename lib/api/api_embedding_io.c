/* Embedding files and buffers. */
#include "../formats/formats.h"

#define MAX_EMBEDDING_FILE ((size_t)1 << 32)

vi_status vi_embedding_to_memory(const vi_embedding *e, void **data, size_t *size) {
    vi__clear_error();
    if (!data || !size) return vi__fail(VI_E_INVALID_ARG, "vi_embedding_to_memory: NULL output");
    *data = NULL;
    *size = 0;
    if (!e) return vi__fail(VI_E_INVALID_ARG, "vi_embedding_to_memory: embedding is NULL");
    uint8_t *buf;
    vi_status st = vi__embedding_encode(e, &buf, size);
    *data = buf;
    return st;
}

vi_status vi_embedding_from_memory(const void *data, size_t size, vi_embedding **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_embedding_from_memory: out is NULL");
    *out = NULL;
    if (!data) return vi__fail(VI_E_INVALID_ARG, "vi_embedding_from_memory: data is NULL");
    vi_status st = vi__embedding_decode(data, size, out);
    if (st != VI_OK) vi__error_prefix("reading embedding from memory");
    return st;
}

vi_status vi_embedding_save(const vi_embedding *e, const char *path) {
    vi__clear_error();
    if (!e || !path) return vi__fail(VI_E_INVALID_ARG, "vi_embedding_save: NULL argument");
    uint8_t *buf;
    size_t n;
    vi_status st = vi__embedding_encode(e, &buf, &n);
    if (st != VI_OK) return st;
    st = vi__write_file_atomic(path, buf, n);
    vi__free(buf);
    return st;
}

vi_status vi_embedding_load(const char *path, vi_embedding **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_embedding_load: out is NULL");
    *out = NULL;
    if (!path) return vi__fail(VI_E_INVALID_ARG, "vi_embedding_load: path is NULL");
    uint8_t *buf;
    size_t n;
    vi_status st = vi__read_file(path, &buf, &n, MAX_EMBEDDING_FILE);
    if (st != VI_OK) return st;
    st = vi__embedding_decode(buf, n, out);
    vi__free(buf);
    if (st != VI_OK) vi__error_prefix("reading embedding %s", path);
    return st;
}

void vi_buffer_free(void *data) { vi__free(data); }
