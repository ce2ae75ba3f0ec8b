// Observation operators of guided sampling (docs/method.md 7, the paper's data assimilation, Figure 6): a linear map
// A from states to what an instrument sees, with its adjoint A^T, for the MMPS guidance that conditions an emulator
// on observations y = A(x) + noise. Two operators, each by a factor k on every spatial axis:
//   subsample:k   keep every k-th cell, starting at the first (x[..., ::k, ::k]);
//   downscale:k   average over k x k (x k) blocks (mean pooling).
// They act on the last `spatial_axes` axes of any tensor (B, C, [L,] S_1, ..., S_N), N = 2 or 3, and are written with
// differentiable tensor operations, so that autograd's vector-Jacobian product of apply() is adjoint().
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lola::diffusion {

class ObservationOperator {
public:
    enum class Kind { kSubsample, kDownscale };

    /// `factor` >= 1 on each of the last `spatial_axes` (>= 1) axes. UsageError otherwise.
    ObservationOperator(Kind kind, int64_t factor, int64_t spatial_axes);

    /// "subsample:K" or "downscale:K" (the `--observe` value). UsageError naming the text and the valid forms.
    static ObservationOperator parse(const std::string& text, int64_t spatial_axes);

    /// The shape of A(x) for states of `x_shape`. UsageError when an axis is shorter than the operator needs or
    /// `factor` does not divide it (naming the operator, the axis and its size).
    std::vector<int64_t> observed_shape(at::IntArrayRef x_shape) const;

    /// A(x): differentiable, linear.
    torch::Tensor apply(const torch::Tensor& x) const;

    /// A^T(y) for states of `x_shape` (y of observed_shape(x_shape)): subsample scatters y into zeros, downscale
    /// spreads every value over its block divided by the block's size.
    torch::Tensor adjoint(const torch::Tensor& y, at::IntArrayRef x_shape) const;

    Kind kind() const { return kind_; }
    int64_t factor() const { return factor_; }
    int64_t spatial_axes() const { return spatial_axes_; }
    /// "subsample:16"
    std::string str() const;

private:
    Kind kind_;
    int64_t factor_;
    int64_t spatial_axes_;
};

} // namespace lola::diffusion
