/* The index (index.h): references in a store, the FAISS frame-vector index over them, and the
 * two-stage search. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../compare/compare.h"
#include "index.h"
#include "index_file.h"

/* ---- options and life cycle ------------------------------------------------------------- */

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
    if (out->replace != 0 && out->replace != 1)
        return vi__fail(VI_E_INVALID_ARG, "index options: replace must be 0 or 1");
    if (out->replace && out->read_only)
        return vi__fail(VI_E_INVALID_ARG, "index options: replace and read_only exclude each "
                        "other");
    if (!out->candidates) out->candidates = VI__INDEX_DEFAULT_CANDIDATES;
    if (!out->frame_neighbors) out->frame_neighbors = VI__INDEX_DEFAULT_NEIGHBORS;
    return VI_OK;
}

static struct vi_index *index_new(const vi_index_options *resolved) {
    struct vi_index *x = vi__calloc(1, sizeof *x);
    if (x) x->opts = *resolved;
    return x;
}

vi_status vi__index_create(const vi_index_options *resolved, struct vi_index **out) {
    *out = NULL;
    struct vi_index *x = index_new(resolved);
    if (!x) return vi__fail(VI_E_NOMEM, "out of memory");
    vi_status st = vi__heap_store_create(&x->store);
    if (st != VI_OK) {
        vi__free(x);
        return st;
    }
    *out = x;
    return VI_OK;
}

/* ---- FAISS ------------------------------------------------------------------------------ */

/* The kind of FAISS index the options and the current size call for. */
static int32_t wanted_kind(const struct vi_index *x) {
    switch (x->opts.kind) {
    case VI_INDEX_EXACT: return VI__FAISS_FLAT;
    case VI_INDEX_HNSW: return VI__FAISS_HNSW;
    case VI_INDEX_IVFPQ:
        return x->refs.total < VI__INDEX_IVFPQ_MIN ? VI__FAISS_FLAT : VI__FAISS_IVFPQ;
    default: return x->refs.total < VI__INDEX_AUTO_EXACT_MAX ? VI__FAISS_FLAT : VI__FAISS_IVFPQ;
    }
}

/* Decode global rows [from, to) into `dst` (row-major float32). */
static void decode_rows(const struct vi_index *x, int64_t from, int64_t to, float *dst) {
    const struct vi__refs *r = &x->refs;
    const size_t dim = (size_t)r->dim;
    for (int32_t i = vi__refs_of_row(r, from); from < to; i++) {
        const int64_t j0 = from - r->row0[i];
        int64_t m = r->n_frames[i] - j0;
        if (m > to - from) m = to - from;
        vi__record_frames(x->store->base + r->offset[i], r->dim, (int32_t)j0, (int32_t)m, dst);
        dst += (size_t)m * dim;
        from += m;
    }
}

static void rows_source(void *ctx, int64_t from, int64_t to, float *dst) {
    decode_rows(ctx, from, to, dst);
}

#define CHUNK_ROWS 8192

static vi_status add_rows(struct vi_index *x, int64_t from) {
    float *buf = vi__mallocarray((size_t)CHUNK_ROWS * (size_t)x->refs.dim, sizeof(float));
    if (!buf) return vi__fail(VI_E_NOMEM, "out of memory while indexing frame vectors");
    vi_status st = VI_OK;
    while (st == VI_OK && from < x->refs.total) {
        const int64_t to = x->refs.total - from > CHUNK_ROWS ? from + CHUNK_ROWS : x->refs.total;
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
    const int64_t total = x->refs.total;
    int64_t lists = (int64_t)llround(sqrt((double)total) / 2); /* as faiss_shim.cpp */
    lists = lists < 64 ? 64 : lists > 16384 ? 16384 : lists;
    int64_t n = lists * 30 < VI__INDEX_IVFPQ_MIN ? VI__INDEX_IVFPQ_MIN : lists * 30;
    if (n > total) n = total;
    float *sample = vi__mallocarray((size_t)n * (size_t)x->refs.dim, sizeof(float));
    if (!sample) return vi__fail(VI_E_NOMEM, "out of memory while training the index");
    for (int64_t i = 0; i < n; i++) {
        const int64_t row = (int64_t)((double)i * (double)total / (double)n);
        decode_rows(x, row, row + 1, sample + (size_t)i * (size_t)x->refs.dim);
    }
    vi_status st = vi__faiss_train(x->faiss, n, sample);
    vi__free(sample);
    return st;
}

/* The store's cached structure, when it matches (only HNSW and IVF-PQ are cached: a flat
 * index is rebuilt faster than read). */
static void load_cache(struct vi_index *x) {
    const int32_t want = wanted_kind(x);
    if (want == VI__FAISS_FLAT || x->refs.total == 0) return;
    uint8_t *buf = NULL;
    size_t n = 0;
    vi__faiss *f = NULL;
    if (x->store->ops->read_cache(x->store, want, &buf, &n) == VI_OK && buf &&
        vi__faiss_cache_load(buf, n, want, x->refs.dim, x->refs.total, x->opts.effort,
                             rows_source, x, &f) == VI_OK) {
        x->faiss = f;
    }
    vi__clear_error(); /* missing, stale or damaged: rebuilt below */
    vi__free(buf);
}

/* Bring the FAISS index up to date with the references (build, switch kind, or add rows). */
static vi_status sync_faiss(struct vi_index *x) {
    if (x->refs.total == 0) return VI_OK;
    const int32_t want = wanted_kind(x);
    if (x->faiss && (vi__faiss_kind(x->faiss) != want ||
                     vi__faiss_count(x->faiss) > x->refs.total)) { /* other kind or stale */
        vi__faiss_free(x->faiss);
        x->faiss = NULL;
    }
    vi_status st = VI_OK;
    if (!x->faiss) {
        st = vi__faiss_create(want, x->refs.dim, x->refs.total, x->opts.effort, &x->faiss);
        if (st == VI_OK && want == VI__FAISS_IVFPQ) st = train_ivfpq(x);
    }
    if (st == VI_OK && vi__faiss_count(x->faiss) < x->refs.total) {
        st = add_rows(x, vi__faiss_count(x->faiss));
        x->faiss_dirty = 1;
    }
    if (st != VI_OK) { /* search falls back to comparing every reference until a later sync */
        vi__faiss_free(x->faiss);
        x->faiss = NULL;
    }
    return st;
}

vi_status vi__index_sync(struct vi_index *x) { return sync_faiss(x); }

int32_t vi__index_kind_used(const struct vi_index *x) {
    if (!x || !x->faiss) return VI_INDEX_EXACT;
    switch (vi__faiss_kind(x->faiss)) {
    case VI__FAISS_HNSW: return VI_INDEX_HNSW;
    case VI__FAISS_IVFPQ: return VI_INDEX_IVFPQ;
    default: return VI_INDEX_EXACT;
    }
}

/* ---- opening, flushing, saving ---------------------------------------------------------- */

vi_status vi__index_open(const char *path, const vi_index_options *o, struct vi_index **out) {
    *out = NULL;
    struct vi_index *x = index_new(o);
    if (!x) return vi__fail(VI_E_NOMEM, "out of memory");
    int32_t stored_kind = VI_INDEX_AUTO;
    int single = 0;
    vi_status st = VI_OK;
    struct stat sb;
    /* An existing file is a single-file index (read whole into memory) or a manifest. */
    if (!o->replace && stat(path, &sb) == 0) {
        st = vi__index_file_load(path, &single, &x->store, &x->refs, &stored_kind);
        if (st == VI_OK && single && !o->read_only)
            st = vi__fail(VI_E_FORMAT, "%s is a single-file index (vi_index_save), which cannot "
                          "be added to: open it read-only, or build an on-disk index", path);
    }
    if (st == VI_OK && !single) {
        const struct vi__disk_open how = {o->read_only, o->replace};
        st = vi__disk_store_open(path, &how, &x->store, &x->refs, &stored_kind);
    }
    if (st == VI_OK) {
        if (x->opts.kind == VI_INDEX_AUTO && !o->replace) x->opts.kind = stored_kind;
        else if (x->opts.kind != stored_kind && !o->read_only)
            st = x->store->ops->set_kind(x->store, x->opts.kind); /* the kind chosen sticks */
    }
    if (st == VI_OK) {
        load_cache(x);
        st = sync_faiss(x);
    }
    if (st != VI_OK) {
        x->faiss_dirty = 0; /* nothing to save; keep the error message */
        vi__index_free(x);
        return st;
    }
    *out = x;
    return VI_OK;
}

static vi_status write_cache(struct vi_index *x) {
    if (!x->faiss || !x->faiss_dirty) return VI_OK;
    if (vi__faiss_kind(x->faiss) == VI__FAISS_FLAT) {
        x->faiss_dirty = 0;
        return VI_OK;
    }
    uint8_t *payload;
    size_t n;
    vi_status st = vi__faiss_cache_save(x->faiss, &payload, &n);
    if (st != VI_OK) return st;
    st = x->store->ops->write_cache(x->store, vi__faiss_kind(x->faiss),
                                    vi__faiss_count(x->faiss), payload, n);
    vi__free(payload);
    if (st == VI_OK) x->faiss_dirty = 0;
    return st;
}

vi_status vi__index_flush(struct vi_index *x) {
    if (x->store->read_only) return VI_OK;
    vi_status st = x->store->ops->commit(x->store);
    return st == VI_OK ? write_cache(x) : st;
}

vi_status vi__index_save(const struct vi_index *x, const char *path) {
    const int own = vi__disk_store_owns(x->store, path);
    if (own == 1 && !x->store->uncommitted) return VI_OK; /* its manifest is current */
    if (own)
        return vi__fail(VI_E_INVALID_ARG, "vi_index_save: %s is a file of the open index %s; "
                        "saving over it would destroy the index", path, x->store->path);
    uint8_t *buf;
    size_t n;
    vi_status st = vi__index_file_encode(&x->refs, x->store->base, x->opts.kind, &buf, &n);
    if (st != VI_OK) return st;
    st = vi__write_file_atomic(path, buf, n);
    vi__free(buf);
    return st;
}

void vi__index_free(struct vi_index *x) {
    if (!x) return;
    /* best effort: vi_index_flush reports errors; a replace never committed is dropped */
    if (x->store && !x->store->read_only && !x->store->uncommitted) write_cache(x);
    if (x->store) x->store->ops->close(x->store);
    vi__refs_clear(&x->refs);
    vi__faiss_free(x->faiss);
    vi__free(x);
}

/* ---- adding ----------------------------------------------------------------------------- */

vi_status vi__index_add(struct vi_index *x, const char *id, const struct vi_embedding *e) {
    struct vi__refs *r = &x->refs;
    if (r->model_id && (strcmp(r->model_id, e->model_id) != 0 || r->dim != e->dim))
        return vi__fail(VI_E_FORMAT, "cannot add '%s': its embedding comes from model %s, the "
                        "index holds model %s", id, e->model_id, r->model_id);
    if (e->n_frames < 1 || e->dim < 1)
        return vi__fail(VI_E_INVALID_ARG, "cannot add '%s': empty embedding", id);
    if (r->n == INT32_MAX) return vi__fail(VI_E_INVALID_ARG, "cannot add '%s': the index is full", id);
    uint8_t *rec;
    size_t len;
    vi_status st = vi__record_encode(e, &rec, &len);
    if (st != VI_OK) return st;
    const int64_t dur = vi__duration_us(e->duration);
    const uint32_t crc = vi__crc32(0, rec, len);
    /* Room in the table first: once the store has committed the record, only FAISS can fail. */
    st = vi__refs_push(r, id, e->model_id, e->dim, e->n_frames, dur, 0, crc);
    uint64_t off = 0;
    if (st == VI_OK) {
        const struct vi__entry entry = {id, e->model_id, e->dim, e->n_frames, dur};
        st = x->store->ops->append(x->store, &entry, rec, len, &off);
        if (st != VI_OK) vi__refs_pop(r);
        else r->offset[r->n - 1] = off;
    }
    vi__free(rec);
    if (st != VI_OK || x->defer_sync) return st;
    st = sync_faiss(x);
    if (st != VI_OK && !x->store->path) { /* in memory: leave the index as it was */
        vi__refs_pop(r);
        sync_faiss(x);
    }
    return st;
}

/* ---- search ----------------------------------------------------------------------------- */

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
 * `c` has room for every reference; `*n_out` receives how many got votes, best first.
 */
static vi_status vote_candidates(const struct vi_index *x, const struct vi_embedding *q,
                                 struct cand *c, int32_t *n_out) {
    *n_out = 0;
    const struct vi__refs *r = &x->refs;
    const int64_t nq = q->n_frames;
    int32_t k = x->opts.frame_neighbors;
    if (k > r->total) k = (int32_t)r->total;
    float *sims = vi__mallocarray((size_t)nq * (size_t)k, sizeof *sims);
    int64_t *labels = vi__mallocarray((size_t)nq * (size_t)k, sizeof *labels);
    struct vote *v = vi__mallocarray((size_t)nq * (size_t)k, sizeof *v);
    vi_status st = (sims && labels && v) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    if (st == VI_OK) st = vi__faiss_search(x->faiss, nq, q->frames, k, sims, labels);
    size_t nv = 0;
    const uint8_t *base = x->store->base;
    for (int64_t i = 0; st == VI_OK && i < nq * k; i++) {
        if (labels[i] < 0 || labels[i] >= r->total || !(sims[i] > 0)) continue;
        const int32_t ref = vi__refs_of_row(r, labels[i]);
        const int32_t j = (int32_t)(labels[i] - r->row0[ref]);
        const int64_t tr = vi__record_pts(base + r->offset[ref], r->dim, r->n_frames[ref], j);
        const double off = ((double)tr - (double)q->pts_us[i / k]) / 1e6;
        const double b = floor(off / BUCKET_S + 0.5);
        v[nv].ref = ref;
        v[nv].bucket = b > 1e9 ? 1000000000 : b < -1e9 ? -1000000000 : (int32_t)b;
        v[nv].qi = (int32_t)(i / k);
        v[nv].sim = sims[i];
        nv++;
    }
    vi__free(sims);
    vi__free(labels);
    int32_t nc = 0;
    if (st == VI_OK && nv > 0) {
        float *bucket_sum = vi__mallocarray(nv, sizeof *bucket_sum);
        int32_t *bucket_id = vi__mallocarray(nv, sizeof *bucket_id);
        if (!bucket_sum || !bucket_id) st = vi__fail(VI_E_NOMEM, "out of memory");
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
        }
        vi__free(bucket_sum);
        vi__free(bucket_id);
    }
    vi__free(v);
    if (st == VI_OK) *n_out = nc;
    return st;
}

/*
 * The references to compare in full: the `want` best by vote. When fewer than `fill` got votes
 * (k larger than the candidates, or frame neighbours concentrated on a few references), the
 * rest are the references whose video vectors are closest to the query's, so that a search
 * returns the k results asked for whenever the index holds k references.
 */
static vi_status pick_candidates(const struct vi_index *x, const struct vi_embedding *q,
                                 int32_t want, int32_t fill, struct cand **out, int32_t *n_out) {
    *out = NULL;
    *n_out = 0;
    const struct vi__refs *r = &x->refs;
    struct cand *c = vi__mallocarray((size_t)r->n, sizeof *c);
    if (!c) return vi__fail(VI_E_NOMEM, "out of memory");
    int32_t nc = 0;
    vi_status st = vote_candidates(x, q, c, &nc);
    if (st == VI_OK && nc > want) nc = want;
    if (st == VI_OK && nc < fill) {
        uint8_t *chosen = vi__calloc((size_t)r->n, 1);
        float *video = vi__mallocarray((size_t)r->dim, sizeof *video);
        struct cand *rest = vi__mallocarray((size_t)r->n, sizeof *rest);
        if (!chosen || !video || !rest) st = vi__fail(VI_E_NOMEM, "out of memory");
        int32_t nr = 0;
        for (int32_t i = 0; st == VI_OK && i < nc; i++) chosen[c[i].ref] = 1;
        for (int32_t i = 0; st == VI_OK && i < r->n; i++) {
            if (chosen[i]) continue;
            vi__record_video(x->store->base + r->offset[i], r->dim, r->n_frames[i], video);
            rest[nr].ref = i;
            rest[nr++].score = vi__dot(video, q->video, r->dim);
        }
        if (st == VI_OK) {
            qsort(rest, (size_t)nr, sizeof *rest, by_cand_score);
            for (int32_t i = 0; nc < fill && i < nr; i++) c[nc++] = rest[i];
        }
        vi__free(chosen);
        vi__free(video);
        vi__free(rest);
    }
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
    const struct vi__refs *r = &x->refs;
    if (r->model_id && (strcmp(r->model_id, q->model_id) != 0 || r->dim != q->dim))
        return vi__fail(VI_E_FORMAT, "the query comes from model %s but the index holds model %s",
                        q->model_id, r->model_id);
    /* Stage 1, unless the catalogue is small enough to compare everything. At least k
     * references are compared, so that k results come back when the index holds k. */
    const int32_t want = x->opts.candidates > k ? x->opts.candidates : k;
    struct cand *cands = NULL;
    int32_t nc = r->n;
    vi_status st = VI_OK;
    if (x->faiss && r->n > want) st = pick_candidates(x, q, want, k, &cands, &nc);
    if (st != VI_OK) return st;
    /* Stage 2: the full comparison, with localisation, of each candidate. */
    struct scored *all = vi__calloc((size_t)(nc ? nc : 1), sizeof *all);
    struct vi_hits *h = vi__calloc(1, sizeof *h);
    st = (all && h) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    for (int32_t i = 0; st == VI_OK && i < nc; i++) {
        const int32_t ref = cands ? cands[i].ref : i;
        struct vi_embedding *e = NULL;
        st = vi__record_embedding(r, x->store->base, ref, &e);
        if (st == VI_OK) st = vi__compare(q, e, 1, &all[i].match);
        vi_embedding_free(e);
        if (st == VI_OK) {
            all[i].score = all[i].match->score;
            all[i].ref = ref;
        }
    }
    vi__free(cands);
    if (st == VI_OK && q->calib.id) {
        /* calibrated: each verdict weighs the best other reference of the catalogue */
        struct vi_match **ms = vi__mallocarray((size_t)(nc ? nc : 1), sizeof *ms);
        if (!ms) st = vi__fail(VI_E_NOMEM, "out of memory");
        for (int32_t i = 0; ms && i < nc; i++) ms[i] = all[i].match;
        if (ms) vi__catalogue_probabilities(&q->calib, ms, nc);
        for (int32_t i = 0; ms && i < nc; i++) all[i].score = all[i].match->score;
        vi__free(ms);
    }
    if (st == VI_OK) {
        qsort(all, (size_t)nc, sizeof *all, by_score_desc);
        const int32_t n = k < nc ? k : nc;
        h->ids = vi__calloc((size_t)(n ? n : 1), sizeof *h->ids);
        h->matches = vi__calloc((size_t)(n ? n : 1), sizeof *h->matches);
        if (!h->ids || !h->matches) st = vi__fail(VI_E_NOMEM, "out of memory");
        for (int32_t i = 0; st == VI_OK && i < n; i++) {
            h->ids[i] = vi__strdup(r->ids[all[i].ref]);
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
