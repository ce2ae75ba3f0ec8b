// Writing lola runs in the reference implementation's run-folder layout (docs/reference.md, "Exporting"): a
// config.yaml whose model, dataset and trajectory groups use the reference's keys, and a state.pth that
// `torch.load(path, weights_only=True)` reads, with the reference's parameter names (interop::autoencoder_names,
// interop::emulator_names). The inverse of import_run: importing an exported run gives back the same weights.
#pragma once

#include <filesystem>
#include <string>

#include "lola/interop/reference.h"
#include "lola/interop/state_dict.h"

namespace lola::interop {

struct ExportOptions {
    bool best = false; ///< export state_best.pt instead of state.pt
    /// Emulator runs: the reference run folder of their autoencoder (exported before, e.g. with export_reference), to
    /// which the exported run's `autoencoder` link and `ae_run` point, as the reference's eval.py expects.
    std::filesystem::path ae;
};

struct ExportReport {
    RunKind kind = RunKind::kAutoencoder;
    int64_t tensors = 0;    ///< tensors written to state.pth
    int64_t parameters = 0; ///< of the exported model
};

/// Export the lola run folder `run` (an autoencoder, diffusion or neural-solver run) as the reference run folder
/// `out`: config.yaml, state.pth and, for emulators, the `autoencoder` link. Options the reference cannot express
/// (a U-Net backbone, a pixel-space emulator, a time prior other than uniform, scalars logged in the label) are
/// refused by name. Built under a temporary sibling name and renamed onto `out`: on error nothing is left there.
ExportReport export_reference(const std::filesystem::path& run, const std::filesystem::path& out,
                              const ExportOptions& options);

} // namespace lola::interop
