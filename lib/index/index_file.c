/* Single-file indexes (index_file.h): the container ("vinfringe-index") with the ids, and every
 * reference's vectors (float32) and times concatenated in insertion order. Decoding checks
 * every length against the others and against the file before building anything. */
#include <math.h>
#include <string.h>

#include "../formats/formats.h"
#include "index_file.h"

#define MAX_INDEX_FILE ((size_t)1 << 36)

vi_status vi__index_file_encode(const struct vi__refs *r, const uint8_t *records,
                                int32_t search_kind, uint8_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    int64_t ids_len = 0;
    for (int32_t i = 0; i < r->n; i++) ids_len += (int64_t)strlen(r->ids[i]);
    const size_t dim = (size_t)r->dim, total = (size_t)r->total;
    int64_t *counts = vi__calloc((size_t)r->n + 1, sizeof(int64_t));
    int64_t *id_lengths = vi__calloc((size_t)r->n + 1, sizeof(int64_t));
    int64_t *durations = vi__calloc((size_t)r->n + 1, sizeof(int64_t));
    float *videos = vi__calloc((size_t)r->n * dim + 1, sizeof(float));
    float *frames = vi__calloc(total * dim + 1, sizeof(float));
    int64_t *pts = vi__calloc(total + 1, sizeof(int64_t));
    char *ids = vi__calloc((size_t)ids_len + 1, 1);
    vi__docw *w = vi__docw_create();
    vi_status st = VI_OK;
    if (!counts || !id_lengths || !durations || !videos || !frames || !pts || !ids || !w) {
        vi__docw_free(w);
        st = vi__fail(VI_E_NOMEM, "out of memory while saving the index");
    } else {
        size_t f = 0, c = 0;
        for (int32_t i = 0; i < r->n; i++) {
            const int32_t nf = r->n_frames[i];
            const uint8_t *rec = records + r->offset[i];
            counts[i] = nf;
            durations[i] = r->duration_us[i];
            id_lengths[i] = (int64_t)strlen(r->ids[i]);
            memcpy(ids + c, r->ids[i], (size_t)id_lengths[i]);
            c += (size_t)id_lengths[i];
            vi__record_video(rec, r->dim, nf, videos + (size_t)i * dim);
            vi__record_frames(rec, r->dim, 0, nf, frames + f * dim);
            for (int32_t j = 0; j < nf; j++) pts[f + (size_t)j] = vi__record_pts(rec, r->dim, nf, j);
            f += (size_t)nf;
        }
        vi__docw_str(w, "kind", "vinfringe-index");
        vi__docw_str(w, "model_id", r->model_id ? r->model_id : "");
        vi__docw_i64(w, "dim", r->dim);
        vi__docw_i64(w, "count", r->n);
        vi__docw_i64(w, "search_kind", search_kind);
        vi__docw_str(w, "ids", ids);
        const vi__tensor t[] = {
            {"id_lengths", VI__DT_I64, 1, {r->n}, 0, 0, id_lengths, 0},
            {"frame_counts", VI__DT_I64, 1, {r->n}, 0, 0, counts, 0},
            {"durations_us", VI__DT_I64, 1, {r->n}, 0, 0, durations, 0},
            {"videos", VI__DT_F32, 2, {r->n, r->dim}, 0, 0, videos, 0},
            {"frames", VI__DT_F32, 2, {r->total, r->dim}, 0, 0, frames, 0},
            {"pts_us", VI__DT_I64, 1, {r->total}, 0, 0, pts, 0},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) vi__docw_tensor(w, &t[i]);
        st = vi__docw_finish(w, VI__MAGIC_INDEX, out, n);
    }
    vi__free(counts);
    vi__free(id_lengths);
    vi__free(durations);
    vi__free(videos);
    vi__free(frames);
    vi__free(pts);
    vi__free(ids);
    return st;
}

static const vi__tensor *want(const vi__doc *doc, const char *name, int32_t dtype, int32_t ndim,
                              int64_t d0, int64_t d1) {
    const vi__tensor *t = vi__doc_tensor(doc, name);
    if (!t || t->dtype != dtype || t->ndim != ndim || t->dims[0] != d0) return NULL;
    if (ndim == 2 && t->dims[1] != d1) return NULL;
    return t;
}

static int64_t i64_at(const vi__tensor *t, int64_t i) {
    int64_t v;
    memcpy(&v, (const uint8_t *)t->data + 8 * i, 8);
    return v;
}

/* One reference of the file as a record in the store. */
static vi_status store_one(vi__store *s, struct vi__refs *r, const char *id, const char *model_id,
                           int32_t dim, int32_t nf, int64_t dur_us, const uint8_t *video,
                           const uint8_t *frames, const uint8_t *pts) {
    struct vi_embedding *e = NULL;
    vi_status st = vi__embedding_alloc(dim, nf, model_id, &e);
    if (st != VI_OK) return st;
    /* tensor data may be unaligned: copy with memcpy only */
    memcpy(e->video, video, (size_t)dim * 4);
    memcpy(e->frames, frames, (size_t)nf * (size_t)dim * 4);
    memcpy(e->pts_us, pts, (size_t)nf * 8);
    uint8_t *rec = NULL;
    size_t len = 0;
    st = vi__record_encode(e, &rec, &len);
    vi_embedding_free(e);
    uint64_t off = 0;
    const struct vi__entry entry = {id, model_id, dim, nf, dur_us};
    if (st == VI_OK) st = s->ops->append(s, &entry, rec, len, &off);
    if (st == VI_OK) st = vi__refs_push(r, id, model_id, dim, nf, dur_us, off, vi__crc32(0, rec, len));
    vi__free(rec);
    return st;
}

static vi_status decode_doc(const vi__doc *doc, vi__store *s, struct vi__refs *r, int32_t *kind) {
    int64_t dim = 0, count = 0;
    const char *k = vi__doc_str(doc, "kind"), *model_id = vi__doc_str(doc, "model_id");
    const char *ids = vi__doc_str(doc, "ids");
    if (!k || strcmp(k, "vinfringe-index") != 0 || !model_id || !ids ||
        !vi__doc_i64(doc, "dim", &dim) || !vi__doc_i64(doc, "count", &count) || dim < 0 ||
        dim > VI__RECORD_MAX_DIM || count < 0 || count > INT32_MAX || (count > 0 && dim == 0))
        return vi__fail(VI_E_FORMAT, "index header entries missing or inconsistent");
    const vi__tensor *lens = want(doc, "id_lengths", VI__DT_I64, 1, count, 0);
    const vi__tensor *counts = want(doc, "frame_counts", VI__DT_I64, 1, count, 0);
    const vi__tensor *durs = want(doc, "durations_us", VI__DT_I64, 1, count, 0);
    const vi__tensor *videos = want(doc, "videos", VI__DT_F32, 2, count, dim);
    const vi__tensor *frames = vi__doc_tensor(doc, "frames");
    if (!lens || !counts || !durs || !videos || !frames || frames->dtype != VI__DT_F32 ||
        frames->ndim != 2 || frames->dims[1] != dim)
        return vi__fail(VI_E_FORMAT, "index tensors missing or of the wrong shape");
    const int64_t total = frames->dims[0];
    const vi__tensor *pts = want(doc, "pts_us", VI__DT_I64, 1, total, 0);
    if (!pts) return vi__fail(VI_E_FORMAT, "index timestamps missing or of the wrong shape");
    const int64_t ids_len = (int64_t)strlen(ids);
    int64_t sum_frames = 0, sum_ids = 0;
    for (int64_t i = 0; i < count; i++) {
        const int64_t nf = i64_at(counts, i), nl = i64_at(lens, i);
        if (nf < 1 || nf > total - sum_frames || nl < 0 || nl > ids_len - sum_ids ||
            !vi__record_size(dim, nf))
            return vi__fail(VI_E_FORMAT, "index entry %lld has bad lengths", (long long)i);
        sum_frames += nf;
        sum_ids += nl;
    }
    if (sum_frames != total || sum_ids != ids_len)
        return vi__fail(VI_E_FORMAT, "index lengths do not add up");
    int64_t search_kind;
    *kind = VI_INDEX_AUTO;
    if (vi__doc_i64(doc, "search_kind", &search_kind) && search_kind > VI_INDEX_AUTO &&
        search_kind <= VI_INDEX_IVFPQ)
        *kind = (int32_t)search_kind;
    const uint8_t *vsrc = videos->data, *fsrc = frames->data, *psrc = pts->data;
    const char *id = ids;
    char *idc = vi__malloc((size_t)ids_len + 1);
    if (!idc) return vi__fail(VI_E_NOMEM, "out of memory");
    vi_status st = VI_OK;
    for (int64_t i = 0; st == VI_OK && i < count; i++) {
        const int64_t nf = i64_at(counts, i), nl = i64_at(lens, i);
        memcpy(idc, id, (size_t)nl);
        idc[nl] = '\0';
        id += nl;
        st = store_one(s, r, idc, model_id, (int32_t)dim, (int32_t)nf, i64_at(durs, i),
                       vsrc + (size_t)i * (size_t)dim * 4, fsrc, psrc);
        fsrc += (size_t)nf * (size_t)dim * 4;
        psrc += (size_t)nf * 8;
    }
    vi__free(idc);
    return st;
}

static vi_status decode_parsed(const vi__doc *doc, vi__store **store, struct vi__refs *r,
                               int32_t *kind) {
    vi_status st = vi__heap_store_create(store);
    if (st == VI_OK) st = decode_doc(doc, *store, r, kind);
    if (st != VI_OK) {
        if (*store) (*store)->ops->close(*store);
        *store = NULL;
        vi__refs_clear(r);
    }
    return st;
}

vi_status vi__index_file_decode(const uint8_t *buf, size_t n, vi__store **store,
                                struct vi__refs *refs, int32_t *kind) {
    *store = NULL;
    vi__doc *doc;
    vi_status st = vi__doc_parse(buf, n, VI__MAGIC_INDEX, VI_E_FORMAT, &doc);
    if (st != VI_OK) return st;
    const char *k = vi__doc_str(doc, "kind");
    if (k && strcmp(k, "vinfringe-index-manifest") == 0)
        st = vi__fail(VI_E_FORMAT, "this is the manifest of an on-disk index: open it with "
                      "vi_index_open or vi_index_load");
    else
        st = decode_parsed(doc, store, refs, kind);
    vi__doc_free(doc);
    return st;
}

vi_status vi__index_file_load(const char *path, int *single, vi__store **store,
                              struct vi__refs *refs, int32_t *kind) {
    *single = 0;
    *store = NULL;
    uint8_t *buf = NULL;
    size_t n = 0;
    vi__doc *doc = NULL;
    vi_status st = vi__read_file(path, &buf, &n, MAX_INDEX_FILE);
    if (st == VI_OK) st = vi__doc_parse(buf, n, VI__MAGIC_INDEX, VI_E_FORMAT, &doc);
    vi__free(buf);
    if (st != VI_OK) return st;
    const char *k = vi__doc_str(doc, "kind");
    *single = k && strcmp(k, "vinfringe-index") == 0;
    if (*single) st = decode_parsed(doc, store, refs, kind);
    vi__doc_free(doc);
    return st;
}
