// Denoisers of the diffusion model: the abstract interface, EDM preconditioning (docs/method.md 4.2) and the masked
// wrapper that conditions on known frames (docs/method.md 4.3, 7.1). The network itself is abstract (a NetworkFn); this
// module does not depend on lola::nn.
#pragma once

#include <torch/types.h>

#include <functional>
#include <memory>

#include "lola/diffusion/schedule.h"
#include "lola/nn/mask.h"

namespace lola::diffusion {

/// A diagonal Gaussian q(x | x_t): mean and variance, both of the shape of x (var may be an expanded view).
struct Gaussian {
    torch::Tensor mean;
    torch::Tensor var;
};

/// A denoiser: an estimate of p(x | x_t) for x_t = alpha_t x + sigma_t eps.
///
/// Shapes: x_t (B, ...); t either 0-d (one time for the whole batch, as at sampling) or (B) (one per sample, as in
/// training), floating point; label undefined, (label_dim) (shared by the batch) or (B, label_dim); cond undefined or
/// whatever the network expects (the masked wrapper passes the mask channels, (B, C, n, spatial...)).
class Denoiser {
public:
    virtual ~Denoiser() = default;

    /// The posterior estimate at (x_t, t).
    virtual Gaussian denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& label = {},
                             const torch::Tensor& cond = {}) const = 0;
    /// The noise schedule the denoiser was trained with.
    virtual const Schedule& schedule() const = 0;
};

/// The backbone F(x_in, c_noise, label, cond) -> output of the shape of x_in. c_noise has the shape of t (0-d or (B));
/// label is passed as given (undefined, (label_dim) or (B, label_dim)): a backbone must broadcast an unbatched
/// embedding over the batch itself (docs/method.md 4.4).
using NetworkFn = std::function<torch::Tensor(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                                              const torch::Tensor& label, const torch::Tensor& cond)>;

/// The EDM preconditioning coefficients of docs/method.md 4.2 (data variance 1), elementwise in alpha and sigma.
struct Preconditioning {
    torch::Tensor c_in;    ///< 1 / sqrt(alpha^2 + sigma^2)
    torch::Tensor c_out;   ///< sigma / sqrt(alpha^2 + sigma^2)
    torch::Tensor c_skip;  ///< alpha / (alpha^2 + sigma^2)
    torch::Tensor c_noise; ///< 10 log(sigma / alpha) (note the factor 10 of the reference)
    torch::Tensor var;     ///< sigma^2 / (alpha^2 + sigma^2), the fixed variance of the denoiser
};

/// The coefficients for alpha and sigma of equal (or broadcastable) shapes.
Preconditioning preconditioning(const torch::Tensor& alpha, const torch::Tensor& sigma);

/// t (0-d or (B)) reshaped to broadcast against x (B, ...): 0-d stays 0-d, (B) becomes (B, 1, ..., 1).
/// A (B) tensor must have B == x.size(0) (or 1).
torch::Tensor broadcast_time(const torch::Tensor& t, const torch::Tensor& x);

/// The EDM-preconditioned denoiser ("ElucidatedDenoiser", docs/method.md 4.2):
/// mean = c_skip x_t + c_out F(c_in x_t, c_noise, label, cond), var = sigma^2 / (alpha^2 + sigma^2).
class PreconditionedDenoiser : public Denoiser {
public:
    /// `network` must return a tensor of the shape of its x_in; `schedule` must not be null.
    PreconditionedDenoiser(NetworkFn network, std::shared_ptr<const Schedule> schedule);

    Gaussian denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& label = {},
                     const torch::Tensor& cond = {}) const override;
    const Schedule& schedule() const override { return *schedule_; }

    /// The shared schedule.
    const std::shared_ptr<const Schedule>& schedule_ptr() const { return schedule_; }
    /// The wrapped backbone.
    const NetworkFn& network() const { return network_; }

private:
    NetworkFn network_;
    std::shared_ptr<const Schedule> schedule_;
};

/// Conditioning on known entries (docs/method.md 4.3 and 7.1, azula's MaskedDenoiser). At each call the known entries
/// of x_t are overwritten with sqrt(alpha_t^2 + sigma_t^2) y before the inner denoiser runs (after c_in scaling the
/// network sees the clean y there, as in training); the returned mean is exactly y on known entries and the inner mean
/// elsewhere. The variance is the inner one everywhere, known entries included, as in the reference
/// (docs/reference.md); the samplers use only the mean. When `cond` is undefined the inner denoiser receives
/// nn::mask_channels(mask, x_t); a defined cond is passed through unchanged.
///
/// The inner denoiser is held by reference and must outlive this wrapper.
class MaskedDenoiser : public Denoiser {
public:
    /// y: the observation, broadcastable to x (values on unknown entries are ignored); mask: bool or 0/1 float,
    /// broadcastable to x, nonzero = known (for windows, nn::expand_window_mask(window_mask, x.dim())).
    MaskedDenoiser(const Denoiser& inner, torch::Tensor y, torch::Tensor mask);

    Gaussian denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& label = {},
                     const torch::Tensor& cond = {}) const override;
    const Schedule& schedule() const override { return inner_.schedule(); }

    /// Replace the observation and the mask (e.g. for the next autoregressive window).
    void set_observation(torch::Tensor y, torch::Tensor mask);
    /// The observation.
    const torch::Tensor& y() const { return y_; }
    /// The mask as given.
    const torch::Tensor& mask() const { return mask_; }

private:
    const Denoiser& inner_;
    torch::Tensor y_, mask_;
};

} // namespace lola::diffusion
