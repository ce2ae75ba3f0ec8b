// Loader throughput: windows of 5 states (stride 4) from a generated Euler-sized Well file, batch 8, with the
// Euler augmentations and preprocessing, on 1 and 2 reader threads. Reports windows/s and MB/s of float32 states.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <random>

#include "lola/data/loader.h"
#include "lola/io/well.h"

namespace fs = std::filesystem;
using namespace lola;

namespace {

fs::path make_file(int64_t n) {
    const fs::path path = fs::temp_directory_path() /
                          ("lola_bench_loader_" + std::to_string(getpid()) + "_" + std::to_string(n) + ".hdf5");
    if (fs::exists(path)) {
        return path;
    }
    io::WellSchema s;
    s.dataset_name = "euler_multi_quadrants_periodicBC";
    s.spatial_dims = {"x", "y"};
    s.resolution = {n, n};
    for (int k = 0; k < 2; ++k) {
        std::vector<double> c;
        for (int64_t i = 0; i < n; ++i) {
            c.push_back((static_cast<double>(i) + 0.5) / static_cast<double>(n));
        }
        s.coords.push_back(c);
    }
    for (int t = 0; t < 101; ++t) {
        s.time.push_back(0.015 * t);
    }
    s.n_trajectories = 4;
    s.simulation_parameters = {"gamma"};
    s.scalars = {{"gamma", 1.4}};
    s.fields[0] = {"energy", "density", "pressure"};
    s.fields[1] = {"momentum"};
    s.boundary_conditions = {{"x_periodic", io::BcType::kPeriodic, {"x"}, true, true},
                             {"y_periodic", io::BcType::kPeriodic, {"y"}, true, true}};
    io::WellWriter w(path, s);
    std::mt19937_64 rng(0);
    std::vector<float> frame(static_cast<size_t>(5 * n * n));
    for (int64_t b = 0; b < s.n_trajectories; ++b) {
        for (int64_t t = 0; t < s.n_steps(); ++t) {
            for (auto& v : frame) {
                v = 0.5F + static_cast<float>(rng() % 1000) * 1e-3F;
            }
            w.write_frame(b, t, frame.data());
        }
    }
    w.commit();
    return path;
}

void BM_Loader(benchmark::State& state) {
    const int64_t n = state.range(0);
    const int workers = static_cast<int>(state.range(1));
    const fs::path file = make_file(n);
    auto ds = std::make_shared<data::WindowDataset>(std::vector<fs::path>{file}, 5, 4);
    data::LoaderOptions o;
    o.batch_size = 8;
    o.workers = workers;
    o.augment = {data::Augmentation::kAxisFlip, data::Augmentation::kAxisPermute, data::Augmentation::kAxisRoll};
    o.preprocess = data::Preprocessor({data::Transform::kLog1p, data::Transform::kLog1p, data::Transform::kLog1p,
                                       data::Transform::kNone, data::Transform::kNone},
                                      {1.2, 0.6, 0.58, 0, 0}, {0.51, 0.27, 0.29, 0.53, 0.52});
    data::Loader loader(ds, o);
    int64_t epoch = 0, windows = 0;
    loader.start_epoch(epoch);
    for (auto _ : state) {
        auto b = loader.next();
        if (!b) {
            loader.start_epoch(++epoch);
            b = loader.next();
        }
        windows += b->state.size(0);
        benchmark::DoNotOptimize(b->state.data_ptr());
    }
    const double bytes_per_window = 5.0 * 5.0 * static_cast<double>(n * n) * 4.0;
    state.counters["windows/s"] = benchmark::Counter(static_cast<double>(windows), benchmark::Counter::kIsRate);
    state.counters["MB/s"] =
        benchmark::Counter(static_cast<double>(windows) * bytes_per_window / 1e6, benchmark::Counter::kIsRate);
}

} // namespace

BENCHMARK(BM_Loader)
    ->Args({64, 1})
    ->Args({64, 2})
    ->Args({128, 1})
    ->Args({128, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    for (int64_t n : {64, 128}) {
        std::error_code ec;
        fs::remove(fs::temp_directory_path() /
                       ("lola_bench_loader_" + std::to_string(getpid()) + "_" + std::to_string(n) + ".hdf5"),
                   ec);
    }
    return 0;
}
