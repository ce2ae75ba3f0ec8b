#include "lola/emulation/protocol.h"

#include <algorithm>
#include <cstdlib>

#include "lola/core/error.h"

namespace lola::emulation {

uint32_t run_seed(int64_t seed, int64_t index, int64_t start) {
    return PythonRandom(fmt::format("{},{},{}", seed, index, start)).getrandbits(32);
}

// ---------------------------------------------------------------------------------------------------------------------
// Protocol

std::vector<int64_t> eval_trajectory_indices(int64_t n_test, int64_t count, int64_t seed) {
    LOLA_CHECK(n_test >= 1, "eval_trajectory_indices: n_test = {} must be >= 1 (the number of test trajectories)",
               n_test);
    LOLA_CHECK(count >= 0, "eval_trajectory_indices: count = {} must be >= 0", count);
    PythonRandom rng(seed);
    // The set of `count` draws; once every index is in it, further draws cannot change it (so a huge count costs no
    // more than n_test draws' worth of memory, and stops early).
    std::vector<bool> drawn(static_cast<size_t>(n_test), false);
    int64_t n_drawn = 0;
    for (int64_t i = 0; i < count && n_drawn < n_test; ++i) {
        const auto k = static_cast<size_t>(rng.random() * static_cast<double>(n_test)); // int(u * N) truncates
        n_drawn += drawn[k] ? 0 : 1;
        drawn[k] = true;
    }
    std::vector<int64_t> out;
    for (int64_t k = 0; k < n_test; ++k) {
        if (drawn[static_cast<size_t>(k)]) {
            out.push_back(k);
        }
    }
    return out;
}

std::vector<int64_t> select_frame_indices(int64_t n_frames, int64_t start, int64_t context, int64_t stride) {
    LOLA_CHECK(stride >= 1, "select_frames: stride = {} must be >= 1 (the time stride Δ)", stride);
    LOLA_CHECK(context >= 1, "select_frames: context = {} must be >= 1", context);
    LOLA_CHECK(start >= 0 && start < n_frames,
               "select_frames: start = {} must be a frame of the trajectory, 0 <= start < {}", start, n_frames);
    std::vector<int64_t> out;
    for (int64_t t = std::max<int64_t>(0, start - (context - 1) * stride); t < n_frames; t += stride) {
        out.push_back(t);
    }
    return out;
}

std::vector<int64_t> lead_times(int64_t n_selected, int64_t context, int64_t stride) {
    LOLA_CHECK(n_selected >= 0 && context >= 1 && stride >= 1,
               "lead_times: needs n_selected >= 0, context >= 1, stride >= 1 (got {}, {}, {})", n_selected, context,
               stride);
    std::vector<int64_t> out(static_cast<size_t>(n_selected));
    for (int64_t t = 0; t < n_selected; ++t) {
        out[static_cast<size_t>(t)] = (t - context + 1) * stride;
    }
    return out;
}

torch::Tensor select_frames(const torch::Tensor& trajectory, int64_t start, int64_t context, int64_t stride,
                            int64_t dim) {
    LOLA_CHECK(trajectory.defined() && trajectory.dim() >= 1,
               "select_frames: needs a trajectory tensor with a time "
               "axis");
    LOLA_CHECK(dim >= 0 && dim < trajectory.dim(), "select_frames: dim = {} is not an axis of a {}-D trajectory", dim,
               trajectory.dim());
    const auto idx = select_frame_indices(trajectory.size(dim), start, context, stride);
    return trajectory.slice(dim, idx.front(), trajectory.size(dim), stride);
}

} // namespace lola::emulation
