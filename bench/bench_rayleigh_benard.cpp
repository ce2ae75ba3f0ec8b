// Rayleigh-Benard generator cost on one core: a whole official-length trajectory at 256 x 64 (issue target: at most
// 10 s), and the cost of one time step at three grid sizes.
#include "lola/sim/rayleigh_benard.h"

#include <benchmark/benchmark.h>

#include <cstdint>

namespace {

using lola::sim::RayleighBenardOptions;
using lola::sim::RayleighBenardSolver;

// 200 snapshots at dt_out = 0.25 (t = 0 ... 49.75) at Ra = 1e6, Pr = 1: quasi-conductive transient, then plumes.
void BM_RayleighBenardTrajectory(benchmark::State& state) {
    RayleighBenardOptions o;
    o.nx = state.range(0);
    o.ny = state.range(1);
    o.rayleigh = 1e6;
    o.prandtl = 1.0;
    double checksum = 0.0;
    for (auto _ : state) {
        lola::sim::run_trajectory(o, 42, 200, 0.25,
                                  [&](int64_t, double, const double* frame) { checksum += frame[o.nx * o.ny]; });
    }
    benchmark::DoNotOptimize(checksum);
    state.counters["cells"] = static_cast<double>(o.nx * o.ny);
}
BENCHMARK(BM_RayleighBenardTrajectory)->Args({256, 64})->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

// One SBDF2 step (8 FFT passes over the grid, 4 batched tridiagonal solves, one projection).
void BM_RayleighBenardStep(benchmark::State& state) {
    RayleighBenardOptions o;
    o.nx = state.range(0);
    o.ny = state.range(1);
    o.rayleigh = 1e6;
    RayleighBenardSolver solver(o);
    solver.initialize(1);
    for (auto _ : state) {
        solver.step(1e-3);
    }
    state.SetItemsProcessed(state.iterations() * o.nx * o.ny);
}
BENCHMARK(BM_RayleighBenardStep)->Args({128, 32})->Args({256, 64})->Args({512, 128})->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
