// Tests of MMPS guidance (include/lola/diffusion/guidance.h): the solvers against direct solutions, the forward-mode
// product against finite differences (through attention too), and the guided denoiser on a linear Gaussian problem
// whose posterior is known in closed form: its mean at one call, the ensemble it samples, and the truth recovered
// from noise-free full observations.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <vector>

#include "lola/core/error.h"
#include "lola/diffusion/guidance.h"
#include "lola/diffusion/observation.h"
#include "lola/diffusion/sampler.h"
#include "lola/diffusion/schedule.h"
#include "support/torch_support.h"

namespace {

using namespace lola;
using diffusion::Gaussian;

using Guidance = test::SeededTest;

/// x (B, D) -> x M^T for a batch of matrices M (B, D, D) or one (D, D).
diffusion::TensorFn matmul_by(const torch::Tensor& M) {
    return [M](const torch::Tensor& x) { return torch::matmul(M, x.unsqueeze(-1)).squeeze(-1); };
}

TEST_F(Guidance, GmresAndCgSolveSmallSystemsExactlyWithEnoughIterations) {
    const int64_t B = 3, D = 5;
    const torch::Tensor eye = torch::eye(D, torch::kDouble);
    const torch::Tensor M = torch::randn({B, D, D}, torch::kDouble) + 3 * eye; // non-symmetric, well conditioned
    const torch::Tensor b = torch::randn({B, D}, torch::kDouble);
    const torch::Tensor exact = torch::linalg_solve(M, b.unsqueeze(-1)).squeeze(-1);
    EXPECT_LT(test::rel_err(diffusion::gmres(matmul_by(M), b, D), exact), 1e-10);
    EXPECT_GT(test::rel_err(diffusion::gmres(matmul_by(M), b, 2), exact), 1e-4); // fewer iterations: not exact
    const torch::Tensor S = torch::matmul(M, M.transpose(1, 2)) + eye;           // symmetric positive definite
    const torch::Tensor exact_s = torch::linalg_solve(S, b.unsqueeze(-1)).squeeze(-1);
    EXPECT_LT(test::rel_err(diffusion::conjugate_gradient(matmul_by(S), b, 3 * D), exact_s), 1e-8);
    EXPECT_LT(test::rel_err(diffusion::gmres(matmul_by(S), b, D), exact_s), 1e-10);
    // float32 in, float32 out, with float64 inside
    EXPECT_EQ(diffusion::gmres(matmul_by(M.to(torch::kFloat)), b.to(torch::kFloat), D).scalar_type(), torch::kFloat);
}

TEST_F(Guidance, OneGmresIterationIsTheMinimalResidualStepAndIdentityBreaksDownCleanly) {
    const int64_t B = 4, D = 7;
    const torch::Tensor M = torch::randn({B, D, D}, torch::kDouble) + 2 * torch::eye(D, torch::kDouble);
    const torch::Tensor b = torch::randn({B, 2, D}, torch::kDouble); // rows of two axes: flattened per row
    const auto op = [&](const torch::Tensor& v) {
        return torch::matmul(M, v.reshape({B, 2 * D}).narrow(1, 0, D).unsqueeze(-1))
            .squeeze(-1)
            .repeat({1, 2})
            .reshape({B, 2, D});
    };
    // argmin over a of |b - a M b| per row: a = <b, Mb> / <Mb, Mb>
    const torch::Tensor Mb = op(b).reshape({B, -1});
    const torch::Tensor flat = b.reshape({B, -1});
    const torch::Tensor a = (flat * Mb).sum(1) / (Mb * Mb).sum(1);
    EXPECT_LT(test::rel_err(diffusion::gmres(op, b, 1).reshape({B, -1}), a.unsqueeze(1) * flat), 1e-12);
    // the identity: the Krylov space is exhausted after one iteration; three iterations must stay finite and exact
    const auto identity = [](const torch::Tensor& v) { return v.clone(); };
    const torch::Tensor x = diffusion::gmres(identity, b, 3);
    EXPECT_TRUE(torch::isfinite(x).all().item<bool>());
    EXPECT_LT(test::rel_err(x, b), 1e-14);
    EXPECT_TRUE(torch::isfinite(diffusion::conjugate_gradient(identity, b, 3)).all().item<bool>());
    EXPECT_THROW(diffusion::gmres(identity, b, 0), UsageError);
}

TEST_F(Guidance, ForwardModeProductMatchesFiniteDifferencesThroughAttention) {
    const torch::Tensor W = torch::randn({8, 8}, torch::kDouble);
    const diffusion::TensorFn f = [&](const torch::Tensor& x) { // (B, H, L, d), nonlinear, with attention
        const torch::Tensor q = torch::tanh(torch::matmul(x, W));
        return at::scaled_dot_product_attention(q, x, x * x);
    };
    const torch::Tensor x = torch::randn({2, 2, 6, 8}, torch::kDouble);
    const torch::Tensor w = torch::randn_like(x);
    const double h = 1e-5;
    const torch::Tensor fd = (f(x + h * w) - f(x - h * w)) / (2 * h);
    const torch::Tensor j = diffusion::jvp(f, x, w);
    EXPECT_LT(test::rel_err(j, fd), 1e-7);
    // and in float32, the dtype of models (attention's fused CPU kernel would refuse forward AD)
    const torch::Tensor j32 =
        diffusion::jvp([&](const torch::Tensor& v) { return f(v.to(torch::kDouble)).to(torch::kFloat); },
                       x.to(torch::kFloat), w.to(torch::kFloat));
    EXPECT_LT(test::rel_err(j32.to(torch::kDouble), fd), 1e-5);
    // a function that ignores its input has a zero derivative
    EXPECT_EQ(diffusion::jvp([](const torch::Tensor& v) { return torch::ones_like(v.detach()); }, x, w)
                  .abs()
                  .max()
                  .item<double>(),
              0.0);
    // the attention switches are restored
    EXPECT_TRUE(at::globalContext().userEnabledFlashSDP());
}

/// The exact denoiser of a zero-mean Gaussian prior N(0, cov) on rows (B, D): E[x | x_t] = alpha cov (alpha^2 cov +
/// sigma^2 I)^-1 x_t, linear in x_t. Times must be 0-d (one per call, as the samplers give).
class GaussianPrior : public diffusion::Denoiser {
public:
    explicit GaussianPrior(torch::Tensor cov)
        : cov_(std::move(cov)), schedule_(std::make_shared<diffusion::LogLogitSchedule>()) {}

    Gaussian denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& /*label*/,
                     const torch::Tensor& /*cond*/) const override {
        const auto [a, s] = scales(t);
        const int64_t D = cov_.size(0);
        const torch::Tensor K =
            a * torch::matmul(cov_, torch::inverse(a * a * cov_ + s * s * torch::eye(D, cov_.options())));
        const torch::Tensor shape_x = x_t.reshape({x_t.size(0), D});
        const torch::Tensor mean = torch::matmul(shape_x, K.t().to(x_t.scalar_type())).reshape(x_t.sizes());
        return {mean, torch::full_like(x_t, s * s / (a * a + s * s))};
    }
    const diffusion::Schedule& schedule() const override { return *schedule_; }

    /// (alpha_t, sigma_t) of a 0-d t.
    std::pair<double, double> scales(const torch::Tensor& t) const {
        return {schedule_->alpha(t.to(torch::kDouble)).item<double>(),
                schedule_->sigma(t.to(torch::kDouble)).item<double>()};
    }
    /// E[x | x_t, y] for y = A x + N(0, var_y I), in closed form (float64): rows (B, D), y (B, Dy).
    torch::Tensor posterior_mean(const torch::Tensor& x_t, double t, const torch::Tensor& A, const torch::Tensor& y,
                                 double var_y) const {
        const auto [a, s] = scales(torch::tensor(t, torch::kDouble));
        const int64_t D = cov_.size(0);
        const torch::Tensor P =
            torch::inverse(cov_) + (a * a / (s * s)) * torch::eye(D, torch::kDouble) + A.t().matmul(A) / var_y;
        const torch::Tensor rhs = (a / (s * s)) * x_t.reshape({x_t.size(0), D}) + y.matmul(A) / var_y;
        return torch::linalg_solve(P, rhs.t()).t();
    }
    /// The posterior N(mean, cov) of x given y alone.
    std::pair<torch::Tensor, torch::Tensor> posterior(const torch::Tensor& A, const torch::Tensor& y,
                                                      double var_y) const {
        const torch::Tensor P = torch::inverse(cov_) + A.t().matmul(A) / var_y;
        const torch::Tensor C = torch::inverse(P);
        return {y.matmul(A).matmul(C) / var_y, C};
    }

private:
    torch::Tensor cov_;
    std::shared_ptr<diffusion::Schedule> schedule_;
};

torch::Tensor random_covariance(int64_t D) {
    const torch::Tensor L = torch::randn({D, D}, torch::kDouble) / std::sqrt(static_cast<double>(D));
    return L.matmul(L.t()) + 0.2 * torch::eye(D, torch::kDouble);
}

TEST_F(Guidance, GuidedMeanIsTheExactPosteriorMeanOnALinearGaussianProblem) {
    const int64_t B = 3, D = 6, Dy = 3;
    const GaussianPrior prior(random_covariance(D));
    const torch::Tensor A = torch::randn({Dy, D}, torch::kDouble);
    const torch::Tensor y = torch::randn({B, Dy}, torch::kDouble);
    const double var_y = 0.05;
    for (const bool linear : {false, true}) {
        diffusion::MMPSOptions o;
        o.var_y = var_y;
        o.iterations = Dy; // enough for an exact solve
        o.linear = linear;
        const diffusion::MMPSDenoiser guided(prior, matmul_by(A), y, o);
        for (const double t : {0.2, 0.5, 0.8}) {
            const double sigma = prior.scales(torch::tensor(t, torch::kDouble)).second;
            const torch::Tensor x_t =
                sigma * torch::randn({B, D}, torch::kDouble) + torch::randn({B, D}, torch::kDouble);
            const torch::Tensor mean = guided.denoise(x_t, torch::tensor(t, torch::kDouble)).mean;
            EXPECT_LT(test::rel_err(mean, prior.posterior_mean(x_t, t, A, y, var_y)), 1e-9)
                << "t = " << t << (linear ? " (linear A)" : " (forward-mode J_A)");
            // and it is not the unguided mean
            EXPECT_GT(test::rel_err(prior.denoise(x_t, torch::tensor(t, torch::kDouble), {}, {}).mean,
                                    prior.posterior_mean(x_t, t, A, y, var_y)),
                      1e-3);
        }
    }
}

TEST_F(Guidance, GuidedEnsembleSamplesTheClosedFormPosterior) {
    const int64_t D = 4, Dy = 2, N = 4000;
    const GaussianPrior prior(random_covariance(D));
    const torch::Tensor A = torch::randn({Dy, D}, torch::kDouble);
    const double var_y = 0.1;
    const torch::Tensor y = torch::randn({1, Dy}, torch::kDouble); // one observation shared by the ensemble
    diffusion::MMPSOptions o;
    o.var_y = var_y;
    o.iterations = Dy;
    const diffusion::MMPSDenoiser guided(prior, matmul_by(A), y, o);
    diffusion::ABSampler sampler(guided, 64);
    const torch::Tensor x = sampler.sample(sampler.init({N, D}, torch::kDouble)); // (N, D)
    const auto [mean, cov] = prior.posterior(A, y, var_y);
    const torch::Tensor sample_mean = x.mean(0);
    const torch::Tensor centred = x - sample_mean;
    const torch::Tensor sample_cov = centred.t().matmul(centred) / (N - 1);
    // the mean within 5 standard errors per component, the covariance within 10% of its scale
    const torch::Tensor se = (cov.diagonal() / N).sqrt();
    EXPECT_TRUE(((sample_mean - mean.squeeze(0)).abs() < 5 * se).all().item<bool>()) << sample_mean << "\nvs\n" << mean;
    EXPECT_LT((sample_cov - cov).abs().max().item<double>(), 0.1 * cov.diagonal().max().item<double>())
        << sample_cov << "\nvs\n"
        << cov;
    // unguided, the ensemble follows the prior instead: its mean is off by many standard errors somewhere
    diffusion::ABSampler plain(prior, 64);
    const torch::Tensor z = plain.sample(plain.init({N, D}, torch::kDouble));
    EXPECT_FALSE(((z.mean(0) - mean.squeeze(0)).abs() < 5 * se).all().item<bool>());
}

TEST_F(Guidance, NoiseFreeFullObservationsReproduceTheTruth) {
    // states (B, 1, 4, 4) observed in full (subsample:1) with a negligible noise variance
    const int64_t D = 16;
    const GaussianPrior prior(random_covariance(D));
    const auto op = diffusion::ObservationOperator::parse("subsample:1", 2);
    const torch::Tensor truth = torch::randn({2, 1, 4, 4}, torch::kDouble);
    diffusion::MMPSOptions o;
    o.var_y = 1e-10;
    o.iterations = D;
    const diffusion::MMPSDenoiser guided(
        prior, [&](const torch::Tensor& x) { return op.apply(x); }, op.apply(truth), o);
    diffusion::ABSampler sampler(guided, 16);
    const torch::Tensor x = sampler.sample(sampler.init(truth.sizes(), torch::kDouble));
    EXPECT_LT((x - truth).abs().max().item<double>(), 1e-2);
    // a measurement of the wrong shape is refused by name
    const diffusion::MMPSDenoiser wrong(
        prior, [&](const torch::Tensor& x) { return op.apply(x); }, torch::zeros({2, 1, 2, 2}, torch::kDouble), o);
    EXPECT_THROW(wrong.denoise(truth, torch::tensor(0.5, torch::kDouble)), UsageError);
    o.solver = "lsqr";
    EXPECT_THROW(diffusion::MMPSDenoiser(
                     prior, [](const torch::Tensor& v) { return v; }, truth, o),
                 UsageError);
}

} // namespace
