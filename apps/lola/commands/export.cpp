// lola export RUN --out MODEL.lola: one self-contained model file (docs/runtime.md) holding the emulator, its
// autoencoder, the statistics and the configuration, that runtime::Emulator::load, the C API and `lola emulate` /
// `lola eval` read anywhere. With --format reference: the run as a run folder of the reference implementation
// (docs/reference.md, "Exporting").
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands/commands.h"
#include "common.h"
#include "lola/core/error.h"
#include "lola/core/log.h"
#include "lola/interop/export.h"
#include "lola/runtime/emulator.h"

namespace lola::app {

namespace fs = std::filesystem;

namespace {

struct ExportArgs {
    std::string run;
    std::string out;
    std::string ae;
    std::string format = "lola";
    bool best = false;
    bool overwrite = false;
};

void run_export(const ExportArgs& a) {
    const fs::path out(a.out);
    if (a.format == "reference") {
        LOLA_CHECK_USAGE(!a.overwrite,
                         "--overwrite does not apply to --format reference: an export never replaces a "
                         "folder; remove '{}' first",
                         out.string());
        interop::ExportOptions eo;
        eo.best = a.best;
        eo.ae = a.ae;
        const interop::ExportReport r = interop::export_reference(a.run, out, eo);
        std::printf("%s run -> %s: config.yaml, state.pth (%lld tensors, %lld parameters)%s\n",
                    interop::run_kind_name(r.kind), out.string().c_str(), static_cast<long long>(r.tensors),
                    static_cast<long long>(r.parameters),
                    r.kind == interop::RunKind::kAutoencoder ? "" : ", autoencoder");
        return;
    }
    LOLA_CHECK_USAGE(a.overwrite || !fs::exists(out),
                     "'{}' already exists: pass --overwrite to replace it, or choose "
                     "another --out",
                     out.string());
    runtime::LoadOptions lo;
    lo.autoencoder = a.ae;
    lo.best = a.best;
    const runtime::Emulator model = runtime::Emulator::load(a.run, torch::kCPU, lo);
    if (out.has_parent_path()) {
        fs::create_directories(out.parent_path());
    }
    const auto start = std::chrono::steady_clock::now();
    model.save(out);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fputs(model.card().to_text().c_str(), stdout);
    LOLA_LOG_INFO("export: wrote {} ({:.1f} MB) in {:.2f} s", out.string(),
                  static_cast<double>(fs::file_size(out)) / 1e6, seconds);
}

} // namespace

void register_export(CLI::App& app) {
    auto* cmd = app.add_subcommand("export",
                                   "write a trained emulator (with its autoencoder, statistics and "
                                   "configuration) as one .lola model file, or a run as a reference run folder");
    auto a = std::make_shared<ExportArgs>();
    cmd->add_option("run", a->run,
                    "emulator run folder (lola train-diffusion / train-surrogate); with --format reference also an "
                    "autoencoder run")
        ->required();
    cmd->add_option("--out", a->out, "model file to write, e.g. model.lola (--format reference: the run folder)")
        ->required()
        ->check(non_empty());
    cmd->add_option("--format", a->format,
                    "lola: one .lola model file; reference: a run folder of the reference Python implementation "
                    "(config.yaml, state.pth; docs/reference.md)")
        ->check(CLI::IsMember({"lola", "reference"}));
    cmd->add_option("--ae", a->ae,
                    "lola: the autoencoder run, if it moved (default: the one the run records); reference: the "
                    "reference folder its autoencoder run was exported to");
    cmd->add_flag("--best", a->best, "export the best-validation weights (state_best.pt) instead of the last");
    cmd->add_flag("--overwrite", a->overwrite, "replace --out if it exists");
    cmd->callback([a] { run_export(*a); });
}

} // namespace lola::app
