// Tests of the diffusion module (docs/method.md 4.1-4.4, 4.6, 7.1): schedules, preconditioning, masks, the training
// objective and every sampler against an analytical Gaussian denoiser.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "lola/core/error.h"
#include "lola/diffusion/denoiser.h"
#include "lola/diffusion/loss.h"
#include "lola/diffusion/sampler.h"
#include "lola/diffusion/schedule.h"
#include "support/torch_support.h"

namespace {

using namespace lola;
using namespace lola::diffusion;

using DiffusionTest = test::SeededTest;

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

/// Data x ~ N(mu, Sigma) in dimension D (x of any shape (B, ...) with D elements per sample). For
/// x_t = alpha x + sigma eps, with Sigma = Q diag(l) Q^T, the posterior is Gaussian:
/// E[x | x_t] = mu + Q diag(alpha l / (alpha^2 l + sigma^2)) Q^T (x_t - alpha mu),
/// Cov[x | x_t] = Q diag(l sigma^2 / (alpha^2 l + sigma^2)) Q^T. Computed in float64, returned in the dtype of x_t.
class GaussianDataDenoiser : public Denoiser {
public:
    GaussianDataDenoiser(torch::Tensor mu, torch::Tensor cov, std::shared_ptr<const Schedule> schedule)
        : mu_(std::move(mu)), schedule_(std::move(schedule)) {
        auto [l, q] = at::linalg_eigh(cov);
        l_ = l;
        q_ = q;
    }

    Gaussian denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& /*label*/,
                     const torch::Tensor& /*cond*/) const override {
        EXPECT_EQ(t.dim(), 0);
        const double a = schedule_->alpha(t.to(torch::kDouble)).item<double>();
        const double s = schedule_->sigma(t.to(torch::kDouble)).item<double>();
        const int64_t b = x_t.size(0);
        torch::Tensor r = at::matmul(x_t.reshape({b, -1}).to(torch::kDouble) - a * mu_, q_);
        torch::Tensor gain = a * l_ / (a * a * l_ + s * s);
        torch::Tensor mean = mu_ + at::matmul(r * gain, q_.t());
        torch::Tensor pv = l_ * (s * s) / (a * a * l_ + s * s);
        torch::Tensor var = at::matmul(at::square(q_), pv).expand({b, -1});
        return {mean.reshape(x_t.sizes()).to(x_t.scalar_type()), var.reshape(x_t.sizes()).to(x_t.scalar_type())};
    }
    const Schedule& schedule() const override { return *schedule_; }

private:
    torch::Tensor mu_, l_, q_;
    std::shared_ptr<const Schedule> schedule_;
};

torch::Tensor data_mean() { return torch::tensor({1.0, -2.0, 0.5, 0.0}, kF64); }

torch::Tensor data_cov() {
    torch::Tensor l =
        torch::tensor({1.0, 0.0, 0.0, 0.0, 0.5, 0.8, 0.0, 0.0, -0.3, 0.4, 0.6, 0.0, 0.2, -0.5, 0.3, 0.5}, kF64)
            .reshape({4, 4});
    return at::matmul(l, l.t());
}

/// Sample mean and covariance of x (N, D) against (mu, Sigma), each entry within k standard errors plus `bias`.
/// Prints the largest errors in units of the standard error.
void expect_moments(const torch::Tensor& x, const torch::Tensor& mu, const torch::Tensor& cov, double bias,
                    const std::string& what) {
    const double k = 5.0;
    const int64_t n = x.size(0);
    torch::Tensor xd = x.to(torch::kDouble);
    torch::Tensor m = xd.mean(0);
    torch::Tensor c = at::matmul((xd - m).t(), xd - m) / static_cast<double>(n - 1);
    torch::Tensor diag = at::diagonal(cov);
    torch::Tensor se_m = at::sqrt(diag / static_cast<double>(n));
    torch::Tensor se_c = at::sqrt((at::outer(diag, diag) + at::square(cov)) / static_cast<double>(n));
    const double zm = ((m - mu).abs() / se_m).max().item<double>();
    const double zc = ((c - cov).abs() / se_c).max().item<double>();
    std::cout << "[ moments  ] " << what << ": max |mean err| / se = " << zm << ", max |cov err| / se = " << zc
              << ", max |cov err| = " << (c - cov).abs().max().item<double>() << "\n";
    EXPECT_TRUE(((m - mu).abs() <= k * se_m + bias).all().item<bool>()) << what << " mean " << m << " vs " << mu;
    EXPECT_TRUE(((c - cov).abs() <= k * se_c + bias).all().item<bool>()) << what << " cov " << c << " vs " << cov;
}

// ==== schedules ======================================================================================================

TEST_F(DiffusionTest, LogLogitScheduleEndPointsMonotoneAndRectifiedFlow) {
    LogLogitSchedule schedule;
    torch::Tensor t = at::linspace(0.0, 1.0, 201, kF64);
    torch::Tensor sigma = schedule.sigma(t);
    EXPECT_NEAR(sigma[0].item<double>(), 1e-3, 1e-15);
    EXPECT_NEAR(sigma[-1].item<double>() / 1e3, 1.0, 1e-12);
    EXPECT_TRUE((sigma.diff() > 0).all().item<bool>());
    EXPECT_TRUE(at::equal(schedule.alpha(t), at::ones_like(t)));
    const double t_min = 1e-3 / (1 + 1e-3), t_max = 1e3 / (1 + 1e3);
    torch::Tensor u = t * (t_max - t_min) + t_min;
    EXPECT_LT(((sigma - u / (1 - u)).abs() / sigma).max().item<double>(), 1e-12);
    // float32 times give float32 sigmas, right at the end points.
    torch::Tensor sf = schedule.sigma(torch::tensor({0.0f, 1.0f}));
    EXPECT_EQ(sf.scalar_type(), torch::kFloat);
    EXPECT_NEAR(sf[0].item<double>() / 1e-3, 1.0, 1e-6);
    EXPECT_NEAR(sf[1].item<double>() / 1e3, 1.0, 1e-6);
    EXPECT_NEAR(schedule.sigma_at(0.5), 1.0, 1e-12); // logit(1/2) = 0 and u(1/2) = 1/2 by symmetry
}

TEST_F(DiffusionTest, LogLinearScheduleAndRegistry) {
    auto schedule = make_schedule("log_linear", 1e-2, 1e2);
    EXPECT_EQ(schedule->name(), "log_linear");
    torch::Tensor t = at::linspace(0.0, 1.0, 101, kF64);
    torch::Tensor sigma = schedule->sigma(t);
    EXPECT_NEAR(sigma[0].item<double>(), 1e-2, 1e-15);
    EXPECT_NEAR(sigma[-1].item<double>(), 1e2, 1e-11);
    EXPECT_NEAR(sigma[50].item<double>(), 1.0, 1e-12);
    EXPECT_TRUE((sigma.diff() > 0).all().item<bool>());
    EXPECT_LT((sigma.log().diff() - sigma.log().diff()[0]).abs().max().item<double>(), 1e-12); // log-linear
    EXPECT_EQ(make_schedule()->name(), "log_logit");
    EXPECT_THROW(make_schedule("cosine"), UsageError);
    EXPECT_THROW(make_schedule("log_logit", 1.0, 0.5), UsageError);
}

// ==== preconditioning ================================================================================================

TEST_F(DiffusionTest, PreconditioningMatchesClosedForm) {
    const std::vector<double> alphas{1.0, 1.0, 1.0, 0.7, 0.3};
    const std::vector<double> sigmas{1e-3, 0.5, 1e3, 2.0, 0.9};
    Preconditioning p = preconditioning(torch::tensor(alphas, kF64), torch::tensor(sigmas, kF64));
    for (size_t i = 0; i < alphas.size(); ++i) {
        const double a = alphas[i], s = sigmas[i], n2 = a * a + s * s;
        const auto at = static_cast<int64_t>(i);
        EXPECT_NEAR(p.c_in[at].item<double>(), 1 / std::sqrt(n2), 1e-12 / std::sqrt(n2));
        EXPECT_NEAR(p.c_out[at].item<double>(), s / std::sqrt(n2), 1e-12);
        EXPECT_NEAR(p.c_skip[at].item<double>(), a / n2, 1e-12 * a / n2);
        EXPECT_NEAR(p.c_noise[at].item<double>(), 10 * std::log(s / a), 1e-12);
        EXPECT_NEAR(p.var[at].item<double>(), s * s / n2, 1e-12);
        // EDM identities: c_skip^2 + c_out^2 / alpha^2 ... (data variance 1): c_skip a + c_out^2 = 1 for a = alpha
        EXPECT_NEAR(p.c_skip[at].item<double>() * a + std::pow(p.c_out[at].item<double>(), 2), 1.0, 1e-12);
    }
}

TEST_F(DiffusionTest, PreconditionedDenoiserBroadcastsTimeAndPassesArguments) {
    auto schedule = make_schedule();
    torch::Tensor seen_noise, seen_label, seen_cond, seen_in;
    NetworkFn net = [&](const torch::Tensor& x_in, const torch::Tensor& c_noise, const torch::Tensor& label,
                        const torch::Tensor& cond) {
        seen_in = x_in;
        seen_noise = c_noise;
        seen_label = label;
        seen_cond = cond;
        return 2.0 * x_in + 1.0;
    };
    PreconditionedDenoiser d(net, schedule);
    torch::Tensor x = torch::randn({3, 2, 5, 4, 4}, kF64);
    torch::Tensor cond = torch::ones_like(x);
    torch::Tensor label = torch::randn({6}, kF64);
    for (torch::Tensor t : {torch::tensor(0.3, kF64), torch::tensor({0.1, 0.5, 0.9}, kF64)}) {
        Gaussian q = d.denoise(x, t, label, cond);
        EXPECT_EQ(seen_noise.sizes(), t.sizes());
        EXPECT_TRUE(seen_label.is_same(label));
        EXPECT_TRUE(seen_cond.is_same(cond));
        ASSERT_EQ(q.mean.sizes(), x.sizes());
        ASSERT_EQ(q.var.sizes(), x.sizes());
        torch::Tensor tb = t.expand({3});
        for (int64_t b = 0; b < 3; ++b) {
            const double s = schedule->sigma_at(tb[b].item<double>());
            const double n2 = 1 + s * s;
            torch::Tensor f = 2.0 * x[b] / std::sqrt(n2) + 1.0;
            EXPECT_LT(test::rel_err(q.mean[b], x[b] / n2 + s / std::sqrt(n2) * f), 1e-12);
            EXPECT_NEAR(q.var[b].max().item<double>(), s * s / n2, 1e-12);
            EXPECT_NEAR(q.var[b].min().item<double>(), s * s / n2, 1e-12);
            EXPECT_NEAR(seen_noise.expand({3})[b].item<double>(), 10 * std::log(s), 1e-9);
        }
    }
    NetworkFn bad = [](const torch::Tensor& x_in, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
        return x_in.sum(1);
    };
    EXPECT_THROW(PreconditionedDenoiser(bad, schedule).denoise(x, torch::tensor(0.5, kF64)), Error);
    EXPECT_THROW(d.denoise(x, torch::rand({2}, kF64)), Error); // batch of t != batch of x
}

// ==== masked denoiser ================================================================================================

/// Records its inputs; returns mean = 3 x_t + 1, var = 0.25.
class RecordingDenoiser : public Denoiser {
public:
    explicit RecordingDenoiser(std::shared_ptr<const Schedule> s) : schedule_(std::move(s)) {}
    Gaussian denoise(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& label,
                     const torch::Tensor& cond) const override {
        x_in = x_t;
        t_in = t;
        label_in = label;
        cond_in = cond;
        return {3.0 * x_t + 1.0, at::full_like(x_t, 0.25)};
    }
    const Schedule& schedule() const override { return *schedule_; }
    mutable torch::Tensor x_in, t_in, label_in, cond_in;

private:
    std::shared_ptr<const Schedule> schedule_;
};

TEST_F(DiffusionTest, MaskedDenoiserOverwritesKnownEntriesAndReturnsY) {
    auto schedule = make_schedule();
    RecordingDenoiser inner(schedule);
    const int64_t b = 2, c = 3, n = 5;
    torch::Tensor window = torch::tensor({1, 1, 0, 0, 0, 0, 0, 0, 1, 1}, torch::kBool).reshape({b, n});
    torch::Tensor mask = nn::expand_window_mask(window, 5);
    EXPECT_EQ(mask.sizes(), (std::vector<int64_t>{b, 1, n, 1, 1}));
    torch::Tensor y = torch::randn({b, c, n, 4, 4}, kF64);
    torch::Tensor x_t = torch::randn({b, c, n, 4, 4}, kF64) * 30;
    MaskedDenoiser masked(inner, y, mask);
    const double t = 0.7, s = schedule->sigma_at(t);
    Gaussian q = masked.denoise(x_t, torch::tensor(t, kF64));
    torch::Tensor known = mask.expand_as(x_t);
    EXPECT_TRUE(at::equal(q.mean.masked_select(known), y.masked_select(known)));
    EXPECT_TRUE(at::equal(q.mean.masked_select(~known), (3.0 * x_t + 1.0).masked_select(~known)));
    EXPECT_TRUE(at::equal(q.var.expand_as(x_t), at::full_like(x_t, 0.25))); // the inner variance, known entries too
    EXPECT_LT(test::rel_err(inner.x_in.masked_select(known), std::sqrt(1 + s * s) * y.masked_select(known)), 1e-14);
    EXPECT_TRUE(at::equal(inner.x_in.masked_select(~known), x_t.masked_select(~known)));
    // cond = the mask as float channels of the full shape (B, C, n, h, w)
    ASSERT_EQ(inner.cond_in.sizes(), x_t.sizes());
    EXPECT_TRUE(at::equal(inner.cond_in, known.to(torch::kDouble)));
    // a float 0/1 mask behaves the same; an explicit cond passes through
    MaskedDenoiser masked_f(inner, y, mask.to(torch::kFloat));
    torch::Tensor cond = torch::zeros({1});
    Gaussian qf = masked_f.denoise(x_t, torch::tensor(t, kF64), {}, cond);
    EXPECT_TRUE(at::equal(qf.mean, q.mean));
    EXPECT_TRUE(inner.cond_in.is_same(cond));
    MaskedDenoiser wrong(inner, y, torch::ones({b, 1, n + 1, 1, 1}, torch::kBool));
    EXPECT_THROW(wrong.denoise(x_t, torch::tensor(t, kF64)), Error);
}

// ==== training objective =============================================================================================

TEST_F(DiffusionTest, LossIsUnweightedMseOnNetworkOutput) {
    auto schedule = make_schedule();
    const int64_t b = 4, c = 2, n = 5;
    torch::Tensor w = torch::randn({c, 2 * c}, kF64) * 0.5;
    torch::Tensor seen_in, seen_cond, seen_out;
    NetworkFn net = [&](const torch::Tensor& x_in, const torch::Tensor& c_noise, const torch::Tensor&,
                        const torch::Tensor& cond) {
        seen_in = x_in;
        seen_cond = cond;
        torch::Tensor h = at::cat({x_in, cond}, 1).movedim(1, -1); // (B, n, h, w, 2C)
        seen_out = at::matmul(h, w.t()).movedim(-1, 1) + 0.01 * c_noise.view({-1, 1, 1, 1, 1});
        return seen_out;
    };
    PreconditionedDenoiser d(net, schedule);
    torch::Tensor x = torch::randn({b, c, n, 3, 3}, kF64);
    torch::Tensor eps = torch::randn_like(x);
    torch::Tensor t = torch::tensor({0.05, 0.3, 0.6, 0.95}, kF64);
    torch::Tensor window = sample_context_mask(b, n);
    torch::Tensor loss = denoiser_loss_at(d, x, {}, window, t, eps);
    ASSERT_EQ(loss.dim(), 0);

    torch::Tensor known = nn::expand_window_mask(window, 5).expand_as(x);
    torch::Tensor sigma = schedule->sigma(t).view({b, 1, 1, 1, 1});
    torch::Tensor x_t = at::where(known, at::sqrt(1 + sigma * sigma) * x, x + sigma * eps);
    Preconditioning p = preconditioning(torch::ones_like(sigma), sigma);
    torch::Tensor target = (x - p.c_skip * x_t) / p.c_out;
    const double mse = at::mean(at::square(seen_out - target)).item<double>();
    EXPECT_NEAR(loss.item<double>() / mse, 1.0, 1e-10);
    // the network sees the clean x on known frames and the mask channels as cond
    EXPECT_LT((seen_in - x).masked_select(known).abs().max().item<double>(), 1e-12);
    EXPECT_TRUE(at::equal(seen_cond, known.to(torch::kDouble)));

    // the sampled version is reproducible with a generator, and differs with another seed
    auto gen = [](uint64_t seed) {
        return std::optional<at::Generator>(at::make_generator<at::CPUGeneratorImpl>(seed));
    };
    const double l1 = denoiser_loss(net, schedule, x, {}, window, {}, gen(7)).item<double>();
    const double l2 = denoiser_loss(net, schedule, x, {}, window, {}, gen(7)).item<double>();
    const double l3 = denoiser_loss(net, schedule, x, {}, window, {}, gen(8)).item<double>();
    EXPECT_EQ(l1, l2);
    EXPECT_NE(l1, l3);
    EXPECT_TRUE(std::isfinite(denoiser_loss(d, x, {}, {}, TimePrior{"beta"}).item<double>()));
}

TEST_F(DiffusionTest, ContextMaskFrequencies) {
    const int64_t batch = 40000, n = 5;
    torch::Tensor mask = sample_context_mask(batch, n);
    ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{batch, n}));
    ASSERT_EQ(mask.scalar_type(), torch::kBool);
    torch::Tensor count = mask.sum(1);
    torch::Tensor forward = mask.select(1, 0), backward = mask.select(1, n - 1);
    // exactly one of forward / backward, and the known frames are one contiguous block at that end
    EXPECT_TRUE((forward ^ backward).all().item<bool>());
    torch::Tensor idx = at::arange(n).unsqueeze(0);
    torch::Tensor expected = at::where(forward.unsqueeze(1), idx < count.unsqueeze(1), idx >= n - count.unsqueeze(1));
    EXPECT_TRUE(at::equal(mask, expected));
    // P(c) = P(Poisson(1) mod 4 = c - 1)
    const std::vector<double> paper{0.383, 0.371, 0.184, 0.061};
    for (int64_t c = 1; c <= 4; ++c) {
        double p = 0.0, fact = 1.0;
        for (int k = 0; k < 30; ++k) {
            if (k > 0) fact *= k;
            if (k % 4 == c - 1) p += std::exp(-1.0) / fact;
        }
        EXPECT_NEAR(p, paper[static_cast<size_t>(c - 1)], 1e-3);
        const double f = (count == c).to(torch::kDouble).mean().item<double>();
        EXPECT_NEAR(f, p, 5 * std::sqrt(p * (1 - p) / batch)) << "c = " << c;
    }
    const double fwd = forward.to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(fwd, 0.66, 5 * std::sqrt(0.66 * 0.34 / batch));
    // atleast = 2 on n = 5: c in {2, 3, 4}
    MaskOptions o;
    o.atleast = 2;
    torch::Tensor c2 = sample_context_mask(1000, n, o).sum(1);
    EXPECT_EQ(c2.min().item<int64_t>(), 2);
    EXPECT_EQ(c2.max().item<int64_t>(), 4);
    o.atleast = 5;
    EXPECT_THROW(sample_context_mask(4, n, o), UsageError);
}

TEST_F(DiffusionTest, TimePriorMeans) {
    const int64_t batch = 40000;
    struct Case {
        TimePrior prior;
        double mean, var;
    };
    auto kumaraswamy_moment = [](double a, double b, double r) { // E[t^r] = b B(1 + r / a, b)
        return b * std::exp(std::lgamma(1 + r / a) + std::lgamma(b) - std::lgamma(1 + r / a + b));
    };
    std::vector<Case> cases;
    cases.push_back({TimePrior{"uniform"}, 0.5, 1.0 / 12});
    for (auto [a, b] : std::vector<std::pair<double, double>>{{1.0, 0.5}, {2.0, 3.0}}) {
        cases.push_back({TimePrior{"beta", a, b}, a / (a + b), a * b / ((a + b) * (a + b) * (a + b + 1))});
        const double m1 = kumaraswamy_moment(a, b, 1), m2 = kumaraswamy_moment(a, b, 2);
        cases.push_back({TimePrior{"kumaraswamy", a, b}, m1, m2 - m1 * m1});
    }
    for (const Case& c : cases) {
        torch::Tensor t = sample_time(batch, c.prior);
        ASSERT_EQ(t.scalar_type(), torch::kFloat);
        EXPECT_GE(t.min().item<double>(), 0.0);
        EXPECT_LE(t.max().item<double>(), 1.0);
        const double m = t.to(torch::kDouble).mean().item<double>();
        const double v = t.to(torch::kDouble).var().item<double>();
        EXPECT_NEAR(m, c.mean, 5 * std::sqrt(c.var / batch)) << c.prior.name << " " << c.prior.a << " " << c.prior.b;
        EXPECT_NEAR(v / c.var, 1.0, 0.05) << c.prior.name << " " << c.prior.a << " " << c.prior.b;
    }
    EXPECT_THROW(sample_time(4, TimePrior{"triangle"}), UsageError);
    EXPECT_THROW(sample_time(4, TimePrior{"beta", 0.0, 1.0}), UsageError);
}

// ==== multistep coefficients =========================================================================================

/// Composite Simpson on [lo, hi] (signed) with 2m intervals.
double simpson(const std::function<double(double)>& f, double lo, double hi, int m = 4000) {
    const double h = (hi - lo) / (2 * m);
    double acc = f(lo) + f(hi);
    for (int i = 1; i < 2 * m; ++i) {
        acc += (i % 2 ? 4.0 : 2.0) * f(lo + i * h);
    }
    return acc * h / 3;
}

double lagrange(const std::vector<double>& nodes, size_t j, double x) {
    double v = 1.0;
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (i != j) v *= (x - nodes[i]) / (nodes[j] - nodes[i]);
    }
    return v;
}

TEST_F(DiffusionTest, MultistepCoefficientsAreLagrangeIntegrals) {
    LogLogitSchedule schedule;
    std::vector<double> rho;
    for (int k = 0; k <= 16; ++k) rho.push_back(schedule.sigma_at(1.0 - k / 16.0));
    // the paper's grid at several k (nodes = last m values), plus a hand-made set
    std::vector<std::tuple<std::vector<double>, double, double>> cases;
    for (size_t k : {0u, 1u, 2u, 5u, 8u, 12u, 15u}) {
        std::vector<double> nodes;
        for (size_t i = (k >= 2 ? k - 2 : 0); i <= k; ++i) nodes.push_back(rho[i]);
        cases.emplace_back(nodes, rho[k], rho[k + 1]);
    }
    cases.emplace_back(std::vector<double>{2.0, 1.3, 0.9, 0.7}, 0.7, 0.4);
    for (const auto& [nodes, from, to] : cases) {
        const std::vector<double> w = ab_coefficients(nodes, from, to);
        const std::vector<double> we = eab_coefficients(nodes, from, to);
        ASSERT_EQ(w.size(), nodes.size());
        std::vector<double> lnodes;
        for (double r : nodes) lnodes.push_back(std::log(r));
        double sum = 0.0;
        for (size_t j = 0; j < nodes.size(); ++j) {
            const double ref = simpson([&](double r) { return lagrange(nodes, j, r); }, from, to);
            const double ref_e =
                simpson([&](double l) { return std::exp(l) * lagrange(lnodes, j, l); }, std::log(from), std::log(to));
            const double scale = std::abs(to - from);
            EXPECT_NEAR(w[j], ref, 1e-9 * scale) << "ab node " << j << " of " << nodes.size() << " from " << from;
            EXPECT_NEAR(we[j], ref_e, 1e-9 * scale) << "eab node " << j << " of " << nodes.size() << " from " << from;
            sum += w[j];
        }
        EXPECT_NEAR(sum, to - from, 1e-10 * std::abs(to - from));
    }
    EXPECT_THROW(ab_coefficients({1.0, 1.0}, 1.0, 0.5), Error);
}

// ==== samplers =======================================================================================================

struct SamplerCase {
    std::string name;
    int64_t steps;
    double bias; ///< allowed discretisation error on the moments, on top of 5 standard errors
};

TEST_F(DiffusionTest, EverySamplerMatchesGaussianData) {
    auto schedule = make_schedule();
    GaussianDataDenoiser denoiser(data_mean(), data_cov(), schedule);
    const int64_t n = 20000;
    // AB and EAB at the paper's 16 steps; DDIM (order 1) needs 64 and the stochastic DDPM and PC need more steps too.
    // The bias allowances are the discretisation errors measured in OdeSamplersTransportTheMomentsExactly.
    const std::vector<SamplerCase> cases{
        {"ab", 16, 0.04}, {"eab", 16, 0.03}, {"ddim", 64, 0.045}, {"ddpm", 256, 0.02}, {"pc", 64, 0.02}};
    for (const SamplerCase& c : cases) {
        auto sampler = make_sampler(c.name, denoiser, c.steps);
        auto gen = std::optional<at::Generator>(at::make_generator<at::CPUGeneratorImpl>(11));
        torch::Tensor x0 = sampler->init({n, 4}, kF64, gen);
        EXPECT_NEAR(x0.std().item<double>() / std::sqrt(1 + 1e6), 1.0, 0.02);
        torch::Tensor x = sampler->sample(x0, {}, {}, gen);
        expect_moments(x, data_mean(), data_cov(), c.bias, c.name + " " + std::to_string(c.steps) + " steps");
    }
    // float32 runs in float32
    auto ab = make_sampler("ab", denoiser, 16);
    torch::Tensor xf = ab->sample(ab->init({n, 4}, torch::kFloat));
    EXPECT_EQ(xf.scalar_type(), torch::kFloat);
    expect_moments(xf, data_mean(), data_cov(), 0.04, "ab float32");
}

/// The ODE samplers are affine maps x_init -> x for the Gaussian denoiser: x = M x_init + c. Running them on 0 and on
/// the basis vectors gives M and c, hence the exact moments of the output, c and (1 + 1e6) M M^T, free of sampling
/// error: their distance to (mu, Sigma) is the discretisation error alone.
std::pair<torch::Tensor, torch::Tensor> transported_moments(Sampler& sampler) {
    const double scale = 1e3;
    torch::Tensor x0 = at::cat({torch::zeros({1, 4}, kF64), scale * torch::eye(4, kF64)});
    torch::Tensor out = sampler.sample(x0);
    torch::Tensor c = out[0];
    torch::Tensor rows = (out.slice(0, 1) - c) / scale; // row i = M e_i
    return {c, (1 + 1e6) * at::matmul(rows.t(), rows)};
}

TEST_F(DiffusionTest, OdeSamplersTransportTheMomentsExactly) {
    auto schedule = make_schedule();
    GaussianDataDenoiser denoiser(data_mean(), data_cov(), schedule);
    // Measured (max |cov err| at 16 / 32 steps): ab 0.039 / 0.0094, eab 0.027 / 0.0071, ddim 0.151 / 0.079. AB and EAB
    // converge at order 2 (their first step is an order-1 start-up step), DDIM at order 1. The mean error has a floor
    // of 1.3e-3 from starting at N(0, 1 + 1e6) instead of N(mu, Sigma + 1e6) (docs/method.md 7.1).
    struct Case {
        const char* name;
        double tol16; ///< max |cov err| at 16 steps
        double ratio; ///< minimum error reduction from 16 to 32 steps
    };
    for (const Case& c : {Case{"ab", 0.05, 3.0}, Case{"eab", 0.035, 3.0}, Case{"ddim", 0.2, 1.7}}) {
        double err16 = 0.0;
        for (int64_t steps : {16, 32}) {
            auto sampler = make_sampler(c.name, denoiser, steps);
            auto [m, cov] = transported_moments(*sampler);
            const double em = (m - data_mean()).abs().max().item<double>();
            const double ec = (cov - data_cov()).abs().max().item<double>();
            std::cout << "[ exact    ] " << c.name << " " << steps << " steps: max |mean err| = " << em
                      << ", max |cov err| = " << ec << "\n";
            EXPECT_LT(em, 2e-3) << c.name << " " << steps;
            if (steps == 16) {
                err16 = ec;
                EXPECT_LT(ec, c.tol16) << c.name;
            } else {
                EXPECT_GT(err16 / ec, c.ratio) << c.name << ": convergence order too low";
            }
        }
    }
}

TEST_F(DiffusionTest, DdimEtaZeroIsDeterministic) {
    auto schedule = make_schedule();
    GaussianDataDenoiser denoiser(data_mean(), data_cov(), schedule);
    DDIMSampler ddim(denoiser, 16);
    torch::Tensor x0 = ddim.init({64, 4}, kF64);
    torch::Tensor a = ddim.sample(x0), b = ddim.sample(x0);
    EXPECT_TRUE(at::equal(a, b));
    DDIMSampler noisy(denoiser, 16, 1.0, 0.0, 0.5);
    EXPECT_FALSE(at::equal(noisy.sample(x0), noisy.sample(x0)));
    // stochastic samplers are reproducible with a generator
    DDPMSampler ddpm(denoiser, 8);
    auto gen = [](uint64_t seed) {
        return std::optional<at::Generator>(at::make_generator<at::CPUGeneratorImpl>(seed));
    };
    EXPECT_TRUE(at::equal(ddpm.sample(x0, {}, {}, gen(3)), ddpm.sample(x0, {}, {}, gen(3))));
    // azula's convention (docs/reference.md): eta = 1 is DDPM; the same draws give the same samples up to the rounding
    // of two algebraically equal float64 expressions. The noise variance is linear in eta: eta 0.25 is lola's old 0.5.
    DDIMSampler one(denoiser, 8, 1.0, 0.0, 1.0);
    const torch::Tensor ref = ddpm.sample(x0, {}, {}, gen(5));
    const double tol = 1e-12 * std::max(1.0, ref.abs().max().item<double>());
    EXPECT_LE((one.sample(x0, {}, {}, gen(5)) - ref).abs().max().item<double>(), tol);
}

TEST_F(DiffusionTest, MaskedSamplingKeepsKnownEntries) {
    auto schedule = make_schedule();
    GaussianDataDenoiser denoiser(data_mean(), data_cov(), schedule);
    const int64_t b = 2000, n = 4;
    torch::Tensor window = torch::zeros({b, n}, torch::kBool);
    window.index_put_({torch::indexing::Slice(), 0}, true);
    window.index_put_({torch::indexing::Slice(0, b / 2), 1}, true);
    torch::Tensor mask = nn::expand_window_mask(window, 4); // x (B, 1, n, 1)
    torch::Tensor y = torch::randn({b, 1, n, 1}, kF64);
    MaskedDenoiser masked(denoiser, y, mask);
    torch::Tensor known = mask.expand({b, 1, n, 1});
    for (const std::string& name : sampler_names()) {
        auto sampler = make_sampler(name, masked, name == "ddpm" || name == "pc" ? 64 : 16);
        torch::Tensor x0 = sampler->init({b, 1, n, 1}, kF64);
        torch::Tensor x = sampler->sample(x0);
        torch::Tensor r = (x - y).masked_select(known);
        const double sd = r.std().item<double>();
        std::cout << "[ masked   ] " << name << ": residual std on known entries " << sd << "\n";
        // paper 7.1: about 1e-3 N(0, 1) (sigma_min / sigma_max times the initial scale sqrt(1 + 1e6))
        EXPECT_GT(sd, 0.5e-3) << name;
        EXPECT_LT(sd, 2e-3) << name;
        EXPECT_LT(r.abs().max().item<double>(), 8e-3) << name;
        if (name == "ab" || name == "eab" || name == "ddim") {
            // the ODE of known entries, x - y proportional to sigma, is integrated exactly
            torch::Tensor r0 = (x0 - y).masked_select(known) * (1e-3 / 1e3);
            EXPECT_LT(test::rel_err(r, r0), 1e-8) << name;
        }
    }
}

TEST_F(DiffusionTest, SamplerRegistryAndErrors) {
    auto schedule = make_schedule();
    GaussianDataDenoiser denoiser(data_mean(), data_cov(), schedule);
    for (const std::string& name : sampler_names()) {
        EXPECT_NE(make_sampler(name, denoiser), nullptr);
    }
    EXPECT_EQ(make_sampler("ab", denoiser)->steps(), 16);
    try {
        make_sampler("euler", denoiser, 16);
        FAIL() << "no error";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("ddpm, ddim, ab, eab, pc"), std::string::npos) << e.what();
    }
    SamplerOptions o;
    o.eta = -0.5;
    EXPECT_THROW(make_sampler("ddim", denoiser, 16, o), UsageError);
    o = {};
    o.delta = 1.5;
    EXPECT_THROW(make_sampler("pc", denoiser, 16, o), UsageError);
    o.delta = 0.0;
    EXPECT_THROW(make_sampler("pc", denoiser, 16, o), UsageError);
    o = {};
    o.order = 0;
    EXPECT_THROW(make_sampler("ab", denoiser, 16, o), UsageError);
    EXPECT_THROW(make_sampler("ab", denoiser, 0), UsageError);
    // reduced precision runs in that dtype (times stay float32)
    auto ab = make_sampler("ab", denoiser, 16);
    torch::Tensor xb = ab->sample(ab->init({256, 4}, torch::kBFloat16));
    EXPECT_EQ(xb.scalar_type(), torch::kBFloat16);
    EXPECT_NEAR(xb.to(torch::kDouble).mean(0)[1].item<double>(), -2.0, 0.3);
    const std::vector<double> t = make_sampler("ab", denoiser, 4)->times();
    EXPECT_EQ(t, (std::vector<double>{1.0, 0.75, 0.5, 0.25, 0.0}));
}

} // namespace
