#include "lola/train/optimizer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <map>
#include <mutex>

#include "lola/core/error.h"
#include "lola/train/adamw.h"
#include "lola/train/psgd.h"
#include "lola/train/soap.h"

namespace lola::train {

void OptimOptions::validate(const std::string& key) const {
    const OptimOptions& o = *this;
    LOLA_CHECK_USAGE(o.precond_lr > 0, "{}.precond_lr must be > 0, got {}", key, o.precond_lr);
    LOLA_CHECK_USAGE(o.precond_freq >= 0, "{}.precond_freq must be >= 0 (0: the optimizer's default), got {}", key,
                     o.precond_freq);
    LOLA_CHECK_USAGE(o.precond_decay > 0 && o.precond_decay <= 1, "{}.precond_decay must be in (0, 1], got {}", key,
                     o.precond_decay);
    LOLA_CHECK_USAGE(o.max_size >= 1, "{}.max_size must be >= 1, got {}", key, o.max_size);
    LOLA_CHECK_USAGE(o.balance_prob >= 0 && o.balance_prob <= 1, "{}.balance_prob must be in [0, 1], got {}", key,
                     o.balance_prob);
    LOLA_CHECK_USAGE(o.shampoo_beta >= 0 && o.shampoo_beta < 1, "{}.shampoo_beta must be in [0, 1), got {}", key,
                     o.shampoo_beta);
    LOLA_CHECK_USAGE(o.max_precond_dim >= 1, "{}.max_precond_dim must be >= 1, got {}", key, o.max_precond_dim);
    LOLA_CHECK_USAGE(o.learning_rate > 0 && o.learning_rate <= 10,
                     "{}.learning_rate must be in (0, 10], got {} "
                     "(the paper trains at 1e-4 to 1e-5)",
                     key, o.learning_rate);
    LOLA_CHECK_USAGE(o.betas.size() == 2 && o.betas[0] >= 0 && o.betas[0] < 1 && o.betas[1] >= 0 && o.betas[1] < 1,
                     "{}.betas must be two numbers in [0, 1)", key);
    LOLA_CHECK_USAGE(o.warmup >= 0, "{}.warmup must be >= 0, got {}", key, o.warmup);
    const std::vector<std::string> schedulers{"constant", "linear", "cosine", "exponential"};
    LOLA_CHECK_USAGE(std::find(schedulers.begin(), schedulers.end(), o.scheduler) != schedulers.end(),
                     "unknown {}.scheduler '{}' (valid: {})", key, o.scheduler, fmt::join(schedulers, ", "));
    const auto names = optimizer_names();
    LOLA_CHECK_USAGE(std::find(names.begin(), names.end(), o.optimizer) != names.end(),
                     "unknown {}.optimizer '{}' (valid: {})", key, o.optimizer, fmt::join(names, ", "));
}

namespace {

std::map<std::string, OptimizerFactory>& registry() {
    static std::map<std::string, OptimizerFactory> r{
        {"adamw",
         [](std::vector<torch::Tensor> params, const OptimOptions& o) -> std::unique_ptr<torch::optim::Optimizer> {
             torch::optim::AdamWOptions opts(o.learning_rate);
             opts.betas({o.betas[0], o.betas[1]}).eps(o.eps).weight_decay(o.weight_decay);
             return std::make_unique<FusedAdamW>(std::move(params), opts);
         }},
        {"psgd",
         [](std::vector<torch::Tensor> params, const OptimOptions& o) -> std::unique_ptr<torch::optim::Optimizer> {
             PsgdOptions opts(o.learning_rate);
             opts.beta(o.betas.at(0)).weight_decay(o.weight_decay).precond_lr(o.precond_lr);
             opts.min_prob(1.0 / static_cast<double>(o.precond_freq > 0 ? o.precond_freq : 64));
             opts.precond_decay(o.precond_decay).max_size(o.max_size).balance_prob(o.balance_prob);
             return std::make_unique<Psgd>(std::move(params), opts);
         }},
        {"soap",
         [](std::vector<torch::Tensor> params, const OptimOptions& o) -> std::unique_ptr<torch::optim::Optimizer> {
             SoapOptions opts(o.learning_rate);
             opts.beta1(o.betas.at(0)).beta2(o.betas.at(1)).eps(o.eps).weight_decay(o.weight_decay);
             opts.shampoo_beta(o.shampoo_beta).precond_freq(o.precond_freq > 0 ? o.precond_freq : 16);
             opts.max_precond_dim(o.max_precond_dim);
             return std::make_unique<Soap>(std::move(params), opts);
         }}};
    return r;
}

std::mutex g_registry_mutex;

} // namespace

void register_optimizer(const std::string& name, OptimizerFactory factory) {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    registry()[name] = std::move(factory);
}

std::vector<std::string> optimizer_names() {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    std::vector<std::string> names;
    for (const auto& kv : registry()) {
        names.push_back(kv.first);
    }
    return names;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params, const OptimOptions& o) {
    OptimizerFactory f;
    {
        std::lock_guard<std::mutex> lock(g_registry_mutex);
        auto it = registry().find(o.optimizer);
        if (it != registry().end()) {
            f = it->second;
        }
    }
    if (!f) {
        LOLA_THROW_USAGE("unknown optim.optimizer '{}' (valid: {})", o.optimizer, fmt::join(optimizer_names(), ", "));
    }
    return f(std::move(params), o);
}

double lr_factor(const OptimOptions& o, int64_t epoch, int64_t epochs) {
    const double e = static_cast<double>(epoch);
    const double E = static_cast<double>(std::max<int64_t>(epochs, 1));
    double f = 1.0;
    if (o.scheduler == "cosine") {
        f = (1.0 + std::cos(M_PI * e / E)) / 2.0;
    } else if (o.scheduler == "linear") {
        f = 1.0 - e / E;
    } else if (o.scheduler == "exponential") {
        f = std::pow(o.gamma, e);
    }
    if (epoch < o.warmup) {
        f *= (e + 1.0) / (static_cast<double>(o.warmup) + 1.0);
    }
    return f;
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
    for (auto& group : optimizer.param_groups()) {
        group.options().set_lr(lr);
    }
}

StepResult safe_step(torch::optim::Optimizer& optimizer, double clip) {
    std::vector<torch::Tensor> params;
    for (auto& group : optimizer.param_groups()) {
        for (auto& p : group.params()) {
            if (p.grad().defined()) {
                params.push_back(p);
            }
        }
    }
    StepResult r;
    if (clip > 0) {
        r.grad_norm = torch::nn::utils::clip_grad_norm_(params, clip);
    } else {
        double sq = 0;
        for (auto& p : params) {
            sq += p.grad().detach().to(torch::kFloat64).pow(2).sum().item<double>();
        }
        r.grad_norm = std::sqrt(sq);
    }
    r.skipped = !std::isfinite(r.grad_norm);
    if (!r.skipped) {
        optimizer.step();
    }
    optimizer.zero_grad();
    return r;
}

} // namespace lola::train
