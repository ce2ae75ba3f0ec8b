// EulerSolver's fallback path: a stage in which some cell became non-physical is recomputed serially with the faces
// of the failing cells lowered step by step to first-order HLLC and then first-order HLLE.
#include "euler_impl.h"

#include "lola/core/error.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace lola::sim {

using euler_detail::FaceStates;
using euler_detail::Field4;
using euler_detail::ReconSettings;
using euler_detail::Row4;
using euler_detail::Stage;

Row4 EulerSolver::Impl::prim_all_row(int r) const {
    Row4 row = prim_all.row(r + 2);
    for (int k = 0; k < 4; ++k) {
        row.c[k] += 2;
    }
    return row;
}

// First-order flux of x-face (a, b) (between cells (a - 1, b) and (a, b)) or of y-face (a, b) (between cells
// (a, b - 1) and (a, b)) at `level` (1: HLLC, 2: HLLE), written into fx_all / fy_all.
void EulerSolver::Impl::low_order_face(bool x_direction, int a, int b, int level) {
    const Row4 left = prim_all_row(x_direction ? a - 1 : a);
    const Row4 right = prim_all_row(a);
    const int jl = x_direction ? b : b - 1;
    const int jr = b;
    const int n_idx = x_direction ? 1 : 2;
    const int t_idx = x_direction ? 2 : 1;
    const double rl = left.c[0][jl], ul = left.c[n_idx][jl], vl = left.c[t_idx][jl], pl = left.c[3][jl];
    const double rr = right.c[0][jr], ur = right.c[n_idx][jr], vr = right.c[t_idx][jr], pr = right.c[3][jr];
    const euler_detail::Flux4<double> f = level == 1
                                              ? euler_detail::hllc_flux<double>(rl, ul, vl, pl, rr, ur, vr, pr, gas)
                                              : euler_detail::hlle_flux(rl, ul, vl, pl, rr, ur, vr, pr, gas);
    Field4& dst = x_direction ? fx_all : fy_all;
    const size_t k = static_cast<size_t>(a) * dst.cols + b;
    dst.c[0][k] = f.rho;
    dst.c[n_idx][k] = f.mn;
    dst.c[t_idx][k] = f.mt;
    dst.c[3][k] = f.e;
}

// Lowers face (a, b) one level if possible and marks the rows whose update uses it. With periodic boundaries faces
// 0 and N are one face; they move together so that both neighbours see the same flux (exact conservation).
bool EulerSolver::Impl::lower_face(bool x_direction, int a, int b, std::vector<uint8_t>& dirty_rows) {
    std::vector<uint8_t>& levels = x_direction ? level_x : level_y;
    const int cols = x_direction ? ny : ny + 1;
    uint8_t& level = levels[static_cast<size_t>(a) * cols + b];
    if (level >= 2) {
        return false;
    }
    ++level;
    (level == 1 ? counters.n_first_order_faces : counters.n_hlle_faces) += 1;
    low_order_face(x_direction, a, b, level);
    if (x_direction) {
        if (a > 0) {
            dirty_rows[a - 1] = 1;
        }
        if (a < nx) {
            dirty_rows[a] = 1;
        }
        if (periodic && (a == 0 || a == nx)) {
            const int twin = a == 0 ? nx : 0;
            levels[static_cast<size_t>(twin) * cols + b] = level;
            low_order_face(true, twin, b, level);
            dirty_rows[twin == 0 ? 0 : nx - 1] = 1;
        }
    } else {
        dirty_rows[a] = 1;
        if (periodic && (b == 0 || b == ny)) {
            const int twin = b == 0 ? ny : 0;
            levels[static_cast<size_t>(a) * cols + twin] = level;
            low_order_face(false, a, twin, level);
        }
    }
    return true;
}

// The level-0 fluxes come from the same kernels as in the fast path, so faces that keep level 0 have the same
// values on either path, and the result does not depend on the number of threads.
void EulerSolver::Impl::robust_stage(const Stage& st) {
    const bool with_x = (st.dirs & 1) != 0;
    const bool with_y = (st.dirs & 2) != 0;
    const double dtdx = st.dt / dx;
    const double dtdy = st.dt / dy;
    const ReconSettings rs_x{opt.limiter, st.hancock, st.hancock ? 0.5 * dtdx : 0.0};
    const ReconSettings rs_y{opt.limiter, st.hancock, st.hancock ? 0.5 * dtdy : 0.0};
    if (prim_all.c[0].empty()) {
        prim_all.resize(nx + 4, ny + 4);
        fx_all.resize(nx + 1, ny);
        fy_all.resize(nx, ny + 1);
    }
    level_x.assign(static_cast<size_t>(nx + 1) * ny, 0);
    level_y.assign(static_cast<size_t>(nx) * (ny + 1), 0);
    for (int r = -2; r < nx + 2; ++r) {
        euler_detail::primitive_row(st.in->row(source_row(r)), prim_all_row(r), ny, periodic, gas);
    }

    euler_detail::Workspace& w = *workspaces[0]; // its reconstruction buffers serve as scratch here
    w.reset_counters(false);
    if (with_x) {
        auto recon_x = [&](int r) {
            euler_detail::reconstruct_x(rs_x, prim_all_row(r - 1), prim_all_row(r), prim_all_row(r + 1), ny, gas,
                                        w.recon_x[r & 1].states(), w.fallback.data());
        };
        recon_x(-1);
        for (int f = 0; f <= nx; ++f) {
            recon_x(f);
            euler_detail::x_face_fluxes(w.recon_x[(f - 1) & 1].states(), w.recon_x[f & 1].states(), ny, gas,
                                        w.scratch.data(), fx_all.row(f));
        }
    }
    if (with_y) {
        for (int i = 0; i < nx; ++i) {
            const FaceStates ys = w.recon_y.states();
            euler_detail::reconstruct_y(rs_y, prim_all_row(i), ny, gas, ys, w.fallback.data());
            euler_detail::y_face_fluxes(ys, ny, gas, w.scratch.data(), fy_all.row(i));
        }
    }
    counters.n_reconstruction_fallbacks += euler_detail::count_of(w.fallback);

    euler_detail::UpdateRow ur;
    ur.bad = w.bad.data();
    ur.a_x = w.a_x.data();
    ur.a_y = w.a_y.data();
    Stage plain = st;
    plain.speeds = false; // speeds are taken below, once the stage is final
    auto update = [&](int i) {
        ur.in = st.in->row(i);
        ur.base = st.combine ? st.base->row(i) : Row4{};
        ur.out = st.out->row(i);
        ur.fx_lo = fx_all.row(i);
        ur.fx_hi = fx_all.row(i + 1);
        ur.fy = fy_all.row(i);
        euler_detail::update_row(plain, ur, ny, dtdx, dtdy, gas);
    };
    auto find_bad = [&](int i, std::vector<std::pair<int, int>>& bad) {
        const Row4 row = st.out->row(i);
        for (int j = 0; j < ny; ++j) {
            const double r = row.c[0][j];
            const double p = euler_detail::pressure_of(r, row.c[1][j], row.c[2][j], row.c[3][j], gas);
            if (!(r > 0.0 && p > 0.0)) {
                bad.emplace_back(i, j);
            }
        }
    };

    std::vector<std::pair<int, int>> bad;
    for (int i = 0; i < nx; ++i) {
        update(i);
        find_bad(i, bad);
    }
    std::vector<uint8_t> dirty(nx, 0);
    while (!bad.empty()) {
        std::fill(dirty.begin(), dirty.end(), 0);
        for (const auto& [i, j] : bad) {
            bool lowered = false;
            if (with_x) {
                lowered = lower_face(true, i, j, dirty) || lowered;
                lowered = lower_face(true, i + 1, j, dirty) || lowered;
            }
            if (with_y) {
                lowered = lower_face(false, i, j, dirty) || lowered;
                lowered = lower_face(false, i, j + 1, dirty) || lowered;
            }
            if (!lowered) {
                const Row4 row = st.out->row(i);
                LOLA_THROW(
                    "Euler solver: non-physical state at t={:.6g} (step {}, dt={:.3g}) in cell (i={}, j={}) at "
                    "x={:.4g}, y={:.4g}: rho={:.6g}, p={:.6g} even with first-order HLLE fluxes; the initial "
                    "condition may be too extreme (near vacuum) or cfl={} too large",
                    time + st.dt, counters.n_steps + 1, st.dt, i, j, (i + 0.5) * dx, (j + 0.5) * dy, row.c[0][j],
                    euler_detail::pressure_of(row.c[0][j], row.c[1][j], row.c[2][j], row.c[3][j], gas), opt.cfl);
            }
        }
        bad.clear();
        for (int i = 0; i < nx; ++i) {
            if (dirty[i]) {
                update(i);
                find_bad(i, bad);
            }
        }
    }

    for (int k = 0; k < 4; ++k) {
        if (with_x) {
            std::copy(fx_all.c[k].begin(), fx_all.c[k].begin() + ny, bx_lo.c[k].begin());
            std::copy(fx_all.c[k].begin() + static_cast<size_t>(nx) * ny,
                      fx_all.c[k].begin() + static_cast<size_t>(nx + 1) * ny, bx_hi.c[k].begin());
        }
        if (with_y) {
            for (int i = 0; i < nx; ++i) {
                by_lo.c[k][i] = fy_all.c[k][static_cast<size_t>(i) * (ny + 1)];
                by_hi.c[k][i] = fy_all.c[k][static_cast<size_t>(i) * (ny + 1) + ny];
            }
        }
    }
    if (st.speeds) {
        double ax = 0.0;
        double ay = 0.0;
        for (int i = 0; i < nx; ++i) {
            const Row4 row = st.out->row(i);
            for (int j = 0; j < ny; ++j) {
                const double r = row.c[0][j];
                const double inv = 1.0 / r;
                const double u = row.c[1][j] * inv;
                const double v = row.c[2][j] * inv;
                const double p = gas.gm1 * (row.c[3][j] - 0.5 * (row.c[1][j] * u + row.c[2][j] * v));
                const double c = std::sqrt(std::fabs(gas.gamma * p * inv));
                ax = std::max(ax, std::fabs(u) + c);
                ay = std::max(ay, std::fabs(v) + c);
            }
        }
        a_x = ax;
        a_y = ay;
    }
}

} // namespace lola::sim
