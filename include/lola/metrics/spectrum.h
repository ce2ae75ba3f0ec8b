// Isotropic power spectra and spectral band errors (docs/method.md 10).
//
// A field x with spatial shape S = (S_1, ..., S_N) is transformed with the orthonormal N-D FFT, P = |F|^2 is binned
// radially by |k| = sqrt(sum_d fftfreq(S_d)^2) (cycles per pixel) into B = floor(sqrt(N) * min(S) / 2) bins with edges
// linspace(0, max|k|, B + 1), right-closed (edges[b-1] < |k| <= edges[b]), averaged within each bin; bin 0 (the DC
// component alone) is dropped and bin b is represented by its upper edge k_b = edges[b].
//
// The band errors compare binned spectra over four bands built from k_1 = edges[1]: the log-spaced edges
// e_j = 2^lerp(log2 k_1, -1, j/3), j = 0..3 (e_0 = k_1, e_3 = 0.5), give low = [e_0, e_1], mid = [e_1, e_2],
// high = [e_2, e_3] (closed) and the unreported "sub" band k >= 0.5 (the super-Nyquist corners of the grid).
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lola::metrics {

/// The number of spectral bands: low, mid, high (reported in the paper) and sub (k >= 0.5, computed, not reported).
constexpr int64_t kNumBands = 4;

/// The band names, in order: "low", "mid", "high", "sub".
const std::array<std::string, kNumBands>& band_names();

/// The four log-spaced band edges e_j = 2^lerp(log2 k1, -1, j/3), j = 0..3, from the first bin's upper edge k1
/// (0 < k1 < 0.5). e_0 = k1 and e_3 = 0.5 exactly.
std::array<double, kNumBands> band_edges(double k1);

/// The radial binning of one spatial grid, computed once and shared by every spectrum on that grid. All tensors live
/// on `device` of spectrum_binning().
struct SpectrumBinning {
    std::vector<int64_t> shape; ///< the spatial shape S
    int64_t bins = 0;           ///< B = floor(sqrt(N) * min(S) / 2)
    torch::Tensor edges;        ///< (B + 1) float64: linspace(0, max|k|, B + 1)
    torch::Tensor k;            ///< (B) float64: the upper edges edges[1:], one per kept bin
    torch::Tensor index;        ///< (prod S) int64: the bin (0..B) of each point of the row-major flattened grid
    torch::Tensor counts;       ///< (B + 1) float64: grid points per bin; counts[0] = 1 (DC alone)
    std::array<double, kNumBands> band_edge{}; ///< band_edges(k1) with k1 = edges[1]
    torch::Tensor bands; ///< (4, B) float64 0/1: membership of each kept bin in low, mid, high, sub

    /// The number of kept bins in each band (low, mid, high, sub).
    std::array<int64_t, kNumBands> band_bins() const;
};

/// The binning of a grid of spatial shape `shape` (N = shape.size() >= 1 dims, each >= 2). |k| and the edges are
/// float64.
SpectrumBinning spectrum_binning(torch::IntArrayRef shape, torch::Device device = torch::kCPU);

/// A binned isotropic spectrum: k (B) the bin upper edges and p (..., B) the mean power per bin.
struct PowerSpectrum {
    torch::Tensor k; ///< (B) float64
    torch::Tensor p; ///< (..., B) float64
};

/// The isotropic power spectrum of x (..., *S) over its last `spatial_dims` dims: P = |FFT_ortho(x)|^2 binned as
/// described at the top of this file, in float64. For a zero-mean x, sum_b p_b * counts[b] = sum x^2 (Parseval).
PowerSpectrum isotropic_spectrum(const torch::Tensor& x, int64_t spatial_dims);

/// Bin a per-grid-point quantity q (..., prod S) (row-major flattened grid, float64) into (..., B): the mean within
/// each bin, bin 0 dropped. Empty bins give 0.
torch::Tensor bin_average(const torch::Tensor& q, const SpectrumBinning& binning);

/// Band RMSE of per-bin squared errors e (..., B): sqrt of the mean of e over the bins of each band -> (..., 4)
/// (low, mid, high, sub). A band without bins gives NaN.
torch::Tensor band_rmse(const torch::Tensor& e, const SpectrumBinning& binning);

/// The power-spectrum error per bin: (1 - (pv + 1e-6) / (pu + 1e-6))^2, pu the truth spectrum and pv the mean over
/// members of the members' spectra.
torch::Tensor spectrum_error(const torch::Tensor& pu, const torch::Tensor& pv);

/// The cross-correlation error per bin: (1 - (cuv + 1e-6) / sqrt(pu * pv + 1e-12))^2, cuv the member mean of the
/// binned |F_u conj(F_v_k)| = |F_u| |F_v_k|.
torch::Tensor cross_error(const torch::Tensor& pu, const torch::Tensor& pv, const torch::Tensor& cuv);

/// Power-spectrum band RMSE of an ensemble: u (..., *S) the truth, v (K, ..., *S) the members (or the shape of u for a
/// point prediction) -> (..., 4) float64: band_rmse(spectrum_error(P_u, <P_v>)), <P_v> the mean over members of each
/// member's spectrum (not the spectrum of the ensemble mean). spatial_dims = -1 means u.dim() - 2.
torch::Tensor psrmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);

/// Cross-correlation band RMSE (computed by the reference, not reported): u, v as for psrmse -> (..., 4) float64:
/// band_rmse(cross_error(P_u, <P_v>, C_uv)).
torch::Tensor ccrmse(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims = -1);

} // namespace lola::metrics
