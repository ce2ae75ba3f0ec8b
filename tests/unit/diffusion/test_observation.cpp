// Tests of the observation operators of guided sampling (include/lola/diffusion/observation.h): values, adjoints by
// the dot-product test, autograd's VJP equal to the adjoint, and every bad input named.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <string>
#include <vector>

#include "lola/core/error.h"
#include "lola/diffusion/observation.h"
#include "support/test_support.h"
#include "support/torch_support.h"

namespace {

using namespace lola;
using diffusion::ObservationOperator;

using Observation = test::SeededTest;

TEST_F(Observation, SubsampleKeepsEveryKthCellAndDownscaleAveragesBlocks) {
    const torch::Tensor x = torch::arange(2 * 3 * 8 * 8, torch::kDouble).reshape({2, 3, 8, 8});
    const auto sub = ObservationOperator::parse("subsample:4", 2);
    const torch::Tensor y = sub.apply(x);
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 2, 2}));
    EXPECT_EQ(y[1][2][1][0].item<double>(), x[1][2][4][0].item<double>());
    EXPECT_EQ(y[0][1][1][1].item<double>(), x[0][1][4][4].item<double>());
    const auto down = ObservationOperator::parse("downscale:2", 2);
    // against LibTorch's own 2-D mean pooling, computed independently
    EXPECT_TRUE(torch::allclose(down.apply(x), torch::avg_pool2d(x, 2), 1e-14, 1e-12));
    // 3-D with a time axis in front: (B, C, L, X, Y, Z); a constant field stays constant
    const torch::Tensor c = torch::full({1, 2, 3, 4, 4, 4}, 2.5, torch::kDouble);
    const auto down3 = ObservationOperator::parse("downscale:4", 3);
    ASSERT_EQ(down3.apply(c).sizes(), (std::vector<int64_t>{1, 2, 3, 1, 1, 1}));
    EXPECT_TRUE(torch::allclose(down3.apply(c), torch::full({1, 2, 3, 1, 1, 1}, 2.5, torch::kDouble)));
    EXPECT_EQ(down3.str(), "downscale:4");
}

TEST_F(Observation, AdjointsPassTheDotProductTestAndAreAutogradsVjp) {
    struct Case {
        std::string op;
        int64_t axes;
        std::vector<int64_t> shape;
    };
    for (const Case& c : {Case{"subsample:4", 2, {2, 3, 5, 16, 8}}, Case{"downscale:4", 2, {2, 3, 5, 16, 8}},
                          Case{"subsample:2", 3, {2, 1, 3, 4, 6, 8}}, Case{"downscale:2", 3, {2, 1, 3, 4, 6, 8}},
                          Case{"subsample:1", 2, {1, 1, 3, 3}}}) {
        const auto a = ObservationOperator::parse(c.op, c.axes);
        const torch::Tensor x = torch::randn(c.shape, torch::kDouble);
        const torch::Tensor y = torch::randn(a.observed_shape(x.sizes()), torch::kDouble);
        const double lhs = (a.apply(x) * y).sum().item<double>();
        const double rhs = (x * a.adjoint(y, x.sizes())).sum().item<double>();
        EXPECT_NEAR(lhs, rhs, 1e-12 * (1.0 + std::abs(lhs))) << c.op << " on " << c.axes << " axes";
        const torch::Tensor xg = x.clone().requires_grad_();
        (a.apply(xg) * y).sum().backward();
        EXPECT_TRUE(torch::allclose(xg.grad(), a.adjoint(y, x.sizes()), 0, 1e-15)) << c.op;
    }
}

TEST_F(Observation, BadOperatorsAndShapesAreNamed) {
    for (const char* bad :
         {"subsample", "subsample:", "subsample:0", "subsample:-2", "subsample:x", "subsample:4x", "blur:2", ""}) {
        const std::string msg = test::error_of([&] { ObservationOperator::parse(bad, 2); });
        EXPECT_NE(msg.find("valid forms are subsample:K"), std::string::npos) << bad << ": " << msg;
    }
    const auto a = ObservationOperator::parse("subsample:3", 2);
    const std::string msg = test::error_of([&] { a.apply(torch::zeros({1, 2, 16, 16})); });
    EXPECT_NE(msg.find("subsample:3 does not fit the grid"), std::string::npos) << msg;
    EXPECT_NE(msg.find("16 x 16"), std::string::npos) << msg;
    const auto d = ObservationOperator::parse("downscale:4", 3);
    EXPECT_NE(test::error_of([&] {
                  d.apply(torch::zeros({8, 8}));
              }).find("fewer than its 3 spatial axes"),
              std::string::npos);
    const std::string shape = test::error_of([&] { d.adjoint(torch::zeros({1, 2, 2, 2}), {1, 8, 8, 4}); });
    EXPECT_NE(shape.find("do not match states of shape (1, 8, 8, 4)"), std::string::npos) << shape;
}

} // namespace
