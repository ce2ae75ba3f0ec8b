// Optimizers from config (the `optim` group, keyed like the reference's optim/*.yaml), LR schedules, and the safe
// training step shared by every trainer (docs/method.md 9.1, 9.4).
#pragma once

#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lola::train {

/// The `optim` config group (configs/optim/*.yaml, docs/optimizers.md). Its keys and their meaning are in describe();
/// core::read_options reads the group (docs/configuration.md).
struct OptimOptions {
    std::string optimizer = "adamw";
    std::vector<double> betas{0.9, 0.99};
    double learning_rate = 1e-4;
    double weight_decay = 0.0;
    double eps = 1e-8;
    int64_t warmup = 0;
    std::string scheduler = "cosine";
    double gamma = 0.99;
    double grad_clip = 1.0;
    // psgd (docs/method.md 9.2; momentum = betas[0]) and soap (9.3; Adam's betas = betas)
    double precond_lr = 0.1;
    int64_t precond_freq = 0;
    double precond_decay = 0.999;
    int64_t max_size = 4096;
    double balance_prob = 0.01;
    double shampoo_beta = 0.99;
    int64_t max_precond_dim = 4096;

    /// Every key of the group, once: its name, its member and its meaning (core/options.h).
    template <class Self, class Visitor>
    static void describe(Self& o, Visitor& v) {
        v("optimizer", o.optimizer, "adamw | psgd | soap (a name in optimizer_names())");
        v("betas", o.betas, "AdamW/SOAP moments; PSGD's momentum is betas[0]");
        v("learning_rate", o.learning_rate, "peak learning rate");
        v("weight_decay", o.weight_decay, "decoupled weight decay");
        v("eps", o.eps, "AdamW/SOAP epsilon");
        v("warmup", o.warmup, "epochs of linear warm-up");
        v("scheduler", o.scheduler, "constant | linear | cosine | exponential");
        v("gamma", o.gamma, "factor per epoch of the exponential schedule");
        v("grad_clip", o.grad_clip, "global L2 norm of the gradient; <= 0 disables clipping");
        v("precond_lr", o.precond_lr, "psgd: step size of the preconditioner fit");
        v("precond_freq", o.precond_freq, "psgd: 1 / minimum update probability (0: 64); soap: refresh period (0: 16)");
        v("precond_decay", o.precond_decay, "psgd: update probability max(1/precond_freq, precond_decay^k)");
        v("max_size", o.max_size, "psgd: largest dimension with a triangular factor");
        v("balance_prob", o.balance_prob, "psgd: probability of rebalancing the factors");
        v("shampoo_beta", o.shampoo_beta, "soap: EMA of the Kronecker factors");
        v("max_precond_dim", o.max_precond_dim, "soap: largest preconditioned dimension");
    }
    /// Ranges and names; errors name `key`.<field>.
    void validate(const std::string& key = "optim") const;
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
