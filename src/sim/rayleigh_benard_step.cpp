// Rayleigh-Benard time step: explicit advection/buoyancy terms, implicit diffusion (batched Thomas solves), the
// incremental rotational projection, and the CFL-driven step control of advance().
#include "lola/core/error.h"
#include "rayleigh_benard_impl.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace lola::sim {

namespace detail {

void TridiagonalBatch::factor(int64_t rows, int64_t modes, double off_diagonal, const std::vector<double>& diag) {
    n_rows = rows;
    n_modes = modes;
    off = off_diagonal;
    inv_pivot.resize(static_cast<size_t>(rows * modes));
    ratio.resize(static_cast<size_t>(rows * modes));
    for (int64_t m = 0; m < modes; ++m) {
        inv_pivot[m] = 1.0 / diag[m];
        ratio[m] = 0.0;
    }
    for (int64_t j = 1; j < rows; ++j) {
        for (int64_t m = 0; m < modes; ++m) {
            const double l = off * inv_pivot[(j - 1) * modes + m];
            ratio[j * modes + m] = l;
            inv_pivot[j * modes + m] = 1.0 / (diag[j * modes + m] - l * off);
        }
    }
}

void TridiagonalBatch::solve(Complex* x, int64_t m_begin) const {
    for (int64_t j = 1; j < n_rows; ++j) {
        Complex* row = x + j * n_modes;
        const Complex* prev = row - n_modes;
        const double* l = ratio.data() + j * n_modes;
        for (int64_t m = m_begin; m < n_modes; ++m) {
            row[m] -= l[m] * prev[m];
        }
    }
    {
        Complex* row = x + (n_rows - 1) * n_modes;
        const double* ip = inv_pivot.data() + (n_rows - 1) * n_modes;
        for (int64_t m = m_begin; m < n_modes; ++m) {
            row[m] *= ip[m];
        }
    }
    for (int64_t j = n_rows - 2; j >= 0; --j) {
        Complex* row = x + j * n_modes;
        const Complex* next = row + n_modes;
        const double* ip = inv_pivot.data() + j * n_modes;
        for (int64_t m = m_begin; m < n_modes; ++m) {
            row[m] = (row[m] - off * next[m]) * ip[m];
        }
    }
}

} // namespace detail

namespace {

// i k c
inline detail::Complex times_ik(double k, detail::Complex c) { return {-k * c.imag(), k * c.real()}; }

} // namespace

using Complex = detail::Complex;

void RayleighBenardSolver::Impl::divergence(const std::vector<Complex>& u_hat, const std::vector<Complex>& w_hat,
                                            std::vector<Complex>& div) {
    const double inv_h = 1.0 / h;
    for (int64_t j = 0; j < nz; ++j) {
        for (int64_t m = 0; m < nm; ++m) {
            div[j * nm + m] = times_ik(k[m], u_hat[j * nm + m]) + (w_hat[(j + 1) * nm + m] - w_hat[j * nm + m]) * inv_h;
        }
    }
}

void RayleighBenardSolver::Impl::solve_poisson(std::vector<Complex>& rhs) {
    // Modes m >= 1: A phi = -rhs with A = -(d_yy - k^2), symmetric positive definite.
    for (int64_t j = 0; j < nz; ++j) {
        for (int64_t m = 1; m < nm; ++m) {
            rhs[j * nm + m] = -rhs[j * nm + m];
        }
    }
    op_poisson.solve(rhs.data(), 1);
    // Mode 0 (singular, compatible since the wall faces carry no flux): integrate the face gradients
    // q_{j+1/2} = q_{j-1/2} + h rhs_j from q_{-1/2} = 0, then phi, then remove the mean (gauge <p> = 0).
    double q = 0.0;
    double phi = 0.0;
    double sum = 0.0;
    for (int64_t j = 0; j < nz; ++j) {
        const double r = rhs[j * nm].real();
        rhs[j * nm] = Complex(phi, 0.0);
        sum += phi;
        q += h * r;
        phi += h * q;
    }
    const double mean = sum / static_cast<double>(nz);
    for (int64_t j = 0; j < nz; ++j) {
        rhs[j * nm] -= mean;
    }
}

void RayleighBenardSolver::Impl::evaluate_explicit() {
    inverse_rows(u.data(), x_u.data(), nz, true);
    inverse_rows(b.data(), x_b.data(), nz, true);
    std::fill(x_w.begin(), x_w.begin() + nx, 0.0);
    std::fill(x_w.begin() + nz * nx, x_w.begin() + (nz + 1) * nx, 0.0);
    inverse_rows(w.data() + nm, x_w.data() + nx, nz - 1, true);

    // Courant rate and state check. b obeys a maximum principle (0 <= b <= 1 up to small overshoots), so
    // |b - 1/2| > 5 can only mean a numerical blow-up.
    rate = 0.0;
    for (int64_t j = 0; j < nz; ++j) {
        for (int64_t i = 0; i < nx; ++i) {
            const double uu = x_u[j * nx + i];
            const double wl = x_w[j * nx + i];
            const double wu = x_w[(j + 1) * nx + i];
            const double bb = x_b[j * nx + i];
            const double r = std::abs(uu) / dx + std::max(std::abs(wl), std::abs(wu)) / h;
            if (!(r < std::numeric_limits<double>::max()) || !(std::abs(bb - 0.5) <= 5.0)) {
                LOLA_THROW(
                    "rayleigh_benard: non-finite or non-physical state at t = {:.6g} (step {}) in cell "
                    "(i = {}, j = {}), x = {:.4g}, y = {:.4g}: b = {:.4g}, u_x = {:.4g}, u_y = {:.4g}; the run "
                    "is unstable or under-resolved: lower cfl (now {}) or dt_max, or raise nx x ny (now {}x{}) "
                    "for Ra = {:g}, Pr = {:g}",
                    t, steps, i, j, static_cast<double>(i) * dx, (static_cast<double>(j) + 0.5) * h, bb, uu,
                    0.5 * (wl + wu), opt.cfl, nx, nz, opt.rayleigh, opt.prandtl);
            }
            if (r > rate) {
                rate = r;
                rate_i = i;
                rate_j = j;
                rate_u = uu;
                rate_w = std::max(std::abs(wl), std::abs(wu));
            }
        }
    }

    // Products in physical space, conservative (flux) form on the MAC grid:
    //   centres: u u, u b, (w at centre)^2;   interior faces: (u at face) w, w (b at face).
    const int64_t n_centre = nz * nx;
    for (int64_t n = 0; n < n_centre; ++n) {
        x_tmp[n] = x_u[n] * x_u[n];
    }
    transform_rows(x_tmp.data(), s_uu.data(), nz);
    for (int64_t n = 0; n < n_centre; ++n) {
        x_tmp[n] = x_u[n] * x_b[n];
    }
    transform_rows(x_tmp.data(), s_ub.data(), nz);
    for (int64_t j = 0; j < nz; ++j) {
        const double* wl = x_w.data() + j * nx;
        const double* wu = wl + nx;
        double* out = x_tmp.data() + j * nx;
        for (int64_t i = 0; i < nx; ++i) {
            const double wc = 0.5 * (wl[i] + wu[i]);
            out[i] = wc * wc;
        }
    }
    transform_rows(x_tmp.data(), s_ww.data(), nz);
    for (int64_t f = 1; f < nz; ++f) {
        const double* ul = x_u.data() + (f - 1) * nx;
        const double* uh = ul + nx;
        const double* wf = x_w.data() + f * nx;
        double* out = x_tmp.data() + f * nx;
        for (int64_t i = 0; i < nx; ++i) {
            out[i] = 0.5 * (ul[i] + uh[i]) * wf[i];
        }
    }
    transform_rows(x_tmp.data() + nx, s_uw.data() + nm, nz - 1);
    for (int64_t f = 1; f < nz; ++f) {
        const double* bl = x_b.data() + (f - 1) * nx;
        const double* bh = bl + nx;
        const double* wf = x_w.data() + f * nx;
        double* out = x_tmp.data() + f * nx;
        for (int64_t i = 0; i < nx; ++i) {
            out[i] = 0.5 * (bl[i] + bh[i]) * wf[i];
        }
    }
    transform_rows(x_tmp.data() + nx, s_wb.data() + nm, nz - 1);

    // Assemble -div(flux), truncated to m <= m_cut (2/3 rule), plus the (linear, untruncated) buoyancy force.
    const double inv_h = 1.0 / h;
    const int64_t keep = m_cut + 1;
    for (int64_t j = 0; j < nz; ++j) {
        const int64_t c = j * nm;
        const int64_t up = (j + 1) * nm;
        for (int64_t m = 0; m < keep; ++m) {
            nu_cur[c + m] = -times_ik(k[m], s_uu[c + m]) - (s_uw[up + m] - s_uw[c + m]) * inv_h;
            nb_cur[c + m] = -times_ik(k[m], s_ub[c + m]) - (s_wb[up + m] - s_wb[c + m]) * inv_h;
        }
        std::fill(nu_cur.begin() + c + keep, nu_cur.begin() + c + nm, Complex(0.0, 0.0));
        std::fill(nb_cur.begin() + c + keep, nb_cur.begin() + c + nm, Complex(0.0, 0.0));
    }
    for (int64_t f = 1; f < nz; ++f) {
        const int64_t c = f * nm;
        const int64_t lo = (f - 1) * nm;
        for (int64_t m = 0; m < nm; ++m) {
            Complex adv(0.0, 0.0);
            if (m < keep) {
                adv = -times_ik(k[m], s_uw[c + m]) - (s_ww[c + m] - s_ww[lo + m]) * inv_h;
            }
            nw_cur[c + m] = adv + 0.5 * (b[lo + m] + b[c + m]);
        }
    }
    explicit_fresh = true;
}

void RayleighBenardSolver::Impl::factor_operators(double coef) {
    const double inv_h2 = 1.0 / (h * h);
    std::vector<double> diag(static_cast<size_t>(nz * nm));
    auto build = [&](double diffusivity, int64_t rows, bool ghost_walls) {
        for (int64_t j = 0; j < rows; ++j) {
            // Ghost cells mirror the wall value (u_ghost = -u_0, b_ghost = 2 b_wall - b_0), so the wall rows of the
            // centre operators get 3 / h^2; face rows (w) see w = 0 on the walls directly.
            const bool wall = ghost_walls && (j == 0 || j == rows - 1);
            const double stencil = (wall ? 3.0 : 2.0) * inv_h2;
            for (int64_t m = 0; m < nm; ++m) {
                diag[j * nm + m] = coef + diffusivity * (stencil + k[m] * k[m]);
            }
        }
    };
    build(nu, nz, true);
    op_u.factor(nz, nm, -nu * inv_h2, diag);
    build(nu, nz - 1, false);
    op_w.factor(nz - 1, nm, -nu * inv_h2, diag);
    build(kappa, nz, true);
    op_b.factor(nz, nm, -kappa * inv_h2, diag);
    factored_coef = coef;
}

// Variable-step IMEX SBDF2 (BDF1 on the first step): with w = dt / dt_prev,
//   (a0 x^{n+1} + a1 x^n + a2 x^{n-1}) / dt = L x^{n+1} + e0 N^n + e1 N^{n-1} - grad p^n,
//   a0 = (1 + 2w) / (1 + w), a1 = -(1 + w), a2 = w^2 / (1 + w), e0 = 1 + w, e1 = -w.
// Then the incremental projection in rotational form (Guermond, Minev & Shen 2006):
//   div grad phi = (a0 / dt) div u*,  u^{n+1} = u* - (dt / a0) grad phi,  p^{n+1} = p^n + phi - nu div u*.
void RayleighBenardSolver::Impl::implicit_update(double dt) {
    double a0 = 1.0, a1 = -1.0, a2 = 0.0, e0 = 1.0, e1 = 0.0;
    if (has_history) {
        const double om = dt / dt_prev;
        a0 = (1.0 + 2.0 * om) / (1.0 + om);
        a1 = -(1.0 + om);
        a2 = om * om / (1.0 + om);
        e0 = 1.0 + om;
        e1 = -om;
    }
    const double coef = a0 / dt;
    if (coef != factored_coef) {
        factor_operators(coef);
    }
    const double c1 = -a1 / dt;
    const double c2 = -a2 / dt;
    const double inv_h = 1.0 / h;

    // Predictors u*, w*, b^{n+1} into the work arrays s_uu, s_uw (interior face rows), s_ub.
    for (int64_t j = 0; j < nz; ++j) {
        for (int64_t m = 0; m < nm; ++m) {
            const int64_t n = j * nm + m;
            s_uu[n] = c1 * u[n] + c2 * u_old[n] + e0 * nu_cur[n] + e1 * nu_old[n] - times_ik(k[m], p[n]);
            s_ub[n] = c1 * b[n] + c2 * b_old[n] + e0 * nb_cur[n] + e1 * nb_old[n];
        }
    }
    s_ub[0] += 2.0 * kappa * inv_h * inv_h; // ghost b_{-1} = 2 - b_0 (bottom wall b = 1 is the mean mode only)
    for (int64_t f = 1; f < nz; ++f) {
        for (int64_t m = 0; m < nm; ++m) {
            const int64_t n = f * nm + m;
            s_uw[n] = c1 * w[n] + c2 * w_old[n] + e0 * nw_cur[n] + e1 * nw_old[n] - (p[n] - p[n - nm]) * inv_h;
        }
    }
    op_u.solve(s_uu.data());
    op_w.solve(s_uw.data() + nm);
    op_b.solve(s_ub.data());

    // Projection. s_tmp keeps div u* for the rotational pressure update; s_div becomes phi.
    divergence(s_uu, s_uw, s_div);
    const int64_t n_centre = nz * nm;
    std::copy(s_div.begin(), s_div.begin() + n_centre, s_tmp.begin());
    for (int64_t n = 0; n < n_centre; ++n) {
        s_div[n] *= coef;
    }
    solve_poisson(s_div);
    const double back = dt / a0;
    for (int64_t j = 0; j < nz; ++j) {
        for (int64_t m = 0; m < nm; ++m) {
            const int64_t n = j * nm + m;
            s_uu[n] -= back * times_ik(k[m], s_div[n]);
            p[n] += s_div[n] - nu * s_tmp[n];
        }
    }
    for (int64_t f = 1; f < nz; ++f) {
        for (int64_t m = 0; m < nm; ++m) {
            const int64_t n = f * nm + m;
            s_uw[n] -= back * (s_div[n] - s_div[n - nm]) * inv_h;
        }
    }

    // Rotate: (old, current, new) <- (current, new, work).
    std::swap(u_old, u);
    std::swap(u, s_uu);
    std::swap(w_old, w);
    std::swap(w, s_uw);
    std::swap(b_old, b);
    std::swap(b, s_ub);
    std::swap(nu_old, nu_cur);
    std::swap(nw_old, nw_cur);
    std::swap(nb_old, nb_cur);
    // The face work array must keep zero wall rows (the flux differences in evaluate_explicit read them).
    std::fill(s_uw.begin(), s_uw.begin() + nm, Complex(0.0, 0.0));
    std::fill(s_uw.begin() + nz * nm, s_uw.end(), Complex(0.0, 0.0));

    t += dt;
    dt_smallest = steps == 0 ? dt : std::min(dt_smallest, dt);
    dt_largest = std::max(dt_largest, dt);
    dt_prev = dt;
    has_history = true;
    explicit_fresh = false;
    ++steps;
}

void RayleighBenardSolver::Impl::step(double dt) {
    LOLA_CHECK_USAGE(std::isfinite(dt) && dt > 0, "rayleigh_benard: step size dt = {} must be > 0", dt);
    if (!explicit_fresh) {
        evaluate_explicit();
    }
    implicit_update(dt);
    plan_left = 0;
}

// Steps of equal size plan_dt that land exactly on t_end: a new plan starts each output interval (growing by at most
// 1.5x per interval) or when the Courant number exceeds 1.2 cfl, in which case the remaining interval is re-split.
void RayleighBenardSolver::Impl::advance(double t_end) {
    LOLA_CHECK_USAGE(std::isfinite(t_end) && t_end >= t, "rayleigh_benard: cannot advance from t = {} to t = {}", t,
                     t_end);
    while (t < t_end) {
        if (!explicit_fresh) {
            evaluate_explicit();
        }
        const double dt_cfl = rate > 0 ? opt.cfl / rate : std::numeric_limits<double>::infinity();
        if (dt_cfl < opt.dt_min) {
            LOLA_THROW(
                "rayleigh_benard: CFL violation at t = {:.6g} (step {}): the flow peaks in cell "
                "(i = {}, j = {}), x = {:.4g}, y = {:.4g}, with |u_x| = {:.4g}, |u_y| = {:.4g}, which needs "
                "dt = {:.3g} below dt_min = {:.3g} at cfl = {}; the flow is under-resolved or unstable: raise "
                "nx x ny (now {}x{}) or lower the Rayleigh number (now {:g})",
                t, steps, rate_i, rate_j, static_cast<double>(rate_i) * dx, (static_cast<double>(rate_j) + 0.5) * h,
                std::abs(rate_u), rate_w, dt_cfl, opt.dt_min, opt.cfl, nx, nz, opt.rayleigh);
        }
        const double dt_target = std::min(opt.dt_max, dt_cfl);
        if (plan_end != t_end || plan_left <= 0 || plan_dt > 1.2 * dt_target) {
            const double remaining = t_end - t;
            double limit = dt_target;
            if (has_history && plan_end != t_end) {
                limit = std::min(limit, 1.5 * dt_prev);
            }
            const double n = std::max(1.0, std::ceil(remaining / limit - 1e-9));
            plan_dt = remaining / n;
            plan_left = static_cast<int64_t>(n);
            plan_end = t_end;
        }
        implicit_update(plan_dt);
        if (--plan_left == 0) {
            t = t_end;
        }
    }
}

} // namespace lola::sim
