// lola as an installed library (docs/runtime.md, "Installed package", "C API", "Fortran binding"): a tiny diffusion
// model trained on the simulator's data is exported to a `.lola` file and emulated with `lola emulate`; the build is
// installed into a temporary prefix, and the stand-alone examples (examples/cpp, examples/fortran) are configured
// against it with find_package(lola), built and run: each forecasts from the same context with the same seed and
// sampler and checks its numbers against lola emulate's. The C++ example is linked against the static modules and
// against liblola.so. The C API is called in-process: its forecast equals the C++ runtime's, and a missing file, a
// model file of another format version, buffers of the wrong shape or field count are error codes with messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lola/emulation/protocol.h"
#include "lola/io/hdf5.h"
#include "lola/io/well.h"
#include "lola/lola.h"
#include "lola/runtime/emulator.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using Result = lola::test::CommandResult;
using lola::test::contains;

Result run(const std::string& command) { return lola::test::run_command(command + " 2>&1"); }
Result lola_cli(const std::string& args) { return run(std::string(LOLA_BINARY) + " --threads 1 " + args); }

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// The lines between "README begin" and "README end" markers of an example, without their common indentation.
std::string readme_part(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> lines;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (contains(line, "README begin")) {
            inside = true;
        } else if (contains(line, "README end")) {
            inside = false;
        } else if (inside) {
            lines.push_back(line);
        }
    }
    size_t indent = std::string::npos;
    for (const auto& l : lines) {
        if (l.find_first_not_of(' ') != std::string::npos) {
            indent = std::min(indent, l.find_first_not_of(' '));
        }
    }
    std::string out;
    for (const auto& l : lines) {
        out += (l.size() > indent ? l.substr(indent) : std::string()) + "\n";
    }
    return out;
}

/// The data, a trained and exported model, lola emulate's forecast and the installed package, made once.
class Installed : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        tmp_ = new lola::test::TempDir();
        const fs::path data = *tmp_ / "data";
        Result sim = lola_cli("simulate euler_multi_quadrants --preset tiny --no-progress --out " + quoted(data));
        ASSERT_EQ(sim.code, 0) << sim.out;
        const std::string common =
            " train.epochs=1 train.steps_per_epoch=2 train.valid_batches=1 loader.batch_size=4 "
            "loader.valid_batch_size=4";
        Result ae = lola_cli("train-ae --out " + quoted(*tmp_ / "ae") +
                             " dataset=euler_small dataset.root=" + quoted(data) + " ae=dcae_tiny" + common);
        ASSERT_EQ(ae.code, 0) << ae.out;
        Result cache =
            lola_cli("cache-latents --repeat 1 --ae " + quoted(*tmp_ / "ae") + " --out " + quoted(*tmp_ / "latents"));
        ASSERT_EQ(cache.code, 0) << cache.out;
        // 4 sampler steps by default (the card's), so that the examples and lola emulate take the same default
        Result dm = lola_cli("train-diffusion --out " + quoted(*tmp_ / "dm") +
                             " latents.dir=" + quoted(*tmp_ / "latents") + " denoiser=tiny diffusion.steps=4" + common);
        ASSERT_EQ(dm.code, 0) << dm.out;
        Result ex = lola_cli("export " + quoted(*tmp_ / "dm") + " --out " + quoted(model()));
        ASSERT_EQ(ex.code, 0) << ex.out;

        for (const auto& entry : fs::recursive_directory_iterator(data)) {
            if (entry.path().parent_path().filename() == "test" && entry.path().extension() == ".hdf5") {
                *source_ = entry.path();
                break;
            }
        }
        ASSERT_FALSE(source_->empty()) << "no test file under " << data;
        for (const int seed : {0, 1}) {
            Result em = lola_cli("emulate --run " + quoted(model()) + " --file " + quoted(source()) +
                                 " --trajectories 0 --context 1 --members 2 --seed " + std::to_string(seed) +
                                 " --out " + quoted(prediction(seed)));
            ASSERT_EQ(em.code, 0) << em.out;
        }
        Result in = run("'" CMAKE_COMMAND "' --install '" LOLA_BUILD_DIR "' --prefix " + quoted(prefix()));
        ASSERT_EQ(in.code, 0) << in.out;
    }
    static void TearDownTestSuite() {
        delete tmp_;
        tmp_ = nullptr;
    }

    static fs::path model() { return *tmp_ / "model.lola"; }
    static const fs::path& source() { return *source_; }
    static fs::path prediction(int seed) { return *tmp_ / ("pred_seed" + std::to_string(seed) + ".h5"); }
    static fs::path prefix() { return *tmp_ / "prefix"; }

    /// Configure and build an example against the installed package.
    static Result build_example(const std::string& name, const std::string& options = {}) {
        const fs::path dir = *tmp_ / ("build_" + name);
        std::string configure =
            "'" CMAKE_COMMAND "' -S '" LOLA_SOURCE_DIR "/examples/" + name.substr(0, name.find('_')) + "' -B " +
            quoted(dir) + " -G '" LOLA_GENERATOR "' -DCMAKE_MAKE_PROGRAM='" LOLA_MAKE_PROGRAM "' -DCMAKE_PREFIX_PATH=" +
            quoted(prefix()) + " " + options;
        if (std::strlen(LOLA_CCACHE) > 0) { // the second build of the C++ example reuses the first one's object
            configure += " -DCMAKE_CXX_COMPILER_LAUNCHER='" LOLA_CCACHE "'";
        }
        Result r = run(configure);
        if (r.code != 0) {
            return r;
        }
        return run("'" CMAKE_COMMAND "' --build " + quoted(dir));
    }
    static fs::path example(const std::string& name) { return *tmp_ / ("build_" + name) / "forecast"; }

    static std::string example_args(int seed = 0) {
        return " " + quoted(model()) + " " + quoted(source()) + " " + quoted(prediction(seed));
    }

    static lola::test::TempDir* tmp_;
    static fs::path* source_;
};
lola::test::TempDir* Installed::tmp_ = nullptr;
fs::path* Installed::source_ = new fs::path();

// ---- the installed package ------------------------------------------------------------------------------------------

TEST_F(Installed, HoldsHeadersLibrariesConfigBindingAndPresets) {
    for (const char* f : {"include/lola/lola.h", "include/lola/version.h", "include/lola/runtime/emulator.h",
                          "lib/cmake/lola/lolaConfig.cmake", "lib/cmake/lola/lolaConfigVersion.cmake",
                          "lib/cmake/lola/lolaTargets.cmake", "lib/liblola_runtime.a", "lib/liblola_core.a",
                          "share/lola/fortran/lola.f90", "share/lola/configs/dataset/euler_small.yaml", "bin/lola"}) {
        EXPECT_TRUE(fs::exists(prefix() / f)) << f;
    }
    bool shared = false;
    for (const auto& entry : fs::directory_iterator(prefix() / "lib")) {
        shared = shared || entry.path().filename().string().rfind("liblola.so", 0) == 0;
    }
    EXPECT_TRUE(shared) << "no liblola.so in " << prefix() / "lib";
    const std::string version = read(prefix() / "include/lola/version.h");
    EXPECT_TRUE(contains(version, std::string("#define LOLA_VERSION_STRING \"") + lola_version() + "\"")) << version;
    // the installed CLI finds the installed presets (core::config_search_path(): share/lola/configs beside bin/)
    Result info = run(quoted(prefix() / "bin/lola") + " info configs/ae/dcae_tiny.yaml");
    EXPECT_EQ(info.code, 0) << info.out;
    Result card = run(quoted(prefix() / "bin/lola") + " info " + quoted(model()));
    EXPECT_EQ(card.code, 0) << card.out;
}

TEST_F(Installed, CppExampleReproducesLolaEmulate) {
    Result b = build_example("cpp");
    ASSERT_EQ(b.code, 0) << b.out;
    Result r = run(quoted(example("cpp")) + example_args());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(contains(r.out, "member 1:")) << r.out; // both members compared
    EXPECT_FALSE(contains(r.out, "DIFFERENT")) << r.out;
    // and it can fail: lola emulate's forecast with another seed is another sample
    Result other = run(quoted(example("cpp")) + example_args(1));
    EXPECT_EQ(other.code, 1) << other.out;
    EXPECT_TRUE(contains(other.out, "DIFFERENT")) << other.out;
}

TEST_F(Installed, CppExampleLinksTheSharedLibrary) {
    Result b = build_example("cpp_shared", "-DLOLA_SHARED=ON");
    ASSERT_EQ(b.code, 0) << b.out;
    Result needed = run("readelf -d " + quoted(example("cpp_shared")));
    ASSERT_EQ(needed.code, 0) << needed.out;
    EXPECT_TRUE(contains(needed.out, "[liblola.so")) << needed.out;
    Result r = run(quoted(example("cpp_shared")) + example_args());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_FALSE(contains(r.out, "DIFFERENT")) << r.out;
}

TEST_F(Installed, FortranExampleReproducesLolaEmulate) {
    if (std::strlen(LOLA_FORTRAN_COMPILER) == 0) {
        GTEST_SKIP() << "no Fortran compiler (Debian: gfortran)";
    }
    Result b = build_example("fortran", "-DCMAKE_Fortran_COMPILER='" LOLA_FORTRAN_COMPILER "'");
    ASSERT_EQ(b.code, 0) << b.out;
    Result r = run(quoted(example("fortran")) + example_args());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(contains(r.out, "member 1:")) << r.out;
    EXPECT_FALSE(contains(r.out, "DIFFERENT")) << r.out;
    Result other = run(quoted(example("fortran")) + example_args(1));
    EXPECT_NE(other.code, 0) << other.out;
    EXPECT_TRUE(contains(other.out, "DIFFERENT")) << other.out;
}

TEST(Readme, SnippetsAreTheExamples) {
    const std::string readme = read(fs::path(LOLA_SOURCE_DIR) / "README.md");
    for (const char* example : {"examples/cpp/forecast.cpp", "examples/fortran/forecast.f90"}) {
        const std::string part = readme_part(read(fs::path(LOLA_SOURCE_DIR) / example));
        ASSERT_FALSE(part.empty()) << example << " has no README part";
        EXPECT_TRUE(contains(readme, part))
            << "README.md does not show the README part of " << example << " as it is:\n"
            << part;
    }
}

// ---- the C API, in-process ------------------------------------------------------------------------------------------

/// A model loaded through the C API, freed at the end.
struct Handle {
    lola_emulator* e = nullptr;
    ~Handle() { lola_free(e); }
};

TEST_F(Installed, CApiForecastEqualsTheRuntimeAndLolaEmulate) {
    Handle h;
    ASSERT_EQ(lola_load(model().c_str(), "cpu", &h.e), LOLA_OK) << lola_last_error();
    int64_t n_fields = 0, d = 0, label_dim = 0, stride = 0, max_context = 0, params = 0;
    ASSERT_EQ(lola_n_fields(h.e, &n_fields), LOLA_OK);
    ASSERT_EQ(lola_n_spatial_dims(h.e, &d), LOLA_OK);
    ASSERT_EQ(lola_label_dim(h.e, &label_dim), LOLA_OK);
    ASSERT_EQ(lola_time_stride(h.e, &stride), LOLA_OK);
    ASSERT_EQ(lola_max_context(h.e, &max_context), LOLA_OK);
    ASSERT_EQ(lola_n_parameters(h.e, &params), LOLA_OK);
    std::vector<int64_t> grid(static_cast<size_t>(d));
    ASSERT_EQ(lola_spatial_shape(h.e, grid.data()), LOLA_OK);
    const char* kind = nullptr;
    ASSERT_EQ(lola_kind(h.e, &kind), LOLA_OK);
    EXPECT_STREQ(kind, "diffusion");

    // the card agrees with the C++ runtime's and with the file
    const lola::runtime::Emulator cpp = lola::runtime::Emulator::load(model());
    const lola::runtime::ModelCard& card = cpp.card();
    EXPECT_EQ(n_fields, card.n_fields());
    EXPECT_EQ(grid, card.spatial_shape);
    EXPECT_EQ(label_dim, card.label_dim());
    EXPECT_EQ(stride, card.time_stride);
    EXPECT_EQ(max_context, card.max_context);
    EXPECT_EQ(params, card.emulator_parameters + card.autoencoder_parameters);
    for (int64_t i = 0; i < n_fields; ++i) {
        const char* name = nullptr;
        ASSERT_EQ(lola_field_name(h.e, i, &name), LOLA_OK);
        EXPECT_EQ(name, card.fields[static_cast<size_t>(i)]);
    }
    const lola::io::WellReader reader(source());
    EXPECT_EQ(reader.schema().channel_names(), card.fields);

    // context and label through the C helpers, forecast through the C API
    const int64_t c = 1, n_states = 3, K = 2;
    std::vector<int64_t> context_shape{n_fields, c};
    context_shape.insert(context_shape.end(), grid.begin(), grid.end());
    std::vector<float> context(static_cast<size_t>(n_fields * c * grid[0] * grid[1]));
    ASSERT_EQ(lola_well_read(source().c_str(), 0, 0, c, stride, context.data(), context_shape.data(),
                             static_cast<int>(context_shape.size())),
              LOLA_OK)
        << lola_last_error();
    std::vector<float> label(static_cast<size_t>(label_dim));
    ASSERT_EQ(lola_well_label(h.e, source().c_str(), label.data(), label_dim), LOLA_OK) << lola_last_error();
    std::vector<int64_t> out_shape{K, n_fields, n_states};
    out_shape.insert(out_shape.end(), grid.begin(), grid.end());
    std::vector<float> out(static_cast<size_t>(K * n_fields * n_states * grid[0] * grid[1]), -1.0f);
    lola_forecast_options options = lola_forecast_options_default();
    options.members = K;
    options.seed = lola_protocol_seed(0, 0, 0);
    EXPECT_EQ(options.seed, lola::emulation::run_seed(0, 0, 0));
    ASSERT_EQ(
        lola_forecast(h.e, context.data(), context_shape.data(), static_cast<int>(context_shape.size()), label.data(),
                      label_dim, n_states, &options, out.data(), out_shape.data(), static_cast<int>(out_shape.size())),
        LOLA_OK)
        << lola_last_error();

    // the C++ runtime on the same inputs, in the same process: the same numbers, bit for bit
    lola::runtime::ForecastOptions o;
    o.members = K;
    const torch::Tensor x = torch::from_blob(context.data(), context_shape, torch::kFloat32);
    const torch::Tensor y = cpp.label_from(reader.schema());
    EXPECT_TRUE(torch::equal(y.to(torch::kFloat32), torch::from_blob(label.data(), {label_dim}, torch::kFloat32)));
    const torch::Tensor expected =
        cpp.forecast(x, y, n_states, o, lola::runtime::make_generator(torch::kCPU, options.seed));
    const torch::Tensor got = torch::from_blob(out.data(), out_shape, torch::kFloat32);
    EXPECT_TRUE(torch::equal(got, expected)) << "max |C - C++| = " << (got - expected).abs().max().item<double>();
    // a forecast reads the context in place and leaves it as it was
    std::vector<float> again(context.size());
    ASSERT_EQ(lola_well_read(source().c_str(), 0, 0, c, stride, again.data(), context_shape.data(),
                             static_cast<int>(context_shape.size())),
              LOLA_OK);
    EXPECT_EQ(again, context);

    // guided by observations of the true states (docs/method.md 7.2): the runtime's guided forecast, bit for bit
    std::vector<int64_t> obs_shape{n_fields, n_states};
    obs_shape.insert(obs_shape.end(), grid.begin(), grid.end());
    std::vector<float> truth(static_cast<size_t>(n_fields * n_states * grid[0] * grid[1]));
    ASSERT_EQ(lola_well_read(source().c_str(), 0, stride, n_states, stride, truth.data(), obs_shape.data(),
                             static_cast<int>(obs_shape.size())),
              LOLA_OK)
        << lola_last_error();
    const auto forecast_c = [&](int64_t states) {
        std::vector<int64_t> shape{K, n_fields, states};
        shape.insert(shape.end(), grid.begin(), grid.end());
        std::vector<float> buffer(static_cast<size_t>(K * n_fields * states * grid[0] * grid[1]));
        const int code = lola_forecast(h.e, context.data(), context_shape.data(),
                                       static_cast<int>(context_shape.size()), label.data(), label_dim, states,
                                       &options, buffer.data(), shape.data(), static_cast<int>(shape.size()));
        return std::make_pair(code, torch::from_blob(buffer.data(), shape, torch::kFloat32).clone());
    };
    ASSERT_EQ(lola_set_observations(h.e, "subsample:4", truth.data(), obs_shape.data(),
                                    static_cast<int>(obs_shape.size()), 0.05, 1),
              LOLA_OK)
        << lola_last_error();
    const auto [guided_code, guided] = forecast_c(n_states);
    ASSERT_EQ(guided_code, LOLA_OK) << lola_last_error();
    lola::runtime::ForecastOptions go = o;
    go.guidance.observe = "subsample:4";
    go.guidance.observed = torch::from_blob(truth.data(), obs_shape, torch::kFloat32);
    go.guidance.noise = 0.05;
    const torch::Tensor guided_cpp =
        cpp.forecast(x, y, n_states, go, lola::runtime::make_generator(torch::kCPU, options.seed));
    EXPECT_TRUE(torch::equal(guided, guided_cpp));
    EXPECT_FALSE(torch::equal(guided, expected)); // the observations changed the samples
    // another number of states than observed, an operator that does not fit the grid, observations of another shape
    EXPECT_EQ(forecast_c(n_states + 1).first, LOLA_ERROR_SHAPE);
    EXPECT_TRUE(contains(lola_last_error(), "lola_set_observations")) << lola_last_error();
    EXPECT_EQ(lola_set_observations(h.e, "subsample:5", truth.data(), obs_shape.data(),
                                    static_cast<int>(obs_shape.size()), 0.05, 1),
              LOLA_ERROR_ARGUMENT);
    EXPECT_TRUE(contains(lola_last_error(), "subsample:5")) << lola_last_error();
    std::vector<int64_t> wrong = obs_shape;
    wrong[0] -= 1;
    EXPECT_EQ(
        lola_set_observations(h.e, "subsample:4", truth.data(), wrong.data(), static_cast<int>(wrong.size()), 0.05, 1),
        LOLA_ERROR_SHAPE);
    // cleared: unguided again
    ASSERT_EQ(lola_clear_observations(h.e), LOLA_OK);
    EXPECT_TRUE(torch::equal(forecast_c(n_states).second, expected));
}

TEST_F(Installed, CApiErrorsAreCodesAndMessages) {
    lola_emulator* none = reinterpret_cast<lola_emulator*>(0x1);
    // a missing file
    const fs::path missing = *tmp_ / "nowhere.lola";
    EXPECT_EQ(lola_load(missing.c_str(), "cpu", &none), LOLA_ERROR_FILE);
    EXPECT_EQ(none, nullptr);
    EXPECT_TRUE(contains(lola_last_error(), missing.string())) << lola_last_error();
    EXPECT_TRUE(contains(lola_last_error(), "lola_load")) << lola_last_error();
    // a corrupt file
    const fs::path corrupt = *tmp_ / "corrupt.lola";
    std::ofstream(corrupt) << "not a model file";
    EXPECT_EQ(lola_load(corrupt.c_str(), nullptr, &none), LOLA_ERROR_FILE);
    EXPECT_TRUE(contains(lola_last_error(), corrupt.string())) << lola_last_error();
    // a model file of another format version
    const fs::path future = *tmp_ / "future.lola";
    fs::copy_file(model(), future, fs::copy_options::overwrite_existing);
    {
        auto f = lola::io::h5::File::open(future.string(), lola::io::h5::Mode::kWrite);
        f.write_attr("version", static_cast<int64_t>(lola::runtime::kModelFormatVersion + 1));
        f.close();
    }
    EXPECT_EQ(lola_load(future.c_str(), "cpu", &none), LOLA_ERROR_VERSION);
    EXPECT_TRUE(contains(lola_last_error(), "format version")) << lola_last_error();
    // an unknown device
    EXPECT_EQ(lola_load(model().c_str(), "tpu", &none), LOLA_ERROR_ARGUMENT);
    EXPECT_TRUE(contains(lola_last_error(), "tpu")) << lola_last_error();
    // NULL arguments
    int64_t n = 0;
    EXPECT_EQ(lola_n_fields(nullptr, &n), LOLA_ERROR_ARGUMENT);
    EXPECT_TRUE(contains(lola_last_error(), "NULL")) << lola_last_error();
    lola_free(nullptr);

    Handle h;
    ASSERT_EQ(lola_load(model().c_str(), "cpu", &h.e), LOLA_OK) << lola_last_error();
    EXPECT_STREQ(lola_last_error(), ""); // a successful call clears the message
    const char* name = nullptr;
    EXPECT_EQ(lola_field_name(h.e, 99, &name), LOLA_ERROR_ARGUMENT);
    int64_t n_fields = 0, d = 0, label_dim = 0;
    ASSERT_EQ(lola_n_fields(h.e, &n_fields), LOLA_OK);
    ASSERT_EQ(lola_n_spatial_dims(h.e, &d), LOLA_OK);
    ASSERT_EQ(lola_label_dim(h.e, &label_dim), LOLA_OK);
    ASSERT_EQ(d, 2);
    std::vector<int64_t> grid(2);
    ASSERT_EQ(lola_spatial_shape(h.e, grid.data()), LOLA_OK);
    const int64_t cells = grid[0] * grid[1];
    std::vector<float> context(static_cast<size_t>((n_fields + 1) * cells), 1.0f);
    std::vector<float> label(static_cast<size_t>(label_dim + 1), 0.0f);
    std::vector<float> out(static_cast<size_t>(2 * (n_fields + 1) * 2 * cells), 7.0f);
    const std::vector<float> untouched = out;
    lola_forecast_options options = lola_forecast_options_default();
    options.members = 2;
    auto forecast = [&](std::vector<int64_t> context_shape, int64_t label_len, std::vector<int64_t> out_shape) {
        return lola_forecast(h.e, context.data(), context_shape.data(), static_cast<int>(context_shape.size()),
                             label.data(), label_len, 2, &options, out.data(), out_shape.data(),
                             static_cast<int>(out_shape.size()));
    };
    const std::vector<int64_t> good_out{2, n_fields, 2, grid[0], grid[1]};
    // a wrong field count
    EXPECT_EQ(forecast({n_fields + 1, 1, grid[0], grid[1]}, label_dim, good_out), LOLA_ERROR_SHAPE);
    EXPECT_TRUE(contains(lola_last_error(), "fields")) << lola_last_error();
    EXPECT_TRUE(contains(lola_last_error(), std::to_string(n_fields + 1))) << lola_last_error();
    // a wrong spatial size: the axis and both sizes are named
    EXPECT_EQ(forecast({n_fields, 1, grid[0], grid[1] + 3}, label_dim, good_out), LOLA_ERROR_SHAPE);
    EXPECT_TRUE(contains(lola_last_error(), "N_2 (y)")) << lola_last_error();
    EXPECT_TRUE(contains(lola_last_error(), std::to_string(grid[1] + 3))) << lola_last_error();
    EXPECT_TRUE(contains(lola_last_error(), std::to_string(grid[1]))) << lola_last_error();
    // a wrong rank
    EXPECT_EQ(forecast({n_fields, 1, cells}, label_dim, good_out), LOLA_ERROR_SHAPE);
    EXPECT_TRUE(contains(lola_last_error(), "rank 3")) << lola_last_error();
    // too many context states
    EXPECT_EQ(forecast({n_fields, 9, grid[0], grid[1]}, label_dim, good_out), LOLA_ERROR_SHAPE);
    // a wrong label size
    EXPECT_EQ(forecast({n_fields, 1, grid[0], grid[1]}, label_dim + 1, good_out), LOLA_ERROR_SHAPE);
    EXPECT_TRUE(contains(lola_last_error(), "label")) << lola_last_error();
    // an output buffer of the wrong shape: members, then fields
    EXPECT_EQ(forecast({n_fields, 1, grid[0], grid[1]}, label_dim, {3, n_fields, 2, grid[0], grid[1]}),
              LOLA_ERROR_SHAPE);
    EXPECT_TRUE(contains(lola_last_error(), "members")) << lola_last_error();
    EXPECT_EQ(forecast({n_fields, 1, grid[0], grid[1]}, label_dim, {2, n_fields + 1, 2, grid[0], grid[1]}),
              LOLA_ERROR_SHAPE);
    // an unknown sampler
    options.sampler = "nonsense";
    EXPECT_NE(forecast({n_fields, 1, grid[0], grid[1]}, label_dim, good_out), LOLA_OK);
    EXPECT_TRUE(contains(lola_last_error(), "nonsense")) << lola_last_error();
    options.sampler = nullptr;
    EXPECT_EQ(out, untouched); // nothing written by a failed call
    // Well helpers: a missing file, an output of the wrong shape
    std::vector<int64_t> read_shape{n_fields, 1, grid[0], grid[1]};
    EXPECT_EQ(lola_well_read(missing.c_str(), 0, 0, 1, 1, context.data(), read_shape.data(), 4), LOLA_ERROR_FILE);
    read_shape[0] = n_fields + 1;
    EXPECT_EQ(lola_well_read(source().c_str(), 0, 0, 1, 1, context.data(), read_shape.data(), 4), LOLA_ERROR_SHAPE);
    EXPECT_TRUE(contains(lola_last_error(), "fields")) << lola_last_error();
    read_shape[0] = n_fields;
    EXPECT_EQ(lola_well_read(source().c_str(), 1000000, 0, 1, 1, context.data(), read_shape.data(), 4),
              LOLA_ERROR_ARGUMENT);
    EXPECT_EQ(lola_well_label(h.e, source().c_str(), label.data(), label_dim + 1), LOLA_ERROR_SHAPE);
    int64_t trajectories = 0, snapshots = 0;
    ASSERT_EQ(lola_well_size(source().c_str(), &trajectories, &snapshots), LOLA_OK) << lola_last_error();
    const lola::io::WellSchema schema = lola::io::read_schema(source());
    EXPECT_EQ(trajectories, schema.n_trajectories);
    EXPECT_EQ(snapshots, schema.n_steps());
    EXPECT_EQ(lola_set_num_threads(0), LOLA_ERROR_ARGUMENT);
}

} // namespace
