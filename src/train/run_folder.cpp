#include "lola/train/run_folder.h"

#include "lola/core/error.h"
#include "lola/core/log.h"

namespace lola::train {

namespace fs = std::filesystem;

const std::vector<std::string>& run_file_names() {
    static const std::vector<std::string> names{"config.yaml", "metrics.jsonl", "state.pt", "state_best.pt",
                                                "checkpoint.pt"};
    return names;
}

namespace {

core::FolderLock claim(const fs::path& dir, RunMode mode) {
    LOLA_CHECK_USAGE(mode != RunMode::kResume || fs::is_directory(dir), "--resume: the run folder '{}' does not exist",
                     dir.string());
    return core::claim_folder(dir, "run folder");
}

} // namespace

RunFolder::RunFolder(fs::path dir, RunMode mode)
    : dir_(std::move(dir)), created_(!fs::exists(dir_)), lock_(claim(dir_, mode)) {
    std::vector<std::string> present;
    for (const std::string& name : run_file_names()) {
        if (fs::exists(dir_ / name)) {
            present.push_back(name);
        }
    }
    switch (mode) {
        case RunMode::kFresh:
            LOLA_CHECK_USAGE(present.empty(),
                             "'{}' already holds a run ({}): pass --resume to continue it, --overwrite to "
                             "replace it, or choose another --out",
                             dir_.string(), fmt::join(present, ", "));
            break;
        case RunMode::kResume:
            LOLA_CHECK_USAGE(fs::exists(dir_ / "config.yaml"),
                             "--resume: '{}' holds no run to resume (no config.yaml); "
                             "drop --resume to start one",
                             dir_.string());
            break;
        case RunMode::kOverwrite:
            for (const std::string& name : present) {
                std::error_code ec;
                fs::remove(dir_ / name, ec);
                LOLA_CHECK(!ec, "--overwrite: cannot remove '{}': {}", (dir_ / name).string(), ec.message());
            }
            if (!present.empty()) {
                LOLA_LOG_INFO("--overwrite: removed the previous run's {} from '{}'", fmt::join(present, ", "),
                              dir_.string());
            }
            break;
    }
}

RunFolder::~RunFolder() {
    if (!created_) {
        return;
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        if (entry.path().filename() != ".lock") {
            return; // the run wrote something: keep it
        }
    }
    if (!ec) {
        fs::remove(dir_ / ".lock", ec); // the lock is released when lock_ closes its descriptor, after this body
        fs::remove(dir_, ec);
    }
}

} // namespace lola::train
