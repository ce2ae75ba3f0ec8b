// Dropout whose mask is a hash of (seed, element index) instead of a stream of random numbers (docs/benchmarks.md,
// "Dropout"). The paper's networks drop 5% of the FFN activations in every block (docs/method.md 3.2, 4.5); LibTorch's
// CPU dropout draws that mask with bernoulli_ from one Mersenne-Twister stream, serially, then multiplies twice. Here
// one 64-bit seed per call is drawn from the default generator (so that seeding, checkpoints and resume behave as
// with any other random draw) and every element keeps or drops by a counter-based hash of its index: one fused,
// parallel pass forward, the same mask recomputed in the backward pass (no mask is stored), and the result does not
// depend on the number of threads. Elsewhere than on the CPU, or for dtypes other than float32/float64, it is
// at::dropout.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace lola::nn {

/// x * keep / (1 - p) in training (keep = 1 with probability 1 - p, independently per element), x otherwise.
/// 0 <= p < 1.
torch::Tensor dropout(const torch::Tensor& x, double p, bool training);

/// The keep decision of element `index` under `seed` for the drop probability whose threshold is `threshold`
/// (= round(p * 2^32), see dropout_threshold): kept when the 32-bit hash of (seed, index) is >= threshold.
/// Exposed for tests.
bool dropout_keeps(uint64_t seed, uint64_t index, uint32_t threshold);

/// round(p * 2^32) clamped to [0, 2^32 - 1]: the hash threshold of drop probability p.
uint32_t dropout_threshold(double p);

} // namespace lola::nn
