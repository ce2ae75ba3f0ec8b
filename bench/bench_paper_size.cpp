// Emulation against simulation at the paper's size (docs/benchmarks.md "Emulation against simulation at 512 x 512"):
//   - BM_EulerState512: our Euler solver, the time per 512 x 512 state (the mean over 4 snapshot intervals of a
//     101-snapshot trajectory to t = 1.5, as the dataset generator runs it), on 1 and 2 threads;
//   - BM_EmulationWindow: one autoregressive window of latent diffusion with the paper's Euler models
//     (configs/ae/dcae_f32c64_large.yaml, configs/denoiser/vit_large.yaml; untrained weights, same cost): the
//     Adams-Bashforth sampler over `steps` steps of the masked denoiser for `members` members on 64 x 5 x 16 x 16
//     latents, then decoding the 4 new states of every member to 5 x 512 x 512. The counter ms_per_state is the time
//     divided by members x 4 states, the paper's "time per state" (paper Table 1, decoding included).
// LOLA_BENCH_DEVICE=cuda runs the emulation on the GPU (the paper's 16 members and 16 steps, bench/gpu.sh); on the CPU
// the window runs for one member (16 members cost 16 times as much: the batch only scales the GEMMs).
#include <benchmark/benchmark.h>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdlib>

#include "bench_presets.h"
#include "lola/autoencoder/autoencoder.h"
#include "lola/diffusion/denoiser.h"
#include "lola/diffusion/model.h"
#include "lola/diffusion/sampler.h"
#include "lola/diffusion/schedule.h"
#include "lola/nn/layers.h"
#include "lola/nn/mask.h"
#include "lola/sim/euler.h"

using namespace lola;

namespace {

constexpr int64_t kFields = 5, kLatentChannels = 64, kLatentGrid = 16, kWindow = 5, kLabel = 5;

torch::Device bench_device() {
    const char* d = std::getenv("LOLA_BENCH_DEVICE");
    return torch::Device(d != nullptr && *d != '\0' ? d : "cpu");
}

void sync(const torch::Device& device) {
    if (device.is_cuda()) torch::cuda::synchronize();
}

void BM_EulerState512(benchmark::State& state) {
    sim::EulerOptions o;
    o.nx = o.ny = 512;
    o.n_threads = static_cast<int>(state.range(0));
    o.boundary = sim::EulerOptions::Boundary::kOpen;
    o.gamma = 1.4;
    // 5 snapshots over 4 of the generator's intervals (1.5 / 100).
    const int snapshots = 5;
    const double t_end = 4 * 1.5 / 100;
    int64_t steps = 0;
    for (auto _ : state) {
        const auto stats =
            sim::run_trajectory(o, uint64_t{1}, snapshots, t_end,
                                [](int64_t, double, const double* frame) { benchmark::DoNotOptimize(frame); });
        steps += stats.n_steps;
    }
    const auto iters = static_cast<double>(state.iterations());
    state.counters["solver_steps_per_state"] = static_cast<double>(steps) / iters / (snapshots - 1);
    state.counters["ms_per_state"] =
        benchmark::Counter((snapshots - 1) * iters / 1e3, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_EmulationWindow(benchmark::State& state) {
    const int64_t members = state.range(0), steps = state.range(1);
    const torch::Device device = bench_device();
    at::set_num_threads(static_cast<int>(state.range(2)));
    torch::NoGradGuard no_grad;
    torch::manual_seed(0);

    const auto ae_opts = bench::ae_preset("dcae_f32c64_large", kFields);
    const auto vit = bench::denoiser_preset("vit_large");

    nn::ParameterDeviceGuard on(device);
    autoencoder::AutoEncoder ae(ae_opts);
    diffusion::DenoiserNet net(vit, kLatentChannels, kLabel, 3);
    ae->eval();
    net->eval();
    const auto options = torch::TensorOptions().device(device);
    const torch::Tensor y = torch::randn({members, kLatentChannels, kWindow, kLatentGrid, kLatentGrid}, options);
    const torch::Tensor known = torch::tensor({1, 0, 0, 0, 0}, torch::kBool).to(device);
    const torch::Tensor label = torch::randn({members, kLabel}, options);
    diffusion::PreconditionedDenoiser den(diffusion::network_fn(net), diffusion::make_schedule());
    diffusion::MaskedDenoiser masked(den, y, nn::expand_window_mask(known, y.dim()));
    auto sampler = diffusion::make_sampler("ab", masked, steps);
    auto window = [&]() {
        const torch::Tensor x = sampler->sample(sampler->init(y.sizes(), options), label);
        // (members, C, 5, h, w) -> the 4 new states of every member, decoded 16 at a time.
        const torch::Tensor z =
            x.slice(2, 1).transpose(1, 2).reshape({members * (kWindow - 1), kLatentChannels, kLatentGrid, kLatentGrid});
        for (const auto& chunk : z.split(16)) benchmark::DoNotOptimize(ae->decode(chunk).data_ptr());
        sync(device);
    };
    if (device.is_cuda()) window(); // CUDA context, cuBLAS handles and kernel selection out of the timing
    for (auto _ : state) window();
    state.counters["ms_per_state"] =
        benchmark::Counter(static_cast<double>(members * (kWindow - 1)) / 1e3,
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    state.counters["denoiser_params"] = static_cast<double>(nn::count_parameters(*net));
    state.counters["ae_params"] = static_cast<double>(nn::count_parameters(*ae));
    state.SetLabel(device.str());
}

} // namespace

int main(int argc, char** argv) {
    benchmark::RegisterBenchmark("BM_EulerState512", BM_EulerState512)
        ->ArgNames({"threads"})
        ->Arg(1)
        ->Arg(2)
        ->Iterations(1)
        ->UseRealTime()
        ->Unit(benchmark::kSecond);
    auto* window = benchmark::RegisterBenchmark("BM_EmulationWindow", BM_EmulationWindow)
                       ->ArgNames({"members", "steps", "threads"})
                       ->Iterations(1)
                       ->UseRealTime()
                       ->Unit(benchmark::kSecond);
    if (bench_device().is_cuda()) {
        window->Args({16, 16, 1})->Iterations(3);
    } else {
        window->Args({1, 16, 2});
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
