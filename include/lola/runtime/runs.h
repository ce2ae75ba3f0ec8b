// Run folders (docs/runtime.md): the config schemas of `lola train-ae`, `lola train-diffusion` and
// `lola train-surrogate`, building an emulator's model from its config, and loading trained runs back.
//
// A latent emulator trains on a latent cache (`latents.dir`, from `lola cache-latents`) of an autoencoder run; a
// pixel-space emulator (`latents.dir` empty) on windows of the dataset itself. Training records in the run's
// config.yaml the `model` group: what the model was built for (space, channels, label size and names, axes, spatial
// and latent shapes, Delta in snapshots) and where its autoencoder run is, relative to the run folder, so that a run
// folder moved together with its autoencoder (or copied to another machine) loads as it was.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lola/autoencoder/autoencoder.h"
#include "lola/core/config.h"
#include "lola/data/dataset.h"
#include "lola/diffusion/denoiser.h"
#include "lola/diffusion/loss.h"
#include "lola/diffusion/model.h"
#include "lola/nn/backbone.h"
#include "lola/surrogate/solver.h"

namespace lola::io {
struct WellSchema;
}

namespace lola::runtime {

/// The version of the run-folder layout that training writes (`format_version` in config.yaml; runs from before it
/// was recorded read as 0 and still load).
inline constexpr int64_t kRunFormatVersion = 1;

/// "cpu" or "cuda[:N]" (checked: CUDA must be available).
torch::Device parse_device(const std::string& name);

/// The `loader` config group of the training commands: batch sizes and reader threads (data::LoaderOptions is one
/// loader's options, built from it).
struct LoaderGroup {
    int64_t batch_size = 8;
    int64_t valid_batch_size = 16;
    int64_t workers = 2;
    int64_t prefetch = 4;

    /// Every key of the group, once (core/options.h).
    template <class Self, class Visitor>
    static void describe(Self& o, Visitor& v) {
        v("batch_size", o.batch_size, "training batch size (the global batch in data-parallel training)");
        v("valid_batch_size", o.valid_batch_size, "validation batch size");
        v("workers", o.workers, "reader threads");
        v("prefetch", o.prefetch, "batches read ahead of the trainer");
    }
    /// Sizes >= 1; errors name `key`.<field>.
    void validate(const std::string& key = "loader") const;
};

// ---- autoencoder runs -----------------------------------------------------------------------------------------------

/// Defaults (= schema) of `lola train-ae`: dataset, ae, loss, optim, train, loader, seed, device, format_version.
YAML::Node train_ae_defaults();

struct AeRun {
    std::filesystem::path dir;
    core::Config config;
    data::DatasetOptions dataset;
    autoencoder::AutoEncoderOptions ae_options;
    autoencoder::AutoEncoder model{nullptr};
};

/// The autoencoder of an AE run's (or a model file's) config, built but with initial weights.
AeRun build_ae_run(core::Config config);

/// Load a trained autoencoder run: its resolved config.yaml and `state.pt` (or `state_best.pt` with `best`), on
/// `device`, in eval mode. Errors name the folder and the missing file.
AeRun load_ae_run(const std::filesystem::path& dir, torch::Device device, bool best = false);

// ---- emulator runs --------------------------------------------------------------------------------------------------

enum class EmulatorKind { kDiffusion, kSurrogate };
const char* kind_name(EmulatorKind kind);
/// The config group of the backbone: "denoiser" or "surrogate".
const char* backbone_group(EmulatorKind kind);

/// Defaults (= schema) of `lola train-diffusion` / `lola train-surrogate`.
YAML::Node train_emulator_defaults(EmulatorKind kind);

/// The emulator part of a run's config: the `emulator` group (window, stride, masks) and, for a diffusion model, the
/// `diffusion` group (schedule, training-time prior, sampler). Their keys and meaning are in Window and Diffusion.
struct EmulatorOptions {
    int64_t window = 5;
    int64_t stride = 4;
    diffusion::MaskOptions mask;
    std::string schedule = "log_logit";
    double sigma_min = 1e-3, sigma_max = 1e3;
    std::string schedule_precision = "float64";
    diffusion::TimePrior time_prior;
    std::string sampler = "ab";
    int64_t steps = 16;
    double eta = 0.0;

    /// The keys of the context masks (the `emulator.mask` sub-group).
    struct Mask {
        template <class Self, class Visitor>
        void operator()(Self& o, Visitor& v) const {
            v("lambda", o.mask.lambda, "Poisson rate of the number of known states (docs/method.md 4.6)");
            v("rho", o.mask.rho, "probability of a forward mask (known states first)");
            v("atleast", o.mask.atleast, "minimum number of known states");
        }
    };
    /// Every key of the `emulator` group, once (core/options.h).
    struct Window {
        template <class Self, class Visitor>
        void operator()(Self& o, Visitor& v) const {
            v("window", o.window, "states per window (n + 1)");
            v("stride", o.stride, "Delta, in states of the latent cache (or snapshots of the dataset)");
            v.group("mask", o, Mask{}, "random context masks of training (docs/method.md 4.6)");
        }
    };
    /// Every key of the `diffusion` group, once (core/options.h).
    struct Diffusion {
        template <class Self, class Visitor>
        void operator()(Self& o, Visitor& v) const {
            v("schedule", o.schedule, "log_logit | log_linear");
            v("sigma_min", o.sigma_min, "sigma at t = 0");
            v("sigma_max", o.sigma_max, "sigma at t = 1");
            v("schedule_precision", o.schedule_precision,
              "float64 (the schedule in float64 whatever the samples' dtype) | input_dtype (in the samples' dtype, as "
              "the reference; docs/reference.md)");
            v("time_prior", o.time_prior.name, "training times: uniform | beta | kumaraswamy");
            v("prior_a", o.time_prior.a, "first parameter of the beta or kumaraswamy prior");
            v("prior_b", o.time_prior.b, "second parameter of the beta or kumaraswamy prior");
            v("sampler", o.sampler, "sampling at evaluation: ddpm | ddim | ab | eab | pc (docs/method.md 7.1)");
            v("steps", o.steps, "sampler steps");
            v("eta", o.eta, "DDIM's eta in azula's convention (docs/reference.md)");
        }
    };

    /// The `emulator` group and, when the config has one, the `diffusion` group; validated.
    static EmulatorOptions from_config(const core::Config& cfg);
    /// Window, masks and (`diffusion`) the schedule, prior and sampler; errors name the key.
    void validate(bool diffusion) const;
};

/// The shape a run's model was built for (the `model` group of its config.yaml).
struct ModelShape {
    std::string space;    ///< latent | pixel
    int64_t channels = 0; ///< channels per state (latent or pixel)
    int64_t label_dim = 0;
    int64_t spatial_axes = 0; ///< spatial rank + 1
};

/// A trained (or training) emulator: one of the two models is set.
struct EmulatorRun {
    std::filesystem::path dir;
    EmulatorKind kind = EmulatorKind::kDiffusion;
    core::Config config;
    EmulatorOptions emulator;
    ModelShape shape;
    nn::BackboneOptions backbone;
    diffusion::DenoiserNet denoiser{nullptr};
    surrogate::NeuralSolver solver{nullptr};
    std::shared_ptr<diffusion::PreconditionedDenoiser> preconditioned; ///< diffusion only

    torch::nn::Module& module();
    bool latent() const { return shape.space == "latent"; }
    /// The autoencoder run folder of a latent emulator: `model.ae_run` relative to the run folder (or absolute), else
    /// (runs trained before it was recorded) `latents.ae`.
    std::filesystem::path ae_dir() const;
};

/// Build the model of `run.kind` from run.backbone and run.shape (fresh initialisation).
void build_model(EmulatorRun& run);

/// An emulator run from its resolved config (kind from model.kind), built with initial weights, on the CPU.
EmulatorRun build_emulator_run(core::Config config);

/// Load a trained run: config.yaml, the model, `state.pt` (or `state_best.pt` with `best`), on `device`, eval mode.
EmulatorRun load_emulator_run(const std::filesystem::path& dir, torch::Device device, bool best = false);

/// The latent cache file of `split` in `dir`, checked against the autoencoder run `ae` whose weights hash to
/// `ae_hash` (weights hash, dataset, fields, transforms, standardisation): a cache made by another autoencoder or for
/// other data is refused with both values named. Any time stride of the cache is accepted.
std::filesystem::path checked_cache(const std::filesystem::path& dir, const std::string& split, const AeRun& ae,
                                    const std::string& ae_hash);

/// The label entries of a Well file's trajectories (data::make_label's order): its constant scalars in file order,
/// then bc_<axis>_lower, bc_<axis>_upper for each spatial axis.
std::vector<std::string> label_names(const io::WellSchema& schema);

/// `target` relative to `base` when both are given as paths that can be made absolute (for paths stored in a run).
std::string relative_path(const std::filesystem::path& target, const std::filesystem::path& base);

} // namespace lola::runtime
