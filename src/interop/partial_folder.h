// A run folder being built under a temporary name (interop's import and export): removed unless released, so that
// an error leaves nothing behind.
#pragma once

#include <filesystem>
#include <system_error>
#include <utility>

namespace lola::interop {

/// Removes a partly built folder unless released.
class PartialFolder {
public:
    explicit PartialFolder(std::filesystem::path dir) : dir_(std::move(dir)) {
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    ~PartialFolder() {
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }
    PartialFolder(const PartialFolder&) = delete;
    PartialFolder& operator=(const PartialFolder&) = delete;
    const std::filesystem::path& dir() const { return dir_; }
    void release() { dir_.clear(); }

private:
    std::filesystem::path dir_;
};

} // namespace lola::interop
