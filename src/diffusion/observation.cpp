#include "lola/diffusion/observation.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "lola/core/error.h"

namespace lola::diffusion {

namespace {

const char* kind_name(ObservationOperator::Kind kind) {
    return kind == ObservationOperator::Kind::kSubsample ? "subsample" : "downscale";
}

/// The view of every k-th cell of t's last `axes` axes: A(x) of subsample, and where its adjoint writes.
torch::Tensor every_kth(torch::Tensor t, int64_t k, int64_t axes) {
    for (int64_t d = t.dim() - axes; d < t.dim(); ++d) {
        t = t.slice(d, 0, c10::nullopt, k);
    }
    return t;
}

} // namespace

ObservationOperator::ObservationOperator(Kind kind, int64_t factor, int64_t spatial_axes)
    : kind_(kind), factor_(factor), spatial_axes_(spatial_axes) {
    LOLA_CHECK_USAGE(factor >= 1, "observation operator {}:{}: the factor must be >= 1", kind_name(kind), factor);
    LOLA_CHECK_USAGE(spatial_axes >= 1, "observation operator {}: {} spatial axes, need >= 1", kind_name(kind),
                     spatial_axes);
}

ObservationOperator ObservationOperator::parse(const std::string& text, int64_t spatial_axes) {
    const auto colon = text.find(':');
    const std::string name = text.substr(0, colon);
    const std::string k = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    char* end = nullptr;
    const long long factor = k.empty() ? 0 : std::strtoll(k.c_str(), &end, 10);
    const bool number = !k.empty() && end != nullptr && *end == '\0';
    LOLA_CHECK_USAGE((name == "subsample" || name == "downscale") && number && factor >= 1,
                     "observation operator '{}': valid forms are subsample:K (keep every K-th cell on each spatial "
                     "axis) and downscale:K (average over K x K blocks), with an integer K >= 1",
                     text);
    return {name == "subsample" ? Kind::kSubsample : Kind::kDownscale, factor, spatial_axes};
}

std::string ObservationOperator::str() const { return fmt::format("{}:{}", kind_name(kind_), factor_); }

std::vector<int64_t> ObservationOperator::observed_shape(at::IntArrayRef x_shape) const {
    const auto n = static_cast<int64_t>(x_shape.size());
    LOLA_CHECK_USAGE(n >= spatial_axes_,
                     "observation operator {}: the states have {} axes, fewer than its {} spatial "
                     "axes",
                     str(), n, spatial_axes_);
    std::vector<int64_t> out = x_shape.vec();
    for (int64_t d = n - spatial_axes_; d < n; ++d) {
        const int64_t size = x_shape[static_cast<size_t>(d)];
        LOLA_CHECK_USAGE(size % factor_ == 0,
                         "observation operator {} does not fit the grid: axis {} has {} cells, which {} does not "
                         "divide; choose a factor that divides every spatial size ({})",
                         str(), d, size, factor_,
                         fmt::join(x_shape.slice(static_cast<size_t>(n - spatial_axes_)), " x "));
        out[static_cast<size_t>(d)] = size / factor_;
    }
    return out;
}

torch::Tensor ObservationOperator::apply(const torch::Tensor& x) const {
    const std::vector<int64_t> out = observed_shape(x.sizes());
    const int64_t n = x.dim();
    if (kind_ == Kind::kSubsample) {
        return every_kth(x, factor_, spatial_axes_);
    }
    // (..., S_1 / k, k, ..., S_N / k, k), averaged over the k axes
    std::vector<int64_t> blocks(x.sizes().begin(), x.sizes().end() - spatial_axes_);
    std::vector<int64_t> reduce;
    for (int64_t d = n - spatial_axes_; d < n; ++d) {
        blocks.push_back(out[static_cast<size_t>(d)]);
        blocks.push_back(factor_);
        reduce.push_back(static_cast<int64_t>(blocks.size()) - 1);
    }
    return x.reshape(blocks).mean(reduce);
}

torch::Tensor ObservationOperator::adjoint(const torch::Tensor& y, at::IntArrayRef x_shape) const {
    const std::vector<int64_t> out = observed_shape(x_shape);
    LOLA_CHECK_USAGE(y.sizes() == at::IntArrayRef(out),
                     "observation operator {}: observations of shape ({}) do not match states of shape ({}), which "
                     "give ({})",
                     str(), fmt::join(y.sizes(), ", "), fmt::join(x_shape, ", "), fmt::join(out, ", "));
    const auto n = static_cast<int64_t>(x_shape.size());
    if (kind_ == Kind::kSubsample) {
        torch::Tensor x = torch::zeros(x_shape, y.options());
        every_kth(x, factor_, spatial_axes_).copy_(y);
        return x;
    }
    // every observed value spread over its block, divided by the block's cell count
    std::vector<int64_t> blocks(out.begin(), out.end() - spatial_axes_);
    std::vector<int64_t> expanded = blocks;
    for (int64_t d = n - spatial_axes_; d < n; ++d) {
        blocks.push_back(out[static_cast<size_t>(d)]);
        blocks.push_back(1);
        expanded.push_back(out[static_cast<size_t>(d)]);
        expanded.push_back(factor_);
    }
    const double cells = std::pow(static_cast<double>(factor_), static_cast<double>(spatial_axes_));
    return (y.reshape(blocks).expand(expanded) / cells).reshape(x_shape);
}

} // namespace lola::diffusion
