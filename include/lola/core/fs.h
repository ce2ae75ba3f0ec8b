// Small filesystem helpers: atomic writes.
#pragma once

#include <filesystem>
#include <string>

namespace lola::core {

/// A temporary sibling name for `path` (same folder, so that rename is atomic).
std::filesystem::path temp_path_for(const std::filesystem::path& path);

/// Write `text` to `path` atomically: to a temporary sibling, then rename.
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

std::string read_file(const std::filesystem::path& path);

} // namespace lola::core
