#include <gtest/gtest.h>

#include <torch/types.h>
#include <torch/utils.h>

#include <set>

#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/data/loader.h"
#include "lola/io/hdf5.h"
#include "support/test_support.h"

using namespace lola;
using namespace lola::data;

namespace {
std::vector<Batch> run_epoch(const std::shared_ptr<const WindowDataset>& ds, LoaderOptions o, int64_t epoch,
                             int64_t first = 0) {
    Loader loader(ds, std::move(o));
    loader.start_epoch(epoch, first);
    std::vector<Batch> out;
    while (auto b = loader.next()) {
        out.push_back(std::move(*b));
    }
    return out;
}
} // namespace

TEST(Loader, CoversEveryWindowOnceAndIsDeterministicAcrossWorkerCounts) {
    test::TempDir tmp;
    test::write_pattern_file(tmp / "a.hdf5", test::euler_like_schema(3, 9, 8, 8, true));
    auto ds = std::make_shared<WindowDataset>(std::vector<std::filesystem::path>{tmp / "a.hdf5"}, 5, 2);
    ASSERT_EQ(ds->size(), 3);
    auto ds2 = std::make_shared<WindowDataset>(std::vector<std::filesystem::path>{tmp / "a.hdf5"}, 2, 1);
    ASSERT_EQ(ds2->size(), 24);
    LoaderOptions o;
    o.batch_size = 5;
    o.seed = 42;
    o.augment = {Augmentation::kAxisFlip, Augmentation::kAxisPermute, Augmentation::kAxisRoll};
    o.workers = 1;
    auto one = run_epoch(ds2, o, 3);
    o.workers = 3;
    o.prefetch = 2;
    auto three = run_epoch(ds2, o, 3);
    ASSERT_EQ(one.size(), 5u); // 24 / 5 rounded up
    std::set<int64_t> seen;
    for (size_t b = 0; b < one.size(); ++b) {
        EXPECT_TRUE(torch::equal(one[b].state, three[b].state)) << "batch " << b;
        EXPECT_TRUE(torch::equal(one[b].label, three[b].label));
        EXPECT_EQ(one[b].indices, three[b].indices);
        seen.insert(one[b].indices.begin(), one[b].indices.end());
    }
    EXPECT_EQ(seen.size(), 24u);
    EXPECT_EQ(one[0].state.sizes(), (std::vector<int64_t>{5, 5, 2, 8, 8}));
    EXPECT_EQ(one[4].state.size(0), 4);
    // another epoch gives another order
    auto other = run_epoch(ds2, o, 4);
    EXPECT_NE(other[0].indices, one[0].indices);
    // starting mid-epoch reproduces the tail exactly (resume)
    auto tail = run_epoch(ds2, o, 3, 2);
    ASSERT_EQ(tail.size(), 3u);
    EXPECT_TRUE(torch::equal(tail[0].state, one[2].state));
}

TEST(Loader, PreprocessesAfterAugmentation) {
    test::TempDir tmp;
    test::write_pattern_file(tmp / "a.hdf5", test::euler_like_schema(1, 2, 4, 4, false));
    auto ds = std::make_shared<WindowDataset>(std::vector<std::filesystem::path>{tmp / "a.hdf5"}, 1, 1);
    LoaderOptions o;
    o.batch_size = 2;
    o.shuffle = false;
    auto raw = run_epoch(ds, o, 0);
    o.preprocess =
        Preprocessor({Transform::kLog1p, Transform::kNone, Transform::kNone, Transform::kNone, Transform::kNone},
                     {1, 2, 3, 4, 5}, {2, 2, 2, 2, 2});
    auto pre = run_epoch(ds, o, 0);
    ASSERT_EQ(raw.size(), 1u);
    EXPECT_TRUE(torch::allclose(pre[0].state, o.preprocess->forward(raw[0].state, 1)));
    EXPECT_EQ(raw[0].indices, (std::vector<int64_t>{0, 1}));
}

TEST(Loader, ReaderErrorsReachTheConsumer) {
    test::TempDir tmp;
    test::write_pattern_file(tmp / "a.hdf5", test::euler_like_schema(2, 4, 4, 4, false));
    auto ds = std::make_shared<WindowDataset>(std::vector<std::filesystem::path>{tmp / "a.hdf5"}, 1, 1);
    std::filesystem::resize_file(tmp / "a.hdf5", 2000); // truncate after the schema was read
    LoaderOptions o;
    o.batch_size = 2;
    Loader loader(ds, o);
    loader.start_epoch(0);
    EXPECT_THROW(
        {
            while (loader.next()) {}
        },
        Error);
}

TEST(LoaderSerial, OneReaderAndOneWarningWhenHdf5IsSerialised) {
    // Run by ctest with LOLA_HDF5_SERIAL=1 (tests/unit/data/CMakeLists.txt): lola's HDF5 calls take one lock, so the
    // loader reads with one thread and says so once; the batches stay those of any worker count.
    if (!io::h5::serialized()) {
        GTEST_SKIP() << "HDF5 calls are not serialised in this process (set LOLA_HDF5_SERIAL=1; ctest does)";
    }
    std::vector<std::string> warnings;
    set_log_sink([&](LogLevel level, const std::string& message) {
        if (level == LogLevel::kWarn) {
            warnings.push_back(message);
        }
    });
    test::TempDir tmp;
    test::write_pattern_file(tmp / "a.hdf5", test::euler_like_schema(3, 6, 4, 4, true));
    auto ds = std::make_shared<WindowDataset>(std::vector<std::filesystem::path>{tmp / "a.hdf5"}, 2, 1);
    LoaderOptions o;
    o.batch_size = 4;
    o.seed = 3;
    o.workers = 3;
    auto first = run_epoch(ds, o, 0);
    auto second = run_epoch(ds, o, 1);
    o.workers = 1;
    auto reference = run_epoch(ds, o, 0);
    set_log_sink(nullptr);
    ASSERT_EQ(first.size(), reference.size());
    for (size_t b = 0; b < first.size(); ++b) {
        EXPECT_TRUE(torch::equal(first[b].state, reference[b].state)) << "batch " << b;
    }
    EXPECT_FALSE(second.empty());
    ASSERT_EQ(warnings.size(), 1u) << "one warning per process, not per epoch";
    EXPECT_TRUE(test::contains(warnings[0], "LOLA_HDF5_SERIAL")) << warnings[0];
    EXPECT_TRUE(test::contains(warnings[0], "using one")) << warnings[0];
}
