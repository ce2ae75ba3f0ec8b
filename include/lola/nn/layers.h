// Basic layers (docs/method.md 3.1): N-D convolution with zero or circular padding and the near-identity
// initialisation, channel LayerNorm with unbiased variance, a linear layer, and space-to-depth / depth-to-space.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>

namespace lola::nn {

// ==== where parameters are allocated =================================================================================

/// The device on which lola::nn modules allocate their parameters: CPU unless a ParameterDeviceGuard is alive on this
/// thread. Modules are moved to other devices with `module->to(device)` as usual.
torch::Device parameter_device();

/// While alive, lola::nn modules built on this thread allocate their parameters on `device`. Its use is torch::kMeta:
/// a paper-size model is then built in milliseconds without memory, with exact shapes and parameter counts but no
/// values (never run or move such a model).
class ParameterDeviceGuard {
public:
    explicit ParameterDeviceGuard(torch::Device device);
    ~ParameterDeviceGuard();
    ParameterDeviceGuard(const ParameterDeviceGuard&) = delete;
    ParameterDeviceGuard& operator=(const ParameterDeviceGuard&) = delete;

private:
    torch::Device previous_;
};

/// Number of scalar parameters of a module and all its submodules.
int64_t count_parameters(const torch::nn::Module& module);

// ==== initialisation =================================================================================================

/// PyTorch's default initialisation of a layer with `fan_in` inputs per output: weight ~ U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)), and the same range for the bias (if defined).
void default_init_(const torch::Tensor& weight, const torch::Tensor& bias, int64_t fan_in);

/// Near-identity initialisation of a convolution weight (O, I, k...) in place (docs/method.md 3.1): weight *= 0.01,
/// then weight[o, o mod I, centre of the kernel] += 1 for every output channel o. The kernel sizes must be odd.
void near_identity_(const torch::Tensor& weight);

// ==== convolution ====================================================================================================

struct ConvOptions {
    ConvOptions(int64_t in_channels, int64_t out_channels, int64_t spatial = 2)
        : in_channels_(in_channels), out_channels_(out_channels), spatial_(spatial) {}

    /// Input channels.
    TORCH_ARG(int64_t, in_channels);
    /// Output channels.
    TORCH_ARG(int64_t, out_channels);
    /// Number of spatial dimensions: 2 or 3 (the input is (B, C, S_1, ..., S_N)).
    TORCH_ARG(int64_t, spatial);
    /// Kernel size in every dimension; odd. Stride 1, padding kernel_size / 2, so the spatial shape is kept.
    TORCH_ARG(int64_t, kernel_size) = 3;
    /// Circular (periodic) padding instead of zeros.
    TORCH_ARG(bool, circular) = false;
    /// Near-identity initialisation (near_identity_) after the default one.
    TORCH_ARG(bool, identity_init) = false;
    /// Learnable bias.
    TORCH_ARG(bool, bias) = true;
};

/// Convolution with stride 1 and "same" padding (zero or circular) in 2 or 3 dimensions, chosen at run time.
/// Parameters: `weight` (O, I, k, ..., k) and `bias` (O), as torch::nn::ConvNd.
class ConvImpl : public torch::nn::Cloneable<ConvImpl> {
public:
    explicit ConvImpl(const ConvOptions& options);
    ConvImpl(int64_t in_channels, int64_t out_channels, int64_t spatial = 2)
        : ConvImpl(ConvOptions(in_channels, out_channels, spatial)) {}

    void reset() override;
    void pretty_print(std::ostream& stream) const override;
    torch::Tensor forward(const torch::Tensor& x);

    ConvOptions options;
    torch::Tensor weight;
    torch::Tensor bias;
};
TORCH_MODULE(Conv);

// ==== linear =========================================================================================================

/// y = x W^T + b with PyTorch's default initialisation. Parameters `weight` (out, in) and `bias` (out).
class LinearImpl : public torch::nn::Cloneable<LinearImpl> {
public:
    LinearImpl(int64_t in_features, int64_t out_features, bool with_bias = true);

    void reset() override;
    void pretty_print(std::ostream& stream) const override;
    torch::Tensor forward(const torch::Tensor& x);

    int64_t in_features, out_features;
    bool with_bias;
    torch::Tensor weight;
    torch::Tensor bias;
};
TORCH_MODULE(Linear);

// ==== normalisation ==================================================================================================

/// LayerNorm over the channel axis (dim 1) only, at each spatial position: (x - mean_C) / sqrt(var_C + eps), with the
/// UNBIASED (N - 1) variance over the C channels, as the reference's torch.var_mean default
/// (docs/method.md 3.1, 15.14). No affine parameters. Needs C >= 2.
torch::Tensor channel_layer_norm(const torch::Tensor& x, double eps = 1e-5);

class ChannelLayerNormImpl : public torch::nn::Cloneable<ChannelLayerNormImpl> {
public:
    explicit ChannelLayerNormImpl(double eps_ = 1e-5) : eps(eps_) {}

    void reset() override {}
    void pretty_print(std::ostream& stream) const override;
    torch::Tensor forward(const torch::Tensor& x) { return channel_layer_norm(x, eps); }

    double eps;
};
TORCH_MODULE(ChannelLayerNorm);

// ==== space-to-depth =================================================================================================

/// (B, C, S_1, ..., S_N) -> (B, C f^N, S_1 / f, ..., S_N / f). The pixel at (s_1 f + d_1, ..., s_N f + d_N) of
/// channel c goes to channel c f^N + offset, offset = sum_k d_k f^(N - k): for f = 2, d1*2 + d2 in 2-D and
/// d1*4 + d2*2 + d3 in 3-D (docs/method.md 3.1; pixel_unshuffle in 2-D). Every S_k must be divisible by f.
torch::Tensor space_to_depth(const torch::Tensor& x, int64_t factor = 2);

/// The exact inverse of space_to_depth: (B, C f^N, S_1, ..., S_N) -> (B, C, S_1 f, ..., S_N f).
torch::Tensor depth_to_space(const torch::Tensor& x, int64_t factor = 2);

} // namespace lola::nn
