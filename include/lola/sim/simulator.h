// What every built-in simulator hands to the dataset writer.
#pragma once

#include <cstdint>
#include <functional>

namespace lola::sim {

/// Receives snapshot `index` at simulated `time`; `frame` is channel-first (C, N_1, ..., N_D), row-major, in the
/// dataset's official channel order, valid only during the call.
using FrameSink = std::function<void(int64_t index, double time, const double* frame)>;

} // namespace lola::sim
