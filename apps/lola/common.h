// Helpers shared by the subcommands: config composition, group schemas, presets.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lola/core/config.h"

namespace CLI {
class App;
}

namespace lola::app {

/// Options every config-driven subcommand takes: --config FILE (repeatable) and trailing key=value overrides.
struct ConfigArgs {
    std::vector<std::string> files;
    std::vector<std::string> overrides;
};
void add_config_args(CLI::App& cmd, ConfigArgs& args);

/// Defaults (= schema) of a config group, e.g. "dataset"; nullopt for an unknown group.
std::optional<YAML::Node> group_defaults(const std::string& group);

/// Every known group's defaults under its name: {dataset: ..., ...}.
YAML::Node all_group_defaults();

/// Compose defaults + files + overrides.
core::Config compose(const YAML::Node& defaults, const ConfigArgs& args);

/// The preset of `group` whose `physics` list names `dataset_name`, if any (e.g. euler_multi_quadrants_openBC ->
/// euler_all).
std::optional<std::string> find_dataset_preset(const std::string& dataset_name);

} // namespace lola::app
