#include "lola/nn/layers.h"

#include <ATen/TensorIndexing.h>

#include <vector>

#include "lola/core/error.h"
#include "lola/core/shape.h"
#include "lola/nn/saturation.h"

namespace lola::nn {

namespace {

thread_local torch::Device g_parameter_device(torch::kCPU);

using core::shape_str;

/// An uninitialised tensor on the parameter device with the default dtype.
torch::Tensor new_parameter(const std::vector<int64_t>& shape) {
    return torch::empty(shape, torch::TensorOptions().device(parameter_device()));
}

} // namespace

// ==== parameter device ===============================================================================================

torch::Device parameter_device() { return g_parameter_device; }

ParameterDeviceGuard::ParameterDeviceGuard(torch::Device device) : previous_(g_parameter_device) {
    g_parameter_device = device;
}

ParameterDeviceGuard::~ParameterDeviceGuard() { g_parameter_device = previous_; }

int64_t count_parameters(const torch::nn::Module& module) {
    int64_t n = 0;
    for (const auto& p : module.parameters(/*recurse=*/true)) {
        n += p.numel();
    }
    return n;
}

// ==== initialisation =================================================================================================

void default_init_(const torch::Tensor& weight, const torch::Tensor& bias, int64_t fan_in) {
    torch::NoGradGuard no_grad;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    weight.uniform_(-bound, bound);
    if (bias.defined()) {
        bias.uniform_(-bound, bound);
    }
}

void near_identity_(const torch::Tensor& weight) {
    LOLA_CHECK(weight.dim() >= 3, "near_identity_ expects a convolution weight (O, I, k...), got shape {}",
               shape_str(weight));
    for (int64_t d = 2; d < weight.dim(); ++d) {
        LOLA_CHECK(weight.size(d) % 2 == 1, "near_identity_ needs odd kernel sizes, got shape {}", shape_str(weight));
    }
    torch::NoGradGuard no_grad;
    weight.mul_(0.01);
    const int64_t n_out = weight.size(0), n_in = weight.size(1);
    torch::Tensor flat = weight.view({n_out, n_in, -1});
    // with odd sizes in every dimension the centre of the kernel is the middle of its flattened index range
    const int64_t centre = (flat.size(2) - 1) / 2;
    const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(weight.device());
    torch::Tensor o = torch::arange(n_out, long_opts);
    torch::Tensor i = torch::remainder(o, n_in);
    torch::Tensor c = torch::full({n_out}, centre, long_opts);
    using at::indexing::TensorIndex;
    std::vector<TensorIndex> index{TensorIndex(o), TensorIndex(i), TensorIndex(c)};
    flat.index_put_(index, flat.index(index) + 1.0);
}

// ==== convolution ====================================================================================================

ConvImpl::ConvImpl(const ConvOptions& options_) : options(options_) { reset(); }

void ConvImpl::reset() {
    const int64_t n = options.spatial(), k = options.kernel_size();
    LOLA_CHECK(n == 2 || n == 3, "Conv: spatial must be 2 or 3, got {}", n);
    LOLA_CHECK(k >= 1 && k % 2 == 1, "Conv: kernel_size must be odd and >= 1, got {}", k);
    LOLA_CHECK(options.in_channels() > 0 && options.out_channels() > 0, "Conv: channels must be > 0, got {} -> {}",
               options.in_channels(), options.out_channels());
    std::vector<int64_t> shape{options.out_channels(), options.in_channels()};
    shape.insert(shape.end(), static_cast<size_t>(n), k);
    weight = register_parameter("weight", new_parameter(shape));
    if (options.bias()) {
        bias = register_parameter("bias", new_parameter({options.out_channels()}));
    } else {
        bias = torch::Tensor();
    }
    int64_t fan_in = options.in_channels();
    for (int64_t d = 0; d < n; ++d) {
        fan_in *= k;
    }
    default_init_(weight, bias, fan_in);
    if (options.identity_init()) {
        near_identity_(weight);
    }
}

void ConvImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::Conv(" << options.in_channels() << ", " << options.out_channels()
           << ", spatial=" << options.spatial() << ", kernel_size=" << options.kernel_size()
           << (options.circular() ? ", circular" : "") << (options.identity_init() ? ", identity_init" : "")
           << (options.bias() ? "" : ", bias=false") << ")";
}

torch::Tensor ConvImpl::forward(const torch::Tensor& x) {
    const int64_t n = options.spatial();
    LOLA_CHECK(x.dim() == n + 2 && x.size(1) == options.in_channels(),
               "Conv: expected input (B, {}, {} spatial dims), got shape {}", options.in_channels(), n, shape_str(x));
    const int64_t p = options.kernel_size() / 2;
    torch::Tensor input = x;
    int64_t padding = p;
    if (options.circular() && p > 0) {
        input = at::pad(x, std::vector<int64_t>(static_cast<size_t>(2 * n), p), "circular");
        padding = 0;
    }
    if (n == 2) {
        return at::conv2d(input, weight, bias, /*stride=*/1, padding);
    }
    return at::conv3d(input, weight, bias, /*stride=*/1, padding);
}

// ==== linear =========================================================================================================

LinearImpl::LinearImpl(int64_t in_features_, int64_t out_features_, bool with_bias_)
    : in_features(in_features_), out_features(out_features_), with_bias(with_bias_) {
    reset();
}

void LinearImpl::reset() {
    LOLA_CHECK(in_features > 0 && out_features > 0, "Linear: features must be > 0, got {} -> {}", in_features,
               out_features);
    weight = register_parameter("weight", new_parameter({out_features, in_features}));
    if (with_bias) {
        bias = register_parameter("bias", new_parameter({out_features}));
    } else {
        bias = torch::Tensor();
    }
    default_init_(weight, bias, in_features);
}

void LinearImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::Linear(" << in_features << ", " << out_features << (with_bias ? "" : ", bias=false") << ")";
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) { return at::linear(x, weight, bias); }

// ==== normalisation ==================================================================================================

torch::Tensor channel_layer_norm(const torch::Tensor& x, double eps) {
    LOLA_CHECK(x.dim() >= 2 && x.size(1) >= 2, "channel_layer_norm expects (B, C >= 2, ...), got shape {}",
               shape_str(x));
    auto [var, mean] = at::var_mean(x, /*dim=*/{1}, /*unbiased=*/true, /*keepdim=*/true);
    return (x - mean) / at::sqrt(var + eps);
}

void ChannelLayerNormImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::ChannelLayerNorm(eps=" << eps << ", unbiased)";
}

// ==== space-to-depth =================================================================================================

torch::Tensor space_to_depth(const torch::Tensor& x, int64_t factor) {
    LOLA_CHECK(x.dim() >= 3 && factor >= 1, "space_to_depth expects (B, C, S...) and factor >= 1, got {} and {}",
               shape_str(x), factor);
    const int64_t n = x.dim() - 2;
    std::vector<int64_t> split{x.size(0), x.size(1)}, perm{0, 1}, out{x.size(0), x.size(1)};
    for (int64_t k = 0; k < n; ++k) {
        const int64_t s = x.size(2 + k);
        LOLA_CHECK(s % factor == 0, "space_to_depth: spatial size {} of input {} is not divisible by {}", s,
                   shape_str(x), factor);
        split.push_back(s / factor);
        split.push_back(factor);
        out[1] *= factor;
    }
    for (int64_t k = 0; k < n; ++k) { // offsets d_1 ... d_N right after the channel
        perm.push_back(3 + 2 * k);
    }
    for (int64_t k = 0; k < n; ++k) { // then the coarse positions
        perm.push_back(2 + 2 * k);
        out.push_back(x.size(2 + k) / factor);
    }
    return x.reshape(split).permute(perm).reshape(out);
}

torch::Tensor depth_to_space(const torch::Tensor& x, int64_t factor) {
    LOLA_CHECK(x.dim() >= 3 && factor >= 1, "depth_to_space expects (B, C, S...) and factor >= 1, got {} and {}",
               shape_str(x), factor);
    const int64_t n = x.dim() - 2;
    int64_t block = 1;
    for (int64_t k = 0; k < n; ++k) {
        block *= factor;
    }
    LOLA_CHECK(x.size(1) % block == 0, "depth_to_space: {} channels of input {} are not divisible by {}^{}", x.size(1),
               shape_str(x), factor, n);
    const int64_t c = x.size(1) / block;
    std::vector<int64_t> split{x.size(0), c}, perm{0, 1}, out{x.size(0), c};
    split.insert(split.end(), static_cast<size_t>(n), factor);
    for (int64_t k = 0; k < n; ++k) {
        split.push_back(x.size(2 + k));
        perm.push_back(2 + n + k); // coarse position k
        perm.push_back(2 + k);     // its offset d_k
        out.push_back(x.size(2 + k) * factor);
    }
    return x.reshape(split).permute(perm).reshape(out);
}

// ==== saturation =====================================================================================================

Saturation parse_saturation(const std::string& name) {
    if (name == "softclip2") {
        return Saturation::kSoftclip2;
    }
    if (name == "softclip") {
        return Saturation::kSoftclip;
    }
    if (name == "tanh") {
        return Saturation::kTanh;
    }
    if (name == "arcsinh") {
        return Saturation::kArcsinh;
    }
    if (name == "rms") {
        return Saturation::kRms;
    }
    if (name == "none") {
        return Saturation::kNone;
    }
    LOLA_THROW_USAGE("unknown saturation '{}' (valid: softclip2, softclip, tanh, arcsinh, rms, none)", name);
}

const char* to_string(Saturation saturation) {
    switch (saturation) {
        case Saturation::kSoftclip2:
            return "softclip2";
        case Saturation::kSoftclip:
            return "softclip";
        case Saturation::kTanh:
            return "tanh";
        case Saturation::kArcsinh:
            return "arcsinh";
        case Saturation::kRms:
            return "rms";
        case Saturation::kNone:
            return "none";
    }
    return "none";
}

torch::Tensor saturate(const torch::Tensor& z, Saturation saturation) {
    constexpr double b = kSaturationBound;
    switch (saturation) {
        case Saturation::kSoftclip2:
            return z / at::sqrt(1.0 + at::square(z / b));
        case Saturation::kSoftclip:
            return z / (1.0 + at::abs(z) / b);
        case Saturation::kTanh:
            return b * at::tanh(z / b);
        case Saturation::kArcsinh:
            return at::asinh(z);
        case Saturation::kRms:
            LOLA_CHECK(z.dim() >= 2, "rms saturation expects (B, C, ...), got shape {}", shape_str(z));
            return z * at::rsqrt(at::mean(at::square(z), /*dim=*/{1}, /*keepdim=*/true) + 1e-5);
        case Saturation::kNone:
            return z;
    }
    return z;
}

} // namespace lola::nn
