// An ill-conditioned quadratic for optimizer tests and benchmarks (docs/method.md 9.2, 9.3): how many steps Adam,
// PSGD-Kron and SOAP need to lower it by a factor. Header-only; used by tests/unit/train/test_optimizers.cpp and
// bench/bench_optimizers.cpp.
#pragma once

#include <torch/optim/adam.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "lola/train/psgd.h"
#include "lola/train/soap.h"

namespace lola::test {

using Factory = std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor>, double lr)>;

std::unique_ptr<torch::optim::Optimizer> make_adam(std::vector<torch::Tensor> p, double lr) {
    return std::make_unique<torch::optim::Adam>(std::move(p), torch::optim::AdamOptions(lr).betas({0.9, 0.99}));
}
std::unique_ptr<torch::optim::Optimizer> make_psgd(std::vector<torch::Tensor> p, double lr) {
    return std::make_unique<train::Psgd>(std::move(p), train::PsgdOptions(lr));
}
std::unique_ptr<torch::optim::Optimizer> make_soap(std::vector<torch::Tensor> p, double lr) {
    return std::make_unique<train::Soap>(std::move(p), train::SoapOptions(lr));
}

torch::Tensor random_orthogonal(int64_t n) {
    return std::get<0>(torch::linalg_qr(torch::randn({n, n}, torch::kFloat64))).to(torch::kFloat32);
}

/// f(W) = 1/2 tr((W - W*)^T H_L (W - W*) H_R) with H_L, H_R rotated, eigenvalues log-spaced over 10^1.5 each: the
/// Hessian H_R (x) H_L has condition number 1e3 and is not axis-aligned (Adam's diagonal cannot fit it).
struct Quadratic {
    int64_t n = 16;
    torch::Tensor hl, hr, target;
    Quadratic() {
        torch::manual_seed(7);
        const torch::Tensor lam = torch::logspace(0.0, -1.5, n);
        torch::Tensor u = random_orthogonal(n), v = random_orthogonal(n);
        hl = u.mm(torch::diag(lam)).mm(u.t());
        hr = v.mm(torch::diag(lam)).mm(v.t());
        target = torch::randn({n, n});
    }
    torch::Tensor loss(const torch::Tensor& w) const {
        const torch::Tensor e = w - target;
        return 0.5 * (e * hl.mm(e).mm(hr)).sum();
    }
    /// Steps until loss <= tol * initial loss (or max_steps + 1 if never).
    int64_t steps_to(const Factory& make, double lr, double tol, int64_t max_steps) const {
        torch::manual_seed(0);
        torch::Tensor w = torch::zeros({n, n}, torch::requires_grad());
        auto opt = make({w}, lr);
        const double l0 = loss(w).item<double>();
        for (int64_t s = 1; s <= max_steps; ++s) {
            opt->zero_grad();
            torch::Tensor l = loss(w);
            if (!std::isfinite(l.item<double>())) {
                return max_steps + 1;
            }
            l.backward();
            opt->step();
            if (loss(w).item<double>() <= tol * l0) {
                return s;
            }
        }
        return max_steps + 1;
    }
    int64_t best_steps(const Factory& make, const std::vector<double>& lrs, double tol, int64_t max_steps,
                       double* best_lr, bool verbose = true) const {
        int64_t best = max_steps + 1;
        for (double lr : lrs) {
            const int64_t s = steps_to(make, lr, tol, max_steps);
            if (verbose) {
                std::printf("  lr %.0e: %lld steps\n", lr, static_cast<long long>(s));
            }
            if (s < best) {
                best = s;
                *best_lr = lr;
            }
        }
        return best;
    }
};

} // namespace lola::test
