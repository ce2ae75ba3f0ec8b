// YAML configuration composed Hydra-style: built-in defaults, then --config files, then key=value overrides.
//
// The defaults (produced from the typed *Options structs) are the schema: a key that the defaults do not have is
// an error naming the key and the closest valid one. A scalar given where the defaults hold a map selects a preset
// of that group, e.g. `dataset=euler_all` loads configs/dataset/euler_all.yaml. An empty map in the defaults is open
// (any keys), and null accepts any value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "lola/core/error.h"

namespace lola::core {

/// One folder on the preset search path, and why it is there.
struct ConfigSearchEntry {
    std::filesystem::path dir;
    std::string origin; ///< "LOLA_CONFIG_PATH", "source tree" or "installed"
};

/// The preset search path, in order (docs/runtime.md, "Where presets come from"):
///   1. each folder of $LOLA_CONFIG_PATH (colon-separated, empty entries skipped);
///   2. the source tree's configs/, recorded at configure time, only for a binary that lives in its build tree;
///   3. the installed presets: <prefix>/share/lola/configs of the prefix lola's binary (the executable, or liblola.so)
///      is installed in, then the configured ${CMAKE_INSTALL_FULL_DATADIR}/lola/configs.
/// Entries need not exist; a folder appears once. Nothing else (the working directory, folders above the executable)
/// is ever searched.
std::vector<ConfigSearchEntry> config_search_path();

/// The folder of preset group `group` (dataset, ae, denoiser, ...): `<dir>/<group>` of the first entry of
/// config_search_path() that has it (first match wins, per group). std::nullopt when none has it.
std::optional<std::filesystem::path> find_config_group(const std::string& group);

/// find_config_group, or a usage error naming every folder searched and how to point lola at its presets.
std::filesystem::path config_group_dir(const std::string& group);

/// The first existing folder of config_search_path() (usage error naming the folders searched when none exists).
/// A group is looked up with config_group_dir, which may find it further down the path.
std::filesystem::path config_dir();

/// Where presets come from, for `lola --version`: the existing entries of the search path with their origins, the
/// first (which wins) first, e.g. "/src/lola/configs (source tree)"; or a note that none was found.
std::string config_source();

/// The closest string to `word` among `candidates` (Levenshtein), or "" when none is reasonably close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

class Config {
public:
    Config();
    /// `defaults` must be a map; a deep copy is kept.
    explicit Config(const YAML::Node& defaults);
    /// Copies are deep (YAML nodes alone would share their data).
    Config(const Config& other);
    Config& operator=(const Config& other);
    Config(Config&&) noexcept = default;
    Config& operator=(Config&&) noexcept = default;

    /// Merge a YAML file (strict). Errors name the file.
    void merge_file(const std::filesystem::path& path);
    /// Merge a node (strict); `origin` names where it came from in error messages.
    void merge(const YAML::Node& node, const std::string& origin);
    /// Apply one `dotted.key=value` override; the value is parsed as YAML.
    void apply_override(const std::string& assignment);
    /// Files in order, then overrides in order.
    void compose(const std::vector<std::string>& files, const std::vector<std::string>& overrides);

    bool has(const std::string& key) const;
    /// The node at a dotted key; throws a UsageError naming the key when absent.
    YAML::Node at(const std::string& key) const;

    /// The value at `key` as T; numbers must be finite (inf and nan are refused naming the key).
    template <class T>
    T get(const std::string& key) const {
        YAML::Node node = at(key);
        T value;
        try {
            value = node.as<T>();
        } catch (const YAML::Exception&) {
            LOLA_THROW_USAGE("config key '{}' has value '{}', which is not of the expected type", key, dump(node));
        }
        if constexpr (std::is_floating_point_v<T>) {
            check_finite(key, static_cast<double>(value));
        } else if constexpr (std::is_same_v<T, std::vector<double>> || std::is_same_v<T, std::vector<float>>) {
            for (const auto& v : value) {
                check_finite(key, static_cast<double>(v));
            }
        }
        return value;
    }

    template <class T>
    T get_or(const std::string& key, T fallback) const {
        if (!has(key) || at(key).IsNull()) {
            return fallback;
        }
        return get<T>(key);
    }

    /// Replace the value at `key` (which must exist) without checks; for values the program resolves itself.
    void set(const std::string& key, const YAML::Node& value);

    const YAML::Node& root() const { return root_; }
    std::string dump() const { return dump(root_); }
    static std::string dump(const YAML::Node& node);
    /// Write the resolved config atomically.
    void save(const std::filesystem::path& path) const;

private:
    static void check_finite(const std::string& key, double value);
    void merge_into(YAML::Node& target, const YAML::Node& defaults, const YAML::Node& incoming, const std::string& path,
                    const std::string& origin);
    YAML::Node load_group(const std::string& path, const std::string& name, const std::string& origin) const;

    YAML::Node root_;
    YAML::Node defaults_;
};

/// Load a YAML file with an error that names it.
YAML::Node load_yaml_file(const std::filesystem::path& path);

/// A YAML sequence of `values` in flow style ([1, 2, 3]): how option structs write their lists.
YAML::Node flow_list(const std::vector<int64_t>& values);

} // namespace lola::core
