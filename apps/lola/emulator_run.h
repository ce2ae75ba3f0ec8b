// Emulator runs (paper.md 4-5): the config schema of `lola train-diffusion` and `lola train-surrogate`, building the
// model from a run's config, and loading a trained run back for `lola emulate` and `lola eval`.
//
// A latent emulator trains on a latent cache (`latents.dir`, from `lola cache-latents`) of an autoencoder run
// (`latents.ae`, by default the run recorded in the cache); a pixel-space emulator (`latents.dir` empty) trains on
// windows of the dataset itself (`dataset` group). The run's config.yaml records the resolved model shape in the
// `model` group, so a run is self-describing.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "ae_run.h"
#include "lola/core/config.h"
#include "lola/diffusion/denoiser.h"
#include "lola/diffusion/loss.h"
#include "lola/diffusion/model.h"
#include "lola/surrogate/solver.h"

namespace lola::app {

enum class EmulatorKind { diffusion, surrogate };
const char* kind_name(EmulatorKind kind);
/// The config group of the backbone: "denoiser" or "surrogate".
const char* backbone_group(EmulatorKind kind);

/// Defaults (= schema) of `lola train-diffusion` / `lola train-surrogate`.
YAML::Node train_emulator_defaults(EmulatorKind kind);

/// The emulator part of a run's config: window, stride, masks, and (diffusion) schedule and sampler.
struct EmulatorOptions {
    int64_t window = 5;               ///< states per window (n + 1)
    int64_t stride = 4;               ///< Delta, in states of the latent cache (or snapshots of the dataset)
    diffusion::MaskOptions mask;      ///< random context masks of training (paper.md 4.6)
    std::string schedule = "log_logit";
    double sigma_min = 1e-3, sigma_max = 1e3;
    diffusion::TimePrior time_prior;
    std::string sampler = "ab";       ///< sampling at evaluation (paper.md 7.1)
    int64_t steps = 16;
    double eta = 0.0;                 ///< DDIM's eta

    static EmulatorOptions from_config(const core::Config& cfg);
};

/// The shape a run's model was built for (the `model` group of its config.yaml).
struct ModelShape {
    std::string space;          ///< latent | pixel
    int64_t channels = 0;       ///< channels per state (latent or pixel)
    int64_t label_dim = 0;
    int64_t spatial_axes = 0;   ///< spatial rank + 1
};

/// A trained (or training) emulator: one of the two models is set.
struct EmulatorRun {
    std::filesystem::path dir;
    EmulatorKind kind = EmulatorKind::diffusion;
    core::Config config;
    EmulatorOptions emulator;
    ModelShape shape;
    nn::BackboneOptions backbone;
    diffusion::DenoiserNet denoiser{nullptr};
    surrogate::NeuralSolver solver{nullptr};
    std::shared_ptr<diffusion::PreconditionedDenoiser> preconditioned; ///< diffusion only

    torch::nn::Module& module();
    bool latent() const { return shape.space == "latent"; }
    /// The autoencoder run folder of a latent emulator.
    std::filesystem::path ae_dir() const;
};

/// Build the model of `run.kind` from run.backbone and run.shape (fresh initialisation).
void build_model(EmulatorRun& run);

/// Load a trained run: config.yaml, the model, `state.pt` (or `state_best.pt` with `best`), on `device`, eval mode.
EmulatorRun load_emulator_run(const std::filesystem::path& dir, torch::Device device, bool best = false);

/// The latent cache file of `split` in `dir`, checked against the autoencoder run `ae` whose weights hash to
/// `ae_hash` (weights hash, dataset, fields, transforms, standardisation): a cache made by another autoencoder or for
/// other data is refused with both values named.
std::filesystem::path checked_cache(const std::filesystem::path& dir, const std::string& split, const AeRun& ae,
                                    const std::string& ae_hash);

} // namespace lola::app
