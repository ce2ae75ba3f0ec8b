// Data-parallel training through the binary (docs/distributed.md): two Gloo ranks on this machine train as one process
// with the same global batch (autoencoder and pixel-space diffusion model), keep PSGD's and SOAP's states identical,
// resume exactly, end cleanly when a rank dies or hangs, refuse ranks with different configurations, and start from
// torchrun's, Slurm's or `lola launch`'s variables.
#include <gtest/gtest.h>

#include <unistd.h>

#include <torch/serialize.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using Result = lola::test::CommandResult;
const std::string kLola = LOLA_BINARY;

bool has(const std::string& text, const std::string& what) { return lola::test::contains(text, what); }

/// The tensors of a weights file (train::save_weights), by name.
std::map<std::string, torch::Tensor> read_weights(const fs::path& path) {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    std::map<std::string, torch::Tensor> out;
    for (const auto& key : archive.keys()) {
        torch::Tensor t;
        if (archive.try_read(key, t)) {
            out[key] = t;
        }
    }
    return out;
}

/// Largest |a - b| over two weights files with the same tensors.
double max_difference(const fs::path& a, const fs::path& b) {
    const auto wa = read_weights(a);
    const auto wb = read_weights(b);
    EXPECT_EQ(wa.size(), wb.size());
    double worst = 0;
    for (const auto& [k, t] : wa) {
        EXPECT_TRUE(wb.count(k) == 1) << k;
        if (wb.count(k) == 1) {
            worst = std::max(worst, (t - wb.at(k)).abs().max().item<double>());
        }
    }
    return worst;
}

std::vector<std::string> lines_of(const fs::path& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

/// One number of a metrics.jsonl line ("key":value).
double metric(const std::string& line, const std::string& key) {
    const auto at = line.find("\"" + key + "\":");
    EXPECT_NE(at, std::string::npos) << key << " in " << line;
    return at == std::string::npos ? std::nan("") : std::stod(line.substr(at + key.size() + 3));
}

class Distributed : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tmp_ = new lola::test::TempDir();
        const Result sim = lola::test::run_command(kLola +
                                                   " simulate euler_multi_quadrants --preset tiny --no-progress "
                                                   "--gammas 1.4 --out " +
                                                   path("data").string());
        ASSERT_EQ(sim.code, 0) << sim.out;
    }
    static void TearDownTestSuite() { delete tmp_; }
    static fs::path path(const std::string& name) { return *tmp_ / name; }

    /// The tiny autoencoder, deterministic (no dropout, no latent noise: those draw per rank), 2 epochs of 3 steps.
    /// Adam's eps 1e-3 keeps its update smooth for near-zero gradients, whose sign float round-off may flip.
    static std::string ae_args(const std::string& out, const std::string& extra = "") {
        return "train-ae --out " + path(out).string() +
               " --threads 1 dataset=euler_small dataset.root=" + path("data").string() +
               " ae=dcae_tiny ae.dropout=0 ae.latent_noise=0 train.epochs=2 train.steps_per_epoch=3 "
               "train.valid_batches=2 loader.batch_size=4 loader.valid_batch_size=4 optim.eps=0.001 " +
               extra;
    }
    static Result lola(const std::string& args) { return lola::test::run_command(kLola + " " + args); }

    /// Two ranks started by hand with torchrun's variables; `ranks_args[r]` are rank r's arguments. Returns each
    /// rank's exit code and output after both ended.
    static std::vector<Result> torchrun_pair(const std::array<std::string, 2>& ranks_args) {
        const int port = lola::test::free_tcp_port();
        std::vector<Result> out;
        std::string script;
        for (int r = 0; r < 2; ++r) {
            script += "RANK=" + std::to_string(r) + " LOCAL_RANK=" + std::to_string(r) +
                      " WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
                      " " + kLola + " " + ranks_args[static_cast<size_t>(r)] + " > " +
                      path("rank" + std::to_string(r) + ".log").string() + " 2>&1 & p" + std::to_string(r) + "=$!\n";
        }
        script += "wait $p0; echo rc0=$?; wait $p1; echo rc1=$?\n";
        const Result both = lola::test::run_command("sh -c '" + script + "'");
        for (int r = 0; r < 2; ++r) {
            Result one;
            const auto at = both.out.find("rc" + std::to_string(r) + "=");
            one.code = at == std::string::npos ? -1 : std::stoi(both.out.substr(at + 4));
            one.out = lola::test::read_text(path("rank" + std::to_string(r) + ".log"));
            out.push_back(one);
        }
        return out;
    }

    /// Two ranks with torchrun's variables on an endless run; once rank 0 has logged its first step, rank 1 gets
    /// `signal` (KILL: dies, STOP: hangs). Returns the script's output ("rc=<rank 0's exit code> seconds=<until it
    /// ended>") and rank 0's log; rank 0 must end by itself.
    static std::pair<Result, std::string> signal_rank1_after_first_step(const std::string& name,
                                                                        const std::string& signal, int timeout) {
        const std::string env =
            "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(lola::test::free_tcp_port());
        const std::string args = ae_args(name, "train.epochs=1 train.steps_per_epoch=1000000") + " --dist-timeout " +
                                 std::to_string(timeout);
        const std::string log0 = path(name + "0.log").string();
        const Result r = lola::test::run_command(
            "sh -c 'RANK=0 " + env + " " + kLola + " " + args + " > " + log0 + " 2>&1 & p0=$!\n" + "RANK=1 " + env +
            " " + kLola + " " + args + " > /dev/null 2>&1 & p1=$!\n" + "i=0; while ! grep -q \"step \" " + log0 +
            " && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n" + "kill -" + signal +
            " $p1; start=$(date +%s); wait $p0; rc=$?; kill -9 $p1 2>/dev/null; echo rc=$rc seconds=$(( $(date +%s) - "
            "start ))'");
        return {r, lola::test::read_text(log0)};
    }

    static lola::test::TempDir* tmp_;
};
lola::test::TempDir* Distributed::tmp_ = nullptr;

TEST_F(Distributed, TwoRanksTrainTheAutoencoderAsOneProcessWithTheSameGlobalBatch) {
    const Result one = lola(ae_args("one"));
    ASSERT_EQ(one.code, 0) << one.out;
    const Result two = lola("launch --nproc 2 -- " + ae_args("two"));
    ASSERT_EQ(two.code, 0) << two.out;
    EXPECT_TRUE(has(two.out, "rank 0 of 2 (gloo backend")) << two.out;
    // float32 round-off of the gradient sums taken in another order (per shard, then across ranks); a wrong shard,
    // weight or average would move the weights by the learning rate (1e-4 per step) or more
    EXPECT_LT(max_difference(path("one") / "state.pt", path("two") / "state.pt"), 1e-5);
    const auto a = lines_of(path("one") / "metrics.jsonl");
    const auto b = lines_of(path("two") / "metrics.jsonl");
    ASSERT_EQ(a.size(), 2U);
    ASSERT_EQ(b.size(), 2U);
    for (size_t e = 0; e < a.size(); ++e) {
        for (const char* key : {"train/loss/mean", "train/grad_norm/mean", "valid/loss/mean", "valid/loss/std"}) {
            EXPECT_NEAR(metric(a[e], key), metric(b[e], key), 1e-5 * std::abs(metric(a[e], key))) << key;
        }
        EXPECT_EQ(metric(a[e], "train/samples"), metric(b[e], "train/samples"));
    }
}

TEST_F(Distributed, TwoRanksTrainThePixelDiffusionModelAsOneProcess) {
    // masks, diffusion times and noise are drawn for the whole batch on every rank and each keeps its rows
    const std::string args = " --threads 1 dataset=euler_small dataset.root=" + path("data").string() +
                             " denoiser=tiny denoiser.dropout=0 denoiser.patch_size=[1,8,8] train.epochs=1 "
                             "train.steps_per_epoch=3 train.valid_batches=2 loader.batch_size=4 "
                             "loader.valid_batch_size=4 optim.eps=0.001";
    const Result one = lola("train-diffusion --out " + path("dm1").string() + args);
    ASSERT_EQ(one.code, 0) << one.out;
    const Result two = lola("launch --nproc 2 -- train-diffusion --out " + path("dm2").string() + args);
    ASSERT_EQ(two.code, 0) << two.out;
    EXPECT_LT(max_difference(path("dm1") / "state.pt", path("dm2") / "state.pt"), 1e-5);
    const auto a = lines_of(path("dm1") / "metrics.jsonl");
    const auto b = lines_of(path("dm2") / "metrics.jsonl");
    ASSERT_EQ(a.size(), 1U);
    ASSERT_EQ(b.size(), 1U);
    EXPECT_NEAR(metric(a[0], "train/loss/mean"), metric(b[0], "train/loss/mean"),
                1e-5 * metric(a[0], "train/loss/mean"));
}

TEST_F(Distributed, PsgdAndSoapStatesStayIdenticalAcrossRanks) {
    // the trainer compares every rank's weights and optimizer state with rank 0's after each epoch and fails on a
    // difference (Group.CheckSameRefusesADifferenceOnEveryRank shows that it can)
    for (const std::string optim : {"psgd", "soap"}) {
        const Result r =
            lola("launch --nproc 2 -- " +
                 ae_args(optim, "optim=" + optim + " optim.eps=1e-8 ae.dropout=0.05 ae.latent_noise=0.01"));
        EXPECT_EQ(r.code, 0) << optim << ":\n" << r.out;
        EXPECT_FALSE(has(r.out, "differ")) << r.out;
        EXPECT_EQ(lines_of(path(optim) / "metrics.jsonl").size(), 2U);
    }
}

TEST_F(Distributed, ResumeOnTwoRanksReproducesTheUninterruptedRunAndOnOneRankContinues) {
    // with dropout and latent noise, which each rank draws from a stream of its own (train::RankRandomness)
    const std::string noisy = "ae.dropout=0.05 ae.latent_noise=0.01";
    const Result full = lola("launch --nproc 2 -- " + ae_args("full", noisy));
    ASSERT_EQ(full.code, 0) << full.out;
    const Result half = lola("launch --nproc 2 -- " + ae_args("half", noisy) + " --stop-after 1");
    ASSERT_EQ(half.code, 0) << half.out;
    EXPECT_EQ(lines_of(path("half") / "metrics.jsonl").size(), 1U);
    fs::copy(path("half"), path("half1"), fs::copy_options::recursive);
    const Result rest = lola("launch --nproc 2 -- " + ae_args("half", noisy) + " --resume");
    ASSERT_EQ(rest.code, 0) << rest.out;
    EXPECT_EQ(lola::test::read_text(path("half") / "metrics.jsonl"),
              lola::test::read_text(path("full") / "metrics.jsonl"));
    // on another number of ranks: the same global batches, other dropout masks (not bit for bit)
    const Result alone = lola(ae_args("half1", noisy) + " --resume");
    ASSERT_EQ(alone.code, 0) << alone.out;
    const auto a = lines_of(path("full") / "metrics.jsonl");
    const auto b = lines_of(path("half1") / "metrics.jsonl");
    ASSERT_EQ(b.size(), 2U);
    EXPECT_NEAR(metric(a[1], "train/loss/mean"), metric(b[1], "train/loss/mean"),
                0.1 * metric(a[1], "train/loss/mean"));
}

TEST_F(Distributed, AKilledRankEndsTheOtherWithAMessageNamingIt) {
    const auto [r, out] = signal_rank1_after_first_step("killed", "KILL", 30);
    EXPECT_TRUE(has(r.out, "rc=1")) << r.out << out;
    EXPECT_TRUE(has(out, "lost rank 1")) << out;
    const auto at = r.out.find("seconds=");
    ASSERT_NE(at, std::string::npos) << r.out;
    EXPECT_LE(std::stoi(r.out.substr(at + 8)), 30) << r.out;
}

// The timeout leaves room for a loaded machine: it also bounds the rendezvous and every ordinary step.
TEST_F(Distributed, AHungRankEndsTheOtherAfterTheTimeout) {
    const auto [r, out] = signal_rank1_after_first_step("hung", "STOP", 10);
    EXPECT_TRUE(has(r.out, "rc=1")) << r.out << out;
    EXPECT_TRUE(has(out, "lost rank 1")) << out;
}

TEST_F(Distributed, RanksWithDifferentConfigurationsAreRefused) {
    const auto ranks = torchrun_pair({ae_args("mismatch"), ae_args("mismatch", "train.steps_per_epoch=4")});
    EXPECT_NE(ranks[0].code, 0) << ranks[0].out;
    EXPECT_NE(ranks[1].code, 0) << ranks[1].out;
    EXPECT_TRUE(has(ranks[0].out, "configurations of rank 1 differs from rank 0's")) << ranks[0].out;
    EXPECT_FALSE(fs::exists(path("mismatch") / "metrics.jsonl"));
}

TEST_F(Distributed, TorchrunAndSlurmVariablesStartAJob) {
    const auto ranks = torchrun_pair({ae_args("torchrun"), ae_args("torchrun")});
    EXPECT_EQ(ranks[0].code, 0) << ranks[0].out;
    EXPECT_EQ(ranks[1].code, 0) << ranks[1].out;
    EXPECT_TRUE(has(ranks[0].out, "launched by torchrun")) << ranks[0].out;
    EXPECT_EQ(lines_of(path("torchrun") / "metrics.jsonl").size(), 2U);

    // srun's variables; the rendezvous is the node list's first host, the port 29500 + SLURM_JOB_ID mod 10000
    const int job = lola::test::free_tcp_port() >= 29500 && lola::test::free_tcp_port() < 39500
                        ? lola::test::free_tcp_port() - 29500
                        : ::getpid() % 10000;
    std::string script;
    for (int r = 0; r < 2; ++r) {
        script += "SLURM_PROCID=" + std::to_string(r) + " SLURM_LOCALID=" + std::to_string(r) +
                  " SLURM_NTASKS=2 SLURM_JOB_NODELIST=localhost,node[2-3] SLURM_JOB_ID=" + std::to_string(job) + " " +
                  kLola + " " + ae_args("slurm") + " > " + path("slurm" + std::to_string(r) + ".log").string() +
                  " 2>&1 & p" + std::to_string(r) + "=$!\n";
    }
    const Result r = lola::test::run_command("sh -c '" + script + "wait $p0; echo rc0=$?; wait $p1; echo rc1=$?'");
    EXPECT_TRUE(has(r.out, "rc0=0") && has(r.out, "rc1=0"))
        << r.out << lola::test::read_text(path("slurm0.log")) << lola::test::read_text(path("slurm1.log"));
    EXPECT_TRUE(has(lola::test::read_text(path("slurm0.log")), "launched by slurm, rendezvous localhost:"));
    EXPECT_EQ(lines_of(path("slurm") / "metrics.jsonl").size(), 2U);
}

} // namespace
