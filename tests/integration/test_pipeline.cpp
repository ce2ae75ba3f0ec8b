// The whole emulator pipeline through real files on the `tiny` Euler preset: simulate, train an autoencoder, cache its
// latents, train the diffusion model and the neural solver (with exact resume), refuse a cache of another autoencoder,
// evaluate both against persistence, emulate to a Well file and score it; and the paper's parameter counts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lola/io/hdf5.h"
#include "lola/io/well.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using Result = lola::test::CommandResult;

using lola::test::read_text;
using lola::test::run_lola;

int64_t count_lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

/// The data, the autoencoder and the latent cache, made once for every test of this file.
class Pipeline : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tmp_ = new lola::test::TempDir();
        const std::string data = (*tmp_ / "data").string();
        ASSERT_EQ(run_lola("simulate euler_multi_quadrants --preset tiny --no-progress --out " + data).code, 0);
        const std::string ae_args = "--threads 1 dataset=euler_small dataset.root=" + data +
                                    " ae=dcae_tiny train.epochs=1 train.steps_per_epoch=2 train.valid_batches=1 "
                                    "loader.batch_size=4 loader.valid_batch_size=4";
        Result ae = run_lola("train-ae --out " + (*tmp_ / "ae").string() + " " + ae_args);
        ASSERT_EQ(ae.code, 0) << ae.out;
        Result other = run_lola("train-ae --out " + (*tmp_ / "ae_other").string() + " " + ae_args + " seed=1");
        ASSERT_EQ(other.code, 0) << other.out;
        Result cache = run_lola("--threads 1 cache-latents --repeat 1 --ae " + (*tmp_ / "ae").string() + " --out " +
                                (*tmp_ / "latents").string());
        ASSERT_EQ(cache.code, 0) << cache.out;
    }
    static void TearDownTestSuite() { delete tmp_; }

    static std::string emulator_args(const std::string& group) {
        return "--threads 1 latents.dir=" + (*tmp_ / "latents").string() + " " + group +
               "=tiny train.epochs=2 train.steps_per_epoch=2 train.valid_batches=1 loader.batch_size=4 "
               "loader.valid_batch_size=4 optim.learning_rate=1e-3";
    }
    static fs::path path(const std::string& name) { return *tmp_ / name; }

    static lola::test::TempDir* tmp_;
};
lola::test::TempDir* Pipeline::tmp_ = nullptr;

} // namespace

TEST(Emulators, ParameterCountsOfThePaperConfigs) {
    struct Case {
        std::string args, count;
    };
    const std::vector<Case> cases{
        {"configs/denoiser/vit_large.yaml dataset=euler_all ae.lat_channels=64", "222,888,256"},
        {"configs/denoiser/vit_large.yaml dataset=rayleigh_benard ae.lat_channels=64", "222,888,512"},
        {"configs/denoiser/vit_large.yaml dataset=gravity_cooling ae.lat_channels=64", "223,946,048"},
        {"configs/denoiser/vit_large.yaml dataset=euler_all ae.lat_channels=16", "222,740,752"},
        {"configs/surrogate/vit_large.yaml dataset=euler_all ae.lat_channels=64", "222,756,672"},
        {"configs/surrogate/vit_pixel.yaml dataset=euler_all", "860,810,240"},
        {"configs/surrogate/vit_pixel.yaml dataset=rayleigh_benard", "859,237,376"},
    };
    for (const auto& c : cases) {
        Result r = run_lola("info " + c.args);
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_NE(r.out.find("parameters: " + c.count), std::string::npos) << c.args << "\n" << r.out;
    }
}

TEST_F(Pipeline, TrainsBothEmulatorsWithExactResume) {
    for (const std::string kind : {"diffusion", "surrogate"}) {
        const std::string group = kind == "diffusion" ? "denoiser" : "surrogate";
        const fs::path full = path(kind + "_full"), split = path(kind + "_split");
        Result r = run_lola("train-" + kind + " --out " + full.string() + " " + emulator_args(group));
        ASSERT_EQ(r.code, 0) << r.out;
        for (const char* f : {"config.yaml", "metrics.jsonl", "state.pt", "state_best.pt", "checkpoint.pt"}) {
            EXPECT_TRUE(fs::exists(full / f)) << kind << " " << f;
        }
        const std::string metrics = read_text(full / "metrics.jsonl");
        EXPECT_EQ(count_lines(metrics), 2) << metrics;
        EXPECT_NE(read_text(full / "config.yaml").find("kind: " + kind), std::string::npos);
        ASSERT_EQ(
            run_lola("train-" + kind + " --stop-after 1 --out " + split.string() + " " + emulator_args(group)).code, 0);
        Result resumed = run_lola("train-" + kind + " --resume --threads 1 --out " + split.string());
        ASSERT_EQ(resumed.code, 0) << resumed.out;
        EXPECT_EQ(read_text(split / "metrics.jsonl"), metrics) << kind; // bit for bit
    }
}

TEST_F(Pipeline, RefusesACacheOfAnotherAutoencoder) {
    Result r = run_lola("train-diffusion --out " + path("refused").string() + " " + emulator_args("denoiser") +
                        " latents.ae=" + path("ae_other").string());
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("cache-latents"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("AE weights"), std::string::npos) << r.out;
    Result missing = run_lola("train-surrogate --out " + path("refused").string() +
                              " --threads 1 latents.dir=" + path("nowhere").string() + " surrogate=tiny");
    EXPECT_EQ(missing.code, 2) << missing.out;
    EXPECT_NE(missing.out.find("cache-latents"), std::string::npos) << missing.out;
}

TEST_F(Pipeline, EvaluatesEmulatesAndScores) {
    for (const std::string kind : {"diffusion", "surrogate"}) {
        const std::string group = kind == "diffusion" ? "denoiser" : "surrogate";
        if (!fs::exists(path(kind) / "state.pt")) {
            ASSERT_EQ(run_lola("train-" + kind + " --out " + path(kind).string() + " " + emulator_args(group)).code, 0);
        }
    }
    const fs::path out = path("eval");
    Result ev =
        run_lola("--threads 1 eval --run " + path("diffusion").string() + " --run " + path("surrogate").string() +
                 " --out " + out.string() + " --trajectories 2 --contexts 1,2 --members 2 --steps 3");
    ASSERT_EQ(ev.code, 0) << ev.out;
    const std::string csv = read_text(out / "stats.csv");
    EXPECT_EQ(csv.rfind("model,trajectory,start,context,field,frame,lead_time,vrmse", 0), 0u) << csv.substr(0, 200);
    for (const char* model : {"diffusion,", "surrogate,", "persistence,", "autoencoder,"}) {
        EXPECT_NE(csv.find(std::string("\n") + model), std::string::npos) << model;
    }
    const std::string summary = read_text(out / "summary.md");
    EXPECT_NE(summary.find("persistence"), std::string::npos) << summary;
    EXPECT_NE(summary.find("1:20"), std::string::npos) << summary;
    EXPECT_TRUE(fs::exists(out / "summary.json"));
    EXPECT_TRUE(fs::exists(out / "speed.json"));
    EXPECT_TRUE(fs::exists(out / "report.md"));
    EXPECT_TRUE(fs::exists(out / "figures" / "vrmse.png"));
    EXPECT_TRUE(fs::exists(out / "figures" / "vrmse.svg"));
    EXPECT_TRUE(fs::exists(out / "figures" / "diffusion_panels.png"));
    EXPECT_TRUE(fs::exists(out / "figures" / "surrogate_rollout" / "frame_0000.png"));

    // emulate -> a Well file with K members per trajectory, readable by the Well reader
    const fs::path pred = path("emulated.h5");
    Result em = run_lola("--threads 1 emulate --run " + path("diffusion").string() + " --out " + pred.string() +
                         " --trajectories 0 --members 2 --steps 3");
    ASSERT_EQ(em.code, 0) << em.out;
    const lola::io::WellReader reader(pred);
    EXPECT_EQ(reader.schema().n_trajectories, 2);
    EXPECT_EQ(reader.schema().n_steps(), 26); // 101 snapshots at stride 4
    EXPECT_TRUE(fs::exists(path("emulated_reconstruction.h5")));
    // score it against its source file, and the source against itself (zero error)
    // the source file emulate read (its default: the first test file of the run's dataset)
    const fs::path source = lola::io::h5::File::open(pred.string()).read_attr_string("lola_source");
    ASSERT_TRUE(fs::exists(source)) << source;
    Result sc = run_lola("score " + source.string() + " " + pred.string() + " --out " + path("score").string());
    ASSERT_EQ(sc.code, 0) << sc.out;
    EXPECT_EQ(count_lines(read_text(path("score") / "stats.csv")), 1 + 5 * 26) << sc.out; // header + fields x frames
    Result self = run_lola("score " + source.string() + " " + source.string() + " --out " + path("self").string() +
                           " --bins euler");
    ASSERT_EQ(self.code, 0) << self.out;
    const std::string self_csv = read_text(path("self") / "stats.csv");
    std::istringstream lines(self_csv);
    std::string line;
    std::getline(lines, line); // header
    int64_t rows = 0;
    while (std::getline(lines, line)) {
        std::vector<std::string> fields;
        std::stringstream ls(line);
        for (std::string f; std::getline(ls, f, ',');) {
            fields.push_back(f);
        }
        ASSERT_GT(fields.size(), 8u);
        EXPECT_EQ(std::stod(fields[7]), 0.0) << line; // vrmse of the truth against itself
        ++rows;
    }
    EXPECT_GT(rows, 0);
}

TEST_F(Pipeline, PixelSpaceEmulatorsTrainAndEvaluate) {
    // No latents.dir: windows of the dataset itself, preprocessed; 8x8 patches of the 32x32 states (4x4 tokens).
    const std::string data = path("data").string();
    const std::string common = "--threads 1 dataset=euler_small dataset.root=" + data +
                               " train.epochs=1 train.steps_per_epoch=2 train.valid_batches=1 loader.batch_size=2 "
                               "loader.valid_batch_size=2 emulator.stride=4";
    for (const std::string kind : {"diffusion", "surrogate"}) {
        const std::string group = kind == "diffusion" ? "denoiser" : "surrogate";
        Result r = run_lola("train-" + kind + " --out " + path("pixel_" + kind).string() + " " + common + " " + group +
                            "=tiny " + group + ".patch_size=[1,8,8]");
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_NE(read_text(path("pixel_" + kind) / "config.yaml").find("space: pixel"), std::string::npos);
    }
    Result ev = run_lola("--threads 1 eval --run " + path("pixel_diffusion").string() + " --run " +
                         path("pixel_surrogate").string() + " --out " + path("pixel_eval").string() +
                         " --trajectories 1 --contexts 1 --members 2 --steps 2 --no-figures");
    ASSERT_EQ(ev.code, 0) << ev.out;
    const std::string csv = read_text(path("pixel_eval") / "stats.csv");
    EXPECT_NE(csv.find("\npixel_diffusion,"), std::string::npos);
    EXPECT_NE(csv.find("\npixel_surrogate,"), std::string::npos);
    EXPECT_EQ(csv.find("\nautoencoder,"), std::string::npos); // no autoencoder in pixel space
}
