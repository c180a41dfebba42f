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
/* 1 when the index can take vectors (IVF-PQ must be trained first). */
VI_HIDDEN int vi__faiss_is_trained(const vi__faiss *f);
/* Train IVF-PQ on `n` vectors (a no-op for the other kinds). */
VI_HIDDEN vi_status vi__faiss_train(vi__faiss *f, int64_t n, const float *x);
/* Append `n` vectors; their labels continue from vi__faiss_count(). */
VI_HIDDEN vi_status vi__faiss_add(vi__faiss *f, int64_t n, const float *x);
/* The `k` best labels (and inner products) for each of `nq` queries, best first; missing
 * neighbours get label -1. `scores` and `labels` hold nq * k entries. */
VI_HIDDEN vi_status vi__faiss_search(const vi__faiss *f, int64_t nq, const float *q, int32_t k,
                                     float *scores, int64_t *labels);
/* FAISS's own serialisation, into a new vi__malloc'ed buffer / from a buffer. */
VI_HIDDEN vi_status vi__faiss_serialize(const vi__faiss *f, uint8_t **out, size_t *n);
VI_HIDDEN vi_status vi__faiss_deserialize(const uint8_t *buf, size_t n, int32_t effort,
                                          vi__faiss **out);
/* Bytes of memory the index holds (codes, graph links, centroids), for reports. */
VI_HIDDEN size_t vi__faiss_memory(const vi__faiss *f);

#ifdef __cplusplus
}
#endif

#endif
