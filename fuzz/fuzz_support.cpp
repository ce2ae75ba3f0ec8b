#include "fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "lola/core/error.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well.h"
#include "lola/io/well_dataset.h"

namespace lola::fuzz {

namespace fs = std::filesystem;

std::string write_input(const uint8_t* data, size_t size, const char* suffix) {
    const fs::path dir = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const std::string path = (dir / ("lola_fuzz_" + std::to_string(::getpid()) + suffix)).string();
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
