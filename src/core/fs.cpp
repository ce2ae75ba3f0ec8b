#include "lola/core/fs.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "lola/core/error.h"

namespace lola::core {

namespace fs = std::filesystem;

fs::path temp_path_for(const fs::path& path) {
    static std::atomic<unsigned> counter{0};
    return path.parent_path() / fmt::format(".{}.tmp.{}.{}", path.filename().string(), ::getpid(), counter++);
}

void write_file_atomic(const fs::path& path, const std::string& text) {
    fs::path tmp = temp_path_for(path);
    {
        std::ofstream out(tmp, std::ios::binary);
        LOLA_CHECK(out.good(), "cannot write '{}' (is the folder writable?)", path.string());
        out << text;
        out.flush();
        if (!out.good()) {
            out.close();
            std::error_code ec;
            fs::remove(tmp, ec);
            LOLA_THROW("writing '{}' failed (disk full?)", path.string());
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        LOLA_THROW("cannot rename temporary file onto '{}': {}", path.string(), ec.message());
    }
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    LOLA_CHECK(in.good(), "cannot read '{}' (does it exist?)", path.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace lola::core
