// The config adapter layer (docs/configuration.md), part of core. Every options struct describes its keys once, in a YAML-free
// template next to its fields:
//
//     template <class Self, class Visitor>
//     static void describe(Self& o, Visitor& v) {
//         v("hid_channels", o.hid_channels, "ViT token width D");
//         v.group("mask", o.mask, diffusion::MaskOptions::Describe{}, "random context masks of training");
//     }
//
// and this layer turns that one description into the group's defaults, its reading (unknown keys named with the
// closest valid one, absent keys keep their defaults, wrong types and non-finite numbers named), its writing (floats
// as the shortest text that reads back: 0.9, not 0.90000000000000002) and its documented key list (`lola keys`).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lola/core/config.h"
#include "lola/core/error.h"

namespace lola::core {

/// The shortest YAML text of a double that reads back to it, always with a '.' (1.0, 0.9, 1.0e-05, 1000.0), so
/// that YAML 1.1 readers (PyYAML) read a float too.
std::string float_text(double value);

YAML::Node encode(double value);
YAML::Node encode(const std::vector<double>& values);  ///< flow style: [0.9, 0.99]
YAML::Node encode(const std::vector<int64_t>& values); ///< flow style: [1, 2, 3]
inline YAML::Node encode(const std::string& value) { return YAML::Node(value); }
inline YAML::Node encode(const std::vector<std::string>& values) { return YAML::Node(values); }
inline YAML::Node encode(bool value) { return YAML::Node(value); }
inline YAML::Node encode(int64_t value) { return YAML::Node(value); }

/// Read a scalar or list into `value`; a wrong type is a UsageError naming `key`, non-finite numbers too.
void decode(const YAML::Node& node, const std::string& key, double& value);
void decode(const YAML::Node& node, const std::string& key, std::vector<double>& value);
void decode(const YAML::Node& node, const std::string& key, std::vector<int64_t>& value);
void decode(const YAML::Node& node, const std::string& key, std::vector<std::string>& value);
void decode(const YAML::Node& node, const std::string& key, std::string& value);
void decode(const YAML::Node& node, const std::string& key, bool& value);
void decode(const YAML::Node& node, const std::string& key, int64_t& value);

/// Refuse the keys of the mapping `node` (at `key`) that are not in `valid`, naming the closest valid one.
void check_keys(const YAML::Node& node, const std::string& key, const std::vector<std::string>& valid);

/// One documented key of a group.
struct KeyDoc {
    std::string key;   ///< dotted below the group, e.g. mask.rho
    std::string value; ///< the default, as YAML text
    std::string doc;
};

/// The default describer: the struct's static `describe`.
struct ByMember {
    template <class Self, class Visitor>
    void operator()(Self& o, Visitor& v) const {
        std::decay_t<Self>::describe(o, v);
    }
};

namespace detail {

/// Whether T has `resolve(key)`: what a group fills from its other keys before it is validated.
template <class T, class = void>
struct HasResolve : std::false_type {};
template <class T>
struct HasResolve<T, std::void_t<decltype(std::declval<T&>().resolve(std::string()))>> : std::true_type {};

template <class T>
void finish(T& o, const std::string& key) {
    if constexpr (HasResolve<T>::value) {
        o.resolve(key);
    }
    o.validate(key);
}

class Writer {
public:
    template <class V>
    void operator()(const char* key, const V& value, const char* /*doc*/) {
        node_[key] = encode(value);
    }
    template <class S, class D>
    void group(const char* key, const S& sub, D describe, const char* /*doc*/) {
        Writer w;
        describe(sub, w);
        node_[key] = w.node_;
    }
    YAML::Node node_{YAML::NodeType::Map};
};

class Names {
public:
    template <class V>
    void operator()(const char* key, const V& /*value*/, const char* /*doc*/) {
        names_.emplace_back(key);
    }
    template <class S, class D>
    void group(const char* key, const S& /*sub*/, D /*describe*/, const char* /*doc*/) {
        names_.emplace_back(key);
    }
    std::vector<std::string> names_;
};

class Reader {
public:
    Reader(const YAML::Node& node, std::string key) : node_(node), key_(std::move(key)) {}

    template <class V>
    void operator()(const char* name, V& value, const char* /*doc*/) {
        const YAML::Node v = node_[name];
        if (v && !v.IsNull()) {
            decode(v, key_ + "." + name, value);
        }
    }
    template <class S, class D>
    void group(const char* name, S& sub, D describe, const char* /*doc*/) {
        const YAML::Node v = node_[name];
        if (!v || v.IsNull()) {
            return;
        }
        read_into(v, key_ + "." + name, sub, describe);
    }

    template <class S, class D>
    static void read_into(const YAML::Node& node, const std::string& key, S& o, D describe) {
        LOLA_CHECK_USAGE(node.IsMap(), "config key '{}' must be a mapping of options, got '{}'", key,
                         Config::dump(node));
        Names names;
        describe(o, names);
        check_keys(node, key, names.names_);
        Reader r(node, key);
        describe(o, r);
    }

private:
    YAML::Node node_;
    std::string key_;
};

class Lister {
public:
    explicit Lister(std::string prefix = "") : prefix_(std::move(prefix)) {}
    template <class V>
    void operator()(const char* key, const V& value, const char* doc) {
        keys_.push_back({prefix_ + key, Config::dump(encode(value)), doc});
    }
    template <class S, class D>
    void group(const char* key, const S& sub, D describe, const char* /*doc*/) {
        Lister inner(prefix_ + key + ".");
        describe(sub, inner);
        keys_.insert(keys_.end(), inner.keys_.begin(), inner.keys_.end());
    }
    std::string prefix_;
    std::vector<KeyDoc> keys_;
};

} // namespace detail

/// The YAML mapping of `o`: every described key, in description order.
template <class T, class D = ByMember>
YAML::Node options_to_yaml(const T& o, D describe = {}) {
    detail::Writer w;
    describe(o, w);
    return w.node_;
}

/// The group's defaults (the schema of the group): to_yaml of a default-constructed T.
template <class T, class D = ByMember>
YAML::Node options_defaults(D describe = {}) {
    return options_to_yaml(T{}, describe);
}

/// Read the mapping `node` (at `key`) into `o`: the keys `describe` visits, absent and null ones keeping o's values;
/// unknown keys are a UsageError as in options_from_yaml. For a struct that spans several groups.
template <class T, class D = ByMember>
void options_read_into(T& o, const YAML::Node& node, const std::string& key, D describe = {}) {
    if (node && !node.IsNull()) {
        detail::Reader::read_into(node, key, o, describe);
    }
}

/// Read the mapping at `key` over the defaults of T: unknown keys are a UsageError naming `key`.<name> and the
/// closest valid key, absent and null keys keep their defaults. Not validated (see read_options()).
template <class T, class D = ByMember>
T options_from_yaml(const YAML::Node& node, const std::string& key, D describe = {}) {
    T o;
    options_read_into(o, node, key, describe);
    return o;
}

/// The documented keys of T, nested groups flattened (mask.rho), with their defaults.
template <class T, class D = ByMember>
std::vector<KeyDoc> options_keys(D describe = {}) {
    detail::Lister l;
    const T o{};
    describe(o, l);
    return l.keys_;
}

/// Read the mapping `node` (options_from_yaml, then the struct's `resolve(key)` if it has one and `validate(key)`).
template <class T, class D = ByMember>
T read_options(const YAML::Node& node, const std::string& key, D describe = {}) {
    T o = options_from_yaml<T>(node, key, describe);
    detail::finish(o, key);
    return o;
}

/// Read the group `key` of a composed config, as read_options(node, key).
template <class T, class D = ByMember>
T read_options(const Config& cfg, const std::string& key, D describe = {}) {
    return read_options<T>(cfg.at(key), key, describe);
}

} // namespace lola::core
