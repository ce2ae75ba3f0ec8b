// Small, stable hashes: FNV-1a over bytes (digests of weights, states and texts that must agree between processes and
// runs) and splitmix64's mixing function (seeds derived from other numbers).
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace lola::core {

/// 64-bit FNV-1a, fed piece by piece.
class Fnv1a {
public:
    void add(const void* data, size_t size) {
        const auto* p = static_cast<const unsigned char*>(data);
        for (size_t i = 0; i < size; ++i) {
            h_ = (h_ ^ p[i]) * 1099511628211ULL;
        }
    }
    void add(const std::string& text) { add(text.data(), text.size()); }
    uint64_t value() const { return h_; }
    /// 16 hex digits
    std::string hex() const { return fmt::format("{:016x}", h_); }

private:
    uint64_t h_ = 1469598103934665603ULL;
};

/// splitmix64: x advanced by the golden-ratio increment, then mixed (a bijection of 64-bit integers).
inline uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27U)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31U);
}

} // namespace lola::core
