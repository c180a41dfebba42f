/* Single-file indexes (.vidx format 1, vi_index_save / vi_index_load): the container with the
 * ids, and every reference's vectors (float32) and times concatenated in insertion order. */
#include <math.h>
#include <string.h>

#include "../formats/formats.h"
#include "index.h"

vi_status vi__index_encode(const struct vi_index *x, uint8_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    int64_t ids_len = 0;
    for (int32_t i = 0; i < x->n; i++) ids_len += (int64_t)strlen(x->ids[i]);
    const size_t dim = (size_t)x->dim, total = (size_t)x->total;
    int64_t *counts = vi__calloc((size_t)x->n + 1, sizeof(int64_t));
    int64_t *id_lengths = vi__calloc((size_t)x->n + 1, sizeof(int64_t));
    int64_t *durations = vi__calloc((size_t)x->n + 1, sizeof(int64_t));
    float *videos = vi__calloc((size_t)x->n * dim + 1, sizeof(float));
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
        for (int32_t i = 0; st == VI_OK && i < x->n; i++) {
            struct vi_embedding *e = NULL;
            st = vi__index_ref_embedding(x, i, &e);
            if (st != VI_OK) break;
            counts[i] = e->n_frames;
            durations[i] = x->duration_us[i];
            id_lengths[i] = (int64_t)strlen(x->ids[i]);
            memcpy(ids + c, x->ids[i], (size_t)id_lengths[i]);
            c += (size_t)id_lengths[i];
            memcpy(videos + (size_t)i * dim, e->video, dim * sizeof(float));
            memcpy(frames + f * dim, e->frames, (size_t)e->n_frames * dim * sizeof(float));
            memcpy(pts + f, e->pts_us, (size_t)e->n_frames * sizeof(int64_t));
            f += (size_t)e->n_frames;
            vi_embedding_free(e);
        }
        if (st != VI_OK) {
            vi__docw_free(w);
        } else {
            vi__docw_str(w, "kind", "vinfringe-index");
            vi__docw_str(w, "model_id", x->model_id ? x->model_id : "");
            vi__docw_i64(w, "dim", x->dim);
            vi__docw_i64(w, "count", x->n);
            vi__docw_i64(w, "search_kind", x->opts.kind);
            vi__docw_str(w, "ids", ids);
            const vi__tensor t[] = {
                {"id_lengths", VI__DT_I64, 1, {x->n}, 0, 0, id_lengths, 0},
                {"frame_counts", VI__DT_I64, 1, {x->n}, 0, 0, counts, 0},
                {"durations_us", VI__DT_I64, 1, {x->n}, 0, 0, durations, 0},
                {"videos", VI__DT_F32, 2, {x->n, x->dim}, 0, 0, videos, 0},
                {"frames", VI__DT_F32, 2, {x->total, x->dim}, 0, 0, frames, 0},
                {"pts_us", VI__DT_I64, 1, {x->total}, 0, 0, pts, 0},
            };
            for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) vi__docw_tensor(w, &t[i]);
            st = vi__docw_finish(w, VI__MAGIC_INDEX, out, n);
        }
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

/* Checks every length against the others before building anything. */
static vi_status decode_doc(const vi__doc *doc, struct vi_index *x) {
    int64_t dim = 0, count = 0;
    const char *kind = vi__doc_str(doc, "kind"), *model_id = vi__doc_str(doc, "model_id");
    const char *ids = vi__doc_str(doc, "ids");
    if (kind && strcmp(kind, "vinfringe-index-manifest") == 0)
        return vi__fail(VI_E_FORMAT, "this is the manifest of an on-disk index: open it with "
                        "vi_index_open or vi_index_load");
    if (!kind || strcmp(kind, "vinfringe-index") != 0 || !model_id || !ids ||
        !vi__doc_i64(doc, "dim", &dim) || !vi__doc_i64(doc, "count", &count) || dim < 0 ||
        dim > 65536 || count < 0 || count > INT32_MAX || (count > 0 && dim == 0))
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
    int64_t sum_frames = 0, sum_ids = 0;
    for (int64_t i = 0; i < count; i++) {
        int64_t nf, nl;
        memcpy(&nf, (const uint8_t *)counts->data + 8 * i, 8);
        memcpy(&nl, (const uint8_t *)lens->data + 8 * i, 8);
        if (nf < 1 || nf > total || nf > INT32_MAX || nl < 0 || nl > (int64_t)strlen(ids))
            return vi__fail(VI_E_FORMAT, "index entry %lld has bad lengths", (long long)i);
        sum_frames += nf;
        sum_ids += nl;
    }
    if (sum_frames != total || sum_ids != (int64_t)strlen(ids))
        return vi__fail(VI_E_FORMAT, "index lengths do not add up");
    int64_t search_kind;
    if (x->opts.kind == VI_INDEX_AUTO && vi__doc_i64(doc, "search_kind", &search_kind) &&
        search_kind > VI_INDEX_AUTO && search_kind <= VI_INDEX_IVFPQ)
        x->opts.kind = (int32_t)search_kind;
    const float *vsrc = videos->data, *fsrc = frames->data;
    const int64_t *psrc = pts->data;
    const char *id = ids;
    x->defer_sync = 1;
    /* tensor data may be unaligned: copy with memcpy only */
    for (int64_t i = 0; i < count; i++) {
        int64_t nf, nl, dus;
        memcpy(&nf, (const uint8_t *)counts->data + 8 * i, 8);
        memcpy(&nl, (const uint8_t *)lens->data + 8 * i, 8);
        memcpy(&dus, (const uint8_t *)durs->data + 8 * i, 8);
        char *idc = vi__malloc((size_t)nl + 1);
        struct vi_embedding *e = NULL;
        vi_status st = idc ? vi__embedding_alloc((int32_t)dim, (int32_t)nf, model_id, &e)
                           : vi__fail(VI_E_NOMEM, "out of memory");
        if (st != VI_OK) {
            vi__free(idc);
            return st;
        }
        memcpy(idc, id, (size_t)nl);
        idc[nl] = '\0';
        id += nl;
        memcpy(e->video, (const uint8_t *)vsrc + (size_t)i * dim * 4, (size_t)dim * 4);
        memcpy(e->frames, fsrc, (size_t)nf * dim * 4);
        memcpy(e->pts_us, psrc, (size_t)nf * 8);
        fsrc = (const float *)(const void *)((const uint8_t *)fsrc + (size_t)nf * dim * 4);
        psrc = (const int64_t *)(const void *)((const uint8_t *)psrc + (size_t)nf * 8);
        e->duration = (double)dus / 1e6;
        st = vi__index_add(x, idc, e);
        vi__free(idc);
        vi_embedding_free(e);
        if (st != VI_OK) return st;
    }
    x->defer_sync = 0;
    return vi__index_sync_faiss(x);
}

vi_status vi__index_decode_with(const uint8_t *buf, size_t n, const vi_index_options *resolved,
                                struct vi_index **out) {
    *out = NULL;
    vi__doc *doc;
    vi_status st = vi__doc_parse(buf, n, VI__MAGIC_INDEX, VI_E_FORMAT, &doc);
    if (st != VI_OK) return st;
    struct vi_index *x = vi__index_new(resolved);
    st = x ? decode_doc(doc, x) : vi__fail(VI_E_NOMEM, "out of memory");
    vi__doc_free(doc);
    if (st != VI_OK) {
        vi__index_free(x);
        return st;
    }
    *out = x;
    return VI_OK;
}

vi_status vi__index_decode(const uint8_t *buf, size_t n, struct vi_index **out) {
    vi_index_options o;
    vi_status st = vi__index_resolve_options(NULL, &o);
    return st == VI_OK ? vi__index_decode_with(buf, n, &o, out) : st;
}
