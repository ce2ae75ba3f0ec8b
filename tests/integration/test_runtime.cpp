// The runtime library (docs/runtime.md) against the CLI, on tiny models trained from the simulator's data: the
// forecast equals `lola emulate`'s; a run folder moved elsewhere and an exported model file forecast the same numbers;
// a forecast leaves the global generator alone; a model file of another format version is refused.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lola/core/error.h"
#include "lola/data/trajectories.h"
#include "lola/emulation/protocol.h"
#include "lola/io/hdf5.h"
#include "lola/io/well.h"
#include "lola/runtime/emulator.h"
#include "lola/runtime/runs.h"
#include "support/test_support.h"
#include "support/torch_support.h"

namespace fs = std::filesystem;
using namespace lola;

namespace {

using Result = test::CommandResult;

Result run(const std::string& args) { return test::run_command(std::string(LOLA_BINARY) + " " + args); }

bool has(const std::string& text, const std::string& what) { return test::contains(text, what); }

/// (C, n, *S) states t0, t0 + stride, ... of trajectory `traj` of a Well file.
torch::Tensor read_states(const fs::path& file, int64_t traj, int64_t t0, int64_t n, int64_t stride) {
    const io::WellReader reader(file);
    const std::vector<int64_t> shape = reader.window_shape(n);
    torch::Tensor x = torch::empty(shape, torch::kFloat32);
    reader.read_window(traj, t0, n, stride, x.data_ptr<float>());
    return x;
}

/// A tiny dataset, autoencoder, latent cache, diffusion model and neural solver, made once for the tests of a process.
class Runtime : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tmp_ = new test::TempDir();
        const std::string data = path("data").string();
        ASSERT_EQ(run("simulate euler_multi_quadrants --preset tiny --no-progress --gammas 1.4 --out " + data).code, 0);
        const std::string tiny =
            " train.epochs=1 train.steps_per_epoch=2 train.valid_batches=1 loader.batch_size=4 "
            "loader.valid_batch_size=4 --threads 1";
        Result ae = run("train-ae --out " + path("runs/ae").string() + " dataset=euler_small dataset.root=" + data +
                        " ae=dcae_tiny" + tiny);
        ASSERT_EQ(ae.code, 0) << ae.out;
        Result cache = run("--threads 1 cache-latents --repeat 1 --ae " + path("runs/ae").string() + " --out " +
                           path("latents").string());
        ASSERT_EQ(cache.code, 0) << cache.out;
        for (const std::string kind : {"diffusion", "surrogate"}) {
            const std::string group = kind == "diffusion" ? "denoiser" : "surrogate";
            std::string args = "train-" + kind + " --out " + path("runs/" + kind).string();
            args += " latents.dir=" + path("latents").string();
            args += " " + group;
            args += "=tiny emulator.stride=4";
            args += tiny;
            Result r = run(args);
            ASSERT_EQ(r.code, 0) << r.out;
        }
    }
    static void TearDownTestSuite() { delete tmp_; }
    static fs::path path(const std::string& name) { return *tmp_ / name; }
    /// The source file `lola emulate` reads by default: the first test file of the dataset.
    static fs::path source() {
        return path("data") / "euler_multi_quadrants_openBC" / "data" / "test" /
               "euler_multi_quadrants_openBC_gamma_1.4_Dry_air_20.hdf5";
    }
    static test::TempDir* tmp_;
};
test::TempDir* Runtime::tmp_ = nullptr;

// One test per model kind (each ctest test is a process that builds the fixture again).
TEST_F(Runtime, DiffusionForecastMatchesEmulateMovesExportsAndKeepsTheGlobalGenerator) {
    const int64_t K = 2, n = 6, seed = 3;
    const fs::path pred = path("pred.h5");
    Result em = run("--threads 1 emulate --run " + path("runs/diffusion").string() +
                    " --trajectories 0 --context 1 "
                    "--members " +
                    std::to_string(K) + " --seed " + std::to_string(seed) + " --out " + pred.string());
    ASSERT_EQ(em.code, 0) << em.out;

    runtime::Emulator model = runtime::Emulator::load(path("runs/diffusion"));
    const runtime::ModelCard& card = model.card();
    EXPECT_EQ(card.kind, "diffusion");
    EXPECT_EQ(card.space, "latent");
    EXPECT_EQ(card.time_stride, 4);
    EXPECT_EQ(card.max_context, 4);
    EXPECT_EQ(card.spatial_shape, (std::vector<int64_t>{32, 32}));
    EXPECT_EQ(card.label_names,
              (std::vector<std::string>{"gamma", "bc_x_lower", "bc_x_upper", "bc_y_lower", "bc_y_upper"}));
    EXPECT_EQ(card.fields, (std::vector<std::string>{"energy", "density", "pressure", "momentum_x", "momentum_y"}));
    EXPECT_GT(card.compression, 1.0);

    const torch::Tensor context = read_states(source(), 0, 0, 1, card.time_stride);
    const torch::Tensor label = model.label_from(io::read_schema(source()));
    const torch::Tensor global_before = at::detail::getDefaultCPUGenerator().get_state();
    runtime::ForecastOptions o;
    o.members = K;
    auto forecast = [&](const runtime::Emulator& m) {
        return m.forecast(context, label, n, o, runtime::make_generator(torch::kCPU, emulation::run_seed(seed, 0, 0)));
    };
    const torch::Tensor y = forecast(model);
    ASSERT_EQ(y.sizes(), torch::IntArrayRef({K, 5, n, 32, 32}));
    // the global generator is untouched
    EXPECT_TRUE(torch::equal(at::detail::getDefaultCPUGenerator().get_state(), global_before));
    // lola emulate's members k = 0, 1 of trajectory 0, frames 1 .. n: the same numbers up to the decoder's batch size
    for (int64_t k = 0; k < K; ++k) {
        const torch::Tensor expected = read_states(pred, k, 1, n, 1);
        EXPECT_TRUE(test::close_up_to_reordering(y[k], expected, 9 * 32, 12)) << "member " << k;
    }
    EXPECT_GT((y[0] - y[1]).abs().max().item<double>(), 1e-3); // members differ

    // a model file forecasts the same numbers (same weights, same configuration)
    const fs::path file = path("model.lola");
    Result ex = run("export " + path("runs/diffusion").string() + " --out " + file.string());
    ASSERT_EQ(ex.code, 0) << ex.out;
    EXPECT_TRUE(has(ex.out, "time stride:    4 snapshots")) << ex.out;
    EXPECT_TRUE(runtime::is_model_file(file));
    Result info = run("info " + file.string());
    EXPECT_EQ(info.code, 0) << info.out;
    EXPECT_TRUE(has(info.out, "label (5):      gamma, bc_x_lower")) << info.out;
    EXPECT_FALSE(runtime::is_model_file(source()));
    EXPECT_TRUE(torch::equal(forecast(runtime::Emulator::load(file)), y));

    // run folders moved together (paths kept relative to the run folder) forecast the same, from any working folder
    fs::create_directories(path("moved"));
    fs::rename(path("runs"), path("moved/runs"));
    EXPECT_TRUE(torch::equal(forecast(runtime::Emulator::load(path("moved/runs/diffusion"))), y));
    Result eval = test::run_command("cd / && " + std::string(LOLA_BINARY) + " --threads 1 eval --run " +
                                    path("moved/runs/diffusion").string() + " --out " + path("eval").string() +
                                    " --trajectories 1 --contexts 1 --members 2 --no-figures --data-root " +
                                    path("data").string());
    EXPECT_EQ(eval.code, 0) << eval.out;
    EXPECT_FALSE(has(eval.out, "assuming")) << eval.out; // the time stride is recorded, no guess
    // ... and a run moved without its autoencoder says how to point at it
    fs::rename(path("moved/runs/ae"), path("ae_elsewhere"));
    try {
        runtime::Emulator::load(path("moved/runs/diffusion"));
        FAIL() << "loading without the autoencoder must fail";
    } catch (const Error& e) {
        EXPECT_TRUE(has(e.what(), "--ae")) << e.what();
    }
    runtime::LoadOptions lo;
    lo.autoencoder = path("ae_elsewhere");
    EXPECT_TRUE(torch::equal(forecast(runtime::Emulator::load(path("moved/runs/diffusion"), torch::kCPU, lo)), y));
    fs::rename(path("ae_elsewhere"), path("moved/runs/ae"));
    fs::rename(path("moved/runs"), path("runs"));

    // a model file of a newer format version is refused, naming the version and the fix
    fs::copy_file(file, path("newer.lola"));
    {
        io::h5::File f = io::h5::File::open(path("newer.lola").string(), io::h5::Mode::kWrite);
        f.write_attr("version", int64_t{runtime::kModelFormatVersion + 1});
        f.close();
    }
    try {
        runtime::Emulator::load(path("newer.lola"));
        FAIL() << "a newer format version must be refused";
    } catch (const Error& e) {
        EXPECT_TRUE(has(e.what(), "format version")) << e.what();
        EXPECT_TRUE(has(e.what(), "newer.lola")) << e.what();
    }
    // bad inputs are errors naming what is wrong
    EXPECT_THROW(model.forecast(context.narrow(0, 0, 4), label, n, o, runtime::make_generator(torch::kCPU, 0)), Error);
    EXPECT_THROW(model.forecast(context, label.narrow(0, 0, 4), n, o, runtime::make_generator(torch::kCPU, 0)), Error);
    EXPECT_THROW(
        model.forecast(read_states(source(), 0, 0, 5, 4), label, n, o, runtime::make_generator(torch::kCPU, 0)),
        Error); // 5 > max_context
}

// MMPS guidance (docs/method.md 7.2) through the runtime and the CLI: guided members are closer to the observed cells
// of the truth than unguided ones with the same seed; `lola eval --observe` reports both; bad guidance is refused
// before sampling.
TEST_F(Runtime, GuidedForecastFollowsTheObservationsAndBadGuidanceIsRefused) {
    const int64_t K = 2, n = 6, stride = 4;
    const runtime::Emulator model = runtime::Emulator::load(path("runs/diffusion"));
    const torch::Tensor context = read_states(source(), 0, 0, 1, stride);
    const torch::Tensor truth = read_states(source(), 0, stride, n, stride); // the forecast states
    const torch::Tensor label = model.label_from(io::read_schema(source()));
    runtime::ForecastOptions o;
    o.members = K;
    const auto forecast = [&](const runtime::ForecastOptions& options) {
        return model.forecast(context, label, n, options, runtime::make_generator(torch::kCPU, 5));
    };
    const torch::Tensor plain = forecast(o);
    runtime::ForecastOptions g = o;
    g.guidance.observe = "subsample:4";
    g.guidance.observed = truth;
    const torch::Tensor guided = forecast(g);
    ASSERT_EQ(guided.sizes(), plain.sizes());
    EXPECT_TRUE(torch::equal(forecast(g), guided)); // same seed, same guided ensemble
    // the error at the observed cells, relative to the truth's spread per field (measured on this tiny model, trained
    // for two steps: 0.93 guided against 1.26 unguided; its decoder, not the guidance, limits the fit)
    const auto observed_error = [&](const torch::Tensor& pred) {
        using torch::indexing::Slice;
        const torch::Tensor p = pred.index({Slice(), Slice(), Slice(), Slice(0, 32, 4), Slice(0, 32, 4)});
        const torch::Tensor t = truth.index({Slice(), Slice(), Slice(0, 32, 4), Slice(0, 32, 4)});
        const torch::Tensor scale = truth.std({1, 2, 3}, /*unbiased=*/false).view({1, -1, 1, 1, 1});
        return ((p - t.unsqueeze(0)) / scale).pow(2).mean().sqrt().item<double>();
    };
    const double e_plain = observed_error(plain), e_guided = observed_error(guided);
    EXPECT_LT(e_guided, 0.9 * e_plain) << "guided " << e_guided << " vs unguided " << e_plain;

    // bad guidance: refused by name before sampling
    const auto refused = [&](const runtime::ForecastOptions& bad, const std::string& what) {
        try {
            forecast(bad);
            ADD_FAILURE() << "expected a refusal naming '" << what << "'";
        } catch (const UsageError& e) {
            EXPECT_TRUE(has(e.what(), what)) << e.what();
        }
    };
    runtime::ForecastOptions bad = g;
    bad.guidance.observe = "subsample:5";
    refused(bad, "subsample:5");
    bad.guidance.observe = "blur:2";
    refused(bad, "blur:2");
    bad = g;
    bad.guidance.observed = truth.narrow(1, 0, n - 1);
    refused(bad, "observed states");
    bad.guidance.observed = truth.unsqueeze(-1).expand({-1, -1, -1, -1, 4}); // 3-D states for a 2-D model
    refused(bad, "observed states");
    const runtime::Emulator solver = runtime::Emulator::load(path("runs/surrogate"));
    try {
        solver.forecast(context, label, n, g, runtime::make_generator(torch::kCPU, 5));
        ADD_FAILURE() << "a solver cannot be guided";
    } catch (const UsageError& e) {
        EXPECT_TRUE(has(e.what(), "neural solver")) << e.what();
    }

    // the CLI: emulate guided, eval with the unguided and guided rollouts side by side, a bad operator refused
    Result em =
        run("--threads 1 emulate --run " + path("runs/diffusion").string() +
            " --trajectories 0 --members 2 --observe downscale:4 --obs-noise 0.05 --out " + path("guided.h5").string());
    EXPECT_EQ(em.code, 0) << em.out;
    // observations from a Well file: the source itself gives the ensemble of observing the truth; a file of other
    // snapshots, or --obs-file without --observe, is refused by name before sampling
    const std::string guided_args = "--threads 1 emulate --run " + path("runs/diffusion").string() +
                                    " --trajectories 0 --members 2 --obs-noise 0.05 --obs-file ";
    Result same =
        run(guided_args + source().string() + " --observe downscale:4 --out " + path("guided_obs.h5").string());
    ASSERT_EQ(same.code, 0) << same.out;
    EXPECT_TRUE(torch::equal(data::TrajectorySet({path("guided_obs.h5")}).get(1).states,
                             data::TrajectorySet({path("guided.h5")}).get(1).states));
    // ... and the observations come from that file: another file's states guide the samples elsewhere
    const fs::path other = path("data") / "euler_multi_quadrants_periodicBC" / "data" / "test" /
                           "euler_multi_quadrants_periodicBC_gamma_1.4_Dry_air_20.hdf5";
    Result elsewhere =
        run(guided_args + other.string() + " --observe downscale:4 --out " + path("guided_other.h5").string());
    ASSERT_EQ(elsewhere.code, 0) << elsewhere.out;
    EXPECT_FALSE(torch::equal(data::TrajectorySet({path("guided_other.h5")}).get(1).states,
                              data::TrajectorySet({path("guided.h5")}).get(1).states));
    for (const std::string& bad_args :
         {guided_args + path("guided.h5").string() + " --observe downscale:4", guided_args + source().string()}) {
        Result refused_cli = run(bad_args + " --out " + path("refused.h5").string());
        EXPECT_EQ(refused_cli.code, 2) << refused_cli.out;
        EXPECT_TRUE(has(refused_cli.out, "--obs-file")) << refused_cli.out;
        EXPECT_FALSE(fs::exists(path("refused.h5")));
    }
    Result ev =
        run("--threads 1 eval --run " + path("runs/diffusion").string() + " --out " + path("eval_guided").string() +
            " --trajectories 1 --contexts 1 --members 2 --no-figures --observe subsample:4");
    ASSERT_EQ(ev.code, 0) << ev.out;
    EXPECT_TRUE(has(ev.out, "diffusion_guided")) << ev.out;
    const std::string report = test::read_text(path("eval_guided") / "report.md");
    EXPECT_TRUE(has(report, "guided by subsample:4")) << report;
    EXPECT_TRUE(has(report, "lower than unguided at")) << report;
    Result wrong = run("--threads 1 emulate --run " + path("runs/diffusion").string() +
                       " --trajectories 0 --members 2 --observe subsample:3 --out " + path("wrong.h5").string());
    EXPECT_NE(wrong.code, 0);
    EXPECT_TRUE(has(wrong.out, "subsample:3")) << wrong.out;
    EXPECT_FALSE(fs::exists(path("wrong.h5")));
}

TEST_F(Runtime, SolverForecastMatchesEmulateAndEncodesBothWays) {
    const fs::path pred = path("pred_sm.h5");
    Result em = run("--threads 1 emulate --run " + path("runs/surrogate").string() +
                    " --trajectories 0 --context 2 "
                    "--out " +
                    pred.string());
    ASSERT_EQ(em.code, 0) << em.out;
    const runtime::Emulator model = runtime::Emulator::load(path("runs/surrogate"));
    EXPECT_EQ(model.card().kind, "surrogate");
    const torch::Tensor context = read_states(source(), 0, 0, 2, 4);
    runtime::ForecastOptions o;
    o.members = 5; // ignored: the solver is deterministic
    const torch::Tensor y = model.forecast(context, model.label_from(io::read_schema(source())), 7, o,
                                           runtime::make_generator(torch::kCPU, 0));
    ASSERT_EQ(y.size(0), 1);
    EXPECT_TRUE(test::close_up_to_reordering(y[0], read_states(pred, 0, 2, 7, 1), 9 * 32, 12));
    // crop counts the states kept of every window (the reference's count): the whole window is the default; keeping 3
    // of 5 with a context of 2 adds one state per window, so the first window's 3 states agree and the rest differ
    const torch::Tensor label = model.label_from(io::read_schema(source()));
    o.crop = 5;
    const torch::Tensor whole = model.forecast(context, label, 7, o, runtime::make_generator(torch::kCPU, 0));
    EXPECT_TRUE(torch::equal(whole, y));
    o.crop = 3;
    const torch::Tensor kept3 = model.forecast(context, label, 7, o, runtime::make_generator(torch::kCPU, 0));
    ASSERT_EQ(kept3.sizes(), y.sizes());
    EXPECT_TRUE(torch::allclose(kept3.narrow(2, 0, 1), y.narrow(2, 0, 1), 1e-5, 1e-6));
    EXPECT_FALSE(torch::allclose(kept3, y, 1e-3, 1e-4));
    Result cropped = run("--threads 1 emulate --run " + path("runs/surrogate").string() +
                         " --trajectories 0 --context 2 --crop 3 --out " + path("pred_sm_crop3.h5").string());
    ASSERT_EQ(cropped.code, 0) << cropped.out;
    EXPECT_TRUE(test::close_up_to_reordering(kept3[0], read_states(path("pred_sm_crop3.h5"), 0, 2, 7, 1), 9 * 32, 12));
    Result bad = run("--threads 1 emulate --run " + path("runs/surrogate").string() +
                     " --trajectories 0 --context 2 --crop 2 --out " + path("pred_sm_crop2.h5").string());
    EXPECT_EQ(bad.code, 2) << bad.out;
    EXPECT_NE(bad.out.find("rollout.overlap = 2 (= context)"), std::string::npos) << bad.out;
    EXPECT_FALSE(fs::exists(path("pred_sm_crop2.h5")));
    // encode then decode = the autoencoder's reconstruction, which `lola emulate` writes beside the prediction
    const torch::Tensor frames = read_states(source(), 0, 0, 26, 4);
    const torch::Tensor z = model.encode(frames);
    EXPECT_EQ(z.size(0), model.card().latent_shape[0]);
    EXPECT_TRUE(test::close_up_to_reordering(model.decode(z),
                                             read_states(path("pred_sm_reconstruction.h5"), 0, 0, 26, 1), 9 * 32, 12));
}

} // namespace

/// Two named tensor lists (parameters or buffers): the same names, bit-identical tensors.
void expect_same_named(const torch::OrderedDict<std::string, torch::Tensor>& a,
                       const torch::OrderedDict<std::string, torch::Tensor>& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (const auto& item : a) {
        const torch::Tensor* other = b.find(item.key());
        ASSERT_NE(other, nullptr) << what << ": " << item.key();
        EXPECT_TRUE(torch::equal(item.value(), *other)) << what << ": " << item.key();
    }
}

/// Every parameter and buffer of two modules, by name: bit-identical.
void expect_same_tensors(torch::nn::Module& a, torch::nn::Module& b, const std::string& what) {
    expect_same_named(a.named_parameters(), b.named_parameters(), what + " parameters");
    expect_same_named(a.named_buffers(), b.named_buffers(), what + " buffers");
}

// docs/reference.md: a C++-trained autoencoder and diffusion model exported in the reference's layout and imported
// back are the same models; the reference's own golden runs, imported, evaluate on our simulated data.
TEST_F(Runtime, ReferenceExportImportsBackAndGoldenRunsEvaluate) {
    Result ae = run("export " + path("runs/ae").string() + " --format reference --out " + path("py/ae").string());
    ASSERT_EQ(ae.code, 0) << ae.out;
    EXPECT_TRUE(fs::exists(path("py/ae/state.pth")));
    Result dm = run("export " + path("runs/diffusion").string() + " --format reference --ae " + path("py/ae").string() +
                    " --out " + path("py/dm").string());
    ASSERT_EQ(dm.code, 0) << dm.out;
    Result missing =
        run("export " + path("runs/surrogate").string() + " --format reference --out " + path("py/sm").string());
    EXPECT_NE(missing.code, 0);
    EXPECT_NE(missing.out.find("--ae"), std::string::npos) << missing.out;
    EXPECT_FALSE(fs::exists(path("py/sm")));

    ASSERT_EQ(run("import-run " + path("py/ae").string() + " --out " + path("back/ae").string()).code, 0);
    Result back = run("import-run " + path("py/dm").string() + " --ae " + path("back/ae").string() + " --out " +
                      path("back/dm").string());
    ASSERT_EQ(back.code, 0) << back.out;
    runtime::AeRun a0 = runtime::load_ae_run(path("runs/ae"), torch::kCPU);
    runtime::AeRun a1 = runtime::load_ae_run(path("back/ae"), torch::kCPU);
    expect_same_tensors(*a0.model, *a1.model, "autoencoder");
    runtime::EmulatorRun d0 = runtime::load_emulator_run(path("runs/diffusion"), torch::kCPU);
    runtime::EmulatorRun d1 = runtime::load_emulator_run(path("back/dm"), torch::kCPU);
    expect_same_tensors(d0.module(), d1.module(), "denoiser");
    EXPECT_EQ(d1.emulator.window, d0.emulator.window);
    EXPECT_EQ(d1.config.get<int64_t>("model.time_stride"), d0.config.get<int64_t>("model.time_stride"));

    // the golden reference runs: import, describe, evaluate on the simulated data
    const fs::path gold = "tests/data/reference/runs";
    ASSERT_EQ(run("import-run " + (gold / "ae/gold0ae1_euler_all_dcae_f4c4_tiny").string() + " --out " +
                  path("gold/ae").string())
                  .code,
              0);
    for (const std::string kind : {"dm", "sm"}) {
        const std::string src = (gold / kind / ("gold0" + kind + "1_euler_all_f4c4_vit_tiny")).string();
        Result imp =
            run("import-run " + src + " --ae " + path("gold/ae").string() + " --out " + path("gold/" + kind).string());
        ASSERT_EQ(imp.code, 0) << imp.out;
        Result info = run("info " + path("gold/" + kind).string());
        ASSERT_EQ(info.code, 0) << info.out;
        EXPECT_NE(info.out.find("reference.yaml"), std::string::npos) << info.out; // where it came from
        EXPECT_NE(info.out.find("vit_tiny"), std::string::npos) << info.out;
    }
    Result ev = run("--threads 1 eval --run " + path("gold/dm").string() + " --run " + path("gold/sm").string() +
                    " --data-root " + path("data").string() + " --out " + path("gold/eval").string() +
                    " --trajectories 2 --contexts 1 --members 2 --steps 3 --no-figures");
    ASSERT_EQ(ev.code, 0) << ev.out;
    const std::string csv = test::read_text(path("gold/eval/stats.csv"));
    EXPECT_NE(csv.find("\ndm,"), std::string::npos) << csv.substr(0, 300);
    EXPECT_NE(csv.find("\nsm,"), std::string::npos) << csv.substr(0, 300);

    // training from the reference's Hydra configs, as a reference user passes them; lola's own keys pass through
    const std::string configs = "tests/data/reference/configs/";
    const std::string tiny =
        " train.epochs=1 train.steps_per_epoch=2 train.valid_batches=1 loader.batch_size=4 "
        "loader.valid_batch_size=4 --threads 1";
    Result ref_ae = run("train-ae --out " + path("ref/ae").string() + " --config " + configs +
                        "train_ae.yaml ae=dcae_f4c4_tiny dataset=euler_all optim.learning_rate=3e-4 dataset.root=" +
                        path("data").string() + tiny);
    ASSERT_EQ(ref_ae.code, 0) << ref_ae.out;
    const runtime::AeRun ref = runtime::load_ae_run(path("ref/ae"), torch::kCPU);
    EXPECT_EQ(ref.ae_options.hid_channels, (std::vector<int64_t>{8, 16, 32}));
    EXPECT_EQ(ref.config.get<std::string>("optim.optimizer"), "psgd");
    EXPECT_EQ(ref.config.get<double>("optim.learning_rate"), 3e-4);
    EXPECT_EQ(ref.config.get<int64_t>("train.steps_per_epoch"), 2);
    Result ref_dm =
        run("train-diffusion --out " + path("ref/dm").string() + " --config " + configs +
            "train_diffusion.yaml dataset=euler_all denoiser=vit_tiny latents.dir=" + path("latents").string() + tiny);
    ASSERT_EQ(ref_dm.code, 0) << ref_dm.out;
    const runtime::EmulatorRun ref_d = runtime::load_emulator_run(path("ref/dm"), torch::kCPU);
    EXPECT_EQ(ref_d.backbone.hid_channels, 64);
    EXPECT_EQ(ref_d.config.get<std::string>("optim.optimizer"), "adamw");
    Result no_model = run("train-ae --out " + path("ref/none").string() + " --config " + configs +
                          "train_ae.yaml dataset=euler_all" + tiny);
    EXPECT_NE(no_model.code, 0);
    EXPECT_NE(no_model.out.find("the config group 'ae' has no default"), std::string::npos) << no_model.out;
    EXPECT_FALSE(fs::exists(path("ref/none")));
}
