// lola emulate: emulate trajectories of a Well file with a trained emulator and write them as a Well-format HDF5 file
// (one trajectory per source trajectory and ensemble member, member-minor, root attribute `ensemble_size`), plus the
// autoencoder's reconstruction of the same frames, so that any Well tool (and `lola score`) can read them.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>

#include "commands/commands.h"
#include "common.h"
#include "forecast.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"
#include "lola/data/trajectories.h"
#include "lola/emulation/protocol.h"
#include "lola/io/well.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

struct EmulateArgs {
    std::string run;
    std::string ae;
    std::string file;
    std::string obs_file;
    std::string out;
    std::vector<int64_t> trajectories;
    int64_t context = 1;
    int64_t start = 0;
    int64_t members = 16;
    runtime::ForecastOptions forecast; ///< sampler, steps, overlap, crop
    std::string device = "cpu";
    int64_t seed = 0;
};

/// Write (N, C, L, spatial...) physical states as a Well file with `schema`'s fields and the given times.
void write_well(const fs::path& path, io::WellSchema schema, const std::vector<double>& time,
                const std::vector<torch::Tensor>& trajectories,
                const std::vector<std::pair<std::string, std::string>>& attributes) {
    schema.time = time;
    schema.n_trajectories = static_cast<int64_t>(trajectories.size());
    io::WellWriter w(path, schema, attributes);
    for (size_t n = 0; n < trajectories.size(); ++n) {
        const torch::Tensor x = trajectories[n].transpose(0, 1).contiguous(); // (L, C, spatial...)
        for (int64_t t = 0; t < x.size(0); ++t) {
            w.write_frame(static_cast<int64_t>(n), t, x[t].contiguous().data_ptr<float>());
        }
    }
    w.commit();
}

/// The trajectories of --obs-file, checked against the source file: the same number of trajectories and, for each,
/// the same fields, grid and number of snapshots. Nothing without --obs-file.
std::optional<data::TrajectorySet> observation_set(const EmulateArgs& a, const data::TrajectorySet& source,
                                                   const fs::path& file) {
    if (a.obs_file.empty()) {
        return std::nullopt;
    }
    LOLA_CHECK_USAGE(a.forecast.guidance.enabled(),
                     "--obs-file {}: give --observe too (the operator that observes its states)", a.obs_file);
    data::TrajectorySet obs({fs::path(a.obs_file)});
    LOLA_CHECK_USAGE(obs.size() == source.size(),
                     "--obs-file {} holds {} trajectories but '{}' holds {}: one observed trajectory per source "
                     "trajectory, in the same order",
                     a.obs_file, obs.size(), file.string(), source.size());
    for (int64_t i = 0; i < obs.size(); ++i) {
        const io::WellSchema &s = source.schema(i), &o = obs.schema(i);
        LOLA_CHECK_USAGE(
            s.channel_names() == o.channel_names() && s.resolution == o.resolution && s.n_steps() == o.n_steps(),
            "--obs-file {}: trajectory {} has fields [{}], grid {} and {} snapshots but in '{}' it has "
            "[{}], {} and {}: the observations must have the source's fields, grid and snapshots",
            a.obs_file, i, fmt::join(o.channel_names(), ", "), fmt::join(o.resolution, "x"), o.n_steps(), file.string(),
            fmt::join(s.channel_names(), ", "), fmt::join(s.resolution, "x"), s.n_steps());
    }
    return obs;
}

void run_emulate(const EmulateArgs& a) {
    const torch::Device device = parse_device(a.device);
    runtime::LoadOptions lo;
    lo.autoencoder = a.ae;
    const Forecaster model(a.run, device, a.forecast, lo);
    const data::DatasetOptions& dataset = model.emulator().dataset();
    const int64_t stride = model.card().time_stride;
    fs::path file = a.file;
    if (file.empty()) {
        const auto files = data::preset_split_files(dataset, "test");
        LOLA_CHECK_USAGE(!files.empty(), "the test split of {} has no files: give --file", dataset.name);
        file = files.front();
    }
    const data::TrajectorySet set({file});
    const std::optional<data::TrajectorySet> observations = observation_set(a, set, file);
    std::vector<int64_t> which = a.trajectories;
    if (which.empty()) {
        for (int64_t i = 0; i < set.size(); ++i) {
            which.push_back(i);
        }
    }
    const int64_t K = model.generative() ? a.members : 1;
    std::vector<torch::Tensor> preds, recons;
    std::vector<uint64_t> seeds;
    std::vector<double> time;
    double seconds = 0;
    int64_t states = 0;
    for (int64_t i : which) {
        LOLA_CHECK_USAGE(i >= 0 && i < set.size(), "--trajectories: {} is not in [0, {}) of '{}'", i, set.size(),
                         file.string());
        const data::Trajectory traj = set.get(i);
        const auto idx = emulation::select_frame_indices(traj.states.size(1), a.start, a.context, stride);
        const torch::Tensor frames = emulation::select_frames(traj.states, a.start, a.context, stride, 1);
        time.clear();
        for (int64_t t : idx) {
            time.push_back(traj.time[static_cast<size_t>(t)]);
        }
        const uint64_t seed = emulation::run_seed(a.seed, i, a.start);
        seeds.push_back(seed);
        const torch::Tensor observed =
            observations
                ? emulation::select_frames(observations->get(i).states, a.start, a.context, stride, 1).contiguous()
                : torch::Tensor();
        const Forecaster::Output o = model.forecast(frames.contiguous(), traj.label, a.context, K, seed, observed);
        for (int64_t k = 0; k < K; ++k) {
            preds.push_back(o.pred[k]);
        }
        recons.push_back(o.recon);
        seconds += o.seconds;
        states += K * frames.size(1);
        LOLA_LOG_INFO("emulate: trajectory {} of '{}': {} frames x {} members in {:.2f} s", i, file.string(),
                      frames.size(1), K, o.seconds);
    }
    const io::WellSchema& schema = set.schema(0);
    const std::vector<std::pair<std::string, std::string>> attrs{
        {"lola_emulator", fs::absolute(a.run).string()},
        {"lola_model", model.description()},
        {"lola_source", fs::absolute(file).string()},
        {"lola_source_trajectories", fmt::format("{}", fmt::join(which, ","))},
        {"lola_context", std::to_string(a.context)},
        {"lola_time_stride", std::to_string(stride)},
        {"lola_seeds", fmt::format("{}", fmt::join(seeds, ","))},
        {"ensemble_size", std::to_string(K)}};
    const fs::path out(a.out);
    const fs::path out_dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
    fs::create_directories(out_dir);
    for (const fs::path& p : core::remove_stale_temporaries(out_dir)) {
        LOLA_LOG_INFO("emulate: removed '{}', left by a process that no longer runs", p.string());
    }
    write_well(out, schema, time, preds, attrs);
    fs::path rec = out;
    rec.replace_filename(out.stem().string() + "_reconstruction" + out.extension().string());
    auto rec_attrs = attrs;
    rec_attrs.back() = {"ensemble_size", "1"};
    write_well(rec, schema, time, recons, rec_attrs);
    LOLA_LOG_INFO("emulate: wrote {} ({} trajectories = {} x {} members) and {} | {:.2f} ms per state", out.string(),
                  preds.size(), which.size(), K, rec.string(), 1000.0 * seconds / static_cast<double>(states));
}

} // namespace

void register_emulate(CLI::App& app) {
    auto* cmd = app.add_subcommand("emulate",
                                   "emulate trajectories of a Well file with a trained emulator; writes "
                                   "Well-format HDF5 (plus the autoencoder reconstruction)");
    auto a = std::make_shared<EmulateArgs>();
    cmd->add_option("--run", a->run, "emulator run folder or model file (.lola, from lola export)")->required();
    cmd->add_option("--ae", a->ae, "the autoencoder run of a run folder, if it moved (default: the recorded one)");
    cmd->add_option("--out", a->out, "output Well file (.h5); OUT_reconstruction.h5 is written next to it")
        ->required()
        ->check(non_empty());
    cmd->add_option("--file", a->file, "source Well file (default: the first test file of the run's dataset)");
    cmd->add_option("--trajectories", a->trajectories, "trajectory indices in the file (default: all)")->delimiter(',');
    cmd->add_option("--obs-file", a->obs_file,
                    "with --observe: a Well file whose states are observed instead of the source's (same "
                    "trajectories, fields, grid and snapshots; only the cells the operator reads matter)");
    cmd->add_option("--context", a->context, "known initial states c")->capture_default_str();
    cmd->add_option("--start", a->start, "first forecast snapshot (the context ends there)")->capture_default_str();
    cmd->add_option("--members", a->members, "ensemble members (diffusion)")->capture_default_str();
    add_forecast_options(*cmd, a->forecast, "run's");
    cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
    cmd->add_option("--seed", a->seed, "seed")->capture_default_str();
    cmd->callback([a] { run_emulate(*a); });
}

} // namespace lola::app
