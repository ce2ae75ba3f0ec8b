// lola cache-latents: encode every trajectory of each split with a trained autoencoder into a latent cache
// (docs/method.md 2.4-2.5, 3.8), one HDF5 file per split with its provenance (include/lola/io/latent_cache.h).
#include <CLI/CLI.hpp>

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "commands/commands.h"
#include "common.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"
#include "lola/data/augment.h"
#include "lola/data/loader.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well.h"
#include "lola/train/trainer.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

struct CacheLatentsArgs {
    std::string ae;
    std::string out;
    int64_t repeat = 4;
    std::vector<std::string> splits{"train", "valid", "test"};
    int64_t stride = 1;
    int64_t batch = 16;
    std::string device = "cpu";
    uint64_t seed = 0;
    bool best = false;
    std::string data_root;
};

uint64_t split_tag(const std::string& split) { return split == "train" ? 0 : split == "valid" ? 1 : 2; }

/// Encode one split into `<out>/<split>.h5`.
void cache_split(AeRun& run, const std::string& weights_hash, const CacheLatentsArgs& a, const std::string& split,
                 torch::Device device) {
    const data::DatasetOptions& ds_opts = run.dataset;
    const std::vector<fs::path> files = data::preset_split_files(ds_opts, split);
    // One "window" per snapshot: the dataset gives each trajectory's label parts (bc, log_scalars applied) and checks
    // the files; the states themselves are read in batches straight from the readers.
    const data::WindowDataset ds(files, 1, 1, ds_opts.log_scalars);
    const io::WellSchema& first = ds.schema(0);
    const int64_t n_steps = first.n_steps();
    std::vector<int64_t> file_offset; // dataset index of (file, trajectory 0, t 0)
    int64_t n_traj = 0, offset = 0;
    for (size_t f = 0; f < files.size(); ++f) {
        const io::WellSchema& s = ds.schema(static_cast<int64_t>(f));
        LOLA_CHECK(s.n_steps() == n_steps && s.resolution == first.resolution,
                   "'{}' has {} steps of {} cells but "
                   "'{}' has {} of {}: one cache needs one trajectory shape",
                   files[f].string(), s.n_steps(), fmt::join(s.resolution, "x"), files[0].string(), n_steps,
                   fmt::join(first.resolution, "x"));
        file_offset.push_back(offset);
        offset += s.n_trajectories * s.n_steps();
        n_traj += s.n_trajectories;
    }
    const int64_t n_states = (n_steps - 1) / a.stride + 1; // t = 0, stride, 2 stride, ...

    // Train: `repeat` copies with distinct random augmentations. Valid: one copy, still randomly augmented, as the
    // reference caches it (docs/method.md 2.4, 3.8). Test: one copy, never augmented (evaluation sees the data as is).
    const int64_t repeat = split == "train" ? a.repeat : 1;
    std::vector<data::Augmentation> augs;
    std::vector<std::string> aug_names;
    if (split != "test") {
        aug_names = ds_opts.augment;
        for (const auto& name : aug_names) {
            augs.push_back(data::parse_augmentation(name));
        }
    }
    const data::Preprocessor pre = ds_opts.preprocessor();

    // The latent shape and label size, from one encoded state.
    std::vector<std::unique_ptr<io::WellReader>> readers;
    data::Sample probe = ds.get(0, readers);
    std::vector<int64_t> latent_shape;
    {
        torch::NoGradGuard no_grad;
        torch::Tensor z = run.model->encode(pre.forward(probe.state.transpose(0, 1), 1).to(device));
        latent_shape.assign(z.sizes().begin() + 1, z.sizes().end());
    }

    io::LatentCacheInfo info;
    info.n_trajectories = n_traj;
    info.n_rows = n_traj * repeat;
    info.n_states = n_states;
    info.latent_shape = latent_shape;
    info.label_dim = data::make_label(probe).numel();
    io::LatentCacheProvenance& p = info.provenance;
    p.ae_run = run.dir.string();
    p.ae_weights_hash = weights_hash;
    p.dataset = ds_opts.name;
    p.fields = ds_opts.fields;
    p.transforms = ds_opts.transform;
    p.mean = ds_opts.mean;
    p.std = ds_opts.std;
    p.augment = aug_names;
    p.stride = a.stride;
    p.split = split;
    p.repeat = repeat;
    p.seed = a.seed;

    const fs::path path = fs::path(a.out) / (split + ".h5");
    LOLA_LOG_INFO("cache-latents: {} -> {}: {} trajectories x {} copies, {} states each (stride {}), latents [{}]{}",
                  split, path.string(), n_traj, repeat, n_states, a.stride, fmt::join(latent_shape, ", "),
                  augs.empty() ? ", not augmented" : fmt::format(", augmented ({})", fmt::join(aug_names, ", ")));
    io::LatentCacheWriter writer(path, info);

    const auto start = std::chrono::steady_clock::now();
    const int64_t log_every = (info.n_rows + 9) / 10;     // about ten progress lines per split
    std::vector<int64_t> chunk_shape = ds.sample_shape(); // (C, 1, spatial...)
    torch::NoGradGuard no_grad;
    for (int64_t copy = 0; copy < repeat; ++copy) {
        int64_t g = 0; // trajectory index within the split
        for (size_t f = 0; f < files.size(); ++f) {
            const io::WellSchema& schema = ds.schema(static_cast<int64_t>(f));
            const auto channel_axes = schema.channel_axes();
            for (int64_t traj = 0; traj < schema.n_trajectories; ++traj, ++g) {
                const int64_t row = copy * n_traj + g;
                // The label parts of this trajectory (its first state is read again below; that is cheap).
                data::Sample meta = ds.get(file_offset[f] + traj * schema.n_steps(), readers);
                const io::WellReader& reader = *readers[f];
                // The same augmentation for every state of the trajectory: each batch replays the row's random draws
                // from the same seed (they depend only on the shape and the boundary codes).
                const uint64_t row_seed = data::mix_seed({a.seed, split_tag(split), static_cast<uint64_t>(copy),
                                                          static_cast<uint64_t>(g), 0x4c4154454e54ULL});
                for (int64_t t0 = 0; t0 < n_states; t0 += a.batch) {
                    const int64_t n = std::min(a.batch, n_states - t0);
                    chunk_shape[1] = n;
                    data::Sample chunk;
                    chunk.state = torch::empty(chunk_shape, torch::kFloat32); // (C, n, spatial...) physical units
                    reader.read_window(traj, t0 * a.stride, n, a.stride, chunk.state.data_ptr<float>());
                    chunk.bc = meta.bc;
                    chunk.scalars = meta.scalars;
                    if (!augs.empty()) {
                        std::mt19937_64 rng(row_seed);
                        data::augment(chunk, channel_axes, augs, rng);
                    }
                    if (t0 == 0) {
                        torch::Tensor label = data::make_label(chunk); // the BC codes follow the augmentation
                        writer.write_label(row, label.data_ptr<float>());
                    }
                    torch::Tensor x = pre.forward(chunk.state.transpose(0, 1), 1).to(device); // (n, C, spatial...)
                    torch::Tensor z = run.model->encode(x).to(torch::kCPU).contiguous();      // saturated, no noise
                    writer.write_states(row, t0, n, z.data_ptr<float>());
                }
                if ((row + 1) % log_every == 0 || row + 1 == info.n_rows) {
                    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                    LOLA_LOG_INFO("cache-latents: {} {:>6}/{} trajectories | {:.1f} s | {:.1f} states/s", split,
                                  row + 1, info.n_rows, s, static_cast<double>((row + 1) * n_states) / s);
                }
            }
        }
    }
    writer.commit();
}

void run_cache_latents(const CacheLatentsArgs& a) {
    LOLA_CHECK_USAGE(a.repeat >= 1, "--repeat must be >= 1, got {}", a.repeat);
    LOLA_CHECK_USAGE(a.stride >= 1, "--stride must be >= 1, got {}", a.stride);
    LOLA_CHECK_USAGE(a.batch >= 1, "--batch must be >= 1, got {}", a.batch);
    LOLA_CHECK_USAGE(!a.splits.empty(), "--splits is empty");
    for (const auto& s : a.splits) {
        LOLA_CHECK_USAGE(s == "train" || s == "valid" || s == "test", "unknown split '{}' (valid: train, valid, test)",
                         s);
    }
    const torch::Device device = parse_device(a.device);
    AeRun run = load_ae_run(a.ae, device, a.best);
    if (!a.data_root.empty()) {
        run.dataset.root = a.data_root;
    }
    const std::string hash = train::weights_hash(*run.model);
    LOLA_LOG_INFO("cache-latents: autoencoder {} ({}, weights {}) on dataset {} (root {})", run.dir.string(),
                  run.ae_options.name, hash, run.dataset.name, run.dataset.root);
    const core::FolderLock lock = core::claim_folder(a.out, "latent cache folder");
    for (const auto& split : a.splits) {
        cache_split(run, hash, a, split, device);
    }
}

} // namespace

void register_cache_latents(CLI::App& app) {
    auto* cmd = app.add_subcommand("cache-latents",
                                   "encode every split of an autoencoder run's dataset into latent "
                                   "caches DIR/{train,valid,test}.h5");
    auto a = std::make_shared<CacheLatentsArgs>();
    cmd->add_option("--ae", a->ae, "autoencoder run folder (from 'lola train-ae')")->required();
    cmd->add_option("--out", a->out, "output folder for <split>.h5")->required()->check(non_empty());
    cmd->add_option("--repeat", a->repeat, "copies of the train split, each with its own random augmentation")
        ->capture_default_str();
    cmd->add_option("--splits", a->splits, "splits to encode (comma separated)")->delimiter(',')->capture_default_str();
    cmd->add_option("--stride", a->stride, "time stride between cached states, in snapshots")->capture_default_str();
    cmd->add_option("--batch", a->batch, "states encoded at once")->capture_default_str();
    cmd->add_option("--device", a->device, "cpu or cuda")->capture_default_str();
    cmd->add_option("--seed", a->seed, "seed of the augmentations")->capture_default_str();
    cmd->add_flag("--best", a->best, "use the best-validation weights (state_best.pt) instead of the last");
    cmd->add_option("--data-root", a->data_root, "override the run's dataset.root (folder of the Well datasets)");
    cmd->callback([a] { run_cache_latents(*a); });
}

} // namespace lola::app
