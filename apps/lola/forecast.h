// An emulator as `lola emulate` and `lola eval` use it (docs/method.md 8): the runtime's forecast of a trajectory's
// frames after its first `context` frames, with the per-rollout seed of the protocol, plus the autoencoder's
// reconstruction of the true frames that the evaluation compares against.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <string>

#include "lola/runtime/emulator.h"

namespace CLI {
class App;
}

namespace lola::app {

/// The options of `lola emulate` and `lola eval` that override a model's rollout: --sampler, --steps, --overlap and
/// --crop (the reference's: states kept of every window), and the guidance by observations of the true frames
/// (--observe, --obs-noise, --obs-iterations). `whose` is "run's" or "runs'".
void add_forecast_options(CLI::App& cmd, runtime::ForecastOptions& options, const std::string& whose);

class Forecaster {
public:
    /// A run folder or a model file on `device`. `options` holds the sampler, steps, overlap and crop that override
    /// the model's (their defaults keep the model's); members and seconds are set per forecast.
    Forecaster(const std::filesystem::path& path, torch::Device device, const runtime::ForecastOptions& options = {},
               const runtime::LoadOptions& load = {});

    const runtime::Emulator& emulator() const { return emulator_; }
    const runtime::ModelCard& card() const { return emulator_.card(); }
    bool generative() const { return card().kind == "diffusion"; }
    /// e.g. "diffusion (latent, ab, 16 steps)" or "neural solver (latent)".
    std::string description() const;

    struct Output {
        torch::Tensor pred;  ///< (K, C, L, spatial...) physical units, CPU; the first `context` frames as the model
                             ///< sees them
        torch::Tensor recon; ///< (C, L, spatial...) the autoencoder's reconstruction of the frames (pixel: the frames)
        double seconds = 0;  ///< wall time of the rollout and the decoding (not of encoding the context)
    };
    /// frames (C, L, spatial...) physical, label (label_dim) physical; the first `context` frames are the
    /// observations. With guidance the observation operator sees the later frames of `observed` (of the shape of
    /// `frames`, e.g. measurements on the same grid and times), or of `frames` (the truth) when it is undefined. `members` rollouts in one batch, drawn from a generator seeded with `seed`.
    Output forecast(const torch::Tensor& frames, const torch::Tensor& label, int64_t context, int64_t members,
                    uint64_t seed, const torch::Tensor& observed = {}) const;

private:
    runtime::Emulator emulator_;
    runtime::ForecastOptions options_;
};

} // namespace lola::app
