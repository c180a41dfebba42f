/* DMI training in libtorch: the head's parameters, the losses of ../shared/docs/dmi.md and Adam.
 *
 * Network (all linear, with bias): s_k = W_k x + b_k (k = 1..6), a = W_a x + b_a,
 * c = concat(s_1..s_6), p = W_f c + b_f, f = L2norm(p + a). `^` is L2 normalisation and
 * sm(z) = softmax(z / 0.05) over the feature dimension.
 *
 * Losses, per evaluation on B (anchor, positive) pairs and M negatives, all encoded together:
 * - NCE(u) = CE([U_a U_p^T | U_a U_n^T] / 0.07, diag) + CE([U_p U_a^T | U_p U_n^T] / 0.07, diag),
 *   CE averaged over the B rows, for u in {s_1^..s_6^, a^, c^ (c normalised), f};
 * - D = sum over the 15 pairs k < l of the batch mean of KL(sm(s_l^) || sm(s_k^)), maximised;
 * - M = batch mean of sum_k KL(q || pi_k) - KL(q || rho), q = sm(a^), pi_k = sm(stopgrad(s_k^)),
 *   rho = sm(stopgrad(p)) (p as it is, not normalised, as dmi.md writes it). This is the KL form
 *   of the paper: the released code hands probabilities to kl_div where log-probabilities are
 *   expected, which we do not reproduce. Only the auxiliary head receives gradients from M;
 * - D and M are each taken on the pair batch (the 2B anchors and positives) and on the negative
 *   batch; total = sum NCE + 0.5 * [(0.7 M - 0.1 D)_pairs + (0.7 M - 0.1 D)_negatives].
 *   vi__dmi_set_loss changes the weights 0.1 and 0.7 (ablations) or makes the total NCE(a^)
 *   alone (a single linear head). Adam's state can be read and restored (checkpoints).
 *
 * No C++ exception leaves this file: every extern "C" entry point catches them all. */

#include "../common/common.h"
#include "dmi_train.h"
#include "shim_guard.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

const double kNceTemperature = 0.07;
const double kSmTemperature = 0.05;
const double kWeightM = 0.7;
const double kWeightD = 0.1;
const double kWeightReg = 0.5;
const int kSubs = 6;

using vi_shim::ArgError;

template <typename F> vi_status guarded(const char *what, F &&body) {
    return vi_shim::guarded("", what, VI_E_INTERNAL, std::forward<F>(body));
}

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

struct Encoded {
    at::Tensor sh[kSubs]; /* normalised sub-features */
    at::Tensor ah, ch, f, p;
};

/* D and M on one batch of encoded rows. */
void exclusivity_and_mi(const Encoded &e, at::Tensor *D, at::Tensor *Mi) {
    at::Tensor logs[kSubs];
    for (int k = 0; k < kSubs; k++) logs[k] = log_sm(e.sh[k]);
    at::Tensor d = at::zeros({}, e.ah.options());
    for (int k = 0; k < kSubs; k++)
        for (int l = k + 1; l < kSubs; l++) d = d + kl(logs[l], logs[k]);
    at::Tensor logq = log_sm(e.ah);
    at::Tensor m = -kl(logq, log_sm(e.p.detach()));
    for (int k = 0; k < kSubs; k++) m = m + kl(logq, log_sm(e.sh[k].detach()));
    *D = d;
    *Mi = m;
}

}  // namespace

struct vi__dmi {
    int64_t in_dim = 0, out_dim = 0;
    double w_d = kWeightD, w_m = kWeightM; /* loss switches (vi__dmi_set_loss) */
    bool single = false;
    std::vector<at::Tensor> W, b; /* VI__DMI_LAYERS each */
    std::unique_ptr<torch::optim::Adam> opt;

    Encoded encode(const at::Tensor &x) const {
        Encoded e;
        std::vector<at::Tensor> s;
        for (int k = 0; k < kSubs; k++) {
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

    int64_t fan_in(int32_t layer) const { return layer == VI__DMI_FUSE ? kSubs * out_dim : in_dim; }
};

namespace {

at::Tensor rows(const float *data, int32_t n, int64_t dim) {
    if (n == 0) return at::zeros({0, dim}, at::kFloat);
    return at::from_blob(const_cast<float *>(data), {n, dim}, at::kFloat).clone();
}

void check_layer(const vi__dmi *m, int32_t layer) {
    if (!m || layer < 0 || layer >= VI__DMI_LAYERS)
        throw ArgError("no such layer " + std::to_string(layer));
}

vi_status eval_impl(vi__dmi *m, const float *anchor, const float *pos, int32_t B, const float *neg,
                    int32_t M, int grad, vi__dmi_terms *terms, double *grad_norm, bool step) {
    if (!m || !anchor || !pos || !terms || B < 1 || M < 0 || (M > 0 && !neg))
        throw ArgError("bad batch (" + std::to_string(B) + " pairs, " + std::to_string(M) +
                       " negatives)");
    c10::AutoGradMode enable(grad != VI__DMI_GRAD_NONE);
    const at::Tensor xa = rows(anchor, B, m->in_dim), xp = rows(pos, B, m->in_dim);
    const at::Tensor xn = rows(neg, M, m->in_dim);
    /* one pass over all rows, as the paper encodes the whole step together */
    Encoded all = m->encode(at::cat({xa, xp, xn}, 0));
    auto part = [&](const at::Tensor &t, int64_t from, int64_t n) { return t.narrow(0, from, n); };
    auto split = [&](int64_t from, int64_t n) {
        Encoded e;
        for (int k = 0; k < kSubs; k++) e.sh[k] = part(all.sh[k], from, n);
        e.ah = part(all.ah, from, n);
        e.ch = part(all.ch, from, n);
        e.f = part(all.f, from, n);
        e.p = part(all.p, from, n);
        return e;
    };
    Encoded ea = split(0, B), ep = split(B, B), en = split(2 * B, M), pairs = split(0, 2 * B);

    std::memset(terms, 0, sizeof *terms);
    at::Tensor nce_sum = at::zeros({}, at::kFloat);
    for (int k = 0; k < kSubs; k++) {
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
    exclusivity_and_mi(pairs, &d_pair, &m_pair);
    if (M > 0) exclusivity_and_mi(en, &d_neg, &m_neg);
    terms->d_pair = d_pair.item<double>();
    terms->m_pair = m_pair.item<double>();
    terms->d_neg = d_neg.item<double>();
    terms->m_neg = m_neg.item<double>();
    at::Tensor total = m->single ? t_aux
                                 : nce_sum + kWeightReg * ((m->w_m * m_pair - m->w_d * d_pair) +
                                                           (m->w_m * m_neg - m->w_d * d_neg));
    terms->total = total.item<double>();
    if (!std::isfinite(terms->total)) throw std::runtime_error("the loss is not finite");
    if (grad == VI__DMI_GRAD_NONE) return VI_OK;

    at::Tensor target = grad == VI__DMI_GRAD_TOTAL ? total
                      : grad == VI__DMI_GRAD_M     ? m_pair + m_neg
                                                   : d_pair + d_neg;
    if (step) m->opt->zero_grad();
    for (int i = 0; i < VI__DMI_LAYERS; i++) {
        m->W[i].mutable_grad() = at::Tensor();
        m->b[i].mutable_grad() = at::Tensor();
    }
    target.backward();
    for (int i = 0; grad_norm && i < VI__DMI_LAYERS; i++) {
        double ss = 0;
        for (const at::Tensor *p : {&m->W[i], &m->b[i]})
            if (p->grad().defined()) ss += p->grad().pow(2).sum().item<double>();
        grad_norm[i] = std::sqrt(ss);
    }
    if (step) m->opt->step();
    return VI_OK;
}

}  // namespace

extern "C" {

vi_status vi__dmi_create(int32_t in_dim, int32_t out_dim, uint64_t seed, double lr,
                         double weight_decay, vi__dmi **out) {
    *out = nullptr;
    return guarded("creating the DMI head", [&]() -> vi_status {
        if (in_dim < 1 || out_dim < 1 || in_dim > (1 << 20) || out_dim > 65536)
            throw ArgError("bad dimensions " + std::to_string(in_dim) + " -> " +
                           std::to_string(out_dim));
        if (!(lr > 0) || !(weight_decay >= 0))
            throw ArgError("bad learning rate or weight decay");
        std::unique_ptr<vi__dmi> m(new vi__dmi);
        m->in_dim = in_dim;
        m->out_dim = out_dim;
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
        std::vector<at::Tensor> params;
        for (int32_t i = 0; i < VI__DMI_LAYERS; i++) {
            const int64_t fan = m->fan_in(i);
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
            m->W.push_back(w);
            m->b.push_back(bb);
            params.push_back(w);
            params.push_back(bb);
        }
        m->opt.reset(new torch::optim::Adam(
            params, torch::optim::AdamOptions(lr).weight_decay(weight_decay)));
        *out = m.release();
        return VI_OK;
    });
}

void vi__dmi_free(vi__dmi *m) {
    try {
        delete m;
    } catch (...) {
    }
}

vi_status vi__dmi_get(const vi__dmi *m, int32_t layer, float *weight, float *bias) {
    return guarded("reading the DMI head", [&]() -> vi_status {
        check_layer(m, layer);
        at::Tensor w = m->W[layer].detach().contiguous(), b = m->b[layer].detach().contiguous();
        if (weight) std::memcpy(weight, w.data_ptr<float>(), (size_t)w.numel() * sizeof(float));
        if (bias) std::memcpy(bias, b.data_ptr<float>(), (size_t)b.numel() * sizeof(float));
        return VI_OK;
    });
}

vi_status vi__dmi_set(vi__dmi *m, int32_t layer, const float *weight, const float *bias) {
    return guarded("setting the DMI head", [&]() -> vi_status {
        check_layer(m, layer);
        c10::NoGradGuard ng;
        if (weight)
            m->W[layer].copy_(rows(weight, (int32_t)m->out_dim, m->fan_in(layer)));
        if (bias) m->b[layer].copy_(rows(bias, 1, m->out_dim).view({m->out_dim}));
        return VI_OK;
    });
}

vi_status vi__dmi_set_lr(vi__dmi *m, double lr) {
    return guarded("setting the learning rate", [&]() -> vi_status {
        if (!m || !(lr > 0)) throw ArgError("bad learning rate");
        for (auto &group : m->opt->param_groups())
            static_cast<torch::optim::AdamOptions &>(group.options()).lr(lr);
        return VI_OK;
    });
}

vi_status vi__dmi_eval(vi__dmi *m, const float *anchor, const float *pos, int32_t B,
                       const float *neg, int32_t M, int grad, vi__dmi_terms *terms,
                       double grad_norm[VI__DMI_LAYERS]) {
    return guarded("DMI losses", [&]() -> vi_status {
        if (grad < VI__DMI_GRAD_NONE || grad > VI__DMI_GRAD_D) throw ArgError("bad grad mode");
        return eval_impl(m, anchor, pos, B, neg, M, grad, terms, grad_norm, false);
    });
}

vi_status vi__dmi_set_loss(vi__dmi *m, double w_d, double w_m, int single) {
    return guarded("setting the loss weights", [&]() -> vi_status {
        if (!m || !std::isfinite(w_d) || !std::isfinite(w_m)) throw ArgError("bad loss weights");
        m->w_d = w_d;
        m->w_m = w_m;
        m->single = single != 0;
        return VI_OK;
    });
}

namespace {
const at::Tensor &param_of(const vi__dmi *m, int32_t layer, int bias) {
    check_layer(m, layer);
    return bias ? m->b[layer] : m->W[layer];
}
std::string state_key(const at::Tensor &p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }
}  // namespace

vi_status vi__dmi_adam_get(const vi__dmi *m, int32_t layer, int bias, int64_t *step,
                           float *exp_avg, float *exp_avg_sq) {
    return guarded("reading the optimiser state", [&]() -> vi_status {
        const at::Tensor &p = param_of(m, layer, bias);
        *step = 0;
        auto &st = m->opt->state();
        auto it = st.find(state_key(p));
        if (it == st.end()) return VI_OK;
        auto &s = static_cast<torch::optim::AdamParamState &>(*it->second);
        at::Tensor a = s.exp_avg().contiguous(), q = s.exp_avg_sq().contiguous();
        std::memcpy(exp_avg, a.data_ptr<float>(), (size_t)a.numel() * sizeof(float));
        std::memcpy(exp_avg_sq, q.data_ptr<float>(), (size_t)q.numel() * sizeof(float));
        *step = s.step();
        return VI_OK;
    });
}

vi_status vi__dmi_adam_set(vi__dmi *m, int32_t layer, int bias, int64_t step,
                           const float *exp_avg, const float *exp_avg_sq) {
    return guarded("restoring the optimiser state", [&]() -> vi_status {
        const at::Tensor &p = param_of(m, layer, bias);
        auto &st = m->opt->state();
        const std::string key = state_key(p);
        st.erase(key);
        if (step <= 0) return VI_OK;
        auto s = std::make_unique<torch::optim::AdamParamState>();
        s->step(step);
        s->exp_avg(at::from_blob(const_cast<float *>(exp_avg), p.sizes(), at::kFloat).clone());
        s->exp_avg_sq(
            at::from_blob(const_cast<float *>(exp_avg_sq), p.sizes(), at::kFloat).clone());
        st[key] = std::move(s);
        return VI_OK;
    });
}

vi_status vi__dmi_step(vi__dmi *m, const float *anchor, const float *pos, int32_t B,
                       const float *neg, int32_t M, vi__dmi_terms *terms) {
    return guarded("DMI training step", [&]() -> vi_status {
        return eval_impl(m, anchor, pos, B, neg, M, VI__DMI_GRAD_TOTAL, terms, nullptr, true);
    });
}

}  // extern "C"
