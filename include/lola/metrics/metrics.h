// Per-frame evaluation metrics of ensemble forecasts (docs/method.md 10), as pure tensor functions.
//
// Conventions. The truth u has shape (C, L, *S) (fields, frames, N spatial dims); an ensemble v has shape
// (K, C, L, *S); a point prediction is K = 1 and may also be passed with the shape of u. More generally u may have any
// leading dims (lead..., *S) and v (K, lead..., *S); `spatial_dims` = N says how many trailing dims are spatial and
// -1 means u.dim() - 2. Every metric returns a float64 tensor of shape (lead...) = (C, L), on the device of u, and is
// computed in float64. <.> is the mean over the N spatial dims, v_bar = mean_k v_k the ensemble mean.
//
//   mse            <(u - v_bar)^2>
//   rmse           sqrt(mse) (= skill)
//   vrmse          sqrt(mse / (Var(u) + 1e-6)), Var the unbiased (n - 1) spatial variance of u
//   nrmse          sqrt(mse / (<u^2> + 1e-6))
//   total_error    1 - sum v_bar / sum u (spatial sums; the relative total error, a conservation check)
//   spread         sqrt((K + 1) / (K - 1) * mean_{k, space} (v_k - v_bar)^2); 0 for K = 1
//   spread_skill   (spread + 1e-3) / (skill + 1e-3)
//   crps           the fair CRPS: < mean_k |v_k - u| - 1 / (2 K (K - 1)) sum_{k, l} |v_k - v_l| >; for K = 1 the
//                  mean absolute error <|v_1 - u|>. The pair sum is taken over k < l (each pair once, doubled).
//   psrmse_<band>  power-spectrum band RMSE (spectrum.h), bands low, mid, high, sub
//   ccrmse_<band>  cross-correlation band RMSE (spectrum.h)
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lola::metrics {

/// The epsilon added to the VRMSE and NRMSE denominators.
constexpr double kVrmseEps = 1e-6;
/// The epsilon added to spread and skill in the spread-skill ratio.
constexpr double kSpreadSkillEps = 1e-3;

/// <(u - v_bar)^2> -> (lead...).
torch::Tensor mse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);
/// sqrt<(u - v_bar)^2> -> (lead...).
torch::Tensor rmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);
/// sqrt(<(u - v_bar)^2> / (Var_unbiased(u) + 1e-6)) -> (lead...), on the ensemble mean.
torch::Tensor vrmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);
/// sqrt(<(u - v_bar)^2> / (<u^2> + 1e-6)) -> (lead...).
torch::Tensor nrmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);
/// 1 - sum v_bar / sum u over space -> (lead...); inf or NaN where sum u = 0, as in the reference.
torch::Tensor relative_total_error(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);
/// sqrt((K + 1) / (K - 1) * mean_{k, space} (v_k - v_bar)^2) of v (K, lead..., *S) -> (lead...); 0 for K = 1.
/// spatial_dims = -1 means v.dim() - 3 (v is (K, C, L, *S)).
torch::Tensor spread(const torch::Tensor& v, int64_t spatial_dims = -1);
/// The RMSE of the ensemble mean (= rmse).
torch::Tensor skill(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);
/// (spread + 1e-3) / (skill + 1e-3) -> (lead...). The paper plots 0 for deterministic models; this function does not
/// (it gives 1e-3 / (skill + 1e-3) for identical members); see EvaluateOptions::deterministic.
torch::Tensor spread_skill_ratio(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);
/// The fair (unbiased in K) ensemble CRPS, averaged over space -> (lead...); see the top of this file.
torch::Tensor crps(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);

/// Named per-frame metrics: each value is a float64 tensor of shape (lead...) = (C, L). Names keep insertion order.
struct FrameMetrics {
    std::vector<std::pair<std::string, torch::Tensor>> items;

    /// The value named `name`; an error listing the available names if absent.
    const torch::Tensor& at(const std::string& name) const;
    /// Whether `name` is present.
    bool contains(const std::string& name) const;
    /// Add or replace `name`.
    void set(const std::string& name, torch::Tensor value);
    /// The names in order.
    std::vector<std::string> names() const;
    /// The number of metrics.
    size_t size() const { return items.size(); }
};

/// The names evaluate() produces, in order: vrmse, rmse, nrmse, total_error, spread, skill, spread_skill, crps,
/// psrmse_low, psrmse_mid, psrmse_high, psrmse_sub, ccrmse_low, ccrmse_mid, ccrmse_high, ccrmse_sub.
const std::vector<std::string>& metric_names();

/// The prefix of the metrics against the AE reconstruction in evaluate_both() ("rel_").
inline const std::string kRelativePrefix = "rel_";

/// Options of evaluate().
struct EvaluateOptions {
    int64_t spatial_dims = -1;  ///< N; -1 = u.dim() - 2
    bool deterministic = false; ///< a neural solver or AE: spread_skill is set to 0, as the paper plots it
    int64_t chunk_elements =
        int64_t{1} << 23; ///< K x rows x prod(S) elements per chunk; the peak memory is about 8 float64
                          ///< copies of a chunk; >= 1 (a chunk holds at least one row)
};

/// All metric_names() of the ensemble v against u at once, sharing the FFTs; the leading rows are processed in chunks
/// of about options.chunk_elements ensemble elements (at least one row per chunk).
FrameMetrics evaluate(const torch::Tensor& u, const torch::Tensor& v, const EvaluateOptions& options);
/// evaluate() with default options and the given spatial rank N.
FrameMetrics evaluate(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);

/// The absolute metrics (against the truth u) and the relative ones (against the AE reconstruction x_ae, same shape as
/// u), named metric_names() and kRelativePrefix + metric_names(), sharing the ensemble's FFTs. evaluate(x_ae, v) alone
/// gives the relative metrics under the plain names.
FrameMetrics evaluate_both(const torch::Tensor& u, const torch::Tensor& x_ae, const torch::Tensor& v,
                           const EvaluateOptions& options = {});

} // namespace lola::metrics
