// Tests of the DC-AE autoencoder and its losses (docs/method.md 3.3-3.6).
#include <gtest/gtest.h>

#include <torch/optim/adam.h>
#include <torch/serialize.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "lola/autoencoder/autoencoder.h"
#include "lola/autoencoder/loss.h"
#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/options.h"
#include "support/torch_support.h"

namespace {

using namespace lola;
using autoencoder::AeLossOptions;
using autoencoder::AutoEncoder;
using autoencoder::AutoEncoderOptions;

using AutoEncoderTest = test::SeededTest;
using test::rel_err;

/// A config whose schema is the `ae` and `loss` groups.
core::Config make_config() {
    YAML::Node defaults;
    defaults["ae"] = core::options_defaults<AutoEncoderOptions>();
    defaults["loss"] = AeLossOptions::defaults();
    return core::Config(defaults);
}

AutoEncoderOptions preset(const std::string& name, int64_t pixel_channels) {
    core::Config cfg = make_config();
    cfg.apply_override("ae=" + name);
    AutoEncoderOptions o = core::read_options<AutoEncoderOptions>(cfg, "ae");
    o.resolve_pixel_channels(pixel_channels);
    return o;
}

/// A small 2-D model: levels [8, 32] (r = 2), one block each, 32 latent channels.
AutoEncoderOptions small_options(int64_t pixel_channels = 3) {
    AutoEncoderOptions o;
    o.name = "test";
    o.pixel_channels = pixel_channels;
    o.lat_channels = 32;
    o.hid_channels = {8, 32};
    o.hid_blocks = {1, 1};
    return o;
}

/// Smooth random fields (a few low Fourier modes per channel): (b, c, h, w).
torch::Tensor smooth_fields(int64_t b, int64_t c, int64_t h, int64_t w) {
    torch::Tensor i = torch::arange(h, torch::kFloat).view({h, 1}) * (2 * M_PI / static_cast<double>(h));
    torch::Tensor j = torch::arange(w, torch::kFloat).view({1, w}) * (2 * M_PI / static_cast<double>(w));
    torch::Tensor x = torch::zeros({b, c, h, w});
    for (int64_t kx = 0; kx <= 2; ++kx) {
        for (int64_t ky = 0; ky <= 2; ++ky) {
            torch::Tensor a = torch::randn({b, c, 1, 1}), p = torch::rand({b, c, 1, 1}) * (2 * M_PI);
            x += a * torch::cos(static_cast<double>(kx) * i + static_cast<double>(ky) * j + p) /
                 static_cast<double>(1 + kx + ky);
        }
    }
    return x;
}

template <class F>
std::string usage_error_message(F&& f) {
    try {
        f();
    } catch (const UsageError& e) {
        return e.what();
    }
    return "<no UsageError>";
}

// ==== options and presets ============================================================================================

TEST_F(AutoEncoderTest, Options_DefaultsAreThePaperLargeModelAndRoundTrip) {
    core::Config cfg = make_config();
    AutoEncoderOptions o = core::read_options<AutoEncoderOptions>(cfg, "ae");
    EXPECT_EQ(o.name, "dcae_f32c64_large");
    EXPECT_EQ(o.pixel_channels, 0);
    EXPECT_EQ(o.hid_channels, (std::vector<int64_t>{64, 128, 256, 512, 768, 1024}));
    EXPECT_EQ(o.hid_blocks, (std::vector<int64_t>{3, 3, 3, 3, 3, 3}));
    EXPECT_EQ(o.downsampling(), 32);
    EXPECT_EQ(o.saturation, "softclip2");
    EXPECT_DOUBLE_EQ(o.dropout, 0.05);
    EXPECT_TRUE(o.identity_init);
    EXPECT_FALSE(o.periodic);
    EXPECT_TRUE(o.attention_heads.empty());
    // to_yaml -> config -> from_config is the identity
    AutoEncoderOptions p = small_options();
    p.attention_heads = {0, 4};
    p.periodic = true;
    p.saturation = "tanh";
    core::Config cfg2 = make_config();
    YAML::Node node;
    node["ae"] = core::options_to_yaml(p);
    cfg2.merge(node, "test");
    AutoEncoderOptions q = core::read_options<AutoEncoderOptions>(cfg2, "ae");
    EXPECT_EQ(core::Config::dump(core::options_to_yaml(q)), core::Config::dump(core::options_to_yaml(p)));
}

TEST_F(AutoEncoderTest, Options_EveryPresetLoadsAndBuilds) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(core::config_group_dir("ae"))) {
        if (entry.path().extension() == ".yaml") {
            names.push_back(entry.path().stem().string());
        }
    }
    ASSERT_GE(names.size(), 8u);
    for (const auto& name : names) {
        SCOPED_TRACE(name);
        AutoEncoderOptions o = preset(name, 5);
        EXPECT_EQ(o.name, name);
        EXPECT_GT(autoencoder::count_parameters(o), 0);
    }
}

TEST_F(AutoEncoderTest, Options_ValidationNamesTheKey) {
    auto check = [](const std::string& override_, const std::string& expected) {
        core::Config cfg = make_config();
        cfg.apply_override(override_);
        std::string msg = usage_error_message([&] { core::read_options<AutoEncoderOptions>(cfg, "ae"); });
        EXPECT_NE(msg.find(expected), std::string::npos) << override_ << ": " << msg;
    };
    check("ae.hid_blocks=[3, 3]", "ae.hid_blocks");
    check("ae.saturation=softclip3", "ae.saturation");
    check("ae.attention_heads=[0, 0, 0, 0, 0, 7]", "ae.attention_heads[5]");
    check("ae.attention_heads=[8]", "ae.attention_heads");
    check("ae.spatial=1", "ae.spatial");
    check("ae.kernel_size=4", "ae.kernel_size");
    check("ae.arch=vit", "ae.arch");
    check("ae.norm=group", "ae.norm");
    check("ae.dropout=1.5", "ae.dropout");
    check("ae.hid_channels=[]", "ae.hid_channels");

    AutoEncoderOptions o = small_options(0);
    EXPECT_NE(usage_error_message([&] { AutoEncoder ae(o); }).find("pixel_channels"), std::string::npos);
    o.resolve_pixel_channels(5);
    EXPECT_EQ(o.pixel_channels, 5);
    o.resolve_pixel_channels(5);
    EXPECT_NE(usage_error_message([&] { o.resolve_pixel_channels(4); }).find("ae.pixel_channels"), std::string::npos);
}

// ==== parameter counts ===============================================================================================

TEST_F(AutoEncoderTest, ParameterCounts_EqualThePaper) {
    // docs/method.md 3.5 (reference notebooks)
    EXPECT_EQ(autoencoder::count_parameters(preset("dcae_f32c64_large", 5)), 313098629);
    EXPECT_EQ(autoencoder::count_parameters(preset("dcae_f32c64_large", 4)), 313097476);
    EXPECT_EQ(autoencoder::count_parameters(preset("dcae_f32c16_large", 5)), 312213845);
    EXPECT_EQ(autoencoder::count_parameters(preset("dcae_f32c4_large", 5)), 311992649);
    EXPECT_EQ(autoencoder::count_parameters(preset("dcae_f32c64_large_attention", 5)), 237625733);
    EXPECT_EQ(autoencoder::count_parameters(preset("dcae_f32c64_large_attention", 4)), 237624580);
    EXPECT_EQ(autoencoder::count_parameters(preset("dcae_3d_f8c64_large", 6)), 741019014);
    AutoEncoderOptions tgc = preset("dcae_3d_f8c64_large", 6);
    tgc.lat_channels = 16;
    EXPECT_EQ(autoencoder::count_parameters(tgc), 738364758);
    tgc.lat_channels = 4;
    EXPECT_EQ(autoencoder::count_parameters(tgc), 737701194);
    // "78.6 M" in the paper
    EXPECT_NEAR(static_cast<double>(autoencoder::count_parameters(preset("dcae_f32c64_small", 5))), 78.6e6, 0.05e6);
}

TEST_F(AutoEncoderTest, ParameterCounts_MetaEqualsRealAndFormula) {
    // A model allocated on the CPU has the count of the meta build, and both equal the closed form.
    AutoEncoderOptions o = preset("dcae_tiny", 5);
    o.attention_heads = {0, 0, 4};
    AutoEncoder ae(o);
    int64_t expected = 0;
    auto conv = [](int64_t in, int64_t out, int64_t k2) { return k2 * in * out + out; };
    const auto& h = o.hid_channels;
    expected +=
        conv(5, h[0], 9) + conv(h[0], 5, 9) + conv(h.back(), o.lat_channels, 9) + conv(o.lat_channels, h.back(), 9);
    for (size_t i = 0; i < h.size(); ++i) {
        const int64_t c = h[i];
        const int64_t block =
            o.heads_at(static_cast<int64_t>(i)) > 0 ? 4 * c * c + 4 * c + 2 * conv(c, c, 1) : 2 * conv(c, c, 9);
        expected += 2 * o.hid_blocks[i] * block;
        if (i > 0) {
            expected += conv(4 * h[i - 1], c, 9) + conv(c, 4 * h[i - 1], 9);
        }
    }
    EXPECT_EQ(autoencoder::count_parameters(*ae), expected);
    EXPECT_EQ(autoencoder::count_parameters(o), expected);
    for (const auto& p : ae->parameters()) {
        EXPECT_FALSE(p.is_meta());
    }
}

// ==== shapes =========================================================================================================

TEST_F(AutoEncoderTest, Shapes_Matrix2DAnd3D) {
    struct Case {
        int64_t spatial;
        std::vector<int64_t> hid, heads, state;
        bool periodic;
    };
    const std::vector<Case> cases{
        {2, {8, 16, 32}, {}, {32, 32}, false},        // dcae_tiny-like, r = 4
        {2, {8, 16, 32}, {0, 0, 2}, {32, 64}, true},  // non-square, attention, circular
        {2, {4, 8}, {}, {6, 10}, false},              // r = 2, sizes not multiples of 4
        {3, {4, 8}, {}, {8, 8, 8}, false},            // 3-D, r = 2
        {3, {4, 8, 16}, {0, 2, 0}, {8, 16, 4}, true}, // 3-D, r = 4, attention, circular
    };
    for (const auto& c : cases) {
        AutoEncoderOptions o;
        o.pixel_channels = 3;
        o.lat_channels = 5;
        o.spatial = c.spatial;
        o.hid_channels = c.hid;
        o.hid_blocks = std::vector<int64_t>(c.hid.size(), 1);
        o.attention_heads = c.heads;
        o.periodic = c.periodic;
        AutoEncoder ae(o);
        const int64_t r = int64_t{1} << (c.hid.size() - 1);
        EXPECT_EQ(ae->downsampling(), r);
        std::vector<int64_t> xs{2, 3}, zs{2, 5};
        xs.insert(xs.end(), c.state.begin(), c.state.end());
        for (int64_t s : c.state) {
            zs.push_back(s / r);
        }
        std::vector<int64_t> lat(zs.begin() + 2, zs.end());
        EXPECT_EQ(ae->latent_shape(c.state), lat);
        torch::Tensor x = torch::randn(xs);
        torch::Tensor z = ae->encode(x);
        EXPECT_EQ(z.sizes().vec(), zs);
        EXPECT_EQ(ae->decode(z).sizes().vec(), xs);
        EXPECT_EQ(ae->decode(z, /*noisy=*/true).sizes().vec(), xs);
        EXPECT_EQ(ae->forward(x).sizes().vec(), xs);
    }
}

TEST_F(AutoEncoderTest, Shapes_RejectsWrongInputs) {
    AutoEncoder ae(preset("dcae_tiny", 5));                           // r = 4
    EXPECT_THROW(ae->encode(torch::randn({1, 5, 30, 32})), Error);    // not a multiple of r
    EXPECT_THROW(ae->encode(torch::randn({1, 4, 32, 32})), Error);    // channels
    EXPECT_THROW(ae->encode(torch::randn({1, 5, 32, 32, 4})), Error); // dimensions
    EXPECT_THROW(ae->decode(torch::randn({1, 5, 8, 8})), Error);      // latent channels
}

TEST_F(AutoEncoderTest, Encode_IsSaturated) {
    AutoEncoder ae(preset("dcae_tiny", 5));
    torch::NoGradGuard no_grad;
    torch::Tensor z = ae->encode(1e4 * torch::randn({2, 5, 32, 32}));
    EXPECT_LE(z.abs().max().item<double>(), 5.0);
    EXPECT_GT(z.abs().max().item<double>(), 4.9);
}

TEST_F(AutoEncoderTest, Decode_LatentNoiseOnlyWhenNoisy) {
    AutoEncoderOptions o = preset("dcae_tiny", 5);
    AutoEncoder ae(o);
    ae->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor z = ae->encode(torch::randn({2, 5, 32, 32}));
    EXPECT_TRUE(torch::equal(ae->decode(z), ae->decode(z)));
    EXPECT_TRUE(torch::equal(ae->forward(torch::ones({1, 5, 32, 32})), ae->forward(torch::ones({1, 5, 32, 32}))));
    EXPECT_FALSE(torch::equal(ae->decode(z, true), ae->decode(z)));
    o.latent_noise = 0.0;
    AutoEncoder quiet(o);
    quiet->eval();
    EXPECT_TRUE(torch::equal(quiet->decode(z, true), quiet->decode(z)));
}

// ==== initialisation =================================================================================================

TEST_F(AutoEncoderTest, IdentityInit_LatentPathIsNearIdentity) {
    // With levels [8, 32] the down-sampling conv maps space_to_depth(h) (32 channels) to 32 channels and the latent has
    // 32 channels: with the near-identity init, encode(x) ~ softclip2(space_to_depth(in_conv(x))) and
    // decode(z) ~ out_conv(depth_to_space(z)). Without it, both are far off.
    for (bool identity : {true, false}) {
        AutoEncoderOptions o = small_options(3);
        o.identity_init = identity;
        AutoEncoder ae(o);
        ae->eval();
        torch::NoGradGuard no_grad;
        torch::Tensor x = torch::randn({2, 3, 16, 16});
        torch::Tensor z_expected =
            nn::saturate(nn::space_to_depth(ae->encoder->in_conv(x)), nn::Saturation::kSoftclip2);
        torch::Tensor z = torch::randn({2, 32, 8, 8});
        torch::Tensor x_expected = ae->decoder->out_conv(nn::depth_to_space(z));
        const double e_enc = rel_err(ae->encode(x), z_expected), e_dec = rel_err(ae->decode(z), x_expected);
        if (identity) {
            EXPECT_LT(e_enc, 0.25);
            EXPECT_LT(e_dec, 0.25);
        } else {
            EXPECT_GT(e_enc, 0.5);
            EXPECT_GT(e_dec, 0.5);
        }
    }
}

TEST_F(AutoEncoderTest, IdentityInit_OnlyWhereThePaperApplies) {
    // identity init on down/up and latent convs, not on in_conv (pixels -> h_0) nor the decoder's out_conv
    AutoEncoder ae(preset("dcae_tiny", 5));
    EXPECT_TRUE(ae->encoder->out_conv->options.identity_init());
    EXPECT_TRUE(ae->decoder->in_conv->options.identity_init());
    EXPECT_FALSE(ae->encoder->in_conv->options.identity_init());
    EXPECT_FALSE(ae->decoder->out_conv->options.identity_init());
    for (const auto& m : *ae->encoder->down) {
        EXPECT_TRUE(m->as<nn::ConvImpl>()->options.identity_init());
    }
    for (const auto& m : *ae->decoder->up) {
        EXPECT_TRUE(m->as<nn::ConvImpl>()->options.identity_init());
    }
    // and the weights show it: centre tap of output 0 / input 0 is ~1
    EXPECT_NEAR(ae->encoder->out_conv->weight[0][0][1][1].item<double>(), 1.0, 0.01);
    EXPECT_LT(ae->encoder->in_conv->weight.abs().max().item<double>(), 0.5);
}

// ==== gradients, serialisation, clone ================================================================================

TEST_F(AutoEncoderTest, EveryParameterGetsAGradient) {
    AutoEncoderOptions o = preset("dcae_tiny", 5);
    o.attention_heads = {0, 0, 4};
    o.periodic = true;
    AutoEncoder ae(o);
    torch::Tensor x = smooth_fields(2, 5, 32, 32);
    torch::Tensor z = ae->encode(x);
    AeLossOptions loss;
    loss.weights = {{"vrmse", 1.0}, {"similarity", 0.1}};
    autoencoder::ae_loss(x, ae->decode(z), z, loss).backward();
    int64_t n = 0;
    for (const auto& p : ae->named_parameters()) {
        ASSERT_TRUE(p.value().grad().defined()) << p.key();
        EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
        EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
        ++n;
    }
    EXPECT_EQ(n, static_cast<int64_t>(ae->parameters().size()));
    EXPECT_GT(n, 20);
}

TEST_F(AutoEncoderTest, SaveLoad_RoundTripIsBitwise) {
    AutoEncoderOptions o = preset("dcae_tiny", 5);
    o.attention_heads = {0, 0, 4};
    AutoEncoder a(o);
    std::stringstream buffer;
    torch::save(a, buffer);
    torch::manual_seed(123);
    AutoEncoder b(o);
    ASSERT_FALSE(torch::equal(a->encoder->in_conv->weight, b->encoder->in_conv->weight));
    torch::load(b, buffer);
    auto pa = a->named_parameters(), pb = b->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& p : pa) {
        ASSERT_TRUE(pb.contains(p.key())) << p.key();
        EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
    }
    a->eval();
    b->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor x = torch::randn({1, 5, 32, 32});
    EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
}

TEST_F(AutoEncoderTest, Clone_IsAnIndependentCopy) {
    AutoEncoder a(preset("dcae_tiny", 5));
    auto b = std::dynamic_pointer_cast<autoencoder::AutoEncoderImpl>(a->clone());
    ASSERT_TRUE(b);
    a->eval();
    b->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor x = torch::randn({1, 5, 32, 32});
    EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
    for (auto& p : b->parameters()) {
        p.add_(0.1);
    }
    EXPECT_FALSE(torch::equal(a->forward(x), b->forward(x)));
}

// ==== training =======================================================================================================

TEST_F(AutoEncoderTest, Overfit_OneBatchLowersTheLoss10x) {
    // dcae_tiny without dropout, one batch of 2 smooth 5-field states, Adam on the MSE: the loss falls >= 10x (it
    // reaches ~40x in 120 steps); the VRMSE, a square root, falls >= 3x with it.
    AutoEncoderOptions o = preset("dcae_tiny", 5);
    o.dropout = 0.0;
    AutoEncoder ae(o);
    torch::Tensor x = smooth_fields(2, 5, 32, 32);
    AeLossOptions mse;
    mse.weights = {{"mse", 1.0}};
    auto evaluate = [&](const char* name) {
        torch::NoGradGuard no_grad;
        return autoencoder::ae_loss(x, ae->forward(x), torch::Tensor(), AeLossOptions{{{name, 1.0}}}).item<double>();
    };
    const double mse_before = evaluate("mse"), vrmse_before = evaluate("vrmse");
    torch::optim::Adam opt(ae->parameters(), torch::optim::AdamOptions(2e-3));
    for (int step = 0; step < 120; ++step) {
        opt.zero_grad();
        torch::Tensor z = ae->encode(x);
        autoencoder::ae_loss(x, ae->decode(z), z, mse).backward();
        opt.step();
    }
    const double mse_after = evaluate("mse"), vrmse_after = evaluate("vrmse");
    EXPECT_LT(mse_after, mse_before / 10.0) << "mse " << mse_before << " -> " << mse_after;
    EXPECT_LT(vrmse_after, vrmse_before / 3.0) << "vrmse " << vrmse_before << " -> " << vrmse_after;
    RecordProperty("mse_before", std::to_string(mse_before));
    RecordProperty("mse_after", std::to_string(mse_after));
}

// ==== losses =========================================================================================================

TEST_F(AutoEncoderTest, Losses_HandValues) {
    torch::Tensor x = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kDouble).view({1, 1, 2, 2});
    torch::Tensor zero = torch::zeros_like(x);
    EXPECT_NEAR(autoencoder::loss_mse(x, zero).item<double>(), 30.0 / 4.0, 1e-12);
    EXPECT_NEAR(autoencoder::loss_mae(x, zero).item<double>(), 10.0 / 4.0, 1e-12);

    // vrmse over (b, c) = 2 x 1: sample 0 = (1, 2, 3, 4) with error (1, 0, 0, -1): mse 0.5, unbiased var 5/3;
    // sample 1 = (0, 0, 2, 2) with error (0.5, 0.5, 0.5, 0.5): mse 0.25, unbiased var 4/3
    torch::Tensor t = torch::tensor({1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 2.0, 2.0}, torch::kDouble).view({2, 1, 2, 2});
    torch::Tensor e = torch::tensor({1.0, 0.0, 0.0, -1.0, 0.5, 0.5, 0.5, 0.5}, torch::kDouble).view({2, 1, 2, 2});
    const double expected = 0.5 * (std::sqrt(0.5 / (5.0 / 3.0 + 1e-2)) + std::sqrt(0.25 / (4.0 / 3.0 + 1e-2)));
    EXPECT_NEAR(autoencoder::loss_vrmse(t, t + e).item<double>(), expected, 1e-12);
    // the biased variance would give a different value
    const double biased = 0.5 * (std::sqrt(0.5 / (1.25 + 1e-2)) + std::sqrt(0.25 / (1.0 + 1e-2)));
    EXPECT_GT(std::abs(expected - biased), 1e-2);
    // the variance is the target's: swapping the arguments changes the value
    EXPECT_GT(std::abs(autoencoder::loss_vrmse(t + e, t).item<double>() - expected), 1e-3);

    // similarity: (1, 0), (0, 1), (1, 1): cosines 0, 1/sqrt2, 1/sqrt2
    torch::Tensor z = torch::tensor({1.0, 0.0, 0.0, 1.0, 1.0, 1.0}, torch::kDouble).view({3, 2});
    EXPECT_NEAR(autoencoder::loss_similarity(z).item<double>(), std::sqrt(2.0) / 3.0, 1e-12);
    EXPECT_NEAR(autoencoder::loss_similarity(3.0 * z.view({3, 1, 2})).item<double>(), std::sqrt(2.0) / 3.0, 1e-12);
    EXPECT_EQ(autoencoder::loss_similarity(z.narrow(0, 0, 1)).item<double>(), 0.0);
}

TEST_F(AutoEncoderTest, Losses_WeightsFromConfig) {
    torch::Tensor x = torch::randn({3, 2, 4, 4}, torch::kDouble), y = torch::randn({3, 2, 4, 4}, torch::kDouble);
    torch::Tensor z = torch::randn({3, 4, 2, 2}, torch::kDouble);

    core::Config cfg = make_config();
    AeLossOptions def = AeLossOptions::from_config(cfg); // empty map: vrmse 1.0
    EXPECT_NEAR(autoencoder::ae_loss(x, y, z, def).item<double>(), autoencoder::loss_vrmse(x, y).item<double>(), 1e-12);

    cfg.merge(YAML::Load("loss: {mae: 1.0, similarity: 0.1}"), "test");
    AeLossOptions o = AeLossOptions::from_config(cfg);
    const double expected =
        autoencoder::loss_mae(x, y).item<double>() + 0.1 * autoencoder::loss_similarity(z).item<double>();
    EXPECT_NEAR(autoencoder::ae_loss(x, y, z, o).item<double>(), expected, 1e-12);
    auto terms = autoencoder::ae_loss_terms(x, y, z, o);
    ASSERT_EQ(terms.size(), 2u);
    EXPECT_EQ(terms[0].first, "mae");
    EXPECT_EQ(terms[1].first, "similarity");

    cfg.apply_override("loss.mse=2.0");
    AeLossOptions three = AeLossOptions::from_config(cfg);
    EXPECT_NEAR(autoencoder::ae_loss(x, y, z, three).item<double>(),
                expected + 2.0 * autoencoder::loss_mse(x, y).item<double>(), 1e-12);

    core::Config bad = make_config();
    bad.apply_override("loss.vrmes=1.0");
    std::string msg = usage_error_message([&] { AeLossOptions::from_config(bad); });
    EXPECT_NE(msg.find("did you mean 'vrmse'"), std::string::npos) << msg;
    core::Config none = make_config();
    none.apply_override("loss.mae=0.0");
    EXPECT_NE(usage_error_message([&] { AeLossOptions::from_config(none); }).find("positive"), std::string::npos);
}

} // namespace
