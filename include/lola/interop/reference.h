// Runs of the reference implementation (docs/reference.md): reading a reference run folder (its OmegaConf-resolved
// config.yaml and its state.pth), the one table that maps the reference's parameter names to ours, and importing the
// run as a lola run folder that `lola eval`, `lola emulate`, `lola info` and runtime::Emulator load unchanged.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "lola/autoencoder/autoencoder.h"
#include "lola/core/config.h"
#include "lola/interop/state_dict.h"
#include "lola/nn/backbone.h"
#include "lola/runtime/runs.h"

namespace lola::interop {

/// What a reference run trained: its config's model group is `ae`, `denoiser` or `surrogate`.
enum class RunKind { kAutoencoder, kDiffusion, kSurrogate };
const char* run_kind_name(RunKind kind);

/// A reference run folder: <dir>/config.yaml and <dir>/state.pth.
struct ReferenceRun {
    std::filesystem::path dir;
    RunKind kind = RunKind::kAutoencoder;
    YAML::Node config; ///< the whole config.yaml
    std::string name;  ///< config `name` (the run folder's name)
    StateDict state;   ///< state.pth
};

/// Read config.yaml (plain, resolved YAML) and state.pth. The kind is found from the model group; a config with
/// Hydra `defaults:` (not a run folder's resolved config) is refused. Errors name the folder and the file.
ReferenceRun read_reference_run(const std::filesystem::path& dir);

/// Only the config, without reading state.pth.
ReferenceRun read_reference_config(const std::filesystem::path& dir);

// ---- the name table -------------------------------------------------------------------------------------------------

/// One tensor of a reference state dict. `ours` is the name of the same tensor in our module, or empty for a
/// buffer we compute instead of storing (LayerNorm eps, sinusoidal frequencies): its value is then checked against
/// `expected` (what our code computes; docs/reference.md) and not copied.
struct NameEntry {
    std::string reference;
    std::string ours;
    std::vector<float> expected; ///< for a dropped buffer: its float32 values
    bool scalar = false;         ///< for a dropped buffer: 0-d (LayerNorm eps) rather than 1-D
};

/// The table for a model of these options: every reference name with its lola name. The autoencoder's table
/// depends on the levels and blocks; the emulators' on the blocks and the label. This is the only place that knows
/// the reference's module paths (docs/reference.md, "Parameter names").
std::vector<NameEntry> autoencoder_names(const autoencoder::AutoEncoderOptions& options);
std::vector<NameEntry> emulator_names(RunKind kind, const nn::BackboneOptions& options, int64_t label_dim);

/// Map a reference state dict onto `module`'s parameters and buffers through `table`: every tensor of the file must
/// be in the table and every table entry in the file (errors list the unknown and the missing names), shapes must
/// agree (errors name the tensor and both shapes), dropped buffers must hold their expected values. `file` names
/// the state dict in messages.
void load_reference_state(torch::nn::Module& module, const StateDict& state, const std::vector<NameEntry>& table,
                          const std::string& file);

/// The inverse direction (for tests and for a later export): our module's tensors under their reference names,
/// dropped buffers included with their expected values, in table order.
StateDict to_reference_state(torch::nn::Module& module, const std::vector<NameEntry>& table);

// ---- importing ------------------------------------------------------------------------------------------------------

/// The lola config of a reference autoencoder run (train_ae_defaults() + the translated groups). Reference options
/// we do not implement are refused by name (UsageError naming the key and its value).
core::Config autoencoder_config(const ReferenceRun& run);

/// The lola config of a reference emulator run, whose autoencoder is the lola run `ae` (already imported);
/// `ae_path` is recorded as model.ae_run (relative to the new run folder).
core::Config emulator_config(const ReferenceRun& run, const runtime::AeRun& ae, const std::string& ae_path);

/// The lola groups of a reference training config, composed (interop::compose_hydra) or a run folder's resolved
/// config.yaml: for an `ae` config dataset, ae, loss, optim, train and loader; for a `denoiser` or `surrogate`
/// config dataset, the backbone group, emulator, diffusion (denoiser), optim, train, loader and latents.ae (from
/// `ae_run`, when set). A map of lola keys, to merge over lola's defaults. Reference options lola does not implement
/// are refused by name; what only a cluster job uses (server except server.datasets, compute, wandb) and the run's
/// name, path and seed are not read. `file` names the config in errors.
YAML::Node training_config(const YAML::Node& reference, const std::string& file);

/// The imported autoencoder: config translated, model built, weights loaded (CPU, eval mode).
runtime::AeRun import_autoencoder(const ReferenceRun& run);

/// The imported emulator on the autoencoder run `ae` (its dir must be set).
runtime::EmulatorRun import_emulator(const ReferenceRun& run, const runtime::AeRun& ae, const std::string& ae_path);

struct ImportOptions {
    std::filesystem::path ae; ///< emulator runs: the lola autoencoder run imported from the reference's AE run
};

struct ImportReport {
    RunKind kind = RunKind::kAutoencoder;
    std::string name;       ///< the reference run's name
    int64_t parameters = 0; ///< of the imported model
    int64_t tensors = 0;    ///< tensors read from state.pth
};

/// Import the reference run `py_run` as the lola run folder `out`: config.yaml, state.pt (and state_best.pt when
/// the reference has state_best.pth) and reference.yaml (where it came from). Built under a temporary sibling name
/// and renamed onto `out` when complete: on any error nothing is left under `out`. `out` must not exist (or be an
/// empty folder).
ImportReport import_run(const std::filesystem::path& py_run, const std::filesystem::path& out,
                        const ImportOptions& options);

} // namespace lola::interop
