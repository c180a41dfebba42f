/* The DMI network and losses of ../shared/docs/dmi.md on libtorch tensors, shared by the head
 * trainer (train_dmi.cpp: frozen backbone features) and the joint fine-tuning of backbone and
 * head (finetune_net.cpp). C++ only: nothing here crosses the C boundary.
 *
 * Network (all linear, with bias): s_k = W_k x + b_k (k = 1..6), a = W_a x + b_a,
 * c = concat(s_1..s_6), p = W_f c + b_f, f = L2norm(p + a). `^` is L2 normalisation and
 * sm(z) = softmax(z / 0.05) over the feature dimension. Layers are numbered as in lib/head/head.h:
 * 0..5 the sub-feature heads, 6 the auxiliary head, 7 the fusion.
 *
 * Losses on B (anchor, positive) pairs and M negatives, all encoded together:
 * - NCE(u) = CE([U_a U_p^T | U_a U_n^T] / 0.07, diag) + CE([U_p U_a^T | U_p U_n^T] / 0.07, diag),
 *   CE averaged over the B rows, for u in {s_1^..s_6^, a^, c^ (c normalised), f};
 * - D = sum over the 15 pairs k < l of the batch mean of KL(sm(s_l^) || sm(s_k^)), maximised;
 * - M = batch mean of sum_k KL(q || pi_k) - KL(q || rho), q = sm(a^), pi_k = sm(stopgrad(s_k^)),
 *   rho = sm(stopgrad(p)) (p as it is, not normalised, as dmi.md writes it). This is the KL form
 *   of the paper: the released code hands probabilities to kl_div where log-probabilities are
 *   expected, which we do not reproduce. Only the auxiliary head receives gradients from M;
 * - total = sum NCE + 0.5 * [(w_m M - w_d D)_pairs + (w_m M - w_d D)_negatives], w_m 0.7 and
 *   w_d 0.1 by default; `single` makes the total NCE(a^) alone (one linear head). */
#ifndef VI_TRAIN_DMI_LOSS_HPP
#define VI_TRAIN_DMI_LOSS_HPP

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "train_dmi.h"

namespace vi_train {

constexpr int kDmiSubs = 6;
constexpr double kDmiWeightD = 0.1;
constexpr double kDmiWeightM = 0.7;

/* One encoded batch. */
struct DmiEncoded {
    at::Tensor sh[kDmiSubs]; /* normalised sub-features */
    at::Tensor ah, ch, f, p; /* normalised aux, normalised concatenation, embedding, fusion */
    DmiEncoded rows(int64_t from, int64_t n) const;
};

/* The 8 layers initialised as torch.nn.Linear does (uniform in +-1/sqrt(fan_in), weight then
 * bias, layer by layer) from a generator seeded with `seed`; they require gradients. */
void dmi_init(int64_t in_dim, int64_t out_dim, uint64_t seed, std::vector<at::Tensor> *W,
              std::vector<at::Tensor> *b);

/* Encode rows x (N x in) with layers W[8] (out x fan_in) and b[8]. */
DmiEncoded dmi_encode(const std::vector<at::Tensor> &W, const std::vector<at::Tensor> &b,
                      const at::Tensor &x);

/* Fan-in of a layer: `in_dim`, or 6 * out_dim for the fusion. */
inline int64_t dmi_fan_in(int32_t layer, int64_t in_dim, int64_t out_dim) {
    return layer == VI__DMI_FUSE ? kDmiSubs * out_dim : in_dim;
}

struct DmiLossWeights {
    double w_d = kDmiWeightD, w_m = kDmiWeightM;
    bool single = false;
};

/* The total loss of pairs (ea[i], ep[i]) with negatives en (may have 0 rows); fills every term
 * of `terms` (not NULL). Returns the parts `m_sum` (M on both batches) and `d_sum` (D on both)
 * too, when not NULL, for the gradient tests. */
at::Tensor dmi_loss(const DmiEncoded &ea, const DmiEncoded &ep, const DmiEncoded &en,
                    const DmiLossWeights &w, vi__dmi_terms *terms, at::Tensor *m_sum = nullptr,
                    at::Tensor *d_sum = nullptr);

} // namespace vi_train

#endif
