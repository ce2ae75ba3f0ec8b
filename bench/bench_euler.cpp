// Euler generator throughput: cell-updates per second (one cell advanced by one full time step) at 128^2 on one
// and two threads, for both time integrators, and the wall time of whole trajectories.
#include "lola/sim/euler.h"

#include <benchmark/benchmark.h>

#include <cstdint>

namespace {

using lola::sim::EulerOptions;
using lola::sim::EulerSolver;

// range(0): N (grid N x N); range(1): threads; range(2): 0 = unsplit SSP-RK2, 1 = split MUSCL-Hancock.
void BM_EulerStep(benchmark::State& state) {
    EulerOptions o;
    o.nx = o.ny = static_cast<int>(state.range(0));
    o.n_threads = static_cast<int>(state.range(1));
    o.boundary = EulerOptions::Boundary::kPeriodic;
    o.gamma = 1.4;
    if (state.range(2) == 1) {
        o.scheme = EulerOptions::Scheme::kSplitHancock;
        o.cfl = 0.45;
    }
    EulerSolver solver(o);
    const auto ic = lola::sim::sample_quadrant_ic(2024);
    solver.set_initial_condition(ic);
    solver.advance_to(0.05); // past the initial discontinuities' first steps
    int64_t steps = 0;
    for (auto _ : state) {
        solver.step(1.0);
        ++steps;
        if (solver.time() > 1.0) { // keep the flow in the regime of the datasets (t <= 1.5)
            state.PauseTiming();
            solver.set_initial_condition(ic);
            solver.advance_to(0.05);
            state.ResumeTiming();
        }
    }
    const double cells = static_cast<double>(o.nx) * o.ny;
    state.counters["cell_updates_per_s"] =
        benchmark::Counter(cells * static_cast<double>(steps), benchmark::Counter::kIsRate);
    state.SetLabel(o.scheme == EulerOptions::Scheme::kUnsplitRK2 ? "rk2" : "hancock");
}
BENCHMARK(BM_EulerStep)
    ->ArgNames({"n", "threads", "split"})
    ->Args({128, 1, 0})
    ->Args({128, 2, 0})
    ->Args({128, 1, 1})
    ->Args({128, 2, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One whole trajectory as the dataset generator runs it: 101 snapshots over t in [0, 1.5].
void BM_EulerTrajectory(benchmark::State& state) {
    EulerOptions o;
    o.nx = o.ny = static_cast<int>(state.range(0));
    o.n_threads = static_cast<int>(state.range(1));
    o.boundary = EulerOptions::Boundary::kOpen;
    o.gamma = 1.4;
    uint64_t seed = 1;
    int64_t steps = 0;
    for (auto _ : state) {
        const auto stats = lola::sim::run_trajectory(
            o, seed++, 101, 1.5, [](int64_t, double, const double* frame) { benchmark::DoNotOptimize(frame); });
        steps += stats.n_steps;
    }
    state.counters["steps_per_trajectory"] = static_cast<double>(steps) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_EulerTrajectory)
    ->ArgNames({"n", "threads"})
    ->Args({64, 1})
    ->Args({128, 1})
    ->Args({128, 2})
    ->UseRealTime()
    ->Unit(benchmark::kSecond)
    ->Iterations(2);

} // namespace

BENCHMARK_MAIN();
