// lola info PATH: a readable summary of a Well HDF5 file, a Well dataset folder, a run folder or a config file.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "commands/commands.h"
#include "common.h"
#include "lola/autoencoder/autoencoder.h"
#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/data/dataset.h"
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

/// "# parameters: N (...)" of a denoiser or neural solver config for the composed dataset and autoencoder: a latent
/// model has ae.lat_channels channels per state, a pixel model (patch size > 1 along space) the dataset's fields.
std::string emulator_parameter_line(const core::Config& cfg, EmulatorKind kind) {
    const nn::BackboneOptions backbone = nn::BackboneOptions::from_config(cfg, backbone_group(kind));
    const auto fields = cfg.get<std::vector<std::string>>("dataset.fields");
    const auto dims = cfg.get<int64_t>("dataset.spatial_dims");
    const auto label_dim = cfg.get<int64_t>("dataset.label_dim");
    if (fields.empty() || dims <= 0) {
        return "# parameters: select a dataset preset (e.g. dataset=euler_all) to count them\n";
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
    return fmt::format("# parameters: {} ({} {}, {} channels per state, label of {}, {} axes with time)\n",
                       group_thousands(nn::count_parameters(run.module())), pixel ? "pixel-space" : "latent",
                       kind == EmulatorKind::diffusion ? "denoiser" : "neural solver", channels, label_dim, dims + 1);
}

void print_config(const fs::path& file, const ConfigArgs& args) {
    const std::string group = file.parent_path().filename().string();
    std::string out;
    if (group_defaults(group)) {
        // The file fills its group; overrides use full dotted keys and may select other groups (dataset=euler_all).
        core::Config cfg(all_group_defaults());
        YAML::Node wrapped(YAML::NodeType::Map);
        wrapped[group] = core::load_yaml_file(file);
        cfg.merge(wrapped, fmt::format("in '{}'", file.string()));
        for (const auto& o : args.overrides) {
            cfg.apply_override(o);
        }
        out += fmt::format("# {} config '{}', resolved over the built-in defaults\n", group, file.string());
        out += cfg.dump() + "\n";
        if (group == "denoiser" || group == "surrogate") {
            out +=
                emulator_parameter_line(cfg, group == "denoiser" ? EmulatorKind::diffusion : EmulatorKind::surrogate);
        }
        if (group == "ae") {
            // The dataset fixes the input channels.
            autoencoder::AutoEncoderOptions ae = autoencoder::AutoEncoderOptions::from_config(cfg);
            const auto fields = cfg.get<std::vector<std::string>>("dataset.fields");
            if (ae.pixel_channels == 0 && fields.empty()) {
                out += "# parameters: select a dataset (e.g. dataset=euler_all) to count them\n";
            } else {
                if (ae.pixel_channels == 0) {
                    ae.resolve_pixel_channels(static_cast<int64_t>(fields.size()));
                }
                const int64_t n = autoencoder::count_parameters(ae);
                out += fmt::format("# parameters: {} ({} input channels, {} latent channels, downsampling {})\n",
                                   group_thousands(n), ae.pixel_channels, ae.lat_channels, ae.downsampling());
            }
        }
    } else {
        YAML::Node node = core::load_yaml_file(file);
        out += fmt::format("# config '{}' (not in a known config group; shown as written)\n", file.string());
        out += core::Config::dump(node) + "\n";
    }
    std::fputs(out.c_str(), stdout);
}

} // namespace

void register_info(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "info", "summarise a Well HDF5 file, a dataset folder, a run folder, a model file (.lola) or a config");
    auto path = std::make_shared<std::string>();
    auto args = std::make_shared<ConfigArgs>();
    cmd->add_option("path", *path, "file or folder to describe")->required();
    cmd->add_option("overrides", args->overrides, "key=value overrides (for config files)");
    cmd->callback([path, args] {
        const fs::path p(*path);
        LOLA_CHECK_USAGE(fs::exists(p), "'{}' does not exist", p.string());
        if (fs::is_directory(p)) {
            if (fs::exists(p / "data")) {
                print_dataset_dir(p);
            } else if (fs::exists(p / "config.yaml")) {
                print_run_dir(p);
            } else {
                LOLA_THROW_USAGE("'{}' is neither a Well dataset folder (no data/) nor a run folder (no config.yaml)",
                                 p.string());
            }
        } else if (p.extension() == ".yaml" || p.extension() == ".yml") {
            print_config(p, *args);
        } else if (runtime::is_model_file(p)) {
            std::fputs(runtime::Emulator::load(p).card().to_text().c_str(), stdout);
        } else {
            print_well_file(p);
        }
    });
}

} // namespace lola::app
