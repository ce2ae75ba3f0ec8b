#include "lola/core/python_random.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "lola/core/error.h"

namespace lola::core {

// ---------------------------------------------------------------------------------------------------------------------
// SHA-512 through OpenSSL's libcrypto (EVP one-shot digest)

std::array<uint8_t, 64> sha512(const std::string& data) {
    std::array<uint8_t, 64> out{};
    unsigned int size = 0;
    const int ok = EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha512(), nullptr);
    LOLA_CHECK(ok == 1 && size == out.size(), "SHA-512 failed in OpenSSL's EVP_Digest");
    return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// MT19937 as seeded by CPython (Modules/_randommodule.c semantics, from the published algorithm of Matsumoto and
// Nishimura's mt19937ar.c: init_genrand, init_by_array, genrand_int32).

PythonRandom::PythonRandom(int64_t seed) { this->seed(seed); }

PythonRandom::PythonRandom(const std::string& text) { seed(text); }

void PythonRandom::init_by_array(const std::vector<uint32_t>& key) {
    constexpr int n = 624;
    state_[0] = 19650218U;
    for (int i = 1; i < n; ++i) {
        state_[i] = 1812433253U * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<uint32_t>(i);
    }
    const int key_len = static_cast<int>(key.size());
    int i = 1, j = 0;
    for (int k = std::max(n, key_len); k > 0; --k) {
        state_[i] =
            (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1664525U)) + key[j] + static_cast<uint32_t>(j);
        ++i, ++j;
        if (i >= n) {
            state_[0] = state_[n - 1];
            i = 1;
        }
        if (j >= key_len) {
            j = 0;
        }
    }
    for (int k = n - 1; k > 0; --k) {
        state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1566083941U)) - static_cast<uint32_t>(i);
        ++i;
        if (i >= n) {
            state_[0] = state_[n - 1];
            i = 1;
        }
    }
    state_[0] = 0x80000000U;
    index_ = n;
}

void PythonRandom::seed(int64_t seed) {
    // abs() as an unsigned magnitude (also for INT64_MIN), split into little-endian 32-bit words; at least one word.
    const uint64_t mag = seed < 0 ? ~static_cast<uint64_t>(seed) + 1 : static_cast<uint64_t>(seed);
    std::vector<uint32_t> key{static_cast<uint32_t>(mag)};
    if ((mag >> 32) != 0) {
        key.push_back(static_cast<uint32_t>(mag >> 32));
    }
    init_by_array(key);
}

void PythonRandom::seed(const std::string& text) {
    // int.from_bytes(text + sha512(text), "big"): the little-endian bytes of that integer are the reversed string.
    const auto digest = sha512(text);
    std::vector<uint8_t> big(text.begin(), text.end());
    big.insert(big.end(), digest.begin(), digest.end());
    std::vector<uint8_t> little(big.rbegin(), big.rend());
    while (!little.empty() && little.back() == 0) {
        little.pop_back(); // leading zero bytes do not count towards the integer's size
    }
    std::vector<uint32_t> key((little.size() + 3) / 4, 0U);
    for (size_t b = 0; b < little.size(); ++b) {
        key[b / 4] |= static_cast<uint32_t>(little[b]) << (8 * (b % 4));
    }
    if (key.empty()) {
        key.push_back(0U);
    }
    init_by_array(key);
}

uint32_t PythonRandom::next_u32() {
    constexpr int n = 624, m = 397;
    constexpr uint32_t upper = 0x80000000U, lower = 0x7fffffffU, matrix_a = 0x9908b0dfU;
    if (index_ >= n) {
        for (int k = 0; k < n; ++k) {
            const uint32_t y = (state_[k] & upper) | (state_[(k + 1) % n] & lower);
            state_[k] = state_[(k + m) % n] ^ (y >> 1) ^ ((y & 1U) ? matrix_a : 0U);
        }
        index_ = 0;
    }
    uint32_t y = state_[index_++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

double PythonRandom::random() {
    const uint32_t a = next_u32() >> 5;
    const uint32_t b = next_u32() >> 6;
    return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) * (1.0 / 9007199254740992.0);
}

uint32_t PythonRandom::getrandbits(int k) {
    LOLA_CHECK(k >= 1 && k <= 32, "PythonRandom::getrandbits: k = {} must be in [1, 32]", k);
    return next_u32() >> (32 - k);
}

} // namespace lola::core
