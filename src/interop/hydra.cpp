#include "lola/interop/hydra.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>

#include "lola/core/config.h"
#include "lola/core/error.h"

namespace lola::interop {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) {
        return "";
    }
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
        const size_t pos = s.find(sep, start);
        out.push_back(s.substr(start, pos - start));
        if (pos == std::string::npos) {
            return out;
        }
        start = pos + 1;
    }
}

std::string dotted(const std::string& group) {
    std::string out = group;
    std::replace(out.begin(), out.end(), '/', '.');
    return out;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

/// The `# @package X` header of a config file, or "" when it has none.
std::string package_header(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        const std::string t = trim(line);
        if (t.empty()) {
            continue;
        }
        if (t[0] != '#') {
            break;
        }
        const std::string body = trim(t.substr(1));
        if (starts_with(body, "@package")) {
            return trim(body.substr(8));
        }
    }
    return "";
}

/// The node at dotted `key` of `root`, or an undefined node. Sequences are indexed by number.
YAML::Node find(const YAML::Node& root, const std::vector<std::string>& path) {
    // reset(), not operator=: assigning a yaml-cpp node that refers into a tree overwrites the tree's node
    YAML::Node node;
    node.reset(root);
    for (const auto& part : path) {
        if (node.IsMap()) {
            if (!node[part]) {
                return YAML::Node(YAML::NodeType::Undefined);
            }
            node.reset(node[part]);
        } else if (node.IsSequence() && !part.empty() && part.find_first_not_of("0123456789") == std::string::npos) {
            const size_t i = std::stoul(part);
            if (i >= node.size()) {
                return YAML::Node(YAML::NodeType::Undefined);
            }
            node.reset(node[i]);
        } else {
            return YAML::Node(YAML::NodeType::Undefined);
        }
    }
    return node;
}

/// OmegaConf's merge: maps merge key by key (new keys appended), anything else replaces.
void merge_into(YAML::Node target, const YAML::Node& incoming) {
    for (const auto& kv : incoming) {
        const auto key = kv.first.as<std::string>();
        if (kv.second.IsMap() && target[key] && target[key].IsMap()) {
            merge_into(target[key], kv.second);
        } else {
            target[key] = YAML::Clone(kv.second);
        }
    }
}

/// `node` placed under the dotted `package` ("" = the root).
YAML::Node under(const std::string& package, const YAML::Node& node) {
    if (package.empty()) {
        return node;
    }
    const auto parts = split(package, '.');
    YAML::Node out(YAML::NodeType::Map);
    YAML::Node cursor;
    cursor.reset(out);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        cursor[parts[i]] = YAML::Node(YAML::NodeType::Map);
        cursor.reset(cursor[parts[i]]);
    }
    cursor[parts.back()] = node;
    return out;
}

/// One entry of a defaults list.
struct Entry {
    bool self = false;
    bool override_ = false;
    bool optional = false;
    std::string group;   ///< full group path (ae/loss); for a plain config: its path relative to the config folder
    std::string package; ///< "@PACKAGE" when given
    std::string option;  ///< "", "???" (mandatory) or a config name
    bool is_group = true;
};

class Composer {
public:
    Composer(fs::path primary, const std::vector<std::string>& overrides) : primary_(std::move(primary)) {
        root_dir_ = primary_.parent_path();
        for (const auto& o : overrides) {
            classify(o);
        }
    }

    Composed run() {
        const YAML::Node primary = load(primary_);
        // `override` entries of the primary's list select options for the whole tree, below the command line's
        if (primary["defaults"]) {
            for (const Entry& e : parse_defaults(primary, primary_, "")) {
                if (e.override_ && selected_.count(e.group) == 0) {
                    selected_[e.group] = e.option;
                }
            }
        }
        YAML::Node out(YAML::NodeType::Map);
        expand(primary, primary_, "", "", out, /*top=*/true);
        for (const auto& [group, option] : added_) {
            if (seen_.count(group) == 0) {
                Entry e;
                e.group = group;
                e.option = option;
                include(e, primary_, out);
            }
        }
        Composed result;
        for (const auto& [key, value] : values_) {
            apply_value(out, key, value, result.unused);
        }
        result.config = resolve_interpolations(out, primary_.string());
        result.choices = choices_;
        return result;
    }

private:
    /// Sort one override into group selections and key assignments.
    void classify(const std::string& text) {
        std::string o = trim(text);
        if (starts_with(o, "~")) {
            const std::string key = o.substr(1, o.find('=') == std::string::npos ? std::string::npos : o.find('=') - 1);
            if (fs::is_directory(root_dir_ / key)) {
                removed_.insert(key);
            } else {
                values_.emplace_back(o, "");
            }
            return;
        }
        const auto eq = o.find('=');
        LOLA_CHECK_USAGE(eq != std::string::npos && eq > 0,
                         "override '{}' is not KEY=VALUE (reference config '{}': GROUP=OPTION or key.path=value)", o,
                         primary_.string());
        std::string key = o.substr(0, eq);
        const std::string value = o.substr(eq + 1);
        const bool plus = starts_with(key, "+") && !starts_with(key, "++");
        const std::string bare = key.substr(key.find_first_not_of('+'));
        if (fs::is_directory(root_dir_ / bare)) {
            LOLA_CHECK_USAGE(!value.empty() && value.find('/') == std::string::npos,
                             "override '{}': select one config of the group '{}' by name (options: {})", o, bare,
                             fmt::join(options(bare), ", "));
            (plus ? added_ : selected_)[bare] = value;
            return;
        }
        values_.emplace_back(key, value);
    }

    std::vector<std::string> options(const std::string& group) const {
        std::vector<std::string> names;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(root_dir_ / group, ec)) {
            if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") {
                names.push_back(e.path().stem().string());
            }
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    static YAML::Node load(const fs::path& file) {
        YAML::Node node = core::load_yaml_file(file);
        if (node.IsNull()) {
            return YAML::Node(YAML::NodeType::Map);
        }
        LOLA_CHECK(node.IsMap(), "'{}' is not a YAML mapping", file.string());
        return node;
    }

    /// The entries of `node`'s defaults list; `group` is the group of the file that holds it ("" for the primary).
    std::vector<Entry> parse_defaults(const YAML::Node& node, const fs::path& file, const std::string& group) const {
        const YAML::Node list = node["defaults"];
        LOLA_CHECK(list.IsSequence(), "'{}': `defaults` must be a list", file.string());
        std::vector<Entry> entries;
        for (const auto& item : list) {
            Entry e;
            if (item.IsScalar()) {
                const auto name = item.as<std::string>();
                if (name == "_self_") {
                    e.self = true;
                } else {
                    e.is_group = false;
                    const auto at = name.find('@');
                    e.group = relative(name.substr(0, at), group);
                    e.package = at == std::string::npos ? "" : name.substr(at + 1);
                }
                entries.push_back(e);
                continue;
            }
            LOLA_CHECK(item.IsMap() && item.size() == 1,
                       "'{}': a defaults entry is `_self_`, `NAME` or `GROUP: OPTION`, got '{}'", file.string(),
                       core::Config::dump(item));
            std::string key = trim(item.begin()->first.as<std::string>());
            for (const auto& [word, flag] : {std::pair<const char*, bool*>{"override ", &e.override_},
                                             std::pair<const char*, bool*>{"optional ", &e.optional}}) {
                if (starts_with(key, word)) {
                    *flag = true;
                    key = trim(key.substr(std::string(word).size()));
                }
            }
            const auto at = key.find('@');
            e.package = at == std::string::npos ? "" : key.substr(at + 1);
            e.group = relative(key.substr(0, at), group);
            const YAML::Node value = item.begin()->second;
            LOLA_CHECK(!value.IsSequence(),
                       "'{}': defaults entry '{}' selects a list of options, which lola does not compose (select one)",
                       file.string(), key);
            e.option = value.IsNull() ? "" : value.as<std::string>();
            entries.push_back(e);
        }
        return entries;
    }

    static std::string relative(const std::string& path, const std::string& group) {
        if (starts_with(path, "/")) {
            return path.substr(1);
        }
        return group.empty() ? path : group + "/" + path;
    }

    /// Expand `node` (read from `file`, in `group`, placed at `package`) into `out`: its defaults, then itself.
    void expand(const YAML::Node& node, const fs::path& file, const std::string& group, const std::string& package,
                YAML::Node& out, bool top) {
        YAML::Node own = YAML::Clone(node);
        std::vector<Entry> entries;
        if (node["defaults"]) {
            entries = parse_defaults(node, file, group);
            own.remove("defaults");
        }
        bool self_done = false;
        for (const Entry& e : entries) {
            if (e.self) {
                merge_into(out, under(package, own));
                self_done = true;
            } else if (!(top && e.override_)) {
                include(e, file, out);
            }
        }
        if (!self_done) {
            merge_into(out, under(package, own));
        }
    }

    /// Load the config an entry names and expand it.
    void include(const Entry& e, const fs::path& from, YAML::Node& out) {
        if (!e.is_group) {
            const fs::path file = root_dir_ / (e.group + ".yaml");
            LOLA_CHECK(fs::exists(file), "'{}': defaults entry '{}': no file '{}'", from.string(), e.group,
                       file.string());
            const std::string parent = fs::path(e.group).parent_path().string();
            expand(load(file), file, parent, package_of(file, parent, e.package), out, false);
            return;
        }
        seen_.insert(e.group);
        if (removed_.count(e.group) != 0) {
            return;
        }
        std::string option = e.option;
        if (const auto it = selected_.find(e.group); it != selected_.end()) {
            option = it->second;
        }
        if (option.empty()) {
            return; // null: a place-holder
        }
        // the group's folder is listed only for an error message
        LOLA_CHECK_USAGE(option != "???",
                         "'{}': the config group '{}' has no default: choose one with {}=OPTION (options: {})",
                         from.string(), e.group, e.group, fmt::join(options(e.group), ", "));
        const fs::path file = root_dir_ / e.group / (option + ".yaml");
        if (!fs::exists(file)) {
            if (e.optional) {
                return;
            }
            LOLA_THROW_USAGE("'{}': the config group '{}' has no option '{}' (no file '{}'; options: {})",
                             from.string(), e.group, option, file.string(), fmt::join(options(e.group), ", "));
        }
        choices_[e.group] = option;
        expand(load(file), file, e.group, package_of(file, e.group, e.package), out, false);
    }

    static std::string package_of(const fs::path& file, const std::string& group, const std::string& at) {
        const std::string header = package_header(file);
        const std::string p = at.empty() ? header : at;
        if (p == "_global_") {
            return "";
        }
        if (p.empty() || p == "_group_") {
            return dotted(group);
        }
        return starts_with(p, "_global_.") ? p.substr(9) : p;
    }

    /// Apply a key override (`key=value`, `+key=value`, `++key=value`, `~key`) to the composed config.
    void apply_value(YAML::Node& out, const std::string& key, const std::string& value,
                     std::vector<std::string>& unused) const {
        const std::string text = value.empty() && starts_with(key, "~") ? key : key + "=" + value;
        if (starts_with(key, "~")) {
            const auto parts = split(key.substr(1), '.');
            YAML::Node parent = find(out, std::vector<std::string>(parts.begin(), parts.end() - 1));
            LOLA_CHECK_USAGE(parent.IsMap() && parent[parts.back()],
                             "override '{}': the reference config '{}' has no key '{}'", text, primary_.string(),
                             key.substr(1));
            parent.remove(parts.back());
            return;
        }
        const bool force = starts_with(key, "++"), add = !force && starts_with(key, "+");
        const std::string bare = key.substr(key.find_first_not_of('+'));
        const auto parts = split(bare, '.');
        const bool exists = static_cast<bool>(find(out, parts));
        if (!exists && !add && !force) {
            unused.push_back(text);
            return;
        }
        LOLA_CHECK_USAGE(!(add && exists), "override '{}': '{}' is already in the reference config '{}' (drop the +)",
                         text, bare, primary_.string());
        YAML::Node parsed;
        try {
            parsed = YAML::Load(value);
        } catch (const YAML::Exception& e) {
            LOLA_THROW_USAGE("override '{}': the value is not YAML ({})", text, e.msg);
        }
        YAML::Node cursor;
        cursor.reset(out);
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
            if (!cursor[parts[i]] || !cursor[parts[i]].IsMap()) {
                cursor[parts[i]] = YAML::Node(YAML::NodeType::Map);
            }
            cursor.reset(cursor[parts[i]]);
        }
        cursor[parts.back()] = parsed;
    }

    fs::path primary_, root_dir_;
    std::map<std::string, std::string> selected_, added_, choices_;
    std::set<std::string> removed_, seen_;
    std::vector<std::pair<std::string, std::string>> values_;
};

// ---- interpolation --------------------------------------------------------------------------------------------------

bool is_null_text(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

/// How a plain YAML scalar reads in OmegaConf (YAML 1.1 with its float resolver): the str() Python writes for it.
std::string python_str(const YAML::Node& node) {
    const std::string& s = node.Scalar();
    if (node.Tag() == "!") { // quoted: a string
        return s;
    }
    static const std::regex kInt(R"([-+]?(0|[1-9][0-9_]*))");
    static const std::regex kFloat(R"([-+]?(([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+))");
    if (is_null_text(s)) {
        return "None";
    }
    if (s == "true" || s == "True" || s == "TRUE") {
        return "True";
    }
    if (s == "false" || s == "False" || s == "FALSE") {
        return "False";
    }
    if (std::regex_match(s, kInt)) {
        std::string digits;
        std::copy_if(s.begin(), s.end(), std::back_inserter(digits), [](char c) { return c != '_' && c != '+'; });
        return digits;
    }
    if (std::regex_match(s, kFloat) && s != "." && s != "+." && s != "-.") {
        std::string digits;
        std::copy_if(s.begin(), s.end(), std::back_inserter(digits), [](char c) { return c != '_'; });
        return python_float(std::stod(digits));
    }
    return s;
}

class Resolver {
public:
    Resolver(const YAML::Node& root, std::string origin) : root_(root), origin_(std::move(origin)) {}

    void resolve_tree(YAML::Node node, const std::vector<std::string>& path) {
        if (node.IsMap()) {
            for (auto kv : node) {
                auto child_path = path;
                child_path.push_back(kv.first.as<std::string>());
                if (kv.second.IsScalar()) {
                    node[child_path.back()] = value_of(child_path, 0);
                } else {
                    resolve_tree(kv.second, child_path);
                }
            }
        } else if (node.IsSequence()) {
            for (size_t i = 0; i < node.size(); ++i) {
                auto child_path = path;
                child_path.push_back(std::to_string(i));
                if (node[i].IsScalar()) {
                    node[i] = value_of(child_path, 0);
                } else {
                    resolve_tree(node[i], child_path);
                }
            }
        }
    }

private:
    /// The resolved value of the scalar at `path`.
    YAML::Node value_of(const std::vector<std::string>& path, int depth) {
        const std::string key = fmt::format("{}", fmt::join(path, "."));
        LOLA_CHECK(depth < 64, "'{}': the interpolation of '{}' loops", origin_, key);
        const YAML::Node node = find(root_, path);
        if (!node.IsScalar() || node.Scalar().find("${") == std::string::npos) {
            return YAML::Clone(node);
        }
        const std::string& text = node.Scalar();
        // the parent of the key: where `${.x}` looks
        const std::vector<std::string> parent(path.begin(), path.end() - 1);
        std::string out;
        size_t i = 0;
        while (i < text.size()) {
            if (text.compare(i, 3, "\\${") == 0) {
                out += "${";
                i += 3;
                continue;
            }
            if (text.compare(i, 2, "${") != 0) {
                out += text[i++];
                continue;
            }
            const size_t close = text.find('}', i + 2);
            LOLA_CHECK(close != std::string::npos, "'{}': '{}' = '{}' has an unclosed ${{", origin_, key, text);
            const std::string expr = trim(text.substr(i + 2, close - i - 2));
            const YAML::Node value = evaluate(expr, parent, key, depth);
            if (i == 0 && close + 1 == text.size()) {
                return value; // the whole value: keep its type
            }
            LOLA_CHECK(value.IsScalar() || value.IsNull(),
                       "'{}': '{}' puts '${{{}}}', which is not a single value, inside a string", origin_, key, expr);
            out += value.IsNull() ? "None" : python_str(value);
            i = close + 1;
        }
        YAML::Node result(out);
        result.SetTag("!");
        return result;
    }

    YAML::Node evaluate(const std::string& expr, const std::vector<std::string>& parent, const std::string& key,
                        int depth) {
        if (starts_with(expr, "oc.env:")) {
            const std::string args = expr.substr(7);
            const auto comma = args.find(',');
            const std::string name = trim(args.substr(0, comma));
            if (const char* v = std::getenv(name.c_str())) {
                return YAML::Node(std::string(v));
            }
            LOLA_CHECK(comma != std::string::npos,
                       "'{}': '{}' reads the environment variable {}, which is not set (set it, or give a default: "
                       "${{oc.env:{},DEFAULT}})",
                       origin_, key, name, name);
            return YAML::Load(trim(args.substr(comma + 1)));
        }
        LOLA_CHECK(expr.find(':') == std::string::npos,
                   "'{}': '{}' uses the resolver '${{{}}}', which lola does not implement (only oc.env)", origin_, key,
                   expr);
        std::vector<std::string> target;
        std::string rest = expr;
        if (starts_with(rest, ".")) {
            target = parent;
            size_t dots = 0;
            while (dots < rest.size() && rest[dots] == '.') {
                ++dots;
            }
            for (size_t up = 1; up < dots; ++up) {
                LOLA_CHECK(!target.empty(), "'{}': '{}': '${{{}}}' goes above the config's root", origin_, key, expr);
                target.pop_back();
            }
            rest = rest.substr(dots);
        }
        for (const auto& part : split(rest, '.')) {
            target.push_back(part);
        }
        const YAML::Node found = find(root_, target);
        LOLA_CHECK(found, "'{}': '{}' refers to '${{{}}}', which the config does not have", origin_, key, expr);
        if (found.IsScalar()) {
            return value_of(target, depth + 1);
        }
        YAML::Node copy = YAML::Clone(found);
        Resolver(root_, origin_).resolve_tree(copy, target);
        return copy;
    }

    YAML::Node root_;
    std::string origin_;
};

} // namespace

std::string python_float(double value) {
    if (std::isnan(value)) {
        return "nan";
    }
    if (std::isinf(value)) {
        return value > 0 ? "inf" : "-inf";
    }
    std::string s = fmt::format("{}", value);
    if (s.find_first_of(".eE") == std::string::npos) {
        s += ".0";
    }
    return s;
}

YAML::Node resolve_interpolations(const YAML::Node& root, const std::string& origin) {
    YAML::Node out = YAML::Clone(root);
    Resolver resolver(YAML::Clone(root), origin);
    resolver.resolve_tree(out, {});
    return out;
}

bool is_reference_config(const fs::path& path) {
    if (!fs::is_regular_file(path)) {
        return false;
    }
    YAML::Node node;
    try {
        node = YAML::LoadFile(path.string());
    } catch (const YAML::Exception&) {
        return false; // the lola reader reports the syntax error
    }
    return node.IsMap() && (node["defaults"] || node["server"]);
}

Composed compose_hydra(const fs::path& primary, const std::vector<std::string>& overrides) {
    LOLA_CHECK_USAGE(fs::is_regular_file(primary), "reference config '{}' does not exist", primary.string());
    return Composer(primary, overrides).run();
}

} // namespace lola::interop
