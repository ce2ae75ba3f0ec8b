// Rayleigh-Benard solver: options, grid, initial conditions, frames, diagnostics and run_trajectory.
// The time step itself is in rayleigh_benard_step.cpp.
#include "lola/sim/rayleigh_benard.h"

#include "lola/core/error.h"
#include "rayleigh_benard_impl.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace lola::sim {

namespace {

constexpr double kPi = 3.14159265358979323846;

bool fft_friendly(int64_t n) { return n % 2 == 0 && detail::fft_size_supported(n / 2); }

// Nearest values below and above n that are multiples of `multiple` (and FFT-friendly, 2^a 3^b 5^c, for x).
std::string suggest_sizes(int64_t n, int64_t multiple, bool for_fft) {
    int64_t below = (n / multiple) * multiple;
    if (below == n) {
        below -= multiple;
    }
    while (below > 0 && for_fft && !fft_friendly(below)) {
        below -= multiple;
    }
    int64_t above = (n / multiple + 1) * multiple;
    while (for_fft && !fft_friendly(above)) {
        above += multiple;
    }
    return below > 0 ? fmt::format("{} or {}", below, above) : fmt::format("{}", above);
}

void check_size(const char* name, int64_t n, int64_t multiple, int64_t minimum, bool for_fft) {
    LOLA_CHECK_USAGE(n >= minimum, "rayleigh_benard: {} = {} is too small; use at least {} cells", name, n, minimum);
    LOLA_CHECK_USAGE(n % multiple == 0,
                     "rayleigh_benard: {} = {} is not a multiple of resolution_multiple = {} (the 2-D autoencoders "
                     "downsample by 32); use {}",
                     name, n, multiple, suggest_sizes(n, multiple, for_fft));
    LOLA_CHECK_USAGE(!for_fft || fft_friendly(n),
                     "rayleigh_benard: {} = {} must be even with no prime factor above 5 (built-in FFT); use {}", name,
                     n, suggest_sizes(n, multiple, true));
}

bool finite_positive(double v) { return std::isfinite(v) && v > 0; }

// Uniform double in (0, 1] from the top 53 bits (never 0, so log() is safe).
double uniform_open0(uint64_t r) { return (static_cast<double>(r >> 11) + 1.0) * 0x1.0p-53; }

} // namespace

void RayleighBenardOptions::validate() const {
    LOLA_CHECK_USAGE(resolution_multiple >= 1,
                     "rayleigh_benard: resolution_multiple = {} must be >= 1 (32 for data "
                     "the autoencoders read, 1 to lift the rule)",
                     resolution_multiple);
    check_size("nx", nx, resolution_multiple, 8, true);
    check_size("ny", ny, resolution_multiple, 4, false);
    LOLA_CHECK_USAGE(finite_positive(rayleigh), "rayleigh_benard: rayleigh = {} must be a finite number > 0", rayleigh);
    LOLA_CHECK_USAGE(finite_positive(prandtl), "rayleigh_benard: prandtl = {} must be a finite number > 0", prandtl);
    LOLA_CHECK_USAGE(std::isfinite(delta_b0) && delta_b0 >= 0 && delta_b0 <= 1,
                     "rayleigh_benard: delta_b0 = {} must lie in [0, 1] (official values 0.2, 0.4, 0.6, 0.8, 1.0)",
                     delta_b0);
    LOLA_CHECK_USAGE(std::isfinite(noise_scale) && noise_scale >= 0,
                     "rayleigh_benard: noise_scale = {} must be a finite number >= 0 (official 1e-3)", noise_scale);
    LOLA_CHECK_USAGE(finite_positive(cfl) && cfl <= 1,
                     "rayleigh_benard: cfl = {} must lie in (0, 1]; 0.2-0.4 suits the SBDF2 scheme", cfl);
    LOLA_CHECK_USAGE(finite_positive(dt_max), "rayleigh_benard: dt_max = {} must be > 0 (default 0.05)", dt_max);
    LOLA_CHECK_USAGE(finite_positive(dt_min) && dt_min < dt_max,
                     "rayleigh_benard: dt_min = {} must be > 0 and below dt_max = {}", dt_min, dt_max);
}

RayleighBenardGrid rayleigh_benard_grid(const RayleighBenardOptions& options) {
    options.validate();
    RayleighBenardGrid grid;
    grid.x.resize(options.nx);
    grid.y.resize(options.ny);
    for (int64_t i = 0; i < options.nx; ++i) {
        grid.x[i] = kRayleighBenardLengthX * static_cast<double>(i) / static_cast<double>(options.nx);
    }
    for (int64_t j = 0; j < options.ny; ++j) {
        grid.y[j] = kRayleighBenardLengthY * (static_cast<double>(j) + 0.5) / static_cast<double>(options.ny);
    }
    return grid;
}

// ---- Impl: set-up ----------------------------------------------------------------------------------------------

RayleighBenardSolver::Impl::Impl(const RayleighBenardOptions& options)
    : opt(options),
      nx(options.nx),
      nz(options.ny),
      nm(options.nx / 2 + 1),
      m_cut((options.nx - 1) / 3),
      dx(kRayleighBenardLengthX / static_cast<double>(options.nx)),
      h(kRayleighBenardLengthY / static_cast<double>(options.ny)),
      nu(std::sqrt(options.prandtl / options.rayleigh)),
      kappa(1.0 / std::sqrt(options.rayleigh * options.prandtl)),
      k(options.nx / 2 + 1),
      fft(options.nx) {
    for (int64_t m = 0; m < nm; ++m) {
        k[m] = (m == nx / 2) ? 0.0 : 2.0 * kPi * static_cast<double>(m) / kRayleighBenardLengthX;
    }
    const auto centre = static_cast<size_t>(nz * nm);
    const auto face = static_cast<size_t>((nz + 1) * nm);
    for (auto* v : {&u, &b, &p, &u_old, &b_old, &nu_cur, &nb_cur, &nu_old, &nb_old, &s_uu, &s_ub, &s_div}) {
        v->assign(centre, Complex(0.0, 0.0));
    }
    for (auto* v : {&w, &w_old, &nw_cur, &nw_old, &s_uw, &s_wb, &s_ww, &s_tmp}) {
        v->assign(face, Complex(0.0, 0.0));
    }
    for (auto* v : {&x_u, &x_w, &x_b, &x_tmp}) {
        v->assign(static_cast<size_t>((nz + 1) * nx), 0.0);
    }

    // Poisson operator A = -(d_yy - k^2) on centres with Neumann walls; mode 0 is singular and solved separately.
    const double inv_h2 = 1.0 / (h * h);
    std::vector<double> diag(static_cast<size_t>(nz * nm));
    for (int64_t j = 0; j < nz; ++j) {
        const double walls = (j == 0 ? 1.0 : 0.0) + (j == nz - 1 ? 1.0 : 0.0);
        for (int64_t m = 0; m < nm; ++m) {
            const double k2 = (m == 0) ? 1.0 : k[m] * k[m] + (m == nx / 2 ? 1.0 : 0.0);
            diag[j * nm + m] = (2.0 - walls) * inv_h2 + k2;
        }
    }
    op_poisson.factor(nz, nm, -inv_h2, diag);
}

void RayleighBenardSolver::Impl::reset_history() {
    t = 0.0;
    steps = 0;
    dt_prev = 0.0;
    dt_smallest = 0.0;
    dt_largest = 0.0;
    has_history = false;
    explicit_fresh = false;
    plan_end = -1.0;
    plan_left = 0;
}

// Forward transform of `rows` physical rows (stride nx) into spectral rows (stride nm); the Nyquist mode is dropped.
void RayleighBenardSolver::Impl::transform_rows(const double* phys, Complex* spec, int64_t rows) {
    fft.forward(phys, nx, spec, nm, rows);
    for (int64_t r = 0; r < rows; ++r) {
        spec[r * nm + nx / 2] = Complex(0.0, 0.0);
    }
}

// Inverse transform of `rows` spectral rows; `filtered` keeps only the modes m <= m_cut (2/3 rule).
void RayleighBenardSolver::Impl::inverse_rows(const Complex* spec, double* phys, int64_t rows, bool filtered) {
    fft.inverse(spec, nm, phys, nx, rows, filtered ? m_cut + 1 : nm);
}

// p from the explicit forcing F (advection + buoyancy): div grad p = div F with the MAC grid's Neumann walls, so that
// the first step starts from a consistent pressure (for u = 0 this is the hydrostatic balance of b, to round-off).
void RayleighBenardSolver::Impl::initial_pressure() {
    evaluate_explicit();
    divergence(nu_cur, nw_cur, p);
    solve_poisson(p);
}

void RayleighBenardSolver::Impl::write_frame(double* frame) {
    const int64_t plane = nx * nz;
    auto scatter = [&](const std::vector<double>& rows, int64_t channel) {
        double* out = frame + channel * plane;
        for (int64_t j = 0; j < nz; ++j) {
            for (int64_t i = 0; i < nx; ++i) {
                out[i * nz + j] = rows[j * nx + i];
            }
        }
    };
    inverse_rows(b.data(), x_tmp.data(), nz, false);
    scatter(x_tmp, 0);
    inverse_rows(p.data(), x_tmp.data(), nz, false);
    scatter(x_tmp, 1);
    inverse_rows(u.data(), x_tmp.data(), nz, false);
    scatter(x_tmp, 2);
    for (int64_t j = 0; j < nz; ++j) {
        for (int64_t m = 0; m < nm; ++m) {
            s_tmp[j * nm + m] = 0.5 * (w[j * nm + m] + w[(j + 1) * nm + m]);
        }
    }
    inverse_rows(s_tmp.data(), x_tmp.data(), nz, false);
    scatter(x_tmp, 3);
}

// ---- Impl: diagnostics -----------------------------------------------------------------------------------------

RayleighBenardDiagnostics RayleighBenardSolver::Impl::diagnostics() {
    // x-average of f g for real fields given by their coefficients (Parseval): c_0 d_0 + 2 sum_{m>0} Re(c_m conj d_m).
    auto mean_xy = [&](const Complex* f, const Complex* g, bool derivative) {
        double s = f[0].real() * g[0].real() * (derivative ? 0.0 : 1.0);
        for (int64_t m = 1; m < nm; ++m) {
            const double weight = derivative ? 2.0 * k[m] * k[m] : 2.0;
            s += weight * (f[m].real() * g[m].real() + f[m].imag() * g[m].imag());
        }
        return s;
    };
    auto row = [&](const std::vector<Complex>& v, int64_t r) { return v.data() + r * nm; };
    const double inv_h = 1.0 / h;
    std::vector<Complex> d(static_cast<size_t>(nm));
    auto diff = [&](const Complex* upper, const Complex* lower, double scale) {
        for (int64_t m = 0; m < nm; ++m) {
            d[m] = scale * (upper[m] - lower[m]);
        }
        return d.data();
    };

    RayleighBenardDiagnostics out;
    double ke = 0.0, flux = 0.0, grad_u = 0.0, grad_b = 0.0;
    for (int64_t j = 0; j < nz; ++j) {
        ke += h * mean_xy(row(u, j), row(u, j), false);
        grad_u += h * mean_xy(row(u, j), row(u, j), true);
        grad_b += h * mean_xy(row(b, j), row(b, j), true);
        const Complex* dw = diff(row(w, j + 1), row(w, j), inv_h); // d_y w at centre j
        grad_u += h * mean_xy(dw, dw, false);
    }
    for (int64_t f = 1; f < nz; ++f) {
        ke += h * mean_xy(row(w, f), row(w, f), false);
        grad_u += h * mean_xy(row(w, f), row(w, f), true);
        for (int64_t m = 0; m < nm; ++m) {
            s_tmp[m] = 0.5 * (b[(f - 1) * nm + m] + b[f * nm + m]);
        }
        flux += h * mean_xy(row(w, f), s_tmp.data(), false);
        const Complex* du = diff(row(u, f), row(u, f - 1), inv_h);
        grad_u += h * mean_xy(du, du, false);
        const Complex* db = diff(row(b, f), row(b, f - 1), inv_h);
        grad_b += h * mean_xy(db, db, false);
    }
    // Wall faces: one-sided gradients from the ghost cells (u_ghost = -u_0, b_ghost = 2 b_wall - b_0) on half cells;
    // this makes <|grad .|^2> exactly the energy norm of the discrete Laplacians.
    std::vector<Complex> wall_value(static_cast<size_t>(nm), Complex(0.0, 0.0));
    for (int64_t wall = 0; wall < 2; ++wall) {
        const int64_t j = wall == 0 ? 0 : nz - 1;
        wall_value[0] = Complex(0.0, 0.0);
        const Complex* du = diff(row(u, j), wall_value.data(), 2.0 * inv_h);
        grad_u += 0.5 * h * mean_xy(du, du, false);
        wall_value[0] = Complex(wall == 0 ? 1.0 : 0.0, 0.0);
        const Complex* db = diff(row(b, j), wall_value.data(), 2.0 * inv_h);
        grad_b += 0.5 * h * mean_xy(db, db, false);
    }
    out.kinetic_energy = 0.5 * ke;
    out.buoyancy_flux = flux;
    out.nusselt_bottom = 2.0 * (1.0 - b[0].real()) * inv_h;
    out.nusselt_top = 2.0 * b[(nz - 1) * nm].real() * inv_h;
    out.nusselt_volume = 1.0 + flux / kappa;
    out.dissipation_velocity = nu * grad_u;
    out.dissipation_buoyancy = kappa * grad_b;

    divergence(u, w, s_div);
    inverse_rows(s_div.data(), x_tmp.data(), nz, false);
    double max_div = 0.0;
    for (int64_t i = 0; i < nz * nx; ++i) {
        max_div = std::max(max_div, std::abs(x_tmp[i]));
    }
    out.max_divergence = max_div;
    return out;
}

// ---- public API ------------------------------------------------------------------------------------------------

RayleighBenardSolver::RayleighBenardSolver(const RayleighBenardOptions& options) {
    options.validate();
    impl_ = std::make_unique<Impl>(options);
}

RayleighBenardSolver::~RayleighBenardSolver() = default;
RayleighBenardSolver::RayleighBenardSolver(RayleighBenardSolver&&) noexcept = default;
RayleighBenardSolver& RayleighBenardSolver::operator=(RayleighBenardSolver&&) noexcept = default;

void RayleighBenardSolver::initialize(uint64_t seed) {
    Impl& s = *impl_;
    const int64_t nx = s.nx;
    const int64_t nz = s.nz;
    std::mt19937_64 rng(seed);
    std::vector<double> noise(static_cast<size_t>(nx * nz));
    for (size_t n = 0; n < noise.size(); n += 2) { // Box-Muller pairs, cells in [i][j] order
        const double radius = std::sqrt(-2.0 * std::log(uniform_open0(rng())));
        const double angle = 2.0 * kPi * uniform_open0(rng());
        noise[n] = radius * std::cos(angle);
        if (n + 1 < noise.size()) {
            noise[n + 1] = radius * std::sin(angle);
        }
    }
    for (int64_t j = 0; j < nz; ++j) {
        const double y = (static_cast<double>(j) + 0.5) * s.h;
        for (int64_t i = 0; i < nx; ++i) {
            s.x_b[j * nx + i] = s.opt.noise_scale * noise[i * nz + j] * y * (1.0 - y) + s.opt.delta_b0 * (1.0 - y);
        }
    }
    s.transform_rows(s.x_b.data(), s.b.data(), nz);
    std::fill(s.u.begin(), s.u.end(), Impl::Complex(0.0, 0.0));
    std::fill(s.w.begin(), s.w.end(), Impl::Complex(0.0, 0.0));
    s.reset_history();
    s.initial_pressure();
}

void RayleighBenardSolver::set_state(const double* buoyancy, const double* velocity_x, const double* velocity_y) {
    Impl& s = *impl_;
    const int64_t nx = s.nx;
    const int64_t nz = s.nz;
    const int64_t nm = s.nm;
    auto load = [&](const double* field, std::vector<Impl::Complex>& spec) {
        for (int64_t j = 0; j < nz; ++j) {
            for (int64_t i = 0; i < nx; ++i) {
                s.x_tmp[j * nx + i] = field[i * nz + j];
            }
        }
        s.transform_rows(s.x_tmp.data(), spec.data(), nz);
    };
    load(buoyancy, s.b);
    load(velocity_x, s.u);
    load(velocity_y, s.s_tmp);
    std::fill(s.w.begin(), s.w.end(), Impl::Complex(0.0, 0.0));
    for (int64_t f = 1; f < nz; ++f) {
        for (int64_t m = 0; m < nm; ++m) {
            s.w[f * nm + m] = 0.5 * (s.s_tmp[(f - 1) * nm + m] + s.s_tmp[f * nm + m]);
        }
    }
    // Project onto discretely divergence-free fields: u -= grad phi with div grad phi = div u.
    s.divergence(s.u, s.w, s.s_div);
    s.solve_poisson(s.s_div);
    for (int64_t j = 0; j < nz; ++j) {
        for (int64_t m = 0; m < nm; ++m) {
            const Impl::Complex phi = s.s_div[j * nm + m];
            s.u[j * nm + m] -= Impl::Complex(-s.k[m] * phi.imag(), s.k[m] * phi.real());
        }
    }
    for (int64_t f = 1; f < nz; ++f) {
        for (int64_t m = 0; m < nm; ++m) {
            s.w[f * nm + m] -= (s.s_div[f * nm + m] - s.s_div[(f - 1) * nm + m]) / s.h;
        }
    }
    s.reset_history();
    s.initial_pressure();
}

void RayleighBenardSolver::advance(double t_end) { impl_->advance(t_end); }

void RayleighBenardSolver::step(double dt) { impl_->step(dt); }

double RayleighBenardSolver::time() const { return impl_->t; }

int64_t RayleighBenardSolver::n_steps() const { return impl_->steps; }

double RayleighBenardSolver::last_dt() const { return impl_->dt_prev; }

double RayleighBenardSolver::dt_smallest() const { return impl_->dt_smallest; }

double RayleighBenardSolver::dt_largest() const { return impl_->dt_largest; }

void RayleighBenardSolver::write_frame(double* frame) const { impl_->write_frame(frame); }

RayleighBenardDiagnostics RayleighBenardSolver::diagnostics() const { return impl_->diagnostics(); }

const RayleighBenardOptions& RayleighBenardSolver::options() const { return impl_->opt; }

RayleighBenardRunStats run_trajectory(const RayleighBenardOptions& options, uint64_t seed, int n_snapshots,
                                      double dt_out, const FrameSink& sink) {
    LOLA_CHECK_USAGE(n_snapshots >= 1, "rayleigh_benard: n_snapshots = {} must be >= 1 (official 200)", n_snapshots);
    LOLA_CHECK_USAGE(std::isfinite(dt_out) && dt_out > 0, "rayleigh_benard: dt_out = {} must be > 0 (official 0.25)",
                     dt_out);
    LOLA_CHECK_USAGE(static_cast<bool>(sink), "rayleigh_benard: run_trajectory needs a frame sink");
    const auto start = std::chrono::steady_clock::now();
    RayleighBenardSolver solver(options);
    std::vector<double> frame(static_cast<size_t>(4 * options.nx * options.ny));
    try {
        solver.initialize(seed);
        for (int64_t index = 0; index < n_snapshots; ++index) {
            const double t_out = static_cast<double>(index) * dt_out;
            solver.advance(t_out);
            solver.write_frame(frame.data());
            sink(index, t_out, frame.data());
        }
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        throw Error(fmt::format("seed {} (Ra = {:g}, Pr = {:g}, delta_b0 = {:g}): {}", seed, options.rayleigh,
                                options.prandtl, options.delta_b0, e.what()),
                    e.location());
    }
    RayleighBenardRunStats stats;
    stats.n_steps = solver.n_steps();
    stats.dt_smallest = solver.dt_smallest();
    stats.dt_largest = solver.dt_largest();
    stats.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
}

} // namespace lola::sim
