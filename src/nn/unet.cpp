#include "lola/nn/unet.h"

#include <algorithm>

#include "lola/core/error.h"
#include "lola/core/shape.h"
#include "lola/nn/dropout.h"

namespace lola::nn {

namespace {

using core::shape_str;

torch::Tensor run_blocks(torch::nn::ModuleList& levels, size_t level, torch::Tensor x, const torch::Tensor& emb) {
    for (const auto& block : *levels->ptr<torch::nn::ModuleListImpl>(level)) {
        x = block->as<UNetBlockImpl>()->forward(x, emb);
    }
    return x;
}

} // namespace

// ==== strided convolution ============================================================================================

StridedConvImpl::StridedConvImpl(int64_t in_channels_, int64_t out_channels_, std::vector<int64_t> stride_,
                                 int64_t kernel_size_, bool circular_, bool identity_init_)
    : in_channels(in_channels_),
      out_channels(out_channels_),
      kernel_size(kernel_size_),
      stride(std::move(stride_)),
      circular(circular_),
      identity_init(identity_init_) {
    reset();
}

void StridedConvImpl::reset() {
    const int64_t n = static_cast<int64_t>(stride.size());
    LOLA_CHECK(n == 2 || n == 3, "StridedConv: 2 or 3 axes, got a stride of {} entries", n);
    LOLA_CHECK(kernel_size >= 1 && kernel_size % 2 == 1, "StridedConv: kernel_size {} must be odd", kernel_size);
    std::vector<int64_t> shape{out_channels, in_channels};
    shape.insert(shape.end(), static_cast<size_t>(n), kernel_size);
    const auto opts = torch::TensorOptions().device(parameter_device());
    weight = register_parameter("weight", torch::empty(shape, opts));
    bias = register_parameter("bias", torch::empty({out_channels}, opts));
    int64_t fan_in = in_channels;
    for (int64_t d = 0; d < n; ++d) {
        fan_in *= kernel_size;
    }
    default_init_(weight, bias, fan_in);
    if (identity_init) {
        near_identity_(weight);
    }
}

void StridedConvImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::StridedConv(" << in_channels << ", " << out_channels << ", stride=("
           << fmt::format("{}", fmt::join(stride, ", ")) << "), kernel_size=" << kernel_size
           << (circular ? ", circular" : "") << (identity_init ? ", identity_init" : "") << ")";
}

torch::Tensor StridedConvImpl::forward(const torch::Tensor& x) {
    const int64_t n = static_cast<int64_t>(stride.size()), p = kernel_size / 2;
    LOLA_CHECK(x.dim() == n + 2 && x.size(1) == in_channels, "StridedConv: expected (B, {}, {} axes), got {}",
               in_channels, n, shape_str(x));
    torch::Tensor input = x;
    int64_t padding = p;
    if (circular && p > 0) {
        input = at::pad(x, std::vector<int64_t>(static_cast<size_t>(2 * n), p), "circular");
        padding = 0;
    }
    const std::vector<int64_t> pad(static_cast<size_t>(n), padding);
    if (n == 2) {
        return at::conv2d(input, weight, bias, stride, pad);
    }
    return at::conv3d(input, weight, bias, stride, pad);
}

// ==== block ==========================================================================================================

UNetBlockImpl::UNetBlockImpl(int64_t channels_, int64_t spatial_, int64_t mod_features_, int64_t heads_,
                             int64_t ffn_factor_, int64_t kernel_size_, double dropout_, bool circular_)
    : channels(channels_),
      spatial(spatial_),
      mod_features(mod_features_),
      heads(heads_),
      ffn_factor(ffn_factor_),
      kernel_size(kernel_size_),
      dropout(dropout_),
      circular(circular_) {
    reset();
}

void UNetBlockImpl::reset() {
    if (mod_features > 0) {
        mod_in = register_module("mod_in", Linear(mod_features, mod_features));
        mod_out = register_module("mod_out", Linear(mod_features, 3 * channels));
        torch::NoGradGuard no_grad;
        mod_out->weight.mul_(0.01);
    } else {
        modulation = register_parameter(
            "modulation", torch::empty({3 * channels}, torch::TensorOptions().device(parameter_device())));
        torch::NoGradGuard no_grad;
        modulation.normal_().mul_(0.01);
    }
    if (heads > 0) {
        attn = register_module("attn", MultiheadSelfAttention(channels, heads));
    }
    const int64_t k = heads > 0 ? 1 : kernel_size;
    conv1 = register_module(
        "conv1", Conv(ConvOptions(channels, ffn_factor * channels, spatial).kernel_size(k).circular(circular)));
    conv2 = register_module(
        "conv2", Conv(ConvOptions(ffn_factor * channels, channels, spatial).kernel_size(k).circular(circular)));
}

void UNetBlockImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::UNetBlock(channels=" << channels << ", mod_features=" << mod_features << ", heads=" << heads
           << ", ffn_factor=" << ffn_factor << ")";
}

torch::Tensor UNetBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb) {
    torch::Tensor m = mod_features > 0 ? mod_out(at::silu(mod_in(emb))) : modulation;
    if (m.dim() == 1) {
        m = m.unsqueeze(0);
    }
    std::vector<int64_t> shape{m.size(0), channels};
    shape.insert(shape.end(), static_cast<size_t>(spatial), 1);
    auto abc = m.chunk(3, -1);
    torch::Tensor a = abc[0].reshape(shape), b = abc[1].reshape(shape), c = abc[2].reshape(shape);
    torch::Tensor h = (1 + a) * channel_layer_norm(x) + b;
    if (heads > 0) {
        h = h + attn(h);
    }
    h = conv2(nn::dropout(at::silu(conv1(h)), dropout, is_training()));
    return (x + c * h) * at::rsqrt(1 + c * c);
}

// ==== backbone =======================================================================================================

UNet::UNet(const BackboneOptions& opts, int64_t in_channels, int64_t out_channels, int64_t cond_channels,
           int64_t spatial_axes, int64_t mod_features)
    : Backbone(in_channels, out_channels, cond_channels, spatial_axes, mod_features), options(opts) {
    options.validate(options.name);
    LOLA_CHECK_USAGE(spatial_axes == 2 || spatial_axes == 3,
                     "{}: the U-Net supports 2 or 3 axes (time included), got {}; LibTorch has no 4-D convolution, "
                     "use arch: vit for 3-D data",
                     options.name, spatial_axes);
    stride = options.stride_for(spatial_axes);
    const auto& h = options.unet_channels;
    const size_t levels = h.size();
    const bool circ = options.periodic;
    const int64_t k = options.kernel_size;
    auto is_attention = [&](size_t level) {
        const auto& al = options.unet_attention_levels;
        return std::find(al.begin(), al.end(), static_cast<int64_t>(level)) != al.end();
    };
    auto make_level = [&](size_t level) {
        torch::nn::ModuleList list;
        for (int64_t j = 0; j < options.unet_blocks[level]; ++j) {
            list->push_back(UNetBlock(h[level], spatial_axes, mod_features,
                                      is_attention(level) ? options.attention_heads : 0, options.ffn_factor, k,
                                      options.dropout, circ));
        }
        return list;
    };
    conv_in = register_module(
        "conv_in",
        Conv(
            ConvOptions(in_channels + spatial_axes + cond_channels, h[0], spatial_axes).kernel_size(k).circular(circ)));
    down = register_module("down", torch::nn::ModuleList());
    descent = register_module("descent", torch::nn::ModuleList());
    merge = register_module("merge", torch::nn::ModuleList());
    ascent = register_module("ascent", torch::nn::ModuleList());
    for (size_t i = 0; i < levels; ++i) {
        if (i > 0) {
            down->push_back(StridedConv(h[i - 1], h[i], stride, k, circ, /*identity_init=*/true));
        }
        descent->push_back(make_level(i));
    }
    for (size_t i = 0; i < levels; ++i) {
        if (i + 1 < levels) {
            merge->push_back(Conv(
                ConvOptions(h[i + 1] + h[i], h[i], spatial_axes).kernel_size(k).circular(circ).identity_init(true)));
        }
        ascent->push_back(make_level(i));
    }
    conv_out =
        register_module("conv_out", Conv(ConvOptions(h[0], out_channels, spatial_axes).kernel_size(k).circular(circ)));
}

void UNet::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::UNet(" << options.name << ", in=" << in_channels_ << ", cond=" << cond_channels_
           << ", out=" << out_channels_ << ", axes=" << spatial_axes_ << ", channels=("
           << fmt::format("{}", fmt::join(options.unet_channels, ", ")) << "))";
}

torch::Tensor UNet::forward(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& cond) {
    check_inputs(x, emb, cond);
    const int64_t b = x.size(0);
    std::vector<torch::Tensor> inputs{x};
    for (int64_t k = 0; k < spatial_axes_; ++k) { // coordinate channels linspace(-1, 1) along each axis
        std::vector<int64_t> view(static_cast<size_t>(spatial_axes_ + 2), 1);
        view[static_cast<size_t>(2 + k)] = x.size(2 + k);
        std::vector<int64_t> full{b, 1};
        full.insert(full.end(), x.sizes().begin() + 2, x.sizes().end());
        inputs.push_back(torch::linspace(-1.0, 1.0, x.size(2 + k), x.options()).view(view).expand(full));
    }
    if (cond_channels_ > 0) {
        inputs.push_back(cond.to(x.dtype()));
    }
    torch::Tensor hx = conv_in(torch::cat(inputs, 1));

    const size_t levels = options.unet_channels.size();
    std::vector<torch::Tensor> skips;
    for (size_t i = 0; i < levels; ++i) {
        if (i > 0) {
            hx = down[i - 1]->as<StridedConvImpl>()->forward(hx);
        }
        hx = run_blocks(descent, i, hx, emb);
        skips.push_back(hx);
    }
    for (size_t i = levels; i-- > 0;) {
        torch::Tensor skip = skips.back();
        skips.pop_back();
        if (i + 1 < levels) {
            for (int64_t k = 0; k < spatial_axes_; ++k) { // crop to the skip's shape
                hx = hx.narrow(2 + k, 0, skip.size(2 + k));
            }
            hx = merge[i]->as<ConvImpl>()->forward(torch::cat({hx, skip}, 1));
        }
        hx = run_blocks(ascent, i, hx, emb);
        if (i > 0) {
            for (int64_t k = 0; k < spatial_axes_; ++k) { // nearest-neighbour upsampling by the stride
                const int64_t s = stride[static_cast<size_t>(k)];
                if (s > 1) {
                    hx = hx.repeat_interleave(s, 2 + k);
                }
            }
        } else {
            hx = conv_out(hx);
        }
    }
    return hx;
}

} // namespace lola::nn
