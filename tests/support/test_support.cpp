#include "support/test_support.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <atomic>
#include <random>
#include <vector>

#include "lola/io/well.h"

namespace lola::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("lola_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

io::WellSchema euler_like_schema(int64_t n_traj, int64_t n_steps, int64_t nx, int64_t ny, bool periodic, double gamma) {
    io::WellSchema s;
    s.dataset_name = periodic ? "euler_multi_quadrants_periodicBC" : "euler_multi_quadrants_openBC";
    s.spatial_dims = {"x", "y"};
    s.resolution = {nx, ny};
    for (int64_t n : s.resolution) {
        std::vector<double> c;
        for (int64_t i = 0; i < n; ++i) {
            c.push_back((static_cast<double>(i) + 0.5) / static_cast<double>(n));
        }
        s.coords.push_back(c);
    }
    for (int64_t t = 0; t < n_steps; ++t) {
        s.time.push_back(0.015 * static_cast<double>(t));
    }
    s.n_trajectories = n_traj;
    s.simulation_parameters = {"gamma"};
    s.scalars = {{"gamma", gamma}};
    s.fields[0] = {"energy", "density", "pressure"};
    s.fields[1] = {"momentum"};
    const io::BcType type = periodic ? io::BcType::kPeriodic : io::BcType::kOpen;
    const std::string suffix = periodic ? "_periodic" : "_open";
    s.boundary_conditions = {{"x" + suffix, type, {"x"}, true, true}, {"y" + suffix, type, {"y"}, true, true}};
    return s;
}

double pattern_value(int64_t traj, int64_t t, int64_t channel, int64_t i, int64_t j) {
    return 1.0 + static_cast<double>(traj) * 1000.0 + static_cast<double>(t) * 10.0 + static_cast<double>(channel) +
           0.01 * static_cast<double>(i) + 0.0001 * static_cast<double>(j);
}

void write_pattern_file(const fs::path& path, const io::WellSchema& schema) {
    io::WellWriter writer(path, schema, {{"lola_format", "trajectory"}});
    const int64_t nx = schema.resolution[0], ny = schema.resolution[1];
    const int64_t c = schema.n_channels();
    std::vector<double> frame(static_cast<size_t>(c * nx * ny));
    for (int64_t b = 0; b < schema.n_trajectories; ++b) {
        for (int64_t t = 0; t < schema.n_steps(); ++t) {
            for (int64_t ch = 0; ch < c; ++ch) {
                for (int64_t i = 0; i < nx; ++i) {
                    for (int64_t j = 0; j < ny; ++j) {
                        frame[static_cast<size_t>((ch * nx + i) * ny + j)] = pattern_value(b, t, ch, i, j);
                    }
                }
            }
            writer.write_frame(b, t, frame.data());
        }
    }
    writer.commit();
}

void write_pattern_dataset(const fs::path& dir, int64_t n_traj, int64_t n_steps, int64_t nx, int64_t ny,
                           bool periodic) {
    for (const char* split : {"train", "valid", "test"}) {
        fs::create_directories(dir / "data" / split);
        io::WellSchema s = euler_like_schema(n_traj, n_steps, nx, ny, periodic);
        write_pattern_file(dir / "data" / split / (s.dataset_name + "_gamma_1.4_Dry_air_20.hdf5"), s);
    }
}

CommandResult run_command(const std::string& command) {
    CommandResult r;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) {
        return r;
    }
    std::array<char, 4096> buf{};
    while (fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) {
        r.out += buf.data();
    }
    const int status = pclose(pipe);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

int free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0) << "socket: " << std::strerror(errno);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    EXPECT_TRUE(ok) << "no free TCP port on 127.0.0.1";
    return ntohs(addr.sin_port);
}

} // namespace lola::test
