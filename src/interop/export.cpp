// Exporting lola runs as reference run folders (docs/reference.md, "Exporting").
#include "lola/interop/export.h"
#include "lola/core/options.h"

#include <fmt/format.h>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/log.h"
#include "lola/nn/embedding.h"
#include "lola/nn/layers.h"
#include "lola/runtime/runs.h"
#include "partial_folder.h"

namespace lola::interop {

namespace fs = std::filesystem;

namespace {

/// The reference's `dataset` group of a lola dataset group (the keys import_run reads back).
YAML::Node reference_dataset(const data::DatasetOptions& d, int64_t spatial_dims) {
    YAML::Node n(YAML::NodeType::Map);
    n["name"] = d.name;
    n["physics"] = d.physics;
    n["include_filters"] = YAML::Node(YAML::NodeType::Sequence);
    const std::vector<std::string> axes{"x", "y", "z"};
    n["dimensions"] = std::vector<std::string>(axes.begin(), axes.begin() + spatial_dims);
    n["periodic"] = false;
    n["fields"] = d.fields;
    YAML::Node transform(YAML::NodeType::Map);
    for (size_t i = 0; i < d.transform.size(); ++i) {
        if (d.transform[i] != "none") {
            transform[static_cast<int64_t>(i)] = d.transform[i];
        }
    }
    n["transform"] = transform;
    n["stats"]["mean"] = core::encode(d.mean);
    n["stats"]["std"] = core::encode(d.std);
    n["augment"] = d.augment;
    return n;
}

/// The reference's `ae` group of our autoencoder options.
YAML::Node reference_ae(const autoencoder::AutoEncoderOptions& o, const std::string& run) {
    LOLA_CHECK_USAGE(o.arch == "dcae" && o.norm == "layer",
                     "'{}': ae.arch = {}, ae.norm = {}: the reference's DC-AE is dcae with the channel LayerNorm", run,
                     o.arch, o.norm);
    YAML::Node n(YAML::NodeType::Map);
    n["name"] = o.name;
    n["arch"] = "dcae";
    n["saturation"] = o.saturation;
    n["latent_noise"] = core::encode(o.latent_noise);
    n["lat_channels"] = o.lat_channels;
    n["hid_channels"] = o.hid_channels;
    n["hid_blocks"] = o.hid_blocks;
    n["pixel_shuffle"] = true;
    n["norm"] = "layer";
    YAML::Node heads(YAML::NodeType::Map);
    for (int64_t level = 0; level < o.n_levels(); ++level) {
        if (o.heads_at(level) > 0) {
            heads[level] = o.heads_at(level);
        }
    }
    n["attention_heads"] = heads;
    n["ffn_factor"] = 1;
    n["dropout"] = core::encode(o.dropout);
    n["checkpointing"] = false;
    n["identity_init"] = o.identity_init;
    n["periodic"] = o.periodic;
    n["kernel_size"] = o.kernel_size;
    n["pix_channels"] = o.pixel_channels;
    n["spatial"] = o.spatial;
    return n;
}

/// The reference's `denoiser` / `surrogate` group of an emulator run.
YAML::Node reference_emulator(const runtime::EmulatorRun& em, const std::string& run) {
    const nn::BackboneOptions& b = em.backbone;
    LOLA_CHECK_USAGE(b.arch == "vit",
                     "'{}': backbone arch = {}: only the ViT's parameter names are in the table (docs/reference.md)",
                     run, b.arch);
    YAML::Node n(YAML::NodeType::Map);
    n["name"] = b.name;
    n["arch"] = "vit";
    n["emb_features"] = nn::kModFeatures;
    n["hid_channels"] = b.hid_channels;
    n["hid_blocks"] = b.hid_blocks;
    n["attention_heads"] = b.attention_heads;
    n["ffn_factor"] = b.ffn_factor;
    n["qk_norm"] = b.qk_norm;
    n["rope"] = b.rope;
    n["patch_size"] = b.patch_size;
    n["unpatch_size"] = b.patch_size;
    n["window_size"] = YAML::Node(YAML::NodeType::Null);
    n["dropout"] = core::encode(b.dropout);
    n["checkpointing"] = b.checkpointing;
    n["channels"] = em.shape.channels;
    n["label_features"] = em.shape.label_dim;
    n["spatial"] = em.shape.spatial_axes;
    if (em.kind == runtime::EmulatorKind::kDiffusion) {
        const runtime::EmulatorOptions& e = em.emulator;
        LOLA_CHECK_USAGE(e.time_prior.name == "uniform",
                         "'{}': diffusion.time_prior = {}: the reference trains with t ~ U(0, 1) only", run,
                         e.time_prior.name);
        n["loss"]["distribution"] = "uniform";
        n["loss"]["a"] = core::encode(0.0);
        n["loss"]["b"] = core::encode(1.0);
        n["schedule"]["name"] = e.schedule;
        n["schedule"]["sigma_min"] = core::encode(e.sigma_min);
        n["schedule"]["sigma_max"] = core::encode(e.sigma_max);
        n["schedule"]["scale"] = core::encode(1.0);
        n["schedule"]["shift"] = core::encode(0.0);
        n["masked"] = true;
    }
    return n;
}

bool is_autoencoder_run(const fs::path& run) {
    const fs::path cfg = run / "config.yaml";
    LOLA_CHECK_USAGE(fs::exists(cfg), "'{}' has no config.yaml: not a lola run folder", run.string());
    const YAML::Node n = core::load_yaml_file(cfg);
    return n["ae"] && !n["model"];
}

} // namespace

ExportReport export_reference(const fs::path& run, const fs::path& out, const ExportOptions& options) {
    LOLA_CHECK_USAGE(!out.empty(), "--out is empty");
    LOLA_CHECK_USAGE(!fs::exists(out), "'{}' already exists: choose another --out (an export never replaces a folder)",
                     out.string());
    LOLA_CHECK_USAGE(fs::is_directory(run), "run folder '{}' does not exist", run.string());
    ExportReport report;
    YAML::Node config(YAML::NodeType::Map);
    StateDict state;
    std::string link; // emulators: the `autoencoder` link's target
    const std::string name = fs::absolute(run).lexically_normal().filename().string();
    if (is_autoencoder_run(run)) {
        LOLA_CHECK_USAGE(options.ae.empty(), "'{}' is an autoencoder run: --ae is for emulator runs", run.string());
        runtime::AeRun ae = runtime::load_ae_run(run, torch::kCPU, options.best);
        config["ae"] = reference_ae(ae.ae_options, run.string());
        config["dataset"] = reference_dataset(ae.dataset, ae.ae_options.spatial);
        state = to_reference_state(*ae.model, autoencoder_names(ae.ae_options));
        report.parameters = nn::count_parameters(*ae.model);
        if (ae.config.has("seed")) {
            config["seed"] = ae.config.get<uint64_t>("seed");
        }
    } else {
        runtime::EmulatorRun em = runtime::load_emulator_run(run, torch::kCPU, options.best);
        const bool dm = em.kind == runtime::EmulatorKind::kDiffusion;
        report.kind = dm ? RunKind::kDiffusion : RunKind::kSurrogate;
        LOLA_CHECK_USAGE(em.latent(), "'{}' is a pixel-space emulator: the reference emulates in latent space only",
                         run.string());
        LOLA_CHECK_USAGE(!options.ae.empty(),
                         "'{}' is a latent {} run: export its autoencoder run first (lola export {} --format reference "
                         "--out PY_AE_RUN) and pass that folder with --ae PY_AE_RUN",
                         run.string(), dm ? "diffusion" : "neural-solver", em.ae_dir().string());
        const ReferenceRun py_ae = read_reference_config(options.ae);
        LOLA_CHECK_USAGE(py_ae.kind == RunKind::kAutoencoder, "--ae {} is a {} run, not an autoencoder run",
                         options.ae.string(), run_kind_name(py_ae.kind));
        LOLA_CHECK_USAGE(py_ae.config["ae"]["lat_channels"].as<int64_t>() == em.shape.channels,
                         "--ae {} has {} latent channels but '{}' emulates {}: not its autoencoder",
                         options.ae.string(), py_ae.config["ae"]["lat_channels"].as<int64_t>(), run.string(),
                         em.shape.channels);
        const data::DatasetOptions dataset = core::read_options<data::DatasetOptions>(em.config, "dataset");
        LOLA_CHECK_USAGE(dataset.log_scalars.empty(),
                         "'{}': dataset.log_scalars = [{}]: the reference's label holds the raw scalars, so this "
                         "model's label cannot be expressed",
                         run.string(), fmt::join(dataset.log_scalars, ", "));
        const std::string key = dm ? "denoiser" : "surrogate";
        config[key] = reference_emulator(em, run.string());
        config["dataset"] = reference_dataset(dataset, em.shape.spatial_axes - 1);
        const auto time_stride = em.config.get<int64_t>("model.time_stride");
        config["trajectory"]["length"] = em.emulator.window;
        config["trajectory"]["stride"] = time_stride > 0 ? time_stride : em.emulator.stride;
        config["trajectory"]["context"]["lmbda"] = core::encode(em.emulator.mask.lambda);
        config["trajectory"]["context"]["rho"] = core::encode(em.emulator.mask.rho);
        config["trajectory"]["context"]["atleast"] = em.emulator.mask.atleast;
        config["ae_run"] = fs::absolute(options.ae).lexically_normal().string();
        state = to_reference_state(em.module(), emulator_names(report.kind, em.backbone, em.shape.label_dim));
        report.parameters = nn::count_parameters(em.module());
        if (em.config.has("seed")) {
            config["seed"] = em.config.get<uint64_t>("seed");
        }
        link = runtime::relative_path(options.ae, out); // the link lives in `out`
    }
    config["name"] = name;
    config["path"] = fs::absolute(out).lexically_normal().string();
    report.tensors = static_cast<int64_t>(state.size());

    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    fs::create_directories(parent);
    PartialFolder partial(core::temp_dir_for(fs::absolute(out).lexically_normal(), "partial"));
    core::write_file_atomic(partial.dir() / "config.yaml", core::Config::dump(config) + "\n");
    write_state_dict(state, partial.dir() / "state.pth");
    if (!link.empty()) {
        fs::create_directory_symlink(link, partial.dir() / "autoencoder");
    }
    fs::rename(partial.dir(), out);
    partial.release();
    LOLA_LOG_INFO("export: {} run '{}' ({} tensors, {} parameters) -> reference run folder {}",
                  run_kind_name(report.kind), run.string(), report.tensors, report.parameters, out.string());
    return report;
}

} // namespace lola::interop
