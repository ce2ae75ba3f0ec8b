#include "forecast.h"

#include <torch/cuda.h>
#include <torch/utils.h>

#include <chrono>

#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/core/system.h"
#include "lola/diffusion/sampler.h"
#include "lola/emulation/rollout.h"
#include "lola/io/latent_cache.h"

namespace lola::app {

namespace fs = std::filesystem;

TrajectorySet::TrajectorySet(const data::DatasetOptions& dataset, const std::string& split) :
    TrajectorySet(data::preset_split_files(dataset, split), dataset.log_scalars) {}

TrajectorySet::TrajectorySet(std::vector<fs::path> files, std::vector<std::string> log_scalars) {
    ds_ = std::make_unique<data::WindowDataset>(std::move(files), 1, 1, std::move(log_scalars));
    int64_t offset = 0;
    for (size_t f = 0; f < ds_->files().size(); ++f) {
        const io::WellSchema& s = ds_->schema(static_cast<int64_t>(f));
        for (int64_t t = 0; t < s.n_trajectories; ++t) {
            where_.push_back({static_cast<int64_t>(f), t});
            first_index_.push_back(offset + t * s.n_steps());
        }
        offset += s.n_trajectories * s.n_steps();
    }
}

const io::WellSchema& TrajectorySet::schema(int64_t index) const {
    return ds_->schema(where_.at(static_cast<size_t>(index))[0]);
}

TestTrajectory TrajectorySet::get(int64_t index) const {
    LOLA_CHECK(index >= 0 && index < size(), "trajectory {} out of range [0, {})", index, size());
    const auto [file, traj] = where_[static_cast<size_t>(index)];
    std::vector<std::unique_ptr<io::WellReader>> readers;
    const data::Sample first = ds_->get(first_index_[static_cast<size_t>(index)], readers);
    const io::WellSchema& s = ds_->schema(file);
    std::vector<int64_t> shape = ds_->sample_shape(); // (C, 1, spatial...)
    shape[1] = s.n_steps();
    TestTrajectory out;
    out.states = torch::empty(shape, torch::kFloat32);
    readers[static_cast<size_t>(file)]->read_window(traj, 0, s.n_steps(), 1, out.states.data_ptr<float>());
    out.label = data::make_label(first);
    out.file = ds_->files()[static_cast<size_t>(file)];
    out.trajectory = traj;
    out.time = s.time;
    return out;
}

Forecaster::Forecaster(const fs::path& run_dir, torch::Device device, const std::string& sampler, int64_t steps,
                       bool best) :
    run_(load_emulator_run(run_dir, device, best)), device_(device) {
    if (!sampler.empty()) {
        run_.emulator.sampler = sampler;
    }
    if (steps > 0) {
        run_.emulator.steps = steps;
    }
    if (run_.latent()) {
        const fs::path ae_dir = run_.ae_dir();
        ae_.emplace(load_ae_run(ae_dir, device));
        dataset_ = ae_->dataset;
        stride_ = run_.config.get<int64_t>("model.time_stride");
        if (stride_ <= 0) { // runs trained before model.time_stride was recorded: ask the cache
            int64_t cache_stride = 1;
            const fs::path cache = fs::path(run_.config.get<std::string>("latents.dir")) / "train.h5";
            if (fs::exists(cache)) {
                cache_stride = io::read_latent_cache_info(cache).provenance.stride;
            } else {
                LOLA_LOG_WARN("'{}' is gone: assuming the latents were cached at every snapshot (stride 1)",
                              cache.string());
            }
            stride_ = run_.emulator.stride * cache_stride;
        }
    } else {
        dataset_ = data::DatasetOptions::from_config(run_.config);
        stride_ = run_.emulator.stride;
    }
    pre_ = dataset_.preprocessor();
    if (generative()) { // fail early on a bad sampler name
        diffusion::make_sampler(run_.emulator.sampler, *run_.preconditioned, run_.emulator.steps);
    }
}

std::string Forecaster::description() const {
    if (!generative()) {
        return fmt::format("neural solver ({})", run_.latent() ? "latent" : "pixel");
    }
    return fmt::format("diffusion ({}, {}, {} steps)", run_.latent() ? "latent" : "pixel", run_.emulator.sampler,
                       run_.emulator.steps);
}

torch::Tensor Forecaster::window_fn(const torch::Tensor& window, const torch::Tensor& known,
                                    const torch::Tensor& label) {
    if (!generative()) {
        return run_.solver->forward(window, known, label);
    }
    const torch::Tensor mask = diffusion::expand_window_mask(known, window.dim());
    diffusion::MaskedDenoiser masked(*run_.preconditioned, window, mask);
    diffusion::SamplerOptions so;
    so.eta = run_.emulator.eta;
    std::unique_ptr<diffusion::Sampler> sampler =
        diffusion::make_sampler(run_.emulator.sampler, masked, run_.emulator.steps, so);
    const torch::Tensor x = sampler->init(window.sizes(), window.options());
    return sampler->sample(x, label);
}

Forecaster::Output Forecaster::forecast(const torch::Tensor& frames, const torch::Tensor& label, int64_t context,
                                        int64_t members, uint64_t seed, int64_t decode_chunk) {
    torch::NoGradGuard no_grad;
    const int64_t L = frames.size(1);
    LOLA_CHECK_USAGE(context >= 1 && context < run_.emulator.window, "context {} must be in [1, {}]", context,
                     run_.emulator.window - 1);
    LOLA_CHECK_USAGE(L > context, "{} frames leave nothing to forecast after a context of {}", L, context);
    LOLA_CHECK_USAGE(members >= 1, "members must be >= 1, got {}", members);
    if (device_.is_cpu()) {
        // the ensemble in physical units, its decoded and standardised copies: about three of (K, C, L, spatial...)
        const double need = 3.0 * 4.0 * static_cast<double>(members) * static_cast<double>(frames.numel());
        const int64_t have = core::available_memory_bytes();
        LOLA_CHECK_USAGE(have < 0 || need <= static_cast<double>(have), "{} ensemble members of {} frames need about "
                         "{} of memory but {} is available; lower --members", members, L, core::format_bytes(need),
                         core::format_bytes(static_cast<double>(have)));
    }
    const torch::Tensor x = pre_.forward(frames.transpose(0, 1).to(device_), 1); // (L, C, spatial...) normalised
    Output out;
    torch::Tensor states; // (L, C_model, spatial...) what the emulator works on
    if (ae_) {
        states = emulation::encode_states([&](const torch::Tensor& s) { return ae_->model->encode(s); },
                                          x.unsqueeze(0).transpose(1, 2), decode_chunk)
                     .squeeze(0)
                     .transpose(0, 1); // (L, C_lat, h, w)
        const torch::Tensor rec = emulation::decode_chunks(
            [&](const torch::Tensor& z) { return ae_->model->decode(z); }, states.transpose(0, 1).unsqueeze(0),
            decode_chunk); // (1, C, L, spatial...)
        out.recon = pre_.inverse(rec.squeeze(0), 0).to(torch::kCPU);
    } else {
        states = x;
        out.recon = frames.clone();
    }
    torch::manual_seed(seed);
    const torch::Tensor ctx =
        emulation::repeat_members(states.slice(0, 0, context).transpose(0, 1).unsqueeze(0), members); // (K, C, c, ...)
    const torch::Tensor lab =
        run_.shape.label_dim > 0 ? label.to(device_).unsqueeze(0).expand({members, label.numel()}) : torch::Tensor();
    emulation::RolloutOptions ro;
    ro.window = run_.emulator.window;
    ro.context = context;
    const auto start = std::chrono::steady_clock::now();
    torch::Tensor z = emulation::rollout(
        [this](const torch::Tensor& w, const torch::Tensor& k, const torch::Tensor& l) { return window_fn(w, k, l); },
        ctx, lab, L, ro); // (K, C_model, L, ...)
    torch::Tensor pred = ae_ ? emulation::decode_chunks([&](const torch::Tensor& s) { return ae_->model->decode(s); },
                                                        z, decode_chunk)
                             : z;                                  // (K, C, L, spatial...)
    pred = pre_.inverse(pred, 1).to(torch::kCPU);
    if (device_.is_cuda()) {
        torch::cuda::synchronize();
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out.pred = pred;
    return out;
}

} // namespace lola::app
