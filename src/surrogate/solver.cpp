#include "lola/surrogate/solver.h"

#include "lola/core/error.h"
#include "lola/nn/mask.h"

namespace lola::surrogate {

NeuralSolverImpl::NeuralSolverImpl(nn::BackboneOptions backbone_options, int64_t channels_, int64_t label_dim_,
                                   int64_t spatial_axes_)
    : options(std::move(backbone_options)), channels(channels_), label_dim(label_dim_), spatial_axes(spatial_axes_) {
    LOLA_CHECK(channels > 0 && label_dim >= 0 && spatial_axes >= 2,
               "neural solver: invalid channels {}, label_dim {} "
               "or spatial axes {}",
               channels, label_dim, spatial_axes);
    reset();
}

void NeuralSolverImpl::reset() {
    const int64_t mod = label_dim > 0 ? nn::kModFeatures : 0;
    backbone = register_module("backbone", nn::make_backbone(options, channels, channels, channels, spatial_axes, mod));
    if (label_dim > 0) {
        label_embedding = register_module("label_embedding", nn::EmbeddingMLP(label_dim));
    }
}

torch::Tensor NeuralSolverImpl::forward(const torch::Tensor& window, const torch::Tensor& known,
                                        const torch::Tensor& label) {
    LOLA_CHECK(window.dim() == spatial_axes + 2 && window.size(1) == channels,
               "neural solver: expected a window (B, "
               "{}, n, ...) with {} axes after the channels, got [{}]",
               channels, spatial_axes, fmt::join(window.sizes(), ", "));
    const torch::Tensor mask = nn::window_mask_channels(known, window);
    torch::Tensor emb;
    if (label_dim > 0) {
        LOLA_CHECK(label.defined() && label.size(-1) == label_dim, "neural solver: expected labels of {} entries",
                   label_dim);
        emb = label_embedding->forward(label.to(window.options()));
    }
    return backbone->forward(window * mask, emb, mask);
}

torch::Tensor NeuralSolverImpl::loss(const torch::Tensor& window, const torch::Tensor& known,
                                     const torch::Tensor& label) {
    return (forward(window, known, label) - window).square().mean();
}

} // namespace lola::surrogate
