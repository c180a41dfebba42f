/* Fuzz target: the FAISS cache payload (lib/shim/faiss_shim.cpp, vi__faiss_cache_load). The
 * first byte picks the kind (HNSW or IVF-PQ), the next four the number of vectors (at most 512),
 * the rest is the payload, read for 32-dim vectors (IVF-PQ's 32 sub-quantizers of one dimension
 * each; small, so that a run is fast). What loads is searched, which walks the graph or the
 * lists it was given. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "shim/faiss_shim.h"

#define DIM 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Deterministic unit vectors for the rows the cache is rebuilt around. */
static void rows(void *ctx, int64_t from, int64_t to, float *dst) {
    (void)ctx;
    for (int64_t r = from; r < to; r++) {
        double norm = 0;
        for (int d = 0; d < DIM; d++) {
            const float v = (float)sin((double)(r * DIM + d) * 0.7071);
            dst[(r - from) * DIM + d] = v;
            norm += (double)v * v;
        }
        for (int d = 0; d < DIM; d++) dst[(r - from) * DIM + d] /= (float)sqrt(norm + 1e-12);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 5) return 0;
    const int32_t kind = data[0] & 1 ? VI__FAISS_HNSW : VI__FAISS_IVFPQ;
    const int64_t n = (int64_t)(((uint32_t)data[1] | (uint32_t)data[2] << 8 |
                                 (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24) % 513);
    vi__faiss *f = NULL;
    if (vi__faiss_cache_load(data + 5, size - 5, kind, DIM, n, 8, rows, NULL, &f) == VI_OK) {
        float q[2 * DIM], scores[2 * 4];
        int64_t labels[2 * 4];
        rows(NULL, 3, 5, q);
        vi__faiss_search(f, 2, q, 4, scores, labels);
        uint8_t *again = NULL;
        size_t m = 0;
        if (vi__faiss_cache_save(f, &again, &m) == VI_OK) vi__free(again);
        vi__faiss_free(f);
    }
    return 0;
}
