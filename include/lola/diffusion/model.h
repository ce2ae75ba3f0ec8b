// The latent (or pixel) diffusion network of docs/method.md 4.4-4.5 (Figure 2): the emulator backbone modulated by the
// sum of the noise-level embedding (sinusoidal encoding of c_noise -> MLP) and the label embedding, with the mask as
// condition channels. It is the F of the PreconditionedDenoiser (denoiser.h) through network_fn().
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "lola/diffusion/denoiser.h"
#include "lola/nn/backbone.h"
#include "lola/nn/embedding.h"

namespace lola::diffusion {

class DenoiserNetImpl : public torch::nn::Cloneable<DenoiserNetImpl> {
public:
    /// `channels` per state (the backbone sees 2 x channels: the state and the mask), `label_dim` entries of theta
    /// (0: no label embedding), `spatial_axes` = spatial rank of the states + 1 (time).
    DenoiserNetImpl(nn::BackboneOptions backbone, int64_t channels, int64_t label_dim, int64_t spatial_axes);

    void reset() override;

    /// F(x_in, c_noise, label, cond): x_in and cond (B, C, n, spatial...); c_noise 0-d or (B); label (label_dim),
    /// (B, label_dim) or undefined when label_dim = 0.
    torch::Tensor forward(const torch::Tensor& x_in, const torch::Tensor& c_noise, const torch::Tensor& label,
                          const torch::Tensor& cond);

    nn::BackboneOptions options;
    int64_t channels, label_dim, spatial_axes;
    std::shared_ptr<nn::Backbone> backbone;
    nn::EmbeddingMLP time_embedding{nullptr};
    nn::EmbeddingMLP label_embedding{nullptr};
};
TORCH_MODULE(DenoiserNet);

/// The network as the NetworkFn of a PreconditionedDenoiser (holds a reference to the module).
NetworkFn network_fn(DenoiserNet net);

} // namespace lola::diffusion
