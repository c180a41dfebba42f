/* The backbone in training mode, for contrastive fine-tuning (see finetune_net.h and
 * docs/training.md, "Fine-tuning the backbone").
 *
 * The network is the backbone's own (lib/backbone/backbone_net.cpp) built with its last N units
 * trainable (of: stem, 17 inverted-residual blocks, final 1x1 convolution): the folded weight
 * and bias of their convolutions carry gradients; everything before the first trainable unit
 * runs without a graph through oneDNN, as at inference. This file adds what training needs:
 * the optimiser state, the losses, checkpoint state and writing the weights back.
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

#include "finetune_net.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "../backbone/backbone_guard.hpp"
#include "../backbone/backbone_net.hpp"
#include "train_dmi_loss.hpp"

namespace {

using vi_torch::ArgError;

const double kAdamB1 = 0.9, kAdamB2 = 0.999, kAdamEps = 1e-8;

/* AdamW moments of one trainable convolution. */
struct Moments {
    at::Tensor mw, vw, mb, vb;
};

} // namespace

struct vi__bbt {
    vi_backbone::Net net;
    std::vector<int> trained;    /* indices into net.convs() of the trainable convolutions */
    std::vector<Moments> moments; /* parallel to `trained` */
    vi__bbt_config cfg{};
    float lr = 0;
    int64_t steps = 0;
    std::vector<std::pair<std::string, at::Tensor *>> state; /* name -> tensor, for checkpoints */
    mutable std::vector<at::Tensor> state_views;
    /* the DMI head (cfg.dmi_head): layers as in train_dmi_loss.hpp, their AdamW moments */
    std::vector<at::Tensor> hW, hb, hmW, hvW, hmb, hvb;

    vi__bbt(const vi_backbone::Weights &W, const vi__bbt_config &config)
        : net(W, config.trainable_units), cfg(config), lr(config.learning_rate) {
        std::vector<vi_backbone::Conv> &convs = net.convs();
        for (size_t i = 0; i < convs.size(); i++) {
            if (convs[i].train) {
                trained.push_back((int)i);
                moments.push_back({at::zeros_like(convs[i].w), at::zeros_like(convs[i].w),
                                   at::zeros_like(convs[i].b), at::zeros_like(convs[i].b)});
            }
        }
        if (cfg.dmi_head) {
            vi_train::dmi_init(net.feature_dim(), cfg.head_dim, cfg.head_seed, &hW, &hb);
            for (int l = 0; l < VI__DMI_LAYERS; l++) {
                hmW.push_back(at::zeros_like(hW[l]));
                hvW.push_back(at::zeros_like(hW[l]));
                hmb.push_back(at::zeros_like(hb[l]));
                hvb.push_back(at::zeros_like(hb[l]));
            }
        }
        for (size_t k = 0; k < trained.size(); k++) {
            vi_backbone::Conv &c = convs[trained[k]];
            Moments &m = moments[k];
            state.emplace_back("param/" + c.conv_name + "/w", &c.w);
            state.emplace_back("param/" + c.conv_name + "/b", &c.b);
            state.emplace_back("adam_m/" + c.conv_name + "/w", &m.mw);
            state.emplace_back("adam_m/" + c.conv_name + "/b", &m.mb);
            state.emplace_back("adam_v/" + c.conv_name + "/w", &m.vw);
            state.emplace_back("adam_v/" + c.conv_name + "/b", &m.vb);
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
    vi_train::DmiEncoded all = vi_train::dmi_encode(t.hW, t.hb, z);
    vi_train::DmiEncoded ea = all.rows(0, pairs), ep = all.rows(pairs, pairs);
    vi_train::DmiEncoded en = all.rows(2 * pairs, 0);
    vi_train::DmiLossWeights w;
    w.w_d = t.cfg.exclusivity_weight;
    w.w_m = t.cfg.mi_weight;
    vi__dmi_terms terms;
    at::Tensor loss = vi_train::dmi_loss(ea, ep, en, w, &terms);
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

template <typename F> vi_status guarded(const char *what, vi_status bad, F &&body) {
    return vi_torch::guarded("fine-tuning: ", what, bad, std::forward<F>(body));
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
        vi_backbone::Weights W(tensors, n_tensors);
        void *mem = vi__malloc(sizeof(vi__bbt));
        if (!mem) {
            return vi__fail(VI_E_NOMEM, "fine-tuning: out of memory creating the network");
        }
        try {
            *out = new (mem) vi__bbt(W, *cfg);
        } catch (...) {
            vi__free(mem);
            throw;
        }
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

vi_status vi__bbt_step(vi__bbt *t, const uint8_t *rgb, int32_t pairs, int32_t size, int update,
                       vi__bbt_stats *stats) {
    if (!t || !rgb || pairs < 2 || size < 32 || size > 1024) {
        return vi__fail(VI_E_INVALID_ARG, "fine-tuning: step: bad argument (%d pairs)",
                        (int)pairs);
    }
    return guarded("training step", VI_E_INTERNAL, [&]() -> vi_status {
        c10::AutoGradMode grad(update != 0);
        const int64_t n = 2 * (int64_t)pairs;
        at::Tensor z = t->net.features(vi_backbone::preprocess(rgb, n, size));
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
        for (size_t k = 0; k < t->trained.size(); k++) {
            vi_backbone::Conv &c = t->net.convs()[t->trained[k]];
            Moments &m = t->moments[k];
            adamw(c.w, m.mw, m.vw, t->lr, t->cfg.weight_decay, bc1, bc2);
            adamw(c.b, m.mb, m.vb, t->lr, t->cfg.weight_decay, bc1, bc2);
        }
        const double head_lr = t->lr * t->cfg.head_learning_rate / t->cfg.learning_rate;
        for (size_t l = 0; l < t->hW.size(); l++) {
            adamw(t->hW[l], t->hmW[l], t->hvW[l], head_lr, t->cfg.weight_decay, bc1, bc2);
            adamw(t->hb[l], t->hmb[l], t->hvb[l], head_lr, t->cfg.weight_decay, bc1, bc2);
        }
        return VI_OK;
    });
}

int32_t vi__bbt_feature_dim(const vi__bbt *t) {
    return t ? static_cast<int32_t>(t->net.feature_dim()) : 0;
}

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
    for (const vi_backbone::Conv &c : t->net.convs()) {
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
        for (const vi_backbone::Conv &c : t->net.convs()) {
            if (!c.train) {
                continue;
            }
            const int64_t cout = c.w.size(0);
            at::Tensor scale = c.gamma / at::sqrt(c.var + vi_backbone::kBnEps);
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
