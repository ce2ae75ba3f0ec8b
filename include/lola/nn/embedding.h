// Embeddings of the diffusion noise level and of the label vector theta (docs/method.md 4.4), and the sinusoidal
// encoding that the ViT also uses for its absolute positional embedding (docs/method.md 4.5 step 3).
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>

#include "lola/nn/layers.h"

namespace lola::nn {

/// Width of the modulation vector emb = time_emb + label_emb (docs/method.md 4.4).
inline constexpr int64_t kModFeatures = 256;

/// SinusoidalEncoding(D) of docs/method.md 4.4: x (...) -> (..., D) = [sin(x f_0), ..., sin(x f_{D/2-1}) | cos(x f_0),
/// ..., cos(x f_{D/2-1})] (sin block then cos block, not interleaved) with f_k = omega^(-k / (D/2 - 1)), so f_0 = 1 and
/// f_{D/2-1} = 1/omega. `features` must be even and >= 4. Computed in x's dtype (floating) on x's device.
torch::Tensor sinusoidal_encoding(const torch::Tensor& x, int64_t features, double omega = 1e3);

/// The two-layer embedding MLP of docs/method.md 4.4: Linear(in -> hidden) -> SiLU -> Linear(hidden -> out), default
/// initialisation. As the time embedding its input is sinusoidal_encoding(c_noise, 256) (in = 256); as the label
/// embedding its input is the raw label vector theta (in = label_dim). Submodules `fc1`, `fc2`.
/// 256-wide: in*256 + 256 + 256*256 + 256 parameters (131,584 for the time embedding, 67,328 for label_dim = 5).
class EmbeddingMLPImpl : public torch::nn::Cloneable<EmbeddingMLPImpl> {
public:
    explicit EmbeddingMLPImpl(int64_t in_features, int64_t out_features = kModFeatures,
                              int64_t hidden_features = kModFeatures);

    void reset() override;
    void pretty_print(std::ostream& stream) const override;
    /// (..., in) -> (..., out); an unbatched (in) vector gives an (out) vector.
    torch::Tensor forward(const torch::Tensor& x);

    int64_t in_features, out_features, hidden_features;
    Linear fc1{nullptr};
    Linear fc2{nullptr};
};
TORCH_MODULE(EmbeddingMLP);

} // namespace lola::nn
