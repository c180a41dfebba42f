/* vi_index_* and vi_hits_*: argument checks around lib/index. */
#include "../index/index.h"

#define MAX_INDEX_FILE ((size_t)1 << 36)

vi_status vi_index_create(vi_index **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_index_create: out is NULL");
    *out = vi__calloc(1, sizeof **out);
    return *out ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
}

void vi_index_free(vi_index *x) {
    if (!x) return;
    for (int32_t i = 0; i < x->n; i++) {
        vi__free(x->ids[i]);
        vi_embedding_free(x->refs[i]);
    }
    vi__free(x->ids);
    vi__free(x->refs);
    vi__free(x->model_id);
    vi__free(x);
}

vi_status vi_index_add(vi_index *x, const char *id, const vi_embedding *e) {
    vi__clear_error();
    if (!x || !id || !e) return vi__fail(VI_E_INVALID_ARG, "vi_index_add: NULL argument");
    if (x->n == INT32_MAX) return vi__fail(VI_E_INVALID_ARG, "vi_index_add: index is full");
    return vi__index_add(x, id, e);
}

int32_t vi_index_size(const vi_index *x) { return x ? x->n : 0; }

const char *vi_index_id(const vi_index *x, int32_t i) {
    return (x && i >= 0 && i < x->n) ? x->ids[i] : NULL;
}

vi_status vi_index_search(const vi_index *x, const vi_embedding *q, int32_t k, vi_hits **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_index_search: out is NULL");
    *out = NULL;
    if (!x || !q) return vi__fail(VI_E_INVALID_ARG, "vi_index_search: index or query is NULL");
    return vi__index_search(x, q, k <= 0 ? 10 : k, out);
}

vi_status vi_index_save(const vi_index *x, const char *path) {
    vi__clear_error();
    if (!x || !path) return vi__fail(VI_E_INVALID_ARG, "vi_index_save: NULL argument");
    uint8_t *buf;
    size_t n;
    vi_status st = vi__index_encode(x, &buf, &n);
    if (st != VI_OK) return st;
    st = vi__write_file_atomic(path, buf, n);
    vi__free(buf);
    return st;
}

vi_status vi_index_load(const char *path, vi_index **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_index_load: out is NULL");
    *out = NULL;
    if (!path) return vi__fail(VI_E_INVALID_ARG, "vi_index_load: path is NULL");
    uint8_t *buf;
    size_t n;
    vi_status st = vi__read_file(path, &buf, &n, MAX_INDEX_FILE);
    if (st != VI_OK) return st;
    st = vi__index_decode(buf, n, out);
    vi__free(buf);
    if (st != VI_OK) vi__error_prefix("reading index %s", path);
    return st;
}

int32_t vi_hits_count(const vi_hits *h) { return h ? h->n : 0; }
const char *vi_hits_id(const vi_hits *h, int32_t i) {
    return (h && i >= 0 && i < h->n) ? h->ids[i] : NULL;
}
float vi_hits_score(const vi_hits *h, int32_t i) {
    return (h && i >= 0 && i < h->n) ? h->matches[i]->score : 0.0f;
}
const vi_match *vi_hits_match(const vi_hits *h, int32_t i) {
    return (h && i >= 0 && i < h->n) ? h->matches[i] : NULL;
}
