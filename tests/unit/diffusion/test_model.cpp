// The denoiser network of the diffusion model: the paper's parameter counts (time + label embeddings on the ViT),
// the masked sampler keeping the observed frames with a real network, and a tiny training run that lowers the loss.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/adamw.h>

#include "lola/diffusion/loss.h"
#include "lola/diffusion/model.h"
#include "lola/diffusion/sampler.h"
#include "lola/nn/layers.h"
#include "support/nn_support.h"
#include "support/torch_support.h"

using namespace lola;

namespace {

using test::tiny_vit;

int64_t count_on_meta(int64_t channels, int64_t label_dim, int64_t axes) {
    nn::ParameterDeviceGuard meta(torch::kMeta);
    diffusion::DenoiserNet net(nn::BackboneOptions{}, channels, label_dim, axes); // defaults = vit_large
    return nn::count_parameters(*net);
}

class DenoiserNet : public test::SeededTest {};

} // namespace

TEST_F(DenoiserNet, ParameterCountsOfThePaper) {
    EXPECT_EQ(count_on_meta(64, 5, 3), 222888256); // Euler c64 (docs/method.md 4.5.3)
    EXPECT_EQ(count_on_meta(64, 6, 3), 222888512); // RB c64
    EXPECT_EQ(count_on_meta(64, 9, 4), 223946048); // TGC c64
    EXPECT_EQ(count_on_meta(16, 5, 3), 222740752); // Euler c16
    EXPECT_EQ(count_on_meta(4, 5, 3), 222703876);  // Euler c4
}

TEST_F(DenoiserNet, NoiseLevelAndLabelBothModulate) {
    diffusion::DenoiserNet net(tiny_vit(), 2, 3, 3);
    net->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor x = torch::randn({2, 2, 5, 4, 4}), cond = torch::zeros_like(x), label = torch::randn({2, 3});
    // the modulation starts near zero (x0.01 init): perturb it so that it matters
    for (auto& p : net->named_parameters()) {
        if (p.key().find("mod") != std::string::npos) {
            p.value().normal_();
        }
    }
    const torch::Tensor a = net->forward(x, torch::full({2}, 1.0), label, cond);
    EXPECT_FALSE(torch::allclose(a, net->forward(x, torch::full({2}, -20.0), label, cond)));
    EXPECT_FALSE(torch::allclose(a, net->forward(x, torch::full({2}, 1.0), label * 3, cond)));
    // one unbatched noise level broadcasts like a batched one (sampling passes a 0-d time)
    const torch::Tensor b = net->forward(x, torch::tensor(1.0), label, cond);
    EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5))
        << (a - b).abs().max().item<double>() << " of " << a.abs().max().item<double>();
}

TEST_F(DenoiserNet, MaskedSamplingKeepsTheObservedFrame) {
    diffusion::DenoiserNet net(tiny_vit(), 2, 0, 3);
    net->eval();
    diffusion::PreconditionedDenoiser den(diffusion::network_fn(net), diffusion::make_schedule());
    torch::Tensor y = torch::randn({3, 2, 5, 4, 4});
    torch::Tensor known = torch::tensor({1, 1, 0, 0, 0}, torch::kBool);
    diffusion::MaskedDenoiser masked(den, y, nn::expand_window_mask(known, y.dim()));
    auto sampler = diffusion::make_sampler("ab", masked, 8);
    torch::Tensor x = sampler->sample(sampler->init(y.sizes()));
    ASSERT_EQ(x.sizes(), y.sizes());
    EXPECT_TRUE(torch::isfinite(x).all().item<bool>());
    // known frames: residual (x_init - y) sigma_min / sigma_max, about 1e-3 N(0, 1) (docs/method.md 7.1)
    const double err = (x.slice(2, 0, 2) - y.slice(2, 0, 2)).abs().max().item<double>();
    EXPECT_LT(err, 1e-2);
    EXPECT_GT((x.slice(2, 2) - y.slice(2, 2)).abs().max().item<double>(), 0.1); // the others are generated
}

TEST_F(DenoiserNet, TinyTrainingLowersTheLoss) {
    // Data: windows of a field rolled by one cell per state; the first state is random.
    diffusion::DenoiserNet net(tiny_vit(), 2, 1, 3);
    diffusion::PreconditionedDenoiser den(diffusion::network_fn(net), diffusion::make_schedule());
    torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0));
    auto batch = [] {
        std::vector<torch::Tensor> states{torch::randn({16, 2, 1, 4, 4})};
        for (int k = 1; k < 5; ++k) {
            states.push_back(torch::roll(states.back(), {1}, {3}));
        }
        return torch::cat(states, 2);
    };
    // A fixed evaluation batch with fixed masks, times and noise, before and after training.
    at::Generator gen = at::detail::createCPUGenerator(7);
    const torch::Tensor xe = batch(), label = torch::zeros({16, 1});
    const torch::Tensor mask = diffusion::sample_context_mask(16, 5, {}, gen);
    const torch::Tensor t = diffusion::sample_time(16, {}, gen), eps = diffusion::randn_with(xe.sizes(), {}, gen);
    auto eval_loss = [&] {
        torch::NoGradGuard no_grad;
        net->eval();
        const double l = diffusion::denoiser_loss_at(den, xe, label, mask, t, eps).item<double>();
        net->train();
        return l;
    };
    const double before = eval_loss();
    for (int step = 0; step < 200; ++step) {
        torch::Tensor loss =
            diffusion::denoiser_loss(den, batch(), torch::zeros({16, 1}), diffusion::sample_context_mask(16, 5));
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    const double after = eval_loss();
    EXPECT_LT(after, 0.7 * before) << "before " << before << " after " << after;
}
