// Autoencoder training losses (docs/method.md 3.6), combined linearly with weights from the config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lola::core {
class Config;
}

namespace lola::autoencoder {

/// The epsilon of the VRMSE loss.
constexpr double kVrmseEps = 1e-2;

/// mean (x - y)^2 over everything.
torch::Tensor loss_mse(const torch::Tensor& x, const torch::Tensor& y);
/// mean |x - y| over everything (paper v1's L1 objective).
torch::Tensor loss_mae(const torch::Tensor& x, const torch::Tensor& y);
/// x, y (B, C, S...), x the target: per (b, c), sqrt(mean_s (x - y)^2 / (Var_s(x) + eps)) with the unbiased spatial
/// variance of x; then the mean over b and c (the reference's HEAD default).
torch::Tensor loss_vrmse(const torch::Tensor& x, const torch::Tensor& y, double eps = kVrmseEps);
/// z (B, ...): the mean cosine similarity between the flattened latents of every pair i < j of batch elements
/// (0 for B = 1).
torch::Tensor loss_similarity(const torch::Tensor& z);

/// The loss group: a map from loss name (mse, mae, vrmse, similarity) to its weight, e.g. `loss: {vrmse: 1.0}`.
/// An empty map means {vrmse: 1.0}, the reference's HEAD default.
struct AeLossOptions {
    std::map<std::string, double> weights{{"vrmse", 1.0}};

    /// The YAML defaults of the group: an empty (open) map.
    static YAML::Node defaults();
    /// Read the map at `key`; unknown loss names and negative weights are usage errors naming the key.
    static AeLossOptions from_config(const core::Config& cfg, const std::string& key = "loss");
    /// Check names and weights; errors name `key`.
    void validate(const std::string& key = "loss") const;
    /// The valid loss names.
    static const std::vector<std::string>& names();
};

/// The weighted terms with a nonzero weight, in the order of names(): (name, weight * loss).
std::vector<std::pair<std::string, torch::Tensor>> ae_loss_terms(const torch::Tensor& x, const torch::Tensor& x_hat,
                                                                 const torch::Tensor& z, const AeLossOptions& options);

/// The total loss, sum of ae_loss_terms. x is the target state, x_hat the reconstruction, z the latent (only read by
/// `similarity`; may be undefined otherwise).
torch::Tensor ae_loss(const torch::Tensor& x, const torch::Tensor& x_hat, const torch::Tensor& z,
                      const AeLossOptions& options);

} // namespace lola::autoencoder
