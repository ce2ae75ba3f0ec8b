#include <gtest/gtest.h>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>
#include <torch/utils.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "lola/core/error.h"
#include "lola/train/run_folder.h"
#include "lola/train/trainer.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace lola;
using namespace lola::train;

TEST(Schedule, Factors) {
    OptimOptions o;
    o.scheduler = "cosine";
    EXPECT_DOUBLE_EQ(lr_factor(o, 0, 10), 1.0);
    EXPECT_NEAR(lr_factor(o, 5, 10), 0.5, 1e-12);
    EXPECT_NEAR(lr_factor(o, 9, 10), (1 + std::cos(M_PI * 0.9)) / 2, 1e-12);
    o.scheduler = "linear";
    EXPECT_NEAR(lr_factor(o, 3, 10), 0.7, 1e-12);
    o.scheduler = "exponential";
    o.gamma = 0.5;
    EXPECT_NEAR(lr_factor(o, 3, 10), 0.125, 1e-12);
    o.scheduler = "constant";
    o.warmup = 3;
    EXPECT_NEAR(lr_factor(o, 0, 10), 0.25, 1e-12);
    EXPECT_NEAR(lr_factor(o, 2, 10), 0.75, 1e-12);
    EXPECT_NEAR(lr_factor(o, 3, 10), 1.0, 1e-12);
}

TEST(Optimizer, RegistryRejectsUnknownNames) {
    OptimOptions o;
    o.optimizer = "adamz";
    torch::Tensor p = torch::zeros({2}, torch::requires_grad());
    try {
        make_optimizer({p}, o);
        FAIL();
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("adamw"), std::string::npos) << e.what();
    }
    register_optimizer("sgd_test", [](std::vector<torch::Tensor> params, const OptimOptions& opt) {
        return std::make_unique<torch::optim::SGD>(std::move(params), torch::optim::SGDOptions(opt.learning_rate));
    });
    o.optimizer = "sgd_test";
    EXPECT_NO_THROW(make_optimizer({p}, o));
}

TEST(SafeStep, ClipsReportsPreClipNormAndSkipsNonFinite) {
    torch::Tensor p = torch::ones({4}, torch::requires_grad());
    OptimOptions o;
    o.learning_rate = 0.1;
    auto opt = make_optimizer({p}, o);
    (p * torch::tensor({3.0F, 4.0F, 0.0F, 0.0F})).sum().backward(); // gradient norm 5
    StepResult r = safe_step(*opt, 1.0);
    EXPECT_NEAR(r.grad_norm, 5.0, 1e-6);
    EXPECT_FALSE(r.skipped);
    EXPECT_FALSE(p.grad().defined() && p.grad().abs().sum().item<float>() != 0.0F);
    torch::Tensor before = p.detach().clone();
    (p * std::nanf("")).sum().backward();
    r = safe_step(*opt, 1.0);
    EXPECT_TRUE(r.skipped);
    EXPECT_TRUE(torch::equal(p.detach(), before)); // unchanged
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
}

namespace {

// y = x w* + noise, learned by a small MLP with dropout; the data stream is a seeded sequence with a position.
struct ToyTask : Task {
    torch::nn::Sequential net{torch::nn::Linear(4, 16), torch::nn::Dropout(0.2), torch::nn::Linear(16, 1)};
    int64_t position = 0;
    int64_t batch = 8;

    torch::nn::Module& module() override { return *net; }
    std::pair<torch::Tensor, torch::Tensor> data(int64_t index) const {
        torch::Generator g = torch::make_generator<torch::CPUGeneratorImpl>(1000 + index);
        torch::Tensor x = torch::randn({batch, 4}, g);
        torch::Tensor y = x.matmul(torch::tensor({{1.0F}, {-2.0F}, {0.5F}, {3.0F}}));
        return {x, y};
    }
    torch::Tensor train_loss() override {
        auto [x, y] = data(position++);
        return (net->forward(x) - y).pow(2).mean();
    }
    int64_t last_batch_size() const override { return batch; }
    torch::Tensor valid_loss(int64_t index) override {
        auto [x, y] = data(-1 - index);
        return (net->forward(x) - y).pow(2).mean();
    }
    std::vector<int64_t> data_position() const override { return {position}; }
    void seek(const std::vector<int64_t>& p) override { position = p.at(0); }
};

std::vector<nlohmann::json> metrics(const fs::path& dir) {
    std::vector<nlohmann::json> rows;
    std::ifstream in(dir / "metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        rows.push_back(nlohmann::json::parse(line));
    }
    return rows;
}

TrainerOptions toy_options(int64_t epochs) {
    TrainerOptions t;
    t.epochs = epochs;
    t.steps_per_epoch = 20;
    t.valid_batches = 2;
    t.progress = false;
    return t;
}

OptimOptions toy_optim() {
    OptimOptions o;
    o.learning_rate = 1e-2;
    return o;
}

} // namespace

TEST(Trainer, LowersTheLossAndWritesMetricsAndCheckpoints) {
    test::TempDir tmp;
    torch::manual_seed(0);
    ToyTask task;
    Trainer trainer(tmp.path(), task, toy_optim(), toy_options(6));
    TrainSummary s = trainer.run(false);
    auto rows = metrics(tmp.path());
    ASSERT_EQ(rows.size(), 6u);
    EXPECT_LT(rows.back()["valid/loss/mean"].get<double>(), rows.front()["valid/loss/mean"].get<double>() / 10);
    for (const char* key : {"train/loss/mean", "train/loss/std", "train/grad_norm/mean", "train/learning_rate",
                            "valid/loss/mean", "valid/loss/std"}) {
        EXPECT_TRUE(rows[0].contains(key)) << key;
    }
    EXPECT_EQ(s.steps, 120);
    EXPECT_TRUE(fs::exists(Trainer::checkpoint_path(tmp.path())));
    EXPECT_TRUE(fs::exists(Trainer::weights_path(tmp.path())));
    EXPECT_TRUE(fs::exists(Trainer::best_weights_path(tmp.path())));
    for (const auto& e : fs::directory_iterator(tmp.path())) {
        EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    }
}

TEST(Trainer, ResumeIsBitExact) {
    test::TempDir tmp;
    fs::create_directories(tmp / "full");
    fs::create_directories(tmp / "split");
    torch::manual_seed(0);
    ToyTask full;
    Trainer(tmp / "full", full, toy_optim(), toy_options(4)).run(false);

    torch::manual_seed(0);
    ToyTask first;
    TrainerOptions interrupted = toy_options(4);
    interrupted.stop_after = 2; // as if killed after the second epoch's checkpoint
    Trainer(tmp / "split", first, toy_optim(), interrupted).run(false);
    ASSERT_EQ(metrics(tmp / "split").size(), 2u);
    // a new process: fresh task and model, another RNG state, then resume to 4 epochs
    torch::manual_seed(123);
    ToyTask second;
    Trainer(tmp / "split", second, toy_optim(), toy_options(4)).run(true);

    EXPECT_EQ(weights_hash(*full.net), weights_hash(*second.net));
    auto a = metrics(tmp / "full"), b = metrics(tmp / "split");
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(b.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(a[i]["train/loss/mean"].get<double>(), b[i]["train/loss/mean"].get<double>()) << "epoch " << i;
        EXPECT_EQ(a[i]["valid/loss/mean"].get<double>(), b[i]["valid/loss/mean"].get<double>()) << "epoch " << i;
    }
}

TEST(Trainer, BadCheckpointIsAClearError) {
    test::TempDir tmp;
    ToyTask task;
    Trainer trainer(tmp.path(), task, toy_optim(), toy_options(1));
    EXPECT_THROW(trainer.run(true), Error); // nothing to resume from
    std::ofstream(Trainer::checkpoint_path(tmp.path())) << "garbage";
    try {
        trainer.run(true);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("checkpoint.pt"), std::string::npos) << e.what();
    }
}

TEST(Weights, SaveLoadRoundTripAndHash) {
    test::TempDir tmp;
    torch::manual_seed(1);
    ToyTask a, b;
    EXPECT_NE(weights_hash(*a.net), weights_hash(*b.net));
    save_weights(*a.net, tmp / "w.pt");
    load_weights(*b.net, tmp / "w.pt");
    EXPECT_EQ(weights_hash(*a.net), weights_hash(*b.net));
}

TEST(Trainer, Bf16AutocastRunsTheForwardInBfloat16) {
    test::TempDir tmp;
    torch::manual_seed(0);
    struct DtypeTask : ToyTask {
        torch::ScalarType seen = torch::kFloat32;
        torch::Tensor train_loss() override {
            auto [x, y] = data(position++);
            torch::Tensor out = net->forward(x);
            seen = out.scalar_type();
            return (out.to(torch::kFloat32) - y).pow(2).mean();
        }
    } task;
    TrainerOptions t = toy_options(2);
    t.bf16 = true;
    TrainSummary s = Trainer(tmp.path(), task, toy_optim(), t).run(false);
    EXPECT_EQ(task.seen, torch::kBFloat16); // the linear layers ran under autocast
    EXPECT_TRUE(std::isfinite(s.last_valid_loss));
    t.bf16 = false;
    Trainer(tmp.path(), task, toy_optim(), t).run(false);
    EXPECT_EQ(task.seen, torch::kFloat32); // and autocast is off again afterwards
}

TEST(RunFolder, AFailedStartLeavesNothingAndWrittenRunsStay) {
    const test::TempDir tmp;
    const fs::path fresh = tmp / "runs" / "fresh";
    {
        const RunFolder folder(fresh, RunMode::kFresh);
        EXPECT_TRUE(fs::exists(fresh / ".lock"));
    }
    EXPECT_FALSE(fs::exists(fresh)); // created, nothing written: removed
    const fs::path wrote = tmp / "wrote";
    {
        const RunFolder folder(wrote, RunMode::kFresh);
        std::ofstream(wrote / "config.yaml") << "seed: 0\n";
    }
    EXPECT_TRUE(fs::exists(wrote / "config.yaml"));
    const fs::path existing = tmp / "existing";
    fs::create_directories(existing);
    { const RunFolder folder(existing, RunMode::kFresh); }
    EXPECT_TRUE(fs::is_directory(existing)); // not ours to remove
}
