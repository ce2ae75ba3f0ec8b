// Private to lola::io: the last step of the atomic HDF5 writers (WellWriter, LatentCacheWriter; docs/reliability.md).
#pragma once

#include <filesystem>
#include <system_error>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/io/hdf5.h"

namespace lola::io::detail {

/// Close `file` (written under `temp_path`; a failed flush says which final file and why) and rename it onto
/// `final_path`.
inline void close_and_rename(h5::File& file, const std::filesystem::path& temp_path,
                             const std::filesystem::path& final_path) {
    try {
        file.close();
    } catch (const Error& e) {
        core::rethrow_write_error(final_path, e);
    }
    std::error_code ec;
    std::filesystem::rename(temp_path, final_path, ec);
    LOLA_CHECK(!ec, "cannot move '{}' to '{}': {}", temp_path.string(), final_path.string(), ec.message());
}

} // namespace lola::io::detail
