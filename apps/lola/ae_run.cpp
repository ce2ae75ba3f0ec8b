#include "ae_run.h"

#include <torch/cuda.h>

#include "lola/autoencoder/loss.h"
#include "lola/core/error.h"
#include "lola/train/optimizer.h"
#include "lola/train/trainer.h"

namespace lola::app {

namespace fs = std::filesystem;

YAML::Node train_ae_defaults() {
    YAML::Node n(YAML::NodeType::Map);
    n["dataset"] = data::DatasetOptions::defaults();
    n["ae"] = autoencoder::AutoEncoderOptions::defaults();
    n["loss"] = autoencoder::AeLossOptions::defaults();
    n["optim"] = train::OptimOptions::defaults();
    n["train"] = train::TrainerOptions::defaults();
    YAML::Node loader(YAML::NodeType::Map);
    loader["batch_size"] = 8;
    loader["valid_batch_size"] = 16;
    loader["workers"] = 2;
    loader["prefetch"] = 4;
    n["loader"] = loader;
    n["seed"] = 0;
    n["device"] = "cpu";
    return n;
}

data::LoaderOptions loader_options(const core::Config& cfg, const data::DatasetOptions& dataset, bool train) {
    data::LoaderOptions o;
    o.batch_size = cfg.get<int64_t>(train ? "loader.batch_size" : "loader.valid_batch_size");
    o.workers = cfg.get<int>("loader.workers");
    o.prefetch = cfg.get<int>("loader.prefetch");
    o.seed = cfg.get<uint64_t>("seed") + (train ? 0 : 1);
    o.shuffle = true; // validation also draws a (fixed) random subset of states
    if (train) {
        for (const auto& a : dataset.augment) {
            o.augment.push_back(data::parse_augmentation(a));
        }
    }
    o.preprocess = dataset.preprocessor();
    return o;
}

torch::Device parse_device(const std::string& name) {
    if (name == "cpu") {
        return torch::kCPU;
    }
    if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
        LOLA_CHECK_USAGE(torch::cuda::is_available(), "device={} but CUDA is not available on this machine (use "
                         "device=cpu)", name);
        return torch::Device(name);
    }
    LOLA_THROW_USAGE("unknown device '{}' (valid: cpu, cuda, cuda:N)", name);
}

AeRun load_ae_run(const fs::path& dir, torch::Device device, bool best) {
    LOLA_CHECK_USAGE(fs::is_directory(dir), "autoencoder run folder '{}' does not exist", dir.string());
    LOLA_CHECK(fs::exists(dir / "config.yaml"), "'{}' has no config.yaml (not a 'lola train-ae' run folder?)",
               dir.string());
    AeRun run{dir, core::Config(train_ae_defaults()), {}, {}, nullptr};
    run.config.merge_file(dir / "config.yaml");
    run.dataset = data::DatasetOptions::from_config(run.config);
    run.ae_options = autoencoder::AutoEncoderOptions::from_config(run.config);
    run.ae_options.resolve_pixel_channels(static_cast<int64_t>(run.dataset.fields.size()));
    run.model = autoencoder::AutoEncoder(run.ae_options);
    const fs::path weights = best ? train::Trainer::best_weights_path(dir) : train::Trainer::weights_path(dir);
    LOLA_CHECK(fs::exists(weights), "'{}' has no {} (training not finished one epoch?)", dir.string(),
               weights.filename().string());
    train::load_weights(*run.model, weights);
    run.model->to(device);
    run.model->eval();
    return run;
}

} // namespace lola::app
