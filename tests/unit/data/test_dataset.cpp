#include <gtest/gtest.h>

#include <torch/types.h>
#include <torch/utils.h>

#include <cmath>

#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/options.h"
#include "lola/data/dataset.h"
#include "lola/data/stats.h"
#include "lola/io/well.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace lola;
using namespace lola::data;

TEST(WindowDataset, CountsAndLocations) {
    test::TempDir tmp;
    // two files: 2 trajectories x 10 steps and 3 trajectories x 10 steps
    test::write_pattern_file(tmp / "a.hdf5", test::euler_like_schema(2, 10, 4, 4, false));
    test::write_pattern_file(tmp / "b.hdf5", test::euler_like_schema(3, 10, 4, 4, false));
    WindowDataset ds({tmp / "a.hdf5", tmp / "b.hdf5"}, 3, 4); // needs 1 + 2*4 = 9 steps -> 2 windows per trajectory
    EXPECT_EQ(ds.windows_per_trajectory(0), 2);
    EXPECT_EQ(ds.size(), 2 * 2 + 3 * 2);
    auto loc = ds.locate(5); // file b, local 1 -> trajectory 0, offset 1
    EXPECT_EQ(loc.file, 1);
    EXPECT_EQ(loc.trajectory, 0);
    EXPECT_EQ(loc.t0, 1);
    std::vector<std::unique_ptr<io::WellReader>> readers;
    Sample s = ds.get(5, readers);
    ASSERT_EQ(s.state.sizes(), (std::vector<int64_t>{5, 3, 4, 4}));
    // state (c=2, k=1, i=3, j=1) is snapshot t = 1 + 4 = 5 of trajectory 0
    EXPECT_FLOAT_EQ(s.state.index({2, 1, 3, 1}).item<float>(), static_cast<float>(test::pattern_value(0, 5, 2, 3, 1)));
    EXPECT_THROW(ds.locate(10), Error);
    // the_well's count for Euler: 101 steps, 5 states, stride 4 -> 85 windows
    test::write_pattern_file(tmp / "c.hdf5", test::euler_like_schema(1, 101, 4, 4, false));
    EXPECT_EQ(WindowDataset({tmp / "c.hdf5"}, 5, 4).size(), 85);
    EXPECT_THROW(WindowDataset({tmp / "a.hdf5"}, 5, 4), Error); // 10 steps < 17
}

TEST(WindowDataset, LabelIsScalarsThenBoundaryCodes) {
    test::TempDir tmp;
    test::write_pattern_file(tmp / "p.hdf5", test::euler_like_schema(1, 3, 4, 4, true, 1.76));
    WindowDataset ds({tmp / "p.hdf5"}, 1, 1);
    std::vector<std::unique_ptr<io::WellReader>> readers;
    torch::Tensor label = make_label(ds.get(0, readers));
    ASSERT_EQ(label.numel(), 5);
    EXPECT_NEAR(label[0].item<float>(), 1.76, 1e-6);
    for (int k = 1; k < 5; ++k) {
        EXPECT_EQ(label[k].item<float>(), 2.0F);
    }
    WindowDataset logged({tmp / "p.hdf5"}, 1, 1, {"gamma"});
    EXPECT_NEAR(make_label(logged.get(0, readers))[0].item<float>(), std::log(1.76), 1e-6);
    EXPECT_THROW(WindowDataset({tmp / "p.hdf5"}, 1, 1, {"Rayleigh"}), UsageError);
}

TEST(DatasetOptions, PresetsLoadAndValidate) {
    YAML::Node defaults(YAML::NodeType::Map);
    defaults["dataset"] = core::options_defaults<DatasetOptions>();
    core::Config cfg(defaults);
    for (const char* preset :
         {"euler_all", "rayleigh_benard", "gravity_cooling", "euler_small", "rayleigh_benard_small"}) {
        core::Config c = cfg; // a deep copy
        c.apply_override(std::string("dataset=") + preset);
        DatasetOptions o = core::read_options<DatasetOptions>(c, "dataset");
        EXPECT_EQ(o.name, preset);
        EXPECT_EQ(o.fields.size(), o.transform.size());
        EXPECT_NO_THROW(o.preprocessor());
    }
    core::Config c(YAML::Clone(cfg.root()));
    c.apply_override("dataset=euler_all");
    c.apply_override("dataset.transform=[log1p, bogus, none, none, none]");
    EXPECT_THROW(core::read_options<DatasetOptions>(c, "dataset"), UsageError);
}

TEST(DatasetOptions, MissingDataFolderGivesHint) {
    DatasetOptions o;
    o.name = "x";
    o.root = "/nonexistent";
    o.physics = {"euler_multi_quadrants_openBC"};
    try {
        preset_split_files(o, "train");
        FAIL();
    } catch (const Error& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("/nonexistent/euler_multi_quadrants_openBC"), std::string::npos) << msg;
        EXPECT_NE(msg.find("lola simulate"), std::string::npos) << msg;
    }
}

TEST(ChannelStats, MatchDirectComputationWhenEveryStateIsDrawnOnce) {
    test::TempDir tmp;
    test::write_pattern_file(tmp / "a.hdf5", test::euler_like_schema(1, 1, 4, 4, false));
    // one state only: every draw returns it, so the aggregates are that state's own statistics
    ChannelStats st = compute_channel_stats(
        {tmp / "a.hdf5"}, {Transform::kLog1p, Transform::kNone, Transform::kNone, Transform::kNone, Transform::kNone},
        5, 0);
    std::vector<double> v;
    for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 4; ++j) {
            v.push_back(std::log1p(static_cast<double>(static_cast<float>(test::pattern_value(0, 0, 0, i, j)))));
        }
    }
    double m = 0, sq = 0;
    for (double a : v) {
        m += a / 16;
        sq += a * a / 16;
    }
    EXPECT_NEAR(st.mean[0], m, 1e-9);
    EXPECT_NEAR(st.std[0], std::sqrt(sq - m * m), 1e-6);
    EXPECT_NEAR(st.min[0], *std::min_element(v.begin(), v.end()), 1e-9);
    EXPECT_NEAR(st.max[0], *std::max_element(v.begin(), v.end()), 1e-9);
    EXPECT_NE(channel_stats_yaml(st).find("stats:"), std::string::npos);
}
