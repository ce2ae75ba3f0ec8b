#include "lola/data/augment.h"

#include <algorithm>
#include <numeric>

#include "lola/core/error.h"
#include "lola/io/well_schema.h"

namespace lola::data {

Augmentation parse_augmentation(const std::string& name) {
    if (name == "random_axis_flip" || name == "flip") {
        return Augmentation::kAxisFlip;
    }
    if (name == "random_axis_permute" || name == "permute") {
        return Augmentation::kAxisPermute;
    }
    if (name == "random_axis_roll" || name == "roll") {
        return Augmentation::kAxisRoll;
    }
    LOLA_THROW_USAGE("unknown augmentation '{}' (valid: random_axis_flip, random_axis_permute, random_axis_roll)",
                     name);
}

namespace {

int spatial_dims(const Sample& s) { return static_cast<int>(s.state.dim()) - 2; }

uint64_t uniform_int(std::mt19937_64& rng, uint64_t n) { return rng() % n; } // portable across standard libraries

} // namespace

void flip_axis(Sample& sample, const std::vector<std::vector<int>>& channel_axes, int axis) {
    const int d = spatial_dims(sample);
    LOLA_CHECK(axis >= 0 && axis < d, "flip axis {} out of range for {} spatial dims", axis, d);
    LOLA_CHECK(static_cast<int64_t>(channel_axes.size()) == sample.state.size(0), "channel_axes mismatch");
    torch::Tensor x = sample.state.flip({axis + 2});
    std::vector<double> sign(channel_axes.size(), 1.0);
    bool any = false;
    for (size_t c = 0; c < channel_axes.size(); ++c) {
        const auto n = std::count(channel_axes[c].begin(), channel_axes[c].end(), axis);
        if (n % 2 == 1) {
            sign[c] = -1.0;
            any = true;
        }
    }
    if (any) {
        std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
        shape[0] = x.size(0);
        x = x * torch::tensor(sign, x.options()).view(shape);
    }
    sample.state = x.contiguous();
    std::swap(sample.bc[static_cast<size_t>(axis)][0], sample.bc[static_cast<size_t>(axis)][1]);
}

void permute_axes(Sample& sample, const std::vector<std::vector<int>>& channel_axes, const std::vector<int>& perm) {
    const int d = spatial_dims(sample);
    LOLA_CHECK(static_cast<int>(perm.size()) == d, "permutation of length {} for {} spatial dims", perm.size(), d);
    std::vector<int64_t> dims{0, 1};
    for (int k : perm) {
        dims.push_back(k + 2);
    }
    torch::Tensor x = sample.state.permute(dims);
    // Channel c with component indices a takes the old channel with indices perm[a] in the same field.
    std::vector<int64_t> source(channel_axes.size());
    for (size_t c = 0; c < channel_axes.size(); ++c) {
        const auto& a = channel_axes[c];
        int64_t flat = 0, flat_new = 0;
        for (int k : a) {
            flat = flat * d + k;
            flat_new = flat_new * d + perm[static_cast<size_t>(k)];
        }
        source[c] = static_cast<int64_t>(c) - flat + flat_new;
    }
    x = x.index_select(0, torch::tensor(source, torch::kInt64));
    sample.state = x.contiguous();
    std::vector<std::array<int, 2>> bc(sample.bc.size());
    for (size_t k = 0; k < perm.size(); ++k) {
        bc[k] = sample.bc[static_cast<size_t>(perm[k])];
    }
    sample.bc = bc;
}

void roll_axis(Sample& sample, int axis, int64_t shift) {
    const int d = spatial_dims(sample);
    LOLA_CHECK(axis >= 0 && axis < d, "roll axis {} out of range for {} spatial dims", axis, d);
    const auto& row = sample.bc[static_cast<size_t>(axis)];
    const int periodic = static_cast<int>(io::BcType::kPeriodic);
    LOLA_CHECK(row[0] == periodic && row[1] == periodic, "cannot roll axis {}: it is not periodic on both sides", axis);
    sample.state = sample.state.roll({shift}, {axis + 2}).contiguous();
}

void augment(Sample& sample, const std::vector<std::vector<int>>& channel_axes, const std::vector<Augmentation>& augs,
             std::mt19937_64& rng) {
    const int d = spatial_dims(sample);
    for (Augmentation a : augs) {
        switch (a) {
            case Augmentation::kAxisFlip:
                for (int k = 0; k < d; ++k) {
                    if (uniform_int(rng, 2) == 1) {
                        flip_axis(sample, channel_axes, k);
                    }
                }
                break;
            case Augmentation::kAxisPermute: {
                bool square = true;
                for (int k = 1; k < d; ++k) {
                    square = square && sample.state.size(k + 2) == sample.state.size(2);
                }
                if (!square) {
                    break;
                }
                std::vector<int> perm(static_cast<size_t>(d));
                std::iota(perm.begin(), perm.end(), 0);
                for (int i = d - 1; i > 0; --i) { // Fisher-Yates
                    std::swap(perm[static_cast<size_t>(i)], perm[uniform_int(rng, static_cast<uint64_t>(i) + 1)]);
                }
                permute_axes(sample, channel_axes, perm);
                break;
            }
            case Augmentation::kAxisRoll:
                for (int k = 0; k < d; ++k) {
                    const auto& row = sample.bc[static_cast<size_t>(k)];
                    const int periodic = static_cast<int>(io::BcType::kPeriodic);
                    if (row[0] == periodic && row[1] == periodic) {
                        roll_axis(
                            sample, k,
                            static_cast<int64_t>(uniform_int(rng, static_cast<uint64_t>(sample.state.size(k + 2)))));
                    }
                }
                break;
        }
    }
}

} // namespace lola::data
