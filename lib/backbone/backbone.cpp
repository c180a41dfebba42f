/* The backbone in inference mode: the extern "C" entry points of backbone.h around the frozen
 * network of backbone_net.cpp (every convolution through oneDNN, under InferenceMode), with
 * batching and mirror averaging. No C++ exception leaves this file. */
#include "backbone.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "backbone_guard.hpp"
#include "backbone_net.hpp"

namespace {

using vi_backbone::kMaxSize;
using vi_backbone::kMinSize;
using vi_torch::ArgError;

/* Images per forward pass in vi__net_features, at 224 x 224 (fewer for larger images, in
 * proportion to their area): bounds the memory a call takes, the largest activation being
 * 96 x 112 x 112 floats = 4.8 MB per image at 224. Larger batches do not run faster per frame
 * (docs/backbone.md). */
const int32_t kMaxBatch = 16;
const int64_t kBatchPixels = (int64_t)kMaxBatch * 224 * 224;

/* Every entry point's body runs inside this: C++ exceptions become a status and a message.
 * `bad` is the status for ModelError (creation); ArgError is always VI_E_INVALID_ARG. */
template <typename F> vi_status guarded(const char *what, vi_status bad, F &&body) {
    return vi_torch::guarded("backbone: ", what, bad, std::forward<F>(body));
}

} // namespace

struct vi__net {
    vi_backbone::Net net;
    bool mirror_average = false; /* features of image + mirror image, see vi__net_set_mirror */
    explicit vi__net(const vi_backbone::Weights &W) : net(W, 0) {}
};

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
        vi_backbone::Weights W(tensors, n_tensors);
        void *mem = vi__malloc(sizeof(vi__net));
        if (!mem) {
            return vi__fail(VI_E_NOMEM, "backbone: out of memory creating the network");
        }
        try {
            *out = new (mem) vi__net(W);
        } catch (...) {
            vi__free(mem);
            throw;
        }
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
    return net ? static_cast<int32_t>(net->net.feature_dim()) : 0;
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
        const int64_t dim = net->net.feature_dim();
        const size_t image_bytes = (size_t)size * size * 3;
        const int64_t fit = kBatchPixels / ((int64_t)size * size);
        const int64_t per_image = net->mirror_average ? 2 : 1; /* passes per image */
        const int32_t per_pass =
            static_cast<int32_t>(std::clamp<int64_t>(fit / per_image, 1, kMaxBatch));
        for (int32_t i0 = 0; i0 < n; i0 += per_pass) {
            const int32_t nb = n - i0 < per_pass ? n - i0 : per_pass;
            at::Tensor x = vi_backbone::preprocess(rgb + image_bytes * i0, nb, size);
            if (net->mirror_average) { /* one pass over the images and their mirror images */
                x = at::cat({x, x.flip({3})}, 0).contiguous(at::MemoryFormat::ChannelsLast);
            }
            at::Tensor f = net->net.features(x);
            if (net->mirror_average) {
                f = f.narrow(0, 0, nb) + f.narrow(0, nb, nb);
                f = f / f.norm(2, {1}, true).clamp_min(1e-12);
            }
            f = f.contiguous();
            if (f.size(1) != dim) {
                throw std::logic_error("feature has " + std::to_string(f.size(1)) +
                                       " dims, expected " + std::to_string(dim));
            }
            std::memcpy(features + (size_t)i0 * dim, f.data_ptr<float>(),
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
        vi_backbone::Capture c({layer});
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

vi_status vi__torch_warn(const char *msg) {
    return guarded("warning", VI_E_INTERNAL, [&]() -> vi_status {
        TORCH_WARN(msg ? msg : "");
        return VI_OK;
    });
}

} // extern "C"
