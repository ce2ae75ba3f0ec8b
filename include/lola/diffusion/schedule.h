// Noise schedules of the diffusion model (docs/method.md 4.1): x_t = alpha_t x + sigma_t eps for t in [0, 1].
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace lola::diffusion {

/// A noise schedule t -> (alpha_t, sigma_t) on [0, 1]; t = 0 is (almost) clean data, t = 1 (almost) pure noise.
/// alpha() and sigma() are elementwise: the result has the shape, dtype and device of t (t must be floating point).
/// By default they are evaluated in float64 internally and cast back, so float32 times lose nothing at the end points.
/// A schedule of precision kInputDtype evaluates in the dtype of the times instead, as the reference implementation does
/// (docs/reference.md, "The schedule's precision"): float32 times give float32 arithmetic, so sigma(1) of the default
/// log-logit schedule is 1e3 (1 + 3e-5) as in the reference, and a float32 sampler uses the float32 time grid.
enum class SchedulePrecision { kFloat64, kInputDtype };

class Schedule {
public:
    explicit Schedule(SchedulePrecision precision = SchedulePrecision::kFloat64) : precision_(precision) {}
    virtual ~Schedule() = default;

    /// The signal scale alpha_t, elementwise.
    virtual torch::Tensor alpha(const torch::Tensor& t) const = 0;
    /// The noise scale sigma_t, elementwise.
    virtual torch::Tensor sigma(const torch::Tensor& t) const = 0;
    /// The registry name ("log_logit", "log_linear").
    virtual std::string name() const = 0;

    /// alpha at one time, as a double: the tensor version on a 0-d CPU tensor of `dtype` (the dtype of the samples
    /// it is for; only a kInputDtype schedule computes in it).
    double alpha_at(double t, torch::ScalarType dtype = torch::kDouble) const;
    /// sigma at one time, as a double.
    double sigma_at(double t, torch::ScalarType dtype = torch::kDouble) const;
    SchedulePrecision precision() const { return precision_; }
    /// A time of a sampler's grid for samples of `dtype`: rounded to float32 for float32 samples of a kInputDtype
    /// schedule (the reference's float32 linspace), else unchanged.
    double grid_time(double t, torch::ScalarType dtype) const;

protected:
    /// `t` checked (defined, floating point) and cast to the dtype the schedule computes in.
    torch::Tensor compute_time(const torch::Tensor& t, const char* what) const;

private:
    SchedulePrecision precision_;
};

/// The default "log_logit" schedule: alpha_t = 1, sigma_t = exp(a logit(u) + b) with u = t (t_max - t_min) + t_min,
/// t_min = sigma_min / (1 + sigma_min), t_max = sigma_max / (1 + sigma_max). With a = 1, b = 0, sigma_t = u / (1 - u):
/// the rectified-flow path (alpha = 1 - u, sigma = u) in variance-exploding form, sigma in [sigma_min, sigma_max].
class LogLogitSchedule : public Schedule {
public:
    /// sigma_min < sigma_max, both > 0; a > 0 keeps sigma increasing in t.
    explicit LogLogitSchedule(double sigma_min = 1e-3, double sigma_max = 1e3, double a = 1.0, double b = 0.0,
                              SchedulePrecision precision = SchedulePrecision::kFloat64);

    torch::Tensor alpha(const torch::Tensor& t) const override;
    torch::Tensor sigma(const torch::Tensor& t) const override;
    std::string name() const override { return "log_logit"; }

private:
    double t_min_, t_max_, a_, b_;
};

/// The "log_linear" schedule: alpha_t = 1, sigma_t = exp((1 - t) log sigma_min + t log sigma_max).
class LogLinearSchedule : public Schedule {
public:
    /// 0 < sigma_min < sigma_max.
    explicit LogLinearSchedule(double sigma_min = 1e-3, double sigma_max = 1e3,
                               SchedulePrecision precision = SchedulePrecision::kFloat64);

    torch::Tensor alpha(const torch::Tensor& t) const override;
    torch::Tensor sigma(const torch::Tensor& t) const override;
    std::string name() const override { return "log_linear"; }

private:
    double log_min_, log_max_;
};

/// The valid schedule names: log_logit, log_linear.
const std::vector<std::string>& schedule_names();

/// A schedule by name; `a` and `b` only apply to log_logit. Unknown names and bad values are lola::UsageError.
std::shared_ptr<const Schedule> make_schedule(const std::string& name = "log_logit", double sigma_min = 1e-3,
                                              double sigma_max = 1e3, double a = 1.0, double b = 0.0,
                                              SchedulePrecision precision = SchedulePrecision::kFloat64);

/// The precision named in a config: "float64" (lola's default) or "input_dtype" (the reference's); anything else is a
/// UsageError naming `key`.
SchedulePrecision schedule_precision(const std::string& name, const std::string& key = "diffusion.schedule_precision");

} // namespace lola::diffusion
