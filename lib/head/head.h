/* The embedding head. A model file stores the DMI head's layers (six sub-feature heads, the
 * auxiliary head, the fusion layer: see docs/model.md); every layer is linear, so at load time
 * they are folded into one affine map x -> A x + b, followed by L2 normalisation. A model without
 * head tensors uses the identity (embeddings are the backbone features). */
#ifndef VI_HEAD_H
#define VI_HEAD_H

#include <stdint.h>

#include "../common/common.h"
#include "../formats/formats.h"

#define VI__DMI_SUBS 6

typedef struct vi__head {
    int32_t in_dim;  /* feature dimension */
    int32_t out_dim; /* embedding dimension */
    float *A;        /* out_dim x in_dim, row-major; NULL for the identity head */
    float *b;        /* out_dim */
} vi__head;

/* Read "dmi.*" tensors from a model doc and fold them. Absent head -> identity of in_dim. */
VI_HIDDEN vi_status vi__head_from_doc(const vi__doc *doc, int32_t in_dim, vi__head *head);
VI_HIDDEN void vi__head_release(vi__head *head);
/* out[i] = L2norm(A x[i] + b) for n rows of in_dim floats; out has n x out_dim floats. */
VI_HIDDEN void vi__head_apply(const vi__head *head, const float *x, int32_t n, float *out);

/* L2-normalise `n` floats in place (leaves an all-zero vector as zeros). */
VI_HIDDEN void vi__l2_normalize(float *v, int32_t n);

#endif
