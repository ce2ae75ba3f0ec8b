// Euler options (validation, names), piecewise-constant initial conditions (random sampler, Lax-Liu
// configurations) and run_trajectory.
#include "lola/core/error.h"
#include "lola/core/hash.h"
#include "lola/sim/euler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace lola::sim {

// ---- options ----

void QuadrantSamplerOptions::validate() const {
    LOLA_CHECK_USAGE(std::isfinite(rho_min) && std::isfinite(rho_max) && rho_min > 0.0 && rho_min <= rho_max,
                     "euler sampler: need 0 < rho_min <= rho_max, got rho_min={}, rho_max={}", rho_min, rho_max);
    LOLA_CHECK_USAGE(std::isfinite(p_min) && std::isfinite(p_max) && p_min > 0.0 && p_min <= p_max,
                     "euler sampler: need 0 < p_min <= p_max, got p_min={}, p_max={}", p_min, p_max);
    LOLA_CHECK_USAGE(std::isfinite(velocity_max) && velocity_max >= 0.0,
                     "euler sampler: velocity_max must be >= 0, got {}", velocity_max);
    LOLA_CHECK_USAGE(p_four_quadrants >= 0.0 && p_four_quadrants <= 1.0,
                     "euler sampler: p_four_quadrants is a probability in [0, 1], got {}", p_four_quadrants);
    LOLA_CHECK_USAGE(split_jitter >= 0.0 && split_jitter <= 0.5,
                     "euler sampler: split_jitter must be in [0, 0.5] (0.5 gives splits in [0.25, 0.75]), got {}",
                     split_jitter);
}

void EulerOptions::validate() const {
    LOLA_CHECK_USAGE(nx >= 4 && ny >= 4, "euler: the grid needs at least 4 cells per direction, got nx={}, ny={}", nx,
                     ny);
    LOLA_CHECK_USAGE(std::isfinite(gamma) && gamma > 1.0 && gamma <= 3.0,
                     "euler: gamma must be in (1, 3], got {} (the official values are 1.13 ... 1.76)", gamma);
    const bool unsplit = scheme == Scheme::kUnsplitRK2;
    const double cfl_max = unsplit ? 0.5 : 0.9;
    LOLA_CHECK_USAGE(std::isfinite(cfl) && cfl > 0.0 && cfl <= cfl_max,
                     "euler: cfl must be in (0, {}] for the {} scheme, got {} (default 0.4)", cfl_max,
                     to_string(scheme), cfl);
    LOLA_CHECK_USAGE(n_threads >= 1 && n_threads <= 256, "euler: n_threads must be in [1, 256], got {}", n_threads);
    LOLA_CHECK_USAGE(max_steps >= 1, "euler: max_steps must be >= 1, got {}", max_steps);
    sampler.validate();
}

std::string to_string(EulerOptions::Boundary boundary) {
    return boundary == EulerOptions::Boundary::kOpen ? "open" : "periodic";
}

std::string to_string(EulerOptions::Limiter limiter) { return limiter == EulerOptions::Limiter::kMC ? "mc" : "minmod"; }

std::string to_string(EulerOptions::Scheme scheme) {
    return scheme == EulerOptions::Scheme::kUnsplitRK2 ? "rk2" : "hancock";
}

EulerOptions::Boundary parse_euler_boundary(const std::string& name) {
    if (name == "open" || name == "extrap") {
        return EulerOptions::Boundary::kOpen;
    }
    if (name == "periodic") {
        return EulerOptions::Boundary::kPeriodic;
    }
    LOLA_THROW_USAGE("unknown Euler boundary '{}' (valid: open, periodic)", name);
}

EulerOptions::Limiter parse_euler_limiter(const std::string& name) {
    if (name == "mc") {
        return EulerOptions::Limiter::kMC;
    }
    if (name == "minmod") {
        return EulerOptions::Limiter::kMinmod;
    }
    LOLA_THROW_USAGE("unknown Euler limiter '{}' (valid: mc, minmod)", name);
}

EulerOptions::Scheme parse_euler_scheme(const std::string& name) {
    if (name == "rk2") {
        return EulerOptions::Scheme::kUnsplitRK2;
    }
    if (name == "hancock") {
        return EulerOptions::Scheme::kSplitHancock;
    }
    LOLA_THROW_USAGE("unknown Euler scheme '{}' (valid: rk2, hancock)", name);
}

// ---- initial conditions ----

Primitive2D QuadrantIC::at(double x, double y) const {
    const auto below = [](const std::vector<double>& splits, double v) {
        return static_cast<size_t>(std::count_if(splits.begin(), splits.end(), [v](double s) { return s < v; }));
    };
    const size_t a = below(x_splits, x);
    const size_t b = below(y_splits, y);
    return states[a * (y_splits.size() + 1) + b];
}

void QuadrantIC::validate() const {
    const size_t n = (x_splits.size() + 1) * (y_splits.size() + 1);
    LOLA_CHECK(states.size() == n, "initial condition '{}': {} x {} blocks need {} states, got {}", name,
               x_splits.size() + 1, y_splits.size() + 1, n, states.size());
    for (const std::vector<double>* splits : {&x_splits, &y_splits}) {
        for (size_t k = 0; k < splits->size(); ++k) {
            const double s = (*splits)[k];
            LOLA_CHECK(s > 0.0 && s < 1.0 && (k == 0 || s > (*splits)[k - 1]),
                       "initial condition '{}': split positions must increase inside (0, 1), got {}", name, s);
        }
    }
    for (const Primitive2D& w : states) {
        LOLA_CHECK(std::isfinite(w.rho) && std::isfinite(w.u) && std::isfinite(w.v) && std::isfinite(w.p) &&
                       w.rho > 0.0 && w.p > 0.0,
                   "initial condition '{}': non-physical state rho={}, u={}, v={}, p={}", name, w.rho, w.u, w.v, w.p);
    }
}

namespace {

// Uniform draws from the raw 64-bit output of mt19937_64 (whose sequence the C++ standard fixes); the
// std::*_distribution classes are avoided because their algorithms differ between standard libraries.
class Draws {
public:
    explicit Draws(uint64_t seed) : engine_(core::splitmix64(seed)) {}
    /// Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    double log_uniform(double lo, double hi) { return lo * std::exp(std::log(hi / lo) * uniform()); }

private:
    std::mt19937_64 engine_;
};

std::vector<double> draw_splits(Draws& draws, int n_blocks, double jitter) {
    // With three blocks, shrink the jitter so that the two cuts stay at least 0.3 / 3 apart.
    const double w = n_blocks == 2 ? jitter : 0.7 * jitter;
    std::vector<double> splits;
    for (int k = 1; k < n_blocks; ++k) {
        splits.push_back((k + draws.uniform(-w, w)) / n_blocks);
    }
    return splits;
}

} // namespace

QuadrantIC sample_quadrant_ic(uint64_t seed, const QuadrantSamplerOptions& options) {
    options.validate();
    Draws draws(seed);
    int n_x = 2;
    int n_y = 2;
    if (draws.uniform() >= options.p_four_quadrants) {
        n_x = draws.uniform() < 0.5 ? 2 : 3;
        n_y = draws.uniform() < 0.5 ? 2 : 3;
    }
    QuadrantIC ic;
    ic.name = "random";
    ic.x_splits = draw_splits(draws, n_x, options.split_jitter);
    ic.y_splits = draw_splits(draws, n_y, options.split_jitter);
    for (int k = 0; k < n_x * n_y; ++k) {
        Primitive2D w;
        w.rho = draws.log_uniform(options.rho_min, options.rho_max);
        w.p = draws.log_uniform(options.p_min, options.p_max);
        w.u = draws.uniform(-options.velocity_max, options.velocity_max);
        w.v = draws.uniform(-options.velocity_max, options.velocity_max);
        ic.states.push_back(w);
    }
    return ic;
}

std::vector<int> lax_liu_configurations() { return {3, 4, 5, 6, 12}; }

QuadrantIC lax_liu_ic(int number) {
    // Quadrant states (rho, u, v, p) in Lax & Liu's numbering: 1 upper right, 2 upper left, 3 lower left,
    // 4 lower right.
    struct Config {
        int number;
        Primitive2D q[4];
    };
    static const Config kConfigs[] = {
        {3, {{1.5, 0.0, 0.0, 1.5}, {0.5323, 1.206, 0.0, 0.3}, {0.138, 1.206, 1.206, 0.029}, {0.5323, 0.0, 1.206, 0.3}}},
        {4,
         {{1.1, 0.0, 0.0, 1.1}, {0.5065, 0.8939, 0.0, 0.35}, {1.1, 0.8939, 0.8939, 1.1}, {0.5065, 0.0, 0.8939, 0.35}}},
        {5, {{1.0, -0.75, -0.5, 1.0}, {2.0, -0.75, 0.5, 1.0}, {1.0, 0.75, 0.5, 1.0}, {3.0, 0.75, -0.5, 1.0}}},
        {6, {{1.0, 0.75, -0.5, 1.0}, {2.0, 0.75, 0.5, 1.0}, {1.0, -0.75, 0.5, 1.0}, {3.0, -0.75, -0.5, 1.0}}},
        {12, {{0.5313, 0.0, 0.0, 0.4}, {1.0, 0.7276, 0.0, 1.0}, {0.8, 0.0, 0.0, 1.0}, {1.0, 0.0, 0.7276, 1.0}}},
    };
    for (const Config& c : kConfigs) {
        if (c.number == number) {
            QuadrantIC ic;
            ic.name = "lax_liu_" + std::to_string(number);
            ic.x_splits = {0.5};
            ic.y_splits = {0.5};
            // Block (a, b): a = 0 left, 1 right; b = 0 lower, 1 upper.
            ic.states = {c.q[2], c.q[1], c.q[3], c.q[0]};
            return ic;
        }
    }
    LOLA_THROW_USAGE("unknown Lax-Liu configuration {} (valid: 3, 4, 5, 6, 12)", number);
}

// ---- trajectories ----

EulerRunStats run_trajectory(const EulerOptions& options, const QuadrantIC& ic, int n_snapshots, double t_end,
                             const FrameSink& sink) {
    LOLA_CHECK_USAGE(n_snapshots >= 2, "euler: n_snapshots must be >= 2, got {} (official: 101)", n_snapshots);
    LOLA_CHECK_USAGE(std::isfinite(t_end) && t_end > 0.0, "euler: t_end must be > 0, got {} (official: 1.5)", t_end);
    const auto start = std::chrono::steady_clock::now();
    EulerSolver solver(options);
    std::vector<double> frame(static_cast<size_t>(kEulerChannels) * options.nx * options.ny);
    // Solver errors get the run's context; errors of the sink (the writer) pass through unchanged.
    auto solve = [&](const std::function<void()>& action) {
        try {
            action();
        } catch (const UsageError&) {
            throw;
        } catch (const Error& e) {
            throw Error(fmt::format("{} (initial condition '{}', gamma={}, {} boundaries, {}x{})", e.what(), ic.name,
                                    options.gamma, to_string(options.boundary), options.nx, options.ny),
                        e.location());
        }
    };
    solve([&] { solver.set_initial_condition(ic); });
    for (int k = 0; k < n_snapshots; ++k) {
        const double t = k == n_snapshots - 1 ? t_end : t_end * k / (n_snapshots - 1);
        solve([&] { solver.advance_to(t); });
        solver.write_frame(frame.data());
        sink(k, t, frame.data());
    }
    EulerRunStats stats;
    stats.counters = solver.counters();
    stats.n_steps = stats.counters.n_steps;
    stats.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
}

EulerRunStats run_trajectory(const EulerOptions& options, uint64_t seed, int n_snapshots, double t_end,
                             const FrameSink& sink) {
    QuadrantIC ic = sample_quadrant_ic(seed, options.sampler);
    ic.name = fmt::format("random, seed {}", seed);
    return run_trajectory(options, ic, n_snapshots, t_end, sink);
}

} // namespace lola::sim
