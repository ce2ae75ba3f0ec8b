// Augmentations with the_well 1.0.0 semantics (docs/method.md 2.4), applied consistently to every state of a sample,
// every field (with vector/tensor component sign flips and permutations) and the boundary codes.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lola/data/dataset.h"

namespace lola::data {

enum class Augmentation { kAxisFlip, kAxisPermute, kAxisRoll };

/// "random_axis_flip" | "random_axis_permute" | "random_axis_roll" (also "flip", "permute", "roll").
Augmentation parse_augmentation(const std::string& name);

/// Flip spatial axis `axis` of sample.state (C, n, spatial...): reverse the axis, negate every tensor component
/// that has an odd number of indices along it, swap the boundary codes of that axis.
void flip_axis(Sample& sample, const std::vector<std::vector<int>>& channel_axes, int axis);
/// Permute the spatial axes: new axis k is old axis perm[k]. Components and boundary rows follow.
void permute_axes(Sample& sample, const std::vector<std::vector<int>>& channel_axes, const std::vector<int>& perm);
/// Circular shift along `axis` by `shift` cells (only valid for periodic axes; checked).
void roll_axis(Sample& sample, int axis, int64_t shift);

/// Apply `augs` in order with random parameters from `rng`: flip each axis with p = 0.5, a uniform random
/// permutation (only when all spatial sizes are equal), and a uniform shift on each axis whose both sides are periodic.
void augment(Sample& sample, const std::vector<std::vector<int>>& channel_axes, const std::vector<Augmentation>& augs,
             std::mt19937_64& rng);

} // namespace lola::data
