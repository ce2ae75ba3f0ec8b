// The schema of a Well HDF5 trajectory file (docs/data-format.md): its dimensions, fields, constant scalars and
// boundary conditions. Plain data: headers that only pass a schema around include this one; the reader and writer
// are in lola/io/well.h.
//
// In memory, lola is channel-first: a window of n states is (C, n, N_1, ..., N_D) float32, channels in
// `field_names` order with vector/tensor components expanded (momentum_x, momentum_y, ...).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lola::io {

/// Boundary-condition codes as the_well encodes them in the label.
enum class BcType { kWall = 0, kOpen = 1, kPeriodic = 2 };

const char* bc_type_name(BcType type);         // "WALL", "OPEN", "PERIODIC"
BcType parse_bc_type(const std::string& name); // case-insensitive; throws naming the value

struct BoundaryCondition {
    std::string name; ///< group name, e.g. "x_periodic", "y_wall_dirichlet"
    BcType type = BcType::kOpen;
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

} // namespace lola::io
