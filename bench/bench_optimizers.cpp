// Optimizer step time on CPU, one thread, for AdamW, PSGD-Kron and SOAP (docs/method.md 9.1-9.3) on representative
// autoencoder shapes: a 3x3 conv kernel 256x256x3x3 and a 1024x1024 linear weight. The `s/Mparam` counter is the step
// time per million parameters. PSGD is measured twice: `psgd_fit` fits the preconditioner every step (its first
// steps, where the probability 0.999^k is near 1) and `psgd_steady` with probability 1/64 (after ~4000 steps).
// Fixed iteration counts so that the averages include SOAP's eigenbasis refresh (every 16 steps: 32 iterations) and
// about two preconditioner fits of psgd_steady (128 iterations); SOAP's first, eigh-only step is not timed.
// QuadraticStepsToTarget counts the steps each optimizer needs on an ill-conditioned quadratic (docs/optimizers.md).
#include <benchmark/benchmark.h>

#include <ATen/Parallel.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include "lola/train/adamw.h"
#include "lola/train/psgd.h"
#include "lola/train/soap.h"
#include "support/quadratic_problem.h"

using namespace lola;

namespace {

std::unique_ptr<torch::optim::Optimizer> make(const std::string& name, std::vector<torch::Tensor> p) {
    const auto adamw = torch::optim::AdamWOptions(1e-4).betas({0.9, 0.99});
    if (name == "adamw_libtorch") { // LibTorch's per-tensor AdamW, for the side-by-side with ours
        return std::make_unique<torch::optim::AdamW>(std::move(p), adamw);
    }
    if (name == "adamw") { // what optim.optimizer=adamw runs: the fused kernel
        return std::make_unique<train::FusedAdamW>(std::move(p), adamw);
    }
    if (name == "psgd_fit") {
        return std::make_unique<train::Psgd>(std::move(p), train::PsgdOptions(1e-5).min_prob(1.0).precond_decay(1.0));
    }
    if (name == "psgd_steady") {
        return std::make_unique<train::Psgd>(std::move(p),
                                             train::PsgdOptions(1e-5).min_prob(1.0 / 64).precond_decay(1e-9));
    }
    return std::make_unique<train::Soap>(std::move(p), train::SoapOptions(1e-4));
}

void BM_OptimizerStep(benchmark::State& state, const std::string& name, std::vector<int64_t> shape) {
    at::set_num_threads(1);
    torch::manual_seed(0);
    torch::Tensor w = torch::randn(shape).requires_grad_(true);
    w.mutable_grad() = torch::randn(shape) * 1e-3;
    auto opt = make(name, {w});
    opt->step(); // SOAP: initialisation only; PSGD, AdamW: allocation of the state
    for (auto _ : state) {
        opt->step();
    }
    const double mparams = static_cast<double>(w.numel()) / 1e6;
    state.counters["s/Mparam"] =
        benchmark::Counter(mparams, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    state.counters["params"] = static_cast<double>(w.numel());
}

const std::vector<int64_t> kConv{256, 256, 3, 3};
const std::vector<int64_t> kLinear{1024, 1024};

/// Steps to lower the ill-conditioned quadratic of tests/support/quadratic_problem.h 1e4-fold, best of a learning-rate
/// grid: which optimizer converges faster here is a measurement of this machine's kernels, so it lives here and not in
/// a test (the test only asserts that each converges within 1500 steps). Counters: `steps`, `lr`.
void BM_QuadraticStepsToTarget(benchmark::State& state, test::Factory make) {
    at::set_num_threads(1);
    const test::Quadratic q;
    int64_t steps = 0;
    double lr = 0;
    for (auto _ : state) {
        steps = q.best_steps(make, {1e-2, 3e-2, 1e-1, 3e-1}, 1e-4, 1500, &lr, false);
    }
    state.counters["steps"] = static_cast<double>(steps);
    state.counters["lr"] = lr;
}

} // namespace

BENCHMARK_CAPTURE(BM_QuadraticStepsToTarget, adam, test::Factory(test::make_adam))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_QuadraticStepsToTarget, psgd, test::Factory(test::make_psgd))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_QuadraticStepsToTarget, soap, test::Factory(test::make_soap))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, adamw_conv256x256x3x3, std::string("adamw"), kConv)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(64)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, adamw_libtorch_conv256x256x3x3, std::string("adamw_libtorch"), kConv)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(64)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, psgd_fit_conv256x256x3x3, std::string("psgd_fit"), kConv)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(8)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, psgd_steady_conv256x256x3x3, std::string("psgd_steady"), kConv)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(128)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, soap_conv256x256x3x3, std::string("soap"), kConv)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(32)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, adamw_linear1024x1024, std::string("adamw"), kLinear)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(64)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, adamw_libtorch_linear1024x1024, std::string("adamw_libtorch"), kLinear)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(64)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, psgd_fit_linear1024x1024, std::string("psgd_fit"), kLinear)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(8)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, psgd_steady_linear1024x1024, std::string("psgd_steady"), kLinear)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(128)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OptimizerStep, soap_linear1024x1024, std::string("soap"), kLinear)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(32)
    ->UseRealTime();

BENCHMARK_MAIN();
