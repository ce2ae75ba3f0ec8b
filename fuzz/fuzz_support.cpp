#include "fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well.h"
#include "lola/io/well_dataset.h"

namespace lola::fuzz {

namespace fs = std::filesystem;

namespace {

// A schema shaped like the built-in defaults: scalars, lists, nested groups with presets in configs/, an open map
// and a null value.
const char* kDefaults = R"(
dataset:
  name: ""
  root: data
  physics: []
  fields: []
  transform: []
  stats:
    mean: []
    std: []
  spatial_dims: 0
  label_dim: 0
optim:
  optimizer: adamw
  betas: [0.9, 0.99]
  learning_rate: 1.0e-4
  weight_decay: 0.0
  eps: 1.0e-8
  scheduler: cosine
train:
  epochs: 10
  batch_size: 8
  extra: {}
  note: null
)";

void read_back(const lola::core::Config& cfg) {
    (void)cfg.get<std::string>("dataset.name");
    (void)cfg.get<std::vector<std::string>>("dataset.fields");
    (void)cfg.get<std::vector<double>>("dataset.stats.mean");
    (void)cfg.get<int64_t>("dataset.spatial_dims");
    (void)cfg.get<double>("optim.learning_rate");
    (void)cfg.get<std::vector<double>>("optim.betas");
    (void)cfg.get<int64_t>("train.epochs");
    (void)cfg.get_or<std::string>("train.note", "none");
    (void)cfg.has("train.extra.anything");
    (void)cfg.dump();
}

} // namespace

std::string write_input(const uint8_t* data, size_t size, const char* suffix) {
    const fs::path dir = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const std::string path = (dir / ("lola_fuzz_" + std::to_string(::getpid()) + suffix)).string();
    static std::string* scratch = nullptr; // removed when the process exits
    if (scratch == nullptr) {
        scratch = new std::string(path);
        std::atexit([] { std::remove(scratch->c_str()); });
    }
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
        std::perror(path.c_str());
        std::abort();
    }
    if (size > 0 && std::fwrite(data, 1, size, f) != size) {
        std::perror(path.c_str());
        std::abort();
    }
    std::fclose(f);
    return path;
}

void exercise_well_file(const std::string& path) {
    io::WellReader reader(path);
    const io::WellSchema& s = reader.schema();
    (void)s.channel_names();
    (void)s.channel_axes();
    (void)s.bc_codes();
    (void)reader.window_shape(s.n_steps());
    for (int64_t b = 0; b < s.n_trajectories; ++b) {
        std::vector<float> all = reader.read_window(b, 0, s.n_steps(), 1);
        if (s.n_steps() > 2) {
            std::vector<float> strided = reader.read_window(b, 1, (s.n_steps() - 1) / 2, 2);
        }
    }
    (void)io::well_stats_yaml(io::compute_well_stats({path}));
    (void)io::well_metadata_yaml({path});
}

void exercise_config(const std::string& path) {
    static const YAML::Node defaults = YAML::Load(kDefaults);
    core::Config cfg(defaults);
    try {
        cfg.merge_file(path);
    } catch (const Error&) {
        // an invalid config is a usage error with a message
    }
    std::ifstream lines(path, std::ios::binary);
    for (std::string line; std::getline(lines, line);) {
        if (line.find('=') == std::string::npos) {
            continue;
        }
        try {
            cfg.apply_override(line);
        } catch (const Error&) {}
    }
    try {
        read_back(cfg);
    } catch (const Error&) {}
}

void exercise_latent_cache(const std::string& path) {
    io::LatentCacheReader reader(path);
    const io::LatentCacheInfo& info = reader.info();
    (void)info.state_shape();
    for (int64_t row = 0; row < info.n_rows; ++row) {
        std::vector<float> states = reader.read_window(row, 0, info.n_states, 1);
        std::vector<float> label = reader.read_label(row);
    }
    std::vector<float> labels = reader.read_labels();
    io::verify_provenance(info, info.provenance, path);
}

} // namespace lola::fuzz
