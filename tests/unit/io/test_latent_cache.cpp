// The latent cache file: round trip of states, labels and provenance; refusal of a mismatched provenance; atomicity.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "lola/core/error.h"
#include "lola/io/latent_cache.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace lola;
using namespace lola::io;

namespace {

LatentCacheProvenance sample_provenance() {
    LatentCacheProvenance p;
    p.ae_run = "runs/ae";
    p.ae_weights_hash = "1234abcd";
    p.dataset = "euler_small";
    p.fields = {"energy", "density", "pressure", "momentum_x", "momentum_y"};
    p.transforms = {"log1p", "log1p", "log1p", "none", "none"};
    p.mean = {1.3, 0.55, 0.64, -0.01, 0.1 + 0.2}; // 0.1 + 0.2 != 0.3: needs all 17 digits to round-trip
    p.std = {0.56, 0.29, 0.29, 0.45, 0.47};
    p.augment = {"random_axis_flip", "random_axis_roll"};
    p.stride = 2;
    p.split = "train";
    p.repeat = 2;
    p.seed = 0xfedcba9876543210ULL;
    return p;
}

LatentCacheInfo sample_info() {
    LatentCacheInfo info;
    info.n_trajectories = 3;
    info.n_rows = 6;
    info.n_states = 5;
    info.latent_shape = {2, 3, 4};
    info.label_dim = 5;
    info.provenance = sample_provenance();
    return info;
}

float value_at(int64_t row, int64_t t, int64_t k) { return static_cast<float>(row * 1000 + t * 100 + k) * 0.5f; }

void write_all(LatentCacheWriter& w) {
    const LatentCacheInfo& info = w.info();
    const int64_t numel = info.state_numel();
    for (int64_t row = 0; row < info.n_rows; ++row) {
        // states in two uneven batches, as cache-latents writes them
        for (int64_t t0 : {int64_t{0}, int64_t{3}}) {
            const int64_t n = t0 == 0 ? 3 : info.n_states - 3;
            std::vector<float> buf(static_cast<size_t>(n * numel));
            for (int64_t i = 0; i < n; ++i) {
                for (int64_t k = 0; k < numel; ++k) {
                    buf[static_cast<size_t>(i * numel + k)] = value_at(row, t0 + i, k);
                }
            }
            w.write_states(row, t0, n, buf.data());
        }
        std::vector<float> label{1.5f + static_cast<float>(row), 2, 2, 2, 2};
        w.write_label(row, label.data());
    }
}

bool has_temp_files(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().filename().string().find(".tmp.") != std::string::npos) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST(LatentCache, RoundTrip) {
    test::TempDir tmp;
    const fs::path path = tmp / "train.h5";
    {
        LatentCacheWriter w(path, sample_info());
        write_all(w);
        EXPECT_FALSE(fs::exists(path)); // only the temporary exists before commit
        w.commit();
    }
    ASSERT_TRUE(fs::exists(path));
    EXPECT_FALSE(has_temp_files(tmp.path()));

    LatentCacheReader r(path);
    const LatentCacheInfo& info = r.info();
    EXPECT_EQ(info.state_shape(), (std::vector<int64_t>{6, 5, 2, 3, 4}));
    EXPECT_EQ(info.n_trajectories, 3);
    EXPECT_EQ(info.label_dim, 5);
    const LatentCacheProvenance want = sample_provenance();
    const LatentCacheProvenance& got = info.provenance;
    EXPECT_EQ(got.ae_run, fs::absolute("runs/ae").lexically_normal().string()); // made absolute by the writer
    EXPECT_EQ(got.ae_weights_hash, want.ae_weights_hash);
    EXPECT_EQ(got.dataset, want.dataset);
    EXPECT_EQ(got.fields, want.fields);
    EXPECT_EQ(got.transforms, want.transforms);
    EXPECT_EQ(got.mean, want.mean); // exact
    EXPECT_EQ(got.std, want.std);
    EXPECT_EQ(got.augment, want.augment);
    EXPECT_EQ(got.stride, 2);
    EXPECT_EQ(got.split, "train");
    EXPECT_EQ(got.repeat, 2);
    EXPECT_EQ(got.seed, want.seed);

    // window: row 4, t = 1, 3 (stride 2)
    std::vector<float> w = r.read_window(4, 1, 2, 2);
    ASSERT_EQ(w.size(), 2u * 24);
    for (int64_t i = 0; i < 2; ++i) {
        for (int64_t k = 0; k < 24; ++k) {
            ASSERT_EQ(w[static_cast<size_t>(i * 24 + k)], value_at(4, 1 + 2 * i, k)) << i << " " << k;
        }
    }
    EXPECT_EQ(r.read_label(3), (std::vector<float>{4.5f, 2, 2, 2, 2}));
    EXPECT_EQ(r.read_labels().size(), 30u);
    EXPECT_THROW(r.read_window(0, 2, 2, 3), Error); // t = 2, 5: past the end
    EXPECT_THROW(r.read_window(6, 0, 1), Error);

    EXPECT_EQ(read_latent_cache_info(path).provenance.ae_weights_hash, "1234abcd");
}

TEST(LatentCache, ProvenanceMismatchIsRefusedNamingEachField) {
    LatentCacheInfo cache = sample_info();
    EXPECT_NO_THROW(verify_provenance(cache, sample_provenance()));
    LatentCacheProvenance only_hash;
    only_hash.ae_weights_hash = "1234abcd";
    only_hash.stride = 0;
    EXPECT_NO_THROW(verify_provenance(cache, only_hash)); // empty fields are not checked
    LatentCacheProvenance other = sample_provenance();
    other.split = "valid"; // facts about the cache, not requirements
    other.repeat = 1;
    other.ae_run = "elsewhere";
    EXPECT_NO_THROW(verify_provenance(cache, other));

    LatentCacheProvenance bad = sample_provenance();
    bad.ae_weights_hash = "5678ef90";
    bad.stride = 4;
    bad.mean[0] = 1.2;
    try {
        verify_provenance(cache, bad, "'train.h5'");
        FAIL() << "a mismatched cache was accepted";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("'train.h5'"), std::string::npos) << m;
        EXPECT_NE(m.find("AE weights 1234abcd"), std::string::npos) << m;
        EXPECT_NE(m.find("5678ef90"), std::string::npos) << m;
        EXPECT_NE(m.find("time stride is 2 but 4"), std::string::npos) << m;
        EXPECT_NE(m.find("stats mean"), std::string::npos) << m;
        EXPECT_EQ(m.find("stats std"), std::string::npos) << m; // std matches: not named
        EXPECT_EQ(m.find("dataset is"), std::string::npos) << m;
        EXPECT_NE(m.find("re-run lola cache-latents"), std::string::npos) << m;
    }
    LatentCacheProvenance wrong_data = sample_provenance();
    wrong_data.dataset = "euler_all";
    wrong_data.transforms[0] = "none";
    try {
        verify_provenance(cache, wrong_data);
        FAIL() << "a cache of another dataset was accepted";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("dataset is 'euler_small' but 'euler_all'"), std::string::npos) << m;
        EXPECT_NE(m.find("transforms are [log1p,"), std::string::npos) << m;
        EXPECT_EQ(m.find("AE weights"), std::string::npos) << m;
    }
}

TEST(LatentCache, NoPartialFileOnException) {
    test::TempDir tmp;
    const fs::path path = tmp / "valid.h5";
    try {
        LatentCacheWriter w(path, sample_info());
        std::vector<float> state(24, 1.0f);
        w.write_states(0, 0, 1, state.data());
        throw std::runtime_error("encoder failed");
    } catch (const std::runtime_error&) {}
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(has_temp_files(tmp.path()));

    // commit refuses an incomplete cache, and leaves no file either
    {
        LatentCacheWriter w(path, sample_info());
        std::vector<float> state(24 * 5, 1.0f);
        for (int64_t row = 0; row < 6; ++row) {
            w.write_states(row, 0, 5, state.data());
        }
        try {
            w.commit();
            FAIL() << "a cache without labels was committed";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("label of row 0"), std::string::npos) << e.what();
        }
    }
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(has_temp_files(tmp.path()));

    // a previous complete cache survives a failed rewrite
    {
        LatentCacheWriter w(path, sample_info());
        write_all(w);
        w.commit();
    }
    try {
        LatentCacheWriter w(path, sample_info());
        throw std::runtime_error("interrupted");
    } catch (const std::runtime_error&) {}
    EXPECT_EQ(LatentCacheReader(path).read_label(0)[0], 1.5f);
}

TEST(LatentCache, RejectsOtherFiles) {
    test::TempDir tmp;
    test::write_pattern_file(tmp / "well.hdf5", test::euler_like_schema(1, 3, 4, 4, false));
    try {
        LatentCacheReader r(tmp / "well.hdf5");
        FAIL() << "a Well file was read as a latent cache";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not a lola latent cache"), std::string::npos) << e.what();
    }
    EXPECT_THROW(LatentCacheReader(tmp / "missing.h5"), Error);
}
