/* A trainable copy of the MobileNetV2 backbone for contrastive fine-tuning (see
 * backbone_train.h and docs/training.md, "Fine-tuning the backbone").
 *
 * The network is the one of torch_shim.cpp (same weights, same Keras padding rules, batch-norm
 * folded into each convolution, input RGB / 255, GeM p = 3 of block_13_expand_relu and out_relu,
 * each L2-normalised, concatenated and scaled by 1/sqrt(2)), rebuilt here because this copy
 * owns mutable parameters: the folded weight and bias of every convolution in the trainable
 * units (the last N of: stem, 17 inverted-residual blocks, final 1x1 convolution) carry
 * gradients; everything before the first trainable unit runs under NoGradGuard through oneDNN
 * directly, as at inference, and no graph is recorded for it.
 *
 * Batch-norm stays folded during training (the statistics are those of the original training
 * and are not re-estimated on our small batches, which SSCD-style fine-tuning with frozen
 * statistics also does). On export, the kernel and beta are solved from the trained folded
 * weight with the original gamma, mean and variance, so that the loader's fold reproduces them.
 *
 * Loss, headless: InfoNCE over 2B views (each view's positive is the other view of its source,
 * every other view of the batch a negative), temperature T, plus optionally SSCD's KoLeo entropy
 * term -mean log(distance to the nearest non-positive view).
 * Loss with a DMI head (dmi_loss.hpp): the head encodes the 2B views and DMI's total loss is
 * taken on the pairs (view i, view B + i), each pair's negatives being the other pairs' views
 * (the paper trains its head on frozen video features; here head and backbone are trained
 * together, on frame views). A memory bank of earlier steps' features as extra negatives was
 * tried and dropped: without a momentum encoder its features go stale as the backbone moves,
 * and training diverged after ~150 steps (MoCo reports the same for momentum 0).
 * Optimiser: AdamW written out here, so that its state is plain tensors that a checkpoint can
 * store and restore bit for bit. */

#include "backbone_train.h"

#include "../common/common.h"
#include "dmi_loss.hpp"
#include "shim_guard.hpp"

#include <ATen/ATen.h>
#include <ATen/Config.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace {

using vi_shim::ArgError;
using vi_shim::ModelError;

const double kBnEps = 1e-3;
const double kGemP = 3.0;
const double kGemEps = 1e-6;
const double kAdamB1 = 0.9, kAdamB2 = 0.999, kAdamEps = 1e-8;
const int kSettings[7][4] = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};
const int kUnits = VI__BBT_MAX_UNITS; /* stem, 17 blocks, head */
const int64_t kFeatureDim = 576 + 1280; /* GeM of block_13_expand_relu and out_relu */

std::string dims_str(const std::vector<int64_t> &d) {
    std::string s = "[";
    for (size_t i = 0; i < d.size(); i++) {
        s += (i ? "," : "") + std::to_string(d[i]);
    }
    return s + "]";
}

class Weights {
  public:
    Weights(const vi__named_f32 *t, int32_t n) {
        for (int32_t i = 0; i < n; i++) {
            if (t[i].name) {
                by_name_[t[i].name] = &t[i];
            }
        }
    }
    at::Tensor get(const std::string &name, const std::vector<int64_t> &dims) const {
        auto it = by_name_.find(name);
        if (it == by_name_.end()) {
            throw ModelError("tensor '" + name + "' is missing");
        }
        const vi__named_f32 *t = it->second;
        std::vector<int64_t> have;
        if (t->ndim >= 0 && t->ndim <= 4) {
            have.assign(t->dims, t->dims + t->ndim);
        }
        if (have != dims || !t->data) {
            throw ModelError("tensor '" + name + "' has dims " + dims_str(have) + ", expected " +
                             dims_str(dims));
        }
        at::Tensor v = at::empty(dims, at::kFloat);
        std::memcpy(v.data_ptr<float>(), t->data, sizeof(float) * v.numel());
        if (!at::isfinite(v).all().item<bool>()) {
            throw ModelError("tensor '" + name + "' holds NaN or infinite values");
        }
        return v;
    }

  private:
    std::map<std::string, const vi__named_f32 *> by_name_;
};

/* One convolution with batch-norm folded in, and what export needs to unfold it. */
struct Conv {
    std::string conv_name, bn_name; /* model-file names */
    bool depthwise = false;
    int64_t groups = 1;
    bool train = false;
    at::Tensor w, b;                    /* folded, torch layout [out, in/groups, k, k] */
    at::Tensor gamma, beta, mean, var;  /* original batch-norm, float64 */
    at::Tensor mw, vw, mb, vb;          /* AdamW moments when trainable */
};

struct Block {
    std::string prefix;
    bool expand = false, residual = false;
    int stride = 1;
    int expand_i = -1, dw_i = -1, proj_i = -1; /* indices into Model::convs */
};

at::Tensor pad_bottom_right(const at::Tensor &x) {
    return at::constant_pad_nd(x, {0, 1, 0, 1}, 0.0).contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor gem_l2(const at::Tensor &x) {
    at::Tensor g = x.clamp_min(kGemEps).pow(kGemP).mean({2, 3}).pow(1.0 / kGemP);
    return g / g.norm(2, {1}, true).clamp_min(1e-12);
}

} // namespace

struct vi__bbt {
    std::vector<Conv> convs;
    std::vector<int> unit_of_conv; /* 0 = stem, 1..17 blocks, 18 = head */
    std::vector<Block> blocks;
    int stem_i = -1, head_i = -1;
    int first_trainable_unit = kUnits;
    vi__bbt_config cfg{};
    float lr = 0;
    int64_t steps = 0;
    std::vector<std::pair<std::string, at::Tensor *>> state; /* name -> tensor, for checkpoints */
    mutable std::vector<at::Tensor> state_views;
    /* the DMI head (cfg.dmi_head): layers as in dmi_loss.hpp, their AdamW moments */
    std::vector<at::Tensor> hW, hb, hmW, hvW, hmb, hvb;

    int add_conv(const Weights &W, const std::string &conv, const std::string &bn, int64_t k,
                 int64_t cin, int64_t cout, bool depthwise, int unit) {
        Conv c;
        c.conv_name = conv;
        c.bn_name = bn;
        c.depthwise = depthwise;
        at::Tensor w;
        if (depthwise) {
            w = W.get(conv + "/depthwise_kernel", {3, 3, cout, 1}).permute({2, 3, 0, 1});
            c.groups = cout;
        } else {
            w = W.get(conv + "/kernel", {k, k, cin, cout}).permute({3, 2, 0, 1});
        }
        c.gamma = W.get(bn + "/gamma", {cout}).to(at::kDouble);
        c.beta = W.get(bn + "/beta", {cout}).to(at::kDouble);
        c.mean = W.get(bn + "/moving_mean", {cout}).to(at::kDouble);
        c.var = W.get(bn + "/moving_variance", {cout}).to(at::kDouble);
        if ((c.var < 0).any().item<bool>()) {
            throw ModelError("tensor '" + bn + "/moving_variance' has negative values");
        }
        at::Tensor scale = c.gamma / at::sqrt(c.var + kBnEps);
        c.w = (w.to(at::kDouble) * scale.view({cout, 1, 1, 1}))
                  .to(at::kFloat)
                  .contiguous(at::MemoryFormat::ChannelsLast);
        c.b = (c.beta - c.mean * scale).to(at::kFloat).contiguous();
        c.train = unit >= first_trainable_unit;
        if (c.train) {
            c.w.requires_grad_(true);
            c.b.requires_grad_(true);
            c.mw = at::zeros_like(c.w);
            c.vw = at::zeros_like(c.w);
            c.mb = at::zeros_like(c.b);
            c.vb = at::zeros_like(c.b);
        }
        convs.push_back(std::move(c));
        unit_of_conv.push_back(unit);
        return (int)convs.size() - 1;
    }

    void build(const Weights &W) {
        first_trainable_unit = kUnits - cfg.trainable_units;
        stem_i = add_conv(W, "Conv1", "bn_Conv1", 3, 3, 32, false, 0);
        int64_t cin = 32;
        int index = 0;
        for (const auto &st : kSettings) {
            for (int r = 0; r < st[2]; r++) {
                Block b;
                b.prefix = index == 0 ? "expanded_conv_" : "block_" + std::to_string(index) + "_";
                b.stride = r == 0 ? st[3] : 1;
                b.expand = st[0] != 1;
                const int64_t hidden = cin * st[0], cout = st[1];
                const std::string &p = b.prefix;
                const int unit = index + 1;
                if (b.expand) {
                    b.expand_i = add_conv(W, p + "expand", p + "expand_BN", 1, cin, hidden, false,
                                          unit);
                }
                b.dw_i = add_conv(W, p + "depthwise", p + "depthwise_BN", 3, hidden, hidden, true,
                                  unit);
                b.proj_i = add_conv(W, p + "project", p + "project_BN", 1, hidden, cout, false,
                                    unit);
                b.residual = b.stride == 1 && cin == cout;
                blocks.push_back(std::move(b));
                cin = cout;
                index++;
            }
        }
        head_i = add_conv(W, "Conv_1", "Conv_1_bn", 1, cin, 1280, false, kUnits - 1);
        if (cfg.dmi_head) {
            vi_shim::dmi_init(kFeatureDim, cfg.head_dim, cfg.head_seed, &hW, &hb);
            for (int l = 0; l < VI__DMI_LAYERS; l++) {
                hmW.push_back(at::zeros_like(hW[l]));
                hvW.push_back(at::zeros_like(hW[l]));
                hmb.push_back(at::zeros_like(hb[l]));
                hvb.push_back(at::zeros_like(hb[l]));
            }
        }
        for (Conv &c : convs) {
            if (c.train) {
                state.emplace_back("param/" + c.conv_name + "/w", &c.w);
                state.emplace_back("param/" + c.conv_name + "/b", &c.b);
                state.emplace_back("adam_m/" + c.conv_name + "/w", &c.mw);
                state.emplace_back("adam_m/" + c.conv_name + "/b", &c.mb);
                state.emplace_back("adam_v/" + c.conv_name + "/w", &c.vw);
                state.emplace_back("adam_v/" + c.conv_name + "/b", &c.vb);
            }
        }
        for (size_t l = 0; l < hW.size(); l++) {
            const std::string n = "layer" + std::to_string(l); /* checkpoint names only */
            state.emplace_back("param/" + n + ".weight", &hW[l]);
            state.emplace_back("param/" + n + ".bias", &hb[l]);
            state.emplace_back("adam_m/" + n + ".weight", &hmW[l]);
            state.emplace_back("adam_m/" + n + ".bias", &hmb[l]);
            state.emplace_back("adam_v/" + n + ".weight", &hvW[l]);
            state.emplace_back("adam_v/" + n + ".bias", &hvb[l]);
        }
    }

    /* Frozen convolutions go straight to oneDNN (see torch_shim.cpp for why); trainable ones
     * through at::convolution, which records the graph (oneDNN's entry has no derivative). */
    at::Tensor conv(const at::Tensor &x, const Conv &c, int64_t stride, int64_t pad) const {
        const at::Tensor in = x.contiguous(at::MemoryFormat::ChannelsLast);
#if AT_MKLDNN_ENABLED()
        if (!c.train) {
            return at::mkldnn_convolution(in, c.w, c.b, {pad, pad}, {stride, stride}, {1, 1},
                                          c.groups);
        }
#endif
        return at::convolution(in, c.w, c.b, {stride, stride}, {pad, pad}, {1, 1}, false, {0, 0},
                               c.groups);
    }

    at::Tensor relu6(const at::Tensor &x, bool train) const {
        return train ? at::hardtanh(x, 0.0, 6.0) : x.clamp_(0.0, 6.0);
    }

    /* The 1856-d feature (no mirror averaging) of preprocessed input x (N x 3 x S x S). Units
     * before the first trainable one record no graph. */
    at::Tensor features(at::Tensor x) const {
        const bool want_grad = c10::GradMode::is_enabled();
        at::Tensor mid;
        {
            const bool tr = convs[stem_i].train;
            c10::AutoGradMode mode(want_grad && tr);
            x = relu6(conv(pad_bottom_right(x), convs[stem_i], 2, 0), tr);
        }
        for (size_t k = 0; k < blocks.size(); k++) {
            const Block &b = blocks[k];
            const bool tr = (int)k + 1 >= first_trainable_unit;
            c10::AutoGradMode mode(want_grad && tr);
            const at::Tensor in = x;
            if (b.expand) {
                x = relu6(conv(x, convs[b.expand_i], 1, 0), tr);
                if (b.prefix == "block_13_") {
                    mid = x;
                }
            }
            if (b.stride == 2) {
                x = conv(pad_bottom_right(x), convs[b.dw_i], 2, 0);
            } else {
                x = conv(x, convs[b.dw_i], 1, 1); /* "same" */
            }
            x = conv(relu6(x, tr), convs[b.proj_i], 1, 0);
            if (b.residual) {
                x = x + in;
            }
        }
        {
            const bool tr = convs[head_i].train;
            c10::AutoGradMode mode(want_grad && tr);
            x = relu6(conv(x, convs[head_i], 1, 0), tr);
        }
        const double part = 1.0 / std::sqrt(2.0);
        return at::cat({gem_l2(x), gem_l2(mid)}, 1) * part;
    }
};

namespace {

/* One AdamW update of parameter p from its gradient (none: nothing to do). */
void adamw(at::Tensor &p, at::Tensor &m, at::Tensor &v, double lr, double wd, double bc1,
           double bc2) {
    at::Tensor g = p.grad();
    if (!g.defined()) {
        return;
    }
    m.mul_(kAdamB1).add_(g, 1.0 - kAdamB1);
    v.mul_(kAdamB2).addcmul_(g, g, 1.0 - kAdamB2);
    at::Tensor denom = (v.div(bc2)).sqrt_().add_(kAdamEps);
    if (wd > 0) {
        p.mul_(1.0 - lr * wd);
    }
    p.addcdiv_(m, denom, -lr / bc1);
    p.mutable_grad() = at::Tensor();
}

/* Headless: InfoNCE over the 2B views (view i's positive is view (i + B) mod 2B) with the other
 * views as negatives, + KoLeo over the views. */
at::Tensor infonce_step_loss(const vi__bbt &t, const at::Tensor &z, int64_t pairs,
                             vi__bbt_stats *stats) {
    const int64_t n = z.size(0);
    at::Tensor sim = at::mm(z, z.t());
    at::Tensor eye = at::eye(n, at::kBool);
    at::Tensor logits = (sim / t.cfg.temperature).masked_fill(eye, -1e9);
    at::Tensor idx = at::arange(n, at::kLong);
    at::Tensor pos = (idx + pairs).remainder(n);
    at::Tensor logp = at::log_softmax(logits, 1);
    at::Tensor nce = -logp.gather(1, pos.view({n, 1})).mean();
    /* KoLeo: distance to the nearest view that is neither itself nor its positive. */
    at::Tensor posmask =
        eye.logical_or(at::zeros({n, n}, at::kBool).scatter_(1, pos.view({n, 1}), true));
    at::Tensor d2 = (2.0 - 2.0 * sim).clamp_min(0.0).masked_fill(posmask, 1e9);
    at::Tensor koleo = -at::log(std::get<0>(d2.min(1)).clamp_min(1e-12).sqrt() + 1e-8).mean();
    at::Tensor loss = t.cfg.koleo_weight > 0 ? nce + t.cfg.koleo_weight * koleo : nce;
    if (stats) {
        at::Tensor best = std::get<1>(logits.max(1));
        stats->loss = loss.item<float>();
        stats->infonce = nce.item<float>();
        stats->koleo = koleo.item<float>();
        stats->accuracy = best.eq(pos).to(at::kFloat).mean().item<float>();
    }
    return loss;
}

/* With a DMI head: DMI's total loss on pairs (view i, view B + i). */
at::Tensor dmi_step_loss(const vi__bbt &t, const at::Tensor &z, int64_t pairs,
                         vi__bbt_stats *stats) {
    vi_shim::DmiEncoded all = vi_shim::dmi_encode(t.hW, t.hb, z);
    vi_shim::DmiEncoded ea = all.rows(0, pairs), ep = all.rows(pairs, pairs);
    vi_shim::DmiEncoded en = all.rows(2 * pairs, 0);
    vi_shim::DmiLossWeights w;
    w.w_d = t.cfg.exclusivity_weight;
    w.w_m = t.cfg.mi_weight;
    vi__dmi_terms terms;
    at::Tensor loss = vi_shim::dmi_loss(ea, ep, en, w, &terms);
    if (stats) {
        c10::NoGradGuard ng;
        at::Tensor logits = at::mm(ea.f, ep.f.t());
        at::Tensor best = std::get<1>(logits.max(1));
        stats->loss = (float)terms.total;
        stats->infonce = (float)terms.nce_f;
        stats->koleo = 0.0f;
        stats->accuracy = best.eq(at::arange(pairs, at::kLong)).to(at::kFloat).mean().item<float>();
    }
    return loss;
}

at::Tensor preprocess(const uint8_t *rgb, int64_t n, int64_t size) {
    at::Tensor u8 = at::from_blob(const_cast<uint8_t *>(rgb), {n, size, size, 3}, at::kByte);
    return u8.permute({0, 3, 1, 2}).to(at::kFloat).div_(255.0f).contiguous(
        at::MemoryFormat::ChannelsLast);
}

template <typename F> vi_status guarded(const char *what, vi_status bad, F &&body) {
    return vi_shim::guarded("fine-tuning: ", what, bad, std::forward<F>(body));
}

/* Hand one tensor to an export callback as float32 (the view lives for the call). */
vi_status emit(vi__bbt_export_fn fn, void *user, const std::string &name, const at::Tensor &t) {
    at::Tensor v = t.to(at::kFloat).contiguous();
    vi__named_f32 nt;
    nt.name = name.c_str();
    nt.data = v.data_ptr<float>();
    nt.ndim = (int32_t)v.dim();
    for (int k = 0; k < 4; k++) {
        nt.dims[k] = k < v.dim() ? v.size(k) : 0;
    }
    return fn(user, &nt);
}

} // namespace

extern "C" {

vi_status vi__bbt_create(const vi__named_f32 *tensors, int32_t n_tensors,
                         const vi__bbt_config *cfg, vi__bbt **out) {
    if (!out || !cfg || (!tensors && n_tensors)) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: creating the network: NULL argument");
    }
    *out = nullptr;
    if (cfg->trainable_units < 1 || cfg->trainable_units > VI__BBT_MAX_UNITS) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: trainable units %d not in 1..%d",
                        (int)cfg->trainable_units, VI__BBT_MAX_UNITS);
    }
    if (cfg->dmi_head && (cfg->head_dim < 1 || cfg->head_dim > 4096 ||
                          !(cfg->head_learning_rate > 0) || !(cfg->learning_rate > 0))) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: bad head (%d dimensions, rate %g)",
                        (int)cfg->head_dim, (double)cfg->head_learning_rate);
    }
    return guarded("creating the network", VI_E_BAD_MODEL, [&]() -> vi_status {
        Weights W(tensors, n_tensors);
        void *mem = vi__malloc(sizeof(vi__bbt));
        if (!mem) {
            return vi__fail(VI_E_NOMEM, "fine-tuning: out of memory creating the network");
        }
        vi__bbt *t = nullptr;
        try {
            t = new (mem) vi__bbt();
            t->cfg = *cfg;
            t->lr = cfg->learning_rate;
            t->build(W);
        } catch (...) {
            if (t) {
                t->~vi__bbt();
            }
            vi__free(mem);
            throw;
        }
        *out = t;
        return VI_OK;
    });
}

void vi__bbt_free(vi__bbt *t) {
    if (!t) {
        return;
    }
    try {
        t->~vi__bbt();
    } catch (...) {
    }
    vi__free(t);
}

vi_status vi__bbt_features(vi__bbt *t, const uint8_t *rgb, int32_t n, int32_t size,
                           float *features) {
    if (!t || !rgb || !features || n < 1 || size < 32 || size > 1024) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: features: bad argument");
    }
    return guarded("computing features", VI_E_INTERNAL, [&]() -> vi_status {
        c10::NoGradGuard ng;
        at::Tensor f = t->features(preprocess(rgb, n, size)).contiguous();
        std::memcpy(features, f.data_ptr<float>(), sizeof(float) * f.numel());
        return VI_OK;
    });
}

vi_status vi__bbt_step(vi__bbt *t, const uint8_t *rgb, int32_t pairs, int32_t size, int update,
                       vi__bbt_stats *stats) {
    if (!t || !rgb || pairs < 2 || size < 32 || size > 1024) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: step: bad argument (%d pairs)",
                        (int)pairs);
    }
    return guarded("training step", VI_E_INTERNAL, [&]() -> vi_status {
        c10::AutoGradMode grad(update != 0);
        const int64_t n = 2 * (int64_t)pairs;
        at::Tensor z = t->features(preprocess(rgb, n, size));
        at::Tensor loss = t->cfg.dmi_head ? dmi_step_loss(*t, z, pairs, stats)
                                          : infonce_step_loss(*t, z, pairs, stats);
        if (!std::isfinite(loss.item<float>())) {
            throw std::runtime_error("the loss is not finite (learning rate too high?)");
        }
        if (!update) {
            return VI_OK;
        }
        loss.backward();
        c10::NoGradGuard ng;
        t->steps++;
        const double bc1 = 1.0 - std::pow(kAdamB1, (double)t->steps);
        const double bc2 = 1.0 - std::pow(kAdamB2, (double)t->steps);
        for (Conv &c : t->convs) {
            if (c.train) {
                adamw(c.w, c.mw, c.vw, t->lr, t->cfg.weight_decay, bc1, bc2);
                adamw(c.b, c.mb, c.vb, t->lr, t->cfg.weight_decay, bc1, bc2);
            }
        }
        const double head_lr = t->lr * t->cfg.head_learning_rate / t->cfg.learning_rate;
        for (size_t l = 0; l < t->hW.size(); l++) {
            adamw(t->hW[l], t->hmW[l], t->hvW[l], head_lr, t->cfg.weight_decay, bc1, bc2);
            adamw(t->hb[l], t->hmb[l], t->hvb[l], head_lr, t->cfg.weight_decay, bc1, bc2);
        }
        return VI_OK;
    });
}

int32_t vi__bbt_feature_dim(const vi__bbt *t) { return t ? (int32_t)kFeatureDim : 0; }

int64_t vi__bbt_steps_done(const vi__bbt *t) { return t ? t->steps : 0; }
void vi__bbt_set_steps_done(vi__bbt *t, int64_t steps) {
    if (t) {
        t->steps = steps;
    }
}
void vi__bbt_set_learning_rate(vi__bbt *t, float lr) {
    if (t) {
        t->lr = lr;
    }
}

int32_t vi__bbt_state_count(const vi__bbt *t) { return t ? (int32_t)t->state.size() : 0; }

vi_status vi__bbt_state_get(const vi__bbt *t, int32_t i, vi__named_f32 *out) {
    if (!t || !out || i < 0 || i >= (int32_t)t->state.size()) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: state index %d out of range", (int)i);
    }
    return guarded("reading the state", VI_E_INTERNAL, [&]() -> vi_status {
        c10::NoGradGuard ng;
        if (t->state_views.size() != t->state.size()) {
            t->state_views.assign(t->state.size(), at::Tensor());
        }
        const at::Tensor &src = *t->state[i].second;
        at::Tensor v = src.detach().contiguous();
        t->state_views[i] = v;
        out->name = t->state[i].first.c_str();
        out->data = v.data_ptr<float>();
        out->ndim = (int32_t)v.dim();
        for (int k = 0; k < 4; k++) {
            out->dims[k] = k < v.dim() ? v.size(k) : 0;
        }
        return VI_OK;
    });
}

vi_status vi__bbt_state_set(vi__bbt *t, const char *name, const float *data, int64_t numel) {
    if (!t || !name || !data) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: state set: NULL argument");
    }
    return guarded("restoring the state", VI_E_INTERNAL, [&]() -> vi_status {
        for (auto &e : t->state) {
            if (e.first != name) {
                continue;
            }
            at::Tensor &dst = *e.second;
            if (dst.numel() != numel) {
                return vi__fail(VI_E_FORMAT, "state '%s' has %lld values, the network %lld", name,
                                (long long)numel, (long long)dst.numel());
            }
            c10::NoGradGuard ng;
            at::Tensor src =
                at::from_blob(const_cast<float *>(data), dst.sizes(), at::kFloat); /* standard */
            dst.copy_(src);
            return VI_OK;
        }
        return vi__fail(VI_E_FORMAT, "state '%s' does not belong to this network", name);
    });
}

int vi__bbt_is_trainable_tensor(const vi__bbt *t, const char *name) {
    if (!t || !name) {
        return 0;
    }
    const std::string s(name);
    for (const Conv &c : t->convs) {
        if (!c.train) {
            continue;
        }
        if (s.rfind(c.conv_name + "/", 0) == 0 || s.rfind(c.bn_name + "/", 0) == 0) {
            return 1;
        }
    }
    return 0;
}

vi_status vi__bbt_export(const vi__bbt *t, vi__bbt_export_fn fn, void *user) {
    if (!t || !fn) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: export: NULL argument");
    }
    return guarded("exporting the weights", VI_E_INTERNAL, [&]() -> vi_status {
        c10::NoGradGuard ng;
        for (const Conv &c : t->convs) {
            if (!c.train) {
                continue;
            }
            const int64_t cout = c.w.size(0);
            at::Tensor scale = c.gamma / at::sqrt(c.var + kBnEps);
            at::Tensor safe = at::where(scale.abs() < 1e-12, at::ones_like(scale), scale);
            at::Tensor w = c.w.detach().to(at::kDouble) / safe.view({cout, 1, 1, 1});
            w = at::where(scale.abs().view({cout, 1, 1, 1}) < 1e-12, at::zeros_like(w), w);
            at::Tensor kernel = c.depthwise ? w.permute({2, 3, 0, 1}) : w.permute({2, 3, 1, 0});
            at::Tensor beta = c.b.detach().to(at::kDouble) + c.mean * scale;
            const std::string kname = c.conv_name + (c.depthwise ? "/depthwise_kernel" : "/kernel");
            std::vector<std::pair<std::string, at::Tensor>> outs = {
                {kname, kernel},
                {c.bn_name + "/gamma", c.gamma},
                {c.bn_name + "/beta", beta},
                {c.bn_name + "/moving_mean", c.mean},
                {c.bn_name + "/moving_variance", c.var},
            };
            for (auto &o : outs) {
                vi_status st = emit(fn, user, o.first, o.second);
                if (st != VI_OK) {
                    return st;
                }
            }
        }
        return VI_OK;
    });
}

vi_status vi__bbt_head_get(const vi__bbt *t, int32_t layer, float *weight, float *bias) {
    if (!t || !weight || !bias || layer < 0 || layer >= (int32_t)t->hW.size()) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: head layer %d: no such layer", (int)layer);
    }
    return guarded("reading the head", VI_E_INTERNAL, [&]() -> vi_status {
        c10::NoGradGuard ng;
        const at::Tensor w = t->hW[layer].detach().to(at::kFloat).contiguous();
        const at::Tensor b = t->hb[layer].detach().to(at::kFloat).contiguous();
        std::memcpy(weight, w.data_ptr<float>(), sizeof(float) * w.numel());
        std::memcpy(bias, b.data_ptr<float>(), sizeof(float) * b.numel());
        return VI_OK;
    });
}

} // extern "C"
