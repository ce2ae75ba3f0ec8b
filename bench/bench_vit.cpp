// Emulator backbone training pass on CPU: forward + backward of the ViT denoiser backbone (data + mask channels,
// 256-d modulation) at batch 16 for the tiny and small presets (configs/denoiser/{tiny,small}.yaml).
// Reports ms per pass (the benchmark time), tokens and parameters.
#include <benchmark/benchmark.h>

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include "bench_presets.h"
#include "lola/nn/backbone.h"
#include "lola/nn/dropout.h"
#include "lola/nn/embedding.h"
#include "lola/nn/layers.h"

using namespace lola;

namespace {

void BM_ViTForwardBackward(benchmark::State& state, const std::string& name, int64_t channels, int64_t grid) {
    at::set_num_threads(static_cast<int>(state.range(0)));
    torch::manual_seed(0);
    const int64_t batch = 16, frames = 5;
    const auto opts = bench::denoiser_preset(name);
    auto model = nn::make_backbone(opts, channels, channels, channels, 3, nn::kModFeatures);
    model->train();
    torch::Tensor x = torch::randn({batch, channels, frames, grid, grid});
    torch::Tensor mask = torch::zeros_like(x);
    torch::Tensor emb = torch::randn({batch, nn::kModFeatures});
    for (auto _ : state) {
        model->zero_grad();
        model->forward(x, emb, mask).square().mean().backward();
    }
    state.counters["tokens"] = static_cast<double>(frames * grid * grid);
    state.counters["params"] = static_cast<double>(nn::count_parameters(*model));
    state.counters["samples/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

// Dropout at p = 0.05 on the small ViT's FFN activations (batch 16 x 80 tokens x 512), forward + backward:
// LibTorch's at::dropout (bernoulli_ mask) against nn::dropout (hash mask, include/lola/nn/dropout.h).
void BM_Dropout(benchmark::State& state, bool hash) {
    at::set_num_threads(static_cast<int>(state.range(0)));
    torch::manual_seed(0);
    const torch::Tensor x = torch::randn({16 * 80, 512}).requires_grad_();
    const torch::Tensor g = torch::randn({16 * 80, 512});
    for (auto _ : state) {
        const torch::Tensor y = hash ? nn::dropout(x, 0.05, true) : at::dropout(x, 0.05, true);
        y.backward(g);
    }
}

} // namespace

BENCHMARK_CAPTURE(BM_Dropout, libtorch, false)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Dropout, hash, true)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ViTForwardBackward, tiny_c16_5x4x4_b16, std::string("tiny"), 16, 4)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ViTForwardBackward, small_c16_5x8x8_b16, std::string("small"), 16, 8)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
