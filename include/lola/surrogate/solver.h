// The deterministic neural solver (docs/method.md 5): the emulator backbone with label-only modulation, fed the window
// with its unknown states zeroed plus the mask channels, trained with an MSE over the whole window. The latent solver
// works on latent windows (B, C_lat, 5, h, w[, d]); the pixel-space solver on preprocessed physical windows with a
// patch size > 1 (configs/surrogate/vit_pixel.yaml). The same random context masks as the diffusion model are used.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "lola/nn/backbone.h"
#include "lola/nn/embedding.h"

namespace lola::surrogate {

class NeuralSolverImpl : public torch::nn::Cloneable<NeuralSolverImpl> {
public:
    /// `channels` per state, `label_dim` entries of theta (0: no label, no modulation), `spatial_axes` = spatial
    /// rank of the states + 1 (time).
    NeuralSolverImpl(nn::BackboneOptions backbone, int64_t channels, int64_t label_dim, int64_t spatial_axes);

    void reset() override;

    /// The predicted window (B, C, n, spatial...): window (B, C, n, spatial...) whose unknown states are ignored
    /// (zeroed), known (B, n) or (n) bool, label (B, label_dim) or (label_dim) (undefined when label_dim = 0).
    torch::Tensor forward(const torch::Tensor& window, const torch::Tensor& known, const torch::Tensor& label);

    /// MSE over every element of the window, known states included (docs/method.md 5).
    torch::Tensor loss(const torch::Tensor& window, const torch::Tensor& known, const torch::Tensor& label);

    nn::BackboneOptions options;
    int64_t channels, label_dim, spatial_axes;
    std::shared_ptr<nn::Backbone> backbone;
    nn::EmbeddingMLP label_embedding{nullptr};
};
TORCH_MODULE(NeuralSolver);

} // namespace lola::surrogate
