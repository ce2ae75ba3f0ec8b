// Whole trajectories of Well files, for evaluation and emulation (docs/method.md 8): states in physical units with the
// trajectory's label (constant scalars as stored, then boundary codes: data::make_label's order without log_scalars).
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lola/data/dataset.h"

namespace lola::data {

/// One trajectory of a split, in physical units.
struct Trajectory {
    torch::Tensor states; ///< (C, T, spatial...) float32
    torch::Tensor label;  ///< (label_dim) float32, physical (no log applied)
    std::filesystem::path file;
    int64_t trajectory = 0; ///< index within its file
    std::vector<double> time;
};

/// The trajectories of Well files, in file order.
class TrajectorySet {
public:
    /// The trajectories of one split of a dataset preset.
    TrajectorySet(const DatasetOptions& dataset, const std::string& split);
    /// The trajectories of these Well files.
    explicit TrajectorySet(std::vector<std::filesystem::path> files);
    int64_t size() const { return static_cast<int64_t>(where_.size()); }
    Trajectory get(int64_t index) const;
    const io::WellSchema& schema(int64_t index) const;

private:
    std::unique_ptr<WindowDataset> ds_;
    std::vector<std::array<int64_t, 2>> where_; ///< (file, trajectory)
    std::vector<int64_t> first_index_;          ///< dataset index of (trajectory, t = 0)
};

} // namespace lola::data
