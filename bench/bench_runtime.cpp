// The runtime on CPU (docs/runtime.md, docs/benchmarks.md): loading a run folder and a `.lola` model file, and
// Emulator::forecast per state, in the unit `lola eval` reports in speed.json (rollout + decoding per ensemble member
// and frame, context frames included; encoding the context is not timed).
//
// The model is $LOLA_BENCH_MODEL (an emulator run folder or a .lola file; default runs/demo/diffusion, made by
// `make demo`). The context is the first test trajectory of the model's dataset when it is reachable, else ones.
// Counters: `ms/state` (forecast), `MB` (model file size).
#include <benchmark/benchmark.h>

#include <ATen/Parallel.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/data/trajectories.h"
#include "lola/runtime/emulator.h"

using namespace lola;
namespace fs = std::filesystem;

namespace {

fs::path model_path() {
    const char* env = std::getenv("LOLA_BENCH_MODEL");
    return env != nullptr ? fs::path(env) : fs::path("runs/demo/diffusion");
}

/// The model exported once to a temporary .lola file (removed at exit).
const fs::path& exported() {
    static const struct Exported {
        fs::path path;
        Exported() : path(fs::temp_directory_path() / "lola_bench_runtime.lola") {
            runtime::Emulator::load(model_path()).save(path);
        }
        ~Exported() {
            std::error_code ec;
            fs::remove(path, ec);
        }
    } file;
    return file.path;
}

bool available(benchmark::State& state) {
    if (!fs::exists(model_path())) {
        state.SkipWithError(
            ("no model at '" + model_path().string() + "': run `make demo` or set LOLA_BENCH_MODEL").c_str());
        return false;
    }
    return true;
}

void BM_LoadRunFolder(benchmark::State& state) {
    if (!available(state) || !fs::is_directory(model_path())) {
        state.SkipWithError("LOLA_BENCH_MODEL is not a run folder");
        return;
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(runtime::Emulator::load(model_path()));
    }
}

void BM_LoadModelFile(benchmark::State& state) {
    if (!available(state)) {
        return;
    }
    const fs::path& file = exported();
    for (auto _ : state) {
        benchmark::DoNotOptimize(runtime::Emulator::load(file));
    }
    state.counters["MB"] = static_cast<double>(fs::file_size(file)) / 1e6;
}

/// K members, a context of 1 state and 25 forecast states (Euler's 26 frames at Delta 4), as `lola eval` runs them.
void BM_Forecast(benchmark::State& state) {
    if (!available(state)) {
        return;
    }
    const int64_t members = state.range(0), n_states = 25;
    const runtime::Emulator model = runtime::Emulator::load(model_path());
    const runtime::ModelCard& card = model.card();
    torch::Tensor context, label;
    try {
        const data::TrajectorySet test(model.dataset(), "test");
        const data::Trajectory t = test.get(0);
        context = t.states.narrow(1, 0, 1).contiguous();
        label = t.label;
    } catch (const Error&) {
        std::vector<int64_t> shape{card.n_fields(), 1};
        shape.insert(shape.end(), card.spatial_shape.begin(), card.spatial_shape.end());
        context = torch::ones(shape);
        label = torch::ones({card.label_dim()});
    }
    runtime::ForecastOptions o;
    o.members = members;
    o.include_context = true;
    double seconds = 0, total = 0;
    o.seconds = &seconds;
    int64_t states = 0;
    uint64_t seed = 0;
    model.forecast(context, label, n_states, o, runtime::make_generator(torch::kCPU, seed++)); // warm-up, not timed
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            model.forecast(context, label, n_states, o, runtime::make_generator(torch::kCPU, seed++)));
        total += seconds;
        states += (card.kind == "diffusion" ? members : 1) * (1 + n_states);
    }
    state.counters["ms/state"] = 1e3 * total / static_cast<double>(states);
}

} // namespace

BENCHMARK(BM_LoadRunFolder)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(BM_LoadModelFile)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(BM_Forecast)->Arg(8)->Unit(benchmark::kMillisecond)->Iterations(5)->UseRealTime();

BENCHMARK_MAIN();
