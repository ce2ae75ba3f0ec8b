#include "common.h"

#include <CLI/CLI.hpp>

#include <ATen/Context.h>

#include <algorithm>

#include "lola/core/log.h"
#include "lola/core/options.h"
#include "lola/core/system.h"
#include "lola/data/dataset.h"
#include "lola/interop/hydra.h"
#include "lola/interop/reference.h"

namespace lola::app {

namespace fs = std::filesystem;

const CLI::Validator& readable_file() {
    static const CLI::Validator v(
        [](std::string& path) -> std::string {
            std::error_code ec;
            if (!fs::exists(path, ec)) {
                return fmt::format("'{}' does not exist", path);
            }
            if (fs::is_directory(path, ec)) {
                return fmt::format("'{}' is a folder, not a file", path);
            }
            return {};
        },
        "FILE");
    return v;
}

const CLI::Validator& non_empty() {
    static const CLI::Validator v(
        [](std::string& value) -> std::string { return value.empty() ? "is empty: give a path" : std::string(); },
        "PATH");
    return v;
}

void add_config_args(CLI::App& cmd, ConfigArgs& args) {
    cmd.add_option("--config", args.files,
                   "YAML config file, merged over the defaults (repeatable); a config of the reference implementation "
                   "(a Hydra primary config such as its train_ae.yaml) is composed with the overrides it knows")
        ->check(readable_file())
        ->allow_extra_args(false); // one file per --config: the words after it are overrides
    cmd.add_option("overrides", args.overrides, "key=value overrides with dotted keys, e.g. dataset=euler_all");
}

train::RunMode TrainRunArgs::mode() const {
    return resume ? train::RunMode::kResume : overwrite ? train::RunMode::kOverwrite : train::RunMode::kFresh;
}

void add_train_run_args(CLI::App& cmd, TrainRunArgs& a) {
    cmd.add_option("--out", a.out, "run folder (config.yaml, metrics.jsonl, state.pt, checkpoint.pt)")
        ->required()
        ->check(non_empty());
    auto* resume = cmd.add_flag("--resume", a.resume, "continue the run in --out from its last checkpoint, exactly");
    cmd.add_flag("--overwrite", a.overwrite, "replace the run in --out (its files are deleted first)")
        ->excludes(resume);
    cmd.add_option("--stop-after", a.stop_after, "stop after this many epochs (resume later with --resume)");
    cmd.add_option("--device", a.device, "cpu | cuda | cuda:N (same as the override device=...)");
    cmd.add_option("--dist-timeout", a.dist_timeout,
                   "data-parallel jobs (torchrun, srun, lola launch): seconds a rank waits for the others before the "
                   "job ends with an error naming the lost ranks")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    add_config_args(cmd, a.config);
}

void compose_into(core::Config& cfg, const ConfigArgs& args) {
    std::vector<std::string> overrides = args.overrides;
    for (const auto& file : args.files) {
        if (!interop::is_reference_config(file)) {
            cfg.merge_file(file);
            continue;
        }
        // a config of the reference implementation: composed Hydra-style with the overrides it knows, then translated
        const interop::Composed composed = interop::compose_hydra(file, overrides);
        for (const auto& [group, option] : composed.choices) {
            LOLA_LOG_DEBUG("{}: {}={}", file, group, option);
        }
        cfg.merge(interop::training_config(composed.config, file), file);
        overrides = composed.unused;
    }
    for (const auto& o : overrides) {
        cfg.apply_override(o);
    }
}

core::Config compose_run_config(const YAML::Node& defaults, const TrainRunArgs& a) {
    core::Config cfg(defaults);
    if (a.resume) {
        cfg.merge_file(fs::path(a.out) / "config.yaml");
    }
    compose_into(cfg, a.config);
    if (!a.device.empty()) {
        cfg.apply_override("device=" + a.device);
    }
    return cfg;
}

TrainSetup train_setup(const core::Config& cfg, const TrainRunArgs& a) {
    TrainSetup setup{core::read_options<train::OptimOptions>(cfg, "optim"),
                     core::read_options<train::TrainerOptions>(cfg, "train"),
                     parse_device(cfg.get<std::string>("device"))};
    setup.trainer.stop_after = a.stop_after;
    if (setup.device.is_cuda()) {
        at::globalContext().setAllowTF32CuBLAS(true);
        at::globalContext().setAllowTF32CuDNN(true);
    }
    return setup;
}

void save_run_config(core::Config& cfg, const fs::path& dir) {
    cfg.set("format_version", YAML::Node(runtime::kRunFormatVersion));
    cfg.save(dir / "config.yaml");
}

void log_train_summary(const std::string& command, const train::TrainSummary& s) {
    LOLA_LOG_INFO("{}: {} steps in {:.1f} s, last train loss {:.4e}, valid loss {:.4e} (best {:.4e}), {} skipped",
                  command, s.steps, s.seconds, s.last_train_loss, s.last_valid_loss, s.best_valid_loss, s.skipped);
}

ValidBatches::ValidBatches(std::shared_ptr<const data::WindowDataset> valid, data::LoaderOptions options)
    : valid_(std::move(valid)), options_(std::move(options)) {}

data::Batch ValidBatches::get(int64_t index) {
    if (!loader_) {
        loader_ = std::make_unique<data::Loader>(valid_, options_);
    }
    // the same validation batches every epoch; in data-parallel training a rank asks for every W-th one
    LOLA_CHECK(loader_->batches_per_epoch() > 0, "the validation split yields no batch of {} states",
               options_.batch_size);
    const int64_t batch = index % loader_->batches_per_epoch();
    if (index != next_ || batch == 0) {
        loader_->start_epoch(0, batch);
    }
    next_ = index + 1;
    std::optional<data::Batch> b = loader_->next();
    LOLA_ASSERT(b.has_value());
    return std::move(*b);
}

uint64_t position_salt(const std::vector<int64_t>& position) {
    uint64_t salt = 0;
    for (const int64_t p : position) {
        salt = data::mix_seed({salt, static_cast<uint64_t>(p)});
    }
    return salt;
}

void check_training_memory(int64_t n_params, bool on_cpu, const std::string& keys) {
    const double need = 16.0 * static_cast<double>(n_params); // float32 weights, gradients, two moments
    const int64_t have = core::available_memory_bytes();
    if (!on_cpu || have < 0) {
        return;
    }
    LOLA_CHECK_USAGE(need <= static_cast<double>(have),
                     "the model has {} parameters: training it needs at least {} "
                     "(weights, gradients and optimizer state, before activations) but {} of memory is available; "
                     "lower {}",
                     n_params, core::format_bytes(need), core::format_bytes(static_cast<double>(have)), keys);
    if (n_params > 100'000'000) {
        LOLA_LOG_WARN(
            "a paper-size model of {} parameters on the CPU: expect hours per epoch and days per run (paper-size "
            "models are meant for GPUs; the CPU presets are ae=dcae_small, denoiser=small, surrogate=small and tiny: "
            "'lola presets' lists them). The first step's line gives the estimate.",
            n_params);
    }
}

data::LoaderOptions loader_options(const core::Config& cfg, const data::DatasetOptions& dataset, bool train) {
    const auto group = core::read_options<runtime::LoaderGroup>(cfg, "loader");
    data::LoaderOptions o;
    o.batch_size = train ? group.batch_size : group.valid_batch_size;
    o.workers = static_cast<int>(group.workers);
    o.prefetch = static_cast<int>(group.prefetch);
    o.seed = cfg.get<uint64_t>("seed") + (train ? 0 : 1);
    o.shuffle = true; // validation also draws a (fixed) random subset of states
    if (train) {
        for (const auto& a : dataset.augment) {
            o.augment.push_back(data::parse_augmentation(a));
        }
    }
    o.preprocess = dataset.preprocessor();
    return o;
}

std::optional<YAML::Node> group_defaults(const std::string& group) {
    // Every group of every command's schema.
    YAML::Node all = all_group_defaults();
    if (all[group] && all[group].IsMap()) {
        return YAML::Clone(all[group]);
    }
    return std::nullopt;
}

YAML::Node all_group_defaults() {
    YAML::Node node(YAML::NodeType::Map);
    for (const YAML::Node& schema : {train_ae_defaults(), train_emulator_defaults(EmulatorKind::kDiffusion),
                                     train_emulator_defaults(EmulatorKind::kSurrogate)}) {
        for (const auto& kv : schema) {
            const std::string key = kv.first.as<std::string>();
            if (kv.second.IsMap() && !node[key]) {
                node[key] = YAML::Clone(kv.second);
            }
        }
    }
    return node;
}

core::Config compose(const YAML::Node& defaults, const ConfigArgs& args) {
    core::Config cfg(defaults);
    compose_into(cfg, args);
    return cfg;
}

std::optional<std::string> find_dataset_preset(const std::string& dataset_name) {
    const std::optional<fs::path> group = core::find_config_group("dataset");
    if (!group) {
        return std::nullopt;
    }
    const fs::path& dir = *group;
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() == ".yaml") {
            files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        YAML::Node node = core::load_yaml_file(f);
        if (!node["physics"]) {
            continue;
        }
        for (const auto& p : node["physics"]) {
            if (p.as<std::string>() == dataset_name) {
                return f.stem().string();
            }
        }
    }
    return std::nullopt;
}

} // namespace lola::app
