// Claiming a run folder for training (docs/reliability.md): one process at a time, never a finished run replaced by
// accident. A fresh run refuses a folder that already holds a run (the natural mistake after a kill is to rerun
// without --resume); --resume continues it; --overwrite replaces it. The folder stays locked while the process
// lives, and temporaries of killed processes are removed when the folder is claimed again.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lola/core/fs.h"

namespace lola::train {

enum class RunMode {
    kFresh,     ///< the folder must be new or hold no run
    kResume,    ///< the folder must hold a run to continue
    kOverwrite, ///< a run in the folder is deleted first
};

/// The files of a run folder that a fresh run would replace: config.yaml, metrics.jsonl, state.pt, state_best.pt,
/// checkpoint.pt.
const std::vector<std::string>& run_file_names();

class RunFolder {
public:
    /// Creates the folder, locks it (lola::Error when another process holds it), removes stale temporaries, and
    /// applies `mode` (UsageError naming the folder, its run files and the flag to pass).
    RunFolder(std::filesystem::path dir, RunMode mode);
    /// Releases the lock; a folder this object created that still holds nothing but its lock file (the command failed
    /// before writing anything, e.g. on a config error) is removed, so that a failed start leaves nothing behind.
    ~RunFolder();
    RunFolder(const RunFolder&) = delete;
    RunFolder& operator=(const RunFolder&) = delete;
    RunFolder(RunFolder&&) = delete;
    RunFolder& operator=(RunFolder&&) = delete;

    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
    bool created_ = false; ///< the folder did not exist before
    core::FolderLock lock_;
};

} // namespace lola::train
