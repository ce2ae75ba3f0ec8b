// PSGD-Kron, the "cached, delayed" variant that trains the paper's autoencoders (docs/method.md 3.7, 9.2, 15.12 and
// 15.22): a debiased momentum preconditioned by one Kronecker factor per tensor dimension (dense upper-triangular up
// to `max_size`, else diagonal), the preconditioner fitted on the momentum with probability max(min_prob, decay^k) per
// step, the update made with the cached factors of the previous step, then trust-region clipped.
#pragma once

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace lola::train {

/// Hyper-parameters of PSGD-Kron; the defaults are the paper's (heavyball 1.4.3 `ForeachCachedDelayedPSGDKron`).
struct PsgdOptions : public torch::optim::OptimizerCloneableOptions<PsgdOptions> {
    PsgdOptions(double lr = 1e-5);          // NOLINT(google-explicit-constructor): torch's serializer needs Options(0)
    TORCH_ARG(double, lr) = 1e-5;           ///< learning rate (paper: 1e-5 x cosine factor)
    TORCH_ARG(double, beta) = 0.9;          ///< momentum (debiased EMA)
    TORCH_ARG(double, weight_decay) = 0.0;  ///< decoupled: p <- p (1 - lr wd)
    TORCH_ARG(double, precond_lr) = 0.1;    ///< step size of the preconditioner fit
    TORCH_ARG(double, min_prob) = 1.0 / 64; ///< floor of the update probability (1 / precond_freq)
    TORCH_ARG(double, precond_decay) = 0.999; ///< update probability max(min_prob, precond_decay^k)
    TORCH_ARG(int64_t, max_size) = 4096;      ///< largest dimension with a triangular factor
    TORCH_ARG(double, balance_prob) = 0.01;   ///< rebalance the factors when the update draw r < balance_prob
    TORCH_ARG(double, init_scale) = 1.0;      ///< initial factors: init_scale^(1/ndim) I
    TORCH_ARG(bool, trust_region) = true;     ///< clip the update with trust_region_clip()

public:
    void serialize(torch::serialize::InputArchive& archive) override;
    void serialize(torch::serialize::OutputArchive& archive) const override;
    double get_lr() const override;
    void set_lr(double lr) override;
};

/// State of one parameter tensor: calls k, momentum, factors Q_i and their cache P_i = Q_i^T Q_i (q_i^2 if diagonal).
struct PsgdParamState : public torch::optim::OptimizerCloneableParamState<PsgdParamState> {
    TORCH_ARG(int64_t, step) = 0; ///< calls with a gradient (k, from 1)
    TORCH_ARG(torch::Tensor, momentum);

public:
    std::vector<torch::Tensor> factors; ///< (d_i, d_i) upper-triangular or (d_i) diagonal, one per dimension
    std::vector<torch::Tensor> cache;   ///< P_i, same shapes

    void serialize(torch::serialize::InputArchive& archive) override;
    void serialize(torch::serialize::OutputArchive& archive) const override;
};

/// PSGD-Kron as a LibTorch optimizer (CPU and CUDA; the state lives on the parameters' device in float32, or float64
/// for float64 parameters). The preconditioner noise comes from the default generator of the parameters' device, which
/// the trainer checkpoints; save()/load() add the optimizer step counter, so a resume is bit-exact.
class Psgd : public torch::optim::Optimizer {
public:
    explicit Psgd(std::vector<torch::Tensor> params, PsgdOptions defaults = {});
    explicit Psgd(const std::vector<torch::optim::OptimizerParamGroup>& groups, PsgdOptions defaults = {});

    /// One update of every parameter with a gradient (`closure`, if given, is evaluated first with grad enabled).
    torch::Tensor step(LossClosure closure = nullptr) override;
    void save(torch::serialize::OutputArchive& archive) const override;
    void load(torch::serialize::InputArchive& archive) override;

    /// Optimizer steps taken (s, from 1 in the update draw).
    int64_t steps() const { return steps_; }

private:
    int64_t steps_ = 0;
};

/// Python's random.Random(seed).random() for a non-negative integer seed (MT19937 seeded with init_by_array).
double python_random(uint64_t seed);
/// The shared update draw of step s (from 1): python_random(0x172381 XOR s).
double psgd_update_draw(int64_t step);
/// Probability max(min_prob, decay^k) that the preconditioner is fitted at the k-th call (from 1).
double psgd_update_probability(int64_t k, double min_prob, double decay);
/// Whether dimension `size` of an `ndim`-D tensor gets a triangular factor (1 < size <= max_size, ndim >= 2).
bool psgd_triangular(int64_t size, int64_t ndim, int64_t max_size);
/// Trust-region clipping: x = u / 1.5; clamp(1.5 (0.9 tanh x + 0.1 sign(x) log1p|x|), -2, 2).
torch::Tensor trust_region_clip(const torch::Tensor& u);

} // namespace lola::train
