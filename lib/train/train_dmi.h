/* The C side of the DMI head trainer in libtorch (train_dmi.cpp): the DMI head as trainable
 * parameters, its losses (../shared/docs/dmi.md, "Losses") and an Adam optimiser. Tensors cross
 * only as plain float arrays; every function catches all C++ exceptions.
 *
 * Layers are numbered as in lib/head/head.h: 0..5 (the sub-feature heads s_1..s_6: out x in),
 * VI__DMI_AUX (the auxiliary head a: out x in) and VI__DMI_FUSE (the fusion p: out x 6*out);
 * weights are row-major [out, in] as in the model file, biases have `out` floats. */
#ifndef VI_TRAIN_DMI_H
#define VI_TRAIN_DMI_H

#include <stdint.h>

#include "../common/common.h"
#include "../head/head.h" /* the layers' numbers */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vi__dmi vi__dmi;

/* Every loss term of one evaluation (see dmi.md). `d_*` is the exclusivity D (positive: it enters
 * the total with a minus sign), `m_*` the auxiliary mutual-information term M, each on the pair
 * batch (anchors and positives, 2B rows) and on the negative batch (M rows; 0 when M = 0). */
typedef struct vi__dmi_terms {
    double nce_sub[6]; /* NCE(s_k^) */
    double nce_aux;    /* NCE(a^) */
    double nce_cat;    /* NCE(c^) */
    double nce_f;      /* NCE(f) */
    double nce;        /* their sum */
    double d_pair, m_pair, d_neg, m_neg;
    double total;      /* nce + 0.5 * [(0.7 m_pair - 0.1 d_pair) + (0.7 m_neg - 0.1 d_neg)] */
} vi__dmi_terms;

/* What vi__dmi_eval back-propagates (for tests; training uses the total). */
enum vi__dmi_grad { VI__DMI_GRAD_NONE = 0, VI__DMI_GRAD_TOTAL, VI__DMI_GRAD_M, VI__DMI_GRAD_D };

/* A head of `out_dim`-d layers on `in_dim`-d features, initialised as torch.nn.Linear does
 * (uniform in +-1/sqrt(fan_in)) from a generator seeded with `seed`; Adam with `lr` and
 * (L2) `weight_decay`. */
VI_HIDDEN vi_status vi__dmi_create(int32_t in_dim, int32_t out_dim, uint64_t seed, double lr,
                                   double weight_decay, vi__dmi **out);
VI_HIDDEN void vi__dmi_free(vi__dmi *m);

/* Copy layer `layer`'s weight (out x fan_in floats) and bias (out floats) out / in. */
VI_HIDDEN vi_status vi__dmi_get(const vi__dmi *m, int32_t layer, float *weight, float *bias);
VI_HIDDEN vi_status vi__dmi_set(vi__dmi *m, int32_t layer, const float *weight, const float *bias);

/* Evaluate every loss term on B (anchor, positive) pairs and M negatives (rows of in_dim floats;
 * `neg` may be NULL when M = 0). With `grad` other than NONE, back-propagate that quantity
 * (TOTAL: the total; M: m_pair + m_neg; D: d_pair + d_neg) and, when `grad_norm` is not NULL,
 * write the L2 norm of each layer's gradient (weight and bias together) into grad_norm[8]. */
VI_HIDDEN vi_status vi__dmi_eval(vi__dmi *m, const float *anchor, const float *pos, int32_t B,
                                 const float *neg, int32_t M, int grad, vi__dmi_terms *terms,
                                 double grad_norm[VI__DMI_LAYERS]);

/* Set Adam's learning rate (e.g. the x0.1 step of dmi.md's schedule). */
VI_HIDDEN vi_status vi__dmi_set_lr(vi__dmi *m, double lr);

/* Loss switches for ablations (defaults: w_d 0.1, w_m 0.7, single 0). The total becomes
 * nce + 0.5 * [(w_m M - w_d D)_pairs + (w_m M - w_d D)_negatives]; with `single`, only the
 * auxiliary head is trained, by NCE(a^) alone (the other layers get no gradient: set them to
 * zero to make the embedding L2norm(a)). */
VI_HIDDEN vi_status vi__dmi_set_loss(vi__dmi *m, double w_d, double w_m, int single);

/* Adam's state of one parameter (layer's weight when `bias` is 0, else its bias): the step count
 * and the two moment estimates (as many floats as the parameter). get: *step 0 (and the arrays
 * untouched) when the parameter has no state yet; set with step 0 clears the state. */
VI_HIDDEN vi_status vi__dmi_adam_get(const vi__dmi *m, int32_t layer, int bias, int64_t *step,
                                     float *exp_avg, float *exp_avg_sq);
VI_HIDDEN vi_status vi__dmi_adam_set(vi__dmi *m, int32_t layer, int bias, int64_t step,
                                     const float *exp_avg, const float *exp_avg_sq);

/* One training step: evaluate, back-propagate the total, one Adam update. */
VI_HIDDEN vi_status vi__dmi_step(vi__dmi *m, const float *anchor, const float *pos, int32_t B,
                                 const float *neg, int32_t M, vi__dmi_terms *terms);

#ifdef __cplusplus
}
#endif

#endif
