// The diffusion training objective (docs/method.md 4.6): random context masks, time priors and the denoiser loss.
#pragma once

#include <torch/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lola/diffusion/denoiser.h"

namespace lola::diffusion {

/// The random context mask of training (docs/method.md 4.6, reference HEAD): c = (Poisson(lambda) mod (n - atleast)) +
/// atleast known frames, c in {atleast, ..., n - 1}; with probability rho the first c frames are known (forward
/// prediction), otherwise the last c (backward prediction). For n = 5 and the defaults, P(c) = {0.383, 0.371, 0.184,
/// 0.061} for c = 1..4.
struct MaskOptions {
    double lambda = 1.0; ///< Poisson rate, > 0
    double rho = 0.66;   ///< probability of a forward mask, in [0, 1]
    int64_t atleast = 1; ///< minimum number of known frames, 0 <= atleast < n

    /// Check the values against the window length n; errors are lola::UsageError naming the field.
    void validate(int64_t n) const;
};

/// (batch, n) bool masks, true = known frame, on `device`. Uses `generator` (on `device`, or on the CPU and then moved)
/// when given, else the default generator of `device`.
torch::Tensor sample_context_mask(int64_t batch, int64_t n = 5, const MaskOptions& options = {},
                                  const std::optional<at::Generator>& generator = std::nullopt,
                                  torch::Device device = torch::kCPU);

/// The prior of the diffusion time t in training: "uniform" (default), "beta" (Beta(a, b)) or "kumaraswamy"
/// (Kumaraswamy(a, b), sampled by inverse CDF t = (1 - (1 - u)^(1/b))^(1/a)). a, b > 0; the reference's alternatives
/// use a = 1, b = 0.5, which make both equal (Beta(1, b) = Kumaraswamy(1, b)).
struct TimePrior {
    std::string name = "uniform";
    double a = 1.0;
    double b = 0.5;

    /// The valid names: uniform, beta, kumaraswamy.
    static const std::vector<std::string>& names();
    /// Unknown names and non-positive a, b are lola::UsageError.
    void validate() const;
};

/// (batch) times in [0, 1] from `prior`, with the dtype and device of `options` (default float32 on the CPU).
/// Randomness as for sample_context_mask.
torch::Tensor sample_time(int64_t batch, const TimePrior& prior = {},
                          const std::optional<at::Generator>& generator = std::nullopt,
                          const torch::TensorOptions& options = {});

/// The loss for given times and noise, deterministic (the building block of denoiser_loss):
/// x (B, C, n, spatial...), window_mask (B, n) bool/float (nonzero = known) or any mask broadcastable to x, or
/// undefined (nothing known); t (B) or 0-d; eps of the shape of x. With alpha, sigma = schedule(t):
/// x_t = alpha x + sigma eps, then x_t = sqrt(alpha^2 + sigma^2) x on known entries; cond = nn::mask_channels(mask, x);
/// q = denoiser.denoise(x_t, t, label, cond); loss = mean over all elements (known ones included) of
/// (q.mean - x)^2 / q.var. For a PreconditionedDenoiser this is the unweighted MSE between F and its target
/// (x - c_skip x_t) / c_out.
torch::Tensor denoiser_loss_at(const Denoiser& denoiser, const torch::Tensor& x, const torch::Tensor& label,
                               const torch::Tensor& window_mask, const torch::Tensor& t, const torch::Tensor& eps);

/// The training loss with t ~ prior (one per sample) and eps ~ N(0, I) drawn from `generator` (same rules as
/// sample_context_mask; eps is drawn in the dtype of x, t in that dtype or float32 if lower, both on the device of
/// x; t first, then eps). See denoiser_loss_at.
torch::Tensor denoiser_loss(const Denoiser& denoiser, const torch::Tensor& x, const torch::Tensor& label,
                            const torch::Tensor& window_mask, const TimePrior& prior = {},
                            const std::optional<at::Generator>& generator = std::nullopt);

/// The draws of denoiser_loss (t, then eps) for rows [first_row, first_row + B) of a batch of `global_rows` rows (a
/// data::Shard of a data-parallel step): drawn for all `global_rows` rows and this shard's rows kept, so the shards
/// together see the draws of the single-process step and every rank's generator advances alike.
struct LossNoise {
    torch::Tensor t, eps;
};
LossNoise draw_loss_noise(const torch::Tensor& x, const TimePrior& prior, const std::optional<at::Generator>& generator,
                          int64_t first_row, int64_t global_rows);

/// The same with PreconditionedDenoiser(network, schedule) built on the fly.
torch::Tensor denoiser_loss(const NetworkFn& network, const std::shared_ptr<const Schedule>& schedule,
                            const torch::Tensor& x, const torch::Tensor& label, const torch::Tensor& window_mask,
                            const TimePrior& prior = {}, const std::optional<at::Generator>& generator = std::nullopt);

/// N(0, 1) samples of `shape` with `options`, drawn with `generator` when given. A generator on another device than
/// `options` draws there and the result is moved, so a CPU generator makes CUDA runs reproducible too.
torch::Tensor randn_with(at::IntArrayRef shape, const torch::TensorOptions& options,
                         const std::optional<at::Generator>& generator);

/// U[0, 1) samples, same rules as randn_with.
torch::Tensor rand_with(at::IntArrayRef shape, const torch::TensorOptions& options,
                        const std::optional<at::Generator>& generator);

} // namespace lola::diffusion
