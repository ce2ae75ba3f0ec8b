#include "lola/data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "lola/core/error.h"
#include "lola/data/augment.h"
#include "lola/io/well.h"
#include "lola/io/well_dataset.h"

namespace lola::data {

namespace fs = std::filesystem;

void DatasetOptions::resolve(const std::string& /*key*/) {
    const size_t c = fields.size();
    if (transform.empty()) {
        transform.assign(c, "none");
    }
    if (mean.empty() && std.empty()) {
        mean.assign(c, 0.0);
        std.assign(c, 1.0);
    }
}

void DatasetOptions::validate(const std::string& key) const {
    LOLA_CHECK_USAGE(!physics.empty(),
                     "{}.physics is empty: name the Well datasets to read (e.g. "
                     "dataset=euler_all, or {}.physics=[euler_multi_quadrants_openBC])",
                     key, key);
    const size_t c = fields.size();
    LOLA_CHECK_USAGE(c > 0, "{}.fields is empty: list the channel names (e.g. [density, momentum_x])", key);
    LOLA_CHECK_USAGE(transform.size() == c, "{}.transform has {} entries for {} fields", key, transform.size(), c);
    LOLA_CHECK_USAGE(mean.size() == c && std.size() == c,
                     "{}.stats.mean/std have {}/{} entries for {} fields (run 'lola stats' to compute them)", key,
                     mean.size(), std.size(), c);
    for (const auto& t : transform) {
        parse_transform(t);
    }
    for (const auto& a : augment) {
        parse_augmentation(a);
    }
    LOLA_CHECK_USAGE(spatial_dims >= 0 && label_dim >= 0, "{}.spatial_dims and {}.label_dim must be >= 0", key, key);
}

Preprocessor DatasetOptions::preprocessor() const {
    std::vector<Transform> t;
    for (const auto& t_name : transform) {
        t.push_back(parse_transform(t_name));
    }
    return Preprocessor(t, mean, std);
}

std::vector<fs::path> DatasetOptions::dataset_dirs() const {
    std::vector<fs::path> dirs;
    for (const auto& p : physics) {
        dirs.push_back(fs::path(root) / p);
    }
    return dirs;
}

std::vector<fs::path> preset_split_files(const DatasetOptions& opts, const std::string& split) {
    std::vector<fs::path> files;
    for (const auto& dir : opts.dataset_dirs()) {
        LOLA_CHECK(fs::is_directory(dir),
                   "dataset folder '{}' does not exist (dataset.root='{}', dataset.physics "
                   "names '{}'); generate it with 'lola simulate' or set dataset.root=<folder of the Well datasets>",
                   dir.string(), opts.root, dir.filename().string());
        auto f = io::split_files(dir, split);
        files.insert(files.end(), f.begin(), f.end());
    }
    for (const auto& f : files) {
        auto names = io::read_schema(f).channel_names();
        LOLA_CHECK(names == opts.fields, "'{}' has channels [{}] but the dataset preset '{}' expects [{}]", f.string(),
                   fmt::join(names, ", "), opts.name, fmt::join(opts.fields, ", "));
    }
    return files;
}

torch::Tensor make_label(const Sample& sample) {
    std::vector<float> v;
    for (double s : sample.scalars) {
        v.push_back(static_cast<float>(s));
    }
    for (const auto& row : sample.bc) {
        v.push_back(static_cast<float>(row[0]));
        v.push_back(static_cast<float>(row[1]));
    }
    return torch::tensor(v, torch::kFloat32);
}

// ---------------------------------------------------------------------------------------------------------------------
WindowDataset::WindowDataset(std::vector<fs::path> files, int64_t n_states, int64_t stride,
                             std::vector<std::string> log_scalars)
    : files_(std::move(files)), n_states_(n_states), stride_(stride), log_scalars_(std::move(log_scalars)) {
    LOLA_CHECK_USAGE(n_states >= 1, "window length must be >= 1, got {}", n_states);
    LOLA_CHECK_USAGE(stride >= 1, "time stride must be >= 1, got {}", stride);
    LOLA_CHECK(!files_.empty(), "no files for the window dataset");
    for (const auto& f : files_) {
        schemas_.push_back(io::read_schema(f));
        offsets_.push_back(total_);
        const int64_t w = windows_per_trajectory(static_cast<int64_t>(schemas_.size()) - 1);
        LOLA_CHECK(w > 0, "'{}' has {} steps, too few for windows of {} states with stride {} (needs {})", f.string(),
                   schemas_.back().n_steps(), n_states, stride, 1 + (n_states - 1) * stride);
        total_ += w * schemas_.back().n_trajectories;
    }
    for (const auto& scalar_name : log_scalars_) {
        for (size_t i = 0; i < schemas_.size(); ++i) {
            bool found = false;
            for (const auto& s : schemas_[i].scalars) {
                found = found || s.name == scalar_name;
            }
            LOLA_CHECK_USAGE(found, "dataset.log_scalars names '{}', which '{}' does not have", scalar_name,
                             files_[i].string());
        }
    }
}

int64_t WindowDataset::windows_per_trajectory(int64_t file) const {
    return schemas_[static_cast<size_t>(file)].n_steps() - (n_states_ - 1) * stride_;
}

WindowDataset::Location WindowDataset::locate(int64_t index) const {
    LOLA_CHECK(index >= 0 && index < total_, "window index {} out of range [0, {})", index, total_);
    auto it = std::upper_bound(offsets_.begin(), offsets_.end(), index);
    const int64_t file = (it - offsets_.begin()) - 1;
    const int64_t local = index - offsets_[static_cast<size_t>(file)];
    const int64_t w = windows_per_trajectory(file);
    return {file, local / w, local % w};
}

std::vector<int64_t> WindowDataset::sample_shape() const {
    const io::WellSchema& s = schemas_.front();
    std::vector<int64_t> shape{s.n_channels(), n_states_};
    shape.insert(shape.end(), s.resolution.begin(), s.resolution.end());
    return shape;
}

Sample WindowDataset::get_into(int64_t index, std::vector<std::unique_ptr<io::WellReader>>& readers, float* out) const {
    const Location loc = locate(index);
    readers.resize(files_.size());
    auto& reader = readers[static_cast<size_t>(loc.file)];
    if (!reader) {
        reader = std::make_unique<io::WellReader>(files_[static_cast<size_t>(loc.file)]);
    }
    LOLA_CHECK(reader->window_shape(n_states_) == sample_shape(),
               "'{}' has another shape than '{}'; one dataset "
               "needs one shape",
               files_[static_cast<size_t>(loc.file)].string(), files_.front().string());
    reader->read_window(loc.trajectory, loc.t0, n_states_, stride_, out);
    const io::WellSchema& s = schemas_[static_cast<size_t>(loc.file)];
    Sample sample;
    sample.bc = s.bc_codes();
    for (const auto& sc : s.scalars) {
        const bool log = std::find(log_scalars_.begin(), log_scalars_.end(), sc.name) != log_scalars_.end();
        sample.scalars.push_back(log ? std::log(sc.value) : sc.value);
    }
    sample.file = loc.file;
    sample.trajectory = loc.trajectory;
    sample.t0 = loc.t0;
    return sample;
}

Sample WindowDataset::get(int64_t index, std::vector<std::unique_ptr<io::WellReader>>& readers) const {
    torch::Tensor state = torch::empty(sample_shape(), torch::kFloat32);
    Sample sample = get_into(index, readers, state.data_ptr<float>());
    sample.state = state;
    return sample;
}

} // namespace lola::data
