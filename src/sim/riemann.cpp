// Exact Riemann solver for the 1-D Euler equations (Toro, ch. 4): Newton iteration for p*, then wave sampling.
#include "lola/sim/riemann.h"

#include "lola/core/error.h"

#include <algorithm>
#include <cmath>

namespace lola::sim {

namespace {

constexpr int kMaxIterations = 100;
constexpr double kRelativeTolerance = 1e-14;

} // namespace

ExactRiemannSolver::ExactRiemannSolver(const Primitive1D& left, const Primitive1D& right, double gamma)
    : left_(left), right_(right), gamma_(gamma) {
    LOLA_CHECK(std::isfinite(gamma) && gamma > 1.0, "exact Riemann solver: gamma must be > 1, got {}", gamma);
    for (const Primitive1D* k : {&left, &right}) {
        LOLA_CHECK(std::isfinite(k->rho) && std::isfinite(k->u) && std::isfinite(k->p) && k->rho > 0.0 && k->p > 0.0,
                   "exact Riemann solver: non-physical {} state (rho={}, u={}, p={}); rho and p must be > 0",
                   k == &left ? "left" : "right", k->rho, k->u, k->p);
    }
    c_left_ = std::sqrt(gamma * left.p / left.rho);
    c_right_ = std::sqrt(gamma * right.p / right.rho);
    const double du = right.u - left.u;
    LOLA_CHECK(2.0 / (gamma - 1.0) * (c_left_ + c_right_) > du,
               "exact Riemann solver: the data generate vacuum (u_R - u_L = {} >= 2 (c_L + c_R) / (gamma - 1) = {})",
               du, 2.0 / (gamma - 1.0) * (c_left_ + c_right_));

    // Initial guess (Toro section 4.3.2): the linearised primitive-variable estimate when the pressure ratio is small
    // and it lies between the data, otherwise the two-rarefaction or two-shock approximation.
    const double p_min = std::min(left.p, right.p);
    const double p_max = std::max(left.p, right.p);
    const double p_pv =
        std::max(0.0, 0.5 * (left.p + right.p) - 0.125 * du * (left.rho + right.rho) * (c_left_ + c_right_));
    double p = 0.0;
    if (p_max / p_min <= 2.0 && p_pv >= p_min && p_pv <= p_max) {
        p = p_pv;
    } else if (p_pv < p_min) {
        const double z = (gamma - 1.0) / (2.0 * gamma);
        const double num = c_left_ + c_right_ - 0.5 * (gamma - 1.0) * du;
        const double den = c_left_ / std::pow(left.p, z) + c_right_ / std::pow(right.p, z);
        p = std::pow(num / den, 1.0 / z);
    } else {
        const double g_left =
            std::sqrt(2.0 / ((gamma + 1.0) * left.rho) / (p_pv + (gamma - 1.0) / (gamma + 1.0) * left.p));
        const double g_right =
            std::sqrt(2.0 / ((gamma + 1.0) * right.rho) / (p_pv + (gamma - 1.0) / (gamma + 1.0) * right.p));
        p = (g_left * left.p + g_right * right.p - du) / (g_left + g_right);
    }
    p = std::max(p, 1e-14 * p_min);

    for (n_iterations_ = 1; n_iterations_ <= kMaxIterations; ++n_iterations_) {
        double d_left = 0.0;
        double d_right = 0.0;
        const double f =
            pressure_function(p, left, c_left_, d_left) + pressure_function(p, right, c_right_, d_right) + du;
        double p_next = p - f / (d_left + d_right);
        if (p_next <= 0.0) {
            p_next = 0.5 * p; // Newton overshoot below zero: halve instead (f is monotone and concave)
        }
        const double change = 2.0 * std::fabs(p_next - p) / (p_next + p);
        p = p_next;
        if (change < kRelativeTolerance) {
            break;
        }
    }
    LOLA_CHECK(n_iterations_ <= kMaxIterations && std::isfinite(p),
               "exact Riemann solver: Newton iteration for p* did not converge in {} iterations", kMaxIterations);
    p_star_ = p;
    double unused = 0.0;
    u_star_ = 0.5 * (left.u + right.u) +
              0.5 * (pressure_function(p, right, c_right_, unused) - pressure_function(p, left, c_left_, unused));
}

// f_K(p) of Toro eq. (4.6)/(4.7): the velocity change across the K wave, and its derivative.
double ExactRiemannSolver::pressure_function(double p, const Primitive1D& k, double c, double& derivative) const {
    const double g = gamma_;
    if (p > k.p) { // shock
        const double a = 2.0 / ((g + 1.0) * k.rho);
        const double b = (g - 1.0) / (g + 1.0) * k.p;
        const double root = std::sqrt(a / (p + b));
        derivative = root * (1.0 - 0.5 * (p - k.p) / (b + p));
        return (p - k.p) * root;
    }
    // rarefaction
    const double ratio = p / k.p;
    derivative = std::pow(ratio, -0.5 * (g + 1.0) / g) / (k.rho * c);
    return 2.0 * c / (g - 1.0) * (std::pow(ratio, 0.5 * (g - 1.0) / g) - 1.0);
}

Primitive1D ExactRiemannSolver::sample(double s) const {
    const double g = gamma_;
    const double g6 = (g - 1.0) / (g + 1.0);
    if (s <= u_star_) {
        const Primitive1D& k = left_;
        const double c = c_left_;
        const double ratio = p_star_ / k.p;
        if (p_star_ > k.p) {
            const double speed = k.u - c * std::sqrt(0.5 * (g + 1.0) / g * ratio + 0.5 * (g - 1.0) / g);
            if (s <= speed) {
                return k;
            }
            return {k.rho * (ratio + g6) / (g6 * ratio + 1.0), u_star_, p_star_};
        }
        if (s <= k.u - c) {
            return k;
        }
        const double c_star = c * std::pow(ratio, 0.5 * (g - 1.0) / g);
        if (s > u_star_ - c_star) {
            return {k.rho * std::pow(ratio, 1.0 / g), u_star_, p_star_};
        }
        const double c_fan = 2.0 / (g + 1.0) * (c + 0.5 * (g - 1.0) * (k.u - s));
        const double u_fan = 2.0 / (g + 1.0) * (c + 0.5 * (g - 1.0) * k.u + s);
        return {k.rho * std::pow(c_fan / c, 2.0 / (g - 1.0)), u_fan, k.p * std::pow(c_fan / c, 2.0 * g / (g - 1.0))};
    }
    const Primitive1D& k = right_;
    const double c = c_right_;
    const double ratio = p_star_ / k.p;
    if (p_star_ > k.p) {
        const double speed = k.u + c * std::sqrt(0.5 * (g + 1.0) / g * ratio + 0.5 * (g - 1.0) / g);
        if (s >= speed) {
            return k;
        }
        return {k.rho * (ratio + g6) / (g6 * ratio + 1.0), u_star_, p_star_};
    }
    if (s >= k.u + c) {
        return k;
    }
    const double c_star = c * std::pow(ratio, 0.5 * (g - 1.0) / g);
    if (s < u_star_ + c_star) {
        return {k.rho * std::pow(ratio, 1.0 / g), u_star_, p_star_};
    }
    const double c_fan = 2.0 / (g + 1.0) * (c - 0.5 * (g - 1.0) * (k.u - s));
    const double u_fan = 2.0 / (g + 1.0) * (-c + 0.5 * (g - 1.0) * k.u + s);
    return {k.rho * std::pow(c_fan / c, 2.0 / (g - 1.0)), u_fan, k.p * std::pow(c_fan / c, 2.0 * g / (g - 1.0))};
}

} // namespace lola::sim
