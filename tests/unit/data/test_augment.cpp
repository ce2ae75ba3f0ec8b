#include <gtest/gtest.h>

#include <torch/types.h>
#include <torch/utils.h>

#include "lola/core/error.h"
#include "lola/data/augment.h"

using namespace lola;
using namespace lola::data;

namespace {

// 2-D sample with channels [rho, m_x, m_y, T_xx, T_xy, T_yx, T_yy], 2 states, 4 x 3 grid (not square) or 4 x 4.
Sample make_sample(int64_t nx, int64_t ny, bool periodic_x) {
    torch::manual_seed(1);
    Sample s;
    s.state = torch::randn({7, 2, nx, ny}, torch::kFloat64);
    s.bc = {{periodic_x ? 2 : 1, periodic_x ? 2 : 1}, {0, 1}};
    return s;
}

const std::vector<std::vector<int>> kAxes{{}, {0}, {1}, {0, 0}, {0, 1}, {1, 0}, {1, 1}};

} // namespace

TEST(Augment, FlipTwiceIsIdentity) {
    Sample s = make_sample(4, 3, false);
    torch::Tensor x0 = s.state.clone();
    auto bc0 = s.bc;
    flip_axis(s, kAxes, 1);
    EXPECT_FALSE(torch::equal(s.state, x0));
    flip_axis(s, kAxes, 1);
    EXPECT_TRUE(torch::equal(s.state, x0));
    EXPECT_EQ(s.bc, bc0);
}

TEST(Augment, FlipNegatesComponentsAlongTheAxisAndSwapsBoundaries) {
    Sample s = make_sample(4, 3, false);
    torch::Tensor x0 = s.state.clone();
    flip_axis(s, kAxes, 1); // flip y
    // value at (i, j) comes from (i, ny-1-j)
    for (int64_t c = 0; c < 7; ++c) {
        const double sign = (c == 2 || c == 4 || c == 5) ? -1.0 : 1.0; // m_y, T_xy, T_yx flip; T_yy has two y's
        EXPECT_DOUBLE_EQ(s.state.index({c, 1, 2, 0}).item<double>(), sign * x0.index({c, 1, 2, 2}).item<double>())
            << "channel " << c;
    }
    EXPECT_EQ(s.bc[1], (std::array<int, 2>{1, 0}));
    EXPECT_EQ(s.bc[0], (std::array<int, 2>{1, 1}));
}

TEST(Augment, PermuteSwapsAxesComponentsAndBoundaryRows) {
    Sample s = make_sample(4, 4, true);
    torch::Tensor x0 = s.state.clone();
    permute_axes(s, kAxes, {1, 0});
    // new (i, j) = old (j, i); new m_x = old m_y; new T_xy = old T_yx; new T_xx = old T_yy
    EXPECT_DOUBLE_EQ(s.state.index({0, 0, 1, 3}).item<double>(), x0.index({0, 0, 3, 1}).item<double>());
    EXPECT_DOUBLE_EQ(s.state.index({1, 0, 1, 3}).item<double>(), x0.index({2, 0, 3, 1}).item<double>());
    EXPECT_DOUBLE_EQ(s.state.index({2, 0, 1, 3}).item<double>(), x0.index({1, 0, 3, 1}).item<double>());
    EXPECT_DOUBLE_EQ(s.state.index({3, 1, 1, 3}).item<double>(), x0.index({6, 1, 3, 1}).item<double>());
    EXPECT_DOUBLE_EQ(s.state.index({4, 1, 1, 3}).item<double>(), x0.index({5, 1, 3, 1}).item<double>());
    EXPECT_EQ(s.bc[0], (std::array<int, 2>{0, 1}));
    EXPECT_EQ(s.bc[1], (std::array<int, 2>{2, 2}));
    permute_axes(s, kAxes, {1, 0});
    EXPECT_TRUE(torch::equal(s.state, x0));
}

TEST(Augment, RollOnlyOnPeriodicAxes) {
    Sample s = make_sample(4, 3, true);
    torch::Tensor x0 = s.state.clone();
    roll_axis(s, 0, 1);
    EXPECT_DOUBLE_EQ(s.state.index({3, 0, 1, 2}).item<double>(), x0.index({3, 0, 0, 2}).item<double>());
    EXPECT_THROW(roll_axis(s, 1, 1), Error); // y is wall/open
    // random augmentation never rolls a non-periodic axis: rows along y keep their order up to flips
    std::mt19937_64 rng(3);
    for (int k = 0; k < 20; ++k) {
        Sample t = make_sample(4, 3, false);
        torch::Tensor before = t.state.clone();
        augment(t, kAxes, {Augmentation::kAxisRoll}, rng);
        EXPECT_TRUE(torch::equal(t.state, before));
    }
}

TEST(Augment, PermuteSkippedOnNonSquareDomains) {
    std::mt19937_64 rng(5);
    for (int k = 0; k < 10; ++k) {
        Sample t = make_sample(4, 3, false);
        augment(t, kAxes, {Augmentation::kAxisPermute}, rng);
        EXPECT_EQ(t.state.size(2), 4);
    }
}

TEST(Augment, FlipProbabilityIsAboutHalf) {
    std::mt19937_64 rng(7);
    int flipped = 0;
    const int n = 400;
    for (int k = 0; k < n; ++k) {
        Sample t = make_sample(4, 3, false);
        augment(t, kAxes, {Augmentation::kAxisFlip}, rng);
        flipped += t.bc[1][0] == 1 ? 1 : 0; // y boundary codes swapped
    }
    EXPECT_NEAR(flipped / static_cast<double>(n), 0.5, 0.1);
}
