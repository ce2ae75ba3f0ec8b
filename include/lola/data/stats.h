// Normalisation statistics the way the reference's get_stats does it (docs/method.md 2.3): random single states of the
// train split, transformed (not standardised), per-state per-channel summaries aggregated over states.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lola/data/transform.h"

namespace lola::data {

struct ChannelStats {
    std::vector<std::string> channels;
    std::vector<double> min, median, max, mean, std;
    int64_t n_states = 0;
};

/// Draw `n_states` single states uniformly (with a portable seeded RNG) from `files`, apply `transforms` (one per
/// channel), and aggregate: min of mins, median of medians, max of maxes, mean of means, and
/// std = sqrt(mean of mean-squares - mean^2).
ChannelStats compute_channel_stats(const std::vector<std::filesystem::path>& files,
                                   const std::vector<Transform>& transforms, int64_t n_states, uint64_t seed);

/// A `stats:` fragment for a dataset preset (means and stds), with the other summaries as comments.
std::string channel_stats_yaml(const ChannelStats& stats);

} // namespace lola::data
