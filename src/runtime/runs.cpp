#include "lola/runtime/runs.h"

#include <torch/cuda.h>

#include "lola/autoencoder/loss.h"
#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/core/options.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well_schema.h"
#include "lola/nn/layers.h"
#include "lola/train/optimizer.h"
#include "lola/train/trainer.h"

namespace lola::runtime {

namespace fs = std::filesystem;

torch::Device parse_device(const std::string& name) {
    if (name == "cpu") {
        return torch::kCPU;
    }
    if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
        LOLA_CHECK_USAGE(torch::cuda::is_available(),
                         "device={} but CUDA is not available on this machine (use "
                         "device=cpu)",
                         name);
        try {
            const torch::Device device(name);
            LOLA_CHECK_USAGE(!device.has_index() || device.index() < static_cast<int>(torch::cuda::device_count()),
                             "device={}: this machine has {} CUDA device(s)", name, torch::cuda::device_count());
            return device;
        } catch (const c10::Error&) {
            LOLA_THROW_USAGE("unknown device '{}' (valid: cpu, cuda, cuda:N)", name);
        }
    }
    LOLA_THROW_USAGE("unknown device '{}' (valid: cpu, cuda, cuda:N)", name);
}

std::string relative_path(const fs::path& target, const fs::path& base) {
    std::error_code ec;
    const fs::path t = fs::absolute(target, ec).lexically_normal();
    const fs::path b = fs::absolute(base, ec).lexically_normal();
    const fs::path rel = t.lexically_relative(b);
    return rel.empty() ? t.string() : rel.string();
}

std::vector<std::string> label_names(const io::WellSchema& schema) {
    std::vector<std::string> names;
    for (const auto& s : schema.scalars) {
        names.push_back(s.name);
    }
    for (const auto& axis : schema.spatial_dims) {
        names.push_back("bc_" + axis + "_lower");
        names.push_back("bc_" + axis + "_upper");
    }
    return names;
}

// ---- autoencoder runs -----------------------------------------------------------------------------------------------

namespace {

/// The `loader` group's defaults with these batch sizes.
YAML::Node loader_defaults(int64_t batch_size, int64_t valid_batch_size) {
    LoaderGroup g;
    g.batch_size = batch_size;
    g.valid_batch_size = valid_batch_size;
    return core::options_to_yaml(g);
}

} // namespace

void LoaderGroup::validate(const std::string& key) const {
    LOLA_CHECK_USAGE(batch_size >= 1 && valid_batch_size >= 1, "{}.batch_size and {}.valid_batch_size must be >= 1",
                     key, key);
    LOLA_CHECK_USAGE(workers >= 1 && workers <= 1024, "{}.workers = {} must be in [1, 1024]", key, workers);
    LOLA_CHECK_USAGE(prefetch >= 1 && prefetch <= 1024, "{}.prefetch = {} must be in [1, 1024]", key, prefetch);
}

YAML::Node train_ae_defaults() {
    YAML::Node n(YAML::NodeType::Map);
    n["dataset"] = core::options_defaults<data::DatasetOptions>();
    n["ae"] = core::options_defaults<autoencoder::AutoEncoderOptions>();
    n["loss"] = autoencoder::AeLossOptions::defaults();
    n["optim"] = core::options_defaults<train::OptimOptions>();
    n["train"] = core::options_defaults<train::TrainerOptions>();
    n["loader"] = loader_defaults(8, 16);
    n["seed"] = 0;
    n["device"] = "cpu";
    n["format_version"] = 0; // kRunFormatVersion once trained; 0: a run from before it was recorded
    return n;
}

AeRun build_ae_run(core::Config config) {
    AeRun run{{}, std::move(config), {}, {}, nullptr};
    run.dataset = core::read_options<data::DatasetOptions>(run.config, "dataset");
    run.ae_options = core::read_options<autoencoder::AutoEncoderOptions>(run.config, "ae");
    run.ae_options.resolve_pixel_channels(static_cast<int64_t>(run.dataset.fields.size()));
    run.model = autoencoder::AutoEncoder(run.ae_options);
    return run;
}

namespace {

/// The config.yaml of a run folder merged over `defaults`, with a clear error for a newer layout.
core::Config read_run_config(const fs::path& dir, const YAML::Node& defaults) {
    core::Config cfg(defaults);
    cfg.merge_file(dir / "config.yaml");
    const int64_t version = cfg.get<int64_t>("format_version");
    LOLA_CHECK(version <= kRunFormatVersion,
               "'{}' is a run of format version {}, made by a newer lola; this lola "
               "reads up to version {}: upgrade lola",
               dir.string(), version, kRunFormatVersion);
    return cfg;
}

} // namespace

AeRun load_ae_run(const fs::path& dir, torch::Device device, bool best) {
    LOLA_CHECK_USAGE(fs::is_directory(dir), "autoencoder run folder '{}' does not exist", dir.string());
    LOLA_CHECK(fs::exists(dir / "config.yaml"), "'{}' has no config.yaml (not a 'lola train-ae' run folder?)",
               dir.string());
    AeRun run = build_ae_run(read_run_config(dir, train_ae_defaults()));
    run.dir = dir;
    const fs::path weights = best ? train::Trainer::best_weights_path(dir) : train::Trainer::weights_path(dir);
    LOLA_CHECK(fs::exists(weights), "'{}' has no {} (training not finished one epoch?)", dir.string(),
               weights.filename().string());
    train::load_weights(*run.model, weights);
    run.model->to(device);
    run.model->eval();
    return run;
}

// ---- emulator runs --------------------------------------------------------------------------------------------------

const char* kind_name(EmulatorKind kind) { return kind == EmulatorKind::kDiffusion ? "diffusion" : "surrogate"; }
const char* backbone_group(EmulatorKind kind) { return kind == EmulatorKind::kDiffusion ? "denoiser" : "surrogate"; }

YAML::Node train_emulator_defaults(EmulatorKind kind) {
    YAML::Node n(YAML::NodeType::Map);
    YAML::Node latents(YAML::NodeType::Map);
    latents["dir"] = ""; // latent cache folder ({train,valid,test}.h5); empty: a pixel-space emulator on `dataset`
    latents["ae"] = "";  // autoencoder run folder; empty: the run recorded in the cache
    n["latents"] = latents;
    n["dataset"] = core::options_defaults<data::DatasetOptions>();
    n["emulator"] = core::options_defaults<EmulatorOptions>(EmulatorOptions::Window{});
    n[backbone_group(kind)] = core::options_defaults<nn::BackboneOptions>();
    if (kind == EmulatorKind::kDiffusion) {
        n["diffusion"] = core::options_defaults<EmulatorOptions>(EmulatorOptions::Diffusion{});
    }
    // AdamW 1e-4, betas (0.9, 0.99), wd 0, cosine, clip 1 (docs/method.md 4.7)
    n["optim"] = core::options_defaults<train::OptimOptions>();
    n["train"] = core::options_defaults<train::TrainerOptions>();
    n["loader"] = loader_defaults(32, 32);
    // Resolved at training time; do not set by hand.
    YAML::Node model(YAML::NodeType::Map);
    model["kind"] = kind_name(kind);
    model["space"] = "";
    model["channels"] = 0;
    model["label_dim"] = 0;
    model["label_names"] = YAML::Node(YAML::NodeType::Sequence); // the label's entries (runtime::label_names)
    model["spatial_axes"] = 0;
    model["spatial_shape"] = YAML::Node(YAML::NodeType::Sequence); // the states' spatial sizes
    model["latent_shape"] = YAML::Node(YAML::NodeType::Sequence);  // (C_lat, h, w) of latent models
    model["time_stride"] = 0; // Delta in snapshots of the dataset (emulator.stride x the cache's stride); 0: unrecorded
    model["ae_run"] = "";     // the autoencoder run folder, relative to this run folder
    n["model"] = model;
    n["seed"] = 0;
    n["device"] = "cpu";
    n["format_version"] = 0; // kRunFormatVersion once trained; 0: a run from before it was recorded
    return n;
}

EmulatorOptions EmulatorOptions::from_config(const core::Config& cfg) {
    EmulatorOptions o;
    core::options_read_into(o, cfg.at("emulator"), "emulator", Window{});
    const bool diffusion = cfg.has("diffusion");
    if (diffusion) {
        core::options_read_into(o, cfg.at("diffusion"), "diffusion", Diffusion{});
    }
    o.validate(diffusion);
    return o;
}

void EmulatorOptions::validate(bool diffusion) const {
    LOLA_CHECK_USAGE(window >= 2, "emulator.window must be >= 2, got {}", window);
    LOLA_CHECK_USAGE(stride >= 1, "emulator.stride must be >= 1, got {}", stride);
    mask.validate(window);
    if (diffusion) {
        time_prior.validate();
        diffusion::schedule_precision(schedule_precision); // validated
        LOLA_CHECK_USAGE(steps >= 1, "diffusion.steps must be >= 1, got {}", steps);
    }
}

torch::nn::Module& EmulatorRun::module() {
    if (kind == EmulatorKind::kDiffusion) {
        return *denoiser;
    }
    return *solver;
}

fs::path EmulatorRun::ae_dir() const {
    const std::string recorded = config.get<std::string>("model.ae_run");
    if (!recorded.empty()) {
        const fs::path p(recorded);
        return p.is_absolute() ? p : dir / p;
    }
    return config.get<std::string>("latents.ae");
}

void build_model(EmulatorRun& run) {
    const ModelShape& s = run.shape;
    if (run.kind == EmulatorKind::kDiffusion) {
        run.denoiser = diffusion::DenoiserNet(run.backbone, s.channels, s.label_dim, s.spatial_axes);
        run.preconditioned = std::make_shared<diffusion::PreconditionedDenoiser>(
            diffusion::network_fn(run.denoiser),
            diffusion::make_schedule(run.emulator.schedule, run.emulator.sigma_min, run.emulator.sigma_max, 1.0, 0.0,
                                     diffusion::schedule_precision(run.emulator.schedule_precision)));
    } else {
        run.solver = surrogate::NeuralSolver(run.backbone, s.channels, s.label_dim, s.spatial_axes);
    }
}

EmulatorRun build_emulator_run(core::Config config) {
    const std::string kind = config.get<std::string>("model.kind");
    LOLA_CHECK(kind == "diffusion" || kind == "surrogate", "unknown model.kind '{}' (valid: diffusion, surrogate)",
               kind);
    EmulatorRun run;
    run.kind = kind == "diffusion" ? EmulatorKind::kDiffusion : EmulatorKind::kSurrogate;
    run.config = std::move(config);
    run.emulator = EmulatorOptions::from_config(run.config);
    run.backbone = core::read_options<nn::BackboneOptions>(run.config, backbone_group(run.kind));
    run.shape.space = run.config.get<std::string>("model.space");
    run.shape.channels = run.config.get<int64_t>("model.channels");
    run.shape.label_dim = run.config.get<int64_t>("model.label_dim");
    run.shape.spatial_axes = run.config.get<int64_t>("model.spatial_axes");
    LOLA_CHECK(run.shape.channels > 0 && run.shape.spatial_axes > 0,
               "the model group is not resolved (training never "
               "started?)");
    build_model(run);
    return run;
}

EmulatorRun load_emulator_run(const fs::path& dir, torch::Device device, bool best) {
    LOLA_CHECK_USAGE(fs::is_directory(dir), "emulator run folder '{}' does not exist", dir.string());
    LOLA_CHECK(fs::exists(dir / "config.yaml"),
               "'{}' has no config.yaml (not a 'lola train-diffusion' or 'lola "
               "train-surrogate' run folder?)",
               dir.string());
    const YAML::Node raw = core::load_yaml_file(dir / "config.yaml");
    LOLA_CHECK(raw.IsMap() && raw["model"] && raw["model"]["kind"],
               "'{}' has no model.kind: not an emulator run (an "
               "autoencoder run goes to --ae)",
               (dir / "config.yaml").string());
    const std::string kind = raw["model"]["kind"].as<std::string>();
    LOLA_CHECK(kind == "diffusion" || kind == "surrogate", "'{}': unknown model.kind '{}'", dir.string(), kind);
    EmulatorRun run;
    try {
        run = build_emulator_run(read_run_config(
            dir, train_emulator_defaults(kind == "diffusion" ? EmulatorKind::kDiffusion : EmulatorKind::kSurrogate)));
    } catch (const UsageError& e) {
        throw;
    } catch (const Error& e) {
        LOLA_THROW("'{}': {}", dir.string(), e.what());
    }
    run.dir = dir;
    const fs::path weights = best ? train::Trainer::best_weights_path(dir) : train::Trainer::weights_path(dir);
    LOLA_CHECK(fs::exists(weights), "'{}' has no {} (training not finished one epoch?)", dir.string(),
               weights.filename().string());
    train::load_weights(run.module(), weights);
    run.module().to(device);
    run.module().eval();
    return run;
}

fs::path checked_cache(const fs::path& dir, const std::string& split, const AeRun& ae, const std::string& ae_hash) {
    fs::path path = dir / (split + ".h5");
    LOLA_CHECK_USAGE(fs::exists(path), "latent cache '{}' does not exist: run `lola cache-latents --ae {} --out {}`",
                     path.string(), ae.dir.string(), dir.string());
    const io::LatentCacheInfo info = io::read_latent_cache_info(path);
    io::LatentCacheProvenance expected;
    expected.ae_weights_hash = ae_hash;
    expected.dataset = ae.dataset.name;
    expected.fields = ae.dataset.fields;
    expected.transforms = ae.dataset.transform;
    expected.mean = ae.dataset.mean;
    expected.std = ae.dataset.std;
    expected.stride = 0; // any cache stride: the emulator's Delta is emulator.stride times it (model.time_stride)
    io::verify_provenance(info, expected, path.string());
    return path;
}

} // namespace lola::runtime
