#include "lola/nn/mask.h"

#include <vector>

#include "lola/core/error.h"
#include "lola/core/shape.h"

namespace lola::nn {

torch::Tensor expand_window_mask(const torch::Tensor& window_mask, int64_t x_dim) {
    LOLA_CHECK(window_mask.defined() && (window_mask.dim() == 1 || window_mask.dim() == 2),
               "a window mask must be (B, n) or (n), got {}", core::shape_str(window_mask));
    LOLA_CHECK(x_dim >= 3, "a window mask applies to windows (B, C, n, spatial...), got a {}-d x", x_dim);
    torch::Tensor m = window_mask.dim() == 1 ? window_mask.unsqueeze(0) : window_mask;
    std::vector<int64_t> shape(static_cast<size_t>(x_dim), 1);
    shape[0] = m.size(0);
    shape[2] = m.size(1);
    return m.reshape(shape);
}

torch::Tensor mask_channels(const torch::Tensor& mask, const torch::Tensor& x) {
    LOLA_CHECK(mask.defined(), "mask_channels: the mask is undefined");
    return (mask.to(x.device()) != 0).to(x.scalar_type()).expand_as(x).contiguous();
}

torch::Tensor window_mask_channels(const torch::Tensor& known, const torch::Tensor& window) {
    LOLA_CHECK(window.defined() && window.dim() >= 3, "mask_channels: the window must be (B, C, n, spatial...), got {}",
               core::shape_str(window));
    const int64_t n = window.size(2);
    LOLA_CHECK(known.defined() && known.dim() >= 1 && known.dim() <= 2 && known.size(-1) == n,
               "mask_channels: known must be (n) or (B, n) with n = {}, got {}", n, core::shape_str(known));
    return mask_channels(expand_window_mask(known, window.dim()), window);
}

} // namespace lola::nn
