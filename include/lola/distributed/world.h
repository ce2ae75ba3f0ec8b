// Where this process stands in a data-parallel job (docs/distributed.md): its rank, the world size and the rendezvous
// address, read from the environment exactly as torchrun sets it (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT) or as Slurm's srun does (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the first host of
// SLURM_JOB_NODELIST). `lola launch` sets torchrun's variables.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace lola::distributed {

struct World {
    int rank = 0;
    int size = 1;
    int local_rank = 0;
    int local_size = 1;
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    /// "torchrun" (torchrun's variables, also set by `lola launch`), "slurm" (srun), or "" (not launched: one process,
    /// no process group).
    std::string launcher;

    /// Whether this process is one of a launched job (a world of 1 included: it still goes through a process group).
    bool launched() const { return !launcher.empty(); }
};

/// The value of an environment variable, or nullopt when unset.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;

/// The process's own environment (getenv).
Environment process_environment();

/// The world described by `env`: torchrun's variables when RANK or WORLD_SIZE is set, else Slurm's when SLURM_PROCID
/// and SLURM_NTASKS are set with more than one task (a batch script's single task is not a job of several ranks),
/// else a single process. Under Slurm, MASTER_ADDR and MASTER_PORT override the first host of the node list and the
/// port derived from SLURM_JOB_ID (29500 + SLURM_JOB_ID mod 10000, so that jobs sharing a node differ).
/// lola::UsageError naming the variable for a missing, malformed or inconsistent value.
World world_from_environment(const Environment& env = process_environment());

/// The first host of a Slurm node list: "gpu[07-09,12],cpu1" -> "gpu07", "rack[2-3]-n[1-4]" -> "rack2-n1".
/// lola::UsageError for an empty or malformed list.
std::string first_host(const std::string& nodelist);

} // namespace lola::distributed
