/* vi_model_*: parse a model container, build the backbone through the shim, fold the head. */
#include <stdio.h>
#include <string.h>

#include "../formats/formats.h"
#include "model.h"

extern const uint8_t vi__default_model_data[] VI_HIDDEN;
extern const uint8_t vi__default_model_end[] VI_HIDDEN;

#define MAX_MODEL_FILE ((size_t)1 << 30)

/* Dequantise every backbone tensor (all but the head's "dmi.*") and hand them to the shim. */
static vi_status build_backbone(const vi__doc *doc, vi__net **net) {
    vi__named_f32 *list;
    int32_t n;
    vi_status st = vi__doc_backbone_f32(doc, &list, &n);
    if (st == VI_OK) st = vi__net_create(list, n, net);
    vi__named_f32_free(list, n);
    return st;
}

/* Build a model from the file bytes `data`. `owned` is `data` when the caller hands its buffer
 * over (the model keeps it, even on failure it is freed here), NULL when `data` outlives the
 * model (the built-in model), in which case nothing is copied. */
static vi_status model_from_bytes(const uint8_t *data, size_t size, uint8_t *owned,
                                  vi_model **out) {
    vi__doc *doc;
    vi_status st = vi__doc_parse(data, size, VI__MAGIC_MODEL, VI_E_BAD_MODEL, &doc);
    if (st != VI_OK) {
        vi__free(owned);
        return st;
    }
    const char *kind = vi__doc_str(doc, "kind");
    const char *backbone = vi__doc_str(doc, "backbone");
    const char *name = vi__doc_str(doc, "name");
    const char *description = vi__doc_str(doc, "description");
    int64_t input_size = 0;
    if (!kind || strcmp(kind, "vinfringe-model") != 0 || !name)
        st = vi__fail(VI_E_BAD_MODEL, "not a vinfringe model (missing 'kind' or 'name')");
    else if (!backbone || strcmp(backbone, "mobilenet_v2") != 0)
        st = vi__fail(VI_E_BAD_MODEL, "unknown backbone '%s'", backbone ? backbone : "(none)");
    else if (!vi__doc_i64(doc, "input_size", &input_size) || input_size < 32 || input_size > 1024)
        st = vi__fail(VI_E_BAD_MODEL, "missing or absurd 'input_size'");
    vi_model *m = st == VI_OK ? vi__calloc(1, sizeof *m) : NULL;
    if (st == VI_OK && !m) st = vi__fail(VI_E_NOMEM, "out of memory");
    if (st != VI_OK) {
        vi__doc_free(doc);
        vi__free(owned);
        return st;
    }
    m->bytes = data;
    m->n_bytes = size;
    m->owned = owned;
    m->input_size = (int32_t)input_size;
    char id[300];
    snprintf(id, sizeof id, "%.255s:%08x", name, vi__crc32(0, data, size));
    m->id = vi__strdup(id);
    m->description = vi__strdup(description ? description : "");
    st = (m->id && m->description) ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    if (st == VI_OK) st = build_backbone(doc, &m->net);
    int64_t mirror = 0; /* "mirror_average": features invariant to horizontal flips */
    if (st == VI_OK && vi__doc_i64(doc, "mirror_average", &mirror))
        vi__net_set_mirror(m->net, mirror != 0);
    if (st == VI_OK) st = vi__head_from_doc(doc, vi__net_feature_dim(m->net), &m->head);
    vi__doc_free(doc);
    if (st != VI_OK) {
        vi_model_free(m);
        return st;
    }
    *out = m;
    return VI_OK;
}

vi_status vi_model_load_memory(const void *data, size_t size, vi_model **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_model_load_memory: out is NULL");
    *out = NULL;
    if (!data) return vi__fail(VI_E_INVALID_ARG, "vi_model_load_memory: data is NULL");
    uint8_t *copy = vi__malloc(size ? size : 1); /* the caller's buffer may go away */
    if (!copy) return vi__fail(VI_E_NOMEM, "loading model from memory: out of memory");
    memcpy(copy, data, size);
    vi_status st = model_from_bytes(copy, size, copy, out);
    if (st != VI_OK) vi__error_prefix("loading model from memory");
    return st;
}

vi_status vi_model_load(const char *path, vi_model **out) {
    vi__clear_error();
    if (!out) return vi__fail(VI_E_INVALID_ARG, "vi_model_load: out is NULL");
    *out = NULL;
    if (!path) {
        vi_status st = model_from_bytes(vi__default_model_data,
                                        (size_t)(vi__default_model_end - vi__default_model_data),
                                        NULL, out);
        if (st != VI_OK) vi__error_prefix("loading the built-in model");
        return st;
    }
    uint8_t *data;
    size_t size;
    vi_status st = vi__read_file(path, &data, &size, MAX_MODEL_FILE);
    if (st != VI_OK) return st;
    st = model_from_bytes(data, size, data, out); /* the model keeps (or frees) the buffer */
    if (st != VI_OK) vi__error_prefix("loading model %s", path);
    return st;
}

void vi_model_free(vi_model *m) {
    if (!m) return;
    vi__net_free(m->net);
    vi__head_release(&m->head);
    vi__free(m->id);
    vi__free(m->description);
    vi__free(m->owned);
    vi__free(m);
}

int32_t vi_model_dim(const vi_model *m) { return m ? m->head.out_dim : 0; }
int32_t vi_model_feature_dim(const vi_model *m) { return m ? m->head.in_dim : 0; }
int32_t vi_model_input_size(const vi_model *m) { return m ? m->input_size : 0; }
const char *vi_model_id(const vi_model *m) { return m ? m->id : NULL; }
const char *vi_model_description(const vi_model *m) { return m ? m->description : NULL; }
