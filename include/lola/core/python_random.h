// CPython's `random` module streams, bit for bit: the reference draws its evaluation trajectories (docs/method.md 8)
// and PSGD's preconditioner-update decisions (docs/method.md 9.2) from them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lola::core {

/// CPython's `random.Random`: MT19937 seeded through init_by_array exactly as random.seed(int) and
/// random.seed(str) (version 2: the string's UTF-8 bytes followed by their SHA-512 digest, read as a big-endian
/// integer), with random() = (a >> 5, b >> 6) -> (a · 2^26 + b) / 2^53 and getrandbits(k <= 32) = draw >> (32 - k).
class PythonRandom {
public:
    /// random.seed(seed) for an integer (the absolute value is used, as Python does).
    explicit PythonRandom(int64_t seed = 0);
    /// random.seed(text) for a str (version 2 seeding).
    explicit PythonRandom(const std::string& text);

    /// random.seed(seed).
    void seed(int64_t seed);
    /// random.seed(text).
    void seed(const std::string& text);
    /// The next raw 32-bit MT19937 output.
    uint32_t next_u32();
    /// random.random(): a double in [0, 1) with 53 random bits.
    double random();
    /// random.getrandbits(k) for 1 <= k <= 32.
    uint32_t getrandbits(int k);

private:
    void init_by_array(const std::vector<uint32_t>& key);
    std::array<uint32_t, 624> state_{};
    int index_ = 624;
};

/// SHA-512 of `data` (FIPS 180-4) from OpenSSL's libcrypto, 64 bytes; used by PythonRandom's string seeding.
std::array<uint8_t, 64> sha512(const std::string& data);

} // namespace lola::core
