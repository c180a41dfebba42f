/* The model stage: the model file, every part of which is read and written in model_file.c and
 * nowhere else (docs/file-formats.md, "Models"), and the loaded model behind vi_model
 * (model_load.c). */
#ifndef VI_MODEL_H
#define VI_MODEL_H

#include "../common/common.h"
#include "../formats/formats.h"
#include "../head/head.h"
#include "../backbone/backbone.h"
#include "../shim/faiss_shim.h"

/* ---- The model file -------------------------------------------------------------------------
 *
 * A parsed model file is a set of parts, each a member of vi__model_file:
 *   meta      kind, backbone kind, name, description, licence, source, input size, mirror
 *             averaging, and the settings of the backbone's fine-tuning when there was one
 *   backbone  the backbone's weights, in the backbone's own tensor names (names without a '.')
 *   head      the DMI head, eight linear layers: all of them or none
 * The parser validates the whole file (every part, every shape it can check without building the
 * backbone) and refuses anything partial with VI_E_BAD_MODEL and a message naming what is wrong.
 *
 * Adding a part: a member of vi__model_file, a read_<part> and a write_<part> function in
 * model_file.c and one row of its `parts` table; writers of derived models must decide whether
 * it survives vi__model_file_clear_head.
 *
 * Tensors are views: into the parsed bytes (kept by the vi__model_file), or into memory of the
 * writer that sets them, which must outlive the vi__model_file's use. */

typedef struct vi__model_meta {
    const char *name;        /* never NULL in a parsed file */
    const char *description; /* "" when the file has none */
    const char *license;     /* NULL when absent */
    const char *source;      /* NULL when absent */
    int32_t input_size;      /* side of the square RGB image the backbone takes, 32..1024 */
    int32_t mirror_average;  /* 1: each frame's feature is averaged with its mirror image's */
    int32_t finetuned;       /* 1: the backbone was fine-tuned with the settings below */
    int64_t finetune_trainable_blocks, finetune_steps, finetune_seed;
} vi__model_meta;

typedef struct vi__model_backbone {
    int32_t n;
    vi__tensor *tensors; /* n views, owned array */
} vi__model_backbone;

/* The DMI head (lib/head/head.h numbers its layers): weight[l] is out_dim x fan_in (in_dim, or
 * VI__DMI_SUBS * out_dim for the fusion), bias[l] out_dim. */
typedef struct vi__model_head {
    int32_t present;
    int32_t in_dim, out_dim;
    vi__tensor weight[VI__DMI_LAYERS];
    vi__tensor bias[VI__DMI_LAYERS];
} vi__model_head;

/* The scoring calibration (docs/thresholds.md), fitted on the head's embedding by vi_calibrator:
 * the background bank (n x dim frame vectors of footage that copies nothing but resembles much:
 * each frame's similarity to it says how generic the frame is), how many of a frame's nearest
 * bank vectors are averaged, and the constants that turn a comparison's evidence into a verdict.
 * Absent (calib.id 0): the model is uncalibrated. */
typedef struct vi__model_calibration {
    struct vi__calibration calib;
    vi__tensor bank;     /* n x dim, float32 or 8-bit (VI__DT_U8Q) */
    int32_t bank_k;      /* 1..64 */
    const char *fit;     /* how it was fitted (data, metrics), "" when unknown */
} vi__model_calibration;

typedef struct vi__model_file {
    vi__model_meta meta;
    vi__model_backbone backbone;
    vi__model_head head;
    vi__model_calibration calibration;
    struct vi__model_store *store; /* private: the parsed bytes and copies the views point into */
} vi__model_file;

/* Parse and validate a model file held in memory (nothing of `buf` is referenced afterwards).
 * VI_E_BAD_MODEL with a message naming the failed check, or VI_E_NOMEM. */
VI_HIDDEN vi_status vi__model_file_parse(const uint8_t *buf, size_t n, vi__model_file **out);
VI_HIDDEN void vi__model_file_free(vi__model_file *mf);
/* Serialise every part into a new vi__malloc'ed buffer; VI_E_INVALID_ARG when a part is
 * incomplete (a head with a layer missing, no name, ...). */
VI_HIDDEN vi_status vi__model_file_encode(const vi__model_file *mf, uint8_t **out, size_t *n);
/* Encode and write atomically to `path`. */
VI_HIDDEN vi_status vi__model_file_save(const vi__model_file *mf, const char *path);

/* CRC-32 of what determines the model's embeddings (input size, mirror averaging, backbone and
 * head tensors) and nothing else: a model keeps its id (name and this CRC) when it is
 * calibrated, so that its embeddings stay comparable. */
VI_HIDDEN uint32_t vi__model_file_embedding_crc(const vi__model_file *mf);
/* For writers of a model derived from a parsed one (a new head, or a new backbone): drop every
 * part fitted on the old embedding, i.e. the head and the calibration fitted on the head's
 * output, so that no derived model inherits them. */
VI_HIDDEN void vi__model_file_clear_head(vi__model_file *mf);
/* Set head layer `layer` to float32 arrays of the caller (weight out_dim x fan_in, bias out_dim),
 * borrowed until the file is encoded; marks the head present. All layers must share out_dim and
 * the sub-feature and auxiliary layers their fan_in. */
VI_HIDDEN void vi__model_file_set_head_layer(vi__model_file *mf, int32_t layer,
                                             const float *weight, const float *bias,
                                             int32_t out_dim, int32_t fan_in);
/* Replace (or add) backbone tensor `t->name` by a float32 copy of `t`. */
VI_HIDDEN vi_status vi__model_file_put_backbone(vi__model_file *mf, const vi__named_f32 *t);
/* Every backbone tensor dequantised to float32 in new buffers, for the backbone builders:
 * `*list` gets `*n` entries whose names point into `mf`. Free with vi__named_f32_free. */
VI_HIDDEN vi_status vi__model_file_backbone_f32(const vi__model_file *mf, vi__named_f32 **list,
                                                int32_t *n);
VI_HIDDEN void vi__named_f32_free(vi__named_f32 *list, int32_t n);

/* Set the calibration part: `bank` (n x dim float32, borrowed until the file is encoded; stored
 * as 8-bit codes), its k, the fitted constants (their id and bank_crc are computed here) and a
 * description of the fit (copied). */
VI_HIDDEN vi_status vi__model_file_set_calibration(vi__model_file *mf, const float *bank,
                                                   int32_t n, int32_t dim, int32_t bank_k,
                                                   const struct vi__calibration *calib,
                                                   const char *fit);
/* Replace the probabilities and threshold of the calibration part (the bank, its k and the
 * segment weights stay) by pair_w, search_w, segment_min and threshold of `calib`; the id is
 * recomputed. VI_E_INVALID_ARG when the file is uncalibrated. */
VI_HIDDEN vi_status vi__model_file_set_verdict(vi__model_file *mf,
                                               const struct vi__calibration *calib,
                                               const char *fit);

/* ---- The loaded model ------------------------------------------------------------------------ */

struct vi_model {
    char *id;             /* "<name>:<vi__model_file_embedding_crc>" */
    char *description;
    int32_t input_size;   /* square RGB side the backbone takes */
    vi__net *net;         /* frozen backbone */
    vi__head head;        /* folded embedding head */
    const uint8_t *bytes; /* the model file (writers of derived models re-read it): `owned`, or
                             the built-in model's read-only data */
    size_t n_bytes;
    uint8_t *owned;       /* the file bytes when the model owns them, else NULL */
    struct vi__calibration calib; /* id 0: uncalibrated */
    int32_t bank_k;
    int64_t bank_n;         /* vectors in the bank */
    vi__faiss *bank;        /* exact inner-product index over the background bank; NULL when
                               uncalibrated */
    char *calibration_fit;  /* how the calibration was fitted, "" when uncalibrated */
};

/* The frame backgrounds of embedding e against a bank (a calibrated model's, or the calibrator's
 * being fitted): e->frame_bg, allocated when absent, filled by vi__bank_background. Thread
 * safety: any number of threads on one bank. */
VI_HIDDEN vi_status vi__embedding_background(const vi__faiss *bank, int32_t k,
                                             struct vi_embedding *e);
/* Each of the n frames' (L2-normalised, bank dim) background: the mean similarity of its k
 * nearest bank vectors. */
VI_HIDDEN vi_status vi__bank_background(const vi__faiss *bank, int32_t k, const float *frames,
                                        int32_t n, float *bg);

/* Load the built-in model, a model file, or model bytes (copied). Errors carry the context. */
VI_HIDDEN vi_status vi__model_load_builtin(vi_model **out);
VI_HIDDEN vi_status vi__model_load_file(const char *path, vi_model **out);
VI_HIDDEN vi_status vi__model_load_copy(const void *data, size_t size, vi_model **out);
VI_HIDDEN void vi__model_free(vi_model *m);

#endif
