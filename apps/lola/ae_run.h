// Autoencoder runs: the config schema of `lola train-ae`, and loading a trained run back (config.yaml + weights).
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <memory>

#include "lola/autoencoder/autoencoder.h"
#include "lola/core/config.h"
#include "lola/data/dataset.h"
#include "lola/data/loader.h"

namespace lola::app {

/// Defaults (= schema) of `lola train-ae`: dataset, ae, loss, optim, train, loader, seed, device.
YAML::Node train_ae_defaults();

/// Loader options of the `loader` group for a split (train: shuffled and augmented; others: fixed order, none).
data::LoaderOptions loader_options(const core::Config& cfg, const data::DatasetOptions& dataset, bool train);

struct AeRun {
    std::filesystem::path dir;
    core::Config config;
    data::DatasetOptions dataset;
    autoencoder::AutoEncoderOptions ae_options;
    autoencoder::AutoEncoder model{nullptr};
};

/// Load a trained autoencoder run: its resolved config.yaml and `state.pt` (or `state_best.pt` with `best`), on
/// `device`, in eval mode. Errors name the folder and the missing file.
AeRun load_ae_run(const std::filesystem::path& dir, torch::Device device, bool best = false);

/// "cpu" or "cuda" (checked: cuda must be available).
torch::Device parse_device(const std::string& name);

} // namespace lola::app
