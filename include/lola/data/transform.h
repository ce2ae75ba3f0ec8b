// Per-channel field transforms and standardisation (docs/method.md 2.3), with exact inverses.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace lola::data {

enum class Transform {
    kNone,  ///< identity
    kLog1p, ///< log(1 + x), inverse expm1 (Euler energy, density, pressure)
    kLogEps ///< log(x + 1e-6), inverse exp(y) - 1e-6 (TGC density, pressure, temperature)
};

/// "none" | "log1p" | "log" (log(x + 1e-6)); throws a UsageError listing the valid names.
Transform parse_transform(const std::string& name);
const char* transform_name(Transform t);

/// Channel-wise preprocessing: x -> (transform(x) - mean) / std, and its exact inverse.
/// Tensors are (..., C, ...) with channels on `channel_dim`.
class Preprocessor {
public:
    Preprocessor() = default;
    Preprocessor(std::vector<Transform> transforms, std::vector<double> mean, std::vector<double> std);

    int64_t n_channels() const { return static_cast<int64_t>(transforms_.size()); }
    const std::vector<Transform>& transforms() const { return transforms_; }
    const std::vector<double>& mean() const { return mean_; }
    const std::vector<double>& std() const { return std_; }

    /// Physical units -> network units.
    torch::Tensor forward(const torch::Tensor& x, int64_t channel_dim) const;
    /// Network units -> physical units.
    torch::Tensor inverse(const torch::Tensor& y, int64_t channel_dim) const;
    /// Only the nonlinear transforms (no standardisation); used to compute statistics.
    torch::Tensor transform_only(const torch::Tensor& x, int64_t channel_dim) const;

private:
    std::vector<Transform> transforms_;
    std::vector<double> mean_, std_;
};

} // namespace lola::data
