// Private state of RayleighBenardSolver, shared by rayleigh_benard.cpp (set-up, output, diagnostics) and
// rayleigh_benard_step.cpp (explicit terms, implicit solves, projection, step control).
#pragma once

#include "lola/sim/rayleigh_benard.h"
#include "rayleigh_benard_fft.h"

#include <cstdint>
#include <vector>

namespace lola::sim {

namespace detail {

/// Factored tridiagonal matrices, one per Fourier mode, with a constant off-diagonal `off` and a per-(row, mode)
/// diagonal. Storage is [row][mode] so that the Thomas sweeps run over contiguous modes.
struct TridiagonalBatch {
    int64_t n_rows = 0;
    int64_t n_modes = 0;
    double off = 0;
    std::vector<double> inv_pivot; // 1 / beta_j
    std::vector<double> ratio;     // off / beta_{j-1} (row 0 unused)

    /// Factors diag[row * n_modes + m] (no pivoting: every matrix here is diagonally dominant).
    void factor(int64_t rows, int64_t modes, double off_diagonal, const std::vector<double>& diag);

    /// Solves in place for modes [m_begin, n_modes); `x` is [row][mode] with row stride n_modes.
    void solve(Complex* x, int64_t m_begin = 0) const;
};

} // namespace detail

struct RayleighBenardSolver::Impl {
    using Complex = detail::Complex;

    explicit Impl(const RayleighBenardOptions& options);

    // ---- set-up and output (rayleigh_benard.cpp) ----
    void reset_history();
    void transform_rows(const double* phys, Complex* spec, int64_t rows);
    void inverse_rows(const Complex* spec, double* phys, int64_t rows, bool filtered);
    void initial_pressure();
    void write_frame(double* frame);
    RayleighBenardDiagnostics diagnostics();

    // ---- time stepping (rayleigh_benard_step.cpp) ----
    /// Advection and buoyancy terms of the current state into n*_cur; also the Courant rate and a finiteness check.
    void evaluate_explicit();
    void factor_operators(double coef);
    void implicit_update(double dt);
    /// Solves (d_yy - k^2) phi = rhs with homogeneous Neumann conditions (the MAC grid's div grad); rhs is
    /// overwritten by phi; the m = 0 solution has zero mean.
    void solve_poisson(std::vector<Complex>& rhs);
    void divergence(const std::vector<Complex>& u_hat, const std::vector<Complex>& w_hat, std::vector<Complex>& div);
    void advance(double t_end);
    void step(double dt);

    RayleighBenardOptions opt;
    int64_t nx, nz, nm, m_cut; // cells, stored modes nx/2 + 1, largest mode kept by the 2/3 rule
    double dx, h, nu, kappa;
    std::vector<double> k; // wavenumber 2 pi m / Lx; 0 for the Nyquist mode (kept at zero throughout)
    detail::RealFftBatch fft;

    // Spectral state [row][mode]: u, b, p on nz centre rows; w on nz + 1 face rows (rows 0 and nz are the walls).
    std::vector<Complex> u, w, b, p;
    std::vector<Complex> u_old, w_old, b_old;
    // Explicit terms (advection + buoyancy) at the current and previous step.
    std::vector<Complex> nu_cur, nw_cur, nb_cur, nu_old, nw_old, nb_old;
    // Work arrays.
    std::vector<Complex> s_uu, s_ub, s_uw, s_wb, s_ww, s_div, s_tmp;
    std::vector<double> x_u, x_w, x_b, x_tmp; // physical rows [row][i]; x_w has nz + 1 rows

    detail::TridiagonalBatch op_u, op_w, op_b, op_poisson;
    double factored_coef = -1.0;

    double t = 0.0;
    int64_t steps = 0;
    double dt_prev = 0.0;
    double dt_smallest = 0.0;
    double dt_largest = 0.0;
    bool has_history = false; // false: the next step is BDF1 (first step or after set_state)
    bool explicit_fresh = false;

    // Courant rate max(|u| / dx + |w| / h) of the last explicit evaluation and where it peaked.
    double rate = 0.0;
    int64_t rate_i = 0, rate_j = 0;
    double rate_u = 0.0, rate_w = 0.0;

    // Step plan of advance(): steps of plan_dt until plan_end.
    double plan_end = -1.0;
    double plan_dt = 0.0;
    int64_t plan_left = 0;
};

} // namespace lola::sim
