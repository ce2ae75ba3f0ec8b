// Samplers of the diffusion model (docs/method.md 7.1, 6.2): a base class that runs the time grid, and one override of
// step() per algorithm (DDPM, DDIM, Adams-Bashforth, exponential Adams-Bashforth, predictor-corrector).
//
// Notation: alpha_t, sigma_t from the denoiser's schedule, rho_t = sigma_t / alpha_t, x-hat = denoiser mean at (x_t, t),
// z = (x_t - alpha_t x-hat) / sigma_t (the noise estimate). The probability-flow ODE in y = x / alpha reads
// dy / drho = z.
#pragma once

#include <torch/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lola/diffusion/denoiser.h"

namespace lola::diffusion {

/// A sampler: integrates from t = start to t = stop over the grid linspace(start, stop, steps + 1). Everything runs
/// in the dtype and on the device of x_init; scalar coefficients are computed in float64. sample() runs without
/// autograd (a guided denoiser that needs gradients must enable them inside its denoise()).
class Sampler {
public:
    /// `denoiser` is held by reference and must outlive the sampler. steps >= 1, 0 <= stop < start <= 1.
    Sampler(const Denoiser& denoiser, int64_t steps = 16, double start = 1.0, double stop = 0.0);
    virtual ~Sampler() = default;

    /// x ~ N(0, (alpha_start^2 + sigma_start^2) I) of `shape`, drawn with `generator` (see randn_with).
    torch::Tensor init(at::IntArrayRef shape, const torch::TensorOptions& options = {},
                       const std::optional<at::Generator>& generator = std::nullopt) const;

    /// Run the whole grid from x_init: x <- step(x, t_k, t_{k+1}, ...) for k = 0 .. steps - 1; returns x at `stop`.
    /// label and cond are passed to every denoiser call; `generator` feeds the stochastic samplers.
    torch::Tensor sample(const torch::Tensor& x_init, const torch::Tensor& label = {}, const torch::Tensor& cond = {},
                         std::optional<at::Generator> generator = std::nullopt);

    /// The time grid t_0 = start, ..., t_steps = stop (for the dtype of the last sample(); float64 before any).
    std::vector<double> times() const;

    /// The number of steps.
    int64_t steps() const { return steps_; }
    /// The denoiser.
    const Denoiser& denoiser() const { return denoiser_; }

protected:
    /// Clear per-run state (called at the start of every sample()).
    virtual void reset() {}
    /// One step from time t to time s < t (k = index of t on the grid).
    virtual torch::Tensor step(const torch::Tensor& x_t, double t, double s, int64_t k, const torch::Tensor& label,
                               const torch::Tensor& cond, std::optional<at::Generator>& generator) = 0;

    /// A standard normal draw shaped like `like` (its dtype and device), from `generator` (see randn_with). Every
    /// stochastic step draws through here, in the order the reference draws (docs/reference.md), so a subclass can
    /// replay recorded noise.
    virtual torch::Tensor noise(const torch::Tensor& like, std::optional<at::Generator>& generator);

    /// denoiser().denoise at a single time (a 0-d tensor on the device of x, in its dtype or float32 if lower).
    Gaussian denoise(const torch::Tensor& x, double t, const torch::Tensor& label, const torch::Tensor& cond) const;
    /// alpha_t of the schedule for the samples' dtype (computed in it only by a kInputDtype schedule), as a double.
    double alpha(double t) const;
    /// sigma_t of the schedule, as alpha.
    double sigma(double t) const;
    /// The dtype a schedule of kInputDtype precision computes in for samples of `dtype`: float64, else float32.
    static torch::ScalarType compute_dtype(torch::ScalarType dtype);

private:
    const Denoiser& denoiser_;
    torch::ScalarType dtype_ = torch::kDouble; ///< compute_dtype of the samples of the current sample()
    int64_t steps_;
    double start_, stop_;
};

/// DDIM(eta) in azula 0.3.1's convention (the reference's, docs/reference.md): with
/// tau = clip(eta (1 - (alpha_t sigma_s / (alpha_s sigma_t))^2), 0, 1),
/// x_s = alpha_s x-hat + sigma_s sqrt(1 - tau) z + sigma_s sqrt(tau) eps, eps drawn before the denoiser call. eta = 0
/// is deterministic (Euler on the probability-flow ODE in rho); eta = 1 is DDPM. The noise variance is linear in eta:
/// lola before 2026-12-07 scaled it by eta^2, so its eta e is this eta e^2.
class DDIMSampler : public Sampler {
public:
    /// eta >= 0 (values above 1 clip tau at 1).
    DDIMSampler(const Denoiser& denoiser, int64_t steps = 16, double start = 1.0, double stop = 0.0, double eta = 0.0);

protected:
    torch::Tensor step(const torch::Tensor& x_t, double t, double s, int64_t k, const torch::Tensor& label,
                       const torch::Tensor& cond, std::optional<at::Generator>& generator) override;

private:
    double eta_;
};

/// Ancestral DDPM: x_s ~ q(x_s | x_t, x = x-hat), the Gaussian posterior of the forward process, which is DDIM with
/// eta = 1 (tau is then the posterior variance over sigma_s^2). Stochastic; needs many more steps than the ODE
/// samplers (e.g. 256).
class DDPMSampler : public DDIMSampler {
public:
    DDPMSampler(const Denoiser& denoiser, int64_t steps = 16, double start = 1.0, double stop = 0.0)
        : DDIMSampler(denoiser, steps, start, stop, 1.0) {}
};

/// The weights w_j = integral from `from` to `to` of the Lagrange basis polynomial L_j on `nodes` (distinct), found
/// by solving the Vandermonde system sum_j nodes_j^p w_j = (to^(p+1) - from^(p+1)) / (p + 1), p = 0 .. m - 1, in
/// float64 (docs/method.md 7.1).
std::vector<double> ab_coefficients(const std::vector<double>& nodes, double from, double to);

/// The weights w_j = integral over rho from `from` to `to` of L_j(log rho), L_j the Lagrange basis on the
/// log-nodes lambda_j = log nodes_j (nodes > 0, from, to > 0). Substituting rho = e^lambda, w_j = e^lambda_0 *
/// solve(V, I) with V[p][j] = (lambda_j - lambda_0)^p, lambda_0 = log from, I_p = integral_0^h e^u u^p du,
/// h = log(to / from), computed by I_0 = expm1(h), I_p = e^h h^p - p I_(p-1).
std::vector<double> eab_coefficients(const std::vector<double>& nodes, double from, double to);

/// Adams-Bashforth on the probability-flow ODE dy/drho = z (azula's ABSampler, the paper's default,
/// docs/method.md 7.1): keeps the last min(order, k + 1) values z_j at rho_j and steps
/// x_s = (alpha_s / alpha_t) x_t + alpha_s sum_j w_j z_j with w = ab_coefficients(rho_j, rho_t, rho_s).
class ABSampler : public Sampler {
public:
    /// order in [1, 4].
    ABSampler(const Denoiser& denoiser, int64_t steps = 16, double start = 1.0, double stop = 0.0, int64_t order = 3);

protected:
    void reset() override;
    torch::Tensor step(const torch::Tensor& x_t, double t, double s, int64_t k, const torch::Tensor& label,
                       const torch::Tensor& cond, std::optional<at::Generator>& generator) override;
    /// The multistep weights for the stored nodes (rho values, oldest first) over [rho_t, rho_s].
    virtual std::vector<double> weights(const std::vector<double>& nodes, double rho_t, double rho_s) const;

private:
    int64_t order_;
    std::vector<double> rhos_;
    std::vector<torch::Tensor> zs_;
};

/// Exponential Adams-Bashforth ("eab"): the same multistep update as ABSampler, but z is interpolated by a polynomial
/// in lambda = log rho and the integral of e^lambda times that polynomial is taken exactly (an exponential integrator,
/// DEIS / DPM-Solver style): w = eab_coefficients(rho_j, rho_t, rho_s). On log-spaced grids this is the natural
/// variable: z varies smoothly in log rho. Order 1 is DDIM.
class EABSampler : public ABSampler {
public:
    using ABSampler::ABSampler;

protected:
    std::vector<double> weights(const std::vector<double>& nodes, double rho_t, double rho_s) const override;
};

/// Predictor-corrector ("pc") in azula 0.3.1's order (docs/reference.md): at time t, `corrections` unadjusted
/// Langevin steps on log p_t with step size delta sigma_t^2, whose score is -(x - alpha_t x-hat) / sigma_t^2:
/// x <- x - delta (x - alpha_t x-hat) + sqrt(2 delta) sigma_t eps (each with a fresh x-hat), then the deterministic
/// DDIM predictor t -> s. Costs 1 + corrections denoiser calls per step.
class PCSampler : public Sampler {
public:
    /// corrections >= 0, 0 < delta <= 1 (the Langevin step in units of sigma_t^2).
    PCSampler(const Denoiser& denoiser, int64_t steps = 16, double start = 1.0, double stop = 0.0,
              int64_t corrections = 1, double delta = 0.01);

protected:
    torch::Tensor step(const torch::Tensor& x_t, double t, double s, int64_t k, const torch::Tensor& label,
                       const torch::Tensor& cond, std::optional<at::Generator>& generator) override;

private:
    int64_t corrections_;
    double delta_;
};

/// Options of make_sampler beyond the step count (each sampler reads its own).
struct SamplerOptions {
    double start = 1.0;      ///< first time of the grid
    double stop = 0.0;       ///< last time of the grid
    double eta = 0.0;        ///< ddim: azula's eta (noise variance eta tau, clipped at 1)
    int64_t order = 3;       ///< ab, eab
    int64_t corrections = 1; ///< pc: Langevin steps per step
    double delta = 0.01;     ///< pc: the Langevin step in units of sigma_t^2, in (0, 1]
};

/// The valid sampler names: ddpm, ddim, ab, eab, pc.
const std::vector<std::string>& sampler_names();

/// A sampler by name (default "ab" with 16 steps, the paper's). Unknown names are lola::UsageError listing the valid
/// ones; bad option values are lola::UsageError too.
std::unique_ptr<Sampler> make_sampler(const std::string& name, const Denoiser& denoiser, int64_t steps = 16,
                                      const SamplerOptions& options = {});

} // namespace lola::diffusion
