/* The loaded model: parse the model file, build the backbone, fold the head. */
#include <stdio.h>
#include <string.h>

#include "model.h"

extern const uint8_t vi__default_model_data[] VI_HIDDEN;
extern const uint8_t vi__default_model_end[] VI_HIDDEN;

#define MAX_MODEL_FILE ((size_t)1 << 30)

/* Dequantise every backbone tensor and build the inference network from them. */
static vi_status build_backbone(const vi__model_file *mf, vi__net **net) {
    vi__named_f32 *list;
    int32_t n;
    vi_status st = vi__model_file_backbone_f32(mf, &list, &n);
    if (st == VI_OK) st = vi__net_create(list, n, net);
    vi__named_f32_free(list, n);
    if (st == VI_OK) vi__net_set_mirror(*net, mf->meta.mirror_average);
    return st;
}

/* The calibration: its constants, and the background bank in an exact inner-product index. */
static vi_status load_calibration(const vi__model_calibration *c, vi_model *m) {
    m->calibration_fit = vi__strdup(c->calib.id ? c->fit : "");
    if (!m->calibration_fit) return vi__fail(VI_E_NOMEM, "out of memory");
    if (!c->calib.id) {
        vi__log(VI_LOG_WARN, "model %s is uncalibrated: its scores use the library's fixed "
                "constants and are not probabilities fitted for it (vi_calibrator, "
                "docs/thresholds.md)", m->id);
        return VI_OK;
    }
    if (c->bank.dims[1] != m->head.out_dim)
        return vi__fail(VI_E_BAD_MODEL, "the background bank's vectors do not have the "
                        "embedding's %d dimensions", (int)m->head.out_dim);
    const int64_t n = c->bank.dims[0], dim = c->bank.dims[1];
    float *bank = vi__mallocarray((size_t)n * (size_t)dim, sizeof *bank);
    if (!bank) return vi__fail(VI_E_NOMEM, "out of memory for the background bank");
    vi__tensor_to_f32(&c->bank, bank);
    vi_status st = vi__faiss_create(VI__FAISS_FLAT, (int32_t)dim, n, 0, &m->bank);
    if (st == VI_OK) st = vi__faiss_add(m->bank, n, bank);
    vi__free(bank);
    if (st != VI_OK) return st;
    m->calib = c->calib;
    m->bank_k = c->bank_k;
    m->bank_n = n;
    return VI_OK;
}

vi_status vi__embedding_background(const vi__faiss *bank, int32_t k, struct vi_embedding *e) {
    if (!e->frame_bg) e->frame_bg = vi__mallocarray((size_t)e->n_frames, sizeof(float));
    if (!e->frame_bg) return vi__fail(VI_E_NOMEM, "out of memory");
    return vi__bank_background(bank, k, e->frames, e->n_frames, e->frame_bg);
}

vi_status vi__bank_background(const vi__faiss *bank, int32_t k, const float *frames, int32_t n,
                              float *bg) {
    float *sims = vi__mallocarray((size_t)n * (size_t)k, sizeof *sims);
    int64_t *labels = vi__mallocarray((size_t)n * (size_t)k, sizeof *labels);
    vi_status st = (sims && labels) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    if (st == VI_OK) st = vi__faiss_search(bank, n, frames, k, sims, labels);
    for (int32_t i = 0; st == VI_OK && i < n; i++) {
        double sum = 0.0;
        int32_t got = 0;
        for (int32_t j = 0; j < k; j++)
            if (labels[(size_t)i * k + j] >= 0) {
                sum += sims[(size_t)i * k + j];
                got++;
            }
        const double v = got ? sum / got : 0.0;
        bg[i] = (float)(v > 1.0 ? 1.0 : v < -1.0 ? -1.0 : v);
    }
    vi__free(sims);
    vi__free(labels);
    return st;
}

/* Build a model from the file bytes `data`. `owned` is `data` when the caller hands its buffer
 * over (the model keeps it, even on failure it is freed here), NULL when `data` outlives the
 * model (the built-in model), in which case nothing is copied. */
static vi_status model_from_bytes(const uint8_t *data, size_t size, uint8_t *owned,
                                  vi_model **out) {
    vi__model_file *mf;
    vi_status st = vi__model_file_parse(data, size, &mf);
    if (st != VI_OK) {
        vi__free(owned);
        return st;
    }
    vi_model *m = vi__calloc(1, sizeof *m);
    if (!m) {
        vi__model_file_free(mf);
        vi__free(owned);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    m->bytes = data;
    m->n_bytes = size;
    m->owned = owned;
    m->input_size = mf->meta.input_size;
    char id[300];
    snprintf(id, sizeof id, "%.255s:%08x", mf->meta.name, vi__model_file_embedding_crc(mf));
    m->id = vi__strdup(id);
    m->description = vi__strdup(mf->meta.description);
    st = (m->id && m->description) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    if (st == VI_OK) st = build_backbone(mf, &m->net);
    if (st == VI_OK) {
        const vi__model_head *h = &mf->head;
        st = vi__head_fold(h->present ? h->weight : NULL, h->present ? h->bias : NULL,
                           vi__net_feature_dim(m->net), &m->head);
    }
    if (st == VI_OK) st = load_calibration(&mf->calibration, m);
    vi__model_file_free(mf);
    if (st != VI_OK) {
        vi__model_free(m);
        return st;
    }
    *out = m;
    return VI_OK;
}

vi_status vi__model_load_copy(const void *data, size_t size, vi_model **out) {
    uint8_t *copy = vi__malloc(size ? size : 1); /* the caller's buffer may go away */
    if (!copy) return vi__fail(VI_E_NOMEM, "loading model from memory: out of memory");
    memcpy(copy, data, size);
    vi_status st = model_from_bytes(copy, size, copy, out);
    if (st != VI_OK) vi__error_prefix("loading model from memory");
    return st;
}

vi_status vi__model_load_builtin(vi_model **out) {
    vi_status st = model_from_bytes(vi__default_model_data,
                                    (size_t)(vi__default_model_end - vi__default_model_data),
                                    NULL, out);
    if (st != VI_OK) vi__error_prefix("loading the built-in model");
    return st;
}

vi_status vi__model_load_file(const char *path, vi_model **out) {
    uint8_t *data;
    size_t size;
    vi_status st = vi__read_file(path, &data, &size, MAX_MODEL_FILE);
    if (st != VI_OK) return st;
    st = model_from_bytes(data, size, data, out); /* the model keeps (or frees) the buffer */
    if (st != VI_OK) vi__error_prefix("loading model %s", path);
    return st;
}

void vi__model_free(vi_model *m) {
    if (!m) return;
    vi__net_free(m->net);
    vi__head_release(&m->head);
    vi__faiss_free(m->bank);
    vi__free(m->calibration_fit);
    vi__free(m->id);
    vi__free(m->description);
    vi__free(m->owned);
    vi__free(m);
}
