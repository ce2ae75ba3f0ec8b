// Optimizers from config (the `optim` group, keyed like the reference's optim/*.yaml), LR schedules, and the safe
// training step shared by every trainer (docs/method.md 9.1, 9.4).
#pragma once

#include <yaml-cpp/yaml.h>

#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lola::core {
class Config;
}

namespace lola::train {

struct OptimOptions {
    std::string optimizer = "adamw"; ///< a name in optimizer_names()
    std::vector<double> betas{0.9, 0.99};
    double learning_rate = 1e-4;
    double weight_decay = 0.0;
    double eps = 1e-8;
    int64_t warmup = 0;               ///< epochs of linear warm-up
    std::string scheduler = "cosine"; ///< constant | linear | cosine | exponential
    double gamma = 0.99;              ///< factor per epoch of the exponential schedule
    double grad_clip = 1.0;           ///< global L2 norm; <= 0 disables clipping
    // psgd (docs/method.md 9.2; momentum = betas[0]) and soap (9.3; Adam's betas = betas)
    double precond_lr = 0.1;        ///< psgd: step size of the preconditioner fit
    int64_t precond_freq = 0;       ///< psgd: 1/min. update probability (0: 64); soap: refresh period (0: 16)
    double precond_decay = 0.999;   ///< psgd: update probability max(1/precond_freq, precond_decay^k)
    int64_t max_size = 4096;        ///< psgd: largest dimension with a triangular factor
    double balance_prob = 0.01;     ///< psgd: probability of rebalancing the factors
    double shampoo_beta = 0.99;     ///< soap: EMA of the Kronecker factors
    int64_t max_precond_dim = 4096; ///< soap: largest preconditioned dimension

    static YAML::Node defaults();
    static OptimOptions from_config(const core::Config& cfg, const std::string& key = "optim");
};

using OptimizerFactory =
    std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor> params, const OptimOptions&)>;

/// Add an optimizer to the registry (e.g. psgd, soap); the name becomes valid for `optim.optimizer`.
void register_optimizer(const std::string& name, OptimizerFactory factory);
std::vector<std::string> optimizer_names();
/// Throws a UsageError listing the valid names for an unknown `options.optimizer`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params, const OptimOptions& options);

/// Multiplier of the base learning rate at `epoch` (0-based) of `epochs`: cosine (1 + cos(pi e / E)) / 2,
/// linear 1 - e / E, exponential gamma^e, constant 1; times (e + 1) / (warmup + 1) during the warm-up.
double lr_factor(const OptimOptions& options, int64_t epoch, int64_t epochs);
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

struct StepResult {
    double grad_norm = 0; ///< global L2 norm before clipping
    bool skipped = false; ///< non-finite norm: no update was made
};

/// Clip the global gradient norm to `clip` (if > 0), step if the norm is finite, and always zero the gradients.
StepResult safe_step(torch::optim::Optimizer& optimizer, double clip);

} // namespace lola::train
