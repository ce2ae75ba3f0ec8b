// Latent windows over a cache file: window contents and layout, in memory and streamed from the file, every offset,
// the random batch stream's determinism and its checkpoint position.
#include <gtest/gtest.h>

#include <set>

#include "lola/core/error.h"
#include "lola/data/latent_windows.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace lola;

namespace {

/// A cache of 3 rows x 9 states of (2, 3, 2) latents whose value encodes (row, t, element).
fs::path write_cache(const fs::path& dir) {
    io::LatentCacheInfo info;
    info.n_trajectories = 3;
    info.n_rows = 3;
    info.n_states = 9;
    info.latent_shape = {2, 3, 2};
    info.label_dim = 2;
    info.provenance.dataset = "test";
    info.provenance.split = "train";
    const fs::path path = dir / "train.h5";
    io::LatentCacheWriter w(path, info);
    const int64_t numel = info.state_numel();
    for (int64_t r = 0; r < info.n_rows; ++r) {
        std::vector<float> buf(static_cast<size_t>(info.n_states * numel));
        for (int64_t t = 0; t < info.n_states; ++t) {
            for (int64_t k = 0; k < numel; ++k) {
                buf[static_cast<size_t>(t * numel + k)] = static_cast<float>(r * 1000 + t * 100 + k);
            }
        }
        w.write_states(r, 0, info.n_states, buf.data());
        const float label[2] = {static_cast<float>(r), -static_cast<float>(r)};
        w.write_label(r, label);
    }
    w.commit();
    return path;
}

} // namespace

TEST(LatentWindows, WindowsAtEveryOffsetInEmulatorLayout) {
    test::TempDir tmp;
    const fs::path path = write_cache(tmp.path());
    for (int64_t max_bytes : {int64_t(1) << 30, int64_t(0)}) { // in memory, then streamed from the file
        data::LatentWindows w(path, 3, 2, max_bytes);
        EXPECT_EQ(w.in_memory(), max_bytes > 0);
        EXPECT_EQ(w.offsets_per_row(), 9 - (1 + 2 * 2) + 1);
        EXPECT_EQ(w.size(), 3 * 5);
        EXPECT_EQ(w.window_shape(), (std::vector<int64_t>{2, 3, 3, 2}));
        const data::WindowBatch b = w.get({0, 7, 14});
        ASSERT_EQ(b.window.sizes(), (std::vector<int64_t>{3, 2, 3, 3, 2}));
        const std::vector<std::array<int64_t, 2>> where{{0, 0}, {1, 2}, {2, 4}}; // (row, offset) of 0, 7, 14
        for (int64_t i = 0; i < 3; ++i) {
            const auto [row, t0] = where[static_cast<size_t>(i)];
            EXPECT_FLOAT_EQ(b.label[i][0].item<float>(), static_cast<float>(row));
            for (int64_t k = 0; k < 3; ++k) {     // window position: state t0 + 2k
                for (int64_t c = 0; c < 2; ++c) { // channel c, spatial (1, 1): element c*6 + 1*2 + 1
                    EXPECT_FLOAT_EQ(b.window[i][c][k][1][1].item<float>(),
                                    static_cast<float>(row * 1000 + (t0 + 2 * k) * 100 + c * 6 + 3));
                }
            }
        }
        EXPECT_THROW(w.get({15}), Error);
    }
}

TEST(LatentWindows, RefusesACacheShorterThanAWindow) {
    test::TempDir tmp;
    const fs::path path = write_cache(tmp.path());
    try {
        data::LatentWindows w(path, 5, 3); // needs 13 states, has 9
        FAIL() << "no error";
    } catch (const UsageError& e) {
        EXPECT_TRUE(test::contains(e.what(), "holds 9 states")) << e.what();
    }
}

TEST(WindowStream, PermutationsPerEpochAndExactSeek) {
    test::TempDir tmp;
    auto w = std::make_shared<const data::LatentWindows>(write_cache(tmp.path()), 2, 1);
    ASSERT_EQ(w->size(), 24);
    data::WindowStream s(w, 5, 7);
    std::set<int64_t> seen;
    for (int64_t b = 0; b < 4; ++b) { // 4 batches of 5 out of 24 windows: 20 distinct windows
        for (int64_t i : s.indices(0, b)) {
            seen.insert(i);
        }
    }
    EXPECT_EQ(seen.size(), 20u);
    EXPECT_NE(s.indices(0, 0), s.indices(1, 0)); // a new permutation each epoch

    std::vector<torch::Tensor> straight;
    for (int i = 0; i < 7; ++i) {
        straight.push_back(s.next().window);
    }
    data::WindowStream t(w, 5, 7);
    for (int i = 0; i < 3; ++i) {
        t.next();
    }
    const auto pos = t.position();
    data::WindowStream u(w, 5, 7);
    u.seek(pos);
    for (int i = 3; i < 7; ++i) {
        EXPECT_TRUE(torch::equal(u.next().window, straight[static_cast<size_t>(i)])) << i;
    }
    EXPECT_EQ(u.position(), (std::vector<int64_t>{1, 3})); // 4 batches per epoch
}
