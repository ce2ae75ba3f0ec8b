#include "lola/diffusion/model.h"

#include "lola/core/error.h"

namespace lola::diffusion {

DenoiserNetImpl::DenoiserNetImpl(nn::BackboneOptions backbone_options, int64_t channels_, int64_t label_dim_,
                                 int64_t spatial_axes_)
    : options(std::move(backbone_options)), channels(channels_), label_dim(label_dim_), spatial_axes(spatial_axes_) {
    LOLA_CHECK(channels > 0 && label_dim >= 0 && spatial_axes >= 2,
               "denoiser: invalid channels {}, label_dim {} or "
               "spatial axes {}",
               channels, label_dim, spatial_axes);
    reset();
}

void DenoiserNetImpl::reset() {
    backbone = register_module(
        "backbone", nn::make_backbone(options, channels, channels, channels, spatial_axes, nn::kModFeatures));
    time_embedding = register_module("time_embedding", nn::EmbeddingMLP(nn::kModFeatures));
    if (label_dim > 0) {
        label_embedding = register_module("label_embedding", nn::EmbeddingMLP(label_dim));
    }
}

torch::Tensor DenoiserNetImpl::forward(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                                       const torch::Tensor& label, const torch::Tensor& cond) {
    torch::Tensor emb = time_embedding->forward(nn::sinusoidal_encoding(c_noise.to(x_in.options()), nn::kModFeatures));
    if (label_dim > 0) {
        LOLA_CHECK(label.defined() && label.size(-1) == label_dim, "denoiser: expected labels of {} entries",
                   label_dim);
        emb = emb + label_embedding->forward(label.to(x_in.options()));
    }
    return backbone->forward(x_in, emb, cond);
}

NetworkFn network_fn(DenoiserNet net) {
    return [net](const torch::Tensor& x_in, const torch::Tensor& c_noise, const torch::Tensor& label,
                 const torch::Tensor& cond) mutable { return net->forward(x_in, c_noise, label, cond); };
}

} // namespace lola::diffusion
