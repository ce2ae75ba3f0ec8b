// Internal: shape checks and the flattened views shared by the metric functions.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "lola/metrics/spectrum.h"

namespace lola::metrics::detail {

/// u (lead..., *S) and v (K, lead..., *S) (or v shaped like u: K = 1) as float64 views u (M, *S), v (K, M, *S), M the
/// product of the leading dims.
struct Ensemble {
    torch::Tensor u;              ///< (M, *S), float64 unless built without to_double
    torch::Tensor v;              ///< (K, M, *S), float64 unless built without to_double
    std::vector<int64_t> lead;    ///< the leading dims of u, the shape of every result
    std::vector<int64_t> spatial; ///< S
    int64_t members = 1;          ///< K
    int64_t rows = 1;             ///< M
};

/// The resolved spatial rank: `spatial_dims`, or u_dim - 2 when it is -1; checked against u_dim. `what` names the
/// caller in errors.
int64_t resolve_spatial(int64_t u_dim, int64_t spatial_dims, const char* what);

/// Check shapes and build the views (u may be undefined when only v is needed; the truth's rank is then v.dim() - 1).
/// Without `to_double` the views keep the input dtype.
Ensemble ensemble(const torch::Tensor& u, const torch::Tensor& v, int64_t spatial_dims, const char* what,
                  bool to_double = true);

/// Reshape a per-row result (M, ...) to (lead..., ...).
torch::Tensor unflatten_rows(const torch::Tensor& x, const std::vector<int64_t>& lead);

/// The ensemble's share of the spectral metrics, computed once per ensemble and reused for every reference.
struct EnsembleSpectra {
    torch::Tensor power;     ///< (M, B): the mean over members of each member's binned power spectrum <P_v>
    torch::Tensor amplitude; ///< (M, prod S): the member mean of |F_v_k| per grid point
};

/// The spectra of v (K, M, *S) float64 on `binning`'s grid.
EnsembleSpectra ensemble_spectra(const torch::Tensor& v, const SpectrumBinning& binning);

/// The power-spectrum and cross-correlation band RMSEs (M, 4) each of the reference u (M, *S) float64.
std::pair<torch::Tensor, torch::Tensor> band_errors(const torch::Tensor& u, const EnsembleSpectra& spectra,
                                                    const SpectrumBinning& binning);

} // namespace lola::metrics::detail
