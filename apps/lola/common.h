// Helpers shared by the subcommands: config composition, group schemas, presets.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lola/core/config.h"
#include "lola/data/loader.h"
#include "lola/runtime/runs.h"
#include "lola/train/run_folder.h"
#include "lola/train/trainer.h"

namespace CLI {
class App;
class Validator;
} // namespace CLI

namespace lola::app {

// Run folders live in the runtime library; the commands use them unqualified.
using runtime::AeRun;
using runtime::backbone_group;
using runtime::build_model;
using runtime::checked_cache;
using runtime::EmulatorKind;
using runtime::EmulatorOptions;
using runtime::EmulatorRun;
using runtime::kind_name;
using runtime::load_ae_run;
using runtime::load_emulator_run;
using runtime::parse_device;
using runtime::train_ae_defaults;
using runtime::train_emulator_defaults;

/// Loader options of the `loader` group for a split (train: shuffled and augmented; others: fixed order, none).
data::LoaderOptions loader_options(const core::Config& cfg, const data::DatasetOptions& dataset, bool train);

/// CLI11 checks: an existing path that is not a folder (unlike CLI::ExistingFile, accepts /dev/null and pipes); a
/// non-empty value (for --out).
const CLI::Validator& readable_file();
const CLI::Validator& non_empty();

/// Options every config-driven subcommand takes: --config FILE (repeatable) and trailing key=value overrides.
struct ConfigArgs {
    std::vector<std::string> files;
    std::vector<std::string> overrides;
};
void add_config_args(CLI::App& cmd, ConfigArgs& args);

/// Options of every training command (train-ae, train-diffusion, train-surrogate).
struct TrainRunArgs {
    ConfigArgs config;
    std::string out;
    bool resume = false;
    bool overwrite = false;
    int64_t stop_after = 0;
    std::string device;
    double dist_timeout = 300; ///< seconds; data-parallel jobs only (docs/distributed.md)

    train::RunMode mode() const;
};
void add_train_run_args(CLI::App& cmd, TrainRunArgs& args);

/// A training run's config: `defaults`, then (with --resume) the run's own config.yaml, then --config files and
/// overrides, then --device.
core::Config compose_run_config(const YAML::Node& defaults, const TrainRunArgs& args);

/// What every training command takes from its composed config: the optimizer and trainer options (with
/// --stop-after) and the device (with TF32 matrix products allowed on CUDA).
struct TrainSetup {
    train::OptimOptions optim;
    train::TrainerOptions trainer;
    torch::Device device = torch::kCPU;
};
TrainSetup train_setup(const core::Config& cfg, const TrainRunArgs& args);

/// Write the run's config.yaml (with the run format version) into `dir`, before training starts.
void save_run_config(core::Config& cfg, const std::filesystem::path& dir);

/// The closing log line of a training command: steps, time, losses, skipped steps.
void log_train_summary(const std::string& command, const train::TrainSummary& summary);

/// The validation batches of a training run: get(index) is batch `index` of one fixed pass over the valid split, so
/// every epoch validates on the same batches (a pass shorter than the indices wraps). Indices may come in any order
/// (a rank of a data-parallel job validates every W-th batch); in order, the loader just reads on.
class ValidBatches {
public:
    ValidBatches(std::shared_ptr<const data::WindowDataset> valid, data::LoaderOptions options);
    data::Batch get(int64_t index);

private:
    std::shared_ptr<const data::WindowDataset> valid_;
    data::LoaderOptions options_;
    std::unique_ptr<data::Loader> loader_;
    int64_t next_ = -1; ///< the index the loader is positioned at
};

/// A number that differs between the positions of a training stream ({epoch, batch}), for train::RankRandomness.
uint64_t position_salt(const std::vector<int64_t>& position);

/// Refuse (lola::Error) to train a model of `n_params` parameters on the CPU when its weights, gradients and optimizer
/// state alone (16 bytes per parameter) exceed the memory available; `keys` names the config keys that size it.
void check_training_memory(int64_t n_params, bool on_cpu, const std::string& keys);

/// Defaults (= schema) of a config group, e.g. "dataset"; nullopt for an unknown group.
std::optional<YAML::Node> group_defaults(const std::string& group);

/// Every known group's defaults under its name: {dataset: ..., ...}.
YAML::Node all_group_defaults();

/// Merge the --config files into `cfg`, then the overrides. A reference config (interop::is_reference_config) is
/// composed with the overrides it knows (its groups and keys) and translated to lola's keys
/// (interop::training_config); the overrides it does not know apply to lola's config (docs/reference.md).
void compose_into(core::Config& cfg, const ConfigArgs& args);

/// Compose defaults + files + overrides (compose_into).
core::Config compose(const YAML::Node& defaults, const ConfigArgs& args);

/// The preset of `group` whose `physics` list names `dataset_name`, if any (e.g. euler_multi_quadrants_openBC ->
/// euler_all).
std::optional<std::string> find_dataset_preset(const std::string& dataset_name);

} // namespace lola::app
