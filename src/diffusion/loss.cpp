// The diffusion training objective (docs/method.md 4.6) and the random helpers shared with the samplers.
#include "lola/diffusion/loss.h"

#include <algorithm>

#include "lola/core/error.h"

namespace lola::diffusion {

namespace {

bool has_generator(const std::optional<at::Generator>& generator) {
    return generator.has_value() && generator->defined();
}

/// Where to draw: the generator's device when one is given, else `fallback`.
torch::Device draw_device(const std::optional<at::Generator>& generator, torch::Device fallback) {
    return has_generator(generator) ? generator->device() : fallback;
}

} // namespace

torch::Tensor randn_with(at::IntArrayRef shape, const torch::TensorOptions& options,
                         const std::optional<at::Generator>& generator) {
    if (!has_generator(generator)) {
        return at::randn(shape, options);
    }
    if (generator->device() == options.device()) {
        return at::randn(shape, generator, options);
    }
    return at::randn(shape, generator, options.device(generator->device())).to(options.device());
}

torch::Tensor rand_with(at::IntArrayRef shape, const torch::TensorOptions& options,
                        const std::optional<at::Generator>& generator) {
    if (!has_generator(generator)) {
        return at::rand(shape, options);
    }
    if (generator->device() == options.device()) {
        return at::rand(shape, generator, options);
    }
    return at::rand(shape, generator, options.device(generator->device())).to(options.device());
}

// ==== context masks ==================================================================================================

void MaskOptions::validate(int64_t n) const {
    LOLA_CHECK_USAGE(lambda > 0.0, "mask.lambda must be > 0 (Poisson rate), got {}", lambda);
    LOLA_CHECK_USAGE(rho >= 0.0 && rho <= 1.0, "mask.rho must be a probability in [0, 1], got {}", rho);
    LOLA_CHECK_USAGE(atleast >= 0 && atleast < n,
                     "mask.atleast must be in [0, n - 1] = [0, {}] for windows of n = {} states, got {}", n - 1, n,
                     atleast);
}

torch::Tensor sample_context_mask(int64_t batch, int64_t n, const MaskOptions& options,
                                  const std::optional<at::Generator>& generator, torch::Device device) {
    LOLA_CHECK_USAGE(batch >= 1 && n >= 1, "sample_context_mask: need batch >= 1 and n >= 1, got batch = {}, n = {}",
                     batch, n);
    options.validate(n);
    const auto dopt = torch::TensorOptions().dtype(torch::kDouble).device(draw_device(generator, device));
    torch::Tensor k = at::poisson(at::full({batch}, options.lambda, dopt), generator);
    torch::Tensor count =
        (at::fmod(k, static_cast<double>(n - options.atleast)) + static_cast<double>(options.atleast)).unsqueeze(1);
    torch::Tensor forward = (rand_with({batch}, dopt, generator) < options.rho).unsqueeze(1);
    torch::Tensor index = at::arange(n, dopt).unsqueeze(0);
    torch::Tensor mask = at::where(forward, index < count, index >= static_cast<double>(n) - count);
    return mask.to(device);
}

// ==== time priors ====================================================================================================

const std::vector<std::string>& TimePrior::names() {
    static const std::vector<std::string> kNames{"uniform", "beta", "kumaraswamy"};
    return kNames;
}

void TimePrior::validate() const {
    LOLA_CHECK_USAGE(std::find(names().begin(), names().end(), name) != names().end(),
                     "unknown time prior '{}'; valid: {}", name, fmt::join(names(), ", "));
    LOLA_CHECK_USAGE(a > 0.0 && b > 0.0, "the {} time prior needs a > 0 and b > 0, got a = {}, b = {}", name, a, b);
}

torch::Tensor sample_time(int64_t batch, const TimePrior& prior, const std::optional<at::Generator>& generator,
                          const torch::TensorOptions& options) {
    LOLA_CHECK_USAGE(batch >= 1, "sample_time: need batch >= 1, got {}", batch);
    prior.validate();
    const auto dopt = torch::TensorOptions().dtype(torch::kDouble).device(draw_device(generator, options.device()));
    torch::Tensor t;
    if (prior.name == "uniform") {
        t = rand_with({batch}, dopt, generator);
    } else if (prior.name == "beta") {
        torch::Tensor ga = at::_standard_gamma(at::full({batch}, prior.a, dopt), generator);
        torch::Tensor gb = at::_standard_gamma(at::full({batch}, prior.b, dopt), generator);
        t = ga / (ga + gb);
    } else {
        torch::Tensor u = rand_with({batch}, dopt, generator);
        t = at::pow(1.0 - at::pow(1.0 - u, 1.0 / prior.b), 1.0 / prior.a);
    }
    return at::clamp(t, 0.0, 1.0).to(options.device(), at::typeMetaToScalarType(options.dtype()));
}

// ==== loss ===========================================================================================================

torch::Tensor denoiser_loss_at(const Denoiser& denoiser, const torch::Tensor& x, const torch::Tensor& label,
                               const torch::Tensor& window_mask, const torch::Tensor& t, const torch::Tensor& eps) {
    LOLA_CHECK(x.defined() && x.dim() >= 1, "denoiser_loss: x must be a defined (B, C, n, spatial...) tensor");
    LOLA_CHECK(eps.defined() && eps.sizes() == x.sizes(), "denoiser_loss: eps must have the shape of x ({}), got ({})",
               fmt::join(x.sizes(), ", "), eps.defined() ? fmt::format("{}", fmt::join(eps.sizes(), ", ")) : "none");
    torch::Tensor mask;
    if (window_mask.defined()) {
        if (window_mask.dim() == 2) {
            LOLA_CHECK(x.dim() >= 3 && window_mask.size(0) == x.size(0) && window_mask.size(1) == x.size(2),
                       "denoiser_loss: a (B, n) window mask needs x (B, C, n, ...) with the same B and n; got mask "
                       "({}) and x ({})",
                       fmt::join(window_mask.sizes(), ", "), fmt::join(x.sizes(), ", "));
            mask = nn::expand_window_mask(window_mask, x.dim());
        } else {
            mask = window_mask;
        }
        mask = mask.to(x.device()) != 0;
    }
    torch::Tensor tt = t.to(x.device());
    const Schedule& schedule = denoiser.schedule();
    torch::Tensor alpha = broadcast_time(schedule.alpha(tt).to(x.scalar_type()), x);
    torch::Tensor sigma = broadcast_time(schedule.sigma(tt).to(x.scalar_type()), x);
    torch::Tensor x_t = alpha * x + sigma * eps;
    torch::Tensor cond;
    if (mask.defined()) {
        x_t = at::where(mask, at::sqrt(at::square(alpha) + at::square(sigma)) * x, x_t);
        cond = nn::mask_channels(mask, x);
    } else {
        cond = at::zeros_like(x);
    }
    Gaussian q = denoiser.denoise(x_t, tt, label, cond);
    return at::mean(at::square(q.mean - x) / q.var);
}

torch::Tensor denoiser_loss(const Denoiser& denoiser, const torch::Tensor& x, const torch::Tensor& label,
                            const torch::Tensor& window_mask, const TimePrior& prior,
                            const std::optional<at::Generator>& generator) {
    LOLA_CHECK(x.defined() && x.dim() >= 1, "denoiser_loss: x must be a defined (B, C, n, spatial...) tensor");
    const LossNoise noise = draw_loss_noise(x, prior, generator, 0, x.size(0));
    return denoiser_loss_at(denoiser, x, label, window_mask, noise.t, noise.eps);
}

LossNoise draw_loss_noise(const torch::Tensor& x, const TimePrior& prior, const std::optional<at::Generator>& generator,
                          int64_t first_row, int64_t global_rows) {
    LOLA_CHECK(x.defined() && x.dim() >= 1, "denoiser_loss: x must be a defined (B, C, n, spatial...) tensor");
    const int64_t rows = x.size(0);
    LOLA_CHECK(first_row >= 0 && first_row + rows <= global_rows,
               "denoiser_loss: rows [{}, {}) are not in a batch of {}", first_row, first_row + rows, global_rows);
    // times in the dtype of x, but at least float32 (bf16 / fp16 times would be coarse)
    const bool low = x.scalar_type() != torch::kFloat && x.scalar_type() != torch::kDouble;
    LossNoise n;
    n.t = sample_time(global_rows, prior, generator, x.options().dtype(low ? torch::kFloat : x.scalar_type()));
    std::vector<int64_t> shape = x.sizes().vec();
    shape[0] = global_rows;
    n.eps = randn_with(shape, x.options(), generator);
    if (global_rows != rows) {
        n.t = n.t.narrow(0, first_row, rows);
        n.eps = n.eps.narrow(0, first_row, rows);
    }
    return n;
}

torch::Tensor denoiser_loss(const NetworkFn& network, const std::shared_ptr<const Schedule>& schedule,
                            const torch::Tensor& x, const torch::Tensor& label, const torch::Tensor& window_mask,
                            const TimePrior& prior, const std::optional<at::Generator>& generator) {
    PreconditionedDenoiser denoiser(network, schedule);
    return denoiser_loss(denoiser, x, label, window_mask, prior, generator);
}

} // namespace lola::diffusion
