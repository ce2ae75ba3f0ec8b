#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>

#include "lola/core/error.h"
#include "lola/io/well_dataset.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace lola;

TEST(WellDataset, SplitFilesSortedAndChecked) {
    test::TempDir tmp;
    fs::create_directories(tmp / "data" / "train");
    EXPECT_THROW(io::split_files(tmp.path(), "train"), Error); // empty
    EXPECT_THROW(io::split_files(tmp.path(), "valid"), Error); // missing
    test::write_pattern_file(tmp / "data/train/b.hdf5", test::euler_like_schema(1, 2, 4, 4, false));
    test::write_pattern_file(tmp / "data/train/a.h5", test::euler_like_schema(1, 2, 4, 4, false));
    auto files = io::split_files(tmp.path(), "train");
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].filename(), "a.h5");
    // a file of another resolution in the same split is refused
    test::write_pattern_file(tmp / "data/train/c.hdf5", test::euler_like_schema(1, 2, 8, 4, false));
    EXPECT_THROW(io::split_files(tmp.path(), "train"), Error);
}

// Statistics against a direct two-pass computation over all values.
TEST(WellDataset, StatsMatchDirectComputation) {
    test::TempDir tmp;
    fs::create_directories(tmp / "data" / "train");
    auto s1 = test::euler_like_schema(2, 3, 4, 2, true);
    auto s2 = test::euler_like_schema(1, 3, 4, 2, true);
    test::write_pattern_file(tmp / "data/train/a.hdf5", s1);
    test::write_pattern_file(tmp / "data/train/b.hdf5", s2);
    io::WellStats st = io::compute_well_stats(io::split_files(tmp.path(), "train"));
    ASSERT_EQ(st.fields, (std::vector<std::string>{"energy", "density", "pressure", "momentum"}));
    // channel 4 = momentum_y; values over both files
    std::vector<double> v, dv;
    for (int64_t b = 0; b < 3; ++b) { // file b: a has trajectories 0,1; b has 0 (pattern uses traj index)
        const int64_t traj = b < 2 ? b : 0;
        for (int64_t t = 0; t < 3; ++t) {
            for (int64_t i = 0; i < 4; ++i) {
                for (int64_t j = 0; j < 2; ++j) {
                    v.push_back(static_cast<float>(test::pattern_value(traj, t, 4, i, j)));
                    if (t > 0) {
                        dv.push_back(static_cast<double>(static_cast<float>(test::pattern_value(traj, t, 4, i, j))) -
                                     static_cast<float>(test::pattern_value(traj, t - 1, 4, i, j)));
                    }
                }
            }
        }
    }
    auto mean_std = [](const std::vector<double>& x) {
        double m = 0;
        for (double a : x) {
            m += a;
        }
        m /= static_cast<double>(x.size());
        double var = 0;
        for (double a : x) {
            var += (a - m) * (a - m);
        }
        return std::make_pair(m, std::sqrt(var / static_cast<double>(x.size())));
    };
    auto [m, sd] = mean_std(v);
    auto [dm, dsd] = mean_std(dv);
    EXPECT_NEAR(st.values["mean"][3][1], m, 1e-9 * std::abs(m));
    EXPECT_NEAR(st.values["std"][3][1], sd, 1e-6 * sd);
    EXPECT_NEAR(st.values["mean_delta"][3][1], dm, 1e-6);
    EXPECT_NEAR(st.values["std_delta"][3][1], dsd, 1e-6);
    EXPECT_NEAR(st.values["rms"][3][1], std::sqrt(m * m + sd * sd), 1e-6 * m);

    std::string yaml = io::well_stats_yaml(st);
    YAML::Node node = YAML::Load(yaml);
    std::vector<std::string> keys;
    for (const auto& kv : node) {
        keys.push_back(kv.first.as<std::string>());
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"mean", "mean_delta", "rms", "rms_delta", "std", "std_delta"}));
    EXPECT_EQ(node["mean"]["momentum"].size(), 2u);
    EXPECT_NEAR(node["mean"]["momentum"][1].as<double>(), m, 1e-4 * m);
    EXPECT_NE(yaml.find("E+"), std::string::npos); // %.4E formatting
}

TEST(WellDataset, FinalizeWritesStatsAndMetadata) {
    test::TempDir tmp;
    test::write_pattern_dataset(tmp.path(), 2, 4, 4, 4, false);
    io::finalize_dataset(tmp.path());
    ASSERT_TRUE(fs::exists(tmp / "stats.yaml"));
    ASSERT_TRUE(fs::exists(tmp / "euler_multi_quadrants_openBC.yaml"));
    YAML::Node meta = YAML::LoadFile((tmp / "euler_multi_quadrants_openBC.yaml").string());
    EXPECT_EQ(meta["dataset_name"].as<std::string>(), "euler_multi_quadrants_openBC");
    EXPECT_EQ(meta["spatial_resolution"].as<std::vector<int>>(), (std::vector<int>{4, 4}));
    EXPECT_EQ(meta["field_names"][1].as<std::vector<std::string>>(),
              (std::vector<std::string>{"momentum_x", "momentum_y"}));
    EXPECT_EQ(meta["constant_scalar_names"].as<std::vector<std::string>>(), std::vector<std::string>{"gamma"});
    EXPECT_EQ(meta["n_trajectories_per_file"].as<std::vector<int>>(), std::vector<int>{2});
    // The distinct types, as the_well's file and loader have them (one OPEN group per axis, OPEN listed once).
    EXPECT_EQ(meta["boundary_condition_types"].as<std::vector<std::string>>(), std::vector<std::string>{"OPEN"});
}

TEST(WellDataset, MetadataListsEachBoundaryTypeOnceSorted) {
    // Rayleigh-Benard-like: periodic along x, walls along y, in both files of the split; the types appear once each,
    // sorted (the_well's loader collects them in a set).
    test::TempDir tmp;
    io::WellSchema s = test::euler_like_schema(1, 2, 4, 4, false);
    s.boundary_conditions = {{"y_wall", io::BcType::kWall, {"y"}, true, true},
                             {"x_periodic", io::BcType::kPeriodic, {"x"}, true, true}};
    test::write_pattern_file(tmp / "a.hdf5", s);
    s.boundary_conditions.push_back({"x_open", io::BcType::kOpen, {"x"}, true, true});
    test::write_pattern_file(tmp / "b.hdf5", s);
    YAML::Node meta = YAML::Load(io::well_metadata_yaml({tmp / "a.hdf5"}));
    EXPECT_EQ(meta["boundary_condition_types"].as<std::vector<std::string>>(),
              (std::vector<std::string>{"PERIODIC", "WALL"}));
    meta = YAML::Load(io::well_metadata_yaml({tmp / "a.hdf5", tmp / "b.hdf5"}));
    EXPECT_EQ(meta["boundary_condition_types"].as<std::vector<std::string>>(),
              (std::vector<std::string>{"OPEN", "PERIODIC", "WALL"}));
}
