// A training command's place in a job (docs/distributed.md): one process, or one rank of a data-parallel job launched
// by torchrun, srun or `lola launch` (distributed::world_from_environment). One process claims its run folder at once,
// as always; a rank joins the process group once its configuration is composed, then rank 0 claims the folder and
// every rank's configuration is compared with rank 0's.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "lola/data/shard.h"
#include "lola/distributed/group.h"
#include "lola/train/run_folder.h"

namespace lola::core {
class Config;
}

namespace lola::app {

struct TrainRunArgs;

class TrainJob {
public:
    /// Reads the world from the environment; a single process claims `args.out` now.
    explicit TrainJob(const TrainRunArgs& args);

    /// Before anything is written: joins the group (launched), lets rank 0 claim the run folder, and refuses a
    /// configuration that differs between ranks. Returns the device to train on (cuda becomes cuda:LOCAL_RANK).
    torch::Device join(const core::Config& cfg, torch::Device device);

    bool writer() const { return !group_ || group_->rank() == 0; } ///< whether this process writes the run's files
    distributed::Group* group() { return group_.get(); }
    /// This rank's rows of every training batch.
    data::Shard shard() const;
    std::filesystem::path dir() const;

private:
    const TrainRunArgs& args_;
    distributed::World world_;
    std::optional<train::RunFolder> folder_;
    std::unique_ptr<distributed::Group> group_;
};

} // namespace lola::app
