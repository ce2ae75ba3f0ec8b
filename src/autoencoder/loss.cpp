#include "lola/autoencoder/loss.h"

#include <algorithm>

#include "lola/core/config.h"
#include "lola/core/error.h"

namespace lola::autoencoder {

namespace {
void check_same(const torch::Tensor& x, const torch::Tensor& y, const char* what) {
    LOLA_CHECK(x.sizes() == y.sizes(), "{}: target and prediction shapes differ: ({}) vs ({})", what,
               fmt::join(x.sizes(), ", "), fmt::join(y.sizes(), ", "));
}
} // namespace

torch::Tensor loss_mse(const torch::Tensor& x, const torch::Tensor& y) {
    check_same(x, y, "loss_mse");
    return at::mean(at::square(x - y));
}

torch::Tensor loss_mae(const torch::Tensor& x, const torch::Tensor& y) {
    check_same(x, y, "loss_mae");
    return at::mean(at::abs(x - y));
}

torch::Tensor loss_vrmse(const torch::Tensor& x, const torch::Tensor& y, double eps) {
    check_same(x, y, "loss_vrmse");
    LOLA_CHECK(x.dim() >= 3, "loss_vrmse expects (B, C, S...), got ({})", fmt::join(x.sizes(), ", "));
    const int64_t b = x.size(0), c = x.size(1);
    torch::Tensor xf = x.reshape({b, c, -1}), yf = y.reshape({b, c, -1});
    LOLA_CHECK(xf.size(2) >= 2, "loss_vrmse needs >= 2 spatial positions, got ({})", fmt::join(x.sizes(), ", "));
    torch::Tensor mse = at::mean(at::square(xf - yf), /*dim=*/{2});
    torch::Tensor var = at::var(xf, /*dim=*/{2}, /*unbiased=*/true, /*keepdim=*/false);
    return at::mean(at::sqrt(mse / (var + eps)));
}

torch::Tensor loss_similarity(const torch::Tensor& z) {
    LOLA_CHECK(z.defined() && z.dim() >= 1, "loss_similarity needs the latents z (B, ...)");
    const int64_t b = z.size(0);
    if (b < 2) {
        return at::zeros({}, z.options());
    }
    torch::Tensor flat = z.reshape({b, -1});
    torch::Tensor unit = flat / at::clamp_min(at::linalg_vector_norm(flat, 2, {1}, /*keepdim=*/true), 1e-8);
    torch::Tensor cos = at::matmul(unit, unit.t());
    torch::Tensor upper = at::triu_indices(b, b, /*offset=*/1, z.options().dtype(torch::kLong));
    return at::mean(cos.index({upper[0], upper[1]}));
}

// ==== options ========================================================================================================

const std::vector<std::string>& AeLossOptions::names() {
    static const std::vector<std::string> kNames{"mse", "mae", "vrmse", "similarity"};
    return kNames;
}

YAML::Node AeLossOptions::defaults() { return YAML::Node(YAML::NodeType::Map); }

AeLossOptions AeLossOptions::from_config(const core::Config& cfg, const std::string& key) {
    AeLossOptions o;
    YAML::Node node = cfg.at(key);
    if (node.IsNull() || (node.IsMap() && node.size() == 0)) {
        return o; // {vrmse: 1.0}
    }
    LOLA_CHECK_USAGE(node.IsMap(), "config key '{}' must be a map of loss name to weight, e.g. {{vrmse: 1.0}}", key);
    o.weights.clear();
    for (const auto& kv : node) {
        const auto name = kv.first.as<std::string>();
        try {
            o.weights[name] = kv.second.as<double>();
        } catch (const YAML::Exception&) {
            LOLA_THROW_USAGE("config key '{}.{}' has value '{}', which is not a number", key, name,
                             core::Config::dump(kv.second));
        }
    }
    o.validate(key);
    return o;
}

void AeLossOptions::validate(const std::string& key) const {
    const auto& valid = names();
    bool any = false;
    for (const auto& [name, w] : weights) {
        if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
            const std::string hint = core::closest_match(name, valid);
            LOLA_THROW_USAGE("unknown loss '{}.{}'{} (valid: {})", key, name,
                             hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint), fmt::join(valid, ", "));
        }
        LOLA_CHECK_USAGE(w >= 0.0, "loss weight '{}.{}' = {} must be >= 0", key, name, w);
        any = any || w > 0.0;
    }
    LOLA_CHECK_USAGE(any, "'{}' gives no loss a positive weight (e.g. {}.vrmse=1.0)", key, key);
}

std::vector<std::pair<std::string, torch::Tensor>> ae_loss_terms(const torch::Tensor& x, const torch::Tensor& x_hat,
                                                                 const torch::Tensor& z, const AeLossOptions& options) {
    std::vector<std::pair<std::string, torch::Tensor>> terms;
    for (const auto& name : AeLossOptions::names()) {
        auto it = options.weights.find(name);
        if (it == options.weights.end() || it->second == 0.0) {
            continue;
        }
        torch::Tensor value;
        if (name == "mse") {
            value = loss_mse(x, x_hat);
        } else if (name == "mae") {
            value = loss_mae(x, x_hat);
        } else if (name == "vrmse") {
            value = loss_vrmse(x, x_hat);
        } else {
            value = loss_similarity(z);
        }
        terms.emplace_back(name, it->second * value);
    }
    return terms;
}

torch::Tensor ae_loss(const torch::Tensor& x, const torch::Tensor& x_hat, const torch::Tensor& z,
                      const AeLossOptions& options) {
    torch::Tensor total;
    for (auto& [name, term] : ae_loss_terms(x, x_hat, z, options)) {
        total = total.defined() ? total + term : term;
    }
    LOLA_CHECK(total.defined(), "ae_loss: no loss has a positive weight");
    return total;
}

} // namespace lola::autoencoder
