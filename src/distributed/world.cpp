#include "lola/distributed/world.h"

#include <cstdlib>
#include <limits>

#include "lola/core/error.h"

namespace lola::distributed {

namespace {

/// `text` as an integer in [lo, hi]; UsageError naming `name` otherwise.
int parse_int(const std::string& name, const std::string& text, int lo, int hi) {
    size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    LOLA_CHECK_USAGE(used == text.size() && !text.empty() && value >= lo && value <= hi,
                     "environment variable {}='{}' is not an integer in [{}, {}]", name, text, lo, hi);
    return static_cast<int>(value);
}

/// The integer value of `name`, `fallback` when unset.
int int_var(const Environment& env, const std::string& name, std::optional<int> fallback, int lo, int hi) {
    const std::optional<std::string> v = env(name);
    if (!v) {
        LOLA_CHECK_USAGE(fallback.has_value(),
                         "environment variable {} is not set (the launcher sets it; "
                         "see docs/distributed.md)",
                         name);
        return *fallback;
    }
    return parse_int(name, *v, lo, hi);
}

constexpr int kMaxRanks = 1 << 20;
constexpr int kMaxPort = 65535;

World torchrun_world(const Environment& env) {
    World w;
    w.launcher = "torchrun";
    w.size = int_var(env, "WORLD_SIZE", std::nullopt, 1, kMaxRanks);
    w.rank = int_var(env, "RANK", std::nullopt, 0, w.size - 1);
    w.local_rank = int_var(env, "LOCAL_RANK", 0, 0, w.size - 1);
    w.local_size = int_var(env, "LOCAL_WORLD_SIZE", w.size, 1, w.size);
    LOLA_CHECK_USAGE(w.local_rank < w.local_size, "LOCAL_RANK={} must be below LOCAL_WORLD_SIZE={}", w.local_rank,
                     w.local_size);
    const std::optional<std::string> addr = env("MASTER_ADDR");
    LOLA_CHECK_USAGE(addr && !addr->empty(),
                     "environment variable MASTER_ADDR is not set (the host of rank 0; "
                     "torchrun and `lola launch` set it)");
    w.master_addr = *addr;
    w.master_port = int_var(env, "MASTER_PORT", std::nullopt, 1, kMaxPort);
    return w;
}

World slurm_world(const Environment& env, int ntasks) {
    World w;
    w.launcher = "slurm";
    w.size = ntasks;
    w.rank = int_var(env, "SLURM_PROCID", std::nullopt, 0, w.size - 1);
    w.local_rank = int_var(env, "SLURM_LOCALID", 0, 0, w.size - 1);
    // SLURM_NTASKS_PER_NODE is only set with --ntasks-per-node; the local world size is informative only
    w.local_size = int_var(env, "SLURM_NTASKS_PER_NODE", w.size, 1, w.size);
    if (const std::optional<std::string> addr = env("MASTER_ADDR"); addr && !addr->empty()) {
        w.master_addr = *addr;
    } else {
        std::optional<std::string> nodes = env("SLURM_STEP_NODELIST");
        if (!nodes) {
            nodes = env("SLURM_JOB_NODELIST");
        }
        LOLA_CHECK_USAGE(nodes.has_value(),
                         "SLURM_JOB_NODELIST is not set and neither is MASTER_ADDR: launch with "
                         "srun, or set MASTER_ADDR to the host of rank 0");
        w.master_addr = first_host(*nodes);
    }
    if (env("MASTER_PORT")) {
        w.master_port = int_var(env, "MASTER_PORT", std::nullopt, 1, kMaxPort);
    } else {
        const int job = int_var(env, "SLURM_JOB_ID", 0, 0, std::numeric_limits<int>::max());
        w.master_port = 29500 + job % 10000;
    }
    return w;
}

} // namespace

Environment process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str()); // NOLINT(concurrency-mt-unsafe): read at start, before threads
        return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
    };
}

World world_from_environment(const Environment& env) {
    if (env("RANK") || env("WORLD_SIZE")) {
        return torchrun_world(env);
    }
    if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
        const int ntasks = int_var(env, "SLURM_NTASKS", std::nullopt, 1, kMaxRanks);
        if (ntasks > 1) {
            return slurm_world(env, ntasks);
        }
    }
    return World{};
}

std::string first_host(const std::string& nodelist) {
    std::string host;
    size_t i = 0;
    while (i < nodelist.size() && nodelist[i] != ',') {
        if (nodelist[i] != '[') {
            LOLA_CHECK_USAGE(nodelist[i] != ']', "malformed Slurm node list '{}': ']' without '['", nodelist);
            host += nodelist[i++];
            continue;
        }
        // a range group: keep its first number as written (zero padding included), skip to its ']'
        const size_t close = nodelist.find(']', i);
        LOLA_CHECK_USAGE(close != std::string::npos, "malformed Slurm node list '{}': '[' without ']'", nodelist);
        const std::string group = nodelist.substr(i + 1, close - i - 1);
        const std::string first = group.substr(0, group.find_first_of(",-"));
        LOLA_CHECK_USAGE(!first.empty(), "malformed Slurm node list '{}': empty range", nodelist);
        host += first;
        i = close + 1;
    }
    LOLA_CHECK_USAGE(!host.empty(), "malformed Slurm node list '{}': no host", nodelist);
    return host;
}

} // namespace lola::distributed
