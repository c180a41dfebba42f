/* The only place that includes FAISS headers: a C view of the few FAISS indexes lib/index uses.
 * Every function is extern "C", catches every C++ exception (FAISS throws faiss::FaissException,
 * std::bad_alloc, ...) and turns it into a status plus a message; no C++ type crosses.
 *
 * Vectors are float32, row-major, `dim` floats each; labels are the insertion rank (0, 1, ...)
 * of each vector. Scores are inner products (the vectors are L2-normalised, so cosines).
 * Thread safety: search is const and may run from several threads at once; everything else
 * needs exclusive access. */
#ifndef VI_FAISS_SHIM_H
#define VI_FAISS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "../common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Index kinds; the numbers are stored in files, never reused. */
enum { VI__FAISS_FLAT = 1, VI__FAISS_HNSW = 2, VI__FAISS_IVFPQ = 3 };

typedef struct vi__faiss vi__faiss;

/* A new empty index. `effort` is HNSW's efSearch or IVF's nprobe (0: default 64 / 16).
 * `n_train_hint` sizes IVF-PQ's coarse quantizer (lists ~ sqrt(n) / 2, 64..16384). */
VI_HIDDEN vi_status vi__faiss_create(int32_t kind, int32_t dim, int64_t n_train_hint,
                                     int32_t effort, vi__faiss **out);
VI_HIDDEN void vi__faiss_free(vi__faiss *f);
VI_HIDDEN int32_t vi__faiss_kind(const vi__faiss *f);
VI_HIDDEN int64_t vi__faiss_count(const vi__faiss *f);
/* Train IVF-PQ on `n` vectors (a no-op for the other kinds). */
VI_HIDDEN vi_status vi__faiss_train(vi__faiss *f, int64_t n, const float *x);
/* Append `n` vectors; their labels continue from vi__faiss_count(). */
VI_HIDDEN vi_status vi__faiss_add(vi__faiss *f, int64_t n, const float *x);
/* The `k` best labels (and inner products) for each of `nq` queries, best first; missing
 * neighbours get label -1. `scores` and `labels` hold nq * k entries. */
VI_HIDDEN vi_status vi__faiss_search(const vi__faiss *f, int64_t nq, const float *q, int32_t k,
                                     float *scores, int64_t *labels);
/* The cache of an HNSW or IVF-PQ index: its structure without its vectors, in this library's
 * own little-endian layout (docs/file-formats.md, "FAISS cache"), into a new vi__malloc'ed
 * buffer. */
VI_HIDDEN vi_status vi__faiss_cache_save(const vi__faiss *f, uint8_t **out, size_t *n);
/* Where a cached HNSW index gets its vectors back: rows [from, to) as float32 into dst. */
typedef void (*vi__faiss_rows_fn)(void *ctx, int64_t from, int64_t to, float *dst);
/* Rebuild an index of `kind` (HNSW or IVF-PQ) over `rows` vectors of `dim` from a buffer of
 * vi__faiss_cache_save. Every size and value is checked against the buffer and the index
 * before anything is allocated from it or handed to FAISS (whose own reader trusts its input
 * and leaks when it throws): VI_E_FORMAT when anything does not fit. */
VI_HIDDEN vi_status vi__faiss_cache_load(const uint8_t *buf, size_t n, int32_t kind, int32_t dim,
                                         int64_t rows, int32_t effort, vi__faiss_rows_fn fn,
                                         void *ctx, vi__faiss **out);

#ifdef __cplusplus
}
#endif

#endif
