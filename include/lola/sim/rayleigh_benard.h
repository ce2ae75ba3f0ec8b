// 2-D Rayleigh-Benard convection (Boussinesq) in free-fall units, the generator of lola's `rayleigh_benard` data.
//
// Equations (docs/simulators.md 3.1), with x horizontal and periodic on [0, 4), y vertical in [0, 1] (the physics' z):
//     d_t b - kappa Lap b = -u . grad b
//     d_t u - nu Lap u + grad p - b e_y = -u . grad u,     div u = 0,     <p> = 0,
// kappa = (Ra Pr)^(-1/2), nu = (Ra / Pr)^(-1/2). b is the total buoyancy (b = 1 at y = 0, b = 0 at y = 1), u = 0 at
// both walls (no-slip), and p is the kinematic pressure including its hydrostatic part.
//
// Discretisation (docs/simulators.md 3.2): Fourier in x, second-order finite differences on a staggered (MAC) grid in
// y: b, u_x, p at cell centres y_j = (j + 1/2) / ny, u_y on the faces y = j / ny with u_y = 0 on the walls; wall values
// of b and u_x enter through ghost cells. Advection is in conservative (flux) form with 2/3-rule dealiasing: modes
// m <= (nx - 1) / 3 interact, higher ones only diffuse (so the effective horizontal resolution is about 2 nx / 3);
// the Nyquist mode is kept at zero. Time: variable-step IMEX SBDF2 (diffusion implicit; advection and buoyancy
// extrapolated) with an incremental pressure-correction projection in rotational form, so div u = 0 to round-off.
// Step sizes follow a CFL condition and land exactly on the output times. Everything is float64, single-threaded and
// in a fixed order, so with a given build a seed fixes every bit of the output.
//
// Output frames are channel-first (4, nx, ny), index [c][i][j], channels buoyancy, pressure, velocity_x, velocity_y
// (the Well's order), all on the cell-centre grid x_i = 4 i / nx, y_j = (j + 1/2) / ny (u_y is averaged from the two
// faces). Pressure gauge: the mean over the cell centres is zero (the midpoint rule for <p> = 0), so the conduction
// state b = 1 - y has p = y - y^2/2 - 1/3 - 1/(24 ny^2).
//
// References: Guermond, Minev & Shen 2006 (projection methods, rotational form, DOI 10.1016/j.cma.2005.10.010);
// Ascher, Ruuth & Wetton 1995 (IMEX multistep, SBDF2); Harlow & Welch 1965 (MAC grid); The Well, arXiv 2412.00568.
#pragma once

#include "lola/sim/simulator.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace lola::sim {

/// Domain size in free-fall units: x in [0, 4) (periodic), y in [0, 1] (walls), as the official dataset.
constexpr double kRayleighBenardLengthX = 4.0;
constexpr double kRayleighBenardLengthY = 1.0;

/// Channels of a frame, in the official order (t0 fields buoyancy, pressure; t1 field velocity (x, y)).
constexpr std::array<std::string_view, 4> kRayleighBenardChannels = {"buoyancy", "pressure", "velocity_x",
                                                                     "velocity_y"};

struct RayleighBenardOptions {
    /// Cells along x (horizontal, periodic); a multiple of `resolution_multiple` with prime factors 2, 3, 5 only.
    int64_t nx = 256;
    /// Cells along y (vertical, between the walls); a multiple of `resolution_multiple`, at least 4.
    int64_t ny = 64;
    /// Rayleigh number Ra > 0 (official values 1e6 ... 1e10; 256 x 64 resolves Ra <= 1e6).
    double rayleigh = 1e6;
    /// Prandtl number Pr > 0 (official values 0.1 ... 10).
    double prandtl = 1.0;
    /// Initial linear buoyancy profile delta_b0 (1 - y), in [0, 1] (official values 0.2, 0.4, ..., 1.0).
    double delta_b0 = 1.0;
    /// Standard deviation of the initial i.i.d. Gaussian buoyancy noise, multiplied by y (1 - y); default 1e-3.
    double noise_scale = 1e-3;
    /// Target Courant number max(|u_x| / dx + |u_y| / dy) dt, in (0, 1]; default 0.35.
    double cfl = 0.35;
    /// Largest time step (free-fall times), > 0; default 0.05.
    double dt_max = 0.05;
    /// A CFL step below this is an error (the flow is under-resolved or blew up); default 1e-4.
    double dt_min = 1e-4;
    /// nx and ny must be multiples of this; 32 because the 2-D autoencoders downsample by 32. 1 lifts the rule.
    int64_t resolution_multiple = 32;

    /// Throws lola::UsageError naming the first invalid option and how to fix it.
    void validate() const;
};

/// Cell-centre coordinates of the output grid: x_i = 4 i / nx (nx values), y_j = (j + 1/2) / ny (ny values).
struct RayleighBenardGrid {
    std::vector<double> x;
    std::vector<double> y;
};

RayleighBenardGrid rayleigh_benard_grid(const RayleighBenardOptions& options);

/// Volume averages <.> of the current state, computed with the solver's own discrete operators.
struct RayleighBenardDiagnostics {
    double kinetic_energy = 0;       ///< <|u|^2 / 2>
    double buoyancy_flux = 0;        ///< <u_y b>
    double nusselt_bottom = 0;       ///< -<d_y b> at y = 0
    double nusselt_top = 0;          ///< -<d_y b> at y = 1
    double nusselt_volume = 0;       ///< 1 + sqrt(Ra Pr) <u_y b>
    double dissipation_velocity = 0; ///< nu <|grad u|^2>; its time average is (Nu - 1) / sqrt(Ra Pr)
    double dissipation_buoyancy = 0; ///< kappa <|grad b|^2>; its time average is Nu / sqrt(Ra Pr)
    double max_divergence = 0;       ///< max over cells of |div u|
};

/// Time integrator of one trajectory. Not copyable; one instance per thread.
class RayleighBenardSolver {
public:
    /// Validates `options` (throws lola::UsageError) and allocates the state; call initialize() or set_state() next.
    explicit RayleighBenardSolver(const RayleighBenardOptions& options);
    ~RayleighBenardSolver();
    RayleighBenardSolver(RayleighBenardSolver&&) noexcept;
    RayleighBenardSolver& operator=(RayleighBenardSolver&&) noexcept;
    RayleighBenardSolver(const RayleighBenardSolver&) = delete;
    RayleighBenardSolver& operator=(const RayleighBenardSolver&) = delete;

    /// The official initial condition at t = 0: b = noise_scale N(0, 1) y (1 - y) + delta_b0 (1 - y) with i.i.d.
    /// noise per cell drawn from std::mt19937_64(seed) (Box-Muller on the top 53 bits, cells in [i][j] order; the
    /// noise's Nyquist component in x is dropped), u = 0, and the pressure that balances the buoyancy. The walls hold
    /// b = 1 and b = 0 whatever delta_b0 is (for delta_b0 < 1 a hot layer diffuses from the bottom, as officially).
    void initialize(uint64_t seed);

    /// Sets t = 0 and the state from cell-centre fields of shape (nx, ny), index [i][j]. velocity_y is interpolated
    /// to the faces and the velocity is projected onto discretely divergence-free fields; pressure is recomputed.
    void set_state(const double* buoyancy, const double* velocity_x, const double* velocity_y);

    /// Integrates to `t_end` with CFL-limited steps, the last one landing exactly on t_end. Throws lola::Error on a
    /// CFL step below dt_min or a non-finite value, naming the time and the cell.
    void advance(double t_end);

    /// One step of size `dt` (no CFL adaptation; still checks for non-finite values). For convergence studies.
    void step(double dt);

    double time() const;
    int64_t n_steps() const;
    /// Size of the last step taken (0 before the first step).
    double last_dt() const;
    /// Smallest and largest step since initialize() / set_state() (0 before the first step).
    double dt_smallest() const;
    double dt_largest() const;

    /// Writes the current state as a (4, nx, ny) channel-first frame into `frame` (4 nx ny doubles).
    void write_frame(double* frame) const;

    RayleighBenardDiagnostics diagnostics() const;

    const RayleighBenardOptions& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Summary of one trajectory.
struct RayleighBenardRunStats {
    int64_t n_steps = 0;       ///< time steps taken
    double dt_smallest = 0.0;  ///< smallest step used
    double dt_largest = 0.0;   ///< largest step used
    double wall_seconds = 0.0; ///< wall-clock time of the whole call
};

/// Simulates one trajectory from initialize(seed) and calls `sink` with snapshots t = 0, dt_out, ...,
/// (n_snapshots - 1) dt_out (official: 200 snapshots, dt_out = 0.25). Frames are (4, nx, ny) as write_frame().
/// Throws lola::UsageError for invalid arguments and lola::Error on a numerical failure (seed, time and cell named).
RayleighBenardRunStats run_trajectory(const RayleighBenardOptions& options, uint64_t seed, int n_snapshots,
                                      double dt_out, const FrameSink& sink);

} // namespace lola::sim
