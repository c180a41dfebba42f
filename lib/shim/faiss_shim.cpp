/* FAISS behind a C interface (faiss_shim.h). Debian's libfaiss-dev ships the static C++ library
 * only, so this file is the whole bridge: it builds the three index kinds lib/index uses, and
 * turns every exception into a status and a message. */
#include "faiss_shim.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <string>

struct vi__faiss {
    int32_t kind;
    faiss::Index *index;
};

namespace {

/* Run `body`, mapping every exception to a status and "faiss <what>: <reason>". */
template <typename F> vi_status guarded(const char *what, F &&body) {
    try {
        return body();
    } catch (const faiss::FaissException &e) {
        /* FAISS's messages carry the throwing function and file; the first line is enough. */
        std::string r(e.what());
        const size_t nl = r.find('\n');
        if (nl != std::string::npos) r.resize(nl);
        return vi__fail(VI_E_INTERNAL, "faiss %s: %s", what, r.c_str());
    } catch (const std::bad_alloc &) {
        return vi__fail(VI_E_NOMEM, "faiss %s: out of memory", what);
    } catch (const std::exception &e) {
        return vi__fail(VI_E_INTERNAL, "faiss %s: %s", what, e.what());
    } catch (...) {
        return vi__fail(VI_E_INTERNAL, "faiss %s: unknown C++ exception", what);
    }
}

constexpr int kHnswM = 32;         /* graph degree: FAISS's usual choice for 256-d vectors */
constexpr int kHnswEfBuild = 40;   /* construction beam (FAISS's default) */
constexpr int kPqM = 32;           /* 32 sub-quantizers of 8 dims: 32 bytes per vector */
constexpr int kDefaultEf = 64;
constexpr int kDefaultNprobe = 16;

/* sqrt(n) / 2 lists: FAISS's guide says 4..16 sqrt(n) for the fastest search, but assigning
 * vectors to lists dominates building with Debian's reference BLAS (measured ~1.2 GFLOP/s on one
 * core), and with 16 probes lists of 2 sqrt(n) vectors still scan well under 1 % of a
 * million-vector index per query vector. */
int64_t ivf_lists(int64_t n) {
    const int64_t l = (int64_t)std::llround(std::sqrt((double)std::max<int64_t>(n, 1)) / 2);
    return std::min<int64_t>(std::max<int64_t>(l, 64), 16384);
}

/* Apply the search-time effort to a freshly built or read index. */
void set_effort(faiss::Index *index, int32_t effort) {
    if (auto *h = dynamic_cast<faiss::IndexHNSW *>(index)) {
        h->hnsw.efSearch = effort > 0 ? effort : kDefaultEf;
    } else if (auto *ivf = dynamic_cast<faiss::IndexIVF *>(index)) {
        ivf->nprobe = (size_t)std::min<int64_t>(effort > 0 ? effort : kDefaultNprobe,
                                                (int64_t)ivf->nlist);
    }
}

int32_t kind_of(const faiss::Index *index) {
    if (dynamic_cast<const faiss::IndexHNSW *>(index)) return VI__FAISS_HNSW;
    if (dynamic_cast<const faiss::IndexIVFPQ *>(index)) return VI__FAISS_IVFPQ;
    if (dynamic_cast<const faiss::IndexFlat *>(index)) return VI__FAISS_FLAT;
    return 0;
}

} // namespace

extern "C" {

vi_status vi__faiss_create(int32_t kind, int32_t dim, int64_t n_train_hint, int32_t effort,
                           vi__faiss **out) {
    *out = nullptr;
    return guarded("create", [&]() -> vi_status {
        std::unique_ptr<faiss::Index> index;
        if (kind == VI__FAISS_FLAT) {
            index.reset(new faiss::IndexFlatIP(dim));
        } else if (kind == VI__FAISS_HNSW) {
            auto *h = new faiss::IndexHNSWFlat(dim, kHnswM, faiss::METRIC_INNER_PRODUCT);
            index.reset(h);
            h->hnsw.efConstruction = kHnswEfBuild;
        } else if (kind == VI__FAISS_IVFPQ) {
            if (dim % kPqM != 0)
                return vi__fail(VI_E_INVALID_ARG, "faiss create: dimension %d is not a multiple "
                                "of %d (IVF-PQ sub-quantizers)", (int)dim, kPqM);
            auto *quantizer = new faiss::IndexFlatIP(dim);
            faiss::IndexIVFPQ *ivf;
            try {
                ivf = new faiss::IndexIVFPQ(quantizer, dim, (size_t)ivf_lists(n_train_hint), kPqM,
                                            8, faiss::METRIC_INNER_PRODUCT);
            } catch (...) {
                delete quantizer;
                throw;
            }
            ivf->own_fields = true;
            index.reset(ivf);
            /* Fewer k-means iterations than FAISS's 25: measured no recall loss on our
             * vectors, half the training time. min_points_per_centroid 1 silences FAISS's
             * stderr warning (the library must not print); lib/index trains with enough
             * points anyway. */
            ivf->cp.niter = 10;
            ivf->cp.min_points_per_centroid = 1;
            ivf->pq.cp.niter = 10;
            ivf->pq.cp.min_points_per_centroid = 1;
        } else {
            return vi__fail(VI_E_INVALID_ARG, "faiss create: unknown index kind %d", (int)kind);
        }
        set_effort(index.get(), effort);
        auto *f = new vi__faiss;
        f->kind = kind;
        f->index = index.release();
        *out = f;
        return VI_OK;
    });
}

void vi__faiss_free(vi__faiss *f) {
    if (!f) return;
    delete f->index; /* FAISS destructors do not throw */
    delete f;
}

int32_t vi__faiss_kind(const vi__faiss *f) { return f->kind; }
int64_t vi__faiss_count(const vi__faiss *f) { return (int64_t)f->index->ntotal; }
int vi__faiss_is_trained(const vi__faiss *f) { return f->index->is_trained ? 1 : 0; }

vi_status vi__faiss_train(vi__faiss *f, int64_t n, const float *x) {
    return guarded("train", [&]() -> vi_status {
        if (!f->index->is_trained) f->index->train((faiss::Index::idx_t)n, x);
        return VI_OK;
    });
}

vi_status vi__faiss_add(vi__faiss *f, int64_t n, const float *x) {
    return guarded("add", [&]() -> vi_status {
        if (!f->index->is_trained)
            return vi__fail(VI_E_INTERNAL, "faiss add: the index is not trained");
        f->index->add((faiss::Index::idx_t)n, x);
        return VI_OK;
    });
}

vi_status vi__faiss_search(const vi__faiss *f, int64_t nq, const float *q, int32_t k,
                           float *scores, int64_t *labels) {
    static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "FAISS labels are 64-bit");
    return guarded("search", [&]() -> vi_status {
        f->index->search((faiss::Index::idx_t)nq, q, (faiss::Index::idx_t)k, scores,
                         reinterpret_cast<faiss::Index::idx_t *>(labels));
        return VI_OK;
    });
}

vi_status vi__faiss_serialize(const vi__faiss *f, uint8_t **out, size_t *n) {
    *out = nullptr;
    *n = 0;
    return guarded("serialize", [&]() -> vi_status {
        faiss::VectorIOWriter w;
        faiss::write_index(f->index, &w);
        uint8_t *buf = (uint8_t *)vi__malloc(w.data.size() ? w.data.size() : 1);
        if (!buf) return vi__fail(VI_E_NOMEM, "faiss serialize: out of memory");
        if (!w.data.empty()) std::memcpy(buf, w.data.data(), w.data.size());
        *out = buf;
        *n = w.data.size();
        return VI_OK;
    });
}

vi_status vi__faiss_deserialize(const uint8_t *buf, size_t n, int32_t effort, vi__faiss **out) {
    *out = nullptr;
    return guarded("read", [&]() -> vi_status {
        faiss::VectorIOReader r;
        r.data.assign(buf, buf + n);
        std::unique_ptr<faiss::Index> index(faiss::read_index(&r));
        const int32_t kind = kind_of(index.get());
        if (!kind) return vi__fail(VI_E_FORMAT, "faiss read: unexpected index type");
        if (kind == VI__FAISS_FLAT && index->metric_type != faiss::METRIC_INNER_PRODUCT)
            return vi__fail(VI_E_FORMAT, "faiss read: not an inner-product index");
        set_effort(index.get(), effort);
        auto *f = new vi__faiss;
        f->kind = kind;
        f->index = index.release();
        *out = f;
        return VI_OK;
    });
}

size_t vi__faiss_memory(const vi__faiss *f) {
    const size_t n = (size_t)f->index->ntotal, d = (size_t)f->index->d;
    if (auto *h = dynamic_cast<const faiss::IndexHNSW *>(f->index))
        return n * d * 4 + h->hnsw.neighbors.size() * sizeof(int32_t) +
               h->hnsw.offsets.size() * sizeof(size_t) + h->hnsw.levels.size() * sizeof(int);
    if (auto *ivf = dynamic_cast<const faiss::IndexIVFPQ *>(f->index))
        return n * (ivf->code_size + sizeof(int64_t)) + ivf->nlist * d * 4 +
               ivf->pq.centroids.size() * sizeof(float);
    return n * d * 4;
}

} // extern "C"
