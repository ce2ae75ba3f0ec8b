// Autoencoder training step on CPU: forward, VRMSE loss, backward, safe AdamW step, for the small configs.
// Reports ms per step (the benchmark time) and samples/s.
#include <benchmark/benchmark.h>

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include "bench_presets.h"
#include "lola/autoencoder/autoencoder.h"
#include "lola/autoencoder/loss.h"
#include "lola/train/optimizer.h"

using namespace lola;

namespace {

void BM_TrainAeStep(benchmark::State& state, const std::string& name, int64_t size, int64_t batch) {
    at::set_num_threads(static_cast<int>(state.range(0)));
    torch::manual_seed(0);
    autoencoder::AutoEncoder model(bench::ae_preset(name, 5));
    model->train();
    train::OptimOptions o;
    auto opt = train::make_optimizer(model->parameters(), o);
    autoencoder::AeLossOptions loss;
    torch::Tensor x = torch::randn({batch, 5, size, size});
    for (auto _ : state) {
        torch::Tensor z = model->encode(x);
        torch::Tensor l = autoencoder::ae_loss(x, model->decode(z), z, loss);
        l.backward();
        train::safe_step(*opt, 1.0);
    }
    state.counters["samples/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
    state.counters["params"] = static_cast<double>(autoencoder::count_parameters(model->options));
}

} // namespace

BENCHMARK_CAPTURE(BM_TrainAeStep, dcae_tiny_32x32_b8, std::string("dcae_tiny"), 32, 8)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainAeStep, dcae_small_64x64_b8, std::string("dcae_small"), 64, 8)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
