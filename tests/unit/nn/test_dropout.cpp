// Tests of nn::dropout (include/lola/nn/dropout.h): the hash mask's statistics, the backward pass, seeding and
// independence from the thread count and memory layout.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>

#include "lola/core/error.h"
#include "lola/nn/dropout.h"
#include "support/torch_support.h"

namespace {

using namespace lola;

using Dropout = test::SeededTest;

TEST_F(Dropout, DropsAFractionPAndScalesTheRestByOneOverOneMinusP) {
    const int64_t n = 1 << 20;
    for (const double p : {0.05, 0.5}) {
        const torch::Tensor y = nn::dropout(torch::ones({n}), p, true);
        const double dropped = (y == 0).to(torch::kDouble).mean().item<double>();
        const double sigma = std::sqrt(p * (1 - p) / n);
        EXPECT_NEAR(dropped, p, 5 * sigma) << "p = " << p;
        // every kept value is exactly the float32 of 1 / (1 - p)
        const auto kept = y.masked_select(y != 0);
        EXPECT_TRUE(torch::all(kept == static_cast<float>(1.0 / (1.0 - p))).item<bool>()) << "p = " << p;
        // neighbours are independent: both dropped with probability p^2
        const torch::Tensor d = (y == 0).to(torch::kDouble);
        const double both = (d.slice(0, 1) * d.slice(0, 0, n - 1)).mean().item<double>();
        EXPECT_NEAR(both, p * p, 5 * std::sqrt(p * p * (1 - p * p) / n)) << "p = " << p;
    }
}

TEST_F(Dropout, IsTheIdentityOutsideTrainingAndAtPZero) {
    const torch::Tensor x = torch::randn({4, 5});
    EXPECT_TRUE(nn::dropout(x, 0.3, false).is_same(x));
    EXPECT_TRUE(nn::dropout(x, 0.0, true).is_same(x));
    EXPECT_THROW(nn::dropout(x, 1.0, true), Error);
    EXPECT_THROW(nn::dropout(x, -0.1, true), Error);
}

TEST_F(Dropout, BackwardAppliesTheForwardMask) {
    for (const auto dtype : {torch::kFloat, torch::kDouble}) {
        const torch::Tensor x = (torch::rand({64, 33}, dtype) + 0.5).requires_grad_(); // no zeros
        const torch::Tensor y = nn::dropout(x, 0.2, true);
        const torch::Tensor g = torch::randn_like(y);
        y.backward(g);
        const torch::Tensor expected = torch::where(y != 0, g * (1.0 / 0.8), torch::zeros_like(g));
        EXPECT_TRUE(torch::allclose(x.grad(), expected, 0, 0)) << dtype;
        EXPECT_GT((y == 0).sum().item<int64_t>(), 0);
    }
}

TEST_F(Dropout, TheGeneratorSeedDecidesTheMaskAndTheThreadCountDoesNot) {
    const torch::Tensor x = torch::ones({200000});
    const int threads = at::get_num_threads();
    torch::manual_seed(3);
    at::set_num_threads(1);
    const torch::Tensor a = nn::dropout(x, 0.1, true);
    torch::manual_seed(3);
    at::set_num_threads(4);
    const torch::Tensor b = nn::dropout(x, 0.1, true);
    at::set_num_threads(threads);
    EXPECT_TRUE(torch::equal(a, b));
    const torch::Tensor c = nn::dropout(x, 0.1, true); // the generator moved on: another mask
    EXPECT_FALSE(torch::equal(a, c));
    torch::manual_seed(4);
    EXPECT_FALSE(torch::equal(a, nn::dropout(x, 0.1, true)));
}

TEST_F(Dropout, TheMaskFollowsTheLogicalIndexOfAStridedInput) {
    const torch::Tensor x = torch::randn({37, 51});
    torch::manual_seed(9);
    const torch::Tensor strided = nn::dropout(x.t(), 0.3, true);
    torch::manual_seed(9);
    const torch::Tensor contiguous = nn::dropout(x.t().contiguous(), 0.3, true);
    EXPECT_TRUE(torch::equal(strided, contiguous));
}

TEST_F(Dropout, TheExposedKeepFunctionIsTheKernelsDecision) {
    const uint32_t threshold = nn::dropout_threshold(0.25);
    EXPECT_EQ(threshold, 1U << 30U);
    EXPECT_EQ(nn::dropout_threshold(0.0), 0U);
    EXPECT_EQ(nn::dropout_threshold(0.9999999999999), 4294967295U);
    // Recover the seed the kernel drew by drawing it again from the same generator state.
    torch::manual_seed(11);
    const torch::Tensor y = nn::dropout(torch::ones({1000}), 0.25, true);
    torch::manual_seed(11);
    const uint64_t seed = at::detail::getDefaultCPUGenerator().get<at::CPUGeneratorImpl>()->random64();
    for (int64_t i = 0; i < 1000; ++i) {
        EXPECT_EQ(y[i].item<float>() != 0.0F, nn::dropout_keeps(seed, static_cast<uint64_t>(i), threshold)) << i;
    }
}

} // namespace
