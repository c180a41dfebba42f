/* The MobileNetV2 backbone, defined once (backbone_net.cpp) for its two modes: inference
 * (backbone.cpp: every convolution frozen, no autograd) and training (lib/train/finetune_net.cpp:
 * the last units trainable, the rest frozen). C++ only: nothing here crosses the C boundary,
 * which is backbone.h for inference and lib/train/finetune_net.h for training.
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
 *   [-1, 1] of the ImageNet MobileNetV2). */
#ifndef VI_BACKBONE_NET_HPP
#define VI_BACKBONE_NET_HPP

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../common/common.h"

namespace vi_backbone {

/* Units, counted from the input: 0 the stem "Conv1", 1..17 the inverted-residual blocks
 * ("expanded_conv", "block_1" .. "block_16"), 18 the final 1x1 convolution "Conv_1". Training
 * makes the last N of them trainable. */
constexpr int kUnits = 19;
constexpr int32_t kMinSize = 32; /* the total stride; smaller inputs vanish */
constexpr int32_t kMaxSize = 1024;
constexpr double kBnEps = 1e-3; /* Keras BatchNormalization epsilon of every layer */

/* The weights of a model file's backbone part, by name (borrowed for the construction). */
class Weights {
  public:
    Weights(const vi__named_f32 *t, int32_t n);
    /* A copy of tensor `name` (Keras layout), which must have exactly `dims`; ModelError if it
     * is missing, misshapen or not finite. */
    at::Tensor get(const std::string &name, const std::vector<int64_t> &dims) const;

  private:
    std::map<std::string, const vi__named_f32 *> by_name_;
};

/* A convolution with its batch-norm folded in: weight in torch layout [out, in/groups, k, k],
 * bias per output. A trainable one keeps the original batch-norm (float64) so that training can
 * write the model file's Keras tensors back (lib/train/finetune_net.cpp). */
struct Conv {
    std::string conv_name, bn_name; /* model-file layer names */
    bool depthwise = false;
    int64_t groups = 1;
    int unit = 0;
    bool train = false;
    at::Tensor w, b;
    at::Tensor gamma, beta, mean, var; /* trainable convolutions only */
};

/* Which activations a forward pass should keep, by Keras layer name. */
class Capture {
  public:
    explicit Capture(std::vector<std::string> names) : names_(std::move(names)) {}
    /* Record `x` if it is wanted; true once everything wanted has been recorded, so that the
     * pass can stop early. The copy keeps later in-place ops from changing it. */
    bool offer(const std::string &name, const at::Tensor &x);
    const at::Tensor &at_name(const std::string &n) const { return got_.at(n); }
    bool has(const std::string &n) const { return got_.count(n) > 0; }

  private:
    std::vector<std::string> names_;
    std::map<std::string, at::Tensor> got_;
};

class Net {
  public:
    /* Build from the weights; the last `trainable_units` units (0: none) get parameters that
     * require gradients. Checks the feature table against the network. */
    Net(const Weights &W, int trainable_units);

    /* Run on `x` (N x 3 x H x W float, preprocessed) until every activation `cap` wants is
     * recorded. Names follow the Keras layers; a BatchNormalization layer's name stands for its
     * convolution's output since the two are folded into one. With autograd on, the graph is
     * recorded through the trainable units only. */
    void forward(at::Tensor x, Capture &cap) const;
    /* The frame feature of preprocessed `x`: each feature layer GeM-pooled over space and
     * L2-normalised, the parts concatenated and scaled to unit length (N x feature_dim()). */
    at::Tensor features(const at::Tensor &x) const;
    int64_t feature_dim() const { return feature_dim_; }

    bool has_layer(const std::string &name) const;
    const std::vector<std::string> &layer_names() const { return names_; }
    std::vector<Conv> &convs() { return convs_; }
    const std::vector<Conv> &convs() const { return convs_; }

  private:
    struct Block {
        std::string prefix;   /* "expanded_conv_" or "block_N_" */
        std::string add_name; /* "block_N_add" when residual, else empty */
        bool expand = false;
        int stride = 1;
        int unit = 0;
        int expand_i = -1, dw_i = -1, proj_i = -1; /* indices into convs_ */
    };
    int add_conv(const Weights &W, const std::string &conv, const std::string &bn, int64_t k,
                 int64_t cin, int64_t cout, bool depthwise, int unit);
    int64_t channels(const std::string &layer) const;
    at::Tensor run(const at::Tensor &x, const Conv &c, int64_t stride, int64_t pad) const;

    int first_trainable_unit_ = kUnits;
    std::vector<Conv> convs_;
    int stem_i_ = -1, head_i_ = -1;
    std::vector<Block> blocks_;
    std::vector<std::string> names_;
    int64_t feature_dim_ = 0;
};

/* uint8 RGB NHWC -> float in [0, 1] (N x 3 x H x W, channels-last in memory), exactly nsfwjs'
 * img.toFloat().div(255). */
at::Tensor preprocess(const uint8_t *rgb, int64_t n, int64_t size);

} // namespace vi_backbone

#endif
