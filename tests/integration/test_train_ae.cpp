// lola train-ae end to end on generated data: run folder, metrics, exact resume, bad input; and parameter counts.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lola/core/fs.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using Result = lola::test::CommandResult;

using lola::test::read_text;
using lola::test::run_lola;

} // namespace

TEST(TrainAe, ParameterCountsOfThePaperConfigs) {
    Result r = run_lola("info configs/ae/dcae_f32c64_large.yaml dataset=euler_all");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("parameters: 313,098,629"), std::string::npos) << r.out;
    r = run_lola("info configs/ae/dcae_f32c64_large_attention.yaml dataset=euler_all");
    EXPECT_NE(r.out.find("parameters: 237,625,733"), std::string::npos) << r.out;
    r = run_lola("info configs/ae/dcae_3d_f8c64_large.yaml dataset=gravity_cooling");
    EXPECT_NE(r.out.find("parameters: 741,019,014"), std::string::npos) << r.out;
}

TEST(TrainAe, TrainsResumesExactlyAndRejectsBadInput) {
    lola::test::TempDir tmp;
    const std::string data = (tmp / "data").string();
    ASSERT_EQ(run_lola("simulate euler_multi_quadrants --preset tiny --no-progress --out " + data).code, 0);
    const std::string common = "--threads 1 dataset=euler_small dataset.root=" + data +
                               " ae=dcae_tiny train.epochs=3 train.steps_per_epoch=3 train.valid_batches=1 "
                               "loader.batch_size=4 loader.valid_batch_size=4 optim.learning_rate=1e-3";
    Result full = run_lola("train-ae --out " + (tmp / "full").string() + " " + common);
    ASSERT_EQ(full.code, 0) << full.out;
    for (const char* f : {"config.yaml", "metrics.jsonl", "state.pt", "state_best.pt", "checkpoint.pt"}) {
        EXPECT_TRUE(fs::exists(tmp / "full" / f)) << f;
    }
    const std::string metrics = read_text(tmp / "full" / "metrics.jsonl");
    EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 3);
    EXPECT_NE(metrics.find("valid/loss/mean"), std::string::npos);
    EXPECT_NE(read_text(tmp / "full" / "config.yaml").find("dcae_tiny"), std::string::npos);

    Result first = run_lola("train-ae --stop-after 1 --out " + (tmp / "split").string() + " " + common);
    ASSERT_EQ(first.code, 0) << first.out;
    const std::string partial = read_text(tmp / "split" / "metrics.jsonl");
    EXPECT_EQ(std::count(partial.begin(), partial.end(), '\n'), 1);
    Result resumed = run_lola("train-ae --resume --threads 1 --out " + (tmp / "split").string());
    ASSERT_EQ(resumed.code, 0) << resumed.out;
    EXPECT_NE(resumed.out.find("resumed"), std::string::npos) << resumed.out;
    EXPECT_EQ(read_text(tmp / "split" / "metrics.jsonl"), metrics); // every loss equal, bit for bit

    Result bad_key = run_lola("train-ae --out " + (tmp / "bad").string() + " " + common + " optim.lerning_rate=1");
    EXPECT_EQ(bad_key.code, 2) << bad_key.out;
    EXPECT_NE(bad_key.out.find("did you mean 'optim.learning_rate'"), std::string::npos) << bad_key.out;
    Result no_data = run_lola("train-ae --out " + (tmp / "bad").string() +
                              " dataset=euler_small dataset.root=" + (tmp / "nowhere").string() + " ae=dcae_tiny");
    EXPECT_EQ(no_data.code, 1) << no_data.out;
    EXPECT_NE(no_data.out.find("lola simulate"), std::string::npos) << no_data.out;
    Result no_resume = run_lola("train-ae --resume --out " + (tmp / "nothing").string());
    EXPECT_EQ(no_resume.code, 2) << no_resume.out;
}

// docs/reliability.md: training into a folder that holds a run is refused unless --resume or --overwrite; a run
// folder is locked while its process lives, the lock dies with the process, and its temporaries are cleaned up later.
TEST(TrainAe, NeverReplacesARunByAccidentAndLocksItsFolder) {
    lola::test::TempDir tmp;
    const std::string data = (tmp / "data").string();
    ASSERT_EQ(run_lola("simulate euler_multi_quadrants --preset tiny --no-progress --gammas 1.4 "
                       "--out " +
                       data)
                  .code,
              0);
    const std::string common = "--threads 1 dataset=euler_small dataset.root=" + data +
                               " ae=dcae_tiny train.epochs=2 train.steps_per_epoch=2 train.valid_batches=1 "
                               "loader.batch_size=4 loader.valid_batch_size=4";
    const fs::path dir = tmp / "run";
    ASSERT_EQ(run_lola("train-ae --out " + dir.string() + " " + common).code, 0);
    const std::string metrics = read_text(dir / "metrics.jsonl"), state = read_text(dir / "state.pt");

    // the natural mistake after a kill: the same command again, without --resume
    Result again = run_lola("train-ae --out " + dir.string() + " " + common);
    EXPECT_EQ(again.code, 2) << again.out;
    EXPECT_NE(again.out.find("already holds a run"), std::string::npos) << again.out;
    EXPECT_NE(again.out.find("--resume"), std::string::npos) << again.out;
    EXPECT_NE(again.out.find("--overwrite"), std::string::npos) << again.out;
    EXPECT_EQ(read_text(dir / "metrics.jsonl"), metrics); // untouched
    EXPECT_EQ(read_text(dir / "state.pt"), state);
    EXPECT_EQ(run_lola("train-ae --resume --overwrite --out " + dir.string()).code, 2); // one or the other

    // --overwrite starts afresh: same seed, same metrics
    Result over = run_lola("train-ae --overwrite --out " + dir.string() + " " + common);
    ASSERT_EQ(over.code, 0) << over.out;
    EXPECT_EQ(read_text(dir / "metrics.jsonl"), metrics);

    // a long run holds the lock: a second process is refused while it lives, whatever its flags
    const fs::path busy = tmp / "busy";
    Result bg = lola::test::run_command(std::string(LOLA_BINARY) + " -q train-ae --out " + busy.string() + " " +
                                        common + " train.epochs=1000 >/dev/null 2>&1 & echo $!");
    ASSERT_EQ(bg.code, 0) << bg.out;
    const std::string pid = bg.out.substr(0, bg.out.find('\n'));
    for (int i = 0; i < 600 && read_text(busy / ".lock").find("pid") == std::string::npos; ++i) {
        ::usleep(50000);
    }
    ASSERT_NE(read_text(busy / ".lock").find("pid " + pid), std::string::npos) << "the background run never started";
    Result second = run_lola("train-ae --overwrite --out " + busy.string() + " " + common);
    EXPECT_EQ(second.code, 1) << second.out;
    EXPECT_NE(second.out.find("in use by another lola process (pid " + pid), std::string::npos) << second.out;
    EXPECT_EQ(lola::test::run_command("kill -9 " + pid + "; while kill -0 " + pid +
                                      " 2>/dev/null; do sleep 0.05; "
                                      "done")
                  .code,
              0);
    // what the killed process could have left: a temporary of a checkpoint being written
    const fs::path leftover = busy / (".checkpoint.pt.tmp." + lola::core::host_tag() + "." + pid + ".4");
    std::ofstream(leftover) << "partial";
    Result after = run_lola("train-ae --overwrite --out " + busy.string() + " " + common);
    EXPECT_EQ(after.code, 0) << after.out; // the lock died with its process
    EXPECT_FALSE(fs::exists(leftover));
    EXPECT_NE(after.out.find("no longer runs"), std::string::npos) << after.out;
}
