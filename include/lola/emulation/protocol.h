// The evaluation protocol of docs/method.md 8: which test trajectories, which frames, and the per-run seeds,
// reproducing the reference's Python `random` streams bit for bit (MT19937 seeded like CPython's random.seed).
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "lola/core/python_random.h"

namespace lola::emulation {

// PythonRandom and sha512 live in lola/core/python_random.h (the PSGD optimizer draws from the same stream).
using core::PythonRandom;
using core::sha512;

/// The reference's per-run seed (docs/method.md 8 step 1): random.Random("<seed>,<index>,<start>").getrandbits(32).
/// Feed it to torch::manual_seed before a rollout.
uint32_t run_seed(int64_t seed, int64_t index, int64_t start);

/// The evaluated test trajectories (docs/method.md 8): random.seed(seed), then `count` draws int(random() · n_test);
/// duplicates merged, sorted ascending. n_test >= 1, count >= 0.
std::vector<int64_t> eval_trajectory_indices(int64_t n_test, int64_t count = 64, int64_t seed = 0);

/// Frame indices kept by the protocol (docs/method.md 8 step 2): max(0, start - (context - 1) · stride), then every
/// `stride`-th frame up to n_frames - 1. Requires 0 <= start < n_frames, context >= 1, stride >= 1.
std::vector<int64_t> select_frame_indices(int64_t n_frames, int64_t start, int64_t context, int64_t stride);

/// Lead time of every selected frame in raw snapshots, (t - context + 1) · stride for frame t = 0 .. n_selected - 1
/// (docs/method.md 1 "Lead times"): measured from the last context frame (lead 0), negative for earlier context frames.
/// The reference computes metrics for t >= context - 1 and drops the lead-time-0 rows, i.e. it reports lead > 0.
std::vector<int64_t> lead_times(int64_t n_selected, int64_t context, int64_t stride);

/// x[max(0, start - (context - 1) · stride) :: stride] along `dim` (0 for a (T, ...) trajectory; 1 for the (C, T, ...)
/// layout of data::Sample). A strided view when possible (no copy).
/// Euler (101 snapshots, stride 4, start 0, context 1): 26 frames (docs/method.md 13).
torch::Tensor select_frames(const torch::Tensor& trajectory, int64_t start, int64_t context, int64_t stride,
                            int64_t dim = 0);

} // namespace lola::emulation
