// A trained emulator as a library object (docs/runtime.md): load a run folder or a `.lola` model file, ask what it
// expects (its card), and forecast physical states from physical states. The C API (lola/lola.h) and the Fortran
// binding wrap this class; `lola emulate` and `lola eval` call it too, so all give the same numbers.
//
// A forecast (docs/method.md 1 and 8): the context states are standardised (the dataset's transforms and statistics),
// encoded by the autoencoder (latent models), rolled out window by window by the diffusion sampler with the masked
// denoiser or by the neural solver, decoded, and mapped back to physical units. Diffusion models return an ensemble.
// Randomness comes only from the generator the caller passes: the global torch generator is never touched.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lola::io {
struct WellSchema;
}
namespace lola::data {
struct DatasetOptions;
}

namespace lola::runtime {

/// The version of the `.lola` model file format this library writes and reads (docs/runtime.md).
inline constexpr int64_t kModelFormatVersion = 1;

/// What a model expects and gives: everything a caller needs to build its inputs.
struct ModelCard {
    std::string kind;                     ///< "diffusion" or "surrogate" (the deterministic neural solver)
    std::string space;                    ///< "latent" (with an autoencoder) or "pixel"
    std::string dataset;                  ///< the dataset preset it was trained on, e.g. euler_small
    std::vector<std::string> fields;      ///< channel names in order, components expanded (momentum_x, momentum_y)
    std::vector<int64_t> spatial_shape;   ///< the states' spatial sizes it was trained on, e.g. {64, 64}
    std::vector<std::string> label_names; ///< the label's entries in order: constant scalars, then bc_<axis>_<side>
    std::vector<std::string> log_scalars; ///< label entries the model sees as their natural log (applied by forecast)
    int64_t time_stride = 1;              ///< Delta: snapshots of the raw simulation between consecutive states
    int64_t window = 5;                   ///< states per window, n + 1
    int64_t max_context = 4;              ///< forecasts take 1 .. max_context context states (window - 1)
    std::vector<int64_t> latent_shape;    ///< (C_lat, h, w[, d]) of latent models; empty for pixel models
    double compression = 1.0;             ///< values per state / values per latent state (1 for pixel models)
    int64_t emulator_parameters = 0;
    int64_t autoencoder_parameters = 0; ///< 0 for pixel models
    std::string sampler;                ///< diffusion: default sampler and steps of forecasts
    int64_t sampler_steps = 0;
    int64_t format_version = kModelFormatVersion;

    int64_t n_fields() const { return static_cast<int64_t>(fields.size()); }
    int64_t label_dim() const { return static_cast<int64_t>(label_names.size()); }
    /// A readable multi-line summary (`lola info model.lola`).
    std::string to_text() const;
};

struct LoadOptions {
    std::filesystem::path autoencoder; ///< run folders: use this autoencoder run instead of the recorded one
    bool best = false;                 ///< run folders: the best-validation weights (state_best.pt) instead of the last
};

/// Guidance of a diffusion forecast by observations of the states it forecasts (docs/method.md 7.2, MMPS): every
/// window is conditioned on y = A(x) + noise for its generated states, A applied to the decoded, standardised states.
struct GuidanceOptions {
    std::string observe;    ///< "subsample:K" or "downscale:K" (ObservationOperator::parse); empty: no guidance
    torch::Tensor observed; ///< (C, n_states, *S) physical states the observations are taken from (e.g. the truth);
                            ///< only the cells A reads matter
    double noise = 0.01;    ///< standard deviation of the noise added to A(x), in standardised units; var_y = noise^2
    int64_t iterations = 1; ///< GMRES iterations per denoiser call (the paper: 1)

    bool enabled() const { return !observe.empty(); }
};

struct ForecastOptions {
    int64_t members = 1;          ///< ensemble members (diffusion); the neural solver gives 1
    std::string sampler;          ///< diffusion sampler (ddpm, ddim, ab, eab, pc); empty: the card's
    int64_t steps = 0;            ///< sampler steps; 0: the card's
    double eta = -1;              ///< DDIM's eta in azula's convention (docs/reference.md); < 0: the model's
    int64_t overlap = -1;         ///< known states of every window after the first; -1: the context (the paper)
    int64_t crop = -1;            ///< states kept of every window, as the reference counts them; -1: the whole window
    bool include_context = false; ///< also return the model's view of the context states, first (see forecast())
    int64_t decode_chunk = 16;    ///< states decoded at once (memory only; 0: all)
    double* seconds = nullptr;    ///< when set, receives the wall time of the rollout and the decoding
    GuidanceOptions guidance;     ///< diffusion only: condition the forecast on observations
};

class Emulator {
public:
    /// Load a run folder (of `lola train-diffusion` or `lola train-surrogate`, with its autoencoder run) or a `.lola`
    /// model file (`lola export`) onto `device`. Errors (lola::Error) name the file and what to do: a missing file, a
    /// model file of another format version, weights that do not match the configuration.
    static Emulator load(const std::filesystem::path& path, torch::Device device = torch::kCPU,
                         const LoadOptions& options = {});

    const ModelCard& card() const;
    torch::Device device() const;
    /// The dataset group it was trained with (fields, transforms, statistics, and where the data was: `root`).
    const data::DatasetOptions& dataset() const;

    /// Forecast `n_states` states after `context` (C, c, *S): c states of the card's fields (in order, physical units,
    /// time_stride snapshots apart, 1 <= c <= max_context) on the card's spatial grid; `label` holds the card's
    /// label_names in physical units (log_scalars are applied here). Returns (K, C, n_states, *S) float32 physical
    /// units on the model's device (K = options.members for diffusion, 1 for the solver); with
    /// options.include_context, (K, C, c + n_states, *S) whose first c states are the model's view of the context
    /// (the autoencoder's reconstruction for latent models, the context itself for pixel models). Samples draw from
    /// `generator` only (a CPU generator for CPU models; see make_generator). With options.guidance enabled (diffusion
    /// models), the observation noise is drawn first, once per forecast and shared by the members; a guidance that does
    /// not fit (a solver, an operator whose factor does not divide the grid, observed states of the wrong shape) is a
    /// UsageError before anything is sampled.
    torch::Tensor forecast(const torch::Tensor& context, const torch::Tensor& label, int64_t n_states,
                           const ForecastOptions& options, at::Generator generator) const;

    /// Physical states (C, L, *S) -> the autoencoder's latent states (C_lat, L, *s) (standardised, encoded). Pixel
    /// models return the standardised states.
    torch::Tensor encode(const torch::Tensor& states, int64_t chunk = 16) const;
    /// The inverse of encode: (C_lat, L, *s) -> physical states (C, L, *S).
    torch::Tensor decode(const torch::Tensor& latents, int64_t chunk = 16) const;

    /// The label of a Well file's trajectories in the card's order: its constant scalars and boundary codes.
    torch::Tensor label_from(const io::WellSchema& schema) const;

    /// Write this model as one `.lola` file (atomically): autoencoder, emulator, statistics and configuration.
    void save(const std::filesystem::path& path) const;

    struct Impl;

private:
    explicit Emulator(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_; ///< shared by copies; the modules run in eval mode without autograd
};

/// A new generator for `device`, seeded with `seed` (a CPU generator, or a CUDA generator of that device), so that a
/// forecast never touches the global one.
at::Generator make_generator(torch::Device device, uint64_t seed);

/// Whether `path` is a `.lola` model file (an HDF5 file with the lola model signature).
bool is_model_file(const std::filesystem::path& path);

} // namespace lola::runtime
