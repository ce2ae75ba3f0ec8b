// Writes the fuzzers' seed corpora with lola's own writers: tiny valid Well files (1-D to 3-D, every tensor order,
// each boundary type), a tiny latent cache, and config texts.
// Usage: make_seeds DIR (writes DIR/well, DIR/latent_cache and DIR/config).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "lola/core/error.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well.h"

namespace fs = std::filesystem;
using namespace lola;

namespace {

io::WellSchema schema(std::vector<int64_t> resolution, int64_t n_traj, int64_t n_steps, io::BcType bc) {
    static const char* names[] = {"x", "y", "z"};
    io::WellSchema s;
    s.dataset_name = "fuzz_seed";
    for (size_t k = 0; k < resolution.size(); ++k) {
        s.spatial_dims.push_back(names[k]);
        std::vector<double> c;
        for (int64_t i = 0; i < resolution[k]; ++i) {
            c.push_back((static_cast<double>(i) + 0.5) / static_cast<double>(resolution[k]));
        }
        s.coords.push_back(c);
        s.boundary_conditions.push_back({std::string(names[k]) + "_bc", bc, {names[k]}, true, true});
    }
    s.resolution = resolution;
    for (int64_t t = 0; t < n_steps; ++t) {
        s.time.push_back(0.5 * static_cast<double>(t));
    }
    s.n_trajectories = n_traj;
    s.simulation_parameters = {"gamma"};
    s.scalars = {{"gamma", 1.4}};
    s.fields[0] = {"density"};
    s.fields[1] = {"momentum"};
    return s;
}

void write_well(const fs::path& path, const io::WellSchema& s) {
    io::WellWriter w(path, s);
    const int64_t n = static_cast<int64_t>(s.n_channels()) * s.n_cells();
    std::vector<float> frame(static_cast<size_t>(n));
    for (int64_t b = 0; b < s.n_trajectories; ++b) {
        for (int64_t t = 0; t < s.n_steps(); ++t) {
            for (int64_t i = 0; i < n; ++i) {
                frame[static_cast<size_t>(i)] =
                    1.0F + static_cast<float>(b * 100 + t * 10) + 0.01F * static_cast<float>(i);
            }
            w.write_frame(b, t, frame.data());
        }
    }
    w.commit();
}

void write_cache(const fs::path& path) {
    io::LatentCacheInfo info;
    info.n_rows = 2;
    info.n_trajectories = 2;
    info.n_states = 3;
    info.latent_shape = {2, 2, 2};
    info.label_dim = 3;
    info.provenance.ae_weights_hash = "0123456789abcdef";
    info.provenance.dataset = "fuzz_seed";
    info.provenance.fields = {"density", "momentum_x"};
    info.provenance.transforms = {"log1p", "none"};
    info.provenance.mean = {0.5, 0.0};
    info.provenance.std = {0.25, 1.0};
    info.provenance.split = "train";
    io::LatentCacheWriter w(path, info);
    std::vector<float> states(static_cast<size_t>(info.n_states * info.state_numel()));
    for (size_t i = 0; i < states.size(); ++i) {
        states[i] = static_cast<float>(i);
    }
    const std::vector<float> label{1.4F, 1.0F, 2.0F};
    for (int64_t row = 0; row < info.n_rows; ++row) {
        w.write_states(row, 0, info.n_states, states.data());
        w.write_label(row, label.data());
    }
    w.commit();
}

void write_text(const fs::path& path, const char* text) { std::ofstream(path) << text; }

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    const fs::path dir(argv[1]);
    try {
        for (const char* sub : {"well", "latent_cache", "config"}) {
            fs::create_directories(dir / sub);
        }
        write_well(dir / "well" / "open_2d.hdf5", schema({4, 4}, 1, 3, io::BcType::kOpen));
        write_well(dir / "well" / "periodic_1d.hdf5", schema({6}, 2, 2, io::BcType::kPeriodic));
        io::WellSchema s3 = schema({2, 2, 2}, 1, 2, io::BcType::kWall);
        s3.fields[2] = {"stress"};
        write_well(dir / "well" / "wall_3d_t2.hdf5", s3);
        write_cache(dir / "latent_cache" / "cache.h5");
        write_text(dir / "config" / "groups.yaml",
                   "dataset:\n  name: euler_small\n  fields: [a, b]\n  stats:\n"
                   "    mean: [0.5, 1]\n    std: [1, 2]\noptim:\n  betas: [0.9, 0.95]\n");
        write_text(dir / "config" / "preset.yaml", "dataset: euler_small\noptim: soap\n");
        write_text(dir / "config" / "overrides.yaml",
                   "train.epochs=3\ndataset.fields=[x, y]\ntrain.extra.k=v\n"
                   "optim=adamw\n");
        write_text(dir / "config" / "anchors.yaml", "train: &t\n  epochs: 2\n  extra: {a: [1, 2]}\n  note: *t\n");
    } catch (const Error& e) {
        std::fprintf(stderr, "make_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
