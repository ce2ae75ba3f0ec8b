// EulerSolver internals shared by euler.cpp (time stepping, fast path) and euler_robust.cpp (fallback path).
// Private to src/sim.
#pragma once

#include "lola/sim/euler.h"

#include "euler_kernels.h"
#include "euler_team.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace lola::sim {

namespace euler_detail {

/// Four components, each a row-major (rows, cols) array.
struct Field4 { // NOLINT(bugprone-reserved-identifier): clang-tidy 14 flags the implicit copy of c[4]
    std::vector<double> c[4];
    int cols = 0;

    void resize(int rows, int n_cols);
    Row4 row(int i) const;
};

/// Storage for the minus/plus face states of n cells (8 arrays of n).
struct StateLine {
    std::vector<double> data;
    int n = 0;

    void resize(int n_cells);
    FaceStates states() const;
};

/// Per-thread scratch. Rings of four primitive rows (two ghost columns each side) and two x-reconstructed rows and
/// x-flux rows, the y-reconstruction of one row (cells -1 .. ny), one row of y-fluxes and element-wise counters and
/// maxima. A few tens of kB, so it stays in cache.
struct alignas(64) Workspace {
    int ny = 0;
    std::vector<double> prim;     // 4 slots x 4 variables x (ny + 4)
    StateLine recon_x[2];         // ny cells each
    StateLine recon_y;            // ny + 2 cells, index 0 is cell -1
    std::vector<double> xflux;    // 2 slots x 4 components x ny
    std::vector<double> yflux;    // 4 components x (ny + 1)
    std::vector<double> a_x;      // element-wise max(|u| + c) over the block's rows
    std::vector<double> a_y;      // element-wise max(|v| + c)
    std::vector<double> bad;      // element-wise count of non-physical cells
    std::vector<double> fallback; // element-wise count of reconstruction fallbacks (ny + 2)
    std::vector<double> halo;     // fallbacks of halo rows that another block counts (discarded)
    std::vector<double> scratch;  // 3 (ny + 1): wave speeds between the two HLLC passes

    explicit Workspace(int n_y);
    Row4 prim_slot(int slot);
    Row4 xflux_slot(int slot);
    Row4 yflux_row();
    void reset_counters(bool speeds);
};

/// Sum of an element-wise counter.
int64_t count_of(const std::vector<double>& v);

/// One stage: out = [base / 2 +] [1 / 2] (in - dt (div F)_dirs(in)).
struct Stage {
    int dirs = 3;         // 1: x only, 2: y only, 3: both
    bool combine = false; // SSP-RK2 second stage
    bool speeds = false;  // compute the max signal speeds of `out`
    bool hancock = false; // MUSCL-Hancock predictor
    const Field4* in = nullptr;
    const Field4* base = nullptr;
    Field4* out = nullptr;
    double dt = 0.0;
    double weight = 1.0; // weight of this stage's boundary fluxes in the step's net flux
};

/// Reconstruction settings of one sweep direction.
struct ReconSettings {
    EulerOptions::Limiter limiter = EulerOptions::Limiter::kMC;
    bool hancock = false;
    double half_dtdx = 0.0; // dt / (2 h) for the Hancock predictor
};

/// x-reconstruction of the row with primitives `mid` (neighbour rows `lo`, `hi`): ny cells.
void reconstruct_x(const ReconSettings& rs, const Row4& lo, const Row4& mid, const Row4& hi, int ny, const Gas& gas,
                   const FaceStates& out, double* fallbacks);
/// y-reconstruction of one primitive row (ghost columns filled): cells -1 .. ny stored at 0 .. ny + 1.
void reconstruct_y(const ReconSettings& rs, const Row4& row, int ny, const Gas& gas, const FaceStates& out,
                   double* fallbacks);
/// HLLC fluxes of the ny x-faces between reconstructed rows `below` (plus states) and `above` (minus states);
/// scratch holds 3 (ny + 1) doubles.
void x_face_fluxes(const FaceStates& below, const FaceStates& above, int ny, const Gas& gas, double* scratch,
                   const Row4& out);
/// HLLC fluxes of the ny + 1 y-faces of one y-reconstructed row.
void y_face_fluxes(const FaceStates& row, int ny, const Gas& gas, double* scratch, const Row4& out);
/// Conservative update of one row (dispatches the update_line template on the stage).
void update_row(const Stage& st, const UpdateRow& r, int ny, double dtdx, double dtdy, const Gas& gas);

} // namespace euler_detail

struct EulerSolver::Impl {
    EulerOptions opt;
    euler_detail::Gas gas;
    int nx = 0;
    int ny = 0;
    double dx = 0.0;
    double dy = 0.0;
    bool periodic = false;

    euler_detail::Field4 u0; // the state
    euler_detail::Field4 u1; // after the first stage / sweep
    euler_detail::Field4 u2; // after the second stage / sweep, swapped into u0

    std::vector<int> block_start; // row blocks, one per thread
    std::vector<std::unique_ptr<euler_detail::Workspace>> workspaces;
    std::unique_ptr<euler_detail::WorkerTeam> team;

    // Fluxes through the domain boundary of the current stage: x-faces 0 and nx (ny each), y-faces 0 and ny (nx each).
    euler_detail::Field4 bx_lo, bx_hi, by_lo, by_hi;

    // Robust path (allocated on first use): primitives with ghost rows, all face fluxes, face levels.
    euler_detail::Field4 prim_all; // (nx + 4) rows x (ny + 4) columns, ghosts included
    euler_detail::Field4 fx_all;   // (nx + 1) x ny
    euler_detail::Field4 fy_all;   // nx x (ny + 1)
    std::vector<uint8_t> level_x;
    std::vector<uint8_t> level_y;

    double time = 0.0;
    double a_x = 0.0; // max(|u| + c) of the current state
    double a_y = 0.0; // max(|v| + c)
    EulerCounters counters;
    EulerTotals outflow;

    explicit Impl(const EulerOptions& options);

    int source_row(int r) const;
    void reset_history();
    void check_state_and_speeds(const char* what);
    double cfl_dt() const;

    // euler.cpp: fast path and time stepping
    void run_block(const euler_detail::Stage& st, int i0, int i1, euler_detail::Workspace& w);
    void run_stage(const euler_detail::Stage& st);
    void accumulate_outflow(const euler_detail::Stage& st);
    double take_step(double dt);
    void check_cfl_after_step(double dt);
    /// The cell with the largest max(|u|, |v|) + c (for error messages).
    struct FastestCell {
        int i = 0;
        int j = 0;
        double speed = -1.0;
    };
    FastestCell fastest_cell() const;

    // euler_robust.cpp: the stage recomputed with per-face fallbacks
    void robust_stage(const euler_detail::Stage& st);
    euler_detail::Row4 prim_all_row(int r) const;
    void low_order_face(bool x_direction, int a, int b, int level);
    bool lower_face(bool x_direction, int a, int b, std::vector<uint8_t>& dirty_rows);
};

} // namespace lola::sim
