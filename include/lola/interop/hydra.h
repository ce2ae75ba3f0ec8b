// The reference implementation's configs (docs/reference.md, "Reading the reference's configs"): its training scripts
// compose Hydra config folders (a primary config with a `defaults:` list, config groups as sub-folders, OmegaConf
// `${...}` interpolation). This is the subset of Hydra 1.3 and OmegaConf 2.3 those folders use, so that
// `lola train-ae --config PY_CONFIGS/train_ae.yaml ae=dcae_f32c64 dataset=euler_all` reads them as a user passes them.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace lola::interop {

/// Whether the YAML file `path` is a config of the reference implementation rather than a lola config: a Hydra
/// primary config (a top-level `defaults:` list) or a run folder's resolved config.yaml (its `server` group).
bool is_reference_config(const std::filesystem::path& path);

/// A composed config.
struct Composed {
    YAML::Node config;                          ///< no defaults list, every interpolation resolved
    std::map<std::string, std::string> choices; ///< config group -> the selected option (ae -> dcae_f4c4_tiny)
    std::vector<std::string> unused;            ///< overrides that name neither a config group nor a key of the config
};

/// Compose the primary config `primary` with `overrides` in Hydra's syntax, the config folder being the primary's
/// folder:
/// - the defaults list: `_self_` (where the file's own keys go; last when not listed), `GROUP: OPTION` (the file
///   `GROUP/OPTION.yaml`, at key GROUP with '/' as '.'; a group is relative to the group of the config that lists it,
///   absolute with a leading '/'), `GROUP@PACKAGE: OPTION`, `override GROUP: OPTION`, `optional GROUP: OPTION`,
///   `GROUP: null` (nothing unless selected), `GROUP: ???` (must be selected), and `NAME` (a config of the same
///   folder). A file's `# @package _global_` (or `_group_`, or a dotted key) header sets where it goes.
/// - overrides: `GROUP=OPTION` selects an option (GROUP a folder of the config folder), `+GROUP=OPTION` adds a group,
///   `~GROUP` drops one; `key.path=value` sets an existing key (value parsed as YAML), `+key=value` adds a key,
///   `++key=value` sets or adds, `~key` deletes. `key.path=value` for a key the config does not have is returned in
///   `unused` (lola applies it to its own config).
/// Then interpolations are resolved (resolve_interpolations). Errors name the file, the group or the key.
Composed compose_hydra(const std::filesystem::path& primary, const std::vector<std::string>& overrides);

/// Resolve OmegaConf interpolations: `${a.b}` (absolute), `${.b}` (a sibling), `${..b}` (one level up, and so on),
/// `${oc.env:NAME}` and `${oc.env:NAME,default}`; a value that is one interpolation takes the target's value and type,
/// interpolations inside a string are written as Python's str() writes them (0.0001, 3e-05, True, None). `\${` is a
/// literal `${`. Cycles and missing keys are errors naming the key and `origin`.
YAML::Node resolve_interpolations(const YAML::Node& root, const std::string& origin);

/// Python's str() of a float: the shortest repr that reads back, with ".0" on integral values (1.0, 0.0001, 3e-05,
/// 1e+16, inf, nan).
std::string python_float(double value);

} // namespace lola::interop
