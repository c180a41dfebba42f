/* The embedding head. The DMI head has eight linear layers (six sub-feature heads, the auxiliary
 * head, the fusion layer: see docs/model.md), numbered here for every user (the model file, the
 * trainers); every layer is linear, so at load time they are folded into one affine map
 * x -> A x + b, followed by L2 normalisation. A model without a head uses the identity
 * (embeddings are the backbone features). */
#ifndef VI_HEAD_H
#define VI_HEAD_H

#include <stdint.h>

#include "../common/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The layers of the DMI head: 0..5 the sub-feature heads s_1..s_6 (out x in), VI__DMI_AUX the
 * auxiliary head a (out x in), VI__DMI_FUSE the fusion p (out x VI__DMI_SUBS * out). */
#define VI__DMI_SUBS 6
#define VI__DMI_AUX 6
#define VI__DMI_FUSE 7
#define VI__DMI_LAYERS 8

struct vi__tensor;

typedef struct vi__head {
    int32_t in_dim;  /* feature dimension */
    int32_t out_dim; /* embedding dimension */
    float *A;        /* out_dim x in_dim, row-major; NULL for the identity head */
    float *b;        /* out_dim */
} vi__head;

/* Fold the DMI head given as VI__DMI_LAYERS weight and bias tensors (shapes already validated by
 * the model file's reader) for `in_dim`-d features; NULL tensors give the identity of in_dim.
 * VI_E_BAD_MODEL when the head is not made for in_dim-d features. */
VI_HIDDEN vi_status vi__head_fold(const struct vi__tensor *weight, const struct vi__tensor *bias,
                                  int32_t in_dim, vi__head *head);
VI_HIDDEN void vi__head_release(vi__head *head);
/* out[i] = L2norm(A x[i] + b) for n rows of in_dim floats; out has n x out_dim floats. */
VI_HIDDEN void vi__head_apply(const vi__head *head, const float *x, int32_t n, float *out);

/* L2-normalise `n` floats in place (leaves an all-zero vector as zeros). */
VI_HIDDEN void vi__l2_normalize(float *v, int32_t n);

#ifdef __cplusplus
}
#endif

#endif
