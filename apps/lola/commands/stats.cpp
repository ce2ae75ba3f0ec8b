// lola stats DIR...: normalisation statistics of the train split, both ways:
//  - the_well's stats.yaml per dataset folder (exact, all train data), written into each folder;
//  - the reference's per-channel mean/std after the preset's transforms (random train states), printed as a
//    `stats:` fragment for a dataset preset (and written to --out).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

#include "commands/commands.h"
#include "common.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"
#include "lola/core/options.h"
#include "lola/data/dataset.h"
#include "lola/data/stats.h"
#include "lola/io/well.h"
#include "lola/io/well_dataset.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

struct StatsArgs {
    std::vector<std::string> dirs;
    int64_t states = 1024;
    uint64_t seed = 0;
    std::string out;
    bool no_well = false;
    ConfigArgs config;
};

void run_stats(const StatsArgs& a) {
    std::vector<fs::path> train;
    std::string dataset_name;
    for (const auto& d : a.dirs) {
        const fs::path dir(d);
        auto files = io::split_files(dir, "train");
        if (dataset_name.empty()) {
            dataset_name = io::read_schema(files[0]).dataset_name;
        }
        if (!a.no_well) {
            LOLA_LOG_INFO("stats: the_well statistics of {} train files in '{}'", files.size(), dir.string());
            core::write_file_atomic(dir / "stats.yaml", io::well_stats_yaml(io::compute_well_stats(files)));
            LOLA_LOG_INFO("stats: wrote {}", (dir / "stats.yaml").string());
        }
        train.insert(train.end(), files.begin(), files.end());
    }

    // Transforms come from the dataset preset: given as dataset=NAME, or found by the files' dataset_name.
    YAML::Node defaults(YAML::NodeType::Map);
    defaults["dataset"] = core::options_defaults<data::DatasetOptions>();
    ConfigArgs cfg_args = a.config;
    bool has_preset = false;
    for (const auto& o : cfg_args.overrides) {
        has_preset = has_preset || o.rfind("dataset", 0) == 0;
    }
    if (!has_preset && cfg_args.files.empty()) {
        if (auto preset = find_dataset_preset(dataset_name)) {
            LOLA_LOG_INFO("stats: using the transforms of dataset preset '{}'", *preset);
            cfg_args.overrides.insert(cfg_args.overrides.begin(), "dataset=" + *preset);
        } else {
            LOLA_LOG_INFO("stats: no dataset preset lists '{}'; no transforms (set dataset=NAME to choose)",
                          dataset_name);
        }
    }
    core::Config cfg = compose(defaults, cfg_args);
    std::vector<data::Transform> transforms;
    for (const auto& t : cfg.get<std::vector<std::string>>("dataset.transform")) {
        transforms.push_back(data::parse_transform(t));
    }
    const auto channels = io::read_schema(train[0]).channel_names();
    LOLA_CHECK_USAGE(transforms.empty() || transforms.size() == channels.size(),
                     "dataset.transform has {} entries but the files have {} channels ({})", transforms.size(),
                     channels.size(), fmt::join(channels, ", "));
    LOLA_LOG_INFO("stats: {} random states of {} train files", a.states, train.size());
    data::ChannelStats st = data::compute_channel_stats(train, transforms, a.states, a.seed);
    const std::string yaml = data::channel_stats_yaml(st);
    std::fputs(yaml.c_str(), stdout);
    if (!a.out.empty()) {
        core::write_file_atomic(a.out, yaml);
        LOLA_LOG_INFO("stats: wrote {}", a.out);
    }
}

} // namespace

void register_stats(CLI::App& app) {
    auto* cmd = app.add_subcommand("stats",
                                   "normalisation statistics of the train split (the_well's stats.yaml and "
                                   "the reference's per-channel mean/std)");
    auto a = std::make_shared<StatsArgs>();
    // one positional list, as every command takes it: folders, then key=value overrides (dataset=euler_all)
    cmd->add_option("dirs", a->dirs,
                    "Well dataset folders (with data/train; statistics pool over all of them), then key=value "
                    "overrides, e.g. dataset=euler_all")
        ->required();
    cmd->add_option("--states", a->states, "random train states for the per-channel statistics")->capture_default_str();
    cmd->add_option("--seed", a->seed, "seed of the state draw")->capture_default_str();
    cmd->add_option("--out", a->out, "also write the stats: fragment to this file");
    cmd->add_flag("--no-well-stats", a->no_well, "do not (re)write stats.yaml in the dataset folders");
    cmd->add_option("--config", a->config.files, "YAML config with a dataset group")->check(CLI::ExistingFile);
    // the former spelling of the overrides, kept for existing scripts
    cmd->add_option("--set", a->config.overrides, "key=value override (same as a positional key=value)")->group("");
    cmd->callback([a] {
        StatsArgs args = *a;
        args.dirs.clear();
        for (const auto& word : a->dirs) {
            if (word.find('=') != std::string::npos && !fs::is_directory(word)) {
                args.config.overrides.push_back(word);
            } else {
                LOLA_CHECK_USAGE(fs::is_directory(word),
                                 "'{}' is not a folder (give Well dataset folders, then "
                                 "key=value overrides)",
                                 word);
                args.dirs.push_back(word);
            }
        }
        LOLA_CHECK_USAGE(!args.dirs.empty(), "no dataset folder given (lola stats DIR... [key=value...])");
        run_stats(args);
    });
}

} // namespace lola::app
