#include <gtest/gtest.h>

#include <torch/types.h>
#include <torch/utils.h>

#include "lola/core/error.h"
#include "lola/data/transform.h"

using namespace lola::data;

TEST(Transform, ForwardMatchesFormulaAndInverseIsExact) {
    torch::manual_seed(0);
    Preprocessor p({Transform::kLog1p, Transform::kLogEps, Transform::kNone}, {1.2, -4.2, 0.5}, {0.51, 1.75, 2.0});
    torch::Tensor x = torch::rand({2, 3, 4, 5}, torch::kFloat64) * 3 + 0.01;
    torch::Tensor y = p.forward(x, 1);
    EXPECT_TRUE(torch::allclose(y.select(1, 0), (torch::log1p(x.select(1, 0)) - 1.2) / 0.51));
    EXPECT_TRUE(torch::allclose(y.select(1, 1), (torch::log(x.select(1, 1) + 1e-6) + 4.2) / 1.75));
    EXPECT_TRUE(torch::allclose(y.select(1, 2), (x.select(1, 2) - 0.5) / 2.0));
    torch::Tensor back = p.inverse(y, 1);
    EXPECT_LT((back - x).abs().max().item<double>(), 1e-12);
    // channels may sit on another axis
    torch::Tensor xc = x.movedim(1, -1);
    EXPECT_TRUE(torch::allclose(p.forward(xc, -1), y.movedim(1, -1)));
}

TEST(Transform, BadNamesAndShapesAreUsageErrors) {
    EXPECT_THROW(parse_transform("log2"), lola::UsageError);
    EXPECT_EQ(parse_transform("log"), Transform::kLogEps);
    EXPECT_THROW(Preprocessor({Transform::kNone}, {0.0, 1.0}, {1.0}), lola::UsageError);
    EXPECT_THROW(Preprocessor({Transform::kNone}, {0.0}, {0.0}), lola::UsageError);
    Preprocessor p({Transform::kNone, Transform::kNone}, {0, 0}, {1, 1});
    EXPECT_THROW(p.forward(torch::zeros({3, 4}), 0), lola::Error);
}
