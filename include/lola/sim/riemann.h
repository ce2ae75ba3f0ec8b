// Exact Riemann solver for the 1-D Euler equations of an ideal gas.
//
// The Riemann problem is the initial-value problem with two constant states separated at x = 0:
//     rho_t + (rho u)_x = 0,  (rho u)_t + (rho u^2 + p)_x = 0,  E_t + (u (E + p))_x = 0,
//     E = p / (gamma - 1) + rho u^2 / 2,   W(x, 0) = W_L for x < 0 and W_R for x > 0.
// Its solution is self-similar, W(x, t) = W(x / t): a left wave (shock or rarefaction), a contact moving at u*, and a
// right wave. The star pressure p* is the root of f(p) = f_L(p) + f_R(p) + (u_R - u_L), found by Newton iteration;
// u* follows from it. Used as the independent reference for the finite-volume solver's tests (Sod, Toro 1-5).
//
// References: E. F. Toro, "Riemann Solvers and Numerical Methods for Fluid Dynamics", 3rd ed., Springer 2009, ch. 4.
#pragma once

namespace lola::sim {

/// A primitive 1-D state: density, normal velocity, pressure.
struct Primitive1D {
    double rho = 1.0;
    double u = 0.0;
    double p = 1.0;
};

/// The exact solution of one Riemann problem. Construction solves for the star state (throws lola::Error when the
/// data are non-physical or generate vacuum); sample() then evaluates the solution at any similarity coordinate.
class ExactRiemannSolver {
public:
    /// left, right: the states for x < 0 and x > 0 (rho > 0, p > 0); gamma > 1.
    ExactRiemannSolver(const Primitive1D& left, const Primitive1D& right, double gamma);

    /// Pressure in the star region between the left and right waves.
    double p_star() const { return p_star_; }
    /// Velocity of the contact (and of the gas in the star region).
    double u_star() const { return u_star_; }
    /// Newton iterations used for p*.
    int n_iterations() const { return n_iterations_; }

    /// The solution at similarity coordinate s = (x - x0) / t.
    Primitive1D sample(double s) const;

private:
    double pressure_function(double p, const Primitive1D& k, double c, double& derivative) const;

    Primitive1D left_;
    Primitive1D right_;
    double gamma_;
    double c_left_;
    double c_right_;
    double p_star_ = 0.0;
    double u_star_ = 0.0;
    int n_iterations_ = 0;
};

} // namespace lola::sim
