/* The DMI network and losses (train_dmi_loss.hpp); used by train_dmi.cpp and finetune_net.cpp. */
#include "train_dmi_loss.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <stdexcept>

namespace vi_train {
namespace {

const double kNceTemperature = 0.07;
const double kSmTemperature = 0.05;
const double kWeightReg = 0.5;

at::Tensor l2n(const at::Tensor &x) { return x / x.norm(2, {1}, true).clamp_min(1e-12); }

/* CE(logits, diag) averaged over rows: mean(logsumexp(row) - row[i]). */
at::Tensor ce_diag(const at::Tensor &logits) {
    return (at::logsumexp(logits, {1}) - logits.diagonal()).mean();
}

at::Tensor nce(const at::Tensor &ua, const at::Tensor &up, const at::Tensor &un) {
    at::Tensor fwd = at::matmul(ua, up.t()), bwd = at::matmul(up, ua.t());
    if (un.size(0) > 0) {
        fwd = at::cat({fwd, at::matmul(ua, un.t())}, 1);
        bwd = at::cat({bwd, at::matmul(up, un.t())}, 1);
    }
    return ce_diag(fwd / kNceTemperature) + ce_diag(bwd / kNceTemperature);
}

at::Tensor log_sm(const at::Tensor &z) { return at::log_softmax(z / kSmTemperature, 1); }

/* Batch mean of KL(P || Q) from log-probabilities. */
at::Tensor kl(const at::Tensor &logp, const at::Tensor &logq) {
    return (logp.exp() * (logp - logq)).sum(1).mean();
}

/* D and M on one batch of encoded rows. */
void exclusivity_and_mi(const DmiEncoded &e, at::Tensor *D, at::Tensor *Mi) {
    at::Tensor logs[kDmiSubs];
    for (int k = 0; k < kDmiSubs; k++) logs[k] = log_sm(e.sh[k]);
    at::Tensor d = at::zeros({}, e.ah.options());
    for (int k = 0; k < kDmiSubs; k++)
        for (int l = k + 1; l < kDmiSubs; l++) d = d + kl(logs[l], logs[k]);
    at::Tensor logq = log_sm(e.ah);
    at::Tensor m = -kl(logq, log_sm(e.p.detach()));
    for (int k = 0; k < kDmiSubs; k++) m = m + kl(logq, log_sm(e.sh[k].detach()));
    *D = d;
    *Mi = m;
}

DmiEncoded cat_rows(const DmiEncoded &a, const DmiEncoded &b) {
    DmiEncoded e;
    for (int k = 0; k < kDmiSubs; k++) e.sh[k] = at::cat({a.sh[k], b.sh[k]}, 0);
    e.ah = at::cat({a.ah, b.ah}, 0);
    e.ch = at::cat({a.ch, b.ch}, 0);
    e.f = at::cat({a.f, b.f}, 0);
    e.p = at::cat({a.p, b.p}, 0);
    return e;
}

} // namespace

DmiEncoded DmiEncoded::rows(int64_t from, int64_t n) const {
    DmiEncoded e;
    for (int k = 0; k < kDmiSubs; k++) e.sh[k] = sh[k].narrow(0, from, n);
    e.ah = ah.narrow(0, from, n);
    e.ch = ch.narrow(0, from, n);
    e.f = f.narrow(0, from, n);
    e.p = p.narrow(0, from, n);
    return e;
}

void dmi_init(int64_t in_dim, int64_t out_dim, uint64_t seed, std::vector<at::Tensor> *W,
              std::vector<at::Tensor> *b) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    W->clear();
    b->clear();
    for (int32_t i = 0; i < VI__DMI_LAYERS; i++) {
        const int64_t fan = dmi_fan_in(i, in_dim, out_dim);
        const double bound = 1.0 / std::sqrt((double)fan);
        at::Tensor w = at::empty({out_dim, fan}, at::kFloat);
        at::Tensor bb = at::empty({out_dim}, at::kFloat);
        {
            c10::NoGradGuard ng;
            w.uniform_(-bound, bound, gen);
            bb.uniform_(-bound, bound, gen);
        }
        w.set_requires_grad(true);
        bb.set_requires_grad(true);
        W->push_back(w);
        b->push_back(bb);
    }
}

DmiEncoded dmi_encode(const std::vector<at::Tensor> &W, const std::vector<at::Tensor> &b,
                      const at::Tensor &x) {
    DmiEncoded e;
    std::vector<at::Tensor> s;
    for (int k = 0; k < kDmiSubs; k++) {
        s.push_back(at::addmm(b[k], x, W[k].t()));
        e.sh[k] = l2n(s.back());
    }
    at::Tensor a = at::addmm(b[VI__DMI_AUX], x, W[VI__DMI_AUX].t());
    at::Tensor c = at::cat(s, 1);
    e.p = at::addmm(b[VI__DMI_FUSE], c, W[VI__DMI_FUSE].t());
    e.ah = l2n(a);
    e.ch = l2n(c);
    e.f = l2n(e.p + a);
    return e;
}

at::Tensor dmi_loss(const DmiEncoded &ea, const DmiEncoded &ep, const DmiEncoded &en,
                    const DmiLossWeights &w, vi__dmi_terms *terms, at::Tensor *m_sum,
                    at::Tensor *d_sum) {
    *terms = vi__dmi_terms{};
    at::Tensor nce_sum = at::zeros({}, at::kFloat);
    for (int k = 0; k < kDmiSubs; k++) {
        at::Tensor t = nce(ea.sh[k], ep.sh[k], en.sh[k]);
        terms->nce_sub[k] = t.item<double>();
        nce_sum = nce_sum + t;
    }
    at::Tensor t_aux = nce(ea.ah, ep.ah, en.ah), t_cat = nce(ea.ch, ep.ch, en.ch);
    at::Tensor t_f = nce(ea.f, ep.f, en.f);
    terms->nce_aux = t_aux.item<double>();
    terms->nce_cat = t_cat.item<double>();
    terms->nce_f = t_f.item<double>();
    nce_sum = nce_sum + t_aux + t_cat + t_f;
    terms->nce = nce_sum.item<double>();

    at::Tensor d_pair, m_pair, d_neg = at::zeros({}, at::kFloat), m_neg = at::zeros({}, at::kFloat);
    exclusivity_and_mi(cat_rows(ea, ep), &d_pair, &m_pair);
    if (en.f.size(0) > 0) exclusivity_and_mi(en, &d_neg, &m_neg);
    terms->d_pair = d_pair.item<double>();
    terms->m_pair = m_pair.item<double>();
    terms->d_neg = d_neg.item<double>();
    terms->m_neg = m_neg.item<double>();
    at::Tensor total = w.single ? t_aux
                                : nce_sum + kWeightReg * ((w.w_m * m_pair - w.w_d * d_pair) +
                                                          (w.w_m * m_neg - w.w_d * d_neg));
    terms->total = total.item<double>();
    if (!std::isfinite(terms->total)) throw std::runtime_error("the loss is not finite");
    if (m_sum) *m_sum = m_pair + m_neg;
    if (d_sum) *d_sum = d_pair + d_neg;
    return total;
}

} // namespace vi_train
