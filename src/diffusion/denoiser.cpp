// Schedules (docs/method.md 4.1) and denoisers (docs/method.md 4.2, 4.3).
#include "lola/diffusion/denoiser.h"

#include <cmath>

#include "lola/core/error.h"
#include "lola/diffusion/schedule.h"

namespace lola::diffusion {

// ==== schedules ======================================================================================================

torch::Tensor Schedule::compute_time(const torch::Tensor& t, const char* what) const {
    LOLA_CHECK(t.defined(), "{}: the time t is undefined", what);
    LOLA_CHECK(t.is_floating_point(), "{}: the time t must be floating point, got {}", what,
               c10::toString(t.scalar_type()));
    return precision_ == SchedulePrecision::kFloat64 ? t.to(torch::kDouble) : t;
}

double Schedule::grid_time(double t, torch::ScalarType dtype) const {
    const bool round = precision_ == SchedulePrecision::kInputDtype && dtype == torch::kFloat;
    return round ? static_cast<double>(static_cast<float>(t)) : t;
}

double Schedule::alpha_at(double t, torch::ScalarType dtype) const {
    const auto d = precision_ == SchedulePrecision::kFloat64 ? torch::kDouble : dtype;
    return alpha(torch::full({}, t, torch::TensorOptions().dtype(d))).item<double>();
}

double Schedule::sigma_at(double t, torch::ScalarType dtype) const {
    const auto d = precision_ == SchedulePrecision::kFloat64 ? torch::kDouble : dtype;
    return sigma(torch::full({}, t, torch::TensorOptions().dtype(d))).item<double>();
}

SchedulePrecision schedule_precision(const std::string& name, const std::string& key) {
    if (name == "float64") {
        return SchedulePrecision::kFloat64;
    }
    LOLA_CHECK_USAGE(name == "input_dtype",
                     "{} = '{}': valid values are float64 (lola's default: the schedule in float64 whatever the "
                     "samples' dtype) and input_dtype (the reference's: in the samples' dtype)",
                     key, name);
    return SchedulePrecision::kInputDtype;
}

LogLogitSchedule::LogLogitSchedule(double sigma_min, double sigma_max, double a, double b, SchedulePrecision precision)
    : Schedule(precision), t_min_(sigma_min / (1.0 + sigma_min)), t_max_(sigma_max / (1.0 + sigma_max)), a_(a), b_(b) {
    LOLA_CHECK_USAGE(sigma_min > 0.0 && sigma_max > sigma_min,
                     "log_logit schedule: need 0 < sigma_min < sigma_max, got sigma_min = {}, sigma_max = {}",
                     sigma_min, sigma_max);
    LOLA_CHECK_USAGE(a > 0.0 && std::isfinite(a) && std::isfinite(b),
                     "log_logit schedule: need a > 0 (sigma increasing in t) and a finite b, got a = {}, b = {}", a, b);
}

torch::Tensor LogLogitSchedule::alpha(const torch::Tensor& t) const {
    compute_time(t, "LogLogitSchedule::alpha");
    return at::ones_like(t);
}

torch::Tensor LogLogitSchedule::sigma(const torch::Tensor& t) const {
    // in float32 (kInputDtype) the scalars are rounded to float32 where they meet the tensor, as in the reference
    torch::Tensor u = compute_time(t, "LogLogitSchedule::sigma") * (t_max_ - t_min_) + t_min_;
    torch::Tensor logit = at::log(u) - at::log1p(-u);
    return at::exp(a_ * logit + b_).to(t.scalar_type());
}

LogLinearSchedule::LogLinearSchedule(double sigma_min, double sigma_max, SchedulePrecision precision)
    : Schedule(precision), log_min_(std::log(sigma_min)), log_max_(std::log(sigma_max)) {
    LOLA_CHECK_USAGE(sigma_min > 0.0 && sigma_max > sigma_min,
                     "log_linear schedule: need 0 < sigma_min < sigma_max, got sigma_min = {}, sigma_max = {}",
                     sigma_min, sigma_max);
}

torch::Tensor LogLinearSchedule::alpha(const torch::Tensor& t) const {
    compute_time(t, "LogLinearSchedule::alpha");
    return at::ones_like(t);
}

torch::Tensor LogLinearSchedule::sigma(const torch::Tensor& t) const {
    torch::Tensor td = compute_time(t, "LogLinearSchedule::sigma");
    return at::exp((1.0 - td) * log_min_ + td * log_max_).to(t.scalar_type());
}

const std::vector<std::string>& schedule_names() {
    static const std::vector<std::string> kNames{"log_logit", "log_linear"};
    return kNames;
}

std::shared_ptr<const Schedule> make_schedule(const std::string& name, double sigma_min, double sigma_max, double a,
                                              double b, SchedulePrecision precision) {
    if (name == "log_logit") {
        return std::make_shared<LogLogitSchedule>(sigma_min, sigma_max, a, b, precision);
    }
    if (name == "log_linear") {
        return std::make_shared<LogLinearSchedule>(sigma_min, sigma_max, precision);
    }
    LOLA_THROW_USAGE("unknown noise schedule '{}'; valid: {}", name, fmt::join(schedule_names(), ", "));
}

// ==== preconditioning ================================================================================================

Preconditioning preconditioning(const torch::Tensor& alpha, const torch::Tensor& sigma) {
    torch::Tensor norm2 = at::square(alpha) + at::square(sigma);
    Preconditioning p;
    p.c_in = at::rsqrt(norm2);
    p.c_out = sigma * p.c_in;
    p.c_skip = alpha / norm2;
    p.c_noise = 10.0 * at::log(sigma / alpha);
    p.var = at::square(sigma) / norm2;
    return p;
}

torch::Tensor broadcast_time(const torch::Tensor& t, const torch::Tensor& x) {
    if (t.dim() == 0) {
        return t;
    }
    LOLA_CHECK(t.dim() == 1 && x.dim() >= 1 && (t.size(0) == x.size(0) || t.size(0) == 1),
               "the time t must be 0-d or (B) with B = {} (the batch of x), got ({})", x.dim() >= 1 ? x.size(0) : 0,
               fmt::join(t.sizes(), ", "));
    std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
    shape[0] = t.size(0);
    return t.view(shape);
}

PreconditionedDenoiser::PreconditionedDenoiser(NetworkFn network, std::shared_ptr<const Schedule> schedule)
    : network_(std::move(network)), schedule_(std::move(schedule)) {
    LOLA_CHECK(static_cast<bool>(network_), "PreconditionedDenoiser: the network function is empty");
    LOLA_CHECK(schedule_ != nullptr, "PreconditionedDenoiser: the schedule is null");
}

Gaussian PreconditionedDenoiser::denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& label,
                                         const torch::Tensor& cond) const {
    LOLA_CHECK(x_t.defined() && x_t.dim() >= 1, "PreconditionedDenoiser: x_t must be a defined (B, ...) tensor");
    torch::Tensor tt = t.to(x_t.device());
    torch::Tensor alpha = schedule_->alpha(tt).to(x_t.scalar_type());
    torch::Tensor sigma = schedule_->sigma(tt).to(x_t.scalar_type());
    Preconditioning p = preconditioning(alpha, sigma);
    torch::Tensor out = network_(broadcast_time(p.c_in, x_t) * x_t, p.c_noise, label, cond);
    LOLA_CHECK(out.defined() && out.sizes() == x_t.sizes(),
               "PreconditionedDenoiser: the network must return the shape of its input ({}), got ({})",
               fmt::join(x_t.sizes(), ", "), out.defined() ? fmt::format("{}", fmt::join(out.sizes(), ", ")) : "none");
    Gaussian q;
    q.mean = broadcast_time(p.c_skip, x_t) * x_t + broadcast_time(p.c_out, x_t) * out;
    q.var = broadcast_time(p.var, x_t).expand_as(q.mean);
    return q;
}

// ==== masks ==========================================================================================================

MaskedDenoiser::MaskedDenoiser(const Denoiser& inner, torch::Tensor y, torch::Tensor mask) : inner_(inner) {
    set_observation(std::move(y), std::move(mask));
}

void MaskedDenoiser::set_observation(torch::Tensor y, torch::Tensor mask) {
    LOLA_CHECK(y.defined() && mask.defined(), "MaskedDenoiser: the observation y and the mask must be defined");
    LOLA_CHECK(mask.dim() <= y.dim(),
               "MaskedDenoiser: the mask ({}) has more dimensions than y ({}); for a (B, n) window mask use "
               "nn::expand_window_mask(mask, x.dim())",
               fmt::join(mask.sizes(), ", "), fmt::join(y.sizes(), ", "));
    y_ = std::move(y);
    mask_ = std::move(mask);
}

Gaussian MaskedDenoiser::denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& label,
                                 const torch::Tensor& cond) const {
    torch::Tensor known;
    torch::Tensor y = y_.to(x_t.options());
    try {
        known = (mask_.to(x_t.device()) != 0).expand_as(x_t);
        y = y.expand_as(x_t);
    } catch (const c10::Error&) {
        LOLA_THROW("MaskedDenoiser: y ({}) and mask ({}) must broadcast to x_t ({})", fmt::join(y_.sizes(), ", "),
                   fmt::join(mask_.sizes(), ", "), fmt::join(x_t.sizes(), ", "));
    }
    torch::Tensor tt = t.to(x_t.device());
    torch::Tensor alpha = schedule().alpha(tt).to(x_t.scalar_type());
    torch::Tensor sigma = schedule().sigma(tt).to(x_t.scalar_type());
    torch::Tensor scale = broadcast_time(at::sqrt(at::square(alpha) + at::square(sigma)), x_t);
    torch::Tensor x_in = at::where(known, scale * y, x_t);
    Gaussian q = inner_.denoise(x_in, t, label, cond.defined() ? cond : nn::mask_channels(mask_, x_t));
    q.mean = at::where(known, y, q.mean);
    return q;
}

} // namespace lola::diffusion
