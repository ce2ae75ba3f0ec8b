#include "lola/io/well_dataset.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"
#include "lola/io/well.h"

namespace lola::io {

namespace fs = std::filesystem;

const std::vector<std::string>& split_names() {
    static const std::vector<std::string> names{"train", "valid", "test"};
    return names;
}

std::vector<fs::path> split_files(const fs::path& dataset_dir, const std::string& split) {
    const fs::path dir = dataset_dir / "data" / split;
    LOLA_CHECK(fs::is_directory(dir),
               "dataset folder '{}' has no split folder '{}' (expected the Well layout "
               "<dataset>/data/{{train,valid,test}}/*.hdf5; 'lola simulate' writes it)",
               dataset_dir.string(), dir.string());
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const auto ext = entry.path().extension();
        const auto name = entry.path().filename().string();
        if (entry.is_regular_file() && (ext == ".hdf5" || ext == ".h5") && name[0] != '.') {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    LOLA_CHECK(!files.empty(), "split folder '{}' holds no *.hdf5 or *.h5 files", dir.string());
    WellSchema first = read_schema(files[0]);
    for (size_t i = 1; i < files.size(); ++i) {
        WellSchema s = read_schema(files[i]);
        LOLA_CHECK(s.dataset_name == first.dataset_name && s.spatial_dims == first.spatial_dims &&
                       s.resolution == first.resolution,
                   "files '{}' and '{}' of one split disagree on dataset_name, spatial dims or resolution ('{}' {} vs "
                   "'{}' {}); a split folder must hold one dataset",
                   files[0].string(), files[i].string(), first.dataset_name, fmt::join(first.resolution, "x"),
                   s.dataset_name, fmt::join(s.resolution, "x"));
    }
    return files;
}

// ---------------------------------------------------------------------------------------------------------------------
namespace {

struct Moments {
    double count = 0, sum = 0, sumsq = 0;
    void add(double v) {
        count += 1;
        sum += v;
        sumsq += v * v;
    }
};

} // namespace

WellStats compute_well_stats(const std::vector<fs::path>& files) {
    LOLA_CHECK(!files.empty(), "no files to compute statistics on");
    WellStats stats;
    std::vector<Moments> value_m, delta_m; // per channel
    std::vector<int> channel_field;        // channel -> field index
    for (const auto& path : files) {
        WellReader reader(path);
        const WellSchema& s = reader.schema();
        if (stats.fields.empty()) {
            stats.n_spatial_dims = s.n_spatial_dims();
            for (int order = 0; order < 3; ++order) {
                for (const auto& f : s.fields[static_cast<size_t>(order)]) {
                    stats.fields.push_back(f);
                    stats.order.push_back(order);
                    int n = 1;
                    for (int k = 0; k < order; ++k) {
                        n *= s.n_spatial_dims();
                    }
                    for (int k = 0; k < n; ++k) {
                        channel_field.push_back(static_cast<int>(stats.fields.size()) - 1);
                    }
                }
            }
            value_m.resize(channel_field.size());
            delta_m.resize(channel_field.size());
        }
        LOLA_CHECK(static_cast<size_t>(s.n_channels()) == channel_field.size(),
                   "'{}' has {} channels but the first file has {}", path.string(), s.n_channels(),
                   channel_field.size());
        const int64_t cells = s.n_cells();
        std::vector<float> prev;
        for (int64_t b = 0; b < s.n_trajectories; ++b) {
            for (int64_t t = 0; t < s.n_steps(); ++t) {
                std::vector<float> frame = reader.read_window(b, t, 1, 1);
                for (size_t c = 0; c < channel_field.size(); ++c) {
                    const float* x = frame.data() + static_cast<int64_t>(c) * cells;
                    for (int64_t i = 0; i < cells; ++i) {
                        value_m[c].add(x[i]);
                    }
                    if (t > 0) { // prev holds step t - 1 (it is empty at t = 0)
                        const float* p = prev.data() + static_cast<int64_t>(c) * cells;
                        for (int64_t i = 0; i < cells; ++i) {
                            delta_m[c].add(static_cast<double>(x[i]) - static_cast<double>(p[i]));
                        }
                    }
                }
                prev = std::move(frame);
            }
        }
    }
    auto finish = [&](const std::vector<Moments>& m, const std::string& suffix) {
        for (const char* key : {"mean", "std", "rms"}) {
            stats.values[std::string(key) + suffix].assign(stats.fields.size(), {});
        }
        for (size_t c = 0; c < m.size(); ++c) {
            const double n = std::max(m[c].count, 1.0);
            const double mean = m[c].sum / n;
            const double second = m[c].sumsq / n;
            const double var = std::max(second - mean * mean, 0.0);
            const auto f = static_cast<size_t>(channel_field[c]);
            stats.values["mean" + suffix][f].push_back(mean);
            stats.values["std" + suffix][f].push_back(std::sqrt(var));
            stats.values["rms" + suffix][f].push_back(std::sqrt(second));
            if (std::sqrt(var) <= 1e-4) {
                LOLA_LOG_WARN("statistics: std{} of '{}' is {:.3g} <= 1e-4 (the_well's script asserts it is larger)",
                              suffix, stats.fields[f], std::sqrt(var));
            }
        }
    };
    finish(value_m, "");
    finish(delta_m, "_delta");
    return stats;
}

std::string well_stats_yaml(const WellStats& stats) {
    auto num = [](double v) { return fmt::format("{:.4E}", v); };
    std::vector<size_t> order(stats.fields.size());
    for (size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return stats.fields[a] < stats.fields[b]; });
    std::string out;
    for (const auto& [key, per_field] : stats.values) { // std::map: sorted keys
        out += key + ":\n";
        for (size_t f : order) {
            const auto& v = per_field[f];
            if (stats.order[f] == 0) {
                out += fmt::format("  {}: {}\n", stats.fields[f], num(v[0]));
            } else if (stats.order[f] == 1) {
                out += fmt::format("  {}:\n", stats.fields[f]);
                for (double x : v) {
                    out += fmt::format("  - {}\n", num(x));
                }
            } else {
                out += fmt::format("  {}:\n", stats.fields[f]);
                const size_t d = static_cast<size_t>(stats.n_spatial_dims);
                for (size_t i = 0; i < d; ++i) {
                    for (size_t j = 0; j < d; ++j) {
                        out += fmt::format("  {} {}\n", j == 0 ? "- -" : "  -", num(v[i * d + j]));
                    }
                }
            }
        }
    }
    return out;
}

std::string well_metadata_yaml(const std::vector<fs::path>& files) {
    LOLA_CHECK(!files.empty(), "no files to describe");
    WellSchema first = read_schema(files[0]);
    std::vector<int64_t> n_traj, n_steps;
    // The distinct boundary-condition types over all files, as the_well's loader collects them (a set; its order is
    // Python's hash order, so we sort): Euler open boundaries have one OPEN group per axis but list OPEN once.
    std::set<std::string> bc_types;
    for (const auto& f : files) {
        WellSchema s = read_schema(f);
        n_traj.push_back(s.n_trajectories);
        n_steps.push_back(s.n_steps());
        for (const auto& bc : s.boundary_conditions) {
            bc_types.insert(bc_type_name(bc.type));
        }
    }
    YAML::Emitter e;
    e << YAML::BeginMap;
    e << YAML::Key << "dataset_name" << YAML::Value << first.dataset_name;
    e << YAML::Key << "n_spatial_dims" << YAML::Value << first.n_spatial_dims();
    e << YAML::Key << "spatial_resolution" << YAML::Value << YAML::Flow << first.resolution;
    e << YAML::Key << "scalar_names" << YAML::Value << YAML::Flow << std::vector<std::string>{};
    std::vector<std::string> scalar_names;
    for (const auto& s : first.scalars) {
        scalar_names.push_back(s.name);
    }
    e << YAML::Key << "constant_scalar_names" << YAML::Value << YAML::Flow << scalar_names;
    // field names flattened per order (momentum_x, momentum_y)
    std::vector<std::string> channels = first.channel_names();
    e << YAML::Key << "field_names" << YAML::Value << YAML::BeginMap;
    size_t c = 0;
    for (int order = 0; order < 3; ++order) {
        std::vector<std::string> names;
        int n = 1;
        for (int k = 0; k < order; ++k) {
            n *= first.n_spatial_dims();
        }
        for (size_t f = 0; f < first.fields[static_cast<size_t>(order)].size(); ++f) {
            for (int k = 0; k < n; ++k) {
                names.push_back(channels[c++]);
            }
        }
        e << YAML::Key << order << YAML::Value << YAML::Flow << names;
    }
    e << YAML::EndMap;
    e << YAML::Key << "constant_field_names" << YAML::Value << YAML::BeginMap;
    for (int order = 0; order < 3; ++order) {
        e << YAML::Key << order << YAML::Value << YAML::Flow << std::vector<std::string>{};
    }
    e << YAML::EndMap;
    e << YAML::Key << "boundary_condition_types" << YAML::Value << YAML::Flow
      << std::vector<std::string>(bc_types.begin(), bc_types.end());
    e << YAML::Key << "n_files" << YAML::Value << files.size();
    e << YAML::Key << "n_trajectories_per_file" << YAML::Value << YAML::Flow << n_traj;
    e << YAML::Key << "n_steps_per_trajectory" << YAML::Value << YAML::Flow << n_steps;
    e << YAML::Key << "grid_type" << YAML::Value << first.grid_type;
    e << YAML::EndMap;
    return std::string(e.c_str()) + "\n";
}

void finalize_dataset(const fs::path& dataset_dir) {
    auto train = split_files(dataset_dir, "train");
    core::write_file_atomic(dataset_dir / "stats.yaml", well_stats_yaml(compute_well_stats(train)));
    auto valid = split_files(dataset_dir, "valid");
    const std::string name = read_schema(valid[0]).dataset_name;
    core::write_file_atomic(dataset_dir / (name + ".yaml"), well_metadata_yaml(valid));
}

} // namespace lola::io
