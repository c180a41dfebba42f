/* DMI training in libtorch on frozen backbone features: the head's parameters, the losses of
 * ../shared/docs/dmi.md (train_dmi_loss.cpp, shared with the joint fine-tuning of finetune_net.cpp)
 * and Adam. vi__dmi_set_loss changes the weights of D and M (ablations) or makes the total
 * NCE(a^) alone (a single linear head). Adam's state can be read and restored (checkpoints).
 *
 * No C++ exception leaves this file: every extern "C" entry point catches them all. */

#include "../common/common.h"
#include "../backbone/backbone_guard.hpp"
#include "train_dmi.h"
#include "train_dmi_loss.hpp"

#include <ATen/ATen.h>
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

using vi_torch::ArgError;
using vi_train::DmiEncoded;

template <typename F> vi_status guarded(const char *what, F &&body) {
    return vi_torch::guarded("", what, VI_E_INTERNAL, std::forward<F>(body));
}

}  // namespace

struct vi__dmi {
    int64_t in_dim = 0, out_dim = 0;
    vi_train::DmiLossWeights weights; /* loss switches (vi__dmi_set_loss) */
    std::vector<at::Tensor> W, b; /* VI__DMI_LAYERS each */
    std::unique_ptr<torch::optim::Adam> opt;

    int64_t fan_in(int32_t layer) const { return vi_train::dmi_fan_in(layer, in_dim, out_dim); }
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
    DmiEncoded all = vi_train::dmi_encode(m->W, m->b, at::cat({xa, xp, xn}, 0));
    at::Tensor m_sum, d_sum;
    at::Tensor total = vi_train::dmi_loss(all.rows(0, B), all.rows(B, B), all.rows(2 * B, M),
                                         m->weights, terms, &m_sum, &d_sum);
    if (grad == VI__DMI_GRAD_NONE) return VI_OK;

    at::Tensor target = grad == VI__DMI_GRAD_TOTAL ? total
                      : grad == VI__DMI_GRAD_M     ? m_sum
                                                   : d_sum;
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
        vi_train::dmi_init(in_dim, out_dim, seed, &m->W, &m->b);
        std::vector<at::Tensor> params;
        for (int32_t i = 0; i < VI__DMI_LAYERS; i++) {
            params.push_back(m->W[i]);
            params.push_back(m->b[i]);
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
        m->weights.w_d = w_d;
        m->weights.w_m = w_m;
        m->weights.single = single != 0;
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
