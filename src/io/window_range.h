// Private to lola::io: the range check of a strided window of states, shared by the Well and latent-cache readers.
#pragma once

#include <cstdint>

namespace lola::io::detail {

/// Whether the n >= 1 states t0, t0 + stride, ..., t0 + (n - 1) stride (stride >= 1, t0 >= 0) all lie in [0, n_states),
/// computed without overflow for any input.
inline bool window_fits(int64_t t0, int64_t n, int64_t stride, int64_t n_states) {
    int64_t last = 0; // t0 + (n - 1) * stride
    return n >= 1 && stride >= 1 && t0 >= 0 && !__builtin_mul_overflow(n - 1, stride, &last) &&
           !__builtin_add_overflow(last, t0, &last) && last < n_states;
}

} // namespace lola::io::detail
