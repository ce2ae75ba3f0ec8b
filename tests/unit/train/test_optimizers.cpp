// PSGD-Kron and SOAP (docs/method.md 9.2, 9.3): convergence on an ill-conditioned quadratic, SOAP's eigenbasis,
// bit-exact state round trips (directly and through the trainer's checkpoints), skipped non-finite steps, the pieces
// of PSGD (update draw, probability, factor choice, trust region, identity cache at step 1) and the registry.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <utility>

#include "lola/train/adamw.h"
#include "lola/train/psgd.h"
#include "lola/train/soap.h"
#include "lola/train/trainer.h"
#include "support/quadratic_problem.h"
#include "support/test_support.h"
#include "support/torch_support.h"

namespace fs = std::filesystem;
using namespace lola;
using namespace lola::train;

namespace {

using test::Factory;
using test::make_adam;
using test::make_psgd;
using test::make_soap;
using test::Quadratic;
using test::random_orthogonal;

} // namespace

// Each optimizer, at the best learning rate of a small grid, lowers an ill-conditioned quadratic 1e4-fold within a
// generous step budget: a property of any convergent optimizer on any machine. Which optimizer needs fewer steps is a
// measurement, not a test: bench/bench_optimizers.cpp (QuadraticStepsToTarget) reports the step counts, and
// docs/optimizers.md records them with the machine (on the AMD EPYC of 2026-10: adam 104, soap 72, psgd 469; on an
// Intel Xeon with AVX-512/AMX of 2026-12: soap 83 at lr 0.1, psgd 507).
TEST(Optimizers, QuadraticConvergesWithinTheBudget) {
    const Quadratic q;
    const double tol = 1e-4;
    const int64_t max_steps = 1500;
    const std::vector<double> lrs{1e-2, 3e-2, 1e-1, 3e-1};
    for (const auto& [name, make] :
         std::vector<std::pair<std::string, Factory>>{{"adam", make_adam}, {"psgd", make_psgd}, {"soap", make_soap}}) {
        double lr = 0;
        std::printf("%s\n", name.c_str());
        const int64_t steps = q.best_steps(make, lrs, tol, max_steps, &lr);
        EXPECT_LE(steps, max_steps) << name << " never reached " << tol << " x the initial loss";
    }
}

TEST(Psgd, PreconditionerWhitensTheMomentum) {
    // momentum-free (beta 0) steps on gradients ~ N(0, S_L (x) S_R), condition number 1e2 x 1e1: the fitted
    // P = P_0 (x) P_1 should satisfy P S P ~ I (eigenvalues within a factor ~2 of 1, against 1e-3 ... 1 for S)
    torch::manual_seed(0);
    const int64_t n = 6;
    auto spd_root = [&](double span) {
        const torch::Tensor u = random_orthogonal(n);
        return u.mm(torch::diag(torch::logspace(0.0, -span / 2, n))).mm(u.t()); // S^(1/2)
    };
    const torch::Tensor rl = spd_root(2.0), rr = spd_root(1.0);
    torch::Tensor w = torch::zeros({n, n}, torch::requires_grad());
    Psgd opt({w}, PsgdOptions(0.0).beta(0.0));
    for (int64_t k = 0; k < 3000; ++k) {
        w.mutable_grad() = rl.mm(torch::randn({n, n})).mm(rr);
        opt.step();
    }
    auto& st = static_cast<PsgdParamState&>(*opt.state().at(w.unsafeGetTensorImpl()));
    const torch::Tensor p = torch::kron(st.cache[0], st.cache[1]).to(torch::kFloat64);
    const torch::Tensor s = torch::kron(rl.mm(rl), rr.mm(rr)).to(torch::kFloat64);
    const torch::Tensor ev = torch::linalg_eigvalsh(p.mm(s).mm(p));
    std::printf("eigenvalues of P S P in [%.3f, %.3f]\n", ev.min().item<double>(), ev.max().item<double>());
    EXPECT_GT(ev.min().item<double>(), 0.3);
    EXPECT_LT(ev.max().item<double>(), 3.0);
}

TEST(Soap, BasisColumnsAreEigenvectorsOfTheFactorsAfterARefresh) {
    torch::manual_seed(1);
    const int64_t n = 6;
    torch::Tensor w = torch::zeros({n, n}, torch::requires_grad());
    Soap opt({w}, SoapOptions(1e-3).precond_freq(4));
    // a first random gradient, then a fixed one with well separated singular values
    const torch::Tensor g0 = torch::randn({n, n});
    const torch::Tensor g =
        random_orthogonal(n).mm(torch::diag(torch::logspace(1.0, -1.0, n))).mm(random_orthogonal(n));
    w.mutable_grad() = g0.clone();
    opt.step();
    auto& st = static_cast<SoapParamState&>(*opt.state().at(w.unsafeGetTensorImpl()));
    ASSERT_EQ(st.bases.size(), 2u);
    // right after the initialisation: the exact eigenvectors, in descending order of eigenvalue
    for (size_t i = 0; i < 2; ++i) {
        const torch::Tensor e = (st.bases[i] * st.factors[i].mm(st.bases[i])).sum(0);
        EXPECT_TRUE((e.slice(0, 0, n - 1) >= e.slice(0, 1, n)).all().item<bool>()) << e;
    }
    torch::Tensor before;
    for (int64_t s = 1; s <= 64; ++s) {
        w.mutable_grad() = g.clone();
        if (s == 64) {
            before = st.bases[0].clone();
        }
        opt.step();
    }
    ASSERT_EQ(st.step(), 64); // the 64th Adam step refreshed the basis (64 mod 4 = 0)
    for (size_t i = 0; i < 2; ++i) {
        const torch::Tensor q = st.bases[i];
        EXPECT_LT((q.t().mm(q) - torch::eye(n)).abs().max().item<double>(), 1e-5); // orthonormal
        const torch::Tensor ev = std::get<1>(torch::linalg_eigh(st.factors[i].to(torch::kFloat64))).to(torch::kFloat32);
        // |cos| between each column and its best-matching eigenvector; distinct matches
        const torch::Tensor cos = q.t().mm(ev).abs();
        const auto [best, which] = cos.max(1);
        EXPECT_GT(best.min().item<double>(), 1.0 - 1e-4) << cos;
        EXPECT_EQ(std::get<0>(torch::_unique(which)).numel(), n);
    }
    // the refresh keeps the column positions (column j stays near column j)
    EXPECT_GT((before * st.bases[0]).sum(0).abs().min().item<double>(), 0.99);
}

namespace {

/// Parameters of several shapes (matrix, conv kernel, bias, scalar) and a smooth non-quadratic loss of them.
struct Params {
    std::vector<torch::Tensor> p;
    explicit Params(uint64_t seed) {
        torch::manual_seed(seed);
        for (const auto& shape : std::vector<std::vector<int64_t>>{{6, 5}, {4, 3, 3, 3}, {5}, {}}) {
            p.push_back(torch::randn(shape).requires_grad_(true));
        }
    }
    void backward(int64_t step) const {
        torch::Tensor l = torch::zeros({});
        for (size_t i = 0; i < p.size(); ++i) {
            const double phase = 0.1 * static_cast<double>(step) + static_cast<double>(i);
            l = l + (p[i] - std::sin(phase)).pow(2).sum() + 0.1 * torch::cos(p[i] * 3.0).sum();
        }
        l = l + (p[0].sum() * p[1].sum()) * 0.01;
        l.backward();
    }
};

torch::Tensor cpu_rng_state() {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    return gen.get_state();
}
void set_cpu_rng_state(const torch::Tensor& s) {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    gen.set_state(s);
}

struct OptimCase {
    const char* name;
    Factory make;
};

class RoundTrip : public ::testing::TestWithParam<OptimCase> {};

} // namespace

TEST_P(RoundTrip, SaveLoadContinuesBitIdentically) {
    const auto& make = GetParam().make;
    const int64_t n1 = 20, n2 = 15; // across SOAP's refresh at step 16 and PSGD's first rebalance draws
    Params full(3);
    torch::manual_seed(11);
    auto opt = make(full.p, 1e-2);
    for (int64_t s = 0; s < n1 + n2; ++s) {
        full.backward(s);
        opt->step();
        opt->zero_grad();
    }

    Params split(3);
    torch::manual_seed(11);
    std::stringstream buffer;
    torch::Tensor rng;
    {
        auto first = make(split.p, 1e-2);
        for (int64_t s = 0; s < n1; ++s) {
            split.backward(s);
            first->step();
            first->zero_grad();
        }
        torch::serialize::OutputArchive archive;
        first->save(archive);
        archive.save_to(buffer);
        rng = cpu_rng_state();
    }
    torch::randn({100}); // another process: other RNG state, fresh optimizer
    auto second = make(split.p, 0.5);
    torch::serialize::InputArchive archive;
    archive.load_from(buffer);
    second->load(archive);
    set_cpu_rng_state(rng);
    EXPECT_EQ(second->param_groups()[0].options().get_lr(), 1e-2); // the options come back too
    for (int64_t s = n1; s < n1 + n2; ++s) {
        split.backward(s);
        second->step();
        second->zero_grad();
    }
    for (size_t i = 0; i < full.p.size(); ++i) {
        EXPECT_TRUE(torch::equal(full.p[i], split.p[i])) << "parameter " << i;
    }
}

TEST_P(RoundTrip, NonFiniteGradientsAreSkippedWithoutTouchingTheState) {
    const auto& make = GetParam().make;
    auto snapshot = [](const torch::optim::Optimizer& o) {
        torch::serialize::OutputArchive archive;
        o.save(archive);
        std::ostringstream out;
        archive.save_to(out);
        return out.str();
    };
    // the same 20 steps, with (b) and without (a) a NaN gradient before step 10 that safe_step must skip
    auto run = [&](bool with_nan) {
        Params x(5);
        torch::manual_seed(2);
        auto o = make(x.p, 1e-2);
        for (int64_t s = 0; s < 20; ++s) {
            if (with_nan && s == 10) {
                const std::string before = snapshot(*o);
                x.backward(s);
                x.p[1].mutable_grad().view(-1)[3] = std::nanf("");
                EXPECT_TRUE(safe_step(*o, 1.0).skipped);
                EXPECT_EQ(snapshot(*o), before); // state untouched
                if (auto* psgd = dynamic_cast<Psgd*>(o.get())) {
                    EXPECT_EQ(psgd->steps(), 10);
                }
            }
            x.backward(s);
            EXPECT_FALSE(safe_step(*o, 1.0).skipped);
        }
        return x;
    };
    const Params a = run(false), b = run(true);
    for (size_t i = 0; i < a.p.size(); ++i) {
        EXPECT_TRUE(torch::equal(a.p[i], b.p[i])) << "parameter " << i;
        EXPECT_TRUE(torch::isfinite(b.p[i]).all().item<bool>());
    }
}

INSTANTIATE_TEST_SUITE_P(Optimizers, RoundTrip,
                         ::testing::Values(OptimCase{"psgd", make_psgd}, OptimCase{"soap", make_soap}),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

namespace {

// A linear regression task for the trainer, with a seeded data stream that has a position.
struct LinearTask : Task {
    torch::nn::Linear net{torch::nn::LinearOptions(6, 3)};
    int64_t position = 0;
    torch::nn::Module& module() override { return *net; }
    torch::Tensor loss_at(int64_t index) {
        torch::Generator g = torch::make_generator<torch::CPUGeneratorImpl>(500 + index);
        torch::Tensor x = torch::randn({8, 6}, g);
        torch::Tensor y = x.slice(1, 0, 3) * 2.0 - x.slice(1, 3, 6);
        return (net->forward(x) - y).pow(2).mean();
    }
    torch::Tensor train_loss() override { return loss_at(position++); }
    int64_t last_batch_size() const override { return 8; }
    torch::Tensor valid_loss(int64_t index) override { return loss_at(-1 - index); }
    std::vector<int64_t> data_position() const override { return {position}; }
    void seek(const std::vector<int64_t>& p) override { position = p.at(0); }
};

} // namespace

TEST(Optimizers, TrainerResumeIsBitExactWithPsgdAndSoap) {
    for (const char* name : {"psgd", "soap"}) {
        test::TempDir tmp;
        fs::create_directories(tmp / "full");
        fs::create_directories(tmp / "split");
        OptimOptions o;
        o.optimizer = name;
        o.learning_rate = 1e-2;
        TrainerOptions t;
        t.epochs = 4;
        t.steps_per_epoch = 6;
        t.valid_batches = 1;
        t.progress = false;
        torch::manual_seed(0);
        LinearTask full;
        Trainer(tmp / "full", full, o, t).run(false);
        torch::manual_seed(0);
        LinearTask first;
        TrainerOptions stop = t;
        stop.stop_after = 2;
        Trainer(tmp / "split", first, o, stop).run(false);
        torch::manual_seed(99);
        LinearTask second;
        Trainer(tmp / "split", second, o, t).run(true);
        EXPECT_EQ(weights_hash(*full.net), weights_hash(*second.net)) << name;
    }
}

TEST(Optimizers, RegistryBuildsPsgdAndSoapFromTheOptimGroup) {
    torch::Tensor p = torch::zeros({3, 3}, torch::requires_grad());
    OptimOptions o;
    o.optimizer = "psgd";
    o.learning_rate = 1e-5;
    auto psgd = make_optimizer({p}, o);
    auto* ps = dynamic_cast<Psgd*>(psgd.get());
    ASSERT_NE(ps, nullptr);
    const auto& po = static_cast<const PsgdOptions&>(ps->defaults());
    EXPECT_DOUBLE_EQ(po.min_prob(), 1.0 / 64); // precond_freq 0: PSGD's default
    EXPECT_DOUBLE_EQ(po.beta(), 0.9);
    EXPECT_DOUBLE_EQ(po.precond_lr(), 0.1);
    EXPECT_EQ(po.max_size(), 4096);
    o.optimizer = "soap";
    o.precond_freq = 0;
    auto soap = make_optimizer({p}, o);
    auto* so = dynamic_cast<Soap*>(soap.get());
    ASSERT_NE(so, nullptr);
    const auto& sopt = static_cast<const SoapOptions&>(so->defaults());
    EXPECT_EQ(sopt.precond_freq(), 16);
    EXPECT_DOUBLE_EQ(sopt.beta2(), 0.99);
    EXPECT_DOUBLE_EQ(sopt.shampoo_beta(), 0.99);
    o.precond_freq = 8;
    EXPECT_EQ(static_cast<const SoapOptions&>(make_optimizer({p}, o)->defaults()).precond_freq(), 8);
}

TEST(Psgd, UpdateDrawIsPythonsRandom) {
    // Reference values: python3 -c "import random; print(repr(random.Random(seed).random()))"
    EXPECT_EQ(python_random(0), 0.8444218515250481);
    EXPECT_EQ(python_random(1), 0.13436424411240122);
    EXPECT_EQ(python_random(4294967301ULL), 0.15727238718789782); // two 32-bit key words
    EXPECT_EQ(python_random(1099511640121ULL), 0.31036222241287226);
    EXPECT_EQ(psgd_update_draw(1), 0.9507081095060421); // seed 0x172381 ^ 1
    EXPECT_EQ(psgd_update_draw(2), 0.3973804045932374); // seed 0x172381 ^ 2
    EXPECT_EQ(psgd_update_draw(1000), 0.6753420580675747);
    EXPECT_DOUBLE_EQ(psgd_update_probability(1, 1.0 / 64, 0.999), 0.999);
    EXPECT_DOUBLE_EQ(psgd_update_probability(100000, 1.0 / 64, 0.999), 1.0 / 64);
    EXPECT_NEAR(psgd_update_probability(2000, 1.0 / 64, 0.999), std::pow(0.999, 2000), 1e-15);
}

TEST(Psgd, TrustRegionClipMatchesItsFormula) {
    const std::vector<double> xs{-1000.0, -5.0, -1.5, -0.2, -1e-4, 0.0, 1e-4, 0.2, 1.5, 5.0, 100.0};
    const torch::Tensor got = trust_region_clip(torch::tensor(xs, torch::kFloat64));
    for (size_t i = 0; i < xs.size(); ++i) {
        const double x = xs[i] / 1.5;
        const double sign = x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
        const double want = std::clamp(1.5 * (0.9 * std::tanh(x) + 0.1 * sign * std::log1p(std::abs(x))), -2.0, 2.0);
        EXPECT_NEAR(got[static_cast<int64_t>(i)].item<double>(), want, 1e-15) << xs[i];
    }
    EXPECT_EQ(got[0].item<double>(), -2.0);                // saturates
    EXPECT_NEAR(got[4].item<double>() / -1e-4, 1.0, 1e-4); // slope 0.9 + 0.1 = 1 at 0
}

TEST(Psgd, FactorChoicePerDimensionAndIdentityCacheAtStepOne) {
    EXPECT_TRUE(psgd_triangular(4096, 2, 4096));
    EXPECT_FALSE(psgd_triangular(4097, 2, 4096));
    EXPECT_FALSE(psgd_triangular(1, 4, 4096));
    EXPECT_FALSE(psgd_triangular(7, 1, 4096)); // 1-D: diagonal
    torch::manual_seed(0);
    std::vector<torch::Tensor> p{torch::randn({4, 3, 3, 3}), torch::randn({5000, 2}), torch::randn({7}),
                                 torch::randn({1, 5})};
    for (auto& t : p) {
        t.requires_grad_(true);
    }
    std::vector<torch::Tensor> before;
    for (auto& t : p) {
        before.push_back(t.detach().clone());
        t.mutable_grad() = torch::randn_like(t);
    }
    const double lr = 1e-3;
    Psgd opt(p, PsgdOptions(lr).trust_region(false));
    opt.step();
    const std::vector<std::vector<int64_t>> want_dims{{2, 2, 2, 2}, {1, 2}, {1}, {1, 2}};
    for (size_t i = 0; i < p.size(); ++i) {
        auto& st = static_cast<PsgdParamState&>(*opt.state().at(p[i].unsafeGetTensorImpl()));
        ASSERT_EQ(st.factors.size(), want_dims[i].size());
        for (size_t d = 0; d < st.factors.size(); ++d) {
            EXPECT_EQ(st.factors[d].dim(), want_dims[i][d]) << "tensor " << i << " dim " << d;
            EXPECT_EQ(st.factors[d].size(0), p[i].size(static_cast<int64_t>(d)));
            EXPECT_EQ(st.cache[d].sizes(), st.factors[d].sizes());
        }
        // step 1 is preconditioned by the identity cache (momentum = gradient): p1 = p0 - lr g exactly
        EXPECT_TRUE(torch::allclose(p[i].detach(), before[i] - lr * p[i].grad(), 1e-6, 1e-6)) << "tensor " << i;
    }
    // the draw of step 1 (0.951 < 0.999) fitted the factors: the cache now holds Q^T Q != I
    auto& st = static_cast<PsgdParamState&>(*opt.state().at(p[0].unsafeGetTensorImpl()));
    EXPECT_TRUE(torch::allclose(st.cache[0], st.factors[0].t().mm(st.factors[0])));
    EXPECT_FALSE(torch::allclose(st.cache[0], torch::eye(4)));
    EXPECT_TRUE(torch::equal(st.factors[0], torch::triu(st.factors[0]))); // upper-triangular
}

TEST(Soap, FactorChoiceAndFirstStepOnlyInitialises) {
    EXPECT_TRUE(soap_preconditioned(4096, 2, 4096));
    EXPECT_FALSE(soap_preconditioned(4097, 2, 4096));
    EXPECT_FALSE(soap_preconditioned(1, 2, 4096));
    EXPECT_FALSE(soap_preconditioned(5, 1, 4096));
    torch::manual_seed(0);
    torch::Tensor w = torch::randn({1, 6}).requires_grad_(true), b = torch::randn({6}).requires_grad_(true);
    const torch::Tensor w0 = w.detach().clone();
    w.mutable_grad() = torch::randn_like(w);
    b.mutable_grad() = torch::randn_like(b);
    Soap opt({w, b}, SoapOptions(1e-2));
    opt.step();
    EXPECT_TRUE(torch::equal(w.detach(), w0)); // no update on the first step
    auto& st = static_cast<SoapParamState&>(*opt.state().at(w.unsafeGetTensorImpl()));
    EXPECT_EQ(st.bases[0].numel(), 0); // size 1: not rotated
    EXPECT_EQ(st.bases[1].sizes(), (std::vector<int64_t>{6, 6}));
    EXPECT_EQ(static_cast<SoapParamState&>(*opt.state().at(b.unsafeGetTensorImpl())).bases[0].numel(), 0);
    opt.step(); // the second step is Adam in the eigenbasis: |first update| = lr per coordinate of the rotated grad
    EXPECT_FALSE(torch::equal(w.detach(), w0));
}

namespace {

/// Two parameters (a matrix and a bias) with fixed gradients per step, the same for every optimizer.
struct AdamWRun {
    std::vector<torch::Tensor> params;
    explicit AdamWRun(torch::ScalarType dtype) {
        torch::manual_seed(3);
        params = {torch::randn({16, 8}, dtype).requires_grad_(true), torch::randn({8}, dtype).requires_grad_(true)};
    }
    void step(torch::optim::Optimizer& opt, int64_t k) {
        for (size_t i = 0; i < params.size(); ++i) {
            const torch::Tensor g =
                torch::sin(params[i].detach() * static_cast<double>(k + 1) + static_cast<double>(i));
            params[i].mutable_grad() = g.clone();
        }
        opt.step();
    }
};

torch::optim::AdamWOptions adamw_options() {
    return torch::optim::AdamWOptions(1e-2).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1);
}

} // namespace

// optim.optimizer=adamw runs FusedAdamW: the same update as LibTorch's AdamW (within the round-off of another order
// of the same operations), with a learning rate that changes between steps, and the same state: either optimizer
// resumes from the other's checkpoint.
TEST(FusedAdamW, StepsAsLibTorchsAdamWAndSharesItsState) {
    for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
        AdamWRun a(dtype), b(dtype);
        FusedAdamW fused(a.params, adamw_options());
        torch::optim::AdamW plain(b.params, adamw_options());
        for (int64_t k = 0; k < 6; ++k) {
            if (k == 3) {
                set_learning_rate(fused, 5e-3);
                set_learning_rate(plain, 5e-3);
            }
            a.step(fused, k);
            b.step(plain, k);
        }
        const double tol = dtype == torch::kFloat64 ? 1e-13 : 1e-5;
        for (size_t i = 0; i < a.params.size(); ++i) {
            EXPECT_TRUE(torch::allclose(a.params[i], b.params[i], tol, tol)) << "param " << i << " " << dtype;
            // and the parameters moved
            EXPECT_FALSE(torch::allclose(a.params[i], AdamWRun(dtype).params[i], 1e-3, 1e-3));
        }
        // the fused optimizer's state continues in LibTorch's AdamW exactly as in itself
        std::stringstream buffer;
        {
            torch::serialize::OutputArchive archive;
            fused.save(archive);
            archive.save_to(buffer);
        }
        AdamWRun c(dtype);
        for (size_t i = 0; i < c.params.size(); ++i) {
            c.params[i].detach().copy_(a.params[i].detach());
        }
        torch::optim::AdamW resumed(c.params, adamw_options().lr(5e-3));
        torch::serialize::InputArchive archive;
        archive.load_from(buffer);
        resumed.load(archive);
        a.step(fused, 6);
        c.step(resumed, 6);
        for (size_t i = 0; i < a.params.size(); ++i) {
            EXPECT_TRUE(torch::allclose(a.params[i], c.params[i], tol, tol)) << "resumed param " << i;
        }
    }
    // the registry's adamw is the fused one
    torch::Tensor w = torch::zeros({2}, torch::kFloat64).requires_grad_(true);
    OptimOptions o;
    o.optimizer = "adamw";
    EXPECT_NE(dynamic_cast<FusedAdamW*>(make_optimizer({w}, o).get()), nullptr);
}
