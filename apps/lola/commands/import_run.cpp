// lola import-run PY_RUN --out RUN: a run folder of the reference implementation (its config.yaml and state.pth) as
// a lola run folder that `lola eval`, `lola emulate`, `lola info` and runtime::Emulator load (docs/reference.md).
// An emulator run is imported on its already imported autoencoder run, given with --ae.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

#include "commands/commands.h"
#include "common.h"
#include "lola/interop/reference.h"

namespace lola::app {

namespace {

struct ImportArgs {
    std::string run;
    std::string out;
    std::string ae;
};

void run_import(const ImportArgs& a) {
    interop::ImportOptions options;
    options.ae = a.ae;
    const interop::ImportReport r = interop::import_run(a.run, a.out, options);
    std::printf("imported %s run '%s': %lld tensors, %lld parameters -> %s\n", interop::run_kind_name(r.kind),
                r.name.c_str(), static_cast<long long>(r.tensors), static_cast<long long>(r.parameters), a.out.c_str());
}

} // namespace

void register_import_run(CLI::App& app) {
    auto* cmd = app.add_subcommand("import-run",
                                   "import a run folder of the reference Python implementation (config.yaml + "
                                   "state.pth) as a lola run folder");
    auto a = std::make_shared<ImportArgs>();
    cmd->add_option("run", a->run, "the reference run folder (config.yaml, state.pth)")->required();
    cmd->add_option("--out", a->out, "the lola run folder to create (must not exist)")->required()->check(non_empty());
    cmd->add_option("--ae", a->ae,
                    "emulator runs: the lola autoencoder run imported from the reference run's ae_run (import it "
                    "first)");
    cmd->callback([a] { run_import(*a); });
}

} // namespace lola::app
