// Guided sampling by observations (docs/method.md 7.2, the paper's Figure 6): MMPS, moment-matching posterior
// sampling, as a denoiser that wraps any denoiser and is itself one, so that every sampler and the masked wrapper use
// it unchanged. Given observations y = A(x) + noise of variance var_y, at each call:
//   x_hat = E[x | x_t] (the inner denoiser, differentiable in x_t), y_hat = A(x_hat),
//   Cov[x | x_t] v = (sigma_t^2 / alpha_t) J^T v, J = d x_hat / d x_t (Tweedie; a vector-Jacobian product),
//   Cov_y v = var_y v + J_A Cov[x | x_t] J_A^T v, J_A = dA/dx at x_hat (a forward-mode product and a reverse one),
//   u = Cov_y^{-1} (y - y_hat) by a few GMRES (or CG) iterations in float64,
//   mean = x_hat + (sigma_t^2 / alpha_t) J^T J_A^T u; the variance is the inner one.
// A may be nonlinear (the decoder followed by an observation operator): J_A is then the linearisation at x_hat.
// For a linear Gaussian prior and a linear A, with as many iterations as observed values, the mean is exactly
// E[x | x_t, y].
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "lola/diffusion/denoiser.h"

namespace lola::diffusion {

/// A function on batches (B, ...) -> (B, ...): a linear operator for the solvers, a measurement A for MMPS.
using TensorFn = std::function<torch::Tensor(const torch::Tensor&)>;

/// Solves M u = b for every row of the batch independently (b is (B, ...), each row one vector of all its trailing
/// entries) by `iterations` >= 1 GMRES iterations from u = 0 (Arnoldi with modified Gram-Schmidt, Givens rotations),
/// every iteration run whatever the residual. M may be non-symmetric. Computes in float64 and returns b's dtype; M is
/// called on b's dtype.
torch::Tensor gmres(const TensorFn& M, const torch::Tensor& b, int64_t iterations = 1);

/// As gmres, with conjugate-gradient iterations (M symmetric positive semi-definite).
torch::Tensor conjugate_gradient(const TensorFn& M, const torch::Tensor& b, int64_t iterations = 1);

/// The forward-mode Jacobian-vector product J_f(x) w of a differentiable f, by LibTorch's forward AD (one dual
/// evaluation of f). Attention runs LibTorch's math kernel meanwhile (the fused ones have no forward derivative):
/// the switch is process-wide and restored on return. Returns zeros when f does not depend on x.
torch::Tensor jvp(const TensorFn& f, const torch::Tensor& x, const torch::Tensor& w);

struct MMPSOptions {
    double var_y = 1e-2;          ///< observation noise variance (> 0 keeps Cov_y definite; 0 allowed)
    int64_t iterations = 1;       ///< solver iterations (the paper: 1 GMRES iteration)
    std::string solver = "gmres"; ///< gmres or cg
    bool linear = false;          ///< A is linear: J_A w = A(w), no forward-mode pass
};

/// MMPS guidance (docs/method.md 7.2, azula's MMPSDenoiser). The inner denoiser is held by reference and must outlive
/// this wrapper. `measure` maps denoiser states (B, ...) to observations of y's shape (differentiable; it is called
/// with autograd on, and under forward AD unless options.linear). y is (B, ...) or (1, ...) shared by the batch.
class MMPSDenoiser : public Denoiser {
public:
    /// UsageError for a bad solver name, iterations < 1 or var_y < 0.
    MMPSDenoiser(const Denoiser& inner, TensorFn measure, torch::Tensor y, MMPSOptions options = {});

    /// Runs the inner denoiser with autograd enabled whatever the caller's mode; returns detached tensors. A
    /// measurement whose shape differs from y's is a UsageError naming both shapes.
    Gaussian denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& label = {},
                     const torch::Tensor& cond = {}) const override;
    const Schedule& schedule() const override { return inner_.schedule(); }

    /// Replace the observation (e.g. for the next autoregressive window) and its measurement.
    void set_observation(TensorFn measure, torch::Tensor y);
    const torch::Tensor& y() const { return y_; }
    const MMPSOptions& options() const { return options_; }

private:
    const Denoiser& inner_;
    TensorFn measure_;
    torch::Tensor y_;
    MMPSOptions options_;
};

} // namespace lola::diffusion
