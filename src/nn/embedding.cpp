#include "lola/nn/embedding.h"

#include <cmath>

#include "lola/core/error.h"

namespace lola::nn {

torch::Tensor sinusoidal_encoding(const torch::Tensor& x, int64_t features, double omega) {
    LOLA_CHECK(features >= 4 && features % 2 == 0, "sinusoidal_encoding: features = {} must be even and >= 4",
               features);
    LOLA_CHECK(omega > 0.0, "sinusoidal_encoding: omega = {} must be > 0", omega);
    const int64_t half = features / 2;
    torch::Tensor xf = x.is_floating_point() ? x : x.to(torch::kFloat);
    // f_k = omega^(-k / (half - 1)), k = 0 .. half - 1
    torch::Tensor k = torch::arange(half, xf.options());
    torch::Tensor freq = at::exp(k * (-std::log(omega) / static_cast<double>(half - 1)));
    torch::Tensor angle = xf.unsqueeze(-1) * freq;
    return torch::cat({at::sin(angle), at::cos(angle)}, -1);
}

EmbeddingMLPImpl::EmbeddingMLPImpl(int64_t in_features_, int64_t out_features_, int64_t hidden_features_)
    : in_features(in_features_), out_features(out_features_), hidden_features(hidden_features_) {
    reset();
}

void EmbeddingMLPImpl::reset() {
    LOLA_CHECK(in_features > 0 && out_features > 0 && hidden_features > 0,
               "EmbeddingMLP: features must be > 0, got {} -> {} -> {}", in_features, hidden_features, out_features);
    fc1 = register_module("fc1", Linear(in_features, hidden_features));
    fc2 = register_module("fc2", Linear(hidden_features, out_features));
}

void EmbeddingMLPImpl::pretty_print(std::ostream& stream) const {
    stream << "lola::nn::EmbeddingMLP(" << in_features << " -> " << hidden_features << " -> SiLU -> " << out_features
           << ")";
}

torch::Tensor EmbeddingMLPImpl::forward(const torch::Tensor& x) {
    LOLA_CHECK(x.dim() >= 1 && x.size(-1) == in_features, "EmbeddingMLP: expected (..., {}), got shape ({})",
               in_features, fmt::join(x.sizes(), ", "));
    return fc2(at::silu(fc1(x)));
}

} // namespace lola::nn
