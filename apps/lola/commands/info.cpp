// lola info PATH: a readable summary of any file or folder lola reads or writes.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <torch/serialize/input-archive.h>

#include "commands/commands.h"
#include "common.h"
#include "lola/autoencoder/autoencoder.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/options.h"
#include "lola/data/dataset.h"
#include "lola/io/hdf5.h"
#include "lola/io/latent_cache.h"
#include "lola/io/well.h"
#include "lola/io/well_dataset.h"
#include "lola/nn/layers.h"
#include "lola/runtime/emulator.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

void print_well_file(const fs::path& path) {
    io::WellReader reader(path);
    const io::WellSchema& s = reader.schema();
    std::string out;
    out += fmt::format("file:           {}\n", path.string());
    out += fmt::format("dataset_name:   {}\n", s.dataset_name);
    out += fmt::format("grid_type:      {}\n", s.grid_type);
    std::vector<std::string> dims;
    for (int k = 0; k < s.n_spatial_dims(); ++k) {
        dims.push_back(
            fmt::format("{} ({})", s.spatial_dims[static_cast<size_t>(k)], s.resolution[static_cast<size_t>(k)]));
    }
    out += fmt::format("spatial dims:   {} = {}\n", s.n_spatial_dims(), fmt::join(dims, ", "));
    out += fmt::format("trajectories:   {}\n", s.n_trajectories);
    LOLA_CHECK(!s.time.empty(), "'{}' has no time steps", path.string()); // the reader refuses such files already
    out += fmt::format("steps:          {} (t = {:g} .. {:g})\n", s.n_steps(), s.time.front(), s.time.back());
    std::vector<std::string> scalars;
    for (const auto& sc : s.scalars) {
        scalars.push_back(fmt::format("{} = {:g}", sc.name, sc.value));
    }
    out +=
        fmt::format("scalars:        {}\n", scalars.empty() ? "(none)" : fmt::format("{}", fmt::join(scalars, ", ")));
    for (const auto& bc : s.boundary_conditions) {
        out += fmt::format("boundary:       {} = {} on [{}]\n", bc.name, io::bc_type_name(bc.type),
                           fmt::join(bc.dims, ", "));
    }
    std::vector<std::string> codes;
    for (const auto& row : s.bc_codes()) {
        codes.push_back(fmt::format("[{}, {}]", row[0], row[1]));
    }
    out += fmt::format("boundary codes: [{}] (WALL=0, OPEN=1, PERIODIC=2)\n", fmt::join(codes, ", "));
    out += "fields:\n";
    const auto channels = s.channel_names();
    size_t c = 0;
    for (int order = 0; order < 3; ++order) {
        for (const auto& f : s.fields[static_cast<size_t>(order)]) {
            std::vector<int64_t> shape{s.n_trajectories, s.n_steps()};
            shape.insert(shape.end(), s.resolution.begin(), s.resolution.end());
            int n = 1;
            for (int k = 0; k < order; ++k) {
                shape.push_back(s.n_spatial_dims());
                n *= s.n_spatial_dims();
            }
            std::vector<std::string> comps(channels.begin() + static_cast<long>(c),
                                           channels.begin() + static_cast<long>(c) + n);
            c += static_cast<size_t>(n);
            out += fmt::format("  {:<14} order {}  shape ({}){}\n", f, order, fmt::join(shape, ", "),
                               order > 0 ? fmt::format("  -> {}", fmt::join(comps, ", ")) : "");
        }
    }
    out += fmt::format("channels ({}):   {}\n", channels.size(), fmt::join(channels, ", "));
    std::fputs(out.c_str(), stdout);
}

void print_dataset_dir(const fs::path& dir) {
    std::string out = fmt::format("Well dataset folder: {}\n", dir.string());
    for (const auto& split : io::split_names()) {
        if (!fs::is_directory(dir / "data" / split)) {
            out += fmt::format("  {:<6} (missing)\n", split);
            continue;
        }
        auto files = io::split_files(dir, split);
        int64_t traj = 0;
        io::WellSchema first = io::read_schema(files[0]);
        for (const auto& f : files) {
            traj += io::read_schema(f).n_trajectories;
        }
        out += fmt::format("  {:<6} {} files, {} trajectories, {} steps, {} x [{}]\n", split, files.size(), traj,
                           first.n_steps(), first.n_channels(), fmt::join(first.resolution, "x"));
    }
    for (const char* name : {"stats.yaml"}) {
        out += fmt::format("  {:<11} {}\n", name, fs::exists(dir / name) ? "present" : "missing (run 'lola stats')");
    }
    std::fputs(out.c_str(), stdout);
    auto train = io::split_files(dir, "train");
    std::fputs("first train file:\n", stdout);
    print_well_file(train[0]);
}

std::string group_thousands(int64_t n) {
    std::string digits = std::to_string(n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return out;
}

/// A folder of Well dataset folders, as `lola simulate --out DIR` writes it: each dataset, briefly.
void print_datasets_parent(const fs::path& dir, const std::vector<fs::path>& datasets) {
    std::string out = fmt::format("folder of {} Well dataset(s): {}\n", datasets.size(), dir.string());
    for (const auto& d : datasets) {
        out += fmt::format("{}:\n", d.filename().string());
        for (const auto& split : io::split_names()) {
            if (!fs::is_directory(d / "data" / split)) {
                out += fmt::format("  {:<6} (missing)\n", split);
                continue;
            }
            const auto files = io::split_files(d, split);
            int64_t traj = 0;
            for (const auto& f : files) {
                traj += io::read_schema(f).n_trajectories;
            }
            const io::WellSchema first = io::read_schema(files[0]);
            out += fmt::format("  {:<6} {} files, {} trajectories, {} steps, {} x [{}]\n", split, files.size(), traj,
                               first.n_steps(), first.n_channels(), fmt::join(first.resolution, "x"));
        }
    }
    out += fmt::format("(lola info {}/NAME describes one of them)\n", dir.string());
    std::fputs(out.c_str(), stdout);
}

bool is_latent_cache(const fs::path& file) {
    try {
        const io::h5::File f = io::h5::File::open(file.string());
        return f.has_attr("lola_format") && f.read_attr_string("lola_format") == io::kLatentCacheFormat;
    } catch (const Error&) {
        return false; // not HDF5, or unreadable: the Well reader then says why
    }
}

void print_latent_cache(const fs::path& file) {
    const io::LatentCacheInfo info = io::read_latent_cache_info(file);
    const io::LatentCacheProvenance& p = info.provenance;
    std::string out = fmt::format("latent cache:   {}\n", file.string());
    out += fmt::format("rows:           {} ({} trajectories x {} cop{})\n", info.n_rows, info.n_trajectories, p.repeat,
                       p.repeat == 1 ? "y" : "ies");
    out +=
        fmt::format("states:         {} per row, every {} snapshot(s) of the source files\n", info.n_states, p.stride);
    out += fmt::format("latent shape:   {}\n", fmt::join(info.latent_shape, " x "));
    out += fmt::format("label:          {} values\n", info.label_dim);
    out += fmt::format("dataset:        {} (split {})\n", p.dataset, p.split);
    out += fmt::format("fields:         {}\n", fmt::join(p.fields, ", "));
    out += fmt::format("transforms:     {}\n", fmt::join(p.transforms, ", "));
    out += fmt::format("augmentations:  {}\n", p.augment.empty()
                                                   ? std::string("none")
                                                   : fmt::format("{} (seed {})", fmt::join(p.augment, ", "), p.seed));
    out += fmt::format("autoencoder:    {} (weights {})\n", p.ae_run, p.ae_weights_hash);
    std::fputs(out.c_str(), stdout);
}

/// Tensors and their elements in a LibTorch archive, nested archives (submodules) included.
void count_archive(torch::serialize::InputArchive& archive, int64_t& tensors, int64_t& elements) {
    for (const auto& key : archive.keys()) {
        torch::Tensor t;
        if (archive.try_read(key, t)) {
            ++tensors;
            elements += t.numel();
        } else {
            torch::serialize::InputArchive child;
            if (archive.try_read(key, child)) {
                count_archive(child, tensors, elements);
            }
        }
    }
}

/// A training checkpoint (checkpoint.pt: weights, optimizer state, counters) or weights (state.pt, state_best.pt).
void print_archive(const fs::path& file) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(file.string());
    } catch (const c10::Error&) {
        LOLA_THROW_USAGE("'{}' is not a LibTorch archive lola wrote (checkpoint.pt, state.pt or state_best.pt)",
                         file.string());
    }
    std::string out;
    torch::serialize::InputArchive model;
    torch::Tensor counters;
    if (archive.try_read("model", model) && archive.try_read("counters", counters)) {
        int64_t tensors = 0, elements = 0;
        count_archive(model, tensors, elements);
        const auto c = counters.to(torch::kInt64);
        out += fmt::format("training checkpoint: {}\n", file.string());
        out += fmt::format("position:       after epoch {}, step {} ({} non-finite step(s) skipped)\n",
                           c[0].item<int64_t>(), c[1].item<int64_t>(), c[2].item<int64_t>());
        torch::Tensor best;
        if (archive.try_read("best", best)) {
            out += fmt::format("best valid:     {:.6g}\n", best.item<double>());
        }
        out += fmt::format("model:          {} tensors, {} values\n", tensors, group_thousands(elements));
        torch::serialize::InputArchive optim;
        if (archive.try_read("optimizer", optim)) {
            int64_t ot = 0, oe = 0;
            count_archive(optim, ot, oe);
            out += fmt::format("optimizer:      {} tensors, {} values\n", ot, group_thousands(oe));
        }
        out += "resume with:    lola train-... --out <its run folder> --resume\n";
    } else {
        int64_t tensors = 0, elements = 0;
        count_archive(archive, tensors, elements);
        out += fmt::format("weights:        {}\n", file.string());
        out +=
            fmt::format("tensors:        {}, {} values (parameters and buffers)\n", tensors, group_thousands(elements));
    }
    std::fputs(out.c_str(), stdout);
}

void print_run_dir(const fs::path& dir) {
    std::string out = fmt::format("run folder: {}\n", dir.string());
    out += "files:\n";
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
        names.push_back(e.path().filename().string() + (e.is_directory() ? "/" : ""));
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        out += "  " + n + "\n";
    }
    out += "config.yaml:\n" + core::read_file(dir / "config.yaml");
    std::fputs(out.c_str(), stdout);
}

/// Parameters of a model group's config (ae, denoiser, surrogate) for the composed dataset (and, for a latent emulator,
/// the autoencoder's latent channels); n < 0 when no dataset is selected. A pixel model (patch size > 1 along space)
/// takes the dataset's fields.
struct ParameterCount {
    int64_t n = -1;
    std::string detail;
};

ParameterCount model_parameters(const core::Config& cfg, const std::string& group) {
    const auto fields = cfg.get<std::vector<std::string>>("dataset.fields");
    if (group == "ae") {
        autoencoder::AutoEncoderOptions ae = core::read_options<autoencoder::AutoEncoderOptions>(cfg, "ae");
        if (ae.pixel_channels == 0 && fields.empty()) {
            return {};
        }
        if (ae.pixel_channels == 0) {
            ae.resolve_pixel_channels(static_cast<int64_t>(fields.size()));
        }
        return {autoencoder::count_parameters(ae), fmt::format("{} input channels, {} latent channels, downsampling {}",
                                                               ae.pixel_channels, ae.lat_channels, ae.downsampling())};
    }
    const EmulatorKind kind = group == "denoiser" ? EmulatorKind::kDiffusion : EmulatorKind::kSurrogate;
    const nn::BackboneOptions backbone = core::read_options<nn::BackboneOptions>(cfg, backbone_group(kind));
    const auto dims = cfg.get<int64_t>("dataset.spatial_dims");
    const auto label_dim = cfg.get<int64_t>("dataset.label_dim");
    if (fields.empty() || dims <= 0) {
        return {};
    }
    const auto patch = backbone.patch_for(dims + 1);
    const bool pixel = std::any_of(patch.begin() + 1, patch.end(), [](int64_t p) { return p > 1; });
    const int64_t channels = pixel ? static_cast<int64_t>(fields.size()) : cfg.get<int64_t>("ae.lat_channels");
    EmulatorRun run;
    run.kind = kind;
    run.config = core::Config(train_emulator_defaults(kind));
    run.backbone = backbone;
    run.shape = {pixel ? "pixel" : "latent", channels, label_dim, dims + 1};
    nn::ParameterDeviceGuard meta(torch::kMeta); // exact shapes, no memory: paper-size models count in milliseconds
    build_model(run);
    return {
        nn::count_parameters(run.module()),
        fmt::format("{} {}, {} channels per state, label of {}, {} axes with time", pixel ? "pixel-space" : "latent",
                    kind == EmulatorKind::kDiffusion ? "denoiser" : "neural solver", channels, label_dim, dims + 1)};
}

/// A config file of `group` composed over every group's defaults, then `overrides`.
core::Config compose_group_file(const fs::path& file, const std::string& group,
                                const std::vector<std::string>& overrides) {
    core::Config cfg(all_group_defaults());
    YAML::Node wrapped(YAML::NodeType::Map);
    wrapped[group] = core::load_yaml_file(file);
    cfg.merge(wrapped, fmt::format("in '{}'", file.string()));
    for (const auto& o : overrides) {
        cfg.apply_override(o);
    }
    return cfg;
}

void print_config(const fs::path& file, const ConfigArgs& args) {
    const std::string group = file.parent_path().filename().string();
    std::string out;
    if (group_defaults(group)) {
        // The file fills its group; overrides use full dotted keys and may select other groups (dataset=euler_all).
        const core::Config cfg = compose_group_file(file, group, args.overrides);
        out += fmt::format("# {} config '{}', resolved over the built-in defaults\n", group, file.string());
        out += cfg.dump() + "\n";
        if (group == "ae" || group == "denoiser" || group == "surrogate") {
            const ParameterCount count = model_parameters(cfg, group);
            out += count.n < 0 ? "# parameters: select a dataset preset (e.g. dataset=euler_all) to count them\n"
                               : fmt::format("# parameters: {} ({})\n", group_thousands(count.n), count.detail);
        }
    } else {
        YAML::Node node = core::load_yaml_file(file);
        out += fmt::format("# config '{}' (not in a known config group; shown as written)\n", file.string());
        out += core::Config::dump(node) + "\n";
    }
    std::fputs(out.c_str(), stdout);
}

/// The first sentence of a preset file's header comment, on one line.
std::string preset_description(const fs::path& file) {
    std::string text;
    std::istringstream lines(core::read_file(file));
    for (std::string line; std::getline(lines, line) && line.rfind('#', 0) == 0;) {
        const size_t first = line.find_first_not_of("# ");
        text += (text.empty() ? "" : " ") + (first == std::string::npos ? std::string() : line.substr(first));
    }
    const size_t stop = text.find(". ");
    if (stop != std::string::npos) {
        text = text.substr(0, stop + 1);
    }
    return text.size() > 110 ? text.substr(0, 107) + "..." : text;
}

/// `lola presets [GROUP]`: every preset of the config groups with its description; parameter counts for the models,
/// for the paper's Euler data with 64 latent channels (3-D autoencoders: the TGC data).
void print_presets(const std::string& only) {
    const fs::path root = core::config_dir();
    std::vector<fs::path> groups;
    for (const auto& e : fs::directory_iterator(root)) {
        if (e.is_directory()) {
            groups.push_back(e.path());
        }
    }
    std::sort(groups.begin(), groups.end());
    std::vector<std::string> names;
    for (const auto& g : groups) {
        names.push_back(g.filename().string());
    }
    if (!only.empty() && std::find(names.begin(), names.end(), only) == names.end()) {
        const std::string hint = core::closest_match(only, names);
        LOLA_THROW_USAGE("no preset group '{}'{} (groups: {})", only,
                         hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint), fmt::join(names, ", "));
    }
    std::string out = fmt::format("presets in {} (choose one with GROUP=NAME, e.g. denoiser=small)\n", root.string());
    for (const auto& g : groups) {
        const std::string group = g.filename().string();
        if (!only.empty() && group != only) {
            continue;
        }
        const bool model = group == "ae" || group == "denoiser" || group == "surrogate";
        out += fmt::format("\n{}:{}\n", group,
                           model ? group == "ae" ? "  (parameters for euler_all; 3-D ones for gravity_cooling)"
                                                 : "  (parameters for euler_all with 64 latent channels)"
                                 : "");
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(g)) {
            if (e.path().extension() == ".yaml") {
                files.push_back(e.path());
            }
        }
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            std::string count;
            if (model) {
                const YAML::Node spatial = core::load_yaml_file(f)["spatial"];
                const bool three_d = group == "ae" && spatial && spatial.as<int>() == 3;
                std::vector<std::string> overrides{three_d ? "dataset=gravity_cooling" : "dataset=euler_all"};
                if (group != "ae") {
                    overrides.emplace_back("ae.lat_channels=64");
                }
                const core::Config cfg = compose_group_file(f, group, overrides);
                const ParameterCount n = model_parameters(cfg, group);
                count = n.n < 0 ? "" : group_thousands(n.n);
            }
            out += fmt::format("  {:<30} {:>13}  {}\n", f.stem().string(), count, preset_description(f));
        }
    }
    std::fputs(out.c_str(), stdout);
}

} // namespace

void register_info(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "info",
        "describe a Well HDF5 file, a dataset folder (or the folder of them simulate writes), a run folder, a "
        "model file (.lola), a latent cache, a checkpoint or weights (.pt), or a config");
    auto path = std::make_shared<std::string>();
    auto args = std::make_shared<ConfigArgs>();
    cmd->add_option("path", *path, "file or folder to describe")->required();
    cmd->add_option("overrides", args->overrides, "key=value overrides (for config files)");
    cmd->callback([path, args] {
        const fs::path p(*path);
        LOLA_CHECK_USAGE(fs::exists(p), "'{}' does not exist", p.string());
        if (fs::is_directory(p)) {
            std::vector<fs::path> datasets, caches;
            for (const auto& e : fs::directory_iterator(p)) {
                if (e.is_directory() && fs::is_directory(e.path() / "data")) {
                    datasets.push_back(e.path());
                } else if (e.is_regular_file() && e.path().extension() == ".h5" && is_latent_cache(e.path())) {
                    caches.push_back(e.path());
                }
            }
            std::sort(datasets.begin(), datasets.end());
            std::sort(caches.begin(), caches.end());
            if (fs::exists(p / "data")) {
                print_dataset_dir(p);
            } else if (fs::exists(p / "config.yaml")) {
                print_run_dir(p);
            } else if (!datasets.empty()) {
                print_datasets_parent(p, datasets);
            } else if (!caches.empty()) {
                for (const auto& c : caches) {
                    print_latent_cache(c);
                }
            } else {
                LOLA_THROW_USAGE(
                    "'{}' is none of: a Well dataset folder (data/), a folder of them (as 'lola simulate --out' "
                    "writes), a run folder (config.yaml), a latent cache folder (*.h5)",
                    p.string());
            }
        } else if (p.extension() == ".yaml" || p.extension() == ".yml") {
            print_config(p, *args);
        } else if (p.extension() == ".pt") {
            print_archive(p);
        } else if (runtime::is_model_file(p)) {
            std::fputs(runtime::Emulator::load(p).card().to_text().c_str(), stdout);
        } else if (is_latent_cache(p)) {
            print_latent_cache(p);
        } else {
            print_well_file(p);
        }
    });
}

void register_presets(CLI::App& app) {
    auto* cmd = app.add_subcommand("presets",
                                   "list the config presets of each group (or of GROUP) with their description and, "
                                   "for models, parameter counts");
    auto group = std::make_shared<std::string>();
    cmd->add_option("group", *group, "ae | dataset | denoiser | surrogate | optim (default: all)");
    cmd->callback([group] { print_presets(*group); });
}

} // namespace lola::app
