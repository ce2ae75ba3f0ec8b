// The modulated U-Net backbone ("unet_deep"; docs/method.md 6.1), an alternative to the ViT.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <vector>

#include "lola/nn/backbone.h"
#include "lola/nn/blocks.h"
#include "lola/nn/layers.h"

namespace lola::nn {

/// Convolution with a per-axis stride (kernel k, padding k/2, zero or circular) for 2 or 3 spatial axes; the U-Net's
/// down-sampling. Parameters `weight` (O, I, k...) and `bias` (O); near-identity init with `identity_init`.
class StridedConvImpl : public torch::nn::Cloneable<StridedConvImpl> {
public:
    StridedConvImpl(int64_t in_channels, int64_t out_channels, std::vector<int64_t> stride, int64_t kernel_size,
                    bool circular, bool identity_init);

    void reset() override;
    void pretty_print(std::ostream& stream) const override;
    torch::Tensor forward(const torch::Tensor& x);

    int64_t in_channels, out_channels, kernel_size;
    std::vector<int64_t> stride;
    bool circular, identity_init;
    torch::Tensor weight;
    torch::Tensor bias;
};
TORCH_MODULE(StridedConv);

/// UNetBlock (docs/method.md 6.1) on x (B, C, S...):
///   (a, b, c) = split3(mod_out(SiLU(mod_in(emb))))   [mod_features > 0; else the learned `modulation` (3C)]
///   h = (1 + a) ChannelLayerNorm(x) + b;  h = h + attn(h) (with attention);
///   h = conv2(dropout(SiLU(conv1(h))))  (kernel 1 with attention, no 0.01 scaling);  out = (x + c h)/sqrt(1 + c^2).
/// `mod_out`'s weight is x 0.01 at init. Submodules `mod_in`, `mod_out` | `modulation`, `attn`, `conv1`, `conv2`.
class UNetBlockImpl : public torch::nn::Cloneable<UNetBlockImpl> {
public:
    UNetBlockImpl(int64_t channels, int64_t spatial, int64_t mod_features, int64_t heads, int64_t ffn_factor,
                  int64_t kernel_size, double dropout, bool circular);

    void reset() override;
    void pretty_print(std::ostream& stream) const override;
    /// x (B, C, S...), emb (B, M), (M) or undefined.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);

    int64_t channels, spatial, mod_features, heads, ffn_factor, kernel_size;
    double dropout;
    bool circular;
    Linear mod_in{nullptr}, mod_out{nullptr};
    torch::Tensor modulation;
    MultiheadSelfAttention attn{nullptr};
    Conv conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(UNetBlock);

/// The U-Net (docs/method.md 6.1). Input cat(x, `spatial` coordinate channels linspace(-1, 1) per axis, cond) ->
/// `conv_in` -> h_0. Descent: level 0 blocks; level i > 0: `down`[i-1] (StridedConv h_{i-1} -> h_i, identity init) +
/// blocks; every level's output goes on the skip stack. Ascent (deepest first): pop; for i < K-1 crop x to the skip,
/// concat (x, skip) and `merge`[i] (Conv h_{i+1} + h_i -> h_i, identity init); blocks; nearest upsampling by the stride
/// (i > 0) or `conv_out` (h_0 -> C_out, i = 0). Supports 2 or 3 axes (LibTorch has no 4-D convolution).
/// opts.checkpointing is accepted but does nothing (no LibTorch checkpoint API).
class UNet : public Backbone {
public:
    UNet(const BackboneOptions& opts, int64_t in_channels, int64_t out_channels, int64_t cond_channels,
         int64_t spatial_axes, int64_t mod_features);

    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& cond) override;
    void pretty_print(std::ostream& stream) const override;

    BackboneOptions options;
    std::vector<int64_t> stride;
    Conv conv_in{nullptr};
    torch::nn::ModuleList down{nullptr};    ///< K - 1 StridedConvs (level i at index i - 1)
    torch::nn::ModuleList descent{nullptr}; ///< per level a ModuleList of UNetBlocks
    torch::nn::ModuleList merge{nullptr};   ///< K - 1 Convs (level i at index i, i < K - 1)
    torch::nn::ModuleList ascent{nullptr};  ///< per level a ModuleList of UNetBlocks
    Conv conv_out{nullptr};
};

} // namespace lola::nn
