// Latent saturations (docs/method.md 3.3, eq. 5, and 6.2): bounded element-wise maps applied to the encoder output.
#pragma once

#include <torch/types.h>

#include <string>

namespace lola::nn {

/// The bound B of the bounded saturations.
constexpr double kSaturationBound = 5.0;

enum class Saturation {
    kSoftclip2, ///< z / sqrt(1 + (z / B)^2): bounded by B, smooth; the paper's eq. 5 and the default
    kSoftclip,  ///< z / (1 + |z| / B): bounded by B (not defined in the paper; docs/method.md 6.2)
    kTanh,      ///< B tanh(z / B): bounded by B (not defined in the paper; docs/method.md 6.2)
    kArcsinh,   ///< asinh(z): unbounded but logarithmic, odd (not defined in the paper)
    kRms,       ///< z / sqrt(mean over channels (dim 1) of z^2 + 1e-5): RMS-norm over channels, no affine; each element
                ///< is bounded by sqrt(C) (not defined in the paper)
    kNone       ///< identity
};

/// "softclip2" | "softclip" | "tanh" | "arcsinh" | "rms" | "none"; throws a UsageError listing the valid names.
Saturation parse_saturation(const std::string& name);
const char* to_string(Saturation saturation);

/// Apply a saturation to z of shape (B, C, ...).
torch::Tensor saturate(const torch::Tensor& z, Saturation saturation);

} // namespace lola::nn
