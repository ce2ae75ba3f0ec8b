// Forecasting with a trained emulator (paper.md 1 and 8): the test trajectories of a dataset with their labels, and a
// Forecaster that turns physical frames into an ensemble of emulated trajectories in physical units: preprocess,
// encode, roll out (diffusion sampler with the masked denoiser, or the neural solver), decode in chunks, post-process.
// Shared by `lola emulate` and `lola eval`.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ae_run.h"
#include "emulator_run.h"
#include "lola/data/dataset.h"
#include "lola/io/well.h"

namespace lola::app {

/// One trajectory of a split, in physical units.
struct TestTrajectory {
    torch::Tensor states;   ///< (C, T, spatial...) float32
    torch::Tensor label;    ///< (label_dim) float32 (log_scalars applied)
    std::filesystem::path file;
    int64_t trajectory = 0; ///< index within its file
    std::vector<double> time;
};

/// The trajectories of one split of a dataset preset, in file order.
class TrajectorySet {
public:
    TrajectorySet(const data::DatasetOptions& dataset, const std::string& split);
    /// The trajectories of these Well files (labels with `log_scalars` applied).
    TrajectorySet(std::vector<std::filesystem::path> files, std::vector<std::string> log_scalars);
    int64_t size() const { return static_cast<int64_t>(where_.size()); }
    TestTrajectory get(int64_t index) const;
    const io::WellSchema& schema(int64_t index) const;

private:
    std::unique_ptr<data::WindowDataset> ds_;
    std::vector<std::array<int64_t, 2>> where_; ///< (file, trajectory)
    std::vector<int64_t> first_index_;          ///< dataset index of (trajectory, t = 0)
};

/// An emulator run with its autoencoder, ready to forecast.
class Forecaster {
public:
    /// Loads the run (and, for latent runs, its autoencoder) on `device`. Sampler settings default to the run's
    /// config; `sampler` / `steps` (non-empty / > 0) override them.
    Forecaster(const std::filesystem::path& run_dir, torch::Device device, const std::string& sampler = "",
               int64_t steps = 0, bool best = false);

    const EmulatorRun& run() const { return run_; }
    /// The dataset the emulator models (the autoencoder's for latent runs).
    const data::DatasetOptions& dataset() const { return dataset_; }
    /// Delta, in snapshots of the dataset: the emulator's window stride times the latent cache's stride.
    int64_t stride() const { return stride_; }
    /// "diffusion" or "surrogate", with the sampler for diffusion, e.g. "diffusion (ab, 16 steps)".
    std::string description() const;
    bool generative() const { return run_.kind == EmulatorKind::diffusion; }

    struct Output {
        torch::Tensor pred;  ///< (K, C, L, spatial...) physical units
        torch::Tensor recon; ///< (C, L, spatial...) the autoencoder's reconstruction of the frames (pixel: the frames)
        double seconds = 0;  ///< wall time of the rollout and the decoding (not of encoding the context)
    };
    /// frames (C, L, spatial...) physical, label (label_dim); the first `context` frames are the observations.
    /// `members` rollouts in one batch; the torch RNG is seeded with `seed` first (paper.md 8 step 1).
    Output forecast(const torch::Tensor& frames, const torch::Tensor& label, int64_t context, int64_t members,
                    uint64_t seed, int64_t decode_chunk = 16);

private:
    torch::Tensor window_fn(const torch::Tensor& window, const torch::Tensor& known, const torch::Tensor& label);

    EmulatorRun run_;
    std::optional<AeRun> ae_;
    data::DatasetOptions dataset_;
    data::Preprocessor pre_;
    torch::Device device_;
    int64_t stride_ = 1;
};

} // namespace lola::app
