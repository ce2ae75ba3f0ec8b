// The Well's dataset folder (docs/data-format.md 1.1 and 1.5):
//   <dir>/data/{train,valid,test}/*.hdf5, <dir>/stats.yaml, <dir>/<dataset_name>.yaml
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace lola::io {

/// The split folder names, in order.
const std::vector<std::string>& split_names();

/// Sorted *.hdf5 and *.h5 files of `<dir>/data/<split>`. Throws naming the folder when it is missing or empty, and
/// when the files disagree on dataset_name, spatial dims or resolution (as the_well's loader asserts).
std::vector<std::filesystem::path> split_files(const std::filesystem::path& dataset_dir, const std::string& split);

/// the_well's stats.yaml: for each *core* field, per-component values (1 for t0, D for t1, D*D for t2, row-major).
struct WellStats {
    std::vector<std::string> fields; ///< core field names, in file order
    std::vector<int> order;          ///< tensor order of each field
    int n_spatial_dims = 0;
    std::map<std::string, std::vector<std::vector<double>>> values; ///< key (mean, std, ...) -> per field
};

/// Compute the six statistics (mean, std, rms and their *_delta versions) over `files`, in float64, combining files
/// as a mixture weighted by element counts (population variance), exactly as the_well's compute_statistics.py.
WellStats compute_well_stats(const std::vector<std::filesystem::path>& files);

/// Render as the_well writes it: sorted keys, "%.4E" numbers.
std::string well_stats_yaml(const WellStats& stats);

/// Render `<dataset_name>.yaml` (WellMetadata) from the files of one split (the_well uses the valid split).
std::string well_metadata_yaml(const std::vector<std::filesystem::path>& files);

/// Write stats.yaml (from train) and <dataset_name>.yaml (from valid) into `dataset_dir`, atomically.
void finalize_dataset(const std::filesystem::path& dataset_dir);

} // namespace lola::io
