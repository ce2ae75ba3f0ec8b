#include "lola/core/config.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "lola/core/fs.h"

namespace lola::core {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_key(const std::string& key) {
    std::vector<std::string> parts;
    std::string part;
    std::stringstream ss(key);
    while (std::getline(ss, part, '.')) {
        parts.push_back(part);
    }
    return parts;
}

std::string join_key(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
}

std::vector<std::string> map_keys(const YAML::Node& node) {
    std::vector<std::string> keys;
    if (node.IsMap()) {
        for (const auto& kv : node) {
            if (kv.first.IsScalar()) { // open maps may hold any keys
                keys.push_back(kv.first.as<std::string>());
            }
        }
    }
    return keys;
}

const char* kind_name(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map:
            return "a map";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Scalar:
            return "a value";
        default:
            return "null";
    }
}

size_t levenshtein(const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

} // namespace

// ---- the preset search path (docs/runtime.md, "Where presets come from") -------------------------------------------
// Configure-time facts (src/core/CMakeLists.txt); a build of config.cpp without them (the fuzz project) searches
// $LOLA_CONFIG_PATH only.

namespace {

// Whether `path` is `root` or inside it, comparing whole components of the normalised absolute paths.
bool is_within(const fs::path& path, const fs::path& root) {
    std::error_code ec;
    const fs::path p = fs::weakly_canonical(path, ec);
    const fs::path r = fs::weakly_canonical(root, ec);
    if (p.empty() || r.empty()) {
        return false;
    }
    auto pi = p.begin();
    for (auto ri = r.begin(); ri != r.end(); ++ri, ++pi) {
        if (ri->empty()) {
            continue; // a trailing separator
        }
        if (pi == p.end() || *pi != *ri) {
            return false;
        }
    }
    return true;
}

// The files lola's code runs from: the executable, and the shared object holding this function (liblola.so) when
// that is another file.
std::vector<fs::path> lola_binaries() {
    std::vector<fs::path> out;
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        out.push_back(exe);
    }
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&config_search_path), &info) != 0 && info.dli_fname != nullptr) {
        fs::path lib = info.dli_fname;
        if (lib.is_absolute() && (out.empty() || !fs::equivalent(lib, out.front(), ec))) {
            out.push_back(lib);
        }
    }
    return out;
}

constexpr const char* kConfigFix =
    "Set LOLA_CONFIG_PATH to a folder holding the preset groups (e.g. the configs/ folder of lola's source tree), or "
    "install lola (cmake --install) so that they are in <prefix>/share/lola/configs";

#ifdef LOLA_INSTALL_DATADIR
// <prefix>/<datadir>/lola/configs when `dir` is <prefix>/<bindir> or <prefix>/<libdir> (relocatable installs).
std::optional<fs::path> installed_beside(const fs::path& dir) {
    for (const fs::path& rel : {fs::path(LOLA_INSTALL_BINDIR), fs::path(LOLA_INSTALL_LIBDIR)}) {
        fs::path prefix = dir;
        bool match = true;
        std::vector<fs::path> parts(rel.begin(), rel.end());
        for (auto it = parts.rbegin(); it != parts.rend() && match; ++it) {
            match = prefix.filename() == *it;
            prefix = prefix.parent_path();
        }
        if (match && !prefix.empty()) {
            return prefix / LOLA_INSTALL_DATADIR / "lola" / "configs";
        }
    }
    return std::nullopt;
}
#endif

} // namespace

std::vector<ConfigSearchEntry> config_search_path() {
    std::vector<ConfigSearchEntry> path;
    auto add = [&path](const fs::path& dir, const char* origin) {
        const fs::path normal = dir.lexically_normal();
        for (const auto& e : path) {
            if (e.dir == normal) {
                return;
            }
        }
        path.push_back({normal, origin});
    };
    if (const char* env = std::getenv("LOLA_CONFIG_PATH"); env != nullptr) {
        std::stringstream ss(env);
        std::string item;
        while (std::getline(ss, item, ':')) {
            if (!item.empty()) {
                add(fs::absolute(item), "LOLA_CONFIG_PATH");
            }
        }
    }
    [[maybe_unused]] const std::vector<fs::path> binaries = lola_binaries();
#if defined(LOLA_SOURCE_CONFIG_DIR) && defined(LOLA_BUILD_DIR)
    for (const auto& bin : binaries) {
        if (is_within(bin, LOLA_BUILD_DIR)) {
            add(LOLA_SOURCE_CONFIG_DIR, "source tree");
            break;
        }
    }
#endif
#ifdef LOLA_INSTALL_DATADIR
    for (const auto& bin : binaries) {
        if (auto dir = installed_beside(bin.parent_path())) {
            add(*dir, "installed");
        }
    }
#endif
#ifdef LOLA_INSTALL_CONFIG_DIR
    add(LOLA_INSTALL_CONFIG_DIR, "installed");
#endif
    return path;
}

std::optional<fs::path> find_config_group(const std::string& group) {
    for (const auto& entry : config_search_path()) {
        std::error_code ec;
        if (fs::is_directory(entry.dir / group, ec)) {
            return entry.dir / group;
        }
    }
    return std::nullopt;
}

fs::path config_group_dir(const std::string& group) {
    if (auto dir = find_config_group(group)) {
        return *dir;
    }
    std::vector<std::string> searched;
    for (const auto& entry : config_search_path()) {
        searched.push_back(fmt::format("{} ({})", (entry.dir / group).string(), entry.origin));
    }
    LOLA_THROW_USAGE("no '{}' presets found; searched: {}. {}", group,
                     searched.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(searched, ", ")),
                     kConfigFix);
}

fs::path config_dir() {
    const auto path = config_search_path();
    std::vector<std::string> searched;
    for (const auto& entry : path) {
        std::error_code ec;
        if (fs::is_directory(entry.dir, ec)) {
            return entry.dir;
        }
        searched.push_back(fmt::format("{} ({})", entry.dir.string(), entry.origin));
    }
    LOLA_THROW_USAGE("no presets folder found; searched: {}. {}",
                     searched.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(searched, ", ")),
                     kConfigFix);
}

std::string config_source() {
    std::vector<std::string> found;
    for (const auto& entry : config_search_path()) {
        std::error_code ec;
        if (fs::is_directory(entry.dir, ec)) {
            found.push_back(fmt::format("{} ({})", entry.dir.string(), entry.origin));
        }
    }
    if (found.empty()) {
        return "none found (set LOLA_CONFIG_PATH, or install lola)";
    }
    return fmt::format("{}", fmt::join(found, ", then "));
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    size_t best_distance = std::string::npos;
    for (const auto& c : candidates) {
        size_t d = levenshtein(word, c);
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    // Accept up to a third of the word's length in edits (at least 2).
    if (best_distance <= std::max<size_t>(2, word.size() / 3)) {
        return best;
    }
    return {};
}

YAML::Node load_yaml_file(const fs::path& path) {
    std::error_code ec;
    LOLA_CHECK_USAGE(fs::exists(path, ec), "config file '{}' does not exist", path.string());
    LOLA_CHECK_USAGE(!fs::is_directory(path, ec), "config file '{}' is a folder", path.string());
    try {
        return YAML::LoadFile(path.string()); // also /dev/null (empty) and pipes
    } catch (const YAML::Exception& e) {
        LOLA_THROW_USAGE("config file '{}' is not valid YAML: {} (line {}, column {})", path.string(), e.msg,
                         e.mark.line + 1, e.mark.column + 1);
    }
}

YAML::Node flow_list(const std::vector<int64_t>& values) {
    YAML::Node node(YAML::NodeType::Sequence);
    for (int64_t v : values) {
        node.push_back(v);
    }
    node.SetStyle(YAML::EmitterStyle::Flow);
    return node;
}

Config::Config() : root_(YAML::NodeType::Map), defaults_(YAML::NodeType::Map) {}

Config::Config(const YAML::Node& defaults) : root_(YAML::Clone(defaults)), defaults_(YAML::Clone(defaults)) {
    LOLA_ASSERT(defaults.IsMap());
}

Config::Config(const Config& other) : root_(YAML::Clone(other.root_)), defaults_(YAML::Clone(other.defaults_)) {}

Config& Config::operator=(const Config& other) {
    if (this != &other) {
        root_ = YAML::Clone(other.root_);
        defaults_ = YAML::Clone(other.defaults_);
    }
    return *this;
}

YAML::Node Config::load_group(const std::string& path, const std::string& name, const std::string& origin) const {
    fs::path file;
    if (name.size() > 5 && (name.rfind(".yaml") == name.size() - 5 || name.rfind(".yml") == name.size() - 4)) {
        file = name;
    } else {
        // configs/<last key component>/<name>.yaml; nested groups use their last component
        std::vector<std::string> parts = split_key(path);
        file = config_group_dir(parts.back()) / (name + ".yaml");
        std::error_code ec; // a name too long for the filesystem, or with a NUL, is just not a preset
        if (!fs::exists(file, ec)) {
            std::vector<std::string> available;
            for (const auto& entry : fs::directory_iterator(file.parent_path(), ec)) {
                if (entry.path().extension() == ".yaml") {
                    available.push_back(entry.path().stem().string());
                }
            }
            std::sort(available.begin(), available.end());
            std::string hint = closest_match(name, available);
            LOLA_THROW_USAGE("unknown {} preset '{}' ({}): no file '{}'{}{}", path, name, origin, file.string(),
                             hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint),
                             available.empty() ? "" : fmt::format(" (available: {})", fmt::join(available, ", ")));
        }
    }
    return load_yaml_file(file);
}

void Config::merge_into(YAML::Node& target, const YAML::Node& defaults, const YAML::Node& incoming,
                        const std::string& path, const std::string& origin) {
    if (!incoming.IsMap()) {
        LOLA_THROW_USAGE("config '{}' ({}) must be a map of keys, got {}", path.empty() ? "<root>" : path, origin,
                         kind_name(incoming));
    }
    const bool open = defaults.IsMap() && defaults.size() == 0;
    for (const auto& kv : incoming) {
        // A key must be a plain name: YAML also allows lists, maps and aliases of them as keys ("? [a]: 1").
        LOLA_CHECK_USAGE(kv.first.IsScalar(), "config '{}' ({}) has a key that is not a plain name but {} (line {})",
                         path.empty() ? "<root>" : path, origin, kind_name(kv.first), kv.first.Mark().line + 1);
        const std::string name = kv.first.as<std::string>();
        const std::string key = join_key(path, name);
        const YAML::Node value = kv.second;
        YAML::Node def = defaults.IsMap() ? defaults[name] : YAML::Node();
        if (open) {
            target[name] = YAML::Clone(value);
            continue;
        }
        if (!def.IsDefined()) {
            std::string hint = closest_match(name, map_keys(defaults));
            LOLA_THROW_USAGE("unknown config key '{}' ({}){}", key, origin,
                             hint.empty() ? fmt::format("; valid keys here: {}", fmt::join(map_keys(defaults), ", "))
                                          : fmt::format("; did you mean '{}'?", join_key(path, hint)));
        }
        if (def.IsMap()) {
            if (value.IsScalar()) {
                // group selection: reset the group to its defaults and merge the preset file
                YAML::Node fresh = YAML::Clone(def);
                merge_into(fresh, def, load_group(key, value.as<std::string>(), origin), key,
                           fmt::format("preset {}={}", key, value.as<std::string>()));
                target[name] = fresh;
            } else if (value.IsMap()) {
                YAML::Node sub = target[name];
                merge_into(sub, def, value, key, origin);
            } else if (value.IsNull()) {
                target[name] = YAML::Clone(def);
            } else {
                LOLA_THROW_USAGE("config key '{}' ({}) must be a map or a preset name, got {}", key, origin,
                                 kind_name(value));
            }
        } else if (def.IsSequence() && !value.IsSequence() && !value.IsNull()) {
            LOLA_THROW_USAGE("config key '{}' ({}) must be a list, got '{}'", key, origin, dump(value));
        } else if (def.IsScalar() && !value.IsScalar() && !value.IsNull()) {
            LOLA_THROW_USAGE("config key '{}' ({}) must be a single value, got {}", key, origin, kind_name(value));
        } else {
            target[name] = YAML::Clone(value);
        }
    }
}

void Config::merge(const YAML::Node& node, const std::string& origin) {
    if (!node.IsDefined() || node.IsNull()) {
        return;
    }
    merge_into(root_, defaults_, node, "", origin);
}

void Config::merge_file(const fs::path& path) { merge(load_yaml_file(path), fmt::format("in '{}'", path.string())); }

void Config::apply_override(const std::string& assignment) {
    const auto eq = assignment.find('=');
    LOLA_CHECK_USAGE(eq != std::string::npos && eq > 0,
                     "malformed override '{}' (expected key=value, e.g. optim.learning_rate=1e-4)", assignment);
    const std::string key = assignment.substr(0, eq);
    const std::string text = assignment.substr(eq + 1);
    std::vector<std::string> parts = split_key(key);
    for (const auto& p : parts) {
        LOLA_CHECK_USAGE(!p.empty(), "malformed override '{}': empty component in key '{}'", assignment, key);
    }
    YAML::Node value;
    try {
        value = YAML::Load(text);
    } catch (const YAML::Exception&) {
        value = YAML::Node(text);
    }
    if (!value.IsDefined()) {
        value = YAML::Node(YAML::NodeType::Null);
    }
    // Build {a: {b: {c: value}}} and merge it, so that the same checks apply.
    YAML::Node nested = value;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        YAML::Node wrap(YAML::NodeType::Map);
        wrap[*it] = nested;
        nested.reset(wrap);
    }
    merge(nested, fmt::format("override '{}'", assignment));
}

void Config::compose(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
    for (const auto& f : files) {
        merge_file(f);
    }
    for (const auto& o : overrides) {
        apply_override(o);
    }
}

bool Config::has(const std::string& key) const {
    YAML::Node node = root_;
    for (const auto& part : split_key(key)) {
        if (!node.IsMap()) {
            return false;
        }
        YAML::Node next = node[part];
        if (!next.IsDefined()) {
            return false;
        }
        node.reset(next);
    }
    return true;
}

YAML::Node Config::at(const std::string& key) const {
    YAML::Node node = root_;
    std::string path;
    for (const auto& part : split_key(key)) {
        YAML::Node next = node.IsMap() ? node[part] : YAML::Node();
        if (!next.IsDefined()) {
            std::string hint = closest_match(part, map_keys(node));
            LOLA_THROW_USAGE("missing config key '{}'{}", join_key(path, part),
                             hint.empty() ? "" : fmt::format("; did you mean '{}'?", join_key(path, hint)));
        }
        node.reset(next);
        path = join_key(path, part);
    }
    return node;
}

void Config::set(const std::string& key, const YAML::Node& value) {
    std::vector<std::string> parts = split_key(key);
    YAML::Node node = root_;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        YAML::Node next = node[parts[i]];
        node.reset(next);
    }
    node[parts.back()] = value;
}

namespace {

/// A plain scalar written by yaml-cpp from a double carries 17 significant digits ("0.90000000000000002"); the
/// shortest decimal that reads back as the same double ("0.9") replaces it. Only unquoted decimal scalars of 16 or
/// more digits that round-trip exactly are touched.
void shorten_floats(YAML::Node node) {
    if (node.IsMap()) {
        for (auto kv : node) {
            shorten_floats(kv.second);
        }
        return;
    }
    if (node.IsSequence()) {
        for (auto item : node) {
            shorten_floats(item);
        }
        return;
    }
    if (!node.IsScalar() || node.Tag() == "!") {
        return;
    }
    const std::string& text = node.Scalar();
    int digits = 0;
    bool dot = false;
    for (const char c : text) {
        if (c >= '0' && c <= '9') {
            ++digits;
        } else if (c == '.') {
            dot = true;
        } else if (c == 'e' || c == 'E') {
            break;
        } else if (c != '-' && c != '+') {
            return;
        }
    }
    if (!dot || digits < 16) {
        return;
    }
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(v)) {
        return;
    }
    std::string shortest = fmt::format("{}", v);
    if (std::strtod(shortest.c_str(), nullptr) == v) {
        if (shortest.find_first_of(".eE") == std::string::npos) {
            shortest += ".0"; // stays a float for readers that type scalars
        }
        node = shortest;
    }
}

} // namespace

std::string Config::dump(const YAML::Node& node) {
    YAML::Node copy = YAML::Clone(node);
    shorten_floats(copy);
    YAML::Emitter out;
    out << copy;
    return out.c_str();
}

void Config::check_finite(const std::string& key, double value) {
    LOLA_CHECK_USAGE(std::isfinite(value), "config key '{}' is {}: give a finite number", key, value);
}

void Config::save(const fs::path& path) const { write_file_atomic(path, dump() + "\n"); }

} // namespace lola::core
