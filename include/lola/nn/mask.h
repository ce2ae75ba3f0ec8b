// Masks of known window states as a backbone sees them: shared by the diffusion model (MaskedDenoiser, its training
// loss) and the deterministic neural solver, so neither depends on the other.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace lola::nn {

/// A window mask (B, n) or (n), bool or 0/1 float, reshaped to broadcast against a window x (B, C, n, spatial...) with
/// `x_dim` dimensions: (B, 1, n, 1, ...) (or (1, 1, n, 1, ...)). The dtype is kept.
torch::Tensor expand_window_mask(const torch::Tensor& window_mask, int64_t x_dim);

/// The mask as 0/1 channels in the dtype of x with the full shape of x (B, C, n, spatial...), contiguous: the `cond`
/// a backbone receives (concatenated to its input, so the backbone has 2C input channels; docs/method.md 4.3).
/// `mask` must broadcast to x (e.g. (B, 1, n, 1, 1) from expand_window_mask).
torch::Tensor mask_channels(const torch::Tensor& mask, const torch::Tensor& x);

/// mask_channels(expand_window_mask(known, window.dim()), window), checking first that known (B, n) or (n) has the
/// window's n = window.size(2) entries: window (B, C, n, spatial...) -> (B, C, n, spatial...) of 0/1.
torch::Tensor window_mask_channels(const torch::Tensor& known, const torch::Tensor& window);

} // namespace lola::nn
