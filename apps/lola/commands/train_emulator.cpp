// lola train-diffusion and lola train-surrogate: train the latent diffusion model (docs/method.md 4) or the
// deterministic neural solver (docs/method.md 5) on windows of a latent cache, or on windows of the dataset itself for
// pixel-space models, with the shared training engine (checkpoints, exact resume, metrics.jsonl, progress).
#include <CLI/CLI.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

#include <filesystem>

#include "commands/commands.h"
#include "common.h"
#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/core/options.h"
#include "lola/data/latent_windows.h"
#include "lola/data/loader.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well.h"
#include "lola/nn/layers.h"
#include "lola/train/data_parallel.h"
#include "lola/train/trainer.h"
#include "train_job.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

/// Where the windows come from: a latent cache, or the dataset (pixel space, preprocessed on the fly).
class WindowSource {
public:
    virtual ~WindowSource() = default;
    virtual data::WindowBatch next_train() = 0;
    virtual data::WindowBatch valid(int64_t index) = 0;
    virtual std::vector<int64_t> position() const = 0;
    virtual void seek(const std::vector<int64_t>& position) = 0;
};

class LatentSource : public WindowSource {
public:
    LatentSource(std::shared_ptr<const data::LatentWindows> train, std::shared_ptr<const data::LatentWindows> valid,
                 int64_t batch, int64_t valid_batch, uint64_t seed, data::Shard shard)
        : train_(std::move(train), batch, seed, shard),
          valid_(valid, valid_batch, seed + 1),
          valid_windows_(std::move(valid)) {}
    data::WindowBatch next_train() override { return train_.next(); }
    /// Validation batch `index` of every epoch: slices of one fixed permutation of the valid windows.
    data::WindowBatch valid(int64_t index) override {
        const int64_t per_epoch = valid_windows_->size() / valid_.batch_size();
        return valid_windows_->get(valid_.indices(index / per_epoch, index % per_epoch));
    }
    std::vector<int64_t> position() const override { return train_.position(); }
    void seek(const std::vector<int64_t>& position) override { train_.seek(position); }

private:
    data::WindowStream train_;
    data::WindowStream valid_;
    std::shared_ptr<const data::LatentWindows> valid_windows_;
};

class PixelSource : public WindowSource {
public:
    PixelSource(std::unique_ptr<data::BatchStream> train, std::shared_ptr<const data::WindowDataset> valid,
                data::LoaderOptions valid_opts)
        : train_(std::move(train)), valid_(std::move(valid), std::move(valid_opts)) {}
    data::WindowBatch next_train() override {
        data::Batch b = train_->next();
        return {b.state, b.label, b.global_size, b.first_row, b.weight};
    }
    data::WindowBatch valid(int64_t index) override {
        data::Batch b = valid_.get(index);
        return {b.state, b.label};
    }
    std::vector<int64_t> position() const override { return train_->position(); }
    void seek(const std::vector<int64_t>& position) override { train_->seek(position); }

private:
    std::unique_ptr<data::BatchStream> train_;
    ValidBatches valid_;
};

/// The training task of both emulators: random context masks (docs/method.md 4.6) and the model's loss.
class EmulatorTask : public train::Task {
public:
    EmulatorTask(EmulatorRun& run, std::unique_ptr<WindowSource> source, torch::Device device, uint64_t seed,
                 data::Shard shard)
        : run_(run), source_(std::move(source)), device_(device), seed_(seed), shard_(shard) {}

    torch::nn::Module& module() override { return run_.module(); }
    torch::Tensor train_loss() override {
        data::WindowBatch b = source_->next_train();
        last_ = b.global_size > 0 ? b.global_size : b.window.size(0);
        weight_ = b.weight;
        return loss_of(b, std::nullopt); // the default generators: their states are in the checkpoints
    }
    int64_t last_batch_size() const override { return last_; }
    double last_batch_weight() const override { return weight_; }
    torch::Tensor valid_loss(int64_t index) override {
        // The same masks, times and noise for validation batch `index` every epoch, so epochs compare.
        at::Generator gen = at::detail::createCPUGenerator(data::mix_seed({seed_, static_cast<uint64_t>(index), 7}));
        return loss_of(source_->valid(index), gen);
    }
    std::vector<int64_t> data_position() const override { return source_->position(); }
    void seek(const std::vector<int64_t>& position) override { source_->seek(position); }

private:
    /// In data-parallel training (b is a shard), the masks, times and noise are drawn for the whole batch and the
    /// shard's rows kept: the ranks' generators stay alike and the shards see the single-process draws.
    torch::Tensor loss_of(const data::WindowBatch& b, const std::optional<at::Generator>& gen) {
        const torch::Tensor x = b.window.to(device_);
        const torch::Tensor label = run_.shape.label_dim > 0 ? b.label.to(device_) : torch::Tensor();
        const int64_t rows = x.size(0);
        const int64_t global = b.global_size > 0 ? b.global_size : rows;
        torch::Tensor known = diffusion::sample_context_mask(global, x.size(2), run_.emulator.mask, gen, device_);
        if (global != rows) {
            known = known.narrow(0, b.first_row, rows);
        }
        diffusion::LossNoise noise;
        if (run_.kind == EmulatorKind::kDiffusion) {
            noise = diffusion::draw_loss_noise(x, run_.emulator.time_prior, gen, b.first_row, global);
        }
        // the forward pass's dropout: a stream of this rank's own in training (validation draws nothing there)
        const train::RankRandomness fork(gen ? 0 : shard_.rank, gen ? 1 : shard_.count, device_,
                                         position_salt(source_->position()));
        if (run_.kind == EmulatorKind::kDiffusion) {
            return diffusion::denoiser_loss_at(*run_.preconditioned, x, label, known, noise.t, noise.eps);
        }
        return run_.solver->loss(x, known, label);
    }

    EmulatorRun& run_;
    std::unique_ptr<WindowSource> source_;
    torch::Device device_;
    uint64_t seed_;
    data::Shard shard_;
    int64_t last_ = 0;
    double weight_ = 1;
};

/// The training windows of an emulator run and what the run records about them (the model.* keys of config.yaml).
struct EmulatorData {
    std::unique_ptr<WindowSource> source;
    std::string description;                          ///< for the log
    int64_t time_stride = 1;                          ///< Delta in snapshots of the dataset
    std::vector<int64_t> spatial_shape, latent_shape; ///< latent_shape: empty in pixel space
    std::vector<std::string> label_names;
    std::string ae_run_path; ///< relative to the run folder; empty in pixel space
};

/// Windows of the latent cache in latents.dir (latents.ae, when empty, from the cache's provenance); sets run.shape.
EmulatorData latent_data(EmulatorRun& run, const std::string& latents, data::Shard shard) {
    core::Config& cfg = run.config;
    const uint64_t seed = cfg.get<uint64_t>("seed");
    const auto loader = core::read_options<runtime::LoaderGroup>(cfg, "loader");
    const int64_t batch = loader.batch_size, valid_batch = loader.valid_batch_size;
    EmulatorData d;
    const fs::path dir(latents);
    std::string ae = cfg.get<std::string>("latents.ae");
    if (ae.empty()) {
        const fs::path train_path = dir / "train.h5";
        LOLA_CHECK_USAGE(fs::exists(train_path),
                         "latents.dir={}: '{}' does not exist (run `lola cache-latents` "
                         "first)",
                         latents, train_path.string());
        ae = io::read_latent_cache_info(train_path).provenance.ae_run;
        cfg.apply_override("latents.ae=" + ae);
    }
    AeRun ae_run = load_ae_run(ae, torch::kCPU);
    const std::string hash = train::weights_hash(*ae_run.model);
    auto train_w = std::make_shared<const data::LatentWindows>(checked_cache(dir, "train", ae_run, hash),
                                                               run.emulator.window, run.emulator.stride);
    auto valid_w = std::make_shared<const data::LatentWindows>(checked_cache(dir, "valid", ae_run, hash),
                                                               run.emulator.window, run.emulator.stride);
    const auto& lat = train_w->info().latent_shape;
    run.shape = {"latent", lat[0], train_w->info().label_dim, static_cast<int64_t>(lat.size())};
    const int64_t cache_stride = train_w->info().provenance.stride;
    LOLA_CHECK_USAGE(valid_w->info().provenance.stride == cache_stride,
                     "latents.dir={}: the train cache holds "
                     "every {}th snapshot but the valid cache every {}th: re-run lola cache-latents for both",
                     latents, cache_stride, valid_w->info().provenance.stride);
    d.time_stride = run.emulator.stride * cache_stride;
    d.latent_shape = lat;
    for (size_t k = 1; k < lat.size(); ++k) {
        d.spatial_shape.push_back(lat[k] * ae_run.ae_options.downsampling());
    }
    d.ae_run_path = runtime::relative_path(ae, run.dir);
    // the normalisation is the autoencoder's: recorded here too, so that the run describes itself
    cfg.set("dataset", YAML::Clone(ae_run.config.at("dataset")));
    try { // the label's names come from the data; a cache without its data keeps generic names
        d.label_names = runtime::label_names(io::read_schema(data::preset_split_files(ae_run.dataset, "train")[0]));
    } catch (const Error& e) {
        LOLA_LOG_WARN(
            "the label's names are unknown (the dataset of {} is not reachable: {}); the run records "
            "none",
            ae, e.what());
    }
    LOLA_CHECK_USAGE(valid_w->size() >= valid_batch,
                     "the valid cache has {} windows, fewer than "
                     "loader.valid_batch_size={}",
                     valid_w->size(), valid_batch);
    d.source = std::make_unique<LatentSource>(train_w, valid_w, batch, valid_batch, seed, shard);
    d.description = fmt::format("latent cache {} ({} train / {} valid windows of [{}])", latents, train_w->size(),
                                valid_w->size(), fmt::join(train_w->window_shape(), ", "));
    return d;
}

/// Windows of the dataset itself (pixel space, preprocessed on the fly); sets run.shape.
EmulatorData pixel_data(EmulatorRun& run, data::Shard shard) {
    core::Config& cfg = run.config;
    EmulatorData d;
    d.time_stride = run.emulator.stride;
    data::DatasetOptions dataset = core::read_options<data::DatasetOptions>(cfg, "dataset");
    auto train_ds = std::make_shared<data::WindowDataset>(
        data::preset_split_files(dataset, "train"), run.emulator.window, run.emulator.stride, dataset.log_scalars);
    auto valid_ds = std::make_shared<data::WindowDataset>(
        data::preset_split_files(dataset, "valid"), run.emulator.window, run.emulator.stride, dataset.log_scalars);
    const auto shape = train_ds->sample_shape(); // (C, n, spatial...)
    std::vector<std::unique_ptr<io::WellReader>> readers;
    const int64_t label_dim = data::make_label(train_ds->get(0, readers)).numel();
    const auto expected = cfg.get<int64_t>("dataset.label_dim");
    LOLA_CHECK_USAGE(expected == 0 || expected == label_dim,
                     "dataset.label_dim={} but the files of {} give labels "
                     "of {} entries: fix the preset",
                     expected, dataset.name, label_dim);
    run.shape = {"pixel", shape[0], label_dim, static_cast<int64_t>(shape.size()) - 1};
    d.spatial_shape.assign(shape.begin() + 2, shape.end());
    d.label_names = runtime::label_names(train_ds->schema(0));
    data::LoaderOptions train_opts = loader_options(cfg, dataset, true);
    train_opts.shard = shard;
    d.source = std::make_unique<PixelSource>(std::make_unique<data::BatchStream>(train_ds, train_opts), valid_ds,
                                             loader_options(cfg, dataset, false));
    d.description = fmt::format("dataset {} ({} train / {} valid windows of [{}])", dataset.name, train_ds->size(),
                                valid_ds->size(), fmt::join(shape, ", "));
    return d;
}

/// The model.* keys that make the run folder describe itself (runtime::load_emulator_run reads them back).
void record_model(core::Config& cfg, const EmulatorRun& run, const EmulatorData& d) {
    cfg.set("model.space", YAML::Node(run.shape.space));
    cfg.set("model.channels", YAML::Node(run.shape.channels));
    cfg.set("model.label_dim", YAML::Node(run.shape.label_dim));
    cfg.set("model.spatial_axes", YAML::Node(run.shape.spatial_axes));
    cfg.set("model.time_stride", YAML::Node(d.time_stride));
    cfg.set("model.spatial_shape", YAML::Node(d.spatial_shape));
    cfg.set("model.latent_shape", YAML::Node(d.latent_shape));
    cfg.set("model.label_names", YAML::Node(d.label_names));
    cfg.set("model.ae_run", YAML::Node(d.ae_run_path));
}

void run_train_emulator(EmulatorKind kind, const TrainRunArgs& a) {
    const char* cmd = kind == EmulatorKind::kDiffusion ? "train-diffusion" : "train-surrogate";
    TrainJob job(a);
    EmulatorRun run;
    run.kind = kind;
    run.dir = job.dir();
    run.config = compose_run_config(train_emulator_defaults(kind), a);
    core::Config& cfg = run.config;
    run.emulator = EmulatorOptions::from_config(cfg);
    run.backbone = core::read_options<nn::BackboneOptions>(cfg, backbone_group(kind));
    const TrainSetup setup = train_setup(cfg, a);
    const uint64_t seed = cfg.get<uint64_t>("seed");
    const std::string latents = cfg.get<std::string>("latents.dir");
    const torch::Device device = job.join(cfg, setup.device);
    EmulatorData data = latents.empty() ? pixel_data(run, job.shard()) : latent_data(run, latents, job.shard());
    {
        EmulatorRun probe = run; // exact parameter count on the meta device: no memory
        nn::ParameterDeviceGuard meta(torch::kMeta);
        build_model(probe);
        check_training_memory(
            nn::count_parameters(probe.module()), device.is_cpu(),
            fmt::format("{0}.hid_channels, {0}.hid_blocks or {0}.attention_heads", backbone_group(kind)));
    }
    record_model(cfg, run, data);
    if (job.writer()) {
        save_run_config(cfg, run.dir);
    }

    torch::manual_seed(seed);
    build_model(run);
    run.module().to(device);
    LOLA_LOG_INFO("{}: {} backbone {} ({} parameters) on {}, run folder {}", cmd, kind_name(kind), run.backbone.name,
                  nn::count_parameters(run.module()), data.description, run.dir.string());
    EmulatorTask task(run, std::move(data.source), device, seed, job.shard());
    train::Trainer trainer(run.dir, task, setup.optim, setup.trainer, job.group());
    log_train_summary(cmd, trainer.run(a.resume));
}

void register_one(CLI::App& app, EmulatorKind kind) {
    const bool dm = kind == EmulatorKind::kDiffusion;
    auto* cmd = app.add_subcommand(dm ? "train-diffusion" : "train-surrogate",
                                   dm ? "train a latent (or pixel) diffusion emulator, e.g. latents.dir=runs/x/latents "
                                        "denoiser=small"
                                      : "train a deterministic neural solver, e.g. latents.dir=runs/x/latents "
                                        "surrogate=small (no latents.dir: pixel space on dataset=...)");
    auto a = std::make_shared<TrainRunArgs>();
    add_train_run_args(*cmd, *a);
    cmd->callback([a, kind] { run_train_emulator(kind, *a); });
}

} // namespace

void register_train_emulators(CLI::App& app) {
    register_one(app, EmulatorKind::kDiffusion);
    register_one(app, EmulatorKind::kSurrogate);
}

} // namespace lola::app
