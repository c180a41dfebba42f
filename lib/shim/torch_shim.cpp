/* The libtorch shim: the frozen MobileNetV2 backbone and its frame features.
 *
 * The network is the Keras MobileNetV2 (alpha 1.0) of nsfwjs, rebuilt from its weights with ATen
 * operators. The weights arrive dequantised to float32 and in Keras layout; at creation every
 * convolution is turned into torch's layout and its BatchNormalization folded into it
 * (w' = w * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps)), so a forward
 * pass is a chain of convolutions, clamp(0, 6) and adds (tensors are NCHW-shaped, channels-last
 * in memory).
 *
 * What must match Keras exactly (test/integration/test_backbone.c checks it against the
 * original model run by TensorFlow.js):
 * - the stride-2 convolutions are "valid" convolutions after ZeroPadding2D(((0, 1), (0, 1))):
 *   one row of zeros at the bottom and one column at the right, none at the top or left. A
 *   symmetric padding of 1 would shift every later feature map by one pixel;
 * - the stride-1 depthwise convolutions are "same": one pixel of zeros on every side;
 * - ReLU6, BatchNormalization epsilon 1e-3;
 * - the input is RGB scaled to [0, 1] (x / 255), which is what nsfwjs feeds this model (not the
 *   [-1, 1] of the ImageNet MobileNetV2).
 *
 * Only this file includes torch headers, and no C++ exception leaves it: every extern "C" entry
 * point catches c10::Error and std::exception and turns them into a status plus message. */

#include "../common/common.h"
#include "shim_guard.hpp"
#include "torch_shim.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

/* ---------------------------------------------------------------------------------------------
 * The frame feature: which layers are pooled. Each entry is GeM-pooled over space, the pooled
 * vector L2-normalised, and the parts concatenated and scaled by 1 / sqrt(number of parts), so
 * the feature has unit length. Change the feature here (and nowhere else).
 */
struct FeatureLayer {
    const char *layer;  /* Keras layer name, see Net::forward */
    int64_t channels;   /* its width, checked at creation */
};
const FeatureLayer kFeatureLayers[] = {
    {"out_relu", 1280},             /* the last conv layer, stride 32 (7 x 7 at 224) */
    {"block_13_expand_relu", 576},  /* mid-level, stride 16 (14 x 14 at 224) */
};
const int kNumFeatureLayers = sizeof kFeatureLayers / sizeof kFeatureLayers[0];
const double kGemP = 3.0;     /* GeM exponent: (mean x^p)^(1/p) */
const double kGemEps = 1e-6;  /* activations are clamped to at least this before the power */

/* Images per forward pass in vi__net_features, at 224 x 224 (fewer for larger images, in
 * proportion to their area): bounds the memory a call takes, the largest activation being
 * 96 x 112 x 112 floats = 4.8 MB per image at 224. Larger batches do not run faster per frame
 * (docs/backbone.md). */
const int32_t kMaxBatch = 16;
const int64_t kBatchPixels = (int64_t)kMaxBatch * 224 * 224;
const int32_t kMinSize = 32;   /* the total stride; smaller inputs vanish */
const int32_t kMaxSize = 1024;

const double kBnEps = 1e-3;   /* Keras BatchNormalization epsilon of every layer */

/* Inverted-residual settings of MobileNetV2 (alpha 1.0): expansion t, output channels c,
 * repeats n, stride of the first repeat s. Block 0 is Keras' "expanded_conv", the others
 * "block_1" .. "block_16". */
const int kSettings[7][4] = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};

/* A convolution with its batch-norm folded in: weight in torch layout, bias per output. */
struct Conv {
    at::Tensor w, b;
    int64_t groups = 1;
};

struct Block {
    std::string prefix;   /* "expanded_conv_" or "block_N_" */
    std::string add_name; /* "block_N_add" when residual, else empty */
    bool expand = false;
    int stride = 1;
    Conv expand_conv, depthwise, project;
};

using vi_shim::ArgError;
using vi_shim::ModelError;

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

    /* A copy of tensor `name` (Keras layout), which must have exactly `dims`. */
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
            throw ModelError("tensor '" + name + "' has dims " + dims_str(have) +
                             ", expected " + dims_str(dims));
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

/* Fold BatchNormalization `bn` (Keras names bn/gamma, bn/beta, bn/moving_mean,
 * bn/moving_variance) into a conv weight already in torch layout [out, in/groups, kh, kw]. */
Conv fold(const Weights &W, at::Tensor w, const std::string &bn, int64_t groups) {
    const int64_t c = w.size(0);
    at::Tensor gamma = W.get(bn + "/gamma", {c}).to(at::kDouble);
    at::Tensor beta = W.get(bn + "/beta", {c}).to(at::kDouble);
    at::Tensor mean = W.get(bn + "/moving_mean", {c}).to(at::kDouble);
    at::Tensor var = W.get(bn + "/moving_variance", {c}).to(at::kDouble);
    if ((var < 0).any().item<bool>()) {
        throw ModelError("tensor '" + bn + "/moving_variance' has negative values");
    }
    at::Tensor scale = gamma / at::sqrt(var + kBnEps);
    Conv out;
    out.w = (w.to(at::kDouble) * scale.view({c, 1, 1, 1}))
                .to(at::kFloat)
                .contiguous(at::MemoryFormat::ChannelsLast);
    out.b = (beta - mean * scale).to(at::kFloat).contiguous();
    out.groups = groups;
    return out;
}

/* Keras Conv2D kernel [kh, kw, in, out] -> torch [out, in, kh, kw]. */
Conv conv_bn(const Weights &W, const std::string &conv, const std::string &bn, int64_t k,
             int64_t cin, int64_t cout) {
    at::Tensor w = W.get(conv + "/kernel", {k, k, cin, cout}).permute({3, 2, 0, 1});
    return fold(W, w, bn, 1);
}

/* Keras DepthwiseConv2D kernel [kh, kw, C, 1] -> torch [C, 1, kh, kw] with groups = C. */
Conv depthwise_bn(const Weights &W, const std::string &conv, const std::string &bn,
                  int64_t c) {
    at::Tensor w = W.get(conv + "/depthwise_kernel", {3, 3, c, 1}).permute({2, 3, 0, 1});
    return fold(W, w, bn, c);
}

/* One convolution with folded batch norm. Activations are kept channels-last (NHWC in memory):
 * with Debian's libtorch (oneDNN, no MKL, the reference BLAS) at::conv2d sends batches under 16
 * on one thread to a BLAS-based path that is 10-15 times slower than oneDNN, and oneDNN itself
 * is only fast on channels-last data. So call oneDNN directly, on channels-last tensors. */
at::Tensor conv(const at::Tensor &x, const Conv &c, int64_t stride, int64_t pad) {
    const at::Tensor in = x.contiguous(at::MemoryFormat::ChannelsLast);
#if AT_MKLDNN_ENABLED()
    return at::mkldnn_convolution(in, c.w, c.b, {pad, pad}, {stride, stride}, {1, 1}, c.groups);
#else
    return at::conv2d(in, c.w, c.b, at::IntArrayRef{stride, stride}, at::IntArrayRef{pad, pad},
                      at::IntArrayRef{1, 1}, c.groups);
#endif
}

/* Keras' ZeroPadding2D(((0, 1), (0, 1))) before each stride-2 convolution: one row of zeros at
 * the bottom, one column at the right. Written out by hand because constant_pad_nd fills the
 * whole output and returns it in NCHW order, which costs two extra passes over the tensor. */
at::Tensor pad_bottom_right(const at::Tensor &x) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    at::Tensor y = at::empty({n, c, h + 1, w + 1},
                             x.options().memory_format(at::MemoryFormat::ChannelsLast));
    y.narrow(2, h, 1).zero_();
    y.narrow(3, w, 1).zero_();
    y.narrow(2, 0, h).narrow(3, 0, w).copy_(x);
    return y;
}

/* Which activations a forward pass should keep, by Keras layer name. */
class Capture {
  public:
    explicit Capture(std::vector<std::string> names) : names_(std::move(names)) {}
    /* Record `x` if it is wanted; true once everything wanted has been recorded, so that the
     * pass can stop early. The copy keeps later in-place ops from changing it. */
    bool offer(const std::string &name, const at::Tensor &x) {
        for (const auto &n : names_) {
            if (n == name && !got_.count(name)) {
                got_[name] = x.clone();
            }
        }
        return got_.size() == names_.size();
    }
    const at::Tensor &at_name(const std::string &n) const { return got_.at(n); }
    bool has(const std::string &n) const { return got_.count(n) > 0; }

  private:
    std::vector<std::string> names_;
    std::map<std::string, at::Tensor> got_;
};

class Net {
  public:
    explicit Net(const Weights &W) {
        stem_ = conv_bn(W, "Conv1", "bn_Conv1", 3, 3, 32);
        names_ = {"input_1", "Conv1_pad", "bn_Conv1", "Conv1_relu"};
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
                if (b.expand) {
                    b.expand_conv = conv_bn(W, p + "expand", p + "expand_BN", 1, cin, hidden);
                    names_.push_back(p + "expand_BN");
                    names_.push_back(p + "expand_relu");
                }
                if (b.stride == 2) {
                    names_.push_back(p + "pad");
                }
                b.depthwise = depthwise_bn(W, p + "depthwise", p + "depthwise_BN", hidden);
                b.project = conv_bn(W, p + "project", p + "project_BN", 1, hidden, cout);
                names_.push_back(p + "depthwise_BN");
                names_.push_back(p + "depthwise_relu");
                names_.push_back(p + "project_BN");
                if (b.stride == 1 && cin == cout) {
                    b.add_name = "block_" + std::to_string(index) + "_add";
                    names_.push_back(b.add_name);
                }
                blocks_.push_back(std::move(b));
                cin = cout;
                index++;
            }
        }
        head_ = conv_bn(W, "Conv_1", "Conv_1_bn", 1, cin, 1280);
        names_.push_back("Conv_1_bn");
        names_.push_back("out_relu");
    }

    bool has_layer(const std::string &name) const {
        for (const auto &n : names_) {
            if (n == name) {
                return true;
            }
        }
        return false;
    }

    /* Run on `x` (N x 3 x H x W float, preprocessed) until every activation `cap` wants is
     * recorded. Names follow the Keras layers; a BatchNormalization layer's name stands for its
     * convolution's output since the two are folded into one. */
    void forward(at::Tensor x, Capture &cap) const {
        if (cap.offer("input_1", x)) {
            return;
        }
        x = pad_bottom_right(x);
        if (cap.offer("Conv1_pad", x)) {
            return;
        }
        x = conv(x, stem_, 2, 0);
        if (cap.offer("bn_Conv1", x)) {
            return;
        }
        x.clamp_(0.0, 6.0);
        if (cap.offer("Conv1_relu", x)) {
            return;
        }
        for (const Block &b : blocks_) {
            const std::string &p = b.prefix;
            at::Tensor in = x;
            if (b.expand) {
                x = conv(x, b.expand_conv, 1, 0);
                if (cap.offer(p + "expand_BN", x)) {
                    return;
                }
                x.clamp_(0.0, 6.0);
                if (cap.offer(p + "expand_relu", x)) {
                    return;
                }
            }
            if (b.stride == 2) {
                x = pad_bottom_right(x);
                if (cap.offer(p + "pad", x)) {
                    return;
                }
                x = conv(x, b.depthwise, 2, 0);
            } else {
                x = conv(x, b.depthwise, 1, 1); /* "same": one pixel on every side */
            }
            if (cap.offer(p + "depthwise_BN", x)) {
                return;
            }
            x.clamp_(0.0, 6.0);
            if (cap.offer(p + "depthwise_relu", x)) {
                return;
            }
            x = conv(x, b.project, 1, 0);
            if (cap.offer(p + "project_BN", x)) {
                return;
            }
            if (!b.add_name.empty()) {
                x.add_(in);
                if (cap.offer(b.add_name, x)) {
                    return;
                }
            }
        }
        x = conv(x, head_, 1, 0);
        if (cap.offer("Conv_1_bn", x)) {
            return;
        }
        x.clamp_(0.0, 6.0);
        cap.offer("out_relu", x);
    }

    /* Width of the output of `layer`, by a dry run on a tiny input; used to check the feature
     * table against the network. */
    int64_t channels(const std::string &layer) const {
        Capture cap({layer});
        forward(at::zeros({1, 3, kMinSize, kMinSize}, at::kFloat), cap);
        return cap.has(layer) ? cap.at_name(layer).size(1) : -1;
    }

    const std::vector<std::string> &layer_names() const { return names_; }

  private:
    Conv stem_, head_;
    std::vector<Block> blocks_;
    std::vector<std::string> names_;
};

/* uint8 RGB NHWC -> float in [0, 1] (N x 3 x H x W, channels-last in memory), exactly nsfwjs'
 * img.toFloat().div(255). */
at::Tensor preprocess(const uint8_t *rgb, int64_t n, int64_t size) {
    at::Tensor u8 = at::from_blob(const_cast<uint8_t *>(rgb), {n, size, size, 3}, at::kByte);
    return u8.permute({0, 3, 1, 2}).to(at::kFloat).div_(255.0f).contiguous(
        at::MemoryFormat::ChannelsLast);
}

/* GeM over space of N x C x H x W -> N x C, then L2-normalised per row. */
at::Tensor gem_l2(const at::Tensor &x) {
    at::Tensor g = x.clamp_min(kGemEps).pow_(kGemP).mean({2, 3}).pow_(1.0 / kGemP);
    return g / g.norm(2, {1}, true).clamp_min(1e-12);
}


} // namespace

struct vi__net {
    Net net;
    int32_t feature_dim;
    bool mirror_average = false; /* features of image + mirror image, see vi__net_set_mirror */
    explicit vi__net(const Weights &W) : net(W), feature_dim(0) {}
};

/* Every entry point's body runs inside this: C++ exceptions become a status and a message.
 * `bad` is the status for ModelError (creation); ArgError is always VI_E_INVALID_ARG. */
template <typename F> static vi_status guarded(const char *what, vi_status bad, F &&body) {
    return vi_shim::guarded("backbone: ", what, bad, std::forward<F>(body));
}

extern "C" {

vi_status vi__net_create(const vi__named_f32 *tensors, int32_t n_tensors, vi__net **out) {
    if (!out) {
        return vi__fail(VI_E_INVALID_ARG, "backbone: creating the network: out is NULL");
    }
    *out = nullptr;
    if (!tensors && n_tensors != 0) {
        return vi__fail(VI_E_INVALID_ARG, "backbone: creating the network: tensors is NULL");
    }
    return guarded("creating the network", VI_E_BAD_MODEL, [&]() -> vi_status {
        c10::InferenceMode guard;
        Weights W(tensors, n_tensors);
        void *mem = vi__malloc(sizeof(vi__net));
        if (!mem) {
            return vi__fail(VI_E_NOMEM, "backbone: out of memory creating the network");
        }
        vi__net *net = nullptr;
        try {
            net = new (mem) vi__net(W);
            int32_t dim = 0;
            for (const FeatureLayer &f : kFeatureLayers) {
                const int64_t c = net->net.channels(f.layer);
                if (c != f.channels) {
                    throw std::logic_error(std::string("feature layer '") + f.layer + "' has " +
                                           std::to_string(c) + " channels, the table says " +
                                           std::to_string(f.channels));
                }
                dim += static_cast<int32_t>(c);
            }
            net->feature_dim = dim;
        } catch (...) {
            if (net) {
                net->~vi__net();
            }
            vi__free(mem);
            throw;
        }
        *out = net;
        return VI_OK;
    });
}

void vi__net_free(vi__net *net) {
    if (!net) {
        return;
    }
    try {
        net->~vi__net();
    } catch (...) {
        /* tensor destructors do not throw; nothing to report from a free */
    }
    vi__free(net);
}

int32_t vi__net_feature_dim(const vi__net *net) {
    return net ? net->feature_dim : 0;
}

vi_status vi__net_features(const vi__net *net, const uint8_t *rgb, int32_t n, int32_t size,
                           float *features) {
    if (!net || (!rgb && n > 0) || (!features && n > 0) || n < 0) {
        return vi__fail(VI_E_INVALID_ARG, "backbone: features: NULL argument or negative count");
    }
    if (size < kMinSize || size > kMaxSize) {
        return vi__fail(VI_E_INVALID_ARG, "backbone: features: image side %d not in %d..%d",
                        (int)size, (int)kMinSize, (int)kMaxSize);
    }
    return guarded("computing frame features", VI_E_INTERNAL, [&]() -> vi_status {
        c10::InferenceMode guard;
        std::vector<std::string> names;
        for (const FeatureLayer &f : kFeatureLayers) {
            names.emplace_back(f.layer);
        }
        const float part_scale = static_cast<float>(1.0 / std::sqrt((double)kNumFeatureLayers));
        const size_t image_bytes = (size_t)size * size * 3;
        const int64_t fit = kBatchPixels / ((int64_t)size * size);
        const int64_t per_image = net->mirror_average ? 2 : 1; /* passes per image */
        const int32_t per_pass =
            static_cast<int32_t>(std::clamp<int64_t>(fit / per_image, 1, kMaxBatch));
        for (int32_t i0 = 0; i0 < n; i0 += per_pass) {
            const int32_t nb = n - i0 < per_pass ? n - i0 : per_pass;
            Capture cap(names);
            at::Tensor x = preprocess(rgb + image_bytes * i0, nb, size);
            if (net->mirror_average) { /* one pass over the images and their mirror images */
                x = at::cat({x, x.flip({3})}, 0).contiguous(at::MemoryFormat::ChannelsLast);
            }
            net->net.forward(x, cap);
            std::vector<at::Tensor> parts;
            for (const auto &name : names) {
                parts.push_back(gem_l2(cap.at_name(name)));
            }
            at::Tensor f = at::cat(parts, 1) * part_scale;
            if (net->mirror_average) {
                f = f.narrow(0, 0, nb) + f.narrow(0, nb, nb);
                f = f / f.norm(2, {1}, true).clamp_min(1e-12);
            }
            f = f.contiguous();
            if (f.size(1) != net->feature_dim) {
                throw std::logic_error("feature has " + std::to_string(f.size(1)) +
                                       " dims, expected " + std::to_string(net->feature_dim));
            }
            std::memcpy(features + (size_t)i0 * net->feature_dim, f.data_ptr<float>(),
                        sizeof(float) * f.numel());
        }
        return VI_OK;
    });
}

void vi__net_set_mirror(vi__net *net, int on) {
    if (net) {
        net->mirror_average = on != 0;
    }
}

vi_status vi__net_activation(const vi__net *net, const float *input_nhwc, int32_t n, int32_t h,
                             int32_t w, const char *layer, float *out, int64_t cap,
                             int64_t *count, int64_t shape[4]) {
    if (count) {
        *count = 0;
    }
    if (!net || !input_nhwc || !layer || !count || !shape || (!out && cap > 0) || n <= 0) {
        return vi__fail(VI_E_INVALID_ARG, "backbone: activation: NULL argument or empty batch");
    }
    if (h < kMinSize || w < kMinSize || h > kMaxSize || w > kMaxSize) {
        return vi__fail(VI_E_INVALID_ARG, "backbone: activation: input %dx%d not in %d..%d",
                        (int)h, (int)w, (int)kMinSize, (int)kMaxSize);
    }
    return guarded("activation", VI_E_INTERNAL, [&]() -> vi_status {
        if (!net->net.has_layer(layer)) {
            std::string known;
            for (const auto &s : net->net.layer_names()) {
                known += (known.empty() ? "" : ", ") + s;
            }
            throw ArgError(std::string("no layer '") + layer +
                           "' (convolutions are folded with their batch-norm layer, ask for "
                           "the *_BN name instead); layers: " + known);
        }
        c10::InferenceMode guard;
        at::Tensor x = at::from_blob(const_cast<float *>(input_nhwc), {n, h, w, 3}, at::kFloat)
                           .permute({0, 3, 1, 2})
                           .contiguous(at::MemoryFormat::ChannelsLast);
        Capture c({layer});
        net->net.forward(x, c);
        at::Tensor a = c.at_name(layer).permute({0, 2, 3, 1}).contiguous(); /* back to NHWC */
        for (int i = 0; i < 4; i++) {
            shape[i] = a.size(i);
        }
        *count = a.numel();
        if (a.numel() > cap) {
            throw ArgError("layer '" + std::string(layer) + "' has " +
                           std::to_string(a.numel()) + " values, the buffer holds " +
                           std::to_string(cap));
        }
        std::memcpy(out, a.data_ptr<float>(), sizeof(float) * a.numel());
        return VI_OK;
    });
}

vi_status vi__torch_set_threads(int32_t n) {
    if (n < 0) {
        return vi__fail(VI_E_INVALID_ARG, "backbone: thread count %d is negative", (int)n);
    }
    return guarded("setting the thread count", VI_E_INTERNAL, [&]() -> vi_status {
        if (n > 0) {
            at::set_num_threads(n);
        }
        return VI_OK;
    });
}

} // extern "C"
