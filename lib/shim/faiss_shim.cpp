/* FAISS behind a C interface (faiss_shim.h). Debian's libfaiss-dev ships the static C++ library
 * only, so this file is the whole bridge: it builds the three index kinds lib/index uses, saves
 * and rebuilds the structure of the approximate ones for the on-disk cache, and turns every
 * exception into a status and a message. */
#include "faiss_shim.h"

#include "../common/byteorder.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/FaissException.h>

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

} // extern "C"

/* ---- cache: the structure of an HNSW or IVF-PQ index in our own layout ----------------------
 *
 * FAISS's own reader trusts its input (a damaged file throws from half-built objects, which
 * leak), so the cache holds only what cannot be recomputed cheaply, in a layout this file reads
 * itself and checks whole before building anything:
 *   HNSW:   i32 dim, i64 n, i32 M, i32 entry point, i32 max level, i32 efConstruction,
 *           n x i32 levels, i64 links, links x i32 neighbours (-1 = none). The vectors are the
 *           index's own (the rows source), so they are not stored twice.
 *   IVF-PQ: i32 dim, i64 n, i64 lists, i32 M, i32 bits, lists x dim f32 coarse centroids,
 *           M x 256 x (dim / M) f32 codebooks, lists x i64 list sizes, then per list its
 *           codes (size x M bytes) and labels (size x i64).
 * Everything little-endian. */

namespace {

struct Writer {
    std::vector<uint8_t> b;
    void u32(uint32_t v) {
        for (int i = 0; i < 4; i++) b.push_back((uint8_t)(v >> (8 * i)));
    }
    void i32(int32_t v) { u32((uint32_t)v); }
    void i64(int64_t v) {
        u32((uint32_t)(uint64_t)v);
        u32((uint32_t)((uint64_t)v >> 32));
    }
    void f32(float v) {
        uint32_t u;
        std::memcpy(&u, &v, 4);
        u32(u);
    }
    void bytes(const uint8_t *p, size_t n) { b.insert(b.end(), p, p + n); }
};

struct Reader {
    const uint8_t *p;
    size_t left;
    bool ok = true;
    bool take(size_t n, const uint8_t **out) {
        if (!ok || left < n) return ok = false;
        *out = p;
        p += n;
        left -= n;
        return true;
    }
    int32_t i32() {
        const uint8_t *q;
        return take(4, &q) ? vi__get_lei32(q) : 0;
    }
    int64_t i64() {
        const uint8_t *q;
        return take(8, &q) ? vi__get_lei64(q) : 0;
    }
    /* `count` values of `size` bytes, only when the buffer holds them */
    const uint8_t *array(int64_t count, size_t size) {
        const uint8_t *q = nullptr;
        if (count < 0 || (uint64_t)count > left / size) {
            ok = false;
            return nullptr;
        }
        take((size_t)count * size, &q);
        return q;
    }
};

vi_status bad_cache(const char *why) { return vi__fail(VI_E_FORMAT, "FAISS cache: %s", why); }

constexpr int64_t kRowsChunk = 8192;

/* Fill an index's flat storage from the rows source, in chunks. */
void add_rows(faiss::Index *storage, int32_t dim, int64_t rows, vi__faiss_rows_fn fn, void *ctx) {
    std::vector<float> buf((size_t)std::min<int64_t>(rows, kRowsChunk) * (size_t)dim);
    for (int64_t from = 0; from < rows; from += kRowsChunk) {
        const int64_t to = std::min(rows, from + kRowsChunk);
        fn(ctx, from, to, buf.data());
        storage->add((faiss::Index::idx_t)(to - from), buf.data());
    }
}

vi_status load_hnsw(Reader &r, int32_t dim, int64_t rows, int32_t effort, vi__faiss_rows_fn fn,
                    void *ctx, vi__faiss **out) {
    const int32_t d = r.i32();
    const int64_t n = r.i64();
    const int32_t m = r.i32(), entry = r.i32(), max_level = r.i32(), ef_build = r.i32();
    if (!r.ok || d != dim || n != rows || n > INT32_MAX || m != kHnswM || ef_build < 1 ||
        ef_build > 4096)
        return bad_cache("HNSW header does not match the index");
    std::unique_ptr<faiss::IndexHNSWFlat> h(
        new faiss::IndexHNSWFlat(dim, kHnswM, faiss::METRIC_INNER_PRODUCT));
    faiss::HNSW &g = h->hnsw;
    const int32_t top = (int32_t)g.cum_nneighbor_per_level.size() - 1; /* levels 1..top */
    const uint8_t *lv = r.array(n, 4);
    if (!r.ok) return bad_cache("truncated levels");
    g.levels.resize((size_t)n);
    g.offsets.assign((size_t)n + 1, 0);
    int32_t highest = 0;
    for (int64_t i = 0; i < n; i++) {
        const int32_t l = vi__get_lei32(lv + 4 * i);
        if (l < 1 || l > top) return bad_cache("a node's level is out of range");
        g.levels[(size_t)i] = l;
        g.offsets[(size_t)i + 1] = g.offsets[(size_t)i] + (size_t)g.cum_nneighbor_per_level[(size_t)l];
        highest = std::max(highest, l);
    }
    const int64_t links = r.i64();
    if (!r.ok || links < 0 || (uint64_t)links != g.offsets[(size_t)n])
        return bad_cache("link count does not match the levels");
    const uint8_t *nb = r.array(links, 4);
    if (!r.ok || r.left != 0) return bad_cache("truncated or padded links");
    g.neighbors.resize((size_t)links);
    for (int64_t k = 0; k < links; k++) {
        const int32_t v = vi__get_lei32(nb + 4 * k);
        if (v < -1 || v >= n) return bad_cache("a link points outside the index");
        g.neighbors[(size_t)k] = v;
    }
    if (n == 0 ? (entry != -1 || max_level != -1)
               : (entry < 0 || entry >= n || max_level != highest - 1 ||
                  g.levels[(size_t)entry] - 1 != max_level))
        return bad_cache("bad entry point");
    g.entry_point = entry;
    g.max_level = max_level;
    g.efConstruction = ef_build;
    add_rows(h->storage, dim, n, fn, ctx);
    h->ntotal = (faiss::Index::idx_t)n;
    set_effort(h.get(), effort);
    auto *f = new vi__faiss;
    f->kind = VI__FAISS_HNSW;
    f->index = h.release();
    *out = f;
    return VI_OK;
}

vi_status load_ivfpq(Reader &r, int32_t dim, int64_t rows, int32_t effort, vi__faiss **out) {
    const int32_t d = r.i32();
    const int64_t n = r.i64(), lists = r.i64();
    const int32_t m = r.i32(), bits = r.i32();
    if (!r.ok || d != dim || n != rows || lists < 1 || lists > 65536 || m != kPqM || bits != 8 ||
        dim % kPqM != 0)
        return bad_cache("IVF-PQ header does not match the index");
    const size_t code_size = (size_t)m, dsub = (size_t)(dim / m);
    const uint8_t *cent = r.array(lists * dim, 4);
    const uint8_t *book = r.array((int64_t)(m * 256 * dsub), 4);
    const uint8_t *sizes = r.array(lists, 8);
    if (!r.ok) return bad_cache("truncated centroids");
    std::vector<float> c((size_t)lists * (size_t)dim);
    for (size_t i = 0; i < c.size(); i++)
        if (!std::isfinite(c[i] = vi__get_lef32(cent + 4 * i))) return bad_cache("bad centroid");
    std::vector<float> pq((size_t)m * 256 * dsub);
    for (size_t i = 0; i < pq.size(); i++)
        if (!std::isfinite(pq[i] = vi__get_lef32(book + 4 * i))) return bad_cache("bad codebook");
    int64_t total = 0;
    for (int64_t l = 0; l < lists; l++) {
        const int64_t s = vi__get_lei64(sizes + 8 * l);
        if (s < 0 || s > n - total) return bad_cache("list sizes exceed the index");
        total += s;
    }
    if (total != n) return bad_cache("list sizes do not add up to the index");
    auto *quantizer = new faiss::IndexFlatIP(dim);
    std::unique_ptr<faiss::IndexIVFPQ> ivf;
    try {
        ivf.reset(new faiss::IndexIVFPQ(quantizer, dim, (size_t)lists, m, 8,
                                        faiss::METRIC_INNER_PRODUCT));
    } catch (...) {
        delete quantizer;
        throw;
    }
    ivf->own_fields = true;
    quantizer->add((faiss::Index::idx_t)lists, c.data());
    ivf->pq.centroids = std::move(pq);
    ivf->is_trained = true;
    std::vector<faiss::Index::idx_t> ids;
    for (int64_t l = 0; l < lists; l++) {
        const int64_t s = vi__get_lei64(sizes + 8 * l);
        const uint8_t *codes = r.array(s, code_size);
        const uint8_t *labels = r.array(s, 8);
        if (!r.ok) return bad_cache("truncated lists");
        ids.resize((size_t)s);
        for (int64_t k = 0; k < s; k++) {
            ids[(size_t)k] = vi__get_lei64(labels + 8 * k);
            if (ids[(size_t)k] < 0 || ids[(size_t)k] >= n) return bad_cache("a label is out of range");
        }
        if (s > 0) ivf->invlists->add_entries((size_t)l, (size_t)s, ids.data(), codes);
    }
    if (r.left != 0) return bad_cache("padded lists");
    ivf->ntotal = (faiss::Index::idx_t)n;
    set_effort(ivf.get(), effort);
    auto *f = new vi__faiss;
    f->kind = VI__FAISS_IVFPQ;
    f->index = ivf.release();
    *out = f;
    return VI_OK;
}

} // namespace

extern "C" {

vi_status vi__faiss_cache_save(const vi__faiss *f, uint8_t **out, size_t *n) {
    *out = nullptr;
    *n = 0;
    return guarded("cache save", [&]() -> vi_status {
        Writer w;
        if (auto *h = dynamic_cast<const faiss::IndexHNSW *>(f->index)) {
            const faiss::HNSW &g = h->hnsw;
            w.i32((int32_t)h->d);
            w.i64((int64_t)h->ntotal);
            w.i32(kHnswM);
            w.i32(g.entry_point);
            w.i32(g.max_level);
            w.i32(g.efConstruction);
            for (int l : g.levels) w.i32(l);
            w.i64((int64_t)g.neighbors.size());
            for (auto v : g.neighbors) w.i32(v);
        } else if (auto *ivf = dynamic_cast<const faiss::IndexIVFPQ *>(f->index)) {
            const int64_t lists = (int64_t)ivf->nlist;
            w.i32((int32_t)ivf->d);
            w.i64((int64_t)ivf->ntotal);
            w.i64(lists);
            w.i32((int32_t)ivf->pq.M);
            w.i32((int32_t)ivf->pq.nbits);
            std::vector<float> c((size_t)lists * (size_t)ivf->d);
            ivf->quantizer->reconstruct_n(0, (faiss::Index::idx_t)lists, c.data());
            for (float v : c) w.f32(v);
            for (float v : ivf->pq.centroids) w.f32(v);
            for (int64_t l = 0; l < lists; l++) w.i64((int64_t)ivf->invlists->list_size((size_t)l));
            for (int64_t l = 0; l < lists; l++) {
                const size_t s = ivf->invlists->list_size((size_t)l);
                faiss::InvertedLists::ScopedCodes codes(ivf->invlists, (size_t)l);
                faiss::InvertedLists::ScopedIds ids(ivf->invlists, (size_t)l);
                w.bytes(codes.get(), s * ivf->code_size);
                for (size_t k = 0; k < s; k++) w.i64((int64_t)ids[k]);
            }
        } else {
            return vi__fail(VI_E_INTERNAL, "faiss cache save: only HNSW and IVF-PQ are cached");
        }
        uint8_t *buf = (uint8_t *)vi__malloc(w.b.size() ? w.b.size() : 1);
        if (!buf) return vi__fail(VI_E_NOMEM, "faiss cache save: out of memory");
        if (!w.b.empty()) std::memcpy(buf, w.b.data(), w.b.size());
        *out = buf;
        *n = w.b.size();
        return VI_OK;
    });
}

vi_status vi__faiss_cache_load(const uint8_t *buf, size_t n, int32_t kind, int32_t dim,
                               int64_t rows, int32_t effort, vi__faiss_rows_fn fn, void *ctx,
                               vi__faiss **out) {
    *out = nullptr;
    return guarded("cache load", [&]() -> vi_status {
        Reader r{buf, n};
        if (kind == VI__FAISS_HNSW) return load_hnsw(r, dim, rows, effort, fn, ctx, out);
        if (kind == VI__FAISS_IVFPQ) return load_ivfpq(r, dim, rows, effort, out);
        return bad_cache("only HNSW and IVF-PQ are cached");
    });
}

} // extern "C"
