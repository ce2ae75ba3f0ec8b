// The latent cache (docs/method.md 2.5, 3.8): one HDF5 file per split holding the encoded trajectories of a dataset.
//
// Layout of `<dir>/<split>.h5`:
//   /state  float32 (N, L, C_lat, h, w[, d])   N = N_traj * repeat rows, L states each, chunked one state at a time
//   /label  float32 (N, label_dim)              cat(constant scalars, flatten(BC codes)) of each row (data::make_label)
//   root attributes: the provenance (LatentCacheProvenance), see docs below.
// Rows are copy-major: row = copy * n_trajectories + trajectory, trajectories in file order of the split.
//
// The file is written under a temporary sibling name and renamed on commit(), so a reader never sees a partial
// cache. Plain HDF5 through lola::io::h5; no LibTorch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lola::io {

/// Where a cache's latents came from. Stored as root attributes; verify_provenance() compares two of these.
struct LatentCacheProvenance {
    std::string ae_run;                  ///< the autoencoder run folder (as given, made absolute by the writer)
    std::string ae_weights_hash;         ///< train::weights_hash of the autoencoder that encoded the states
    std::string dataset;                 ///< dataset preset name, e.g. euler_all
    std::vector<std::string> fields;     ///< channel names, in order
    std::vector<std::string> transforms; ///< per channel: none | log1p | log
    std::vector<double> mean, std;       ///< standardisation constants per channel (after the transform)
    std::vector<std::string> augment;    ///< augmentations applied to each row (empty: none)
    int64_t stride = 1;                  ///< time stride between cached states, in snapshots of the source files
    std::string split;                   ///< train | valid | test
    int64_t repeat = 1;                  ///< copies of each trajectory (distinct random augmentations)
    uint64_t seed = 0;                   ///< seed of the augmentations
};

/// Shapes and provenance of a cache file.
struct LatentCacheInfo {
    int64_t n_rows = 0;                ///< N = n_trajectories * repeat
    int64_t n_trajectories = 0;        ///< source trajectories of the split
    int64_t n_states = 0;              ///< L
    std::vector<int64_t> latent_shape; ///< (C_lat, h, w[, d])
    int64_t label_dim = 0;
    LatentCacheProvenance provenance;

    /// (N, L, C_lat, h, w[, d])
    std::vector<int64_t> state_shape() const;
    /// C_lat * h * w[ * d]
    int64_t state_numel() const;
};

inline constexpr const char* kLatentCacheFormat = "latent_cache";
inline constexpr int64_t kLatentCacheVersion = 1;

/// Streams a cache file. Writes to a temporary sibling and renames it onto `path` on commit(); a writer destroyed
/// before commit() (for instance by an exception) removes its temporary file, so no partial cache is ever left.
class LatentCacheWriter {
public:
    /// `info` gives the shapes (n_rows, n_trajectories, n_states, latent_shape, label_dim) and the provenance.
    LatentCacheWriter(const std::filesystem::path& path, LatentCacheInfo info);
    ~LatentCacheWriter();
    LatentCacheWriter(const LatentCacheWriter&) = delete;
    LatentCacheWriter& operator=(const LatentCacheWriter&) = delete;

    const LatentCacheInfo& info() const;

    /// States t0 .. t0 + n - 1 of row `row`: n * state_numel() floats, (n, C_lat, h, w[, d]) row-major.
    void write_states(int64_t row, int64_t t0, int64_t n, const float* data);
    /// The label of row `row` (label_dim floats).
    void write_label(int64_t row, const float* label);

    /// Close the file and move it to its final name. Throws if a row's label or a state was never written.
    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Reads a cache file. Holds one open HDF5 handle; not for concurrent use from several threads.
class LatentCacheReader {
public:
    /// Errors name the file and say when it is not a lola latent cache or has another format version.
    explicit LatentCacheReader(const std::filesystem::path& path);
    ~LatentCacheReader();
    LatentCacheReader(LatentCacheReader&&) noexcept;
    LatentCacheReader& operator=(LatentCacheReader&&) noexcept;

    const LatentCacheInfo& info() const;
    const std::filesystem::path& path() const;

    /// The window of n states t0, t0 + stride, ... of row `row`: (n, C_lat, h, w[, d]) floats, row-major.
    std::vector<float> read_window(int64_t row, int64_t t0, int64_t n, int64_t stride = 1) const;
    /// Same, into `out` (n * state_numel() floats).
    void read_window(int64_t row, int64_t t0, int64_t n, int64_t stride, float* out) const;
    /// The label of row `row` (label_dim floats).
    std::vector<float> read_label(int64_t row) const;
    /// All labels, (N, label_dim) row-major.
    std::vector<float> read_labels() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Shapes and provenance only.
LatentCacheInfo read_latent_cache_info(const std::filesystem::path& path);

/// Throws lola::Error when the cache's provenance disagrees with `expected`, naming every mismatching field with
/// both values and ending with the fix (re-run `lola cache-latents`). Compared: AE weights hash, dataset, fields,
/// transforms, mean, std and stride; a field left empty (or stride <= 0) in `expected` is not checked. The AE run
/// folder, split, repeat and seed are facts about the cache, not requirements, and are not compared.
void verify_provenance(const LatentCacheInfo& cache, const LatentCacheProvenance& expected,
                       const std::string& cache_name = "the latent cache");

} // namespace lola::io
