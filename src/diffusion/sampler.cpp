// Samplers (docs/method.md 7.1, 6.2).
#include "lola/diffusion/sampler.h"

#include <algorithm>
#include <cmath>

#include "lola/core/error.h"
#include "lola/diffusion/loss.h"

namespace lola::diffusion {

namespace {

/// Solve the m x m system a w = b by Gaussian elimination with partial pivoting (float64, m <= a few).
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
    const size_t m = b.size();
    for (size_t col = 0; col < m; ++col) {
        size_t pivot = col;
        for (size_t r = col + 1; r < m; ++r) {
            if (std::abs(a[r][col]) > std::abs(a[pivot][col])) {
                pivot = r;
            }
        }
        LOLA_CHECK(a[pivot][col] != 0.0, "multistep coefficients: singular Vandermonde system (repeated nodes?)");
        std::swap(a[col], a[pivot]);
        std::swap(b[col], b[pivot]);
        for (size_t r = col + 1; r < m; ++r) {
            const double f = a[r][col] / a[col][col];
            for (size_t c = col; c < m; ++c) {
                a[r][c] -= f * a[col][c];
            }
            b[r] -= f * b[col];
        }
    }
    std::vector<double> w(m);
    for (size_t r = m; r-- > 0;) {
        double acc = b[r];
        for (size_t c = r + 1; c < m; ++c) {
            acc -= a[r][c] * w[c];
        }
        w[r] = acc / a[r][r];
    }
    return w;
}

void check_nodes(const std::vector<double>& nodes) {
    LOLA_CHECK(!nodes.empty(), "multistep coefficients need at least one node");
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (size_t j = i + 1; j < nodes.size(); ++j) {
            LOLA_CHECK(nodes[i] != nodes[j], "multistep coefficients need distinct nodes, node {} repeats ({})", j,
                       nodes[j]);
        }
    }
}

} // namespace

std::vector<double> ab_coefficients(const std::vector<double>& nodes, double from, double to) {
    check_nodes(nodes);
    const size_t m = nodes.size();
    std::vector<std::vector<double>> v(m, std::vector<double>(m));
    std::vector<double> beta(m);
    for (size_t p = 0; p < m; ++p) {
        for (size_t j = 0; j < m; ++j) {
            v[p][j] = std::pow(nodes[j], static_cast<double>(p));
        }
        const double q = static_cast<double>(p + 1);
        beta[p] = (std::pow(to, q) - std::pow(from, q)) / q;
    }
    return solve(std::move(v), std::move(beta));
}

std::vector<double> eab_coefficients(const std::vector<double>& nodes, double from, double to) {
    check_nodes(nodes);
    LOLA_CHECK(from > 0.0 && to > 0.0, "eab coefficients need rho > 0, got from = {}, to = {}", from, to);
    const size_t m = nodes.size();
    const double lambda0 = std::log(from);
    const double h = std::log(to / from);
    std::vector<std::vector<double>> v(m, std::vector<double>(m));
    std::vector<double> moments(m);
    for (size_t p = 0; p < m; ++p) {
        for (size_t j = 0; j < m; ++j) {
            LOLA_CHECK(nodes[j] > 0.0, "eab coefficients need rho > 0, got node {}", nodes[j]);
            v[p][j] = std::pow(std::log(nodes[j]) - lambda0, static_cast<double>(p));
        }
        // I_p = int_0^h e^u u^p du
        moments[p] = p == 0
                         ? std::expm1(h)
                         : std::exp(h) * std::pow(h, static_cast<double>(p)) - static_cast<double>(p) * moments[p - 1];
    }
    std::vector<double> w = solve(std::move(v), std::move(moments));
    for (double& x : w) {
        x *= from;
    }
    return w;
}

// ==== base ===========================================================================================================

Sampler::Sampler(const Denoiser& denoiser, int64_t steps, double start, double stop)
    : denoiser_(denoiser), steps_(steps), start_(start), stop_(stop) {
    LOLA_CHECK_USAGE(steps >= 1, "the number of sampling steps must be >= 1, got {}", steps);
    LOLA_CHECK_USAGE(stop >= 0.0 && stop < start && start <= 1.0,
                     "sampling times need 0 <= stop < start <= 1, got start = {}, stop = {}", start, stop);
}

std::vector<double> Sampler::times() const {
    // float32 samples of a kInputDtype schedule (the reference's precision) get the reference's float32 grid
    const Schedule& schedule = denoiser_.schedule();
    std::vector<double> t(static_cast<size_t>(steps_ + 1));
    for (int64_t k = 0; k <= steps_; ++k) {
        t[static_cast<size_t>(k)] = schedule.grid_time(
            start_ + (stop_ - start_) * static_cast<double>(k) / static_cast<double>(steps_), dtype_);
    }
    t.back() = schedule.grid_time(stop_, dtype_);
    return t;
}

double Sampler::alpha(double t) const { return denoiser_.schedule().alpha_at(t, dtype_); }

double Sampler::sigma(double t) const { return denoiser_.schedule().sigma_at(t, dtype_); }

torch::ScalarType Sampler::compute_dtype(torch::ScalarType dtype) {
    return dtype == torch::kDouble ? torch::kDouble : torch::kFloat;
}

Gaussian Sampler::denoise(const torch::Tensor& x, double t, const torch::Tensor& label,
                          const torch::Tensor& cond) const {
    // The time in the dtype of x, but at least float32: bf16 / fp16 times would shift sigma from the sampler's.
    const bool low = x.scalar_type() != torch::kFloat && x.scalar_type() != torch::kDouble;
    return denoiser_.denoise(x, torch::full({}, t, x.options().dtype(low ? torch::kFloat : x.scalar_type())), label,
                             cond);
}

torch::Tensor Sampler::init(at::IntArrayRef shape, const torch::TensorOptions& options,
                            const std::optional<at::Generator>& generator) const {
    const auto dtype = compute_dtype(c10::typeMetaToScalarType(options.dtype()));
    const Schedule& schedule = denoiser_.schedule();
    const double a = schedule.alpha_at(start_, dtype), s = schedule.sigma_at(start_, dtype);
    return randn_with(shape, options, generator) * std::sqrt(a * a + s * s);
}

torch::Tensor Sampler::noise(const torch::Tensor& like, std::optional<at::Generator>& generator) {
    return randn_with(like.sizes(), like.options(), generator);
}

torch::Tensor Sampler::sample(const torch::Tensor& x_init, const torch::Tensor& label, const torch::Tensor& cond,
                              std::optional<at::Generator> generator) {
    LOLA_CHECK(x_init.defined() && x_init.is_floating_point(), "Sampler::sample: x_init must be a floating tensor");
    at::NoGradGuard no_grad;
    reset();
    dtype_ = compute_dtype(x_init.scalar_type());
    const std::vector<double> t = times();
    torch::Tensor x = x_init;
    for (int64_t k = 0; k < steps_; ++k) {
        x = step(x, t[static_cast<size_t>(k)], t[static_cast<size_t>(k + 1)], k, label, cond, generator);
    }
    return x;
}

// ==== DDPM / DDIM ====================================================================================================

namespace {

/// 1 - (alpha_t sigma_s / (alpha_s sigma_t))^2: the DDPM posterior variance of x_s given (x_t, x) over sigma_s^2.
double posterior_fraction(double at_, double st, double as, double ss) {
    const double r = at_ * ss / (as * st);
    return std::max(1.0 - r * r, 0.0);
}

/// The deterministic part of a DDIM step: alpha_s x-hat + sigma_s sqrt(1 - tau) (x_t - alpha_t x-hat) / sigma_t.
torch::Tensor ddim_update(const torch::Tensor& x_t, const torch::Tensor& mean, double at_, double st, double as,
                          double ss, double tau) {
    return as * mean + (ss * std::sqrt(1.0 - tau) / st) * (x_t - at_ * mean);
}

} // namespace

DDIMSampler::DDIMSampler(const Denoiser& denoiser, int64_t steps, double start, double stop, double eta)
    : Sampler(denoiser, steps, start, stop), eta_(eta) {
    LOLA_CHECK_USAGE(eta >= 0.0 && std::isfinite(eta), "DDIM eta must be >= 0, got {}", eta);
}

torch::Tensor DDIMSampler::step(const torch::Tensor& x_t, double t, double s, int64_t /*k*/, const torch::Tensor& label,
                                const torch::Tensor& cond, std::optional<at::Generator>& generator) {
    const double at_ = alpha(t), st = sigma(t), as = alpha(s), ss = sigma(s);
    const double tau = std::clamp(eta_ * posterior_fraction(at_, st, as, ss), 0.0, 1.0);
    // drawn before the denoiser call, as the reference does
    const torch::Tensor eps = tau > 0.0 ? noise(x_t, generator) : torch::Tensor();
    const Gaussian q = denoise(x_t, t, label, cond);
    const torch::Tensor x_s = ddim_update(x_t, q.mean, at_, st, as, ss, tau);
    return tau > 0.0 ? x_s + (ss * std::sqrt(tau)) * eps : x_s;
}

// ==== Adams-Bashforth ================================================================================================

ABSampler::ABSampler(const Denoiser& denoiser, int64_t steps, double start, double stop, int64_t order)
    : Sampler(denoiser, steps, start, stop), order_(order) {
    LOLA_CHECK_USAGE(order >= 1 && order <= 4, "the Adams-Bashforth order must be in [1, 4], got {}", order);
}

void ABSampler::reset() {
    rhos_.clear();
    zs_.clear();
}

std::vector<double> ABSampler::weights(const std::vector<double>& nodes, double rho_t, double rho_s) const {
    return ab_coefficients(nodes, rho_t, rho_s);
}

torch::Tensor ABSampler::step(const torch::Tensor& x_t, double t, double s, int64_t /*k*/, const torch::Tensor& label,
                              const torch::Tensor& cond, std::optional<at::Generator>& /*generator*/) {
    const double at_ = alpha(t), st = sigma(t), as = alpha(s), ss = sigma(s);
    Gaussian q = denoise(x_t, t, label, cond);
    rhos_.push_back(st / at_);
    zs_.push_back((x_t - at_ * q.mean) / st);
    if (static_cast<int64_t>(rhos_.size()) > order_) {
        rhos_.erase(rhos_.begin());
        zs_.erase(zs_.begin());
    }
    const std::vector<double> w = weights(rhos_, st / at_, ss / as);
    torch::Tensor acc = w[0] * zs_[0];
    for (size_t j = 1; j < w.size(); ++j) {
        acc = acc + w[j] * zs_[j];
    }
    return (as / at_) * x_t + as * acc;
}

std::vector<double> EABSampler::weights(const std::vector<double>& nodes, double rho_t, double rho_s) const {
    return eab_coefficients(nodes, rho_t, rho_s);
}

// ==== predictor-corrector ============================================================================================

PCSampler::PCSampler(const Denoiser& denoiser, int64_t steps, double start, double stop, int64_t corrections,
                     double delta)
    : Sampler(denoiser, steps, start, stop), corrections_(corrections), delta_(delta) {
    LOLA_CHECK_USAGE(corrections >= 0, "pc: the number of corrections must be >= 0, got {}", corrections);
    LOLA_CHECK_USAGE(delta > 0.0 && delta <= 1.0, "pc: the correction amplitude delta must be in (0, 1], got {}",
                     delta);
}

torch::Tensor PCSampler::step(const torch::Tensor& x_t, double t, double s, int64_t /*k*/, const torch::Tensor& label,
                              const torch::Tensor& cond, std::optional<at::Generator>& generator) {
    const double at_ = alpha(t), st = sigma(t), as = alpha(s), ss = sigma(s);
    torch::Tensor x = x_t;
    for (int64_t i = 0; i < corrections_; ++i) {
        const Gaussian q = denoise(x, t, label, cond);
        x = x - delta_ * (x - at_ * q.mean) + (std::sqrt(2.0 * delta_) * st) * noise(x, generator);
    }
    const Gaussian q = denoise(x, t, label, cond);
    return ddim_update(x, q.mean, at_, st, as, ss, 0.0); // the DDIM(0) predictor
}

// ==== registry =======================================================================================================

const std::vector<std::string>& sampler_names() {
    static const std::vector<std::string> kNames{"ddpm", "ddim", "ab", "eab", "pc"};
    return kNames;
}

std::unique_ptr<Sampler> make_sampler(const std::string& name, const Denoiser& denoiser, int64_t steps,
                                      const SamplerOptions& o) {
    if (name == "ddpm") {
        return std::make_unique<DDPMSampler>(denoiser, steps, o.start, o.stop);
    }
    if (name == "ddim") {
        return std::make_unique<DDIMSampler>(denoiser, steps, o.start, o.stop, o.eta);
    }
    if (name == "ab") {
        return std::make_unique<ABSampler>(denoiser, steps, o.start, o.stop, o.order);
    }
    if (name == "eab") {
        return std::make_unique<EABSampler>(denoiser, steps, o.start, o.stop, o.order);
    }
    if (name == "pc") {
        return std::make_unique<PCSampler>(denoiser, steps, o.start, o.stop, o.corrections, o.delta);
    }
    LOLA_THROW_USAGE("unknown sampler '{}'; valid: {}", name, fmt::join(sampler_names(), ", "));
}

} // namespace lola::diffusion
