// Multi-head self-attention over spatial positions and the autoencoder's residual block (docs/method.md 3.2).
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>

#include "lola/nn/layers.h"

namespace lola::nn {

// ==== attention ======================================================================================================

/// Multi-head self-attention whose tokens are the spatial positions of a channel-first tensor (B, C, S...). The
/// parameters and the computation are those of torch::nn::MultiheadAttention(C, heads) with bias, no dropout and
/// query = key = value: `in_proj_weight` (3C, C) split as q | k | v, each head-major; `in_proj_bias` (3C);
/// `out_proj.weight` (C, C) and `out_proj.bias` (C). Initialisation as PyTorch's: xavier-uniform in_proj, zero
/// biases, default-initialised out_proj weight.
class MultiheadSelfAttentionImpl : public torch::nn::Cloneable<MultiheadSelfAttentionImpl> {
public:
    MultiheadSelfAttentionImpl(int64_t channels, int64_t heads);

    void reset() override;
    void pretty_print(std::ostream& stream) const override;
    /// (B, C, S_1, ..., S_N) -> same shape.
    torch::Tensor forward(const torch::Tensor& x);

    int64_t channels, heads;
    torch::Tensor in_proj_weight;
    torch::Tensor in_proj_bias;
    Linear out_proj{nullptr};
};
TORCH_MODULE(MultiheadSelfAttention);

// ==== residual block =================================================================================================

struct ResBlockOptions {
    ResBlockOptions(int64_t channels, int64_t spatial = 2) : channels_(channels), spatial_(spatial) {}

    /// Channels C (input = output).
    TORCH_ARG(int64_t, channels);
    /// Spatial dimensions: 2 or 3.
    TORCH_ARG(int64_t, spatial);
    /// Kernel size of the two FFN convolutions; forced to 1 in attention blocks (docs/method.md 3.2).
    TORCH_ARG(int64_t, kernel_size) = 3;
    /// Heads of the self-attention; 0 = no attention.
    TORCH_ARG(int64_t, attention_heads) = 0;
    /// Hidden channels of the FFN = ffn_factor * C.
    TORCH_ARG(int64_t, ffn_factor) = 1;
    /// Dropout probability between the FFN convolutions (training mode only).
    TORCH_ARG(double, dropout) = 0.05;
    /// Circular padding of the convolutions.
    TORCH_ARG(bool, circular) = false;
};

/// y = LN(x); [y = y + MHSA(y)]; y = conv2(dropout(silu(conv1(y)))); return x + y. LN is the channel LayerNorm (no
/// parameters). conv2's weight is multiplied by 0.01 at initialisation, so a fresh block is close to the identity.
/// Submodules: `norm`, `attn` (only with attention), `conv1`, `conv2`.
class ResBlockImpl : public torch::nn::Cloneable<ResBlockImpl> {
public:
    explicit ResBlockImpl(const ResBlockOptions& options);

    void reset() override;
    void pretty_print(std::ostream& stream) const override;
    torch::Tensor forward(const torch::Tensor& x);

    ResBlockOptions options;
    ChannelLayerNorm norm{nullptr};
    MultiheadSelfAttention attn{nullptr};
    Conv conv1{nullptr};
    Conv conv2{nullptr};
};
TORCH_MODULE(ResBlock);

} // namespace lola::nn
