#include "common.h"

#include <CLI/CLI.hpp>

#include <algorithm>

#include "ae_run.h"
#include "emulator_run.h"
#include "lola/data/dataset.h"

namespace lola::app {

namespace fs = std::filesystem;

void add_config_args(CLI::App& cmd, ConfigArgs& args) {
    cmd.add_option("--config", args.files, "YAML config file, merged over the defaults (repeatable)")
        ->check(CLI::ExistingFile);
    cmd.add_option("overrides", args.overrides, "key=value overrides with dotted keys, e.g. dataset=euler_all");
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
    for (const YAML::Node& schema : {train_ae_defaults(), train_emulator_defaults(EmulatorKind::diffusion),
                                     train_emulator_defaults(EmulatorKind::surrogate)}) {
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
    cfg.compose(args.files, args.overrides);
    return cfg;
}

std::optional<std::string> find_dataset_preset(const std::string& dataset_name) {
    const fs::path dir = core::config_dir() / "dataset";
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
