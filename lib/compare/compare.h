/* Similarity and temporal alignment, plain C on float arrays. */
#ifndef VI_COMPARE_H
#define VI_COMPARE_H

#include <stdint.h>

#include "../common/common.h"
#include "../common/objects.h"

VI_HIDDEN float vi__dot(const float *a, const float *b, int32_t n);

/* Compare two embeddings of the same model (caller checked dims and model ids): video-level
 * cosine, calibrated score, and (if `localize`) copied segments from the frame similarities. */
VI_HIDDEN vi_status vi__compare(const struct vi_embedding *q, const struct vi_embedding *r,
                                int localize, struct vi_match **out);

#endif
