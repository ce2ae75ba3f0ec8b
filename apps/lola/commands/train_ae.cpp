// lola train-ae: train an autoencoder on single states of a dataset preset (docs/method.md 3.6-3.7).
#include <CLI/CLI.hpp>

#include <torch/utils.h>

#include <filesystem>

#include "commands/commands.h"
#include "common.h"
#include "lola/autoencoder/loss.h"
#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/core/options.h"
#include "lola/train/data_parallel.h"
#include "lola/train/trainer.h"
#include "train_job.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

/// Autoencoder training: batches of single states (B, C, H, W), loss from the `loss` group.
class AeTask : public train::Task {
public:
    AeTask(autoencoder::AutoEncoder model, autoencoder::AeLossOptions loss, std::unique_ptr<data::BatchStream> train,
           std::shared_ptr<const data::WindowDataset> valid, data::LoaderOptions valid_opts, torch::Device device,
           data::Shard shard)
        : model_(std::move(model)),
          loss_(std::move(loss)),
          train_(std::move(train)),
          valid_(std::move(valid), std::move(valid_opts)),
          device_(device),
          shard_(shard) {}

    torch::nn::Module& module() override { return *model_; }

    torch::Tensor train_loss() override {
        data::Batch b = train_->next();
        last_ = b.global_size;
        weight_ = b.weight;
        // dropout and latent noise: a stream of this rank's own, salted with the step's data position
        const train::RankRandomness fork(shard_.rank, shard_.count, device_, position_salt(train_->position()));
        return loss_of(b);
    }
    int64_t last_batch_size() const override { return last_; }
    double last_batch_weight() const override { return weight_; }

    torch::Tensor valid_loss(int64_t index) override { return loss_of(valid_.get(index)); }

    std::vector<int64_t> data_position() const override { return train_->position(); }
    void seek(const std::vector<int64_t>& position) override { train_->seek(position); }

private:
    torch::Tensor loss_of(const data::Batch& b) {
        torch::Tensor x = b.state.squeeze(2).to(device_); // (B, C, 1, H, W) -> (B, C, H, W)
        torch::Tensor z = model_->encode(x);
        torch::Tensor x_hat = model_->decode(z);
        return autoencoder::ae_loss(x, x_hat, z, loss_);
    }

    autoencoder::AutoEncoder model_;
    autoencoder::AeLossOptions loss_;
    std::unique_ptr<data::BatchStream> train_;
    ValidBatches valid_;
    torch::Device device_;
    data::Shard shard_;
    int64_t last_ = 0;
    double weight_ = 1;
};

void run_train_ae(const TrainRunArgs& a) {
    TrainJob job(a);
    const fs::path dir = job.dir();
    core::Config cfg = compose_run_config(train_ae_defaults(), a);
    data::DatasetOptions dataset = core::read_options<data::DatasetOptions>(cfg, "dataset");
    autoencoder::AutoEncoderOptions ae = core::read_options<autoencoder::AutoEncoderOptions>(cfg, "ae");
    ae.resolve_pixel_channels(static_cast<int64_t>(dataset.fields.size()));
    autoencoder::AeLossOptions loss = autoencoder::AeLossOptions::from_config(cfg);
    const TrainSetup setup = train_setup(cfg, a);
    check_training_memory(autoencoder::count_parameters(ae), setup.device.is_cpu(),
                          "ae.lat_channels, ae.hid_channels or ae.hid_blocks");

    auto train_ds = std::make_shared<data::WindowDataset>(data::preset_split_files(dataset, "train"), 1, 1);
    auto valid_ds = std::make_shared<data::WindowDataset>(data::preset_split_files(dataset, "valid"), 1, 1);
    const auto shape = train_ds->sample_shape();
    for (size_t k = 2; k < shape.size(); ++k) {
        LOLA_CHECK_USAGE(shape[k] % ae.downsampling() == 0,
                         "the states are {} but ae '{}' downsamples by {}: every "
                         "spatial size must be a multiple of it",
                         fmt::join(shape.begin() + 2, shape.end(), "x"), ae.name, ae.downsampling());
    }

    cfg.set("ae.pixel_channels", YAML::Node(ae.pixel_channels));
    const torch::Device device = job.join(cfg, setup.device);
    if (job.writer()) {
        save_run_config(cfg, dir);
    }
    LOLA_LOG_INFO("train-ae: {} ({} parameters) on {} ({} train / {} valid states), run folder {}", ae.name,
                  autoencoder::count_parameters(ae), dataset.name, train_ds->size(), valid_ds->size(), dir.string());

    torch::manual_seed(cfg.get<uint64_t>("seed"));
    autoencoder::AutoEncoder model(ae);
    model->to(device);
    data::LoaderOptions train_opts = loader_options(cfg, dataset, true);
    train_opts.shard = job.shard();
    AeTask task(model, loss, std::make_unique<data::BatchStream>(train_ds, train_opts), valid_ds,
                loader_options(cfg, dataset, false), device, job.shard());
    train::Trainer trainer(dir, task, setup.optim, setup.trainer, job.group());
    log_train_summary("train-ae", trainer.run(a.resume));
}

} // namespace

void register_train_ae(CLI::App& app) {
    auto* cmd = app.add_subcommand("train-ae", "train an autoencoder (e.g. dataset=euler_small ae=dcae_small)");
    auto a = std::make_shared<TrainRunArgs>();
    add_train_run_args(*cmd, *a);
    cmd->callback([a] { run_train_ae(*a); });
}

} // namespace lola::app
