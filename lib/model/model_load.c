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
    snprintf(id, sizeof id, "%.255s:%08x", mf->meta.name, vi__crc32(0, data, size));
    m->id = vi__strdup(id);
    m->description = vi__strdup(mf->meta.description);
    st = (m->id && m->description) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    if (st == VI_OK) st = build_backbone(mf, &m->net);
    if (st == VI_OK) {
        const vi__model_head *h = &mf->head;
        st = vi__head_fold(h->present ? h->weight : NULL, h->present ? h->bias : NULL,
                           vi__net_feature_dim(m->net), &m->head);
    }
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
    vi__free(m->id);
    vi__free(m->description);
    vi__free(m->owned);
    vi__free(m);
}
