// An emulator as `lola emulate` and `lola eval` use it (docs/method.md 8): the runtime's forecast of a trajectory's
// frames after its first `context` frames, with the per-rollout seed of the protocol, plus the autoencoder's
// reconstruction of the true frames that the evaluation compares against.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <string>

#include "lola/runtime/emulator.h"

namespace lola::app {

class Forecaster {
public:
    /// A run folder or a model file on `device`; `sampler` / `steps` (non-empty / > 0) override the model's.
    Forecaster(const std::filesystem::path& path, torch::Device device, const std::string& sampler = "",
               int64_t steps = 0, const runtime::LoadOptions& options = {});

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
    /// observations. `members` rollouts in one batch, drawn from a generator seeded with `seed`.
    Output forecast(const torch::Tensor& frames, const torch::Tensor& label, int64_t context, int64_t members,
                    uint64_t seed) const;

private:
    runtime::Emulator emulator_;
    runtime::ForecastOptions options_;
};

} // namespace lola::app
