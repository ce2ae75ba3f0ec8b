// Emulator sampling and training on CPU, the units of `lola eval` and `lola train-*` (configs/denoiser/small.yaml with
// the demo's 32 x 8 x 8 latents and windows of 5):
//   - one Adams-Bashforth step of the masked, preconditioned denoiser (one network call) for an ensemble of 8 members;
//   - a whole 16-step window (what one autoregressive step of a rollout costs);
//   - one training step of the diffusion loss at batch 32 (forward + backward).
#include <benchmark/benchmark.h>

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include "bench_presets.h"
#include "lola/diffusion/loss.h"
#include "lola/diffusion/model.h"
#include "lola/diffusion/sampler.h"
#include "lola/nn/layers.h"

using namespace lola;

namespace {

constexpr int64_t kChannels = 32, kGrid = 8, kWindow = 5, kLabel = 5;

diffusion::DenoiserNet make_net() {
    torch::manual_seed(0);
    const auto opts = bench::denoiser_preset("small");
    return diffusion::DenoiserNet(opts, kChannels, kLabel, 3);
}

void BM_SamplerWindow(benchmark::State& state) {
    at::set_num_threads(static_cast<int>(state.range(0)));
    const int64_t steps = state.range(1), members = 8;
    diffusion::DenoiserNet net = make_net();
    net->eval();
    diffusion::PreconditionedDenoiser den(diffusion::network_fn(net), diffusion::make_schedule());
    torch::Tensor y = torch::randn({members, kChannels, kWindow, kGrid, kGrid});
    torch::Tensor known = torch::tensor({1, 0, 0, 0, 0}, torch::kBool);
    diffusion::MaskedDenoiser masked(den, y, nn::expand_window_mask(known, y.dim()));
    auto sampler = diffusion::make_sampler("ab", masked, steps);
    torch::Tensor label = torch::randn({members, kLabel});
    for (auto _ : state) {
        torch::Tensor x = sampler->sample(sampler->init(y.sizes()), label);
        benchmark::DoNotOptimize(x.data_ptr<float>());
    }
    state.counters["network calls/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * steps), benchmark::Counter::kIsRate);
}

void BM_DiffusionTrainStep(benchmark::State& state) {
    at::set_num_threads(static_cast<int>(state.range(0)));
    const int64_t batch = 32;
    diffusion::DenoiserNet net = make_net();
    net->train();
    diffusion::PreconditionedDenoiser den(diffusion::network_fn(net), diffusion::make_schedule());
    torch::Tensor x = torch::randn({batch, kChannels, kWindow, kGrid, kGrid});
    torch::Tensor label = torch::randn({batch, kLabel});
    for (auto _ : state) {
        net->zero_grad();
        torch::Tensor mask = diffusion::sample_context_mask(batch, kWindow);
        diffusion::denoiser_loss(den, x, label, mask).backward();
    }
    state.counters["params"] = static_cast<double>(nn::count_parameters(*net));
    state.counters["samples/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

} // namespace

// {threads, steps}: one step, and the paper's 16-step window.
BENCHMARK(BM_SamplerWindow)->Args({1, 1})->Args({1, 16})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DiffusionTrainStep)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
