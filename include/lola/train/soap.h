// SOAP: Adam in the eigenbasis of Shampoo's Kronecker factors (docs/method.md 9.3), the reference's alternative to PSGD
// for the autoencoders. The eigenbasis is refreshed every `precond_freq` steps by one QR power iteration.
#pragma once

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace lola::train {

/// Hyper-parameters of SOAP; the defaults are the reference's (lola/soap.py).
struct SoapOptions : public torch::optim::OptimizerCloneableOptions<SoapOptions> {
    SoapOptions(double lr = 3e-3);          // NOLINT(google-explicit-constructor): torch's serializer needs Options(0)
    TORCH_ARG(double, lr) = 3e-3;           ///< learning rate
    TORCH_ARG(double, beta1) = 0.9;         ///< Adam's first moment
    TORCH_ARG(double, beta2) = 0.99;        ///< Adam's second moment
    TORCH_ARG(double, eps) = 1e-8;          ///< update m / sqrt(v + eps^2) (bias-corrected moments)
    TORCH_ARG(double, weight_decay) = 0.0;  ///< decoupled, after the step: p <- p (1 - lr wd)
    TORCH_ARG(double, shampoo_beta) = 0.99; ///< EMA of the factors (debiased)
    TORCH_ARG(int64_t, precond_freq) = 16;  ///< eigenbasis refresh period (steps)
    TORCH_ARG(int64_t, max_precond_dim) = 4096; ///< larger dimensions (and size 1, and 1-D tensors) are not rotated

public:
    void serialize(torch::serialize::InputArchive& archive) override;
    void serialize(torch::serialize::OutputArchive& archive) const override;
    double get_lr() const override;
    void set_lr(double lr) override;
};

/// State of one parameter: Adam steps t, moments (in the eigenbasis), factors GG_i and bases Q_i per dimension (empty
/// tensors for dimensions that are not preconditioned).
struct SoapParamState : public torch::optim::OptimizerCloneableParamState<SoapParamState> {
    TORCH_ARG(int64_t, step) = 0; ///< Adam steps t (the initialising first call is not counted)
    TORCH_ARG(torch::Tensor, exp_avg);
    TORCH_ARG(torch::Tensor, exp_avg_sq);

public:
    std::vector<torch::Tensor> factors; ///< GG_i (d_i, d_i)
    std::vector<torch::Tensor> bases;   ///< Q_i (d_i, d_i), orthonormal columns

    void serialize(torch::serialize::InputArchive& archive) override;
    void serialize(torch::serialize::OutputArchive& archive) const override;
};

/// SOAP as a LibTorch optimizer (CPU and CUDA; state in float32, float64 for float64 parameters). The first step of a
/// parameter only initialises its factors and eigenbasis (eigh); it does not move the parameter.
class Soap : public torch::optim::Optimizer {
public:
    explicit Soap(std::vector<torch::Tensor> params, SoapOptions defaults = {});
    explicit Soap(const std::vector<torch::optim::OptimizerParamGroup>& groups, SoapOptions defaults = {});

    torch::Tensor step(LossClosure closure = nullptr) override;
    void save(torch::serialize::OutputArchive& archive) const override;
    void load(torch::serialize::InputArchive& archive) override;
};

/// Whether SOAP preconditions dimension `size` of an `ndim`-D tensor (1 < size <= max_dim and ndim >= 2).
bool soap_preconditioned(int64_t size, int64_t ndim, int64_t max_dim);

} // namespace lola::train
