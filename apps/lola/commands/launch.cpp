// lola launch --nproc N -- COMMAND ...: a data-parallel job on this machine without torchrun (docs/distributed.md).
// Starts N copies of this lola with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT), and, as torchrun does, stops the others when one fails.
#include <CLI/CLI.hpp>

#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "commands/commands.h"
#include "lola/core/error.h"
#include "lola/core/log.h"

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX, not declared by every libc header

namespace lola::app {

namespace {

struct LaunchArgs {
    int nproc = 2;
    int port = 0;
    double grace = 10;
    std::vector<std::string> command;
};

/// A TCP port that was free a moment ago (the kernel's pick); rank 0's store binds it right after.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    LOLA_CHECK(fd >= 0, "launch: cannot open a socket: {}", std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    LOLA_CHECK(ok, "launch: no free TCP port on 127.0.0.1: {} (pass --master-port)", std::strerror(errno));
    return ntohs(addr.sin_port);
}

/// This process's environment with `set` replacing or adding variables.
std::vector<std::string> environment_with(const std::map<std::string, std::string>& set) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        if (set.count(entry.substr(0, entry.find('='))) == 0) {
            env.push_back(entry);
        }
    }
    for (const auto& [k, v] : set) {
        std::string entry = k;
        entry += '=';
        entry += v;
        env.push_back(std::move(entry));
    }
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> p;
    for (auto& s : strings) {
        p.push_back(s.data());
    }
    p.push_back(nullptr);
    return p;
}

std::string describe(int status) {
    if (WIFSIGNALED(status)) {
        return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    }
    return fmt::format("exited with code {}", WEXITSTATUS(status));
}

void run_launch(const LaunchArgs& a) {
    LOLA_CHECK_USAGE(!a.command.empty(),
                     "launch: give the command after --, e.g. lola launch --nproc 2 -- train-ae "
                     "--out runs/ae dataset=euler_small");
    LOLA_CHECK_USAGE(a.command.front() != "launch", "launch: the command cannot be launch itself");
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const int port = a.port > 0 ? a.port : free_port();
    LOLA_LOG_INFO("launch: {} ranks of `lola {}` (rendezvous 127.0.0.1:{})", a.nproc, fmt::join(a.command, " "), port);

    std::map<pid_t, int> ranks; // running children
    for (int r = 0; r < a.nproc; ++r) {
        std::vector<std::string> argv{self};
        argv.insert(argv.end(), a.command.begin(), a.command.end());
        std::vector<std::string> env = environment_with({{"RANK", std::to_string(r)},
                                                         {"LOCAL_RANK", std::to_string(r)},
                                                         {"WORLD_SIZE", std::to_string(a.nproc)},
                                                         {"LOCAL_WORLD_SIZE", std::to_string(a.nproc)},
                                                         {"MASTER_ADDR", "127.0.0.1"},
                                                         {"MASTER_PORT", std::to_string(port)}});
        pid_t pid = 0;
        const int rc = ::posix_spawn(&pid, self.c_str(), nullptr, nullptr, pointers(argv).data(), pointers(env).data());
        if (rc != 0) {
            for (const auto& [p, rank] : ranks) {
                ::kill(p, SIGTERM);
            }
            LOLA_THROW("launch: cannot start rank {}: {}", r, std::strerror(rc));
        }
        ranks[pid] = r;
    }

    std::string failure;
    int status = 0;
    while (!ranks.empty()) {
        const pid_t pid = ::waitpid(-1, &status, 0);
        if (pid < 0) {
            LOLA_CHECK(errno == EINTR, "launch: waiting for the ranks failed: {}", std::strerror(errno));
            continue;
        }
        const auto it = ranks.find(pid);
        if (it == ranks.end()) {
            continue;
        }
        const int rank = it->second;
        ranks.erase(it);
        const bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (failed && failure.empty()) {
            failure = fmt::format("rank {} {}", rank, describe(status));
            // as torchrun does: the job ends with its first failure; the others get `grace` seconds to stop
            for (const auto& [p, r] : ranks) {
                ::kill(p, SIGTERM);
            }
            const auto deadline =
                std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(a.grace * 1000));
            while (!ranks.empty() && std::chrono::steady_clock::now() < deadline) {
                const pid_t done = ::waitpid(-1, &status, WNOHANG);
                if (done > 0) {
                    ranks.erase(done);
                } else {
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                }
            }
            for (const auto& [p, r] : ranks) {
                ::kill(p, SIGKILL);
                ::waitpid(p, &status, 0);
            }
            ranks.clear();
        }
    }
    LOLA_CHECK(failure.empty(), "launch: {}; the other ranks were stopped", failure);
}

} // namespace

void register_launch(CLI::App& app) {
    auto* cmd = app.add_subcommand("launch",
                                   "run a command as a data-parallel job of N processes on this machine (as torchrun "
                                   "--nproc-per-node N does), e.g. lola launch --nproc 2 -- train-ae --out runs/ae");
    auto a = std::make_shared<LaunchArgs>();
    cmd->add_option("--nproc", a->nproc, "processes (ranks)")->check(CLI::Range(1, 1024))->capture_default_str();
    cmd->add_option("--master-port", a->port, "rendezvous port on 127.0.0.1 (default: a free one)")
        ->check(CLI::Range(1, 65535));
    cmd->add_option("--grace", a->grace, "seconds the other ranks get to stop after one fails, before SIGKILL")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("command", a->command, "the lola command and its arguments, after --");
    cmd->callback([a] { run_launch(*a); });
}

} // namespace lola::app
