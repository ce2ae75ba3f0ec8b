// The Well's HDF5 trajectory files (docs/data-format.md): schema, reader and streaming writer.
//
// In memory, lola is channel-first: a window of n states is (C, n, N_1, ..., N_D) float32, channels in
// `field_names` order with vector/tensor components expanded (momentum_x, momentum_y, ...).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lola/io/well_schema.h"

namespace lola::io {

/// Reads any Well file (real or ours). Holds one open HDF5 handle; not for concurrent use from several threads.
class WellReader {
public:
    explicit WellReader(const std::filesystem::path& path);
    ~WellReader();
    WellReader(WellReader&&) noexcept;
    WellReader& operator=(WellReader&&) noexcept;

    const WellSchema& schema() const;
    const std::filesystem::path& path() const;

    /// States t0, t0+stride, ... (n of them) of trajectory `traj`, channel-first (C, n, N_1, ..., N_D).
    std::vector<float> read_window(int64_t traj, int64_t t0, int64_t n, int64_t stride = 1) const;
    /// Same, into `out` (prod(window_shape(n)) floats).
    void read_window(int64_t traj, int64_t t0, int64_t n, int64_t stride, float* out) const;
    /// Shape of read_window's result.
    std::vector<int64_t> window_shape(int64_t n) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Streams a Well file one snapshot at a time. Writes to a temporary sibling and renames on commit(); a writer
/// destroyed before commit() removes its temporary file, so no partial file is ever left under the final name.
class WellWriter {
public:
    /// `schema.time`, `resolution`, `coords`, `n_trajectories` and fields must be set. Extra root attributes go in
    /// `attributes` (name, string value), e.g. provenance.
    WellWriter(const std::filesystem::path& path, WellSchema schema,
               const std::vector<std::pair<std::string, std::string>>& attributes = {});
    ~WellWriter();
    WellWriter(const WellWriter&) = delete;
    WellWriter& operator=(const WellWriter&) = delete;

    const WellSchema& schema() const;

    /// One snapshot, channel-first (C, N_1, ..., N_D) in channel_names() order; converted to float32.
    void write_frame(int64_t traj, int64_t t, const double* data);
    void write_frame(int64_t traj, int64_t t, const float* data);

    /// Close and move the file to its final name. Throws if any frame was never written.
    void commit();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

/// Read only the schema of a file.
WellSchema read_schema(const std::filesystem::path& path);

} // namespace lola::io
