#include "lola/metrics/metrics.h"

#include <algorithm>

#include "ensemble.h"
#include "lola/core/error.h"
#include "lola/metrics/spectrum.h"

namespace lola::metrics {

// ==== shapes =========================================================================================================

namespace detail {

int64_t resolve_spatial(int64_t u_dim, int64_t spatial_dims, const char* what) {
    const int64_t n = spatial_dims == -1 ? u_dim - 2 : spatial_dims;
    LOLA_CHECK(n >= 1 && n <= u_dim,
               "{}: spatial_dims = {} is invalid for a truth of {} dims; pass 1..{} (or -1 for dim - 2 with a truth "
               "of shape (C, L, *S))",
               what, spatial_dims, u_dim, std::max<int64_t>(u_dim, 1));
    return n;
}

Ensemble ensemble(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims, const char* what,
                  bool to_double) {
    LOLA_CHECK(v.defined(), "{}: the ensemble v is undefined", what);
    Ensemble e;
    torch::Tensor v5 = v;
    int64_t u_dim = v.dim() - 1;
    if (u.defined()) {
        u_dim = u.dim();
        LOLA_CHECK(u.device() == v.device(), "{}: the truth is on {} but the ensemble on {}; move both to one device",
                   what, u.device().str(), v.device().str());
        if (v.dim() == u.dim() && v.sizes() == u.sizes()) {
            v5 = v.unsqueeze(0); // a point prediction
        } else {
            LOLA_CHECK(v.dim() == u.dim() + 1 && v.sizes().slice(1) == u.sizes(),
                       "{}: the ensemble v must have shape (K, {}) or ({}) to match the truth u, got ({})", what,
                       fmt::join(u.sizes(), ", "), fmt::join(u.sizes(), ", "), fmt::join(v.sizes(), ", "));
        }
    } else {
        LOLA_CHECK(v.dim() >= 2, "{}: the ensemble v must be (K, ..., *S), got ({})", what, fmt::join(v.sizes(), ", "));
    }
    const int64_t n = resolve_spatial(u_dim, spatial_dims, what);
    auto inner = v5.sizes().slice(1); // (lead..., *S)
    e.lead.assign(inner.begin(), inner.end() - n);
    e.spatial.assign(inner.end() - n, inner.end());
    e.members = v5.size(0);
    e.rows = 1;
    for (int64_t s : e.lead) {
        e.rows *= s;
    }
    int64_t points = 1;
    for (int64_t s : e.spatial) {
        points *= s;
    }
    LOLA_CHECK(points >= 2 && e.members >= 1 && e.rows >= 1,
               "{}: needs >= 1 member, >= 1 row and >= 2 spatial points; got v of shape ({}) with spatial dims ({})",
               what, fmt::join(v5.sizes(), ", "), fmt::join(e.spatial, ", "));
    std::vector<int64_t> u_shape{e.rows}, v_shape{e.members, e.rows};
    u_shape.insert(u_shape.end(), e.spatial.begin(), e.spatial.end());
    v_shape.insert(v_shape.end(), e.spatial.begin(), e.spatial.end());
    if (u.defined()) {
        e.u = (to_double ? u.to(torch::kFloat64) : u).reshape(u_shape);
    }
    e.v = (to_double ? v5.to(torch::kFloat64) : v5).reshape(v_shape);
    return e;
}

torch::Tensor unflatten_rows(const torch::Tensor& x, const std::vector<int64_t>& lead) {
    std::vector<int64_t> shape = lead;
    shape.insert(shape.end(), x.sizes().begin() + 1, x.sizes().end());
    return x.reshape(shape);
}

} // namespace detail

// ==== the ensemble's and the reference's terms =======================================================================

namespace {

/// The reference-independent terms of an ensemble chunk v (K, m, P) (flattened space).
struct MemberTerms {
    torch::Tensor v;      ///< (K, m, P)
    torch::Tensor mean;   ///< (m, P) the ensemble mean v_bar
    torch::Tensor spread; ///< (m)
    torch::Tensor pair;   ///< (m, P): 1 / (2 K (K - 1)) sum_{k,l} |v_k - v_l| per point (0 for K = 1)
};

MemberTerms member_terms(const torch::Tensor& v_flat, bool with_pair = true) {
    MemberTerms t;
    const int64_t k = v_flat.size(0);
    t.v = v_flat;
    t.mean = v_flat.mean(0);
    if (k == 1) {
        t.spread = torch::zeros({v_flat.size(1)}, v_flat.options());
        t.pair = torch::zeros_like(t.mean);
        return t;
    }
    const double kd = static_cast<double>(k);
    t.spread = at::sqrt((kd + 1.0) / (kd - 1.0) * at::square(v_flat - t.mean).mean(torch::IntArrayRef{0, 2}));
    if (with_pair) {
        // 1 / (2 K (K - 1)) sum_{k,l} |v_k - v_l| = 1 / (K (K - 1)) sum_{k<l} |v_k - v_l|, one member against the
        // later ones at a time (cheaper than sorting the members per point).
        torch::Tensor sum = torch::zeros_like(t.mean);
        for (int64_t i = 0; i + 1 < k; ++i) {
            sum += at::abs(v_flat.slice(0, i + 1) - v_flat[i]).sum(0);
        }
        t.pair = sum / (kd * (kd - 1.0));
    }
    return t;
}

torch::Tensor mse_of(const torch::Tensor& u_flat, const torch::Tensor& mean) {
    return at::square(mean - u_flat).mean(-1);
}

torch::Tensor crps_of(const torch::Tensor& u_flat, const MemberTerms& t) {
    return (at::abs(t.v - u_flat).mean(0) - t.pair).mean(-1);
}

/// Flatten the spatial dims of u (m, *S) -> (m, P) and v (K, m, *S) -> (K, m, P).
torch::Tensor flat_u(const torch::Tensor& u) { return u.reshape({u.size(0), -1}); }
torch::Tensor flat_v(const torch::Tensor& v) { return v.reshape({v.size(0), v.size(1), -1}); }

} // namespace

torch::Tensor mse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    detail::Ensemble e = detail::ensemble(u, v, spatial_dims, "mse");
    return detail::unflatten_rows(mse_of(flat_u(e.u), flat_v(e.v).mean(0)), e.lead);
}

torch::Tensor rmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    return at::sqrt(mse(u, v, spatial_dims));
}

torch::Tensor skill(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    return rmse(u, v, spatial_dims);
}

torch::Tensor vrmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    detail::Ensemble e = detail::ensemble(u, v, spatial_dims, "vrmse");
    torch::Tensor uf = flat_u(e.u);
    torch::Tensor var = at::var(uf, /*dim=*/{1}, /*unbiased=*/true, /*keepdim=*/false);
    return detail::unflatten_rows(at::sqrt(mse_of(uf, flat_v(e.v).mean(0)) / (var + kVrmseEps)), e.lead);
}

torch::Tensor nrmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    detail::Ensemble e = detail::ensemble(u, v, spatial_dims, "nrmse");
    torch::Tensor uf = flat_u(e.u);
    return detail::unflatten_rows(at::sqrt(mse_of(uf, flat_v(e.v).mean(0)) / (at::square(uf).mean(-1) + kVrmseEps)),
                                  e.lead);
}

torch::Tensor relative_total_error(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    detail::Ensemble e = detail::ensemble(u, v, spatial_dims, "relative_total_error");
    torch::Tensor uf = flat_u(e.u);
    return detail::unflatten_rows(1.0 - flat_v(e.v).mean(0).sum(-1) / uf.sum(-1), e.lead);
}

torch::Tensor spread(const torch::Tensor& v, int64_t spatial_dims) {
    detail::Ensemble e = detail::ensemble(torch::Tensor(), v, spatial_dims, "spread");
    return detail::unflatten_rows(member_terms(flat_v(e.v), /*with_pair=*/false).spread, e.lead);
}

torch::Tensor spread_skill_ratio(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    detail::Ensemble e = detail::ensemble(u, v, spatial_dims, "spread_skill_ratio");
    MemberTerms t = member_terms(flat_v(e.v), /*with_pair=*/false);
    torch::Tensor sk = at::sqrt(mse_of(flat_u(e.u), t.mean));
    return detail::unflatten_rows((t.spread + kSpreadSkillEps) / (sk + kSpreadSkillEps), e.lead);
}

torch::Tensor crps(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    detail::Ensemble e = detail::ensemble(u, v, spatial_dims, "crps");
    return detail::unflatten_rows(crps_of(flat_u(e.u), member_terms(flat_v(e.v))), e.lead);
}

// ==== FrameMetrics ===================================================================================================

const torch::Tensor& FrameMetrics::at(const std::string& name) const {
    for (const auto& [n, value] : items) {
        if (n == name) {
            return value;
        }
    }
    LOLA_THROW("no metric named '{}'; available: {}", name, fmt::join(names(), ", "));
}

bool FrameMetrics::contains(const std::string& name) const {
    return std::any_of(items.begin(), items.end(), [&](const auto& item) { return item.first == name; });
}

void FrameMetrics::set(const std::string& name, torch::Tensor value) {
    for (auto& [n, v] : items) {
        if (n == name) {
            v = std::move(value);
            return;
        }
    }
    items.emplace_back(name, std::move(value));
}

std::vector<std::string> FrameMetrics::names() const {
    std::vector<std::string> out;
    out.reserve(items.size());
    for (const auto& item : items) {
        out.push_back(item.first);
    }
    return out;
}

const std::vector<std::string>& metric_names() {
    static const std::vector<std::string> kNames = [] {
        std::vector<std::string> names{"vrmse",  "rmse",  "nrmse",        "total_error",
                                       "spread", "skill", "spread_skill", "crps"};
        for (const char* kind : {"psrmse_", "ccrmse_"}) {
            for (const auto& band : band_names()) {
                names.push_back(kind + band);
            }
        }
        return names;
    }();
    return kNames;
}

// ==== evaluate =======================================================================================================

namespace {

/// The metric_names() values (each (m)) of one reference chunk u (m, *S) against the ensemble.
std::vector<torch::Tensor> reference_metrics(const torch::Tensor& u, const MemberTerms& t,
                                             const detail::EnsembleSpectra& spectra, const SpectrumBinning& binning,
                                             bool deterministic) {
    torch::Tensor uf = flat_u(u);
    torch::Tensor mse = mse_of(uf, t.mean);
    torch::Tensor var = at::var(uf, /*dim=*/{1}, /*unbiased=*/true, /*keepdim=*/false);
    torch::Tensor rmse = at::sqrt(mse);
    torch::Tensor ratio =
        deterministic ? torch::zeros_like(rmse) : (t.spread + kSpreadSkillEps) / (rmse + kSpreadSkillEps);
    auto [ps, cc] = detail::band_errors(u, spectra, binning);
    std::vector<torch::Tensor> out{
        at::sqrt(mse / (var + kVrmseEps)),                     // vrmse
        rmse,                                                  // rmse
        at::sqrt(mse / (at::square(uf).mean(-1) + kVrmseEps)), // nrmse
        1.0 - t.mean.sum(-1) / uf.sum(-1),                     // total_error
        t.spread,                                              // spread
        rmse,                                                  // skill
        ratio,                                                 // spread_skill
        crps_of(uf, t),                                        // crps
    };
    for (const torch::Tensor& bands : {ps, cc}) {
        for (int64_t j = 0; j < kNumBands; ++j) {
            out.push_back(bands.select(1, j));
        }
    }
    LOLA_ASSERT(out.size() == metric_names().size());
    return out;
}

FrameMetrics evaluate_refs(const std::vector<torch::Tensor>& refs, const std::vector<std::string>& prefixes,
                           const torch::Tensor& v, const EvaluateOptions& options, const char* what) {
    LOLA_CHECK(options.chunk_elements >= 1, "{}: chunk_elements = {} must be >= 1", what, options.chunk_elements);
    for (const auto& ref : refs) {
        LOLA_CHECK(ref.defined(), "{}: a reference tensor is undefined", what);
        LOLA_CHECK(ref.sizes() == refs[0].sizes(), "{}: the AE reconstruction ({}) must have the truth's shape ({})",
                   what, fmt::join(ref.sizes(), ", "), fmt::join(refs[0].sizes(), ", "));
    }
    // Shape views in the input dtype; each chunk is converted to float64 on its own, which bounds the memory.
    detail::Ensemble e = detail::ensemble(refs[0], v, options.spatial_dims, what, /*to_double=*/false);
    std::vector<torch::Tensor> ref_views;
    for (const auto& ref : refs) {
        ref_views.push_back(ref.reshape(e.u.sizes()));
    }
    SpectrumBinning binning = spectrum_binning(e.spatial, e.v.device());
    std::vector<std::vector<std::vector<torch::Tensor>>> parts(
        refs.size(), std::vector<std::vector<torch::Tensor>>(metric_names().size()));
    int64_t points = 1;
    for (int64_t s : e.spatial) {
        points *= s;
    }
    const int64_t step = std::max<int64_t>(1, options.chunk_elements / (e.members * points));
    for (int64_t r0 = 0; r0 < e.rows; r0 += step) {
        const int64_t r1 = std::min(e.rows, r0 + step);
        torch::Tensor vc = e.v.slice(1, r0, r1).to(torch::kFloat64);
        MemberTerms t = member_terms(flat_v(vc));
        detail::EnsembleSpectra spectra = detail::ensemble_spectra(vc, binning);
        for (size_t i = 0; i < refs.size(); ++i) {
            torch::Tensor uc = ref_views[i].slice(0, r0, r1).to(torch::kFloat64);
            std::vector<torch::Tensor> values = reference_metrics(uc, t, spectra, binning, options.deterministic);
            for (size_t j = 0; j < values.size(); ++j) {
                parts[i][j].push_back(values[j]);
            }
        }
    }
    FrameMetrics out;
    for (size_t i = 0; i < refs.size(); ++i) {
        for (size_t j = 0; j < metric_names().size(); ++j) {
            out.set(prefixes[i] + metric_names()[j], detail::unflatten_rows(at::cat(parts[i][j]), e.lead));
        }
    }
    return out;
}

} // namespace

FrameMetrics evaluate(const torch::Tensor& u, const torch::Tensor& v, const EvaluateOptions& options) {
    return evaluate_refs({u}, {""}, v, options, "evaluate");
}

FrameMetrics evaluate(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    EvaluateOptions options;
    options.spatial_dims = spatial_dims;
    return evaluate(u, v, options);
}

FrameMetrics evaluate_both(const torch::Tensor& u, const torch::Tensor& x_ae, const torch::Tensor& v,
                           const EvaluateOptions& options) {
    return evaluate_refs({u, x_ae}, {"", kRelativePrefix}, v, options, "evaluate_both");
}

} // namespace lola::metrics
