/* Index: float16 storage of references, the FAISS frame-vector index, and two-stage search. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../compare/compare.h"
#include "index.h"

/* ---- float16 ---------------------------------------------------------------------------- */

static uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0u));
    const int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) { /* subnormal half: value = h * 2^-24 */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        const uint32_t shift = (uint32_t)(14 - e);
        uint32_t h = man >> shift;
        const uint32_t rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13);
    const uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* a carry rounds up the exponent */
    return (uint16_t)(sign | h);
}

static float f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t x;
    if (exp == 0) {
        const float f = (float)man * 0x1p-24f;
        memcpy(&x, &f, 4);
        x |= sign;
    } else if (exp == 31) {
        x = sign | 0x7f800000u | (man << 13);
    } else {
        x = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

void vi__f16_encode(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = f32_to_f16(src[i]);
}

void vi__f16_decode(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = f16_to_f32(src[i]);
}

/* ---- records ---------------------------------------------------------------------------- */

/* [n_frames x dim float16][dim float32 video vector][n_frames int64 pts], padded to 8 bytes. */
size_t vi__index_record_size(int32_t dim, int32_t n_frames) {
    const size_t raw = (size_t)n_frames * (size_t)dim * 2 + (size_t)dim * 4 + (size_t)n_frames * 8;
    return (raw + VI__INDEX_ALIGN - 1) / VI__INDEX_ALIGN * VI__INDEX_ALIGN;
}

static size_t video_part(int32_t dim, int32_t n_frames) {
    return (size_t)n_frames * (size_t)dim * 2;
}
static size_t pts_part(int32_t dim, int32_t n_frames) {
    return video_part(dim, n_frames) + (size_t)dim * 4;
}

const uint8_t *vi__index_storage(const struct vi_index *x) { return x->map ? x->map : x->heap; }

vi_status vi__index_ref_embedding(const struct vi_index *x, int32_t i, struct vi_embedding **out) {
    const int32_t nf = x->n_frames[i];
    vi_status st = vi__embedding_alloc(x->dim, nf, x->model_id, out);
    if (st != VI_OK) return st;
    struct vi_embedding *e = *out;
    const uint8_t *rec = vi__index_storage(x) + x->offset[i];
    /* The storage is 8-byte aligned (records are padded, mappings page-aligned), but decode
     * with memcpy-sized steps anyway so that nothing depends on it. */
    const size_t nv = (size_t)nf * (size_t)x->dim;
    uint16_t buf[1024];
    for (size_t done = 0; done < nv;) {
        const size_t m = nv - done < 1024 ? nv - done : 1024;
        memcpy(buf, rec + done * 2, m * 2);
        vi__f16_decode(e->frames + done, buf, m);
        done += m;
    }
    memcpy(e->video, rec + video_part(x->dim, nf), (size_t)x->dim * 4);
    memcpy(e->pts_us, rec + pts_part(x->dim, nf), (size_t)nf * 8);
    e->duration = (double)x->duration_us[i] / 1e6;
    return VI_OK;
}

vi_status vi__index_make_record(const struct vi_index *x, const char *id,
                                const struct vi_embedding *e, uint8_t **rec, size_t *len) {
    *rec = NULL;
    *len = 0;
    if (x->model_id && (strcmp(x->model_id, e->model_id) != 0 || x->dim != e->dim))
        return vi__fail(VI_E_FORMAT, "cannot add '%s': its embedding comes from model %s, the "
                        "index holds model %s", id, e->model_id, x->model_id);
    if (e->n_frames < 1 || e->dim < 1)
        return vi__fail(VI_E_INVALID_ARG, "cannot add '%s': empty embedding", id);
    const size_t n = vi__index_record_size(e->dim, e->n_frames);
    uint8_t *r = vi__calloc(1, n);
    if (!r) return vi__fail(VI_E_NOMEM, "cannot add '%s': out of memory", id);
    vi__f16_encode((uint16_t *)(void *)r, e->frames, (size_t)e->n_frames * (size_t)e->dim);
    memcpy(r + video_part(e->dim, e->n_frames), e->video, (size_t)e->dim * 4);
    memcpy(r + pts_part(e->dim, e->n_frames), e->pts_us, (size_t)e->n_frames * 8);
    *rec = r;
    *len = n;
    return VI_OK;
}

/* ---- the reference table ---------------------------------------------------------------- */

vi_status vi__index_resolve_options(const vi_index_options *in, vi_index_options *out) {
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    if (in) {
        vi_status st = vi__copy_options(out, sizeof *out, in);
        if (st != VI_OK) return st;
    }
    if (out->kind < VI_INDEX_AUTO || out->kind > VI_INDEX_IVFPQ)
        return vi__fail(VI_E_INVALID_ARG, "index options: kind %d is not a vi_index_kind (0..3)",
                        (int)out->kind);
    if (out->candidates < 0 || out->candidates > 100000)
        return vi__fail(VI_E_INVALID_ARG, "index options: candidates %d out of range 0..100000",
                        (int)out->candidates);
    if (out->frame_neighbors < 0 || out->frame_neighbors > 1024)
        return vi__fail(VI_E_INVALID_ARG, "index options: frame_neighbors %d out of range "
                        "0..1024", (int)out->frame_neighbors);
    if (out->effort < 0 || out->effort > 4096)
        return vi__fail(VI_E_INVALID_ARG, "index options: effort %d out of range 0..4096",
                        (int)out->effort);
    if (out->read_only != 0 && out->read_only != 1)
        return vi__fail(VI_E_INVALID_ARG, "index options: read_only must be 0 or 1");
    if (!out->candidates) out->candidates = VI__INDEX_DEFAULT_CANDIDATES;
    if (!out->frame_neighbors) out->frame_neighbors = VI__INDEX_DEFAULT_NEIGHBORS;
    return VI_OK;
}

struct vi_index *vi__index_new(const vi_index_options *resolved) {
    struct vi_index *x = vi__calloc(1, sizeof *x);
    if (!x) return NULL;
    x->opts = *resolved;
    x->fd = -1;
    return x;
}

#define GROW(field, cap)                                                                       \
    do {                                                                                       \
        void *p_ = vi__realloc(x->field, (size_t)(cap) * sizeof *x->field);                   \
        if (!p_) return vi__fail(VI_E_NOMEM, "out of memory");                                 \
        x->field = p_;                                                                         \
    } while (0)

vi_status vi__index_push(struct vi_index *x, const char *id, const char *model_id, int32_t dim,
                         int32_t n_frames, int64_t duration_us, uint64_t offset, uint32_t crc) {
    if (x->n == INT32_MAX) return vi__fail(VI_E_INVALID_ARG, "the index is full");
    if (x->n == x->cap) {
        const int32_t cap = x->cap ? (x->cap > INT32_MAX / 2 ? INT32_MAX : x->cap * 2) : 16;
        GROW(ids, cap);
        GROW(row0, cap);
        GROW(n_frames, cap);
        GROW(duration_us, cap);
        GROW(offset, cap);
        GROW(crc, cap);
        x->cap = cap;
    }
    char *idc = vi__strdup(id);
    char *mid = x->model_id ? NULL : vi__strdup(model_id);
    if (!idc || (!x->model_id && !mid)) {
        vi__free(idc);
        vi__free(mid);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    if (!x->model_id) {
        x->model_id = mid;
        x->dim = dim;
    }
    x->ids[x->n] = idc;
    x->row0[x->n] = x->total;
    x->n_frames[x->n] = n_frames;
    x->duration_us[x->n] = duration_us;
    x->offset[x->n] = offset;
    x->crc[x->n] = crc;
    x->n++;
    x->total += n_frames;
    return VI_OK;
}

/* Forget the last reference (an add that failed after registering it). */
static void pop_last(struct vi_index *x) {
    x->n--;
    x->total -= x->n_frames[x->n];
    vi__free(x->ids[x->n]);
    if (x->n == 0) {
        vi__free(x->model_id);
        x->model_id = NULL;
    }
}

/* ---- FAISS ------------------------------------------------------------------------------ */

int32_t vi__index_wanted_kind(const struct vi_index *x) {
    switch (x->opts.kind) {
    case VI_INDEX_EXACT: return VI__FAISS_FLAT;
    case VI_INDEX_HNSW: return VI__FAISS_HNSW;
    case VI_INDEX_IVFPQ: return x->total < VI__INDEX_IVFPQ_MIN ? VI__FAISS_FLAT : VI__FAISS_IVFPQ;
    default: return x->total < VI__INDEX_AUTO_EXACT_MAX ? VI__FAISS_FLAT : VI__FAISS_IVFPQ;
    }
}

/* Decode global rows [from, to) into `dst` (row-major float32). */
static void decode_rows(const struct vi_index *x, int64_t from, int64_t to, float *dst) {
    /* first reference holding `from` */
    int32_t lo = 0, hi = x->n - 1;
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo + 1) / 2;
        if (x->row0[mid] <= from) lo = mid;
        else hi = mid - 1;
    }
    const uint8_t *base = vi__index_storage(x);
    const size_t dim = (size_t)x->dim;
    for (int32_t i = lo; from < to; i++) {
        const int64_t j0 = from - x->row0[i];
        int64_t m = x->n_frames[i] - j0;
        if (m > to - from) m = to - from;
        const uint8_t *src = base + x->offset[i] + (size_t)j0 * dim * 2;
        uint16_t buf[1024];
        const size_t nv = (size_t)m * dim;
        for (size_t done = 0; done < nv;) {
            const size_t c = nv - done < 1024 ? nv - done : 1024;
            memcpy(buf, src + done * 2, c * 2);
            vi__f16_decode(dst + done, buf, c);
            done += c;
        }
        dst += nv;
        from += m;
    }
}

#define CHUNK_ROWS 8192

static vi_status add_rows(struct vi_index *x, int64_t from) {
    float *buf = vi__mallocarray((size_t)CHUNK_ROWS * (size_t)x->dim, sizeof(float));
    if (!buf) return vi__fail(VI_E_NOMEM, "out of memory while indexing frame vectors");
    vi_status st = VI_OK;
    while (st == VI_OK && from < x->total) {
        const int64_t to = x->total - from > CHUNK_ROWS ? from + CHUNK_ROWS : x->total;
        decode_rows(x, from, to, buf);
        st = vi__faiss_add(x->faiss, to - from, buf);
        from = to;
    }
    vi__free(buf);
    return st;
}

/* IVF-PQ learns its lists and codebooks from a sample spread evenly over the catalogue:
 * 30 vectors per list (FAISS warns below 39; measured no recall change at 30), at least the
 * 10 000 that 256-centroid codebooks need. */
static vi_status train_ivfpq(struct vi_index *x) {
    int64_t lists = (int64_t)llround(sqrt((double)x->total) / 2); /* as faiss_shim.cpp */
    lists = lists < 64 ? 64 : lists > 16384 ? 16384 : lists;
    int64_t n = lists * 30 < VI__INDEX_IVFPQ_MIN ? VI__INDEX_IVFPQ_MIN : lists * 30;
    if (n > x->total) n = x->total;
    float *sample = vi__mallocarray((size_t)n * (size_t)x->dim, sizeof(float));
    if (!sample) return vi__fail(VI_E_NOMEM, "out of memory while training the index");
    for (int64_t i = 0; i < n; i++) {
        const int64_t row = (int64_t)((double)i * (double)x->total / (double)n);
        decode_rows(x, row, row + 1, sample + (size_t)i * (size_t)x->dim);
    }
    vi_status st = vi__faiss_train(x->faiss, n, sample);
    vi__free(sample);
    return st;
}

vi_status vi__index_sync_faiss(struct vi_index *x) {
    if (x->total == 0) return VI_OK;
    const int32_t want = vi__index_wanted_kind(x);
    if (x->faiss && vi__faiss_kind(x->faiss) != want) {
        vi__faiss_free(x->faiss);
        x->faiss = NULL;
    }
    if (x->faiss && vi__faiss_count(x->faiss) > x->total) { /* stale: rebuild */
        vi__faiss_free(x->faiss);
        x->faiss = NULL;
    }
    vi_status st = VI_OK;
    if (!x->faiss) {
        st = vi__faiss_create(want, x->dim, x->total, x->opts.effort, &x->faiss);
        if (st == VI_OK && want == VI__FAISS_IVFPQ) st = train_ivfpq(x);
    }
    if (st == VI_OK && vi__faiss_count(x->faiss) < x->total) {
        st = add_rows(x, vi__faiss_count(x->faiss));
        x->faiss_dirty = 1;
    }
    if (st != VI_OK) { /* search falls back to comparing every reference until a later sync */
        vi__faiss_free(x->faiss);
        x->faiss = NULL;
    }
    return st;
}

/* ---- adding ----------------------------------------------------------------------------- */

struct vi_embedding *vi__embedding_copy(const struct vi_embedding *e) {
    struct vi_embedding *c;
    if (vi__embedding_alloc(e->dim, e->n_frames, e->model_id, &c) != VI_OK) return NULL;
    memcpy(c->video, e->video, (size_t)e->dim * sizeof(float));
    memcpy(c->frames, e->frames, (size_t)e->dim * e->n_frames * sizeof(float));
    memcpy(c->pts_us, e->pts_us, (size_t)e->n_frames * sizeof(int64_t));
    c->duration = e->duration;
    return c;
}

static int64_t duration_us(const struct vi_embedding *e) {
    const double d = e->duration * 1e6;
    return isfinite(d) && d > 0 ? (int64_t)llround(d < 9e18 ? d : 9e18) : 0;
}

vi_status vi__index_add(struct vi_index *x, const char *id, const struct vi_embedding *e) {
    if (x->path) return vi__index_disk_append(x, id, e);
    uint8_t *rec;
    size_t len;
    vi_status st = vi__index_make_record(x, id, e, &rec, &len);
    if (st != VI_OK) return st;
    if (x->heap_len + len > x->heap_cap) {
        size_t cap = x->heap_cap ? x->heap_cap : 65536;
        while (cap < x->heap_len + len) cap *= 2;
        uint8_t *h = vi__realloc(x->heap, cap);
        if (!h) {
            vi__free(rec);
            return vi__fail(VI_E_NOMEM, "cannot add '%s': out of memory", id);
        }
        x->heap = h;
        x->heap_cap = cap;
    }
    memcpy(x->heap + x->heap_len, rec, len);
    const uint32_t crc = vi__crc32(0, rec, len);
    vi__free(rec);
    st = vi__index_push(x, id, e->model_id, e->dim, e->n_frames, duration_us(e), x->heap_len, crc);
    if (st != VI_OK) return st;
    x->heap_len += len;
    if (x->defer_sync) return VI_OK;
    st = vi__index_sync_faiss(x);
    if (st != VI_OK) { /* leave the index as it was */
        pop_last(x);
        x->heap_len -= len;
        vi__index_sync_faiss(x);
        return st;
    }
    return VI_OK;
}

/* ---- search ----------------------------------------------------------------------------- */

static int32_t ref_of_row(const struct vi_index *x, int64_t row) {
    int32_t lo = 0, hi = x->n - 1;
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo + 1) / 2;
        if (x->row0[mid] <= row) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

struct vote {
    int32_t ref, bucket, qi;
    float sim;
};

static int by_ref_bucket_qi(const void *a, const void *b) {
    const struct vote *x = a, *y = b;
    if (x->ref != y->ref) return x->ref < y->ref ? -1 : 1;
    if (x->bucket != y->bucket) return x->bucket < y->bucket ? -1 : 1;
    return x->qi < y->qi ? -1 : x->qi > y->qi;
}

static int by_ref_qi(const void *a, const void *b) {
    const struct vote *x = a, *y = b;
    if (x->ref != y->ref) return x->ref < y->ref ? -1 : 1;
    return x->qi < y->qi ? -1 : x->qi > y->qi;
}

struct cand {
    int32_t ref;
    float score;
};

static int by_cand_score(const void *a, const void *b) {
    const struct cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->ref < y->ref ? -1 : x->ref > y->ref;
}

/* Width of a time-offset bucket. Copies at the original speed put all their votes into one
 * bucket (two with sampling jitter, hence the neighbouring buckets counted at half weight). */
#define BUCKET_S 2.0

/*
 * Stage 1: which references deserve the full comparison. Each query frame's nearest reference
 * frames vote for (reference, offset bucket) with their similarity, at most once per query
 * frame per bucket. A reference scores its best bucket (plus half of the two beside it), plus
 * half of a "loose" vote that ignores the offset (each query frame's best similarity to it),
 * which keeps speed-changed copies (whose offset drifts across buckets) among the candidates.
 */
static vi_status pick_candidates(const struct vi_index *x, const struct vi_embedding *q,
                                 int32_t want, struct cand **out, int32_t *n_out) {
    *out = NULL;
    *n_out = 0;
    const int64_t nq = q->n_frames;
    int32_t k = x->opts.frame_neighbors;
    if (k > x->total) k = (int32_t)x->total;
    float *sims = vi__mallocarray((size_t)nq * (size_t)k, sizeof *sims);
    int64_t *labels = vi__mallocarray((size_t)nq * (size_t)k, sizeof *labels);
    struct vote *v = vi__mallocarray((size_t)nq * (size_t)k, sizeof *v);
    struct cand *c = NULL;
    vi_status st = (sims && labels && v) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    if (st == VI_OK) st = vi__faiss_search(x->faiss, nq, q->frames, k, sims, labels);
    size_t nv = 0;
    const uint8_t *base = vi__index_storage(x);
    for (int64_t i = 0; st == VI_OK && i < nq * k; i++) {
        if (labels[i] < 0 || labels[i] >= x->total || !(sims[i] > 0)) continue;
        const int32_t r = ref_of_row(x, labels[i]);
        const int64_t j = labels[i] - x->row0[r];
        int64_t tr;
        memcpy(&tr, base + x->offset[r] + pts_part(x->dim, x->n_frames[r]) + (size_t)j * 8, 8);
        const double off = ((double)tr - (double)q->pts_us[i / k]) / 1e6;
        const double b = floor(off / BUCKET_S + 0.5);
        v[nv].ref = r;
        v[nv].bucket = b > 1e9 ? 1000000000 : b < -1e9 ? -1000000000 : (int32_t)b;
        v[nv].qi = (int32_t)(i / k);
        v[nv].sim = sims[i];
        nv++;
    }
    vi__free(sims);
    vi__free(labels);
    int32_t nc = 0;
    if (st == VI_OK && nv > 0) {
        c = vi__mallocarray(nv, sizeof *c);
        float *bucket_sum = vi__mallocarray(nv, sizeof *bucket_sum);
        int32_t *bucket_id = vi__mallocarray(nv, sizeof *bucket_id);
        if (!c || !bucket_sum || !bucket_id) st = vi__fail(VI_E_NOMEM, "out of memory");
        if (st == VI_OK) {
            /* strict votes: per (ref, bucket), the sum over query frames of their best sim */
            qsort(v, nv, sizeof *v, by_ref_bucket_qi);
            size_t g0 = 0;
            while (g0 < nv) { /* one reference: v[g0 .. g1) */
                size_t g1 = g0;
                while (g1 < nv && v[g1].ref == v[g0].ref) g1++;
                int32_t nb = 0;
                for (size_t i = g0; i < g1; i++) {
                    const int new_bucket = i == g0 || v[i].bucket != v[i - 1].bucket;
                    if (new_bucket) {
                        bucket_id[nb] = v[i].bucket;
                        bucket_sum[nb++] = v[i].sim;
                    } else if (v[i].qi != v[i - 1].qi) {
                        bucket_sum[nb - 1] += v[i].sim;
                    } else if (v[i].sim > v[i - 1].sim) { /* same query frame: keep its best */
                        bucket_sum[nb - 1] += v[i].sim - v[i - 1].sim;
                    } else {
                        v[i].sim = v[i - 1].sim; /* carry the best forward for the next test */
                    }
                }
                float best = 0;
                for (int32_t b = 0; b < nb; b++) {
                    float s = bucket_sum[b];
                    if (b > 0 && bucket_id[b - 1] == bucket_id[b] - 1) s += 0.5f * bucket_sum[b - 1];
                    if (b + 1 < nb && bucket_id[b + 1] == bucket_id[b] + 1)
                        s += 0.5f * bucket_sum[b + 1];
                    if (s > best) best = s;
                }
                c[nc].ref = v[g0].ref;
                c[nc++].score = best;
                g0 = g1;
            }
            /* loose votes: per ref, the sum over query frames of their best sim, any offset */
            qsort(v, nv, sizeof *v, by_ref_qi);
            int32_t ci = 0;
            float loose = 0;
            for (size_t i = 0; i < nv; i++) {
                if (i > 0 && v[i].ref != v[i - 1].ref) {
                    c[ci++].score += 0.5f * loose;
                    loose = 0;
                }
                if (i == 0 || v[i].ref != v[i - 1].ref || v[i].qi != v[i - 1].qi) {
                    loose += v[i].sim;
                } else if (v[i].sim > v[i - 1].sim) {
                    loose += v[i].sim - v[i - 1].sim;
                } else {
                    v[i].sim = v[i - 1].sim;
                }
            }
            c[ci].score += 0.5f * loose; /* both passes visit the refs in ascending order */
            qsort(c, (size_t)nc, sizeof *c, by_cand_score);
            if (nc > want) nc = want;
        }
        vi__free(bucket_sum);
        vi__free(bucket_id);
    }
    vi__free(v);
    if (st != VI_OK) {
        vi__free(c);
        return st;
    }
    *out = c;
    *n_out = nc;
    return VI_OK;
}

struct scored {
    float score;
    int32_t ref;
    struct vi_match *match;
};

static int by_score_desc(const void *a, const void *b) {
    const struct scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->ref - y->ref; /* stable: insertion order breaks ties */
}

void vi_hits_free(vi_hits *h) {
    if (!h) return;
    for (int32_t i = 0; i < h->n; i++) {
        vi__free(h->ids[i]);
        vi_match_free(h->matches[i]);
    }
    vi__free(h->ids);
    vi__free(h->matches);
    vi__free(h);
}

vi_status vi__index_search(const struct vi_index *x, const struct vi_embedding *q, int32_t k,
                           struct vi_hits **out) {
    *out = NULL;
    if (x->model_id && (strcmp(x->model_id, q->model_id) != 0 || x->dim != q->dim))
        return vi__fail(VI_E_FORMAT, "the query comes from model %s but the index holds model %s",
                        q->model_id, x->model_id);
    /* Stage 1, unless the catalogue is small enough to compare everything. */
    struct cand *cands = NULL;
    int32_t nc = x->n;
    vi_status st = VI_OK;
    if (x->faiss && x->n > x->opts.candidates)
        st = pick_candidates(x, q, x->opts.candidates, &cands, &nc);
    if (st != VI_OK) return st;
    /* Stage 2: the full comparison, with localisation, of each candidate. */
    struct scored *all = vi__calloc((size_t)(nc ? nc : 1), sizeof *all);
    struct vi_hits *h = vi__calloc(1, sizeof *h);
    st = (all && h) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    for (int32_t i = 0; st == VI_OK && i < nc; i++) {
        const int32_t r = cands ? cands[i].ref : i;
        struct vi_embedding *ref = NULL;
        st = vi__index_ref_embedding(x, r, &ref);
        if (st == VI_OK) st = vi__compare(q, ref, 1, &all[i].match);
        vi_embedding_free(ref);
        if (st == VI_OK) {
            all[i].score = all[i].match->score;
            all[i].ref = r;
        }
    }
    vi__free(cands);
    if (st == VI_OK) {
        qsort(all, (size_t)nc, sizeof *all, by_score_desc);
        const int32_t n = k < nc ? k : nc;
        h->ids = vi__calloc((size_t)(n ? n : 1), sizeof *h->ids);
        h->matches = vi__calloc((size_t)(n ? n : 1), sizeof *h->matches);
        if (!h->ids || !h->matches) st = vi__fail(VI_E_NOMEM, "out of memory");
        for (int32_t i = 0; st == VI_OK && i < n; i++) {
            h->ids[i] = vi__strdup(x->ids[all[i].ref]);
            if (!h->ids[i]) {
                st = vi__fail(VI_E_NOMEM, "out of memory");
                break;
            }
            h->matches[i] = all[i].match; /* moved into the hits */
            all[i].match = NULL;
            h->n = i + 1;
        }
    }
    for (int32_t i = 0; all && i < nc; i++) vi_match_free(all[i].match);
    vi__free(all);
    if (st != VI_OK) {
        vi_hits_free(h);
        return st;
    }
    *out = h;
    return VI_OK;
}

void vi__index_free(struct vi_index *x) {
    if (!x) return;
    vi__index_disk_close(x);
    for (int32_t i = 0; i < x->n; i++) vi__free(x->ids[i]);
    vi__free(x->ids);
    vi__free(x->row0);
    vi__free(x->n_frames);
    vi__free(x->duration_us);
    vi__free(x->offset);
    vi__free(x->crc);
    vi__free(x->model_id);
    vi__free(x->heap);
    vi__free(x->path);
    vi__faiss_free(x->faiss);
    vi__free(x);
}
