// Dataset presets and windowed samples over Well files (docs/method.md 2.2-2.5, docs/data-format.md 1.6).
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lola/data/transform.h"
#include "lola/io/well_schema.h"

namespace lola::io {
class WellReader;
}

namespace lola::data {

/// The `dataset` config group (configs/dataset/*.yaml). Its keys and their meaning are in describe();
/// core::read_options reads the group (docs/configuration.md).
struct DatasetOptions {
    std::string name;
    std::string root = "data";
    std::vector<std::string> physics;
    std::vector<std::string> fields;
    std::vector<std::string> transform;
    std::vector<double> mean, std;
    std::vector<std::string> augment;
    std::vector<std::string> log_scalars;
    int64_t spatial_dims = 0; ///< 0 = unknown
    int64_t label_dim = 0;    ///< 0 = unknown

    /// The `stats` sub-group: mean and std.
    struct Stats {
        template <class Self, class Visitor>
        void operator()(Self& o, Visitor& v) const {
            v("mean", o.mean, "standardisation mean per channel (after the transform)");
            v("std", o.std, "standardisation std per channel (after the transform)");
        }
    };

    /// Every key of the group, once: its name, its member and its meaning (core/options.h).
    template <class Self, class Visitor>
    static void describe(Self& o, Visitor& v) {
        v("name", o.name, "preset name, e.g. euler_all");
        v("root", o.root, "folder holding one Well dataset folder per entry of physics");
        v("physics", o.physics, "Well dataset names, e.g. [euler_multi_quadrants_openBC]");
        v("fields", o.fields, "expected channel names, in order (checked against the files)");
        v("transform", o.transform, "per channel: none | log1p | log ([]: none)");
        v.group("stats", o, Stats{}, "standardisation constants per channel");
        v("augment", o.augment, "random_axis_flip, random_axis_permute, random_axis_roll");
        v("log_scalars", o.log_scalars, "constant scalars replaced by their natural log in the label");
        v("spatial_dims", o.spatial_dims, "spatial dimensions, for sizing models without the files (0: unknown)");
        v("label_dim", o.label_dim, "label entries, for sizing models without the files (0: unknown)");
    }
    /// Fill what the fields imply when left empty: transforms none, mean 0 and std 1.
    void resolve(const std::string& key = "dataset");
    /// Names and lengths; errors name `key`.<field>.
    void validate(const std::string& key = "dataset") const;

    Preprocessor preprocessor() const;
    /// The folders `<root>/<physics>`.
    std::vector<std::filesystem::path> dataset_dirs() const;
};

/// One sample: n states of one trajectory, plus what the label is made of.
struct Sample {
    torch::Tensor state;                ///< (C, n, N_1, ..., N_D) float32, physical units
    std::vector<std::array<int, 2>> bc; ///< (D, 2) boundary codes, follows augmentation
    std::vector<double> scalars;        ///< constant scalars in file order (log_scalars applied)
    int64_t file = 0, trajectory = 0, t0 = 0;
};

/// The conditioning vector: cat(scalars, flatten(bc)) as float32 (docs/method.md 2.2).
torch::Tensor make_label(const Sample& sample);

/// Windows of `n_states` states, `stride` snapshots apart, at every valid offset of every trajectory of every file.
/// Index order is row-major over (file, trajectory, offset), as the_well's loader.
class WindowDataset {
public:
    WindowDataset(std::vector<std::filesystem::path> files, int64_t n_states, int64_t stride,
                  std::vector<std::string> log_scalars = {});

    int64_t size() const { return total_; }
    int64_t n_states() const { return n_states_; }
    int64_t stride() const { return stride_; }
    const std::vector<std::filesystem::path>& files() const { return files_; }
    const io::WellSchema& schema(int64_t file) const { return schemas_[static_cast<size_t>(file)]; }
    /// Windows per trajectory of `file`: T - (n - 1) * stride.
    int64_t windows_per_trajectory(int64_t file) const;

    struct Location {
        int64_t file, trajectory, t0;
    };
    Location locate(int64_t index) const;

    /// Read sample `index` through `readers` (one lazily opened reader per file; give each thread its own).
    Sample get(int64_t index, std::vector<std::unique_ptr<io::WellReader>>& readers) const;
    /// Same, writing the state into `out` (C * n * prod(N) floats) instead of a new tensor; `sample.state` is unset.
    Sample get_into(int64_t index, std::vector<std::unique_ptr<io::WellReader>>& readers, float* out) const;
    /// Shape (C, n, N_1, ..., N_D) of a sample's state.
    std::vector<int64_t> sample_shape() const;

private:
    std::vector<std::filesystem::path> files_;
    std::vector<io::WellSchema> schemas_;
    std::vector<int64_t> offsets_; ///< first global index of each file
    int64_t n_states_, stride_, total_ = 0;
    std::vector<std::string> log_scalars_;
};

/// The files of `split` across every dataset folder of the preset.
std::vector<std::filesystem::path> preset_split_files(const DatasetOptions& opts, const std::string& split);

} // namespace lola::data
