// The neural solver: exact parameter counts of the paper's models, masked input (unknown states cannot leak into the
// prediction), and a tiny training run that lowers the loss on a learnable dynamics.
#include <gtest/gtest.h>

#include <torch/optim/adamw.h>

#include "lola/nn/layers.h"
#include "lola/nn/mask.h"
#include "lola/surrogate/solver.h"
#include "support/nn_support.h"
#include "support/torch_support.h"

using namespace lola;

namespace {

using test::tiny_vit;

int64_t count_on_meta(const nn::BackboneOptions& o, int64_t channels, int64_t label_dim, int64_t axes) {
    nn::ParameterDeviceGuard meta(torch::kMeta);
    surrogate::NeuralSolver solver(o, channels, label_dim, axes);
    return nn::count_parameters(*solver);
}

class Solver : public test::SeededTest {};

} // namespace

TEST_F(Solver, ParameterCountsOfThePaper) {
    const nn::BackboneOptions large;                      // defaults = vit_large
    EXPECT_EQ(count_on_meta(large, 64, 5, 3), 222756672); // Euler c64 latent solver (docs/method.md 5)
    EXPECT_EQ(count_on_meta(large, 64, 6, 3), 222756928); // RB c64
    EXPECT_EQ(count_on_meta(large, 64, 9, 4), 223814464); // TGC c64
    nn::BackboneOptions pixel;                            // vit_pixel (docs/method.md 5)
    pixel.hid_channels = 2048;
    pixel.attention_heads = 16;
    pixel.patch_size = {1, 16, 16};
    EXPECT_EQ(count_on_meta(pixel, 5, 5, 3), 860810240); // Euler
    EXPECT_EQ(count_on_meta(pixel, 4, 6, 3), 859237376); // RB
}

TEST_F(Solver, UnknownStatesDoNotLeakIntoThePrediction) {
    surrogate::NeuralSolver solver(tiny_vit(), 3, 4, 3);
    solver->eval();
    torch::Tensor x = torch::randn({2, 3, 5, 4, 4});
    torch::Tensor label = torch::randn({2, 4});
    torch::Tensor known = torch::tensor({1, 1, 0, 0, 0}, torch::kBool);
    torch::Tensor y = x.clone();
    y.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(2)}, 7.0);
    torch::NoGradGuard no_grad;
    const torch::Tensor a = solver->forward(x, known, label), b = solver->forward(y, known, label);
    EXPECT_TRUE(torch::allclose(a, b));
    // ... while known states do matter, and so does the label.
    EXPECT_FALSE(torch::allclose(a, solver->forward(x * 2, known, label)));
    EXPECT_FALSE(torch::allclose(a, solver->forward(x, known, label + 1)));
    // per-sample masks (B, n) broadcast like a shared mask
    EXPECT_TRUE(torch::allclose(a, solver->forward(x, known.unsqueeze(0).expand({2, 5}), label)));
}

TEST_F(Solver, MaskChannelsBroadcastOverChannelsAndSpace) {
    torch::Tensor w = torch::zeros({2, 3, 4, 2, 2});
    torch::Tensor known = torch::tensor({{1, 0, 0, 0}, {1, 1, 1, 0}}, torch::kBool);
    torch::Tensor m = nn::window_mask_channels(known, w);
    ASSERT_EQ(m.sizes(), w.sizes());
    EXPECT_EQ(m.sum().item<double>(), (1 + 3) * 3 * 4);
    EXPECT_EQ(m[1][2][2][1][0].item<float>(), 1.0f);
    EXPECT_EQ(m[0][2][1][1][0].item<float>(), 0.0f);
}

TEST_F(Solver, TinyTrainingLowersTheLoss) {
    // Dynamics: each state is the previous one rolled by one cell along x; the label is unused noise.
    surrogate::NeuralSolver solver(tiny_vit(), 2, 1, 3);
    torch::optim::AdamW opt(solver->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0));
    auto batch = [] {
        torch::Tensor x0 = torch::randn({8, 2, 1, 4, 4});
        std::vector<torch::Tensor> states{x0};
        for (int k = 1; k < 5; ++k) {
            states.push_back(torch::roll(states.back(), {1}, {3}));
        }
        return torch::cat(states, 2);
    };
    const torch::Tensor known = torch::tensor({1, 0, 0, 0, 0}, torch::kBool);
    torch::Tensor label = torch::zeros({8, 1});
    double first = 0, last = 0;
    for (int step = 0; step < 150; ++step) {
        torch::Tensor loss = solver->loss(batch(), known, label);
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (step < 10) {
            first += loss.item<double>() / 10;
        } else if (step >= 140) {
            last += loss.item<double>() / 10;
        }
    }
    EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}
