// Tests of the evaluation metrics (docs/method.md 10), spectra and the stats table (docs/method.md 1, 8): closed forms.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/metrics/metrics.h"
#include "lola/metrics/spectrum.h"
#include "lola/metrics/stats.h"
#include "support/torch_support.h"

namespace {

using namespace lola;
using namespace lola::metrics;

using MetricsTest = test::SeededTest;

torch::TensorOptions f64() { return torch::TensorOptions().dtype(torch::kFloat64); }

double max_abs(const torch::Tensor& x) { return x.abs().max().item<double>(); }

// ==== point metrics ==================================================================================================

TEST_F(MetricsTest, ConstantOffsetGivesRmseAndVrmse) {
    const double d = -0.37;
    torch::Tensor u = torch::randn({2, 3, 12, 10}, f64()) * 2.0 + 1.0;
    torch::Tensor v = u + d; // a point prediction shaped like u
    torch::Tensor r = rmse(u, v);
    ASSERT_EQ(r.sizes(), (std::vector<int64_t>{2, 3}));
    EXPECT_LT(max_abs(r - std::abs(d)), 1e-12);
    // The unbiased spatial variance, computed here by hand.
    torch::Tensor flat = u.reshape({2, 3, -1});
    const double n = static_cast<double>(flat.size(2));
    torch::Tensor var = (flat - flat.mean(-1, true)).square().sum(-1) / (n - 1.0);
    EXPECT_LT(max_abs(vrmse(u, v) - std::abs(d) / at::sqrt(var + 1e-6)), 1e-12);
    // The same as an explicit K = 3 ensemble of identical members, and in float32 input.
    torch::Tensor ens = v.unsqueeze(0).expand({3, 2, 3, 12, 10});
    EXPECT_LT(max_abs(vrmse(u, ens) - vrmse(u, v)), 1e-12);
    EXPECT_LT(max_abs(vrmse(u.to(torch::kFloat32), v.to(torch::kFloat32)) - vrmse(u, v)), 1e-5);
    EXPECT_EQ(vrmse(u.to(torch::kFloat32), v.to(torch::kFloat32)).scalar_type(), torch::kFloat64);
    // nrmse = |d| / sqrt(<u^2> + 1e-6)
    EXPECT_LT(max_abs(nrmse(u, v) - std::abs(d) / at::sqrt(flat.square().mean(-1) + 1e-6)), 1e-12);
    // relative total error = 1 - sum(u + d) / sum u = -d n / sum u
    EXPECT_LT(max_abs(relative_total_error(u, v) - (-d * n / flat.sum(-1))), 1e-10);
}

TEST_F(MetricsTest, VrmseIsScaleInvariantAndRmseIsNot) {
    torch::Tensor u = torch::randn({3, 2, 16, 16}, f64());
    torch::Tensor v = u + 0.3 * torch::randn({4, 3, 2, 16, 16}, f64());
    torch::Tensor a = vrmse(u, v), b = vrmse(7.5 * u, 7.5 * v);
    EXPECT_LT(max_abs(a - b) / max_abs(a), 1e-5);
    EXPECT_LT(max_abs(rmse(7.5 * u, 7.5 * v) - 7.5 * rmse(u, v)), 1e-12);
    // Near eps the invariance breaks: a field of variance ~1e-8 is dominated by the 1e-6.
    torch::Tensor c = vrmse(1e-4 * u, 1e-4 * v);
    EXPECT_LT(c.max().item<double>(), 0.5 * a.min().item<double>());
}

TEST_F(MetricsTest, BadShapesAreClearErrors) {
    torch::Tensor u = torch::randn({2, 3, 8, 8});
    EXPECT_THROW(vrmse(u, torch::randn({4, 2, 3, 8, 7})), Error);
    EXPECT_THROW(vrmse(u, torch::randn({2, 3, 8})), Error);
    EXPECT_THROW(vrmse(u, torch::randn({2, 3, 8, 8}), 5), Error);
    try {
        rmse(u, torch::randn({4, 2, 3, 8, 7}));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("(K, 2, 3, 8, 8)"), std::string::npos) << e.what();
    }
}

// ==== spread, skill, CRPS ============================================================================================

TEST_F(MetricsTest, IdenticalMembersHaveZeroSpread) {
    torch::Tensor u = torch::randn({2, 3, 8, 8}, f64());
    torch::Tensor w = u + 0.5 * torch::randn({2, 3, 8, 8}, f64());
    torch::Tensor v = w.unsqueeze(0).repeat({5, 1, 1, 1, 1});
    EXPECT_LT(max_abs(spread(v)), 1e-12);
    torch::Tensor sk = skill(u, v);
    EXPECT_LT(max_abs(sk - rmse(u, w)), 1e-12);
    EXPECT_LT(max_abs(spread_skill_ratio(u, v) - 1e-3 / (sk + 1e-3)), 1e-12);
    // K = 1: spread is 0 by definition.
    EXPECT_LT(max_abs(spread(w.unsqueeze(0))), 1e-12);
}

TEST_F(MetricsTest, SpreadHasTheFortinCorrection) {
    // Two members w +- a: the member variance about the mean is a^2, so spread = sqrt((2 + 1) / (2 - 1) a^2).
    const double a = 0.25;
    torch::Tensor w = torch::randn({1, 2, 6, 6}, f64());
    torch::Tensor v = at::stack({w + a, w - a});
    EXPECT_LT(max_abs(spread(v) - std::sqrt(3.0) * a), 1e-12);
    // Five members with deviations -2a..2a: mean square 2 a^2, factor 6/4.
    torch::Tensor v5 = at::stack({w - 2 * a, w - a, w, w + a, w + 2 * a});
    EXPECT_LT(max_abs(spread(v5) - std::sqrt(1.5 * 2.0 * a * a)), 1e-12);
}

TEST_F(MetricsTest, CrpsOfAPointEnsembleIsTheMeanAbsoluteError) {
    torch::Tensor u = torch::randn({2, 4, 10, 6}, f64());
    torch::Tensor w = torch::randn({2, 4, 10, 6}, f64());
    torch::Tensor mae = (w - u).abs().reshape({2, 4, -1}).mean(-1);
    EXPECT_LT(max_abs(crps(u, w) - mae), 1e-12);
    EXPECT_LT(max_abs(crps(u, w.unsqueeze(0).repeat({6, 1, 1, 1, 1})) - mae), 1e-12);
}

TEST_F(MetricsTest, CrpsOfTwoMembersHasItsClosedForm) {
    // Constants: u = 0, members 1 and 3: (1 + 3) / 2 - |1 - 3| / 2 = 1; u = 2 between them: (1 + 1) / 2 - 1 = 0.
    torch::Tensor zero = torch::zeros({1, 1, 4, 4}, f64());
    torch::Tensor v = at::stack({zero + 1.0, zero + 3.0});
    EXPECT_NEAR(crps(zero, v).item<double>(), 1.0, 1e-12);
    EXPECT_NEAR(crps(zero + 2.0, v).item<double>(), 0.0, 1e-12);
    // Random fields: the pointwise (|a - u| + |b - u|) / 2 - |a - b| / 2, averaged over space.
    torch::Tensor u = torch::randn({3, 2, 8, 8}, f64());
    torch::Tensor a = torch::randn({3, 2, 8, 8}, f64()), b = torch::randn({3, 2, 8, 8}, f64());
    torch::Tensor expect = ((a - u).abs() + (b - u).abs() - (a - b).abs()) / 2.0;
    EXPECT_LT(max_abs(crps(u, at::stack({a, b})) - expect.reshape({3, 2, -1}).mean(-1)), 1e-12);
}

TEST_F(MetricsTest, CrpsMatchesTheDoubleSumForFiveMembers) {
    const int64_t k = 5;
    torch::Tensor u = torch::randn({2, 3, 5, 7}, f64());
    torch::Tensor v = torch::randn({k, 2, 3, 5, 7}, f64());
    torch::Tensor first = (v - u).abs().mean(0);
    torch::Tensor pairs = torch::zeros_like(u);
    for (int64_t i = 0; i < k; ++i) {
        for (int64_t j = 0; j < k; ++j) {
            pairs += (v[i] - v[j]).abs();
        }
    }
    torch::Tensor expect = (first - pairs / (2.0 * k * (k - 1))).reshape({2, 3, -1}).mean(-1);
    EXPECT_LT(max_abs(crps(u, v) - expect), 1e-12);
}

// ==== spectra ========================================================================================================

TEST_F(MetricsTest, SinusoidPutsItsPowerInOneBin) {
    const int64_t n = 32;
    for (int64_t m : {1, 3, 5, 11}) {
        torch::Tensor i = torch::arange(n, f64());
        // cos along the first axis, constant along the second: |k| = m / n.
        torch::Tensor x = at::cos(2.0 * M_PI * m * i / n).view({n, 1}).expand({n, n}).contiguous();
        SpectrumBinning binning = spectrum_binning({n, n});
        PowerSpectrum s = isotropic_spectrum(x.unsqueeze(0), 2);
        ASSERT_EQ(s.p.sizes(), (std::vector<int64_t>{1, binning.bins}));
        torch::Tensor total = s.p[0] * binning.counts.slice(0, 1); // power per bin
        const int64_t b = total.argmax().item<int64_t>();          // kept bin b is edges[b] < |k| <= edges[b + 1]
        const double k = static_cast<double>(m) / n;
        EXPECT_LT(binning.edges[b].item<double>(), k);
        EXPECT_GE(binning.edges[b + 1].item<double>(), k);
        const double all = total.sum().item<double>();
        EXPECT_NEAR(all, x.square().sum().item<double>(), 1e-9); // zero mean: everything but DC
        EXPECT_LT(all - total[b].item<double>(), 1e-12 * all) << "m = " << m;
    }
}

TEST_F(MetricsTest, SpectrumSatisfiesParseval) {
    for (std::vector<int64_t> shape : {std::vector<int64_t>{24, 16}, std::vector<int64_t>{8, 10, 6}}) {
        std::vector<int64_t> full{3};
        full.insert(full.end(), shape.begin(), shape.end());
        torch::Tensor x = torch::randn(full, f64()) + 0.7;
        const auto n = static_cast<int64_t>(shape.size());
        SpectrumBinning binning = spectrum_binning(shape);
        PowerSpectrum s = isotropic_spectrum(x, n);
        ASSERT_EQ(s.k.size(0), binning.bins);
        // sum over kept bins of mean power * count = sum x^2 minus the DC power (sum x)^2 / P.
        torch::Tensor flat = x.reshape({3, -1});
        const double p = static_cast<double>(flat.size(1));
        torch::Tensor expect = flat.square().sum(-1) - flat.sum(-1).square() / p;
        torch::Tensor got = (s.p * binning.counts.slice(0, 1)).sum(-1);
        EXPECT_LT(max_abs(got - expect) / max_abs(expect), 1e-12);
        EXPECT_DOUBLE_EQ(binning.counts.sum().item<double>(), p);
    }
}

TEST_F(MetricsTest, BinningOfThePaperGrids) {
    auto expect_edges = [](const SpectrumBinning& b, std::array<double, 4> e, double tol) {
        for (int j = 0; j < 4; ++j) {
            EXPECT_NEAR(b.band_edge[j], e[j], tol * e[j]) << "edge " << j; // the paper prints 3 digits
        }
    };
    {
        SpectrumBinning b = spectrum_binning({512, 512});
        EXPECT_EQ(b.bins, 362);
        EXPECT_NEAR(b.k[0].item<double>(), 0.001953, 5e-7);
        EXPECT_NEAR(b.k[0].item<double>(), std::sqrt(2.0) / 2.0 / 362.0, 1e-15);
        expect_edges(b, {0.00195, 0.0124, 0.0787, 0.5}, 3e-3);
        auto n = b.band_bins();
        EXPECT_EQ(n[0], 6);
        EXPECT_EQ(n[1], 34);
        EXPECT_EQ(n[2], 215);
        EXPECT_EQ(n[0] + n[1] + n[2] + n[3], b.bins); // the bands tile the kept bins here
    }
    {
        SpectrumBinning b = spectrum_binning({512, 128});
        EXPECT_EQ(b.bins, 90);
        expect_edges(b, {0.00786, 0.0314, 0.125, 0.5}, 3e-3);
        auto n = b.band_bins();
        EXPECT_EQ(n[0], 3);
        EXPECT_EQ(n[1], 12);
        EXPECT_EQ(n[2], 48);
    }
    {
        SpectrumBinning b = spectrum_binning({64, 64, 64});
        EXPECT_EQ(b.bins, 55);
        EXPECT_NEAR(b.k[0].item<double>(), 0.01575, 5e-6);
        expect_edges(b, {0.0157, 0.0499, 0.158, 0.5}, 3e-3);
        auto n = b.band_bins();
        EXPECT_EQ(n[0], 3);
        EXPECT_EQ(n[1], 7);
        EXPECT_EQ(n[2], 21);
    }
}

TEST_F(MetricsTest, BandErrorsHaveTheirClosedForms) {
    torch::Tensor u = torch::randn({2, 3, 32, 32}, f64()) * 3.0;
    // Perfect prediction: 0 in every band (the cross term up to its eps: 1 - (P + 1e-6) / sqrt(P^2 + 1e-12)).
    EXPECT_LT(max_abs(psrmse(u, u)), 1e-9);
    EXPECT_LT(max_abs(ccrmse(u, u)), 1e-5);
    // v = 2u: power x4, so e = (1 - 4)^2 = 9 and the band RMSE 3 (up to the 1e-6); cross-correlation stays 0.
    torch::Tensor ps = psrmse(u, 2.0 * u);
    ASSERT_EQ(ps.sizes(), (std::vector<int64_t>{2, 3, 4}));
    EXPECT_LT(max_abs(ps - 3.0), 1e-4);
    EXPECT_LT(max_abs(ccrmse(u, 2.0 * u)), 1e-5);
    // Members u and -u: the member-mean spectrum is P_u (error 0) although the ensemble mean is 0.
    torch::Tensor pm = at::stack({u, -u});
    EXPECT_LT(max_abs(psrmse(u, pm)), 1e-9);
    EXPECT_LT(max_abs(ccrmse(u, pm)), 1e-5);
    // An independent error changes the magnitudes within each bin: C_uv < sqrt(P_u <P_v>) (Cauchy-Schwarz).
    EXPECT_GT(ccrmse(u, u + 3.0 * torch::randn_like(u)).slice(-1, 0, 3).min().item<double>(), 1e-3);
    // A prediction of 0: (1 - 1e-6 / (P + 1e-6))^2 ~ 1 everywhere.
    EXPECT_LT(max_abs(psrmse(u, torch::zeros_like(u)) - 1.0), 1e-4);
}

// ==== evaluate =======================================================================================================

TEST_F(MetricsTest, EvaluateMatchesTheSingleMetricsAndChunks) {
    torch::Tensor u = torch::randn({2, 3, 16, 12});
    torch::Tensor x_ae = u + 0.05 * torch::randn({2, 3, 16, 12});
    torch::Tensor v = u + 0.3 * torch::randn({4, 2, 3, 16, 12});
    FrameMetrics m = evaluate(u, v, 2);
    EXPECT_EQ(m.names(), metric_names());
    for (const auto& [name, value] : m.items) {
        EXPECT_EQ(value.sizes(), (std::vector<int64_t>{2, 3})) << name;
        EXPECT_EQ(value.scalar_type(), torch::kFloat64) << name;
    }
    EXPECT_LT(max_abs(m.at("vrmse") - vrmse(u, v)), 1e-12);
    EXPECT_LT(max_abs(m.at("rmse") - rmse(u, v)), 1e-12);
    EXPECT_LT(max_abs(m.at("nrmse") - nrmse(u, v)), 1e-12);
    EXPECT_LT(max_abs(m.at("total_error") - relative_total_error(u, v)), 1e-12);
    EXPECT_LT(max_abs(m.at("spread") - spread(v)), 1e-12);
    EXPECT_LT(max_abs(m.at("skill") - skill(u, v)), 1e-12);
    EXPECT_LT(max_abs(m.at("spread_skill") - spread_skill_ratio(u, v)), 1e-12);
    EXPECT_LT(max_abs(m.at("crps") - crps(u, v)), 1e-12);
    torch::Tensor ps = psrmse(u, v), cc = ccrmse(u, v);
    for (int64_t j = 0; j < kNumBands; ++j) {
        const std::string band = band_names()[static_cast<size_t>(j)];
        EXPECT_LT(max_abs(m.at("psrmse_" + band) - ps.select(-1, j)), 1e-12) << band;
        EXPECT_LT(max_abs(m.at("ccrmse_" + band) - cc.select(-1, j)), 1e-12) << band;
    }
    EXPECT_GT(m.at("spread").min().item<double>(), 0.0);

    // One row per chunk gives the same numbers; evaluate_both adds the rel_ metrics against x_ae.
    EvaluateOptions small;
    small.spatial_dims = 2;
    small.chunk_elements = 1;
    FrameMetrics both = evaluate_both(u, x_ae, v, small);
    FrameMetrics rel = evaluate(x_ae, v, 2);
    ASSERT_EQ(both.size(), 2 * metric_names().size());
    for (const auto& name : metric_names()) {
        EXPECT_LT(max_abs(both.at(name) - m.at(name)), 1e-12) << name;
        EXPECT_LT(max_abs(both.at(kRelativePrefix + name) - rel.at(name)), 1e-12) << name;
    }
    EXPECT_THROW(m.at("no_such_metric"), Error);

    EvaluateOptions det;
    det.deterministic = true;
    EXPECT_EQ(max_abs(evaluate(u, v[0], det).at("spread_skill")), 0.0);
}

TEST_F(MetricsTest, EvaluateHandles3D) {
    torch::Tensor u = torch::randn({2, 2, 8, 8, 8});
    torch::Tensor v = u + 0.1 * torch::randn({3, 2, 2, 8, 8, 8});
    FrameMetrics m = evaluate(u, v, 3);
    EXPECT_LT(max_abs(m.at("vrmse") - vrmse(u, v, 3)), 1e-12);
    EXPECT_LT(max_abs(m.at("psrmse_low") - psrmse(u, v, 3).select(-1, 0)), 1e-12);
    EXPECT_FALSE(at::isnan(m.at("psrmse_high")).any().item<bool>());
}

// ==== lead times, horizon bins, stats table ==========================================================================

TEST(MetricsStats, LeadTimesAndHorizonBins) {
    EXPECT_EQ(lead_time(0, 1, 4), 0);
    EXPECT_EQ(lead_time(1, 1, 4), 4);
    EXPECT_EQ(lead_time(25, 1, 4), 100); // Euler: 26 strided frames
    EXPECT_EQ(lead_time(2, 3, 1), 0);
    EXPECT_EQ(lead_time(0, 3, 4), -8);

    auto euler = horizon_bins("euler");
    ASSERT_EQ(euler.size(), 3U);
    EXPECT_EQ(euler[0].label, "1:20");
    EXPECT_EQ(euler[1].label, "21:60");
    EXPECT_EQ(euler[2].label, "61:100");
    EXPECT_TRUE(euler[0].contains(19));
    EXPECT_FALSE(euler[0].contains(20));
    EXPECT_TRUE(euler[1].contains(20));
    EXPECT_TRUE(euler[2].contains(60));
    EXPECT_TRUE(euler[2].contains(100));
    EXPECT_EQ(horizon_bins("euler_multi_quadrants_openBC")[2].label, "61:100");
    EXPECT_EQ(horizon_bins("rayleigh_benard")[2].label, "61:160");
    EXPECT_EQ(horizon_bins("rayleigh_benard_v4")[2].label, "61:180");
    auto tgc = horizon_bins("turbulence_gravity_cooling");
    EXPECT_EQ(tgc[0].label, "1:10");
    EXPECT_EQ(tgc[1].label, "11:30");
    EXPECT_EQ(tgc[2].label, "31:50");
    EXPECT_TRUE(tgc[1].contains(10));
    EXPECT_TRUE(tgc[2].contains(30));
    EXPECT_THROW(horizon_bins("navier_stokes"), UsageError);
    EXPECT_THROW(horizon_bins(std::vector<int64_t>{60, 20}, 100), UsageError);
    auto parsed = horizon_bins("20,60:100");
    ASSERT_EQ(parsed.size(), 3U);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(parsed[i].label, euler[i].label);
        EXPECT_EQ(parsed[i].lo, euler[i].lo);
        EXPECT_EQ(parsed[i].hi, euler[i].hi);
    }
    auto open_end = horizon_bins("8");
    ASSERT_EQ(open_end.size(), 2U);
    EXPECT_EQ(open_end[1].label, "9+");
    EXPECT_EQ(open_end[1].hi, kOpenEnd);
    EXPECT_THROW(horizon_bins("20,x:100"), UsageError);
    EXPECT_THROW(horizon_bins("20,60:"), UsageError);
    auto custom = horizon_bins(std::vector<int64_t>{5}, 9);
    ASSERT_EQ(custom.size(), 2U);
    EXPECT_EQ(custom[1].label, "6:9");
    EXPECT_EQ(custom[1].lo, 5);
}

TEST(MetricsStats, SummaryOfAHandMadeTable) {
    StatsTable table({"vrmse", "crps"});
    // Model a: context 1, lead times 0 (dropped), 4, 8, 20, 40, 60, 100; vrmse = lead time, crps = 2 lead time.
    int64_t frame = 0;
    for (int64_t tau : {0, 4, 8, 20, 40, 60, 100}) {
        for (const char* field : {"rho", "p"}) {
            const double offset = std::string(field) == "p" ? 1.0 : -1.0; // field means cancel
            table.add({"a", 0, 0, 1, field, frame, tau, {tau + offset, 2.0 * tau}});
        }
        ++frame;
    }
    // Model b: two trajectories, one row each in 1:20, and a context 2 row.
    table.add({"b", 3, 0, 1, "rho", 1, 4, {1.0, 0.5}});
    table.add({"b", 7, 0, 1, "rho", 1, 4, {3.0, 0.5}});
    table.add({"b", 7, 0, 2, "rho", 2, 4, {8.0, 0.5}});
    EXPECT_THROW(table.add({"b", 7, 0, 2, "rho", 2, 4, {8.0}}), Error);

    SummaryOptions opts;
    opts.bins = horizon_bins("euler");
    Summary s = table.summarize(opts);
    EXPECT_EQ(s.models, (std::vector<std::string>{"a", "b"}));
    EXPECT_DOUBLE_EQ(s.at("a", "vrmse", "1:20"), 6.0);
    EXPECT_DOUBLE_EQ(s.at("a", "vrmse", "21:60"), 30.0);
    EXPECT_DOUBLE_EQ(s.at("a", "vrmse", "61:100"), 80.0);
    EXPECT_DOUBLE_EQ(s.at("a", "crps", "61:100"), 160.0);
    EXPECT_EQ(s.count("a", "1:20"), 4);
    EXPECT_DOUBLE_EQ(s.at("b", "vrmse", "1:20"), 4.0);
    EXPECT_TRUE(std::isnan(s.at("b", "vrmse", "21:60")));
    EXPECT_EQ(s.count("b", "21:60"), 0);

    opts.contexts = {1};
    opts.metrics = {"vrmse"};
    Summary s1 = table.summarize(opts);
    EXPECT_DOUBLE_EQ(s1.at("b", "vrmse", "1:20"), 2.0);
    EXPECT_EQ(s1.metrics, (std::vector<std::string>{"vrmse"}));
    EXPECT_THROW(s1.at("b", "crps", "1:20"), Error);

    const std::string md = s.markdown();
    EXPECT_NE(md.find("| model | metric | 1:20 | 21:60 | 61:100 |"), std::string::npos) << md;
    EXPECT_NE(md.find("| a | vrmse | 6 | 30 | 80 |"), std::string::npos) << md;
    EXPECT_NE(md.find("| b | vrmse | 4 | n/a | n/a |"), std::string::npos) << md;
    nlohmann::json j = nlohmann::json::parse(s.json());
    EXPECT_DOUBLE_EQ(j["means"]["a"]["crps"]["21:60"].get<double>(), 60.0);
    EXPECT_TRUE(j["means"]["b"]["crps"]["61:100"].is_null());
    EXPECT_EQ(j["counts"]["a"]["61:100"].get<int64_t>(), 4);
    EXPECT_TRUE(j["bins"][2]["hi"].is_null());
    EXPECT_EQ(j["bins"][1]["lo"].get<int64_t>(), 20);
}

TEST_F(MetricsTest, StatsCsvFromFrameMetrics) {
    torch::Tensor u = torch::randn({2, 5, 8, 8});
    torch::Tensor v = u + 0.2 * torch::randn({3, 2, 5, 8, 8});
    FrameMetrics m = evaluate(u, v, 2);
    m.set("nan_metric", torch::full({2, 5}, std::nan(""), f64()));
    StatsTable table;
    table.add("model,1", 4, 0, 2, 4, m, {"density", "pressure"});
    ASSERT_EQ(table.size(), 10U);
    EXPECT_EQ(table.rows()[0].lead_time, -4); // frame 0 of context 2
    EXPECT_EQ(table.rows()[9].lead_time, 12);
    EXPECT_EQ(table.rows()[5].field, "pressure");
    EXPECT_DOUBLE_EQ(table.rows()[7].values[0], m.at("vrmse")[1][2].item<double>());
    EXPECT_THROW(table.add("m", 0, 0, 1, 4, m, {"only_one"}), Error);

    const std::string text = table.csv();
    std::vector<std::string> lines;
    for (size_t p = 0, q; (q = text.find('\n', p)) != std::string::npos; p = q + 1) {
        lines.push_back(text.substr(p, q - p));
    }
    ASSERT_EQ(lines.size(), 11U);
    EXPECT_EQ(lines[0].rfind("model,trajectory,start,context,field,frame,lead_time,vrmse,rmse,", 0), 0U) << lines[0];
    EXPECT_EQ(lines[1].rfind("\"model,1\",4,0,2,density,0,-4,", 0), 0U) << lines[1];

    const auto dir = std::filesystem::temp_directory_path() / "lola_test_metrics_csv";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    table.write_csv(dir / "stats.csv");
    StatsTable back = StatsTable::read_csv(dir / "stats.csv");
    EXPECT_EQ(back.metrics(), table.metrics());
    ASSERT_EQ(back.size(), table.size());
    for (size_t i = 0; i < back.size(); ++i) {
        const auto &x = back.rows()[i], &y = table.rows()[i];
        EXPECT_EQ(x.model, y.model);
        EXPECT_EQ(x.lead_time, y.lead_time);
        EXPECT_EQ(x.field, y.field);
        for (size_t j = 0; j + 1 < x.values.size(); ++j) {
            EXPECT_EQ(x.values[j], y.values[j]); // shortest round-trip text is exact
        }
        EXPECT_TRUE(std::isnan(x.values.back()));
    }
    back.append(table);
    EXPECT_EQ(back.size(), 20U);
    StatsTable other({"other"});
    other.add({"m", 0, 0, 1, "f", 1, 4, {1.0}});
    EXPECT_THROW(back.append(other), Error);
    EXPECT_THROW(StatsTable::parse_csv("model,trajectory\n"), Error);
    EXPECT_THROW(StatsTable::parse_csv("model,trajectory,start,context,field,frame,lead_time,x\na,1,0,1,f,0,x4,1\n"),
                 Error);

    SummaryOptions opts;
    opts.bins = horizon_bins(std::vector<int64_t>{6}, 12);
    Summary s = back.summarize(opts);
    s.write(dir / "summary");
    EXPECT_TRUE(std::filesystem::exists(dir / "summary.md"));
    EXPECT_TRUE(std::filesystem::exists(dir / "summary.json"));
    // 1:6 holds lead time 4 (frame 2), 7:12 lead times 8 and 12; both fields; the table twice.
    EXPECT_EQ(s.count("model,1", "1:6"), 4);
    EXPECT_EQ(s.count("model,1", "7:12"), 8);
    const double expect = m.at("vrmse").slice(1, 3).mean().item<double>();
    EXPECT_NEAR(s.at("model,1", "vrmse", "7:12"), expect, 1e-12);
    std::filesystem::remove_all(dir);
}

} // namespace
