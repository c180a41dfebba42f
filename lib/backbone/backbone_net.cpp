/* The MobileNetV2 backbone (see backbone_net.hpp): its architecture, the frame feature, and one
 * forward pass for both modes. In inference every convolution is frozen and runs through oneDNN,
 * activations are changed in place; in training the graph is recorded through the trainable
 * units only (the frozen ones run as at inference, without a graph) and nothing that autograd
 * needs is changed in place. Both modes compute the same values. */
#include "backbone_net.hpp"

#include <ATen/Config.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "backbone_guard.hpp"

namespace vi_backbone {

namespace {

/* ---------------------------------------------------------------------------------------------
 * The frame feature: which layers are pooled. Each entry is GeM-pooled over space, the pooled
 * vector L2-normalised, and the parts concatenated and scaled by 1 / sqrt(number of parts), so
 * the feature has unit length. Change the feature here (and nowhere else).
 */
struct FeatureLayer {
    const char *layer; /* Keras layer name, see Net::forward */
    int64_t channels;  /* its width, checked at creation */
};
const FeatureLayer kFeatureLayers[] = {
    {"out_relu", 1280},            /* the last conv layer, stride 32 (7 x 7 at 224) */
    {"block_13_expand_relu", 576}, /* mid-level, stride 16 (14 x 14 at 224) */
};
const int kNumFeatureLayers = sizeof kFeatureLayers / sizeof kFeatureLayers[0];
const double kGemP = 3.0;    /* GeM exponent: (mean x^p)^(1/p) */
const double kGemEps = 1e-6; /* activations are clamped to at least this before the power */

/* Inverted-residual settings of MobileNetV2 (alpha 1.0): expansion t, output channels c,
 * repeats n, stride of the first repeat s. Block 0 is Keras' "expanded_conv", the others
 * "block_1" .. "block_16". */
const int kSettings[7][4] = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};

using vi_torch::ModelError;

std::string dims_str(const std::vector<int64_t> &d) {
    std::string s = "[";
    for (size_t i = 0; i < d.size(); i++) {
        s += (i ? "," : "") + std::to_string(d[i]);
    }
    return s + "]";
}

/* Keras' ZeroPadding2D(((0, 1), (0, 1))) before each stride-2 convolution: one row of zeros at
 * the bottom, one column at the right. Written out by hand because constant_pad_nd fills the
 * whole output and returns it in NCHW order, which costs two extra passes over the tensor
 * (autograd follows the copy into the view when `x` carries a graph). */
at::Tensor pad_bottom_right(const at::Tensor &x) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    at::Tensor y = at::empty({n, c, h + 1, w + 1},
                             x.options().memory_format(at::MemoryFormat::ChannelsLast));
    y.narrow(2, h, 1).zero_();
    y.narrow(3, w, 1).zero_();
    y.narrow(2, 0, h).narrow(3, 0, w).copy_(x);
    return y;
}

/* ReLU6: in place when no graph is recorded, else as a new tensor. */
at::Tensor relu6(at::Tensor &x, bool graph) {
    return graph ? at::hardtanh(x, 0.0, 6.0) : x.clamp_(0.0, 6.0);
}

/* GeM over space of N x C x H x W -> N x C, then L2-normalised per row. */
at::Tensor gem_l2(const at::Tensor &x) {
    at::Tensor g = x.requires_grad()
                       ? x.clamp_min(kGemEps).pow(kGemP).mean({2, 3}).pow(1.0 / kGemP)
                       : x.clamp_min(kGemEps).pow_(kGemP).mean({2, 3}).pow_(1.0 / kGemP);
    return g / g.norm(2, {1}, true).clamp_min(1e-12);
}

} // namespace

Weights::Weights(const vi__named_f32 *t, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        if (t[i].name) {
            by_name_[t[i].name] = &t[i];
        }
    }
}

at::Tensor Weights::get(const std::string &name, const std::vector<int64_t> &dims) const {
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

bool Capture::offer(const std::string &name, const at::Tensor &x) {
    for (const auto &n : names_) {
        if (n == name && !got_.count(name)) {
            got_[name] = x.clone();
        }
    }
    return got_.size() == names_.size();
}

/* Keras Conv2D kernel [kh, kw, in, out] -> torch [out, in, kh, kw]; DepthwiseConv2D kernel
 * [kh, kw, C, 1] -> torch [C, 1, kh, kw] with groups = C. Batch-norm folded in float64. */
int Net::add_conv(const Weights &W, const std::string &conv, const std::string &bn, int64_t k,
                  int64_t cin, int64_t cout, bool depthwise, int unit) {
    Conv c;
    c.conv_name = conv;
    c.bn_name = bn;
    c.depthwise = depthwise;
    c.unit = unit;
    c.train = unit >= first_trainable_unit_;
    at::Tensor w;
    if (depthwise) {
        w = W.get(conv + "/depthwise_kernel", {3, 3, cout, 1}).permute({2, 3, 0, 1});
        c.groups = cout;
    } else {
        w = W.get(conv + "/kernel", {k, k, cin, cout}).permute({3, 2, 0, 1});
    }
    at::Tensor gamma = W.get(bn + "/gamma", {cout}).to(at::kDouble);
    at::Tensor beta = W.get(bn + "/beta", {cout}).to(at::kDouble);
    at::Tensor mean = W.get(bn + "/moving_mean", {cout}).to(at::kDouble);
    at::Tensor var = W.get(bn + "/moving_variance", {cout}).to(at::kDouble);
    if ((var < 0).any().item<bool>()) {
        throw ModelError("tensor '" + bn + "/moving_variance' has negative values");
    }
    at::Tensor scale = gamma / at::sqrt(var + kBnEps);
    c.w = (w.to(at::kDouble) * scale.view({cout, 1, 1, 1}))
              .to(at::kFloat)
              .contiguous(at::MemoryFormat::ChannelsLast);
    c.b = (beta - mean * scale).to(at::kFloat).contiguous();
    if (c.train) {
        c.w.requires_grad_(true);
        c.b.requires_grad_(true);
        c.gamma = gamma;
        c.beta = beta;
        c.mean = mean;
        c.var = var;
    }
    convs_.push_back(std::move(c));
    return (int)convs_.size() - 1;
}

Net::Net(const Weights &W, int trainable_units) {
    first_trainable_unit_ = kUnits - trainable_units;
    stem_i_ = add_conv(W, "Conv1", "bn_Conv1", 3, 3, 32, false, 0);
    names_ = {"input_1", "Conv1_pad", "bn_Conv1", "Conv1_relu"};
    int64_t cin = 32;
    int index = 0;
    for (const auto &st : kSettings) {
        for (int r = 0; r < st[2]; r++) {
            Block b;
            b.prefix = index == 0 ? "expanded_conv_" : "block_" + std::to_string(index) + "_";
            b.stride = r == 0 ? st[3] : 1;
            b.expand = st[0] != 1;
            b.unit = index + 1;
            const int64_t hidden = cin * st[0], cout = st[1];
            const std::string &p = b.prefix;
            if (b.expand) {
                b.expand_i = add_conv(W, p + "expand", p + "expand_BN", 1, cin, hidden, false,
                                      b.unit);
                names_.push_back(p + "expand_BN");
                names_.push_back(p + "expand_relu");
            }
            if (b.stride == 2) {
                names_.push_back(p + "pad");
            }
            b.dw_i = add_conv(W, p + "depthwise", p + "depthwise_BN", 3, hidden, hidden, true,
                              b.unit);
            b.proj_i = add_conv(W, p + "project", p + "project_BN", 1, hidden, cout, false,
                                b.unit);
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
    head_i_ = add_conv(W, "Conv_1", "Conv_1_bn", 1, cin, 1280, false, kUnits - 1);
    names_.push_back("Conv_1_bn");
    names_.push_back("out_relu");
    for (const FeatureLayer &f : kFeatureLayers) {
        const int64_t c = channels(f.layer);
        if (c != f.channels) {
            throw std::logic_error(std::string("feature layer '") + f.layer + "' has " +
                                   std::to_string(c) + " channels, the table says " +
                                   std::to_string(f.channels));
        }
        feature_dim_ += c;
    }
}

bool Net::has_layer(const std::string &name) const {
    for (const auto &n : names_) {
        if (n == name) {
            return true;
        }
    }
    return false;
}

/* Width of the output of `layer`, by a dry run on a tiny input; used to check the feature
 * table against the network. */
int64_t Net::channels(const std::string &layer) const {
    c10::NoGradGuard no_graph;
    Capture cap({layer});
    forward(at::zeros({1, 3, kMinSize, kMinSize}, at::kFloat), cap);
    return cap.has(layer) ? cap.at_name(layer).size(1) : -1;
}

/* One convolution. Activations are kept channels-last (NHWC in memory): with Debian's libtorch
 * (oneDNN, no MKL, the reference BLAS) at::conv2d sends batches under 16 on one thread to a
 * BLAS-based path that is 10-15 times slower than oneDNN, and oneDNN itself is only fast on
 * channels-last data. So frozen convolutions call oneDNN directly, on channels-last tensors;
 * trainable ones go through at::convolution, which records the graph (oneDNN's entry point has
 * no derivative). */
at::Tensor Net::run(const at::Tensor &x, const Conv &c, int64_t stride, int64_t pad) const {
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

void Net::forward(at::Tensor x, Capture &cap) const {
    /* a unit records a graph when autograd is on and it is trainable */
    const bool want_graph = c10::GradMode::is_enabled();
    if (cap.offer("input_1", x)) {
        return;
    }
    {
        const bool g = want_graph && convs_[stem_i_].train;
        c10::AutoGradMode mode(g);
        x = pad_bottom_right(x);
        if (cap.offer("Conv1_pad", x)) {
            return;
        }
        x = run(x, convs_[stem_i_], 2, 0);
        if (cap.offer("bn_Conv1", x)) {
            return;
        }
        x = relu6(x, g);
        if (cap.offer("Conv1_relu", x)) {
            return;
        }
    }
    for (const Block &b : blocks_) {
        const bool g = want_graph && b.unit >= first_trainable_unit_;
        c10::AutoGradMode mode(g);
        const std::string &p = b.prefix;
        at::Tensor in = x;
        if (b.expand) {
            x = run(x, convs_[b.expand_i], 1, 0);
            if (cap.offer(p + "expand_BN", x)) {
                return;
            }
            x = relu6(x, g);
            if (cap.offer(p + "expand_relu", x)) {
                return;
            }
        }
        if (b.stride == 2) {
            x = pad_bottom_right(x);
            if (cap.offer(p + "pad", x)) {
                return;
            }
            x = run(x, convs_[b.dw_i], 2, 0);
        } else {
            x = run(x, convs_[b.dw_i], 1, 1); /* "same": one pixel on every side */
        }
        if (cap.offer(p + "depthwise_BN", x)) {
            return;
        }
        x = relu6(x, g);
        if (cap.offer(p + "depthwise_relu", x)) {
            return;
        }
        x = run(x, convs_[b.proj_i], 1, 0);
        if (cap.offer(p + "project_BN", x)) {
            return;
        }
        if (!b.add_name.empty()) {
            x = g ? x + in : x.add_(in);
            if (cap.offer(b.add_name, x)) {
                return;
            }
        }
    }
    const bool g = want_graph && convs_[head_i_].train;
    c10::AutoGradMode mode(g);
    x = run(x, convs_[head_i_], 1, 0);
    if (cap.offer("Conv_1_bn", x)) {
        return;
    }
    x = relu6(x, g);
    cap.offer("out_relu", x);
}

at::Tensor Net::features(const at::Tensor &x) const {
    std::vector<std::string> names;
    for (const FeatureLayer &f : kFeatureLayers) {
        names.emplace_back(f.layer);
    }
    Capture cap(names);
    forward(x, cap);
    std::vector<at::Tensor> parts;
    for (const auto &name : names) {
        parts.push_back(gem_l2(cap.at_name(name)));
    }
    const float part_scale = static_cast<float>(1.0 / std::sqrt((double)kNumFeatureLayers));
    return at::cat(parts, 1) * part_scale;
}

at::Tensor preprocess(const uint8_t *rgb, int64_t n, int64_t size) {
    at::Tensor u8 = at::from_blob(const_cast<uint8_t *>(rgb), {n, size, size, 3}, at::kByte);
    return u8.permute({0, 3, 1, 2}).to(at::kFloat).div_(255.0f).contiguous(
        at::MemoryFormat::ChannelsLast);
}

} // namespace vi_backbone
