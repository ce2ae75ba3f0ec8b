// What lola promises when things go wrong (docs/reliability.md), through the binary: a write that fails (full disk)
// exits 1 with one line naming the file and "disk full", keeps the previous complete files and leaves no temporary;
// user mistakes (absurd sizes, non-finite numbers, empty paths) get one line naming the key and the fix, never a
// LibTorch backtrace or runaway memory; a cache encoded at a time stride > 1 trains and records the right Delta.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using Result = lola::test::CommandResult;
const std::string kLola = LOLA_BINARY;

Result run(const std::string& args) { return lola::test::run_command(kLola + " " + args); }

bool has(const std::string& text, const std::string& what) { return lola::test::contains(text, what); }

/// Lines of `text` that start with "lola:" (the CLI's own messages) and lines that look like dumps.
int64_t lola_lines(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
        n += line.rfind("lola: ", 0) == 0 ? 1 : 0;
    }
    return n;
}

bool looks_like_a_dump(const std::string& text) {
    return has(text, "HDF5-DIAG") || has(text, "Exception raised from") || has(text, "frame #") ||
           has(text, "terminate called") || has(text, "enforce fail");
}

/// Whether this process may mount a small tmpfs in a private mount namespace (root, or user namespaces).
bool can_mount_tmpfs(const fs::path& dir) {
    fs::create_directories(dir);
    return lola::test::run_command("unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k tmpfs " +
                                   dir.string() + "' >/dev/null 2>&1")
               .code == 0;
}

enum class Shortage {
    kDisk,     ///< a full disk: a tmpfs where this process may mount one (ENOSPC), else a file size limit (EFBIG)
    kFileSize, ///< a file size limit (ulimit -f): every write past it fails (EFBIG)
};

/// Run `command` (sh) in folder $D after `prep` filled it, with only `free_kb` kilobytes left to write, then `check`
/// (sh, after the command; prints "differ" for a changed file). A tmpfs is mounted in a private mount namespace, so it
/// vanishes afterwards: the command's exit code and the files left in $D are printed for the caller.
Result run_short_of_space(const fs::path& d, const std::string& prep, const std::string& command,
                          const std::string& check, int free_kb, Shortage shortage, bool tmpfs) {
    const bool mount = tmpfs && shortage == Shortage::kDisk;
    const fs::path script = d.parent_path() / (d.filename().string() + ".sh");
    std::ofstream(script) << "D=" << d.string() << "\n"
                          << "set -e\n"
                          << (mount ? "mount -t tmpfs -o size=64m tmpfs \"$D\"\n" : "") << prep << "\n"
                          << (mount ? "avail=$(df -k --output=avail \"$D\" | tail -1)\n"
                                      "fallocate -l $(( (avail - " +
                                          std::to_string(free_kb) + ") * 1024 )) \"$D/.filler\"\n"
                                    : "ulimit -f " + std::to_string(free_kb) + "\ntrap '' XFSZ\n")
                          << "set +e\n"
                          << command << "\n"
                          << "rc=$?\n"
                          << check << "\n"
                          << "echo \"rc=$rc\"\n"
                          << "echo \"== files\"\n"
                          << "find \"$D\" -name '.filler' -prune -o -print | sort\n";
    fs::create_directories(d);
    return lola::test::run_command((mount ? "unshare -m --propagation private sh " : "sh ") + script.string());
}

/// The exit code printed by run_short_of_space, and whether its file listing holds a temporary.
int code_of(const Result& r) {
    const auto at = r.out.rfind("rc=");
    return at == std::string::npos ? -1 : std::stoi(r.out.substr(at + 3));
}
bool lists_a_temporary(const Result& r) {
    const std::string files = r.out.substr(r.out.rfind("== files"));
    return has(files, ".tmp.") || has(files, ".partial.") || has(files, ".old.");
}

/// A tiny dataset, autoencoder, latent cache (stride 2), neural solver and diffusion model, made once for all tests.
class Reliability : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tmp_ = new lola::test::TempDir();
        const std::string data = path("data").string();
        ASSERT_EQ(run("simulate euler_multi_quadrants --preset tiny --no-progress --gammas 1.4 --out " + data).code, 0);
        Result ae =
            run("train-ae --out " + path("ae").string() + " --threads 1 dataset=euler_small dataset.root=" + data +
                " ae=dcae_tiny train.epochs=1 train.steps_per_epoch=1 train.valid_batches=1 "
                "loader.batch_size=4 loader.valid_batch_size=4");
        ASSERT_EQ(ae.code, 0) << ae.out;
        Result cache = run("--threads 1 cache-latents --repeat 1 --stride 2 --ae " + path("ae").string() + " --out " +
                           path("latents").string());
        ASSERT_EQ(cache.code, 0) << cache.out;
        Result sm = run("train-surrogate --out " + path("sm").string() +
                        " --threads 1 latents.dir=" + path("latents").string() +
                        " surrogate=tiny emulator.stride=2 train.epochs=1 "
                        "train.steps_per_epoch=1 train.valid_batches=1 loader.batch_size=4 loader.valid_batch_size=4");
        ASSERT_EQ(sm.code, 0) << sm.out;
        Result dm = run("train-diffusion --out " + path("dm").string() +
                        " --threads 1 latents.dir=" + path("latents").string() +
                        " denoiser=tiny emulator.stride=2 train.epochs=1 "
                        "train.steps_per_epoch=1 train.valid_batches=1 loader.batch_size=4 loader.valid_batch_size=4");
        ASSERT_EQ(dm.code, 0) << dm.out;
        tmpfs_ = can_mount_tmpfs(path("probe"));
    }
    static void TearDownTestSuite() { delete tmp_; }
    static fs::path path(const std::string& name) { return *tmp_ / name; }

    /// Checks of a failed write: exit 1, one line naming `file` (and "disk full" when `full_disk` and the disk really
    /// was full), no dump, the previous files unchanged (the check's "differ" lines), no temporary left.
    static void expect_clean_failure(const Result& r, const std::string& file, bool full_disk) {
        EXPECT_EQ(code_of(r), 1) << r.out;
        EXPECT_EQ(lola_lines(r.out), 1) << r.out;
        EXPECT_FALSE(looks_like_a_dump(r.out)) << r.out;
        EXPECT_TRUE(has(r.out, file)) << r.out;
        if (tmpfs_ && full_disk) {
            EXPECT_TRUE(has(r.out, "disk full")) << r.out;
        }
        EXPECT_FALSE(has(r.out, "differ")) << "a previous file changed:\n" << r.out;
        EXPECT_FALSE(lists_a_temporary(r)) << r.out;
    }

    static lola::test::TempDir* tmp_;
    static bool tmpfs_;
};
lola::test::TempDir* Reliability::tmp_ = nullptr;
bool Reliability::tmpfs_ = false;

// One test per fixture (each ctest test is a process that builds the fixture again): the write failures, then the
// user mistakes.
TEST_F(Reliability, WriteFailuresKeepThePreviousFilesAndLeaveNoTemporary) {
    SCOPED_TRACE(tmpfs_ ? "a full tmpfs" : "a file size limit (no tmpfs can be mounted here)");
    // simulate: a previous complete dataset is in $D; regenerating it with more snapshots fails to write. (A file size
    // limit: on a disk too small from the start, simulate refuses before it begins, naming the space it needs.)
    const std::string sim = kLola +
                            " simulate euler_multi_quadrants --preset tiny --no-progress --gammas 1.4 "
                            "--boundaries periodic --out \"$D\"";
    const std::string before = path("sim_before").string();
    const Result r =
        run_short_of_space(path("sim_disk"), sim + " --snapshots 11 >/dev/null 2>&1\ncp -r \"$D\" " + before,
                           sim + " --snapshots 31 --overwrite",
                           "diff -r \"$D/euler_multi_quadrants_periodicBC\" " + before +
                               "/euler_multi_quadrants_periodicBC >/dev/null || "
                               "echo 'dataset differ'",
                           200, Shortage::kFileSize, tmpfs_);
    expect_clean_failure(r, "euler_multi_quadrants_periodicBC", false);
    const Result small =
        run_short_of_space(path("sim_small"), "true", sim + " --snapshots 31", "true", 200, Shortage::kDisk, tmpfs_);
    if (tmpfs_) { // refused before it starts
        EXPECT_EQ(code_of(small), 2) << small.out;
        EXPECT_TRUE(has(small.out, "GB free")) << small.out;
    }
    EXPECT_FALSE(lists_a_temporary(small)) << small.out;

    // train-ae: the run of the fixture, resumed for one more epoch with no room for its new weights and checkpoint
    const Result ae = run_short_of_space(path("ae_disk"), "cp -r " + path("ae").string() + "/. \"$D\"",
                                         kLola + " train-ae --resume --threads 1 --out \"$D\" train.epochs=2",
                                         "for f in state.pt state_best.pt checkpoint.pt; do cmp -s \"$D/$f\" " +
                                             path("ae").string() + "/$f || echo \"$f differ\"; done",
                                         40, Shortage::kDisk, tmpfs_);
    expect_clean_failure(ae, "state.pt", true);

    // cache-latents: a previous complete cache in $D, rewritten with more copies
    const Result cache = run_short_of_space(
        path("cache_disk"), "cp -r " + path("latents").string() + "/. \"$D\"",
        kLola + " --threads 1 cache-latents --repeat 3 --ae " + path("ae").string() + " --out \"$D\"",
        "for f in train.h5 valid.h5 test.h5; do cmp -s \"$D/$f\" " + path("latents").string() +
            "/$f || echo \"$f differ\"; done",
        24, Shortage::kDisk, tmpfs_);
    expect_clean_failure(cache, "train.h5'", true);

    // emulate: a previous prediction file in $D
    const std::string emulate = kLola + " --threads 1 emulate --run " + path("sm").string() + " --out \"$D/pred.h5\"";
    const std::string pred_before = path("pred_before.h5").string();
    const Result pred = run_short_of_space(
        path("emulate_disk"), emulate + " --trajectories 0 >/dev/null 2>&1\ncp \"$D/pred.h5\" " + pred_before, emulate,
        "cmp -s \"$D/pred.h5\" " + pred_before + " || echo 'pred.h5 differ'", 8, Shortage::kDisk, tmpfs_);
    expect_clean_failure(pred, "pred", true);
}

TEST_F(Reliability, UserMistakesHugeCountsAndCacheStrides) {
    const std::string ae = "train-ae --out " + path("mistake").string() +
                           " --threads 1 dataset=euler_small "
                           "dataset.root=" +
                           path("data").string() +
                           " ae=dcae_tiny train.epochs=1 "
                           "train.steps_per_epoch=1 ";
    struct Case {
        std::string args, key;
        int code;
    };
    const std::vector<Case> cases{
        {ae + "ae.lat_channels=100000000", "ae.lat_channels", 2},
        {ae + "ae.hid_blocks=[1,1,100000]", "ae.hid_blocks", 2},
        {ae + "optim.learning_rate=.inf", "optim.learning_rate", 2},
        {ae + "optim.learning_rate=1e30", "optim.learning_rate", 2},
        {"train-diffusion --out " + path("mistake2").string() + " latents.dir=" + path("latents").string() +
             " denoiser=tiny denoiser.hid_channels=1000000",
         "denoiser.hid_channels", 2},
        {"train-diffusion --out " + path("mistake3").string() + " latents.dir=" + path("latents").string() +
             " denoiser=tiny denoiser.hid_blocks=100000",
         "denoiser.hid_blocks", 2},
        {"simulate euler_multi_quadrants --snapshots 1000000000 --out " + path("mistake4").string(), "--snapshots", 2},
        {"train-ae --out '' dataset=euler_small", "--out", 2},
        {"simulate euler_multi_quadrants --out ''", "--out", 2},
        {"emulate --run " + path("dm").string() + " --members 1000000000 --out " + path("m.h5").string(), "--members",
         2},
    };
    for (const Case& c : cases) {
        const Result r = run(c.args);
        EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
        EXPECT_TRUE(has(r.out, c.key)) << c.args << "\n" << r.out;
        EXPECT_EQ(lola_lines(r.out), 1) << c.args << "\n" << r.out;
        EXPECT_FALSE(looks_like_a_dump(r.out)) << c.args << "\n" << r.out;
    }
    // a config file that is not a regular file is still a file to read
    const Result devnull = run(ae + "--config /dev/null --overwrite");
    EXPECT_FALSE(has(devnull.out, "does not exist")) << devnull.out;
    EXPECT_EQ(devnull.code, 0) << devnull.out;
    // lola's OpenMP threads spin only briefly unless told otherwise (ctest sets OMP_WAIT_POLICY; here it is unset)
    const Result spin = lola::test::run_command("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " + kLola +
                                                " -v --threads 1 simulate euler_multi_quadrants --preset tiny "
                                                "--no-progress --snapshots 3 --out " +
                                                path("sim0").string());
    EXPECT_TRUE(has(spin.out, "GOMP_SPINCOUNT=1000")) << spin.out;
    // a huge epoch off a terminal still shows progress within seconds (a line every train.log_seconds)
    const Result long_epoch =
        lola::test::run_command("timeout 20 " + kLola + " train-ae --out " + path("long").string() +
                                " --threads 1 dataset=euler_small "
                                "dataset.root=" +
                                path("data").string() +
                                " ae=dcae_tiny train.steps_per_epoch=1000000000 train.log_seconds=1 "
                                "loader.batch_size=4");
    EXPECT_TRUE(has(long_epoch.out, "ETA")) << long_epoch.out;
    EXPECT_TRUE(has(long_epoch.out, "step ")) << long_epoch.out;
    // the global --threads reaches simulate and --version
    EXPECT_TRUE(has(run("--threads 1 --version").out, "threads: 1"));
    EXPECT_TRUE(has(run("--threads 1 simulate euler_multi_quadrants --preset tiny --no-progress --gammas 1.4 "
                        "--boundaries periodic --snapshots 3 --out " +
                        path("sim1").string())
                        .out,
                    "1 threads"));

    // --trajectories far above the test split: every test trajectory once, no billion draws kept in memory
    const Result eval = run("--threads 1 eval --run " + path("sm").string() + " --out " + path("eval").string() +
                            " --trajectories 1000000000 --contexts 1 --members 1 --no-figures");
    EXPECT_EQ(eval.code, 0) << eval.out;
    EXPECT_TRUE(has(eval.out, "2 of 2 test trajectories")) << eval.out;

    // the fixture's cache holds every 2nd snapshot and the solver steps 2 cached states: Delta = 4 snapshots
    std::ifstream in(path("sm") / "config.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_TRUE(has(ss.str(), "time_stride: 4")) << ss.str();
    const Result p4 = run("--threads 1 emulate --run " + path("sm").string() + " --out " + path("p4.h5").string());
    ASSERT_EQ(p4.code, 0) << p4.out;
    const Result info = run("info " + path("p4.h5").string());
    EXPECT_TRUE(has(info.out, "t = 0 .. 1.5")) << info.out; // 26 frames 4 snapshots apart cover the whole trajectory
    EXPECT_TRUE(has(info.out, "steps:          26")) << info.out;
}

} // namespace
