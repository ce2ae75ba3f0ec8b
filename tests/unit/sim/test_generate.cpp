// Dataset generation end to end: layout, official names, splits, format, data sanity, reproducibility, bad input.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "lola/core/error.h"
#include "lola/io/well.h"
#include "lola/io/well_dataset.h"
#include "lola/sim/generate.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace lola;

namespace {

sim::GenerateOptions tiny(const std::string& system, const fs::path& out) {
    sim::GenerateOptions o;
    o.system = system;
    o.preset = "tiny";
    o.out = out;
    o.progress = false;
    o.threads = 2;
    return o;
}

std::string bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// No NaN (the reader checks), and no frame constant in time (the_well's check_thewell_data).
void expect_sane(const fs::path& file) {
    io::WellReader r(file);
    const auto& s = r.schema();
    for (int64_t b = 0; b < s.n_trajectories; ++b) {
        std::vector<float> w = r.read_window(b, 0, s.n_steps());
        const int64_t cells = s.n_cells(), T = s.n_steps();
        for (int64_t c = 0; c < s.n_channels(); ++c) {
            for (int64_t t = 1; t < T; ++t) {
                bool changed = false;
                for (int64_t i = 0; i < cells && !changed; ++i) {
                    changed = w[static_cast<size_t>((c * T + t) * cells + i)] !=
                              w[static_cast<size_t>((c * T + t - 1) * cells + i)];
                }
                // velocity starts at rest in RB; require change after the first snapshots
                if (t > 2) {
                    EXPECT_TRUE(changed) << file << " channel " << c << " frame " << t << " equals the previous one";
                }
            }
        }
    }
}

} // namespace

TEST(Generate, WellNumberFormatting) {
    EXPECT_EQ(sim::well_number(1.4), "1.4");
    EXPECT_EQ(sim::well_number(1.365), "1.365");
    EXPECT_EQ(sim::well_number(1e6), "1e6");
    EXPECT_EQ(sim::well_number(1e10), "1e10");
    EXPECT_EQ(sim::well_number(0.1), "1e-1");
    EXPECT_EQ(sim::well_number(0.5), "5e-1");
    EXPECT_EQ(sim::well_number(10), "10");
    EXPECT_EQ(sim::well_number(1), "1");
}

TEST(Generate, EulerTinyDataset) {
    test::TempDir tmp;
    sim::GenerateReport r = sim::generate(tiny("euler_multi_quadrants", tmp.path()));
    ASSERT_EQ(r.datasets.size(), 2u); // both boundary types
    EXPECT_EQ(r.trajectories, 2 * 2 * 3);
    for (const char* bc : {"openBC", "periodicBC"}) {
        const fs::path dir = tmp / (std::string("euler_multi_quadrants_") + bc);
        ASSERT_TRUE(fs::is_directory(dir));
        EXPECT_TRUE(fs::exists(dir / "stats.yaml"));
        EXPECT_TRUE(fs::exists(dir / (std::string("euler_multi_quadrants_") + bc + ".yaml")));
        for (const auto& split : io::split_names()) {
            auto files = io::split_files(dir, split);
            ASSERT_EQ(files.size(), 2u);
            EXPECT_EQ(files[0].filename().string(),
                      std::string("euler_multi_quadrants_") + bc + "_gamma_1.4_Dry_air_20.hdf5");
            EXPECT_EQ(files[1].filename().string(),
                      std::string("euler_multi_quadrants_") + bc + "_gamma_1.76_Ar_-180.hdf5");
            io::WellSchema s = io::read_schema(files[1]);
            EXPECT_EQ(s.n_trajectories, 1); // 3 trajectories: 1 / 1 / 1
            EXPECT_EQ(s.n_steps(), 101);
            EXPECT_NEAR(s.time.back(), 1.5, 1e-6);
            EXPECT_NEAR(s.scalar("gamma"), 1.76, 1e-6);
            EXPECT_EQ(s.channel_names(),
                      (std::vector<std::string>{"energy", "density", "pressure", "momentum_x", "momentum_y"}));
            EXPECT_NEAR(s.coords[0][0], 0.5 / 32, 1e-7);
        }
        expect_sane(io::split_files(dir, "train")[0]);
    }
    // periodic data conserves density, energy and momentum: mean_delta ~ 0; pressure grows (shock heating)
    YAML::Node st = YAML::LoadFile((tmp / "euler_multi_quadrants_periodicBC" / "stats.yaml").string());
    EXPECT_LT(std::abs(st["mean_delta"]["density"].as<double>()), 1e-6);
    EXPECT_LT(std::abs(st["mean_delta"]["energy"].as<double>()), 1e-6);
    EXPECT_GT(st["mean_delta"]["pressure"].as<double>(), 0.0);
}

TEST(Generate, RayleighBenardTinyDataset) {
    test::TempDir tmp;
    sim::GenerateReport r = sim::generate(tiny("rayleigh_benard", tmp.path()));
    ASSERT_EQ(r.datasets.size(), 1u);
    auto files = io::split_files(tmp / "rayleigh_benard", "train");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].filename().string(), "rayleigh_benard_Rayleigh_1e4_Prandtl_1.hdf5");
    io::WellSchema s = io::read_schema(files[0]);
    EXPECT_EQ(s.n_steps(), 200);
    EXPECT_EQ(s.resolution, (std::vector<int64_t>{64, 32}));
    EXPECT_EQ(s.bc_codes(), (std::vector<std::array<int, 2>>{{2, 2}, {0, 0}}));
    EXPECT_EQ(s.channel_names(), (std::vector<std::string>{"buoyancy", "pressure", "velocity_x", "velocity_y"}));
    EXPECT_NEAR(s.time[1], 0.25, 1e-7);
    expect_sane(files[0]);
}

TEST(Generate, SameSeedSameBytesOtherSeedOtherBytes) {
    test::TempDir tmp;
    auto o = tiny("euler_multi_quadrants", tmp / "a");
    o.gammas = {1.4};
    o.boundaries = {"open"};
    sim::generate(o);
    o.out = tmp / "b";
    o.threads = 1; // thread count must not change the bytes
    sim::generate(o);
    o.out = tmp / "c";
    o.seed = 1;
    sim::generate(o);
    const std::string rel =
        "euler_multi_quadrants_openBC/data/train/euler_multi_quadrants_openBC_gamma_1.4_Dry_air_20.hdf5";
    EXPECT_EQ(bytes(tmp / "a" / rel), bytes(tmp / "b" / rel));
    EXPECT_NE(bytes(tmp / "a" / rel), bytes(tmp / "c" / rel));
}

TEST(Generate, BadInputIsAUsageErrorAndLeavesNothing) {
    test::TempDir tmp;
    auto o = tiny("euler_multi_quadrants", tmp / "out");
    o.resolution = {100, 100};
    try {
        sim::generate(o);
        FAIL();
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("--resolution 100"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("96 or 128"), std::string::npos) << e.what();
    }
    o.resolution = {};
    o.gammas = {1.5};
    EXPECT_THROW(sim::generate(o), UsageError);
    o.gammas = {};
    o.boundaries = {"reflective"};
    EXPECT_THROW(sim::generate(o), UsageError);
    o.boundaries = {};
    o.trajectories = 2;
    EXPECT_THROW(sim::generate(o), UsageError);
    EXPECT_FALSE(fs::exists(tmp / "out" / "euler_multi_quadrants_openBC"));
    // an existing dataset is not clobbered without --overwrite
    o.trajectories = 0;
    o.gammas = {1.4};
    o.boundaries = {"open"};
    sim::generate(o);
    const fs::path file =
        tmp / "out/euler_multi_quadrants_openBC/data/test/euler_multi_quadrants_openBC_gamma_1.4_Dry_air_20.hdf5";
    const std::string before = bytes(file);
    o.seed = 5;
    EXPECT_THROW(sim::generate(o), UsageError);
    EXPECT_EQ(bytes(file), before);
    o.overwrite = true;
    sim::generate(o);
    EXPECT_NE(bytes(file), before);
    // no temporary folders left behind
    for (const auto& e : fs::directory_iterator(tmp / "out")) {
        EXPECT_EQ(e.path().filename().string()[0] == '.', false) << e.path();
    }
}
