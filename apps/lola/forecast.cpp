#include "forecast.h"

#include <CLI/CLI.hpp>

#include "lola/core/error.h"

namespace lola::app {

void add_forecast_options(CLI::App& cmd, runtime::ForecastOptions& options, const std::string& whose) {
    cmd.add_option("--sampler", options.sampler,
                   fmt::format("override the {} sampler (ddpm, ddim, ab, eab, pc)", whose));
    cmd.add_option("--steps", options.steps, fmt::format("override the {} sampling steps", whose));
    cmd.add_option("--overlap", options.overlap,
                   "known states of every window after the first, taken from the previous window (default: the "
                   "context, as the paper)");
    cmd.add_option("--crop", options.crop,
                   "states kept of every window, counted as the reference implementation counts them; the later ones "
                   "are generated and discarded (default: the whole window, as the paper)");
    cmd.add_option("--observe", options.guidance.observe,
                   "guide diffusion rollouts by observations of the true states (MMPS, docs/method.md 7.2): "
                   "subsample:K (every K-th cell) or downscale:K (K x K block means)");
    cmd.add_option("--obs-noise", options.guidance.noise,
                   "with --observe: standard deviation of the observation noise, in standardised units (its square is "
                   "the guidance's variance)")
        ->capture_default_str();
    cmd.add_option("--obs-iterations", options.guidance.iterations,
                   "with --observe: GMRES iterations per denoiser call (the paper: 1)")
        ->capture_default_str();
}

Forecaster::Forecaster(const std::filesystem::path& path, torch::Device device, const runtime::ForecastOptions& options,
                       const runtime::LoadOptions& load)
    : emulator_(runtime::Emulator::load(path, device, load)), options_(options) {
    options_.include_context = true;
}

std::string Forecaster::description() const {
    const runtime::ModelCard& c = card();
    if (!generative()) {
        return fmt::format("neural solver ({})", c.space);
    }
    const runtime::GuidanceOptions& g = options_.guidance;
    return fmt::format(
        "diffusion ({}, {}, {} steps{})", c.space, options_.sampler.empty() ? c.sampler : options_.sampler,
        options_.steps > 0 ? options_.steps : c.sampler_steps,
        g.enabled()
            ? fmt::format(", guided by {} with noise {}, {} GMRES iteration(s)", g.observe, g.noise, g.iterations)
            : std::string());
}

Forecaster::Output Forecaster::forecast(const torch::Tensor& frames, const torch::Tensor& label, int64_t context,
                                        int64_t members, uint64_t seed, const torch::Tensor& observed) const {
    const int64_t L = frames.size(1);
    LOLA_CHECK_USAGE(L > context, "{} frames leave nothing to forecast after a context of {}", L, context);
    Output out;
    runtime::ForecastOptions o = options_;
    o.members = members;
    o.seconds = &out.seconds;
    if (o.guidance.enabled()) {
        const torch::Tensor& source = observed.defined() ? observed : frames;
        LOLA_CHECK_USAGE(source.sizes() == frames.sizes(),
                         "the observed frames are ({}) but the forecast's frames are ({}): observe the same fields, "
                         "grid and times",
                         fmt::join(source.sizes(), ", "), fmt::join(frames.sizes(), ", "));
        o.guidance.observed = source.narrow(1, context, L - context);
    }
    const torch::Tensor pred = emulator_.forecast(frames.narrow(1, 0, context), label, L - context, o,
                                                  runtime::make_generator(emulator_.device(), seed));
    out.pred = pred.to(torch::kCPU);
    out.recon = card().space == "latent" ? emulator_.decode(emulator_.encode(frames)).to(torch::kCPU) : frames.clone();
    return out;
}

} // namespace lola::app
