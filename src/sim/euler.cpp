// EulerSolver: storage, stage orchestration over row blocks and worker threads (the fast path), time stepping and
// the public interface. The fallback recomputation of a failed stage is in euler_robust.cpp.
#include "euler_impl.h"

#include "lola/core/error.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace lola::sim {

namespace euler_detail {

// ---- storage ----

void Field4::resize(int rows, int n_cols) {
    cols = n_cols;
    for (auto& v : c) {
        v.assign(static_cast<size_t>(rows) * static_cast<size_t>(n_cols), 0.0);
    }
}

Row4 Field4::row(int i) const {
    Row4 r;
    for (int k = 0; k < 4; ++k) {
        r.c[k] = const_cast<double*>(c[k].data()) + static_cast<size_t>(i) * static_cast<size_t>(cols);
    }
    return r;
}

void StateLine::resize(int n_cells) {
    n = n_cells;
    data.assign(static_cast<size_t>(8) * n, 0.0);
}

FaceStates StateLine::states() const {
    FaceStates s;
    double* base = const_cast<double*>(data.data());
    for (int k = 0; k < 4; ++k) {
        s.minus[k] = base + static_cast<size_t>(k) * n;
        s.plus[k] = base + static_cast<size_t>(4 + k) * n;
    }
    return s;
}

Workspace::Workspace(int n_y) : ny(n_y) {
    prim.assign(static_cast<size_t>(16) * (ny + 4), 0.0);
    recon_x[0].resize(ny);
    recon_x[1].resize(ny);
    recon_y.resize(ny + 2);
    xflux.assign(static_cast<size_t>(8) * ny, 0.0);
    yflux.assign(static_cast<size_t>(4) * (ny + 1), 0.0);
    a_x.assign(ny, 0.0);
    a_y.assign(ny, 0.0);
    bad.assign(ny, 0.0);
    fallback.assign(ny + 2, 0.0);
    halo.assign(ny + 2, 0.0);
    scratch.assign(static_cast<size_t>(3) * (ny + 1), 0.0);
}

Row4 Workspace::prim_slot(int slot) {
    Row4 r;
    for (int k = 0; k < 4; ++k) {
        r.c[k] = prim.data() + static_cast<size_t>(slot * 4 + k) * (ny + 4) + 2;
    }
    return r;
}

Row4 Workspace::xflux_slot(int slot) {
    Row4 r;
    for (int k = 0; k < 4; ++k) {
        r.c[k] = xflux.data() + static_cast<size_t>(slot * 4 + k) * ny;
    }
    return r;
}

Row4 Workspace::yflux_row() {
    Row4 r;
    for (int k = 0; k < 4; ++k) {
        r.c[k] = yflux.data() + static_cast<size_t>(k) * (ny + 1);
    }
    return r;
}

void Workspace::reset_counters(bool speeds) {
    std::fill(bad.begin(), bad.end(), 0.0);
    std::fill(fallback.begin(), fallback.end(), 0.0);
    if (speeds) {
        std::fill(a_x.begin(), a_x.end(), 0.0);
        std::fill(a_y.begin(), a_y.end(), 0.0);
    }
}

int64_t count_of(const std::vector<double>& v) {
    double s = 0.0;
    for (double x : v) {
        s += x;
    }
    return static_cast<int64_t>(s);
}

// ---- kernel dispatch ----

namespace {

template <bool kHancock>
void reconstruct_dispatch(EulerOptions::Limiter limiter, const Stencil3& s, int n, double half_dtdx, const Gas& gas,
                          const FaceStates& out, double* fallbacks) {
    if (limiter == EulerOptions::Limiter::kMC) {
        reconstruct_line<LimiterMC, kHancock>(s, n, half_dtdx, gas, out, fallbacks);
    } else {
        reconstruct_line<LimiterMinmod, kHancock>(s, n, half_dtdx, gas, out, fallbacks);
    }
}

void reconstruct(const ReconSettings& rs, const Stencil3& s, int n, const Gas& gas, const FaceStates& out,
                 double* fallbacks) {
    if (rs.hancock) {
        reconstruct_dispatch<true>(rs.limiter, s, n, rs.half_dtdx, gas, out, fallbacks);
    } else {
        reconstruct_dispatch<false>(rs.limiter, s, n, 0.0, gas, out, fallbacks);
    }
}

} // namespace

void reconstruct_x(const ReconSettings& rs, const Row4& lo, const Row4& mid, const Row4& hi, int ny, const Gas& gas,
                   const FaceStates& out, double* fallbacks) {
    const Row4* rows[3] = {&lo, &mid, &hi};
    Stencil3 s{};
    for (int m = 0; m < 3; ++m) {
        s.rho[m] = rows[m]->c[0];
        s.un[m] = rows[m]->c[1];
        s.ut[m] = rows[m]->c[2];
        s.p[m] = rows[m]->c[3];
    }
    reconstruct(rs, s, ny, gas, out, fallbacks);
}

void reconstruct_y(const ReconSettings& rs, const Row4& row, int ny, const Gas& gas, const FaceStates& out,
                   double* fallbacks) {
    // Output index k holds cell k - 1, whose neighbours are the row's columns k - 2, k - 1, k.
    Stencil3 s{};
    for (int m = 0; m < 3; ++m) {
        s.rho[m] = row.c[0] + (m - 2);
        s.un[m] = row.c[2] + (m - 2);
        s.ut[m] = row.c[1] + (m - 2);
        s.p[m] = row.c[3] + (m - 2);
    }
    reconstruct(rs, s, ny + 2, gas, out, fallbacks);
}

void x_face_fluxes(const FaceStates& below, const FaceStates& above, int ny, const Gas& gas, double* scratch,
                   const Row4& out) {
    FaceInputs in{};
    for (int k = 0; k < 4; ++k) {
        in.left[k] = below.plus[k];
        in.right[k] = above.minus[k];
    }
    hllc_line(in, ny, gas, scratch, out.c[0], out.c[1], out.c[2], out.c[3]);
}

void y_face_fluxes(const FaceStates& row, int ny, const Gas& gas, double* scratch, const Row4& out) {
    // Face j lies between cells j - 1 (stored at j) and j (stored at j + 1). Its normal momentum is m_y.
    FaceInputs in{};
    for (int k = 0; k < 4; ++k) {
        in.left[k] = row.plus[k];
        in.right[k] = row.minus[k] + 1;
    }
    hllc_line(in, ny + 1, gas, scratch, out.c[0], out.c[2], out.c[1], out.c[3]);
}

void update_row(const Stage& st, const UpdateRow& r, int ny, double dtdx, double dtdy, const Gas& gas) {
    if (st.dirs == 3) {
        if (st.combine) {
            st.speeds ? update_line<true, true, true, true>(r, ny, dtdx, dtdy, gas)
                      : update_line<true, true, true, false>(r, ny, dtdx, dtdy, gas);
        } else {
            st.speeds ? update_line<true, true, false, true>(r, ny, dtdx, dtdy, gas)
                      : update_line<true, true, false, false>(r, ny, dtdx, dtdy, gas);
        }
    } else if (st.dirs == 1) {
        st.speeds ? update_line<true, false, false, true>(r, ny, dtdx, dtdy, gas)
                  : update_line<true, false, false, false>(r, ny, dtdx, dtdy, gas);
    } else {
        st.speeds ? update_line<false, true, false, true>(r, ny, dtdx, dtdy, gas)
                  : update_line<false, true, false, false>(r, ny, dtdx, dtdy, gas);
    }
}

} // namespace euler_detail

using euler_detail::FaceStates;
using euler_detail::Field4;
using euler_detail::ReconSettings;
using euler_detail::Row4;
using euler_detail::Stage;
using euler_detail::Workspace;

// ---- solver state ----

EulerSolver::Impl::Impl(const EulerOptions& options) : opt(options), gas(options.gamma) {
    opt.validate();
    nx = opt.nx;
    ny = opt.ny;
    dx = 1.0 / nx;
    dy = 1.0 / ny;
    periodic = opt.boundary == EulerOptions::Boundary::kPeriodic;
    u0.resize(nx, ny);
    u1.resize(nx, ny);
    u2.resize(nx, ny);
    bx_lo.resize(1, ny);
    bx_hi.resize(1, ny);
    by_lo.resize(1, nx);
    by_hi.resize(1, nx);
    // At least two rows per block.
    const int n_blocks = std::max(1, std::min(opt.n_threads, nx / 2));
    for (int t = 0; t <= n_blocks; ++t) {
        block_start.push_back(static_cast<int>(static_cast<int64_t>(nx) * t / n_blocks));
    }
    for (int t = 0; t < n_blocks; ++t) {
        workspaces.push_back(std::make_unique<Workspace>(ny));
    }
    team = std::make_unique<euler_detail::WorkerTeam>(n_blocks);
}

int EulerSolver::Impl::source_row(int r) const {
    if (periodic) {
        return (r % nx + nx) % nx;
    }
    return std::min(std::max(r, 0), nx - 1);
}

void EulerSolver::Impl::reset_history() {
    time = 0.0;
    counters = EulerCounters{};
    outflow = EulerTotals{};
    check_state_and_speeds("initial state");
}

void EulerSolver::Impl::check_state_and_speeds(const char* what) {
    double ax = 0.0;
    double ay = 0.0;
    for (int i = 0; i < nx; ++i) {
        for (int j = 0; j < ny; ++j) {
            const size_t k = static_cast<size_t>(i) * ny + j;
            const double r = u0.c[0][k];
            const double p = euler_detail::pressure_of(r, u0.c[1][k], u0.c[2][k], u0.c[3][k], gas);
            LOLA_CHECK(r > 0.0 && p > 0.0 && std::isfinite(r) && std::isfinite(p) && std::isfinite(u0.c[1][k]) &&
                           std::isfinite(u0.c[2][k]),
                       "Euler solver: non-physical {} at cell (i={}, j={}): rho={}, p={} (need finite rho > 0 and "
                       "p > 0)",
                       what, i, j, r, p);
            const double c = std::sqrt(gas.gamma * p / r);
            ax = std::max(ax, std::fabs(u0.c[1][k] / r) + c);
            ay = std::max(ay, std::fabs(u0.c[2][k] / r) + c);
        }
    }
    a_x = ax;
    a_y = ay;
}

double EulerSolver::Impl::cfl_dt() const {
    if (opt.scheme == EulerOptions::Scheme::kUnsplitRK2) {
        return opt.cfl / (a_x / dx + a_y / dy);
    }
    return opt.cfl / std::max(a_x / dx, a_y / dy);
}

// ---- fast path: one block of rows ----

// Streams through rows i0 .. i1-1: primitive rows enter a ring of four (two halo rows each side), each row is
// x-reconstructed once into a ring of two, each x-face flux is computed once into a ring of two, then the row's
// y-faces and its update follow. Face i0 is also computed by the block below (identically), so blocks never share
// writes. Halo reconstructions that another block also performs do not count fallbacks, so counters do not depend
// on the number of threads.
void EulerSolver::Impl::run_block(const Stage& st, int i0, int i1, Workspace& w) {
    const bool with_x = (st.dirs & 1) != 0;
    const bool with_y = (st.dirs & 2) != 0;
    const double dtdx = st.dt / dx;
    const double dtdy = st.dt / dy;
    const ReconSettings rs_x{opt.limiter, st.hancock, st.hancock ? 0.5 * dtdx : 0.0};
    const ReconSettings rs_y{opt.limiter, st.hancock, st.hancock ? 0.5 * dtdy : 0.0};
    w.reset_counters(st.speeds);

    auto prim = [&](int r) {
        euler_detail::primitive_row(st.in->row(source_row(r)), w.prim_slot(r & 3), ny, periodic, gas);
    };
    auto recon_x = [&](int r, double* fallbacks) {
        euler_detail::reconstruct_x(rs_x, w.prim_slot((r - 1) & 3), w.prim_slot(r & 3), w.prim_slot((r + 1) & 3), ny,
                                    gas, w.recon_x[r & 1].states(), fallbacks);
    };
    auto x_face = [&](int f) {
        const Row4 out = w.xflux_slot(f & 1);
        euler_detail::x_face_fluxes(w.recon_x[(f - 1) & 1].states(), w.recon_x[f & 1].states(), ny, gas,
                                    w.scratch.data(), out);
        if (f == 0 || f == nx) {
            Field4& b = f == 0 ? bx_lo : bx_hi;
            for (int k = 0; k < 4; ++k) {
                std::copy(out.c[k], out.c[k] + ny, b.c[k].begin());
            }
        }
    };

    if (with_x) {
        for (int r = i0 - 2; r <= i0 + 1; ++r) {
            prim(r);
        }
        recon_x(i0 - 1, i0 == 0 ? w.fallback.data() : w.halo.data());
        recon_x(i0, w.fallback.data());
        x_face(i0);
    }
    const Row4 fy = w.yflux_row();
    euler_detail::UpdateRow ur;
    ur.fy = fy;
    ur.bad = w.bad.data();
    ur.a_x = w.a_x.data();
    ur.a_y = w.a_y.data();
    for (int i = i0; i < i1; ++i) {
        if (with_x) {
            prim(i + 2);
            recon_x(i + 1, (i + 1 < i1 || i + 1 == nx) ? w.fallback.data() : w.halo.data());
            x_face(i + 1);
        } else {
            prim(i);
        }
        if (with_y) {
            const FaceStates ys = w.recon_y.states();
            euler_detail::reconstruct_y(rs_y, w.prim_slot(i & 3), ny, gas, ys, w.fallback.data());
            euler_detail::y_face_fluxes(ys, ny, gas, w.scratch.data(), fy);
            for (int k = 0; k < 4; ++k) {
                by_lo.c[k][i] = fy.c[k][0];
                by_hi.c[k][i] = fy.c[k][ny];
            }
        }
        ur.in = st.in->row(i);
        ur.base = st.combine ? st.base->row(i) : Row4{};
        ur.out = st.out->row(i);
        ur.fx_lo = w.xflux_slot(i & 1);
        ur.fx_hi = w.xflux_slot((i + 1) & 1);
        euler_detail::update_row(st, ur, ny, dtdx, dtdy, gas);
    }
}

void EulerSolver::Impl::run_stage(const Stage& st) {
    const int n_blocks = static_cast<int>(workspaces.size());
    team->run([&](int t) { run_block(st, block_start[t], block_start[t + 1], *workspaces[t]); });
    int64_t n_bad = 0;
    int64_t n_fallback = 0;
    for (const auto& w : workspaces) {
        n_bad += euler_detail::count_of(w->bad);
        n_fallback += euler_detail::count_of(w->fallback);
    }
    if (n_bad > 0) {
        ++counters.n_robust_stages;
        robust_stage(st);
    } else {
        counters.n_reconstruction_fallbacks += n_fallback;
        if (st.speeds) {
            double ax = 0.0;
            double ay = 0.0;
            for (int t = 0; t < n_blocks; ++t) {
                for (int j = 0; j < ny; ++j) {
                    ax = std::max(ax, workspaces[t]->a_x[j]);
                    ay = std::max(ay, workspaces[t]->a_y[j]);
                }
            }
            a_x = ax;
            a_y = ay;
        }
    }
    accumulate_outflow(st);
}

// Net outflow of this stage: weight * dt * (boundary integral of the normal flux), summed in a fixed order.
void EulerSolver::Impl::accumulate_outflow(const Stage& st) {
    double net[4] = {0.0, 0.0, 0.0, 0.0};
    for (int k = 0; k < 4; ++k) {
        double sx = 0.0;
        double sy = 0.0;
        if (st.dirs & 1) {
            for (int j = 0; j < ny; ++j) {
                sx += bx_hi.c[k][j] - bx_lo.c[k][j];
            }
        }
        if (st.dirs & 2) {
            for (int i = 0; i < nx; ++i) {
                sy += by_hi.c[k][i] - by_lo.c[k][i];
            }
        }
        net[k] = st.weight * st.dt * (sx * dy + sy * dx);
    }
    outflow.mass += net[0];
    outflow.momentum_x += net[1];
    outflow.momentum_y += net[2];
    outflow.energy += net[3];
}

// ---- time step ----

double EulerSolver::Impl::take_step(double dt) {
    if (opt.scheme == EulerOptions::Scheme::kUnsplitRK2) {
        Stage s1;
        s1.dirs = 3;
        s1.in = &u0;
        s1.out = &u1;
        s1.dt = dt;
        s1.weight = 0.5;
        run_stage(s1);
        Stage s2 = s1;
        s2.combine = true;
        s2.speeds = true;
        s2.in = &u1;
        s2.base = &u0;
        s2.out = &u2;
        run_stage(s2);
    } else {
        const bool x_first = counters.n_steps % 2 == 0;
        Stage s1;
        s1.dirs = x_first ? 1 : 2;
        s1.hancock = true;
        s1.in = &u0;
        s1.out = &u1;
        s1.dt = dt;
        s1.weight = 1.0;
        run_stage(s1);
        Stage s2 = s1;
        s2.dirs = x_first ? 2 : 1;
        s2.speeds = true;
        s2.in = &u1;
        s2.out = &u2;
        run_stage(s2);
    }
    std::swap(u0, u2);
    time += dt;
    ++counters.n_steps;
    return dt;
}

// Throws when the step just taken violated the CFL condition by more than the hard limit (the signal speed grew
// too fast within one step), naming the cell with the largest speed.
void EulerSolver::Impl::check_cfl_after_step(double dt) {
    const double courant = opt.scheme == EulerOptions::Scheme::kUnsplitRK2 ? dt * (a_x / dx + a_y / dy)
                                                                           : dt * std::max(a_x / dx, a_y / dy);
    // Both schemes are stable up to a Courant number of about 1. The step was sized from the speeds before it, so
    // allow some growth within the step; beyond 1.5 the step was not valid (blow-up or near vacuum).
    const double hard_limit = 1.5;
    if (courant <= hard_limit && std::isfinite(courant)) {
        return;
    }
    const FastestCell f = fastest_cell();
    LOLA_THROW(
        "Euler solver: CFL condition violated at t={:.6g} (step {}): Courant number {:.3g} > {} after a step "
        "of dt={:.3g}; fastest cell (i={}, j={}) has |u|+c={:.6g}. Lower cfl (now {}) or check the "
        "initial condition",
        time, counters.n_steps, courant, hard_limit, dt, f.i, f.j, f.speed, opt.cfl);
}

EulerSolver::Impl::FastestCell EulerSolver::Impl::fastest_cell() const {
    FastestCell best;
    for (int i = 0; i < nx; ++i) {
        for (int j = 0; j < ny; ++j) {
            const size_t k = static_cast<size_t>(i) * ny + j;
            const double r = u0.c[0][k];
            const double p = euler_detail::pressure_of(r, u0.c[1][k], u0.c[2][k], u0.c[3][k], gas);
            const double s = std::max(std::fabs(u0.c[1][k]), std::fabs(u0.c[2][k])) / r + std::sqrt(gas.gamma * p / r);
            if (s > best.speed) {
                best = {i, j, s};
            }
        }
    }
    return best;
}

// ---- public interface ----

EulerSolver::EulerSolver(const EulerOptions& options) : impl_(std::make_unique<Impl>(options)) {}

EulerSolver::~EulerSolver() = default;

const EulerOptions& EulerSolver::options() const { return impl_->opt; }
int EulerSolver::nx() const { return impl_->nx; }
int EulerSolver::ny() const { return impl_->ny; }

void EulerSolver::set_initial_condition(const QuadrantIC& ic) {
    ic.validate();
    set_primitive([&ic](double x, double y) { return ic.at(x, y); });
}

void EulerSolver::set_primitive(const std::function<Primitive2D(double x, double y)>& state) {
    Impl& m = *impl_;
    for (int i = 0; i < m.nx; ++i) {
        for (int j = 0; j < m.ny; ++j) {
            const Primitive2D w = state((i + 0.5) * m.dx, (j + 0.5) * m.dy);
            const size_t k = static_cast<size_t>(i) * m.ny + j;
            m.u0.c[0][k] = w.rho;
            m.u0.c[1][k] = w.rho * w.u;
            m.u0.c[2][k] = w.rho * w.v;
            m.u0.c[3][k] = w.p * m.gas.inv_gm1 + 0.5 * w.rho * (w.u * w.u + w.v * w.v);
        }
    }
    m.reset_history();
}

void EulerSolver::set_conserved(const double* density, const double* momentum_x, const double* momentum_y,
                                const double* energy) {
    Impl& m = *impl_;
    const size_t n = static_cast<size_t>(m.nx) * m.ny;
    std::copy(density, density + n, m.u0.c[0].begin());
    std::copy(momentum_x, momentum_x + n, m.u0.c[1].begin());
    std::copy(momentum_y, momentum_y + n, m.u0.c[2].begin());
    std::copy(energy, energy + n, m.u0.c[3].begin());
    m.reset_history();
}

double EulerSolver::time() const { return impl_->time; }

double EulerSolver::stable_dt() const { return impl_->cfl_dt(); }

double EulerSolver::step(double dt_max) {
    Impl& m = *impl_;
    const double dt = std::min(m.cfl_dt(), dt_max);
    LOLA_CHECK(std::isfinite(dt) && dt > 0.0,
               "Euler solver: invalid time step dt={} at t={:.6g} (max signal speeds {} along x, {} along y)", dt,
               m.time, m.a_x, m.a_y);
    m.take_step(dt);
    m.check_cfl_after_step(dt);
    return dt;
}

void EulerSolver::advance_to(double t_target) {
    Impl& m = *impl_;
    LOLA_CHECK(std::isfinite(t_target) && t_target >= m.time,
               "Euler solver: cannot advance to t={} from t={} (time only moves forward)", t_target, m.time);
    while (m.time < t_target) {
        const double remaining = t_target - m.time;
        double dt = m.cfl_dt();
        if (!(std::isfinite(dt) && dt > 1e-12 * std::max(1.0, t_target))) {
            const Impl::FastestCell f = m.fastest_cell();
            LOLA_THROW(
                "Euler solver: time step collapsed to dt={:.3g} at t={:.6g}; fastest cell (i={}, j={}) has "
                "|u|+c={:.6g}: the flow is near vacuum or blowing up",
                dt, m.time, f.i, f.j, f.speed);
        }
        if (m.counters.n_steps >= m.opt.max_steps) {
            const Impl::FastestCell f = m.fastest_cell();
            LOLA_THROW(
                "Euler solver: more than max_steps={} time steps at t={:.6g} (dt={:.3g}; fastest cell (i={}, "
                "j={}) has |u|+c={:.6g}); raise max_steps or lower the resolution",
                m.opt.max_steps, m.time, dt, f.i, f.j, f.speed);
        }
        const bool last = dt >= remaining;
        if (last) {
            dt = remaining;
        }
        m.take_step(dt);
        if (last) {
            m.time = t_target; // hit output times exactly, without accumulated round-off
        }
        m.check_cfl_after_step(dt);
    }
}

const double* EulerSolver::density() const { return impl_->u0.c[0].data(); }
const double* EulerSolver::momentum_x() const { return impl_->u0.c[1].data(); }
const double* EulerSolver::momentum_y() const { return impl_->u0.c[2].data(); }
const double* EulerSolver::energy() const { return impl_->u0.c[3].data(); }

double EulerSolver::pressure(int i, int j) const {
    const Impl& m = *impl_;
    LOLA_CHECK(i >= 0 && i < m.nx && j >= 0 && j < m.ny, "Euler solver: cell ({}, {}) outside the {}x{} grid", i, j,
               m.nx, m.ny);
    const size_t k = static_cast<size_t>(i) * m.ny + j;
    return euler_detail::pressure_of(m.u0.c[0][k], m.u0.c[1][k], m.u0.c[2][k], m.u0.c[3][k], m.gas);
}

void EulerSolver::write_frame(double* out) const {
    const Impl& m = *impl_;
    const size_t n = static_cast<size_t>(m.nx) * m.ny;
    double* energy = out;
    double* density = out + n;
    double* pressure = out + 2 * n;
    double* mom_x = out + 3 * n;
    double* mom_y = out + 4 * n;
    for (size_t k = 0; k < n; ++k) {
        energy[k] = m.u0.c[3][k];
        density[k] = m.u0.c[0][k];
        pressure[k] = euler_detail::pressure_of(m.u0.c[0][k], m.u0.c[1][k], m.u0.c[2][k], m.u0.c[3][k], m.gas);
        mom_x[k] = m.u0.c[1][k];
        mom_y[k] = m.u0.c[2][k];
    }
}

EulerTotals EulerSolver::totals() const {
    const Impl& m = *impl_;
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    const size_t n = static_cast<size_t>(m.nx) * m.ny;
    for (int k = 0; k < 4; ++k) {
        for (size_t c = 0; c < n; ++c) {
            s[k] += m.u0.c[k][c];
        }
    }
    const double area = m.dx * m.dy;
    return {s[0] * area, s[1] * area, s[2] * area, s[3] * area};
}

EulerTotals EulerSolver::boundary_outflow() const { return impl_->outflow; }

const EulerCounters& EulerSolver::counters() const { return impl_->counters; }

} // namespace lola::sim
