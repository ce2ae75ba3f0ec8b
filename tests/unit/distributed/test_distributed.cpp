// The world read from torchrun's and Slurm's variables, the shards of a global batch, and a Gloo process group of two
// ranks in one process (two threads): sums, broadcasts, the data-parallel gradient average, and check_same refusing
// a difference.
#include <gtest/gtest.h>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <future>
#include <map>
#include <thread>

#include "lola/core/error.h"
#include "lola/data/shard.h"
#include "lola/distributed/group.h"
#include "lola/distributed/world.h"
#include "lola/train/data_parallel.h"
#include "support/test_support.h"

namespace {

using lola::distributed::Environment;
using lola::distributed::first_host;
using lola::distributed::World;
using lola::distributed::world_from_environment;

Environment env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

TEST(World, NotLaunchedIsOneProcess) {
    const World w = world_from_environment(env_of({}));
    EXPECT_FALSE(w.launched());
    EXPECT_EQ(w.size, 1);
    // a Slurm batch script's single task is not a job of several ranks
    EXPECT_FALSE(world_from_environment(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}})).launched());
}

TEST(World, TorchrunVariables) {
    const World w = world_from_environment(env_of({{"RANK", "3"},
                                                   {"WORLD_SIZE", "8"},
                                                   {"LOCAL_RANK", "1"},
                                                   {"LOCAL_WORLD_SIZE", "2"},
                                                   {"MASTER_ADDR", "node7"},
                                                   {"MASTER_PORT", "1234"}}));
    EXPECT_EQ(w.launcher, "torchrun");
    EXPECT_EQ(w.rank, 3);
    EXPECT_EQ(w.size, 8);
    EXPECT_EQ(w.local_rank, 1);
    EXPECT_EQ(w.local_size, 2);
    EXPECT_EQ(w.master_addr, "node7");
    EXPECT_EQ(w.master_port, 1234);
}

TEST(World, BadTorchrunVariablesNameTheVariable) {
    auto message = [](std::map<std::string, std::string> vars) {
        try {
            world_from_environment(env_of(std::move(vars)));
        } catch (const lola::UsageError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::map<std::string, std::string> ok{
        {"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "29500"}};
    auto with = [&](const std::string& k, const std::string& v) {
        auto m = ok;
        m[k] = v;
        return m;
    };
    EXPECT_NE(message(with("RANK", "2")).find("RANK='2'"), std::string::npos);
    EXPECT_NE(message(with("WORLD_SIZE", "two")).find("WORLD_SIZE='two'"), std::string::npos);
    EXPECT_NE(message(with("MASTER_PORT", "70000")).find("MASTER_PORT"), std::string::npos);
    auto no_addr = ok;
    no_addr.erase("MASTER_ADDR");
    EXPECT_NE(message(no_addr).find("MASTER_ADDR is not set"), std::string::npos);
    EXPECT_EQ(message(ok), "no error");
}

TEST(World, SlurmVariables) {
    const World w = world_from_environment(env_of({{"SLURM_PROCID", "5"},
                                                   {"SLURM_NTASKS", "8"},
                                                   {"SLURM_LOCALID", "1"},
                                                   {"SLURM_JOB_NODELIST", "gpu[07-09,12],cpu1"},
                                                   {"SLURM_JOB_ID", "123456"}}));
    EXPECT_EQ(w.launcher, "slurm");
    EXPECT_EQ(w.rank, 5);
    EXPECT_EQ(w.size, 8);
    EXPECT_EQ(w.local_rank, 1);
    EXPECT_EQ(w.master_addr, "gpu07");
    EXPECT_EQ(w.master_port, 29500 + 123456 % 10000);
    // MASTER_ADDR / MASTER_PORT override what Slurm implies
    const World o = world_from_environment(env_of({{"SLURM_PROCID", "0"},
                                                   {"SLURM_NTASKS", "2"},
                                                   {"SLURM_JOB_NODELIST", "a[1-2]"},
                                                   {"MASTER_ADDR", "10.0.0.1"},
                                                   {"MASTER_PORT", "4000"}}));
    EXPECT_EQ(o.master_addr, "10.0.0.1");
    EXPECT_EQ(o.master_port, 4000);
}

TEST(World, FirstHostOfSlurmNodeLists) {
    EXPECT_EQ(first_host("node1"), "node1");
    EXPECT_EQ(first_host("node[01-04,07],gpu2"), "node01");
    EXPECT_EQ(first_host("rack[2-3]-n[5,9]"), "rack2-n5");
    EXPECT_EQ(first_host("a,b"), "a");
    EXPECT_THROW(first_host(""), lola::UsageError);
    EXPECT_THROW(first_host("node[01-04"), lola::UsageError);
    EXPECT_THROW(first_host("node]"), lola::UsageError);
}

TEST(Shard, RowsCoverTheBatchOnceAndWeightsAverageToOne) {
    for (int count = 1; count <= 5; ++count) {
        for (int64_t n = count; n <= 13; ++n) {
            int64_t next = 0;
            double weight_sum = 0;
            for (int r = 0; r < count; ++r) {
                const auto rows = lola::data::Shard{r, count}.rows(n);
                EXPECT_EQ(rows.begin, next) << n << " rows, shard " << r << " of " << count;
                EXPECT_LE(rows.end - rows.begin, n / count + 1);
                EXPECT_GE(rows.end - rows.begin, n / count);
                next = rows.end;
                weight_sum += rows.weight;
            }
            EXPECT_EQ(next, n);
            EXPECT_NEAR(weight_sum / count, 1.0, 1e-12);
        }
    }
    // fewer rows than shards: the empty shard borrows row 0 with weight 0
    const auto empty = lola::data::Shard{0, 3}.rows(2); // shards 1 and 2 take rows 0 and 1
    EXPECT_EQ(empty.begin, 0);
    EXPECT_EQ(empty.end, 1);
    EXPECT_EQ(empty.weight, 0.0);
}

#ifdef LOLA_TEST_GLOO

/// Runs `body(group)` on two ranks (threads of this process) and returns what each returned.
template <class F>
auto on_two_ranks(F body) {
    const int port = lola::test::free_tcp_port();
    auto rank = [&](int r) {
        World w;
        w.rank = r;
        w.size = 2;
        w.master_port = port;
        w.launcher = "test";
        lola::distributed::Group g(w, torch::kCPU, std::chrono::seconds(30));
        return body(g);
    };
    auto other = std::async(std::launch::async, rank, 1);
    auto mine = rank(0);
    return std::make_pair(mine, other.get());
}

TEST(Group, SumsAndBroadcasts) {
    auto [a, b] = on_two_ranks([](lola::distributed::Group& g) {
        std::vector<torch::Tensor> t{torch::full({3}, g.rank() + 1.0), torch::arange(4, torch::kFloat64) * g.rank()};
        g.all_reduce_sum(t);
        std::vector<torch::Tensor> c{torch::full({2}, 10.0 * (g.rank() + 1))};
        g.broadcast(c, 1);
        g.barrier();
        return std::vector<torch::Tensor>{t[0], t[1], c[0]};
    });
    for (const auto& r : {a, b}) {
        EXPECT_TRUE(torch::equal(r[0], torch::full({3}, 3.0)));
        EXPECT_TRUE(torch::equal(r[1], torch::arange(4, torch::kFloat64)));
        EXPECT_TRUE(torch::equal(r[2], torch::full({2}, 20.0)));
    }
}

TEST(Group, CheckSameRefusesADifferenceOnEveryRank) {
    auto [a, b] = on_two_ranks([](lola::distributed::Group& g) {
        g.check_same("configurations", "seed: 1"); // equal: passes
        try {
            g.check_same("configurations", g.rank() == 0 ? "seed: 1" : "seed: 2");
        } catch (const lola::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    });
    for (const auto& m : {a, b}) {
        EXPECT_NE(m.find("configurations of rank 1 differs from rank 0's"), std::string::npos) << m;
    }
}

TEST(DataParallel, AveragesGradientsAndBroadcastsWeights) {
    // rank r's gradient is (r + 1) x; the average is 1.5 x; a parameter without a gradient on one rank counts zeros
    auto [a, b] = on_two_ranks([](lola::distributed::Group& g) {
        torch::manual_seed(g.rank()); // different initial weights: broadcast_state makes them rank 0's
        torch::nn::Linear lin(3, 2);
        lola::train::DataParallel dp(g, *lin, /*bucket_bytes=*/16); // several buckets
        dp.broadcast_state();
        const torch::Tensor w0 = lin->weight.detach().clone();
        lin->weight.mutable_grad() = torch::ones_like(lin->weight) * (g.rank() + 1);
        if (g.rank() == 0) {
            lin->bias.mutable_grad() = torch::full_like(lin->bias, 4.0);
        }
        const double mean = dp.average_gradients(g.rank() == 0 ? 1.0 : 3.0);
        return std::vector<torch::Tensor>{w0, lin->weight.grad().clone(), lin->bias.grad().clone(),
                                          torch::tensor(mean)};
    });
    EXPECT_TRUE(torch::equal(a[0], b[0])); // the same weights
    for (const auto& r : {a, b}) {
        EXPECT_TRUE(torch::allclose(r[1], torch::full({2, 3}, 1.5)));
        EXPECT_TRUE(torch::allclose(r[2], torch::full({2}, 2.0)));
        EXPECT_DOUBLE_EQ(r[3].item<double>(), 2.0);
    }
}

TEST(DataParallel, StartsBucketsDuringTheBackwardPassAndAveragesThem) {
    // loss = sum(W x_r + b) + (rank 0 only) sum(extra): dL/dW = 1 x_r^T, dL/db = 1; `extra` gets no gradient on rank 1
    auto [a, b] = on_two_ranks([](lola::distributed::Group& g) {
        torch::manual_seed(0);
        torch::nn::Sequential net(torch::nn::Linear(3, 2), torch::nn::Linear(2, 2));
        auto first = net->ptr<torch::nn::LinearImpl>(0);
        auto extra = net->ptr<torch::nn::LinearImpl>(1);
        lola::train::DataParallel dp(g, *net, /*bucket_bytes=*/16, /*overlap=*/true);
        const torch::Tensor x = torch::tensor({1.0F, 2.0F, 3.0F}) * static_cast<float>(g.rank() + 1);
        dp.prepare();
        torch::Tensor loss = first->forward(x).sum();
        if (g.rank() == 0) {
            loss = loss + extra->forward(torch::ones({2})).sum();
        }
        loss.backward();
        const double mean = dp.average_gradients(loss.item<double>());
        return std::vector<torch::Tensor>{first->weight.grad().clone(), first->bias.grad().clone(),
                                          extra->weight.grad().clone(), torch::tensor(mean)};
    });
    // the mean of x_0 = (1, 2, 3) and x_1 = 2 x_0 is 1.5 x_0
    const torch::Tensor w = torch::tensor({1.5F, 3.0F, 4.5F}).expand({2, 3});
    for (const auto& r : {a, b}) {
        EXPECT_TRUE(torch::allclose(r[0], w)) << r[0];
        EXPECT_TRUE(torch::allclose(r[1], torch::ones({2}))) << r[1];
        EXPECT_TRUE(torch::allclose(r[2], torch::full({2, 2}, 0.5F))) << r[2];
    }
    EXPECT_DOUBLE_EQ(a[3].item<double>(), b[3].item<double>());
}

#endif

TEST(RankRandomness, GivesEachRankAndStepItsOwnStreamAndLeavesTheSharedOneUntouched) {
    auto draw_as = [](int rank, int count, uint64_t salt) {
        torch::manual_seed(5);
        torch::Tensor inside;
        {
            const lola::train::RankRandomness fork(rank, count, torch::kCPU, salt);
            inside = torch::randn({8});
        }
        return std::make_pair(inside, torch::randn({4})); // after the guard: the shared stream
    };
    const auto [r0, after0] = draw_as(0, 2, 1);
    const auto [r1, after1] = draw_as(1, 2, 1);
    const auto [r0_next, after0_next] = draw_as(0, 2, 2);
    EXPECT_FALSE(torch::equal(r0, r1));                    // ranks draw differently inside
    EXPECT_FALSE(torch::equal(r0, r0_next));               // and so do steps
    EXPECT_TRUE(torch::equal(r0, draw_as(0, 2, 1).first)); // reproducibly (resume)
    // the shared stream is where it was: as if the guard had not been there
    torch::manual_seed(5);
    const torch::Tensor untouched = torch::randn({4});
    EXPECT_TRUE(torch::equal(after0, untouched));
    EXPECT_TRUE(torch::equal(after1, untouched));
    // a single process: no fork at all
    const auto [one, after_one] = draw_as(0, 1, 1);
    torch::manual_seed(5);
    EXPECT_TRUE(torch::equal(one, torch::randn({8})));
}

} // namespace
