/* vi_index_* and vi_hits_*: argument checks around lib/index. */
#include <string.h>

#include "../index/index.h"

vi_status vi_index_options_init(vi_index_options *opts, size_t struct_size) {
    vi__clear_error();
    vi_index_options d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.kind = VI_INDEX_AUTO;
    d.candidates = VI__INDEX_DEFAULT_CANDIDATES;
    d.frame_neighbors = VI__INDEX_DEFAULT_NEIGHBORS;
    return vi__options_init(opts, struct_size, &d, sizeof d, "vi_index_options_init");
}

vi_status vi_index_create_with(const vi_index_options *opts, vi_index **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_index_create_with: out is NULL");
    *out = NULL;
    vi_index_options o;
    vi_status st = vi__index_resolve_options(opts, &o);
    if (st != VI_OK) return st;
    return vi__index_create(&o, out);
}

vi_status vi_index_create(vi_index **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_index_create: out is NULL");
    return vi_index_create_with(NULL, out);
}

vi_status vi_index_open(const char *path, const vi_index_options *opts, vi_index **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_index_open: out is NULL");
    *out = NULL;
    if (!path || !*path) return vi__fail(VI_E_INVALID_ARG, "vi_index_open: path is NULL or empty");
    vi_index_options o;
    vi_status st = vi__index_resolve_options(opts, &o);
    if (st != VI_OK) return st;
    st = vi__index_open(path, &o, out);
    if (st != VI_OK && !strstr(vi_last_error(), path)) vi__error_prefix("opening index %s", path);
    return st;
}

vi_status vi_index_flush(vi_index *x) {
    vi__clear_error();
    if (!x) return vi__fail(VI_E_INVALID_ARG, "vi_index_flush: index is NULL");
    return vi__index_flush(x);
}

void vi_index_free(vi_index *x) { vi__index_free(x); }

vi_status vi_index_add(vi_index *x, const char *id, const vi_embedding *e) {
    vi__clear_error();
    if (!x || !id || !e) return vi__fail(VI_E_INVALID_ARG, "vi_index_add: NULL argument");
    return vi__index_add(x, id, e);
}

int32_t vi_index_size(const vi_index *x) { return x ? x->refs.n : 0; }
int64_t vi_index_frame_count(const vi_index *x) { return x ? x->refs.total : 0; }
int32_t vi_index_kind_used(const vi_index *x) { return vi__index_kind_used(x); }

const char *vi_index_id(const vi_index *x, int32_t i) {
    return (x && i >= 0 && i < x->refs.n) ? x->refs.ids[i] : NULL;
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
    return vi__index_save(x, path);
}

vi_status vi_index_load(const char *path, vi_index **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_index_load: out is NULL");
    *out = NULL;
    if (!path) return vi__fail(VI_E_INVALID_ARG, "vi_index_load: path is NULL");
    vi_index_options o;
    vi_status st = vi__index_resolve_options(NULL, &o);
    o.read_only = 1;
    if (st == VI_OK) st = vi__index_open(path, &o, out);
    if (st != VI_OK && !strstr(vi_last_error(), path)) vi__error_prefix("reading index %s", path);
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
