#include "lola/core/options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

namespace lola::core {

namespace {

template <class T>
void decode_as(const YAML::Node& node, const std::string& key, T& value, const char* what) {
    try {
        value = node.as<T>();
    } catch (const YAML::Exception&) {
        LOLA_THROW_USAGE("config key '{}' has value '{}', which is not {}", key, Config::dump(node), what);
    }
}

void check_finite(const std::string& key, double value) {
    LOLA_CHECK_USAGE(std::isfinite(value), "config key '{}' = {} must be a finite number", key, value);
}

template <class T>
YAML::Node flow(const std::vector<T>& values) {
    YAML::Node n(YAML::NodeType::Sequence);
    for (const T& v : values) {
        n.push_back(encode(v));
    }
    n.SetStyle(YAML::EmitterStyle::Flow);
    return n;
}

} // namespace

std::string float_text(double value) {
    if (std::isnan(value)) {
        return ".nan";
    }
    if (std::isinf(value)) {
        return value > 0 ? ".inf" : "-.inf";
    }
    std::string s = fmt::format("{}", value); // the shortest text that reads back
    const auto e = s.find_first_of("eE");
    if (s.find('.') == std::string::npos) {
        s.insert(e == std::string::npos ? s.size() : e, ".0");
    }
    return s;
}

YAML::Node encode(double value) { return YAML::Node(float_text(value)); }

YAML::Node encode(const std::vector<double>& values) { return flow(values); }

YAML::Node encode(const std::vector<int64_t>& values) { return flow(values); }

void decode(const YAML::Node& node, const std::string& key, double& value) {
    decode_as(node, key, value, "a number");
    check_finite(key, value);
}

void decode(const YAML::Node& node, const std::string& key, std::vector<double>& value) {
    decode_as(node, key, value, "a list of numbers");
    for (size_t i = 0; i < value.size(); ++i) {
        check_finite(fmt::format("{}[{}]", key, i), value[i]);
    }
}

void decode(const YAML::Node& node, const std::string& key, std::vector<int64_t>& value) {
    decode_as(node, key, value, "a list of integers");
}

void decode(const YAML::Node& node, const std::string& key, std::vector<std::string>& value) {
    decode_as(node, key, value, "a list of names");
}

void decode(const YAML::Node& node, const std::string& key, std::string& value) {
    LOLA_CHECK_USAGE(node.IsScalar(), "config key '{}' has value '{}', which is not a single value", key,
                     Config::dump(node));
    value = node.Scalar();
}

void decode(const YAML::Node& node, const std::string& key, bool& value) {
    decode_as(node, key, value, "true or false");
}

void decode(const YAML::Node& node, const std::string& key, int64_t& value) {
    decode_as(node, key, value, "an integer");
}

void check_keys(const YAML::Node& node, const std::string& key, const std::vector<std::string>& valid) {
    for (const auto& kv : node) {
        const auto name = kv.first.as<std::string>();
        if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
            const std::string hint = closest_match(name, valid);
            LOLA_THROW_USAGE("unknown config key '{}.{}'{} (valid: {})", key, name,
                             hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint), fmt::join(valid, ", "));
        }
    }
}

} // namespace lola::core
