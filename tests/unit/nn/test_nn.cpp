// Tests of the nn building blocks (docs/method.md 3.1-3.2).
#include <gtest/gtest.h>

#include <torch/nn/modules/activation.h>

#include <cmath>
#include <string>
#include <vector>

#include "lola/core/error.h"
#include "lola/nn/blocks.h"
#include "lola/nn/layers.h"
#include "lola/nn/saturation.h"
#include "support/torch_support.h"

namespace {

using namespace lola;

using NnTest = test::SeededTest;
using test::rel_err;

std::vector<int64_t> spatial_shape(int64_t n, int64_t size) {
    return std::vector<int64_t>(static_cast<size_t>(n), size);
}

torch::Tensor randn_state(int64_t b, int64_t c, const std::vector<int64_t>& spatial) {
    std::vector<int64_t> shape{b, c};
    shape.insert(shape.end(), spatial.begin(), spatial.end());
    return torch::randn(shape);
}

// ==== convolution ====================================================================================================

TEST_F(NnTest, Conv_ShapeMatrix) {
    for (int64_t n : {2, 3}) {
        for (int64_t k : {1, 3, 5}) {
            for (bool circular : {false, true}) {
                for (int64_t size : {5, 6}) {
                    nn::Conv conv(nn::ConvOptions(3, 4, n).kernel_size(k).circular(circular));
                    torch::Tensor y = conv(randn_state(2, 3, spatial_shape(n, size)));
                    std::vector<int64_t> expected{2, 4};
                    for (int64_t s : spatial_shape(n, size)) {
                        expected.push_back(s);
                    }
                    EXPECT_EQ(y.sizes().vec(), expected) << "n=" << n << " k=" << k << " circular=" << circular;
                    std::vector<int64_t> w{4, 3};
                    w.insert(w.end(), static_cast<size_t>(n), k);
                    EXPECT_EQ(conv->weight.sizes().vec(), w);
                    EXPECT_EQ(nn::count_parameters(*conv), 3 * 4 * static_cast<int64_t>(std::pow(k, n)) + 4);
                }
            }
        }
    }
}

TEST_F(NnTest, Conv_RejectsBadInputAndOptions) {
    nn::Conv conv(3, 4, 2);
    EXPECT_THROW(conv(torch::randn({2, 5, 8, 8})), Error);
    EXPECT_THROW(conv(torch::randn({2, 3, 8, 8, 8})), Error);
    EXPECT_THROW(nn::Conv(nn::ConvOptions(3, 4, 1)), Error);
    EXPECT_THROW(nn::Conv(nn::ConvOptions(3, 4, 2).kernel_size(2)), Error);
}

TEST_F(NnTest, Conv_CircularPaddingIsTranslationEquivariant) {
    // A circular convolution commutes with periodic shifts; a zero-padded one does not (at the borders).
    for (int64_t n : {2, 3}) {
        torch::Tensor x = randn_state(1, 2, spatial_shape(n, 6));
        std::vector<int64_t> shifts(static_cast<size_t>(n), 2), dims;
        for (int64_t d = 0; d < n; ++d) {
            dims.push_back(2 + d);
        }
        nn::Conv circ(nn::ConvOptions(2, 3, n).circular(true));
        nn::Conv zero(nn::ConvOptions(2, 3, n));
        torch::NoGradGuard no_grad;
        // equal up to the order in which kernels sum the 2 x 3^n + 1 terms of each output
        EXPECT_TRUE(test::close_up_to_reordering(circ(torch::roll(x, shifts, dims)), torch::roll(circ(x), shifts, dims),
                                                 2 * 27 + 1));
        EXPECT_GT(rel_err(zero(torch::roll(x, shifts, dims)), torch::roll(zero(x), shifts, dims)), 1e-2);
        // away from the borders both agree
        zero->weight.copy_(circ->weight);
        zero->bias.copy_(circ->bias);
        torch::Tensor a = circ(x), b = zero(x);
        for (int64_t d = 0; d < n; ++d) {
            a = a.narrow(2 + d, 1, 4);
            b = b.narrow(2 + d, 1, 4);
        }
        // the same convolution on differently padded inputs: kernels may sum the terms in another order
        EXPECT_TRUE(test::close_up_to_reordering(a, b, 2 * 27 + 1));
    }
}

TEST_F(NnTest, Conv_DefaultInitRange) {
    nn::Conv conv(nn::ConvOptions(16, 32, 2));
    const double bound = 1.0 / std::sqrt(16.0 * 9.0);
    EXPECT_LE(conv->weight.abs().max().item<double>(), bound);
    EXPECT_LE(conv->bias.abs().max().item<double>(), bound);
    // uniform: std = bound / sqrt(3)
    EXPECT_NEAR(conv->weight.std().item<double>(), bound / std::sqrt(3.0), 0.05 * bound);
}

TEST_F(NnTest, NearIdentity_ExactPattern) {
    // weight_after = 0.01 * weight_before + eye, eye[o, o mod I, centre] = 1, for I < O, I = O and I > O, 2-D and 3-D
    for (int64_t n : {2, 3}) {
        for (auto [in, out] : std::vector<std::pair<int64_t, int64_t>>{{3, 8}, {5, 5}, {8, 3}}) {
            nn::Conv conv(nn::ConvOptions(in, out, n));
            torch::Tensor before = conv->weight.clone();
            nn::near_identity_(conv->weight);
            torch::Tensor eye = (conv->weight - 0.01 * before).view({out, in, -1});
            const int64_t centre = (eye.size(2) - 1) / 2;
            for (int64_t o = 0; o < out; ++o) {
                for (int64_t i = 0; i < in; ++i) {
                    for (int64_t k = 0; k < eye.size(2); ++k) {
                        const double expected = (i == o % in && k == centre) ? 1.0 : 0.0;
                        ASSERT_NEAR(eye[o][i][k].item<double>(), expected, 1e-6) << o << " " << i << " " << k;
                    }
                }
            }
        }
    }
}

TEST_F(NnTest, NearIdentity_ConvMapsInputsToThemselves) {
    // Same channels: conv(x) ~ x. Fewer outputs (down-sampling conv after space-to-depth): output o ~ input o.
    // More outputs (up-sampling conv before depth-to-space): output o ~ input o mod I.
    for (int64_t n : {2, 3}) {
        const int64_t s = n == 2 ? 16 : 8;
        for (auto [in, out] : std::vector<std::pair<int64_t, int64_t>>{{16, 16}, {32, 8}, {8, 32}}) {
            nn::Conv conv(nn::ConvOptions(in, out, n).identity_init(true));
            nn::Conv plain(nn::ConvOptions(in, out, n));
            torch::NoGradGuard no_grad;
            torch::Tensor x = randn_state(2, in, spatial_shape(n, s));
            torch::Tensor expected = x.index_select(1, torch::remainder(torch::arange(out), in));
            // the bias keeps its default init (|b| < 1/sqrt(9 I)), hence a few percent of error
            EXPECT_LT(rel_err(conv(x), expected), 0.12) << "n=" << n << " " << in << "->" << out;
            EXPECT_GT(rel_err(plain(x), expected), 0.5); // the check fails without the identity init
        }
    }
}

TEST_F(NnTest, NearIdentity_DownThenUpSamplingReconstructs) {
    // depth_to_space(up(down(space_to_depth(x)))) ~ x when both convolutions are identity-initialised and keep the
    // 2^N C channels, as in a DC-AE level whose width grows by 2^N.
    for (int64_t n : {2, 3}) {
        const int64_t c = 3, block = int64_t{1} << n, s = n == 2 ? 16 : 8;
        nn::Conv down(nn::ConvOptions(block * c, block * c, n).identity_init(true));
        nn::Conv up(nn::ConvOptions(block * c, block * c, n).identity_init(true));
        torch::NoGradGuard no_grad;
        torch::Tensor x = randn_state(2, c, spatial_shape(n, s));
        torch::Tensor y = nn::depth_to_space(up(down(nn::space_to_depth(x))));
        EXPECT_EQ(y.sizes(), x.sizes());
        EXPECT_LT(rel_err(y, x), 0.15);
    }
}

TEST_F(NnTest, NearIdentity_NeedsOddKernel) {
    torch::Tensor w = torch::randn({4, 4, 2, 2});
    EXPECT_THROW(nn::near_identity_(w), Error);
}

// ==== linear =========================================================================================================

TEST_F(NnTest, Linear_MatchesFormula) {
    nn::Linear lin(6, 4);
    torch::Tensor x = torch::randn({3, 6});
    EXPECT_TRUE(test::close_up_to_reordering(lin(x), x.matmul(lin->weight.t()) + lin->bias, 6 + 1));
    EXPECT_EQ(nn::count_parameters(*lin), 28);
    EXPECT_EQ(nn::count_parameters(*nn::Linear(6, 4, false)), 24);
}

// ==== normalisation ==================================================================================================

TEST_F(NnTest, ChannelLayerNorm_HandExampleUnbiased) {
    // one position with channels (1, 2, 3, 6): mean 3, unbiased variance (4 + 1 + 0 + 9) / 3 = 14/3
    torch::Tensor x = torch::tensor({1.0, 2.0, 3.0, 6.0}, torch::kDouble).view({1, 4, 1, 1});
    torch::Tensor y = nn::ChannelLayerNorm()(x).flatten();
    const double sd = std::sqrt(14.0 / 3.0 + 1e-5);
    const double expected[] = {-2.0 / sd, -1.0 / sd, 0.0, 3.0 / sd};
    for (int i = 0; i < 4; ++i) {
        EXPECT_NEAR(y[i].item<double>(), expected[i], 1e-12);
    }
    // the biased variance (3.5) would give -2 / sqrt(3.5) = -1.069 instead of -0.926
    EXPECT_GT(std::abs(y[0].item<double>() + 2.0 / std::sqrt(3.5 + 1e-5)), 0.1);
}

TEST_F(NnTest, ChannelLayerNorm_NormalisesEachPositionOverChannels) {
    for (int64_t n : {2, 3}) {
        torch::Tensor x = 3.0 * randn_state(2, 7, spatial_shape(n, 4)) + 1.5;
        nn::ChannelLayerNorm norm;
        torch::Tensor y = norm(x);
        EXPECT_EQ(y.sizes(), x.sizes());
        EXPECT_LT(y.mean(1).abs().max().item<double>(), 1e-5);
        // unbiased variance 1 (up to eps), biased variance 6/7
        EXPECT_NEAR(y.var(1, /*unbiased=*/true).mean().item<double>(), 1.0, 1e-4);
        EXPECT_EQ(nn::count_parameters(*norm), 0);
        // each position is normalised on its own: changing one position leaves the others unchanged
        torch::Tensor x2 = x.clone();
        x2.select(0, 0).select(1, 0).mul_(10.0);
        torch::Tensor y2 = norm(x2);
        EXPECT_TRUE(torch::equal(y2.select(0, 1), y.select(0, 1)));
        EXPECT_TRUE(torch::equal(y2.select(0, 0).select(1, 1), y.select(0, 0).select(1, 1)));
    }
}

// ==== space-to-depth =================================================================================================

TEST_F(NnTest, SpaceToDepth_ChannelOrderByHand2D) {
    const int64_t c = 2, h = 4, w = 6;
    torch::Tensor x = torch::arange(c * h * w, torch::kFloat).view({1, c, h, w});
    torch::Tensor y = nn::space_to_depth(x);
    ASSERT_EQ(y.sizes().vec(), (std::vector<int64_t>{1, c * 4, h / 2, w / 2}));
    torch::Tensor yc = y.contiguous();
    auto xa = x.accessor<float, 4>();
    auto ya = yc.accessor<float, 4>();
    for (int64_t ch = 0; ch < c; ++ch) {
        for (int64_t d1 = 0; d1 < 2; ++d1) {
            for (int64_t d2 = 0; d2 < 2; ++d2) {
                for (int64_t i = 0; i < h / 2; ++i) {
                    for (int64_t j = 0; j < w / 2; ++j) {
                        ASSERT_EQ(ya[0][ch * 4 + d1 * 2 + d2][i][j], xa[0][ch][2 * i + d1][2 * j + d2]);
                    }
                }
            }
        }
    }
    // in 2-D this is torch's pixel_unshuffle
    EXPECT_TRUE(torch::equal(y, torch::pixel_unshuffle(x, 2)));
    // a literal value: channel 1*4 + 1*2 + 0 = 6 at (0, 1) is x[0, 1, 1, 2] = 24 + 6 + 2 = 32
    EXPECT_EQ(ya[0][6][0][1], 32.0f);
}

TEST_F(NnTest, SpaceToDepth_ChannelOrderByHand3D) {
    const int64_t c = 2, s = 4;
    torch::Tensor x = torch::arange(c * s * s * s, torch::kFloat).view({1, c, s, s, s});
    torch::Tensor y = nn::space_to_depth(x);
    ASSERT_EQ(y.sizes().vec(), (std::vector<int64_t>{1, c * 8, 2, 2, 2}));
    torch::Tensor yc = y.contiguous();
    auto xa = x.accessor<float, 5>();
    auto ya = yc.accessor<float, 5>();
    for (int64_t ch = 0; ch < c; ++ch) {
        for (int64_t d = 0; d < 8; ++d) {
            const int64_t d1 = d / 4, d2 = (d / 2) % 2, d3 = d % 2;
            for (int64_t i = 0; i < 2; ++i) {
                for (int64_t j = 0; j < 2; ++j) {
                    for (int64_t k = 0; k < 2; ++k) {
                        ASSERT_EQ(ya[0][ch * 8 + d1 * 4 + d2 * 2 + d3][i][j][k],
                                  xa[0][ch][2 * i + d1][2 * j + d2][2 * k + d3]);
                    }
                }
            }
        }
    }
}

TEST_F(NnTest, SpaceToDepth_InverseAndErrors) {
    for (int64_t n : {2, 3}) {
        for (int64_t f : {2, 3}) {
            torch::Tensor x = randn_state(2, 3, spatial_shape(n, 6));
            torch::Tensor y = nn::space_to_depth(x, f);
            EXPECT_EQ(y.size(1), 3 * static_cast<int64_t>(std::pow(f, n)));
            EXPECT_TRUE(torch::equal(nn::depth_to_space(y, f), x));
            EXPECT_TRUE(torch::equal(nn::space_to_depth(nn::depth_to_space(y, f), f), y));
        }
    }
    EXPECT_THROW(nn::space_to_depth(torch::randn({1, 2, 6, 5})), Error);
    EXPECT_THROW(nn::depth_to_space(torch::randn({1, 6, 4, 4})), Error);
}

// ==== attention ======================================================================================================

TEST_F(NnTest, Attention_MatchesTorchMultiheadAttention) {
    const int64_t c = 16, heads = 4, b = 2, h = 3, w = 5;
    nn::MultiheadSelfAttention attn(c, heads);
    EXPECT_EQ(attn->in_proj_weight.sizes().vec(), (std::vector<int64_t>{3 * c, c}));
    EXPECT_EQ(nn::count_parameters(*attn), 4 * c * c + 4 * c);
    torch::nn::MultiheadAttention ref(torch::nn::MultiheadAttentionOptions(c, heads));
    {
        torch::NoGradGuard no_grad;
        attn->in_proj_bias.uniform_(-0.5, 0.5); // nonzero biases, so that their placement is checked too
        attn->out_proj->bias.uniform_(-0.5, 0.5);
        ref->in_proj_weight.copy_(attn->in_proj_weight);
        ref->in_proj_bias.copy_(attn->in_proj_bias);
        ref->out_proj->weight.copy_(attn->out_proj->weight);
        ref->out_proj->bias.copy_(attn->out_proj->bias);
    }
    torch::Tensor x = torch::randn({b, c, h, w});
    torch::Tensor tokens = x.flatten(2).permute({2, 0, 1}); // (L, B, C)
    torch::Tensor expected = std::get<0>(ref->forward(tokens, tokens, tokens)).permute({1, 2, 0}).reshape(x.sizes());
    EXPECT_LT(rel_err(attn(x), expected), 1e-5);
    // 3-D input too
    torch::Tensor x3 = torch::randn({b, c, 2, 3, 2});
    torch::Tensor t3 = x3.flatten(2).permute({2, 0, 1});
    torch::Tensor e3 = std::get<0>(ref->forward(t3, t3, t3)).permute({1, 2, 0}).reshape(x3.sizes());
    EXPECT_LT(rel_err(attn(x3), e3), 1e-5);
    EXPECT_THROW(nn::MultiheadSelfAttention(10, 4), Error);
}

// ==== residual block =================================================================================================

TEST_F(NnTest, ResBlock_ShapesAndParameterCounts) {
    for (int64_t n : {2, 3}) {
        for (int64_t heads : {0, 2}) {
            const int64_t c = 8;
            nn::ResBlock block(nn::ResBlockOptions(c, n).attention_heads(heads));
            torch::Tensor x = randn_state(2, c, spatial_shape(n, 5));
            EXPECT_EQ(block(x).sizes(), x.sizes());
            const int64_t k = heads > 0 ? 1 : static_cast<int64_t>(std::pow(3, n));
            const int64_t attn = heads > 0 ? 4 * c * c + 4 * c : 0;
            EXPECT_EQ(nn::count_parameters(*block), attn + 2 * (k * c * c + c)) << "n=" << n << " heads=" << heads;
            EXPECT_EQ(block->conv1->weight.size(2), heads > 0 ? 1 : 3);
            EXPECT_EQ(static_cast<bool>(block->attn), heads > 0);
        }
    }
}

TEST_F(NnTest, ResBlock_LastConvScaledAndNearIdentity) {
    const int64_t c = 16;
    nn::ResBlock block(nn::ResBlockOptions(c, 2));
    const double bound = 1.0 / std::sqrt(9.0 * c);
    EXPECT_LE(block->conv2->weight.abs().max().item<double>(), 0.01 * bound);
    EXPECT_GT(block->conv2->weight.abs().max().item<double>(), 0.005 * bound);
    EXPECT_GT(block->conv1->weight.abs().max().item<double>(), 0.5 * bound); // conv1 is not scaled
    block->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor x = torch::randn({2, c, 8, 8});
    EXPECT_LT(rel_err(block(x), x), 0.1); // the bias of conv2 is not scaled
}

TEST_F(NnTest, ResBlock_DropoutOnlyInTraining) {
    nn::ResBlock block(nn::ResBlockOptions(8, 2).dropout(0.5));
    torch::NoGradGuard no_grad;
    torch::Tensor x = torch::randn({2, 8, 6, 6});
    block->train();
    EXPECT_FALSE(torch::equal(block(x), block(x)));
    block->eval();
    EXPECT_TRUE(torch::equal(block(x), block(x)));
}

TEST_F(NnTest, ResBlock_EveryParameterGetsAGradient) {
    for (int64_t heads : {0, 2}) {
        nn::ResBlock block(nn::ResBlockOptions(8, 2).attention_heads(heads).circular(true));
        torch::Tensor x = torch::randn({2, 8, 6, 6});
        block(x).square().sum().backward();
        for (const auto& p : block->named_parameters()) {
            ASSERT_TRUE(p.value().grad().defined()) << p.key();
            EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
            EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
        }
    }
}

TEST_F(NnTest, Module_CloneCopiesValuesIntoIndependentParameters) {
    nn::ResBlock block(nn::ResBlockOptions(8, 2).attention_heads(2));
    block->eval();
    auto copy = std::dynamic_pointer_cast<nn::ResBlockImpl>(block->clone());
    ASSERT_TRUE(copy);
    torch::NoGradGuard no_grad;
    torch::Tensor x = torch::randn({1, 8, 4, 4});
    EXPECT_TRUE(torch::equal(copy->forward(x), block(x)));
    copy->conv1->weight.add_(1.0);
    EXPECT_FALSE(torch::equal(copy->conv1->weight, block->conv1->weight));
}

// ==== parameter device ===============================================================================================

TEST_F(NnTest, ParameterDeviceGuard_BuildsOnMetaAndRestores) {
    {
        nn::ParameterDeviceGuard guard(torch::kMeta);
        nn::ResBlock block(nn::ResBlockOptions(64, 3).attention_heads(4));
        for (const auto& p : block->parameters()) {
            EXPECT_TRUE(p.is_meta());
        }
        EXPECT_EQ(nn::count_parameters(*block), 4 * 64 * 64 + 4 * 64 + 2 * (64 * 64 + 64));
    }
    EXPECT_EQ(nn::parameter_device(), torch::Device(torch::kCPU));
    nn::Conv conv(2, 2);
    EXPECT_FALSE(conv->weight.is_meta());
}

// ==== saturations ====================================================================================================

TEST_F(NnTest, Saturation_BoundedOddAndHandValues) {
    torch::Tensor z = torch::linspace(-1e6, 1e6, 2001, torch::kDouble);
    z = torch::cat({z, torch::linspace(-20, 20, 401, torch::kDouble)});
    const double b = nn::kSaturationBound;
    for (auto s : {nn::Saturation::kSoftclip2, nn::Saturation::kSoftclip, nn::Saturation::kTanh}) {
        torch::Tensor y = nn::saturate(z, s);
        EXPECT_LE(y.abs().max().item<double>(), b) << nn::to_string(s);
        EXPECT_GT(y.abs().max().item<double>(), 0.99 * b) << nn::to_string(s); // approaches the bound
        EXPECT_TRUE(torch::equal(nn::saturate(-z, s), -y)) << nn::to_string(s);
        // close to the identity near 0
        torch::Tensor small = torch::tensor({1e-3}, torch::kDouble);
        EXPECT_NEAR(nn::saturate(small, s).item<double>(), 1e-3, 1e-6) << nn::to_string(s);
    }
    torch::Tensor five = torch::tensor({5.0}, torch::kDouble);
    EXPECT_NEAR(nn::saturate(five, nn::Saturation::kSoftclip2).item<double>(), 5.0 / std::sqrt(2.0), 1e-12);
    EXPECT_NEAR(nn::saturate(five, nn::Saturation::kSoftclip).item<double>(), 2.5, 1e-12);
    EXPECT_NEAR(nn::saturate(five, nn::Saturation::kTanh).item<double>(), 5.0 * std::tanh(1.0), 1e-12);
    torch::Tensor one = torch::tensor({1.0}, torch::kDouble);
    EXPECT_NEAR(nn::saturate(one, nn::Saturation::kArcsinh).item<double>(), std::log(1.0 + std::sqrt(2.0)), 1e-12);
    EXPECT_TRUE(torch::equal(nn::saturate(-z, nn::Saturation::kArcsinh), -nn::saturate(z, nn::Saturation::kArcsinh)));
    EXPECT_TRUE(torch::equal(nn::saturate(z, nn::Saturation::kNone), z));

    // rms over channels: odd, every element bounded by sqrt(C), unit mean square per position
    torch::Tensor x = 100.0 * torch::randn({2, 4, 3, 3}, torch::kDouble);
    torch::Tensor r = nn::saturate(x, nn::Saturation::kRms);
    EXPECT_TRUE(torch::allclose(nn::saturate(-x, nn::Saturation::kRms), -r));
    EXPECT_LE(r.abs().max().item<double>(), 2.0);
    EXPECT_NEAR(r.square().mean(1).mean().item<double>(), 1.0, 1e-6);
}

TEST_F(NnTest, Saturation_ParseRoundTripAndUnknownName) {
    for (const char* name : {"softclip2", "softclip", "tanh", "arcsinh", "rms", "none"}) {
        EXPECT_EQ(std::string(nn::to_string(nn::parse_saturation(name))), name);
    }
    try {
        nn::parse_saturation("softclip3");
        FAIL() << "expected a UsageError";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("softclip2"), std::string::npos) << e.what();
    }
}

} // namespace
