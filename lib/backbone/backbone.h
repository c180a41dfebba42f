/* The backbone stage for inference: frame batch -> frame features, by the MobileNetV2 of
 * backbone_net.cpp (libtorch). This header is the whole interface of the inference C++ code:
 * plain C, extern "C"; every function catches all C++ exceptions and turns them into a status
 * plus a message, and tensors cross only as plain arrays. (Training reaches the same network
 * through lib/train/finetune_net.h.) */
#ifndef VI_BACKBONE_H
#define VI_BACKBONE_H

#include <stdint.h>

#include "../common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* vi__named_f32 (a named float32 array, borrowed for the call) is in common.h. */

typedef struct vi__net vi__net; /* a frozen backbone, immutable after creation */

/* Build the MobileNetV2 feature extractor from its weights (a model file's backbone part, names
 * as written by models/convert_nsfwjs.mjs). Fails with VI_E_BAD_MODEL naming a missing or
 * misshapen tensor. */
VI_HIDDEN vi_status vi__net_create(const vi__named_f32 *tensors, int32_t n_tensors, vi__net **out);
VI_HIDDEN void vi__net_free(vi__net *net);
/* Make vi__net_features average each image's feature with its mirror image's (renormalised), so
 * that a horizontally flipped copy gets the same feature. Call right after vi__net_create, before
 * the net is shared: it is configuration, not per-call state. */
VI_HIDDEN void vi__net_set_mirror(vi__net *net, int on);
/* Dimension of the frame feature vi__net_features produces. */
VI_HIDDEN int32_t vi__net_feature_dim(const vi__net *net);
/* Frame features for `n` square RGB24 images of side `size` (n x size x size x 3 bytes):
 * writes n x feature_dim floats. Thread safety: any number of threads on one net. */
VI_HIDDEN vi_status vi__net_features(const vi__net *net, const uint8_t *rgb, int32_t n, int32_t size,
                                     float *features);
/* For the exact-port test: run the network on a float NHWC input already preprocessed as the
 * Keras model expects and copy the activation of Keras layer `layer` (NHWC) into `out`
 * (capacity `cap` floats); `*count` receives the number of floats and `shape` its 4 dims. */
VI_HIDDEN vi_status vi__net_activation(const vi__net *net, const float *input_nhwc, int32_t n,
                                       int32_t h, int32_t w, const char *layer, float *out,
                                       int64_t cap, int64_t *count, int64_t shape[4]);
VI_HIDDEN vi_status vi__torch_set_threads(int32_t n);
/* For tests of the warning route: issue `msg` as a libtorch warning (TORCH_WARN) inside an entry
 * point, as libtorch's own code does; it must reach the library's log, not stderr. */
VI_HIDDEN vi_status vi__torch_warn(const char *msg);

#ifdef __cplusplus
}
#endif

#endif
