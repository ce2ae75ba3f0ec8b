// The Well's HDF5 trajectory files (docs/data-format.md): schema, reader and streaming writer.
//
// In memory, lola is channel-first: a window of n states is (C, n, N_1, ..., N_D) float32, channels in
// `field_names` order with vector/tensor components expanded (momentum_x, momentum_y, ...).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lola::io {

/// Boundary-condition codes as the_well encodes them in the label.
enum class BcType { Wall = 0, Open = 1, Periodic = 2 };

const char* bc_type_name(BcType type);         // "WALL", "OPEN", "PERIODIC"
BcType parse_bc_type(const std::string& name); // case-insensitive; throws naming the value

struct BoundaryCondition {
    std::string name; ///< group name, e.g. "x_periodic", "y_wall_dirichlet"
    BcType type = BcType::Open;
    std::vector<std::string> dims; ///< associated_dims, e.g. {"x"}
    bool lower = true;             ///< mask[0]
    bool upper = true;             ///< mask[-1]
};

/// A constant scalar (simulation parameter) in file order.
struct Scalar {
    std::string name;
    double value = 0;
};

/// Everything a Well file says about itself, in the form a writer needs and a reader reports.
struct WellSchema {
    std::string dataset_name;
    std::string grid_type = "cartesian";
    std::vector<std::string> spatial_dims;   ///< "x", "y"[, "z"]; the order of the spatial axes
    std::vector<int64_t> resolution;         ///< N_d per spatial dim
    std::vector<std::vector<double>> coords; ///< coordinates per dim (cell centres for finite volumes)
    std::vector<double> time;                ///< snapshot times (T,)
    int64_t n_trajectories = 0;
    std::vector<std::string> simulation_parameters; ///< names listed in the root attribute
    std::vector<Scalar> scalars;                    ///< /scalars in field_names order (constant)
    std::array<std::vector<std::string>, 3> fields; ///< core field names per tensor order 0, 1, 2
    std::vector<BoundaryCondition> boundary_conditions;

    int n_spatial_dims() const { return static_cast<int>(spatial_dims.size()); }
    int64_t n_steps() const { return static_cast<int64_t>(time.size()); }
    int64_t n_cells() const; ///< prod(resolution)
    /// Channel names with components expanded (momentum_x, momentum_y; T_xx, T_xy, ...).
    std::vector<std::string> channel_names() const;
    int n_channels() const { return static_cast<int>(channel_names().size()); }
    /// (D, 2) codes, row-major: [axis][side], default OPEN; WALL aggregates masks with min, others with max.
    std::vector<std::array<int, 2>> bc_codes() const;
    /// For each channel, the spatial axis each of its tensor indices points along (empty for scalars).
    std::vector<std::vector<int>> channel_axes() const;
    /// The constant scalar named `name`; throws when absent.
    double scalar(const std::string& name) const;
};

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
               std::vector<std::pair<std::string, std::string>> attributes = {});
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
