// Shared test helpers: temporary folders and small Well files written by lola's own writer.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "lola/core/error.h"
#include "lola/io/well_schema.h"

namespace lola::test {

/// The message of the lola::Error `f` throws, or "(no error)".
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

/// A unique temporary folder, removed when the fixture ends.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

/// A 2-D Euler-like schema (energy, density, pressure, momentum) with `n_traj` x `n_steps` and nx x ny cells.
io::WellSchema euler_like_schema(int64_t n_traj, int64_t n_steps, int64_t nx, int64_t ny, bool periodic,
                                 double gamma = 1.4);

/// The value written at (traj, t, channel, i, j) by write_pattern_file: distinct per coordinate, all positive.
double pattern_value(int64_t traj, int64_t t, int64_t channel, int64_t i, int64_t j);

/// Write a Well file whose every value is pattern_value(...), through io::WellWriter.
void write_pattern_file(const std::filesystem::path& path, const io::WellSchema& schema);

/// A dataset folder <dir>/data/{train,valid,test}/ with one pattern file per split (n_traj trajectories each).
void write_pattern_dataset(const std::filesystem::path& dir, int64_t n_traj, int64_t n_steps, int64_t nx, int64_t ny,
                           bool periodic);

/// Exit code and combined stdout + stderr of a shell command.
struct CommandResult {
    int code = -1;
    std::string out;
};
CommandResult run_command(const std::string& command);

#ifdef LOLA_BINARY
/// Run the lola binary under test (LOLA_BINARY, defined by the integration tests' targets) with `args`.
inline CommandResult run_lola(const std::string& args) { return run_command(std::string(LOLA_BINARY) + " " + args); }
#endif

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick), for a test's rendezvous.
int free_tcp_port();

/// The whole content of a text file ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Whether `text` contains `what`.
inline bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

} // namespace lola::test
