// Dataset generation: runs a built-in simulator over a grid of parameter settings and writes complete Well dataset
// folders (docs/data-format.md 1.1, docs/simulators.md 1):
// <out>/<dataset_name>/data/{train,valid,test}/<official file name>.hdf5, stats.yaml and <dataset_name>.yaml. Each
// folder is built under a temporary name and renamed when complete, so an interrupted or failed run leaves no
// half-written dataset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lola::sim {

struct GenerateOptions {
    std::string system;          ///< "euler_multi_quadrants" or "rayleigh_benard"
    std::string preset = "tiny"; ///< tiny (seconds) | small (minutes on 2 cores) | paper (official sizes)
    std::filesystem::path out;   ///< receives one folder per Well dataset name
    // Overrides of the preset; empty / 0 keeps the preset's value.
    std::vector<int64_t> resolution;     ///< cells per axis (x then y); multiples of 32
    int64_t trajectories = 0;            ///< per parameter setting, split 0.8 / 0.1 / 0.1 (at least one each)
    int64_t snapshots = 0;               ///< snapshots per trajectory (Euler 101 over t in [0, 1.5]; RB 200 every 0.25)
    std::vector<double> gammas;          ///< Euler: official gamma values
    std::vector<std::string> boundaries; ///< Euler: "open", "periodic"
    std::vector<double> rayleigh;        ///< RB
    std::vector<double> prandtl;         ///< RB
    std::string scheme = "rk2";          ///< Euler time integrator: rk2 (unsplit SSP-RK2, exact x-y symmetry) | hancock
    uint64_t seed = 0;
    int threads = 0;        ///< 0: all cores
    bool overwrite = false; ///< replace existing dataset folders
    bool progress = true;   ///< progress line on stderr
};

/// The preset's values with the overrides applied, validated (UsageError naming the option and the fix).
GenerateOptions resolve_generate_options(const GenerateOptions& options);

struct GenerateReport {
    std::vector<std::filesystem::path> datasets; ///< the folders written
    int64_t trajectories = 0;
    int64_t files = 0;
    double seconds = 0;
};

GenerateReport generate(const GenerateOptions& options);

/// Official file-name fragment of a number: 1.4 -> "1.4", 1e6 -> "1e6", 0.1 -> "1e-1", 10 -> "10".
std::string well_number(double value);

} // namespace lola::sim
