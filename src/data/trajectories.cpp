#include "lola/data/trajectories.h"

#include "lola/core/error.h"
#include "lola/io/well.h"

namespace lola::data {

namespace fs = std::filesystem;

TrajectorySet::TrajectorySet(const DatasetOptions& dataset, const std::string& split)
    : TrajectorySet(preset_split_files(dataset, split)) {}

TrajectorySet::TrajectorySet(std::vector<fs::path> files) {
    ds_ = std::make_unique<WindowDataset>(std::move(files), 1, 1);
    int64_t offset = 0;
    for (size_t f = 0; f < ds_->files().size(); ++f) {
        const io::WellSchema& s = ds_->schema(static_cast<int64_t>(f));
        for (int64_t t = 0; t < s.n_trajectories; ++t) {
            where_.push_back({static_cast<int64_t>(f), t});
            first_index_.push_back(offset + t * s.n_steps());
        }
        offset += s.n_trajectories * s.n_steps();
    }
}

const io::WellSchema& TrajectorySet::schema(int64_t index) const {
    LOLA_CHECK(index >= 0 && index < size(), "trajectory {} out of range [0, {})", index, size());
    return ds_->schema(where_[static_cast<size_t>(index)][0]);
}

Trajectory TrajectorySet::get(int64_t index) const {
    LOLA_CHECK(index >= 0 && index < size(), "trajectory {} out of range [0, {})", index, size());
    const auto [file, traj] = where_[static_cast<size_t>(index)];
    std::vector<std::unique_ptr<io::WellReader>> readers;
    const Sample first = ds_->get(first_index_[static_cast<size_t>(index)], readers);
    const io::WellSchema& s = ds_->schema(file);
    std::vector<int64_t> shape = ds_->sample_shape(); // (C, 1, spatial...)
    shape[1] = s.n_steps();
    Trajectory out;
    out.states = torch::empty(shape, torch::kFloat32);
    readers[static_cast<size_t>(file)]->read_window(traj, 0, s.n_steps(), 1, out.states.data_ptr<float>());
    out.label = make_label(first);
    out.file = ds_->files()[static_cast<size_t>(file)];
    out.trajectory = traj;
    out.time = s.time;
    return out;
}

} // namespace lola::data
