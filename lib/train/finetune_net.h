/* The backbone in training mode (finetune_net.cpp), for fine-tuning its last units
 * contrastively on copy-style augmented frames (lib/train/finetune.c): the backbone's own
 * network (lib/backbone) built with trainable units, its AdamW state, the losses, and the
 * trained weights written back in the model file's own tensor names (Keras layout, batch-norm
 * kept) so that the normal loader reads the result. This header is the whole interface of that
 * C++ code: plain C; every function catches all C++ exceptions and turns them into a status plus
 * a message. */
#ifndef VI_FINETUNE_NET_H
#define VI_FINETUNE_NET_H

#include <stdint.h>

#include "../common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Trainable units counted from the end of the network: unit 1 is the final 1x1 convolution
 * "Conv_1", unit 2 "block_16", ..., unit 18 "expanded_conv", unit 19 the stem "Conv1". */
#define VI__BBT_MAX_UNITS 19

typedef struct vi__bbt vi__bbt;

typedef struct vi__bbt_config {
    int32_t trainable_units; /* 1..VI__BBT_MAX_UNITS */
    float learning_rate;     /* AdamW */
    float weight_decay;      /* AdamW decoupled decay, towards zero */
    float temperature;       /* InfoNCE (headless training only; DMI's NCE uses 0.07) */
    float koleo_weight;      /* KoLeo (nearest-neighbour entropy) regulariser weight; 0 = off */
    int32_t dmi_head;        /* 1: a DMI head (train_dmi_loss.hpp) on the features, trained jointly
                                with DMI's losses; 0: InfoNCE on the features themselves */
    int32_t head_dim;        /* the head's output dimension (256) */
    float head_learning_rate; /* AdamW rate of the head (the caller's schedule scales both) */
    float exclusivity_weight, mi_weight; /* DMI's D and M weights (0.1, 0.7) */
    uint64_t head_seed;      /* initialisation of the head */
} vi__bbt_config;

/* What one step measured. */
typedef struct vi__bbt_stats {
    float loss;     /* total loss */
    float infonce;  /* InfoNCE part (with a DMI head: NCE of the embedding f) */
    float koleo;    /* KoLeo part (before the weight) */
    float accuracy; /* fraction of views whose nearest other view is their positive */
} vi__bbt_stats;

/* Build from the backbone tensors of a model file (names as in models/convert_nsfwjs.mjs).
 * VI_E_BAD_MODEL names a missing or misshapen tensor. */
VI_HIDDEN vi_status vi__bbt_create(const vi__named_f32 *tensors, int32_t n_tensors,
                                   const vi__bbt_config *cfg, vi__bbt **out);
VI_HIDDEN void vi__bbt_free(vi__bbt *t);

/* Dimension of the frame feature (and of the DMI head's input). */
VI_HIDDEN int32_t vi__bbt_feature_dim(const vi__bbt *t);
/* One contrastive step on 2 * `pairs` images of side `size`: images i and i + pairs are two
 * views of the same source. Headless: InfoNCE over all 2 * pairs views (+ KoLeo); with a DMI
 * head: DMI's total loss on the pairs (view i, view i + pairs). Backward through the head and
 * the trainable units, one AdamW update (unless `update` is 0: then only the loss is
 * measured). */
VI_HIDDEN vi_status vi__bbt_step(vi__bbt *t, const uint8_t *rgb, int32_t pairs, int32_t size,
                                 int update, vi__bbt_stats *stats);
/* Number of AdamW updates made so far (restored by vi__bbt_state_set). */
VI_HIDDEN int64_t vi__bbt_steps_done(const vi__bbt *t);
/* The learning rate of the next updates (the caller's schedule). */
VI_HIDDEN void vi__bbt_set_learning_rate(vi__bbt *t, float lr);

/* The training state as named float arrays: parameters ("param/<conv>/w", "param/<conv>/b" in
 * torch layout, batch-norm folded; "param/layer<l>.weight" / ".bias" of a head) and AdamW
 * moments ("adam_m/...", "adam_v/..."). Views stay valid until the next step or free. */
VI_HIDDEN int32_t vi__bbt_state_count(const vi__bbt *t);
VI_HIDDEN vi_status vi__bbt_state_get(const vi__bbt *t, int32_t i, vi__named_f32 *out);
/* Overwrite one state array by name (from a checkpoint); VI_E_FORMAT if unknown or misshapen. */
VI_HIDDEN vi_status vi__bbt_state_set(vi__bbt *t, const char *name, const float *data,
                                      int64_t numel);
VI_HIDDEN void vi__bbt_set_steps_done(vi__bbt *t, int64_t steps);

/* The trainable backbone layers in the model file's names and layout (Keras kernels with the
 * original batch-norm statistics kept, the kernel and beta solved so that folding gives the
 * trained weights). Calls `fn` once per tensor; the view is valid during the call only. */
typedef vi_status (*vi__bbt_export_fn)(void *user, const vi__named_f32 *tensor);
VI_HIDDEN vi_status vi__bbt_export(const vi__bbt *t, vi__bbt_export_fn fn, void *user);
/* Copy layer `layer` of the DMI head (numbered as in lib/head/head.h) out: the weight
 * (head_dim x fan_in floats) and the bias (head_dim floats). VI_E_INVALID_ARG without a head. */
VI_HIDDEN vi_status vi__bbt_head_get(const vi__bbt *t, int32_t layer, float *weight, float *bias);
/* 1 if the model tensor `name` belongs to a trainable unit (vi__bbt_export replaces it). */
VI_HIDDEN int vi__bbt_is_trainable_tensor(const vi__bbt *t, const char *name);

#ifdef __cplusplus
}
#endif

#endif
