// Parsing of small values written as text (command-line specs, text attributes of files).
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>

namespace lola::core {

/// The base-10 integer that the whole of `text` spells (leading white space allowed, as std::stoll does), or nullopt
/// for an empty string, trailing characters, or a value out of the int64 range.
inline std::optional<int64_t> parse_int(const std::string& text) {
    size_t used = 0;
    int64_t v = 0;
    try {
        v = std::stoll(text, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (used == 0 || used != text.size()) {
        return std::nullopt;
    }
    return v;
}

} // namespace lola::core
