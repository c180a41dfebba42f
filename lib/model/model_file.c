/* The model file: every key of every part is spelled here and nowhere else. A part is read by
 * read_<part> (which validates it whole) and written by write_<part>; the `parts` table runs
 * them in file order. The container underneath (lib/formats) checks framing and checksums. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

#define MODEL_KIND "vinfringe-model"
#define BACKBONE_KIND "mobilenet_v2"
#define HEAD_PREFIX "dmi." /* every head tensor's name starts with it */
#define MAX_DIM 65536

/* What the views of a vi__model_file point into: the parsed payload and writers' copies. */
struct vi__model_store {
    vi__doc *doc;
    void **owned;
    int32_t n_owned, cap_owned;
};

/* Keep `p` (vi__malloc'ed) until the file is freed; frees it and fails if that is impossible. */
static vi_status store_keep(vi__model_file *mf, void *p) {
    struct vi__model_store *s = mf->store;
    if (s->n_owned == s->cap_owned) {
        const int32_t cap = s->cap_owned ? 2 * s->cap_owned : 16;
        void **o = vi__realloc(s->owned, (size_t)cap * sizeof *o);
        if (!o) {
            vi__free(p);
            return vi__fail(VI_E_NOMEM, "out of memory");
        }
        s->owned = o;
        s->cap_owned = cap;
    }
    s->owned[s->n_owned++] = p;
    return VI_OK;
}

/* ---- part: metadata ----------------------------------------------------------------------- */

static vi_status read_meta(const vi__doc *doc, vi__model_file *mf) {
    vi__model_meta *m = &mf->meta;
    const char *kind = vi__doc_str(doc, "kind");
    const char *backbone = vi__doc_str(doc, "backbone");
    m->name = vi__doc_str(doc, "name");
    m->description = vi__doc_str(doc, "description");
    if (!m->description) m->description = "";
    m->license = vi__doc_str(doc, "license");
    m->source = vi__doc_str(doc, "source");
    if (!kind || strcmp(kind, MODEL_KIND) != 0 || !m->name)
        return vi__fail(VI_E_BAD_MODEL, "not a vinfringe model (missing 'kind' or 'name')");
    if (!backbone || strcmp(backbone, BACKBONE_KIND) != 0)
        return vi__fail(VI_E_BAD_MODEL, "unknown backbone '%s'", backbone ? backbone : "(none)");
    int64_t v = 0;
    if (!vi__doc_i64(doc, "input_size", &v) || v < 32 || v > 1024)
        return vi__fail(VI_E_BAD_MODEL, "missing or absurd 'input_size'");
    m->input_size = (int32_t)v;
    v = 0;
    if (vi__doc_i64(doc, "mirror_average", &v) && v != 0 && v != 1)
        return vi__fail(VI_E_BAD_MODEL, "'mirror_average' is %lld, not 0 or 1", (long long)v);
    m->mirror_average = (int32_t)v;
    int64_t blocks, steps, seed;
    const int have = vi__doc_i64(doc, "finetune_trainable_blocks", &blocks) +
                     vi__doc_i64(doc, "finetune_steps", &steps) +
                     vi__doc_i64(doc, "finetune_seed", &seed);
    if (have != 0 && have != 3)
        return vi__fail(VI_E_BAD_MODEL, "the fine-tuning settings are incomplete (%d of 3)", have);
    if (have) {
        m->finetuned = 1;
        m->finetune_trainable_blocks = blocks;
        m->finetune_steps = steps;
        m->finetune_seed = seed;
    }
    return VI_OK;
}

static vi_status write_meta(vi__docw *w, const vi__model_file *mf) {
    const vi__model_meta *m = &mf->meta;
    if (!m->name || m->input_size < 32 || m->input_size > 1024)
        return vi__fail(VI_E_INVALID_ARG, "writing a model: no name or absurd input size");
    vi__docw_str(w, "kind", MODEL_KIND);
    vi__docw_str(w, "backbone", BACKBONE_KIND);
    if (m->license) vi__docw_str(w, "license", m->license);
    if (m->source) vi__docw_str(w, "source", m->source);
    vi__docw_str(w, "name", m->name);
    vi__docw_str(w, "description", m->description ? m->description : "");
    vi__docw_i64(w, "input_size", m->input_size);
    vi__docw_i64(w, "mirror_average", m->mirror_average);
    if (m->finetuned) {
        vi__docw_i64(w, "finetune_trainable_blocks", m->finetune_trainable_blocks);
        vi__docw_i64(w, "finetune_steps", m->finetune_steps);
        vi__docw_i64(w, "finetune_seed", m->finetune_seed);
    }
    return VI_OK;
}

/* ---- part: backbone ----------------------------------------------------------------------- */

/* The backbone's tensors are the ones whose names have no '.' (the backbone's own names, Keras
 * style "block_1_expand/kernel"); which of them it needs is the backbone's business. */
static int is_backbone_name(const char *name) { return strchr(name, '.') == NULL; }

static vi_status read_backbone(const vi__doc *doc, vi__model_file *mf) {
    const int32_t count = vi__doc_tensor_count(doc);
    vi__model_backbone *b = &mf->backbone;
    b->tensors = vi__calloc((size_t)(count > 0 ? count : 1), sizeof *b->tensors);
    if (!b->tensors) return vi__fail(VI_E_NOMEM, "out of memory");
    for (int32_t i = 0; i < count; i++) {
        const vi__tensor *t = vi__doc_tensor_at(doc, i);
        if (is_backbone_name(t->name)) b->tensors[b->n++] = *t;
    }
    if (b->n == 0) return vi__fail(VI_E_BAD_MODEL, "the file holds no backbone tensors");
    return VI_OK;
}

static vi_status write_backbone(vi__docw *w, const vi__model_file *mf) {
    for (int32_t i = 0; i < mf->backbone.n; i++) {
        if (!is_backbone_name(mf->backbone.tensors[i].name))
            return vi__fail(VI_E_INVALID_ARG, "writing a model: backbone tensor name '%s' has "
                            "a '.'", mf->backbone.tensors[i].name);
        vi__docw_tensor(w, &mf->backbone.tensors[i]);
    }
    return VI_OK;
}

/* ---- part: head --------------------------------------------------------------------------- */

/* The key of layer `layer`'s weight (bias = 0) or bias (bias = 1): "dmi.sub0.weight" ..
 * "dmi.sub5.bias", "dmi.aux.weight", "dmi.fuse.bias". */
static void head_key(int32_t layer, int bias, char *buf, size_t size) {
    const char *part = bias ? "bias" : "weight";
    if (layer < VI__DMI_SUBS)
        snprintf(buf, size, HEAD_PREFIX "sub%d.%s", (int)layer, part);
    else
        snprintf(buf, size, HEAD_PREFIX "%s.%s", layer == VI__DMI_AUX ? "aux" : "fuse", part);
}

static int is_head_name(const char *name) {
    return strncmp(name, HEAD_PREFIX, sizeof HEAD_PREFIX - 1) == 0;
}

static int is_head_key(const char *name) {
    char key[64];
    for (int32_t l = 0; l < VI__DMI_LAYERS; l++)
        for (int bias = 0; bias < 2; bias++) {
            head_key(l, bias, key, sizeof key);
            if (strcmp(key, name) == 0) return 1;
        }
    return 0;
}

static int32_t fan_in(const vi__model_head *h, int32_t layer) {
    return layer == VI__DMI_FUSE ? VI__DMI_SUBS * h->out_dim : h->in_dim;
}

/* Every value finite (a NaN in the head would make every embedding NaN). */
static int tensor_is_finite(const vi__tensor *t) {
    const int64_t n = vi__tensor_numel(t);
    if (t->dtype == VI__DT_U8Q) return isfinite(t->qscale) && isfinite(t->qmin);
    if (t->dtype != VI__DT_F32) return 1;
    const uint8_t *p = t->data;
    for (int64_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, p + 4 * i, 4);
        if (!isfinite(v)) return 0;
    }
    return 1;
}

static vi_status read_head(const vi__doc *doc, vi__model_file *mf) {
    vi__model_head *h = &mf->head;
    const vi__tensor *found[VI__DMI_LAYERS][2];
    int32_t n_found = 0;
    char key[64];
    for (int32_t l = 0; l < VI__DMI_LAYERS; l++)
        for (int bias = 0; bias < 2; bias++) {
            head_key(l, bias, key, sizeof key);
            found[l][bias] = vi__doc_tensor(doc, key);
            n_found += found[l][bias] != NULL;
        }
    /* every "dmi." tensor must be one of those, every other dotted name belongs to no part */
    for (int32_t i = 0; i < vi__doc_tensor_count(doc); i++) {
        const char *name = vi__doc_tensor_at(doc, i)->name;
        if (is_head_name(name) && !is_head_key(name))
            return vi__fail(VI_E_BAD_MODEL, "tensor '%s' is not a layer of the DMI head", name);
        if (!is_head_name(name) && !is_backbone_name(name) && !vi__calibration_is_key(name))
            return vi__fail(VI_E_BAD_MODEL, "tensor '%s' belongs to no part of a model that "
                            "this library knows (made by a newer libvinfringe?)", name);
    }
    if (n_found == 0) return VI_OK; /* headless: embeddings are the backbone's features */
    for (int32_t l = 0; l < VI__DMI_LAYERS; l++)
        for (int bias = 0; bias < 2; bias++)
            if (!found[l][bias]) {
                head_key(l, bias, key, sizeof key);
                return vi__fail(VI_E_BAD_MODEL, "the DMI head is incomplete: tensor '%s' is "
                                "missing (the file has %d of its %d tensors)", key, (int)n_found,
                                2 * VI__DMI_LAYERS);
            }
    const vi__tensor *aux = found[VI__DMI_AUX][0];
    if (aux->ndim != 2 || aux->dims[0] < 1 || aux->dims[0] > MAX_DIM || aux->dims[1] < 1 ||
        aux->dims[1] > MAX_DIM)
        return vi__fail(VI_E_BAD_MODEL, "head tensor '%s' has an absurd shape", aux->name);
    h->out_dim = (int32_t)aux->dims[0];
    h->in_dim = (int32_t)aux->dims[1];
    for (int32_t l = 0; l < VI__DMI_LAYERS; l++) {
        const vi__tensor *w = found[l][0], *b = found[l][1];
        if (w->ndim != 2 || w->dims[0] != h->out_dim || w->dims[1] != fan_in(h, l))
            return vi__fail(VI_E_BAD_MODEL, "head tensor '%s' has the wrong shape (want %d x %d)",
                            w->name, (int)h->out_dim, (int)fan_in(h, l));
        if (b->ndim != 1 || b->dims[0] != h->out_dim)
            return vi__fail(VI_E_BAD_MODEL, "head tensor '%s' has the wrong shape (want %d)",
                            b->name, (int)h->out_dim);
        if (!tensor_is_finite(w) || !tensor_is_finite(b))
            return vi__fail(VI_E_BAD_MODEL, "head tensor '%s' holds NaN or infinite values",
                            tensor_is_finite(w) ? b->name : w->name);
        h->weight[l] = *w;
        h->bias[l] = *b;
    }
    h->present = 1;
    return VI_OK;
}

static vi_status write_head(vi__docw *w, const vi__model_file *mf) {
    const vi__model_head *h = &mf->head;
    if (!h->present) return VI_OK;
    char key[64];
    for (int32_t l = 0; l < VI__DMI_LAYERS; l++)
        for (int bias = 0; bias < 2; bias++) {
            vi__tensor t = bias ? h->bias[l] : h->weight[l];
            const int ok = t.data && t.ndim == 2 - bias && t.dims[0] == h->out_dim &&
                           (bias || t.dims[1] == fan_in(h, l));
            head_key(l, bias, key, sizeof key);
            if (!ok)
                return vi__fail(VI_E_INVALID_ARG, "writing a model: head tensor '%s' is unset "
                                "or misshapen", key);
            t.name = key;
            vi__docw_tensor(w, &t);
        }
    return VI_OK;
}

/* ---- part: calibration -------------------------------------------------------------------- */

#define KEY_BANK "calibration.bank"
#define KEY_BANK_K "calibration.bank_k"
#define KEY_FIT "calibration.fit"
#define MAX_BANK 1000000

static uint32_t bank_crc(const vi__tensor *bank) {
    uint32_t crc = vi__crc32(0, bank->dims, 2 * sizeof bank->dims[0]);
    return vi__crc32(crc, bank->data, bank->nbytes);
}

static vi_status read_calibration(const vi__doc *doc, vi__model_file *mf) {
    vi__model_calibration *c = &mf->calibration;
    vi_status st = vi__calibration_read(doc, VI_E_BAD_MODEL, &c->calib);
    if (st != VI_OK || !c->calib.id) {
        if (st == VI_OK && (vi__doc_tensor(doc, KEY_BANK) || vi__doc_str(doc, KEY_FIT)))
            st = vi__fail(VI_E_BAD_MODEL, "the calibration block is damaged: a background bank "
                          "without the calibration's constants");
        return st;
    }
    const vi__tensor *bank = vi__doc_tensor(doc, KEY_BANK);
    int64_t k = 0;
    if (!bank || bank->ndim != 2 || bank->dims[0] < 1 || bank->dims[0] > MAX_BANK ||
        (bank->dtype != VI__DT_F32 && bank->dtype != VI__DT_U8Q))
        return vi__fail(VI_E_BAD_MODEL, "the calibration block is damaged: '%s' is missing or "
                        "misshapen", KEY_BANK);
    if (!mf->head.present || bank->dims[1] != mf->head.out_dim)
        return vi__fail(VI_E_BAD_MODEL, "the calibration's background bank holds %lld-d vectors "
                        "but the model's embeddings have %d dimensions", (long long)bank->dims[1],
                        mf->head.present ? (int)mf->head.out_dim : 0);
    if (!tensor_is_finite(bank) ||
        (bank->dtype == VI__DT_U8Q && !(isfinite(bank->qscale) && isfinite(bank->qmin))))
        return vi__fail(VI_E_BAD_MODEL, "the calibration's background bank holds NaN or "
                        "infinite values");
    if (!vi__doc_i64(doc, KEY_BANK_K, &k) || k < 1 || k > 64 || k > bank->dims[0])
        return vi__fail(VI_E_BAD_MODEL, "the calibration block is damaged: '%s' is missing or "
                        "out of range 1..64", KEY_BANK_K);
    if (bank_crc(bank) != c->calib.bank_crc)
        return vi__fail(VI_E_BAD_MODEL, "the calibration block is damaged: the background bank "
                        "does not match its checksum");
    c->bank = *bank;
    c->bank_k = (int32_t)k;
    c->fit = vi__doc_str(doc, KEY_FIT);
    if (!c->fit) c->fit = "";
    return VI_OK;
}

static vi_status write_calibration(vi__docw *w, const vi__model_file *mf) {
    const vi__model_calibration *c = &mf->calibration;
    if (!c->calib.id) return VI_OK;
    if (!c->bank.data || c->bank.ndim != 2 || !mf->head.present ||
        c->bank.dims[1] != mf->head.out_dim || c->bank_k < 1)
        return vi__fail(VI_E_INVALID_ARG, "writing a model: the calibration has no background "
                        "bank of the head's dimension");
    vi__tensor bank = c->bank;
    bank.name = KEY_BANK;
    vi__docw_tensor(w, &bank);
    vi__docw_i64(w, KEY_BANK_K, c->bank_k);
    if (c->fit && *c->fit) vi__docw_str(w, KEY_FIT, c->fit);
    vi__calibration_write(w, &c->calib);
    return VI_OK;
}

vi_status vi__model_file_set_calibration(vi__model_file *mf, const float *bank, int32_t n,
                                         int32_t dim, int32_t bank_k,
                                         const struct vi__calibration *calib, const char *fit) {
    vi__model_calibration *c = &mf->calibration;
    memset(c, 0, sizeof *c);
    const size_t count = (size_t)n * (size_t)dim;
    uint8_t *codes = vi__malloc(count ? count : 1);
    char *fit_copy = vi__strdup(fit ? fit : "");
    if (!codes || !fit_copy) {
        vi__free(codes);
        vi__free(fit_copy);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    vi_status st = store_keep(mf, codes);
    if (st == VI_OK) st = store_keep(mf, fit_copy);
    else vi__free(fit_copy);
    if (st != VI_OK) return st;
    /* 8 bits over the bank's range: unit vectors' components lie in [-1, 1], a step of at most
     * 2/255 moves a similarity by well under 0.01 (docs/thresholds.md) */
    float lo = 0.0f, hi = 0.0f;
    for (size_t i = 0; i < count; i++) {
        if (bank[i] < lo) lo = bank[i];
        if (bank[i] > hi) hi = bank[i];
    }
    const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
    for (size_t i = 0; i < count; i++) {
        const float q = roundf((bank[i] - lo) / scale);
        codes[i] = (uint8_t)(q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q);
    }
    c->bank = (vi__tensor){.name = KEY_BANK, .dtype = VI__DT_U8Q, .ndim = 2, .dims = {n, dim},
                           .qscale = scale, .qmin = lo, .data = codes, .nbytes = count};
    c->bank_k = bank_k;
    c->fit = fit_copy;
    c->calib = *calib;
    c->calib.bank_crc = bank_crc(&c->bank);
    c->calib.id = vi__calibration_crc(&c->calib);
    return VI_OK;
}

vi_status vi__model_file_set_verdict(vi__model_file *mf, const struct vi__calibration *calib,
                                     const char *fit) {
    vi__model_calibration *c = &mf->calibration;
    if (!c->calib.id)
        return vi__fail(VI_E_INVALID_ARG, "the model is uncalibrated: no verdict to refit");
    char *fit_copy = vi__strdup(fit ? fit : "");
    if (!fit_copy) return vi__fail(VI_E_NOMEM, "out of memory");
    vi_status st = store_keep(mf, fit_copy);
    if (st != VI_OK) return st;
    memcpy(c->calib.pair_w, calib->pair_w, sizeof c->calib.pair_w);
    memcpy(c->calib.search_w, calib->search_w, sizeof c->calib.search_w);
    c->calib.segment_min = calib->segment_min;
    c->calib.threshold = calib->threshold;
    c->calib.id = vi__calibration_crc(&c->calib);
    c->fit = fit_copy;
    return VI_OK;
}

/* ---- the parts, in file order ------------------------------------------------------------- */

static const struct part {
    const char *what;
    vi_status (*read)(const vi__doc *doc, vi__model_file *mf);
    vi_status (*write)(vi__docw *w, const vi__model_file *mf);
} parts[] = {
    {"metadata", read_meta, write_meta},
    {"backbone", read_backbone, write_backbone},
    {"head", read_head, write_head},
    {"calibration", read_calibration, write_calibration},
};
#define N_PARTS ((int)(sizeof parts / sizeof parts[0]))

static vi__model_file *model_file_new(void) {
    vi__model_file *mf = vi__calloc(1, sizeof *mf);
    if (mf) mf->store = vi__calloc(1, sizeof *mf->store);
    if (mf && !mf->store) {
        vi__free(mf);
        return NULL;
    }
    return mf;
}

void vi__model_file_free(vi__model_file *mf) {
    if (!mf) return;
    vi__free(mf->backbone.tensors);
    if (mf->store) {
        vi__doc_free(mf->store->doc);
        for (int32_t i = 0; i < mf->store->n_owned; i++) vi__free(mf->store->owned[i]);
        vi__free(mf->store->owned);
        vi__free(mf->store);
    }
    vi__free(mf);
}

vi_status vi__model_file_parse(const uint8_t *buf, size_t n, vi__model_file **out) {
    *out = NULL;
    vi__model_file *mf = model_file_new();
    if (!mf) return vi__fail(VI_E_NOMEM, "out of memory");
    vi_status st = vi__doc_parse(buf, n, VI__MAGIC_MODEL, VI_E_BAD_MODEL, &mf->store->doc);
    for (int i = 0; st == VI_OK && i < N_PARTS; i++) st = parts[i].read(mf->store->doc, mf);
    if (st != VI_OK) {
        vi__model_file_free(mf);
        return st;
    }
    *out = mf;
    return VI_OK;
}

vi_status vi__model_file_encode(const vi__model_file *mf, uint8_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    vi__docw *w = vi__docw_create();
    if (!w) return vi__fail(VI_E_NOMEM, "out of memory");
    vi_status st = VI_OK;
    for (int i = 0; st == VI_OK && i < N_PARTS; i++) st = parts[i].write(w, mf);
    if (st != VI_OK) {
        vi__docw_free(w);
        return st;
    }
    return vi__docw_finish(w, VI__MAGIC_MODEL, out, n);
}

vi_status vi__model_file_save(const vi__model_file *mf, const char *path) {
    uint8_t *bytes;
    size_t n;
    vi_status st = vi__model_file_encode(mf, &bytes, &n);
    if (st != VI_OK) return st;
    st = vi__write_file_atomic(path, bytes, n);
    vi__free(bytes);
    return st;
}

static uint32_t tensor_crc(uint32_t crc, const vi__tensor *t) {
    if (t->name) crc = vi__crc32(crc, t->name, strlen(t->name));
    crc = vi__crc32(crc, &t->dtype, sizeof t->dtype);
    crc = vi__crc32(crc, t->dims, (size_t)t->ndim * sizeof t->dims[0]);
    if (t->dtype == VI__DT_U8Q) {
        crc = vi__crc32(crc, &t->qscale, sizeof t->qscale);
        crc = vi__crc32(crc, &t->qmin, sizeof t->qmin);
    }
    return vi__crc32(crc, t->data, t->nbytes);
}

uint32_t vi__model_file_embedding_crc(const vi__model_file *mf) {
    const int32_t settings[2] = {mf->meta.input_size, mf->meta.mirror_average};
    uint32_t crc = vi__crc32(0, settings, sizeof settings);
    for (int32_t i = 0; i < mf->backbone.n; i++) crc = tensor_crc(crc, &mf->backbone.tensors[i]);
    for (int32_t l = 0; mf->head.present && l < VI__DMI_LAYERS; l++) {
        crc = tensor_crc(crc, &mf->head.weight[l]);
        crc = tensor_crc(crc, &mf->head.bias[l]);
    }
    return crc;
}

void vi__model_file_clear_head(vi__model_file *mf) {
    memset(&mf->head, 0, sizeof mf->head);
    memset(&mf->calibration, 0, sizeof mf->calibration);
}

void vi__model_file_set_head_layer(vi__model_file *mf, int32_t layer, const float *weight,
                                   const float *bias, int32_t out_dim, int32_t fan_in_dim) {
    vi__model_head *h = &mf->head;
    if (layer < 0 || layer >= VI__DMI_LAYERS) return; /* the encoder reports the missing layer */
    h->present = 1;
    h->out_dim = out_dim;
    if (layer != VI__DMI_FUSE) h->in_dim = fan_in_dim;
    const vi__tensor w = {.dtype = VI__DT_F32, .ndim = 2, .dims = {out_dim, fan_in_dim},
                          .data = weight, .nbytes = (size_t)out_dim * fan_in_dim * sizeof(float)};
    const vi__tensor b = {.dtype = VI__DT_F32, .ndim = 1, .dims = {out_dim}, .data = bias,
                          .nbytes = (size_t)out_dim * sizeof(float)};
    h->weight[layer] = w;
    h->bias[layer] = b;
}

vi_status vi__model_file_put_backbone(vi__model_file *mf, const vi__named_f32 *t) {
    vi__tensor v = {.dtype = VI__DT_F32, .ndim = t->ndim};
    memcpy(v.dims, t->dims, sizeof v.dims);
    const size_t nbytes = (size_t)vi__tensor_numel(&v) * sizeof(float);
    char *name = vi__strdup(t->name);
    void *data = vi__malloc(nbytes ? nbytes : 1);
    if (!name || !data) {
        vi__free(name);
        vi__free(data);
        return vi__fail(VI_E_NOMEM, "out of memory");
    }
    vi_status st = store_keep(mf, name);
    if (st == VI_OK) st = store_keep(mf, data);
    else vi__free(data);
    if (st != VI_OK) return st;
    memcpy(data, t->data, nbytes);
    v.name = name;
    v.data = data;
    v.nbytes = nbytes;
    vi__model_backbone *b = &mf->backbone;
    for (int32_t i = 0; i < b->n; i++)
        if (strcmp(b->tensors[i].name, name) == 0) {
            b->tensors[i] = v;
            return VI_OK;
        }
    vi__tensor *grown = vi__realloc(b->tensors, (size_t)(b->n + 1) * sizeof *grown);
    if (!grown) return vi__fail(VI_E_NOMEM, "out of memory");
    b->tensors = grown;
    b->tensors[b->n++] = v;
    return VI_OK;
}

vi_status vi__model_file_backbone_f32(const vi__model_file *mf, vi__named_f32 **list,
                                      int32_t *n) {
    *list = NULL;
    *n = 0;
    const vi__model_backbone *b = &mf->backbone;
    vi__named_f32 *l = vi__calloc((size_t)(b->n > 0 ? b->n : 1), sizeof *l);
    if (!l) return vi__fail(VI_E_NOMEM, "out of memory");
    for (int32_t i = 0; i < b->n; i++) {
        const vi__tensor *t = &b->tensors[i];
        float *data = vi__mallocarray((size_t)(vi__tensor_numel(t) ? vi__tensor_numel(t) : 1),
                                      sizeof(float));
        if (!data) {
            vi__named_f32_free(l, i);
            return vi__fail(VI_E_NOMEM, "out of memory for tensor '%s'", t->name);
        }
        vi__tensor_to_f32(t, data);
        l[i] = (vi__named_f32){.name = t->name, .data = data, .ndim = t->ndim};
        memcpy(l[i].dims, t->dims, sizeof l[i].dims);
    }
    *list = l;
    *n = b->n;
    return VI_OK;
}

void vi__named_f32_free(vi__named_f32 *list, int32_t n) {
    for (int32_t i = 0; list && i < n; i++) vi__free((void *)list[i].data);
    vi__free(list);
}
