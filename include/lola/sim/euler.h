// 2-D compressible Euler equations, finite volume: the generator of lola's euler_multi_quadrants datasets.
//
// Equations (ideal gas, docs/simulators.md 2.1), U = (rho, m_x, m_y, E) on [0, 1]^2:
//     U_t + F(U)_x + G(U)_y = 0,  F = (m_x, m_x u + p, m_y u, u (E + p)),  G = (m_y, m_x v, m_y v + p, v (E + p)),
//     E = p / (gamma - 1) + rho (u^2 + v^2) / 2,  u = m_x / rho,  v = m_y / rho.
//
// Scheme (docs/simulators.md 2.2): cell averages in double precision on an nx x ny grid of cells with centres
// x_i = (i + 1/2) / nx, y_j = (j + 1/2) / ny; MUSCL reconstruction of the primitive variables (rho, u, v, p) with the
// MC (default) or minmod limiter; HLLC fluxes with Einfeldt's wave-speed bounds. Two time integrators:
//   - Scheme::kUnsplitRK2 (default): SSP-RK2 (Heun) with x and y fluxes in each stage,
//     dt = cfl / (max(|u| + c) / dx + max(|v| + c) / dy). It keeps the x <-> y symmetry bit for bit.
//   - Scheme::kSplitHancock (fast mode): dimensionally split MUSCL-Hancock, sweeps X then Y, then Y then X on the next
//     step; dt = cfl / max(max(|u| + c) / dx, max(|v| + c) / dy).
// Boundaries: Open (zero-gradient ghost cells, Clawpack `extrap`) or Periodic, on all four sides. Two ghost layers
// are applied to the primitive work rows, so the stored state holds interior cells only.
//
// Positivity: a reconstructed (or Hancock half-step) face state with rho <= 0 or p <= 0 is replaced by the cell
// average. After every stage each cell is checked; if rho <= 0 or p <= 0 (or NaN), the stage is recomputed with the
// faces of the failing cells lowered step by step to first-order HLLC and then first-order HLLE (each face keeps one
// flux, so conservation is exact). A cell that still fails throws lola::Error naming the time and the cell (i, j).
// Fallbacks are counted (EulerCounters).
//
// Threads: one solver splits its rows into n_threads contiguous blocks, each advanced by one thread through a stage
// (persistent worker threads, two synchronisations per RK2 step). Each cell is computed by the same instructions
// whatever the number of threads, so results are bitwise identical for any n_threads. For many trajectories,
// running independent trajectories side by side (n_threads = 1 each) avoids the synchronisation altogether.
//
// Speed (bench/bench_euler.cpp, 128^2, g++ 12 -O3, x86-64 baseline SSE2, 2-vCPU AMD EPYC VM): UnsplitRK2 6.2 M
// cell-updates/s on one thread and 11.7 M/s on two (1.89x); SplitHancock 10.7 and 19.9 M/s (1.86x). A cell-update
// is one cell advanced by one full time step. Compiled with -march=native -ffp-contract=off (same bytes) the kernels
// use four-lane AVX vectors: about 7.0 and 12.6 M/s on one thread.
//
// Storage: each conserved component is one row-major (nx, ny) array, index i * ny + j, i along x, j along y.
// References: E. F. Toro, "Riemann Solvers and Numerical Methods for Fluid Dynamics", 3rd ed. 2009 (ch. 10, 13, 14);
// P. D. Lax and X.-D. Liu, SIAM J. Sci. Comput. 19 (1998) 319-340 (the four-quadrant configurations).
#pragma once

#include "lola/sim/simulator.h"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lola::sim {

/// The ten official gamma values of the Well's euler_multi_quadrants datasets, one file each.
inline constexpr std::array<double, 10> kEulerGammas = {1.13, 1.22, 1.3, 1.33, 1.365, 1.4, 1.404, 1.453, 1.597, 1.76};

/// Official channel order of a frame: energy, density, pressure, momentum_x, momentum_y.
inline constexpr int kEulerChannels = 5;

/// A primitive 2-D state.
struct Primitive2D {
    double rho = 1.0;
    double u = 0.0;
    double v = 0.0;
    double p = 1.0;
};

/// Random multi-quadrant initial conditions: the distribution (our design; the official one is unpublished).
///
/// The domain is cut into K x L rectangular blocks by K - 1 vertical and L - 1 horizontal lines:
///   - with probability p_four_quadrants, K = L = 2 (the classical four quadrants); otherwise K and L are drawn
///     independently and uniformly from {2, 3};
///   - the k-th cut of K blocks lies at k / K + U[-w, w] / K with w = split_jitter (0.5 gives U[0.25, 0.75] for one
///     cut; with two cuts w is scaled by 0.7 so that blocks stay apart);
///   - every block gets an independent state: rho ~ LogUniform[rho_min, rho_max], p ~ LogUniform[p_min, p_max],
///     u, v ~ Uniform[-velocity_max, velocity_max].
/// Draws come from std::mt19937_64 seeded with splitmix64(seed) through our own uniform transform (53-bit mantissa),
/// so a seed gives the same initial condition on every platform's standard library.
///
/// Calibration (periodic, gammas cycled over kEulerGammas, 101 snapshots to t = 1.5, pooled as stats.yaml does),
/// mean / std / std_delta against the official stats (docs/data-format.md 1.5):
///   field      official             ours, 100 traj. at 32^2    ours, 10 traj. at 128^2
///   density    0.914 / 0.535 / 0.196   0.89 / 0.60 / 0.09      0.94 / 0.67 / 0.18
///   pressure   0.929 / 0.782 / 0.251   0.93 / 0.68 / 0.11      0.93 / 0.65 / 0.17
///   energy     3.03  / 3.26  / 0.914   2.99 / 2.57 / 0.38      2.88 / 2.45 / 0.50
///   momentum   ~0    / 0.41  / 0.17    ~0   / 0.40 / 0.08      ~0   / 0.40 / 0.15
/// std_delta grows with resolution (sharper moving fronts) and approaches the official values at 512^2. The density
/// spread comes mostly from shock compression at low gamma; narrowing the pressure range lowers it but also lowers
/// the pressure and energy spreads, so the ranges above are a compromise. As in the official data, mean_delta of the
/// conserved fields is ~1e-18 and mean_delta(pressure) is positive (+3e-4; official +4.1e-4).
struct QuadrantSamplerOptions {
    double rho_min = 0.45; ///< density range, log-uniform; 0 < rho_min <= rho_max
    double rho_max = 1.6;
    double p_min = 0.07; ///< pressure range, log-uniform; 0 < p_min <= p_max
    double p_max = 3.5;
    double velocity_max = 0.75;    ///< u, v uniform in [-velocity_max, velocity_max]; >= 0
    double p_four_quadrants = 0.6; ///< probability of a 2 x 2 layout; otherwise K, L in {2, 3}; in [0, 1]
    double split_jitter = 0.5;     ///< w above, in [0, 0.5]

    /// Throws lola::UsageError naming the bad field.
    void validate() const;
};

/// A piecewise-constant initial condition on a K x L block layout.
struct QuadrantIC {
    std::string name;                ///< "random" or "lax_liu_<n>"
    std::vector<double> x_splits;    ///< K - 1 increasing positions in (0, 1)
    std::vector<double> y_splits;    ///< L - 1 increasing positions in (0, 1)
    std::vector<Primitive2D> states; ///< K * L states, block (a, b) at index a * L + b (a along x, b along y)

    /// The state at point (x, y): block a counts the x-splits strictly below x (likewise b for y).
    Primitive2D at(double x, double y) const;
    /// Throws lola::Error when the layout is inconsistent or a state is non-physical.
    void validate() const;
};

/// Draws one random initial condition (see QuadrantSamplerOptions); deterministic per seed.
QuadrantIC sample_quadrant_ic(uint64_t seed, const QuadrantSamplerOptions& options = {});

/// Lax-Liu four-quadrant configuration `number` (one of lax_liu_configurations()), split at (0.5, 0.5), quadrants
/// 1 = (x > 0.5, y > 0.5), 2 = (x < 0.5, y > 0.5), 3 = (x < 0.5, y < 0.5), 4 = (x > 0.5, y < 0.5). Defined for
/// gamma = 1.4 (classical end times: 3: 0.3, 4: 0.25, 5: 0.23, 6: 0.3, 12: 0.25).
QuadrantIC lax_liu_ic(int number);
/// Configurations lax_liu_ic() knows: {3, 4, 5, 6, 12}.
std::vector<int> lax_liu_configurations();

/// Options of one Euler solver. validate() throws lola::UsageError naming the field and the valid range.
struct EulerOptions {
    enum class Boundary { kOpen, kPeriodic };
    enum class Limiter { kMC, kMinmod };
    enum class Scheme { kUnsplitRK2, kSplitHancock };

    int nx = 128;                            ///< cells along x (first array index); >= 4
    int ny = 128;                            ///< cells along y (second, contiguous index); >= 4
    double gamma = 1.4;                      ///< ratio of specific heats; in (1, 3]
    Boundary boundary = Boundary::kPeriodic; ///< the same on all four sides
    double cfl = 0.4;                        ///< Courant number; (0, 0.5] for UnsplitRK2, (0, 0.9] for SplitHancock
    Limiter limiter = Limiter::kMC;          ///< slope limiter of the primitive MUSCL reconstruction
    Scheme scheme = Scheme::kUnsplitRK2;     ///< time integrator
    int n_threads = 1;                       ///< threads for one solver, rows split in blocks; in [1, 256]
    int64_t max_steps = 10'000'000;          ///< a run needing more time steps is an error (collapsed dt); >= 1
    QuadrantSamplerOptions sampler;          ///< initial conditions drawn by run_trajectory(options, seed, ...)

    void validate() const;
};

std::string to_string(EulerOptions::Boundary boundary); ///< "open" / "periodic"
std::string to_string(EulerOptions::Limiter limiter);   ///< "mc" / "minmod"
std::string to_string(EulerOptions::Scheme scheme);     ///< "rk2" / "hancock"
/// Parses "open" (or "extrap") / "periodic"; throws lola::UsageError listing the valid names.
EulerOptions::Boundary parse_euler_boundary(const std::string& name);
EulerOptions::Limiter parse_euler_limiter(const std::string& name); ///< "mc" / "minmod"
EulerOptions::Scheme parse_euler_scheme(const std::string& name);   ///< "rk2" / "hancock"

/// Domain integrals of the conserved variables (sum of cell averages times dx dy).
struct EulerTotals {
    double mass = 0.0;
    double momentum_x = 0.0;
    double momentum_y = 0.0;
    double energy = 0.0;
};

/// What the solver did since the state was last set.
struct EulerCounters {
    int64_t n_steps = 0;                    ///< time steps taken
    int64_t n_reconstruction_fallbacks = 0; ///< reconstructed cells replaced by their average (rho or p <= 0)
    int64_t n_robust_stages = 0;            ///< stages recomputed because a cell became non-physical
    int64_t n_first_order_faces = 0;        ///< faces lowered to first-order HLLC in those stages
    int64_t n_hlle_faces = 0;               ///< faces lowered further to first-order HLLE
};

/// The finite-volume solver (see the file comment). Not copyable; owns its worker threads.
class EulerSolver {
public:
    explicit EulerSolver(const EulerOptions& options);
    ~EulerSolver();
    EulerSolver(const EulerSolver&) = delete;
    EulerSolver& operator=(const EulerSolver&) = delete;

    const EulerOptions& options() const;
    int nx() const;
    int ny() const;

    /// Cell (i, j) takes ic.at(x_i, y_j) (cell-centre sampling). Resets time, counters and boundary outflow.
    void set_initial_condition(const QuadrantIC& ic);
    /// Cell (i, j) takes state(x_i, y_j). Resets time, counters and boundary outflow.
    void set_primitive(const std::function<Primitive2D(double x, double y)>& state);
    /// Copies conserved arrays, each (nx, ny) row-major. Throws lola::Error on a non-physical cell.
    void set_conserved(const double* density, const double* momentum_x, const double* momentum_y, const double* energy);

    /// Simulated time since the state was set.
    double time() const;
    /// The CFL time step for the current state.
    double stable_dt() const;
    /// One time step of min(stable_dt(), dt_max); returns the step taken.
    double step(double dt_max);
    /// Steps until time() == t_target exactly (the last step is clipped). Throws lola::Error on a non-physical
    /// state, a collapsed or non-finite time step, or more than options().max_steps steps.
    void advance_to(double t_target);

    /// Conserved arrays, (nx, ny) row-major, valid until the next step or set_*.
    const double* density() const;
    const double* momentum_x() const;
    const double* momentum_y() const;
    const double* energy() const;
    /// Pressure of cell (i, j).
    double pressure(int i, int j) const;
    /// Writes a (5, nx, ny) channel-first frame: energy, density, pressure, momentum_x, momentum_y.
    void write_frame(double* out) const;

    /// Domain integrals now.
    EulerTotals totals() const;
    /// Time-integrated net outflow through the domain boundary since the state was set, so that
    /// totals() + boundary_outflow() is conserved (zero net flow for periodic boundaries, up to round-off).
    EulerTotals boundary_outflow() const;
    const EulerCounters& counters() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Summary of one trajectory.
struct EulerRunStats {
    int64_t n_steps = 0;
    EulerCounters counters;
    double wall_seconds = 0.0;
};

/// Simulates one trajectory from `ic` and hands n_snapshots frames at t_k = t_end * k / (n_snapshots - 1),
/// k = 0 .. n_snapshots - 1, to `sink` (frame: (5, nx, ny), see EulerSolver::write_frame). Solver errors are
/// rethrown with the initial condition's name, gamma, boundaries and grid appended; the sink's own errors pass
/// through unchanged.
EulerRunStats run_trajectory(const EulerOptions& options, const QuadrantIC& ic, int n_snapshots, double t_end,
                             const FrameSink& sink);

/// Same, from sample_quadrant_ic(seed, options.sampler) (named "random, seed <seed>" in errors). The official
/// setting is n_snapshots = 101, t_end = 1.5.
EulerRunStats run_trajectory(const EulerOptions& options, uint64_t seed, int n_snapshots, double t_end,
                             const FrameSink& sink);

} // namespace lola::sim
