// Tests of the emulator backbones (docs/method.md 4.4-4.5, 5, 6.1): embeddings, the spatio-temporal ViT, the U-Net, the
// backbone options and the exact parameter counts of the paper's models.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/options.h"
#include "lola/nn/backbone.h"
#include "lola/nn/embedding.h"
#include "lola/nn/layers.h"
#include "lola/nn/unet.h"
#include "lola/nn/vit.h"
#include "support/torch_support.h"

namespace {

using namespace lola;

using BackboneTest = test::SeededTest;
using test::rel_err;

nn::BackboneOptions preset(const std::string& group, const std::string& name) {
    const auto path = core::config_group_dir(group) / (name + ".yaml");
    return core::read_options<nn::BackboneOptions>(core::load_yaml_file(path), group);
}

std::vector<int64_t> window(int64_t b, int64_t c, std::vector<int64_t> axes) {
    std::vector<int64_t> shape{b, c};
    shape.insert(shape.end(), axes.begin(), axes.end());
    return shape;
}

/// Parameters of a denoiser (backbone + time embedding + label embedding) or, without the time embedding, of a
/// neural solver; built on the meta device (no memory, no values).
int64_t emulator_parameters(const nn::BackboneOptions& o, int64_t channels, int64_t label_dim, int64_t axes,
                            bool time_embedding) {
    nn::ParameterDeviceGuard meta(torch::kMeta);
    auto backbone = nn::make_backbone(o, channels, channels, channels, axes, nn::kModFeatures);
    int64_t n = nn::count_parameters(*backbone) + nn::count_parameters(*nn::EmbeddingMLP(label_dim));
    if (time_embedding) {
        n += nn::count_parameters(*nn::EmbeddingMLP(nn::kModFeatures));
    }
    return n;
}

// ==== embeddings =====================================================================================================

TEST_F(BackboneTest, SinusoidalEncoding_SinThenCosWithGeometricFrequencies) {
    torch::Tensor x = torch::tensor({0.0, 0.5, -3.0, 250.0}, torch::kDouble);
    const int64_t d = 8;
    torch::Tensor e = nn::sinusoidal_encoding(x, d);
    ASSERT_EQ(e.sizes().vec(), (std::vector<int64_t>{4, d}));
    for (int64_t i = 0; i < 4; ++i) {
        for (int64_t k = 0; k < d / 2; ++k) {
            const double f = std::pow(1e3, -static_cast<double>(k) / (d / 2 - 1));
            const double xi = x[i].item<double>();
            EXPECT_NEAR(e[i][k].item<double>(), std::sin(xi * f), 1e-12) << i << " " << k;
            EXPECT_NEAR(e[i][d / 2 + k].item<double>(), std::cos(xi * f), 1e-12) << i << " " << k;
        }
    }
    EXPECT_EQ(nn::sinusoidal_encoding(torch::zeros({2, 3}), 256).sizes().vec(), (std::vector<int64_t>{2, 3, 256}));
    EXPECT_THROW(nn::sinusoidal_encoding(x, 7), Error);
}

TEST_F(BackboneTest, EmbeddingMLP_ShapesAndParameters) {
    nn::EmbeddingMLP time(256), label(5);
    EXPECT_EQ(nn::count_parameters(*time), 131584);
    EXPECT_EQ(nn::count_parameters(*label), 67328);
    torch::NoGradGuard no_grad;
    torch::Tensor theta = torch::randn({3, 5});
    torch::Tensor batched = label(theta);
    EXPECT_EQ(batched.sizes().vec(), (std::vector<int64_t>{3, 256}));
    // unbatched = one row, up to the reordering of fc1 (5 terms) and fc2 (256 terms) in another GEMM kernel
    EXPECT_TRUE(test::close_up_to_reordering(label(theta[1]), batched[1], 256, 2));
    torch::Tensor manual = label->fc2(at::silu(label->fc1(theta)));
    EXPECT_LT(rel_err(batched, manual), 1e-7);
    EXPECT_THROW(label(torch::randn({3, 4})), Error);
}

// ==== parameter counts ===============================================================================================

TEST_F(BackboneTest, ParameterCounts_MatchThePaper) {
    const auto large = preset("denoiser", "vit_large");
    EXPECT_EQ(emulator_parameters(large, 64, 5, 3, true), 222888256); // Euler c64
    EXPECT_EQ(emulator_parameters(large, 64, 6, 3, true), 222888512); // RB c64
    EXPECT_EQ(emulator_parameters(large, 64, 9, 4, true), 223946048); // TGC c64
    EXPECT_EQ(emulator_parameters(large, 16, 5, 3, true), 222740752); // Euler c16
    EXPECT_EQ(emulator_parameters(large, 4, 5, 3, true), 222703876);  // Euler c4
    const auto solver = preset("surrogate", "vit_large");
    EXPECT_EQ(emulator_parameters(solver, 64, 5, 3, false), 222756672); // latent neural solver Euler c64
    EXPECT_EQ(emulator_parameters(solver, 64, 6, 3, false), 222756928); // RB c64 (notebook)
    EXPECT_EQ(emulator_parameters(solver, 64, 9, 4, false), 223814464); // TGC c64 (notebook)
    const auto pixel = preset("surrogate", "vit_pixel");
    EXPECT_EQ(emulator_parameters(pixel, 5, 5, 3, false), 860810240); // pixel neural solver Euler
    EXPECT_EQ(emulator_parameters(pixel, 4, 6, 3, false), 859237376); // pixel neural solver RB
    const int64_t small = emulator_parameters(preset("denoiser", "vit_small"), 64, 5, 3, true);
    EXPECT_NEAR(static_cast<double>(small), 61.0e6, 0.05e6);
}

TEST_F(BackboneTest, Presets_LoadAndBuild) {
    for (const std::string group : {"denoiser", "surrogate"}) {
        for (const auto& entry : std::filesystem::directory_iterator(core::config_group_dir(group))) {
            const auto o = core::read_options<nn::BackboneOptions>(core::load_yaml_file(entry.path()), group);
            EXPECT_EQ(o.name, entry.path().stem().string()) << entry.path();
            nn::ParameterDeviceGuard meta(torch::kMeta);
            EXPECT_GT(nn::count_parameters(*nn::make_backbone(o, 16, 16, 16, 3, 256)), 0) << entry.path();
        }
    }
    // the unet_deep preset has the paper's structure
    const auto u = preset("denoiser", "unet_deep");
    EXPECT_EQ(u.arch, "unet");
    EXPECT_EQ(u.unet_channels, (std::vector<int64_t>{64, 128, 256, 512, 768, 1024}));
    EXPECT_TRUE(u.periodic);
}

TEST_F(BackboneTest, Options_RejectBadValues) {
    nn::BackboneOptions o;
    o.arch = "transformer";
    try {
        nn::make_backbone(o, 4, 4, 4, 3, 256);
        FAIL() << "no error";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("vit, unet"), std::string::npos) << e.what();
    }
    YAML::Node bad;
    bad["hid_chanels"] = 64;
    try {
        core::read_options<nn::BackboneOptions>(bad, "denoiser");
        FAIL() << "no error";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("hid_channels"), std::string::npos) << e.what();
    }
    YAML::Node heads;
    heads["attention_heads"] = 3;
    EXPECT_THROW(core::read_options<nn::BackboneOptions>(heads, "backbone"), UsageError);
    nn::BackboneOptions p = preset("denoiser", "tiny");
    p.patch_size = {1, 2};
    EXPECT_THROW(nn::make_backbone(p, 4, 4, 4, 3, 256), UsageError); // 2 patch entries for 3 axes
    // round trip through YAML
    const auto q =
        core::read_options<nn::BackboneOptions>(core::options_to_yaml(preset("surrogate", "vit_pixel")), "backbone");
    EXPECT_EQ(q.patch_size, (std::vector<int64_t>{1, 16, 16}));
    EXPECT_EQ(q.hid_channels, 2048);
}

// ==== tokens =========================================================================================================

TEST_F(BackboneTest, Patchify_ChannelMajorTokensAndRoundTrip) {
    const int64_t b = 2, c = 3;
    const std::vector<int64_t> shape{4, 6, 2}, patch{2, 3, 1}, grid{2, 2, 2};
    torch::Tensor x = torch::randn(window(b, c, shape));
    torch::Tensor t = nn::patchify(x, patch);
    ASSERT_EQ(t.sizes().vec(), (std::vector<int64_t>{b, 8, c * 6}));
    // token (g0, g1, g2), feature c * 6 + (d0 * 3 + d1) holds x[b, c, g0*2 + d0, g1*3 + d1, g2]
    for (int64_t bi = 0; bi < b; ++bi) {
        for (int64_t g0 = 0; g0 < 2; ++g0) {
            for (int64_t g1 = 0; g1 < 2; ++g1) {
                for (int64_t g2 = 0; g2 < 2; ++g2) {
                    const int64_t token = (g0 * 2 + g1) * 2 + g2;
                    for (int64_t ci = 0; ci < c; ++ci) {
                        for (int64_t d0 = 0; d0 < 2; ++d0) {
                            for (int64_t d1 = 0; d1 < 3; ++d1) {
                                EXPECT_EQ(t[bi][token][ci * 6 + d0 * 3 + d1].item<float>(),
                                          x[bi][ci][g0 * 2 + d0][g1 * 3 + d1][g2].item<float>());
                            }
                        }
                    }
                }
            }
        }
    }
    EXPECT_TRUE(torch::equal(nn::unpatchify(t, grid, patch), x));
    EXPECT_THROW(nn::patchify(x, {3, 3, 1}), Error);
    torch::Tensor coords = nn::grid_coordinates(grid);
    ASSERT_EQ(coords.sizes().vec(), (std::vector<int64_t>{8, 3}));
    EXPECT_TRUE(torch::equal(coords[5], torch::tensor({1.0f, 0.0f, 1.0f}))); // token 5 = (1, 0, 1)
}

// ==== RoPE ===========================================================================================================

TEST_F(BackboneTest, Rope_IsARotationThatDependsOnCoordinateDifferences) {
    const int64_t d = 32, heads = 2, axes = 3, t = 6;
    nn::RotaryEmbedding rope(d, heads, axes);
    // init: unit directions along the spatial axis, amplitudes in [0.01, 1]
    torch::Tensor norms = rope->theta.norm(2, {0});
    EXPECT_TRUE(torch::all(norms >= 0.01 - 1e-6).item<bool>() && torch::all(norms <= 1.0 + 1e-6).item<bool>());
    EXPECT_GT((norms.max() - norms.min()).item<double>(), 0.1);
    torch::NoGradGuard no_grad;
    torch::Tensor q = torch::randn({2, heads, t, d / heads}), k = torch::randn({2, heads, t, d / heads});
    torch::Tensor p = torch::randn({t, axes}) * 5;
    torch::Tensor rq = rope(q, p), rk = rope(k, p);
    EXPECT_LT(rel_err(rq.norm(2, {-1}), q.norm(2, {-1})), 1e-5);
    EXPECT_GT(rel_err(rq, q), 0.1);
    // all pairwise scores are unchanged by a common shift of the coordinates
    torch::Tensor shift = torch::tensor({3.0f, -7.0f, 11.5f});
    torch::Tensor scores = at::matmul(rq, rk.transpose(-1, -2));
    torch::Tensor shifted = at::matmul(rope(q, p + shift), rope(k, p + shift).transpose(-1, -2));
    EXPECT_LT(rel_err(shifted, scores), 1e-4);
    // explicit pair rotation for one element: head 1, pair i = 2
    const int64_t h = 1, i = 2, tok = 4, dh = d / heads;
    const double phi = at::matmul(p[tok], rope->theta).index({h * dh / 2 + i}).item<double>();
    const double x0 = q[0][h][tok][2 * i].item<double>(), x1 = q[0][h][tok][2 * i + 1].item<double>();
    EXPECT_NEAR(rq[0][h][tok][2 * i].item<double>(), x0 * std::cos(phi) - x1 * std::sin(phi), 1e-5);
    EXPECT_NEAR(rq[0][h][tok][2 * i + 1].item<double>(), x0 * std::sin(phi) + x1 * std::cos(phi), 1e-5);
}

// ==== ViT ============================================================================================================

TEST_F(BackboneTest, ViTBlock_MatchesTheFormulasOfThePaper) {
    const int64_t d = 16, heads = 2, axes = 2, t = 6, m = 8, dh = d / heads;
    nn::ViTBlock block(d, heads, axes, m, 2, 0.0, true, true);
    block->eval();
    torch::NoGradGuard no_grad;
    for (auto& prm : block->parameters()) { // larger modulation so that every term matters
        prm.copy_(torch::randn_like(prm) * 0.3);
    }
    torch::Tensor x = torch::randn({2, t, d}), s = torch::randn({2, t, d}), emb = torch::randn({2, m});
    torch::Tensor coords = nn::grid_coordinates({2, 3});
    torch::Tensor y = block(x, emb, s, coords);

    auto abcd = block->mod_out(at::silu(block->mod_in(emb))).unsqueeze(1).chunk(4, -1);
    torch::Tensor mean = x.mean(-1, true), var = (x - mean).square().mean(-1, true);
    torch::Tensor h = (1 + abcd[0]) * (x - mean) / at::sqrt(var + 1e-5) + abcd[1];
    torch::Tensor qkv = at::matmul(h, block->qkv->weight.t()); // (B, T, 3D)
    std::vector<torch::Tensor> heads_out;
    for (int64_t hh = 0; hh < heads; ++hh) {
        auto slice = [&](int64_t part) { return qkv.narrow(-1, part * d + hh * dh, dh); };
        auto norm = [](const torch::Tensor& v) { return v / at::sqrt(v.square().mean(-1, true) + 1e-5); };
        torch::Tensor q = norm(slice(0)), k = norm(slice(1)), v = slice(2);
        torch::Tensor phi = at::matmul(coords, block->rope->theta).narrow(-1, hh * dh / 2, dh / 2); // (T, dh/2)
        auto rot = [&](const torch::Tensor& z) {
            torch::Tensor e = z.index({"...", torch::indexing::Slice(0, torch::indexing::None, 2)});
            torch::Tensor o = z.index({"...", torch::indexing::Slice(1, torch::indexing::None, 2)});
            return torch::stack({e * at::cos(phi) - o * at::sin(phi), e * at::sin(phi) + o * at::cos(phi)}, -1)
                .flatten(-2);
        };
        torch::Tensor att = at::softmax(at::matmul(rot(q), rot(k).transpose(-1, -2)) / std::sqrt(double(dh)), -1);
        heads_out.push_back(at::matmul(att, v));
    }
    h = h + block->out(torch::cat(heads_out, -1));
    h = block->ffn2(at::silu(block->ffn1(h)));
    torch::Tensor c = abcd[2], dd = abcd[3];
    torch::Tensor expected = (x + c * h) / at::sqrt(1 + c * c);
    expected = (expected + dd * s) / at::sqrt(1 + dd * dd);
    EXPECT_LT(rel_err(y, expected), 1e-5);
}

TEST_F(BackboneTest, ViT_ShapesPatchesAndAxes) {
    auto o = preset("denoiser", "tiny");
    torch::NoGradGuard no_grad;
    { // 3 axes, patch (1, 2, 2), batched and unbatched emb agree
        o.patch_size = {1, 2, 2};
        auto vit = nn::make_backbone(o, 4, 3, 4, 3, 256);
        vit->eval();
        torch::Tensor x = torch::randn(window(2, 4, {3, 4, 6})), cond = torch::randn(window(2, 4, {3, 4, 6}));
        torch::Tensor emb = torch::randn({256});
        torch::Tensor y = vit->forward(x, emb.expand({2, 256}), cond);
        EXPECT_EQ(y.sizes().vec(), window(2, 3, {3, 4, 6}));
        EXPECT_LT(rel_err(vit->forward(x, emb, cond), y), test::reorder_tolerance(torch::kFloat32, 256, 8));
        EXPECT_THROW(vit->forward(torch::randn(window(2, 4, {3, 5, 6})), emb, torch::randn(window(2, 4, {3, 5, 6}))),
                     Error);
        EXPECT_THROW(vit->forward(x, emb, torch::Tensor()), Error); // cond required
        auto* as_vit = dynamic_cast<nn::ViT*>(vit.get());
        ASSERT_NE(as_vit, nullptr);
        EXPECT_EQ(as_vit->in_proj->in_features, 8 * 4);
        EXPECT_EQ(as_vit->out_proj->out_features, 3 * 4);
    }
    { // a double-precision model (coordinates and encodings follow the parameters' dtype)
        o.patch_size = {1};
        auto vit = nn::make_backbone(o, 2, 2, 2, 3, 256);
        vit->to(torch::kDouble);
        torch::Tensor x = torch::randn(window(2, 2, {2, 3, 3}), torch::kDouble);
        torch::Tensor y = vit->forward(x, torch::randn({2, 256}, torch::kDouble), torch::zeros_like(x));
        EXPECT_EQ(y.scalar_type(), torch::kDouble);
        EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
    }
    { // 4 axes (3-D data), no cond, no modulation
        o.patch_size = {1};
        auto vit = nn::make_backbone(o, 2, 2, 0, 4, 0);
        torch::Tensor y = vit->forward(torch::randn(window(1, 2, {2, 2, 3, 2})), torch::Tensor(), torch::Tensor());
        EXPECT_EQ(y.sizes().vec(), window(1, 2, {2, 2, 3, 2}));
        EXPECT_THROW(vit->forward(torch::randn(window(1, 2, {2, 2, 3, 2})), torch::randn({256}), torch::Tensor()),
                     Error);
    }
}

void expect_all_gradients(torch::nn::Module& model, const std::string& what) {
    int64_t n = 0;
    for (const auto& item : model.named_parameters()) {
        ++n;
        ASSERT_TRUE(item.value().grad().defined()) << what << ": no gradient for " << item.key();
        EXPECT_GT(item.value().grad().abs().max().item<double>(), 0.0) << what << ": zero gradient for " << item.key();
    }
    EXPECT_GT(n, 10) << what;
}

TEST_F(BackboneTest, ViT_EveryParameterGetsAGradient) {
    auto o = preset("denoiser", "tiny");
    for (int64_t mod : {int64_t{256}, int64_t{0}}) {
        auto vit = nn::make_backbone(o, 3, 3, 3, 3, mod);
        torch::Tensor x = torch::randn(window(2, 3, {3, 2, 3})), cond = torch::randn(window(2, 3, {3, 2, 3}));
        torch::Tensor emb = mod > 0 ? torch::randn({2, mod}) : torch::Tensor();
        vit->forward(x, emb, cond).square().sum().backward();
        expect_all_gradients(*vit, mod > 0 ? "ViT with modulation" : "ViT without modulation");
    }
}

// ==== U-Net ==========================================================================================================

nn::BackboneOptions tiny_unet() {
    nn::BackboneOptions o;
    o.name = "unet_tiny";
    o.arch = "unet";
    o.unet_channels = {8, 16, 24};
    o.unet_blocks = {1, 1, 2};
    o.unet_stride = {1, 2, 2};
    o.unet_attention_levels = {2};
    o.attention_heads = 2;
    o.ffn_factor = 1;
    o.dropout = 0.0;
    return o;
}

TEST_F(BackboneTest, UNet_ShapesAndGradients) {
    auto o = tiny_unet();
    auto unet = nn::make_backbone(o, 3, 2, 3, 3, 256);
    ASSERT_NE(dynamic_cast<nn::UNet*>(unet.get()), nullptr);
    torch::Tensor x = torch::randn(window(2, 3, {3, 5, 6})), cond = torch::randn(window(2, 3, {3, 5, 6}));
    torch::Tensor y = unet->forward(x, torch::randn({2, 256}), cond);
    EXPECT_EQ(y.sizes().vec(), window(2, 2, {3, 5, 6})); // odd sizes are cropped back
    y.square().sum().backward();
    expect_all_gradients(*unet, "U-Net");

    o.periodic = false;
    o.unet_stride = {2};
    auto plain = nn::make_backbone(o, 2, 2, 0, 2, 0); // 2 axes, no cond, no modulation
    torch::NoGradGuard no_grad;
    EXPECT_EQ(plain->forward(torch::randn({1, 2, 8, 8}), torch::Tensor(), torch::Tensor()).sizes().vec(),
              (std::vector<int64_t>{1, 2, 8, 8}));
    EXPECT_THROW(nn::make_backbone(o, 2, 2, 0, 4, 0), UsageError); // no 4-D convolution
}

TEST_F(BackboneTest, UNet_StridedAndMergeConvsStartNearIdentity) {
    auto o = tiny_unet();
    o.unet_stride = {1};
    auto unet = nn::make_backbone(o, 3, 3, 0, 3, 0);
    auto* u = dynamic_cast<nn::UNet*>(unet.get());
    ASSERT_NE(u, nullptr);
    torch::NoGradGuard no_grad;
    // with stride 1 the identity-initialised down conv maps channel c of level 0 to channel c of level 1 (~)
    auto down = u->down[0]->as<nn::StridedConvImpl>();
    torch::Tensor h = torch::randn({1, 8, 3, 4, 4});
    torch::Tensor out = down->forward(h);
    EXPECT_EQ(out.sizes().vec(), (std::vector<int64_t>{1, 16, 3, 4, 4}));
    EXPECT_LT(rel_err(out.narrow(1, 0, 8), h), 0.2);
    auto merge = u->merge[0]->as<nn::ConvImpl>();
    EXPECT_EQ(merge->options.in_channels(), 16 + 8);
    EXPECT_TRUE(merge->options.identity_init());
}

} // namespace
