#include "lola/metrics/spectrum.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ensemble.h"
#include "lola/core/error.h"

namespace lola::metrics {

namespace {
constexpr double kPowerEps = 1e-6;
constexpr double kCrossEps = 1e-12;

torch::TensorOptions f64(torch::Device device) { return torch::TensorOptions().dtype(torch::kFloat64).device(device); }

/// The last n dims, as negative indices.
std::vector<int64_t> last_dims(int64_t n) {
    std::vector<int64_t> dims;
    for (int64_t d = -n; d < 0; ++d) {
        dims.push_back(d);
    }
    return dims;
}
} // namespace

const std::array<std::string, kNumBands>& band_names() {
    static const std::array<std::string, kNumBands> kNames{"low", "mid", "high", "sub"};
    return kNames;
}

std::array<double, kNumBands> band_edges(double k1) {
    LOLA_CHECK(k1 > 0.0 && std::isfinite(k1), "band_edges: k1 = {} must be a positive frequency (cycles/pixel)", k1);
    const double a = std::log2(k1), b = -1.0;
    std::array<double, kNumBands> e{};
    for (int j = 0; j < kNumBands; ++j) {
        e[j] = std::exp2(a + (b - a) * (j / 3.0));
    }
    // The ends exactly: the first kept bin (k = k1) belongs to the low band, and the high band ends at Nyquist.
    e[0] = k1;
    e[3] = 0.5;
    return e;
}

std::array<int64_t, kNumBands> SpectrumBinning::band_bins() const {
    std::array<int64_t, kNumBands> n{};
    torch::Tensor per_band = bands.sum(1).to(torch::kCPU);
    for (int j = 0; j < kNumBands; ++j) {
        n[j] = static_cast<int64_t>(std::llround(per_band[j].item<double>()));
    }
    return n;
}

SpectrumBinning spectrum_binning(torch::IntArrayRef shape, torch::Device device) {
    const auto n = static_cast<int64_t>(shape.size());
    LOLA_CHECK(n >= 1, "spectrum_binning: the spatial shape is empty; pass at least one spatial dim");
    for (int64_t s : shape) {
        LOLA_CHECK(s >= 2, "spectrum_binning: spatial shape ({}) has a dim of size {}; every dim needs >= 2 points",
                   fmt::join(shape, ", "), s);
    }
    SpectrumBinning out;
    out.shape.assign(shape.begin(), shape.end());
    const int64_t min_s = *std::min_element(shape.begin(), shape.end());
    out.bins = static_cast<int64_t>(std::floor(std::sqrt(static_cast<double>(n)) * static_cast<double>(min_s) / 2.0));
    LOLA_ASSERT(out.bins >= 1);

    // |k|^2 = sum_d fftfreq(S_d)^2 on the full grid, by broadcasting one axis at a time.
    const auto opts = f64(device);
    torch::Tensor k2 = torch::zeros(std::vector<int64_t>(static_cast<size_t>(n), 1), opts);
    for (int64_t d = 0; d < n; ++d) {
        std::vector<int64_t> view(static_cast<size_t>(n), 1);
        view[static_cast<size_t>(d)] = shape[static_cast<size_t>(d)];
        k2 = k2 + at::fft_fftfreq(shape[static_cast<size_t>(d)], 1.0, opts).square().reshape(view);
    }
    torch::Tensor kabs = at::sqrt(k2).reshape({-1});
    const double kmax = kabs.max().item<double>();
    out.edges = at::linspace(0.0, kmax, out.bins + 1, opts);
    out.edges[out.bins].fill_(kmax); // the last edge is max|k| exactly, so that the corner lands in bin B
    out.k = out.edges.slice(0, 1).clone();
    out.index = at::bucketize(kabs, out.edges, /*out_int32=*/false, /*right=*/false);
    out.counts = at::bincount(out.index, /*weights=*/{}, /*minlength=*/out.bins + 1).to(torch::kFloat64);

    const double k1 = out.edges[1].item<double>();
    out.band_edge = band_edges(k1);
    const auto& e = out.band_edge;
    std::vector<torch::Tensor> masks;
    for (int j = 0; j + 1 < kNumBands; ++j) {
        masks.push_back(at::logical_and(out.k >= e[j], out.k <= e[j + 1]));
    }
    masks.push_back(out.k >= 0.5);
    out.bands = at::stack(masks).to(torch::kFloat64);
    return out;
}

torch::Tensor bin_average(const torch::Tensor& q, const SpectrumBinning& binning) {
    const int64_t points = binning.index.numel();
    LOLA_CHECK(q.dim() >= 1 && q.size(-1) == points,
               "bin_average: expected (..., {}) values (the flattened grid ({})), got ({})", points,
               fmt::join(binning.shape, ", "), fmt::join(q.sizes(), ", "));
    std::vector<int64_t> lead(q.sizes().begin(), q.sizes().end() - 1);
    torch::Tensor flat = q.to(torch::kFloat64).reshape({-1, points});
    const int64_t rows = flat.size(0);
    torch::Tensor sums = torch::zeros({rows, binning.bins + 1}, flat.options());
    sums.scatter_add_(1, binning.index.to(flat.device()).unsqueeze(0).expand({rows, points}), flat);
    torch::Tensor mean = sums / binning.counts.to(flat.device()).clamp_min(1.0);
    lead.push_back(binning.bins);
    return mean.slice(1, 1).reshape(lead);
}

torch::Tensor band_rmse(const torch::Tensor& e, const SpectrumBinning& binning) {
    LOLA_CHECK(e.dim() >= 1 && e.size(-1) == binning.bins, "band_rmse: expected (..., {}) per-bin errors, got ({})",
               binning.bins, fmt::join(e.sizes(), ", "));
    torch::Tensor bands = binning.bands.to(e.device());
    // Sum over the bins of each band, then divide by the bin count: an empty band gives 0 / 0 = NaN.
    return at::sqrt(at::matmul(e.to(torch::kFloat64), bands.t()) / bands.sum(1));
}

torch::Tensor spectrum_error(const torch::Tensor& pu, const torch::Tensor& pv) {
    return at::square(1.0 - (pv + kPowerEps) / (pu + kPowerEps));
}

torch::Tensor cross_error(const torch::Tensor& pu, const torch::Tensor& pv, const torch::Tensor& cuv) {
    return at::square(1.0 - (cuv + kPowerEps) / at::sqrt(pu * pv + kCrossEps));
}

namespace detail {

EnsembleSpectra ensemble_spectra(const torch::Tensor& v, const SpectrumBinning& binning) {
    const auto n = static_cast<int64_t>(binning.shape.size());
    const int64_t k = v.size(0), m = v.size(1), points = binning.index.numel();
    torch::Tensor amp = at::abs(at::fft_fftn(v, c10::nullopt, last_dims(n), "ortho")).reshape({k, m, points});
    EnsembleSpectra s;
    s.power = bin_average(amp.square().mean(0), binning);
    s.amplitude = amp.mean(0);
    return s;
}

std::pair<torch::Tensor, torch::Tensor> band_errors(const torch::Tensor& u, const EnsembleSpectra& spectra,
                                                    const SpectrumBinning& binning) {
    const auto n = static_cast<int64_t>(binning.shape.size());
    const int64_t m = u.size(0), points = binning.index.numel();
    torch::Tensor amp = at::abs(at::fft_fftn(u, c10::nullopt, last_dims(n), "ortho")).reshape({m, points});
    torch::Tensor pu = bin_average(amp.square(), binning);
    // |F_u conj(F_v_k)| = |F_u| |F_v_k|; binning is linear, so the member mean moves inside.
    torch::Tensor cuv = bin_average(amp * spectra.amplitude, binning);
    return {band_rmse(spectrum_error(pu, spectra.power), binning),
            band_rmse(cross_error(pu, spectra.power, cuv), binning)};
}

} // namespace detail

PowerSpectrum isotropic_spectrum(const torch::Tensor& x, int64_t spatial_dims) {
    LOLA_CHECK(x.defined() && spatial_dims >= 1 && spatial_dims <= x.dim(),
               "isotropic_spectrum: spatial_dims = {} must be in 1..{} for x of shape ({})", spatial_dims,
               x.defined() ? x.dim() : 0, x.defined() ? fmt::format("{}", fmt::join(x.sizes(), ", ")) : "undefined");
    auto sizes = x.sizes();
    SpectrumBinning binning =
        spectrum_binning(sizes.slice(sizes.size() - static_cast<size_t>(spatial_dims)), x.device());
    std::vector<int64_t> flat(sizes.begin(), sizes.end() - spatial_dims);
    flat.push_back(-1);
    torch::Tensor f = at::fft_fftn(x.to(torch::kFloat64), c10::nullopt, last_dims(spatial_dims), "ortho");
    return {binning.k, bin_average(at::abs(f).square().reshape(flat), binning)};
}

torch::Tensor psrmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    detail::Ensemble e = detail::ensemble(u, v, spatial_dims, "psrmse");
    SpectrumBinning binning = spectrum_binning(e.spatial, e.u.device());
    torch::Tensor ps = detail::band_errors(e.u, detail::ensemble_spectra(e.v, binning), binning).first;
    return detail::unflatten_rows(ps, e.lead);
}

torch::Tensor ccrmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims) {
    detail::Ensemble e = detail::ensemble(u, v, spatial_dims, "ccrmse");
    SpectrumBinning binning = spectrum_binning(e.spatial, e.u.device());
    torch::Tensor cc = detail::band_errors(e.u, detail::ensemble_spectra(e.v, binning), binning).second;
    return detail::unflatten_rows(cc, e.lead);
}

} // namespace lola::metrics
