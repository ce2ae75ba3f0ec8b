#include "lola/data/transform.h"

#include "lola/core/error.h"

namespace lola::data {

Transform parse_transform(const std::string& name) {
    if (name == "none" || name.empty()) {
        return Transform::kNone;
    }
    if (name == "log1p") {
        return Transform::kLog1p;
    }
    if (name == "log") {
        return Transform::kLogEps;
    }
    LOLA_THROW_USAGE("unknown transform '{}' (valid: none, log1p, log)", name);
}

const char* transform_name(Transform t) {
    switch (t) {
        case Transform::kLog1p:
            return "log1p";
        case Transform::kLogEps:
            return "log";
        default:
            return "none";
    }
}

Preprocessor::Preprocessor(std::vector<Transform> transforms, std::vector<double> mean, std::vector<double> std)
    : transforms_(std::move(transforms)), mean_(std::move(mean)), std_(std::move(std)) {
    LOLA_CHECK_USAGE(mean_.size() == transforms_.size() && std_.size() == transforms_.size(),
                     "preprocessing needs one mean and one std per channel: {} channels, {} means, {} stds",
                     transforms_.size(), mean_.size(), std_.size());
    for (size_t c = 0; c < std_.size(); ++c) {
        LOLA_CHECK_USAGE(std_[c] > 0, "dataset.stats.std[{}] = {} must be > 0", c, std_[c]);
    }
}

namespace {
torch::Tensor apply(const torch::Tensor& x, int64_t channel_dim, int64_t n,
                    const std::function<torch::Tensor(const torch::Tensor&, int64_t)>& fn) {
    const int64_t dim = channel_dim < 0 ? channel_dim + x.dim() : channel_dim;
    LOLA_CHECK(dim >= 0 && dim < x.dim() && x.size(dim) == n, "expected {} channels on dim {} of a tensor of shape {}",
               n, channel_dim, fmt::format("{}", fmt::join(x.sizes(), "x")));
    std::vector<torch::Tensor> parts;
    parts.reserve(static_cast<size_t>(n));
    for (int64_t c = 0; c < n; ++c) {
        parts.push_back(fn(x.select(dim, c), c));
    }
    return torch::stack(parts, dim);
}
} // namespace

torch::Tensor Preprocessor::transform_only(const torch::Tensor& x, int64_t channel_dim) const {
    return apply(x, channel_dim, n_channels(), [&](const torch::Tensor& v, int64_t c) {
        switch (transforms_[static_cast<size_t>(c)]) {
            case Transform::kLog1p:
                return torch::log1p(v);
            case Transform::kLogEps:
                return torch::log(v + 1e-6);
            default:
                return v;
        }
    });
}

torch::Tensor Preprocessor::forward(const torch::Tensor& x, int64_t channel_dim) const {
    torch::Tensor t = transform_only(x, channel_dim);
    return apply(t, channel_dim, n_channels(), [&](const torch::Tensor& v, int64_t c) {
        return (v - mean_[static_cast<size_t>(c)]) / std_[static_cast<size_t>(c)];
    });
}

torch::Tensor Preprocessor::inverse(const torch::Tensor& y, int64_t channel_dim) const {
    return apply(y, channel_dim, n_channels(), [&](const torch::Tensor& v, int64_t c) {
        torch::Tensor u = v * std_[static_cast<size_t>(c)] + mean_[static_cast<size_t>(c)];
        switch (transforms_[static_cast<size_t>(c)]) {
            case Transform::kLog1p:
                return torch::expm1(u);
            case Transform::kLogEps:
                return torch::exp(u) - 1e-6;
            default:
                return u;
        }
    });
}

} // namespace lola::data
