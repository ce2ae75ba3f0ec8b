// The spatio-temporal vision transformer backbone ("vit_large", "vit_small", "vit_pixel"; docs/method.md 4.5 and 5).
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
#include "lola/nn/layers.h"

namespace lola::nn {

// ==== tokens =========================================================================================================

/// Patchify (channel-last tokens): x (B, C, S_1, ..., S_n) with patch p (n entries, S_k divisible by p_k) ->
/// (B, T, C * prod(p)) with T = prod(S_k / p_k) tokens in row-major order of the patch grid. Within a token the
/// features are channel-major: index = c * prod(p) + (row-major offset inside the patch) (docs/method.md 4.5 step 2).
torch::Tensor patchify(const torch::Tensor& x, const std::vector<int64_t>& patch);

/// The inverse of patchify: tokens (B, T, C * prod(p)) with T = prod(grid) -> (B, C, grid_1 p_1, ..., grid_n p_n).
torch::Tensor unpatchify(const torch::Tensor& tokens, const std::vector<int64_t>& grid,
                         const std::vector<int64_t>& patch);

/// The token coordinates: the integer grid indices (g_1, ..., g_n) as floats, (prod(grid), n), row-major.
torch::Tensor grid_coordinates(const std::vector<int64_t>& grid, const torch::TensorOptions& options = {});

/// RMSNorm over the last dimension without affine: x / sqrt(mean(x^2) + eps).
torch::Tensor rms_norm(const torch::Tensor& x, double eps = 1e-5);

// ==== rotary position embedding ======================================================================================

/// Learned N-dimensional RoPE (docs/method.md 4.5.2). Parameter `theta` (spatial, D/2) initialised as amplitude *
/// direction with amplitude_k = 100^(-U(0,1)) per frequency and direction a standard Gaussian normalised to unit L2
/// norm along the spatial axis. For a token at p the angles are phi = p^T theta (D/2), split into H groups of D/(2H);
/// in head h the adjacent pairs (x_{2i}, x_{2i+1}) are rotated by phi[h D/(2H) + i].
class RotaryEmbeddingImpl : public torch::nn::Cloneable<RotaryEmbeddingImpl> {
public:
    /// `features` = D (even), `heads` = H (D/2 divisible by H), `spatial` = coordinate axes.
    RotaryEmbeddingImpl(int64_t features, int64_t heads, int64_t spatial);

    void reset() override;
    void pretty_print(std::ostream& stream) const override;
    /// x (B, H, T, D/H) at coordinates (T, spatial) -> rotated x, same shape.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& coordinates);

    int64_t features, heads, spatial;
    torch::Tensor theta;
};
TORCH_MODULE(RotaryEmbedding);

// ==== block ==========================================================================================================

/// One ViTBlock (docs/method.md 4.5.1-4.5.2) on tokens x (B, T, D) with modulation m and persistent skip s (B, T, D):
///   (a, b, c, d) = split4(mod_out(SiLU(mod_in(m))))    [mod_features > 0; else the learned `modulation` (4D)]
///   h = (1 + a) LayerNorm(x) + b                        (over D, no affine, eps 1e-5, biased variance)
///   h = h + out(SDPA(rope(qknorm(q)), rope(qknorm(k)), v))   with [q | k | v] = qkv(h), no qkv bias
///   h = ffn2(dropout(SiLU(ffn1(h))))
///   x' = (x + c h) / sqrt(1 + c^2);  x'' = (x' + d s) / sqrt(1 + d^2).
/// Submodules/parameters: `mod_in` Linear(M, M), `mod_out` Linear(M, 4D) (weight x 0.01 at init) or `modulation`
/// (4D, N(0,1) * 0.01); `qkv` Linear(D, 3D, no bias); `rope` (if enabled); `out` Linear(D, D); `ffn1` Linear(D, fD);
/// `ffn2` Linear(fD, D).
class ViTBlockImpl : public torch::nn::Cloneable<ViTBlockImpl> {
public:
    ViTBlockImpl(int64_t features, int64_t heads, int64_t spatial, int64_t mod_features, int64_t ffn_factor,
                 double dropout, bool qk_norm, bool rope);

    void reset() override;
    void pretty_print(std::ostream& stream) const override;
    /// x, skip (B, T, D); emb (B, M), (M) or undefined; coordinates (T, spatial).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& skip,
                          const torch::Tensor& coordinates);

    int64_t features, heads, spatial, mod_features, ffn_factor;
    double dropout;
    bool qk_norm, use_rope;
    Linear mod_in{nullptr}, mod_out{nullptr};
    torch::Tensor modulation;
    Linear qkv{nullptr};
    RotaryEmbedding rope{nullptr};
    Linear out{nullptr};
    Linear ffn1{nullptr}, ffn2{nullptr};
};
TORCH_MODULE(ViTBlock);

// ==== backbone =======================================================================================================

/// The spatio-temporal ViT (docs/method.md 4.5): cat(x, cond) along channels -> patchify -> `in_proj`
/// Linear(C' prod(p), D) -> skip = tokens -> tokens += `pos_proj`(concat_k sinusoidal_encoding(coordinate_k, D))
/// (Linear(spatial D, D)) -> `blocks` -> `out_proj` Linear(D, C_out prod(p)) -> unpatchify. C' = C_in + C_cond;
/// tokens carry the data channels first, then the cond channels. Every S_k must be divisible by its patch size.
/// opts.checkpointing is accepted but does nothing: LibTorch has no activation-checkpointing API.
class ViT : public Backbone {
public:
    ViT(const BackboneOptions& opts, int64_t in_channels, int64_t out_channels, int64_t cond_channels,
        int64_t spatial_axes, int64_t mod_features);

    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& cond) override;
    void pretty_print(std::ostream& stream) const override;

    BackboneOptions options;
    std::vector<int64_t> patch;
    Linear in_proj{nullptr};
    Linear pos_proj{nullptr};
    torch::nn::ModuleList blocks{nullptr};
    Linear out_proj{nullptr};
};

} // namespace lola::nn
